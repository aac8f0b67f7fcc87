/* A program outside nabla that uses nabla::core alone (tests/consumer/run.sh builds it
 * against an installed nabla): the gradient of y = w^2 + 3w at w = 2, which is 7. */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include <nabla/autodiff.h>
#include <nabla/core.h>

int main(void)
{
    if (strcmp(nb_version(), NABLA_VERSION) != 0) {
        fprintf(stderr, "core_app: headers %s, library %s\n", NABLA_VERSION, nb_version());
        return 1;
    }
    nb_graph *graph = nb_graph_new(NB_F64);
    nb_node *w = nb_param(graph, "w", 0, NULL);
    nb_node *y = w ? nb_add(nb_mul(w, w), nb_mul(nb_scalar(graph, 3), w)) : NULL;
    if (!y || nb_tensor_set(nb_value(w), 0, 2.0) != NB_OK || nb_forward(y) != NB_OK || nb_backward(y) != NB_OK) {
        fprintf(stderr, "core_app: %s\n", nb_errmsg());
        nb_graph_free(graph);
        return 1;
    }
    double value = nb_item(y), slope = nb_tensor_get(nb_grad(w), 0);
    nb_graph_free(graph);
    printf("nabla %s: y(2) = %g, dy/dw = %g\n", nb_version(), value, slope);
    return fabs(value - 10) < 1e-12 && fabs(slope - 7) < 1e-12 ? 0 : 1;
}
