#!/bin/sh
# `nabla train --save` over an existing model, killed with SIGKILL at random moments
# (500 times by default): after every kill the model file must load and nothing else may
# be left beside it. The test command runs the same check 50 times (test_kill_save).
#   usage: bench/kill.sh [KILLS]
set -eu
cd "$(dirname "$0")/.."
scripts/deps.sh
cmake -S . -B build-test -DNB_SANITIZE=ON -DCMAKE_BUILD_TYPE=Debug >/dev/null
cmake --build build-test -j2 --target test_kill_save nabla_cli >/dev/null
NB_KILLS=${1:-500} build-test/tests/test_kill_save
