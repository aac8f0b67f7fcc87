/* Data-parallel training through the C API over MPI (nabla::mpi), run by ctest under
 * `mpirun -np 2` and `-np 3` (tests/mpi/mpirun.sh): the ranks end with the parameters of
 * one process up to rounding, identical on every rank; failures and mismatches fail
 * every rank, naming the rank; data too small for the ranks are refused with the
 * numbers. Every test makes the same collective calls on every rank, so that a failing
 * assertion ends its own rank without leaving the others a call to wait in (ctest's
 * timeout ends a job whose ranks part ways all the same). */
#include "nb_test.h"

#include "nabla/mpi.h"

static nb_comm *comm;

/* Three Gaussian blobs in 2-D, in double precision. */
static nb_dataset *blobs(int64_t n, uint64_t seed)
{
    nb_dataset *data = nb_dataset_new_labels(NB_F64, n, 2, 3);
    nb_rng rng;
    nb_rng_seed(&rng, seed);
    const double centres[3][2] = {{-2, 0}, {2, 0}, {0, 2.5}};
    for (int64_t i = 0; i < n; i++) {
        int label = (int)(i % 3);
        nb_tensor_set(data->inputs, 2 * i, centres[label][0] + 0.9 * nb_rng_normal(&rng));
        nb_tensor_set(data->inputs, 2 * i + 1, centres[label][1] + 0.9 * nb_rng_normal(&rng));
        nb_tensor_set(data->targets, i, label);
    }
    return data;
}

typedef struct {
    nb_model model;
    nb_optimizer *opt;
} classifier;

static classifier make_classifier(uint64_t seed, nb_optim_kind kind)
{
    classifier c;
    nb_graph *g = nb_graph_new(NB_F64);
    c.model.graph = g;
    c.model.input = nb_input(g, "x", 2, (int64_t[]){8, 2});
    c.model.target = nb_input(g, "labels", 1, (int64_t[]){8});
    nb_mlp_spec spec;
    nb_mlp_parse("2-16-8-3:tanh", &spec);
    nb_rng rng;
    nb_rng_seed(&rng, seed);
    c.model.output = nb_mlp(c.model.input, &spec, NB_INIT_KAIMING_UNIFORM, &rng);
    c.model.loss = nb_cross_entropy_loss(c.model.output, c.model.target, NB_REDUCE_MEAN);
    assert_non_null(c.model.loss);
    nb_optim_config config = nb_optim_defaults(kind);
    if (kind == NB_ADAM)
        config.lr = 0.02;
    c.opt = nb_optim_new(g, &config);
    assert_non_null(c.opt);
    return c;
}

static void free_classifier(classifier *c)
{
    nb_optim_free(c->opt);
    nb_graph_free(c->model.graph);
}

/* Rank 0's parameters on every rank are bit for bit this rank's. */
static void assert_same_on_every_rank(nb_graph *graph)
{
    size_t bytes = (size_t)nb_n_params(graph) * sizeof(double);
    double *first = malloc(bytes);
    assert_non_null(first);
    memcpy(first, nb_params_data(graph), bytes);
    assert_int_equal(comm->broadcast(comm->ctx, first, bytes, 0), NB_OK);
    double same = memcmp(first, nb_params_data(graph), bytes) == 0, all = same;
    assert_int_equal(comm->allreduce_sum(comm->ctx, &all, 1, NB_F64), NB_OK);
    free(first);
    assert_true(all == comm->size);
}

/* The largest difference between two graphs' parameters, relative to 1 + |value|. */
static double params_gap(nb_graph *a, nb_graph *b)
{
    const double *x = nb_params_data(a), *y = nb_params_data(b);
    double worst = 0;
    for (int64_t i = 0; i < nb_n_params(a); i++)
        worst = fmax(worst, fabs(x[i] - y[i]) / (1 + fabs(x[i])));
    return worst;
}

/* One process's training and the ranks' from the same start give the same parameters:
 * Adam with clipping, validation, patience and accuracies, and a last batch of one row
 * (an empty share on every rank but one). The ranks start from different parameters:
 * rank 0's are copied to the others. */
static void test_same_numbers_as_one_process(void **state)
{
    (void)state;
    nb_dataset *train = blobs(601, 1), *val = blobs(301, 2);
    nb_train_config config = nb_train_defaults();
    config.epochs = 6, config.batch_size = 40, config.seed = 7, config.accuracy = true, config.clip_norm = 2;
    config.patience = 2, config.restore_best = true;
    classifier alone = make_classifier(9, NB_ADAM), shared = make_classifier(9 + (uint64_t)comm->rank, NB_ADAM);
    nb_train_result one, many;
    assert_int_equal(nb_train(&alone.model, alone.opt, train, val, &config, &one), NB_OK);
    config.comm = comm;
    assert_int_equal(nb_train(&shared.model, shared.opt, train, val, &config, &many), NB_OK);
    assert_same_on_every_rank(shared.model.graph);
    assert_true(params_gap(alone.model.graph, shared.model.graph) < 1e-10);
    assert_int_equal(many.epochs_run, one.epochs_run);
    assert_int_equal(many.best_epoch, one.best_epoch);
    assert_close(many.final_loss, one.final_loss, 1e-10);
    assert_close(many.best_val_loss, one.best_val_loss, 1e-10);
    free_classifier(&alone);
    free_classifier(&shared);
    nb_dataset_free(train);
    nb_dataset_free(val);
}

/* L-BFGS on whole batches: its line search evaluates the batch as often as it needs,
 * each evaluation summed over the ranks. */
static void test_lbfgs_full_batch(void **state)
{
    (void)state;
    nb_dataset *train = blobs(300, 3);
    nb_train_config config = nb_train_defaults();
    config.epochs = 3, config.batch_size = 300, config.shuffle = false;
    classifier alone = make_classifier(4, NB_LBFGS), shared = make_classifier(4, NB_LBFGS);
    nb_train_result one, many;
    assert_int_equal(nb_train(&alone.model, alone.opt, train, NULL, &config, &one), NB_OK);
    config.comm = comm;
    assert_int_equal(nb_train(&shared.model, shared.opt, train, NULL, &config, &many), NB_OK);
    assert_same_on_every_rank(shared.model.graph);
    /* near its optimum the loss is flat and L-BFGS's curvature pairs magnify the sums'
     * rounding in the parameters, not in the loss */
    assert_true(params_gap(alone.model.graph, shared.model.graph) < 1e-5);
    assert_close(many.final_loss, one.final_loss, 1e-9);
    assert_int_equal(many.evaluations, one.evaluations);
    free_classifier(&alone);
    free_classifier(&shared);
    nb_dataset_free(train);
}

/* A stop asked on the last rank alone stops every rank. */
static bool stop_on_last_rank(const nb_epoch_stats *stats, void *user)
{
    (void)user;
    return !(comm->rank == comm->size - 1 && stats->epoch == 2);
}

static void test_stop_on_one_rank_stops_all(void **state)
{
    (void)state;
    nb_dataset *train = blobs(120, 5);
    nb_train_config config = nb_train_defaults();
    config.epochs = 5, config.batch_size = 30, config.comm = comm, config.on_epoch = stop_on_last_rank;
    classifier c = make_classifier(1, NB_ADAM);
    nb_train_result result;
    assert_int_equal(nb_train(&c.model, c.opt, train, NULL, &config, &result), NB_OK);
    assert_int_equal(result.epochs_run, 2);
    assert_string_equal(result.stop_reason, "callback");
    free_classifier(&c);
    nb_dataset_free(train);
}

/* nb_train with `train` on this rank; its status, with the message in `message`. */
static nb_status train_with(nb_dataset *train, int64_t batch, char *message, size_t size)
{
    nb_train_config config = nb_train_defaults();
    config.epochs = 1, config.batch_size = batch, config.comm = comm;
    classifier c = make_classifier(1, NB_ADAM);
    nb_train_result result;
    nb_status status = nb_train(&c.model, c.opt, train, NULL, &config, &result);
    snprintf(message, size, "%s", nb_errmsg());
    free_classifier(&c);
    return status;
}

/* Data that differ between the ranks, a rank that fails, data too small to share out:
 * every rank fails, and the messages give the numbers and name the rank. */
static void test_refusals(void **state)
{
    (void)state;
    char message[512];
    nb_dataset *train = blobs(90, 6), *fewer = nb_dataset_slice(train, 0, 60);
    assert_int_equal(train_with(comm->rank == comm->size - 1 ? fewer : train, 30, message, sizeof message),
                     comm->size > 1 ? NB_EARG : NB_OK);
    if (comm->size > 1)
        assert_non_null(strstr(message, "differ in the training rows: rank 0 has 90"));
    /* a rank whose model does not fit its data (f32 data for an f64 graph) fails all */
    nb_dataset *f32 = nb_dataset_new_labels(NB_F32, 90, 2, 3);
    bool odd = comm->rank == comm->size - 1;
    nb_status status = train_with(odd ? f32 : train, 30, message, sizeof message);
    assert_int_equal(status, NB_EDTYPE);
    char named[64];
    snprintf(named, sizeof named, odd ? "rank %d of %d" : "rank %d of %d failed", comm->size - 1, comm->size);
    if (comm->size > 1)
        assert_non_null(strstr(message, named));
    assert_int_equal(train_with(train, 100, message, sizeof message), comm->size > 1 ? NB_EARG : NB_OK);
    if (comm->size > 1)
        assert_non_null(strstr(message, "90 training rows do not fill one batch of 100 rows"));
    assert_int_equal(train_with(train, comm->size - 1 > 0 ? comm->size - 1 : 1, message, sizeof message),
                     comm->size > 1 ? NB_EARG : NB_OK);
    if (comm->size > 1)
        assert_non_null(strstr(message, "cannot be shared out"));
    nb_dataset_free(f32);
    nb_dataset_free(fewer);
    nb_dataset_free(train);
}

int main(int argc, char **argv)
{
    MPI_Init(&argc, &argv);
    nb_set_threads(1); /* the ranks share the machine's cores */
    comm = nb_mpi_comm_new(MPI_COMM_WORLD);
    if (!comm) {
        fprintf(stderr, "%s\n", nb_errmsg());
        MPI_Abort(MPI_COMM_WORLD, 1);
    }
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_same_numbers_as_one_process),
        cmocka_unit_test(test_lbfgs_full_batch),
        cmocka_unit_test(test_stop_on_one_rank_stops_all),
        cmocka_unit_test(test_refusals),
    };
    int failed = cmocka_run_group_tests(tests, NULL, NULL);
    nb_mpi_comm_free(comm);
    MPI_Finalize();
    return failed;
}
