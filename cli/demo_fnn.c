/* Demo `fnn-backprop` (tutorial 5, docs/tutorials.md): a 2-2-2 sigmoid network trained
 * by gradient descent, with the tutorial's hand-derived gradients run beside autodiff
 * and a gradient check that catches their mistake. */
#include "demo.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

static const double x1 = 0.5, x2 = 0.3, target1 = 0.23, target2 = -0.07;
static const double start[8] = {0.2, -0.4, 0.5, 0.6, 0.1, -0.5, -0.3, 0.8};
static const char *const names[8] = {"w1", "w2", "w3", "w4", "w5", "w6", "w7", "w8"};

static double sigmoid(double z) { return 1 / (1 + exp(-z)); }

/* The tutorial's backward pass, derived by hand. Output layer: δo·h, right. Hidden
 * layer: it multiplies by (∂L/∂w5 + ∂L/∂w6) where backpropagation needs δo1·w5 + δo2·w6
 * (and likewise for w2, w4 with w7, w8). With `corrected`, the right formula. */
static void hand_gradients(const double *w, bool corrected, double *grad, double *loss)
{
    double h1 = sigmoid(w[0] * x1 + w[2] * x2), h2 = sigmoid(w[1] * x1 + w[3] * x2);
    double o1 = sigmoid(w[4] * h1 + w[6] * h2), o2 = sigmoid(w[5] * h1 + w[7] * h2);
    *loss = 0.5 * (o1 - target1) * (o1 - target1) + 0.5 * (o2 - target2) * (o2 - target2);
    double d1 = (o1 - target1) * o1 * (1 - o1), d2 = (o2 - target2) * o2 * (1 - o2);
    grad[4] = d1 * h1, grad[5] = d2 * h1, grad[6] = d1 * h2, grad[7] = d2 * h2;
    double back1 = corrected ? d1 * w[4] + d2 * w[5] : grad[4] + grad[5];
    double back2 = corrected ? d1 * w[6] + d2 * w[7] : grad[6] + grad[7];
    grad[0] = back1 * h1 * (1 - h1) * x1, grad[2] = back1 * h1 * (1 - h1) * x2;
    grad[1] = back2 * h2 * (1 - h2) * x1, grad[3] = back2 * h2 * (1 - h2) * x2;
}

/* The network as a graph: its loss and its two outputs. */
typedef struct fnn_model {
    nb_graph *graph;
    nb_node *o1, *o2, *loss;
} fnn_model;

static int fnn_build(fnn_model *m)
{
    m->graph = nb_graph_new(NB_F64);
    nb_node *w[8];
    for (int i = 0; i < 8; i++)
        w[i] = nb_param(m->graph, names[i], 0, NULL);
    nb_node *in1 = nb_scalar(m->graph, x1), *in2 = nb_scalar(m->graph, x2);
    nb_node *h1 = nb_sigmoid(nb_add(nb_mul(w[0], in1), nb_mul(w[2], in2)));
    nb_node *h2 = nb_sigmoid(nb_add(nb_mul(w[1], in1), nb_mul(w[3], in2)));
    m->o1 = nb_sigmoid(nb_add(nb_mul(w[4], h1), nb_mul(w[6], h2)));
    m->o2 = nb_sigmoid(nb_add(nb_mul(w[5], h1), nb_mul(w[7], h2)));
    nb_node *e1 = nb_sub(m->o1, nb_scalar(m->graph, target1)), *e2 = nb_sub(m->o2, nb_scalar(m->graph, target2));
    m->loss = nb_scale(nb_add(nb_mul(e1, e1), nb_mul(e2, e2)), 0.5);
    if (!m->loss) {
        cli_error("demo", NULL);
        nb_graph_free(m->graph);
        return 1;
    }
    return 0;
}

/* The tutorial's gradients, autodiff's and the corrected formula's at the start, side
 * by side; then the gradient check (which leaves the gradients zeroed). */
static void fnn_compare_at_start(demo_run *run, fnn_model *m)
{
    const double *grad = nb_grads_data(m->graph);
    nb_forward(m->loss);
    nb_backward(m->loss);
    double hand[8], corrected[8], hand_loss;
    hand_gradients(start, false, hand, &hand_loss);
    hand_gradients(start, true, corrected, &hand_loss);
    demo_log(run, "gradients at the start\n  %-4s %12s %12s %12s\n", "", "tutorial", "autodiff", "corrected");
    cJSON *comparison = cJSON_AddArrayToObject(run->report, "gradients_at_start");
    int wrong = 0;
    for (int i = 0; i < 8; i++) {
        bool differs = fabs(hand[i] - grad[i]) > 1e-9 * fmax(1, fabs(grad[i]));
        wrong += differs;
        demo_log(run, "  %-4s %12.8f %12.8f %12.8f%s\n", names[i], hand[i], grad[i], corrected[i],
                 differs ? "   <- the tutorial's is wrong" : "");
        cJSON *row = cJSON_CreateObject();
        cJSON_AddStringToObject(row, "name", names[i]);
        cJSON_AddNumberToObject(row, "tutorial", hand[i]);
        cJSON_AddNumberToObject(row, "autodiff", grad[i]);
        cJSON_AddBoolToObject(row, "tutorial_wrong", differs);
        cJSON_AddItemToArray(comparison, row);
    }
    nb_gradcheck_result check;
    nb_gradcheck(m->loss, 0, &check);
    demo_log(run, "the gradient check (central differences) agrees with autodiff to %.1e; the tutorial's\n"
                  "hidden-layer formula uses ∂L/∂w5 + ∂L/∂w6 where backpropagation needs δo1·w5 + δo2·w6\n\n",
             check.max_error);
    demo_field(run, "gradcheck_max_error", check.max_error);
    demo_field(run, "tutorial_gradients_wrong", wrong);
}

/* --trace: one update of the autodiff run in the tutorial's notation — the forward
 * values, the loss, each weight's gradient by the tutorial's hand formula beside
 * autodiff's (flagged where they differ), and the step. */
static void fnn_trace(demo_run *run, const double *w, const double *grad, int iteration)
{
    char what[64];
    snprintf(what, sizeof what, "iteration %d, gradient descent with step 1", iteration);
    if (!demo_trace(run, what))
        return;
    double h1 = sigmoid(w[0] * x1 + w[2] * x2), h2 = sigmoid(w[1] * x1 + w[3] * x2);
    double o1 = sigmoid(w[4] * h1 + w[6] * h2), o2 = sigmoid(w[5] * h1 + w[7] * h2);
    demo_log(run, "  h1 = σ(w1·x1 + w3·x2) = σ(%g·%g + %g·%g) = %.8f\n", w[0], x1, w[2], x2, h1);
    demo_log(run, "  h2 = σ(w2·x1 + w4·x2) = σ(%g·%g + %g·%g) = %.8f\n", w[1], x1, w[3], x2, h2);
    demo_log(run, "  o1 = σ(w5·h1 + w7·h2) = %.8f   o2 = σ(w6·h1 + w8·h2) = %.8f\n", o1, o2);
    demo_log(run, "  L = ½(o1 − y1)² + ½(o2 − y2)² = ½(%.6f − %g)² + ½(%.6f − (%g))² = %.9f\n", o1, target1, o2,
             target2, 0.5 * (o1 - target1) * (o1 - target1) + 0.5 * (o2 - target2) * (o2 - target2));
    demo_log(run, "  δo1 = (o1 − y1)·o1·(1 − o1) = %.8f   δo2 = (o2 − y2)·o2·(1 − o2) = %.8f\n",
             (o1 - target1) * o1 * (1 - o1), (o2 - target2) * o2 * (1 - o2));
    double hand[8], loss;
    hand_gradients(w, false, hand, &loss);
    demo_log(run, "  %-7s %15s %15s\n", "", "tutorial (hand)", "autodiff");
    for (int i = 0; i < 8; i++) {
        bool differs = fabs(hand[i] - grad[i]) > 1e-9 * fmax(1, fabs(grad[i]));
        demo_log(run, "  ∂L/∂%-3s %15.8f %15.8f%s\n", names[i], hand[i], grad[i],
                 differs ? "   <- differ: the tutorial's hidden-layer formula" : "");
    }
    demo_log(run, "  the step, with autodiff's gradients:\n");
    demo_trace_step(run, names, 8, w, grad, 1);
}

/* Ten steps of gradient descent (step 1), by autodiff on the graph and by the tutorial's
 * hand-derived gradients from the same start; the latter's losses go to hand_losses. */
static void fnn_descend(demo_run *run, fnn_model *m, double hand_losses[10])
{
    double *weights = nb_params_data(m->graph), *grad = nb_grads_data(m->graph);
    double hand_w[8], hand[8], hand_loss;
    memcpy(hand_w, start, sizeof hand_w);
    demo_log(run, "loss: ½Σ(o − y)² over the two outputs, before the iteration's update\n");
    demo_log(run, "%-9s %-34s %s\n", "", "autodiff", "tutorial's hand-derived gradients");
    cJSON *hand_history = cJSON_AddArrayToObject(run->report, "tutorial_history");
    for (int iteration = 0; iteration < 10; iteration++) {
        nb_zero_grad(m->graph);
        nb_forward(m->loss);
        double value = nb_item(m->loss), out1 = nb_item(m->o1), out2 = nb_item(m->o2);
        nb_backward(m->loss);
        hand_gradients(hand_w, false, hand, &hand_loss);
        demo_log(run, "iter %2d   o = (%.6f, %.6f) loss %.9f   loss %.9f\n", iteration, out1, out2, value, hand_loss);
        fnn_trace(run, weights, grad, iteration);
        hand_losses[iteration] = hand_loss;
        demo_history(run, iteration, value);
        cJSON *entry = cJSON_CreateObject();
        cJSON_AddNumberToObject(entry, "epoch", iteration);
        cJSON_AddNumberToObject(entry, "loss", hand_loss);
        cJSON_AddItemToArray(hand_history, entry);
        for (int i = 0; i < 8; i++) {
            weights[i] -= grad[i];
            hand_w[i] -= hand[i];
        }
    }
    run->epochs_run = 10;
}

static nb_figure *fnn_figure(demo_run *run, const double hand_losses[10])
{
    nb_figure *figure = demo_figure(run, "tutorial 5: backpropagation by hand and by autodiff", 1);
    if (!figure)
        return NULL;
    nb_panel *panel = nb_figure_panel(figure, 0, 0);
    nb_panel_title(panel, "loss against iteration (gradient descent, step 1)");
    nb_panel_labels(panel, "iteration", "½Σ(o − y)²");
    double *iterations = demo_epoch_axis(run, 10); /* from 0, as the tutorial counts */
    if (iterations && run->n_losses == 10) {
        nb_panel_line(panel, "autodiff (right gradients)", iterations, run->losses, 10, NULL);
        nb_panel_line(panel, "the tutorial's hand-derived gradients", iterations, hand_losses, 10,
                      &(nb_style){.dashed = true});
    }
    free(iterations);
    return figure;
}

int demo_fnn_backprop(demo_run *run)
{
    fnn_model m;
    if (fnn_build(&m))
        return 1;
    double *weights = nb_params_data(m.graph);
    memcpy(weights, start, sizeof start);
    demo_log(run, "tutorial 5: 2-2-2 sigmoid network, no biases, x = (0.5, 0.3), y = (0.23, −0.07),\n"
                  "loss ½Σ(o − y)², gradient descent with step 1 for 10 iterations\n\n");
    fnn_compare_at_start(run, &m);
    double hand_losses[10];
    fnn_descend(run, &m, hand_losses);
    demo_log(run, "\no2 cannot reach −0.07: a sigmoid output stays in (0, 1), so the loss never reaches 0\n");
    for (int i = 0; i < 8; i++)
        demo_param(run, names[i], weights[i]);
    int status = demo_finish(run, m.graph, fnn_figure(run, hand_losses));
    nb_graph_free(m.graph);
    return status;
}
