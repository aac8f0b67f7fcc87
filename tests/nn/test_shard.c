/* Data parallelism without MPI: loaders that share out every batch (nb_loader_shard),
 * and nb_train with a communicator of one rank, which must be nb_train alone, bit for
 * bit. The ranks of a real job are tested under mpirun (tests/mpi/). */
#include "nb_test.h"

/* `size` loaders with one seed give, share by share, the rows of one loader's batches. */
static void check_shares(int64_t n, int64_t batch, int size)
{
    nb_dataset *data = nb_dataset_new(NB_F32, n, 1, 1);
    assert_non_null(data);
    nb_loader *whole = nb_loader_new(data, batch, NB_LOADER_SHUFFLE, 3);
    nb_loader **parts = calloc((size_t)size, sizeof *parts);
    for (int r = 0; r < size; r++) {
        parts[r] = nb_loader_new(data, batch, NB_LOADER_SHUFFLE, 3);
        assert_int_equal(nb_loader_shard(parts[r], r, size), NB_OK);
    }
    for (int epoch = 0; epoch < 2; epoch++) {
        nb_loader_start_epoch(whole, epoch);
        for (int r = 0; r < size; r++)
            nb_loader_start_epoch(parts[r], epoch);
        nb_batch all, part;
        while (nb_loader_next(whole, &all)) {
            int64_t at = 0;
            for (int r = 0; r < size; r++) {
                assert_true(nb_loader_next(parts[r], &part));
                assert_int_equal(part.index, all.index);
                assert_int_equal(part.size, all.size * (r + 1) / size - all.size * r / size);
                for (int64_t i = 0; i < part.size; i++)
                    assert_int_equal(part.rows[i], all.rows[at + i]);
                at += part.size;
            }
            assert_int_equal(at, all.size);
        }
        for (int r = 0; r < size; r++)
            assert_false(nb_loader_next(parts[r], &(nb_batch){0}));
    }
    for (int r = 0; r < size; r++)
        nb_loader_free(parts[r]);
    free(parts);
    nb_loader_free(whole);
    nb_dataset_free(data);
}

static void test_shares_cover_every_batch(void **state)
{
    (void)state;
    check_shares(100, 10, 3); /* shares of 3, 3 and 4 rows */
    check_shares(101, 10, 4); /* a last batch of one row: three empty shares */
    check_shares(7, 7, 1);
}

static void test_shard_refusals(void **state)
{
    (void)state;
    nb_dataset *data = nb_dataset_new(NB_F32, 10, 1, 1);
    nb_loader *loader = nb_loader_new(data, 5, 0, 0);
    assert_int_equal(nb_loader_shard(loader, 2, 2), NB_EARG);
    assert_non_null(strstr(nb_errmsg(), "rank 2 of 2"));
    assert_int_equal(nb_loader_shard(loader, 0, 0), NB_EARG);
    assert_int_equal(nb_loader_shard(NULL, 0, 1), NB_EARG);
    nb_graph *g = nb_graph_new(NB_F32);
    nb_node *x = nb_input(g, "x", 2, (int64_t[]){5, 1}), *y = nb_input(g, "y", 2, (int64_t[]){5, 1});
    assert_int_equal(nb_loader_feed(loader, x, y), NB_OK);
    assert_int_equal(nb_loader_shard(loader, 0, 2), NB_EARG);
    assert_non_null(strstr(nb_errmsg(), "before nb_loader_feed"));
    nb_graph_free(g);
    nb_loader_free(loader);
    nb_dataset_free(data);
}

/* A communicator of one rank: the sums are the values themselves. */
static int exchanges;
static nb_status alone_sum(void *ctx, void *data, int64_t count, nb_dtype dtype)
{
    (void)ctx, (void)data, (void)count, (void)dtype;
    exchanges++;
    return NB_OK;
}
static nb_status alone_broadcast(void *ctx, void *data, size_t bytes, int root)
{
    (void)ctx, (void)data, (void)bytes, (void)root;
    return NB_OK;
}

/* An MLP on a regression problem, its parameters from `seed`. */
static nb_model make_model(uint64_t seed)
{
    nb_graph *g = nb_graph_new(NB_F32);
    nb_model m = {.graph = g};
    m.input = nb_input(g, "x", 2, (int64_t[]){16, 3});
    m.target = nb_input(g, "y", 2, (int64_t[]){16, 1});
    nb_mlp_spec spec;
    nb_mlp_parse("3-8-1:tanh", &spec);
    nb_rng rng;
    nb_rng_seed(&rng, seed);
    m.output = nb_mlp(m.input, &spec, NB_INIT_XAVIER_UNIFORM, &rng);
    m.loss = nb_mse_loss(m.output, m.target, NB_REDUCE_MEAN);
    assert_non_null(m.loss);
    return m;
}

static void test_one_rank_is_training_alone(void **state)
{
    (void)state;
    const double w[3] = {1, -2, 0.5};
    nb_rng rng;
    nb_rng_seed(&rng, 2);
    nb_dataset *data64 = nb_test_linear_data(90, 3, w, 0.3, 0.1, &rng);
    nb_dataset *data = nb_dataset_from_doubles(NB_F32, 90, 3, data64->inputs->data, 1, data64->targets->data);
    nb_model a = make_model(5), b = make_model(5);
    nb_optim_config adam = nb_optim_defaults(NB_ADAM);
    nb_optimizer *oa = nb_optim_new(a.graph, &adam), *ob = nb_optim_new(b.graph, &adam);
    nb_train_config config = nb_train_defaults();
    config.epochs = 4, config.batch_size = 16, config.clip_norm = 1;
    nb_train_result ra, rb;
    assert_int_equal(nb_train(&a, oa, data, data, &config, &ra), NB_OK);
    nb_comm one = {.rank = 0, .size = 1, .allreduce_sum = alone_sum, .broadcast = alone_broadcast};
    config.comm = &one;
    assert_int_equal(nb_train(&b, ob, data, data, &config, &rb), NB_OK);
    assert_true(exchanges > 2 * 6 * 4); /* two per batch at least */
    assert_memory_equal(nb_params_data(a.graph), nb_params_data(b.graph), (size_t)nb_n_params(a.graph) * sizeof(float));
    assert_close(rb.final_loss, ra.final_loss, 1e-12);
    assert_close(rb.best_val_loss, ra.best_val_loss, 1e-6);
    /* a communicator that is not one is refused before anything is exchanged */
    nb_comm bad = one;
    bad.rank = 1;
    assert_int_equal(nb_train(&b, ob, data, NULL, &(nb_train_config){.epochs = 1, .batch_size = 8, .comm = &bad}, &rb),
                     NB_EARG);
    assert_non_null(strstr(nb_errmsg(), "rank 1 of 1 ranks"));
    bad = one;
    bad.allreduce_sum = NULL;
    assert_int_equal(nb_train(&b, ob, data, NULL, &(nb_train_config){.epochs = 1, .batch_size = 8, .comm = &bad}, &rb),
                     NB_EARG);
    assert_non_null(strstr(nb_errmsg(), "no allreduce_sum"));
    nb_optim_free(oa);
    nb_optim_free(ob);
    nb_graph_free(a.graph);
    nb_graph_free(b.graph);
    nb_dataset_free(data);
    nb_dataset_free(data64);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_shares_cover_every_batch),
        cmocka_unit_test(test_shard_refusals),
        cmocka_unit_test(test_one_rank_is_training_alone),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
