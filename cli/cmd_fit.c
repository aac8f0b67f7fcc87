/* nabla fit FORMULA FILE: least-squares fit of any formula to a table of data, by the
 * solver or, for comparison, by the toolkit's gradient methods; optionally a plot. */
#include "cli.h"
#include "dist.h"
#include "fit_options.h"
#include "fit_plot.h"
#include "fit_report.h"

#include <cjson/cJSON.h>
#include <ctype.h>
#include <float.h>
#include <getopt.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

/* --help in three parts: the command, the solver's options, the data and output options. */
static void usage_intro(FILE *out)
{
    fputs("usage: nabla fit FORMULA FILE [options]\n       nabla fit FORMULA FILE --by COL | FILE... --by-file [options]\n"
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
          "          Names of data columns are inputs ($2 is the second column, `time-ms` any\n"
          "          column's name in backticks); every other name is a parameter. A left side\n"
          "          (columns only) is the response.\n"
          "FILE      CSV, semicolon-separated, TSV or whitespace-separated numbers, with or\n"
          "          without a header line, plain or gzip-compressed; '-' reads standard input;\n"
          "          lines starting with # are skipped. Without a header the columns are c1,\n"
          "          c2, ... (x and y when there are two). Only the columns the fit reads must\n"
          "          hold numbers. Errors name the file, line and column.\n"
          "\n",
          out);
}

static void usage_solver(FILE *out)
{
    fputs("options:\n"
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
          "  --confidence P     level of the confidence intervals (default 0.95)\n",
          out);
}

static void usage(FILE *out)
{
    usage_intro(out);
    usage_solver(out);
    fputs("  --header           the first line names the columns\n"
          "  --no-header        the first line is data (default: a header when it has text where\n"
          "                     the second line has numbers)\n"
          "  --delimiter C      ',' ';' 'tab' or 'space' (default: guessed from the first lines)\n"
          "  --decimal C        the decimal separator: '.' (default) or ',' (3,14)\n"
          "  --missing M        a row with an empty, NA or NaN cell in a column the fit reads:\n"
          "                     drop (default; the count is reported) or error\n"
          "  --plot FILE        draw the fit (.png, .svg or .pdf). With one input column: the data\n"
          "                     and the fitted curve, the residuals below. With several: observed\n"
          "                     against fitted values, the residuals against the fitted values below\n"
          "  --json             print one JSON object instead of the table: with the covariance and\n"
          "                     correlation matrices, the Gaussian log-likelihood, AIC, AICc, BIC\n"
          "  --residuals        per point: the response, the fitted value and the residual\n"
          "  --save FILE        keep the fit (formula, estimates, covariance) for nabla eval\n"
          "  --by COL           fit each group of rows sharing a value of COL (a number or a name,\n"
          "                     such as a well's B2) separately: one row per group (estimates,\n"
          "                     standard errors, sse, converged, iterations, n, error) as CSV, or\n"
          "                     JSON with --json; groups run in parallel, in order of first rows\n"
          "  --by-file          fit each FILE separately (nabla fit FORMULA FILE... --by-file), rows\n"
          "                     as with --by\n"
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
          "response column that the formula reads). With --by or --by-file: 0 when every group\n"
          "converged, 1 when any failed (its row says why; the others are fitted all the same).\n",
          out);
}

typedef struct fit_args {
    const char *formula, *file, *plot;
    nb_fit_setup setup;
    nb_lsq_options lsq;
    nb_csv_options read;
    nb_expr *expr; /* parsed once the file's column names are known */
    bool bad_formula; /* the formula, not the file, stopped the read: bad usage */
    int64_t dropped; /* rows left out for a missing value */
    char notes[4][256]; /* "did you mean" notes on parameters named like columns */
    int n_notes;
    const char *init_text;
    bool json;
    bool residuals, by_file;    /* --residuals, --by-file */
    const char *save, *by;      /* --save FILE, --by COL */
    int n_files;
    char **files;
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
       OPT_DECIMAL, OPT_MISSING, OPT_RESIDUALS, OPT_SAVE, OPT_BY, OPT_BY_FILE, OPT_CONSTRAINT };

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
    {"decimal", required_argument, NULL, OPT_DECIMAL},
    {"missing", required_argument, NULL, OPT_MISSING},
    {"plot", required_argument, NULL, OPT_PLOT},
    {"json", no_argument, NULL, OPT_JSON},
    {"help", no_argument, NULL, OPT_HELP},
    {"residuals", no_argument, NULL, OPT_RESIDUALS},
    {"save", required_argument, NULL, OPT_SAVE},
    {"by", required_argument, NULL, OPT_BY},
    {"by-file", no_argument, NULL, OPT_BY_FILE},
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
    case OPT_DECIMAL:
        if (strcmp(value, ".") == 0 || strcmp(value, ",") == 0) {
            a->read.decimal = value[0];
            return 0;
        }
        cli_error("fit", "--decimal: expected '.' or ',', got '%s'", value);
        return 2;
    case OPT_MISSING:
        if (strcmp(value, "drop") == 0 || strcmp(value, "error") == 0) {
            a->read.missing = value[0] == 'd' ? NB_CSV_MISSING_DROP : NB_CSV_MISSING_ERROR;
            return 0;
        }
        cli_error("fit", "--missing: expected drop or error, got '%s'", value);
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
    case OPT_RESIDUALS: a->residuals = true; return 0;
    case OPT_SAVE: a->save = optarg; return 0;
    case OPT_BY: a->by = optarg; return 0;
    case OPT_BY_FILE: a->by_file = true; return 0;
    case OPT_CONSTRAINT: return fit_constraint_option(fit_options[option_index].name, optarg, &a->cons) ? 0 : 2;
    case OPT_METHOD: case OPT_CONFIDENCE: case OPT_DELIMITER: case OPT_PLOT: case OPT_DECIMAL: case OPT_MISSING:
        return take_checked_option(option, optarg, a);
    case ':':
        cli_error("fit", "option '%s' needs a value", argv[optind - 1]);
        return 2;
    default:
        cli_error("fit", "unknown option '%s' (nabla fit --help lists them)", argv[optind - 1]);
        return 2;
    }
}

/* --by and --by-file print rows of groups: what belongs to one fit does not go with them. */
static bool check_batch_options(const fit_args *a)
{
    if (!a->by && !a->by_file)
        return true;
    const char *batch = a->by ? "--by" : "--by-file";
    const char *single = a->by && a->by_file ? "--by-file" : a->plot ? "--plot" : a->save ? "--save"
                         : a->residuals ? "--residuals" : NULL;
    if (single) {
        cli_error("fit", "%s and %s do not go together (%s fits each group separately and prints one row per "
                         "group)", batch, single, batch);
        return false;
    }
    if (nb_lsq_method_is_gradient(a->lsq.method)) {
        cli_error("fit", "%s runs the solver (lm or linear); the gradient methods are for comparing one fit", batch);
        return false;
    }
    return true;
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
    if (argc - optind != 2 && !(a->by_file && argc - optind > 2)) {
        cli_error("fit", "expected FORMULA and FILE%s, got %d argument%s (nabla fit --help)",
                  a->by_file ? "..." : "", argc - optind, argc - optind == 1 ? "" : "s");
        return 2;
    }
    a->formula = argv[optind];
    a->file = argv[optind + 1];
    a->files = argv + optind + 1;
    a->n_files = argc - optind - 1;
    if (a->read.decimal == ',' && a->read.delimiter == ',') {
        cli_error("fit", "--decimal , and --delimiter , together: a file with decimal commas separates its fields "
                         "with ';', tabs or spaces (give one of those)");
        return 2;
    }
    if (nb_lsq_method_is_gradient(a->lsq.method) && (a->cons.fix_text || a->cons.via_text || a->cons.bounds_text ||
                                                     a->cons.loss_text || a->cons.f_scale_text || a->cons.starts_text)) {
        cli_error("fit", "--fix, --via, --bounds, --loss, --f-scale and --starts are for the solver (lm), not for "
                         "the gradient methods");
        return 2;
    }
    return check_method_options(a) && check_batch_options(a) && fit_constraints_parse(&a->cons, &a->setup, &a->lsq)
               ? 0
               : 2;
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

/* Once the file's column names are known: parse the formula against them and convert
 * only the columns the fit reads (the formula's, the response, the sigmas), so that
 * dates, notes or gaps in other columns never stop a fit. */
static nb_status choose_fit_columns(void *context, const nb_table *table, bool *convert)
{
    fit_args *a = context;
    nb_expr_free(a->expr); /* --by-file reads one file after another */
    a->n_notes = 0;
    if (!(a->expr = nb_expr_parse(a->formula, table->n_columns, (const char *const *)table->names))) {
        a->bad_formula = true;
        return nb_errcode();
    }
    int response = -1, sigma = a->setup.sigma ? nb_table_column(table, a->setup.sigma) : -1;
    int by = a->by ? nb_table_column(table, a->by) : -1;
    if (!nb_expr_has_response(a->expr)) { /* the rule of nb_fit_setup */
        response = nb_table_column(table, a->setup.response ? a->setup.response : "y");
        if (response < 0 && !a->setup.response)
            response = table->n_columns - 1;
    }
    for (int k = 0; k < table->n_columns; k++)
        convert[k] = nb_expr_uses_column(a->expr, k, false) || nb_expr_uses_column(a->expr, k, true) ||
                     k == response || k == sigma || k == by;
    for (int j = 0; j < nb_expr_n_params(a->expr) && a->n_notes < 4; j++) {
        int near = nb_expr_param_near_column(a->expr, j);
        if (near >= 0)
            snprintf(a->notes[a->n_notes++], sizeof a->notes[0], "'%.80s' is not a column, so it is fitted as a "
                     "parameter; did you mean the column '%.80s'?", nb_expr_param_name(a->expr, j),
                     table->names[near]);
    }
    return NB_OK;
}

/* --save FILE: the fit kept for nabla eval. */
static bool save_fit(const fit_args *a, const nb_table *data, const nb_lsq_result *result)
{
    nb_fit_model model;
    nb_status status = nb_fit_model_init(&model, a->formula, data, &a->setup, &a->lsq, result);
    if (status == NB_OK)
        status = nb_fit_model_save(&model, a->save);
    nb_fit_model_clear(&model);
    if (status != NB_OK)
        cli_error("fit", "--save: %s", nb_errmsg());
    return status == NB_OK;
}

static bool draw_fit(const fit_args *a, const nb_table *data, const nb_expr *expr, const nb_lsq_result *result,
                     const response_info *response)
{
    char caption[400];
    fit_plot_caption(result, caption, sizeof caption);
    /* A fit without standard errors (no degrees of freedom, a gradient method's singular
     * end point) has no band. */
    nb_fit_model model;
    bool band = result->dof > 0 && !isnan(result->std_error[0]) &&
                nb_fit_model_init(&model, a->formula, data, &a->setup, &a->lsq, result) == NB_OK;
    fit_picture picture = {.data = data, .expr = expr, .params = result->params, .response = response->values,
                           .response_name = response->name, .sigma = response->sigma, .caption = caption,
                           .model = band ? &model : NULL};
    nb_status status = fit_plot_save(&picture, a->plot);
    if (band)
        nb_fit_model_clear(&model);
    if (status != NB_OK) {
        cli_error("fit", NULL);
        return false;
    }
    if (!a->json)
        printf("plot      %s\n", a->plot);
    return true;
}

/* What follows a fit: the output, --save, --plot; the exit status. */
static int report_fit(const fit_args *a, const nb_table *data, const nb_expr *expr, nb_lsq_result *result)
{
    response_info response = {0};
    comparison compare = {0};
    if (find_response(&a->setup, data, expr, &response) != NB_OK) {
        cli_error("fit", NULL);
        free(response.values);
        return 1;
    }
    if (nb_lsq_method_is_gradient(result->method))
        compare_with_solver(a->formula, data, &a->setup, &a->lsq, result, &response, &compare);
    bool ok = result->converged || nb_lsq_method_is_gradient(result->method);
    bool saved = ok && a->save && save_fit(a, data, result);
    fit_report report = {.formula = a->formula, .file = a->file, .weighted = a->setup.sigma != NULL,
                         .residuals = a->residuals, .response = &response, .compare = &compare,
                         .saved = saved ? a->save : NULL, .dropped = a->dropped,
                         .notes = (const char(*)[256])a->notes, .n_notes = a->n_notes};
    bool printed = a->json ? fit_print_json(&report, result) : (fit_print_table(&report, result), true);
    if (!printed)
        cli_error("fit", "out of memory printing the result");
    if (!ok)
        cli_error("fit", "did not converge within %d model evaluations (raise --max-evals, or give better "
                         "start values with --init)%s",
                  result->n_evals, a->save ? "; the fit was not saved" : "");
    ok = ok && printed && (!a->save || saved);
    if (a->plot && !draw_fit(a, data, expr, result, &response))
        ok = false;
    if (compare.ran)
        nb_lsq_result_clear(&compare.solver);
    free(response.values);
    return ok ? 0 : 1;
}

static int run_fit(fit_args *a)
{
    if (a->by || a->by_file) {
        fit_batch_args batch = {.formula = a->formula, .n_files = a->n_files, .files = a->files, .by = a->by,
                                .read = &a->read, .setup = &a->setup, .lsq = &a->lsq, .json = a->json};
        int status = fit_run_batch(&batch);
        nb_expr_free(a->expr);
        a->expr = NULL;
        return status;
    }
    if (dist_launched_ranks() > 1) {
        cli_error("fit", "one table is fitted by one process: under mpirun every rank would fit it and print "
                         "the same result; run it alone, or share groups over the ranks with --by COL or "
                         "--by-file");
        return 2;
    }
    nb_table *data = nb_table_read(a->file, &a->read);
    nb_expr *expr = a->expr;
    a->expr = NULL;
    /* A formula that does not parse is bad usage, told with a caret under the column. */
    if (!data || !options_fit_formula(a, data, expr) || !fit_constraints_check(&a->cons, expr)) {
        if (!data)
            cli_error("fit", NULL);
        nb_expr_free(expr);
        nb_table_free(data);
        return !data && !a->bad_formula ? 1 : 2;
    }
    a->dropped = data->n_dropped;
    int status = 1;
    nb_lsq_result result;
    if (nb_fit_formula(a->formula, data, &a->setup, &a->lsq, &result) != NB_OK) {
        cli_error("fit", NULL);
        for (int k = 0; k < a->n_notes; k++) /* a typo of a column is often why */
            fprintf(stderr, "nabla fit: note: %s\n", a->notes[k]);
        if (a->lsq.method == NB_LSQ_LINEAR && !nb_expr_is_linear(expr))
            status = 2; /* --method linear for a nonlinear formula is bad usage */
    } else {
        status = report_fit(a, data, expr, &result);
        nb_lsq_result_clear(&result);
    }
    nb_expr_free(expr);
    nb_table_free(data);
    return status;
}

int cmd_fit(int argc, char **argv)
{
    fit_args a = {.lsq = nb_lsq_defaults(),
                  .read = {.comment = '#', .missing = NB_CSV_MISSING_DROP, .unique_names = true,
                           .choose_columns = choose_fit_columns}};
    a.read.choose_context = &a;
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
