/* RMSprop and Adagrad, which scale each step by a running measure of the gradient's
 * size. RMSprop's state: the running mean of the squared gradient, and the momentum
 * buffer (none without momentum); Adagrad's: the sum of the squared gradients. */
#include "nn/optim_internal.h"

#include <tgmath.h>

#define T float
#define SFX f32
#include "nn/optim_rmsprop.inc"
#undef T
#undef SFX
#define T double
#define SFX f64
#include "nn/optim_rmsprop.inc"
#undef T
#undef SFX

typedef struct rmsprop_state {
    void *square; /* RMSprop: running mean of g²; Adagrad: sum of g² */
    void *buf;    /* RMSprop's momentum buffer, or NULL */
} rmsprop_state;

static nb_status rmsprop_check(const nb_optim_config *c)
{
    if (!(c->alpha >= 0 && c->alpha < 1))
        return nb_fail(NB_EARG, "rmsprop: alpha must be in [0, 1), got %g", c->alpha);
    return NB_OK;
}

static bool rmsprop_init(nb_optimizer *o)
{
    rmsprop_state *s = nb_calloc(1, sizeof *s);
    bool buffer = o->config.kind == NB_RMSPROP && o->config.momentum != 0;
    void *arrays[2] = {NULL, NULL};
    if (!s || !nb_optim_zeros(o, buffer ? 2 : 1, arrays)) {
        nb_free(s);
        return false;
    }
    s->square = arrays[0], s->buf = arrays[1];
    o->state = s;
    return true;
}

static void rmsprop_free(nb_optimizer *o)
{
    rmsprop_state *s = o->state;
    if (s) {
        nb_free(s->square);
        nb_free(s->buf);
    }
    nb_free(s);
}

static void rmsprop_update(nb_optimizer *o, int64_t at, int64_t n)
{
    const nb_optim_config *c = &o->config;
    rmsprop_state *s = o->state;
    if (o->f64)
        rmsprop_f64(n, (double *)o->values + at, (const double *)o->grads + at, (double *)s->square + at,
                    s->buf ? (double *)s->buf + at : NULL, c, c->lr);
    else
        rmsprop_f32(n, (float *)o->values + at, (const float *)o->grads + at, (float *)s->square + at,
                    s->buf ? (float *)s->buf + at : NULL, c, c->lr);
}

static void adagrad_update(nb_optimizer *o, int64_t at, int64_t n)
{
    const nb_optim_config *c = &o->config;
    rmsprop_state *s = o->state;
    if (o->f64)
        adagrad_f64(n, (double *)o->values + at, (const double *)o->grads + at, (double *)s->square + at, c, c->lr);
    else
        adagrad_f32(n, (float *)o->values + at, (const float *)o->grads + at, (float *)s->square + at, c, c->lr);
}

const nb_optim_family nb_optim_rmsprop = {
    .check = rmsprop_check, .init = rmsprop_init, .free = rmsprop_free, .update = rmsprop_update};
const nb_optim_family nb_optim_adagrad = {.init = rmsprop_init, .free = rmsprop_free, .update = adagrad_update};
