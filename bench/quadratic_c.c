/* Tutorial 1 (docs/tutorials.md), variant A, in plain C with the tutorial's
 * hand-derived gradients: the floor nabla's graph engine is measured against. Same
 * output format as quadratic_nabla.c. */
#include <stdio.h>
#include <stdlib.h>

#include "bench_timing.h"

static double now(void) { return bench_seconds(CLOCK_MONOTONIC); }

int main(int argc, char **argv)
{
    int repeats = argc > 1 ? atoi(argv[1]) : 21;
    double xs[100], ys[100], times[101], w[3] = {0};
    for (int i = 0; i < 100; i++) {
        xs[i] = i / 100.0;
        ys[i] = 2 * xs[i] * xs[i] + 3 * xs[i] + 4;
    }
    if (repeats > 101)
        repeats = 101;
    for (int r = 0; r < repeats; r++) {
        /* volatile start values keep the compiler from folding the whole run */
        volatile double start_w[3] = {1, 2, 3};
        w[0] = start_w[0], w[1] = start_w[1], w[2] = start_w[2];
        double start = now();
        for (int epoch = 0; epoch < 500; epoch++)
            for (int i = 0; i < 100; i++) {
                double x = xs[i], e = w[0] * x * x + w[1] * x + w[2] - ys[i];
                w[0] -= 0.1 * 2 * e * x * x;
                w[1] -= 0.1 * 2 * e * x;
                w[2] -= 0.1 * 2 * e;
            }
        times[r] = (now() - start) / 50000 * 1e9;
    }
    bench_sort(times, repeats);
    printf("plain-c %.2f ns/step  w = %.9f %.9f %.9f\n", times[repeats / 2], w[0], w[1], w[2]);
    return 0;
}
