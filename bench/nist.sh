#!/bin/sh
# The 27 nonlinear NIST StRD problems from both starts (54 fits), with nabla (inside one
# process, through the C API) and with SciPy's least_squares(method='lm') at its
# defaults, in the same run. Prints per fit the median time (CPU time of the thread: the
# machine is shared) and the lowest LRE of each, then the totals and the load average.
#   usage: bench/nist.sh [repeats]
# Targets (issue 5): faster than SciPy on every fit; all 54 fits in <= 31 ms (Ceres 2.1).
set -eu
cd "$(dirname "$0")/.."
scripts/deps.sh --bench
repeats=${1:-21}
data=tests/data/nist/nonlinear
cmake -S . -B build-bench -DCMAKE_BUILD_TYPE=Release -DNB_BUILD_TESTS=OFF -DNB_BUILD_BENCH=ON >/dev/null
cmake --build build-bench -j2 --target bench_nist_nabla >/dev/null
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT
build-bench/bench/bench_nist_nabla "$data" "$repeats" >"$out/nabla"
/usr/bin/python3 bench/nist_scipy.py "$data" "$(( (repeats + 1) / 2 ))" >"$out/scipy"
awk '
    FNR == NR && $1 == "nabla" { t[$2 " " $3] = $4; l[$2 " " $3] = $5; order[++n] = $2 " " $3; next }
    FNR == NR && $1 == "nabla-total" { sum = $2; pass = $3; pass_wall = $4; next }
    $1 == "scipy" { st[$2 " " $3] = $4; sl[$2 " " $3] = $5; next }
    $1 == "scipy-total" { ssum = $2 }
    END {
        printf "%-10s %5s  %10s %6s  %10s %6s  %7s\n", "problem", "start", "nabla us", "LRE", "scipy us", "LRE", "speedup"
        for (i = 1; i <= n; i++) {
            k = order[i]; split(k, p, " ")
            printf "%-10s %5s  %10.1f %6.1f  %10.1f %6.1f  %6.1fx\n", p[1], p[2], t[k], l[k], st[k], sl[k], st[k] / t[k]
            faster += t[k] < st[k]
            good += l[k] >= 6; sgood += sl[k] >= 6
            lres[i] = l[k]; slres[i] = sl[k]
        }
        printf "\ntimes are CPU time of the solving thread (medians over repeats)\n"
        printf "nabla: sum of per-fit medians %.2f ms; one pass of all %d fits %.2f ms (target <= 31 ms), %.2f ms wall clock\n", sum, n, pass, pass_wall
        printf "scipy: sum of per-fit medians %.2f ms\n", ssum
        printf "nabla faster on %d of %d fits (target: all); %.1fx less time in total\n", faster, n, ssum / sum
        printf "LRE >= 6: nabla %d of %d, scipy %d of %d; median LRE: nabla %.1f, scipy %.1f\n", good, n, sgood, n,
            median(lres, n), median(slres, n)
    }
    function median(v, n,    i, j, x) {
        for (i = 2; i <= n; i++) { x = v[i]; for (j = i - 1; j >= 1 && v[j] > x; j--) v[j + 1] = v[j]; v[j + 1] = x }
        return n % 2 ? v[(n + 1) / 2] : (v[n / 2] + v[n / 2 + 1]) / 2
    }' "$out/nabla" "$out/scipy"
echo "load average during the run: $(cut -d' ' -f1-3 /proc/loadavg)"
