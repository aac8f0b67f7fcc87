/* `nabla train` and `nabla predict` as a user runs them: a slice of Fashion-MNIST, CSV
 * files, saved models, and bad input. */
#include "nb_test.h"
#include "cli_run.h"

#include <math.h>
#include <sys/stat.h>
#include <unistd.h>

static void test_fashion_mnist_slice(void **state)
{
    (void)state;
    char args[512], err[4096];
    cJSON *report;
    snprintf(args, sizeof args,
             "train --data fashion-mnist --limit 3000 --test-limit 1000 --model 784-64-10:relu --epochs 2 "
             "--json --save %s/fm.safetensors --plot %s/curves.png",
             nb_test_dir(), nb_test_dir());
    int status = run_piped(args, &report, err, sizeof err);
    if (status != 0)
        fail_msg("train failed (%d): %s", status, err);
    double accuracy = number(report, "test_accuracy");
    assert_true(accuracy > 0.6); /* chance is 0.1 */
    const cJSON *history = cJSON_GetObjectItemCaseSensitive(report, "history");
    assert_int_equal(cJSON_GetArraySize(history), 2);
    const cJSON *first = cJSON_GetArrayItem(history, 0);
    number(first, "train_accuracy"), number(first, "test_accuracy"), number(first, "seconds"), number(first, "loss");
    cJSON_Delete(report);

    /* save -> load -> predict: the same accuracy on the same 1,000 test images */
    snprintf(args, sizeof args,
             "predict --model %s/fm.safetensors --data fashion-mnist --limit 1000 --threads 2 --json --plot %s/cm.png",
             nb_test_dir(), nb_test_dir());
    assert_int_equal(run_piped(args, &report, err, sizeof err), 0);
    assert_close(number(report, "accuracy"), accuracy, 1e-9);
    assert_int_equal(cJSON_GetArraySize(cJSON_GetObjectItemCaseSensitive(report, "confusion")), 10);
    cJSON_Delete(report);

    char path[256];
    struct stat info;
    snprintf(path, sizeof path, "%s/curves.png", nb_test_dir());
    assert_int_equal(stat(path, &info), 0);
    snprintf(path, sizeof path, "%s/cm.png", nb_test_dir());
    assert_int_equal(stat(path, &info), 0);
}

/* The whole contents of a file (NUL-terminated; *size bytes); NULL if unreadable. */
static char *slurp(const char *path, size_t *size)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return NULL;
    fseek(f, 0, SEEK_END);
    long length = ftell(f);
    fseek(f, 0, SEEK_SET);
    char *bytes = malloc((size_t)length + 1);
    *size = fread(bytes, 1, (size_t)length, f);
    bytes[*size] = '\0';
    fclose(f);
    return bytes;
}

/* The same seed and thread count give the same numbers run after run: the same
 * history (losses, accuracies, printed to the last digit) and a byte-identical model,
 * on 1 thread and on 2 (where the matrix products, the step and the batch gathering
 * are split over both threads). */
static void test_same_seed_and_threads_same_numbers(void **state)
{
    (void)state;
    for (int threads = 1; threads <= 2; threads++) {
        char *history[2], *model[2];
        size_t model_size[2];
        for (int attempt = 0; attempt < 2; attempt++) {
            char args[512], err[4096], path[256];
            snprintf(path, sizeof path, "%s/repro-%d-%d.safetensors", nb_test_dir(), threads, attempt);
            snprintf(args, sizeof args,
                     "train --data fashion-mnist --limit 2000 --test-limit 500 --model 784-128-10:relu --optim sgd "
                     "--momentum 0.9 --lr 0.05 --init torch --epochs 2 --seed 7 --threads %d --json --quiet --save %s",
                     threads, path);
            cJSON *report;
            int status = run_piped(args, &report, err, sizeof err);
            if (status != 0)
                fail_msg("train --threads %d failed (%d): %s", threads, status, err);
            assert_int_equal((int)number(report, "threads"), threads);
            /* the seconds differ from run to run: compare the numbers that must not */
            cJSON *epochs = cJSON_GetObjectItemCaseSensitive(report, "history"), *epoch;
            assert_int_equal(cJSON_GetArraySize(epochs), 2);
            cJSON_ArrayForEach(epoch, epochs) cJSON_DeleteItemFromObjectCaseSensitive(epoch, "seconds");
            history[attempt] = cJSON_PrintUnformatted(epochs);
            cJSON_Delete(report);
            model[attempt] = slurp(path, &model_size[attempt]);
            assert_non_null(model[attempt]);
        }
        assert_string_equal(history[0], history[1]);
        assert_int_equal(model_size[0], model_size[1]);
        assert_memory_equal(model[0], model[1], model_size[0]);
        for (int attempt = 0; attempt < 2; attempt++) {
            free(history[attempt]);
            free(model[attempt]);
        }
    }
}

/* Three classes in the plane, written as a CSV with a header. */
static void write_blobs(const char *path, int n, uint64_t seed, bool with_label)
{
    FILE *f = fopen(path, "w");
    fprintf(f, with_label ? "x1,x2,label\n" : "x1,x2\n");
    nb_rng rng;
    nb_rng_seed(&rng, seed);
    const double centres[3][2] = {{-20, 100}, {20, 100}, {0, 125}}; /* far from 0: scaling matters */
    for (int i = 0; i < n; i++) {
        int label = i % 3;
        double x1 = centres[label][0] + 6 * nb_rng_normal(&rng), x2 = centres[label][1] + 6 * nb_rng_normal(&rng);
        if (with_label)
            fprintf(f, "%.6f,%.6f,%d\n", x1, x2, label);
        else
            fprintf(f, "%.6f,%.6f\n", x1, x2);
    }
    fclose(f);
}

static void test_csv_classification_and_regression(void **state)
{
    (void)state;
    char args[1024], err[4096];
    cJSON *report;
    snprintf(args, sizeof args, "%s/train.csv", nb_test_dir());
    write_blobs(args, 600, 1, true);
    snprintf(args, sizeof args, "%s/test.csv", nb_test_dir());
    write_blobs(args, 300, 2, true);
    snprintf(args, sizeof args, "%s/new.csv", nb_test_dir());
    write_blobs(args, 9, 3, false);
    snprintf(args, sizeof args,
             "train --data %s/train.csv --test %s/test.csv --target label --epochs 20 --batch 32 --lr 0.01 --json "
             "--save %s/blobs.safetensors",
             nb_test_dir(), nb_test_dir(), nb_test_dir());
    int status = run_piped(args, &report, err, sizeof err);
    if (status != 0)
        fail_msg("train failed (%d): %s", status, err);
    assert_true(number(report, "test_accuracy") > 0.9);
    assert_string_equal(cJSON_GetObjectItemCaseSensitive(report, "loss")->valuestring, "ce");
    cJSON_Delete(report);

    snprintf(args, sizeof args, "predict --model %s/blobs.safetensors --data %s/test.csv --json", nb_test_dir(), nb_test_dir());
    assert_int_equal(run_piped(args, &report, err, sizeof err), 0);
    assert_true(number(report, "accuracy") > 0.9);
    cJSON_Delete(report);
    /* rows without labels: one prediction each */
    snprintf(args, sizeof args, "predict --model %s/blobs.safetensors --data %s/new.csv --json", nb_test_dir(), nb_test_dir());
    assert_int_equal(run_piped(args, &report, err, sizeof err), 0);
    assert_int_equal(cJSON_GetArraySize(cJSON_GetObjectItemCaseSensitive(report, "predictions")), 9);
    cJSON_Delete(report);

    /* regression: predict x2 from x1 and the label column, with a validation split */
    snprintf(args, sizeof args,
             "train --data %s/train.csv --target x2 --loss mse --val-split 0.2 --epochs 30 --json --quiet", nb_test_dir());
    assert_int_equal(run_piped(args, &report, err, sizeof err), 0);
    const cJSON *history = cJSON_GetObjectItemCaseSensitive(report, "history");
    double first = number(cJSON_GetArrayItem(history, 0), "val_loss"); /* a validation split, named so */
    double last = number(report, "val_loss");
    assert_true(last < first);
    /* in standardized units: the noise (variance 36) is about a fifth of var(x2) */
    assert_true(last < 0.35);
    cJSON_Delete(report);
    snprintf(args, sizeof args,
             "train --data %s/train.csv --target x2 --features x1,label --loss mse --epochs 30 --quiet --save "
             "%s/reg.safetensors",
             nb_test_dir(), nb_test_dir());
    assert_int_equal(run_piped(args, NULL, err, sizeof err), 0);
    snprintf(args, sizeof args, "predict --model %s/reg.safetensors --data %s/test.csv --target x2 --json", nb_test_dir(), nb_test_dir());
    assert_int_equal(run_piped(args, &report, err, sizeof err), 0);
    assert_true(number(report, "rmse") < 8); /* in the data's units; the noise alone gives 6 */
    cJSON_Delete(report);
}

static void test_bad_input(void **state)
{
    (void)state;
    char args[1024], err[4096], path[256];
    assert_int_equal(run_piped("train --data /nonexistent.csv", NULL, err, sizeof err), 1);
    assert_non_null(strstr(err, "/nonexistent.csv"));
    assert_int_equal(run_piped("train", NULL, err, sizeof err), 2);
    assert_non_null(strstr(err, "--data"));
    snprintf(args, sizeof args, "train --data %s/train.csv --target label --model 3-8-3", nb_test_dir());
    assert_int_equal(run_piped(args, NULL, err, sizeof err), 2);
    assert_non_null(strstr(err, "2 features"));
    snprintf(args, sizeof args, "train --data %s/train.csv --target nope", nb_test_dir());
    assert_int_equal(run_piped(args, NULL, err, sizeof err), 1);
    assert_non_null(strstr(err, "nope"));
    snprintf(args, sizeof args, "train --data %s/train.csv --loss hinge", nb_test_dir());
    assert_int_equal(run_piped(args, NULL, err, sizeof err), 2);
    assert_int_equal(run_piped("train --data fashion-mnist --model 784-10:swish", NULL, err, sizeof err), 2);
    assert_non_null(strstr(err, "swish"));
    assert_int_equal(run_piped("train --data fashion-mnist --threads 1.5", NULL, err, sizeof err), 2);
    assert_non_null(strstr(err, "--threads"));
    assert_int_equal(run_piped("train --data fashion-mnist --threads 1000", NULL, err, sizeof err), 2);
    assert_non_null(strstr(err, "at most 256"));
    assert_int_equal(run_piped("predict --model m --data fashion-mnist --threads two", NULL, err, sizeof err), 2);
    assert_non_null(strstr(err, "'two'"));

    /* a run that fails leaves an existing model as it was */
    snprintf(path, sizeof path, "%s/keep.safetensors", nb_test_dir());
    FILE *f = fopen(path, "w");
    fputs("precious", f);
    fclose(f);
    snprintf(args, sizeof args,
             "train --data %s/train.csv --target x2 --loss mse --optim sgd --lr 1e6 --no-standardize --epochs 5 "
             "--save %s --quiet",
             nb_test_dir(), path);
    assert_int_equal(run_piped(args, NULL, err, sizeof err), 1);
    assert_non_null(strstr(err, "diverged"));
    char content[16] = {0};
    f = fopen(path, "r");
    assert_int_equal(fread(content, 1, sizeof content - 1, f), 8);
    fclose(f);
    assert_string_equal(content, "precious");

    /* a model whose shapes do not fit the data */
    snprintf(args, sizeof args, "predict --model %s/blobs.safetensors --data fashion-mnist --limit 10", nb_test_dir());
    assert_int_equal(run_piped(args, NULL, err, sizeof err), 1);
    assert_non_null(strstr(err, "inputs"));
    snprintf(args, sizeof args, "predict --model %s --data fashion-mnist", path);
    assert_int_equal(run_piped(args, NULL, err, sizeof err), 1);
    assert_non_null(strstr(err, path));
    /* labels beyond the model's classes */
    snprintf(path, sizeof path, "%s/wrong.csv", nb_test_dir());
    f = fopen(path, "w");
    fputs("x1,x2,label\n1,100,0\n2,110,7\n", f);
    fclose(f);
    snprintf(args, sizeof args, "predict --model %s/blobs.safetensors --data %s", nb_test_dir(), path);
    assert_int_equal(run_piped(args, NULL, err, sizeof err), 1);
    assert_non_null(strstr(err, "classes"));
}

/* ---- the review's findings: classes across files, targets, model files, options --------- */

/* The path of a file in the temp folder. */
static void path_in_dir(const char *name, char *path, size_t size) { snprintf(path, size, "%s/%s", nb_test_dir(), name); }

static void write_text(const char *name, const char *text)
{
    char path[256];
    path_in_dir(name, path, sizeof path);
    FILE *f = fopen(path, "w");
    assert_non_null(f);
    fputs(text, f);
    fclose(f);
}

/* Animals in the plane, one blob per kind, the kind's name in the last column (no
 * --target needed). Row i is kinds[i % n_kinds]. */
static void write_animals(const char *name, int n, uint64_t seed, const char *const *kinds, int n_kinds)
{
    static const char *const all[] = {"cat", "dog", "fish", "bird"};
    static const double centres[4][2] = {{-20, 100}, {20, 100}, {0, 125}, {0, 75}};
    char path[256];
    path_in_dir(name, path, sizeof path);
    FILE *f = fopen(path, "w");
    assert_non_null(f);
    fprintf(f, "x1,x2,kind\n");
    nb_rng rng;
    nb_rng_seed(&rng, seed);
    for (int i = 0; i < n; i++) {
        const char *kind = kinds[i % n_kinds];
        int c = 0;
        while (strcmp(all[c], kind) != 0)
            c++;
        fprintf(f, "%.6f,%.6f,%s\n", centres[c][0] + 6 * nb_rng_normal(&rng), centres[c][1] + 6 * nb_rng_normal(&rng),
                kind);
    }
    fclose(f);
}

static void expect_in(const char *text, const char *needle)
{
    if (!strstr(text, needle))
        fail_msg("'%s' lacks '%s'", text, needle);
}

/* Class names mean the same class in every file: the held-out and predicted files are
 * read through the training file's names. The default target (the last column) may hold
 * names. */
static void test_class_names_across_files(void **state)
{
    (void)state;
    static const char *const three[] = {"cat", "dog", "fish"}, *const cat_fish[] = {"cat", "fish"};
    static const char *const with_bird[] = {"cat", "fish", "bird", "dog"};
    write_animals("animals.csv", 300, 11, three, 3);
    write_animals("cat_fish.csv", 60, 12, cat_fish, 2);
    write_animals("with_bird.csv", 40, 13, with_bird, 4);
    char args[1024], err[4096];
    cJSON *report;
    /* no --target: the last column, which holds names */
    snprintf(args, sizeof args, "train --data %s/animals.csv --epochs 20 --batch 32 --lr 0.01 --json --quiet --save "
                                "%s/animals.safetensors", nb_test_dir(), nb_test_dir());
    int status = run_piped(args, &report, err, sizeof err);
    if (status != 0)
        fail_msg("train failed (%d): %s", status, err);
    assert_string_equal(cJSON_GetObjectItemCaseSensitive(report, "task")->valuestring, "classification");
    assert_int_equal((int)number(report, "classes"), 3);
    assert_string_equal(cJSON_GetObjectItemCaseSensitive(report, "target")->valuestring, "kind");
    cJSON_Delete(report);

    /* a file holding only cats and fish: fish is still class 2, no dog is claimed */
    snprintf(args, sizeof args, "predict --model %s/animals.safetensors --data %s/cat_fish.csv --json", nb_test_dir(), nb_test_dir());
    assert_int_equal(run_piped(args, &report, err, sizeof err), 0);
    assert_true(number(report, "accuracy") > 0.9);
    const cJSON *confusion = cJSON_GetObjectItemCaseSensitive(report, "confusion");
    assert_int_equal(cJSON_GetArraySize(confusion), 3);
    double dogs = 0, fish_as_fish = cJSON_GetArrayItem(cJSON_GetArrayItem(confusion, 2), 2)->valuedouble;
    for (int c = 0; c < 3; c++)
        dogs += cJSON_GetArrayItem(cJSON_GetArrayItem(confusion, 1), c)->valuedouble;
    assert_close(dogs, 0, 0);
    assert_true(fish_as_fish >= 27); /* 30 fish */
    cJSON_Delete(report);
    /* the same with --test: the held-out accuracy is right too */
    snprintf(args, sizeof args, "train --data %s/animals.csv --test %s/cat_fish.csv --epochs 20 --batch 32 --lr 0.01 "
                                "--json --quiet", nb_test_dir(), nb_test_dir());
    assert_int_equal(run_piped(args, &report, err, sizeof err), 0);
    assert_true(number(report, "test_accuracy") > 0.9);
    cJSON_Delete(report);

    /* a class the training data lack: an error naming the value, the file and the line */
    snprintf(args, sizeof args, "train --data %s/animals.csv --test %s/with_bird.csv --epochs 1 --quiet", nb_test_dir(), nb_test_dir());
    assert_int_equal(run_piped(args, NULL, err, sizeof err), 1);
    expect_in(err, "with_bird.csv:4: column 'kind': 'bird' is not one of the 3 known classes (cat, dog, fish)");
    snprintf(args, sizeof args, "predict --model %s/animals.safetensors --data %s/with_bird.csv", nb_test_dir(), nb_test_dir());
    assert_int_equal(run_piped(args, NULL, err, sizeof err), 1);
    expect_in(err, "with_bird.csv:4: column 'kind': 'bird' is not one of the 3 known classes");

    /* class numbers: one the training data lack is an error naming it */
    write_text("labels.csv", "x,label\n0.1,0\n0.2,1\n0.3,2\n0.4,0\n0.5,1\n0.6,2\n0.7,0\n0.8,1\n0.9,2\n1.0,0\n"
                             "1.1,1\n1.2,2\n1.3,0\n1.4,1\n1.5,2\n1.6,0\n1.7,1\n1.8,2\n1.9,0\n2.0,1\n2.1,2\n2.2,0\n"
                             "2.3,1\n2.4,2\n2.5,0\n2.6,1\n2.7,2\n2.8,0\n2.9,1\n3.0,2\n");
    write_text("labels_test.csv", "x,label\n0.1,0\n0.2,5\n");
    snprintf(args, sizeof args, "train --data %s/labels.csv --test %s/labels_test.csv --epochs 1 --quiet", nb_test_dir(), nb_test_dir());
    assert_int_equal(run_piped(args, NULL, err, sizeof err), 1);
    expect_in(err, "labels_test.csv:3: column 'label': '5' is not one of the 3 known classes (0, 1, 2)");
}

/* Whether a target of numbers is classes or values, and the line that says which. */
static void test_target_kind(void **state)
{
    (void)state;
    char text[16384], args[1024], err[4096];
    cJSON *report;
    /* a price in whole dollars: values, not 4,000 classes */
    int used = snprintf(text, sizeof text, "rooms,area,price\n");
    for (int i = 0; i < 200; i++)
        used += snprintf(text + used, sizeof text - (size_t)used, "%d,%d,%d\n", 1 + i % 5, 40 + i, 1000 + 17 * i);
    write_text("prices.csv", text);
    snprintf(args, sizeof args, "train --data %s/prices.csv --epochs 1 --json", nb_test_dir());
    assert_int_equal(run_piped(args, &report, err, sizeof err), 0);
    assert_string_equal(cJSON_GetObjectItemCaseSensitive(report, "task")->valuestring, "regression");
    assert_string_equal(cJSON_GetObjectItemCaseSensitive(report, "loss")->valuestring, "mse");
    assert_string_equal(cJSON_GetObjectItemCaseSensitive(report, "model")->valuestring, "2-64-1:relu");
    cJSON_Delete(report);
    expect_in(err, "(target 'price': regression)");
    /* rooms 1..5 over 200 rows: five classes (the labels seen; no empty class 0) */
    snprintf(args, sizeof args, "train --data %s/prices.csv --target rooms --epochs 1 --json", nb_test_dir());
    assert_int_equal(run_piped(args, &report, err, sizeof err), 0);
    assert_string_equal(cJSON_GetObjectItemCaseSensitive(report, "task")->valuestring, "classification");
    assert_int_equal((int)number(report, "classes"), 5);
    cJSON_Delete(report);
    expect_in(err, "(target 'rooms': classification, 5 classes)");
    /* the area (40 .. 239, every value once): values */
    snprintf(args, sizeof args, "train --data %s/prices.csv --target area --epochs 1 --json --quiet", nb_test_dir());
    assert_int_equal(run_piped(args, &report, err, sizeof err), 0);
    assert_string_equal(cJSON_GetObjectItemCaseSensitive(report, "task")->valuestring, "regression");
    cJSON_Delete(report);
    /* a yes/no column of four rows: classes */
    write_text("and.csv", "a,b,both\n0,0,0\n0,1,0\n1,0,0\n1,1,1\n");
    snprintf(args, sizeof args, "train --data %s/and.csv --epochs 1 --json --quiet", nb_test_dir());
    assert_int_equal(run_piped(args, &report, err, sizeof err), 0);
    assert_int_equal((int)number(report, "classes"), 2);
    cJSON_Delete(report);
    /* a column of 300 different names is no set of classes, unless one insists */
    used = snprintf(text, sizeof text, "x,name\n");
    for (int i = 0; i < 300; i++)
        used += snprintf(text + used, sizeof text - (size_t)used, "%d,n%d\n", i, i);
    write_text("names.csv", text);
    snprintf(args, sizeof args, "train --data %s/names.csv --epochs 1 --quiet", nb_test_dir());
    assert_int_equal(run_piped(args, NULL, err, sizeof err), 1);
    expect_in(err, "the target 'name' holds 300 different names: too many to be classes");
    /* a single class: nothing to learn */
    write_text("one_class.csv", "x,kind\n1,cat\n2,cat\n3,cat\n");
    snprintf(args, sizeof args, "train --data %s/one_class.csv --epochs 1 --quiet", nb_test_dir());
    assert_int_equal(run_piped(args, NULL, err, sizeof err), 1);
    expect_in(err, "single class");
}

/* A loss that does not suit the target is refused before training. */
static void test_loss_fits_target(void **state)
{
    (void)state;
    char args[1024], err[4096];
    write_text("binary.csv", "x,y\n0.1,0\n0.2,1\n0.3,0.5\n0.4,1\n0.5,0\n0.6,1.5\n");
    snprintf(args, sizeof args, "train --data %s/binary.csv --loss bce --epochs 1 --quiet", nb_test_dir());
    assert_int_equal(run_piped(args, NULL, err, sizeof err), 2);
    expect_in(err, "binary.csv:7: column 'y' holds 1.5, not from 0 to 1, as --loss bce needs");
    write_text("binary_ok.csv", "x,y\n0.1,0\n0.2,1\n0.3,0.5\n0.4,1\n");
    write_text("binary_test.csv", "x,y\n0.1,0\n0.2,-1\n");
    snprintf(args, sizeof args, "train --data %s/binary_ok.csv --test %s/binary_test.csv --loss bce --epochs 1 --quiet",
             nb_test_dir(), nb_test_dir());
    assert_int_equal(run_piped(args, NULL, err, sizeof err), 2);
    expect_in(err, "binary_test.csv:3: column 'y' holds -1, not from 0 to 1, as --loss bce needs");
    snprintf(args, sizeof args, "train --data %s/animals.csv --loss mse --epochs 1 --quiet", nb_test_dir());
    assert_int_equal(run_piped(args, NULL, err, sizeof err), 2);
    expect_in(err, "the target 'kind' holds class names ('cat', ...); --loss mse needs numbers");
    assert_int_equal(run_piped("train --data fashion-mnist --loss mse", NULL, err, sizeof err), 2);
    expect_in(err, "its loss is ce, not mse");
    assert_int_equal(run_piped("train --data fashion-mnist --test x.csv", NULL, err, sizeof err), 2);
    expect_in(err, "--test are for CSV data");
}

/* A file without a header: its columns are x and y (two columns) or c1, c2, ... (more),
 * in the report, the messages and the model, and --target finds them by those names or
 * by number in every file of that shape. */
static void test_headerless_names(void **state)
{
    (void)state;
    char args[1024], err[4096];
    cJSON *report;
    write_text("and.txt", "0 0 0\n0 1 0\n1 0 0\n1 1 1\n");
    snprintf(args, sizeof args, "train --data %s/and.txt --epochs 1 --json --save %s/and.safetensors", nb_test_dir(), nb_test_dir());
    assert_int_equal(run_piped(args, &report, err, sizeof err), 0);
    assert_string_equal(cJSON_GetObjectItemCaseSensitive(report, "target")->valuestring, "c3");
    cJSON_Delete(report);
    expect_in(err, "(target 'c3': classification, 2 classes)");
    const char *targets[] = {"c3", "3", "'$3'"};
    for (int i = 0; i < 3; i++) {
        snprintf(args, sizeof args, "predict --model %s/and.safetensors --data %s/and.txt --target %s --json", nb_test_dir(),
                 nb_test_dir(), targets[i]);
        assert_int_equal(run_piped(args, &report, err, sizeof err), 0);
        assert_int_equal((int)number(report, "rows"), 4);
        assert_true(number(report, "accuracy") >= 0);
        cJSON_Delete(report);
    }
    snprintf(args, sizeof args, "predict --model %s/and.safetensors --data %s/and.txt --target col3", nb_test_dir(), nb_test_dir());
    assert_int_equal(run_piped(args, NULL, err, sizeof err), 1);
    expect_in(err, "and.txt: no column 'col3'; available columns: c1, c2, c3");
    /* two columns: x and y */
    write_text("pairs.txt", "0.1 0\n0.2 1\n0.3 1.5\n");
    snprintf(args, sizeof args, "train --data %s/pairs.txt --loss bce --epochs 1 --quiet", nb_test_dir());
    assert_int_equal(run_piped(args, NULL, err, sizeof err), 2);
    expect_in(err, "pairs.txt:3: column 'y' holds 1.5, not from 0 to 1, as --loss bce needs");
    snprintf(args, sizeof args, "train --data %s/pairs.txt --target x --epochs 1 --json --quiet", nb_test_dir());
    assert_int_equal(run_piped(args, &report, err, sizeof err), 0);
    assert_string_equal(cJSON_GetObjectItemCaseSensitive(report, "target")->valuestring, "x");
    cJSON_Delete(report);
}

/* Names are data (issue: a column "x,y" was taken as the columns x and y): the target
 * 'x,y' is the one column of that name, the model keeps its features as a list, and
 * predict finds them again; two columns of one name are refused before training. */
static void test_names_with_commas(void **state)
{
    (void)state;
    char args[1024], err[4096];
    cJSON *report;
    write_text("commas.csv", "x,y,\"x,y\"\n1,2,3\n2,1,3\n3,3,6\n4,0,4\n1,1,2\n");
    snprintf(args, sizeof args, "train --data %s/commas.csv --target 'x,y' --loss mse --epochs 2 --json --save "
             "%s/commas.safetensors", nb_test_dir(), nb_test_dir());
    assert_int_equal(run_piped(args, &report, err, sizeof err), 0);
    assert_string_equal(cJSON_GetObjectItemCaseSensitive(report, "target")->valuestring, "x,y");
    cJSON_Delete(report);
    char model[512];
    path_in_dir("commas.safetensors", model, sizeof model);
    nb_safetensors *file = nb_safetensors_load(model);
    assert_non_null(file);
    assert_string_equal(nb_safetensors_meta(file, "features"), "[\"x\",\"y\"]");
    nb_safetensors_free(file);
    snprintf(args, sizeof args, "predict --model %s/commas.safetensors --data %s/commas.csv --json", nb_test_dir(), nb_test_dir());
    assert_int_equal(run_piped(args, &report, err, sizeof err), 0);
    assert_int_equal((int)number(report, "rows"), 5);
    cJSON_Delete(report);

    write_text("twice.csv", "t,y,t\n1,2,3\n2,1,3\n");
    snprintf(args, sizeof args, "train --data %s/twice.csv --target y --loss mse --epochs 1 --quiet", nb_test_dir());
    assert_int_equal(run_piped(args, NULL, err, sizeof err), 1);
    expect_in(err, "columns 1 and 3 are both named 't'; rename one");
}

/* Where the model or the plot will go is checked before training, not after it. */
static void test_output_paths_checked_first(void **state)
{
    (void)state;
    char args[1024], err[4096];
    write_text("small.csv", "a,y\n1,2\n2,4\n3,6\n");
    snprintf(args, sizeof args, "train --data %s/small.csv --save %s/no/such/dir/m.safetensors", nb_test_dir(), nb_test_dir());
    assert_int_equal(run_piped(args, NULL, err, sizeof err), 2);
    expect_in(err, "its directory does not exist");
    expect_in(err, "nothing was trained");
    assert_null(strstr(err, "epoch"));
    snprintf(args, sizeof args, "train --data %s/small.csv --plot %s", nb_test_dir(), nb_test_dir());
    assert_int_equal(run_piped(args, NULL, err, sizeof err), 2);
    snprintf(args, sizeof args, "train --data %s/small.csv --save %s", nb_test_dir(), nb_test_dir());
    assert_int_equal(run_piped(args, NULL, err, sizeof err), 2);
    expect_in(err, "it is a directory, not a regular file, and writing would replace it; nothing was trained");
}

/* A copy of a model file with one metadata field changed (value NULL: left out), and
 * with element 0 of the tensor `nan_tensor` (when not NULL) made NaN. */
static void rewrite_model(const char *from, const char *to, const char *key, const char *value,
                          const char *nan_tensor)
{
    nb_safetensors *file = nb_safetensors_load(from);
    if (!file)
        fail_msg("%s: %s", from, nb_errmsg());
    int n_tensors = nb_safetensors_count(file), n_meta = 0;
    nb_safetensors_entry entries[16];
    nb_tensor *changed = NULL;
    assert_true(n_tensors <= 16);
    for (int t = 0; t < n_tensors; t++) {
        entries[t] = (nb_safetensors_entry){nb_safetensors_name(file, t), nb_safetensors_tensor(file, t)};
        if (nan_tensor && strcmp(entries[t].name, nan_tensor) == 0) {
            const nb_tensor *original = entries[t].tensor;
            changed = nb_tensor_from_data(original->dtype, original->ndim, original->shape, original->data);
            nb_tensor_set(changed, 0, NAN);
            entries[t].tensor = changed;
        }
    }
    nb_safetensors_meta_entry meta[32];
    for (int m = 0; m < nb_safetensors_meta_count(file); m++) {
        const char *k = nb_safetensors_meta_key(file, m);
        if (key && strcmp(k, key) == 0 && !value)
            continue;
        meta[n_meta++] = (nb_safetensors_meta_entry){k, key && strcmp(k,
                          key) == 0 ? value : nb_safetensors_meta(file, k)};
    }
    if (nb_safetensors_save(to, entries, n_tensors, meta, n_meta) != NB_OK)
        fail_msg("%s: %s", to, nb_errmsg());
    nb_tensor_free(changed);
    nb_safetensors_free(file);
}

/* predict refuses a model file whose description does not hold together, or whose
 * parameters are not finite, with a message naming the file and the field or tensor. */
static void test_model_file_checked(void **state)
{
    (void)state;
    static const char *const three[] = {"cat", "dog", "fish"};
    write_animals("zoo.csv", 90, 21, three, 3);
    char args[1024], err[4096], good[256], bad[256];
    path_in_dir("zoo.safetensors", good, sizeof good);
    path_in_dir("bad.safetensors", bad, sizeof bad);
    snprintf(args, sizeof args, "train --data %s/zoo.csv --model 2-4-3 --epochs 1 --quiet --save %s", nb_test_dir(), good);
    assert_int_equal(run_piped(args, NULL, err, sizeof err), 0);
    snprintf(args, sizeof args, "predict --model %s --data %s/zoo.csv --json", good, nb_test_dir());
    assert_int_equal(run_piped(args, NULL, err, sizeof err), 0);

    const struct {
        const char *key, *value, *message;
    } cases[] = {
        {"n_classes", "100", "'n_classes' is 100, but a ce model has one output per class, at least 2, and this "
                             "network has 3"},
        {"n_classes", "3x", "metadata field 'n_classes' is '3x'; expected a whole number"},
        {"n_classes", "-3", "metadata field 'n_classes' is '-3'; expected a whole number"},
        {"n_classes", NULL, "the metadata lack the field 'n_classes'"},
        {"loss", "mse", "'n_classes' is 3, but the loss is mse, which has no classes"},
        {"loss", "hinge", "metadata field 'loss' is 'hinge'; expected ce, mse, mae, huber or bce"},
        {"dtype", "f16", "metadata field 'dtype' is 'f16'; expected f32 or f64"},
        {"model", "2-4-x", "metadata field 'model'"},
        /* huge layers the file does not hold: refused before anything that size is made */
        {"model", "2-16384-16384-3", "needs a tensor 'fc1.weight' of shape [16384, 2], and the file has another shape"},
        {"class_names", "[\"cat\",\"dog\"]", "metadata field 'class_names' is '[\"cat\",\"dog\"]'; expected [] or a "
                                             "JSON list of one name per class"},
        {"class_names", "[\"cat\",\"dog\",\"cat\"]", "metadata field 'class_names' holds 'cat' twice"},
        {"class_names", "{", "metadata field 'class_names' is '{'"},
        {"features", "x1", "metadata field 'features' is 'x1'; expected the names of the network's 2 input columns"},
        {"features", "x1,,x2", "metadata field 'features' is 'x1,,x2'; expected a JSON list of column names"},
        {"features", "[\"x1\",\"\"]", "expected a JSON list of column names"},
        {"features", "[\"x1\"]", "metadata field 'features' is '[\"x1\"]'; expected the names of the network's 2"},
        {"data", "mnist", "metadata field 'data' is 'mnist'; expected csv or fashion-mnist"},
        {"target", "", "metadata field 'target' is empty, but the data are csv"},
        {"standardized", "maybe", "metadata field 'standardized' is 'maybe'; expected yes or no"},
        {"targets_standardized", "yes", "'targets_standardized' is yes, but a ce model predicts classes"},
        {"format", "nabla-mlp-2", "its metadata field 'format' is 'nabla-mlp-2', not nabla-mlp-1"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        rewrite_model(good, bad, cases[i].key, cases[i].value, NULL);
        snprintf(args, sizeof args, "predict --model %s --data %s/zoo.csv", bad, nb_test_dir());
        int status = run_piped(args, NULL, err, sizeof err);
        if (status != 1 || !strstr(err, cases[i].message) || !strstr(err, bad))
            fail_msg("%s = %s: exit %d, message: %s", cases[i].key, cases[i].value ? cases[i].value : "(none)",
                     status, err);
    }
    /* a parameter, or a scale, that is not finite */
    const char *tensors[] = {"fc1.weight", "scaler.std"};
    const char *messages[] = {"parameter 'fc1.weight' holds nan (element 0 of 8)", "scaler.std holds nan (element 0)"};
    for (int i = 0; i < 2; i++) {
        rewrite_model(good, bad, NULL, NULL, tensors[i]);
        snprintf(args, sizeof args, "predict --model %s --data %s/zoo.csv", bad, nb_test_dir());
        assert_int_equal(run_piped(args, NULL, err, sizeof err), 1);
        expect_in(err, messages[i]);
        expect_in(err, bad);
    }
}

/* Training that leaves parameters infinite fails and saves nothing. */
static void test_nonfinite_never_saved(void **state)
{
    (void)state;
    char args[1024], err[4096], path[256];
    path_in_dir("inf.safetensors", path, sizeof path);
    /* one step (one batch of all rows) of a rate of 1e308 makes the weights infinite; no
     * forward pass after it sees them */
    snprintf(args, sizeof args, "train --data %s/zoo.csv --model 2-4-3 --optim sgd --lr 1e308 --epochs 1 --batch 1000 "
                                "--quiet --save %s", nb_test_dir(), path);
    assert_int_equal(run_piped(args, NULL, err, sizeof err), 1);
    struct stat info;
    assert_int_not_equal(stat(path, &info), 0);
}

/* y = sin x + noise on x in [-3, 3]. */
static void write_wave(const char *name, int n, uint64_t seed)
{
    char path[256];
    path_in_dir(name, path, sizeof path);
    FILE *f = fopen(path, "w");
    assert_non_null(f);
    fprintf(f, "x,y\n");
    nb_rng rng;
    nb_rng_seed(&rng, seed);
    for (int i = 0; i < n; i++) {
        double x = -3 + 6 * nb_rng_uniform(&rng);
        fprintf(f, "%.6f,%.6f\n", x, sin(x) + 0.3 * nb_rng_normal(&rng));
    }
    fclose(f);
}

/* With --patience the model keeps the best epoch's parameters: the report gives that
 * epoch and its numbers, not the last epoch's. */
static void test_patience_reports_the_kept_epoch(void **state)
{
    (void)state;
    write_wave("wave.csv", 40, 5);
    write_wave("wave_test.csv", 40, 6);
    char args[1024], err[4096];
    cJSON *report;
    snprintf(args, sizeof args, "train --data %s/wave.csv --test %s/wave_test.csv --model 1-64-64-1 --lr 0.01 "
                                "--epochs 60 --batch 8 --patience 5 --threads 1 --json --quiet", nb_test_dir(), nb_test_dir());
    assert_int_equal(run_piped(args, &report, err, sizeof err), 0);
    const cJSON *history = cJSON_GetObjectItemCaseSensitive(report, "history");
    int epochs = (int)number(report, "epochs_run"), kept = (int)number(report, "model_epoch"), best = 0;
    assert_int_equal(cJSON_GetArraySize(history), epochs);
    for (int e = 1; e < epochs; e++)
        if (number(cJSON_GetArrayItem(history, e), "test_loss") < number(cJSON_GetArrayItem(history, best), "test_loss"))
            best = e;
    assert_int_equal(kept, best + 1);
    assert_true(kept < epochs); /* stopped by patience after the best epoch */
    const cJSON *epoch = cJSON_GetArrayItem(history, best);
    assert_close(number(report, "test_loss"), number(epoch, "test_loss"), 0);
    assert_close(number(report, "final_loss"), number(epoch, "loss"), 0);
    /* the time reported is the training steps' (nb_train's per-epoch clock), summed */
    double seconds = 0;
    for (int e = 0; e < epochs; e++)
        seconds += number(cJSON_GetArrayItem(history, e), "seconds");
    assert_close(number(report, "seconds"), seconds, 1e-9);
    cJSON_Delete(report);
    /* the human summary says so too */
    snprintf(args, sizeof args, "train --data %s/wave.csv --test %s/wave_test.csv --model 1-64-64-1 --lr 0.01 "
                                "--epochs 60 --batch 8 --patience 5 --threads 1 --quiet", nb_test_dir(), nb_test_dir());
    char command[1200], line[512] = "";
    snprintf(command, sizeof command, "%s %s", NB_CLI_PATH, args);
    FILE *pipe = popen(command, "r");
    assert_non_null(fgets(line, sizeof line, pipe));
    assert_int_equal(pclose(pipe), 0);
    char expected[64];
    snprintf(expected, sizeof expected, "; kept epoch %d, the best test loss", kept);
    expect_in(line, expected);
}

/* Every option's value goes through the same checks; the message names the option; bad
 * usage is found before any data are read or any training is done (exit 2). */
static void test_option_values(void **state)
{
    (void)state;
    char args[1024], err[4096];
    const struct {
        const char *options, *message;
    } cases[] = {
        {"--lr x", "--lr: expected a positive number, got 'x'"},
        {"--lr 0", "--lr: expected a positive number, got '0'"},
        {"--momentum x", "--momentum: expected a number >= 0, got 'x'"},
        {"--weight-decay -1", "--weight-decay: expected a number >= 0, got '-1'"},
        {"--clip nan", "--clip: expected a number >= 0, got 'nan'"},
        {"--val-split 1.5", "--val-split: expected a number between 0 and 1 (both excluded), got '1.5'"},
        {"--epochs 2.7", "--epochs: expected a whole number from 1 to 100000000, got '2.7'"},
        {"--epochs 3e9", "--epochs: expected a whole number from 1 to 100000000, got '3e9'"},
        {"--epochs 0", "--epochs: expected a whole number from 1 to 100000000, got '0'"},
        {"--batch 0", "--batch: expected a whole number from 1 to 2147483647, got '0'"},
        {"--threads 1e12", "--threads: expected a whole number from 0 to 2147483647, got '1e12'"},
        {"--seed -5", "--seed: expected a whole number >= 0, got '-5'"},
        {"--limit -1", "--limit: expected a whole number from 0 to 9223372036854775807, got '-1'"},
        {"--patience 1.5", "--patience: expected a whole number from 0 to 2147483647, got '1.5'"},
        {"--init nope", "nope"},
        {"--optim nope", "nope"},
        {"--optim lbfgs", "--optim lbfgs needs full batches; use nabla fit for it"},
        {"--schedule wobble", "wobble"},
        {"--dtype f16", "--dtype must be f32 or f64, got 'f16'"},
        {"--plot curves.xyz", "--plot: cannot tell the image format of 'curves.xyz': use .png, .svg or .pdf"},
        {"--epochs 10 --patience 3", "--patience watches the loss on held-out data: give --test FILE or --val-split F"},
        {"--bogus", "unknown option '--bogus'"},
        {"--epochs", "option '--epochs' needs a value"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        snprintf(args, sizeof args, "train --data %s/wave.csv %s", nb_test_dir(), cases[i].options);
        int status = run_piped(args, NULL, err, sizeof err);
        if (status != 2 || !strstr(err, cases[i].message) || strstr(err, "training"))
            fail_msg("train %s: exit %d, message: %s", cases[i].options, status, err);
    }
    /* predict: the same rules; --plot is checked before anything is printed */
    snprintf(args, sizeof args, "predict --model %s/zoo.safetensors --data %s/zoo.csv --limit 2.5", nb_test_dir(), nb_test_dir());
    assert_int_equal(run_piped(args, NULL, err, sizeof err), 2);
    expect_in(err, "--limit: expected a whole number from 0 to 9223372036854775807, got '2.5'");
    snprintf(args, sizeof args, "predict --model %s/zoo.safetensors --data %s/zoo.csv --plot cm.bmp", nb_test_dir(), nb_test_dir());
    assert_int_equal(run_piped(args, NULL, err, sizeof err), 2);
    expect_in(err, "cannot tell the image format of 'cm.bmp'");
    char path[256];
    path_in_dir("unlabelled.csv", path, sizeof path);
    FILE *f = fopen(path, "w");
    fputs("x1,x2\n-20,100\n20,100\n", f);
    fclose(f);
    cJSON *json = NULL;
    snprintf(args, sizeof args, "predict --model %s/zoo.safetensors --data %s --plot %s/cm.png --json", nb_test_dir(), path,
             nb_test_dir());
    assert_int_equal(run_piped(args, &json, err, sizeof err), 2);
    assert_null(json); /* nothing printed */
    expect_in(err, "--plot draws a confusion matrix, which needs data with the labels; these data hold none");
    snprintf(args, sizeof args, "predict --model %s/zoo.safetensors --data %s/zoo.csv --train", nb_test_dir(), nb_test_dir());
    assert_int_equal(run_piped(args, NULL, err, sizeof err), 2);
    expect_in(err, "--train picks Fashion-MNIST's training images");
}

/* An IDX file of unsigned bytes: the magic number, big-endian dimensions, the data. */
static void write_idx(const char *path, int ndim, const uint32_t *dims, const uint8_t *data, size_t n)
{
    FILE *f = fopen(path, "wb");
    assert_non_null(f);
    uint8_t magic[4] = {0, 0, 0x08, (uint8_t)ndim};
    fwrite(magic, 1, 4, f);
    for (int i = 0; i < ndim; i++) {
        uint8_t big[4] = {(uint8_t)(dims[i] >> 24), (uint8_t)(dims[i] >> 16), (uint8_t)(dims[i] >> 8),
                          (uint8_t)dims[i]};
        fwrite(big, 1, 4, f);
    }
    fwrite(data, 1, n, f);
    fclose(f);
}

/* Fashion-MNIST's four files in DIR/NAME, 20 images of 2x3 each, uncompressed. */
static void write_fashion_like(const char *name, const uint8_t labels[20])
{
    char path[256];
    uint8_t pixels[20 * 6];
    for (int i = 0; i < 20 * 6; i++)
        pixels[i] = (uint8_t)(37 * i);
    const char *sets[2] = {"train", "t10k"};
    for (int s = 0; s < 2; s++) {
        snprintf(path, sizeof path, "%s/%s/%s-images-idx3-ubyte", nb_test_dir(), name, sets[s]);
        write_idx(path, 3, (uint32_t[]){20, 2, 3}, pixels, sizeof pixels);
        snprintf(path, sizeof path, "%s/%s/%s-labels-idx1-ubyte", nb_test_dir(), name, sets[s]);
        write_idx(path, 1, (uint32_t[]){20}, labels, 20);
    }
}

/* $NABLA_FASHION_MNIST names another directory: the files missing, a label outside the
 * ten classes, then a model trained there that carries the ten class names. */
static void test_fashion_mnist_elsewhere(void **state)
{
    (void)state;
    char path[256], args[512], err[4096];
    snprintf(path, sizeof path, "%s/fm", nb_test_dir());
    assert_int_equal(mkdir(path, 0755), 0);
    setenv("NABLA_FASHION_MNIST", path, 1);
    assert_int_equal(run_piped("train --data fashion-mnist --model 6-10 --epochs 1", NULL, err, sizeof err), 1);
    expect_in(err, "Fashion-MNIST not found");
    expect_in(err, "/fm/train-images-idx3-ubyte.gz");
    expect_in(err, "dataset-fashion-mnist");

    uint8_t labels[20];
    for (int i = 0; i < 20; i++)
        labels[i] = (uint8_t)(i % 10);
    labels[2] = 12;
    write_fashion_like("fm", labels);
    assert_int_equal(run_piped("train --data fashion-mnist --model 6-10 --epochs 1", NULL, err, sizeof err), 1);
    expect_in(err, "the label of item 2 is 12, outside the classes 0..9");

    labels[2] = 2;
    write_fashion_like("fm", labels);
    snprintf(args, sizeof args, "train --data fashion-mnist --model 6-10 --epochs 1 --save %s/fm.st", nb_test_dir());
    if (run_piped(args, NULL, err, sizeof err) != 0)
        fail_msg("train failed: %s", err);
    snprintf(path, sizeof path, "%s/fm.st", nb_test_dir());
    size_t size = 0;
    char *model = slurp(path, &size);
    assert_non_null(model);
    assert_non_null(memmem(model, size, "T-shirt/top", strlen("T-shirt/top")));
    assert_non_null(memmem(model, size, "Ankle boot", strlen("Ankle boot")));
    free(model);
    cJSON *report;
    snprintf(args, sizeof args, "predict --model %s/fm.st --data fashion-mnist --json", nb_test_dir());
    assert_int_equal(run_piped(args, &report, err, sizeof err), 0);
    assert_close(number(report, "rows"), 20, 0);
    cJSON_Delete(report);
    unsetenv("NABLA_FASHION_MNIST");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_fashion_mnist_slice),
        cmocka_unit_test(test_same_seed_and_threads_same_numbers),
        cmocka_unit_test(test_csv_classification_and_regression),
        cmocka_unit_test(test_bad_input),
        cmocka_unit_test(test_class_names_across_files),
        cmocka_unit_test(test_target_kind),
        cmocka_unit_test(test_loss_fits_target),
        cmocka_unit_test(test_headerless_names),
        cmocka_unit_test(test_names_with_commas),
        cmocka_unit_test(test_output_paths_checked_first),
        cmocka_unit_test(test_model_file_checked),
        cmocka_unit_test(test_nonfinite_never_saved),
        cmocka_unit_test(test_patience_reports_the_kept_epoch),
        cmocka_unit_test(test_option_values),
        cmocka_unit_test(test_fashion_mnist_elsewhere),
    };
    return cmocka_run_group_tests(tests, nb_test_make_dir, nb_test_remove_dir);
}
