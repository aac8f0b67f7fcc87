/* Networks described by text (nb_net_parse, nb_net_format, nb_net_outputs, nb_net) and
 * the convolutional layers they build. */
#include "nb_test.h"

static const char *issue_spec =
    "conv 32 3x3 pad 1 relu, maxpool 2, conv 64 3x3 pad 1 relu, maxpool 2, dense 128 relu, dropout 0.3, dense 10";

static void test_parse_the_cnn(void **state)
{
    (void)state;
    nb_net_spec spec;
    assert_int_equal(nb_net_parse(issue_spec, &spec), NB_OK);
    assert_int_equal(spec.n_layers, 7);
    assert_int_equal(spec.input_ndim, 0);
    const nb_layer_spec *c1 = &spec.layers[0], *p1 = &spec.layers[1], *d = &spec.layers[5];
    assert_int_equal(c1->kind, NB_LAYER_CONV);
    assert_int_equal(c1->units, 32);
    assert_int_equal(c1->kernel_h, 3);
    assert_int_equal(c1->kernel_w, 3);
    assert_int_equal(c1->padding, 1);
    assert_int_equal(c1->stride, 1);
    assert_int_equal(c1->activation, NB_ACT_RELU);
    assert_int_equal(p1->kind, NB_LAYER_MAXPOOL);
    assert_int_equal(p1->stride, 2);
    assert_int_equal(d->kind, NB_LAYER_DROPOUT);
    assert_close(d->rate, 0.3, 0);
    assert_int_equal(spec.layers[6].activation, NB_ACT_NONE);
    int64_t outputs;
    assert_int_equal(nb_net_outputs(&spec, &outputs), NB_ESHAPE); /* no input shape yet */
    assert_non_null(strstr(nb_errmsg(), "input"));
    assert_int_equal(nb_net_set_input(&spec, 3, (int64_t[]){1, 28, 28}), NB_OK);
    assert_int_equal(nb_net_outputs(&spec, &outputs), NB_OK);
    assert_int_equal(outputs, 10);
    /* the text back reads as the same network, with its input */
    char text[512];
    nb_net_format(&spec, text, sizeof text);
    assert_string_equal(text, "input 1x28x28, conv 32 3x3 pad 1 relu, maxpool 2, conv 64 3x3 pad 1 relu, maxpool 2, "
                              "dense 128 relu, dropout 0.3, dense 10");
    nb_net_spec again;
    assert_int_equal(nb_net_parse(text, &again), NB_OK);
    assert_memory_equal(&again, &spec, sizeof spec);
}

static void test_mlp_form_stays(void **state)
{
    (void)state;
    nb_net_spec spec;
    assert_int_equal(nb_net_parse("784-256-128-10:relu", &spec), NB_OK);
    assert_int_equal(spec.n_layers, 3);
    assert_int_equal(spec.input_shape[0], 784);
    char text[128];
    nb_net_format(&spec, text, sizeof text);
    assert_string_equal(text, "784-256-128-10:relu");
    assert_int_equal(nb_net_parse("input 4, dense 8 tanh, dense 3", &spec), NB_OK);
    nb_net_format(&spec, text, sizeof text);
    assert_string_equal(text, "4-8-3:tanh");
    assert_int_equal(nb_net_parse("input 4, dense 8 tanh, batchnorm, dense 3", &spec), NB_OK);
    nb_net_format(&spec, text, sizeof text);
    assert_string_equal(text, "input 4, dense 8 tanh, batchnorm, dense 3");
}

/* Each message names the layer and what is wrong with it. */
static void test_parse_errors(void **state)
{
    (void)state;
    static const struct {
        const char *text, *needle;
    } cases[] = {
        {"conv 32 3x3 pd 1 relu", "'pd'"},
        {"conv 32, dense 10", "kernel"},
        {"conv 3x3", "output channels"},
        {"maxpool 2x3", "square"},
        {"maxpool 2 pad 2", "half"},
        {"dense 10, dropout 1.5", "[0, 1)"},
        {"dense 10 fast", "'fast'"},
        {"lstm 10", "unknown layer"},
        {"dense 10, , dense 3", "layer 2 is empty"},
        {"dense 10, input 3x4x4", "input comes first"},
        {"784-256-x", "column"},
    };
    nb_net_spec spec;
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        assert_int_equal(nb_net_parse(cases[i].text, &spec), NB_EPARSE);
        if (!strstr(nb_errmsg(), cases[i].needle))
            fail_msg("'%s': message '%s' lacks '%s'", cases[i].text, nb_errmsg(), cases[i].needle);
    }
    assert_int_equal(nb_net_parse("input 1x8x8, conv 4 5x5, maxpool 2, conv 4 3x3, dense 2", &spec), NB_OK);
    int64_t outputs;
    assert_int_equal(nb_net_outputs(&spec, &outputs), NB_ESHAPE); /* 8 -> 4 -> 2: no room for 3x3 */
    assert_non_null(strstr(nb_errmsg(), "layer 3 ('conv 4 3x3')"));
    assert_int_equal(nb_net_parse("input 1000000x1000000x1000000, dense 2", &spec), NB_EPARSE);
    assert_int_equal(nb_net_parse("input 1x1024x1024, conv 1073741824 1x1, dense 2", &spec), NB_OK);
    assert_int_equal(nb_net_outputs(&spec, &outputs), NB_ESHAPE); /* no overflow: refused */
    assert_non_null(strstr(nb_errmsg(), "2^40"));
    assert_int_equal(nb_net_parse("input 10, conv 4 3x3", &spec), NB_OK);
    assert_int_equal(nb_net_outputs(&spec, &outputs), NB_ESHAPE);
    assert_non_null(strstr(nb_errmsg(), "needs images"));
}

/* The CNN of the issue on rows of 784 pixels: the parameter count of torch's same
 * network, the output [N, 10], and a backward that reaches every trainable parameter. */
static void test_build_the_cnn(void **state)
{
    (void)state;
    nb_net_spec spec;
    assert_int_equal(nb_net_parse(issue_spec, &spec), NB_OK);
    assert_int_equal(nb_net_set_input(&spec, 3, (int64_t[]){1, 28, 28}), NB_OK);
    nb_graph *g = nb_graph_new(NB_F32);
    nb_rng rng;
    nb_rng_seed(&rng, 1);
    nb_node *x = nb_input(g, "x", 2, (int64_t[]){5, 784}), *labels = nb_input(g, "y", 1, (int64_t[]){5});
    nb_node *logits = nb_net(x, &spec, NB_INIT_KAIMING_UNIFORM, &rng);
    assert_non_null(logits);
    assert_int_equal(nb_value(logits)->ndim, 2);
    assert_int_equal(nb_value(logits)->shape[1], 10);
    int64_t expected = (32 * 9 + 32) + (64 * 32 * 9 + 64) + (3136 * 128 + 128) + (128 * 10 + 10);
    assert_int_equal(nb_n_params(g), expected);
    assert_non_null(nb_find(g, "conv2.weight"));
    assert_non_null(nb_find(g, "fc2.bias"));
    nb_node *loss = nb_cross_entropy_loss(logits, labels, NB_REDUCE_MEAN);
    nb_tensor_fill_uniform(nb_value(x), &rng, 0, 1);
    nb_graph_set_training(g, true);
    assert_int_equal(nb_forward(loss), NB_OK);
    assert_int_equal(nb_backward(loss), NB_OK);
    for (int i = 0; i < nb_param_count(g); i++) {
        const nb_tensor *grad = nb_grad(nb_param_at(g, i));
        double norm = 0;
        for (int64_t k = 0; k < grad->size; k++)
            norm += fabs(nb_tensor_get(grad, k));
        if (!(norm > 0))
            fail_msg("no gradient reached %s", nb_node_name(nb_param_at(g, i)));
    }
    nb_graph_free(g);
}

/* The MLP form builds exactly what nb_mlp builds, number for number. */
static void test_mlp_same_as_nb_mlp(void **state)
{
    (void)state;
    nb_net_spec spec;
    nb_mlp_spec mlp;
    assert_int_equal(nb_net_parse("6-5-3:tanh", &spec), NB_OK);
    assert_int_equal(nb_mlp_parse("6-5-3:tanh", &mlp), NB_OK);
    nb_graph *a = nb_graph_new(NB_F64), *b = nb_graph_new(NB_F64);
    nb_rng ra, rb;
    nb_rng_seed(&ra, 7);
    nb_rng_seed(&rb, 7);
    assert_non_null(nb_net(nb_input(a, "x", 2, (int64_t[]){2, 6}), &spec, NB_INIT_XAVIER_UNIFORM, &ra));
    assert_non_null(nb_mlp(nb_input(b, "x", 2, (int64_t[]){2, 6}), &mlp, NB_INIT_XAVIER_UNIFORM, &rb));
    assert_int_equal(nb_n_params(a), nb_n_params(b));
    assert_memory_equal(nb_params_data(a), nb_params_data(b), (size_t)nb_n_params(a) * sizeof(double));
    nb_graph_free(a);
    nb_graph_free(b);
}

/* Batch norm's running statistics are frozen parameters: saved with the model, left
 * alone by the optimizer, moved by training-mode forwards only. */
static void test_batch_norm_layer_state(void **state)
{
    (void)state;
    nb_graph *g = nb_graph_new(NB_F64);
    nb_node *x = nb_input(g, "x", 4, (int64_t[]){4, 2, 3, 3});
    nb_node *y = nb_batch_norm_layer(x, "bn1");
    assert_non_null(y);
    nb_node *mean = nb_find(g, "bn1.running_mean"), *var = nb_find(g, "bn1.running_var");
    assert_non_null(mean);
    assert_false(nb_requires_grad(mean));
    assert_false(nb_requires_grad(var));
    assert_close(nb_tensor_get(nb_value(var), 1), 1, 0);
    assert_close(nb_tensor_get(nb_value(nb_find(g, "bn1.weight")), 0), 1, 0);
    nb_rng rng;
    nb_rng_seed(&rng, 2);
    nb_tensor_fill_uniform(nb_value(x), &rng, 3, 5);
    assert_int_equal(nb_forward(y), NB_OK); /* evaluation: the statistics stay */
    assert_close(nb_tensor_get(nb_value(mean), 0), 0, 0);
    nb_graph_set_training(g, true);
    assert_int_equal(nb_forward(y), NB_OK);
    assert_true(nb_tensor_get(nb_value(mean), 0) > 0.3); /* 0.1 of a mean near 4 */
    nb_graph_free(g);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_parse_the_cnn),         cmocka_unit_test(test_mlp_form_stays),
        cmocka_unit_test(test_parse_errors),          cmocka_unit_test(test_build_the_cnn),
        cmocka_unit_test(test_mlp_same_as_nb_mlp),    cmocka_unit_test(test_batch_norm_layer_state),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
