/* What the io layer's readers share: opening a path to read, and reading a stream that
 * may be gzip-compressed. Private to the io layer. */
#ifndef NB_IO_INTERNAL_H
#define NB_IO_INTERNAL_H

#include "nabla/core.h"

#include <stdbool.h>
#include <stdio.h>
#include <zlib.h>

/* Open `path` for reading and return its descriptor, or -1 with a message. Anything but
 * a regular file is refused before a byte is read: a FIFO would block the open or the
 * read, and a device (/dev/zero) never ends, while a file's size bounds what reading it
 * can cost. */
int nb_io_open_regular(const char *path);

/* A stream read as the bytes it holds, or, when it begins with gzip's magic bytes, as
 * the bytes its gzip data inflate to (members one after another, as gzip -d reads them). */
typedef struct nb_io_text {
    FILE *file;
    const char *name;  /* for messages */
    unsigned char *in; /* bytes read from the file and not yet used */
    size_t in_size;
    bool gzip;
    bool member_ended; /* a gzip member ended where the input does (so far) */
    z_stream z;
} nb_io_text;

/* Look at the first bytes of `file` to tell gzip from plain text. */
nb_status nb_io_text_open(nb_io_text *text, FILE *file, const char *name);
/* Up to `size` bytes into dst; *got is 0 at the end. A read error, corrupt or truncated
 * gzip data, or bytes after the gzip data that are not gzip fail with the stream's name. */
nb_status nb_io_text_read(nb_io_text *text, void *dst, size_t size, size_t *got);
void nb_io_text_close(nb_io_text *text);

#endif
