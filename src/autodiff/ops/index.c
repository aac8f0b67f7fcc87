/* Ops that move elements rather than compute them: reshape, one_hot, pick, column. */
#include "autodiff/graph_internal.h"

#include <math.h>
#include <string.h>

/* x [any] -> [shape], one dimension may be -1 */
static nb_status reshape_shape(nb_node *node)
{
    const nb_tensor *x = &node->inputs[0]->value;
    int ndim = node->attr.reshape.ndim;
    int64_t shape[NB_MAX_DIMS];
    int64_t known = 1;
    int unknown = -1;
    char sx[96], sy[96];
    for (int d = 0; d < ndim; d++) {
        shape[d] = node->attr.reshape.shape[d];
        if (shape[d] == -1 && unknown < 0)
            unknown = d;
        else if (shape[d] < 0)
            return nb_fail(NB_ESHAPE, "reshape: bad target shape %s (one -1 at most, others >= 0)",
                           nb_shape_str(ndim, node->attr.reshape.shape, sy, sizeof sy));
        else
            known *= shape[d];
    }
    if (unknown >= 0)
        shape[unknown] = known ? x->size / known : 0;
    if (nb_shape_size(ndim, shape) != x->size)
        return nb_fail(NB_ESHAPE, "reshape: cannot view %s (%lld elements) as %s",
                       nb_shape_str(x->ndim, x->shape, sx, sizeof sx), (long long)x->size,
                       nb_shape_str(ndim, node->attr.reshape.shape, sy, sizeof sy));
    nb_set_shape(&node->value, ndim, shape);
    return NB_OK;
}

static nb_status reshape_forward(nb_node *node)
{
    memcpy(node->value.data, node->inputs[0]->value.data, (size_t)node->value.size * nb_dtype_size(node->graph->dtype));
    return NB_OK;
}

/* gx += gy, element for element */
static void reshape_backward(nb_node *node)
{
    nb_node *x = node->inputs[0];
    if (!x->requires_grad)
        return;
    int64_t n = node->value.size;
    if (node->graph->dtype == NB_F64) {
        const double *gy = node->grad.data;
        double *gx = x->grad.data;
        for (int64_t i = 0; i < n; i++)
            gx[i] += gy[i];
    } else {
        const float *gy = node->grad.data;
        float *gx = x->grad.data;
        for (int64_t i = 0; i < n; i++)
            gx[i] += gy[i];
    }
}

static const nb_opdef reshape_op = {"reshape", reshape_shape, reshape_forward, reshape_backward, false};

nb_node *nb_reshape(nb_node *x, int ndim, const int64_t *shape)
{
    if (ndim < 0 || ndim > NB_MAX_DIMS || (ndim > 0 && !shape)) {
        nb_fail(NB_EARG, "reshape: ndim must be 0..%d with a shape, got %d", NB_MAX_DIMS, ndim);
        return nb_builder_failed();
    }
    nb_attr attr = {.reshape = {.ndim = ndim}};
    for (int d = 0; d < ndim; d++)
        attr.reshape.shape[d] = shape[d];
    return nb_op_node(&reshape_op, 1, &x, &attr);
}

nb_status nb_check_labels(const char *op_name, const nb_tensor *labels, int64_t n_classes)
{
    for (int64_t row = 0; row < labels->size; row++) {
        double value = labels->dtype == NB_F64 ? ((const double *)labels->data)[row]
                                               : (double)((const float *)labels->data)[row];
        if (!(value >= 0 && value < (double)n_classes) || value != floor(value))
            return nb_fail(NB_EARG, "%s: label %g in row %lld is not a class in 0..%lld", op_name, value,
                           (long long)row, (long long)n_classes - 1);
    }
    return NB_OK;
}

static nb_status labels_shape(const char *op_name, const nb_tensor *labels, int64_t rows)
{
    if (labels->ndim != 1 || labels->shape[0] != rows) {
        char buf[96];
        return nb_fail(NB_ESHAPE, "%s: labels must have shape [%lld], got %s", op_name, (long long)rows,
                       nb_shape_str(labels->ndim, labels->shape, buf, sizeof buf));
    }
    return NB_OK;
}

/* labels [N] -> [N, n_classes] of zeros and ones */
static nb_status one_hot_shape(nb_node *node)
{
    const nb_tensor *labels = &node->inputs[0]->value;
    if (labels->ndim != 1) {
        char buf[96];
        return nb_fail(NB_ESHAPE, "one_hot: labels must be 1-D, got %s",
                       nb_shape_str(labels->ndim, labels->shape, buf, sizeof buf));
    }
    if (node->attr.n_classes <= 0)
        return nb_fail(NB_EARG, "one_hot: n_classes must be positive, got %lld", (long long)node->attr.n_classes);
    nb_set_shape(&node->value, 2, (int64_t[]){labels->shape[0], node->attr.n_classes});
    return NB_OK;
}

static nb_status one_hot_forward(nb_node *node)
{
    const nb_tensor *labels = &node->inputs[0]->value;
    int64_t n_classes = node->attr.n_classes;
    nb_status status = nb_check_labels(node->op->name, labels, n_classes);
    if (status != NB_OK)
        return status;
    memset(node->value.data, 0, (size_t)node->value.size * nb_dtype_size(node->graph->dtype));
    for (int64_t row = 0; row < labels->shape[0]; row++)
        nb_tensor_set(&node->value, row * n_classes + (int64_t)nb_tensor_get(labels, row), 1.0);
    return NB_OK;
}

/* Labels are data: nothing flows back into them. */
static void no_backward(nb_node *node) { (void)node; }

static const nb_opdef one_hot_op = {"one_hot", one_hot_shape, one_hot_forward, no_backward, false};

nb_node *nb_one_hot(nb_node *labels, int64_t n_classes)
{
    nb_attr attr = {.n_classes = n_classes};
    nb_node *node = nb_op_node(&one_hot_op, 1, &labels, &attr);
    if (node)
        node->requires_grad = false;
    return node;
}

/* x [N, C], labels [N] -> y [N] with y[i] = x[i, labels[i]] */
static nb_status pick_shape(nb_node *node)
{
    const nb_tensor *x = &node->inputs[0]->value;
    if (x->ndim != 2) {
        char buf[96];
        return nb_fail(NB_ESHAPE, "pick: x must be 2-D [N, C], got %s", nb_shape_str(x->ndim, x->shape, buf, sizeof buf));
    }
    nb_status status = labels_shape("pick", &node->inputs[1]->value, x->shape[0]);
    if (status == NB_OK)
        nb_set_shape(&node->value, 1, x->shape);
    return status;
}

static nb_status pick_forward(nb_node *node)
{
    const nb_tensor *x = &node->inputs[0]->value, *labels = &node->inputs[1]->value;
    int64_t n_classes = x->shape[1];
    nb_status status = nb_check_labels(node->op->name, labels, n_classes);
    if (status != NB_OK)
        return status;
    for (int64_t row = 0; row < x->shape[0]; row++)
        nb_tensor_set(&node->value, row, nb_tensor_get(x, row * n_classes + (int64_t)nb_tensor_get(labels, row)));
    return NB_OK;
}

/* gx[i, labels[i]] += gy[i] */
static void pick_backward(nb_node *node)
{
    nb_node *x = node->inputs[0];
    if (!x->requires_grad)
        return;
    const nb_tensor *labels = &node->inputs[1]->value;
    int64_t n_classes = x->value.shape[1];
    for (int64_t row = 0; row < x->value.shape[0]; row++) {
        int64_t at = row * n_classes + (int64_t)nb_tensor_get(labels, row); /* checked by forward */
        nb_tensor_set(&x->grad, at, nb_tensor_get(&x->grad, at) + nb_tensor_get(&node->grad, row));
    }
}

static const nb_opdef pick_op = {"pick", pick_shape, pick_forward, pick_backward, false};

nb_node *nb_pick(nb_node *x, nb_node *labels)
{
    nb_node *inputs[2] = {x, labels};
    return nb_op_node(&pick_op, 2, inputs, NULL);
}

/* x [N, C] -> y [N, 1] with y[i] = x[i, column] */
static nb_status column_shape(nb_node *node)
{
    const nb_tensor *x = &node->inputs[0]->value;
    if (x->ndim != 2 || node->attr.column >= x->shape[1]) {
        char buf[96];
        return nb_fail(NB_ESHAPE, "column: x must be 2-D [N, C] with C > %lld, got %s", (long long)node->attr.column,
                       nb_shape_str(x->ndim, x->shape, buf, sizeof buf));
    }
    nb_set_shape(&node->value, 2, (int64_t[]){x->shape[0], 1});
    return NB_OK;
}

static nb_status column_forward(nb_node *node)
{
    const nb_tensor *x = &node->inputs[0]->value;
    int64_t columns = x->shape[1], at = node->attr.column;
    if (x->dtype == NB_F64) {
        const double *from = x->data;
        double *to = node->value.data;
        for (int64_t row = 0; row < x->shape[0]; row++)
            to[row] = from[row * columns + at];
    } else {
        const float *from = x->data;
        float *to = node->value.data;
        for (int64_t row = 0; row < x->shape[0]; row++)
            to[row] = from[row * columns + at];
    }
    return NB_OK;
}

/* gx[i, column] += gy[i] */
static void column_backward(nb_node *node)
{
    nb_node *x = node->inputs[0];
    if (!x->requires_grad)
        return;
    int64_t columns = x->value.shape[1];
    for (int64_t row = 0; row < x->value.shape[0]; row++) {
        int64_t at = row * columns + node->attr.column;
        nb_tensor_set(&x->grad, at, nb_tensor_get(&x->grad, at) + nb_tensor_get(&node->grad, row));
    }
}

static const nb_opdef column_op = {"column", column_shape, column_forward, column_backward, false};

nb_node *nb_column(nb_node *x, int64_t column)
{
    if (column < 0) {
        nb_fail(NB_EARG, "column: the index must be >= 0, got %lld", (long long)column);
        return NULL;
    }
    nb_attr attr = {.column = column};
    return nb_op_node(&column_op, 1, &x, &attr);
}
