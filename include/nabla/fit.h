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
 * name, and any column's name can be written between backticks: `Computer Science`,
 * `time-ms`, `^GSPC` (a backticked name must be a column). Names may hold UTF-8
 * (température). Every other identifier is a parameter. An optional left side, made of
 * columns and constants only, names the response: `log(y) = ...`.
 *
 * Refused, with a message that says how to write each meaning: a bare name that is both
 * a column and a constant or function (`e` for the column, exp(1) for the constant), and
 * a column whose name is not a plain name written bare (time-ms would read as time - ms).
 * Parse errors on data that have such columns add how to write them (backticks, $N).
 *
 * A formula is parsed once (nb_expr_parse) and built into a graph once (nb_expr_build);
 * the graph is then run as often as needed. Parse errors come back as NB_EPARSE with a
 * message that shows the formula and a caret under the offending column. */

typedef struct nb_expr nb_expr;

/* Parse `formula`; identifiers equal to one of the n_columns `column_names` (NULL entries
 * are skipped) are data columns. Parameters are numbered in the order of their first
 * appearance in the formula ('b10*x + b2' gives b10, b2). NULL on failure, with the message in nb_errmsg(). */
nb_expr *nb_expr_parse(const char *formula, int n_columns, const char *const *column_names);
void nb_expr_free(nb_expr *expr);

/* The formula as given. */
const char *nb_expr_text(const nb_expr *expr);
int nb_expr_n_params(const nb_expr *expr);
const char *nb_expr_param_name(const nb_expr *expr, int index);
/* The column (of the names given to nb_expr_parse) that parameter `index`'s name is
 * probably a typo of, or -1: one differing only in case (T for t), else one edit away
 * when both names have at least 3 characters. The parameter is still a parameter; this
 * is for a "did you mean" note. */
int nb_expr_param_near_column(const nb_expr *expr, int index);
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
    /* The Gaussian log-likelihood at the estimates, with the noise variance estimated too
     * (its maximum-likelihood value sse / n, as R's logLik does for nls): for weights
     * w_i = 1/sigma_i², log L = -n/2 (log(2 pi) + 1 + log(sse / n)) + 1/2 sum log w_i.
     * The information criteria count k = the estimated parameters + 1 (the variance
     * included; fixed parameters do not count): AIC = 2k - 2 log L, AICc = AIC + 2k(k+1)/(n-k-1) (NaN when n <= k+1),
     * BIC = k log n - 2 log L. */
    double log_likelihood, aic, aicc, bic;
    /* Formula fits: per point, the model at the estimates and the residual response -
     * model (unweighted, on the scale of the response the fit used: the left side when
     * there is one). NULL from nb_lsq_fit_graph, which sees residuals only. */
    double *fitted, *residuals;
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

/* ====================================================================================== */
/* A fit kept for use: what `nabla fit --save` writes and `nabla eval` reads. It holds the
 * formula and the names of the columns it was fitted to (so that its names mean the same
 * columns again), the estimates, their covariance, the residual variance and the degrees
 * of freedom: enough to evaluate the model at new inputs with confidence and prediction
 * intervals. A value struct: nb_fit_model_init or nb_fit_model_load fill it,
 * nb_fit_model_clear frees it. */
typedef struct nb_fit_model {
    char *formula;
    int n_columns;
    char **columns;         /* the fitted table's column names, which the formula's names mean */
    char *response;         /* what was fitted: the left side as written, or the response column */
    char *sigma;            /* the uncertainties' column of a weighted fit, or NULL */
    bool absolute_sigma;
    int n_params;
    char **names;           /* in formula order */
    double *params;
    double *covariance;     /* n_params x n_params, row-major */
    double residual_variance; /* sse / dof: the variance of a new observation (weighted: of
                                 one with sigma 1) */
    int64_t dof, n_points;
    double confidence;      /* the level of the fit's intervals */
} nb_fit_model;

/* The model of a fit that nb_fit_formula(formula, data, setup, options, result) made. */
nb_status nb_fit_model_init(nb_fit_model *model, const char *formula, const nb_table *data,
                            const nb_fit_setup *setup, const nb_lsq_options *options, const nb_lsq_result *result);
void nb_fit_model_clear(nb_fit_model *model);
/* Write the model to `path` as JSON (format "nabla-fit", version 1), atomically. */
nb_status nb_fit_model_save(const nb_fit_model *model, const char *path);
/* Read a model written by nb_fit_model_save; a missing, unreadable or corrupt file, or
 * another format or version, is an error naming the file. */
nb_status nb_fit_model_load(nb_fit_model *model, const char *path);

/* The model at new inputs, with intervals at level `confidence`:
 *   se_fit     the standard error of the fitted value, by the delta method: sqrt(gᵀ C g)
 *              with g the gradient of the model w.r.t. the parameters (autodiff) and C
 *              the fit's covariance
 *   conf_*     fitted ∓ t se_fit: where the model's value lies
 *   pred_*     fitted ∓ t sqrt(se_fit² + s²): where a new observation lies, with s² the
 *              residual variance (weighted fits: s² sigma², sigma read from the new data's
 *              column of that name; without it NaN; absolute sigmas: sigma²)
 * t is Student's quantile with the fit's degrees of freedom (intervals NaN when it has
 * none). The arrays hold n values each. */
typedef struct nb_fit_prediction {
    int64_t n;
    double confidence;
    double *fitted, *se_fit, *conf_low, *conf_high, *pred_low, *pred_high;
} nb_fit_prediction;

/* Evaluate `model` on the rows of `data`, which must have a column of each name the
 * formula reads as an input (NB_EARG naming the missing one and the table otherwise).
 * The intervals come from the estimated parameters: a fixed parameter, or one that ended
 * at a bound, adds no uncertainty. */
nb_status nb_fit_model_predict(const nb_fit_model *model, const nb_table *data, double confidence,
                               nb_fit_prediction *out);
void nb_fit_prediction_clear(nb_fit_prediction *prediction);

/* ====================================================================================== */
/* Many fits at once: one formula fitted separately to each group of rows (the rows that
 * share a value of a column) or to each of several tables. The groups are fitted on
 * nabla's thread pool, each thread with one graph of the formula that it refills with
 * each group's data; the results come back in a fixed order whatever the threads. A
 * group that cannot be fitted (empty, fewer points than parameters, a model that is not
 * finite or singular) is recorded with its message and the others are fitted. */
typedef struct nb_fit_group {
    char *name;          /* the group's value (an integer in full, else the shortest text that
                            reads back the same; in a table's class column, the name it
                            stands for) or the table's source */
    int64_t n_rows;
    nb_status status;    /* NB_OK: fitted (see result.converged); else why not in `error` */
    char *error;
    nb_lsq_result result; /* filled when status is NB_OK */
} nb_fit_group;

typedef struct nb_fit_batch {
    int n_groups;
    nb_fit_group *groups;
    int n_failed;        /* groups not fitted, or fitted without converging */
    int n_params;
    char **names;        /* the formula's parameters, in formula order */
} nb_fit_batch;

/* Fit `formula` to each group of rows of `data` sharing a value of `group_column` (a name
 * or number, as nb_table_column finds it), in order of the groups' first rows. The
 * formula must not read the group column. An error (a formula that does not parse, a
 * group column that is not there) leaves `batch` empty; failing groups do not. setup and
 * options may be NULL; gradient methods are refused (they are for comparing one fit). */
nb_status nb_fit_batch_by(const char *formula, const nb_table *data, const char *group_column,
                          const nb_fit_setup *setup, const nb_lsq_options *options, nb_fit_batch *batch);
/* Fit `formula` to each of n tables, group k named names[k] (names, or an entry, NULL:
 * the table's source). A NULL table is a group that could not be loaded: errors[k] says
 * why (errors may be NULL). Every table must have the first table's column names. */
nb_status nb_fit_batch_tables(const char *formula, int n, const nb_table *const *tables, const char *const *names,
                              const char *const *errors, const nb_fit_setup *setup, const nb_lsq_options *options,
                              nb_fit_batch *batch);
/* One share of a batch, for one of `parts` processes that fit it together (the ranks of
 * an MPI job, say; the library calls no MPI): the groups k (0-based, in the order above)
 * with k % parts == part, the others neither fitted nor kept. batch->groups[i] is group
 * part + i * parts of the whole batch, with the numbers the whole batch has for it, and
 * n_failed counts the share's. nb_fit_batch_tables_share needs the tables of its share
 * and the first non-NULL entry of the whole (the table every header is checked against);
 * the other entries may be NULL. part outside 0 .. parts - 1 is an error (NB_EARG). */
nb_status nb_fit_batch_by_share(const char *formula, const nb_table *data, const char *group_column,
                                const nb_fit_setup *setup, const nb_lsq_options *options, int part, int parts,
                                nb_fit_batch *batch);
nb_status nb_fit_batch_tables_share(const char *formula, int n, const nb_table *const *tables,
                                    const char *const *names, const char *const *errors, const nb_fit_setup *setup,
                                    const nb_lsq_options *options, int part, int parts, nb_fit_batch *batch);
void nb_fit_batch_clear(nb_fit_batch *batch);

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
