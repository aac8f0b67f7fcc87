/* nabla nn: layers, losses, optimizers and schedules, datasets and mini-batch loaders,
 * standardisation, and the one training loop. Built on nabla/autodiff.h. */
#ifndef NABLA_NN_H
#define NABLA_NN_H

#include "nabla/autodiff.h"
#include <stdbool.h>
#include <stdio.h>

#ifdef __cplusplus
extern "C" {
#endif
#if defined(__GNUC__)
#pragma GCC visibility push(default)
#endif

/* ====================================================================================== */
/* nabla layers and losses, built from graph ops.
 *
 * Parameters made here are ordinary graph parameters: the optimizers, nb_zero_grad,
 * nb_gradcheck and model files all walk the graph's one parameter list. */

/* ---- initialisers -------------------------------------------------------------------- */
typedef enum nb_init {
    NB_INIT_ZEROS,
    NB_INIT_XAVIER_UNIFORM,  /* U(-a, a), a = sqrt(6 / (fan_in + fan_out)) */
    NB_INIT_XAVIER_NORMAL,   /* N(0, 2 / (fan_in + fan_out)) */
    NB_INIT_KAIMING_UNIFORM, /* U(-a, a), a = sqrt(6 / fan_in): for ReLU */
    NB_INIT_KAIMING_NORMAL,  /* N(0, 2 / fan_in) */
    NB_INIT_TORCH_DEFAULT    /* U(-1/sqrt(fan_in), 1/sqrt(fan_in)): torch.nn.Linear's */
} nb_init;

/* Fill a parameter from the seeded generator. */
nb_status nb_init_param(nb_node *param, nb_init init, int64_t fan_in, int64_t fan_out, nb_rng *rng);
/* "xavier", "xavier-normal", "kaiming", "kaiming-normal", "torch", "zeros". */
nb_status nb_init_parse(const char *name, nb_init *init);

/* ---- activations (nb_activation is in graph.h, beside the fused layer) ------------------ */
nb_node *nb_activate(nb_node *x, nb_activation activation);
/* "none", "relu", "tanh", "sigmoid", "leaky_relu", "softplus". */
nb_status nb_activation_parse(const char *name, nb_activation *activation);
const char *nb_activation_name(nb_activation activation);

/* ---- layers ---------------------------------------------------------------------------- */
/* A fully connected layer y = x·Wᵀ + b on x [N, in]: makes parameters "NAME.weight"
 * [out, in] and (when with_bias) "NAME.bias" [out], initialised with `init` (the bias
 * as torch does: U(-1/sqrt(in), 1/sqrt(in)), or zeros for NB_INIT_ZEROS). One fused op
 * (nb_linear). */
nb_node *nb_dense(nb_node *x, const char *name, int64_t out_features, bool with_bias, nb_init init, nb_rng *rng);
/* The same followed by an activation, fused into the layer where nb_linear_act can. */
nb_node *nb_dense_act(nb_node *x, const char *name, int64_t out_features, bool with_bias, nb_activation activation,
                      nb_init init, nb_rng *rng);

#define NB_MLP_MAX_LAYERS 16
/* A multilayer perceptron: sizes[0] inputs, sizes[n_sizes-1] outputs, the activation
 * between layers (none after the last). */
typedef struct nb_mlp_spec {
    int n_sizes;
    int64_t sizes[NB_MLP_MAX_LAYERS + 1];
    nb_activation activation;
} nb_mlp_spec;

/* Parse "784-256-128-10:relu" (activation optional, relu by default). */
nb_status nb_mlp_parse(const char *text, nb_mlp_spec *spec);
/* Write the spec back as text ("784-256-128-10:relu"). */
void nb_mlp_format(const nb_mlp_spec *spec, char *buf, size_t buf_size);
/* Build the MLP on x [N, sizes[0]]: layers "fc1", "fc2", ... Returns the logits. */
nb_node *nb_mlp(nb_node *x, const nb_mlp_spec *spec, nb_init init, nb_rng *rng);

/* ---- convolutional layers -------------------------------------------------------------- */
/* A 2-D convolution on x [N, C, H, W], followed by an activation (ReLU fused into the
 * op, nb_conv2d_act; others applied after): parameters "NAME.weight" [out, C, kh, kw] (init
 * with fan_in C·kh·kw, fan_out out·kh·kw) and, when with_bias, "NAME.bias" [out]
 * (U(-1/sqrt(fan_in), 1/sqrt(fan_in)) as torch.nn.Conv2d, zeros for NB_INIT_ZEROS). */
nb_node *nb_conv2d_layer(nb_node *x, const char *name, int64_t out_channels, int kernel_h, int kernel_w, int stride,
                         int padding, bool with_bias, nb_activation activation, nb_init init, nb_rng *rng);
/* Batch normalisation over axis 1 of x [N, C] or [N, C, H, W]: parameters "NAME.weight"
 * (gamma, ones) and "NAME.bias" (beta, zeros) [C], and the running statistics
 * "NAME.running_mean" (zeros) and "NAME.running_var" (ones), frozen parameters so that
 * model files keep them. Momentum 0.1 and eps 1e-5, as torch. */
nb_node *nb_batch_norm_layer(nb_node *x, const char *name);
/* Dropout of a share p (nb_dropout) with a seed drawn from rng. */
nb_node *nb_dropout_layer(nb_node *x, double p, nb_rng *rng);

/* ---- networks described by text ----------------------------------------------------------
 * A network as a list of layers, written on a command line as
 *     conv 32 3x3 pad 1 relu, maxpool 2, conv 64 3x3 pad 1 relu, maxpool 2, dense 128 relu,
 *     dropout 0.3, dense 10
 * Layers, separated by commas (words inside a layer by spaces):
 *     input CxHxW | input F    the shape of one sample (optional: the data can tell it)
 *     conv OUT KxK [stride S] [pad P] [ACT]     (K alone for a square kernel)
 *     maxpool K [stride S] [pad P],  avgpool K [stride S] [pad P]   (stride: K)
 *     dense OUT [ACT],  dropout P,  batchnorm,  flatten
 * ACT is an activation name (nb_activation_parse). A dense layer after images flattens
 * them. The MLP form "784-256-128-10:relu" is accepted too (input 784, dense 256 relu,
 * dense 128 relu, dense 10). */
typedef enum nb_layer_kind {
    NB_LAYER_DENSE,
    NB_LAYER_CONV,
    NB_LAYER_MAXPOOL,
    NB_LAYER_AVGPOOL,
    NB_LAYER_DROPOUT,
    NB_LAYER_BATCHNORM,
    NB_LAYER_FLATTEN
} nb_layer_kind;

typedef struct nb_layer_spec {
    nb_layer_kind kind;
    int64_t units;           /* dense: outputs; conv: output channels */
    int kernel_h, kernel_w;  /* conv; pools (square) */
    int stride, padding;     /* conv, pools */
    double rate;             /* dropout */
    nb_activation activation; /* dense, conv */
} nb_layer_spec;

#define NB_NET_MAX_LAYERS 64
typedef struct nb_net_spec {
    int n_layers;
    nb_layer_spec layers[NB_NET_MAX_LAYERS];
    int input_ndim;       /* 0 (not given), 1 ([features]) or 3 ([C, H, W]) */
    int64_t input_shape[3];
} nb_net_spec;

/* Parse either form; NB_EPARSE naming the layer and word that do not fit. */
nb_status nb_net_parse(const char *text, nb_net_spec *spec);
/* The spec as text that nb_net_parse reads back: the MLP form for a network of dense
 * layers sharing one activation (so "784-256-128-10:relu" stays itself), else the list. */
void nb_net_format(const nb_net_spec *spec, char *buf, size_t buf_size);
/* Set the shape of one sample (C, H, W or features alone); NB_EARG when not positive. */
nb_status nb_net_set_input(nb_net_spec *spec, int ndim, const int64_t *shape);
/* Parse "1x28x28" or "784" as a sample shape. */
nb_status nb_shape_parse(const char *text, int *ndim, int64_t shape[3]);
/* The shape of one sample after the first n_layers layers (0: the input): ndim 1
 * ([features]) or 3 ([C, H, W]). NB_ESHAPE when the input shape is not known or a
 * layer does not fit. */
nb_status nb_net_sample_shape(const nb_net_spec *spec, int n_layers, int *ndim, int64_t shape[3]);
/* The shape of the network's output for one sample: *outputs its last dimension's size
 * (classes, or targets). NB_ESHAPE naming the layer that does not fit the input. */
nb_status nb_net_outputs(const nb_net_spec *spec, int64_t *outputs);
/* Build the network on x [N, features] (rows of pixels, reshaped to the input shape
 * when the first layer wants images) or [N, C, H, W]: layers "conv1", "bn1", "fc1", ...
 * numbered by kind. Returns the output [N, outputs]. */
nb_node *nb_net(nb_node *x, const nb_net_spec *spec, nb_init init, nb_rng *rng);

/* ---- losses ---------------------------------------------------------------------------- */
typedef enum nb_reduction { NB_REDUCE_MEAN, NB_REDUCE_SUM } nb_reduction;

/* The elementwise losses below (MSE, SSE, MAE, Huber, BCE) take a prediction and a target
 * of the same shape, compared element for element; shapes that differ are refused
 * (NB_ESHAPE, naming both) rather than broadcast. */

/* (pred - target)², averaged or summed: MSE, or SSE with NB_REDUCE_SUM. */
nb_node *nb_mse_loss(nb_node *pred, nb_node *target, nb_reduction reduction);
nb_node *nb_sse_loss(nb_node *pred, nb_node *target);
/* ½ Σ (pred - target)²: the loss of tutorial 5 (docs/tutorials.md). */
nb_node *nb_half_sse_loss(nb_node *pred, nb_node *target);
/* |pred - target|. */
nb_node *nb_mae_loss(nb_node *pred, nb_node *target, nb_reduction reduction);
/* ½d² where |d| <= delta, delta(|d| - ½delta) beyond. */
nb_node *nb_huber_loss(nb_node *pred, nb_node *target, double delta, nb_reduction reduction);
/* Binary cross-entropy on logits z with targets t in [0, 1]: softplus(z) - z·t, stable
 * for any z. */
nb_node *nb_bce_logits_loss(nb_node *logits, nb_node *target, nb_reduction reduction);
/* Softmax cross-entropy of logits [N, C] against integer labels [N]. */
nb_node *nb_cross_entropy_loss(nb_node *logits, nb_node *labels, nb_reduction reduction);

/* The losses a name chooses (model files, the CLI's --loss). */
typedef enum nb_loss_kind { NB_LOSS_CE, NB_LOSS_MSE, NB_LOSS_MAE, NB_LOSS_HUBER, NB_LOSS_BCE } nb_loss_kind;

/* "ce" (or "cross-entropy"), "mse", "mae", "huber", "bce". */
nb_status nb_loss_parse(const char *name, nb_loss_kind *kind);
const char *nb_loss_name(nb_loss_kind kind);
/* The loss of a kind: cross-entropy of logits against labels, MSE, MAE, Huber with
 * delta 1, or BCE on logits (as the functions above). */
nb_node *nb_loss(nb_node *pred, nb_node *target, nb_loss_kind kind, nb_reduction reduction);

/* *accuracy = the share of rows whose largest logit is at the label (logits [N, C],
 * labels [N]); NB_ESHAPE naming both shapes when they do not fit (*accuracy is NaN). */
nb_status nb_accuracy(const nb_tensor *logits, const nb_tensor *labels, double *accuracy);
/* Index of the largest entry of each row of x [N, C] into out[N]. */
void nb_argmax_rows(const nb_tensor *x, int64_t *out);

/* ====================================================================================== */
/* nabla optimizers, learning-rate schedules and gradient clipping.
 *
 * An optimizer updates every parameter of a graph that requires a gradient, from the
 * gradients backward left in the graph's flat gradient buffer. The rules follow
 * PyTorch's (torch.optim) so that results can be compared number for number. */

typedef enum nb_optim_kind { NB_SGD, NB_ADAM, NB_ADAMW, NB_RMSPROP, NB_ADAGRAD, NB_LBFGS } nb_optim_kind;

typedef struct nb_optim_config {
    nb_optim_kind kind;
    double lr;
    double momentum;         /* SGD, RMSprop */
    double dampening;        /* SGD */
    bool nesterov;           /* SGD */
    double weight_decay;     /* L2 added to the gradient; AdamW decays the weights directly */
    double beta1, beta2;     /* Adam, AdamW */
    double eps;              /* Adam, AdamW, RMSprop, Adagrad */
    double alpha;            /* RMSprop smoothing constant */
    int history;             /* L-BFGS: pairs kept */
    int max_iter;            /* L-BFGS: iterations per step */
    double tolerance_grad;   /* L-BFGS: stop when max |grad| <= this */
    double tolerance_change; /* L-BFGS: stop when the loss or step changes less */
} nb_optim_config;

/* PyTorch's defaults for a kind (lr 1e-3 for Adam/AdamW/RMSprop, 1e-2 Adagrad, 1 for
 * L-BFGS, 0.01 for SGD). */
nb_optim_config nb_optim_defaults(nb_optim_kind kind);
/* "sgd", "adam", "adamw", "rmsprop", "adagrad", "lbfgs". */
nb_status nb_optim_parse(const char *name, nb_optim_kind *kind);
const char *nb_optim_name(nb_optim_kind kind);

typedef struct nb_optimizer nb_optimizer;

/* State is allocated here, once, for the graph's parameters as they are now; steps
 * allocate nothing. Create the optimizer after the model is complete: a step fails
 * NB_ESTATE once parameters have been added to the graph, and for L-BFGS (which works on
 * the trainable values laid end to end) once the number of trainable values has changed.
 * First-order methods may freeze and unfreeze parameters between steps. */
nb_optimizer *nb_optim_new(nb_graph *graph, const nb_optim_config *config);
void nb_optim_free(nb_optimizer *optimizer);
/* One update from the current gradients. L-BFGS needs nb_optim_step_closure. Runs on
 * nabla's threads when the parameters are many; the numbers do not depend on them. */
nb_status nb_optim_step(nb_optimizer *optimizer);
/* The same update, then the gradients of the updated parameters zeroed: nb_optim_step
 * followed by nb_zero_grad for them, without a pass over memory. The gradients are
 * marked as zeros rather than written: the next backward stores into them instead of
 * adding, and writes the zeros of those it does not reach. Until then the memory holds
 * the old gradients: read them through nb_grad(), nb_grads_data() or nb_grad_norm(),
 * which write the zeros first, not through a pointer kept from before this call. A
 * training loop that zeroes once before its first backward then runs backward, this,
 * backward, this... */
nb_status nb_optim_step_zero_grad(nb_optimizer *optimizer);

/* Re-evaluates the loss and its gradient: zero the gradients, forward, backward, and
 * store the loss. */
typedef nb_status (*nb_loss_closure)(void *ctx, double *loss);
/* A step that may evaluate the loss several times (L-BFGS with its line search; the
 * other kinds evaluate once and step). *loss is the loss before the step. */
nb_status nb_optim_step_closure(nb_optimizer *optimizer, nb_loss_closure closure, void *ctx, double *loss);

/* Updates made so far: steps of a first-order method, iterations of L-BFGS (a call of
 * nb_optim_step_closure makes up to max_iter of them, fewer when it converges). */
int64_t nb_optim_steps(const nb_optimizer *optimizer);

void nb_optim_set_lr(nb_optimizer *optimizer, double lr);
double nb_optim_lr(const nb_optimizer *optimizer);
const nb_optim_config *nb_optim_config_of(const nb_optimizer *optimizer);

/* ---- gradient clipping ------------------------------------------------------------- */
/* The Euclidean norm of the gradients of all trainable parameters (those marked as zeros
 * by nb_optim_step_zero_grad are zeros: this writes them, as nb_grads_data does). */
double nb_grad_norm(nb_graph *graph);
/* Scale those gradients so that their norm is at most max_norm; returns the norm before. */
double nb_clip_grad_norm(nb_graph *graph, double max_norm);

/* ---- learning-rate schedules ------------------------------------------------------- */
typedef enum nb_schedule_kind {
    NB_SCHED_CONSTANT,
    NB_SCHED_STEP,        /* base * gamma^floor(epoch / step_size) */
    NB_SCHED_EXPONENTIAL, /* base * gamma^epoch */
    NB_SCHED_COSINE       /* min + (base - min)(1 + cos(pi epoch / total)) / 2 */
} nb_schedule_kind;

typedef struct nb_schedule {
    nb_schedule_kind kind;
    double base_lr;
    int step_size;
    double gamma;
    int total_epochs;  /* cosine: the epochs of the decay */
    double min_lr;     /* cosine floor */
    int warmup_epochs; /* linear warm-up from base/warmup to base, before the schedule */
} nb_schedule;

/* The rate for a 0-based epoch. */
double nb_schedule_lr(const nb_schedule *schedule, int epoch);
/* "constant", "step:SIZE:GAMMA", "exp:GAMMA", "cosine[:MIN_LR]", optionally prefixed by
 * "warmup:N," (e.g. "warmup:2,cosine"). */
nb_status nb_schedule_parse(const char *text, double base_lr, int total_epochs, nb_schedule *schedule);

/* ====================================================================================== */
/* nabla data: datasets in memory, mini-batch loaders, train/validation splits and
 * feature standardisation.
 *
 * A dataset is the training view of data: inputs [n, n_features] and targets, either
 * [n, n_outputs] (regression) or class labels [n] stored as whole numbers in the
 * dataset's dtype (what nb_one_hot and nb_pick read), as tensors. Data read from files
 * are tables (nb_table, nabla/io.h); a dataset is made from a table by
 * nb_dataset_from_table. A loader walks a dataset in mini-batches, reshuffled every epoch from a
 * seed: the order of an epoch depends only on (seed, epoch), so the same seed gives the
 * same batches, run after run. */

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
    nb_dtype dtype;      /* of inputs and targets: the dataset's */
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
/* Data parallelism: from now on each batch gives only share `rank` of `size` of the
 * whole batch (consecutive rows of it, rows m*rank/size .. m*(rank+1)/size - 1 of a batch
 * of m rows), so that `size` loaders with the same seed share out every batch. A share
 * may be empty (a short last batch with fewer rows than ranks): then nb_batch.size is 0.
 * Call before nb_loader_feed. */
nb_status nb_loader_shard(nb_loader *loader, int rank, int size);
/* Begin an epoch (0-based): rewinds and, when shuffling, draws the epoch's order. */
void nb_loader_start_epoch(nb_loader *loader, int64_t epoch);
/* The next batch of the epoch; false when the epoch is over (until the next start). */
bool nb_loader_next(nb_loader *loader, nb_batch *batch);
/* Write the batches straight into a model's input ([N, n_features]) and target
 * ([N, n_outputs], or [N] labels), of the dataset's dtype: from now on nb_loader_next
 * resizes both to the batch and copies its rows into their own storage (the batch's
 * pointers are theirs). Their storage grows here, once, to a whole batch, so no batch
 * allocates; an input bound to caller memory stops being so. */
nb_status nb_loader_feed(nb_loader *loader, nb_node *input, nb_node *target);

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

/* ====================================================================================== */
/* nabla training loop: epochs of shuffled mini-batches through a model's graph, with
 * a schedule, clipping, early stopping, divergence detection and progress.
 *
 *     nb_model model = {graph, x, labels, logits, loss};
 *     nb_train_config config = nb_train_defaults();
 *     config.epochs = 5, config.batch_size = 64, config.progress = stderr;
 *     nb_train_result result;
 *     nb_train(&model, optimizer, train, test, &config, &result); */

/* What the loop needs to know of a graph. */
typedef struct nb_model {
    nb_graph *graph;
    nb_node *input;  /* [N, n_features] */
    nb_node *target; /* [N, n_outputs], or labels [N] for classification */
    nb_node *output; /* predictions, or logits [N, n_classes] */
    nb_node *loss;   /* a scalar: the mean loss of the batch */
} nb_model;

/* A model for batches of `batch` rows: an input [batch, features] (features the product
 * of the spec's input shape), the network (nb_net), a target (labels [batch] for
 * NB_LOSS_CE, else [batch, outputs]) and the mean loss of that kind. On failure nothing
 * is left (model zeroed). Free with nb_graph_free(model->graph). */
nb_status nb_model_build(nb_model *model, const nb_net_spec *spec, nb_loss_kind loss, nb_dtype dtype, int64_t batch,
                         nb_init init, nb_rng *rng);

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

/* Data parallelism: the processes (ranks) that train one model together, each on its
 * share of every batch. nabla calls no message-passing library itself: a communicator is
 * these callbacks, which nabla::mpi (nabla/mpi.h) makes from an MPI_Comm, and an
 * embedding program may make from anything else. Every rank calls them in the same
 * order with the same counts (collective calls); a callback that fails returns an
 * nb_status with a message. */
typedef struct nb_comm {
    int rank; /* this process: 0 .. size - 1 */
    int size; /* the processes training together */
    /* Sum `count` values of `dtype` element-wise over all ranks, in place: every rank
     * gets the same sums. */
    nb_status (*allreduce_sum)(void *ctx, void *data, int64_t count, nb_dtype dtype);
    /* Copy `bytes` bytes of rank `root`'s `data` into every other rank's. */
    nb_status (*broadcast)(void *ctx, void *data, size_t bytes, int root);
    /* End the job on every rank, with `code` as its exit status. The library never calls
     * it (it returns errors); it is how a program ends a job after a failure that only
     * some ranks saw. NULL when the communicator cannot. */
    void (*abort)(void *ctx, int code);
    void *ctx;
} nb_comm;

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
    double clip_norm;        /* clip the gradients' global norm to this (0: off; not L-BFGS's) */
    double max_loss_growth;  /* an epoch whose mean loss is more than this many times the first
                                batch's is divergence, though finite (0: off; default 1000) */
    const nb_schedule *schedule; /* the rate per epoch (NULL: the optimizer's throughout) */
    bool accuracy;           /* classification: report accuracies */
    FILE *progress;          /* a progress line (live on a terminal) and one line per epoch; NULL: silent */
    const char *val_name;    /* what the epoch lines call the validation data (NULL: "val") */
    nb_epoch_fn on_epoch;
    nb_batch_fn on_batch;
    void *user;
    /* Data parallelism (NULL: this process alone). Every rank calls nb_train with the
     * same model, data, optimizer and settings; batch_size is the global batch: each
     * batch of the one shuffled order (the same seed everywhere) is split into `size`
     * consecutive shares, rank r training on the r-th, and the gradients are summed over
     * the ranks (weighted by share) before every step. Rank 0's parameters are copied to
     * the others first, so every rank then holds the same parameters and optimizer state,
     * and the numbers are one process's up to rounding in the sums. Validation data are
     * shared out likewise. Losses, accuracies, callbacks and the result are the whole
     * batch's on every rank (an on_epoch that returns false on any rank stops all); a
     * failure on one rank fails nb_train on every rank, naming that rank. Refused: a
     * batch smaller than the ranks, training data smaller than the batch, and ranks whose
     * data, model or settings differ (with the numbers). */
    const nb_comm *comm;
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
    int64_t evaluations;    /* gradients of a batch the steps used: one per batch, or for L-BFGS
                               every evaluation of its line search */
    const char *stop_reason; /* "epochs", "loss threshold", "patience", "callback", "diverged" */
} nb_train_result;

/* Train `model` on `train` (validation on `val` when not NULL). Every batch makes one
 * step of the optimizer; with L-BFGS that step is nb_optim_step_closure on the batch (up
 * to max_iter iterations), so full-batch L-BFGS is one epoch of one batch of all rows,
 * unshuffled. Divergence is a loss
 * that is not finite, or a parameter that is not finite at the end of an epoch (checked
 * then, once per epoch; the batch reported is the epoch's last): the parameters of the
 * last good epoch are restored and NB_ENUMERIC names the epoch and the batch. The result
 * is filled either way. A training step allocates nothing: the loader writes each batch
 * straight into the model's input and target (nb_loader_feed), which on return hold the
 * last batch, in their own storage (a caller's binding ends). */
nb_status nb_train(const nb_model *model, nb_optimizer *optimizer, nb_dataset *train, nb_dataset *val,
                   const nb_train_config *config, nb_train_result *result);

/* The mean loss over a dataset and, for classification (accuracy not NULL), the share of
 * rows predicted right. Forward only, one pass per batch when the loss reads the output.
 * The batches are written into the input and target as nb_train does. */
nb_status nb_evaluate(const nb_model *model, nb_dataset *data, int64_t batch_size, double *loss, double *accuracy);

#if defined(__GNUC__)
#pragma GCC visibility pop
#endif

#ifdef __cplusplus
}
#endif

#endif
