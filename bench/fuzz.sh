#!/bin/sh
# Runs each fuzz harness (tests/fuzz/) for MINUTES, from a clang + libFuzzer build under
# build-fuzz/, and prints per fuzzer the executions, executions per second, coverage
# (libFuzzer's cov: and ft:) and findings (crash, leak, timeout and oom inputs).
#   usage: bench/fuzz.sh MINUTES [FUZZER...]     (formula fitfile table safetensors idx model options)
#   FUZZ_RUNS=N (e.g. 10000000) ends a fuzzer at N executions when that comes first;
#   FUZZ_MAX_LEN=B caps the inputs' length (the formula fuzzer slows on 4 KB formulas);
#   FUZZ_SEGMENT=N runs a fuzzer as consecutive processes of N executions, each resuming
#   from the corpus (one process slows down over millions as ASan's allocator ages);
#   FUZZ_WORK=DIR puts the build and findings there (default build-fuzz/).
set -eu
[ $# -ge 1 ] || { echo "usage: $0 MINUTES [FUZZER...]" >&2; exit 2; }
minutes=$1
shift
src=$(cd "$(dirname "$0")/.." && pwd)
seconds=$(awk -v m="$minutes" 'BEGIN { s = int(m * 60); print (s < 1 ? 1 : s) }')
exec sh "$src/tests/fuzz/run.sh" "$src" "${FUZZ_WORK:-$src/build-fuzz}" "$seconds" "$@"
