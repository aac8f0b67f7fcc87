/* Tutorial 5 (docs/tutorials.md): a 2-2-2 sigmoid network trained by gradient descent
 * (step 1, 10 iterations), with the tutorial's hand-derived gradients set beside
 * autodiff.
 *
 * The tutorial's gradients for w1..w4 multiply by (∂L/∂w5 + ∂L/∂w6) where
 * backpropagation needs δo1·w5 + δo2·w6; the comparison below shows the error. */
#include <math.h>
#include <stdio.h>

#include "nabla.h"

static double sigmoid(double z) { return 1 / (1 + exp(-z)); }

/* The tutorial's gradients, derived by hand (w1..w4 with its mistake). */
static void tutorial_gradients(const double *w, double x1, double x2, double y1, double y2, double *grad)
{
    double h1 = sigmoid(w[0] * x1 + w[2] * x2), h2 = sigmoid(w[1] * x1 + w[3] * x2);
    double o1 = sigmoid(w[4] * h1 + w[6] * h2), o2 = sigmoid(w[5] * h1 + w[7] * h2);
    double delta1 = (o1 - y1) * o1 * (1 - o1), delta2 = (o2 - y2) * o2 * (1 - o2);
    grad[4] = delta1 * h1, grad[6] = delta1 * h2; /* output layer: right */
    grad[5] = delta2 * h1, grad[7] = delta2 * h2;
    grad[0] = (grad[4] + grad[5]) * h1 * (1 - h1) * x1; /* hidden layer: should be */
    grad[2] = (grad[4] + grad[5]) * h1 * (1 - h1) * x2; /* (delta1 w5 + delta2 w6) */
    grad[1] = (grad[6] + grad[7]) * h2 * (1 - h2) * x1;
    grad[3] = (grad[6] + grad[7]) * h2 * (1 - h2) * x2;
}

int main(void)
{
    const double x1 = 0.5, x2 = 0.3, y1 = 0.23, y2 = -0.07;
    const char *names[8] = {"w1", "w2", "w3", "w4", "w5", "w6", "w7", "w8"};
    nb_graph *graph = nb_graph_new(NB_F64);
    nb_node *w[8];
    for (int i = 0; i < 8; i++)
        w[i] = nb_param(graph, names[i], 0, NULL);
    nb_node *in1 = nb_scalar(graph, x1), *in2 = nb_scalar(graph, x2);
    nb_node *h1 = nb_sigmoid(nb_add(nb_mul(w[0], in1), nb_mul(w[2], in2)));
    nb_node *h2 = nb_sigmoid(nb_add(nb_mul(w[1], in1), nb_mul(w[3], in2)));
    nb_node *o1 = nb_sigmoid(nb_add(nb_mul(w[4], h1), nb_mul(w[6], h2)));
    nb_node *o2 = nb_sigmoid(nb_add(nb_mul(w[5], h1), nb_mul(w[7], h2)));
    nb_node *e1 = nb_sub(o1, nb_scalar(graph, y1)), *e2 = nb_sub(o2, nb_scalar(graph, y2));
    nb_node *loss = nb_scale(nb_add(nb_mul(e1, e1), nb_mul(e2, e2)), 0.5); /* ½Σ(o − y)² */
    if (!loss) {
        fprintf(stderr, "%s\n", nb_errmsg());
        return 1;
    }
    double *weights = nb_params_data(graph), *grad = nb_grads_data(graph);
    const double start[8] = {0.2, -0.4, 0.5, 0.6, 0.1, -0.5, -0.3, 0.8};
    for (int i = 0; i < 8; i++)
        weights[i] = start[i];

    /* at the start: hand-derived vs autodiff */
    nb_forward(loss);
    nb_backward(loss);
    double hand[8];
    tutorial_gradients(weights, x1, x2, y1, y2, hand);
    printf("gradient   tutorial     autodiff\n");
    for (int i = 0; i < 8; i++)
        printf("%-8s %11.7f  %11.7f%s\n", names[i], hand[i], grad[i], fabs(hand[i] - grad[i]) > 1e-12 ? "  <- wrong" : "");
    nb_gradcheck_result check;
    nb_gradcheck(loss, 0, &check);
    printf("finite differences agree with autodiff to %.1e\n\n", check.max_error);

    for (int iteration = 0; iteration < 10; iteration++) { /* counted from 0, as the tutorial */
        nb_zero_grad(graph);
        nb_forward(loss);
        printf("iteration %2d  o1 %.6f  o2 %.6f  loss ½Σ(o − y)² %.9f\n", iteration, nb_item(o1), nb_item(o2), nb_item(loss));
        nb_backward(loss);
        for (int i = 0; i < 8; i++)
            weights[i] -= 1.0 * grad[i];
    }
    printf("(o2 can never reach −0.07: a sigmoid stays in (0, 1))\n");
    nb_graph_free(graph);
    return 0;
}
