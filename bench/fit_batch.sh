#!/bin/sh
# Many fits at once (issue 12): 10,000 synthetic decays of 30 points, y = a exp(-k t) +
# noise (seeded), fitted
#   - by `nabla fit ... --by curve` (one process; the groups on the thread pool),
#   - by a SciPy curve_fit loop in one Python process (its defaults, and at nabla's
#     tolerances ftol = xtol = 1e-15),
#   - by one `nabla fit` process per curve (timed on the first 200, extrapolated),
#   - by a C program written by hand for this one formula (bench/fit_batch_floor.c): a
#     floor for any general tool on this machine,
#   - and, apart, the fits alone: the CPU time per fit of nb_fit_batch_by on one thread
#     (bench/fit_small.c).
# Each is timed as a whole process (reading the data included): the wall clock a user
# waits, and the CPU time (user + system, all threads), which a shared machine disturbs
# less. Prints the medians of several runs, the ratios and the load average.
#   usage: bench/fit_batch.sh [runs] [curves]
set -eu
cd "$(dirname "$0")/.."
scripts/deps.sh --bench
runs=${1:-5}
curves=${2:-10000}
per_process=200
cmake -S . -B build-bench -DCMAKE_BUILD_TYPE=Release -DNB_BUILD_TESTS=OFF -DNB_BUILD_BENCH=ON >/dev/null
cmake --build build-bench -j2 --target nabla_cli bench_fit_small bench_fit_batch_floor >/dev/null
nabla=$PWD/build-bench/nabla
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT
/usr/bin/python3 bench/fit_batch_data.py "$curves" "$per_process" "$out"
formula='y = a*exp(-k*t)'

# timed FILE COMMAND...: append "wall cpu" (seconds) of the command to FILE.
timed() {
    file=$1
    shift
    /usr/bin/python3 -c '
import resource, subprocess, sys, time
start = time.perf_counter()
subprocess.run(sys.argv[1:], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=True)
wall = time.perf_counter() - start
usage = resource.getrusage(resource.RUSAGE_CHILDREN)
print(f"{wall:.4f} {usage.ru_utime + usage.ru_stime:.4f}")' "$@" >>"$file"
}
# median FILE FIELD [SCALE]
median() {
    awk -v f="$2" -v s="${3:-1}" '{ print $f * s }' "$1" | sort -g |
        awk '{ v[NR] = $1 } END { print (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2 }'
}
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.1f", a / b }'; }

: >"$out/nabla"; : >"$out/scipy"; : >"$out/tight"; : >"$out/each"; : >"$out/floor"
for run in $(seq "$runs"); do
    timed "$out/nabla" "$nabla" fit "$formula" "$out/curves.csv" --by curve --init a=1,k=1
    timed "$out/floor" build-bench/bench/bench_fit_batch_floor "$out/curves.csv"
    timed "$out/scipy" /usr/bin/python3 bench/fit_batch_scipy.py "$out/curves.csv"
    timed "$out/tight" /usr/bin/python3 bench/fit_batch_scipy.py "$out/curves.csv" tight
    # shellcheck disable=SC2016 # the inner shell expands its own arguments
    timed "$out/each" sh -c 'cd "$1" && for c in $(seq 0 $(($2 - 1))); do
        "$3" fit "y = a*exp(-k*t)" "curve$c.csv" --init a=1,k=1 --json >/dev/null; done' sh "$out" "$per_process" "$nabla"
    echo "run $run of $runs done" >&2
done
"$nabla" fit "$formula" "$out/curves.csv" --by curve --init a=1,k=1 >"$out/rows.csv"
failed=$(awk -F, 'NR > 1 && $7 != "true"' "$out/rows.csv" | wc -l)
scale=$(awk -v c="$curves" -v p="$per_process" 'BEGIN { print c / p }')
nw=$(median "$out/nabla" 1); nc=$(median "$out/nabla" 2)
sw=$(median "$out/scipy" 1); sc=$(median "$out/scipy" 2)
tw=$(median "$out/tight" 1); tc=$(median "$out/tight" 2)
ew=$(median "$out/each" 1 "$scale"); ec=$(median "$out/each" 2 "$scale")
fw=$(median "$out/floor" 1); fc=$(median "$out/floor" 2)
printf '%s curves of 30 points, medians of %s runs; seconds, whole processes (reading the data included)\n' "$curves" "$runs"
printf '%-48s %9s %9s %10s %10s\n' "" "wall" "CPU" "wall ratio" "CPU ratio"
printf '%-48s %9.3f %9.3f\n' "nabla fit --by curve (one process, $(nproc) threads)" "$nw" "$nc"
printf '%-48s %9.3f %9.3f %9sx %9sx\n' "SciPy curve_fit loop (its defaults)" "$sw" "$sc" "$(ratio "$sw" "$nw")" "$(ratio "$sc" "$nc")"
printf '%-48s %9.3f %9.3f %9sx %9sx\n' "SciPy curve_fit loop, ftol = xtol = 1e-15" "$tw" "$tc" "$(ratio "$tw" "$nw")" "$(ratio "$tc" "$nc")"
printf '%-48s %9.3f %9.3f %9sx %9sx\n' "one nabla process per curve (from $per_process)" "$ew" "$ec" "$(ratio "$ew" "$nw")" "$(ratio "$ec" "$nc")"
printf '%-48s %9.3f %9.3f %9sx %9sx\n' "hand-written C for this formula only (a floor)" "$fw" "$fc" "$(ratio "$fw" "$nw")" "$(ratio "$fc" "$nc")"
printf 'groups not converged: %s; target: nabla >= 50x faster than the SciPy loop\n' "$failed"
printf 'the floor is %sx faster than the SciPy loop\n' "$(ratio "$sw" "$fw")"
printf 'the fits alone (nb_fit_batch_by on one thread, no file): '
build-bench/bench/bench_fit_small "$out/curves.csv" "$runs"
printf 'load average: %s\n' "$(cut -d' ' -f1-3 /proc/loadavg)"
