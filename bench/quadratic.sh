#!/bin/sh
# Tutorial 1 (docs/tutorials.md), per-sample SGD (50,000 steps), three ways in one run:
# nabla's autodiff, plain C with hand-derived gradients, PyTorch autograd. Prints each
# median and the ratios.   usage: bench/quadratic.sh [repeats]
set -eu
cd "$(dirname "$0")/.."
scripts/deps.sh --bench
repeats=${1:-21}
cmake -S . -B build-bench -DCMAKE_BUILD_TYPE=Release -DNB_BUILD_TESTS=OFF -DNB_BUILD_BENCH=ON >/dev/null
cmake --build build-bench -j2 --target bench_quadratic_nabla bench_quadratic_c >/dev/null
nabla=$(build-bench/bench/bench_quadratic_nabla "$repeats")
plain=$(build-bench/bench/bench_quadratic_c "$repeats")
torch=$(/usr/bin/python3 bench/quadratic_torch.py 3)
echo "$nabla"
echo "$plain"
echo "$torch"
ns() { echo "$1" | awk '{print $2}'; }
awk -v n="$(ns "$nabla")" -v c="$(ns "$plain")" -v t="$(ns "$torch")" 'BEGIN {
    printf "nabla is %.1fx faster than PyTorch (target >= 100x)\n", t / n;
    printf "nabla takes %.1fx the time of hand-written C (aim <= 10x)\n", n / c }'
