/* Tutorial 1 (docs/tutorials.md): recover the coefficients of y = 2x² + 3x + 4 by
 * per-sample SGD.
 *
 * The tutorial derives ∂L/∂w1 = 2(ŷ−y)x², ∂L/∂w2 = 2(ŷ−y)x, ∂L/∂w3 = 2(ŷ−y) by hand.
 * Here nabla derives them: write the model and the loss, call nb_backward(). */
#include <stdio.h>

#include "nabla.h"

int main(void)
{
    nb_graph *graph = nb_graph_new(NB_F64);

    /* The model: ŷ = w1·x² + w2·x + w3, one sample at a time. */
    nb_node *x = nb_input(graph, "x", 0, NULL);
    nb_node *y = nb_input(graph, "y", 0, NULL);
    nb_node *w1 = nb_param(graph, "w1", 0, NULL);
    nb_node *w2 = nb_param(graph, "w2", 0, NULL);
    nb_node *w3 = nb_param(graph, "w3", 0, NULL);
    nb_node *y_hat = nb_add(nb_add(nb_mul(w1, nb_mul(x, x)), nb_mul(w2, x)), w3);

    /* The loss per sample: (y − ŷ)². */
    nb_node *error = nb_sub(y, y_hat);
    nb_node *loss = nb_mul(error, error);
    if (!loss) {
        fprintf(stderr, "building the model: %s\n", nb_errmsg());
        return 1;
    }

    double *w = nb_params_data(graph);     /* w1, w2, w3 in one array */
    double *x_value = nb_value(x)->data, *y_value = nb_value(y)->data;
    w[0] = 1, w[1] = 2, w[2] = 3;

    const double lr = 0.1;
    for (int epoch = 0; epoch < 500; epoch++) { /* epochs counted from 0, as the tutorial */
        double total = 0;
        for (int i = 0; i < 100; i++) {
            *x_value = i / 100.0;
            *y_value = 2 * *x_value * *x_value + 3 * *x_value + 4;
            nb_forward(loss);          /* ŷ and the loss */
            nb_zero_grad(graph);
            nb_backward(loss);         /* ∂loss/∂w1, ∂loss/∂w2, ∂loss/∂w3 */
            const double *grad = nb_grads_data(graph); /* the same order as w; asked after each backward */
            for (int k = 0; k < 3; k++)
                w[k] -= lr * grad[k];  /* the SGD update */
            total += nb_item(loss);
        }
        printf("epoch %d, loss %.8f (mean (y − ŷ)² over the epoch's 100 samples)\n", epoch, total / 100);
        if (total / 100 < 1e-5)
            break;
    }
    printf("w1 = %.6f, w2 = %.6f, w3 = %.6f (true: 2, 3, 4)\n", w[0], w[1], w[2]);
    nb_graph_free(graph);
    return 0;
}
