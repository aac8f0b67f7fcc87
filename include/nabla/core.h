/* nabla core: status codes, error messages, the allocation hook, dtypes. */
#ifndef NABLA_CORE_H
#define NABLA_CORE_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

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

#ifdef __cplusplus
}
#endif

#endif
