/* What every test file includes: cmocka (which needs these headers first) and a
 * double-precision comparison (cmocka 1.1.5 only compares floats). */
#ifndef NB_TEST_H
#define NB_TEST_H

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <malloc.h>
#include <math.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "nabla.h"

/* |actual - expected| <= tolerance, with both numbers in the message when not. */
#define assert_close(actual, expected, tolerance)                                                  \
    do {                                                                                           \
        double actual_ = (actual), expected_ = (expected), tolerance_ = (tolerance);               \
        if (!(fabs(actual_ - expected_) <= tolerance_))                                            \
            fail_msg("%s = %.17g, expected %.17g within %g", #actual, actual_, expected_,          \
                     tolerance_);                                                                  \
    } while (0)

/* A scratch directory for a test program: made before its tests (group setup), removed
 * after (group teardown). */
static inline char *nb_test_dir(void)
{
    static char dir[64];
    return dir;
}

static inline int nb_test_make_dir(void **state)
{
    (void)state;
    strcpy(nb_test_dir(), "/tmp/nabla-test-XXXXXX");
    return mkdtemp(nb_test_dir()) ? 0 : -1;
}

static inline int nb_test_remove_dir(void **state)
{
    (void)state;
    char command[128];
    snprintf(command, sizeof command, "rm -rf '%s'", nb_test_dir());
    return system(command) == 0 ? 0 : -1;
}

/* A path in the scratch directory; a ring of buffers, so that a test can hold many. */
static inline const char *nb_test_path(const char *name)
{
    static char path[64][256];
    static int next;
    char *p = path[next++ % 64];
    snprintf(p, 256, "%s/%s", nb_test_dir(), name);
    return p;
}

/* A counting allocator: every library allocation is counted, the one numbered fail_at
 * (from 0) returns NULL (-1: none), and `live` counts blocks not yet freed. `bytes` is
 * what those blocks hold (as malloc_usable_size measures it) and `peak` the most that
 * was ever asked to be live at once; with `limit` > 0 an allocation that would take the
 * live bytes past it returns NULL instead (its demand still counts in peak), so that a
 * test can show an input asks for too much without the machine providing it. */
typedef struct nb_alloc_counter {
    long calls, live, fail_at;
    size_t bytes, peak, limit;
} nb_alloc_counter;

/* Would `size` more bytes fit? Records the demand in peak either way. */
static inline bool nb_counted_fits(nb_alloc_counter *c, size_t size)
{
    size_t demand = c->bytes + size < c->bytes ? SIZE_MAX : c->bytes + size;
    c->peak = demand > c->peak ? demand : c->peak;
    return c->limit == 0 || demand <= c->limit;
}

static inline void *nb_counted_alloc(size_t size, void *ctx)
{
    nb_alloc_counter *c = ctx;
    if (c->calls++ == c->fail_at || !nb_counted_fits(c, size))
        return NULL;
    void *p = malloc(size);
    c->live += p != NULL;
    c->bytes += p ? malloc_usable_size(p) : 0;
    return p;
}

static inline void *nb_counted_realloc(void *ptr, size_t size, void *ctx)
{
    nb_alloc_counter *c = ctx;
    if (c->calls++ == c->fail_at || !nb_counted_fits(c, size))
        return NULL;
    size_t old = ptr ? malloc_usable_size(ptr) : 0;
    void *p = realloc(ptr, size);
    c->live += p != NULL && ptr == NULL;
    if (p)
        c->bytes = c->bytes - (old < c->bytes ? old : c->bytes) + malloc_usable_size(p);
    return p;
}

static inline void nb_counted_free(void *ptr, void *ctx)
{
    nb_alloc_counter *c = ctx;
    c->live -= ptr != NULL;
    size_t size = ptr ? malloc_usable_size(ptr) : 0;
    c->bytes -= size < c->bytes ? size : c->bytes; /* a block from before the counter: not below 0 */
    free(ptr);
}

/* Reset the counter and route the library's allocations through it
 * (nb_set_allocator(NULL) restores malloc). */
static inline void nb_count_allocations(nb_alloc_counter *counter, long fail_at)
{
    *counter = (nb_alloc_counter){0, 0, fail_at, 0, 0, 0};
    nb_set_allocator(&(nb_allocator){nb_counted_alloc, nb_counted_realloc, nb_counted_free, counter});
}

/* What reading an input of n bytes may allocate before it has seen that the data are
 * there: a small constant times n, plus a fixed allowance. */
static inline size_t nb_test_input_bound(size_t input_bytes)
{
    return 64 * input_bytes + ((size_t)16 << 20);
}

/* The counter of nb_count_bounded: static, so that a test that fails (and leaves by a
 * long jump) leaves the allocator pointing at live memory. */
static inline nb_alloc_counter *nb_bounded_counter(void)
{
    static nb_alloc_counter counter;
    return &counter;
}

/* Count the allocations of reading an input of input_bytes, refusing any past the bound
 * (so that an unbounded reader fails here rather than taking the machine's memory). */
static inline void nb_count_bounded(size_t input_bytes)
{
    nb_count_allocations(nb_bounded_counter(), -1);
    nb_bounded_counter()->limit = nb_test_input_bound(input_bytes);
}

/* A teardown for tests that count: malloc again, whether the test passed or not. */
static inline int nb_test_restore_allocator(void **state)
{
    (void)state;
    nb_set_allocator(NULL);
    return 0;
}

/* After nb_count_bounded and the read: restore malloc; the peak must be within bounds. */
static inline void nb_check_bounded(size_t input_bytes)
{
    nb_set_allocator(NULL);
    size_t peak = nb_bounded_counter()->peak;
    if (peak > nb_test_input_bound(input_bytes))
        fail_msg("an input of %zu bytes asked for %zu bytes at once (bound: %zu)", input_bytes, peak,
                 nb_test_input_bound(input_bytes));
}

/* A linear regression problem (double precision): x ~ N(0, 1) [n, d], all drawn first,
 * then y = x·w + b + N(0, noise²) [n, 1]. */
static inline nb_dataset *nb_test_linear_data(int64_t n, int64_t d, const double *w, double b, double noise,
                                              nb_rng *rng)
{
    double *x = malloc((size_t)(n * d) * sizeof(double)), *y = malloc((size_t)n * sizeof(double));
    nb_dataset *data = NULL;
    if (x && y) {
        for (int64_t i = 0; i < n * d; i++)
            x[i] = nb_rng_normal(rng);
        for (int64_t i = 0; i < n; i++) {
            y[i] = b;
            for (int64_t j = 0; j < d; j++)
                y[i] += x[i * d + j] * w[j];
        }
        for (int64_t i = 0; i < n; i++)
            y[i] += noise * nb_rng_normal(rng);
        data = nb_dataset_from_doubles(NB_F64, n, d, x, 1, y);
    }
    free(x);
    free(y);
    return data;
}

#endif
