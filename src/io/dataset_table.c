/* Datasets from the columns of a table read from a file: features and targets chosen by
 * name or number, class labels from numbers or from the class names of the table. */
#include "core/core.h"
#include "nabla/io.h"

#include <float.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* The columns of n names or numbers ("x", "3", "$3"), each as nb_table_column finds it
 * (a name is data: never split); *columns is allocated. -1 on failure. */
static int resolve_columns(const nb_table *table, const char *const *names, int n, int **columns)
{
    *columns = NULL;
    if (n < 1 || !names)
        return nb_fail(NB_EARG, "%s: an empty list of columns", table->source), -1;
    int *found = nb_alloc(sizeof(int) * (size_t)n);
    if (!found)
        return nb_fail(NB_ENOMEM, "out of memory reading a column list"), -1;
    for (int k = 0; k < n; k++) {
        found[k] = names[k] ? nb_table_column(table, names[k]) : -1;
        if (!names[k])
            nb_fail(NB_EARG, "%s: column name %d of the list is NULL", table->source, k + 1);
        if (found[k] < 0) {
            nb_free(found);
            return -1;
        }
    }
    *columns = found;
    return n;
}

/* A model finds its columns by name: two of one name would be one column to it. */
static bool names_distinct(const nb_table *table, const int *columns, int n)
{
    for (int j = 0; j < n; j++)
        for (int k = j + 1; k < n; k++)
            if (columns[j] != columns[k] && strcmp(table->names[columns[j]], table->names[columns[k]]) == 0) {
                nb_fail(NB_EARG, "%s: columns %d and %d are both named '%s'; rename one (a model finds its columns "
                                 "by name)", table->source, columns[j] + 1, columns[k] + 1, table->names[columns[j]]);
                return false;
            }
    return true;
}

/* Every column that is not a target; -1 on failure. */
static int other_columns(const nb_table *table, const int *targets, int n_targets, int **columns)
{
    int *found = nb_alloc(sizeof(int) * (size_t)table->n_columns);
    *columns = found;
    if (!found) {
        nb_fail(NB_ENOMEM, "out of memory listing the features");
        return -1;
    }
    int n = 0;
    for (int c = 0; c < table->n_columns; c++) {
        bool is_target = false;
        for (int k = 0; k < n_targets; k++)
            is_target = is_target || targets[k] == c;
        if (!is_target)
            found[n++] = c;
    }
    if (n == 0) {
        nb_fail(NB_EARG, "%s: no columns are left for features once the targets are taken", table->source);
        return -1;
    }
    return n;
}

static int compare_doubles(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

/* A class named by its number: whole numbers only, so "%.0f" is exact ("-0" is "0"). */
static void class_number_name(double value, char *buf, size_t size) { snprintf(buf, size, "%.0f", value + 0.0); }

/* The distinct labels of a column of numbers, sorted (class i is values[i]), in *values
 * (allocated); their count, or -1 when a value is not a whole number. Classes are the
 * labels seen: labels coded 1..3 are three classes, not four with an empty class 0. */
static int label_values(const nb_table *table, int column, double **values)
{
    const double *column_values = table->columns[column];
    double *sorted = nb_alloc(sizeof(double) * (size_t)(table->n_rows > 0 ? table->n_rows : 1));
    *values = sorted;
    if (!sorted)
        return nb_fail(NB_ENOMEM, "out of memory reading the class labels"), -1;
    for (int64_t i = 0; i < table->n_rows; i++) {
        double v = column_values[i];
        if (!(fabs(v) < 9007199254740992.0 && v == floor(v))) { /* 2^53: every whole double below is exact */
            nb_fail(NB_EFORMAT, "%s:%lld: target '%s': %g is not a class label (a whole number)", table->source,
                    (long long)table->lines[i], table->names[column], v);
            return -1;
        }
        sorted[i] = v + 0.0;
    }
    qsort(sorted, (size_t)table->n_rows, sizeof *sorted, compare_doubles);
    int k = 0;
    for (int64_t i = 0; i < table->n_rows; i++)
        if (k == 0 || sorted[i] != sorted[k - 1])
            sorted[k++] = sorted[i];
    return k;
}

/* The labels of a column of numbers as class indices 0..k-1, and the numbers as the
 * class names. */
static bool map_labels(const double *labels, const double *values, int k, nb_dataset *data)
{
    for (int64_t i = 0; i < data->n; i++) {
        double v = labels[i] + 0.0;
        const double *hit = bsearch(&v, values, (size_t)k, sizeof *values, compare_doubles);
        nb_tensor_set(data->targets, i, (double)(hit - values)); /* every label is among the values */
    }
    data->class_names = nb_calloc((size_t)k, sizeof *data->class_names);
    for (int c = 0; c < k && data->class_names; c++) {
        char name[32];
        class_number_name(values[c], name, sizeof name);
        if (!(data->class_names[c] = nb_strdup(name)))
            return false;
    }
    return data->class_names != NULL;
}

/* Values a float32 dataset cannot hold (|v| > FLT_MAX would become infinity): refused
 * with the file, line and column, before they turn into a divergence or a scaler's
 * complaint far from their cause. */
static bool fits_dtype(const nb_table *table, const int *columns, int n, nb_dtype dtype)
{
    for (int j = 0; j < n && dtype == NB_F32; j++)
        for (int64_t i = 0; i < table->n_rows; i++) {
            double v = table->columns[columns[j]][i];
            if (isfinite(v) && fabs(v) > FLT_MAX) {
                nb_fail(NB_ENUMERIC, "%s:%lld: column '%s': %g does not fit float32 (largest %g); use float64 "
                                     "(--dtype f64) or rescale the column", table->source,
                        (long long)table->lines[i], table->names[columns[j]], v, (double)FLT_MAX);
                return false;
            }
        }
    return true;
}

/* Copy table columns into a row-major tensor [n_rows, n]. */
static void fill_from_columns(const nb_table *table, const int *columns, int n, nb_tensor *out)
{
    for (int j = 0; j < n; j++) {
        const double *column = table->columns[columns[j]];
        if (out->dtype == NB_F32) {
            float *dst = (float *)out->data + j;
            for (int64_t i = 0; i < table->n_rows; i++)
                dst[i * n] = (float)column[i];
        } else {
            double *dst = (double *)out->data + j;
            for (int64_t i = 0; i < table->n_rows; i++)
                dst[i * n] = column[i];
        }
    }
}

static bool copy_column_names(const nb_table *table, const int *columns, int n, char ***out)
{
    char **names = nb_calloc((size_t)n, sizeof *names);
    *out = names;
    for (int j = 0; j < n && names; j++)
        if (!(names[j] = nb_strdup(table->names[columns[j]])))
            return false;
    return names != NULL;
}

static nb_dataset *dataset_from_columns(const nb_table *table, const int *features, int n_features,
                                        const int *targets, int n_targets, bool labels, nb_dtype dtype)
{
    for (int j = 0; j < n_features; j++)
        for (int k = 0; k < n_targets; k++)
            if (features[j] == targets[k]) {
                nb_fail(NB_EARG, "%s: column '%s' is both a feature and a target", table->source,
                        table->names[features[j]]);
                return NULL;
            }
    if (labels && n_targets != 1) {
        nb_fail(NB_EARG, "%s: class labels come from one target column, not %d", table->source, n_targets);
        return NULL;
    }
    bool numbers = labels && targets[0] != table->class_col;
    double *values = NULL;
    int n_classes = !labels ? 0 : numbers ? label_values(table, targets[0], &values) : table->n_classes;
    nb_dataset *data = NULL;
    if (n_classes >= 0 && fits_dtype(table, features, n_features, dtype) && fits_dtype(table, targets, n_targets, dtype))
        data = labels ? nb_dataset_new_labels(dtype, table->n_rows, n_features, n_classes)
                      : nb_dataset_new(dtype, table->n_rows, n_features, n_targets);
    if (!data) {
        nb_free(values);
        return NULL;
    }
    fill_from_columns(table, features, n_features, data->inputs);
    fill_from_columns(table, targets, n_targets, data->targets);
    bool ok = copy_column_names(table, features, n_features, &data->feature_names) &&
              copy_column_names(table, targets, n_targets, &data->target_names);
    if (ok && labels)
        ok = numbers ? map_labels(table->columns[targets[0]], values, n_classes, data)
                     : nb_names_copy(table->class_names, table->n_classes, &data->class_names);
    nb_free(values);
    if (!ok) {
        nb_dataset_free(data);
        nb_fail(NB_ENOMEM, "%s: out of memory copying column names", table->source);
        return NULL;
    }
    return data;
}

nb_dataset *nb_dataset_from_table(const nb_table *table, const char *const *features, int n_features,
                                  const char *const *targets, int n_targets, bool labels, nb_dtype dtype)
{
    if (!table) {
        nb_fail(NB_EARG, "nb_dataset_from_table: the table is NULL");
        return NULL;
    }
    int *target_cols = NULL, *feature_cols = NULL;
    n_targets = resolve_columns(table, targets, n_targets, &target_cols);
    if (n_targets > 0)
        n_features = features ? resolve_columns(table, features, n_features, &feature_cols)
                              : other_columns(table, target_cols, n_targets, &feature_cols);
    nb_dataset *data = NULL;
    if (n_targets > 0 && n_features > 0 && names_distinct(table, feature_cols, n_features) &&
        names_distinct(table, target_cols, n_targets))
        data = dataset_from_columns(table, feature_cols, n_features, target_cols, n_targets, labels, dtype);
    nb_free(target_cols);
    nb_free(feature_cols);
    return data;
}

