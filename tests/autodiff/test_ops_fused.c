/* The fused ops (src/autodiff/ops/fused.c): backward against central finite differences
 * in float64, float32 forward against float64, values and gradients against the same
 * formula built from unfused ops (on sizes that run on several threads; linear's the
 * same bits), the same bits for the same thread count, and every bad input. */
#include "nb_test.h"

#include <stdlib.h>
#include <string.h>

typedef nb_node *(*builder)(nb_graph *graph);

static nb_rng rng;

/* A parameter filled from the shared generator, so that the f32 and f64 builds of a
 * case see the same numbers. */
static nb_node *param(nb_graph *graph, const char *name, int64_t rows, int64_t cols)
{
    int64_t shape[2] = {rows, cols};
    nb_node *node = nb_param(graph, name, cols ? 2 : 1, shape);
    if (node)
        nb_tensor_fill_uniform(nb_value(node), &rng, -1.5, 1.5);
    return node;
}

static nb_node *labels_of(nb_graph *graph, int64_t rows, const double *values)
{
    return nb_const(graph, 1, (int64_t[]){rows}, values);
}

static nb_node *build_case(nb_dtype dtype, builder build, nb_graph **graph_out, nb_node **out)
{
    nb_rng_seed(&rng, 99);
    nb_graph *graph = nb_graph_new(dtype);
    *out = build(graph);
    if (!*out)
        fail_msg("build failed: %s", nb_errmsg());
    /* loss = sum(out * weights): every output element gets its own weight */
    nb_tensor *value = nb_value(*out);
    double weights[4096];
    for (int64_t i = 0; i < value->size; i++)
        weights[i] = 0.5 + nb_rng_uniform(&rng);
    nb_node *loss = nb_sum(nb_mul(*out, nb_const(graph, value->ndim, value->shape, weights)));
    *graph_out = graph;
    return loss;
}

static void check(const char *label, builder build)
{
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

/* ---- gradient checks ------------------------------------------------------------------ */

#define LINEAR_CASE(name, with_bias, activation)                                                   \
    static nb_node *case_##name(nb_graph *g)                                                       \
    {                                                                                              \
        nb_node *x = param(g, "x", 5, 4), *w = param(g, "w", 3, 4);                                \
        nb_node *b = with_bias ? param(g, "b", 3, 0) : NULL;                                       \
        return nb_linear_act(x, w, b, activation);                                                 \
    }
LINEAR_CASE(linear, true, NB_ACT_NONE)
LINEAR_CASE(linear_no_bias, false, NB_ACT_NONE)
LINEAR_CASE(linear_relu, true, NB_ACT_RELU)
LINEAR_CASE(linear_relu_no_bias, false, NB_ACT_RELU)
LINEAR_CASE(linear_tanh, true, NB_ACT_TANH)
LINEAR_CASE(linear_sigmoid, true, NB_ACT_SIGMOID)

/* x as data (no gradient into it): only the weight and bias are checked */
static nb_node *case_linear_data_input(nb_graph *g)
{
    nb_node *x = nb_input(g, "x", 2, (int64_t[]){4, 3});
    nb_tensor_fill_uniform(nb_value(x), &rng, -1, 1);
    return nb_linear(x, param(g, "w", 2, 3), param(g, "b", 2, 0));
}

static nb_node *case_softmax_ce(nb_graph *g)
{
    nb_node *logits = param(g, "logits", 6, 4);
    return nb_softmax_cross_entropy(logits, labels_of(g, 6, (double[]){0, 3, 1, 1, 2, 3}));
}

/* A small MLP end to end: linear+relu, linear+tanh, linear, softmax cross-entropy */
static nb_node *case_mlp(nb_graph *g)
{
    nb_node *x = nb_input(g, "x", 2, (int64_t[]){5, 6});
    nb_tensor_fill_uniform(nb_value(x), &rng, -1, 1);
    nb_node *h1 = nb_linear_act(x, param(g, "w1", 7, 6), param(g, "b1", 7, 0), NB_ACT_RELU);
    nb_node *h2 = nb_linear_act(h1, param(g, "w2", 4, 7), param(g, "b2", 4, 0), NB_ACT_TANH);
    nb_node *logits = nb_linear(h2, param(g, "w3", 3, 4), param(g, "b3", 3, 0));
    return nb_softmax_cross_entropy(logits, labels_of(g, 5, (double[]){2, 0, 1, 2, 1}));
}

/* One hidden node with several consumers, in both orders of the ops that store their
 * first gradient (linear, matmul, softmax cross-entropy) and those that add (mul, add):
 * every consumer's share must reach it, whichever writes first. */
static nb_node *case_shared_hidden(nb_graph *g)
{
    nb_node *x = nb_input(g, "x", 2, (int64_t[]){5, 4});
    nb_tensor_fill_uniform(nb_value(x), &rng, -1, 1);
    nb_node *h = nb_linear_act(x, param(g, "w1", 6, 4), param(g, "b1", 6, 0), NB_ACT_TANH);
    nb_node *a = nb_linear(h, param(g, "w2", 3, 6), param(g, "b2", 3, 0));
    nb_node *b = nb_linear_act(h, param(g, "w3", 3, 6), NULL, NB_ACT_SIGMOID);
    nb_node *c = nb_matmul(nb_mul(h, h), param(g, "w4", 3, 6), false, true);
    nb_node *logits = nb_add(nb_add(a, b), nb_add(c, nb_matmul(h, param(g, "w5", 6, 3), false, false)));
    return nb_add(nb_mul(logits, logits),
                  nb_softmax_cross_entropy(logits, labels_of(g, 5, (double[]){1, 0, 2, 2, 1})));
}

/* The same weight used by two layers, and a layer fed by a node that feeds the loss too */
static nb_node *case_shared_weight(nb_graph *g)
{
    nb_node *x = param(g, "x", 4, 5);
    nb_node *w = param(g, "w", 5, 5);
    nb_node *h = nb_linear_act(x, w, NULL, NB_ACT_RELU);
    nb_node *y = nb_linear_act(h, w, param(g, "b", 5, 0), NB_ACT_TANH);
    return nb_add(y, nb_scale(h, 0.5));
}

static void test_gradients(void **state)
{
    (void)state;
    check("linear", case_linear);
    check("linear without bias", case_linear_no_bias);
    check("linear + relu", case_linear_relu);
    check("linear + relu without bias", case_linear_relu_no_bias);
    check("linear + tanh", case_linear_tanh);
    check("linear + sigmoid", case_linear_sigmoid);
    check("linear on data", case_linear_data_input);
    check("softmax cross-entropy", case_softmax_ce);
    check("mlp", case_mlp);
    check("a node with several consumers", case_shared_hidden);
    check("a weight shared by two layers", case_shared_weight);
}

static double *gradients_after(nb_graph *graph, nb_node *loss);

/* Parameters' gradients accumulate over backward passes until zeroed, also where an op
 * stores the first gradient of its (op node) inputs. */
static void test_gradients_accumulate(void **state)
{
    (void)state;
    nb_graph *graph;
    nb_node *out;
    nb_node *loss = build_case(NB_F64, case_mlp, &graph, &out);
    double *once = gradients_after(graph, loss);
    for (int pass = 2; pass <= 3; pass++) {
        assert_int_equal(nb_forward(loss), NB_OK);
        assert_int_equal(nb_backward(loss), NB_OK);
        const double *grads = nb_grads_data(graph);
        for (int64_t i = 0; i < nb_n_params(graph); i++)
            assert_close(grads[i], pass * once[i], 1e-12 * fmax(1, fabs(once[i])));
    }
    free(once);
    nb_graph_free(graph);
}

/* ---- against the unfused formula, on sizes that run on several threads -------------------- */

typedef struct twin {
    nb_graph *graph;
    nb_node *x, *w, *b, *fused_loss, *plain_loss;
} twin;

/* The same parameters feed a fused and an unfused expression of one activation. */
static twin linear_twin(nb_dtype dtype, nb_activation activation, int64_t rows, int64_t in, int64_t out)
{
    twin t = {.graph = nb_graph_new(dtype)};
    nb_rng_seed(&rng, 5);
    t.x = param(t.graph, "x", rows, in);
    t.w = param(t.graph, "w", out, in);
    t.b = param(t.graph, "b", out, 0);
    nb_node *z = nb_add(nb_matmul(t.x, t.w, false, true), t.b);
    nb_node *plain = activation == NB_ACT_RELU   ? nb_relu(z)
                     : activation == NB_ACT_TANH ? nb_tanh(z)
                     : activation == NB_ACT_SIGMOID ? nb_sigmoid(z)
                                                    : z;
    nb_node *fused = nb_linear_act(t.x, t.w, t.b, activation);
    /* a loss whose gradient differs per element: sum(y * y) */
    t.fused_loss = nb_sum(nb_mul(fused, fused));
    t.plain_loss = nb_sum(nb_mul(plain, plain));
    assert_non_null(t.fused_loss);
    assert_non_null(t.plain_loss);
    return t;
}

/* Gradient of every parameter after backward from `loss`, as doubles. */
static double *gradients_after(nb_graph *graph, nb_node *loss)
{
    nb_zero_grad(graph);
    assert_int_equal(nb_forward(loss), NB_OK);
    assert_int_equal(nb_backward(loss), NB_OK);
    int64_t n = nb_n_params(graph);
    double *grads = malloc(sizeof(double) * (size_t)n);
    for (int64_t i = 0; i < n; i++)
        grads[i] = nb_graph_dtype(graph) == NB_F64 ? ((double *)nb_grads_data(graph))[i]
                                                    : ((float *)nb_grads_data(graph))[i];
    return grads;
}

static void compare_twin(twin *t, double tolerance, const char *label)
{
    double *fused = gradients_after(t->graph, t->fused_loss);
    double fused_loss = nb_item(t->fused_loss);
    double *plain = gradients_after(t->graph, t->plain_loss);
    double plain_loss = nb_item(t->plain_loss);
    assert_close(fused_loss, plain_loss, tolerance * fmax(1, fabs(plain_loss)));
    for (int64_t i = 0; i < nb_n_params(t->graph); i++)
        if (!(fabs(fused[i] - plain[i]) <= tolerance * fmax(1, fabs(plain[i]))))
            fail_msg("%s: gradient %lld is %.10g fused, %.10g unfused", label, (long long)i, fused[i], plain[i]);
    free(fused);
    free(plain);
}

static void test_linear_matches_unfused(void **state)
{
    (void)state;
    const nb_activation activations[] = {NB_ACT_NONE, NB_ACT_RELU, NB_ACT_TANH, NB_ACT_SIGMOID};
    for (int threads = 1; threads <= 2; threads++) {
        nb_set_threads(threads);
        for (int a = 0; a < 4; a++) {
            /* 300 x 150 outputs: past the threshold where the passes run on threads. The
             * activations are the elementwise ops' own lines (activations.h), applied in
             * the same order: the same bits, f32 and f64 */
            twin t = linear_twin(NB_F64, activations[a], 300, 20, 150);
            compare_twin(&t, 0, "linear f64");
            nb_graph_free(t.graph);
            t = linear_twin(NB_F32, activations[a], 300, 20, 150);
            compare_twin(&t, 0, "linear f32");
            nb_graph_free(t.graph);
        }
    }
    nb_set_threads(0);
}

static void test_softmax_ce_matches_unfused(void **state)
{
    (void)state;
    enum { ROWS = 5000, CLASSES = 10 };
    double *labels = malloc(sizeof(double) * ROWS);
    for (int i = 0; i < ROWS; i++)
        labels[i] = (i * 7) % CLASSES;
    for (int threads = 1; threads <= 2; threads++) {
        nb_set_threads(threads);
        nb_graph *g = nb_graph_new(NB_F64);
        nb_rng_seed(&rng, 11);
        nb_node *logits = param(g, "logits", ROWS, CLASSES);
        nb_node *y = labels_of(g, ROWS, labels);
        twin t = {.graph = g};
        t.fused_loss = nb_softmax_cross_entropy(logits, y);
        t.plain_loss = nb_neg(nb_mean(nb_pick(nb_log_softmax(logits, 1), y)));
        compare_twin(&t, 1e-12, "softmax cross-entropy");
        nb_graph_free(g);
    }
    nb_set_threads(0);
    free(labels);
}

/* Large logits: the max is subtracted first, so nothing overflows. */
static void test_softmax_ce_stable(void **state)
{
    (void)state;
    nb_graph *g = nb_graph_new(NB_F32);
    nb_node *logits = nb_const(g, 2, (int64_t[]){2, 3}, (double[]){1000, 0, -1000, 50, 51, 52});
    nb_node *loss = nb_softmax_cross_entropy(logits, labels_of(g, 2, (double[]){0, 2}));
    assert_int_equal(nb_forward(loss), NB_OK);
    /* row 0: log(1 + e^-1000 + e^-2000) ≈ 0; row 1: log(e^-2 + e^-1 + 1) */
    assert_close(nb_item(loss), 0.5 * log(exp(-2.0) + exp(-1.0) + 1.0), 1e-6);
    nb_graph_free(g);
}

/* The same thread count gives the same bits, run after run. */
static void test_same_threads_same_bits(void **state)
{
    (void)state;
    nb_set_threads(2);
    twin t = linear_twin(NB_F32, NB_ACT_RELU, 300, 40, 150);
    double *first = gradients_after(t.graph, t.fused_loss);
    for (int run = 0; run < 3; run++) {
        double *again = gradients_after(t.graph, t.fused_loss);
        assert_memory_equal(first, again, sizeof(double) * (size_t)nb_n_params(t.graph));
        free(again);
    }
    free(first);
    nb_graph_free(t.graph);
    nb_set_threads(0);
}

/* ---- bad input ------------------------------------------------------------------------------ */

static void expect_label_error(double bad, const char *message)
{
    nb_graph *g = nb_graph_new(NB_F64);
    nb_node *logits = nb_param(g, "logits", 2, (int64_t[]){3, 4});
    nb_node *labels = nb_input(g, "labels", 1, (int64_t[]){3});
    assert_int_equal(nb_input_set_doubles(labels, (double[]){1, bad, 0}, 3), NB_OK);
    nb_node *loss = nb_softmax_cross_entropy(logits, labels);
    assert_non_null(loss);
    assert_int_equal(nb_forward(loss), NB_EARG);
    if (!strstr(nb_errmsg(), message))
        fail_msg("message '%s' lacks '%s'", nb_errmsg(), message);
    /* fixed data: the same graph runs */
    assert_int_equal(nb_input_set_doubles(labels, (double[]){1, 3, 0}, 3), NB_OK);
    assert_int_equal(nb_forward(loss), NB_OK);
    assert_close(nb_item(loss), log(4.0), 1e-12); /* zero logits: uniform */
    nb_graph_free(g);
}

static void test_bad_labels(void **state)
{
    (void)state;
    expect_label_error(4, "label 4 in row 1 is not a class in 0..3");
    expect_label_error(-1, "label -1 in row 1");
    expect_label_error(1.5, "label 1.5 in row 1");
    expect_label_error(NAN, "in row 1");
}

static void expect_build_error(nb_node *node, nb_status status, const char *message)
{
    assert_null(node);
    assert_int_equal(nb_errcode(), status);
    if (!strstr(nb_errmsg(), message))
        fail_msg("message '%s' lacks '%s'", nb_errmsg(), message);
    nb_clear_error();
}

static void test_bad_shapes(void **state)
{
    (void)state;
    nb_graph *g = nb_graph_new(NB_F32);
    nb_node *x = nb_input(g, "x", 2, (int64_t[]){8, 5});
    nb_node *flat = nb_input(g, "flat", 1, (int64_t[]){5});
    nb_node *w = nb_param(g, "w", 2, (int64_t[]){3, 5});
    nb_node *w_wrong = nb_param(g, "w_wrong", 2, (int64_t[]){3, 4});
    nb_node *b = nb_param(g, "b", 1, (int64_t[]){3});
    nb_node *b_wrong = nb_param(g, "b_wrong", 1, (int64_t[]){4});
    expect_build_error(nb_linear(x, w_wrong, b), NB_ESHAPE, "got x [8, 5], weight [3, 4]");
    expect_build_error(nb_linear(flat, w, b), NB_ESHAPE, "got x [5], weight [3, 5]");
    expect_build_error(nb_linear(x, w, b_wrong), NB_ESHAPE, "bias must be [3]");
    expect_build_error(nb_linear_act(x, w, b, (nb_activation)7), NB_EARG, "unknown activation 7");
    expect_build_error(nb_linear(NULL, w, b), NB_EARG, "input 1 is NULL");

    nb_node *logits = nb_linear(x, w, b);
    assert_non_null(logits);
    nb_node *labels = nb_input(g, "labels", 1, (int64_t[]){8});
    nb_node *labels_short = nb_input(g, "labels_short", 1, (int64_t[]){7});
    expect_build_error(nb_softmax_cross_entropy(logits, labels_short), NB_ESHAPE, "labels must be [8]");
    expect_build_error(nb_softmax_cross_entropy(flat, labels), NB_ESHAPE, "logits must be [N, C]");
    nb_node *loss = nb_softmax_cross_entropy(logits, labels);
    assert_non_null(loss);
    /* a batch that no longer fits the labels fails at the next forward, naming both */
    assert_int_equal(nb_input_resize(x, 6), NB_OK);
    assert_int_equal(nb_forward(loss), NB_ESHAPE);
    assert_non_null(strstr(nb_errmsg(), "labels must be [6]"));
    nb_graph_free(g);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_gradients),
        cmocka_unit_test(test_gradients_accumulate),
        cmocka_unit_test(test_linear_matches_unfused),
        cmocka_unit_test(test_softmax_ce_matches_unfused),
        cmocka_unit_test(test_softmax_ce_stable),
        cmocka_unit_test(test_same_threads_same_bits),
        cmocka_unit_test(test_bad_labels),
        cmocka_unit_test(test_bad_shapes),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
