/* Matrix products on the fastest correct kernels this machine has.
 *
 * OpenBLAS, loaded by hand: it is the fastest of the libraries Debian packages for the
 * products of a small MLP, but it picks its kernels once, when it is loaded, from a list
 * of CPU models it knows, and on CPUs newer than itself it falls back to much slower
 * ones. Its only override is the OPENBLAS_CORETYPE variable, read at load time. So nabla
 * does not link OpenBLAS; it loads it at the first product, after setting
 * OPENBLAS_CORETYPE from what the CPU itself reports (cpuid, through
 * __builtin_cpu_supports): SkylakeX kernels where the CPU and the OS support the AVX-512
 * F/CD/DQ/BW/VL instructions they use, Haswell kernels where it has AVX2 and FMA,
 * OpenBLAS's own choice otherwise. This overrides an inherited OPENBLAS_CORETYPE
 * (machines set one to work around the misdetection); the variable NABLA_BLAS_CORETYPE
 * overrides nabla ("auto": leave it to OpenBLAS). The environment is put back as it was
 * once the library is loaded.
 *
 * Threads: OpenBLAS runs single-threaded; nabla splits a large product into blocks of
 * C run on its own pool (parallel.c). OpenBLAS's threads would spin beside nabla's
 * and fight them for the cores, and a split fixed by the thread count keeps every sum in
 * the same order run after run. Small products (the 10-output layer of an MLP) are not
 * split.
 *
 * Without any loadable BLAS, plain C loops do the work: slow, never wrong.
 * The measurements behind these choices: docs/design.md. */
#include "core/core.h"


#include <dlfcn.h>
#include <limits.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* CBLAS constants (fixed by the CBLAS standard). */
enum { CBLAS_ROW_MAJOR = 101, CBLAS_NO_TRANS = 111, CBLAS_TRANS = 112 };

typedef void (*sgemm_fn)(int order, int trans_a, int trans_b, int m, int n, int k, float alpha, const float *a,
                         int lda, const float *b, int ldb, float beta, float *c, int ldc);
typedef void (*dgemm_fn)(int order, int trans_a, int trans_b, int m, int n, int k, double alpha, const double *a,
                         int lda, const double *b, int ldb, double beta, double *c, int ldc);

static struct {
    sgemm_fn sgemm; /* NULL: the portable loops */
    dgemm_fn dgemm;
    char description[192];
} blas;

static pthread_once_t blas_once = PTHREAD_ONCE_INIT;

/* A product is split only when every thread gets at least this many multiply-adds:
 * enough work to pay for waking and joining a thread (docs/design.md). */
#define GEMM_GRAIN (1 << 18)
/* Blocks of C are cut at multiples of this many rows or columns (a vector register of
 * floats, so that no thread gets a ragged edge in the middle of C). */
#define GEMM_BLOCK 16

/* ---- portable loops ------------------------------------------------------------------ */

/* C[m,n] = alpha·op(A)[m,k]·op(B)[k,n] + beta·C, one row of C at a time: with B as stored
 * the inner loop runs along a row of B, with Bᵀ it is a dot product along rows of both. */
#define PORTABLE_GEMM(T, name)                                                                       \
    void name(bool trans_a, bool trans_b, int64_t m, int64_t n, int64_t k, T alpha, const T *a,       \
              int64_t lda, const T *b, int64_t ldb, T beta, T *c, int64_t ldc)                        \
    {                                                                                                \
        for (int64_t i = 0; i < m; i++) {                                                            \
            T *row = c + i * ldc;                                                                    \
            for (int64_t j = 0; j < n; j++)                                                          \
                row[j] = beta == 0 ? 0 : beta * row[j];                                              \
            if (alpha == 0)                                                                          \
                continue;                                                                            \
            if (!trans_b) {                                                                          \
                for (int64_t p = 0; p < k; p++) {                                                    \
                    T scaled = alpha * (trans_a ? a[p * lda + i] : a[i * lda + p]);                  \
                    const T *b_row = b + p * ldb;                                                    \
                    for (int64_t j = 0; j < n; j++)                                                  \
                        row[j] += scaled * b_row[j];                                                 \
                }                                                                                    \
            } else {                                                                                 \
                for (int64_t j = 0; j < n; j++) {                                                    \
                    const T *b_row = b + j * ldb;                                                    \
                    T sum = 0;                                                                       \
                    for (int64_t p = 0; p < k; p++)                                                  \
                        sum += (trans_a ? a[p * lda + i] : a[i * lda + p]) * b_row[p];               \
                    row[j] += alpha * sum;                                                           \
                }                                                                                    \
            }                                                                                        \
        }                                                                                            \
    }

PORTABLE_GEMM(float, nb_gemm_portable_f32)
PORTABLE_GEMM(double, nb_gemm_portable_f64)

/* ---- loading the library --------------------------------------------------------------- */

/* The OpenBLAS core type whose kernels this CPU runs, or NULL to let OpenBLAS decide. */
static const char *core_type_for_cpu(const char **why)
{
    __builtin_cpu_init();
    if (__builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512cd") &&
        __builtin_cpu_supports("avx512dq") && __builtin_cpu_supports("avx512bw") &&
        __builtin_cpu_supports("avx512vl")) {
        *why = "set by nabla: the CPU has AVX-512";
        return "SkylakeX";
    }
    if (__builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma")) {
        *why = "set by nabla: the CPU has AVX2 and FMA";
        return "Haswell";
    }
    return NULL;
}

/* The library must agree with the portable loops on a small product with both
 * transposes before it is trusted with the real ones. */
static bool library_agrees(void)
{
    const float a[6] = {1, 2, 3, 4, 5, 6}, b[6] = {0.5f, -1, 2, 0.25f, -3, 1};
    float got[4] = {7, 7, 7, 7}, want[4] = {7, 7, 7, 7};
    blas.sgemm(CBLAS_ROW_MAJOR, CBLAS_TRANS, CBLAS_NO_TRANS, 2, 2, 3, 1.5f, a, 2, b, 2, 0.5f, got, 2);
    nb_gemm_portable_f32(true, false, 2, 2, 3, 1.5f, a, 2, b, 2, 0.5f, want, 2);
    const double x[6] = {1, -2, 3, 0.5, 5, 6}, y[6] = {2, 1, -1, 0.5, 3, 4};
    double got64[4] = {0}, want64[4] = {0};
    blas.dgemm(CBLAS_ROW_MAJOR, CBLAS_NO_TRANS, CBLAS_TRANS, 2, 2, 3, 1.0, x, 3, y, 3, 0.0, got64, 2);
    nb_gemm_portable_f64(false, true, 2, 2, 3, 1.0, x, 3, y, 3, 0.0, want64, 2);
    for (int i = 0; i < 4; i++)
        if (got[i] != want[i] || got64[i] != want64[i])
            return false;
    return true;
}

/* An environment variable set for the library's load, and what it was before. */
typedef struct env_change {
    const char *name;
    char *old_value; /* NULL: it was not set */
    bool changed;
} env_change;

static void env_set(env_change *change, const char *name, const char *value, bool overwrite)
{
    const char *old = getenv(name);
    change->name = name;
    change->old_value = NULL;
    change->changed = false;
    if (!value || (old && (!overwrite || strcmp(old, value) == 0)))
        return;
    if (old && !(change->old_value = nb_strdup(old)))
        return; /* could not remember it: leave it alone */
    change->changed = setenv(name, value, 1) == 0;
}

static void env_restore(env_change *change)
{
    if (!change->changed)
        return;
    if (change->old_value)
        setenv(change->name, change->old_value, 1);
    else
        unsetenv(change->name);
    nb_free(change->old_value);
}

/* The core type to load OpenBLAS with (NULL: OpenBLAS's own choice) and why. nabla's
 * own variable wins; then the CPU's features, over an inherited OPENBLAS_CORETYPE (which
 * is usually there to work around the misdetection nabla avoids). */
static const char *choose_core_type(const char **why)
{
    const char *forced = getenv("NABLA_BLAS_CORETYPE");
    if (forced && *forced) {
        *why = "NABLA_BLAS_CORETYPE";
        return strcmp(forced, "auto") == 0 ? NULL : forced;
    }
    return core_type_for_cpu(why);
}

/* dlopen the library `name` with OPENBLAS_CORETYPE set to core_type for its load and
 * OPENBLAS_NUM_THREADS to 1 (nabla does the threading: OpenBLAS need not start a pool of
 * its own). A library already loaded (something else linked it) is used as it is: its
 * kernels are chosen already, and *preloaded says so. NULL when it cannot be loaded. */
static void *open_library(const char *name, const char *core_type, bool *preloaded)
{
    void *handle = dlopen(name, RTLD_NOW | RTLD_LOCAL | RTLD_NOLOAD);
    *preloaded = handle != NULL;
    if (handle)
        return handle;
    env_change core, threads;
    env_set(&core, "OPENBLAS_CORETYPE", core_type, true);
    env_set(&threads, "OPENBLAS_NUM_THREADS", "1", false);
    handle = dlopen(name, RTLD_NOW | RTLD_LOCAL);
    env_restore(&core);
    env_restore(&threads);
    return handle;
}

/* Take the library's products when it has them and they agree with the portable loops;
 * else let it go. */
static bool use_library(void *handle, bool preloaded)
{
    blas.sgemm = (sgemm_fn)dlsym(handle, "cblas_sgemm");
    blas.dgemm = (dgemm_fn)dlsym(handle, "cblas_dgemm");
    if (blas.sgemm && blas.dgemm && library_agrees())
        return true;
    blas.sgemm = NULL;
    blas.dgemm = NULL;
    if (!preloaded)
        dlclose(handle);
    return false;
}

/* Run OpenBLAS single-threaded, and say which library and kernels do the products. */
static void describe_library(void *handle, const char *name, bool preloaded, const char *why)
{
    void (*set_num_threads)(int) = (void (*)(int))dlsym(handle, "openblas_set_num_threads");
    char *(*core_name)(void) = (char *(*)(void))dlsym(handle, "openblas_get_corename");
    char *(*config)(void) = (char *(*)(void))dlsym(handle, "openblas_get_config");
    if (set_num_threads)
        set_num_threads(1);
    if (!core_name) {
        snprintf(blas.description, sizeof blas.description, "%s (not OpenBLAS; its own kernel choice)", name);
        return;
    }
    /* "OpenBLAS 0.3.21 NO_LAPACKE DYNAMIC_ARCH ...": keep the version */
    char version[48] = "";
    if (config)
        sscanf(config(), "%*s %40s", version);
    snprintf(blas.description, sizeof blas.description, "OpenBLAS %s %s (%s)", version, core_name(),
             preloaded ? "loaded before nabla could choose its kernels" : why);
}

static void load_blas(void)
{
    /* libopenblas.so.0 is OpenBLAS itself; libblas.so.3 is whatever BLAS the system
     * prefers (it exports the same cblas_ functions). */
    static const char *const names[] = {"libopenblas.so.0", "libopenblas.so", "libblas.so.3"};
    const char *why = "chosen by OpenBLAS";
    const char *core_type = choose_core_type(&why);
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++) {
        bool preloaded;
        void *handle = open_library(names[i], core_type, &preloaded);
        if (handle && use_library(handle, preloaded)) {
            describe_library(handle, names[i], preloaded, why);
            return;
        }
    }
    snprintf(blas.description, sizeof blas.description, "portable C (no BLAS library could be loaded)");
}

const char *nb_blas_backend(void)
{
    pthread_once(&blas_once, load_blas);
    return blas.description;
}

/* ---- the products ------------------------------------------------------------------- */

/* Everything through the library's 32-bit interface must fit an int. */
static bool fits_int(int64_t m, int64_t n, int64_t k, int64_t lda, int64_t ldb, int64_t ldc)
{
    return m <= INT_MAX && n <= INT_MAX && k <= INT_MAX && lda <= INT_MAX && ldb <= INT_MAX && ldc <= INT_MAX;
}

/* C = beta·C over [m, n] (an empty sum: k == 0 or alpha == 0). */
#define SCALE_ONLY(T)                                                                                \
    for (int64_t i = 0; i < m; i++)                                                                  \
        for (int64_t j = 0; j < n; j++)                                                              \
            c[i * ldc + j] = beta == 0 ? (T)0 : beta * c[i * ldc + j];

/* A product and how it is cut: chunk t of `parts` covers rows (or columns) [from, to)
 * of C, whole GEMM_BLOCK strips each. A block of rows of C needs the same rows of op(A)
 * and all of op(B); a block of columns the same columns of op(B). */
typedef struct gemm_job {
    bool f64, trans_a, trans_b, split_rows;
    int parts;
    int64_t m, n, k, lda, ldb, ldc, strips;
    double alpha, beta;
    const void *a, *b;
    void *c;
} gemm_job;

/* One block on one thread, through the library or the portable loops. */
#define GEMM_BLOCK_CALL(T, lib, portable)                                                            \
    do {                                                                                             \
        const T *a = (const T *)job->a + a_offset, *b = (const T *)job->b + b_offset;                \
        T *c = (T *)job->c + c_offset;                                                               \
        T alpha = (T)job->alpha, beta = (T)job->beta;                                                \
        if (blas.lib && fits_int(bm, bn, job->k, job->lda, job->ldb, job->ldc))                      \
            blas.lib(CBLAS_ROW_MAJOR, job->trans_a ? CBLAS_TRANS : CBLAS_NO_TRANS,                   \
                     job->trans_b ? CBLAS_TRANS : CBLAS_NO_TRANS, (int)bm, (int)bn, (int)job->k, alpha,  \
                     a, (int)job->lda, b, (int)job->ldb, beta, c, (int)job->ldc);                    \
        else                                                                                         \
            portable(job->trans_a, job->trans_b, bm, bn, job->k, alpha, a, job->lda, b, job->ldb, beta, \
                     c, job->ldc);                                                                   \
    } while (0)

static void gemm_chunk(void *ctx, int part)
{
    const gemm_job *job = ctx;
    int64_t bm = job->m, bn = job->n, a_offset = 0, b_offset = 0, c_offset = 0;
    if (job->parts > 1) {
        int64_t extent = job->split_rows ? job->m : job->n;
        int64_t from = job->strips * part / job->parts * GEMM_BLOCK;
        int64_t to = job->strips * (part + 1) / job->parts * GEMM_BLOCK;
        if (to > extent)
            to = extent;
        if (to <= from)
            return;
        if (job->split_rows) {
            bm = to - from;
            a_offset = job->trans_a ? from : from * job->lda;
            c_offset = from * job->ldc;
        } else {
            bn = to - from;
            b_offset = job->trans_b ? from * job->ldb : from;
            c_offset = from;
        }
    }
    if (job->f64)
        GEMM_BLOCK_CALL(double, dgemm, nb_gemm_portable_f64);
    else
        GEMM_BLOCK_CALL(float, sgemm, nb_gemm_portable_f32);
}

/* C = beta·C over [m, n] (an empty sum: k == 0 or alpha == 0). */
#define SCALE_ONLY(T)                                                                                \
    for (int64_t i = 0; i < m; i++)                                                                  \
        for (int64_t j = 0; j < n; j++)                                                              \
            c[i * ldc + j] = beta == 0 ? (T)0 : beta * c[i * ldc + j];

static void gemm_run(gemm_job *job)
{
    pthread_once(&blas_once, load_blas);
    int threads = nb_threads_for(job->m * job->n * job->k, GEMM_GRAIN);
    /* strips of rows when each thread gets 64 or more, else of columns: the faster cut
     * in bench/gemm.sh (docs/design.md) */
    job->split_rows = job->m >= 64 * (int64_t)threads;
    job->strips = ((job->split_rows ? job->m : job->n) + GEMM_BLOCK - 1) / GEMM_BLOCK;
    job->parts = threads < job->strips ? threads : (int)job->strips;
    if (job->parts <= 1) { /* small products: straight to the library */
        job->parts = 1;
        gemm_chunk(job, 0);
    } else {
        nb_parallel_chunks(job->parts, gemm_chunk, job);
    }
}

void nb_gemm_f32(bool trans_a, bool trans_b, int64_t m, int64_t n, int64_t k, float alpha, const float *a,
                 int64_t lda, const float *b, int64_t ldb, float beta, float *c, int64_t ldc)
{
    if (m <= 0 || n <= 0)
        return;
    if (k <= 0 || alpha == 0) {
        SCALE_ONLY(float)
        return;
    }
    gemm_job job = {.f64 = false, .trans_a = trans_a, .trans_b = trans_b, .m = m, .n = n, .k = k, .lda = lda,
                    .ldb = ldb, .ldc = ldc, .alpha = alpha, .beta = beta, .a = a, .b = b, .c = c};
    gemm_run(&job);
}

void nb_gemm_f64(bool trans_a, bool trans_b, int64_t m, int64_t n, int64_t k, double alpha, const double *a,
                 int64_t lda, const double *b, int64_t ldb, double beta, double *c, int64_t ldc)
{
    if (m <= 0 || n <= 0)
        return;
    if (k <= 0 || alpha == 0) {
        SCALE_ONLY(double)
        return;
    }
    gemm_job job = {.f64 = true, .trans_a = trans_a, .trans_b = trans_b, .m = m, .n = n, .k = k, .lda = lda,
                    .ldb = ldb, .ldc = ldc, .alpha = alpha, .beta = beta, .a = a, .b = b, .c = c};
    gemm_run(&job);
}
