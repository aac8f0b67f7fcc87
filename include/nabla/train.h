/* nabla training loop: epochs of shuffled mini-batches through a model's graph, with
 * a schedule, clipping, early stopping, divergence detection and progress.
 *
 *     nb_model model = {graph, x, labels, logits, loss};
 *     nb_train_config config = nb_train_defaults();
 *     config.epochs = 5, config.batch_size = 64, config.progress = stderr;
 *     nb_train_result result;
 *     nb_train(&model, optimizer, train, test, &config, &result); */
#ifndef NABLA_TRAIN_H
#define NABLA_TRAIN_H

#include <stdio.h>

#include "nabla/data.h"
#include "nabla/graph.h"
#include "nabla/optim.h"

#ifdef __cplusplus
extern "C" {
#endif

/* What the loop needs to know of a graph. */
typedef struct nb_model {
    nb_graph *graph;
    nb_node *input;  /* [N, n_features] */
    nb_node *target; /* [N, n_outputs], or labels [N] for classification */
    nb_node *output; /* predictions, or logits [N, n_classes] */
    nb_node *loss;   /* a scalar: the mean loss of the batch */
} nb_model;

typedef struct nb_epoch_stats {
    int epoch;             /* 1-based */
    double loss;           /* mean training loss over the epoch's samples */
    double lr;             /* the rate used in this epoch */
    double seconds;        /* wall time of the epoch's training steps */
    double train_accuracy; /* on the batches as trained (classification), else NAN */
    double val_loss;       /* on the validation data after the epoch; NAN without it */
    double val_accuracy;   /* NAN unless classification with validation data */
    int64_t batches;
} nb_epoch_stats;

/* Called after every epoch; return false to stop training. */
typedef bool (*nb_epoch_fn)(const nb_epoch_stats *stats, void *user);
/* Called after every batch with its loss. */
typedef void (*nb_batch_fn)(int epoch, int64_t batch, int64_t n_batches, double loss, void *user);

typedef struct nb_train_config {
    int epochs;
    int64_t batch_size;
    bool shuffle;            /* a new order every epoch (default true) */
    bool drop_last;          /* drop a short last batch (default false) */
    uint64_t seed;           /* of the shuffling */
    double loss_threshold;   /* stop when an epoch's mean loss is below this (0: off) */
    int patience;            /* stop after this many epochs without a better validation loss (0: off) */
    bool restore_best;       /* with patience: end with the parameters of the best epoch */
    double clip_norm;        /* clip the gradients' global norm to this (0: off) */
    const nb_schedule *schedule; /* the rate per epoch (NULL: the optimizer's throughout) */
    bool accuracy;           /* classification: report accuracies */
    FILE *progress;          /* a progress line (live on a terminal) and one line per epoch; NULL: silent */
    const char *val_name;    /* what the epoch lines call the validation data (NULL: "val") */
    nb_epoch_fn on_epoch;
    nb_batch_fn on_batch;
    void *user;
} nb_train_config;

/* epochs 10, batch 32, shuffle on, everything else off. */
nb_train_config nb_train_defaults(void);

typedef struct nb_train_result {
    int epochs_run;
    double final_loss;      /* the last epoch's mean training loss */
    double best_val_loss;   /* NAN without validation data, or when no epoch gave a finite one */
    int best_epoch;
    bool diverged;          /* a loss or a parameter became NaN or infinite */
    int diverged_epoch;
    int64_t diverged_batch; /* 0-based batch of that epoch */
    const char *stop_reason; /* "epochs", "loss threshold", "patience", "callback", "diverged" */
} nb_train_result;

/* Train `model` on `train` (validation on `val` when not NULL). Divergence is a loss
 * that is not finite, or a parameter that is not finite at the end of an epoch (checked
 * then, once per epoch; the batch reported is the epoch's last): the parameters of the
 * last good epoch are restored and NB_ENUMERIC names the epoch and the batch. The result
 * is filled either way. A training step allocates nothing. The model's input and target
 * read the loader's batches meanwhile; on return they hold what they held before (their
 * own storage, or the caller's binding), so a forward pass afterwards is safe. */
nb_status nb_train(const nb_model *model, nb_optimizer *optimizer, nb_dataset *train, nb_dataset *val,
                   const nb_train_config *config, nb_train_result *result);

/* The mean loss over a dataset and, for classification (accuracy not NULL), the share of
 * rows predicted right. Forward only, one pass per batch when the loss reads the output.
 * The input and target are given back as nb_train does. */
nb_status nb_evaluate(const nb_model *model, nb_dataset *data, int64_t batch_size, double *loss, double *accuracy);

#ifdef __cplusplus
}
#endif

#endif
