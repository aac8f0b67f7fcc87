/* A gallery of nabla's plots: every kind of figure the demos and commands draw.
 *
 *     build/examples/plot_gallery [DIR]      writes DIR/gallery_*.png (DIR defaults to .)
 *
 * The data are the tutorials' own (tutorials 1 and 2 of docs/tutorials.md, trained here
 * in a few lines of plain C), except the loss/accuracy curves and the confusion matrix,
 * which are made-up but plausible Fashion-MNIST numbers drawn from the seeded generator. */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "nabla.h"

#define N_POINTS 100
#define MAX_EPOCHS 500

static char out_dir[512] = ".";

/* Save a figure as DIR/NAME and say so; false (and a message) on failure. */
static int save(nb_figure *figure, const char *name)
{
    char path[1024];
    snprintf(path, sizeof path, "%s/%s", out_dir, name);
    nb_status status = nb_figure_save(figure, path);
    nb_figure_free(figure);
    if (status != NB_OK) {
        fprintf(stderr, "plot_gallery: %s\n", nb_errmsg());
        return 1;
    }
    printf("wrote %s\n", path);
    return 0;
}

/* Tutorial 1 (docs/tutorials.md), variant A: per-sample SGD on y = 2x² + 3x + 4 from
 * (1, 2, 3), lr 0.1, until the epoch's mean loss < 1e-5. Returns the number of epochs run. */
static int train_quadratic(const double *x, const double *y, double w[3], double *history)
{
    w[0] = 1, w[1] = 2, w[2] = 3;
    for (int epoch = 0; epoch < MAX_EPOCHS; epoch++) {
        double total = 0;
        for (int i = 0; i < N_POINTS; i++) {
            double y_hat = w[0] * x[i] * x[i] + w[1] * x[i] + w[2];
            double error = y_hat - y[i];
            w[0] -= 0.1 * 2 * error * x[i] * x[i];
            w[1] -= 0.1 * 2 * error * x[i];
            w[2] -= 0.1 * 2 * error;
            total += error * error;
        }
        history[epoch] = total / N_POINTS;
        if (history[epoch] < 1e-5)
            return epoch + 1;
    }
    return MAX_EPOCHS;
}

static double quadratic(const double w[3], double x) { return w[0] * x * x + w[1] * x + w[2]; }

/* 1. The data and the model's curve. */
static int fit_figure(const double *x, const double *y, const double w[3])
{
    double model[N_POINTS];
    for (int i = 0; i < N_POINTS; i++)
        model[i] = quadratic(w, x[i]);
    nb_figure *figure = nb_figure_new(800, 520, 1, 1);
    nb_panel *panel = nb_figure_panel(figure, 0, 0);
    char title[128];
    snprintf(title, sizeof title, "Per-sample SGD: ŷ = %.2fx² + %.2fx + %.2f", w[0], w[1], w[2]);
    nb_panel_title(panel, title);
    nb_panel_labels(panel, "x", "y");
    nb_panel_scatter(panel, "data: y = 2x² + 3x + 4", x, y, N_POINTS, NULL);
    nb_panel_line(panel, "model", x, model, N_POINTS, NULL);
    return save(figure, "gallery_fit.png");
}

/* 2. The loss per epoch, on a log scale, with the stopping threshold. */
static int loss_figure(const double *history, int epochs)
{
    nb_figure *figure = nb_figure_new(800, 500, 1, 1);
    nb_panel *panel = nb_figure_panel(figure, 0, 0);
    nb_panel_title(panel, "Training loss");
    nb_panel_labels(panel, "epoch", "mean squared error");
    nb_panel_log_y(panel, true);
    nb_panel_line(panel, "loss", NULL, history, (size_t)epochs, NULL);
    nb_panel_hline(panel, "stop: loss < 10⁻⁵", 1e-5, NULL);
    return save(figure, "gallery_loss.png");
}

/* 3. The fit above its residuals, x axes aligned. */
static int residuals_figure(const double *x, const double *y, const double w[3])
{
    double model[N_POINTS], residual[N_POINTS];
    for (int i = 0; i < N_POINTS; i++) {
        model[i] = quadratic(w, x[i]);
        residual[i] = y[i] - model[i];
    }
    nb_figure *figure = nb_figure_new(800, 700, 2, 1);
    nb_figure_title(figure, "Quadratic fit and its residuals");
    nb_figure_row_heights(figure, (double[]){3, 1.3});
    nb_panel *fit = nb_figure_panel(figure, 0, 0);
    nb_panel_labels(fit, NULL, "y");
    nb_panel_scatter(fit, "data", x, y, N_POINTS, NULL);
    nb_panel_line(fit, "model", x, model, N_POINTS, NULL);
    nb_panel *res = nb_figure_panel(figure, 1, 0);
    nb_panel_labels(res, "x", "y − ŷ");
    nb_panel_hline(res, NULL, 0, NULL);
    nb_panel_scatter(res, NULL, x, residual, N_POINTS, &(nb_style){.color = NB_CYCLE(1)});
    return save(figure, "gallery_residuals.png");
}

/* 4. Tutorial 2 (docs/tutorials.md), variant B: shuffled mini-batches of 16 from
 * (−1, 10, 26), lr 0.5; the target and the model after several updates, older ones fainter. */
static int evolution_figure(void)
{
    enum { N = 800, BATCH = 16, STEPS = 128 };
    static double x[N], y[N], model[N];
    for (int i = 0; i < N; i++) {
        x[i] = (i - 400) / 400.0;
        y[i] = 2 * x[i] * x[i] - 4 * x[i] + 3;
    }
    nb_figure *figure = nb_figure_new(900, 560, 1, 1);
    nb_panel *panel = nb_figure_panel(figure, 0, 0);
    nb_panel_title(panel, "Mini-batch SGD from (−1, 10, 26): the model after 0, 1, 2, 4, … 128 updates");
    nb_panel_labels(panel, "x", "y");

    nb_rng rng;
    nb_rng_seed(&rng, 1);
    int64_t order[N];
    double w[3] = {-1, 10, 26};
    for (int step = 0, batch = N / BATCH; step <= STEPS; step++, batch++) {
        if ((step & (step - 1)) == 0) { /* 0 and the powers of two */
            for (int i = 0; i < N; i++)
                model[i] = quadratic(w, x[i]);
            double age = step ? (log2(step) + 1) / (log2(STEPS) + 1) : 0; /* 0 first, 1 last */
            char label[32];
            snprintf(label, sizeof label, "after %d update%s", step, step == 1 ? "" : "s");
            nb_style style = {.color = NB_CYCLE(0), .alpha = 0.18 + 0.82 * age};
            nb_panel_line(panel, step == 0 || step == 8 || step == STEPS ? label : NULL, x, model, N, &style);
        }
        if (batch == N / BATCH) { /* a new epoch: a new order */
            for (int i = 0; i < N; i++)
                order[i] = i;
            nb_rng_shuffle(&rng, order, N);
            batch = 0;
        }
        double grad[3] = {0, 0, 0};
        for (int k = batch * BATCH; k < (batch + 1) * BATCH; k++) {
            double xi = x[order[k]], error = quadratic(w, xi) - y[order[k]];
            grad[0] += error * xi * xi / BATCH;
            grad[1] += error * xi / BATCH;
            grad[2] += error / BATCH;
        }
        for (int k = 0; k < 3; k++)
            w[k] -= 0.5 * grad[k];
    }
    nb_panel_line(panel, "target: y = 2x² − 4x + 3", x, y, N, &(nb_style){.color = NB_CYCLE(1), .dashed = true});
    return save(figure, "gallery_evolution.png");
}

/* 5. Loss and accuracy side by side (made-up Fashion-MNIST-like curves). */
static int curves_figure(void)
{
    enum { EPOCHS = 20 };
    double train_loss[EPOCHS], test_loss[EPOCHS], train_acc[EPOCHS], test_acc[EPOCHS];
    nb_rng rng;
    nb_rng_seed(&rng, 7);
    for (int e = 0; e < EPOCHS; e++) {
        double t = e + 1;
        train_loss[e] = 0.22 + 0.38 * exp(-t / 4) + 0.004 * nb_rng_normal(&rng);
        test_loss[e] = 0.31 + 0.25 * exp(-t / 3.5) + 0.0025 * t + 0.006 * nb_rng_normal(&rng);
        train_acc[e] = 0.92 - 0.13 * exp(-t / 4) + 0.002 * nb_rng_normal(&rng);
        test_acc[e] = 0.885 - 0.09 * exp(-t / 3.5) - 0.0006 * t + 0.003 * nb_rng_normal(&rng);
    }
    nb_figure *figure = nb_figure_new(1200, 480, 1, 2);
    nb_figure_title(figure, "MLP 784-256-128-10 on Fashion-MNIST (illustrative numbers)");
    nb_panel *loss = nb_figure_panel(figure, 0, 0);
    nb_panel_title(loss, "Loss");
    nb_panel_labels(loss, "epoch", "cross-entropy");
    nb_panel_line(loss, "train", NULL, train_loss, EPOCHS, NULL);
    nb_panel_line(loss, "test", NULL, test_loss, EPOCHS, NULL);
    nb_panel *acc = nb_figure_panel(figure, 0, 1);
    nb_panel_title(acc, "Accuracy");
    nb_panel_labels(acc, "epoch", "accuracy");
    nb_panel_line(acc, "train", NULL, train_acc, EPOCHS, NULL);
    nb_panel_line(acc, "test", NULL, test_acc, EPOCHS, NULL);
    return save(figure, "gallery_curves.png");
}

/* 6. A 10 x 10 confusion matrix with the Fashion-MNIST class names. */
static int confusion_figure(void)
{
    static const char *const classes[10] = {"T-shirt/top", "Trouser", "Pullover", "Dress", "Coat",
                                            "Sandal",      "Shirt",   "Sneaker",  "Bag",   "Ankle boot"};
    /* how often each true class is mistaken for each other one (rows: true) */
    static const double confusable[10][10] = {
        [0] = {[6] = 9, [3] = 3, [2] = 2}, [2] = {[4] = 9, [6] = 7},  [3] = {[0] = 3, [4] = 3, [6] = 2},
        [4] = {[2] = 8, [6] = 7, [3] = 3}, [5] = {[7] = 3, [9] = 2},  [6] = {[0] = 10, [2] = 8, [4] = 7},
        [7] = {[5] = 3, [9] = 4},          [9] = {[7] = 4, [5] = 1},
    };
    double counts[100];
    nb_rng rng;
    nb_rng_seed(&rng, 11);
    for (int i = 0; i < 10; i++) {
        double off = 0;
        for (int j = 0; j < 10; j++) {
            if (i == j)
                continue;
            double weight = confusable[i][j] > 0 ? confusable[i][j] * 12 : 2.5;
            counts[i * 10 + j] = floor(weight * (0.5 + nb_rng_uniform(&rng)));
            off += counts[i * 10 + j];
        }
        counts[i * 10 + i] = 1000 - off; /* 1000 test images per class */
    }
    double correct = 0;
    for (int i = 0; i < 10; i++)
        correct += counts[i * 10 + i];
    char title[96];
    snprintf(title, sizeof title, "Confusion matrix (illustrative), accuracy %.1f %%", correct / 100);
    nb_figure *figure = nb_figure_new(820, 760, 1, 1);
    nb_panel *panel = nb_figure_panel(figure, 0, 0);
    nb_panel_title(panel, title);
    nb_panel_labels(panel, "predicted class", "true class");
    nb_panel_heatmap(panel, counts, 10, 10, classes, classes, true, "images");
    return save(figure, "gallery_confusion.png");
}

int main(int argc, char **argv)
{
    if (argc > 2 || (argc == 2 && (!strcmp(argv[1], "--help") || !strcmp(argv[1], "-h")))) {
        printf("usage: plot_gallery [DIR]   draw the gallery of nabla's plots into DIR (default .)\n");
        return argc > 2 ? 2 : 0;
    }
    if (argc == 2)
        snprintf(out_dir, sizeof out_dir, "%s", argv[1]);

    double x[N_POINTS], y[N_POINTS], w[3], history[MAX_EPOCHS];
    for (int i = 0; i < N_POINTS; i++) {
        x[i] = i / 100.0;
        y[i] = 2 * x[i] * x[i] + 3 * x[i] + 4;
    }
    int epochs = train_quadratic(x, y, w, history);
    printf("quadratic: %d epochs, w = (%.4f, %.4f, %.4f)\n", epochs, w[0], w[1], w[2]);
    nb_text_chart(stdout, history, (size_t)epochs,
                  &(nb_text_chart_opts){.title = "loss per epoch (log scale)", .log_y = true});

    int failures = fit_figure(x, y, w) + loss_figure(history, epochs) + residuals_figure(x, y, w) +
                   evolution_figure() + curves_figure() + confusion_figure();
    return failures ? 1 : 0;
}
