/* nabla layers and losses, built from graph ops.
 *
 * Parameters made here are ordinary graph parameters: the optimizers, nb_zero_grad,
 * nb_gradcheck and model files all walk the graph's one parameter list. */
#ifndef NABLA_NN_H
#define NABLA_NN_H

#include "nabla/graph.h"

#ifdef __cplusplus
extern "C" {
#endif

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

/* ---- losses ---------------------------------------------------------------------------- */
typedef enum nb_reduction { NB_REDUCE_MEAN, NB_REDUCE_SUM } nb_reduction;

/* The elementwise losses below (MSE, SSE, MAE, Huber, BCE) take a prediction and a target
 * of the same shape, compared element for element; shapes that differ are refused
 * (NB_ESHAPE, naming both) rather than broadcast. */

/* (pred - target)², averaged or summed: MSE, or SSE with NB_REDUCE_SUM. */
nb_node *nb_mse_loss(nb_node *pred, nb_node *target, nb_reduction reduction);
nb_node *nb_sse_loss(nb_node *pred, nb_node *target);
/* ½ Σ (pred - target)²: the loss of SEEDS.md §5. */
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

/* Share of rows whose largest logit is at the label (logits [N, C], labels [N]). */
double nb_accuracy(const nb_tensor *logits, const nb_tensor *labels);
/* Index of the largest entry of each row of x [N, C] into out[N]. */
void nb_argmax_rows(const nb_tensor *x, int64_t *out);

#ifdef __cplusplus
}
#endif

#endif
