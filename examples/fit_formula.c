/* Fitting a formula from C: the API behind `nabla fit`.
 *
 * 1. A formula string and a table in, a result out (NIST's Misra1a problem).
 * 2. The same model as a graph you build yourself, fitted with nb_lsq_fit_graph: each
 *    parameter is an input holding one value per data point, so that one backward
 *    pass gives the whole Jacobian.
 * 3. Tutorial 1's quadratic (docs/tutorials.md) fitted the tutorials' way (the
 *    toolkit's optimizers on the mean squared residual of mini-batches) and by the
 *    solver, through the same call. */
#include <math.h>
#include <stdio.h>

#include "nabla.h"

/* Misra1a (NIST StRD): dental research, y = b1 * (1 - exp(-b2 x)). */
static const double x[14] = {77.6, 114.9, 141.1, 190.8, 239.9, 289.0, 332.8,
                             378.4, 434.8, 477.3, 536.8, 593.1, 689.1, 760.0};
static const double y[14] = {10.07, 14.73, 17.94, 23.93, 29.61, 35.18, 40.02,
                             44.82, 50.76, 55.05, 61.01, 66.40, 75.47, 81.78};

static void print_result(const nb_lsq_result *r)
{
    for (int j = 0; j < r->n_params; j++)
        printf("  %-3s = %.10g  +/- %.4g   95%% CI [%.6g, %.6g]\n", r->names[j], r->params[j], r->std_error[j],
               r->ci_low[j], r->ci_high[j]);
    printf("  SSE %.10g, %lld degrees of freedom, %d iterations (%d evaluations, %d Jacobians): %s\n", r->sse,
           (long long)r->dof, r->iterations, r->n_evals, r->n_jacobians, nb_lsq_stop_text(r->stop));
}

static int fit_a_formula(void)
{
    const char *names[2] = {"x", "y"};
    const double *columns[2] = {x, y};
    nb_table *data = nb_table_from_columns(2, names, 14, columns);
    if (!data)
        return 1;
    const char *init_names[2] = {"b1", "b2"};
    double init_values[2] = {500, 1e-4};
    nb_fit_setup setup = {.n_init = 2, .init_names = init_names, .init_values = init_values};
    nb_lsq_result result;
    nb_status status = nb_fit_formula("y = b1*(1 - exp(-b2*x))", data, &setup, NULL, &result);
    nb_table_free(data);
    if (status != NB_OK) {
        fprintf(stderr, "fit failed: %s\n", nb_errmsg());
        return 1;
    }
    printf("formula: y = b1*(1 - exp(-b2*x))\n");
    print_result(&result);
    nb_lsq_result_clear(&result);
    return 0;
}

static int fit_a_graph(void)
{
    int64_t n[1] = {14};
    nb_graph *graph = nb_graph_new(NB_F64);
    nb_node *xs = nb_const(graph, 1, n, x), *ys = nb_const(graph, 1, n, y);
    nb_node *b1 = nb_input(graph, "b1", 1, n), *b2 = nb_input(graph, "b2", 1, n);
    nb_set_requires_grad(b1, true);
    nb_set_requires_grad(b2, true);
    /* residual = b1 * (1 - exp(-b2 x)) - y */
    nb_node *model = nb_mul(b1, nb_shift(nb_neg(nb_exp(nb_neg(nb_mul(b2, xs)))), 1));
    nb_node *residual = nb_sub(model, ys);
    if (!residual) {
        fprintf(stderr, "building the graph failed: %s\n", nb_errmsg());
        nb_graph_free(graph);
        return 1;
    }
    nb_node *params[2] = {b1, b2};
    double start[2] = {250, 5e-4};
    nb_lsq_result result;
    if (nb_lsq_fit_graph(residual, 2, params, start, NULL, NULL, &result) != NB_OK) {
        fprintf(stderr, "fit failed: %s\n", nb_errmsg());
        nb_graph_free(graph);
        return 1;
    }
    printf("a graph built by hand, from NIST's second start:\n");
    print_result(&result);
    nb_lsq_result_clear(&result);
    nb_graph_free(graph);
    return 0;
}

static int compare_methods(void)
{
    double xs[100], ys[100];
    for (int i = 0; i < 100; i++) {
        xs[i] = i / 100.0;
        ys[i] = 2 * xs[i] * xs[i] + 3 * xs[i] + 4;
    }
    const char *names[2] = {"x", "y"};
    const double *columns[2] = {xs, ys};
    nb_table *data = nb_table_from_columns(2, names, 100, columns);
    if (!data)
        return 1;
    const char *init_names[3] = {"w1", "w2", "w3"};
    double init_values[3] = {1, 2, 3};
    nb_fit_setup setup = {.n_init = 3, .init_names = init_names, .init_values = init_values};
    struct {
        nb_lsq_method method;
        nb_optim_kind optim;
        double lr;
        int epochs;
        int64_t batch;
    } runs[] = {{NB_LSQ_GRADIENT, NB_SGD, 0.1, 500, 1},
                {NB_LSQ_GRADIENT, NB_ADAM, 0, 0, 0},
                {NB_LSQ_GRADIENT, NB_LBFGS, 0, 0, 0},
                {NB_LSQ_LM, NB_SGD, 0, 0, 0}};
    printf("y = w1*x^2 + w2*x + w3 from (1, 2, 3), tutorial 1 (docs/tutorials.md):\n");
    for (size_t k = 0; k < sizeof runs / sizeof runs[0]; k++) {
        nb_lsq_options options = nb_lsq_defaults();
        options.method = runs[k].method, options.optim = runs[k].optim;
        options.lr = runs[k].lr, options.epochs = runs[k].epochs, options.batch = runs[k].batch;
        nb_lsq_result r;
        if (nb_fit_formula("y = w1*x^2 + w2*x + w3", data, &setup, &options, &r) != NB_OK) {
            fprintf(stderr, "fit failed: %s\n", nb_errmsg());
            nb_table_free(data);
            return 1;
        }
        printf("  %-6s (%.12g, %.12g, %.12g)  SSE %.3g after %d updates, %d evaluations\n",
               r.method == NB_LSQ_GRADIENT ? nb_optim_name(r.optim) : nb_lsq_method_name(r.method), r.params[0], r.params[1], r.params[2], r.sse, r.iterations, r.n_evals);
        nb_lsq_result_clear(&r);
    }
    nb_table_free(data);
    return 0;
}

int main(void)
{
    printf("NIST certifies b1 = 2.3894212918E+02 (2.7070075241E+00), b2 = 5.5015643181E-04 (7.2668688436E-06)\n\n");
    if (fit_a_formula() != 0)
        return 1;
    printf("\n");
    if (fit_a_graph() != 0)
        return 1;
    printf("\n");
    return compare_methods();
}
