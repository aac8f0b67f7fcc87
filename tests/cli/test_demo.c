/* `nabla demo`, run as a user runs it (the built binary, --json), against independent
 * float64 computations of each tutorial written out here. */
#include "nb_test.h"

#include <cairo.h>
#include <cjson/cJSON.h>
#include <float.h>
#include <gif_lib.h>
#include <math.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>

/* Run `nabla ARGS` and return its stdout (malloc'd). */
static char *run_text(const char *args, int *exit_status)
{
    char command[512];
    snprintf(command, sizeof command, "%s %s", NB_CLI_PATH, args);
    FILE *pipe = popen(command, "r");
    assert_non_null(pipe);
    size_t size = 0, capacity = 1 << 16;
    char *text = malloc(capacity);
    size_t got;
    while ((got = fread(text + size, 1, capacity - size - 1, pipe)) > 0) {
        size += got;
        if (size + 1 == capacity)
            text = realloc(text, capacity *= 2);
    }
    text[size] = '\0';
    int status = pclose(pipe);
    *exit_status = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
    return text;
}

/* Run `nabla ARGS` and parse its stdout as JSON (NULL when it does not parse). */
static cJSON *run_json(const char *args, int *exit_status)
{
    char *text = run_text(args, exit_status);
    cJSON *json = cJSON_Parse(text);
    free(text);
    return json;
}

static double number(const cJSON *object, const char *name)
{
    const cJSON *item = cJSON_GetObjectItemCaseSensitive(object, name);
    if (!cJSON_IsNumber(item))
        fail_msg("no number '%s' in the report", name);
    return item->valuedouble;
}

static const cJSON *field(const cJSON *object, const char *name)
{
    const cJSON *item = cJSON_GetObjectItemCaseSensitive(object, name);
    if (!item)
        fail_msg("no '%s' in the report", name);
    return item;
}

/* Tutorial 1 (docs/tutorials.md), variant A, by hand: per-sample SGD with the hand-derived gradients. */
static void test_quadratic_matches_the_tutorial(void **state)
{
    (void)state;
    double w[3] = {1, 2, 3}, losses[500];
    int stop = 0;
    for (int epoch = 0; epoch < 500; epoch++) {
        double total = 0;
        for (int i = 0; i < 100; i++) {
            double x = i / 100.0, y = 2 * x * x + 3 * x + 4, e = w[0] * x * x + w[1] * x + w[2] - y;
            total += e * e;
            w[0] -= 0.1 * 2 * e * x * x, w[1] -= 0.1 * 2 * e * x, w[2] -= 0.1 * 2 * e;
        }
        losses[epoch] = total / 100;
        stop = epoch + 1;
        if (total / 100 < 1e-5)
            break;
    }
    int status;
    cJSON *report = run_json("demo --json", &status); /* the default demo and variant */
    assert_int_equal(status, 0);
    assert_non_null(report);
    assert_string_equal(field(report, "demo")->valuestring, "quadratic");
    assert_int_equal((int)number(report, "epochs_run"), stop);
    const cJSON *params = field(report, "params");
    assert_close(number(params, "w1"), w[0], 1e-6);
    assert_close(number(params, "w2"), w[1], 1e-6);
    assert_close(number(params, "w3"), w[2], 1e-6);
    const cJSON *history = field(report, "history");
    assert_int_equal(cJSON_GetArraySize(history), stop);
    for (int e = 0; e < stop; e++) { /* epochs counted from 0, as the tutorial */
        const cJSON *entry = cJSON_GetArrayItem(history, e);
        assert_int_equal((int)number(entry, "epoch"), e);
        assert_close(number(entry, "loss"), losses[e], 1e-9 * losses[e]);
    }
    /* and beyond: the exact coefficients */
    const cJSON *exact = field(field(report, "least_squares"), "params");
    for (int k = 0; k < 3; k++)
        assert_close(cJSON_GetArrayItem(exact, k)->valuedouble, 2.0 + k, 1e-9);
    cJSON_Delete(report);
}

/* Tutorial 5 (docs/tutorials.md) by hand: ten iterations of gradient descent with the right gradients. */
static void test_fnn_backprop_losses(void **state)
{
    (void)state;
    double w[8] = {0.2, -0.4, 0.5, 0.6, 0.1, -0.5, -0.3, 0.8}, losses[10];
    for (int it = 0; it < 10; it++) {
        double h1 = 1 / (1 + exp(-(w[0] * 0.5 + w[2] * 0.3))), h2 = 1 / (1 + exp(-(w[1] * 0.5 + w[3] * 0.3)));
        double o1 = 1 / (1 + exp(-(w[4] * h1 + w[6] * h2))), o2 = 1 / (1 + exp(-(w[5] * h1 + w[7] * h2)));
        losses[it] = 0.5 * (o1 - 0.23) * (o1 - 0.23) + 0.5 * (o2 + 0.07) * (o2 + 0.07);
        double d1 = (o1 - 0.23) * o1 * (1 - o1), d2 = (o2 + 0.07) * o2 * (1 - o2);
        double e1 = (d1 * w[4] + d2 * w[5]) * h1 * (1 - h1), e2 = (d1 * w[6] + d2 * w[7]) * h2 * (1 - h2);
        double g[8] = {e1 * 0.5, e2 * 0.5, e1 * 0.3, e2 * 0.3, d1 * h1, d2 * h1, d1 * h2, d2 * h2};
        for (int i = 0; i < 8; i++)
            w[i] -= g[i];
    }
    int status;
    cJSON *report = run_json("demo fnn-backprop --json", &status);
    assert_int_equal(status, 0);
    assert_non_null(report);
    const cJSON *history = field(report, "history");
    assert_int_equal(cJSON_GetArraySize(history), 10);
    for (int it = 0; it < 10; it++)
        assert_close(number(cJSON_GetArrayItem(history, it), "loss"), losses[it], 1e-9);
    char name[4];
    for (int i = 0; i < 8; i++) {
        snprintf(name, sizeof name, "w%d", i + 1);
        assert_close(number(field(report, "params"), name), w[i], 1e-9);
    }
    /* the gradient check flags exactly w1..w4 of the tutorial's hand-derived gradients */
    const cJSON *rows = field(report, "gradients_at_start");
    for (int i = 0; i < 8; i++)
        assert_int_equal(cJSON_IsTrue(field(cJSON_GetArrayItem(rows, i), "tutorial_wrong")), i < 4);
    assert_true(number(report, "gradcheck_max_error") < 1e-8);
    cJSON_Delete(report);
}

static void test_linreg_recovers_the_weights(void **state)
{
    (void)state;
    int status;
    cJSON *report = run_json("demo linreg --json --seed 7", &status);
    assert_int_equal(status, 0);
    const double truth[4] = {8.1, 2, 2, 4};
    const cJSON *w = field(field(report, "params"), "w");
    assert_int_equal(cJSON_GetArraySize(w), 4);
    for (int j = 0; j < 4; j++)
        assert_close(cJSON_GetArrayItem(w, j)->valuedouble, truth[j], 0.05);
    assert_close(number(field(report, "params"), "b"), 1.1, 0.05);
    assert_int_equal((int)number(report, "epochs_run"), 50);
    cJSON_Delete(report);
}

static void test_and_gate_prints_the_truth_table(void **state)
{
    (void)state;
    int status;
    cJSON *report = run_json("demo and-gate --json", &status);
    assert_int_equal(status, 0);
    const cJSON *table = field(report, "truth_table");
    assert_int_equal(cJSON_GetArraySize(table), 4);
    for (int i = 0; i < 4; i++) {
        const cJSON *row = cJSON_GetArrayItem(table, i);
        int expected = number(row, "x1") == 1 && number(row, "x2") == 1;
        assert_int_equal((int)number(row, "output"), expected);
    }
    cJSON_Delete(report);

    /* the human output too */
    char command[512];
    snprintf(command, sizeof command, "%s demo and-gate", NB_CLI_PATH);
    FILE *pipe = popen(command, "r");
    char text[8192];
    size_t size = fread(text, 1, sizeof text - 1, pipe);
    text[size] = '\0';
    assert_int_equal(pclose(pipe), 0);
    assert_non_null(strstr(text, "| AND"));
}

static void test_other_demos_and_bad_usage(void **state)
{
    (void)state;
    int status;
    const char *runs[] = {"demo quadratic --variant minibatch --json", "demo quadratic-decay --json",
                          "demo quadratic-decay --variant minibatch --json", "demo two-layer --json"};
    for (size_t i = 0; i < sizeof runs / sizeof runs[0]; i++) {
        cJSON *report = run_json(runs[i], &status);
        assert_int_equal(status, 0);
        assert_non_null(report);
        assert_true(cJSON_GetArraySize(field(report, "history")) > 0);
        cJSON_Delete(report);
    }
    /* quadratic-decay from the far start reaches the target to 2 decimals */
    cJSON *report = run_json("demo quadratic-decay --json", &status);
    assert_close(number(field(report, "params"), "a"), 2, 0.01);
    assert_close(number(field(report, "params"), "b"), -4, 0.01);
    assert_close(number(field(report, "params"), "c"), 3, 0.01);
    cJSON_Delete(report);

    assert_null(run_json("demo no-such-demo 2>/dev/null", &status));
    assert_int_equal(status, 2);
    assert_null(run_json("demo quadratic --variant nope 2>/dev/null", &status));
    assert_int_equal(status, 2);
    assert_null(run_json("demo --seed x 2>/dev/null", &status));
    assert_int_equal(status, 2);
    /* messages in the words of the other commands */
    char command[512], message[512] = "";
    snprintf(command, sizeof command, "%s demo --bogus 2>&1", NB_CLI_PATH);
    FILE *pipe = popen(command, "r");
    assert_non_null(fgets(message, sizeof message, pipe));
    assert_int_equal(WEXITSTATUS(pclose(pipe)), 2);
    assert_string_equal(message, "nabla demo: unknown option '--bogus' (nabla demo --help lists them)\n");
    /* one rule for whole numbers in every command: no sign, no fraction, no overflow */
    const char *bad_seeds[] = {"-1", "2.5", "+3", "1e3", "18446744073709551616", "''"};
    for (size_t i = 0; i < sizeof bad_seeds / sizeof bad_seeds[0]; i++) {
        char args[128];
        snprintf(args, sizeof args, "demo linreg --json --seed %s 2>/dev/null", bad_seeds[i]);
        assert_null(run_json(args, &status));
        if (status != 2)
            fail_msg("nabla %s: exit %d, expected 2", args, status);
    }
}

/* The report's parameters, numbers and lists in their order, flattened into values. */
static int flat_params(const cJSON *params, double *values, int capacity)
{
    int n = 0;
    const cJSON *item;
    cJSON_ArrayForEach(item, params)
    {
        if (cJSON_IsNumber(item) && n < capacity) {
            values[n++] = item->valuedouble;
        } else {
            const cJSON *element;
            cJSON_ArrayForEach(element, item) if (n < capacity) values[n++] = element->valuedouble;
        }
    }
    return n;
}

/* --save writes the parameters the report shows (those SGD learnt, not the least-squares
 * solution computed after them for comparison). */
static void expect_saved_as_reported(const cJSON *report, const char *path)
{
    double reported[256], saved[256];
    int n_reported = flat_params(field(report, "params"), reported, 256), n_saved = 0;
    nb_safetensors *file = nb_safetensors_load(path);
    if (!file)
        fail_msg("%s: %s", path, nb_errmsg());
    for (int t = 0; t < nb_safetensors_count(file); t++) {
        const nb_tensor *tensor = nb_safetensors_tensor(file, t);
        assert_true(n_saved + tensor->size <= 256);
        nb_tensor_to_doubles(tensor, saved + n_saved);
        n_saved += (int)tensor->size;
    }
    nb_safetensors_free(file);
    assert_int_equal(n_saved, n_reported);
    for (int i = 0; i < n_saved; i++) /* cJSON prints 15 digits when they read back within an ulp */
        if (!(fabs(saved[i] - reported[i]) <= 2 * DBL_EPSILON * fabs(reported[i])))
            fail_msg("%s: value %d is saved as %.17g, reported as %.17g", path, i, saved[i], reported[i]);
}

/* Each demo's --plot is a PNG of the stated size; --save writes safetensors of the
 * reported parameters; --frames writes one PNG per epoch. */
static void test_plots_files_and_frames(void **state)
{
    (void)state;
    char dir[] = "/tmp/nabla-demo-XXXXXX";
    assert_non_null(mkdtemp(dir));
    const struct {
        const char *name;
        int width, height;
    } demos[] = {{"quadratic", 1200, 500}, {"quadratic-decay", 1200, 500}, {"linreg", 1200, 500},
                 {"and-gate", 1200, 500},  {"two-layer", 720, 500},        {"fnn-backprop", 720, 500}};
    for (size_t i = 0; i < sizeof demos / sizeof demos[0]; i++) {
        char args[1024], png[256], model[256];
        snprintf(png, sizeof png, "%s/%s.png", dir, demos[i].name);
        snprintf(model, sizeof model, "%s/%s.safetensors", dir, demos[i].name);
        snprintf(args, sizeof args, "demo %s --json --plot %s --save %s", demos[i].name, png, model);
        int status;
        cJSON *report = run_json(args, &status);
        assert_int_equal(status, 0);
        expect_saved_as_reported(report, model);
        cJSON_Delete(report);
        cairo_surface_t *image = cairo_image_surface_create_from_png(png);
        if (cairo_surface_status(image) != CAIRO_STATUS_SUCCESS)
            fail_msg("%s: not a readable PNG", png);
        assert_int_equal(cairo_image_surface_get_width(image), demos[i].width);
        assert_int_equal(cairo_image_surface_get_height(image), demos[i].height);
        cairo_surface_destroy(image);
        nb_safetensors *saved = nb_safetensors_load(model);
        if (!saved)
            fail_msg("%s: %s", model, nb_errmsg());
        assert_true(nb_safetensors_count(saved) > 0);
        assert_string_equal(nb_safetensors_meta(saved, "demo"), demos[i].name);
        nb_safetensors_free(saved);
    }
    char args[512], frame[300];
    snprintf(args, sizeof args, "demo quadratic-decay --json --frames %s/frames", dir);
    int status;
    cJSON *report = run_json(args, &status);
    assert_int_equal(status, 0);
    int epochs = (int)number(report, "epochs_run");
    cJSON_Delete(report);
    for (int e = 0; e <= epochs + 1; e++) {
        snprintf(frame, sizeof frame, "%s/frames/frame_%03d.png", dir, e);
        FILE *f = fopen(frame, "rb");
        assert_int_equal(f != NULL, e <= epochs); /* the start and one frame per epoch, no more */
        if (f)
            fclose(f);
    }
    snprintf(args, sizeof args, "demo linreg --frames %s/x 2>/dev/null", dir);
    assert_null(run_json(args, &status));
    assert_int_equal(status, 2);
    /* an image format nabla cannot write is bad usage, refused before the demo runs */
    snprintf(args, sizeof args, "demo linreg --plot %s/plot.bmp 2>/dev/null", dir);
    assert_null(run_json(args, &status));
    assert_int_equal(status, 2);
    snprintf(args, sizeof args, "rm -rf %s", dir);
    assert_int_equal(system(args), 0);
}


/* Tutorial 1's mini-batch code, by hand: batches of 20 in data order, lr 0.1, the
 * gradient sums reset once per epoch (as written) or after every batch (intended), the
 * step the sum over the batch's samples / 20. Returns the epochs; first loss and w out. */
static int quadratic_minibatch(bool as_written, double *first_loss, double w[3])
{
    w[0] = 1, w[1] = 2, w[2] = 3;
    for (int epoch = 0; epoch < 500; epoch++) {
        double total = 0, g[3] = {0, 0, 0};
        for (int start = 0; start < 100; start += 20) {
            if (!as_written)
                g[0] = g[1] = g[2] = 0;
            for (int i = start; i < start + 20; i++) {
                double x = i / 100.0, e = w[0] * x * x + w[1] * x + w[2] - (2 * x * x + 3 * x + 4);
                total += e * e;
                g[0] += 2 * e * x * x, g[1] += 2 * e * x, g[2] += 2 * e;
            }
            for (int k = 0; k < 3; k++)
                w[k] -= 0.1 * g[k] / 20;
        }
        if (epoch == 0)
            *first_loss = total / 100;
        if (total / 100 < 1e-5)
            return epoch + 1;
    }
    return 500;
}

static void test_quadratic_minibatch_as_written_and_fixed(void **state)
{
    (void)state;
    double written_first, written_w[3], fixed_first, fixed_w[3];
    int written = quadratic_minibatch(true, &written_first, written_w);
    int fixed = quadratic_minibatch(false, &fixed_first, fixed_w);
    /* the numbers the issue quotes for the tutorial's code and for the fix */
    assert_int_equal(written, 169);
    assert_close(written_first, 0.797383, 5e-7);
    assert_close(written_w[0], 1.96719, 5e-6);
    assert_close(written_w[1], 3.03072, 5e-6);
    assert_close(written_w[2], 3.99524, 5e-6);
    assert_int_equal(fixed, 276);
    assert_close(fixed_first, 1.45768468, 5e-9);
    int status;
    cJSON *report = run_json("demo quadratic --variant minibatch --json", &status);
    assert_int_equal(status, 0);
    assert_int_equal((int)number(report, "epochs_run"), fixed);
    assert_close(number(cJSON_GetArrayItem(field(report, "history"), 0), "loss"), fixed_first, 1e-12);
    const char *names[3] = {"w1", "w2", "w3"};
    for (int k = 0; k < 3; k++)
        assert_close(number(field(report, "params"), names[k]), fixed_w[k], 1e-9);
    const cJSON *as_written = field(report, "as_written");
    assert_int_equal((int)number(as_written, "epochs_run"), written);
    const cJSON *history = field(as_written, "history");
    assert_int_equal(cJSON_GetArraySize(history), written);
    assert_int_equal((int)number(cJSON_GetArrayItem(history, 0), "epoch"), 0);
    assert_close(number(cJSON_GetArrayItem(history, 0), "loss"), written_first, 1e-12);
    for (int k = 0; k < 3; k++)
        assert_close(number(field(as_written, "params"), names[k]), written_w[k], 1e-9);
    cJSON_Delete(report);
}

/* Tutorial 2 per sample, by hand, with its own stopping test: the last sample's squared
 * error, rounded to 2 decimals, < 1e-5. Returns the epoch it stops after. */
static int decay_as_written(double w[3])
{
    w[0] = -11.0 / 6, w[1] = -395.0 / 3, w[2] = -2400;
    for (int epoch = 0; epoch < 100; epoch++) {
        double lr = 0.5 / pow(2, (epoch + 1) / 10), last = 0;
        for (int i = -400; i < 400; i++) {
            double x = i / 400.0, e = w[0] * x * x + w[1] * x + w[2] - (2 * x * x - 4 * x + 3);
            last = e * e;
            w[0] -= lr * e * x * x, w[1] -= lr * e * x, w[2] -= lr * e;
        }
        if (round(100 * last) / 100 < 1e-5)
            return epoch;
    }
    return 99;
}

static void test_quadratic_decay_as_written(void **state)
{
    (void)state;
    double w[3];
    int stop = decay_as_written(w);
    assert_int_equal(stop, 1); /* the issue: after the second epoch (index 1), at a = 328.47… */
    assert_close(w[0], 328.47, 0.005);
    int status;
    cJSON *report = run_json("demo quadratic-decay --json", &status);
    assert_int_equal(status, 0);
    const cJSON *as_written = field(report, "as_written");
    assert_int_equal((int)number(as_written, "epochs_run"), stop + 1);
    const cJSON *history = field(as_written, "history");
    assert_int_equal((int)number(cJSON_GetArrayItem(history, cJSON_GetArraySize(history) - 1), "epoch"), stop);
    const char *names[3] = {"a", "b", "c"};
    for (int k = 0; k < 3; k++)
        assert_close(number(field(as_written, "params"), names[k]), w[k], 1e-9 * fmax(1, fabs(w[k])));
    cJSON_Delete(report);
    /* the tutorial's mini-batch code has its `break` commented out: all 100 epochs */
    report = run_json("demo quadratic-decay --variant minibatch --json", &status);
    assert_int_equal(status, 0);
    assert_int_equal((int)number(field(report, "as_written"), "epochs_run"), 100);
    assert_true(number(report, "epochs_run") < 100);
    cJSON_Delete(report);
}

/* The tutorial's 10-7-10 network by hand in float64: inputs, targets, w1 [10, 7] and
 * w2 [7, 10] standard normal from nabla's generator in that order, no biases, loss
 * Σ(ŷ − y)², one SGD step with lr 1e-4. */
static double two_layer_loss(const double *x, const double *y, const double *w1, const double *w2, double *g1,
                             double *g2)
{
    double loss = 0;
    if (g1)
        memset(g1, 0, 70 * sizeof(double)), memset(g2, 0, 70 * sizeof(double));
    for (int r = 0; r < 233; r++) {
        double h[7], d[10];
        for (int j = 0; j < 7; j++) {
            h[j] = 0;
            for (int i = 0; i < 10; i++)
                h[j] += x[r * 10 + i] * w1[i * 7 + j];
            h[j] = h[j] > 0 ? h[j] : 0;
        }
        for (int k = 0; k < 10; k++) {
            double out = 0;
            for (int j = 0; j < 7; j++)
                out += h[j] * w2[j * 10 + k];
            d[k] = 2 * (out - y[r * 10 + k]);
            loss += (out - y[r * 10 + k]) * (out - y[r * 10 + k]);
        }
        for (int j = 0; g1 && j < 7; j++) {
            double back = 0;
            for (int k = 0; k < 10; k++) {
                g2[j * 10 + k] += h[j] * d[k];
                back += w2[j * 10 + k] * d[k];
            }
            for (int i = 0; h[j] > 0 && i < 10; i++)
                g1[i * 7 + j] += x[r * 10 + i] * back;
        }
    }
    return loss;
}

static void test_two_layer_is_the_tutorials_network(void **state)
{
    (void)state;
    static double x[2330], y[2330];
    double w1[70], w2[70], g1[70], g2[70];
    nb_rng rng;
    nb_rng_seed(&rng, 42);
    for (int i = 0; i < 2330; i++)
        x[i] = nb_rng_normal(&rng);
    for (int i = 0; i < 2330; i++)
        y[i] = nb_rng_normal(&rng);
    for (int i = 0; i < 70; i++)
        w1[i] = nb_rng_normal(&rng);
    for (int i = 0; i < 70; i++)
        w2[i] = nb_rng_normal(&rng);
    double before = two_layer_loss(x, y, w1, w2, g1, g2);
    for (int i = 0; i < 70; i++)
        w1[i] -= 1e-4 * g1[i], w2[i] -= 1e-4 * g2[i];
    double after = two_layer_loss(x, y, w1, w2, NULL, NULL);
    assert_true(before > 1e4); /* the tutorial's size (95,119 with torch's seed 0), not nn.Linear's 2,358 */
    int status;
    cJSON *report = run_json("demo two-layer --json", &status);
    assert_int_equal(status, 0);
    const cJSON *history = field(report, "history");
    assert_close(number(cJSON_GetArrayItem(history, 0), "loss"), before, 1e-9 * before);
    assert_close(number(cJSON_GetArrayItem(history, 1), "loss"), after, 1e-9 * after);
    const cJSON *params = field(report, "params");
    assert_int_equal(cJSON_GetArraySize(params), 2); /* w1 and w2: no biases */
    for (int i = 0; i < 70; i++) {
        assert_close(cJSON_GetArrayItem(field(params, "w1"), i)->valuedouble, w1[i], 1e-9);
        assert_close(cJSON_GetArrayItem(field(params, "w2"), i)->valuedouble, w2[i], 1e-9);
    }
    assert_int_equal((int)number(field(report, "beyond"), "parameters"), 157);
    cJSON_Delete(report);
}

/* The number after the first "epoch" or "iter" word of each log line that starts with
 * one; first and last such numbers out. Returns how many lines. */
static int log_epochs(const char *text, int *first, int *last)
{
    int n = 0;
    for (const char *line = text; line && *line; line = strchr(line, '\n') ? strchr(line, '\n') + 1 : NULL) {
        int e;
        if (sscanf(line, "epoch %d", &e) == 1 || sscanf(line, "iter %d", &e) == 1) {
            if (n++ == 0)
                *first = e;
            *last = e;
        }
    }
    return n;
}

/* One convention everywhere: epochs from 0 in the JSON history and in the log, and each
 * log says what its loss is. */
static void test_epochs_from_zero_and_losses_named(void **state)
{
    (void)state;
    const struct {
        const char *args, *loss_label;
    } runs[] = {
        {"demo quadratic", "mean (y − ŷ)² over the epoch's 100 samples"},
        {"demo quadratic --variant minibatch", "mean (y − ŷ)² over the epoch's 100 samples"},
        {"demo quadratic-decay", "mean loss over the epoch's 800 samples"},
        {"demo quadratic-decay --variant minibatch", "mean loss over the epoch's 50 batches"},
        {"demo linreg", "sum of the epoch's 32 batch losses"},
        {"demo and-gate", "mean (y − ŷ)² over the epoch's 4 samples"},
        {"demo two-layer", "Σ(ŷ − y)² over the 233 × 10 outputs"},
        {"demo fnn-backprop", "½Σ(o − y)² over the two outputs"},
    };
    for (size_t i = 0; i < sizeof runs / sizeof runs[0]; i++) {
        char args[256];
        snprintf(args, sizeof args, "%s --json", runs[i].args);
        int status;
        cJSON *report = run_json(args, &status);
        assert_int_equal(status, 0);
        const cJSON *history = field(report, "history");
        int n = cJSON_GetArraySize(history);
        for (int e = 0; e < n; e++)
            if ((int)number(cJSON_GetArrayItem(history, e), "epoch") != e)
                fail_msg("%s: history entry %d is epoch %g", runs[i].args, e,
                         number(cJSON_GetArrayItem(history, e), "epoch"));
        cJSON_Delete(report);
        char *text = run_text(runs[i].args, &status);
        assert_int_equal(status, 0);
        if (!strstr(text, runs[i].loss_label))
            fail_msg("%s: the log never says \"%s\"", runs[i].args, runs[i].loss_label);
        int first = -1, last = -1;
        if (log_epochs(text, &first, &last) > 0) { /* two-layer logs one step, no epochs */
            assert_int_equal(first, 0);
            if (last != n - 1)
                fail_msg("%s: the log ends at epoch %d, the history at %d", runs[i].args, last, n - 1);
        } else {
            assert_string_equal(runs[i].args, "demo two-layer");
        }
        free(text);
    }
}

/* The line of `text` that starts with `prefix` (after leading spaces), or NULL. */
static const char *line_starting(const char *text, const char *prefix)
{
    for (const char *line = text; line && *line; line = strchr(line, '\n') ? strchr(line, '\n') + 1 : NULL) {
        const char *p = line + strspn(line, " ");
        if (strncmp(p, prefix, strlen(prefix)) == 0)
            return p;
    }
    return NULL;
}

/* --trace 1 on fnn-backprop: the first update in the tutorial's notation, each weight's
 * hand-derived and autodiff gradient side by side, the four hidden ones flagged. */
static void test_trace_fnn_backprop(void **state)
{
    (void)state;
    const double w[8] = {0.2, -0.4, 0.5, 0.6, 0.1, -0.5, -0.3, 0.8};
    double h1 = 1 / (1 + exp(-(w[0] * 0.5 + w[2] * 0.3))), h2 = 1 / (1 + exp(-(w[1] * 0.5 + w[3] * 0.3)));
    double o1 = 1 / (1 + exp(-(w[4] * h1 + w[6] * h2))), o2 = 1 / (1 + exp(-(w[5] * h1 + w[7] * h2)));
    double d1 = (o1 - 0.23) * o1 * (1 - o1), d2 = (o2 + 0.07) * o2 * (1 - o2);
    double out[4] = {d1 * h1, d2 * h1, d1 * h2, d2 * h2}; /* w5, w6, w7, w8 */
    double right1 = (d1 * w[4] + d2 * w[5]) * h1 * (1 - h1), right2 = (d1 * w[6] + d2 * w[7]) * h2 * (1 - h2);
    double tut1 = (out[0] + out[1]) * h1 * (1 - h1), tut2 = (out[2] + out[3]) * h2 * (1 - h2);
    double autodiff[8] = {right1 * 0.5, right2 * 0.5, right1 * 0.3, right2 * 0.3, out[0], out[1], out[2], out[3]};
    double tutorial[8] = {tut1 * 0.5, tut2 * 0.5, tut1 * 0.3, tut2 * 0.3, out[0], out[1], out[2], out[3]};
    int status;
    char *text = run_text("demo fnn-backprop --trace 1", &status);
    assert_int_equal(status, 0);
    assert_non_null(strstr(text, "update 0: iteration 0"));
    assert_null(strstr(text, "update 1:"));
    char expected[128];
    snprintf(expected, sizeof expected, "h1 = σ(w1·x1 + w3·x2) = σ(0.2·0.5 + 0.5·0.3) = %.8f", h1);
    assert_non_null(strstr(text, expected));
    for (int i = 0; i < 8; i++) {
        char prefix[32];
        snprintf(prefix, sizeof prefix, "∂L/∂w%d ", i + 1);
        const char *line = line_starting(text, prefix); /* the side-by-side row comes first */
        assert_non_null(line);
        snprintf(expected, sizeof expected, "∂L/∂w%d  %15.8f %15.8f", i + 1, tutorial[i], autodiff[i]);
        if (strncmp(line, expected, strlen(expected)) != 0)
            fail_msg("expected \"%s\" in the trace, got \"%.80s\"", expected, line);
        const char *end = strchr(line, '\n');
        bool flagged = strstr(line, "differ") && strstr(line, "differ") < end;
        assert_int_equal(flagged, i < 4);
        snprintf(expected, sizeof expected, "w%d ← w%d − 1·∂L/∂w%d = %.8f − 1·(%+.8e) = %.8f", i + 1, i + 1, i + 1,
                 w[i], autodiff[i], w[i] - autodiff[i]);
        if (!strstr(text, expected))
            fail_msg("no \"%s\" in the trace", expected);
    }
    free(text);
    /* --trace 2 on and-gate: two updates, the first one's step as the tutorial's rule gives it */
    text = run_text("demo and-gate --trace 2", &status);
    assert_int_equal(status, 0);
    assert_non_null(strstr(text, "update 1: epoch 0, sample 1"));
    assert_null(strstr(text, "update 2:"));
    double g = 2 * (0.666 + 0.233 + 1); /* 2(ŷ − y)·x1 at x = (1, 0), y = −1 */
    snprintf(expected, sizeof expected, "w1 ← w1 − 0.01·∂L/∂w1 = 0.66600000 − 0.01·(%+.8e) = %.8f", g, 0.666 - 0.01 * g);
    assert_non_null(strstr(text, expected));
    free(text);
    text = run_text("demo linreg", &status); /* no --trace, no trace */
    assert_null(strstr(text, "update 0:"));
    free(text);
    text = run_text("demo --help", &status);
    assert_non_null(strstr(text, "--trace N"));
    free(text);
    assert_null(run_json("demo fnn-backprop --json --trace 1 2>/dev/null", &status));
    assert_int_equal(status, 2);
}

/* The frames of a GIF, decoded by giflib; *width and *height get its screen size. */
static int gif_frames(const char *path, int *width, int *height)
{
    int error = 0;
    GifFileType *gif = DGifOpenFileName(path, &error);
    if (!gif)
        fail_msg("%s: %s", path, GifErrorString(error));
    if (DGifSlurp(gif) != GIF_OK)
        fail_msg("%s: %s", path, GifErrorString(gif->Error));
    int frames = gif->ImageCount;
    *width = gif->SWidth, *height = gif->SHeight;
    DGifCloseFile(gif, &error);
    return frames;
}

/* Pixels of the first frame within 24 of colour rgb in every channel. */
static int first_frame_pixels_near(const char *path, uint32_t rgb)
{
    int error = 0, count = 0;
    GifFileType *gif = DGifOpenFileName(path, &error);
    assert_non_null(gif);
    assert_int_equal(DGifSlurp(gif), GIF_OK);
    const SavedImage *image = &gif->SavedImages[0];
    const ColorMapObject *map = image->ImageDesc.ColorMap ? image->ImageDesc.ColorMap : gif->SColorMap;
    for (int i = 0; i < image->ImageDesc.Width * image->ImageDesc.Height; i++) {
        GifColorType c = map->Colors[image->RasterBits[i]];
        count += abs(c.Red - (int)(rgb >> 16 & 0xFF)) <= 24 && abs(c.Green - (int)(rgb >> 8 & 0xFF)) <= 24 &&
                 abs(c.Blue - (int)(rgb & 0xFF)) <= 24;
    }
    DGifCloseFile(gif, &error);
    return count;
}

/* --plot x.gif: quadratic-decay's fit, the start and one frame per epoch, the far start
 * marked on the first (in the model's colour, which no other line of that frame has);
 * another demo's loss curve, one frame per epoch. */
static void test_plot_animations(void **state)
{
    (void)state;
    char dir[] = "/tmp/nabla-demo-XXXXXX";
    assert_non_null(mkdtemp(dir));
    char args[512], gif[300];
    int status, width, height;
    snprintf(gif, sizeof gif, "%s/fit.gif", dir);
    snprintf(args, sizeof args, "demo quadratic-decay --json --plot %s", gif);
    cJSON *report = run_json(args, &status);
    assert_int_equal(status, 0);
    int epochs = (int)number(report, "epochs_run");
    cJSON_Delete(report);
    assert_int_equal(gif_frames(gif, &width, &height), epochs + 1);
    assert_int_equal(width, 800);
    assert_int_equal(height, 520);
    assert_true(first_frame_pixels_near(gif, nb_viridis(0)) > 200); /* the arrow toward the start */

    snprintf(gif, sizeof gif, "%s/loss.GIF", dir);
    snprintf(args, sizeof args, "demo linreg --json --plot %s", gif);
    report = run_json(args, &status);
    assert_int_equal(status, 0);
    assert_int_equal(gif_frames(gif, &width, &height), (int)number(report, "epochs_run"));
    assert_int_equal(cJSON_GetArraySize(field(report, "history")), (int)number(report, "epochs_run"));
    assert_int_equal(width, 720);
    assert_int_equal(height, 500);
    cJSON_Delete(report);

    /* an unwritable place is a failure (1), named */
    char command[700];
    snprintf(command, sizeof command, "%s demo and-gate --json --plot /nonexistent-nabla-dir/x.gif 2>&1 >/dev/null",
             NB_CLI_PATH);
    FILE *pipe = popen(command, "r");
    char message[512] = "";
    size_t got = fread(message, 1, sizeof message - 1, pipe);
    message[got] = '\0';
    assert_int_equal(WEXITSTATUS(pclose(pipe)), 1);
    assert_non_null(strstr(message, "/nonexistent-nabla-dir/x.gif"));
    snprintf(args, sizeof args, "rm -rf %s", dir);
    assert_int_equal(system(args), 0);
}

/* The epoch --plot x.gif marks as the tutorial's own stop, read from the log; -1 when
 * none is marked. */
static int marked_stop(const char *demo, const char *dir)
{
    char args[512];
    snprintf(args, sizeof args, "demo %s --plot %s/mark.gif", demo, dir);
    int status, epoch = -1;
    char *text = run_text(args, &status);
    assert_int_equal(status, 0);
    assert_non_null(strstr(text, "animation written to"));
    const char *mark = strstr(text, "(marked: the tutorial's own rule");
    if (mark)
        assert_int_equal(sscanf(strstr(mark, "stops after epoch "), "stops after epoch %d", &epoch), 1);
    free(text);
    return epoch;
}

/* The animations mark where the tutorial's own rule stops as its as-written run does:
 * tutorial 2 per sample after epoch 1 (computed here by hand), its mini-batch code never
 * (no mark); tutorial 1 where the epoch's mean loss first falls below 1e-5. */
static void test_animation_marks_the_tutorials_stop(void **state)
{
    (void)state;
    char dir[] = "/tmp/nabla-demo-XXXXXX";
    assert_non_null(mkdtemp(dir));
    double w[3];
    assert_int_equal(marked_stop("quadratic-decay", dir), decay_as_written(w));
    assert_int_equal(marked_stop("quadratic-decay --variant minibatch", dir), -1);
    int status;
    cJSON *report = run_json("demo quadratic --variant minibatch --json", &status);
    assert_int_equal(status, 0);
    const cJSON *history = field(report, "history");
    int first = -1;
    for (int e = 0; e < cJSON_GetArraySize(history) && first < 0; e++)
        if (number(cJSON_GetArrayItem(history, e), "loss") < 1e-5)
            first = (int)number(cJSON_GetArrayItem(history, e), "epoch");
    assert_true(first >= 0);
    assert_int_equal(marked_stop("quadratic --variant minibatch", dir), first);
    cJSON_Delete(report);
    char command[300];
    snprintf(command, sizeof command, "rm -rf %s", dir);
    assert_int_equal(system(command), 0);
}

/* Pixels of frame `k` of a GIF farther than 40 in some channel from the PNG `png`; -1
 * when the sizes differ. Frame k is drawn onto `canvas` (RGB), which must hold frame
 * k − 1: nabla's GIFs keep only the changed rectangle of each frame. */
static int gif_frame_differs(GifFileType *gif, int k, uint8_t *canvas, const char *png)
{
    const SavedImage *im = &gif->SavedImages[k];
    const ColorMapObject *map = im->ImageDesc.ColorMap ? im->ImageDesc.ColorMap : gif->SColorMap;
    for (int y = 0; y < im->ImageDesc.Height; y++)
        for (int x = 0; x < im->ImageDesc.Width; x++) {
            GifColorType c = map->Colors[im->RasterBits[y * im->ImageDesc.Width + x]];
            uint8_t *p = canvas + 3 * ((size_t)(im->ImageDesc.Top + y) * gif->SWidth + im->ImageDesc.Left + x);
            p[0] = c.Red, p[1] = c.Green, p[2] = c.Blue;
        }
    cairo_surface_t *image = cairo_image_surface_create_from_png(png);
    assert_int_equal(cairo_surface_status(image), CAIRO_STATUS_SUCCESS);
    int width = cairo_image_surface_get_width(image), height = cairo_image_surface_get_height(image), count = 0;
    const uint8_t *data = cairo_image_surface_get_data(image);
    int stride = cairo_image_surface_get_stride(image);
    for (int y = 0; y < height && width == gif->SWidth && height == gif->SHeight; y++)
        for (int x = 0; x < width; x++) {
            uint32_t v = *(const uint32_t *)(data + (size_t)y * stride + 4 * x); /* opaque: not premultiplied */
            const uint8_t *p = canvas + 3 * ((size_t)y * width + x);
            count += abs((int)(v >> 16 & 0xFF) - p[0]) > 40 || abs((int)(v >> 8 & 0xFF) - p[1]) > 40 ||
                     abs((int)(v & 0xFF) - p[2]) > 40;
        }
    cairo_surface_destroy(image);
    return width == gif->SWidth && height == gif->SHeight ? count : -1;
}

/* --plot x.gif animates the frames --frames writes (one evolution_frame for both, the
 * titles counting epochs from 0): each GIF frame is its PNG up to the palette, and not
 * the next one. */
static void test_gif_frames_are_the_png_frames(void **state)
{
    (void)state;
    char dir[] = "/tmp/nabla-demo-XXXXXX";
    assert_non_null(mkdtemp(dir));
    char args[600], path[400];
    snprintf(args, sizeof args, "demo quadratic-decay --json --plot %s/fit.gif --frames %s/frames", dir, dir);
    int status, error = 0;
    cJSON *report = run_json(args, &status);
    assert_int_equal(status, 0);
    int epochs = (int)number(report, "epochs_run");
    cJSON_Delete(report);
    snprintf(path, sizeof path, "%s/fit.gif", dir);
    GifFileType *gif = DGifOpenFileName(path, &error);
    assert_non_null(gif);
    assert_int_equal(DGifSlurp(gif), GIF_OK);
    assert_int_equal(gif->ImageCount, epochs + 1);
    uint8_t *canvas = calloc((size_t)gif->SWidth * gif->SHeight, 3);
    int tolerated = gif->SWidth * gif->SHeight / 1000; /* the palette's few stray pixels */
    for (int k = 0; k <= epochs; k++) {
        snprintf(path, sizeof path, "%s/frames/frame_%03d.png", dir, k);
        int differ = gif_frame_differs(gif, k, canvas, path);
        assert_in_range(differ, 0, tolerated);
        if (k < epochs) { /* the next PNG is another picture (its title at least): the comparison can tell */
            snprintf(path, sizeof path, "%s/frames/frame_%03d.png", dir, k + 1);
            assert_true(gif_frame_differs(gif, k, canvas, path) > tolerated);
        }
    }
    free(canvas);
    DGifCloseFile(gif, &error);
    snprintf(args, sizeof args, "rm -rf %s", dir);
    assert_int_equal(system(args), 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_quadratic_matches_the_tutorial), cmocka_unit_test(test_fnn_backprop_losses),
        cmocka_unit_test(test_linreg_recovers_the_weights),   cmocka_unit_test(test_and_gate_prints_the_truth_table),
        cmocka_unit_test(test_other_demos_and_bad_usage),  cmocka_unit_test(test_plots_files_and_frames),
        cmocka_unit_test(test_quadratic_minibatch_as_written_and_fixed),
        cmocka_unit_test(test_quadratic_decay_as_written),
        cmocka_unit_test(test_two_layer_is_the_tutorials_network),
        cmocka_unit_test(test_epochs_from_zero_and_losses_named),
        cmocka_unit_test(test_trace_fnn_backprop),
        cmocka_unit_test(test_plot_animations),
        cmocka_unit_test(test_animation_marks_the_tutorials_stop),
        cmocka_unit_test(test_gif_frames_are_the_png_frames),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
