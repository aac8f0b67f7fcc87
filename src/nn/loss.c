/* Losses from graph ops, and the accuracy metric. */
#include "autodiff/autodiff.h"
#include "nabla/nn.h"

#include <math.h>
#include <string.h>

static nb_node *reduce(nb_node *x, nb_reduction reduction)
{
    return reduction == NB_REDUCE_SUM ? nb_sum(x) : nb_mean(x);
}

/* An elementwise loss compares pred and target element for element: shapes that differ
 * would broadcast ([3, 1] against [3] is [3, 3]) into a loss of something else. */
static bool same_shape(const char *loss, nb_node *pred, nb_node *target)
{
    nb_node *inputs[2] = {pred, target};
    if (!nb_inputs_ok(loss, 2, inputs))
        return false;
    const nb_tensor *p = nb_value(pred), *t = nb_value(target);
    if (p->ndim == t->ndim && memcmp(p->shape, t->shape, (size_t)p->ndim * sizeof p->shape[0]) == 0)
        return true;
    char sp[96], st[96];
    nb_fail(NB_ESHAPE, "%s: the prediction '%s' %s and the target '%s' %s differ in shape; make them the same "
                       "(nb_reshape)",
            loss, nb_node_name(pred), nb_shape_str(p->ndim, p->shape, sp, sizeof sp), nb_node_name(target),
            nb_shape_str(t->ndim, t->shape, st, sizeof st));
    return false;
}

static nb_node *squared_error(const char *loss, nb_node *pred, nb_node *target, nb_reduction reduction)
{
    if (!same_shape(loss, pred, target))
        return nb_builder_failed();
    nb_node *diff = nb_sub(pred, target);
    return reduce(nb_mul(diff, diff), reduction);
}

nb_node *nb_mse_loss(nb_node *pred, nb_node *target, nb_reduction reduction)
{
    return squared_error("mse loss", pred, target, reduction);
}

nb_node *nb_sse_loss(nb_node *pred, nb_node *target) { return squared_error("sse loss", pred, target, NB_REDUCE_SUM); }

nb_node *nb_half_sse_loss(nb_node *pred, nb_node *target)
{
    return nb_scale(squared_error("sse loss", pred, target, NB_REDUCE_SUM), 0.5);
}

nb_node *nb_mae_loss(nb_node *pred, nb_node *target, nb_reduction reduction)
{
    if (!same_shape("mae loss", pred, target))
        return nb_builder_failed();
    return reduce(nb_abs(nb_sub(pred, target)), reduction);
}

/* With q = min(|d|, delta): ½q² + delta(|d| - q) is ½d² inside and delta(|d| - ½delta)
 * outside, and its gradient comes out right on both sides. */
nb_node *nb_huber_loss(nb_node *pred, nb_node *target, double delta, nb_reduction reduction)
{
    if (!(delta > 0)) {
        nb_fail(NB_EARG, "huber loss: delta must be positive, got %g", delta);
        return nb_builder_failed();
    }
    if (!same_shape("huber loss", pred, target))
        return nb_builder_failed();
    nb_node *size = nb_abs(nb_sub(pred, target));
    if (!size)
        return nb_builder_failed();
    nb_node *q = nb_minimum(size, nb_scalar(nb_node_graph(size), delta));
    nb_node *loss = nb_add(nb_scale(nb_mul(q, q), 0.5), nb_scale(nb_sub(size, q), delta));
    return reduce(loss, reduction);
}

/* -t log σ(z) - (1-t) log(1-σ(z)) = softplus(z) - z t, and softplus is computed stably. */
nb_node *nb_bce_logits_loss(nb_node *logits, nb_node *target, nb_reduction reduction)
{
    if (!same_shape("bce loss", logits, target))
        return nb_builder_failed();
    return reduce(nb_sub(nb_softplus(logits), nb_mul(logits, target)), reduction);
}

nb_node *nb_cross_entropy_loss(nb_node *logits, nb_node *labels, nb_reduction reduction)
{
    if (reduction == NB_REDUCE_MEAN)
        return nb_softmax_cross_entropy(logits, labels); /* one fused op */
    /* the sum from parts: a scaled mean would freeze the batch size into the graph */
    return nb_neg(nb_sum(nb_pick(nb_log_softmax(logits, 1), labels)));
}

static const char *const loss_names[] = {"ce", "mse", "mae", "huber", "bce"};

nb_status nb_loss_parse(const char *name, nb_loss_kind *kind)
{
    if (name && strcmp(name, "cross-entropy") == 0)
        name = "ce";
    for (size_t i = 0; i < sizeof loss_names / sizeof loss_names[0]; i++)
        if (name && strcmp(name, loss_names[i]) == 0) {
            *kind = (nb_loss_kind)i;
            return NB_OK;
        }
    return nb_fail(NB_EARG, "unknown loss '%s' (known: ce, mse, mae, huber, bce)", name ? name : "");
}

const char *nb_loss_name(nb_loss_kind kind)
{
    return (unsigned)kind < sizeof loss_names / sizeof loss_names[0] ? loss_names[kind] : "unknown";
}

nb_node *nb_loss(nb_node *pred, nb_node *target, nb_loss_kind kind, nb_reduction reduction)
{
    switch (kind) {
    case NB_LOSS_CE: return nb_cross_entropy_loss(pred, target, reduction);
    case NB_LOSS_MSE: return nb_mse_loss(pred, target, reduction);
    case NB_LOSS_MAE: return nb_mae_loss(pred, target, reduction);
    case NB_LOSS_HUBER: return nb_huber_loss(pred, target, 1.0, reduction);
    case NB_LOSS_BCE: return nb_bce_logits_loss(pred, target, reduction);
    }
    nb_fail(NB_EARG, "nb_loss: unknown loss kind %d", (int)kind);
    return NULL;
}

static int64_t row_argmax(const nb_tensor *x, int64_t row, int64_t cols)
{
    int64_t best = 0;
    double best_value = -INFINITY;
    for (int64_t c = 0; c < cols; c++) {
        double v = nb_tensor_get(x, row * cols + c);
        if (v > best_value) {
            best_value = v;
            best = c;
        }
    }
    return best;
}

void nb_argmax_rows(const nb_tensor *x, int64_t *out)
{
    int64_t rows = x->ndim == 2 ? x->shape[0] : 1, cols = x->ndim == 2 ? x->shape[1] : x->size;
    for (int64_t r = 0; r < rows; r++)
        out[r] = row_argmax(x, r, cols);
}

nb_status nb_accuracy(const nb_tensor *logits, const nb_tensor *labels, double *accuracy)
{
    if (!logits || !labels || !accuracy)
        return nb_fail(NB_EARG, "nb_accuracy: the %s NULL", !logits ? "logits are" : !labels ? "labels are" : "result is");
    *accuracy = NAN;
    if (logits->ndim != 2 || labels->size != logits->shape[0] || logits->shape[0] == 0) {
        char l[96], t[96];
        nb_shape_str(logits->ndim, logits->shape, l, sizeof l);
        nb_shape_str(labels->ndim, labels->shape, t, sizeof t);
        return nb_fail(NB_ESHAPE, "nb_accuracy: needs logits [N, C] and N labels with N > 0, got logits %s and "
                                  "labels %s", l, t);
    }
    int64_t rows = logits->shape[0], correct = 0;
    for (int64_t r = 0; r < rows; r++)
        correct += (double)row_argmax(logits, r, logits->shape[1]) == nb_tensor_get(labels, r);
    *accuracy = (double)correct / (double)rows;
    return NB_OK;
}
