/* Private: nabla's matrix products. Row-major C[m,n] = alpha·op(A)·op(B) + beta·C, with
 * op(A) = A [m,k] or Aᵀ (A stored [k,m]) and op(B) = B [k,n] or Bᵀ (B stored [n,k]);
 * lda, ldb, ldc are row strides in elements. As in BLAS, C is not read when beta is 0.
 *
 * The work runs on a BLAS library loaded at first use (see blas.c for which one and
 * why), split into blocks of C over nb_get_threads() threads (src/parallel.c) when large
 * enough; without a BLAS library, on a portable C loop. Never fails. */
#ifndef NABLA_BLAS_H
#define NABLA_BLAS_H

#include "internal.h"

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

#endif
