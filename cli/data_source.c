/* Data for the CLI: Fashion-MNIST or CSV tables turned into datasets. */
#include "data_source.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

bool source_is_fashion_mnist(const char *data) { return data && strcasecmp(data, "fashion-mnist") == 0; }

bool csv_column_is_labels(const nb_csv_table *table, int column)
{
    if (table->class_col == column && table->n_classes > 0)
        return true;
    for (int64_t row = 0; row < table->n_rows; row++) {
        double value = table->columns[column][row];
        if (!(value >= 0) || value != floor(value) || value > 1e6)
            return false;
    }
    return table->n_rows > 0;
}

nb_dataset *dataset_from_table(const nb_csv_table *table, const char *features, const char *target, bool labels,
                               nb_dtype dtype, int64_t limit)
{
    nb_dataset *data = nb_dataset_from_csv(table, features, target, labels, dtype);
    if (data && limit > 0 && limit < data->n) {
        nb_dataset *head = nb_dataset_slice(data, 0, limit);
        nb_dataset_free(data);
        data = head;
    }
    return data;
}

char *join_feature_names(const nb_dataset *data, int64_t n_features)
{
    if (!data->feature_names)
        return NULL;
    size_t length = 1;
    for (int64_t j = 0; j < n_features; j++)
        length += strlen(data->feature_names[j]) + 1;
    char *joined = malloc(length), *at = joined;
    for (int64_t j = 0; j < n_features; j++)
        at += sprintf(at, j ? ",%s" : "%s", data->feature_names[j]);
    *at = '\0';
    return joined;
}
