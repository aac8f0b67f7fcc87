#!/bin/sh
# Fashion-MNIST data path, nabla and PyTorch in one run: loading the gzip IDX training
# set into float32 [0, 1], and one shuffled epoch of batches of 64. Prints the medians
# and the ratios; the pixel sums must agree.   usage: bench/data.sh [repeats]
set -eu
cd "$(dirname "$0")/.."
scripts/deps.sh --bench
repeats=${1:-5}
cmake -S . -B build-bench -DCMAKE_BUILD_TYPE=Release -DNB_BUILD_TESTS=OFF -DNB_BUILD_BENCH=ON >/dev/null
cmake --build build-bench -j2 --target bench_data_nabla >/dev/null
nabla=$(build-bench/bench/bench_data_nabla "$repeats")
torch=$(/usr/bin/python3 bench/data_torch.py "$repeats")
echo "$nabla"
echo "$torch"
field() { echo "$1" | awk -v k="$2" '{for (i = 1; i < NF; i++) if ($i == k) {print $(i + 1); exit}}'; }
awk -v nl="$(field "$nabla" load)" -v tl="$(field "$torch" load)" \
    -v ne="$(field "$nabla" batches)" -v te="$(field "$torch" batches)" 'BEGIN {
    printf "loading: nabla %.2fx faster than PyTorch (target: well under 1 s)\n", tl / nl;
    printf "batches: nabla %.1fx faster than PyTorch index_select\n", te / ne }'
