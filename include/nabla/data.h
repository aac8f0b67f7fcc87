/* nabla data: datasets in memory, mini-batch loaders, train/validation splits, feature
 * standardisation, and the synthetic data of the tutorials (SEEDS.md §1-§3).
 *
 * A dataset holds inputs [n, n_features] and targets, either [n, n_outputs] (regression)
 * or class labels [n] stored as whole numbers in the dataset's dtype (what nb_one_hot and
 * nb_pick read). A loader walks a dataset in mini-batches, reshuffled every epoch from a
 * seed: the order of an epoch depends only on (seed, epoch), so the same seed gives the
 * same batches, run after run. */
#ifndef NABLA_DATA_H
#define NABLA_DATA_H

#include "nabla/csv.h"
#include "nabla/tensor.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct nb_dataset {
    int64_t n;              /* samples */
    nb_tensor *inputs;      /* [n, n_features] */
    nb_tensor *targets;     /* [n, n_outputs], or [n] labels when n_classes > 0 */
    int n_classes;          /* > 0: targets are class labels 0 .. n_classes-1 */
    char **class_names;     /* n_classes names, or NULL */
    char **feature_names;   /* n_features names, or NULL */
    char **target_names;    /* n_outputs names (1 for labels), or NULL */
    int64_t image_shape[2]; /* rows, columns of each input when it is an image; else 0, 0 */
} nb_dataset;

/* All-zero datasets to fill: targets [n, n_outputs] / labels [n]. NULL on failure. */
nb_dataset *nb_dataset_new(nb_dtype dtype, int64_t n, int64_t n_features, int64_t n_outputs);
nb_dataset *nb_dataset_new_labels(nb_dtype dtype, int64_t n, int64_t n_features, int n_classes);
/* From row-major doubles: inputs n x n_features, targets n x n_outputs. */
nb_dataset *nb_dataset_from_doubles(nb_dtype dtype, int64_t n, int64_t n_features, const double *inputs,
                                    int64_t n_outputs, const double *targets);
void nb_dataset_free(nb_dataset *data);

nb_dtype nb_dataset_dtype(const nb_dataset *data);
int64_t nb_dataset_n_features(const nb_dataset *data);
/* Columns of the targets: n_outputs, or 1 for labels. */
int64_t nb_dataset_n_outputs(const nb_dataset *data);
/* The label of a row (labelled datasets). */
int64_t nb_dataset_label(const nb_dataset *data, int64_t row);
/* Every label a whole number in 0 .. n_classes-1; otherwise NB_EFORMAT naming the row. */
nb_status nb_dataset_check_labels(const nb_dataset *data);

/* A dataset from columns of a CSV table. `targets` and `features` are comma-separated
 * column names or 1-based indices ("y", "3", "x1,x2"); features NULL takes every column
 * that is not a target. With `labels`, the one target column holds class labels: whole
 * numbers >= 0 (n_classes = the largest + 1) or the table's class names; anything else
 * fails with the file's line. */
nb_dataset *nb_dataset_from_csv(const nb_csv_table *table, const char *features, const char *targets, bool labels,
                                nb_dtype dtype);

/* Copies of some rows: rows[0..n) in that order / count rows from start. */
nb_dataset *nb_dataset_subset(const nb_dataset *data, const int64_t *rows, int64_t n);
nb_dataset *nb_dataset_slice(const nb_dataset *data, int64_t start, int64_t count);
/* A seeded random split: round(n * val_fraction) rows go to *val, the rest to *train;
 * each part keeps the original order of its rows. Both parts must be non-empty. */
nb_status nb_dataset_split(const nb_dataset *data, double val_fraction, uint64_t seed, nb_dataset **train,
                           nb_dataset **val);

/* ---- mini-batches ------------------------------------------------------------------ */
enum {
    NB_LOADER_SHUFFLE = 1,   /* a new order every epoch, from (seed, epoch) */
    NB_LOADER_DROP_LAST = 2, /* drop the last batch when it is short */
    NB_LOADER_COPY = 4       /* copy rows even when not shuffling (see nb_batch) */
};

typedef struct nb_batch {
    int64_t size;        /* rows in this batch (the last may be short) */
    int64_t index;       /* the batch's number in its epoch */
    void *inputs;        /* size x n_features, the dataset's dtype */
    void *targets;       /* size x n_outputs, or size labels */
    const int64_t *rows; /* the dataset rows in this batch */
} nb_batch;

typedef struct nb_loader nb_loader;

/* A loader over `data` (which must outlive it and is never written). It allocates its
 * batch buffers once; nb_loader_next copies rows into them. Without NB_LOADER_SHUFFLE
 * (and without NB_LOADER_COPY) rows are consecutive, so a batch points straight into the
 * dataset: read-only memory, no copy. Starts at epoch 0. */
nb_loader *nb_loader_new(nb_dataset *data, int64_t batch_size, unsigned flags, uint64_t seed);
void nb_loader_free(nb_loader *loader);
/* Batches per epoch. */
int64_t nb_loader_n_batches(const nb_loader *loader);
/* Begin an epoch (0-based): rewinds and, when shuffling, draws the epoch's order. */
void nb_loader_start_epoch(nb_loader *loader, int64_t epoch);
/* The next batch of the epoch; false when the epoch is over (until the next start). */
bool nb_loader_next(nb_loader *loader, nb_batch *batch);

/* ---- standardisation: x' = (x - mean) / std, per feature --------------------------- */
typedef struct nb_scaler {
    int64_t n_features;
    double *mean; /* n_features */
    double *std;  /* n_features; 1 for a constant feature, which is only centred */
} nb_scaler;

/* Learn mean and (population) standard deviation per column of x [n, d] (or [n]). The
 * scaler must be zeroed or cleared first. */
nb_status nb_scaler_fit(nb_scaler *scaler, const nb_tensor *x);
/* Set from known values (e.g. read back from a model file); copies them. */
nb_status nb_scaler_set(nb_scaler *scaler, int64_t n_features, const double *mean, const double *std);
/* In place; the columns of x must match. */
nb_status nb_scaler_apply(const nb_scaler *scaler, nb_tensor *x);
nb_status nb_scaler_invert(const nb_scaler *scaler, nb_tensor *x);
void nb_scaler_clear(nb_scaler *scaler);

/* ---- synthetic data of the tutorials -------------------------------------------------- */
/* x = i / divisor for i = first .. last (inputs [n, 1]), y = f(x) (targets [n, 1]).
 * SEEDS.md §1: first 0, last 99, divisor 100; §2: first -400, last 399, divisor 400. */
nb_dataset *nb_synth_grid(nb_dtype dtype, int64_t first, int64_t last, double divisor,
                          double (*f)(double x, void *ctx), void *ctx);
/* The same with y = a x² + b x + c (§1: 2, 3, 4; §2: 2, -4, 3). */
nb_dataset *nb_synth_quadratic(nb_dtype dtype, int64_t first, int64_t last, double divisor, double a, double b,
                               double c);
/* SEEDS.md §3: X ~ N(0, 1) [n, d]; y = X·w + b + N(0, noise²) [n, 1]. All of X is drawn
 * first (row-major), then the noise, as the tutorial does. */
nb_dataset *nb_synth_linear(nb_dtype dtype, int64_t n, int64_t d, const double *w, double b, double noise,
                            nb_rng *rng);

#ifdef __cplusplus
}
#endif

#endif
