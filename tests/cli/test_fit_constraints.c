/* `nabla fit` --fix, --via, --bounds, --loss, --f-scale and --starts through the built
 * program: what the output shows, the same numbers for the same seed, and exit 2 with a
 * clear message for each bad input. */
#include "nb_test.h"
#include "cli_run.h"

#include <unistd.h>

/* y = 3 exp(-1.3 t) - 0.65 with a wiggle; two outliers in out.csv. */
static int setup(void **state)
{
    if (nb_test_make_dir(state) != 0)
        return -1;
    char path[128];
    snprintf(path, sizeof path, "%s/decay.csv", nb_test_dir());
    FILE *clean = fopen(path, "w");
    snprintf(path, sizeof path, "%s/out.csv", nb_test_dir());
    FILE *outliers = fopen(path, "w");
    if (!clean || !outliers)
        return -1;
    fputs("t,y\n", clean);
    fputs("t,y\n", outliers);
    for (int i = 0; i < 30; i++) {
        double t = 0.15 * i, y = 3 * exp(-1.3 * t) - 0.65 + 0.01 * sin(5.0 * i);
        fprintf(clean, "%.17g,%.17g\n", t, y);
        fprintf(outliers, "%.17g,%.17g\n", t, y + (i % 11 == 3 ? 2 : 0));
    }
    fclose(clean);
    fclose(outliers);
    return 0;
}

static double json_number(const char *object, const char *key)
{
    cJSON *root = cJSON_Parse(out_text);
    assert_non_null(root);
    cJSON *item = object ? cJSON_GetObjectItem(cJSON_GetObjectItem(root, object), key) : cJSON_GetObjectItem(root, key);
    assert_non_null(item);
    double value = cJSON_GetNumberValue(item);
    cJSON_Delete(root);
    return value;
}

#define DECAY "fit 'y = a*exp(-k*t) + c' decay.csv "

static void test_fix_via(void **state)
{
    (void)state;
    assert_int_equal(run(DECAY "--fix c=-0.65"), 0);
    expect_out("-0.65           nan  [nan, nan]  fixed");
    char fixed[sizeof out_text];
    memcpy(fixed, out_text, sizeof fixed);
    /* via a,k with c's start at -0.65: the same fit, and "c" fixed */
    assert_int_equal(run(DECAY "--via a,k --init c=-0.65"), 0);
    expect_out("fixed");
    assert_string_equal(strstr(out_text, "parameter"), strstr(fixed, "parameter"));
    assert_int_equal(run(DECAY "--fix c=-0.65 --json"), 0);
    expect_out("\"fixed\":[\"c\"]");
    /* a name alone is fixed at its --init value */
    assert_int_equal(run(DECAY "--fix c --init c=-0.65"), 0);
    assert_string_equal(strstr(out_text, "parameter"), strstr(fixed, "parameter"));
}

static void test_bounds(void **state)
{
    (void)state;
    /* c >= 0 is active at the optimum (c is -0.65 without it) */
    assert_int_equal(run(DECAY "--bounds 'c>=0, 0<a<=10'"), 0);
    expect_out("at lower bound");
    expect_out("note: c ended at its lower bound");
    assert_int_equal(run(DECAY "--bounds 'k<1' --json"), 0);
    expect_out("\"at_bound\":{\"k\":\"upper\"}");
    assert_true(json_number("params", "k") == 1);
    /* a start outside the bounds moves onto the nearest bound, and the output says so */
    assert_int_equal(run(DECAY "--bounds '2<=k<=4' --init k=9"), 0);
    expect_out("note: the start value of k lay outside its bounds");
    /* two-sided bounds the optimum keeps clear of: the same estimates as without */
    assert_int_equal(run(DECAY "--json"), 0);
    double k = json_number("params", "k");
    assert_int_equal(run(DECAY "--bounds '0<=k<=5, -10<=c<=10' --json"), 0);
    assert_close(json_number("params", "k"), k, 1e-7);
}

static void test_loss(void **state)
{
    (void)state;
    assert_int_equal(run("fit 'y = a*exp(-k*t) + c' out.csv --json"), 0);
    double k_linear = json_number("params", "k");
    assert_int_equal(run("fit 'y = a*exp(-k*t) + c' out.csv --loss soft_l1 --f-scale 0.05 --json"), 0);
    double k_robust = json_number("params", "k");
    assert_true(fabs(k_robust - 1.3) < 0.02);
    assert_true(fabs(k_linear - 1.3) > fabs(k_robust - 1.3));
    expect_out("\"loss\":\"soft_l1\"");
    assert_int_equal(run("fit 'y = a*exp(-k*t) + c' out.csv --loss cauchy --f-scale 0.05"), 0);
    expect_out("loss                cauchy: robust cost");
}

static void test_starts(void **state)
{
    (void)state;
    assert_int_equal(run(DECAY "--starts 5 --seed 3 --json"), 0);
    char first[sizeof out_text];
    memcpy(first, out_text, sizeof first);
    assert_int_equal(json_number(NULL, "starts"), 5);
    assert_int_equal(run(DECAY "--starts 5 --seed 3 --json"), 0);
    assert_string_equal(out_text, first);
    assert_int_equal(run(DECAY "--starts 5"), 0);
    expect_out("of 5 starts reached the best cost");
}

static void expect_usage_error(const char *args, const char *needle)
{
    int status = run(args);
    if (status != 2)
        fail_msg("nabla %s: exit %d, expected 2; stderr: %s", args, status, err_text);
    if (!strstr(err_text, needle))
        fail_msg("nabla %s: stderr lacks '%s':\n%s", args, needle, err_text);
}

static void test_bad_input(void **state)
{
    (void)state;
    expect_usage_error(DECAY "--bounds '5<=k<=1'", "the lower bound of 'k' (5) is above its upper bound (1)");
    expect_usage_error(DECAY "--bounds 'q>0'",
                       "--bounds: 'q' is not a parameter of the formula (its parameters: a, k, c)");
    expect_usage_error(DECAY "--bounds 't>0'", "'t' is not a parameter");
    expect_usage_error(DECAY "--fix q=1", "--fix: 'q' is not a parameter");
    expect_usage_error(DECAY "--via a,zz", "--via: 'zz' is not a parameter");
    expect_usage_error(DECAY "--fix a=1,k=1,c=0", "every parameter is fixed");
    expect_usage_error(DECAY "--via a --fix a=2", "every parameter is fixed");
    expect_usage_error(DECAY "--bounds 'k'", "--bounds: cannot read 'k'");
    expect_usage_error(DECAY "--bounds '1<k>0'", "--bounds: cannot read");
    expect_usage_error(DECAY "--fix c=x", "--fix: 'c=x' is not NAME=NUMBER");
    expect_usage_error(DECAY "--loss l2", "--loss: unknown loss 'l2'");
    expect_usage_error(DECAY "--f-scale 0", "--f-scale");
    expect_usage_error(DECAY "--starts 0", "--starts");
    expect_usage_error(DECAY "--method lbfgs --fix c=1", "not for the gradient methods");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_fix_via), cmocka_unit_test(test_bounds),    cmocka_unit_test(test_loss),
        cmocka_unit_test(test_starts),  cmocka_unit_test(test_bad_input),
    };
    return cmocka_run_group_tests(tests, setup, nb_test_remove_dir);
}
