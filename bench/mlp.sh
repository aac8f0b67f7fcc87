#!/bin/sh
# One epoch of an MLP 784-256-128-10 (ReLU, batch 64, SGD momentum 0.9, lr 0.05, float32)
# on 60,000 random inputs, nabla and PyTorch side by side in one run: seconds per epoch
# (median of the epochs after the first), the ratio, and the share of the machine's
# sgemm peak (1024³ through nabla's kernels, the fastest bench/gemm.sh found) that
# nabla's epoch reaches.
#   usage: bench/mlp.sh [nabla-epochs] [torch-epochs]     (defaults 6 and 3)
set -eu
cd "$(dirname "$0")/.."
scripts/deps.sh --bench
nabla_epochs=${1:-6}
torch_epochs=${2:-3}
cmake -S . -B build-bench -DCMAKE_BUILD_TYPE=Release -DNB_BUILD_TESTS=OFF -DNB_BUILD_BENCH=ON >/dev/null
cmake --build build-bench -j2 --target bench_mlp_nabla bench_gemm_nabla >/dev/null
bin=build-bench/bench
cores=$(nproc)

field() { echo "$1" | awk -v key="$2" '{ for (i = 1; i < NF; i++) if ($i == key) print $(i + 1) }'; }
peak() { "$bin/bench_gemm_nabla" "$1" 5 | awk -F'\t' '$4 == "1024^3" { print $8 }'; }

torch_default=$(/usr/bin/python3 bench/mlp_torch.py 0 "$torch_epochs")
torch_cores=$(/usr/bin/python3 bench/mlp_torch.py "$cores" "$torch_epochs")
echo "$torch_default"
echo "$torch_cores"
for threads in 1 "$cores"; do
    nabla=$("$bin/bench_mlp_nabla" "$threads" "$nabla_epochs")
    echo "$nabla"
    awk -v n="$(field "$nabla" epoch_seconds_median)" -v g="$(field "$nabla" gflops)" -v p="$(peak "$threads")" \
        -v td="$(field "$torch_default" epoch_seconds_median)" -v tc="$(field "$torch_cores" epoch_seconds_median)" \
        -v t="$threads" 'BEGIN {
        printf "nabla on %d thread(s): %.3f s/epoch; %.1fx faster than PyTorch at its default, %.1fx at %d threads; ", t, n, td / n, tc / n, '"$cores"';
        printf "%.0f GFLOP/s = %.0f%% of the %s GFLOP/s sgemm peak on %d thread(s)\n", g, 100 * g / p, p, t }'
done
echo "targets: nabla <= 0.5 s/epoch on 2 threads and >= 4x faster than PyTorch in the same run"
