#!/bin/bash
# The manual page and the bash completion follow the program: every option that
# `nabla CMD --help` prints is documented in its command's section of docs/nabla.1, and
# completing `nabla CMD --` offers exactly those options; the page's version is the
# program's; a few completions of values, demo names and files behave.
#   tests/check_docs.sh NABLA SOURCE_DIR
# Exit 77 (skipped) after the manual page's checks when bash-completion is not installed.
# Lists of words ($(...) unquoted) are split on purpose: option and demo names have no blanks.
# shellcheck disable=SC2046
set -u
nabla=$1 source_dir=$2
page=$source_dir/docs/nabla.1 completion=$source_dir/completion/nabla
failures=0
fail() { echo "FAIL: $*" >&2; failures=$((failures + 1)); }

# The options a command's --help prints; `...` spans quote other commands' options.
# shellcheck disable=SC2016 # the backquotes are sed's text
help_options() { "$nabla" ${1:+"$1"} --help | sed 's/`[^`]*`//g' | grep -oE -- '--[a-z][a-z0-9-]*' | sort -u; }

# The page's text for one command: its .SS section, with roff's \- as plain dashes.
page_section() {
    sed 's/\\-/-/g' "$page" | awk -v head=".SS \"nabla $1 " 'index($0, head) == 1 { on = 1; next } /^\.S[SH] / { on = 0 } on'
}

has_word() { grep -qE -- "(^|[^a-z0-9-])$1([^a-z0-9-]|\$)"; }

commands="demo fit eval train predict"
for command in $commands; do
    options=$(help_options "$command")
    [ -n "$options" ] || fail "nabla $command --help prints no options"
    section=$(page_section "$command")
    [ -n "$section" ] || fail "docs/nabla.1 has no section .SS \"nabla $command ...\""
    for option in $options; do
        printf '%s\n' "$section" | has_word "$option" || fail "docs/nabla.1: nabla $command's $option is not documented"
    done
done
# nabla's own options (--help, --version) are in the page and complete as first word.
for option in $(help_options ""); do
    sed 's/\\-/-/g' "$page" | has_word "$option" || fail "docs/nabla.1: nabla $option is not documented"
done
version=$("$nabla" --version | awk 'NR == 1 { print $2 }')
grep -qE "^\.TH NABLA 1 [^ ]+ \"nabla $version\"" "$page" || fail "docs/nabla.1: .TH does not name version $version (nabla --version)"
if command -v groff >/dev/null; then
    warnings=$(groff -man -ww -z "$page" 2>&1)
    [ -z "$warnings" ] || fail "docs/nabla.1: groff warns: $warnings"
fi

framework=/usr/share/bash-completion/bash_completion
if [ ! -r "$framework" ]; then
    echo "SKIP: the completion's checks need $framework (Debian's bash-completion; scripts/deps.sh installs it)" >&2
    [ "$failures" -eq 0 ] && exit 77
    exit 1
fi
# shellcheck disable=SC1090
source "$framework"
# shellcheck disable=SC1090
source "$completion"

# complete LINE: what completing the last word of `nabla LINE` offers, one per line.
complete_line() {
    local line="$nabla $1"
    read -ra COMP_WORDS <<<"$line"
    [[ $line == *' ' ]] && COMP_WORDS+=('')
    COMP_CWORD=$((${#COMP_WORDS[@]} - 1)) COMP_LINE=$line COMP_POINT=${#line}
    COMPREPLY=()
    _nabla nabla "${COMP_WORDS[COMP_CWORD]}" "${COMP_WORDS[COMP_CWORD - 1]}" 2>/dev/null
    [ ${#COMPREPLY[@]} -eq 0 ] || printf '%s\n' "${COMPREPLY[@]}" | sort
}

# expect LINE WORDS...: completing `nabla LINE` offers exactly WORDS.
expect() {
    local line=$1 got wanted
    shift
    got=$(complete_line "$line")
    wanted=$(printf '%s\n' "$@" | sed '/^$/d' | sort)
    [ "$got" = "$wanted" ] ||
        fail "completing 'nabla $line' offers [$(printf '%s' "$got" | tr '\n' ' ')], expected [$(printf '%s' "$wanted" | tr '\n' ' ')]"
}

# Every command takes --help, whether or not its text lists it.
for command in $commands; do
    expect "$command --" $( (help_options "$command"; echo --help) | sort -u)
done
expect "" demo fit eval train predict $(help_options "")
expect "tr" train
expect "demo " $("$nabla" demo --list | awk '{ print $1 }')
expect "demo quadratic-decay --variant " sgd minibatch
expect "demo fnn-backprop --seed 3 --variant " gd
expect "fit --method=l" lm linear lbfgs
expect "train --optim ad" adam adamw adagrad
expect "train --schedule co" constant cosine cosine:
expect "train --dtype " f32 f64
expect "train --seed " ""

# Files: FILE arguments complete file names, --plot only images, predict's --model models.
files=$(mktemp -d) || exit 1
trap 'rm -rf "$files"' EXIT
touch "$files/points.csv" "$files/curve.png" "$files/model.safetensors"
cd "$files" || exit 1
expect "fit a*x " curve.png model.safetensors points.csv
expect "fit a*x p" points.csv
expect "fit --plot " curve.png
expect "predict --model " model.safetensors
expect "train --data " fashion-mnist curve.png model.safetensors points.csv

[ "$failures" -eq 0 ] && echo "docs/nabla.1 and completion/nabla cover every option of: $commands"
[ "$failures" -eq 0 ]
