/* Fused ops for training: a fully connected layer with its bias and activation, and
 * softmax with cross-entropy. Each saves whole passes over memory compared with the
 * same formula built from matmul, add, relu, log_softmax and pick, and allocates
 * nothing per step (its scratch lives in the node's aux space in the graph's arena).
 *
 * Loops over large outputs run on nabla's threads (nb_parallel_ranges); each output
 * element, and each bias-gradient sum, is formed by one thread in a fixed order, so the
 * same thread count gives the same numbers. */
#include "autodiff/graph_internal.h"
#include "autodiff/ops/activations.h"

#include "core/core.h"

#include <string.h>
#include <tgmath.h>

/* ---- linear: y = act(x · Wᵀ + b) --------------------------------------------------------- */

/* What the elementwise passes of linear work on: y and its gradient are [rows, cols]. */
typedef struct linear_pass {
    int activation;
    int64_t rows, cols;
    const void *bias;    /* [cols] or NULL */
    void *y;             /* forward: in place, z -> act(z + b) */
    const void *grad_y;  /* backward: dL/dy */
    void *grad_z;        /* backward: dL/dz = dL/dy · act'(z), [rows, cols]; NULL when act is none */
    void *grad_bias;     /* backward: += column sums of dL/dz, or NULL */
} linear_pass;

/* act_relu_f32, act_relu_d_f32, ...: the forwards and derivatives of activations.h */
#define T float
#define SFX f32
NB_FUSED_ACTIVATIONS(NB_ACTIVATION_FUNCTIONS)
#undef T
#undef SFX
#define T double
#define SFX f64
NB_FUSED_ACTIVATIONS(NB_ACTIVATION_FUNCTIONS)
#undef T
#undef SFX

/* The activation's derivative written with its output y (activations.h). */
#define LINEAR_KERNELS(T, SFX)                                                                      \
    /* rows [from, to) of y [rows, cols]: y = act(y + b) */                                         \
    NB_VECTOR_CLONES static void linear_forward_rows_##SFX(void *ctx, int64_t from, int64_t to)     \
    {                                                                                               \
        const linear_pass *p = ctx;                                                                 \
        const T *b = p->bias;                                                                       \
        for (int64_t i = from; i < to; i++) {                                                       \
            T *y = (T *)p->y + i * p->cols;                                                         \
            switch (p->activation) {                                                                \
            case NB_ACT_RELU:                                                                       \
                for (int64_t j = 0; j < p->cols; j++)                                               \
                    y[j] = act_relu_##SFX(y[j] + (b ? b[j] : 0));                                   \
                break;                                                                              \
            case NB_ACT_TANH:                                                                       \
                for (int64_t j = 0; j < p->cols; j++)                                               \
                    y[j] = act_tanh_##SFX(y[j] + (b ? b[j] : 0));                                   \
                break;                                                                              \
            case NB_ACT_SIGMOID:                                                                    \
                for (int64_t j = 0; j < p->cols; j++)                                               \
                    y[j] = act_sigmoid_##SFX(y[j] + (b ? b[j] : 0));                                \
                break;                                                                              \
            default:                                                                                \
                for (int64_t j = 0; j < p->cols; j++)                                               \
                    y[j] += b[j];                                                                   \
            }                                                                                       \
        }                                                                                           \
    }                                                                                               \
    /* columns [from, to), every row in order: dz = dy · act'(y) and db[j] += Σ_i dz[i, j];     \
     * one loop per activation, so that each vectorises */                                       \
    NB_VECTOR_CLONES static void linear_backward_cols_##SFX(void *ctx, int64_t from, int64_t to)    \
    {                                                                                               \
        const linear_pass *p = ctx;                                                                 \
        switch (p->activation) {                                                                    \
        case NB_ACT_RELU: LINEAR_BACKWARD_LOOP(T, dy * act_relu_d_##SFX(y[j])); break;              \
        case NB_ACT_TANH: LINEAR_BACKWARD_LOOP(T, dy * act_tanh_d_##SFX(y[j])); break;              \
        case NB_ACT_SIGMOID: LINEAR_BACKWARD_LOOP(T, dy * act_sigmoid_d_##SFX(y[j])); break;        \
        default: LINEAR_BACKWARD_LOOP(T, dy);                                                       \
        }                                                                                           \
    }

/* The body of linear's backward pass for one derivative expression of y[j] and dy =
 * gy[j]. dy is loaded whether or not the expression uses it: with the load inside a
 * conditional the compiler kept a branch per element (mispredicted half the time for
 * ReLU) instead of vector code. */
#define LINEAR_BACKWARD_LOOP(T, derivative)                                                         \
    do {                                                                                            \
        T *restrict db = p->grad_bias;                                                              \
        for (int64_t i = 0; i < p->rows; i++) {                                                     \
            const T *restrict y = (const T *)p->y + i * p->cols;                                    \
            const T *restrict gy = (const T *)p->grad_y + i * p->cols;                              \
            T *restrict gz = p->grad_z ? (T *)p->grad_z + i * p->cols : NULL;                       \
            (void)y; /* not every derivative needs it */                                            \
            if (gz && db)                                                                           \
                for (int64_t j = from; j < to; j++) {                                               \
                    const T dy = gy[j];                                                             \
                    T d = (derivative);                                                             \
                    gz[j] = d;                                                                      \
                    db[j] += d;                                                                     \
                }                                                                                   \
            else if (gz)                                                                            \
                for (int64_t j = from; j < to; j++) {                                               \
                    const T dy = gy[j];                                                             \
                    gz[j] = (derivative);                                                           \
                }                                                                                   \
            else                                                                                    \
                for (int64_t j = from; j < to; j++) {                                               \
                    const T dy = gy[j];                                                             \
                    db[j] += (derivative);                                                          \
                }                                                                                   \
        }                                                                                           \
    } while (0)

LINEAR_KERNELS(float, f32)
LINEAR_KERNELS(double, f64)

/* x [N, in], weight [out, in], bias [out] -> [N, out] */
static nb_status linear_shape(nb_node *node)
{
    const nb_tensor *x = &node->inputs[0]->value, *w = &node->inputs[1]->value;
    const nb_tensor *b = node->n_inputs > 2 ? &node->inputs[2]->value : NULL;
    char sx[96], sw[96], sb[96];
    if (x->ndim != 2 || w->ndim != 2 || x->shape[1] != w->shape[1])
        return nb_fail(NB_ESHAPE, "linear: x must be [N, in] and weight [out, in] with the same in; got x %s, weight %s",
                       nb_shape_str(x->ndim, x->shape, sx, sizeof sx), nb_shape_str(w->ndim, w->shape, sw, sizeof sw));
    if (b && (b->ndim != 1 || b->shape[0] != w->shape[0]))
        return nb_fail(NB_ESHAPE, "linear: bias must be [%lld] (weight %s has %lld outputs), got %s",
                       (long long)w->shape[0], nb_shape_str(w->ndim, w->shape, sw, sizeof sw), (long long)w->shape[0],
                       nb_shape_str(b->ndim, b->shape, sb, sizeof sb));
    int64_t rows = x->shape[0], out = w->shape[0];
    nb_set_shape(&node->value, 2, (int64_t[]){rows, out});
    /* dL/dz, formed by backward, when an activation sits between z and y */
    node->aux_bytes = node->attr.activation != NB_ACT_NONE ? (size_t)(rows * out) * nb_dtype_size(node->graph->dtype) : 0;
    return NB_OK;
}

static void linear_pass_run(nb_dtype dtype, bool backward, linear_pass *pass)
{
    int64_t work = pass->rows * pass->cols;
    if (dtype == NB_F64)
        nb_parallel_ranges(backward ? pass->cols : pass->rows, work,
                           backward ? linear_backward_cols_f64 : linear_forward_rows_f64, pass);
    else
        nb_parallel_ranges(backward ? pass->cols : pass->rows, work,
                           backward ? linear_backward_cols_f32 : linear_forward_rows_f32, pass);
}

/* y = act(x · Wᵀ + b): the product, then one pass for bias and activation */
static nb_status linear_forward(nb_node *node)
{
    const nb_tensor *x = &node->inputs[0]->value, *w = &node->inputs[1]->value;
    int64_t rows = x->shape[0], in = x->shape[1], out = w->shape[0];
    nb_dtype dtype = node->graph->dtype;
    if (dtype == NB_F64)
        nb_gemm_f64(false, true, rows, out, in, 1.0, x->data, in, w->data, in, 0.0, node->value.data, out);
    else
        nb_gemm_f32(false, true, rows, out, in, 1.0f, x->data, in, w->data, in, 0.0f, node->value.data, out);
    linear_pass pass = {.activation = node->attr.activation, .rows = rows, .cols = out, .y = node->value.data,
                        .bias = node->n_inputs > 2 ? node->inputs[2]->value.data : NULL};
    if (pass.bias || pass.activation != NB_ACT_NONE)
        linear_pass_run(dtype, false, &pass);
    return NB_OK;
}

/* dz = dy · act'(z) and db += Σ_rows dz in one pass; dW [out, in] += dzᵀ · x; dx [N, in] += dz · W */
static void linear_backward(nb_node *node)
{
    nb_node *x = node->inputs[0], *w = node->inputs[1], *b = node->n_inputs > 2 ? node->inputs[2] : NULL;
    int64_t rows = x->value.shape[0], in = x->value.shape[1], out = w->value.shape[0];
    nb_dtype dtype = node->graph->dtype;
    bool fused_act = node->attr.activation != NB_ACT_NONE;
    linear_pass pass = {.activation = node->attr.activation, .rows = rows, .cols = out, .y = node->value.data,
                        .grad_y = node->grad.data, .grad_z = fused_act ? node->aux : NULL,
                        .grad_bias = b && b->requires_grad ? b->grad.data : NULL};
    if (pass.grad_bias && nb_grad_fresh(b)) /* the pass adds row by row: start a fresh one from zeros */
        memset(pass.grad_bias, 0, (size_t)out * nb_dtype_size(dtype));
    if (pass.grad_z || pass.grad_bias)
        linear_pass_run(dtype, true, &pass);
    const void *grad_z = fused_act ? node->aux : node->grad.data;
    /* beta 1 adds to a gradient that holds something already; beta 0 stores into one
     * that holds nothing yet (the layer's input, when this layer is its only consumer) */
    if (dtype == NB_F64) {
        if (w->requires_grad)
            nb_gemm_f64(true, false, out, in, rows, 1.0, grad_z, out, x->value.data, in, nb_grad_fresh(w) ? 0.0 : 1.0,
                        w->grad.data, in);
        if (x->requires_grad)
            nb_gemm_f64(false, false, rows, in, out, 1.0, grad_z, out, w->value.data, in, nb_grad_fresh(x) ? 0.0 : 1.0,
                        x->grad.data, in);
    } else {
        if (w->requires_grad)
            nb_gemm_f32(true, false, out, in, rows, 1.0f, grad_z, out, x->value.data, in,
                        nb_grad_fresh(w) ? 0.0f : 1.0f, w->grad.data, in);
        if (x->requires_grad)
            nb_gemm_f32(false, false, rows, in, out, 1.0f, grad_z, out, w->value.data, in,
                        nb_grad_fresh(x) ? 0.0f : 1.0f, x->grad.data, in);
    }
}

static const nb_opdef linear_op = {"linear", linear_shape, linear_forward, linear_backward, true};

nb_node *nb_linear_act(nb_node *x, nb_node *weight, nb_node *bias, nb_activation activation)
{
    if (activation != NB_ACT_NONE && activation != NB_ACT_RELU && activation != NB_ACT_TANH &&
        activation != NB_ACT_SIGMOID) {
        nb_fail(NB_EARG, "linear: unknown activation %d (NB_ACT_NONE, NB_ACT_RELU, NB_ACT_TANH or NB_ACT_SIGMOID)",
                (int)activation);
        return nb_builder_failed();
    }
    nb_node *inputs[3] = {x, weight, bias};
    nb_attr attr = {.activation = activation};
    return nb_op_node(&linear_op, bias ? 3 : 2, inputs, &attr);
}

nb_node *nb_linear(nb_node *x, nb_node *weight, nb_node *bias)
{
    return nb_linear_act(x, weight, bias, NB_ACT_NONE);
}

/* ---- softmax cross-entropy: mean_i (log Σ_j exp(x_ij) - x_i,label_i) ---------------------- */

/* Scratch kept from forward for backward: per-row losses (doubles, summed in order
 * afterwards) and the softmax probabilities [N, C]. */
typedef struct softmax_ce_pass {
    int64_t classes;
    const void *logits;
    const void *labels;
    double *row_loss;  /* [N] */
    void *probability; /* [N, C] */
    double scale;      /* backward: dL/dloss / N */
    void *grad_logits;
    bool store;        /* backward: grad_logits holds nothing yet */
} softmax_ce_pass;

#define SOFTMAX_CE_KERNELS(T, SFX)                                                                  \
    /* rows [from, to): p = softmax(x), loss_i = log Σ exp(x - max) + max - x[label] */             \
    static void softmax_ce_forward_rows_##SFX(void *ctx, int64_t from, int64_t to)                  \
    {                                                                                               \
        const softmax_ce_pass *p = ctx;                                                             \
        int64_t c = p->classes;                                                                     \
        for (int64_t i = from; i < to; i++) {                                                       \
            const T *x = (const T *)p->logits + i * c;                                              \
            T *prob = (T *)p->probability + i * c;                                                  \
            T top = x[0];                                                                           \
            for (int64_t j = 1; j < c; j++)                                                         \
                top = x[j] > top ? x[j] : top;                                                      \
            T sum = 0;                                                                              \
            for (int64_t j = 0; j < c; j++) {                                                       \
                prob[j] = exp(x[j] - top);                                                          \
                sum += prob[j];                                                                     \
            }                                                                                       \
            T inverse = 1 / sum;                                                                    \
            for (int64_t j = 0; j < c; j++)                                                         \
                prob[j] *= inverse;                                                                 \
            int64_t label = (int64_t)((const T *)p->labels)[i];                                     \
            p->row_loss[i] = log((double)sum) + (double)top - (double)x[label];                     \
        }                                                                                           \
    }                                                                                               \
    /* rows [from, to): dx = scale · (p - onehot(label)), added to dx unless it is fresh */        \
    static void softmax_ce_backward_rows_##SFX(void *ctx, int64_t from, int64_t to)                 \
    {                                                                                               \
        const softmax_ce_pass *p = ctx;                                                             \
        int64_t c = p->classes;                                                                     \
        T scale = (T)p->scale;                                                                      \
        for (int64_t i = from; i < to; i++) {                                                       \
            const T *prob = (const T *)p->probability + i * c;                                      \
            T *gx = (T *)p->grad_logits + i * c;                                                    \
            if (p->store)                                                                           \
                for (int64_t j = 0; j < c; j++)                                                     \
                    gx[j] = scale * prob[j];                                                        \
            else                                                                                    \
                for (int64_t j = 0; j < c; j++)                                                     \
                    gx[j] += scale * prob[j];                                                       \
            gx[(int64_t)((const T *)p->labels)[i]] -= scale;                                        \
        }                                                                                           \
    }

SOFTMAX_CE_KERNELS(float, f32)
SOFTMAX_CE_KERNELS(double, f64)

/* logits [N, C], labels [N] -> a scalar */
static nb_status softmax_ce_shape(nb_node *node)
{
    const nb_tensor *x = &node->inputs[0]->value, *labels = &node->inputs[1]->value;
    char sx[96], sl[96];
    if (x->ndim != 2 || x->shape[1] < 1)
        return nb_fail(NB_ESHAPE, "softmax_cross_entropy: logits must be [N, C] with C >= 1, got %s",
                       nb_shape_str(x->ndim, x->shape, sx, sizeof sx));
    if (labels->ndim != 1 || labels->shape[0] != x->shape[0])
        return nb_fail(NB_ESHAPE, "softmax_cross_entropy: labels must be [%lld] for logits %s, got %s",
                       (long long)x->shape[0], nb_shape_str(x->ndim, x->shape, sx, sizeof sx),
                       nb_shape_str(labels->ndim, labels->shape, sl, sizeof sl));
    nb_set_shape(&node->value, 0, NULL);
    int64_t rows = x->shape[0];
    node->aux_bytes = (size_t)rows * sizeof(double) + (size_t)x->size * nb_dtype_size(node->graph->dtype);
    return NB_OK;
}

static softmax_ce_pass softmax_ce_scratch(nb_node *node)
{
    const nb_tensor *x = &node->inputs[0]->value;
    return (softmax_ce_pass){.classes = x->shape[1], .logits = x->data, .labels = node->inputs[1]->value.data,
                             .row_loss = node->aux, .probability = (double *)node->aux + x->shape[0]};
}

static nb_status softmax_ce_forward(nb_node *node)
{
    const nb_tensor *x = &node->inputs[0]->value;
    int64_t rows = x->shape[0];
    nb_status status = nb_check_labels(node->op->name, &node->inputs[1]->value, x->shape[1]);
    if (status != NB_OK)
        return status;
    softmax_ce_pass pass = softmax_ce_scratch(node);
    if (node->graph->dtype == NB_F64)
        nb_parallel_ranges(rows, x->size, softmax_ce_forward_rows_f64, &pass);
    else
        nb_parallel_ranges(rows, x->size, softmax_ce_forward_rows_f32, &pass);
    double total = 0; /* in row order: the same sum whatever the threads */
    for (int64_t i = 0; i < rows; i++)
        total += pass.row_loss[i];
    double mean = total / (double)rows; /* no rows: NaN, as the mean of nothing */
    if (node->graph->dtype == NB_F64)
        *(double *)node->value.data = mean;
    else
        *(float *)node->value.data = (float)mean;
    return NB_OK;
}

/* dlogits += dL/dloss · (softmax - onehot(labels)) / N; labels are data and get nothing */
static void softmax_ce_backward(nb_node *node)
{
    nb_node *x = node->inputs[0];
    if (!x->requires_grad)
        return;
    int64_t rows = x->value.shape[0];
    softmax_ce_pass pass = softmax_ce_scratch(node);
    pass.grad_logits = x->grad.data;
    pass.store = nb_grad_fresh(x);
    double seed = node->graph->dtype == NB_F64 ? *(const double *)node->grad.data : *(const float *)node->grad.data;
    pass.scale = seed / (double)rows;
    if (node->graph->dtype == NB_F64)
        nb_parallel_ranges(rows, x->value.size, softmax_ce_backward_rows_f64, &pass);
    else
        nb_parallel_ranges(rows, x->value.size, softmax_ce_backward_rows_f32, &pass);
}

static const nb_opdef softmax_ce_op = {"softmax_cross_entropy", softmax_ce_shape, softmax_ce_forward,
                                       softmax_ce_backward, true};

nb_node *nb_softmax_cross_entropy(nb_node *logits, nb_node *labels)
{
    nb_node *inputs[2] = {logits, labels};
    return nb_op_node(&softmax_ce_op, 2, inputs, NULL);
}
