/* Model files of `nabla train` / `nabla predict`: safetensors with the parameters and,
 * in the metadata, what rebuilds the network. */
#include "model_file.h"
#include "data_source.h"

#include <cjson/cJSON.h>
#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

int64_t model_n_in(const model_desc *desc)
{
    int ndim;
    int64_t shape[3];
    if (nb_net_sample_shape(&desc->spec, 0, &ndim, shape) != NB_OK)
        return 0;
    return ndim == 3 ? shape[0] * shape[1] * shape[2] : shape[0];
}

int64_t model_n_out(const model_desc *desc)
{
    int64_t outputs = 0;
    return nb_net_outputs(&desc->spec, &outputs) == NB_OK ? outputs : 0;
}

nb_status model_build(const model_desc *desc, int64_t batch, nb_init init, nb_rng *rng, nb_model *model)
{
    return nb_model_build(model, &desc->spec, desc->loss, desc->dtype, batch, init, rng);
}

nb_status model_check_finite(const nb_graph *graph)
{
    for (int i = 0; i < nb_param_count(graph); i++) {
        nb_node *param = nb_param_at(graph, i);
        const nb_tensor *value = nb_value(param);
        for (int64_t k = 0; k < value->size; k++) {
            double v = nb_tensor_get(value, k);
            if (!isfinite(v))
                return nb_fail(NB_ENUMERIC, "parameter '%s' holds %g (element %lld of %lld)", nb_node_name(param), v,
                               (long long)k, (long long)value->size);
        }
    }
    return NB_OK;
}

/* The first of n values that is not finite (or, for a std, not positive), or -1. */
static int64_t first_bad(const double *values, int64_t n, bool positive)
{
    for (int64_t k = 0; k < n; k++)
        if (!isfinite(values[k]) || (positive && !(values[k] > 0)))
            return k;
    return -1;
}

/* The scalers' values: finite means, finite positive deviations. */
static nb_status check_scales(const model_desc *desc)
{
    int64_t n_in = model_n_in(desc), n_out = model_n_out(desc);
    const struct {
        bool used;
        const char *name;
        const double *values;
        int64_t n;
        bool positive;
    } scales[4] = {{desc->standardized, "scaler.mean", desc->mean, n_in, false},
                   {desc->standardized, "scaler.std", desc->std, n_in, true},
                   {desc->targets_standardized, "target_scaler.mean", desc->target_mean, n_out, false},
                   {desc->targets_standardized, "target_scaler.std", desc->target_std, n_out, true}};
    for (int i = 0; i < 4; i++) {
        int64_t k = scales[i].used ? first_bad(scales[i].values, scales[i].n, scales[i].positive) : -1;
        if (k >= 0)
            return nb_fail(NB_ENUMERIC, "%s holds %g (element %lld of %lld)", scales[i].name, scales[i].values[k],
                           (long long)k, (long long)scales[i].n);
    }
    return NB_OK;
}

/* A JSON list of n strings (names are data: a list, never text joined by commas);
 * NULL when out of memory. free() it. */
static char *json_list(char *const *names, int n)
{
    cJSON *list = cJSON_CreateArray();
    for (int i = 0; list && names && i < n; i++)
        cJSON_AddItemToArray(list, cJSON_CreateString(names[i]));
    char *text = list ? cJSON_PrintUnformatted(list) : NULL;
    cJSON_Delete(list);
    return text;
}

nb_status model_save(const char *path, const model_desc *desc, const nb_model *model)
{
    if (model_check_finite(model->graph) != NB_OK || check_scales(desc) != NB_OK) {
        nb_error_prefix("%s: not saved", path);
        return nb_errcode();
    }
    char n_classes[32];
    snprintf(n_classes, sizeof n_classes, "%d", desc->n_classes);
    char *class_names = json_list(desc->class_names, desc->n_classes);
    char *features = json_list(desc->features, desc->n_features);
    if (!class_names || !features) {
        free(class_names);
        free(features);
        return nb_fail(NB_ENOMEM, "%s: out of memory for the class and column names", path);
    }
    nb_safetensors_meta_entry meta[] = {
        {"n_classes", n_classes},
        {"class_names", class_names},
        {"data", desc->data ? desc->data : "csv"},
        {"features", features},
        {"target", desc->target ? desc->target : ""},
        {"standardized", desc->standardized ? "yes" : "no"},
        {"targets_standardized", desc->targets_standardized ? "yes" : "no"},
    };
    /* the scalers travel as extra tensors beside the parameters */
    int64_t n_in = model_n_in(desc), n_out = model_n_out(desc);
    nb_tensor *scales[4] = {NULL, NULL, NULL, NULL};
    nb_safetensors_entry extra[4];
    int n_extra = 0;
    bool ok = true;
    if (desc->standardized) {
        scales[n_extra] = nb_tensor_from(NB_F64, 1, &n_in, desc->mean);
        extra[n_extra] = (nb_safetensors_entry){"scaler.mean", scales[n_extra]};
        n_extra++;
        scales[n_extra] = nb_tensor_from(NB_F64, 1, &n_in, desc->std);
        extra[n_extra] = (nb_safetensors_entry){"scaler.std", scales[n_extra]};
        n_extra++;
    }
    if (desc->targets_standardized) {
        extra[n_extra] = (nb_safetensors_entry){"target_scaler.mean",
                                       scales[n_extra] = nb_tensor_from(NB_F64, 1, &n_out, desc->target_mean)};
        n_extra++;
        extra[n_extra] = (nb_safetensors_entry){"target_scaler.std",
                                       scales[n_extra] = nb_tensor_from(NB_F64, 1, &n_out, desc->target_std)};
        n_extra++;
    }
    for (int i = 0; i < n_extra; i++)
        ok &= scales[i] != NULL;
    nb_status status = ok ? nb_model_save(path, model, &desc->spec, desc->loss, meta, (int)(sizeof meta / sizeof meta[0]),
                                          extra, n_extra)
                          : nb_errcode();
    for (int i = 0; i < 4; i++)
        nb_tensor_free(scales[i]);
    free(class_names);
    free(features);
    return status;
}

/* ---- reading a description back: every field checked ------------------------------- */

/* A metadata field that must be there (NULL, with a message, when it is not). */
static const char *field(const nb_safetensors *file, const char *path, const char *key)
{
    const char *value = nb_safetensors_meta(file, key);
    if (!value)
        nb_fail(NB_EFORMAT, "%s: the metadata lack the field '%s'", path, key);
    return value;
}

static nb_status bad_field(const char *path, const char *key, const char *value, const char *expected)
{
    return nb_fail(NB_EFORMAT, "%s: metadata field '%s' is '%.80s'; expected %s", path, key, value, expected);
}

static nb_status read_yes_no(const nb_safetensors *file, const char *path, const char *key, bool *out)
{
    const char *value = field(file, path, key);
    if (!value)
        return nb_errcode();
    if (strcmp(value, "yes") != 0 && strcmp(value, "no") != 0)
        return bad_field(path, key, value, "yes or no");
    *out = strcmp(value, "yes") == 0;
    return NB_OK;
}

/* A copy of a text field, NULL when it is empty. */
static nb_status read_text(const nb_safetensors *file, const char *path, const char *key, char **out)
{
    const char *value = field(file, path, key);
    if (!value)
        return nb_errcode();
    if (*value && !(*out = strdup(value)))
        return nb_fail(NB_ENOMEM, "%s: out of memory for the field '%s'", path, key);
    return NB_OK;
}

/* n_classes: a whole number that fits the loss and the network (see model_desc). */
static nb_status read_n_classes(const nb_safetensors *file, const char *path, model_desc *desc)
{
    const char *value = field(file, path, "n_classes");
    if (!value)
        return nb_errcode();
    char *end;
    errno = 0;
    long n = isdigit((unsigned char)value[0]) ? strtol(value, &end, 10) : -1;
    if (n < 0 || *end || errno == ERANGE || n > INT32_MAX)
        return bad_field(path, "n_classes", value, "a whole number");
    int64_t n_out = model_n_out(desc);
    if (desc->loss == NB_LOSS_CE && (n < 2 || n != n_out))
        return nb_fail(NB_EFORMAT, "%s: metadata field 'n_classes' is %ld, but a ce model has one output per class, at "
                                   "least 2, and this network has %lld", path, n, (long long)n_out);
    if (desc->loss != NB_LOSS_CE && n != 0)
        return nb_fail(NB_EFORMAT, "%s: metadata field 'n_classes' is %ld, but the loss is %s, which has no classes "
                                   "(expected 0)", path, n, nb_loss_name(desc->loss));
    desc->n_classes = (int)n;
    return NB_OK;
}

static int compare_names(const void *a, const void *b) { return strcmp(*(char *const *)a, *(char *const *)b); }

/* The field `key` as a JSON list of strings (none empty when `nonempty`): *n copies in
 * *names (NULL for an empty list). NB_EFORMAT with bad_field's message when it is not
 * such a list. */
static nb_status json_names(const char *path, const char *key, const char *value, bool nonempty,
                            const char *expected, char ***names, int *n)
{
    *names = NULL, *n = 0;
    cJSON *list = cJSON_Parse(value);
    int count = cJSON_IsArray(list) ? cJSON_GetArraySize(list) : -1;
    bool ok = count >= 0;
    for (int i = 0; ok && i < count; i++) {
        const char *text = cJSON_GetStringValue(cJSON_GetArrayItem(list, i));
        ok = text && (!nonempty || *text);
    }
    nb_status status = ok ? NB_OK : bad_field(path, key, value, expected);
    if (ok && count > 0 && !(*names = calloc((size_t)count, sizeof **names)))
        status = nb_fail(NB_ENOMEM, "%s: out of memory for the field '%s'", path, key);
    for (int i = 0; *names && i < count && status == NB_OK; i++, *n = i)
        if (!((*names)[i] = strdup(cJSON_GetStringValue(cJSON_GetArrayItem(list, i)))))
            status = nb_fail(NB_ENOMEM, "%s: out of memory for the field '%s'", path, key);
    cJSON_Delete(list);
    return status;
}

/* class_names: [] or a JSON list of n_classes distinct strings, kept when not empty. */
static nb_status read_class_names(const nb_safetensors *file, const char *path, model_desc *desc)
{
    const char *value = field(file, path, "class_names");
    if (!value)
        return nb_errcode();
    const char *expected = "[] or a JSON list of one name per class";
    int n;
    nb_status status = json_names(path, "class_names", value, false, expected, &desc->class_names, &n);
    if (status != NB_OK)
        return status;
    if (n != 0 && n != desc->n_classes) {
        free_names(desc->class_names, n);
        desc->class_names = NULL;
        return bad_field(path, "class_names", value, expected);
    }
    if (n < 2)
        return NB_OK;
    /* the same name twice would make two classes one when data are read with them */
    char **sorted = malloc((size_t)n * sizeof *sorted);
    if (!sorted)
        return nb_fail(NB_ENOMEM, "%s: out of memory for the class names", path);
    memcpy(sorted, desc->class_names, (size_t)n * sizeof *sorted);
    qsort(sorted, (size_t)n, sizeof *sorted, compare_names);
    for (int i = 1; i < n && status == NB_OK; i++)
        if (strcmp(sorted[i], sorted[i - 1]) == 0)
            status = nb_fail(NB_EFORMAT, "%s: metadata field 'class_names' holds '%.80s' twice", path, sorted[i]);
    free(sorted);
    return status;
}

/* features: a JSON list of column names, or (files of nabla 0.1) names joined by
 * commas; empty for Fashion-MNIST. */
static nb_status read_features(const nb_safetensors *file, const char *path, model_desc *desc)
{
    const char *value = field(file, path, "features");
    if (!value)
        return nb_errcode();
    if (!*value)
        return NB_OK;
    if (*value != '[') {
        desc->features = split_names(value, &desc->n_features);
        return desc->features ? NB_OK : bad_field(path, "features", value, "a JSON list of column names");
    }
    return json_names(path, "features", value, true, "a JSON list of column names", &desc->features,
                      &desc->n_features);
}

/* data, features and target: Fashion-MNIST has no columns; a CSV model names its n_in
 * input columns and its target column. */
static nb_status read_columns(const nb_safetensors *file, const char *path, model_desc *desc)
{
    nb_status status = read_text(file, path, "data", &desc->data);
    if (status == NB_OK)
        status = read_features(file, path, desc);
    if (status == NB_OK)
        status = read_text(file, path, "target", &desc->target);
    if (status != NB_OK)
        return status;
    const char *data = desc->data ? desc->data : "";
    bool csv = strcmp(data, "csv") == 0;
    if (!csv && strcmp(data, "fashion-mnist") != 0)
        return bad_field(path, "data", data, "csv or fashion-mnist");
    if (csv != (desc->target != NULL))
        return nb_fail(NB_EFORMAT, "%s: metadata field 'target' is %s, but the data are %s", path,
                       desc->target ? "given" : "empty", data);
    int64_t n_in = model_n_in(desc);
    if (csv ? desc->n_features != n_in : desc->n_features != 0) {
        char expected[96];
        if (csv)
            snprintf(expected, sizeof expected, "the names of the network's %lld input columns", (long long)n_in);
        else
            snprintf(expected, sizeof expected, "nothing for %s data", data);
        return bad_field(path, "features", nb_safetensors_meta(file, "features"), expected);
    }
    return NB_OK;
}

/* PREFIX.mean and PREFIX.std, n values each, finite (the deviations positive). */
static nb_status read_scale(const nb_safetensors *file, const char *path, const char *prefix, int64_t n,
                            double **mean_out, double **std_out)
{
    char mean_name[64], std_name[64];
    snprintf(mean_name, sizeof mean_name, "%s.mean", prefix);
    snprintf(std_name, sizeof std_name, "%s.std", prefix);
    const nb_tensor *mean = nb_safetensors_get(file, mean_name), *std = nb_safetensors_get(file, std_name);
    if (!mean || !std || mean->ndim != 1 || std->ndim != 1 || mean->size != n || std->size != n)
        return nb_fail(NB_EFORMAT, "%s: says it is standardized but lacks %s and %s of %lld values", path, mean_name,
                       std_name, (long long)n);
    if (!(*mean_out = malloc((size_t)n * sizeof(double))) || !(*std_out = malloc((size_t)n * sizeof(double))))
        return nb_fail(NB_ENOMEM, "%s: out of memory for %s", path, prefix);
    nb_tensor_to_doubles(mean, *mean_out);
    nb_tensor_to_doubles(std, *std_out);
    int64_t bad_mean = first_bad(*mean_out, n, false), bad_std = first_bad(*std_out, n, true);
    if (bad_mean >= 0 || bad_std >= 0)
        return nb_fail(NB_EFORMAT, "%s: %s holds %g (element %lld): not a usable scale", path,
                       bad_mean >= 0 ? mean_name : std_name, bad_mean >= 0 ? (*mean_out)[bad_mean] : (*std_out)[bad_std],
                       (long long)(bad_mean >= 0 ? bad_mean : bad_std));
    return NB_OK;
}

/* The description from a file's metadata, every field checked. */
static nb_status read_desc(const nb_safetensors *file, const char *path, model_desc *desc)
{
    if (nb_model_read_spec(file, &desc->spec, &desc->loss, &desc->dtype) != NB_OK) {
        nb_error_prefix("%s", path);
        return nb_errcode();
    }
    nb_status status = read_n_classes(file, path, desc);
    if (status == NB_OK)
        status = read_class_names(file, path, desc);
    if (status == NB_OK)
        status = read_columns(file, path, desc);
    if (status == NB_OK)
        status = read_yes_no(file, path, "standardized", &desc->standardized);
    if (status == NB_OK)
        status = read_yes_no(file, path, "targets_standardized", &desc->targets_standardized);
    if (status != NB_OK)
        return status;
    if (desc->targets_standardized && desc->loss == NB_LOSS_CE)
        return nb_fail(NB_EFORMAT, "%s: metadata field 'targets_standardized' is yes, but a ce model predicts classes",
                       path);
    int64_t n_in = model_n_in(desc), n_out = model_n_out(desc);
    if (desc->standardized && (status = read_scale(file, path, "scaler", n_in, &desc->mean, &desc->std)) != NB_OK)
        return status;
    if (desc->targets_standardized)
        status = read_scale(file, path, "target_scaler", n_out, &desc->target_mean, &desc->target_std);
    return status;
}

nb_status model_load(const char *path, int64_t batch, model_desc *desc, nb_model *model)
{
    memset(desc, 0, sizeof *desc);
    memset(model, 0, sizeof *model);
    nb_safetensors *file = nb_safetensors_load(path);
    if (!file)
        return nb_errcode();
    nb_status status = read_desc(file, path, desc);
    if (status == NB_OK &&
        ((status = nb_model_from_safetensors(file, batch, model)) != NB_OK ||
         (status = model_check_finite(model->graph)) != NB_OK))
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
    free_names(desc->class_names, desc->n_classes);
    free_names(desc->features, desc->n_features);
    free(desc->target);
    free(desc->data);
    free(desc->mean);
    free(desc->std);
    free(desc->target_mean);
    free(desc->target_std);
    memset(desc, 0, sizeof *desc);
}
