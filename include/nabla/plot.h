/* nabla plots: figures of one or more panels drawn through cairo to PNG, SVG or PDF.
 *
 *     nb_figure *fig = nb_figure_new(800, 500, 1, 1);          // 800 x 500, one panel
 *     nb_panel *p = nb_figure_panel(fig, 0, 0);
 *     nb_panel_title(p, "y = 2x² + 3x + 4");
 *     nb_panel_labels(p, "x", "y");
 *     nb_panel_scatter(p, "data", x, y, 100, NULL);
 *     nb_panel_line(p, "model", x, y_hat, 100, NULL);
 *     if (nb_figure_save(fig, "fit.png") != NB_OK) fprintf(stderr, "%s\n", nb_errmsg());
 *     nb_figure_free(fig);
 *
 * Errors are sticky: a call that fails returns its status and the figure remembers the
 * first failure, which nb_figure_save() returns again (with its message) without writing
 * anything. A builder sequence may therefore check only the final save.
 *
 * Data: every array is copied, so the caller may free or reuse it at once. Non-finite
 * points (NaN, ±inf) are skipped silently — a line is broken at them, as a loss curve
 * that diverged after epoch 40 still deserves its first 40 epochs — and so are
 * non-positive y values on a log-scaled axis. A series with no finite point at all is an
 * error (NB_ENUMERIC), as is a log-scaled panel with no positive value: an empty chart
 * would only hide the problem.
 *
 * Output: the format follows the extension of the path (.png, .svg, .pdf, in any case);
 * sizes are pixels for PNG and points (1/72 inch) for SVG and PDF. Text is DejaVu Sans,
 * scaled with the figure. The same figure gives the same bytes, run after run (the PDF
 * carries no creation date). The file is written atomically: a temporary file beside it
 * is filled, synced and renamed over the target, so a failure leaves any old file as it
 * was and no temporary behind.
 *
 * Animations: figures of one size as the frames of a looping GIF (nb_animation below). */
#ifndef NABLA_PLOT_H
#define NABLA_PLOT_H

#include "nabla/core.h"

#include <stdbool.h>

#ifdef __cplusplus
extern "C" {
#endif
#if defined(__GNUC__)
#pragma GCC visibility push(default)
#endif

typedef struct nb_figure nb_figure;
typedef struct nb_panel nb_panel;

/* Colours for nb_style.color. 0 means "the next colour of the panel's cycle" (Okabe–Ito:
 * blue, vermillion, bluish green, reddish purple, orange, sky blue, black — readable
 * with the common colour-vision deficiencies). */
#define NB_RGB(r, g, b) (0x01000000u | ((uint32_t)(r) & 0xFFu) << 16 | ((uint32_t)(g) & 0xFFu) << 8 | ((uint32_t)(b) & 0xFFu))
#define NB_CYCLE(k) (0x02000000u | ((uint32_t)(k) & 0xFFu)) /* colour k of the cycle */

/* How a series is drawn. Pass NULL for all defaults; a zeroed struct means the same. */
typedef struct nb_style {
    uint32_t color; /* 0: next of the cycle; NB_CYCLE(k); NB_RGB(r, g, b); nb_viridis(t) */
    double alpha;   /* opacity in (0, 1]; 0 means 1 */
    double width;   /* line width, or marker diameter for a scatter; 0: scaled default */
    bool dashed;
} nb_style;

/* The colour of the viridis map at t in [0, 1] (dark purple to yellow), e.g. to colour
 * curves by epoch. t is clamped. */
uint32_t nb_viridis(double t);

/* Where the legend goes. AUTO (the default) picks the corner or edge of the plot that
 * covers the fewest data; a panel with no labelled series has no legend. */
typedef enum nb_legend_pos {
    NB_LEGEND_AUTO = 0,
    NB_LEGEND_NONE,
    NB_LEGEND_UPPER_RIGHT,
    NB_LEGEND_UPPER_LEFT,
    NB_LEGEND_LOWER_LEFT,
    NB_LEGEND_LOWER_RIGHT
} nb_legend_pos;

/* ---- figures ------------------------------------------------------------------------ */

/* A width x height figure (pixels for PNG, points for SVG/PDF; 64 to 16384) holding a
 * grid of rows x cols panels (1 to 16 each), all of equal size unless
 * nb_figure_row_heights() says otherwise. NULL on bad arguments or no memory. */
nb_figure *nb_figure_new(double width, double height, int rows, int cols);
void nb_figure_free(nb_figure *figure);

/* A title above all panels (NULL removes it). */
nb_status nb_figure_title(nb_figure *figure, const char *title);

/* Relative heights of the rows (rows positive weights), e.g. {3, 1} for a fit above its
 * residuals. */
nb_status nb_figure_row_heights(nb_figure *figure, const double *weights);

/* The panel at (row, col), counted from the top left; NULL (and a sticky error) when out
 * of range. The figure owns it. A panel with nothing in it is left blank. */
nb_panel *nb_figure_panel(nb_figure *figure, int row, int col);

/* Draw the figure into `path`; the format follows the extension. NB_EARG for an unknown
 * extension or a figure too small for its labels, NB_ENUMERIC for a log-scaled panel
 * with no positive value, NB_EIO when the file cannot be written; or the figure's first
 * earlier failure. */
nb_status nb_figure_save(const nb_figure *figure, const char *path);

/* ---- panels ------------------------------------------------------------------------- */

/* Title and axis labels (NULL for none). UTF-8 text: "loss (log scale)", "w₁", "x²". */
nb_status nb_panel_title(nb_panel *panel, const char *title);
nb_status nb_panel_labels(nb_panel *panel, const char *xlabel, const char *ylabel);

/* A logarithmic y axis (decades labelled 10ⁿ), for loss curves. */
nb_status nb_panel_log_y(nb_panel *panel, bool log_y);

/* Fixed axis limits; NAN on either side keeps that side automatic (the data range plus
 * a small margin). E.g. nb_panel_ylim(p, 0, 1) for an accuracy. */
nb_status nb_panel_xlim(nb_panel *panel, double lo, double hi);
nb_status nb_panel_ylim(nb_panel *panel, double lo, double hi);

nb_status nb_panel_legend(nb_panel *panel, nb_legend_pos pos);

/* Series: n points (x[i], y[i]); x == NULL means x = 1, 2, ..., n (epochs). A NULL or
 * empty label keeps the series out of the legend. style may be NULL. */
nb_status nb_panel_line(nb_panel *panel, const char *label, const double *x, const double *y, size_t n,
                        const nb_style *style);
nb_status nb_panel_scatter(nb_panel *panel, const char *label, const double *x, const double *y, size_t n,
                           const nb_style *style);

/* A horizontal line across the panel at y (a target, a threshold, zero residual);
 * dashed grey unless style says otherwise. It counts in the y range. */
nb_status nb_panel_hline(nb_panel *panel, const char *label, double y, const nb_style *style);

/* A heat map of rows x cols values (row-major, row 0 at the top) with square cells
 * coloured by viridis over the range of the values (from 0 when none is negative and
 * the least is under a tenth of the largest, as with counts), a colour bar (labelled
 * colorbar_label, may be NULL) and, when `annotate`, each cell's value written in it
 * (integers when all values are, else three significant digits). row_labels and
 * col_labels name the rows (left) and columns (below, slanted when long); NULL numbers
 * them 0, 1, .... Use nb_panel_labels() for the axis names, e.g. "predicted" and "true"
 * for a confusion matrix. Non-finite cells are drawn grey. A panel holds either a heat
 * map or series, not both. */
nb_status nb_panel_heatmap(nb_panel *panel, const double *values, int rows, int cols,
                           const char *const *row_labels, const char *const *col_labels, bool annotate,
                           const char *colorbar_label);

/* ---- animations --------------------------------------------------------------------- */

/* An animated GIF, e.g. a fit epoch by epoch:
 *
 *     nb_animation *anim = nb_animation_new(800, 520, 50);     // half a second a frame
 *     for (int epoch = 0; epoch <= epochs; epoch++) {
 *         nb_figure *frame = nb_figure_new(800, 520, 1, 1);
 *         ...                                                   // the model after `epoch`
 *         nb_animation_add(anim, frame);                        // drawn now: free it at once
 *         nb_figure_free(frame);
 *     }
 *     if (nb_animation_save(anim, "fit.gif") != NB_OK) fprintf(stderr, "%s\n", nb_errmsg());
 *     nb_animation_free(anim);
 *
 * Each frame is drawn when added and kept in memory until the animation is freed, as
 * the rectangle that changed since the frame before (one byte a pixel): frames that
 * differ little (fixed axes, a growing curve) cost little. A frame has its own palette
 * of at most 256 colours (giflib's median cut). The animation loops forever; the last
 * frame stays at least 2 s. Errors are sticky as with figures: a failed
 * nb_animation_add() is remembered and nb_animation_save() returns it, writing nothing. */
typedef struct nb_animation nb_animation;

/* width x height pixels (64 to 16384 each), each frame shown delay_cs hundredths of a
 * second (2 to 65535). NULL on bad arguments or no memory. */
nb_animation *nb_animation_new(int width, int height, int delay_cs);
void nb_animation_free(nb_animation *anim);

/* Draw the figure as the next frame. NB_EARG when the figure is not the animation's size;
 * any error nb_figure_save() would give for it. The figure is not kept. */
nb_status nb_animation_add(nb_animation *anim, const nb_figure *frame);

/* Write the frames as a GIF to `path` (which must end in .gif), atomically as figures
 * are. NB_EARG when there is no frame; NB_EIO when the file cannot be written. */
nb_status nb_animation_save(const nb_animation *anim, const char *path);

#if defined(__GNUC__)
#pragma GCC visibility pop
#endif

#ifdef __cplusplus
}
#endif

#endif
