#!/bin/sh
# `nabla train` against PyTorch on Fashion-MNIST, side by side in one run: an MLP
# 784-256-128-10 (ReLU), torch.nn.Linear's initialisation, cross-entropy, SGD with
# momentum 0.9 and lr 0.05, batch 64, 5 epochs, on the real data through each side's own
# loading (nabla: the CLI exactly as a user types it; PyTorch: bench/mlp_torch.py).
# PyTorch runs at its default thread setting and at nabla's thread count; nabla at the
# cores available and on 1 thread. Prints, per configuration, the seconds per epoch
# (median of the epochs after the first), the ratio to PyTorch, the test accuracy after
# the last epoch, the peak memory (max RSS, /usr/bin/time) and, for nabla, the share of
# the machine's sgemm peak (1024³ through nabla's kernels, measured here on the same
# thread count) that its epoch reaches.
#
# With RUNS > 1 the configurations are interleaved RUNS times (so that a busy moment of
# a shared machine hits all of them alike) and every figure is the median over the runs.
# Run r seeds both sides with 41 + r (initialisation and shuffling): test accuracies
# after 5 epochs spread by about a point from seed to seed on either side, so the median
# over a few seeds compares the two better than one seed does.
#   usage: bench/mlp.sh [RUNS] [EPOCHS]        (defaults 1 and 5)
set -eu
cd "$(dirname "$0")/.."
scripts/deps.sh --bench
runs=${1:-1}
epochs=${2:-5}
cmake -S . -B build-bench -DCMAKE_BUILD_TYPE=Release -DNB_BUILD_TESTS=OFF -DNB_BUILD_BENCH=ON >/dev/null
cmake --build build-bench -j2 --target nabla_cli bench_gemm_nabla >/dev/null
cores=$(nproc)
out=$(mktemp -d /tmp/nabla-mlp.XXXXXX)
trap 'rm -rf "$out"' EXIT

# measure NAME COMMAND...: its stdout (one JSON object) to NAME.RUN.json, its peak RSS in
# kB to NAME.RUN.rss
measure() {
    name=$1
    shift
    /usr/bin/time -f %M -o "$out/$name.$run.rss" "$@" >"$out/$name.$run.json"
}

# the command line of the nabla runs, without --threads and --seed (word-split on purpose)
nabla_train="build-bench/nabla train --data fashion-mnist --model 784-256-128-10:relu --loss ce --optim sgd
    --momentum 0.9 --lr 0.05 --batch 64 --epochs $epochs --init torch --json --quiet"

run=1
while [ "$run" -le "$runs" ]; do
    seed=$((41 + run))
    measure torch_default /usr/bin/python3 bench/mlp_torch.py 0 "$epochs" "$seed"
    # shellcheck disable=SC2086
    measure nabla_cores $nabla_train --threads "$cores" --seed "$seed"
    measure torch_cores /usr/bin/python3 bench/mlp_torch.py "$cores" "$epochs" "$seed"
    # shellcheck disable=SC2086
    measure nabla_1 $nabla_train --threads 1 --seed "$seed"
    # the sgemm peak on both thread counts, 1024³, median of 5 samples
    for threads in 1 "$cores"; do
        build-bench/bench/bench_gemm_nabla "$threads" 5 |
            awk -F'\t' '$4 == "1024^3" { print $8 }' >"$out/peak_$threads.$run"
    done
    run=$((run + 1))
done

/usr/bin/python3 - "$out" "$runs" "$cores" <<'EOF'
import json, statistics, sys
out, runs, cores = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
# multiply-adds per sample: forward and weight gradients of all three layers, input
# gradients of layers 2 and 3 (the input's gradient is not needed); 2 FLOPs each
layers = [(784, 256), (256, 128), (128, 10)]
flops_per_sample = 2 * (2 * sum(i * o for i, o in layers) + sum(i * o for i, o in layers[1:]))

def load(name):
    results = []
    for run in range(1, runs + 1):
        report = json.load(open(f"{out}/{name}.{run}.json"))
        seconds = [h["seconds"] for h in report["history"]]
        report["epoch"] = statistics.median(seconds[1:])
        report["rss_mb"] = int(open(f"{out}/{name}.{run}.rss").read().split()[-1]) / 1024
        results.append(report)
    return results

def median(results, key):
    return statistics.median(r[key] for r in results)

peak = {t: statistics.median(float(open(f"{out}/peak_{t}.{run}").read()) for run in range(1, runs + 1))
        for t in {1, cores}}
configs = [("PyTorch, its default", "torch_default"), (f"PyTorch, {cores} threads", "torch_cores"),
           (f"nabla train, {cores} threads", "nabla_cores"), ("nabla train, 1 thread", "nabla_1")]
results = {key: load(key) for _, key in configs}
torch_default = median(results["torch_default"], "epoch")
samples = results["nabla_cores"][0]["train_samples"]
print(f"MLP 784-256-128-10 on Fashion-MNIST, SGD momentum 0.9, lr 0.05, batch 64, {len(results['nabla_1'][0]['history'])} "
      f"epochs; median of {runs} run(s) (seeds 42..{41 + runs})")
print(f"nabla's BLAS: {results['nabla_cores'][0]['blas']}; PyTorch {results['torch_default'][0]['version']}")
print(f"{'':28} {'threads':>7} {'s/epoch':>8} {'vs torch':>9} {'test acc':>9} {'peak MB':>8} {'GFLOP/s':>8} {'of peak':>8}")
for label, key in configs:
    r = results[key]
    epoch = median(r, "epoch")
    line = (f"{label:28} {r[0]['threads']:>7} {epoch:8.3f} {torch_default / epoch:8.2f}x {median(r, 'test_accuracy'):9.4f} "
            f"{median(r, 'rss_mb'):8.0f}")
    if key.startswith("nabla"):
        rate = flops_per_sample * samples / epoch / 1e9
        line += f" {rate:8.0f} {100 * rate / peak[r[0]['threads']]:7.0f}%"
    print(line)
if runs > 1:
    for label, key in configs:
        print(f"  {label}: s/epoch per run " + ", ".join(f"{r['epoch']:.3f}" for r in results[key]))
for t in sorted(peak):
    print(f"sgemm peak (1024^3, nabla's kernels) on {t} thread(s): {peak[t]:.0f} GFLOP/s")
nabla, torch_at_cores = median(results["nabla_cores"], "epoch"), median(results["torch_cores"], "epoch")
print(f"nabla on {cores} threads: {nabla:.3f} s/epoch, {torch_default / nabla:.1f}x faster than PyTorch at its default, "
      f"{torch_at_cores / nabla:.1f}x at {cores} threads")
print("targets: nabla <= 0.5 s/epoch on 2 threads, >= 4x faster than PyTorch, test accuracy within 0.01, "
      "peak memory no more than PyTorch's")
EOF
