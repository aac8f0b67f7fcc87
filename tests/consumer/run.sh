#!/bin/sh
# nabla as another project consumes it: builds and installs nabla twice (Release, no
# tests or examples), then builds the programs of tests/consumer/ against it and runs
# them:
#   prefix shared/  BUILD_SHARED_LIBS=ON: libnabla*.so.0 and the .a archives, with plot
#   prefix static/  BUILD_SHARED_LIBS=OFF, NB_WITH_PLOT=OFF and NB_WITH_MPI=OFF: archives
#                   only, no plot, no MPI, and the program (as a system without cairo or
#                   MPI would build it)
# with pkg-config (shared, and --static), with find_package (shared, the static archives
# by nabla_USE_STATIC_LIBS, and a plot component that is not there), and with FetchContent
# (nabla built inside the consumer). Also: the SONAME and links, the shared libraries'
# exports (check_exports.sh --shared), the program's --version and its refusal of --plot
# without cairo, and its refusal to run under mpirun without MPI; with MPI, a program
# that trains over MPI (mpi_app.c), built with pkg-config and find_package and run by
# tests/mpi/mpirun.sh. Prints each step; exits 1 at the first failure.
#   usage: tests/consumer/run.sh SOURCE_DIR WORK_DIR
set -eu
src=$(cd "$1" && pwd)
work=$2
cc=${CC:-cc}
rm -rf "$work"
mkdir -p "$work"
cd "$work"

step() { echo "== $*"; }
fail() { echo "FAILED: $*" >&2; exit 1; }
needed() { readelf -d "$1" | sed -n 's/.*NEEDED.*\[\(.*\)\]/\1/p' | tr '\n' ' '; }

build_nabla() { # build_nabla NAME cmake-options...
    name=$1
    shift
    step "build and install nabla ($name): $*"
    cmake -S "$src" -B "build-$name" -DCMAKE_BUILD_TYPE=Release -DCMAKE_INSTALL_PREFIX="$work/$name" \
        -DNB_BUILD_TESTS=OFF -DNB_BUILD_EXAMPLES=OFF "$@" >"build-$name.log" 2>&1 || { cat "build-$name.log"; fail "configure $name"; }
    cmake --build "build-$name" -j2 >>"build-$name.log" 2>&1 || { cat "build-$name.log"; fail "build $name"; }
    cmake --install "build-$name" >>"build-$name.log" 2>&1 || { cat "build-$name.log"; fail "install $name"; }
}
build_nabla shared -DBUILD_SHARED_LIBS=ON -DNB_BUILD_CLI=OFF
build_nabla static -DBUILD_SHARED_LIBS=OFF -DNB_WITH_PLOT=OFF -DNB_WITH_MPI=OFF
shared_lib=$(dirname "$(find "$work/shared" -name nabla.pc)")/..
static_lib=$(dirname "$(find "$work/static" -name nabla.pc)")/..

step "the shared libraries: SONAME, links, exports"
readelf -d "$shared_lib/libnabla.so" | grep -q 'SONAME.*\[libnabla\.so\.0\]' || fail "libnabla.so has no SONAME libnabla.so.0"
[ "$(readlink "$shared_lib/libnabla.so.0")" = "libnabla.so.$(sed -n 's/.*NABLA_VERSION "\(.*\)"/\1/p' "$work/shared/include/nabla/version.h")" ] ||
    fail "libnabla.so.0 does not point to libnabla.so.<version>"
for lib in "$shared_lib"/libnabla.a "$shared_lib"/libnabla-io.a "$shared_lib"/libnabla-fit.a "$shared_lib"/libnabla-plot.a; do
    [ -f "$lib" ] || fail "$lib is not installed"
done
case " $(needed "$shared_lib/libnabla.so") " in *cairo* | *libz* | *cjson* | *libcsv*) fail "libnabla.so needs $(needed "$shared_lib/libnabla.so")" ;; esac
case " $(needed "$shared_lib/libnabla-fit.so") " in *" libnabla.so.0 "*) ;; *) fail "libnabla-fit.so does not link libnabla.so.0" ;; esac
sh "$src/tests/check_exports.sh" "$src" --shared "$shared_lib"/libnabla*.so || fail "shared exports"

step "the program built without cairo: --version, and --plot refused"
"$work/static/bin/nabla" --version | tee version.txt
grep -q '^plot: no' version.txt || fail "built without cairo: --version does not say plot: no"
status=0
"$work/static/bin/nabla" demo --plot out.png >/dev/null 2>plot.err || status=$?
cat plot.err
[ "$status" = 2 ] && grep -q -- '--plot is unavailable' plot.err || fail "--plot without cairo: status $status"
[ ! -e out.png ] || fail "--plot without cairo wrote a file"
step "the program built without MPI: --version, and mpirun's ranks refused"
grep -q '^MPI: no' version.txt || fail "built without MPI: --version does not say MPI: no"
status=0
OMPI_COMM_WORLD_SIZE=2 "$work/static/bin/nabla" train --data x.csv >/dev/null 2>mpi.err || status=$?
cat mpi.err
[ "$status" = 2 ] && grep -q 'built without MPI' mpi.err || fail "a rank of mpirun without MPI: status $status"
# the shared build has nabla::mpi when this machine has MPI
with_mpi=OFF
[ ! -e "$work/shared/include/nabla/mpi.h" ] || [ -z "$(find "$work/shared" -name 'libnabla-mpi.so*')" ] || with_mpi=ON

run() { # run PROGRAM [WANTED-NEEDED] [UNWANTED-NEEDED-PATTERN]
    "$1" || fail "$1 failed"
    deps=$(needed "$1")
    [ -z "$2" ] || case " $deps " in *" $2 "*) ;; *) fail "$1 does not link $2: $deps" ;; esac
    [ -z "$3" ] || ! echo "$deps" | grep -Eq "$3" || fail "$1 links $deps"
}

step "pkg-config, shared"
export PKG_CONFIG_PATH="$shared_lib/pkgconfig"
# shellcheck disable=SC2046
"$cc" "$src/tests/consumer/core_app.c" -o core_pc_shared $(pkg-config --cflags --libs nabla-core) -lm -Wl,-rpath,"$shared_lib"
run ./core_pc_shared libnabla.so.0 'cairo|libz|cjson|libcsv|nabla-'
# shellcheck disable=SC2046
"$cc" "$src/tests/consumer/fit_app.c" -o fit_pc_shared $(pkg-config --cflags --libs nabla) -lm -Wl,-rpath,"$shared_lib"
run ./fit_pc_shared libnabla-fit.so.0 ''
if [ "$with_mpi" = ON ]; then
    # shellcheck disable=SC2046
    "$cc" "$src/tests/consumer/mpi_app.c" -o mpi_pc_shared $(pkg-config --cflags --libs nabla-mpi) -lm -Wl,-rpath,"$shared_lib"
    case " $(needed mpi_pc_shared) " in *" libnabla-mpi.so.0 "*) ;; *) fail "mpi_pc_shared does not link libnabla-mpi.so.0" ;; esac
    sh "$src/tests/mpi/mpirun.sh" 2 ./mpi_pc_shared || fail "mpi_pc_shared under mpirun"
fi

step "pkg-config --static"
export PKG_CONFIG_PATH="$static_lib/pkgconfig"
# shellcheck disable=SC2046
"$cc" "$src/tests/consumer/core_app.c" -o core_pc_static $(pkg-config --cflags --libs --static nabla-core)
run ./core_pc_static '' 'nabla|cairo|libz|cjson|libcsv'
# shellcheck disable=SC2046
"$cc" "$src/tests/consumer/fit_app.c" -o fit_pc_static $(pkg-config --cflags --libs --static nabla)
run ./fit_pc_static '' 'nabla|cairo'
unset PKG_CONFIG_PATH

consumer() { # consumer NAME cmake-options...
    name=$1
    shift
    step "CMake: $name"
    cmake -S "$src/tests/consumer" -B "consumer-$name" -DCMAKE_BUILD_TYPE=Release "$@" >"consumer-$name.log" 2>&1 &&
        cmake --build "consumer-$name" -j2 >>"consumer-$name.log" 2>&1 || { cat "consumer-$name.log"; fail "consumer $name"; }
}
consumer find_package-shared -DCMAKE_PREFIX_PATH="$work/shared" -DWANT_MPI=$with_mpi
[ "$with_mpi" = OFF ] || sh "$src/tests/mpi/mpirun.sh" 2 consumer-find_package-shared/mpi_app || fail "mpi_app under mpirun"
run consumer-find_package-shared/core_app libnabla.so.0 'cairo|libz|cjson|libcsv|nabla-'
run consumer-find_package-shared/fit_app libnabla-fit.so.0 ''
consumer find_package-static -DCMAKE_PREFIX_PATH="$work/shared" -Dnabla_USE_STATIC_LIBS=ON
run consumer-find_package-static/core_app '' 'nabla|cairo|libz|cjson|libcsv'
run consumer-find_package-static/fit_app '' 'nabla|cairo'
step "CMake: find_package(nabla COMPONENTS plot) where nabla was built without it"
if cmake -S "$src/tests/consumer" -B consumer-without-cairo -DCMAKE_PREFIX_PATH="$work/static" -DWANT_PLOT=ON >consumer-without-cairo.log 2>&1; then
    fail "find_package found a plot component that was not built"
fi
grep -q 'no component plot' consumer-without-cairo.log || { cat consumer-without-cairo.log; fail "the failure does not name the plot component"; }
consumer FetchContent -DNABLA_SOURCE="$src"
run consumer-FetchContent/core_app '' 'nabla|cairo|libz|cjson|libcsv'
run consumer-FetchContent/fit_app '' 'nabla|cairo'
[ -z "$(find consumer-FetchContent -name 'libnabla-plot*')" ] || fail "FetchContent: the parent's NB_WITH_PLOT=OFF was not honoured"
echo "consumer: every way of using nabla works"
