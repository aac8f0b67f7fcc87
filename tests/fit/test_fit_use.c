/* A fit's results and their use through the public API: the information criteria and
 * per-point residuals, kept fits (save, load, bad files), predictions with delta-method
 * intervals, and batches of fits (groups of rows, several tables, failing groups). */
#include "nb_test.h"

#include <unistd.h>

#define M 12
static double xs[M], ys[M];
static char dir[64];

static nb_table *decay_table(double a, double k, int m, double phase)
{
    for (int i = 0; i < m; i++) {
        xs[i] = 0.3 * i;
        ys[i] = a * exp(-k * xs[i]) + 0.01 * sin(7.0 * i + phase);
    }
    const char *names[2] = {"x", "y"};
    const double *columns[2] = {xs, ys};
    return nb_table_from_columns(2, names, m, columns);
}

static int setup(void **state)
{
    (void)state;
    snprintf(dir, sizeof dir, "/tmp/nb_fit_use_XXXXXX");
    return mkdtemp(dir) ? 0 : -1;
}

static int teardown(void **state)
{
    (void)state;
    char command[128];
    snprintf(command, sizeof command, "rm -rf %s", dir);
    return system(command) == 0 ? 0 : -1;
}

static void test_information(void **state)
{
    (void)state;
    nb_table *t = decay_table(2.5, 0.8, M, 0);
    nb_lsq_result r;
    assert_int_equal(nb_fit_formula("y = k*0 + a*exp(-k*x)", t, NULL, NULL, &r), NB_OK);
    /* formula order, not alphabetical */
    assert_string_equal(r.names[0], "k");
    assert_string_equal(r.names[1], "a");
    double n = M, k = 3;
    double ll = -n / 2 * (log(2 * M_PI) + 1 + log(r.sse / n));
    assert_close(r.log_likelihood, ll, 1e-9 * fabs(ll));
    assert_close(r.aic, 2 * k - 2 * ll, 1e-9);
    assert_close(r.aicc, r.aic + 2 * k * (k + 1) / (n - k - 1), 1e-9);
    assert_close(r.bic, k * log(n) - 2 * ll, 1e-9);
    assert_non_null(r.fitted);
    double sse = 0;
    for (int i = 0; i < M; i++) {
        assert_close(r.fitted[i] + r.residuals[i], ys[i], 1e-12);
        assert_close(r.fitted[i], r.params[1] * exp(-r.params[0] * xs[i]), 1e-12);
        sse += r.residuals[i] * r.residuals[i];
    }
    assert_close(sse, r.sse, 1e-12);
    nb_lsq_result_clear(&r);
    nb_table_free(t);
}

static void test_model_round_trip_and_predict(void **state)
{
    (void)state;
    nb_table *t = decay_table(2.5, 0.8, M, 0);
    nb_lsq_result r;
    assert_int_equal(nb_fit_formula("y = a*exp(-k*x)", t, NULL, NULL, &r), NB_OK);
    nb_fit_model model, loaded;
    assert_int_equal(nb_fit_model_init(&model, "y = a*exp(-k*x)", t, NULL, NULL, &r), NB_OK);
    char path[128];
    snprintf(path, sizeof path, "%s/fit.json", dir);
    assert_int_equal(nb_fit_model_save(&model, path), NB_OK);
    assert_int_equal(nb_fit_model_load(&loaded, path), NB_OK);
    assert_string_equal(loaded.formula, "y = a*exp(-k*x)");
    assert_string_equal(loaded.response, "y");
    assert_int_equal(loaded.n_params, 2);
    for (int j = 0; j < 4; j++)
        assert_true(loaded.covariance[j] == r.covariance[j]);
    assert_true(loaded.params[1] == r.params[1]);
    assert_int_equal(loaded.dof, M - 2);

    /* the delta method by hand: g = (exp(-k x), -a x exp(-k x)) */
    double at[3] = {0, 1.5, 4};
    const char *names[1] = {"x"};
    const double *columns[1] = {at};
    nb_table *fresh = nb_table_from_columns(1, names, 3, columns);
    nb_fit_prediction p;
    assert_int_equal(nb_fit_model_predict(&loaded, fresh, 0.9, &p), NB_OK);
    double a = r.params[0], k = r.params[1], s2 = r.sse / (M - 2);
    double t90 = nb_student_t_quantile(0.95, M - 2);
    for (int i = 0; i < 3; i++) {
        double e = exp(-k * at[i]), g[2] = {e, -a * at[i] * e}, var = 0;
        for (int j = 0; j < 2; j++)
            for (int l = 0; l < 2; l++)
                var += g[j] * r.covariance[j * 2 + l] * g[l];
        assert_close(p.fitted[i], a * e, 1e-12);
        assert_close(p.se_fit[i], sqrt(var), 1e-12 * (1 + sqrt(var)));
        assert_close(p.conf_high[i] - p.fitted[i], t90 * sqrt(var), 1e-10);
        assert_close(p.pred_high[i] - p.fitted[i], t90 * sqrt(var + s2), 1e-10);
        assert_true(p.pred_low[i] < p.conf_low[i]);
    }
    nb_fit_prediction_clear(&p);

    /* new data without the input the formula reads */
    const char *other[1] = {"t"};
    nb_table *wrong = nb_table_from_columns(1, other, 3, columns);
    assert_int_equal(nb_fit_model_predict(&loaded, wrong, 0.95, &p), NB_EARG);
    assert_non_null(strstr(nb_errmsg(), "no value of 'x'"));
    nb_table_free(wrong);
    nb_table_free(fresh);
    nb_fit_model_clear(&model);
    nb_fit_model_clear(&loaded);
    nb_lsq_result_clear(&r);
    nb_table_free(t);
}

/* A fixed parameter is known, not estimated: its NaN covariance row adds no uncertainty,
 * and the intervals come from the estimated ones (they used to collapse to zero width). */
static void test_predict_with_a_fixed_parameter(void **state)
{
    (void)state;
    nb_table *t = decay_table(2.5, 0.8, M, 0);
    const char *fixed_names[1] = {"c"};
    double fixed_values[1] = {0};
    nb_fit_setup setup = {.n_fixed = 1, .fixed_names = fixed_names, .fixed_values = fixed_values};
    nb_lsq_result r;
    assert_int_equal(nb_fit_formula("y = a*exp(-k*x) + c", t, &setup, NULL, &r), NB_OK);
    assert_true(r.fixed[2] && isnan(r.covariance[8]));
    nb_fit_model model;
    assert_int_equal(nb_fit_model_init(&model, "y = a*exp(-k*x) + c", t, &setup, NULL, &r), NB_OK);
    double at[2] = {0.5, 2};
    const char *names[1] = {"x"};
    const double *columns[1] = {at};
    nb_table *fresh = nb_table_from_columns(1, names, 2, columns);
    nb_fit_prediction p;
    assert_int_equal(nb_fit_model_predict(&model, fresh, 0.95, &p), NB_OK);
    double a = r.params[0], k = r.params[1];
    for (int i = 0; i < 2; i++) {
        double e = exp(-k * at[i]), g[2] = {e, -a * at[i] * e}, var = 0;
        for (int j = 0; j < 2; j++)
            for (int l = 0; l < 2; l++)
                var += g[j] * r.covariance[j * 3 + l] * g[l];
        assert_true(var > 0);
        assert_close(p.se_fit[i], sqrt(var), 1e-12 * (1 + sqrt(var)));
        assert_true(p.conf_low[i] < p.fitted[i] && p.fitted[i] < p.conf_high[i]);
    }
    nb_fit_prediction_clear(&p);
    nb_table_free(fresh);
    nb_fit_model_clear(&model);
    nb_lsq_result_clear(&r);
    nb_table_free(t);
}

/* A weighted fit's new observation has the variance s² sigma²: sigma comes from the new
 * data's column of the same name, and without it there is no prediction interval. */
static void test_weighted_prediction(void **state)
{
    (void)state;
    nb_table *t = decay_table(2.5, 0.8, M, 0);
    double sig[M];
    for (int i = 0; i < M; i++)
        sig[i] = 0.01 * (1 + i % 3);
    const char *names[3] = {"x", "y", "s"};
    const double *columns[3] = {t->columns[0], t->columns[1], sig};
    nb_table *weighted = nb_table_from_columns(3, names, M, columns);
    nb_fit_setup setup = {.sigma = "s"};
    nb_lsq_result r;
    assert_int_equal(nb_fit_formula("y = a*exp(-k*x)", weighted, &setup, NULL, &r), NB_OK);
    double log_w = 0; /* 1/2 sum log w_i with w_i = 1/sigma_i² */
    for (int i = 0; i < M; i++)
        log_w -= log(sig[i]);
    assert_close(r.log_likelihood, -M / 2.0 * (log(2 * M_PI) + 1 + log(r.sse / M)) + log_w, 1e-9);
    nb_fit_model model;
    assert_int_equal(nb_fit_model_init(&model, "y = a*exp(-k*x)", weighted, &setup, NULL, &r), NB_OK);
    assert_string_equal(model.sigma, "s");
    double at[1] = {1}, new_sigma[1] = {0.05};
    const double *with[2] = {at, new_sigma};
    nb_table *fresh = nb_table_from_columns(2, (const char *[]){"x", "s"}, 1, with);
    nb_table *bare = nb_table_from_columns(1, (const char *[]){"x"}, 1, with);
    nb_fit_prediction p;
    assert_int_equal(nb_fit_model_predict(&model, fresh, 0.95, &p), NB_OK);
    double t95 = nb_student_t_quantile(0.975, M - 2), s2 = r.sse / (M - 2);
    assert_close(p.pred_high[0] - p.fitted[0], t95 * sqrt(p.se_fit[0] * p.se_fit[0] + s2 * 0.05 * 0.05), 1e-10);
    nb_fit_prediction_clear(&p);
    assert_int_equal(nb_fit_model_predict(&model, bare, 0.95, &p), NB_OK);
    assert_true(isnan(p.pred_high[0]));
    assert_true(isfinite(p.conf_high[0]));
    nb_fit_prediction_clear(&p);
    nb_table_free(fresh);
    nb_table_free(bare);
    nb_fit_model_clear(&model);
    nb_lsq_result_clear(&r);
    nb_table_free(weighted);
    nb_table_free(t);
}

static void write_text(const char *path, const char *text)
{
    FILE *file = fopen(path, "w");
    assert_non_null(file);
    fputs(text, file);
    fclose(file);
}

static void test_bad_model_files(void **state)
{
    (void)state;
    nb_fit_model m;
    char path[128];
    snprintf(path, sizeof path, "%s/none.json", dir);
    assert_int_equal(nb_fit_model_load(&m, path), NB_EIO);
    assert_non_null(strstr(nb_errmsg(), path));
    assert_non_null(strstr(nb_errmsg(), "--save"));

    snprintf(path, sizeof path, "%s/corrupt.json", dir);
    write_text(path, "{\"format\": \"nabla-fit\", \"version\": 1, \"formula\": ");
    assert_int_equal(nb_fit_model_load(&m, path), NB_EFORMAT);
    assert_non_null(strstr(nb_errmsg(), "not JSON"));
    assert_non_null(strstr(nb_errmsg(), path));

    snprintf(path, sizeof path, "%s/version.json", dir);
    write_text(path, "{\"format\": \"nabla-fit\", \"version\": 7}");
    assert_int_equal(nb_fit_model_load(&m, path), NB_EFORMAT);
    assert_non_null(strstr(nb_errmsg(), "version 7"));

    snprintf(path, sizeof path, "%s/params.json", dir);
    write_text(path, "{\"format\":\"nabla-fit\",\"version\":1,\"formula\":\"y = a*x\",\"columns\":[\"x\",\"y\"],"
                     "\"response\":\"y\",\"params\":[\"a\"],\"estimates\":[1,2],\"covariance\":[[1]],"
                     "\"residual_variance\":1,\"dof\":3,\"n_points\":4,\"confidence\":0.95}");
    assert_int_equal(nb_fit_model_load(&m, path), NB_EFORMAT);
    assert_non_null(strstr(nb_errmsg(), "estimates"));

    /* counts out of range: refused, not converted (1e300 to an integer is undefined) */
    const char *counts[] = {"\"dof\":1e300,\"n_points\":4", "\"dof\":-5,\"n_points\":4", "\"dof\":3,\"n_points\":2",
                            "\"dof\":1.5,\"n_points\":4", "\"dof\":3,\"n_points\":-1e300"};
    for (int c = 0; c < 5; c++) {
        char text[512];
        snprintf(text, sizeof text, "{\"format\":\"nabla-fit\",\"version\":1,\"formula\":\"y = a*x\",\"columns\":"
                 "[\"x\",\"y\"],\"response\":\"y\",\"params\":[\"a\"],\"estimates\":[1],\"covariance\":[[1]],"
                 "\"residual_variance\":1,%s,\"confidence\":0.95}", counts[c]);
        write_text(path, text);
        assert_int_equal(nb_fit_model_load(&m, path), NB_EFORMAT);
        assert_non_null(strstr(nb_errmsg(), "0 <= dof <= n_points"));
    }
    write_text(path, "{\"format\":\"nabla-fit\",\"version\":1,\"formula\":\"y = a*x\",\"columns\":[\"x\",\"y\"],"
                     "\"response\":\"y\",\"params\":[\"a\"],\"estimates\":[1],\"covariance\":[[1]],"
                     "\"residual_variance\":1,\"dof\":3,\"n_points\":4,\"confidence\":0.95}");
    assert_int_equal(nb_fit_model_load(&m, path), NB_OK);
    nb_fit_model_clear(&m);
}

/* Four groups in interleaved rows: two good decays, one of a single point, one whose
 * model is not finite at the start. */
static nb_table *grouped_table(void)
{
    enum { ROWS = 2 * M + 1 + 3 };
    static double g[ROWS], x[ROWS], y[ROWS];
    int n = 0;
    for (int i = 0; i < M; i++)
        for (int c = 0; c < 2; c++, n++) {
            g[n] = c == 0 ? 5 : -1.5, x[n] = 0.3 * i;
            y[n] = (c ? 4 : 2) * exp(-(c ? 0.3 : 1.1) * x[n]) + 0.01 * sin(3.0 * n);
        }
    g[n] = 700, x[n] = 1, y[n++] = 2;
    for (int i = 0; i < 3; i++, n++)
        g[n] = 8, x[n] = -1e6 * (i + 1), y[n] = 1;
    const char *names[3] = {"g", "x", "y"};
    const double *columns[3] = {g, x, y};
    return nb_table_from_columns(3, names, n, columns);
}

static void test_batch_by(void **state)
{
    (void)state;
    nb_table *t = grouped_table();
    nb_fit_batch b;
    assert_int_equal(nb_fit_batch_by("y = a*exp(-k*x)", t, "g", NULL, NULL, &b), NB_OK);
    assert_int_equal(b.n_groups, 4);
    assert_int_equal(b.n_failed, 2);
    assert_string_equal(b.names[0], "a");
    /* groups in order of first appearance, named by their value */
    assert_string_equal(b.groups[0].name, "5");
    assert_string_equal(b.groups[1].name, "-1.5");
    assert_string_equal(b.groups[2].name, "700"); /* not 7e+02 */
    assert_string_equal(b.groups[3].name, "8");
    assert_int_equal(b.groups[0].status, NB_OK);
    assert_true(b.groups[0].result.converged);
    assert_int_equal(b.groups[0].n_rows, M);
    assert_close(b.groups[0].result.params[1], 1.1, 0.02);
    assert_close(b.groups[1].result.params[0], 4, 0.02);
    assert_int_equal(b.groups[2].status, NB_EARG);
    assert_non_null(strstr(b.groups[2].error, "fewer points than parameters"));
    assert_int_equal(b.groups[3].status, NB_ENUMERIC);
    assert_non_null(strstr(b.groups[3].error, "not finite"));

    /* the same numbers as one fit of that group alone, on one thread or two */
    nb_table *alone = decay_table(0, 0, M, 0);
    for (int i = 0; i < M; i++)
        alone->columns[0][i] = t->columns[1][2 * i], alone->columns[1][i] = t->columns[2][2 * i];
    nb_lsq_result r;
    assert_int_equal(nb_fit_formula("y = a*exp(-k*x)", alone, NULL, NULL, &r), NB_OK);
    for (int j = 0; j < 2; j++)
        assert_close(b.groups[0].result.params[j], r.params[j], 1e-9 * fabs(r.params[j]));
    int threads = nb_get_threads();
    nb_set_threads(threads == 1 ? 2 : 1);
    nb_fit_batch again;
    assert_int_equal(nb_fit_batch_by("y = a*exp(-k*x)", t, "g", NULL, NULL, &again), NB_OK);
    nb_set_threads(threads);
    for (int k = 0; k < 2; k++)
        for (int j = 0; j < 2; j++)
            assert_true(again.groups[k].result.params[j] == b.groups[k].result.params[j]);
    nb_fit_batch_clear(&again);
    nb_lsq_result_clear(&r);
    nb_table_free(alone);
    nb_fit_batch_clear(&b);

    /* errors that stop the whole batch */
    assert_int_equal(nb_fit_batch_by("y = a*exp(-k*x)", t, "group", NULL, NULL, &b), NB_EARG);
    assert_non_null(strstr(nb_errmsg(), "group column"));
    assert_int_equal(nb_fit_batch_by("y = a*exp(-k*g)", t, "g", NULL, NULL, &b), NB_EARG);
    assert_non_null(strstr(nb_errmsg(), "reads the group column"));
    assert_int_equal(nb_fit_batch_by("y = a*exp(-k*x", t, "g", NULL, NULL, &b), NB_EPARSE);
    nb_table_free(t);
}

/* Groups whose rows follow each other are fitted in place (no copy), with the same
 * numbers as the same rows interleaved. */
static void test_batch_by_contiguous(void **state)
{
    (void)state;
    nb_table *mixed = grouped_table();
    int64_t n = mixed->n_rows, to = 0;
    double *columns[3];
    for (int c = 0; c < 3; c++)
        columns[c] = malloc((size_t)n * sizeof(double));
    const double order[4] = {5, -1.5, 700, 8};
    for (int k = 0; k < 4; k++)
        for (int64_t i = 0; i < n; i++) {
            if (mixed->columns[0][i] != order[k])
                continue;
            for (int c = 0; c < 3; c++)
                columns[c][to] = mixed->columns[c][i];
            to++;
        }
    assert_int_equal(to, n);
    const char *names[3] = {"g", "x", "y"};
    nb_table *sorted = nb_table_from_columns(3, names, n, (const double *const *)columns);
    nb_fit_batch a, b;
    assert_int_equal(nb_fit_batch_by("y = a*exp(-k*x)", mixed, "g", NULL, NULL, &a), NB_OK);
    assert_int_equal(nb_fit_batch_by("y = a*exp(-k*x)", sorted, "g", NULL, NULL, &b), NB_OK);
    assert_int_equal(b.n_groups, 4);
    for (int k = 0; k < 4; k++) {
        assert_string_equal(a.groups[k].name, b.groups[k].name);
        assert_int_equal(a.groups[k].n_rows, b.groups[k].n_rows);
        assert_int_equal(a.groups[k].status, b.groups[k].status);
        for (int j = 0; k < 2 && j < 2; j++)
            assert_true(a.groups[k].result.params[j] == b.groups[k].result.params[j]);
    }
    assert_non_null(strstr(b.groups[3].error, "not finite"));
    nb_fit_batch_clear(&a);
    nb_fit_batch_clear(&b);
    for (int c = 0; c < 3; c++)
        free(columns[c]);
    nb_table_free(sorted);
    nb_table_free(mixed);
}

/* A group column of names (wells A1, B2: read as a class column) names the groups by
 * them, in order of their first rows, not by the numbers that stand for them. */
static void test_batch_by_names(void **state)
{
    (void)state;
    char path[128], text[2048];
    snprintf(path, sizeof path, "%s/wells.csv", dir);
    size_t used = (size_t)snprintf(text, sizeof text, "well,x,y\n");
    for (int i = 0; i < 8; i++)
        for (int w = 0; w < 2; w++)
            used += (size_t)snprintf(text + used, sizeof text - used, "%s,%g,%.9f\n", w ? "A1" : "B2", 0.25 * i,
                                     (w ? 2 : 3) * exp(-(w ? 1.0 : 0.5) * 0.25 * i));
    write_text(path, text);
    nb_table *t = nb_table_read(path, &(nb_csv_options){.class_column = "well"});
    assert_non_null(t);
    nb_fit_batch b;
    assert_int_equal(nb_fit_batch_by("y = a*exp(-k*x)", t, "well", NULL, NULL, &b), NB_OK);
    assert_int_equal(b.n_groups, 2);
    assert_string_equal(b.groups[0].name, "B2");
    assert_string_equal(b.groups[1].name, "A1");
    assert_close(b.groups[0].result.params[1], 0.5, 1e-6);
    assert_close(b.groups[1].result.params[0], 2, 1e-6);
    nb_fit_batch_clear(&b);
    nb_table_free(t);
}

static void test_batch_tables(void **state)
{
    (void)state;
    nb_table *a = decay_table(2, 0.5, M, 0);
    nb_table *empty = nb_table_from_columns(2, (const char *[]){"x", "y"}, 0, (const double *[]){xs, ys});
    const nb_table *tables[3] = {a, NULL, empty};
    const char *names[3] = {"a.csv", "gone.csv", "empty.csv"};
    const char *errors[3] = {NULL, "cannot open 'gone.csv'", NULL};
    nb_fit_batch b;
    assert_int_equal(nb_fit_batch_tables("y = a*exp(-k*x)", 3, tables, names, errors, NULL, NULL, &b), NB_OK);
    assert_int_equal(b.n_groups, 3);
    assert_int_equal(b.n_failed, 2);
    assert_string_equal(b.groups[0].name, "a.csv");
    assert_true(b.groups[0].result.converged);
    assert_close(b.groups[0].result.params[1], 0.5, 0.02);
    assert_string_equal(b.groups[1].error, "cannot open 'gone.csv'");
    if (empty) {
        assert_non_null(strstr(b.groups[2].error, "empty"));
    }
    nb_fit_batch_clear(&b);
    nb_table_free(a);
    nb_table_free(empty);
}

/* A group of a batch gets the numbers of the same fit alone, bit for bit: estimates,
 * errors, fitted values and residuals, and the counts of evaluations and Jacobians
 * (the batch's graph subtracts the response outside itself, and its solver reuses what
 * the graph holds), weighted or not, for a model that is an operation or a parameter. */
static void expect_same_fit(const nb_lsq_result *a, const nb_lsq_result *b)
{
    assert_int_equal(a->n_params, b->n_params);
    assert_int_equal(a->iterations, b->iterations);
    assert_int_equal(a->n_evals, b->n_evals);
    assert_int_equal(a->n_jacobians, b->n_jacobians);
    assert_memory_equal(&a->sse, &b->sse, sizeof a->sse);
    assert_memory_equal(a->params, b->params, (size_t)a->n_params * sizeof *a->params);
    assert_memory_equal(a->std_error, b->std_error, (size_t)a->n_params * sizeof *a->std_error);
    assert_memory_equal(a->fitted, b->fitted, (size_t)a->n_points * sizeof *a->fitted);
    assert_memory_equal(a->residuals, b->residuals, (size_t)a->n_points * sizeof *a->residuals);
}

static void test_batch_same_as_alone(void **state)
{
    (void)state;
    enum { ROWS = 2 * M };
    double g[ROWS], x[ROWS], y[ROWS], s[ROWS];
    for (int n = 0; n < ROWS; n++) {
        g[n] = n / M, x[n] = 0.3 * (n % M), s[n] = 0.01 + 0.001 * (n % 5);
        y[n] = (g[n] ? 4 : 2) * exp(-(g[n] ? 0.3 : 1.1) * x[n]) + 0.01 * sin(3.0 * n);
    }
    const char *names[4] = {"g", "x", "y", "s"};
    nb_table *t = nb_table_from_columns(4, names, ROWS, (const double *[]){g, x, y, s});
    const char *formulas[3] = {"y = a*exp(-k*x)", "y = a*exp(-k*x)", "y = a"};
    for (int f = 0; f < 3; f++) {
        nb_fit_setup setup = {.sigma = f == 1 ? "s" : NULL};
        nb_fit_batch b;
        assert_int_equal(nb_fit_batch_by(formulas[f], t, "g", &setup, NULL, &b), NB_OK);
        assert_int_equal(b.n_groups, 2);
        for (int k = 0; k < 2; k++) {
            nb_table *alone = nb_table_from_columns(4, names, M, (const double *[]){g + k * M, x + k * M,
                                                                                    y + k * M, s + k * M});
            nb_lsq_result r;
            assert_int_equal(nb_fit_formula(formulas[f], alone, &setup, NULL, &r), NB_OK);
            assert_int_equal(b.groups[k].status, NB_OK);
            expect_same_fit(&b.groups[k].result, &r);
            nb_lsq_result_clear(&r);
            nb_table_free(alone);
        }
        nb_fit_batch_clear(&b);
    }
    nb_table_free(t);
}

/* Shares of a batch (one per process of an MPI job): together the whole batch, each
 * group in its share with its numbers, names and counts bit for bit. */
static void test_batch_shares(void **state)
{
    (void)state;
    nb_table *t = grouped_table();
    nb_fit_batch whole, share;
    assert_int_equal(nb_fit_batch_by("y = a*exp(-k*x)", t, "g", NULL, NULL, &whole), NB_OK);
    for (int parts = 1; parts <= 5; parts++) {
        int n_groups = 0, n_failed = 0;
        for (int part = 0; part < parts; part++) {
            assert_int_equal(nb_fit_batch_by_share("y = a*exp(-k*x)", t, "g", NULL, NULL, part, parts, &share), NB_OK);
            assert_int_equal(share.n_params, whole.n_params);
            for (int i = 0; i < share.n_groups; i++) {
                const nb_fit_group *g = &share.groups[i], *w = &whole.groups[part + i * parts];
                assert_string_equal(g->name, w->name);
                assert_int_equal(g->status, w->status);
                assert_int_equal(g->n_rows, w->n_rows);
                for (int j = 0; g->status == NB_OK && j < share.n_params; j++)
                    assert_memory_equal(&g->result.params[j], &w->result.params[j], sizeof(double));
            }
            n_groups += share.n_groups, n_failed += share.n_failed;
            nb_fit_batch_clear(&share);
        }
        assert_int_equal(n_groups, whole.n_groups);
        assert_int_equal(n_failed, whole.n_failed);
    }
    assert_int_equal(nb_fit_batch_by_share("y = a*exp(-k*x)", t, "g", NULL, NULL, 2, 2, &share), NB_EARG);
    assert_non_null(strstr(nb_errmsg(), "part 2 of 2"));
    nb_fit_batch_clear(&whole);
    nb_table_free(t);

    /* tables: a share holds its own and, for the header, the first table read */
    nb_table *a = decay_table(2, 0.5, M, 0), *b = decay_table(3, 0.7, M, 0);
    const nb_table *tables[4] = {NULL, a, NULL, b};
    const char *names[4] = {"gone.csv", "a.csv", "other.csv", "b.csv"};
    const char *errors[4] = {"cannot open 'gone.csv'", NULL, NULL, NULL};
    assert_int_equal(nb_fit_batch_tables_share("y = a*exp(-k*x)", 4, tables, names, errors, NULL, NULL, 1, 2, &share),
                     NB_OK);
    assert_int_equal(share.n_groups, 2);
    assert_string_equal(share.groups[0].name, "a.csv");
    assert_string_equal(share.groups[1].name, "b.csv");
    assert_close(share.groups[1].result.params[1], 0.7, 0.02);
    assert_int_equal(share.n_failed, 0);
    nb_fit_batch_clear(&share);
    nb_table_free(a);
    nb_table_free(b);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_information), cmocka_unit_test(test_model_round_trip_and_predict),
        cmocka_unit_test(test_predict_with_a_fixed_parameter),
        cmocka_unit_test(test_weighted_prediction), cmocka_unit_test(test_bad_model_files),
        cmocka_unit_test(test_batch_by), cmocka_unit_test(test_batch_by_contiguous),
        cmocka_unit_test(test_batch_tables), cmocka_unit_test(test_batch_shares),
        cmocka_unit_test(test_batch_same_as_alone), cmocka_unit_test(test_batch_by_names),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
