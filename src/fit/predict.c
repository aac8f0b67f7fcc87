/* A kept fit at new inputs: the fitted values, and their confidence and prediction
 * intervals by the delta method. The model's gradient w.r.t. the parameters comes from
 * one backward pass: each parameter is an input of shape [n] (one copy per point) and
 * the formula is pointwise, so the gradient of parameter j's input at point i is
 * d model_i / d p_j. */
#include "fit/lsq_internal.h"

#include <math.h>
#include <string.h>

void nb_fit_prediction_clear(nb_fit_prediction *p)
{
    if (!p)
        return;
    nb_free(p->fitted);
    nb_free(p->se_fit);
    nb_free(p->conf_low);
    nb_free(p->conf_high);
    nb_free(p->pred_low);
    nb_free(p->pred_high);
    memset(p, 0, sizeof *p);
}

static nb_status prediction_alloc(nb_fit_prediction *p, int64_t n)
{
    size_t size = (size_t)n * sizeof(double);
    p->n = n;
    p->fitted = nb_alloc(size), p->se_fit = nb_alloc(size);
    p->conf_low = nb_alloc(size), p->conf_high = nb_alloc(size);
    p->pred_low = nb_alloc(size), p->pred_high = nb_alloc(size);
    if (!p->fitted || !p->se_fit || !p->conf_low || !p->conf_high || !p->pred_low || !p->pred_high)
        return nb_fail(NB_ENOMEM, "out of memory for %lld predictions", (long long)n);
    return NB_OK;
}

/* The data column for each column of the model that the formula reads (by name). */
static nb_status match_columns(const nb_fit_model *m, const nb_expr *expr, const nb_table *data, int *source)
{
    for (int k = 0; k < m->n_columns; k++) {
        source[k] = -1;
        if (!nb_expr_uses_column(expr, k, false))
            continue;
        for (int c = 0; c < data->n_columns && source[k] < 0; c++)
            if (strcmp(data->names[c], m->columns[k]) == 0)
                source[k] = c;
        if (source[k] < 0 && data->source && strcmp(data->source, "<arrays>") != 0)
            return nb_fail(NB_EARG,
                           "'%s' has no column '%s', which the formula '%s' reads; give the new data a column "
                           "of that name (a header line names the columns)",
                           data->source, m->columns[k], m->formula);
        if (source[k] < 0)
            return nb_fail(NB_EARG, "the new points give no value of '%s', which the formula '%s' reads",
                           m->columns[k], m->formula);
    }
    return NB_OK;
}

typedef struct predict_graph {
    nb_graph *graph;
    nb_node **columns, **params, *model;
} predict_graph;

static nb_status build(const nb_fit_model *m, const nb_expr *expr, const nb_table *data, const int *source,
                       predict_graph *g)
{
    int64_t shape[1] = {data->n_rows};
    g->graph = nb_graph_new(NB_F64);
    g->columns = nb_calloc((size_t)(m->n_columns ? m->n_columns : 1), sizeof *g->columns);
    g->params = nb_calloc((size_t)(m->n_params ? m->n_params : 1), sizeof *g->params);
    if (!g->graph || !g->columns || !g->params)
        return nb_fail(NB_ENOMEM, "out of memory for the predictions' graph");
    for (int k = 0; k < m->n_columns; k++) {
        if (source[k] < 0)
            continue;
        g->columns[k] = nb_input(g->graph, m->columns[k], 1, shape);
        if (!g->columns[k] || nb_input_set_doubles(g->columns[k], data->columns[source[k]], data->n_rows) != NB_OK)
            return nb_errcode();
    }
    for (int j = 0; j < m->n_params; j++) {
        g->params[j] = nb_input(g->graph, m->names[j], 1, shape);
        if (!g->params[j] || nb_set_requires_grad(g->params[j], true) != NB_OK)
            return nb_errcode();
        double *value = nb_value(g->params[j])->data;
        for (int64_t i = 0; i < data->n_rows; i++)
            value[i] = m->params[j];
    }
    g->model = nb_expr_build(expr, g->graph, g->columns, g->params);
    if (!g->model)
        return nb_errcode();
    nb_status status = nb_forward(g->model);
    if (status == NB_OK && nb_value(g->model)->size != data->n_rows)
        return nb_fail(NB_ESHAPE, "the formula gives %lld values for %lld rows", (long long)nb_value(g->model)->size,
                       (long long)data->n_rows);
    if (status == NB_OK)
        nb_zero_grad(g->graph);
    return status == NB_OK ? nb_backward_seed(g->model, NULL) : status;
}

/* The variance of a new observation at row i: s² (weighted: s² sigma_i², absolute
 * sigmas: sigma_i²); NaN when a weighted fit's sigma is not in the new data. */
static double noise_variance(const nb_fit_model *m, const double *sigma, int64_t i)
{
    if (!m->sigma)
        return m->residual_variance;
    if (!sigma)
        return NAN;
    double s2 = sigma[i] * sigma[i];
    return m->absolute_sigma ? s2 : m->residual_variance * s2;
}

static void intervals(const nb_fit_model *m, const predict_graph *g, const double *sigma, nb_fit_prediction *p)
{
    int n = m->n_params;
    double t = m->dof > 0 ? nb_student_t_quantile(0.5 + p->confidence / 2, (double)m->dof) : NAN;
    const double *fitted = nb_value(g->model)->data;
    for (int64_t i = 0; i < p->n; i++) {
        /* A parameter held fixed or stopped at a bound was not estimated: its covariance
         * row is NaN and it adds no uncertainty (counting it would make var NaN, which
         * fmax below would turn into a zero-width interval). */
        double var = 0;
        for (int j = 0; j < n; j++) {
            if (isnan(m->covariance[j * n + j]))
                continue;
            double gj = ((const double *)nb_grad(g->params[j])->data)[i];
            for (int k = 0; k < n; k++)
                if (!isnan(m->covariance[k * n + k]))
                    var += gj * m->covariance[j * n + k] * ((const double *)nb_grad(g->params[k])->data)[i];
        }
        double se = sqrt(fmax(var, 0)), spread = sqrt(fmax(var, 0) + noise_variance(m, sigma, i));
        p->fitted[i] = fitted[i];
        p->se_fit[i] = se;
        p->conf_low[i] = fitted[i] - t * se, p->conf_high[i] = fitted[i] + t * se;
        p->pred_low[i] = fitted[i] - t * spread, p->pred_high[i] = fitted[i] + t * spread;
    }
}

nb_status nb_fit_model_predict(const nb_fit_model *model, const nb_table *data, double confidence,
                               nb_fit_prediction *out)
{
    if (!out)
        return nb_fail(NB_EARG, "nb_fit_model_predict: out must not be NULL");
    memset(out, 0, sizeof *out);
    if (!model || !model->formula || !data || data->n_rows < 1)
        return nb_fail(NB_EARG, "nb_fit_model_predict: needs a model and a table with at least one row");
    if (!(confidence > 0 && confidence < 1))
        return nb_fail(NB_EARG, "the confidence level must be between 0 and 1 (both excluded), not %g", confidence);
    nb_expr *expr = nb_expr_parse(model->formula, model->n_columns, (const char *const *)model->columns);
    int *source = nb_calloc((size_t)(model->n_columns ? model->n_columns : 1), sizeof *source);
    predict_graph g = {0};
    nb_status status = !expr ? nb_errcode() : source ? NB_OK : nb_fail(NB_ENOMEM, "out of memory");
    if (status == NB_OK)
        status = match_columns(model, expr, data, source);
    if (status == NB_OK)
        status = build(model, expr, data, source, &g);
    if (status == NB_OK)
        status = prediction_alloc(out, data->n_rows);
    if (status == NB_OK) {
        int sigma = -1;
        for (int c = 0; model->sigma && c < data->n_columns && sigma < 0; c++)
            sigma = strcmp(data->names[c], model->sigma) == 0 ? c : -1;
        out->confidence = confidence;
        intervals(model, &g, sigma >= 0 ? data->columns[sigma] : NULL, out);
    } else {
        nb_fit_prediction_clear(out);
    }
    nb_graph_free(g.graph);
    nb_free(g.columns);
    nb_free(g.params);
    nb_free(source);
    nb_expr_free(expr);
    return status;
}
