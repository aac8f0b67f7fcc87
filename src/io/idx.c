/* IDX files, plain or gzip-compressed (zlib's inflate, member after member). Nothing is
 * allocated for data before they are shown to be there: a plain file's size is checked
 * against its dimensions first, and gzip data, whose size is known only once they are
 * inflated, go into buffers that grow as they arrive. Images of a plain file are
 * converted to floats while they stream in, chunk by chunk, so that the bytes of a whole
 * set are never held twice; a gzip set's bytes are held once, then converted. */
#include "core/core.h"
#include "io/io_internal.h"
#include "nabla/io.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zlib.h>

#define IDX_UBYTE 0x08
#define CHUNK_SIZE (1 << 20)
#define IN_SIZE (1 << 18)
#define FIRST_READ ((size_t)1 << 16)

typedef struct idx_file {
    const char *path;
    int fd;
    int64_t file_size;
    unsigned char *in;  /* bytes read from the file, not yet used: z.next_in, z.avail_in */
    size_t in_size;     /* of the buffer `in`: no larger than the file */
    bool in_eof;
    int64_t in_read;    /* bytes read from the file so far */
    bool gzip;
    bool z_ready;       /* z was initialised */
    bool ended;         /* the gzip data ended where the file does */
    z_stream z;
    int ndim;
    int64_t dims[NB_MAX_DIMS];
    int64_t header_size;
    int64_t item_size; /* bytes per item: the product of dims[1..] */
} idx_file;

static const char *type_name(int type)
{
    switch (type) {
    case 0x08: return "unsigned byte";
    case 0x09: return "signed byte";
    case 0x0B: return "int16";
    case 0x0C: return "int32";
    case 0x0D: return "float32";
    case 0x0E: return "float64";
    }
    return "unknown";
}

static char *dims_str(const idx_file *f, char *buf, size_t size)
{
    return nb_shape_str(f->ndim, f->dims, buf, size);
}

/* At least `need` unused bytes in f->in, unless the file ends first. */
static nb_status fill_input(idx_file *f, size_t need)
{
    if (f->z.avail_in >= need || f->in_eof)
        return NB_OK;
    memmove(f->in, f->z.next_in, f->z.avail_in);
    f->z.next_in = f->in;
    while (f->z.avail_in < need && !f->in_eof) {
        ssize_t n = read(f->fd, f->in + f->z.avail_in, f->in_size - f->z.avail_in);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0)
            return nb_fail(NB_EIO, "%s: %s", f->path, strerror(errno));
        f->z.avail_in += (uInt)n;
        f->in_read += n;
        f->in_eof = n == 0;
    }
    return NB_OK;
}

/* A gzip member ended: another may follow (concatenated members are one gzip file, as
 * gzip -d reads them); anything else is damage or an append, and refused. */
static nb_status next_member(idx_file *f)
{
    if (fill_input(f, 2) != NB_OK)
        return nb_errcode();
    if (f->z.avail_in == 0) {
        f->ended = true;
        return NB_OK;
    }
    if (f->z.avail_in < 2 || f->z.next_in[0] != 0x1f || f->z.next_in[1] != 0x8b) {
        int64_t at = f->in_read - f->z.avail_in;
        return nb_fail(NB_EFORMAT, "%s: %lld bytes after the end of its gzip data (at byte %lld) are not gzip: "
                       "the file is damaged or was appended to; download or compress it again", f->path,
                       (long long)(f->file_size - at), (long long)at);
    }
    return inflateReset(&f->z) == Z_OK ? NB_OK : nb_fail(NB_EFORMAT, "%s: corrupt gzip data", f->path);
}

static nb_status gz_read(idx_file *f, void *dst, size_t size, size_t *got)
{
    f->z.next_out = dst;
    f->z.avail_out = (uInt)size;
    while (f->z.avail_out > 0 && !f->ended) {
        if (fill_input(f, 1) != NB_OK)
            return nb_errcode();
        if (f->z.avail_in == 0)
            break; /* the file ends inside the gzip data */
        int ret = inflate(&f->z, Z_NO_FLUSH);
        if (ret == Z_STREAM_END && next_member(f) != NB_OK)
            return nb_errcode();
        if (ret == Z_MEM_ERROR)
            return nb_fail(NB_ENOMEM, "%s: out of memory inflating gzip data", f->path);
        if (ret != Z_OK && ret != Z_STREAM_END && ret != Z_BUF_ERROR)
            return nb_fail(NB_EFORMAT, "%s: corrupt gzip data: %s", f->path, f->z.msg ? f->z.msg : "bad data");
    }
    *got = size - f->z.avail_out;
    return NB_OK;
}

/* A plain file: what is left in f->in first, then straight from the file. */
static nb_status plain_read(idx_file *f, void *dst, size_t size, size_t *got)
{
    size_t buffered = f->z.avail_in < size ? f->z.avail_in : size;
    memcpy(dst, f->z.next_in, buffered);
    f->z.next_in += buffered;
    f->z.avail_in -= (uInt)buffered;
    *got = buffered;
    while (*got < size) {
        ssize_t n = read(f->fd, (char *)dst + *got, size - *got);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0)
            return nb_fail(NB_EIO, "%s: %s", f->path, strerror(errno));
        if (n == 0)
            break;
        *got += (size_t)n;
    }
    return NB_OK;
}

/* Read exactly `size` bytes; *got says how many came when fewer did. */
static nb_status read_exact(idx_file *f, void *dst, size_t size, size_t *got)
{
    *got = 0;
    while (*got < size) {
        size_t want = size - *got < (size_t)1 << 30 ? size - *got : (size_t)1 << 30, n = 0;
        nb_status status = f->gzip ? gz_read(f, (char *)dst + *got, want, &n) : plain_read(f, (char *)dst + *got,
                                                                                            want, &n);
        if (status != NB_OK)
            return status;
        *got += n;
        if (n < want)
            break;
    }
    return NB_OK;
}

static uint32_t big_endian32(const unsigned char *b)
{
    return (uint32_t)b[0] << 24 | (uint32_t)b[1] << 16 | (uint32_t)b[2] << 8 | (uint32_t)b[3];
}

/* Open the file, and tell gzip (its magic number, 0x1f 0x8b) from plain data. */
static nb_status idx_start(const char *path, idx_file *f)
{
    *f = (idx_file){.path = path, .fd = -1};
    if (!path)
        return nb_fail(NB_EARG, "nb_idx: path is NULL");
    struct stat st;
    if ((f->fd = nb_io_open_regular(path)) < 0)
        return nb_errcode();
    if (fstat(f->fd, &st) != 0)
        return nb_fail(NB_EIO, "%s: %s", path, strerror(errno));
    f->file_size = (int64_t)st.st_size;
    /* Buffers are sized to the file, so that a small file costs little to read. */
    f->in_size = f->file_size < IN_SIZE ? (size_t)f->file_size + 16 : IN_SIZE;
    if (!(f->in = nb_alloc_or_fail(f->in_size, "reading an IDX file")))
        return NB_ENOMEM;
    f->z.next_in = f->in;
    if (fill_input(f, 2) != NB_OK)
        return nb_errcode();
    f->gzip = f->z.avail_in >= 2 && f->in[0] == 0x1f && f->in[1] == 0x8b;
    if (f->gzip && inflateInit2(&f->z, 16 + MAX_WBITS) != Z_OK)
        return nb_fail(NB_ENOMEM, "%s: out of memory for inflating gzip data", path);
    f->z_ready = f->gzip;
    return NB_OK;
}

/* Open and read the header: magic (0, 0, type, ndim), then ndim big-endian uint32. */
static nb_status idx_open(const char *path, idx_file *f)
{
    if (idx_start(path, f) != NB_OK)
        return nb_errcode();
    unsigned char magic[4];
    size_t got;
    if (read_exact(f, magic, 4, &got) != NB_OK)
        return nb_errcode();
    if (got < 4)
        return nb_fail(NB_EFORMAT, "%s: %s (%zu bytes): not an IDX file", path, got ? "too short" : "empty", got);
    if (magic[0] != 0 || magic[1] != 0)
        return nb_fail(NB_EFORMAT, "%s: not an IDX file (it starts with 0x%02x 0x%02x, not 0x00 0x00)", path,
                       magic[0], magic[1]);
    if (magic[2] != IDX_UBYTE)
        return nb_fail(NB_EFORMAT, "%s: IDX data type 0x%02x (%s) is not supported; nabla reads unsigned bytes "
                       "(0x08)", path, magic[2], type_name(magic[2]));
    if (magic[3] < 1 || magic[3] > NB_MAX_DIMS)
        return nb_fail(NB_EFORMAT, "%s: %d dimensions; nabla reads IDX files of 1 to %d", path, magic[3],
                       NB_MAX_DIMS);
    f->ndim = magic[3];
    f->header_size = 4 + 4 * (int64_t)f->ndim;
    unsigned char dims[4 * NB_MAX_DIMS];
    if (read_exact(f, dims, 4 * (size_t)f->ndim, &got) != NB_OK)
        return nb_errcode();
    if (got < 4 * (size_t)f->ndim)
        return nb_fail(NB_EFORMAT, "%s: truncated in its header (%d dimensions announced)", path, f->ndim);
    /* Sizes are bounded before they are multiplied: no overflow from a hostile header. */
    const int64_t limit = (int64_t)1 << 50;
    int64_t total = 1;
    for (int d = 0; d < f->ndim; d++) {
        f->dims[d] = big_endian32(dims + 4 * d);
        if (f->dims[d] == 0)
            return nb_fail(NB_EFORMAT, "%s: dimension %d is 0", path, d + 1);
        if (f->dims[d] > limit / total) {
            char buf[96];
            return nb_fail(NB_EFORMAT, "%s: dimensions %s are not plausible", path,
                           nb_shape_str(d + 1, f->dims, buf, sizeof buf));
        }
        total *= f->dims[d];
    }
    f->item_size = total / f->dims[0];
    return NB_OK;
}

static void idx_close(idx_file *f)
{
    if (f->z_ready)
        inflateEnd(&f->z);
    if (f->fd >= 0)
        close(f->fd);
    nb_free(f->in);
    f->z_ready = false;
    f->fd = -1;
    f->in = NULL;
}

static int64_t items_to_read(const idx_file *f, int64_t max_items)
{
    return max_items > 0 && max_items < f->dims[0] ? max_items : f->dims[0];
}

/* After all declared data: nothing may follow, and gzip data must reach their end. */
static nb_status check_end(idx_file *f)
{
    unsigned char spare[4096];
    int64_t extra = 0;
    size_t n;
    do {
        if (read_exact(f, spare, sizeof spare, &n) != NB_OK)
            return nb_errcode();
        extra += (int64_t)n;
    } while (n == sizeof spare);
    if (extra > 0) {
        char buf[96];
        return nb_fail(NB_EFORMAT, "%s: %lld bytes of data beyond what its dimensions %s declare", f->path,
                       (long long)extra, dims_str(f, buf, sizeof buf));
    }
    if (f->gzip && !f->ended)
        return nb_fail(NB_EFORMAT, "%s: corrupt gzip data: the file ends before the gzip trailer (truncated?)",
                       f->path);
    return NB_OK;
}

static nb_status truncated(const idx_file *f, int64_t needed, int64_t got)
{
    char buf[96];
    return nb_fail(NB_EFORMAT, "%s: truncated: dimensions %s need %lld bytes of data, the file holds %lld", f->path,
                   dims_str(f, buf, sizeof buf), (long long)needed, (long long)got);
}

/* A plain file shows by its size whether the data of n_items are there: checked before
 * anything is allocated for them. (Gzip data cannot tell until they are inflated.) */
static nb_status check_size(const idx_file *f, int64_t n_items)
{
    int64_t held = f->file_size - f->header_size;
    if (!f->gzip && held < n_items * f->item_size)
        return truncated(f, f->dims[0] * f->item_size, held);
    return NB_OK;
}

/* Stream `n_items` items, handing each chunk of bytes to `sink` with its byte offset. */
typedef void (*chunk_sink)(const uint8_t *bytes, size_t offset, size_t size, void *ctx);

static nb_status read_items(idx_file *f, int64_t n_items, bool whole_file, chunk_sink sink, void *ctx)
{
    int64_t total = n_items * f->item_size;
    size_t chunk_size = total < CHUNK_SIZE ? (size_t)total : CHUNK_SIZE;
    uint8_t *chunk = nb_alloc_or_fail(chunk_size ? chunk_size : 1, "reading an IDX file");
    if (!chunk)
        return NB_ENOMEM;
    nb_status status = NB_OK;
    for (int64_t offset = 0; offset < total && status == NB_OK;) {
        size_t want = total - offset < (int64_t)chunk_size ? (size_t)(total - offset) : chunk_size, got;
        status = read_exact(f, chunk, want, &got);
        if (status == NB_OK && got < want)
            status = truncated(f, f->dims[0] * f->item_size, offset + (int64_t)got);
        if (status == NB_OK)
            sink(chunk, (size_t)offset, want, ctx);
        offset += (int64_t)want;
    }
    nb_free(chunk);
    if (status == NB_OK && whole_file)
        status = check_end(f);
    return status;
}

/* The bytes of n_items items. A plain file's are allocated whole (check_size has seen
 * them); gzip data fill a buffer that doubles as they arrive, so that a header claiming
 * gigabytes over a few bytes of data costs a megabyte, not the claim. */
static nb_status read_all(idx_file *f, int64_t n_items, bool whole_file, uint8_t **out)
{
    int64_t total = n_items * f->item_size;
    if ((uint64_t)total > SIZE_MAX)
        return nb_fail(NB_ENOMEM, "%s: too large", f->path);
    if (check_size(f, n_items) != NB_OK)
        return nb_errcode();
    size_t capacity = f->gzip && (size_t)total > FIRST_READ ? FIRST_READ : (size_t)total, have = 0, got;
    uint8_t *data = nb_alloc_or_fail(capacity, f->path);
    nb_status status = data ? NB_OK : NB_ENOMEM;
    while (status == NB_OK && have < (size_t)total) {
        if (have == capacity) {
            capacity = capacity > (size_t)total / 2 ? (size_t)total : 2 * capacity;
            uint8_t *grown = nb_realloc(data, capacity);
            if (!grown) {
                status = nb_fail(NB_ENOMEM, "out of memory allocating %zu bytes for %s", capacity, f->path);
                break;
            }
            data = grown;
        }
        status = read_exact(f, data + have, capacity - have, &got);
        have += got;
        if (status == NB_OK && have < capacity)
            status = truncated(f, f->dims[0] * f->item_size, (int64_t)have);
    }
    if (status == NB_OK && whole_file)
        status = check_end(f);
    if (status != NB_OK)
        nb_free(data);
    *out = status == NB_OK ? data : NULL;
    return status;
}

/* ---- raw arrays ------------------------------------------------------------------------ */

nb_status nb_idx_read(const char *path, int64_t max_items, nb_idx *idx)
{
    if (!idx)
        return nb_fail(NB_EARG, "nb_idx_read: idx is NULL");
    *idx = (nb_idx){0};
    idx_file f;
    nb_status status = idx_open(path, &f);
    int64_t n_items = status == NB_OK ? items_to_read(&f, max_items) : 0;
    uint8_t *data = NULL;
    if (status == NB_OK)
        status = read_all(&f, n_items, n_items == f.dims[0], &data);
    idx_close(&f);
    if (status != NB_OK)
        return status;
    idx->ndim = f.ndim;
    memcpy(idx->dims, f.dims, sizeof idx->dims);
    idx->dims[0] = n_items;
    idx->size = n_items * f.item_size;
    idx->data = data;
    return NB_OK;
}

void nb_idx_clear(nb_idx *idx)
{
    if (!idx)
        return;
    nb_free(idx->data);
    *idx = (nb_idx){0};
}

/* ---- images and labels into a dataset ------------------------------------------------ */

typedef struct pixel_sink {
    nb_tensor *out;
    float table32[256]; /* byte / 255, computed once: the conversion is a lookup */
    double table64[256];
} pixel_sink;

static void convert_pixels(const uint8_t *bytes, size_t offset, size_t size, void *ctx)
{
    pixel_sink *sink = ctx;
    if (sink->out->dtype == NB_F32) {
        float *dst = (float *)sink->out->data + offset;
        for (size_t i = 0; i < size; i++)
            dst[i] = sink->table32[bytes[i]];
    } else {
        double *dst = (double *)sink->out->data + offset;
        for (size_t i = 0; i < size; i++)
            dst[i] = sink->table64[bytes[i]];
    }
}

/* Labels first: small, and their count is checked before the images are read. */
static nb_status read_labels(const char *path, int64_t max_items, nb_idx *labels)
{
    nb_status status = nb_idx_read(path, max_items, labels);
    if (status == NB_OK && labels->ndim != 1) {
        char buf[96];
        nb_fail(NB_EFORMAT, "%s: labels must be one-dimensional, the file has dimensions %s", path,
                nb_shape_str(labels->ndim, labels->dims, buf, sizeof buf));
        nb_idx_clear(labels);
        return NB_EFORMAT;
    }
    return status;
}

static int count_classes(const nb_idx *labels, int n_classes, const char *path)
{
    int largest = 0;
    for (int64_t i = 0; i < labels->size; i++) {
        if (n_classes > 0 && labels->data[i] >= n_classes) {
            nb_fail(NB_EFORMAT, "%s: the label of item %lld is %d, outside the classes 0..%d", path, (long long)i,
                    labels->data[i], n_classes - 1);
            return -1;
        }
        if (labels->data[i] > largest)
            largest = labels->data[i];
    }
    return n_classes > 0 ? n_classes : largest + 1;
}

/* The images of the labels' items into a dataset. A gzip set's bytes are read first, so
 * that the dataset is allocated only for data that are there; a plain file's size has
 * told, and its images stream in. */
static nb_dataset *load_images(idx_file *f, const nb_idx *labels, int classes, nb_dtype dtype, bool whole_file)
{
    int64_t n = labels->dims[0];
    uint8_t *raw = NULL;
    nb_status status = f->gzip ? read_all(f, n, whole_file, &raw) : check_size(f, n);
    nb_dataset *data = status == NB_OK ? nb_dataset_new_labels(dtype, n, f->item_size, classes) : NULL;
    if (!data) {
        nb_free(raw);
        return NULL;
    }
    pixel_sink sink = {.out = data->inputs};
    for (int b = 0; b < 256; b++) {
        sink.table32[b] = (float)b / 255.0f;
        sink.table64[b] = b / 255.0;
    }
    if (raw)
        convert_pixels(raw, 0, (size_t)(n * f->item_size), &sink);
    else
        status = read_items(f, n, whole_file, convert_pixels, &sink);
    nb_free(raw);
    for (int64_t i = 0; i < n; i++)
        nb_tensor_set(data->targets, i, labels->data[i]);
    if (f->ndim == 3) {
        data->image_shape[0] = f->dims[1];
        data->image_shape[1] = f->dims[2];
    }
    if (status != NB_OK) {
        nb_dataset_free(data);
        return NULL;
    }
    return data;
}

nb_dataset *nb_idx_load(const char *images_path, const char *labels_path, nb_dtype dtype, int n_classes,
                        int64_t max_items)
{
    if (!images_path || !labels_path) {
        nb_fail(NB_EARG, "nb_idx_load: the %s path is NULL", images_path ? "labels" : "images");
        return NULL;
    }
    nb_idx labels;
    idx_file f = {.fd = -1};
    if (read_labels(labels_path, max_items, &labels) != NB_OK)
        return NULL;
    int classes = count_classes(&labels, n_classes, labels_path);
    nb_status status = classes < 0 ? NB_EFORMAT : idx_open(images_path, &f);
    if (classes >= 0 && status == NB_OK && f.ndim < 2) {
        char buf[96];
        status = nb_fail(NB_EFORMAT, "%s: images need at least two dimensions (items, pixels), the file has %s",
                         images_path, dims_str(&f, buf, sizeof buf));
    }
    int64_t total_labels = labels.dims[0];
    if (classes >= 0 && status == NB_OK && max_items <= 0 && f.dims[0] != total_labels)
        status = nb_fail(NB_EFORMAT, "%s has %lld images but %s has %lld labels", images_path,
                         (long long)f.dims[0], labels_path, (long long)total_labels);
    if (classes >= 0 && status == NB_OK && max_items > 0 && items_to_read(&f, max_items) != total_labels)
        status = nb_fail(NB_EFORMAT, "%s has %lld images but %s has %lld labels (reading the first %lld)",
                         images_path, (long long)f.dims[0], labels_path, (long long)total_labels,
                         (long long)max_items);
    nb_dataset *data = NULL;
    if (classes >= 0 && status == NB_OK)
        data = load_images(&f, &labels, classes, dtype, max_items <= 0 || max_items >= f.dims[0]);
    idx_close(&f);
    nb_idx_clear(&labels);
    return data;
}
