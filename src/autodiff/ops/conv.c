/* 2-D convolution over NCHW batches, through the matrix product: the input is unfolded
 * into columns (im2col), one product with the weight makes every output pixel of every
 * sample, and the backward folds the columns' gradient back (col2im). Also flatten.
 *
 * Why one product for the whole batch rather than one per sample: the per-sample
 * products are small (tens of output channels by a few hundred pixels) and split badly
 * over threads, while the batch's product is large enough for the BLAS and the pool.
 * Its output is channel-major ([O, N·pixels]), so one pass moves it into NCHW and adds
 * the bias; the backward's first pass does the reverse and sums the bias gradient.
 *
 * Scratch (the node's aux, in the graph's arena, so a step allocates nothing): the
 * columns [C·kh·kw, N·pixels], the staged product [O, N·pixels], and the columns'
 * gradient (as large as the columns). */
#include "autodiff/graph_internal.h"

#include "core/core.h"

#include <string.h>

typedef struct conv_geom {
    int64_t n, c, h, w, o, kh, kw, oh, ow, stride, pad;
    int64_t ckk, ohw, cols_n; /* C·kh·kw, OH·OW, N·OH·OW */
} conv_geom;

typedef struct conv_job {
    const conv_geom *g;
    bool relu;                /* fused: y = max(0, conv + bias) */
    bool x_fresh, bias_fresh; /* store into these gradients instead of adding */
    const void *x, *bias, *gy, *dcols;
    void *cols, *stage, *y, *gx, *gbias;
} conv_job;

/* Output columns [lo, hi) whose input column ow·stride + kj - pad lies inside the row. */
static void conv_valid_span(const conv_geom *g, int64_t kj, int64_t *lo, int64_t *hi)
{
    int64_t off = kj - g->pad;
    *lo = off >= 0 ? 0 : (-off + g->stride - 1) / g->stride;
    *hi = g->w - off <= 0 ? 0 : (g->w - off + g->stride - 1) / g->stride;
    if (*hi > g->ow)
        *hi = g->ow;
    if (*lo > *hi)
        *lo = *hi;
}

#define T float
#define SFX f32
#include "autodiff/ops/conv.inc"
#undef T
#undef SFX
#define T double
#define SFX f64
#include "autodiff/ops/conv.inc"
#undef T
#undef SFX

static void conv_geometry(const nb_node *node, conv_geom *g)
{
    const nb_tensor *x = &node->inputs[0]->value, *w = &node->inputs[1]->value;
    g->n = x->shape[0], g->c = x->shape[1], g->h = x->shape[2], g->w = x->shape[3];
    g->o = w->shape[0], g->kh = w->shape[2], g->kw = w->shape[3];
    g->stride = node->attr.conv.stride, g->pad = node->attr.conv.pad;
    g->oh = (g->h + 2 * g->pad - g->kh) / g->stride + 1;
    g->ow = (g->w + 2 * g->pad - g->kw) / g->stride + 1;
    g->ckk = g->c * g->kh * g->kw, g->ohw = g->oh * g->ow, g->cols_n = g->n * g->ohw;
}

/* x [N, C, H, W], weight [O, C, kh, kw], bias [O] -> [N, O, OH, OW] */
static nb_status conv_shape(nb_node *node)
{
    const nb_tensor *x = &node->inputs[0]->value, *w = &node->inputs[1]->value;
    const nb_tensor *b = node->n_inputs > 2 ? &node->inputs[2]->value : NULL;
    char sx[96], sw[96];
    nb_shape_str(x->ndim, x->shape, sx, sizeof sx);
    nb_shape_str(w->ndim, w->shape, sw, sizeof sw);
    if (x->ndim != 4 || w->ndim != 4 || x->shape[1] != w->shape[1])
        return nb_fail(NB_ESHAPE, "conv2d: x must be [N, C, H, W] and weight [O, C, kh, kw] with the same C; got x %s, "
                                  "weight %s", sx, sw);
    if (b && (b->ndim != 1 || b->shape[0] != w->shape[0]))
        return nb_fail(NB_ESHAPE, "conv2d: bias must be [%lld], one per output channel of weight %s",
                       (long long)w->shape[0], sw);
    conv_geom g;
    conv_geometry(node, &g);
    if (g.h + 2 * g.pad < g.kh || g.w + 2 * g.pad < g.kw)
        return nb_fail(NB_ESHAPE, "conv2d: a %lldx%lld kernel does not fit the %lldx%lld image (padding %lld); "
                                  "pad it or use a smaller kernel", (long long)g.kh, (long long)g.kw,
                       (long long)g.h, (long long)g.w, (long long)g.pad);
    nb_set_shape(&node->value, 4, (int64_t[]){g.n, g.o, g.oh, g.ow});
    node->aux_bytes = (size_t)((2 * g.ckk + g.o) * g.cols_n) * nb_dtype_size(node->graph->dtype);
    return NB_OK;
}

static void conv_gemm(nb_dtype dtype, bool ta, bool tb, int64_t m, int64_t n, int64_t k, const void *a, int64_t lda,
                      const void *b, int64_t ldb, double beta, void *c, int64_t ldc)
{
    if (dtype == NB_F64)
        nb_gemm_f64(ta, tb, m, n, k, 1.0, a, lda, b, ldb, beta, c, ldc);
    else
        nb_gemm_f32(ta, tb, m, n, k, 1.0f, a, lda, b, ldb, (float)beta, c, ldc);
}

static void conv_scratch(nb_node *node, const conv_geom *g, conv_job *j)
{
    size_t elem = nb_dtype_size(node->graph->dtype);
    j->g = g;
    j->cols = node->aux;
    j->stage = (char *)node->aux + (size_t)(g->ckk * g->cols_n) * elem;
    j->dcols = (char *)j->stage + (size_t)(g->o * g->cols_n) * elem;
}

#define CONV_RANGES(count, work, kernel, job)                                                       \
    (f64 ? nb_parallel_ranges(count, work, kernel##_f64, job) : nb_parallel_ranges(count, work, kernel##_f32, job))

/* stage [O, N·P] = weight [O, C·kh·kw] · cols [C·kh·kw, N·P]; y = stage moved to NCHW + bias */
static nb_status conv_forward(nb_node *node)
{
    conv_geom g;
    conv_geometry(node, &g);
    conv_job j = {.x = node->inputs[0]->value.data, .y = node->value.data, .relu = node->attr.conv.relu,
                  .bias = node->n_inputs > 2 ? node->inputs[2]->value.data : NULL};
    conv_scratch(node, &g, &j);
    nb_dtype dtype = node->graph->dtype;
    bool f64 = dtype == NB_F64;
    CONV_RANGES(g.ckk * g.n, g.ckk * g.cols_n, im2col, &j);
    conv_gemm(dtype, false, false, g.o, g.cols_n, g.ckk, node->inputs[1]->value.data, g.ckk, j.cols, g.cols_n, 0.0,
              j.stage, g.cols_n);
    CONV_RANGES(g.n * g.o, g.o * g.cols_n, unstage, &j);
    return NB_OK;
}

/* dstage = dy in [O, N·P] (dbias its row sums); dW += dstage · colsᵀ;
 * dcols = Wᵀ · dstage, folded back into dx */
static void conv_backward(nb_node *node)
{
    nb_node *x = node->inputs[0], *w = node->inputs[1], *b = node->n_inputs > 2 ? node->inputs[2] : NULL;
    conv_geom g;
    conv_geometry(node, &g);
    conv_job j = {.gy = node->grad.data, .gx = x->grad.data, .gbias = b && b->requires_grad ? b->grad.data : NULL,
                  .y = node->value.data, .relu = node->attr.conv.relu};
    conv_scratch(node, &g, &j);
    j.bias_fresh = j.gbias && nb_grad_fresh(b);
    nb_dtype dtype = node->graph->dtype;
    bool f64 = dtype == NB_F64;
    CONV_RANGES(g.o, g.o * g.cols_n, restage, &j);
    if (w->requires_grad)
        conv_gemm(dtype, false, true, g.o, g.ckk, g.cols_n, j.stage, g.cols_n, j.cols, g.cols_n,
                  nb_grad_fresh(w) ? 0.0 : 1.0, w->grad.data, g.ckk);
    if (x->requires_grad) {
        j.x_fresh = nb_grad_fresh(x);
        conv_gemm(dtype, true, false, g.ckk, g.cols_n, g.o, w->value.data, g.ckk, j.stage, g.cols_n, 0.0,
                  (void *)j.dcols, g.cols_n);
        CONV_RANGES(g.n * g.c, g.ckk * g.cols_n, col2im, &j);
    }
}

/* Backward stores into gradients that hold nothing yet (nb_grad_fresh): each plane of
 * dx is zeroed by the thread that folds into it, rather than by a pass of its own. */
static const nb_opdef conv_op = {"conv2d", conv_shape, conv_forward, conv_backward, true};

nb_node *nb_conv2d_act(nb_node *x, nb_node *weight, nb_node *bias, int stride, int padding, nb_activation activation)
{
    if (stride < 1 || padding < 0 || (activation != NB_ACT_NONE && activation != NB_ACT_RELU)) {
        nb_fail(NB_EARG, "conv2d: needs stride >= 1, padding >= 0 and an activation it fuses (none or relu), got "
                         "stride %d, padding %d, activation %d", stride, padding, (int)activation);
        return nb_builder_failed();
    }
    nb_node *inputs[3] = {x, weight, bias};
    nb_attr attr = {.conv = {stride, padding, activation == NB_ACT_RELU}};
    return nb_op_node(&conv_op, bias ? 3 : 2, inputs, &attr);
}

nb_node *nb_conv2d(nb_node *x, nb_node *weight, nb_node *bias, int stride, int padding)
{
    return nb_conv2d_act(x, weight, bias, stride, padding, NB_ACT_NONE);
}

nb_node *nb_flatten(nb_node *x)
{
    if (!nb_inputs_ok("flatten", 1, &x))
        return nb_builder_failed();
    const nb_tensor *v = nb_value(x);
    if (v->ndim < 1) {
        nb_fail(NB_ESHAPE, "flatten: needs a batch dimension, got a scalar");
        return nb_builder_failed();
    }
    int64_t features = 1;
    for (int d = 1; d < v->ndim; d++)
        features *= v->shape[d];
    return nb_reshape(x, 2, (int64_t[]){-1, features});
}
