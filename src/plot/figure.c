/* The figure and panel API: what the caller describes is checked and copied here; the
 * first failure is kept (sticky), so that nb_figure_save() reports it again. */
#include "plot/plot_internal.h"

#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#define MIN_FIGURE_SIZE 64.0
#define MAX_FIGURE_SIZE 16384.0
#define MAX_GRID 16

/* Okabe & Ito's palette, distinguishable with the common colour-vision deficiencies
 * (their yellow is left out: too faint on white). */
static const uint32_t color_cycle[] = {0x0072B2, 0xD55E00, 0x009E73, 0xCC79A7, 0xE69F00, 0x56B4E9, 0x000000};
#define N_CYCLE ((int)(sizeof color_cycle / sizeof color_cycle[0]))

/* ==== building ========================================================================= */

/* Record the current failure as the figure's first one (sticky) and pass it on. */
static nb_status remember(nb_figure *figure, nb_status status)
{
    if (status != NB_OK && figure && figure->first_error == NB_OK) {
        figure->first_error = status;
        snprintf(figure->first_message, sizeof figure->first_message, "%s", nb_errmsg());
    }
    return status;
}

static nb_status panel_message(const nb_panel *panel, nb_status status, const char *fmt, va_list args)
{
    char detail[ERROR_SIZE];
    vsnprintf(detail, sizeof detail, fmt, args);
    return nb_fail(status, "plot panel (%d, %d): %s", panel->row, panel->col, detail);
}

/* A failure while building a panel: sticky, nb_figure_save() reports it again. */
static nb_status panel_fail(nb_panel *panel, nb_status status, const char *fmt, ...) NB_PRINTF(3, 4);
static nb_status panel_fail(nb_panel *panel, nb_status status, const char *fmt, ...)
{
    va_list args;
    va_start(args, fmt);
    panel_message(panel, status, fmt, args);
    va_end(args);
    return remember(panel->figure, status);
}

/* A failure while saving: the figure itself is not at fault, nothing is remembered. */
nb_status nb_plot_layout_fail(const nb_panel *panel, nb_status status, const char *fmt, ...)
{
    va_list args;
    va_start(args, fmt);
    panel_message(panel, status, fmt, args);
    va_end(args);
    return status;
}

nb_figure *nb_figure_new(double width, double height, int rows, int cols)
{
    if (!(width >= MIN_FIGURE_SIZE && width <= MAX_FIGURE_SIZE && height >= MIN_FIGURE_SIZE &&
          height <= MAX_FIGURE_SIZE)) {
        nb_fail(NB_EARG, "nb_figure_new: a figure of %g x %g: width and height must be between %g and %g",
                width, height, MIN_FIGURE_SIZE, MAX_FIGURE_SIZE);
        return NULL;
    }
    if (rows < 1 || rows > MAX_GRID || cols < 1 || cols > MAX_GRID) {
        nb_fail(NB_EARG, "nb_figure_new: a grid of %d x %d panels: rows and columns must be between 1 and %d",
                rows, cols, MAX_GRID);
        return NULL;
    }
    nb_figure *figure = nb_calloc(1, sizeof *figure);
    nb_panel *panels = nb_calloc((size_t)rows * (size_t)cols, sizeof *panels);
    if (!figure || !panels) {
        nb_free(figure);
        nb_free(panels);
        nb_fail(NB_ENOMEM, "nb_figure_new: out of memory");
        return NULL;
    }
    figure->width = width;
    figure->height = height;
    figure->rows = rows;
    figure->cols = cols;
    figure->panels = panels;
    for (int r = 0; r < rows; r++)
        for (int c = 0; c < cols; c++) {
            nb_panel *panel = &panels[r * cols + c];
            panel->figure = figure;
            panel->row = r;
            panel->col = c;
            panel->xlim[0] = panel->xlim[1] = panel->ylim[0] = panel->ylim[1] = NAN;
        }
    return figure;
}

static void free_heatmap(heatmap *map)
{
    if (!map)
        return;
    for (int i = 0; map->row_labels && i < map->rows; i++)
        nb_free(map->row_labels[i]);
    for (int j = 0; map->col_labels && j < map->cols; j++)
        nb_free(map->col_labels[j]);
    nb_free(map->row_labels);
    nb_free(map->col_labels);
    nb_free(map->values);
    nb_free(map->colorbar_label);
    nb_free(map);
}

void nb_figure_free(nb_figure *figure)
{
    if (!figure)
        return;
    for (int i = 0; i < figure->rows * figure->cols; i++) {
        nb_panel *panel = &figure->panels[i];
        for (size_t s = 0; s < panel->n_series; s++) {
            nb_free(panel->series[s].label);
            nb_free(panel->series[s].x);
            nb_free(panel->series[s].y);
        }
        nb_free(panel->series);
        nb_free(panel->title);
        nb_free(panel->xlabel);
        nb_free(panel->ylabel);
        free_heatmap(panel->heatmap);
    }
    nb_free(figure->panels);
    nb_free(figure->title);
    nb_free(figure->row_weights);
    nb_free(figure);
}

/* Replace *slot by a copy of text (NULL or "" clears it). */
static nb_status set_text(char **slot, const char *text)
{
    char *copy = NULL;
    if (text && *text) {
        copy = nb_strdup(text);
        if (!copy)
            return nb_fail(NB_ENOMEM, "out of memory copying the text \"%.40s\"", text);
    }
    nb_free(*slot);
    *slot = copy;
    return NB_OK;
}

nb_status nb_figure_title(nb_figure *figure, const char *title)
{
    if (!figure)
        return nb_fail(NB_EARG, "nb_figure_title: figure is NULL");
    return remember(figure, set_text(&figure->title, title));
}

nb_status nb_figure_row_heights(nb_figure *figure, const double *weights)
{
    if (!figure)
        return nb_fail(NB_EARG, "nb_figure_row_heights: figure is NULL");
    if (!weights)
        return remember(figure, nb_fail(NB_EARG, "nb_figure_row_heights: weights is NULL"));
    for (int r = 0; r < figure->rows; r++)
        if (!(weights[r] > 0 && isfinite(weights[r])))
            return remember(figure, nb_fail(NB_EARG, "nb_figure_row_heights: the weight of row %d is %g; "
                                                     "weights must be positive and finite",
                                            r, weights[r]));
    if (!figure->row_weights) {
        figure->row_weights = nb_alloc_or_fail((size_t)figure->rows * sizeof(double), "row heights");
        if (!figure->row_weights)
            return remember(figure, NB_ENOMEM);
    }
    memcpy(figure->row_weights, weights, (size_t)figure->rows * sizeof(double));
    return NB_OK;
}

nb_panel *nb_figure_panel(nb_figure *figure, int row, int col)
{
    if (!figure) {
        nb_fail(NB_EARG, "nb_figure_panel: figure is NULL");
        return NULL;
    }
    if (row < 0 || row >= figure->rows || col < 0 || col >= figure->cols) {
        nb_fail(NB_EARG, "nb_figure_panel: no panel (%d, %d) in a figure of %d x %d panels", row, col,
                figure->rows, figure->cols);
        remember(figure, NB_EARG);
        return NULL;
    }
    return &figure->panels[row * figure->cols + col];
}

nb_status nb_panel_title(nb_panel *panel, const char *title)
{
    if (!panel)
        return nb_fail(NB_EARG, "nb_panel_title: panel is NULL");
    return remember(panel->figure, set_text(&panel->title, title));
}

nb_status nb_panel_labels(nb_panel *panel, const char *xlabel, const char *ylabel)
{
    if (!panel)
        return nb_fail(NB_EARG, "nb_panel_labels: panel is NULL");
    nb_status status = set_text(&panel->xlabel, xlabel);
    if (status == NB_OK)
        status = set_text(&panel->ylabel, ylabel);
    return remember(panel->figure, status);
}

nb_status nb_panel_log_y(nb_panel *panel, bool log_y)
{
    if (!panel)
        return nb_fail(NB_EARG, "nb_panel_log_y: panel is NULL");
    panel->log_y = log_y;
    return NB_OK;
}

static nb_status set_limits(nb_panel *panel, char axis, double lo, double hi, double limits[2])
{
    if (!panel)
        return nb_fail(NB_EARG, "nb_panel_%clim: panel is NULL", axis);
    if (isinf(lo) || isinf(hi) || (!isnan(lo) && !isnan(hi) && !(lo < hi)))
        return panel_fail(panel, NB_EARG, "%c limits [%g, %g]: need finite lo < hi (NAN for automatic)", axis,
                          lo, hi);
    limits[0] = lo;
    limits[1] = hi;
    return NB_OK;
}

nb_status nb_panel_xlim(nb_panel *panel, double lo, double hi)
{
    return set_limits(panel, 'x', lo, hi, panel ? panel->xlim : NULL);
}

nb_status nb_panel_ylim(nb_panel *panel, double lo, double hi)
{
    return set_limits(panel, 'y', lo, hi, panel ? panel->ylim : NULL);
}

nb_status nb_panel_legend(nb_panel *panel, nb_legend_pos pos)
{
    if (!panel)
        return nb_fail(NB_EARG, "nb_panel_legend: panel is NULL");
    if (pos < NB_LEGEND_AUTO || pos > NB_LEGEND_LOWER_RIGHT)
        return panel_fail(panel, NB_EARG, "unknown legend position %d", (int)pos);
    panel->legend = pos;
    return NB_OK;
}

/* The colour a style asks for, taking the next of the cycle when it names none. */
static nb_status resolve_color(nb_panel *panel, const nb_style *style, uint32_t *color)
{
    uint32_t asked = style->color;
    if (asked == 0)
        *color = NB_RGB(0, 0, 0) | color_cycle[panel->next_color++ % N_CYCLE];
    else if ((asked >> 24) == 2)
        *color = NB_RGB(0, 0, 0) | color_cycle[(asked & 0xFF) % N_CYCLE];
    else if ((asked >> 24) == 1)
        *color = asked;
    else
        return panel_fail(panel, NB_EARG, "colour 0x%08x is neither NB_RGB(r, g, b) nor NB_CYCLE(k)", asked);
    return NB_OK;
}

static nb_status check_style(nb_panel *panel, const nb_style *style)
{
    if (!(style->alpha >= 0 && style->alpha <= 1))
        return panel_fail(panel, NB_EARG, "style alpha %g is not in [0, 1]", style->alpha);
    if (!(style->width >= 0 && style->width <= 1000))
        return panel_fail(panel, NB_EARG, "style width %g is not in [0, 1000]", style->width);
    return NB_OK;
}

/* The arguments of a series are usable: a panel without a heat map, y given, some
 * finite point, a valid style. */
static nb_status check_series(nb_panel *panel, const char *what, const char *name, const double *x,
                              const double *y, size_t n, const nb_style *style)
{
    if (panel->heatmap)
        return panel_fail(panel, NB_EARG, "%s \"%s\": the panel already holds a heat map", what, name);
    if (!y)
        return panel_fail(panel, NB_EARG, "%s \"%s\": y is NULL", what, name);
    if (n == 0)
        return panel_fail(panel, NB_EARG, "%s \"%s\" has no points", what, name);
    nb_status status = check_style(panel, style);
    if (status != NB_OK)
        return status;
    size_t finite = 0;
    for (size_t i = 0; i < n; i++)
        finite += isfinite(y[i]) && (!x || isfinite(x[i]));
    if (finite == 0)
        return panel_fail(panel, NB_ENUMERIC, "%s \"%s\": none of its %zu points is finite", what, name, n);
    return NB_OK;
}

/* Room for one more series in the panel. */
static nb_status reserve_series(nb_panel *panel)
{
    if (panel->n_series < panel->cap_series)
        return NB_OK;
    size_t cap = panel->cap_series ? 2 * panel->cap_series : 8;
    series *grown = nb_realloc(panel->series, cap * sizeof *grown);
    if (!grown)
        return remember(panel->figure, nb_fail(NB_ENOMEM, "out of memory adding a series"));
    panel->series = grown;
    panel->cap_series = cap;
    return NB_OK;
}

/* Copies of the label and the points into s (x = 1, 2, ... when the caller gave none;
 * no x for an hline). false, with nothing allocated, when memory runs out. */
static bool copy_points(series *s, const char *label, const double *x, const double *y)
{
    size_t n = s->n;
    s->y = nb_alloc(n * sizeof(double));
    s->x = s->kind == SERIES_HLINE ? NULL : nb_alloc(n * sizeof(double));
    s->label = label && *label ? nb_strdup(label) : NULL;
    if (!s->y || (s->kind != SERIES_HLINE && !s->x) || (label && *label && !s->label)) {
        nb_free(s->x);
        nb_free(s->y);
        nb_free(s->label);
        return false;
    }
    memcpy(s->y, y, n * sizeof(double));
    for (size_t i = 0; s->x && i < n; i++)
        s->x[i] = x ? x[i] : (double)(i + 1);
    return true;
}

/* Append a series, copying its arrays; the panel is unchanged on failure. */
static nb_status add_series(nb_panel *panel, series_kind kind, const char *what, const char *label,
                            const double *x, const double *y, size_t n, const nb_style *style)
{
    if (!panel)
        return nb_fail(NB_EARG, "nb_panel_%s: panel is NULL", what);
    nb_style chosen = style ? *style : (nb_style){0};
    nb_status status = check_series(panel, what, label && *label ? label : "(unlabelled)", x, y, n, &chosen);
    if (status == NB_OK)
        status = reserve_series(panel);
    if (status != NB_OK)
        return status;
    series s = {.kind = kind, .n = n, .style = chosen};
    int saved_color = panel->next_color;
    status = resolve_color(panel, &chosen, &s.color);
    if (status != NB_OK)
        return status;
    if (!copy_points(&s, label, x, y)) {
        panel->next_color = saved_color;
        return remember(panel->figure, nb_fail(NB_ENOMEM, "out of memory copying %zu points", n));
    }
    panel->series[panel->n_series++] = s;
    return NB_OK;
}

nb_status nb_panel_line(nb_panel *panel, const char *label, const double *x, const double *y, size_t n,
                        const nb_style *style)
{
    return add_series(panel, SERIES_LINE, "line", label, x, y, n, style);
}

nb_status nb_panel_scatter(nb_panel *panel, const char *label, const double *x, const double *y, size_t n,
                           const nb_style *style)
{
    return add_series(panel, SERIES_SCATTER, "scatter", label, x, y, n, style);
}

nb_status nb_panel_hline(nb_panel *panel, const char *label, double y, const nb_style *style)
{
    nb_style chosen = style ? *style : (nb_style){0};
    if (chosen.color == 0) { /* a reference line stays out of the colour cycle */
        chosen.color = NB_RGB(90, 90, 90);
        if (!style)
            chosen.dashed = true;
    }
    return add_series(panel, SERIES_HLINE, "hline", label, NULL, &y, 1, &chosen);
}

static char *number_label(int i)
{
    char text[16];
    snprintf(text, sizeof text, "%d", i);
    return nb_strdup(text);
}

/* A copy of the caller's heat map, labels numbered where none were given; NULL when
 * memory runs out. */
static heatmap *copy_heatmap(const double *values, int rows, int cols, const char *const *row_labels,
                             const char *const *col_labels, bool annotate, const char *colorbar_label)
{
    size_t n = (size_t)rows * (size_t)cols;
    heatmap *map = nb_calloc(1, sizeof *map);
    if (!map)
        return NULL;
    map->rows = rows;
    map->cols = cols;
    map->annotate = annotate;
    map->values = nb_alloc(n * sizeof(double));
    map->row_labels = nb_calloc((size_t)rows, sizeof(char *));
    map->col_labels = nb_calloc((size_t)cols, sizeof(char *));
    bool ok = map->values && map->row_labels && map->col_labels;
    if (ok)
        memcpy(map->values, values, n * sizeof(double));
    for (int i = 0; ok && i < rows; i++) {
        map->row_labels[i] = row_labels && row_labels[i] ? nb_strdup(row_labels[i]) : number_label(i);
        ok = map->row_labels[i] != NULL;
    }
    for (int j = 0; ok && j < cols; j++) {
        map->col_labels[j] = col_labels && col_labels[j] ? nb_strdup(col_labels[j]) : number_label(j);
        ok = map->col_labels[j] != NULL;
    }
    if (ok && set_text(&map->colorbar_label, colorbar_label) != NB_OK)
        ok = false;
    if (!ok) {
        free_heatmap(map);
        return NULL;
    }
    return map;
}

nb_status nb_panel_heatmap(nb_panel *panel, const double *values, int rows, int cols,
                           const char *const *row_labels, const char *const *col_labels, bool annotate,
                           const char *colorbar_label)
{
    if (!panel)
        return nb_fail(NB_EARG, "nb_panel_heatmap: panel is NULL");
    if (panel->heatmap || panel->n_series)
        return panel_fail(panel, NB_EARG, "heat map: the panel already holds %s",
                          panel->heatmap ? "a heat map" : "series");
    if (!values)
        return panel_fail(panel, NB_EARG, "heat map: values is NULL");
    if (rows < 1 || cols < 1 || rows > 1000 || cols > 1000)
        return panel_fail(panel, NB_EARG, "heat map of %d x %d cells: need 1 to 1000 rows and columns", rows,
                          cols);
    size_t n = (size_t)rows * (size_t)cols, finite = 0;
    for (size_t i = 0; i < n; i++)
        finite += isfinite(values[i]) != 0;
    if (finite == 0)
        return panel_fail(panel, NB_ENUMERIC, "heat map: none of its %zu values is finite", n);
    heatmap *map = copy_heatmap(values, rows, cols, row_labels, col_labels, annotate, colorbar_label);
    if (!map)
        return remember(panel->figure, nb_fail(NB_ENOMEM, "out of memory for a heat map"));
    panel->heatmap = map;
    return NB_OK;
}
