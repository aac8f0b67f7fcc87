/* IDX files, plain and gzip: images and labels into datasets, every corruption refused,
 * and the Fashion-MNIST set that Debian installs. */
#include "nb_test.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zlib.h>

/* An IDX file: magic (0, 0, type, ndim), big-endian dims, then `size` data bytes;
 * gzip-compressed when the name ends in .gz. */
static const char *write_idx(const char *name, int type, int ndim, const uint32_t *dims, const uint8_t *data,
                             size_t size)
{
    const char *path = nb_test_path(name);
    uint8_t header[4 + 4 * 8] = {0, 0, (uint8_t)type, (uint8_t)ndim};
    for (int d = 0; d < ndim; d++)
        for (int b = 0; b < 4; b++)
            header[4 + 4 * d + b] = (uint8_t)(dims[d] >> (24 - 8 * b));
    size_t header_size = 4 + 4 * (size_t)ndim;
    if (strstr(name, ".gz")) {
        gzFile gz = gzopen(path, "wb");
        assert_non_null(gz);
        assert_int_equal(gzwrite(gz, header, (unsigned)header_size), (int)header_size);
        if (size)
            assert_int_equal(gzwrite(gz, data, (unsigned)size), (int)size);
        assert_int_equal(gzclose(gz), Z_OK);
    } else {
        FILE *f = fopen(path, "wb");
        assert_non_null(f);
        fwrite(header, 1, header_size, f);
        if (size)
            fwrite(data, 1, size, f);
        fclose(f);
    }
    return path;
}

static void write_raw(const char *path, const void *data, size_t size)
{
    FILE *f = fopen(path, "wb");
    assert_non_null(f);
    fwrite(data, 1, size, f);
    fclose(f);
}

/* 5 images of 2x3 and their labels. */
static uint8_t pixels[30];
static const uint8_t labels[5] = {3, 0, 2, 1, 3};

static void make_set(const char *suffix, const char **images, const char **label_file)
{
    for (int i = 0; i < 30; i++)
        pixels[i] = (uint8_t)(i * 37 % 256);
    pixels[7] = 255;
    char name[64];
    snprintf(name, sizeof name, "images%s", suffix);
    *images = write_idx(name, 0x08, 3, (uint32_t[]){5, 2, 3}, pixels, 30);
    snprintf(name, sizeof name, "labels%s", suffix);
    *label_file = write_idx(name, 0x08, 1, (uint32_t[]){5}, labels, 5);
}

static void expect_set(const nb_dataset *data, nb_dtype dtype, int64_t n)
{
    assert_non_null(data);
    assert_int_equal(data->n, n);
    assert_int_equal(nb_dataset_dtype(data), dtype);
    assert_int_equal(nb_dataset_n_features(data), 6);
    assert_int_equal(data->n_classes, 4);
    assert_int_equal(data->image_shape[0], 2);
    assert_int_equal(data->image_shape[1], 3);
    for (int64_t i = 0; i < n * 6; i++) {
        double expected = dtype == NB_F32 ? (double)((float)pixels[i] / 255.0f) : pixels[i] / 255.0;
        assert_true(nb_tensor_get(data->inputs, i) == expected);
    }
    assert_close(nb_tensor_get(data->inputs, 7), 1, 0);
    for (int64_t i = 0; i < n; i++)
        assert_int_equal(nb_dataset_label(data, i), labels[i]);
    assert_int_equal(nb_dataset_check_labels(data), NB_OK);
}

static void test_plain_and_gzip(void **state)
{
    (void)state;
    const char *suffixes[2] = {"-idx3-ubyte", "-idx3-ubyte.gz"};
    for (int s = 0; s < 2; s++) {
        const char *images, *label_file;
        make_set(suffixes[s], &images, &label_file);
        nb_dataset *data = nb_idx_load(images, label_file, NB_F32, 0, 0);
        if (!data)
            fail_msg("%s", nb_errmsg());
        expect_set(data, NB_F32, 5);
        nb_dataset_free(data);
        data = nb_idx_load(images, label_file, NB_F64, 0, 0);
        expect_set(data, NB_F64, 5);
        nb_dataset_free(data);
        data = nb_idx_load(images, label_file, NB_F32, 0, 3); /* the first 3 only */
        expect_set(data, NB_F32, 3);
        nb_dataset_free(data);

        nb_idx raw;
        assert_int_equal(nb_idx_read(images, 0, &raw), NB_OK);
        assert_int_equal(raw.ndim, 3);
        assert_int_equal(raw.dims[0], 5);
        assert_int_equal(raw.dims[2], 3);
        assert_int_equal(raw.size, 30);
        assert_memory_equal(raw.data, pixels, 30);
        nb_idx_clear(&raw);
        assert_int_equal(nb_idx_read(images, 2, &raw), NB_OK);
        assert_int_equal(raw.dims[0], 2);
        assert_int_equal(raw.size, 12);
        nb_idx_clear(&raw);
    }
}

static void expect_read_error(const char *path, nb_status status, const char *fragment)
{
    nb_idx raw;
    nb_clear_error();
    nb_status got = nb_idx_read(path, 0, &raw);
    if (got == NB_OK) {
        nb_idx_clear(&raw);
        fail_msg("read %s; expected '%s'", path, fragment);
    }
    if (got != status || !strstr(nb_errmsg(), fragment))
        fail_msg("%s: '%s', expected %s with '%s'", nb_status_name(got), nb_errmsg(), nb_status_name(status), fragment);
    assert_null(raw.data);
}

static void test_bad_files(void **state)
{
    (void)state;
    uint8_t data[64] = {0};
    expect_read_error(nb_test_path("missing-idx3-ubyte.gz"), NB_EIO, "No such file");
    const char *path = nb_test_path("bad");
    write_raw(path, "", 0);
    expect_read_error(path, NB_EFORMAT, "empty (0 bytes): not an IDX file");
    write_raw(path, "\x89PNG\r\n\x1a\n", 8);
    expect_read_error(path, NB_EFORMAT, "not an IDX file (it starts with 0x89 0x50, not 0x00 0x00)");
    expect_read_error(write_idx("float.gz", 0x0D, 1, (uint32_t[]){4}, data, 16), NB_EFORMAT,
                      "IDX data type 0x0d (float32) is not supported");
    expect_read_error(write_idx("five-dims", 0x08, 5, (uint32_t[]){1, 1, 1, 1, 2}, data, 2), NB_EFORMAT,
                      "5 dimensions; nabla reads IDX files of 1 to 4");
    expect_read_error(write_idx("no-dims", 0x08, 0, NULL, data, 0), NB_EFORMAT, "0 dimensions");
    expect_read_error(write_idx("zero-dim", 0x08, 2, (uint32_t[]){3, 0}, data, 0), NB_EFORMAT, "dimension 2 is 0");
    expect_read_error(write_idx("huge-dims", 0x08, 3, (uint32_t[]){4000000000u, 4000000000u, 4000000000u}, data, 0),
                      NB_EFORMAT, "dimensions [4000000000, 4000000000] are not plausible");
    write_raw(path, "\0\0\x08\x03\0\0\0\x05\0\0", 10);
    expect_read_error(path, NB_EFORMAT, "truncated in its header (3 dimensions announced)");

    /* Dimensions that do not match the data: short (plain and gzip), or long. */
    expect_read_error(write_idx("short", 0x08, 2, (uint32_t[]){4, 5}, data, 17), NB_EFORMAT,
                      "truncated: dimensions [4, 5] need 20 bytes of data, the file holds 17");
    expect_read_error(write_idx("short.gz", 0x08, 2, (uint32_t[]){4, 5}, data, 17), NB_EFORMAT,
                      "truncated: dimensions [4, 5] need 20 bytes of data, the file holds 17");
    expect_read_error(write_idx("long.gz", 0x08, 2, (uint32_t[]){4, 5}, data, 23), NB_EFORMAT,
                      "3 bytes of data beyond what its dimensions [4, 5] declare");

    /* A gzip file cut short, and one with damaged compressed data. */
    uint8_t big[20000];
    for (size_t i = 0; i < sizeof big; i++)
        big[i] = (uint8_t)(i * 2654435761u >> 13); /* incompressible enough */
    const char *gz = write_idx("big.gz", 0x08, 2, (uint32_t[]){200, 100}, big, sizeof big);
    FILE *f = fopen(gz, "rb");
    uint8_t compressed[40000];
    size_t n = fread(compressed, 1, sizeof compressed, f);
    fclose(f);
    assert_true(n > 1000);
    write_raw(path, compressed, n / 2);
    nb_idx raw;
    assert_int_not_equal(nb_idx_read(path, 0, &raw), NB_OK);
    assert_int_equal(nb_errcode(), NB_EFORMAT);
    assert_true(strstr(nb_errmsg(), "truncated") || strstr(nb_errmsg(), "corrupt gzip data"));
    for (size_t i = n / 3; i < n / 3 + 64; i++)
        compressed[i] ^= 0x5a;
    write_raw(path, compressed, n);
    assert_int_not_equal(nb_idx_read(path, 0, &raw), NB_OK);
    assert_int_equal(nb_errcode(), NB_EFORMAT);
    assert_non_null(strstr(nb_errmsg(), "bad"));
    assert_true(strstr(nb_errmsg(), "corrupt gzip data") || strstr(nb_errmsg(), "truncated"));
}

static void expect_load_error(const char *images, const char *label_file, int n_classes, int64_t max_items,
                              const char *fragment)
{
    nb_clear_error();
    nb_dataset *data = nb_idx_load(images, label_file, NB_F32, n_classes, max_items);
    if (data) {
        nb_dataset_free(data);
        fail_msg("loaded; expected '%s'", fragment);
    }
    if (!strstr(nb_errmsg(), fragment))
        fail_msg("'%s' lacks '%s'", nb_errmsg(), fragment);
}

static void test_bad_pairs(void **state)
{
    (void)state;
    const char *images, *label_file;
    make_set("-pair", &images, &label_file);
    const char *four = write_idx("four-labels", 0x08, 1, (uint32_t[]){4}, labels, 4);
    expect_load_error(images, four, 0, 0, "images-pair has 5 images but");
    expect_load_error(images, four, 0, 0, "four-labels has 4 labels");
    expect_load_error(images, four, 0, 5, "has 4 labels (reading the first 5)");
    nb_dataset *data = nb_idx_load(images, four, NB_F32, 0, 4); /* the first 4 of each agree */
    assert_non_null(data);
    nb_dataset_free(data);
    expect_load_error(images, label_file, 3, 0, "labels-pair: the label of item 0 is 3, outside the classes 0..2");
    const char *square = write_idx("square-labels", 0x08, 2, (uint32_t[]){5, 1}, labels, 5);
    expect_load_error(images, square, 0, 0, "labels must be one-dimensional, the file has dimensions [5, 1]");
    const char *flat = write_idx("flat-images", 0x08, 1, (uint32_t[]){5}, pixels, 5);
    expect_load_error(flat, label_file, 0, 0, "images need at least two dimensions");
    expect_load_error(nb_test_path("nothing"), label_file, 0, 0, "cannot open");
    expect_load_error(images, nb_test_path("nothing"), 0, 0, "cannot open");

    /* [N, features] images are fine: no image shape. */
    const char *rows = write_idx("rows", 0x08, 2, (uint32_t[]){5, 6}, pixels, 30);
    data = nb_idx_load(rows, label_file, NB_F32, 0, 0);
    assert_non_null(data);
    assert_int_equal(data->image_shape[0], 0);
    assert_int_equal(nb_dataset_n_features(data), 6);
    nb_dataset_free(data);
}

/* ---- inputs that claim more than they hold ------------------------------------------- */

static size_t file_size(const char *path)
{
    FILE *f = fopen(path, "rb");
    assert_non_null(f);
    fseek(f, 0, SEEK_END);
    long size = ftell(f);
    fclose(f);
    return (size_t)size;
}

/* nb_idx_read fails with `fragment`, having asked for no more than the bound. */
static void expect_bounded_read_error(const char *path, const char *fragment)
{
    size_t size = file_size(path);
    nb_count_bounded(size);
    expect_read_error(path, NB_EFORMAT, fragment);
    nb_check_bounded(size);
}

/* Headers of a few bytes that claim a gigabyte or four: refused as truncated, plain or
 * gzip, before anything of the claimed size is allocated. */
static void test_claims_bounded(void **state)
{
    (void)state;
    const char *suffixes[2] = {"", ".gz"};
    uint8_t nine[9] = {0};
    for (int s = 0; s < 2; s++) {
        char name[64];
        snprintf(name, sizeof name, "gigabyte%s", suffixes[s]);
        expect_bounded_read_error(write_idx(name, 0x08, 3, (uint32_t[]){1u << 20, 32, 32}, nine, 9),
                                  "truncated: dimensions [1048576, 32, 32] need 1073741824 bytes of data, the file "
                                  "holds 9");
        snprintf(name, sizeof name, "4G-labels%s", suffixes[s]);
        expect_bounded_read_error(write_idx(name, 0x08, 1, (uint32_t[]){0xFFFFFFFFu}, NULL, 0),
                                  "truncated: dimensions [4294967295] need 4294967295 bytes of data, the file holds 0");

        /* A real megabyte of labels and 25 bytes of images claiming as many: the images
         * are found missing before the dataset (4 GiB of floats) is allocated. */
        static uint8_t many[1 << 20];
        snprintf(name, sizeof name, "many-labels%s", suffixes[s]);
        const char *label_file = write_idx(name, 0x08, 1, (uint32_t[]){1u << 20}, many, sizeof many);
        snprintf(name, sizeof name, "few-images%s", suffixes[s]);
        const char *images = write_idx(name, 0x08, 3, (uint32_t[]){1u << 20, 32, 32}, nine, 9);
        size_t size = file_size(label_file) + file_size(images);
        nb_count_bounded(size);
        expect_load_error(images, label_file, 0, 0, "need 1073741824 bytes of data, the file holds 9");
        nb_check_bounded(size);
    }
}

static void append(const char *path, const void *data, size_t size)
{
    FILE *f = fopen(path, "ab");
    assert_non_null(f);
    assert_int_equal(fwrite(data, 1, size, f), size);
    fclose(f);
}

/* Bytes after the gzip data are refused; a second gzip member is more of the same data. */
static void test_gzip_trailing_junk(void **state)
{
    (void)state;
    const char *path = write_idx("junk.gz", 0x08, 1, (uint32_t[]){5}, labels, 5);
    nb_idx raw;
    assert_int_equal(nb_idx_read(path, 0, &raw), NB_OK);
    nb_idx_clear(&raw);
    size_t size = file_size(path);
    append(path, "junk!\n", 6);
    char expected[128];
    snprintf(expected, sizeof expected, "6 bytes after the end of its gzip data (at byte %zu) are not gzip", size);
    expect_read_error(path, NB_EFORMAT, expected);
    append(path, "\x1f", 1); /* half a gzip magic number is junk too */
    expect_read_error(path, NB_EFORMAT, "7 bytes after the end of its gzip data");

    /* The header in one member, the data in a second: as gzip -d reads it. */
    path = write_idx("two-members.gz", 0x08, 1, (uint32_t[]){5}, NULL, 0);
    gzFile gz = gzopen(path, "ab");
    assert_non_null(gz);
    assert_int_equal(gzwrite(gz, labels, 5), 5);
    assert_int_equal(gzclose(gz), Z_OK);
    assert_int_equal(nb_idx_read(path, 0, &raw), NB_OK);
    assert_int_equal(raw.size, 5);
    assert_memory_equal(raw.data, labels, 5);
    nb_idx_clear(&raw);
    append(path, "\0\0\0\0", 4);
    expect_read_error(path, NB_EFORMAT, "4 bytes after the end of its gzip data");
}

/* A FIFO and a device are refused before they are read: neither hangs nor runs on. */
static void test_special_files(void **state)
{
    (void)state;
    const char *fifo = nb_test_path("fifo-idx3-ubyte");
    assert_int_equal(mkfifo(fifo, 0600), 0);
    alarm(20); /* a reader that waits for a writer ends the test here, as a failure */
    expect_read_error(fifo, NB_EIO, "it is a FIFO (named pipe), not a regular file");
    expect_load_error(fifo, fifo, 0, 0, "it is a FIFO (named pipe), not a regular file");
    expect_read_error("/dev/zero", NB_EIO, "'/dev/zero': it is a device, not a regular file");
    expect_read_error("/", NB_EIO, "it is a directory, not a regular file");
    alarm(0);
}

/* ---- the real thing ------------------------------------------------------------------- */

/* Fashion-MNIST as Debian's dataset-fashion-mnist installs it (scripts/deps.sh): gzip
 * files of the published size. */
#define FASHION "/usr/share/datasets/fashion-mnist/"

static void test_fashion_mnist(void **state)
{
    (void)state;
    nb_dataset *test = nb_idx_load(FASHION "t10k-images-idx3-ubyte.gz", FASHION "t10k-labels-idx1-ubyte.gz", NB_F32,
                                   10, 0);
    if (!test)
        fail_msg("%s", nb_errmsg());
    assert_int_equal(test->n, 10000);
    assert_int_equal(nb_dataset_n_features(test), 784);
    assert_int_equal(test->image_shape[0], 28);
    assert_int_equal(test->n_classes, 10);
    /* The published set is balanced: 1,000 test images per class. */
    int64_t per_class[10] = {0};
    for (int64_t i = 0; i < test->n; i++)
        per_class[nb_dataset_label(test, i)]++;
    for (int k = 0; k < 10; k++)
        assert_int_equal(per_class[k], 1000);
    const float *x = nb_tensor_f32(test->inputs);
    float lo = 1, hi = 0;
    for (int64_t i = 0; i < test->inputs->size; i++) {
        lo = x[i] < lo ? x[i] : lo;
        hi = x[i] > hi ? x[i] : hi;
    }
    assert_true(lo == 0.0f && hi == 1.0f);
    nb_dataset_free(test);

    /* The first training images: the very first is an ankle boot (class 9). */
    nb_dataset *train = nb_idx_load(FASHION "train-images-idx3-ubyte.gz", FASHION "train-labels-idx1-ubyte.gz",
                                    NB_F32, 10, 100);
    assert_non_null(train);
    assert_int_equal(train->n, 100);
    assert_int_equal(nb_dataset_label(train, 0), 9);
    nb_dataset_free(train);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_plain_and_gzip),
        cmocka_unit_test(test_bad_files),
        cmocka_unit_test(test_bad_pairs),
        cmocka_unit_test_teardown(test_claims_bounded, nb_test_restore_allocator),
        cmocka_unit_test(test_gzip_trailing_junk),
        cmocka_unit_test(test_special_files),
        cmocka_unit_test(test_fashion_mnist),
    };
    return cmocka_run_group_tests(tests, nb_test_make_dir, nb_test_remove_dir);
}
