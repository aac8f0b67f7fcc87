/* The safetensors format through cJSON: writing atomically, reading with every check the
 * format allows, and moving a graph's parameters in and out by name. */
#include "core/core.h"
#include "io/io_internal.h"
#include "nabla/io.h"

#include <cjson/cJSON.h>
#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define METADATA_KEY "__metadata__"
/* The reference implementation refuses headers above 100 MB; so do we. */
#define MAX_HEADER_BYTES (100u << 20)
/* Offsets and sizes beyond 2^53 do not survive a JSON number as a double. */
#define MAX_JSON_INTEGER 9007199254740992.0

/* The length of the UTF-8 sequence at s (at most n bytes), or 0 when it is not one:
 * overlong forms, surrogates and code points past U+10FFFF are refused (RFC 3629). */
static size_t utf8_sequence(const unsigned char *s, size_t n)
{
    if (s[0] < 0x80)
        return 1;
    size_t len = s[0] >= 0xC2 && s[0] <= 0xDF   ? 2
                 : s[0] >= 0xE0 && s[0] <= 0xEF ? 3
                 : s[0] >= 0xF0 && s[0] <= 0xF4 ? 4
                                                : 0;
    if (len == 0 || len > n)
        return 0;
    for (size_t i = 1; i < len; i++)
        if ((s[i] & 0xC0) != 0x80)
            return 0;
    if ((s[0] == 0xE0 && s[1] < 0xA0) || (s[0] == 0xED && s[1] > 0x9F) || (s[0] == 0xF0 && s[1] < 0x90) ||
        (s[0] == 0xF4 && s[1] > 0x8F))
        return 0;
    return len;
}

/* -1 when text[0..n) is UTF-8, else the offset of the first byte that is not. */
static int64_t utf8_error_at(const char *text, size_t n)
{
    const unsigned char *s = (const unsigned char *)text;
    for (size_t i = 0; i < n;) {
        size_t len = utf8_sequence(s + i, n - i);
        if (len == 0)
            return (int64_t)i;
        i += len;
    }
    return -1;
}

/* A name or metadata text the writer is given: UTF-8, as JSON (and Python's reader)
 * requires. */
static nb_status check_text(const char *text, const char *what, int index)
{
    int64_t at = utf8_error_at(text, strlen(text));
    if (at < 0)
        return NB_OK;
    return nb_fail(NB_EARG, "%s %d is not UTF-8 text (byte 0x%02X at offset %lld): convert it to UTF-8 first",
                   what, index, (unsigned char)text[at], (long long)at);
}

static const char *st_dtype_name(nb_dtype dtype) { return dtype == NB_F64 ? "F64" : "F32"; }

/* Files are little-endian; so is every machine nabla is built on today, but say so. */
static void to_little_endian(void *data, size_t n_elements, size_t elem)
{
#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_BIG_ENDIAN__
    unsigned char *bytes = data;
    for (size_t i = 0; i < n_elements; i++, bytes += elem)
        for (size_t a = 0, b = elem - 1; a < b; a++, b--) {
            unsigned char tmp = bytes[a];
            bytes[a] = bytes[b];
            bytes[b] = tmp;
        }
#else
    (void)data, (void)n_elements, (void)elem;
#endif
}

/* ---- saving ------------------------------------------------------------------------- */

static nb_status check_entries(const nb_safetensors_entry *tensors, int n_tensors,
                               const nb_safetensors_meta_entry *meta, int n_meta)
{
    if (n_tensors < 0 || (n_tensors > 0 && !tensors) || n_meta < 0 || (n_meta > 0 && !meta))
        return nb_fail(NB_EARG, "%d tensors and %d metadata pairs, but a list is missing", n_tensors, n_meta);
    for (int i = 0; i < n_tensors; i++) {
        const nb_safetensors_entry *e = &tensors[i];
        if (!e->name || !*e->name || strcmp(e->name, METADATA_KEY) == 0)
            return nb_fail(NB_EARG, "tensor %d has %s name", i, !e->name ? "no" : *e->name ? "a reserved" : "an empty");
        if (!e->tensor || (e->tensor->size > 0 && !e->tensor->data))
            return nb_fail(NB_EARG, "tensor '%s' has no data", e->name);
        if (e->tensor->dtype != NB_F32 && e->tensor->dtype != NB_F64)
            return nb_fail(NB_EDTYPE, "tensor '%s' has an unknown dtype %d", e->name, (int)e->tensor->dtype);
        for (int j = 0; j < i; j++)
            if (strcmp(tensors[j].name, e->name) == 0)
                return nb_fail(NB_EARG, "two tensors are named '%s'", e->name);
        if (check_text(e->name, "the name of tensor", i) != NB_OK)
            return NB_EARG;
    }
    for (int i = 0; i < n_meta; i++) {
        if (!meta[i].key || !meta[i].value)
            return nb_fail(NB_EARG, "metadata pair %d has no %s", i, meta[i].key ? "value" : "key");
        for (int j = 0; j < i; j++)
            if (strcmp(meta[j].key, meta[i].key) == 0)
                return nb_fail(NB_EARG, "two metadata entries have the key '%s'", meta[i].key);
        if (check_text(meta[i].key, "the key of metadata pair", i) != NB_OK ||
            check_text(meta[i].value, "the value of metadata pair", i) != NB_OK)
            return NB_EARG;
    }
    return NB_OK;
}

static cJSON *json_integer(int64_t value)
{
    char text[32];
    snprintf(text, sizeof text, "%lld", (long long)value); /* never "1e+15": readers want integers */
    return cJSON_CreateRaw(text);
}

/* The JSON header for tensors laid out one after the other, in the given order. */
static char *build_header(const nb_safetensors_entry *tensors, int n_tensors,
                          const nb_safetensors_meta_entry *meta, int n_meta)
{
    cJSON *root = cJSON_CreateObject();
    bool ok = root != NULL;
    if (ok && n_meta > 0) {
        cJSON *metadata = cJSON_AddObjectToObject(root, METADATA_KEY);
        ok = metadata != NULL;
        for (int i = 0; i < n_meta && ok; i++)
            ok = cJSON_AddStringToObject(metadata, meta[i].key, meta[i].value) != NULL;
    }
    int64_t offset = 0;
    for (int i = 0; i < n_tensors && ok; i++) {
        const nb_tensor *t = tensors[i].tensor;
        int64_t bytes = t->size * (int64_t)nb_dtype_size(t->dtype);
        cJSON *entry = cJSON_AddObjectToObject(root, tensors[i].name);
        cJSON *shape = entry ? cJSON_AddArrayToObject(entry, "shape") : NULL;
        cJSON *offsets = cJSON_CreateArray();
        ok = entry && shape && offsets && cJSON_AddStringToObject(entry, "dtype", st_dtype_name(t->dtype));
        if (offsets && !(ok && cJSON_AddItemToObject(entry, "data_offsets", offsets))) {
            cJSON_Delete(offsets);
            ok = false;
        }
        for (int d = 0; d < t->ndim && ok; d++)
            ok = cJSON_AddItemToArray(shape, json_integer(t->shape[d]));
        ok = ok && cJSON_AddItemToArray(offsets, json_integer(offset)) &&
             cJSON_AddItemToArray(offsets, json_integer(offset + bytes));
        offset += bytes;
    }
    char *text = ok ? cJSON_PrintUnformatted(root) : NULL;
    cJSON_Delete(root);
    if (!text)
        nb_fail(NB_ENOMEM, "out of memory building the header");
    return text;
}

static bool write_all(FILE *file, const void *data, size_t size) { return fwrite(data, 1, size, file) == size; }

/* Header length, header padded with spaces to a multiple of 8 (counting the length
 * field), then the data. */
static bool write_contents(FILE *file, const char *header, const nb_safetensors_entry *tensors, int n_tensors)
{
    size_t len = strlen(header);
    size_t padded = len + (8 - (8 + len) % 8) % 8;
    unsigned char length[8];
    for (int b = 0; b < 8; b++)
        length[b] = (unsigned char)((uint64_t)padded >> (8 * b));
    if (!write_all(file, length, 8) || !write_all(file, header, len))
        return false;
    for (size_t i = len; i < padded; i++)
        if (fputc(' ', file) == EOF)
            return false;
    for (int i = 0; i < n_tensors; i++) {
        const nb_tensor *t = tensors[i].tensor;
        size_t elem = nb_dtype_size(t->dtype), bytes = (size_t)t->size * elem;
#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_BIG_ENDIAN__
        unsigned char swapped[8];
        for (int64_t k = 0; k < t->size; k++) {
            memcpy(swapped, (const unsigned char *)t->data + (size_t)k * elem, elem);
            to_little_endian(swapped, 1, elem);
            if (!write_all(file, swapped, elem))
                return false;
        }
#else
        if (bytes && !write_all(file, t->data, bytes))
            return false;
#endif
    }
    return true;
}

/* The contents go through a temporary file renamed over the target (src/atomic.c). */
static nb_status save_atomically(const char *path, const char *header, const nb_safetensors_entry *tensors,
                                 int n_tensors)
{
    nb_atomic_file f;
    nb_status status = nb_atomic_open(&f, path);
    if (status != NB_OK)
        return status;
    if (!write_contents(f.file, header, tensors, n_tensors))
        f.write_errno = errno ? errno : EIO;
    return nb_atomic_commit(&f);
}

nb_status nb_safetensors_save(const char *path, const nb_safetensors_entry *tensors, int n_tensors,
                              const nb_safetensors_meta_entry *meta, int n_meta)
{
    if (!path)
        return nb_fail(NB_EARG, "nb_safetensors_save: path is NULL");
    if (check_entries(tensors, n_tensors, meta, n_meta) != NB_OK) {
        nb_error_prefix("saving '%s'", path);
        return nb_errcode();
    }
    char *header = build_header(tensors, n_tensors, meta, n_meta);
    if (!header) {
        nb_error_prefix("saving '%s'", path);
        return NB_ENOMEM;
    }
    nb_status status = save_atomically(path, header, tensors, n_tensors);
    cJSON_free(header);
    return status;
}

nb_status nb_safetensors_save_graph(const char *path, const nb_graph *graph, const nb_safetensors_entry *extra,
                                    int n_extra, const nb_safetensors_meta_entry *meta, int n_meta)
{
    if (!graph || n_extra < 0 || (n_extra > 0 && !extra))
        return nb_fail(NB_EARG, "nb_safetensors_save_graph: %s", graph ? "extra tensors missing" : "graph is NULL");
    int n_params = nb_param_count(graph);
    nb_safetensors_entry *entries = nb_alloc_or_fail(sizeof *entries * (size_t)(n_params + n_extra + 1),
                                                     "the tensor list");
    if (!entries)
        return NB_ENOMEM;
    for (int i = 0; i < n_params; i++) {
        nb_node *param = nb_param_at(graph, i);
        entries[i] = (nb_safetensors_entry){nb_node_name(param), nb_value(param)};
    }
    for (int i = 0; i < n_extra; i++)
        entries[n_params + i] = extra[i];
    nb_status status = nb_safetensors_save(path, entries, n_params + n_extra, meta, n_meta);
    nb_free(entries);
    return status;
}

/* ---- loading ---------------------------------------------------------------------- */

typedef struct st_tensor {
    char *name;
    nb_tensor *tensor;
    int64_t begin, end; /* data offsets */
} st_tensor;

struct nb_safetensors {
    char *source;
    st_tensor *tensors;
    int n_tensors;
    char **meta_keys;
    char **meta_values;
    int n_meta;
};

void nb_safetensors_free(nb_safetensors *file)
{
    if (!file)
        return;
    for (int i = 0; i < file->n_tensors; i++) {
        nb_free(file->tensors[i].name);
        nb_tensor_free(file->tensors[i].tensor);
    }
    for (int i = 0; i < file->n_meta; i++) {
        nb_free(file->meta_keys[i]);
        nb_free(file->meta_values[i]);
    }
    nb_free(file->tensors);
    nb_free(file->meta_keys);
    nb_free(file->meta_values);
    nb_free(file->source);
    nb_free(file);
}

/* A JSON number that is a whole number in [0, 2^53]. */
static bool json_count(const cJSON *item, int64_t *value)
{
    if (!cJSON_IsNumber(item))
        return false;
    double v = item->valuedouble;
    if (!(v >= 0 && v <= MAX_JSON_INTEGER && v == floor(v)))
        return false;
    *value = (int64_t)v;
    return true;
}

static nb_status read_metadata(nb_safetensors *file, const cJSON *metadata)
{
    if (!cJSON_IsObject(metadata))
        return nb_fail(NB_EFORMAT, "\"%s\" is not an object of strings", METADATA_KEY);
    int n = cJSON_GetArraySize(metadata);
    file->meta_keys = nb_calloc((size_t)n + 1, sizeof *file->meta_keys);
    file->meta_values = nb_calloc((size_t)n + 1, sizeof *file->meta_values);
    if (!file->meta_keys || !file->meta_values)
        return nb_fail(NB_ENOMEM, "out of memory for the metadata");
    for (const cJSON *item = metadata->child; item; item = item->next) {
        if (!cJSON_IsString(item))
            return nb_fail(NB_EFORMAT, "metadata '%s' is not a string", item->string);
        for (int j = 0; j < file->n_meta; j++)
            if (strcmp(file->meta_keys[j], item->string) == 0)
                return nb_fail(NB_EFORMAT, "the metadata key '%s' appears twice", item->string);
        int k = file->n_meta++;
        file->meta_keys[k] = nb_strdup(item->string);
        file->meta_values[k] = nb_strdup(item->valuestring);
        if (!file->meta_keys[k] || !file->meta_values[k])
            return nb_fail(NB_ENOMEM, "out of memory for the metadata");
    }
    return NB_OK;
}

/* Every key of an object once: cJSON keeps both of a repeated key, and a lookup would see
 * only the first. */
static nb_status check_unique_keys(const cJSON *object, const char *name)
{
    for (const cJSON *a = object->child; a; a = a->next)
        for (const cJSON *b = a->next; b; b = b->next)
            if (strcmp(a->string, b->string) == 0)
                return nb_fail(NB_EFORMAT, "the entry of '%s' has the key '%s' twice", name, a->string);
    return NB_OK;
}

/* One tensor's header entry: dtype, shape and offsets, consistent with each other and
 * with the data's size. The tensor is allocated, not yet filled. */
static nb_status read_entry(st_tensor *out, const cJSON *entry, int64_t data_size)
{
    const char *name = entry->string;
    if (!cJSON_IsObject(entry))
        return nb_fail(NB_EFORMAT, "the entry of tensor '%s' is not an object", name);
    if (check_unique_keys(entry, name) != NB_OK)
        return NB_EFORMAT;
    const cJSON *dtype = cJSON_GetObjectItemCaseSensitive(entry, "dtype");
    const cJSON *shape = cJSON_GetObjectItemCaseSensitive(entry, "shape");
    const cJSON *offsets = cJSON_GetObjectItemCaseSensitive(entry, "data_offsets");
    if (!cJSON_IsString(dtype) || !cJSON_IsArray(shape) || !cJSON_IsArray(offsets))
        return nb_fail(NB_EFORMAT, "tensor '%s' lacks a %s", name,
                       !cJSON_IsString(dtype) ? "dtype string" : !cJSON_IsArray(shape) ? "shape array"
                                                                                      : "data_offsets array");
    nb_dtype type;
    if (strcmp(dtype->valuestring, "F32") == 0)
        type = NB_F32;
    else if (strcmp(dtype->valuestring, "F64") == 0)
        type = NB_F64;
    else
        return nb_fail(NB_EDTYPE, "tensor '%s' has dtype '%.16s'; nabla reads F32 and F64", name,
                       dtype->valuestring);
    int ndim = cJSON_GetArraySize(shape);
    if (ndim > NB_MAX_DIMS)
        return nb_fail(NB_EFORMAT, "tensor '%s' has %d dimensions; nabla handles at most %d", name, ndim,
                       NB_MAX_DIMS);
    int64_t dims[NB_MAX_DIMS];
    int d = 0;
    for (const cJSON *dim = shape->child; dim; dim = dim->next, d++)
        if (!json_count(dim, &dims[d]))
            return nb_fail(NB_EFORMAT, "tensor '%s': dimension %d of its shape is not a whole number >= 0", name,
                           d + 1);
    int64_t size = nb_shape_size(ndim, dims);
    size_t elem = nb_dtype_size(type);
    char buf[96];
    if (size < 0 || size > (int64_t)(MAX_JSON_INTEGER / (double)elem))
        return nb_fail(NB_EFORMAT, "tensor '%s': shape %s is too large", name, nb_shape_str(ndim, dims, buf, sizeof buf));
    if (cJSON_GetArraySize(offsets) != 2 || !json_count(offsets->child, &out->begin) ||
        !json_count(offsets->child->next, &out->end) || out->begin > out->end)
        return nb_fail(NB_EFORMAT, "tensor '%s': data_offsets must be two whole numbers [begin, end] with begin <= "
                       "end", name);
    int64_t bytes = size * (int64_t)elem;
    if (out->end - out->begin != bytes)
        return nb_fail(NB_EFORMAT, "tensor '%s': shape %s of %s needs %lld bytes, but data_offsets [%lld, %lld] hold "
                       "%lld", name, nb_shape_str(ndim, dims, buf, sizeof buf), dtype->valuestring, (long long)bytes,
                       (long long)out->begin, (long long)out->end, (long long)(out->end - out->begin));
    if (out->end > data_size)
        return nb_fail(NB_EFORMAT, "tensor '%s': data_offsets [%lld, %lld] go past the end of the data (%lld bytes): "
                       "the file is truncated", name, (long long)out->begin, (long long)out->end,
                       (long long)data_size);
    if (!(out->name = nb_strdup(name)) || !(out->tensor = nb_tensor_zeros(type, ndim, dims)))
        return nb_fail(NB_ENOMEM, "out of memory for tensor '%s'", name);
    return NB_OK;
}

static int by_offset(const void *a, const void *b)
{
    const st_tensor *x = a, *y = b;
    if (x->begin != y->begin)
        return x->begin < y->begin ? -1 : 1;
    return (x->end > y->end) - (x->end < y->end);
}

static int by_name(const void *a, const void *b)
{
    return strcmp((*(const st_tensor *const *)a)->name, (*(const st_tensor *const *)b)->name);
}

/* Tensors sorted by offset must tile the data exactly: from 0, no overlap, no gap, no
 * trailing bytes; and no name may appear twice. */
static nb_status check_layout(nb_safetensors *file, int64_t data_size)
{
    qsort(file->tensors, (size_t)file->n_tensors, sizeof *file->tensors, by_offset);
    int64_t expected = 0;
    for (int i = 0; i < file->n_tensors; i++) {
        const st_tensor *t = &file->tensors[i];
        if (t->begin < expected)
            return nb_fail(NB_EFORMAT, "tensors '%s' [%lld, %lld) and '%s' [%lld, %lld) overlap", file->tensors[i - 1].name,
                           (long long)file->tensors[i - 1].begin, (long long)file->tensors[i - 1].end, t->name,
                           (long long)t->begin, (long long)t->end);
        if (t->begin > expected)
            return nb_fail(NB_EFORMAT, "%lld bytes at data offset %lld belong to no tensor (before '%s')",
                           (long long)(t->begin - expected), (long long)expected, t->name);
        expected = t->end;
    }
    if (expected != data_size)
        return nb_fail(NB_EFORMAT, "%lld bytes of trailing data after the last tensor", (long long)(data_size - expected));
    const st_tensor **sorted = nb_alloc((size_t)file->n_tensors * sizeof *sorted + 1);
    if (!sorted)
        return nb_fail(NB_ENOMEM, "out of memory checking names");
    for (int i = 0; i < file->n_tensors; i++)
        sorted[i] = &file->tensors[i];
    qsort(sorted, (size_t)file->n_tensors, sizeof *sorted, by_name);
    for (int i = 1; i < file->n_tensors; i++)
        if (strcmp(sorted[i]->name, sorted[i - 1]->name) == 0) {
            nb_fail(NB_EFORMAT, "the tensor name '%s' appears twice", sorted[i]->name);
            nb_free(sorted);
            return NB_EFORMAT;
        }
    nb_free(sorted);
    return NB_OK;
}

/* Text a reader must refuse before JSON sees it: bytes that are not UTF-8, and the escape
 * \u0000, which cJSON would decode into a NUL that cuts a name short. */
static nb_status check_header_text(const char *text, size_t len)
{
    int64_t at = utf8_error_at(text, len);
    if (at >= 0)
        return nb_fail(NB_EFORMAT, "the header is not UTF-8 text (byte 0x%02X at byte %lld)",
                       (unsigned char)text[at], (long long)at + 8);
    for (size_t i = 0; i + 1 < len; i++) {
        if (text[i] != '\\')
            continue;
        if (text[i + 1] == 'u' && i + 5 < len && strncmp(text + i + 2, "0000", 4) == 0)
            return nb_fail(NB_EFORMAT, "the header holds a NUL character (\\u0000 at byte %lld)", (long long)i + 8);
        i++; /* the escaped character, whatever it is */
    }
    return NB_OK;
}

/* The JSON header: metadata, then each tensor's entry and the layout. */
static nb_status read_header(nb_safetensors *file, char *text, size_t len, int64_t data_size)
{
    if (check_header_text(text, len) != NB_OK)
        return nb_errcode();
    size_t start = 0;
    while (start < len && (text[start] == ' ' || text[start] == '\t' || text[start] == '\n' || text[start] == '\r'))
        start++;
    if (start == len || text[start] != '{')
        return nb_fail(NB_EFORMAT, "not a safetensors file: its header does not begin with a JSON object");
    const char *end = NULL;
    cJSON *root = cJSON_ParseWithLengthOpts(text, len, &end, false);
    if (!root)
        return nb_fail(NB_EPARSE, "the header is not valid JSON (at byte %lld of %zu)",
                       (long long)(end ? end - text : 0) + 8, len + 8);
    nb_status status = NB_OK;
    for (const char *p = end; p < text + len && status == NB_OK; p++)
        if (*p != ' ' && *p != '\t' && *p != '\n' && *p != '\r')
            status = nb_fail(NB_EFORMAT, "the header has text after its JSON object (at byte %lld)",
                             (long long)(p - text) + 8);
    if (status == NB_OK && !cJSON_IsObject(root))
        status = nb_fail(NB_EFORMAT, "not a safetensors file: its header is not a JSON object");
    int n_entries = status == NB_OK ? cJSON_GetArraySize(root) : 0;
    if (status == NB_OK && !(file->tensors = nb_calloc((size_t)n_entries + 1, sizeof *file->tensors)))
        status = nb_fail(NB_ENOMEM, "out of memory for %d tensors", n_entries);
    bool seen_metadata = false;
    for (const cJSON *entry = status == NB_OK ? root->child : NULL; entry && status == NB_OK; entry = entry->next) {
        if (strcmp(entry->string, METADATA_KEY) == 0) {
            status = seen_metadata ? nb_fail(NB_EFORMAT, "\"%s\" appears twice", METADATA_KEY)
                                   : read_metadata(file, entry);
            seen_metadata = true;
        } else {
            status = read_entry(&file->tensors[file->n_tensors], entry, data_size);
            if (file->tensors[file->n_tensors].name) /* counted once it owns something to free */
                file->n_tensors++;
        }
    }
    cJSON_Delete(root);
    return status == NB_OK ? check_layout(file, data_size) : status;
}

static nb_status read_data(nb_safetensors *file, FILE *stream, int64_t data_start)
{
    for (int i = 0; i < file->n_tensors; i++) {
        st_tensor *t = &file->tensors[i];
        size_t elem = nb_dtype_size(t->tensor->dtype), bytes = (size_t)(t->end - t->begin);
        if (bytes == 0)
            continue;
        if (fseeko(stream, (off_t)(data_start + t->begin), SEEK_SET) != 0 ||
            fread(t->tensor->data, 1, bytes, stream) != bytes)
            return nb_fail(NB_EIO, "reading tensor '%s': %s", t->name,
                           ferror(stream) ? strerror(errno) : "the file ended early");
        to_little_endian(t->tensor->data, bytes / elem, elem);
    }
    return NB_OK;
}

static nb_status load_stream(nb_safetensors *file, FILE *stream)
{
    struct stat st;
    if (fstat(fileno(stream), &st) != 0)
        return nb_fail(NB_EIO, "%s", strerror(errno));
    if (!S_ISREG(st.st_mode))
        return nb_fail(NB_EIO, "not a regular file");
    int64_t file_size = (int64_t)st.st_size;
    unsigned char length[8];
    if (file_size < 8 || fread(length, 1, 8, stream) != 8)
        return nb_fail(NB_EFORMAT, "%lld bytes is too short for a safetensors file (an 8-byte header length, "
                       "then the header)", (long long)file_size);
    uint64_t header_len = 0;
    for (int b = 7; b >= 0; b--)
        header_len = header_len << 8 | length[b];
    if (header_len < 2 || header_len > MAX_HEADER_BYTES || header_len > (uint64_t)(file_size - 8))
        return nb_fail(NB_EFORMAT, "its header length %llu does not fit a file of %lld bytes: truncated, or not a "
                       "safetensors file", (unsigned long long)header_len, (long long)file_size);
    char *header = nb_alloc_or_fail((size_t)header_len + 1, "the header");
    if (!header)
        return NB_ENOMEM;
    nb_status status = NB_OK;
    if (fread(header, 1, (size_t)header_len, stream) != header_len)
        status = nb_fail(NB_EIO, "reading the header: %s", ferror(stream) ? strerror(errno) : "the file ended early");
    header[header_len] = '\0';
    if (status == NB_OK && strlen(header) != header_len)
        status = nb_fail(NB_EFORMAT, "not a safetensors file: its header holds a NUL byte");
    int64_t data_start = 8 + (int64_t)header_len;
    if (status == NB_OK)
        status = read_header(file, header, (size_t)header_len, file_size - data_start);
    nb_free(header);
    return status == NB_OK ? read_data(file, stream, data_start) : status;
}

nb_safetensors *nb_safetensors_load(const char *path)
{
    if (!path) {
        nb_fail(NB_EARG, "nb_safetensors_load: path is NULL");
        return NULL;
    }
    int fd = nb_io_open_regular(path);
    FILE *stream = fd >= 0 ? fdopen(fd, "rb") : NULL;
    if (!stream) {
        if (fd >= 0) {
            nb_fail(NB_EIO, "cannot open '%s': %s", path, strerror(errno));
            close(fd);
        }
        return NULL;
    }
    nb_safetensors *file = nb_calloc(1, sizeof *file);
    nb_status status = file && (file->source = nb_strdup(path)) ? load_stream(file, stream)
                                                                 : nb_fail(NB_ENOMEM, "out of memory");
    fclose(stream);
    if (status != NB_OK) {
        nb_error_prefix("%s", path);
        nb_safetensors_free(file);
        return NULL;
    }
    return file;
}

int nb_safetensors_count(const nb_safetensors *file) { return file ? file->n_tensors : 0; }

const char *nb_safetensors_name(const nb_safetensors *file, int index)
{
    return file && index >= 0 && index < file->n_tensors ? file->tensors[index].name : NULL;
}

const nb_tensor *nb_safetensors_tensor(const nb_safetensors *file, int index)
{
    return file && index >= 0 && index < file->n_tensors ? file->tensors[index].tensor : NULL;
}

static const st_tensor *find_tensor(const nb_safetensors *file, const char *name)
{
    for (int i = 0; i < file->n_tensors; i++)
        if (strcmp(file->tensors[i].name, name) == 0)
            return &file->tensors[i];
    return NULL;
}

const nb_tensor *nb_safetensors_get(const nb_safetensors *file, const char *name)
{
    if (!file || !name) {
        nb_fail(NB_EARG, "nb_safetensors_get: %s is NULL", file ? "name" : "file");
        return NULL;
    }
    const st_tensor *t = find_tensor(file, name);
    if (!t)
        nb_fail(NB_EARG, "%s has no tensor '%s'", file->source, name);
    return t ? t->tensor : NULL;
}

int nb_safetensors_meta_count(const nb_safetensors *file) { return file ? file->n_meta : 0; }

const char *nb_safetensors_meta_key(const nb_safetensors *file, int index)
{
    return file && index >= 0 && index < file->n_meta ? file->meta_keys[index] : NULL;
}

const char *nb_safetensors_meta(const nb_safetensors *file, const char *key)
{
    for (int i = 0; file && key && i < file->n_meta; i++)
        if (strcmp(file->meta_keys[i], key) == 0)
            return file->meta_values[i];
    return NULL;
}

/* ---- graphs ----------------------------------------------------------------------- */

static void copy_converting(nb_tensor *dst, const nb_tensor *src)
{
    if (dst->dtype == src->dtype) {
        memcpy(dst->data, src->data, (size_t)src->size * nb_dtype_size(src->dtype));
        return;
    }
    for (int64_t i = 0; i < src->size; i++)
        nb_tensor_set(dst, i, nb_tensor_get(src, i));
}

/* Every parameter found with its shape, names unique; and no stray tensors. */
static nb_status check_fit(const nb_safetensors *file, const nb_graph *graph, bool allow_extra)
{
    int n_params = nb_param_count(graph);
    char want[96], have[96];
    for (int i = 0; i < n_params; i++) {
        nb_node *param = nb_param_at(graph, i);
        const char *name = nb_node_name(param);
        const nb_tensor *value = nb_value(param);
        for (int j = 0; j < i; j++)
            if (strcmp(nb_node_name(nb_param_at(graph, j)), name) == 0)
                return nb_fail(NB_EARG, "the model has two parameters named '%s'", name);
        const st_tensor *t = find_tensor(file, name);
        nb_shape_str(value->ndim, value->shape, want, sizeof want);
        if (!t)
            return nb_fail(NB_EARG, "no tensor '%s' for the model's parameter of shape %s", name, want);
        if (!nb_shape_equal(t->tensor->ndim, t->tensor->shape, value->ndim, value->shape))
            return nb_fail(NB_ESHAPE, "tensor '%s' has shape %s in the file, but the model's parameter is %s", name,
                           nb_shape_str(t->tensor->ndim, t->tensor->shape, have, sizeof have), want);
    }
    if (!allow_extra)
        for (int k = 0; k < file->n_tensors; k++) {
            bool used = false;
            for (int i = 0; i < n_params && !used; i++)
                used = strcmp(nb_node_name(nb_param_at(graph, i)), file->tensors[k].name) == 0;
            if (!used)
                return nb_fail(NB_EARG, "tensor '%s' is not a parameter of the model (%d parameters)",
                               file->tensors[k].name, n_params);
        }
    return NB_OK;
}

nb_status nb_safetensors_to_graph(const nb_safetensors *file, nb_graph *graph, bool allow_extra)
{
    if (!file || !graph)
        return nb_fail(NB_EARG, "nb_safetensors_to_graph: %s is NULL", file ? "graph" : "file");
    if (check_fit(file, graph, allow_extra) != NB_OK) {
        nb_error_prefix("%s", file->source);
        return nb_errcode();
    }
    for (int i = 0; i < nb_param_count(graph); i++) {
        nb_node *param = nb_param_at(graph, i);
        copy_converting(nb_value(param), find_tensor(file, nb_node_name(param))->tensor);
    }
    return NB_OK;
}

nb_status nb_safetensors_load_graph(const char *path, nb_graph *graph, bool allow_extra)
{
    nb_safetensors *file = nb_safetensors_load(path);
    if (!file)
        return nb_errcode();
    nb_status status = nb_safetensors_to_graph(file, graph, allow_extra);
    nb_safetensors_free(file);
    return status;
}
