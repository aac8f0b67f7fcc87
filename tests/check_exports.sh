#!/bin/sh
# The libraries export the public API and nothing else: every function they define
# with default visibility is declared in include/nabla/ and starts with nb_; everything
# else is hidden (the library is compiled with -fvisibility=hidden), and the hidden ones
# that are shared between files carry the prefix too. Prints what is
# exported but not public, and what is public but not defined, and exits 1 on either.
# The one exception: the core functions the other components call (marked
# NB_COMPONENT_API in src/core/core.h), which libnabla.so must export for libnabla-io.so
# and the others to link; there they must carry the version NABLA_PRIVATE_0, and the
# public API NABLA_0 (cmake/libnabla.map).
#   usage: tests/check_exports.sh SOURCE_DIR LIBRARY.a...
#          tests/check_exports.sh SOURCE_DIR --shared LIBRARY.so...  (the dynamic symbol table)
set -eu
src=$1
shift
shared=no
if [ "${1:-}" = "--shared" ]; then
    shared=yes
    shift
fi
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
# Declared: every nb_name( in a public header (function pointers are typedefs, not names).
cat "$src"/include/nabla/*.h | grep -o '\bnb_[a-z0-9_]*[[:space:]]*(' | tr -d ' (' | sort -u >"$tmp/called"
# ... less the names of types ("nb_status (" in a comment is not a function).
cat "$src"/include/nabla/*.h | grep -o '\(typedef [a-z ]*\|} \)nb_[a-z0-9_]*' | grep -o 'nb_[a-z0-9_]*' | sort -u >"$tmp/types"
comm -23 "$tmp/called" "$tmp/types" >"$tmp/public"
grep -o 'NB_COMPONENT_API [^(]*(' "$src"/src/core/core.h | grep -o 'nb_[a-z0-9_]*($' | tr -d '(' | sort -u >"$tmp/component"
sort -u "$tmp/public" "$tmp/component" >"$tmp/allowed"
status=0
if [ "$shared" = yes ]; then
    # Defined functions of the dynamic symbol tables, with their versions (name@@VERSION).
    for lib in "$@"; do
        nm -D --defined-only "$lib" | awk '$2 == "T" || $2 == "i" { print $3 }'
    done | sort -u >"$tmp/versioned"
    sed 's/@.*//' "$tmp/versioned" | sort -u >"$tmp/exported"
    wrong=$(awk -F'@@' -v list="$tmp/component" '
        BEGIN { while ((getline name < list) > 0) component[name] = 1 }
        $2 != "" && (($1 in component) != ($2 == "NABLA_PRIVATE_0")) { print $0 }' "$tmp/versioned")
    if [ -n "$wrong" ]; then
        echo "exported with the wrong version (NABLA_PRIVATE_0 is for NB_COMPONENT_API only):"
        echo "$wrong" | sed 's/^/  /'
        status=1
    fi
else
    # Defined and visible: FUNC symbols, GLOBAL binding, DEFAULT visibility, not undefined.
    for lib in "$@"; do
        readelf -sW "$lib" | awk '$4 == "FUNC" && $5 == "GLOBAL" && $6 == "DEFAULT" && $7 != "UND" { print $8 }'
    done | sed 's/@.*//' | sort -u >"$tmp/exported"
fi
# Hidden or not, every global function of a static library shares the program's name
# space: all of them carry the prefix.
unprefixed=$(for lib in "$@"; do
    readelf -sW "$lib" | awk '$4 == "FUNC" && $5 == "GLOBAL" && $7 != "UND" { print $8 }'
done | sed 's/@.*//' | grep -v '^nb_' | grep -v '^__lsan_' | grep -v '^_init$' | grep -v '^_fini$' | sort -u || true)
if [ -n "$unprefixed" ]; then
    echo "global functions without the nb_ prefix (make them static, or name them nb_...):"
    echo "$unprefixed" | sed 's/^/  /'
    status=1
fi
extra=$(comm -23 "$tmp/exported" "$tmp/allowed")
if [ -n "$extra" ]; then
    echo "exported but not in the public headers (make them static, or hide them):"
    echo "$extra" | sed 's/^/  /'
    status=1
fi
missing=$(comm -13 "$tmp/exported" "$tmp/public")
if [ -n "$missing" ]; then
    echo "declared in the public headers but not defined by the libraries:"
    echo "$missing" | sed 's/^/  /'
    status=1
fi
[ "$status" = 0 ] && echo "exports: $(wc -l <"$tmp/exported") functions, exactly the public API and the $(wc -l <"$tmp/component") functions the components share"
exit $status
