/* Demo `linreg` (SEEDS.md §3): linear regression with autodiff, a shuffling data
 * provider, the mean absolute error and plain SGD. */
#include "demo.h"

#include <math.h>
#include <string.h>

enum { N = 500, FEATURES = 4, BATCH = 16 };

int demo_linreg(demo_run *run)
{
    const double true_w[FEATURES] = {8.1, 2, 2, 4}, true_b = 1.1;
    nb_rng rng;
    nb_rng_seed(&rng, run->options->seed);
    /* the data: X ~ N(0, 1), y = X·w + b + N(0, 0.01²) */
    nb_dataset *data = nb_synth_linear(NB_F64, N, FEATURES, true_w, true_b, 0.01, &rng);
    /* the tutorial's data provider: a new order every epoch, batches of 16, the last smaller */
    nb_loader *loader = data ? nb_loader_new(data, BATCH, NB_LOADER_SHUFFLE, run->options->seed) : NULL;
    if (!loader) {
        cli_error("demo", NULL);
        nb_dataset_free(data);
        return 1;
    }
    double (*features)[FEATURES] = data->inputs->data, *labels = data->targets->data;

    nb_graph *graph = nb_graph_new(NB_F64);
    nb_node *X = nb_input(graph, "X", 2, (int64_t[]){BATCH, FEATURES});
    nb_node *y = nb_input(graph, "y", 2, (int64_t[]){BATCH, 1});
    nb_node *w = nb_param(graph, "w", 2, (int64_t[]){FEATURES, 1});
    nb_node *b = nb_param(graph, "b", 1, (int64_t[]){1});
    nb_node *y_hat = nb_add(nb_matmul(X, w, false, false), b);
    nb_node *residual = nb_sub(y_hat, y);
    nb_node *loss = nb_mean(nb_abs(residual)); /* the mean absolute error */
    if (!loss) {
        cli_error("demo", NULL);
        nb_graph_free(graph);
        nb_loader_free(loader);
        nb_dataset_free(data);
        return 1;
    }
    nb_tensor_fill_normal(nb_value(w), &rng, 0, 0.01);
    nb_tensor_fill(nb_value(b), 0.01);
    nb_optim_config sgd = nb_optim_defaults(NB_SGD);
    sgd.lr = 0.03;
    nb_optimizer *optimizer = nb_optim_new(graph, &sgd);

    demo_log(run, "SEEDS.md §3: y = X·w + b + noise, X ~ N(0, 1) 500×4, w = (8.1, 2, 2, 4), b = 1.1\n"
                  "mean absolute error, SGD lr 0.03, shuffled mini-batches of 16, 50 epochs (seed %llu)\n\n",
             (unsigned long long)run->options->seed);
    demo_progress_start(run, 50 * nb_loader_n_batches(loader), "batch");
    int64_t step = 0;
    for (int epoch = 1; epoch <= 50; epoch++) {
        nb_loader_start_epoch(loader, epoch - 1);
        double epoch_loss = 0;
        nb_batch batch;
        while (nb_loader_next(loader, &batch)) {
            nb_input_bind(X, batch.inputs, batch.size);
            nb_input_bind(y, batch.targets, batch.size);
            nb_forward(loss);
            nb_backward(loss);
            nb_optim_step(optimizer);
            nb_zero_grad(graph);
            epoch_loss += nb_item(loss);
            demo_progress(run, ++step, nb_item(loss));
        }
        run->epochs_run = epoch;
        demo_history(run, epoch, epoch_loss);
        demo_log(run, "epoch %03d: %.6f\n", epoch, epoch_loss);
    }
    demo_progress_done(run);
    double learned_w[FEATURES], learned_b = nb_tensor_get(nb_value(b), 0);
    nb_tensor_to_doubles(nb_value(w), learned_w);
    demo_log(run, "\n          %8s %8s %8s %8s %8s\n", "w[0]", "w[1]", "w[2]", "w[3]", "b");
    demo_log(run, "true      %8.4f %8.4f %8.4f %8.4f %8.4f\n", true_w[0], true_w[1], true_w[2], true_w[3], true_b);
    demo_log(run, "learned   %8.4f %8.4f %8.4f %8.4f %8.4f\n", learned_w[0], learned_w[1], learned_w[2],
             learned_w[3], learned_b);
    demo_param_list(run, "w", learned_w, FEATURES);
    demo_param(run, "b", learned_b);

    /* beyond: least squares on all rows at once (Levenberg–Marquardt on the same graph) */
    nb_input_bind(X, data->inputs->data, N);
    nb_input_bind(y, labels, N);
    nb_forward(residual);
    nb_node *params[2] = {w, b};
    double start[FEATURES + 1], exact[FEATURES + 1] = {0};
    nb_tensor_to_doubles(nb_value(w), start);
    start[FEATURES] = learned_b;
    nb_lsq_options options = nb_lsq_defaults();
    nb_lsq_result result;
    nb_status solved_status = nb_lsq_fit_graph(residual, 2, params, start, NULL, &options, &result);
    /* the solver leaves w and b at its solution: back to what SGD learnt, which --save writes */
    nb_tensor_set(nb_value(b), 0, learned_b);
    for (int j = 0; j < FEATURES; j++)
        nb_tensor_set(nb_value(w), j, learned_w[j]);
    if (solved_status == NB_OK) {
        memcpy(exact, result.params, sizeof exact);
        demo_log(run, "least sq. %8.4f %8.4f %8.4f %8.4f %8.4f  (beyond the tutorial: %d iterations on all rows, "
                      "no epochs)\n", exact[0], exact[1], exact[2], exact[3], exact[4], result.iterations);
        nb_lsq_result_free(&result);
    } else {
        cli_error("demo", NULL);
    }
    cJSON *solved = demo_object(run, "least_squares");
    cJSON_AddItemToObject(solved, "w", cJSON_CreateDoubleArray(exact, FEATURES));
    cJSON_AddNumberToObject(solved, "b", exact[FEATURES]);

    /* the tutorial's picture: feature 0 against y, with the line the model learnt for it */
    nb_figure *figure = demo_figure(run, "SEEDS.md §3: linear regression, feature 0 against y", 2);
    if (figure) {
        double x0[N], line_x[2] = {INFINITY, -INFINITY}, line_y[2], true_y[2];
        for (int i = 0; i < N; i++) {
            x0[i] = features[i][0];
            line_x[0] = fmin(line_x[0], x0[i]);
            line_x[1] = fmax(line_x[1], x0[i]);
        }
        for (int k = 0; k < 2; k++) {
            line_y[k] = learned_w[0] * line_x[k] + learned_b;
            true_y[k] = true_w[0] * line_x[k] + true_b;
        }
        nb_panel *panel = nb_figure_panel(figure, 0, 0);
        nb_panel_title(panel, "data (the other features add scatter)");
        nb_panel_labels(panel, "feature 0", "y");
        nb_panel_scatter(panel, "data", x0, labels, N, &(nb_style){.alpha = 0.6});
        char label[64];
        snprintf(label, sizeof label, "learned: %.3f·x₀ + %.3f", learned_w[0], learned_b);
        nb_panel_line(panel, label, line_x, line_y, 2, &(nb_style){.width = 2.5});
        nb_panel_line(panel, "true: 8.1·x₀ + 1.1", line_x, true_y, 2, &(nb_style){.dashed = true});
        demo_loss_panel(run, nb_figure_panel(figure, 0, 1), "sum of batch losses (MAE) per epoch", "loss");
    }
    int status = demo_finish(run, graph, figure);
    nb_optim_free(optimizer);
    nb_graph_free(graph);
    nb_loader_free(loader);
    nb_dataset_free(data);
    return status;
}
