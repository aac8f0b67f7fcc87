/* What `nabla fit` prints: one fit as a table or JSON, a batch of fits as rows. */
#include "fit_report.h"
#include "fit_options.h"

#include <cjson/cJSON.h>
#include <ctype.h>
#include <float.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

const char *fit_method_name(nb_lsq_method method, nb_optim_kind optim)
{
    return method == NB_LSQ_GRADIENT ? nb_optim_name(optim) : nb_lsq_method_name(method);
}


nb_status find_response(const nb_fit_setup *setup, const nb_table *data, const nb_expr *expr, response_info *r)
{
    int64_t m = data->n_rows;
    r->n = m;
    r->values = malloc((size_t)(m ? m : 1) * sizeof *r->values);
    if (!r->values)
        return nb_fail(NB_ENOMEM, "out of memory");
    if (nb_expr_has_response(expr)) {
        const char *formula = nb_expr_text(expr), *equals = strchr(formula, '=');
        while (isspace((unsigned char)*formula))
            formula++;
        int length = (int)(equals - formula);
        while (length > 0 && isspace((unsigned char)formula[length - 1]))
            length--;
        snprintf(r->name, sizeof r->name, "%.*s", length, formula);
        int column = nb_table_column(data, r->name);
        r->transformed = column < 0 || strcmp(data->names[column], r->name) != 0;
        nb_clear_error();
        nb_status status = nb_expr_eval(expr, true, m, (const double *const *)data->columns, NULL, r->values);
        if (status != NB_OK)
            return status;
    } else {
        int k = nb_table_column(data, setup->response ? setup->response : "y");
        if (k < 0)
            k = data->n_columns - 1; /* only reached without --y: nb_fit_formula checked it */
        snprintf(r->name, sizeof r->name, "%s", data->names[k]);
        memcpy(r->values, data->columns[k], (size_t)m * sizeof *r->values);
    }
    int sigma = setup->sigma ? nb_table_column(data, setup->sigma) : -1;
    r->sigma = sigma >= 0 ? data->columns[sigma] : NULL;
    return NB_OK;
}


/* Reached: a sum of squares within a millionth of the solver's, or both at the level of
 * rounding (1e-20 of the sum of the squared weighted responses, residuals of 1e-10). */
void compare_with_solver(const char *formula, const nb_table *data, const nb_fit_setup *setup,
                         const nb_lsq_options *lsq, const nb_lsq_result *r, const response_info *response,
                         comparison *c)
{
    memset(c, 0, sizeof *c);
    nb_lsq_options solver = *lsq;
    solver.method = NB_LSQ_AUTO;
    solver.lr = 0, solver.epochs = 0, solver.batch = 0;
    if (nb_fit_formula(formula, data, setup, &solver, &c->solver) != NB_OK) {
        snprintf(c->error, sizeof c->error, "%s", nb_errmsg());
        return;
    }
    c->ran = true;
    double scale = 0;
    for (int64_t i = 0; i < data->n_rows; i++) {
        double wy = response->values[i] / (response->sigma ? response->sigma[i] : 1);
        scale += wy * wy;
    }
    c->reached = r->sse <= c->solver.sse * (1 + 1e-6) + 1e-20 * scale;
    for (int j = 0; j < r->n_params; j++) { /* relative: parameters differ in scale */
        double diff = fabs(r->params[j] - c->solver.params[j]) / fmax(fabs(c->solver.params[j]), DBL_MIN);
        if (j == 0 || diff > c->worst_diff)
            c->worst = j, c->worst_diff = diff;
    }
}

static const char *solver_name(nb_lsq_method method)
{
    return method == NB_LSQ_LINEAR ? "the linear least-squares solve" : "Levenberg-Marquardt";
}

/* The optimizer of gradient descent as the text calls it. */
static const char *optim_title(nb_optim_kind optim)
{
    return optim == NB_SGD ? "SGD" : optim == NB_ADAM ? "Adam" : optim == NB_LBFGS ? "L-BFGS" : nb_optim_name(optim);
}

static void print_method(const nb_lsq_result *r)
{
    if (r->method == NB_LSQ_LINEAR)
        printf("method    linear least squares (QR in extended precision, refined)\n");
    else if (r->method == NB_LSQ_GRADIENT && r->optim == NB_LBFGS)
        printf("method    L-BFGS, a gradient method: all points at once, strong Wolfe line search (first try "
               "%g)\n",
               r->lr);
    else if (r->method == NB_LSQ_GRADIENT)
        printf("method    %s, a gradient method: learning rate %g, batches of %lld shuffled every epoch\n",
               optim_title(r->optim), r->lr, (long long)r->batch);
    else
        printf("method    Levenberg-Marquardt, derivatives by automatic differentiation\n");
}

static void print_notes(const nb_lsq_result *r);

static void print_summary(const fit_report *rep, const nb_lsq_result *r)
{
    bool gradient = nb_lsq_method_is_gradient(r->method);
    const comparison *c = rep->compare;
    printf("formula   %s\n", rep->formula);
    printf("data      %s: %lld points%s", rep->file, (long long)r->n_points,
           rep->weighted ? ", weighted by 1/sigma^2" : "");
    if (rep->dropped)
        printf(" (%lld row%s with a missing value dropped)", (long long)rep->dropped, rep->dropped == 1 ? "" : "s");
    printf("\n");
    print_method(r);
    printf("stopped   %s%s\n\n", nb_lsq_stop_text(r->stop), r->converged || gradient ? "" : "  ** NOT CONVERGED **");

    int width = 9;
    for (int j = 0; j < r->n_params; j++)
        if ((int)strlen(r->names[j]) > width)
            width = (int)strlen(r->names[j]);
    char level[64];
    snprintf(level, sizeof level, "%g%% confidence interval", 100 * r->confidence);
    printf("%-*s  %18s  %12s  %s\n", width, "parameter", "estimate", "std error", level);
    for (int j = 0; j < r->n_params; j++)
        printf("%-*s  %18.11g  %12.5g  [%.8g, %.8g]%s\n", width, r->names[j], r->params[j], r->std_error[j],
               r->ci_low[j], r->ci_high[j], fit_param_status(r, j));
    printf("\n");
    printf("sum of squares      %.11g\n", r->sse);
    printf("residual std error  %.6g on %lld degrees of freedom\n", r->residual_std, (long long)r->dof);
    if (rep->response->transformed) /* R² of the transform the fit saw, not of the data's column */
        printf("R^2                 %.10g (of %s, the left side)\n", r->r_squared, rep->response->name);
    else
        printf("R^2                 %.10g\n", r->r_squared);
    char aicc[48] = "undefined: too few points"; /* AICc divides by n - k - 1 */
    if (isfinite(r->aicc))
        snprintf(aicc, sizeof aicc, "%.8g", r->aicc);
    printf("log-likelihood      %.8g (Gaussian; AIC %.8g, AICc %s, BIC %.8g)\n", r->log_likelihood, r->aic, aicc,
           r->bic);
    if (gradient && r->optim == NB_LBFGS)
        printf("iterations          %d (%d evaluation%s of the loss and its gradient, line searches included)\n",
               r->iterations, r->n_evals, r->n_evals == 1 ? "" : "s");
    else if (gradient)
        printf("iterations          %d update%s in %d epoch%s (a gradient of a batch each)\n", r->iterations,
               r->iterations == 1 ? "" : "s", r->epochs, r->epochs == 1 ? "" : "s");
    else
        printf("iterations          %d (%d model evaluation%s, %d Jacobian evaluation%s)\n", r->iterations,
               r->n_evals, r->n_evals == 1 ? "" : "s", r->n_jacobians, r->n_jacobians == 1 ? "" : "s");
    if (gradient) {
        if (!c->ran) {
            printf("solver    the least-squares solver, for comparison, failed: %s\n", c->error);
        } else {
            printf("solver    %s on the same data%s: sum of squares %.6g (%d iteration%s)\n",
                   solver_name(c->solver.method), c->solver.method == NB_LSQ_LINEAR ? "" : " from the same start",
                   c->solver.sse, c->solver.iterations, c->solver.iterations == 1 ? "" : "s");
            printf("          %s %s (furthest parameter: %s = %.10g against %.10g)\n",
                   fit_method_name(r->method, r->optim),
                   c->reached ? "reached the least-squares optimum" : "did NOT reach the least-squares optimum",
                   r->names[c->worst], r->params[c->worst], c->solver.params[c->worst]);
        }
    }
    fit_constraint_notes(r);
    print_notes(r);
}

static void print_notes(const nb_lsq_result *r)
{
    bool no_errors = false;
    for (int j = 0; j < r->n_params; j++)
        no_errors |= isnan(r->std_error[j]) && r->dof > 0 && !(r->fixed && r->fixed[j]) &&
                     !(r->at_bound && r->at_bound[j]);
    if (no_errors)
        printf("note: the Jacobian is singular where %s ended (the model does not react to some parameter "
               "there), so the standard errors are not defined\n",
               fit_method_name(r->method, r->optim));
    /* A standard error far beyond the estimate: the data do not pin that parameter down
     * (often a start on a plateau where the model does not react to it). */
    for (int j = 0; j < r->n_params; j++)
        if (r->std_error[j] > 100 * fabs(r->params[j]))
            printf("note: %s is barely determined by the data (std error %.3g for an estimate of %.3g); "
                   "check the model and the start values\n",
                   r->names[j], r->std_error[j], r->params[j]);
    /* A linear solve does not start anywhere. */
    int defaulted = 0;
    for (int j = 0; j < r->n_params && r->method != NB_LSQ_LINEAR; j++)
        defaulted += r->defaulted[j];
    if (defaulted) {
        printf("note: no start value was given for");
        for (int j = 0, k = 0; j < r->n_params; j++)
            if (r->defaulted[j])
                printf("%s %s", k++ ? "," : "", r->names[j]);
        printf("; %s at 1 (set start values with --init)\n", defaulted > 1 ? "they started" : "it started");
    }
}

static cJSON *named_numbers(const nb_lsq_result *r, const double *values)
{
    cJSON *object = cJSON_CreateObject();
    for (int j = 0; object && j < r->n_params; j++)
        cJSON_AddNumberToObject(object, r->names[j], values[j]);
    return object;
}

/* JSON has no NaN: numbers that are not finite are null. */
static cJSON *number(double value) { return isfinite(value) ? cJSON_CreateNumber(value) : cJSON_CreateNull(); }

static cJSON *matrix(int n, const double *values)
{
    cJSON *rows = cJSON_CreateArray();
    for (int j = 0; rows && j < n; j++) {
        cJSON *row = cJSON_CreateArray();
        for (int k = 0; row && k < n; k++)
            cJSON_AddItemToArray(row, number(values[j * n + k]));
        cJSON_AddItemToArray(rows, row);
    }
    return rows;
}

/* The covariance and correlation matrices (rows and columns in the order of "params"),
 * the likelihood and the information criteria. */
static void json_statistics(cJSON *root, const fit_report *rep, const nb_lsq_result *r)
{
    int n = r->n_params;
    cJSON_AddStringToObject(root, "r_squared_of", rep->response->name);
    cJSON_AddItemToObject(root, "covariance", matrix(n, r->covariance));
    double *corr = malloc((size_t)(n ? n * n : 1) * sizeof *corr);
    for (int j = 0; corr && j < n; j++)
        for (int k = 0; k < n; k++)
            corr[j * n + k] = r->covariance[j * n + k] / sqrt(r->covariance[j * n + j] * r->covariance[k * n + k]);
    if (corr)
        cJSON_AddItemToObject(root, "correlation", matrix(n, corr));
    free(corr);
    cJSON_AddItemToObject(root, "log_likelihood", number(r->log_likelihood));
    cJSON_AddItemToObject(root, "aic", number(r->aic));
    cJSON_AddItemToObject(root, "aicc", number(r->aicc));
    cJSON_AddItemToObject(root, "bic", number(r->bic));
}

/* --residuals: per point the response the fit used, the fitted value and the residual. */
static void json_points(cJSON *root, const fit_report *rep, const nb_lsq_result *r)
{
    if (!rep->residuals || !r->fitted)
        return;
    cJSON *points = cJSON_AddObjectToObject(root, "points");
    bool same_rows = rep->response->n == r->n_points;
    cJSON *response = same_rows ? cJSON_AddArrayToObject(points, "response") : NULL;
    cJSON *fitted = cJSON_AddArrayToObject(points, "fitted");
    cJSON *residuals = cJSON_AddArrayToObject(points, "residuals");
    for (int64_t i = 0; i < r->n_points; i++) {
        if (response)
            cJSON_AddItemToArray(response, number(rep->response->values[i]));
        cJSON_AddItemToArray(fitted, number(r->fitted[i]));
        cJSON_AddItemToArray(residuals, number(r->residuals[i]));
    }
}

static void json_gradient(cJSON *root, const comparison *c, const nb_lsq_result *r)
{
    cJSON *gradient = cJSON_AddObjectToObject(root, "gradient");
    cJSON_AddNumberToObject(gradient, "epochs", r->epochs);
    cJSON_AddNumberToObject(gradient, "lr", r->lr);
    cJSON_AddNumberToObject(gradient, "batch", (double)r->batch);
    cJSON *solver = cJSON_AddObjectToObject(root, "solver");
    if (c->ran) {
        cJSON_AddStringToObject(solver, "method", nb_lsq_method_name(c->solver.method));
        cJSON_AddItemToObject(solver, "params", named_numbers(&c->solver, c->solver.params));
        cJSON_AddNumberToObject(solver, "sse", c->solver.sse);
        cJSON_AddNumberToObject(solver, "iterations", c->solver.iterations);
        cJSON_AddBoolToObject(root, "reached_optimum", c->reached);
    } else {
        cJSON_AddStringToObject(solver, "error", c->error);
        cJSON_AddNullToObject(root, "reached_optimum");
    }
}

static bool print_and_free(cJSON *root)
{
    char *text = cJSON_PrintUnformatted(root);
    cJSON_Delete(root);
    if (!text)
        return false;
    puts(text);
    cJSON_free(text);
    return true;
}

bool fit_print_json(const fit_report *rep, const nb_lsq_result *r)
{
    cJSON *root = cJSON_CreateObject();
    if (!root)
        return false;
    cJSON_AddStringToObject(root, "formula", rep->formula);
    cJSON_AddNumberToObject(root, "dropped_rows", (double)rep->dropped);
    cJSON *notes = cJSON_AddArrayToObject(root, "notes");
    for (int k = 0; k < rep->n_notes; k++)
        cJSON_AddItemToArray(notes, cJSON_CreateString(rep->notes[k]));
    cJSON_AddStringToObject(root, "method", fit_method_name(r->method, r->optim));
    cJSON_AddItemToObject(root, "params", named_numbers(r, r->params));
    cJSON_AddItemToObject(root, "stderr", named_numbers(r, r->std_error));
    cJSON *ci = cJSON_AddObjectToObject(root, "ci");
    cJSON_AddNumberToObject(ci, "level", r->confidence);
    for (int j = 0; j < r->n_params; j++) {
        double bounds[2] = {r->ci_low[j], r->ci_high[j]};
        cJSON_AddItemToObject(ci, r->names[j], cJSON_CreateDoubleArray(bounds, 2));
    }
    cJSON_AddNumberToObject(root, "sse", r->sse);
    cJSON_AddNumberToObject(root, "r_squared", r->r_squared);
    cJSON_AddNumberToObject(root, "residual_std", r->residual_std);
    cJSON_AddNumberToObject(root, "dof", (double)r->dof);
    cJSON_AddNumberToObject(root, "n_points", (double)r->n_points);
    cJSON_AddNumberToObject(root, "iterations", r->iterations);
    cJSON_AddNumberToObject(root, "evaluations", r->n_evals);
    cJSON_AddNumberToObject(root, "jacobian_evaluations", r->n_jacobians);
    cJSON_AddBoolToObject(root, "converged", r->converged);
    cJSON_AddStringToObject(root, "stop_reason", nb_lsq_stop_text(r->stop));
    cJSON *defaulted = cJSON_AddArrayToObject(root, "started_at_1");
    for (int j = 0; j < r->n_params; j++)
        if (r->defaulted[j])
            cJSON_AddItemToArray(defaulted, cJSON_CreateString(r->names[j]));
    fit_constraints_json(root, r);
    json_statistics(root, rep, r);
    json_points(root, rep, r);
    if (nb_lsq_method_is_gradient(r->method))
        json_gradient(root, rep->compare, r);
    if (rep->saved)
        cJSON_AddStringToObject(root, "saved", rep->saved);
    return print_and_free(root);
}

/* --residuals in the table: one line per point. */
static void print_points(const fit_report *rep, const nb_lsq_result *r)
{
    if (!rep->residuals || !r->fitted)
        return;
    /* the response the fit used is fitted + residual, whichever rows it kept */
    printf("\n%6s  %16s  %16s  %16s\n", "point", rep->response->name, "fitted", "residual");
    for (int64_t i = 0; i < r->n_points; i++)
        printf("%6lld  %16.10g  %16.10g  %16.10g\n", (long long)i + 1, r->fitted[i] + r->residuals[i], r->fitted[i],
               r->residuals[i]);
}

void fit_print_table(const fit_report *rep, const nb_lsq_result *r)
{
    print_summary(rep, r);
    for (int k = 0; k < rep->n_notes; k++)
        printf("note: %s\n", rep->notes[k]);
    print_points(rep, r);
    if (rep->saved)
        printf("saved     %s (nabla eval %s NEWDATA)\n", rep->saved, rep->saved);
}

/* The caption over the plot: how the fit was made and how well it fits. */
void fit_plot_caption(const nb_lsq_result *r, char *buf, size_t size)
{
    const char *how = r->method == NB_LSQ_LINEAR     ? "linear least squares"
                      : r->method == NB_LSQ_GRADIENT ? optim_title(r->optim)
                                                     : "Levenberg-Marquardt";
    int used;
    if (r->n_params <= 4) { /* more would not be readable: the table has them all */
        used = snprintf(buf, size, "%s: ", how);
        for (int j = 0; j < r->n_params && used < (int)size; j++)
            used += snprintf(buf + used, size - (size_t)used, "%s%s = %.5g", j ? ", " : "", r->names[j],
                             r->params[j]);
    } else {
        used = snprintf(buf, size, "%s, %d parameters", how, r->n_params);
    }
    if (used < (int)size)
        snprintf(buf + used, size - (size_t)used, "   (SSE %.4g, R\xc2\xb2 %.5g)", r->sse, r->r_squared);
}


/* ---- a batch of fits ------------------------------------------------------------------ */

/* A CSV field: quoted when it holds a delimiter, a quote or a line break. */
static void csv_text(const char *text)
{
    if (!strpbrk(text, ",\"\n\r")) {
        fputs(text, stdout);
        return;
    }
    putchar('"');
    for (const char *c = text; *c; c++) {
        if (*c == '"')
            putchar('"');
        putchar(*c);
    }
    putchar('"');
}

/* A number with the digits that read back the same; nothing for NaN (an empty cell). */
static void csv_number(double value)
{
    if (isfinite(value))
        printf(",%.17g", value);
    else if (isnan(value))
        putchar(',');
    else
        printf(",%s", value > 0 ? "inf" : "-inf");
}

static void print_batch_csv(const nb_fit_batch *b, const char *group_name)
{
    csv_text(group_name);
    for (int j = 0; j < b->n_params; j++)
        printf(",%s", b->names[j]);
    for (int j = 0; j < b->n_params; j++)
        printf(",se_%s", b->names[j]);
    printf(",sse,converged,iterations,n,error\n");
    for (int k = 0; k < b->n_groups; k++) {
        const nb_fit_group *g = &b->groups[k];
        bool fitted = g->status == NB_OK;
        csv_text(g->name);
        for (int j = 0; j < 2 * b->n_params; j++)
            csv_number(!fitted ? NAN : j < b->n_params ? g->result.params[j] : g->result.std_error[j - b->n_params]);
        csv_number(fitted ? g->result.sse : NAN);
        printf(",%s,%d,%lld,", fitted && g->result.converged ? "true" : "false", fitted ? g->result.iterations : 0,
               (long long)g->n_rows);
        if (g->error)
            csv_text(g->error);
        putchar('\n');
    }
}

static cJSON *group_json(const nb_fit_batch *b, const nb_fit_group *g)
{
    cJSON *item = cJSON_CreateObject();
    bool fitted = g->status == NB_OK;
    cJSON_AddStringToObject(item, "group", g->name);
    cJSON_AddNumberToObject(item, "n", (double)g->n_rows);
    cJSON *params = cJSON_AddObjectToObject(item, "params"), *se = cJSON_AddObjectToObject(item, "stderr");
    for (int j = 0; j < b->n_params; j++) {
        cJSON_AddItemToObject(params, b->names[j], number(fitted ? g->result.params[j] : NAN));
        cJSON_AddItemToObject(se, b->names[j], number(fitted ? g->result.std_error[j] : NAN));
    }
    cJSON_AddItemToObject(item, "sse", number(fitted ? g->result.sse : NAN));
    cJSON_AddBoolToObject(item, "converged", fitted && g->result.converged);
    cJSON_AddNumberToObject(item, "iterations", fitted ? g->result.iterations : 0);
    cJSON_AddItemToObject(item, "error", g->error ? cJSON_CreateString(g->error) : cJSON_CreateNull());
    return item;
}

bool fit_print_batch(const nb_fit_batch *b, const char *formula, const char *group_name, bool json)
{
    if (!json) {
        print_batch_csv(b, group_name);
        return true;
    }
    cJSON *root = cJSON_CreateObject();
    if (!root)
        return false;
    cJSON_AddStringToObject(root, "formula", formula);
    cJSON_AddStringToObject(root, "by", group_name);
    cJSON_AddNumberToObject(root, "n_groups", b->n_groups);
    cJSON_AddNumberToObject(root, "n_failed", b->n_failed);
    cJSON *groups = cJSON_AddArrayToObject(root, "groups");
    for (int k = 0; k < b->n_groups; k++)
        cJSON_AddItemToArray(groups, group_json(b, &b->groups[k]));
    return print_and_free(root);
}
