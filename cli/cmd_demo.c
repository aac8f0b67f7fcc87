/* nabla demo: option parsing, the list of demos, and the report every demo fills. */
#include "demo.h"

#include <getopt.h>
#include <math.h>
#include <unistd.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

static const demo demos[] = {
    {"quadratic", "recover y = 2x² + 3x + 4 by SGD (tutorial 1), then exactly by least squares",
     {"sgd", "minibatch", NULL}, demo_quadratic},
    {"quadratic-decay", "y = 2x² − 4x + 3 from a far start with step learning-rate decay (tutorial 2)",
     {"sgd", "minibatch", NULL}, demo_quadratic_decay},
    {"linreg", "linear regression with autodiff, shuffled mini-batches and MAE (tutorial 3)", {"sgd", NULL},
     demo_linreg},
    {"and-gate", "a single neuron learns logical AND (tutorial 4)", {"sgd", NULL}, demo_and_gate},
    {"two-layer", "a 10-7-10 ReLU network: one backward pass, one SGD step (tutorial 4)", {"step", NULL},
     demo_two_layer},
    {"fnn-backprop", "hand-derived backpropagation checked against autodiff on a 2-2-2 net (tutorial 5)", {"gd", NULL},
     demo_fnn_backprop},
};
enum { N_DEMOS = sizeof demos / sizeof demos[0] };

void demo_log(demo_run *run, const char *fmt, ...)
{
    if (!run->log)
        return;
    va_list args;
    va_start(args, fmt);
    if (run->progress && isatty(fileno(run->log))) {
        /* the live line shares the terminal: print above it */
        char line[1024];
        vsnprintf(line, sizeof line, fmt, args);
        line[strcspn(line, "\n")] = '\0';
        nb_progress_note(run->progress, "%s", line);
    } else {
        vfprintf(run->log, fmt, args);
    }
    va_end(args);
}

void demo_history(demo_run *run, int epoch, double loss)
{
    if (run->n_losses == run->losses_capacity) {
        int capacity = run->losses_capacity ? 2 * run->losses_capacity : 128;
        double *grown = realloc(run->losses, (size_t)capacity * sizeof *run->losses);
        if (!grown) {
            run->out_of_memory = true;
            return;
        }
        run->losses = grown;
        run->losses_capacity = capacity;
    }
    run->losses[run->n_losses++] = loss;
    cJSON *entry = cJSON_CreateObject();
    cJSON_AddNumberToObject(entry, "epoch", epoch);
    cJSON_AddNumberToObject(entry, "loss", loss);
    cJSON_AddItemToArray(run->history, entry);
}

static cJSON *params_object(demo_run *run)
{
    cJSON *params = cJSON_GetObjectItemCaseSensitive(run->report, "params");
    return params ? params : cJSON_AddObjectToObject(run->report, "params");
}

void demo_param(demo_run *run, const char *name, double value)
{
    cJSON_AddNumberToObject(params_object(run), name, value);
}

void demo_param_list(demo_run *run, const char *name, const double *values, int count)
{
    cJSON_AddItemToObject(params_object(run), name, cJSON_CreateDoubleArray(values, count));
}

void demo_params_of(demo_run *run, nb_graph *graph)
{
    for (int i = 0; i < nb_param_count(graph); i++) {
        nb_node *param = nb_param_at(graph, i);
        const nb_tensor *value = nb_value(param);
        if (value->ndim == 0) {
            demo_param(run, nb_node_name(param), nb_tensor_get(value, 0));
            continue;
        }
        cJSON *list = cJSON_CreateArray();
        for (int64_t k = 0; k < value->size; k++)
            cJSON_AddItemToArray(list, cJSON_CreateNumber(nb_tensor_get(value, k)));
        cJSON_AddItemToObject(params_object(run), nb_node_name(param), list);
    }
}

bool demo_trace(demo_run *run, const char *what)
{
    if (!run->log || run->traced >= run->options->trace)
        return false;
    demo_log(run, "update %llu: %s\n", (unsigned long long)run->traced++, what);
    return true;
}

void demo_trace_step(demo_run *run, const char *const *names, int n, const double *before, const double *grad,
                     double lr)
{
    for (int k = 0; k < n; k++)
        demo_log(run, "  ∂L/∂%-4s = %+.8e   %s ← %s − %g·∂L/∂%s = %.8f − %g·(%+.8e) = %.8f\n", names[k], grad[k],
                 names[k], names[k], lr, names[k], before[k], lr, grad[k], before[k] - lr * grad[k]);
}

void demo_field(demo_run *run, const char *name, double value) { cJSON_AddNumberToObject(run->report, name, value); }

cJSON *demo_object(demo_run *run, const char *name) { return cJSON_AddObjectToObject(run->report, name); }

void demo_progress_start(demo_run *run, int64_t total, const char *unit)
{
    if (!run->options->json && isatty(fileno(stderr)))
        run->progress = nb_progress_new(stderr, run->variant, total, unit);
}

void demo_progress(demo_run *run, int64_t done, double loss) { nb_progress_update(run->progress, done, loss); }

void demo_progress_done(demo_run *run)
{
    nb_progress_free(run->progress); /* finishes the line */
    run->progress = NULL;
}

int demo_finish(demo_run *run, nb_graph *graph, nb_figure *figure)
{
    nb_progress_free(run->progress);
    run->progress = NULL;
    int status = 0;
    if (run->options->save) {
        nb_safetensors_meta_entry meta[] = {{"demo", cJSON_GetStringValue(cJSON_GetObjectItem(run->report, "demo"))},
                             {"variant", run->variant}};
        if (nb_safetensors_save_graph(run->options->save, graph, NULL, 0, meta, 2) != NB_OK) {
            cli_error("demo", NULL);
            status = 1;
        } else {
            demo_log(run, "parameters saved to %s\n", run->options->save);
        }
    }
    if (demo_animates(run)) {
        if (demo_save_animation(run) != 0)
            status = 1;
    } else if (run->options->plot && figure) {
        if (nb_figure_save(figure, run->options->plot) != NB_OK) {
            cli_error("demo", NULL);
            status = 1;
        } else {
            demo_log(run, "plot written to %s\n", run->options->plot);
        }
    }
    nb_figure_free(figure);
    return status;
}

nb_figure *demo_figure(demo_run *run, const char *title, int cols)
{
    if (!run->options->plot)
        return NULL;
    nb_figure *figure = nb_figure_new(cols == 1 ? 720 : 1200, 500, 1, cols);
    if (!figure) { /* NULL would read as "no --plot" */
        run->out_of_memory = true;
        return NULL;
    }
    nb_figure_title(figure, title);
    return figure;
}

static bool all_positive(const double *values, int n)
{
    for (int i = 0; i < n; i++)
        if (!(values[i] > 0))
            return false;
    return n > 0;
}

/* A log scale pays off when the values span a decade or more. */
bool demo_wants_log_scale(const double *values, int n)
{
    if (!all_positive(values, n))
        return false;
    double lo = values[0], hi = values[0];
    for (int i = 1; i < n; i++)
        lo = fmin(lo, values[i]), hi = fmax(hi, values[i]);
    return hi >= 10 * lo;
}

void demo_loss_panel(demo_run *run, nb_panel *panel, const char *title, const char *ylabel)
{
    run->loss_title = title, run->loss_ylabel = ylabel; /* for an animation of the curve */
    nb_panel_title(panel, title);
    nb_panel_labels(panel, "epoch", ylabel);
    nb_panel_log_y(panel, demo_wants_log_scale(run->losses, run->n_losses));
    double *epochs = demo_epoch_axis(run, run->n_losses);
    if (epochs)
        nb_panel_line(panel, NULL, epochs, run->losses, (size_t)run->n_losses, NULL);
    free(epochs);
}

double *demo_epoch_axis(demo_run *run, int n)
{
    double *epochs = malloc((size_t)(n > 0 ? n : 1) * sizeof(double));
    if (!epochs) {
        run->out_of_memory = true;
        return NULL;
    }
    for (int e = 0; e < n; e++)
        epochs[e] = e; /* the tutorials count epochs from 0 */
    return epochs;
}

cJSON *demo_as_written(demo_run *run, const double *losses, int epochs, const char *const *names,
                       const double *params, int n_params)
{
    cJSON *as_written = demo_object(run, "as_written");
    cJSON *history = cJSON_AddArrayToObject(as_written, "history");
    for (int e = 0; e < epochs; e++) {
        cJSON *entry = cJSON_CreateObject();
        cJSON_AddNumberToObject(entry, "epoch", e);
        cJSON_AddNumberToObject(entry, "loss", losses[e]);
        cJSON_AddItemToArray(history, entry);
    }
    cJSON_AddNumberToObject(as_written, "epochs_run", epochs);
    cJSON *values = cJSON_AddObjectToObject(as_written, "params");
    for (int k = 0; k < n_params; k++)
        cJSON_AddNumberToObject(values, names[k], params[k]);
    return as_written;
}

static void usage(FILE *out)
{
    fprintf(out, "usage: nabla demo [NAME] [options]\n\n"
                 "Replays a tutorial (docs/tutorials.md) faithfully, then shows what nabla does beyond it.\n\n"
                 "demos (default: quadratic):\n");
    for (int i = 0; i < N_DEMOS; i++) {
        fprintf(out, "  %-16s %s\n  %-16s variants:", demos[i].name, demos[i].summary, "");
        for (int v = 0; demos[i].variants[v]; v++)
            fprintf(out, " %s%s", demos[i].variants[v], v == 0 ? " (default)" : "");
        fputc('\n', out);
    }
    fprintf(out, "\noptions:\n"
                 "  --variant NAME   one of the demo's variants (default: the tutorial's first)\n"
                 "  --seed N         seed of the random numbers, where the demo uses any (default 42)\n"
                 "  --json           print one JSON object on stdout: params, history, epochs_run, ...\n"
                 "  --save FILE      write the trained parameters, those the report shows (safetensors)\n"
                 "  --plot FILE      draw what the tutorial drew (.png, .svg or .pdf), or animate it (.gif):\n"
                 "                   quadratic-decay's fit epoch by epoch, the other demos' loss curve growing;\n"
                 "                   the epoch where the tutorial's own stopping rule ends its run is marked\n"
                 "  --frames DIR     quadratic-decay: one PNG per epoch of the fit's evolution\n"
                 "  --trace N        print the first N updates step by step in the tutorial's notation: the\n"
                 "                   forward values, the loss, each gradient and the update (fnn-backprop: the\n"
                 "                   tutorial's hand-derived gradient beside autodiff's); not with --json\n"
                 "  --list           list the demos, one line each\n"
                 "  --help           this text\n\n"
                 "Exit status: 0 done, 1 failed (a file that cannot be written), 2 bad usage.\n");
}

/* The options; -1 to go on, else the exit status (--help and --list end here). */
static int parse_options(int argc, char **argv, demo_options *options)
{
    static const struct option long_options[] = {
        {"variant", required_argument, NULL, 'v'}, {"seed", required_argument, NULL, 's'},
        {"json", no_argument, NULL, 'j'},          {"list", no_argument, NULL, 'l'},
        {"save", required_argument, NULL, 'S'},    {"plot", required_argument, NULL, 'p'},
        {"frames", required_argument, NULL, 'f'},  {"trace", required_argument, NULL, 't'},
        {"help", no_argument, NULL, 'h'},          {NULL, 0, NULL, 0},
    };
    int option;
    optind = 1;
    opterr = 0;
    while ((option = getopt_long(argc, argv, ":h", long_options, NULL)) != -1) {
        switch (option) {
        case 'v': options->variant = optarg; break;
        case 's':
            if (!cli_parse_count("demo", "--seed", optarg, 0, UINT64_MAX, &options->seed))
                return 2;
            break;
        case 'j': options->json = true; break;
        case 'S': options->save = optarg; break;
        case 'p':
            if (!cli_plot_path_ok(optarg) && !cli_animation_path_ok(optarg)) {
                cli_error("demo", "--plot: cannot tell the image format of '%s': use .png, .svg, .pdf or .gif", optarg);
                return 2;
            }
            options->plot = optarg;
            break;
        case 'f': options->frames = optarg; break;
        case 't':
            if (!cli_parse_count("demo", "--trace", optarg, 0, UINT64_MAX, &options->trace))
                return 2;
            break;
        case 'l':
            for (int i = 0; i < N_DEMOS; i++)
                printf("%-16s %s\n", demos[i].name, demos[i].summary);
            return 0;
        case 'h': usage(stdout); return 0;
        case ':': cli_error("demo", "option '%s' needs a value", argv[optind - 1]); return 2;
        default: cli_error("demo", "unknown option '%s' (nabla demo --help lists them)", argv[optind - 1]); return 2;
        }
    }
    return -1;
}

/* The demo named on the command line (quadratic when none), or NULL after a message. */
static const demo *chosen_demo(int argc, char **argv)
{
    if (argc - optind > 1) {
        cli_error("demo", "one demo at a time (got '%s' and '%s')", argv[optind], argv[optind + 1]);
        return NULL;
    }
    const char *name = optind < argc ? argv[optind] : "quadratic";
    for (int i = 0; i < N_DEMOS; i++)
        if (strcmp(demos[i].name, name) == 0)
            return &demos[i];
    cli_error("demo", "unknown demo '%s' (see nabla demo --list)", name);
    return NULL;
}

/* The variant asked for (the demo's first by default), or NULL after a message. */
static const char *chosen_variant(const demo *chosen, const char *asked)
{
    if (!asked)
        return chosen->variants[0];
    for (int v = 0; chosen->variants[v]; v++)
        if (strcmp(chosen->variants[v], asked) == 0)
            return chosen->variants[v];
    cli_error("demo", "demo '%s' has no variant '%s' (see nabla demo --help)", chosen->name, asked);
    return NULL;
}

/* After the demo: the loss chart on a terminal, or the JSON report. */
static void print_result(demo_run *run)
{
    cJSON_AddNumberToObject(run->report, "epochs_run", run->epochs_run);
    if (!run->options->json && isatty(fileno(stdout)) && run->n_losses > 1) {
        bool positive = demo_wants_log_scale(run->losses, run->n_losses);
        nb_text_chart_opts chart = {.title = positive ? "\nloss per epoch (log scale)" : "\nloss per epoch",
                                    .log_y = positive};
        nb_text_chart(stdout, run->losses, (size_t)run->n_losses, &chart);
    }
    if (run->options->json) {
        char *text = cJSON_Print(run->report);
        puts(text);
        free(text);
    }
}

int cmd_demo(int argc, char **argv)
{
    demo_options options = {.seed = 42};
    int status = parse_options(argc, argv, &options);
    if (status >= 0)
        return status;
    const demo *chosen = chosen_demo(argc, argv);
    const char *variant = chosen ? chosen_variant(chosen, options.variant) : NULL;
    if (!variant)
        return 2;
    if (options.frames && strcmp(chosen->name, "quadratic-decay") != 0) {
        cli_error("demo", "--frames is for quadratic-decay (the tutorial that animated its fit)");
        return 2;
    }
    if (options.trace && options.json) {
        cli_error("demo", "--trace prints to the log, which --json replaces: use one or the other");
        return 2;
    }
    demo_run run = {.options = &options, .variant = variant, .log = options.json ? NULL : stdout};
    run.report = cJSON_CreateObject();
    cJSON_AddStringToObject(run.report, "demo", chosen->name);
    cJSON_AddStringToObject(run.report, "variant", run.variant);
    params_object(&run);
    run.history = cJSON_AddArrayToObject(run.report, "history");
    status = chosen->run(&run);
    if (status == 0 && run.out_of_memory) {
        cli_error("demo", "out of memory");
        status = 1;
    }
    nb_progress_free(run.progress);
    nb_animation_free(run.animation); /* a demo that failed before saving it */
    if (status == 0)
        print_result(&run);
    free(run.losses);
    cJSON_Delete(run.report);
    return status;
}
