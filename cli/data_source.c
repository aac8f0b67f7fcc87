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

static int compare_values(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

bool table_numbers_can_be_classes(const nb_table *table, int column)
{
    const double *values = table->columns[column];
    const char *name = table->names[column];
    for (int64_t row = 0; row < table->n_rows; row++)
        if (values[row] != floor(values[row])) {
            nb_fail(NB_EARG, "%s:%lld: the target '%s' holds %g, a value, not a class label; --loss ce needs classes "
                             "(for values use --loss mse)", table->source, (long long)table->lines[row], name,
                    values[row]);
            return false;
        }
    double *sorted = malloc((size_t)(table->n_rows > 0 ? table->n_rows : 1) * sizeof *sorted);
    if (!sorted) {
        nb_fail(NB_ENOMEM, "out of memory counting the labels of '%s'", name);
        return false;
    }
    memcpy(sorted, values, (size_t)table->n_rows * sizeof *sorted);
    qsort(sorted, (size_t)table->n_rows, sizeof *sorted, compare_values);
    int64_t distinct = table->n_rows > 0;
    for (int64_t i = 1; i < table->n_rows; i++)
        distinct += sorted[i] != sorted[i - 1];
    free(sorted);
    if (distinct * 2 > table->n_rows) {
        nb_fail(NB_EARG, "the target '%s' holds %lld different numbers in %lld rows: values, not classes (a class "
                         "needs rows to learn from); --loss ce needs classes (for values use --loss mse)", name,
                (long long)distinct, (long long)table->n_rows);
        return false;
    }
    return true;
}

/* The first two lines of a regular file (a header and a row: enough to name the
 * columns), NUL-terminated; NULL when unreadable. */
static char *first_lines(const char *path, size_t *size)
{
    FILE *f = strcmp(path, "-") != 0 ? fopen(path, "r") : NULL;
    char *text = f ? malloc(1 << 20) : NULL;
    *size = 0;
    for (int line = 0; text && line < 2 && fgets(text + *size, (int)((1 << 20) - *size), f); line++)
        *size += strlen(text + *size);
    if (f)
        fclose(f);
    return text;
}

/* The name of column `number` (1-based) of the lines, or NULL when there is none. */
static char *probe_column(const char *text, size_t size, const char *path, int number, bool *has_header)
{
    char spec[16];
    snprintf(spec, sizeof spec, "$%d", number);
    const char *const columns[1] = {spec};
    nb_csv_options options = {.columns = columns, .n_columns = 1, .class_column = spec}; /* text is no failure */
    FILE *stream = fmemopen((void *)text, size, "r");
    nb_table *table = stream ? nb_table_read_stream(stream, path, &options) : NULL;
    if (stream)
        fclose(stream);
    char *name = table ? strdup(table->names[0]) : NULL;
    *has_header = table && table->has_header;
    nb_table_free(table);
    return name;
}

/* "a, b, c" into buf, cut with "..." when long. */
static void list_names(char *const *names, int n, char *buf, size_t size)
{
    size_t used = 0;
    buf[0] = '\0';
    for (int i = 0; i < n && used + 4 < size; i++) {
        int wrote = snprintf(buf + used, size - used, "%s%s", i ? ", " : "", names[i]);
        used += wrote > 0 ? (size_t)wrote : 0;
    }
    if (used >= size - 1)
        snprintf(buf + size - 4, 4, "...");
}

void explain_missing_columns(const char *path, char *const *features, int n_features)
{
    if (!features || n_features < 1)
        return;
    nb_status code = nb_errcode();
    char *original = strdup(nb_errmsg());
    size_t size;
    char *text = first_lines(path, &size);
    int n_file = 0, n_missing = 0;
    char **file = calloc(4096, sizeof *file), **missing = calloc((size_t)n_features, sizeof *missing);
    bool has_header = false, header = false;
    while (text && file && n_file < 4096 && (file[n_file] = probe_column(text, size, path, n_file + 1, &header)))
        has_header |= header, n_file++;
    for (int j = 0; has_header && missing && j < n_features; j++) {
        bool found = false;
        for (int i = 0; i < n_file && !found; i++)
            found = strcmp(file[i], features[j]) == 0;
        if (!found)
            missing[n_missing++] = features[j];
    }
    if (n_missing > 0) {
        char lacking[1024], expected[1024], present[1024];
        list_names(missing, n_missing, lacking, sizeof lacking);
        list_names(features, n_features, expected, sizeof expected);
        list_names(file, n_file, present, sizeof present);
        nb_fail(NB_EARG, "%s lacks %d of the model's %d input column%s: %s (the model expects the columns %s; the "
                         "file has %s)", path, n_missing, n_features, n_features == 1 ? "" : "s", lacking, expected,
                present);
    } else {
        nb_fail(code, "%s", original ? original : "");
    }
    free_names(file, n_file);
    free(missing);
    free(text);
    free(original);
}
