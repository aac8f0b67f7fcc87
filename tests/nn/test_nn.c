/* Layers, initialisers, losses and the accuracy metric. */
#include "nb_test.h"

#include <string.h>

static void test_mlp_spec(void **state)
{
    (void)state;
    nb_mlp_spec spec;
    assert_int_equal(nb_mlp_parse("784-256-128-10:relu", &spec), NB_OK);
    assert_int_equal(spec.n_sizes, 4);
    assert_true(spec.sizes[0] == 784 && spec.sizes[3] == 10 && spec.activation == NB_ACT_RELU);
    char text[64];
    nb_mlp_format(&spec, text, sizeof text);
    assert_string_equal(text, "784-256-128-10:relu");
    assert_int_equal(nb_mlp_parse("4-1", &spec), NB_OK);
    assert_int_equal(spec.activation, NB_ACT_RELU);
    assert_int_equal(nb_mlp_parse("10-7-10:tanh", &spec), NB_OK);
    assert_int_equal(spec.activation, NB_ACT_TANH);
    const char *bad[] = {"", "784", "784-x-10", "784--10", "784-0-10", "784-10:swish", "784-10;relu"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        assert_int_equal(nb_mlp_parse(bad[i], &spec), NB_EPARSE);
        assert_non_null(strstr(nb_errmsg(), "spec"));
    }
}

static void test_mlp_builds_and_checks_gradients(void **state)
{
    (void)state;
    nb_graph *g = nb_graph_new(NB_F64);
    nb_node *x = nb_input(g, "x", 2, (int64_t[]){5, 4});
    nb_node *labels = nb_input(g, "labels", 1, (int64_t[]){5});
    nb_mlp_spec spec;
    assert_int_equal(nb_mlp_parse("4-6-3:tanh", &spec), NB_OK);
    nb_rng rng;
    nb_rng_seed(&rng, 3);
    nb_node *logits = nb_mlp(x, &spec, NB_INIT_XAVIER_UNIFORM, &rng);
    nb_node *loss = nb_cross_entropy_loss(logits, labels, NB_REDUCE_MEAN);
    assert_non_null(loss);
    assert_int_equal(nb_param_count(g), 4);
    assert_string_equal(nb_node_name(nb_param_at(g, 0)), "fc1.weight");
    assert_string_equal(nb_node_name(nb_param_at(g, 3)), "fc2.bias");
    assert_int_equal(nb_n_params(g), 4 * 6 + 6 + 6 * 3 + 3);
    double data[20];
    for (int i = 0; i < 20; i++)
        data[i] = nb_rng_normal(&rng);
    nb_input_set_doubles(x, data, 5);
    nb_input_set_doubles(labels, (double[]){0, 2, 1, 1, 0}, 5);
    nb_gradcheck_result result;
    assert_int_equal(nb_gradcheck(loss, 0, &result), NB_OK);
    assert_true(result.max_error < 1e-7);

    /* the input width must match the spec */
    nb_node *wide = nb_input(g, "wide", 2, (int64_t[]){5, 7});
    assert_null(nb_mlp(wide, &spec, NB_INIT_XAVIER_UNIFORM, &rng));
    assert_int_equal(nb_errcode(), NB_ESHAPE);
    assert_non_null(strstr(nb_errmsg(), "4 inputs"));
    nb_graph_free(g);
}

static void test_initialisers(void **state)
{
    (void)state;
    nb_graph *g = nb_graph_new(NB_F32);
    nb_node *w = nb_param(g, "w", 2, (int64_t[]){200, 300});
    nb_rng rng;
    nb_rng_seed(&rng, 9);
    assert_int_equal(nb_init_param(w, NB_INIT_KAIMING_UNIFORM, 300, 200, &rng), NB_OK);
    double bound = sqrt(6.0 / 300), max = 0, sum2 = 0;
    const nb_tensor *v = nb_value(w);
    for (int64_t i = 0; i < v->size; i++) {
        double x = nb_tensor_get(v, i);
        max = fmax(max, fabs(x));
        sum2 += x * x;
    }
    assert_true(max <= bound);
    assert_close(sum2 / (double)v->size, 2.0 / 300, 0.1 * 2.0 / 300); /* variance of U(-a, a) is a²/3 */
    assert_int_equal(nb_init_param(w, NB_INIT_XAVIER_NORMAL, 300, 200, &rng), NB_OK);
    sum2 = 0;
    for (int64_t i = 0; i < v->size; i++)
        sum2 += nb_tensor_get(v, i) * nb_tensor_get(v, i);
    assert_close(sum2 / (double)v->size, 2.0 / 500, 0.1 * 2.0 / 500);
    nb_init init;
    assert_int_equal(nb_init_parse("kaiming", &init), NB_OK);
    assert_int_equal(init, NB_INIT_KAIMING_UNIFORM);
    assert_int_equal(nb_init_parse("he", &init), NB_EARG);
    nb_graph_free(g);
}

/* Every loss on the same numbers, against the formula written out here. */
static const double pred[4] = {0.5, -1.0, 2.0, 3.5}, target[4] = {1.0, -1.5, 0.0, 3.0};

static double loss_value(nb_node *(*make)(nb_node *, nb_node *, nb_reduction), nb_reduction reduction)
{
    nb_graph *g = nb_graph_new(NB_F64);
    nb_node *p = nb_param(g, "p", 1, (int64_t[]){4});
    nb_tensor_from_doubles(nb_value(p), pred);
    nb_node *t = nb_const(g, 1, (int64_t[]){4}, target);
    nb_node *loss = make(p, t, reduction);
    assert_int_equal(nb_forward(loss), NB_OK);
    nb_gradcheck_result result;
    assert_int_equal(nb_gradcheck(loss, 0, &result), NB_OK);
    if (!(result.max_error < 1e-7))
        fail_msg("gradient error %g", result.max_error);
    double value = nb_item(loss);
    nb_graph_free(g);
    return value;
}

static nb_node *huber_1(nb_node *p, nb_node *t, nb_reduction r) { return nb_huber_loss(p, t, 1.0, r); }

static void test_regression_losses(void **state)
{
    (void)state;
    double se = 0, ae = 0, huber = 0;
    for (int i = 0; i < 4; i++) {
        double d = pred[i] - target[i];
        se += d * d;
        ae += fabs(d);
        huber += fabs(d) <= 1 ? 0.5 * d * d : fabs(d) - 0.5;
    }
    assert_close(loss_value(nb_mse_loss, NB_REDUCE_MEAN), se / 4, 1e-15);
    assert_close(loss_value(nb_mse_loss, NB_REDUCE_SUM), se, 1e-15);
    assert_close(loss_value(nb_mae_loss, NB_REDUCE_MEAN), ae / 4, 1e-15);
    assert_close(loss_value(nb_mae_loss, NB_REDUCE_SUM), ae, 1e-15);
    assert_close(loss_value(huber_1, NB_REDUCE_SUM), huber, 1e-15);
    assert_close(loss_value(huber_1, NB_REDUCE_MEAN), huber / 4, 1e-15);

    nb_graph *g = nb_graph_new(NB_F64);
    nb_node *p = nb_const(g, 1, (int64_t[]){4}, pred), *t = nb_const(g, 1, (int64_t[]){4}, target);
    nb_node *sse = nb_sse_loss(p, t), *half = nb_half_sse_loss(p, t);
    assert_int_equal(nb_forward(sse), NB_OK);
    assert_int_equal(nb_forward(half), NB_OK);
    assert_close(nb_item(sse), se, 1e-15);
    assert_close(nb_item(half), se / 2, 1e-15);
    assert_null(nb_huber_loss(p, t, 0, NB_REDUCE_MEAN));
    assert_non_null(strstr(nb_errmsg(), "delta"));
    nb_graph_free(g);
}

static void test_classification_losses(void **state)
{
    (void)state;
    nb_graph *g = nb_graph_new(NB_F64);
    /* BCE from logits, including a zero logit (gradient sigmoid(0) - t = 0.5 - t) and a
     * huge one that would overflow a naive exp */
    nb_node *z = nb_param(g, "z", 1, (int64_t[]){3});
    nb_tensor_from_doubles(nb_value(z), (double[]){0.0, 800.0, -2.0});
    nb_node *t = nb_const(g, 1, (int64_t[]){3}, (double[]){1.0, 0.0, 0.25});
    nb_node *bce = nb_bce_logits_loss(z, t, NB_REDUCE_SUM);
    assert_int_equal(nb_forward(bce), NB_OK);
    double expected = log(2.0) + 800.0 + (-0.25 * log(1 / (1 + exp(2.0))) - 0.75 * log(1 - 1 / (1 + exp(2.0))));
    assert_close(nb_item(bce), expected, 1e-12);
    assert_int_equal(nb_backward(bce), NB_OK);
    assert_close(nb_tensor_get(nb_grad(z), 0), -0.5, 1e-15);
    assert_close(nb_tensor_get(nb_grad(z), 1), 1.0, 1e-15);

    /* cross-entropy and accuracy */
    nb_node *logits = nb_const(g, 2, (int64_t[]){2, 3}, (double[]){1, 2, 3, 5, 1, 1});
    nb_node *labels = nb_const(g, 1, (int64_t[]){2}, (double[]){2, 1});
    nb_node *ce = nb_cross_entropy_loss(logits, labels, NB_REDUCE_MEAN);
    assert_int_equal(nb_forward(ce), NB_OK);
    double row0 = -(3 - log(exp(1) + exp(2) + exp(3))), row1 = -(1 - log(exp(5) + 2 * exp(1)));
    assert_close(nb_item(ce), (row0 + row1) / 2, 1e-14);
    double accuracy;
    assert_int_equal(nb_accuracy(nb_value(logits), nb_value(labels), &accuracy), NB_OK);
    assert_close(accuracy, 0.5, 0);
    int64_t argmax[2];
    nb_argmax_rows(nb_value(logits), argmax);
    assert_true(argmax[0] == 2 && argmax[1] == 0);
    nb_graph_free(g);
}

/* A prediction [3, 1] against a target [3] would broadcast to [3, 3] and average nine
 * differences: every regression loss and BCE refuses shapes that differ, naming both. */
static void test_losses_need_equal_shapes(void **state)
{
    (void)state;
    nb_graph *g = nb_graph_new(NB_F64);
    nb_node *column = nb_const(g, 2, (int64_t[]){3, 1}, (double[]){1, 2, 3});
    nb_node *flat = nb_const(g, 1, (int64_t[]){3}, (double[]){1, 2, 3});
    nb_node *built[6] = {nb_mse_loss(column, flat, NB_REDUCE_MEAN), nb_sse_loss(column, flat),
                         nb_half_sse_loss(column, flat),           nb_mae_loss(column, flat, NB_REDUCE_SUM),
                         nb_huber_loss(column, flat, 1.0, NB_REDUCE_MEAN),
                         nb_bce_logits_loss(column, flat, NB_REDUCE_MEAN)};
    const char *names[6] = {"mse", "sse", "sse", "mae", "huber", "bce"};
    for (int k = 0; k < 6; k++) {
        if (built[k])
            fail_msg("loss %d (%s) accepted a prediction [3, 1] and a target [3]", k, names[k]);
    }
    /* one of them in full: the code and the message */
    assert_null(nb_mse_loss(column, flat, NB_REDUCE_MEAN));
    assert_int_equal(nb_errcode(), NB_ESHAPE);
    assert_non_null(strstr(nb_errmsg(), "mse"));
    assert_non_null(strstr(nb_errmsg(), "[3, 1]"));
    assert_non_null(strstr(nb_errmsg(), "[3]"));
    assert_null(nb_bce_logits_loss(flat, column, NB_REDUCE_MEAN));
    assert_non_null(strstr(nb_errmsg(), "bce"));
    /* a failed builder's NULL keeps its own message */
    assert_null(nb_mse_loss(nb_reshape(flat, 1, (int64_t[]){4}), flat, NB_REDUCE_MEAN));
    assert_non_null(strstr(nb_errmsg(), "reshape"));
    /* the same shapes still work */
    nb_node *fine = nb_mse_loss(nb_reshape(column, 1, (int64_t[]){-1}), flat, NB_REDUCE_MEAN);
    assert_non_null(fine);
    assert_int_equal(nb_forward(fine), NB_OK);
    assert_close(nb_item(fine), 0, 0);
    nb_graph_free(g);
}

/* Shapes that do not fit are refused with both shapes named, never a silent NaN. */
static void test_accuracy_refuses_mismatched_shapes(void **state)
{
    (void)state;
    nb_tensor *logits = nb_tensor_from(NB_F64, 2, (int64_t[]){2, 3}, (double[]){0, 1, 0, 1, 0, 0});
    nb_tensor *labels = nb_tensor_from(NB_F64, 1, (int64_t[]){3}, (double[]){1, 0, 2});
    double accuracy = 0;
    assert_int_equal(nb_accuracy(logits, labels, &accuracy), NB_ESHAPE);
    assert_true(isnan(accuracy));
    assert_non_null(strstr(nb_errmsg(), "[2, 3]"));
    assert_non_null(strstr(nb_errmsg(), "[3]"));
    assert_int_equal(nb_accuracy(logits, NULL, &accuracy), NB_EARG);
    labels->shape[0] = labels->size = 2; /* the first two labels: both right */
    assert_int_equal(nb_accuracy(logits, labels, &accuracy), NB_OK);
    assert_close(accuracy, 1.0, 0);
    nb_tensor_free(logits);
    nb_tensor_free(labels);
}

/* The names of the losses, both ways, and nb_loss building the loss a kind names: the
 * same value as the loss's own builder. */
static void test_loss_names(void **state)
{
    (void)state;
    const char *names[] = {"ce", "mse", "mae", "huber", "bce"};
    for (int k = 0; k < 5; k++) {
        nb_loss_kind kind;
        assert_int_equal(nb_loss_parse(names[k], &kind), NB_OK);
        assert_int_equal(kind, k);
        assert_string_equal(nb_loss_name(kind), names[k]);
    }
    nb_loss_kind kind = NB_LOSS_MSE;
    assert_int_equal(nb_loss_parse("cross-entropy", &kind), NB_OK);
    assert_int_equal(kind, NB_LOSS_CE);
    assert_int_equal(nb_loss_parse("hinge", &kind), NB_EARG);
    assert_non_null(strstr(nb_errmsg(), "unknown loss 'hinge' (known: ce, mse, mae, huber, bce)"));
    assert_int_equal(nb_loss_parse(NULL, &kind), NB_EARG);
    assert_int_equal(kind, NB_LOSS_CE);

    nb_graph *g = nb_graph_new(NB_F64);
    nb_node *p = nb_const(g, 1, (int64_t[]){3}, (double[]){0.5, -2, 3});
    nb_node *t = nb_const(g, 1, (int64_t[]){3}, (double[]){1, 0, 0.25});
    nb_node *pairs[4][2] = {{nb_loss(p, t, NB_LOSS_MSE, NB_REDUCE_SUM), nb_mse_loss(p, t, NB_REDUCE_SUM)},
                            {nb_loss(p, t, NB_LOSS_MAE, NB_REDUCE_MEAN), nb_mae_loss(p, t, NB_REDUCE_MEAN)},
                            {nb_loss(p, t, NB_LOSS_HUBER, NB_REDUCE_MEAN), nb_huber_loss(p, t, 1, NB_REDUCE_MEAN)},
                            {nb_loss(p, t, NB_LOSS_BCE, NB_REDUCE_MEAN), nb_bce_logits_loss(p, t, NB_REDUCE_MEAN)}};
    for (int k = 0; k < 4; k++) {
        assert_int_equal(nb_forward(pairs[k][0]), NB_OK);
        assert_int_equal(nb_forward(pairs[k][1]), NB_OK);
        assert_close(nb_item(pairs[k][0]), nb_item(pairs[k][1]), 0);
    }
    nb_node *logits = nb_const(g, 2, (int64_t[]){2, 3}, (double[]){1, 2, 3, 5, 1, 1});
    nb_node *labels = nb_const(g, 1, (int64_t[]){2}, (double[]){2, 1});
    nb_node *ce = nb_loss(logits, labels, NB_LOSS_CE, NB_REDUCE_MEAN);
    assert_string_equal(nb_node_op(ce), "softmax_cross_entropy");
    assert_null(nb_loss(p, t, (nb_loss_kind)9, NB_REDUCE_MEAN));
    assert_non_null(strstr(nb_errmsg(), "unknown loss kind 9"));
    assert_string_equal(nb_loss_name((nb_loss_kind)9), "unknown");
    nb_graph_free(g);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_accuracy_refuses_mismatched_shapes),
        cmocka_unit_test(test_mlp_spec),           cmocka_unit_test(test_mlp_builds_and_checks_gradients),
        cmocka_unit_test(test_initialisers),       cmocka_unit_test(test_regression_losses),
        cmocka_unit_test(test_classification_losses),
        cmocka_unit_test(test_losses_need_equal_shapes),
        cmocka_unit_test(test_loss_names),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
