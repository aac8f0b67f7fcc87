#!/bin/sh
# Runs a program as N ranks of one MPI job on this machine, as the MPI tests need it in a
# container without a network or a remote shell, and as root:
#   tests/mpi/mpirun.sh N PROGRAM [ARGS...]
# Open MPI is told to use shared memory between the ranks (btl self,vader; no TCP, no
# InfiniBand probing), to start them here (plm isolated: no ssh), to allow more ranks than
# cores, and, as root, to run at all. A rank waiting for the others yields its core
# (mpi_yield_when_idle, unless the environment says otherwise): on a machine busier than
# its cores, a rank that spins in the exchange takes the core its partner needs to reach it. LeakSanitizer is off in the ranks: Open MPI leaves
# allocations of components it unloads at exit, which it cannot tell from a leak of
# nabla's (the single-process tests check nabla's). Exits 77 (ctest: skipped) when there
# is no mpirun.
set -eu
ranks=$1
shift
mpirun=$(command -v mpirun || command -v mpiexec || true)
if [ -z "$mpirun" ]; then
    echo "skipped: no mpirun (Debian: openmpi-bin)"
    exit 77
fi
export OMPI_MCA_btl=self,vader OMPI_MCA_pml=ob1 OMPI_MCA_plm=isolated OMPI_MCA_btl_vader_single_copy_mechanism=none
export OMPI_MCA_mpi_yield_when_idle="${OMPI_MCA_mpi_yield_when_idle:-1}" OMPI_MCA_rmaps_base_oversubscribe=1 ASAN_OPTIONS="${ASAN_OPTIONS:+$ASAN_OPTIONS:}detect_leaks=0"
set -- --oversubscribe -x ASAN_OPTIONS -np "$ranks" "$@"
if [ "$(id -u)" -eq 0 ]; then
    set -- --allow-run-as-root "$@"
fi
exec "$mpirun" "$@"
