/* Tutorial 1 (docs/tutorials.md), variant A, with nabla's autodiff: 500 epochs x 100
 * samples = 50,000 SGD steps of a 3-parameter model, no early stop. Prints the median
 * ns per step over repeats and the final weights (so the three programs can be checked
 * against each other). */
#include <stdio.h>
#include <stdlib.h>

#include "nabla.h"
#include "bench_timing.h"

static double now(void) { return bench_seconds(CLOCK_MONOTONIC); }

int main(int argc, char **argv)
{
    int repeats = argc > 1 ? atoi(argv[1]) : 21;
    nb_graph *graph = nb_graph_new(NB_F64);
    nb_node *x = nb_input(graph, "x", 0, NULL), *y = nb_input(graph, "y", 0, NULL);
    nb_node *w1 = nb_param(graph, "w1", 0, NULL), *w2 = nb_param(graph, "w2", 0, NULL);
    nb_node *w3 = nb_param(graph, "w3", 0, NULL);
    nb_node *error = nb_sub(y, nb_add(nb_add(nb_mul(w1, nb_mul(x, x)), nb_mul(w2, x)), w3));
    nb_node *loss = nb_mul(error, error);
    if (!loss) {
        fprintf(stderr, "%s\n", nb_errmsg());
        return 1;
    }
    double *w = nb_params_data(graph), *grad = nb_grads_data(graph);
    double *xv = nb_value(x)->data, *yv = nb_value(y)->data;
    double xs[100], ys[100], times[101];
    for (int i = 0; i < 100; i++) {
        xs[i] = i / 100.0;
        ys[i] = 2 * xs[i] * xs[i] + 3 * xs[i] + 4;
    }
    if (repeats > 101)
        repeats = 101;
    for (int r = 0; r < repeats; r++) {
        w[0] = 1, w[1] = 2, w[2] = 3;
        double start = now();
        for (int epoch = 0; epoch < 500; epoch++)
            for (int i = 0; i < 100; i++) {
                *xv = xs[i], *yv = ys[i];
                nb_forward(loss);
                nb_zero_grad(graph);
                nb_backward(loss);
                w[0] -= 0.1 * grad[0], w[1] -= 0.1 * grad[1], w[2] -= 0.1 * grad[2];
            }
        times[r] = (now() - start) / 50000 * 1e9;
    }
    bench_sort(times, repeats);
    printf("nabla %.2f ns/step  w = %.9f %.9f %.9f\n", times[repeats / 2], w[0], w[1], w[2]);
    nb_graph_free(graph);
    return 0;
}
