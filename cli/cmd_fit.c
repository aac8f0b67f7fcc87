/* nabla fit FORMULA FILE: least-squares fit of any formula to a table of data. */
#include "cli.h"

#include <cjson/cJSON.h>
#include <errno.h>
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
          "is linear in its parameters.\n"
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
          "  --method M         lm (Levenberg-Marquardt) or linear (QR; only for formulas linear in\n"
          "                     their parameters); default: linear when it applies, else lm\n"
          "  --max-evals N      give up after N model evaluations (default 400 * (parameters + 1))\n"
          "  --confidence P     level of the confidence intervals (default 0.95)\n"
          "  --header           the first line names the columns\n"
          "  --no-header        the first line is data (default: a header when it has text where\n"
          "                     the second line has numbers)\n"
          "  --delimiter C      ',' ';' 'tab' or 'space' (default: guessed from the first lines)\n"
          "  --json             print one JSON object instead of the table\n"
          "  --help             this text\n"
          "\n"
          "Exit status: 0 converged, 1 failed (bad formula or data, no convergence), 2 bad usage.\n",
          out);
}

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
        char *name = item, *value = equals + 1, *end;
        while (*name == ' ')
            name++;
        for (char *t = equals - 1; t >= name && *t == ' '; t--)
            *t = '\0';
        errno = 0;
        double number = strtod(value, &end);
        while (*end == ' ')
            end++;
        if (!*name || end == value || *end || errno == ERANGE) {
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

static const char *method_name(nb_lsq_method method)
{
    return method == NB_LSQ_LINEAR ? "linear" : "lm";
}

static void print_table(const char *formula, const char *file, const nb_lsq_data *data, const nb_lsq_result *r,
                        bool weighted)
{
    printf("formula   %s\n", formula);
    printf("data      %s: %lld points%s\n", file, (long long)r->n_points, weighted ? ", weighted by 1/sigma^2" : "");
    printf("method    %s\n", r->method == NB_LSQ_LINEAR
                                 ? "linear least squares (QR in extended precision, refined)"
                                 : "Levenberg-Marquardt, derivatives by automatic differentiation");
    printf("stopped   %s%s\n\n", nb_lsq_stop_text(r->stop), r->converged ? "" : "  ** NOT CONVERGED **");
    (void)data;

    int width = 9;
    for (int j = 0; j < r->n_params; j++)
        if ((int)strlen(r->names[j]) > width)
            width = (int)strlen(r->names[j]);
    char level[64];
    snprintf(level, sizeof level, "%g%% confidence interval", 100 * r->confidence);
    printf("%-*s  %18s  %12s  %s\n", width, "parameter", "estimate", "std error", level);
    for (int j = 0; j < r->n_params; j++)
        printf("%-*s  %18.11g  %12.5g  [%.8g, %.8g]\n", width, r->names[j], r->params[j], r->std_error[j],
               r->ci_low[j], r->ci_high[j]);
    printf("\n");
    printf("sum of squares      %.11g\n", r->sse);
    printf("residual std error  %.6g on %lld degrees of freedom\n", r->residual_std, (long long)r->dof);
    printf("R^2                 %.10g\n", r->r_squared);
    printf("iterations          %d (%d model evaluation%s, %d Jacobian evaluation%s)\n", r->iterations,
           r->n_evals, r->n_evals == 1 ? "" : "s", r->n_jacobians, r->n_jacobians == 1 ? "" : "s");
    /* A linear solve does not start anywhere. */
    /* A standard error far beyond the estimate: the data do not pin that parameter down
     * (often a start on a plateau where the model does not react to it). */
    for (int j = 0; j < r->n_params; j++)
        if (r->std_error[j] > 100 * fabs(r->params[j]))
            printf("note: %s is barely determined by the data (std error %.3g for an estimate of %.3g); "
                   "check the model and the start values\n",
                   r->names[j], r->std_error[j], r->params[j]);
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

static bool print_json(const char *formula, const nb_lsq_result *r)
{
    cJSON *root = cJSON_CreateObject();
    if (!root)
        return false;
    cJSON_AddStringToObject(root, "formula", formula);
    cJSON_AddStringToObject(root, "method", method_name(r->method));
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
    char *text = cJSON_PrintUnformatted(root);
    cJSON_Delete(root);
    if (!text)
        return false;
    puts(text);
    cJSON_free(text);
    return true;
}

int cmd_fit(int argc, char **argv)
{
    enum { OPT_Y = 1, OPT_SIGMA, OPT_ABS_SIGMA, OPT_INIT, OPT_METHOD, OPT_MAX_EVALS, OPT_CONFIDENCE, OPT_HEADER,
           OPT_NO_HEADER, OPT_DELIMITER, OPT_JSON, OPT_HELP };
    static const struct option options[] = {
        {"y", required_argument, NULL, OPT_Y},
        {"sigma", required_argument, NULL, OPT_SIGMA},
        {"absolute-sigma", no_argument, NULL, OPT_ABS_SIGMA},
        {"init", required_argument, NULL, OPT_INIT},
        {"method", required_argument, NULL, OPT_METHOD},
        {"max-evals", required_argument, NULL, OPT_MAX_EVALS},
        {"confidence", required_argument, NULL, OPT_CONFIDENCE},
        {"header", no_argument, NULL, OPT_HEADER},
        {"no-header", no_argument, NULL, OPT_NO_HEADER},
        {"delimiter", required_argument, NULL, OPT_DELIMITER},
        {"json", no_argument, NULL, OPT_JSON},
        {"help", no_argument, NULL, OPT_HELP},
        {NULL, 0, NULL, 0},
    };
    nb_fit_setup setup = {0};
    nb_lsq_options lsq = nb_lsq_defaults();
    nb_csv_options read = nb_lsq_csv_defaults();
    char *init_text = NULL;
    bool json = false;
    int status = 2;
    const char **init_names = NULL;
    double *init_values = NULL;

    optind = 1;
    opterr = 0;
    int option;
    while ((option = getopt_long(argc, argv, ":", options, NULL)) != -1) {
        char *end;
        switch (option) {
        case OPT_Y: setup.response = optarg; break;
        case OPT_SIGMA: setup.sigma = optarg; break;
        case OPT_ABS_SIGMA: lsq.absolute_sigma = true; break;
        case OPT_INIT: init_text = optarg; break;
        case OPT_METHOD:
            if (strcmp(optarg, "lm") == 0) {
                lsq.method = NB_LSQ_LM;
            } else if (strcmp(optarg, "linear") == 0) {
                lsq.method = NB_LSQ_LINEAR;
            } else {
                cli_error("fit", "--method: unknown method '%s' (lm or linear)", optarg);
                goto out;
            }
            break;
        case OPT_MAX_EVALS:
            lsq.max_evals = (int)strtol(optarg, &end, 10);
            if (*end || lsq.max_evals < 1) {
                cli_error("fit", "--max-evals: expected a positive whole number, got '%s'", optarg);
                goto out;
            }
            break;
        case OPT_CONFIDENCE:
            lsq.confidence = strtod(optarg, &end);
            if (*end || !(lsq.confidence > 0 && lsq.confidence < 1)) {
                cli_error("fit", "--confidence: expected a number between 0 and 1, got '%s'", optarg);
                goto out;
            }
            break;
        case OPT_HEADER: read.header = NB_CSV_HEADER_YES; break;
        case OPT_NO_HEADER: read.header = NB_CSV_HEADER_NO; break;
        case OPT_DELIMITER:
            if (!parse_delimiter(optarg, &read.delimiter)) {
                cli_error("fit", "--delimiter: expected ',', ';', 'tab' or 'space', got '%s'", optarg);
                goto out;
            }
            break;
        case OPT_JSON: json = true; break;
        case OPT_HELP: usage(stdout); return 0;
        case ':':
            cli_error("fit", "option '%s' needs a value", argv[optind - 1]);
            goto out;
        default:
            cli_error("fit", "unknown option '%s' (nabla fit --help lists them)", argv[optind - 1]);
            goto out;
        }
    }
    if (argc - optind != 2) {
        cli_error("fit", "expected FORMULA and FILE, got %d argument%s (nabla fit --help)", argc - optind,
                  argc - optind == 1 ? "" : "s");
        goto out;
    }
    const char *formula = argv[optind], *file = argv[optind + 1];
    char *init_copy = init_text ? strdup(init_text) : NULL;
    if (init_text && (!init_copy || !parse_init(init_copy, &init_names, &init_values, &setup.n_init))) {
        free(init_copy);
        goto out;
    }
    setup.init_names = init_names;
    setup.init_values = init_values;

    status = 1;
    nb_lsq_data data;
    if (nb_lsq_data_read(file, &read, &data) != NB_OK) {
        cli_error("fit", NULL);
        free(init_copy);
        goto out;
    }
    nb_lsq_result result;
    if (nb_fit_formula(formula, &data, &setup, &lsq, &result) != NB_OK) {
        cli_error("fit", NULL);
    } else {
        bool printed = json ? print_json(formula, &result) : (print_table(formula, file, &data, &result,
                                                                          setup.sigma != NULL), true);
        if (!printed)
            cli_error("fit", "out of memory printing the result");
        else if (!result.converged)
            cli_error("fit", "did not converge within %d model evaluations (raise --max-evals, or give better "
                             "start values with --init)",
                      result.n_evals);
        status = printed && result.converged ? 0 : 1;
        nb_lsq_result_free(&result);
    }
    nb_lsq_data_free(&data);
    free(init_copy);
out:
    free(init_names);
    free(init_values);
    return status;
}
