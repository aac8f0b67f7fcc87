/* Opening a path to read, for every reader of the io layer. */
#include "core/core.h"
#include "io/io_internal.h"

#include <errno.h>
#include <stdint.h>
#include <fcntl.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

int nb_io_open_regular(const char *path)
{
    /* O_NONBLOCK: opening a FIFO that no one writes to must not hang; for a regular file
     * it changes nothing. */
    int fd = open(path, O_RDONLY | O_NONBLOCK | O_CLOEXEC);
    if (fd < 0) {
        nb_fail(NB_EIO, "cannot open '%s': %s", path, strerror(errno));
        return -1;
    }
    struct stat st;
    if (fstat(fd, &st) != 0) {
        nb_fail(NB_EIO, "cannot open '%s': %s", path, strerror(errno));
        close(fd);
        return -1;
    }
    if (!S_ISREG(st.st_mode)) {
        nb_fail(NB_EIO, "cannot read '%s': it is %s, not a regular file; nabla reads data from files (save the "
                "data to a file first)", path, nb_file_kind(st.st_mode));
        close(fd);
        return -1;
    }
    fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) & ~O_NONBLOCK);
    return fd;
}

/* ---- text that may be gzip-compressed ------------------------------------------------ */

#define TEXT_IN_SIZE ((size_t)1 << 16)

/* Refill the input from the file; false at its end (or on a read error, told by ferror). */
static bool text_fill(nb_io_text *text)
{
    if (text->z.avail_in > 0)
        return true;
    text->in_size = fread(text->in, 1, TEXT_IN_SIZE, text->file);
    text->z.next_in = text->in;
    text->z.avail_in = (uInt)text->in_size;
    return text->in_size > 0;
}

nb_status nb_io_text_open(nb_io_text *text, FILE *file, const char *name)
{
    memset(text, 0, sizeof *text);
    text->file = file;
    text->name = name;
    if (!(text->in = nb_alloc(TEXT_IN_SIZE)))
        return nb_fail(NB_ENOMEM, "%s: out of memory for the read buffer", name);
    /* Two bytes tell gzip: read until there are two or the stream ends (a pipe may
     * deliver one byte at a time). */
    size_t have = 0, got;
    while (have < 2 && (got = fread(text->in + have, 1, TEXT_IN_SIZE - have, file)) > 0)
        have += got;
    text->z.next_in = text->in;
    text->z.avail_in = (uInt)have;
    text->gzip = have >= 2 && text->in[0] == 0x1f && text->in[1] == 0x8b;
    if (text->gzip && inflateInit2(&text->z, 16 + MAX_WBITS) != Z_OK) {
        text->gzip = false;
        return nb_fail(NB_ENOMEM, "%s: out of memory for inflating gzip data", name);
    }
    return NB_OK;
}

/* A gzip member ended: another may follow; anything else is not gzip and refused. */
static nb_status next_member(nb_io_text *text)
{
    text->member_ended = true;
    if (!text_fill(text))
        return NB_OK;
    if (text->z.avail_in >= 2 && (text->z.next_in[0] != 0x1f || text->z.next_in[1] != 0x8b))
        return nb_fail(NB_EFORMAT, "%s: bytes after the end of its gzip data are not gzip (a damaged or appended "
                       "file: decompress it with gzip -d to see)", text->name);
    text->member_ended = false;
    return inflateReset(&text->z) == Z_OK ? NB_OK : nb_fail(NB_EFORMAT, "%s: corrupt gzip data", text->name);
}

static nb_status gzip_read(nb_io_text *text, void *dst, size_t size, size_t *got)
{
    text->z.next_out = dst;
    text->z.avail_out = (uInt)size;
    while (text->z.avail_out == size) {
        if (!text_fill(text)) {
            if (!text->member_ended && !ferror(text->file))
                return nb_fail(NB_EFORMAT, "%s: corrupt gzip data: the file ends before the gzip trailer "
                               "(truncated? gzip -t tells)", text->name);
            break;
        }
        text->member_ended = false;
        int ret = inflate(&text->z, Z_NO_FLUSH);
        if (ret == Z_MEM_ERROR)
            return nb_fail(NB_ENOMEM, "%s: out of memory inflating gzip data", text->name);
        if (ret != Z_OK && ret != Z_STREAM_END && ret != Z_BUF_ERROR)
            return nb_fail(NB_EFORMAT, "%s: corrupt gzip data: %s (gzip -t tells)", text->name,
                           text->z.msg ? text->z.msg : "bad data");
        if (ret == Z_STREAM_END && next_member(text) != NB_OK)
            return nb_errcode();
    }
    *got = size - text->z.avail_out;
    return NB_OK;
}

nb_status nb_io_text_read(nb_io_text *text, void *dst, size_t size, size_t *got)
{
    *got = 0;
    if (size > UINT32_MAX)
        size = UINT32_MAX;
    nb_status status = NB_OK;
    if (text->gzip) {
        status = gzip_read(text, dst, size, got);
    } else if (text->z.avail_in > 0) { /* the bytes looked at first */
        *got = size < text->z.avail_in ? size : text->z.avail_in;
        memcpy(dst, text->z.next_in, *got);
        text->z.next_in += *got;
        text->z.avail_in -= (uInt)*got;
    } else {
        *got = fread(dst, 1, size, text->file);
    }
    if (status == NB_OK && *got == 0 && ferror(text->file))
        return nb_fail(NB_EIO, "%s: read error: %s", text->name, strerror(errno));
    return status;
}

void nb_io_text_close(nb_io_text *text)
{
    if (text->gzip)
        inflateEnd(&text->z);
    nb_free(text->in);
    memset(text, 0, sizeof *text);
}
