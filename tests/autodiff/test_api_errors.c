/* The public API on bad input: no call reports an error it did not cause (a stale
 * message from an earlier failure), a NULL from a failed builder keeps the message that
 * explains it, and the accessors refuse what they cannot read instead of crashing or
 * reading out of bounds. (nb_accuracy's own refusals: tests/nn/test_nn.c.) */
#include "nb_test.h"

/* An unrelated failure first, as a program that tried a bad thread count would have. */
static void fail_elsewhere(void)
{
    assert_int_equal(nb_set_threads(-5), NB_EARG);
    assert_non_null(strstr(nb_errmsg(), "-5"));
}

static void test_null_input_is_not_an_old_failure(void **state)
{
    (void)state;
    nb_graph *g = nb_graph_new(NB_F64);
    nb_node *x = nb_input(g, "x", 1, (int64_t[]){3});
    fail_elsewhere();
    assert_null(nb_add(x, NULL));
    assert_int_equal(nb_errcode(), NB_EARG);
    assert_string_equal(nb_errmsg(), "add: input 2 is NULL");

    fail_elsewhere();
    assert_int_equal(nb_forward(NULL), NB_EARG);
    assert_string_equal(nb_errmsg(), "nb_forward: the node is NULL");
    fail_elsewhere();
    assert_int_equal(nb_backward(NULL), NB_EARG);
    assert_string_equal(nb_errmsg(), "nb_backward: the node is NULL");
    fail_elsewhere();
    assert_int_equal(nb_input_resize(NULL, 4), NB_EARG);
    assert_non_null(strstr(nb_errmsg(), "nb_input_resize"));
    nb_graph_free(g);
}

/* A chain of builders is checked once at the end: the root cause survives. */
static void test_builder_failure_survives_the_chain(void **state)
{
    (void)state;
    nb_graph *g = nb_graph_new(NB_F64);
    nb_node *a = nb_input(g, "a", 2, (int64_t[]){2, 3});
    nb_node *b = nb_input(g, "b", 2, (int64_t[]){4, 5});
    nb_node *loss = nb_sum(nb_relu(nb_add(nb_matmul(a, b, false, false), nb_scalar(g, 1))));
    assert_null(loss);
    assert_int_equal(nb_errcode(), NB_ESHAPE);
    assert_non_null(strstr(nb_errmsg(), "matmul"));
    assert_non_null(strstr(nb_errmsg(), "[2, 3]"));
    /* ... and is kept by the call that is finally handed the NULL */
    assert_int_equal(nb_forward(loss), NB_ESHAPE);
    assert_non_null(strstr(nb_errmsg(), "matmul"));
    nb_graph_free(g);
}

static void test_item_value_grad_refuse_null(void **state)
{
    (void)state;
    fail_elsewhere();
    assert_true(isnan(nb_item(NULL)));
    assert_string_equal(nb_errmsg(), "nb_item: the node is NULL");
    assert_null(nb_value(NULL));
    assert_string_equal(nb_errmsg(), "nb_value: the node is NULL");
    assert_null(nb_grad(NULL));
    assert_string_equal(nb_errmsg(), "nb_grad: the node is NULL");
    assert_null(nb_node_graph(NULL));

    nb_graph *g = nb_graph_new(NB_F64);
    nb_node *x = nb_input(g, "x", 1, (int64_t[]){3});
    nb_node *s = nb_sum(x);
    assert_true(isnan(nb_item(s))); /* never evaluated */
    assert_int_equal(nb_errcode(), NB_ESTATE);
    assert_non_null(strstr(nb_errmsg(), "nb_forward"));
    nb_graph_free(g);
}

/* Rows of either dtype go into a graph of either dtype, converted; never misread. */
static void test_input_set_converts_and_checks_shape(void **state)
{
    (void)state;
    nb_graph *g = nb_graph_new(NB_F32);
    nb_node *x = nb_input(g, "x", 2, (int64_t[]){1, 2});
    nb_tensor *rows = nb_tensor_from(NB_F64, 2, (int64_t[]){3, 2}, (double[]){1.5, -2, 3, 4, 5, 6.25});
    assert_int_equal(nb_input_set(x, rows), NB_OK);
    nb_tensor *v = nb_value(x);
    assert_int_equal(v->dtype, NB_F32);
    assert_int_equal(v->shape[0], 3);
    for (int64_t i = 0; i < 6; i++)
        assert_close(nb_tensor_get(v, i), nb_tensor_get(rows, i), 0);

    nb_tensor *wrong = nb_tensor_zeros(NB_F32, 2, (int64_t[]){3, 5});
    assert_int_equal(nb_input_set(x, wrong), NB_ESHAPE);
    assert_non_null(strstr(nb_errmsg(), "[3, 5]"));
    assert_int_equal(nb_value(x)->shape[0], 3); /* left as it was */
    assert_int_equal(nb_input_set(x, NULL), NB_EARG);

    /* a binding cannot convert: f64 memory is refused by an f32 graph */
    double memory[4] = {1, 2, 3, 4};
    assert_int_equal(nb_input_bind(x, NB_F64, memory, 2), NB_EDTYPE);
    assert_non_null(strstr(nb_errmsg(), "f64"));
    assert_int_equal(nb_value(x)->shape[0], 3); /* left as it was */
    float floats[4] = {1, 2, 3, 4};
    assert_int_equal(nb_input_bind(x, NB_F32, floats, 2), NB_OK);
    assert_close(nb_tensor_get(nb_value(x), 3), 4, 0);
    nb_tensor_free(wrong);
    nb_tensor_free(rows);
    nb_graph_free(g);
}

static void test_tensor_access_is_bounded(void **state)
{
    (void)state;
    nb_tensor *t = nb_tensor_from(NB_F64, 1, (int64_t[]){3}, (double[]){1, 2, 3});
    assert_true(isnan(nb_tensor_get(t, 3)));
    assert_int_equal(nb_errcode(), NB_EARG);
    assert_non_null(strstr(nb_errmsg(), "index 3"));
    assert_true(isnan(nb_tensor_get(t, -1)));
    assert_int_equal(nb_tensor_set(t, 3, 9), NB_EARG);
    assert_int_equal(nb_tensor_set(t, 2, 9), NB_OK);
    assert_close(nb_tensor_get(t, 2), 9, 0);
    assert_true(isnan(nb_tensor_get(NULL, 0)));
    nb_tensor_free(t);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_null_input_is_not_an_old_failure),
        cmocka_unit_test(test_builder_failure_survives_the_chain),
        cmocka_unit_test(test_item_value_grad_refuse_null),
        cmocka_unit_test(test_input_set_converts_and_checks_shape),
        cmocka_unit_test(test_tensor_access_is_bounded),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
