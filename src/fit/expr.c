/* The formula language of `nabla fit`: a recursive-descent parser to a small tree, and a
 * builder from the tree to graph nodes.
 *
 * Grammar (lowest precedence first):
 *   formula := sum [ '=' sum ]
 *   sum     := product { ('+' | '-') product }
 *   product := unary { ('*' | '/') unary }
 *   unary   := ('-' | '+') unary | power
 *   power   := primary [ ('^' | '**') unary ]          right-associative
 *   primary := number | name | `column name` | $N | name '(' sum { ',' sum } ')' | '(' sum ')' | '[' sum ']'
 *
 * Subtrees made of numbers only are folded while parsing; each node also records whether
 * it depends on the parameters not at all, affinely, or otherwise, which tells a linear
 * model from a nonlinear one. */
#include "core/core.h"

#include "nabla/fit.h"

#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define MAX_DEPTH 200
/* The tree is walked recursively after parsing (columns, building the graph): its
 * height, which a flat chain a+a+...+a makes as large as its length, is bounded so that
 * no walk can exhaust a thread's stack, whatever the formula's length. */
#define MAX_HEIGHT 1000

typedef enum ex_kind { EX_NUM, EX_COLUMN, EX_PARAM, EX_NEG, EX_ADD, EX_SUB, EX_MUL, EX_DIV, EX_POW, EX_CALL } ex_kind;

/* How a node depends on the parameters. */
enum { DEP_NONE = 0, DEP_AFFINE = 1, DEP_NONLINEAR = 2 };

/* The functions of the formula language: each is the graph op of its name, also when
 * it folds numbers (so a constant part has the value the graph would give it). */
typedef struct ex_function {
    const char *name;
    nb_node *(*unary)(nb_node *);             /* a function of one argument, else NULL */
    nb_node *(*binary)(nb_node *, nb_node *); /* a function of two */
} ex_function;

static const ex_function functions[] = {
    {"exp", nb_exp, NULL},       {"log", nb_log, NULL},          {"log10", nb_log10, NULL},
    {"sqrt", nb_sqrt, NULL},     {"abs", nb_abs, NULL},          {"sin", nb_sin, NULL},
    {"cos", nb_cos, NULL},       {"tan", nb_tan, NULL},          {"asin", nb_asin, NULL},
    {"acos", nb_acos, NULL},     {"atan", nb_atan, NULL},        {"arctan", nb_atan, NULL},
    {"sinh", nb_sinh, NULL},     {"cosh", nb_cosh, NULL},        {"tanh", nb_tanh, NULL},
    {"atan2", NULL, nb_atan2},   {"pow", NULL, nb_pow},          {"min", NULL, nb_minimum},
    {"max", NULL, nb_maximum},
};
#define N_FUNCTIONS ((int)(sizeof functions / sizeof functions[0]))

static int arity(const ex_function *f) { return f->unary ? 1 : 2; }

static const struct {
    const char *name;
    double value;
    const char *spelled; /* how to write it when a column takes the name */
} constants[] = {{"pi", 3.14159265358979323846264338327950288, "4*atan(1)"},
                 {"e", 2.71828182845904523536028747135266250, "exp(1)"}};

typedef struct ex_node {
    ex_kind kind;
    int a, b;     /* operands (-1 when unused); EX_CALL with one argument uses a */
    const ex_function *function; /* EX_CALL */
    int index;    /* EX_COLUMN: the column; EX_PARAM: the parameter */
    double value; /* EX_NUM */
    int pos;      /* byte offset in the formula, for messages */
    int dep;      /* DEP_NONE, DEP_AFFINE or DEP_NONLINEAR */
    bool data;    /* reads a data column */
    int height;   /* of the subtree: 0 for a leaf */
} ex_node;

struct nb_expr {
    char *text;
    ex_node *nodes;
    int n_nodes, nodes_capacity;
    int root;     /* the right side */
    int lhs_root; /* the left side, or -1 */
    char **params;
    int n_params, params_capacity;
    int n_columns;
    bool *column_in_rhs, *column_in_lhs;
    int *param_near; /* per parameter: a column its name is one edit or only case away from, or -1 */
};

/* ---- tokens ------------------------------------------------------------------------ */

typedef enum tok_kind {
    T_END, T_NUM, T_NAME, T_QUOTED, T_COLREF, T_PLUS, T_MINUS, T_STAR, T_SLASH, T_POW,
    T_OPEN, T_CLOSE, T_COMMA, T_EQUALS
} tok_kind;

typedef struct token {
    tok_kind kind;
    int start, length; /* byte range in the formula (T_QUOTED: inside the backticks) */
    double value;      /* T_NUM, and T_COLREF (the column number) */
} token;

typedef struct parser {
    nb_expr *expr;
    const char *text;
    int pos; /* where the next token starts */
    token tok;
    int depth;
    int n_columns;
    const char *const *columns;
} parser;

/* Names are ASCII letters, digits and '_', and any UTF-8 character (bytes from 0x80):
 * température, α. */
static bool is_name_start(int c) { return isalpha(c) || c == '_' || c >= 0x80; }
static bool is_name_char(int c) { return isalnum(c) || c == '_' || c >= 0x80; }

/* Whether a column's name can be written bare in a formula. */
static bool plain_name(const char *name)
{
    if (!is_name_start((unsigned char)name[0]))
        return false;
    for (const char *c = name + 1; *c; c++)
        if (!is_name_char((unsigned char)*c))
            return false;
    return true;
}

/* When the data have a column whose name is not a plain name, how to write it: the
 * hint that ends every parse error (the name is often why the formula did not parse). */
static void names_hint(const parser *p, char *buf, size_t size)
{
    buf[0] = '\0';
    for (int k = 0; k < p->n_columns; k++)
        if (p->columns[k] && !plain_name(p->columns[k]) && !strchr(p->columns[k], '`')) {
            snprintf(buf, size, "\n  (a column whose name is not a plain name is written in backticks, `%.100s`, or "
                     "by its number, $%d)", p->columns[k], k + 1);
            return;
        }
}

/* The message: what went wrong, then the formula with a caret under byte `at`. Long
 * formulas are cut to a window around the caret so that the message fits. */
static nb_status parse_fail(const parser *p, int at, const char *fmt, ...) NB_PRINTF(3, 4);
static nb_status parse_fail(const parser *p, int at, const char *fmt, ...)
{
    char what[400];
    va_list args;
    va_start(args, fmt);
    vsnprintf(what, sizeof what, fmt, args);
    va_end(args);

    int length = (int)strlen(p->text);
    int from = 0, to = length;
    const int half = 70;
    if (at - from > half)
        from = at - half;
    if (to - at > half)
        to = at + half;
    char line[2 * 70 + 8], caret[2 * 70 + 8];
    int n = 0, column = 0;
    if (from > 0)
        n += snprintf(line + n, sizeof line - (size_t)n, "...");
    for (int i = from; i < to; i++) {
        unsigned char c = (unsigned char)p->text[i];
        line[n++] = (c == '\n' || c == '\t' || c == '\r') ? ' ' : (char)c;
    }
    if (to < length)
        n += snprintf(line + n, sizeof line - (size_t)n, "...");
    line[n] = '\0';
    /* The caret's column counts characters, not the continuation bytes of UTF-8. */
    int caret_at = from > 0 ? 3 : 0;
    for (int i = from; i < at && i < length; i++)
        caret_at += ((unsigned char)p->text[i] & 0xC0) != 0x80;
    for (column = 0; column < caret_at && column < (int)sizeof caret - 2; column++)
        caret[column] = ' ';
    caret[column++] = '^';
    caret[column] = '\0';
    int character = 1;
    for (int i = 0; i < at && i < length; i++)
        character += ((unsigned char)p->text[i] & 0xC0) != 0x80;
    char hint[300];
    names_hint(p, hint, sizeof hint);
    return nb_fail(NB_EPARSE, "formula, column %d: %s\n  %s\n  %s%s", character, what, line, caret, hint);
}

/* A number's extent: digits [. digits] [e [+-] digits]; at least one digit. */
static nb_status lex_number(parser *p, int start)
{
    const char *s = p->text;
    int i = start, digits = 0;
    while (isdigit((unsigned char)s[i]))
        i++, digits++;
    if (s[i] == '.') {
        i++;
        while (isdigit((unsigned char)s[i]))
            i++, digits++;
    }
    if (digits == 0)
        return parse_fail(p, start, "a lone '.' is not a number");
    if (s[i] == 'e' || s[i] == 'E') {
        int exponent = i + 1;
        if (s[exponent] == '+' || s[exponent] == '-')
            exponent++;
        if (!isdigit((unsigned char)s[exponent])) {
            int end = exponent;
            while (is_name_char((unsigned char)s[end]))
                end++;
            return parse_fail(p, start, "malformed number '%.*s': the exponent has no digits", end - start,
                              s + start);
        }
        i = exponent;
        while (isdigit((unsigned char)s[i]))
            i++;
    }
    char buf[128];
    if (i - start >= (int)sizeof buf)
        return parse_fail(p, start, "a number of %d characters is too long", i - start);
    memcpy(buf, s + start, (size_t)(i - start));
    buf[i - start] = '\0';
    errno = 0;
    double value = strtod(buf, NULL);
    if (errno == ERANGE && isinf(value))
        return parse_fail(p, start, "the number '%s' is too large for a double", buf);
    p->tok = (token){T_NUM, start, i - start, value};
    p->pos = i;
    return NB_OK;
}

/* `any column name`: everything up to the next backtick (a name holding one is written
 * by number). */
static nb_status lex_quoted(parser *p, int start)
{
    const char *close = strchr(p->text + start + 1, '`');
    if (!close)
        return parse_fail(p, start, "this '`' is never closed: a column name in backticks ends with another '`'");
    int length = (int)(close - (p->text + start + 1));
    if (length == 0)
        return parse_fail(p, start, "empty backticks: write a column's name between them, as in `time-ms`");
    p->tok = (token){T_QUOTED, start + 1, length, 0};
    p->pos = start + length + 2;
    return NB_OK;
}

/* Read the next token into p->tok. */
static nb_status advance(parser *p)
{
    const char *s = p->text;
    int i = p->pos;
    while (s[i] == ' ' || s[i] == '\t' || s[i] == '\n' || s[i] == '\r')
        i++;
    unsigned char c = (unsigned char)s[i];
    if (c == '\0') {
        p->tok = (token){T_END, i, 0, 0};
        p->pos = i;
        return NB_OK;
    }
    if (isdigit(c) || c == '.')
        return lex_number(p, i);
    if (is_name_start(c)) {
        int end = i + 1;
        while (is_name_char((unsigned char)s[end]))
            end++;
        p->tok = (token){T_NAME, i, end - i, 0};
        p->pos = end;
        return NB_OK;
    }
    if (c == '`')
        return lex_quoted(p, i);
    if (c == '$') {
        int end = i + 1;
        while (isdigit((unsigned char)s[end]))
            end++;
        if (end == i + 1)
            return parse_fail(p, i, "'$' must be followed by a column number, as in $2");
        p->tok = (token){T_COLREF, i, end - i, strtod(s + i + 1, NULL)};
        p->pos = end;
        return NB_OK;
    }
    tok_kind kind;
    int length = 1;
    switch (c) {
    case '+': kind = T_PLUS; break;
    case '-': kind = T_MINUS; break;
    case '*':
        kind = s[i + 1] == '*' ? T_POW : T_STAR;
        length = s[i + 1] == '*' ? 2 : 1;
        break;
    case '/': kind = T_SLASH; break;
    case '^': kind = T_POW; break;
    case '(': case '[': kind = T_OPEN; break;
    case ')': case ']': kind = T_CLOSE; break;
    case ',': kind = T_COMMA; break;
    case '=': kind = T_EQUALS; break;
    default:
        if (c < 0x20 || c >= 0x7F)
            return parse_fail(p, i, "unexpected character (byte 0x%02X)", c);
        return parse_fail(p, i, "unexpected character '%c'", c);
    }
    p->tok = (token){kind, i, length, 0};
    p->pos = i + length;
    return NB_OK;
}

/* How a token reads in a message. */
static void token_text(const parser *p, const token *t, char *buf, size_t size)
{
    if (t->kind == T_END)
        snprintf(buf, size, "the end of the formula");
    else if (t->kind == T_QUOTED)
        snprintf(buf, size, "`%.*s`", t->length > 40 ? 40 : t->length, p->text + t->start);
    else
        snprintf(buf, size, "'%.*s'", t->length > 40 ? 40 : t->length, p->text + t->start);
}

/* ---- the tree ---------------------------------------------------------------------- */

static int add_node(parser *p, ex_node node)
{
    nb_expr *expr = p->expr;
    if (expr->n_nodes == expr->nodes_capacity) {
        int capacity = expr->nodes_capacity ? 2 * expr->nodes_capacity : 32;
        ex_node *nodes = nb_realloc(expr->nodes, (size_t)capacity * sizeof *nodes);
        if (!nodes) {
            nb_fail(NB_ENOMEM, "out of memory parsing the formula");
            return -1;
        }
        expr->nodes = nodes;
        expr->nodes_capacity = capacity;
    }
    expr->nodes[expr->n_nodes] = node;
    return expr->n_nodes++;
}

static int number_node(parser *p, double value, int pos)
{
    return add_node(p, (ex_node){.kind = EX_NUM, .a = -1, .b = -1, .value = value, .pos = pos});
}

/* A function of numbers, by its graph op on scalars. */
static nb_status fold_call(const ex_function *f, double a, double b, double *value)
{
    nb_graph *graph = nb_graph_new(NB_F64);
    nb_node *y = f->unary ? f->unary(nb_scalar(graph, a)) : f->binary(nb_scalar(graph, a), nb_scalar(graph, b));
    nb_status status = y ? nb_forward(y) : nb_errcode();
    *value = status == NB_OK ? nb_item(y) : NAN;
    nb_graph_free(graph);
    return status;
}

static nb_status fold(ex_kind kind, const ex_function *function, double a, double b, double *value)
{
    switch (kind) {
    case EX_NEG: *value = -a; break;
    case EX_ADD: *value = a + b; break;
    case EX_SUB: *value = a - b; break;
    case EX_MUL: *value = a * b; break;
    case EX_DIV: *value = a / b; break;
    case EX_POW: *value = pow(a, b); break;
    case EX_CALL: return fold_call(function, a, b, value);
    default: *value = NAN;
    }
    return NB_OK;
}

/* An operation on one or two operands; folded to a number when they are numbers. */
static int op_node(parser *p, ex_kind kind, const ex_function *function, int a, int b, int pos)
{
    if (a < 0 || (b < 0 && !(kind == EX_NEG || (kind == EX_CALL && arity(function) == 1))))
        return -1;
    const ex_node *na = &p->expr->nodes[a], *nb = b >= 0 ? &p->expr->nodes[b] : NULL;
    double value;
    if (na->kind == EX_NUM && (!nb || nb->kind == EX_NUM))
        return fold(kind, function, na->value, nb ? nb->value : 0, &value) == NB_OK ? number_node(p, value, pos) : -1;

    int da = na->dep, db = nb ? nb->dep : DEP_NONE;
    int dep;
    switch (kind) {
    case EX_NEG: dep = da; break;
    case EX_ADD: case EX_SUB: dep = da > db ? da : db; break;
    case EX_MUL: dep = da == DEP_NONE ? db : db == DEP_NONE ? da : DEP_NONLINEAR; break;
    case EX_DIV: dep = db == DEP_NONE ? da : DEP_NONLINEAR; break;
    default: dep = (da == DEP_NONE && db == DEP_NONE) ? DEP_NONE : DEP_NONLINEAR; break;
    }
    bool data = na->data || (nb && nb->data);
    int height = 1 + (nb && nb->height > na->height ? nb->height : na->height);
    if (height > MAX_HEIGHT) {
        parse_fail(p, pos, "the formula is more than %d operations deep here (a chain such as a+a+...+a counts "
                           "each one); group its terms in balanced parentheses, or sum fewer", MAX_HEIGHT);
        return -1;
    }
    return add_node(p, (ex_node){.kind = kind, .a = a, .b = b, .function = function, .pos = pos, .dep = dep,
                                 .data = data, .height = height});
}

static bool names_column(const parser *p, int k, const char *name, int length)
{
    const char *column = p->columns[k];
    return column && (int)strlen(column) == length && memcmp(column, name, (size_t)length) == 0;
}

/* The column of a name; -1 when none has it, -2 (with a message) when two have it. */
static int column_by_name(parser *p, const char *name, int length, int at)
{
    for (int k = 0; k < p->n_columns; k++) {
        if (!names_column(p, k, name, length))
            continue;
        for (int other = k + 1; other < p->n_columns; other++)
            if (names_column(p, other, name, length)) {
                parse_fail(p, at, "columns %d and %d are both named '%.*s': write $%d or $%d", k + 1, other + 1,
                           length, name, k + 1, other + 1);
                return -2;
            }
        return k;
    }
    return -1;
}

/* Whether two names are one edit apart: a character changed, added or removed, or two
 * neighbours swapped. */
static bool one_edit(const char *a, int la, const char *b, int lb)
{
    if (la > lb)
        return one_edit(b, lb, a, la);
    if (lb - la > 1)
        return false;
    int i = 0;
    while (i < la && a[i] == b[i])
        i++;
    if (la < lb)
        return memcmp(a + i, b + i + 1, (size_t)(la - i)) == 0;
    if (i == la)
        return false; /* the same name */
    if (memcmp(a + i + 1, b + i + 1, (size_t)(la - i - 1)) == 0)
        return true;
    return i + 1 < la && a[i] == b[i + 1] && a[i + 1] == b[i] && memcmp(a + i + 2, b + i + 2, (size_t)(la - i - 2)) == 0;
}

/* The column a name that is none is probably meant to be: one that differs only in
 * case, else one edit away when both have at least 3 characters (b1 and b2 are two
 * parameters, not a typo); -1 when none. */
static int near_column(int n_columns, const char *const *columns, const char *name, int length)
{
    for (int k = 0; k < n_columns; k++)
        if (columns[k] && (int)strlen(columns[k]) == length && strncasecmp(columns[k], name, (size_t)length) == 0)
            return k;
    for (int k = 0; k < n_columns && length >= 3; k++) {
        int lk = columns[k] ? (int)strlen(columns[k]) : 0;
        if (lk >= 3 && one_edit(columns[k], lk, name, length))
            return k;
    }
    return -1;
}

/* What to say after "'name' is not a column": the column it is probably meant to be, or
 * the columns there are when they are few (a file read with the wrong separator has one). */
static void column_hint(const parser *p, const char *name, char *out, size_t size)
{
    int near = near_column(p->n_columns, p->columns, name, (int)strlen(name));
    if (near >= 0) {
        snprintf(out, size, "; did you mean '%s'?", p->columns[near]);
        return;
    }
    *out = '\0';
    if (p->n_columns < 1 || p->n_columns > 8)
        return;
    size_t used = (size_t)snprintf(out, size, " (the data's columns:");
    for (int k = 0; k < p->n_columns && used < size; k++)
        used += (size_t)snprintf(out + used, size - used, "%s '%s'", k ? "," : "", p->columns[k] ? p->columns[k] : "");
    if (used < size)
        snprintf(out + used, size - used, ")");
}

static const ex_function *function_by_name(const char *name, int length)
{
    for (int f = 0; f < N_FUNCTIONS; f++)
        if ((int)strlen(functions[f].name) == length && memcmp(functions[f].name, name, (size_t)length) == 0)
            return &functions[f];
    return NULL;
}

/* "exp log ... max", for messages. */
static const char *function_names(char *names, size_t size)
{
    names[0] = '\0';
    for (int f = 0, used = 0; f < N_FUNCTIONS && used < (int)size; f++)
        used += snprintf(names + used, size - (size_t)used, f ? " %s" : "%s", functions[f].name);
    return names;
}

static int constant_by_name(const char *name, int length)
{
    for (int c = 0; c < (int)(sizeof constants / sizeof constants[0]); c++)
        if ((int)strlen(constants[c].name) == length && memcmp(constants[c].name, name, (size_t)length) == 0)
            return c;
    return -1;
}

/* The index of a parameter, added on first sight: parameters are numbered in the order
 * the formula names them, as a reader of the formula would list them. */
static int param_by_name(parser *p, const char *name, int length)
{
    nb_expr *expr = p->expr;
    for (int j = 0; j < expr->n_params; j++)
        if ((int)strlen(expr->params[j]) == length && memcmp(expr->params[j], name, (size_t)length) == 0)
            return j;
    if (expr->n_params == expr->params_capacity) {
        int capacity = expr->params_capacity ? 2 * expr->params_capacity : 8;
        char **params = nb_realloc(expr->params, (size_t)capacity * sizeof *params);
        if (!params) {
            nb_fail(NB_ENOMEM, "out of memory parsing the formula");
            return -1;
        }
        expr->params = params;
        expr->params_capacity = capacity;
    }
    char *copy = nb_alloc((size_t)length + 1);
    if (!copy) {
        nb_fail(NB_ENOMEM, "out of memory parsing the formula");
        return -1;
    }
    memcpy(copy, name, (size_t)length);
    copy[length] = '\0';
    expr->params[expr->n_params] = copy;
    return expr->n_params++;
}

/* ---- the parser -------------------------------------------------------------------- */

static int parse_sum(parser *p);
static int parse_unary(parser *p);
static int column_node(parser *p, int column, int pos);

/* The operand a parser expected is missing: say what came instead. */
static int missing_operand(parser *p)
{
    char found[64];
    token_text(p, &p->tok, found, sizeof found);
    if (p->tok.kind == T_END)
        parse_fail(p, p->tok.start, "the formula ends where an operand is expected (a trailing operator?)");
    else if (p->tok.kind == T_CLOSE)
        parse_fail(p, p->tok.start, "expected an operand before %s", found);
    else
        parse_fail(p, p->tok.start, "expected an operand, found %s", found);
    return -1;
}

static int parse_call(parser *p, int name_start, int name_length)
{
    const ex_function *function = function_by_name(p->text + name_start, name_length);
    if (!function) {
        char known[256];
        if (constant_by_name(p->text + name_start, name_length) >= 0)
            parse_fail(p, name_start, "'%.*s' is a constant, not a function", name_length, p->text + name_start);
        else
            parse_fail(p, name_start, "unknown function '%.*s' (known: %s)", name_length, p->text + name_start,
                       function_names(known, sizeof known));
        return -1;
    }
    int open = p->tok.start;
    char opener = p->text[open];
    if (advance(p) != NB_OK)
        return -1;
    int args[2] = {-1, -1};
    int n_args = 0;
    if (p->tok.kind == T_CLOSE) {
        parse_fail(p, p->tok.start, "%s takes %d argument%s, found none", function->name,
                   arity(function), arity(function) > 1 ? "s" : "");
        return -1;
    }
    for (;;) {
        int arg = parse_sum(p);
        if (arg < 0)
            return -1;
        if (n_args < 2)
            args[n_args] = arg;
        n_args++;
        if (p->tok.kind != T_COMMA)
            break;
        if (advance(p) != NB_OK)
            return -1;
    }
    if (p->tok.kind == T_END) {
        parse_fail(p, open, "the '%c' of %s(...) is never closed", opener, function->name);
        return -1;
    }
    if (p->tok.kind != T_CLOSE) {
        char found[64];
        token_text(p, &p->tok, found, sizeof found);
        parse_fail(p, p->tok.start, "expected an operator, ',' or ')' in the arguments of %s, found %s",
                   function->name, found);
        return -1;
    }
    char closer = p->text[p->tok.start];
    if ((opener == '(') != (closer == ')')) {
        parse_fail(p, p->tok.start, "the '%c' at column %d is closed by '%c'", opener, open + 1, closer);
        return -1;
    }
    if (n_args != arity(function)) {
        parse_fail(p, name_start, "%s takes %d argument%s, found %d", function->name,
                   arity(function), arity(function) > 1 ? "s" : "", n_args);
        return -1;
    }
    if (advance(p) != NB_OK)
        return -1;
    if (function->binary == nb_pow) /* pow(a, b) is a ^ b, built as powers are */
        return op_node(p, EX_POW, NULL, args[0], args[1], name_start);
    return op_node(p, EX_CALL, function, args[0], args[1], name_start);
}

static int parse_name(parser *p)
{
    int start = p->tok.start, length = p->tok.length;
    const char *name = p->text + start;
    if (advance(p) != NB_OK)
        return -1;
    if (p->tok.kind == T_OPEN)
        return parse_call(p, start, length);
    int column = column_by_name(p, name, length, start);
    if (column == -2)
        return -1;
    int constant = constant_by_name(name, length);
    if (column >= 0 && constant >= 0) {
        parse_fail(p, start, "'%.*s' is both data column %d and the constant %s: write `%.*s` (or $%d) for the "
                   "column, %s for the constant", length, name, column + 1, constants[constant].name, length, name,
                   column + 1, constants[constant].spelled);
        return -1;
    }
    if (column >= 0 && function_by_name(name, length)) {
        parse_fail(p, start, "'%.*s' is both data column %d and a function: write `%.*s` (or $%d) for the column; "
                   "%.*s(...) calls the function", length, name, column + 1, length, name, column + 1, length, name);
        return -1;
    }
    if (column >= 0)
        return column_node(p, column, start);
    if (constant >= 0)
        return number_node(p, constants[constant].value, start);
    if (function_by_name(name, length)) {
        parse_fail(p, start, "'%.*s' is a function: write %.*s(...)", length, name, length, name);
        return -1;
    }
    int param = param_by_name(p, name, length);
    if (param < 0)
        return -1;
    return add_node(p, (ex_node){.kind = EX_PARAM, .a = -1, .b = -1, .index = param, .pos = start,
                                 .dep = DEP_AFFINE});
}

static int column_node(parser *p, int column, int pos)
{
    return add_node(p, (ex_node){.kind = EX_COLUMN, .a = -1, .b = -1, .index = column, .pos = pos, .data = true});
}

/* `name`: a column, and nothing else (a backticked name that is no column is a typo). */
static int parse_quoted(parser *p)
{
    int start = p->tok.start, length = p->tok.length;
    const char *name = p->text + start;
    int column = column_by_name(p, name, length, start);
    if (column == -2)
        return -1;
    if (column < 0) {
        int near = near_column(p->n_columns, p->columns, name, length);
        char list[300] = "";
        for (int k = 0, used = 0; k < p->n_columns && used < (int)sizeof list; k++)
            used += snprintf(list + used, sizeof list - (size_t)used, k ? ", %s" : "%s",
                             p->columns[k] ? p->columns[k] : "");
        if (near >= 0)
            parse_fail(p, start - 1, "there is no column `%.*s`; did you mean `%s`? (backticks name a data column)",
                       length, name, p->columns[near]);
        else
            parse_fail(p, start - 1, "there is no column `%.*s` (backticks name a data column; the columns: %s)",
                       length, name, list);
        return -1;
    }
    if (advance(p) != NB_OK)
        return -1;
    return column_node(p, column, start - 1);
}

static int parse_primary(parser *p)
{
    token t = p->tok;
    switch (t.kind) {
    case T_NUM:
        if (advance(p) != NB_OK)
            return -1;
        return number_node(p, t.value, t.start);
    case T_NAME:
        return parse_name(p);
    case T_QUOTED:
        return parse_quoted(p);
    case T_COLREF: {
        if (t.value < 1 || t.value > p->n_columns) {
            parse_fail(p, t.start, "there is no column %.*s: the data have %d column%s", t.length,
                       p->text + t.start, p->n_columns, p->n_columns == 1 ? "" : "s");
            return -1;
        }
        if (advance(p) != NB_OK)
            return -1;
        return column_node(p, (int)t.value - 1, t.start);
    }
    case T_OPEN: {
        char opener = p->text[t.start];
        if (advance(p) != NB_OK)
            return -1;
        int inner = parse_sum(p);
        if (inner < 0)
            return -1;
        if (p->tok.kind == T_END) {
            parse_fail(p, t.start, "this '%c' is never closed", opener);
            return -1;
        }
        if (p->tok.kind != T_CLOSE) {
            char found[64];
            token_text(p, &p->tok, found, sizeof found);
            parse_fail(p, p->tok.start, "expected an operator or '%c', found %s", opener == '(' ? ')' : ']',
                       found);
            return -1;
        }
        char closer = p->text[p->tok.start];
        if ((opener == '(') != (closer == ')')) {
            parse_fail(p, p->tok.start, "the '%c' at column %d is closed by '%c'", opener, t.start + 1, closer);
            return -1;
        }
        if (advance(p) != NB_OK)
            return -1;
        return inner;
    }
    default:
        return missing_operand(p);
    }
}

static int parse_power(parser *p)
{
    int base = parse_primary(p);
    if (base < 0 || p->tok.kind != T_POW)
        return base;
    int pos = p->tok.start;
    if (advance(p) != NB_OK)
        return -1;
    int exponent = parse_unary(p); /* right-associative, and 2^-1 is allowed */
    return op_node(p, EX_POW, NULL, base, exponent, pos);
}

static int parse_unary(parser *p)
{
    if (++p->depth > MAX_DEPTH) {
        parse_fail(p, p->tok.start, "the formula nests deeper than %d levels", MAX_DEPTH);
        return -1;
    }
    int result;
    if (p->tok.kind == T_MINUS || p->tok.kind == T_PLUS) {
        bool minus = p->tok.kind == T_MINUS;
        int pos = p->tok.start;
        if (advance(p) != NB_OK)
            return -1;
        int operand = parse_unary(p);
        result = minus ? op_node(p, EX_NEG, NULL, operand, -1, pos) : operand;
    } else {
        result = parse_power(p);
    }
    p->depth--;
    return result;
}

static int parse_product(parser *p)
{
    int left = parse_unary(p);
    while (left >= 0 && (p->tok.kind == T_STAR || p->tok.kind == T_SLASH)) {
        ex_kind kind = p->tok.kind == T_STAR ? EX_MUL : EX_DIV;
        int pos = p->tok.start;
        if (advance(p) != NB_OK)
            return -1;
        int right = parse_unary(p);
        left = op_node(p, kind, NULL, left, right, pos);
    }
    return left;
}

static int parse_sum(parser *p)
{
    int left = parse_product(p);
    while (left >= 0 && (p->tok.kind == T_PLUS || p->tok.kind == T_MINUS)) {
        ex_kind kind = p->tok.kind == T_PLUS ? EX_ADD : EX_SUB;
        int pos = p->tok.start;
        if (advance(p) != NB_OK)
            return -1;
        int right = parse_product(p);
        left = op_node(p, kind, NULL, left, right, pos);
    }
    return left;
}

/* After a complete side: anything but '=' or the end is an error worth naming. */
static nb_status expect_side_end(parser *p)
{
    if (p->tok.kind == T_END || p->tok.kind == T_EQUALS)
        return NB_OK;
    if (p->tok.kind == T_CLOSE)
        return parse_fail(p, p->tok.start, "this '%c' closes nothing", p->text[p->tok.start]);
    char found[64];
    token_text(p, &p->tok, found, sizeof found);
    if (p->tok.kind == T_COMMA)
        return parse_fail(p, p->tok.start, "a ',' outside the arguments of a function");
    return parse_fail(p, p->tok.start, "expected an operator, found %s", found);
}

/* ---- after parsing ----------------------------------------------------------------- */

static void mark_columns(const nb_expr *expr, int node, bool *used)
{
    const ex_node *e = &expr->nodes[node];
    if (e->kind == EX_COLUMN)
        used[e->index] = true;
    if (e->a >= 0)
        mark_columns(expr, e->a, used);
    if (e->b >= 0)
        mark_columns(expr, e->b, used);
}

static int first_param(const nb_expr *expr, int node)
{
    const ex_node *e = &expr->nodes[node];
    if (e->kind == EX_PARAM)
        return node;
    int found = e->a >= 0 ? first_param(expr, e->a) : -1;
    return found >= 0 ? found : e->b >= 0 ? first_param(expr, e->b) : -1;
}

/* Where the name of column k (not a plain name, with a letter in it) is written bare in
 * the formula, outside backticks and not part of a longer name; -1 when it is not. */
static int bare_occurrence(const parser *p, const char *name)
{
    size_t length = strlen(name);
    bool quoted = false;
    for (const char *c = p->text; *c; c++) {
        if (*c == '`')
            quoted = !quoted;
        if (quoted || strncmp(c, name, length) != 0)
            continue;
        unsigned char before = c > p->text ? (unsigned char)c[-1] : ' ', after = (unsigned char)c[length];
        if (!is_name_char(before) && before != '`' && !is_name_char(after) && after != '`')
            return (int)(c - p->text);
    }
    return -1;
}

/* `time-ms` written bare reads as time - ms: when the data have a column of that name,
 * the formula says one thing and surely means the other, so it is refused. */
static nb_status check_bare_names(parser *p)
{
    for (int k = 0; k < p->n_columns; k++) {
        const char *name = p->columns[k];
        size_t length = name ? strlen(name) : 0;
        /* " y" (a header "x, y") is not something a formula writes by mistake */
        if (!length || plain_name(name) || strchr(name, '`') || isspace((unsigned char)name[0]) ||
            isspace((unsigned char)name[length - 1]))
            continue;
        bool letter = false;
        for (const char *c = name; *c && !letter; c++)
            letter = is_name_start((unsigned char)*c);
        int at = letter ? bare_occurrence(p, name) : -1;
        if (at >= 0)
            return parse_fail(p, at, "'%s' is the name of data column %d, but written so it reads as an expression: "
                              "write `%s` (or $%d) for the column; to mean the expression, put spaces around its "
                              "operators", name, k + 1, name, k + 1);
    }
    return NB_OK;
}

static nb_status parse_formula(parser *p)
{
    nb_expr *expr = p->expr;
    if (check_bare_names(p) != NB_OK)
        return nb_errcode();
    if (advance(p) != NB_OK)
        return nb_errcode();
    if (p->tok.kind == T_END)
        return parse_fail(p, p->tok.start, "the formula is empty");
    int first = parse_sum(p);
    if (first < 0 || expect_side_end(p) != NB_OK)
        return nb_errcode();
    expr->root = first;
    if (p->tok.kind == T_EQUALS) {
        int equals = p->tok.start;
        if (advance(p) != NB_OK)
            return nb_errcode();
        if (p->tok.kind == T_END)
            return parse_fail(p, p->tok.start, "nothing after '=': the right side is missing");
        int second = parse_sum(p);
        if (second < 0 || expect_side_end(p) != NB_OK)
            return nb_errcode();
        if (p->tok.kind == T_EQUALS)
            return parse_fail(p, p->tok.start, "a second '=': a formula has one left side and one right side");
        int param = first_param(expr, first);
        if (param >= 0) {
            const char *name = expr->params[expr->nodes[param].index];
            char hint[200];
            column_hint(p, name, hint, sizeof hint);
            return parse_fail(p, expr->nodes[param].pos,
                              "the left side may use data columns only, and '%s' is not a column%s", name, hint);
        }
        if (!expr->nodes[first].data)
            return parse_fail(p, equals, "the left side uses no data column");
        expr->lhs_root = first;
        expr->root = second;
    }
    if (expr->n_params == 0)
        return parse_fail(p, p->tok.start,
                          "the formula has no parameters: every name in it is a data column or a constant");
    return NB_OK;
}

nb_expr *nb_expr_parse(const char *formula, int n_columns, const char *const *column_names)
{
    if (!formula || n_columns < 0 || (n_columns > 0 && !column_names)) {
        nb_fail(NB_EARG, "nb_expr_parse: formula and column names must not be NULL");
        return NULL;
    }
    nb_expr *expr = nb_calloc(1, sizeof *expr);
    if (!expr || !(expr->text = nb_strdup(formula))) {
        nb_free(expr);
        nb_fail(NB_ENOMEM, "out of memory parsing the formula");
        return NULL;
    }
    expr->lhs_root = -1;
    expr->n_columns = n_columns;
    parser p = {.expr = expr, .text = expr->text, .n_columns = n_columns, .columns = column_names};
    if (parse_formula(&p) != NB_OK) {
        nb_expr_free(expr);
        return NULL;
    }
    expr->column_in_rhs = nb_calloc((size_t)(n_columns ? n_columns : 1), sizeof(bool));
    expr->column_in_lhs = nb_calloc((size_t)(n_columns ? n_columns : 1), sizeof(bool));
    if (!expr->column_in_rhs || !expr->column_in_lhs) {
        nb_expr_free(expr);
        nb_fail(NB_ENOMEM, "out of memory parsing the formula");
        return NULL;
    }
    mark_columns(expr, expr->root, expr->column_in_rhs);
    if (expr->lhs_root >= 0)
        mark_columns(expr, expr->lhs_root, expr->column_in_lhs);
    if (!(expr->param_near = nb_alloc((size_t)expr->n_params * sizeof *expr->param_near))) {
        nb_expr_free(expr);
        nb_fail(NB_ENOMEM, "out of memory parsing the formula");
        return NULL;
    }
    for (int j = 0; j < expr->n_params; j++)
        expr->param_near[j] = near_column(n_columns, column_names, expr->params[j], (int)strlen(expr->params[j]));
    return expr;
}

void nb_expr_free(nb_expr *expr)
{
    if (!expr)
        return;
    for (int j = 0; j < expr->n_params; j++)
        nb_free(expr->params[j]);
    nb_free(expr->params);
    nb_free(expr->nodes);
    nb_free(expr->column_in_rhs);
    nb_free(expr->column_in_lhs);
    nb_free(expr->param_near);
    nb_free(expr->text);
    nb_free(expr);
}

const char *nb_expr_text(const nb_expr *expr) { return expr->text; }
int nb_expr_n_params(const nb_expr *expr) { return expr->n_params; }

const char *nb_expr_param_name(const nb_expr *expr, int index)
{
    return index >= 0 && index < expr->n_params ? expr->params[index] : NULL;
}

int nb_expr_param_near_column(const nb_expr *expr, int index)
{
    return expr && index >= 0 && index < expr->n_params ? expr->param_near[index] : -1;
}

int nb_expr_param_index(const nb_expr *expr, const char *name)
{
    for (int j = 0; j < expr->n_params; j++)
        if (strcmp(expr->params[j], name) == 0)
            return j;
    return -1;
}

bool nb_expr_uses_column(const nb_expr *expr, int column, bool left_side)
{
    if (column < 0 || column >= expr->n_columns)
        return false;
    return left_side ? expr->column_in_lhs[column] : expr->column_in_rhs[column];
}

bool nb_expr_has_response(const nb_expr *expr) { return expr->lhs_root >= 0; }
bool nb_expr_is_linear(const nb_expr *expr) { return expr->nodes[expr->root].dep == DEP_AFFINE; }

/* ---- building the graph ------------------------------------------------------------- */

typedef struct builder {
    const nb_expr *expr;
    nb_graph *graph;
    nb_node *const *columns;
    nb_node *const *params;
    bool fixed_data; /* compute data-only parts now, as constants */
    nb_node **fixed; /* per formula node: its constant, once computed (fixed_data) */
} builder;

static bool is_number(const builder *b, int node, double *value)
{
    const ex_node *e = &b->expr->nodes[node];
    if (e->kind != EX_NUM)
        return false;
    *value = e->value;
    return true;
}

static nb_node *build(const builder *b, int node);

/* a ^ c with a constant exponent: the common small powers take cheaper, exact ops. */
static nb_node *build_power(const builder *b, const ex_node *e)
{
    double exponent;
    if (is_number(b, e->b, &exponent)) {
        nb_node *base = build(b, e->a);
        if (exponent == 1)
            return base;
        if (exponent == 2)
            return nb_mul(base, base);
        if (exponent == 0.5)
            return nb_sqrt(base);
        if (exponent == -1)
            return base ? nb_div(nb_scalar(b->graph, 1.0), base) : NULL;
        return nb_pow_scalar(base, exponent);
    }
    double base;
    if (is_number(b, e->a, &base))
        return nb_pow(nb_scalar(b->graph, base), build(b, e->b));
    return nb_pow(build(b, e->a), build(b, e->b));
}

/* Whether node is a largest part that reads data but no parameter. */
static bool is_constant_part(const builder *b, int node)
{
    const ex_node *e = &b->expr->nodes[node];
    return e->data && e->dep == DEP_NONE && e->kind != EX_COLUMN;
}

/* Evaluate a built constant part and keep its value as a constant node of `graph`. */
static nb_node *freeze(nb_graph *graph, nb_node *part)
{
    if (nb_forward(part) != NB_OK)
        return NULL;
    const nb_tensor *value = nb_value(part);
    double *values = nb_alloc((size_t)value->size * sizeof *values);
    if (!values) {
        nb_fail(NB_ENOMEM, "out of memory for %lld precomputed values", (long long)value->size);
        return NULL;
    }
    nb_tensor_to_doubles(value, values);
    nb_node *constant = nb_const(graph, value->ndim, value->shape, values);
    nb_free(values);
    return constant;
}

/* Whether a column node holds its values (an input, a constant): an op's values exist
 * only after a pass of the caller's graph, and move when its storage is laid out again. */
static bool holds_values(const nb_node *column)
{
    const char *op = nb_node_op(column);
    return strcmp(op, "input") == 0 || strcmp(op, "const") == 0 || strcmp(op, "param") == 0;
}

/* Whether every column the part below node reads holds its values. */
static bool reads_leaves(const builder *b, int node)
{
    const ex_node *e = &b->expr->nodes[node];
    if (e->kind == EX_COLUMN)
        return !b->columns || !b->columns[e->index] || holds_values(b->columns[e->index]);
    return (e->a < 0 || reads_leaves(b, e->a)) && (e->b < 0 || reads_leaves(b, e->b));
}

/* A column of the fit's graph as a leaf of the scratch graph, reading its values in place. */
static nb_node *scratch_column(nb_graph *scratch, nb_node *column)
{
    const nb_tensor *v = nb_value(column);
    if (v->ndim == 0) {
        double value;
        nb_tensor_to_doubles(v, &value);
        return nb_scalar(scratch, value);
    }
    int64_t one_row[NB_MAX_DIMS];
    memcpy(one_row, v->shape, sizeof one_row);
    one_row[0] = 1; /* the binding brings the rows: nothing to allocate for them */
    nb_node *input = nb_input(scratch, nb_node_name(column), v->ndim, one_row);
    return input && nb_input_bind(input, v->dtype, v->data, v->shape[0]) == NB_OK ? input : NULL;
}

/* The scratch graph's leaves for the columns the part below node reads. */
static nb_status scratch_columns(const builder *b, int node, nb_graph *scratch, nb_node **columns)
{
    const ex_node *e = &b->expr->nodes[node];
    if (e->kind == EX_COLUMN && !columns[e->index]) {
        if (!b->columns || !b->columns[e->index])
            return nb_fail(NB_EARG, "nb_expr_build: the formula reads column %d, but no node was given for it",
                           e->index + 1);
        return (columns[e->index] = scratch_column(scratch, b->columns[e->index])) ? NB_OK : nb_errcode();
    }
    nb_status status = e->a >= 0 ? scratch_columns(b, e->a, scratch, columns) : NB_OK;
    return status == NB_OK && e->b >= 0 ? scratch_columns(b, e->b, scratch, columns) : status;
}

/* A part that reads data but no parameter, computed once in a graph of its own (so that
 * the fit's graph keeps the values only, and each part costs its own size) and kept as a
 * constant. */
static nb_node *constant_part(const builder *b, int node)
{
    if (!reads_leaves(b, node)) { /* columns the caller's graph computes: one pass of it */
        builder plain = *b;
        plain.fixed_data = false;
        nb_node *part = build(&plain, node);
        return part ? freeze(b->graph, part) : NULL;
    }
    nb_graph *scratch = nb_graph_new(nb_graph_dtype(b->graph));
    nb_node **columns = nb_calloc((size_t)b->expr->n_columns + 1, sizeof *columns);
    nb_node *constant = NULL;
    if (!scratch || !columns)
        nb_fail(NB_ENOMEM, "out of memory for a part of the formula");
    else if (scratch_columns(b, node, scratch, columns) == NB_OK) {
        builder plain = {b->expr, scratch, columns, NULL, false, NULL};
        nb_node *part = build(&plain, node);
        constant = part ? freeze(b->graph, part) : NULL;
    }
    nb_free(columns);
    nb_graph_free(scratch);
    return constant;
}

/* Every largest part below node that reads data but no parameter: fixed[part] gets its
 * constant. */
static nb_status compute_constant_parts(const builder *b, int node, nb_node **fixed)
{
    if (is_constant_part(b, node))
        return (fixed[node] = constant_part(b, node)) ? NB_OK : nb_errcode();
    const ex_node *e = &b->expr->nodes[node];
    nb_status status = e->a >= 0 ? compute_constant_parts(b, e->a, fixed) : NB_OK;
    return status == NB_OK && e->b >= 0 ? compute_constant_parts(b, e->b, fixed) : status;
}

static nb_node *build(const builder *b, int node)
{
    const ex_node *e = &b->expr->nodes[node];
    double c;
    if (b->fixed_data && b->fixed[node])
        return b->fixed[node];
    switch (e->kind) {
    case EX_NUM:
        return nb_scalar(b->graph, e->value);
    case EX_COLUMN:
        if (!b->columns || !b->columns[e->index]) {
            nb_fail(NB_EARG, "nb_expr_build: the formula reads column %d, but no node was given for it",
                    e->index + 1);
            return NULL;
        }
        return b->columns[e->index];
    case EX_PARAM:
        if (!b->params || !b->params[e->index]) {
            nb_fail(NB_EARG, "nb_expr_build: no node was given for parameter '%s'", b->expr->params[e->index]);
            return NULL;
        }
        return b->params[e->index];
    case EX_NEG:
        return nb_neg(build(b, e->a));
    case EX_ADD:
        if (is_number(b, e->a, &c))
            return nb_shift(build(b, e->b), c);
        if (is_number(b, e->b, &c))
            return nb_shift(build(b, e->a), c);
        return nb_add(build(b, e->a), build(b, e->b));
    case EX_SUB:
        if (is_number(b, e->b, &c))
            return nb_shift(build(b, e->a), -c);
        if (is_number(b, e->a, &c))
            return nb_shift(nb_neg(build(b, e->b)), c);
        return nb_sub(build(b, e->a), build(b, e->b));
    case EX_MUL:
        if (is_number(b, e->a, &c))
            return nb_scale(build(b, e->b), c);
        if (is_number(b, e->b, &c))
            return nb_scale(build(b, e->a), c);
        return nb_mul(build(b, e->a), build(b, e->b));
    case EX_DIV:
        /* Division stays a division (x/12 is not x*(1/12) to the last bit). */
        return nb_div(build(b, e->a), build(b, e->b));
    case EX_POW:
        return build_power(b, e);
    case EX_CALL: {
        const ex_function *f = e->function;
        return f->unary ? f->unary(build(b, e->a)) : f->binary(build(b, e->a), build(b, e->b));
    }
    }
    return NULL;
}

nb_node *nb_expr_build(const nb_expr *expr, nb_graph *graph, nb_node *const *columns, nb_node *const *params)
{
    if (!expr || !graph) {
        nb_fail(NB_EARG, "nb_expr_build: expr and graph must not be NULL");
        return NULL;
    }
    builder b = {expr, graph, columns, params, false, NULL};
    return build(&b, expr->root);
}

nb_node *nb_expr_build_fixed(const nb_expr *expr, nb_graph *graph, nb_node *const *columns,
                             nb_node *const *params)
{
    if (!expr || !graph) {
        nb_fail(NB_EARG, "nb_expr_build_fixed: expr and graph must not be NULL");
        return NULL;
    }
    nb_node **fixed = nb_calloc((size_t)expr->n_nodes, sizeof *fixed);
    if (!fixed) {
        nb_fail(NB_ENOMEM, "out of memory for a formula of %d nodes", expr->n_nodes);
        return NULL;
    }
    builder b = {expr, graph, columns, params, true, fixed};
    nb_node *model = compute_constant_parts(&b, expr->root, fixed) == NB_OK ? build(&b, expr->root) : NULL;
    nb_free(fixed);
    return model;
}

nb_node *nb_expr_build_response(const nb_expr *expr, nb_graph *graph, nb_node *const *columns)
{
    if (!expr || !graph) {
        nb_fail(NB_EARG, "nb_expr_build_response: expr and graph must not be NULL");
        return NULL;
    }
    if (expr->lhs_root < 0) {
        nb_fail(NB_EARG, "the formula '%s' has no left side", expr->text);
        return NULL;
    }
    builder b = {expr, graph, columns, NULL, false, NULL};
    return build(&b, expr->lhs_root);
}

nb_status nb_expr_eval(const nb_expr *expr, bool left_side, int64_t n, const double *const *columns,
                       const double *params, double *out)
{
    if (!expr || !out || n < 1 || (!params && !left_side && expr->n_params > 0))
        return nb_fail(NB_EARG, "nb_expr_eval: needs a formula, at least one point, parameter values and room "
                                "for the results");
    if (left_side && expr->lhs_root < 0)
        return nb_fail(NB_EARG, "the formula '%s' has no left side", expr->text);
    nb_graph *graph = nb_graph_new(NB_F64);
    nb_node **column_nodes = nb_calloc((size_t)expr->n_columns + 1, sizeof *column_nodes);
    nb_node **param_nodes = nb_calloc((size_t)expr->n_params + 1, sizeof *param_nodes);
    nb_status status = graph && column_nodes && param_nodes ? NB_OK : nb_fail(NB_ENOMEM, "nb_expr_eval: out of memory");
    int64_t shape[1] = {n};
    for (int k = 0; k < expr->n_columns && status == NB_OK; k++) {
        if (!(left_side ? expr->column_in_lhs[k] : expr->column_in_rhs[k]))
            continue;
        if (!columns || !columns[k]) {
            status = nb_fail(NB_EARG, "nb_expr_eval: the formula reads column %d, but no values were given for it",
                             k + 1);
            break;
        }
        column_nodes[k] = nb_input(graph, "column", 1, shape);
        status = column_nodes[k] ? nb_input_set_doubles(column_nodes[k], columns[k], n) : nb_errcode();
    }
    for (int j = 0; j < expr->n_params && !left_side && status == NB_OK; j++)
        if (!(param_nodes[j] = nb_scalar(graph, params[j])))
            status = nb_errcode();
    nb_node *value = NULL;
    if (status == NB_OK) {
        builder b = {expr, graph, column_nodes, param_nodes, false, NULL};
        value = build(&b, left_side ? expr->lhs_root : expr->root);
        status = value ? nb_forward(value) : nb_errcode();
    }
    if (status == NB_OK) {
        const nb_tensor *v = nb_value(value);
        if (v->size == n) {
            nb_tensor_to_doubles(v, out);
        } else if (v->size == 1) {
            double constant = nb_item(value);
            for (int64_t i = 0; i < n; i++)
                out[i] = constant;
        } else {
            status = nb_fail(NB_ESHAPE, "nb_expr_eval: the formula gives %lld values for %lld points",
                             (long long)v->size, (long long)n);
        }
    }
    nb_free(column_nodes);
    nb_free(param_nodes);
    nb_graph_free(graph);
    return status;
}
