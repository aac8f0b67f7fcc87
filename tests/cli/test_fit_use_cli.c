/* Using a fit from the command line: nabla fit's JSON statistics and residuals, --save
 * and nabla eval (with its bad inputs), the confidence band of --plot, and many fits at
 * once with --by and --by-file (with failing groups). */
#include "nb_test.h"
#include "cli_run.h"

#include <cairo.h>
#include <unistd.h>

static int setup(void **state)
{
    if (nb_test_make_dir(state) != 0)
        return -1;
    write_file("decay.csv", "x,y\n0,2.51\n0.5,1.68\n1,1.12\n1.5,0.76\n2,0.50\n2.5,0.34\n3,0.23\n3.5,0.152\n");
    write_file("new.csv", "x\n1\n4\n");
    write_file("new_t.csv", "t\n1\n4\n");
    /* groups: two decays, one of a single point, one not finite at the start */
    char text[4096];
    size_t used = (size_t)snprintf(text, sizeof text, "well,t,v\n");
    for (int i = 0; i < 10; i++)
        for (int w = 1; w <= 2; w++)
            used += (size_t)snprintf(text + used, sizeof text - used, "%d,%g,%.6f\n", w, 0.3 * i,
                                     (w == 1 ? 2 : 5) * exp(-(w == 1 ? 1.2 : 0.4) * 0.3 * i) + 0.01 * sin(5.0 * i + w));
    snprintf(text + used, sizeof text - used, "3,1,2\n4,-1e6,1\n4,-2e6,1\n4,-3e6,1\n");
    write_file("wells.csv", text);
    write_file("one.csv", "t,v\n0,2\n1,0.74\n2,0.27\n3,0.1\n");
    write_file("header_only.csv", "t,v\n");
    write_file("good.csv", "g,t,v\n1,0,2\n1,1,0.74\n1,2,0.27\n2,0,3\n2,1,1.5\n2,2,0.76\n");
    return 0;
}

static cJSON *parse_out(void)
{
    cJSON *root = cJSON_Parse(out_text);
    if (!root)
        fail_msg("stdout is not JSON:\n%s", out_text);
    return root;
}

static void test_json_statistics(void **state)
{
    (void)state;
    assert_int_equal(run("fit 'log(y) = log(a) - k*x' decay.csv --json --residuals"), 0);
    cJSON *root = parse_out();
    /* formula order: a before k because the formula names it first */
    assert_string_equal(cJSON_GetObjectItem(root, "params")->child->string, "a");
    assert_string_equal(cJSON_GetObjectItem(root, "r_squared_of")->valuestring, "log(y)");
    cJSON *cov = cJSON_GetObjectItem(root, "covariance"), *corr = cJSON_GetObjectItem(root, "correlation");
    assert_int_equal(cJSON_GetArraySize(cov), 2);
    double se_a = cJSON_GetObjectItem(cJSON_GetObjectItem(root, "stderr"), "a")->valuedouble;
    assert_close(cJSON_GetArrayItem(cJSON_GetArrayItem(cov, 0), 0)->valuedouble, se_a * se_a, 1e-12);
    assert_close(cJSON_GetArrayItem(cJSON_GetArrayItem(corr, 1), 1)->valuedouble, 1, 1e-12);
    double ll = cJSON_GetObjectItem(root, "log_likelihood")->valuedouble;
    assert_close(cJSON_GetObjectItem(root, "aic")->valuedouble, 6 - 2 * ll, 1e-9);
    assert_close(cJSON_GetObjectItem(root, "bic")->valuedouble, 3 * log(8) - 2 * ll, 1e-9);
    assert_non_null(cJSON_GetObjectItem(root, "aicc"));
    cJSON *points = cJSON_GetObjectItem(root, "points");
    cJSON *response = cJSON_GetObjectItem(points, "response"), *fitted = cJSON_GetObjectItem(points, "fitted");
    cJSON *residuals = cJSON_GetObjectItem(points, "residuals");
    assert_int_equal(cJSON_GetArraySize(residuals), 8);
    assert_close(cJSON_GetArrayItem(response, 0)->valuedouble, log(2.51), 1e-12); /* the left side's scale */
    for (int i = 0; i < 8; i++)
        assert_close(cJSON_GetArrayItem(fitted, i)->valuedouble + cJSON_GetArrayItem(residuals, i)->valuedouble,
                     cJSON_GetArrayItem(response, i)->valuedouble, 1e-12);
    cJSON_Delete(root);
    assert_int_equal(run("fit 'log(y) = log(a) - k*x' decay.csv"), 0);
    expect_out("(of log(y), the left side)");
    expect_out("log-likelihood");
    /* AICc divides by n - k - 1: 4 points, 2 parameters and the variance leave 0 */
    assert_int_equal(run("fit 'v = a + b*t' one.csv"), 0);
    expect_out("AICc undefined: too few points");
    assert_int_equal(run("fit 'v = a + b*t' one.csv --json"), 0);
    root = parse_out();
    assert_true(cJSON_IsNull(cJSON_GetObjectItem(root, "aicc")));
    cJSON_Delete(root);
}

static void test_save_and_eval(void **state)
{
    (void)state;
    assert_int_equal(run("fit 'y = a*exp(-k*x)' decay.csv --init a=2 --save fit.json --json"), 0);
    cJSON *root = parse_out();
    double a = cJSON_GetObjectItem(cJSON_GetObjectItem(root, "params"), "a")->valuedouble;
    double k = cJSON_GetObjectItem(cJSON_GetObjectItem(root, "params"), "k")->valuedouble;
    cJSON_Delete(root);
    assert_int_equal(run("eval fit.json --at x=1 --at x=4 --json"), 0);
    root = parse_out();
    cJSON *fitted = cJSON_GetObjectItem(root, "fitted");
    assert_close(cJSON_GetArrayItem(fitted, 0)->valuedouble, a * exp(-k), 1e-9);
    assert_close(cJSON_GetArrayItem(fitted, 1)->valuedouble, a * exp(-4 * k), 1e-9);
    double conf = cJSON_GetArrayItem(cJSON_GetObjectItem(root, "conf_high"), 0)->valuedouble;
    double pred = cJSON_GetArrayItem(cJSON_GetObjectItem(root, "pred_high"), 0)->valuedouble;
    assert_true(conf > a * exp(-k) && pred > conf);
    cJSON_Delete(root);
    /* a list: three points of x */
    assert_int_equal(run("eval fit.json --at x=0,1,4"), 0);
    expect_out("\n0,");
    expect_out("\n1,");
    expect_out("\n4,");
    assert_int_equal(run("eval fit.json new.csv --confidence 0.99"), 0);
    expect_out("x,fitted,se_fit,conf_low,conf_high,pred_low,pred_high\n1,");
    expect_out("\n4,");
}

static void test_eval_bad_input(void **state)
{
    (void)state;
    assert_int_equal(run("fit 'y = a*exp(-k*x)' decay.csv --init a=2 --save fit.json"), 0);
    assert_int_equal(run("eval missing.json new.csv"), 1);
    expect_err("missing.json");
    expect_err("nabla fit --save");
    write_file("corrupt.json", "{\"format\": \"nabla-fit\", \"ver");
    assert_int_equal(run("eval corrupt.json new.csv"), 1);
    expect_err("'corrupt.json' is not a usable fit file");
    write_file("future.json", "{\"format\": \"nabla-fit\", \"version\": 2}");
    assert_int_equal(run("eval future.json new.csv"), 1);
    expect_err("version 2");
    assert_int_equal(run("eval fit.json new_t.csv"), 1);
    expect_err("'new_t.csv' has no column 'x'");
    assert_int_equal(run("eval fit.json --at t=1"), 1);
    expect_err("the new points give no value of 'x'");
    assert_int_equal(run("eval fit.json"), 2);
    expect_err("expected FIT and either NEWDATA or --at");
    assert_int_equal(run("eval fit.json --at x=abc"), 2);
    expect_err("--at: expected NAME=NUMBER");
    assert_int_equal(run("eval fit.json --at x=1,2,t=3"), 2);
    expect_err("'t' has 1 value but 'x' has 2");
    assert_int_equal(run("eval --help"), 0);
    expect_out("usage: nabla eval FIT");
}

static void test_plot_band(void **state)
{
    (void)state;
    assert_int_equal(run("fit 'y = a*exp(-k*x)' decay.csv --init a=2 --plot band.png"), 0);
    char path[256];
    snprintf(path, sizeof path, "%s/band.png", nb_test_dir());
    cairo_surface_t *image = cairo_image_surface_create_from_png(path);
    assert_int_equal(cairo_surface_status(image), CAIRO_STATUS_SUCCESS);
    cairo_surface_destroy(image);
    /* the band follows the confidence level: only it differs between these two pictures */
    char narrow[1 << 16], wide[1 << 16];
    assert_int_equal(run("fit 'y = a*exp(-k*x)' decay.csv --init a=2 --confidence 0.5 --plot narrow.svg"), 0);
    assert_int_equal(run("fit 'y = a*exp(-k*x)' decay.csv --init a=2 --confidence 0.999 --plot wide.svg"), 0);
    snprintf(path, sizeof path, "%s/narrow.svg", nb_test_dir());
    read_file(path, narrow, sizeof narrow);
    snprintf(path, sizeof path, "%s/wide.svg", nb_test_dir());
    read_file(path, wide, sizeof wide);
    assert_true(strlen(narrow) > 1000);
    assert_true(strcmp(narrow, wide) != 0);
}

static void test_by(void **state)
{
    (void)state;
    assert_int_equal(run("fit 'v = a*exp(-k*t)' wells.csv --by well --init a=1,k=1"), 1);
    expect_out("well,a,k,se_a,se_k,sse,converged,iterations,n,error\n1,");
    expect_out("\n2,");
    expect_out("\n3,,,,,,false,0,1,\"1 data point cannot determine 2 parameters");
    expect_out("\n4,,,,,,false,0,3,");
    expect_err("2 of 4 groups failed or did not converge (their rows say why); the others were fitted");
    assert_int_equal(run("fit 'v = a*exp(-k*t)' wells.csv --by well --json"), 1);
    cJSON *root = parse_out();
    cJSON *groups = cJSON_GetObjectItem(root, "groups");
    assert_int_equal(cJSON_GetArraySize(groups), 4);
    cJSON *second = cJSON_GetArrayItem(groups, 1);
    assert_string_equal(cJSON_GetObjectItem(second, "group")->valuestring, "2");
    assert_close(cJSON_GetObjectItem(cJSON_GetObjectItem(second, "params"), "k")->valuedouble, 0.4, 0.02);
    assert_true(cJSON_IsTrue(cJSON_GetObjectItem(second, "converged")));
    assert_int_equal(cJSON_GetObjectItem(root, "n_failed")->valueint, 2);
    cJSON_Delete(root);
    /* all groups fine: exit 0 */
    assert_int_equal(run("fit 'v = a*exp(-k*t)' good.csv --by g"), 0);
    assert_int_equal(run("fit 'v = a*exp(-k*t)' wells.csv --by nothere"), 2);
    expect_err("nothere");
    assert_int_equal(run("fit 'v = a*exp(-k*t)' wells.csv --by well --plot x.png"), 2);
    expect_err("--by and --plot do not go together");

    /* wells named, not numbered; rows without a well left out and told */
    write_file("named.csv", "well,t,v\nB2,0,3\nA1,0,2\nA1,1,0.74\nB2,1,1.5\nA1,2,0.27\nB2,2,0.76\nNA,1,1\n,2,2\n");
    assert_int_equal(run("fit 'v = a*exp(-k*t)' named.csv --by well"), 0);
    expect_out("well,a,k,se_a,se_k,sse,converged,iterations,n,error\nB2,");
    expect_out("\nA1,");
    expect_err("note: named.csv: 2 rows with a missing value (empty, NA or NaN) in a column the fit reads left out");
    /* from standard input, which cannot be read twice: names and numbers alike */
    assert_int_equal(run_shell("$NABLA fit 'v = a*exp(-k*t)' - --by well < named.csv"), 0);
    expect_out("well,a,k,se_a,se_k,sse,converged,iterations,n,error\nB2,");
    assert_int_equal(run_shell("$NABLA fit 'v = a*exp(-k*t)' - --by well < wells.csv"), 1);
    expect_out("\n2,");
    /* a cell that is not a number elsewhere still stops the read, and says where */
    write_file("named_bad.csv", "well,t,v\nB2,0,3\nB2,1,x\n");
    assert_int_equal(run("fit 'v = a*exp(-k*t)' named_bad.csv --by well"), 1);
    expect_err("named_bad.csv:3: column 3 ('v'): 'x' is not a number");
}

static void test_by_file(void **state)
{
    (void)state;
    assert_int_equal(run("fit 'v = a*exp(-k*t)' one.csv header_only.csv gone.csv --by-file"), 1);
    expect_out("file,a,k,se_a,se_k,sse,converged,iterations,n,error\none.csv,");
    expect_out("\nheader_only.csv,");
    expect_out("\ngone.csv,,,,,,false,0,0,");
    expect_err("2 of 3 groups failed");
    assert_int_equal(run("fit 'v = a*exp(-k*t) + c + d*t + f*t^2' one.csv one.csv --by-file"), 1);
    expect_err("2 of 2 groups failed or did not converge (their rows say why)\n");
    assert_int_equal(run("fit 'v = a*exp(-k*t)' one.csv one.csv --by-file"), 0);
}

/* Results that cannot all be written (a full disk: /dev/full) are a failed run. */
static void test_output_not_written(void **state)
{
    (void)state;
    if (access("/dev/full", W_OK) != 0)
        skip(); /* no /dev/full here: nothing stands for a full disk */
    assert_int_equal(run_shell("( $NABLA fit 'v = a*exp(-k*t)' good.csv --by g >/dev/full )"), 1);
    expect_err("the output could not be written: No space left on device; what was written is incomplete");
    assert_int_equal(run_shell("( $NABLA fit 'v = a*exp(-k*t)' one.csv --json >/dev/full )"), 1);
    expect_err("could not be written");
    /* a failure keeps its own status */
    assert_int_equal(run_shell("( $NABLA fit 'v = a*exp(-k*t)' wells.csv --by well >/dev/full )"), 1);
    assert_int_equal(run_shell("( $NABLA fit 'v = a*exp(-k*t)' one.csv --bogus >/dev/full )"), 2);
    assert_int_equal(run_shell("( $NABLA fit 'v = a*exp(-k*t)' one.csv --json >/dev/null )"), 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_json_statistics), cmocka_unit_test(test_save_and_eval),
        cmocka_unit_test(test_eval_bad_input),  cmocka_unit_test(test_plot_band),
        cmocka_unit_test(test_by),              cmocka_unit_test(test_by_file),
        cmocka_unit_test(test_output_not_written),
    };
    return cmocka_run_group_tests(tests, setup, nb_test_remove_dir);
}
