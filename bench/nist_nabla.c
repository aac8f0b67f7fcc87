/* The 27 nonlinear NIST StRD problems from both starts, fitted with nabla inside one
 * process through the C API (nb_fit_formula with the defaults of `nabla fit`: parse the
 * formula, build the graph, solve, statistics).
 *
 * Prints one line per fit, "nabla NAME START MEDIAN_US LRE", the median over repeats of
 * that fit alone, then "nabla-total SUM_OF_MEDIANS_MS PASS_MEDIAN_MS PASS_WALL_MS" where
 * a pass is all 54 fits in a row (medians over repeated passes). Times are CPU time of
 * the thread, except the last (wall clock).   usage: nist_nabla DIR [repeats] */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "nist.h"
#include "bench_timing.h"

#define MAX_PROBLEMS 32

/* CPU time of this thread: the machine is shared, and waiting for a core is not solving.
 * (Wall-clock time of the whole pass is printed too.) */
static double now(void) { return bench_seconds(CLOCK_THREAD_CPUTIME_ID); }

static double wall(void) { return bench_seconds(CLOCK_MONOTONIC); }

static double median(double *v, int n)
{
    bench_sort(v, n);
    return n % 2 ? v[n / 2] : 0.5 * (v[n / 2 - 1] + v[n / 2]);
}

/* One fit; returns its lowest LRE (0 when it fails). */
static double fit_once(const nist_problem *p, int start)
{
    const char *names[NIST_MAX_PARAMS];
    for (int j = 0; j < p->n_params; j++)
        names[j] = p->param_names[j];
    nb_fit_setup setup = {.n_init = p->n_params, .init_names = names, .init_values = p->start[start]};
    nb_lsq_result r;
    if (nb_fit_formula(p->formula, p->data, &setup, NULL, &r) != NB_OK)
        return 0;
    double lre = 11;
    for (int j = 0; j < p->n_params; j++)
        for (int k = 0; k < r.n_params; k++)
            if (strcmp(r.names[k], p->param_names[j]) == 0)
                lre = fmin(lre, nist_lre(r.params[k], p->certified[j], 11));
    nb_lsq_result_clear(&r);
    return lre;
}

int main(int argc, char **argv)
{
    if (argc < 2) {
        fprintf(stderr, "usage: nist_nabla DIR [repeats]\n");
        return 2;
    }
    int repeats = argc > 2 ? atoi(argv[2]) : 21;
    if (repeats < 1)
        repeats = 1;
    static char files[64][64];
    static nist_problem problems[MAX_PROBLEMS];
    int n = nist_list(argv[1], files, MAX_PROBLEMS);
    for (int k = 0; k < n; k++) {
        char path[1200], error[600];
        snprintf(path, sizeof path, "%.1000s/%.63s", argv[1], files[k]);
        if (!nist_load(path, &problems[k], error, sizeof error)) {
            fprintf(stderr, "%s\n", error);
            return 1;
        }
    }
    double *times = malloc((size_t)repeats * sizeof *times);
    double sum = 0;
    for (int k = 0; k < n; k++)
        for (int start = 0; start < 2; start++) {
            double lre = fit_once(&problems[k], start); /* warm-up, and the accuracy */
            for (int r = 0; r < repeats; r++) {
                double t0 = now();
                fit_once(&problems[k], start);
                times[r] = now() - t0;
            }
            double us = 1e6 * median(times, repeats);
            sum += us;
            printf("nabla %s %d %.1f %.2f\n", problems[k].name, start + 1, us, lre);
        }
    double *walls = malloc((size_t)repeats * sizeof *walls);
    for (int r = 0; r < repeats; r++) {
        double t0 = now(), w0 = wall();
        for (int k = 0; k < n; k++)
            for (int start = 0; start < 2; start++)
                fit_once(&problems[k], start);
        times[r] = now() - t0;
        walls[r] = wall() - w0;
    }
    printf("nabla-total %.3f %.3f %.3f\n", sum / 1000, 1000 * median(times, repeats), 1000 * median(walls, repeats));
    free(walls);
    free(times);
    for (int k = 0; k < n; k++)
        nist_free(&problems[k]);
    return 0;
}
