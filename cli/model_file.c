/* Model files of `nabla train` / `nabla predict`: safetensors with the parameters and,
 * in the metadata, what rebuilds the network. */
#include "model_file.h"

#include <cjson/cJSON.h>
#include <stdlib.h>
#include <string.h>

static const char *loss_names[] = {"ce", "mse", "mae", "huber", "bce"};

int loss_parse(const char *name, cli_loss *loss)
{
    if (strcmp(name, "cross-entropy") == 0)
        name = "ce";
    for (int i = 0; i < 5; i++)
        if (strcmp(name, loss_names[i]) == 0) {
            *loss = (cli_loss)i;
            return 0;
        }
    return -1;
}

const char *loss_name(cli_loss loss) { return loss_names[loss]; }
bool loss_is_classification(cli_loss loss) { return loss == LOSS_CE; }

nb_status model_build(const model_desc *desc, int64_t batch, nb_init init, nb_rng *rng, nb_model *model)
{
    memset(model, 0, sizeof *model);
    nb_graph *graph = nb_graph_new(desc->dtype);
    if (!graph)
        return nb_errcode();
    int64_t n_in = desc->spec.sizes[0], n_out = desc->spec.sizes[desc->spec.n_sizes - 1];
    model->graph = graph;
    model->input = nb_input(graph, "input", 2, (int64_t[]){batch, n_in});
    model->target = desc->loss == LOSS_CE ? nb_input(graph, "labels", 1, &batch)
                                          : nb_input(graph, "target", 2, (int64_t[]){batch, n_out});
    model->output = nb_mlp(model->input, &desc->spec, init, rng);
    switch (desc->loss) {
    case LOSS_CE: model->loss = nb_cross_entropy_loss(model->output, model->target, NB_REDUCE_MEAN); break;
    case LOSS_MSE: model->loss = nb_mse_loss(model->output, model->target, NB_REDUCE_MEAN); break;
    case LOSS_MAE: model->loss = nb_mae_loss(model->output, model->target, NB_REDUCE_MEAN); break;
    case LOSS_HUBER: model->loss = nb_huber_loss(model->output, model->target, 1.0, NB_REDUCE_MEAN); break;
    case LOSS_BCE: model->loss = nb_bce_logits_loss(model->output, model->target, NB_REDUCE_MEAN); break;
    }
    if (!model->loss) {
        nb_graph_free(graph);
        memset(model, 0, sizeof *model);
        return nb_errcode();
    }
    return NB_OK;
}

nb_status model_save(const char *path, const model_desc *desc, const nb_model *model)
{
    char spec[256], n_classes[32];
    nb_mlp_format(&desc->spec, spec, sizeof spec);
    snprintf(n_classes, sizeof n_classes, "%d", desc->n_classes);
    cJSON *names = cJSON_CreateArray();
    for (int i = 0; desc->class_names && i < desc->n_classes; i++)
        cJSON_AddItemToArray(names, cJSON_CreateString(desc->class_names[i]));
    char *class_names = cJSON_PrintUnformatted(names);
    cJSON_Delete(names);
    nb_st_meta meta[] = {
        {"format", "nabla-mlp-1"},
        {"model", spec},
        {"loss", loss_name(desc->loss)},
        {"dtype", nb_dtype_name(desc->dtype)},
        {"n_classes", n_classes},
        {"class_names", class_names},
        {"data", desc->data ? desc->data : "csv"},
        {"features", desc->features ? desc->features : ""},
        {"target", desc->target ? desc->target : ""},
        {"standardized", desc->standardized ? "yes" : "no"},
        {"targets_standardized", desc->targets_standardized ? "yes" : "no"},
    };
    /* the scalers travel as extra tensors beside the parameters */
    int64_t n_in = desc->spec.sizes[0], n_out = desc->spec.sizes[desc->spec.n_sizes - 1];
    nb_tensor *scales[4] = {NULL, NULL, NULL, NULL};
    nb_st_entry extra[4];
    int n_extra = 0;
    bool ok = true;
    if (desc->standardized) {
        extra[n_extra] = (nb_st_entry){"scaler.mean", scales[n_extra] = nb_tensor_from(NB_F64, 1, &n_in, desc->mean)};
        n_extra++;
        extra[n_extra] = (nb_st_entry){"scaler.std", scales[n_extra] = nb_tensor_from(NB_F64, 1, &n_in, desc->std)};
        n_extra++;
    }
    if (desc->targets_standardized) {
        extra[n_extra] = (nb_st_entry){"target_scaler.mean",
                                       scales[n_extra] = nb_tensor_from(NB_F64, 1, &n_out, desc->target_mean)};
        n_extra++;
        extra[n_extra] = (nb_st_entry){"target_scaler.std",
                                       scales[n_extra] = nb_tensor_from(NB_F64, 1, &n_out, desc->target_std)};
        n_extra++;
    }
    for (int i = 0; i < n_extra; i++)
        ok &= scales[i] != NULL;
    nb_status status = ok ? nb_safetensors_save_graph(path, model->graph, extra, n_extra, meta,
                                                      (int)(sizeof meta / sizeof meta[0]))
                          : nb_errcode();
    for (int i = 0; i < 4; i++)
        nb_tensor_free(scales[i]);
    free(class_names);
    return status;
}

static char *copy_or_null(const char *text) { return text && *text ? strdup(text) : NULL; }

/* PREFIX.mean and PREFIX.std of n values each, as doubles. */
static nb_status read_scale(const nb_safetensors *file, const char *path, const char *prefix, int64_t n,
                            double **mean_out, double **std_out)
{
    char mean_name[64], std_name[64];
    snprintf(mean_name, sizeof mean_name, "%s.mean", prefix);
    snprintf(std_name, sizeof std_name, "%s.std", prefix);
    const nb_tensor *mean = nb_safetensors_get(file, mean_name), *std = nb_safetensors_get(file, std_name);
    if (!mean || !std || mean->size != n || std->size != n)
        return nb_fail(NB_EFORMAT, "%s: says it is standardized but lacks %s and %s of %lld values", path, mean_name,
                       std_name, (long long)n);
    *mean_out = malloc((size_t)n * sizeof(double));
    *std_out = malloc((size_t)n * sizeof(double));
    nb_tensor_to_doubles(mean, *mean_out);
    nb_tensor_to_doubles(std, *std_out);
    return NB_OK;
}

/* The description from a file's metadata. */
static nb_status read_desc(const nb_safetensors *file, const char *path, model_desc *desc)
{
    const char *format = nb_safetensors_meta(file, "format"), *spec = nb_safetensors_meta(file, "model");
    const char *loss = nb_safetensors_meta(file, "loss"), *dtype = nb_safetensors_meta(file, "dtype");
    if (!format || strcmp(format, "nabla-mlp-1") != 0 || !spec || !loss || !dtype)
        return nb_fail(NB_EFORMAT, "%s: not a model written by `nabla train` (its metadata lack format, model, "
                                   "loss or dtype)", path);
    if (nb_mlp_parse(spec, &desc->spec) != NB_OK || loss_parse(loss, &desc->loss) != 0) {
        nb_error_prefix("%s", path);
        return NB_EFORMAT;
    }
    desc->dtype = strcmp(dtype, "f64") == 0 ? NB_F64 : NB_F32;
    const char *n_classes = nb_safetensors_meta(file, "n_classes");
    desc->n_classes = n_classes ? atoi(n_classes) : 0;
    const char *names = nb_safetensors_meta(file, "class_names");
    cJSON *list = names ? cJSON_Parse(names) : NULL;
    if (cJSON_IsArray(list) && cJSON_GetArraySize(list) == desc->n_classes && desc->n_classes > 0) {
        desc->class_names = calloc((size_t)desc->n_classes, sizeof *desc->class_names);
        for (int i = 0; i < desc->n_classes; i++) {
            const char *name = cJSON_GetStringValue(cJSON_GetArrayItem(list, i));
            desc->class_names[i] = strdup(name ? name : "?");
        }
    }
    cJSON_Delete(list);
    desc->features = copy_or_null(nb_safetensors_meta(file, "features"));
    desc->target = copy_or_null(nb_safetensors_meta(file, "target"));
    desc->data = copy_or_null(nb_safetensors_meta(file, "data"));
    const char *standardized = nb_safetensors_meta(file, "standardized");
    desc->standardized = standardized && strcmp(standardized, "yes") == 0;
    const char *targets_standardized = nb_safetensors_meta(file, "targets_standardized");
    desc->targets_standardized = targets_standardized && strcmp(targets_standardized, "yes") == 0;
    int64_t n_in = desc->spec.sizes[0], n_out = desc->spec.sizes[desc->spec.n_sizes - 1];
    if ((desc->standardized && read_scale(file, path, "scaler", n_in, &desc->mean, &desc->std) != NB_OK) ||
        (desc->targets_standardized &&
         read_scale(file, path, "target_scaler", n_out, &desc->target_mean, &desc->target_std) != NB_OK))
        return nb_errcode();
    return NB_OK;
}

nb_status model_load(const char *path, int64_t batch, model_desc *desc, nb_model *model)
{
    memset(desc, 0, sizeof *desc);
    memset(model, 0, sizeof *model);
    nb_safetensors *file = nb_safetensors_load(path);
    if (!file)
        return nb_errcode();
    nb_status status = read_desc(file, path, desc);
    if (status == NB_OK)
        status = model_build(desc, batch, NB_INIT_ZEROS, NULL, model);
    if (status == NB_OK && (status = nb_safetensors_to_graph(file, model->graph, true)) != NB_OK)
        nb_error_prefix("%s", path);
    nb_safetensors_free(file);
    if (status != NB_OK) {
        nb_graph_free(model->graph);
        memset(model, 0, sizeof *model);
    }
    return status;
}

void model_desc_clear(model_desc *desc)
{
    for (int i = 0; desc->class_names && i < desc->n_classes; i++)
        free(desc->class_names[i]);
    free(desc->class_names);
    free(desc->features);
    free(desc->target);
    free(desc->data);
    free(desc->mean);
    free(desc->std);
    free(desc->target_mean);
    free(desc->target_std);
    memset(desc, 0, sizeof *desc);
}
