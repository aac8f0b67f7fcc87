/* Least squares: Student's t, Levenberg–Marquardt and the linear path against closed
 * forms, weighted fits, both graph entry modes, and one test per bad input. */
#include "nb_test.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- Student's t against closed forms ------------------------------------------------- */

static void test_student_t(void **state)
{
    (void)state;
    const double ps[] = {0.6, 0.9, 0.975, 0.995, 0.9995};
    for (size_t k = 0; k < sizeof ps / sizeof ps[0]; k++) {
        double p = ps[k];
        /* one degree of freedom: Cauchy */
        assert_close(nb_student_t_quantile(p, 1), tan(M_PI * (p - 0.5)), 1e-12 * tan(M_PI * (p - 0.5)));
        /* two: t = (2p - 1) / sqrt(2 p (1 - p)) */
        double t2 = (2 * p - 1) / sqrt(2 * p * (1 - p));
        assert_close(nb_student_t_quantile(p, 2), t2, 1e-12 * t2);
    }
    /* many degrees of freedom: the normal quantile (t - z is about (z^3 + z) / (4 dof)) */
    assert_close(nb_student_t_quantile(0.975, 1e7), 1.959963984540054, 1e-6);
    assert_close(nb_student_t_quantile(0.025, 1), -tan(M_PI * 0.475), 1e-10);
    assert_close(nb_student_t_quantile(0.5, 7), 0, 0);
    assert_true(isnan(nb_student_t_quantile(1.0, 3)));
    assert_true(isnan(nb_student_t_quantile(0.9, 0)));
}

/* ---- helpers --------------------------------------------------------------------------- */

static nb_table *table(int n, const double *x, const double *y, const double *sigma)
{
    const char *names[3] = {"x", "y", "s"};
    const double *columns[3] = {x, y, sigma};
    nb_table *data = nb_table_from_columns(sigma ? 3 : 2, names, n, columns);
    assert_non_null(data);
    return data;
}

static nb_status fit(const char *formula, const nb_table *data, const char *init, const nb_fit_setup *base,
                     const nb_lsq_options *options, nb_lsq_result *result)
{
    /* init: "a=1,k=2" */
    const char *names[8];
    double values[8];
    char copy[128] = "", *save = NULL;
    int n = 0;
    if (init) {
        snprintf(copy, sizeof copy, "%s", init);
        for (char *item = strtok_r(copy, ",", &save); item; item = strtok_r(NULL, ",", &save)) {
            char *eq = strchr(item, '=');
            *eq = '\0';
            names[n] = item;
            values[n++] = atof(eq + 1);
        }
    }
    nb_fit_setup setup = base ? *base : (nb_fit_setup){0};
    setup.n_init = n;
    setup.init_names = names;
    setup.init_values = values;
    return nb_fit_formula(formula, data, &setup, options, result);
}

/* A straight line with scatter, and its least-squares solution by the textbook formulas. */
#define LINE_N 9
static const double line_x[LINE_N] = {0, 1, 2, 3, 4, 5, 6, 7, 8};
static const double line_y[LINE_N] = {1.1, 2.9, 5.2, 6.8, 9.1, 11.2, 12.7, 15.1, 17.0};

typedef struct ols {
    double slope, intercept, se_slope, se_intercept, sse, r2;
} ols;

static ols ols_by_formula(void)
{
    double mx = 0, my = 0;
    for (int i = 0; i < LINE_N; i++)
        mx += line_x[i] / LINE_N, my += line_y[i] / LINE_N;
    double sxx = 0, sxy = 0, syy = 0;
    for (int i = 0; i < LINE_N; i++) {
        sxx += (line_x[i] - mx) * (line_x[i] - mx);
        sxy += (line_x[i] - mx) * (line_y[i] - my);
        syy += (line_y[i] - my) * (line_y[i] - my);
    }
    ols o;
    o.slope = sxy / sxx;
    o.intercept = my - o.slope * mx;
    o.sse = 0;
    for (int i = 0; i < LINE_N; i++) {
        double r = line_y[i] - o.intercept - o.slope * line_x[i];
        o.sse += r * r;
    }
    double s2 = o.sse / (LINE_N - 2);
    o.se_slope = sqrt(s2 / sxx);
    o.se_intercept = sqrt(s2 * (1.0 / LINE_N + mx * mx / sxx));
    o.r2 = 1 - o.sse / syy;
    return o;
}

/* ---- fits against closed forms ----------------------------------------------------------- */

static void check_line(const nb_lsq_result *r)
{
    ols o = ols_by_formula();
    /* parameters in natural order: a (slope), b (intercept) */
    assert_close(r->params[0], o.slope, 1e-12);
    assert_close(r->params[1], o.intercept, 1e-12);
    assert_close(r->std_error[0], o.se_slope, 1e-12);
    assert_close(r->std_error[1], o.se_intercept, 1e-12);
    assert_close(r->sse, o.sse, 1e-12);
    assert_close(r->r_squared, o.r2, 1e-12);
    assert_int_equal(r->dof, LINE_N - 2);
    double t = nb_student_t_quantile(0.975, LINE_N - 2);
    assert_close(r->ci_low[0], o.slope - t * o.se_slope, 1e-12);
    assert_close(r->ci_high[1], o.intercept + t * o.se_intercept, 1e-12);
    assert_true(r->converged);
}

static void test_line_linear_and_lm(void **state)
{
    (void)state;
    nb_table *data = table(LINE_N, line_x, line_y, NULL);
    nb_lsq_result r;
    assert_int_equal(fit("a*x + b", data, NULL, NULL, NULL, &r), NB_OK);
    assert_int_equal(r.method, NB_LSQ_LINEAR);
    assert_int_equal(r.stop, NB_LSQ_STOP_LINEAR);
    check_line(&r);
    nb_lsq_result_clear(&r);

    nb_lsq_options lm = nb_lsq_defaults();
    lm.method = NB_LSQ_LM;
    assert_int_equal(fit("y = a*x + b", data, "a=-3", NULL, &lm, &r), NB_OK);
    assert_int_equal(r.method, NB_LSQ_LM);
    check_line(&r);
    assert_false(r.defaulted[0]);
    assert_true(r.defaulted[1]);
    assert_true(r.n_jacobians >= 1 && r.n_evals >= r.n_jacobians);
    nb_lsq_result_clear(&r);
    nb_table_free(data);
}

/* Exact data: the parameters come back to the last digits. */
static void test_exact_exponential(void **state)
{
    (void)state;
    double x[10], y[10];
    for (int i = 0; i < 10; i++) {
        x[i] = i;
        y[i] = 3 * exp(-0.5 * x[i]);
    }
    nb_table *data = table(10, x, y, NULL);
    nb_lsq_result r;
    assert_int_equal(fit("y = a*exp(-k*x)", data, NULL, NULL, NULL, &r), NB_OK);
    assert_close(r.params[0], 3, 1e-13);
    assert_close(r.params[1], 0.5, 1e-13);
    assert_true(r.sse < 1e-26);
    assert_true(r.converged);
    nb_lsq_result_clear(&r);
    nb_table_free(data);
}

/* A cubic through exact points: the linear path recovers it. */
static void test_linear_polynomial(void **state)
{
    (void)state;
    double x[12], y[12];
    for (int i = 0; i < 12; i++) {
        x[i] = -3 + 0.5 * i;
        y[i] = 1 - 2 * x[i] + 0.5 * x[i] * x[i] + 0.25 * x[i] * x[i] * x[i];
    }
    nb_table *data = table(12, x, y, NULL);
    nb_lsq_result r;
    assert_int_equal(fit("y = c0 + c1*x + c2*x^2 + c3*x**3", data, NULL, NULL, NULL, &r), NB_OK);
    assert_int_equal(r.method, NB_LSQ_LINEAR);
    assert_close(r.params[0], 1, 1e-14);
    assert_close(r.params[1], -2, 1e-14);
    assert_close(r.params[2], 0.5, 1e-14);
    assert_close(r.params[3], 0.25, 1e-14);
    nb_lsq_result_clear(&r);
    nb_table_free(data);
}

/* y = c with uncertainties: the weighted mean, and its standard error either way. */
static void test_weighted_mean(void **state)
{
    (void)state;
    double x[4] = {0, 1, 2, 3}, y[4] = {10.2, 9.7, 10.9, 10.1}, s[4] = {0.5, 0.2, 1.0, 0.4};
    double sw = 0, swy = 0;
    for (int i = 0; i < 4; i++)
        sw += 1 / (s[i] * s[i]), swy += y[i] / (s[i] * s[i]);
    double mean = swy / sw, chi2 = 0;
    for (int i = 0; i < 4; i++)
        chi2 += (y[i] - mean) * (y[i] - mean) / (s[i] * s[i]);
    nb_table *data = table(4, x, y, s);
    nb_fit_setup setup = {.sigma = "s"};
    nb_lsq_options options = nb_lsq_defaults();
    nb_lsq_result r;
    for (int absolute = 0; absolute < 2; absolute++) {
        for (int method = NB_LSQ_LM; method <= NB_LSQ_LINEAR; method++) {
            options.absolute_sigma = absolute;
            options.method = (nb_lsq_method)method;
            assert_int_equal(fit("y = c + 0*x", data, NULL, &setup, &options, &r), NB_OK);
            assert_close(r.params[0], mean, 1e-12);
            assert_close(r.sse, chi2, 1e-12);
            double se = absolute ? 1 / sqrt(sw) : sqrt(chi2 / 3 / sw);
            assert_close(r.std_error[0], se, 1e-12);
            nb_lsq_result_clear(&r);
        }
    }
    nb_table_free(data);
}

/* The first Gauss-Newton step lands where sqrt is NaN: rejected, not fatal. */
static void test_non_finite_trial_is_rejected(void **state)
{
    (void)state;
    double x[3] = {1, 2, 3}, y[3] = {0.1, 0.1, 0.1};
    nb_table *data = table(3, x, y, NULL);
    nb_lsq_result r;
    assert_int_equal(fit("y = sqrt(p)", data, NULL, NULL, NULL, &r), NB_OK);
    assert_close(r.params[0], 0.01, 1e-14);
    assert_true(r.converged);
    assert_true(r.n_evals > r.n_jacobians); /* the rejected NaN trial among them */
    nb_lsq_result_clear(&r);
    nb_table_free(data);
}

static void test_max_evals(void **state)
{
    (void)state;
    double x[10], y[10];
    for (int i = 0; i < 10; i++)
        x[i] = i, y[i] = 5 * exp(-0.3 * i) + 0.01 * (i % 3);
    nb_table *data = table(10, x, y, NULL);
    nb_lsq_options options = nb_lsq_defaults();
    options.max_evals = 3;
    nb_lsq_result r;
    assert_int_equal(fit("y = a*exp(-k*x)", data, "k=3", NULL, &options, &r), NB_OK);
    assert_false(r.converged);
    assert_int_equal(r.stop, NB_LSQ_STOP_MAX_EVALS);
    assert_true(r.n_evals <= 4);
    nb_lsq_result_clear(&r);
    nb_table_free(data);
}

/* ---- a graph built by hand: both ways of holding the parameters ------------------------- */

#define EXP_N 12
static void exp_data(double *x, double *y)
{
    for (int i = 0; i < EXP_N; i++) {
        x[i] = 0.5 * i;
        y[i] = 2.5 * exp(-0.8 * x[i]) + 0.02 * sin(7.0 * i);
    }
}

/* residual = a * exp(-k x) - y, with a and k as scalar parameters (pointwise == false)
 * or as inputs of shape [n] (pointwise == true). */
static void fit_exp_graph(bool pointwise, nb_lsq_result *r)
{
    double x[EXP_N], y[EXP_N];
    exp_data(x, y);
    nb_graph *g = nb_graph_new(NB_F64);
    int64_t shape[1] = {EXP_N};
    nb_node *xs = nb_const(g, 1, shape, x), *ys = nb_const(g, 1, shape, y);
    nb_node *a, *k;
    if (pointwise) {
        a = nb_input(g, "a", 1, shape);
        k = nb_input(g, "k", 1, shape);
        nb_set_requires_grad(a, true);
        nb_set_requires_grad(k, true);
    } else {
        a = nb_param(g, "a", 0, NULL);
        k = nb_param(g, "k", 0, NULL);
    }
    nb_node *residual = nb_sub(nb_mul(a, nb_exp(nb_neg(nb_mul(k, xs)))), ys);
    nb_node *params[2] = {a, k};
    double start[2] = {1, 1};
    assert_int_equal(nb_lsq_fit_graph(residual, 2, params, start, NULL, NULL, r), NB_OK);
    nb_graph_free(g);
}

static void test_graph_both_modes(void **state)
{
    (void)state;
    nb_lsq_result general, pointwise;
    fit_exp_graph(false, &general);
    fit_exp_graph(true, &pointwise);
    assert_string_equal(general.names[0], "a");
    assert_string_equal(pointwise.names[1], "k");
    for (int j = 0; j < 2; j++) {
        assert_close(pointwise.params[j], general.params[j], 1e-12 * fabs(general.params[j]));
        assert_close(pointwise.std_error[j], general.std_error[j], 1e-9 * general.std_error[j]);
    }
    assert_close(general.params[0], 2.5, 0.05);
    assert_close(general.params[1], 0.8, 0.05);
    /* the same fit through a formula */
    double x[EXP_N], y[EXP_N];
    exp_data(x, y);
    nb_table *data = table(EXP_N, x, y, NULL);
    nb_lsq_result formula;
    assert_int_equal(fit("a*exp(-k*x)", data, NULL, NULL, NULL, &formula), NB_OK);
    for (int j = 0; j < 2; j++)
        assert_close(formula.params[j], general.params[j], 1e-12 * fabs(general.params[j]));
    assert_true(isnan(general.r_squared)); /* a graph's residuals carry no response */
    nb_lsq_result_clear(&general);
    nb_lsq_result_clear(&pointwise);
    nb_lsq_result_clear(&formula);
    nb_table_free(data);
}

/* A tensor parameter: w [2, 1] in X · w, one backward pass per residual. */
static void test_graph_tensor_param(void **state)
{
    (void)state;
    double design[LINE_N * 2];
    for (int i = 0; i < LINE_N; i++) {
        design[2 * i] = line_x[i];
        design[2 * i + 1] = 1;
    }
    nb_graph *g = nb_graph_new(NB_F64);
    nb_node *X = nb_const(g, 2, (int64_t[]){LINE_N, 2}, design);
    nb_node *y = nb_const(g, 1, (int64_t[]){LINE_N}, line_y);
    nb_node *w = nb_param(g, "w", 2, (int64_t[]){2, 1});
    nb_node *residual = nb_sub(nb_reshape(nb_matmul(X, w, false, false), 1, (int64_t[]){LINE_N}), y);
    double start[2] = {0, 0};
    nb_lsq_result r;
    assert_int_equal(nb_lsq_fit_graph(residual, 1, &w, start, NULL, NULL, &r), NB_OK);
    ols o = ols_by_formula();
    assert_string_equal(r.names[0], "w[0]");
    assert_string_equal(r.names[1], "w[1]");
    assert_close(r.params[0], o.slope, 1e-12);
    assert_close(r.params[1], o.intercept, 1e-12);
    assert_close(r.std_error[0], o.se_slope, 1e-12);
    nb_lsq_result_clear(&r);

    /* the linear path on the same graph */
    nb_lsq_options options = nb_lsq_defaults();
    options.method = NB_LSQ_LINEAR;
    assert_int_equal(nb_lsq_fit_graph(residual, 1, &w, start, NULL, &options, &r), NB_OK);
    assert_close(r.params[0], o.slope, 1e-13);
    assert_close(r.params[1], o.intercept, 1e-13);
    nb_lsq_result_clear(&r);
    nb_graph_free(g);
}

/* ---- bad input: each its own message --------------------------------------------------- */

static void expect_fit_error(const char *formula, const nb_table *data, const char *init,
                             const nb_fit_setup *setup, nb_status status, const char *needle)
{
    nb_lsq_result r;
    nb_clear_error();
    nb_status got = fit(formula, data, init, setup, NULL, &r);
    if (got == NB_OK)
        fail_msg("'%s' fitted, but should fail with '%s'", formula, needle);
    assert_int_equal(got, status);
    if (!strstr(nb_errmsg(), needle))
        fail_msg("'%s': message '%s' lacks '%s'", formula, nb_errmsg(), needle);
    assert_null(r.params); /* nothing to free */
}

/* The response and the uncertainties are columns found by the table's one lookup: a
 * name, "2" or "$2"; a table without names calls its three columns c1, c2, c3. */
static void test_columns_by_name_or_number(void **state)
{
    (void)state;
    double x[5] = {0, 1, 2, 3, 4}, y[5] = {1, 3.2, 4.9, 7.5, 8.8}, s[5] = {1, 1, 0.5, 2, 1};
    nb_table *named = table(5, x, y, s);
    nb_table *unnamed = nb_table_from_columns(3, NULL, 5, (const double *const[]){x, y, s});
    assert_non_null(unnamed);
    nb_fit_setup by_name = {.sigma = "s"};
    nb_lsq_result ref, r;
    assert_int_equal(fit("a*x + b", named, NULL, &by_name, NULL, &ref), NB_OK);
    const char *specs[][2] = {{"$2", "$3"}, {"2", "3"}, {"c2", "c3"}};
    for (int i = 0; i < 3; i++) {
        nb_fit_setup setup = {.response = specs[i][0], .sigma = specs[i][1]};
        assert_int_equal(fit("a*c1 + b", unnamed, NULL, &setup, NULL, &r), NB_OK);
        assert_close(r.params[0], ref.params[0], 1e-12);
        assert_close(r.params[1], ref.params[1], 1e-12);
        nb_lsq_result_clear(&r);
    }
    nb_fit_setup numbered = {.response = "$2", .sigma = "3"};
    assert_int_equal(fit("a*x + b", named, NULL, &numbered, NULL, &r), NB_OK);
    assert_close(r.sse, ref.sse, 1e-12);
    nb_lsq_result_clear(&r);
    nb_fit_setup missing = {.response = "$4"};
    expect_fit_error("a*c1 + b", unnamed, NULL, &missing, NB_EARG,
                     "the response column: <arrays>: no column $4 (there are 3 columns: c1, c2, c3)");
    nb_lsq_result_clear(&ref);
    nb_table_free(named);
    nb_table_free(unnamed);
}

static void test_bad_inputs(void **state)
{
    (void)state;
    double x[4] = {-1, 0.5, 2, 3}, y[4] = {1, 2, 3, 4.5}, s[4] = {1, 1, 0, 1};
    nb_table *data = table(4, x, y, s);
    expect_fit_error("y = a*foo(x)", data, NULL, NULL, NB_EPARSE, "unknown function 'foo'");
    expect_fit_error("y = a*(x + b", data, NULL, NULL, NB_EPARSE, "never closed");
    expect_fit_error("y = a*x +", data, NULL, NULL, NB_EPARSE, "operand is expected");
    expect_fit_error("y = a*x + b", data, "a=1,c=2", NULL, NB_EARG,
                     "a start value is given for 'c', which does not occur in the formula (its parameters: a, b)");
    expect_fit_error("y = a*x + b", data, "x=2", NULL, NB_EARG, "'x', which is a data column, not a parameter");
    expect_fit_error("y = a + b*x + c*x^2 + d*x^3 + f*x^4", data, NULL, NULL, NB_EARG,
                     "4 data points cannot determine 5 parameters (a, b, c, d, f): fewer points than parameters");
    expect_fit_error("y = a*log(x)", data, NULL, NULL, NB_ENUMERIC,
                     "the model is not finite at the start values: it gives nan at row 1 (x = -1)");
    expect_fit_error("y = a/(x - b)", data, "b=2", NULL, NB_ENUMERIC, "gives inf at row 3 (x = 2)");
    expect_fit_error("y = a*b*x", data, NULL, NULL, NB_ENUMERIC, "the Jacobian is singular (rank 1 of 2)");
    expect_fit_error("y = a*x + b*x", data, NULL, NULL, NB_ENUMERIC, "the Jacobian is singular");
    expect_fit_error("y = a*x + 0*b", data, NULL, NULL, NB_ENUMERIC, "cannot tell 'b' apart");
    nb_fit_setup response = {.response = "z"};
    expect_fit_error("a*x", data, NULL, &response, NB_EARG,
                     "the response column: <arrays>: no column 'z'; available columns: x, y, s");
    nb_fit_setup sigma = {.sigma = "w"};
    expect_fit_error("y = a*x", data, NULL, &sigma, NB_EARG, "the uncertainties' column: <arrays>: no column 'w'");
    nb_fit_setup zero_sigma = {.sigma = "s"};
    expect_fit_error("y = a*x", data, NULL, &zero_sigma, NB_EARG,
                     "uncertainties must be positive and finite, but row 3 of column 's' is 0");
    expect_fit_error("a*y + b", data, NULL, NULL, NB_EARG, "the response is column 'y', which the formula also reads");
    nb_fit_setup both = {.response = "y"};
    expect_fit_error("y = a*x", data, NULL, &both, NB_EARG, "the formula has a left side");
    expect_fit_error("log(x) = a*y", data, NULL, NULL, NB_ENUMERIC, "the left side of the formula is nan at row 1 (x = -1)");
    nb_table_free(data);
    double one_x[1] = {1}, one_y[1] = {2};
    nb_table *tiny = table(1, one_x, one_y, NULL);
    expect_fit_error("y = a*x + b", tiny, NULL, NULL, NB_EARG, "1 data point cannot determine 2 parameters");
    nb_table_free(tiny);
}

/* The method 'linear' asked for a formula that is not linear in its parameters is refused
 * (it would solve some other problem, or call the Jacobian singular), and names them. */
static void test_linear_method_needs_a_linear_formula(void **state)
{
    (void)state;
    static const double x[6] = {77.6, 114.9, 141.1, 190.8, 239.9, 289.0};
    static const double y[6] = {10.07, 14.73, 17.94, 23.93, 29.61, 35.18};
    nb_table *data = table(6, x, y, NULL);
    nb_lsq_options linear = nb_lsq_defaults();
    linear.method = NB_LSQ_LINEAR;
    nb_lsq_result r;
    const char *nonlinear[2] = {"y = a*x + exp(b)", "y = a*exp(b*x/1000)"};
    for (int k = 0; k < 2; k++) {
        nb_clear_error();
        assert_int_equal(fit(nonlinear[k], data, NULL, NULL, &linear, &r), NB_EARG);
        if (!strstr(nb_errmsg(), "is not linear in its parameters (a, b)"))
            fail_msg("'%s': %s", nonlinear[k], nb_errmsg());
        assert_null(r.params);
    }
    /* the same formulas by the default method; a linear one by 'linear' */
    assert_int_equal(fit(nonlinear[0], data, NULL, NULL, NULL, &r), NB_OK);
    assert_int_equal(r.method, NB_LSQ_LM);
    nb_lsq_result_clear(&r);
    assert_int_equal(fit("y = a*x + b*exp(x/100)", data, NULL, NULL, &linear, &r), NB_OK);
    assert_int_equal(r.stop, NB_LSQ_STOP_LINEAR);
    nb_lsq_result_clear(&r);
    nb_table_free(data);
}

static void test_graph_bad_inputs(void **state)
{
    (void)state;
    nb_lsq_result r;
    /* float32 graphs are refused */
    nb_graph *g32 = nb_graph_new(NB_F32);
    nb_node *p32 = nb_param(g32, "p", 0, NULL);
    nb_node *r32 = nb_shift(p32, 1);
    double start = 0;
    assert_int_equal(nb_lsq_fit_graph(r32, 1, &p32, &start, NULL, NULL, &r), NB_EDTYPE);
    nb_graph_free(g32);

    nb_graph *g = nb_graph_new(NB_F64);
    nb_node *c = nb_const(g, 1, (int64_t[]){3}, (double[]){1, 2, 3});
    nb_node *p = nb_param(g, "p", 0, NULL);
    nb_node *residual = nb_log(nb_mul(p, c));
    /* a node that is neither a parameter nor an [n] input */
    assert_int_equal(nb_lsq_fit_graph(residual, 1, &c, &start, NULL, NULL, &r), NB_EARG);
    assert_non_null(strstr(nb_errmsg(), "neither a parameter nor an input of shape [3]"));
    /* log(0 * c) at the start */
    assert_int_equal(nb_lsq_fit_graph(residual, 1, &p, &start, NULL, NULL, &r), NB_ENUMERIC);
    assert_non_null(strstr(nb_errmsg(), "not finite at the start values"));
    /* more parameters than residuals */
    nb_node *w = nb_param(g, "w", 1, (int64_t[]){4});
    nb_node *short_residual = nb_sum(w);
    double starts[4] = {1, 1, 1, 1};
    assert_int_equal(nb_lsq_fit_graph(short_residual, 1, &w, starts, NULL, NULL, &r), NB_EARG);
    assert_non_null(strstr(nb_errmsg(), "fewer points than parameters"));
    /* an input without requires_grad */
    nb_node *in = nb_input(g, "q", 1, (int64_t[]){3});
    nb_node *r2 = nb_mul(in, c);
    assert_int_equal(nb_lsq_fit_graph(r2, 1, &in, &start, NULL, NULL, &r), NB_EARG);
    assert_non_null(strstr(nb_errmsg(), "nb_set_requires_grad"));
    nb_graph_free(g);
}

/* ---- gradient methods --------------------------------------------------------------- */

#define QUAD_N 40
static void quadratic_with_scatter(double *x, double *y)
{
    for (int i = 0; i < QUAD_N; i++) {
        x[i] = i / 20.0;
        y[i] = 2 * x[i] * x[i] - 3 * x[i] + 4 + 0.01 * sin(7.0 * i); /* deterministic scatter */
    }
}

static nb_lsq_options gradient(nb_optim_kind optim, double lr, int epochs, int64_t batch, uint64_t seed)
{
    nb_lsq_options o = nb_lsq_defaults();
    o.method = NB_LSQ_GRADIENT, o.optim = optim, o.lr = lr, o.epochs = epochs, o.batch = batch, o.seed = seed;
    return o;
}

/* L-BFGS ends at the solver's optimum, and its statistics, computed there from the
 * autodiff Jacobian, are the solver's. */
static void test_lbfgs_reaches_the_optimum(void **state)
{
    (void)state;
    double x[QUAD_N], y[QUAD_N];
    quadratic_with_scatter(x, y);
    nb_table *data = table(QUAD_N, x, y, NULL);
    const char *formula = "y = a*x^2 + b*x + c";
    nb_lsq_result ref, r;
    nb_lsq_options lm = nb_lsq_defaults();
    lm.method = NB_LSQ_LM;
    assert_int_equal(fit(formula, data, NULL, NULL, &lm, &ref), NB_OK);
    nb_lsq_options o = gradient(NB_LBFGS, 0, 0, 0, 0);
    assert_int_equal(fit(formula, data, NULL, NULL, &o, &r), NB_OK);
    assert_int_equal(r.method, NB_LSQ_GRADIENT);
    assert_int_equal(r.optim, NB_LBFGS);
    /* it stops when its line search can go no lower, which it cannot tell from a stall
     * short of the optimum: that is no proof of convergence */
    assert_int_equal(r.stop, NB_LSQ_STOP_STALLED);
    assert_false(r.converged);
    assert_string_equal(nb_lsq_stop_text(r.stop), "the line search could not decrease the loss");
    for (int j = 0; j < 3; j++) {
        assert_close(r.params[j], ref.params[j], 1e-7 * fabs(ref.params[j]));
        assert_close(r.std_error[j], ref.std_error[j], 1e-5 * ref.std_error[j]);
        assert_close(r.ci_high[j], ref.ci_high[j], 1e-6 * fabs(ref.ci_high[j]));
    }
    assert_close(r.sse, ref.sse, 1e-9 * ref.sse);
    assert_close(r.r_squared, ref.r_squared, 1e-12);
    assert_int_equal(r.batch, QUAD_N);
    assert_close(r.lr, 1, 0);
    assert_true(r.epochs >= 1 && r.epochs < 1000);
    assert_int_equal(r.iterations, r.epochs);
    assert_true(r.n_evals >= r.iterations);
    assert_int_equal(r.n_jacobians, 1); /* for the standard errors */
    nb_lsq_result_clear(&r);
    nb_lsq_result_clear(&ref);
    nb_table_free(data);
}

static void test_minibatch_methods(void **state)
{
    (void)state;
    double x[QUAD_N], y[QUAD_N];
    quadratic_with_scatter(x, y);
    nb_table *data = table(QUAD_N, x, y, NULL);
    const char *formula = "y = a*x^2 + b*x + c";
    nb_lsq_result r, again, other;

    /* per-sample SGD: one update per point and epoch */
    nb_lsq_options o = gradient(NB_SGD, 0.1, 3, 1, 0);
    assert_int_equal(fit(formula, data, NULL, NULL, &o, &r), NB_OK);
    assert_int_equal(r.method, NB_LSQ_GRADIENT);
    assert_int_equal(r.optim, NB_SGD);
    assert_int_equal(r.iterations, 3 * QUAD_N);
    assert_int_equal(r.n_evals, 3 * QUAD_N);
    assert_int_equal(r.epochs, 3);
    assert_int_equal(r.stop, NB_LSQ_STOP_EPOCHS);
    assert_false(r.converged);
    assert_int_equal(r.batch, 1);
    assert_close(r.lr, 0.1, 0);
    nb_lsq_result_clear(&r);

    /* Adam's defaults: batches of 32 (the last of 8), lr 0.01; the same seed gives the
     * same numbers, another seed other ones */
    o = gradient(NB_ADAM, 0, 50, 0, 5);
    assert_int_equal(fit(formula, data, NULL, NULL, &o, &r), NB_OK);
    assert_int_equal(r.batch, 32);
    assert_close(r.lr, 0.01, 0);
    assert_int_equal(r.n_evals, 50 * 2);
    assert_int_equal(fit(formula, data, NULL, NULL, &o, &again), NB_OK);
    assert_memory_equal(r.params, again.params, 3 * sizeof(double));
    o.seed = 6;
    assert_int_equal(fit(formula, data, NULL, NULL, &o, &other), NB_OK);
    assert_memory_not_equal(r.params, other.params, 3 * sizeof(double));
    nb_lsq_result_clear(&r);
    nb_lsq_result_clear(&again);
    nb_lsq_result_clear(&other);

    /* any optimizer of nabla/nn.h, trained by nb_train: RMSprop at its defaults */
    o = gradient(NB_RMSPROP, 0, 20, 0, 0);
    assert_int_equal(fit(formula, data, NULL, NULL, &o, &r), NB_OK);
    assert_int_equal(r.optim, NB_RMSPROP);
    assert_close(r.lr, nb_optim_defaults(NB_RMSPROP).lr, 0);
    assert_int_equal(r.n_evals, 20 * 2);
    nb_lsq_result_clear(&r);

    /* a formula that reads no column: the mean, weighted */
    double sigma[QUAD_N];
    for (int i = 0; i < QUAD_N; i++)
        sigma[i] = 1 + i % 3;
    nb_table *weighted = table(QUAD_N, x, y, sigma);
    nb_fit_setup setup = {.sigma = "s"};
    o = gradient(NB_LBFGS, 0, 0, 0, 0);
    assert_int_equal(nb_fit_formula("y = m", weighted, &setup, &o, &r), NB_OK);
    double sum = 0, sum_w = 0;
    for (int i = 0; i < QUAD_N; i++)
        sum += y[i] / (sigma[i] * sigma[i]), sum_w += 1 / (sigma[i] * sigma[i]);
    assert_close(r.params[0], sum / sum_w, 1e-9);
    nb_lsq_result_clear(&r);
    nb_table_free(weighted);

    /* a batch larger than the data is all of it */
    o = gradient(NB_SGD, 0.01, 2, 1000, 0);
    assert_int_equal(fit(formula, data, NULL, NULL, &o, &r), NB_OK);
    assert_int_equal(r.batch, QUAD_N);
    assert_int_equal(r.iterations, 2);
    nb_lsq_result_clear(&r);
    nb_table_free(data);
}

/* Where a gradient method ends, the model may not react to a parameter at all: that end
 * point is reported as it is, without standard errors. A learning rate far too large is
 * an error that names the epoch. */
static void test_gradient_failures(void **state)
{
    (void)state;
    static const double x[14] = {77.6, 114.9, 141.1, 190.8, 239.9, 289.0, 332.8,
                                 378.4, 434.8, 477.3, 536.8, 593.1, 689.1, 760.0};
    static const double y[14] = {10.07, 14.73, 17.94, 23.93, 29.61, 35.18, 40.02,
                                 44.82, 50.76, 55.05, 61.01, 66.40, 75.47, 81.78};
    nb_table *data = table(14, x, y, NULL);
    nb_lsq_result r;
    /* Misra1a from NIST's first start: SGD's first steps throw b2 far out, where
     * exp(-b2 x) is 0 and the model is the constant b1 */
    nb_lsq_options o = gradient(NB_SGD, 0.01, 100, 0, 0);
    assert_int_equal(fit("y = b1*(1 - exp(-b2*x))", data, "b1=500,b2=1e-4", NULL, &o, &r), NB_OK);
    assert_true(fabs(r.params[1]) > 1);
    assert_true(isfinite(r.params[0]) && isfinite(r.sse));
    assert_true(isnan(r.std_error[0]) && isnan(r.std_error[1]) && isnan(r.ci_low[1]));
    nb_lsq_result_clear(&r);
    /* Levenberg–Marquardt still calls a singular Jacobian an error */
    expect_fit_error("y = a*b*exp(-x)", data, NULL, NULL, NB_ENUMERIC, "the Jacobian is singular");

    o = gradient(NB_SGD, 1e6, 10, 1, 0);
    assert_int_equal(fit("y = b1*(1 - exp(-b2*x))", data, "b1=500,b2=1e-4", NULL, &o, &r), NB_ENUMERIC);
    assert_non_null(strstr(nb_errmsg(), "sgd diverged at epoch "));
    assert_non_null(strstr(nb_errmsg(), ": the mean squared residual of the batch or a parameter became NaN or infinite"));
    assert_non_null(strstr(nb_errmsg(), "try a smaller learning rate (this one is 1e+06)"));
    assert_int_equal(r.n_params, 0);
    assert_null(r.params);
    nb_table_free(data);
}

static void test_gradient_bad_options(void **state)
{
    (void)state;
    double x[QUAD_N], y[QUAD_N];
    quadratic_with_scatter(x, y);
    nb_table *data = table(QUAD_N, x, y, NULL);
    nb_lsq_result r;
    nb_lsq_options o = gradient(NB_SGD, -1, 0, 0, 0);
    assert_int_equal(fit("y = a*x + b", data, NULL, NULL, &o, &r), NB_EARG);
    assert_non_null(strstr(nb_errmsg(), "learning rate, epochs and batch size must be >= 0"));
    o = gradient(NB_ADAM, 0, -3, 0, 0);
    assert_int_equal(fit("y = a*x + b", data, NULL, NULL, &o, &r), NB_EARG);
    o = gradient(NB_ADAM, 0, 0, -1, 0);
    assert_int_equal(fit("y = a*x + b", data, NULL, NULL, &o, &r), NB_EARG);
    o = gradient(NB_LBFGS, 0, 0, 10, 0);
    assert_int_equal(fit("y = a*x + b", data, NULL, NULL, &o, &r), NB_EARG);
    assert_non_null(strstr(nb_errmsg(), "L-BFGS takes all 40 points at once"));
    o = gradient(NB_LBFGS, 0, 0, QUAD_N, 0); /* all of them: fine */
    assert_int_equal(fit("y = a*x + b", data, NULL, NULL, &o, &r), NB_OK);
    nb_lsq_result_clear(&r);
    o = gradient((nb_optim_kind)42, 0, 0, 0, 0);
    assert_int_equal(fit("y = a*x + b", data, NULL, NULL, &o, &r), NB_EARG);
    assert_non_null(strstr(nb_errmsg(), "optimizer: unknown kind 42"));
    o.method = (nb_lsq_method)42;
    assert_int_equal(fit("y = a*x + b", data, NULL, NULL, &o, &r), NB_EARG);
    assert_non_null(strstr(nb_errmsg(), "unknown method 42"));
    nb_table_free(data);

    /* a residual graph has no batches to train on */
    nb_graph *g = nb_graph_new(NB_F64);
    nb_node *p = nb_param(g, "p", 0, NULL);
    nb_node *residual = nb_sub(nb_mul(p, nb_const(g, 1, (int64_t[]){3}, (double[]){1, 2, 3})),
                               nb_const(g, 1, (int64_t[]){3}, (double[]){2, 4, 6}));
    double start = 1;
    o = gradient(NB_ADAM, 0, 0, 0, 0);
    assert_int_equal(nb_lsq_fit_graph(residual, 1, &p, &start, NULL, &o, &r), NB_EARG);
    assert_non_null(strstr(nb_errmsg(), "gradient descent (adam) fits formulas"));
    nb_graph_free(g);

    assert_string_equal(nb_lsq_method_name(NB_LSQ_GRADIENT), "gradient");
    assert_string_equal(nb_lsq_method_name(NB_LSQ_LM), "lm");
    assert_true(nb_lsq_method_is_gradient(NB_LSQ_GRADIENT));
    assert_false(nb_lsq_method_is_gradient(NB_LSQ_LINEAR));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_student_t),
        cmocka_unit_test(test_line_linear_and_lm),
        cmocka_unit_test(test_columns_by_name_or_number),
        cmocka_unit_test(test_exact_exponential),
        cmocka_unit_test(test_linear_polynomial),
        cmocka_unit_test(test_weighted_mean),
        cmocka_unit_test(test_non_finite_trial_is_rejected),
        cmocka_unit_test(test_max_evals),
        cmocka_unit_test(test_graph_both_modes),
        cmocka_unit_test(test_graph_tensor_param),
        cmocka_unit_test(test_bad_inputs),
        cmocka_unit_test(test_graph_bad_inputs),
        cmocka_unit_test(test_linear_method_needs_a_linear_formula),
        cmocka_unit_test(test_lbfgs_reaches_the_optimum),
        cmocka_unit_test(test_minibatch_methods),
        cmocka_unit_test(test_gradient_failures),
        cmocka_unit_test(test_gradient_bad_options),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
