#!/bin/sh
# Single-precision GEMM throughput on this machine, every library and kernel choice side
# by side: the products of an MLP 784-256-128-10 at batch 64 (forward, weight and input
# gradients) and 1024³, on 1 and 2 threads. Prints GFLOP/s (median of the samples) per
# shape, the worst relative error against a double-precision check, and what the MLP's
# products would cost per epoch of 60,000 samples at those rates.
#   usage: bench/gemm.sh [samples]        (default 7 samples of ~20 ms per shape)
set -eu
cd "$(dirname "$0")/.."
scripts/deps.sh --bench
samples=${1:-7}
cmake -S . -B build-bench -DCMAKE_BUILD_TYPE=Release -DNB_BUILD_TESTS=OFF -DNB_BUILD_BENCH=ON >/dev/null
cmake --build build-bench -j2 --target bench_gemm_nabla bench_gemm_openblas bench_gemm_blis bench_gemm_xsmm >/dev/null
bin=build-bench/bench
out=$(mktemp /tmp/nabla-gemm.XXXXXX)
trap 'rm -f "$out"' EXIT

# run LABEL THREADS PROGRAM [ENV-SETTING...]: one line per shape into $out, labelled.
run() {
    label=$1 threads=$2 program=$3
    shift 3
    env "$@" "$bin/$program" "$threads" "$samples" | awk -v label="$label" -F'\t' \
        '{ printf "%s\t%s\t%s\t%s\t%s\t%s\n", label, $2, $3, $4, $8, $9 }' >>"$out"
}

for threads in 1 2; do
    # The machine's environment may carry an OPENBLAS_CORETYPE of its own: unset it
    # to see OpenBLAS's own detection.
    run "nabla (its own choice)" $threads bench_gemm_nabla
    run "openblas default" $threads bench_gemm_openblas -u OPENBLAS_CORETYPE
    for core in Haswell Zen SkylakeX Cooperlake; do
        run "openblas $core" $threads bench_gemm_openblas OPENBLAS_CORETYPE=$core
    done
    run "blis default" $threads bench_gemm_blis -u BLIS_ARCH_TYPE
    # BLIS 0.9.0 arch ids: 0 skx, 3 haswell, 6 zen3 (blis.h arch_t)
    for arch in 0 3 6; do
        run "blis BLIS_ARCH_TYPE=$arch" $threads bench_gemm_blis BLIS_ARCH_TYPE=$arch
    done
    if [ "$threads" = 1 ]; then run "libxsmm (1 thread only)" 1 bench_gemm_xsmm; fi
done

# One row per library/config/threads, one column per shape.
awk -F'\t' '
    # per batch of 64, the multiply-adds of each MLP product (the 1024³ one is not in an epoch)
    BEGIN { flops["fwd1 X·W1t"] = 2*64*256*784; flops["fwd2 H1·W2t"] = 2*64*128*256;
            flops["fwd3 H2·W3t"] = 2*64*10*128; flops["dW1 dY1t·X"] = 2*256*784*64;
            flops["dW2 dY2t·H1"] = 2*128*256*64; flops["dW3 dY3t·H2"] = 2*10*128*64;
            flops["dH1 dY2·W2"] = 2*64*256*128; flops["dH2 dY3·W3"] = 2*64*128*10; }
    {
        key = $1 "\t" $3;
        if (!(key in seen)) { seen[key] = 1; order[++n] = key; kernels[key] = $2 }
        if (!($4 in col)) { col[$4] = ++ncol; name[ncol] = $4 }
        rate[key, $4] = $5;
        if ($6 + 0 > err[key] + 0) err[key] = $6;
        if ($4 in flops) seconds[key] += flops[$4] / ($5 * 1e9);
        if ($4 == "1024^3" && $5 + 0 > peak[$3] + 0) { peak[$3] = $5; peak_by[$3] = $1 }
    }
    END {
        printf "%-26s %-3s %-24s", "library / config", "thr", "kernels";
        for (c = 1; c <= ncol; c++) printf " %11s", substr(name[c], 1, 11);
        printf " %9s %8s\n", "epoch(s)", "max err";
        for (i = 1; i <= n; i++) {
            split(order[i], part, "\t");
            printf "%-26s %-3s %-24s", part[1], part[2], substr(kernels[order[i]], 1, 24);
            for (c = 1; c <= ncol; c++) printf " %11s", rate[order[i], name[c]];
            printf " %9.3f %8s\n", seconds[order[i]] * 60000 / 64, err[order[i]];
        }
        printf "\nGFLOP/s, median of the samples. epoch(s): the MLP products of one epoch (60,000 samples,\n";
        printf "batch 64) at these rates. max err: worst |C - exact| / sum|a·b| over sampled entries.\n";
        for (t in peak) printf "sgemm peak on %s thread(s), 1024^3: %s GFLOP/s (%s)\n", t, peak[t], peak_by[t];
    }' "$out"
