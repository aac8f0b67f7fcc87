/* Max and average pooling over NCHW batches: square windows, a stride, zero padding.
 * Max pooling remembers where each maximum came from (the node's aux, one int32 per
 * output), so its backward is one scatter. Planes run on nabla's threads. */
#include "autodiff/graph_internal.h"

#include "core/core.h"

#include <stdint.h>
#include <string.h>

typedef struct pool_geom {
    int64_t planes, h, w, oh, ow, k, stride, pad;
} pool_geom;

typedef struct pool_job {
    const pool_geom *g;
    const void *x, *gy;
    void *y, *gx;
    int32_t *arg;
    bool fresh; /* backward: the input's gradient holds nothing yet: each plane is zeroed first */
} pool_job;

/* The window of output (oh, ow), clipped to the image: rows [h0, h1), columns [w0, w1). */
static inline void pool_window(const pool_geom *g, int64_t oh, int64_t ow, int64_t *h0, int64_t *h1, int64_t *w0,
                               int64_t *w1)
{
    *h0 = oh * g->stride - g->pad, *w0 = ow * g->stride - g->pad;
    *h1 = *h0 + g->k, *w1 = *w0 + g->k;
    if (*h0 < 0)
        *h0 = 0;
    if (*w0 < 0)
        *w0 = 0;
    if (*h1 > g->h)
        *h1 = g->h;
    if (*w1 > g->w)
        *w1 = g->w;
}

#define T float
#define SFX f32
#include "autodiff/ops/pool.inc"
#undef T
#undef SFX
#define T double
#define SFX f64
#include "autodiff/ops/pool.inc"
#undef T
#undef SFX

static void pool_geometry(const nb_node *node, pool_geom *g)
{
    const nb_tensor *x = &node->inputs[0]->value;
    g->planes = x->shape[0] * x->shape[1], g->h = x->shape[2], g->w = x->shape[3];
    g->k = node->attr.pool.kernel, g->stride = node->attr.pool.stride, g->pad = node->attr.pool.pad;
    g->oh = (g->h + 2 * g->pad - g->k) / g->stride + 1;
    g->ow = (g->w + 2 * g->pad - g->k) / g->stride + 1;
}

static const nb_opdef max_pool_op;

/* x [N, C, H, W] -> [N, C, OH, OW] */
static nb_status pool_shape(nb_node *node)
{
    const nb_tensor *x = &node->inputs[0]->value;
    char sx[96];
    if (x->ndim != 4)
        return nb_fail(NB_ESHAPE, "%s: needs x [N, C, H, W], got %s", node->op->name,
                       nb_shape_str(x->ndim, x->shape, sx, sizeof sx));
    pool_geom g;
    pool_geometry(node, &g);
    if (g.h + 2 * g.pad < g.k || g.w + 2 * g.pad < g.k || g.h * g.w > INT32_MAX)
        return nb_fail(NB_ESHAPE, "%s: a %lldx%lld window does not fit the image %s", node->op->name, (long long)g.k,
                       (long long)g.k, nb_shape_str(x->ndim, x->shape, sx, sizeof sx));
    nb_set_shape(&node->value, 4, (int64_t[]){x->shape[0], x->shape[1], g.oh, g.ow});
    node->aux_bytes = node->op == &max_pool_op ? (size_t)(g.planes * g.oh * g.ow) * sizeof(int32_t) : 0;
    return NB_OK;
}

#define POOL_RUN(kernel, job)                                                                        \
    do {                                                                                             \
        int64_t work_ = g.planes * (g.h * g.w + g.oh * g.ow);                                        \
        if (node->graph->dtype == NB_F64)                                                            \
            nb_parallel_ranges(g.planes, work_, kernel##_f64, job);                                  \
        else                                                                                         \
            nb_parallel_ranges(g.planes, work_, kernel##_f32, job);                                  \
    } while (0)

static nb_status max_pool_forward(nb_node *node)
{
    pool_geom g;
    pool_geometry(node, &g);
    pool_job j = {.g = &g, .x = node->inputs[0]->value.data, .y = node->value.data, .arg = node->aux};
    POOL_RUN(max_fwd, &j);
    return NB_OK;
}

static void max_pool_backward(nb_node *node)
{
    if (!node->inputs[0]->requires_grad)
        return;
    pool_geom g;
    pool_geometry(node, &g);
    pool_job j = {.g = &g, .gy = node->grad.data, .gx = node->inputs[0]->grad.data, .arg = node->aux,
                  .fresh = nb_grad_fresh(node->inputs[0])};
    POOL_RUN(max_bwd, &j);
}

static nb_status avg_pool_forward(nb_node *node)
{
    pool_geom g;
    pool_geometry(node, &g);
    pool_job j = {.g = &g, .x = node->inputs[0]->value.data, .y = node->value.data};
    POOL_RUN(avg_fwd, &j);
    return NB_OK;
}

static void avg_pool_backward(nb_node *node)
{
    if (!node->inputs[0]->requires_grad)
        return;
    pool_geom g;
    pool_geometry(node, &g);
    pool_job j = {.g = &g, .gy = node->grad.data, .gx = node->inputs[0]->grad.data,
                  .fresh = nb_grad_fresh(node->inputs[0])};
    POOL_RUN(avg_bwd, &j);
}

static const nb_opdef max_pool_op = {"max_pool2d", pool_shape, max_pool_forward, max_pool_backward, true};
static const nb_opdef avg_pool_op = {"avg_pool2d", pool_shape, avg_pool_forward, avg_pool_backward, true};

/* Padding beyond half the window would make windows of padding alone. */
static nb_node *pool_node(const nb_opdef *op, nb_node *x, int kernel, int stride, int padding)
{
    if (stride == 0)
        stride = kernel;
    if (kernel < 1 || stride < 1 || padding < 0 || padding > kernel / 2) {
        nb_fail(NB_EARG, "%s: needs kernel >= 1, stride >= 1 (0: the kernel) and 0 <= padding <= kernel/2; got kernel "
                         "%d, stride %d, padding %d", op->name, kernel, stride, padding);
        return nb_builder_failed();
    }
    nb_attr attr = {.pool = {kernel, stride, padding}};
    return nb_op_node(op, 1, &x, &attr);
}

nb_node *nb_max_pool2d(nb_node *x, int kernel, int stride, int padding)
{
    return pool_node(&max_pool_op, x, kernel, stride, padding);
}

nb_node *nb_avg_pool2d(nb_node *x, int kernel, int stride, int padding)
{
    return pool_node(&avg_pool_op, x, kernel, stride, padding);
}
