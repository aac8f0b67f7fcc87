/* What the benchmark programs share to time themselves: a clock in seconds, and the
 * sorting that their medians take. */
#ifndef NB_BENCH_TIMING_H
#define NB_BENCH_TIMING_H

#include <stdlib.h>
#include <time.h>

/* Seconds on `clock`: CLOCK_MONOTONIC for the wall clock, CLOCK_THREAD_CPUTIME_ID for
 * this thread's CPU time (which a shared machine disturbs less). */
static inline double bench_seconds(clockid_t clock)
{
    struct timespec t;
    clock_gettime(clock, &t);
    return t.tv_sec + 1e-9 * t.tv_nsec;
}

static inline int bench_compare(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

/* v[n] in ascending order. */
static inline void bench_sort(double *v, int n)
{
    qsort(v, (size_t)n, sizeof *v, bench_compare);
}

#endif
