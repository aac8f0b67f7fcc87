/* Tutorial 4 (docs/tutorials.md): one neuron w1·x1 + w2·x2 + b learns logical AND
 * (targets −1 / +1) by per-sample gradient descent on the squared error (y − ŷ)², lr
 * 0.01, 20 epochs. */
#include <stdio.h>

#include "nabla.h"

int main(void)
{
    const double inputs[4][2] = {{1, 0}, {0, 1}, {0, 0}, {1, 1}}, targets[4] = {-1, -1, -1, 1};
    nb_graph *graph = nb_graph_new(NB_F64);
    nb_node *x = nb_input(graph, "x", 2, (int64_t[]){1, 2});
    nb_node *y = nb_input(graph, "y", 1, (int64_t[]){1});
    nb_node *w = nb_param(graph, "w", 2, (int64_t[]){2, 1});
    nb_node *b = nb_param(graph, "b", 1, (int64_t[]){1});
    nb_node *y_hat = nb_reshape(nb_add(nb_matmul(x, w, false, false), b), 1, (int64_t[]){-1});
    nb_node *loss = nb_sse_loss(y_hat, y);
    if (!loss) {
        fprintf(stderr, "%s\n", nb_errmsg());
        return 1;
    }
    nb_tensor_from_doubles(nb_value(w), (double[]){0.666, 0.333});
    nb_tensor_set(nb_value(b), 0, 0.233);

    nb_optim_config sgd = nb_optim_defaults(NB_SGD);
    sgd.lr = 0.01;
    nb_optimizer *optimizer = nb_optim_new(graph, &sgd);
    for (int epoch = 0; epoch < 20; epoch++) { /* epochs counted from 0, as the tutorial */
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
        printf("epoch %2d  loss %.6f (mean (y − ŷ)² over the epoch's 4 samples)\n", epoch, total / 4);
    }
    printf("w1 = %.4f, w2 = %.4f, b = %.4f\n\n x1 x2 | AND\n", nb_tensor_get(nb_value(w), 0),
           nb_tensor_get(nb_value(w), 1), nb_tensor_get(nb_value(b), 0));
    for (int i = 0; i < 4; i++) {
        nb_input_set_doubles(x, inputs[i], 1);
        nb_forward(y_hat); /* a prediction: forward only, nothing recorded */
        printf("  %g  %g |  %d\n", inputs[i][0], inputs[i][1], nb_item(y_hat) > 0);
    }
    nb_optim_free(optimizer);
    nb_graph_free(graph);
    return 0;
}
