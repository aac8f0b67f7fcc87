/* The formula language: what parses to what, the values and gradients of the graphs it
 * builds, and one test per bad input with its message and caret. */
#include "nb_test.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

static const char *const XY[] = {"x", "y"};

/* Evaluate a formula of x at the given x (columns x, y) with parameters p[] (scalars):
 * p[0] for the parameter named a, p[1] for b, p[2] for c, whatever their order. */
static double eval_at(const char *formula, double x, const double *p)
{
    nb_expr *expr = nb_expr_parse(formula, 2, XY);
    if (!expr)
        fail_msg("'%s' did not parse: %s", formula, nb_errmsg());
    nb_graph *g = nb_graph_new(NB_F64);
    int64_t shape[1] = {1};
    nb_node *cols[2] = {nb_input(g, "x", 1, shape), nb_input(g, "y", 1, shape)};
    nb_input_set_doubles(cols[0], &x, 1);
    nb_node *params[8] = {0};
    for (int j = 0; j < nb_expr_n_params(expr); j++) {
        params[j] = nb_param(g, nb_expr_param_name(expr, j), 0, NULL);
        int letter = nb_expr_param_name(expr, j)[0] - 'a';
        *(double *)nb_value(params[j])->data = p && letter >= 0 && letter < 3 ? p[letter] : 1.0;
    }
    nb_node *out = nb_expr_build(expr, g, cols, params);
    assert_non_null(out);
    assert_int_equal(nb_forward(out), NB_OK);
    double value = nb_item(out);
    nb_graph_free(g);
    nb_expr_free(expr);
    return value;
}

static void test_params_and_columns(void **state)
{
    (void)state;
    const char *const cols[] = {"y", "x1", "x2"};
    nb_expr *e = nb_expr_parse("log(y) = b1 - b2*x1*exp(-b3*x2)", 3, cols);
    assert_non_null(e);
    assert_int_equal(nb_expr_n_params(e), 3);
    assert_string_equal(nb_expr_param_name(e, 0), "b1");
    assert_string_equal(nb_expr_param_name(e, 2), "b3");
    assert_true(nb_expr_has_response(e));
    assert_true(nb_expr_uses_column(e, 0, true));
    assert_false(nb_expr_uses_column(e, 0, false));
    assert_true(nb_expr_uses_column(e, 1, false));
    assert_true(nb_expr_uses_column(e, 2, false));
    assert_false(nb_expr_is_linear(e));
    assert_int_equal(nb_expr_param_index(e, "b2"), 1);
    assert_int_equal(nb_expr_param_index(e, "x1"), -1);
    nb_expr_free(e);

    /* formula order: as the formula names them, not sorted by name */
    e = nb_expr_parse("b10*x + b2 + b1*x^2 + b2*x", 2, XY);
    assert_non_null(e);
    assert_int_equal(nb_expr_n_params(e), 3);
    assert_string_equal(nb_expr_param_name(e, 0), "b10");
    assert_string_equal(nb_expr_param_name(e, 1), "b2");
    assert_string_equal(nb_expr_param_name(e, 2), "b1");
    assert_true(nb_expr_is_linear(e));
    assert_false(nb_expr_has_response(e));
    nb_expr_free(e);
}

static void test_linearity(void **state)
{
    (void)state;
    static const struct {
        const char *formula;
        bool linear;
    } cases[] = {
        {"a + b*x + c*x^2", true},      {"a*sin(x) + b*exp(-x/3)", true}, {"(a + b)*x/4 - 2*c", true},
        {"-a*x", true},                 {"a*b*x", false},                 {"a*exp(-b*x)", false},
        {"x/a", false},                 {"a^2*x", false},                 {"abs(a)*x", false},
        {"a*x + 2^x", true},
    };
    for (size_t c = 0; c < sizeof cases / sizeof cases[0]; c++) {
        nb_expr *e = nb_expr_parse(cases[c].formula, 2, XY);
        assert_non_null(e);
        if (nb_expr_is_linear(e) != cases[c].linear)
            fail_msg("'%s': linear should be %d", cases[c].formula, cases[c].linear);
        nb_expr_free(e);
    }
}

static void test_values(void **state)
{
    (void)state;
    double p[3] = {2.0, 0.5, -1.5};
    double x = 0.7;
    /* precedence and associativity */
    assert_close(eval_at("a + b*x", x, p), 2.0 + 0.5 * x, 1e-15);
    assert_close(eval_at("-x^2 + a", x, p), -(x * x) + 2.0, 1e-15);
    assert_close(eval_at("a^3^0.5 + 0*x", x, p), pow(2.0, pow(3.0, 0.5)), 1e-14);
    assert_close(eval_at("a**-1 + 0*x", x, p), 0.5, 1e-15);
    assert_close(eval_at("2^-a*x", x, p), pow(2.0, -2.0) * x, 1e-15);
    assert_close(eval_at("a/b/c*x", x, p), 2.0 / 0.5 / -1.5 * x, 1e-15);
    assert_close(eval_at("a - b - c + x", x, p), 2.0 - 0.5 + 1.5 + x, 1e-15);
    assert_close(eval_at("[a + b]*(x - c)", x, p), 2.5 * (x + 1.5), 1e-15);
    assert_close(eval_at("--a + +x", x, p), 2.0 + x, 1e-15);
    /* numbers */
    assert_close(eval_at("1e-5*a + .5*x + 10.07E0 + 2.", x, p), 2e-5 + 0.35 + 10.07 + 2, 1e-14);
    /* every function and the constants */
    assert_close(eval_at("exp(b*x) + log(a) + log10(a*x) + sqrt(a)", x, p),
                 exp(0.35) + log(2.0) + log10(1.4) + sqrt(2.0), 1e-14);
    assert_close(eval_at("abs(c*x) + sin(x) + cos(a) + tan(b)", x, p), 1.5 * x + sin(x) + cos(2.0) + tan(0.5),
                 1e-14);
    assert_close(eval_at("asin(b) + acos(b*x) + atan(a) + arctan(x)", x, p),
                 asin(0.5) + acos(0.35) + atan(2.0) + atan(x), 1e-14);
    assert_close(eval_at("atan2(c, x) + sinh(b) + cosh(x) + tanh(a)", x, p),
                 atan2(-1.5, x) + sinh(0.5) + cosh(x) + tanh(2.0), 1e-14);
    assert_close(eval_at("pow(a, x) + min(b, x) + max(c, x)", x, p), pow(2.0, x) + 0.5 + x, 1e-14);
    assert_close(eval_at("a*pi + e*x", x, p), 2 * M_PI + M_E * x, 1e-14);
    /* $2 is the second column: here x is column 1 */
    assert_close(eval_at("a*$1", x, p), 2 * x, 1e-15);
}

/* A column named like a constant or a function is refused where the formula uses the
 * name bare, saying how to write each meaning; backticks (or $N) take the column, and
 * exp(1) the constant. */
static void test_column_shadowing_refused(void **state)
{
    (void)state;
    const char *const cols[] = {"e", "log", "y"};
    nb_clear_error();
    assert_null(nb_expr_parse("y = a*e", 3, cols));
    assert_non_null(strstr(nb_errmsg(), "'e' is both data column 1 and the constant e: write `e` (or $1) for the "
                                        "column, exp(1) for the constant"));
    assert_null(nb_expr_parse("y = a*log", 3, cols));
    assert_non_null(strstr(nb_errmsg(), "'log' is both data column 2 and a function: write `log` (or $2)"));
    nb_expr *expr = nb_expr_parse("y = a*`e` + b*exp(1) + log(`log`)", 3, cols);
    assert_non_null(expr);
    assert_true(nb_expr_uses_column(expr, 0, false));
    assert_true(nb_expr_uses_column(expr, 1, false));
    double e[2] = {1, 2}, lg[2] = {M_E, 1}, p[2] = {2, 3}, out[2];
    const double *columns[3] = {e, lg, NULL};
    assert_int_equal(nb_expr_eval(expr, false, 2, columns, p, out), NB_OK);
    assert_close(out[0], 2 * 1 + 3 * M_E + 1, 1e-14);
    assert_close(out[1], 2 * 2 + 3 * M_E + 0, 1e-14);
    nb_expr_free(expr);
    /* Without such a column, e and pi are the constants. */
    assert_close(eval_at("a*e + 0*x", 0, (double[]){2}), 2 * M_E, 1e-15);
}

/* Any column's name in backticks: spaces, operators, UTF-8, a caret; $N still works. */
static void test_backticks(void **state)
{
    (void)state;
    const char *const cols[] = {"Computer Science", "time-ms", "temp\xc3\xa9rature", "^GSPC", "y"};
    nb_expr *expr = nb_expr_parse("y = a*`Computer Science` + b*`time-ms` + c*`temp\xc3\xa9rature` + d*`^GSPC` + f*$5",
                                  5, cols);
    assert_non_null(expr);
    for (int k = 0; k < 5; k++)
        assert_true(nb_expr_uses_column(expr, k, false));
    assert_int_equal(nb_expr_n_params(expr), 5);
    nb_expr_free(expr);
    /* UTF-8 names may also be written bare. */
    expr = nb_expr_parse("y = \xce\xb1*temp\xc3\xa9rature", 5, cols);
    assert_non_null(expr);
    assert_true(nb_expr_uses_column(expr, 2, false));
    assert_string_equal(nb_expr_param_name(expr, 0), "\xce\xb1");
    nb_expr_free(expr);

    nb_clear_error();
    assert_null(nb_expr_parse("y = a*`Computer Sciense`", 5, cols));
    assert_non_null(strstr(nb_errmsg(), "there is no column `Computer Sciense`; did you mean `Computer Science`?"));
    assert_null(nb_expr_parse("y = a*`nothing`", 5, cols));
    assert_non_null(strstr(nb_errmsg(), "there is no column `nothing` (backticks name a data column; the columns: "
                                        "Computer Science, time-ms"));
    assert_null(nb_expr_parse("y = a*`time-ms", 5, cols));
    assert_non_null(strstr(nb_errmsg(), "this '`' is never closed"));
    assert_null(nb_expr_parse("y = a*``", 5, cols));
    assert_non_null(strstr(nb_errmsg(), "empty backticks"));
}

/* A column whose name is not a plain name, written bare: refused (time-ms is not time
 * minus ms here); spaces mean the expression. Parse errors tell how to write such names. */
static void test_bare_names_that_are_columns(void **state)
{
    (void)state;
    const char *const cols[] = {"time", "ms", "time-ms", "^GSPC", "y"};
    nb_clear_error();
    assert_null(nb_expr_parse("y = a*time-ms", 5, cols));
    const char *msg = nb_errmsg();
    assert_non_null(strstr(msg, "'time-ms' is the name of data column 3, but written so it reads as an expression: "
                                "write `time-ms` (or $3) for the column"));
    assert_non_null(strstr(msg, "column 7:"));
    nb_expr *expr = nb_expr_parse("y = a*(time - ms)", 5, cols);
    assert_non_null(expr);
    assert_true(nb_expr_uses_column(expr, 0, false) && nb_expr_uses_column(expr, 1, false));
    assert_false(nb_expr_uses_column(expr, 2, false));
    nb_expr_free(expr);
    const char *const spaced[] = {"x", " y"}; /* a header "x, y" */
    expr = nb_expr_parse("x = a* y + b", 2, spaced);
    assert_non_null(expr);
    nb_expr_free(expr);
    assert_null(nb_expr_parse("y = a + b*^GSPC", 5, cols));
    assert_non_null(strstr(nb_errmsg(), "write `^GSPC` (or $4) for the column"));
    /* Any parse error on such data ends with how to write their names. */
    assert_null(nb_expr_parse("y = a*(time", 5, cols));
    assert_non_null(strstr(nb_errmsg(), "is never closed"));
    assert_non_null(strstr(nb_errmsg(), "written in backticks, `time-ms`, or by its number, $3"));
}

/* A parameter whose name is a typo of a column's: the note's column, still a parameter. */
static void test_near_column(void **state)
{
    (void)state;
    const char *const cols[] = {"t", "Volume", "y"};
    nb_expr *expr = nb_expr_parse("y = a*T + b*Volme + b1 + Volume*c", 3, cols);
    assert_non_null(expr);
    int n = nb_expr_n_params(expr);
    assert_int_equal(n, 6); /* a, b, b1, c, T, Volme */
    for (int j = 0; j < n; j++) {
        const char *name = nb_expr_param_name(expr, j);
        int near = nb_expr_param_near_column(expr, j);
        if (strcmp(name, "T") == 0)
            assert_int_equal(near, 0);
        else if (strcmp(name, "Volme") == 0)
            assert_int_equal(near, 1);
        else
            assert_int_equal(near, -1); /* a, b, b1, c: short names are parameters, not typos of t or y */
    }
    assert_int_equal(nb_expr_param_near_column(expr, n), -1);
    nb_expr_free(expr);
}

/* Folded constants: 2*pi/12 leaves no op behind. */
static void test_constant_folding(void **state)
{
    (void)state;
    nb_expr *expr = nb_expr_parse("a*(2*pi/12) + 0*x", 2, XY);
    nb_graph *g = nb_graph_new(NB_F64);
    nb_node *cols[2] = {nb_input(g, "x", 1, (int64_t[]){1}), NULL};
    nb_node *a = nb_param(g, "a", 0, NULL);
    int before = nb_graph_size(g);
    nb_node *out = nb_expr_build(expr, g, cols, &a);
    assert_non_null(out);
    /* scale(a), scale(x), add: three ops */
    assert_int_equal(nb_graph_size(g) - before, 3);
    nb_graph_free(g);
    nb_expr_free(expr);
}

/* A function of numbers folds to the value its op gives on a column of the same
 * numbers, bit for bit, for every function of the language, min and max included where
 * an operand is NaN; pow(a, b) is a power. */
static void test_functions_fold_as_their_ops(void **state)
{
    (void)state;
    const char *calls[][2] = {{"exp(0.3)", "exp(x)"},        {"log(0.3)", "log(x)"},   {"log10(0.3)", "log10(x)"},
                              {"sqrt(0.3)", "sqrt(x)"},      {"abs(-0.3)", "abs(-x)"}, {"sin(0.3)", "sin(x)"},
                              {"cos(0.3)", "cos(x)"},        {"tan(0.3)", "tan(x)"},   {"asin(0.3)", "asin(x)"},
                              {"acos(0.3)", "acos(x)"},      {"atan(0.3)", "atan(x)"}, {"arctan(0.3)", "arctan(x)"},
                              {"sinh(0.3)", "sinh(x)"},      {"cosh(0.3)", "cosh(x)"}, {"tanh(0.3)", "tanh(x)"},
                              {"atan2(0.3, 2)", "atan2(x, 2)"}, {"pow(0.3, 2.5)", "pow(x, 2.5)"},
                              {"min(0.3, 0/0)", "min(x, 0/0)"}, {"max(0/0, 0.3)", "max(0/0, x)"}};
    const double x = 0.3, zero = 0;
    const double *columns[2] = {&x, NULL};
    for (size_t k = 0; k < sizeof calls / sizeof calls[0]; k++) {
        double values[2];
        for (int form = 0; form < 2; form++) {
            char formula[64]; /* a formula needs a parameter: a + ..., a = 0 */
            snprintf(formula, sizeof formula, "a + %s", calls[k][form]);
            nb_expr *expr = nb_expr_parse(formula, 2, XY);
            if (!expr)
                fail_msg("%s: %s", formula, nb_errmsg());
            assert_int_equal(nb_expr_eval(expr, false, 1, columns, &zero, &values[form]), NB_OK);
            nb_expr_free(expr);
        }
        if (memcmp(&values[0], &values[1], sizeof(double)) != 0)
            fail_msg("%s folds to %.17g, %s gives %.17g", calls[k][0], values[0], calls[k][1], values[1]);
    }
    /* pow(x, 2) is built as x^2 is: as many nodes as x*x (no constant 2, no pow op) */
    int sizes[2];
    const char *forms[2] = {"a + pow(x, 2)", "a + x*x"};
    for (int form = 0; form < 2; form++) {
        nb_graph *g = nb_graph_new(NB_F64);
        nb_node *cols[2] = {nb_input(g, "x", 1, (int64_t[]){1}), NULL};
        nb_node *a = nb_param(g, "a", 0, NULL);
        nb_expr *expr = nb_expr_parse(forms[form], 2, XY);
        assert_non_null(nb_expr_build(expr, g, cols, &a));
        sizes[form] = nb_graph_size(g);
        nb_graph_free(g);
        nb_expr_free(expr);
    }
    assert_int_equal(sizes[0], sizes[1]);
}

/* Gradients of built formulas agree with finite differences. */
static void test_gradients(void **state)
{
    (void)state;
    const char *formulas[] = {
        "b1*(1-exp(-b2*x))",  "exp(-b1*x)/(b2+b3*x)", "b1*x**b2",
        "b1 / ((1+exp(b2-b3*x))**(1/b4))", "b1 - b2*x - atan(b3/(x-b4))/pi", "b1*(b2+x)**(-1/b3)",
        "atan2(b1, x) + min(b2*x, 1) + max(b3, x/2) + pow(x, b1)",
    };
    double xs[5] = {0.5, 1.0, 1.7, 2.3, 3.1};
    for (size_t f = 0; f < sizeof formulas / sizeof formulas[0]; f++) {
        nb_expr *expr = nb_expr_parse(formulas[f], 2, XY);
        assert_non_null(expr);
        nb_graph *g = nb_graph_new(NB_F64);
        nb_node *cols[2] = {nb_input(g, "x", 1, (int64_t[]){5}), NULL};
        nb_input_set_doubles(cols[0], xs, 5);
        nb_node *params[4];
        for (int j = 0; j < nb_expr_n_params(expr); j++) {
            params[j] = nb_param(g, nb_expr_param_name(expr, j), 0, NULL);
            *(double *)nb_value(params[j])->data = 0.6 + 0.3 * j;
        }
        nb_node *model = nb_expr_build(expr, g, cols, params);
        nb_node *loss = nb_sum(nb_mul(model, model));
        nb_gradcheck_result check;
        assert_int_equal(nb_gradcheck(loss, 1e-6, &check), NB_OK);
        if (!(check.max_error < 1e-6))
            fail_msg("%s: gradient error %g at %s", formulas[f], check.max_error, check.worst);
        nb_graph_free(g);
        nb_expr_free(expr);
    }
}

/* Data-only parts are computed once as constants: the same values, and later changes of
 * the columns no longer reach those parts (the data of a fit do not change). */
static void test_build_fixed(void **state)
{
    (void)state;
    nb_expr *expr = nb_expr_parse("a*cos(2*pi*x/12) + b*x**2", 2, XY);
    double xs[3] = {1, 2, 3}, later[3] = {4, 5, 6};
    double values[2][3], after[2][3];
    for (int fixed = 0; fixed < 2; fixed++) {
        nb_graph *g = nb_graph_new(NB_F64);
        nb_node *cols[2] = {nb_input(g, "x", 1, (int64_t[]){3}), NULL};
        nb_input_set_doubles(cols[0], xs, 3);
        nb_node *params[2] = {nb_param(g, "a", 0, NULL), nb_param(g, "b", 0, NULL)};
        ((double *)nb_params_data(g))[0] = 1.5;
        ((double *)nb_params_data(g))[1] = -0.25;
        nb_node *out = fixed ? nb_expr_build_fixed(expr, g, cols, params) : nb_expr_build(expr, g, cols, params);
        assert_int_equal(nb_forward(out), NB_OK);
        nb_tensor_to_doubles(nb_value(out), values[fixed]);
        nb_input_set_doubles(cols[0], later, 3);
        assert_int_equal(nb_forward(out), NB_OK);
        nb_tensor_to_doubles(nb_value(out), after[fixed]);
        nb_graph_free(g);
    }
    for (int i = 0; i < 3; i++) {
        assert_close(values[0][i], 1.5 * cos(2 * M_PI * xs[i] / 12) - 0.25 * xs[i] * xs[i], 1e-14);
        assert_close(values[1][i], values[0][i], 0);
        assert_close(after[0][i], 1.5 * cos(2 * M_PI * later[i] / 12) - 0.25 * later[i] * later[i], 1e-14);
        assert_close(after[1][i], values[1][i], 0);
    }
    nb_expr_free(expr);
}

/* ---- bad input: each its own message, and the caret under the right column ---------- */

/* The message must contain `needle`, and its caret line must point at `column`
 * (1-based character of the formula). */
static void expect_error(const char *formula, const char *needle, int column)
{
    nb_clear_error();
    nb_expr *expr = nb_expr_parse(formula, 2, XY);
    if (expr)
        fail_msg("'%s' parsed, but should not", formula);
    assert_int_equal(nb_errcode(), NB_EPARSE);
    const char *msg = nb_errmsg();
    if (!strstr(msg, needle))
        fail_msg("'%s': message '%s' lacks '%s'", formula, msg, needle);
    /* line 2 is "  formula", line 3 is "  " + spaces + "^" */
    const char *line2 = strchr(msg, '\n');
    assert_non_null(line2);
    const char *line3 = strchr(line2 + 1, '\n');
    assert_non_null(line3);
    assert_true(strncmp(line2 + 3, formula, strlen(formula)) == 0);
    const char *caret = strchr(line3, '^');
    assert_non_null(caret);
    int caret_column = (int)(caret - (line3 + 3)) + 1;
    if (caret_column != column)
        fail_msg("'%s': caret at column %d, expected %d\n%s", formula, caret_column, column, msg);
    char where[32];
    snprintf(where, sizeof where, "column %d:", column);
    if (!strstr(msg, where))
        fail_msg("'%s': message '%s' lacks '%s'", formula, msg, where);
}

/* Evaluation at many points at once: both sides, a formula of no column, and misuse. */
static void test_eval(void **state)
{
    (void)state;
    const char *const cols[] = {"t", "y"};
    nb_expr *e = nb_expr_parse("log(y) = a*exp(-k*t) + c", 2, cols);
    assert_non_null(e);
    double t[4] = {0, 0.5, 1, 2.5}, y[4] = {1, 2, 3, 4}, out[4];
    const double *columns[2] = {t, y};
    double p[3] = {2, -1, 0.75}; /* a, k, c in formula order */
    assert_string_equal(nb_expr_param_name(e, 1), "k");
    assert_int_equal(nb_expr_eval(e, false, 4, columns, p, out), NB_OK);
    for (int i = 0; i < 4; i++)
        assert_close(out[i], 2 * exp(1.0 * t[i]) + 0.75, 1e-15);
    assert_int_equal(nb_expr_eval(e, true, 4, columns, NULL, out), NB_OK);
    for (int i = 0; i < 4; i++)
        assert_close(out[i], log(y[i]), 1e-15);
    /* points where the formula is not defined are NaN, not an error */
    double neg[2] = {-1, 4};
    const double *neg_columns[2] = {t, neg};
    assert_int_equal(nb_expr_eval(e, true, 2, neg_columns, NULL, out), NB_OK);
    assert_true(isnan(out[0]));
    assert_close(out[1], log(4), 1e-15);
    /* the right side reads t only: y may be missing for it, t may not */
    const double *only_t[2] = {t, NULL};
    assert_int_equal(nb_expr_eval(e, false, 4, only_t, p, out), NB_OK);
    const double *only_y[2] = {NULL, y};
    assert_int_equal(nb_expr_eval(e, false, 4, only_y, p, out), NB_EARG);
    assert_non_null(strstr(nb_errmsg(), "reads column 1"));
    assert_int_equal(nb_expr_eval(e, false, 4, columns, NULL, out), NB_EARG);
    assert_int_equal(nb_expr_eval(e, false, 0, columns, p, out), NB_EARG);
    nb_expr_free(e);

    e = nb_expr_parse("a + 1", 2, cols);
    assert_non_null(e);
    double a = 2.5;
    assert_int_equal(nb_expr_eval(e, false, 3, NULL, &a, out), NB_OK);
    for (int i = 0; i < 3; i++)
        assert_close(out[i], 3.5, 0);
    assert_int_equal(nb_expr_eval(e, true, 3, NULL, &a, out), NB_EARG);
    assert_non_null(strstr(nb_errmsg(), "has no left side"));
    nb_expr_free(e);
}

static void test_bad_formulas(void **state)
{
    (void)state;
    expect_error("y = a*foo(b*x)", "unknown function 'foo'", 7);
    /* the known ones listed from the table, aliases included */
    expect_error("y = a*foo(b*x)", "(known: exp log log10 sqrt abs sin cos tan asin acos atan arctan sinh cosh tanh "
                                   "atan2 pow min max)", 7);
    expect_error("y = a*(b*x", "never closed", 7);
    expect_error("y = a*b*x)", "closes nothing", 10);
    expect_error("y = a*[b*x)", "closed by ')'", 11);
    expect_error("y = a*exp(b*x", "never closed", 10);
    expect_error("y = a*x +", "operand is expected", 10);
    expect_error("y = a*x *", "operand is expected", 10);
    expect_error("y = a*x ^ ", "operand is expected", 11);
    expect_error("y = a* *x", "expected an operand, found '*'", 8);
    expect_error("y = 2 x", "expected an operator, found 'x'", 7);
    expect_error("", "empty", 1);
    expect_error("   ", "empty", 4);
    expect_error("a*x = y", "left side may use data columns only, and 'a' is not a column (the data's columns: "
                            "'x', 'y')", 1);
    expect_error("Y = a*x", "and 'Y' is not a column; did you mean 'y'?", 1);
    expect_error("y = a*x = b", "a second '='", 9);
    expect_error("y = ", "right side is missing", 5);
    expect_error("2 = a*x", "uses no data column", 3);
    expect_error("y = atan2(a*x)", "atan2 takes 2 arguments, found 1", 5);
    expect_error("y = exp(a, x)", "exp takes 1 argument, found 2", 5);
    expect_error("y = sin() + a", "found none", 9);
    expect_error("y = a*exp", "'exp' is a function: write exp(...)", 7);
    expect_error("y = pi(x) + a", "'pi' is a constant, not a function", 5);
    expect_error("y = a @ x", "unexpected character '@'", 7);
    expect_error("y = 1e*a*x", "malformed number '1e'", 5);
    expect_error("y = a*$3", "no column $3", 7);
    expect_error("y = a*$x", "'$' must be followed by a column number", 7);
    expect_error("y = 2*x + 1", "no parameters", 12);
    expect_error("y = a, x", "a ',' outside the arguments", 6);
    expect_error("y = . + a", "a lone '.'", 5);
}

static void test_deep_nesting(void **state)
{
    (void)state;
    char formula[2100];
    int n = 0;
    for (int i = 0; i < 1000; i++)
        formula[n++] = '(';
    formula[n++] = 'a';
    for (int i = 0; i < 1000; i++)
        formula[n++] = ')';
    formula[n] = '\0';
    nb_clear_error();
    assert_null(nb_expr_parse(formula, 2, XY));
    assert_non_null(strstr(nb_errmsg(), "nests deeper"));
    /* the long formula is cut around the caret so that the message fits */
    assert_non_null(strstr(nb_errmsg(), "..."));
}

/* A long flat chain a+a+...+a is as deep as it is long once parsed: past the bound it is
 * refused with a message (a 2 MB chain used to overflow the stack of the walks after
 * parsing); within it, it parses, builds and evaluates. */
static char *chain(int terms, const char *term, const char *op)
{
    size_t len = strlen(term) + strlen(op);
    char *text = malloc((size_t)terms * len + 8);
    size_t at = 0;
    at += (size_t)sprintf(text, "y = ");
    for (int i = 0; i < terms; i++)
        at += (size_t)sprintf(text + at, "%s%s", term, i + 1 < terms ? op : "");
    return text;
}

/* Two columns of one name: the formula cannot mean either silently. */
static void test_ambiguous_column(void **state)
{
    (void)state;
    const char *const names[] = {"t", "y", "t"};
    nb_clear_error();
    assert_null(nb_expr_parse("y = a*t + b", 3, names));
    assert_non_null(strstr(nb_errmsg(), "columns 1 and 3 are both named 't': write $1 or $3"));
    nb_expr *expr = nb_expr_parse("y = a*$3 + b", 3, names);
    assert_non_null(expr);
    assert_true(nb_expr_uses_column(expr, 2, false));
    nb_expr_free(expr);
}

static void test_long_flat_chains(void **state)
{
    (void)state;
    char *huge = chain(400000, "a", "+"); /* 800 KB */
    nb_clear_error();
    assert_null(nb_expr_parse(huge, 2, XY));
    assert_non_null(strstr(nb_errmsg(), "more than 1000 operations deep"));
    free(huge);
    char *products = chain(5000, "x", "*a*");
    assert_null(nb_expr_parse(products, 2, XY));
    assert_non_null(strstr(nb_errmsg(), "operations deep"));
    free(products);

    char *fine = chain(900, "a*x", "+"); /* 1,799 operations, 900 deep */
    nb_expr *expr = nb_expr_parse(fine, 2, XY);
    assert_non_null(expr);
    double x[3] = {1, 2, -0.5}, a = 0.25, out[3];
    const double *columns[2] = {x, x};
    assert_int_equal(nb_expr_eval(expr, false, 3, columns, &a, out), NB_OK);
    for (int i = 0; i < 3; i++)
        assert_close(out[i], 900 * a * x[i], 1e-12);
    nb_expr_free(expr);
    free(fine);
}

/* Columns that are ops of the caller's graph (computed by its passes, their storage moving
 * when it is laid out again) give the same values fixed or not. */
static void test_build_fixed_op_columns(void **state)
{
    (void)state;
    const char *const uv[] = {"u", "v"};
    nb_expr *expr = nb_expr_parse("a*(u + v) + a*cos(u)", 2, uv);
    assert_non_null(expr);
    double values[2][3];
    for (int fixed = 0; fixed < 2; fixed++) {
        nb_graph *g = nb_graph_new(NB_F64);
        nb_node *x = nb_input(g, "x", 1, (int64_t[]){3});
        nb_input_set_doubles(x, (double[]){1, 2, 3}, 3);
        nb_node *u = nb_scale(x, 2);
        assert_int_equal(nb_forward(u), NB_OK); /* u computed, then v made: v has no values yet */
        nb_node *cols[2] = {u, nb_mul(x, x)};
        nb_node *params[1] = {nb_param(g, "a", 0, NULL)};
        *(double *)nb_value(params[0])->data = 1;
        nb_node *out = fixed ? nb_expr_build_fixed(expr, g, cols, params) : nb_expr_build(expr, g, cols, params);
        assert_non_null(out);
        assert_int_equal(nb_forward(out), NB_OK);
        nb_tensor_to_doubles(nb_value(out), values[fixed]);
        nb_graph_free(g);
    }
    for (int i = 0; i < 3; i++) {
        double x = i + 1;
        assert_close(values[0][i], 2 * x + x * x + cos(2 * x), 1e-14);
        assert_close(values[1][i], values[0][i], 0);
    }
    nb_expr_free(expr);
}

/* Bytes requested from the allocator, freed or not: work that grows quadratically with a
 * formula's size shows here, deterministically, where a timing would not. */
static size_t requested;
static void *requested_alloc(size_t size, void *ctx) { (void)ctx; requested += size; return malloc(size); }
static void *requested_realloc(void *p, size_t size, void *ctx) { (void)ctx; requested += size; return realloc(p, size); }
static void requested_free(void *p, void *ctx) { (void)ctx; free(p); }

/* Build a fit's graph of `groups` * 100 terms a_k*exp(x*c), each exp(x*c) a part of data
 * only that build_fixed computes at once; the bytes requested. */
static size_t bytes_to_build_fixed(int groups)
{
    char *text = malloc((size_t)groups * 100 * 32 + 16), *at = text;
    at += sprintf(at, "y = ");
    for (int g = 0; g < groups; g++)
        for (int i = 0; i < 100; i++)
            at += sprintf(at, "%s%sa%d*exp(x*%de-3)%s", g && !i ? " + " : "", i ? " + " : "(", i % 3, i % 7 + 1,
                          i == 99 ? ")" : "");
    nb_expr *expr = nb_expr_parse(text, 2, XY);
    assert_non_null(expr);
    nb_set_allocator(&(nb_allocator){requested_alloc, requested_realloc, requested_free, NULL});
    requested = 0;
    nb_graph *g = nb_graph_new(NB_F64);
    nb_node *cols[2] = {nb_input(g, "x", 1, (int64_t[]){4}), NULL};
    nb_input_set_doubles(cols[0], (double[]){0.5, 1, 2, 4}, 4);
    nb_node *params[3] = {nb_param(g, "a0", 0, NULL), nb_param(g, "a1", 0, NULL), nb_param(g, "a2", 0, NULL)};
    nb_node *out = nb_expr_build_fixed(expr, g, cols, params);
    assert_non_null(out);
    assert_int_equal(nb_forward(out), NB_OK);
    size_t bytes = requested;
    nb_graph_free(g);
    nb_set_allocator(NULL);
    nb_expr_free(expr);
    free(text);
    return bytes;
}

/* A formula's data-only parts are computed in time and memory linear in their number
 * (they used to be computed one by one, each laying the whole graph out again). */
static void test_build_fixed_linear(void **state)
{
    (void)state;
    /* Linear, with arrays that double as they grow: 16 to 32 times; quadratic: about 256. */
    size_t small = bytes_to_build_fixed(2), large = bytes_to_build_fixed(32);
    if (large > 48 * small)
        fail_msg("16 times the terms requested %.1f times the bytes (%zu, then %zu)", (double)large / small, small,
                 large);
}

/* Carets count characters, not bytes, when the formula has UTF-8 in it. */
static void test_caret_utf8(void **state)
{
    (void)state;
    nb_clear_error();
    assert_null(nb_expr_parse("y = \xc2\xb5 * foo(x)", 2, XY));
    const char *msg = nb_errmsg();
    assert_non_null(strstr(msg, "unknown function 'foo'"));
    assert_non_null(strstr(msg, "column 9:"));
    assert_null(nb_expr_parse("y = \xc2\xb5 * \x01", 2, XY));
    assert_non_null(strstr(nb_errmsg(), "unexpected character (byte 0x01)"));
    assert_non_null(strstr(nb_errmsg(), "column 9:"));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_params_and_columns),
        cmocka_unit_test(test_linearity),
        cmocka_unit_test(test_values),
        cmocka_unit_test(test_column_shadowing_refused),
        cmocka_unit_test(test_backticks),
        cmocka_unit_test(test_bare_names_that_are_columns),
        cmocka_unit_test(test_near_column),
        cmocka_unit_test(test_constant_folding),
        cmocka_unit_test(test_gradients),
        cmocka_unit_test(test_functions_fold_as_their_ops),
        cmocka_unit_test(test_build_fixed),
        cmocka_unit_test(test_build_fixed_linear),
        cmocka_unit_test(test_build_fixed_op_columns),
        cmocka_unit_test(test_eval),
        cmocka_unit_test(test_bad_formulas),
        cmocka_unit_test(test_deep_nesting),
        cmocka_unit_test(test_long_flat_chains),
        cmocka_unit_test(test_ambiguous_column),
        cmocka_unit_test(test_caret_utf8),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
