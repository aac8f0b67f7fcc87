/* nabla train: train a network on Fashion-MNIST or any CSV file. */
#include <getopt.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <cjson/cJSON.h>

#include "data_source.h"
#include "model_file.h"

typedef struct train_args {
    const char *data, *target, *features, *test, *model, *loss, *optim, *schedule, *save, *plot, *init, *dtype;
    double lr, momentum, weight_decay, val_split, clip;
    bool nesterov, json, quiet, standardize, standardize_set;
    int epochs, threads, patience;
    int64_t batch, limit, test_limit;
    uint64_t seed;
} train_args;

static void usage(FILE *out)
{
    fprintf(out,
            "usage: nabla train --data fashion-mnist|FILE.csv [options]\n\n"
            "Trains a multilayer perceptron and reports, per epoch, the loss, the train and test\n"
            "accuracy and the seconds taken.\n\n"
            "data:\n"
            "  --data SRC          fashion-mnist (Debian's dataset-fashion-mnist), or a CSV/TSV file\n"
            "  --target COL        the CSV column to predict (name or 1-based index; default: the last)\n"
            "  --features A,B,...  the CSV input columns (default: all but the target)\n"
            "  --test FILE         held-out CSV data (Fashion-MNIST uses its 10,000 test images)\n"
            "  --val-split F       hold out this fraction of the training data instead (0 < F < 1)\n"
            "  --limit N           train on the first N rows only; --test-limit N likewise\n"
            "  --no-standardize    do not scale CSV inputs (and regression targets) to mean 0, std 1\n"
            "                      (done by default for CSV; losses are then in the scaled units)\n\n"
            "model and training:\n"
            "  --model SPEC        layer sizes and activation, e.g. 784-256-128-10:relu\n"
            "                      (default: 784-256-128-10:relu for Fashion-MNIST, IN-64-OUT:relu for CSV)\n"
            "  --loss L            ce (classification; default when the target holds class labels),\n"
            "                      mse (default otherwise), mae, huber, bce\n"
            "  --optim O           sgd, adam (default), adamw, rmsprop, adagrad\n"
            "  --lr X              learning rate (default: the optimizer's, e.g. 1e-3 for adam)\n"
            "  --momentum X        SGD/RMSprop momentum; --nesterov for Nesterov's\n"
            "  --weight-decay X    L2 penalty (decoupled for adamw)\n"
            "  --schedule S        constant, step:SIZE:GAMMA, exp:GAMMA, cosine[:MIN], warmup:N,...\n"
            "  --clip X            clip the gradients' global norm\n"
            "  --epochs N          default 5; --batch N default 64; --patience N stops early\n"
            "  --init I            kaiming (default), xavier, torch, ...\n"
            "  --dtype f32|f64     default f32\n"
            "  --threads N         threads for the matrix products and large loops (default 0: the\n"
            "                      cores available); the same seed and thread count give the same numbers\n"
            "  --seed S            seed of initialisation and shuffling (default 42)\n\n"
            "output:\n"
            "  --save FILE         write the trained model (safetensors), only if training succeeds\n"
            "  --plot FILE         loss and accuracy curves (.png, .svg, .pdf)\n"
            "  --json              one JSON object on stdout: history, test_accuracy, ...\n"
            "  --quiet             no progress on stderr\n");
}

static bool parse_number(const char *text, double *out)
{
    char *end;
    *out = strtod(text, &end);
    return *text && !*end && isfinite(*out);
}

static int parse_args(int argc, char **argv, train_args *a)
{
    enum { O_TARGET = 256, O_FEATURES, O_TEST, O_VAL, O_LIMIT, O_TEST_LIMIT, O_NOSTD, O_LOSS, O_OPTIM, O_LR,
           O_MOMENTUM, O_NESTEROV, O_WD, O_SCHEDULE, O_CLIP, O_EPOCHS, O_BATCH, O_PATIENCE, O_INIT, O_DTYPE,
           O_THREADS, O_SEED, O_SAVE, O_PLOT, O_JSON, O_QUIET, O_DATA, O_MODEL };
    static const struct option options[] = {
        {"data", required_argument, NULL, O_DATA}, {"target", required_argument, NULL, O_TARGET},
        {"features", required_argument, NULL, O_FEATURES}, {"test", required_argument, NULL, O_TEST},
        {"val-split", required_argument, NULL, O_VAL}, {"limit", required_argument, NULL, O_LIMIT},
        {"test-limit", required_argument, NULL, O_TEST_LIMIT}, {"no-standardize", no_argument, NULL, O_NOSTD},
        {"model", required_argument, NULL, O_MODEL}, {"loss", required_argument, NULL, O_LOSS},
        {"optim", required_argument, NULL, O_OPTIM}, {"lr", required_argument, NULL, O_LR},
        {"momentum", required_argument, NULL, O_MOMENTUM}, {"nesterov", no_argument, NULL, O_NESTEROV},
        {"weight-decay", required_argument, NULL, O_WD}, {"schedule", required_argument, NULL, O_SCHEDULE},
        {"clip", required_argument, NULL, O_CLIP}, {"epochs", required_argument, NULL, O_EPOCHS},
        {"batch", required_argument, NULL, O_BATCH}, {"patience", required_argument, NULL, O_PATIENCE},
        {"init", required_argument, NULL, O_INIT}, {"dtype", required_argument, NULL, O_DTYPE},
        {"threads", required_argument, NULL, O_THREADS}, {"seed", required_argument, NULL, O_SEED},
        {"save", required_argument, NULL, O_SAVE}, {"plot", required_argument, NULL, O_PLOT},
        {"json", no_argument, NULL, O_JSON}, {"quiet", no_argument, NULL, O_QUIET},
        {"help", no_argument, NULL, 'h'}, {NULL, 0, NULL, 0},
    };
    *a = (train_args){.optim = "adam", .epochs = 5, .batch = 64, .seed = 42, .lr = NAN, .standardize = true,
                      .init = "kaiming", .dtype = "f32"};
    int option;
    optind = 1;
    while ((option = getopt_long(argc, argv, "h", options, NULL)) != -1) {
        double number = 0;
        bool numeric = option >= O_VAL && option != O_NOSTD && option != O_LOSS && option != O_OPTIM &&
                       option != O_NESTEROV && option != O_SCHEDULE && option != O_INIT && option != O_DTYPE &&
                       option != O_SAVE && option != O_PLOT && option != O_JSON && option != O_QUIET &&
                       option != O_DATA && option != O_MODEL;
        if (numeric && !parse_number(optarg, &number)) {
            cli_error("train", "--%s needs a number, got '%s'", options[option - O_TARGET + 1].name, optarg);
            return 2;
        }
        switch (option) {
        case O_DATA: a->data = optarg; break;
        case O_TARGET: a->target = optarg; break;
        case O_FEATURES: a->features = optarg; break;
        case O_TEST: a->test = optarg; break;
        case O_VAL: a->val_split = number; break;
        case O_LIMIT: a->limit = (int64_t)number; break;
        case O_TEST_LIMIT: a->test_limit = (int64_t)number; break;
        case O_NOSTD: a->standardize = false, a->standardize_set = true; break;
        case O_MODEL: a->model = optarg; break;
        case O_LOSS: a->loss = optarg; break;
        case O_OPTIM: a->optim = optarg; break;
        case O_LR: a->lr = number; break;
        case O_MOMENTUM: a->momentum = number; break;
        case O_NESTEROV: a->nesterov = true; break;
        case O_WD: a->weight_decay = number; break;
        case O_SCHEDULE: a->schedule = optarg; break;
        case O_CLIP: a->clip = number; break;
        case O_EPOCHS: a->epochs = (int)number; break;
        case O_BATCH: a->batch = (int64_t)number; break;
        case O_PATIENCE: a->patience = (int)number; break;
        case O_INIT: a->init = optarg; break;
        case O_DTYPE: a->dtype = optarg; break;
        case O_THREADS:
            if (number != floor(number) || number < 0 || number > 1 << 20) {
                cli_error("train", "--threads needs a whole number (0: the cores available), got '%s'", optarg);
                return 2;
            }
            a->threads = (int)number;
            break;
        case O_SEED: a->seed = (uint64_t)number; break;
        case O_SAVE: a->save = optarg; break;
        case O_PLOT: a->plot = optarg; break;
        case O_JSON: a->json = true; break;
        case O_QUIET: a->quiet = true; break;
        case 'h': usage(stdout); return -1;
        default: usage(stderr); return 2;
        }
    }
    if (optind < argc) {
        cli_error("train", "unexpected argument '%s' (options start with --; see nabla train --help)", argv[optind]);
        return 2;
    }
    if (!a->data) {
        cli_error("train", "--data is required: fashion-mnist or a CSV file (see nabla train --help)");
        return 2;
    }
    if (a->epochs < 1 || a->batch < 1 || a->limit < 0 || a->test_limit < 0 || a->patience < 0 || a->threads < 0) {
        cli_error("train", "--epochs and --batch must be at least 1; --limit, --patience, --threads not negative");
        return 2;
    }
    if (a->val_split != 0 && !(a->val_split > 0 && a->val_split < 1)) {
        cli_error("train", "--val-split must be between 0 and 1, got %g", a->val_split);
        return 2;
    }
    if (a->val_split > 0 && a->test) {
        cli_error("train", "give --test or --val-split, not both");
        return 2;
    }
    if (strcmp(a->dtype, "f32") != 0 && strcmp(a->dtype, "f64") != 0) {
        cli_error("train", "--dtype must be f32 or f64, got '%s'", a->dtype);
        return 2;
    }
    /* one pool of threads for nabla's loops and its matrix products (the BLAS runs
     * single-threaded inside them), so the two never compete for the cores */
    if (nb_set_threads(a->threads) != NB_OK) {
        cli_error("train", "--threads: %s", nb_errmsg());
        return 2;
    }
    return 0;
}

/* ---- the run ------------------------------------------------------------------------- */

typedef struct train_job {
    train_args args;
    model_desc desc;
    nb_dataset *train, *test;
    nb_model model;
    nb_optimizer *optimizer;
    nb_schedule schedule;
    cJSON *history;
    double *losses, *test_losses, *train_acc, *test_acc; /* per epoch, for the plot */
    int n_epochs;
} train_job;

static bool record_epoch(const nb_epoch_stats *stats, void *user)
{
    train_job *job = user;
    int e = job->n_epochs++;
    job->losses[e] = stats->loss;
    job->test_losses[e] = stats->val_loss;
    job->train_acc[e] = stats->train_accuracy;
    job->test_acc[e] = stats->val_accuracy;
    cJSON *entry = cJSON_CreateObject();
    cJSON_AddNumberToObject(entry, "epoch", stats->epoch);
    cJSON_AddNumberToObject(entry, "loss", stats->loss);
    if (!isnan(stats->train_accuracy))
        cJSON_AddNumberToObject(entry, "train_accuracy", stats->train_accuracy);
    if (!isnan(stats->val_loss))
        cJSON_AddNumberToObject(entry, "test_loss", stats->val_loss);
    if (!isnan(stats->val_accuracy))
        cJSON_AddNumberToObject(entry, "test_accuracy", stats->val_accuracy);
    cJSON_AddNumberToObject(entry, "seconds", stats->seconds);
    cJSON_AddNumberToObject(entry, "lr", stats->lr);
    cJSON_AddItemToArray(job->history, entry);
    return true;
}

/* Load the training and held-out data; settle the loss and the class count. */
static int load_data(train_job *job)
{
    train_args *a = &job->args;
    nb_dtype dtype = strcmp(a->dtype, "f64") == 0 ? NB_F64 : NB_F32;
    bool labels;
    if (source_is_fashion_mnist(a->data)) {
        job->train = nb_fashion_mnist_load(NULL, true, dtype, a->limit);
        if (job->train && a->val_split == 0)
            job->test = nb_fashion_mnist_load(NULL, false, dtype, a->test_limit);
        if (!job->train || (a->val_split == 0 && !job->test)) {
            cli_error("train", NULL);
            return 1;
        }
        job->desc.data = strdup("fashion-mnist");
        labels = true;
        if (!a->standardize_set)
            a->standardize = false; /* pixels are already in [0, 1] */
    } else {
        nb_csv_options options = {.class_column = a->target};
        nb_csv_table *table = nb_csv_read(a->data, &options);
        if (!table) {
            cli_error("train", NULL);
            return 1;
        }
        const char *target = a->target ? a->target : table->names[table->n_cols - 1];
        int column = nb_csv_column(table, target);
        if (column < 0) {
            cli_error("train", NULL);
            nb_csv_free(table);
            return 1;
        }
        cli_loss loss;
        labels = a->loss ? loss_parse(a->loss, &loss) == 0 && loss == LOSS_CE : csv_column_is_labels(table, column);
        job->train = dataset_from_table(table, a->features, target, labels, dtype, a->limit);
        job->desc.target = strdup(table->names[column]);
        nb_csv_free(table);
        if (!job->train) {
            cli_error("train", NULL);
            return 1;
        }
        job->desc.data = strdup("csv");
        job->desc.features = join_feature_names(job->train, nb_dataset_n_features(job->train));
        if (a->test) {
            nb_csv_table *test_table = nb_csv_read(a->test, &options);
            if (test_table) {
                job->test = dataset_from_table(test_table, job->desc.features, job->desc.target, labels, dtype,
                                               a->test_limit);
                nb_csv_free(test_table);
            }
            if (!job->test) {
                cli_error("train", NULL);
                return 1;
            }
        }
    }
    if (a->val_split > 0) {
        nb_dataset *part_train, *part_val;
        if (nb_dataset_split(job->train, a->val_split, a->seed, &part_train, &part_val) != NB_OK) {
            cli_error("train", NULL);
            return 1;
        }
        nb_dataset_free(job->train);
        job->train = part_train, job->test = part_val;
    }
    if (labels && job->test && job->test->n_classes > job->train->n_classes)
        job->train->n_classes = job->test->n_classes; /* a class missing from a small slice */
    job->desc.n_classes = labels ? job->train->n_classes : 0;
    if (labels && job->train->class_names) {
        job->desc.class_names = calloc((size_t)job->desc.n_classes, sizeof(char *));
        for (int i = 0; i < job->desc.n_classes; i++)
            job->desc.class_names[i] = strdup(job->train->class_names[i]);
    }
    return 0;
}

/* The spec, loss and optimizer, checked against the data. */
static int settle_model(train_job *job)
{
    train_args *a = &job->args;
    int64_t n_in = nb_dataset_n_features(job->train);
    int64_t n_out = job->desc.n_classes > 0 ? job->desc.n_classes : nb_dataset_n_outputs(job->train);
    char default_spec[64];
    snprintf(default_spec, sizeof default_spec, "%lld-%s-%lld:relu", (long long)n_in,
             source_is_fashion_mnist(a->data) ? "256-128" : "64", (long long)n_out);
    if (nb_mlp_parse(a->model ? a->model : default_spec, &job->desc.spec) != NB_OK) {
        cli_error("train", NULL);
        return 2;
    }
    const nb_mlp_spec *spec = &job->desc.spec;
    if (spec->sizes[0] != n_in || spec->sizes[spec->n_sizes - 1] != n_out) {
        cli_error("train", "the model %s takes %lld inputs and gives %lld outputs; the data have %lld features and %lld %s",
                  a->model, (long long)spec->sizes[0], (long long)spec->sizes[spec->n_sizes - 1], (long long)n_in,
                  (long long)n_out, job->desc.n_classes > 0 ? "classes" : "targets");
        return 2;
    }
    job->desc.loss = job->desc.n_classes > 0 ? LOSS_CE : LOSS_MSE;
    if (a->loss && loss_parse(a->loss, &job->desc.loss) != 0) {
        cli_error("train", "unknown loss '%s' (known: ce, mse, mae, huber, bce)", a->loss);
        return 2;
    }
    job->desc.dtype = strcmp(a->dtype, "f64") == 0 ? NB_F64 : NB_F32;
    return 0;
}

static int build_and_train(train_job *job)
{
    train_args *a = &job->args;
    model_desc *desc = &job->desc;
    int64_t n_in = desc->spec.sizes[0];
    if (a->standardize) {
        nb_scaler scaler = {0};
        if (nb_scaler_fit(&scaler, job->train->inputs) != NB_OK || nb_scaler_apply(&scaler, job->train->inputs) != NB_OK ||
            (job->test && nb_scaler_apply(&scaler, job->test->inputs) != NB_OK)) {
            cli_error("train", NULL);
            nb_scaler_clear(&scaler);
            return 1;
        }
        desc->standardized = true;
        desc->mean = malloc((size_t)n_in * sizeof(double));
        desc->std = malloc((size_t)n_in * sizeof(double));
        memcpy(desc->mean, scaler.mean, (size_t)n_in * sizeof(double));
        memcpy(desc->std, scaler.std, (size_t)n_in * sizeof(double));
        nb_scaler_clear(&scaler);
    }
    if (a->standardize && desc->n_classes == 0 && desc->loss != LOSS_BCE) {
        /* regression targets too: the network then learns values near 0 at any scale of y */
        int64_t n_out = desc->spec.sizes[desc->spec.n_sizes - 1];
        nb_scaler scaler = {0};
        if (nb_scaler_fit(&scaler, job->train->targets) != NB_OK || nb_scaler_apply(&scaler, job->train->targets) != NB_OK ||
            (job->test && nb_scaler_apply(&scaler, job->test->targets) != NB_OK)) {
            cli_error("train", NULL);
            nb_scaler_clear(&scaler);
            return 1;
        }
        desc->targets_standardized = true;
        desc->target_mean = malloc((size_t)n_out * sizeof(double));
        desc->target_std = malloc((size_t)n_out * sizeof(double));
        memcpy(desc->target_mean, scaler.mean, (size_t)n_out * sizeof(double));
        memcpy(desc->target_std, scaler.std, (size_t)n_out * sizeof(double));
        nb_scaler_clear(&scaler);
    }
    nb_init init;
    nb_optim_kind kind;
    if (nb_init_parse(a->init, &init) != NB_OK || nb_optim_parse(a->optim, &kind) != NB_OK || kind == NB_LBFGS) {
        cli_error("train", kind == NB_LBFGS ? "lbfgs needs full batches; use nabla fit for it" : NULL);
        return 2;
    }
    nb_rng rng;
    nb_rng_seed(&rng, a->seed);
    if (model_build(desc, a->batch, init, &rng, &job->model) != NB_OK) {
        cli_error("train", NULL);
        return 1;
    }
    nb_optim_config config = nb_optim_defaults(kind);
    if (!isnan(a->lr))
        config.lr = a->lr;
    config.momentum = a->momentum, config.nesterov = a->nesterov;
    if (a->weight_decay > 0 || kind != NB_ADAMW)
        config.weight_decay = a->weight_decay;
    job->optimizer = nb_optim_new(job->model.graph, &config);
    if (!job->optimizer || (a->schedule && nb_schedule_parse(a->schedule, config.lr, a->epochs, &job->schedule) != NB_OK)) {
        cli_error("train", NULL);
        return 2;
    }
    nb_train_config train = nb_train_defaults();
    train.epochs = a->epochs, train.batch_size = a->batch, train.seed = a->seed;
    train.patience = a->patience, train.restore_best = a->patience > 0, train.clip_norm = a->clip;
    train.schedule = a->schedule ? &job->schedule : NULL;
    train.accuracy = desc->n_classes > 0;
    train.progress = a->quiet ? NULL : stderr;
    train.val_name = a->val_split > 0 ? "val" : "test";
    train.on_epoch = record_epoch, train.user = job;
    nb_train_result result;
    if (!a->quiet)
        fprintf(stderr, "training %s on %lld samples (%s), %s, %s lr %g, batch %lld, %d epochs\n",
                a->model ? a->model : "the default model", (long long)job->train->n, a->data, loss_name(desc->loss),
                nb_optim_name(kind), config.lr, (long long)a->batch, a->epochs);
    nb_status status = nb_train(&job->model, job->optimizer, job->train, job->test, &train, &result);
    if (status != NB_OK) {
        cli_error("train", NULL);
        return 1;
    }
    return 0;
}

static int draw_curves(train_job *job)
{
    bool classes = job->desc.n_classes > 0;
    nb_figure *figure = nb_figure_new(classes ? 1100 : 700, 450, 1, classes ? 2 : 1);
    nb_panel *loss = nb_figure_panel(figure, 0, 0);
    nb_figure_title(figure, source_is_fashion_mnist(job->args.data) ? "nabla train: Fashion-MNIST" : "nabla train");
    nb_panel_title(loss, "loss");
    nb_panel_labels(loss, "epoch", job->desc.loss == LOSS_CE ? "cross-entropy" : loss_name(job->desc.loss));
    nb_panel_line(loss, "train", NULL, job->losses, (size_t)job->n_epochs, NULL);
    if (job->test)
        nb_panel_line(loss, job->args.val_split > 0 ? "validation" : "test", NULL, job->test_losses,
                      (size_t)job->n_epochs, NULL);
    if (classes) {
        nb_panel *accuracy = nb_figure_panel(figure, 0, 1);
        nb_panel_title(accuracy, "accuracy");
        nb_panel_labels(accuracy, "epoch", "share right");
        nb_panel_line(accuracy, "train", NULL, job->train_acc, (size_t)job->n_epochs, NULL);
        if (job->test)
            nb_panel_line(accuracy, job->args.val_split > 0 ? "validation" : "test", NULL, job->test_acc,
                          (size_t)job->n_epochs, NULL);
    }
    nb_status status = nb_figure_save(figure, job->args.plot);
    nb_figure_free(figure);
    if (status != NB_OK) {
        cli_error("train", NULL);
        return 1;
    }
    return 0;
}

static void report(train_job *job, double seconds)
{
    int last = job->n_epochs - 1;
    double test_accuracy = last >= 0 ? job->test_acc[last] : NAN;
    if (job->args.json) {
        cJSON *root = cJSON_CreateObject();
        char spec[256];
        nb_mlp_format(&job->desc.spec, spec, sizeof spec);
        cJSON_AddStringToObject(root, "model", spec);
        cJSON_AddStringToObject(root, "data", job->args.data);
        cJSON_AddStringToObject(root, "loss", loss_name(job->desc.loss));
        cJSON_AddNumberToObject(root, "n_params", (double)nb_n_params(job->model.graph));
        cJSON_AddNumberToObject(root, "train_samples", (double)job->train->n);
        cJSON_AddNumberToObject(root, "threads", nb_get_threads());
        cJSON_AddStringToObject(root, "blas", nb_blas_backend());
        cJSON_AddItemToObject(root, "history", job->history);
        job->history = NULL;
        cJSON_AddNumberToObject(root, "epochs_run", job->n_epochs);
        if (last >= 0) {
            cJSON_AddNumberToObject(root, "final_loss", job->losses[last]);
            if (!isnan(test_accuracy))
                cJSON_AddNumberToObject(root, "test_accuracy", test_accuracy);
            if (!isnan(job->test_losses[last]))
                cJSON_AddNumberToObject(root, "test_loss", job->test_losses[last]);
        }
        cJSON_AddNumberToObject(root, "seconds", seconds);
        char *text = cJSON_Print(root);
        puts(text);
        free(text);
        cJSON_Delete(root);
        return;
    }
    printf("trained %d epochs in %.1f s: loss %.4f", job->n_epochs, seconds, last >= 0 ? job->losses[last] : NAN);
    if (!isnan(test_accuracy))
        printf(", %s accuracy %.4f", job->args.val_split > 0 ? "validation" : "test", test_accuracy);
    else if (last >= 0 && !isnan(job->test_losses[last]))
        printf(", %s loss %.4f", job->args.val_split > 0 ? "validation" : "test", job->test_losses[last]);
    printf("\n");
}

static double wall_seconds(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + 1e-9 * (double)t.tv_nsec;
}

int cmd_train(int argc, char **argv)
{
    train_job job = {0};
    int status = parse_args(argc, argv, &job.args);
    if (status != 0)
        return status < 0 ? 0 : status;
    double start = wall_seconds();
    job.history = cJSON_CreateArray();
    status = load_data(&job);
    if (status == 0)
        status = settle_model(&job);
    if (status == 0) {
        size_t n = (size_t)job.args.epochs;
        job.losses = calloc(n, sizeof(double)), job.test_losses = calloc(n, sizeof(double));
        job.train_acc = calloc(n, sizeof(double)), job.test_acc = calloc(n, sizeof(double));
        status = build_and_train(&job);
    }
    if (status == 0 && job.args.plot)
        status = draw_curves(&job);
    if (status == 0 && job.args.save) {
        if (model_save(job.args.save, &job.desc, &job.model) != NB_OK) {
            cli_error("train", NULL);
            status = 1;
        } else if (!job.args.quiet) {
            fprintf(stderr, "model saved to %s\n", job.args.save);
        }
    }
    if (status == 0)
        report(&job, wall_seconds() - start);
    cJSON_Delete(job.history);
    free(job.losses), free(job.test_losses), free(job.train_acc), free(job.test_acc);
    nb_optim_free(job.optimizer);
    nb_graph_free(job.model.graph);
    nb_dataset_free(job.train);
    nb_dataset_free(job.test);
    model_desc_clear(&job.desc);
    return status;
}
