/* Fitting a formula the tutorials' way: gradient descent with one of the toolkit's
 * optimizers on the mean squared (weighted) residual of shuffled mini-batches, so that
 * gradient descent and the least-squares solver can be compared on the same problem.
 *
 * The fit is a model like any other, trained by nb_train: the points become a dataset
 * whose features are the columns the formula reads (then the weights, when there are
 * any) and whose target is the response; the formula is built on the batch's input, each
 * column it reads an nb_column of it, each parameter a scalar nb_param. L-BFGS takes one
 * batch of all the points, unshuffled, and runs its iterations in one step. */
#include "fit/lsq_internal.h"

#include "nabla/fit.h"

#include <math.h>
#include <string.h>

#define DEFAULT_EPOCHS 1000
#define DEFAULT_BATCH 32

typedef struct fit_model {
    nb_model model;
    nb_dataset *points;
    int n_params;
    nb_node **params; /* scalars */
} fit_model;

static void fit_model_free(fit_model *f)
{
    nb_free(f->params);
    nb_graph_free(f->model.graph);
    nb_dataset_free(f->points);
}

/* The points as rows: the columns the formula reads (feature_of[k] says where column k
 * went, -1 when it is not read), then the weights (feature_of[n_columns]); the response
 * as the target. The one place that reads the table. */
static nb_dataset *points_dataset(const nb_expr *expr, const nb_table *data, const double *y,
                                  const double *weights, int *feature_of)
{
    int n_features = 0;
    for (int k = 0; k < data->n_columns; k++)
        feature_of[k] = nb_expr_uses_column(expr, k, false) ? n_features++ : -1;
    feature_of[data->n_columns] = weights ? n_features : -1;
    /* a dataset has features: a formula that reads no column gets one of zeros it ignores */
    int64_t m = data->n_rows, width = n_features + (weights != NULL);
    if (width == 0)
        width = 1;
    nb_dataset *points = nb_dataset_new(NB_F64, m, width, 1);
    if (!points)
        return NULL;
    double *rows = points->inputs->data, *targets = points->targets->data;
    for (int64_t i = 0; i < m; i++) {
        for (int k = 0; k < data->n_columns; k++)
            if (feature_of[k] >= 0)
                rows[i * width + feature_of[k]] = data->columns[k][i];
        if (weights)
            rows[i * width + n_features] = weights[i];
        targets[i] = y[i];
    }
    return points;
}

/* The parameters, scalars holding the start values. */
static nb_status make_params(fit_model *f, const nb_expr *expr, const double *start)
{
    f->n_params = nb_expr_n_params(expr);
    f->params = nb_calloc((size_t)f->n_params + 1, sizeof *f->params);
    if (!f->params)
        return nb_fail(NB_ENOMEM, "out of memory for the parameters of a gradient fit");
    for (int j = 0; j < f->n_params; j++) {
        f->params[j] = nb_param(f->model.graph, nb_expr_param_name(expr, j), 0, NULL);
        if (!f->params[j])
            return nb_errcode();
        *(double *)nb_value(f->params[j])->data = start[j];
    }
    return NB_OK;
}

/* The formula on the batch's input, and loss = mean of (w (formula - y))² over the batch. */
static nb_status build_loss(fit_model *f, const nb_expr *expr, const int *feature_of, int n_columns, int64_t batch,
                            nb_node **columns)
{
    nb_model *model = &f->model;
    int64_t width = nb_dataset_n_features(f->points);
    model->input = nb_input(model->graph, "points", 2, (int64_t[]){batch, width});
    model->target = nb_input(model->graph, "response", 2, (int64_t[]){batch, 1});
    for (int k = 0; k < n_columns; k++)
        if (feature_of[k] >= 0)
            columns[k] = nb_column(model->input, feature_of[k]);
    model->output = nb_expr_build(expr, model->graph, columns, f->params);
    nb_node *residual = nb_sub(model->output, model->target);
    if (feature_of[n_columns] >= 0)
        residual = nb_mul(residual, nb_column(model->input, feature_of[n_columns]));
    model->loss = nb_mean(nb_mul(residual, residual));
    return model->loss ? NB_OK : nb_errcode();
}

static nb_status fit_model_build(fit_model *f, const nb_expr *expr, const nb_table *data, const double *y,
                                 const double *weights, const double *start, int64_t batch)
{
    memset(f, 0, sizeof *f);
    int *feature_of = nb_calloc((size_t)data->n_columns + 1, sizeof *feature_of);
    nb_node **columns = nb_calloc((size_t)data->n_columns, sizeof *columns);
    nb_status status = NB_OK;
    if (!feature_of || !columns)
        status = nb_fail(NB_ENOMEM, "out of memory building the formula for a gradient fit");
    else if (!(f->points = points_dataset(expr, data, y, weights, feature_of)) ||
             !(f->model.graph = nb_graph_new(NB_F64)))
        status = nb_errcode();
    if (status == NB_OK)
        status = make_params(f, expr, start);
    if (status == NB_OK)
        status = build_loss(f, expr, feature_of, data->n_columns, batch, columns);
    nb_free(columns);
    nb_free(feature_of);
    return status;
}

static nb_optim_config optimizer_config(const nb_lsq_options *options, int epochs)
{
    nb_optim_config config = nb_optim_defaults(options->optim);
    if (options->optim == NB_SGD || options->optim == NB_ADAM)
        config.lr = 0.01;
    if (options->optim == NB_LBFGS) {
        config.max_iter = epochs;
        /* Run as far as double precision lets it: the iterations end when the line search
         * cannot decrease the loss (torch's absolute tolerances would stop 5 digits
         * short); that is no proof of an optimum, so it is not reported as converged. */
        config.tolerance_grad = 0;
        config.tolerance_change = 0;
    }
    if (options->lr > 0)
        config.lr = options->lr;
    return config;
}

/* The loop's divergence, in the fit's words. */
static nb_status diverged(const nb_optimizer *optimizer, const nb_train_result *trained)
{
    return nb_fail(NB_ENUMERIC,
                   "%s diverged at epoch %d, batch %lld: the mean squared residual of the batch or a parameter "
                   "became NaN or infinite; try a smaller learning rate (this one is %g)",
                   nb_optim_name(nb_optim_config_of(optimizer)->kind), trained->diverged_epoch,
                   (long long)trained->diverged_batch + 1, nb_optim_lr(optimizer));
}

/* Train `f` with nb_train: SGD and the like on shuffled batches for `epochs` epochs,
 * L-BFGS on one unshuffled batch of all points for one step of up to `epochs` iterations. */
static nb_status train(fit_model *f, nb_optimizer *optimizer, int64_t batch, int epochs, uint64_t seed,
                       lsq_gradient_run *run)
{
    bool lbfgs = nb_optim_config_of(optimizer)->kind == NB_LBFGS;
    nb_train_config config = nb_train_defaults();
    config.epochs = lbfgs ? 1 : epochs;
    config.batch_size = batch;
    config.shuffle = !lbfgs;
    config.seed = seed;
    nb_train_result trained;
    nb_status status = nb_train(&f->model, optimizer, f->points, NULL, &config, &trained);
    if (status == NB_ENUMERIC && trained.diverged)
        return diverged(optimizer, &trained);
    if (status != NB_OK)
        return status;
    run->iterations = (int)nb_optim_steps(optimizer);
    run->n_evals = (int)trained.evaluations;
    run->epochs = lbfgs ? run->iterations : trained.epochs_run;
    run->stop = lbfgs && run->iterations < epochs ? NB_LSQ_STOP_STALLED : NB_LSQ_STOP_EPOCHS;
    return NB_OK;
}

/* The end point into x; a parameter that is not finite is an error. */
static nb_status end_point(const fit_model *f, const nb_expr *expr, const nb_lsq_options *options, double *x)
{
    for (int j = 0; j < f->n_params; j++) {
        x[j] = nb_item(f->params[j]);
        if (!isfinite(x[j]))
            return nb_fail(NB_ENUMERIC, "%s ended with %s = %g; try a smaller learning rate",
                           nb_optim_name(options->optim), nb_expr_param_name(expr, j), x[j]);
    }
    return NB_OK;
}

nb_status nb_lsq_gradient_fit(const nb_expr *expr, const nb_table *data, const double *y, const double *weights,
                           const double *start, const nb_lsq_options *options, double *x, lsq_gradient_run *run)
{
    memset(run, 0, sizeof *run);
    int64_t m = data->n_rows;
    bool lbfgs = options->optim == NB_LBFGS;
    if (lbfgs && options->batch > 0 && options->batch < m)
        return nb_fail(NB_EARG, "L-BFGS takes all %lld points at once (its line search compares losses of the "
                                "same points), so a batch of %lld does not apply",
                       (long long)m, (long long)options->batch);
    int64_t batch = lbfgs ? m : options->batch > 0 ? options->batch : DEFAULT_BATCH;
    if (batch > m)
        batch = m;
    int epochs = options->epochs > 0 ? options->epochs : DEFAULT_EPOCHS;
    fit_model f;
    nb_status status = fit_model_build(&f, expr, data, y, weights, start, batch);
    nb_optimizer *optimizer = NULL;
    if (status == NB_OK) {
        nb_optim_config config = optimizer_config(options, epochs);
        run->lr = config.lr;
        run->batch = batch;
        optimizer = nb_optim_new(f.model.graph, &config);
        status = optimizer ? NB_OK : nb_errcode();
    }
    if (status == NB_OK)
        status = train(&f, optimizer, batch, epochs, options->seed, run);
    if (status == NB_OK)
        status = end_point(&f, expr, options, x);
    nb_optim_free(optimizer);
    fit_model_free(&f);
    return status;
}
