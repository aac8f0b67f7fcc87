/* Certification on NIST's StRD regression problems (tests/data/nist/): every problem,
 * from both of NIST's starts, with the model text and the data read from the file
 * itself, fitted through nb_fit_formula with the defaults of `nabla fit`. Prints the
 * lowest log relative error (LRE) of each fit over its parameters, and asserts the
 * targets: every nonlinear fit >= 6 and their median >= 9; every linear fit >= 7. */
#include "nb_test.h"

#include "nist.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define NIST_DIR NB_SOURCE_DIR "/tests/data/nist"

typedef struct fit_score {
    double params;  /* lowest LRE over the parameters */
    double std_err; /* ... over their standard errors */
    double rss;
} fit_score;

static bool fit_problem(const nist_problem *p, int start, fit_score *score)
{
    const char *names[NIST_MAX_PARAMS];
    for (int j = 0; j < p->n_params; j++)
        names[j] = p->param_names[j];
    nb_fit_setup setup = {0};
    if (!p->linear) {
        setup.n_init = p->n_params;
        setup.init_names = names;
        setup.init_values = p->start[start];
    }
    nb_lsq_result r;
    if (nb_fit_formula(p->formula, p->data, &setup, NULL, &r) != NB_OK) {
        printf("%-10s start %d: %s\n", p->name, start + 1, nb_errmsg());
        return false;
    }
    double digits = p->linear ? 15 : 11;
    score->params = score->std_err = digits;
    for (int j = 0; j < p->n_params; j++) {
        /* the result's parameters are in natural order of their names, as NIST's are */
        int k = -1;
        for (int i = 0; i < r.n_params; i++)
            if (strcmp(r.names[i], p->param_names[j]) == 0)
                k = i;
        if (k < 0) {
            printf("%-10s: no parameter %s in the result\n", p->name, p->param_names[j]);
            nb_lsq_result_clear(&r);
            return false;
        }
        score->params = fmin(score->params, nist_lre(r.params[k], p->certified[j], digits));
        score->std_err = fmin(score->std_err, nist_lre(r.std_error[k], p->certified_sd[j], digits));
    }
    score->rss = nist_lre(r.sse, p->certified_rss, digits);
    printf("%-10s %-6s start %s  LRE %5.1f   std errors %5.1f   RSS %5.1f   %4d iterations  %s\n", p->name,
           p->linear ? "linear" : "", p->linear ? "-" : start ? "2" : "1", score->params, score->std_err, score->rss,
           r.iterations, r.converged ? "" : "NOT CONVERGED");
    nb_lsq_result_clear(&r);
    return true;
}

static int compare_doubles(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

static void run_suite(const char *folder, bool linear, double *lres, int *n_fits, int expected_files)
{
    char names[64][64];
    char dir[512];
    snprintf(dir, sizeof dir, "%s/%s", NIST_DIR, folder);
    int n = nist_list(dir, names, 64);
    if (n != expected_files)
        fail_msg("%s: found %d problems, expected %d", dir, n, expected_files);
    *n_fits = 0;
    for (int k = 0; k < n; k++) {
        char path[700], error[600];
        snprintf(path, sizeof path, "%.511s/%.63s", dir, names[k]);
        nist_problem p;
        if (!nist_load(path, &p, error, sizeof error))
            fail_msg("%s", error);
        assert_int_equal(p.linear, linear);
        for (int start = 0; start < (linear ? 1 : 2); start++) {
            fit_score score;
            if (!fit_problem(&p, start, &score))
                score.params = 0;
            lres[(*n_fits)++] = score.params;
        }
        nist_free(&p);
    }
}

static void test_nonlinear(void **state)
{
    (void)state;
    double lres[64];
    int n;
    printf("NIST StRD nonlinear least squares: lowest LRE over the parameters (11 digits certified)\n");
    run_suite("nonlinear", false, lres, &n, 27);
    assert_int_equal(n, 54);
    int below = 0;
    double worst = 99;
    for (int k = 0; k < n; k++) {
        below += lres[k] < 6;
        worst = fmin(worst, lres[k]);
    }
    qsort(lres, (size_t)n, sizeof *lres, compare_doubles);
    double median = 0.5 * (lres[n / 2 - 1] + lres[n / 2]);
    printf("nonlinear: %d fits, lowest LRE %.1f, median %.1f, %d below 6\n", n, worst, median, below);
    assert_int_equal(below, 0);
    assert_true(median >= 9);
}

static void test_linear(void **state)
{
    (void)state;
    double lres[64];
    int n;
    printf("NIST StRD linear least squares: lowest LRE over the parameters (15 digits certified)\n");
    run_suite("linear", true, lres, &n, 11);
    double worst = 99;
    for (int k = 0; k < n; k++)
        worst = fmin(worst, lres[k]);
    printf("linear: %d fits, lowest LRE %.1f\n", n, worst);
    assert_true(worst >= 7);
}

/* The model text as the files write it: "+ e" dropped, "..." written out, arctan kept. */
static void test_model_text(void **state)
{
    (void)state;
    char error[600];
    nist_problem p;
    assert_true(nist_load(NIST_DIR "/linear/Filip.dat", &p, error, sizeof error));
    assert_string_equal(p.formula, "y = B0 + B1*x + B2*(x**2) + B3*(x**3) + B4*(x**4) + B5*(x**5) + B6*(x**6) + "
                                   "B7*(x**7) + B8*(x**8) + B9*(x**9) + B10*(x**10)");
    assert_int_equal(p.n_params, 11);
    assert_int_equal(p.data->n_rows, 82);
    nist_free(&p);
    assert_true(nist_load(NIST_DIR "/nonlinear/Roszman1.dat", &p, error, sizeof error));
    assert_string_equal(p.formula, "y =  b1 - b2*x - arctan[b3/(x-b4)]/pi");
    nist_free(&p);
    assert_true(nist_load(NIST_DIR "/nonlinear/Nelson.dat", &p, error, sizeof error));
    assert_string_equal(p.formula, "log[y] = b1 - b2*x1 * exp[-b3*x2]");
    assert_int_equal(p.data->n_columns, 3);
    assert_string_equal(p.data->names[2], "x2");
    nist_free(&p);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_model_text),
        cmocka_unit_test(test_nonlinear),
        cmocka_unit_test(test_linear),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
