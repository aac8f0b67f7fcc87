#!/bin/sh
# Many fits at once (issue 12): 10,000 synthetic decays of 30 points, y = a exp(-k t) +
# noise (seeded), fitted
#   - by `nabla fit ... --by curve` (one process; the groups on the thread pool),
#   - by a SciPy curve_fit loop in one Python process (its defaults, and at nabla's
#     tolerances ftol = xtol = 1e-15),
#   - by one `nabla fit` process per curve (timed on the first 200, extrapolated).
# Prints the medians of several runs (wall clock, as a user waits) and the ratios, and
# the load average: the machine is shared, so compare numbers of one run.
#   usage: bench/fit_batch.sh [runs] [curves]
set -eu
cd "$(dirname "$0")/.."
scripts/deps.sh --bench
runs=${1:-5}
curves=${2:-10000}
per_process=200
cmake -S . -B build-bench -DCMAKE_BUILD_TYPE=Release -DNB_BUILD_TESTS=OFF >/dev/null
cmake --build build-bench -j2 --target nabla_cli >/dev/null
nabla=build-bench/nabla
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT
/usr/bin/python3 bench/fit_batch_data.py "$curves" "$per_process" "$out"
formula='y = a*exp(-k*t)'

now() { date +%s.%N; }
calc() { awk "BEGIN { print $1 }"; }
median() { sort -g | awk '{ v[NR] = $1 } END { print (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2 }'; }

: >"$out/nabla" ; : >"$out/scipy" ; : >"$out/scipy_loop" ; : >"$out/tight" ; : >"$out/each"
for run in $(seq "$runs"); do
    t0=$(now)
    "$nabla" fit "$formula" "$out/curves.csv" --by curve --init a=1,k=1 >"$out/rows.csv"
    t1=$(now)
    calc "$t1 - $t0" >>"$out/nabla"
    /usr/bin/python3 bench/fit_batch_scipy.py "$out/curves.csv" >"$out/s"
    awk '{ print $1 }' "$out/s" >>"$out/scipy"
    awk '{ print $2 }' "$out/s" >>"$out/scipy_loop"
    /usr/bin/python3 bench/fit_batch_scipy.py "$out/curves.csv" tight | awk '{ print $1 }' >>"$out/tight"
    t0=$(now)
    for c in $(seq 0 $((per_process - 1))); do
        "$nabla" fit "$formula" "$out/curve$c.csv" --init a=1,k=1 --json >/dev/null
    done
    t1=$(now)
    calc "($t1 - $t0) * $curves / $per_process" >>"$out/each"
    echo "run $run done" >&2
done
failed=$(awk -F, 'NR > 1 && $7 != "true"' "$out/rows.csv" | wc -l)
n=$(median <"$out/nabla"); s=$(median <"$out/scipy"); sl=$(median <"$out/scipy_loop")
st=$(median <"$out/tight"); e=$(median <"$out/each")
printf '%s curves of 30 points, medians of %s runs (wall clock, seconds)\n' "$curves" "$runs"
printf 'nabla fit --by curve (one process, %s threads)  %8.3f   (%s groups not converged)\n' "$(nproc)" "$n" "$failed"
printf 'SciPy curve_fit loop, whole process work       %8.3f   (the loop alone %.3f)  %6.1fx nabla\n' "$s" "$sl" "$(calc "$s / $n")"
printf 'SciPy curve_fit loop at ftol = xtol = 1e-15     %8.3f                         %6.1fx nabla\n' "$st" "$(calc "$st / $n")"
printf 'one nabla process per curve (from %s)         %8.3f                         %6.1fx nabla\n' "$per_process" "$e" "$(calc "$e / $n")"
printf 'target: nabla >= 50x faster than the SciPy loop\n'
printf 'load average: %s\n' "$(cut -d' ' -f1-3 /proc/loadavg)"
