/* Model files that carry their network (nb_model_save, nb_model_load): a CNN with batch
 * norm and dropout, and an MLP in the format of nabla 0.1, rebuilt from the file alone
 * and giving the same outputs. */
#include "nb_test.h"

#include <unistd.h>

static char path[] = "/tmp/nabla-model-XXXXXX";

/* Build the spec's model, train-mode forward once (moving batch norm's statistics),
 * save it, load it back and compare the evaluation outputs on the same rows. */
static void round_trip(const char *text, nb_dtype dtype, const char *format)
{
    nb_net_spec spec;
    assert_int_equal(nb_net_parse(text, &spec), NB_OK);
    if (!spec.input_ndim)
        assert_int_equal(nb_net_set_input(&spec, 3, (int64_t[]){2, 6, 6}), NB_OK);
    nb_model a, b;
    nb_rng rng;
    nb_rng_seed(&rng, 4);
    assert_int_equal(nb_model_build(&a, &spec, NB_LOSS_CE, dtype, 5, NB_INIT_KAIMING_UNIFORM, &rng), NB_OK);
    nb_tensor_fill_uniform(nb_value(a.input), &rng, 0, 1);
    nb_graph_set_training(a.graph, true);
    assert_int_equal(nb_forward(a.output), NB_OK);
    nb_graph_set_training(a.graph, false);
    assert_int_equal(nb_forward(a.output), NB_OK);
    nb_safetensors_meta_entry note = {"note", "kept"};
    assert_int_equal(nb_model_save(path, &a, &spec, NB_LOSS_CE, &note, 1, NULL, 0), NB_OK);
    nb_net_spec read;
    if (nb_model_load(path, 5, &b, &read) != NB_OK)
        fail_msg("%s: %s", text, nb_errmsg());
    assert_memory_equal(&read, &spec, sizeof spec);
    assert_int_equal(nb_graph_dtype(b.graph), dtype);
    assert_int_equal(nb_n_params(b.graph), nb_n_params(a.graph));
    assert_int_equal(nb_input_set(b.input, nb_value(a.input)), NB_OK);
    assert_int_equal(nb_forward(b.output), NB_OK);
    const nb_tensor *ya = nb_value(a.output), *yb = nb_value(b.output);
    assert_int_equal(ya->size, yb->size);
    for (int64_t i = 0; i < ya->size; i++)
        assert_true(nb_tensor_get(ya, i) == nb_tensor_get(yb, i));
    nb_safetensors *file = nb_safetensors_load(path);
    assert_string_equal(nb_safetensors_meta(file, "format"), format);
    assert_string_equal(nb_safetensors_meta(file, "note"), "kept");
    nb_safetensors_free(file);
    nb_graph_free(a.graph);
    nb_graph_free(b.graph);
}

static void test_round_trips(void **state)
{
    (void)state;
    round_trip("conv 4 3x3 pad 1 relu, batchnorm, maxpool 2, conv 3 2x2 stride 2 tanh, avgpool 1, dense 6 relu, "
               "dropout 0.5, dense 3", NB_F32, "nabla-net-1");
    round_trip("conv 4 3x3 relu, flatten, batchnorm, dense 3", NB_F64, "nabla-net-1");
    round_trip("72-10-3:tanh", NB_F32, "nabla-mlp-1");
}

/* A file whose spec needs a tensor it lacks is refused before the network is built. */
static void test_missing_tensor(void **state)
{
    (void)state;
    nb_graph *g = nb_graph_new(NB_F32);
    nb_node *w = nb_param(g, "fc1.weight", 2, (int64_t[]){3, 4});
    assert_non_null(w);
    nb_safetensors_meta_entry meta[] = {{"format", "nabla-net-1"}, {"model", "input 1x2x2, conv 100000 2x2, dense 3"},
                                        {"loss", "ce"}, {"dtype", "f32"}};
    assert_int_equal(nb_safetensors_save_graph(path, g, NULL, 0, meta, 4), NB_OK);
    nb_model model;
    assert_int_equal(nb_model_load(path, 1, &model, NULL), NB_EFORMAT);
    assert_non_null(strstr(nb_errmsg(), "needs a tensor 'conv1.weight' of shape [100000, 1, 2, 2], and the file has "
                                        "none"));
    assert_null(model.graph);
    meta[0].value = "nabla-cnn-9";
    assert_int_equal(nb_safetensors_save_graph(path, g, NULL, 0, meta, 4), NB_OK);
    assert_int_equal(nb_model_load(path, 1, &model, NULL), NB_EFORMAT);
    assert_non_null(strstr(nb_errmsg(), "'nabla-cnn-9'"));
    nb_graph_free(g);
}

static int setup(void **state)
{
    (void)state;
    int fd = mkstemp(path);
    return fd >= 0 && close(fd) == 0 ? 0 : -1;
}

static int teardown(void **state)
{
    (void)state;
    return unlink(path);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_round_trips),
        cmocka_unit_test(test_missing_tensor),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
