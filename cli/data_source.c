/* Data for the CLI: Fashion-MNIST, or tables read from CSV files turned into datasets. */
#include "data_source.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

bool source_is_fashion_mnist(const char *data) { return data && strcasecmp(data, "fashion-mnist") == 0; }

const char *const fashion_mnist_classes[10] = {"T-shirt/top", "Trouser", "Pullover", "Dress", "Coat",
                                               "Sandal", "Shirt", "Sneaker", "Bag", "Ankle boot"};

/* dir/name.gz or dir/name, whichever is readable. */
static bool find_file(const char *dir, const char *name, char *path, size_t size)
{
    int n = snprintf(path, size, "%s/%s.gz", dir, name);
    if (n < 0 || (size_t)n >= size) {
        nb_fail(NB_EARG, "%s=%s: the path of %s is longer than %zu bytes", FASHION_MNIST_ENV, dir, name, size);
        return false;
    }
    if (access(path, R_OK) == 0)
        return true;
    snprintf(path, size, "%s/%s", dir, name);
    if (access(path, R_OK) == 0)
        return true;
    nb_fail(NB_EIO, "Fashion-MNIST not found: no readable %s/%s.gz (Debian's dataset-fashion-mnist installs it in "
                    "%s; scripts/deps.sh installs the package)", dir, name, FASHION_MNIST_DIR);
    return false;
}

nb_dataset *fashion_mnist_load(bool train, nb_dtype dtype, int64_t max_items)
{
    const char *dir = getenv(FASHION_MNIST_ENV), *set = train ? "train" : "t10k";
    if (!dir || !*dir)
        dir = FASHION_MNIST_DIR;
    char images[4096], labels[4096], name[64];
    snprintf(name, sizeof name, "%s-images-idx3-ubyte", set);
    if (!find_file(dir, name, images, sizeof images))
        return NULL;
    snprintf(name, sizeof name, "%s-labels-idx1-ubyte", set);
    if (!find_file(dir, name, labels, sizeof labels))
        return NULL;
    return nb_idx_load(images, labels, dtype, 10, max_items);
}

bool table_numbers_are_labels(const nb_table *table, int column)
{
    bool seen[AUTO_MAX_CLASSES] = {false};
    int distinct = 0, smallest = AUTO_MAX_CLASSES;
    for (int64_t row = 0; row < table->n_rows; row++) {
        double value = table->columns[column][row];
        if (!(value >= 0 && value < AUTO_MAX_CLASSES) || value != floor(value))
            return false;
        int label = (int)value;
        distinct += !seen[label];
        seen[label] = true;
        smallest = label < smallest ? label : smallest;
    }
    return smallest <= 1 && (distinct <= 2 || (int64_t)distinct * 10 <= table->n_rows);
}

bool table_column_within(const nb_table *table, int column, double low, double high, bool whole,
                         const char *expected)
{
    for (int64_t row = 0; row < table->n_rows; row++) {
        double value = table->columns[column][row];
        if (!(value >= low && value <= high) || (whole && value != floor(value))) {
            nb_fail(NB_EARG, "%s:%lld: column '%s' holds %g, not %s", table->source, (long long)table->lines[row],
                    table->names[column], value, expected);
            return false;
        }
    }
    return true;
}

nb_dataset *dataset_from_table(const nb_table *table, char *const *features, int n_features, const char *target,
                               bool labels, nb_dtype dtype, int64_t limit)
{
    nb_dataset *data = nb_dataset_from_table(table, (const char *const *)features, n_features,
                                             (const char *const[]){target}, 1, labels, dtype);
    if (data && limit > 0 && limit < data->n) {
        nb_dataset *head = nb_dataset_slice(data, 0, limit);
        nb_dataset_free(data);
        data = head;
    }
    return data;
}

void free_names(char **names, int n)
{
    for (int i = 0; names && i < n; i++)
        free(names[i]);
    free(names);
}

char **copy_names(char *const *names, int n)
{
    if (!names || n < 1)
        return NULL;
    char **copy = calloc((size_t)n, sizeof *copy);
    for (int i = 0; copy && i < n; i++)
        if (!(copy[i] = strdup(names[i]))) {
            free_names(copy, n);
            copy = NULL;
        }
    if (!copy)
        nb_fail(NB_ENOMEM, "out of memory for %d column names", n);
    return copy;
}

char **split_names(const char *list, int *n)
{
    *n = 1;
    for (const char *p = list; *p; p++)
        *n += *p == ',';
    char **names = calloc((size_t)*n, sizeof *names);
    const char *item = list;
    for (int i = 0; names && i < *n; i++) {
        size_t length = strcspn(item, ",");
        if (length == 0) {
            free_names(names, *n);
            nb_fail(NB_EARG, "an empty column name in the list '%s'", list);
            return NULL;
        }
        if (!(names[i] = strndup(item, length))) {
            free_names(names, *n);
            names = NULL;
        }
        item += length + 1;
    }
    if (!names)
        nb_fail(NB_ENOMEM, "out of memory for the column list '%.80s'", list);
    return names;
}
