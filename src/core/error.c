/* Thread-local error state and the allocation hook. */
#include "core/core.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <malloc.h>
#include <sys/mman.h>

#define NB_ERRMSG_SIZE 1024

static _Thread_local char errmsg[NB_ERRMSG_SIZE];
static _Thread_local nb_status errcode = NB_OK;
/* The last failure is a builder's, which returned NULL: a call handed that NULL keeps its
 * message. Any other failure clears it, so that a NULL never reports an unrelated one. */
static _Thread_local bool builder_failed;

const char *nb_errmsg(void) { return errmsg; }
nb_status nb_errcode(void) { return errcode; }

void nb_clear_error(void)
{
    errmsg[0] = '\0';
    errcode = NB_OK;
    builder_failed = false;
}

void *nb_builder_failed(void)
{
    builder_failed = errcode != NB_OK;
    return NULL;
}

nb_status nb_fail_null(const char *fn, const char *what)
{
    if (builder_failed && errcode != NB_OK)
        return errcode;
    return nb_fail(NB_EARG, "%s: %s is NULL", fn, what);
}

nb_status nb_fail(nb_status status, const char *fmt, ...)
{
    va_list args;
    va_start(args, fmt);
    vsnprintf(errmsg, sizeof errmsg, fmt, args);
    va_end(args);
    errcode = status;
    builder_failed = false;
    return status;
}

void nb_error_prefix(const char *fmt, ...)
{
    char old[NB_ERRMSG_SIZE];
    memcpy(old, errmsg, sizeof old);
    va_list args;
    va_start(args, fmt);
    int used = vsnprintf(errmsg, sizeof errmsg, fmt, args);
    va_end(args);
    if (used >= 0 && (size_t)used < sizeof errmsg)
        snprintf(errmsg + used, sizeof errmsg - (size_t)used, ": %.*s", (int)(sizeof errmsg - (size_t)used),
                 old);
}

const char *nb_status_name(nb_status status)
{
    switch (status) {
    case NB_OK: return "ok";
    case NB_EARG: return "bad argument";
    case NB_ESHAPE: return "shape mismatch";
    case NB_EDTYPE: return "dtype mismatch";
    case NB_ENOMEM: return "out of memory";
    case NB_EIO: return "I/O error";
    case NB_EPARSE: return "parse error";
    case NB_EFORMAT: return "bad file format";
    case NB_ENUMERIC: return "numerical failure";
    case NB_ESTATE: return "call out of order";
    }
    return "unknown status";
}

size_t nb_dtype_size(nb_dtype dtype) { return dtype == NB_F64 ? sizeof(double) : sizeof(float); }
const char *nb_dtype_name(nb_dtype dtype) { return dtype == NB_F64 ? "f64" : "f32"; }

/* ---- allocation hook ---------------------------------------------------------- */

/* Large arrays (a table's columns, a network's activations) are placed on 2 MiB
 * boundaries and asked for in huge pages, which Linux's transparent huge pages give on
 * request ("madvise" mode): filling one then costs a page fault per 2 MiB, not per
 * 4 KiB. Where faults are dear (virtual machines) they were most of the time spent
 * reading a large table. The hint may be refused; nothing depends on it. */
#define HUGE_PAGE ((size_t)2 << 20)

static bool is_large(size_t size) { return size >= HUGE_PAGE && size <= SIZE_MAX - HUGE_PAGE; }

static void *large_alloc(size_t size)
{
    size_t rounded = (size + HUGE_PAGE - 1) & ~(HUGE_PAGE - 1);
    void *ptr = aligned_alloc(HUGE_PAGE, rounded);
#ifdef MADV_HUGEPAGE
    /* Only the whole huge pages: the tail stays in small pages, so that a block just
     * past a multiple of 2 MiB does not take a huge page more than it uses. */
    if (ptr)
        (void)madvise(ptr, size & ~(HUGE_PAGE - 1), MADV_HUGEPAGE);
#endif
    return ptr;
}

static void *default_alloc(size_t size, void *ctx)
{
    (void)ctx;
    return is_large(size) ? large_alloc(size) : malloc(size);
}

/* Growing into a large array moves it to a huge-page block; anything else is realloc's. */
static void *default_realloc(void *ptr, size_t size, void *ctx)
{
    (void)ctx;
    size_t old = ptr ? malloc_usable_size(ptr) : 0;
    if (!is_large(size) || size <= old)
        return realloc(ptr, size);
    void *grown = large_alloc(size);
    if (grown && ptr) {
        memcpy(grown, ptr, old); /* old < size here; it may count some slack past the data */
        free(ptr);
    }
    return grown;
}

static void default_free(void *ptr, void *ctx) { (void)ctx; free(ptr); }

static nb_allocator allocator = {default_alloc, default_realloc, default_free, NULL};

void nb_set_allocator(const nb_allocator *a)
{
    if (a)
        allocator = *a;
    else
        allocator = (nb_allocator){default_alloc, default_realloc, default_free, NULL};
}

void *nb_alloc(size_t size) { return allocator.alloc(size ? size : 1, allocator.ctx); }

void *nb_calloc(size_t count, size_t size)
{
    if (size && count > SIZE_MAX / size)
        return NULL;
    void *ptr = nb_alloc(count * size);
    if (ptr)
        memset(ptr, 0, count * size);
    return ptr;
}

void *nb_realloc(void *ptr, size_t size) { return allocator.realloc(ptr, size ? size : 1, allocator.ctx); }

void nb_free(void *ptr)
{
    if (ptr)
        allocator.free(ptr, allocator.ctx);
}

void *nb_alloc_or_fail(size_t size, const char *what)
{
    void *ptr = nb_alloc(size);
    if (!ptr)
        nb_fail(NB_ENOMEM, "out of memory allocating %zu bytes for %s", size, what);
    return ptr;
}

char *nb_strdup(const char *text)
{
    size_t len = strlen(text) + 1;
    char *copy = nb_alloc(len);
    if (copy)
        memcpy(copy, text, len);
    return copy;
}

char *nb_shape_str(int ndim, const int64_t *shape, char *buf, size_t buf_size)
{
    size_t used = 0;
    used += (size_t)snprintf(buf + used, buf_size - used, "[");
    for (int d = 0; d < ndim && used < buf_size; d++)
        used += (size_t)snprintf(buf + used, buf_size - used, d ? ", %lld" : "%lld", (long long)shape[d]);
    if (used < buf_size)
        snprintf(buf + used, buf_size - used, "]");
    return buf;
}

/* ---- arrays of names ---- */

void nb_names_free(char **names, int64_t n)
{
    if (!names)
        return;
    for (int64_t i = 0; i < n; i++)
        nb_free(names[i]);
    nb_free(names);
}

/* Copies of n names (NULL in, NULL out); false when out of memory. */
bool nb_names_copy(char *const *names, int64_t n, char ***out)
{
    *out = NULL;
    if (!names)
        return true;
    char **copy = nb_calloc((size_t)n, sizeof *copy);
    if (!copy)
        return false;
    for (int64_t i = 0; i < n; i++)
        if (!(copy[i] = nb_strdup(names[i]))) {
            nb_names_free(copy, n);
            return false;
        }
    *out = copy;
    return true;
}
