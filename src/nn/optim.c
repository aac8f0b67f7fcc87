/* Optimizers (SGD, Adam, AdamW, RMSprop, Adagrad, L-BFGS), gradient clipping and
 * learning-rate schedules. */
#include "autodiff/graph_internal.h"
#include "nabla/nn.h"
#include "core/core.h"

#include <float.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <tgmath.h>

#define T float
#define SFX f32
#include "nn/optim_kernels.inc"
#undef T
#undef SFX
#define T double
#define SFX f64
#include "nn/optim_kernels.inc"
#undef T
#undef SFX

struct nb_optimizer {
    nb_graph *graph;
    nb_optim_config config;
    int64_t step;       /* updates made */
    int parts;          /* the current step runs in this many parts (threads) */
    void *state[2];     /* per-parameter state in the graph dtype (moments, buffers) */
    int64_t n_param_values; /* the graph's parameter values when the state was sized */
    /* L-BFGS works in double on the trainable parameters laid end to end. */
    int64_t n;          /* trainable scalars, at creation */
    double *x, *g, *d, *x0, *g_prev, *g_try, *g_best;
    double *s, *y, *rho, *alpha; /* history ring: history x n */
    int n_history, newest;
    double h_diag, t;
    int64_t n_iter;
};

static const char *kind_names[] = {"sgd", "adam", "adamw", "rmsprop", "adagrad", "lbfgs"};

const char *nb_optim_name(nb_optim_kind kind)
{
    return (unsigned)kind < sizeof kind_names / sizeof kind_names[0] ? kind_names[kind] : "?";
}

nb_status nb_optim_parse(const char *name, nb_optim_kind *kind)
{
    for (size_t i = 0; i < sizeof kind_names / sizeof kind_names[0]; i++)
        if (name && strcmp(name, kind_names[i]) == 0) {
            *kind = (nb_optim_kind)i;
            return NB_OK;
        }
    return nb_fail(NB_EARG, "unknown optimizer '%s' (known: sgd, adam, adamw, rmsprop, adagrad, lbfgs)",
                   name ? name : "");
}

nb_optim_config nb_optim_defaults(nb_optim_kind kind)
{
    nb_optim_config c = {.kind = kind, .lr = 0.01, .beta1 = 0.9, .beta2 = 0.999, .eps = 1e-8, .alpha = 0.99,
                         .history = 100, .max_iter = 20, .tolerance_grad = 1e-7, .tolerance_change = 1e-9};
    switch (kind) {
    case NB_ADAM:
    case NB_RMSPROP: c.lr = 1e-3; break;
    case NB_ADAMW: c.lr = 1e-3, c.weight_decay = 1e-2; break;
    case NB_ADAGRAD: c.lr = 1e-2, c.eps = 1e-10; break;
    case NB_LBFGS: c.lr = 1; break;
    case NB_SGD: break;
    }
    return c;
}

/* The trainable parameters, one contiguous range each. */
#define FOR_TRAINABLE(graph, node)                                                                  \
    for (int i_ = 0; i_ < (graph)->n_nodes; i_++)                                                   \
        for (nb_node *node = (graph)->nodes[i_]; node; node = NULL)                                 \
            if (node->kind == NB_NODE_PARAM && node->requires_grad)

static int64_t trainable_values(nb_graph *graph)
{
    int64_t n = 0;
    FOR_TRAINABLE(graph, node) n += node->value.size;
    return n;
}

/* The state was sized for the model as it was at nb_optim_new: first-order state covers
 * every parameter value (freezing and unfreezing is fine, adding is not); L-BFGS's
 * vectors the trainable values laid end to end. */
static nb_status check_model_unchanged(const nb_optimizer *o)
{
    const char *name = nb_optim_name(o->config.kind);
    if (o->graph->n_param_values != o->n_param_values)
        return nb_fail(NB_ESTATE,
                       "%s: the graph has %lld parameter values, but had %lld when the optimizer was created; "
                       "create the optimizer after the model is complete",
                       name, (long long)o->graph->n_param_values, (long long)o->n_param_values);
    if (o->config.kind == NB_LBFGS) {
        int64_t n = trainable_values(o->graph);
        if (n != o->n)
            return nb_fail(NB_ESTATE,
                           "%s: %lld parameter values are trainable, but %lld were when the optimizer was created; "
                           "create the optimizer after the model is complete (with the parameters it trains "
                           "unfrozen)",
                           name, (long long)n, (long long)o->n);
    }
    return NB_OK;
}

static void optim_free_state(nb_optimizer *o)
{
    nb_free(o->state[0]);
    nb_free(o->state[1]);
    double *arrays[] = {o->x, o->g, o->d, o->x0, o->g_prev, o->g_try, o->g_best, o->s, o->y, o->rho, o->alpha};
    for (size_t i = 0; i < sizeof arrays / sizeof arrays[0]; i++)
        nb_free(arrays[i]);
}

void nb_optim_free(nb_optimizer *optimizer)
{
    if (!optimizer)
        return;
    optim_free_state(optimizer);
    nb_free(optimizer);
}

static nb_status check_config(const nb_optim_config *c)
{
    const char *name = nb_optim_name(c->kind);
    if ((unsigned)c->kind > NB_LBFGS)
        return nb_fail(NB_EARG, "optimizer: unknown kind %d", (int)c->kind);
    if (!(c->lr > 0) || !isfinite(c->lr))
        return nb_fail(NB_EARG, "%s: the learning rate must be positive, got %g", name, c->lr);
    if (!(c->momentum >= 0) || !(c->weight_decay >= 0) || !(c->dampening >= 0 && c->dampening <= 1))
        return nb_fail(NB_EARG, "%s: momentum, weight decay must be >= 0 and dampening in [0, 1]", name);
    if (c->nesterov && (c->momentum <= 0 || c->dampening != 0))
        return nb_fail(NB_EARG, "%s: Nesterov momentum needs momentum > 0 and no dampening", name);
    if ((c->kind == NB_ADAM || c->kind == NB_ADAMW) &&
        !(c->beta1 >= 0 && c->beta1 < 1 && c->beta2 >= 0 && c->beta2 < 1 && c->eps >= 0))
        return nb_fail(NB_EARG, "%s: betas must be in [0, 1) and eps >= 0 (got %g, %g, %g)", name, c->beta1, c->beta2,
                       c->eps);
    if (c->kind == NB_RMSPROP && !(c->alpha >= 0 && c->alpha < 1))
        return nb_fail(NB_EARG, "rmsprop: alpha must be in [0, 1), got %g", c->alpha);
    if (c->kind == NB_LBFGS && (c->history < 1 || c->max_iter < 1))
        return nb_fail(NB_EARG, "lbfgs: history and max_iter must be at least 1");
    return NB_OK;
}

nb_optimizer *nb_optim_new(nb_graph *graph, const nb_optim_config *config)
{
    if (!graph || !config) {
        nb_fail(NB_EARG, "nb_optim_new: graph and config must not be NULL");
        return NULL;
    }
    if (check_config(config) != NB_OK)
        return NULL;
    nb_optimizer *o = nb_calloc(1, sizeof *o);
    if (!o) {
        nb_fail(NB_ENOMEM, "nb_optim_new: out of memory");
        return NULL;
    }
    o->graph = graph;
    o->config = *config;
    o->n_param_values = graph->n_param_values;
    o->n = trainable_values(graph);
    size_t state_bytes = (size_t)(graph->n_param_values ? graph->n_param_values : 1) * nb_dtype_size(graph->dtype);
    int n_states = config->kind == NB_ADAM || config->kind == NB_ADAMW || config->kind == NB_RMSPROP ? 2
                   : config->kind == NB_LBFGS                                                        ? 0
                                                                                                      : 1;
    bool ok = true;
    for (int k = 0; k < n_states; k++)
        ok &= (o->state[k] = nb_calloc(1, state_bytes)) != NULL;
    if (config->kind == NB_LBFGS) {
        size_t vec = (size_t)(o->n ? o->n : 1) * sizeof(double), hist = (size_t)config->history;
        double **vectors[] = {&o->x, &o->g, &o->d, &o->x0, &o->g_prev, &o->g_try, &o->g_best};
        for (size_t i = 0; i < sizeof vectors / sizeof vectors[0]; i++)
            ok &= (*vectors[i] = nb_alloc(vec)) != NULL;
        ok &= (o->s = nb_alloc(vec * hist)) != NULL;
        ok &= (o->y = nb_alloc(vec * hist)) != NULL;
        ok &= (o->rho = nb_alloc(hist * sizeof(double))) != NULL;
        ok &= (o->alpha = nb_alloc(hist * sizeof(double))) != NULL;
    }
    if (!ok) {
        nb_optim_free(o);
        nb_fail(NB_ENOMEM, "%s: out of memory for the state of %lld parameters", nb_optim_name(config->kind),
                (long long)graph->n_param_values);
        return NULL;
    }
    return o;
}

int64_t nb_optim_steps(const nb_optimizer *optimizer)
{
    return optimizer->config.kind == NB_LBFGS ? optimizer->n_iter : optimizer->step;
}

void nb_optim_set_lr(nb_optimizer *optimizer, double lr) { optimizer->config.lr = lr; }
double nb_optim_lr(const nb_optimizer *optimizer) { return optimizer->config.lr; }
const nb_optim_config *nb_optim_config_of(const nb_optimizer *optimizer) { return &optimizer->config; }

/* One first-order update of part `part` of `parts` of every trainable parameter: the
 * elements [size·part/parts, size·(part+1)/parts) of each. Each element's update reads
 * only its own gradient and state, so the split changes no number. */
#define FIRST_ORDER_PART(T, SFX)                                                                    \
    do {                                                                                            \
        T *state0 = o->state[0], *state1 = o->state[1];                                             \
        FOR_TRAINABLE(o->graph, node)                                                               \
        {                                                                                           \
            int64_t size = node->value.size;                                                        \
            int64_t from = size * part / parts, n = size * (part + 1) / parts - from;               \
            int64_t at = node->param_offset + from;                                                 \
            T *p = (T *)node->value.data + from, *g = (T *)node->grad.data + from;                  \
            switch (c->kind) {                                                                      \
            case NB_SGD: sgd_##SFX(n, p, g, state0 ? state0 + at : NULL, c, o->step == 1, c->lr); break; \
            case NB_ADAM:                                                                           \
            case NB_ADAMW:                                                                          \
                adam_##SFX(n, p, g, state0 + at, state1 + at, c, o->step, c->lr, c->kind == NB_ADAMW); \
                break;                                                                              \
            case NB_RMSPROP: rmsprop_##SFX(n, p, g, state0 + at, state1 + at, c, c->lr); break;     \
            case NB_ADAGRAD: adagrad_##SFX(n, p, g, state0 + at, c, c->lr); break;                  \
            case NB_LBFGS: break;                                                                   \
            }                                                                                       \
        }                                                                                           \
    } while (0)

static void step_part(void *ctx, int part)
{
    nb_optimizer *o = ctx;
    const nb_optim_config *c = &o->config;
    int parts = o->parts;
    if (o->graph->dtype == NB_F64)
        FIRST_ORDER_PART(double, f64);
    else
        FIRST_ORDER_PART(float, f32);
}

/* The update is a pass over the parameters, their gradients and the state: on nabla's
 * threads when large. Each tensor is cut into equal contiguous parts, part t of every
 * tensor on one thread, which is how the matrix products cut a weight gradient's rows:
 * the gradient a thread has just written is still in its core's cache, and updating it
 * from another core is much slower (docs/design.md). */
static nb_status first_order_step(nb_optimizer *o, bool zero_grads)
{
    if (!o)
        return nb_fail(NB_EARG, "nb_optim_step: optimizer is NULL");
    if (o->config.kind == NB_LBFGS)
        return nb_fail(NB_ESTATE, "lbfgs: needs the loss itself; use nb_optim_step_closure");
    if (check_model_unchanged(o) != NB_OK)
        return nb_errcode();
    o->step++;
    nb_grads_settle(o->graph); /* a parameter the last backward did not reach has zeros */
    o->parts = nb_threads_for(o->graph->n_param_values, NB_PARALLEL_GRAIN);
    if (o->parts > 1)
        nb_parallel_chunks(o->parts, step_part, o);
    else
        step_part(o, 0);
    /* Zeroing by marking: the gradients now stand for zeros (grad_unset), so the next
     * backward stores into them (a weight gradient's product with beta 0) instead of
     * reading zeros written here, and whatever reads them first writes the zeros. */
    if (zero_grads) {
        FOR_TRAINABLE(o->graph, node) node->grad_unset = true;
        o->graph->params_marked = true;
    }
    return NB_OK;
}

nb_status nb_optim_step(nb_optimizer *o) { return first_order_step(o, false); }

nb_status nb_optim_step_zero_grad(nb_optimizer *o) { return first_order_step(o, true); }

/* ---- L-BFGS --------------------------------------------------------------------------- */

/* The trainable parameters' values (or gradients) laid end to end in out, as doubles. An
 * unset gradient is the zeros it stands for; it stays unset. */
static void gather(nb_optimizer *o, double *out, bool grads)
{
    bool f64 = o->graph->dtype == NB_F64;
    int64_t at = 0;
    FOR_TRAINABLE(o->graph, node)
    {
        int64_t size = node->value.size;
        double *dst = out + at;
        at += size;
        if (grads && node->grad_unset) {
            memset(dst, 0, (size_t)size * sizeof *dst);
            continue;
        }
        const void *src = grads ? node->grad.data : node->value.data;
        if (f64) {
            memcpy(dst, src, (size_t)size * sizeof *dst);
        } else {
            const float *from = src;
            for (int64_t i = 0; i < size; i++)
                dst[i] = from[i];
        }
    }
}

/* The inverse of gather for the values. */
static void scatter(nb_optimizer *o, const double *in)
{
    bool f64 = o->graph->dtype == NB_F64;
    int64_t at = 0;
    FOR_TRAINABLE(o->graph, node)
    {
        int64_t size = node->value.size;
        const double *src = in + at;
        at += size;
        if (f64) {
            memcpy(node->value.data, src, (size_t)size * sizeof *src);
        } else {
            float *to = node->value.data;
            for (int64_t i = 0; i < size; i++)
                to[i] = (float)src[i];
        }
    }
}

static double dot(const double *a, const double *b, int64_t n)
{
    double total = 0;
    for (int64_t i = 0; i < n; i++)
        total += a[i] * b[i];
    return total;
}

static double max_abs(const double *a, int64_t n)
{
    double m = 0;
    for (int64_t i = 0; i < n; i++)
        m = fmax(m, fabs(a[i]));
    return m;
}

/* Loss and gradient at x0 + t d: leaves the gradient in g_out, returns the slope. */
static nb_status evaluate_at(nb_optimizer *o, nb_loss_closure closure, void *ctx, double t, double *loss,
                             double *g_out, double *slope)
{
    for (int64_t i = 0; i < o->n; i++)
        o->x[i] = o->x0[i] + t * o->d[i];
    scatter(o, o->x);
    nb_status status = closure(ctx, loss);
    if (status != NB_OK)
        return status;
    gather(o, g_out, true);
    *slope = dot(g_out, o->d, o->n);
    return NB_OK;
}

/* The minimiser of the cubic through (x1, f1, g1) and (x2, f2, g2), kept in [lo, hi]
 * (Nocedal & Wright, eq. 3.59); the middle when the cubic has no minimum. */
static double cubic_minimum(double x1, double f1, double g1, double x2, double f2, double g2, double lo, double hi)
{
    double d1 = g1 + g2 - 3 * (f1 - f2) / (x1 - x2);
    double d2_squared = d1 * d1 - g1 * g2;
    if (d2_squared >= 0 && x1 != x2) {
        double d2 = sqrt(d2_squared);
        double at = x1 <= x2 ? x2 - (x2 - x1) * ((g2 + d2 - d1) / (g2 - g1 + 2 * d2))
                             : x1 - (x1 - x2) * ((g1 + d2 - d1) / (g1 - g2 + 2 * d2));
        if (isfinite(at))
            return fmin(fmax(at, lo), hi);
    }
    return (lo + hi) / 2;
}

/* A step t along d satisfying the strong Wolfe conditions (Nocedal & Wright, algorithms
 * 3.5 and 3.6). On return the parameters are at x0 + t d with loss *loss and gradient
 * o->g. */
static nb_status strong_wolfe(nb_optimizer *o, nb_loss_closure closure, void *ctx, double f0, double slope0,
                              double *t_io, double *loss, int *evaluations)
{
    const double c1 = 1e-4, c2 = 0.9, tolerance = o->config.tolerance_change;
    const int max_evaluations = 25;
    double t = *t_io, t_prev = 0, f_prev = f0, slope_prev = slope0, f_new, slope_new;
    double lo = 0, f_lo = f0, slope_lo = slope0, hi = 0, f_hi = f0, slope_hi = slope0;
    bool bracketed = false, done = false;
    int n = 0;
    memcpy(o->g_best, o->g, (size_t)o->n * sizeof(double)); /* the gradient at lo */
    while (n < max_evaluations) {
        nb_status status = evaluate_at(o, closure, ctx, t, &f_new, o->g_try, &slope_new);
        if (status != NB_OK)
            return status;
        n++;
        if (!isfinite(f_new) || f_new > f0 + c1 * t * slope0 || (n > 1 && f_new >= f_prev)) {
            lo = t_prev, f_lo = f_prev, slope_lo = slope_prev;
            hi = t, f_hi = f_new, slope_hi = slope_new;
            bracketed = true;
            break;
        }
        memcpy(o->g_best, o->g_try, (size_t)o->n * sizeof(double));
        if (fabs(slope_new) <= -c2 * slope0) {
            lo = t, f_lo = f_new;
            done = true;
            break;
        }
        if (slope_new >= 0) {
            lo = t, f_lo = f_new, slope_lo = slope_new;
            hi = t_prev, f_hi = f_prev, slope_hi = slope_prev;
            bracketed = true;
            break;
        }
        double next = cubic_minimum(t_prev, f_prev, slope_prev, t, f_new, slope_new, t + 0.01 * (t - t_prev), 10 * t);
        t_prev = t, f_prev = f_new, slope_prev = slope_new;
        lo = t, f_lo = f_new, slope_lo = slope_new;
        t = next;
    }
    /* Zoom: shrink [lo, hi] around a point that satisfies both conditions. */
    while (bracketed && !done && n < max_evaluations) {
        double width = fabs(hi - lo);
        if (width * max_abs(o->d, o->n) < tolerance)
            break;
        double left = fmin(lo, hi), right = fmax(lo, hi);
        double next = isfinite(f_hi) ? cubic_minimum(lo, f_lo, slope_lo, hi, f_hi, slope_hi, left, right)
                                     : (lo + hi) / 2;
        /* keep away from the ends, or the bracket never shrinks */
        double margin = 0.1 * width;
        if (next - left < margin || right - next < margin)
            next = (lo + hi) / 2;
        nb_status status = evaluate_at(o, closure, ctx, next, &f_new, o->g_try, &slope_new);
        if (status != NB_OK)
            return status;
        n++;
        if (!isfinite(f_new) || f_new > f0 + c1 * next * slope0 || f_new >= f_lo) {
            hi = next, f_hi = f_new, slope_hi = slope_new;
        } else {
            memcpy(o->g_best, o->g_try, (size_t)o->n * sizeof(double));
            if (fabs(slope_new) <= -c2 * slope0)
                done = true;
            else if (slope_new * (hi - lo) >= 0)
                hi = lo, f_hi = f_lo, slope_hi = slope_lo;
            lo = next, f_lo = f_new, slope_lo = slope_new;
        }
    }
    /* Settle on lo, the best point seen that decreased the loss enough (or 0). */
    for (int64_t i = 0; i < o->n; i++)
        o->x[i] = o->x0[i] + lo * o->d[i];
    scatter(o, o->x);
    memcpy(o->g, o->g_best, (size_t)o->n * sizeof(double));
    *t_io = lo;
    *loss = f_lo;
    *evaluations = n;
    return NB_OK;
}

/* The two-loop recursion: d = -H g from the stored (s, y) pairs. */
static void lbfgs_direction(nb_optimizer *o)
{
    int64_t n = o->n;
    int h = o->config.history;
    for (int64_t i = 0; i < n; i++)
        o->d[i] = -o->g[i];
    for (int k = 0; k < o->n_history; k++) {
        int slot = (o->newest - k + h) % h;
        o->alpha[slot] = o->rho[slot] * dot(o->s + slot * n, o->d, n);
        for (int64_t i = 0; i < n; i++)
            o->d[i] -= o->alpha[slot] * o->y[slot * n + i];
    }
    for (int64_t i = 0; i < n; i++)
        o->d[i] *= o->h_diag;
    for (int k = o->n_history - 1; k >= 0; k--) {
        int slot = (o->newest - k + h) % h;
        double beta = o->rho[slot] * dot(o->y + slot * n, o->d, n);
        for (int64_t i = 0; i < n; i++)
            o->d[i] += o->s[slot * n + i] * (o->alpha[slot] - beta);
    }
}

static nb_status lbfgs_step(nb_optimizer *o, nb_loss_closure closure, void *ctx, double *loss_out)
{
    const nb_optim_config *c = &o->config;
    int64_t n = o->n;
    double loss;
    nb_status status = check_model_unchanged(o);
    if (status != NB_OK)
        return status;
    status = closure(ctx, &loss);
    if (status != NB_OK)
        return status;
    *loss_out = loss;
    gather(o, o->x, false);
    gather(o, o->g, true);
    if (max_abs(o->g, n) <= c->tolerance_grad)
        return NB_OK;
    for (int iteration = 0; iteration < c->max_iter; iteration++) {
        o->n_iter++;
        if (o->n_iter == 1) {
            for (int64_t i = 0; i < n; i++)
                o->d[i] = -o->g[i];
            o->h_diag = 1;
        } else {
            /* s = the last step, y = the change of gradient it caused; built in scratch
             * (the old direction and the line search's gradient are spent), so that a
             * rejected pair leaves the ring as it was */
            double *s = o->d, *y = o->g_try;
            for (int64_t i = 0; i < n; i++) {
                s[i] = o->x[i] - o->x0[i];
                y[i] = o->g[i] - o->g_prev[i];
            }
            double ys = dot(y, s, n), yy = dot(y, y, n);
            /* Keep only pairs with enough curvature to keep H positive definite: a test
             * relative to y·y (H's scale ys / yy stays above DBL_EPSILON), so that it
             * holds alike for a loss scaled by 1e-12 or 1e12. */
            if (ys > DBL_EPSILON * yy) {
                int h = c->history, slot = (o->newest + 1) % h;
                memcpy(o->s + slot * n, s, (size_t)n * sizeof(double));
                memcpy(o->y + slot * n, y, (size_t)n * sizeof(double));
                o->newest = slot;
                o->rho[slot] = 1 / ys;
                if (o->n_history < h)
                    o->n_history++;
                o->h_diag = ys / yy;
            }
            lbfgs_direction(o);
        }
        memcpy(o->g_prev, o->g, (size_t)n * sizeof(double));
        memcpy(o->x0, o->x, (size_t)n * sizeof(double));
        double previous = loss;
        /* the first step is scaled by the gradient's size (torch does the same) */
        double g_l1 = 0;
        for (int64_t i = 0; i < n; i++)
            g_l1 += fabs(o->g[i]);
        double t = (o->n_iter == 1 ? fmin(1.0, 1.0 / g_l1) : 1.0) * c->lr;
        double slope = dot(o->g, o->d, n);
        if (slope > -c->tolerance_change)
            break; /* not a descent direction any more */
        int evaluations;
        status = strong_wolfe(o, closure, ctx, loss, slope, &t, &loss, &evaluations);
        if (status != NB_OK)
            return status;
        if (t == 0 || max_abs(o->g, n) <= c->tolerance_grad || fabs(t) * max_abs(o->d, n) <= c->tolerance_change ||
            fabs(loss - previous) < c->tolerance_change)
            break;
    }
    return NB_OK;
}

nb_status nb_optim_step_closure(nb_optimizer *o, nb_loss_closure closure, void *ctx, double *loss)
{
    if (!o || !closure || !loss)
        return nb_fail(NB_EARG, "nb_optim_step_closure: optimizer, closure and loss must not be NULL");
    if (o->config.kind == NB_LBFGS)
        return lbfgs_step(o, closure, ctx, loss);
    nb_status status = closure(ctx, loss);
    return status == NB_OK ? nb_optim_step(o) : status;
}

/* ---- clipping ------------------------------------------------------------------------ */

/* Both read each trainable parameter's gradient in place, skipping an unset one (zeros,
 * which neither add to the norm nor change when scaled). */
double nb_grad_norm(nb_graph *graph)
{
    bool f64 = graph->dtype == NB_F64;
    double total = 0;
    FOR_TRAINABLE(graph, node)
    {
        if (node->grad_unset)
            continue;
        int64_t size = node->grad.size;
        if (f64) {
            const double *g = node->grad.data;
            for (int64_t i = 0; i < size; i++)
                total += g[i] * g[i];
        } else {
            const float *g = node->grad.data;
            for (int64_t i = 0; i < size; i++)
                total += (double)g[i] * (double)g[i];
        }
    }
    return sqrt(total);
}

double nb_clip_grad_norm(nb_graph *graph, double max_norm)
{
    double norm = nb_grad_norm(graph);
    if (!(norm > max_norm && norm > 0))
        return norm;
    bool f64 = graph->dtype == NB_F64;
    double factor = max_norm / norm;
    FOR_TRAINABLE(graph, node)
    {
        if (node->grad_unset)
            continue;
        int64_t size = node->grad.size;
        if (f64) {
            double *g = node->grad.data;
            for (int64_t i = 0; i < size; i++)
                g[i] *= factor;
        } else {
            float *g = node->grad.data;
            for (int64_t i = 0; i < size; i++)
                g[i] = (float)((double)g[i] * factor);
        }
    }
    return norm;
}

/* ---- schedules ------------------------------------------------------------------------- */

double nb_schedule_lr(const nb_schedule *s, int epoch)
{
    if (s->warmup_epochs > 0 && epoch < s->warmup_epochs)
        return s->base_lr * (epoch + 1) / s->warmup_epochs;
    int e = epoch - (s->warmup_epochs > 0 ? s->warmup_epochs : 0);
    switch (s->kind) {
    case NB_SCHED_CONSTANT: return s->base_lr;
    case NB_SCHED_STEP: return s->base_lr * pow(s->gamma, floor((double)e / s->step_size));
    case NB_SCHED_EXPONENTIAL: return s->base_lr * pow(s->gamma, e);
    case NB_SCHED_COSINE: {
        int total = s->total_epochs - (s->warmup_epochs > 0 ? s->warmup_epochs : 0);
        double progress = total > 0 ? fmin(1.0, (double)e / total) : 1.0;
        return s->min_lr + (s->base_lr - s->min_lr) * (1 + cos(M_PI * progress)) / 2;
    }
    }
    return s->base_lr;
}

nb_status nb_schedule_parse(const char *text, double base_lr, int total_epochs, nb_schedule *s)
{
    if (!text || !s)
        return nb_fail(NB_EARG, "nb_schedule_parse: NULL argument");
    *s = (nb_schedule){.kind = NB_SCHED_CONSTANT, .base_lr = base_lr, .total_epochs = total_epochs};
    const char *rest = text;
    char *end;
    if (strncmp(rest, "warmup:", 7) == 0) {
        long warmup = strtol(rest + 7, &end, 10);
        if (end == rest + 7 || warmup < 1 || (*end != ',' && *end != '\0'))
            return nb_fail(NB_EPARSE, "schedule '%s': warmup needs a positive number of epochs (warmup:N,...)", text);
        s->warmup_epochs = (int)warmup;
        rest = *end == ',' ? end + 1 : end;
        if (!*rest)
            return NB_OK;
    }
    if (strcmp(rest, "constant") == 0)
        return NB_OK;
    if (strncmp(rest, "step:", 5) == 0) {
        long size = strtol(rest + 5, &end, 10);
        double gamma = *end == ':' ? strtod(end + 1, &end) : 0;
        if (size < 1 || !(gamma > 0) || *end)
            return nb_fail(NB_EPARSE, "schedule '%s': expected step:SIZE:GAMMA, e.g. step:10:0.5", text);
        s->kind = NB_SCHED_STEP, s->step_size = (int)size, s->gamma = gamma;
        return NB_OK;
    }
    if (strncmp(rest, "exp:", 4) == 0) {
        double gamma = strtod(rest + 4, &end);
        if (!(gamma > 0) || *end || end == rest + 4)
            return nb_fail(NB_EPARSE, "schedule '%s': expected exp:GAMMA, e.g. exp:0.95", text);
        s->kind = NB_SCHED_EXPONENTIAL, s->gamma = gamma;
        return NB_OK;
    }
    if (strncmp(rest, "cosine", 6) == 0 && (rest[6] == '\0' || rest[6] == ':')) {
        s->kind = NB_SCHED_COSINE;
        if (rest[6] == ':') {
            s->min_lr = strtod(rest + 7, &end);
            if (*end || end == rest + 7 || !(s->min_lr >= 0))
                return nb_fail(NB_EPARSE, "schedule '%s': expected cosine:MIN_LR, e.g. cosine:1e-5", text);
        }
        return NB_OK;
    }
    return nb_fail(NB_EPARSE, "unknown schedule '%s' (known: constant, step:SIZE:GAMMA, exp:GAMMA, cosine[:MIN], "
                              "with an optional warmup:N, prefix)", text);
}
