/* nabla io: tables read from delimited text (CSV through libcsv), datasets from tables,
 * IDX (gzip) files, safetensors model files. Built on nabla/nn.h. */
#ifndef NABLA_IO_H
#define NABLA_IO_H

#include "nabla/nn.h"
#include <stdbool.h>
#include <stdio.h>

#ifdef __cplusplus
extern "C" {
#endif
#if defined(__GNUC__)
#pragma GCC visibility push(default)
#endif

/* ====================================================================================== */
/* nabla table: named columns of doubles, read from delimited text files (CSV,
 * semicolon-separated, TSV, whitespace-separated) through libcsv, or copied from arrays.
 * The one table of nabla: `nabla fit` fits formulas to it (nabla/fit.h) and datasets
 * for training are made from it (nb_dataset_from_table below).
 *
 * Columns without a name (every column of a file without a header, or a header cell
 * left empty) are named by their place in the file: x and y when the file has two
 * columns, otherwise c1, c2, ..., cN. So `nabla fit 'y = a*x' data.txt` reads a
 * headerless two-column file, and headerless files of one shape name their columns
 * alike (a model trained on one finds its columns in the next).
 *
 * Every problem is reported with the file, the line and the column (the field number):
 * a missing or empty file, a header without data, ragged rows, a cell that is not a
 * number, NaN or infinite values (refused unless allowed), malformed quotes, and, when
 * columns are selected, a column that is not there (the message lists those that are).
 *
 * A file compressed with gzip is read as the text it holds, told by its content (the
 * gzip magic bytes), whatever its name, from a path or a stream alike. */

/* What a missing cell does in a column that is converted to numbers (see nb_csv_options). */
typedef enum nb_csv_missing {
    NB_CSV_MISSING_ERROR = 0, /* the read fails, naming the file, line and column */
    NB_CSV_MISSING_DROP       /* the row is left out, and counted in the table's n_dropped */
} nb_csv_missing;

typedef struct nb_table nb_table;

typedef enum nb_csv_header {
    NB_CSV_HEADER_AUTO = 0, /* the first row is a header when it holds a cell that is not a
                               number where the second row holds one, or (one-row file)
                               when any of its cells is not a number */
    NB_CSV_HEADER_YES,
    NB_CSV_HEADER_NO
} nb_csv_header;

/* How a file is read; a zero-initialised struct (or NULL) means: detect the header,
 * detect the delimiter, refuse NaN and infinity, keep every column, no class-name column,
 * no comments, skip no lines. */
typedef struct nb_csv_options {
    nb_csv_header header;
    /* ',', ';', '\t', or ' ' for runs of spaces and tabs; 0 detects it from the first
     * lines (tab, then semicolon, then comma when each occurs the same number of times,
     * outside quotes, on every sampled line; otherwise whitespace). */
    char delimiter;
    /* Accept "nan", "inf" and values that overflow a double. */
    bool allow_nonfinite;
    /* Keep only these columns, in this order, each found as nb_table_column finds it
     * (a name, "3" or "$3"; a name wins over a number when a header names a column
     * "3"). Cells of the other columns are not converted (they may hold text). */
    const char *const *columns;
    int n_columns;
    /* A column (as nb_table_column finds it) that may hold class names ("setosa", "cat"):
     * when any of its cells is not a number, its distinct values, in sorted order,
     * become the classes 0..k-1 and the names are kept in the table. When all of its
     * cells are numbers it is an ordinary column. NULL: none. */
    const char *class_column;
    /* With class_column NULL: the last column is the class column (whatever its name,
     * e.g. a default target that is the last column). */
    bool class_column_last;
    /* The classes that the class column's names must come from, in this order (e.g. a
     * training file's, so that class i means the same thing in every file read with
     * them): the column is read as names even when its cells look like numbers, class i
     * is known_classes[i], the table's class_names are copies of these n_known_classes
     * names, and a cell that is none of them fails with the file, the line and the
     * value (a whole number written otherwise, "1.0", is the class named "1"). Needs a
     * class column; the names must be distinct. NULL: the names found, sorted. */
    const char *const *known_classes;
    int n_known_classes;
    /* Lines that begin with this character are skipped (0: none; '#' is a common
     * choice, and what `nabla fit` uses). Only outside quoted fields. */
    char comment;
    /* Skip this many lines at the top, whatever they hold (e.g. a preamble). Line
     * numbers in messages still count them. */
    int64_t skip_lines;
    /* Missing cells: an empty cell, or one of missing_tokens (NULL: NA, N/A, NaN, nan,
     * NAN, null, NULL; compared whole, blanks around them ignored). With
     * NB_CSV_MISSING_ERROR a token that is also a number ("nan") is that number, refused
     * unless allow_nonfinite; with NB_CSV_MISSING_DROP every missing cell of a converted
     * column drops its row. Cells of columns that are not converted are never looked at. */
    nb_csv_missing missing;
    const char *const *missing_tokens;
    int n_missing_tokens;
    /* The decimal separator of numbers: '.' (0 means '.') or ',' ("3,14"; a cell with a '.'
     * is then not a number). With ',' the delimiter is never guessed to be ','. */
    char decimal;
    /* Refuse a header that names two columns alike (the message gives the header's line
     * and both columns' numbers); false: such a name is ambiguous only when looked up. */
    bool unique_names;
    /* Which columns are converted to numbers, chosen once the names are known and before
     * any cell is converted (e.g. the columns a formula reads): called with the table
     * (its source, names, n_columns and has_header set; no rows yet) and `convert`, one
     * flag per column, all true; clear the flags of the columns not wanted. Their cells
     * are then never parsed (text, dates, gaps are all fine there), their values are NaN
     * and table->numeric[k] is false. A status other than NB_OK (with its message set
     * by nb_fail) ends the read with it. NULL: every column is converted. */
    nb_status (*choose_columns)(void *context, const nb_table *table, bool *convert);
    void *choose_context;
} nb_csv_options;

/* A table: n_rows rows, n_columns named columns, each column contiguous. */
struct nb_table {
    char *source;      /* the path, "<stdin>", the stream's name, or "<arrays>" */
    int64_t n_rows;    /* data rows (a header is not counted) */
    int n_columns;
    char **names;      /* n_columns; named as the file's header does, else by the rule above */
    double **columns;  /* columns[k][i]: row i of column k */
    int64_t *lines;    /* n_rows: the line of the file each row came from (arrays: i + 1), for messages */
    bool has_header;
    char delimiter;    /* the one used (' ' for whitespace; 0 for arrays) */
    int class_col;     /* the column holding class names, or -1 */
    int n_classes;     /* distinct class names in it, or n_known_classes (0 when class_col is -1) */
    char **class_names; /* n_classes; class i is class_names[i] */
    bool *numeric;     /* n_columns: the column holds numbers (false: not converted, all NaN;
                          see nb_csv_options.choose_columns) */
    int64_t n_dropped; /* rows left out for a missing cell (NB_CSV_MISSING_DROP) */
};

/* Read `path` ("-" reads standard input). A UTF-8 byte-order mark is skipped. NULL on
 * failure, with a message such as "data.csv:7: column 3 ('y'): 'abc' is not a number".
 * Only a regular file is read: a FIFO, a device (/dev/zero) or a directory is refused
 * before it is read (pass a pipe as "-" or to nb_table_read_stream). What a read costs
 * is bounded by the file: a line holds at most 65536 fields and a cell at most 1 MiB of
 * text, each refused with its line beyond that. */
nb_table *nb_table_read(const char *path, const nb_csv_options *options);
/* The same from an open stream (a pipe, fmemopen'ed text), named `name` in messages. The
 * stream is read to its end and not closed. */
nb_table *nb_table_read_stream(FILE *stream, const char *name, const nb_csv_options *options);
/* A table of caller arrays (copied): columns[k] holds n_rows values. names NULL names the
 * columns by the rule above (and has_header is false). NULL, with a message, on bad
 * arguments or out of memory. */
nb_table *nb_table_from_columns(int n_columns, const char *const *names, int64_t n_rows,
                                const double *const *columns);
void nb_table_free(nb_table *table);

/* The 0-based column of a name, or of a 1-based number written "3" or "$3" (a name wins
 * when a header names a column "3"). -1 with a message when there is none (the message
 * lists the table's columns) or when two columns have that name (select it by number). */
int nb_table_column(const nb_table *table, const char *name_or_number);

/* A dataset from columns of a table. `targets` and `features` are lists of n columns,
 * each as nb_table_column finds it ("y", "3", "$3"; a name is taken whole, commas and
 * all); features NULL takes every column that is not a target. Feature (and target)
 * names must be distinct: a model finds its columns by name. With `labels`, the one
 * target column holds class labels: the table's class names, or whole numbers, whose
 * distinct values, in increasing order, are the classes 0..k-1 (labels coded 1..3 are
 * three classes), named by their numbers ("1", "2", "3") in class_names; anything else
 * fails with the file's line. To read another file's labels as the same classes, read
 * it with these names as known_classes. */
nb_dataset *nb_dataset_from_table(const nb_table *table, const char *const *features, int n_features,
                                  const char *const *targets, int n_targets, bool labels, nb_dtype dtype);

/* ====================================================================================== */
/* nabla IDX: the MNIST file format (a magic number, big-endian dimensions, unsigned
 * bytes), plain or gzip-compressed: single files, and pairs of images and labels.
 *
 * Refused with a message naming the file: a path that is not a regular file (a FIFO, a
 * device), a wrong magic number or data type, a file shorter than its dimensions say
 * (truncated), data beyond them, corrupt gzip data, bytes after the gzip data that are
 * not gzip (concatenated gzip members are read as one stream, as gzip -d reads them),
 * and images and labels that do not count the same items.
 *
 * Nothing is allocated for data before they are there: a plain file's size is compared
 * with its dimensions first, and gzip data go into buffers that grow as they are
 * inflated, so a header that claims gigabytes over a few bytes fails as truncated at
 * the cost of a few megabytes. */

/* A raw IDX array of unsigned bytes (data type 0x08), at most NB_MAX_DIMS dimensions. */
typedef struct nb_idx {
    int ndim;
    int64_t dims[NB_MAX_DIMS];
    int64_t size;  /* bytes in data: the product of dims (with dims[0] cut to max_items) */
    uint8_t *data;
} nb_idx;

/* Read an IDX file (plain or gzip). max_items > 0 reads only the first items (along the
 * first dimension); otherwise all, and nothing may follow them. Clear with nb_idx_clear. */
nb_status nb_idx_read(const char *path, int64_t max_items, nb_idx *idx);
void nb_idx_clear(nb_idx *idx);

/* Images [N, rows, cols] (or [N, features]) and labels [N] into a labelled dataset:
 * inputs [N, rows*cols] scaled to [0, 1] once, here; labels as whole numbers. With
 * n_classes > 0 every label must be below it; with 0 it is the largest label + 1.
 * max_items > 0 loads only the first items. */
nb_dataset *nb_idx_load(const char *images_path, const char *labels_path, nb_dtype dtype, int n_classes,
                        int64_t max_items);

/* ====================================================================================== */
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

/* A tensor to save under a name (borrowed for the duration of the call). */
typedef struct nb_safetensors_entry {
    const char *name;
    const nb_tensor *tensor;
} nb_safetensors_entry;

/* A metadata pair: what it takes to rebuild the model ("model": "784-256-10:relu"). */
typedef struct nb_safetensors_meta_entry {
    const char *key;
    const char *value;
} nb_safetensors_meta_entry;

/* Save tensors (f32/f64, names unique and not "__metadata__") and metadata. */
nb_status nb_safetensors_save(const char *path, const nb_safetensors_entry *tensors, int n_tensors,
                              const nb_safetensors_meta_entry *meta, int n_meta);
/* Save every parameter of a graph under its name (names must be unique), followed by
 * optional extra tensors (e.g. a scaler's mean and std). */
nb_status nb_safetensors_save_graph(const char *path, const nb_graph *graph, const nb_safetensors_entry *extra,
                                    int n_extra, const nb_safetensors_meta_entry *meta, int n_meta);

/* A loaded file: its tensors, in the order of their data, and its metadata. */
typedef struct nb_safetensors nb_safetensors;

/* Load a file; a path that is not a regular file (a FIFO, a device) is refused before it
 * is read. NULL, with a message, on failure. */
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

/* ====================================================================================== */
/* nabla model files: a network (nb_net_spec), its loss and dtype in the metadata of a
 * safetensors file beside its parameters, so that the network is rebuilt from the file
 * alone. Files of a multilayer perceptron have the format of nabla 0.1 ("nabla-mlp-1");
 * every other network is "nabla-net-1". `nabla train --save` writes them. */

/* Save the model's parameters with the metadata "format", "model" (nb_net_format of
 * spec, which must know its input shape), "loss" and "dtype", then `meta` (other keys)
 * and the `extra` tensors, atomically. */
nb_status nb_model_save(const char *path, const nb_model *model, const nb_net_spec *spec, nb_loss_kind loss,
                        const nb_safetensors_meta_entry *meta, int n_meta, const nb_safetensors_entry *extra,
                        int n_extra);
/* The network, loss and dtype a file's metadata describe; NB_EFORMAT naming the field
 * that is missing or wrong. */
nb_status nb_model_read_spec(const nb_safetensors *file, nb_net_spec *spec, nb_loss_kind *loss, nb_dtype *dtype);
/* Build the model the file describes, for batches of `batch` rows (nb_model_build), with
 * the file's parameters. Every parameter's tensor is checked against the spec before
 * anything is built. */
nb_status nb_model_from_safetensors(const nb_safetensors *file, int64_t batch, nb_model *model);
/* The same from a path; spec (may be NULL) receives the network's description. The
 * graph is in evaluation mode: nb_forward(model->output) predicts. Free it with
 * nb_graph_free(model->graph). */
nb_status nb_model_load(const char *path, int64_t batch, nb_model *model, nb_net_spec *spec);

#if defined(__GNUC__)
#pragma GCC visibility pop
#endif

#ifdef __cplusplus
}
#endif

#endif
