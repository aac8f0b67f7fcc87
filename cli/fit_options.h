/* The options of `nabla fit` that constrain the solver: --fix, --via, --bounds, --loss,
 * --f-scale and --starts (their parsing, their check against the formula, and how the
 * result shows them). */
#ifndef NABLA_CLI_FIT_OPTIONS_H
#define NABLA_CLI_FIT_OPTIONS_H

#include "nabla.h"

#include <stdbool.h>

typedef struct fit_constraints {
    const char *fix_text, *via_text, *bounds_text, *loss_text, *f_scale_text, *starts_text;
    char *copies[3]; /* the texts the name lists point into */
    int n_fixed, n_vary, n_bounds;
    const char **fixed_names, **vary_names, **bound_names;
    double *fixed_values, *lower, *upper;
} fit_constraints;

/* Whether `name` (without the dashes) is one of these options; then its value is kept. */
bool fit_constraint_option(const char *name, const char *value, fit_constraints *c);
/* Parse the texts kept into c, the setup and the options: false after an error message
 * (bad usage). */
bool fit_constraints_parse(fit_constraints *c, nb_fit_setup *setup, nb_lsq_options *lsq);
/* The names given are parameters of the formula, the bounds do not cross, and something
 * is left to fit: false after an error message (bad usage). */
bool fit_constraints_check(const fit_constraints *c, const nb_expr *expr);
void fit_constraints_free(fit_constraints *c);

/* What the table adds after a parameter's row: "fixed", "at lower bound" ... ("" for
 * none); and the notes after the table (starts moved inside the bounds, multi-start). */
const char *fit_param_status(const nb_lsq_result *r, int j);
void fit_constraint_notes(const nb_lsq_result *r);
/* The same into the JSON object: "fixed" and "at_bound" (names), "moved", "starts". */
struct cJSON;
void fit_constraints_json(struct cJSON *root, const nb_lsq_result *r);

#endif
