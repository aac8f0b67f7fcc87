#!/bin/sh
# Installs the Debian packages nabla needs, when they are missing.
#   scripts/deps.sh          build, demo and tests
#   scripts/deps.sh --bench  also the peers the benchmarks compare against
#   scripts/deps.sh --deb    also the tools that build and check the Debian packages (scripts/deb.sh)
# As root it runs apt-get; otherwise it prints the command to run.
set -eu

packages="cmake gcc make pkg-config python3 libopenblas-dev libblis-dev libcmocka-dev libcsv-dev zlib1g-dev
libcjson-dev libcairo2-dev libgif-dev libomp-dev dataset-fashion-mnist bash-completion openmpi-bin libopenmpi-dev"
case "${1:-}" in
    --bench) packages="$packages python3-torch python3-scipy python3-numpy libxsmm-dev gnuplot-nox" ;;
    --deb) packages="$packages debhelper dpkg-dev lintian" ;;
esac

missing=""
for package in $packages; do
    if ! dpkg-query -W -f='${Status}' "$package" 2>/dev/null | grep -q "install ok installed"; then
        missing="$missing $package"
    fi
done
[ -z "$missing" ] && exit 0

if [ "$(id -u)" -ne 0 ]; then
    echo "nabla needs these Debian packages:$missing" >&2
    echo "install them with:  sudo apt-get install -y$missing" >&2
    exit 1
fi
echo "installing:$missing" >&2
export DEBIAN_FRONTEND=noninteractive
# A fresh machine may have no package lists yet: update once and retry.
# shellcheck disable=SC2086
apt-get install -y -q $missing >/dev/null || { apt-get update -q >/dev/null && apt-get install -y -q $missing >/dev/null; }
