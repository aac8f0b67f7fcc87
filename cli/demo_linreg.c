/* Demo `linreg` (SEEDS.md §3): linear regression with autodiff, a shuffling data
 * provider, the mean absolute error and plain SGD. */
#include "demo.h"

#include <math.h>

enum { N = 500, FEATURES = 4, BATCH = 16 };

/* The least-squares line for comparison: the normal equations of [X 1] solved by
 * Gaussian elimination with partial pivoting (5 unknowns, well conditioned). */
static void least_squares(double features[N][FEATURES], const double *labels, double *solution)
{
    enum { P = FEATURES + 1 };
    double a[P][P + 1] = {{0}};
    for (int i = 0; i < N; i++) {
        double row[P];
        for (int j = 0; j < FEATURES; j++)
            row[j] = features[i][j];
        row[FEATURES] = 1;
        for (int r = 0; r < P; r++) {
            for (int c = 0; c < P; c++)
                a[r][c] += row[r] * row[c];
            a[r][P] += row[r] * labels[i];
        }
    }
    for (int col = 0; col < P; col++) {
        int pivot = col;
        for (int r = col + 1; r < P; r++)
            if (fabs(a[r][col]) > fabs(a[pivot][col]))
                pivot = r;
        for (int c = 0; c <= P; c++) {
            double t = a[col][c];
            a[col][c] = a[pivot][c];
            a[pivot][c] = t;
        }
        for (int r = col + 1; r < P; r++) {
            double f = a[r][col] / a[col][col];
            for (int c = col; c <= P; c++)
                a[r][c] -= f * a[col][c];
        }
    }
    for (int r = P - 1; r >= 0; r--) {
        double v = a[r][P];
        for (int c = r + 1; c < P; c++)
            v -= a[r][c] * solution[c];
        solution[r] = v / a[r][r];
    }
}

int demo_linreg(demo_run *run)
{
    const double true_w[FEATURES] = {8.1, 2, 2, 4}, true_b = 1.1;
    nb_rng rng;
    nb_rng_seed(&rng, run->options->seed);
    static double features[N][FEATURES], labels[N], batch_X[BATCH][FEATURES], batch_y[BATCH];
    for (int i = 0; i < N; i++) {
        labels[i] = true_b;
        for (int j = 0; j < FEATURES; j++) {
            features[i][j] = nb_rng_normal(&rng);
            labels[i] += features[i][j] * true_w[j];
        }
        labels[i] += 0.01 * nb_rng_normal(&rng);
    }

    nb_graph *graph = nb_graph_new(NB_F64);
    nb_node *X = nb_input(graph, "X", 2, (int64_t[]){BATCH, FEATURES});
    nb_node *y = nb_input(graph, "y", 2, (int64_t[]){BATCH, 1});
    nb_node *w = nb_param(graph, "w", 2, (int64_t[]){FEATURES, 1});
    nb_node *b = nb_param(graph, "b", 1, (int64_t[]){1});
    nb_node *loss = nb_mae_loss(nb_add(nb_matmul(X, w, false, false), b), y, NB_REDUCE_MEAN);
    if (!loss) {
        cli_error("demo", NULL);
        nb_graph_free(graph);
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
    int64_t order[N];
    for (int i = 0; i < N; i++)
        order[i] = i;
    for (int epoch = 1; epoch <= 50; epoch++) {
        nb_rng_shuffle(&rng, order, N);
        double epoch_loss = 0;
        for (int start = 0; start < N; start += BATCH) {
            int batch = start + BATCH <= N ? BATCH : N - start;
            for (int r = 0; r < batch; r++) {
                for (int j = 0; j < FEATURES; j++)
                    batch_X[r][j] = features[order[start + r]][j];
                batch_y[r] = labels[order[start + r]];
            }
            nb_input_set(X, batch_X, batch);
            nb_input_set(y, batch_y, batch);
            nb_forward(loss);
            nb_backward(loss);
            nb_optim_step(optimizer);
            nb_zero_grad(graph);
            epoch_loss += nb_item(loss);
        }
        run->epochs_run = epoch;
        demo_history(run, epoch, epoch_loss);
        demo_log(run, "epoch %03d: %.6f\n", epoch, epoch_loss);
    }
    double learned_w[FEATURES], learned_b = nb_tensor_get(nb_value(b), 0);
    nb_tensor_to_doubles(nb_value(w), learned_w);
    demo_log(run, "\n          %8s %8s %8s %8s %8s\n", "w[0]", "w[1]", "w[2]", "w[3]", "b");
    demo_log(run, "true      %8.4f %8.4f %8.4f %8.4f %8.4f\n", true_w[0], true_w[1], true_w[2], true_w[3], true_b);
    demo_log(run, "learned   %8.4f %8.4f %8.4f %8.4f %8.4f\n", learned_w[0], learned_w[1], learned_w[2],
             learned_w[3], learned_b);
    demo_param_list(run, "w", learned_w, FEATURES);
    demo_param(run, "b", learned_b);

    double exact[FEATURES + 1];
    least_squares(features, labels, exact);
    demo_log(run, "least sq. %8.4f %8.4f %8.4f %8.4f %8.4f  (beyond the tutorial: one solve, no epochs)\n",
             exact[0], exact[1], exact[2], exact[3], exact[4]);
    cJSON *solved = demo_object(run, "least_squares");
    cJSON_AddItemToObject(solved, "w", cJSON_CreateDoubleArray(exact, FEATURES));
    cJSON_AddNumberToObject(solved, "b", exact[FEATURES]);
    nb_optim_free(optimizer);
    nb_graph_free(graph);
    return 0;
}
