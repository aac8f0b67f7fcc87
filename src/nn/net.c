/* Convolutional layers, and networks described by text: the grammar of --model
 * (nn.h), its formatter, the shapes it implies and the builder. */
#include "autodiff/autodiff.h"
#include "nabla/nn.h"

#include <ctype.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- layers --------------------------------------------------------------------------- */

static nb_node *named_param(nb_graph *graph, const char *layer, const char *what, int ndim, const int64_t *shape)
{
    char name[128];
    snprintf(name, sizeof name, "%s.%s", layer, what);
    return nb_param(graph, name, ndim, shape);
}

nb_node *nb_conv2d_layer(nb_node *x, const char *name, int64_t out_channels, int kernel_h, int kernel_w, int stride,
                         int padding, bool with_bias, nb_activation activation, nb_init init, nb_rng *rng)
{
    if (!nb_inputs_ok("conv2d layer", 1, &x))
        return nb_builder_failed();
    const nb_tensor *in = nb_value(x);
    name = name ? name : "conv";
    if (in->ndim != 4 || out_channels <= 0 || kernel_h < 1 || kernel_w < 1) {
        char buf[96];
        nb_fail(NB_ESHAPE, "conv2d layer '%s': needs x [N, C, H, W], out_channels > 0 and a kernel of 1 or more, "
                           "got x %s, %lld channels, kernel %dx%d", name, nb_shape_str(in->ndim, in->shape, buf, sizeof buf),
                (long long)out_channels, kernel_h, kernel_w);
        return nb_builder_failed();
    }
    int64_t channels = in->shape[1], area = (int64_t)kernel_h * kernel_w;
    nb_graph *graph = nb_node_graph(x);
    nb_node *weight = named_param(graph, name, "weight", 4, (int64_t[]){out_channels, channels, kernel_h, kernel_w});
    if (!weight || nb_init_param(weight, init, channels * area, out_channels * area, rng) != NB_OK)
        return nb_builder_failed();
    nb_node *bias = NULL;
    if (with_bias) {
        if (!(bias = named_param(graph, name, "bias", 1, &out_channels)))
            return nb_builder_failed();
        if (init != NB_INIT_ZEROS) {
            double bound = 1 / sqrt((double)(channels * area));
            nb_tensor_fill_uniform(nb_value(bias), rng, -bound, bound);
        }
    }
    bool fused = activation == NB_ACT_NONE || activation == NB_ACT_RELU;
    nb_node *y = nb_conv2d_act(x, weight, bias, stride, padding, fused ? activation : NB_ACT_NONE);
    return fused ? y : nb_activate(y, activation);
}

nb_node *nb_batch_norm_layer(nb_node *x, const char *name)
{
    if (!nb_inputs_ok("batch norm layer", 1, &x))
        return nb_builder_failed();
    const nb_tensor *in = nb_value(x);
    name = name ? name : "bn";
    if (in->ndim < 2) {
        nb_fail(NB_ESHAPE, "batch norm layer '%s': needs x [N, C, ...]", name);
        return nb_builder_failed();
    }
    int64_t channels = in->shape[1];
    nb_graph *graph = nb_node_graph(x);
    nb_node *gamma = named_param(graph, name, "weight", 1, &channels);
    nb_node *beta = named_param(graph, name, "bias", 1, &channels);
    nb_node *mean = named_param(graph, name, "running_mean", 1, &channels);
    nb_node *var = named_param(graph, name, "running_var", 1, &channels);
    if (!gamma || !beta || !mean || !var)
        return nb_builder_failed();
    nb_tensor_fill(nb_value(gamma), 1);
    nb_tensor_fill(nb_value(var), 1);
    nb_set_requires_grad(mean, false);
    nb_set_requires_grad(var, false);
    return nb_batch_norm(x, gamma, beta, mean, var, 0.1, 1e-5);
}

nb_node *nb_dropout_layer(nb_node *x, double p, nb_rng *rng)
{
    return nb_dropout(x, p, rng ? nb_rng_next(rng) : 0);
}

/* ---- the grammar ---------------------------------------------------------------------- */

#define MAX_WORDS 16
/* The most values one sample may have at any layer: products of three dimensions stay
 * far from overflowing int64_t. */
#define SAMPLE_MAX (1LL << 40)

typedef struct layer_text {
    const char *spec; /* the whole text, for messages */
    int number;       /* 1-based */
    char *words[MAX_WORDS];
    int n_words;
} layer_text;

static nb_status layer_error(const layer_text *t, const char *what, const char *word)
{
    return nb_fail(NB_EPARSE, "model spec '%s': layer %d ('%s'): %s%s%s%s", t->spec, t->number,
                   t->n_words ? t->words[0] : "", what, word ? " '" : "", word ? word : "", word ? "'" : "");
}

static bool parse_count(const char *word, int64_t max, int64_t *value)
{
    char *end;
    if (!word || !isdigit((unsigned char)word[0]))
        return false;
    long long v = strtoll(word, &end, 10);
    *value = v;
    return *end == '\0' && v >= 0 && v <= max;
}

/* "3x3", "3x5" or "3" */
static bool parse_kernel(const char *word, int *kh, int *kw)
{
    char *end;
    if (!word || !isdigit((unsigned char)word[0]))
        return false;
    long h = strtol(word, &end, 10), w = h;
    if (*end == 'x' && isdigit((unsigned char)end[1]))
        w = strtol(end + 1, &end, 10);
    *kh = (int)h, *kw = (int)w;
    return *end == '\0' && h >= 1 && w >= 1 && h <= 1024 && w <= 1024;
}

static bool is_activation(const char *word, nb_activation *act)
{
    for (int a = NB_ACT_NONE; a <= NB_ACT_SOFTPLUS; a++)
        if (strcmp(word, nb_activation_name((nb_activation)a)) == 0) {
            *act = (nb_activation)a;
            return true;
        }
    return false;
}

/* The words after the sizes: stride S, pad P and (where allowed) an activation. */
static nb_status parse_options(const layer_text *t, int from, nb_layer_spec *layer, bool strides, bool activation)
{
    for (int i = from; i < t->n_words; i++) {
        const char *w = t->words[i];
        int64_t v;
        if (strides && (!strcmp(w, "stride") || !strcmp(w, "pad") || !strcmp(w, "padding"))) {
            if (!parse_count(i + 1 < t->n_words ? t->words[i + 1] : NULL, 1024, &v) || (w[0] == 's' && v < 1))
                return layer_error(t, "needs a whole number after", w);
            *(w[0] == 's' ? &layer->stride : &layer->padding) = (int)v;
            i++;
        } else if (!(activation && is_activation(w, &layer->activation))) {
            return layer_error(t, strides ? (activation ? "expected stride S, pad P or an activation, not"
                                                        : "expected stride S or pad P, not")
                                          : (activation ? "expected an activation, not" : "expected nothing more, not"),
                               w);
        }
    }
    return NB_OK;
}

static nb_status parse_sized(const layer_text *t, nb_layer_spec *layer)
{
    int64_t units;
    const char *size = t->n_words > 1 ? t->words[1] : NULL;
    if (layer->kind == NB_LAYER_CONV || layer->kind == NB_LAYER_DENSE) {
        if (!parse_count(size, 1LL << 30, &units) || units < 1)
            return layer_error(t, layer->kind == NB_LAYER_CONV ? "needs its output channels, as in 'conv 32 3x3'"
                                                              : "needs its outputs, as in 'dense 128 relu'", NULL);
        layer->units = units;
        if (layer->kind == NB_LAYER_DENSE)
            return parse_options(t, 2, layer, false, true);
        if (!parse_kernel(t->n_words > 2 ? t->words[2] : NULL, &layer->kernel_h, &layer->kernel_w))
            return layer_error(t, "needs a kernel after the channels, as in 'conv 32 3x3'", NULL);
        layer->stride = 1;
        return parse_options(t, 3, layer, true, true);
    }
    if (!parse_kernel(size, &layer->kernel_h, &layer->kernel_w) || layer->kernel_h != layer->kernel_w)
        return layer_error(t, "needs a square window, as in 'maxpool 2'", NULL);
    layer->stride = layer->kernel_h;
    nb_status status = parse_options(t, 2, layer, true, false);
    if (status == NB_OK && 2 * layer->padding > layer->kernel_h)
        return layer_error(t, "padding can be at most half the window", NULL);
    return status;
}

static nb_status parse_layer(const layer_text *t, nb_net_spec *spec)
{
    static const struct {
        const char *name;
        nb_layer_kind kind;
    } kinds[] = {{"dense", NB_LAYER_DENSE},     {"conv", NB_LAYER_CONV},           {"maxpool", NB_LAYER_MAXPOOL},
                 {"avgpool", NB_LAYER_AVGPOOL}, {"dropout", NB_LAYER_DROPOUT},     {"batchnorm", NB_LAYER_BATCHNORM},
                 {"flatten", NB_LAYER_FLATTEN}};
    const char *first = t->words[0];
    if (!strcmp(first, "input")) {
        if (spec->n_layers || t->n_words != 2 || nb_shape_parse(t->words[1], &spec->input_ndim, spec->input_shape))
            return layer_error(t, "the input comes first, as 'input 1x28x28' or 'input 784'", NULL);
        return NB_OK;
    }
    if (spec->n_layers == NB_NET_MAX_LAYERS)
        return layer_error(t, "too many layers", NULL);
    nb_layer_spec *layer = &spec->layers[spec->n_layers];
    memset(layer, 0, sizeof *layer);
    size_t k = 0;
    while (k < sizeof kinds / sizeof kinds[0] && strcmp(first, kinds[k].name))
        k++;
    if (k == sizeof kinds / sizeof kinds[0])
        return layer_error(t, "unknown layer (known: input, conv, maxpool, avgpool, dense, dropout, batchnorm, "
                              "flatten)", NULL);
    layer->kind = kinds[k].kind;
    nb_status status = NB_OK;
    if (layer->kind == NB_LAYER_DROPOUT) {
        char *end = NULL;
        layer->rate = t->n_words == 2 ? strtod(t->words[1], &end) : NAN;
        if (!end || *end || !(layer->rate >= 0 && layer->rate < 1))
            return layer_error(t, "needs the share dropped, in [0, 1), as in 'dropout 0.3'", NULL);
    } else if (layer->kind == NB_LAYER_BATCHNORM || layer->kind == NB_LAYER_FLATTEN) {
        status = parse_options(t, 1, layer, false, false);
    } else {
        status = parse_sized(t, layer);
    }
    spec->n_layers += status == NB_OK;
    return status;
}

/* "784-256-128-10:relu": input 784, then dense layers, the activation on all but the last */
static nb_status parse_mlp_form(const char *text, nb_net_spec *spec)
{
    nb_mlp_spec mlp;
    if (nb_mlp_parse(text, &mlp) != NB_OK)
        return NB_EPARSE;
    spec->input_ndim = 1;
    spec->input_shape[0] = mlp.sizes[0];
    for (int i = 1; i < mlp.n_sizes; i++)
        spec->layers[spec->n_layers++] = (nb_layer_spec){
            .kind = NB_LAYER_DENSE, .units = mlp.sizes[i], .activation = i + 1 < mlp.n_sizes ? mlp.activation : NB_ACT_NONE};
    return NB_OK;
}

/* Split a layer at white space into t->words (pointers into `buf`, which it edits). */
static nb_status split_words(char *buf, layer_text *t)
{
    t->n_words = 0;
    for (char *at = buf; *at;) {
        while (isspace((unsigned char)*at))
            *at++ = '\0';
        if (!*at)
            break;
        if (t->n_words == MAX_WORDS)
            return layer_error(t, "too many words", NULL);
        t->words[t->n_words++] = at;
        while (*at && !isspace((unsigned char)*at))
            at++;
    }
    return t->n_words ? NB_OK : nb_fail(NB_EPARSE, "model spec '%s': layer %d is empty", t->spec, t->number);
}

nb_status nb_net_parse(const char *text, nb_net_spec *spec)
{
    if (!text || !spec)
        return nb_fail(NB_EARG, "nb_net_parse: NULL argument");
    memset(spec, 0, sizeof *spec);
    const char *start = text;
    while (isspace((unsigned char)*start))
        start++;
    if (isdigit((unsigned char)*start))
        return parse_mlp_form(start, spec);
    char *copy = nb_strdup(text);
    if (!copy)
        return nb_fail(NB_ENOMEM, "model spec: out of memory");
    nb_status status = NB_OK;
    layer_text t = {.spec = text};
    char *rest = copy;
    for (char *piece = rest; status == NB_OK && piece; piece = rest) {
        rest = strchr(piece, ',');
        if (rest)
            *rest++ = '\0';
        t.number++;
        status = split_words(piece, &t);
        if (status == NB_OK)
            status = parse_layer(&t, spec);
    }
    nb_free(copy);
    if (status == NB_OK && spec->n_layers == 0)
        status = nb_fail(NB_EPARSE, "model spec '%s': no layers", text);
    return status;
}

nb_status nb_shape_parse(const char *text, int *ndim, int64_t shape[3])
{
    int n = 0;
    const char *at = text ? text : "";
    while (n < 3 && isdigit((unsigned char)*at)) {
        char *end;
        long long v = strtoll(at, &end, 10);
        if (v < 1 || v > (1LL << 30))
            break;
        shape[n++] = v;
        at = *end == 'x' && n < 3 ? end + 1 : end;
        if (at == end)
            break;
    }
    if ((n != 1 && n != 3) || *at || (n == 3 && shape[0] * shape[1] > SAMPLE_MAX / shape[2]))
        return nb_fail(NB_EPARSE, "sample shape '%s': expected CxHxW (as 1x28x28) or a number of features, at most "
                                  "2^40 values", text ? text : "");
    *ndim = n;
    return NB_OK;
}

nb_status nb_net_set_input(nb_net_spec *spec, int ndim, const int64_t *shape)
{
    if (!spec || !shape || (ndim != 1 && ndim != 3))
        return nb_fail(NB_EARG, "nb_net_set_input: needs 1 (features) or 3 (C, H, W) dimensions");
    for (int d = 0; d < ndim; d++)
        if (shape[d] < 1 || shape[d] > (1LL << 30))
            return nb_fail(NB_EARG, "nb_net_set_input: dimension %d is %lld, not in [1, 2^30]", d, (long long)shape[d]);
    if (ndim == 3 && shape[0] * shape[1] > SAMPLE_MAX / shape[2])
        return nb_fail(NB_EARG, "nb_net_set_input: more than 2^40 values per sample");
    spec->input_ndim = ndim;
    memcpy(spec->input_shape, shape, (size_t)ndim * sizeof *shape);
    return NB_OK;
}

/* ---- text back ------------------------------------------------------------------------ */

/* An MLP: dense layers alone, every hidden one with the same activation, none on the last. */
static bool is_mlp(const nb_net_spec *spec)
{
    if (spec->input_ndim != 1 || spec->n_layers > NB_MLP_MAX_LAYERS)
        return false;
    for (int i = 0; i < spec->n_layers; i++) {
        const nb_layer_spec *l = &spec->layers[i];
        bool last = i + 1 == spec->n_layers;
        if (l->kind != NB_LAYER_DENSE || (last ? l->activation != NB_ACT_NONE : l->activation != spec->layers[0].activation))
            return false;
    }
    return spec->n_layers > 1 && spec->layers[0].activation != NB_ACT_NONE;
}

static size_t layer_format(const nb_layer_spec *l, char *buf, size_t size)
{
    static const char *names[] = {"dense", "conv", "maxpool", "avgpool", "dropout", "batchnorm", "flatten"};
    int n = snprintf(buf, size, "%s", names[l->kind]);
    size_t used = n > 0 ? (size_t)n : 0;
#define MORE(...) (used += used < size ? (size_t)snprintf(buf + used, size - used, __VA_ARGS__) : 0)
    if (l->kind == NB_LAYER_DENSE || l->kind == NB_LAYER_CONV)
        MORE(" %lld", (long long)l->units);
    if (l->kind == NB_LAYER_CONV)
        MORE(" %dx%d", l->kernel_h, l->kernel_w);
    if (l->kind == NB_LAYER_MAXPOOL || l->kind == NB_LAYER_AVGPOOL)
        MORE(" %d", l->kernel_h);
    if ((l->kind == NB_LAYER_CONV && l->stride != 1) ||
        ((l->kind == NB_LAYER_MAXPOOL || l->kind == NB_LAYER_AVGPOOL) && l->stride != l->kernel_h))
        MORE(" stride %d", l->stride);
    if (l->padding)
        MORE(" pad %d", l->padding);
    if (l->kind == NB_LAYER_DROPOUT)
        MORE(" %g", l->rate);
    if (l->activation != NB_ACT_NONE)
        MORE(" %s", nb_activation_name(l->activation));
#undef MORE
    return used;
}

void nb_net_format(const nb_net_spec *spec, char *buf, size_t buf_size)
{
    if (!buf || buf_size == 0)
        return;
    buf[0] = '\0';
    if (is_mlp(spec)) {
        nb_mlp_spec mlp = {.n_sizes = spec->n_layers + 1, .activation = spec->layers[0].activation};
        mlp.sizes[0] = spec->input_shape[0];
        for (int i = 0; i < spec->n_layers; i++)
            mlp.sizes[i + 1] = spec->layers[i].units;
        nb_mlp_format(&mlp, buf, buf_size);
        return;
    }
    size_t used = 0;
    if (spec->input_ndim == 3)
        used = (size_t)snprintf(buf, buf_size, "input %lldx%lldx%lld", (long long)spec->input_shape[0],
                                (long long)spec->input_shape[1], (long long)spec->input_shape[2]);
    else if (spec->input_ndim == 1)
        used = (size_t)snprintf(buf, buf_size, "input %lld", (long long)spec->input_shape[0]);
    for (int i = 0; i < spec->n_layers && used + 2 < buf_size; i++) {
        if (used)
            used += (size_t)snprintf(buf + used, buf_size - used, ", ");
        if (used < buf_size)
            used += layer_format(&spec->layers[i], buf + used, buf_size - used);
    }
}

/* ---- shapes and the builder ----------------------------------------------------------- */

/* One layer's effect on a sample's shape (ndim 1: [F]; 3: [C, H, W]). */
static nb_status layer_shape(const nb_layer_spec *l, int number, int *ndim, int64_t *shape)
{
    char text[96];
    layer_format(l, text, sizeof text);
    bool images = l->kind == NB_LAYER_CONV || l->kind == NB_LAYER_MAXPOOL || l->kind == NB_LAYER_AVGPOOL;
    if (images && *ndim != 3)
        return nb_fail(NB_ESHAPE, "model: layer %d ('%s') needs images [C, H, W]; give the input shape (as "
                                  "'input 1x28x28' or --input-shape) or put it before the dense layers", number, text);
    if ((l->kind == NB_LAYER_DENSE || l->kind == NB_LAYER_FLATTEN) && *ndim == 3) {
        shape[0] *= shape[1] * shape[2];
        *ndim = 1;
    }
    if (l->kind == NB_LAYER_DENSE)
        shape[0] = l->units;
    if (!images)
        return NB_OK;
    int64_t kh = l->kernel_h, kw = l->kernel_w;
    int64_t h = shape[1] + 2 * l->padding - kh, w = shape[2] + 2 * l->padding - kw;
    if (h < 0 || w < 0)
        return nb_fail(NB_ESHAPE, "model: layer %d ('%s'): a %lldx%lld window does not fit %lldx%lld images", number,
                       text, (long long)kh, (long long)kw, (long long)shape[1], (long long)shape[2]);
    if (l->kind == NB_LAYER_CONV)
        shape[0] = l->units;
    shape[1] = h / l->stride + 1, shape[2] = w / l->stride + 1;
    if (shape[0] * shape[1] > SAMPLE_MAX / shape[2])
        return nb_fail(NB_ESHAPE, "model: layer %d ('%s') makes more than 2^40 values per sample", number, text);
    return NB_OK;
}

nb_status nb_net_sample_shape(const nb_net_spec *spec, int n_layers, int *ndim, int64_t shape[3])
{
    if (!spec || !ndim || !shape || n_layers < 0 || n_layers > spec->n_layers)
        return nb_fail(NB_EARG, "nb_net_sample_shape: NULL argument or a layer count outside the spec");
    if (spec->input_ndim != 1 && spec->input_ndim != 3)
        return nb_fail(NB_ESHAPE, "model: the input shape is not known; give it (as 'input 1x28x28' or --input-shape)");
    *ndim = spec->input_ndim;
    memcpy(shape, spec->input_shape, 3 * sizeof *shape);
    for (int i = 0; i < n_layers; i++)
        if (layer_shape(&spec->layers[i], i + 1, ndim, shape) != NB_OK)
            return nb_errcode();
    return NB_OK;
}

nb_status nb_net_outputs(const nb_net_spec *spec, int64_t *outputs)
{
    int ndim;
    int64_t shape[3];
    if (!spec || !outputs)
        return nb_fail(NB_EARG, "nb_net_outputs: NULL argument");
    if (nb_net_sample_shape(spec, spec->n_layers, &ndim, shape) != NB_OK)
        return nb_errcode();
    *outputs = ndim == 1 ? shape[0] : shape[0] * shape[1] * shape[2];
    return NB_OK;
}

/* x as the network's first layer wants it: rows of pixels become [N, C, H, W]. */
static nb_node *net_input(nb_node *x, const nb_net_spec *spec)
{
    const nb_tensor *in = nb_value(x);
    const int64_t *s = spec->input_shape;
    int64_t features = spec->input_ndim == 3 ? s[0] * s[1] * s[2] : s[0];
    char buf[96];
    if (in->ndim == 4 && spec->input_ndim == 3 && in->shape[1] == s[0] && in->shape[2] == s[1] && in->shape[3] == s[2])
        return x;
    if (in->ndim == 2 && spec->input_ndim != 0 && in->shape[1] == features)
        return spec->input_ndim == 3 ? nb_reshape(x, 4, (int64_t[]){-1, s[0], s[1], s[2]}) : x;
    nb_fail(NB_ESHAPE, "model: takes %lld inputs per row, the data has shape %s", (long long)features,
            nb_shape_str(in->ndim, in->shape, buf, sizeof buf));
    return nb_builder_failed();
}

static nb_node *net_layer(nb_node *h, const nb_layer_spec *l, int counts[3], nb_init init, nb_rng *rng)
{
    char name[32];
    switch (l->kind) {
    case NB_LAYER_DENSE:
        snprintf(name, sizeof name, "fc%d", ++counts[0]);
        if (nb_value(h)->ndim != 2)
            h = nb_flatten(h);
        return nb_dense_act(h, name, l->units, true, l->activation, init, rng);
    case NB_LAYER_CONV:
        snprintf(name, sizeof name, "conv%d", ++counts[1]);
        return nb_conv2d_layer(h, name, l->units, l->kernel_h, l->kernel_w, l->stride, l->padding, true, l->activation,
                               init, rng);
    case NB_LAYER_MAXPOOL: return nb_max_pool2d(h, l->kernel_h, l->stride, l->padding);
    case NB_LAYER_AVGPOOL: return nb_avg_pool2d(h, l->kernel_h, l->stride, l->padding);
    case NB_LAYER_DROPOUT: return nb_dropout_layer(h, l->rate, rng);
    case NB_LAYER_BATCHNORM:
        snprintf(name, sizeof name, "bn%d", ++counts[2]);
        return nb_batch_norm_layer(h, name);
    case NB_LAYER_FLATTEN: return nb_flatten(h);
    }
    nb_fail(NB_EARG, "model: unknown layer kind %d", (int)l->kind);
    return nb_builder_failed();
}

nb_node *nb_net(nb_node *x, const nb_net_spec *spec, nb_init init, nb_rng *rng)
{
    if (!nb_inputs_ok("net", 1, &x))
        return nb_builder_failed();
    int64_t outputs;
    if (!spec || nb_net_outputs(spec, &outputs) != NB_OK)
        return spec ? nb_builder_failed() : (nb_fail(NB_EARG, "nb_net: spec is NULL"), nb_builder_failed());
    nb_node *h = net_input(x, spec);
    int counts[3] = {0, 0, 0};
    for (int i = 0; i < spec->n_layers && h; i++)
        h = net_layer(h, &spec->layers[i], counts, init, rng);
    if (h && nb_value(h)->ndim != 2)
        h = nb_flatten(h);
    return h;
}

nb_status nb_model_build(nb_model *model, const nb_net_spec *spec, nb_loss_kind loss, nb_dtype dtype, int64_t batch,
                         nb_init init, nb_rng *rng)
{
    if (!model || !spec)
        return nb_fail(NB_EARG, "nb_model_build: NULL argument");
    memset(model, 0, sizeof *model);
    int ndim;
    int64_t shape[3], outputs;
    if (nb_net_sample_shape(spec, 0, &ndim, shape) != NB_OK || nb_net_outputs(spec, &outputs) != NB_OK)
        return nb_errcode();
    int64_t features = ndim == 3 ? shape[0] * shape[1] * shape[2] : shape[0];
    nb_graph *graph = nb_graph_new(dtype);
    if (!graph)
        return nb_errcode();
    model->graph = graph;
    model->input = nb_input(graph, "input", 2, (int64_t[]){batch, features});
    model->target = loss == NB_LOSS_CE ? nb_input(graph, "labels", 1, &batch)
                                       : nb_input(graph, "target", 2, (int64_t[]){batch, outputs});
    model->output = nb_net(model->input, spec, init, rng);
    model->loss = nb_loss(model->output, model->target, loss, NB_REDUCE_MEAN);
    if (!model->loss) {
        nb_status status = nb_errcode();
        nb_graph_free(graph);
        memset(model, 0, sizeof *model);
        return status;
    }
    return NB_OK;
}
