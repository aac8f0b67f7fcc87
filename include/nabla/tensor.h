/* nabla tensors: dtype, shape (up to 4 dims, row-major, contiguous), storage, and the
 * seeded random generator. */
#ifndef NABLA_TENSOR_H
#define NABLA_TENSOR_H

#include "nabla/core.h"

#include <stdbool.h>

#ifdef __cplusplus
extern "C" {
#endif

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

/* Element access through double, whatever the dtype (flat, row-major index). */
double nb_tensor_get(const nb_tensor *t, int64_t index);
void nb_tensor_set(nb_tensor *t, int64_t index, double value);
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

#ifdef __cplusplus
}
#endif

#endif
