#!/bin/sh
# `mpirun -np N nabla fit --by COL` and `--by-file`, on files made here: the ranks share
# the groups and rank 0 alone prints one table, the output of nabla alone byte for byte
# (CSV and JSON; -np 2 and 3, groups that fail on purpose among them); a rank that cannot
# read the data ends the job on every rank, naming it.
# Prints each step; exits 1 at the first failure, 77 (skipped) without mpirun.
#   usage: tests/mpi/fit.sh SOURCE_DIR NABLA WORK_DIR
set -eu
src=$1
nabla=$2
work=$3
mpirun() { sh "$src/tests/mpi/mpirun.sh" "$@"; }
step() { echo "== $*"; }
fail() { echo "FAILED: $*" >&2; exit 1; }
command -v mpirun >/dev/null 2>&1 || command -v mpiexec >/dev/null 2>&1 || { echo "skipped: no mpirun (Debian: openmpi-bin)"; exit 77; }
rm -rf "$work"
mkdir -p "$work"
cd "$work"

# 37 groups of decays from a fixed linear congruential sequence; every ninth group has a
# single point (fewer points than parameters: it fails)
awk -v s=7 'function u() { s = (s * 1103515245 + 12345) % 2147483648; return s / 2147483648 }
    BEGIN { print "g,x,y"; for (g = 0; g < 37; g++) { n = g % 9 == 4 ? 1 : 8; for (i = 0; i < n; i++) { x = i + u()
        printf "%d,%.6f,%.6f\n", 3 * g + 1, x, (1 + g / 10) * exp(-x / (2 + g % 5)) + 0.01 * u() } } }' >groups.csv
formula='y = a*exp(-x/b)'

# run OUT ERR [nabla's arguments]: the exit status in OUT.status
run() {
    out=$1 err=$2
    shift 2
    status=0
    "$@" >"$out" 2>"$err" || status=$?
    echo "$status" >"$out.status"
}
same() { # same ALONE RANKS WHAT
    cmp "$1" "$2" || fail "$3: not the output of nabla alone"
    cmp "$1.status" "$2.status" || fail "$3: exit status $(cat "$2.status"), alone $(cat "$1.status")"
}

for format in csv json; do
    flag=""
    [ "$format" = csv ] || flag=--json
    step "--by, $format: nabla alone, -np 2, -np 3"
    run alone.$format alone.err "$nabla" fit "$formula" groups.csv --by g $flag
    [ "$(cat alone.$format.status)" = 1 ] || fail "the failing groups do not make the exit status 1"
    [ "$format" != csv ] || [ "$(grep -c ',false,' alone.csv)" = 4 ] || fail "not 4 failed groups: $(cat alone.csv)"
    for ranks in 2 3; do
        run np$ranks.$format np$ranks.err mpirun "$ranks" "$nabla" fit "$formula" groups.csv --by g $flag
        same alone.$format np$ranks.$format "--by, $format, -np $ranks"
        [ "$(grep -c 'groups failed' np$ranks.err)" = 1 ] ||
            fail "-np $ranks: the failures are not told once: $(cat np$ranks.err)"
    done
done

step "--by-file: nabla alone, -np 2, -np 3 (a missing file, a file of one point)"
for g in 1 4 7 13 10 16; do
    awk -F, -v g=$g 'NR == 1 || $1 == g' groups.csv >file$g.csv
done
files="missing.csv file1.csv file4.csv file7.csv file13.csv file10.csv file16.csv"
# shellcheck disable=SC2086
run files.csv files.err "$nabla" fit "$formula" $files --by-file
grep -q '^missing.csv,.*cannot open' files.csv || fail "the missing file has no row saying why: $(cat files.csv)"
for ranks in 2 3; do
    # shellcheck disable=SC2086
    run files$ranks.csv files$ranks.err mpirun "$ranks" "$nabla" fit "$formula" $files --by-file
    same files.csv files$ranks.csv "--by-file, -np $ranks"
done

step "a rank that cannot read the data ends the job"
run unread.csv unread.err mpirun 1 "$nabla" fit "$formula" groups.csv --by g : -np 1 "$nabla" fit "$formula" \
    missing.csv --by g
cat unread.err
[ "$(cat unread.csv.status)" != 0 ] || fail "a job whose rank 1 could not read its data succeeded"
grep -q 'nabla fit (rank 1 of 2): .*missing.csv' unread.err || fail "rank 1 does not say what it could not read"
grep -q 'nabla fit (rank 0 of 2): rank 1 failed to read its data' unread.err || fail "rank 0 does not name rank 1"
[ ! -s unread.csv ] || fail "a failed job printed results: $(cat unread.csv)"
step "a single fit under mpirun is refused (every rank would print it)"
run single.txt single.err mpirun 2 "$nabla" fit "$formula" groups.csv
[ "$(cat single.txt.status)" = 2 ] || fail "a single fit under -np 2 did not exit 2: $(cat single.err)"
grep -q 'one table is fitted by one process' single.err || fail "no reason given: $(cat single.err)"
[ ! -s single.txt ] || fail "a refused single fit printed results: $(cat single.txt)"
run single1.txt single1.err mpirun 1 "$nabla" fit "$formula" groups.csv
[ -s single1.txt ] || fail "a single fit under -np 1 printed nothing: $(cat single1.err)"
echo "all MPI fit checks passed"
