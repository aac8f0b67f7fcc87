/* Tutorial 2 (docs/tutorials.md): y = 2x² − 4x + 3 on 800 points in [−1, 1), per-sample
 * SGD with the learning rate halved every 10 epochs, from a start far away (a, b, c) =
 * (−11/6, −395/3, −2400).
 *
 * The tutorial's gradient, (ŷ−y)·(x², x, 1), works only because it was derived by hand
 * for this one formula; here the model is written once and nabla differentiates it. */
#include <math.h>
#include <stdio.h>

#include "nabla.h"

int main(void)
{
    nb_graph *graph = nb_graph_new(NB_F64);
    nb_node *x = nb_input(graph, "x", 0, NULL), *y = nb_input(graph, "y", 0, NULL);
    nb_node *a = nb_param(graph, "a", 0, NULL), *b = nb_param(graph, "b", 0, NULL);
    nb_node *c = nb_param(graph, "c", 0, NULL);

    /* model ŷ = a·x² + b·x + c; loss ½(ŷ − y)² (the tutorial drops the factor 2) */
    nb_node *y_hat = nb_add(nb_add(nb_mul(a, nb_mul(x, x)), nb_mul(b, x)), c);
    nb_node *loss = nb_half_sse_loss(y_hat, y);
    if (!loss) {
        fprintf(stderr, "%s\n", nb_errmsg());
        return 1;
    }
    double *w = nb_params_data(graph), *grad = nb_grads_data(graph);
    w[0] = -11.0 / 6, w[1] = -395.0 / 3, w[2] = -2400;

    nb_schedule schedule;
    nb_schedule_parse("step:10:0.5", 0.5, 100, &schedule);
    for (int epoch = 0; epoch < 100; epoch++) {
        /* the tutorial halves one epoch early: lr = 0.5 / 2^floor((epoch + 1) / 10) */
        double lr = nb_schedule_lr(&schedule, epoch + 1), total = 0;
        for (int i = -400; i < 400; i++) {
            double xi = i / 400.0;
            *(double *)nb_value(x)->data = xi;
            *(double *)nb_value(y)->data = 2 * xi * xi - 4 * xi + 3;
            nb_forward(loss);
            nb_zero_grad(graph);
            nb_backward(loss);
            for (int k = 0; k < 3; k++)
                w[k] -= lr * grad[k];
            total += 2 * nb_item(loss); /* report the squared error, as the tutorial */
        }
        double mean = total / 800;
        printf("epoch %3d  lr %.6f  loss %.3e (mean over the epoch's 800 samples)  a %.2f  b %.2f  c %.2f\n", epoch, lr,
               mean, w[0], w[1], w[2]);
        /* stop on the epoch's mean loss (the tutorial tests only the last sample's) */
        if (mean < 1e-5)
            break;
    }
    printf("a = %.6f, b = %.6f, c = %.6f (true: 2, -4, 3)\n", w[0], w[1], w[2]);
    nb_graph_free(graph);
    return 0;
}
