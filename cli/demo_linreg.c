/* Demo `linreg` (tutorial 3, docs/tutorials.md): linear regression with autodiff, a
 * shuffling data provider, the mean absolute error and plain SGD. */
#include "demo.h"

#include <math.h>
#include <string.h>

enum { N = 500, FEATURES = 4, BATCH = 16, EPOCHS = 50 };

static const double true_w[FEATURES] = {8.1, 2, 2, 4}, true_b = 1.1;

/* ŷ = X·w + b; loss = mean |ŷ − y|. */
typedef struct linreg_model {
    nb_graph *graph;
    nb_node *X, *y, *w, *b, *residual, *loss;
} linreg_model;

static int linreg_build(linreg_model *m)
{
    m->graph = nb_graph_new(NB_F64);
    m->X = nb_input(m->graph, "X", 2, (int64_t[]){BATCH, FEATURES});
    m->y = nb_input(m->graph, "y", 2, (int64_t[]){BATCH, 1});
    m->w = nb_param(m->graph, "w", 2, (int64_t[]){FEATURES, 1});
    m->b = nb_param(m->graph, "b", 1, (int64_t[]){1});
    nb_node *y_hat = nb_add(nb_matmul(m->X, m->w, false, false), m->b);
    m->residual = nb_sub(y_hat, m->y);
    m->loss = nb_mean(nb_abs(m->residual)); /* the mean absolute error */
    if (!m->loss) {
        cli_error("demo", NULL);
        nb_graph_free(m->graph);
        return 1;
    }
    return 0;
}

/* --trace: the update about to be made (gradients filled, step not yet taken). */
static void linreg_trace(demo_run *run, linreg_model *m, const nb_batch *batch, int epoch)
{
    char what[64];
    snprintf(what, sizeof what, "epoch %d, batch %lld", epoch, (long long)batch->index);
    if (!demo_trace(run, what))
        return;
    static const char *const names[FEATURES + 1] = {"w[0]", "w[1]", "w[2]", "w[3]", "b"};
    demo_log(run, "  a batch of %lld rows, ŷ = X·w + b for each;  L = mean |ŷ − y| = %.8f\n", (long long)batch->size,
             nb_item(m->loss));
    demo_trace_step(run, names, FEATURES + 1, nb_params_data(m->graph), nb_grads_data(m->graph), 0.03);
}

/* One epoch over the loader's batches; returns the sum of the batch losses. */
static double linreg_epoch(demo_run *run, linreg_model *m, nb_loader *loader, nb_optimizer *optimizer, int epoch,
                           int64_t *step)
{
    nb_loader_start_epoch(loader, epoch);
    double epoch_loss = 0;
    nb_batch batch;
    while (nb_loader_next(loader, &batch)) {
        nb_input_bind(m->X, batch.dtype, batch.inputs, batch.size);
        nb_input_bind(m->y, batch.dtype, batch.targets, batch.size);
        nb_forward(m->loss);
        nb_backward(m->loss);
        linreg_trace(run, m, &batch, epoch);
        nb_optim_step(optimizer);
        nb_zero_grad(m->graph);
        epoch_loss += nb_item(m->loss);
        demo_progress(run, ++*step, nb_item(m->loss));
    }
    return epoch_loss;
}

/* The tutorial's training: SGD with lr 0.03 for 50 epochs. */
static void linreg_train(demo_run *run, linreg_model *m, nb_loader *loader)
{
    nb_optim_config sgd = nb_optim_defaults(NB_SGD);
    sgd.lr = 0.03;
    nb_optimizer *optimizer = nb_optim_new(m->graph, &sgd);
    demo_progress_start(run, EPOCHS * nb_loader_n_batches(loader), "batch");
    int64_t step = 0;
    demo_log(run, "loss: the sum of the epoch's %lld batch losses, each the mean |ŷ − y| over its batch\n",
             (long long)nb_loader_n_batches(loader));
    for (int epoch = 0; epoch < EPOCHS; epoch++) {
        double epoch_loss = linreg_epoch(run, m, loader, optimizer, epoch, &step);
        run->epochs_run = epoch + 1;
        demo_history(run, epoch, epoch_loss);
        demo_log(run, "epoch %03d: %.6f (sum of %lld batch MAEs)\n", epoch, epoch_loss,
                 (long long)nb_loader_n_batches(loader));
    }
    demo_progress_done(run);
    nb_optim_free(optimizer);
}

static void linreg_report(demo_run *run, const double learned_w[FEATURES], double learned_b)
{
    demo_log(run, "\n          %8s %8s %8s %8s %8s\n", "w[0]", "w[1]", "w[2]", "w[3]", "b");
    demo_log(run, "true      %8.4f %8.4f %8.4f %8.4f %8.4f\n", true_w[0], true_w[1], true_w[2], true_w[3], true_b);
    demo_log(run, "learned   %8.4f %8.4f %8.4f %8.4f %8.4f\n", learned_w[0], learned_w[1], learned_w[2],
             learned_w[3], learned_b);
    demo_param_list(run, "w", learned_w, FEATURES);
    demo_param(run, "b", learned_b);
}

/* Beyond the tutorial: least squares on all rows at once (Levenberg–Marquardt on the
 * same graph). The model's w and b are left at what SGD learnt, which --save writes. */
static void linreg_least_squares(demo_run *run, linreg_model *m, nb_dataset *data, const double learned_w[FEATURES],
                                 double learned_b)
{
    nb_input_bind(m->X, nb_dataset_dtype(data), data->inputs->data, N);
    nb_input_bind(m->y, nb_dataset_dtype(data), data->targets->data, N);
    nb_forward(m->residual);
    nb_node *params[2] = {m->w, m->b};
    double start[FEATURES + 1], exact[FEATURES + 1] = {0};
    memcpy(start, learned_w, FEATURES * sizeof(double));
    start[FEATURES] = learned_b;
    nb_lsq_options options = nb_lsq_defaults();
    nb_lsq_result result;
    nb_status solved_status = nb_lsq_fit_graph(m->residual, 2, params, start, NULL, &options, &result);
    nb_tensor_set(nb_value(m->b), 0, learned_b);
    for (int j = 0; j < FEATURES; j++)
        nb_tensor_set(nb_value(m->w), j, learned_w[j]);
    if (solved_status == NB_OK) {
        memcpy(exact, result.params, sizeof exact);
        demo_log(run, "least sq. %8.4f %8.4f %8.4f %8.4f %8.4f  (beyond the tutorial: %d iterations on all rows, "
                      "no epochs)\n", exact[0], exact[1], exact[2], exact[3], exact[4], result.iterations);
        nb_lsq_result_clear(&result);
    } else {
        cli_error("demo", NULL);
    }
    cJSON *solved = demo_object(run, "least_squares");
    cJSON_AddItemToObject(solved, "w", cJSON_CreateDoubleArray(exact, FEATURES));
    cJSON_AddNumberToObject(solved, "b", exact[FEATURES]);
}

/* The tutorial's picture: feature 0 against y, with the line the model learnt for it. */
static nb_figure *linreg_figure(demo_run *run, const nb_dataset *data, double learned_w0, double learned_b)
{
    nb_figure *figure = demo_figure(run, "tutorial 3: linear regression, feature 0 against y", 2);
    if (!figure)
        return NULL;
    const double(*features)[FEATURES] = data->inputs->data;
    double x0[N], line_x[2] = {INFINITY, -INFINITY}, line_y[2], true_y[2];
    for (int i = 0; i < N; i++) {
        x0[i] = features[i][0];
        line_x[0] = fmin(line_x[0], x0[i]);
        line_x[1] = fmax(line_x[1], x0[i]);
    }
    for (int k = 0; k < 2; k++) {
        line_y[k] = learned_w0 * line_x[k] + learned_b;
        true_y[k] = true_w[0] * line_x[k] + true_b;
    }
    nb_panel *panel = nb_figure_panel(figure, 0, 0);
    nb_panel_title(panel, "data (the other features add scatter)");
    nb_panel_labels(panel, "feature 0", "y");
    nb_panel_scatter(panel, "data", x0, data->targets->data, N, &(nb_style){.alpha = 0.6});
    char label[64];
    snprintf(label, sizeof label, "learned: %.3f·x₀ + %.3f", learned_w0, learned_b);
    nb_panel_line(panel, label, line_x, line_y, 2, &(nb_style){.width = 2.5});
    nb_panel_line(panel, "true: 8.1·x₀ + 1.1", line_x, true_y, 2, &(nb_style){.dashed = true});
    demo_loss_panel(run, nb_figure_panel(figure, 0, 1), "sum of batch losses (MAE) per epoch", "loss");
    return figure;
}

int demo_linreg(demo_run *run)
{
    nb_rng rng;
    nb_rng_seed(&rng, run->options->seed);
    nb_dataset *data = demo_linear_data(N, FEATURES, true_w, true_b, 0.01, &rng);
    /* the tutorial's data provider: a new order every epoch, batches of 16, the last smaller */
    nb_loader *loader = data ? nb_loader_new(data, BATCH, NB_LOADER_SHUFFLE, run->options->seed) : NULL;
    linreg_model m;
    if (!loader || linreg_build(&m)) {
        if (!loader)
            cli_error("demo", NULL);
        nb_loader_free(loader);
        nb_dataset_free(data);
        return 1;
    }
    nb_tensor_fill_normal(nb_value(m.w), &rng, 0, 0.01);
    nb_tensor_fill(nb_value(m.b), 0.01);
    demo_log(run, "tutorial 3: y = X·w + b + noise, X ~ N(0, 1) 500×4, w = (8.1, 2, 2, 4), b = 1.1\n"
                  "mean absolute error, SGD lr 0.03, shuffled mini-batches of 16, 50 epochs (seed %llu)\n\n",
             (unsigned long long)run->options->seed);
    linreg_train(run, &m, loader);
    double learned_w[FEATURES], learned_b = nb_tensor_get(nb_value(m.b), 0);
    nb_tensor_to_doubles(nb_value(m.w), learned_w);
    linreg_report(run, learned_w, learned_b);
    linreg_least_squares(run, &m, data, learned_w, learned_b);
    nb_figure *figure = linreg_figure(run, data, learned_w[0], learned_b);
    int status = demo_finish(run, m.graph, figure);
    nb_graph_free(m.graph);
    nb_loader_free(loader);
    nb_dataset_free(data);
    return status;
}
