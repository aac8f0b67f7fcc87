/* The formula language: parse the input with a few column names; when it parses, build
 * both sides into a graph and evaluate them at a few points. */
#include "fuzz_common.h"

#include "nabla/fit.h"

#include <stdlib.h>
#include <string.h>

#define N_COLUMNS 5
#define N_POINTS 3

static const char *const names[N_COLUMNS] = {"x", "y", "x1", "x2", "e"};
static const double values[N_COLUMNS][N_POINTS] = {
    {0.5, -1.0, 2.0}, {1.0, 0.0, 3.5}, {1e-3, 7.0, -2.0}, {4.0, 1e3, 0.25}, {2.0, 2.0, 2.0}};

static void build(const nb_expr *expr)
{
    nb_graph *graph = nb_graph_new(NB_F64);
    if (!graph)
        return;
    int n_params = nb_expr_n_params(expr);
    nb_node **nodes = calloc((size_t)(N_COLUMNS + n_params), sizeof *nodes);
    if (!nodes) {
        nb_graph_free(graph);
        return;
    }
    int64_t shape[1] = {N_POINTS};
    for (int k = 0; k < N_COLUMNS; k++) {
        nodes[k] = nb_input(graph, names[k], 1, shape);
        if (nodes[k])
            nb_input_set_doubles(nodes[k], values[k], N_POINTS);
    }
    for (int j = 0; j < n_params; j++)
        nodes[N_COLUMNS + j] = nb_param(graph, nb_expr_param_name(expr, j), 0, NULL);
    nb_expr_build(expr, graph, nodes, nodes + N_COLUMNS);
    nb_expr_build_fixed(expr, graph, nodes, nodes + N_COLUMNS);
    if (nb_expr_has_response(expr))
        nb_expr_build_response(expr, graph, nodes);
    free(nodes);
    nb_graph_free(graph);
}

static void eval(const nb_expr *expr)
{
    int n_params = nb_expr_n_params(expr);
    double *params = malloc((size_t)(n_params + 1) * sizeof *params);
    if (!params)
        return;
    for (int j = 0; j < n_params; j++)
        params[j] = 1.0 + 0.5 * j;
    const double *columns[N_COLUMNS];
    for (int k = 0; k < N_COLUMNS; k++)
        columns[k] = values[k];
    double out[N_POINTS];
    nb_expr_eval(expr, false, N_POINTS, columns, params, out);
    if (nb_expr_has_response(expr))
        nb_expr_eval(expr, true, N_POINTS, columns, params, out);
    free(params);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    fuzz_begin(size);
    char *formula = malloc(size + 1);
    if (!formula)
        return 0;
    memcpy(formula, data, size);
    formula[size] = '\0';
    nb_expr *expr = nb_expr_parse(formula, N_COLUMNS, names);
    free(formula);
    if (!expr)
        return 0;
    nb_expr_is_linear(expr);
    for (int k = 0; k < N_COLUMNS; k++)
        nb_expr_uses_column(expr, k, k % 2 == 0);
    build(expr);
    eval(expr);
    nb_expr_free(expr);
    return 0;
}
