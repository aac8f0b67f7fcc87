/* What `nabla fit` prints: the table or JSON of one fit (with the covariance, the
 * information criteria and, on request, the per-point residuals), the rows of a batch of
 * fits (--by, --by-file), and what a gradient method's result is compared with. */
#ifndef NABLA_CLI_FIT_REPORT_H
#define NABLA_CLI_FIT_REPORT_H

#include "cli.h"

/* The fit's response per row, and what to call it: the left side evaluated (named as
 * written), or the response column by the rule of nb_fit_setup. */
typedef struct response_info {
    double *values;
    int64_t n;        /* rows of the table (the fit may have used fewer: then no per-point response) */
    char name[160];
    bool transformed; /* the left side is more than a column's name */
    double *sigma;    /* per row, or NULL */
} response_info;

nb_status find_response(const nb_fit_setup *setup, const nb_table *data, const nb_expr *expr, response_info *r);

/* How a gradient method's end point compares with the solver's. */
typedef struct comparison {
    bool ran; /* the solver fitted (else `error` says why not) */
    char error[512];
    nb_lsq_result solver;
    bool reached; /* the gradient method is at the solver's optimum */
    int worst;    /* the parameter furthest from the solver's, relative to its size */
    double worst_diff;
} comparison;

void compare_with_solver(const char *formula, const nb_table *data, const nb_fit_setup *setup,
                         const nb_lsq_options *lsq, const nb_lsq_result *r, const response_info *response,
                         comparison *c);

/* What --method names: the solver, or for gradient descent its optimizer. */
const char *fit_method_name(nb_lsq_method method, nb_optim_kind optim);

typedef struct fit_report {
    const char *formula, *file;
    bool weighted;
    bool residuals;                /* --residuals: the per-point values too */
    const response_info *response; /* what R² and the residuals are computed on */
    const comparison *compare;
    const char *saved;             /* --save FILE, or NULL */
    int64_t dropped;               /* rows left out for a missing value */
    const char (*notes)[256];      /* "did you mean" notes on parameters named like columns */
    int n_notes;
} fit_report;

void fit_print_table(const fit_report *report, const nb_lsq_result *r);
/* false when out of memory */
bool fit_print_json(const fit_report *report, const nb_lsq_result *r);
/* The caption over the plot: how the fit was made and how well it fits. */
void fit_plot_caption(const nb_lsq_result *r, char *buf, size_t size);

/* A batch of fits, one row per group: CSV (group, estimates, standard errors, sse,
 * converged, iterations, n, error) or JSON. `group_name` heads the group column. false
 * when out of memory. */
bool fit_print_batch(const nb_fit_batch *batch, const char *formula, const char *group_name, bool json);

/* --by COL or --by-file (by NULL): read, fit every group, print the rows (cli/fit_batch.c).
 * The exit status: 0 all converged, 1 some group failed or a file could not be read, 2
 * bad usage (a formula that does not parse, a group column that is not there). */
typedef struct fit_batch_args {
    const char *formula;
    int n_files;
    char **files;
    const char *by;
    const nb_csv_options *read;
    const nb_fit_setup *setup;
    const nb_lsq_options *lsq;
    bool json;
} fit_batch_args;

int fit_run_batch(const fit_batch_args *a);

#endif
