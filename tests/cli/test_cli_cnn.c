/* Convolutional networks through `nabla train` and `nabla predict`: the --model grammar,
 * --input-shape for CSV pixels, model files that rebuild the network alone, and a small
 * CNN against an MLP of about its size on the same slice of Fashion-MNIST. */
#include "nb_test.h"
#include "cli_run.h"

#include <unistd.h>

static double train(const char *model, const char *save)
{
    char args[1024], err[4096];
    cJSON *report;
    snprintf(args, sizeof args, "train --data fashion-mnist --limit 2000 --test-limit 1000 --epochs 2 --quiet --json "
                                "--model '%s'%s%s", model, save ? " --save " : "", save ? save : "");
    int status = run_piped(args, &report, err, sizeof err);
    if (status != 0)
        fail_msg("'%s': exit %d: %s", model, status, err);
    double accuracy = number(report, "test_accuracy");
    cJSON_Delete(report);
    return accuracy;
}

/* The CNN beats an MLP of about as many parameters (9,098 against 9,550), and its file
 * alone rebuilds it: predict scores the same images as training's test did (dropout off). */
static void test_cnn_beats_mlp_and_reloads(void **state)
{
    (void)state;
    char path[256], args[1024], err[4096];
    snprintf(path, sizeof path, "%s/cnn.safetensors", nb_test_dir());
    double cnn = train("conv 8 3x3 pad 1 relu, maxpool 2, conv 16 3x3 pad 1 relu, maxpool 2, dropout 0.2, dense 10",
                       path);
    double mlp = train("784-12-10:relu", NULL);
    if (!(cnn > mlp + 0.05))
        fail_msg("CNN %.3f, MLP %.3f", cnn, mlp);
    cJSON *report;
    snprintf(args, sizeof args, "predict --model %s --data fashion-mnist --limit 1000 --json", path);
    assert_int_equal(run_piped(args, &report, err, sizeof err), 0);
    assert_close(number(report, "accuracy"), cnn, 1e-9);
    cJSON_Delete(report);
}

/* Rows of 36 pixels: a vertical bar (class 0) or a horizontal one (class 1), with noise. */
static void write_bars(const char *path, int n)
{
    FILE *f = fopen(path, "w");
    assert_non_null(f);
    nb_rng rng;
    nb_rng_seed(&rng, 11);
    for (int p = 0; p < 36; p++)
        fprintf(f, "p%d,", p);
    fprintf(f, "label\n");
    for (int i = 0; i < n; i++) {
        int label = i % 2, at = (int)nb_rng_below(&rng, 6);
        for (int p = 0; p < 36; p++) {
            bool on = label ? p / 6 == at : p % 6 == at;
            fprintf(f, "%.3f,", (on ? 1.0 : 0.0) + 0.3 * nb_rng_uniform(&rng));
        }
        fprintf(f, "%s\n", label ? "horizontal" : "vertical");
    }
    fclose(f);
}

static void expect_in(const char *text, const char *needle)
{
    if (!strstr(text, needle))
        fail_msg("'%s' lacks '%s'", text, needle);
}

/* CSV pixels take --input-shape; without it, or with one that does not fit, the run is
 * refused with a message that says so. */
static void test_csv_input_shape(void **state)
{
    (void)state;
    char csv[256], model[256], args[2048], err[4096];
    snprintf(csv, sizeof csv, "%s/bars.csv", nb_test_dir());
    snprintf(model, sizeof model, "%s/bars.safetensors", nb_test_dir());
    write_bars(csv, 300);
    const char *spec = "conv 4 3x3 pad 1 relu, maxpool 2, batchnorm, dense 2";
    snprintf(args, sizeof args, "train --data %s --model '%s' --quiet", csv, spec);
    assert_int_equal(run_piped(args, NULL, err, sizeof err), 2);
    expect_in(err, "needs images");
    expect_in(err, "--input-shape");
    snprintf(args, sizeof args, "train --data %s --model '%s' --input-shape 1x5x5 --quiet", csv, spec);
    assert_int_equal(run_piped(args, NULL, err, sizeof err), 2);
    expect_in(err, "takes 25 inputs");
    snprintf(args, sizeof args, "train --data %s --model '%s' --input-shape 1x6x6 --epochs 20 --lr 0.01 --quiet --save %s",
             csv, spec, model);
    assert_int_equal(run_piped(args, NULL, err, sizeof err), 0);
    cJSON *report;
    snprintf(args, sizeof args, "predict --model %s --data %s --json", model, csv);
    assert_int_equal(run_piped(args, &report, err, sizeof err), 0);
    assert_true(number(report, "accuracy") > 0.95);
    cJSON_Delete(report);
}

static void test_bad_specs(void **state)
{
    (void)state;
    static const struct {
        const char *spec, *message;
    } cases[] = {
        {"conv 32 3x3 pd 1 relu, dense 10", "'pd'"},
        {"conv 32 3x3, maxpool 2, dense 128 relu, dropout 3, dense 10", "[0, 1)"},
        {"conv 32 9x9, conv 8 9x9, conv 8 9x9, conv 8 9x9, dense 10", "does not fit"},
        {"conv 8 3x3, dense 7", "gives 7 outputs"},
    };
    char args[1024], err[4096];
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        snprintf(args, sizeof args, "train --data fashion-mnist --limit 100 --model '%s' --quiet", cases[i].spec);
        int status = run_piped(args, NULL, err, sizeof err);
        if (status != 2 || !strstr(err, cases[i].message))
            fail_msg("'%s': exit %d, message: %s", cases[i].spec, status, err);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_cnn_beats_mlp_and_reloads),
        cmocka_unit_test(test_csv_input_shape),
        cmocka_unit_test(test_bad_specs),
    };
    return cmocka_run_group_tests(tests, nb_test_make_dir, nb_test_remove_dir);
}
