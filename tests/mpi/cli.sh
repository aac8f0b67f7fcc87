#!/bin/sh
# `mpirun -np N nabla train` as a user runs it, on a CSV file made here:
#   - one rank gives the numbers of nabla alone, bit for bit; two ranks the same up to
#     rounding in the sums (f64 and f32); only rank 0 prints and writes;
#   - data smaller than one global batch are refused with the numbers, nothing written;
#   - a rank that cannot read its data ends the job on every rank, naming it;
#   - a rank killed while training ends the job, mpirun naming it, and no model is left
#     (neither the file nor a temporary one).
# Prints each step; exits 1 at the first failure, 77 (skipped) without mpirun.
#   usage: tests/mpi/cli.sh SOURCE_DIR NABLA WORK_DIR
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

# three classes around three centres in 4-D, from a fixed linear congruential sequence
make_csv() { # make_csv ROWS SEED
    awk -v n="$1" -v s="$2" 'function u() { s = (s * 1103515245 + 12345) % 2147483648; return s / 2147483648 }
        BEGIN { print "a,b,c,d,class"; for (i = 0; i < n; i++) { k = i % 3
            printf "%.6f,%.6f,%.6f,%.6f,k%d\n", k + u(), 2 * (k == 1) + u(), u() - k, u(), k } }'
}
make_csv 403 1 >train.csv
make_csv 101 2 >test.csv
args="--data train.csv --test test.csv --target class --model 4-16-3:tanh --epochs 3 --batch 20 --lr 0.02 --threads 1 --seed 5"
compare() { python3 "$src/tests/mpi/compare_models.py" "$@"; }

step "f64: nabla alone, -np 1 (the same bits), -np 2 (the same up to rounding)"
# shellcheck disable=SC2086
"$nabla" train $args --dtype f64 --quiet --save alone.st >alone.out
# shellcheck disable=SC2086
mpirun 1 "$nabla" train $args --dtype f64 --quiet --save np1.st >np1.out
compare alone.st np1.st 0 || fail "-np 1 is not nabla alone"
# shellcheck disable=SC2086
mpirun 2 "$nabla" train $args --dtype f64 --save np2.st >np2.out 2>np2.err
cat np2.err
compare alone.st np2.st 1e-12 || fail "-np 2 (f64) is not nabla alone"
[ "$(grep -c '^trained' np2.out)" = 1 ] || fail "-np 2: the report is not printed once: $(cat np2.out)"
[ "$(grep -c '^epoch' np2.err)" = 3 ] || fail "-np 2: the epochs are not printed once each"
grep -q 'each batch shared by 2 MPI ranks' np2.err || fail "-np 2 does not say the batches are shared"

step "f32: -np 2 against nabla alone"
# shellcheck disable=SC2086
"$nabla" train $args --quiet --save alone32.st >/dev/null
# shellcheck disable=SC2086
mpirun 2 "$nabla" train $args --quiet --save np2_32.st >/dev/null
compare alone32.st np2_32.st 1e-5 || fail "-np 2 (f32) is not nabla alone"

step "data smaller than one global batch: refused with the numbers"
status=0
# shellcheck disable=SC2086
mpirun 2 "$nabla" train $args --quiet --batch 500 --save small.st >/dev/null 2>small.err || status=$?
cat small.err
[ "$status" != 0 ] || fail "a batch of 500 rows over 403 rows was trained"
grep -q '403 training rows do not fill one batch of 500 rows shared by 2 ranks (250 rows each)' small.err ||
    fail "the refusal does not give the numbers"
[ ! -e small.st ] || fail "a refused run wrote a model"

step "a rank that cannot read its data ends the job"
status=0
# shellcheck disable=SC2086
mpirun 1 "$nabla" train $args --quiet --save unread.st : -np 1 "$nabla" train ${args#--data train.csv} --data missing.csv \
    --quiet --save unread.st >/dev/null 2>unread.err || status=$?
cat unread.err
[ "$status" != 0 ] || fail "a job whose rank 1 could not read its data succeeded"
grep -q 'nabla train (rank 1 of 2): .*missing.csv' unread.err || fail "rank 1 does not say what it could not read"
grep -q 'nabla train (rank 0 of 2): rank 1 failed to read its data' unread.err || fail "rank 0 does not name rank 1"
[ ! -e unread.st ] || fail "a failed job wrote a model"

step "a rank killed while training ends the job, and leaves no model"
# shellcheck disable=SC2086
mpirun 2 "$nabla" train $args --quiet --epochs 100000 --save killed.st >/dev/null 2>killed.err &
job=$!
victim=""
for _ in $(seq 100); do
    # the nabla process of this directory whose rank is 1 (mpirun started it here)
    for pid in $(awk '$2 == "(nabla)" { print $1 }' /proc/[0-9]*/stat 2>/dev/null); do
        env=$( (tr '\0' '\n' <"/proc/$pid/environ") 2>/dev/null || true)
        if echo "$env" | grep -qx OMPI_COMM_WORLD_RANK=1 && echo "$env" | grep -qx "PWD=$work"; then
            victim=$pid
        fi
    done
    [ -z "$victim" ] || break
    sleep 0.1
done
[ -n "$victim" ] || { kill "$job" 2>/dev/null; fail "rank 1 never started"; }
sleep 2 # into the training
kill -9 "$victim"
status=0
wait "$job" || status=$?
cat killed.err
[ "$status" != 0 ] || fail "the job went on without rank 1"
grep -q 'rank 1' killed.err || fail "the job's end does not name rank 1"
[ -z "$(ls | grep killed.st || true)" ] || fail "a killed job left $(ls | grep killed.st)"
echo "all MPI command-line checks passed"
