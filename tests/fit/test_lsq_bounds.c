/* The solver that does not give up: bounds (lower, upper, both, active at the optimum),
 * fixed parameters and gnuplot's via, robust losses on data with outliers, multi-start
 * with a seed, a Jacobian singular at the start, and the bad inputs. Each result is
 * checked against an independent fit (a bound active at the optimum gives the fit with
 * that parameter fixed at the bound; a fixed parameter the formula with the number in
 * its place). */
#include "nb_test.h"

#include <stdio.h>
#include <string.h>

#define N 40
static double xs[N], ys[N], ys_outliers[N], ys_two[N];

/* y = 3 exp(-1.3 x) - 0.65 with a deterministic wiggle; outliers on a copy; and two
 * exponentials without noise. */
static int setup(void **state)
{
    (void)state;
    for (int i = 0; i < N; i++) {
        xs[i] = 0.125 * i;
        ys[i] = 3 * exp(-1.3 * xs[i]) - 0.65 + 0.01 * sin(7.0 * i);
        ys_outliers[i] = ys[i] + (i % 9 == 4 ? 2.5 : 0);
        ys_two[i] = 3 * exp(-0.5 * xs[i]) + exp(-3 * xs[i]);
    }
    return 0;
}

static nb_table *table_of(const double *y)
{
    const char *names[2] = {"x", "y"};
    const double *columns[2] = {xs, y};
    nb_table *data = nb_table_from_columns(2, names, N, columns);
    assert_non_null(data);
    return data;
}

static const char *decay = "y = a*exp(-k*x) + c";
static const char *init_names[3] = {"a", "k", "c"};
static const double init_values[3] = {1, 1, 0};

static nb_fit_setup setup_with_init(void)
{
    return (nb_fit_setup){.n_init = 3, .init_names = init_names, .init_values = init_values};
}

static double param(const nb_lsq_result *r, const char *name)
{
    for (int j = 0; j < r->n_params; j++)
        if (strcmp(r->names[j], name) == 0)
            return r->params[j];
    fail_msg("no parameter %s", name);
    return NAN;
}

static int index_of(const nb_lsq_result *r, const char *name)
{
    for (int j = 0; j < r->n_params; j++)
        if (strcmp(r->names[j], name) == 0)
            return j;
    fail_msg("no parameter %s", name);
    return -1;
}

/* A fit with bounds by name; asserts it succeeds. */
static void fit_bounded(const double *y, int n_bounds, const char **names, const double *lo, const double *hi,
                        nb_lsq_result *r)
{
    nb_table *data = table_of(y);
    nb_fit_setup setup = setup_with_init();
    setup.n_bounds = n_bounds, setup.bound_names = names, setup.bound_lower = lo, setup.bound_upper = hi;
    nb_status status = nb_fit_formula(decay, data, &setup, NULL, r);
    if (status != NB_OK)
        fail_msg("%s", nb_errmsg());
    nb_table_free(data);
}

/* The fit with `name` fixed at `value`, for comparison. */
static void fit_fixed(const char *name, double value, nb_lsq_result *r)
{
    nb_table *data = table_of(ys);
    nb_fit_setup setup = setup_with_init();
    const char *names[1] = {name};
    double values[1] = {value};
    setup.n_fixed = 1, setup.fixed_names = names, setup.fixed_values = values;
    assert_int_equal(nb_fit_formula(decay, data, &setup, NULL, r), NB_OK);
    nb_table_free(data);
}

static void expect_same_params(const nb_lsq_result *a, const nb_lsq_result *b, double tolerance)
{
    for (int j = 0; j < a->n_params; j++)
        assert_close(a->params[j], b->params[j], tolerance * fmax(1, fabs(b->params[j])));
}

static void test_lower_bound_active(void **state)
{
    (void)state;
    nb_lsq_result bounded, fixed;
    const char *names[1] = {"c"};
    double lo[1] = {0}, hi[1] = {INFINITY};
    fit_bounded(ys, 1, names, lo, hi, &bounded);
    int c = index_of(&bounded, "c");
    assert_true(bounded.converged);
    assert_true(bounded.params[c] == 0); /* exactly on the bound, never past it */
    assert_int_equal(bounded.at_bound[c], -1);
    assert_true(isnan(bounded.std_error[c]));
    fit_fixed("c", 0, &fixed);
    expect_same_params(&bounded, &fixed, 1e-7);
    /* The same (JᵀJ)⁻¹; the bounded fit has one degree of freedom fewer (c was free to move). */
    assert_int_equal(bounded.dof + 1, fixed.dof);
    assert_close(bounded.std_error[index_of(&bounded, "k")] / bounded.residual_std,
                 fixed.std_error[index_of(&fixed, "k")] / fixed.residual_std, 1e-6);
    nb_lsq_result_clear(&bounded);
    nb_lsq_result_clear(&fixed);
}

static void test_upper_bound_active(void **state)
{
    (void)state;
    nb_lsq_result bounded, fixed;
    const char *names[1] = {"k"};
    double lo[1] = {-INFINITY}, hi[1] = {1};
    fit_bounded(ys, 1, names, lo, hi, &bounded);
    int k = index_of(&bounded, "k");
    assert_true(bounded.params[k] == 1);
    assert_int_equal(bounded.at_bound[k], 1);
    assert_false(bounded.moved[k]); /* the start (1) was on the bound, not outside */
    fit_fixed("k", 1, &fixed);
    expect_same_params(&bounded, &fixed, 1e-7);
    nb_lsq_result_clear(&bounded);
    nb_lsq_result_clear(&fixed);
}

/* Bounds on both sides that the optimum keeps clear of change nothing. */
static void test_two_sided_inactive(void **state)
{
    (void)state;
    nb_lsq_result bounded, free;
    const char *names[2] = {"a", "k"};
    double lo[2] = {0, 0}, hi[2] = {10, 5};
    fit_bounded(ys, 2, names, lo, hi, &bounded);
    nb_table *data = table_of(ys);
    nb_fit_setup setup = setup_with_init();
    assert_int_equal(nb_fit_formula(decay, data, &setup, NULL, &free), NB_OK);
    expect_same_params(&bounded, &free, 1e-7);
    for (int j = 0; j < 3; j++) {
        assert_int_equal(bounded.at_bound[j], 0);
        assert_close(bounded.std_error[j], free.std_error[j], 1e-6 * free.std_error[j]);
    }
    nb_lsq_result_clear(&bounded);
    nb_lsq_result_clear(&free);
    nb_table_free(data);
}

/* A start outside the bounds is moved onto the nearest one, and the result says so. */
static void test_start_moved_inside(void **state)
{
    (void)state;
    nb_lsq_result r;
    const char *names[1] = {"k"};
    double lo[1] = {2}, hi[1] = {4};
    fit_bounded(ys, 1, names, lo, hi, &r);
    int k = index_of(&r, "k");
    assert_true(r.moved[k]);
    assert_true(r.params[k] >= 2 && r.params[k] <= 4);
    assert_int_equal(r.at_bound[k], -1); /* the optimum (1.3) lies below */
    nb_lsq_result_clear(&r);
}

/* Fixed by value, and by leaving it out of `via`, equal the formula with the number. */
static void test_fix_and_via(void **state)
{
    (void)state;
    nb_lsq_result fixed, via, substituted;
    fit_fixed("c", -0.65, &fixed);
    int c = index_of(&fixed, "c");
    assert_true(fixed.fixed[c]);
    assert_true(fixed.params[c] == -0.65);
    assert_true(isnan(fixed.std_error[c]));
    assert_int_equal(fixed.dof, N - 2);
    nb_table *data = table_of(ys);
    const char *vary[2] = {"a", "k"};
    const double values[3] = {1, 1, -0.65};
    nb_fit_setup setup = {.n_init = 3, .init_names = init_names, .init_values = values, .n_vary = 2,
                          .vary_names = vary};
    assert_int_equal(nb_fit_formula(decay, data, &setup, NULL, &via), NB_OK);
    assert_true(via.fixed[c]);
    expect_same_params(&via, &fixed, 0);
    nb_fit_setup two = {.n_init = 2, .init_names = init_names, .init_values = init_values};
    assert_int_equal(nb_fit_formula("y = a*exp(-k*x) - 0.65", data, &two, NULL, &substituted), NB_OK);
    assert_close(param(&fixed, "a"), param(&substituted, "a"), 1e-8);
    assert_close(param(&fixed, "k"), param(&substituted, "k"), 1e-8);
    assert_close(fixed.std_error[index_of(&fixed, "k")], substituted.std_error[index_of(&substituted, "k")], 1e-7);
    nb_lsq_result_clear(&fixed);
    nb_lsq_result_clear(&via);
    nb_lsq_result_clear(&substituted);
    nb_table_free(data);
}

/* Outliers pull least squares off the curve; each robust loss stays on it. */
static void test_robust_losses(void **state)
{
    (void)state;
    nb_table *data = table_of(ys_outliers);
    nb_fit_setup setup = setup_with_init();
    for (nb_lsq_loss loss = NB_LSQ_SQUARED; loss <= NB_LSQ_ARCTAN; loss++) {
        nb_lsq_options opt = nb_lsq_defaults();
        opt.loss = loss;
        opt.f_scale = 0.05;
        nb_lsq_result r;
        if (nb_fit_formula(decay, data, &setup, &opt, &r) != NB_OK)
            fail_msg("%s: %s", nb_lsq_loss_name(loss), nb_errmsg());
        double k_error = fabs(param(&r, "k") - 1.3), c_error = fabs(param(&r, "c") + 0.65);
        if (loss == NB_LSQ_SQUARED)
            assert_true(k_error > 0.05 || c_error > 0.05);
        else if (k_error > 0.03 || c_error > 0.03)
            fail_msg("%s: k = %g, c = %g", nb_lsq_loss_name(loss), param(&r, "k"), param(&r, "c"));
        assert_int_equal(r.loss, loss);
        nb_lsq_result_clear(&r);
    }
    nb_lsq_loss parsed;
    assert_int_equal(nb_lsq_loss_parse("soft_l1", &parsed), NB_OK);
    assert_int_equal(parsed, NB_LSQ_SOFT_L1);
    assert_int_equal(nb_lsq_loss_parse("l2", &parsed), NB_EARG);
    nb_table_free(data);
}

/* Two exponentials from a start where both terms are the same: the Jacobian is singular
 * there and on the whole symmetric line LM would follow; the fit still finds the optimum.
 * Then multi-start: the same seed gives the same numbers, and the starts reach it. */
static void test_singular_start_and_starts(void **state)
{
    (void)state;
    nb_table *data = table_of(ys_two);
    const char *names[4] = {"a", "b", "k", "m"};
    const double values[4] = {1, 1, 1, 1};
    nb_fit_setup setup = {.n_init = 4, .init_names = names, .init_values = values};
    const char *formula = "y = a*exp(-k*x) + b*exp(-m*x)";
    nb_lsq_result r, again, other;
    if (nb_fit_formula(formula, data, &setup, NULL, &r) != NB_OK)
        fail_msg("%s", nb_errmsg());
    assert_true(r.sse < 1e-20);
    double slow = fmin(param(&r, "k"), param(&r, "m")), fast = fmax(param(&r, "k"), param(&r, "m"));
    assert_close(slow, 0.5, 1e-8);
    assert_close(fast, 3, 1e-8);
    nb_lsq_result_clear(&r);
    nb_lsq_options opt = nb_lsq_defaults();
    opt.starts = 6, opt.seed = 11;
    assert_int_equal(nb_fit_formula(formula, data, &setup, &opt, &r), NB_OK);
    assert_int_equal(nb_fit_formula(formula, data, &setup, &opt, &again), NB_OK);
    assert_int_equal(r.starts, 6);
    assert_true(r.starts_at_best >= 1 && r.starts_at_best <= 6);
    assert_int_equal(r.starts_at_best, again.starts_at_best);
    assert_memory_equal(r.params, again.params, 4 * sizeof(double));
    opt.seed = 12;
    assert_int_equal(nb_fit_formula(formula, data, &setup, &opt, &other), NB_OK);
    assert_true(other.sse < 1e-20);
    nb_lsq_result_clear(&r);
    nb_lsq_result_clear(&again);
    nb_lsq_result_clear(&other);
    nb_table_free(data);
}

static void expect_error(const nb_fit_setup *setup, const nb_lsq_options *opt, const char *needle)
{
    nb_table *data = table_of(ys);
    nb_lsq_result r;
    assert_int_equal(nb_fit_formula(decay, data, setup, opt, &r), NB_EARG);
    if (!strstr(nb_errmsg(), needle))
        fail_msg("message '%s' lacks '%s'", nb_errmsg(), needle);
    assert_null(r.params);
    nb_table_free(data);
}

static void test_bad_input(void **state)
{
    (void)state;
    const char *k[1] = {"k"}, *q[1] = {"q"}, *all[3] = {"a", "k", "c"};
    double two[1] = {2}, one[1] = {1};
    nb_fit_setup s = setup_with_init();
    s.n_bounds = 1, s.bound_names = k, s.bound_lower = two, s.bound_upper = one;
    expect_error(&s, NULL, "the lower bound of 'k' (2) is above its upper bound (1)");
    s.bound_names = q, s.bound_lower = one, s.bound_upper = two;
    expect_error(&s, NULL, "a bound is given for 'q', which is not a parameter of the formula (its parameters: a, "
                           "k, c)");
    s = setup_with_init();
    s.n_fixed = 1, s.fixed_names = q;
    expect_error(&s, NULL, "a fixed value is given for 'q', which is not a parameter");
    s.n_fixed = 3, s.fixed_names = all;
    expect_error(&s, NULL, "every parameter is fixed");
    s = setup_with_init();
    s.n_vary = 1, s.vary_names = q;
    expect_error(&s, NULL, "the parameters to vary include 'q'");
    nb_lsq_options opt = nb_lsq_defaults();
    opt.method = NB_LSQ_LINEAR;
    opt.loss = NB_LSQ_HUBER;
    nb_table *data = table_of(ys);
    nb_lsq_result r;
    assert_int_equal(nb_fit_formula("y = a + b*x", data, NULL, &opt, &r), NB_EARG);
    assert_non_null(strstr(nb_errmsg(), "takes no bounds"));
    opt = nb_lsq_defaults();
    opt.f_scale = -1;
    assert_int_equal(nb_fit_formula(decay, data, NULL, &opt, &r), NB_EARG);
    nb_table_free(data);
}

/* A graph you built, with bounds and a fixed scalar by index and three starts (run one
 * after the other on the one graph): the same answer as the formula fit. */
static void test_graph_options(void **state)
{
    (void)state;
    nb_graph *g = nb_graph_new(NB_F64);
    int64_t shape[1] = {N};
    nb_node *x = nb_const(g, 1, shape, xs), *y = nb_const(g, 1, shape, ys);
    nb_node *a = nb_param(g, "a", 0, NULL), *k = nb_param(g, "k", 0, NULL), *c = nb_param(g, "c", 0, NULL);
    nb_node *residual = nb_sub(nb_add(nb_mul(a, nb_exp(nb_neg(nb_mul(k, x)))), c), y);
    nb_node *params[3] = {a, k, c};
    double start[3] = {1, 1, 0}, lower[3] = {-INFINITY, -INFINITY, 0}, upper[3] = {INFINITY, 1, INFINITY};
    bool fixed[3] = {false, false, false};
    nb_lsq_options opt = nb_lsq_defaults();
    opt.lower = lower, opt.upper = upper, opt.fixed = fixed, opt.starts = 3, opt.seed = 5;
    nb_lsq_result graph, formula;
    assert_int_equal(nb_lsq_fit_graph(residual, 3, params, start, NULL, &opt, &graph), NB_OK);
    assert_int_equal(graph.starts, 3);
    assert_true(graph.params[1] == 1 && graph.at_bound[1] == 1);
    assert_true(graph.params[2] == 0 && graph.at_bound[2] == -1);
    const char *names[2] = {"k", "c"};
    double lo[2] = {-INFINITY, 0}, hi[2] = {1, INFINITY};
    fit_bounded(ys, 2, names, lo, hi, &formula);
    assert_close(graph.params[0], param(&formula, "a"), 1e-9);
    nb_lsq_result_clear(&graph);
    nb_lsq_result_clear(&formula);
    nb_graph_free(g);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_lower_bound_active),  cmocka_unit_test(test_upper_bound_active),
        cmocka_unit_test(test_two_sided_inactive),  cmocka_unit_test(test_start_moved_inside),
        cmocka_unit_test(test_fix_and_via),         cmocka_unit_test(test_robust_losses),
        cmocka_unit_test(test_singular_start_and_starts), cmocka_unit_test(test_bad_input),
        cmocka_unit_test(test_graph_options),
    };
    return cmocka_run_group_tests(tests, setup, NULL);
}
