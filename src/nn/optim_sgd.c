/* SGD with momentum, dampening, Nesterov momentum and weight decay. Its state: the
 * momentum buffer, none without momentum. */
#include "nn/optim_internal.h"

#include <tgmath.h>

#define T float
#define SFX f32
#include "nn/optim_sgd.inc"
#undef T
#undef SFX
#define T double
#define SFX f64
#include "nn/optim_sgd.inc"
#undef T
#undef SFX

static bool sgd_init(nb_optimizer *o) { return o->config.momentum == 0 || nb_optim_zeros(o, 1, &o->state); }

static void sgd_free(nb_optimizer *o) { nb_free(o->state); }

static void sgd_update(nb_optimizer *o, int64_t at, int64_t n)
{
    const nb_optim_config *c = &o->config;
    bool first = o->step == 1;
    if (o->f64)
        sgd_f64(n, (double *)o->values + at, (const double *)o->grads + at, o->state ? (double *)o->state + at : NULL,
                c, first, c->lr);
    else
        sgd_f32(n, (float *)o->values + at, (const float *)o->grads + at, o->state ? (float *)o->state + at : NULL, c,
                first, c->lr);
}

const nb_optim_family nb_optim_sgd = {.init = sgd_init, .free = sgd_free, .update = sgd_update};
