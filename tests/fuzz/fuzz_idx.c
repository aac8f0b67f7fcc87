/* IDX files, plain and gzip: the input as a file as it is (plain, or gzip when the
 * fuzzer makes one), then gzip-compressed here, so that the IDX reader behind zlib sees
 * every mutation of the plain bytes too. Each is read whole, read for its first items,
 * and loaded as images with itself as labels. */
#include "fuzz_common.h"

#include "nabla/io.h"

#include <stdlib.h>
#include <zlib.h>

static void load(const char *path)
{
    nb_idx idx = {0};
    if (nb_idx_read(path, 0, &idx) == NB_OK)
        nb_idx_clear(&idx);
    nb_idx idx2 = {0};
    if (nb_idx_read(path, 2, &idx2) == NB_OK)
        nb_idx_clear(&idx2);
    nb_dataset_free(nb_idx_load(path, path, NB_F32, 0, 0));
    nb_dataset_free(nb_idx_load(path, path, NB_F64, 10, 3));
}

/* The input in gzip format, in a malloc'ed buffer of *out_size bytes; NULL on failure. */
static uint8_t *gzip(const uint8_t *data, size_t size, size_t *out_size)
{
    z_stream z = {0};
    if (deflateInit2(&z, 1, Z_DEFLATED, 9 + 16, 1, Z_DEFAULT_STRATEGY) != Z_OK)
        return NULL;
    size_t bound = deflateBound(&z, (uLong)size);
    uint8_t *out = malloc(bound);
    if (!out) {
        deflateEnd(&z);
        return NULL;
    }
    z.next_in = (Bytef *)data;
    z.avail_in = (uInt)size;
    z.next_out = out;
    z.avail_out = (uInt)bound;
    int status = deflate(&z, Z_FINISH);
    *out_size = bound - z.avail_out;
    deflateEnd(&z);
    if (status != Z_STREAM_END) {
        free(out);
        return NULL;
    }
    return out;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    fuzz_begin(size);
    const char *path = fuzz_file(0, data, size);
    if (path)
        load(path);
    size_t packed_size = 0;
    uint8_t *packed = gzip(data, size, &packed_size);
    if (!packed)
        return 0;
    path = fuzz_file(1, packed, packed_size);
    if (path)
        load(path);
    free(packed);
    return 0;
}
