/* The autodiff engine: composed graphs, accumulation, changing batches, the allocation
 * hook (no allocation per step; every allocation failure reported, nothing leaked). */
#include "nb_test.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "autodiff/graph_internal.h" /* which nodes a forward pass evaluated */

/* The counting allocator of nb_test.h: every allocation counted, one told to fail. */
static nb_alloc_counter counter;
static void install_counter(long fail_at) { nb_count_allocations(&counter, fail_at); }

/* ---- tutorial 5 (docs/tutorials.md): the 2-2-2 sigmoid network --------------------- */
typedef struct {
    nb_graph *graph;
    nb_node *w[8];
    nb_node *loss;
} net222;

static nb_status build_net222(net222 *net)
{
    static const double start[8] = {0.2, -0.4, 0.5, 0.6, 0.1, -0.5, -0.3, 0.8};
    static const char *names[8] = {"w1", "w2", "w3", "w4", "w5", "w6", "w7", "w8"};
    nb_graph *g = nb_graph_new(NB_F64);
    net->graph = g;
    if (!g)
        return nb_errcode();
    for (int i = 0; i < 8; i++) {
        net->w[i] = nb_param(g, names[i], 0, NULL);
        if (net->w[i])
            nb_tensor_set(nb_value(net->w[i]), 0, start[i]);
    }
    nb_node *x1 = nb_scalar(g, 0.5), *x2 = nb_scalar(g, 0.3);
    nb_node *h1 = nb_sigmoid(nb_add(nb_mul(net->w[0], x1), nb_mul(net->w[2], x2)));
    nb_node *h2 = nb_sigmoid(nb_add(nb_mul(net->w[1], x1), nb_mul(net->w[3], x2)));
    nb_node *o1 = nb_sigmoid(nb_add(nb_mul(net->w[4], h1), nb_mul(net->w[6], h2)));
    nb_node *o2 = nb_sigmoid(nb_add(nb_mul(net->w[5], h1), nb_mul(net->w[7], h2)));
    nb_node *e1 = nb_sub(o1, nb_scalar(g, 0.23)), *e2 = nb_sub(o2, nb_scalar(g, -0.07));
    net->loss = nb_scale(nb_add(nb_mul(e1, e1), nb_mul(e2, e2)), 0.5);
    return net->loss ? NB_OK : nb_errcode();
}

static void test_net222_gradcheck(void **state)
{
    (void)state;
    net222 net = {0};
    assert_int_equal(build_net222(&net), NB_OK);
    nb_gradcheck_result result;
    assert_int_equal(nb_gradcheck(net.loss, 0, &result), NB_OK);
    assert_int_equal(result.n_checked, 8);
    assert_true(result.max_error < 1e-8);

    /* the output-layer gradient by hand: dL/dw5 = (o1 - y1) o1 (1 - o1) h1 */
    assert_int_equal(nb_forward(net.loss), NB_OK);
    assert_int_equal(nb_backward(net.loss), NB_OK);
    double h1 = 1 / (1 + exp(-(0.2 * 0.5 + 0.5 * 0.3))), h2 = 1 / (1 + exp(-(-0.4 * 0.5 + 0.6 * 0.3)));
    double o1 = 1 / (1 + exp(-(0.1 * h1 - 0.3 * h2)));
    double expected = (o1 - 0.23) * o1 * (1 - o1) * h1;
    assert_close(nb_tensor_get(nb_grad(net.w[4]), 0), expected, 1e-15);
    nb_graph_free(net.graph);
}

static void test_gradients_accumulate_until_zeroed(void **state)
{
    (void)state;
    nb_graph *g = nb_graph_new(NB_F64);
    nb_node *w = nb_param(g, "w", 1, (int64_t[]){2});
    nb_tensor_from_doubles(nb_value(w), (double[]){3, -1});
    nb_node *loss = nb_sum(nb_mul(w, w)); /* d/dw = 2w */
    for (int run = 1; run <= 3; run++) {
        assert_int_equal(nb_forward(loss), NB_OK);
        assert_int_equal(nb_backward(loss), NB_OK);
        assert_close(nb_tensor_get(nb_grad(w), 0), 6.0 * run, 1e-15);
        assert_close(nb_tensor_get(nb_grad(w), 1), -2.0 * run, 1e-15);
    }
    nb_zero_grad(g);
    assert_true(nb_tensor_get(nb_grad(w), 0) == 0 && ((double *)nb_grads_data(g))[1] == 0);
    nb_graph_free(g);
}

/* An op node outside the plan of the last backward has no gradient from it: zeros,
 * not what an earlier backward left there. */
static void test_op_gradient_outside_the_plan_is_zero(void **state)
{
    (void)state;
    nb_graph *g = nb_graph_new(NB_F64);
    nb_node *w = nb_param(g, "w", 1, (int64_t[]){2});
    nb_tensor_from_doubles(nb_value(w), (double[]){3, -1});
    nb_node *square = nb_mul(w, w);
    nb_node *first = nb_sum(square), *second = nb_sum(nb_scale(w, 4));
    assert_int_equal(nb_forward(first), NB_OK);
    assert_int_equal(nb_backward(first), NB_OK);
    assert_close(nb_tensor_get(nb_grad(square), 0), 1.0, 0);
    assert_int_equal(nb_forward(second), NB_OK);
    assert_int_equal(nb_backward(second), NB_OK);
    assert_close(nb_tensor_get(nb_grad(square), 0), 0.0, 0);
    assert_close(nb_tensor_get(nb_grad(square), 1), 0.0, 0);
    assert_close(nb_tensor_get(nb_grad(w), 0), 6.0 + 4.0, 1e-15); /* the parameter accumulates */
    nb_graph_free(g);
}

static void test_call_order_and_shape_errors(void **state)
{
    (void)state;
    nb_graph *g = nb_graph_new(NB_F32);
    nb_node *w = nb_param(g, "w", 1, (int64_t[]){3});
    nb_node *y = nb_exp(w);
    nb_node *loss = nb_sum(y);
    assert_int_equal(nb_backward(loss), NB_ESTATE);
    assert_non_null(strstr(nb_errmsg(), "nb_forward"));
    assert_int_equal(nb_forward(y), NB_OK);
    assert_int_equal(nb_backward(y), NB_ESHAPE);
    assert_non_null(strstr(nb_errmsg(), "[3]"));
    nb_node *c = nb_exp(nb_scalar(g, 1));
    assert_int_equal(nb_forward(c), NB_OK);
    assert_int_equal(nb_backward(c), NB_ESTATE); /* nothing to differentiate */
    assert_int_equal(nb_input_resize(w, 2), NB_EARG);
    assert_non_null(strstr(nb_errmsg(), "not an input"));
    nb_graph_free(g);
}

/* y = x·W + b with a batch that changes size between runs. */
static void test_batch_dimension_changes(void **state)
{
    (void)state;
    nb_graph *g = nb_graph_new(NB_F64);
    nb_node *x = nb_input(g, "x", 2, (int64_t[]){4, 3});
    nb_node *w = nb_param(g, "W", 2, (int64_t[]){3, 2});
    nb_node *b = nb_param(g, "b", 1, (int64_t[]){2});
    nb_tensor_from_doubles(nb_value(w), (double[]){1, 2, 3, 4, 5, 6});
    nb_tensor_from_doubles(nb_value(b), (double[]){0.5, -0.5});
    nb_node *y = nb_add(nb_matmul(x, w, false, false), b);
    nb_node *loss = nb_mean(nb_mul(y, y));
    assert_non_null(loss);
    for (int64_t batch = 4; batch >= 0; batch--) {
        double data[12];
        for (int i = 0; i < 12; i++)
            data[i] = 0.1 * i - 0.3 * batch;
        assert_int_equal(nb_input_set_doubles(x, data, batch), NB_OK);
        assert_int_equal(nb_forward(loss), NB_OK);
        assert_int_equal(nb_value(y)->shape[0], batch);
        double expect = 0;
        for (int r = 0; r < batch; r++)
            for (int c = 0; c < 2; c++) {
                double v = c ? -0.5 : 0.5;
                for (int k = 0; k < 3; k++)
                    v += data[r * 3 + k] * (k * 2 + c + 1);
                expect += v * v;
            }
        expect = batch ? expect / (double)(batch * 2) : NAN;
        if (batch)
            assert_close(nb_item(loss), expect, 1e-12);
        if (batch) {
            nb_gradcheck_result result;
            assert_int_equal(nb_gradcheck(loss, 0, &result), NB_OK);
            assert_true(result.max_error < 1e-7);
        }
    }
    nb_graph_free(g);
}

static void test_input_gradient_and_seed(void **state)
{
    (void)state;
    nb_graph *g = nb_graph_new(NB_F64);
    nb_node *x = nb_input(g, "x", 1, (int64_t[]){3});
    nb_node *k = nb_param(g, "k", 0, NULL);
    nb_tensor_set(nb_value(k), 0, 2.0);
    nb_node *y = nb_mul(nb_mul(x, x), k); /* dy_i/dx_i = 2 k x_i, dy_i/dk = x_i^2 */
    assert_int_equal(nb_set_requires_grad(x, true), NB_OK);
    assert_int_equal(nb_input_set_doubles(x, (double[]){1, 2, 3}, 3), NB_OK);
    assert_int_equal(nb_forward(y), NB_OK);
    assert_int_equal(nb_backward_seed(y, (double[]){1, 10, 100}), NB_OK);
    assert_close(nb_tensor_get(nb_grad(x), 0), 4, 1e-15);
    assert_close(nb_tensor_get(nb_grad(x), 1), 80, 1e-15);
    assert_close(nb_tensor_get(nb_grad(x), 2), 1200, 1e-15);
    assert_close(nb_tensor_get(nb_grad(k), 0), 1 + 40 + 900, 1e-12);

    /* a frozen parameter receives nothing */
    nb_zero_grad(g);
    assert_int_equal(nb_set_requires_grad(k, false), NB_OK);
    assert_int_equal(nb_forward(y), NB_OK);
    assert_int_equal(nb_backward_seed(y, NULL), NB_OK);
    assert_true(nb_grad(k) == NULL);
    assert_close(nb_tensor_get(nb_grad(x), 2), 12, 1e-15);
    nb_graph_free(g);
}

/* A model, its loss and a hand-written SGD step: after warm-up with a full and a short
 * batch, 200 more steps allocate nothing. */
static nb_status training_step(nb_node *x, nb_node *labels, nb_node *loss, int64_t batch, const double *data,
                               const double *targets)
{
    nb_graph *g = nb_node_graph(loss);
    nb_status status = nb_input_set_doubles(x, data, batch);
    if (status == NB_OK)
        status = nb_input_set_doubles(labels, targets, batch);
    if (status == NB_OK)
        status = nb_forward(loss);
    if (status == NB_OK) {
        nb_zero_grad(g);
        status = nb_backward(loss);
    }
    if (status == NB_OK) {
        double *p = nb_params_data(g), *grad = nb_grads_data(g);
        for (int64_t i = 0; i < nb_n_params(g); i++)
            p[i] -= 0.1 * grad[i];
    }
    return status;
}

static nb_status build_classifier(nb_graph **out, nb_node **x, nb_node **labels, nb_node **loss)
{
    nb_graph *g = nb_graph_new(NB_F64);
    *out = g;
    if (!g)
        return nb_errcode();
    *x = nb_input(g, "x", 2, (int64_t[]){16, 5});
    *labels = nb_input(g, "labels", 1, (int64_t[]){16});
    nb_node *w1 = nb_param(g, "w1", 2, (int64_t[]){5, 8});
    nb_node *b1 = nb_param(g, "b1", 1, (int64_t[]){8});
    nb_node *w2 = nb_param(g, "w2", 2, (int64_t[]){8, 3});
    if (w1 && w2) {
        nb_rng rng;
        nb_rng_seed(&rng, 5);
        nb_tensor_fill_normal(nb_value(w1), &rng, 0, 0.5);
        nb_tensor_fill_normal(nb_value(w2), &rng, 0, 0.5);
    }
    nb_node *hidden = nb_tanh(nb_add(nb_matmul(*x, w1, false, false), b1));
    nb_node *logits = nb_matmul(hidden, w2, false, false);
    *loss = nb_neg(nb_mean(nb_pick(nb_log_softmax(logits, 1), *labels)));
    return *loss ? NB_OK : nb_errcode();
}

static void test_no_allocation_per_step(void **state)
{
    (void)state;
    double data[16 * 5], targets[16];
    for (int i = 0; i < 80; i++)
        data[i] = sin(i * 0.7);
    for (int i = 0; i < 16; i++)
        targets[i] = i % 3;
    install_counter(-1);
    nb_graph *g;
    nb_node *x, *labels, *loss;
    assert_int_equal(build_classifier(&g, &x, &labels, &loss), NB_OK);
    assert_int_equal(training_step(x, labels, loss, 16, data, targets), NB_OK);
    assert_int_equal(training_step(x, labels, loss, 7, data, targets), NB_OK);
    long before = counter.calls;
    double first = 0, last = 0;
    for (int step = 0; step < 200; step++) {
        int64_t batch = step % 4 == 3 ? 7 : 16;
        assert_int_equal(training_step(x, labels, loss, batch, data, targets), NB_OK);
        if (step == 0)
            first = nb_item(loss);
        last = nb_item(loss);
    }
    assert_int_equal(counter.calls, before);
    assert_true(last < first); /* and it did learn something */
    nb_graph_free(g);
    assert_int_equal(counter.live, 0);
    nb_set_allocator(NULL);
}

/* Fail each allocation in turn, through build, forward, backward and gradcheck: every
 * failure is reported as NB_ENOMEM with a message, and nothing leaks. */
static void test_every_allocation_failure_is_clean(void **state)
{
    (void)state;
    double data[16 * 5] = {0}, targets[16] = {0};
    install_counter(-1);
    nb_graph *g;
    nb_node *x, *labels, *loss;
    assert_int_equal(build_classifier(&g, &x, &labels, &loss), NB_OK);
    assert_int_equal(training_step(x, labels, loss, 16, data, targets), NB_OK);
    nb_graph_free(g);
    long total = counter.calls;
    assert_true(total > 10);
    for (long k = 0; k < total; k++) {
        install_counter(k);
        nb_clear_error();
        nb_status status = build_classifier(&g, &x, &labels, &loss);
        if (status == NB_OK)
            status = training_step(x, labels, loss, 16, data, targets);
        if (status != NB_ENOMEM)
            fail_msg("allocation %ld of %ld: expected NB_ENOMEM, got %d (%s)", k, total, status, nb_errmsg());
        assert_true(strlen(nb_errmsg()) > 0);
        nb_graph_free(g);
        if (counter.live != 0)
            fail_msg("allocation %ld failed: %ld blocks leaked", k, counter.live);
    }
    nb_set_allocator(NULL);
}

/* nb_param_at names the index it was asked for, not what is left of it after counting. */
static void test_param_at_names_the_index(void **state)
{
    (void)state;
    nb_graph *g = nb_graph_new(NB_F64);
    nb_node *a = nb_param(g, "a", 0, NULL), *b = nb_param(g, "b", 1, (int64_t[]){2});
    assert_ptr_equal(nb_param_at(g, 0), a);
    assert_ptr_equal(nb_param_at(g, 1), b);
    assert_null(nb_param_at(g, 5));
    assert_int_equal(nb_errcode(), NB_EARG);
    assert_non_null(strstr(nb_errmsg(), "no parameter 5"));
    assert_non_null(strstr(nb_errmsg(), "2 parameters"));
    assert_null(nb_param_at(g, -1));
    assert_non_null(strstr(nb_errmsg(), "no parameter -1"));
    nb_graph_free(g);
}

/* A batch whose bytes do not fit in size_t is refused before anything is allocated,
 * whether the input owns its storage or reads the caller's (then the op nodes' storage
 * would overflow). */
static void test_huge_batch_is_refused(void **state)
{
    (void)state;
    nb_graph *g = nb_graph_new(NB_F64);
    nb_node *x = nb_input(g, "x", 2, (int64_t[]){2, 4});
    nb_node *y = nb_scale(x, 2);
    assert_non_null(y);
    assert_int_equal(nb_input_resize(x, (int64_t)1 << 59), NB_ENOMEM); /* 2^61 values, 2^64 bytes */
    assert_non_null(strstr(nb_errmsg(), "'x'"));
    assert_non_null(strstr(nb_errmsg(), "[576460752303423488, 4]"));
    assert_int_equal(nb_value(x)->shape[0], 2); /* unchanged */
    assert_int_equal(nb_input_set_doubles(x, (double[]){1, 2, 3, 4, 5, 6, 7, 8}, 2), NB_OK);
    assert_int_equal(nb_forward(y), NB_OK);
    assert_close(nb_tensor_get(nb_value(y), 7), 16, 0);

    double data[8] = {0};
    assert_int_equal(nb_input_bind(x, NB_F64, data, (int64_t)1 << 59), NB_ENOMEM);
    assert_non_null(strstr(nb_errmsg(), "[576460752303423488, 4]"));

    /* an op node's storage that overflows though its input's does not: [2^40] labels
     * (bound, 8 TiB claimed) made one-hot over 2^21 classes is 2^61 values */
    nb_node *labels = nb_input(g, "labels", 1, (int64_t[]){2});
    nb_node *one_hot = nb_one_hot(labels, (int64_t)1 << 21);
    assert_non_null(one_hot);
    double label_data[2] = {0, 1};
    assert_int_equal(nb_input_bind(labels, NB_F64, label_data, (int64_t)1 << 40), NB_OK);
    assert_int_equal(nb_forward(one_hot), NB_ENOMEM);
    assert_non_null(strstr(nb_errmsg(), "one_hot"));
    assert_non_null(strstr(nb_errmsg(), "[1099511627776, 2097152]"));
    assert_int_equal(nb_input_bind(labels, NB_F64, label_data, 2), NB_OK);
    assert_int_equal(nb_forward(y), NB_OK);
    assert_close(nb_tensor_get(nb_value(y), 7), 16, 0);

    /* a parameter too large to address */
    assert_null(nb_param(g, "huge", 2, (int64_t[]){(int64_t)1 << 31, (int64_t)1 << 30}));
    assert_int_equal(nb_errcode(), NB_ENOMEM);
    assert_non_null(strstr(nb_errmsg(), "'huge'"));
    nb_graph_free(g);
}

/* Growing an input that wants a gradient allocates its values and its gradient; when
 * the second allocation fails, the input keeps its old storage, shape and values. */
static void test_failed_resize_keeps_the_input(void **state)
{
    (void)state;
    nb_graph *g = nb_graph_new(NB_F64);
    nb_node *x = nb_input(g, "x", 1, (int64_t[]){2});
    nb_node *y = nb_sum(nb_mul(x, x));
    assert_int_equal(nb_set_requires_grad(x, true), NB_OK);
    assert_int_equal(nb_input_set_doubles(x, (double[]){3, 4}, 2), NB_OK);
    for (long fail_at = 0; fail_at < 2; fail_at++) {
        nb_alloc_counter allocations;
        nb_count_allocations(&allocations, fail_at); /* the values (0), then the gradient (1) */
        assert_int_equal(nb_input_resize(x, 1000), NB_ENOMEM);
        assert_non_null(strstr(nb_errmsg(), "'x'"));
        nb_set_allocator(NULL);
        assert_int_equal(allocations.live, 0);
        assert_int_equal(nb_value(x)->shape[0], 2);
        assert_close(nb_tensor_get(nb_value(x), 0), 3, 0);
        assert_close(nb_tensor_get(nb_value(x), 1), 4, 0);
        assert_int_equal(nb_forward(y), NB_OK);
        assert_close(nb_item(y), 25, 0);
        nb_zero_grad(g);
        assert_int_equal(nb_backward(y), NB_OK);
        assert_close(nb_tensor_get(nb_grad(x), 1), 8, 0);
    }
    assert_int_equal(nb_input_resize(x, 1000), NB_OK);
    assert_int_equal(nb_forward(y), NB_OK);
    nb_graph_free(g);
}

/* Tutorial 1 (docs/tutorials.md), variant A, with autodiff, against the hand-derived loop in plain C. */
static void test_quadratic_matches_hand_derived(void **state)
{
    (void)state;
    nb_graph *g = nb_graph_new(NB_F64);
    nb_node *x = nb_input(g, "x", 0, NULL), *y = nb_input(g, "y", 0, NULL);
    nb_node *w1 = nb_param(g, "w1", 0, NULL), *w2 = nb_param(g, "w2", 0, NULL), *w3 = nb_param(g, "w3", 0, NULL);
    nb_node *pred = nb_add(nb_add(nb_mul(w1, nb_mul(x, x)), nb_mul(w2, x)), w3);
    nb_node *err = nb_sub(pred, y);
    nb_node *loss = nb_mul(err, err);
    double *w = nb_params_data(g), *grad = nb_grads_data(g);
    double *xv = nb_value(x)->data, *yv = nb_value(y)->data;
    w[0] = 1, w[1] = 2, w[2] = 3;
    double h[3] = {1, 2, 3};
    for (int epoch = 0; epoch < 50; epoch++)
        for (int i = 0; i < 100; i++) {
            double xi = i / 100.0, yi = 2 * xi * xi + 3 * xi + 4;
            *xv = xi, *yv = yi;
            assert_int_equal(nb_forward(loss), NB_OK);
            nb_zero_grad(g);
            assert_int_equal(nb_backward(loss), NB_OK);
            for (int k = 0; k < 3; k++)
                w[k] -= 0.1 * grad[k];
            double e = h[0] * xi * xi + h[1] * xi + h[2] - yi;
            h[0] -= 0.1 * 2 * e * xi * xi;
            h[1] -= 0.1 * 2 * e * xi;
            h[2] -= 0.1 * 2 * e;
        }
    for (int k = 0; k < 3; k++)
        assert_close(w[k], h[k], 1e-12);
    nb_graph_free(g);
}

/* nb_forward_with: a node the target's pass computes gets no pass of its own; one
 * outside it does, and the target's value is current afterwards, also when that pass
 * laid the graph's storage out anew (as the first pass of a node made after the last
 * layout does). */
static void test_forward_with(void **state)
{
    (void)state;
    nb_graph *g = nb_graph_new(NB_F64);
    nb_node *x = nb_input(g, "x", 2, (int64_t[]){2, 3});
    nb_node *w = nb_param(g, "w", 2, (int64_t[]){3, 2});
    const double xs[6] = {0.5, -1, 2, 0.25, 1.5, -0.75}, ws[6] = {0.3, -0.2, 0.1, 0.4, -0.5, 0.6};
    nb_tensor_from_doubles(nb_value(x), xs);
    nb_tensor_from_doubles(nb_value(w), ws);
    nb_node *h = nb_tanh(nb_matmul(x, w, false, false));
    nb_node *loss = nb_sum(nb_mul(h, h));
    assert_non_null(loss);
    double expected = 0;
    for (int r = 0; r < 2; r++)
        for (int c = 0; c < 2; c++) {
            double z = 0;
            for (int k = 0; k < 3; k++)
                z += xs[r * 3 + k] * ws[k * 2 + c];
            expected += tanh(z) * tanh(z);
        }

    assert_int_equal(nb_forward_with(loss, h), NB_OK);
    assert_true(h->forwarded_at == 0); /* never a target of its own */
    assert_true(loss->forwarded_at == g->epoch);
    assert_close(nb_item(loss), expected, 1e-15);
    assert_close(nb_tensor_get(nb_value(h), 3), tanh(xs[3] * ws[1] + xs[4] * ws[3] + xs[5] * ws[5]), 1e-15);

    nb_node *apart = nb_exp(x); /* made after the storage was laid out: it has none yet */
    assert_non_null(apart);
    uint64_t epoch = g->epoch;
    assert_int_equal(nb_forward_with(loss, apart), NB_OK);
    assert_true(g->epoch != epoch); /* apart's first pass laid the storage out anew */
    assert_true(apart->forwarded_at == g->epoch && loss->forwarded_at == g->epoch);
    assert_close(nb_item(loss), expected, 1e-15);
    for (int i = 0; i < 6; i++)
        assert_close(nb_tensor_get(nb_value(apart), i), exp(xs[i]), 1e-15);
    assert_int_equal(nb_forward_with(loss, NULL), NB_OK);
    nb_graph_free(g);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_net222_gradcheck),
        cmocka_unit_test(test_gradients_accumulate_until_zeroed),
        cmocka_unit_test(test_op_gradient_outside_the_plan_is_zero),
        cmocka_unit_test(test_call_order_and_shape_errors),
        cmocka_unit_test(test_batch_dimension_changes),
        cmocka_unit_test(test_input_gradient_and_seed),
        cmocka_unit_test(test_no_allocation_per_step),
        cmocka_unit_test(test_every_allocation_failure_is_clean),
        cmocka_unit_test(test_quadratic_matches_hand_derived),
        cmocka_unit_test(test_forward_with),
        cmocka_unit_test(test_param_at_names_the_index),
        cmocka_unit_test(test_huge_batch_is_refused),
        cmocka_unit_test(test_failed_resize_keeps_the_input),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
