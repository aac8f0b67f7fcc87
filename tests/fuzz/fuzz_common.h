/* Shared by the fuzz harnesses: an allocator cap that turns memory amplification into a
 * finding, and a way to hand the input to loaders that take a path. */
#ifndef NB_FUZZ_COMMON_H
#define NB_FUZZ_COMMON_H

#include <stddef.h>
#include <stdint.h>

/* The entry point libFuzzer calls (and tests/fuzz/replay.c, for the corpora). */
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Install the counting allocator (once) and set the cap for an input of `size` bytes:
 * an allocation that would take the library's live heap above 64 MiB + 64 x size fails
 * (the library must then fail cleanly), and aborts when NB_FUZZ_CAP_FATAL is set. */
void fuzz_begin(size_t size);
/* Whether an allocation was refused since fuzz_begin. */
int fuzz_cap_hit(void);

/* The input as a file: a memfd, rewritten on each call, named /proc/self/fd/N. `slot`
 * (0 or 1) picks one of two files, for loaders that take two paths. NULL on failure. */
const char *fuzz_file(int slot, const uint8_t *data, size_t size);

#endif
