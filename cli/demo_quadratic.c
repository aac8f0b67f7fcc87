/* Demos `quadratic` (SEEDS.md §1) and `quadratic-decay` (§2): a quadratic's three
 * coefficients learnt by SGD, with the gradient from autodiff instead of by hand. */
#include "demo.h"

#include <math.h>
#include <string.h>

/* ŷ = w1·x² + w2·x + w3 over a batch x [B]; loss = scale · mean((ŷ − y)²). */
typedef struct quad_model {
    nb_graph *graph;
    nb_node *x, *y, *pred, *loss;
    double *w, *grad;
} quad_model;

static int quad_build(quad_model *m, const char *const names[3], double loss_scale)
{
    m->graph = nb_graph_new(NB_F64);
    m->x = nb_input(m->graph, "x", 1, (int64_t[]){1});
    m->y = nb_input(m->graph, "y", 1, (int64_t[]){1});
    nb_node *w1 = nb_param(m->graph, names[0], 0, NULL), *w2 = nb_param(m->graph, names[1], 0, NULL);
    nb_node *w3 = nb_param(m->graph, names[2], 0, NULL);
    m->pred = nb_add(nb_add(nb_mul(w1, nb_mul(m->x, m->x)), nb_mul(w2, m->x)), w3);
    m->loss = nb_scale(nb_mse_loss(m->pred, m->y, NB_REDUCE_MEAN), loss_scale);
    if (!m->loss) {
        cli_error("demo", NULL);
        nb_graph_free(m->graph);
        return 1;
    }
    m->w = nb_params_data(m->graph);
    m->grad = nb_grads_data(m->graph);
    return 0;
}

/* One SGD step on rows [start, start + count) of xs/ys; returns the batch loss. */
static double quad_step(quad_model *m, double *xs, double *ys, int64_t count, double lr)
{
    nb_input_bind(m->x, xs, count);
    nb_input_bind(m->y, ys, count);
    nb_forward(m->loss);
    nb_zero_grad(m->graph);
    nb_backward(m->loss);
    for (int k = 0; k < 3; k++)
        m->w[k] -= lr * m->grad[k];
    return nb_item(m->loss);
}

/* The full-batch loss and gradient, for L-BFGS. */
typedef struct full_batch {
    quad_model *model;
    double *xs, *ys;
    int64_t n;
    int evaluations;
} full_batch;

static nb_status full_batch_loss(void *ctx, double *loss)
{
    full_batch *fb = ctx;
    fb->evaluations++;
    nb_input_bind(fb->model->x, fb->xs, fb->n);
    nb_input_bind(fb->model->y, fb->ys, fb->n);
    nb_zero_grad(fb->model->graph);
    nb_status status = nb_forward(fb->model->loss);
    if (status == NB_OK)
        status = nb_backward(fb->model->loss);
    *loss = nb_item(fb->model->loss);
    return status;
}

/* Beyond the tutorial: the same model and loss over all points at once, minimised by
 * L-BFGS — a handful of iterations instead of hundreds of epochs. */
static void quad_solve(demo_run *run, quad_model *m, double *xs, double *ys, int64_t n, const double truth[3])
{
    nb_optim_config config = nb_optim_defaults(NB_LBFGS);
    config.tolerance_grad = 1e-14, config.tolerance_change = 1e-30, config.max_iter = 100;
    nb_optimizer *lbfgs = nb_optim_new(m->graph, &config);
    full_batch fb = {m, xs, ys, n, 0};
    double loss;
    if (!lbfgs || nb_optim_step_closure(lbfgs, full_batch_loss, &fb, &loss) != NB_OK) {
        cli_error("demo", NULL);
        nb_optim_free(lbfgs);
        return;
    }
    full_batch_loss(&fb, &loss);
    double worst = 0;
    for (int k = 0; k < 3; k++)
        worst = fmax(worst, fabs(m->w[k] - truth[k]));
    demo_log(run, "\nbeyond the tutorial: the same model and loss on all %lld points at once, minimised by L-BFGS\n",
             (long long)n);
    demo_log(run, "  %d loss evaluations: %.12f %.12f %.12f (largest error %.1e, loss %.1e)\n", fb.evaluations,
             m->w[0], m->w[1], m->w[2], worst, loss);
    cJSON *solved = demo_object(run, "lbfgs");
    cJSON_AddItemToObject(solved, "params", cJSON_CreateDoubleArray(m->w, 3));
    cJSON_AddNumberToObject(solved, "evaluations", fb.evaluations);
    cJSON_AddNumberToObject(solved, "loss", loss);
    nb_optim_free(lbfgs);
}

int demo_quadratic(demo_run *run)
{
    static const char *const names[3] = {"w1", "w2", "w3"};
    const double truth[3] = {2, 3, 4};
    double xs[100], ys[100];
    for (int i = 0; i < 100; i++) {
        xs[i] = i / 100.0;
        ys[i] = 2 * xs[i] * xs[i] + 3 * xs[i] + 4;
    }
    quad_model m;
    if (quad_build(&m, names, 1.0))
        return 1;
    m.w[0] = 1, m.w[1] = 2, m.w[2] = 3;
    bool per_sample = strcmp(run->variant, "sgd") == 0;
    int64_t batch = per_sample ? 1 : 20;
    demo_log(run, "SEEDS.md §1: y = 2x² + 3x + 4 on x = 0.00 … 0.99; model w1·x² + w2·x + w3 from (1, 2, 3)\n");
    demo_log(run, "%s, lr 0.1, gradients by autodiff, stop when the epoch's mean loss < 1e-5\n\n",
             per_sample ? "per-sample SGD" : "mini-batches of 20 in data order, batch-mean gradient");
    if (!per_sample)
        demo_log(run, "(the tutorial never resets its gradient accumulators between batches, so its\n"
                      " \"mini-batch\" run is not mini-batch SGD; this is the intended algorithm)\n\n");
    for (int epoch = 1; epoch <= 500; epoch++) {
        double total = 0;
        for (int64_t start = 0; start < 100; start += batch)
            total += quad_step(&m, xs + start, ys + start, batch, 0.1) * (double)batch;
        double mean = total / 100;
        run->epochs_run = epoch;
        demo_history(run, epoch, mean);
        demo_log(run, "epoch %d, loss %.8f\n", epoch, mean);
        if (mean < 1e-5)
            break;
    }
    demo_log(run, "\nw1 = %.6f, w2 = %.6f, w3 = %.6f (true: 2, 3, 4)\n", m.w[0], m.w[1], m.w[2]);
    for (int k = 0; k < 3; k++)
        demo_param(run, names[k], m.w[k]);
    quad_solve(run, &m, xs, ys, 100, truth);
    nb_graph_free(m.graph);
    return 0;
}

int demo_quadratic_decay(demo_run *run)
{
    static const char *const names[3] = {"a", "b", "c"};
    const double truth[3] = {2, -4, 3};
    enum { N = 800 };
    static double xs[N], ys[N], batch_x[N], batch_y[N];
    for (int i = 0; i < N; i++) {
        xs[i] = (i - 400) / 400.0;
        ys[i] = 2 * xs[i] * xs[i] - 4 * xs[i] + 3;
    }
    /* ½ mean (ŷ − y)²: its gradient is the tutorial's mean (ŷ − y)(x², x, 1) */
    quad_model m;
    if (quad_build(&m, names, 0.5))
        return 1;
    m.w[0] = -11.0 / 6, m.w[1] = -395.0 / 3, m.w[2] = -2400;
    bool per_sample = strcmp(run->variant, "sgd") == 0;
    int64_t batch = per_sample ? 1 : 16;
    nb_rng rng;
    nb_rng_seed(&rng, run->options->seed);
    int64_t order[N];
    for (int i = 0; i < N; i++)
        order[i] = i;
    nb_schedule schedule;
    nb_schedule_parse("step:10:0.5", 0.5, 100, &schedule);
    demo_log(run, "SEEDS.md §2: y = 2x² − 4x + 3 on 800 points in [−1, 1); model a·x² + b·x + c from "
                  "(−11/6, −395/3, −2400)\n%s, lr 0.5 halved every 10 epochs, at most 100 epochs\n",
             per_sample ? "per-sample SGD in data order" : "shuffled mini-batches of 16 (remainder dropped)");
    demo_log(run, "stops when the epoch's mean loss < 1e-5 (the tutorial tests only the last %s's loss,\n"
                  "which can stop it after one epoch with wrong parameters)\n\n",
             per_sample ? "sample" : "batch");
    for (int epoch = 0; epoch < 100; epoch++) {
        /* the tutorial's rate, 0.5 / 2^floor((epoch + 1) / 10), is the step schedule one epoch ahead */
        double lr = nb_schedule_lr(&schedule, epoch + 1), total = 0;
        if (!per_sample)
            nb_rng_shuffle(&rng, order, N);
        int64_t steps = N / batch;
        for (int64_t s = 0; s < steps; s++) {
            double *bx = xs + s * batch, *by = ys + s * batch;
            if (!per_sample) {
                for (int64_t r = 0; r < batch; r++) {
                    batch_x[r] = xs[order[s * batch + r]];
                    batch_y[r] = ys[order[s * batch + r]];
                }
                bx = batch_x, by = batch_y;
            }
            total += 2 * quad_step(&m, bx, by, batch, lr); /* report the MSE, as the tutorial */
        }
        double mean = total / (double)steps;
        run->epochs_run = epoch + 1;
        demo_history(run, epoch, mean);
        demo_log(run, "epoch %3d  lr %.5f  gradient (%9.2e, %9.2e, %9.2e)  loss %.3e  a %.2f  b %.2f  c %.2f\n",
                 epoch, lr, m.grad[0], m.grad[1], m.grad[2], mean, m.w[0], m.w[1], m.w[2]);
        if (mean < 1e-5)
            break;
    }
    demo_log(run, "\na = %.6f, b = %.6f, c = %.6f (true: 2, -4, 3)\n", m.w[0], m.w[1], m.w[2]);
    for (int k = 0; k < 3; k++)
        demo_param(run, names[k], m.w[k]);
    quad_solve(run, &m, xs, ys, N, truth);
    nb_graph_free(m.graph);
    return 0;
}
