/* Least squares with bounds, fixed scalars and robust losses: a projected trust-region
 * Levenberg–Marquardt with an active set.
 *
 * Each iteration linearises at x (for a robust loss, on residuals and Jacobian rescaled
 * as SciPy's least_squares does), frees every scalar except those held (lower = upper)
 * and those at a bound whose gradient pushes outwards, and takes MINPACK's
 * Levenberg–Marquardt step for the free ones in the current trust region. The trial
 * point is the step projected onto the box, so every iterate is feasible and a bound is
 * met exactly; the step is judged, as in MINPACK, by how the actual reduction of the
 * cost compares with the reduction the linear model predicts for the projected step.
 * The variables are never transformed: at the end, the standard errors of the
 * scalars inside their bounds come from the plain Jacobian. */
#include "fit/lsq_internal.h"

#include <float.h>
#include <math.h>
#include <string.h>

typedef struct box_work {
    double *f, *f_trial, *fs, *jac, *jf, *qtf, *diag, *dfree, *rdiag, *col_norm, *sfree, *step, *x_trial, *js,
        *work;
    int *perm, *free_of;
    int n_free;
} box_work;

typedef struct box_state {
    double cost, delta, par, xnorm;
    const double *lo, *hi;
} box_state;

static void box_free(box_work *w)
{
    nb_free(w->f), nb_free(w->f_trial), nb_free(w->fs), nb_free(w->jac), nb_free(w->jf), nb_free(w->qtf);
    nb_free(w->diag), nb_free(w->dfree), nb_free(w->rdiag), nb_free(w->col_norm), nb_free(w->sfree);
    nb_free(w->step), nb_free(w->x_trial), nb_free(w->js), nb_free(w->work), nb_free(w->perm), nb_free(w->free_of);
}

static nb_status box_alloc(int m, int n, box_work *w)
{
    memset(w, 0, sizeof *w);
    size_t mm = (size_t)m, nn = (size_t)n, d = sizeof(double);
    w->f = nb_alloc(mm * d), w->f_trial = nb_alloc(mm * d), w->fs = nb_alloc(mm * d), w->js = nb_alloc(mm * d);
    w->jac = nb_alloc(mm * nn * d), w->jf = nb_alloc(mm * nn * d);
    w->qtf = nb_alloc(nn * d), w->diag = nb_alloc(nn * d), w->dfree = nb_alloc(nn * d), w->rdiag = nb_alloc(nn * d);
    w->col_norm = nb_alloc(nn * d), w->sfree = nb_alloc(nn * d), w->step = nb_alloc(nn * d);
    w->x_trial = nb_alloc(nn * d), w->work = nb_alloc((mm > 4 * nn ? mm : 4 * nn) * d);
    w->perm = nb_alloc(nn * sizeof(int)), w->free_of = nb_alloc(nn * sizeof(int));
    if (!w->f || !w->f_trial || !w->fs || !w->js || !w->jac || !w->jf || !w->qtf || !w->diag || !w->dfree ||
        !w->rdiag || !w->col_norm || !w->sfree || !w->step || !w->x_trial || !w->work || !w->perm || !w->free_of) {
        box_free(w);
        return nb_fail(NB_ENOMEM, "least squares: out of memory for %d residuals and %d parameters", m, n);
    }
    return NB_OK;
}

/* The free set at x: not held, and not at a bound that the gradient g pushes against. */
static void choose_free(int n, const double *x, const double *g, const box_state *st, box_work *w)
{
    w->n_free = 0;
    for (int j = 0; j < n; j++) {
        bool held = st->lo[j] >= st->hi[j];
        bool pushed = (x[j] <= st->lo[j] && g[j] > 0) || (x[j] >= st->hi[j] && g[j] < 0);
        if (!held && !pushed)
            w->free_of[w->n_free++] = j;
    }
}

/* Linearise at x: the (rescaled) residuals fs and Jacobian, the free set, and the pivoted
 * QR of the free columns with qtf = (Qᵀ fs)[0:n_free]. */
static nb_status box_linearize(lsq_problem *pb, const double *x, box_work *w, box_state *st,
                               const nb_lsq_options *opt, double *g)
{
    const int m = pb->m, n = pb->n;
    bool finite;
    nb_status status = nb_lsq_jacobian(pb, x, w->f_trial, w->jac, &finite);
    if (status != NB_OK)
        return status;
    if (!finite)
        return nb_fail(NB_ENUMERIC, "the Jacobian is not finite at a point inside the bounds; tighten the bounds "
                                    "to where the model is defined");
    memcpy(w->fs, w->f, (size_t)m * sizeof *w->f);
    nb_lsq_robust_scale(opt->loss, opt->f_scale > 0 ? opt->f_scale : 1, m, n, w->fs, w->jac);
    for (int j = 0; j < n; j++) {
        double sum = 0;
        for (int i = 0; i < m; i++)
            sum += w->jac[i + (size_t)j * m] * w->fs[i];
        g[j] = sum;
    }
    choose_free(n, x, g, st, w);
    int nf = w->n_free;
    for (int k = 0; k < nf; k++)
        memcpy(w->jf + (size_t)k * m, w->jac + (size_t)w->free_of[k] * m, (size_t)m * sizeof(double));
    if (nf == 0)
        return NB_OK;
    nb_lsq_qr(m, nf, w->jf, w->perm, w->rdiag, w->col_norm, w->work);
    memcpy(w->work, w->fs, (size_t)m * sizeof *w->fs);
    nb_lsq_qr_apply_qt(m, nf, w->jf, w->work);
    for (int k = 0; k < nf; k++) {
        w->qtf[k] = w->work[k];
        w->jf[k + (size_t)k * m] = w->rdiag[k];
    }
    return NB_OK;
}

/* Scaling by the column norms (floored, as in lsq.c), never decreasing. */
static void box_scale(int m, int n, box_work *w, bool first)
{
    double largest = 0;
    for (int j = 0; j < n; j++)
        largest = fmax(largest, nb_lsq_norm(m, w->jac + (size_t)j * m));
    for (int j = 0; j < n; j++) {
        double norm = nb_lsq_norm(m, w->jac + (size_t)j * m);
        double floor = largest > 0 ? 1e-8 * largest : 1;
        double d = norm > floor ? norm : floor;
        w->diag[j] = first ? d : fmax(w->diag[j], d);
    }
    for (int k = 0; k < w->n_free; k++)
        w->dfree[k] = w->diag[w->free_of[k]];
}

/* The reduction of the cost that the linear model predicts for the step s:
 * -(fsᵀ J s + |J s|² / 2). */
static double predicted(int m, int n, const box_work *w, const double *s)
{
    double cross = 0, square = 0;
    for (int i = 0; i < m; i++) {
        double js = 0;
        for (int j = 0; j < n; j++)
            js += w->jac[i + (size_t)j * m] * s[j];
        cross += w->fs[i] * js;
        square += js * js;
    }
    return -(cross + 0.5 * square);
}

typedef struct box_trial {
    double cost, pnorm, actred, prered, ratio;
} box_trial;

/* The projected step for the current region, and how the cost there compares. */
static nb_status box_try(lsq_problem *pb, const double *x, box_work *w, box_state *st, const nb_lsq_options *opt,
                         bool first, box_trial *t)
{
    const int m = pb->m, n = pb->n;
    nb_lsq_lm_step(w->n_free, w->jf, m, w->perm, w->dfree, w->qtf, st->delta, &st->par, w->sfree, w->work);
    for (int j = 0; j < n; j++)
        w->step[j] = 0;
    for (int k = 0; k < w->n_free; k++)
        w->step[w->free_of[k]] = -w->sfree[k];
    for (int j = 0; j < n; j++) {
        w->x_trial[j] = fmin(fmax(x[j] + w->step[j], st->lo[j]), st->hi[j]);
        w->step[j] = w->x_trial[j] - x[j];
    }
    t->pnorm = nb_lsq_scaled_norm(n, w->diag, w->step, w->work);
    if (first)
        st->delta = fmin(st->delta, t->pnorm);
    bool finite;
    nb_status status = nb_lsq_evaluate(pb, w->x_trial, w->f_trial, &finite);
    if (status != NB_OK)
        return status;
    t->cost = finite ? nb_lsq_cost(opt->loss, opt->f_scale > 0 ? opt->f_scale : 1, m, w->f_trial) : INFINITY;
    t->actred = st->cost > 0 ? (st->cost - t->cost) / st->cost : 0;
    t->prered = st->cost > 0 ? predicted(m, n, w, w->step) / st->cost : 0;
    t->ratio = t->prered > 0 && isfinite(t->cost) ? t->actred / t->prered : -1;
    return NB_OK;
}

static void box_update_region(box_state *st, const box_trial *t)
{
    if (t->ratio < 0.25)
        st->delta = 0.25 * fmin(st->delta, t->pnorm > 0 ? t->pnorm : st->delta);
    else if (t->ratio > 0.75)
        st->delta = fmax(st->delta, 2 * t->pnorm);
}

static nb_lsq_stop box_stop(const lsq_problem *pb, const nb_lsq_options *opt, int max_evals, const box_state *st,
                            const box_trial *t)
{
    const double eps = DBL_EPSILON;
    bool f_converged = fabs(t->actred) <= opt->ftol && t->prered <= opt->ftol && t->ratio <= 2;
    bool x_converged = st->delta <= opt->xtol * st->xnorm;
    if (st->cost == 0)
        return NB_LSQ_STOP_EXACT;
    if (f_converged || x_converged)
        return f_converged && x_converged ? NB_LSQ_STOP_BOTH : f_converged ? NB_LSQ_STOP_FTOL : NB_LSQ_STOP_XTOL;
    if (pb->n_evals >= max_evals)
        return NB_LSQ_STOP_MAX_EVALS;
    if ((fabs(t->actred) <= eps && t->prered <= eps && t->ratio <= 2) || st->delta <= eps * st->xnorm ||
        t->pnorm == 0)
        return NB_LSQ_STOP_PRECISION;
    return NB_LSQ_STOP_NONE;
}

/* Trials from one linearisation until one lowers the cost or the iteration stops. */
static nb_status box_trials(lsq_problem *pb, double *x, box_work *w, box_state *st, const nb_lsq_options *opt,
                            int max_evals, bool first, nb_lsq_stop *stop)
{
    box_trial t;
    do {
        nb_status status = box_try(pb, x, w, st, opt, first, &t);
        if (status != NB_OK)
            return status;
        box_update_region(st, &t);
        if (t.ratio >= 1e-4) {
            memcpy(x, w->x_trial, (size_t)pb->n * sizeof *x);
            memcpy(w->f, w->f_trial, (size_t)pb->m * sizeof *w->f);
            st->cost = t.cost;
            st->xnorm = nb_lsq_scaled_norm(pb->n, w->diag, x, w->work);
        }
        *stop = box_stop(pb, opt, max_evals, st, &t);
        if (*stop != NB_LSQ_STOP_NONE)
            return NB_OK;
        first = false;
    } while (t.ratio < 1e-4);
    return NB_OK;
}

/* Whether the projected gradient vanishes: every free scalar's column is orthogonal to the
 * residuals (within gtol, as lsq.c's cosine). */
static bool box_stationary(int m, const box_work *w, const double *g, double gtol)
{
    double fnorm = nb_lsq_norm(m, w->fs);
    if (fnorm == 0)
        return true;
    for (int k = 0; k < w->n_free; k++) {
        int j = w->free_of[k];
        double norm = nb_lsq_norm(m, w->jac + (size_t)j * m);
        if (norm > 0 && fabs(g[j]) / (norm * fnorm) > gtol)
            return false;
    }
    return true;
}

static nb_status box_iterate(lsq_problem *pb, double *x, box_work *w, box_state *st, const nb_lsq_options *opt,
                             lsq_outcome *out)
{
    const int n = pb->n;
    int max_evals = opt->max_evals > 0 ? opt->max_evals : 400 * (n + 1);
    double *g = w->sfree; /* the gradient is used before the step overwrites it */
    for (int iter = 1;; iter++) {
        nb_status status = box_linearize(pb, x, w, st, opt, g);
        if (status != NB_OK)
            return status;
        out->iterations = iter;
        box_scale(pb->m, n, w, iter == 1);
        if (iter == 1) {
            st->xnorm = nb_lsq_scaled_norm(n, w->diag, x, w->work);
            st->delta = opt->step_bound * (st->xnorm > 0 ? st->xnorm : 1);
        }
        if (w->n_free == 0 || box_stationary(pb->m, w, g, opt->gtol)) {
            out->stop = NB_LSQ_STOP_GTOL;
            return NB_OK;
        }
        status = box_trials(pb, x, w, st, opt, max_evals, iter == 1, &out->stop);
        if (status != NB_OK || out->stop != NB_LSQ_STOP_NONE)
            return status;
    }
}

nb_status nb_lsq_box_solve(lsq_problem *pb, double *x, const double *lo, const double *hi,
                           const nb_lsq_options *opt, lsq_outcome *out)
{
    box_work w;
    if (box_alloc(pb->m, pb->n, &w) != NB_OK)
        return nb_errcode();
    out->stop = NB_LSQ_STOP_NONE;
    out->iterations = 0;
    box_state st = {.lo = lo, .hi = hi};
    bool finite;
    nb_status status = nb_lsq_evaluate(pb, x, w.f, &finite);
    if (status == NB_OK && !finite)
        status = nb_fail(NB_ENUMERIC, "the residuals are not finite at the start values");
    if (status == NB_OK) {
        st.cost = nb_lsq_cost(opt->loss, opt->f_scale > 0 ? opt->f_scale : 1, pb->m, w.f);
        if (st.cost == 0)
            out->stop = NB_LSQ_STOP_EXACT;
        else
            status = box_iterate(pb, x, &w, &st, opt, out);
    }
    box_free(&w);
    return status;
}
