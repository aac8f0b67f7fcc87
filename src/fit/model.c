/* A fit kept for use: made from a fit, written to and read from JSON ("nabla-fit",
 * version 1), and evaluated at new inputs with intervals by the delta method. */
#include "fit/lsq_internal.h"

#include <cjson/cJSON.h>
#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <string.h>

#define MODEL_FORMAT "nabla-fit"
#define MODEL_VERSION 1

void nb_fit_model_clear(nb_fit_model *model)
{
    if (!model)
        return;
    for (int k = 0; model->columns && k < model->n_columns; k++)
        nb_free(model->columns[k]);
    for (int j = 0; model->names && j < model->n_params; j++)
        nb_free(model->names[j]);
    nb_free(model->columns);
    nb_free(model->names);
    nb_free(model->formula);
    nb_free(model->response);
    nb_free(model->sigma);
    nb_free(model->params);
    nb_free(model->covariance);
    memset(model, 0, sizeof *model);
}

/* Room for n columns and p parameters (the names still NULL). */
static nb_status model_alloc(nb_fit_model *model, int n_columns, int n_params)
{
    model->n_columns = n_columns;
    model->n_params = n_params;
    model->columns = nb_calloc((size_t)(n_columns ? n_columns : 1), sizeof *model->columns);
    model->names = nb_calloc((size_t)(n_params ? n_params : 1), sizeof *model->names);
    model->params = nb_calloc((size_t)(n_params ? n_params : 1), sizeof *model->params);
    model->covariance = nb_calloc((size_t)(n_params ? n_params * n_params : 1), sizeof *model->covariance);
    if (!model->columns || !model->names || !model->params || !model->covariance)
        return nb_fail(NB_ENOMEM, "out of memory for a fitted model");
    return NB_OK;
}

/* What the fit's response was called: the left side as written, else the column. */
static char *response_name(const char *formula, const nb_table *data, const nb_fit_setup *setup)
{
    const char *equals = strchr(formula, '=');
    if (equals) {
        while (isspace((unsigned char)*formula))
            formula++;
        size_t length = (size_t)(equals - formula);
        while (length > 0 && isspace((unsigned char)formula[length - 1]))
            length--;
        char *name = nb_alloc(length + 1);
        if (name) {
            memcpy(name, formula, length);
            name[length] = '\0';
        }
        return name;
    }
    int k = nb_table_column(data, setup && setup->response ? setup->response : "y");
    if (k < 0) {
        nb_clear_error();
        k = data->n_columns - 1;
    }
    return nb_strdup(data->names[k]);
}

static nb_status model_fill(nb_fit_model *model, const char *formula, const nb_table *data,
                            const nb_fit_setup *setup, const nb_lsq_options *options, const nb_lsq_result *result)
{
    if (model_alloc(model, data->n_columns, result->n_params) != NB_OK)
        return nb_errcode();
    model->formula = nb_strdup(formula);
    model->response = response_name(formula, data, setup);
    bool ok = model->formula && model->response;
    for (int k = 0; k < data->n_columns; k++)
        ok = ok && (model->columns[k] = nb_strdup(data->names[k]));
    for (int j = 0; j < result->n_params; j++)
        ok = ok && (model->names[j] = nb_strdup(result->names[j]));
    if (setup && setup->sigma) {
        int k = nb_table_column(data, setup->sigma);
        ok = ok && k >= 0 && (model->sigma = nb_strdup(data->names[k]));
    }
    if (!ok)
        return nb_errcode() == NB_OK ? nb_fail(NB_ENOMEM, "out of memory for a fitted model") : nb_errcode();
    int n = result->n_params;
    memcpy(model->params, result->params, (size_t)n * sizeof *model->params);
    memcpy(model->covariance, result->covariance, (size_t)n * n * sizeof *model->covariance);
    model->absolute_sigma = options && options->absolute_sigma;
    model->dof = result->dof;
    model->n_points = result->n_points;
    model->residual_variance = result->dof > 0 ? result->sse / (double)result->dof : NAN;
    model->confidence = result->confidence;
    return NB_OK;
}

nb_status nb_fit_model_init(nb_fit_model *model, const char *formula, const nb_table *data,
                            const nb_fit_setup *setup, const nb_lsq_options *options, const nb_lsq_result *result)
{
    if (!model)
        return nb_fail(NB_EARG, "nb_fit_model_init: model must not be NULL");
    memset(model, 0, sizeof *model);
    if (!formula || !data || !result || !result->params || !result->covariance)
        return nb_fail(NB_EARG, "nb_fit_model_init: needs the formula, the table and the result of a fit");
    nb_status status = model_fill(model, formula, data, setup, options, result);
    if (status != NB_OK)
        nb_fit_model_clear(model);
    return status;
}

/* ---- the file ----------------------------------------------------------------------- */

/* Every digit that reads back the same double (cJSON's own printing may round off the
 * last bit); JSON has no NaN: a number that is not finite is written as null. */
static cJSON *number(double value)
{
    if (!isfinite(value))
        return cJSON_CreateNull();
    char text[32];
    snprintf(text, sizeof text, "%.17g", value);
    return cJSON_CreateRaw(text);
}

static cJSON *model_json(const nb_fit_model *m)
{
    cJSON *root = cJSON_CreateObject();
    cJSON_AddStringToObject(root, "format", MODEL_FORMAT);
    cJSON_AddNumberToObject(root, "version", MODEL_VERSION);
    cJSON_AddStringToObject(root, "formula", m->formula);
    cJSON_AddItemToObject(root, "columns", cJSON_CreateStringArray((const char *const *)m->columns, m->n_columns));
    cJSON_AddStringToObject(root, "response", m->response);
    cJSON_AddItemToObject(root, "sigma", m->sigma ? cJSON_CreateString(m->sigma) : cJSON_CreateNull());
    cJSON_AddBoolToObject(root, "absolute_sigma", m->absolute_sigma);
    cJSON_AddItemToObject(root, "params", cJSON_CreateStringArray((const char *const *)m->names, m->n_params));
    cJSON *values = cJSON_AddArrayToObject(root, "estimates");
    cJSON *cov = cJSON_AddArrayToObject(root, "covariance");
    for (int j = 0; j < m->n_params; j++) {
        cJSON_AddItemToArray(values, number(m->params[j]));
        cJSON *row = cJSON_CreateArray();
        for (int k = 0; k < m->n_params; k++)
            cJSON_AddItemToArray(row, number(m->covariance[j * m->n_params + k]));
        cJSON_AddItemToArray(cov, row);
    }
    cJSON_AddItemToObject(root, "residual_variance", number(m->residual_variance));
    cJSON_AddNumberToObject(root, "dof", (double)m->dof);
    cJSON_AddNumberToObject(root, "n_points", (double)m->n_points);
    cJSON_AddNumberToObject(root, "confidence", m->confidence);
    return root;
}

nb_status nb_fit_model_save(const nb_fit_model *model, const char *path)
{
    if (!model || !model->formula || !path)
        return nb_fail(NB_EARG, "nb_fit_model_save: needs a model and a path");
    cJSON *root = model_json(model);
    char *text = root ? cJSON_Print(root) : NULL;
    cJSON_Delete(root);
    if (!text)
        return nb_fail(NB_ENOMEM, "out of memory writing the fit to '%s'", path);
    nb_atomic_file file;
    nb_status status = nb_atomic_open(&file, path);
    if (status == NB_OK) {
        if (fputs(text, file.file) < 0 || fputc('\n', file.file) < 0) {
            status = nb_fail(NB_EIO, "cannot write the fit to '%s': %s", path, strerror(errno));
            nb_atomic_discard(&file);
        } else {
            status = nb_atomic_commit(&file);
        }
    }
    cJSON_free(text);
    return status;
}

/* The whole file as text; NULL with a message naming it. */
static char *read_text(const char *path)
{
    FILE *file = fopen(path, "rb");
    if (!file) {
        nb_fail(NB_EIO, "cannot open the fit file '%s': %s (write one with nabla fit --save FILE)", path,
                strerror(errno));
        return NULL;
    }
    size_t size = 0, capacity = 4096;
    char *text = nb_alloc(capacity);
    while (text) {
        size += fread(text + size, 1, capacity - size - 1, file);
        if (size < capacity - 1 || capacity > (64u << 20))
            break;
        char *bigger = nb_realloc(text, capacity * 2);
        if (!bigger)
            nb_free(text);
        text = bigger, capacity *= 2;
    }
    bool failed = ferror(file);
    fclose(file);
    if (!text)
        nb_fail(NB_ENOMEM, "out of memory reading '%s'", path);
    else if (failed) {
        nb_free(text);
        nb_fail(NB_EIO, "cannot read the fit file '%s'", path);
        return NULL;
    } else
        text[size] = '\0';
    return text;
}

static nb_status corrupt(const char *path, const char *what)
{
    return nb_fail(NB_EFORMAT, "'%s' is not a usable fit file: %s (write it again with nabla fit --save %s)", path,
                   what, path);
}

/* A JSON array of n strings into out (strdup'ed); false when it is not one. */
static bool read_strings(const cJSON *array, int n, char **out)
{
    if (!cJSON_IsArray(array) || cJSON_GetArraySize(array) != n)
        return false;
    int k = 0;
    for (const cJSON *item = array->child; item; item = item->next, k++)
        if (!cJSON_IsString(item) || !(out[k] = nb_strdup(item->valuestring)))
            return false;
    return true;
}

/* A number, or null for NaN. */
static bool read_number(const cJSON *item, double *value)
{
    if (cJSON_IsNull(item))
        *value = NAN;
    else if (cJSON_IsNumber(item))
        *value = item->valuedouble;
    else
        return false;
    return true;
}

/* A count saved as a JSON number: whole, from 0 to 2^53 (converting more would be undefined). */
static bool read_count(const cJSON *item, int64_t *count)
{
    if (!cJSON_IsNumber(item))
        return false;
    double v = item->valuedouble;
    if (!(v >= 0 && v <= 9007199254740992.0 && v == floor(v)))
        return false;
    *count = (int64_t)v;
    return true;
}

static bool read_matrix(const cJSON *rows, int n, double *out)
{
    if (!cJSON_IsArray(rows) || cJSON_GetArraySize(rows) != n)
        return false;
    int j = 0;
    for (const cJSON *row = rows->child; row; row = row->next, j++) {
        if (!cJSON_IsArray(row) || cJSON_GetArraySize(row) != n)
            return false;
        int k = 0;
        for (const cJSON *item = row->child; item; item = item->next, k++)
            if (!read_number(item, &out[j * n + k]))
                return false;
    }
    return true;
}

static nb_status check_header(const cJSON *root, const char *path)
{
    const cJSON *format = cJSON_GetObjectItemCaseSensitive(root, "format");
    const cJSON *version = cJSON_GetObjectItemCaseSensitive(root, "version");
    if (!cJSON_IsString(format) || strcmp(format->valuestring, MODEL_FORMAT) != 0)
        return corrupt(path, "it has no \"format\": \"" MODEL_FORMAT "\"");
    if (!cJSON_IsNumber(version) || version->valuedouble != MODEL_VERSION)
        return nb_fail(NB_EFORMAT,
                       "'%s' is a fit file of version %g, but this nabla reads version %d; write it again with "
                       "this nabla (nabla fit --save %s)",
                       path, cJSON_IsNumber(version) ? version->valuedouble : NAN, MODEL_VERSION, path);
    return NB_OK;
}

static nb_status model_from_json(nb_fit_model *m, const cJSON *root, const char *path)
{
    nb_status status = check_header(root, path);
    if (status != NB_OK)
        return status;
    const cJSON *columns = cJSON_GetObjectItemCaseSensitive(root, "columns");
    const cJSON *params = cJSON_GetObjectItemCaseSensitive(root, "params");
    const cJSON *formula = cJSON_GetObjectItemCaseSensitive(root, "formula");
    const cJSON *response = cJSON_GetObjectItemCaseSensitive(root, "response");
    const cJSON *sigma = cJSON_GetObjectItemCaseSensitive(root, "sigma");
    if (!cJSON_IsString(formula) || !cJSON_IsArray(columns) || !cJSON_IsArray(params) || !cJSON_IsString(response))
        return corrupt(path, "the formula, columns, params or response is missing");
    if (model_alloc(m, cJSON_GetArraySize(columns), cJSON_GetArraySize(params)) != NB_OK)
        return nb_errcode();
    if (!(m->formula = nb_strdup(formula->valuestring)) || !(m->response = nb_strdup(response->valuestring)) ||
        (cJSON_IsString(sigma) && !(m->sigma = nb_strdup(sigma->valuestring))))
        return nb_fail(NB_ENOMEM, "out of memory reading '%s'", path);
    if (!read_strings(columns, m->n_columns, m->columns) || !read_strings(params, m->n_params, m->names))
        return corrupt(path, "the column or parameter names are not a list of strings");
    const cJSON *estimates = cJSON_GetObjectItemCaseSensitive(root, "estimates");
    if (!cJSON_IsArray(estimates) || cJSON_GetArraySize(estimates) != m->n_params)
        return corrupt(path, "the estimates are not one number per parameter");
    int j = 0;
    for (const cJSON *item = estimates->child; item; item = item->next, j++)
        if (!cJSON_IsNumber(item))
            return corrupt(path, "an estimate is not a number");
        else
            m->params[j] = item->valuedouble;
    if (!read_matrix(cJSON_GetObjectItemCaseSensitive(root, "covariance"), m->n_params, m->covariance))
        return corrupt(path, "the covariance is not a square matrix of numbers, one row per parameter");
    const cJSON *conf = cJSON_GetObjectItemCaseSensitive(root, "confidence");
    if (!read_number(cJSON_GetObjectItemCaseSensitive(root, "residual_variance"), &m->residual_variance) ||
        !cJSON_IsNumber(conf))
        return corrupt(path, "the residual variance or the confidence is missing");
    if (!read_count(cJSON_GetObjectItemCaseSensitive(root, "n_points"), &m->n_points) ||
        !read_count(cJSON_GetObjectItemCaseSensitive(root, "dof"), &m->dof) || m->dof > m->n_points)
        return corrupt(path, "n_points and dof must be whole numbers, 0 <= dof <= n_points");
    m->confidence = conf->valuedouble;
    m->absolute_sigma = cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(root, "absolute_sigma"));
    return NB_OK;
}

/* The formula must still parse with the columns saved, and name the parameters saved. */
static nb_status check_formula(const nb_fit_model *m, const char *path)
{
    nb_expr *expr = nb_expr_parse(m->formula, m->n_columns, (const char *const *)m->columns);
    if (!expr) {
        nb_error_prefix("the formula in the fit file");
        return nb_errcode();
    }
    bool same = nb_expr_n_params(expr) == m->n_params;
    for (int j = 0; same && j < m->n_params; j++)
        same = strcmp(nb_expr_param_name(expr, j), m->names[j]) == 0;
    nb_expr_free(expr);
    return same ? NB_OK : corrupt(path, "its parameters are not those of its formula");
}

nb_status nb_fit_model_load(nb_fit_model *model, const char *path)
{
    if (!model || !path)
        return nb_fail(NB_EARG, "nb_fit_model_load: needs a model and a path");
    memset(model, 0, sizeof *model);
    char *text = read_text(path);
    if (!text)
        return nb_errcode();
    cJSON *root = cJSON_Parse(text);
    nb_free(text);
    nb_status status = root ? model_from_json(model, root, path) : corrupt(path, "it is not JSON");
    cJSON_Delete(root);
    if (status == NB_OK)
        status = check_formula(model, path);
    if (status != NB_OK)
        nb_fit_model_clear(model);
    return status;
}
