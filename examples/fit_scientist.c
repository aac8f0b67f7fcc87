/* Fitting from C, the way a scientist embeds it: include/nabla/fit.h and io.h only.
 *
 * 1. One decay curve, y = a*exp(-k*t) + c, with constraints by name (k >= 0, c fixed at
 *    its known baseline), fitted by plain least squares and with a robust loss on data
 *    that hold one outlier.
 * 2. The fit kept: saved to a file, loaded back, and evaluated at new t with confidence
 *    and prediction intervals.
 * 3. Many fits: the same formula fitted to each group of rows of one table.
 *
 * Usage: fit_scientist [DIR]   (the kept model is written to DIR, else to a temporary
 * directory that is removed at the end). */
#define _POSIX_C_SOURCE 200809L
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "nabla/fit.h"
#include "nabla/io.h"

#define FORMULA "y = a*exp(-k*t) + c"
#define N_POINTS 20
/* The curve the data come from, the baseline c known in advance, and one bad reading. */
#define TRUE_A 5.0
#define TRUE_K 0.7
#define BASELINE 1.0
#define OUTLIER_ROW 6
#define OUTLIER_SIZE 3.0

/* Small deterministic noise, so that every run prints the same numbers. */
static double noise(int i)
{
    return 0.01 * sin(12.9898 * (i + 1));
}

static double curve(double a, double k, double t)
{
    return a * exp(-k * t) + BASELINE;
}

/* The constraints, by parameter name: a starts at 4, k starts at 0.5 and stays >= 0, c is
 * held at the baseline. */
static const char *const init_names[2] = {"a", "k"};
static const double init_values[2] = {4, 0.5};
static const char *const fixed_names[1] = {"c"};
static const double fixed_values[1] = {BASELINE};
static const char *const bound_names[1] = {"k"};
static const double bound_lower[1] = {0};
static const double bound_upper[1] = {INFINITY};

static nb_fit_setup constrained_setup(void)
{
    nb_fit_setup setup = {.n_init = 2, .init_names = init_names, .init_values = init_values,
                          .n_fixed = 1, .fixed_names = fixed_names, .fixed_values = fixed_values,
                          .n_bounds = 1, .bound_names = bound_names, .bound_lower = bound_lower,
                          .bound_upper = bound_upper};
    return setup;
}

static nb_table *decay_table(void)
{
    double t[N_POINTS], y[N_POINTS];
    for (int i = 0; i < N_POINTS; i++) {
        t[i] = 0.5 * i;
        y[i] = curve(TRUE_A, TRUE_K, t[i]) + noise(i) + (i == OUTLIER_ROW ? OUTLIER_SIZE : 0);
    }
    const char *names[2] = {"t", "y"};
    const double *columns[2] = {t, y};
    nb_table *table = nb_table_from_columns(2, names, N_POINTS, columns);
    if (!table)
        fprintf(stderr, "fit_scientist: making the table: %s\n", nb_errmsg());
    return table;
}

static const char *state(const nb_lsq_result *r, int j)
{
    if (r->fixed[j])
        return " (fixed)";
    if (r->at_bound[j] < 0)
        return " (at its lower bound)";
    if (r->at_bound[j] > 0)
        return " (at its upper bound)";
    return "";
}

static void print_fit(const char *label, const nb_lsq_result *r)
{
    printf("%s fit (%s loss, %s):\n", label, nb_lsq_loss_name(r->loss), r->converged ? "converged" : "NOT converged");
    for (int j = 0; j < r->n_params; j++)
        printf("  %s = %.6f +/- %.6f%s\n", r->names[j], r->params[j], r->std_error[j], state(r, j));
}

/* Part 1: the same constrained fit, plain and robust. `robust` keeps the robust one. */
static int fit_one_curve(const nb_table *data, nb_lsq_options *robust_options, nb_lsq_result *robust)
{
    nb_fit_setup setup = constrained_setup();
    nb_lsq_options options = nb_lsq_defaults();
    nb_lsq_result plain;
    if (nb_fit_formula(FORMULA, data, &setup, &options, &plain) != NB_OK) {
        fprintf(stderr, "fit_scientist: the plain fit: %s\n", nb_errmsg());
        return 1;
    }
    print_fit("plain", &plain);
    nb_lsq_result_clear(&plain);
    /* cauchy bends at residuals of about f_scale (the noise is ~0.01, the outlier 3) and
     * then grows only as a logarithm, so the outlier hardly pulls. */
    *robust_options = nb_lsq_defaults();
    robust_options->loss = NB_LSQ_CAUCHY;
    robust_options->f_scale = 0.05;
    if (nb_fit_formula(FORMULA, data, &setup, robust_options, robust) != NB_OK) {
        fprintf(stderr, "fit_scientist: the robust fit: %s\n", nb_errmsg());
        return 1;
    }
    print_fit("robust", robust);
    printf("  the outlier (row %d): residual %.4f\n", OUTLIER_ROW + 1, robust->residuals[OUTLIER_ROW]);
    return 0;
}

static int predict_new(const nb_fit_model *model)
{
    double t[3] = {0.25, 3.0, 12.0};
    const char *names[1] = {"t"};
    const double *columns[1] = {t};
    nb_table *at = nb_table_from_columns(1, names, 3, columns);
    if (!at) {
        fprintf(stderr, "fit_scientist: making the new inputs: %s\n", nb_errmsg());
        return 1;
    }
    nb_fit_prediction p;
    nb_status status = nb_fit_model_predict(model, at, 0.95, &p);
    nb_table_free(at);
    if (status != NB_OK) {
        fprintf(stderr, "fit_scientist: predicting: %s\n", nb_errmsg());
        return 1;
    }
    for (int64_t i = 0; i < p.n; i++)
        printf("  predict t = %.2f: y = %.6f  95%% confidence [%.6f, %.6f]  prediction [%.6f, %.6f]\n", t[i],
               p.fitted[i], p.conf_low[i], p.conf_high[i], p.pred_low[i], p.pred_high[i]);
    nb_fit_prediction_clear(&p);
    return 0;
}

/* Part 2: keep the robust fit in `path`, read it back and use it. Its residual variance
 * (sse / dof) still counts the outlier's residual, so the intervals are wide: honest about
 * data that hold such a point. */
static int keep_the_fit(const nb_table *data, const nb_lsq_options *options, const nb_lsq_result *result,
                        const char *path)
{
    nb_fit_setup setup = constrained_setup();
    nb_fit_model model;
    if (nb_fit_model_init(&model, FORMULA, data, &setup, options, result) != NB_OK) {
        fprintf(stderr, "fit_scientist: keeping the fit: %s\n", nb_errmsg());
        return 1;
    }
    nb_status status = nb_fit_model_save(&model, path);
    nb_fit_model_clear(&model);
    if (status != NB_OK) {
        fprintf(stderr, "fit_scientist: saving the model: %s\n", nb_errmsg());
        return 1;
    }
    nb_fit_model loaded;
    if (nb_fit_model_load(&loaded, path) != NB_OK) {
        fprintf(stderr, "fit_scientist: loading the model: %s\n", nb_errmsg());
        return 1;
    }
    printf("kept model: %s, %lld points, %lld degrees of freedom\n", loaded.formula, (long long)loaded.n_points,
           (long long)loaded.dof);
    int failed = predict_new(&loaded);
    nb_fit_model_clear(&loaded);
    return failed;
}

/* Part 3's table: group g decays at rate_of(g); the last group grows instead, which the
 * bound k >= 0 cannot follow (k stops at 0). */
#define N_GROUPS 4
#define GROUP_ROWS 15
static double rate_of(int g)
{
    static const double rates[N_GROUPS] = {0.3, 0.7, 1.5, -0.1};
    return rates[g];
}

static nb_table *group_table(void)
{
    double group[N_GROUPS * GROUP_ROWS], t[N_GROUPS * GROUP_ROWS], y[N_GROUPS * GROUP_ROWS];
    for (int g = 0; g < N_GROUPS; g++)
        for (int i = 0; i < GROUP_ROWS; i++) {
            int row = g * GROUP_ROWS + i;
            group[row] = g + 1;
            t[row] = 0.5 * i;
            y[row] = curve(TRUE_A, rate_of(g), t[row]) + noise(row);
        }
    const char *names[3] = {"run", "t", "y"};
    const double *columns[3] = {group, t, y};
    nb_table *table = nb_table_from_columns(3, names, N_GROUPS * GROUP_ROWS, columns);
    if (!table)
        fprintf(stderr, "fit_scientist: making the groups' table: %s\n", nb_errmsg());
    return table;
}

/* Part 3: one fit per value of the column `run`, one line each. */
static int fit_each_group(void)
{
    nb_table *data = group_table();
    if (!data)
        return 1;
    nb_fit_setup setup = constrained_setup();
    nb_fit_batch batch;
    nb_status status = nb_fit_batch_by(FORMULA, data, "run", &setup, NULL, &batch);
    nb_table_free(data);
    if (status != NB_OK) {
        fprintf(stderr, "fit_scientist: the batch: %s\n", nb_errmsg());
        return 1;
    }
    printf("%d groups, %d not fitted or not converged:\n", batch.n_groups, batch.n_failed);
    for (int i = 0; i < batch.n_groups; i++) {
        const nb_fit_group *g = &batch.groups[i];
        if (g->status != NB_OK) {
            printf("  run %s: %s\n", g->name, g->error);
            continue;
        }
        const nb_lsq_result *r = &g->result;
        printf("  run %s: %lld rows  a = %.6f  k = %.6f%s  SSE %.3g\n", g->name, (long long)g->n_rows, r->params[0],
               r->params[1], state(r, 1), r->sse);
    }
    nb_fit_batch_clear(&batch);
    return 0;
}

int main(int argc, char **argv)
{
    char temp[] = "/tmp/fit_scientist.XXXXXX";
    const char *dir = argc > 1 ? argv[1] : mkdtemp(temp);
    if (!dir) {
        perror("fit_scientist: making a temporary directory");
        return 1;
    }
    char path[4096];
    snprintf(path, sizeof path, "%s/decay.fit.json", dir);
    nb_table *data = decay_table();
    if (!data)
        return 1;
    printf("data: %s, a = %g, k = %g, c = %g, one outlier (+%g at row %d)\n\n", FORMULA, TRUE_A, TRUE_K, BASELINE,
           OUTLIER_SIZE, OUTLIER_ROW + 1);
    nb_lsq_options options;
    nb_lsq_result robust;
    int failed = fit_one_curve(data, &options, &robust);
    if (!failed) {
        printf("\n");
        failed = keep_the_fit(data, &options, &robust, path);
        nb_lsq_result_clear(&robust);
    }
    nb_table_free(data);
    if (argc <= 1) {
        remove(path);
        rmdir(dir);
    }
    if (!failed)
        printf("\n");
    return failed || fit_each_group();
}
