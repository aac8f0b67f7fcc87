/* Private to the plot layer (and its tests): the figure's description, the layout's
 * geometry and the functions the layer's files share.
 *
 * A figure is only a description until nb_figure_save(): saving lays it out on a
 * measuring context (so every error is known before a file is touched), then draws it
 * on the real surface, which writes into a temporary file renamed over the target.
 *
 *   figure.c  the figure and panel API: what the caller describes, checked and copied
 *   text.c    sizes that scale with the figure; measuring and drawing text
 *   axes.c    data ranges, tick choice and tick labels (1-2-5 steps, ×10ⁿ, log decades)
 *   layout.c  margins and plot areas of charts and heat maps, aligned across the grid
 *   draw.c    colours; drawing series, grids, axes, legends, heat maps, colour bars
 *   output.c  PNG, SVG or PDF written atomically
 *   animation.c  figures as the frames of an animated GIF (giflib), written atomically */
#ifndef NABLA_PLOT_INTERNAL_H
#define NABLA_PLOT_INTERNAL_H

#include "core/core.h"
#include "nabla/plot.h"

#include <cairo.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define NB_PLOT_MAX_TICKS 48
#define NB_PLOT_LABEL_SIZE 48

typedef struct nb_plot_ticks {
    int n;
    double value[NB_PLOT_MAX_TICKS];
    char label[NB_PLOT_MAX_TICKS][NB_PLOT_LABEL_SIZE];
    char multiplier[NB_PLOT_LABEL_SIZE]; /* "×10⁻⁵" when the labels are scaled, else "" */
} nb_plot_ticks;

/* The major ticks a figure puts on a vertical axis `length` units long showing [lo, hi]
 * (lo > 0 on a log axis), with tick labels of the given font size: the tick chooser on
 * its own, so that its rules can be checked without drawing. */
void nb_plot_vertical_ticks(double lo, double hi, bool log, double length, double font, nb_plot_ticks *out);

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

/* A failure found while saving, about one panel: the figure itself is not at fault, so
 * nothing is remembered in it. Returns status. */
nb_status nb_plot_layout_fail(const nb_panel *panel, nb_status status, const char *fmt, ...) NB_PRINTF(3, 4);

/* ==== text (text.c) =================================================================== */

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

theme nb_plot_make_theme(double width, double height);
void nb_plot_set_font(cairo_t *cr, double size, bool bold);
double nb_plot_text_width(cairo_t *cr, const char *text);
/* Height of a line of text in the current font: what a margin must hold. */
double nb_plot_line_height(cairo_t *cr);
/* Draw text with its anchor at (x, y): halign 0 left, 0.5 centre, 1 right; valign 0 top,
 * 0.5 centre of the digits, 1 bottom; the whole rotated by `angle` (radians,
 * counter-clockwise) about the anchor. */
void nb_plot_draw_text(cairo_t *cr, const char *text, double x, double y, double halign, double valign,
                    double angle);
/* As nb_plot_draw_text, shrinking the font so that the text is at most max_width long. */
void nb_plot_draw_text_fit(cairo_t *cr, const char *text, double x, double y, double halign, double valign,
                        double angle, double max_width);

/* ==== axes (axes.c) =================================================================== */

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

/* Replace an ASCII '-' leading a number by the typographic minus sign. */
void nb_plot_typographic_minus(char *text, size_t size);
/* Position of v along the axis: 0 at lo, 1 at hi. */
double nb_plot_axis_frac(const axis *a, double v);
double nb_plot_widest_label(cairo_t *cr, const axis *a);
/* A vertical axis: a tick about every 3.6 font sizes, at least three when 1.8 apart. */
void nb_plot_choose_vertical_ticks(axis *a, double length, double font);
/* A horizontal axis: a tick about every 6 font sizes, at least four when their labels
 * stay 1.2 font sizes apart (measured with cr's current font). */
void nb_plot_choose_horizontal_ticks(axis *a, double length, double font, cairo_t *cr);

/* Whether y can be shown on the panel's y axis (finite; positive on a log scale). */
bool nb_plot_usable_y(const nb_panel *panel, double y);
/* The extent of the data a panel shows, in data units. false when it shows none. */
bool nb_plot_data_extent(const nb_panel *panel, double x_range[2], double y_range[2]);
/* The visible range of axis `name`: the data, padded by 4 % (in log space for a log
 * axis) on each automatic side; a single value gets a range around it. */
nb_status nb_plot_view_range(const nb_panel *panel, char name, double data_lo, double data_hi,
                          const double limits[2], bool log, double view[2]);

/* ==== layout (layout.c) =============================================================== */

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

typedef struct figure_layout {
    theme th;
    double title_height;
    panel_layout *panels;
} figure_layout;

/* The widest text that, centred at x, stays inside the panel's cell (pad from each edge). */
double nb_plot_centered_room(const panel_layout *pl, double x, double pad);
double nb_plot_widest_text(cairo_t *cr, char *const *texts, int n);
/* Lay the whole figure out on the measuring context cr: fl->th is set, fl->panels has
 * rows x cols entries. An error names the panel that cannot be laid out. */
nb_status nb_plot_layout_figure(cairo_t *cr, const nb_figure *figure, figure_layout *fl);

/* ==== drawing (draw.c) ================================================================ */

/* Draw the figure laid out in fl on cr, background included. */
void nb_plot_draw_figure(cairo_t *cr, const nb_figure *figure, const figure_layout *fl);

/* ==== output (output.c) =============================================================== */

/* The figure laid out and drawn on a new RGB24 image surface of its size, which the
 * caller destroys (*image is NULL on failure). The figure's remembered failure, a layout
 * error or a drawing error is returned with its message. */
nb_status nb_plot_draw_image(const nb_figure *figure, cairo_surface_t **image);

#endif
