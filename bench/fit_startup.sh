#!/bin/sh
# What one `nabla fit` process costs: start-up (`nabla fit --help`; `gnuplot -e exit`)
# and a fit of a 30-point exponential decay from a file, against gnuplot's `fit`
# on the same file (Debian's gnuplot-nox), and a fit that plots. Each command runs many
# times; the medians of each process's own CPU time (user + system) and of the wall time
# are printed (the machine is shared: CPU time is the figure to compare), then the load
# average; /bin/true first, as the floor: what any process costs on the machine then.
# Also checks that a fit without --plot loads neither cairo nor BLAS.
#   usage: bench/fit_startup.sh [runs]
# Target (issue 12): a one-file fit in at most 2 ms of process time.
set -eu
cd "$(dirname "$0")/.."
scripts/deps.sh --bench
runs=${1:-201}
cmake -S . -B build-bench -DCMAKE_BUILD_TYPE=Release -DNB_BUILD_TESTS=OFF -DNB_BUILD_BENCH=ON >/dev/null
cmake --build build-bench -j2 --target nabla_cli >/dev/null
nabla=$(pwd)/build-bench/nabla
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
awk 'BEGIN { srand(1); for (i = 0; i < 30; i++) { x = i / 6; printf "%.4f %.6f\n", x, 2.5 * exp(-0.8 * x) * (1 + 0.01 * (rand() - 0.5)) } }' \
    >"$work/decay.dat"
loaded=$(cd "$work" && LD_DEBUG=libs "$nabla" fit 'y = a*exp(-b*x)' decay.dat 2>&1 >/dev/null | grep 'calling init' | sed 's/.*init: //')
echo "libraries a fit without --plot loads: $(echo "$loaded" | xargs -n1 basename | tr '\n' ' ')"
if echo "$loaded" | grep -Eq 'cairo|gif|blas'; then
    echo "FAILED: a fit without --plot loads cairo, giflib or BLAS" >&2
    exit 1
fi
/usr/bin/python3 bench/fit_startup.py "$nabla" "$work" "$runs"
