/* nabla fit FORMULA FILE: least-squares fit of any formula to a table of data, by the
 * solver or, for comparison, by the toolkit's gradient methods; optionally a plot. */
#include "cli.h"
#include "fit_options.h"
#include "fit_plot.h"

#include <cjson/cJSON.h>
#include <ctype.h>
#include <float.h>
#include <getopt.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

static void usage(FILE *out)
{
    fputs("usage: nabla fit FORMULA FILE [options]\n"
          "\n"
          "Fit the parameters of FORMULA to the data in FILE by least squares: Levenberg-Marquardt\n"
          "with exact derivatives from automatic differentiation, or one QR solve when the formula\n"
          "is linear in its parameters. The toolkit's gradient methods (sgd, adam, lbfgs) can run\n"
          "instead, to compare the tutorials' way with the solver's on the same problem.\n"
          "\n"
          "FORMULA   'y = b1*(1-exp(-b2*x))', 'log(y) = a - b*x', or just 'a*exp(-k*t)'.\n"
          "          Numbers (2, .5, 1e-5), + - * /, powers ^ or ** (right-associative; -x^2 is\n"
          "          -(x^2)), ( ) or [ ], the functions exp log log10 sqrt abs sin cos tan asin\n"
          "          acos atan atan2 sinh cosh tanh pow min max, the constants pi and e.\n"
          "          Names of data columns are inputs ($2 is the second column); every other\n"
          "          name is a parameter. A left side (columns only) is the response.\n"
          "FILE      CSV, semicolon-separated, TSV or whitespace-separated numbers, with or\n"
          "          without a header line; '-' reads standard input; lines starting with #\n"
          "          are skipped. Without a header the columns are c1, c2, ... (x and y when\n"
          "          there are two). Errors name the file, line and column.\n"
          "\n"
          "options:\n"
          "  --y COL            the response when the formula has no left side: a column name\n"
          "                     or number (default: the column named y, else the last)\n"
          "  --sigma COL        per-point uncertainties: weighted least squares (weights 1/sigma^2)\n"
          "  --absolute-sigma   take the sigmas as absolute: do not scale the covariance by the\n"
          "                     residual variance\n"
          "  --init LIST        start values, e.g. b1=500,b2=1e-4; parameters not given start at 1\n"
          "  --fix LIST         hold parameters fixed: c=-0.65 (at that value) or c (at its --init\n"
          "                     value); they are reported as fixed, not estimated\n"
          "  --via LIST         fit only these parameters (gnuplot's via), e.g. a,k; the others\n"
          "                     are fixed at their --init values\n"
          "  --bounds LIST      e.g. 'k>0, 0<=c<=10, b<5' (< and <= alike: closed bounds), kept\n"
          "                     exactly by a projected Levenberg-Marquardt; a start outside is moved\n"
          "                     onto the nearest bound; a parameter that ends at a bound is flagged\n"
          "                     and has no standard error\n"
          "  --loss L           linear (least squares, default), or a robust loss that lets\n"
          "                     outliers pull less: huber, soft_l1, cauchy, arctan (as SciPy)\n"
          "  --f-scale R        robust losses: the residual size where the loss bends (default 1)\n"
          "  --starts N         fit from the start and N-1 random starts (each parameter times\n"
          "                     10^U(-1,1), or uniform between two bounds; --seed draws them) on\n"
          "                     all threads; report the best and how many starts reached it\n"
          "  --method M         lm (Levenberg-Marquardt), linear (QR; only for formulas linear in\n"
          "                     their parameters), or a gradient method: sgd, adam (shuffled\n"
          "                     mini-batches) or lbfgs (all points, strong Wolfe line search);\n"
          "                     default: linear when it applies, else lm\n"
          "  --lr R             gradient methods: the learning rate (sgd 0.01, adam 0.01, lbfgs 1)\n"
          "  --epochs N         gradient methods: passes over the data (1000); for lbfgs the most\n"
          "                     iterations (1000): it stops earlier when it can go no lower\n"
          "  --batch N          sgd and adam: points per step (32, or all when fewer); the loss\n"
          "                     of a batch is the mean of its squared (weighted) residuals\n"
          "  --seed N           sgd and adam: the shuffling of the batches; --starts: the draws\n"
          "                     (default 0)\n"
          "  --max-evals N      lm: give up after N model evaluations (default 400 * (parameters + 1))\n"
          "  --confidence P     level of the confidence intervals (default 0.95)\n"
          "  --header           the first line names the columns\n"
          "  --no-header        the first line is data (default: a header when it has text where\n"
          "                     the second line has numbers)\n"
          "  --delimiter C      ',' ';' 'tab' or 'space' (default: guessed from the first lines)\n"
          "  --plot FILE        draw the fit (.png, .svg or .pdf). With one input column: the data\n"
          "                     and the fitted curve, the residuals below. With several: observed\n"
          "                     against fitted values, the residuals against the fitted values below\n"
          "  --json             print one JSON object instead of the table\n"
          "  --help             this text\n"
          "\n"
          "A gradient method's standard errors are computed where it ended, as for lm; the output\n"
          "compares its sum of squares with the solver's on the same data and start, and says\n"
          "whether it reached the least-squares optimum.\n"
          "\n"
          "Exit status: 0 converged (a gradient method: it ran without diverging), 1 failed (bad\n"
          "data, a singular or non-finite model, no convergence, a plot that cannot be written),\n"
          "2 bad usage (unknown or conflicting options, bad values, a formula that does not parse,\n"
          "options that contradict it: --init for a name that is not a parameter, --sigma or a\n"
          "response column that the formula reads).\n",
          out);
}

typedef struct fit_args {
    const char *formula, *file, *plot;
    nb_fit_setup setup;
    nb_lsq_options lsq;
    nb_csv_options read;
    const char *init_text;
    bool json;
    /* Options given that apply to some methods only, for the check of combinations. */
    const char *lr_text, *epochs_text, *batch_text, *seed_text, *max_evals_text;
    fit_constraints cons; /* --fix, --via, --bounds, --loss, --f-scale, --starts */
} fit_args;

/* "b1=500,b2=1e-4" into names and values (names point into `text`, which is modified). */
static bool parse_init(char *text, const char ***names, double **values, int *count)
{
    int capacity = 1;
    for (const char *c = text; *c; c++)
        capacity += *c == ',';
    *names = calloc((size_t)capacity, sizeof **names);
    *values = calloc((size_t)capacity, sizeof **values);
    *count = 0;
    if (!*names || !*values)
        return false;
    for (char *item = strtok(text, ","); item; item = strtok(NULL, ",")) {
        char *equals = strchr(item, '=');
        if (!equals) {
            cli_error("fit", "--init: expected NAME=VALUE, got '%s'", item);
            return false;
        }
        *equals = '\0';
        char *name = item, *value = equals + 1;
        while (*name == ' ')
            name++;
        for (char *t = equals - 1; t >= name && *t == ' '; t--)
            *t = '\0';
        double number;
        if (!*name || !cli_number(value, &number)) {
            cli_error("fit", "--init: '%s=%s' is not NAME=NUMBER", name, value);
            return false;
        }
        for (int k = 0; k < *count; k++)
            if (strcmp((*names)[k], name) == 0) {
                cli_error("fit", "--init: '%s' is given twice", name);
                return false;
            }
        (*names)[*count] = name;
        (*values)[*count] = number;
        ++*count;
    }
    return true;
}

static bool parse_delimiter(const char *text, char *delimiter)
{
    if (strcmp(text, ",") == 0 || strcmp(text, "comma") == 0)
        *delimiter = ',';
    else if (strcmp(text, ";") == 0 || strcmp(text, "semicolon") == 0)
        *delimiter = ';';
    else if (strcmp(text, "\t") == 0 || strcmp(text, "tab") == 0 || strcmp(text, "\\t") == 0)
        *delimiter = '\t';
    else if (strcmp(text, " ") == 0 || strcmp(text, "space") == 0 || strcmp(text, "whitespace") == 0)
        *delimiter = ' ';
    else
        return false;
    return true;
}

/* lm or linear, or gradient descent with sgd, adam or lbfgs. */
static bool parse_method(const char *text, nb_lsq_options *lsq)
{
    static const char *const optimizers[] = {"sgd", "adam", "lbfgs"};
    for (nb_lsq_method method = NB_LSQ_LM; method <= NB_LSQ_LINEAR; method++)
        if (strcmp(text, nb_lsq_method_name(method)) == 0) {
            lsq->method = method;
            return true;
        }
    for (size_t k = 0; k < sizeof optimizers / sizeof optimizers[0]; k++)
        if (strcmp(text, optimizers[k]) == 0 && nb_optim_parse(text, &lsq->optim) == NB_OK) {
            lsq->method = NB_LSQ_GRADIENT;
            return true;
        }
    return false;
}

/* What --method names: the solver, or for gradient descent its optimizer. */
static const char *method_name(nb_lsq_method method, nb_optim_kind optim)
{
    return method == NB_LSQ_GRADIENT ? nb_optim_name(optim) : nb_lsq_method_name(method);
}

/* The options that make sense only with some methods, and their values. */
static bool check_method_options(fit_args *a)
{
    bool gradient = nb_lsq_method_is_gradient(a->lsq.method), lbfgs = gradient && a->lsq.optim == NB_LBFGS;
    const char *method =
        a->lsq.method == NB_LSQ_AUTO ? "the default method" : method_name(a->lsq.method, a->lsq.optim);
    const char *gradient_only[][2] = {{"--lr", a->lr_text}, {"--epochs", a->epochs_text},
                                      {"--batch", a->batch_text}, {"--seed", a->seed_text}};
    for (int k = 0; k < 4; k++)
        if (gradient_only[k][1] && !gradient && !(k == 3 && a->cons.starts_text)) {
            cli_error("fit", "%s applies to the gradient methods (--method sgd, adam or lbfgs), not to %s",
                      gradient_only[k][0], method);
            return false;
        }
    if (a->max_evals_text && gradient) {
        cli_error("fit", "--max-evals is the budget of lm; %s runs for --epochs", method);
        return false;
    }
    if ((a->batch_text || a->seed_text) && lbfgs) {
        cli_error("fit", "%s: lbfgs takes all points at once (its line search compares losses of the same "
                         "points); mini-batches are for sgd and adam",
                  a->batch_text ? "--batch" : "--seed");
        return false;
    }
    uint64_t value;
    if (a->lr_text && !cli_parse_number("fit", "--lr", a->lr_text, CLI_POSITIVE, &a->lsq.lr))
        return false;
    if (a->epochs_text) {
        if (!cli_parse_count("fit", "--epochs", a->epochs_text, 1, CLI_MAX_EPOCHS, &value))
            return false;
        a->lsq.epochs = (int)value;
    }
    if (a->batch_text) {
        if (!cli_parse_count("fit", "--batch", a->batch_text, 1, INT32_MAX, &value))
            return false;
        a->lsq.batch = (int64_t)value;
    }
    if (a->seed_text && !cli_parse_count("fit", "--seed", a->seed_text, 0, UINT64_MAX, &a->lsq.seed))
        return false;
    if (a->max_evals_text) {
        if (!cli_parse_count("fit", "--max-evals", a->max_evals_text, 1, INT32_MAX, &value))
            return false;
        a->lsq.max_evals = (int)value;
    }
    return true;
}

/* Options into `a`; 0 to go on, else the exit status (0 after --help). */
enum { OPT_Y = 1, OPT_SIGMA, OPT_ABS_SIGMA, OPT_INIT, OPT_METHOD, OPT_LR, OPT_EPOCHS, OPT_BATCH, OPT_SEED,
       OPT_MAX_EVALS, OPT_CONFIDENCE, OPT_HEADER, OPT_NO_HEADER, OPT_DELIMITER, OPT_PLOT, OPT_JSON, OPT_HELP,
       OPT_CONSTRAINT };

static const struct option fit_options[] = {
    {"y", required_argument, NULL, OPT_Y},
    {"sigma", required_argument, NULL, OPT_SIGMA},
    {"absolute-sigma", no_argument, NULL, OPT_ABS_SIGMA},
    {"init", required_argument, NULL, OPT_INIT},
    {"method", required_argument, NULL, OPT_METHOD},
    {"lr", required_argument, NULL, OPT_LR},
    {"epochs", required_argument, NULL, OPT_EPOCHS},
    {"batch", required_argument, NULL, OPT_BATCH},
    {"seed", required_argument, NULL, OPT_SEED},
    {"max-evals", required_argument, NULL, OPT_MAX_EVALS},
    {"confidence", required_argument, NULL, OPT_CONFIDENCE},
    {"header", no_argument, NULL, OPT_HEADER},
    {"no-header", no_argument, NULL, OPT_NO_HEADER},
    {"delimiter", required_argument, NULL, OPT_DELIMITER},
    {"plot", required_argument, NULL, OPT_PLOT},
    {"json", no_argument, NULL, OPT_JSON},
    {"help", no_argument, NULL, OPT_HELP},
    {"fix", required_argument, NULL, OPT_CONSTRAINT},
    {"via", required_argument, NULL, OPT_CONSTRAINT},
    {"bounds", required_argument, NULL, OPT_CONSTRAINT},
    {"loss", required_argument, NULL, OPT_CONSTRAINT},
    {"f-scale", required_argument, NULL, OPT_CONSTRAINT},
    {"starts", required_argument, NULL, OPT_CONSTRAINT},
    {NULL, 0, NULL, 0},
};

/* The options whose values are checked as they are read: 0, or 2 (bad usage). */
static int take_checked_option(int option, const char *value, fit_args *a)
{
    switch (option) {
    case OPT_METHOD:
        if (parse_method(value, &a->lsq))
            return 0;
        cli_error("fit", "--method: unknown method '%s' (lm, linear, sgd, adam or lbfgs)", value);
        return 2;
    case OPT_CONFIDENCE:
        return cli_parse_number("fit", "--confidence", value, CLI_FRACTION, &a->lsq.confidence) ? 0 : 2;
    case OPT_DELIMITER:
        if (parse_delimiter(value, &a->read.delimiter))
            return 0;
        cli_error("fit", "--delimiter: expected ',', ';', 'tab' or 'space', got '%s'", value);
        return 2;
    default: /* OPT_PLOT */
        if (!cli_plot_path_ok(value)) {
            cli_error("fit", "--plot: cannot tell the image format of '%s': use .png, .svg or .pdf", value);
            return 2;
        }
        a->plot = value;
        return 0;
    }
}

/* One option: 0 to go on, -1 after --help, 2 on bad usage. */
static int take_option(int option, int option_index, char **argv, fit_args *a)
{
    switch (option) {
    case OPT_Y: a->setup.response = optarg; return 0;
    case OPT_SIGMA: a->setup.sigma = optarg; return 0;
    case OPT_ABS_SIGMA: a->lsq.absolute_sigma = true; return 0;
    case OPT_INIT: a->init_text = optarg; return 0;
    case OPT_LR: a->lr_text = optarg; return 0;
    case OPT_EPOCHS: a->epochs_text = optarg; return 0;
    case OPT_BATCH: a->batch_text = optarg; return 0;
    case OPT_SEED: a->seed_text = optarg; return 0;
    case OPT_MAX_EVALS: a->max_evals_text = optarg; return 0;
    case OPT_HEADER: a->read.header = NB_CSV_HEADER_YES; return 0;
    case OPT_NO_HEADER: a->read.header = NB_CSV_HEADER_NO; return 0;
    case OPT_JSON: a->json = true; return 0;
    case OPT_HELP: usage(stdout); return -1;
    case OPT_CONSTRAINT: return fit_constraint_option(fit_options[option_index].name, optarg, &a->cons) ? 0 : 2;
    case OPT_METHOD: case OPT_CONFIDENCE: case OPT_DELIMITER: case OPT_PLOT:
        return take_checked_option(option, optarg, a);
    case ':':
        cli_error("fit", "option '%s' needs a value", argv[optind - 1]);
        return 2;
    default:
        cli_error("fit", "unknown option '%s' (nabla fit --help lists them)", argv[optind - 1]);
        return 2;
    }
}

static int parse_args(int argc, char **argv, fit_args *a)
{
    optind = 1;
    opterr = 0;
    int option, option_index = 0;
    while ((option = getopt_long(argc, argv, ":", fit_options, &option_index)) != -1) {
        int status = take_option(option, option_index, argv, a);
        if (status != 0)
            return status;
    }
    if (argc - optind != 2) {
        cli_error("fit", "expected FORMULA and FILE, got %d argument%s (nabla fit --help)", argc - optind,
                  argc - optind == 1 ? "" : "s");
        return 2;
    }
    a->formula = argv[optind];
    a->file = argv[optind + 1];
    if (nb_lsq_method_is_gradient(a->lsq.method) && (a->cons.fix_text || a->cons.via_text || a->cons.bounds_text ||
                                                     a->cons.loss_text || a->cons.f_scale_text || a->cons.starts_text)) {
        cli_error("fit", "--fix, --via, --bounds, --loss, --f-scale and --starts are for the solver (lm), not for "
                         "the gradient methods");
        return 2;
    }
    return check_method_options(a) && fit_constraints_parse(&a->cons, &a->setup, &a->lsq) ? 0 : 2;
}

/* ---- what the output shows besides the result ------------------------------------------ */

/* The fit's response per row, and what to call it: the left side evaluated (named as
 * written), or the response column by the rule of nb_fit_setup. */
typedef struct response_info {
    double *values;
    char name[160];
    double *sigma; /* per row, or NULL */
} response_info;

static nb_status find_response(const fit_args *a, const nb_table *data, const nb_expr *expr, response_info *r)
{
    int64_t m = data->n_rows;
    r->values = malloc((size_t)m * sizeof *r->values);
    if (!r->values)
        return nb_fail(NB_ENOMEM, "out of memory");
    if (nb_expr_has_response(expr)) {
        const char *formula = nb_expr_text(expr), *equals = strchr(formula, '=');
        while (isspace((unsigned char)*formula))
            formula++;
        int length = (int)(equals - formula);
        while (length > 0 && isspace((unsigned char)formula[length - 1]))
            length--;
        snprintf(r->name, sizeof r->name, "%.*s", length, formula);
        nb_status status = nb_expr_eval(expr, true, m, (const double *const *)data->columns, NULL, r->values);
        if (status != NB_OK)
            return status;
    } else {
        int k = nb_table_column(data, a->setup.response ? a->setup.response : "y");
        if (k < 0)
            k = data->n_columns - 1; /* only reached without --y: nb_fit_formula checked it */
        snprintf(r->name, sizeof r->name, "%s", data->names[k]);
        memcpy(r->values, data->columns[k], (size_t)m * sizeof *r->values);
    }
    int sigma = a->setup.sigma ? nb_table_column(data, a->setup.sigma) : -1;
    r->sigma = sigma >= 0 ? data->columns[sigma] : NULL;
    return NB_OK;
}

/* How a gradient method's end point compares with the solver's. */
typedef struct comparison {
    bool ran;            /* the solver fitted (else `error` says why not) */
    char error[512];
    nb_lsq_result solver;
    bool reached;        /* the gradient method is at the solver's optimum */
    int worst;           /* the parameter furthest from the solver's, relative to its size */
    double worst_diff;
} comparison;

/* Reached: a sum of squares within a millionth of the solver's, or both at the level of
 * rounding (1e-20 of the sum of the squared weighted responses, residuals of 1e-10). */
static void compare_with_solver(const fit_args *a, const nb_table *data, const nb_lsq_result *r,
                                const response_info *response, comparison *c)
{
    memset(c, 0, sizeof *c);
    nb_lsq_options solver = a->lsq;
    solver.method = NB_LSQ_AUTO;
    solver.lr = 0, solver.epochs = 0, solver.batch = 0;
    if (nb_fit_formula(a->formula, data, &a->setup, &solver, &c->solver) != NB_OK) {
        snprintf(c->error, sizeof c->error, "%s", nb_errmsg());
        return;
    }
    c->ran = true;
    double scale = 0;
    for (int64_t i = 0; i < data->n_rows; i++) {
        double wy = response->values[i] / (response->sigma ? response->sigma[i] : 1);
        scale += wy * wy;
    }
    c->reached = r->sse <= c->solver.sse * (1 + 1e-6) + 1e-20 * scale;
    for (int j = 0; j < r->n_params; j++) { /* relative: parameters differ in scale */
        double diff = fabs(r->params[j] - c->solver.params[j]) / fmax(fabs(c->solver.params[j]), DBL_MIN);
        if (j == 0 || diff > c->worst_diff)
            c->worst = j, c->worst_diff = diff;
    }
}

static const char *solver_name(nb_lsq_method method)
{
    return method == NB_LSQ_LINEAR ? "the linear least-squares solve" : "Levenberg-Marquardt";
}

/* The optimizer of gradient descent as the text calls it. */
static const char *optim_title(nb_optim_kind optim)
{
    return optim == NB_SGD ? "SGD" : optim == NB_ADAM ? "Adam" : optim == NB_LBFGS ? "L-BFGS" : nb_optim_name(optim);
}

static void print_method(const nb_lsq_result *r)
{
    if (r->method == NB_LSQ_LINEAR)
        printf("method    linear least squares (QR in extended precision, refined)\n");
    else if (r->method == NB_LSQ_GRADIENT && r->optim == NB_LBFGS)
        printf("method    L-BFGS, a gradient method: all points at once, strong Wolfe line search (first try "
               "%g)\n",
               r->lr);
    else if (r->method == NB_LSQ_GRADIENT)
        printf("method    %s, a gradient method: learning rate %g, batches of %lld shuffled every epoch\n",
               optim_title(r->optim), r->lr, (long long)r->batch);
    else
        printf("method    Levenberg-Marquardt, derivatives by automatic differentiation\n");
}

static void print_table(const fit_args *a, const nb_lsq_result *r, const comparison *c)
{
    bool gradient = nb_lsq_method_is_gradient(r->method);
    printf("formula   %s\n", a->formula);
    printf("data      %s: %lld points%s\n", a->file, (long long)r->n_points,
           a->setup.sigma ? ", weighted by 1/sigma^2" : "");
    print_method(r);
    printf("stopped   %s%s\n\n", nb_lsq_stop_text(r->stop), r->converged || gradient ? "" : "  ** NOT CONVERGED **");

    int width = 9;
    for (int j = 0; j < r->n_params; j++)
        if ((int)strlen(r->names[j]) > width)
            width = (int)strlen(r->names[j]);
    char level[64];
    snprintf(level, sizeof level, "%g%% confidence interval", 100 * r->confidence);
    printf("%-*s  %18s  %12s  %s\n", width, "parameter", "estimate", "std error", level);
    for (int j = 0; j < r->n_params; j++)
        printf("%-*s  %18.11g  %12.5g  [%.8g, %.8g]%s\n", width, r->names[j], r->params[j], r->std_error[j],
               r->ci_low[j], r->ci_high[j], fit_param_status(r, j));
    printf("\n");
    printf("sum of squares      %.11g\n", r->sse);
    printf("residual std error  %.6g on %lld degrees of freedom\n", r->residual_std, (long long)r->dof);
    printf("R^2                 %.10g\n", r->r_squared);
    if (gradient && r->optim == NB_LBFGS)
        printf("iterations          %d (%d evaluation%s of the loss and its gradient, line searches included)\n",
               r->iterations, r->n_evals, r->n_evals == 1 ? "" : "s");
    else if (gradient)
        printf("iterations          %d update%s in %d epoch%s (a gradient of a batch each)\n", r->iterations,
               r->iterations == 1 ? "" : "s", r->epochs, r->epochs == 1 ? "" : "s");
    else
        printf("iterations          %d (%d model evaluation%s, %d Jacobian evaluation%s)\n", r->iterations,
               r->n_evals, r->n_evals == 1 ? "" : "s", r->n_jacobians, r->n_jacobians == 1 ? "" : "s");
    if (gradient) {
        if (!c->ran) {
            printf("solver    the least-squares solver, for comparison, failed: %s\n", c->error);
        } else {
            printf("solver    %s on the same data%s: sum of squares %.6g (%d iteration%s)\n",
                   solver_name(c->solver.method), c->solver.method == NB_LSQ_LINEAR ? "" : " from the same start",
                   c->solver.sse, c->solver.iterations, c->solver.iterations == 1 ? "" : "s");
            printf("          %s %s (furthest parameter: %s = %.10g against %.10g)\n",
                   method_name(r->method, r->optim),
                   c->reached ? "reached the least-squares optimum" : "did NOT reach the least-squares optimum",
                   r->names[c->worst], r->params[c->worst], c->solver.params[c->worst]);
        }
    }
    fit_constraint_notes(r);
    bool no_errors = false;
    for (int j = 0; j < r->n_params; j++)
        no_errors |= isnan(r->std_error[j]) && r->dof > 0 && !r->fixed[j] && !r->at_bound[j];
    if (no_errors)
        printf("note: the Jacobian is singular where %s ended (the model does not react to some parameter "
               "there), so the standard errors are not defined\n",
               method_name(r->method, r->optim));
    /* A standard error far beyond the estimate: the data do not pin that parameter down
     * (often a start on a plateau where the model does not react to it). */
    for (int j = 0; j < r->n_params; j++)
        if (r->std_error[j] > 100 * fabs(r->params[j]))
            printf("note: %s is barely determined by the data (std error %.3g for an estimate of %.3g); "
                   "check the model and the start values\n",
                   r->names[j], r->std_error[j], r->params[j]);
    /* A linear solve does not start anywhere. */
    int defaulted = 0;
    for (int j = 0; j < r->n_params && r->method != NB_LSQ_LINEAR; j++)
        defaulted += r->defaulted[j];
    if (defaulted) {
        printf("note: no start value was given for");
        for (int j = 0, k = 0; j < r->n_params; j++)
            if (r->defaulted[j])
                printf("%s %s", k++ ? "," : "", r->names[j]);
        printf("; %s at 1 (set start values with --init)\n", defaulted > 1 ? "they started" : "it started");
    }
}

static cJSON *named_numbers(const nb_lsq_result *r, const double *values)
{
    cJSON *object = cJSON_CreateObject();
    for (int j = 0; object && j < r->n_params; j++)
        cJSON_AddNumberToObject(object, r->names[j], values[j]);
    return object;
}

static bool print_json(const char *formula, const nb_lsq_result *r, const comparison *c)
{
    cJSON *root = cJSON_CreateObject();
    if (!root)
        return false;
    cJSON_AddStringToObject(root, "formula", formula);
    cJSON_AddStringToObject(root, "method", method_name(r->method, r->optim));
    cJSON_AddItemToObject(root, "params", named_numbers(r, r->params));
    cJSON_AddItemToObject(root, "stderr", named_numbers(r, r->std_error));
    cJSON *ci = cJSON_AddObjectToObject(root, "ci");
    cJSON_AddNumberToObject(ci, "level", r->confidence);
    for (int j = 0; j < r->n_params; j++) {
        double bounds[2] = {r->ci_low[j], r->ci_high[j]};
        cJSON_AddItemToObject(ci, r->names[j], cJSON_CreateDoubleArray(bounds, 2));
    }
    cJSON_AddNumberToObject(root, "sse", r->sse);
    cJSON_AddNumberToObject(root, "r_squared", r->r_squared);
    cJSON_AddNumberToObject(root, "residual_std", r->residual_std);
    cJSON_AddNumberToObject(root, "dof", (double)r->dof);
    cJSON_AddNumberToObject(root, "n_points", (double)r->n_points);
    cJSON_AddNumberToObject(root, "iterations", r->iterations);
    cJSON_AddNumberToObject(root, "evaluations", r->n_evals);
    cJSON_AddNumberToObject(root, "jacobian_evaluations", r->n_jacobians);
    cJSON_AddBoolToObject(root, "converged", r->converged);
    cJSON_AddStringToObject(root, "stop_reason", nb_lsq_stop_text(r->stop));
    cJSON *defaulted = cJSON_AddArrayToObject(root, "started_at_1");
    for (int j = 0; j < r->n_params; j++)
        if (r->defaulted[j])
            cJSON_AddItemToArray(defaulted, cJSON_CreateString(r->names[j]));
    fit_constraints_json(root, r);
    if (nb_lsq_method_is_gradient(r->method)) {
        cJSON *gradient = cJSON_AddObjectToObject(root, "gradient");
        cJSON_AddNumberToObject(gradient, "epochs", r->epochs);
        cJSON_AddNumberToObject(gradient, "lr", r->lr);
        cJSON_AddNumberToObject(gradient, "batch", (double)r->batch);
        cJSON *solver = cJSON_AddObjectToObject(root, "solver");
        if (c->ran) {
            cJSON_AddStringToObject(solver, "method", nb_lsq_method_name(c->solver.method));
            cJSON_AddItemToObject(solver, "params", named_numbers(&c->solver, c->solver.params));
            cJSON_AddNumberToObject(solver, "sse", c->solver.sse);
            cJSON_AddNumberToObject(solver, "iterations", c->solver.iterations);
            cJSON_AddBoolToObject(root, "reached_optimum", c->reached);
        } else {
            cJSON_AddStringToObject(solver, "error", c->error);
            cJSON_AddNullToObject(root, "reached_optimum");
        }
    }
    char *text = cJSON_PrintUnformatted(root);
    cJSON_Delete(root);
    if (!text)
        return false;
    puts(text);
    cJSON_free(text);
    return true;
}

/* The caption over the plot: how the fit was made and how well it fits. */
static void plot_caption(const nb_lsq_result *r, char *buf, size_t size)
{
    const char *how = r->method == NB_LSQ_LINEAR     ? "linear least squares"
                      : r->method == NB_LSQ_GRADIENT ? optim_title(r->optim)
                                                     : "Levenberg-Marquardt";
    int used;
    if (r->n_params <= 4) { /* more would not be readable: the table has them all */
        used = snprintf(buf, size, "%s: ", how);
        for (int j = 0; j < r->n_params && used < (int)size; j++)
            used += snprintf(buf + used, size - (size_t)used, "%s%s = %.5g", j ? ", " : "", r->names[j],
                             r->params[j]);
    } else {
        used = snprintf(buf, size, "%s, %d parameters", how, r->n_params);
    }
    if (used < (int)size)
        snprintf(buf + used, size - (size_t)used, "   (SSE %.4g, R\xc2\xb2 %.5g)", r->sse, r->r_squared);
}

/* Options that contradict the formula are bad usage, found before any fitting: a start
 * value for a name that is not a parameter, an uncertainty column the formula reads, a
 * response column (no left side) that the right side reads. */
static bool options_fit_formula(const fit_args *a, const nb_table *data, const nb_expr *expr)
{
    for (int k = 0; k < a->setup.n_init; k++) {
        const char *name = a->setup.init_names[k];
        if (nb_expr_param_index(expr, name) >= 0)
            continue;
        int column = nb_table_column(data, name);
        if (column >= 0 && strcmp(data->names[column], name) == 0) {
            cli_error("fit", "--init: '%s' is a data column, not a parameter of the formula", name);
        } else {
            char params[512] = "";
            for (int j = 0, used = 0; j < nb_expr_n_params(expr) && used < (int)sizeof params; j++)
                used += snprintf(params + used, sizeof params - (size_t)used, j ? ", %s" : "%s",
                                 nb_expr_param_name(expr, j));
            cli_error("fit", "--init: a start value is given for '%s', which does not occur in the formula (its "
                             "parameters: %s)", name, params);
        }
        return false;
    }
    int response = -1;
    if (!nb_expr_has_response(expr)) {
        response = nb_table_column(data, a->setup.response ? a->setup.response : "y");
        if (response < 0 && !a->setup.response)
            response = data->n_columns - 1;
        if (response >= 0 && nb_expr_uses_column(expr, response, false)) {
            cli_error("fit", "the response is column '%s', which the formula also reads; name the response (a left "
                             "side such as 'y = ...', or --y COL)", data->names[response]);
            return false;
        }
    }
    int sigma = a->setup.sigma ? nb_table_column(data, a->setup.sigma) : -1;
    if (sigma >= 0 && (nb_expr_uses_column(expr, sigma, false) || sigma == response)) {
        cli_error("fit", "--sigma: column '%s' is also used as data by the formula", data->names[sigma]);
        return false;
    }
    return true;
}

static int run_fit(fit_args *a)
{
    nb_table *data = nb_table_read(a->file, &a->read);
    if (!data) {
        cli_error("fit", NULL);
        return 1;
    }
    /* A formula that does not parse is bad usage, told with a caret under the column. */
    nb_expr *expr = nb_expr_parse(a->formula, data->n_columns, (const char *const *)data->names);
    if (!expr || !options_fit_formula(a, data, expr) || !fit_constraints_check(&a->cons, expr)) {
        if (!expr)
            cli_error("fit", NULL);
        nb_expr_free(expr);
        nb_table_free(data);
        return 2;
    }
    int status = 1;
    nb_lsq_result result;
    response_info response = {0};
    comparison compare = {0};
    if (nb_fit_formula(a->formula, data, &a->setup, &a->lsq, &result) != NB_OK) {
        cli_error("fit", NULL);
        if (a->lsq.method == NB_LSQ_LINEAR && !nb_expr_is_linear(expr))
            status = 2; /* --method linear for a nonlinear formula is bad usage */
        goto done_data;
    }
    if (find_response(a, data, expr, &response) != NB_OK) {
        cli_error("fit", NULL);
        goto done;
    }
    if (nb_lsq_method_is_gradient(result.method))
        compare_with_solver(a, data, &result, &response, &compare);
    bool printed = a->json ? print_json(a->formula, &result, &compare)
                           : (print_table(a, &result, &compare), true);
    if (!printed) {
        cli_error("fit", "out of memory printing the result");
        goto done;
    }
    bool ok = result.converged || nb_lsq_method_is_gradient(result.method);
    if (!ok)
        cli_error("fit", "did not converge within %d model evaluations (raise --max-evals, or give better "
                         "start values with --init)",
                  result.n_evals);
    if (a->plot) {
        char caption[400];
        plot_caption(&result, caption, sizeof caption);
        fit_picture picture = {.data = data, .expr = expr, .params = result.params, .response = response.values,
                               .response_name = response.name, .sigma = response.sigma, .caption = caption};
        if (fit_plot_save(&picture, a->plot) != NB_OK) {
            cli_error("fit", NULL);
            ok = false;
        } else if (!a->json) {
            printf("plot      %s\n", a->plot);
        }
    }
    status = ok ? 0 : 1;
done:
    if (compare.ran)
        nb_lsq_result_clear(&compare.solver);
    free(response.values);
    nb_lsq_result_clear(&result);
done_data:
    nb_expr_free(expr);
    nb_table_free(data);
    return status;
}

int cmd_fit(int argc, char **argv)
{
    fit_args a = {.lsq = nb_lsq_defaults(), .read = {.comment = '#'}};
    int status = parse_args(argc, argv, &a);
    if (status != 0) {
        fit_constraints_free(&a.cons);
        return status < 0 ? 0 : status;
    }
    const char **init_names = NULL;
    double *init_values = NULL;
    char *init_copy = a.init_text ? strdup(a.init_text) : NULL;
    if (a.init_text && (!init_copy || !parse_init(init_copy, &init_names, &init_values, &a.setup.n_init))) {
        status = 2;
    } else {
        a.setup.init_names = init_names;
        a.setup.init_values = init_values;
        status = run_fit(&a);
    }
    free(init_copy);
    free(init_names);
    free(init_values);
    fit_constraints_free(&a.cons);
    return status;
}
