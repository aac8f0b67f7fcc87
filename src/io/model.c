/* Model files that carry their network: safetensors with the parameters and, in the
 * metadata, the spec (nb_net_format), the loss and the dtype, so that the network is
 * rebuilt from the file alone. A multilayer perceptron keeps the format of nabla 0.1
 * ("nabla-mlp-1", its spec as "784-256-10:relu"), so its files read as they always
 * did; any other network is "nabla-net-1" with the spec's list form. */
#include "core/core.h"
#include "nabla/io.h"

#include <stdio.h>
#include <string.h>

#define FORMAT_MLP "nabla-mlp-1"
#define FORMAT_NET "nabla-net-1"

static const char *need(const nb_safetensors *file, const char *key)
{
    const char *value = nb_safetensors_meta(file, key);
    if (!value)
        nb_fail(NB_EFORMAT, "the metadata lack the field '%s'", key);
    return value;
}

static nb_status bad_field(const char *key, const char *value, const char *expected)
{
    return nb_fail(NB_EFORMAT, "metadata field '%s' is '%.80s'; expected %s", key, value, expected);
}

nb_status nb_model_read_spec(const nb_safetensors *file, nb_net_spec *spec, nb_loss_kind *loss, nb_dtype *dtype)
{
    if (!file || !spec || !loss || !dtype)
        return nb_fail(NB_EARG, "nb_model_read_spec: NULL argument");
    const char *format = nb_safetensors_meta(file, "format");
    if (!format || (strcmp(format, FORMAT_MLP) != 0 && strcmp(format, FORMAT_NET) != 0))
        return nb_fail(NB_EFORMAT, "not a model written by nabla (its metadata field 'format' is %s%s%s, not "
                                   FORMAT_MLP " or " FORMAT_NET ")", format ? "'" : "", format ? format : "missing",
                       format ? "'" : "");
    const char *text = need(file, "model"), *loss_name = text ? need(file, "loss") : NULL;
    const char *dtype_name = loss_name ? need(file, "dtype") : NULL;
    if (!dtype_name)
        return nb_errcode();
    int64_t outputs;
    if (nb_net_parse(text, spec) != NB_OK || nb_net_outputs(spec, &outputs) != NB_OK) {
        nb_error_prefix("metadata field 'model'");
        return NB_EFORMAT;
    }
    if (nb_loss_parse(loss_name, loss) != NB_OK)
        return bad_field("loss", loss_name, "ce, mse, mae, huber or bce");
    if (strcmp(dtype_name, "f32") != 0 && strcmp(dtype_name, "f64") != 0)
        return bad_field("dtype", dtype_name, "f32 or f64");
    *dtype = strcmp(dtype_name, "f64") == 0 ? NB_F64 : NB_F32;
    return NB_OK;
}

/* The file holds `name` with exactly this shape. */
static nb_status expect_tensor(const nb_safetensors *file, const char *layer, const char *what, int ndim,
                               const int64_t *shape)
{
    char name[96], want[96];
    snprintf(name, sizeof name, "%s.%s", layer, what);
    const nb_tensor *t = NULL;
    for (int i = 0; i < nb_safetensors_count(file) && !t; i++)
        if (strcmp(nb_safetensors_name(file, i), name) == 0)
            t = nb_safetensors_tensor(file, i);
    bool fits = t && t->ndim == ndim;
    for (int d = 0; fits && d < ndim; d++)
        fits = t->shape[d] == shape[d];
    if (fits)
        return NB_OK;
    return nb_fail(NB_EFORMAT, "the model '%s' needs a tensor '%s' of shape %s, and the file %s",
                   nb_safetensors_meta(file, "model"), name, nb_shape_str(ndim, shape, want, sizeof want),
                   t ? "has another shape" : "has none");
}

/* The parameters of layer i, given the sample shape entering it. */
static nb_status expect_layer(const nb_safetensors *file, const nb_layer_spec *l, int ndim, const int64_t *in,
                              int counts[3])
{
    char layer[32];
    int64_t units = l->units, features = ndim == 3 ? in[0] * in[1] * in[2] : in[0];
    nb_status status = NB_OK;
    if (l->kind == NB_LAYER_DENSE) {
        snprintf(layer, sizeof layer, "fc%d", ++counts[0]);
        status = expect_tensor(file, layer, "weight", 2, (int64_t[]){units, features});
    } else if (l->kind == NB_LAYER_CONV) {
        snprintf(layer, sizeof layer, "conv%d", ++counts[1]);
        status = expect_tensor(file, layer, "weight", 4, (int64_t[]){units, in[0], l->kernel_h, l->kernel_w});
    } else if (l->kind == NB_LAYER_BATCHNORM) {
        snprintf(layer, sizeof layer, "bn%d", ++counts[2]);
        const char *names[4] = {"weight", "bias", "running_mean", "running_var"};
        for (int k = 0; k < 4 && status == NB_OK; k++)
            status = expect_tensor(file, layer, names[k], 1, in);
        return status;
    } else {
        return NB_OK;
    }
    return status == NB_OK ? expect_tensor(file, layer, "bias", 1, &units) : status;
}

/* Every parameter is in the file with the shape the spec gives it: checked before the
 * network is built, so that a small file whose metadata claim huge layers cannot make
 * the program allocate them before saying a tensor is missing. */
static nb_status check_tensors(const nb_safetensors *file, const nb_net_spec *spec)
{
    int counts[3] = {0, 0, 0};
    for (int i = 0; i < spec->n_layers; i++) {
        int ndim;
        int64_t in[3];
        if (nb_net_sample_shape(spec, i, &ndim, in) != NB_OK ||
            expect_layer(file, &spec->layers[i], ndim, in, counts) != NB_OK)
            return nb_errcode();
    }
    return NB_OK;
}

nb_status nb_model_from_safetensors(const nb_safetensors *file, int64_t batch, nb_model *model)
{
    if (!file || !model)
        return nb_fail(NB_EARG, "nb_model_from_safetensors: NULL argument");
    memset(model, 0, sizeof *model);
    nb_net_spec spec;
    nb_loss_kind loss;
    nb_dtype dtype;
    nb_status status = nb_model_read_spec(file, &spec, &loss, &dtype);
    if (status == NB_OK)
        status = check_tensors(file, &spec);
    if (status == NB_OK)
        status = nb_model_build(model, &spec, loss, dtype, batch, NB_INIT_ZEROS, NULL);
    if (status == NB_OK && (status = nb_safetensors_to_graph(file, model->graph, true)) != NB_OK) {
        nb_graph_free(model->graph);
        memset(model, 0, sizeof *model);
    }
    return status;
}

nb_status nb_model_load(const char *path, int64_t batch, nb_model *model, nb_net_spec *spec)
{
    if (!path || !model)
        return nb_fail(NB_EARG, "nb_model_load: NULL argument");
    memset(model, 0, sizeof *model);
    nb_safetensors *file = nb_safetensors_load(path);
    if (!file)
        return nb_errcode();
    nb_loss_kind loss;
    nb_dtype dtype;
    nb_status status = nb_model_from_safetensors(file, batch, model);
    if (status == NB_OK && spec)
        status = nb_model_read_spec(file, spec, &loss, &dtype);
    if (status != NB_OK)
        nb_error_prefix("%s", path);
    nb_safetensors_free(file);
    return status;
}

#define MODEL_MAX_META 32

nb_status nb_model_save(const char *path, const nb_model *model, const nb_net_spec *spec, nb_loss_kind loss,
                        const nb_safetensors_meta_entry *meta, int n_meta, const nb_safetensors_entry *extra,
                        int n_extra)
{
    if (!path || !model || !model->graph || !spec || n_meta < 0 || n_meta > MODEL_MAX_META - 4 || (n_meta && !meta))
        return nb_fail(NB_EARG, "nb_model_save: NULL argument, or more than %d metadata entries", MODEL_MAX_META - 4);
    char text[4096];
    nb_net_format(spec, text, sizeof text);
    nb_net_spec check;
    if (nb_net_parse(text, &check) != NB_OK || check.input_ndim == 0)
        return nb_fail(NB_EARG, "nb_model_save: the spec needs its input shape (nb_net_set_input) to be saved");
    bool mlp = strchr(text, ',') == NULL && strchr(text, ' ') == NULL;
    nb_safetensors_meta_entry all[MODEL_MAX_META] = {
        {"format", mlp ? FORMAT_MLP : FORMAT_NET},
        {"model", text},
        {"loss", nb_loss_name(loss)},
        {"dtype", nb_dtype_name(nb_graph_dtype(model->graph))},
    };
    if (n_meta)
        memcpy(all + 4, meta, (size_t)n_meta * sizeof *meta);
    return nb_safetensors_save_graph(path, model->graph, extra, n_extra, all, n_meta + 4);
}
