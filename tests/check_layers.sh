#!/bin/sh
# The layering of the library, checked on every #include "..." line:
#   - a layer (src/LAYER/, include/nabla/LAYER.h, tests/LAYER/) includes the public
#     header of its own layer and of the layers below it, never one above;
#   - inside src/, a layer may include another layer's interface header, src/L/L.h,
#     when L is below it; every other header in src/L/ is private to L;
#   - the program (cli/), the examples and the command-line tests use the public API
#     only: include/nabla.h and include/nabla/*.h.
# Prints each violation as FILE:LINE: what is wrong, and exits 1 when there is one.
#   usage: tests/check_layers.sh [SOURCE_DIR]
set -eu
cd "${1:-$(dirname "$0")/..}"

# The layers each layer may use (itself included).
below() {
    case "$1" in
        core) echo "core" ;;
        autodiff) echo "core autodiff" ;;
        nn) echo "core autodiff nn" ;;
        io) echo "core autodiff nn io" ;;
        fit) echo "core autodiff nn io fit" ;;
        plot) echo "core plot" ;;
        *) echo "" ;;
    esac
}

report=$(mktemp)
trap 'rm -f "$report"' EXIT
files=$(find src include tests cli examples -name '*.[ch]' -o -name '*.inc' | sort)
bad=0
for file in $files; do
    case "$file" in
        src/*) layer=$(echo "$file" | cut -d/ -f2); kind=src ;;
        include/nabla.h) continue ;;
        include/nabla/*) layer=$(basename "$file" .h); kind=public ;;
        tests/cli/*|cli/*|examples/*) layer=""; kind=user ;;
        tests/*/*) layer=$(echo "$file" | cut -d/ -f2); kind=src ;;
        *) continue ;;
    esac
    allowed=$(below "$layer")
    if [ "$kind" != user ] && [ -z "$allowed" ]; then
        echo "$file: '$layer' is not a layer (core autodiff nn io fit plot)" >&2; bad=1; continue
    fi
    grep -n '^[[:space:]]*#[[:space:]]*include[[:space:]]*"' "$file" | while IFS= read -r hit; do
        line=${hit%%:*}
        header=$(echo "$hit" | sed 's/^[^"]*"\([^"]*\)".*/\1/')
        problem=""
        case "$header" in
            nabla.h)
                [ "$kind" = user ] || problem="includes the whole library (nabla.h); include the headers of its own layer and those below" ;;
            nabla/*.h)
                target=$(basename "$header" .h)
                if [ ! -f "include/$header" ]; then problem="includes $header, which does not exist"
                elif [ "$kind" != user ] && ! echo " $allowed " | grep -q " $target "; then
                    problem="includes $header: the $target layer is not below the $layer layer"
                fi ;;
            */*)
                target=${header%%/*}
                if [ "$kind" = user ]; then
                    [ -f "$(dirname "$file")/$header" ] || problem="includes $header: a program uses the public API only (nabla.h)"
                elif [ "$kind" = public ]; then problem="a public header includes $header, a private one"
                elif [ "$target" = "$layer" ]; then :
                elif ! echo " $allowed " | grep -q " $target "; then
                    problem="includes $header: the $target layer is not below the $layer layer"
                elif [ "$header" != "$target/$target.h" ]; then
                    problem="includes $header, private to the $target layer (its interface is $target/$target.h)"
                fi ;;
            *)
                # A header beside the file (the CLI's own, a test helper).
                [ -f "$(dirname "$file")/$header" ] || [ -f "tests/$header" ] ||
                    problem="includes $header, which is neither beside it nor a layer's header" ;;
        esac
        if [ -n "$problem" ]; then
            echo "$file:$line: $problem"
        fi
    done
done >"$report"
cat "$report"
if [ -s "$report" ] || [ "$bad" != 0 ]; then
    echo "layering: $(wc -l <"$report") violations (the layers: docs/architecture.md)"
    exit 1
fi
echo "layering: $(echo "$files" | wc -l) files, every include respects the layers"
