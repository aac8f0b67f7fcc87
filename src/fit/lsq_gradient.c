/* Fitting a formula the tutorials' way: the toolkit's optimizers (SGD, Adam, L-BFGS) on
 * the mean squared residual of shuffled mini-batches, so that gradient descent and the
 * least-squares solver can be compared on the same problem.
 *
 * The formula is built into a graph of its own here: each parameter a scalar nb_param
 * (the optimizers update the graph's flat parameter buffer), each column it reads an
 * input of the batch's size. A batch arrives from nb_loader as rows; its columns are
 * gathered into buffers the inputs are bound to. */
#include "fit/lsq_internal.h"

#include "nabla/fit.h"

#include <math.h>
#include <string.h>

#define DEFAULT_EPOCHS 1000
#define DEFAULT_BATCH 32

typedef struct trainer {
    nb_graph *graph;
    int n_values;       /* values a row carries: the columns the formula reads, y, the weight */
    nb_node **inputs;   /* n_values inputs of shape [batch] */
    double **columns;   /* n_values buffers of `batch` values: the batch's rows as columns */
    int n_params;
    nb_node **params;   /* scalars */
    nb_node *loss;      /* mean of (w (model - y))² over the batch */
    int n_evals;
} trainer;

static void trainer_free(trainer *t)
{
    if (t->columns)
        for (int v = 0; v < t->n_values; v++)
            nb_free(t->columns[v]);
    nb_free(t->columns);
    nb_free(t->inputs);
    nb_free(t->params);
    nb_graph_free(t->graph);
}

/* The graph of the batch loss. `sources` gets the n_values arrays of m values a row is
 * made of, in the order of the inputs. */
static nb_status trainer_build(trainer *t, const nb_expr *expr, const nb_table *data, const double *y,
                               const double *weights, const double *start, int64_t batch, const double **sources)
{
    memset(t, 0, sizeof *t);
    t->n_params = nb_expr_n_params(expr);
    t->graph = nb_graph_new(NB_F64);
    t->inputs = nb_calloc((size_t)data->n_columns + 2, sizeof *t->inputs);
    t->columns = nb_calloc((size_t)data->n_columns + 2, sizeof *t->columns);
    t->params = nb_calloc((size_t)t->n_params + 1, sizeof *t->params);
    nb_node **column_nodes = nb_calloc((size_t)data->n_columns, sizeof *column_nodes);
    if (!t->graph || !t->inputs || !t->columns || !t->params || !column_nodes) {
        nb_free(column_nodes);
        return nb_fail(NB_ENOMEM, "out of memory building the formula for a gradient method");
    }
    int64_t shape[1] = {batch};
    for (int k = 0; k < data->n_columns; k++) {
        if (!nb_expr_uses_column(expr, k, false))
            continue;
        sources[t->n_values] = data->columns[k];
        column_nodes[k] = t->inputs[t->n_values++] = nb_input(t->graph, data->names[k], 1, shape);
    }
    sources[t->n_values] = y;
    nb_node *response = t->inputs[t->n_values++] = nb_input(t->graph, "response", 1, shape);
    nb_node *weight = NULL;
    if (weights) {
        sources[t->n_values] = weights;
        weight = t->inputs[t->n_values++] = nb_input(t->graph, "weight", 1, shape);
    }
    nb_status status = NB_OK;
    for (int v = 0; v < t->n_values && status == NB_OK; v++)
        if (!t->inputs[v] || !(t->columns[v] = nb_alloc((size_t)batch * sizeof(double))))
            status = t->inputs[v] ? nb_fail(NB_ENOMEM, "out of memory for batches of %lld", (long long)batch)
                                  : nb_errcode();
    for (int j = 0; j < t->n_params && status == NB_OK; j++) {
        t->params[j] = nb_param(t->graph, nb_expr_param_name(expr, j), 0, NULL);
        if (!t->params[j])
            status = nb_errcode();
        else
            *(double *)nb_value(t->params[j])->data = start[j];
    }
    if (status == NB_OK) {
        nb_node *residual = nb_sub(nb_expr_build(expr, t->graph, column_nodes, t->params), response);
        if (weight)
            residual = nb_mul(residual, weight);
        t->loss = nb_mean(nb_mul(residual, residual));
        if (!t->loss)
            status = nb_errcode();
    }
    nb_free(column_nodes);
    return status;
}

/* Zero the gradients, then the batch loss and its gradient (the closure of nb_optim). */
static nb_status evaluate(void *ctx, double *loss)
{
    trainer *t = ctx;
    nb_zero_grad(t->graph);
    nb_status status = nb_forward(t->loss);
    if (status == NB_OK)
        status = nb_backward(t->loss);
    *loss = nb_item(t->loss);
    t->n_evals++;
    return status;
}

/* The rows of a batch (size x n_values, row-major) into the inputs' buffers. */
static nb_status bind_batch(trainer *t, const nb_batch *batch)
{
    const double *rows = batch->inputs;
    for (int v = 0; v < t->n_values; v++) {
        for (int64_t i = 0; i < batch->size; i++)
            t->columns[v][i] = rows[i * t->n_values + v];
        nb_status status = nb_input_bind(t->inputs[v], NB_F64, t->columns[v], batch->size);
        if (status != NB_OK)
            return status;
    }
    return NB_OK;
}

static nb_status diverged(const nb_optimizer *optimizer, int epoch, int64_t batch, double loss)
{
    return nb_fail(NB_ENUMERIC,
                   "%s diverged at epoch %d, batch %lld: the mean squared residual of the batch is %g; try a "
                   "smaller learning rate (this one is %g)",
                   nb_optim_name(nb_optim_config_of(optimizer)->kind), epoch, (long long)batch + 1, loss,
                   nb_optim_lr(optimizer));
}

/* SGD or Adam: epochs of shuffled mini-batches, one update per batch. */
static nb_status run_minibatches(trainer *t, nb_optimizer *optimizer, const double *const *sources, int64_t m,
                                 int64_t batch_size, int epochs, uint64_t seed, lsq_gradient_run *run)
{
    /* The loader hands out rows: lay the values of each point side by side. */
    nb_dataset *rows = nb_dataset_new(NB_F64, m, t->n_values, 1);
    if (!rows)
        return nb_errcode();
    double *table = rows->inputs->data;
    for (int64_t i = 0; i < m; i++)
        for (int v = 0; v < t->n_values; v++)
            table[i * t->n_values + v] = sources[v][i];
    nb_loader *loader = nb_loader_new(rows, batch_size, NB_LOADER_SHUFFLE, seed);
    nb_status status = loader ? NB_OK : nb_errcode();
    for (int epoch = 0; epoch < epochs && status == NB_OK; epoch++) {
        nb_loader_start_epoch(loader, epoch);
        nb_batch batch;
        while (status == NB_OK && nb_loader_next(loader, &batch)) {
            double loss;
            if ((status = bind_batch(t, &batch)) != NB_OK || (status = evaluate(t, &loss)) != NB_OK)
                break;
            if (!isfinite(loss)) {
                status = diverged(optimizer, epoch + 1, batch.index, loss);
                break;
            }
            status = nb_optim_step(optimizer);
        }
        if (status == NB_OK)
            run->epochs = epoch + 1;
    }
    run->stop = NB_LSQ_STOP_EPOCHS;
    nb_loader_free(loader);
    nb_dataset_free(rows);
    return status;
}

/* L-BFGS on all points: one call of the optimizer, `iterations` at most. */
static nb_status run_full_batch(trainer *t, nb_optimizer *optimizer, const double *const *sources, int64_t m,
                                int iterations, lsq_gradient_run *run)
{
    for (int v = 0; v < t->n_values; v++) {
        /* The inputs only read this memory. */
        nb_status status = nb_input_bind(t->inputs[v], NB_F64, (double *)sources[v], m);
        if (status != NB_OK)
            return status;
    }
    double loss;
    nb_status status = nb_optim_step_closure(optimizer, evaluate, t, &loss);
    if (status != NB_OK)
        return status;
    run->epochs = (int)nb_optim_steps(optimizer);
    run->stop = run->epochs < iterations ? NB_LSQ_STOP_STALLED : NB_LSQ_STOP_EPOCHS;
    return NB_OK;
}

static nb_optim_config optimizer_config(const nb_lsq_options *options, int epochs)
{
    nb_optim_config config;
    switch (options->method) {
    case NB_LSQ_ADAM:
        config = nb_optim_defaults(NB_ADAM);
        config.lr = 0.01;
        break;
    case NB_LSQ_LBFGS:
        config = nb_optim_defaults(NB_LBFGS);
        config.max_iter = epochs;
        /* Run as far as double precision lets it: the iterations end when the line search
         * cannot decrease the loss (torch's absolute tolerances would stop 5 digits
         * short); that is no proof of an optimum, so it is not reported as converged. */
        config.tolerance_grad = 0;
        config.tolerance_change = 0;
        break;
    default:
        config = nb_optim_defaults(NB_SGD);
        config.lr = 0.01;
        break;
    }
    if (options->lr > 0)
        config.lr = options->lr;
    return config;
}

nb_status lsq_gradient_fit(const nb_expr *expr, const nb_table *data, const double *y, const double *weights,
                           const double *start, const nb_lsq_options *options, double *x, lsq_gradient_run *run)
{
    memset(run, 0, sizeof *run);
    int64_t m = data->n_rows;
    bool lbfgs = options->method == NB_LSQ_LBFGS;
    if (lbfgs && options->batch > 0 && options->batch < m)
        return nb_fail(NB_EARG, "L-BFGS takes all %lld points at once (its line search compares losses of the "
                                "same points), so a batch of %lld does not apply",
                       (long long)m, (long long)options->batch);
    int64_t batch = lbfgs ? m : options->batch > 0 ? options->batch : DEFAULT_BATCH;
    if (batch > m)
        batch = m;
    int epochs = options->epochs > 0 ? options->epochs : DEFAULT_EPOCHS;

    const double **sources = nb_calloc((size_t)data->n_columns + 2, sizeof *sources);
    if (!sources)
        return nb_fail(NB_ENOMEM, "out of memory for a gradient fit");
    trainer t;
    nb_status status = trainer_build(&t, expr, data, y, weights, start, batch, sources);
    nb_optimizer *optimizer = NULL;
    if (status == NB_OK) {
        nb_optim_config config = optimizer_config(options, epochs);
        run->lr = config.lr;
        run->batch = batch;
        optimizer = nb_optim_new(t.graph, &config);
        status = optimizer ? NB_OK : nb_errcode();
    }
    if (status == NB_OK)
        status = lbfgs ? run_full_batch(&t, optimizer, sources, m, epochs, run)
                       : run_minibatches(&t, optimizer, sources, m, batch, epochs, options->seed, run);
    if (status == NB_OK) {
        run->iterations = (int)nb_optim_steps(optimizer);
        run->n_evals = t.n_evals;
        for (int j = 0; j < t.n_params; j++) {
            x[j] = nb_item(t.params[j]);
            if (!isfinite(x[j]))
                status = nb_fail(NB_ENUMERIC, "%s ended with %s = %g; try a smaller learning rate",
                                 nb_lsq_method_name(options->method), nb_expr_param_name(expr, j), x[j]);
        }
    }
    nb_optim_free(optimizer);
    trainer_free(&t);
    nb_free(sources);
    return status;
}
