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
                 "(a class name or number, or the predicted values); when the data hold the labels,\n"
                 "prints the accuracy and the confusion matrix instead.\n\n"
                 "  --model FILE     the model (safetensors written by nabla train)\n"
                 "  --data SRC       fashion-mnist (its 10,000 test images; --train for the 60,000\n"
                 "                   training images) or a CSV file with the model's input columns\n"
                 "  --target COL     the CSV column holding the true labels/values (default: the\n"
                 "                   model's target column, when the file has it)\n"
                 "  --limit N        the first N rows only\n"
                 "  --plot FILE      the confusion matrix as a heat map (.png, .svg, .pdf)\n"
                 "  --threads N      threads for the matrix products (default 0: the cores available)\n"
                 "  --json           one JSON object on stdout\n");
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
    optind = 1;
    while ((option = getopt_long(argc, argv, "h", options, NULL)) != -1) {
        switch (option) {
        case 'm': a->model = optarg; break;
        case 'd': a->data = optarg; break;
        case 't': a->target = optarg; break;
        case 'p': a->plot = optarg; break;
        case 'j': a->json = true; break;
        case 'T': a->train_split = true; break;
        case 'l': {
            char *end;
            a->limit = strtoll(optarg, &end, 10);
            if (*end || a->limit < 0) {
                cli_error("predict", "--limit needs a non-negative integer, got '%s'", optarg);
                return 2;
            }
            break;
        }
        case 'n': {
            char *end;
            long threads = strtol(optarg, &end, 10);
            if (!*optarg || *end || threads < 0 || threads > 1 << 20) {
                cli_error("predict", "--threads needs a whole number (0: the cores available), got '%s'", optarg);
                return 2;
            }
            a->threads = (int)threads;
            break;
        }
        case 'h': usage(stdout); return -1;
        default: usage(stderr); return 2;
        }
    }
    if (!a->model || !a->data || optind < argc) {
        cli_error("predict", optind < argc ? "unexpected argument '%s'" : "--model and --data are required",
                  optind < argc ? argv[optind] : "");
        return 2;
    }
    /* nabla's threads run the products; the BLAS stays single-threaded inside them */
    if (nb_set_threads(a->threads) != NB_OK) {
        cli_error("predict", "--threads: %s", nb_errmsg());
        return 2;
    }
    return 0;
}

/* Inputs (and targets when present) from a CSV file, in the model's columns. */
static nb_dataset *csv_data(const predict_args *a, const model_desc *desc, bool *has_targets)
{
    nb_csv_options options = {.class_column = a->target ? a->target : desc->target};
    nb_csv_table *table = nb_csv_read(a->data, &options);
    if (!table && !a->target) { /* rows to predict need not hold the target column */
        options.class_column = NULL;
        table = nb_csv_read(a->data, &options);
    }
    if (!table)
        return NULL;
    const char *target = a->target ? a->target : desc->target;
    int column = target && table->has_header == (desc->features != NULL) ? nb_csv_column(table, target) : -1;
    if (a->target && column < 0) {
        nb_csv_free(table);
        return NULL;
    }
    nb_clear_error();
    nb_dataset *data = NULL;
    int64_t n_in = desc->spec.sizes[0];
    *has_targets = column >= 0;
    if (*has_targets) {
        data = dataset_from_table(table, desc->features, table->names[column], desc->n_classes > 0, desc->dtype,
                                  a->limit);
    } else {
        /* no targets: the model's feature columns by name, or all columns in order */
        int64_t n = a->limit > 0 && a->limit < table->n_rows ? a->limit : table->n_rows;
        int *columns = calloc((size_t)n_in, sizeof *columns);
        char *names = desc->features && table->has_header ? strdup(desc->features) : NULL;
        char *save = NULL, *name = names ? strtok_r(names, ",", &save) : NULL;
        bool ok = true;
        for (int64_t j = 0; j < n_in && ok; j++) {
            columns[j] = name ? nb_csv_column(table, name) : (int)j;
            ok = columns[j] >= 0 && columns[j] < table->n_cols;
            name = name ? strtok_r(NULL, ",", &save) : NULL;
        }
        if (!ok && nb_errcode() == NB_OK)
            nb_fail(NB_ESHAPE, "%s: the model takes %lld input columns, the file has %d", a->data, (long long)n_in,
                    table->n_cols);
        if (ok && (data = nb_dataset_new(desc->dtype, n, n_in, 1)))
            for (int64_t i = 0; i < n; i++)
                for (int64_t j = 0; j < n_in; j++)
                    nb_tensor_set(data->inputs, i * n_in + j, table->columns[columns[j]][i]);
        free(columns);
        free(names);
    }
    nb_csv_free(table);
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

static int run(const predict_args *a, model_desc *desc, nb_model *model)
{
    bool has_targets = true;
    nb_dataset *data = source_is_fashion_mnist(a->data) ? nb_fashion_mnist_load(NULL, a->train_split, desc->dtype, a->limit)
                                                         : csv_data(a, desc, &has_targets);
    if (!data) {
        cli_error("predict", NULL);
        return 1;
    }
    int64_t n_in = desc->spec.sizes[0], n_out = desc->spec.sizes[desc->spec.n_sizes - 1];
    int status = 0;
    if (nb_dataset_n_features(data) != n_in) {
        cli_error("predict", "the model takes %lld inputs, %s has %lld features", (long long)n_in, a->data,
                  (long long)nb_dataset_n_features(data));
        nb_dataset_free(data);
        return 1;
    }
    if (desc->standardized) {
        nb_scaler scaler = {0};
        nb_scaler_set(&scaler, n_in, desc->mean, desc->std);
        nb_scaler_apply(&scaler, data->inputs);
        nb_scaler_clear(&scaler);
    }
    if (has_targets && desc->n_classes > 0 && data->n_classes > desc->n_classes) {
        cli_error("predict", "%s has labels up to %d; the model knows %d classes", a->data, data->n_classes - 1,
                  desc->n_classes);
        nb_dataset_free(data);
        return 1;
    }
    /* forward in batches: predictions, and the confusion matrix when labels are known */
    int k = desc->n_classes;
    double *confusion = k > 0 ? calloc((size_t)k * (size_t)k, sizeof(double)) : NULL;
    double *outputs = malloc((size_t)(data->n * n_out) * sizeof(double));
    int64_t *predicted = malloc((size_t)data->n * sizeof(int64_t));
    nb_loader *loader = nb_loader_new(data, 256, 0, 0);
    nb_batch batch;
    int64_t done = 0;
    nb_loader_start_epoch(loader, 0);
    while (status == 0 && nb_loader_next(loader, &batch)) {
        if (nb_input_bind(model->input, batch.inputs, batch.size) != NB_OK || nb_forward(model->output) != NB_OK) {
            cli_error("predict", NULL);
            status = 1;
            break;
        }
        const nb_tensor *out = nb_value(model->output);
        nb_tensor_to_doubles(out, outputs + done * n_out);
        if (k > 0)
            nb_argmax_rows(out, predicted + done);
        done += batch.size;
    }
    nb_loader_free(loader);
    if (desc->targets_standardized) /* back to the data's units */
        for (int64_t i = 0; i < data->n; i++)
            for (int64_t j = 0; j < n_out; j++)
                outputs[i * n_out + j] = outputs[i * n_out + j] * desc->target_std[j] + desc->target_mean[j];
    double correct = 0, squared = 0;
    for (int64_t i = 0; status == 0 && has_targets && i < data->n; i++) {
        if (k > 0) {
            int64_t truth = nb_dataset_label(data, i);
            confusion[truth * k + predicted[i]]++;
            correct += truth == predicted[i];
        } else {
            for (int64_t j = 0; j < n_out; j++) {
                double d = outputs[i * n_out + j] - nb_tensor_get(data->targets, i * n_out + j);
                squared += d * d;
            }
        }
    }
    double accuracy = correct / (double)data->n, rmse = sqrt(squared / (double)(data->n * n_out));
    if (status == 0 && a->json) {
        cJSON *root = cJSON_CreateObject();
        cJSON_AddNumberToObject(root, "rows", (double)data->n);
        cJSON *list = cJSON_AddArrayToObject(root, "predictions");
        for (int64_t i = 0; i < data->n; i++) {
            if (k > 0)
                cJSON_AddItemToArray(list, cJSON_CreateNumber((double)predicted[i]));
            else if (n_out == 1)
                cJSON_AddItemToArray(list, cJSON_CreateNumber(outputs[i]));
            else
                cJSON_AddItemToArray(list, cJSON_CreateDoubleArray(outputs + i * n_out, (int)n_out));
        }
        if (has_targets && k > 0) {
            cJSON_AddNumberToObject(root, "accuracy", accuracy);
            cJSON *matrix = cJSON_AddArrayToObject(root, "confusion");
            for (int r = 0; r < k; r++)
                cJSON_AddItemToArray(matrix, cJSON_CreateDoubleArray(confusion + r * k, k));
        } else if (has_targets) {
            cJSON_AddNumberToObject(root, "rmse", rmse);
        }
        char *text = cJSON_Print(root);
        puts(text);
        free(text);
        cJSON_Delete(root);
    } else if (status == 0 && has_targets) {
        if (k > 0) {
            printf("accuracy %.4f (%lld of %lld rows)\n\n", accuracy, (long long)correct, (long long)data->n);
            print_confusion(desc, confusion, k);
        } else {
            printf("root mean squared error %.6g over %lld rows\n", rmse, (long long)data->n);
        }
    } else if (status == 0) {
        for (int64_t i = 0; i < data->n; i++) {
            if (k > 0 && desc->class_names)
                printf("%s\n", desc->class_names[predicted[i]]);
            else if (k > 0)
                printf("%lld\n", (long long)predicted[i]);
            else
                for (int64_t j = 0; j < n_out; j++)
                    printf(j + 1 < n_out ? "%.9g," : "%.9g\n", outputs[i * n_out + j]);
        }
    }
    if (status == 0 && a->plot) {
        if (k > 0 && has_targets)
            status = draw_confusion(a, desc, confusion, k, accuracy);
        else
            cli_error("predict", "--plot draws a confusion matrix, which needs class labels in the data"), status = 1;
    }
    free(confusion);
    free(outputs);
    free(predicted);
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
