#!/bin/sh
# Builds the Debian packages libnabla0, libnabla-dev and nabla from this tree, checks
# them with lintian and, when asked, installs them on this machine and checks the result.
#   scripts/deb.sh [--install] [OUTDIR]     (OUTDIR default: build-deb)
# The packages are built from a clean copy of the tree (its committed state plus the
# uncommitted changes of tracked files; new files must be added to git first), so that
# no build directory of the tree leaks in. The tools come from scripts/deps.sh --deb.
# --install (as root) runs apt-get install -y on the three .deb files, then checks that
# `nabla --version`, `man -w nabla` and `pkg-config --libs nabla` work, that the bash
# completion is in place and that a program builds against the installed library.
# Exit status: 0 built (and installed); 1 a step failed (lintian: any error).
set -eu

install=no
if [ "${1:-}" = "--install" ]; then
    install=yes
    shift
fi
root=$(cd "$(dirname "$0")/.." && pwd)
out=$(mkdir -p "${1:-$root/build-deb}" && cd "${1:-$root/build-deb}" && pwd)

"$root/scripts/deps.sh" --deb

version=$(dpkg-parsechangelog -l "$root/debian/changelog" -S Version)
upstream=${version%-*}
copy=$out/nabla-$upstream
rm -rf "$copy"
rm -f "$out"/*.deb "$out"/*.ddeb "$out"/*.changes "$out"/*.buildinfo
mkdir -p "$copy"
# `git stash create` makes a commit of the working tree without touching it (nothing
# when the tree is clean: then HEAD is the state to build).
tree=$(git -C "$root" stash create)
git -C "$root" archive --format=tar "${tree:-HEAD}" | tar -xf - -C "$copy"

echo "building the packages of nabla $version in $copy" >&2
export DEB_BUILD_OPTIONS="${DEB_BUILD_OPTIONS:-parallel=$(nproc)}"
(cd "$copy" && dpkg-buildpackage -us -uc -b) >"$out/build.log" 2>&1 || {
    tail -n 40 "$out/build.log" >&2
    echo "dpkg-buildpackage failed: the whole log is $out/build.log" >&2
    exit 1
}
arch=$(dpkg-architecture -q DEB_HOST_ARCH)
changes=$out/nabla_${version}_$arch.changes
debs="$out/libnabla0_${version}_$arch.deb $out/libnabla-dev_${version}_$arch.deb $out/nabla_${version}_$arch.deb"
for deb in $debs; do
    [ -f "$deb" ] || { echo "missing package: $deb" >&2; exit 1; }
done
# shellcheck disable=SC2086 # a list of paths without blanks (build-deb/ under the tree)
ls -l $debs

# Errors fail the build; warnings and the rest are shown.
lintian --fail-on error --display-info "$changes"
echo "lintian: no errors" >&2

[ "$install" = yes ] || exit 0
export DEBIAN_FRONTEND=noninteractive
# shellcheck disable=SC2086
apt-get install -y -q --reinstall $debs >/dev/null

installed=$(nabla --version | head -n 1)
case "$installed" in
    "nabla $upstream"|"nabla $upstream "*) ;;
    *) echo "nabla --version says '$installed', expected nabla $upstream" >&2; exit 1 ;;
esac
man -w nabla || {
    echo "man -w nabla: no manual page (is /usr/share/man excluded in /etc/dpkg/dpkg.cfg.d?)" >&2
    exit 1
}
pkg-config --libs nabla
completions=$(pkg-config --variable=completionsdir bash-completion 2>/dev/null || echo /usr/share/bash-completion/completions)
[ -f "$completions/nabla" ] || { echo "no bash completion in $completions" >&2; exit 1; }
probe=$(mktemp -d)
trap 'rm -rf "$probe"' EXIT
# shellcheck disable=SC2046
cc -o "$probe/quadratic" "$root/examples/01_quadratic.c" $(pkg-config --cflags --libs nabla)
"$probe/quadratic" >/dev/null
echo "installed: $installed; a program builds and runs against libnabla-dev" >&2
