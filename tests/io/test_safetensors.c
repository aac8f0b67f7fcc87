/* safetensors: round trips, an independent Python reader and writer, graphs in and out
 * by name, atomic saving, and a file corrupted in every way the loader must refuse. */
#include "nb_test.h"

#include <dirent.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

/* The whole file, malloc'ed (NULL when missing). */
static unsigned char *slurp(const char *path, size_t *size)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return NULL;
    fseek(f, 0, SEEK_END);
    long n = ftell(f);
    fseek(f, 0, SEEK_SET);
    unsigned char *data = malloc((size_t)n + 1);
    assert_int_equal(fread(data, 1, (size_t)n, f), (size_t)n);
    fclose(f);
    *size = (size_t)n;
    return data;
}

static void spit(const char *path, const void *data, size_t size)
{
    FILE *f = fopen(path, "wb");
    assert_non_null(f);
    assert_int_equal(fwrite(data, 1, size, f), size);
    fclose(f);
}

static int count_temp_files(void)
{
    DIR *dir = opendir(nb_test_dir());
    assert_non_null(dir);
    int n = 0;
    for (struct dirent *e; (e = readdir(dir));)
        n += strstr(e->d_name, ".tmp.") != NULL;
    closedir(dir);
    return n;
}

/* ---- the tensors the Python peer knows (see tests/safetensors_peer.py) ------------ */
typedef struct {
    nb_tensor *weight, *bias, *scalar, *empty;
} peer_set;

static peer_set make_peer_set(void)
{
    peer_set s;
    s.weight = nb_tensor_zeros(NB_F32, 2, (int64_t[]){2, 3});
    for (int i = 0; i < 6; i++)
        nb_tensor_set(s.weight, i, i * 0.25 - 1);
    s.bias = nb_tensor_zeros(NB_F64, 1, (int64_t[]){4});
    for (int i = 0; i < 4; i++)
        nb_tensor_set(s.bias, i, 1.0 / (i + 3));
    s.scalar = nb_tensor_full(NB_F64, 0, NULL, 2.5);
    s.empty = nb_tensor_zeros(NB_F32, 2, (int64_t[]){0, 3});
    assert_true(s.weight && s.bias && s.scalar && s.empty);
    return s;
}

static void free_peer_set(peer_set *s)
{
    nb_tensor_free(s->weight);
    nb_tensor_free(s->bias);
    nb_tensor_free(s->scalar);
    nb_tensor_free(s->empty);
}

static const nb_safetensors_meta_entry peer_meta[2] = {{"model", "784-256-10:relu"}, {"note", "quote \" and \xc3\xa9"}};

static nb_status save_peer_set(const char *path, const peer_set *s)
{
    nb_safetensors_entry entries[4] = {{"weight", s->weight}, {"bias", s->bias}, {"scalar", s->scalar}, {"empty", s->empty}};
    return nb_safetensors_save(path, entries, 4, peer_meta, 2);
}

static void expect_peer_set(const nb_safetensors *file)
{
    assert_int_equal(nb_safetensors_count(file), 4);
    const nb_tensor *w = nb_safetensors_get(file, "weight"), *b = nb_safetensors_get(file, "bias");
    const nb_tensor *s = nb_safetensors_get(file, "scalar"), *e = nb_safetensors_get(file, "empty");
    assert_true(w && b && s && e);
    assert_int_equal(w->dtype, NB_F32);
    assert_true(nb_shape_equal(w->ndim, w->shape, 2, (int64_t[]){2, 3}));
    for (int i = 0; i < 6; i++)
        assert_close(nb_tensor_get(w, i), i * 0.25 - 1, 0);
    assert_int_equal(b->dtype, NB_F64);
    for (int i = 0; i < 4; i++)
        assert_close(nb_tensor_get(b, i), 1.0 / (i + 3), 0);
    assert_int_equal(s->ndim, 0);
    assert_close(nb_tensor_get(s, 0), 2.5, 0);
    assert_true(nb_shape_equal(e->ndim, e->shape, 2, (int64_t[]){0, 3}));
    assert_int_equal(nb_safetensors_meta_count(file), 2);
    assert_string_equal(nb_safetensors_meta(file, "model"), "784-256-10:relu");
    assert_string_equal(nb_safetensors_meta(file, "note"), peer_meta[1].value);
    assert_null(nb_safetensors_meta(file, "absent"));
    assert_null(nb_safetensors_get(file, "absent"));
    assert_non_null(strstr(nb_errmsg(), "has no tensor 'absent'"));
}

static int run_peer(const char *mode, const char *path)
{
    char command[512];
    snprintf(command, sizeof command, "/usr/bin/python3 %s/tests/safetensors_peer.py %s '%s'", NB_SOURCE_DIR, mode,
             path);
    return system(command);
}

static void test_round_trip(void **state)
{
    (void)state;
    peer_set s = make_peer_set();
    const char *path = nb_test_path("peer.safetensors");
    assert_int_equal(save_peer_set(path, &s), NB_OK);
    nb_safetensors *file = nb_safetensors_load(path);
    if (!file)
        fail_msg("%s", nb_errmsg());
    expect_peer_set(file);
    /* The tensors come in the order of their data. */
    assert_string_equal(nb_safetensors_name(file, 0), "weight");
    assert_null(nb_safetensors_name(file, 4));
    nb_safetensors_free(file);

    /* The layout the format asks for: header length, 8-byte aligned data. */
    size_t size;
    unsigned char *blob = slurp(path, &size);
    uint64_t header_len = 0;
    for (int b = 7; b >= 0; b--)
        header_len = header_len << 8 | blob[b];
    assert_int_equal((8 + header_len) % 8, 0);
    assert_int_equal(size, 8 + header_len + 6 * 4 + 4 * 8 + 8);
    assert_int_equal(blob[8], '{');
    free(blob);
    free_peer_set(&s);
}

static void test_python_reads_nabla(void **state)
{
    (void)state;
    peer_set s = make_peer_set();
    const char *path = nb_test_path("for-python.safetensors");
    assert_int_equal(save_peer_set(path, &s), NB_OK);
    assert_int_equal(run_peer("check", path), 0);
    free_peer_set(&s);

    /* And the independent reader is not a rubber stamp: a wrong value fails it. */
    s = make_peer_set();
    nb_tensor_set(s.bias, 1, 0.3); /* 1/4 expected */
    assert_int_equal(save_peer_set(path, &s), NB_OK);
    assert_int_not_equal(run_peer("check", path), 0);
    free_peer_set(&s);
}

static void test_nabla_reads_python(void **state)
{
    (void)state;
    const char *path = nb_test_path("from-python.safetensors");
    assert_int_equal(run_peer("write", path), 0);
    nb_safetensors *file = nb_safetensors_load(path);
    if (!file)
        fail_msg("%s", nb_errmsg());
    expect_peer_set(file);
    assert_string_equal(nb_safetensors_name(file, 0), "scalar"); /* data order */
    nb_safetensors_free(file);
}

/* ---- graphs ---------------------------------------------------------------------- */

/* y = tanh(x·W + b) with W [3, 2] and b [2]; the parameters filled from a seed. */
static nb_graph *make_model(nb_dtype dtype, int64_t hidden, nb_node **out, nb_node **x, uint64_t seed)
{
    nb_graph *g = nb_graph_new(dtype);
    *x = nb_input(g, "x", 2, (int64_t[]){4, 3});
    nb_node *w = nb_param(g, "layer1.weight", 2, (int64_t[]){3, hidden});
    nb_node *b = nb_param(g, "layer1.bias", 1, (int64_t[]){hidden});
    *out = nb_tanh(nb_add(nb_matmul(*x, w, false, false), b));
    assert_non_null(*out);
    nb_rng rng;
    nb_rng_seed(&rng, seed);
    nb_tensor_fill_normal(nb_value(w), &rng, 0, 1);
    nb_tensor_fill_normal(nb_value(b), &rng, 0, 1);
    for (int i = 0; i < 12; i++)
        nb_tensor_set(nb_value(*x), i, i * 0.1 - 0.5);
    return g;
}

static void test_graph_save_load_predict(void **state)
{
    (void)state;
    nb_node *out1, *out2, *x1, *x2;
    nb_graph *g1 = make_model(NB_F32, 2, &out1, &x1, 7);
    nb_graph *g2 = make_model(NB_F32, 2, &out2, &x2, 8); /* other values */
    const char *path = nb_test_path("model.safetensors");
    nb_safetensors_meta_entry meta[1] = {{"model", "3-2:tanh"}};
    double mean[3] = {1, 2, 3};
    nb_tensor *scaler = nb_tensor_from(NB_F64, 1, (int64_t[]){3}, mean);
    nb_safetensors_entry extra[1] = {{"scaler.mean", scaler}};
    assert_int_equal(nb_safetensors_save_graph(path, g1, extra, 1, meta, 1), NB_OK);

    /* The extra tensor is not a parameter: refused unless allowed. */
    assert_int_equal(nb_safetensors_load_graph(path, g2, false), NB_EARG);
    assert_non_null(strstr(nb_errmsg(), "tensor 'scaler.mean' is not a parameter of the model"));
    assert_int_equal(nb_safetensors_load_graph(path, g2, true), NB_OK);

    assert_int_equal(nb_forward(out1), NB_OK);
    assert_int_equal(nb_forward(out2), NB_OK);
    const nb_tensor *y1 = nb_value(out1), *y2 = nb_value(out2);
    for (int64_t i = 0; i < y1->size; i++)
        assert_true(nb_tensor_get(y1, i) == nb_tensor_get(y2, i)); /* identical, not close */

    /* Into a float64 model: converted. */
    nb_node *out3, *x3;
    nb_graph *g3 = make_model(NB_F64, 2, &out3, &x3, 9);
    assert_int_equal(nb_safetensors_load_graph(path, g3, true), NB_OK);
    assert_close(nb_tensor_get(nb_value(nb_param_at(g3, 0)), 5), nb_tensor_get(nb_value(nb_param_at(g1, 0)), 5), 0);

    nb_tensor_free(scaler);
    nb_graph_free(g1);
    nb_graph_free(g2);
    nb_graph_free(g3);
}

static void test_graph_mismatch(void **state)
{
    (void)state;
    nb_node *out, *x;
    nb_graph *saved = make_model(NB_F32, 2, &out, &x, 1);
    const char *path = nb_test_path("small.safetensors");
    assert_int_equal(nb_safetensors_save_graph(path, saved, NULL, 0, NULL, 0), NB_OK);

    /* A wider model: the message names the tensor and both shapes; nothing changes. */
    nb_graph *wider = make_model(NB_F32, 5, &out, &x, 2);
    nb_tensor *before = nb_tensor_clone(nb_value(nb_param_at(wider, 1)));
    nb_tensor_set(nb_value(nb_param_at(wider, 0)), 0, 42);
    assert_int_equal(nb_safetensors_load_graph(path, wider, true), NB_ESHAPE);
    assert_non_null(strstr(nb_errmsg(), "small.safetensors"));
    assert_non_null(strstr(nb_errmsg(), "tensor 'layer1.weight' has shape [3, 2] in the file, but the model's "
                                        "parameter is [3, 5]"));
    assert_close(nb_tensor_get(nb_value(nb_param_at(wider, 0)), 0), 42, 0);
    for (int i = 0; i < 5; i++)
        assert_true(nb_tensor_get(nb_value(nb_param_at(wider, 1)), i) == nb_tensor_get(before, i));
    nb_tensor_free(before);

    /* A model with a parameter the file lacks. */
    nb_param(wider, "layer2.weight", 2, (int64_t[]){5, 1});
    nb_graph_free(saved);
    saved = make_model(NB_F32, 5, &out, &x, 3);
    assert_int_equal(nb_safetensors_save_graph(path, saved, NULL, 0, NULL, 0), NB_OK);
    assert_int_equal(nb_safetensors_load_graph(path, wider, false), NB_EARG);
    assert_non_null(strstr(nb_errmsg(), "no tensor 'layer2.weight' for the model's parameter of shape [5, 1]"));

    /* Two parameters of one name cannot be saved, nor loaded into. */
    nb_param(saved, "layer1.bias", 1, (int64_t[]){5});
    assert_int_equal(nb_safetensors_save_graph(path, saved, NULL, 0, NULL, 0), NB_EARG);
    assert_non_null(strstr(nb_errmsg(), "two tensors are named 'layer1.bias'"));
    assert_int_equal(nb_safetensors_load_graph(path, saved, true), NB_EARG);
    assert_non_null(strstr(nb_errmsg(), "two parameters named 'layer1.bias'"));
    nb_graph_free(saved);
    nb_graph_free(wider);
}

/* ---- saving is atomic ---------------------------------------------------------------- */

static void test_atomic_save(void **state)
{
    (void)state;
    peer_set s = make_peer_set();
    const char *path = nb_test_path("keep.safetensors");
    assert_int_equal(save_peer_set(path, &s), NB_OK);
    size_t old_size;
    unsigned char *old = slurp(path, &old_size);

    /* Bad arguments: refused before anything is written. */
    nb_safetensors_entry bad[2] = {{"a", s.weight}, {"a", s.bias}};
    assert_int_equal(nb_safetensors_save(path, bad, 2, NULL, 0), NB_EARG);
    assert_non_null(strstr(nb_errmsg(), "two tensors are named 'a'"));
    nb_safetensors_entry reserved[1] = {{"__metadata__", s.weight}};
    assert_int_equal(nb_safetensors_save(path, reserved, 1, NULL, 0), NB_EARG);
    nb_safetensors_meta_entry twice[2] = {{"k", "1"}, {"k", "2"}};
    assert_int_equal(nb_safetensors_save(path, bad, 1, twice, 2), NB_EARG);
    assert_non_null(strstr(nb_errmsg(), "two metadata entries have the key 'k'"));

    /* A write that fails half-way (the file size limit is hit): the old file stays,
     * the temporary file goes. */
    nb_tensor *big = nb_tensor_zeros(NB_F64, 1, (int64_t[]){100000});
    nb_safetensors_entry entries[1] = {{"big", big}};
    struct rlimit saved_limit, limit;
    assert_int_equal(getrlimit(RLIMIT_FSIZE, &saved_limit), 0);
    limit = saved_limit;
    limit.rlim_cur = 64 * 1024;
    void (*saved_handler)(int) = signal(SIGXFSZ, SIG_IGN);
    assert_int_equal(setrlimit(RLIMIT_FSIZE, &limit), 0);
    nb_status status = nb_safetensors_save(path, entries, 1, NULL, 0);
    assert_int_equal(setrlimit(RLIMIT_FSIZE, &saved_limit), 0);
    signal(SIGXFSZ, saved_handler);
    assert_int_equal(status, NB_EIO);
    assert_non_null(strstr(nb_errmsg(), "the file was not changed"));
    size_t now_size;
    unsigned char *now = slurp(path, &now_size);
    assert_int_equal(now_size, old_size);
    assert_memory_equal(now, old, old_size);
    free(now);
    assert_int_equal(count_temp_files(), 0);

    /* A directory that does not exist. */
    assert_int_equal(nb_safetensors_save(nb_test_path("no/such/dir/x.safetensors"), entries, 1, NULL, 0), NB_EIO);
    assert_non_null(strstr(nb_errmsg(), "cannot create a temporary file"));

    /* A successful save replaces the file whole and keeps its mode. */
    chmod(path, 0640);
    assert_int_equal(nb_safetensors_save(path, entries, 1, NULL, 0), NB_OK);
    struct stat st;
    assert_int_equal(stat(path, &st), 0);
    assert_int_equal(st.st_mode & 0777, 0640);
    assert_int_equal(count_temp_files(), 0);
    nb_tensor_free(big);
    free(old);
    free_peer_set(&s);
}

/* ---- corrupt and foreign files ------------------------------------------------------- */

/* A file of a given header text and data bytes (header length field computed). */
static const char *craft(const char *header, const void *data, size_t data_size)
{
    const char *path = nb_test_path("crafted.safetensors");
    size_t len = strlen(header);
    unsigned char *blob = malloc(8 + len + data_size + 1);
    for (int b = 0; b < 8; b++)
        blob[b] = (unsigned char)((uint64_t)len >> (8 * b));
    memcpy(blob + 8, header, len);
    if (data_size)
        memcpy(blob + 8 + len, data, data_size);
    spit(path, blob, 8 + len + data_size);
    free(blob);
    return path;
}

static void expect_refused(const char *path, nb_status status, const char *fragment)
{
    nb_clear_error();
    nb_safetensors *file = nb_safetensors_load(path);
    if (file) {
        nb_safetensors_free(file);
        fail_msg("loaded; expected a refusal mentioning '%s'", fragment);
    }
    if (nb_errcode() != status || !strstr(nb_errmsg(), fragment))
        fail_msg("%s: '%s', expected %s with '%s'", nb_status_name(nb_errcode()), nb_errmsg(), nb_status_name(status),
                 fragment);
}

static void test_corrupt_files(void **state)
{
    (void)state;
    static const unsigned char zeros[64] = {0};
    const char *two = "{\"a\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]},"
                      "\"b\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[8,16]}}";
    nb_safetensors *good = nb_safetensors_load(craft(two, zeros, 16));
    if (!good)
        fail_msg("the well-formed file was refused: %s", nb_errmsg());
    nb_safetensors_free(good);

    /* Missing, not a file, too short, foreign. */
    expect_refused(nb_test_path("missing.safetensors"), NB_EIO, "No such file");
    expect_refused(nb_test_dir(), NB_EIO, "not a regular file");
    const char *path = nb_test_path("short.safetensors");
    spit(path, "\x10\0\0", 3);
    expect_refused(path, NB_EFORMAT, "3 bytes is too short for a safetensors file");
    spit(path, "\x89PNG\r\n\x1a\n\0\0\0\rIHDR\0\0\0\x10", 20);
    expect_refused(path, NB_EFORMAT, "does not fit a file of 20 bytes: truncated, or not a safetensors file");
    spit(path, "\x08\0\0\0\0\0\0\0hello, w", 16);
    expect_refused(path, NB_EFORMAT, "not a safetensors file: its header does not begin with a JSON object");

    /* Truncated: the header, or the data. */
    size_t size;
    unsigned char *blob = slurp(craft(two, zeros, 16), &size);
    spit(path, blob, size - 4);
    expect_refused(path, NB_EFORMAT, "tensor 'b': data_offsets [8, 16] go past the end of the data (12 bytes): the "
                                     "file is truncated");
    spit(path, blob, 40);
    expect_refused(path, NB_EFORMAT, "does not fit a file of 40 bytes");
    free(blob);

    /* The header itself. */
    expect_refused(craft("{\"a\":{\"dtype\":\"F32\",", zeros, 0), NB_EPARSE, "the header is not valid JSON");
    expect_refused(craft("[1, 2]", zeros, 0), NB_EFORMAT, "does not begin with a JSON object");
    expect_refused(craft("{} x", zeros, 0), NB_EFORMAT, "the header has text after its JSON object");
    char with_nul[] = "{}  ";
    with_nul[3] = '\0';
    blob = malloc(12);
    memcpy(blob, "\x04\0\0\0\0\0\0\0", 8);
    memcpy(blob + 8, with_nul, 4);
    spit(path, blob, 12);
    free(blob);
    expect_refused(path, NB_EFORMAT, "its header holds a NUL byte");

    /* Entries. */
    expect_refused(craft("{\"a\":{\"dtype\":\"BF16\",\"shape\":[2],\"data_offsets\":[0,4]}}", zeros, 4), NB_EDTYPE,
                   "tensor 'a' has dtype 'BF16'; nabla reads F32 and F64");
    expect_refused(craft("{\"a\":{\"shape\":[2],\"data_offsets\":[0,8]}}", zeros, 8), NB_EFORMAT,
                   "tensor 'a' lacks a dtype string");
    expect_refused(craft("{\"a\":{\"dtype\":\"F32\",\"data_offsets\":[0,8]}}", zeros, 8), NB_EFORMAT,
                   "tensor 'a' lacks a shape array");
    expect_refused(craft("{\"a\":{\"dtype\":\"F32\",\"shape\":[2]}}", zeros, 8), NB_EFORMAT,
                   "tensor 'a' lacks a data_offsets array");
    expect_refused(craft("{\"a\":7}", zeros, 0), NB_EFORMAT, "the entry of tensor 'a' is not an object");
    expect_refused(craft("{\"a\":{\"dtype\":\"F32\",\"shape\":[2, -1],\"data_offsets\":[0,8]}}", zeros, 8),
                   NB_EFORMAT, "dimension 2 of its shape is not a whole number");
    expect_refused(craft("{\"a\":{\"dtype\":\"F32\",\"shape\":[1,1,1,1,2],\"data_offsets\":[0,8]}}", zeros, 8),
                   NB_EFORMAT, "tensor 'a' has 5 dimensions; nabla handles at most 4");
    expect_refused(craft("{\"a\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[8,0]}}", zeros, 8), NB_EFORMAT,
                   "data_offsets must be two whole numbers");
    expect_refused(craft("{\"a\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0.5,8]}}", zeros, 8),
                   NB_EFORMAT, "data_offsets must be two whole numbers");
    expect_refused(craft("{\"a\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0]}}", zeros, 8), NB_EFORMAT,
                   "data_offsets must be two whole numbers");
    expect_refused(craft("{\"a\":{\"dtype\":\"F32\",\"shape\":[2, 3],\"data_offsets\":[0,20]}}", zeros, 20),
                   NB_EFORMAT, "tensor 'a': shape [2, 3] of F32 needs 24 bytes, but data_offsets [0, 20] hold 20");
    expect_refused(craft("{\"a\":{\"dtype\":\"F64\",\"shape\":[3],\"data_offsets\":[0,24]}}", zeros, 16), NB_EFORMAT,
                   "go past the end of the data (16 bytes)");

    /* Layout: overlap, gap, trailing bytes, a name twice. */
    expect_refused(craft("{\"a\":{\"dtype\":\"F32\",\"shape\":[4],\"data_offsets\":[0,16]},"
                         "\"b\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[8,16]}}", zeros, 16),
                   NB_EFORMAT, "tensors 'a' [0, 16) and 'b' [8, 16) overlap");
    expect_refused(craft("{\"a\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]},"
                         "\"b\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[12,20]}}", zeros, 20),
                   NB_EFORMAT, "4 bytes at data offset 8 belong to no tensor (before 'b')");
    expect_refused(craft("{\"b\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[4,12]}}", zeros, 12), NB_EFORMAT,
                   "4 bytes at data offset 0 belong to no tensor");
    expect_refused(craft(two, zeros, 20), NB_EFORMAT, "4 bytes of trailing data after the last tensor");
    expect_refused(craft("{}", zeros, 3), NB_EFORMAT, "3 bytes of trailing data");
    expect_refused(craft("{\"a\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]},"
                         "\"a\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[8,16]}}", zeros, 16),
                   NB_EFORMAT, "the tensor name 'a' appears twice");

    /* Metadata. */
    expect_refused(craft("{\"__metadata__\":{\"epochs\":5}}", zeros, 0), NB_EFORMAT, "metadata 'epochs' is not a string");
    expect_refused(craft("{\"__metadata__\":[]}", zeros, 0), NB_EFORMAT, "\"__metadata__\" is not an object");
    expect_refused(craft("{\"__metadata__\":{},\"__metadata__\":{}}", zeros, 0), NB_EFORMAT,
                   "\"__metadata__\" appears twice");
    expect_refused(craft("{\"__metadata__\":{\"k\":\"1\",\"k\":\"2\"}}", zeros, 0), NB_EFORMAT,
                   "the metadata key 'k' appears twice");

    /* An empty set is a valid file. */
    nb_safetensors *empty = nb_safetensors_load(craft("{}      ", zeros, 0));
    assert_non_null(empty);
    assert_int_equal(nb_safetensors_count(empty), 0);
    nb_safetensors_free(empty);
}

/* ---- every allocation failing in turn ---------------------------------------------- */
/* A FIFO and a device are refused before they are read: neither hangs nor runs on. */
static void test_special_files(void **state)
{
    (void)state;
    const char *fifo = nb_test_path("fifo.safetensors");
    assert_int_equal(mkfifo(fifo, 0600), 0);
    alarm(20); /* a reader that waits for a writer ends the test here, as a failure */
    expect_refused(fifo, NB_EIO, "fifo.safetensors': it is a FIFO (named pipe), not a regular file");
    expect_refused("/dev/zero", NB_EIO, "cannot read '/dev/zero': it is a device, not a regular file");
    alarm(0);
}

static nb_alloc_counter counter;

/* Text is UTF-8 both ways: the writer refuses names and metadata that are not (Latin-1
 * class names, say), the reader refuses such a header, a \u0000 that would cut a name
 * short, and a key given twice in one entry (a lookup would see only the first). */
static void test_text_is_utf8(void **state)
{
    (void)state;
    static const unsigned char zeros[8] = {0};
    nb_tensor *t = nb_tensor_zeros(NB_F32, 1, (int64_t[]){2});
    const char *path = nb_test_path("text.safetensors");
    nb_safetensors_entry ok = {"temp\xc3\xa9rature", t}, latin1 = {"temp\xe9rature", t};
    nb_safetensors_meta_entry names = {"class_names", "[\"caf\xe9\"]"};
    assert_int_equal(nb_safetensors_save(path, &ok, 1, NULL, 0), NB_OK);
    nb_safetensors *file = nb_safetensors_load(path);
    assert_non_null(file);
    assert_non_null(nb_safetensors_get(file, "temp\xc3\xa9rature"));
    nb_safetensors_free(file);
    assert_int_equal(nb_safetensors_save(path, &latin1, 1, NULL, 0), NB_EARG);
    assert_non_null(strstr(nb_errmsg(), "the name of tensor 0 is not UTF-8 text (byte 0xE9 at offset 4)"));
    assert_int_equal(nb_safetensors_save(path, &ok, 1, &names, 1), NB_EARG);
    assert_non_null(strstr(nb_errmsg(), "the value of metadata pair 0 is not UTF-8"));
    nb_tensor_free(t);

    expect_refused(craft("{\"caf\xe9\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]}}", zeros, 8),
                   NB_EFORMAT, "the header is not UTF-8 text (byte 0xE9 at byte 13)");
    expect_refused(craft("{\"\xed\xa0\x80\":{}}", zeros, 0), NB_EFORMAT, "not UTF-8"); /* a surrogate */
    expect_refused(craft("{\"a\\u0000b\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]}}", zeros, 8),
                   NB_EFORMAT, "the header holds a NUL character");
    expect_refused(craft("{\"a\":{\"dtype\":\"F32\",\"dtype\":\"F64\",\"shape\":[1],\"data_offsets\":[0,8]}}",
                         zeros, 8),
                   NB_EFORMAT, "the entry of 'a' has the key 'dtype' twice");
    nb_safetensors *escaped = nb_safetensors_load(
        craft("{\"a\\\\u0000\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]}}", zeros, 8));
    assert_non_null(escaped); /* an escaped backslash before u0000 is text, not a NUL */
    assert_string_equal(nb_safetensors_name(escaped, 0), "a\\u0000");
    nb_safetensors_free(escaped);
}

static void test_allocation_failures(void **state)
{
    (void)state;
    peer_set s = make_peer_set();
    const char *path = nb_test_path("alloc.safetensors");
    assert_int_equal(save_peer_set(path, &s), NB_OK);
    size_t old_size;
    unsigned char *old = slurp(path, &old_size);
    nb_count_allocations(&counter, -1);
    for (int pass = 0; pass < 2; pass++) { /* 0: load, 1: save */
        counter = (nb_alloc_counter){.fail_at = -1};
        if (pass == 0)
            nb_safetensors_free(nb_safetensors_load(path));
        else
            save_peer_set(path, &s);
        long n_calls = counter.calls;
        assert_true(n_calls >= 2);
        for (long fail_at = 0; fail_at < n_calls; fail_at++) {
            counter = (nb_alloc_counter){.fail_at = fail_at};
            nb_clear_error();
            if (pass == 0) {
                assert_null(nb_safetensors_load(path));
            } else {
                assert_int_not_equal(save_peer_set(path, &s), NB_OK);
                size_t now_size;
                unsigned char *now = slurp(path, &now_size);
                assert_int_equal(now_size, old_size);
                assert_memory_equal(now, old, old_size);
                free(now);
            }
            if (nb_errcode() != NB_ENOMEM) {
                nb_set_allocator(NULL);
                fail_msg("pass %d, allocation %ld failing gave: %s", pass, fail_at, nb_errmsg());
            }
            assert_int_equal(counter.live, 0);
        }
    }
    nb_set_allocator(NULL);
    assert_int_equal(count_temp_files(), 0);
    free(old);
    free_peer_set(&s);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_round_trip),
        cmocka_unit_test(test_python_reads_nabla),
        cmocka_unit_test(test_nabla_reads_python),
        cmocka_unit_test(test_graph_save_load_predict),
        cmocka_unit_test(test_graph_mismatch),
        cmocka_unit_test(test_atomic_save),
        cmocka_unit_test(test_corrupt_files),
        cmocka_unit_test(test_special_files),
        cmocka_unit_test(test_text_is_utf8),
        cmocka_unit_test(test_allocation_failures),
    };
    return cmocka_run_group_tests(tests, nb_test_make_dir, nb_test_remove_dir);
}
