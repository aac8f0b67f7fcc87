/* Drawing a laid-out figure with cairo: colours, series, grids and axes, legends, heat
 * maps and their colour bars. */
#include "plot/plot_internal.h"

#include <math.h>
#include <stdio.h>

typedef struct rgb {
    double r, g, b;
} rgb;

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

static void set_color(cairo_t *cr, uint32_t color, double alpha)
{
    rgb c = rgb_of(color);
    cairo_set_source_rgba(cr, c.r, c.g, c.b, alpha);
}

/* ==== drawing charts =================================================================== */

typedef struct point {
    double x, y;
} point;

static point to_device(const panel_layout *pl, double x, double y)
{
    return (point){pl->plot.x + nb_plot_axis_frac(&pl->x, x) * pl->plot.w,
                   pl->plot.y + (1 - nb_plot_axis_frac(&pl->y, y)) * pl->plot.h};
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
    return nb_plot_usable_y(panel, s->y[i]) && (!s->x || isfinite(s->x[i]));
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
        if (!nb_plot_usable_y(pl->panel, s->y[0]))
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

/* The frame of the plot area on whole pixels: its edges go to x0, y0, x1, y1. */
typedef struct frame {
    double x0, y0, x1, y1;
} frame;

static frame draw_frame(cairo_t *cr, const theme *th, const rect *plot)
{
    cairo_set_source_rgb(cr, 0.25, 0.25, 0.25);
    cairo_set_line_width(cr, th->hairline);
    cairo_set_dash(cr, NULL, 0, 0);
    frame f = {crisp(plot->x, th->hairline), crisp(plot->y, th->hairline), crisp(plot->x + plot->w, th->hairline),
               crisp(plot->y + plot->h, th->hairline)};
    cairo_rectangle(cr, f.x0, f.y0, f.x1 - f.x0, f.y1 - f.y0);
    cairo_stroke(cr);
    return f;
}

/* Major ticks and their labels, the minor ticks of a log axis, the y multiplier; returns
 * the height of a tick label. */
static double draw_ticks(cairo_t *cr, const theme *th, const panel_layout *pl, const frame *f)
{
    nb_plot_set_font(cr, th->tick_font, false);
    double tick_h = nb_plot_line_height(cr);
    for (int i = 0; i < pl->x.n_major; i++) {
        double x = crisp(to_device(pl, pl->x.major[i], pl->y.lo).x, th->hairline);
        cairo_move_to(cr, x, f->y1);
        cairo_line_to(cr, x, f->y1 + th->tick_len);
        nb_plot_draw_text(cr, pl->x.label[i], x, f->y1 + th->tick_len + 0.3 * th->pad, 0.5, 0, 0);
    }
    for (int i = 0; i < pl->y.n_major; i++) {
        double y = crisp(to_device(pl, pl->x.lo, pl->y.major[i]).y, th->hairline);
        cairo_move_to(cr, f->x0, y);
        cairo_line_to(cr, f->x0 - th->tick_len, y);
        nb_plot_draw_text(cr, pl->y.label[i], f->x0 - th->tick_len - 0.3 * th->pad, y, 1, 0.5, 0);
    }
    for (int i = 0; i < pl->y.n_minor; i++) {
        double y = crisp(to_device(pl, pl->x.lo, pl->y.minor[i]).y, th->hairline);
        cairo_move_to(cr, f->x0, y);
        cairo_line_to(cr, f->x0 - 0.55 * th->tick_len, y);
    }
    cairo_stroke(cr);
    if (pl->y.multiplier[0])
        nb_plot_draw_text(cr, pl->y.multiplier, f->x0, f->y0 - 0.2 * th->pad, 0, 1, 0);
    return tick_h;
}

/* The x multiplier (in the tick labels' font), the axis labels and the title. */
static void draw_axis_labels(cairo_t *cr, const theme *th, const panel_layout *pl, const frame *f, double tick_h)
{
    const nb_panel *panel = pl->panel;
    const rect *plot = &pl->plot;
    double below_ticks = f->y1 + th->tick_len + 0.3 * th->pad + tick_h + 0.4 * th->pad;
    if (pl->x.multiplier[0])
        nb_plot_draw_text(cr, pl->x.multiplier, f->x1, below_ticks, 1, 0, 0);
    nb_plot_set_font(cr, th->font, false);
    cairo_set_source_rgb(cr, 0.1, 0.1, 0.1);
    if (panel->xlabel)
        nb_plot_draw_text_fit(cr, panel->xlabel, plot->x + plot->w / 2, below_ticks, 0.5, 0, 0, plot->w);
    if (panel->ylabel)
        nb_plot_draw_text_fit(cr, panel->ylabel, pl->cell.x + th->pad, plot->y + plot->h / 2, 0.5, 0, M_PI / 2,
                              plot->h);
    if (panel->title) {
        nb_plot_set_font(cr, th->title_font, true);
        double above = pl->y.multiplier[0] ? tick_h + 0.2 * th->pad : 0;
        nb_plot_draw_text_fit(cr, panel->title, plot->x + plot->w / 2, f->y0 - above - 0.6 * th->pad, 0.5, 1, 0,
                           nb_plot_centered_room(pl, plot->x + plot->w / 2, th->pad));
    }
}

static void draw_axes(cairo_t *cr, const theme *th, const panel_layout *pl)
{
    frame f = draw_frame(cr, th, &pl->plot);
    double tick_h = draw_ticks(cr, th, pl, &f);
    draw_axis_labels(cr, th, pl, &f, tick_h);
}

/* ---- legend ---- */

typedef struct legend_box {
    double w, h, row_h, sample_w, inset;
    int n;
} legend_box;

static legend_box measure_legend(cairo_t *cr, const theme *th, const nb_panel *panel)
{
    legend_box box = {0};
    nb_plot_set_font(cr, th->tick_font, false);
    double widest = 0;
    for (size_t s = 0; s < panel->n_series; s++)
        if (panel->series[s].label) {
            widest = fmax(widest, nb_plot_text_width(cr, panel->series[s].label));
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
            covered += nb_plot_usable_y(pl->panel, s->y[0]) && clip_segment(where, &a, &b) ? 4 : 0;
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

/* Where the legend goes: the place asked for, or with NB_LEGEND_AUTO the first of the
 * places in order of preference that hides the least data. */
static rect choose_legend_place(const theme *th, const panel_layout *pl, const legend_box *box)
{
    if (pl->panel->legend != NB_LEGEND_AUTO)
        return legend_place(pl, box, pl->panel->legend - NB_LEGEND_UPPER_RIGHT);
    int best = 0, best_overlap = -1;
    for (int k = 0; k < 8; k++) {
        int overlap = legend_overlap(th, pl, legend_place(pl, box, k));
        if (best_overlap < 0 || overlap < best_overlap)
            best = k, best_overlap = overlap;
    }
    return legend_place(pl, box, best);
}

/* A white, slightly translucent box with rounded corners and a light border. */
static void draw_legend_frame(cairo_t *cr, const theme *th, rect where)
{
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
}

/* A sample of the series (a marker or a short line) at (x, y), then its label. */
static void draw_legend_entry(cairo_t *cr, const theme *th, const legend_box *box, const series *s, double x,
                              double y)
{
    if (s->kind == SERIES_SCATTER) {
        set_color(cr, s->color, s->style.alpha > 0 ? s->style.alpha : 1);
        cairo_new_path(cr);
        draw_marker(cr, x + box->sample_w / 2, y, fmin(series_width(th, s), box->row_h * 0.8));
        cairo_fill(cr);
    } else {
        apply_line_style(cr, th, s);
        cairo_set_line_width(cr, fmin(series_width(th, s), box->row_h * 0.5));
        cairo_new_path(cr);
        cairo_move_to(cr, x, y);
        cairo_line_to(cr, x + box->sample_w, y);
        cairo_stroke(cr);
    }
    nb_plot_set_font(cr, th->tick_font, false);
    cairo_set_source_rgb(cr, 0.1, 0.1, 0.1);
    nb_plot_draw_text(cr, s->label, x + box->sample_w + 0.6 * th->pad, y, 0, 0.5, 0);
}

static void draw_legend(cairo_t *cr, const theme *th, const panel_layout *pl)
{
    const nb_panel *panel = pl->panel;
    if (panel->legend == NB_LEGEND_NONE)
        return;
    legend_box box = measure_legend(cr, th, panel);
    if (box.n == 0)
        return;
    rect where = choose_legend_place(th, pl, &box);
    draw_legend_frame(cr, th, where);
    int row = 0;
    for (size_t k = 0; k < panel->n_series; k++) {
        const series *s = &panel->series[k];
        if (!s->label)
            continue;
        double y = where.y + box.inset + (row + 0.5) * box.row_h;
        draw_legend_entry(cr, th, &box, s, where.x + box.inset, y);
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
    nb_plot_typographic_minus(out, size);
}

/* Cell edges on whole units, so that neighbouring cells meet without a seam. */
static double grid_edge(double origin, double cell, int k) { return round(origin + cell * k); }

/* The colour of a cell: viridis over [vmin, vmax], grey where the value is not finite. */
static rgb cell_color(const heatmap_layout *hl, double v)
{
    return isfinite(v) ? rgb_of(nb_viridis((v - hl->vmin) / (hl->vmax - hl->vmin))) : (rgb){0.82, 0.82, 0.82};
}

/* The cell annotations' font size: at most the axis labels' and 0.4 cell, less when the
 * widest number would not fit in 0.86 cell. */
static double annotation_size(cairo_t *cr, const theme *th, const panel_layout *pl, bool integers)
{
    const heatmap *map = pl->panel->heatmap;
    char text[48];
    double size = fmin(th->font, 0.4 * pl->map.cell), widest = 0;
    nb_plot_set_font(cr, size, false);
    for (int i = 0; i < map->rows * map->cols; i++) {
        cell_text(map->values[i], integers, text, sizeof text);
        widest = fmax(widest, nb_plot_text_width(cr, text));
    }
    if (widest > 0.86 * pl->map.cell)
        size *= 0.86 * pl->map.cell / widest;
    return size;
}

/* Each cell's value in black or white, whichever reads better on its colour. */
static void draw_annotations(cairo_t *cr, const theme *th, const panel_layout *pl)
{
    const heatmap *map = pl->panel->heatmap;
    const heatmap_layout *hl = &pl->map;
    bool integers = all_integers(map);
    double size = annotation_size(cr, th, pl, integers);
    if (size < 5) /* too small to read: the colours alone must speak */
        return;
    nb_plot_set_font(cr, size, false);
    char text[48];
    for (int i = 0; i < map->rows; i++)
        for (int j = 0; j < map->cols; j++) {
            double v = map->values[i * map->cols + j];
            double ink = luminance(cell_color(hl, v)) > 0.45 ? 0.0 : 1.0;
            cairo_set_source_rgb(cr, ink, ink, ink);
            cell_text(v, integers, text, sizeof text);
            nb_plot_draw_text(cr, text, pl->plot.x + (j + 0.5) * hl->cell, pl->plot.y + (i + 0.5) * hl->cell, 0.5,
                           0.5, 0);
        }
}

static void draw_heatmap_cells(cairo_t *cr, const theme *th, const panel_layout *pl)
{
    const heatmap *map = pl->panel->heatmap;
    const heatmap_layout *hl = &pl->map;
    for (int i = 0; i < map->rows; i++)
        for (int j = 0; j < map->cols; j++) {
            double x0 = grid_edge(pl->plot.x, hl->cell, j), x1 = grid_edge(pl->plot.x, hl->cell, j + 1);
            double y0 = grid_edge(pl->plot.y, hl->cell, i), y1 = grid_edge(pl->plot.y, hl->cell, i + 1);
            rgb c = cell_color(hl, map->values[i * map->cols + j]);
            cairo_set_source_rgb(cr, c.r, c.g, c.b);
            cairo_rectangle(cr, x0, y0, x1 - x0, y1 - y0);
            cairo_fill(cr);
        }
    if (map->annotate)
        draw_annotations(cr, th, pl);
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
    nb_plot_set_font(cr, th->tick_font, false);
    for (int i = 0; i < hl->bar.n_major; i++) {
        double y = crisp(bar.y + (1 - nb_plot_axis_frac(&hl->bar, hl->bar.major[i])) * bar.h, th->hairline);
        cairo_move_to(cr, x1, y);
        cairo_line_to(cr, x1 + th->tick_len, y);
        nb_plot_draw_text(cr, hl->bar.label[i], x1 + th->tick_len + 0.3 * th->pad, y, 0, 0.5, 0);
    }
    cairo_stroke(cr);
    if (hl->bar.multiplier[0])
        nb_plot_draw_text(cr, hl->bar.multiplier, bar.x, bar.y - 0.2 * th->pad, 0, 1, 0);
    if (map->colorbar_label) {
        double x = x1 + th->tick_len + 0.3 * th->pad + nb_plot_widest_label(cr, &hl->bar) + 0.5 * th->pad;
        nb_plot_set_font(cr, th->font, false);
        nb_plot_draw_text_fit(cr, map->colorbar_label, x, bar.y + bar.h / 2, 0.5, 1, -M_PI / 2, bar.h);
    }
}

/* The frame around the grid of cells, on whole pixels. */
static void draw_heatmap_frame(cairo_t *cr, const theme *th, const panel_layout *pl)
{
    const heatmap *map = pl->panel->heatmap;
    const heatmap_layout *hl = &pl->map;
    const rect *grid = &pl->plot;
    cairo_set_source_rgb(cr, 0.25, 0.25, 0.25);
    cairo_set_line_width(cr, th->hairline);
    double x0 = crisp(grid_edge(grid->x, hl->cell, 0), th->hairline);
    double y0 = crisp(grid_edge(grid->y, hl->cell, 0), th->hairline);
    double x1 = crisp(grid_edge(grid->x, hl->cell, map->cols), th->hairline);
    double y1 = crisp(grid_edge(grid->y, hl->cell, map->rows), th->hairline);
    cairo_rectangle(cr, x0, y0, x1 - x0, y1 - y0);
    cairo_stroke(cr);
}

/* Row labels left of the grid, column labels under it (leaning when the layout says so);
 * returns where the text under them may start. */
static double draw_heatmap_labels(cairo_t *cr, const theme *th, const panel_layout *pl)
{
    const heatmap *map = pl->panel->heatmap;
    const heatmap_layout *hl = &pl->map;
    const rect *grid = &pl->plot;
    nb_plot_set_font(cr, th->tick_font, false);
    cairo_set_source_rgb(cr, 0.1, 0.1, 0.1);
    double tick_h = nb_plot_line_height(cr);
    for (int i = 0; i < map->rows; i++)
        nb_plot_draw_text(cr, map->row_labels[i], grid->x - 0.5 * th->pad, grid->y + (i + 0.5) * hl->cell, 1, 0.5, 0);
    double label_top = grid->y + grid->h + 0.5 * th->pad;
    double col_w = nb_plot_widest_text(cr, map->col_labels, map->cols);
    for (int j = 0; j < map->cols; j++) {
        double x = grid->x + (j + 0.5) * hl->cell;
        if (hl->rotate_columns) /* the label ends just under its column, leaning left */
            nb_plot_draw_text(cr, map->col_labels[j], x + 0.3 * tick_h, label_top, 1, 0.5, M_PI / 4);
        else
            nb_plot_draw_text(cr, map->col_labels[j], x, label_top, 0.5, 0, 0);
    }
    return label_top + (hl->rotate_columns ? (col_w + tick_h) * M_SQRT1_2 : tick_h) + 0.5 * th->pad;
}

/* The axis labels and the title of a heat map; the x label starts at `below`. */
static void draw_heatmap_titles(cairo_t *cr, const theme *th, const panel_layout *pl, double below)
{
    const nb_panel *panel = pl->panel;
    const heatmap *map = panel->heatmap;
    const rect *grid = &pl->plot;
    nb_plot_set_font(cr, th->font, false);
    if (panel->xlabel)
        nb_plot_draw_text_fit(cr, panel->xlabel, grid->x + grid->w / 2, below, 0.5, 0, 0,
                           nb_plot_centered_room(pl, grid->x + grid->w / 2, th->pad));
    if (panel->ylabel) {
        nb_plot_set_font(cr, th->tick_font, false);
        double row_w = nb_plot_widest_text(cr, map->row_labels, map->rows);
        nb_plot_set_font(cr, th->font, false);
        nb_plot_draw_text_fit(cr, panel->ylabel, grid->x - 0.5 * th->pad - row_w - 0.5 * th->pad, grid->y + grid->h / 2,
                           0.5, 1, M_PI / 2, pl->cell.h - 2 * th->pad);
    }
    if (panel->title) {
        nb_plot_set_font(cr, th->title_font, true);
        nb_plot_draw_text_fit(cr, panel->title, grid->x + grid->w / 2, grid->y - 0.6 * th->pad, 0.5, 1, 0,
                           nb_plot_centered_room(pl, grid->x + grid->w / 2, th->pad));
    }
}

static void draw_heatmap(cairo_t *cr, const theme *th, const panel_layout *pl)
{
    draw_heatmap_cells(cr, th, pl);
    draw_heatmap_frame(cr, th, pl);
    double below = draw_heatmap_labels(cr, th, pl);
    draw_heatmap_titles(cr, th, pl, below);
    draw_colorbar(cr, th, pl);
}

void nb_plot_draw_figure(cairo_t *cr, const nb_figure *figure, const figure_layout *fl)
{
    cairo_set_source_rgb(cr, 1, 1, 1);
    cairo_paint(cr);
    if (figure->title) {
        nb_plot_set_font(cr, fl->th.figure_title_font, true);
        cairo_set_source_rgb(cr, 0.1, 0.1, 0.1);
        nb_plot_draw_text_fit(cr, figure->title, figure->width / 2, fl->th.pad, 0.5, 0, 0,
                              figure->width - 2 * fl->th.pad);
    }
    for (int i = 0; i < figure->rows * figure->cols; i++) {
        const panel_layout *pl = &fl->panels[i];
        if (pl->kind == PANEL_CHART)
            draw_chart(cr, &fl->th, pl);
        else if (pl->kind == PANEL_HEATMAP)
            draw_heatmap(cr, &fl->th, pl);
    }
}

