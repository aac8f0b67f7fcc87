/* Datasets, loaders, splits and standardisation. */
#include "nb_test.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* n rows: inputs (i, 10 i, 100 i), target i + 0.5. Row i is recognisable from any cell. */
static nb_dataset *numbered(nb_dtype dtype, int64_t n)
{
    double *x = malloc(sizeof(double) * (size_t)n * 3), *y = malloc(sizeof(double) * (size_t)n);
    for (int64_t i = 0; i < n; i++) {
        x[3 * i] = (double)i, x[3 * i + 1] = 10.0 * i, x[3 * i + 2] = 100.0 * i;
        y[i] = i + 0.5;
    }
    nb_dataset *data = nb_dataset_from_doubles(dtype, n, 3, x, 1, y);
    free(x);
    free(y);
    assert_non_null(data);
    return data;
}

/* The batch's rows are the dataset's rows it names. */
static void expect_batch_rows(const nb_dataset *data, const nb_batch *batch)
{
    for (int64_t i = 0; i < batch->size; i++) {
        int64_t row = batch->rows[i];
        const double *x = (const double *)batch->inputs + 3 * i, *y = (const double *)batch->targets + i;
        assert_close(x[0], (double)row, 0);
        assert_close(x[2], 100.0 * row, 0);
        assert_close(*y, row + 0.5, 0);
        assert_close(nb_tensor_get(data->inputs, 3 * row + 1), x[1], 0);
    }
}

static void test_dataset_basics(void **state)
{
    (void)state;
    nb_dataset *data = numbered(NB_F64, 5);
    assert_int_equal(data->n, 5);
    assert_int_equal(nb_dataset_n_features(data), 3);
    assert_int_equal(nb_dataset_n_outputs(data), 1);
    assert_int_equal(nb_dataset_dtype(data), NB_F64);
    assert_int_equal(data->n_classes, 0);
    assert_int_equal(nb_dataset_check_labels(data), NB_EARG);
    nb_dataset_free(data);

    data = nb_dataset_new_labels(NB_F32, 4, 2, 3);
    assert_non_null(data);
    assert_int_equal(data->targets->ndim, 1);
    assert_int_equal(nb_dataset_n_outputs(data), 1);
    nb_tensor_set(data->targets, 2, 2);
    assert_int_equal(nb_dataset_check_labels(data), NB_OK);
    assert_int_equal(nb_dataset_label(data, 2), 2);
    nb_tensor_set(data->targets, 3, 3);
    assert_int_equal(nb_dataset_check_labels(data), NB_EFORMAT);
    assert_non_null(strstr(nb_errmsg(), "the label of sample 3 (of 4) is 3, not a class 0..2"));
    nb_tensor_set(data->targets, 3, 1.5);
    assert_int_equal(nb_dataset_check_labels(data), NB_EFORMAT);
    assert_non_null(strstr(nb_errmsg(), "is 1.5, not a class"));
    nb_dataset_free(data);

    assert_null(nb_dataset_new(NB_F32, 0, 2, 1));
    assert_int_equal(nb_errcode(), NB_EARG);
    assert_null(nb_dataset_new_labels(NB_F32, 3, 2, 0));
    assert_null(nb_dataset_from_doubles(NB_F32, 3, 2, NULL, 1, NULL));
}

static void test_subset_slice_split(void **state)
{
    (void)state;
    nb_dataset *data = numbered(NB_F64, 20);
    nb_dataset *slice = nb_dataset_slice(data, 5, 3);
    assert_non_null(slice);
    assert_int_equal(slice->n, 3);
    assert_close(nb_tensor_get(slice->inputs, 0), 5, 0);
    assert_close(nb_tensor_get(slice->targets, 2), 7.5, 0);
    nb_dataset_free(slice);
    assert_null(nb_dataset_slice(data, 18, 3));
    assert_non_null(strstr(nb_errmsg(), "rows 18..20 are not inside the dataset's 20 rows"));
    assert_null(nb_dataset_subset(data, (int64_t[]){1, 20}, 2));
    assert_non_null(strstr(nb_errmsg(), "row 20 is outside"));

    nb_dataset *train, *val, *train2, *val2;
    assert_int_equal(nb_dataset_split(data, 0.25, 42, &train, &val), NB_OK);
    assert_int_equal(train->n, 15);
    assert_int_equal(val->n, 5);
    bool seen[20] = {false};
    double last = -1;
    for (int64_t i = 0; i < train->n; i++) { /* original order kept */
        double row = nb_tensor_get(train->inputs, 3 * i);
        assert_true(row > last);
        last = row;
        seen[(int)row] = true;
    }
    last = -1;
    for (int64_t i = 0; i < val->n; i++) {
        double row = nb_tensor_get(val->inputs, 3 * i);
        assert_true(row > last);
        last = row;
        assert_false(seen[(int)row]);
        seen[(int)row] = true;
        assert_close(nb_tensor_get(val->targets, i), row + 0.5, 0);
    }
    for (int i = 0; i < 20; i++)
        assert_true(seen[i]);
    /* Same seed, same split; another seed, another split. */
    assert_int_equal(nb_dataset_split(data, 0.25, 42, &train2, &val2), NB_OK);
    assert_memory_equal(val->inputs->data, val2->inputs->data, 5 * 3 * sizeof(double));
    nb_dataset_free(train2);
    nb_dataset_free(val2);
    assert_int_equal(nb_dataset_split(data, 0.25, 43, &train2, &val2), NB_OK);
    assert_true(memcmp(val->inputs->data, val2->inputs->data, 5 * 3 * sizeof(double)) != 0);
    nb_dataset_free(train2);
    nb_dataset_free(val2);
    nb_dataset_free(train);
    nb_dataset_free(val);

    assert_int_equal(nb_dataset_split(data, 0, 1, &train, &val), NB_EARG);
    assert_null(train);
    assert_int_equal(nb_dataset_split(data, 1.0, 1, &train, &val), NB_EARG);
    assert_int_equal(nb_dataset_split(data, 0.01, 1, &train, &val), NB_EARG);
    assert_non_null(strstr(nb_errmsg(), "leaves 0 for validation"));
    nb_dataset_free(data);
}

/* ---- loaders ------------------------------------------------------------------------- */

static void test_loader_in_order(void **state)
{
    (void)state;
    nb_dataset *data = numbered(NB_F64, 10);
    nb_loader *loader = nb_loader_new(data, 4, 0, 0);
    assert_non_null(loader);
    assert_int_equal(nb_loader_n_batches(loader), 3);
    nb_batch batch;
    int64_t sizes[3], k = 0;
    while (nb_loader_next(loader, &batch)) {
        assert_int_equal(batch.index, k);
        /* No shuffling: the batch is the dataset's own memory. */
        assert_ptr_equal(batch.inputs, (double *)data->inputs->data + 3 * 4 * k);
        assert_ptr_equal(batch.targets, (double *)data->targets->data + 4 * k);
        expect_batch_rows(data, &batch);
        sizes[k++] = batch.size;
    }
    assert_int_equal(k, 3);
    assert_int_equal(sizes[0], 4);
    assert_int_equal(sizes[2], 2); /* the short last batch is kept */
    assert_false(nb_loader_next(loader, &batch)); /* until the next epoch starts */
    nb_loader_start_epoch(loader, 1);
    assert_true(nb_loader_next(loader, &batch));
    assert_int_equal(batch.rows[0], 0);
    nb_loader_free(loader);

    loader = nb_loader_new(data, 4, NB_LOADER_DROP_LAST | NB_LOADER_COPY, 0);
    assert_int_equal(nb_loader_n_batches(loader), 2);
    for (k = 0; nb_loader_next(loader, &batch); k++) {
        assert_int_equal(batch.size, 4);
        assert_ptr_not_equal(batch.inputs, (double *)data->inputs->data + 3 * 4 * k);
        expect_batch_rows(data, &batch);
    }
    assert_int_equal(k, 2);
    nb_loader_free(loader);

    loader = nb_loader_new(data, 64, 0, 0); /* one batch of everything */
    assert_int_equal(nb_loader_n_batches(loader), 1);
    assert_true(nb_loader_next(loader, &batch));
    assert_int_equal(batch.size, 10);
    nb_loader_free(loader);

    assert_null(nb_loader_new(data, 0, 0, 0));
    assert_non_null(strstr(nb_errmsg(), "batch size must be positive"));
    assert_null(nb_loader_new(data, 11, NB_LOADER_DROP_LAST, 0));
    assert_non_null(strstr(nb_errmsg(), "leaves no batch"));
    assert_null(nb_loader_new(data, 2, 64, 0));
    assert_non_null(strstr(nb_errmsg(), "unknown flags"));
    assert_null(nb_loader_new(NULL, 2, 0, 0));
    nb_dataset_free(data);
}

/* All the rows of one epoch, in batch order. */
static void epoch_rows(nb_loader *loader, int64_t epoch, int64_t *rows, const nb_dataset *data)
{
    nb_loader_start_epoch(loader, epoch);
    nb_batch batch;
    int64_t k = 0;
    while (nb_loader_next(loader, &batch)) {
        expect_batch_rows(data, &batch);
        for (int64_t i = 0; i < batch.size; i++)
            rows[k++] = batch.rows[i];
    }
}

static void test_loader_shuffled(void **state)
{
    (void)state;
    enum { N = 103 };
    nb_dataset *data = numbered(NB_F64, N);
    nb_loader *a = nb_loader_new(data, 16, NB_LOADER_SHUFFLE, 1234);
    nb_loader *b = nb_loader_new(data, 16, NB_LOADER_SHUFFLE, 1234);
    nb_loader *c = nb_loader_new(data, 16, NB_LOADER_SHUFFLE, 1235);
    assert_true(a && b && c);
    assert_int_equal(nb_loader_n_batches(a), 7);
    int64_t rows_a[4][N], rows_b[N], rows_c[N];
    for (int epoch = 0; epoch < 4; epoch++) {
        epoch_rows(a, epoch, rows_a[epoch], data);
        bool seen[N] = {false}; /* every row exactly once per epoch */
        for (int i = 0; i < N; i++) {
            assert_false(seen[rows_a[epoch][i]]);
            seen[rows_a[epoch][i]] = true;
        }
    }
    /* Another order each epoch, and not the identity. */
    assert_true(memcmp(rows_a[0], rows_a[1], sizeof rows_b) != 0);
    int in_place = 0;
    for (int i = 0; i < N; i++)
        in_place += rows_a[0][i] == i;
    assert_true(in_place < N / 4);
    /* Same seed, same batches, even when the epochs are visited out of order. */
    epoch_rows(b, 2, rows_b, data);
    assert_memory_equal(rows_b, rows_a[2], sizeof rows_b);
    epoch_rows(b, 0, rows_b, data);
    assert_memory_equal(rows_b, rows_a[0], sizeof rows_b);
    epoch_rows(c, 0, rows_c, data);
    assert_true(memcmp(rows_c, rows_a[0], sizeof rows_c) != 0);

    /* Dropping the short batch: 6 batches of 16. */
    nb_loader *d = nb_loader_new(data, 16, NB_LOADER_SHUFFLE | NB_LOADER_DROP_LAST, 1234);
    assert_int_equal(nb_loader_n_batches(d), 6);
    nb_batch batch;
    int64_t total = 0;
    while (nb_loader_next(d, &batch)) {
        assert_int_equal(batch.size, 16);
        total += batch.size;
    }
    assert_int_equal(total, 96);
    nb_loader_free(a);
    nb_loader_free(b);
    nb_loader_free(c);
    nb_loader_free(d);
    nb_dataset_free(data);
}

/* A counting allocator: epochs after the loader exists allocate nothing. */
static nb_alloc_counter counter;

static void test_loader_allocates_nothing_per_batch(void **state)
{
    (void)state;
    nb_count_allocations(&counter, -1);
    nb_dataset *data = numbered(NB_F32, 1000);
    nb_loader *loader = nb_loader_new(data, 64, NB_LOADER_SHUFFLE, 5);
    assert_non_null(loader);
    long before = counter.calls;
    nb_batch batch;
    for (int epoch = 0; epoch < 3; epoch++) {
        nb_loader_start_epoch(loader, epoch);
        while (nb_loader_next(loader, &batch))
            assert_true(batch.size > 0);
    }
    assert_int_equal(counter.calls, before);
    nb_loader_free(loader);
    nb_dataset_free(data);
    nb_set_allocator(NULL);
}

/* ---- from a table ---------------------------------------------------------------------- */

static nb_table *table_of(const char *text, const char *class_column)
{
    char path[256];
    snprintf(path, sizeof path, "%s/data.csv", nb_test_dir());
    FILE *f = fopen(path, "w");
    fputs(text, f);
    fclose(f);
    nb_csv_options options = {.class_column = class_column};
    nb_table *table = nb_table_read(path, &options);
    if (!table)
        fail_msg("%s", nb_errmsg());
    return table;
}

/* A list of names and its length, for nb_dataset_from_table. */
#define NAMES(...) (const char *const[]){__VA_ARGS__}, (int)(sizeof((const char *const[]){__VA_ARGS__}) / sizeof(char *))

static void test_from_table(void **state)
{
    (void)state;
    nb_table *t = table_of("x1,x2,y,species\n1,2,0.5,cat\n3,4,1.5,dog\n5,6,2.5,cat\n", "species");
    /* Regression on y from x1, x2 (species named, not taken). */
    nb_dataset *data = nb_dataset_from_table(t, NAMES("x1", "2"), NAMES("y"), false, NB_F32);
    assert_non_null(data);
    assert_int_equal(data->n, 3);
    assert_int_equal(nb_dataset_n_features(data), 2);
    assert_int_equal(data->targets->ndim, 2);
    assert_close(nb_tensor_get(data->inputs, 3), 4, 0); /* row 1, x2 */
    assert_close(nb_tensor_get(data->targets, 2), 2.5, 0);
    assert_string_equal(data->feature_names[1], "x2");
    assert_string_equal(data->target_names[0], "y");
    nb_dataset_free(data);

    /* Classification from the class names; features: all other columns. */
    data = nb_dataset_from_table(t, NULL, 0, NAMES("species"), true, NB_F64);
    assert_non_null(data);
    assert_int_equal(nb_dataset_n_features(data), 3);
    assert_int_equal(data->n_classes, 2);
    assert_string_equal(data->class_names[1], "dog");
    assert_int_equal(nb_dataset_label(data, 1), 1);
    assert_int_equal(nb_dataset_label(data, 2), 0);
    nb_dataset_free(data);

    /* Two targets, regression. */
    data = nb_dataset_from_table(t, NAMES("x1"), NAMES("y", "x2"), false, NB_F64);
    assert_non_null(data);
    assert_int_equal(nb_dataset_n_outputs(data), 2);
    assert_close(nb_tensor_get(data->targets, 1), 2, 0);
    nb_dataset_free(data);

    /* Bad choices. */
    assert_null(nb_dataset_from_table(t, NULL, 0, NAMES("z"), false, NB_F32));
    assert_non_null(strstr(nb_errmsg(), "no column 'z'; available columns: x1, x2, y, species"));
    assert_null(nb_dataset_from_table(t, NAMES("x1", "y"), NAMES("y"), false, NB_F32));
    assert_non_null(strstr(nb_errmsg(), "column 'y' is both a feature and a target"));
    assert_null(nb_dataset_from_table(t, NAMES("x1", "", "x2"), NAMES("y"), false, NB_F32));
    assert_non_null(strstr(nb_errmsg(), "no column ''"));
    assert_null(nb_dataset_from_table(t, NULL, 0, NAMES("y"), true, NB_F32));
    assert_non_null(strstr(nb_errmsg(), "data.csv:2: target 'y': 0.5 is not a class label"));
    assert_null(nb_dataset_from_table(t, NULL, 0, NAMES("y", "x1"), true, NB_F32));
    assert_non_null(strstr(nb_errmsg(), "class labels come from one target column, not 2"));
    nb_table_free(t);

    /* numbers: the distinct labels are the classes, in increasing order, named by their numbers */
    t = table_of("a,k\n1,2\n2,0\n3,-1\n4,2\n", NULL);
    data = nb_dataset_from_table(t, NULL, 0, NAMES("k"), true, NB_F32);
    assert_non_null(data);
    assert_int_equal(data->n_classes, 3);
    assert_string_equal(data->class_names[0], "-1");
    assert_string_equal(data->class_names[2], "2");
    assert_int_equal(nb_dataset_label(data, 0), 2);
    assert_int_equal(nb_dataset_label(data, 2), 0);
    nb_dataset_free(data);
    nb_table_free(t);
    t = table_of("a,k\n1,2\n2,0\n", NULL);
    data = nb_dataset_from_table(t, NULL, 0, NAMES("2"), true, NB_F32);
    assert_non_null(data);
    assert_int_equal(data->n_classes, 2); /* 0 and 2: no empty class 1 */
    assert_string_equal(data->class_names[1], "2");
    assert_int_equal(nb_dataset_label(data, 0), 1);
    nb_dataset_free(data);
    assert_null(nb_dataset_from_table(t, NULL, 0, NAMES("a", "k"), false, NB_F32));
    assert_non_null(strstr(nb_errmsg(), "no columns are left for features"));
    nb_table_free(t);
}

/* Names are data: a column named "x,y" is one column, never the two columns x and y;
 * two columns of one name cannot both go into a model, which finds them by name. */
static void test_names_are_whole(void **state)
{
    (void)state;
    nb_table *t = table_of("x,y,\"x,y\"\n1,2,3\n4,5,6\n", NULL);
    nb_dataset *data = nb_dataset_from_table(t, NULL, 0, NAMES("x,y"), false, NB_F64);
    assert_non_null(data);
    assert_int_equal(nb_dataset_n_outputs(data), 1);
    assert_int_equal(nb_dataset_n_features(data), 2);
    assert_string_equal(data->target_names[0], "x,y");
    assert_close(nb_tensor_get(data->targets, 1), 6, 0);
    nb_dataset_free(data);
    nb_table_free(t);

    t = table_of("t,y,t\n1,2,3\n4,5,6\n", NULL);
    assert_null(nb_dataset_from_table(t, NULL, 0, NAMES("y"), false, NB_F64));
    assert_non_null(strstr(nb_errmsg(), "columns 1 and 3 are both named 't'; rename one"));
    nb_table_free(t);
}

/* Values out of a dtype's range are named where they are (file, line, column), and
 * huge finite values are scaled without overflow. */
static void test_values_out_of_range(void **state)
{
    (void)state;
    nb_table *t = table_of("x,y\n1,2\n1e39,3\n", NULL);
    assert_null(nb_dataset_from_table(t, NULL, 0, NAMES("y"), false, NB_F32));
    assert_non_null(strstr(nb_errmsg(), "data.csv:3: column 'x': 1e+39 does not fit float32"));
    nb_dataset *data = nb_dataset_from_table(t, NULL, 0, NAMES("y"), false, NB_F64);
    assert_non_null(data);
    nb_dataset_free(data);
    nb_table_free(t);

    nb_tensor *x = nb_tensor_from(NB_F64, 2, (int64_t[]){3, 2}, (double[]){1e200, 1, 2e200, 2, 3e200, 3});
    nb_scaler scaler = {0};
    assert_int_equal(nb_scaler_fit(&scaler, x), NB_OK);
    assert_close(scaler.mean[0] / 2e200, 1, 1e-15);
    assert_close(scaler.std[0] / (sqrt(2.0 / 3.0) * 1e200), 1, 1e-15);
    assert_close(scaler.mean[1], 2, 0);                 /* an ordinary column: as before */
    assert_close(scaler.std[1], sqrt(2.0 / 3.0), 1e-15);
    nb_scaler_clear(&scaler);
    nb_tensor_free(x);
}

/* A file without a header: the dataset's names are the table's (x and y for two
 * columns, c1, c2, ... otherwise), and columns are chosen by them or by number. */
static void test_from_headerless_table(void **state)
{
    (void)state;
    nb_table *t = table_of("1 2 0\n3 4 1\n5 6 1\n", NULL);
    nb_dataset *data = nb_dataset_from_table(t, NULL, 0, NAMES("$3"), true, NB_F32);
    assert_non_null(data);
    assert_string_equal(data->feature_names[0], "c1");
    assert_string_equal(data->feature_names[1], "c2");
    assert_string_equal(data->target_names[0], "c3");
    nb_dataset_free(data);
    assert_null(nb_dataset_from_table(t, NAMES("c1", "col2"), NAMES("c3"), false, NB_F32));
    assert_non_null(strstr(nb_errmsg(), "no column 'col2'; available columns: c1, c2, c3"));
    nb_table_free(t);

    t = table_of("0.5 1\n1.5 3\n", NULL);
    data = nb_dataset_from_table(t, NULL, 0, NAMES("y"), false, NB_F64);
    assert_non_null(data);
    assert_string_equal(data->feature_names[0], "x");
    assert_string_equal(data->target_names[0], "y");
    assert_close(nb_tensor_get(data->inputs, 1), 1.5, 0);
    nb_dataset_free(data);
    nb_table_free(t);

    /* a table of arrays: its rows are its lines in messages */
    double x[2] = {1, 2}, k[2] = {0, 0.5};
    t = nb_table_from_columns(2, NULL, 2, (const double *const[]){x, k});
    assert_non_null(t);
    assert_null(nb_dataset_from_table(t, NAMES("x"), NAMES("y"), true, NB_F32));
    assert_non_null(strstr(nb_errmsg(), "<arrays>:2: target 'y': 0.5 is not a class label"));
    nb_table_free(t);
}

/* ---- standardisation ----------------------------------------------------------------- */

static void test_scaler(void **state)
{
    (void)state;
    /* Columns: 1 2 3 4 (mean 2.5, std sqrt(1.25)), constant 7, and -2 0 2 0. */
    static const double train[12] = {1, 7, -2, 2, 7, 0, 3, 7, 2, 4, 7, 0};
    for (int dt = 0; dt < 2; dt++) {
        nb_dtype dtype = dt ? NB_F64 : NB_F32;
        nb_tensor *x = nb_tensor_from(dtype, 2, (int64_t[]){4, 3}, train);
        nb_scaler scaler = {0};
        assert_int_equal(nb_scaler_fit(&scaler, x), NB_OK);
        assert_int_equal(scaler.n_features, 3);
        assert_close(scaler.mean[0], 2.5, 1e-15);
        assert_close(scaler.std[0], sqrt(1.25), 1e-15);
        assert_close(scaler.mean[1], 7, 0);
        assert_close(scaler.std[1], 1, 0); /* constant: only centred */
        assert_close(scaler.std[2], sqrt(2.0), 1e-15);
        assert_int_equal(nb_scaler_apply(&scaler, x), NB_OK);
        assert_close(nb_tensor_get(x, 0), -1.5 / sqrt(1.25), 1e-6);
        assert_close(nb_tensor_get(x, 1), 0, 0);
        /* Fitted on train, applied to other data. */
        nb_tensor *other = nb_tensor_from(dtype, 2, (int64_t[]){1, 3}, (double[]){2.5, 8, 2});
        assert_int_equal(nb_scaler_apply(&scaler, other), NB_OK);
        assert_close(nb_tensor_get(other, 0), 0, 0);
        assert_close(nb_tensor_get(other, 1), 1, 0);
        assert_close(nb_tensor_get(other, 2), sqrt(2.0), 1e-6);
        assert_int_equal(nb_scaler_invert(&scaler, other), NB_OK);
        assert_close(nb_tensor_get(other, 2), 2, 1e-6);
        nb_tensor *wrong = nb_tensor_zeros(dtype, 2, (int64_t[]){2, 2});
        assert_int_equal(nb_scaler_apply(&scaler, wrong), NB_ESHAPE);
        assert_non_null(strstr(nb_errmsg(), "the scaler has 3 features, the tensor is [2, 2]"));
        nb_tensor_free(wrong);
        nb_tensor_free(other);
        nb_tensor_free(x);
        nb_scaler_clear(&scaler);
        assert_null(scaler.mean);
    }
    nb_scaler scaler = {0};
    assert_int_equal(nb_scaler_set(&scaler, 2, (double[]){1, 2}, (double[]){1, 0}), NB_EARG);
    assert_non_null(strstr(nb_errmsg(), "feature 1 has mean 2 and std 0"));
    assert_int_equal(nb_scaler_set(&scaler, 2, (double[]){1, 2}, (double[]){1, 4}), NB_OK);
    nb_tensor *y = nb_tensor_from(NB_F64, 1, (int64_t[]){2}, (double[]){3, 4});
    assert_int_equal(nb_scaler_apply(&scaler, y), NB_ESHAPE); /* [2] is one column */
    nb_tensor_free(y);
    nb_scaler_clear(&scaler);
    nb_tensor *nan = nb_tensor_from(NB_F64, 2, (int64_t[]){2, 1}, (double[]){1, NAN});
    assert_int_equal(nb_scaler_fit(&scaler, nan), NB_ENUMERIC);
    nb_tensor_free(nan);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_dataset_basics),
        cmocka_unit_test(test_subset_slice_split),
        cmocka_unit_test(test_loader_in_order),
        cmocka_unit_test(test_loader_shuffled),
        cmocka_unit_test(test_loader_allocates_nothing_per_batch),
        cmocka_unit_test(test_from_table),
        cmocka_unit_test(test_names_are_whole), cmocka_unit_test(test_values_out_of_range), cmocka_unit_test(test_from_headerless_table),
        cmocka_unit_test(test_scaler),
    };
    return cmocka_run_group_tests(tests, nb_test_make_dir, nb_test_remove_dir);
}
