#!/bin/sh
# The layering of the library, checked on every #include "..." line:
#   - a layer (src/LAYER/, include/nabla/LAYER.h, tests/LAYER/) includes the public
#     header of its own layer and of the layers below it, never one above;
#   - inside src/, a layer may include another layer's interface header, src/L/L.h,
#     when L is below it; every other header in src/L/ is private to L;
#   - the program (cli/), the examples, the command-line tests and the fuzz harnesses
#     use the public API only: include/nabla.h and include/nabla/*.h (the harnesses of
#     the program's files include its headers, cli/*.h, too).
# Prints each violation as FILE:LINE: what is wrong, and exits 1 when there is one.
#   usage: tests/check_layers.sh [SOURCE_DIR]
set -eu
cd "${1:-$(dirname "$0")/..}"

find src include tests cli examples -name '*.[ch]' -o -name '*.inc' | sort >"${TMPDIR:-/tmp}/nb_layers.$$"
trap 'rm -f "${TMPDIR:-/tmp}/nb_layers.$$"' EXIT
# Every file that exists, then every include line of every file, to one awk program.
{
    sed 's/^/FILE /' "${TMPDIR:-/tmp}/nb_layers.$$"
    xargs grep -Hn '^[[:space:]]*#[[:space:]]*include[[:space:]]*"' <"${TMPDIR:-/tmp}/nb_layers.$$" || true
} | awk '
BEGIN {
    # the layers each layer may use, itself included
    below["core"] = " core "
    below["autodiff"] = " core autodiff "
    below["nn"] = " core autodiff nn "
    below["io"] = " core autodiff nn io "
    below["fit"] = " core autodiff nn io fit "
    below["plot"] = " core plot "
    below["mpi"] = " core autodiff nn mpi "
}
$1 == "FILE" { exists[$2] = 1; files++; next }
{
    split($0, at, ":"); file = at[1]; line = at[2]
    header = $0; sub(/^[^"]*"/, "", header); sub(/".*$/, "", header)
    dir = file; sub(/\/[^\/]*$/, "", dir)
    n = split(file, part, "/")
    kind = ""; layer = ""
    if (part[1] == "src") { kind = "src"; layer = part[2] }
    else if (file == "include/nabla.h") next
    else if (part[1] == "include") { kind = "public"; layer = part[3]; sub(/\.h$/, "", layer) }
    else if (part[1] == "cli" || part[1] == "examples" || (part[1] == "tests" && (part[2] == "cli" || part[2] == "fuzz"))) kind = "user"
    else if (part[1] == "tests" && n > 2) { kind = "src"; layer = part[2] }
    else next
    if (kind != "user" && !(layer in below)) { report(file ": " layer " is not a layer (core autodiff nn io fit plot mpi)"); next }
    problem = ""
    if (header == "nabla.h") {
        if (kind != "user") problem = "includes the whole library (nabla.h); include the headers of its own layer and those below"
    } else if (header ~ /^nabla\/[^\/]*\.h$/) {
        target = substr(header, 7); sub(/\.h$/, "", target)
        if (!(("include/" header) in exists)) problem = "includes " header ", which does not exist"
        else if (kind != "user" && index(below[layer], " " target " ") == 0)
            problem = "includes " header ": the " target " layer is not below the " layer " layer"
    } else if (header ~ /\//) {
        target = header; sub(/\/.*$/, "", target)
        if (kind == "user") {
            if (!((dir "/" header) in exists)) problem = "includes " header ": a program uses the public API only (nabla.h)"
        } else if (kind == "public") problem = "a public header includes " header ", a private one"
        else if (target == layer) { }
        else if (index(below[layer], " " target " ") == 0)
            problem = "includes " header ": the " target " layer is not below the " layer " layer"
        else if (header != target "/" target ".h")
            problem = "includes " header ", private to the " target " layer (its interface is " target "/" target ".h)"
    } else if (!((dir "/" header) in exists) && !(("tests/" header) in exists) &&
               !(dir == "tests/fuzz" && ("cli/" header) in exists))
        problem = "includes " header ", which is neither beside it nor a layer'"'"'s header"
    if (problem != "") report(file ":" line ": " problem)
}
function report(text) { print text; bad++ }
END {
    if (bad) { printf "layering: %d violations (the layers: docs/architecture.md)\n", bad; exit 1 }
    printf "layering: %d files, every include respects the layers\n", files
}'
