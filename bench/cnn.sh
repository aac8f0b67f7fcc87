#!/bin/sh
# `nabla train` against PyTorch on Fashion-MNIST with a small CNN, side by side in one run:
#   conv 32 3x3 pad 1 relu, maxpool 2, conv 64 3x3 pad 1 relu, maxpool 2, dense 128 relu,
#   dropout 0.3, dense 10
# the same initialisation (nabla's --init kaiming; bench/cnn_torch.py does the same in
# PyTorch), Adam lr 1e-3, batch 64, cross-entropy. PyTorch runs at its default thread
# setting and at nabla's thread count (the cores available); nabla on the cores and on 1
# thread. With BUSY=1 every configuration runs a second time while a spinning loop keeps
# one core busy (what a shared machine does to a thread pool). Prints, per configuration,
# the seconds per epoch (median of the epochs after the first; the only one with 1
# epoch), the ratio to PyTorch's best, the test accuracy after the last epoch and the
# peak memory (max RSS, /usr/bin/time).
#   usage: bench/cnn.sh [EPOCHS]        (default 10; fewer for a quick look)
set -eu
cd "$(dirname "$0")/.."
scripts/deps.sh --bench
epochs=${1:-10}
busy=${BUSY:-0}
seed=42
cmake -S . -B build-bench -DCMAKE_BUILD_TYPE=Release -DNB_BUILD_TESTS=OFF -DNB_BUILD_BENCH=ON >/dev/null
cmake --build build-bench -j2 --target nabla_cli >/dev/null
cores=$(nproc)
out=$(mktemp -d /tmp/nabla-cnn.XXXXXX)
spinner=
cleanup() {
    [ -n "$spinner" ] && kill "$spinner" 2>/dev/null
    rm -rf "$out"
}
trap cleanup EXIT

spec='conv 32 3x3 pad 1 relu, maxpool 2, conv 64 3x3 pad 1 relu, maxpool 2, dense 128 relu, dropout 0.3, dense 10'

# measure NAME COMMAND...: its stdout (one JSON object) to NAME.json, its peak RSS in kB to NAME.rss
measure() {
    name=$1
    shift
    /usr/bin/time -f %M -o "$out/$name.rss" "$@" >"$out/$name.json"
}

nabla() {
    measure "$1" build-bench/nabla train --data fashion-mnist --model "$spec" --optim adam --lr 0.001 --batch 64 \
        --epochs "$epochs" --init kaiming --seed "$seed" --threads "$2" --json --quiet
}

# one round of the four configurations, names suffixed with $1
round() {
    measure "torch_default$1" /usr/bin/python3 bench/cnn_torch.py 0 "$epochs" "$seed"
    nabla "nabla_cores$1" "$cores"
    measure "torch_cores$1" /usr/bin/python3 bench/cnn_torch.py "$cores" "$epochs" "$seed"
    nabla "nabla_1$1" 1
}

round ""
if [ "$busy" = 1 ]; then
    sh -c 'while :; do :; done' &
    spinner=$!
    round "_busy"
    kill "$spinner"
    spinner=
fi

/usr/bin/python3 - "$out" "$cores" "$busy" "$spec" <<'PY'
import json, statistics, sys
out, cores, busy, spec = sys.argv[1], int(sys.argv[2]), sys.argv[3] == "1", sys.argv[4]

def load(name):
    report = json.load(open(f"{out}/{name}.json"))
    seconds = [h["seconds"] for h in report["history"]]
    report["epoch"] = statistics.median(seconds[1:] if len(seconds) > 1 else seconds)
    report["rss_mb"] = int(open(f"{out}/{name}.rss").read().split()[-1]) / 1024
    return report

configs = [("PyTorch, its default", "torch_default"), (f"PyTorch, {cores} threads", "torch_cores"),
           (f"nabla train, {cores} threads", "nabla_cores"), ("nabla train, 1 thread", "nabla_1")]
print(f"CNN '{spec}' on Fashion-MNIST, Adam lr 1e-3, batch 64, kaiming init")
for suffix, title in [("", "as the machine is"), ("_busy", "with one core kept busy")][:2 if busy else 1]:
    r = {key: load(key + suffix) for _, key in configs}
    best = min(r["torch_default"]["epoch"], r["torch_cores"]["epoch"])
    print(f"{title}; {len(r['nabla_1']['history'])} epoch(s)")
    print(f"{'':28} {'threads':>7} {'s/epoch':>8} {'vs best torch':>14} {'test acc':>9} {'peak MB':>8}")
    for label, key in configs:
        x = r[key]
        print(f"{label:28} {x['threads']:>7} {x['epoch']:8.2f} {best / x['epoch']:13.2f}x {x['test_accuracy']:9.4f} "
              f"{x['rss_mb']:8.0f}")
print("targets: test accuracy >= 0.91 and within 0.005 of PyTorch's, nabla's epoch >= 1.5x faster than PyTorch's "
      "best, peak memory no more than PyTorch's")
PY
