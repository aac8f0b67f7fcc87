#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include "fuzz_common.h"

#include "nabla/core.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

/* Each block carries its size in front, so that free and realloc can keep the count. */
#define HEADER 16

static size_t live;  /* bytes held by the library; the thread pool may allocate too */
static size_t cap;
static int hit;

static int reserve(size_t add)
{
    size_t now = __atomic_add_fetch(&live, add, __ATOMIC_RELAXED);
    if (add <= cap && now <= cap)
        return 1;
    __atomic_sub_fetch(&live, add, __ATOMIC_RELAXED);
    __atomic_store_n(&hit, 1, __ATOMIC_RELAXED);
    if (getenv("NB_FUZZ_CAP_FATAL")) {
        fprintf(stderr, "fuzz: allocation of %zu bytes would take the live heap past the cap of %zu "
                        "bytes (memory amplification)\n", add, cap);
        abort();
    }
    return 0;
}

static void *cap_alloc(size_t size, void *ctx)
{
    (void)ctx;
    if (size > SIZE_MAX - HEADER || !reserve(size))
        return NULL;
    unsigned char *block = malloc(size + HEADER);
    if (!block) {
        __atomic_sub_fetch(&live, size, __ATOMIC_RELAXED);
        return NULL;
    }
    memcpy(block, &size, sizeof size);
    return block + HEADER;
}

static void cap_free(void *ptr, void *ctx)
{
    (void)ctx;
    if (!ptr)
        return;
    unsigned char *block = (unsigned char *)ptr - HEADER;
    size_t size;
    memcpy(&size, block, sizeof size);
    __atomic_sub_fetch(&live, size, __ATOMIC_RELAXED);
    free(block);
}

static void *cap_realloc(void *ptr, size_t size, void *ctx)
{
    if (!ptr)
        return cap_alloc(size, ctx);
    unsigned char *block = (unsigned char *)ptr - HEADER;
    size_t old;
    memcpy(&old, block, sizeof old);
    if (size > SIZE_MAX - HEADER || (size > old && !reserve(size - old)))
        return NULL;
    unsigned char *grown = realloc(block, size + HEADER);
    if (!grown) {
        if (size > old)
            __atomic_sub_fetch(&live, size - old, __ATOMIC_RELAXED);
        return NULL;
    }
    if (size < old)
        __atomic_sub_fetch(&live, old - size, __ATOMIC_RELAXED);
    memcpy(grown, &size, sizeof size);
    return grown + HEADER;
}

void fuzz_begin(size_t size)
{
    static int installed;
    if (!installed) {
        static const nb_allocator allocator = {cap_alloc, cap_realloc, cap_free, NULL};
        nb_set_allocator(&allocator);
        installed = 1;
    }
    size_t extra = size > (SIZE_MAX / 2) / 64 ? SIZE_MAX / 2 : 64 * size;
    cap = ((size_t)64 << 20) + extra;
    __atomic_store_n(&hit, 0, __ATOMIC_RELAXED);
}

int fuzz_cap_hit(void)
{
    return __atomic_load_n(&hit, __ATOMIC_RELAXED);
}

const char *fuzz_file(int slot, const uint8_t *data, size_t size)
{
    static int fds[2] = {-1, -1};
    static char paths[2][64];
    if (fds[slot] < 0) {
        fds[slot] = memfd_create("nabla-fuzz", 0);
        if (fds[slot] < 0)
            return NULL;
        snprintf(paths[slot], sizeof paths[slot], "/proc/self/fd/%d", fds[slot]);
    }
    int fd = fds[slot];
    if (ftruncate(fd, 0) != 0)
        return NULL;
    size_t done = 0;
    while (done < size) {
        ssize_t n = pwrite(fd, data + done, size - done, (off_t)done);
        if (n <= 0)
            return NULL;
        done += (size_t)n;
    }
    return paths[slot];
}
