/* Demos `and-gate` and `two-layer` (tutorial 4, docs/tutorials.md). */
#include "demo.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

/* ---- and-gate ------------------------------------------------------------------------ */

static const double and_inputs[4][2] = {{1, 0}, {0, 1}, {0, 0}, {1, 1}}, and_targets[4] = {-1, -1, -1, 1};

/* ŷ = w1·x1 + w2·x2 + b for one sample; loss (y − ŷ)². */
typedef struct neuron_model {
    nb_graph *graph;
    nb_node *x, *y, *w, *b, *y_hat, *loss;
} neuron_model;

static int neuron_build(neuron_model *m)
{
    m->graph = nb_graph_new(NB_F64);
    m->x = nb_input(m->graph, "x", 2, (int64_t[]){1, 2});
    m->y = nb_input(m->graph, "y", 1, (int64_t[]){1});
    m->w = nb_param(m->graph, "w", 2, (int64_t[]){2, 1});
    m->b = nb_param(m->graph, "b", 1, (int64_t[]){1});
    m->y_hat = nb_reshape(nb_add(nb_matmul(m->x, m->w, false, false), m->b), 1, (int64_t[]){-1});
    m->loss = nb_sse_loss(m->y_hat, m->y); /* (y − ŷ)² for one sample */
    if (!m->loss) {
        cli_error("demo", NULL);
        nb_graph_free(m->graph);
        return 1;
    }
    return 0;
}

/* --trace: one update in the tutorial's notation (parameters w1, w2, b in that order). */
static void neuron_trace(demo_run *run, neuron_model *m, int epoch, int i)
{
    char what[64];
    snprintf(what, sizeof what, "epoch %d, sample %d", epoch, i);
    if (!demo_trace(run, what))
        return;
    static const char *const names[3] = {"w1", "w2", "b"};
    const double *p = nb_params_data(m->graph), *g = nb_grads_data(m->graph);
    double y_hat = nb_item(m->y_hat);
    demo_log(run, "  x = (%g, %g), y = %g;  ŷ = w1·x1 + w2·x2 + b = %.6f·%g + %.6f·%g + %.6f = %.8f\n",
             and_inputs[i][0], and_inputs[i][1], and_targets[i], p[0], and_inputs[i][0], p[1], and_inputs[i][1], p[2],
             y_hat);
    demo_log(run, "  L = (y − ŷ)² = %.8f;  ∂L/∂ŷ = 2(ŷ − y) = %.8f\n", nb_item(m->loss), 2 * (y_hat - and_targets[i]));
    demo_trace_step(run, names, 3, p, g, 0.01);
}

/* The tutorial's training: per-sample gradient descent, lr 0.01, 20 epochs. */
static void neuron_train(demo_run *run, neuron_model *m)
{
    nb_optim_config sgd = nb_optim_defaults(NB_SGD);
    sgd.lr = 0.01;
    nb_optimizer *optimizer = nb_optim_new(m->graph, &sgd);
    for (int epoch = 0; epoch < 20; epoch++) {
        double total = 0;
        for (int i = 0; i < 4; i++) {
            nb_input_set_doubles(m->x, and_inputs[i], 1);
            nb_input_set_doubles(m->y, &and_targets[i], 1);
            nb_forward(m->loss);
            nb_zero_grad(m->graph);
            nb_backward(m->loss);
            neuron_trace(run, m, epoch, i);
            nb_optim_step(optimizer);
            total += nb_item(m->loss);
        }
        run->epochs_run = epoch + 1;
        demo_history(run, epoch, total / 4);
        demo_log(run, "epoch %2d  loss %.6f (mean (y − ŷ)² over the epoch's 4 samples)\n", epoch, total / 4);
    }
    nb_optim_free(optimizer);
}

/* The neuron's output and the AND it stands for, at the four corners. */
static void neuron_truth_table(demo_run *run, neuron_model *m)
{
    cJSON *table = cJSON_AddArrayToObject(run->report, "truth_table");
    double margin = INFINITY;
    for (int i = 0; i < 4; i++) {
        nb_input_set_doubles(m->x, and_inputs[i], 1);
        nb_forward(m->y_hat);
        double z = nb_item(m->y_hat);
        int predicted = z > 0;
        margin = fmin(margin, fabs(z));
        demo_log(run, "  %g   %g | %7.4f |  %d\n", and_inputs[i][0], and_inputs[i][1], z, predicted);
        cJSON *row = cJSON_CreateObject();
        cJSON_AddNumberToObject(row, "x1", and_inputs[i][0]);
        cJSON_AddNumberToObject(row, "x2", and_inputs[i][1]);
        cJSON_AddNumberToObject(row, "output", predicted);
        cJSON_AddItemToArray(table, row);
    }
    demo_log(run, "\nthe smallest |w·x + b| is %.4f: the boundary passes close to a corner after 20 epochs\n",
             margin);
}

/* The four corners and the line w1·x1 + w2·x2 + b = 0 that separates them. */
static nb_figure *neuron_figure(demo_run *run, double w1, double w2, double bias)
{
    nb_figure *figure = demo_figure(run, "tutorial 4: a neuron learns AND", 2);
    if (!figure)
        return NULL;
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
    return figure;
}

int demo_and_gate(demo_run *run)
{
    neuron_model m;
    if (neuron_build(&m))
        return 1;
    nb_tensor_from_doubles(nb_value(m.w), (double[]){0.666, 0.333});
    nb_tensor_set(nb_value(m.b), 0, 0.233);
    demo_log(run, "tutorial 4: a neuron w1·x1 + w2·x2 + b learns AND (targets −1/+1), squared error,\n"
                  "per-sample gradient descent, lr 0.01, 20 epochs, from (0.666, 0.333, 0.233)\n\n");
    neuron_train(run, &m);
    double w1 = nb_tensor_get(nb_value(m.w), 0), w2 = nb_tensor_get(nb_value(m.w), 1);
    double bias = nb_tensor_get(nb_value(m.b), 0);
    demo_log(run, "\nw1 = %.4f, w2 = %.4f, b = %.4f\n\n x1  x2 | w·x + b | AND\n", w1, w2, bias);
    neuron_truth_table(run, &m);
    demo_param(run, "w1", w1);
    demo_param(run, "w2", w2);
    demo_param(run, "b", bias);
    int status = demo_finish(run, m.graph, neuron_figure(run, w1, w2, bias));
    nb_graph_free(m.graph);
    return status;
}

/* ---- two-layer ----------------------------------------------------------------------- */

enum { ROWS = 233, ADAM_STEPS = 500 };

/* --trace: the tutorial's step, entry by entry of every weight matrix. */
static void two_layer_trace(demo_run *run, nb_graph *graph, double loss)
{
    if (!demo_trace(run, "the tutorial's one SGD step, lr 1e-4"))
        return;
    demo_log(run, "  ŷ = relu(x·w1)·w2 for each of the 233 rows;  L = Σ(ŷ − y)² = %.6f\n", loss);
    for (int i = 0; i < nb_param_count(graph); i++) {
        nb_node *param = nb_param_at(graph, i);
        const nb_tensor *value = nb_value(param), *grad = nb_grad(param);
        for (int64_t k = 0; k < value->size; k++) {
            char name[64];
            snprintf(name, sizeof name, "%s[%lld,%lld]", nb_node_name(param), (long long)(k / value->shape[1]),
                     (long long)(k % value->shape[1]));
            double before = nb_tensor_get(value, k), g = nb_tensor_get(grad, k);
            demo_trace_step(run, (const char *const[]){name}, 1, &before, &g, 1e-4);
        }
    }
}

/* The tutorial's one SGD step (lr 1e-4) on the loss; its losses before and after. With
 * `report`, they are the report's history (step 0 before, step 1 after). */
static void two_layer_step(demo_run *run, nb_graph *graph, nb_node *loss, bool report, double *before, double *after)
{
    nb_optim_config sgd = nb_optim_defaults(NB_SGD);
    sgd.lr = 1e-4;
    nb_optimizer *optimizer = nb_optim_new(graph, &sgd);
    nb_forward(loss);
    *before = nb_item(loss);
    nb_backward(loss);
    demo_log(run, "  loss Σ(ŷ − y)² over the 233 × 10 outputs, before the step: %.6f; gradient norm %.6f over %lld "
                  "parameters\n", *before, nb_grad_norm(graph), (long long)nb_n_params(graph));
    if (report)
        two_layer_trace(run, graph, *before);
    nb_optim_step(optimizer);
    nb_zero_grad(graph);
    nb_forward(loss);
    *after = nb_item(loss);
    demo_log(run, "  loss Σ(ŷ − y)² over the 233 × 10 outputs, after the step:  %.6f\n", *after);
    if (report) {
        demo_history(run, 0, *before);
        demo_history(run, 1, *after);
        run->epochs_run = 1;
    }
    nb_optim_free(optimizer);
}

/* The 10 → 7 → 10 ReLU network on inputs [233, 10] and targets [233, 10] filled from
 * `data` (NULL: drawn from rng, standard normal, inputs first). The tutorial's: no
 * biases, weights w1 [10, 7] and w2 [7, 10] drawn standard normal (torch.randn); with
 * `better`, nn.Linear's layers instead (biases, small uniform starts). Returns the loss
 * Σ(ŷ − y)², or NULL; after_data (may be NULL) gets rng as it was after the data. */
static nb_node *two_layer_net(nb_graph *graph, nb_graph *data, bool better, nb_rng *rng, nb_rng *after_data)
{
    nb_node *inputs = nb_input(graph, "inputs", 2, (int64_t[]){ROWS, 10});
    nb_node *targets = nb_input(graph, "targets", 2, (int64_t[]){ROWS, 10});
    if (!inputs || !targets)
        return NULL;
    if (data) {
        size_t bytes = (size_t)ROWS * 10 * sizeof(double);
        memcpy(nb_value(inputs)->data, nb_value(nb_find(data, "inputs"))->data, bytes);
        memcpy(nb_value(targets)->data, nb_value(nb_find(data, "targets"))->data, bytes);
    } else {
        nb_tensor_fill_normal(nb_value(inputs), rng, 0, 1);
        nb_tensor_fill_normal(nb_value(targets), rng, 0, 1);
    }
    if (after_data)
        *after_data = *rng;
    if (better) {
        nb_node *hidden = nb_relu(nb_dense(inputs, "layer1", 7, true, NB_INIT_TORCH_DEFAULT, rng));
        return nb_sse_loss(nb_dense(hidden, "layer2", 10, true, NB_INIT_TORCH_DEFAULT, rng), targets);
    }
    nb_node *w1 = nb_param(graph, "w1", 2, (int64_t[]){10, 7}), *w2 = nb_param(graph, "w2", 2, (int64_t[]){7, 10});
    if (!w1 || !w2)
        return NULL;
    nb_tensor_fill_normal(nb_value(w1), rng, 0, 1);
    nb_tensor_fill_normal(nb_value(w2), rng, 0, 1);
    nb_node *hidden = nb_relu(nb_matmul(inputs, w1, false, false));
    return nb_sse_loss(nb_matmul(hidden, w2, false, false), targets);
}

/* Beyond the tutorial: the same data through the better-behaved network (biases,
 * nn.Linear's starts): the tutorial's step, a gradient check, then full-batch Adam.
 * losses[0] is the loss after the step, losses[k] the one before Adam's k-th step. */
static int two_layer_beyond(demo_run *run, nb_graph *tutorial, nb_rng *rng, double *before,
                            double losses[ADAM_STEPS + 1])
{
    nb_graph *graph = nb_graph_new(NB_F64);
    nb_node *loss = two_layer_net(graph, tutorial, true, rng, NULL);
    if (!loss) {
        cli_error("demo", NULL);
        nb_graph_free(graph);
        return 1;
    }
    demo_log(run, "\nbeyond the tutorial: the same data through the network nn.Linear builds — a bias per unit\n"
                  "(%lld parameters instead of 140) and weights uniform in ±1/√fan_in instead of standard normal,\n"
                  "which keeps the outputs of order 1, so the loss starts near the targets' own Σy²:\n",
             (long long)nb_n_params(graph));
    two_layer_step(run, graph, loss, false, before, &losses[0]);
    nb_gradcheck_result check;
    nb_gradcheck(loss, 0, &check);
    demo_log(run, "  gradient check over all %lld parameters: worst relative error %.1e\n", (long long)check.n_checked,
             check.max_error);
    nb_optim_config adam = nb_optim_defaults(NB_ADAM);
    adam.lr = 0.01;
    nb_optimizer *optimizer = nb_optim_new(graph, &adam);
    for (int step = 1; step <= ADAM_STEPS; step++) {
        nb_forward(loss);
        nb_zero_grad(graph);
        nb_backward(loss);
        nb_optim_step(optimizer);
        losses[step] = nb_item(loss);
    }
    nb_forward(loss);
    demo_log(run, "  500 more full-batch steps with Adam (lr 0.01): loss Σ(ŷ − y)² %.3f (random targets cannot be\n"
                  "  fitted exactly by 7 hidden units)\n", nb_item(loss));
    cJSON *beyond = demo_object(run, "beyond");
    cJSON_AddNumberToObject(beyond, "parameters", (double)nb_n_params(graph));
    cJSON_AddNumberToObject(beyond, "loss_before", *before);
    cJSON_AddNumberToObject(beyond, "loss_after", losses[0]);
    demo_field(run, "gradcheck_max_error", check.max_error);
    demo_field(run, "adam_loss", nb_item(loss));
    nb_optim_free(optimizer);
    nb_graph_free(graph);
    return 0;
}

/* Both networks' losses on a log scale: the tutorial's step, the better network's step
 * and its Adam steps. */
static nb_figure *two_layer_figure(demo_run *run, const double tutorial[2], double before,
                                   const double losses[ADAM_STEPS + 1])
{
    nb_figure *figure = demo_figure(run, "tutorial 4: a 10-7-10 ReLU network", 1);
    if (!figure)
        return NULL;
    nb_panel *panel = nb_figure_panel(figure, 0, 0);
    nb_panel_title(panel, "the tutorial's one SGD step; the better-behaved net's step, then Adam");
    nb_panel_labels(panel, "step", "Σ(ŷ − y)²");
    nb_panel_log_y(panel, true);
    double steps[ADAM_STEPS + 1], first[2] = {0, 1}, better[2] = {before, losses[0]};
    for (int k = 0; k <= ADAM_STEPS; k++)
        steps[k] = k + 1;
    nb_panel_scatter(panel, "the tutorial's network: its step", first, tutorial, 2, &(nb_style){.width = 9});
    nb_panel_line(panel, "with biases, nn.Linear starts: Adam, lr 0.01", steps, losses, ADAM_STEPS + 1, NULL);
    nb_panel_scatter(panel, "with biases, nn.Linear starts: the step", first, better, 2, &(nb_style){.width = 9});
    return figure;
}

int demo_two_layer(demo_run *run)
{
    nb_rng rng, after_data;
    nb_rng_seed(&rng, run->options->seed);
    nb_graph *graph = nb_graph_new(NB_F64);
    nb_node *loss = two_layer_net(graph, NULL, false, &rng, &after_data);
    if (!loss) {
        cli_error("demo", NULL);
        nb_graph_free(graph);
        return 1;
    }
    demo_log(run, "tutorial 4: 233 inputs of 10 features and targets of 10, all standard normal; 10 → 7 (ReLU)\n"
                  "→ 10 with no biases and standard-normal weights w1 [10, 7], w2 [7, 10] (torch.randn);\n"
                  "loss Σ(ŷ − y)², one backward pass, one SGD step with lr 1e-4. The normals come from nabla's\n"
                  "generator (seed %llu), not torch's: the losses have the tutorial's size (torch seed 0:\n"
                  "95,119 → 13,140), not its exact values\n",
             (unsigned long long)run->options->seed);
    double tutorial[2], before, losses[ADAM_STEPS + 1];
    two_layer_step(run, graph, loss, true, &tutorial[0], &tutorial[1]);
    demo_params_of(run, graph); /* and --save writes them: the tutorial's network after its step */
    int status = two_layer_beyond(run, graph, &after_data, &before, losses);
    if (status == 0)
        status = demo_finish(run, graph, two_layer_figure(run, tutorial, before, losses));
    nb_graph_free(graph);
    return status;
}
