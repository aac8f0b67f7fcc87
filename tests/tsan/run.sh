#!/bin/sh
# The thread pool's test under ThreadSanitizer (tests/tsan/CMakeLists.txt): exits 0 when
# it runs clean, 1 on a data race or a failed test, and 77 (skipped, with the reason)
# when the compiler cannot build or run a ThreadSanitizer program here.
#   usage: tests/tsan/run.sh SOURCE_DIR WORK_DIR
set -eu
src=$(cd "$1" && pwd)
work=$2
cc=${CC:-cc}
rm -rf "$work"
mkdir -p "$work"
cd "$work"

printf '#include <pthread.h>\nstatic void *run(void *p) { return p; }\nint main(void) { pthread_t t; pthread_create(&t, 0, run, 0); return pthread_join(t, 0); }\n' >probe.c
if ! "$cc" -fsanitize=thread probe.c -o probe -lpthread >probe.log 2>&1; then
    echo "SKIP: $cc cannot build with -fsanitize=thread (Debian: libtsan for gcc, or clang):"
    head -3 probe.log
    exit 77
fi
if ! ./probe >probe.log 2>&1; then
    echo "SKIP: ThreadSanitizer programs do not run on this machine:"
    head -3 probe.log
    exit 77
fi
cmake -S "$src/tests/tsan" -B build -DCMAKE_BUILD_TYPE=Debug -DCMAKE_C_COMPILER="$cc" -DNABLA_SOURCE="$src" >build.log 2>&1 &&
    cmake --build build -j2 --target test_parallel >>build.log 2>&1 || { cat build.log; exit 1; }
TSAN_OPTIONS="halt_on_error=1 ${TSAN_OPTIONS:-}" ./build/test_parallel
