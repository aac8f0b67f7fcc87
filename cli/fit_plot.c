/* The picture of a fit: data, fitted curve and residuals, through the plot module. */
#include "fit_plot.h"

#include <ctype.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>

#define CURVE_POINTS 512

/* The columns the formula's right side reads: how many, and the first. */
static int input_columns(const fit_picture *p, int *first)
{
    int count = 0;
    *first = -1;
    for (int k = 0; k < p->data->n_columns; k++)
        if (nb_expr_uses_column(p->expr, k, false)) {
            if (count++ == 0)
                *first = k;
        }
    return count;
}

static void range_of(const double *v, int64_t n, double *lo, double *hi)
{
    *lo = INFINITY;
    *hi = -INFINITY;
    for (int64_t i = 0; i < n; i++)
        if (isfinite(v[i])) {
            *lo = fmin(*lo, v[i]);
            *hi = fmax(*hi, v[i]);
        }
}

/* The model at the data and the residuals (response - model, over sigma when given). */
static nb_status model_and_residuals(const fit_picture *p, double *fitted, double *residual)
{
    int64_t m = p->data->n_rows;
    nb_status status = nb_expr_eval(p->expr, false, m, (const double *const *)p->data->columns, p->params, fitted);
    if (status != NB_OK)
        return status;
    for (int64_t i = 0; i < m; i++)
        residual[i] = (p->response[i] - fitted[i]) / (p->sigma ? p->sigma[i] : 1);
    return NB_OK;
}

/* The smooth curve: the compiled formula at CURVE_POINTS values spread over [lo, hi] of
 * column `column` (the only column the right side reads). */
static nb_status curve(const fit_picture *p, int column, double lo, double hi, double *x, double *y, int *n)
{
    *n = hi > lo ? CURVE_POINTS : 1;
    for (int i = 0; i < *n; i++) /* the ends exactly, the rest evenly between */
        x[i] = i == *n - 1 ? hi : lo + (hi - lo) * i / (*n - 1 > 0 ? *n - 1 : 1);
    const double **columns = calloc((size_t)p->data->n_columns, sizeof *columns);
    if (!columns)
        return nb_fail(NB_ENOMEM, "out of memory for the plot");
    columns[column] = x;
    nb_status status = nb_expr_eval(p->expr, false, *n, columns, p->params, y);
    free(columns);
    return status;
}

/* Residuals are read about zero: symmetric limits, of the 1-2-5 sequence so that even a
 * short panel gets ticks at -R, 0 and R, and 15 % clear of the largest residual. */
static void residual_limits(nb_panel *panel, const double *residual, int64_t m)
{
    double biggest = 0;
    for (int64_t i = 0; i < m; i++)
        if (isfinite(residual[i]))
            biggest = fmax(biggest, fabs(residual[i]));
    if (!(biggest > 0))
        return; /* all zero: the plot module's own range */
    double wanted = 1.15 * biggest, base = pow(10, floor(log10(wanted)));
    double mantissa = wanted / base;
    double limit = (mantissa <= 1 ? 1 : mantissa <= 2 ? 2 : mantissa <= 5 ? 5 : 10) * base;
    nb_panel_ylim(panel, -limit, limit);
}

static void label_residuals(nb_panel *panel, const fit_picture *p, const char *xlabel)
{
    nb_panel_labels(panel, xlabel, p->sigma ? "residual/\xcf\x83" : "residual"); /* σ */
    nb_style zero = {.color = NB_RGB(110, 110, 110), .dashed = true};
    nb_panel_hline(panel, NULL, 0, &zero);
    nb_panel_legend(panel, NB_LEGEND_NONE);
}

/* The confidence band of the curve: the model's confidence interval at each point of
 * the curve, by the delta method (nb_fit_model_predict), as two lines. */
static nb_status draw_band(nb_panel *panel, const fit_picture *p, int column, const double *x, int n)
{
    if (!p->model || n < 2)
        return NB_OK;
    const char *name = p->data->names[column];
    const double *columns[1] = {x};
    nb_table *curve_table = nb_table_from_columns(1, &name, n, columns);
    nb_fit_prediction band;
    nb_status status = curve_table ? nb_fit_model_predict(p->model, curve_table, p->model->confidence, &band)
                                   : nb_errcode();
    nb_table_free(curve_table);
    if (status != NB_OK)
        return status;
    char label[64];
    snprintf(label, sizeof label, "%g%% confidence band", 100 * p->model->confidence);
    nb_style edge = {.color = NB_CYCLE(1), .alpha = 0.55, .dashed = true};
    nb_panel_line(panel, label, x, band.conf_low, (size_t)n, &edge);
    nb_panel_line(panel, NULL, x, band.conf_high, (size_t)n, &edge);
    nb_fit_prediction_clear(&band);
    return NB_OK;
}

static nb_status draw_one_input(nb_figure *figure, const fit_picture *p, int column, const double *residual)
{
    int64_t m = p->data->n_rows;
    const double *x = p->data->columns[column];
    const char *x_name = p->data->names[column];
    double lo, hi;
    range_of(x, m, &lo, &hi);
    double curve_x[CURVE_POINTS], curve_y[CURVE_POINTS];
    int n_curve;
    nb_status status = curve(p, column, lo, hi, curve_x, curve_y, &n_curve);
    if (status != NB_OK)
        return status;

    nb_panel *top = nb_figure_panel(figure, 0, 0);
    if (p->caption)
        nb_panel_title(top, p->caption);
    nb_panel_labels(top, x_name, p->response_name);
    char data_label[64];
    snprintf(data_label, sizeof data_label, "data (%lld points)", (long long)m);
    nb_style dots = {.color = NB_CYCLE(0), .alpha = m > 200 ? 0.7 : 1};
    nb_panel_scatter(top, data_label, x, p->response, (size_t)m, &dots);
    nb_style line = {.color = NB_CYCLE(1)};
    nb_panel_line(top, "fitted curve", curve_x, curve_y, (size_t)n_curve, &line);
    if ((status = draw_band(top, p, column, curve_x, n_curve)) != NB_OK)
        return status;

    nb_panel *bottom = nb_figure_panel(figure, 1, 0);
    nb_panel_scatter(bottom, NULL, x, residual, (size_t)m, &dots);
    residual_limits(bottom, residual, m);
    label_residuals(bottom, p, x_name);
    return NB_OK;
}

static nb_status draw_observed_fitted(nb_figure *figure, const fit_picture *p, const double *fitted,
                                      const double *residual)
{
    int64_t m = p->data->n_rows;
    nb_panel *top = nb_figure_panel(figure, 0, 0);
    if (p->caption)
        nb_panel_title(top, p->caption);
    char xlabel[160];
    snprintf(xlabel, sizeof xlabel, "fitted %s", p->response_name);
    nb_panel_labels(top, xlabel, p->response_name);
    double lo_f, hi_f, lo_o, hi_o;
    range_of(fitted, m, &lo_f, &hi_f);
    range_of(p->response, m, &lo_o, &hi_o);
    double diagonal[2] = {fmin(lo_f, lo_o), fmax(hi_f, hi_o)};
    /* both panels measure fitted values across: the same scale for both */
    double margin = 0.03 * (diagonal[1] - diagonal[0]);
    if (margin > 0) {
        nb_panel_xlim(top, diagonal[0] - margin, diagonal[1] + margin);
        nb_panel_xlim(nb_figure_panel(figure, 1, 0), diagonal[0] - margin, diagonal[1] + margin);
    }
    nb_style line = {.color = NB_CYCLE(1), .dashed = true};
    nb_panel_line(top, "observed = fitted", diagonal, diagonal, 2, &line);
    char data_label[64];
    snprintf(data_label, sizeof data_label, "data (%lld points)", (long long)m);
    nb_style dots = {.color = NB_CYCLE(0), .alpha = m > 200 ? 0.7 : 1};
    nb_panel_scatter(top, data_label, fitted, p->response, (size_t)m, &dots);

    nb_panel *bottom = nb_figure_panel(figure, 1, 0);
    nb_panel_scatter(bottom, NULL, fitted, residual, (size_t)m, &dots);
    residual_limits(bottom, residual, m);
    label_residuals(bottom, p, xlabel);
    return NB_OK;
}

/* The formula as a title: runs of blanks made one, none just inside brackets, so that a
 * long formula keeps a readable size ("cos( 2*pi*x/12 )" becomes "cos(2*pi*x/12)"). */
static void compact_formula(const char *formula, char *buf, size_t size)
{
    size_t used = 0;
    for (const char *c = formula; *c && used + 1 < size; c++) {
        bool blank = isspace((unsigned char)*c);
        if (blank) {
            const char *next = c;
            while (isspace((unsigned char)*next))
                next++;
            bool after_open = used > 0 && (buf[used - 1] == '(' || buf[used - 1] == '[');
            bool before_close = *next == ')' || *next == ']' || *next == '\0';
            if (used > 0 && !after_open && !before_close)
                buf[used++] = ' ';
            c = next - 1;
            continue;
        }
        buf[used++] = *c;
    }
    buf[used] = '\0';
}

nb_status fit_plot_save(const fit_picture *p, const char *path)
{
    int64_t m = p->data->n_rows;
    double *fitted = malloc((size_t)m * sizeof *fitted), *residual = malloc((size_t)m * sizeof *residual);
    nb_figure *figure = nb_figure_new(900, 720, 2, 1);
    nb_status status = fitted && residual && figure ? NB_OK : nb_fail(NB_ENOMEM, "out of memory for the plot");
    if (status == NB_OK)
        status = model_and_residuals(p, fitted, residual);
    if (status == NB_OK) {
        const double heights[2] = {3, 1};
        nb_figure_row_heights(figure, heights);
        char title[1024];
        compact_formula(nb_expr_text(p->expr), title, sizeof title);
        nb_figure_title(figure, title);
        int column;
        status = input_columns(p, &column) == 1 ? draw_one_input(figure, p, column, residual)
                                                : draw_observed_fitted(figure, p, fitted, residual);
    }
    if (status == NB_OK)
        status = nb_figure_save(figure, path);
    nb_figure_free(figure);
    free(fitted);
    free(residual);
    return status;
}
