/* Single-precision GEMM throughput for the shapes of an MLP 784-256-128-10 at batch 64
 * (forward, weight gradients, input gradients) and 1024³, through one library chosen at
 * compile time (GEMM_LIB_*), so that libraries exporting the same CBLAS symbols never
 * meet in one program. Prints one line per shape:
 *     lib threads shape m n k GFLOP/s(median) max-relative-error
 * usage: bench_gemm_LIB [threads] [samples]
 * Library options that are read from the environment (OPENBLAS_CORETYPE, BLIS_ARCH_TYPE)
 * are set by bench/gemm.sh around each run. */
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#if defined(GEMM_LIB_OPENBLAS)
#include <cblas.h>
void openblas_set_num_threads(int n);
char *openblas_get_corename(void);
#define LIB_NAME "openblas"
#elif defined(GEMM_LIB_BLIS)
#include <blis.h>
#define LIB_NAME "blis"
#elif defined(GEMM_LIB_XSMM)
#include <libxsmm.h>
#define LIB_NAME "libxsmm"
#elif defined(GEMM_LIB_NABLA)
#include "nabla.h"
#include "core/core.h"
#define LIB_NAME "nabla"
#else
#error "define one GEMM_LIB_*"
#endif

typedef struct shape {
    const char *name;
    int trans_a, trans_b;
    int m, n, k;
} shape;

/* Row-major C[m,n] = op(A)·op(B). */
static const shape shapes[] = {
    {"fwd1 X·W1t", 0, 1, 64, 256, 784},    /* [64,784]·[256,784]ᵀ */
    {"fwd2 H1·W2t", 0, 1, 64, 128, 256},   /* [64,256]·[128,256]ᵀ */
    {"fwd3 H2·W3t", 0, 1, 64, 10, 128},    /* [64,128]·[10,128]ᵀ */
    {"dW1 dY1t·X", 1, 0, 256, 784, 64},    /* [64,256]ᵀ·[64,784] */
    {"dW2 dY2t·H1", 1, 0, 128, 256, 64},   /* [64,128]ᵀ·[64,256] */
    {"dW3 dY3t·H2", 1, 0, 10, 128, 64},    /* [64,10]ᵀ·[64,128] */
    {"dH1 dY2·W2", 0, 0, 64, 256, 128},    /* [64,128]·[128,256] */
    {"dH2 dY3·W3", 0, 0, 64, 128, 10},     /* [64,10]·[10,128] */
    {"1024^3", 0, 0, 1024, 1024, 1024},
};

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

static void gemm(const shape *s, const float *a, int lda, const float *b, int ldb, float *c, int ldc)
{
#if defined(GEMM_LIB_OPENBLAS)
    cblas_sgemm(CblasRowMajor, s->trans_a ? CblasTrans : CblasNoTrans, s->trans_b ? CblasTrans : CblasNoTrans, s->m,
                s->n, s->k, 1.0f, a, lda, b, ldb, 0.0f, c, ldc);
#elif defined(GEMM_LIB_BLIS)
    /* the native API takes strides: row-major is row stride ld, column stride 1 */
    float one = 1.0f, zero = 0.0f;
    bli_sgemm(s->trans_a ? BLIS_TRANSPOSE : BLIS_NO_TRANSPOSE, s->trans_b ? BLIS_TRANSPOSE : BLIS_NO_TRANSPOSE, s->m,
              s->n, s->k, &one, (float *)a, lda, 1, (float *)b, ldb, 1, &zero, c, ldc, 1);
#elif defined(GEMM_LIB_XSMM)
    /* column-major: Cᵀ[n,m] = op(B)ᵀ · op(A)ᵀ */
    const float one = 1.0f, zero = 0.0f;
    const libxsmm_blasint m = s->n, n = s->m, k = s->k, la = ldb, lb = lda, lc = ldc;
    libxsmm_sgemm(s->trans_b ? "T" : "N", s->trans_a ? "T" : "N", &m, &n, &k, &one, b, &la, a, &lb, &zero, c, &lc);
#elif defined(GEMM_LIB_NABLA)
    nb_gemm_f32(s->trans_a, s->trans_b, s->m, s->n, s->k, 1.0f, a, lda, b, ldb, 0.0f, c, ldc);
#endif
}

static void set_threads(int threads)
{
#if defined(GEMM_LIB_OPENBLAS)
    openblas_set_num_threads(threads);
#elif defined(GEMM_LIB_BLIS)
    bli_thread_set_num_threads(threads);
#elif defined(GEMM_LIB_XSMM)
    (void)threads; /* libxsmm_sgemm runs on the calling thread */
#elif defined(GEMM_LIB_NABLA)
    nb_set_threads(threads);
#endif
}

/* What the library decided to run on, for the table. */
static const char *config(void)
{
    static char buf[64];
#if defined(GEMM_LIB_OPENBLAS)
    snprintf(buf, sizeof buf, "%s", openblas_get_corename());
#elif defined(GEMM_LIB_BLIS)
    snprintf(buf, sizeof buf, "%s", bli_arch_string(bli_arch_query_id()));
#elif defined(GEMM_LIB_XSMM)
    snprintf(buf, sizeof buf, "%s", libxsmm_get_target_arch());
#elif defined(GEMM_LIB_NABLA)
    snprintf(buf, sizeof buf, "%s", nb_blas_backend());
#endif
    return buf;
}

static float *random_matrix(size_t count, uint64_t *seed)
{
    float *m = aligned_alloc(64, (count * sizeof(float) + 63) / 64 * 64);
    for (size_t i = 0; i < count; i++) {
        *seed = *seed * 6364136223846793005ULL + 1442695040888963407ULL;
        m[i] = (float)((double)(*seed >> 40) / (double)(1 << 24) - 0.5);
    }
    return m;
}

/* Largest |C - reference| / (Σ|a||b|) over a sample of entries, in double. */
static double sampled_error(const shape *s, const float *a, int lda, const float *b, int ldb, const float *c, int ldc)
{
    double worst = 0;
    for (int t = 0; t < 97; t++) {
        int i = (int)((t * 7919L) % s->m), j = (int)((t * 104729L) % s->n);
        double sum = 0, scale = 0;
        for (int p = 0; p < s->k; p++) {
            double x = s->trans_a ? a[(size_t)p * lda + i] : a[(size_t)i * lda + p];
            double y = s->trans_b ? b[(size_t)j * ldb + p] : b[(size_t)p * ldb + j];
            sum += x * y;
            scale += fabs(x * y);
        }
        double err = fabs(c[(size_t)i * ldc + j] - sum) / (scale > 0 ? scale : 1);
        if (err > worst)
            worst = err;
    }
    return worst;
}

static int compare(const void *x, const void *y)
{
    double a = *(const double *)x, b = *(const double *)y;
    return (a > b) - (a < b);
}

int main(int argc, char **argv)
{
    int threads = argc > 1 ? atoi(argv[1]) : 1;
    int samples = argc > 2 ? atoi(argv[2]) : 7;
    if (threads < 1 || samples < 1 || samples > 101) {
        fprintf(stderr, "usage: %s [threads >= 1] [samples 1..101]\n", argv[0]);
        return 2;
    }
    set_threads(threads);
    uint64_t seed = 42;
    for (size_t si = 0; si < sizeof shapes / sizeof shapes[0]; si++) {
        const shape *s = &shapes[si];
        int a_rows = s->trans_a ? s->k : s->m, a_cols = s->trans_a ? s->m : s->k;
        int b_rows = s->trans_b ? s->n : s->k, b_cols = s->trans_b ? s->k : s->n;
        float *a = random_matrix((size_t)a_rows * a_cols, &seed);
        float *b = random_matrix((size_t)b_rows * b_cols, &seed);
        float *c = random_matrix((size_t)s->m * s->n, &seed);
        double flops = 2.0 * s->m * s->n * s->k;
        /* calls per sample: about 20 ms of work at 100 GFLOP/s, at least one */
        long calls = (long)(2e9 / flops);
        if (calls < 1)
            calls = 1;
        gemm(s, a, a_cols, b, b_cols, c, s->n); /* warm up: first-call setup, caches */
        double rate[101];
        for (int r = 0; r < samples; r++) {
            double start = now();
            for (long i = 0; i < calls; i++)
                gemm(s, a, a_cols, b, b_cols, c, s->n);
            rate[r] = flops * (double)calls / (now() - start) * 1e-9;
        }
        qsort(rate, (size_t)samples, sizeof rate[0], compare);
        double err = sampled_error(s, a, a_cols, b, b_cols, c, s->n);
        printf("%s\t%s\t%d\t%s\t%d\t%d\t%d\t%.1f\t%.1e\n", LIB_NAME, config(), threads, s->name, s->m, s->n, s->k,
               rate[samples / 2], err);
        free(a);
        free(b);
        free(c);
    }
    return 0;
}
