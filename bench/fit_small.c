/* The CPU cost of one small fit in a batch (issue 12): `nabla fit --by`'s work without
 * reading the file or printing, on one thread. Reads a table (bench/fit_batch_data.py
 * writes curves.csv), fits y = a exp(-k t) to each group of the column `curve` from
 * a = k = 1, repeatedly, and prints the median over repeats of the CPU time per fit.
 *   usage: bench_fit_small CURVES.CSV [repeats] */
#include <nabla.h>

#include <stdio.h>
#include <stdlib.h>

#include "bench_timing.h"

static double now(void) { return bench_seconds(CLOCK_THREAD_CPUTIME_ID); }

int main(int argc, char **argv)
{
    if (argc < 2) {
        fprintf(stderr, "usage: %s CURVES.CSV [repeats]\n", argv[0]);
        return 2;
    }
    int repeats = argc > 2 ? atoi(argv[2]) : 5;
    nb_table *data = nb_table_read(argv[1], NULL);
    if (!data || nb_set_threads(1) != NB_OK || repeats < 1 || repeats > 1000) {
        fprintf(stderr, "%s\n", nb_errmsg());
        return 1;
    }
    const char *names[] = {"a", "k"};
    const double values[] = {1, 1};
    nb_fit_setup setup = {.n_init = 2, .init_names = names, .init_values = values};
    double times[1000];
    int groups = 0, iterations = 0;
    for (int r = 0; r < repeats; r++) {
        nb_fit_batch batch;
        double start = now();
        nb_status status = nb_fit_batch_by("y = a*exp(-k*t)", data, "curve", &setup, NULL, &batch);
        times[r] = now() - start;
        if (status != NB_OK) {
            fprintf(stderr, "%s\n", nb_errmsg());
            return 1;
        }
        groups = batch.n_groups, iterations = 0;
        for (int k = 0; k < batch.n_groups; k++)
            iterations += batch.groups[k].result.iterations;
        nb_fit_batch_clear(&batch);
    }
    bench_sort(times, repeats);
    printf("%d fits, %.1f iterations each: %.2f us CPU per fit (median of %d)\n", groups,
           (double)iterations / groups, 1e6 * times[repeats / 2] / groups, repeats);
    nb_table_free(data);
    return 0;
}
