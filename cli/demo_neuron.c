/* Demos `and-gate` and `two-layer` (SEEDS.md §4). */
#include "demo.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

int demo_and_gate(demo_run *run)
{
    const double inputs[4][2] = {{1, 0}, {0, 1}, {0, 0}, {1, 1}}, targets[4] = {-1, -1, -1, 1};
    nb_graph *graph = nb_graph_new(NB_F64);
    nb_node *x = nb_input(graph, "x", 2, (int64_t[]){1, 2});
    nb_node *y = nb_input(graph, "y", 1, (int64_t[]){1});
    nb_node *w = nb_param(graph, "w", 2, (int64_t[]){2, 1});
    nb_node *b = nb_param(graph, "b", 1, (int64_t[]){1});
    nb_node *y_hat = nb_reshape(nb_add(nb_matmul(x, w, false, false), b), 1, (int64_t[]){-1});
    nb_node *loss = nb_sse_loss(y_hat, y); /* (y − ŷ)² for one sample */
    if (!loss) {
        cli_error("demo", NULL);
        nb_graph_free(graph);
        return 1;
    }
    nb_tensor_from_doubles(nb_value(w), (double[]){0.666, 0.333});
    nb_tensor_set(nb_value(b), 0, 0.233);
    nb_optim_config sgd = nb_optim_defaults(NB_SGD);
    sgd.lr = 0.01;
    nb_optimizer *optimizer = nb_optim_new(graph, &sgd);
    demo_log(run, "SEEDS.md §4: a neuron w1·x1 + w2·x2 + b learns AND (targets −1/+1), squared error,\n"
                  "per-sample gradient descent, lr 0.01, 20 epochs, from (0.666, 0.333, 0.233)\n\n");
    for (int epoch = 1; epoch <= 20; epoch++) {
        double total = 0;
        for (int i = 0; i < 4; i++) {
            nb_input_set_doubles(x, inputs[i], 1);
            nb_input_set_doubles(y, &targets[i], 1);
            nb_forward(loss);
            nb_zero_grad(graph);
            nb_backward(loss);
            nb_optim_step(optimizer);
            total += nb_item(loss);
        }
        run->epochs_run = epoch;
        demo_history(run, epoch, total / 4);
        demo_log(run, "epoch %2d  mean loss %.6f\n", epoch, total / 4);
    }
    double w1 = nb_tensor_get(nb_value(w), 0), w2 = nb_tensor_get(nb_value(w), 1), bias = nb_tensor_get(nb_value(b), 0);
    demo_log(run, "\nw1 = %.4f, w2 = %.4f, b = %.4f\n\n x1  x2 | w·x + b | AND\n", w1, w2, bias);
    cJSON *table = cJSON_AddArrayToObject(run->report, "truth_table");
    double margin = INFINITY;
    for (int i = 0; i < 4; i++) {
        nb_input_set_doubles(x, inputs[i], 1);
        nb_forward(y_hat);
        double z = nb_item(y_hat);
        int predicted = z > 0;
        margin = fmin(margin, fabs(z));
        demo_log(run, "  %g   %g | %7.4f |  %d\n", inputs[i][0], inputs[i][1], z, predicted);
        cJSON *row = cJSON_CreateObject();
        cJSON_AddNumberToObject(row, "x1", inputs[i][0]);
        cJSON_AddNumberToObject(row, "x2", inputs[i][1]);
        cJSON_AddNumberToObject(row, "output", predicted);
        cJSON_AddItemToArray(table, row);
    }
    demo_log(run, "\nthe smallest |w·x + b| is %.4f: the boundary passes close to a corner after 20 epochs\n",
             margin);
    demo_param(run, "w1", w1);
    demo_param(run, "w2", w2);
    demo_param(run, "b", bias);

    /* the four corners and the line w1·x1 + w2·x2 + b = 0 that separates them */
    nb_figure *figure = demo_figure(run, "SEEDS.md §4: a neuron learns AND", 2);
    if (figure) {
        nb_panel *panel = nb_figure_panel(figure, 0, 0);
        nb_panel_title(panel, "inputs and the decision boundary");
        nb_panel_labels(panel, "x₁", "x₂");
        nb_panel_xlim(panel, -0.25, 1.25);
        nb_panel_ylim(panel, -0.25, 1.4);
        double off_x[3] = {1, 0, 0}, off_y[3] = {0, 1, 0}, on_x[1] = {1}, on_y[1] = {1};
        nb_panel_scatter(panel, "AND = 0 (target −1)", off_x, off_y, 3, &(nb_style){.width = 14});
        nb_panel_scatter(panel, "AND = 1 (target +1)", on_x, on_y, 1, &(nb_style){.width = 14});
        double line_x[2] = {-0.25, 1.25}, line_y[2];
        for (int k = 0; k < 2; k++)
            line_y[k] = -(w1 * line_x[k] + bias) / w2;
        nb_panel_line(panel, "w₁x₁ + w₂x₂ + b = 0", line_x, line_y, 2, &(nb_style){.color = NB_RGB(0, 0, 0)});
        demo_loss_panel(run, nb_figure_panel(figure, 0, 1), "mean squared error per epoch", "loss");
    }
    int status = demo_finish(run, graph, figure);
    nb_optim_free(optimizer);
    nb_graph_free(graph);
    return status;
}

int demo_two_layer(demo_run *run)
{
    nb_rng rng;
    nb_rng_seed(&rng, run->options->seed);
    nb_graph *graph = nb_graph_new(NB_F64);
    nb_node *inputs = nb_input(graph, "inputs", 2, (int64_t[]){233, 10});
    nb_node *targets = nb_input(graph, "targets", 2, (int64_t[]){233, 10});
    nb_tensor_fill_normal(nb_value(inputs), &rng, 0, 1);
    nb_tensor_fill_normal(nb_value(targets), &rng, 0, 1);
    nb_node *hidden = nb_relu(nb_dense(inputs, "layer1", 7, true, NB_INIT_TORCH_DEFAULT, &rng));
    nb_node *outputs = nb_dense(hidden, "layer2", 10, true, NB_INIT_TORCH_DEFAULT, &rng);
    nb_node *loss = nb_sse_loss(outputs, targets);
    if (!loss) {
        cli_error("demo", NULL);
        nb_graph_free(graph);
        return 1;
    }
    demo_log(run, "SEEDS.md §4: 233 random inputs of 10 features, random targets of 10; 10 → 7 (ReLU) → 10,\n"
                  "loss = Σ(ŷ − y)², one backward pass, one SGD step with lr 1e-4 (seed %llu)\n\n",
             (unsigned long long)run->options->seed);
    nb_optim_config sgd = nb_optim_defaults(NB_SGD);
    sgd.lr = 1e-4;
    nb_optimizer *optimizer = nb_optim_new(graph, &sgd);
    nb_forward(loss);
    double before = nb_item(loss);
    nb_backward(loss);
    demo_log(run, "loss before the step %.6f; gradient norm %.6f over %lld parameters\n", before,
             nb_grad_norm(graph), (long long)nb_n_params(graph));
    nb_optim_step(optimizer);
    nb_zero_grad(graph);
    nb_forward(loss);
    double after = nb_item(loss);
    demo_log(run, "loss after the step  %.6f\n", after);
    demo_history(run, 0, before);
    demo_history(run, 1, after);
    run->epochs_run = 1;
    demo_params_of(run, graph);
    /* what the tutorial's step gave, which --save writes after Adam has moved on */
    size_t param_bytes = (size_t)nb_n_params(graph) * sizeof(double);
    double *tutorial_params = malloc(param_bytes);
    if (!tutorial_params) {
        cli_error("demo", "out of memory");
        nb_optim_free(optimizer);
        nb_graph_free(graph);
        return 1;
    }
    memcpy(tutorial_params, nb_params_data(graph), param_bytes);

    /* beyond: check the gradient, then keep training with Adam */
    nb_gradcheck_result check;
    nb_gradcheck(loss, 0, &check);
    demo_log(run, "\nbeyond the tutorial: gradient check over all %lld parameters: worst relative error %.1e\n",
             (long long)check.n_checked, check.max_error);
    nb_optim_config adam = nb_optim_defaults(NB_ADAM);
    adam.lr = 0.01;
    nb_optimizer *adam_opt = nb_optim_new(graph, &adam);
    double adam_losses[501];
    adam_losses[0] = after;
    for (int step = 1; step <= 500; step++) {
        nb_forward(loss);
        nb_zero_grad(graph);
        nb_backward(loss);
        nb_optim_step(adam_opt);
        adam_losses[step - 1 + 1] = nb_item(loss);
    }
    nb_forward(loss);
    demo_log(run, "500 more full-batch steps with Adam (lr 0.01): loss %.3f (random targets cannot be fitted "
                  "exactly by 7 hidden units)\n", nb_item(loss));
    demo_field(run, "gradcheck_max_error", check.max_error);
    demo_field(run, "adam_loss", nb_item(loss));
    nb_figure *figure = demo_figure(run, "SEEDS.md §4: a 10-7-10 ReLU network", 1);
    if (figure) {
        nb_panel *panel = nb_figure_panel(figure, 0, 0);
        nb_panel_title(panel, "the tutorial's one SGD step, then 500 full-batch Adam steps");
        nb_panel_labels(panel, "step", "Σ(ŷ − y)²");
        double steps[501], first[2] = {0, 1}, tutorial[2] = {before, after};
        for (int k = 0; k <= 500; k++)
            steps[k] = k + 1;
        nb_panel_line(panel, "Adam, lr 0.01", steps, adam_losses, 501, NULL);
        nb_panel_scatter(panel, "before and after the tutorial's step", first, tutorial, 2, &(nb_style){.width = 9});
    }
    memcpy(nb_params_data(graph), tutorial_params, param_bytes);
    free(tutorial_params);
    int status = demo_finish(run, graph, figure);
    nb_optim_free(adam_opt);
    nb_optim_free(optimizer);
    nb_graph_free(graph);
    return status;
}
