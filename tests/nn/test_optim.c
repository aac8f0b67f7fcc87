/* Optimizers, schedules, clipping. */
#include "nb_test.h"

#include <string.h>


/* f(p) = Σ a_i (p_i - c_i)², minimum at c. */
static const double curvature[3] = {1, 3, 10}, minimum[3] = {1.5, -2, 0.25};

typedef struct {
    nb_graph *graph;
    nb_node *p, *loss;
} bowl;

static bowl make_bowl(nb_dtype dtype)
{
    bowl b;
    b.graph = nb_graph_new(dtype);
    b.p = nb_param(b.graph, "p", 1, (int64_t[]){3});
    nb_node *a = nb_const(b.graph, 1, (int64_t[]){3}, curvature);
    nb_node *c = nb_const(b.graph, 1, (int64_t[]){3}, minimum);
    nb_node *d = nb_sub(b.p, c);
    b.loss = nb_sum(nb_mul(a, nb_mul(d, d)));
    assert_non_null(b.loss);
    return b;
}

static nb_status bowl_closure(void *ctx, double *loss)
{
    bowl *b = ctx;
    nb_zero_grad(b->graph);
    nb_status status = nb_forward(b->loss);
    if (status == NB_OK)
        status = nb_backward(b->loss);
    *loss = nb_item(b->loss);
    return status;
}

static void converges(nb_optim_config config, int steps, double tolerance, nb_dtype dtype)
{
    bowl b = make_bowl(dtype);
    nb_optimizer *opt = nb_optim_new(b.graph, &config);
    assert_non_null(opt);
    double loss;
    for (int step = 0; step < steps; step++)
        assert_int_equal(nb_optim_step_closure(opt, bowl_closure, &b, &loss), NB_OK);
    for (int i = 0; i < 3; i++)
        if (!(fabs(nb_tensor_get(nb_value(b.p), i) - minimum[i]) <= tolerance))
            fail_msg("%s: p[%d] = %.10g, minimum %.10g", nb_optim_name(config.kind), i,
                     nb_tensor_get(nb_value(b.p), i), minimum[i]);
    nb_optim_free(opt);
    nb_graph_free(b.graph);
}

/* nb_optim_steps: one per first-order step; L-BFGS counts its iterations, up to max_iter
 * per call, and fewer when it has converged. */
static void test_steps_counted(void **state)
{
    (void)state;
    bowl b = make_bowl(NB_F64);
    nb_optim_config sgd = nb_optim_defaults(NB_SGD);
    nb_optimizer *opt = nb_optim_new(b.graph, &sgd);
    assert_int_equal(nb_optim_steps(opt), 0);
    double loss;
    for (int step = 0; step < 5; step++)
        assert_int_equal(nb_optim_step_closure(opt, bowl_closure, &b, &loss), NB_OK);
    assert_int_equal(nb_optim_steps(opt), 5);
    nb_optim_free(opt);

    nb_optim_config lbfgs = nb_optim_defaults(NB_LBFGS);
    lbfgs.max_iter = 2;
    opt = nb_optim_new(b.graph, &lbfgs);
    assert_int_equal(nb_optim_step_closure(opt, bowl_closure, &b, &loss), NB_OK);
    assert_int_equal(nb_optim_steps(opt), 2); /* a 3-D bowl takes more than 2 */
    nb_optim_free(opt);
    lbfgs.max_iter = 1000, lbfgs.tolerance_grad = 0, lbfgs.tolerance_change = 0;
    opt = nb_optim_new(b.graph, &lbfgs);
    assert_int_equal(nb_optim_step_closure(opt, bowl_closure, &b, &loss), NB_OK);
    int64_t iterations = nb_optim_steps(opt);
    if (!(iterations >= 1 && iterations < 100))
        fail_msg("L-BFGS took %lld iterations on a quadratic bowl in 3 dimensions", (long long)iterations);
    nb_optim_free(opt);
    nb_graph_free(b.graph);
}

static void test_every_optimizer_converges(void **state)
{
    (void)state;
    nb_optim_config sgd = nb_optim_defaults(NB_SGD);
    sgd.lr = 0.04;
    converges(sgd, 500, 1e-6, NB_F64);
    sgd.momentum = 0.9;
    converges(sgd, 500, 1e-6, NB_F64);
    sgd.nesterov = true;
    converges(sgd, 500, 1e-6, NB_F32);
    nb_optim_config adam = nb_optim_defaults(NB_ADAM);
    adam.lr = 0.05;
    converges(adam, 3000, 1e-4, NB_F64);
    nb_optim_config adamw = nb_optim_defaults(NB_ADAMW);
    adamw.lr = 0.05, adamw.weight_decay = 0;
    converges(adamw, 3000, 1e-4, NB_F32);
    nb_optim_config rms = nb_optim_defaults(NB_RMSPROP);
    rms.lr = 0.01;
    converges(rms, 3000, 1e-2, NB_F64); /* RMSprop hovers at the scale of lr */
    nb_optim_config adagrad = nb_optim_defaults(NB_ADAGRAD);
    adagrad.lr = 0.5;
    converges(adagrad, 3000, 1e-6, NB_F64);
    nb_optim_config lbfgs = nb_optim_defaults(NB_LBFGS);
    lbfgs.tolerance_change = 1e-20, lbfgs.tolerance_grad = 1e-12; /* torch's defaults stop near 1e-5 */
    converges(lbfgs, 1, 1e-9, NB_F64);
}

/* One parameter, loss p², gradient 2p: the first three steps of Adam and RMSprop
 * against the update rules written out here, independently of the library. */
static void three_steps(nb_optim_config config, const double expected[3])
{
    nb_graph *g = nb_graph_new(NB_F64);
    nb_node *p = nb_param(g, "p", 0, NULL);
    nb_tensor_set(nb_value(p), 0, 1.0);
    nb_node *loss = nb_mul(p, p);
    nb_optimizer *opt = nb_optim_new(g, &config);
    for (int step = 0; step < 3; step++) {
        nb_zero_grad(g);
        assert_int_equal(nb_forward(loss), NB_OK);
        assert_int_equal(nb_backward(loss), NB_OK);
        assert_int_equal(nb_optim_step(opt), NB_OK);
        assert_close(nb_tensor_get(nb_value(p), 0), expected[step], 1e-7);
    }
    nb_optim_free(opt);
    nb_graph_free(g);
}

static void test_adam_first_steps(void **state)
{
    (void)state;
    nb_optim_config c = nb_optim_defaults(NB_ADAM);
    c.lr = 0.1;
    double p = 1, m = 0, v = 0, expected[3];
    for (int t = 1; t <= 3; t++) {
        double g = 2 * p;
        m = 0.9 * m + 0.1 * g;
        v = 0.999 * v + 0.001 * g * g;
        double m_hat = m / (1 - pow(0.9, t)), v_hat = v / (1 - pow(0.999, t));
        p -= 0.1 * m_hat / (sqrt(v_hat) + 1e-8);
        expected[t - 1] = p;
    }
    /* by hand: the first step of Adam moves by lr whatever the gradient */
    assert_close(expected[0], 0.9, 1e-8);
    assert_close(expected[1], 0.800412, 1e-6);
    three_steps(c, expected);
}

static void test_rmsprop_first_steps(void **state)
{
    (void)state;
    nb_optim_config c = nb_optim_defaults(NB_RMSPROP);
    c.lr = 0.01;
    double p = 1, v = 0, expected[3];
    for (int t = 1; t <= 3; t++) {
        double g = 2 * p;
        v = 0.99 * v + 0.01 * g * g;
        p -= 0.01 * g / (sqrt(v) + 1e-8);
        expected[t - 1] = p;
    }
    /* by hand: v = 0.04, sqrt(v) = 0.2, step = 0.01 * 2 / 0.2 = 0.1 */
    assert_close(expected[0], 0.9, 1e-7);
    three_steps(c, expected);
}

static void test_sgd_momentum_and_weight_decay(void **state)
{
    (void)state;
    nb_optim_config c = nb_optim_defaults(NB_SGD);
    c.lr = 0.1, c.momentum = 0.9, c.weight_decay = 0.01, c.nesterov = true;
    double p = 1, buf = 0, expected[3];
    for (int t = 1; t <= 3; t++) {
        double d = 2 * p + 0.01 * p;
        buf = t == 1 ? d : 0.9 * buf + d;
        p -= 0.1 * (d + 0.9 * buf);
        expected[t - 1] = p;
    }
    three_steps(c, expected);
}

static void test_bad_configs(void **state)
{
    (void)state;
    nb_graph *g = nb_graph_new(NB_F32);
    nb_optim_config c = nb_optim_defaults(NB_SGD);
    c.lr = -1;
    assert_null(nb_optim_new(g, &c));
    assert_non_null(strstr(nb_errmsg(), "learning rate"));
    c = nb_optim_defaults(NB_ADAM);
    c.beta1 = 1.0;
    assert_null(nb_optim_new(g, &c));
    assert_non_null(strstr(nb_errmsg(), "betas"));
    c = nb_optim_defaults(NB_SGD);
    c.nesterov = true;
    assert_null(nb_optim_new(g, &c));
    c = nb_optim_defaults(NB_LBFGS);
    nb_optimizer *lbfgs = nb_optim_new(g, &c);
    assert_int_equal(nb_optim_step(lbfgs), NB_ESTATE);
    nb_optim_free(lbfgs);
    nb_optim_kind kind;
    assert_int_equal(nb_optim_parse("adamw", &kind), NB_OK);
    assert_int_equal(kind, NB_ADAMW);
    assert_int_equal(nb_optim_parse("adam2", &kind), NB_EARG);
    assert_non_null(strstr(nb_errmsg(), "adam2"));
    nb_graph_free(g);
}

/* Tutorial 2 (docs/tutorials.md): lr = 0.5 / 2^floor((epoch + 1) / 10) is a step schedule read one epoch
 * ahead. */
static void test_step_schedule_is_the_tutorials(void **state)
{
    (void)state;
    nb_schedule s;
    assert_int_equal(nb_schedule_parse("step:10:0.5", 0.5, 100, &s), NB_OK);
    for (int epoch = 0; epoch < 100; epoch++)
        assert_close(nb_schedule_lr(&s, epoch + 1), 0.5 / pow(2, floor((epoch + 1) / 10.0)), 1e-15);
    assert_close(nb_schedule_lr(&s, 0), 0.5, 0);
    assert_close(nb_schedule_lr(&s, 9), 0.5, 0);
    assert_close(nb_schedule_lr(&s, 10), 0.25, 0);
}

static void test_other_schedules(void **state)
{
    (void)state;
    nb_schedule s;
    assert_int_equal(nb_schedule_parse("cosine", 0.1, 10, &s), NB_OK);
    assert_close(nb_schedule_lr(&s, 0), 0.1, 1e-15);
    assert_close(nb_schedule_lr(&s, 5), 0.05, 1e-15);
    assert_close(nb_schedule_lr(&s, 10), 0.0, 1e-15);
    assert_int_equal(nb_schedule_parse("warmup:2,cosine:0.01", 0.1, 12, &s), NB_OK);
    assert_close(nb_schedule_lr(&s, 0), 0.05, 1e-15);
    assert_close(nb_schedule_lr(&s, 1), 0.1, 1e-15);
    assert_close(nb_schedule_lr(&s, 2), 0.1, 1e-15);
    assert_close(nb_schedule_lr(&s, 12), 0.01, 1e-15);
    assert_int_equal(nb_schedule_parse("exp:0.9", 1, 10, &s), NB_OK);
    assert_close(nb_schedule_lr(&s, 3), 0.729, 1e-12);
    assert_int_equal(nb_schedule_parse("constant", 0.3, 10, &s), NB_OK);
    assert_close(nb_schedule_lr(&s, 99), 0.3, 0);
    assert_int_equal(nb_schedule_parse("step:0:0.5", 1, 10, &s), NB_EPARSE);
    assert_int_equal(nb_schedule_parse("linear", 1, 10, &s), NB_EPARSE);
    assert_non_null(strstr(nb_errmsg(), "linear"));
}

static void test_clip_grad_norm(void **state)
{
    (void)state;
    nb_graph *g = nb_graph_new(NB_F32);
    nb_node *a = nb_param(g, "a", 1, (int64_t[]){2});
    nb_node *b = nb_param(g, "b", 0, NULL);
    float *grad = nb_grads_data(g);
    grad[0] = 3, grad[1] = 0, grad[2] = 4; /* norm 5 */
    (void)a, (void)b;
    assert_close(nb_clip_grad_norm(g, 10), 5, 1e-6);
    assert_close(grad[2], 4, 0);
    assert_close(nb_clip_grad_norm(g, 1), 5, 1e-6);
    assert_close(grad[0], 0.6, 1e-6);
    assert_close(grad[2], 0.8, 1e-6);
    assert_close(nb_grad_norm(g), 1, 1e-6);
    nb_graph_free(g);
}

/* Two losses over one set of parameters: `first` reaches all of them, `second` leaves
 * out u. Weights large enough for the step to run on several threads. */
typedef struct two_losses {
    nb_graph *graph;
    nb_node *first, *second, *u;
    nb_optimizer *optimizer;
} two_losses;

static two_losses make_two_losses_of(nb_dtype dtype)
{
    two_losses t = {.graph = nb_graph_new(dtype)};
    nb_rng rng;
    nb_rng_seed(&rng, 3);
    nb_node *x = nb_input(t.graph, "x", 2, (int64_t[]){8, 300});
    nb_tensor_fill_uniform(nb_value(x), &rng, -1, 1);
    nb_node *w = nb_param(t.graph, "w", 2, (int64_t[]){300, 300});
    t.u = nb_param(t.graph, "u", 2, (int64_t[]){2, 300});
    nb_tensor_fill_uniform(nb_value(w), &rng, -0.1, 0.1);
    nb_tensor_fill_uniform(nb_value(t.u), &rng, -0.1, 0.1);
    nb_node *h = nb_linear_act(x, w, NULL, NB_ACT_TANH);
    t.first = nb_add(nb_sum(nb_mul(h, h)), nb_sum(nb_linear(h, t.u, NULL)));
    t.second = nb_mean(nb_mul(h, h));
    assert_non_null(t.first);
    assert_non_null(t.second);
    nb_optim_config c = nb_optim_defaults(NB_SGD);
    c.lr = 0.01, c.momentum = 0.9;
    t.optimizer = nb_optim_new(t.graph, &c);
    return t;
}

static two_losses make_two_losses(void) { return make_two_losses_of(NB_F32); }

/* nb_optim_step_zero_grad is nb_optim_step then nb_zero_grad, to the bit: also for a
 * parameter that the next backward does not reach (its gradient reads as zeros, in the
 * step and through nb_grad / nb_grads_data), and whatever the thread count of the step. */
static void test_step_zero_grad_is_step_then_zero(void **state)
{
    (void)state;
    for (int threads = 1; threads <= 3; threads += 2) {
        nb_set_threads(threads);
        two_losses a = make_two_losses(), b = make_two_losses();
        nb_node *order[4] = {a.first, a.second, a.first, a.second};
        nb_node *order_b[4] = {b.first, b.second, b.first, b.second};
        nb_zero_grad(b.graph);
        for (int step = 0; step < 4; step++) {
            nb_zero_grad(a.graph);
            assert_int_equal(nb_forward(order[step]), NB_OK);
            assert_int_equal(nb_backward(order[step]), NB_OK);
            assert_int_equal(nb_optim_step(a.optimizer), NB_OK);
            assert_int_equal(nb_forward(order_b[step]), NB_OK);
            assert_int_equal(nb_backward(order_b[step]), NB_OK);
            assert_int_equal(nb_optim_step_zero_grad(b.optimizer), NB_OK);
        }
        int64_t n = nb_n_params(a.graph);
        assert_memory_equal(nb_params_data(a.graph), nb_params_data(b.graph), (size_t)n * sizeof(float));
        /* u moved on the last step by its momentum alone: it had no gradient */
        const float *u_grad = nb_grad(b.u)->data;
        for (int64_t i = 0; i < 600; i++)
            assert_true(u_grad[i] == 0);
        const float *grads = nb_grads_data(b.graph);
        for (int64_t i = 0; i < n; i++)
            assert_true(grads[i] == 0);
        nb_optim_free(a.optimizer);
        nb_optim_free(b.optimizer);
        nb_graph_free(a.graph);
        nb_graph_free(b.graph);
    }
    nb_set_threads(0);
}

/* The optimizer's state is sized for the parameters the graph had when it was created:
 * a parameter added afterwards, or (for L-BFGS, which works on the trainable ones laid
 * end to end) one unfrozen afterwards, is refused rather than run past that state. */
static void test_model_changed_after_the_optimizer(void **state)
{
    (void)state;
    nb_graph *g = nb_graph_new(NB_F64);
    nb_node *p = nb_param(g, "p", 1, (int64_t[]){3});
    nb_optim_config adam = nb_optim_defaults(NB_ADAM);
    nb_optimizer *opt = nb_optim_new(g, &adam);
    nb_node *q = nb_param(g, "q", 1, (int64_t[]){100});
    nb_node *loss = nb_add(nb_sum(nb_mul(p, p)), nb_sum(nb_mul(q, q)));
    nb_tensor_fill(nb_value(q), 1);
    nb_zero_grad(g);
    assert_int_equal(nb_forward(loss), NB_OK);
    assert_int_equal(nb_backward(loss), NB_OK);
    assert_int_equal(nb_optim_step(opt), NB_ESTATE);
    assert_non_null(strstr(nb_errmsg(), "after the model is complete"));
    assert_int_equal(nb_optim_step_zero_grad(opt), NB_ESTATE);
    assert_close(nb_tensor_get(nb_value(q), 99), 1, 0); /* nothing moved */
    nb_optim_free(opt);

    /* created on the complete model, first-order methods may freeze and unfreeze: their
     * state covers every parameter */
    opt = nb_optim_new(g, &adam);
    assert_int_equal(nb_set_requires_grad(q, false), NB_OK);
    assert_int_equal(nb_optim_step(opt), NB_OK);
    assert_int_equal(nb_set_requires_grad(q, true), NB_OK);
    assert_int_equal(nb_optim_step(opt), NB_OK);
    assert_true(nb_tensor_get(nb_value(q), 99) < 1);
    nb_optim_free(opt);

    /* L-BFGS created with q frozen, then q unfrozen */
    bowl b = make_bowl(NB_F64);
    nb_node *frozen = nb_param(b.graph, "frozen", 1, (int64_t[]){50});
    b.loss = nb_add(b.loss, nb_sum(nb_mul(frozen, frozen)));
    assert_int_equal(nb_set_requires_grad(frozen, false), NB_OK);
    nb_optim_config lbfgs = nb_optim_defaults(NB_LBFGS);
    opt = nb_optim_new(b.graph, &lbfgs);
    double value;
    assert_int_equal(nb_set_requires_grad(frozen, true), NB_OK);
    assert_int_equal(nb_optim_step_closure(opt, bowl_closure, &b, &value), NB_ESTATE);
    assert_non_null(strstr(nb_errmsg(), "after the model is complete"));
    assert_int_equal(nb_set_requires_grad(frozen, false), NB_OK);
    assert_int_equal(nb_optim_step_closure(opt, bowl_closure, &b, &value), NB_OK);
    nb_optim_free(opt);
    nb_graph_free(b.graph);
    nb_graph_free(g);
}

/* Rosenbrock's function times `scale` over a parameter [2]: the valley is the same at
 * every scale, and so should L-BFGS's path be, whose (s, y) pairs scale with it. */
typedef struct {
    nb_graph *graph;
    nb_node *loss;
} valley;

static valley make_valley(nb_dtype dtype, double scale)
{
    valley v = {.graph = nb_graph_new(dtype)};
    nb_node *frozen = nb_param(v.graph, "frozen", 1, (int64_t[]){4}); /* not optimised: skipped in the gather */
    nb_node *p = nb_param(v.graph, "p", 1, (int64_t[]){2});
    nb_tensor_from_doubles(nb_value(p), (double[]){-1.2, 1});
    nb_tensor_fill(nb_value(frozen), 0.5);
    nb_set_requires_grad(frozen, false);
    nb_node *x = nb_sum(nb_mul(p, nb_const(v.graph, 1, (int64_t[]){2}, (double[]){1, 0})));
    nb_node *y = nb_sum(nb_mul(p, nb_const(v.graph, 1, (int64_t[]){2}, (double[]){0, 1})));
    nb_node *one_minus_x = nb_shift(nb_neg(x), 1);
    nb_node *bend = nb_sub(y, nb_mul(x, x));
    nb_node *rosenbrock = nb_add(nb_mul(one_minus_x, one_minus_x), nb_scale(nb_mul(bend, bend), 100));
    v.loss = nb_add(nb_scale(rosenbrock, scale), nb_scale(nb_sum(frozen), 0)); /* frozen: in the graph, unmoved */
    assert_non_null(v.loss);
    return v;
}

static nb_status valley_closure(void *ctx, double *loss)
{
    valley *v = ctx;
    nb_zero_grad(v->graph);
    nb_status status = nb_forward(v->loss);
    if (status == NB_OK)
        status = nb_backward(v->loss);
    *loss = nb_item(v->loss);
    return status;
}

/* A history of 2 fills at once, so that a pair rejected later meets a full ring; and at
 * a scale of 1e-12 every pair's s·y is far below an absolute threshold. (Not in float:
 * there the first step, -g at 1e-12, is lost in rounding the parameters.) */
static void test_lbfgs_pairs_at_any_scale(void **state)
{
    (void)state;
    const double scales[] = {1, 1e6, 1e-12};
    for (int dtype = 0; dtype < 2; dtype++)
        for (size_t k = 0; k < sizeof scales / sizeof scales[0] - (size_t)dtype; k++) {
            valley v = make_valley(dtype ? NB_F32 : NB_F64, scales[k]);
            nb_optim_config c = nb_optim_defaults(NB_LBFGS);
            c.history = 2, c.max_iter = 300, c.tolerance_grad = 0, c.tolerance_change = 0;
            nb_optimizer *opt = nb_optim_new(v.graph, &c);
            double loss;
            assert_int_equal(nb_optim_step_closure(opt, valley_closure, &v, &loss), NB_OK);
            nb_node *p = nb_find(v.graph, "p"), *frozen = nb_find(v.graph, "frozen");
            double tolerance = dtype ? 2e-3 : 1e-6;
            for (int i = 0; i < 2; i++)
                if (!(fabs(nb_tensor_get(nb_value(p), i) - 1) <= tolerance))
                    fail_msg("%s, scale %g: p[%d] = %.10g after %lld iterations, minimum 1", dtype ? "f32" : "f64",
                             scales[k], i, nb_tensor_get(nb_value(p), i), (long long)nb_optim_steps(opt));
            for (int i = 0; i < 4; i++)
                assert_close(nb_tensor_get(nb_value(frozen), i), 0.5, 0);
            nb_optim_free(opt);
            nb_graph_free(v.graph);
        }
}

/* Element i of a graph's flat gradients, read through `grads` (+0 and -0 alike). */
static double grad_at(const nb_graph *graph, const void *grads, int64_t i)
{
    return nb_graph_dtype(graph) == NB_F64 ? ((const double *)grads)[i] : ((const float *)grads)[i];
}

static void assert_same_grads(nb_graph *a, nb_graph *b, const void *a_grads)
{
    const void *b_grads = nb_grads_data(b);
    for (int64_t i = 0; i < nb_n_params(a); i++)
        if (grad_at(a, a_grads, i) != grad_at(b, b_grads, i))
            fail_msg("gradient %lld: %g, expected %g", (long long)i, grad_at(a, a_grads, i), grad_at(b, b_grads, i));
}

static void assert_zero_grads(nb_graph *graph, nb_node *u)
{
    assert_close(nb_grad_norm(graph), 0, 0);
    assert_close(nb_clip_grad_norm(graph, 1e-3), 0, 0);
    const void *grads = nb_grads_data(graph);
    for (int64_t i = 0; i < nb_n_params(graph); i++)
        assert_true(grad_at(graph, grads, i) == 0);
    for (int64_t i = 0; i < 600; i++)
        assert_true(nb_tensor_get(nb_grad(u), i) == 0);
}

/* Gradients read through the public API after nb_optim_step_zero_grad: zeros until the
 * next backward (through nb_grads_data, nb_grad, the norm), then that backward's, also
 * through a pointer kept from before the step, and also for a parameter the backward did
 * not reach (zeros). `b` does the same with nb_optim_step and nb_zero_grad. */
static void test_gradients_after_step_zero_grad(void **state)
{
    (void)state;
    for (int dtype = 0; dtype < 2; dtype++) {
        two_losses a = make_two_losses_of(dtype ? NB_F32 : NB_F64), b = make_two_losses_of(dtype ? NB_F32 : NB_F64);
        const void *kept = nb_grads_data(a.graph);
        nb_zero_grad(a.graph);
        nb_node *order[3] = {a.first, a.second, a.first}, *order_b[3] = {b.first, b.second, b.first};
        for (int step = 0; step < 3; step++) {
            nb_zero_grad(b.graph);
            assert_int_equal(nb_forward(order[step]), NB_OK);
            assert_int_equal(nb_backward(order[step]), NB_OK);
            assert_int_equal(nb_forward(order_b[step]), NB_OK);
            assert_int_equal(nb_backward(order_b[step]), NB_OK);
            assert_same_grads(a.graph, b.graph, kept);
            assert_same_grads(a.graph, b.graph, nb_grads_data(a.graph));
            assert_true(nb_grad_norm(a.graph) == nb_grad_norm(b.graph));
            assert_true(nb_grad_norm(a.graph) > 0);
            if (order[step] == a.second)
                for (int64_t i = 0; i < 600; i++) /* u: not reached */
                    assert_true(nb_tensor_get(nb_grad(a.u), i) == 0);
            assert_int_equal(nb_optim_step_zero_grad(a.optimizer), NB_OK);
            assert_int_equal(nb_optim_step(b.optimizer), NB_OK);
        }
        assert_zero_grads(a.graph, a.u);
        assert_memory_equal(nb_params_data(a.graph), nb_params_data(b.graph),
                            (size_t)nb_n_params(a.graph) * (dtype ? sizeof(float) : sizeof(double)));
        nb_optim_free(a.optimizer);
        nb_optim_free(b.optimizer);
        nb_graph_free(a.graph);
        nb_graph_free(b.graph);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_every_optimizer_converges),
        cmocka_unit_test(test_steps_counted),
        cmocka_unit_test(test_adam_first_steps),
        cmocka_unit_test(test_rmsprop_first_steps),
        cmocka_unit_test(test_sgd_momentum_and_weight_decay),
        cmocka_unit_test(test_bad_configs),
        cmocka_unit_test(test_step_schedule_is_the_tutorials),
        cmocka_unit_test(test_other_schedules),
        cmocka_unit_test(test_clip_grad_norm),
        cmocka_unit_test(test_step_zero_grad_is_step_then_zero),
        cmocka_unit_test(test_model_changed_after_the_optimizer),
        cmocka_unit_test(test_lbfgs_pairs_at_any_scale),
        cmocka_unit_test(test_gradients_after_step_zero_grad),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
