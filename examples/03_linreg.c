/* Tutorial 3 (docs/tutorials.md): linear regression the PyTorch way — a shuffling data
 * provider, a model ŷ = X·w + b, the mean absolute error, backward, an SGD step under
 * "no grad", zeroed gradients — in C with nabla. */
#include <stdio.h>

#include "nabla.h"

enum { N = 500, FEATURES = 4, BATCH = 16 };

int main(void)
{
    const double true_w[FEATURES] = {8.1, 2, 2, 4}, true_b = 1.1;
    nb_rng rng;
    nb_rng_seed(&rng, 42);

    /* synthetic data: X ~ N(0, 1), y = X·w + b + N(0, 0.01²) */
    static double features[N][FEATURES], labels[N];
    for (int i = 0; i < N; i++) {
        labels[i] = true_b;
        for (int j = 0; j < FEATURES; j++) {
            features[i][j] = nb_rng_normal(&rng);
            labels[i] += features[i][j] * true_w[j];
        }
        labels[i] += 0.01 * nb_rng_normal(&rng);
    }

    /* the model and the loss */
    nb_graph *graph = nb_graph_new(NB_F64);
    nb_node *X = nb_input(graph, "X", 2, (int64_t[]){BATCH, FEATURES});
    nb_node *y = nb_input(graph, "y", 2, (int64_t[]){BATCH, 1});
    nb_node *w = nb_param(graph, "w", 2, (int64_t[]){FEATURES, 1});
    nb_node *b = nb_param(graph, "b", 1, (int64_t[]){1});
    nb_node *y_hat = nb_add(nb_matmul(X, w, false, false), b);
    nb_node *loss = nb_mae_loss(y_hat, y, NB_REDUCE_MEAN);
    if (!loss) {
        fprintf(stderr, "%s\n", nb_errmsg());
        return 1;
    }
    nb_tensor_fill_normal(nb_value(w), &rng, 0, 0.01);
    nb_tensor_fill(nb_value(b), 0.01);

    nb_optim_config sgd = nb_optim_defaults(NB_SGD);
    sgd.lr = 0.03;
    nb_optimizer *optimizer = nb_optim_new(graph, &sgd);

    int64_t order[N];
    for (int i = 0; i < N; i++)
        order[i] = i;
    for (int epoch = 0; epoch < 50; epoch++) { /* epochs counted from 0, as the tutorial */
        nb_rng_shuffle(&rng, order, N); /* the data provider: a new order every epoch */
        double epoch_loss = 0;
        for (int start = 0; start < N; start += BATCH) {
            int batch = start + BATCH <= N ? BATCH : N - start; /* the last batch is smaller */
            double batch_X[BATCH][FEATURES], batch_y[BATCH];
            for (int r = 0; r < batch; r++) {
                for (int j = 0; j < FEATURES; j++)
                    batch_X[r][j] = features[order[start + r]][j];
                batch_y[r] = labels[order[start + r]];
            }
            nb_input_set_doubles(X, &batch_X[0][0], batch);
            nb_input_set_doubles(y, batch_y, batch);
            nb_forward(loss);
            nb_backward(loss);             /* loss.backward() */
            nb_optim_step(optimizer);      /* w -= lr * w.grad, under no_grad */
            nb_zero_grad(graph);           /* w.grad.zero_() */
            epoch_loss += nb_item(loss);
        }
        printf("epoch %03d: %.6f (sum of the epoch's 32 batch losses, each a mean |ŷ − y|)\n", epoch, epoch_loss);
    }
    printf("true w: %.2f %.2f %.2f %.2f  b: %.2f\n", true_w[0], true_w[1], true_w[2], true_w[3], true_b);
    printf("learned w: %.4f %.4f %.4f %.4f  b: %.4f\n", nb_tensor_get(nb_value(w), 0), nb_tensor_get(nb_value(w), 1),
           nb_tensor_get(nb_value(w), 2), nb_tensor_get(nb_value(w), 3), nb_tensor_get(nb_value(b), 0));
    nb_optim_free(optimizer);
    nb_graph_free(graph);
    return 0;
}
