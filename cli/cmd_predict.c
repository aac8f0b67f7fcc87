/* nabla predict: run a trained model on data; with labels, the accuracy and the
 * confusion matrix. */
#include <getopt.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "data_source.h"
#include "model_file.h"

typedef struct predict_args {
    const char *model, *data, *target, *plot;
    bool json, train_split;
    int64_t limit;
    int threads;
} predict_args;

static void usage(FILE *out)
{
    fprintf(out, "usage: nabla predict --model FILE --data fashion-mnist|FILE.csv [options]\n\n"
                 "Runs a model saved by `nabla train --save` on data. Prints one prediction per row\n"
                 "(a class name, or the predicted values); when the data hold the labels, prints the\n"
                 "accuracy and the confusion matrix instead (for a regression model, R², the mean\n"
                 "absolute error and the root mean squared error, in the target's units).\n\n"
                 "  --model FILE     the model (safetensors written by nabla train); a file whose\n"
                 "                   description does not hold together, or whose parameters are not\n"
                 "                   finite, is refused\n"
                 "  --data SRC       fashion-mnist (its 10,000 test images; --train for the 60,000\n"
                 "                   training images) or a CSV file with the model's input columns\n"
                 "  --target COL     the CSV column holding the true labels/values (default: the\n"
                 "                   model's target column, when the file has it). Its labels must\n"
                 "                   be classes of the training data (a label it lacks is an error)\n"
                 "  --limit N        the first N rows only\n"
                 "  --plot FILE      (.png, .svg, .pdf) a classification model's confusion matrix as a\n"
                 "                   heat map, or a regression model's predicted against observed\n"
                 "                   values; needs data with the labels or values\n"
                 "  --threads N      threads for the matrix products (default 0: the cores available)\n"
                 "  --json           one JSON object on stdout: rows, predictions (class numbers, or\n"
                 "                   values); for classes also class_names, labels (the predicted\n"
                 "                   classes' names) and probabilities (per row, one per class); with\n"
                 "                   labels accuracy and confusion, with values r2, mae and rmse\n\n"
                 "Exit status: 0 done, 1 failed (unreadable model or data, data that do not fit the\n"
                 "model, a plot that cannot be written), 2 bad usage.\n");
}

static int parse_args(int argc, char **argv, predict_args *a)
{
    static const struct option options[] = {
        {"model", required_argument, NULL, 'm'}, {"data", required_argument, NULL, 'd'},
        {"target", required_argument, NULL, 't'}, {"plot", required_argument, NULL, 'p'},
        {"limit", required_argument, NULL, 'l'}, {"json", no_argument, NULL, 'j'},
        {"train", no_argument, NULL, 'T'},       {"threads", required_argument, NULL, 'n'},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    *a = (predict_args){0};
    int option;
    uint64_t count;
    optind = 1;
    opterr = 0;
    while ((option = getopt_long(argc, argv, ":h", options, NULL)) != -1) {
        switch (option) {
        case 'm': a->model = optarg; break;
        case 'd': a->data = optarg; break;
        case 't': a->target = optarg; break;
        case 'p':
            if (!cli_plot_path_ok(optarg)) {
                cli_error("predict", "--plot: cannot tell the image format of '%s': use .png, .svg or .pdf", optarg);
                return 2;
            }
            a->plot = optarg;
            break;
        case 'j': a->json = true; break;
        case 'T': a->train_split = true; break;
        case 'l':
            if (!cli_parse_count("predict", "--limit", optarg, 0, INT64_MAX, &count))
                return 2;
            a->limit = (int64_t)count;
            break;
        case 'n': /* nb_set_threads says how many it takes */
            if (!cli_parse_count("predict", "--threads", optarg, 0, INT32_MAX, &count))
                return 2;
            a->threads = (int)count;
            break;
        case 'h': usage(stdout); return -1;
        case ':': cli_error("predict", "option '%s' needs a value", argv[optind - 1]); return 2;
        default:
            cli_error("predict", "unknown option '%s' (nabla predict --help lists them)", argv[optind - 1]);
            return 2;
        }
    }
    if (optind < argc) {
        cli_error("predict", "unexpected argument '%s' (options start with --; see nabla predict --help)",
                  argv[optind]);
        return 2;
    }
    if (!a->model || !a->data) {
        cli_error("predict", "--model and --data are required (see nabla predict --help)");
        return 2;
    }
    if (a->train_split && !source_is_fashion_mnist(a->data)) {
        cli_error("predict", "--train picks Fashion-MNIST's training images; it does not apply to %s", a->data);
        return 2;
    }
    if (a->target && source_is_fashion_mnist(a->data)) {
        cli_error("predict", "--target is for CSV data; Fashion-MNIST has its own labels");
        return 2;
    }
    /* nabla's threads run the products; the BLAS stays single-threaded inside them */
    if (nb_set_threads(a->threads) != NB_OK) {
        cli_error("predict", "--threads: %s", nb_errmsg());
        return 2;
    }
    return 0;
}

/* A CSV model's classes have names: the data's labels are read through them, so that a
 * name means the class it meant in training (a Fashion-MNIST model's are numbers). */
static bool classes_have_names(const model_desc *desc)
{
    return desc->n_classes > 0 && desc->class_names && desc->data && strcmp(desc->data, "csv") == 0;
}

/* The inputs by column: the model's feature columns by name, or all columns in order. */
static nb_dataset *inputs_only(const predict_args *a, const model_desc *desc, const nb_table *table)
{
    int64_t n = a->limit > 0 && a->limit < table->n_rows ? a->limit : table->n_rows, n_in = model_n_in(desc);
    int *columns = calloc((size_t)n_in, sizeof *columns);
    if (!columns) {
        nb_fail(NB_ENOMEM, "out of memory");
        return NULL;
    }
    bool by_name = desc->features && table->has_header, ok = true;
    for (int64_t j = 0; j < n_in && ok; j++) {
        columns[j] = by_name ? nb_table_column(table, desc->features[j]) : (int)j;
        ok = columns[j] >= 0 && columns[j] < table->n_columns;
    }
    if (!ok && nb_errcode() == NB_OK)
        nb_fail(NB_ESHAPE, "%s: the model takes %lld input columns, the file has %d", a->data, (long long)n_in,
                table->n_columns);
    nb_dataset *data = ok ? nb_dataset_new(desc->dtype, n, n_in, 1) : NULL;
    for (int64_t i = 0; data && i < n; i++)
        for (int64_t j = 0; j < n_in; j++)
            nb_tensor_set(data->inputs, i * n_in + j, table->columns[columns[j]][i]);
    free(columns);
    return data;
}

/* Inputs (and targets when present) from a CSV file, in the model's columns. */
static nb_dataset *csv_data(const predict_args *a, const model_desc *desc, bool *has_targets)
{
    const char *target = a->target ? a->target : desc->target;
    bool names = classes_have_names(desc);
    nb_csv_options options = {0};
    if (target && names) {
        options.class_column = target;
        options.known_classes = (const char *const *)desc->class_names;
        options.n_known_classes = desc->n_classes;
    }
    nb_clear_error();
    nb_table *table = nb_table_read(a->data, &options);
    /* rows to predict need not hold the target column: a missing class column (NB_EARG;
     * the model's class names are distinct, so nothing else gives it) is no error */
    if (!table && options.class_column && !a->target && nb_errcode() == NB_EARG) {
        options = (nb_csv_options){0};
        table = nb_table_read(a->data, &options);
    }
    if (!table) /* e.g. another file's text column: say which of the model's columns it lacks */
        explain_missing_columns(a->data, desc->features, desc->n_features);
    if (!table)
        return NULL;
    /* --target is looked up in any file (a file without a header names its columns as
     * nabla/io.h says); the model's own target only in a file with a header */
    bool lookup = a->target || (target && table->has_header == (desc->features != NULL));
    int column = lookup ? nb_table_column(table, target) : -1;
    if (a->target && column < 0) {
        nb_table_free(table);
        return NULL;
    }
    if (column >= 0 && desc->n_classes > 0 && !names) {
        char expected[96];
        snprintf(expected, sizeof expected, "one of the model's classes (a whole number from 0 to %d)",
                 desc->n_classes - 1);
        if (!table_column_within(table, column, 0, desc->n_classes - 1, true, expected)) {
            nb_table_free(table);
            return NULL;
        }
    }
    nb_clear_error();
    *has_targets = column >= 0;
    nb_dataset *data = *has_targets ? dataset_from_table(table, desc->features, desc->n_features,
                                                         table->names[column], desc->n_classes > 0, desc->dtype,
                                                         a->limit)
                                    : inputs_only(a, desc, table);
    nb_table_free(table);
    if (!data)
        explain_missing_columns(a->data, desc->features, desc->n_features);
    return data;
}

static void print_confusion(const model_desc *desc, const double *matrix, int k)
{
    printf("confusion matrix (rows: true class, columns: predicted)\n%14s", "");
    for (int c = 0; c < k; c++)
        printf(" %6d", c);
    printf("\n");
    for (int r = 0; r < k; r++) {
        char name[16];
        snprintf(name, sizeof name, "%.11s", desc->class_names ? desc->class_names[r] : "");
        printf("%2d %-11s", r, name);
        for (int c = 0; c < k; c++)
            printf(" %6.0f", matrix[r * k + c]);
        printf("\n");
    }
}

static int draw_confusion(const predict_args *a, const model_desc *desc, const double *matrix, int k, double accuracy)
{
    nb_figure *figure = nb_figure_new(k > 5 ? 820 : 520, k > 5 ? 760 : 480, 1, 1);
    nb_panel *panel = nb_figure_panel(figure, 0, 0);
    char title[128];
    snprintf(title, sizeof title, "confusion matrix: accuracy %.2f%%", 100 * accuracy);
    nb_panel_title(panel, title);
    nb_panel_labels(panel, "predicted", "true");
    nb_panel_heatmap(panel, matrix, k, k, (const char *const *)desc->class_names,
                     (const char *const *)desc->class_names, true, "samples");
    nb_status status = nb_figure_save(figure, a->plot);
    nb_figure_free(figure);
    return status == NB_OK ? 0 : (cli_error("predict", NULL), 1);
}

/* Whether the data fit the model: 0, or the exit status after a message. */
static int check_data(const predict_args *a, const model_desc *desc, const nb_dataset *data, bool has_targets)
{
    int64_t n_in = model_n_in(desc), n_out = model_n_out(desc);
    int k = desc->n_classes;
    if (nb_dataset_n_features(data) != n_in) {
        cli_error("predict", "the model takes %lld inputs, %s has %lld features", (long long)n_in, a->data,
                  (long long)nb_dataset_n_features(data));
        return 1;
    }
    if (has_targets && (data->n_classes > 0) != (k > 0)) {
        cli_error("predict", "the model is a %s model, but %s holds %s", k > 0 ? "classification" : "regression",
                  a->data, k > 0 ? "values" : "class labels");
        return 1;
    }
    if (has_targets && k > 0 && data->n_classes > k) {
        cli_error("predict", "%s has labels up to %d; the model knows %d classes", a->data, data->n_classes - 1, k);
        return 1;
    }
    if (has_targets && k == 0 && nb_dataset_n_outputs(data) != n_out) {
        cli_error("predict", "the model gives %lld outputs, %s has %lld targets", (long long)n_out, a->data,
                  (long long)nb_dataset_n_outputs(data));
        return 1;
    }
    /* before any output: a confusion matrix, or observed against predicted, needs the truth */
    if (a->plot && !has_targets) {
        cli_error("predict", "--plot draws %s, which needs data with the %s; these data hold none",
                  k > 0 ? "a confusion matrix" : "predicted against observed values", k > 0 ? "labels" : "values");
        return 2;
    }
    return 0;
}

/* The model's outputs on every row, and what they say against the labels. */
typedef struct predictions {
    int k;             /* the model's classes (0: a regression model) */
    int64_t n, n_out;
    bool has_targets;
    double *outputs;   /* [n, n_out], in the data's units; for classes the probabilities */
    int64_t *predicted; /* [n]: the class of each row (classification) */
    double *confusion; /* [k, k]: rows the true class, columns the predicted one */
    double *observed;  /* [n, n_out]: the true values (regression with targets) */
    double correct, accuracy, rmse, mae, r2;
} predictions;

static void predictions_clear(predictions *p)
{
    free(p->observed);
    free(p->confusion);
    free(p->outputs);
    free(p->predicted);
}

/* The rows to predict (and their labels, when the data hold them); NULL after a message. */
static nb_dataset *load_data(const predict_args *a, const model_desc *desc, bool *has_targets)
{
    *has_targets = true;
    nb_dataset *data = source_is_fashion_mnist(a->data) ? fashion_mnist_load(a->train_split, desc->dtype, a->limit)
                                                         : csv_data(a, desc, has_targets);
    if (!data)
        cli_error("predict", NULL);
    return data;
}

/* The inputs standardised as the model's training data were: 0, or 1 after a message. */
static int standardize(const model_desc *desc, nb_dataset *data)
{
    if (!desc->standardized)
        return 0;
    nb_scaler scaler = {0};
    int status = 0;
    if (nb_scaler_set(&scaler, model_n_in(desc), desc->mean, desc->std) != NB_OK ||
        nb_scaler_apply(&scaler, data->inputs) != NB_OK) {
        cli_error("predict", NULL);
        status = 1;
    }
    nb_scaler_clear(&scaler);
    return status;
}

/* Forward in batches: the outputs, and the classes of a classification model. */
static int forward_all(nb_model *model, nb_dataset *data, predictions *p)
{
    p->confusion = p->k > 0 ? calloc((size_t)p->k * (size_t)p->k, sizeof(double)) : NULL;
    p->outputs = malloc((size_t)(p->n * p->n_out) * sizeof(double));
    p->predicted = malloc((size_t)p->n * sizeof(int64_t));
    nb_loader *loader = nb_loader_new(data, 256, 0, 0);
    if ((p->k > 0 && !p->confusion) || !p->outputs || !p->predicted || !loader) {
        cli_error("predict", loader ? "out of memory" : NULL);
        nb_loader_free(loader);
        return 1;
    }
    int status = 0;
    nb_batch batch;
    int64_t done = 0;
    nb_loader_start_epoch(loader, 0);
    while (nb_loader_next(loader, &batch)) {
        if (nb_input_bind(model->input, batch.dtype, batch.inputs, batch.size) != NB_OK ||
            nb_forward(model->output) != NB_OK) {
            cli_error("predict", NULL);
            status = 1;
            break;
        }
        const nb_tensor *out = nb_value(model->output);
        nb_tensor_to_doubles(out, p->outputs + done * p->n_out);
        if (p->k > 0)
            nb_argmax_rows(out, p->predicted + done);
        done += batch.size;
    }
    nb_loader_free(loader);
    return status;
}

/* Each row's outputs (a classification model's logits) into class probabilities. */
static void softmax_rows(double *outputs, int64_t n, int k)
{
    for (int64_t i = 0; i < n; i++) {
        double *row = outputs + i * k, largest = row[0], sum = 0;
        for (int c = 1; c < k; c++)
            largest = row[c] > largest ? row[c] : largest;
        for (int c = 0; c < k; c++)
            sum += row[c] = exp(row[c] - largest);
        for (int c = 0; c < k; c++)
            row[c] /= sum;
    }
}

/* Regression against the true values: R² (1 - residual / total sum of squares, each
 * output about its own mean), the mean absolute and root mean squared errors. */
static int score_values(const nb_dataset *data, predictions *p)
{
    int64_t n_out = p->n_out, count = p->n * n_out;
    if (!(p->observed = malloc((size_t)count * sizeof(double)))) {
        cli_error("predict", "out of memory");
        return 1;
    }
    nb_tensor_to_doubles(data->targets, p->observed);
    double squared = 0, absolute = 0, total = 0;
    for (int64_t j = 0; j < n_out; j++) {
        double mean = 0;
        for (int64_t i = 0; i < p->n; i++)
            mean += p->observed[i * n_out + j] / (double)p->n;
        for (int64_t i = 0; i < p->n; i++) {
            double y = p->observed[i * n_out + j], d = p->outputs[i * n_out + j] - y;
            squared += d * d, absolute += fabs(d), total += (y - mean) * (y - mean);
        }
    }
    p->rmse = sqrt(squared / (double)count);
    p->mae = absolute / (double)count;
    p->r2 = total > 0 ? 1 - squared / total : NAN; /* constant values: R² is undefined */
    return 0;
}

/* Outputs back to the data's units (probabilities for classes); against the labels, the
 * confusion matrix and the accuracy, or the errors of the values. */
static int score(const model_desc *desc, const nb_dataset *data, predictions *p)
{
    int64_t n_out = p->n_out;
    if (desc->targets_standardized)
        for (int64_t i = 0; i < p->n; i++)
            for (int64_t j = 0; j < n_out; j++)
                p->outputs[i * n_out + j] = p->outputs[i * n_out + j] * desc->target_std[j] + desc->target_mean[j];
    if (p->k > 0)
        softmax_rows(p->outputs, p->n, p->k);
    if (p->has_targets && p->k == 0)
        return score_values(data, p);
    for (int64_t i = 0; p->has_targets && i < p->n; i++) {
        int64_t truth = nb_dataset_label(data, i);
        p->confusion[truth * p->k + p->predicted[i]]++;
        p->correct += truth == p->predicted[i];
    }
    p->accuracy = p->correct / (double)p->n;
    return 0;
}

/* A classification model's class names and, per row, the predicted class's name and the
 * probability of every class. */
static void add_classes(cJSON *root, const model_desc *desc, const predictions *p)
{
    if (desc->class_names) {
        cJSON_AddItemToObject(root, "class_names",
                              cJSON_CreateStringArray((const char *const *)desc->class_names, p->k));
        cJSON *labels = cJSON_AddArrayToObject(root, "labels");
        for (int64_t i = 0; i < p->n; i++)
            cJSON_AddItemToArray(labels, cJSON_CreateString(desc->class_names[p->predicted[i]]));
    }
    cJSON *probabilities = cJSON_AddArrayToObject(root, "probabilities");
    for (int64_t i = 0; i < p->n; i++)
        cJSON_AddItemToArray(probabilities, cJSON_CreateDoubleArray(p->outputs + i * p->k, p->k));
}

/* The model's values against the true ones, with the line where they would be equal. */
static int draw_observed(const predict_args *a, const model_desc *desc, const predictions *p)
{
    size_t count = (size_t)(p->n * p->n_out);
    double low = INFINITY, high = -INFINITY;
    for (size_t i = 0; i < count; i++) {
        low = fmin(low, fmin(p->observed[i], p->outputs[i]));
        high = fmax(high, fmax(p->observed[i], p->outputs[i]));
    }
    nb_figure *figure = nb_figure_new(560, 520, 1, 1);
    nb_panel *panel = nb_figure_panel(figure, 0, 0);
    char title[128], observed[160];
    if (isnan(p->r2))
        snprintf(title, sizeof title, "predicted against observed");
    else
        snprintf(title, sizeof title, "predicted against observed: R² %.4f", p->r2);
    snprintf(observed, sizeof observed, "observed %s", desc->target ? desc->target : "value");
    nb_panel_title(panel, title);
    nb_panel_labels(panel, observed, "predicted");
    nb_panel_line(panel, "predicted = observed", (const double[]){low, high}, (const double[]){low, high}, 2, NULL);
    nb_panel_scatter(panel, "rows", p->observed, p->outputs, count, NULL);
    nb_status status = nb_figure_save(figure, a->plot);
    nb_figure_free(figure);
    return status == NB_OK ? 0 : (cli_error("predict", NULL), 1);
}

static int print_json(const model_desc *desc, const predictions *p)
{
    cJSON *root = cJSON_CreateObject();
    cJSON_AddNumberToObject(root, "rows", (double)p->n);
    cJSON *list = cJSON_AddArrayToObject(root, "predictions");
    for (int64_t i = 0; i < p->n; i++) {
        if (p->k > 0)
            cJSON_AddItemToArray(list, cJSON_CreateNumber((double)p->predicted[i]));
        else if (p->n_out == 1)
            cJSON_AddItemToArray(list, cJSON_CreateNumber(p->outputs[i]));
        else
            cJSON_AddItemToArray(list, cJSON_CreateDoubleArray(p->outputs + i * p->n_out, (int)p->n_out));
    }
    if (p->k > 0)
        add_classes(root, desc, p);
    if (p->has_targets && p->k > 0) {
        cJSON_AddNumberToObject(root, "accuracy", p->accuracy);
        cJSON *matrix = cJSON_AddArrayToObject(root, "confusion");
        for (int r = 0; r < p->k; r++)
            cJSON_AddItemToArray(matrix, cJSON_CreateDoubleArray(p->confusion + r * p->k, p->k));
    } else if (p->has_targets) {
        if (!isnan(p->r2))
            cJSON_AddNumberToObject(root, "r2", p->r2);
        cJSON_AddNumberToObject(root, "mae", p->mae);
        cJSON_AddNumberToObject(root, "rmse", p->rmse);
    }
    char *text = cJSON_Print(root);
    int status = 0;
    if (text)
        puts(text);
    else
        cli_error("predict", "out of memory printing the report"), status = 1;
    free(text);
    cJSON_Delete(root);
    return status;
}

/* With labels, the scores; without, one prediction per row. */
static void print_text(const model_desc *desc, const predictions *p)
{
    if (p->has_targets && p->k > 0) {
        printf("accuracy %.4f (%lld of %lld rows)\n\n", p->accuracy, (long long)p->correct, (long long)p->n);
        print_confusion(desc, p->confusion, p->k);
    } else if (p->has_targets) {
        if (!isnan(p->r2))
            printf("R² %.4f, ", p->r2);
        printf("mean absolute error %.6g, root mean squared error %.6g over %lld rows\n", p->mae, p->rmse,
               (long long)p->n);
    } else {
        for (int64_t i = 0; i < p->n; i++) {
            if (p->k > 0 && desc->class_names)
                printf("%s\n", desc->class_names[p->predicted[i]]);
            else if (p->k > 0)
                printf("%lld\n", (long long)p->predicted[i]);
            else
                for (int64_t j = 0; j < p->n_out; j++)
                    printf(j + 1 < p->n_out ? "%.9g," : "%.9g\n", p->outputs[i * p->n_out + j]);
        }
    }
}

static int run(const predict_args *a, model_desc *desc, nb_model *model)
{
    predictions p = {.k = desc->n_classes, .n_out = model_n_out(desc)};
    nb_dataset *data = load_data(a, desc, &p.has_targets);
    if (!data)
        return 1;
    int status = check_data(a, desc, data, p.has_targets);
    if (status == 0)
        status = standardize(desc, data);
    p.n = data->n;
    if (status == 0)
        status = forward_all(model, data, &p);
    if (status == 0)
        status = score(desc, data, &p);
    if (status == 0) {
        if (a->json)
            status = print_json(desc, &p);
        else
            print_text(desc, &p);
    }
    if (status == 0 && a->plot) /* check_data made sure of the labels or values */
        status = p.k > 0 ? draw_confusion(a, desc, p.confusion, p.k, p.accuracy) : draw_observed(a, desc, &p);
    predictions_clear(&p);
    nb_dataset_free(data);
    return status;
}

int cmd_predict(int argc, char **argv)
{
    predict_args args;
    int status = parse_args(argc, argv, &args);
    if (status != 0)
        return status < 0 ? 0 : status;
    model_desc desc;
    nb_model model;
    if (model_load(args.model, 256, &desc, &model) != NB_OK) {
        cli_error("predict", NULL);
        model_desc_clear(&desc);
        return 1;
    }
    status = run(&args, &desc, &model);
    nb_graph_free(model.graph);
    model_desc_clear(&desc);
    return status;
}
