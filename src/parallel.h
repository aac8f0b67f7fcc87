/* Private: how many threads a piece of work gets. See include/nabla/threads.h. */
#ifndef NABLA_PARALLEL_H
#define NABLA_PARALLEL_H

#include "internal.h"

/* The most threads nb_set_threads accepts. */
#define NB_MAX_THREADS 256

/* One piece of a parallel job: chunk number `chunk` of the job's fixed count. */
typedef void (*nb_chunk_fn)(void *ctx, int chunk);

/* Run fn(ctx, c) for every c in [0, chunks) on the calling thread and nabla's pool,
 * returning when all are done. Which thread runs a chunk varies; what a chunk computes
 * must not. Inside a chunk, or while another thread's job runs, everything runs on the
 * calling thread. */
void nb_parallel_chunks(int chunks, nb_chunk_fn fn, void *ctx);

/* Threads for `work` units when each thread should get at least `grain` of them: the
 * thread count in force, fewer for small work, 1 inside a chunk of a parallel job. The
 * answer depends only on the arguments and the count in force, so the split of a piece
 * of work (and with it every rounding) is the same run after run. */
int nb_threads_for(int64_t work, int64_t grain);

/* Run fn(ctx, from, to) over [0, count) split into contiguous ranges, one per thread,
 * with the thread count nb_threads_for(work, NB_PARALLEL_GRAIN) (at most count): all of
 * it on the calling thread, without touching the pool, when the work is small. The ranges
 * depend only on count and the thread count, so a kernel that keeps each output's sum
 * within one range is deterministic. */
void nb_parallel_ranges(int64_t count, int64_t work, void (*fn)(void *ctx, int64_t from, int64_t to), void *ctx);

/* Elementwise loops go parallel past this many elements (below it the fork and join of
 * the threads costs more than the loop). */
#define NB_PARALLEL_GRAIN 32768

#endif
