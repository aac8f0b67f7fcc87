/* The optimizers' common driver: names, defaults, the checks every kind shares,
 * creation, the first-order step (cut into parts for nabla's threads), gradient
 * clipping and learning-rate schedules. The update rules and their state are in one file
 * per family (optim_sgd.c, optim_adam.c, optim_rmsprop.c, optim_lbfgs.c). */
#include "nn/optim_internal.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

static const char *kind_names[] = {"sgd", "adam", "adamw", "rmsprop", "adagrad", "lbfgs"};

const char *nb_optim_name(nb_optim_kind kind)
{
    return (unsigned)kind < sizeof kind_names / sizeof kind_names[0] ? kind_names[kind] : "?";
}

nb_status nb_optim_parse(const char *name, nb_optim_kind *kind)
{
    for (size_t i = 0; i < sizeof kind_names / sizeof kind_names[0]; i++)
        if (name && strcmp(name, kind_names[i]) == 0) {
            *kind = (nb_optim_kind)i;
            return NB_OK;
        }
    return nb_fail(NB_EARG, "unknown optimizer '%s' (known: sgd, adam, adamw, rmsprop, adagrad, lbfgs)",
                   name ? name : "");
}

nb_optim_config nb_optim_defaults(nb_optim_kind kind)
{
    nb_optim_config c = {.kind = kind, .lr = 0.01, .beta1 = 0.9, .beta2 = 0.999, .eps = 1e-8, .alpha = 0.99,
                         .history = 100, .max_iter = 20, .tolerance_grad = 1e-7, .tolerance_change = 1e-9};
    switch (kind) {
    case NB_ADAM:
    case NB_RMSPROP: c.lr = 1e-3; break;
    case NB_ADAMW: c.lr = 1e-3, c.weight_decay = 1e-2; break;
    case NB_ADAGRAD: c.lr = 1e-2, c.eps = 1e-10; break;
    case NB_LBFGS: c.lr = 1; break;
    case NB_SGD: break;
    }
    return c;
}

static const nb_optim_family *const families[] = {
    [NB_SGD] = &nb_optim_sgd,         [NB_ADAM] = &nb_optim_adam,       [NB_ADAMW] = &nb_optim_adam,
    [NB_RMSPROP] = &nb_optim_rmsprop, [NB_ADAGRAD] = &nb_optim_adagrad, [NB_LBFGS] = &nb_optim_lbfgs,
};

bool nb_optim_zeros(const nb_optimizer *o, int count, void **arrays)
{
    size_t bytes = (size_t)(o->n_param_values ? o->n_param_values : 1) * nb_dtype_size(nb_graph_dtype(o->graph));
    bool ok = true;
    for (int k = 0; k < count; k++)
        ok &= (arrays[k] = nb_calloc(1, bytes)) != NULL;
    for (int k = 0; !ok && k < count; k++) {
        nb_free(arrays[k]);
        arrays[k] = NULL;
    }
    return ok;
}

int64_t nb_optim_trainable_values(const nb_optimizer *o)
{
    int64_t n = 0;
    NB_FOR_TRAINABLE(o, q) n += q->size;
    return n;
}

/* The state was sized for the model as it was at nb_optim_new: it covers every
 * parameter value (freezing and unfreezing is fine, adding is not). */
nb_status nb_optim_check_model(const nb_optimizer *o)
{
    if (nb_n_params(o->graph) != o->n_param_values)
        return nb_fail(NB_ESTATE,
                       "%s: the graph has %lld parameter values, but had %lld when the optimizer was created; "
                       "create the optimizer after the model is complete",
                       nb_optim_name(o->config.kind), (long long)nb_n_params(o->graph), (long long)o->n_param_values);
    return NB_OK;
}

void nb_optim_free(nb_optimizer *optimizer)
{
    if (!optimizer)
        return;
    optimizer->family->free(optimizer);
    nb_free(optimizer->params);
    nb_free(optimizer);
}

static nb_status check_config(const nb_optim_config *c)
{
    const char *name = nb_optim_name(c->kind);
    if ((unsigned)c->kind > NB_LBFGS)
        return nb_fail(NB_EARG, "optimizer: unknown kind %d", (int)c->kind);
    if (!(c->lr > 0) || !isfinite(c->lr))
        return nb_fail(NB_EARG, "%s: the learning rate must be positive, got %g", name, c->lr);
    if (!(c->momentum >= 0) || !(c->weight_decay >= 0) || !(c->dampening >= 0 && c->dampening <= 1))
        return nb_fail(NB_EARG, "%s: momentum, weight decay must be >= 0 and dampening in [0, 1]", name);
    if (c->nesterov && (c->momentum <= 0 || c->dampening != 0))
        return nb_fail(NB_EARG, "%s: Nesterov momentum needs momentum > 0 and no dampening", name);
    const nb_optim_family *family = families[c->kind];
    return family->check ? family->check(c) : NB_OK;
}

/* The graph's parameters as they are now: where each sits in the flat buffers. */
static bool list_params(nb_optimizer *o)
{
    int count = nb_param_count(o->graph);
    o->params = nb_alloc((size_t)(count ? count : 1) * sizeof *o->params);
    if (!o->params)
        return false;
    for (int i = 0; i < count; i++) {
        nb_node *node = nb_param_at(o->graph, i);
        o->params[i] = (nb_optim_param){node, nb_param_offset(node), nb_value(node)->size};
    }
    o->n_params = count;
    return true;
}

nb_optimizer *nb_optim_new(nb_graph *graph, const nb_optim_config *config)
{
    if (!graph || !config) {
        nb_fail(NB_EARG, "nb_optim_new: graph and config must not be NULL");
        return NULL;
    }
    if (check_config(config) != NB_OK)
        return NULL;
    nb_optimizer *o = nb_calloc(1, sizeof *o);
    if (!o) {
        nb_fail(NB_ENOMEM, "nb_optim_new: out of memory");
        return NULL;
    }
    o->graph = graph;
    o->config = *config;
    o->family = families[config->kind];
    o->f64 = nb_graph_dtype(graph) == NB_F64;
    o->n_param_values = nb_n_params(graph);
    if (!list_params(o) || !o->family->init(o)) {
        nb_free(o->params);
        nb_free(o);
        nb_fail(NB_ENOMEM, "%s: out of memory for the state of %lld parameters", nb_optim_name(config->kind),
                (long long)nb_n_params(graph));
        return NULL;
    }
    return o;
}

int64_t nb_optim_steps(const nb_optimizer *optimizer) { return optimizer->step; }

void nb_optim_set_lr(nb_optimizer *optimizer, double lr) { optimizer->config.lr = lr; }
double nb_optim_lr(const nb_optimizer *optimizer) { return optimizer->config.lr; }
const nb_optim_config *nb_optim_config_of(const nb_optimizer *optimizer) { return &optimizer->config; }

/* Part `part` of `parts` of the update of every trainable parameter: the elements
 * [size·part/parts, size·(part+1)/parts) of each. Each element's update reads only its
 * own gradient and state, so the split changes no number. */
static void step_part(void *ctx, int part)
{
    nb_optimizer *o = ctx;
    int parts = o->parts;
    NB_FOR_TRAINABLE(o, q)
    {
        int64_t from = q->size * part / parts, n = q->size * (part + 1) / parts - from;
        o->family->update(o, q->offset + from, n);
    }
}

/* The update is a pass over the parameters, their gradients and the state: on nabla's
 * threads when large. Each tensor is cut into equal contiguous parts, part t of every
 * tensor on one thread, which is how the matrix products cut a weight gradient's rows:
 * the gradient a thread has just written is still in its core's cache, and updating it
 * from another core is much slower (docs/design.md). */
static nb_status first_order_step(nb_optimizer *o, bool zero_grads)
{
    if (!o)
        return nb_fail(NB_EARG, "nb_optim_step: optimizer is NULL");
    if (!o->family->update)
        return nb_fail(NB_ESTATE, "%s: needs the loss itself; use nb_optim_step_closure", nb_optim_name(o->config.kind));
    if (nb_optim_check_model(o) != NB_OK)
        return nb_errcode();
    o->step++;
    o->values = nb_params_data(o->graph);
    o->grads = nb_grads_data(o->graph); /* a gradient marked as zeros gets its zeros */
    o->parts = nb_threads_for(o->n_param_values, NB_PARALLEL_GRAIN);
    if (o->parts > 1)
        nb_parallel_chunks(o->parts, step_part, o);
    else
        step_part(o, 0);
    /* Zeroing by marking: the next backward stores into the gradients instead of
     * adding to zeros written here. */
    if (zero_grads)
        nb_grads_mark_zero(o->graph);
    return NB_OK;
}

nb_status nb_optim_step(nb_optimizer *o) { return first_order_step(o, false); }

nb_status nb_optim_step_zero_grad(nb_optimizer *o) { return first_order_step(o, true); }

nb_status nb_optim_step_closure(nb_optimizer *o, nb_loss_closure closure, void *ctx, double *loss)
{
    if (!o || !closure || !loss)
        return nb_fail(NB_EARG, "nb_optim_step_closure: optimizer, closure and loss must not be NULL");
    if (o->family->step_closure)
        return o->family->step_closure(o, closure, ctx, loss);
    nb_status status = closure(ctx, loss);
    return status == NB_OK ? nb_optim_step(o) : status;
}

/* ---- clipping ------------------------------------------------------------------------ */

/* Both read the trainable parameters' gradients in the flat buffer, one parameter after
 * the other in the order of the graph (which fixes the sum's rounding). */
double nb_grad_norm(nb_graph *graph)
{
    bool f64 = nb_graph_dtype(graph) == NB_F64;
    const void *grads = nb_grads_data(graph);
    double total = 0;
    for (int i = 0; i < nb_param_count(graph); i++) {
        nb_node *param = nb_param_at(graph, i);
        if (!nb_requires_grad(param))
            continue;
        int64_t at = nb_param_offset(param), size = nb_value(param)->size;
        if (f64) {
            const double *g = (const double *)grads + at;
            for (int64_t k = 0; k < size; k++)
                total += g[k] * g[k];
        } else {
            const float *g = (const float *)grads + at;
            for (int64_t k = 0; k < size; k++)
                total += (double)g[k] * (double)g[k];
        }
    }
    return sqrt(total);
}

double nb_clip_grad_norm(nb_graph *graph, double max_norm)
{
    double norm = nb_grad_norm(graph);
    if (!(norm > max_norm && norm > 0))
        return norm;
    bool f64 = nb_graph_dtype(graph) == NB_F64;
    void *grads = nb_grads_data(graph);
    double factor = max_norm / norm;
    for (int i = 0; i < nb_param_count(graph); i++) {
        nb_node *param = nb_param_at(graph, i);
        if (!nb_requires_grad(param))
            continue;
        int64_t at = nb_param_offset(param), size = nb_value(param)->size;
        if (f64) {
            double *g = (double *)grads + at;
            for (int64_t k = 0; k < size; k++)
                g[k] *= factor;
        } else {
            float *g = (float *)grads + at;
            for (int64_t k = 0; k < size; k++)
                g[k] = (float)((double)g[k] * factor);
        }
    }
    return norm;
}

/* ---- schedules ------------------------------------------------------------------------- */

double nb_schedule_lr(const nb_schedule *s, int epoch)
{
    if (s->warmup_epochs > 0 && epoch < s->warmup_epochs)
        return s->base_lr * (epoch + 1) / s->warmup_epochs;
    int e = epoch - (s->warmup_epochs > 0 ? s->warmup_epochs : 0);
    switch (s->kind) {
    case NB_SCHED_CONSTANT: return s->base_lr;
    case NB_SCHED_STEP: return s->base_lr * pow(s->gamma, floor((double)e / s->step_size));
    case NB_SCHED_EXPONENTIAL: return s->base_lr * pow(s->gamma, e);
    case NB_SCHED_COSINE: {
        int total = s->total_epochs - (s->warmup_epochs > 0 ? s->warmup_epochs : 0);
        double progress = total > 0 ? fmin(1.0, (double)e / total) : 1.0;
        return s->min_lr + (s->base_lr - s->min_lr) * (1 + cos(M_PI * progress)) / 2;
    }
    }
    return s->base_lr;
}

nb_status nb_schedule_parse(const char *text, double base_lr, int total_epochs, nb_schedule *s)
{
    if (!text || !s)
        return nb_fail(NB_EARG, "nb_schedule_parse: NULL argument");
    *s = (nb_schedule){.kind = NB_SCHED_CONSTANT, .base_lr = base_lr, .total_epochs = total_epochs};
    const char *rest = text;
    char *end;
    if (strncmp(rest, "warmup:", 7) == 0) {
        long warmup = strtol(rest + 7, &end, 10);
        if (end == rest + 7 || warmup < 1 || (*end != ',' && *end != '\0'))
            return nb_fail(NB_EPARSE, "schedule '%s': warmup needs a positive number of epochs (warmup:N,...)", text);
        s->warmup_epochs = (int)warmup;
        rest = *end == ',' ? end + 1 : end;
        if (!*rest)
            return NB_OK;
    }
    if (strcmp(rest, "constant") == 0)
        return NB_OK;
    if (strncmp(rest, "step:", 5) == 0) {
        long size = strtol(rest + 5, &end, 10);
        double gamma = *end == ':' ? strtod(end + 1, &end) : 0;
        if (size < 1 || !(gamma > 0) || *end)
            return nb_fail(NB_EPARSE, "schedule '%s': expected step:SIZE:GAMMA, e.g. step:10:0.5", text);
        s->kind = NB_SCHED_STEP, s->step_size = (int)size, s->gamma = gamma;
        return NB_OK;
    }
    if (strncmp(rest, "exp:", 4) == 0) {
        double gamma = strtod(rest + 4, &end);
        if (!(gamma > 0) || *end || end == rest + 4)
            return nb_fail(NB_EPARSE, "schedule '%s': expected exp:GAMMA, e.g. exp:0.95", text);
        s->kind = NB_SCHED_EXPONENTIAL, s->gamma = gamma;
        return NB_OK;
    }
    if (strncmp(rest, "cosine", 6) == 0 && (rest[6] == '\0' || rest[6] == ':')) {
        s->kind = NB_SCHED_COSINE;
        if (rest[6] == ':') {
            s->min_lr = strtod(rest + 7, &end);
            if (*end || end == rest + 7 || !(s->min_lr >= 0))
                return nb_fail(NB_EPARSE, "schedule '%s': expected cosine:MIN_LR, e.g. cosine:1e-5", text);
        }
        return NB_OK;
    }
    return nb_fail(NB_EPARSE, "unknown schedule '%s' (known: constant, step:SIZE:GAMMA, exp:GAMMA, cosine[:MIN], "
                              "with an optional warmup:N, prefix)", text);
}
