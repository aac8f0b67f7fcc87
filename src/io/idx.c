/* IDX files through zlib's gz* functions, which read gzip and plain files alike. Images
 * are converted to floats while they stream in, chunk by chunk, so that the bytes of a
 * whole set are never held twice. */
#include "core/core.h"
#include "nabla/io.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

#define IDX_UBYTE 0x08
#define CHUNK_SIZE (1 << 20)
#define GZ_BUFFER_SIZE (1 << 18)

typedef struct idx_file {
    const char *path;
    gzFile gz;
    int ndim;
    int64_t dims[NB_MAX_DIMS];
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

/* zlib's message for the last error, without the path it puts in front. */
static const char *gz_message(const idx_file *f, int *code)
{
    const char *message = gzerror(f->gz, code);
    size_t len = strlen(f->path);
    if (strncmp(message, f->path, len) == 0 && strncmp(message + len, ": ", 2) == 0)
        message += len + 2;
    return message;
}

/* Read exactly `size` bytes; *got says how many came when fewer did. */
static nb_status read_exact(idx_file *f, void *dst, size_t size, size_t *got)
{
    *got = 0;
    while (*got < size) {
        size_t want = size - *got < (size_t)1 << 30 ? size - *got : (size_t)1 << 30;
        int n = gzread(f->gz, (char *)dst + *got, (unsigned)want);
        if (n < 0) {
            int code;
            const char *message = gz_message(f, &code);
            if (code == Z_ERRNO)
                return nb_fail(NB_EIO, "%s: %s", f->path, strerror(errno));
            return nb_fail(NB_EFORMAT, "%s: corrupt gzip data: %s", f->path, message);
        }
        if (n == 0)
            break;
        *got += (size_t)n;
    }
    if (*got < size) {
        int code;
        const char *message = gz_message(f, &code);
        if (code != Z_OK && code != Z_STREAM_END && code != Z_BUF_ERROR)
            return nb_fail(NB_EFORMAT, "%s: corrupt gzip data: %s", f->path, message);
    }
    return NB_OK;
}

static uint32_t big_endian32(const unsigned char *b)
{
    return (uint32_t)b[0] << 24 | (uint32_t)b[1] << 16 | (uint32_t)b[2] << 8 | (uint32_t)b[3];
}

/* Open and read the header: magic (0, 0, type, ndim), then ndim big-endian uint32. */
static nb_status idx_open(const char *path, idx_file *f)
{
    *f = (idx_file){.path = path};
    if (!path)
        return nb_fail(NB_EARG, "nb_idx: path is NULL");
    errno = 0;
    f->gz = gzopen(path, "rb");
    if (!f->gz)
        return nb_fail(NB_EIO, "cannot open '%s': %s", path, errno ? strerror(errno) : "out of memory");
    gzbuffer(f->gz, GZ_BUFFER_SIZE);
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
    if (f->gz)
        gzclose(f->gz);
    f->gz = NULL;
}

static int64_t items_to_read(const idx_file *f, int64_t max_items)
{
    return max_items > 0 && max_items < f->dims[0] ? max_items : f->dims[0];
}

/* After all declared data: nothing may follow. */
static nb_status check_end(idx_file *f)
{
    unsigned char spare[4096];
    int64_t extra = 0;
    int n;
    while ((n = gzread(f->gz, spare, sizeof spare)) > 0)
        extra += n;
    if (n < 0) {
        int code;
        return nb_fail(NB_EFORMAT, "%s: corrupt gzip data after the declared items: %s", f->path,
                       gz_message(f, &code));
    }
    if (extra > 0) {
        char buf[96];
        return nb_fail(NB_EFORMAT, "%s: %lld bytes of data beyond what its dimensions %s declare", f->path,
                       (long long)extra, dims_str(f, buf, sizeof buf));
    }
    return NB_OK;
}

static nb_status truncated(const idx_file *f, int64_t needed, int64_t got)
{
    char buf[96];
    return nb_fail(NB_EFORMAT, "%s: truncated: dimensions %s need %lld bytes of data, the file holds %lld", f->path,
                   dims_str(f, buf, sizeof buf), (long long)needed, (long long)got);
}

/* Stream `n_items` items, handing each chunk of bytes to `sink` with its byte offset. */
typedef void (*chunk_sink)(const uint8_t *bytes, size_t offset, size_t size, void *ctx);

static nb_status read_items(idx_file *f, int64_t n_items, bool whole_file, chunk_sink sink, void *ctx)
{
    int64_t total = n_items * f->item_size;
    uint8_t *chunk = nb_alloc_or_fail(CHUNK_SIZE, "reading an IDX file");
    if (!chunk)
        return NB_ENOMEM;
    nb_status status = NB_OK;
    for (int64_t offset = 0; offset < total && status == NB_OK;) {
        size_t want = total - offset < CHUNK_SIZE ? (size_t)(total - offset) : CHUNK_SIZE, got;
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

/* ---- raw arrays ------------------------------------------------------------------------ */

static void copy_bytes(const uint8_t *bytes, size_t offset, size_t size, void *ctx)
{
    memcpy((uint8_t *)ctx + offset, bytes, size);
}

nb_status nb_idx_read(const char *path, int64_t max_items, nb_idx *idx)
{
    if (!idx)
        return nb_fail(NB_EARG, "nb_idx_read: idx is NULL");
    *idx = (nb_idx){0};
    idx_file f;
    nb_status status = idx_open(path, &f);
    int64_t n_items = status == NB_OK ? items_to_read(&f, max_items) : 0;
    uint8_t *data = NULL;
    if (status == NB_OK) {
        if (n_items > INT64_MAX / f.item_size || (uint64_t)(n_items * f.item_size) > SIZE_MAX)
            status = nb_fail(NB_ENOMEM, "%s: too large", path);
        else if (!(data = nb_alloc_or_fail((size_t)(n_items * f.item_size), path)))
            status = NB_ENOMEM;
    }
    if (status == NB_OK)
        status = read_items(&f, n_items, n_items == f.dims[0], copy_bytes, data);
    idx_close(&f);
    if (status != NB_OK) {
        nb_free(data);
        return status;
    }
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

nb_dataset *nb_idx_load(const char *images_path, const char *labels_path, nb_dtype dtype, int n_classes,
                        int64_t max_items)
{
    if (!images_path || !labels_path) {
        nb_fail(NB_EARG, "nb_idx_load: the %s path is NULL", images_path ? "labels" : "images");
        return NULL;
    }
    nb_idx labels;
    idx_file f = {0};
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
        data = nb_dataset_new_labels(dtype, total_labels, f.item_size, classes);
    if (data) {
        pixel_sink sink = {.out = data->inputs};
        for (int b = 0; b < 256; b++) {
            sink.table32[b] = (float)b / 255.0f;
            sink.table64[b] = b / 255.0;
        }
        status = read_items(&f, total_labels, max_items <= 0 || max_items >= f.dims[0], convert_pixels, &sink);
        for (int64_t i = 0; i < total_labels; i++)
            nb_tensor_set(data->targets, i, labels.data[i]);
        if (f.ndim == 3) {
            data->image_shape[0] = f.dims[1];
            data->image_shape[1] = f.dims[2];
        }
        if (status != NB_OK) {
            nb_dataset_free(data);
            data = NULL;
        }
    }
    idx_close(&f);
    nb_idx_clear(&labels);
    return data;
}
