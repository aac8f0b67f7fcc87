/* Figures of panels drawn through cairo: line and scatter series, legends, nice axes
 * (linear or log), heat maps with a colour bar; PNG, SVG or PDF, written atomically.
 *
 * A figure is only a description until nb_figure_save(): saving lays it out on a
 * measuring context (so every error is known before a file is touched), then draws it
 * on the real surface, which writes into a temporary file renamed over the target. */
#include "core/core.h"
#include "nabla/plot.h"
#include "plot/plot_internal.h"

#include <cairo-pdf.h>
#include <cairo-svg.h>
#include <cairo.h>
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#define FONT_FAMILY "DejaVu Sans"
#define MIN_FIGURE_SIZE 64.0
#define MAX_FIGURE_SIZE 16384.0
#define MAX_GRID 16
#define MAX_TICKS NB_PLOT_MAX_TICKS
#define MAX_MINOR_TICKS 160
#define TICK_LABEL_SIZE NB_PLOT_LABEL_SIZE
#define ERROR_SIZE 512

/* ==== the figure as described by the caller ========================================= */

typedef enum series_kind { SERIES_LINE, SERIES_SCATTER, SERIES_HLINE } series_kind;

typedef struct series {
    series_kind kind;
    char *label; /* NULL: not in the legend */
    double *x, *y; /* n points; an hline keeps its level in y[0] and has no x */
    size_t n;
    nb_style style;
    uint32_t color; /* resolved to NB_RGB when added */
} series;

typedef struct heatmap {
    int rows, cols;
    double *values; /* rows x cols, row-major */
    char **row_labels, **col_labels; /* always filled: numbers when the caller gave none */
    bool annotate;
    char *colorbar_label;
} heatmap;

struct nb_panel {
    nb_figure *figure;
    int row, col;
    char *title, *xlabel, *ylabel;
    bool log_y;
    double xlim[2], ylim[2]; /* NAN: automatic */
    nb_legend_pos legend;
    series *series;
    size_t n_series, cap_series;
    int next_color;
    heatmap *heatmap;
};

struct nb_figure {
    double width, height;
    int rows, cols;
    char *title;
    double *row_weights;
    nb_panel *panels; /* rows x cols, row-major */
    nb_status first_error;
    char first_message[ERROR_SIZE];
};

/* ==== colours ========================================================================== */

typedef struct rgb {
    double r, g, b;
} rgb;

/* Okabe & Ito's palette, distinguishable with the common colour-vision deficiencies
 * (their yellow is left out: too faint on white). */
static const uint32_t color_cycle[] = {0x0072B2, 0xD55E00, 0x009E73, 0xCC79A7, 0xE69F00, 0x56B4E9, 0x000000};
#define N_CYCLE ((int)(sizeof color_cycle / sizeof color_cycle[0]))

/* viridis sampled at t = 0, 0.1, ..., 1; interpolated linearly in between. */
static const uint32_t viridis_stops[] = {0x440154, 0x482475, 0x414487, 0x355F8D, 0x2A788E, 0x21918C,
                                         0x22A884, 0x44BF70, 0x7AD151, 0xBDDF26, 0xFDE725};
#define N_VIRIDIS ((int)(sizeof viridis_stops / sizeof viridis_stops[0]))

static rgb rgb_of(uint32_t hex)
{
    return (rgb){((hex >> 16) & 0xFF) / 255.0, ((hex >> 8) & 0xFF) / 255.0, (hex & 0xFF) / 255.0};
}

static double channel_lerp(uint32_t a, uint32_t b, int shift, double f)
{
    return ((a >> shift) & 0xFF) * (1 - f) + ((b >> shift) & 0xFF) * f;
}

uint32_t nb_viridis(double t)
{
    if (!(t > 0)) /* also NaN */
        t = 0;
    if (t > 1)
        t = 1;
    double position = t * (N_VIRIDIS - 1);
    int i = (int)position;
    if (i >= N_VIRIDIS - 1)
        i = N_VIRIDIS - 2;
    double f = position - i;
    uint32_t a = viridis_stops[i], b = viridis_stops[i + 1];
    return NB_RGB(lround(channel_lerp(a, b, 16, f)), lround(channel_lerp(a, b, 8, f)),
                  lround(channel_lerp(a, b, 0, f)));
}

/* Relative luminance, to choose black or white text on a cell. */
static double luminance(rgb c) { return 0.2126 * c.r + 0.7152 * c.g + 0.0722 * c.b; }

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
static nb_status layout_fail(const nb_panel *panel, nb_status status, const char *fmt, ...) NB_PRINTF(3, 4);
static nb_status layout_fail(const nb_panel *panel, nb_status status, const char *fmt, ...)
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

/* Append a series, copying its arrays; the panel is unchanged on failure. */
static nb_status add_series(nb_panel *panel, series_kind kind, const char *what, const char *label,
                            const double *x, const double *y, size_t n, const nb_style *style)
{
    if (!panel)
        return nb_fail(NB_EARG, "nb_panel_%s: panel is NULL", what);
    const char *name = label && *label ? label : "(unlabelled)";
    if (panel->heatmap)
        return panel_fail(panel, NB_EARG, "%s \"%s\": the panel already holds a heat map", what, name);
    if (!y)
        return panel_fail(panel, NB_EARG, "%s \"%s\": y is NULL", what, name);
    if (n == 0)
        return panel_fail(panel, NB_EARG, "%s \"%s\" has no points", what, name);
    nb_style chosen = style ? *style : (nb_style){0};
    nb_status status = check_style(panel, &chosen);
    if (status != NB_OK)
        return status;
    size_t finite = 0;
    for (size_t i = 0; i < n; i++)
        finite += isfinite(y[i]) && (!x || isfinite(x[i]));
    if (finite == 0)
        return panel_fail(panel, NB_ENUMERIC, "%s \"%s\": none of its %zu points is finite", what, name, n);

    if (panel->n_series == panel->cap_series) {
        size_t cap = panel->cap_series ? 2 * panel->cap_series : 8;
        series *grown = nb_realloc(panel->series, cap * sizeof *grown);
        if (!grown)
            return remember(panel->figure, nb_fail(NB_ENOMEM, "out of memory adding a series"));
        panel->series = grown;
        panel->cap_series = cap;
    }
    series s = {.kind = kind, .n = n, .style = chosen};
    int saved_color = panel->next_color;
    status = resolve_color(panel, &chosen, &s.color);
    if (status != NB_OK)
        return status;
    s.y = nb_alloc(n * sizeof(double));
    s.x = kind == SERIES_HLINE ? NULL : nb_alloc(n * sizeof(double));
    s.label = label && *label ? nb_strdup(label) : NULL;
    if (!s.y || (kind != SERIES_HLINE && !s.x) || (label && *label && !s.label)) {
        nb_free(s.x);
        nb_free(s.y);
        nb_free(s.label);
        panel->next_color = saved_color;
        return remember(panel->figure, nb_fail(NB_ENOMEM, "out of memory copying %zu points", n));
    }
    memcpy(s.y, y, n * sizeof(double));
    for (size_t i = 0; s.x && i < n; i++)
        s.x[i] = x ? x[i] : (double)(i + 1);
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

    heatmap *map = nb_calloc(1, sizeof *map);
    if (!map)
        return remember(panel->figure, nb_fail(NB_ENOMEM, "out of memory for a heat map"));
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
        return remember(panel->figure, nb_fail(NB_ENOMEM, "out of memory for a heat map"));
    }
    panel->heatmap = map;
    return NB_OK;
}

/* ==== text ============================================================================= */

/* Sizes that scale with the figure: readable at 640 x 400 and at 1600 x 1000. */
typedef struct theme {
    double font;       /* axis labels */
    double tick_font;  /* tick labels, legend, cell annotations */
    double title_font; /* panel titles (bold) */
    double figure_title_font;
    double pad;
    double tick_len;
    double line_width; /* default series width */
    double marker;     /* default scatter diameter */
    double hairline;   /* grid and frame */
} theme;

static theme make_theme(double width, double height)
{
    double font = sqrt(width * height) / 43;
    if (font < 10.5) /* below this, tick labels (86 %) get hard to read */
        font = 10.5;
    if (font > 22)
        font = 22;
    return (theme){
        .font = font,
        .tick_font = 0.86 * font,
        .title_font = 1.12 * font,
        .figure_title_font = 1.3 * font,
        .pad = 0.6 * font,
        .tick_len = 0.35 * font,
        .line_width = 0.15 * font,
        .marker = 0.48 * font,
        .hairline = fmax(1.0, 0.07 * font),
    };
}

static void set_font(cairo_t *cr, double size, bool bold)
{
    cairo_select_font_face(cr, FONT_FAMILY, CAIRO_FONT_SLANT_NORMAL,
                           bold ? CAIRO_FONT_WEIGHT_BOLD : CAIRO_FONT_WEIGHT_NORMAL);
    cairo_set_font_size(cr, size);
}

static double text_width(cairo_t *cr, const char *text)
{
    cairo_text_extents_t extents;
    cairo_text_extents(cr, text, &extents);
    return extents.x_advance;
}

/* Height of a line of text in the current font: what a margin must hold. */
static double line_height(cairo_t *cr)
{
    cairo_font_extents_t extents;
    cairo_font_extents(cr, &extents);
    return extents.ascent + extents.descent;
}

/* Draw text with its anchor at (x, y): halign 0 left, 0.5 centre, 1 right; valign 0 top,
 * 0.5 centre of the digits, 1 bottom; the whole rotated by `angle` (radians,
 * counter-clockwise) about the anchor. */
static void draw_text(cairo_t *cr, const char *text, double x, double y, double halign, double valign,
                      double angle)
{
    cairo_font_extents_t font;
    cairo_font_extents(cr, &font);
    cairo_text_extents_t digits;
    cairo_text_extents(cr, "0", &digits);
    double cap = -digits.y_bearing;
    double dy;
    if (valign <= 0)
        dy = font.ascent;
    else if (valign >= 1)
        dy = -font.descent;
    else
        dy = cap / 2;
    cairo_save(cr);
    cairo_translate(cr, x, y);
    cairo_rotate(cr, -angle);
    cairo_move_to(cr, -halign * text_width(cr, text), dy);
    cairo_show_text(cr, text);
    cairo_restore(cr);
}

/* As draw_text, shrinking the font so that the text is at most max_width long. */
static void draw_text_fit(cairo_t *cr, const char *text, double x, double y, double halign, double valign,
                          double angle, double max_width)
{
    cairo_save(cr);
    double width = text_width(cr, text);
    if (width > max_width && max_width > 0) {
        cairo_matrix_t matrix;
        cairo_get_font_matrix(cr, &matrix);
        cairo_matrix_scale(&matrix, max_width / width, max_width / width);
        cairo_set_font_matrix(cr, &matrix);
    }
    draw_text(cr, text, x, y, halign, valign, angle);
    cairo_restore(cr);
}

static void set_color(cairo_t *cr, uint32_t color, double alpha)
{
    rgb c = rgb_of(color);
    cairo_set_source_rgba(cr, c.r, c.g, c.b, alpha);
}

/* ==== numbers on axes ================================================================== */

/* Replace an ASCII '-' leading a number by the typographic minus sign. */
static void typographic_minus(char *text, size_t size)
{
    if (text[0] != '-')
        return;
    size_t len = strlen(text);
    if (len + 2 >= size)
        return;
    memmove(text + 3, text + 1, len); /* keeps the terminating NUL */
    memcpy(text, "\xE2\x88\x92", 3);   /* U+2212 */
}

/* "10" followed by the exponent in superscript digits: 10⁻³. */
static void power_of_ten(int exponent, char *out, size_t size)
{
    static const char *const superscript[] = {"\xE2\x81\xB0", "\xC2\xB9",     "\xC2\xB2",     "\xC2\xB3",
                                              "\xE2\x81\xB4", "\xE2\x81\xB5", "\xE2\x81\xB6", "\xE2\x81\xB7",
                                              "\xE2\x81\xB8", "\xE2\x81\xB9"};
    char digits[16];
    snprintf(digits, sizeof digits, "%d", exponent < 0 ? -exponent : exponent);
    size_t used = (size_t)snprintf(out, size, "10%s", exponent < 0 ? "\xE2\x81\xBB" : "");
    for (const char *d = digits; *d && used < size; d++)
        used += (size_t)snprintf(out + used, size - used, "%s", superscript[*d - '0']);
}

static void fixed_label(double value, int decimals, char *out, size_t size)
{
    snprintf(out, size, "%.*f", decimals, value);
    typographic_minus(out, size);
}

typedef struct axis {
    double lo, hi; /* the visible range, in data units */
    bool log;
    int n_major;
    double major[MAX_TICKS];
    char label[MAX_TICKS][TICK_LABEL_SIZE];
    int n_minor; /* log axes only: 2·10ⁿ ... 9·10ⁿ */
    double minor[MAX_MINOR_TICKS];
    char multiplier[TICK_LABEL_SIZE]; /* "×10⁵" when the labels are scaled, else "" */
} axis;

static double axis_t(const axis *a, double v) { return a->log ? log10(v) : v; }

/* Position of v along the axis: 0 at lo, 1 at hi. */
static double axis_frac(const axis *a, double v)
{
    return (axis_t(a, v) - axis_t(a, a->lo)) / (axis_t(a, a->hi) - axis_t(a, a->lo));
}

/* The smallest step of the 1-2-5 sequence that is at least raw. */
static double nice_step(double raw)
{
    double base = pow(10, floor(log10(raw)));
    double mantissa = raw / base;
    double nice = mantissa <= 1 + 1e-9 ? 1 : mantissa <= 2 + 1e-9 ? 2 : mantissa <= 5 + 1e-9 ? 5 : 10;
    return nice * base;
}

/* The next step of the 1-2-5 sequence. */
static double coarser_step(double step)
{
    double base = pow(10, floor(log10(step) + 1e-9));
    double mantissa = step / base;
    return (mantissa < 1.5 ? 2 : mantissa < 3.5 ? 5 : 10) * base;
}

/* The previous step of the 1-2-5 sequence. */
static double finer_step(double step)
{
    double base = pow(10, floor(log10(step) + 1e-9));
    double mantissa = step / base;
    return (mantissa < 1.5 ? 0.5 : mantissa < 3.5 ? 1 : 2) * base;
}

/* Ticks every `step` across [lo, hi], labelled with as many decimals as the step needs;
 * very large or small numbers get scaled labels and a ×10ⁿ multiplier. false when the
 * step would need too many ticks. */
static bool linear_ticks(axis *a, double step)
{
    double k0 = ceil(a->lo / step - 1e-9), k1 = floor(a->hi / step + 1e-9);
    if (!(k1 - k0 + 1 <= MAX_TICKS))
        return false;
    int count = k1 >= k0 ? (int)(k1 - k0) + 1 : 0;
    a->n_major = 0;
    a->n_minor = 0;
    double biggest = 0;
    for (int i = 0; i < count; i++) { /* counted: k0 + i may not be exact far from zero */
        double v = (k0 + i) * step;
        if (fabs(v) < step * 1e-9)
            v = 0; /* never "-0" */
        a->major[a->n_major++] = v;
        biggest = fmax(biggest, fabs(v));
    }
    int step_exponent = (int)floor(log10(step) + 1e-9);
    int exponent = biggest > 0 ? (int)floor(log10(biggest) + 1e-9) : 0;
    bool scaled = exponent >= 6 || exponent <= -4;
    double scale = scaled ? pow(10, exponent) : 1;
    int decimals = scaled ? exponent - step_exponent : -step_exponent;
    if (decimals < 0)
        decimals = 0;
    if (decimals > 12)
        decimals = 12;
    for (int i = 0; i < a->n_major; i++)
        fixed_label(a->major[i] / scale, decimals, a->label[i], TICK_LABEL_SIZE);
    a->multiplier[0] = '\0';
    if (scaled) {
        char power[TICK_LABEL_SIZE - 4];
        power_of_ten(exponent, power, sizeof power);
        snprintf(a->multiplier, TICK_LABEL_SIZE, "\xC3\x97%s", power); /* × */
    }
    return true;
}

/* A number on a log axis between decades: 0.02, 500, 2·10⁻⁵. */
static void log_value_label(double v, char *out, size_t size)
{
    int exponent = (int)floor(log10(v) + 1e-9);
    if (exponent >= -3 && exponent <= 5) {
        fixed_label(v, exponent < 0 ? -exponent : 0, out, size);
        return;
    }
    char power[24];
    power_of_ten(exponent, power, sizeof power);
    snprintf(out, size, "%.0f\xC2\xB7%s", v / pow(10, exponent), power); /* · */
}

/* Major ticks at 1, 2 and 5 times the powers of ten within the view. */
static void log_125_ticks(axis *a)
{
    static const int mantissas[] = {1, 2, 5};
    a->n_major = a->n_minor = 0;
    for (int k = (int)floor(log10(a->lo)); k <= (int)ceil(log10(a->hi)); k++)
        for (int m = 0; m < 3; m++) {
            double v = mantissas[m] * pow(10, k);
            if (v >= a->lo * (1 - 1e-9) && v <= a->hi * (1 + 1e-9) && a->n_major < MAX_TICKS) {
                a->major[a->n_major] = v;
                log_value_label(v, a->label[a->n_major], TICK_LABEL_SIZE);
                a->n_major++;
            }
        }
}

/* Decades 10ⁿ (every stride-th labelled, the others and 2..9·10ⁿ as minor ticks). */
static void log_decade_ticks(axis *a, int max_ticks)
{
    a->n_major = a->n_minor = 0;
    double d_lo = log10(a->lo), d_hi = log10(a->hi);
    int k0 = (int)ceil(d_lo - 1e-9), k1 = (int)floor(d_hi + 1e-9);
    int stride = 1;
    while ((k1 - k0) / stride + 1 > max_ticks)
        stride++;
    for (int k = (int)floor(d_lo); k <= k1; k++) {
        double decade = pow(10, k);
        bool major = k >= k0 && (k - k0) % stride == 0;
        if (major && a->n_major < MAX_TICKS) {
            a->major[a->n_major] = decade;
            power_of_ten(k, a->label[a->n_major], TICK_LABEL_SIZE);
            a->n_major++;
        } else if (!major && k >= k0 && a->n_minor < MAX_MINOR_TICKS) {
            a->minor[a->n_minor++] = decade;
        }
        for (int m = 2; stride == 1 && m <= 9 && a->n_minor < MAX_MINOR_TICKS; m++) {
            double v = m * decade;
            if (v >= a->lo && v <= a->hi)
                a->minor[a->n_minor++] = v;
        }
    }
}

/* Log ticks for at most max_ticks labels: decades when the view holds three or more;
 * else 1-2-5 steps (0.05, 0.1, 0.2, ...) when they fit; else plain linear steps for a
 * view of less than half a decade. */
static void log_ticks(axis *a, int max_ticks)
{
    a->multiplier[0] = '\0';
    int k0 = (int)ceil(log10(a->lo) - 1e-9), k1 = (int)floor(log10(a->hi) + 1e-9);
    int decades = k1 - k0 + 1;
    if (decades >= 3) {
        log_decade_ticks(a, max_ticks);
        return;
    }
    log_125_ticks(a);
    if (a->n_major > max_ticks && decades == 2) {
        log_decade_ticks(a, max_ticks);
        return;
    }
    if (a->n_major >= 3)
        return;
    double step = nice_step((a->hi - a->lo) / 4);
    while (!linear_ticks(a, step))
        step = coarser_step(step);
    int kept = 0;
    for (int i = 0; i < a->n_major; i++)
        if (a->major[i] > 0) {
            a->major[kept] = a->major[i];
            memmove(a->label[kept], a->label[i], TICK_LABEL_SIZE);
            kept++;
        }
    a->n_major = kept;
}

static double widest_label(cairo_t *cr, const axis *a)
{
    double widest = 0;
    for (int i = 0; i < a->n_major; i++)
        widest = fmax(widest, text_width(cr, a->label[i]));
    return widest;
}

/* Choose the ticks of an axis `length` long: about one every `spacing`, and at least
 * `min_ticks` when they can stand `min_spacing` apart (a short residual panel still
 * needs a scale); horizontal axes (cr != NULL) also keep their labels `gap` apart. */
static void choose_ticks(axis *a, double length, double spacing, int min_ticks, double min_spacing, cairo_t *cr,
                         double gap)
{
    if (!(length >= 1))
        length = 1; /* a figure too small to hold this axis is reported by the layout */
    double room = length / spacing;
    if (room < 2)
        room = 2;
    if (a->log) { /* only y axes are logarithmic: labels stacked, never side by side */
        log_ticks(a, (int)room);
        return;
    }
    double step = nice_step((a->hi - a->lo) / room);
    for (;;) {
        if (!linear_ticks(a, step)) {
            step = coarser_step(step);
            continue;
        }
        double step_px = step / (a->hi - a->lo) * length;
        if (cr && a->n_major > 1 && widest_label(cr, a) + gap > step_px) {
            step = coarser_step(step);
            continue;
        }
        break;
    }
    while (a->n_major < min_ticks) {
        double finer = finer_step(step);
        axis trial = *a;
        if (finer / (a->hi - a->lo) * length < min_spacing || !linear_ticks(&trial, finer))
            break;
        if (cr && trial.n_major > 1 && widest_label(cr, &trial) + gap > finer / (a->hi - a->lo) * length)
            break;
        *a = trial;
        step = finer;
    }
}

/* A vertical axis: a tick about every 3.6 font sizes, at least three when 1.8 apart. */
static void choose_vertical_ticks(axis *a, double length, double font)
{
    choose_ticks(a, length, 3.6 * font, 3, 1.8 * font, NULL, 0);
}

/* A horizontal axis: a tick about every 6 font sizes, at least four when their labels
 * stay 1.2 font sizes apart. */
static void choose_horizontal_ticks(axis *a, double length, double font, cairo_t *cr)
{
    choose_ticks(a, length, 6 * font, 4, 0, cr, 1.2 * font);
}

void nb_plot_vertical_ticks(double lo, double hi, bool log, double length, double font, nb_plot_ticks *out)
{
    axis a = {.lo = lo, .hi = hi, .log = log};
    choose_vertical_ticks(&a, length, font);
    out->n = a.n_major;
    memcpy(out->value, a.major, sizeof out->value);
    memcpy(out->label, a.label, sizeof out->label);
    memcpy(out->multiplier, a.multiplier, sizeof out->multiplier);
}

/* ==== data ranges ====================================================================== */

static bool usable_y(const nb_panel *panel, double y) { return isfinite(y) && (!panel->log_y || y > 0); }

/* The extent of the data a panel shows, in data units. false when it shows none. */
static bool data_extent(const nb_panel *panel, double x_range[2], double y_range[2])
{
    x_range[0] = y_range[0] = INFINITY;
    x_range[1] = y_range[1] = -INFINITY;
    for (size_t s = 0; s < panel->n_series; s++) {
        const series *sr = &panel->series[s];
        for (size_t i = 0; i < sr->n; i++) {
            if (!usable_y(panel, sr->y[i]) || (sr->x && !isfinite(sr->x[i])))
                continue;
            y_range[0] = fmin(y_range[0], sr->y[i]);
            y_range[1] = fmax(y_range[1], sr->y[i]);
            if (sr->x) {
                x_range[0] = fmin(x_range[0], sr->x[i]);
                x_range[1] = fmax(x_range[1], sr->x[i]);
            }
        }
    }
    if (x_range[0] > x_range[1]) { /* only horizontal lines */
        x_range[0] = 0;
        x_range[1] = 1;
    }
    return y_range[0] <= y_range[1];
}

/* The visible range of an axis: the data, padded by 4 % (in log space for a log axis)
 * on each automatic side; a single value gets a range around it. */
static nb_status view_range(const nb_panel *panel, char name, double data_lo, double data_hi, const double limits[2],
                            bool log, double view[2])
{
    if (log && ((!isnan(limits[0]) && limits[0] <= 0) || (!isnan(limits[1]) && limits[1] <= 0)))
        return layout_fail(panel, NB_EARG, "%c limits [%g, %g] on a log scale must be positive", name, limits[0],
                          limits[1]);
    double lo = log ? log10(data_lo) : data_lo, hi = log ? log10(data_hi) : data_hi;
    if (hi - lo <= 1e-12 * fmax(1, fabs(lo))) {
        double half = log ? 0.5 : lo == 0 ? 1 : 0.1 * fabs(lo);
        lo -= half;
        hi += half;
    }
    double pad = 0.04 * (hi - lo);
    lo = isnan(limits[0]) ? lo - pad : (log ? log10(limits[0]) : limits[0]);
    hi = isnan(limits[1]) ? hi + pad : (log ? log10(limits[1]) : limits[1]);
    if (!(lo < hi))
        return layout_fail(panel, NB_EARG, "the %c limits [%g, %g] leave nothing of the data range [%g, %g] to show",
                          name, limits[0], limits[1], data_lo, data_hi);
    view[0] = log ? pow(10, lo) : lo;
    view[1] = log ? pow(10, hi) : hi;
    return NB_OK;
}

/* ==== layout =========================================================================== */

typedef struct rect {
    double x, y, w, h;
} rect;

enum { LEFT, TOP, RIGHT, BOTTOM };

/* Heat map geometry, decided by the layout. */
typedef struct heatmap_layout {
    double cell; /* side of a square cell */
    bool rotate_columns; /* column labels at 45 degrees */
    axis bar;             /* colour-bar ticks, over [vmin, vmax] */
    double vmin, vmax;
} heatmap_layout;

typedef struct panel_layout {
    const nb_panel *panel;
    enum { PANEL_BLANK, PANEL_CHART, PANEL_HEATMAP } kind;
    rect cell; /* the panel's share of the figure */
    double margin[4];
    rect plot; /* the data area (the grid of cells for a heat map) */
    axis x, y;
    heatmap_layout map;
} panel_layout;

/* The widest text that, centred at x, stays inside the panel's cell (pad from each edge):
 * a title centred over a plot whose left margin is wider than its right must not run off
 * the right side. */
static double centered_room(const panel_layout *pl, double x, double pad)
{
    double left = x - pl->cell.x - pad, right = pl->cell.x + pl->cell.w - pad - x;
    return 2 * fmax(0, fmin(left, right));
}

typedef struct figure_layout {
    theme th;
    double title_height;
    panel_layout *panels;
} figure_layout;

static double chart_top_margin(cairo_t *cr, const theme *th, const panel_layout *pl)
{
    double top = th->pad;
    if (pl->panel->title) {
        set_font(cr, th->title_font, true);
        top += line_height(cr) + 0.6 * th->pad;
    }
    if (pl->y.multiplier[0]) {
        set_font(cr, th->tick_font, false);
        top += line_height(cr) + 0.2 * th->pad;
    } else {
        set_font(cr, th->tick_font, false);
        top = fmax(top, 0.6 * line_height(cr)); /* half of the top tick label */
    }
    return top;
}

static double chart_bottom_margin(cairo_t *cr, const theme *th, const panel_layout *pl)
{
    set_font(cr, th->tick_font, false);
    double bottom = th->tick_len + 0.3 * th->pad + line_height(cr);
    if (pl->panel->xlabel || pl->x.multiplier[0]) {
        set_font(cr, th->font, false);
        bottom += 0.4 * th->pad + line_height(cr);
    }
    return bottom + th->pad;
}

/* Margins of a chart panel, with its ticks chosen for the room they leave. */
static nb_status layout_chart(cairo_t *cr, const theme *th, panel_layout *pl)
{
    const nb_panel *panel = pl->panel;
    double x_data[2], y_data[2];
    if (!data_extent(panel, x_data, y_data))
        return layout_fail(panel, NB_ENUMERIC, "nothing to draw on a log scale: no series has a positive y value");
    double view[2];
    nb_status status = view_range(panel, 'x', x_data[0], x_data[1], panel->xlim, false, view);
    if (status != NB_OK)
        return status;
    pl->x.lo = view[0], pl->x.hi = view[1], pl->x.log = false;
    status = view_range(panel, 'y', y_data[0], y_data[1], panel->ylim, panel->log_y, view);
    if (status != NB_OK)
        return status;
    pl->y.lo = view[0], pl->y.hi = view[1], pl->y.log = panel->log_y;

    /* Vertical margins hold lines of text only, so the y ticks can be chosen first ... */
    pl->y.multiplier[0] = '\0';
    pl->margin[BOTTOM] = chart_bottom_margin(cr, th, pl);
    double top_guess = chart_top_margin(cr, th, pl);
    set_font(cr, th->tick_font, false);
    double plot_h = pl->cell.h - top_guess - pl->margin[BOTTOM];
    choose_vertical_ticks(&pl->y, plot_h, th->font);
    pl->margin[TOP] = chart_top_margin(cr, th, pl); /* now knowing whether a ×10ⁿ is needed */

    /* ... and their widest label sets the left margin, which sets the room for x. */
    double left = th->pad + widest_label(cr, &pl->y) + th->tick_len + 0.3 * th->pad;
    if (panel->ylabel) {
        set_font(cr, th->font, false);
        left += line_height(cr) + 0.4 * th->pad;
    }
    pl->margin[LEFT] = left;
    set_font(cr, th->tick_font, false);
    double plot_w = pl->cell.w - left - 2 * th->pad;
    choose_horizontal_ticks(&pl->x, plot_w, th->font, cr);
    double last_half = pl->x.n_major ? text_width(cr, pl->x.label[pl->x.n_major - 1]) / 2 : 0;
    pl->margin[RIGHT] = fmax(1.5 * th->pad, last_half + 0.5 * th->pad);
    if (pl->x.multiplier[0]) {
        pl->margin[BOTTOM] = chart_bottom_margin(cr, th, pl);
    }
    return NB_OK;
}

static void heatmap_range(const heatmap *map, double *vmin, double *vmax)
{
    *vmin = INFINITY, *vmax = -INFINITY;
    for (int i = 0; i < map->rows * map->cols; i++)
        if (isfinite(map->values[i])) {
            *vmin = fmin(*vmin, map->values[i]);
            *vmax = fmax(*vmax, map->values[i]);
        }
    /* counts and rates (non-negative, the least near zero) are coloured from zero */
    if (*vmin >= 0 && *vmin < 0.1 * *vmax)
        *vmin = 0;
    if (*vmax - *vmin <= 1e-12 * fmax(1, fabs(*vmin))) {
        *vmin -= 0.5;
        *vmax += 0.5;
    }
}

static double widest_text(cairo_t *cr, char *const *texts, int n)
{
    double widest = 0;
    for (int i = 0; i < n; i++)
        widest = fmax(widest, text_width(cr, texts[i]));
    return widest;
}

/* A heat map keeps its cells square: the grid, its labels and the colour bar are sized
 * together and centred in the panel. */
static nb_status layout_heatmap(cairo_t *cr, const theme *th, panel_layout *pl)
{
    const nb_panel *panel = pl->panel;
    const heatmap *map = panel->heatmap;
    heatmap_layout *hl = &pl->map;
    heatmap_range(map, &hl->vmin, &hl->vmax);

    set_font(cr, th->tick_font, false);
    double tick_h = line_height(cr);
    double row_w = widest_text(cr, map->row_labels, map->rows);
    double col_w = widest_text(cr, map->col_labels, map->cols);
    hl->bar = (axis){.lo = hl->vmin, .hi = hl->vmax};
    choose_vertical_ticks(&hl->bar, 0.7 * pl->cell.h, th->font);
    double bar_label_w = widest_label(cr, &hl->bar);

    set_font(cr, th->font, false);
    double label_h = line_height(cr);
    double margin[4];
    margin[LEFT] = th->pad + (panel->ylabel ? label_h + 0.5 * th->pad : 0) + row_w + 0.5 * th->pad;
    margin[RIGHT] = 1.2 * th->font + 1.1 * th->font + th->tick_len + 0.3 * th->pad + bar_label_w +
                    (map->colorbar_label ? 0.5 * th->pad + label_h : 0) + th->pad;
    set_font(cr, th->title_font, true);
    margin[TOP] = th->pad + (panel->title ? line_height(cr) + 0.6 * th->pad : 0.3 * tick_h);
    double below = 0.5 * th->pad + (panel->xlabel ? 0.5 * th->pad + label_h : 0) + th->pad;

    double avail_w = pl->cell.w - margin[LEFT] - margin[RIGHT];
    margin[BOTTOM] = below + tick_h;
    double cell = fmin(avail_w / map->cols, (pl->cell.h - margin[TOP] - margin[BOTTOM]) / map->rows);
    hl->rotate_columns = col_w > 0.92 * cell;
    if (hl->rotate_columns) {
        margin[BOTTOM] = below + (col_w + tick_h) * M_SQRT1_2;
        cell = fmin(avail_w / map->cols, (pl->cell.h - margin[TOP] - margin[BOTTOM]) / map->rows);
        /* the first column's label leans left, under the row labels */
        double lean = col_w * M_SQRT1_2 - cell / 2 + th->pad;
        if (lean > margin[LEFT]) {
            margin[LEFT] = lean;
            cell = fmin((pl->cell.w - margin[LEFT] - margin[RIGHT]) / map->cols, cell);
        }
    }
    if (cell < 4)
        return layout_fail(panel, NB_EARG,
                          "the figure is too small for a heat map of %d x %d cells and its labels (cells of %.1f)",
                          map->rows, map->cols, cell);
    hl->cell = cell;
    double grid_w = cell * map->cols, grid_h = cell * map->rows;
    double total_w = margin[LEFT] + grid_w + margin[RIGHT], total_h = margin[TOP] + grid_h + margin[BOTTOM];
    pl->plot = (rect){pl->cell.x + (pl->cell.w - total_w) / 2 + margin[LEFT],
                      pl->cell.y + (pl->cell.h - total_h) / 2 + margin[TOP], grid_w, grid_h};
    memcpy(pl->margin, margin, sizeof margin);
    set_font(cr, th->tick_font, false);
    choose_vertical_ticks(&hl->bar, grid_h, th->font);
    return NB_OK;
}

/* Lay the whole figure out: cells, margins (aligned so that the plots of a column share
 * their left and right edges and those of a row their top and bottom), plot areas. */
static nb_status layout_figure(cairo_t *cr, const nb_figure *figure, figure_layout *fl)
{
    const theme *th = &fl->th;
    double top = 0;
    if (figure->title) {
        set_font(cr, th->figure_title_font, true);
        top = th->pad + line_height(cr);
        fl->title_height = top;
    }
    double weight_sum = 0;
    for (int r = 0; r < figure->rows; r++)
        weight_sum += figure->row_weights ? figure->row_weights[r] : 1;
    double y = top;
    for (int r = 0; r < figure->rows; r++) {
        double h = (figure->height - top) * (figure->row_weights ? figure->row_weights[r] : 1) / weight_sum;
        for (int c = 0; c < figure->cols; c++) {
            panel_layout *pl = &fl->panels[r * figure->cols + c];
            pl->panel = &figure->panels[r * figure->cols + c];
            pl->cell = (rect){figure->width * c / figure->cols, y, figure->width / figure->cols, h};
            pl->kind = pl->panel->heatmap ? PANEL_HEATMAP : pl->panel->n_series ? PANEL_CHART : PANEL_BLANK;
            nb_status status = NB_OK;
            if (pl->kind == PANEL_CHART)
                status = layout_chart(cr, th, pl);
            else if (pl->kind == PANEL_HEATMAP)
                status = layout_heatmap(cr, th, pl);
            if (status != NB_OK)
                return status;
        }
        y += h;
    }

    for (int i = 0; i < figure->rows * figure->cols; i++) {
        panel_layout *pl = &fl->panels[i];
        if (pl->kind != PANEL_CHART)
            continue;
        int r = i / figure->cols, c = i % figure->cols;
        double m[4];
        memcpy(m, pl->margin, sizeof m);
        for (int k = 0; k < figure->rows * figure->cols; k++) {
            const panel_layout *other = &fl->panels[k];
            if (other->kind != PANEL_CHART)
                continue;
            if (k % figure->cols == c) {
                m[LEFT] = fmax(m[LEFT], other->margin[LEFT]);
                m[RIGHT] = fmax(m[RIGHT], other->margin[RIGHT]);
            }
            if (k / figure->cols == r) {
                m[TOP] = fmax(m[TOP], other->margin[TOP]);
                m[BOTTOM] = fmax(m[BOTTOM], other->margin[BOTTOM]);
            }
        }
        pl->plot = (rect){pl->cell.x + m[LEFT], pl->cell.y + m[TOP], pl->cell.w - m[LEFT] - m[RIGHT],
                          pl->cell.h - m[TOP] - m[BOTTOM]};
        if (pl->plot.w < 3 * th->font || pl->plot.h < 2 * th->font)
            return layout_fail(pl->panel, NB_EARG,
                              "a figure of %g x %g is too small for this panel's labels (its plot area would be "
                              "%.0f x %.0f); make the figure larger",
                              figure->width, figure->height, pl->plot.w, pl->plot.h);
        /* the final plot area may be a little smaller than the one the ticks were
         * chosen for: choose again so that x labels never touch */
        set_font(cr, th->tick_font, false);
        choose_horizontal_ticks(&pl->x, pl->plot.w, th->font, cr);
    }
    return NB_OK;
}

/* ==== drawing charts =================================================================== */

typedef struct point {
    double x, y;
} point;

static point to_device(const panel_layout *pl, double x, double y)
{
    return (point){pl->plot.x + axis_frac(&pl->x, x) * pl->plot.w,
                   pl->plot.y + (1 - axis_frac(&pl->y, y)) * pl->plot.h};
}

/* Hairlines fall on pixel centres, so that they stay crisp in a PNG. */
static double crisp(double v, double width)
{
    double w = round(width);
    return (((int)w) % 2) ? floor(v) + 0.5 : round(v);
}

/* Clip segment a-b to the rectangle (Liang–Barsky); false when it misses it. */
static bool clip_segment(rect box, point *a, point *b)
{
    double t0 = 0, t1 = 1, dx = b->x - a->x, dy = b->y - a->y;
    double p[4] = {-dx, dx, -dy, dy};
    double q[4] = {a->x - box.x, box.x + box.w - a->x, a->y - box.y, box.y + box.h - a->y};
    for (int i = 0; i < 4; i++) {
        if (p[i] == 0) {
            if (q[i] < 0)
                return false;
            continue;
        }
        double t = q[i] / p[i];
        if (p[i] < 0)
            t0 = fmax(t0, t);
        else
            t1 = fmin(t1, t);
        if (t0 > t1)
            return false;
    }
    point start = {a->x + t0 * dx, a->y + t0 * dy}, end = {a->x + t1 * dx, a->y + t1 * dy};
    *a = start;
    *b = end;
    return true;
}

static bool usable_point(const nb_panel *panel, const series *s, size_t i)
{
    return usable_y(panel, s->y[i]) && (!s->x || isfinite(s->x[i]));
}

static double series_width(const theme *th, const series *s)
{
    if (s->style.width > 0)
        return s->style.width;
    return s->kind == SERIES_SCATTER ? th->marker : s->kind == SERIES_HLINE ? 0.7 * th->line_width : th->line_width;
}

static void apply_line_style(cairo_t *cr, const theme *th, const series *s)
{
    double width = series_width(th, s);
    cairo_set_line_width(cr, width);
    cairo_set_line_join(cr, CAIRO_LINE_JOIN_ROUND);
    cairo_set_line_cap(cr, s->style.dashed ? CAIRO_LINE_CAP_BUTT : CAIRO_LINE_CAP_ROUND);
    if (s->style.dashed) {
        double dashes[2] = {fmax(4 * width, 0.5 * th->font), fmax(2.5 * width, 0.3 * th->font)};
        cairo_set_dash(cr, dashes, 2, 0);
    } else {
        cairo_set_dash(cr, NULL, 0, 0);
    }
    set_color(cr, s->color, s->style.alpha > 0 ? s->style.alpha : 1);
}

/* A line through the usable points, broken at the others; segments are clipped in
 * double precision to a box around the plot (cairo's fixed point would wrap far away). */
static void draw_line_series(cairo_t *cr, const theme *th, const panel_layout *pl, const series *s)
{
    rect box = {pl->plot.x - pl->plot.w, pl->plot.y - pl->plot.h, 3 * pl->plot.w, 3 * pl->plot.h};
    cairo_new_path(cr);
    if (s->kind == SERIES_HLINE) {
        if (!usable_y(pl->panel, s->y[0]))
            return;
        point p = to_device(pl, pl->x.lo, s->y[0]);
        cairo_move_to(cr, pl->plot.x, p.y);
        cairo_line_to(cr, pl->plot.x + pl->plot.w, p.y);
    } else {
        bool have_previous = false, pen_at_previous = false;
        point previous = {0, 0};
        for (size_t i = 0; i < s->n; i++) {
            if (!usable_point(pl->panel, s, i)) {
                have_previous = false;
                continue;
            }
            point current = to_device(pl, s->x[i], s->y[i]);
            if (have_previous) {
                point a = previous, b = current;
                if (clip_segment(box, &a, &b)) {
                    if (!pen_at_previous || a.x != previous.x || a.y != previous.y)
                        cairo_move_to(cr, a.x, a.y);
                    cairo_line_to(cr, b.x, b.y);
                    pen_at_previous = b.x == current.x && b.y == current.y;
                } else {
                    pen_at_previous = false;
                }
            } else {
                pen_at_previous = false;
            }
            previous = current;
            have_previous = true;
        }
    }
    apply_line_style(cr, th, s);
    cairo_stroke(cr);
}

static void draw_marker(cairo_t *cr, double x, double y, double diameter)
{
    cairo_new_sub_path(cr);
    cairo_arc(cr, x, y, diameter / 2, 0, 2 * M_PI);
}

static void draw_scatter_series(cairo_t *cr, const theme *th, const panel_layout *pl, const series *s)
{
    double diameter = series_width(th, s);
    rect box = {pl->plot.x - diameter, pl->plot.y - diameter, pl->plot.w + 2 * diameter,
                pl->plot.h + 2 * diameter};
    set_color(cr, s->color, s->style.alpha > 0 ? s->style.alpha : 1);
    /* one fill per marker: overlapping translucent markers then darken, as they should */
    for (size_t i = 0; i < s->n; i++) {
        if (!usable_point(pl->panel, s, i))
            continue;
        point p = to_device(pl, s->x[i], s->y[i]);
        if (p.x < box.x || p.x > box.x + box.w || p.y < box.y || p.y > box.y + box.h)
            continue;
        cairo_new_path(cr);
        draw_marker(cr, p.x, p.y, diameter);
        cairo_fill(cr);
    }
}

static void draw_grid(cairo_t *cr, const theme *th, const panel_layout *pl)
{
    cairo_set_line_width(cr, th->hairline);
    cairo_set_dash(cr, NULL, 0, 0);
    cairo_set_source_rgb(cr, 0.95, 0.95, 0.95);
    for (int i = 0; i < pl->y.n_minor; i++) {
        double y = crisp(to_device(pl, pl->x.lo, pl->y.minor[i]).y, th->hairline);
        cairo_move_to(cr, pl->plot.x, y);
        cairo_line_to(cr, pl->plot.x + pl->plot.w, y);
    }
    cairo_stroke(cr);
    cairo_set_source_rgb(cr, 0.88, 0.88, 0.88);
    for (int i = 0; i < pl->y.n_major; i++) {
        double y = crisp(to_device(pl, pl->x.lo, pl->y.major[i]).y, th->hairline);
        cairo_move_to(cr, pl->plot.x, y);
        cairo_line_to(cr, pl->plot.x + pl->plot.w, y);
    }
    for (int i = 0; i < pl->x.n_major; i++) {
        double x = crisp(to_device(pl, pl->x.major[i], pl->y.lo).x, th->hairline);
        cairo_move_to(cr, x, pl->plot.y);
        cairo_line_to(cr, x, pl->plot.y + pl->plot.h);
    }
    cairo_stroke(cr);
}

static void draw_axes(cairo_t *cr, const theme *th, const panel_layout *pl)
{
    const nb_panel *panel = pl->panel;
    const rect *plot = &pl->plot;
    cairo_set_source_rgb(cr, 0.25, 0.25, 0.25);
    cairo_set_line_width(cr, th->hairline);
    cairo_set_dash(cr, NULL, 0, 0);
    double x0 = crisp(plot->x, th->hairline), y0 = crisp(plot->y, th->hairline);
    double x1 = crisp(plot->x + plot->w, th->hairline), y1 = crisp(plot->y + plot->h, th->hairline);
    cairo_rectangle(cr, x0, y0, x1 - x0, y1 - y0);
    cairo_stroke(cr);

    /* ticks and their labels */
    set_font(cr, th->tick_font, false);
    double tick_h = line_height(cr);
    for (int i = 0; i < pl->x.n_major; i++) {
        double x = crisp(to_device(pl, pl->x.major[i], pl->y.lo).x, th->hairline);
        cairo_move_to(cr, x, y1);
        cairo_line_to(cr, x, y1 + th->tick_len);
        draw_text(cr, pl->x.label[i], x, y1 + th->tick_len + 0.3 * th->pad, 0.5, 0, 0);
    }
    for (int i = 0; i < pl->y.n_major; i++) {
        double y = crisp(to_device(pl, pl->x.lo, pl->y.major[i]).y, th->hairline);
        cairo_move_to(cr, x0, y);
        cairo_line_to(cr, x0 - th->tick_len, y);
        draw_text(cr, pl->y.label[i], x0 - th->tick_len - 0.3 * th->pad, y, 1, 0.5, 0);
    }
    for (int i = 0; i < pl->y.n_minor; i++) {
        double y = crisp(to_device(pl, pl->x.lo, pl->y.minor[i]).y, th->hairline);
        cairo_move_to(cr, x0, y);
        cairo_line_to(cr, x0 - 0.55 * th->tick_len, y);
    }
    cairo_stroke(cr);
    if (pl->y.multiplier[0])
        draw_text(cr, pl->y.multiplier, x0, y0 - 0.2 * th->pad, 0, 1, 0);

    /* axis labels and title */
    double below_ticks = y1 + th->tick_len + 0.3 * th->pad + tick_h + 0.4 * th->pad;
    if (pl->x.multiplier[0])
        draw_text(cr, pl->x.multiplier, x1, below_ticks, 1, 0, 0);
    set_font(cr, th->font, false);
    cairo_set_source_rgb(cr, 0.1, 0.1, 0.1);
    if (panel->xlabel)
        draw_text_fit(cr, panel->xlabel, plot->x + plot->w / 2, below_ticks, 0.5, 0, 0, plot->w);
    if (panel->ylabel)
        draw_text_fit(cr, panel->ylabel, pl->cell.x + th->pad, plot->y + plot->h / 2, 0.5, 0, M_PI / 2, plot->h);
    if (panel->title) {
        set_font(cr, th->title_font, true);
        double above = pl->y.multiplier[0] ? tick_h + 0.2 * th->pad : 0;
        draw_text_fit(cr, panel->title, plot->x + plot->w / 2, y0 - above - 0.6 * th->pad, 0.5, 1, 0,
                      centered_room(pl, plot->x + plot->w / 2, th->pad));
    }
}

/* ---- legend ---- */

typedef struct legend_box {
    double w, h, row_h, sample_w, inset;
    int n;
} legend_box;

static legend_box measure_legend(cairo_t *cr, const theme *th, const nb_panel *panel)
{
    legend_box box = {0};
    set_font(cr, th->tick_font, false);
    double widest = 0;
    for (size_t s = 0; s < panel->n_series; s++)
        if (panel->series[s].label) {
            widest = fmax(widest, text_width(cr, panel->series[s].label));
            box.n++;
        }
    box.row_h = 1.45 * th->tick_font;
    box.sample_w = 2.0 * th->font;
    box.inset = 0.5 * th->pad;
    box.w = 2 * box.inset + box.sample_w + 0.6 * th->pad + widest;
    box.h = 2 * box.inset + box.n * box.row_h;
    return box;
}

/* How much of the data a legend at `where` would hide: segments and markers inside. */
static int legend_overlap(const theme *th, const panel_layout *pl, rect where)
{
    int covered = 0;
    for (size_t k = 0; k < pl->panel->n_series; k++) {
        const series *s = &pl->panel->series[k];
        if (s->kind == SERIES_HLINE) {
            point a = {pl->plot.x, to_device(pl, pl->x.lo, s->y[0]).y}, b = {pl->plot.x + pl->plot.w, a.y};
            covered += usable_y(pl->panel, s->y[0]) && clip_segment(where, &a, &b) ? 4 : 0;
            continue;
        }
        double r = s->kind == SERIES_SCATTER ? series_width(th, s) / 2 : 0;
        rect grown = {where.x - r, where.y - r, where.w + 2 * r, where.h + 2 * r};
        bool have_previous = false;
        point previous = {0, 0};
        for (size_t i = 0; i < s->n; i++) {
            if (!usable_point(pl->panel, s, i)) {
                have_previous = false;
                continue;
            }
            point p = to_device(pl, s->x[i], s->y[i]);
            if (s->kind == SERIES_SCATTER) {
                covered += p.x >= grown.x && p.x <= grown.x + grown.w && p.y >= grown.y && p.y <= grown.y + grown.h;
            } else if (have_previous) {
                point a = previous, b = p;
                covered += clip_segment(where, &a, &b);
            }
            previous = p;
            have_previous = true;
        }
    }
    return covered;
}

static rect legend_place(const panel_layout *pl, const legend_box *box, int where)
{
    const rect *plot = &pl->plot;
    double left = plot->x + box->inset * 2, right = plot->x + plot->w - box->w - box->inset * 2;
    double top = plot->y + box->inset * 2, bottom = plot->y + plot->h - box->h - box->inset * 2;
    double centre_x = plot->x + (plot->w - box->w) / 2, middle_y = plot->y + (plot->h - box->h) / 2;
    /* in order of preference, as the eye expects a legend */
    static const double places[8][2] = {{1, 0}, {0, 0}, {0, 1}, {1, 1}, {0.5, 0}, {0.5, 1}, {1, 0.5}, {0, 0.5}};
    double fx = places[where][0], fy = places[where][1];
    double x = fx == 0 ? left : fx == 1 ? right : centre_x;
    double y = fy == 0 ? top : fy == 1 ? bottom : middle_y;
    /* a legend wider or taller than the plot starts at its top left corner */
    return (rect){fmax(x, left), fmax(y, top), box->w, box->h};
}

static void draw_legend(cairo_t *cr, const theme *th, const panel_layout *pl)
{
    const nb_panel *panel = pl->panel;
    if (panel->legend == NB_LEGEND_NONE)
        return;
    legend_box box = measure_legend(cr, th, panel);
    if (box.n == 0)
        return;
    rect where;
    if (panel->legend == NB_LEGEND_AUTO) {
        int best = 0, best_overlap = -1;
        for (int k = 0; k < 8; k++) {
            int overlap = legend_overlap(th, pl, legend_place(pl, &box, k));
            if (best_overlap < 0 || overlap < best_overlap)
                best = k, best_overlap = overlap;
        }
        where = legend_place(pl, &box, best);
    } else {
        where = legend_place(pl, &box, panel->legend - NB_LEGEND_UPPER_RIGHT);
    }

    double radius = 0.25 * th->font;
    cairo_new_path(cr);
    cairo_arc(cr, where.x + where.w - radius, where.y + radius, radius, -M_PI / 2, 0);
    cairo_arc(cr, where.x + where.w - radius, where.y + where.h - radius, radius, 0, M_PI / 2);
    cairo_arc(cr, where.x + radius, where.y + where.h - radius, radius, M_PI / 2, M_PI);
    cairo_arc(cr, where.x + radius, where.y + radius, radius, M_PI, 1.5 * M_PI);
    cairo_close_path(cr);
    cairo_set_source_rgba(cr, 1, 1, 1, 0.9);
    cairo_fill_preserve(cr);
    cairo_set_source_rgb(cr, 0.8, 0.8, 0.8);
    cairo_set_line_width(cr, th->hairline);
    cairo_set_dash(cr, NULL, 0, 0);
    cairo_stroke(cr);

    int row = 0;
    for (size_t k = 0; k < panel->n_series; k++) {
        const series *s = &panel->series[k];
        if (!s->label)
            continue;
        double y = where.y + box.inset + (row + 0.5) * box.row_h;
        double x = where.x + box.inset;
        if (s->kind == SERIES_SCATTER) {
            set_color(cr, s->color, s->style.alpha > 0 ? s->style.alpha : 1);
            cairo_new_path(cr);
            draw_marker(cr, x + box.sample_w / 2, y, fmin(series_width(th, s), box.row_h * 0.8));
            cairo_fill(cr);
        } else {
            apply_line_style(cr, th, s);
            cairo_set_line_width(cr, fmin(series_width(th, s), box.row_h * 0.5));
            cairo_new_path(cr);
            cairo_move_to(cr, x, y);
            cairo_line_to(cr, x + box.sample_w, y);
            cairo_stroke(cr);
        }
        set_font(cr, th->tick_font, false);
        cairo_set_source_rgb(cr, 0.1, 0.1, 0.1);
        draw_text(cr, s->label, x + box.sample_w + 0.6 * th->pad, y, 0, 0.5, 0);
        row++;
    }
}

static void draw_chart(cairo_t *cr, const theme *th, const panel_layout *pl)
{
    draw_grid(cr, th, pl);
    cairo_save(cr);
    cairo_rectangle(cr, pl->plot.x, pl->plot.y, pl->plot.w, pl->plot.h);
    cairo_clip(cr);
    for (size_t k = 0; k < pl->panel->n_series; k++) {
        const series *s = &pl->panel->series[k];
        if (s->kind == SERIES_SCATTER)
            draw_scatter_series(cr, th, pl, s);
        else
            draw_line_series(cr, th, pl, s);
    }
    cairo_restore(cr);
    draw_axes(cr, th, pl);
    draw_legend(cr, th, pl);
}

/* ==== drawing heat maps ================================================================ */

static bool all_integers(const heatmap *map)
{
    for (int i = 0; i < map->rows * map->cols; i++) {
        double v = map->values[i];
        if (isfinite(v) && (v != floor(v) || fabs(v) >= 1e15))
            return false;
    }
    return true;
}

static void cell_text(double v, bool integers, char *out, size_t size)
{
    if (!isfinite(v))
        snprintf(out, size, "%s", isnan(v) ? "NaN" : v > 0 ? "\xE2\x88\x9E" : "-\xE2\x88\x9E");
    else if (integers)
        snprintf(out, size, "%.0f", v);
    else
        snprintf(out, size, "%.3g", v);
    typographic_minus(out, size);
}

/* Cell edges on whole units, so that neighbouring cells meet without a seam. */
static double grid_edge(double origin, double cell, int k) { return round(origin + cell * k); }

static void draw_heatmap_cells(cairo_t *cr, const theme *th, const panel_layout *pl)
{
    const heatmap *map = pl->panel->heatmap;
    const heatmap_layout *hl = &pl->map;
    for (int i = 0; i < map->rows; i++)
        for (int j = 0; j < map->cols; j++) {
            double v = map->values[i * map->cols + j];
            double x0 = grid_edge(pl->plot.x, hl->cell, j), x1 = grid_edge(pl->plot.x, hl->cell, j + 1);
            double y0 = grid_edge(pl->plot.y, hl->cell, i), y1 = grid_edge(pl->plot.y, hl->cell, i + 1);
            if (isfinite(v))
                set_color(cr, nb_viridis((v - hl->vmin) / (hl->vmax - hl->vmin)), 1);
            else
                cairo_set_source_rgb(cr, 0.82, 0.82, 0.82);
            cairo_rectangle(cr, x0, y0, x1 - x0, y1 - y0);
            cairo_fill(cr);
        }
    if (!map->annotate)
        return;

    bool integers = all_integers(map);
    char text[48];
    double size = fmin(th->font, 0.4 * hl->cell), widest = 0;
    set_font(cr, size, false);
    for (int i = 0; i < map->rows * map->cols; i++) {
        cell_text(map->values[i], integers, text, sizeof text);
        widest = fmax(widest, text_width(cr, text));
    }
    if (widest > 0.86 * hl->cell)
        size *= 0.86 * hl->cell / widest;
    if (size < 5) /* too small to read: the colours alone must speak */
        return;
    set_font(cr, size, false);
    for (int i = 0; i < map->rows; i++)
        for (int j = 0; j < map->cols; j++) {
            double v = map->values[i * map->cols + j];
            rgb fill = isfinite(v) ? rgb_of(nb_viridis((v - hl->vmin) / (hl->vmax - hl->vmin))) : (rgb){0.82, 0.82, 0.82};
            double ink = luminance(fill) > 0.45 ? 0.0 : 1.0;
            cairo_set_source_rgb(cr, ink, ink, ink);
            cell_text(v, integers, text, sizeof text);
            draw_text(cr, text, pl->plot.x + (j + 0.5) * hl->cell, pl->plot.y + (i + 0.5) * hl->cell, 0.5, 0.5, 0);
        }
}

static void draw_colorbar(cairo_t *cr, const theme *th, const panel_layout *pl)
{
    const heatmap_layout *hl = &pl->map;
    const heatmap *map = pl->panel->heatmap;
    rect bar = {round(pl->plot.x + pl->plot.w + 1.2 * th->font), pl->plot.y, round(1.1 * th->font), pl->plot.h};
    cairo_pattern_t *gradient = cairo_pattern_create_linear(0, bar.y + bar.h, 0, bar.y);
    for (int k = 0; k < N_VIRIDIS; k++) {
        rgb c = rgb_of(viridis_stops[k]);
        cairo_pattern_add_color_stop_rgb(gradient, (double)k / (N_VIRIDIS - 1), c.r, c.g, c.b);
    }
    cairo_rectangle(cr, bar.x, bar.y, bar.w, bar.h);
    cairo_set_source(cr, gradient);
    cairo_fill(cr);
    cairo_pattern_destroy(gradient);

    cairo_set_source_rgb(cr, 0.25, 0.25, 0.25);
    cairo_set_line_width(cr, th->hairline);
    double x1 = crisp(bar.x + bar.w, th->hairline);
    cairo_rectangle(cr, crisp(bar.x, th->hairline), crisp(bar.y, th->hairline), x1 - crisp(bar.x, th->hairline),
                    crisp(bar.y + bar.h, th->hairline) - crisp(bar.y, th->hairline));
    set_font(cr, th->tick_font, false);
    for (int i = 0; i < hl->bar.n_major; i++) {
        double y = crisp(bar.y + (1 - axis_frac(&hl->bar, hl->bar.major[i])) * bar.h, th->hairline);
        cairo_move_to(cr, x1, y);
        cairo_line_to(cr, x1 + th->tick_len, y);
        draw_text(cr, hl->bar.label[i], x1 + th->tick_len + 0.3 * th->pad, y, 0, 0.5, 0);
    }
    cairo_stroke(cr);
    if (hl->bar.multiplier[0])
        draw_text(cr, hl->bar.multiplier, bar.x, bar.y - 0.2 * th->pad, 0, 1, 0);
    if (map->colorbar_label) {
        double x = x1 + th->tick_len + 0.3 * th->pad + widest_label(cr, &hl->bar) + 0.5 * th->pad;
        set_font(cr, th->font, false);
        draw_text_fit(cr, map->colorbar_label, x, bar.y + bar.h / 2, 0.5, 1, -M_PI / 2, bar.h);
    }
}

static void draw_heatmap(cairo_t *cr, const theme *th, const panel_layout *pl)
{
    const nb_panel *panel = pl->panel;
    const heatmap *map = panel->heatmap;
    const heatmap_layout *hl = &pl->map;
    const rect *grid = &pl->plot;
    draw_heatmap_cells(cr, th, pl);
    cairo_set_source_rgb(cr, 0.25, 0.25, 0.25);
    cairo_set_line_width(cr, th->hairline);
    double x0 = crisp(grid_edge(grid->x, hl->cell, 0), th->hairline);
    double y0 = crisp(grid_edge(grid->y, hl->cell, 0), th->hairline);
    double x1 = crisp(grid_edge(grid->x, hl->cell, map->cols), th->hairline);
    double y1 = crisp(grid_edge(grid->y, hl->cell, map->rows), th->hairline);
    cairo_rectangle(cr, x0, y0, x1 - x0, y1 - y0);
    cairo_stroke(cr);

    set_font(cr, th->tick_font, false);
    cairo_set_source_rgb(cr, 0.1, 0.1, 0.1);
    double tick_h = line_height(cr);
    for (int i = 0; i < map->rows; i++)
        draw_text(cr, map->row_labels[i], grid->x - 0.5 * th->pad, grid->y + (i + 0.5) * hl->cell, 1, 0.5, 0);
    double label_top = grid->y + grid->h + 0.5 * th->pad;
    double col_w = widest_text(cr, map->col_labels, map->cols);
    for (int j = 0; j < map->cols; j++) {
        double x = grid->x + (j + 0.5) * hl->cell;
        if (hl->rotate_columns) /* the label ends just under its column, leaning left */
            draw_text(cr, map->col_labels[j], x + 0.3 * tick_h, label_top, 1, 0.5, M_PI / 4);
        else
            draw_text(cr, map->col_labels[j], x, label_top, 0.5, 0, 0);
    }
    double below = label_top + (hl->rotate_columns ? (col_w + tick_h) * M_SQRT1_2 : tick_h) + 0.5 * th->pad;

    set_font(cr, th->font, false);
    if (panel->xlabel)
        draw_text_fit(cr, panel->xlabel, grid->x + grid->w / 2, below, 0.5, 0, 0,
                      centered_room(pl, grid->x + grid->w / 2, th->pad));
    if (panel->ylabel) {
        set_font(cr, th->tick_font, false);
        double row_w = widest_text(cr, map->row_labels, map->rows);
        set_font(cr, th->font, false);
        draw_text_fit(cr, panel->ylabel, grid->x - 0.5 * th->pad - row_w - 0.5 * th->pad, grid->y + grid->h / 2,
                      0.5, 1, M_PI / 2, pl->cell.h - 2 * th->pad);
    }
    if (panel->title) {
        set_font(cr, th->title_font, true);
        draw_text_fit(cr, panel->title, grid->x + grid->w / 2, grid->y - 0.6 * th->pad, 0.5, 1, 0,
                      centered_room(pl, grid->x + grid->w / 2, th->pad));
    }
    draw_colorbar(cr, th, pl);
}

static void draw_figure(cairo_t *cr, const nb_figure *figure, const figure_layout *fl)
{
    cairo_set_source_rgb(cr, 1, 1, 1);
    cairo_paint(cr);
    if (figure->title) {
        set_font(cr, fl->th.figure_title_font, true);
        cairo_set_source_rgb(cr, 0.1, 0.1, 0.1);
        draw_text_fit(cr, figure->title, figure->width / 2, fl->th.pad, 0.5, 0, 0, figure->width - 2 * fl->th.pad);
    }
    for (int i = 0; i < figure->rows * figure->cols; i++) {
        const panel_layout *pl = &fl->panels[i];
        if (pl->kind == PANEL_CHART)
            draw_chart(cr, &fl->th, pl);
        else if (pl->kind == PANEL_HEATMAP)
            draw_heatmap(cr, &fl->th, pl);
    }
}

/* ==== output =========================================================================== */

typedef enum image_format { FORMAT_PNG, FORMAT_SVG, FORMAT_PDF } image_format;

static nb_status format_of(const char *path, image_format *format)
{
    const char *slash = strrchr(path, '/');
    const char *dot = strrchr(slash ? slash + 1 : path, '.');
    if (dot && strcasecmp(dot, ".png") == 0)
        *format = FORMAT_PNG;
    else if (dot && strcasecmp(dot, ".svg") == 0)
        *format = FORMAT_SVG;
    else if (dot && strcasecmp(dot, ".pdf") == 0)
        *format = FORMAT_PDF;
    else
        return nb_fail(NB_EARG, "cannot tell the image format of \"%s\" from its extension: use .png, .svg or .pdf",
                       path);
    return NB_OK;
}

/* Same text metrics on every surface (no hinting), so that a layout measured on one
 * context fits on another, and output does not depend on the backend's defaults. */
static void set_font_options(cairo_t *cr)
{
    cairo_font_options_t *options = cairo_font_options_create();
    cairo_font_options_set_hint_metrics(options, CAIRO_HINT_METRICS_OFF);
    cairo_font_options_set_hint_style(options, CAIRO_HINT_STYLE_NONE);
    cairo_font_options_set_antialias(options, CAIRO_ANTIALIAS_GRAY);
    cairo_set_font_options(cr, options);
    cairo_font_options_destroy(options);
}

static cairo_status_t write_to_temp(void *closure, const unsigned char *data, unsigned int length)
{
    nb_atomic_file *temp = closure;
    if (fwrite(data, 1, length, temp->file) != length) {
        if (!temp->write_errno)
            temp->write_errno = errno ? errno : EIO;
        return CAIRO_STATUS_WRITE_ERROR;
    }
    return CAIRO_STATUS_SUCCESS;
}

/* SVG output is gathered in memory first: cairo names the page group after a
 * process-wide surface counter ("surface37"), which the file must not depend on. */
typedef struct svg_buffer {
    char *data;
    size_t size, capacity;
    bool failed;
} svg_buffer;

static cairo_status_t write_to_buffer(void *closure, const unsigned char *data, unsigned int length)
{
    svg_buffer *buffer = closure;
    if (buffer->size + length > buffer->capacity) {
        size_t capacity = buffer->capacity ? buffer->capacity : 65536;
        while (capacity < buffer->size + length)
            capacity *= 2;
        char *grown = nb_realloc(buffer->data, capacity);
        if (!grown) {
            buffer->failed = true;
            return CAIRO_STATUS_NO_MEMORY;
        }
        buffer->data = grown;
        buffer->capacity = capacity;
    }
    memcpy(buffer->data + buffer->size, data, length);
    buffer->size += length;
    return CAIRO_STATUS_SUCCESS;
}

/* Write the SVG with every "surfaceN" renumbered 1, 2, ... in order of appearance. */
static nb_status write_svg(const svg_buffer *buffer, nb_atomic_file *temp, const char *path)
{
    enum { MAX_IDS = 64 };
    unsigned long seen[MAX_IDS];
    int n_seen = 0;
    static const char word[] = "surface";
    const size_t word_len = sizeof word - 1;
    size_t start = 0, i = 0;
    while (i + word_len < buffer->size) {
        if (memcmp(buffer->data + i, word, word_len) != 0 || buffer->data[i + word_len] < '0' ||
            buffer->data[i + word_len] > '9') {
            i++;
            continue;
        }
        size_t digits = i + word_len, end = digits;
        unsigned long id = 0;
        while (end < buffer->size && buffer->data[end] >= '0' && buffer->data[end] <= '9' && end - digits < 9)
            id = 10 * id + (unsigned long)(buffer->data[end++] - '0');
        int k = 0;
        while (k < n_seen && seen[k] != id)
            k++;
        if (k == n_seen && n_seen < MAX_IDS)
            seen[n_seen++] = id;
        char renamed[32];
        int len = snprintf(renamed, sizeof renamed, "surface%d", k + 1);
        if (write_to_temp(temp, (const unsigned char *)buffer->data + start, (unsigned)(i - start)) ||
            write_to_temp(temp, (const unsigned char *)renamed, (unsigned)len))
            return nb_fail(NB_EIO, "cannot write \"%s\": %s", path, strerror(temp->write_errno));
        start = i = end;
    }
    if (write_to_temp(temp, (const unsigned char *)buffer->data + start, (unsigned)(buffer->size - start)))
        return nb_fail(NB_EIO, "cannot write \"%s\": %s", path, strerror(temp->write_errno));
    return NB_OK;
}

static cairo_surface_t *create_surface(image_format format, const nb_figure *figure, nb_atomic_file *temp,
                                       svg_buffer *svg)
{
    switch (format) {
    case FORMAT_PNG:
        return cairo_image_surface_create(CAIRO_FORMAT_RGB24, (int)lround(figure->width),
                                          (int)lround(figure->height));
    case FORMAT_SVG:
        return cairo_svg_surface_create_for_stream(write_to_buffer, svg, figure->width, figure->height);
    case FORMAT_PDF: {
        cairo_surface_t *surface =
            cairo_pdf_surface_create_for_stream(write_to_temp, temp, figure->width, figure->height);
        /* no creation date: the same figure gives the same bytes */
        cairo_pdf_surface_set_metadata(surface, CAIRO_PDF_METADATA_CREATE_DATE, "");
        cairo_pdf_surface_set_metadata(surface, CAIRO_PDF_METADATA_CREATOR, "nabla");
        return surface;
    }
    }
    return NULL;
}

/* Draw into the temporary file; the surface is finished (all bytes written) on return. */
static nb_status render(image_format format, const nb_figure *figure, const figure_layout *fl, nb_atomic_file *temp,
                        const char *path)
{
    svg_buffer svg = {0};
    cairo_surface_t *surface = create_surface(format, figure, temp, &svg);
    cairo_t *cr = cairo_create(surface);
    set_font_options(cr);
    draw_figure(cr, figure, fl);
    cairo_status_t status = cairo_status(cr);
    cairo_destroy(cr);
    if (status == CAIRO_STATUS_SUCCESS && format == FORMAT_PNG)
        status = cairo_surface_write_to_png_stream(surface, write_to_temp, temp);
    cairo_surface_finish(surface);
    if (status == CAIRO_STATUS_SUCCESS)
        status = cairo_surface_status(surface);
    cairo_surface_destroy(surface);
    if (status == CAIRO_STATUS_SUCCESS) {
        nb_status written = format == FORMAT_SVG ? write_svg(&svg, temp, path) : NB_OK;
        nb_free(svg.data);
        return written;
    }
    nb_free(svg.data);
    if (status == CAIRO_STATUS_WRITE_ERROR)
        return nb_fail(NB_EIO, "cannot write \"%s\": %s", path, strerror(temp->write_errno ? temp->write_errno : EIO));
    if (status == CAIRO_STATUS_NO_MEMORY)
        return nb_fail(NB_ENOMEM, "out of memory drawing \"%s\"", path);
    return nb_fail(NB_EIO, "drawing \"%s\" failed: %s", path, cairo_status_to_string(status));
}

nb_status nb_figure_save(const nb_figure *figure, const char *path)
{
    if (!figure)
        return nb_fail(NB_EARG, "nb_figure_save: figure is NULL");
    if (!path || !*path)
        return nb_fail(NB_EARG, "nb_figure_save: no file name");
    if (figure->first_error != NB_OK)
        return nb_fail(figure->first_error, "%s", figure->first_message);
    image_format format = FORMAT_PNG;
    nb_status status = format_of(path, &format);
    if (status != NB_OK)
        return status;

    figure_layout fl = {.th = make_theme(figure->width, figure->height)};
    fl.panels = nb_calloc((size_t)figure->rows * (size_t)figure->cols, sizeof *fl.panels);
    if (!fl.panels)
        return nb_fail(NB_ENOMEM, "out of memory laying out \"%s\"", path);
    /* lay out on a scratch surface: any error is known before the file is touched */
    cairo_surface_t *scratch = cairo_image_surface_create(CAIRO_FORMAT_RGB24, 1, 1);
    cairo_t *measure = cairo_create(scratch);
    set_font_options(measure);
    status = layout_figure(measure, figure, &fl);
    cairo_destroy(measure);
    cairo_surface_destroy(scratch);
    if (status != NB_OK) {
        nb_error_prefix("drawing \"%s\"", path);
    } else {
        nb_atomic_file temp;
        status = nb_atomic_open(&temp, path);
        if (status == NB_OK)
            status = render(format, figure, &fl, &temp, path);
        if (status == NB_OK)
            status = nb_atomic_commit(&temp);
        else if (temp.file)
            nb_atomic_discard(&temp);
    }
    nb_free(fl.panels);
    return status;
}
