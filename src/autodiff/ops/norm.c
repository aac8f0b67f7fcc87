/* Dropout and batch normalisation: the ops whose forward depends on the graph's mode
 * (nb_graph_set_training). In evaluation mode dropout passes its input through and
 * batch norm uses its running statistics; in training mode dropout zeroes a seeded
 * random share of its input and batch norm normalises with the batch's statistics and
 * updates the running ones. */
#include "autodiff/graph_internal.h"

#include "core/core.h"

#include <math.h>
#include <string.h>

/* ---- dropout ---------------------------------------------------------------------------- */

typedef struct dropout_job {
    uint64_t key;
    double p, scale;
    const void *src;
    void *dst;
    bool add;
} dropout_job;

static inline uint64_t splitmix(uint64_t z)
{
    z += 0x9e3779b97f4a7c15u;
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9u;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebu;
    return z ^ (z >> 31);
}

/* Element i's draw is a hash of (key, i): no generator state, so the mask is the same
 * whatever the thread count, and backward finds it again without storing it. */
static inline bool dropout_keep(uint64_t key, int64_t i, double p)
{
    return (double)(splitmix(key + (uint64_t)i) >> 11) * 0x1.0p-53 >= p;
}

/* ---- batch norm ------------------------------------------------------------------------- */

typedef struct norm_job {
    int64_t channels, inner, batch, m; /* x [batch, channels, inner...]; m = batch·inner */
    bool training;
    double momentum, eps;
    double *stats; /* [mean C][invstd C], from the forward for the backward */
    const void *x, *gy, *gamma, *beta;
    void *y, *gx, *ggamma, *gbeta, *rmean, *rvar;
} norm_job;

/* Every element `at` of channel c, in a fixed order. */
#define NORM_EACH(stmt)                                                                              \
    for (int64_t s_ = 0; s_ < j->batch; s_++)                                                        \
        for (int64_t at = (s_ * j->channels + c) * j->inner, end_ = at + j->inner; at < end_; at++) {  \
            stmt;                                                                                    \
        }

#define T float
#define SFX f32
#include "autodiff/ops/norm.inc"
#undef T
#undef SFX
#define T double
#define SFX f64
#include "autodiff/ops/norm.inc"
#undef T
#undef SFX

static nb_status dropout_shape(nb_node *node)
{
    const nb_tensor *x = &node->inputs[0]->value;
    nb_set_shape(&node->value, x->ndim, x->shape);
    return NB_OK;
}

static void dropout_pass(nb_node *node, const void *src, void *dst, bool add)
{
    nb_graph *graph = node->graph;
    double p = graph->training ? node->attr.dropout.p : 0;
    dropout_job j = {.key = splitmix(node->attr.dropout.seed ^ splitmix(graph->noise_step)), .p = p,
                     .scale = 1 / (1 - p), .src = src, .dst = dst, .add = add};
    int64_t n = node->value.size;
    if (graph->dtype == NB_F64)
        nb_parallel_ranges(n, n, dropout_run_f64, &j);
    else
        nb_parallel_ranges(n, n, dropout_run_f32, &j);
}

static nb_status dropout_forward(nb_node *node)
{
    dropout_pass(node, node->inputs[0]->value.data, node->value.data, false);
    return NB_OK;
}

static void dropout_backward(nb_node *node)
{
    nb_node *x = node->inputs[0];
    if (x->requires_grad)
        dropout_pass(node, node->grad.data, x->grad.data, true);
}

static const nb_opdef dropout_op = {"dropout", dropout_shape, dropout_forward, dropout_backward, false};

nb_node *nb_dropout(nb_node *x, double p, uint64_t seed)
{
    if (!(p >= 0 && p < 1)) {
        nb_fail(NB_EARG, "dropout: the share dropped must be in [0, 1), got %g", p);
        return nb_builder_failed();
    }
    nb_attr attr = {.dropout = {p, seed}};
    return nb_op_node(&dropout_op, 1, &x, &attr);
}

/* x [N, C, ...], gamma and beta [C] -> the shape of x; the running statistics [C] too */
static nb_status norm_shape(nb_node *node)
{
    const nb_tensor *x = &node->inputs[0]->value;
    char sx[96];
    if (x->ndim < 2)
        return nb_fail(NB_ESHAPE, "batch_norm: needs x [N, C] or [N, C, ...], got %s",
                       nb_shape_str(x->ndim, x->shape, sx, sizeof sx));
    int64_t channels = x->shape[1];
    const nb_node *per_channel[4] = {node->inputs[1], node->inputs[2], node->attr.norm.mean, node->attr.norm.var};
    for (int k = 0; k < 4; k++) {
        const nb_tensor *v = &per_channel[k]->value;
        if (v->ndim != 1 || v->shape[0] != channels)
            return nb_fail(NB_ESHAPE, "batch_norm: '%s' must be [%lld], one per channel of x %s, got %s",
                           nb_node_name(per_channel[k]), (long long)channels,
                           nb_shape_str(x->ndim, x->shape, sx, sizeof sx), nb_shape_str(v->ndim, v->shape, sx, sizeof sx));
    }
    nb_set_shape(&node->value, x->ndim, x->shape);
    node->aux_bytes = (size_t)(2 * channels + 1) * sizeof(double);
    return NB_OK;
}

static void norm_setup(nb_node *node, norm_job *j)
{
    const nb_tensor *x = &node->inputs[0]->value;
    j->batch = x->shape[0], j->channels = x->shape[1];
    j->inner = j->channels ? x->size / (j->batch * j->channels) : 0;
    if (j->batch == 0)
        j->inner = 0;
    j->m = j->batch * j->inner;
    j->momentum = node->attr.norm.momentum, j->eps = node->attr.norm.eps;
    j->stats = node->aux;
    j->x = x->data, j->gamma = node->inputs[1]->value.data, j->beta = node->inputs[2]->value.data;
    j->rmean = node->attr.norm.mean->value.data, j->rvar = node->attr.norm.var->value.data;
}

#define NORM_RUN(kernel, job)                                                                        \
    do {                                                                                             \
        if (node->graph->dtype == NB_F64)                                                            \
            nb_parallel_ranges((job)->channels, node->value.size, kernel##_f64, job);                \
        else                                                                                         \
            nb_parallel_ranges((job)->channels, node->value.size, kernel##_f32, job);                \
    } while (0)

/* Batch statistics need two rows or more per channel: one row normalises to zeros. */
static nb_status norm_forward(nb_node *node)
{
    norm_job j;
    memset(&j, 0, sizeof j);
    norm_setup(node, &j);
    j.training = node->graph->training;
    if (j.training && j.m < 2)
        return nb_fail(NB_EARG, "batch_norm: training needs at least 2 values per channel, got %lld; use a larger "
                                "batch or evaluation mode", (long long)j.m);
    j.y = node->value.data;
    j.stats[2 * j.channels] = j.training;
    NORM_RUN(norm_fwd, &j);
    return NB_OK;
}

static void norm_backward(nb_node *node)
{
    nb_node *x = node->inputs[0], *gamma = node->inputs[1], *beta = node->inputs[2];
    norm_job j;
    memset(&j, 0, sizeof j);
    norm_setup(node, &j);
    j.training = j.stats[2 * j.channels] != 0;
    j.gy = node->grad.data;
    j.gx = x->requires_grad ? x->grad.data : NULL;
    j.ggamma = gamma->requires_grad ? gamma->grad.data : NULL;
    j.gbeta = beta->requires_grad ? beta->grad.data : NULL;
    NORM_RUN(norm_bwd, &j);
}

static const nb_opdef norm_op = {"batch_norm", norm_shape, norm_forward, norm_backward, false};

nb_node *nb_batch_norm(nb_node *x, nb_node *gamma, nb_node *beta, nb_node *running_mean, nb_node *running_var,
                       double momentum, double eps)
{
    nb_node *all[5] = {x, gamma, beta, running_mean, running_var};
    if (!nb_inputs_ok("batch_norm", 5, all))
        return nb_builder_failed();
    if (!(momentum >= 0 && momentum <= 1) || !(eps > 0)) {
        nb_fail(NB_EARG, "batch_norm: needs 0 <= momentum <= 1 and eps > 0, got %g and %g", momentum, eps);
        return nb_builder_failed();
    }
    if (running_mean->requires_grad || running_var->requires_grad || running_mean->kind == NB_NODE_OP ||
        running_var->kind == NB_NODE_OP) {
        nb_fail(NB_EARG, "batch_norm: the running statistics must be leaves without a gradient (a frozen "
                         "parameter, so that model files keep them)");
        return nb_builder_failed();
    }
    nb_attr attr = {.norm = {momentum, eps, running_mean, running_var}};
    return nb_op_node(&norm_op, 3, all, &attr);
}
