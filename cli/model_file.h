/* What `nabla train` saves and `nabla predict` loads: a network described by its spec,
 * loss and data columns, with its parameters (and feature scaling) in a safetensors
 * file. */
#ifndef NABLA_MODEL_FILE_H
#define NABLA_MODEL_FILE_H

#include "cli.h"

/* A description holds together only when the loss is ce exactly when n_classes >= 2
 * equals the network's output width (model_load refuses a file where it does not). */
typedef struct model_desc {
    nb_net_spec spec;   /* knows its input shape */
    nb_loss_kind loss;
    nb_dtype dtype;
    int n_classes;       /* > 0: classification with labels */
    char **class_names;  /* n_classes or NULL */
    char **features;     /* the n_features input columns (CSV data), or NULL */
    int n_features;
    char *target;        /* the target column (CSV data), or NULL */
    char *data;          /* "fashion-mnist" or "csv" */
    bool standardized;   /* inputs scaled by mean/std before the network */
    double *mean, *std;  /* model_n_in each when standardized */
    bool targets_standardized;       /* regression: the network predicts scaled targets */
    double *target_mean, *target_std; /* the outputs' scale, to undo on predictions */
} model_desc;

/* The network's inputs per row (the product of its input shape) and outputs. */
int64_t model_n_in(const model_desc *desc);
int64_t model_n_out(const model_desc *desc);

/* Build the network, its inputs and its loss for batches of `batch` rows. */
nb_status model_build(const model_desc *desc, int64_t batch, nb_init init, nb_rng *rng, nb_model *model);

/* NB_ENUMERIC naming the first parameter that holds a NaN or an infinity (and where),
 * NB_OK when all are finite. A model must not be saved, nor used, with one. */
nb_status model_check_finite(const nb_graph *graph);

/* Save the model's parameters and description atomically; refuses (NB_ENUMERIC, no
 * file written) parameters or scalers that are not finite. */
nb_status model_save(const char *path, const model_desc *desc, const nb_model *model);
/* Read a description, check every field of it (the message names the file and the
 * field), and rebuild the model with the saved parameters, which must be finite. */
nb_status model_load(const char *path, int64_t batch, model_desc *desc, nb_model *model);
void model_desc_clear(model_desc *desc);

#endif
