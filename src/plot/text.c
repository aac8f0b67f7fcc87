/* Text: sizes that scale with the figure, and text measured and drawn through cairo. */
#include "plot/plot_internal.h"

#include <math.h>

#define FONT_FAMILY "DejaVu Sans"

theme nb_plot_make_theme(double width, double height)
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

void nb_plot_set_font(cairo_t *cr, double size, bool bold)
{
    cairo_select_font_face(cr, FONT_FAMILY, CAIRO_FONT_SLANT_NORMAL,
                           bold ? CAIRO_FONT_WEIGHT_BOLD : CAIRO_FONT_WEIGHT_NORMAL);
    cairo_set_font_size(cr, size);
}

double nb_plot_text_width(cairo_t *cr, const char *text)
{
    cairo_text_extents_t extents;
    cairo_text_extents(cr, text, &extents);
    return extents.x_advance;
}

/* Height of a line of text in the current font: what a margin must hold. */
double nb_plot_line_height(cairo_t *cr)
{
    cairo_font_extents_t extents;
    cairo_font_extents(cr, &extents);
    return extents.ascent + extents.descent;
}

/* Draw text with its anchor at (x, y): halign 0 left, 0.5 centre, 1 right; valign 0 top,
 * 0.5 centre of the digits, 1 bottom; the whole rotated by `angle` (radians,
 * counter-clockwise) about the anchor. */
void nb_plot_draw_text(cairo_t *cr, const char *text, double x, double y, double halign, double valign,
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
    cairo_move_to(cr, -halign * nb_plot_text_width(cr, text), dy);
    cairo_show_text(cr, text);
    cairo_restore(cr);
}

/* As nb_plot_draw_text, shrinking the font so that the text is at most max_width long. */
void nb_plot_draw_text_fit(cairo_t *cr, const char *text, double x, double y, double halign, double valign,
                        double angle, double max_width)
{
    cairo_save(cr);
    double width = nb_plot_text_width(cr, text);
    if (width > max_width && max_width > 0) {
        cairo_matrix_t matrix;
        cairo_get_font_matrix(cr, &matrix);
        cairo_matrix_scale(&matrix, max_width / width, max_width / width);
        cairo_set_font_matrix(cr, &matrix);
    }
    nb_plot_draw_text(cr, text, x, y, halign, valign, angle);
    cairo_restore(cr);
}
