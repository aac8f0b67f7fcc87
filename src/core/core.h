/* The core layer's interface to the layers above it inside the library (not installed):
 * allocation, kernels written once per float type, the thread pool, matrix products,
 * atomic files. */
#ifndef NABLA_INTERNAL_H
#define NABLA_INTERNAL_H

#include "nabla/core.h"

#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>

#if defined(__GNUC__)
#define NB_PRINTF(fmt_index, first_arg) __attribute__((format(printf, fmt_index, first_arg)))
#define NB_LIKELY(x) __builtin_expect(!!(x), 1)
#define NB_UNLIKELY(x) __builtin_expect(!!(x), 0)
#else
#define NB_PRINTF(fmt_index, first_arg)
#define NB_LIKELY(x) (x)
#define NB_UNLIKELY(x) (x)
#endif

/* For the loops over memory that a training step spends real time in (the optimizer
 * update, the fused layer's elementwise passes): compiled for AVX-512 and AVX2 besides
 * the baseline, the widest the CPU has chosen when the program loads (GCC's function
 * multiversioning), so the library stays runnable on any x86-64. Elementwise loops give
 * the same bits in every version (no contraction to FMA in ISO C mode, no reordering of
 * sums). What it gains: docs/design.md. */
/* NB_NO_TARGET_CLONES (CMake: -DNB_TARGET_CLONES=OFF) builds the baseline alone: the
 * clones' resolvers run at load time, before ThreadSanitizer's runtime is ready. */
#if defined(__GNUC__) && !defined(__clang__) && defined(__x86_64__) && defined(__linux__) && !defined(NB_NO_TARGET_CLONES)
#define NB_VECTOR_CLONES __attribute__((target_clones("avx512f", "avx2", "default")))
#else
#define NB_VECTOR_CLONES
#endif

/* The functions of this interface that the other components (io, fit, plot) call: those
 * are separate shared libraries (libnabla-io.so, ...), so these must be visible in
 * libnabla.so, where cmake/libnabla.map gives them the version NABLA_PRIVATE_0 (not API). */
#if defined(__GNUC__)
#define NB_COMPONENT_API __attribute__((visibility("default")))
#else
#define NB_COMPONENT_API
#endif

/* Kernels written once for float and double: a file defines T (the element type) and
 * SFX (f32 or f64) and expands its kernels once per type; NB_KERNEL(sum_fwd) names the
 * instance, sum_fwd_f32 or sum_fwd_f64. */
#define NB_CAT_(a, b) a##b
#define NB_CAT(a, b) NB_CAT_(a, b)
#define NB_KERNEL(name) NB_CAT(name##_, SFX)

/* A builder (a function that returns a node) returns nb_builder_failed() on failure:
 * NULL, with its failure marked as a builder's, so that a call handed that NULL keeps the
 * message that explains it. A call handed a NULL it cannot use reports it with
 * nb_fail_null(): that kept message, or "<fn>: <what> is NULL" — never the message of an
 * unrelated earlier failure (a file that did not open, say). */
void *nb_builder_failed(void);
nb_status nb_fail_null(const char *fn, const char *what);

/* The allocation hook. nb_alloc_or_fail() also records an NB_ENOMEM message naming
 * `what`. Sizes are checked for overflow by nb_alloc_array(). */
NB_COMPONENT_API void *nb_alloc(size_t size);
NB_COMPONENT_API void *nb_calloc(size_t count, size_t size);
NB_COMPONENT_API void *nb_realloc(void *ptr, size_t size);
NB_COMPONENT_API void nb_free(void *ptr);
NB_COMPONENT_API void *nb_alloc_or_fail(size_t size, const char *what);
NB_COMPONENT_API char *nb_strdup(const char *text);
/* Copies of n names (NULL in, NULL out); false when out of memory. */
NB_COMPONENT_API bool nb_names_copy(char *const *names, int64_t n, char ***out);
/* Frees n names and the array (NULL is fine). */
void nb_names_free(char **names, int64_t n);

/* "[2, 3]" into buf; returns buf. */
NB_COMPONENT_API char *nb_shape_str(int ndim, const int64_t *shape, char *buf, size_t buf_size);


/* ------------------------------------------------------------------------------------ */
/* Private: how many threads a piece of work gets. See nb_set_threads in include/nabla/core.h. */


/* The most threads nb_set_threads accepts. */
#define NB_MAX_THREADS 256

/* One piece of a parallel job: chunk number `chunk` of the job's fixed count. */
typedef void (*nb_chunk_fn)(void *ctx, int chunk);

/* Run fn(ctx, c) for every c in [0, chunks) on the calling thread and nabla's pool,
 * returning when all are done. Which thread runs a chunk varies; what a chunk computes
 * must not. Inside a chunk, or while another thread's job runs, everything runs on the
 * calling thread. */
NB_COMPONENT_API void nb_parallel_chunks(int chunks, nb_chunk_fn fn, void *ctx);

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

/* ------------------------------------------------------------------------------------ */
/* Private: nabla's matrix products. Row-major C[m,n] = alpha·op(A)·op(B) + beta·C, with
 * op(A) = A [m,k] or Aᵀ (A stored [k,m]) and op(B) = B [k,n] or Bᵀ (B stored [n,k]);
 * lda, ldb, ldc are row strides in elements. As in BLAS, C is not read when beta is 0.
 *
 * The work runs on a BLAS library loaded at first use (see blas.c for which one and
 * why), split into blocks of C over nb_get_threads() threads (src/parallel.c) when large
 * enough; without a BLAS library, on a portable C loop. Never fails. */


void nb_gemm_f32(bool trans_a, bool trans_b, int64_t m, int64_t n, int64_t k, float alpha, const float *a,
                 int64_t lda, const float *b, int64_t ldb, float beta, float *c, int64_t ldc);
void nb_gemm_f64(bool trans_a, bool trans_b, int64_t m, int64_t n, int64_t k, double alpha, const double *a,
                 int64_t lda, const double *b, int64_t ldb, double beta, double *c, int64_t ldc);

/* The portable loops alone, whatever library is loaded: the reference the tests hold
 * the library to. */
void nb_gemm_portable_f32(bool trans_a, bool trans_b, int64_t m, int64_t n, int64_t k, float alpha, const float *a,
                          int64_t lda, const float *b, int64_t ldb, float beta, float *c, int64_t ldc);
void nb_gemm_portable_f64(bool trans_a, bool trans_b, int64_t m, int64_t n, int64_t k, double alpha,
                          const double *a, int64_t lda, const double *b, int64_t ldb, double beta, double *c,
                          int64_t ldc);

/* ------------------------------------------------------------------------------------ */
/* Files written atomically: into an unnamed temporary file in the target's directory
 * (a named one where the file system has none), flushed to disk, named and renamed over
 * the target. A crash, a kill or a failed write never leaves a half-written file nor a
 * temporary one, and an existing file stays as it was unless the new one is complete. */


typedef struct nb_atomic_file {
    FILE *file;        /* write the contents here */
    char *temp_path;   /* TARGET.tmp.PID.XXXXXX: the name it gets before the rename */
    char *target;
    char *directory;   /* the target's directory, synced after the rename */
    bool unnamed;      /* still an O_TMPFILE file: nothing on disk to remove */
    int write_errno;   /* a writer that cannot return errors may record the first here */
} nb_atomic_file;

/* What a path that is not a regular file is ("a device", "a FIFO (named pipe)", ...), from
 * its st_mode, for messages. */
NB_COMPONENT_API const char *nb_file_kind(unsigned mode);
/* Create the temporary file, with the mode of the file it will replace (else 0666 less
 * the umask). A target that exists and is not a regular file (a device, a FIFO, a
 * directory) is refused: renaming over it would replace it. */
NB_COMPONENT_API nb_status nb_atomic_open(nb_atomic_file *out, const char *target);
/* Flush, sync, close and rename over the target, then sync the directory. On failure the
 * temporary file is removed and the message says the target was not changed. */
NB_COMPONENT_API nb_status nb_atomic_commit(nb_atomic_file *f);
/* Give up: remove the temporary file. */
NB_COMPONENT_API void nb_atomic_discard(nb_atomic_file *f);

#endif
