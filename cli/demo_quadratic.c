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

/* One SGD step on rows [start, start + count) of xs/ys; returns the batch loss. With
 * `reset` false the gradients add to those of the steps before, as in tutorial 1's
 * mini-batch code. */
static double quad_step(quad_model *m, double *xs, double *ys, int64_t count, double lr, bool reset)
{
    nb_input_bind(m->x, NB_F64, xs, count);
    nb_input_bind(m->y, NB_F64, ys, count);
    nb_forward(m->loss);
    if (reset)
        nb_zero_grad(m->graph);
    nb_backward(m->loss);
    for (int k = 0; k < 3; k++)
        m->w[k] -= lr * m->grad[k];
    return nb_item(m->loss);
}

/* --trace: the update just made, in the tutorial's notation; before[] the weights it
 * started from, `loss` and `formula` the loss as the tutorial writes it. */
static void quad_trace(demo_run *run, quad_model *m, const char *const names[3], const double before[3], int64_t count,
                       double lr, const char *formula, double loss, const char *what)
{
    if (!demo_trace(run, what))
        return;
    if (count == 1) {
        double x = nb_tensor_get(nb_value(m->x), 0), y = nb_tensor_get(nb_value(m->y), 0);
        demo_log(run, "  x = %.4f, y = %.6f;  ŷ = %s·x² + %s·x + %s = %.6f·%.4f² + (%.6f)·%.4f + (%.6f) = %.8f\n", x,
                 y, names[0], names[1], names[2], before[0], x, before[1], x, before[2],
                 nb_tensor_get(nb_value(m->pred), 0));
    } else {
        demo_log(run, "  a batch of %lld samples, ŷ = %s·x² + %s·x + %s for each\n", (long long)count, names[0],
                 names[1], names[2]);
    }
    demo_log(run, "  L = %s = %.8e\n", formula, loss);
    demo_trace_step(run, names, 3, before, m->grad, lr);
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
        demo_log(run, "the tutorial resets its gradient sums once per epoch, not after each batch, so every\n"
                      "step also carries the gradients of the epoch's earlier batches: that is not mini-batch\n"
                      "SGD. Both runs, side by side (loss: the mean (y − ŷ)² over the epoch's 100 samples):\n\n");
}

/* Tutorial 1's training from (1, 2, 3): batches in data order, lr 0.1, at most 500
 * epochs, until the epoch's mean loss is below 1e-5; losses[e] is epoch e's mean loss.
 * `as_written` keeps the tutorial's gradient sums across an epoch's batches. The run
 * that is not as written is the report's (history, progress line). Returns the epochs. */
static int quadratic_sgd(demo_run *run, quad_model *m, double *xs, double *ys, int64_t batch, bool as_written,
                         double losses[500])
{
    m->w[0] = 1, m->w[1] = 2, m->w[2] = 3;
    if (!as_written)
        demo_progress_start(run, 500 * (100 / batch), batch == 1 ? "sample" : "batch");
    int epochs = 0;
    for (int epoch = 0; epoch < 500; epoch++) {
        double total = 0;
        nb_zero_grad(m->graph);
        for (int64_t start = 0; start < 100; start += batch) {
            double before[3] = {m->w[0], m->w[1], m->w[2]};
            double loss = quad_step(m, xs + start, ys + start, batch, 0.1, !as_written);
            total += loss * (double)batch;
            if (as_written)
                continue;
            demo_progress(run, epoch * (100 / batch) + start / batch + 1, loss);
            char what[64];
            snprintf(what, sizeof what, "epoch %d, %s %lld", epoch, batch == 1 ? "sample" : "batch",
                     (long long)(start / batch));
            quad_trace(run, m, (const char *const[]){"w1", "w2", "w3"}, before, batch, 0.1,
                       batch == 1 ? "(y − ŷ)²" : "mean (y − ŷ)² over the batch", loss, what);
        }
        losses[epoch] = total / 100;
        epochs = epoch + 1;
        if (!as_written)
            demo_history(run, epoch, losses[epoch]);
        if (!as_written && batch == 1)
            demo_log(run, "epoch %d, loss %.8f (mean (y − ŷ)² over the epoch's 100 samples)\n", epoch, losses[epoch]);
        if (losses[epoch] < 1e-5) {
            if (!as_written) /* the tutorial's own rule, on the curve --plot x.gif animates */
                run->tutorial_stop = run->n_losses;
            break;
        }
    }
    if (!as_written) {
        demo_progress_done(run);
        run->epochs_run = epochs;
    }
    return epochs;
}

/* The mini-batch variant: the tutorial's code as written, then the intended algorithm,
 * their losses side by side; the model ends with the intended run's weights. */
static void quadratic_both(demo_run *run, quad_model *m, double *xs, double *ys)
{
    static const char *const names[3] = {"w1", "w2", "w3"};
    double written[500], intended[500];
    int n_written = quadratic_sgd(run, m, xs, ys, 20, true, written);
    double w_written[3] = {m->w[0], m->w[1], m->w[2]};
    demo_as_written(run, written, n_written, names, w_written, 3);
    int n_intended = quadratic_sgd(run, m, xs, ys, 20, false, intended);
    demo_log(run, "%9s  %-28s %s\n", "", "as written (sums kept)", "intended (reset after each batch)");
    for (int e = 0; e < (n_written > n_intended ? n_written : n_intended); e++) {
        char left[40] = "", right[40] = "";
        if (e < n_written)
            snprintf(left, sizeof left, "loss %.8f", written[e]);
        if (e < n_intended)
            snprintf(right, sizeof right, "loss %.8f", intended[e]);
        demo_log(run, "epoch %3d  %-28s %s\n", e, left, right);
    }
    demo_log(run, "\nas written: %d epochs, w1 = %.6f, w2 = %.6f, w3 = %.6f\n", n_written, w_written[0],
             w_written[1], w_written[2]);
    demo_log(run, "intended:   %d epochs, w1 = %.6f, w2 = %.6f, w3 = %.6f (true: 2, 3, 4)\n", n_intended, m->w[0],
             m->w[1], m->w[2]);
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
    bool per_sample = strcmp(run->variant, "sgd") == 0;
    quadratic_header(run, per_sample);
    run->stop_rule = "the epoch's mean loss < 1e-5";
    if (per_sample) {
        double losses[500];
        quadratic_sgd(run, &m, xs, ys, 1, false, losses);
        demo_log(run, "\nw1 = %.6f, w2 = %.6f, w3 = %.6f (true: 2, 3, 4)\n", m.w[0], m.w[1], m.w[2]);
    } else {
        quadratic_both(run, &m, xs, ys);
    }
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
            snprintf(label, sizeof label, e == 0 ? "start" : "after epoch %d", e - 1); /* epochs from 0 */
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

/* Frame e of the fit's evolution (the start, or after epoch e − 1: epochs count from 0):
 * the model and the three before it, and a note of the tutorial's own stopping rule —
 * where its as-written run stops, or that it has none (the mini-batch code). */
static nb_figure *evolution_frame(const demo_run *run, double path[][3], int e, const double *xs, const double *ys,
                                  int64_t n, double *curve)
{
    nb_figure *figure = nb_figure_new(800, 520, 1, 1);
    if (!figure)
        return NULL;
    char title[96];
    char when[32] = "start";
    if (e > 0)
        snprintf(when, sizeof when, "after epoch %d", e - 1);
    snprintf(title, sizeof title, "%s: a = %.2f, b = %.2f, c = %.2f", when, path[e][0], path[e][1], path[e][2]);
    nb_figure_title(figure, title);
    nb_panel *panel = nb_figure_panel(figure, 0, 0);
    evolution_panel(panel, path, e, e > 3 ? e - 3 : 0, xs, ys, n, curve);
    char note[160]; /* on every frame, so that the chart keeps its place */
    int stop = run->tutorial_stop; /* frame `stop` is the one after the tutorial's last epoch */
    if (!run->stop_rule)
        snprintf(note, sizeof note, "the tutorial's own code never stops early (its break is commented out)");
    else if (e > 0 && e == stop)
        snprintf(note, sizeof note, "the tutorial's own rule stops here: %s", run->stop_rule);
    else if (stop > 0 && e > stop)
        snprintf(note, sizeof note, "the tutorial's own rule stopped after epoch %d", stop - 1);
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
    demo_log(run, "each line: the learning rate, the gradient of the epoch's last step, a loss (named),\n"
                  "and a, b, c rounded to 2 decimals as the tutorial prints them (the runs keep full precision)\n\n");
}

/* How a run of tutorial 2 decides to stop. */
typedef enum decay_stop {
    STOP_MEAN_LOSS,   /* the epoch's mean loss < 1e-5: nabla's test */
    STOP_LAST_LOSS,   /* the tutorial's per-sample test: the last sample's loss, rounded to 2 decimals as
                       * it prints it, < 1e-5 */
    STOP_NEVER,       /* the tutorial's mini-batch code: its `break` is commented out */
} decay_stop;

/* One epoch of a run: the rate, the last step's gradient, the epoch's mean loss, the
 * last step's loss and the weights after the epoch. */
typedef struct decay_epoch {
    double lr, grad[3], mean, last, w[3];
} decay_epoch;

/* Whether a run that stops by `stop` ends after the epoch r. */
static bool decay_stops(decay_stop stop, const decay_epoch *r)
{
    return (stop == STOP_MEAN_LOSS && r->mean < 1e-5) || (stop == STOP_LAST_LOSS && round(100 * r->last) / 100 < 1e-5);
}

/* --trace for tutorial 2: its loss is the MSE, its gradient that of half of it. */
static void decay_trace(demo_run *run, quad_model *m, const double before[3], const nb_batch *b, int epoch,
                        const decay_epoch *r)
{
    char what[64];
    snprintf(what, sizeof what, "epoch %d, %s %lld, lr %g", epoch, b->size == 1 ? "sample" : "batch",
             (long long)b->index, r->lr);
    quad_trace(run, m, (const char *const[]){"a", "b", "c"}, before, b->size, r->lr,
               b->size == 1 ? "(ŷ − y)² (the gradient is that of ½(ŷ − y)²: the tutorial drops the 2)"
                            : "mean (ŷ − y)² over the batch (the gradient is that of half of it)",
               r->last, what);
}

/* Tutorial 2's training from the far start, at most 100 epochs with the step-decayed
 * rate, until `stop` says so; rec[e] is epoch e, path[e] the weights after e epochs.
 * The STOP_MEAN_LOSS run is the report's (history, progress line, `unit` steps). */
static int decay_sgd(demo_run *run, quad_model *m, nb_loader *loader, const char *unit, decay_stop stop,
                     decay_epoch rec[100], double path[][3])
{
    bool live = stop == STOP_MEAN_LOSS;
    m->w[0] = -11.0 / 6, m->w[1] = -395.0 / 3, m->w[2] = -2400;
    nb_schedule schedule;
    nb_schedule_parse("step:10:0.5", 0.5, 100, &schedule);
    memcpy(path[0], m->w, sizeof path[0]);
    int64_t steps = nb_loader_n_batches(loader);
    if (live)
        demo_progress_start(run, 100 * steps, unit);
    int epochs = 0;
    for (int epoch = 0; epoch < 100; epoch++) {
        /* the tutorial's rate, 0.5 / 2^floor((epoch + 1) / 10), is the step schedule one epoch ahead */
        decay_epoch *r = &rec[epoch];
        r->lr = nb_schedule_lr(&schedule, epoch + 1);
        double total = 0;
        nb_loader_start_epoch(loader, epoch);
        nb_batch b;
        while (nb_loader_next(loader, &b)) {
            double before[3] = {m->w[0], m->w[1], m->w[2]};
            r->last = 2 * quad_step(m, b.inputs, b.targets, b.size, r->lr, true); /* the MSE, as the tutorial */
            total += r->last;
            if (live)
                decay_trace(run, m, before, &b, epoch, r);
            if (live)
                demo_progress(run, epoch * steps + b.index + 1, r->last);
        }
        r->mean = total / (double)steps;
        memcpy(r->grad, m->grad, sizeof r->grad);
        memcpy(r->w, m->w, sizeof r->w);
        memcpy(path[epoch + 1], m->w, sizeof path[0]);
        epochs = epoch + 1;
        if (live)
            demo_history(run, epoch, r->mean);
        if (decay_stops(stop, r))
            break;
    }
    if (live) {
        demo_progress_done(run);
        run->epochs_run = epochs;
    }
    return epochs;
}

static void decay_log(demo_run *run, const decay_epoch *rec, int epochs, const char *loss_name, bool last)
{
    for (int e = 0; e < epochs; e++)
        demo_log(run, "epoch %3d  lr %.5f  last step's gradient (%9.2e, %9.2e, %9.2e)  %s %.3e  a %.2f  b %.2f  c %.2f\n",
                 e, rec[e].lr, rec[e].grad[0], rec[e].grad[1], rec[e].grad[2], loss_name,
                 last ? rec[e].last : rec[e].mean, rec[e].w[0], rec[e].w[1], rec[e].w[2]);
}

/* The tutorial's run as its code does it, then nabla's, one after the other; the model
 * ends with nabla's weights, path[] holds them epoch by epoch. */
static void decay_both(demo_run *run, quad_model *m, nb_loader *loader, bool per_sample, double path[][3])
{
    static const char *const names[3] = {"a", "b", "c"};
    static decay_epoch written[100], intended[100];
    double ignored[101][3];
    int n_written = decay_sgd(run, m, loader, NULL, per_sample ? STOP_LAST_LOSS : STOP_NEVER, written, ignored);
    double losses[100];
    for (int e = 0; e < n_written; e++)
        losses[e] = written[e].last;
    cJSON *as_written = demo_as_written(run, losses, n_written, names, written[n_written - 1].w, 3);
    cJSON_AddStringToObject(as_written, "loss", per_sample ? "the last sample's squared error"
                                                           : "the mean squared error of the last batch");
    demo_log(run, "as the tutorial wrote it: %s\n",
             per_sample ? "it stops when the last sample's loss, rounded to 2 decimals, is < 1e-5"
                        : "its `break` is commented out, so it runs all 100 epochs");
    decay_log(run, written, n_written, per_sample ? "last sample's loss" : "last batch's loss", true);
    /* Both runs take the same steps until the tutorial's stops (same start, data order
     * and rates), so its stop is an epoch of nabla's history too: --plot x.gif marks it. */
    run->stop_rule = per_sample ? "the last sample's loss, rounded to 2 decimals, < 1e-5" : NULL;
    if (per_sample && decay_stops(STOP_LAST_LOSS, &written[n_written - 1]))
        run->tutorial_stop = n_written;
    if (per_sample)
        demo_log(run, "→ it stops after epoch %d at a = %.2f, b = %.2f, c = %.2f, far from (2, −4, 3): one\n"
                      "  sample's loss can be tiny while the others are not\n", n_written - 1,
                 written[n_written - 1].w[0], written[n_written - 1].w[1], written[n_written - 1].w[2]);
    demo_log(run, "\nnabla: stops when the epoch's mean loss < 1e-5\n");
    int n_intended = decay_sgd(run, m, loader, per_sample ? "sample" : "batch", STOP_MEAN_LOSS, intended, path);
    char name[64];
    snprintf(name, sizeof name, "mean loss over the epoch's %s", per_sample ? "800 samples" : "50 batches");
    decay_log(run, intended, n_intended, name, false);
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
    double path[101][3]; /* the weights at the start and after each epoch, for the pictures */
    decay_header(run, per_sample);
    decay_both(run, &m, loader, per_sample, path);
    demo_log(run, "\na = %.6f, b = %.6f, c = %.6f (true: 2, -4, 3)\n", m.w[0], m.w[1], m.w[2]);
    double solution[3];
    quad_learnt_and_solved(run, &m, names, xs, ys, N, truth, solution); /* --save writes what SGD learnt */
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
