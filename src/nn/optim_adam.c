/* Adam, and AdamW (the weight decay applied to the weights, not added to the gradient).
 * Their state: the first and second moments of the gradient. */
#include "nn/optim_internal.h"

#include <tgmath.h>

#define T float
#define SFX f32
#include "nn/optim_adam.inc"
#undef T
#undef SFX
#define T double
#define SFX f64
#include "nn/optim_adam.inc"
#undef T
#undef SFX

typedef struct adam_state {
    void *m, *v; /* first and second moments, one value per parameter value */
} adam_state;

static nb_status adam_check(const nb_optim_config *c)
{
    if (!(c->beta1 >= 0 && c->beta1 < 1 && c->beta2 >= 0 && c->beta2 < 1 && c->eps >= 0))
        return nb_fail(NB_EARG, "%s: betas must be in [0, 1) and eps >= 0 (got %g, %g, %g)", nb_optim_name(c->kind),
                       c->beta1, c->beta2, c->eps);
    return NB_OK;
}

static bool adam_init(nb_optimizer *o)
{
    adam_state *s = nb_calloc(1, sizeof *s);
    void *moments[2];
    if (!s || !nb_optim_zeros(o, 2, moments)) {
        nb_free(s);
        return false;
    }
    s->m = moments[0], s->v = moments[1];
    o->state = s;
    return true;
}

static void adam_free(nb_optimizer *o)
{
    adam_state *s = o->state;
    if (s) {
        nb_free(s->m);
        nb_free(s->v);
    }
    nb_free(s);
}

static void adam_update(nb_optimizer *o, int64_t at, int64_t n)
{
    const nb_optim_config *c = &o->config;
    adam_state *s = o->state;
    bool decoupled = c->kind == NB_ADAMW;
    if (o->f64)
        adam_f64(n, (double *)o->values + at, (const double *)o->grads + at, (double *)s->m + at, (double *)s->v + at,
                 c, o->step, c->lr, decoupled);
    else
        adam_f32(n, (float *)o->values + at, (const float *)o->grads + at, (float *)s->m + at, (float *)s->v + at, c,
                 o->step, c->lr, decoupled);
}

const nb_optim_family nb_optim_adam = {.check = adam_check, .init = adam_init, .free = adam_free, .update = adam_update};
