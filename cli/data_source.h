/* Where `nabla train` and `nabla predict` get their data: Fashion-MNIST as Debian
 * installs it, or any CSV file. */
#ifndef NABLA_DATA_SOURCE_H
#define NABLA_DATA_SOURCE_H

#include "cli.h"

/* "fashion-mnist" (any case) names the Debian data set. */
bool source_is_fashion_mnist(const char *data);

/* Whether a CSV column holds class labels: class names, or whole numbers >= 0 only. */
bool csv_column_is_labels(const nb_csv_table *table, int column);

/* A dataset from a CSV table: `target` (name or 1-based index) against `features`
 * (comma-separated, NULL: every other column), as labels or as values. */
nb_dataset *dataset_from_table(const nb_csv_table *table, const char *features, const char *target, bool labels,
                               nb_dtype dtype, int64_t limit);

/* "a,b,c" from the dataset's feature names (NULL when it has none); free() it. */
char *join_feature_names(const nb_dataset *data, int64_t n_features);

#endif
