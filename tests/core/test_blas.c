/* nabla's matrix products (src/blas.c) against the plain loops, for every transpose,
 * ragged shapes, padded rows, alpha and beta, and 1 to 3 threads. */
#include "nb_test.h"

#include "core/core.h"

#include <stdlib.h>
#include <string.h>

typedef struct gemm_case {
    int64_t m, n, k;
} gemm_case;

/* From one element to shapes that get split over threads (the MLP's and ragged ones). */
static const gemm_case cases[] = {{1, 1, 1},    {3, 5, 7},     {64, 10, 128}, {10, 128, 64},
                                  {64, 256, 784}, {256, 300, 64}, {130, 70, 33}, {17, 1000, 40}};

static double uniform(uint64_t *state)
{
    *state = *state * 6364136223846793005ULL + 1442695040888963407ULL;
    return (double)(*state >> 11) / 9007199254740992.0 - 0.5;
}

/* Stored operands with 3 columns of padding per row, so that ld != cols is exercised. */
#define PAD 3

#define CHECK_GEMM(T, gemm, portable, tolerance)                                                     \
    do {                                                                                             \
        int64_t a_rows = ta ? c->k : c->m, a_cols = ta ? c->m : c->k;                                \
        int64_t b_rows = tb ? c->n : c->k, b_cols = tb ? c->k : c->n;                                \
        int64_t lda = a_cols + PAD, ldb = b_cols + PAD, ldc = c->n + PAD;                            \
        T *a = malloc(sizeof(T) * a_rows * lda), *b = malloc(sizeof(T) * b_rows * ldb);              \
        T *got = malloc(sizeof(T) * c->m * ldc), *want = malloc(sizeof(T) * c->m * ldc);             \
        uint64_t seed = 7;                                                                           \
        for (int64_t i = 0; i < a_rows * lda; i++)                                                   \
            a[i] = (T)uniform(&seed);                                                                \
        for (int64_t i = 0; i < b_rows * ldb; i++)                                                   \
            b[i] = (T)uniform(&seed);                                                                \
        for (int64_t i = 0; i < c->m * ldc; i++)                                                     \
            got[i] = want[i] = (T)uniform(&seed);                                                    \
        gemm(ta, tb, c->m, c->n, c->k, (T)0.75, a, lda, b, ldb, (T)0.5, got, ldc);                   \
        portable(ta, tb, c->m, c->n, c->k, (T)0.75, a, lda, b, ldb, (T)0.5, want, ldc);              \
        for (int64_t i = 0; i < c->m; i++)                                                           \
            for (int64_t j = 0; j < ldc; j++) {                                                      \
                double g = got[i * ldc + j], w = want[i * ldc + j];                                  \
                /* the padding past column n must be untouched: equal in both */                     \
                double tol = j < c->n ? (tolerance) * (1 + sqrt((double)c->k)) : 0;                  \
                if (!(fabs(g - w) <= tol))                                                           \
                    fail_msg("%s %dx%dx%d ta=%d tb=%d threads=%d: C[%d,%d] = %.9g, expected %.9g",   \
                             #gemm, (int)c->m, (int)c->n, (int)c->k, ta, tb, threads, (int)i, (int)j, \
                             g, w);                                                                  \
            }                                                                                        \
        free(a);                                                                                     \
        free(b);                                                                                     \
        free(got);                                                                                   \
        free(want);                                                                                  \
    } while (0)

static void test_against_loops(void **state)
{
    (void)state;
    for (int threads = 1; threads <= 3; threads++) {
        assert_int_equal(nb_set_threads(threads), NB_OK);
        for (size_t ci = 0; ci < sizeof cases / sizeof cases[0]; ci++) {
            const gemm_case *c = &cases[ci];
            for (int ta = 0; ta < 2; ta++)
                for (int tb = 0; tb < 2; tb++) {
                    CHECK_GEMM(double, nb_gemm_f64, nb_gemm_portable_f64, 1e-14);
                    CHECK_GEMM(float, nb_gemm_f32, nb_gemm_portable_f32, 2e-6);
                }
        }
    }
    nb_set_threads(0);
}

/* beta = 0 means C is not read: NaN or garbage there must not leak into the result. */
static void test_beta_zero_ignores_c(void **state)
{
    (void)state;
    for (int threads = 1; threads <= 2; threads++) {
        nb_set_threads(threads);
        enum { M = 96, N = 80, K = 50 };
        static float a[M * K], b[K * N], c[M * N];
        for (int i = 0; i < M * K; i++)
            a[i] = (float)(i % 7) - 3;
        for (int i = 0; i < K * N; i++)
            b[i] = (float)(i % 5) - 2;
        for (int i = 0; i < M * N; i++)
            c[i] = NAN;
        nb_gemm_f32(false, false, M, N, K, 1.0f, a, K, b, N, 0.0f, c, N);
        for (int i = 0; i < M; i++)
            for (int j = 0; j < N; j++) {
                float sum = 0; /* small integers: exact in any order */
                for (int p = 0; p < K; p++)
                    sum += a[i * K + p] * b[p * N + j];
                assert_close(c[i * N + j], sum, 0);
            }
    }
    nb_set_threads(0);
}

/* An empty sum (k = 0) or alpha = 0 leaves beta·C; m = 0 or n = 0 touches nothing. */
static void test_degenerate_shapes(void **state)
{
    (void)state;
    double c[6] = {1, 2, 3, 4, 5, 6};
    const double a[1] = {99}, b[1] = {99};
    nb_gemm_f64(false, false, 2, 3, 0, 1.0, a, 1, b, 3, 0.5, c, 3);
    for (int i = 0; i < 6; i++)
        assert_close(c[i], 0.5 * (i + 1), 0);
    double nan_c[6] = {NAN, NAN, NAN, NAN, NAN, NAN};
    nb_gemm_f64(false, false, 2, 3, 0, 1.0, a, 1, b, 3, 0.0, nan_c, 3);
    for (int i = 0; i < 6; i++)
        assert_close(nan_c[i], 0, 0);
    const double ones[6] = {1, 1, 1, 1, 1, 1};
    nb_gemm_f64(false, true, 2, 3, 2, 0.0, ones, 2, ones, 2, 2.0, c, 3);
    for (int i = 0; i < 6; i++)
        assert_close(c[i], i + 1, 0);
    float untouched[2] = {42, 43};
    nb_gemm_f32(false, false, 0, 2, 5, 1.0f, NULL, 5, NULL, 2, 0.0f, untouched, 2);
    nb_gemm_f32(false, false, 2, 0, 5, 1.0f, NULL, 5, NULL, 0, 0.0f, untouched, 0);
    assert_close(untouched[0], 42, 0);
    assert_close(untouched[1], 43, 0);
}

/* The same thread count gives the same bits, run after run. */
static void test_same_threads_same_bits(void **state)
{
    (void)state;
    enum { M = 256, N = 300, K = 64 };
    float *a = malloc(sizeof(float) * M * K), *b = malloc(sizeof(float) * K * N);
    float *first = malloc(sizeof(float) * M * N), *again = malloc(sizeof(float) * M * N);
    uint64_t seed = 3;
    for (int i = 0; i < M * K; i++)
        a[i] = (float)uniform(&seed);
    for (int i = 0; i < K * N; i++)
        b[i] = (float)uniform(&seed);
    for (int threads = 1; threads <= 2; threads++) {
        nb_set_threads(threads);
        nb_gemm_f32(true, false, M, N, K, 1.0f, a, M, b, N, 0.0f, first, N);
        for (int run = 0; run < 3; run++) {
            nb_gemm_f32(true, false, M, N, K, 1.0f, a, M, b, N, 0.0f, again, N);
            assert_memory_equal(first, again, sizeof(float) * M * N);
        }
    }
    nb_set_threads(0);
    free(a);
    free(b);
    free(first);
    free(again);
}

/* The backend says what it runs on; with AVX-512 in the CPU and OpenBLAS installed
 * (scripts/deps.sh installs it) that is OpenBLAS's AVX-512 kernels, whatever an
 * inherited OPENBLAS_CORETYPE says. */
static void test_backend_choice(void **state)
{
    (void)state;
    const char *backend = nb_blas_backend();
    assert_non_null(backend);
    assert_true(strlen(backend) > 0);
    const char *forced = getenv("NABLA_BLAS_CORETYPE");
    if (forced && *forced)
        skip();
    __builtin_cpu_init();
    if (__builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512cd") &&
        __builtin_cpu_supports("avx512dq") && __builtin_cpu_supports("avx512bw") &&
        __builtin_cpu_supports("avx512vl") && !strstr(backend, "loaded before"))
        if (!strstr(backend, "SkylakeX"))
            fail_msg("AVX-512 CPU, but the backend is: %s", backend);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_against_loops),
        cmocka_unit_test(test_beta_zero_ignores_c),
        cmocka_unit_test(test_degenerate_shapes),
        cmocka_unit_test(test_same_threads_same_bits),
        cmocka_unit_test(test_backend_choice),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
