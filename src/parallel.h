/* Private: how many threads a piece of work gets. See include/nabla/threads.h. */
#ifndef NABLA_PARALLEL_H
#define NABLA_PARALLEL_H

#include "internal.h"

/* Threads for `work` units when each thread should get at least `grain` of them: the
 * thread count in force, fewer for small work, 1 inside a parallel region already. The
 * answer depends only on the arguments and the count in force, so the split of a piece
 * of work (and with it every rounding) is the same run after run. */
int nb_threads_for(int64_t work, int64_t grain);

/* Elementwise loops go parallel past this many elements (below it the fork and join of
 * the threads costs more than the loop). */
#define NB_PARALLEL_GRAIN 32768

#endif
