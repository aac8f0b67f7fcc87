#!/bin/sh
# Runs every test binary under valgrind's memcheck (no sanitizers: the two do not mix)
# and fails if any leaks or reads memory it should not.   usage: scripts/valgrind-tests.sh
set -eu
cd "$(dirname "$0")/.."
scripts/deps.sh
command -v valgrind >/dev/null || { echo "valgrind is not installed (apt-get install valgrind)" >&2; exit 1; }
cmake -S . -B build-valgrind -DCMAKE_BUILD_TYPE=Debug >/dev/null
cmake --build build-valgrind -j2 >/dev/null
failed=0
for test in build-valgrind/tests/test_*; do
    [ -x "$test" ] || continue
    if valgrind -q --leak-check=full --errors-for-leak-kinds=definite,indirect --error-exitcode=99 \
        "$test" >/dev/null 2>build-valgrind/valgrind.log; then
        echo "ok    $(basename "$test")"
    else
        echo "FAIL  $(basename "$test")"; cat build-valgrind/valgrind.log; failed=1
    fi
done
exit $failed
