/* Private to the least-squares files: the dense linear algebra of Levenberg–Marquardt
 * (lsq_linalg.c) and the solver core shared by the formula and graph entry points.
 *
 * Matrices are column-major: element (i, j) of an m x n matrix a is a[i + j * m]. */
#ifndef NABLA_LSQ_INTERNAL_H
#define NABLA_LSQ_INTERNAL_H

#include "core/core.h"

#include <math.h>

#include "nabla/fit.h"

/* The next `count` doubles of a block of scratch that the caller sized for them all (ints
 * and bools take a double each, which keeps every piece aligned). */
static inline double *nb_lsq_carve(double **next, size_t count)
{
    double *start = *next;
    *next += count;
    return start;
}

/* A small problem keeps its scratch in itself (on its caller's stack): a batch of small
 * fits then allocates none of it. */
#define LSQ_PROBLEM_LOCAL 512

/* The problem: a residual node and the leaves that hold the fit's scalars. */
typedef struct lsq_problem {
    nb_node *residual;
    int n_nodes;
    nb_node *const *nodes;
    int n;     /* scalars of the fit */
    int m;     /* residuals */
    const double *weights;
    const double *offset; /* the residuals are weights (node - offset); NULL: no offset */
    bool pointwise; /* every node is an [m] input: one backward gives the Jacobian */
    int *node_of, *elem_of;
    double *seed;   /* one-hot seeds (general case) */
    double *x_graph; /* the point of the graph's last forward */
    bool have_graph_point;
    int n_evals, n_jacobians;
    double value_norm; /* |w y|: rounding in the residuals is about eps times this */
    double *block;     /* node_of, elem_of, seed, x_graph and the kept Jacobians */
    /* The Jacobian at x_kept, for the statistics at the point where the solver ended
     * (jac_kept NULL: too large to keep); jac_next, the one polish is trying. */
    double *jac_kept, *jac_next, *x_kept;
    bool have_kept;
    double local[LSQ_PROBLEM_LOCAL]; /* the block, when small (last: init clears what is above) */
} lsq_problem;

/* Check the nodes and map the scalars (lsq.c); nb_lsq_problem_free releases the maps. */
nb_status nb_lsq_problem_init(lsq_problem *pb, nb_node *residual, int n_nodes, nb_node *const *nodes,
                              const double *weights);
void nb_lsq_problem_free(lsq_problem *pb);

/* f := weighted residuals at x (all n scalars). *finite tells whether they all are. */
nb_status nb_lsq_evaluate(lsq_problem *pb, const double *x, double *f, bool *finite);
/* nb_lsq_evaluate, unless the graph's values are already those of x (no evaluation counted). */
nb_status nb_lsq_values_at(lsq_problem *pb, const double *x, double *f, bool *finite);
/* Keep the Jacobian of jac_next (the copy polish made) as the one at x. */
void nb_lsq_keep_jacobian(lsq_problem *pb, const double *x);
/* nb_lsq_values_at, counted as an evaluation either way: a solver's start, whose values
 * the graph may hold already from its caller's run there (an evaluation all the same). */
nb_status nb_lsq_first_values(lsq_problem *pb, const double *x, double *f, bool *finite);
/* jac (m x n, column-major) := d f / d x at x, by backpropagation; f_scratch gets f when the
 * graph has to be run first. */
nb_status nb_lsq_jacobian(lsq_problem *pb, const double *x, double *f_scratch, double *jac, bool *finite);

/* a[n] · b[n] with four partial sums: independent chains the CPU can overlap (the
 * compiler may not reorder a floating-point sum by itself). Inline, as the norms below:
 * a small fit calls them hundreds of times on vectors of a few elements. */
static inline double nb_lsq_dot(int n, const double *a, const double *b)
{
    double s0 = 0, s1 = 0, s2 = 0, s3 = 0;
    int i = 0;
    for (; i + 4 <= n; i += 4) {
        s0 += a[i] * b[i];
        s1 += a[i + 1] * b[i + 1];
        s2 += a[i + 2] * b[i + 2];
        s3 += a[i + 3] * b[i + 3];
    }
    for (; i < n; i++)
        s0 += a[i] * b[i];
    return (s0 + s1) + (s2 + s3);
}

/* The norm of x[n] computed on the scale of its largest element (lsq_linalg.c). */
double nb_lsq_norm_rescaled(int n, const double *x);

/* Euclidean norm of x[n], safe from overflow and underflow: the plain sum of squares,
 * rescaled only where that overflows or underflows. */
static inline double nb_lsq_norm(int n, const double *x)
{
    double sum = nb_lsq_dot(n, x, x);
    if (isfinite(sum) && sum > 1e-290)
        return sqrt(sum);
    return nb_lsq_norm_rescaled(n, x);
}

/* |diag * x| (elementwise product), with work as scratch of n values. */
static inline double nb_lsq_scaled_norm(int n, const double *diag, const double *x, double *work)
{
    for (int j = 0; j < n; j++)
        work[j] = diag[j] * x[j];
    return nb_lsq_norm(n, work);
}

/* Householder QR with column pivoting of a (m x n, m >= n): on return the strict upper
 * triangle of a holds R without its diagonal, which is in rdiag; the lower trapezoid holds
 * the Householder vectors; a(:, perm[j]) of the input is column j of Q·R. col_norm gets
 * the input's column norms. work: n doubles. */
void nb_lsq_qr(int m, int n, double *a, int *perm, double *rdiag, double *col_norm, double *work);
/* b[m] := Qᵀ b, with the Householder vectors that nb_lsq_qr left in a. */
void nb_lsq_qr_apply_qt(int m, int n, const double *a, double *b);

/* The Levenberg–Marquardt step for the trust radius delta (Moré 1978): given R (n x n
 * upper triangle of r, leading dimension ldr, diagonal included), the pivoting, the
 * scaling diag and qtb = (Qᵀ f)[0:n], find par >= 0 and step x solving
 *   min |J x + f|² + par |D x|²   with |D x| close to delta (or par = 0 inside).
 * par is the caller's estimate on entry and the result on exit. The strict lower triangle
 * of r is overwritten. work: 4 n doubles. */
void nb_lsq_lm_step(int n, double *r, int ldr, const int *perm, const double *diag, const double *qtb,
                 double delta, double *par, double *x, double *work);

/* Linear least squares in long double: min |a x - b| for a (m x n, column-major, m >= n),
 * with columns scaled by powers of two, pivoted Householder QR and iterative refinement
 * of the residual. Fills x[n]; `cov_unscaled` (n x n row-major, may be NULL) gets
 * (aᵀa)⁻¹. rank gets the numerical rank (columns beyond it are left at zero).
 * Returns NB_ENOMEM on failure. */
nb_status nb_lsq_linear_solve(int m, int n, const double *a, const double *b, double *x, double *cov_unscaled,
                           int *rank);

/* (JᵀJ)⁻¹ for J (m x n, column-major), from a pivoted QR of J with unit-norm columns:
 * cov (n x n, row-major). rank gets the numerical rank; when rank < n, `dependent` gets
 * a column that is (numerically) a combination of the others, and `involved` (n flags,
 * may be NULL) marks it and the columns of that combination. NB_ENOMEM or NB_OK. */
nb_status nb_lsq_inverse_normal(int m, int n, const double *jac, double *cov, int *rank, int *dependent,
                                bool *involved);

/* What a caller knows of its residuals: they are weights (node - offset), each m values
 * or NULL (the node's values as they are), so that the graph need not subtract the
 * response (nor run that subtraction backwards); value_norm, the size |w y| of the values
 * the residuals are differences of (0 when unknown): below eps times it the sum of
 * squares cannot resolve a change; at_start, whether the graph's values are those of the
 * start already (the caller ran it there), so that the first evaluation reads them. */
typedef struct lsq_data {
    const double *weights, *offset;
    double value_norm;
    bool at_start;
} lsq_data;

/* nb_lsq_fit_graph with what the caller knows (data may be NULL: nothing). */
nb_status nb_lsq_fit(nb_node *residual, int n_nodes, nb_node *const *params, const double *start,
                     const lsq_data *data, const nb_lsq_options *options, nb_lsq_result *result);

/* How a solver run ended. */
typedef struct lsq_outcome {
    int iterations;
    nb_lsq_stop stop;
} lsq_outcome;

/* MINPACK's Levenberg–Marquardt (lsq.c), with the final Gauss–Newton polish: x holds the
 * start (finite residuals) on entry and the solution on exit. */
nb_status nb_lsq_lm_solve(lsq_problem *pb, double *x, const nb_lsq_options *opt, lsq_outcome *out);

/* lsq_robust.c: rho(z), rho'(z), rho''(z) of a loss; the cost f_scale² Σ rho(f²/f_scale²) / 2
 * (|f|² / 2 for the linear loss); and the rescaling of f (m) and the rows of jac (m x n,
 * column-major) after which |f + J s|² / 2 models the robust cost (SciPy's). */
void nb_lsq_rho(nb_lsq_loss loss, double z, double rho[3]);
double nb_lsq_cost(nb_lsq_loss loss, double f_scale, int m, const double *f);
void nb_lsq_robust_scale(nb_lsq_loss loss, double f_scale, int m, int n, double *f, double *jac);

/* lsq_bounds.c: the projected active-set trust-region Levenberg–Marquardt for lo <= x <=
 * hi (n each; lo[j] == hi[j] holds scalar j) and the options' loss. x: the start, inside
 * the box, on entry; the solution on exit. */
nb_status nb_lsq_box_solve(lsq_problem *pb, double *x, const double *lo, const double *hi,
                           const nb_lsq_options *opt, lsq_outcome *out);

/* lsq_stats.c: the result's arrays and names for the problem's scalars (starts = 1). */
nb_status nb_lsq_result_alloc(nb_lsq_result *result, const lsq_problem *pb);

/* The rank of the Jacobian at x over the estimated scalars (all when `estimated` is NULL):
 * rank of `estimated` columns; when short, `dependent` is a scalar that the others make
 * redundant and involved (n flags, the caller's) marks it and them. cov (n x n) gets
 * (JᵀJ)⁻¹ over the estimated scalars, NaN elsewhere. jac: m x n scratch. */
typedef struct lsq_rank {
    int rank, estimated, dependent;
    bool *involved;
} lsq_rank;
nb_status nb_lsq_rank_at(lsq_problem *pb, const double *x, const bool *estimated, double *jac, double *f_scratch,
                         double *cov, lsq_rank *rank);

/* Sum of squares, cost, covariance, standard errors and intervals at x into result (whose
 * fixed and at_bound flags say which scalars are estimated); cov_given: the linear
 * solve's (JᵀJ)⁻¹, or NULL to compute it. Fails on a singular Jacobian, naming the
 * parameters involved, unless tolerate_singular (then they are NaN). */
nb_status nb_lsq_finish_statistics(lsq_problem *pb, const double *x, double *jac, double *f_scratch,
                                   const double *cov_given, const nb_lsq_options *opt, bool tolerate_singular,
                                   nb_lsq_result *result);

/* lsq_solve.c: the box of a fit: lo and hi (n each) from the options' bounds, held
 * scalars at lo = hi = start; x gets the start moved inside (result->moved and
 * result->fixed set); *boxed tells whether the box solver is needed (a bound, a held
 * scalar or a robust loss). NB_EARG for bounds that cross or every scalar held. */
nb_status nb_lsq_make_box(const nb_lsq_options *opt, int n, const double *start, nb_lsq_result *result, double *lo,
                          double *hi, double *x, bool *boxed);
/* Start number `index` of a multi-start fit (0: x0 itself), drawn from the options' seed
 * and the index alone (so any thread may draw it) into x. */
void nb_lsq_draw_start(const nb_lsq_options *opt, int n, const double *lo, const double *hi, const double *x0,
                       int index, double *x);
/* The relative cost within which a start counts as having reached the best. */
#define NB_LSQ_START_TOL 1e-6

/* The options' values are in range (NB_EARG with a message otherwise). */
nb_status nb_lsq_check_options(const nb_lsq_options *options);

/* Fill `result` with the statistics of the point x (n scalars, laid out as for
 * nb_lsq_fit_graph): the sum of squares, the covariance from the autodiff Jacobian,
 * standard errors and intervals. For a point found by other means (a gradient method),
 * which is reported as it is: where the Jacobian is singular the covariance, standard
 * errors and intervals are NaN. The caller sets method, stop, iterations and evaluations. */
nb_status nb_lsq_statistics_at(nb_node *residual, int n_nodes, nb_node *const *params, const double *x,
                               const lsq_data *data, const nb_lsq_options *options, nb_lsq_result *result);

/* Fill result's log-likelihood, AIC, AICc and BIC from its sum of squares, points and
 * parameters, and the weights (m of them, or NULL) that the fit multiplied its residuals
 * by (fit_stats.c). */
void nb_lsq_information(nb_lsq_result *result, const double *weights);

/* A graph of a formula for tables of m points, kept by a thread of a batch of fits and
 * refilled with each table's data (rebuilt when m changes). Zero-initialised before use.
 * residual is the model itself, the response subtracted outside the graph, unless the
 * model is no operation of m values (then residual = model - response, an input). */
typedef struct fit_graph {
    nb_graph *graph;
    int m;
    nb_node **columns, **params, *response, *residual;
} fit_graph;
void nb_fit_graph_free(fit_graph *graph);

/* nb_fit_formula with the formula parsed already (the expression is only read) and
 * options checked; with `shared` (may be NULL) the fit runs on that graph. */
nb_status nb_fit_parsed(const nb_expr *expr, const nb_table *data, const nb_fit_setup *setup,
                        const nb_lsq_options *options, fit_graph *shared, nb_lsq_result *result);

/* What a gradient method did. */
typedef struct lsq_gradient_run {
    int epochs;     /* passes over the data (L-BFGS: iterations) */
    int iterations; /* updates of the parameters */
    int n_evals;    /* loss and gradient evaluations, each on a batch */
    double lr;      /* the learning rate used */
    int64_t batch;  /* points per step */
    nb_lsq_stop stop;
} lsq_gradient_run;

/* Minimise the mean of (weights[i] (model_i - y[i]))² over batches of points with
 * nb_train and the optimizer options->optim, from start; x gets the end point (n_params
 * values in the formula's order). NB_ENUMERIC when the loss or a parameter stops being
 * finite. */
nb_status nb_lsq_gradient_fit(const nb_expr *expr, const nb_table *data, const double *y, const double *weights,
                           const double *start, const nb_lsq_options *options, double *x, lsq_gradient_run *run);

#endif
