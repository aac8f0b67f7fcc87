/* Every op's backward against central finite differences in float64, and every op's
 * float32 forward against its float64 forward. */
#include "nb_test.h"

#include <math.h>
#include <stdio.h>
#include <string.h>


typedef nb_node *(*builder)(nb_graph *graph);

static nb_rng rng;
static double low = -2, high = 2;

/* A parameter filled from the shared generator, so that the f32 and f64 builds of a
 * case see the same numbers. */
static nb_node *param(nb_graph *graph, const char *name, int ndim, const int64_t *shape)
{
    nb_node *node = nb_param(graph, name, ndim, shape);
    if (node)
        nb_tensor_fill_uniform(nb_value(node), &rng, low, high);
    return node;
}

static nb_node *build_case(nb_dtype dtype, builder build, nb_graph **graph_out, nb_node **out)
{
    nb_rng_seed(&rng, 1234);
    nb_graph *graph = nb_graph_new(dtype);
    *out = build(graph);
    if (!*out)
        fail_msg("build failed: %s", nb_errmsg());
    /* loss = sum(out * weights): every output element gets its own non-trivial weight */
    nb_tensor *value = nb_value(*out);
    double weights[4096];
    for (int64_t i = 0; i < value->size; i++)
        weights[i] = 0.5 + nb_rng_uniform(&rng);
    nb_node *loss = nb_sum(nb_mul(*out, nb_const(graph, value->ndim, value->shape, weights)));
    *graph_out = graph;
    return loss;
}

static void check(const char *label, builder build, double lo, double hi)
{
    low = lo, high = hi;
    nb_graph *g64, *g32;
    nb_node *out64, *out32;
    nb_node *loss64 = build_case(NB_F64, build, &g64, &out64);
    nb_node *loss32 = build_case(NB_F32, build, &g32, &out32);
    assert_non_null(loss64);
    assert_non_null(loss32);

    nb_gradcheck_result result;
    if (nb_gradcheck(loss64, 1e-6, &result) != NB_OK)
        fail_msg("%s: gradcheck failed to run: %s", label, nb_errmsg());
    if (!(result.max_error < 1e-6))
        fail_msg("%s: relative error %.3g at %s[%lld]: analytic %.10g, numeric %.10g", label, result.max_error,
                 result.worst, (long long)result.worst_index, result.analytic, result.numeric);
    assert_true(result.n_checked > 0);

    assert_int_equal(nb_forward(out64), NB_OK);
    assert_int_equal(nb_forward(out32), NB_OK);
    const nb_tensor *v64 = nb_value(out64), *v32 = nb_value(out32);
    assert_int_equal(v64->size, v32->size);
    for (int64_t i = 0; i < v64->size; i++) {
        double a = nb_tensor_get(v64, i), b = nb_tensor_get(v32, i);
        if (!(fabs(a - b) <= 1e-5 * fmax(1.0, fabs(a))))
            fail_msg("%s: f32 forward %.9g differs from f64 %.9g at %lld", label, b, a, (long long)i);
    }
    nb_graph_free(g64);
    nb_graph_free(g32);
}

static const int64_t S34[] = {3, 4};

/* ---- unary ------------------------------------------------------------------------ */
#define UNARY_CASE(name, expr)                                                                     \
    static nb_node *case_##name(nb_graph *g)                                                       \
    {                                                                                              \
        nb_node *x = param(g, "x", 2, S34);                                                        \
        return expr;                                                                               \
    }
UNARY_CASE(neg, nb_neg(x))
UNARY_CASE(scale, nb_scale(x, 2.5))
UNARY_CASE(shift, nb_shift(x, -1.5))
UNARY_CASE(pow3, nb_pow_scalar(x, 3))
UNARY_CASE(pow_half, nb_pow_scalar(x, 0.5))
UNARY_CASE(exp, nb_exp(x))
UNARY_CASE(log, nb_log(x))
UNARY_CASE(log10, nb_log10(x))
UNARY_CASE(sqrt, nb_sqrt(x))
UNARY_CASE(abs, nb_abs(x))
UNARY_CASE(sin, nb_sin(x))
UNARY_CASE(cos, nb_cos(x))
UNARY_CASE(tan, nb_tan(x))
UNARY_CASE(asin, nb_asin(x))
UNARY_CASE(acos, nb_acos(x))
UNARY_CASE(atan, nb_atan(x))
UNARY_CASE(sinh, nb_sinh(x))
UNARY_CASE(cosh, nb_cosh(x))
UNARY_CASE(tanh, nb_tanh(x))
UNARY_CASE(sigmoid, nb_sigmoid(x))
UNARY_CASE(relu, nb_relu(x))
UNARY_CASE(leaky_relu, nb_leaky_relu(x, 0.1))
UNARY_CASE(softplus, nb_softplus(x))
UNARY_CASE(square_self, nb_mul(x, x))

static void test_unary(void **state)
{
    (void)state;
    check("neg", case_neg, -2, 2);
    check("scale", case_scale, -2, 2);
    check("shift", case_shift, -2, 2);
    check("pow_scalar 3", case_pow3, -2, 2);
    check("pow_scalar 0.5", case_pow_half, 0.5, 3);
    check("exp", case_exp, -2, 2);
    check("log", case_log, 0.5, 3);
    check("log10", case_log10, 0.5, 3);
    check("sqrt", case_sqrt, 0.5, 3);
    check("abs", case_abs, -2, 2);
    check("sin", case_sin, -2, 2);
    check("cos", case_cos, -2, 2);
    check("tan", case_tan, -1, 1);
    check("asin", case_asin, -0.9, 0.9);
    check("acos", case_acos, -0.9, 0.9);
    check("atan", case_atan, -2, 2);
    check("sinh", case_sinh, -2, 2);
    check("cosh", case_cosh, -2, 2);
    check("tanh", case_tanh, -2, 2);
    check("sigmoid", case_sigmoid, -4, 4);
    check("relu", case_relu, -2, 2);
    check("leaky_relu", case_leaky_relu, -2, 2);
    check("softplus", case_softplus, -4, 4);
    check("x * x", case_square_self, -2, 2);
}

/* ---- binary, over the broadcasting cases -------------------------------------------- */
typedef nb_node *(*binary_fn)(nb_node *, nb_node *);
static binary_fn current_binary;
static int64_t shape_a[NB_MAX_DIMS], shape_b[NB_MAX_DIMS];
static int ndim_a, ndim_b;

static nb_node *case_binary(nb_graph *g)
{
    nb_node *a = param(g, "a", ndim_a, shape_a);
    nb_node *b = param(g, "b", ndim_b, shape_b);
    return current_binary(a, b);
}

static void check_binary(const char *name, binary_fn fn, double lo, double hi)
{
    static const struct {
        int na;
        int64_t a[4];
        int nb;
        int64_t b[4];
    } cases[] = {
        {2, {3, 4}, 2, {3, 4}},    /* same shape */
        {2, {3, 4}, 1, {4}},       /* a row vector against a matrix (a bias) */
        {2, {3, 1}, 2, {1, 4}},    /* an outer broadcast */
        {0, {0}, 2, {3, 4}},       /* scalar on the left */
        {2, {3, 4}, 0, {0}},       /* scalar on the right */
        {3, {2, 3, 4}, 2, {3, 1}}, /* 3-D against a column */
        {1, {1}, 1, {1}},          /* one element each */
    };
    current_binary = fn;
    for (size_t c = 0; c < sizeof cases / sizeof cases[0]; c++) {
        ndim_a = cases[c].na, ndim_b = cases[c].nb;
        memcpy(shape_a, cases[c].a, sizeof shape_a);
        memcpy(shape_b, cases[c].b, sizeof shape_b);
        char label[64];
        snprintf(label, sizeof label, "%s case %zu", name, c);
        check(label, case_binary, lo, hi);
    }
}

static void test_binary(void **state)
{
    (void)state;
    check_binary("add", nb_add, -2, 2);
    check_binary("sub", nb_sub, -2, 2);
    check_binary("mul", nb_mul, -2, 2);
    check_binary("div", nb_div, 0.5, 2);
    check_binary("pow", nb_pow, 0.5, 2);
    check_binary("atan2", nb_atan2, -2, 2);
    check_binary("minimum", nb_minimum, -2, 2);
    check_binary("maximum", nb_maximum, -2, 2);
}

/* d(x^s)/dx is s*y/x where that is exact enough, s*x^(s-1) at x = 0 and where y
 * underflows (1e-200^2 is 0, the derivative 2e-200 is not). */
static double power_gradient(bool tensor_exponent, double x, double s)
{
    nb_graph *g = nb_graph_new(NB_F64);
    nb_node *p = nb_param(g, "x", 0, NULL);
    *(double *)nb_value(p)->data = x;
    nb_node *y = tensor_exponent ? nb_pow(p, nb_scalar(g, s)) : nb_pow_scalar(p, s);
    assert_int_equal(nb_forward(y), NB_OK);
    nb_zero_grad(g);
    assert_int_equal(nb_backward(y), NB_OK);
    double grad = *(double *)nb_grads_data(g);
    nb_graph_free(g);
    return grad;
}

static void test_power_gradient_edges(void **state)
{
    (void)state;
    for (int tensor = 0; tensor < 2; tensor++) {
        assert_close(power_gradient(tensor, 2, 3), 12, 1e-14);
        assert_close(power_gradient(tensor, 0, 3), 0, 0);
        assert_close(power_gradient(tensor, 0, 1), 1, 0);
        assert_close(power_gradient(tensor, 1e-200, 2), 2e-200, 1e-214);
        assert_close(power_gradient(tensor, -1.5, 2), -3, 1e-15);
    }
}

static void test_broadcast_mismatch(void **state)
{
    (void)state;
    nb_graph *g = nb_graph_new(NB_F64);
    nb_node *a = nb_param(g, "a", 2, (int64_t[]){3, 4});
    nb_node *b = nb_param(g, "b", 1, (int64_t[]){5});
    assert_null(nb_add(a, b));
    assert_int_equal(nb_errcode(), NB_ESHAPE);
    assert_non_null(strstr(nb_errmsg(), "add"));
    assert_non_null(strstr(nb_errmsg(), "[3, 4]"));
    assert_non_null(strstr(nb_errmsg(), "[5]"));
    /* the NULL passes through the next builder, keeping the first message */
    assert_null(nb_exp(nb_add(a, b)));
    assert_non_null(strstr(nb_errmsg(), "[3, 4]"));
    nb_graph_free(g);
}

/* ---- matmul and shapes ---------------------------------------------------------------- */
static bool trans_a, trans_b;
static nb_node *case_matmul(nb_graph *g)
{
    nb_node *a = param(g, "a", 2, trans_a ? (int64_t[]){4, 3} : (int64_t[]){3, 4});
    nb_node *b = param(g, "b", 2, trans_b ? (int64_t[]){5, 4} : (int64_t[]){4, 5});
    return nb_matmul(a, b, trans_a, trans_b);
}

static void test_matmul(void **state)
{
    (void)state;
    for (int t = 0; t < 4; t++) {
        trans_a = t & 1, trans_b = t & 2;
        char label[64];
        snprintf(label, sizeof label, "matmul trans_a=%d trans_b=%d", trans_a, trans_b);
        check(label, case_matmul, -2, 2);
    }
    nb_graph *g = nb_graph_new(NB_F32);
    nb_node *a = nb_param(g, "a", 2, (int64_t[]){3, 4});
    nb_node *b = nb_param(g, "b", 2, (int64_t[]){5, 4});
    assert_null(nb_matmul(a, b, false, false));
    assert_int_equal(nb_errcode(), NB_ESHAPE);
    assert_non_null(strstr(nb_errmsg(), "inner dimensions"));
    assert_non_null(nb_matmul(a, b, false, true));
    nb_graph_free(g);
}

static nb_node *case_transpose(nb_graph *g) { return nb_transpose(param(g, "x", 3, (int64_t[]){2, 3, 4})); }
static nb_node *case_reshape(nb_graph *g)
{
    return nb_reshape(param(g, "x", 2, (int64_t[]){2, 6}), 2, (int64_t[]){3, -1});
}
static nb_node *case_sum(nb_graph *g) { return nb_sum(param(g, "x", 2, S34)); }
static nb_node *case_mean(nb_graph *g) { return nb_mean(param(g, "x", 2, S34)); }
static nb_node *case_sum0(nb_graph *g) { return nb_sum_axis(param(g, "x", 2, S34), 0, false); }
static nb_node *case_sum_last_keep(nb_graph *g) { return nb_sum_axis(param(g, "x", 3, (int64_t[]){2, 3, 4}), -1, true); }
static nb_node *case_mean1(nb_graph *g) { return nb_mean_axis(param(g, "x", 3, (int64_t[]){2, 3, 4}), 1, false); }
static nb_node *case_max1(nb_graph *g) { return nb_max_axis(param(g, "x", 2, S34), 1, false); }
static nb_node *case_max0(nb_graph *g) { return nb_max_axis(param(g, "x", 3, (int64_t[]){2, 3, 4}), 0, true); }
static nb_node *case_softmax1(nb_graph *g) { return nb_softmax(param(g, "x", 2, S34), 1); }
static nb_node *case_softmax0(nb_graph *g) { return nb_softmax(param(g, "x", 3, (int64_t[]){2, 3, 4}), 1); }
static nb_node *case_log_softmax(nb_graph *g) { return nb_log_softmax(param(g, "x", 2, S34), -1); }
static nb_node *case_pick(nb_graph *g)
{
    nb_node *labels = nb_const(g, 1, (int64_t[]){3}, (double[]){2, 0, 3});
    return nb_pick(param(g, "x", 2, S34), labels);
}
static nb_node *case_column(nb_graph *g) { return nb_column(param(g, "x", 2, S34), 2); }
static nb_node *case_cross_entropy(nb_graph *g)
{
    /* -mean(log_softmax(x)[i, y_i]) built from parts */
    nb_node *labels = nb_const(g, 1, (int64_t[]){3}, (double[]){1, 3, 0});
    return nb_neg(nb_mean(nb_pick(nb_log_softmax(param(g, "x", 2, S34), 1), labels)));
}

static void test_shapes_and_reductions(void **state)
{
    (void)state;
    check("transpose", case_transpose, -2, 2);
    check("reshape", case_reshape, -2, 2);
    check("sum", case_sum, -2, 2);
    check("mean", case_mean, -2, 2);
    check("sum axis 0", case_sum0, -2, 2);
    check("sum axis -1 keepdim", case_sum_last_keep, -2, 2);
    check("mean axis 1", case_mean1, -2, 2);
    check("max axis 1", case_max1, -2, 2);
    check("max axis 0 keepdim", case_max0, -2, 2);
    check("softmax axis 1", case_softmax1, -3, 3);
    check("softmax middle axis", case_softmax0, -3, 3);
    check("log_softmax", case_log_softmax, -3, 3);
    check("pick", case_pick, -2, 2);
    check("column", case_column, -2, 2);
    check("cross-entropy from parts", case_cross_entropy, -3, 3);
}

static void test_softmax_is_stable(void **state)
{
    (void)state;
    nb_graph *g = nb_graph_new(NB_F32);
    nb_node *x = nb_const(g, 2, (int64_t[]){1, 3}, (double[]){1000, 1001, 1002});
    nb_node *p = nb_softmax(x, 1), *lp = nb_log_softmax(x, 1);
    assert_int_equal(nb_forward(p), NB_OK);
    assert_int_equal(nb_forward(lp), NB_OK);
    double total = 0;
    for (int i = 0; i < 3; i++) {
        assert_true(isfinite(nb_tensor_get(nb_value(p), i)));
        total += nb_tensor_get(nb_value(p), i);
    }
    assert_close(total, 1.0, 1e-6);
    assert_close(nb_tensor_get(nb_value(lp), 2), -0.40760596, 1e-5);
    nb_graph_free(g);
}

/* A column of [N, C] is [N, 1], in float32 as in float64; an index past the columns or a
 * tensor that is not 2-D is refused with a message naming the shape. */
static void test_column(void **state)
{
    (void)state;
    for (int f64 = 0; f64 < 2; f64++) {
        nb_graph *g = nb_graph_new(f64 ? NB_F64 : NB_F32);
        nb_node *x = nb_const(g, 2, (int64_t[]){3, 2}, (double[]){1, -2, 3, -4, 5, -6});
        nb_node *y = nb_column(x, 1);
        assert_int_equal(nb_forward(y), NB_OK);
        assert_int_equal(nb_value(y)->ndim, 2);
        assert_int_equal(nb_value(y)->shape[0], 3);
        assert_int_equal(nb_value(y)->shape[1], 1);
        for (int i = 0; i < 3; i++)
            assert_close(nb_tensor_get(nb_value(y), i), -2.0 * (i + 1), 0);
        nb_node *past = nb_column(x, 2);
        assert_true(past == NULL || nb_forward(past) != NB_OK);
        assert_non_null(strstr(nb_errmsg(), "x must be 2-D [N, C] with C > 2, got [3, 2]"));
        nb_graph_free(g);
    }
    nb_graph *g = nb_graph_new(NB_F64);
    assert_null(nb_column(nb_const(g, 1, (int64_t[]){3}, NULL), 0));
    assert_int_equal(nb_errcode(), NB_ESHAPE);
    assert_null(nb_column(nb_const(g, 2, (int64_t[]){3, 2}, NULL), -1));
    assert_int_equal(nb_errcode(), NB_EARG);
    nb_graph_free(g);
}

static void test_one_hot_and_bad_labels(void **state)
{
    (void)state;
    nb_graph *g = nb_graph_new(NB_F64);
    nb_node *labels = nb_input(g, "labels", 1, (int64_t[]){3});
    nb_node *hot = nb_one_hot(labels, 4);
    assert_int_equal(nb_input_set_doubles(labels, (double[]){2, 0, 3}, 3), NB_OK);
    assert_int_equal(nb_forward(hot), NB_OK);
    double expected[12] = {0, 0, 1, 0, 1, 0, 0, 0, 0, 0, 0, 1};
    for (int i = 0; i < 12; i++)
        assert_true(nb_tensor_get(nb_value(hot), i) == expected[i]);
    assert_int_equal(nb_input_set_doubles(labels, (double[]){2, 4, 1}, 3), NB_OK);
    assert_int_equal(nb_forward(hot), NB_EARG);
    assert_non_null(strstr(nb_errmsg(), "row 1"));
    assert_int_equal(nb_input_set_doubles(labels, (double[]){2, 1.5, 1}, 3), NB_OK);
    assert_int_equal(nb_forward(hot), NB_EARG);
    nb_graph_free(g);
}

/* softmax over an axis of length 0 has nothing to normalise: refused at build, as max
 * is, and at a forward pass whose batch made the axis empty. */
static void test_softmax_empty_axis(void **state)
{
    (void)state;
    nb_graph *g = nb_graph_new(NB_F64);
    nb_node *empty = nb_input(g, "empty", 2, (int64_t[]){3, 0});
    assert_null(nb_softmax(empty, 1));
    assert_int_equal(nb_errcode(), NB_ESHAPE);
    assert_non_null(strstr(nb_errmsg(), "softmax: axis 1 of the input [3, 0] is empty"));
    assert_null(nb_log_softmax(empty, -1));
    assert_non_null(strstr(nb_errmsg(), "log_softmax"));
    nb_node *x = nb_input(g, "x", 2, (int64_t[]){2, 3});
    nb_node *over_batch = nb_softmax(x, 0), *over_rows = nb_softmax(x, 1);
    assert_non_null(over_batch);
    assert_non_null(over_rows);
    assert_int_equal(nb_input_resize(x, 0), NB_OK);
    assert_int_equal(nb_forward(over_batch), NB_ESHAPE);
    assert_int_equal(nb_forward(over_rows), NB_OK); /* no rows: nothing to do */
    assert_int_equal(nb_input_resize(x, 2), NB_OK);
    assert_int_equal(nb_forward(over_batch), NB_OK);
    nb_graph_free(g);
}

/* one_hot, pick and the fused softmax cross-entropy validate labels alike. */
static void test_labels_checked_alike(void **state)
{
    (void)state;
    const double bad[4] = {3, -1, 0.5, NAN};
    const char *shown[4] = {"label 3 in row 1 is not a class in 0..2", "label -1 in row 1", "label 0.5 in row 1",
                            "label nan in row 1"};
    for (int dtype = 0; dtype < 2; dtype++)
        for (int k = 0; k < 4; k++) {
            nb_graph *g = nb_graph_new(dtype ? NB_F32 : NB_F64);
            nb_node *labels = nb_input(g, "labels", 1, (int64_t[]){2});
            nb_node *logits = nb_const(g, 2, (int64_t[]){2, 3}, (double[]){1, 2, 3, 4, 5, 6});
            nb_node *ops[3] = {nb_one_hot(labels, 3), nb_pick(logits, labels), nb_softmax_cross_entropy(logits, labels)};
            const char *names[3] = {"one_hot", "pick", "softmax_cross_entropy"};
            assert_int_equal(nb_input_set_doubles(labels, (double[]){2, bad[k]}, 2), NB_OK);
            for (int op = 0; op < 3; op++) {
                assert_int_equal(nb_forward(ops[op]), NB_EARG);
                if (!strstr(nb_errmsg(), names[op]) || !strstr(nb_errmsg(), shown[k]))
                    fail_msg("%s: '%s' lacks '%s'", names[op], nb_errmsg(), shown[k]);
            }
            assert_int_equal(nb_input_set_doubles(labels, (double[]){2, 0}, 2), NB_OK);
            for (int op = 0; op < 3; op++)
                assert_int_equal(nb_forward(ops[op]), NB_OK);
            nb_graph_free(g);
        }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_unary),
        cmocka_unit_test(test_binary),
        cmocka_unit_test(test_power_gradient_edges),
        cmocka_unit_test(test_broadcast_mismatch),
        cmocka_unit_test(test_matmul),
        cmocka_unit_test(test_column),
        cmocka_unit_test(test_shapes_and_reductions),
        cmocka_unit_test(test_softmax_is_stable),
        cmocka_unit_test(test_one_hot_and_bad_labels),
        cmocka_unit_test(test_softmax_empty_axis),
        cmocka_unit_test(test_labels_checked_alike),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
