/* `nabla fit` as a user runs it: the built program, its output, its exit status, and its
 * messages for each bad input. */
#include "nb_test.h"
#include "cli_run.h"

#include <cairo.h>
#include <unistd.h>

static int setup(void **state)
{
    if (nb_test_make_dir(state) != 0)
        return -1;
    /* y = 2.5 exp(-0.8 x), with a little scatter */
    write_file("decay.csv", "x,y,s\n0,2.51,0.1\n0.5,1.68,0.1\n1,1.12,0.05\n1.5,0.76,0.05\n2,0.50,0.02\n"
                            "2.5,0.34,0.02\n3,0.23,0.01\n3.5,0.152,0.01\n");
    write_file("decay.txt", "# no header, blanks\n0   2.51\n0.5 1.68\n1   1.12\n1.5 0.76\n2   0.50\n2.5 0.34\n"
                            "3   0.23\n3.5 0.152\n");
    write_file("decay.ssv", "t;v\n0;2.51\n0.5;1.68\n1;1.12\n1.5;0.76\n2;0.50\n2.5;0.34\n3;0.23\n3.5;0.152\n");
    /* tutorial 1 (docs/tutorials.md): x = 0, 0.01, ..., 0.99 and y = 2x^2 + 3x + 4 */
    char quad[8192];
    size_t used = (size_t)snprintf(quad, sizeof quad, "x,y\n");
    for (int i = 0; i < 100; i++) {
        double x = i / 100.0;
        used += (size_t)snprintf(quad + used, sizeof quad - used, "%.17g,%.17g\n", x, 2 * x * x + 3 * x + 4);
    }
    write_file("quad.csv", quad);
    /* two inputs: y = 1 + 2 x1 - x2 with a little scatter */
    write_file("multi.csv", "x1,x2,y\n0,0,1.02\n1,0,2.97\n0,1,0.01\n1,1,2.03\n2,1,3.98\n2,3,2.01\n3,2,5.02\n");
    /* a parabola sampled on both sides of its peak (x = 0.5, y = 1) but not at it */
    write_file("peak.csv", "x,y\n-1,-1.25\n0,0.75\n1,0.75\n2,-1.25\n");
    return 0;
}

static void test_help(void **state)
{
    (void)state;
    assert_int_equal(run("fit --help"), 0);
    expect_out("usage: nabla fit FORMULA FILE");
    expect_out("--init LIST");
    assert_int_equal(run("--help"), 0);
    expect_out("fit ");
}

static void test_table(void **state)
{
    (void)state;
    assert_int_equal(run("fit 'y = a*exp(-k*x)' decay.csv --init a=2"), 0);
    expect_out("formula   y = a*exp(-k*x)");
    expect_out("Levenberg-Marquardt");
    expect_out("95% confidence interval");
    expect_out("sum of squares");
    expect_out("R^2");
    expect_out("degrees of freedom");
    expect_out("note: no start value was given for k; it started at 1");
    /* a is near 2.5 */
    const char *row = strstr(out_text, "\na ");
    assert_non_null(row);
    assert_close(atof(row + 2), 2.5, 0.05);

    /* a start where the model does not react to k: a is still fitted (to the mean of y),
     * and k is flagged */
    assert_int_equal(run("fit 'y = a + exp(-k*(x+50))' decay.csv"), 0);
    expect_out("note: k is barely determined by the data");
    row = strstr(out_text, "\na ");
    assert_non_null(row);
    assert_close(atof(row + 2), (2.51 + 1.68 + 1.12 + 0.76 + 0.50 + 0.34 + 0.23 + 0.152) / 8, 1e-6);
}

static void test_json(void **state)
{
    (void)state;
    assert_int_equal(run("fit 'y = a*exp(-k*x)' decay.csv --sigma s --json --init a=2,k=1"), 0);
    cJSON *root = cJSON_Parse(out_text);
    assert_non_null(root);
    cJSON *params = cJSON_GetObjectItem(root, "params");
    assert_non_null(params);
    assert_close(cJSON_GetObjectItem(params, "k")->valuedouble, 0.8, 0.05);
    assert_non_null(cJSON_GetObjectItem(cJSON_GetObjectItem(root, "stderr"), "a"));
    assert_true(cJSON_IsNumber(cJSON_GetObjectItem(root, "sse")));
    assert_true(cJSON_IsNumber(cJSON_GetObjectItem(root, "iterations")));
    assert_true(cJSON_IsTrue(cJSON_GetObjectItem(root, "converged")));
    assert_int_equal(cJSON_GetArraySize(cJSON_GetObjectItem(root, "started_at_1")), 0);
    cJSON_Delete(root);
}

/* The same fit from a headerless whitespace file on stdin, and from a ';' file. */
static void test_inputs(void **state)
{
    (void)state;
    assert_int_equal(run("fit 'a*exp(-k*x)' - --json < decay.txt"), 0);
    cJSON *root = cJSON_Parse(out_text);
    assert_non_null(root);
    double k_stdin = cJSON_GetObjectItem(cJSON_GetObjectItem(root, "params"), "k")->valuedouble;
    cJSON_Delete(root);
    assert_int_equal(run("fit 'a*exp(-k*t)' decay.ssv --y 2 --delimiter ';' --json"), 0);
    root = cJSON_Parse(out_text);
    assert_non_null(root);
    double k_ssv = cJSON_GetObjectItem(cJSON_GetObjectItem(root, "params"), "k")->valuedouble;
    cJSON_Delete(root);
    assert_close(k_ssv, k_stdin, 1e-12);
    /* --no-header on a file that has one fails on the first line */
    assert_int_equal(run("fit 'a*exp(-k*x)' decay.ssv --no-header"), 1);
    expect_err("decay.ssv:1: column 1: 't' is not a number");
}

static void test_linear_formula(void **state)
{
    (void)state;
    assert_int_equal(run("fit 'y = b0 + b1*x' decay.csv"), 0);
    expect_out("linear least squares");
    if (strstr(out_text, "note:"))
        fail_msg("a linear solve has no start values to note:\n%s", out_text);
}

static void expect_failure(const char *args, int status, const char *needle)
{
    int got = run(args);
    if (got != status)
        fail_msg("nabla %s: exit %d, expected %d; stderr: %s", args, got, status, err_text);
    expect_err(needle);
    if (strstr(err_text, "Sanitizer") || strstr(err_text, "runtime error"))
        fail_msg("nabla %s crashed:\n%s", args, err_text);
}

static void test_bad_inputs(void **state)
{
    (void)state;
    /* a formula that does not parse is bad usage (exit 2), shown with a caret */
    expect_failure("fit 'y = a*foo(x)' decay.csv", 2, "unknown function 'foo'");
    expect_failure("fit 'y = a*foo(x)' decay.csv", 2, "  y = a*foo(x)\n        ^");
    expect_failure("fit 'y = a*(1 - exp(-k*x)' decay.csv", 2, "never closed");
    expect_failure("fit 'y = a*x)' decay.csv", 2, "this ')' closes nothing");
    expect_failure("fit 'y = a*x +' decay.csv", 2, "operand is expected");
    /* options that contradict the formula are bad usage, refused before fitting */
    expect_failure("fit 'y = a*x' decay.csv --init b=2", 2, "'b', which does not occur in the formula (its parameters: a)");
    expect_failure("fit 'y = a*x' decay.csv --init x=2", 2, "--init: 'x' is a data column, not a parameter");
    expect_failure("fit 'y = a*exp(-k*x)' decay.csv --sigma x", 2, "--sigma: column 'x' is also used as data");
    expect_failure("fit 'a*exp(-k*x)' decay.csv --sigma y", 2, "--sigma: column 'y' is also used as data");
    expect_failure("fit 'a*y + b' decay.csv", 2, "the response is column 'y', which the formula also reads");
    expect_failure("fit 'a*exp(-k*x)' decay.csv --y x", 2, "the response is column 'x', which the formula also reads");
    expect_failure("fit 'y = a+b*x+c*x^2+d*x^3+f*x^4+g*x^5+h*x^6+i*x^7+j*x^8' decay.csv", 1,
                   "8 data points cannot determine 9 parameters");
    expect_failure("fit 'y = a*log(x - 1)' decay.csv", 1, "the model is not finite at the start values");
    expect_failure("fit 'y = a*b*exp(-x)' decay.csv", 1, "the Jacobian is singular");
    expect_failure("fit 'a*exp(-k*x)' decay.csv --y z", 1,
                   "the response column: decay.csv: no column 'z'; available columns: x, y, s");
    expect_failure("fit 'y = a*exp(-k*x)' decay.csv --sigma q", 1,
                   "the uncertainties' column: decay.csv: no column 'q'; available columns: x, y, s");
    expect_failure("fit 'y = a*exp(-k*x)' missing.csv", 1, "cannot open 'missing.csv'");
    expect_failure("fit 'y = a*exp(-k*x)' decay.csv --max-evals 2 --init k=30", 1, "did not converge");
    /* bad usage */
    expect_failure("fit 'y = a*x'", 2, "expected FORMULA and FILE, got 1 argument");
    expect_failure("fit 'y = a*x' decay.csv --bogus", 2, "unknown option '--bogus'");
    expect_failure("fit 'y = a*x' decay.csv --init", 2, "option '--init' needs a value");
    expect_failure("fit 'y = a*x' decay.csv --init a", 2, "--init: expected NAME=VALUE, got 'a'");
    expect_failure("fit 'y = a*x' decay.csv --init a=x1", 2, "--init: 'a=x1' is not NAME=NUMBER");
    expect_failure("fit 'y = a*x' decay.csv --init a=1,a=2", 2, "'a' is given twice");
    expect_failure("fit 'y = a*x' decay.csv --delimiter :", 2, "--delimiter: expected");
    expect_failure("fit 'y = a*x' decay.csv --method newton", 2, "unknown method 'newton'");
    expect_failure("fit 'y = a*x + exp(b)' decay.csv --method linear", 2, "is not linear in its parameters (a, b)");
    expect_failure("fit 'y = a*x' decay.csv --confidence 95", 2, "--confidence: expected a number between 0 and 1");
    expect_failure("fit 'y = a*x' decay.csv --confidence nan", 2, "--confidence: expected a number between 0 and 1");
    expect_failure("fit 'y = a*x' decay.csv --init a=inf", 2, "--init: 'a=inf' is not NAME=NUMBER");
    expect_failure("fit 'y = a*x' decay.csv --init a=1e999", 2, "--init: 'a=1e999' is not NAME=NUMBER");
}

/* ---- plots ------------------------------------------------------------------------------ */

static void path_in_dir(const char *name, char *path, size_t size) { snprintf(path, size, "%s/%s", nb_test_dir(), name); }

/* A PNG that cairo reads back, of the figure's size; *blue / *vermillion get the pixels of
 * the data's and the curve's colours. */
static void check_png(const char *name, int *blue, int *vermillion)
{
    char path[256];
    path_in_dir(name, path, sizeof path);
    cairo_surface_t *image = cairo_image_surface_create_from_png(path);
    if (cairo_surface_status(image) != CAIRO_STATUS_SUCCESS)
        fail_msg("%s is not a PNG cairo can read: %s", name, cairo_status_to_string(cairo_surface_status(image)));
    assert_int_equal(cairo_image_surface_get_width(image), 900);
    assert_int_equal(cairo_image_surface_get_height(image), 720);
    int width = 900, height = 720, stride = cairo_image_surface_get_stride(image);
    const unsigned char *data = cairo_image_surface_get_data(image);
    *blue = *vermillion = 0;
    for (int y = 0; y < height; y++)
        for (int x = 0; x < width; x++) {
            uint32_t pixel = *(const uint32_t *)(data + y * stride + 4 * x) & 0xFFFFFF;
            *blue += pixel == 0x0072B2;
            *vermillion += pixel == 0xD55E00;
        }
    cairo_surface_destroy(image);
}

/* The most line-to commands in one path of an SVG file: a curve drawn through the data
 * points only would have as many as the points. */
static int longest_svg_path(const char *name)
{
    static char text[1 << 21];
    char path[256];
    path_in_dir(name, path, sizeof path);
    read_file(path, text, sizeof text);
    assert_true(strlen(text) + 1 < sizeof text);
    int longest = 0;
    for (const char *p = strstr(text, "<path"); p; p = strstr(p + 1, "<path")) {
        const char *end = strstr(p, "/>");
        int count = 0;
        for (const char *l = strstr(p, " L "); l && (!end || l < end); l = strstr(l + 1, " L "))
            count++;
        longest = count > longest ? count : longest;
    }
    return longest;
}

static void test_plot(void **state)
{
    (void)state;
    int blue, vermillion;
    assert_int_equal(run("fit 'y = w1*x^2 + w2*x + w3' quad.csv --plot fit.png"), 0);
    expect_out("plot      fit.png");
    check_png("fit.png", &blue, &vermillion);
    assert_true(blue > 500);       /* 100 data points and their residuals */
    assert_true(vermillion > 500); /* the curve */

    /* the curve is the formula evaluated densely, not a line through the points */
    assert_int_equal(run("fit 'y = a + b*x + c*x^2' peak.csv --plot peak.svg"), 0);
    char path[256], head[64];
    path_in_dir("peak.svg", path, sizeof path);
    read_file(path, head, sizeof head);
    assert_non_null(strstr(head, "<?xml"));
    int segments = longest_svg_path("peak.svg");
    if (segments < 500)
        fail_msg("the longest path of the plot has %d segments; the curve should have 511", segments);
    assert_int_equal(run("fit 'y = a + b*x + c*x^2' peak.csv --plot peak.pdf"), 0);
    path_in_dir("peak.pdf", path, sizeof path);
    read_file(path, head, sizeof head);
    assert_memory_equal(head, "%PDF-", 5);

    /* a left side: the response is what the formula says (log y) */
    assert_int_equal(run("fit 'log(y) = a - k*x' decay.csv --plot log.png --json"), 0);
    cJSON *root = cJSON_Parse(out_text); /* --json: stdout holds the object alone */
    assert_non_null(root);
    cJSON_Delete(root);
    check_png("log.png", &blue, &vermillion);
    assert_true(blue > 50 && vermillion > 200);
    /* weighted: the residuals are divided by sigma */
    assert_int_equal(run("fit 'y = a*exp(-k*x)' decay.csv --sigma s --init a=2 --plot sigma.png"), 0);
    check_png("sigma.png", &blue, &vermillion);

    /* two input columns: observed against fitted values, residuals against fitted */
    assert_int_equal(run("fit 'y = a + b*x1 + c*x2' multi.csv --plot multi.png"), 0);
    check_png("multi.png", &blue, &vermillion);
    assert_true(blue > 50);
    assert_true(vermillion > 200); /* the line where observed = fitted */

    /* bad cases */
    expect_failure("fit 'y = a*exp(-k*x)' decay.csv --plot fit.txt", 2, "cannot tell the image format of 'fit.txt'");
    expect_failure("fit 'y = a*exp(-k*x)' decay.csv --plot fit", 2, "use .png, .svg or .pdf");
    expect_failure("fit 'y = a*exp(-k*x)' decay.csv --plot", 2, "option '--plot' needs a value");
    /* a plot that cannot be written fails the job, after the result is shown */
    expect_failure("fit 'y = a*exp(-k*x)' decay.csv --plot no/such/dir/fit.png", 1, "no/such/dir");
    expect_out("sum of squares");
}

/* ---- gradient methods -------------------------------------------------------------------- */

/* The sum of squares of the tutorial's start (1, 2, 3) on tutorial 1's quadratic. */
static double quad_start_sse(void)
{
    double sse = 0;
    for (int i = 0; i < 100; i++) {
        double x = i / 100.0, r = (x * x + 2 * x + 3) - (2 * x * x + 3 * x + 4);
        sse += r * r;
    }
    return sse;
}

static cJSON *run_json(const char *args)
{
    int status = run(args);
    if (status != 0)
        fail_msg("nabla %s: exit %d; stderr: %s", args, status, err_text);
    cJSON *root = cJSON_Parse(out_text);
    if (!root)
        fail_msg("nabla %s: not JSON:\n%s", args, out_text);
    return root;
}

static double json_number(const cJSON *object, const char *a, const char *b)
{
    const cJSON *item = cJSON_GetObjectItem(object, a);
    if (b)
        item = cJSON_GetObjectItem(item, b);
    if (!cJSON_IsNumber(item))
        fail_msg("no number at %s%s%s", a, b ? "." : "", b ? b : "");
    return item->valuedouble;
}

#define QUAD "fit 'y = w1*x^2 + w2*x + w3' quad.csv --init w1=1,w2=2,w3=3"

static void test_gradient_methods(void **state)
{
    (void)state;
    double start = quad_start_sse();

    /* L-BFGS on all points recovers the coefficients as the solver does */
    cJSON *root = run_json(QUAD " --method lbfgs --json");
    assert_string_equal(cJSON_GetStringValue(cJSON_GetObjectItem(root, "method")), "lbfgs");
    assert_close(json_number(root, "params", "w1"), 2, 1e-6);
    assert_close(json_number(root, "params", "w2"), 3, 1e-6);
    assert_close(json_number(root, "params", "w3"), 4, 1e-6);
    /* its line search stalls there, which alone proves nothing: the solver's comparison does */
    assert_false(cJSON_IsTrue(cJSON_GetObjectItem(root, "converged")));
    assert_true(cJSON_IsTrue(cJSON_GetObjectItem(root, "reached_optimum")));
    assert_close(json_number(root, "gradient", "batch"), 100, 0);
    assert_true(json_number(root, "solver", "sse") < 1e-20);
    cJSON_Delete(root);

    /* the tutorial's way: per-sample SGD, lr 0.1, 500 epochs: roughly there */
    root = run_json(QUAD " --method sgd --lr 0.1 --batch 1 --epochs 500 --json");
    for (int j = 0; j < 3; j++) {
        const char *names[3] = {"w1", "w2", "w3"};
        assert_close(json_number(root, "params", names[j]), 2 + j, 0.1);
    }
    assert_true(json_number(root, "sse", NULL) < 1e-3 * start);
    assert_close(json_number(root, "iterations", NULL), 50000, 0); /* one update per point and epoch */
    assert_close(json_number(root, "gradient", "epochs"), 500, 0);
    assert_close(json_number(root, "gradient", "lr"), 0.1, 0);
    assert_false(cJSON_IsTrue(cJSON_GetObjectItem(root, "converged"))); /* it stops on its budget */
    cJSON_Delete(root);

    /* Adam with its defaults: the sum of squares falls by orders of magnitude, but it
     * does not reach the optimum, and says so */
    root = run_json(QUAD " --method adam --json");
    double sse = json_number(root, "sse", NULL);
    if (!(sse < 1e-4 * start))
        fail_msg("adam: sum of squares %g from %g at the start", sse, start);
    assert_close(json_number(root, "evaluations", NULL), 1000 * 4, 0); /* 1000 epochs of 4 batches of up to 32 */
    assert_true(cJSON_IsFalse(cJSON_GetObjectItem(root, "reached_optimum")));
    assert_true(isfinite(json_number(root, "stderr", "w1")));
    assert_true(json_number(root, "stderr", "w1") > 0);
    cJSON_Delete(root);
    assert_int_equal(run(QUAD " --method adam"), 0);
    expect_out("Adam, a gradient method: learning rate 0.01, batches of 32");
    expect_out("the linear least-squares solve on the same data: sum of squares");
    expect_out("adam did NOT reach the least-squares optimum");
    assert_int_equal(run(QUAD " --method lbfgs --plot lbfgs.png"), 0);
    expect_out("lbfgs reached the least-squares optimum");
    int blue, vermillion;
    check_png("lbfgs.png", &blue, &vermillion);

    /* a learning rate far too large: the loss overflows, and the message says what to do */
    expect_failure(QUAD " --method sgd --lr 1000", 1, "sgd diverged at epoch ");
    expect_err("try a smaller learning rate");

    /* bad combinations */
    expect_failure(QUAD " --lr 0.1", 2, "--lr applies to the gradient methods (--method sgd, adam or lbfgs)");
    expect_failure(QUAD " --method lm --lr 0.1", 2, "not to lm");
    expect_failure(QUAD " --method linear --epochs 5", 2, "--epochs applies to the gradient methods");
    expect_failure(QUAD " --method sgd --batch 0", 2, "--batch: expected a whole number from 1");
    expect_failure(QUAD " --method adam --batch 3x", 2, "--batch: expected a whole number from 1");
    expect_failure(QUAD " --method sgd --epochs 0", 2, "--epochs: expected a whole number from 1");
    expect_failure(QUAD " --method sgd --lr -1", 2, "--lr: expected a positive number, got '-1'");
    expect_failure(QUAD " --method sgd --lr fast", 2, "--lr: expected a positive number");
    expect_failure(QUAD " --method lbfgs --batch 10", 2, "lbfgs takes all points at once");
    expect_failure(QUAD " --method lbfgs --seed 3", 2, "--seed: lbfgs takes all points at once");
    expect_failure(QUAD " --method adam --max-evals 5", 2, "--max-evals is the budget of lm");
    expect_failure(QUAD " --method sgd --seed -2", 2, "--seed: expected a whole number >= 0");
    expect_failure(QUAD " --method sgd --seed 18446744073709551616", 2, "--seed: expected a whole number >= 0");
    expect_failure(QUAD " --method sgd --epochs 2.7", 2, "--epochs: expected a whole number from 1 to 100000000");
    expect_failure(QUAD " --method sgd --epochs 3e9", 2, "--epochs: expected a whole number from 1 to 100000000");
    expect_failure(QUAD " --method sgd --epochs ' 5'", 2, "--epochs: expected a whole number");
    expect_failure(QUAD " --method sgd --lr 1e999", 2, "--lr: expected a positive number, got '1e999'");
    expect_failure(QUAD " --method gd", 2, "unknown method 'gd' (lm, linear, sgd, adam or lbfgs)");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_help),   cmocka_unit_test(test_table),          cmocka_unit_test(test_json),
        cmocka_unit_test(test_inputs), cmocka_unit_test(test_linear_formula), cmocka_unit_test(test_bad_inputs),
        cmocka_unit_test(test_plot),   cmocka_unit_test(test_gradient_methods),
    };
    return cmocka_run_group_tests(tests, setup, nb_test_remove_dir);
}
