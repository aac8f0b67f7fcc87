/* `nabla train` and `nabla predict` on small tables, as a scientist tried them: the
 * defaults train a 150-row table well, labels coded 1..3 are three classes, --loss ce
 * refuses values, predict gives names, probabilities and regression scores, and a model
 * used on the wrong file names the columns it lacks. */
#include "nb_test.h"
#include "cli_run.h"

#include <unistd.h>

/* Run and insist on exit 0, with stderr in the failure message. */
static cJSON *run_ok(const char *args)
{
    char err[16384];
    cJSON *json = NULL;
    int status = run_piped(args, &json, err, sizeof err);
    if (status != 0 || !json)
        fail_msg("nabla %s: exit %d: %s", args, status, err);
    return json;
}

static const cJSON *item(const cJSON *o, const char *name)
{
    const cJSON *found = cJSON_GetObjectItemCaseSensitive(o, name);
    if (!found)
        fail_msg("no item '%s'", name);
    return found;
}

static void expect_in(const char *text, const char *needle)
{
    if (!strstr(text, needle))
        fail_msg("'%s' lacks '%s'", text, needle);
}

/* Iris-like flowers: four measurements per flower of three species, with the species'
 * means and spreads of Fisher's data (setosa set apart, versicolor and virginica
 * overlapping a little). The label is the species' name, or its number from `first`
 * (coded = true). Row i is species i % 3. */
static void write_flowers(const char *name, int n, uint64_t seed, bool coded, int first)
{
    static const char *const species[3] = {"setosa", "versicolor", "virginica"};
    static const double mean[3][4] = {{5.0, 3.4, 1.5, 0.25}, {5.9, 2.8, 4.3, 1.3}, {6.6, 3.0, 5.6, 2.0}};
    static const double spread[3][4] = {{0.35, 0.38, 0.17, 0.1}, {0.52, 0.31, 0.47, 0.2}, {0.64, 0.32, 0.55, 0.27}};
    char path[256];
    snprintf(path, sizeof path, "%s/%s", nb_test_dir(), name);
    FILE *f = fopen(path, "w");
    assert_non_null(f);
    fprintf(f, "sepal_length,sepal_width,petal_length,petal_width,%s\n", coded ? "label" : "species");
    nb_rng rng;
    nb_rng_seed(&rng, seed);
    for (int i = 0; i < n; i++) {
        int s = i % 3;
        for (int j = 0; j < 4; j++)
            fprintf(f, "%.1f,", mean[s][j] + spread[s][j] * nb_rng_normal(&rng));
        if (coded)
            fprintf(f, "%d\n", first + s);
        else
            fprintf(f, "%s\n", species[s]);
    }
    fclose(f);
}

/* The defaults on a 150-row table: no --epochs trains until the validation loss stops
 * improving (five epochs left this table at chance), keeps the best epoch, reports the
 * test data it did not stop on; an explicit --epochs means what it says, and a run cut
 * short while the loss still fell steeply warns. */
static void test_small_table_defaults(void **state)
{
    (void)state;
    write_flowers("iris.csv", 150, 3, false, 0);
    write_flowers("iris_test.csv", 60, 2, false, 0);
    char args[1024], err[16384];
    snprintf(args, sizeof args, "train --data %s/iris.csv --test %s/iris_test.csv --threads 1 --json --quiet", nb_test_dir(),
             nb_test_dir());
    cJSON *report = run_ok(args);
    assert_true(number(report, "test_accuracy") > 0.9); /* chance is 1/3 */
    assert_int_equal((int)number(report, "val_samples"), 30);
    assert_int_equal((int)number(report, "train_samples"), 120);
    assert_string_equal(item(report, "stopped_by")->valuestring, "patience");
    assert_null(cJSON_GetObjectItemCaseSensitive(report, "warnings"));
    /* the kept epoch is the best validation epoch, and its test numbers are reported */
    const cJSON *history = item(report, "history");
    int epochs = (int)number(report, "epochs_run"), kept = (int)number(report, "model_epoch"), best = 0;
    assert_true(epochs > 5 && epochs < 1000);
    for (int e = 1; e < epochs; e++)
        if (number(cJSON_GetArrayItem(history, e), "val_loss") < number(cJSON_GetArrayItem(history, best), "val_loss"))
            best = e;
    assert_int_equal(kept, best + 1);
    assert_int_equal(epochs, kept + 20); /* the default patience */
    assert_close(number(report, "test_accuracy"), number(cJSON_GetArrayItem(history, best), "test_accuracy"), 0);
    cJSON_Delete(report);

    /* --epochs 5: five epochs, no early stopping, and a warning that says why it is poor */
    snprintf(args, sizeof args, "train --data %s/iris.csv --test %s/iris_test.csv --epochs 5 --threads 1 --json", nb_test_dir(),
             nb_test_dir());
    assert_int_equal(run_piped(args, &report, err, sizeof err), 0);
    assert_int_equal((int)number(report, "epochs_run"), 5);
    assert_null(cJSON_GetObjectItemCaseSensitive(report, "val_loss"));
    expect_in(cJSON_GetArrayItem(item(report, "warnings"), 0)->valuestring, "still falling steeply");
    cJSON_Delete(report);
    expect_in(err, "warning: the test loss was still falling steeply when training stopped after 5 epochs");
    expect_in(err, "more epochs (--epochs) would likely help");
    /* --val-split and --test together: the split stops and is reported, the test data are reported */
    snprintf(args, sizeof args, "train --data %s/iris.csv --test %s/iris_test.csv --val-split 0.3 --epochs 3 --json "
             "--quiet", nb_test_dir(), nb_test_dir());
    report = run_ok(args);
    assert_int_equal((int)number(report, "val_samples"), 45);
    const cJSON *last = cJSON_GetArrayItem(item(report, "history"), 2);
    assert_close(number(report, "val_loss"), number(last, "val_loss"), 0);
    assert_close(number(report, "test_accuracy"), number(last, "test_accuracy"), 0);
    cJSON_Delete(report);
    /* --quiet still warns; a run that has converged does not */
    snprintf(args, sizeof args, "train --data %s/iris.csv --epochs 5 --quiet", nb_test_dir());
    assert_int_equal(run_piped(args, NULL, err, sizeof err), 0);
    expect_in(err, "warning: the training loss was still falling steeply");
    snprintf(args, sizeof args, "train --data %s/iris.csv --epochs 300 --lr 0.01 --batch 16 --quiet", nb_test_dir());
    assert_int_equal(run_piped(args, NULL, err, sizeof err), 0);
    assert_null(strstr(err, "warning"));
}

/* Labels coded 1..3 are three classes named 1, 2, 3 (no empty class 0); another file's
 * labels are read as those classes, and a label the model never saw is an error. */
static void test_numeric_labels(void **state)
{
    (void)state;
    write_flowers("coded.csv", 150, 5, true, 1);
    write_flowers("coded_test.csv", 60, 4, true, 1);
    write_flowers("coded_from_0.csv", 60, 4, true, 0);
    char args[1024], err[16384];
    snprintf(args, sizeof args, "train --data %s/coded.csv --threads 1 --json --quiet --save %s/coded.st", nb_test_dir(), nb_test_dir());
    cJSON *report = run_ok(args);
    assert_int_equal((int)number(report, "classes"), 3);
    const cJSON *names = item(report, "class_names");
    assert_int_equal(cJSON_GetArraySize(names), 3);
    assert_string_equal(cJSON_GetArrayItem(names, 0)->valuestring, "1");
    assert_string_equal(cJSON_GetArrayItem(names, 2)->valuestring, "3");
    cJSON_Delete(report);

    snprintf(args, sizeof args, "predict --model %s/coded.st --data %s/coded_test.csv --json", nb_test_dir(), nb_test_dir());
    report = run_ok(args);
    assert_true(number(report, "accuracy") > 0.9);
    assert_int_equal(cJSON_GetArraySize(item(report, "confusion")), 3);
    /* the predicted classes by their names: class 0 is label 1 */
    const cJSON *predictions = item(report, "predictions"), *labels = item(report, "labels");
    for (int i = 0; i < 60; i++) {
        char name[16];
        snprintf(name, sizeof name, "%d", cJSON_GetArrayItem(predictions, i)->valueint % 3 + 1);
        assert_string_equal(cJSON_GetArrayItem(labels, i)->valuestring, name);
    }
    cJSON_Delete(report);

    /* a file coded 0..2: an error naming the label and the model's classes, not a score */
    snprintf(args, sizeof args, "predict --model %s/coded.st --data %s/coded_from_0.csv --json", nb_test_dir(), nb_test_dir());
    assert_int_equal(run_piped(args, NULL, err, sizeof err), 1);
    expect_in(err, "coded_from_0.csv:2: column 'label': '0' is not one of the 3 known classes (1, 2, 3)");
    snprintf(args, sizeof args, "train --data %s/coded.csv --test %s/coded_from_0.csv --epochs 1 --quiet", nb_test_dir(), nb_test_dir());
    assert_int_equal(run_piped(args, NULL, err, sizeof err), 1);
    expect_in(err, "'0' is not one of the 3 known classes (1, 2, 3)");

    /* a label written 2.0 is the class 2 */
    char path[256];
    snprintf(path, sizeof path, "%s/written.csv", nb_test_dir());
    FILE *f = fopen(path, "w");
    fputs("sepal_length,sepal_width,petal_length,petal_width,label\n5.0,3.4,1.5,0.2,1.0\n6.6,3.0,5.6,2.0,3e0\n", f);
    fclose(f);
    snprintf(args, sizeof args, "predict --model %s/coded.st --data %s --json", nb_test_dir(), path);
    report = run_ok(args);
    assert_close(number(report, "accuracy"), 1, 0);
    cJSON_Delete(report);
}

/* A copy of a model file whose class_names are [], as nabla wrote models of class
 * numbers before classes were the labels seen. */
static void drop_class_names(const char *from, const char *to)
{
    nb_safetensors *file = nb_safetensors_load(from);
    assert_non_null(file);
    int n_tensors = nb_safetensors_count(file), n_meta = nb_safetensors_meta_count(file);
    nb_safetensors_entry entries[16];
    nb_safetensors_meta_entry meta[32];
    assert_true(n_tensors <= 16 && n_meta <= 32);
    for (int t = 0; t < n_tensors; t++)
        entries[t] = (nb_safetensors_entry){nb_safetensors_name(file, t), nb_safetensors_tensor(file, t)};
    for (int m = 0; m < n_meta; m++) {
        const char *key = nb_safetensors_meta_key(file, m);
        meta[m] = (nb_safetensors_meta_entry){key, strcmp(key, "class_names") == 0 ? "[]" : nb_safetensors_meta(file, key)};
    }
    assert_int_equal(nb_safetensors_save(to, entries, n_tensors, meta, n_meta), NB_OK);
    nb_safetensors_free(file);
}

/* A model file of the earlier kind (class numbers without names) still reads labels as
 * the numbers 0..k-1. */
static void test_models_without_class_names(void **state)
{
    (void)state;
    char from[256], to[256], args[1024], err[16384];
    snprintf(from, sizeof from, "%s/coded.st", nb_test_dir());
    snprintf(to, sizeof to, "%s/old.st", nb_test_dir());
    drop_class_names(from, to);
    snprintf(args, sizeof args, "predict --model %s --data %s/coded_from_0.csv --json", to, nb_test_dir());
    cJSON *report = run_ok(args);
    assert_null(cJSON_GetObjectItemCaseSensitive(report, "class_names"));
    assert_int_equal(cJSON_GetArraySize(item(report, "probabilities")), 60);
    cJSON_Delete(report);
    snprintf(args, sizeof args, "predict --model %s --data %s/coded_test.csv", to, nb_test_dir());
    assert_int_equal(run_piped(args, NULL, err, sizeof err), 1);
    expect_in(err, "holds 3, not one of the model's classes (a whole number from 0 to 2)");
}

/* --loss ce on values (331 rows of 0..346, or measurements) is refused with the loss to
 * use instead; whole numbers that are classes are not. */
static void test_ce_on_values_refused(void **state)
{
    (void)state;
    char path[256], args[1024], err[16384];
    snprintf(path, sizeof path, "%s/values.csv", nb_test_dir());
    FILE *f = fopen(path, "w");
    fputs("x,y\n", f);
    nb_rng rng;
    nb_rng_seed(&rng, 5);
    for (int i = 0; i < 331; i++)
        fprintf(f, "%d,%d\n", i % 17, (int)(347 * nb_rng_uniform(&rng)));
    fclose(f);
    snprintf(args, sizeof args, "train --data %s --loss ce --epochs 1", path);
    assert_int_equal(run_piped(args, NULL, err, sizeof err), 2);
    expect_in(err, "different numbers in 331 rows: values, not classes");
    expect_in(err, "(for values use --loss mse)");
    assert_null(strstr(err, "training"));
    write_flowers("no_names.csv", 60, 6, true, 0);
    snprintf(args, sizeof args, "train --data %s/no_names.csv --target petal_length --loss ce --epochs 1", nb_test_dir());
    assert_int_equal(run_piped(args, NULL, err, sizeof err), 2);
    expect_in(err, "a value, not a class label; --loss ce needs classes (for values use --loss mse)");
    snprintf(args, sizeof args, "train --data %s/no_names.csv --loss ce --epochs 1 --quiet --json", nb_test_dir());
    cJSON *report = run_ok(args);
    assert_int_equal((int)number(report, "classes"), 3);
    cJSON_Delete(report);
}

/* y = 3 x1 - 2 x2 + noise. */
static void write_plane(const char *name, int n, uint64_t seed, bool with_y)
{
    char path[256];
    snprintf(path, sizeof path, "%s/%s", nb_test_dir(), name);
    FILE *f = fopen(path, "w");
    assert_non_null(f);
    fputs(with_y ? "x1,x2,y\n" : "x1,x2\n", f);
    nb_rng rng;
    nb_rng_seed(&rng, seed);
    for (int i = 0; i < n; i++) {
        double x1 = nb_rng_normal(&rng), x2 = nb_rng_normal(&rng);
        if (with_y)
            fprintf(f, "%.6f,%.6f,%.6f\n", x1, x2, 3 * x1 - 2 * x2 + 0.3 * nb_rng_normal(&rng));
        else
            fprintf(f, "%.6f,%.6f\n", x1, x2);
    }
    fclose(f);
}

/* predict --json: the class names, each row's class name and probabilities; for a
 * regression model R², MAE and RMSE (checked against the predictions), and --plot. */
static void test_predict_outputs(void **state)
{
    (void)state;
    char args[1024], err[16384], path[256];
    snprintf(args, sizeof args, "train --data %s/iris.csv --threads 1 --quiet --json --save %s/iris.st", nb_test_dir(), nb_test_dir());
    cJSON_Delete(run_ok(args));
    snprintf(path, sizeof path, "%s/unlabelled.csv", nb_test_dir());
    FILE *f = fopen(path, "w");
    fputs("sepal_length,sepal_width,petal_length,petal_width\n5.0,3.4,1.5,0.2\n6.6,3.0,5.6,2.1\n", f);
    fclose(f);
    snprintf(args, sizeof args, "predict --model %s/iris.st --data %s --json", nb_test_dir(), path);
    cJSON *report = run_ok(args);
    const cJSON *names = item(report, "class_names"), *labels = item(report, "labels");
    const cJSON *probabilities = item(report, "probabilities"), *predictions = item(report, "predictions");
    assert_string_equal(cJSON_GetArrayItem(names, 1)->valuestring, "versicolor");
    assert_string_equal(cJSON_GetArrayItem(labels, 0)->valuestring, "setosa");
    assert_string_equal(cJSON_GetArrayItem(labels, 1)->valuestring, "virginica");
    for (int i = 0; i < 2; i++) {
        const cJSON *row = cJSON_GetArrayItem(probabilities, i);
        assert_int_equal(cJSON_GetArraySize(row), 3);
        double sum = 0, best = -1;
        int argmax = -1;
        for (int c = 0; c < 3; c++) {
            double p = cJSON_GetArrayItem(row, c)->valuedouble;
            assert_true(p >= 0 && p <= 1);
            sum += p;
            if (p > best)
                best = p, argmax = c;
        }
        assert_close(sum, 1, 1e-9);
        assert_int_equal(argmax, cJSON_GetArrayItem(predictions, i)->valueint);
        assert_true(best > 0.8);
    }
    cJSON_Delete(report);

    /* regression: the scores agree with the predictions and the file's values */
    write_plane("plane.csv", 200, 7, true);
    write_plane("plane_test.csv", 50, 8, true);
    snprintf(args, sizeof args, "train --data %s/plane.csv --threads 1 --quiet --json --save %s/plane.st", nb_test_dir(), nb_test_dir());
    cJSON_Delete(run_ok(args));
    snprintf(args, sizeof args, "predict --model %s/plane.st --data %s/plane_test.csv --json --plot %s/observed.png",
             nb_test_dir(), nb_test_dir(), nb_test_dir());
    report = run_ok(args);
    nb_csv_options options = {0};
    snprintf(path, sizeof path, "%s/plane_test.csv", nb_test_dir());
    nb_table *table = nb_table_read(path, &options);
    assert_non_null(table);
    predictions = item(report, "predictions");
    double squared = 0, absolute = 0, mean = 0, total = 0;
    for (int i = 0; i < 50; i++)
        mean += table->columns[2][i] / 50;
    for (int i = 0; i < 50; i++) {
        double d = cJSON_GetArrayItem(predictions, i)->valuedouble - table->columns[2][i];
        squared += d * d, absolute += fabs(d);
        total += (table->columns[2][i] - mean) * (table->columns[2][i] - mean);
    }
    nb_table_free(table);
    /* the model reads the values as float32: agreement to float32's precision */
    assert_close(number(report, "rmse"), sqrt(squared / 50), 1e-6);
    assert_close(number(report, "mae"), absolute / 50, 1e-6);
    assert_close(number(report, "r2"), 1 - squared / total, 1e-6);
    assert_true(number(report, "r2") > 0.95); /* the noise is 0.3 against a spread near 3.6 */
    cJSON_Delete(report);
    unsigned char magic[8] = {0};
    snprintf(path, sizeof path, "%s/observed.png", nb_test_dir());
    f = fopen(path, "rb");
    assert_non_null(f);
    assert_int_equal(fread(magic, 1, 8, f), 8);
    fclose(f);
    assert_memory_equal(magic, "\x89PNG\r\n\x1a\n", 8);
    snprintf(args, sizeof args, "predict --model %s/plane.st --data %s/plane_test.csv", nb_test_dir(), nb_test_dir());
    assert_int_equal(run_piped(args, NULL, err, sizeof err), 0);
    write_plane("plane_new.csv", 5, 9, false);
    snprintf(args, sizeof args, "predict --model %s/plane.st --data %s/plane_new.csv --plot %s/none.png", nb_test_dir(), nb_test_dir(),
             nb_test_dir());
    assert_int_equal(run_piped(args, NULL, err, sizeof err), 2);
    expect_in(err, "--plot draws predicted against observed values, which needs data with the values");
}

/* A model used on another file names the input columns the file lacks, what it expects
 * and what the file has, instead of tripping over a cell it does not use. */
static void test_wrong_file(void **state)
{
    (void)state;
    char args[1024], err[16384];
    snprintf(args, sizeof args, "predict --model %s/plane.st --data %s/iris.csv", nb_test_dir(), nb_test_dir());
    assert_int_equal(run_piped(args, NULL, err, sizeof err), 1);
    expect_in(err, "iris.csv lacks 2 of the model's 2 input columns: x1, x2 (the model expects the columns x1, x2; "
                   "the file has sepal_length, sepal_width, petal_length, petal_width, species)");
    assert_null(strstr(err, "is not a number"));
    snprintf(args, sizeof args, "predict --model %s/iris.st --data %s/plane.csv", nb_test_dir(), nb_test_dir());
    assert_int_equal(run_piped(args, NULL, err, sizeof err), 1);
    expect_in(err, "plane.csv lacks 4 of the model's 4 input columns: sepal_length, sepal_width, petal_length, "
                   "petal_width");
    expect_in(err, "the file has x1, x2, y");
    snprintf(args, sizeof args, "train --data %s/plane.csv --test %s/iris.csv --epochs 1", nb_test_dir(), nb_test_dir());
    assert_int_equal(run_piped(args, NULL, err, sizeof err), 1);
    expect_in(err, "iris.csv lacks 2 of the model's 2 input columns: x1, x2");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_small_table_defaults),
        cmocka_unit_test(test_numeric_labels),
        cmocka_unit_test(test_models_without_class_names),
        cmocka_unit_test(test_ce_on_values_refused),
        cmocka_unit_test(test_predict_outputs),
        cmocka_unit_test(test_wrong_file),
    };
    return cmocka_run_group_tests(tests, nb_test_make_dir, nb_test_remove_dir);
}
