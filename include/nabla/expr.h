/* nabla expr: the formula language of `nabla fit`, compiled to a graph.
 *
 *   y = b1*(1-exp(-b2*x))          log(y) = b1 - b2*x1*exp(-b3*x2)          a*x^2 + c
 *
 * Numbers (2, .5, 1e-5, 10.07E0), + - * /, powers written ^ or ** (right-associative,
 * binding tighter than unary minus: -x^2 is -(x^2), 2^-1 is 0.5), parentheses ( ) or
 * NIST's square brackets [ ], the functions exp log log10 sqrt abs sin cos tan asin acos
 * atan (alias arctan) atan2 sinh cosh tanh pow min max, and the constants pi and e.
 *
 * Identifiers that name data columns are inputs; `$3` is the third column whatever its
 * name; a column named like a constant (e, pi) shadows it. Every other identifier is a
 * parameter. An optional left side, made of columns and constants only, names the
 * response: `log(y) = ...`.
 *
 * A formula is parsed once (nb_expr_parse) and built into a graph once (nb_expr_build);
 * the graph is then run as often as needed. Parse errors come back as NB_EPARSE with a
 * message that shows the formula and a caret under the offending column. */
#ifndef NABLA_EXPR_H
#define NABLA_EXPR_H

#include "nabla/graph.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct nb_expr nb_expr;

/* Parse `formula`; identifiers equal to one of the n_columns `column_names` (NULL entries
 * are skipped) are data columns. Parameters are numbered in natural order of their names
 * (b1 < b2 < b10). NULL on failure, with the message in nb_errmsg(). */
nb_expr *nb_expr_parse(const char *formula, int n_columns, const char *const *column_names);
void nb_expr_free(nb_expr *expr);

/* The formula as given. */
const char *nb_expr_text(const nb_expr *expr);
int nb_expr_n_params(const nb_expr *expr);
const char *nb_expr_param_name(const nb_expr *expr, int index);
/* The index of a parameter, or -1 when `name` is not one. */
int nb_expr_param_index(const nb_expr *expr, const char *name);
/* Whether the right side (or, with left_side, the left side) reads column `column`. */
bool nb_expr_uses_column(const nb_expr *expr, int column, bool left_side);
/* Whether the formula has a left side (`... = ...`). */
bool nb_expr_has_response(const nb_expr *expr);
/* Whether the right side is affine in its parameters (a sum of parameter times a
 * function of the data, plus a function of the data): then least squares is a linear
 * problem. */
bool nb_expr_is_linear(const nb_expr *expr);

/* Build the right side into `graph`. columns[k] is the node that holds column k (it may be
 * NULL for columns the formula does not use); params[j] holds parameter j. Any shapes
 * that broadcast will do: typically columns are inputs of shape [n] and parameters are
 * scalars, or inputs of shape [n] (one copy per point) when each point's derivative is
 * wanted. Constant parts of the formula are folded when parsing. NULL on failure. */
nb_node *nb_expr_build(const nb_expr *expr, nb_graph *graph, nb_node *const *columns, nb_node *const *params);
/* Like nb_expr_build, for data that will not change (a fit): the parts of the formula
 * that read data columns but no parameter (x**2, cos(2*pi*x/12)) are computed now, once,
 * from the columns' current values, and enter the graph as constants. */
nb_node *nb_expr_build_fixed(const nb_expr *expr, nb_graph *graph, nb_node *const *columns,
                             nb_node *const *params);
/* Build the left side (the response); fails when the formula has none. */
nb_node *nb_expr_build_response(const nb_expr *expr, nb_graph *graph, nb_node *const *columns);

/* Evaluate the right side (or, with left_side, the left side) at n points in float64:
 * columns[k] holds the n values of column k (NULL for columns the formula does not read),
 * params[j] the value of parameter j (not read for the left side). out gets n values (a
 * formula that reads no column gives the same value n times). The formula is compiled to
 * a graph and run once per call; points where it is not defined come out NaN or ±inf. */
nb_status nb_expr_eval(const nb_expr *expr, bool left_side, int64_t n, const double *const *columns,
                       const double *params, double *out);

#ifdef __cplusplus
}
#endif

#endif
