#!/bin/sh
# Data parallelism on this machine: the MLP of bench/mlp.sh (Fashion-MNIST 784-256-128-10,
# ReLU, torch init, SGD momentum 0.9, lr 0.05, global batch 64) trained by one process on
# 2 threads against 2 MPI ranks of 1 thread each (`mpirun -np 2 nabla train`, each rank
# on half of every batch). Prints seconds per epoch (median of the epochs after the
# first) and test accuracy after the last epoch, for each; then the exchange of a step
# (bench/allreduce.c: an MPI_Allreduce of the MLP's 235,146 gradients between the 2
# ranks) against the compute of a step measured here, and the model of docs/distributed.md
# for N machines: the network bandwidth and global batch at which sharing the batches
# pays, for the MLP and (by its FLOPs) the CNN of the convolution issue.
# With RUNS > 1 the two configurations are interleaved and the figures are medians.
#   usage: bench/mpi.sh [RUNS] [EPOCHS]        (defaults 1 and 5)
set -eu
cd "$(dirname "$0")/.."
scripts/deps.sh
runs=${1:-1}
epochs=${2:-5}
cmake -S . -B build-bench -DCMAKE_BUILD_TYPE=Release -DNB_BUILD_TESTS=OFF -DNB_BUILD_BENCH=ON -DNB_WITH_MPI=ON >/dev/null
cmake --build build-bench -j2 --target nabla_cli bench_allreduce >/dev/null
out=$(mktemp -d /tmp/nabla-mpi.XXXXXX)
trap 'rm -rf "$out"' EXIT

nabla_train="build-bench/nabla train --data fashion-mnist --model 784-256-128-10:relu --loss ce --optim sgd
    --momentum 0.9 --lr 0.05 --batch 64 --epochs $epochs --init torch --json --quiet"
cut -d' ' -f1-3 /proc/loadavg >"$out/load.before"
run=1
while [ "$run" -le "$runs" ]; do
    seed=$((41 + run))
    # shellcheck disable=SC2086
    $nabla_train --threads 2 --seed "$seed" >"$out/alone.$run.json"
    # shellcheck disable=SC2086
    sh tests/mpi/mpirun.sh 2 $nabla_train --threads 1 --seed "$seed" >"$out/ranks.$run.json"
    run=$((run + 1))
done
sh tests/mpi/mpirun.sh 2 build-bench/bench/bench_allreduce 235146 300 >"$out/allreduce"
cut -d' ' -f1-3 /proc/loadavg >"$out/load.after"

/usr/bin/python3 - "$out" "$runs" <<'PYTHON'
import json, statistics, sys
out, runs = sys.argv[1], int(sys.argv[2])

def load(name):
    results = []
    for run in range(1, runs + 1):
        report = json.load(open(f"{out}/{name}.{run}.json"))
        seconds = [h["seconds"] for h in report["history"]]
        report["epoch"] = statistics.median(seconds[1:]) if len(seconds) > 1 else seconds[0]
        results.append(report)
    return results

alone, ranks = load("alone"), load("ranks")
epoch = {k: statistics.median(r["epoch"] for r in v) for k, v in (("alone", alone), ("ranks", ranks))}
accuracy = {k: statistics.median(r["test_accuracy"] for r in v) for k, v in (("alone", alone), ("ranks", ranks))}
params, samples = alone[0]["n_params"], alone[0]["train_samples"]
batch = 64
steps = -(-samples // batch)
print(f"MLP 784-256-128-10 on Fashion-MNIST, SGD momentum 0.9, lr 0.05, global batch {batch}, "
      f"{len(alone[0]['history'])} epochs; median of {runs} run(s) (seeds 42..{41 + runs})")
print(f"load average (1, 5, 15 min) before: {open(out + '/load.before').read().strip()}, after: "
      f"{open(out + '/load.after').read().strip()} on {__import__('os').cpu_count()} cores")
print(f"{'':34} {'s/epoch':>8} {'ms/step':>8} {'test acc':>9}")
print(f"{'1 process, 2 threads':34} {epoch['alone']:8.3f} {1e3 * epoch['alone'] / steps:8.3f} {accuracy['alone']:9.4f}")
print(f"{'mpirun -np 2, 1 thread per rank':34} {epoch['ranks']:8.3f} {1e3 * epoch['ranks'] / steps:8.3f} "
      f"{accuracy['ranks']:9.4f}")
n, count, nbytes, micros, busbw = open(f"{out}/allreduce").read().split()
micros, nbytes = float(micros), float(nbytes)
print(f"allreduce of {int(count):,} floats ({nbytes / 1e6:.2f} MB) between 2 ranks here: {micros:.0f} us "
      f"({float(busbw):.1f} GB/s bus bandwidth)")
# the compute of a sample: the 2-thread process's step over its rows, less nothing (it exchanges nothing)
per_sample = epoch["alone"] / samples
print(f"compute: {1e6 * per_sample:.2f} us per sample on 2 threads here ({1e3 * per_sample * batch:.2f} ms per step "
      f"of {batch}); exchange per step here: {micros / 1e3:.2f} ms "
      f"= {100 * micros / 1e6 / (per_sample * batch):.0f}% of a step's compute")
# the model (docs/distributed.md): N machines, each as fast as this one, a ring allreduce
# of 2 (N-1)/N x 4 P bytes at bandwidth W; sharing pays when a step's compute saved,
# B t (1 - 1/N), exceeds the exchange; half the ideal speed-up when the exchange equals
# a share's compute B t / N.
# training multiply-adds per sample: forward, weight gradients, and input gradients of
# every layer but the first (bench/mlp.sh's count); the CNN's convolutions unpadded
mlp_layers = [784 * 256, 256 * 128, 128 * 10]
cnn_layers = [26 * 26 * 32 * 9, 11 * 11 * 64 * 9 * 32, 1600 * 128, 128 * 10]
mlp_macs = 2 * sum(mlp_layers) + sum(mlp_layers[1:])
cnn_macs = 2 * sum(cnn_layers) + sum(cnn_layers[1:])
cnn_params = 32 * 9 + 32 + 64 * 9 * 32 + 64 + 1600 * 128 + 128 + 128 * 10 + 10
for name, p, t in (("MLP", params, per_sample), ("CNN", cnn_params, per_sample * cnn_macs / mlp_macs)):
    print(f"{name}: {p:,} parameters, {1e6 * t:.2f} us per sample (by its {cnn_macs / mlp_macs:.1f}x the MLP's "
          "multiply-adds per sample)" if name == "CNN" else f"{name}: {p:,} parameters, {1e6 * t:.2f} us per sample")
    for gbits in (1, 10, 100):
        w = gbits / 8 * 1e9
        cells = []
        for machines in (2, 8, 64):
            comm = 2 * (machines - 1) / machines * 4 * p / w
            pays = comm / (t * (1 - 1 / machines))  # the smallest global batch at which it pays
            half = comm * machines / t              # ... at which it reaches half the ideal speed-up
            cells.append(f"N={machines}: pays from B={pays:,.0f}, half-ideal at B={half:,.0f}")
        print(f"  {gbits:>3} Gb/s  " + "; ".join(cells))
PYTHON
