/* Your own model (README, "Write your own model"): a two-layer network learns
 * y = sin(x) on [−3, 3], built step by step. */
#include <math.h>
#include <stdio.h>

#include "nabla.h"

enum { N = 64, HIDDEN = 16, STEPS = 2000 };

int main(void)
{
    double x[N], y[N]; /* 1. the data: N points of sin */
    for (int i = 0; i < N; i++)
        x[i] = -3 + 6.0 * i / (N - 1), y[i] = sin(x[i]);

    nb_rng rng; /* 2. the model: x [N, 1] → 16 tanh units → ŷ [N, 1] */
    nb_rng_seed(&rng, 1);
    nb_graph *graph = nb_graph_new(NB_F64);
    nb_node *inputs = nb_input(graph, "x", 2, (int64_t[]){N, 1});
    nb_node *targets = nb_input(graph, "y", 2, (int64_t[]){N, 1});
    nb_node *hidden = nb_tanh(nb_dense(inputs, "hidden", HIDDEN, true, NB_INIT_XAVIER_UNIFORM, &rng));
    nb_node *output = nb_dense(hidden, "output", 1, true, NB_INIT_XAVIER_UNIFORM, &rng);
    nb_node *loss = nb_mse_loss(output, targets, NB_REDUCE_MEAN); /* 3. the loss */
    if (!loss || nb_input_set_doubles(inputs, x, N) != NB_OK || nb_input_set_doubles(targets, y, N) != NB_OK) {
        fprintf(stderr, "%s\n", nb_errmsg()); /* errors name the op and the shapes */
        return 1;
    }
    nb_optim_config adam = nb_optim_defaults(NB_ADAM); /* 4. the optimizer */
    adam.lr = 0.01;
    nb_optimizer *optimizer = nb_optim_new(graph, &adam);
    for (int step = 0; step <= STEPS; step++) { /* 5. train: forward, backward, step */
        nb_forward(loss);
        if (step % 400 == 0)
            printf("step %4d  loss %.6f\n", step, nb_item(loss));
        nb_zero_grad(graph);
        nb_backward(loss);
        nb_optim_step(optimizer);
    }
    printf("%lld parameters\n", (long long)nb_n_params(graph));
    nb_optim_free(optimizer);
    nb_graph_free(graph);
    return 0;
}
