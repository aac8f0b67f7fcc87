#!/bin/sh
# Builds the fuzz harnesses with clang and libFuzzer (tests/fuzz/CMakeLists.txt as a project
# of its own) and runs each for SECONDS, starting from its seed corpus and dictionary;
# prints per fuzzer the executions, executions per second, coverage and findings (crash,
# leak, timeout and out-of-memory inputs, under WORK_DIR/findings/NAME/). Exits 0 when
# no fuzzer found anything, 1 otherwise, and 77 (skipped, with the reason) without clang
# and libFuzzer.
#   usage: tests/fuzz/run.sh SOURCE_DIR WORK_DIR SECONDS [FUZZER...]
#   FUZZ_RUNS=N stops each fuzzer after N executions when that comes before SECONDS;
#   FUZZ_TIMEOUT=S sets the seconds that make an input a timeout (1; more on a loaded machine);
#   FUZZ_MAX_LEN=B caps the inputs' length (libFuzzer's default: 4096, or the corpus's longest);
#   FUZZ_SEGMENT=N runs each fuzzer as consecutive processes of N executions (see fuzz_one).
set -eu
src=$(cd "$1" && pwd)
mkdir -p "$2"
work=$(cd "$2" && pwd)
seconds=$3
shift 3
fuzzers=${*:-formula fitfile table safetensors idx model options}
cc=${FUZZ_CC:-clang}

if ! command -v "$cc" >/dev/null 2>&1; then
    echo "SKIP: no $cc here (Debian: clang), and libFuzzer needs it"
    exit 77
fi
cd "$work"
printf '#include <stdint.h>\n#include <stddef.h>\nint LLVMFuzzerTestOneInput(const uint8_t *d, size_t n) { (void)d; (void)n; return 0; }\n' >probe.c
if ! "$cc" -fsanitize=fuzzer,address,undefined probe.c -o probe >probe.log 2>&1; then
    echo "SKIP: $cc cannot build a libFuzzer program (Debian: libclang-rt-dev):"
    head -3 probe.log
    exit 77
fi
# target_clones needs an ifunc resolver that clang may not provide with every sanitizer.
printf '__attribute__((target_clones("avx2","default"))) int f(int x) { return x + 1; }\nint main(void) { return f(-1); }\n' >clones.c
clones=ON
"$cc" -fsanitize=address,undefined,fuzzer-no-link clones.c -o clones >clones.log 2>&1 && ./clones || clones=OFF

flags="-g -O1 -fno-omit-frame-pointer -fsanitize=address,undefined,fuzzer-no-link -fno-sanitize-recover=undefined"
{ cmake -S "$src/tests/fuzz" -B build -DCMAKE_C_COMPILER="$cc" -DCMAKE_BUILD_TYPE=None \
      -DCMAKE_C_FLAGS="$flags" -DNB_TARGET_CLONES=$clones &&
  cmake --build build -j2 --target $(printf 'fuzz_%s ' $fuzzers); } >build.log 2>&1 || { tail -30 build.log; exit 1; }

# Amplification is a finding, unless NB_FUZZ_CAP_FATAL=0 (to look past a known one: the
# library must then fail cleanly at the cap).
if [ "${NB_FUZZ_CAP_FATAL:-1}" = 0 ]; then unset NB_FUZZ_CAP_FATAL; else export NB_FUZZ_CAP_FATAL=1; fi
export ASAN_OPTIONS="${ASAN_OPTIONS:-}:allocator_may_return_null=1"
# fuzz_one NAME: the fuzzer for SECONDS (or FUZZ_RUNS executions), as one process, or as
# consecutive processes of FUZZ_SEGMENT executions each, every one resuming from the corpus
# the last grew (a process of many millions slows down as ASan's allocator ages). Stops at a
# finding. Sets runs (empty when a process ended without printing its statistics: killed)
# and speed; logs to NAME.log.
fuzz_one() {
    runs=0
    : >"$1.log"
    start=$(date +%s)
    while :; do
        left=$((seconds - ($(date +%s) - start)))
        budget=${FUZZ_RUNS:+$((FUZZ_RUNS - runs))}
        [ "$left" -gt 0 ] && [ "${budget:-1}" -gt 0 ] || break
        [ -z "${FUZZ_SEGMENT:-}" ] || [ "${budget:-$FUZZ_SEGMENT}" -le "$FUZZ_SEGMENT" ] || budget=$FUZZ_SEGMENT
        [ -z "${FUZZ_SEGMENT:-}" ] || budget=${budget:-$FUZZ_SEGMENT}
        ./build/fuzz_"$1" -max_total_time="$left" ${budget:+-runs="$budget"} ${FUZZ_MAX_LEN:+-max_len="$FUZZ_MAX_LEN"} \
            -timeout="${FUZZ_TIMEOUT:-1}" -rss_limit_mb=2048 -print_final_stats=1 -dict="$src/tests/fuzz/$1.dict" \
            -artifact_prefix="findings/$1/" "corpus/$1" "$src/tests/fuzz/corpus/$1" >"$1.segment.log" 2>&1 || true
        cat "$1.segment.log" >>"$1.log"
        done_now=$(sed -n 's/^stat::number_of_executed_units: *//p' "$1.segment.log")
        if [ -z "$done_now" ]; then
            runs=
            break
        fi
        runs=$((runs + done_now))
        [ -n "${FUZZ_SEGMENT:-}" ] && [ "$done_now" -ge "${budget:-0}" ] && [ -z "$(ls "findings/$1")" ] || break
    done
    speed=$(awk -v r="${runs:-0}" -v s="$(($(date +%s) - start))" 'BEGIN { printf "%d", (s > 0 ? r / s : r) }')
}

found=0
printf '%-12s %12s %10s %8s %8s %s\n' fuzzer executions exec/s cov ft findings
for name in $fuzzers; do
    rm -rf "findings/$name" "corpus/$name"
    mkdir -p "findings/$name" "corpus/$name"
    # New inputs go to the work corpus; the seed corpus in the source tree is only read.
    fuzz_one "$name"
    cov=$(grep -o 'cov: [0-9]*' "$name.log" | tail -1 | cut -d' ' -f2)
    ft=$(grep -o 'ft: [0-9]*' "$name.log" | tail -1 | cut -d' ' -f2)
    files=$(cd "findings/$name" && ls)
    printf '%-12s %12s %10s %8s %8s %s\n' "$name" "${runs:-?}" "${speed:-?}" "${cov:-?}" "${ft:-?}" \
        "$(echo $files | wc -w)${files:+ ($(echo $files))}"
    if [ -n "$files" ] || [ -z "$runs" ]; then
        found=1
        grep -E "ERROR|SUMMARY|^fuzz:| in nb_| in LLVMFuzzer" "$name.log" | head -12
    fi
done
[ "$found" -eq 0 ] || echo "findings (inputs and logs) under $work"
exit "$found"
