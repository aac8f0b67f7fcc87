/* nabla optimizers, learning-rate schedules and gradient clipping.
 *
 * An optimizer updates every parameter of a graph that requires a gradient, from the
 * gradients backward left in the graph's flat gradient buffer. The rules follow
 * PyTorch's (torch.optim) so that results can be compared number for number. */
#ifndef NABLA_OPTIM_H
#define NABLA_OPTIM_H

#include "nabla/graph.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef enum nb_optim_kind { NB_SGD, NB_ADAM, NB_ADAMW, NB_RMSPROP, NB_ADAGRAD, NB_LBFGS } nb_optim_kind;

typedef struct nb_optim_config {
    nb_optim_kind kind;
    double lr;
    double momentum;         /* SGD, RMSprop */
    double dampening;        /* SGD */
    bool nesterov;           /* SGD */
    double weight_decay;     /* L2 added to the gradient; AdamW decays the weights directly */
    double beta1, beta2;     /* Adam, AdamW */
    double eps;              /* Adam, AdamW, RMSprop, Adagrad */
    double alpha;            /* RMSprop smoothing constant */
    int history;             /* L-BFGS: pairs kept */
    int max_iter;            /* L-BFGS: iterations per step */
    double tolerance_grad;   /* L-BFGS: stop when max |grad| <= this */
    double tolerance_change; /* L-BFGS: stop when the loss or step changes less */
} nb_optim_config;

/* PyTorch's defaults for a kind (lr 1e-3 for Adam/AdamW/RMSprop, 1e-2 Adagrad, 1 for
 * L-BFGS, 0.01 for SGD). */
nb_optim_config nb_optim_defaults(nb_optim_kind kind);
/* "sgd", "adam", "adamw", "rmsprop", "adagrad", "lbfgs". */
nb_status nb_optim_parse(const char *name, nb_optim_kind *kind);
const char *nb_optim_name(nb_optim_kind kind);

typedef struct nb_optimizer nb_optimizer;

/* State is allocated here, once, for the graph's parameters as they are now; steps
 * allocate nothing. Create the optimizer after the model is complete: a step fails
 * NB_ESTATE once parameters have been added to the graph, and for L-BFGS (which works on
 * the trainable values laid end to end) once the number of trainable values has changed.
 * First-order methods may freeze and unfreeze parameters between steps. */
nb_optimizer *nb_optim_new(nb_graph *graph, const nb_optim_config *config);
void nb_optim_free(nb_optimizer *optimizer);
/* One update from the current gradients. L-BFGS needs nb_optim_step_closure. Runs on
 * nabla's threads when the parameters are many; the numbers do not depend on them. */
nb_status nb_optim_step(nb_optimizer *optimizer);
/* The same update, then the gradients of the updated parameters zeroed: nb_optim_step
 * followed by nb_zero_grad for them, without a pass over memory. The gradients are
 * marked as zeros rather than written: the next backward stores into them instead of
 * adding, and nb_grad() or nb_grads_data() write the zeros when asked first, so read
 * them through those (not through a pointer kept from before this call). A training
 * loop that zeroes once before its first backward then runs backward, this, backward,
 * this... */
nb_status nb_optim_step_zero_grad(nb_optimizer *optimizer);

/* Re-evaluates the loss and its gradient: zero the gradients, forward, backward, and
 * store the loss. */
typedef nb_status (*nb_loss_closure)(void *ctx, double *loss);
/* A step that may evaluate the loss several times (L-BFGS with its line search; the
 * other kinds evaluate once and step). *loss is the loss before the step. */
nb_status nb_optim_step_closure(nb_optimizer *optimizer, nb_loss_closure closure, void *ctx, double *loss);

/* Updates made so far: steps of a first-order method, iterations of L-BFGS (a call of
 * nb_optim_step_closure makes up to max_iter of them, fewer when it converges). */
int64_t nb_optim_steps(const nb_optimizer *optimizer);

void nb_optim_set_lr(nb_optimizer *optimizer, double lr);
double nb_optim_lr(const nb_optimizer *optimizer);
const nb_optim_config *nb_optim_config_of(const nb_optimizer *optimizer);

/* ---- gradient clipping ------------------------------------------------------------- */
/* The Euclidean norm of the gradients of all trainable parameters (a gradient marked as
 * zeros by nb_optim_step_zero_grad counts as zeros and stays marked). */
double nb_grad_norm(nb_graph *graph);
/* Scale those gradients so that their norm is at most max_norm; returns the norm before. */
double nb_clip_grad_norm(nb_graph *graph, double max_norm);

/* ---- learning-rate schedules ------------------------------------------------------- */
typedef enum nb_schedule_kind {
    NB_SCHED_CONSTANT,
    NB_SCHED_STEP,        /* base * gamma^floor(epoch / step_size) */
    NB_SCHED_EXPONENTIAL, /* base * gamma^epoch */
    NB_SCHED_COSINE       /* min + (base - min)(1 + cos(pi epoch / total)) / 2 */
} nb_schedule_kind;

typedef struct nb_schedule {
    nb_schedule_kind kind;
    double base_lr;
    int step_size;
    double gamma;
    int total_epochs;  /* cosine: the epochs of the decay */
    double min_lr;     /* cosine floor */
    int warmup_epochs; /* linear warm-up from base/warmup to base, before the schedule */
} nb_schedule;

/* The rate for a 0-based epoch. */
double nb_schedule_lr(const nb_schedule *schedule, int epoch);
/* "constant", "step:SIZE:GAMMA", "exp:GAMMA", "cosine[:MIN_LR]", optionally prefixed by
 * "warmup:N," (e.g. "warmup:2,cosine"). */
nb_status nb_schedule_parse(const char *text, double base_lr, int total_epochs, nb_schedule *schedule);

#ifdef __cplusplus
}
#endif

#endif
