/* nabla fit: the formula language and least squares (Levenberg-Marquardt, linear QR,
 * statistics). Built on nabla/io.h. */
#ifndef NABLA_FIT_H
#define NABLA_FIT_H

#include "nabla/io.h"
#include <stdbool.h>

#ifdef __cplusplus
extern "C" {
#endif
#if defined(__GNUC__)
#pragma GCC visibility push(default)
#endif

/* ====================================================================================== */
/* nabla expr: the formula language of `nabla fit`, compiled to a graph.
 *
 *   y = b1*(1-exp(-b2*x))          log(y) = b1 - b2*x1*exp(-b3*x2)          a*x^2 + c
 *
 * Numbers (2, .5, 1e-5, 10.07E0), + - * /, powers written ^ or ** (right-associative,
 * binding tighter than unary minus: -x^2 is -(x^2), 2^-1 is 0.5), parentheses ( ) or
 * NIST's square brackets [ ], the functions exp log log10 sqrt abs sin cos tan asin acos
 * atan (alias arctan) atan2 sinh cosh tanh pow min max, and the constants pi and e.
 *
 * Identifiers that name data columns are inputs; `$3` is the third column whatever its
 * name; a column named like a constant (e, pi) shadows it. Every other identifier is a
 * parameter. An optional left side, made of columns and constants only, names the
 * response: `log(y) = ...`.
 *
 * A formula is parsed once (nb_expr_parse) and built into a graph once (nb_expr_build);
 * the graph is then run as often as needed. Parse errors come back as NB_EPARSE with a
 * message that shows the formula and a caret under the offending column. */

typedef struct nb_expr nb_expr;

/* Parse `formula`; identifiers equal to one of the n_columns `column_names` (NULL entries
 * are skipped) are data columns. Parameters are numbered in natural order of their names
 * (b1 < b2 < b10). NULL on failure, with the message in nb_errmsg(). */
nb_expr *nb_expr_parse(const char *formula, int n_columns, const char *const *column_names);
void nb_expr_free(nb_expr *expr);

/* The formula as given. */
const char *nb_expr_text(const nb_expr *expr);
int nb_expr_n_params(const nb_expr *expr);
const char *nb_expr_param_name(const nb_expr *expr, int index);
/* The index of a parameter, or -1 when `name` is not one. */
int nb_expr_param_index(const nb_expr *expr, const char *name);
/* Whether the right side (or, with left_side, the left side) reads column `column`. */
bool nb_expr_uses_column(const nb_expr *expr, int column, bool left_side);
/* Whether the formula has a left side (`... = ...`). */
bool nb_expr_has_response(const nb_expr *expr);
/* Whether the right side is affine in its parameters (a sum of parameter times a
 * function of the data, plus a function of the data): then least squares is a linear
 * problem. */
bool nb_expr_is_linear(const nb_expr *expr);

/* Build the right side into `graph`. columns[k] is the node that holds column k (it may be
 * NULL for columns the formula does not use); params[j] holds parameter j. Any shapes
 * that broadcast will do: typically columns are inputs of shape [n] and parameters are
 * scalars, or inputs of shape [n] (one copy per point) when each point's derivative is
 * wanted. Constant parts of the formula are folded when parsing. NULL on failure. */
nb_node *nb_expr_build(const nb_expr *expr, nb_graph *graph, nb_node *const *columns, nb_node *const *params);
/* Like nb_expr_build, for data that will not change (a fit): the parts of the formula
 * that read data columns but no parameter (x**2, cos(2*pi*x/12)) are computed now, once,
 * from the columns' current values, and enter the graph as constants. */
nb_node *nb_expr_build_fixed(const nb_expr *expr, nb_graph *graph, nb_node *const *columns,
                             nb_node *const *params);
/* Build the left side (the response); fails when the formula has none. */
nb_node *nb_expr_build_response(const nb_expr *expr, nb_graph *graph, nb_node *const *columns);

/* Evaluate the right side (or, with left_side, the left side) at n points in float64:
 * columns[k] holds the n values of column k (NULL for columns the formula does not read),
 * params[j] the value of parameter j (not read for the left side). out gets n values (a
 * formula that reads no column gives the same value n times). The formula is compiled to
 * a graph and run once per call; points where it is not defined come out NaN or ±inf. */
nb_status nb_expr_eval(const nb_expr *expr, bool left_side, int64_t n, const double *const *columns,
                       const double *params, double *out);

/* ====================================================================================== */
/* nabla lsq: nonlinear least squares by Levenberg–Marquardt, with Jacobians from
 * automatic differentiation (never finite differences), and a direct QR path for
 * models that are linear in their parameters.
 *
 * Two ways in:
 *   - a formula and a table:  nb_fit_formula("y = b1*(1-exp(-b2*x))", table, &setup, NULL, &result)
 *   - a graph you built:      nb_lsq_fit_graph(residual, n, params, start, weights, NULL, &result)
 * Both fill an nb_lsq_result: parameters, standard errors, confidence intervals, the sum
 * of squares, R², degrees of freedom, iterations, evaluations and why it stopped. */

typedef enum nb_lsq_method {
    NB_LSQ_AUTO = 0, /* NB_LSQ_LINEAR when the formula is linear in its parameters, else NB_LSQ_LM */
    NB_LSQ_LM,       /* Levenberg–Marquardt (MINPACK's scaled trust region, QR-based steps) */
    NB_LSQ_LINEAR,   /* one Householder QR solve, in extended precision, with refinement */
    /* Gradient descent with one of nabla/nn.h's optimizers (options->optim), trained by
     * nb_train, for comparison with the solver (formula fits only): it minimises the mean
     * squared (weighted) residual of a batch of points, the tutorials' way. */
    NB_LSQ_GRADIENT
} nb_lsq_method;

/* "auto", "lm", "linear", "gradient". */
const char *nb_lsq_method_name(nb_lsq_method method);
/* Whether a method is gradient descent (NB_LSQ_GRADIENT). */
bool nb_lsq_method_is_gradient(nb_lsq_method method);

/* How residuals count (SciPy's least_squares losses): with z = (r / f_scale)², each point
 * adds f_scale² rho(z) / 2 to the cost; linear: rho = z (least squares); huber: z, and
 * 2 sqrt(z) - 1 beyond z = 1; soft_l1: 2 (sqrt(1 + z) - 1); cauchy: log(1 + z); arctan:
 * atan(z). The robust ones let points far off the curve (outliers) pull less. */
typedef enum nb_lsq_loss {
    NB_LSQ_SQUARED = 0, /* "linear": plain least squares */
    NB_LSQ_HUBER,
    NB_LSQ_SOFT_L1,
    NB_LSQ_CAUCHY,
    NB_LSQ_ARCTAN
} nb_lsq_loss;

/* "linear", "huber", "soft_l1", "cauchy", "arctan". */
const char *nb_lsq_loss_name(nb_lsq_loss loss);
/* The loss called `name` (one of the above); NB_EARG naming them otherwise. */
nb_status nb_lsq_loss_parse(const char *name, nb_lsq_loss *loss);

typedef struct nb_lsq_options {
    nb_lsq_method method;
    /* Stop when the relative reduction of the sum of squares, actual and predicted, is
     * at most ftol; when the trust region is at most xtol times the scaled parameters;
     * when the gradient's cosine with every Jacobian column is at most gtol. */
    double ftol, xtol, gtol;
    int max_evals;       /* residual evaluations; 0 picks 400 * (parameters + 1) */
    double step_bound;   /* the first trust region is step_bound * |scaled start| (100) */
    double confidence;   /* of the intervals (0.95) */
    /* false (the default): standard errors scale (JᵀWJ)⁻¹ by the residual variance s²;
     * true: the sigmas are absolute and (JᵀWJ)⁻¹ is the covariance. */
    bool absolute_sigma;
    /* Gradient descent: the optimizer (NB_SGD, the zero value, by default), and numbers
     * where 0 picks the default.
     *   lr:     the learning rate: SGD 0.01, Adam 0.01, L-BFGS 1 (its line search's first
     *           try), the others nb_optim_defaults'
     *   epochs: passes over the data, 1000; for L-BFGS the most iterations, 1000 (each one
     *           gradient and a line search on all points), and it stops earlier when its
     *           line search cannot decrease the loss (at the optimum, or stalled short of it)
     *   batch:  points per step, 32 (all of them when there are fewer); L-BFGS takes all
     *   seed:   the shuffling of the mini-batches, drawn anew every epoch */
    nb_optim_kind optim;
    double lr;
    int epochs;
    int64_t batch;
    uint64_t seed; /* also draws the starts of a multi-start fit */
    /* Bounds and fixed scalars, one entry per scalar of the fit (a formula's parameters in
     * nb_expr_param_name's order); NULL for none. lower[j] may be -INFINITY and upper[j]
     * INFINITY (unbounded); lower[j] <= upper[j]. A fixed scalar keeps its start value and
     * is not estimated (NaN standard error). With any bound, fixed scalar or robust loss
     * the solver is a projected (active-set) trust-region Levenberg–Marquardt that keeps
     * every iterate inside the bounds; a start outside them is moved onto the nearest
     * bound (result->moved says which). Without, it is the MINPACK Levenberg–Marquardt. */
    const double *lower, *upper;
    const bool *fixed;
    nb_lsq_loss loss;
    double f_scale; /* the residual size where a robust loss starts to bend (0: 1) */
    /* Multi-start: 0 or 1 fits from the start alone; N > 1 fits from the start and N - 1
     * starts drawn with `seed`: uniformly between two finite bounds, else the start times
     * 10^U(-1,1) (U(-1,1) for a start of 0), moved inside the bounds. The fit with the
     * lowest cost is the result; result->starts_at_best counts the starts that reached it
     * (cost within a relative 1e-6). Formula fits run the starts on the thread pool. */
    int starts;
} nb_lsq_options;

/* The defaults the CLI uses: tight tolerances (ftol = xtol = 1e-15, gtol = 0). */
nb_lsq_options nb_lsq_defaults(void);

typedef enum nb_lsq_stop {
    NB_LSQ_STOP_NONE = 0,
    NB_LSQ_STOP_FTOL,      /* the sum of squares stopped decreasing (relative change <= ftol) */
    NB_LSQ_STOP_XTOL,      /* the step became negligible (relative to the parameters <= xtol) */
    NB_LSQ_STOP_BOTH,      /* both of the above */
    NB_LSQ_STOP_GTOL,      /* the residuals are orthogonal to the Jacobian (<= gtol) */
    NB_LSQ_STOP_PRECISION, /* no further progress is possible in double precision */
    NB_LSQ_STOP_EXACT,     /* every residual is zero */
    NB_LSQ_STOP_LINEAR,    /* solved directly (linear model) */
    NB_LSQ_STOP_MAX_EVALS, /* the evaluation budget ran out: not converged */
    NB_LSQ_STOP_EPOCHS,    /* a gradient method ran all its epochs (SGD and Adam stop only so) */
    NB_LSQ_STOP_STALLED    /* L-BFGS: the line search could not decrease the loss (at the optimum, or
                              stalled short of it: not reported as converged) */
} nb_lsq_stop;

/* A sentence for a stop reason. */
const char *nb_lsq_stop_text(nb_lsq_stop stop);

typedef struct nb_lsq_result {
    int n_params;
    int64_t n_points;
    int64_t dof;        /* n_points - n_params */
    char **names;       /* parameter names */
    double *params;     /* the estimates */
    double *std_error;  /* standard errors (NaN when dof == 0) */
    double *ci_low, *ci_high; /* confidence intervals (Student t with dof degrees of freedom) */
    double *covariance; /* n_params x n_params, row-major */
    bool *defaulted;    /* parameters that were not given a start value and started at 1 */
    double sse;         /* weighted residual sum of squares */
    double r_squared;   /* 1 - sse / (weighted total sum of squares about the weighted mean);
                           NaN from nb_lsq_fit_graph, which sees residuals, not responses */
    double residual_std; /* sqrt(sse / dof) */
    double confidence;
    int iterations;     /* Jacobians factored: Levenberg–Marquardt steps and the final polish;
                           gradient methods: updates of the parameters */
    int n_evals;        /* residual evaluations; gradient methods: loss and gradient
                           evaluations (each on a batch) */
    int n_jacobians;    /* Jacobian evaluations (gradient methods: 1, for the standard errors) */
    int epochs;         /* gradient methods: passes over the data (L-BFGS: iterations); else 0 */
    double lr;          /* gradient methods: the learning rate used; else 0 */
    int64_t batch;      /* gradient methods: points per step; else 0 */
    nb_lsq_method method; /* the method that ran */
    nb_optim_kind optim;  /* NB_LSQ_GRADIENT: the optimizer that ran */
    nb_lsq_stop stop;
    bool converged;
    bool *fixed;        /* held at its value, not estimated (NaN standard error) */
    signed char *at_bound; /* -1 at its lower bound at the end, +1 at its upper, 0 inside: a
                              parameter at a bound has no interior standard error (NaN) */
    bool *moved;        /* its start lay outside its bounds and was moved onto the nearest */
    nb_lsq_loss loss;
    double cost;        /* f_scale² Σ rho(z) / 2; for the linear loss sse / 2 */
    int starts;         /* fits run (multi-start); 1 for a single start */
    int starts_at_best; /* of them, the fits that reached the best cost (relative 1e-6) */
} nb_lsq_result;

/* Free the arrays a fit filled in (a value struct: the struct itself is the caller's),
 * leaving it zeroed. */
void nb_lsq_result_clear(nb_lsq_result *result);

/* What a formula fit needs besides the formula and the data. */
typedef struct nb_fit_setup {
    /* The response column, as nb_table_column finds it ("y", "3", "$3"), when the formula
     * has no left side; NULL: the column named y, else the last column. */
    const char *response;
    /* A column of per-point uncertainties (weights 1/sigma²), found the same way; NULL for
     * none. */
    const char *sigma;
    /* Start values by name; parameters not named start at 1. */
    int n_init;
    const char *const *init_names;
    const double *init_values;
    /* Parameters held fixed, by name: at fixed_values[k], or (fixed_values NULL, or a NaN
     * entry) at their start values. */
    int n_fixed;
    const char *const *fixed_names;
    const double *fixed_values;
    /* gnuplot's `via`: when n_vary > 0 only these parameters are estimated; the others
     * are fixed at their start values. */
    int n_vary;
    const char *const *vary_names;
    /* Bounds by name: bound_lower[k] <= parameter <= bound_upper[k] (-INFINITY or
     * INFINITY for a side without a bound). */
    int n_bounds;
    const char *const *bound_names;
    const double *bound_lower, *bound_upper;
} nb_fit_setup;

/* Fit `formula` to `data`: parse it, build its graph once, solve, and fill `result`
 * (its arrays freed with nb_lsq_result_clear). setup and options may be NULL (defaults). Bad input
 * (a formula that does not parse, a column that is not there, a start value for a name
 * that is not a parameter, fewer points than parameters, a model that is not finite at
 * the start, a singular Jacobian) returns an error with its own message and leaves
 * `result` empty. Not converging within the budget is not an error: see result->converged.
 *
 * With gradient descent (options->method NB_LSQ_GRADIENT) the formula is built a second
 * time, with scalar parameters (nb_param) reading the columns of a batch of points, and
 * trained by nb_train with the optimizer options->optim (L-BFGS on one batch of all the
 * points, its iterations in one step); the standard errors and
 * intervals are then computed where it ended, from the autodiff Jacobian as for
 * Levenberg–Marquardt (NaN where that Jacobian is singular: the end point is reported as
 * it is). result->converged is false for them: running out of epochs is no convergence,
 * and neither is L-BFGS's line search failing to go lower, which happens at the optimum
 * and also short of it (compare with the solver); a loss that becomes NaN or infinite is
 * an error (NB_ENUMERIC) naming the epoch. NB_LSQ_LINEAR for a formula that is not linear
 * in its parameters is an error (NB_EARG). */
nb_status nb_fit_formula(const char *formula, const nb_table *data, const nb_fit_setup *setup,
                         const nb_lsq_options *options, nb_lsq_result *result);

/* Fit a graph you built: minimise sum_i (weights[i] * residual[i])² over the n_params
 * scalars held by `params`. Each params[j] is either
 *   - a parameter node (nb_param, any shape: each element is a scalar of the fit), or
 *   - an input of shape [m] (m = residual's size) marked nb_set_requires_grad(true), that
 *     the model uses pointwise (row i of the model reads element i only): it holds one
 *     scalar of the fit, copied to all m elements.
 * With only the second kind the whole Jacobian comes from one backward pass; otherwise it
 * takes one backward pass per residual. `start` holds the start values (n scalars in the
 * order of params and of their elements), `weights` m weights or NULL. */
nb_status nb_lsq_fit_graph(nb_node *residual, int n_nodes, nb_node *const *params, const double *start,
                           const double *weights, const nb_lsq_options *options, nb_lsq_result *result);

/* The quantile of Student's t distribution with dof degrees of freedom (dof > 0):
 * nb_student_t_quantile(0.975, 10) = 2.228... */
double nb_student_t_quantile(double p, double dof);

#if defined(__GNUC__)
#pragma GCC visibility pop
#endif

#ifdef __cplusplus
}
#endif

#endif
