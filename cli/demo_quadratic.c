/* Demos `quadratic` and `quadratic-decay` (tutorials 1 and 2, docs/tutorials.md): a
 * quadratic's three coefficients learnt by SGD, with the gradient from autodiff instead
 * of by hand. */
#include "demo.h"

#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

/* ŷ = w1·x² + w2·x + w3 over a batch x [B]; loss = scale · mean((ŷ − y)²). */
typedef struct quad_model {
    nb_graph *graph;
    nb_node *x, *y, *pred, *residual, *loss;
    nb_node *params[3];
    double *w, *grad;
} quad_model;

static int quad_build(quad_model *m, const char *const names[3], double loss_scale)
{
    m->graph = nb_graph_new(NB_F64);
    m->x = nb_input(m->graph, "x", 1, (int64_t[]){1});
    m->y = nb_input(m->graph, "y", 1, (int64_t[]){1});
    nb_node *w1 = nb_param(m->graph, names[0], 0, NULL), *w2 = nb_param(m->graph, names[1], 0, NULL);
    nb_node *w3 = nb_param(m->graph, names[2], 0, NULL);
    m->params[0] = w1, m->params[1] = w2, m->params[2] = w3;
    m->pred = nb_add(nb_add(nb_mul(w1, nb_mul(m->x, m->x)), nb_mul(w2, m->x)), w3);
    m->residual = nb_sub(m->pred, m->y);
    m->loss = nb_scale(nb_mean(nb_mul(m->residual, m->residual)), loss_scale);
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
    nb_input_bind(m->x, NB_F64, xs, count);
    nb_input_bind(m->y, NB_F64, ys, count);
    nb_forward(m->loss);
    nb_zero_grad(m->graph);
    nb_backward(m->loss);
    for (int k = 0; k < 3; k++)
        m->w[k] -= lr * m->grad[k];
    return nb_item(m->loss);
}

/* The model's values at n points (forward only). */
static void quad_curve(quad_model *m, double *xs, int64_t n, double *ys)
{
    nb_input_bind(m->x, NB_F64, xs, n);
    nb_forward(m->pred);
    nb_tensor_to_doubles(nb_value(m->pred), ys);
}

/* Beyond the tutorial: the same model's residuals on all points at once, solved by
 * Levenberg–Marquardt with the Jacobian from autodiff — a few iterations to full
 * precision, where SGD stopped near the threshold after dozens of epochs. The solver
 * leaves the model's parameters at `solution`. */
static void quad_solve(demo_run *run, quad_model *m, double *xs, double *ys, int64_t n, const double truth[3],
                       double solution[3])
{
    nb_input_bind(m->x, NB_F64, xs, n);
    nb_input_bind(m->y, NB_F64, ys, n);
    nb_forward(m->residual); /* shapes follow the new batch of n points */
    nb_lsq_options options = nb_lsq_defaults();
    nb_lsq_result result;
    double start[3] = {m->w[0], m->w[1], m->w[2]};
    if (nb_lsq_fit_graph(m->residual, 3, m->params, start, NULL, &options, &result) != NB_OK) {
        cli_error("demo", NULL);
        memcpy(solution, start, sizeof start);
        return;
    }
    double worst = 0;
    for (int k = 0; k < 3; k++) {
        solution[k] = result.params[k];
        worst = fmax(worst, fabs(result.params[k] - truth[k]));
    }
    demo_log(run, "\nbeyond the tutorial: least squares on all %lld points at once (Levenberg–Marquardt,\n"
                  "Jacobian by autodiff), from where SGD stopped:\n", (long long)n);
    demo_log(run, "  %d iterations, %d evaluations: %.12f %.12f %.12f\n  largest error %.1e, sum of squares %.1e\n",
             result.iterations, result.n_evals, result.params[0], result.params[1], result.params[2], worst,
             result.sse);
    cJSON *solved = demo_object(run, "least_squares");
    cJSON_AddItemToObject(solved, "params", cJSON_CreateDoubleArray(result.params, 3));
    cJSON_AddNumberToObject(solved, "iterations", result.iterations);
    cJSON_AddNumberToObject(solved, "evaluations", result.n_evals);
    cJSON_AddNumberToObject(solved, "sse", result.sse);
    nb_lsq_result_clear(&result);
}

/* Data, the SGD model and the exact solution; the loss per epoch beside them. */
static nb_figure *quad_figure(demo_run *run, quad_model *m, const char *title, double *xs, double *ys, int64_t n,
                              const double solution[3])
{
    nb_figure *figure = demo_figure(run, title, 2);
    if (!figure)
        return NULL;
    double *fitted = malloc((size_t)n * sizeof(double)), *exact = malloc((size_t)n * sizeof(double));
    if (!fitted || !exact) {
        free(fitted);
        free(exact);
        nb_figure_free(figure);
        run->out_of_memory = true;
        return NULL;
    }
    quad_curve(m, xs, n, fitted);
    for (int64_t i = 0; i < n; i++)
        exact[i] = solution[0] * xs[i] * xs[i] + solution[1] * xs[i] + solution[2];
    nb_panel *fit = nb_figure_panel(figure, 0, 0);
    nb_panel_title(fit, "data and model");
    nb_panel_labels(fit, "x", "y");
    nb_panel_scatter(fit, "data", xs, ys, (size_t)n, NULL);
    char label[96];
    snprintf(label, sizeof label, "SGD: %.3fx² %c %.3fx %c %.3f", m->w[0], m->w[1] < 0 ? '-' : '+', fabs(m->w[1]),
             m->w[2] < 0 ? '-' : '+', fabs(m->w[2]));
    nb_panel_line(fit, label, xs, fitted, (size_t)n, NULL);
    nb_panel_line(fit, "least squares (exact)", xs, exact, (size_t)n, &(nb_style){.dashed = true});
    demo_loss_panel(run, nb_figure_panel(figure, 0, 1), "mean loss per epoch", "loss");
    free(fitted);
    free(exact);
    return figure;
}

static void quadratic_header(demo_run *run, bool per_sample)
{
    demo_log(run, "tutorial 1: y = 2x² + 3x + 4 on x = 0.00 … 0.99; model w1·x² + w2·x + w3 from (1, 2, 3)\n");
    demo_log(run, "%s, lr 0.1, gradients by autodiff, stop when the epoch's mean loss < 1e-5\n\n",
             per_sample ? "per-sample SGD" : "mini-batches of 20 in data order, batch-mean gradient");
    if (!per_sample)
        demo_log(run, "(the tutorial never resets its gradient accumulators between batches, so its\n"
                      " \"mini-batch\" run is not mini-batch SGD; this is the intended algorithm)\n\n");
}

/* The tutorial's training: batches in data order, lr 0.1, at most 500 epochs, until the
 * epoch's mean loss is below 1e-5. */
static void quadratic_sgd(demo_run *run, quad_model *m, double *xs, double *ys, int64_t batch)
{
    demo_progress_start(run, 500 * (100 / batch), batch == 1 ? "sample" : "batch");
    for (int epoch = 1; epoch <= 500; epoch++) {
        double total = 0;
        for (int64_t start = 0; start < 100; start += batch) {
            double loss = quad_step(m, xs + start, ys + start, batch, 0.1);
            total += loss * (double)batch;
            demo_progress(run, (epoch - 1) * (100 / batch) + start / batch + 1, loss);
        }
        double mean = total / 100;
        run->epochs_run = epoch;
        demo_history(run, epoch, mean);
        demo_log(run, "epoch %d, loss %.8f\n", epoch, mean);
        if (mean < 1e-5) {
            run->tutorial_stop = run->n_losses; /* the tutorial's own rule, for --plot x.gif */
            break;
        }
    }
    demo_progress_done(run);
}

/* Report what SGD learnt, then solve exactly; the model keeps SGD's parameters. */
static void quad_learnt_and_solved(demo_run *run, quad_model *m, const char *const names[3], double *xs,
                                   double *ys, int64_t n, const double truth[3], double solution[3])
{
    for (int k = 0; k < 3; k++)
        demo_param(run, names[k], m->w[k]);
    double sgd[3] = {m->w[0], m->w[1], m->w[2]};
    quad_solve(run, m, xs, ys, n, truth, solution);
    memcpy(m->w, sgd, sizeof sgd);
}

int demo_quadratic(demo_run *run)
{
    static const char *const names[3] = {"w1", "w2", "w3"};
    const double truth[3] = {2, 3, 4};
    nb_dataset *data = demo_quadratic_data(0, 99, 100, truth); /* x = 0.00 … 0.99 */
    quad_model m;
    if (!data || quad_build(&m, names, 1.0)) {
        if (!data)
            cli_error("demo", NULL);
        nb_dataset_free(data);
        return 1;
    }
    double *xs = data->inputs->data, *ys = data->targets->data;
    m.w[0] = 1, m.w[1] = 2, m.w[2] = 3;
    bool per_sample = strcmp(run->variant, "sgd") == 0;
    quadratic_header(run, per_sample);
    run->stop_rule = "mean loss < 1e-5";
    quadratic_sgd(run, &m, xs, ys, per_sample ? 1 : 20);
    demo_log(run, "\nw1 = %.6f, w2 = %.6f, w3 = %.6f (true: 2, 3, 4)\n", m.w[0], m.w[1], m.w[2]);
    double solution[3];
    quad_learnt_and_solved(run, &m, names, xs, ys, 100, truth, solution);
    nb_figure *figure = quad_figure(run, &m, "tutorial 1: y = 2x² + 3x + 4 by SGD", xs, ys, 100, solution);
    int status = demo_finish(run, m.graph, figure);
    nb_graph_free(m.graph);
    nb_dataset_free(data);
    return status;
}

/* The curve a·x² + b·x + c at n points. */
static void quadratic_at(const double w[3], const double *xs, int64_t n, double *ys)
{
    for (int64_t i = 0; i < n; i++)
        ys[i] = w[0] * xs[i] * xs[i] + w[1] * xs[i] + w[2];
}

enum { VIEW_LO = -4, VIEW_HI = 14 }; /* the y range of the evolution's panels */

/* v with a typographic minus, as the plots write numbers. */
static void number_text(char *text, size_t size, double v)
{
    snprintf(text, size, "%s%.4g", v < 0 ? "−" : "", fabs(v));
}

/* When the model (curve at xs, ascending) is wholly above or below the chart, an arrow
 * toward it and a note of where it is: the far start of tutorial 2 is thousands below. */
static void mark_off_chart(nb_panel *panel, const double *xs, const double *curve, int64_t n, uint32_t color)
{
    double lo = INFINITY, hi = -INFINITY;
    for (int64_t i = 0; i < n; i++)
        lo = fmin(lo, curve[i]), hi = fmax(hi, curve[i]);
    bool below = hi < VIEW_LO;
    if (!below && !(lo > VIEW_HI))
        return;
    int64_t nearest = 0; /* the arrow points where the model comes closest */
    for (int64_t i = 1; i < n; i++)
        if (below ? curve[i] > curve[nearest] : curve[i] < curve[nearest])
            nearest = i;
    double width = xs[n - 1] - xs[0], span = VIEW_HI - VIEW_LO, dir = below ? -1 : 1;
    double x = fmin(fmax(xs[nearest], xs[0] + 0.15 * width), xs[n - 1] - 0.15 * width);
    double tip = below ? VIEW_LO + 0.02 * span : VIEW_HI - 0.02 * span, head = tip - dir * 0.06 * span;
    double ax[6] = {x, x, NAN, x - 0.035 * width, x, x + 0.035 * width};
    double ay[6] = {tip - dir * 0.3 * span, tip, NAN, head, tip, head};
    char label[128], low[32], high[32];
    number_text(low, sizeof low, lo);
    number_text(high, sizeof high, hi);
    snprintf(label, sizeof label, "model %s the chart, at y = %s to %s", below ? "below" : "above", low, high);
    nb_panel_line(panel, label, ax, ay, 6, &(nb_style){.color = color, .width = 2.5});
}

/* The target and the model after `epoch`, with the earlier epochs fading behind it, in
 * a panel whose y range stays fixed around the target (the far start is off the chart,
 * and marked so). */
static void evolution_panel(nb_panel *panel, double path[][3], int epoch, int first_epoch, const double *xs,
                            const double *ys, int64_t n, double *curve)
{
    nb_panel_labels(panel, "x", "y");
    nb_panel_ylim(panel, VIEW_LO, VIEW_HI);
    nb_panel_line(panel, "target 2x² − 4x + 3", xs, ys, (size_t)n,
                  &(nb_style){.color = NB_RGB(0, 0, 0), .dashed = true, .width = 2.5});
    for (int e = first_epoch; e <= epoch; e++) {
        quadratic_at(path[e], xs, n, curve);
        double age = epoch > first_epoch ? (double)(e - first_epoch) / (epoch - first_epoch) : 1;
        char label[64] = "";
        if (e == epoch)
            snprintf(label, sizeof label, e == 0 ? "start" : e == 1 ? "after 1 epoch" : "after %d epochs", e);
        else if (e == first_epoch)
            snprintf(label, sizeof label, "%s", e == 0 ? "start" : "earlier epochs");
        nb_panel_line(panel, label, xs, curve, (size_t)n,
                      &(nb_style){.color = nb_viridis(0.85 * (1 - age)), .alpha = 0.25 + 0.75 * age * age});
    }
    mark_off_chart(panel, xs, curve, n, nb_viridis(0)); /* curve holds the model after `epoch` */
}

/* What the tutorial animated, in one figure: the fit after every epoch, and the loss. */
static nb_figure *evolution_figure(demo_run *run, double path[][3], int epochs, const double *xs, const double *ys,
                                   int64_t n)
{
    nb_figure *figure = demo_figure(run, "tutorial 2: the fit of y = 2x² − 4x + 3, epoch by epoch", 2);
    if (!figure)
        return NULL;
    double *curve = malloc((size_t)n * sizeof(double));
    if (!curve) {
        nb_figure_free(figure);
        run->out_of_memory = true;
        return NULL;
    }
    nb_panel *panel = nb_figure_panel(figure, 0, 0);
    nb_panel_title(panel, "target and model (light: early, dark: late)");
    evolution_panel(panel, path, epochs, 0, xs, ys, n, curve);
    demo_loss_panel(run, nb_figure_panel(figure, 0, 1), "mean squared error per epoch", "MSE");
    free(curve);
    return figure;
}

/* Frame e of the fit's evolution (the start, or after e epochs): the model and the three
 * before it; from the epoch where the tutorial's own stopping rule ends its run, a note. */
static nb_figure *evolution_frame(const demo_run *run, double path[][3], int e, const double *xs, const double *ys,
                                  int64_t n, double *curve)
{
    nb_figure *figure = nb_figure_new(800, 520, 1, 1);
    if (!figure)
        return NULL;
    char title[96];
    char when[32] = "start";
    if (e > 0)
        snprintf(when, sizeof when, "after %d epoch%s", e, e == 1 ? "" : "s");
    snprintf(title, sizeof title, "%s: a = %.2f, b = %.2f, c = %.2f", when, path[e][0], path[e][1], path[e][2]);
    nb_figure_title(figure, title);
    nb_panel *panel = nb_figure_panel(figure, 0, 0);
    evolution_panel(panel, path, e, e > 3 ? e - 3 : 0, xs, ys, n, curve);
    char note[160]; /* on every frame, so that the chart keeps its place */
    int stop = run->tutorial_stop;
    if (e > 0 && e == stop)
        snprintf(note, sizeof note, "the tutorial's own rule stops here: %s", run->stop_rule);
    else if (stop > 0 && e > stop)
        snprintf(note, sizeof note, "the tutorial's own rule stopped after %d epoch%s", stop, stop == 1 ? "" : "s");
    else
        snprintf(note, sizeof note, "the tutorial's own rule %s when %s", e == 0 ? "stops" : "goes on: it stops",
                 run->stop_rule);
    nb_panel_title(panel, note);
    return figure;
}

/* --plot x.gif: the frames of --frames as an animation, which demo_finish saves. */
static void animate_fit(demo_run *run, double path[][3], int epochs, const double *xs, const double *ys, int64_t n)
{
    double *curve = malloc((size_t)n * sizeof(double));
    run->animation = curve ? nb_animation_new(800, 520, (int)fmax(10, fmin(50, 1200 / (epochs + 1)))) : NULL;
    if (!run->animation) {
        free(curve);
        run->out_of_memory = true;
        return;
    }
    for (int e = 0; e <= epochs; e++) {
        nb_figure *frame = evolution_frame(run, path, e, xs, ys, n, curve);
        nb_animation_add(run->animation, frame); /* a failure is remembered: the save reports it */
        nb_figure_free(frame);
    }
    free(curve);
}

/* --frames DIR: DIR/frame_000.png (the start) to DIR/frame_NNN.png (the last epoch). */
static int write_frames(demo_run *run, double path[][3], int epochs, const double *xs, const double *ys, int64_t n)
{
    const char *dir = run->options->frames;
    if (mkdir(dir, 0755) != 0 && errno != EEXIST) {
        cli_error("demo", "--frames %s: %s", dir, strerror(errno));
        return 1;
    }
    double *curve = malloc((size_t)n * sizeof(double));
    if (!curve) {
        cli_error("demo", "out of memory");
        return 1;
    }
    int status = 0;
    for (int e = 0; e <= epochs && status == 0; e++) {
        nb_figure *figure = evolution_frame(run, path, e, xs, ys, n, curve);
        char file[4096];
        snprintf(file, sizeof file, "%s/frame_%03d.png", dir, e);
        if (nb_figure_save(figure, file) != NB_OK) {
            cli_error("demo", NULL);
            status = 1;
        }
        nb_figure_free(figure);
    }
    free(curve);
    if (status == 0)
        demo_log(run, "%d frames written to %s/frame_000.png … frame_%03d.png\n", epochs + 1, dir, epochs);
    return status;
}

static void decay_header(demo_run *run, bool per_sample)
{
    demo_log(run, "tutorial 2: y = 2x² − 4x + 3 on 800 points in [−1, 1); model a·x² + b·x + c from "
                  "(−11/6, −395/3, −2400)\n%s, lr 0.5 halved every 10 epochs, at most 100 epochs\n",
             per_sample ? "per-sample SGD in data order" : "shuffled mini-batches of 16 (remainder dropped)");
    demo_log(run, "stops when the epoch's mean loss < 1e-5 (the tutorial tests only the last %s's loss,\n"
                  "which can stop it after one epoch with wrong parameters)\n\n",
             per_sample ? "sample" : "batch");
}

/* The tutorial's training, at most 100 epochs with the step-decayed rate, until the
 * epoch's mean loss is below 1e-5; path[e] holds the weights after e epochs. `unit`
 * names a step on the progress line. */
static void decay_sgd(demo_run *run, quad_model *m, nb_loader *loader, const char *unit, double path[][3])
{
    nb_schedule schedule;
    nb_schedule_parse("step:10:0.5", 0.5, 100, &schedule);
    memcpy(path[0], m->w, sizeof path[0]);
    int64_t steps = nb_loader_n_batches(loader);
    demo_progress_start(run, 100 * steps, unit);
    for (int epoch = 0; epoch < 100; epoch++) {
        /* the tutorial's rate, 0.5 / 2^floor((epoch + 1) / 10), is the step schedule one epoch ahead */
        double lr = nb_schedule_lr(&schedule, epoch + 1), total = 0;
        nb_loader_start_epoch(loader, epoch);
        nb_batch b;
        double last = INFINITY;
        while (nb_loader_next(loader, &b)) {
            double loss = 2 * quad_step(m, b.inputs, b.targets, b.size, lr); /* the MSE, as the tutorial */
            total += loss;
            last = loss;
            demo_progress(run, epoch * steps + b.index + 1, loss);
        }
        double mean = total / (double)steps;
        memcpy(path[epoch + 1], m->w, sizeof path[0]);
        run->epochs_run = epoch + 1;
        demo_history(run, epoch, mean);
        if (run->tutorial_stop == 0 && last < 1e-5) /* the tutorial's own test, for the pictures */
            run->tutorial_stop = run->n_losses;
        demo_log(run, "epoch %3d  lr %.5f  gradient (%9.2e, %9.2e, %9.2e)  loss %.3e  a %.2f  b %.2f  c %.2f\n",
                 epoch, lr, m->grad[0], m->grad[1], m->grad[2], mean, m->w[0], m->w[1], m->w[2]);
        if (mean < 1e-5)
            break;
    }
    demo_progress_done(run);
}

int demo_quadratic_decay(demo_run *run)
{
    static const char *const names[3] = {"a", "b", "c"};
    const double truth[3] = {2, -4, 3};
    enum { N = 800 };
    nb_dataset *data = demo_quadratic_data(-400, 399, 400, truth); /* x = i/400 for i = -400 … 399 */
    bool per_sample = strcmp(run->variant, "sgd") == 0;
    /* per sample in data order, or shuffled batches of 16 with the remainder dropped */
    nb_loader *loader = data ? nb_loader_new(data, per_sample ? 1 : 16,
                                             per_sample ? 0 : NB_LOADER_SHUFFLE | NB_LOADER_DROP_LAST,
                                             run->options->seed)
                             : NULL;
    quad_model m;
    if (!loader || quad_build(&m, names, 0.5)) { /* ½ mean (ŷ − y)²: the gradient is the tutorial's (ŷ − y)(x², x, 1) */
        if (!loader)
            cli_error("demo", NULL);
        nb_loader_free(loader);
        nb_dataset_free(data);
        return 1;
    }
    double *xs = data->inputs->data, *ys = data->targets->data;
    m.w[0] = -11.0 / 6, m.w[1] = -395.0 / 3, m.w[2] = -2400;
    double path[101][3]; /* the weights at the start and after each epoch, for the pictures */
    decay_header(run, per_sample);
    decay_sgd(run, &m, loader, per_sample ? "sample" : "batch", path);
    demo_log(run, "\na = %.6f, b = %.6f, c = %.6f (true: 2, -4, 3)\n", m.w[0], m.w[1], m.w[2]);
    double solution[3];
    quad_learnt_and_solved(run, &m, names, xs, ys, N, truth, solution); /* --save writes what SGD learnt */
    run->stop_rule = per_sample ? "the last sample's loss < 1e-5" : "the last batch's loss < 1e-5";
    int status = run->options->frames ? write_frames(run, path, run->epochs_run, xs, ys, N) : 0;
    if (demo_animates(run))
        animate_fit(run, path, run->epochs_run, xs, ys, N);
    nb_figure *figure = evolution_figure(run, path, run->epochs_run, xs, ys, N);
    if (demo_finish(run, m.graph, figure) != 0)
        status = 1;
    nb_graph_free(m.graph);
    nb_loader_free(loader);
    nb_dataset_free(data);
    return status;
}
