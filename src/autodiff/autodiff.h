/* The autodiff layer's interface to the layers above it inside the library (nn builds
 * layers, losses, optimizers and the training loop on it). Calls only: the layout of
 * nodes and graphs stays private to src/autodiff/ (graph_internal.h), and so does the
 * bookkeeping of gradients that stand for zeros without having been written. */
#ifndef NABLA_AUTODIFF_AUTODIFF_H
#define NABLA_AUTODIFF_AUTODIFF_H

#include "core/core.h"
#include "nabla/autodiff.h"

/* The first check of a builder: false when an input is NULL (keeping the message of the
 * builder that returned it) or when the inputs belong to different graphs (with a
 * message naming op_name and both inputs). */
bool nb_inputs_ok(const char *op_name, int n_inputs, nb_node *const *inputs);

/* Where a parameter's values start in nb_params_data() (and its gradient in
 * nb_grads_data()), in elements. */
int64_t nb_param_offset(const nb_node *param);

/* Zero the gradients of the trainable parameters without a pass over their memory:
 * they are marked as zeros, the next backward stores into them instead of adding, and
 * whatever reads them first (nb_grad, nb_grads_data) writes the zeros. The end of that
 * backward writes the zeros of those it did not reach, so that afterwards every
 * gradient is in memory again. */
void nb_grads_mark_zero(nb_graph *graph);
/* Zero the gradients of the inputs that require one; nothing (and no pass over the
 * graph) when none does. */
void nb_zero_input_grads(nb_graph *graph);

/* Evaluate `target`, and `also` (may be NULL) with it: both values are current on
 * return. When target depends on `also` (a loss on a model's output), target's pass is
 * the only one; otherwise `also` gets a pass of its own. */
nb_status nb_forward_with(nb_node *target, nb_node *also);

#endif
