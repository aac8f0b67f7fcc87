/* The picture of a fit for `nabla fit --plot FILE`. */
#ifndef NABLA_CLI_FIT_PLOT_H
#define NABLA_CLI_FIT_PLOT_H

#include "cli.h"

typedef struct fit_picture {
    const nb_table *data;
    const nb_expr *expr;      /* parsed with the data's column names */
    const double *params;     /* the estimates, in the formula's parameter order */
    const double *response;   /* per row: the response column, or the left side evaluated */
    const char *response_name; /* "y", or the left side as written ("log[y]") */
    const double *sigma;      /* per row, or NULL: residuals are then divided by it */
    const char *caption;      /* a line under the title: method, points, SSE */
    const nb_fit_model *model; /* the fit kept, for the confidence band (NULL: none) */
} fit_picture;

/* Draw the fit into `path` (the format follows the extension).
 *   - One input column: the data and the fitted curve, evaluated at 512 points evenly
 *     spread over the column's range, with the confidence band of the curve (the model's
 *     confidence interval at each of those points, at the fit's level), above the
 *     residuals (row heights 3:1).
 *   - Several input columns (or none): observed against fitted values with the line on
 *     which they would agree, above the residuals against the fitted values.
 * The figure's title is the formula. */
nb_status fit_plot_save(const fit_picture *picture, const char *path);

#endif
