#!/bin/sh
# `nabla fit` robustness, in one run: the NIST suite unchanged (bench/nist.sh: LRE and
# time against SciPy), then random starts on NIST models (each parameter of NIST's first
# start times 10^U(-1,1)) counting the starts that reach the certified sum of squares for
# nabla's defaults, nabla --starts 8 and SciPy's least_squares lm and trf and curve_fit,
# and bounded problems against SciPy's trf with the same bounds (bench/fit_robust.py).
#   usage: bench/fit_robust.sh [starts per model] [models...]
# Targets (issue 11): NIST 54/54 at LRE >= 6, median >= 10.8, time not worse; nabla's
# defaults reach >= 95% of the starts and more than trf; no loud stop (an error instead
# of estimates) from a start where a SciPy method reached the optimum.
set -eu
cd "$(dirname "$0")/.."
starts=${1:-40}
[ $# -gt 0 ] && shift
bench/nist.sh 11
cmake -S . -B build-bench -DCMAKE_BUILD_TYPE=Release -DNB_BUILD_TESTS=OFF -DNB_BUILD_BENCH=ON >/dev/null
cmake --build build-bench -j2 --target nabla_cli >/dev/null
echo
/usr/bin/python3 bench/fit_robust.py build-bench/nabla tests/data/nist/nonlinear "$starts" "$@"
echo "load average during the run: $(cut -d' ' -f1-3 /proc/loadavg)"
