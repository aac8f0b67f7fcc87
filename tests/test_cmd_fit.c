/* `nabla fit` as a user runs it: the built program, its output, its exit status, and its
 * messages for each bad input. */
#include "nb_test.h"

#include <cjson/cJSON.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

static char dir[64];
static char out_text[1 << 16], err_text[1 << 16];

static void read_file(const char *path, char *buf, size_t size)
{
    FILE *file = fopen(path, "r");
    size_t n = file ? fread(buf, 1, size - 1, file) : 0;
    buf[n] = '\0';
    if (file)
        fclose(file);
}

static void write_file(const char *name, const char *text)
{
    char path[256];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    FILE *file = fopen(path, "w");
    assert_non_null(file);
    fputs(text, file);
    fclose(file);
}

/* Run `nabla ARGS` in the temp folder (a shell command line); return its exit status. */
static int run(const char *args)
{
    char command[2048];
    snprintf(command, sizeof command, "cd %s && %s %s >out.txt 2>err.txt", dir, NB_CLI, args);
    int status = system(command);
    char path[256];
    snprintf(path, sizeof path, "%s/out.txt", dir);
    read_file(path, out_text, sizeof out_text);
    snprintf(path, sizeof path, "%s/err.txt", dir);
    read_file(path, err_text, sizeof err_text);
    return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

static void expect_out(const char *needle)
{
    if (!strstr(out_text, needle))
        fail_msg("stdout lacks '%s':\n%s\nstderr:\n%s", needle, out_text, err_text);
}

static void expect_err(const char *needle)
{
    if (!strstr(err_text, needle))
        fail_msg("stderr lacks '%s':\n%s", needle, err_text);
}

static int setup(void **state)
{
    (void)state;
    snprintf(dir, sizeof dir, "/tmp/nb_cmd_fit_XXXXXX");
    if (!mkdtemp(dir))
        return -1;
    /* y = 2.5 exp(-0.8 x), with a little scatter */
    write_file("decay.csv", "x,y,s\n0,2.51,0.1\n0.5,1.68,0.1\n1,1.12,0.05\n1.5,0.76,0.05\n2,0.50,0.02\n"
                            "2.5,0.34,0.02\n3,0.23,0.01\n3.5,0.152,0.01\n");
    write_file("decay.txt", "# no header, blanks\n0   2.51\n0.5 1.68\n1   1.12\n1.5 0.76\n2   0.50\n2.5 0.34\n"
                            "3   0.23\n3.5 0.152\n");
    write_file("decay.ssv", "t;v\n0;2.51\n0.5;1.68\n1;1.12\n1.5;0.76\n2;0.50\n2.5;0.34\n3;0.23\n3.5;0.152\n");
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    char command[128];
    snprintf(command, sizeof command, "rm -rf %s", dir);
    return system(command) == 0 ? 0 : -1;
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
    assert_int_equal(run("fit 'a*exp(-k*c1)' decay.ssv --no-header"), 1);
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
    expect_failure("fit 'y = a*x' decay.csv --init b=2", 1, "'b', which does not occur in the formula");
    expect_failure("fit 'y = a+b*x+c*x^2+d*x^3+f*x^4+g*x^5+h*x^6+i*x^7+j*x^8' decay.csv", 1,
                   "8 data points cannot determine 9 parameters");
    expect_failure("fit 'y = a*log(x - 1)' decay.csv", 1, "the model is not finite at the start values");
    expect_failure("fit 'y = a*b*exp(-x)' decay.csv", 1, "the Jacobian is singular");
    expect_failure("fit 'a*exp(-k*x)' decay.csv --y z", 1, "there is no column 'z' for the response");
    expect_failure("fit 'y = a*exp(-k*x)' decay.csv --sigma q", 1, "there is no column 'q' for the uncertainties");
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
    expect_failure("fit 'y = a*x' decay.csv --confidence 95", 2, "--confidence: expected a number between 0 and 1");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_help),   cmocka_unit_test(test_table),          cmocka_unit_test(test_json),
        cmocka_unit_test(test_inputs), cmocka_unit_test(test_linear_formula), cmocka_unit_test(test_bad_inputs),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
