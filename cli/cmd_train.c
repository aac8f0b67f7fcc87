/* nabla train: train a network on Fashion-MNIST or any CSV file. */
#include <getopt.h>
#include <libgen.h>
#include <math.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cjson/cJSON.h>

#include "data_source.h"
#include "dist.h"
#include "model_file.h"

typedef struct train_args {
    /* as given */
    const char *data, *target, *features, *test, *model, *loss, *optim, *schedule, *save, *plot, *init, *dtype;
    const char *input_shape;
    double lr, momentum, weight_decay, val_split, clip, max_loss_growth;
    bool nesterov, json, quiet, no_standardize, help;
    uint64_t epochs, batch, patience, threads, limit, test_limit, seed;
    /* what the text options name, settled by parse_args */
    nb_optim_kind optim_kind;
    nb_init init_kind;
    nb_dtype dtype_kind;
    bool loss_given;
    nb_loss_kind loss_kind;
    bool standardize;
    bool auto_epochs; /* CSV data without --epochs: up to AUTO_EPOCHS, stopped by a held-out loss */
    int input_ndim; /* --input-shape, parsed (0 when not given) */
    int64_t input_shape_of[3];
} train_args;

/* CSV data without --epochs: at most this many epochs, stopped after AUTO_PATIENCE epochs
 * without a better validation loss, on AUTO_VAL_SPLIT of the training rows (when there are
 * at least AUTO_VAL_MIN_ROWS). Five epochs left a 150-row table at chance (2 steps an
 * epoch); a cap with early stopping fits small and large tables alike. */
#define AUTO_EPOCHS 1000
#define AUTO_PATIENCE 20
#define AUTO_VAL_SPLIT 0.2
#define AUTO_VAL_MIN_ROWS 20
/* --epochs and --patience not given */
#define NOT_GIVEN UINT64_MAX

static void usage(FILE *out)
{
    fprintf(out,
            "usage: nabla train --data fashion-mnist|FILE.csv [options]\n\n"
            "Trains a neural network (a multilayer perceptron or a convolutional network) and reports, per epoch, the loss, the train and test\n"
            "accuracy and the seconds taken.\n\n"
            "data:\n"
            "  --data SRC          fashion-mnist (Debian's dataset-fashion-mnist), or a CSV/TSV file\n"
            "  --target COL        the CSV column to predict (a name, or 3 or $3 for the third;\n"
            "                      default: the last)\n"
            "  --features A,B,...  the CSV input columns (default: all but the target). A file without\n"
            "                      a header names its columns x and y (two columns) or c1, c2, ...\n"
            "  --test FILE         held-out CSV data, with the same columns (Fashion-MNIST uses its\n"
            "                      10,000 test images); its labels must be classes of the training data\n"
            "  --val-split F       hold out this fraction of the training data for validation\n"
            "                      (0 < F < 1); with --test too, the test data are only reported on\n"
            "  --limit N           train on the first N rows only (0: all); --test-limit N likewise\n"
            "  --no-standardize    do not scale CSV inputs (and regression targets) to mean 0, std 1\n"
            "                      (done by default for CSV; losses are then in the scaled units)\n\n"
            "model and training:\n"
            "  --model SPEC        layer sizes and activation (relu, tanh, sigmoid, leaky_relu,\n"
            "                      softplus, none), e.g. 784-256-128-10:relu (default:\n"
            "                      784-256-128-10:relu for Fashion-MNIST, IN-64-OUT:relu for CSV),\n"
            "                      or layers joined by commas: conv N KxK [stride S] [pad P] [ACT],\n"
            "                      maxpool K, avgpool K, dense N [ACT], dropout P, batchnorm, flatten;\n"
            "                      e.g. 'conv 32 3x3 pad 1 relu, maxpool 2, dense 128 relu, dense 10'\n"
            "  --input-shape CxHxW the shape of one CSV row as an image (e.g. 1x28x28), for conv\n"
            "                      and pool layers; Fashion-MNIST's images are 1x28x28\n"
            "  --loss L            ce: classification, one output per class (Fashion-MNIST's only loss);\n"
            "                      mse, mae, huber: regression; bce: targets from 0 to 1.\n"
            "                      Default: ce when the target holds class names (at most %d), or\n"
            "                      class numbers (whole numbers from 0 or 1 up to at most %d, at least\n"
            "                      ten rows per distinct value, or only two values); mse otherwise.\n"
            "                      The first line on stderr (with --json: task) says which it chose.\n"
            "                      Classes are the distinct labels seen (numbers keep their values as\n"
            "                      names). --loss ce on numbers that are no classes (not whole, or\n"
            "                      fewer than two rows per distinct value) is refused: use mse.\n"
            "  --optim O           sgd, adam (default), adamw, rmsprop, adagrad\n"
            "  --lr X              learning rate (default: the optimizer's, e.g. 1e-3 for adam)\n"
            "  --momentum X        SGD/RMSprop momentum; --nesterov for Nesterov's\n"
            "  --weight-decay X    L2 penalty (decoupled for adamw)\n"
            "  --schedule S        constant, step:SIZE:GAMMA, exp:GAMMA, cosine[:MIN], warmup:N,...\n"
            "  --clip X            clip the gradients' global norm (0: off)\n"
            "  --max-loss-growth X an epoch whose mean loss ends above X times the first batch's is a\n"
            "                      divergence: exit 1, nothing saved (default 1000; 0: off)\n"
            "  --epochs N          train N epochs (Fashion-MNIST's default: 5). CSV data without\n"
            "                      --epochs: up to %d epochs, stopped by --patience (default %d)\n"
            "                      on a validation split (--val-split, default %g of the training\n"
            "                      rows from %d rows on; --test data are then only reported on)\n"
            "  --batch N           rows per step (default 64)\n"
            "  --patience N        stop after N epochs without a better held-out loss, and keep the\n"
            "                      parameters of the best epoch (with --epochs it needs --test,\n"
            "                      --val-split or Fashion-MNIST's test images; 0: off)\n"
            "  --init I            kaiming (default), kaiming-normal, xavier, xavier-normal, torch, zeros\n"
            "  --dtype f32|f64     default f32\n"
            "  --threads N         threads for the matrix products and large loops (default 0: the\n"
            "                      cores available); the same seed and thread count give the same numbers\n"
            "  --seed S            seed of initialisation and shuffling (default 42)\n\n"
            "output:\n"
            "  --save FILE         write the trained model (safetensors), only if training succeeds\n"
            "                      with finite parameters\n"
            "  --plot FILE         loss and accuracy curves (.png, .svg, .pdf)\n"
            "  --json              one JSON object on stdout: history (per epoch), epochs_run, and for\n"
            "                      the parameters kept (model_epoch: the epoch they come from, the best\n"
            "                      one with --patience) final_loss, val_loss, val_accuracy, test_loss,\n"
            "                      test_accuracy; seconds (the training steps' time, summed over the\n"
            "                      epochs); warnings, when there are any\n"
            "  --quiet             no progress on stderr (warnings are still printed)\n\n"
            "A run that ends while the held-out loss (or without held-out data, the training loss)\n"
            "is still falling steeply warns that more epochs would likely help.\n\n"
            "Several processes: mpirun -np N nabla train ... trains one model on N ranks (MPI):\n"
            "--batch is the global batch, each rank computes its share, the gradients are summed\n"
            "before every step, and rank 0 alone prints and writes (whether MPI is built in: see\n"
            "the version line of nabla).\n\n"
            "Exit status: 0 trained, 1 failed (unreadable or unsuitable data, divergence, a file\n"
            "that cannot be written), 2 bad usage (unknown or conflicting options, bad values, a\n"
            "model or loss that does not fit the data).\n",
            AUTO_MAX_CLASSES, AUTO_MAX_CLASSES - 1, AUTO_EPOCHS, AUTO_PATIENCE, AUTO_VAL_SPLIT, AUTO_VAL_MIN_ROWS);
}

/* ---- options: one table gives each its kind, its field and its range ------------------ */

typedef enum arg_kind { ARG_TEXT, ARG_FLAG, ARG_COUNT, ARG_NUMBER } arg_kind;

typedef struct arg_spec {
    const char *name;
    arg_kind kind;
    size_t offset;       /* of the field in train_args: const char *, bool, uint64_t or double */
    uint64_t low, high;  /* ARG_COUNT */
    cli_bound bound;     /* ARG_NUMBER */
} arg_spec;

#define TEXT(name, field) {name, ARG_TEXT, offsetof(train_args, field), 0, 0, CLI_ANY}
#define FLAG(name, field) {name, ARG_FLAG, offsetof(train_args, field), 0, 0, CLI_ANY}
#define COUNT(name, field, low, high) {name, ARG_COUNT, offsetof(train_args, field), low, high, CLI_ANY}
#define NUMBER(name, field, bound) {name, ARG_NUMBER, offsetof(train_args, field), 0, 0, bound}

static const arg_spec arg_specs[] = {
    TEXT("data", data),
    TEXT("target", target),
    TEXT("features", features),
    TEXT("test", test),
    NUMBER("val-split", val_split, CLI_FRACTION),
    COUNT("limit", limit, 0, INT64_MAX),
    COUNT("test-limit", test_limit, 0, INT64_MAX),
    FLAG("no-standardize", no_standardize),
    TEXT("model", model),
    TEXT("input-shape", input_shape),
    TEXT("loss", loss),
    TEXT("optim", optim),
    NUMBER("lr", lr, CLI_POSITIVE),
    NUMBER("momentum", momentum, CLI_NONNEGATIVE),
    FLAG("nesterov", nesterov),
    NUMBER("weight-decay", weight_decay, CLI_NONNEGATIVE),
    TEXT("schedule", schedule),
    NUMBER("clip", clip, CLI_NONNEGATIVE),
    NUMBER("max-loss-growth", max_loss_growth, CLI_NONNEGATIVE),
    COUNT("epochs", epochs, 1, CLI_MAX_EPOCHS),
    COUNT("batch", batch, 1, INT32_MAX),
    COUNT("patience", patience, 0, INT32_MAX),
    TEXT("init", init),
    TEXT("dtype", dtype),
    COUNT("threads", threads, 0, INT32_MAX), /* nb_set_threads says how many it takes */
    COUNT("seed", seed, 0, UINT64_MAX),
    TEXT("save", save),
    TEXT("plot", plot),
    FLAG("json", json),
    FLAG("quiet", quiet),
    FLAG("help", help),
};
enum { N_ARGS = sizeof arg_specs / sizeof arg_specs[0] };

/* One option's value into its field; false (after a message) when it does not parse. */
static bool store_arg(const arg_spec *spec, const char *text, train_args *a)
{
    char *field = (char *)a + spec->offset, option[64];
    snprintf(option, sizeof option, "--%s", spec->name);
    switch (spec->kind) {
    case ARG_TEXT: *(const char **)field = text; return true;
    case ARG_FLAG: *(bool *)field = true; return true;
    case ARG_COUNT: return cli_parse_count("train", option, text, spec->low, spec->high, (uint64_t *)field);
    case ARG_NUMBER: return cli_parse_number("train", option, text, spec->bound, (double *)field);
    }
    return false;
}

/* The text options into what they name, and the combinations checked: 0 or 2. */
static int settle_args(train_args *a)
{
    if (!a->data) {
        cli_error("train", "--data is required: fashion-mnist or a CSV file (see nabla train --help)");
        return 2;
    }
    bool fashion = source_is_fashion_mnist(a->data);
    a->auto_epochs = !fashion && a->epochs == NOT_GIVEN;
    if (a->epochs == NOT_GIVEN)
        a->epochs = fashion ? 5 : AUTO_EPOCHS;
    if (a->patience == NOT_GIVEN)
        a->patience = a->auto_epochs ? AUTO_PATIENCE : 0;
    a->loss_given = a->loss != NULL;
    if (a->loss_given && nb_loss_parse(a->loss, &a->loss_kind) != NB_OK) {
        cli_error("train", "--loss: unknown loss '%s' (known: ce, mse, mae, huber, bce)", a->loss);
        return 2;
    }
    if (nb_optim_parse(a->optim, &a->optim_kind) != NB_OK || nb_init_parse(a->init, &a->init_kind) != NB_OK) {
        cli_error("train", NULL);
        return 2;
    }
    if (a->optim_kind == NB_LBFGS) {
        cli_error("train", "--optim lbfgs needs full batches; use nabla fit for it");
        return 2;
    }
    if (strcmp(a->dtype, "f32") != 0 && strcmp(a->dtype, "f64") != 0) {
        cli_error("train", "--dtype must be f32 or f64, got '%s'", a->dtype);
        return 2;
    }
    a->dtype_kind = strcmp(a->dtype, "f64") == 0 ? NB_F64 : NB_F32;
    nb_net_spec spec;
    nb_schedule schedule;
    if ((a->model && nb_net_parse(a->model, &spec) != NB_OK) ||
        (a->input_shape && nb_shape_parse(a->input_shape, &a->input_ndim, a->input_shape_of) != NB_OK) ||
        (a->schedule && nb_schedule_parse(a->schedule, 1, (int)a->epochs, &schedule) != NB_OK)) {
        cli_error("train", NULL);
        return 2;
    }
    if (a->plot && !cli_plot_path_ok(a->plot)) {
        cli_error("train", "--plot: cannot tell the image format of '%s': use .png, .svg or .pdf", a->plot);
        return 2;
    }
    if (fashion && (a->target || a->features || a->test)) {
        cli_error("train", "--target, --features and --test are for CSV data; Fashion-MNIST has its own labels and "
                           "test images");
        return 2;
    }
    if (fashion && a->loss_given && a->loss_kind != NB_LOSS_CE) {
        cli_error("train", "Fashion-MNIST holds class labels: its loss is ce, not %s", a->loss);
        return 2;
    }
    if (a->patience > 0 && !a->auto_epochs && !fashion && !a->test && a->val_split == 0) {
        cli_error("train", "--patience watches the loss on held-out data: give --test FILE or --val-split F (or "
                           "leave out --epochs, which holds out a validation split)");
        return 2;
    }
    a->standardize = !a->no_standardize && !fashion; /* pixels are already in [0, 1] */
    /* one pool of threads for nabla's loops and its matrix products (the BLAS runs
     * single-threaded inside them), so the two never compete for the cores */
    if (nb_set_threads((int)a->threads) != NB_OK) {
        cli_error("train", "--threads: %s", nb_errmsg());
        return 2;
    }
    return 0;
}

/* Options into `a`; 0 to go on, else the exit status (-1 after --help). */
static int parse_args(int argc, char **argv, train_args *a)
{
    struct option options[N_ARGS + 1];
    for (int i = 0; i < N_ARGS; i++)
        options[i] = (struct option){arg_specs[i].name, arg_specs[i].kind == ARG_FLAG ? no_argument : required_argument,
                                     NULL, 0};
    options[N_ARGS] = (struct option){NULL, 0, NULL, 0};
    *a = (train_args){.optim = "adam", .epochs = NOT_GIVEN, .patience = NOT_GIVEN, .batch = 64, .seed = 42, .lr = NAN,
                      .init = "kaiming",
                      .max_loss_growth = 1000,
                      .dtype = "f32"};
    optind = 1;
    opterr = 0;
    int option, index;
    while ((option = getopt_long(argc, argv, ":h", options, &index)) != -1) {
        if (option == 'h') {
            a->help = true;
        } else if (option == ':') {
            cli_error("train", "option '%s' needs a value", argv[optind - 1]);
            return 2;
        } else if (option != 0) {
            cli_error("train", "unknown option '%s' (nabla train --help lists them)", argv[optind - 1]);
            return 2;
        } else if (!store_arg(&arg_specs[index], optarg, a)) {
            return 2;
        }
        if (a->help) {
            usage(stdout);
            return -1;
        }
    }
    if (optind < argc) {
        cli_error("train", "unexpected argument '%s' (options start with --; see nabla train --help)", argv[optind]);
        return 2;
    }
    return settle_args(a);
}

/* ---- the run ------------------------------------------------------------------------- */

/* One held-out curve per epoch: the loss and (classification) the accuracy. */
typedef struct curve {
    double *loss, *accuracy;
} curve;

typedef struct train_job {
    train_args args;
    model_desc desc;
    nb_dataset *train;
    nb_dataset *val;  /* a split of the training data (--val-split, or by default), or NULL */
    nb_dataset *test; /* --test data or Fashion-MNIST's test images, or NULL */
    nb_model model;
    nb_optimizer *optimizer;
    nb_schedule schedule;
    cJSON *history;
    /* per epoch, for the plot and the report */
    double *losses, *train_acc;
    curve val_curve, test_curve;
    int n_epochs, capacity;
    bool out_of_memory, test_failed;
    double seconds;  /* the training steps' time, summed over the epochs */
    int model_epoch; /* the epoch whose parameters the model holds */
    const char *stop_reason;
    char warning[512]; /* empty, or why the run was likely too short */
    const nb_comm *comm; /* mpirun's ranks (cli/dist.c), NULL alone: rank 0 prints and writes */
} train_job;

/* Room for one more epoch in the per-epoch arrays. */
static bool grow_epochs(train_job *job)
{
    if (job->n_epochs < job->capacity)
        return true;
    int capacity = job->capacity ? 2 * job->capacity : 16;
    double **arrays[6] = {&job->losses, &job->train_acc, &job->val_curve.loss, &job->val_curve.accuracy,
                          &job->test_curve.loss, &job->test_curve.accuracy};
    for (int i = 0; i < 6; i++) {
        double *grown = realloc(*arrays[i], (size_t)capacity * sizeof(double));
        if (!grown)
            return false;
        *arrays[i] = grown;
    }
    job->capacity = capacity;
    return true;
}

/* The test data's loss and accuracy after an epoch whose held-out data are a validation
 * split: the test data are reported on, never used to stop. */
static bool evaluate_test(train_job *job, double *loss, double *accuracy)
{
    if (nb_evaluate(&job->model, job->test, (int64_t)job->args.batch, loss,
                    job->desc.n_classes > 0 ? accuracy : NULL) == NB_OK)
        return true;
    nb_error_prefix("the test data");
    job->test_failed = true;
    return false;
}

static void add_held_out(cJSON *entry, const char *name, double loss, double accuracy)
{
    char key[32];
    if (!isnan(loss)) {
        snprintf(key, sizeof key, "%s_loss", name);
        cJSON_AddNumberToObject(entry, key, loss);
    }
    if (!isnan(accuracy)) {
        snprintf(key, sizeof key, "%s_accuracy", name);
        cJSON_AddNumberToObject(entry, key, accuracy);
    }
}

static bool record_epoch(const nb_epoch_stats *stats, void *user)
{
    train_job *job = user;
    double test_loss = job->val ? NAN : stats->val_loss, test_accuracy = job->val ? NAN : stats->val_accuracy;
    if (job->val && job->test && !evaluate_test(job, &test_loss, &test_accuracy))
        return false; /* stops training */
    cJSON *entry = cJSON_CreateObject();
    if (!entry || !grow_epochs(job)) {
        cJSON_Delete(entry);
        job->out_of_memory = true;
        return false;
    }
    int e = job->n_epochs++;
    job->losses[e] = stats->loss;
    job->train_acc[e] = stats->train_accuracy;
    job->val_curve.loss[e] = job->val ? stats->val_loss : NAN;
    job->val_curve.accuracy[e] = job->val ? stats->val_accuracy : NAN;
    job->test_curve.loss[e] = test_loss;
    job->test_curve.accuracy[e] = test_accuracy;
    job->seconds += stats->seconds;
    cJSON_AddNumberToObject(entry, "epoch", stats->epoch);
    cJSON_AddNumberToObject(entry, "loss", stats->loss);
    if (!isnan(stats->train_accuracy))
        cJSON_AddNumberToObject(entry, "train_accuracy", stats->train_accuracy);
    add_held_out(entry, "val", job->val_curve.loss[e], job->val_curve.accuracy[e]);
    add_held_out(entry, "test", test_loss, test_accuracy);
    cJSON_AddNumberToObject(entry, "seconds", stats->seconds);
    cJSON_AddNumberToObject(entry, "lr", stats->lr);
    cJSON_AddItemToArray(job->history, entry);
    return true;
}

static int out_of_memory(void)
{
    cli_error("train", "out of memory");
    return 1;
}

/* The target's kind: class labels (names, or numbers that look like classes) or values;
 * 0, or the exit status after a message. */
static int settle_labels(const train_args *a, const nb_table *table, int column, bool *labels)
{
    bool names = column == table->class_col;
    const char *target = table->names[column];
    if (a->loss_given) {
        *labels = a->loss_kind == NB_LOSS_CE;
        if (names && !*labels) {
            cli_error("train", "the target '%s' holds class names ('%s', ...); --loss %s needs numbers (use --loss ce)",
                      target, table->class_names[0], a->loss);
            return 2;
        }
        /* numbers that are values (a measurement, a price) would each become a class */
        if (*labels && !names && !table_numbers_can_be_classes(table, column)) {
            cli_error("train", NULL);
            return 2;
        }
        return 0;
    }
    if (names && table->n_classes > AUTO_MAX_CLASSES) {
        cli_error("train", "the target '%s' holds %d different names: too many to be classes (choose the target with "
                           "--target, or insist with --loss ce)", target, table->n_classes);
        return 1;
    }
    *labels = names || table_numbers_are_labels(table, column);
    return 0;
}

/* The CSV held-out data, read as the training data were: through the training classes'
 * names (numbers too: a label the training data lack is an error naming it), values in
 * [0, 1] for bce. */
static int load_csv_test(train_job *job, bool labels)
{
    train_args *a = &job->args;
    model_desc *desc = &job->desc;
    nb_csv_options options = {0};
    if (labels) {
        options.class_column = desc->target;
        options.known_classes = (const char *const *)desc->class_names;
        options.n_known_classes = desc->n_classes;
    }
    nb_table *table = nb_table_read(a->test, &options);
    if (!table)
        explain_missing_columns(a->test, desc->features, desc->n_features);
    int column = table ? nb_table_column(table, desc->target) : -1;
    bool ok = column >= 0;
    /* like the training data's: a loss that does not suit the targets is bad usage */
    bool bce_misfit = ok && a->loss_given && a->loss_kind == NB_LOSS_BCE &&
                      !table_column_within(table, column, 0, 1, false, "from 0 to 1, as --loss bce needs");
    if (ok && !bce_misfit)
        job->test = dataset_from_table(table, desc->features, desc->n_features, desc->target, labels,
                                       a->dtype_kind, (int64_t)a->test_limit);
    nb_table_free(table);
    if (!job->test) {
        cli_error("train", NULL);
        return bce_misfit ? 2 : 1;
    }
    return 0;
}

/* The training data from the table's columns: the target against --features (every
 * other column by default); the model keeps their names. */
static int load_csv_columns(train_job *job, const nb_table *table, int column, bool labels)
{
    train_args *a = &job->args;
    model_desc *desc = &job->desc;
    int n_features = 0;
    char **features = a->features ? split_names(a->features, &n_features) : NULL;
    if (a->features && !features) {
        cli_error("train", "--features: %s", nb_errmsg());
        return 2;
    }
    job->train = dataset_from_table(table, features, n_features, table->names[column], labels, a->dtype_kind,
                                    (int64_t)a->limit);
    free_names(features, n_features);
    if (!job->train) {
        cli_error("train", NULL);
        return 1;
    }
    desc->n_features = (int)nb_dataset_n_features(job->train);
    desc->features = copy_names(job->train->feature_names, desc->n_features);
    desc->target = strdup(table->names[column]);
    desc->data = strdup("csv");
    return desc->features && desc->target && desc->data ? 0 : out_of_memory();
}

/* A CSV file's training (and held-out) data; class labels, names or numbers, keep their
 * names in the model, so that every other file is read through them. */
static int load_csv(train_job *job, bool *labels)
{
    train_args *a = &job->args;
    model_desc *desc = &job->desc;
    nb_csv_options options = {.class_column = a->target, .class_column_last = !a->target};
    nb_table *table = nb_table_read(a->data, &options);
    int column = !table ? -1 : a->target ? nb_table_column(table, a->target) : table->n_columns - 1;
    if (column < 0) {
        cli_error("train", NULL);
        nb_table_free(table);
        return 1;
    }
    int status = settle_labels(a, table, column, labels);
    if (status == 0 && a->loss_given && a->loss_kind == NB_LOSS_BCE &&
        !table_column_within(table, column, 0, 1, false, "from 0 to 1, as --loss bce needs")) {
        cli_error("train", NULL);
        status = 2;
    }
    if (status == 0)
        status = load_csv_columns(job, table, column, *labels);
    nb_table_free(table);
    if (status == 0 && *labels) {
        desc->n_classes = job->train->n_classes;
        if (!(desc->class_names = copy_names(job->train->class_names, desc->n_classes)))
            status = out_of_memory();
    }
    if (status == 0 && a->test)
        status = load_csv_test(job, *labels);
    return status;
}

/* The validation split: --val-split's, or by default (CSV without --epochs) a share of
 * enough training rows; 0 or 1 after a message. */
static int split_validation(train_job *job)
{
    train_args *a = &job->args;
    double share = a->val_split > 0 ? a->val_split
                   : a->auto_epochs && a->patience > 0 && job->train->n >= AUTO_VAL_MIN_ROWS ? AUTO_VAL_SPLIT
                                                                                              : 0;
    if (share == 0)
        return 0;
    nb_dataset *part_train, *part_val;
    if (nb_dataset_split(job->train, share, a->seed, &part_train, &part_val) != NB_OK) {
        cli_error("train", NULL);
        return 1;
    }
    nb_dataset_free(job->train);
    job->train = part_train, job->val = part_val;
    return 0;
}

/* Load the training and held-out data; settle the classes. */
static int load_data(train_job *job)
{
    train_args *a = &job->args;
    bool labels;
    if (source_is_fashion_mnist(a->data)) {
        job->train = fashion_mnist_load(true, a->dtype_kind, (int64_t)a->limit);
        if (job->train && a->val_split == 0)
            job->test = fashion_mnist_load(false, a->dtype_kind, (int64_t)a->test_limit);
        if (!job->train || (a->val_split == 0 && !job->test)) {
            cli_error("train", NULL);
            return 1;
        }
        if (!(job->desc.data = strdup("fashion-mnist")))
            return out_of_memory();
        labels = true;
    } else {
        int status = load_csv(job, &labels);
        if (status != 0)
            return status;
    }
    int status = split_validation(job);
    if (status != 0 || !labels)
        return status;
    model_desc *desc = &job->desc;
    desc->n_classes = job->train->n_classes;
    if (desc->n_classes < 2) {
        cli_error("train", "the target holds a single class: there is nothing to tell apart");
        return 1;
    }
    if (source_is_fashion_mnist(a->data) && !desc->class_names) {
        if (!(desc->class_names = calloc((size_t)desc->n_classes, sizeof(char *))))
            return out_of_memory();
        for (int i = 0; i < desc->n_classes; i++)
            if (!(desc->class_names[i] = strdup(fashion_mnist_classes[i])))
                return out_of_memory();
    }
    return 0;
}

/* The shape of one sample: the spec's own, else --input-shape, else the images' (IDX),
 * else rows of n_in features. */
static int settle_input(train_job *job, int64_t n_in)
{
    train_args *a = &job->args;
    nb_net_spec *spec = &job->desc.spec;
    const int64_t *image = job->train->image_shape;
    int64_t pixels[3] = {1, image[0], image[1]};
    nb_status status = NB_OK;
    if (a->input_ndim && spec->input_ndim) {
        int64_t given = 1, own = 1;
        for (int d = 0; d < a->input_ndim; d++)
            given *= a->input_shape_of[d];
        for (int d = 0; d < spec->input_ndim; d++)
            own *= spec->input_shape[d];
        if (given != own || a->input_ndim != spec->input_ndim) {
            cli_error("train", "--input-shape %s differs from the model's own input", a->input_shape);
            return 2;
        }
    } else if (a->input_ndim) {
        status = nb_net_set_input(spec, a->input_ndim, a->input_shape_of);
    } else if (!spec->input_ndim) {
        bool images = image[0] > 0 && image[0] * image[1] == n_in;
        status = images ? nb_net_set_input(spec, 3, pixels) : nb_net_set_input(spec, 1, &n_in);
    }
    if (status != NB_OK) {
        cli_error("train", NULL);
        return 2;
    }
    return 0;
}

/* The spec and loss, checked against the data. */
static int settle_model(train_job *job)
{
    train_args *a = &job->args;
    model_desc *desc = &job->desc;
    int64_t n_in = nb_dataset_n_features(job->train);
    int64_t n_out = desc->n_classes > 0 ? desc->n_classes : nb_dataset_n_outputs(job->train);
    char default_spec[64];
    snprintf(default_spec, sizeof default_spec, "%lld-%s-%lld:relu", (long long)n_in,
             source_is_fashion_mnist(a->data) ? "256-128" : "64", (long long)n_out);
    if (nb_net_parse(a->model ? a->model : default_spec, &desc->spec) != NB_OK) {
        cli_error("train", NULL);
        return 2;
    }
    int status = settle_input(job, n_in);
    if (status != 0)
        return status;
    int64_t model_in = model_n_in(desc), model_out = 0;
    if (nb_net_outputs(&desc->spec, &model_out) != NB_OK) {
        cli_error("train", "--model: %s", nb_errmsg());
        return 2;
    }
    if (model_in != n_in || model_out != n_out) {
        cli_error("train", "the model %s takes %lld inputs and gives %lld outputs; the data have %lld features and %lld %s",
                  a->model ? a->model : default_spec, (long long)model_in, (long long)model_out, (long long)n_in,
                  (long long)n_out, desc->n_classes > 0 ? "classes" : "targets");
        return 2;
    }
    desc->loss = a->loss_given ? a->loss_kind : desc->n_classes > 0 ? NB_LOSS_CE : NB_LOSS_MSE;
    desc->dtype = a->dtype_kind;
    return 0;
}

/* Scale x's columns to mean 0, std 1 (learnt on x; the held-out tensors, when not NULL,
 * scaled the same way), and keep the n means and deviations. */
static nb_status standardize(nb_tensor *x, nb_tensor *val, nb_tensor *test, int64_t n, double **mean, double **std)
{
    nb_scaler scaler = {0};
    nb_status status = nb_scaler_fit(&scaler, x);
    if (status == NB_OK)
        status = nb_scaler_apply(&scaler, x);
    if (status == NB_OK && val)
        status = nb_scaler_apply(&scaler, val);
    if (status == NB_OK && test)
        status = nb_scaler_apply(&scaler, test);
    if (status == NB_OK && (!(*mean = malloc((size_t)n * sizeof(double))) || !(*std = malloc((size_t)n * sizeof(double)))))
        status = nb_fail(NB_ENOMEM, "out of memory for the scaler");
    if (status == NB_OK) {
        memcpy(*mean, scaler.mean, (size_t)n * sizeof(double));
        memcpy(*std, scaler.std, (size_t)n * sizeof(double));
    }
    nb_scaler_clear(&scaler);
    return status;
}

/* "classification, 3 classes" or "regression", with the target's name for CSV data. */
static void describe_task(const train_job *job, char *buf, size_t size)
{
    int used = job->desc.target ? snprintf(buf, size, "target '%s': ", job->desc.target) : 0;
    if (job->desc.n_classes > 0)
        snprintf(buf + used, size - (size_t)used, "classification, %d classes", job->desc.n_classes);
    else
        snprintf(buf + used, size - (size_t)used, "regression");
}

/* ---- mpirun's ranks ------------------------------------------------------------------ */

/* With ranks: a failure on any rank ends the job on every rank (cli/dist.c). */
static int agree(const nb_comm *comm, int status, const char *stage)
{
    return dist_agree(comm, "train", status, stage);
}

static bool first_rank(const train_job *job)
{
    return !job->comm || job->comm->rank == 0;
}

/* Inputs (and regression targets) of every set scaled as the training data's. */
static int scale_data(train_job *job)
{
    model_desc *desc = &job->desc;
    int64_t n_in = model_n_in(desc), n_out = model_n_out(desc);
    nb_tensor *val_x = job->val ? job->val->inputs : NULL, *test_x = job->test ? job->test->inputs : NULL;
    desc->standardized = true;
    if (standardize(job->train->inputs, val_x, test_x, n_in, &desc->mean, &desc->std) != NB_OK) {
        cli_error("train", NULL);
        return 1;
    }
    if (desc->n_classes > 0 || desc->loss == NB_LOSS_BCE)
        return 0;
    /* regression targets too: the network then learns values near 0 at any scale of y */
    desc->targets_standardized = true;
    if (standardize(job->train->targets, job->val ? job->val->targets : NULL, job->test ? job->test->targets : NULL,
                    n_out, &desc->target_mean, &desc->target_std) != NB_OK) {
        cli_error("train", NULL);
        return 1;
    }
    return 0;
}

/* The network and its optimizer (and schedule): 0, or the exit status after a message. */
static int build_model(train_job *job, nb_optim_config *config)
{
    train_args *a = &job->args;
    nb_rng rng;
    nb_rng_seed(&rng, a->seed);
    /* no batch holds more rows than the training data */
    int64_t rows = (int64_t)a->batch < job->train->n ? (int64_t)a->batch : job->train->n;
    if (model_build(&job->desc, rows, a->init_kind, &rng, &job->model) != NB_OK) {
        cli_error("train", NULL);
        return 1;
    }
    *config = nb_optim_defaults(a->optim_kind);
    if (!isnan(a->lr))
        config->lr = a->lr;
    config->momentum = a->momentum, config->nesterov = a->nesterov;
    if (a->weight_decay > 0 || a->optim_kind != NB_ADAMW)
        config->weight_decay = a->weight_decay;
    job->optimizer = nb_optim_new(job->model.graph, config);
    if (!job->optimizer ||
        (a->schedule && nb_schedule_parse(a->schedule, config->lr, (int)a->epochs, &job->schedule) != NB_OK)) {
        cli_error("train", NULL);
        return 2;
    }
    return 0;
}

/* The first line on stderr: what is trained on what, and for how long. */
static void announce(const train_job *job, const nb_optim_config *config, const nb_train_config *train)
{
    const train_args *a = &job->args;
    char spec[1024], task[256], length[160];
    nb_net_format(&job->desc.spec, spec, sizeof spec);
    describe_task(job, task, sizeof task);
    if (train->patience > 0 && job->val && a->val_split == 0)
        snprintf(length, sizeof length, "up to %d epochs (stopping after %d without a better validation loss, on %g of "
                 "the rows held out)", train->epochs, train->patience, AUTO_VAL_SPLIT);
    else if (train->patience > 0)
        snprintf(length, sizeof length, "up to %d epochs (stopping after %d without a better %s loss)", train->epochs,
                 train->patience, job->val ? "validation" : "test");
    else
        snprintf(length, sizeof length, "%d epochs", train->epochs);
    fprintf(stderr, "training %s on %lld samples of %s (%s), %s loss, %s lr %g, batch %lld, %s\n", spec,
            (long long)job->train->n, a->data, task, nb_loss_name(job->desc.loss), nb_optim_name(a->optim_kind),
            config->lr, (long long)a->batch, length);
    if (job->comm)
        fprintf(stderr, "each batch shared by %d MPI ranks (about %lld rows each)\n", job->comm->size,
                (long long)a->batch / job->comm->size);
}

static int build_and_train(train_job *job)
{
    train_args *a = &job->args;
    nb_optim_config config;
    int status = a->standardize && scale_data(job) != 0 ? 1 : build_model(job, &config);
    if ((status = agree(job->comm, status, "to build the model")) != 0)
        return status;
    nb_train_config train = nb_train_defaults();
    train.epochs = (int)a->epochs, train.batch_size = (int64_t)a->batch, train.seed = a->seed;
    /* without --epochs the stopping watches the validation split only, never the test data */
    train.patience = a->auto_epochs && !job->val ? 0 : (int)a->patience;
    train.restore_best = train.patience > 0, train.clip_norm = a->clip;
    train.max_loss_growth = a->max_loss_growth;
    train.schedule = a->schedule ? &job->schedule : NULL;
    train.accuracy = job->desc.n_classes > 0;
    train.progress = a->quiet ? NULL : stderr;
    train.val_name = job->val ? "val" : "test";
    train.on_epoch = record_epoch, train.user = job;
    train.comm = job->comm;
    if (!a->quiet && first_rank(job))
        announce(job, &config, &train);
    nb_train_result result;
    nb_status trained = nb_train(&job->model, job->optimizer, job->train, job->val ? job->val : job->test, &train,
                                 &result);
    if (job->out_of_memory)
        status = out_of_memory();
    else if (trained != NB_OK || job->test_failed)
        cli_error("train", NULL), status = 1;
    if ((status = agree(job->comm, status, "to train")) != 0)
        return status;
    /* a step can leave parameters infinite without a loss showing it yet */
    if (model_check_finite(job->model.graph) != NB_OK) {
        cli_error("train", "training diverged: %s; nothing is saved (try a smaller learning rate or --clip)",
                  nb_errmsg());
        return 1;
    }
    job->model_epoch = train.restore_best && result.best_epoch > 0 ? result.best_epoch : job->n_epochs;
    job->stop_reason = result.stop_reason;
    return 0;
}

/* The curve that tells whether training had ended: the held-out loss it watched (the
 * validation split's, else the test data's), else the training loss; its name. */
static const double *watched_curve(const train_job *job, const char **name)
{
    *name = job->val ? "validation" : job->test ? "test" : "training";
    return job->val ? job->val_curve.loss : job->test ? job->test_curve.loss : job->losses;
}

/* A run that ran all its epochs while the watched loss was still falling steeply: the
 * last fifth of the epochs (at least one) took the loss down at half or more of the run's
 * mean pace, by 2% or more, to its lowest value yet. Then more epochs would likely help
 * (five epochs of a 150-row table ended at chance with nothing said). */
static void check_still_falling(train_job *job)
{
    int n = job->n_epochs;
    if (n < 3 || !job->stop_reason || strcmp(job->stop_reason, "epochs") != 0)
        return;
    const char *name;
    const double *loss = watched_curve(job, &name);
    int k = n / 5 > 1 ? n / 5 : 1;
    double last = loss[n - 1], recent = loss[n - 1 - k] - last, pace = (loss[0] - last) / (n - 1);
    for (int e = 0; e < n - 1; e++)
        if (!(loss[e] > last)) /* NaN, or not the lowest yet */
            return;
    if (!(recent > 0.02 * fabs(last) && recent / k >= 0.5 * pace))
        return;
    snprintf(job->warning, sizeof job->warning,
             "the %s loss was still falling steeply when training stopped after %d epochs (%.1f%% lower over the "
             "last %d): the model is likely undertrained; more epochs (--epochs) would likely help",
             name, n, 100 * recent / loss[n - 1 - k], k);
    fprintf(stderr, "nabla train: warning: %s\n", job->warning);
}

/* The training curve and the held-out ones in a panel. */
static void draw_lines(nb_panel *panel, const train_job *job, const double *train, const double *val,
                       const double *test)
{
    size_t n = (size_t)job->n_epochs;
    nb_panel_line(panel, "train", NULL, train, n, NULL);
    if (job->val)
        nb_panel_line(panel, "validation", NULL, val, n, NULL);
    if (job->test)
        nb_panel_line(panel, "test", NULL, test, n, NULL);
}

static int draw_curves(train_job *job)
{
    bool classes = job->desc.n_classes > 0;
    nb_figure *figure = nb_figure_new(classes ? 1100 : 700, 450, 1, classes ? 2 : 1);
    if (!figure) {
        cli_error("train", NULL);
        return 1;
    }
    nb_panel *loss = nb_figure_panel(figure, 0, 0);
    nb_figure_title(figure, source_is_fashion_mnist(job->args.data) ? "nabla train: Fashion-MNIST" : "nabla train");
    nb_panel_title(loss, "loss");
    nb_panel_labels(loss, "epoch", job->desc.loss == NB_LOSS_CE ? "cross-entropy" : nb_loss_name(job->desc.loss));
    draw_lines(loss, job, job->losses, job->val_curve.loss, job->test_curve.loss);
    if (classes) {
        nb_panel *accuracy = nb_figure_panel(figure, 0, 1);
        nb_panel_title(accuracy, "accuracy");
        nb_panel_labels(accuracy, "epoch", "share right");
        draw_lines(accuracy, job, job->train_acc, job->val_curve.accuracy, job->test_curve.accuracy);
    }
    nb_status status = nb_figure_save(figure, job->args.plot);
    nb_figure_free(figure);
    if (status != NB_OK) {
        cli_error("train", NULL);
        return 1;
    }
    return 0;
}

/* The numbers of the kept parameters (model_epoch's) on a held-out set, NAN without it. */
static void kept_numbers(const train_job *job, const curve *c, double *loss, double *accuracy)
{
    int kept = job->model_epoch - 1;
    *loss = kept >= 0 ? c->loss[kept] : NAN;
    *accuracy = kept >= 0 ? c->accuracy[kept] : NAN;
}

static void report_json(train_job *job)
{
    const model_desc *desc = &job->desc;
    cJSON *root = cJSON_CreateObject();
    char spec[1024];
    nb_net_format(&desc->spec, spec, sizeof spec);
    cJSON_AddStringToObject(root, "model", spec);
    cJSON_AddStringToObject(root, "data", job->args.data);
    if (desc->target)
        cJSON_AddStringToObject(root, "target", desc->target);
    cJSON_AddStringToObject(root, "task", desc->n_classes > 0 ? "classification" : "regression");
    if (desc->n_classes > 0)
        cJSON_AddNumberToObject(root, "classes", desc->n_classes);
    if (desc->n_classes > 0 && desc->class_names)
        cJSON_AddItemToObject(root, "class_names", cJSON_CreateStringArray((const char *const *)desc->class_names,
                                                                           desc->n_classes));
    cJSON_AddStringToObject(root, "loss", nb_loss_name(desc->loss));
    cJSON_AddNumberToObject(root, "n_params", (double)nb_n_params(job->model.graph));
    cJSON_AddNumberToObject(root, "train_samples", (double)job->train->n);
    if (job->val)
        cJSON_AddNumberToObject(root, "val_samples", (double)job->val->n);
    cJSON_AddNumberToObject(root, "threads", nb_get_threads());
    cJSON_AddStringToObject(root, "blas", nb_blas_backend());
    cJSON_AddItemToObject(root, "history", job->history);
    job->history = NULL;
    cJSON_AddNumberToObject(root, "epochs_run", job->n_epochs);
    cJSON_AddNumberToObject(root, "model_epoch", job->model_epoch);
    cJSON_AddStringToObject(root, "stopped_by", job->stop_reason ? job->stop_reason : "epochs");
    if (job->model_epoch > 0) {
        double loss, accuracy;
        cJSON_AddNumberToObject(root, "final_loss", job->losses[job->model_epoch - 1]);
        kept_numbers(job, &job->val_curve, &loss, &accuracy);
        add_held_out(root, "val", loss, accuracy);
        kept_numbers(job, &job->test_curve, &loss, &accuracy);
        add_held_out(root, "test", loss, accuracy);
    }
    cJSON_AddNumberToObject(root, "seconds", job->seconds);
    if (job->warning[0])
        cJSON_AddItemToObject(root, "warnings", cJSON_CreateStringArray((const char *const[]){job->warning}, 1));
    char *text = cJSON_Print(root);
    if (text)
        puts(text);
    else
        cli_error("train", "out of memory printing the report");
    free(text);
    cJSON_Delete(root);
}

/* ", validation accuracy 0.9667" (or its loss) of the kept parameters. */
static void print_held_out(const train_job *job, const curve *c, const char *name)
{
    double loss, accuracy;
    kept_numbers(job, c, &loss, &accuracy);
    if (!isnan(accuracy))
        printf(", %s accuracy %.4f", name, accuracy);
    else if (!isnan(loss))
        printf(", %s loss %.4f", name, loss);
}

/* The summary: the history, and the numbers of the parameters kept (model_epoch's). */
static void report(train_job *job)
{
    if (job->args.json) {
        report_json(job);
        return;
    }
    printf("trained %d epoch%s (%.1f s of training steps)", job->n_epochs, job->n_epochs == 1 ? "" : "s",
           job->seconds);
    if (job->model_epoch != job->n_epochs)
        printf("; kept epoch %d, the best %s loss", job->model_epoch, job->val ? "validation" : "test");
    printf(": loss %.4f", job->model_epoch > 0 ? job->losses[job->model_epoch - 1] : NAN);
    if (job->val)
        print_held_out(job, &job->val_curve, "validation");
    if (job->test)
        print_held_out(job, &job->test_curve, "test");
    printf("\n");
}

/* A file the run will write at its end (--save, --plot) is checked before training, so
 * that a missing or read-only directory does not cost the whole run: its directory must
 * be there and writable, and the file, if it is there, a regular file. */
static bool writable_later(const char *option, const char *path)
{
    struct stat st;
    if (stat(path, &st) == 0 && !S_ISREG(st.st_mode)) {
        cli_error("train", "%s %s: it is %s, not a regular file, and writing would replace it; nothing was trained",
                  option, path, S_ISDIR(st.st_mode) ? "a directory" : "a device, FIFO or socket");
        return false;
    }
    char *copy = strdup(path);
    if (!copy)
        return out_of_memory(), false;
    const char *dir = dirname(copy);
    const char *problem = stat(dir, &st) != 0 ? "its directory does not exist"
                          : !S_ISDIR(st.st_mode) ? "its directory is not a directory"
                          : access(dir, W_OK | X_OK) != 0 ? "its directory is not writable"
                                                          : NULL;
    if (problem)
        cli_error("train", "%s %s: %s (%s); nothing was trained", option, path, problem, dir);
    free(copy);
    return problem == NULL;
}

/* Rank 0 alone draws, saves and reports; the others learn whether it could. */
static int finish(train_job *job)
{
    int status = 0;
    bool first = first_rank(job);
    if (first)
        check_still_falling(job);
    if (first && job->args.plot)
        status = draw_curves(job);
    if (first && status == 0 && job->args.save) {
        if (model_save(job->args.save, &job->desc, &job->model) != NB_OK) {
            cli_error("train", NULL);
            status = 1;
        } else if (!job->args.quiet) {
            fprintf(stderr, "model saved to %s\n", job->args.save);
        }
    }
    if (first && status == 0)
        report(job);
    return agree(job->comm, status, "to write the results");
}

static int run_train(const nb_comm *comm, int argc, char **argv)
{
    train_job job = {.comm = comm};
    int status = parse_args(argc, argv, &job.args);
    bool first = first_rank(&job); /* the rank that writes the files */
    if (status == 0 && first && ((job.args.save && !writable_later("--save", job.args.save)) ||
                                 (job.args.plot && !writable_later("--plot", job.args.plot))))
        status = 2;
    if ((status = agree(comm, status, "to read its options")) != 0)
        return status < 0 ? 0 : status;
    if (job.args.threads == 0) /* --threads says otherwise */
        dist_share_cores(comm);
    job.history = cJSON_CreateArray();
    status = job.history ? load_data(&job) : out_of_memory();
    if (status == 0)
        status = settle_model(&job);
    status = agree(comm, status, "to read its data");
    if (status == 0)
        status = build_and_train(&job); /* nb_train fails on every rank when one fails */
    if (status == 0)
        status = finish(&job);
    cJSON_Delete(job.history);
    free(job.losses), free(job.train_acc);
    free(job.val_curve.loss), free(job.val_curve.accuracy), free(job.test_curve.loss), free(job.test_curve.accuracy);
    nb_optim_free(job.optimizer);
    nb_graph_free(job.model.graph);
    nb_dataset_free(job.train);
    nb_dataset_free(job.val);
    nb_dataset_free(job.test);
    model_desc_clear(&job.desc);
    return status;
}

int cmd_train(int argc, char **argv)
{
    int status;
    const nb_comm *comm = dist_open("train", &status);
    if (status != 0)
        return status;
    status = run_train(comm, argc, argv);
    dist_close(comm);
    return status;
}
