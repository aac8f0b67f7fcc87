/* L-BFGS (Nocedal & Wright, algorithm 7.4, with the strong Wolfe line search of
 * algorithms 3.5 and 3.6), as torch.optim.LBFGS with line_search_fn="strong_wolfe". It
 * works in double on the trainable parameters laid end to end; its state: the current
 * point and gradient, the line search's scratch, and the ring of the last `history`
 * (s, y) pairs. */
#include "nn/optim_internal.h"

#include <float.h>
#include <math.h>
#include <string.h>

typedef struct lbfgs {
    nb_optimizer *o;
    int64_t n; /* trainable values, at creation */
    double *x, *g, *d, *x0, *g_prev, *g_try, *g_best;
    double *s, *y, *rho, *alpha; /* the history ring: history x n */
    int n_history, newest;
    double h_diag;
} lbfgs;

static nb_status lbfgs_check(const nb_optim_config *c)
{
    if (c->history < 1 || c->max_iter < 1)
        return nb_fail(NB_EARG, "lbfgs: history and max_iter must be at least 1");
    return NB_OK;
}

static void lbfgs_free(nb_optimizer *o)
{
    lbfgs *l = o->state;
    if (!l)
        return;
    double *arrays[] = {l->x, l->g, l->d, l->x0, l->g_prev, l->g_try, l->g_best, l->s, l->y, l->rho, l->alpha};
    for (size_t i = 0; i < sizeof arrays / sizeof arrays[0]; i++)
        nb_free(arrays[i]);
    nb_free(l);
}

static bool lbfgs_init(nb_optimizer *o)
{
    lbfgs *l = o->state = nb_calloc(1, sizeof *l);
    if (!l)
        return false;
    l->o = o;
    l->n = nb_optim_trainable_values(o);
    size_t vec = (size_t)(l->n ? l->n : 1) * sizeof(double), hist = (size_t)o->config.history;
    double **vectors[] = {&l->x, &l->g, &l->d, &l->x0, &l->g_prev, &l->g_try, &l->g_best};
    bool ok = true;
    for (size_t i = 0; i < sizeof vectors / sizeof vectors[0]; i++)
        ok &= (*vectors[i] = nb_alloc(vec)) != NULL;
    ok &= (l->s = nb_alloc(vec * hist)) != NULL;
    ok &= (l->y = nb_alloc(vec * hist)) != NULL;
    ok &= (l->rho = nb_alloc(hist * sizeof(double))) != NULL;
    ok &= (l->alpha = nb_alloc(hist * sizeof(double))) != NULL;
    if (!ok) {
        lbfgs_free(o);
        o->state = NULL;
    }
    return ok;
}

/* Its vectors were sized for the trainable values at creation. */
static nb_status check_model(const lbfgs *l)
{
    if (nb_optim_check_model(l->o) != NB_OK)
        return nb_errcode();
    int64_t n = nb_optim_trainable_values(l->o);
    if (n != l->n)
        return nb_fail(NB_ESTATE,
                       "lbfgs: %lld parameter values are trainable, but %lld were when the optimizer was created; "
                       "create the optimizer after the model is complete (with the parameters it trains "
                       "unfrozen)",
                       (long long)n, (long long)l->n);
    return NB_OK;
}

/* The trainable parameters' values (or gradients) laid end to end in out, as doubles.
 * Reading the gradients through nb_grads_data writes the zeros of gradients marked as
 * zeros. */
static void gather(lbfgs *l, double *out, bool grads)
{
    nb_optimizer *o = l->o;
    const void *from = grads ? nb_grads_data(o->graph) : nb_params_data(o->graph);
    int64_t at = 0;
    NB_FOR_TRAINABLE(o, q)
    {
        double *dst = out + at;
        at += q->size;
        if (o->f64) {
            memcpy(dst, (const double *)from + q->offset, (size_t)q->size * sizeof *dst);
        } else {
            const float *src = (const float *)from + q->offset;
            for (int64_t i = 0; i < q->size; i++)
                dst[i] = src[i];
        }
    }
}

/* The inverse of gather for the values. */
static void scatter(lbfgs *l, const double *in)
{
    nb_optimizer *o = l->o;
    void *to = nb_params_data(o->graph);
    int64_t at = 0;
    NB_FOR_TRAINABLE(o, q)
    {
        const double *src = in + at;
        at += q->size;
        if (o->f64) {
            memcpy((double *)to + q->offset, src, (size_t)q->size * sizeof *src);
        } else {
            float *dst = (float *)to + q->offset;
            for (int64_t i = 0; i < q->size; i++)
                dst[i] = (float)src[i];
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
static nb_status evaluate_at(lbfgs *l, nb_loss_closure closure, void *ctx, double t, double *loss,
                             double *g_out, double *slope)
{
    for (int64_t i = 0; i < l->n; i++)
        l->x[i] = l->x0[i] + t * l->d[i];
    scatter(l, l->x);
    nb_status status = closure(ctx, loss);
    if (status != NB_OK)
        return status;
    gather(l, g_out, true);
    *slope = dot(g_out, l->d, l->n);
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
 * l->g. */
static nb_status strong_wolfe(lbfgs *l, nb_loss_closure closure, void *ctx, double f0, double slope0,
                              double *t_io, double *loss, int *evaluations)
{
    const double c1 = 1e-4, c2 = 0.9, tolerance = l->o->config.tolerance_change;
    const int max_evaluations = 25;
    double t = *t_io, t_prev = 0, f_prev = f0, slope_prev = slope0, f_new, slope_new;
    double lo = 0, f_lo = f0, slope_lo = slope0, hi = 0, f_hi = f0, slope_hi = slope0;
    bool bracketed = false, done = false;
    int n = 0;
    memcpy(l->g_best, l->g, (size_t)l->n * sizeof(double)); /* the gradient at lo */
    while (n < max_evaluations) {
        nb_status status = evaluate_at(l, closure, ctx, t, &f_new, l->g_try, &slope_new);
        if (status != NB_OK)
            return status;
        n++;
        if (!isfinite(f_new) || f_new > f0 + c1 * t * slope0 || (n > 1 && f_new >= f_prev)) {
            lo = t_prev, f_lo = f_prev, slope_lo = slope_prev;
            hi = t, f_hi = f_new, slope_hi = slope_new;
            bracketed = true;
            break;
        }
        memcpy(l->g_best, l->g_try, (size_t)l->n * sizeof(double));
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
        if (width * max_abs(l->d, l->n) < tolerance)
            break;
        double left = fmin(lo, hi), right = fmax(lo, hi);
        double next = isfinite(f_hi) ? cubic_minimum(lo, f_lo, slope_lo, hi, f_hi, slope_hi, left, right)
                                     : (lo + hi) / 2;
        /* keep away from the ends, or the bracket never shrinks */
        double margin = 0.1 * width;
        if (next - left < margin || right - next < margin)
            next = (lo + hi) / 2;
        nb_status status = evaluate_at(l, closure, ctx, next, &f_new, l->g_try, &slope_new);
        if (status != NB_OK)
            return status;
        n++;
        if (!isfinite(f_new) || f_new > f0 + c1 * next * slope0 || f_new >= f_lo) {
            hi = next, f_hi = f_new, slope_hi = slope_new;
        } else {
            memcpy(l->g_best, l->g_try, (size_t)l->n * sizeof(double));
            if (fabs(slope_new) <= -c2 * slope0)
                done = true;
            else if (slope_new * (hi - lo) >= 0)
                hi = lo, f_hi = f_lo, slope_hi = slope_lo;
            lo = next, f_lo = f_new, slope_lo = slope_new;
        }
    }
    /* Settle on lo, the best point seen that decreased the loss enough (or 0). */
    for (int64_t i = 0; i < l->n; i++)
        l->x[i] = l->x0[i] + lo * l->d[i];
    scatter(l, l->x);
    memcpy(l->g, l->g_best, (size_t)l->n * sizeof(double));
    *t_io = lo;
    *loss = f_lo;
    *evaluations = n;
    return NB_OK;
}

/* The two-loop recursion: d = -H g from the stored (s, y) pairs. */
static void lbfgs_direction(lbfgs *l)
{
    int64_t n = l->n;
    int h = l->o->config.history;
    for (int64_t i = 0; i < n; i++)
        l->d[i] = -l->g[i];
    for (int k = 0; k < l->n_history; k++) {
        int slot = (l->newest - k + h) % h;
        l->alpha[slot] = l->rho[slot] * dot(l->s + slot * n, l->d, n);
        for (int64_t i = 0; i < n; i++)
            l->d[i] -= l->alpha[slot] * l->y[slot * n + i];
    }
    for (int64_t i = 0; i < n; i++)
        l->d[i] *= l->h_diag;
    for (int k = l->n_history - 1; k >= 0; k--) {
        int slot = (l->newest - k + h) % h;
        double beta = l->rho[slot] * dot(l->y + slot * n, l->d, n);
        for (int64_t i = 0; i < n; i++)
            l->d[i] += l->s[slot * n + i] * (l->alpha[slot] - beta);
    }
}

static nb_status lbfgs_iterate(lbfgs *l, nb_loss_closure closure, void *ctx, double *loss_out)
{
    const nb_optim_config *c = &l->o->config;
    int64_t n = l->n;
    double loss;
    nb_status status = check_model(l);
    if (status != NB_OK)
        return status;
    status = closure(ctx, &loss);
    if (status != NB_OK)
        return status;
    *loss_out = loss;
    gather(l, l->x, false);
    gather(l, l->g, true);
    if (max_abs(l->g, n) <= c->tolerance_grad)
        return NB_OK;
    for (int iteration = 0; iteration < c->max_iter; iteration++) {
        l->o->step++;
        if (l->o->step == 1) {
            for (int64_t i = 0; i < n; i++)
                l->d[i] = -l->g[i];
            l->h_diag = 1;
        } else {
            /* s = the last step, y = the change of gradient it caused; built in scratch
             * (the old direction and the line search's gradient are spent), so that a
             * rejected pair leaves the ring as it was */
            double *s = l->d, *y = l->g_try;
            for (int64_t i = 0; i < n; i++) {
                s[i] = l->x[i] - l->x0[i];
                y[i] = l->g[i] - l->g_prev[i];
            }
            double ys = dot(y, s, n), yy = dot(y, y, n);
            /* Keep only pairs with enough curvature to keep H positive definite: a test
             * relative to y·y (H's scale ys / yy stays above DBL_EPSILON), so that it
             * holds alike for a loss scaled by 1e-12 or 1e12. */
            if (ys > DBL_EPSILON * yy) {
                int h = c->history, slot = (l->newest + 1) % h;
                memcpy(l->s + slot * n, s, (size_t)n * sizeof(double));
                memcpy(l->y + slot * n, y, (size_t)n * sizeof(double));
                l->newest = slot;
                l->rho[slot] = 1 / ys;
                if (l->n_history < h)
                    l->n_history++;
                l->h_diag = ys / yy;
            }
            lbfgs_direction(l);
        }
        memcpy(l->g_prev, l->g, (size_t)n * sizeof(double));
        memcpy(l->x0, l->x, (size_t)n * sizeof(double));
        double previous = loss;
        /* the first step is scaled by the gradient's size (torch does the same) */
        double g_l1 = 0;
        for (int64_t i = 0; i < n; i++)
            g_l1 += fabs(l->g[i]);
        double t = (l->o->step == 1 ? fmin(1.0, 1.0 / g_l1) : 1.0) * c->lr;
        double slope = dot(l->g, l->d, n);
        if (slope > -c->tolerance_change)
            break; /* not a descent direction any more */
        int evaluations;
        status = strong_wolfe(l, closure, ctx, loss, slope, &t, &loss, &evaluations);
        if (status != NB_OK)
            return status;
        if (t == 0 || max_abs(l->g, n) <= c->tolerance_grad || fabs(t) * max_abs(l->d, n) <= c->tolerance_change ||
            fabs(loss - previous) < c->tolerance_change)
            break;
    }
    return NB_OK;
}

static nb_status lbfgs_step(nb_optimizer *o, nb_loss_closure closure, void *ctx, double *loss)
{
    return lbfgs_iterate(o->state, closure, ctx, loss);
}

const nb_optim_family nb_optim_lbfgs = {
    .check = lbfgs_check, .init = lbfgs_init, .free = lbfgs_free, .step_closure = lbfgs_step};
