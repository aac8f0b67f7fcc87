/* `nabla demo`: the tutorials of docs/tutorials.md reproduced, then surpassed. Each
 * demo is a function that fills a demo_run: a human log, and a JSON report with
 * "params", "history" and "epochs_run". */
#ifndef NABLA_DEMO_H
#define NABLA_DEMO_H

#include <cjson/cJSON.h>

#include "cli.h"

typedef struct demo_options {
    const char *variant; /* NULL: the demo's first */
    uint64_t seed;
    bool json;
    const char *save;   /* --save FILE: the trained parameters (safetensors) */
    const char *plot;   /* --plot FILE: what the tutorial drew */
    const char *frames; /* --frames DIR: the fit's evolution, one image per epoch */
    uint64_t trace;     /* --trace N: the first N updates step by step (0: none) */
} demo_options;

typedef struct demo_run {
    const demo_options *options;
    const char *variant;  /* resolved */
    FILE *log;            /* the human log: stdout, or NULL with --json */
    cJSON *report;        /* the JSON object printed with --json */
    cJSON *history;       /* its "history" array */
    int epochs_run;
    double *losses;       /* the history's losses, for charts */
    int n_losses, losses_capacity;
    nb_progress *progress; /* a live line on a terminal, else NULL */
    bool out_of_memory;    /* something was left out for want of memory: the run fails */
    uint64_t traced;       /* updates traced so far (--trace) */
    /* --plot x.gif: the demo's own animation (NULL: the loss curve is animated), and what
     * marks it: after how many history entries the tutorial's own stopping rule ends its
     * run (0: a fixed length), and that rule */
    nb_animation *animation;
    int tutorial_stop;
    const char *stop_rule;
    const char *loss_title, *loss_ylabel; /* the loss panel's, from demo_loss_panel */
} demo_run;

typedef struct demo {
    const char *name;
    const char *summary;
    const char *variants[4]; /* NULL-terminated; the first is the default */
    int (*run)(demo_run *run);
} demo;

/* The human log (printf-like; nothing with --json). */
void demo_log(demo_run *run, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* One {"epoch": n, "loss": x} entry of the history. */
void demo_history(demo_run *run, int epoch, double loss);
/* report.params[name] = value, or a list. */
void demo_param(demo_run *run, const char *name, double value);
void demo_param_list(demo_run *run, const char *name, const double *values, int count);
/* Every parameter of a graph under its own name (a number, or a flat list). */
void demo_params_of(demo_run *run, nb_graph *graph);
/* A live progress line over `total` steps (only on a terminal); updates may be frequent. */
void demo_progress_start(demo_run *run, int64_t total, const char *unit);
void demo_progress(demo_run *run, int64_t done, double loss);
void demo_progress_done(demo_run *run);
/* The end of a demo: the parameters to --save, the figure (may be NULL) to --plot.
 * Returns the exit status. */
int demo_finish(demo_run *run, nb_graph *graph, nb_figure *figure);
/* A figure of one row of `cols` panels with a title, for --plot (NULL without it). */
nb_figure *demo_figure(demo_run *run, const char *title, int cols);
/* The run's loss history in a panel (log scale when all positive). */
void demo_loss_panel(demo_run *run, nb_panel *panel, const char *title, const char *ylabel);
/* x = 0, 1, …, n − 1 for a chart of n epochs (the tutorials count from 0); free() it. */
double *demo_epoch_axis(demo_run *run, int n);
/* report.as_written: the tutorial's run exactly as its code does it, bug included —
 * its history (losses[e] for epochs 0 … epochs − 1), epochs_run and params by name. */
cJSON *demo_as_written(demo_run *run, const double *losses, int epochs, const char *const *names,
                       const double *params, int n_params);
/* --trace N: true for each of the run's first N updates (one call per update, before
 * printing it), after a heading "update k: `what`"; false otherwise and with --json. */
bool demo_trace(demo_run *run, const char *what);
/* The traced update's gradients and the step p ← p − lr·∂L/∂p, one line per parameter:
 * before[k] is its value before the step, grad[k] its gradient. */
void demo_trace_step(demo_run *run, const char *const *names, int n, const double *before, const double *grad,
                     double lr);
/* Whether the values span a decade or more, all positive: a log scale pays off. */
bool demo_wants_log_scale(const double *values, int n);
/* --plot x.gif (demo_anim.c): save run->animation, or else an animation of the loss
 * curve growing entry by entry. Frees the animation; returns the exit status. */
int demo_save_animation(demo_run *run);
/* Whether --plot asks for an animation. */
bool demo_animates(const demo_run *run);
/* Any other field of the report. */
void demo_field(demo_run *run, const char *name, double value);
cJSON *demo_object(demo_run *run, const char *name);

/* The tutorials' data (double precision): x = i / divisor for i = first … last and
 * y = coef[0]·x² + coef[1]·x + coef[2], inputs and targets [n, 1]. */
nb_dataset *demo_quadratic_data(int64_t first, int64_t last, double divisor, const double coef[3]);
/* X ~ N(0, 1) [n, d], then y = X·w + b + N(0, noise²) [n, 1]: all of X is drawn first
 * (row-major), then the noise, in the tutorial's order. */
nb_dataset *demo_linear_data(int64_t n, int64_t d, const double *w, double b, double noise, nb_rng *rng);

int demo_quadratic(demo_run *run);
int demo_quadratic_decay(demo_run *run);
int demo_linreg(demo_run *run);
int demo_and_gate(demo_run *run);
int demo_two_layer(demo_run *run);
int demo_fnn_backprop(demo_run *run);

#endif
