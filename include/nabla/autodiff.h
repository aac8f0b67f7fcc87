/* nabla autodiff: the graph of ops over tensors, forward and reverse-mode gradients, the
 * gradient check. Built on nabla/core.h. */
#ifndef NABLA_AUTODIFF_H
#define NABLA_AUTODIFF_H

#include "nabla/core.h"

#ifdef __cplusplus
extern "C" {
#endif
#if defined(__GNUC__)
#pragma GCC visibility push(default)
#endif

/* ====================================================================================== */
/* nabla graph: reverse-mode automatic differentiation over tensors.
 *
 * A graph is built once from leaves (inputs, parameters, constants) and ops, then run
 * many times: nb_forward() evaluates a node, nb_backward() pushes the gradient of a
 * scalar back to every parameter (and to inputs marked as needing a gradient).
 * Gradients accumulate until nb_zero_grad(). Evaluating without backward records
 * nothing, so it is the tutorials' no_grad: use it for predictions and updates.
 *
 * Builders return NULL on failure (message in nb_errmsg()) and pass a NULL input
 * straight through, so a whole expression can be built and checked once at the end.
 * All nodes of a graph share the graph's dtype. */

typedef struct nb_graph nb_graph;
typedef struct nb_node nb_node;

nb_graph *nb_graph_new(nb_dtype dtype);
void nb_graph_free(nb_graph *graph);
nb_dtype nb_graph_dtype(const nb_graph *graph);
/* Training or evaluation mode (evaluation when a graph is made): in training mode
 * dropout drops and batch norm normalises with the batch's statistics (updating its
 * running ones); in evaluation mode dropout is the identity and batch norm uses the
 * running statistics. nb_train switches to training for its steps and back. */
void nb_graph_set_training(nb_graph *graph, bool training);
bool nb_graph_training(const nb_graph *graph);
/* Number of nodes built so far. */
int nb_graph_size(const nb_graph *graph);

/* ---- leaves ---------------------------------------------------------------------- */
/* An input: data the caller sets before each run. Its leading (batch) dimension may be
 * changed between runs with nb_input_resize(); everything downstream follows. */
nb_node *nb_input(nb_graph *graph, const char *name, int ndim, const int64_t *shape);
/* A trainable parameter, zero-initialised; its value and gradient live in the graph's
 * flat parameter buffers (nb_params_data / nb_grads_data). */
nb_node *nb_param(nb_graph *graph, const char *name, int ndim, const int64_t *shape);
/* A constant (no gradient) copied from `values` (size doubles; NULL for zeros). */
nb_node *nb_const(nb_graph *graph, int ndim, const int64_t *shape, const double *values);
nb_node *nb_scalar(nb_graph *graph, double value);

/* Change an input's leading dimension (keeps the others). Reallocates only when the
 * input grows past every size it has had; the data are then undefined. */
nb_status nb_input_resize(nb_node *input, int64_t batch);
/* Copy rows into an input, resizing its batch (leading) dimension to rows' and
 * converting to the graph's dtype: rows must have the input's shape but for the first
 * dimension (NB_ESHAPE otherwise). */
nb_status nb_input_set(nb_node *input, const nb_tensor *rows);
/* Copy from doubles, converting to the graph dtype. */
nb_status nb_input_set_doubles(nb_node *input, const double *values, int64_t batch);
/* Let an input read caller memory (batch rows) without copying. `dtype` says what the
 * memory holds; it must be the graph's (NB_EDTYPE otherwise: a binding cannot convert).
 * The memory must outlive its use; nb_input_resize() or nb_input_set() ends the binding. */
nb_status nb_input_bind(nb_node *input, nb_dtype dtype, void *data, int64_t batch);
/* Ask for (or stop asking for) the gradient of an input or a parameter. A frozen
 * parameter keeps its value out of backward. */
nb_status nb_set_requires_grad(nb_node *node, bool requires_grad);

/* ---- node access ----------------------------------------------------------------- */
/* The node's value tensor: writable for inputs and parameters, computed for ops.
 * Valid until the next forward that changes shapes. */
nb_tensor *nb_value(nb_node *node);
/* The node's gradient (NULL when it has none). For an op node, what the last backward
 * pushed into it (zeros if that backward did not reach it). */
nb_tensor *nb_grad(nb_node *node);
/* The first element of the value (the loss of a scalar node), as a double; NaN with
 * NB_ESTATE when the node has not been evaluated, NB_EARG when it is NULL. */
double nb_item(const nb_node *node);
const char *nb_node_name(const nb_node *node);
/* The op's name ("matmul", "input", "param", "const"). */
const char *nb_node_op(const nb_node *node);
nb_graph *nb_node_graph(const nb_node *node);
bool nb_is_param(const nb_node *node);
bool nb_requires_grad(const nb_node *node);

/* ---- parameters, all in one flat buffer -------------------------------------------- */
int nb_param_count(const nb_graph *graph);             /* parameter tensors */
nb_node *nb_param_at(const nb_graph *graph, int index); /* in creation order */
nb_node *nb_find(const nb_graph *graph, const char *name);
int64_t nb_n_params(const nb_graph *graph);             /* scalars in all parameters */
/* n_params elements; the pointer stays valid until a parameter is added. */
void *nb_params_data(nb_graph *graph);
/* The parameters' gradients, n_params elements in the order of nb_params_data. Ask for
 * them after the backward whose gradients you read: nb_optim_step_zero_grad marks the
 * gradients as zeros without writing them, and until the next backward the memory still
 * holds the old ones. This call writes those zeros, and so does the end of the next
 * backward (which stores the gradients it computes and writes zeros where it reached no
 * parameter); nb_grad() does the same for one parameter. */
void *nb_grads_data(nb_graph *graph);

/* ---- running --------------------------------------------------------------------- */
/* Evaluate `node` and everything it depends on. The first run of a node plans and
 * allocates; later runs with the same or smaller shapes allocate nothing. */
nb_status nb_forward(nb_node *node);
/* Gradient of a scalar node (evaluated by the last nb_forward) with respect to every
 * parameter and every input that requires a gradient; accumulates. */
nb_status nb_backward(nb_node *loss);
/* Backward from a node of any shape with a given seed gradient (its size elements in
 * the graph dtype; NULL seeds ones): a vector-Jacobian product. */
nb_status nb_backward_seed(nb_node *node, const void *seed);
/* Zero the gradients of parameters and inputs. */
void nb_zero_grad(nb_graph *graph);

/* ---- ops ------------------------------------------------------------------------- */
/* Elementwise with numpy broadcasting. */
nb_node *nb_add(nb_node *a, nb_node *b);
nb_node *nb_sub(nb_node *a, nb_node *b);
nb_node *nb_mul(nb_node *a, nb_node *b);
nb_node *nb_div(nb_node *a, nb_node *b);
nb_node *nb_pow(nb_node *a, nb_node *b);   /* a ** b, tensor exponent */
nb_node *nb_atan2(nb_node *a, nb_node *b); /* atan2(a, b) */
nb_node *nb_minimum(nb_node *a, nb_node *b);
nb_node *nb_maximum(nb_node *a, nb_node *b);

/* Elementwise, one input. */
nb_node *nb_neg(nb_node *x);
nb_node *nb_scale(nb_node *x, double factor);     /* factor * x */
nb_node *nb_shift(nb_node *x, double offset);     /* x + offset */
nb_node *nb_pow_scalar(nb_node *x, double power); /* x ** power */
nb_node *nb_exp(nb_node *x);
nb_node *nb_log(nb_node *x);
nb_node *nb_log10(nb_node *x);
nb_node *nb_sqrt(nb_node *x);
nb_node *nb_abs(nb_node *x);
nb_node *nb_sin(nb_node *x);
nb_node *nb_cos(nb_node *x);
nb_node *nb_tan(nb_node *x);
nb_node *nb_asin(nb_node *x);
nb_node *nb_acos(nb_node *x);
nb_node *nb_atan(nb_node *x);
nb_node *nb_sinh(nb_node *x);
nb_node *nb_cosh(nb_node *x);
nb_node *nb_tanh(nb_node *x);
nb_node *nb_sigmoid(nb_node *x);
nb_node *nb_relu(nb_node *x);
nb_node *nb_leaky_relu(nb_node *x, double slope);
nb_node *nb_softplus(nb_node *x);

/* Matrix product of 2-D tensors, either side transposed: op(a) · op(b). */
nb_node *nb_matmul(nb_node *a, nb_node *b, bool transpose_a, bool transpose_b);
/* Swap the last two dimensions (a 2-D transpose). */
nb_node *nb_transpose(nb_node *x);
/* Same elements, new shape; one dimension may be -1 (inferred), which keeps working
 * when the batch dimension changes. */
nb_node *nb_reshape(nb_node *x, int ndim, const int64_t *shape);

/* Reductions. Over all elements the result is a scalar (ndim 0); over one axis the axis
 * is removed, or kept with size 1 when keepdim is true. Negative axes count from the
 * end. */
nb_node *nb_sum(nb_node *x);
nb_node *nb_mean(nb_node *x);
nb_node *nb_sum_axis(nb_node *x, int axis, bool keepdim);
nb_node *nb_mean_axis(nb_node *x, int axis, bool keepdim);
nb_node *nb_max_axis(nb_node *x, int axis, bool keepdim);
/* Numerically stable (the maximum is subtracted first). */
nb_node *nb_softmax(nb_node *x, int axis);
nb_node *nb_log_softmax(nb_node *x, int axis);

/* Integer class labels (stored as whole numbers in the graph dtype, shape [N]):
 * one-hot rows [N, n_classes], and the picked entries x[i, labels[i]] of x [N, C]. A
 * label out of range fails the forward with a message naming the row. */
nb_node *nb_one_hot(nb_node *labels, int64_t n_classes);
nb_node *nb_pick(nb_node *x, nb_node *labels);
/* One column of x [N, C] as [N, 1]: y[i, 0] = x[i, column] (0 <= column < C). */
nb_node *nb_column(nb_node *x, int64_t column);

/* ---- fused ops: fewer passes over memory for training ------------------------------ */
/* Activations of layers (see nn.h). nb_linear_act fuses NONE, RELU, TANH and SIGMOID. */
typedef enum nb_activation {
    NB_ACT_NONE = 0,
    NB_ACT_RELU,
    NB_ACT_TANH,
    NB_ACT_SIGMOID,
    NB_ACT_LEAKY_RELU, /* slope 0.01 */
    NB_ACT_SOFTPLUS
} nb_activation;

/* A fully connected layer: x [N, in] · weightᵀ (weight [out, in], as torch.nn.Linear
 * stores it) + bias [out] -> [N, out]. bias may be NULL (no bias). One matrix product,
 * and the bias added in one pass over the output; the backward takes the bias gradient
 * in the same pass that forms the product's input gradient. */
nb_node *nb_linear(nb_node *x, nb_node *weight, nb_node *bias);
/* The same with the activation fused in: act(x · weightᵀ + bias). Its backward makes
 * one pass over the output for the activation's derivative and the bias gradient.
 * NB_EARG for an activation it does not fuse (use nb_activate on nb_linear). */
nb_node *nb_linear_act(nb_node *x, nb_node *weight, nb_node *bias, nb_activation activation);
/* Mean over rows of -log softmax(logits)[label]: logits [N, C], labels [N] (whole
 * numbers 0..C-1 stored in the graph dtype) -> a scalar. Numerically stable; the
 * backward is (softmax - onehot) / N in one pass. A label out of range fails the
 * forward with a message naming the row. */
nb_node *nb_softmax_cross_entropy(nb_node *logits, nb_node *labels);

/* ---- convolutional networks ------------------------------------------------------- */
/* 2-D convolution (cross-correlation, as torch.nn.Conv2d): x [N, C, H, W], weight
 * [O, C, kh, kw], bias [O] or NULL -> [N, O, OH, OW] with OH = (H + 2·padding - kh) /
 * stride + 1 (OW likewise); zero padding on every side. One matrix product per batch
 * (im2col) on nabla's threads. */
nb_node *nb_conv2d(nb_node *x, nb_node *weight, nb_node *bias, int stride, int padding);
/* The same with the activation fused into its passes: NB_ACT_NONE or NB_ACT_RELU (NB_EARG
 * for others: use nb_activate on nb_conv2d). */
nb_node *nb_conv2d_act(nb_node *x, nb_node *weight, nb_node *bias, int stride, int padding, nb_activation activation);
/* Pooling over square windows of x [N, C, H, W]; stride 0 means the kernel size,
 * padding at most kernel/2. Max pooling ignores the padding; average pooling counts it
 * as zeros (divides by kernel²), as torch's defaults do. */
nb_node *nb_max_pool2d(nb_node *x, int kernel, int stride, int padding);
nb_node *nb_avg_pool2d(nb_node *x, int kernel, int stride, int padding);
/* Inverted dropout: in training mode each element is zeroed with probability p and the
 * rest scaled by 1/(1-p); in evaluation mode the identity. The mask is a function of
 * the seed and of how many times the graph's gradients have been zeroed, so each
 * training step draws a new one and the same seed gives the same masks. */
nb_node *nb_dropout(nb_node *x, double p, uint64_t seed);
/* Batch normalisation over axis 1 of x [N, C] or [N, C, H, W]: y = (x - mean) /
 * sqrt(var + eps) · gamma + beta, gamma and beta [C]. In training mode mean and var are
 * the batch's (biased var) and the running statistics (frozen parameters [C], see
 * nb_set_requires_grad, so that they are saved with the model) move towards them by
 * momentum (the running var takes the unbiased var), as torch.nn.BatchNorm2d. */
nb_node *nb_batch_norm(nb_node *x, nb_node *gamma, nb_node *beta, nb_node *running_mean, nb_node *running_var,
                       double momentum, double eps);
/* x [N, ...] -> [N, the product of the rest] (a reshape that follows the batch size). */
nb_node *nb_flatten(nb_node *x);

/* ---- gradient check ---------------------------------------------------------------- */
typedef struct nb_gradcheck_result {
    double max_error;    /* worst |analytic - numeric| / max(1, |analytic|, |numeric|) */
    const char *worst;   /* the leaf where it occurred (its name) */
    int64_t worst_index; /* flat index within that leaf */
    double analytic;     /* the two gradients there */
    double numeric;
    int64_t n_checked;   /* scalars compared */
} nb_gradcheck_result;

/* Compare backward's gradient of the scalar `loss` with central finite differences of
 * step `eps` (0 picks 1e-6) for every element of every parameter and every input that
 * requires a gradient. Float64 graphs only. Leaves parameter values as they were and
 * gradients zeroed. */
nb_status nb_gradcheck(nb_node *loss, double eps, nb_gradcheck_result *result);

#if defined(__GNUC__)
#pragma GCC visibility pop
#endif

#ifdef __cplusplus
}
#endif

#endif
