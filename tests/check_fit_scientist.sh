#!/bin/sh
# examples/fit_scientist.c does what it says: its numbers are checked against the curves
# its data come from (the constants below are the example's TRUE_A, TRUE_K, BASELINE,
# OUTLIER_SIZE and rate_of()), not against a recorded run.
#   usage: tests/check_fit_scientist.sh EXAMPLE WORKDIR
set -eu
example=$1
dir=$2
rm -rf "$dir"
mkdir -p "$dir"
"$example" "$dir" >"$dir/out.txt"
cat "$dir/out.txt"
# The model was kept where it was asked to be, in nabla's fit format.
grep -q '"nabla-fit"' "$dir/decay.fit.json" || { echo "no model in $dir/decay.fit.json"; exit 1; }
awk -v A=5 -v K=0.7 -v C=1 -v OUT=3 '
function abs(v) { return v < 0 ? -v : v }
function bad(msg) { print "check_fit_scientist: " msg; failed = 1 }
/^plain fit/ { part = "plain" }
/^robust fit/ { part = "robust" }
/^kept model/ { part = "" }
part != "" && $1 == "a" { a[part] = $3 }
part != "" && $1 == "k" { k[part] = $3 }
part != "" && $1 == "c" { c[part] = $3; cfixed[part] = /\(fixed\)/ }
/the outlier/ { resid = $NF }
/predict t = 3.00:/ {
    want = A * exp(-K * 3) + C
    gsub(/[\[\],]/, "")
    y = $7; lo = $10; hi = $11; plo = $13; phi = $14
    if (abs(y - want) > 0.01) bad("prediction at t = 3 is " y ", the curve " want)
    if (!(lo < want && want < hi)) bad("the confidence interval [" lo ", " hi "] misses " want)
    if (!(plo < lo && hi < phi)) bad("the prediction interval is not wider than the confidence one")
    predicted = 1
}
/^  run / {
    sub(/:/, "", $2); runs++
    rate[1] = 0.3; rate[2] = 0.7; rate[3] = 1.5
    kk = $10
    if ($2 in rate) { if (abs(kk - rate[$2]) > 0.01) bad("run " $2 ": k = " kk ", generated with " rate[$2]) }
    else if (kk != 0 || $0 !~ /at its lower bound/) bad("run " $2 " grows: k should stop at its bound 0: " $0)
}
END {
    for (p in c) if (c[p] != C || !cfixed[p]) bad(p " fit: c should be fixed at " C)
    if (abs(a["robust"] - A) > 0.02 || abs(k["robust"] - K) > 0.005) bad("robust fit far from the curve")
    if (abs(k["plain"] - K) <= abs(k["robust"] - K)) bad("the plain fit is not pulled by the outlier more than the robust one")
    if (abs(resid - OUT) > 0.05) bad("the outlier should keep its residual " OUT ", has " resid)
    if (!predicted) bad("no prediction at t = 3")
    if (runs != 4) bad(runs " runs printed, 4 generated")
    exit failed
}' "$dir/out.txt"
