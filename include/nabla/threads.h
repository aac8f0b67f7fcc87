/* nabla threads: how many cores the library's own loops and its matrix products use.
 *
 * nabla runs every parallel piece of work (elementwise passes over large tensors and
 * the matrix products, which it splits into blocks) on one pool of its own threads; the
 * BLAS library itself always runs single-threaded inside them. So there is one thread
 * count, and the two never compete for the cores. A job is cut into pieces fixed by the
 * thread count alone, so the same thread count gives the same numbers, run after run. */
#ifndef NABLA_THREADS_H
#define NABLA_THREADS_H

#include "nabla/core.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Use `threads` threads from now on (1 = everything on the calling thread); 0 restores
 * the default, the number of cores this process may run on (sched_getaffinity). Fails
 * with NB_EARG on a negative count or more than 256. Not thread-safe: call it between
 * runs. */
nb_status nb_set_threads(int threads);
/* The thread count in force. */
int nb_get_threads(void);
/* The number of cores this process may run on. */
int nb_cpu_count(void);

/* What the matrix products run on, e.g. "OpenBLAS 0.3.21 SkylakeX (core type set by
 * nabla: the CPU has AVX-512)" or "portable C (no BLAS library found)". The BLAS is
 * loaded at the first matrix product or at this call. */
const char *nb_blas_backend(void);

#ifdef __cplusplus
}
#endif

#endif
