/* Layout: the margins and plot area of every panel, measured on a cairo context before
 * anything is drawn, so that every error is known before a file is touched. */
#include "plot/plot_internal.h"

#include <math.h>
#include <string.h>

/* The widest text that, centred at x, stays inside the panel's cell (pad from each edge):
 * a title centred over a plot whose left margin is wider than its right must not run off
 * the right side. */
double nb_plot_centered_room(const panel_layout *pl, double x, double pad)
{
    double left = x - pl->cell.x - pad, right = pl->cell.x + pl->cell.w - pad - x;
    return 2 * fmax(0, fmin(left, right));
}
static double chart_top_margin(cairo_t *cr, const theme *th, const panel_layout *pl)
{
    double top = th->pad;
    if (pl->panel->title) {
        nb_plot_set_font(cr, th->title_font, true);
        top += nb_plot_line_height(cr) + 0.6 * th->pad;
    }
    if (pl->y.multiplier[0]) {
        nb_plot_set_font(cr, th->tick_font, false);
        top += nb_plot_line_height(cr) + 0.2 * th->pad;
    } else {
        nb_plot_set_font(cr, th->tick_font, false);
        top = fmax(top, 0.6 * nb_plot_line_height(cr)); /* half of the top tick label */
    }
    return top;
}

static double chart_bottom_margin(cairo_t *cr, const theme *th, const panel_layout *pl)
{
    nb_plot_set_font(cr, th->tick_font, false);
    double bottom = th->tick_len + 0.3 * th->pad + nb_plot_line_height(cr);
    if (pl->panel->xlabel || pl->x.multiplier[0]) {
        nb_plot_set_font(cr, th->font, false);
        bottom += 0.4 * th->pad + nb_plot_line_height(cr);
    }
    return bottom + th->pad;
}

/* Margins of a chart panel, with its ticks chosen for the room they leave. */
static nb_status layout_chart(cairo_t *cr, const theme *th, panel_layout *pl)
{
    const nb_panel *panel = pl->panel;
    double x_data[2], y_data[2];
    if (!nb_plot_data_extent(panel, x_data, y_data))
        return nb_plot_layout_fail(panel, NB_ENUMERIC,
                                   "nothing to draw on a log scale: no series has a positive y value");
    double view[2];
    nb_status status = nb_plot_view_range(panel, 'x', x_data[0], x_data[1], panel->xlim, false, view);
    if (status != NB_OK)
        return status;
    pl->x.lo = view[0], pl->x.hi = view[1], pl->x.log = false;
    status = nb_plot_view_range(panel, 'y', y_data[0], y_data[1], panel->ylim, panel->log_y, view);
    if (status != NB_OK)
        return status;
    pl->y.lo = view[0], pl->y.hi = view[1], pl->y.log = panel->log_y;

    /* Vertical margins hold lines of text only, so the y ticks can be chosen first ... */
    pl->y.multiplier[0] = '\0';
    pl->margin[BOTTOM] = chart_bottom_margin(cr, th, pl);
    double top_guess = chart_top_margin(cr, th, pl);
    nb_plot_set_font(cr, th->tick_font, false);
    double plot_h = pl->cell.h - top_guess - pl->margin[BOTTOM];
    nb_plot_choose_vertical_ticks(&pl->y, plot_h, th->font);
    pl->margin[TOP] = chart_top_margin(cr, th, pl); /* now knowing whether a ×10ⁿ is needed */

    /* ... and their widest label sets the left margin, which sets the room for x. */
    double left = th->pad + nb_plot_widest_label(cr, &pl->y) + th->tick_len + 0.3 * th->pad;
    if (panel->ylabel) {
        nb_plot_set_font(cr, th->font, false);
        left += nb_plot_line_height(cr) + 0.4 * th->pad;
    }
    pl->margin[LEFT] = left;
    nb_plot_set_font(cr, th->tick_font, false);
    double plot_w = pl->cell.w - left - 2 * th->pad;
    nb_plot_choose_horizontal_ticks(&pl->x, plot_w, th->font, cr);
    double last_half = pl->x.n_major ? nb_plot_text_width(cr, pl->x.label[pl->x.n_major - 1]) / 2 : 0;
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

double nb_plot_widest_text(cairo_t *cr, char *const *texts, int n)
{
    double widest = 0;
    for (int i = 0; i < n; i++)
        widest = fmax(widest, nb_plot_text_width(cr, texts[i]));
    return widest;
}

/* The sizes of a heat map's text that its margins depend on. */
typedef struct heatmap_text {
    double tick_h; /* a line of tick labels */
    double col_w;  /* the widest column label */
    double below;  /* the room under the column labels (x label, padding) */
} heatmap_text;

/* The margins around a heat map's grid before its column labels are placed: row labels
 * and y label on the left, the colour bar with its ticks and label on the right, the
 * title on top. Chooses the colour bar's first ticks. */
static void heatmap_margins(cairo_t *cr, const theme *th, panel_layout *pl, double margin[4], heatmap_text *text)
{
    const nb_panel *panel = pl->panel;
    const heatmap *map = panel->heatmap;
    heatmap_layout *hl = &pl->map;
    nb_plot_set_font(cr, th->tick_font, false);
    text->tick_h = nb_plot_line_height(cr);
    double row_w = nb_plot_widest_text(cr, map->row_labels, map->rows);
    text->col_w = nb_plot_widest_text(cr, map->col_labels, map->cols);
    hl->bar = (axis){.lo = hl->vmin, .hi = hl->vmax};
    nb_plot_choose_vertical_ticks(&hl->bar, 0.7 * pl->cell.h, th->font);
    double bar_label_w = nb_plot_widest_label(cr, &hl->bar);

    nb_plot_set_font(cr, th->font, false);
    double label_h = nb_plot_line_height(cr);
    margin[LEFT] = th->pad + (panel->ylabel ? label_h + 0.5 * th->pad : 0) + row_w + 0.5 * th->pad;
    margin[RIGHT] = 1.2 * th->font + 1.1 * th->font + th->tick_len + 0.3 * th->pad + bar_label_w +
                    (map->colorbar_label ? 0.5 * th->pad + label_h : 0) + th->pad;
    nb_plot_set_font(cr, th->title_font, true);
    margin[TOP] = th->pad + (panel->title ? nb_plot_line_height(cr) + 0.6 * th->pad : 0.3 * text->tick_h);
    text->below = 0.5 * th->pad + (panel->xlabel ? 0.5 * th->pad + label_h : 0) + th->pad;
}

/* The side of the largest square cells that fit. Column labels wider than a cell lean at
 * 45 degrees, which deepens the bottom margin (and may widen the left one). */
static double square_cell(const theme *th, panel_layout *pl, double margin[4], const heatmap_text *text)
{
    const heatmap *map = pl->panel->heatmap;
    heatmap_layout *hl = &pl->map;
    double avail_w = pl->cell.w - margin[LEFT] - margin[RIGHT];
    margin[BOTTOM] = text->below + text->tick_h;
    double cell = fmin(avail_w / map->cols, (pl->cell.h - margin[TOP] - margin[BOTTOM]) / map->rows);
    hl->rotate_columns = text->col_w > 0.92 * cell;
    if (hl->rotate_columns) {
        margin[BOTTOM] = text->below + (text->col_w + text->tick_h) * M_SQRT1_2;
        cell = fmin(avail_w / map->cols, (pl->cell.h - margin[TOP] - margin[BOTTOM]) / map->rows);
        /* the first column's label leans left, under the row labels */
        double lean = text->col_w * M_SQRT1_2 - cell / 2 + th->pad;
        if (lean > margin[LEFT]) {
            margin[LEFT] = lean;
            cell = fmin((pl->cell.w - margin[LEFT] - margin[RIGHT]) / map->cols, cell);
        }
    }
    return cell;
}

/* A heat map keeps its cells square: the grid, its labels and the colour bar are sized
 * together and centred in the panel. */
static nb_status layout_heatmap(cairo_t *cr, const theme *th, panel_layout *pl)
{
    const heatmap *map = pl->panel->heatmap;
    heatmap_layout *hl = &pl->map;
    heatmap_range(map, &hl->vmin, &hl->vmax);
    double margin[4];
    heatmap_text text;
    heatmap_margins(cr, th, pl, margin, &text);
    double cell = square_cell(th, pl, margin, &text);
    if (cell < 4)
        return nb_plot_layout_fail(pl->panel, NB_EARG,
                                "the figure is too small for a heat map of %d x %d cells and its labels "
                                "(cells of %.1f)",
                                map->rows, map->cols, cell);
    hl->cell = cell;
    double grid_w = cell * map->cols, grid_h = cell * map->rows;
    double total_w = margin[LEFT] + grid_w + margin[RIGHT], total_h = margin[TOP] + grid_h + margin[BOTTOM];
    pl->plot = (rect){pl->cell.x + (pl->cell.w - total_w) / 2 + margin[LEFT],
                      pl->cell.y + (pl->cell.h - total_h) / 2 + margin[TOP], grid_w, grid_h};
    memcpy(pl->margin, margin, sizeof margin);
    nb_plot_set_font(cr, th->tick_font, false);
    nb_plot_choose_vertical_ticks(&hl->bar, grid_h, th->font);
    return NB_OK;
}

/* Each panel's cell (rows shared by weight below the figure's title) and its own layout. */
static nb_status layout_cells(cairo_t *cr, const nb_figure *figure, figure_layout *fl)
{
    const theme *th = &fl->th;
    double top = 0;
    if (figure->title) {
        nb_plot_set_font(cr, th->figure_title_font, true);
        top = th->pad + nb_plot_line_height(cr);
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
    return NB_OK;
}

/* The margins of chart i, widened to the largest of its column (left and right) and of
 * its row (top and bottom). */
static void aligned_margins(const nb_figure *figure, const figure_layout *fl, int i, double m[4])
{
    int r = i / figure->cols, c = i % figure->cols;
    memcpy(m, fl->panels[i].margin, 4 * sizeof *m);
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
}

/* Lay the whole figure out: cells, margins (aligned so that the plots of a column share
 * their left and right edges and those of a row their top and bottom), plot areas. */
nb_status nb_plot_layout_figure(cairo_t *cr, const nb_figure *figure, figure_layout *fl)
{
    const theme *th = &fl->th;
    nb_status status = layout_cells(cr, figure, fl);
    for (int i = 0; status == NB_OK && i < figure->rows * figure->cols; i++) {
        panel_layout *pl = &fl->panels[i];
        if (pl->kind != PANEL_CHART)
            continue;
        double m[4];
        aligned_margins(figure, fl, i, m);
        pl->plot = (rect){pl->cell.x + m[LEFT], pl->cell.y + m[TOP], pl->cell.w - m[LEFT] - m[RIGHT],
                          pl->cell.h - m[TOP] - m[BOTTOM]};
        if (pl->plot.w < 3 * th->font || pl->plot.h < 2 * th->font)
            return nb_plot_layout_fail(pl->panel, NB_EARG,
                                    "a figure of %g x %g is too small for this panel's labels (its plot area would be "
                                    "%.0f x %.0f); make the figure larger",
                                    figure->width, figure->height, pl->plot.w, pl->plot.h);
        /* the final plot area may be a little smaller than the one the ticks were
         * chosen for: choose again so that x labels never touch */
        nb_plot_set_font(cr, th->tick_font, false);
        nb_plot_choose_horizontal_ticks(&pl->x, pl->plot.w, th->font, cr);
    }
    return status;
}
