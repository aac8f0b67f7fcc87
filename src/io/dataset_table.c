/* Datasets from the columns of a table read from a file: features and targets chosen by
 * name or number, class labels from numbers or from the class names of the table. */
#include "core/core.h"
#include "nabla/io.h"

#include <float.h>
#include <math.h>
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

/* Whole numbers >= 0 (or the table's class names): the number of classes, or -1. */
static int label_classes(const nb_table *table, int column)
{
    if (column == table->class_col)
        return table->n_classes;
    const double *values = table->columns[column];
    double largest = 0;
    for (int64_t i = 0; i < table->n_rows; i++) {
        double v = values[i];
        if (!(v >= 0 && v == floor(v) && v < (1 << 24))) {
            nb_fail(NB_EFORMAT, "%s:%lld: target '%s': %g is not a class label (a whole number from 0 to %d)",
                    table->source, (long long)table->lines[i], table->names[column], v, (1 << 24) - 1);
            return -1;
        }
        if (v > largest)
            largest = v;
    }
    return (int)largest + 1;
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
    int n_classes = labels ? label_classes(table, targets[0]) : 0;
    if (n_classes < 0 || !fits_dtype(table, features, n_features, dtype) ||
        !fits_dtype(table, targets, n_targets, dtype))
        return NULL;
    nb_dataset *data = labels ? nb_dataset_new_labels(dtype, table->n_rows, n_features, n_classes)
                              : nb_dataset_new(dtype, table->n_rows, n_features, n_targets);
    if (!data)
        return NULL;
    fill_from_columns(table, features, n_features, data->inputs);
    fill_from_columns(table, targets, n_targets, data->targets);
    bool ok = copy_column_names(table, features, n_features, &data->feature_names) &&
              copy_column_names(table, targets, n_targets, &data->target_names);
    if (ok && labels && targets[0] == table->class_col)
        ok = nb_names_copy(table->class_names, table->n_classes, &data->class_names);
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

