/* Fitting a formula to a table: parse the formula, pick the response, weights and start
 * values, build the residual graph once, check the start, and hand it to the solver.
 *
 * The graph holds each parameter as an input of shape [n] (n copies of its value), so
 * that one backward pass gives the whole Jacobian (see lsq.c). */
#include "fit/lsq_internal.h"

#include "nabla/fit.h"

#include <ctype.h>
#include <float.h>
#include <math.h>
#include <stdio.h>
#include <string.h>

typedef struct fit_state {
    const nb_table *data;
    nb_expr *expr;
    int n;        /* parameters */
    int m;        /* points */
    double *y;    /* the response */
    double *weights;
    double *start;
    bool *defaulted;
    int response_column; /* -1 when the formula's left side is the response */
    nb_graph *graph;
    nb_node **columns;
    nb_node **params;
    nb_node *residual;
    const double *offset; /* subtracted from the residual node's values (NULL: none; see fit_graph) */
    fit_graph *shared; /* a batch's graph, refilled for this table (the fields above borrow it) */
    double *lower, *upper; /* bounds and fixed flags by parameter; NULL when none given */
    bool *fixed;
} fit_state;

static void state_free(fit_state *s)
{
    if (!s->shared) {
        nb_expr_free(s->expr);
        nb_graph_free(s->graph);
        nb_free(s->columns);
        nb_free(s->params);
    }
    nb_free(s->y);
    nb_free(s->weights);
    nb_free(s->start); /* and defaulted, in the same block */
    nb_free(s->lower);
    nb_free(s->upper);
    nb_free(s->fixed);
}

/* %g, but NaN prints as "nan" whatever its sign bit. */
static const char *show(double value, char *buf, size_t size)
{
    if (isnan(value))
        return "nan";
    snprintf(buf, size, "%g", value);
    return buf;
}

static char *param_list(const nb_expr *expr, char *buf, size_t size)
{
    size_t used = 0;
    buf[0] = '\0';
    for (int j = 0; j < nb_expr_n_params(expr) && used < size; j++)
        used += (size_t)snprintf(buf + used, size - used, j ? ", %s" : "%s", nb_expr_param_name(expr, j));
    return buf;
}

/* "row 3 (x = 0, t = 2.5)": the data a formula reads on one row. */
static void describe_row(const fit_state *s, int row, bool left_side, char *buf, size_t size)
{
    size_t used = (size_t)snprintf(buf, size, "row %d", row + 1);
    bool first = true;
    for (int k = 0; k < s->data->n_columns && used < size; k++) {
        if (!nb_expr_uses_column(s->expr, k, left_side))
            continue;
        used += (size_t)snprintf(buf + used, size - used, "%s%s = %.10g", first ? " (" : ", ", s->data->names[k],
                                 s->data->columns[k][row]);
        first = false;
    }
    if (!first && used < size)
        snprintf(buf + used, size - used, ")");
}

/* The column a left side names when it is just a column's name ("y = ...", "$2 = ..."),
 * else -1: then the left side need not be compiled (many fits of a batch save a graph). */
static int bare_left_side(const fit_state *s)
{
    const char *text = nb_expr_text(s->expr), *equals = strchr(text, '=');
    while (isspace((unsigned char)*text))
        text++;
    int length = equals ? (int)(equals - text) : 0;
    while (length > 0 && isspace((unsigned char)text[length - 1]))
        length--;
    char name[256];
    if (length <= 0 || length >= (int)sizeof name)
        return -1;
    memcpy(name, text, (size_t)length);
    name[length] = '\0';
    int k = nb_table_column(s->data, name);
    if (k < 0)
        nb_clear_error();
    return k >= 0 && (strcmp(s->data->names[k], name) == 0 || name[0] == '$') ? k : -1;
}

/* The left side evaluated on the data into s->y. */
static nb_status evaluate_left_side(fit_state *s)
{
    const nb_table *data = s->data;
    int column = bare_left_side(s);
    if (column >= 0) {
        memcpy(s->y, data->columns[column], (size_t)s->m * sizeof *s->y);
        return NB_OK;
    }
    nb_graph *graph = nb_graph_new(NB_F64);
    nb_node **columns = nb_calloc((size_t)data->n_columns, sizeof *columns);
    nb_status status = graph && columns ? NB_OK : nb_fail(NB_ENOMEM, "out of memory");
    int64_t shape[1] = {s->m};
    for (int k = 0; k < data->n_columns && status == NB_OK; k++) {
        if (!nb_expr_uses_column(s->expr, k, true))
            continue;
        columns[k] = nb_input(graph, data->names[k], 1, shape);
        status = columns[k] ? nb_input_set_doubles(columns[k], data->columns[k], s->m) : nb_errcode();
    }
    nb_node *response = status == NB_OK ? nb_expr_build_response(s->expr, graph, columns) : NULL;
    if (status == NB_OK && !response)
        status = nb_errcode();
    if (status == NB_OK)
        status = nb_forward(response);
    if (status == NB_OK && nb_value(response)->size != s->m)
        status = nb_fail(NB_ESHAPE, "the left side of the formula gives %lld values for %d rows",
                         (long long)nb_value(response)->size, s->m);
    if (status == NB_OK)
        nb_tensor_to_doubles(nb_value(response), s->y);
    nb_free(columns);
    nb_graph_free(graph);
    return status;
}

/* The response: the left side evaluated on the data, or a column. */
static nb_status pick_response(fit_state *s, const nb_fit_setup *setup)
{
    const nb_table *data = s->data;
    s->y = nb_alloc((size_t)(s->m ? s->m : 1) * sizeof *s->y);
    if (!s->y)
        return nb_fail(NB_ENOMEM, "out of memory for %d responses", s->m);
    if (nb_expr_has_response(s->expr)) {
        if (setup && setup->response)
            return nb_fail(NB_EARG, "the formula has a left side, so the response column '%s' is not used; give "
                                    "one or the other",
                           setup->response);
        s->response_column = -1;
        nb_status status = evaluate_left_side(s);
        for (int i = 0; i < s->m && status == NB_OK; i++)
            if (!isfinite(s->y[i])) {
                char row[256], value[32];
                describe_row(s, i, true, row, sizeof row);
                return nb_fail(NB_ENUMERIC, "the left side of the formula is %s at %s",
                               show(s->y[i], value, sizeof value), row);
            }
        return status;
    }
    int k;
    if (setup && setup->response) {
        k = nb_table_column(data, setup->response);
        if (k < 0) {
            nb_error_prefix("the response column");
            return nb_errcode();
        }
    } else if ((k = nb_table_column(data, "y")) < 0) {
        nb_clear_error();
        k = data->n_columns - 1;
    }
    if (nb_expr_uses_column(s->expr, k, false))
        return nb_fail(NB_EARG,
                       "the response is column '%s', which the formula also reads; name the response (a left "
                       "side such as 'y = ...', or the response option)",
                       data->names[k]);
    s->response_column = k;
    memcpy(s->y, data->columns[k], (size_t)s->m * sizeof *s->y);
    return NB_OK;
}

static nb_status pick_weights(fit_state *s, const nb_fit_setup *setup)
{
    if (!setup || !setup->sigma)
        return NB_OK;
    int k = nb_table_column(s->data, setup->sigma);
    if (k < 0) {
        nb_error_prefix("the uncertainties' column");
        return nb_errcode();
    }
    if (nb_expr_uses_column(s->expr, k, false) || k == s->response_column)
        return nb_fail(NB_EARG, "the uncertainties' column '%s' is also used as data", s->data->names[k]);
    s->weights = nb_alloc((size_t)s->m * sizeof *s->weights);
    if (!s->weights)
        return nb_fail(NB_ENOMEM, "out of memory for %d weights", s->m);
    for (int i = 0; i < s->m; i++) {
        double sigma = s->data->columns[k][i];
        if (!(sigma > 0) || !isfinite(sigma))
            return nb_fail(NB_EARG, "uncertainties must be positive and finite, but row %d of column '%s' is %g",
                           i + 1, s->data->names[k], sigma);
        s->weights[i] = 1 / sigma;
    }
    return NB_OK;
}

static nb_status pick_start(fit_state *s, const nb_fit_setup *setup)
{
    /* one block: the flags after the values (state_free frees start) */
    s->start = nb_alloc((size_t)s->n * (sizeof *s->start + sizeof *s->defaulted));
    if (!s->start)
        return nb_fail(NB_ENOMEM, "out of memory");
    s->defaulted = (bool *)(s->start + s->n);
    for (int j = 0; j < s->n; j++) {
        s->start[j] = 1;
        s->defaulted[j] = true;
    }
    if (!setup || setup->n_init == 0)
        return NB_OK;
    if (setup->n_init < 0 || !setup->init_names || !setup->init_values)
        return nb_fail(NB_EARG, "start values: names and values must not be NULL");
    char names[512];
    for (int k = 0; k < setup->n_init; k++) {
        const char *name = setup->init_names[k];
        int j = name ? nb_expr_param_index(s->expr, name) : -1;
        if (j < 0) {
            int column = name ? nb_table_column(s->data, name) : -1;
            if (column >= 0 && strcmp(s->data->names[column], name) == 0)
                return nb_fail(NB_EARG, "a start value is given for '%s', which is a data column, not a parameter",
                               name);
            return nb_fail(NB_EARG,
                           "a start value is given for '%s', which does not occur in the formula (its "
                           "parameters: %s)",
                           name ? name : "(null)", param_list(s->expr, names, sizeof names));
        }
        if (!isfinite(setup->init_values[k]))
            return nb_fail(NB_EARG, "the start value of '%s' is %g, not a finite number", name,
                           setup->init_values[k]);
        s->start[j] = setup->init_values[k];
        s->defaulted[j] = false;
    }
    return NB_OK;
}

/* The index of parameter `name` for an option called `what`; NB_EARG naming the
 * parameters otherwise. */
static nb_status param_named(const fit_state *s, const char *what, const char *name, int *j)
{
    *j = name ? nb_expr_param_index(s->expr, name) : -1;
    if (*j >= 0)
        return NB_OK;
    char names[512];
    return nb_fail(NB_EARG, "%s '%s', which is not a parameter of the formula (its parameters: %s)", what,
                   name ? name : "(null)", param_list(s->expr, names, sizeof names));
}

static nb_status constraint_arrays(fit_state *s)
{
    size_t n = (size_t)s->n;
    s->lower = nb_alloc(n * sizeof *s->lower);
    s->upper = nb_alloc(n * sizeof *s->upper);
    s->fixed = nb_calloc(n, sizeof *s->fixed);
    if (!s->lower || !s->upper || !s->fixed)
        return nb_fail(NB_ENOMEM, "out of memory");
    for (int j = 0; j < s->n; j++)
        s->lower[j] = -INFINITY, s->upper[j] = INFINITY;
    return NB_OK;
}

/* Fixed parameters (--fix, and the names a `via` list leaves out) and bounds, by name. */
static nb_status pick_constraints(fit_state *s, const nb_fit_setup *setup)
{
    if (!setup || (setup->n_fixed <= 0 && setup->n_vary <= 0 && setup->n_bounds <= 0))
        return NB_OK;
    nb_status status = constraint_arrays(s);
    for (int k = 0, j; status == NB_OK && k < setup->n_fixed; k++)
        if ((status = param_named(s, "a fixed value is given for", setup->fixed_names[k], &j)) == NB_OK) {
            s->fixed[j] = true;
            double value = setup->fixed_values ? setup->fixed_values[k] : NAN; /* NaN: the start value */
            if (isinf(value))
                status = nb_fail(NB_EARG, "the fixed value of '%s' is %g, not a finite number",
                                 setup->fixed_names[k], value);
            else if (!isnan(value))
                s->start[j] = value, s->defaulted[j] = false;
        }
    if (status == NB_OK && setup->n_vary > 0) {
        bool *vary = nb_calloc((size_t)s->n, sizeof *vary);
        status = vary ? NB_OK : nb_fail(NB_ENOMEM, "out of memory");
        for (int k = 0, j; status == NB_OK && k < setup->n_vary; k++)
            if ((status = param_named(s, "the parameters to vary include", setup->vary_names[k], &j)) == NB_OK)
                vary[j] = true;
        for (int j = 0; status == NB_OK && j < s->n; j++)
            s->fixed[j] |= !vary[j];
        nb_free(vary);
    }
    for (int k = 0, j; status == NB_OK && k < setup->n_bounds; k++)
        if ((status = param_named(s, "a bound is given for", setup->bound_names[k], &j)) == NB_OK) {
            s->lower[j] = fmax(s->lower[j], setup->bound_lower[k]);
            s->upper[j] = fmin(s->upper[j], setup->bound_upper[k]);
            if (isnan(setup->bound_lower[k]) || isnan(setup->bound_upper[k]))
                status = nb_fail(NB_EARG, "a bound of '%s' is not a number", setup->bound_names[k]);
        }
    return status;
}

static nb_status build_graph(fit_state *s)
{
    const nb_table *data = s->data;
    s->graph = nb_graph_new(NB_F64);
    s->columns = nb_calloc((size_t)data->n_columns, sizeof *s->columns);
    s->params = nb_calloc((size_t)s->n, sizeof *s->params);
    if (!s->graph || !s->columns || !s->params)
        return nb_fail(NB_ENOMEM, "out of memory building the formula's graph");
    int64_t shape[1] = {s->m};
    for (int k = 0; k < data->n_columns; k++) {
        if (!nb_expr_uses_column(s->expr, k, false))
            continue;
        s->columns[k] = nb_input(s->graph, data->names[k], 1, shape);
        if (!s->columns[k] || nb_input_set_doubles(s->columns[k], data->columns[k], s->m) != NB_OK)
            return nb_errcode();
    }
    for (int j = 0; j < s->n; j++) {
        s->params[j] = nb_input(s->graph, nb_expr_param_name(s->expr, j), 1, shape);
        if (!s->params[j] || nb_set_requires_grad(s->params[j], true) != NB_OK)
            return nb_errcode();
    }
    nb_node *model = nb_expr_build_fixed(s->expr, s->graph, s->columns, s->params);
    nb_node *response = nb_const(s->graph, 1, shape, s->y);
    s->residual = nb_sub(model, response);
    return s->residual ? NB_OK : nb_errcode();
}

void nb_fit_graph_free(fit_graph *g)
{
    nb_graph_free(g->graph);
    nb_free(g->columns);
    nb_free(g->params);
    memset(g, 0, sizeof *g);
}

/* Whether the model's values can stand for the residuals, the response subtracted
 * outside the graph (as the graph would: model - y): an operation on the parameters
 * giving m values. A model that is a parameter or column itself, or of another shape,
 * gets the subtraction in the graph. */
static bool model_is_residual(nb_node *model, int m)
{
    const char *op = nb_node_op(model);
    const nb_tensor *v = nb_value(model);
    return strcmp(op, "input") != 0 && strcmp(op, "param") != 0 && strcmp(op, "const") != 0 &&
           nb_requires_grad(model) && v->ndim == 1 && v->shape[0] == m;
}

/* The formula's graph for m points with every column (and the response, when the graph
 * subtracts it) as inputs, so that the next table of m points only refills them. */
static nb_status shared_build(fit_state *s, fit_graph *g)
{
    nb_fit_graph_free(g);
    const nb_table *data = s->data;
    g->graph = nb_graph_new(NB_F64);
    g->columns = nb_calloc((size_t)data->n_columns, sizeof *g->columns);
    g->params = nb_calloc((size_t)s->n, sizeof *g->params);
    if (!g->graph || !g->columns || !g->params)
        return nb_fail(NB_ENOMEM, "out of memory building the formula's graph");
    int64_t shape[1] = {s->m};
    for (int k = 0; k < data->n_columns; k++)
        if (nb_expr_uses_column(s->expr, k, false) && !(g->columns[k] = nb_input(g->graph, data->names[k], 1, shape)))
            return nb_errcode();
    for (int j = 0; j < s->n; j++) {
        g->params[j] = nb_input(g->graph, nb_expr_param_name(s->expr, j), 1, shape);
        if (!g->params[j] || nb_set_requires_grad(g->params[j], true) != NB_OK)
            return nb_errcode();
    }
    nb_node *model = nb_expr_build(s->expr, g->graph, g->columns, g->params);
    if (!model)
        return nb_errcode();
    if (model_is_residual(model, s->m)) {
        g->residual = model;
    } else {
        g->response = nb_input(g->graph, "response", 1, shape);
        if (!g->response || !(g->residual = nb_sub(model, g->response)))
            return nb_errcode();
    }
    g->m = s->m;
    return NB_OK;
}

/* Point the state at the shared graph, built anew only when the size changes. */
static nb_status shared_fill(fit_state *s)
{
    fit_graph *g = s->shared;
    if (!g->graph || g->m != s->m) {
        nb_status status = shared_build(s, g);
        if (status != NB_OK) {
            nb_fit_graph_free(g);
            return status;
        }
    }
    for (int k = 0; k < s->data->n_columns; k++)
        if (g->columns[k] && nb_input_set_doubles(g->columns[k], s->data->columns[k], s->m) != NB_OK)
            return nb_errcode();
    if (g->response && nb_input_set_doubles(g->response, s->y, s->m) != NB_OK)
        return nb_errcode();
    s->graph = g->graph, s->columns = g->columns, s->params = g->params, s->residual = g->residual;
    s->offset = g->response ? NULL : s->y;
    return NB_OK;
}

/* A model that is not finite at the start cannot be fitted: say where and why. */
static nb_status check_start(fit_state *s)
{
    for (int j = 0; j < s->n; j++) {
        double *value = nb_value(s->params[j])->data;
        for (int i = 0; i < s->m; i++)
            value[i] = s->start[j];
    }
    nb_status status = nb_forward(s->residual);
    if (status != NB_OK)
        return status;
    const double *v = nb_value(s->residual)->data;
    for (int i = 0; i < s->m; i++) {
        double r = s->offset ? v[i] - s->offset[i] : v[i];
        if (isfinite(r))
            continue;
        char row[256], start[512], value[32];
        describe_row(s, i, false, row, sizeof row);
        size_t used = 0;
        start[0] = '\0';
        for (int j = 0; j < s->n && used < sizeof start; j++)
            used += (size_t)snprintf(start + used, sizeof start - used, "%s%s = %g%s", j ? ", " : "",
                                     nb_expr_param_name(s->expr, j), s->start[j],
                                     s->defaulted[j] ? " (default)" : "");
        return nb_fail(NB_ENUMERIC,
                       "the model is not finite at the start values: it gives %s at %s; start values: %s; "
                       "choose start values where the formula is defined",
                       show(r + s->y[i], value, sizeof value), row, start);
    }
    return NB_OK;
}

/* 1 - SSE / SST, both weighted; SST about the weighted mean. */
static double r_squared(const fit_state *s, double sse)
{
    double sum_w = 0, mean = 0;
    for (int i = 0; i < s->m; i++) {
        double w = s->weights ? s->weights[i] * s->weights[i] : 1;
        sum_w += w;
        mean += w * s->y[i];
    }
    mean /= sum_w;
    double sst = 0;
    for (int i = 0; i < s->m; i++) {
        double w = s->weights ? s->weights[i] * s->weights[i] : 1;
        sst += w * (s->y[i] - mean) * (s->y[i] - mean);
    }
    return sst > 0 ? 1 - sse / sst : NAN;
}

/* The starts of a multi-start fit, one chunk of the thread pool each: chunk 0 fits from
 * the start on the state's graph, every other chunk builds its own graph of the formula
 * (a graph holds one set of values) and fits from its drawn start. */
typedef struct start_jobs {
    fit_state *s;
    nb_lsq_options one; /* the options of one start */
    double value_norm;
    double *lo, *hi, *x0;
    nb_lsq_result *results;
    nb_status *status;
    char (*errors)[512];
} start_jobs;

static void run_start(void *ctx, int k)
{
    start_jobs *jobs = ctx;
    fit_state copy = *jobs->s;
    double *x = nb_alloc((size_t)copy.n * sizeof *x);
    nb_status status = x ? NB_OK : nb_fail(NB_ENOMEM, "out of memory");
    if (k > 0 && status == NB_OK) {
        copy.graph = NULL, copy.columns = NULL, copy.params = NULL, copy.offset = NULL;
        status = build_graph(&copy);
    }
    if (status == NB_OK) {
        nb_lsq_draw_start(&jobs->one, copy.n, jobs->lo, jobs->hi, jobs->x0, k, x);
        /* start 0 runs on the state's graph, which check_start ran at the start */
        lsq_data data = {copy.weights, copy.offset, jobs->value_norm, k == 0};
        status = nb_lsq_fit(copy.residual, copy.n, copy.params, k == 0 ? copy.start : x, &data, &jobs->one,
                            &jobs->results[k]);
    }
    jobs->status[k] = status;
    if (status != NB_OK)
        snprintf(jobs->errors[k], sizeof jobs->errors[k], "%s", nb_errmsg());
    if (k > 0) {
        nb_graph_free(copy.graph);
        nb_free(copy.columns);
        nb_free(copy.params);
    }
    nb_free(x);
}

/* The box the draws respect: the bounds, fixed parameters held at their start. */
static void start_box(const fit_state *s, const nb_lsq_options *opt, double *lo, double *hi, double *x0)
{
    for (int j = 0; j < s->n; j++) {
        lo[j] = opt->lower ? opt->lower[j] : -INFINITY;
        hi[j] = opt->upper ? opt->upper[j] : INFINITY;
        x0[j] = fmin(fmax(s->start[j], lo[j]), hi[j]);
        if (opt->fixed && opt->fixed[j])
            lo[j] = hi[j] = x0[j];
    }
}

/* The best of the starts into result, and how many reached it; the first start's error
 * when every start failed (or when it is bad input, which every start shares). */
static nb_status best_start(start_jobs *jobs, int starts, nb_lsq_result *result)
{
    int best = -1, evals = 0, jacobians = 0;
    for (int k = 0; k < starts; k++)
        if (jobs->status[k] == NB_OK) {
            evals += jobs->results[k].n_evals, jacobians += jobs->results[k].n_jacobians;
            if (best < 0 || jobs->results[k].cost < jobs->results[best].cost)
                best = k;
        }
    if (best < 0 || jobs->status[0] == NB_EARG)
        return nb_fail(jobs->status[0], "%s", jobs->errors[0]);
    int reached = 0;
    for (int k = 0; k < starts; k++)
        reached += jobs->status[k] == NB_OK &&
                   jobs->results[k].cost <= jobs->results[best].cost * (1 + NB_LSQ_START_TOL) + DBL_MIN;
    *result = jobs->results[best];
    memset(&jobs->results[best], 0, sizeof jobs->results[best]);
    if (best != 0 && jobs->status[0] == NB_OK)
        memcpy(result->moved, jobs->results[0].moved, (size_t)result->n_params * sizeof *result->moved);
    result->starts = starts, result->starts_at_best = reached;
    result->n_evals = evals, result->n_jacobians = jacobians;
    return NB_OK;
}

static nb_status fit_starts(fit_state *s, const nb_lsq_options *opt, double value_norm, nb_lsq_result *result)
{
    int starts = opt->starts;
    start_jobs jobs = {.s = s, .one = *opt, .value_norm = value_norm};
    jobs.one.starts = 1;
    jobs.lo = nb_alloc((size_t)s->n * 3 * sizeof(double));
    jobs.results = nb_calloc((size_t)starts, sizeof *jobs.results);
    jobs.status = nb_calloc((size_t)starts, sizeof *jobs.status);
    jobs.errors = nb_calloc((size_t)starts, sizeof *jobs.errors);
    nb_status status = NB_OK;
    if (!jobs.lo || !jobs.results || !jobs.status || !jobs.errors) {
        status = nb_fail(NB_ENOMEM, "out of memory for %d starts", starts);
    } else {
        jobs.hi = jobs.lo + s->n, jobs.x0 = jobs.lo + 2 * s->n;
        start_box(s, opt, jobs.lo, jobs.hi, jobs.x0);
        nb_parallel_chunks(starts, run_start, &jobs);
        status = best_start(&jobs, starts, result);
    }
    for (int k = 0; jobs.results && k < starts; k++)
        nb_lsq_result_clear(&jobs.results[k]);
    nb_free(jobs.lo), nb_free(jobs.results), nb_free(jobs.status), nb_free(jobs.errors);
    return status;
}

/* Levenberg–Marquardt (with bounds, fixed parameters, a robust loss or several starts:
 * its projected form), or one QR solve for a formula linear in its parameters. */
static nb_status fit_by_solver(fit_state *s, nb_lsq_options *opt, nb_lsq_result *result)
{
    bool linear = nb_expr_is_linear(s->expr);
    if (s->lower) /* by name (nb_fit_setup), else by index (the options) */
        opt->lower = s->lower, opt->upper = s->upper, opt->fixed = s->fixed;
    bool constrained = opt->lower || opt->upper || opt->fixed || opt->loss != NB_LSQ_SQUARED || opt->starts > 1;
    if (opt->method == NB_LSQ_AUTO)
        opt->method = linear && !constrained ? NB_LSQ_LINEAR : NB_LSQ_LM;
    if (opt->method == NB_LSQ_LINEAR && !linear) {
        char names[512];
        return nb_fail(NB_EARG,
                       "the formula is not linear in its parameters (%s), so the method 'linear' (one QR solve) "
                       "does not apply; use 'lm' (Levenberg-Marquardt, the default for such a formula)",
                       param_list(s->expr, names, sizeof names));
    }
    double value_norm = 0;
    for (int i = 0; i < s->m; i++) {
        double v = s->weights ? s->weights[i] * s->y[i] : s->y[i];
        value_norm += v * v;
    }
    if (opt->starts > 1 && opt->method != NB_LSQ_LINEAR)
        return fit_starts(s, opt, sqrt(value_norm), result);
    /* check_start ran the graph at the start: the solver's first evaluation reads it. */
    lsq_data data = {s->weights, s->offset, sqrt(value_norm), true};
    return nb_lsq_fit(s->residual, s->n, s->params, s->start, &data, opt, result);
}

/* A gradient method trains its own graph of the formula; the statistics are then those of
 * its end point, from the fit graph's Jacobian. */
static nb_status fit_by_gradient(fit_state *s, const nb_lsq_options *opt, nb_lsq_result *result)
{
    double *x = nb_alloc((size_t)s->n * sizeof *x);
    if (!x)
        return nb_fail(NB_ENOMEM, "out of memory");
    lsq_gradient_run run;
    nb_status status = nb_lsq_gradient_fit(s->expr, s->data, s->y, s->weights, s->start, opt, x, &run);
    if (status == NB_OK)
        status = nb_lsq_statistics_at(s->residual, s->n, s->params, x, &(lsq_data){s->weights, s->offset, 0, false},
                                      opt, result);
    nb_free(x);
    if (status != NB_OK)
        return status;
    result->method = opt->method;
    result->optim = opt->optim;
    result->stop = run.stop;
    result->iterations = run.iterations;
    result->n_evals = run.n_evals;
    result->epochs = run.epochs;
    result->lr = run.lr;
    result->batch = run.batch;
    /* A gradient method cannot tell its end from an optimum: running out of epochs is
     * no convergence, nor is a line search that could not go lower (it may have stalled
     * short of the optimum). Compare with the solver to know. */
    result->converged = false;
    return NB_OK;
}

/* Run the graph at the parameters x, unless it holds their values already: every change
 * of its parameters here and in the solver is followed by a forward pass, so parameters
 * that hold x bit for bit mean residuals of x (the solver usually ends there). */
static nb_status graph_at(fit_state *s, const double *x)
{
    bool there = true;
    for (int j = 0; j < s->n; j++) {
        double *value = nb_value(s->params[j])->data;
        for (int i = 0; i < s->m; i++) {
            there &= memcmp(&value[i], &x[j], sizeof *x) == 0;
            value[i] = x[j];
        }
    }
    return there ? NB_OK : nb_forward(s->residual);
}

/* The model and the residuals at the estimates, per point; the information criteria. */
static nb_status finish_result(fit_state *s, nb_lsq_result *result)
{
    if (!isfinite(result->sse))
        return nb_fail(NB_ENUMERIC, "the fit diverged: the sum of squares is %g where the solver stopped (the "
                                    "residuals overflow); rescale the data or give start values nearer the answer",
                       result->sse);
    memcpy(result->defaulted, s->defaulted, (size_t)s->n * sizeof *s->defaulted);
    result->r_squared = r_squared(s, result->sse);
    nb_lsq_information(result, s->weights);
    result->fitted = nb_alloc((size_t)s->m * sizeof *result->fitted);
    result->residuals = nb_alloc((size_t)s->m * sizeof *result->residuals);
    if (!result->fitted || !result->residuals)
        return nb_fail(NB_ENOMEM, "out of memory for %d fitted values", s->m);
    nb_status status = graph_at(s, result->params);
    if (status != NB_OK)
        return status;
    const double *v = nb_value(s->residual)->data;
    for (int i = 0; i < s->m; i++) {
        double r = s->offset ? v[i] - s->offset[i] : v[i]; /* as the graph subtracts: y + r may differ from v */
        result->fitted[i] = r + s->y[i];
        result->residuals[i] = -r;
    }
    return NB_OK;
}

/* Everything after parsing: the response, weights and start, the graph, the fit. */
static nb_status fit_parsed(fit_state *s, const nb_fit_setup *setup, nb_lsq_options *opt, nb_lsq_result *result)
{
    nb_status status;
    s->n = nb_expr_n_params(s->expr);
    if ((status = pick_response(s, setup)) != NB_OK || (status = pick_weights(s, setup)) != NB_OK ||
        (status = pick_start(s, setup)) != NB_OK || (status = pick_constraints(s, setup)) != NB_OK)
        return status;
    if (s->m < s->n) {
        char names[512];
        return nb_fail(NB_EARG, "%d data point%s cannot determine %d parameters (%s): fewer points than parameters",
                       s->m, s->m == 1 ? "" : "s", s->n, param_list(s->expr, names, sizeof names));
    }
    status = s->shared ? shared_fill(s) : build_graph(s);
    if (status != NB_OK || (status = check_start(s)) != NB_OK)
        return status;
    if (nb_lsq_method_is_gradient(opt->method) &&
        (s->lower || opt->loss != NB_LSQ_SQUARED || opt->starts > 1 || opt->lower || opt->upper || opt->fixed))
        return nb_fail(NB_EARG, "bounds, fixed parameters, robust losses and multiple starts are for the solver "
                                "(lm), not for gradient descent (%s)",
                       nb_optim_name(opt->optim));
    status = nb_lsq_method_is_gradient(opt->method) ? fit_by_gradient(s, opt, result) : fit_by_solver(s, opt, result);
    if (status == NB_OK && (status = finish_result(s, result)) != NB_OK)
        nb_lsq_result_clear(result);
    return status;
}

static nb_status check_fit_args(const char *formula, const nb_table *data, nb_lsq_result *result)
{
    if (!result)
        return nb_fail(NB_EARG, "nb_fit_formula: result must not be NULL");
    memset(result, 0, sizeof *result);
    if (!formula || !data || data->n_columns < 1 || !data->names || !data->columns)
        return nb_fail(NB_EARG, "nb_fit_formula: needs a formula and a table with at least one column");
    if (data->n_rows > INT32_MAX / 64)
        return nb_fail(NB_EARG, "nb_fit_formula: %lld rows are too many", (long long)data->n_rows);
    return NB_OK;
}

nb_status nb_fit_formula(const char *formula, const nb_table *data, const nb_fit_setup *setup,
                         const nb_lsq_options *options, nb_lsq_result *result)
{
    if (check_fit_args(formula, data, result) != NB_OK)
        return nb_errcode();
    nb_lsq_options opt = options ? *options : nb_lsq_defaults();
    if (nb_lsq_check_options(&opt) != NB_OK)
        return nb_errcode();
    fit_state s = {.data = data, .m = (int)data->n_rows};
    s.expr = nb_expr_parse(formula, data->n_columns, (const char *const *)data->names);
    nb_status status = s.expr ? fit_parsed(&s, setup, &opt, result) : nb_errcode();
    state_free(&s);
    return status;
}

nb_status nb_fit_parsed(const nb_expr *expr, const nb_table *data, const nb_fit_setup *setup,
                        const nb_lsq_options *options, fit_graph *shared, nb_lsq_result *result)
{
    if (check_fit_args(nb_expr_text(expr), data, result) != NB_OK)
        return nb_errcode();
    nb_lsq_options opt = *options;
    fit_state s = {.data = data, .m = (int)data->n_rows, .expr = (nb_expr *)expr, .shared = shared};
    nb_status status = fit_parsed(&s, setup, &opt, result);
    state_free(&s);
    return status;
}
