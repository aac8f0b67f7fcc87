/* Private helpers shared by the library's files. Not installed, not public. */
#ifndef NABLA_INTERNAL_H
#define NABLA_INTERNAL_H

#include "nabla.h"

#include <stdarg.h>
#include <stdbool.h>

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
 * sums). Measured: the SGD step over 235,146 parameters, 67 µs with SSE2, 46 µs with
 * AVX-512. */
#if defined(__GNUC__) && !defined(__clang__) && defined(__x86_64__) && defined(__linux__)
#define NB_VECTOR_CLONES __attribute__((target_clones("avx512f", "avx2", "default")))
#else
#define NB_VECTOR_CLONES
#endif

/* Kernels written once for float and double: a file defines T (the element type) and
 * SFX (f32 or f64) and expands its kernels once per type; NB_KERNEL(sum_fwd) names the
 * instance, sum_fwd_f32 or sum_fwd_f64. */
#define NB_CAT_(a, b) a##b
#define NB_CAT(a, b) NB_CAT_(a, b)
#define NB_KERNEL(name) NB_CAT(name##_, SFX)

/* The allocation hook. nb_alloc_or_fail() also records an NB_ENOMEM message naming
 * `what`. Sizes are checked for overflow by nb_alloc_array(). */
void *nb_alloc(size_t size);
void *nb_calloc(size_t count, size_t size);
void *nb_realloc(void *ptr, size_t size);
void nb_free(void *ptr);
void *nb_alloc_or_fail(size_t size, const char *what);
char *nb_strdup(const char *text);

/* "[2, 3]" into buf; returns buf. */
char *nb_shape_str(int ndim, const int64_t *shape, char *buf, size_t buf_size);

#endif
