/* Layers built from graph ops: initialisers, activations, dense layers, MLPs. */
#include "autodiff/autodiff.h"
#include "nabla/nn.h"

#include <ctype.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

nb_status nb_init_param(nb_node *param, nb_init init, int64_t fan_in, int64_t fan_out, nb_rng *rng)
{
    if (!param || !nb_is_param(param))
        return nb_fail(NB_EARG, "nb_init_param: not a parameter");
    if (init != NB_INIT_ZEROS && (!rng || fan_in <= 0 || fan_out <= 0))
        return nb_fail(NB_EARG, "nb_init_param '%s': needs a generator and positive fans (got %lld, %lld)",
                       nb_node_name(param), (long long)fan_in, (long long)fan_out);
    nb_tensor *value = nb_value(param);
    double fans = (double)(fan_in + fan_out), in = (double)fan_in;
    switch (init) {
    case NB_INIT_ZEROS: nb_tensor_fill(value, 0); break;
    case NB_INIT_XAVIER_UNIFORM: nb_tensor_fill_uniform(value, rng, -sqrt(6 / fans), sqrt(6 / fans)); break;
    case NB_INIT_XAVIER_NORMAL: nb_tensor_fill_normal(value, rng, 0, sqrt(2 / fans)); break;
    case NB_INIT_KAIMING_UNIFORM: nb_tensor_fill_uniform(value, rng, -sqrt(6 / in), sqrt(6 / in)); break;
    case NB_INIT_KAIMING_NORMAL: nb_tensor_fill_normal(value, rng, 0, sqrt(2 / in)); break;
    case NB_INIT_TORCH_DEFAULT: nb_tensor_fill_uniform(value, rng, -1 / sqrt(in), 1 / sqrt(in)); break;
    default: return nb_fail(NB_EARG, "nb_init_param: unknown initialiser %d", (int)init);
    }
    return NB_OK;
}

static const struct {
    const char *name;
    nb_init init;
} init_names[] = {
    {"zeros", NB_INIT_ZEROS},         {"xavier", NB_INIT_XAVIER_UNIFORM},  {"xavier-normal", NB_INIT_XAVIER_NORMAL},
    {"kaiming", NB_INIT_KAIMING_UNIFORM}, {"kaiming-normal", NB_INIT_KAIMING_NORMAL}, {"torch", NB_INIT_TORCH_DEFAULT},
};

nb_status nb_init_parse(const char *name, nb_init *init)
{
    for (size_t i = 0; i < sizeof init_names / sizeof init_names[0]; i++)
        if (name && strcmp(name, init_names[i].name) == 0) {
            *init = init_names[i].init;
            return NB_OK;
        }
    return nb_fail(NB_EARG, "unknown initialiser '%s' (known: zeros, xavier, xavier-normal, kaiming, "
                            "kaiming-normal, torch)", name ? name : "");
}

static const char *activation_names[] = {"none", "relu", "tanh", "sigmoid", "leaky_relu", "softplus"};

const char *nb_activation_name(nb_activation activation)
{
    return (unsigned)activation < sizeof activation_names / sizeof activation_names[0] ? activation_names[activation]
                                                                                         : "?";
}

nb_status nb_activation_parse(const char *name, nb_activation *activation)
{
    for (size_t i = 0; i < sizeof activation_names / sizeof activation_names[0]; i++)
        if (name && strcmp(name, activation_names[i]) == 0) {
            *activation = (nb_activation)i;
            return NB_OK;
        }
    return nb_fail(NB_EARG, "unknown activation '%s' (known: none, relu, tanh, sigmoid, leaky_relu, softplus)",
                   name ? name : "");
}

nb_node *nb_activate(nb_node *x, nb_activation activation)
{
    switch (activation) {
    case NB_ACT_NONE: return x;
    case NB_ACT_RELU: return nb_relu(x);
    case NB_ACT_TANH: return nb_tanh(x);
    case NB_ACT_SIGMOID: return nb_sigmoid(x);
    case NB_ACT_LEAKY_RELU: return nb_leaky_relu(x, 0.01);
    case NB_ACT_SOFTPLUS: return nb_softplus(x);
    }
    nb_fail(NB_EARG, "nb_activate: unknown activation %d", (int)activation);
    return nb_builder_failed();
}

nb_node *nb_dense_act(nb_node *x, const char *name, int64_t out_features, bool with_bias, nb_activation activation,
                      nb_init init, nb_rng *rng)
{
    if (!nb_inputs_ok("dense", 1, &x))
        return nb_builder_failed();
    const nb_tensor *in = nb_value(x);
    if (in->ndim != 2 || out_features <= 0) {
        char buf[96];
        nb_fail(NB_ESHAPE, "dense '%s': needs x [N, in] and out_features > 0, got x %s and %lld", name ? name : "",
                nb_shape_str(in->ndim, in->shape, buf, sizeof buf), (long long)out_features);
        return nb_builder_failed();
    }
    int64_t in_features = in->shape[1];
    char weight_name[128], bias_name[128];
    snprintf(weight_name, sizeof weight_name, "%s.weight", name ? name : "dense");
    snprintf(bias_name, sizeof bias_name, "%s.bias", name ? name : "dense");
    nb_graph *graph = nb_node_graph(x);
    nb_node *weight = nb_param(graph, weight_name, 2, (int64_t[]){out_features, in_features});
    if (!weight || nb_init_param(weight, init, in_features, out_features, rng) != NB_OK)
        return nb_builder_failed();
    nb_node *bias = NULL;
    if (with_bias) {
        bias = nb_param(graph, bias_name, 1, &out_features);
        if (!bias)
            return nb_builder_failed();
        if (init != NB_INIT_ZEROS) {
            double bound = 1 / sqrt((double)in_features);
            nb_tensor_fill_uniform(nb_value(bias), rng, -bound, bound);
        }
    }
    bool fused = activation <= NB_ACT_SIGMOID;
    nb_node *y = nb_linear_act(x, weight, bias, fused ? activation : NB_ACT_NONE);
    return fused ? y : nb_activate(y, activation);
}

nb_node *nb_dense(nb_node *x, const char *name, int64_t out_features, bool with_bias, nb_init init, nb_rng *rng)
{
    return nb_dense_act(x, name, out_features, with_bias, NB_ACT_NONE, init, rng);
}

nb_status nb_mlp_parse(const char *text, nb_mlp_spec *spec)
{
    if (!text || !spec)
        return nb_fail(NB_EARG, "nb_mlp_parse: NULL argument");
    memset(spec, 0, sizeof *spec);
    spec->activation = NB_ACT_RELU;
    const char *at = text;
    while (*at && *at != ':') {
        if (!isdigit((unsigned char)*at))
            return nb_fail(NB_EPARSE, "model spec '%s': expected a layer size at column %d (sizes joined by '-', "
                                      "e.g. 784-256-128-10:relu)", text, (int)(at - text) + 1);
        char *end;
        long long size = strtoll(at, &end, 10);
        if (size <= 0 || size > (1LL << 30))
            return nb_fail(NB_EPARSE, "model spec '%s': layer size %lld at column %d is out of range", text, size,
                           (int)(at - text) + 1);
        if (spec->n_sizes == NB_MLP_MAX_LAYERS + 1)
            return nb_fail(NB_EPARSE, "model spec '%s': more than %d layers", text, NB_MLP_MAX_LAYERS);
        spec->sizes[spec->n_sizes++] = size;
        at = end;
        if (*at == '-')
            at++;
        else if (*at && *at != ':')
            return nb_fail(NB_EPARSE, "model spec '%s': unexpected '%c' at column %d", text, *at,
                           (int)(at - text) + 1);
    }
    if (spec->n_sizes < 2)
        return nb_fail(NB_EPARSE, "model spec '%s': needs at least an input and an output size (e.g. 4-1)", text);
    if (*at == ':' && nb_activation_parse(at + 1, &spec->activation) != NB_OK) {
        nb_error_prefix("model spec '%s'", text);
        return NB_EPARSE;
    }
    return NB_OK;
}

void nb_mlp_format(const nb_mlp_spec *spec, char *buf, size_t buf_size)
{
    size_t used = 0;
    buf[0] = '\0';
    for (int i = 0; i < spec->n_sizes && used < buf_size; i++)
        used += (size_t)snprintf(buf + used, buf_size - used, i ? "-%lld" : "%lld", (long long)spec->sizes[i]);
    if (used < buf_size)
        snprintf(buf + used, buf_size - used, ":%s", nb_activation_name(spec->activation));
}

nb_node *nb_mlp(nb_node *x, const nb_mlp_spec *spec, nb_init init, nb_rng *rng)
{
    if (!nb_inputs_ok("mlp", 1, &x))
        return nb_builder_failed();
    const nb_tensor *in = nb_value(x);
    if (in->ndim != 2 || in->shape[1] != spec->sizes[0]) {
        char buf[96];
        nb_fail(NB_ESHAPE, "mlp: the model takes %lld inputs per row, the data has shape %s",
                (long long)spec->sizes[0], nb_shape_str(in->ndim, in->shape, buf, sizeof buf));
        return nb_builder_failed();
    }
    nb_node *h = x;
    for (int layer = 1; layer < spec->n_sizes && h; layer++) {
        char name[32];
        snprintf(name, sizeof name, "fc%d", layer);
        bool hidden = layer + 1 < spec->n_sizes;
        h = nb_dense_act(h, name, spec->sizes[layer], true, hidden ? spec->activation : NB_ACT_NONE, init, rng);
    }
    return h;
}
