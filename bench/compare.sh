#!/bin/sh
# This tree against an earlier revision of nabla, side by side in one run, so that a
# change can show it did not slow anything down: the per-sample SGD of tutorial 1
# (ns/step, bench_quadratic_nabla), the 54 NIST fits in one process (ms for all, and
# every fit's LRE, which must be the same), and `nabla train` on Fashion-MNIST (s/epoch,
# the options of bench/mlp.sh, 3 epochs, median of epochs 2-3). The two trees run in
# turn, RUNS times (a busy moment of a shared machine hits both alike); every figure is
# the median over the runs, with the ratio this/base.
#   usage: bench/compare.sh BASE_REVISION [RUNS]        (RUNS defaults to 3)
set -eu
cd "$(dirname "$0")/.."
[ $# -ge 1 ] || { echo "usage: bench/compare.sh BASE_REVISION [RUNS]" >&2; exit 2; }
base_rev=$1
runs=${2:-3}
scripts/deps.sh
out=$(mktemp -d /tmp/nabla-compare.XXXXXX)
trap 'git worktree remove --force "$out/base" >/dev/null 2>&1 || true; rm -rf "$out"' EXIT
git worktree add --detach "$out/base" "$base_rev" >/dev/null 2>&1 ||
    { echo "bench/compare.sh: cannot check out '$base_rev'" >&2; exit 2; }

build() {
    cmake -S "$1" -B "$1/build-bench" -DCMAKE_BUILD_TYPE=Release -DNB_BUILD_TESTS=OFF -DNB_BUILD_BENCH=ON >/dev/null
    cmake --build "$1/build-bench" -j2 --target bench_quadratic_nabla bench_nist_nabla nabla_cli >/dev/null
}
build "$out/base"
build .

# one_run TREE NAME RUN: the three figures of one tree, appended to NAME.RUN
one_run() {
    tree=$1 name=$2 run=$3
    "$tree/build-bench/bench/bench_quadratic_nabla" 21 | awk '{ print "quadratic", $2 }' >"$out/$name.$run"
    "$tree/build-bench/bench/bench_nist_nabla" tests/data/nist/nonlinear 5 >"$out/$name.nist.$run"
    awk '$1 == "nabla-total" { print "nist", $3 }' "$out/$name.nist.$run" >>"$out/$name.$run"
    "$tree/build-bench/nabla" train --data fashion-mnist --model 784-256-128-10:relu --loss ce --optim sgd \
        --momentum 0.9 --lr 0.05 --batch 64 --epochs 3 --init torch --json --quiet --seed 42 >"$out/$name.train.$run"
    /usr/bin/python3 -c 'import json, statistics, sys
h = json.load(open(sys.argv[1]))["history"]
print("train", statistics.median(e["seconds"] for e in h[1:]), h[-1].get("val_accuracy", h[-1].get("accuracy", "")))' \
        "$out/$name.train.$run" >>"$out/$name.$run"
}

run=1
while [ "$run" -le "$runs" ]; do
    one_run "$out/base" base "$run"
    one_run . this "$run"
    run=$((run + 1))
done

# The LREs of every fit must not move.
lre() { awk '$1 == "nabla" { print $2, $3, $5 }' "$1"; }
if lre "$out/base.nist.1" | diff - "$(lre "$out/this.nist.1" >"$out/lre.this"; echo "$out/lre.this")" >/dev/null; then
    lres="the same LRE on all $(lre "$out/this.nist.1" | wc -l) fits"
else
    lres="LREs DIFFER: $(lre "$out/base.nist.1" | diff - "$out/lre.this" | grep -c '^>') fits"
fi

/usr/bin/python3 - "$out" "$runs" "$base_rev" "$lres" <<'EOF'
import statistics, sys
out, runs, base_rev, lres = sys.argv[1], int(sys.argv[2]), sys.argv[3], sys.argv[4]
def figures(name):
    rows = {}
    for run in range(1, runs + 1):
        for line in open(f"{out}/{name}.{run}"):
            key, value = line.split()[:2]
            rows.setdefault(key, []).append(float(value))
    return {key: statistics.median(values) for key, values in rows.items()}
base, this = figures("base"), figures("this")
units = {"quadratic": "ns/step (tutorial 1, per-sample SGD)", "nist": "ms for the 54 NIST fits",
         "train": "s/epoch (MLP 784-256-128-10, Fashion-MNIST)"}
print(f"median of {runs} interleaved runs; base = {base_rev}")
print(f"{'':10} {'base':>10} {'this':>10} {'this/base':>10}")
for key in ("quadratic", "nist", "train"):
    print(f"{key:10} {base[key]:10.3f} {this[key]:10.3f} {this[key] / base[key]:10.2f}  {units[key]}")
print(f"nist: {lres}")
EOF
echo "load average: $(cut -d' ' -f1-3 /proc/loadavg)"
