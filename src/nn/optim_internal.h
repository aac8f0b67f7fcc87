/* What the optimizer files share: the optimizer handle, the table each family of update
 * rules fills in (optim_sgd.c, optim_adam.c, optim_rmsprop.c, optim_lbfgs.c), and the
 * driver's helpers (optim.c). A family keeps its own state behind `state`. */
#ifndef NABLA_OPTIM_INTERNAL_H
#define NABLA_OPTIM_INTERNAL_H

#include "autodiff/autodiff.h"
#include "nabla/nn.h"

/* A parameter as the optimizer met it at creation: its place in the graph's flat
 * buffers. Whether it trains is asked at each step (it may be frozen meanwhile). */
typedef struct nb_optim_param {
    nb_node *node;
    int64_t offset; /* elements into nb_params_data / nb_grads_data */
    int64_t size;
} nb_optim_param;

typedef struct nb_optim_family nb_optim_family;

struct nb_optimizer {
    nb_graph *graph;
    nb_optim_config config;
    const nb_optim_family *family;
    int64_t step;           /* updates made: steps, or L-BFGS's iterations */
    int64_t n_param_values; /* the graph's parameter values at creation */
    nb_optim_param *params; /* every parameter at creation, in the buffers' order */
    int n_params;
    bool f64;               /* the graph dtype is NB_F64 (else NB_F32) */
    /* During a first-order step: the flat buffers, and the parts it is cut into. */
    void *values, *grads;
    int parts;
    void *state; /* the family's */
};

struct nb_optim_family {
    /* The checks of the configuration beyond the common ones (lr, momentum, weight
     * decay, dampening, Nesterov); NULL for none. A message names the kind. */
    nb_status (*check)(const nb_optim_config *config);
    /* Allocate o->state (zeroed where the update reads it before writing it): false
     * when memory runs out, with nothing left allocated. Free it. */
    bool (*init)(nb_optimizer *o);
    void (*free)(nb_optimizer *o);
    /* First-order: update the n values from flat index `at` on, from their gradients
     * (o->values, o->grads). Elements are independent, so the driver may cut the work
     * anywhere. NULL for a method that needs the loss itself. */
    void (*update)(nb_optimizer *o, int64_t at, int64_t n);
    /* A step that evaluates the loss as often as it needs (L-BFGS); NULL for one
     * evaluation followed by nb_optim_step. */
    nb_status (*step_closure)(nb_optimizer *o, nb_loss_closure closure, void *ctx, double *loss);
};

/* The parameters that train now (requires_grad), in the buffers' order. */
#define NB_FOR_TRAINABLE(o, q)                                                                      \
    for (const nb_optim_param *q = (o)->params; q < (o)->params + (o)->n_params; q++)               \
        if (nb_requires_grad(q->node))

extern const nb_optim_family nb_optim_sgd, nb_optim_adam, nb_optim_rmsprop, nb_optim_adagrad, nb_optim_lbfgs;

/* `count` arrays of o->n_param_values zeros in the graph dtype; false (nothing left
 * allocated) when memory runs out. */
bool nb_optim_zeros(const nb_optimizer *o, int count, void **arrays);
/* The values of the trainable parameters, laid end to end. */
int64_t nb_optim_trainable_values(const nb_optimizer *o);
/* NB_ESTATE unless the graph still has the parameter values the state was sized for. */
nb_status nb_optim_check_model(const nb_optimizer *o);

#endif
