/* The training loop: the tutorials' regression, classification with validation, early
 * stopping, divergence, reproducibility, no allocation per step. */
#include "nb_test.h"

#include <stdlib.h>
#include <string.h>


/* ---- counting allocator -------------------------------------------------------------- */
static nb_alloc_counter counter; /* nb_test.h's */

/* A linear model x·w + b on inputs [N, d] with MAE, as tutorial 3 (docs/tutorials.md). */
typedef struct {
    nb_model model;
    nb_node *w, *b;
} linear;

static linear make_linear(int64_t d, nb_rng *rng)
{
    linear m;
    nb_graph *g = nb_graph_new(NB_F64);
    m.model.graph = g;
    m.model.input = nb_input(g, "x", 2, (int64_t[]){16, d});
    m.model.target = nb_input(g, "y", 2, (int64_t[]){16, 1});
    m.w = nb_param(g, "w", 2, (int64_t[]){d, 1});
    m.b = nb_param(g, "b", 1, (int64_t[]){1});
    nb_tensor_fill_normal(nb_value(m.w), rng, 0, 0.01);
    nb_tensor_fill(nb_value(m.b), 0.01);
    m.model.output = nb_add(nb_matmul(m.model.input, m.w, false, false), m.b);
    m.model.loss = nb_mae_loss(m.model.output, m.model.target, NB_REDUCE_MEAN);
    assert_non_null(m.model.loss);
    return m;
}

static void test_linear_regression_recovers_weights(void **state)
{
    (void)state;
    const double w[4] = {8.1, 2, 2, 4};
    nb_rng rng;
    nb_rng_seed(&rng, 11);
    nb_dataset *data = nb_test_linear_data(500, 4, w, 1.1, 0.01, &rng);
    assert_non_null(data);
    linear m = make_linear(4, &rng);
    nb_optim_config sgd = nb_optim_defaults(NB_SGD);
    sgd.lr = 0.03;
    nb_optimizer *opt = nb_optim_new(m.model.graph, &sgd);
    nb_train_config config = nb_train_defaults();
    config.epochs = 50, config.batch_size = 16, config.seed = 5;
    nb_train_result result;
    assert_int_equal(nb_train(&m.model, opt, data, NULL, &config, &result), NB_OK);
    assert_int_equal(result.epochs_run, 50);
    assert_string_equal(result.stop_reason, "epochs");
    for (int j = 0; j < 4; j++)
        assert_close(nb_tensor_get(nb_value(m.w), j), w[j], 0.05);
    assert_close(nb_tensor_get(nb_value(m.b), 0), 1.1, 0.05);
    double loss;
    assert_int_equal(nb_evaluate(&m.model, data, 64, &loss, NULL), NB_OK);
    assert_close(loss, result.final_loss, 0.05);
    nb_optim_free(opt);
    nb_graph_free(m.model.graph);
    nb_dataset_free(data);
}

/* Three Gaussian blobs in 2-D, an MLP, validation accuracy and early stopping. */
static nb_dataset *blobs(int64_t n, uint64_t seed)
{
    nb_dataset *data = nb_dataset_new_labels(NB_F32, n, 2, 3);
    nb_rng rng;
    nb_rng_seed(&rng, seed);
    const double centres[3][2] = {{-2, 0}, {2, 0}, {0, 2.5}};
    for (int64_t i = 0; i < n; i++) {
        int label = (int)(i % 3);
        nb_tensor_set(data->inputs, 2 * i, centres[label][0] + 0.6 * nb_rng_normal(&rng));
        nb_tensor_set(data->inputs, 2 * i + 1, centres[label][1] + 0.6 * nb_rng_normal(&rng));
        nb_tensor_set(data->targets, i, label);
    }
    return data;
}

typedef struct {
    nb_model model;
    nb_optimizer *opt;
} classifier;

static classifier make_classifier(uint64_t seed)
{
    classifier c;
    nb_graph *g = nb_graph_new(NB_F32);
    c.model.graph = g;
    c.model.input = nb_input(g, "x", 2, (int64_t[]){32, 2});
    c.model.target = nb_input(g, "labels", 1, (int64_t[]){32});
    nb_mlp_spec spec;
    nb_mlp_parse("2-16-3:relu", &spec);
    nb_rng rng;
    nb_rng_seed(&rng, seed);
    c.model.output = nb_mlp(c.model.input, &spec, NB_INIT_KAIMING_UNIFORM, &rng);
    c.model.loss = nb_cross_entropy_loss(c.model.output, c.model.target, NB_REDUCE_MEAN);
    assert_non_null(c.model.loss);
    nb_optim_config adam = nb_optim_defaults(NB_ADAM);
    adam.lr = 0.01;
    c.opt = nb_optim_new(g, &adam);
    return c;
}

static int epochs_seen;
static bool count_epochs(const nb_epoch_stats *stats, void *user)
{
    (void)user;
    epochs_seen = stats->epoch;
    assert_false(isnan(stats->val_accuracy));
    assert_false(isnan(stats->train_accuracy));
    return true;
}

static void test_classification_with_validation(void **state)
{
    (void)state;
    nb_dataset *train = blobs(600, 1), *val = blobs(300, 2);
    classifier c = make_classifier(3);
    nb_train_config config = nb_train_defaults();
    config.epochs = 30, config.accuracy = true, config.patience = 3, config.restore_best = true;
    config.on_epoch = count_epochs;
    nb_train_result result;
    assert_int_equal(nb_train(&c.model, c.opt, train, val, &config, &result), NB_OK);
    assert_int_equal(epochs_seen, result.epochs_run);
    double loss, accuracy;
    assert_int_equal(nb_evaluate(&c.model, val, 100, &loss, &accuracy), NB_OK);
    assert_true(accuracy > 0.95);
    assert_close(loss, result.best_val_loss, 1e-5); /* the best epoch's parameters are back */
    if (result.epochs_run < 30)
        assert_string_equal(result.stop_reason, "patience");
    nb_optim_free(c.opt);
    nb_graph_free(c.model.graph);

    /* the same seeds give the same numbers */
    classifier a = make_classifier(9), b = make_classifier(9);
    config = nb_train_defaults();
    config.epochs = 3, config.seed = 4;
    nb_train_result ra, rb;
    assert_int_equal(nb_train(&a.model, a.opt, train, NULL, &config, &ra), NB_OK);
    assert_int_equal(nb_train(&b.model, b.opt, train, NULL, &config, &rb), NB_OK);
    assert_memory_equal(nb_params_data(a.model.graph), nb_params_data(b.model.graph),
                        (size_t)nb_n_params(a.model.graph) * sizeof(float));
    assert_true(ra.final_loss == rb.final_loss);
    nb_optim_free(a.opt);
    nb_optim_free(b.opt);
    nb_graph_free(a.model.graph);
    nb_graph_free(b.model.graph);
    nb_dataset_free(train);
    nb_dataset_free(val);
}

static void test_loss_threshold_stops(void **state)
{
    (void)state;
    nb_dataset *train = blobs(300, 5);
    classifier c = make_classifier(6);
    nb_train_config config = nb_train_defaults();
    config.epochs = 200, config.loss_threshold = 0.2;
    nb_train_result result;
    assert_int_equal(nb_train(&c.model, c.opt, train, NULL, &config, &result), NB_OK);
    assert_string_equal(result.stop_reason, "loss threshold");
    assert_true(result.final_loss < 0.2);
    assert_true(result.epochs_run < 200);
    nb_optim_free(c.opt);
    nb_graph_free(c.model.graph);
    nb_dataset_free(train);
}

static void test_divergence_restores_parameters(void **state)
{
    (void)state;
    nb_rng rng;
    nb_rng_seed(&rng, 2);
    const double w[2] = {3, -1};
    nb_dataset *data = nb_test_linear_data(64, 2, w, 0, 0.0, &rng);
    /* MSE with a huge rate: the loss grows by orders of magnitude each step */
    nb_graph *g = nb_graph_new(NB_F64);
    nb_model model = {g, nb_input(g, "x", 2, (int64_t[]){8, 2}), nb_input(g, "y", 2, (int64_t[]){8, 1}), NULL, NULL};
    nb_node *weights = nb_param(g, "w", 2, (int64_t[]){2, 1});
    model.output = nb_matmul(model.input, weights, false, false);
    model.loss = nb_mse_loss(model.output, model.target, NB_REDUCE_MEAN);
    nb_optim_config sgd = nb_optim_defaults(NB_SGD);
    sgd.lr = 1e3;
    nb_optimizer *opt = nb_optim_new(g, &sgd);
    nb_train_config config = nb_train_defaults();
    config.epochs = 100, config.batch_size = 8;
    config.max_loss_growth = 0; /* the non-finite loss, not its growth, is what this is about */
    double snapshot[2] = {NAN, NAN};
    nb_train_result result;
    assert_int_equal(nb_train(&model, opt, data, NULL, &config, &result), NB_ENUMERIC);
    assert_true(result.diverged);
    assert_string_equal(result.stop_reason, "diverged");
    char expected[64];
    snprintf(expected, sizeof expected, "epoch %d, batch %lld", result.diverged_epoch,
             (long long)result.diverged_batch);
    assert_non_null(strstr(nb_errmsg(), expected));
    nb_tensor_to_doubles(nb_value(weights), snapshot);
    assert_true(isfinite(snapshot[0]) && isfinite(snapshot[1]));
    nb_optim_free(opt);
    nb_graph_free(g);
    nb_dataset_free(data);
}

static long calls_at[2];
static void record_allocations(int epoch, int64_t batch, int64_t n_batches, double loss, void *user)
{
    (void)batch, (void)loss, (void)user, (void)n_batches;
    if (batch == 0 && (epoch == 2 || epoch == 6))
        calls_at[epoch == 6] = counter.calls;
}

static void test_no_allocation_per_step(void **state)
{
    (void)state;
    nb_dataset *train = blobs(250, 7); /* 250 = 7 batches of 32 and one of 26 */
    nb_count_allocations(&counter, -1);
    classifier c = make_classifier(8);
    nb_train_config config = nb_train_defaults();
    config.epochs = 6, config.on_batch = record_allocations;
    nb_train_result result;
    assert_int_equal(nb_train(&c.model, c.opt, train, NULL, &config, &result), NB_OK);
    assert_true(calls_at[0] > 0);
    assert_int_equal(calls_at[1], calls_at[0]);
    nb_optim_free(c.opt);
    nb_graph_free(c.model.graph);
    nb_set_allocator(NULL);
    nb_dataset_free(train);
}

static void test_bad_arguments(void **state)
{
    (void)state;
    nb_dataset *train = blobs(30, 1);
    classifier c = make_classifier(1);
    nb_train_config config = nb_train_defaults();
    nb_train_result result;
    nb_dataset *wide = nb_dataset_new_labels(NB_F32, 10, 5, 3);
    assert_int_equal(nb_train(&c.model, c.opt, wide, NULL, &config, &result), NB_ESHAPE);
    assert_non_null(strstr(nb_errmsg(), "5 features"));
    nb_dataset *doubles = nb_dataset_new_labels(NB_F64, 10, 2, 3);
    assert_int_equal(nb_train(&c.model, c.opt, doubles, NULL, &config, &result), NB_EDTYPE);
    config.epochs = 0;
    assert_int_equal(nb_train(&c.model, c.opt, train, NULL, &config, &result), NB_EARG);
    nb_dataset_free(wide);
    nb_dataset_free(doubles);
    nb_optim_free(c.opt);
    nb_graph_free(c.model.graph);
    nb_dataset_free(train);
}

/* y = w x on one point (x = 1, y = 1) from w = 0: the loss before the only step is 1,
 * and the step (lr 1e308 times the gradient -2) takes w to infinity. */
static void test_step_to_infinity_is_divergence(void **state)
{
    (void)state;
    nb_dataset *data = nb_dataset_from_doubles(NB_F64, 1, 1, (double[]){1}, 1, (double[]){1});
    nb_graph *g = nb_graph_new(NB_F64);
    nb_model model = {g, nb_input(g, "x", 2, (int64_t[]){1, 1}), nb_input(g, "y", 2, (int64_t[]){1, 1}), NULL, NULL};
    nb_node *w = nb_param(g, "w", 2, (int64_t[]){1, 1});
    model.output = nb_matmul(model.input, w, false, false);
    model.loss = nb_mse_loss(model.output, model.target, NB_REDUCE_MEAN);
    nb_optim_config sgd = nb_optim_defaults(NB_SGD);
    sgd.lr = 1e308;
    nb_optimizer *opt = nb_optim_new(g, &sgd);
    nb_train_config config = nb_train_defaults();
    config.epochs = 1, config.batch_size = 1;
    nb_train_result result;
    assert_int_equal(nb_train(&model, opt, data, NULL, &config, &result), NB_ENUMERIC);
    assert_true(result.diverged);
    assert_int_equal(result.diverged_epoch, 1);
    assert_int_equal(result.diverged_batch, 0);
    assert_string_equal(result.stop_reason, "diverged");
    assert_int_equal(result.epochs_run, 0);
    assert_non_null(strstr(nb_errmsg(), "epoch 1, batch 0"));
    assert_non_null(strstr(nb_errmsg(), "'w'"));
    assert_close(nb_tensor_get(nb_value(w), 0), 0, 0); /* the start is back */
    nb_optim_free(opt);
    nb_graph_free(g);
    nb_dataset_free(data);
}

/* A validation loss that is NaN (a NaN among the validation targets) is never the best:
 * patience runs out, and nothing is restored from a NaN epoch. */
static void test_nan_validation_loss_is_never_best(void **state)
{
    (void)state;
    nb_rng rng;
    nb_rng_seed(&rng, 4);
    const double w[2] = {1, -2};
    nb_dataset *train = nb_test_linear_data(64, 2, w, 0.5, 0.01, &rng);
    nb_dataset *val = nb_test_linear_data(16, 2, w, 0.5, 0.01, &rng);
    nb_tensor_set(val->targets, 3, NAN);
    linear m = make_linear(2, &rng);
    nb_optim_config sgd = nb_optim_defaults(NB_SGD);
    sgd.lr = 0.01;
    nb_optimizer *opt = nb_optim_new(m.model.graph, &sgd);
    nb_train_config config = nb_train_defaults();
    config.epochs = 10, config.batch_size = 16, config.patience = 2, config.restore_best = true;
    nb_train_result result;
    assert_int_equal(nb_train(&m.model, opt, train, val, &config, &result), NB_OK);
    assert_int_equal(result.best_epoch, 0);
    assert_true(isnan(result.best_val_loss));
    assert_string_equal(result.stop_reason, "patience");
    assert_int_equal(result.epochs_run, 2);
    nb_optim_free(opt);
    nb_graph_free(m.model.graph);
    nb_dataset_free(train);
    nb_dataset_free(val);
}

/* The loader writes each batch straight into the model's input and target: after
 * nb_train and nb_evaluate they hold the last batch, in their own storage (the caller's
 * binding ended, its memory untouched), so a forward pass afterwards is safe and reads
 * that batch. */
static double mae_of_inputs(const linear *m)
{
    const nb_tensor *x = nb_value(m->model.input), *y = nb_value(m->model.target);
    double total = 0;
    for (int64_t r = 0; r < x->shape[0]; r++) {
        double pred = nb_tensor_get(nb_value(m->b), 0);
        for (int k = 0; k < 3; k++)
            pred += nb_tensor_get(x, r * 3 + k) * nb_tensor_get(nb_value(m->w), k);
        total += fabs(pred - nb_tensor_get(y, r));
    }
    return total / (double)x->shape[0];
}

static void test_batches_land_in_the_inputs(void **state)
{
    (void)state;
    nb_rng rng;
    nb_rng_seed(&rng, 6);
    const double w[3] = {1, 2, 3};
    nb_dataset *data = nb_test_linear_data(50, 3, w, 0, 0.01, &rng); /* 3 batches of 16, one of 2 */
    linear m = make_linear(3, &rng);
    double y[16];
    for (int i = 0; i < 16; i++)
        y[i] = i;
    assert_int_equal(nb_input_bind(m.model.target, NB_F64, y, 16), NB_OK); /* a binding of the caller's */
    nb_optim_config sgd = nb_optim_defaults(NB_SGD);
    nb_optimizer *opt = nb_optim_new(m.model.graph, &sgd);
    nb_train_config config = nb_train_defaults();
    config.epochs = 2, config.batch_size = 16;
    nb_train_result result;
    assert_int_equal(nb_train(&m.model, opt, data, NULL, &config, &result), NB_OK);
    assert_int_equal(nb_value(m.model.input)->shape[0], 2);
    assert_int_equal(nb_value(m.model.target)->shape[0], 2);
    assert_true(nb_value(m.model.target)->data != (void *)y);
    for (int i = 0; i < 16; i++)
        assert_close(y[i], i, 0);
    assert_int_equal(nb_forward(m.model.loss), NB_OK);
    assert_close(nb_item(m.model.loss), mae_of_inputs(&m), 1e-12);

    /* unshuffled batches of 7: the last is row 49 alone */
    double loss;
    assert_int_equal(nb_evaluate(&m.model, data, 7, &loss, NULL), NB_OK);
    assert_int_equal(nb_value(m.model.input)->shape[0], 1);
    for (int k = 0; k < 3; k++)
        assert_close(nb_tensor_get(nb_value(m.model.input), k), nb_tensor_get(data->inputs, 49 * 3 + k), 0);
    assert_close(nb_tensor_get(nb_value(m.model.target), 0), nb_tensor_get(data->targets, 49), 0);
    assert_int_equal(nb_forward(m.model.loss), NB_OK);
    assert_close(nb_item(m.model.loss), mae_of_inputs(&m), 1e-12);

    /* a loader fed the wrong inputs says so */
    nb_loader *loader = nb_loader_new(data, 8, 0, 0);
    assert_int_equal(nb_loader_feed(loader, m.model.target, m.model.input), NB_ESHAPE);
    assert_non_null(strstr(nb_errmsg(), "nb_loader_feed"));
    assert_int_equal(nb_loader_feed(loader, NULL, m.model.target), NB_EARG);
    nb_loader_free(loader);
    nb_optim_free(opt);
    nb_graph_free(m.model.graph);
    nb_dataset_free(data);
}

/* A loss that ends far above where it began is divergence though it stays finite: Adam
 * with a rate of 1e3 on a linear regression. The parameters of the epoch's start come
 * back; with the check off, the same run ends "well". */
static void test_finite_divergence(void **state)
{
    (void)state;
    nb_rng rng;
    nb_rng_seed(&rng, 9);
    const double w[3] = {1, -2, 0.5};
    nb_dataset *data = nb_test_linear_data(64, 3, w, 0.1, 0.01, &rng);
    linear m = make_linear(3, &rng);
    nb_optim_config adam = nb_optim_defaults(NB_ADAM);
    adam.lr = 1e3;
    nb_optimizer *opt = nb_optim_new(m.model.graph, &adam);
    nb_train_config config = nb_train_defaults();
    config.epochs = 20, config.batch_size = 16;
    nb_train_result result;
    assert_int_equal(nb_train(&m.model, opt, data, NULL, &config, &result), NB_ENUMERIC);
    assert_true(result.diverged);
    assert_non_null(strstr(nb_errmsg(), "more than 1000 times the first batch's"));
    for (int k = 0; k < 3; k++)
        assert_true(isfinite(nb_tensor_get(nb_value(m.w), k)));
    config.max_loss_growth = 0;
    assert_int_equal(nb_train(&m.model, opt, data, NULL, &config, &result), NB_OK);
    assert_false(result.diverged);
    nb_optim_free(opt);
    nb_graph_free(m.model.graph);
    nb_dataset_free(data);
}

/* L-BFGS trains through the same loop: each batch is one step of its iterations, so one
 * epoch of one unshuffled batch of all rows is full-batch L-BFGS. The result counts the
 * evaluations its line search made; a first-order method makes one per batch. */
static void test_lbfgs_and_evaluations(void **state)
{
    (void)state;
    const double w[2] = {1.5, -2};
    nb_rng rng;
    nb_rng_seed(&rng, 3);
    nb_dataset *data = nb_test_linear_data(64, 2, w, 0.5, 0, &rng);
    nb_graph *g = nb_graph_new(NB_F64);
    nb_model model = {g, nb_input(g, "x", 2, (int64_t[]){64, 2}), nb_input(g, "y", 2, (int64_t[]){64, 1}), NULL,
                      NULL};
    nb_node *weights = nb_param(g, "w", 2, (int64_t[]){2, 1}), *bias = nb_param(g, "b", 1, (int64_t[]){1});
    model.output = nb_add(nb_matmul(model.input, weights, false, false), bias);
    model.loss = nb_mse_loss(model.output, model.target, NB_REDUCE_MEAN);
    nb_optim_config config = nb_optim_defaults(NB_LBFGS);
    config.max_iter = 50;
    nb_optimizer *lbfgs = nb_optim_new(g, &config);
    nb_train_config train = nb_train_defaults();
    train.epochs = 1, train.batch_size = 64, train.shuffle = false;
    nb_train_result result;
    assert_int_equal(nb_train(&model, lbfgs, data, NULL, &train, &result), NB_OK);
    assert_true(nb_optim_steps(lbfgs) > 1 && nb_optim_steps(lbfgs) <= 50);
    assert_true(result.evaluations >= nb_optim_steps(lbfgs)); /* the first, and the line searches' */
    for (int j = 0; j < 2; j++)
        assert_close(nb_tensor_get(nb_value(weights), j), w[j], 1e-6);
    assert_close(nb_tensor_get(nb_value(bias), 0), 0.5, 1e-6);
    nb_optim_free(lbfgs);

    nb_optimizer *sgd = nb_optim_new(g, &(nb_optim_config){.kind = NB_SGD, .lr = 0.01});
    train.epochs = 3, train.batch_size = 10, train.shuffle = true;
    assert_int_equal(nb_train(&model, sgd, data, NULL, &train, &result), NB_OK);
    assert_int_equal(result.evaluations, 3 * 7);
    nb_optim_free(sgd);
    nb_graph_free(g);
    nb_dataset_free(data);
}

/* nb_evaluate's accuracy reads the output the loss's forward pass computed (that it
 * takes no second pass is nb_forward_with's, tests/autodiff/test_graph.c); an output the
 * loss does not depend on is computed by a pass of its own. */
static void test_evaluate_accuracy(void **state)
{
    (void)state;
    nb_dataset *val = blobs(90, 12);
    classifier c = make_classifier(13);
    double loss, accuracy;
    assert_int_equal(nb_evaluate(&c.model, val, 32, &loss, &accuracy), NB_OK);

    /* the same accuracy by hand, one batch of all rows */
    assert_int_equal(nb_input_bind(c.model.input, nb_dataset_dtype(val), val->inputs->data, 90), NB_OK);
    assert_int_equal(nb_forward(c.model.output), NB_OK);
    double by_hand;
    assert_int_equal(nb_accuracy(nb_value(c.model.output), val->targets, &by_hand), NB_OK);
    assert_close(accuracy, by_hand, 1e-12);

    /* a loss that does not read the output: the output gets a pass of its own */
    nb_model apart = c.model;
    apart.loss = nb_scale(nb_sum(c.model.input), 0);
    assert_non_null(apart.loss);
    double accuracy_apart;
    assert_int_equal(nb_evaluate(&apart, val, 32, &loss, &accuracy_apart), NB_OK);
    assert_close(accuracy_apart, by_hand, 1e-12);
    assert_close(loss, 0, 0);
    nb_optim_free(c.opt);
    nb_graph_free(c.model.graph);
    nb_dataset_free(val);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_linear_regression_recovers_weights),
        cmocka_unit_test(test_classification_with_validation),
        cmocka_unit_test(test_loss_threshold_stops),
        cmocka_unit_test(test_divergence_restores_parameters),
        cmocka_unit_test(test_no_allocation_per_step),
        cmocka_unit_test(test_bad_arguments),
        cmocka_unit_test(test_step_to_infinity_is_divergence),
        cmocka_unit_test(test_nan_validation_loss_is_never_best),
        cmocka_unit_test(test_batches_land_in_the_inputs),
        cmocka_unit_test(test_evaluate_accuracy),
        cmocka_unit_test(test_lbfgs_and_evaluations),
        cmocka_unit_test(test_finite_divergence),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
