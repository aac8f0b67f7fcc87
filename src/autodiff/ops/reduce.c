/* Reductions (sum, mean, max over everything or one axis) and softmax / log_softmax. */
#include "autodiff/graph_internal.h"

#include <tgmath.h>

#define T float
#define SFX f32
#include "autodiff/ops/reduce.inc"
#undef T
#undef SFX
#define T double
#define SFX f64
#include "autodiff/ops/reduce.inc"
#undef T
#undef SFX

static const nb_opdef mean_op, max_op, log_softmax_op;

/* Views the input as [outer, len, inner] around the node's axis (all elements when the
 * reduction is over everything). */
static void split_axis(const nb_node *node, int64_t *outer, int64_t *len, int64_t *inner)
{
    const nb_tensor *x = &node->inputs[0]->value;
    int axis = node->attr.axis.axis;
    if (axis == NB_MAX_DIMS) { /* over all elements */
        *outer = 1, *len = x->size, *inner = 1;
        return;
    }
    *outer = 1, *inner = 1;
    for (int d = 0; d < axis; d++)
        *outer *= x->shape[d];
    *len = x->shape[axis];
    for (int d = axis + 1; d < x->ndim; d++)
        *inner *= x->shape[d];
}

static nb_status normalise_axis(const char *op_name, const nb_tensor *x, int *axis)
{
    int given = *axis;
    if (given < 0)
        *axis += x->ndim;
    if (*axis < 0 || *axis >= x->ndim) {
        char buf[96];
        return nb_fail(NB_EARG, "%s: axis %d is out of range for shape %s", op_name, given,
                       nb_shape_str(x->ndim, x->shape, buf, sizeof buf));
    }
    return NB_OK;
}

/* x [..., len, ...] -> [..., ...] (or [..., 1, ...] with keepdim); scalar when over all */
static nb_status reduce_shape(nb_node *node)
{
    const nb_tensor *x = &node->inputs[0]->value;
    int axis = node->attr.axis.axis;
    if (axis == NB_MAX_DIMS) {
        nb_set_shape(&node->value, 0, NULL);
        return NB_OK;
    }
    int64_t shape[NB_MAX_DIMS];
    int ndim = 0;
    for (int d = 0; d < x->ndim; d++) {
        if (d != axis)
            shape[ndim++] = x->shape[d];
        else if (node->attr.axis.keepdim)
            shape[ndim++] = 1;
    }
    nb_set_shape(&node->value, ndim, shape);
    if (node->op == &max_op) {
        if (x->shape[axis] == 0)
            return nb_fail(NB_ESHAPE, "max: axis %d of the input is empty", axis);
        /* the winning index of each output, for backward */
        node->aux_bytes = (size_t)node->value.size * sizeof(int64_t);
    }
    return NB_OK;
}

static double mean_scale(const nb_node *node, int64_t len)
{
    return node->op == &mean_op && len > 0 ? 1.0 / (double)len : 1.0;
}

static nb_status sum_forward(nb_node *node)
{
    int64_t outer, len, inner;
    split_axis(node, &outer, &len, &inner);
    double scale = mean_scale(node, len);
    const void *x = node->inputs[0]->value.data;
    if (node->graph->dtype == NB_F64)
        sum_fwd_f64(outer, len, inner, x, node->value.data, scale);
    else
        sum_fwd_f32(outer, len, inner, x, node->value.data, (float)scale);
    return NB_OK;
}

static void sum_backward(nb_node *node)
{
    nb_node *x = node->inputs[0];
    if (!x->requires_grad)
        return;
    int64_t outer, len, inner;
    split_axis(node, &outer, &len, &inner);
    double scale = mean_scale(node, len);
    if (node->graph->dtype == NB_F64)
        sum_bwd_f64(outer, len, inner, node->grad.data, x->grad.data, scale);
    else
        sum_bwd_f32(outer, len, inner, node->grad.data, x->grad.data, (float)scale);
}

static nb_status max_forward(nb_node *node)
{
    int64_t outer, len, inner;
    split_axis(node, &outer, &len, &inner);
    const void *x = node->inputs[0]->value.data;
    if (node->graph->dtype == NB_F64)
        max_fwd_f64(outer, len, inner, x, node->value.data, node->aux);
    else
        max_fwd_f32(outer, len, inner, x, node->value.data, node->aux);
    return NB_OK;
}

static void max_backward(nb_node *node)
{
    nb_node *x = node->inputs[0];
    if (!x->requires_grad)
        return;
    int64_t outer, len, inner;
    split_axis(node, &outer, &len, &inner);
    if (node->graph->dtype == NB_F64)
        max_bwd_f64(outer, len, inner, node->grad.data, x->grad.data, node->aux);
    else
        max_bwd_f32(outer, len, inner, node->grad.data, x->grad.data, node->aux);
}

static const nb_opdef sum_op = {"sum", reduce_shape, sum_forward, sum_backward, false};
static const nb_opdef mean_op = {"mean", reduce_shape, sum_forward, sum_backward, false};
static const nb_opdef max_op = {"max", reduce_shape, max_forward, max_backward, false};

/* x [...] -> [...] along axis, which must not be empty (its maximum is the first step) */
static nb_status softmax_shape(nb_node *node)
{
    const nb_tensor *x = &node->inputs[0]->value;
    int axis = node->attr.axis.axis;
    if (x->shape[axis] == 0) {
        char buf[96];
        return nb_fail(NB_ESHAPE, "%s: axis %d of the input %s is empty", node->op->name, axis,
                       nb_shape_str(x->ndim, x->shape, buf, sizeof buf));
    }
    nb_set_shape(&node->value, x->ndim, x->shape);
    return NB_OK;
}

static nb_status softmax_forward(nb_node *node)
{
    int64_t outer, len, inner;
    split_axis(node, &outer, &len, &inner);
    bool take_log = node->op == &log_softmax_op;
    const void *x = node->inputs[0]->value.data;
    if (node->graph->dtype == NB_F64)
        softmax_fwd_f64(outer, len, inner, x, node->value.data, take_log);
    else
        softmax_fwd_f32(outer, len, inner, x, node->value.data, take_log);
    return NB_OK;
}

static void softmax_backward(nb_node *node)
{
    nb_node *x = node->inputs[0];
    if (!x->requires_grad)
        return;
    int64_t outer, len, inner;
    split_axis(node, &outer, &len, &inner);
    bool take_log = node->op == &log_softmax_op;
    if (node->graph->dtype == NB_F64)
        softmax_bwd_f64(outer, len, inner, node->value.data, node->grad.data, x->grad.data, take_log);
    else
        softmax_bwd_f32(outer, len, inner, node->value.data, node->grad.data, x->grad.data, take_log);
}

static const nb_opdef softmax_op = {"softmax", softmax_shape, softmax_forward, softmax_backward, false};
static const nb_opdef log_softmax_op = {"log_softmax", softmax_shape, softmax_forward, softmax_backward, false};

static nb_node *along_axis(const nb_opdef *op, nb_node *x, int axis, bool keepdim)
{
    if (!nb_inputs_ok(op->name, 1, &x))
        return nb_builder_failed();
    if (axis != NB_MAX_DIMS && normalise_axis(op->name, &x->value, &axis) != NB_OK)
        return nb_builder_failed();
    nb_attr attr = {.axis = {axis, keepdim}};
    return nb_op_node(op, 1, &x, &attr);
}

nb_node *nb_sum(nb_node *x) { return along_axis(&sum_op, x, NB_MAX_DIMS, false); }
nb_node *nb_mean(nb_node *x) { return along_axis(&mean_op, x, NB_MAX_DIMS, false); }
nb_node *nb_sum_axis(nb_node *x, int axis, bool keepdim) { return along_axis(&sum_op, x, axis, keepdim); }
nb_node *nb_mean_axis(nb_node *x, int axis, bool keepdim) { return along_axis(&mean_op, x, axis, keepdim); }
nb_node *nb_max_axis(nb_node *x, int axis, bool keepdim) { return along_axis(&max_op, x, axis, keepdim); }
nb_node *nb_softmax(nb_node *x, int axis) { return along_axis(&softmax_op, x, axis, false); }
nb_node *nb_log_softmax(nb_node *x, int axis) { return along_axis(&log_softmax_op, x, axis, false); }
