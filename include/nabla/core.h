/* nabla core: status codes and messages, the allocation hook, dtypes, threads, tensors, the
 * seeded generator, progress lines. No dependency beyond libc, libm and pthreads. */
#ifndef NABLA_CORE_H
#define NABLA_CORE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#ifdef __cplusplus
extern "C" {
#endif

/* Everything declared here is the public API: exported even though the library is built
 * with hidden visibility. */
#if defined(__GNUC__)
#pragma GCC visibility push(default)
#endif

/* ====================================================================================== */
/* nabla core: status codes, error messages, the allocation hook, dtypes. */

/* Every fallible call returns one of these (0 is success) and, on failure, leaves a
 * message naming the problem in nb_errmsg(). The library never prints or exits. */
typedef enum nb_status {
    NB_OK = 0,
    NB_EARG,     /* a bad argument: NULL, out of range, unknown name */
    NB_ESHAPE,   /* shapes that do not fit together */
    NB_EDTYPE,   /* mixed or unsupported dtypes */
    NB_ENOMEM,   /* the allocator returned NULL */
    NB_EIO,      /* a file could not be opened, read or written */
    NB_EPARSE,   /* text (CSV, formula, JSON) that does not parse */
    NB_EFORMAT,  /* a file that parses but is not what it claims to be */
    NB_ENUMERIC, /* NaN, infinity, a singular system, divergence */
    NB_ESTATE    /* a call out of order (e.g. backward before forward) */
} nb_status;

/* The message of the last failure on this thread ("" when none). */
const char *nb_errmsg(void);
/* The status of the last failure on this thread (NB_OK when none). */
nb_status nb_errcode(void);
/* Forget the last failure. */
void nb_clear_error(void);
/* Record a failure and return its status (`return nb_fail(NB_EARG, "...", ...);`): for
 * the library, and for callbacks (closures, data sources) that report in its way. */
nb_status nb_fail(nb_status status, const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 2, 3)))
#endif
    ;
/* Put context in front of the current message ("model.safetensors: ..."). */
void nb_error_prefix(const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 1, 2)))
#endif
    ;
/* A short name for a status ("shape mismatch", ...). */
const char *nb_status_name(nb_status status);

/* All heap memory the library uses goes through this hook, so that an embedded user
 * can supply a pool, and tests can count allocations or make one fail. */
typedef struct nb_allocator {
    void *(*alloc)(size_t size, void *ctx);
    void *(*realloc)(void *ptr, size_t size, void *ctx);
    void (*free)(void *ptr, void *ctx);
    void *ctx;
} nb_allocator;

/* Install an allocator (NULL restores malloc/realloc/free). Not thread-safe: call it
 * before any other nabla call. */
void nb_set_allocator(const nb_allocator *allocator);

typedef enum nb_dtype { NB_F32 = 0, NB_F64 = 1 } nb_dtype;

/* Bytes per element of a dtype, and its name ("f32", "f64"). */
size_t nb_dtype_size(nb_dtype dtype);
const char *nb_dtype_name(nb_dtype dtype);

#define NB_MAX_DIMS 4

/* ====================================================================================== */
/* nabla threads: how many cores the library's own loops and its matrix products use.
 *
 * nabla runs every parallel piece of work (elementwise passes over large tensors and
 * the matrix products, which it splits into blocks) on one pool of its own threads; the
 * BLAS library itself always runs single-threaded inside them. So there is one thread
 * count, and the two never compete for the cores. A job is cut into pieces fixed by the
 * thread count alone, so the same thread count gives the same numbers, run after run. */

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

/* ====================================================================================== */
/* nabla tensors: dtype, shape (up to 4 dims, row-major, contiguous), storage, and the
 * seeded random generator. */

/* ---- random numbers: xoshiro256**, seeded through splitmix64 ------------------------
 * Same seed, same stream, on every machine. */
typedef struct nb_rng {
    uint64_t state[4];
    double spare_normal; /* Box-Muller makes two normals at a time */
    bool has_spare;
} nb_rng;

void nb_rng_seed(nb_rng *rng, uint64_t seed);
uint64_t nb_rng_next(nb_rng *rng);
/* Uniform in [0, 1) with 53 random bits. */
double nb_rng_uniform(nb_rng *rng);
/* Standard normal. */
double nb_rng_normal(nb_rng *rng);
/* Uniform integer in [0, n), without modulo bias. n > 0. */
uint64_t nb_rng_below(nb_rng *rng, uint64_t n);
/* Fisher-Yates shuffle of an index array. */
void nb_rng_shuffle(nb_rng *rng, int64_t *index, int64_t n);

/* ---- tensors ---------------------------------------------------------------------- */
typedef struct nb_tensor {
    nb_dtype dtype;
    int ndim;                    /* 0 for a scalar */
    int64_t shape[NB_MAX_DIMS];
    int64_t size;                /* product of shape; 1 for a scalar */
    void *data;                  /* size elements of dtype, row-major */
    bool owns_data;              /* freed by nb_tensor_free */
} nb_tensor;

/* Creation. All return NULL on failure (see nb_errmsg()). shape may be NULL when
 * ndim == 0. */
nb_tensor *nb_tensor_zeros(nb_dtype dtype, int ndim, const int64_t *shape);
nb_tensor *nb_tensor_ones(nb_dtype dtype, int ndim, const int64_t *shape);
nb_tensor *nb_tensor_full(nb_dtype dtype, int ndim, const int64_t *shape, double value);
/* Copies `values` (size doubles) into a new tensor of the given dtype. */
nb_tensor *nb_tensor_from(nb_dtype dtype, int ndim, const int64_t *shape, const double *values);
/* Copies raw data already in `dtype` (size elements). */
nb_tensor *nb_tensor_from_data(nb_dtype dtype, int ndim, const int64_t *shape, const void *data);
/* A view on caller memory: nb_tensor_free frees the struct, not the data. */
nb_tensor *nb_tensor_wrap(nb_dtype dtype, int ndim, const int64_t *shape, void *data);
/* 1-D: start, start+step, ... (< stop). */
nb_tensor *nb_tensor_arange(nb_dtype dtype, double start, double stop, double step);
/* 1-D: n points from start to stop inclusive. */
nb_tensor *nb_tensor_linspace(nb_dtype dtype, double start, double stop, int64_t n);
nb_tensor *nb_tensor_uniform(nb_dtype dtype, int ndim, const int64_t *shape, nb_rng *rng, double low, double high);
nb_tensor *nb_tensor_normal(nb_dtype dtype, int ndim, const int64_t *shape, nb_rng *rng, double mean, double std);
nb_tensor *nb_tensor_clone(const nb_tensor *t);
void nb_tensor_free(nb_tensor *t);

/* Element access through double, whatever the dtype (flat, row-major index). An index
 * outside 0 .. size-1 (or a NULL tensor) is refused with NB_EARG: get returns NaN then. */
double nb_tensor_get(const nb_tensor *t, int64_t index);
nb_status nb_tensor_set(nb_tensor *t, int64_t index, double value);
/* Copy all elements out as doubles / in from doubles (size elements). */
void nb_tensor_to_doubles(const nb_tensor *t, double *out);
void nb_tensor_from_doubles(nb_tensor *t, const double *values);
/* Fill from a generator. */
void nb_tensor_fill(nb_tensor *t, double value);
void nb_tensor_fill_uniform(nb_tensor *t, nb_rng *rng, double low, double high);
void nb_tensor_fill_normal(nb_tensor *t, nb_rng *rng, double mean, double std);

/* Typed views of the data (NULL when the dtype differs). */
float *nb_tensor_f32(const nb_tensor *t);
double *nb_tensor_f64(const nb_tensor *t);

/* Product of a shape; -1 on overflow or a negative dimension. */
int64_t nb_shape_size(int ndim, const int64_t *shape);
bool nb_shape_equal(int ndim_a, const int64_t *a, int ndim_b, const int64_t *b);

/* ====================================================================================== */
/* nabla progress: a live progress line for training and fitting loops, and a small
 * Unicode chart of a series (the loss per epoch) for the end of a run.
 *
 *     nb_progress *bar = nb_progress_new(stderr, "training", epochs * batches, "batch");
 *     for (int epoch = 1; epoch <= epochs; epoch++) {
 *         for (int b = 0; b < batches; b++) {
 *             ...;
 *             nb_progress_update(bar, (int64_t)(epoch - 1) * batches + b + 1, loss);
 *         }
 *         nb_progress_note(bar, "epoch %d  loss %.4f  accuracy %.3f", epoch, loss, accuracy);
 *     }
 *     nb_progress_finish(bar);
 *     nb_progress_free(bar);
 *     nb_text_chart(stderr, history, epochs, &(nb_text_chart_opts){.title = "loss", .log_y = true});
 *
 * On a terminal (isatty, TERM not "dumb") the progress line is redrawn in place with
 * '\r' at most ten times a second: label, percentage, a bar, count, rate, ETA, loss.
 * Anywhere else (a pipe, a log file) it writes plain lines with no control characters:
 * the notes, a status line at most every 30 s, and a summary at the end. Updates are
 * cheap enough for the innermost loop: most return after one comparison, and the clock
 * is read only a few hundred times a second.
 *
 * The functions write only to the stream the caller gave, never elsewhere; write errors
 * on that stream are ignored (a progress line is not worth failing a run for). A NULL
 * progress is accepted and ignored by every function, so `quiet ? NULL : nb_progress_new(...)`
 * needs no other test. Not thread-safe: update from one thread. */

typedef struct nb_progress nb_progress;

/* A progress line on `stream` for a loop of `total` steps (0 when unknown: no bar, no
 * ETA). label and unit (e.g. "training", "batch") are copied; unit may be NULL ("it").
 * NULL on a NULL stream, a negative total or no memory (see nb_errmsg()). */
nb_progress *nb_progress_new(FILE *stream, const char *label, int64_t total, const char *unit);

/* `done` steps of the total are complete; `loss` is shown beside them (NAN: none). */
void nb_progress_update(nb_progress *progress, int64_t done, double loss);

/* A line of its own (e.g. one per epoch), printed above the live line on a terminal. */
void nb_progress_note(nb_progress *progress, const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 2, 3)))
#endif
    ;

/* The final state, with the time taken in place of the ETA: on a terminal the line is
 * drawn once more and ended; elsewhere a summary line ("training: 938/938 · 447 batch/s
 * · 2.1 s · loss 0.3312"). Further updates are ignored. */
void nb_progress_finish(nb_progress *progress);

/* Frees the progress (finishing it first if needed). */
void nb_progress_free(nb_progress *progress);

/* Whether the progress draws a live line (the stream is a terminal). */
bool nb_progress_is_live(const nb_progress *progress);

/* ---- a chart in text ----------------------------------------------------------------- */

typedef struct nb_text_chart_opts {
    const char *title;      /* a line above the chart; NULL for none */
    int width;              /* columns of the plot; 0: 60, or one per value up to 100 (less
                               on a narrower terminal) */
    int height;             /* rows; 0: 6 */
    bool log_y;             /* log scale; non-positive values are then skipped */
    double x_first, x_last; /* x of the first and last value, for the axis; both 0: 1 and n */
} nb_text_chart_opts;

/* Draw n values as a filled chart of block characters (▁▂▃▄▅▆▇█): the top row is
 * labelled with the largest value, the bottom row with the smallest, the axis below with
 * the first and last x. More values than columns are averaged into columns; fewer are
 * widened. Non-finite values leave their column empty. opts may be NULL. Plain UTF-8
 * text, no control characters. NB_EARG for a NULL stream or values or n == 0,
 * NB_ENUMERIC when no value can be drawn, NB_EIO when the stream fails. */
nb_status nb_text_chart(FILE *stream, const double *values, size_t n, const nb_text_chart_opts *opts);

#if defined(__GNUC__)
#pragma GCC visibility pop
#endif

#ifdef __cplusplus
}
#endif

#endif
