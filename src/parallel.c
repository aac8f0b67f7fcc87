/* One thread count for the whole library: nabla's OpenMP loops and the blocks its
 * matrix products are split into. */
#include "parallel.h"

#include <pthread.h>
#include <sched.h>
#include <unistd.h>
#ifdef _OPENMP
#include <omp.h>
#endif

static int cpu_count;      /* cores this process may run on, found once */
static int threads_in_force; /* 0 until nb_set_threads or the first query */
static pthread_once_t cpu_count_once = PTHREAD_ONCE_INIT;

static void find_cpu_count(void)
{
    cpu_set_t set;
    int count = 0;
    if (sched_getaffinity(0, sizeof set, &set) == 0)
        count = CPU_COUNT(&set);
    if (count < 1) {
        long online = sysconf(_SC_NPROCESSORS_ONLN);
        count = online > 0 ? (int)online : 1;
    }
    cpu_count = count;
}

int nb_cpu_count(void)
{
    pthread_once(&cpu_count_once, find_cpu_count);
    return cpu_count;
}

nb_status nb_set_threads(int threads)
{
    if (threads < 0)
        return nb_fail(NB_EARG, "nb_set_threads: thread count must be >= 0 (0 = the %d available cores), got %d",
                       nb_cpu_count(), threads);
    threads_in_force = threads == 0 ? nb_cpu_count() : threads;
    return NB_OK;
}

int nb_get_threads(void)
{
    if (threads_in_force == 0)
        threads_in_force = nb_cpu_count();
    return threads_in_force;
}

int nb_threads_for(int64_t work, int64_t grain)
{
#ifdef _OPENMP
    if (omp_in_parallel())
        return 1;
    int64_t threads = nb_get_threads();
    int64_t useful = grain > 0 ? work / grain : threads;
    if (useful < threads)
        threads = useful;
    return threads < 1 ? 1 : (int)threads;
#else
    (void)work;
    (void)grain;
    return 1;
#endif
}

void nb_parallel_ranges(int64_t count, int64_t work, void (*fn)(void *ctx, int64_t from, int64_t to), void *ctx)
{
    int threads = nb_threads_for(work, NB_PARALLEL_GRAIN);
    if (threads > count)
        threads = (int)count;
    if (threads <= 1) {
        if (count > 0)
            fn(ctx, 0, count);
        return;
    }
#pragma omp parallel for num_threads(threads) schedule(static)
    for (int t = 0; t < threads; t++)
        fn(ctx, count * t / threads, count * (t + 1) / threads);
}
