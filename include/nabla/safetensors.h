/* nabla safetensors: named tensors and string metadata in the safetensors format, the
 * model files of nabla.
 *
 * Layout: an 8-byte little-endian header length N; N bytes of JSON (padded with spaces
 * so that the data start at a multiple of 8) mapping each name to {"dtype": "F32" or
 * "F64", "shape": [...], "data_offsets": [begin, end]}, plus "__metadata__": {string:
 * string}; then the raw row-major little-endian data, tensor after tensor.
 *
 * Saving is atomic: the file is written beside the target under a temporary name,
 * flushed to disk, then renamed over it; on any failure the temporary file is removed
 * and an existing file is left as it was. Loading checks everything and refuses a
 * truncated, overlapping, padded-out or foreign file with a message that says why. */
#ifndef NABLA_SAFETENSORS_H
#define NABLA_SAFETENSORS_H

#include "nabla/graph.h"

#ifdef __cplusplus
extern "C" {
#endif

/* A tensor to save under a name (borrowed for the duration of the call). */
typedef struct nb_st_entry {
    const char *name;
    const nb_tensor *tensor;
} nb_st_entry;

/* A metadata pair: what it takes to rebuild the model ("model": "784-256-10:relu"). */
typedef struct nb_st_meta {
    const char *key;
    const char *value;
} nb_st_meta;

/* Save tensors (f32/f64, names unique and not "__metadata__") and metadata. */
nb_status nb_safetensors_save(const char *path, const nb_st_entry *tensors, int n_tensors, const nb_st_meta *meta,
                              int n_meta);
/* Save every parameter of a graph under its name (names must be unique), followed by
 * optional extra tensors (e.g. a scaler's mean and std). */
nb_status nb_safetensors_save_graph(const char *path, const nb_graph *graph, const nb_st_entry *extra, int n_extra,
                                    const nb_st_meta *meta, int n_meta);

/* A loaded file: its tensors, in the order of their data, and its metadata. */
typedef struct nb_safetensors nb_safetensors;

nb_safetensors *nb_safetensors_load(const char *path);
void nb_safetensors_free(nb_safetensors *file);

int nb_safetensors_count(const nb_safetensors *file);
const char *nb_safetensors_name(const nb_safetensors *file, int index);
const nb_tensor *nb_safetensors_tensor(const nb_safetensors *file, int index);
/* The tensor of that name; NULL, with a message, when there is none. */
const nb_tensor *nb_safetensors_get(const nb_safetensors *file, const char *name);

int nb_safetensors_meta_count(const nb_safetensors *file);
const char *nb_safetensors_meta_key(const nb_safetensors *file, int index);
/* The metadata value for a key; NULL (no error set) when absent. */
const char *nb_safetensors_meta(const nb_safetensors *file, const char *key);

/* Copy the file's tensors into the graph's parameters of the same names, converting
 * f32 <-> f64 to the graph's dtype. Every parameter must be in the file with its exact
 * shape; with allow_extra false every tensor of the file must be a parameter. Nothing
 * is changed unless all of it fits; a mismatch names the tensor and both shapes. */
nb_status nb_safetensors_to_graph(const nb_safetensors *file, nb_graph *graph, bool allow_extra);
/* Load a file and copy it into the graph's parameters in one call. */
nb_status nb_safetensors_load_graph(const char *path, nb_graph *graph, bool allow_extra);

#ifdef __cplusplus
}
#endif

#endif
