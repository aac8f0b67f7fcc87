/* nabla eval FIT NEWDATA | --at NAME=VALUE: a kept fit (nabla fit --save) at new inputs,
 * with confidence and prediction intervals. */
#include "cli.h"

#include <cjson/cJSON.h>
#include <getopt.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

static void usage(FILE *out)
{
    fputs("usage: nabla eval FIT [NEWDATA] [--at NAME=VALUE[,VALUE...][,NAME=...]]... [options]\n"
          "\n"
          "Evaluate a fit kept by `nabla fit --save FIT` at new inputs: the fitted value, its standard\n"
          "error, and its confidence and prediction intervals. The standard error comes from the\n"
          "delta method: the gradient of the model w.r.t. the parameters (automatic differentiation)\n"
          "with the fit's covariance; the intervals use Student's t with the fit's degrees of\n"
          "freedom. The prediction interval adds the residual variance: where a new observation\n"
          "lies (a weighted fit needs the sigma column in NEWDATA for it).\n"
          "\n"
          "FIT       the JSON file `nabla fit --save` wrote\n"
          "NEWDATA   a table (as nabla fit reads them) with a column for each input of the formula,\n"
          "          named as in the fitted data; '-' reads standard input\n"
          "\n"
          "options:\n"
          "  --at LIST          points instead of NEWDATA: --at x=1.5 (one point), --at x=1,2,3 (three),\n"
          "                     --at x=1.5,t=2 (one point of two inputs); repeat for more points\n"
          "  --confidence P     level of the intervals (default: the fit's, usually 0.95)\n"
          "  --json             print one JSON object instead of CSV\n"
          "  --header           NEWDATA's first line names the columns\n"
          "  --no-header        NEWDATA's first line is data\n"
          "  --delimiter C      NEWDATA's delimiter: ',' ';' 'tab' or 'space' (default: guessed)\n"
          "  --help             this text\n"
          "\n"
          "Output: CSV with the inputs, fitted, se_fit, conf_low, conf_high, pred_low, pred_high.\n"
          "\n"
          "Exit status: 0 done, 1 failed (a fit file that is missing, corrupt or of another version,\n"
          "NEWDATA without an input column), 2 bad usage.\n",
          out);
}

typedef struct eval_args {
    const char *fit, *data;
    int n_at;
    char **at; /* the --at texts */
    const char *confidence_text;
    bool json;
    nb_csv_options read;
} eval_args;

enum { OPT_AT = 1, OPT_CONFIDENCE, OPT_JSON, OPT_HEADER, OPT_NO_HEADER, OPT_DELIMITER, OPT_HELP };

static const struct option eval_options[] = {
    {"at", required_argument, NULL, OPT_AT},
    {"confidence", required_argument, NULL, OPT_CONFIDENCE},
    {"json", no_argument, NULL, OPT_JSON},
    {"header", no_argument, NULL, OPT_HEADER},
    {"no-header", no_argument, NULL, OPT_NO_HEADER},
    {"delimiter", required_argument, NULL, OPT_DELIMITER},
    {"help", no_argument, NULL, OPT_HELP},
    {NULL, 0, NULL, 0},
};

static bool take_delimiter(const char *text, char *delimiter)
{
    static const struct { const char *name; char c; } known[] = {
        {",", ','}, {"comma", ','}, {";", ';'}, {"semicolon", ';'}, {"tab", '\t'}, {"\t", '\t'},
        {"\\t", '\t'}, {"space", ' '}, {" ", ' '}, {"whitespace", ' '}};
    for (size_t k = 0; k < sizeof known / sizeof known[0]; k++)
        if (strcmp(text, known[k].name) == 0) {
            *delimiter = known[k].c;
            return true;
        }
    cli_error("eval", "--delimiter: expected ',', ';', 'tab' or 'space', got '%s'", text);
    return false;
}

/* One option: 0 to go on, -1 after --help, 2 on bad usage. */
static int take_option(int option, char **argv, eval_args *a)
{
    switch (option) {
    case OPT_AT: a->at[a->n_at++] = optarg; return 0;
    case OPT_CONFIDENCE: a->confidence_text = optarg; return 0;
    case OPT_JSON: a->json = true; return 0;
    case OPT_HEADER: a->read.header = NB_CSV_HEADER_YES; return 0;
    case OPT_NO_HEADER: a->read.header = NB_CSV_HEADER_NO; return 0;
    case OPT_DELIMITER: return take_delimiter(optarg, &a->read.delimiter) ? 0 : 2;
    case OPT_HELP: usage(stdout); return -1;
    case ':': cli_error("eval", "option '%s' needs a value", argv[optind - 1]); return 2;
    default: cli_error("eval", "unknown option '%s' (nabla eval --help lists them)", argv[optind - 1]); return 2;
    }
}

static int parse_args(int argc, char **argv, eval_args *a)
{
    optind = 1;
    opterr = 0;
    int option;
    while ((option = getopt_long(argc, argv, ":", eval_options, NULL)) != -1) {
        int status = take_option(option, argv, a);
        if (status != 0)
            return status;
    }
    int given = argc - optind;
    if (given < 1 || given > 2 || (given == 2) == (a->n_at > 0)) {
        cli_error("eval", "expected FIT and either NEWDATA or --at NAME=VALUE (nabla eval --help)");
        return 2;
    }
    a->fit = argv[optind];
    a->data = given == 2 ? argv[optind + 1] : NULL;
    return 0;
}

/* The values given for each name by --at, in order. */
typedef struct at_values {
    int n_names;
    const char *names[64];
    double *values[64];
    int count[64];
} at_values;

static bool add_value(at_values *v, int name, double value, int capacity)
{
    if (!v->values[name] && !(v->values[name] = malloc((size_t)capacity * sizeof(double)))) {
        cli_error("eval", "out of memory");
        return false;
    }
    v->values[name][v->count[name]++] = value;
    return true;
}

/* One --at: "x=1.5", "x=1.5,t=2" (one point of two inputs), "x=1,2,3" (three points): a
 * number without a name continues the list of the name before it. */
static bool parse_at(char *text, at_values *v, int capacity)
{
    int name = -1;
    for (char *item = strtok(text, ","); item; item = strtok(NULL, ",")) {
        char *equals = strchr(item, '=');
        if (equals) {
            *equals = '\0';
            for (name = 0; name < v->n_names && strcmp(v->names[name], item) != 0; name++)
                ;
            if (name == v->n_names && (name == 64 || !*item)) {
                cli_error("eval", "--at: expected NAME=NUMBER, got '%s='", item);
                return false;
            }
            if (name == v->n_names)
                v->names[v->n_names++] = item;
        }
        double value;
        const char *number = equals ? equals + 1 : item;
        if (name < 0 || !cli_number(number, &value)) {
            cli_error("eval", "--at: expected NAME=NUMBER[,NUMBER...][,NAME=NUMBER...], got '%s'", number);
            return false;
        }
        if (!add_value(v, name, value, capacity))
            return false;
    }
    return true;
}

/* The --at points as a table: a column per name, every name given as many values. */
static nb_table *table_of_points(const eval_args *a)
{
    at_values v = {0};
    int capacity = 1;
    for (int p = 0; p < a->n_at; p++)
        for (const char *c = a->at[p]; *c; c++)
            capacity += *c == ',';
    capacity += a->n_at;
    nb_table *table = NULL;
    bool ok = true;
    for (int p = 0; p < a->n_at && ok; p++)
        ok = parse_at(a->at[p], &v, capacity);
    for (int k = 1; ok && k < v.n_names; k++)
        if (v.count[k] != v.count[0]) {
            cli_error("eval", "--at: '%s' has %d value%s but '%s' has %d: give every input a value at every point",
                      v.names[k], v.count[k], v.count[k] == 1 ? "" : "s", v.names[0], v.count[0]);
            ok = false;
        }
    if (ok && !(table = nb_table_from_columns(v.n_names, v.names, v.count[0], (const double *const *)v.values)))
        cli_error("eval", "--at: %s", nb_errmsg());
    for (int k = 0; k < v.n_names; k++)
        free(v.values[k]);
    return table;
}

/* The columns of `data` the model reads, by the model's names. */
static int input_columns(const nb_fit_model *model, const nb_table *data, int *inputs)
{
    nb_expr *expr = nb_expr_parse(model->formula, model->n_columns, (const char *const *)model->columns);
    int n = 0;
    for (int k = 0; expr && k < model->n_columns; k++)
        if (nb_expr_uses_column(expr, k, false))
            for (int c = 0; c < data->n_columns; c++)
                if (strcmp(data->names[c], model->columns[k]) == 0)
                    inputs[n++] = c;
    nb_expr_free(expr);
    return n;
}

static void csv_value(double value, bool last)
{
    if (isnan(value))
        printf("%s", last ? "\n" : ",");
    else
        printf("%.10g%s", value, last ? "\n" : ",");
}

static void print_csv(const nb_table *data, const int *inputs, int n_inputs, const nb_fit_prediction *p)
{
    for (int k = 0; k < n_inputs; k++)
        printf("%s,", data->names[inputs[k]]);
    printf("fitted,se_fit,conf_low,conf_high,pred_low,pred_high\n");
    for (int64_t i = 0; i < p->n; i++) {
        for (int k = 0; k < n_inputs; k++)
            csv_value(data->columns[inputs[k]][i], false);
        const double row[6] = {p->fitted[i], p->se_fit[i], p->conf_low[i], p->conf_high[i], p->pred_low[i],
                               p->pred_high[i]};
        for (int j = 0; j < 6; j++)
            csv_value(row[j], j == 5);
    }
}

static cJSON *numbers(const double *values, int64_t n)
{
    cJSON *array = cJSON_CreateArray();
    for (int64_t i = 0; array && i < n; i++)
        cJSON_AddItemToArray(array, isfinite(values[i]) ? cJSON_CreateNumber(values[i]) : cJSON_CreateNull());
    return array;
}

static bool print_json(const nb_fit_model *model, const nb_table *data, const int *inputs, int n_inputs,
                       const nb_fit_prediction *p)
{
    cJSON *root = cJSON_CreateObject();
    if (!root)
        return false;
    cJSON_AddStringToObject(root, "formula", model->formula);
    cJSON_AddStringToObject(root, "response", model->response);
    cJSON_AddNumberToObject(root, "confidence", p->confidence);
    cJSON_AddNumberToObject(root, "dof", (double)model->dof);
    cJSON *in = cJSON_AddObjectToObject(root, "inputs");
    for (int k = 0; k < n_inputs; k++)
        cJSON_AddItemToObject(in, data->names[inputs[k]], numbers(data->columns[inputs[k]], p->n));
    const char *names[6] = {"fitted", "se_fit", "conf_low", "conf_high", "pred_low", "pred_high"};
    const double *arrays[6] = {p->fitted, p->se_fit, p->conf_low, p->conf_high, p->pred_low, p->pred_high};
    for (int j = 0; j < 6; j++)
        cJSON_AddItemToObject(root, names[j], numbers(arrays[j], p->n));
    char *text = cJSON_PrintUnformatted(root);
    cJSON_Delete(root);
    if (!text)
        return false;
    puts(text);
    cJSON_free(text);
    return true;
}

static int evaluate(const eval_args *a, const nb_fit_model *model, const nb_table *data)
{
    double confidence = model->confidence;
    if (a->confidence_text &&
        !cli_parse_number("eval", "--confidence", a->confidence_text, CLI_FRACTION, &confidence))
        return 2;
    nb_fit_prediction p;
    if (nb_fit_model_predict(model, data, confidence, &p) != NB_OK) {
        cli_error("eval", NULL);
        return 1;
    }
    int *inputs = malloc((size_t)(data->n_columns ? data->n_columns : 1) * sizeof *inputs);
    int n_inputs = inputs ? input_columns(model, data, inputs) : 0;
    bool ok = inputs != NULL;
    if (ok && a->json)
        ok = print_json(model, data, inputs, n_inputs, &p);
    else if (ok)
        print_csv(data, inputs, n_inputs, &p);
    if (!ok)
        cli_error("eval", "out of memory printing the predictions");
    if (model->sigma && p.n > 0 && isnan(p.pred_low[0]))
        cli_error("eval", "the fit was weighted by column '%s', which the new data lacks: the prediction "
                          "interval needs each new point's sigma (add that column)",
                  model->sigma);
    free(inputs);
    nb_fit_prediction_clear(&p);
    return ok ? 0 : 1;
}

int cmd_eval(int argc, char **argv)
{
    eval_args a = {.read = {.comment = '#'}};
    a.at = calloc((size_t)argc, sizeof *a.at);
    if (!a.at) {
        cli_error("eval", "out of memory");
        return 1;
    }
    int status = parse_args(argc, argv, &a);
    if (status != 0) {
        free(a.at);
        return status < 0 ? 0 : status;
    }
    nb_fit_model model;
    if (nb_fit_model_load(&model, a.fit) != NB_OK) {
        cli_error("eval", NULL);
        free(a.at);
        return 1;
    }
    nb_table *data = a.data ? nb_table_read(a.data, &a.read) : table_of_points(&a);
    if (!data) {
        if (a.data)
            cli_error("eval", NULL);
        status = a.data ? 1 : 2;
    } else {
        status = evaluate(&a, &model, data);
    }
    nb_table_free(data);
    nb_fit_model_clear(&model);
    free(a.at);
    return status;
}
