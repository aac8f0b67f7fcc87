/* Least squares on a graph: Levenberg–Marquardt with Jacobians from backpropagation, a
 * direct extended-precision QR solve for linear models, and the statistics of the fit.
 *
 * The Jacobian trick: when every parameter of the fit is an input of shape [m] holding m
 * copies of one value, and the model is pointwise (row i reads element i only), one
 * backward pass seeded with ones leaves d r_i / d p_j in element i of parameter j's
 * gradient: the whole Jacobian, column by column, for the price of one backward. */
#include "fit/lsq_internal.h"

#include <float.h>
#include <math.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>

nb_lsq_options nb_lsq_defaults(void)
{
    return (nb_lsq_options){.method = NB_LSQ_AUTO, .ftol = 1e-15, .xtol = 1e-15, .gtol = 0, .max_evals = 0,
                            .step_bound = 100, .confidence = 0.95, .absolute_sigma = false};
}

const char *nb_lsq_stop_text(nb_lsq_stop stop)
{
    switch (stop) {
    case NB_LSQ_STOP_NONE: return "did not run";
    case NB_LSQ_STOP_FTOL: return "the sum of squares stopped decreasing (relative change <= ftol)";
    case NB_LSQ_STOP_XTOL: return "the step became negligible (relative to the parameters <= xtol)";
    case NB_LSQ_STOP_BOTH: return "the sum of squares and the parameters stopped changing (ftol and xtol)";
    case NB_LSQ_STOP_GTOL: return "the residuals are orthogonal to the Jacobian (<= gtol)";
    case NB_LSQ_STOP_PRECISION: return "no further progress is possible in double precision";
    case NB_LSQ_STOP_EXACT: return "every residual is zero";
    case NB_LSQ_STOP_LINEAR: return "solved directly (the model is linear in its parameters)";
    case NB_LSQ_STOP_MAX_EVALS: return "the evaluation budget ran out before convergence";
    case NB_LSQ_STOP_EPOCHS: return "ran all its epochs (L-BFGS: iterations): a gradient method stops on its budget";
    case NB_LSQ_STOP_STALLED: return "the line search could not decrease the loss";
    }
    return "unknown";
}

const char *nb_lsq_method_name(nb_lsq_method method)
{
    switch (method) {
    case NB_LSQ_AUTO: return "auto";
    case NB_LSQ_LM: return "lm";
    case NB_LSQ_LINEAR: return "linear";
    case NB_LSQ_GRADIENT: return "gradient";
    }
    return "unknown";
}

bool nb_lsq_method_is_gradient(nb_lsq_method method)
{
    return method == NB_LSQ_GRADIENT;
}

void nb_lsq_result_clear(nb_lsq_result *result)
{
    if (!result)
        return;
    if (result->names)
        for (int j = 0; j < result->n_params; j++)
            nb_free(result->names[j]);
    nb_free(result->names);
    nb_free(result->params);
    nb_free(result->std_error);
    nb_free(result->ci_low);
    nb_free(result->ci_high);
    nb_free(result->covariance);
    nb_free(result->defaulted);
    nb_free(result->fitted);
    nb_free(result->residuals);
    nb_free(result->fixed);
    nb_free(result->at_bound);
    nb_free(result->moved);
    memset(result, 0, sizeof *result);
}

/* ---- Student's t ----------------------------------------------------------------------- */

/* The continued fraction of the regularized incomplete beta function I_x(a, b), valid for
 * x < (a + 1) / (a + b + 2) (modified Lentz). */
static double beta_fraction(double a, double b, double x)
{
    const double tiny = 1e-300;
    double c = 1, d = 1 - (a + b) * x / (a + 1);
    if (fabs(d) < tiny)
        d = tiny;
    d = 1 / d;
    double h = d;
    for (int k = 1; k < 20000; k++) {
        double even = k * (b - k) * x / ((a + 2 * k - 1) * (a + 2 * k));
        d = 1 + even * d;
        c = 1 + even / c;
        d = 1 / (fabs(d) < tiny ? tiny : d);
        c = fabs(c) < tiny ? tiny : c;
        h *= d * c;
        double odd = -(a + k) * (a + b + k) * x / ((a + 2 * k) * (a + 2 * k + 1));
        d = 1 + odd * d;
        c = 1 + odd / c;
        d = 1 / (fabs(d) < tiny ? tiny : d);
        c = fabs(c) < tiny ? tiny : c;
        double step = d * c;
        h *= step;
        if (fabs(step - 1) < 1e-16)
            break;
    }
    return h;
}

/* I_x(a, b), given x and 1 - x separately (both accurate). */
static double incomplete_beta(double a, double b, double x, double one_minus_x)
{
    if (x <= 0)
        return 0;
    if (one_minus_x <= 0)
        return 1;
    double log_front = lgamma(a + b) - lgamma(a) - lgamma(b) + a * log(x) + b * log(one_minus_x);
    if (x < (a + 1) / (a + b + 2))
        return exp(log_front) * beta_fraction(a, b, x) / a;
    return 1 - exp(log_front) * beta_fraction(b, a, one_minus_x) / b;
}

/* P(T > t) for t >= 0. */
static double student_t_upper(double t, double dof)
{
    double t2 = t * t;
    return 0.5 * incomplete_beta(dof / 2, 0.5, dof / (dof + t2), t2 / (dof + t2));
}

static double student_t_solve(double p, double dof);

/* Many fits of one size (nb_fit_batch) ask for the same quantile again and again: the
 * last answer is kept per thread. */
double nb_student_t_quantile(double p, double dof)
{
    static _Thread_local double last_p = NAN, last_dof = NAN, last_t = NAN;
    if (p == last_p && dof == last_dof)
        return last_t;
    double t = student_t_solve(p, dof);
    last_p = p, last_dof = dof, last_t = t;
    return t;
}

static double student_t_solve(double p, double dof)
{
    if (!(p > 0 && p < 1) || !(dof > 0))
        return NAN;
    if (p == 0.5)
        return 0;
    if (p < 0.5)
        return -student_t_solve(1 - p, dof);
    double tail = 1 - p;
    double lo = 0, hi = 1;
    while (student_t_upper(hi, dof) > tail && hi < 1e300)
        hi *= 2;
    /* Newton's method on the tail (its derivative is minus the density), kept inside a
     * bracket that bisection shrinks whenever a Newton step would leave it. */
    double log_norm = lgamma((dof + 1) / 2) - lgamma(dof / 2) - 0.5 * log(dof * M_PI);
    double t = 0.5 * (lo + hi);
    for (int i = 0; i < 200; i++) {
        double excess = student_t_upper(t, dof) - tail;
        if (excess > 0)
            lo = t;
        else
            hi = t;
        double density = exp(log_norm - (dof + 1) / 2 * log1p(t * t / dof));
        double next = t + excess / density;
        if (!(next > lo && next < hi))
            next = 0.5 * (lo + hi);
        if (fabs(next - t) <= 2 * DBL_EPSILON * next || hi - lo <= 2 * DBL_EPSILON * hi)
            return next;
        t = next;
    }
    return t;
}

/* ---- the problem: a residual node and the leaves that hold the fit's scalars ---------- */


void nb_lsq_problem_free(lsq_problem *pb)
{
    if (pb->block != pb->local)
        nb_free(pb->block);
    pb->block = NULL;
}

static bool node_is_pointwise_input(const nb_node *node, int m)
{
    const nb_tensor *v = nb_value((nb_node *)node);
    return strcmp(nb_node_op(node), "input") == 0 && v->ndim == 1 && v->shape[0] == m;
}

/* The number of scalars the nodes hold (an [m] input holds one), checking each node;
 * pb->pointwise stays true only when every node is such an input. */
static nb_status count_scalars(lsq_problem *pb, nb_graph *graph, int64_t *n)
{
    *n = 0;
    for (int k = 0; k < pb->n_nodes; k++) {
        nb_node *node = pb->nodes[k];
        if (!node || nb_node_graph(node) != graph)
            return nb_fail(NB_EARG, "least squares: parameter node %d is NULL or from another graph", k + 1);
        if (node_is_pointwise_input(node, pb->m)) {
            if (!nb_requires_grad(node))
                return nb_fail(NB_EARG,
                               "least squares: input '%s' must be marked nb_set_requires_grad(node, true)",
                               nb_node_name(node));
            *n += 1;
        } else if (nb_is_param(node)) {
            pb->pointwise = false;
            *n += nb_value(node)->size;
        } else {
            char shape[96];
            const nb_tensor *v = nb_value(node);
            return nb_fail(NB_EARG,
                           "least squares: '%s' (%s, shape %s) is neither a parameter nor an input of shape "
                           "[%d] (one per residual)",
                           nb_node_name(node), nb_node_op(node), nb_shape_str(v->ndim, v->shape, shape, sizeof shape),
                           pb->m);
        }
    }
    return NB_OK;
}

/* The scratch of the problem and the map from scalar j to its node and element. Small
 * problems (whose whole solve is a few backward passes) also keep two Jacobians, in
 * themselves: for larger ones a backward pass is cheap beside the solve, and the heap
 * blocks for the copies cost more than it saves. */
static nb_status map_scalars(lsq_problem *pb)
{
    size_t n = (size_t)pb->n, m = (size_t)pb->m, kept = m * n;
    if (4 * n + m + 2 * kept > LSQ_PROBLEM_LOCAL)
        kept = 0;
    size_t total = 4 * n + m + 2 * kept;
    pb->block = total <= LSQ_PROBLEM_LOCAL ? pb->local : nb_alloc(total * sizeof(double));
    if (!pb->block)
        return nb_fail(NB_ENOMEM, "least squares: out of memory");
    double *next = pb->block;
    pb->node_of = (int *)nb_lsq_carve(&next, n);
    pb->elem_of = (int *)nb_lsq_carve(&next, n);
    pb->x_graph = nb_lsq_carve(&next, n);
    pb->x_kept = nb_lsq_carve(&next, n);
    pb->seed = nb_lsq_carve(&next, m);
    memset(pb->seed, 0, m * sizeof *pb->seed);
    pb->jac_kept = kept ? nb_lsq_carve(&next, kept) : NULL;
    pb->jac_next = kept ? nb_lsq_carve(&next, kept) : NULL;
    int j = 0;
    for (int k = 0; k < pb->n_nodes; k++) {
        int count = nb_is_param(pb->nodes[k]) ? (int)nb_value(pb->nodes[k])->size : 1;
        for (int e = 0; e < count; e++, j++) {
            pb->node_of[j] = k;
            pb->elem_of[j] = e;
        }
    }
    return NB_OK;
}

nb_status nb_lsq_problem_init(lsq_problem *pb, nb_node *residual, int n_nodes, nb_node *const *nodes,
                              const double *weights)
{
    memset(pb, 0, offsetof(lsq_problem, local));
    if (!residual || n_nodes < 1 || !nodes)
        return nb_fail(NB_EARG, "least squares: needs a residual node and at least one parameter node");
    nb_graph *graph = nb_node_graph(residual);
    if (nb_graph_dtype(graph) != NB_F64)
        return nb_fail(NB_EDTYPE, "least squares: the graph must be float64 (got %s)",
                       nb_dtype_name(nb_graph_dtype(graph)));
    int64_t m = nb_value(residual)->size;
    if (m > INT32_MAX / 64)
        return nb_fail(NB_EARG, "least squares: %lld residuals are too many", (long long)m);
    pb->residual = residual;
    pb->n_nodes = n_nodes;
    pb->nodes = nodes;
    pb->m = (int)m;
    pb->weights = weights;
    pb->pointwise = true;
    int64_t n;
    nb_status status = count_scalars(pb, graph, &n);
    if (status != NB_OK)
        return status;
    if (n > 100000)
        return nb_fail(NB_EARG, "least squares: %lld parameters are too many for a dense solver", (long long)n);
    pb->n = (int)n;
    return map_scalars(pb);
}

static void set_point(lsq_problem *pb, const double *x)
{
    for (int j = 0; j < pb->n; j++) {
        nb_node *node = pb->nodes[pb->node_of[j]];
        double *value = nb_value(node)->data;
        if (nb_is_param(node)) {
            value[pb->elem_of[j]] = x[j];
        } else {
            for (int i = 0; i < pb->m; i++)
                value[i] = x[j];
        }
    }
}

/* Whether x[n] are all finite, by integer operations that the compiler vectorises: a
 * double's exponent field is all ones only for infinities and NaN, and adding one to the
 * field carries into the sign bit exactly then. */
static bool all_finite(size_t n, const double *x)
{
    uint64_t carries = 0;
    for (size_t i = 0; i < n; i++) {
        uint64_t bits;
        memcpy(&bits, &x[i], sizeof bits);
        carries |= (bits & 0x7FF0000000000000u) + 0x0010000000000000u;
    }
    return (carries >> 63) == 0;
}

/* out[m] := w v elementwise (w NULL: ones); whether they are all finite. */
static bool weigh(int m, const double *w, const double *v, double *out)
{
    if (w) {
        for (int i = 0; i < m; i++)
            out[i] = w[i] * v[i];
    } else {
        memcpy(out, v, (size_t)m * sizeof *out);
    }
    return all_finite((size_t)m, out);
}

/* f := the weighted residuals from the residual node's values. */
static bool read_residuals(const lsq_problem *pb, double *f)
{
    const double *v = nb_value(pb->residual)->data, *y = pb->offset, *w = pb->weights;
    if (!y)
        return weigh(pb->m, w, v, f);
    for (int i = 0; i < pb->m; i++) /* as the graph would subtract: v - y, then times w */
        f[i] = w ? w[i] * (v[i] - y[i]) : v[i] - y[i];
    return all_finite((size_t)pb->m, f);
}

/* f := weighted residuals at x. *finite tells whether they all are. */
nb_status nb_lsq_evaluate(lsq_problem *pb, const double *x, double *f, bool *finite)
{
    set_point(pb, x);
    nb_status status = nb_forward(pb->residual);
    if (status != NB_OK)
        return status;
    pb->n_evals++;
    memcpy(pb->x_graph, x, (size_t)pb->n * sizeof *x);
    pb->have_graph_point = true;
    *finite = read_residuals(pb, f);
    return NB_OK;
}

nb_status nb_lsq_values_at(lsq_problem *pb, const double *x, double *f, bool *finite)
{
    if (!pb->have_graph_point || memcmp(pb->x_graph, x, (size_t)pb->n * sizeof *x) != 0)
        return nb_lsq_evaluate(pb, x, f, finite);
    *finite = read_residuals(pb, f);
    return NB_OK;
}

nb_status nb_lsq_first_values(lsq_problem *pb, const double *x, double *f, bool *finite)
{
    int evals = pb->n_evals;
    nb_status status = nb_lsq_values_at(pb, x, f, finite);
    pb->n_evals = evals + 1;
    return status;
}

/* The pointwise case: one backward pass seeded with ones leaves column j of the Jacobian
 * in the gradient of scalar j's input. */
static nb_status jacobian_pointwise(lsq_problem *pb, nb_graph *graph, double *jac)
{
    int m = pb->m, n = pb->n;
    nb_zero_grad(graph);
    nb_status status = nb_backward_seed(pb->residual, NULL);
    if (status != NB_OK)
        return status;
    for (int j = 0; j < n; j++)
        weigh(m, pb->weights, nb_grad(pb->nodes[pb->node_of[j]])->data, jac + (size_t)j * m);
    return NB_OK;
}

/* The general case: one backward pass per residual gives row i of the Jacobian. */
static nb_status jacobian_by_rows(lsq_problem *pb, nb_graph *graph, double *jac)
{
    int m = pb->m, n = pb->n;
    for (int i = 0; i < m; i++) {
        pb->seed[i] = 1;
        nb_zero_grad(graph);
        nb_status status = nb_backward_seed(pb->residual, pb->seed);
        pb->seed[i] = 0;
        if (status != NB_OK)
            return status;
        double w = pb->weights ? pb->weights[i] : 1;
        for (int j = 0; j < n; j++) {
            nb_node *node = pb->nodes[pb->node_of[j]];
            const double *grad = nb_grad(node)->data;
            double d;
            if (nb_is_param(node)) {
                d = grad[pb->elem_of[j]];
            } else {
                d = 0;
                for (int k = 0; k < m; k++)
                    d += grad[k];
            }
            jac[i + (size_t)j * m] = w * d;
        }
    }
    return NB_OK;
}

void nb_lsq_keep_jacobian(lsq_problem *pb, const double *x)
{
    if (!pb->jac_kept)
        return;
    double *t = pb->jac_kept;
    pb->jac_kept = pb->jac_next;
    pb->jac_next = t;
    memcpy(pb->x_kept, x, (size_t)pb->n * sizeof *x);
    pb->have_kept = true;
}

/* jac (m x n, column-major) := d f / d x at x, by backpropagation. *finite as above. A
 * Jacobian kept at x is that same Jacobian, and counts as computed (it was, once). */
nb_status nb_lsq_jacobian(lsq_problem *pb, const double *x, double *f_scratch, double *jac, bool *finite)
{
    if (pb->have_kept && memcmp(pb->x_kept, x, (size_t)pb->n * sizeof *x) == 0) {
        memcpy(jac, pb->jac_kept, (size_t)pb->m * pb->n * sizeof *jac);
        pb->n_jacobians++;
        *finite = true;
        return NB_OK;
    }
    if (!pb->have_graph_point || memcmp(pb->x_graph, x, (size_t)pb->n * sizeof *x) != 0) {
        bool values_finite;
        nb_status status = nb_lsq_evaluate(pb, x, f_scratch, &values_finite);
        if (status != NB_OK)
            return status;
    }
    nb_graph *graph = nb_node_graph(pb->residual);
    nb_status status = pb->pointwise ? jacobian_pointwise(pb, graph, jac) : jacobian_by_rows(pb, graph, jac);
    if (status != NB_OK)
        return status;
    pb->n_jacobians++;
    *finite = all_finite((size_t)pb->m * pb->n, jac);
    return NB_OK;
}

/* ---- Levenberg–Marquardt --------------------------------------------------------------- */

/* Small fits (a batch fits thousands) keep their scratch on the stack: no allocation. */
#define LM_LOCAL 512

typedef struct lm_work {
    double *f, *f_trial, *jac, *qtf, *diag, *rdiag, *col_norm, *step, *x_trial, *x_prev, *f_prev, *work;
    int *perm;
    double *block; /* all of the above: local, or the heap when too large for it */
    double local[LM_LOCAL];
} lm_work;

static void lm_work_free(lm_work *w)
{
    if (w->block != w->local)
        nb_free(w->block);
}

static nb_status lm_work_alloc(int m, int n, lm_work *w)
{
    size_t mm = (size_t)m, nn = (size_t)n, wide = mm > 4 * nn ? mm : 4 * nn;
    size_t total = 3 * mm + mm * nn + 8 * nn + wide; /* perm counted as n doubles */
    w->block = total <= LM_LOCAL ? w->local : nb_alloc(total * sizeof(double));
    if (!w->block)
        return nb_fail(NB_ENOMEM, "least squares: out of memory for %d residuals and %d parameters", m, n);
    double *next = w->block;
    w->f = nb_lsq_carve(&next, mm);
    w->f_trial = nb_lsq_carve(&next, mm);
    w->f_prev = nb_lsq_carve(&next, mm);
    w->jac = nb_lsq_carve(&next, mm * nn);
    w->work = nb_lsq_carve(&next, wide);
    double **vectors[] = {&w->qtf, &w->diag, &w->rdiag, &w->col_norm, &w->step, &w->x_trial, &w->x_prev};
    for (size_t k = 0; k < sizeof vectors / sizeof *vectors; k++)
        *vectors[k] = nb_lsq_carve(&next, nn);
    w->perm = (int *)nb_lsq_carve(&next, nn);
    return NB_OK;
}

/* Residual vectors change roles (trial, current, previous) by swapping pointers. */
static void swap(double **a, double **b)
{
    double *t = *a;
    *a = *b;
    *b = t;
}

/* The pivoted QR of the Jacobian in w->jac and qtf = (Qᵀ f)[0:n], with R (diagonal
 * included) left in the upper triangle of w->jac. */
static void factor(int m, int n, lm_work *w)
{
    nb_lsq_qr(m, n, w->jac, w->perm, w->rdiag, w->col_norm, w->work);
    memcpy(w->work, w->f, (size_t)m * sizeof *w->f);
    nb_lsq_qr_apply_qt(m, n, w->jac, w->work);
    for (int j = 0; j < n; j++) {
        w->qtf[j] = w->work[j];
        w->jac[j + (size_t)j * m] = w->rdiag[j]; /* R's diagonal back in place */
    }
}

/* J at x and its factorisation (see factor); a copy of J in pb->jac_next when small. */
static nb_status linearize(lsq_problem *pb, const double *x, lm_work *w, bool *finite)
{
    nb_status status = nb_lsq_jacobian(pb, x, w->f_trial, w->jac, finite);
    if (status != NB_OK || !*finite)
        return status;
    if (pb->jac_next)
        memcpy(pb->jac_next, w->jac, (size_t)pb->m * pb->n * sizeof *w->jac);
    factor(pb->m, pb->n, w);
    return NB_OK;
}

/* After convergence: Gauss–Newton steps, judged by their size rather than by the sum of
 * squares. Near the minimum the sum of squares changes by less than its own rounding
 * error while the parameters may still be off in their 7th digit along a flat
 * direction; the Gauss–Newton step -J⁺f, linear in that error, still sees it. The size
 * of the step from a point estimates its distance to the minimum, so the point with the
 * smallest step is kept, and a step that raises the sum of squares beyond rounding ends
 * the polish. */
static nb_status polish(lsq_problem *pb, double *x, lm_work *w, double *fnorm, int *iterations)
{
    const int m = pb->m, n = pb->n;
    const int max_steps = 10;
    /* The sum of squares may rise by its rounding noise, never by more than that and a
     * small fraction of itself: larger rises mean the linearisation no longer holds. */
    const double fnorm_limit = *fnorm * (1 + 1e-4) + 16 * DBL_EPSILON * pb->value_norm;
    double best_size = INFINITY;
    nb_status status = NB_OK;
    bool finite;
    memcpy(w->x_prev, x, (size_t)n * sizeof *x);
    for (int k = 0; k < max_steps; k++) {
        if ((status = linearize(pb, x, w, &finite)) != NB_OK || !finite)
            break;
        double par = 0;
        nb_lsq_lm_step(n, w->jac, m, w->perm, w->diag, w->qtf, INFINITY, &par, w->step, w->work);
        double size = nb_lsq_scaled_norm(n, w->diag, w->step, w->work);
        if (!(size < best_size))
            break;
        best_size = size;
        memcpy(w->x_prev, x, (size_t)n * sizeof *x);
        nb_lsq_keep_jacobian(pb, x); /* the statistics at the end need it */
        double xnorm = nb_lsq_scaled_norm(n, w->diag, x, w->work);
        if (size <= 2 * DBL_EPSILON * xnorm)
            break;
        for (int j = 0; j < n; j++)
            w->x_trial[j] = x[j] - w->step[j];
        if ((status = nb_lsq_evaluate(pb, w->x_trial, w->f_trial, &finite)) != NB_OK || !finite)
            break;
        double fnorm1 = nb_lsq_norm(m, w->f_trial);
        if (!(fnorm1 <= fnorm_limit))
            break;
        memcpy(x, w->x_trial, (size_t)n * sizeof *x);
        swap(&w->f, &w->f_trial);
        *fnorm = fnorm1;
        ++*iterations;
    }
    memcpy(x, w->x_prev, (size_t)n * sizeof *x);
    return status;
}

#define DIAG_FLOOR 1e-8

/* Where the trust-region iteration stands. */
typedef struct lm_state {
    double fnorm;      /* |f| at x */
    double fnorm_prev; /* |f| at w->x_prev */
    double delta;      /* the trust radius */
    double xnorm;      /* |D x| */
    double par;        /* the Levenberg–Marquardt parameter */
    double gnorm;      /* the largest cosine between f and a column of J */
    bool have_prev;    /* w->x_prev holds the last point whose Jacobian was finite */
} lm_state;

/* One trial step from x and how its actual reduction of the sum of squares compares
 * with the reduction the linear model predicts. */
typedef struct lm_trial {
    double fnorm; /* |f| at x + step; INFINITY where the model is not finite */
    double pnorm; /* |D step| */
    double actred, prered, dirder, ratio;
} lm_trial;

/* f and |f| at the start; NB_ENUMERIC, naming the first residual that is not finite. */
static nb_status lm_start(lsq_problem *pb, const double *x, lm_work *w, lm_state *st)
{
    bool finite;
    nb_status status = nb_lsq_first_values(pb, x, w->f, &finite);
    if (status != NB_OK)
        return status;
    if (!finite) {
        int row = 0;
        while (row < pb->m && isfinite(w->f[row]))
            row++;
        return nb_fail(NB_ENUMERIC, "the residuals are not finite at the start values (residual %d is %g)",
                       row + 1, w->f[row]);
    }
    *st = (lm_state){.fnorm = nb_lsq_norm(pb->m, w->f)};
    st->fnorm_prev = st->fnorm;
    return NB_OK;
}

/* J at x. Where it is not finite, step back to the last point whose Jacobian was finite,
 * with a smaller region. */
static nb_status lm_jacobian(lsq_problem *pb, double *x, lm_work *w, lm_state *st)
{
    bool finite;
    nb_status status = nb_lsq_jacobian(pb, x, w->f_trial, w->jac, &finite);
    if (status != NB_OK || finite)
        return status;
    if (!st->have_prev)
        return nb_fail(NB_ENUMERIC, "the Jacobian is not finite at the start values");
    memcpy(x, w->x_prev, (size_t)pb->n * sizeof *x);
    swap(&w->f, &w->f_prev);
    st->fnorm = st->fnorm_prev;
    st->delta *= 0.25;
    st->have_prev = false;
    return nb_lsq_jacobian(pb, x, w->f_trial, w->jac, &finite);
}

/* MINPACK's scaling by the column norms, with a floor: a parameter the model barely
 * reacts to at the start (a column 1e-20 of the others) would otherwise be allowed
 * astronomic steps, every one of them overflowing. Sets the first trust radius. */
static void lm_initial_scale(int n, const double *x, const nb_lsq_options *opt, lm_work *w, lm_state *st)
{
    double largest = 0;
    for (int j = 0; j < n; j++)
        largest = fmax(largest, w->col_norm[j]);
    for (int j = 0; j < n; j++)
        w->diag[j] = w->col_norm[j] > DIAG_FLOOR * largest ? w->col_norm[j]
                     : largest > 0                         ? DIAG_FLOOR * largest
                                                           : 1;
    st->xnorm = nb_lsq_scaled_norm(n, w->diag, x, w->work);
    st->delta = opt->step_bound * st->xnorm;
    if (st->delta == 0)
        st->delta = opt->step_bound;
}

/* The largest cosine between f and a column of J: zero at a stationary point. */
static double gradient_cosine(int m, int n, const lm_work *w, double fnorm)
{
    double gnorm = 0;
    for (int j = 0; j < n; j++) {
        int l = w->perm[j];
        if (w->col_norm[l] == 0)
            continue;
        double sum = 0;
        for (int i = 0; i <= j; i++)
            sum += w->jac[i + (size_t)j * m] * (w->qtf[i] / fnorm);
        gnorm = fmax(gnorm, fabs(sum / w->col_norm[l]));
    }
    return gnorm;
}

/* The actual reduction against the one the linear model predicts, |J step|² + 2 par |D step|². */
static void lm_compare(int m, int n, lm_work *w, const lm_state *st, lm_trial *t)
{
    double fnorm = st->fnorm;
    t->actred = 0.1 * t->fnorm < fnorm ? 1 - (t->fnorm / fnorm) * (t->fnorm / fnorm) : -1;
    for (int j = 0; j < n; j++) {
        w->work[j] = 0;
        double s = w->step[w->perm[j]];
        for (int i = 0; i <= j; i++)
            w->work[i] += w->jac[i + (size_t)j * m] * s;
    }
    double t1 = nb_lsq_norm(n, w->work) / fnorm;
    double t2 = sqrt(st->par) * t->pnorm / fnorm;
    t->prered = t1 * t1 + t2 * t2 / 0.5;
    t->dirder = -(t1 * t1 + t2 * t2);
    t->ratio = t->prered != 0 ? t->actred / t->prered : 0;
}

/* The step for the current region into w->x_trial, and the model there. In the first
 * iteration the region never exceeds the first step. */
static nb_status lm_try(lsq_problem *pb, const double *x, lm_work *w, lm_state *st, bool first, lm_trial *t)
{
    const int m = pb->m, n = pb->n;
    nb_lsq_lm_step(n, w->jac, m, w->perm, w->diag, w->qtf, st->delta, &st->par, w->step, w->work);
    for (int j = 0; j < n; j++) {
        w->step[j] = -w->step[j];
        w->x_trial[j] = x[j] + w->step[j];
    }
    t->pnorm = nb_lsq_scaled_norm(n, w->diag, w->step, w->work);
    if (first)
        st->delta = fmin(st->delta, t->pnorm);
    bool finite;
    nb_status status = nb_lsq_evaluate(pb, w->x_trial, w->f_trial, &finite);
    if (status != NB_OK)
        return status;
    t->fnorm = finite ? nb_lsq_norm(m, w->f_trial) : INFINITY;
    lm_compare(m, n, w, st, t);
    return NB_OK;
}

/* Moré's update of the trust radius and of par from how well the model predicted. */
static void lm_update_region(lm_state *st, const lm_trial *t)
{
    if (t->ratio <= 0.25) {
        double shrink = t->actred >= 0 ? 0.5 : 0.5 * t->dirder / (t->dirder + 0.5 * t->actred);
        if (0.1 * t->fnorm >= st->fnorm || shrink < 0.1)
            shrink = 0.1;
        st->delta = shrink * fmin(st->delta, t->pnorm / 0.1);
        st->par /= shrink;
    } else if (st->par == 0 || t->ratio >= 0.75) {
        st->delta = t->pnorm / 0.5;
        st->par *= 0.5;
    }
}

/* Move to the trial point, keeping the current one to step back to. */
static void lm_accept(int n, double *x, lm_work *w, lm_state *st, const lm_trial *t)
{
    memcpy(w->x_prev, x, (size_t)n * sizeof *x);
    swap(&w->f_prev, &w->f); /* f_prev := f, f := f_trial, without copying */
    swap(&w->f, &w->f_trial);
    st->fnorm_prev = st->fnorm;
    st->have_prev = true;
    memcpy(x, w->x_trial, (size_t)n * sizeof *x);
    st->xnorm = nb_lsq_scaled_norm(n, w->diag, x, w->work);
    st->fnorm = t->fnorm;
}

/* Why the iteration stops after this trial; NB_LSQ_STOP_NONE when it goes on. */
static nb_lsq_stop lm_stop(const lsq_problem *pb, const nb_lsq_options *opt, int max_evals, const lm_state *st,
                           const lm_trial *t)
{
    const double eps = DBL_EPSILON;
    bool f_converged = fabs(t->actred) <= opt->ftol && t->prered <= opt->ftol && 0.5 * t->ratio <= 1;
    bool x_converged = st->delta <= opt->xtol * st->xnorm;
    if (f_converged || x_converged)
        return f_converged && x_converged ? NB_LSQ_STOP_BOTH : f_converged ? NB_LSQ_STOP_FTOL : NB_LSQ_STOP_XTOL;
    if (pb->n_evals >= max_evals)
        return NB_LSQ_STOP_MAX_EVALS;
    if ((fabs(t->actred) <= eps && t->prered <= eps && 0.5 * t->ratio <= 1) || st->delta <= eps * st->xnorm ||
        st->gnorm <= eps)
        return NB_LSQ_STOP_PRECISION;
    return NB_LSQ_STOP_NONE;
}

/* Trials from one linearisation, the region shrinking until a step reduces the sum of
 * squares enough or the iteration stops (*stop says why). */
static nb_status lm_trials(lsq_problem *pb, double *x, lm_work *w, lm_state *st, const nb_lsq_options *opt,
                           int max_evals, bool first, nb_lsq_stop *stop)
{
    lm_trial t;
    do {
        nb_status status = lm_try(pb, x, w, st, first, &t);
        if (status != NB_OK)
            return status;
        lm_update_region(st, &t);
        if (t.ratio >= 1e-4) { /* a successful step */
            lm_accept(pb->n, x, w, st, &t);
            if (st->fnorm == 0) {
                *stop = NB_LSQ_STOP_EXACT;
                return NB_OK;
            }
        }
        *stop = lm_stop(pb, opt, max_evals, st, &t);
        if (*stop != NB_LSQ_STOP_NONE)
            return NB_OK;
    } while (t.ratio < 1e-4);
    return NB_OK;
}

/* The outer iterations: linearise at x, stop at a stationary point, else try steps. */
static nb_status lm_iterate(lsq_problem *pb, double *x, lm_work *w, lm_state *st, const nb_lsq_options *opt,
                            lsq_outcome *out)
{
    const int m = pb->m, n = pb->n;
    int max_evals = opt->max_evals > 0 ? opt->max_evals : 400 * (n + 1);
    for (int iter = 1;; iter++) {
        nb_status status = lm_jacobian(pb, x, w, st);
        if (status != NB_OK)
            return status;
        out->iterations = iter;
        factor(m, n, w);
        if (iter == 1)
            lm_initial_scale(n, x, opt, w, st);
        st->gnorm = gradient_cosine(m, n, w, st->fnorm);
        if (st->gnorm <= opt->gtol) {
            out->stop = NB_LSQ_STOP_GTOL;
            return NB_OK;
        }
        for (int j = 0; j < n; j++)
            w->diag[j] = fmax(w->diag[j], w->col_norm[j]);
        status = lm_trials(pb, x, w, st, opt, max_evals, iter == 1, &out->stop);
        if (status != NB_OK || out->stop != NB_LSQ_STOP_NONE)
            return status;
    }
}

/* MINPACK's scaled trust-region Levenberg–Marquardt (Moré 1978), with two additions: a
 * trial point where the model is not finite counts as a failed step (the region
 * shrinks), and a point where the Jacobian is not finite is stepped back from. x holds
 * the start on entry (already checked finite) and the solution on exit. */
nb_status nb_lsq_lm_solve(lsq_problem *pb, double *x, const nb_lsq_options *opt, lsq_outcome *out)
{
    lm_work w;
    if (lm_work_alloc(pb->m, pb->n, &w) != NB_OK)
        return nb_errcode();
    out->stop = NB_LSQ_STOP_NONE;
    out->iterations = 0;
    lm_state st;
    nb_status status = lm_start(pb, x, &w, &st);
    if (status == NB_OK && st.fnorm == 0)
        out->stop = NB_LSQ_STOP_EXACT;
    else if (status == NB_OK)
        status = lm_iterate(pb, x, &w, &st, opt, out);
    if (status == NB_OK && out->stop != NB_LSQ_STOP_MAX_EVALS && out->stop != NB_LSQ_STOP_EXACT &&
        out->stop != NB_LSQ_STOP_NONE)
        status = polish(pb, x, &w, &st.fnorm, &out->iterations);
    lm_work_free(&w);
    return status;
}

