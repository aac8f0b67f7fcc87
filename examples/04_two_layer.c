/* Tutorial 4 (docs/tutorials.md), second part: autograd on f = sigmoid(X·w), then a
 * two-layer network 10 → 7 → 10 with ReLU and no biases, started from standard-normal
 * weights as the tutorial's torch.randn, sum-of-squares loss, one backward pass and one
 * SGD step. (`nabla demo two-layer` then shows a better-behaved version of the net.) */
#include <stdio.h>

#include "nabla.h"

int main(void)
{
    nb_rng rng;
    nb_rng_seed(&rng, 0);

    /* f = sigmoid(X·w): the gradient of sum(f) with respect to w, with no derivation */
    nb_graph *small = nb_graph_new(NB_F64);
    nb_node *X = nb_input(small, "X", 2, (int64_t[]){23, 10});
    nb_node *w = nb_param(small, "w", 2, (int64_t[]){10, 1});
    nb_tensor_fill_normal(nb_value(X), &rng, 0, 1);
    nb_tensor_fill_normal(nb_value(w), &rng, 0, 1);
    nb_node *f = nb_sum(nb_sigmoid(nb_matmul(X, w, false, false)));
    nb_forward(f);
    nb_backward(f);
    printf("sum(sigmoid(X·w)) = %.6f, d/dw[0] = %.6f\n", nb_item(f), nb_tensor_get(nb_grad(w), 0));
    nb_gradcheck_result check;
    nb_gradcheck(f, 0, &check);
    printf("gradient check: worst relative error %.2e over %lld entries\n\n", check.max_error,
           (long long)check.n_checked);
    nb_graph_free(small);

    /* the tutorial's two-layer network: 233 samples, 10 → 7 (ReLU) → 10, no biases, the
     * weights drawn standard normal like torch.randn (from nabla's generator, so the
     * losses have the tutorial's size, not its exact values); loss = Σ (ŷ − y)² */
    nb_graph *graph = nb_graph_new(NB_F64);
    nb_node *inputs = nb_input(graph, "inputs", 2, (int64_t[]){233, 10});
    nb_node *targets = nb_input(graph, "targets", 2, (int64_t[]){233, 10});
    nb_node *w1 = nb_param(graph, "w1", 2, (int64_t[]){10, 7});
    nb_node *w2 = nb_param(graph, "w2", 2, (int64_t[]){7, 10});
    nb_node *outputs = nb_matmul(nb_relu(nb_matmul(inputs, w1, false, false)), w2, false, false);
    nb_node *loss = nb_sse_loss(outputs, targets);
    if (!loss) {
        fprintf(stderr, "%s\n", nb_errmsg());
        return 1;
    }
    nb_tensor_fill_normal(nb_value(inputs), &rng, 0, 1);
    nb_tensor_fill_normal(nb_value(targets), &rng, 0, 1);
    nb_tensor_fill_normal(nb_value(w1), &rng, 0, 1);
    nb_tensor_fill_normal(nb_value(w2), &rng, 0, 1);
    nb_optim_config sgd = nb_optim_defaults(NB_SGD);
    sgd.lr = 1e-4;
    nb_optimizer *optimizer = nb_optim_new(graph, &sgd);
    nb_forward(loss);
    printf("loss Σ(ŷ − y)² over the 233 × 10 outputs, before the step: %.6f\n", nb_item(loss));
    nb_backward(loss);            /* one backward pass fills every gradient */
    nb_optim_step(optimizer);     /* one SGD step */
    nb_zero_grad(graph);          /* and the gradients are zeroed after it */
    nb_forward(loss);
    printf("loss Σ(ŷ − y)² over the 233 × 10 outputs, after the step:  %.6f\n", nb_item(loss));
    nb_optim_free(optimizer);
    nb_graph_free(graph);
    return 0;
}
