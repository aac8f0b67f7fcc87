/* The ops of convolutional networks: conv2d, max and average pooling, dropout, batch
 * norm and flatten. Each backward against central finite differences in float64, each
 * float32 forward against the float64 one, the forwards against direct loops, the
 * modes (training, evaluation), and no allocation per step. */
#include "nb_test.h"

typedef nb_node *(*builder)(nb_graph *graph);

static nb_rng rng;

static nb_node *param(nb_graph *graph, const char *name, int ndim, const int64_t *shape)
{
    nb_node *node = nb_param(graph, name, ndim, shape);
    if (node)
        nb_tensor_fill_uniform(nb_value(node), &rng, -2, 2);
    return node;
}

/* loss = sum(out · weights), every output element with its own weight */
static nb_node *build_case(nb_dtype dtype, builder build, bool training, nb_graph **graph_out, nb_node **out)
{
    nb_rng_seed(&rng, 99);
    nb_graph *graph = nb_graph_new(dtype);
    nb_graph_set_training(graph, training);
    *out = build(graph);
    if (!*out)
        fail_msg("build failed: %s", nb_errmsg());
    nb_tensor *value = nb_value(*out);
    static double weights[8192];
    assert_true(value->size <= 8192);
    for (int64_t i = 0; i < value->size; i++)
        weights[i] = 0.5 + nb_rng_uniform(&rng);
    *graph_out = graph;
    return nb_sum(nb_mul(*out, nb_const(graph, value->ndim, value->shape, weights)));
}

static void check(const char *label, builder build, bool training)
{
    nb_graph *g64, *g32;
    nb_node *out64, *out32;
    nb_node *loss64 = build_case(NB_F64, build, training, &g64, &out64);
    nb_node *loss32 = build_case(NB_F32, build, training, &g32, &out32);
    assert_non_null(loss64);
    assert_non_null(loss32);
    /* before the gradient check, which zeroes the gradients and so moves dropout's mask on */
    assert_int_equal(nb_forward(out64), NB_OK);
    assert_int_equal(nb_forward(out32), NB_OK);
    const nb_tensor *v64 = nb_value(out64), *v32 = nb_value(out32);
    assert_int_equal(v64->size, v32->size);
    for (int64_t i = 0; i < v64->size; i++) {
        double a = nb_tensor_get(v64, i), b = nb_tensor_get(v32, i);
        if (!(fabs(a - b) <= 1e-4 * fmax(1.0, fabs(a))))
            fail_msg("%s: f32 forward %.9g differs from f64 %.9g at %lld", label, b, a, (long long)i);
    }
    nb_gradcheck_result result;
    if (nb_gradcheck(loss64, 1e-6, &result) != NB_OK)
        fail_msg("%s: gradcheck failed to run: %s", label, nb_errmsg());
    if (!(result.max_error < 1e-6))
        fail_msg("%s: relative error %.3g at %s[%lld]: analytic %.10g, numeric %.10g", label, result.max_error,
                 result.worst, (long long)result.worst_index, result.analytic, result.numeric);
    assert_true(result.n_checked > 0);
    nb_graph_free(g64);
    nb_graph_free(g32);
}

static const int64_t X4[] = {2, 3, 6, 5}; /* N, C, H, W: not square, so H and W cannot be swapped unseen */

static nb_node *case_conv_pad(nb_graph *g)
{
    nb_node *x = param(g, "x", 4, X4);
    nb_node *w = param(g, "w", 4, (int64_t[]){4, 3, 3, 3});
    nb_node *b = param(g, "b", 1, (int64_t[]){4});
    return nb_conv2d(x, w, b, 1, 1);
}

static nb_node *case_conv_stride(nb_graph *g)
{
    nb_node *x = param(g, "x", 4, X4);
    nb_node *w = param(g, "w", 4, (int64_t[]){2, 3, 2, 3});
    return nb_conv2d(x, w, NULL, 2, 1);
}

static nb_node *case_conv_valid(nb_graph *g)
{
    nb_node *x = param(g, "x", 4, X4);
    nb_node *w = param(g, "w", 4, (int64_t[]){3, 3, 3, 2});
    nb_node *b = param(g, "b", 1, (int64_t[]){3});
    return nb_conv2d(x, w, b, 1, 0);
}

/* The fused ReLU, and an input gradient stored (conv the only consumer of the tanh
 * below) or added to (two consumers of h). */
static nb_node *case_conv_relu(nb_graph *g)
{
    nb_node *h = nb_tanh(param(g, "x", 4, X4));
    nb_node *w = param(g, "w", 4, (int64_t[]){4, 3, 3, 3}), *b = param(g, "b", 1, (int64_t[]){4});
    nb_node *w2 = param(g, "w2", 4, (int64_t[]){4, 3, 3, 3});
    nb_node *once = nb_conv2d_act(nb_sin(param(g, "x2", 4, X4)), w2, NULL, 1, 1, NB_ACT_RELU);
    return nb_add(nb_add(nb_conv2d_act(h, w, b, 1, 1, NB_ACT_RELU), nb_conv2d(h, w2, b, 1, 1)), once);
}

static nb_node *case_pools_shared(nb_graph *g)
{
    nb_node *h = nb_tanh(param(g, "x", 4, X4)), *once = nb_sin(param(g, "x2", 4, X4));
    return nb_add(nb_add(nb_max_pool2d(h, 2, 0, 0), nb_avg_pool2d(h, 2, 0, 0)), nb_max_pool2d(once, 2, 0, 0));
}

static nb_node *case_max_pool(nb_graph *g) { return nb_max_pool2d(param(g, "x", 4, X4), 2, 0, 0); }
static nb_node *case_max_pool_pad(nb_graph *g) { return nb_max_pool2d(param(g, "x", 4, X4), 3, 2, 1); }
static nb_node *case_avg_pool(nb_graph *g) { return nb_avg_pool2d(param(g, "x", 4, X4), 2, 0, 0); }
static nb_node *case_avg_pool_pad(nb_graph *g) { return nb_avg_pool2d(param(g, "x", 4, X4), 3, 1, 1); }
static nb_node *case_dropout(nb_graph *g) { return nb_dropout(param(g, "x", 4, X4), 0.4, 7); }
static nb_node *case_flatten(nb_graph *g) { return nb_flatten(param(g, "x", 4, X4)); }

static nb_node *batch_norm_of(nb_graph *g, nb_node *x, int64_t channels)
{
    nb_node *gamma = param(g, "gamma", 1, &channels), *beta = param(g, "beta", 1, &channels);
    nb_node *mean = param(g, "running_mean", 1, &channels), *var = nb_param(g, "running_var", 1, &channels);
    nb_tensor_fill_uniform(nb_value(var), &rng, 0.5, 2);
    nb_set_requires_grad(mean, false);
    nb_set_requires_grad(var, false);
    return nb_batch_norm(x, gamma, beta, mean, var, 0.1, 1e-5);
}

static nb_node *case_batch_norm(nb_graph *g) { return batch_norm_of(g, param(g, "x", 4, X4), 3); }
static nb_node *case_batch_norm_2d(nb_graph *g)
{
    return batch_norm_of(g, param(g, "x", 2, (int64_t[]){5, 4}), 4);
}

/* a small network of all of them, so that their gradients compose */
static nb_node *case_stack(nb_graph *g)
{
    nb_node *x = param(g, "x", 4, (int64_t[]){3, 1, 6, 6});
    nb_node *w = param(g, "w", 4, (int64_t[]){2, 1, 3, 3}), *b = param(g, "b", 1, (int64_t[]){2});
    nb_node *h = nb_max_pool2d(nb_tanh(batch_norm_of(g, nb_conv2d(x, w, b, 1, 1), 2)), 2, 0, 0);
    return nb_dropout(nb_flatten(nb_avg_pool2d(h, 3, 0, 0)), 0.3, 1);
}

static void test_gradients(void **state)
{
    (void)state;
    check("conv2d pad 1", case_conv_pad, false);
    check("conv2d stride 2, 2x3 kernel", case_conv_stride, false);
    check("conv2d no padding, 3x2 kernel", case_conv_valid, false);
    check("conv2d with relu, input gradients stored and added", case_conv_relu, false);
    check("pools, input gradients stored and added", case_pools_shared, false);
    check("max_pool2d 2", case_max_pool, false);
    check("max_pool2d 3 stride 2 pad 1", case_max_pool_pad, false);
    check("avg_pool2d 2", case_avg_pool, false);
    check("avg_pool2d 3 stride 1 pad 1", case_avg_pool_pad, false);
    check("dropout, training", case_dropout, true);
    check("dropout, evaluation", case_dropout, false);
    check("flatten", case_flatten, false);
    check("batch_norm, training", case_batch_norm, true);
    check("batch_norm, evaluation", case_batch_norm, false);
    check("batch_norm [N, C], training", case_batch_norm_2d, true);
    check("conv, norm, pools, dropout, training", case_stack, true);
}

/* The convolution against its definition, summed directly. */
static void test_conv_matches_loops(void **state)
{
    (void)state;
    nb_graph *g;
    nb_node *out;
    nb_rng_seed(&rng, 5);
    g = nb_graph_new(NB_F64);
    out = case_conv_stride(g);
    assert_int_equal(nb_forward(out), NB_OK);
    const nb_tensor *x = nb_value(nb_find(g, "x")), *w = nb_value(nb_find(g, "w")), *y = nb_value(out);
    int64_t oh = y->shape[2], ow = y->shape[3];
    assert_int_equal(oh, (6 + 2 - 2) / 2 + 1);
    assert_int_equal(ow, (5 + 2 - 3) / 2 + 1);
    for (int64_t n = 0; n < 2; n++)
        for (int64_t o = 0; o < 2; o++)
            for (int64_t i = 0; i < oh; i++)
                for (int64_t j = 0; j < ow; j++) {
                    double sum = 0;
                    for (int64_t c = 0; c < 3; c++)
                        for (int64_t ki = 0; ki < 2; ki++)
                            for (int64_t kj = 0; kj < 3; kj++) {
                                int64_t r = i * 2 - 1 + ki, s = j * 2 - 1 + kj;
                                if (r >= 0 && r < 6 && s >= 0 && s < 5)
                                    sum += nb_tensor_get(x, ((n * 3 + c) * 6 + r) * 5 + s) *
                                           nb_tensor_get(w, ((o * 3 + c) * 2 + ki) * 3 + kj);
                            }
                    assert_close(nb_tensor_get(y, ((n * 2 + o) * oh + i) * ow + j), sum, 1e-12);
                }
    nb_graph_free(g);
}

/* Evaluation mode passes x through; training drops about p of it, scales the rest by
 * 1/(1-p), keeps one mask until the gradients are zeroed, and the seed decides it. */
static void test_dropout_modes(void **state)
{
    (void)state;
    nb_graph *g = nb_graph_new(NB_F32);
    int64_t n = 20000;
    nb_node *x = nb_input(g, "x", 1, &n);
    nb_tensor_fill(nb_value(x), 2);
    nb_node *y = nb_dropout(x, 0.25, 42), *y2 = nb_dropout(x, 0.25, 43);
    assert_false(nb_graph_training(g));
    assert_int_equal(nb_forward(y), NB_OK);
    for (int64_t i = 0; i < n; i++)
        assert_true(nb_tensor_get(nb_value(y), i) == 2);
    nb_graph_set_training(g, true);
    assert_int_equal(nb_forward(y), NB_OK);
    assert_int_equal(nb_forward(y2), NB_OK);
    double *first = malloc((size_t)n * sizeof *first);
    int64_t dropped = 0, same_as_other_seed = 0;
    for (int64_t i = 0; i < n; i++) {
        first[i] = nb_tensor_get(nb_value(y), i);
        assert_true(first[i] == 0 || fabs(first[i] - 2 / 0.75) < 1e-6);
        dropped += first[i] == 0;
        same_as_other_seed += first[i] == nb_tensor_get(nb_value(y2), i);
    }
    assert_close((double)dropped / (double)n, 0.25, 0.02);
    assert_true(same_as_other_seed < n * 0.8);
    assert_int_equal(nb_forward(y), NB_OK); /* same step: same mask */
    for (int64_t i = 0; i < n; i++)
        assert_true(nb_tensor_get(nb_value(y), i) == first[i]);
    nb_zero_grad(g); /* the next step: a new mask */
    assert_int_equal(nb_forward(y), NB_OK);
    int64_t changed = 0;
    for (int64_t i = 0; i < n; i++)
        changed += nb_tensor_get(nb_value(y), i) != first[i];
    assert_true(changed > n / 5);
    free(first);
    assert_null(nb_dropout(x, 1.0, 1));
    assert_non_null(strstr(nb_errmsg(), "[0, 1)"));
    nb_graph_free(g);
}

/* Training: the batch's statistics normalise and the running ones move by momentum
 * (the unbiased variance, as torch); evaluation: the running ones normalise. */
static void test_batch_norm_statistics(void **state)
{
    (void)state;
    nb_graph *g = nb_graph_new(NB_F64);
    int64_t c = 1;
    nb_node *x = nb_input(g, "x", 2, (int64_t[]){4, 1});
    nb_node *gamma = nb_param(g, "gamma", 1, &c), *beta = nb_param(g, "beta", 1, &c);
    nb_node *mean = nb_param(g, "mean", 1, &c), *var = nb_param(g, "var", 1, &c);
    nb_tensor_fill(nb_value(gamma), 1);
    nb_tensor_fill(nb_value(var), 1);
    nb_set_requires_grad(mean, false);
    nb_set_requires_grad(var, false);
    nb_node *y = nb_batch_norm(x, gamma, beta, mean, var, 0.5, 1e-5);
    assert_non_null(y);
    assert_int_equal(nb_input_set_doubles(x, (double[]){1, 2, 3, 6}, 4), NB_OK);
    nb_graph_set_training(g, true);
    assert_int_equal(nb_forward(y), NB_OK);
    double mu = 3, biased = (4 + 1 + 0 + 9) / 4.0, unbiased = 14 / 3.0;
    assert_close(nb_tensor_get(nb_value(y), 3), (6 - mu) / sqrt(biased + 1e-5), 1e-12);
    assert_close(nb_tensor_get(nb_value(mean), 0), 0.5 * mu, 1e-12);
    assert_close(nb_tensor_get(nb_value(var), 0), 0.5 + 0.5 * unbiased, 1e-12);
    nb_graph_set_training(g, false);
    assert_int_equal(nb_forward(y), NB_OK);
    assert_close(nb_tensor_get(nb_value(y), 3), (6 - 1.5) / sqrt(0.5 + 0.5 * unbiased + 1e-5), 1e-12);
    assert_close(nb_tensor_get(nb_value(mean), 0), 0.5 * mu, 1e-12); /* evaluation leaves them */
    assert_null(nb_batch_norm(x, gamma, beta, gamma, var, 0.1, 1e-5));
    assert_non_null(strstr(nb_errmsg(), "running statistics"));
    nb_graph_set_training(g, true);
    assert_int_equal(nb_input_set_doubles(x, (double[]){1}, 1), NB_OK);
    assert_int_equal(nb_forward(y), NB_EARG);
    assert_non_null(strstr(nb_errmsg(), "at least 2"));
    nb_graph_free(g);
}

static void test_shapes_refused(void **state)
{
    (void)state;
    nb_graph *g = nb_graph_new(NB_F32);
    nb_node *x = nb_input(g, "x", 4, (int64_t[]){1, 3, 4, 4});
    nb_node *w = nb_param(g, "w", 4, (int64_t[]){2, 2, 3, 3});
    assert_null(nb_conv2d(x, w, NULL, 1, 0));
    assert_non_null(strstr(nb_errmsg(), "same C"));
    nb_node *big = nb_param(g, "big", 4, (int64_t[]){2, 3, 7, 7});
    assert_null(nb_conv2d(x, big, NULL, 1, 1));
    assert_non_null(strstr(nb_errmsg(), "does not fit"));
    assert_null(nb_conv2d(x, big, NULL, 0, 1));
    assert_null(nb_conv2d_act(x, w, NULL, 1, 0, NB_ACT_TANH));
    assert_non_null(strstr(nb_errmsg(), "fuses"));
    assert_null(nb_max_pool2d(x, 2, 1, 2));
    assert_non_null(strstr(nb_errmsg(), "padding"));
    assert_null(nb_max_pool2d(nb_input(g, "flat", 2, (int64_t[]){1, 4}), 2, 0, 0));
    assert_non_null(strstr(nb_errmsg(), "[N, C, H, W]"));
    nb_graph_free(g);
}

/* A convolutional classifier's steps, batch changing, allocate nothing after the first
 * of each size, and give the same numbers on 1 and 2 threads. */
static double train_steps(int threads, bool count, long *calls)
{
    nb_set_threads(threads);
    nb_graph *g = nb_graph_new(NB_F32);
    nb_graph_set_training(g, true);
    nb_rng_seed(&rng, 3);
    nb_node *x = nb_input(g, "x", 4, (int64_t[]){32, 2, 12, 12}), *labels = nb_input(g, "y", 1, (int64_t[]){32});
    nb_node *w = param(g, "w", 4, (int64_t[]){8, 2, 3, 3}), *b = param(g, "b", 1, (int64_t[]){8});
    nb_node *h = nb_max_pool2d(nb_conv2d_act(x, w, b, 1, 1, NB_ACT_RELU), 2, 0, 0);
    h = nb_dropout(batch_norm_of(g, nb_flatten(h), 8 * 36), 0.2, 9);
    nb_node *fc = param(g, "fc", 2, (int64_t[]){3, 8 * 36});
    nb_tensor_fill_uniform(nb_value(fc), &rng, -0.05, 0.05);
    nb_node *loss = nb_softmax_cross_entropy(nb_linear(h, fc, NULL), labels);
    assert_non_null(loss);
    nb_tensor_fill_uniform(nb_value(x), &rng, -1, 1);
    for (int i = 0; i < 32; i++)
        nb_tensor_set(nb_value(labels), i, i % 3);
    nb_alloc_counter counter = {.fail_at = -1};
    double total = 0;
    for (int step = 0; step < 12; step++) {
        if (step == 2 && count)
            nb_count_allocations(&counter, -1);
        int64_t batch = step % 3 == 2 ? 20 : 32;
        assert_int_equal(nb_input_resize(x, batch), NB_OK);
        assert_int_equal(nb_input_resize(labels, batch), NB_OK);
        assert_int_equal(nb_forward(loss), NB_OK);
        assert_int_equal(nb_backward(loss), NB_OK);
        total += nb_item(loss);
        nb_zero_grad(g);
    }
    if (count) {
        *calls = counter.calls;
        nb_set_allocator(NULL);
    }
    nb_graph_free(g);
    nb_set_threads(0);
    return total;
}

static void test_steps_allocate_nothing_and_threads_agree(void **state)
{
    (void)state;
    long calls = -1;
    double one = train_steps(1, true, &calls);
    assert_int_equal(calls, 0);
    double two = train_steps(2, false, NULL);
    assert_true(one == two);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_gradients),
        cmocka_unit_test(test_conv_matches_loops),
        cmocka_unit_test(test_dropout_modes),
        cmocka_unit_test(test_batch_norm_statistics),
        cmocka_unit_test(test_shapes_refused),
        cmocka_unit_test(test_steps_allocate_nothing_and_threads_agree),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
