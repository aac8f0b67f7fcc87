/* The program built without cairo (no nabla::plot; CMakeLists.txt compiles this file
 * only then): the figure calls the commands make all fail with one message. They are
 * never reached in practice, since cli_plot_path_ok refuses --plot first. A figure call
 * added to the program must be added here too: tests/consumer/run.sh builds it so. */
#include "cli.h"

static nb_status absent(void)
{
    return nb_fail(NB_ESTATE, "this nabla was built without cairo: no plots (install libcairo2-dev and rebuild nabla)");
}

uint32_t nb_viridis(double t)
{
    (void)t;
    return 0; /* the default colour: there is nothing to draw it with anyway */
}

nb_figure *nb_figure_new(double width, double height, int rows, int cols)
{
    (void)width, (void)height, (void)rows, (void)cols;
    absent();
    return NULL;
}

void nb_figure_free(nb_figure *figure)
{
    (void)figure;
}

nb_status nb_figure_title(nb_figure *figure, const char *title)
{
    (void)figure, (void)title;
    return absent();
}

nb_status nb_figure_row_heights(nb_figure *figure, const double *weights)
{
    (void)figure, (void)weights;
    return absent();
}

nb_panel *nb_figure_panel(nb_figure *figure, int row, int col)
{
    (void)figure, (void)row, (void)col;
    absent();
    return NULL;
}

nb_status nb_figure_save(const nb_figure *figure, const char *path)
{
    (void)figure, (void)path;
    return absent();
}

nb_status nb_panel_title(nb_panel *panel, const char *title)
{
    (void)panel, (void)title;
    return absent();
}

nb_status nb_panel_labels(nb_panel *panel, const char *xlabel, const char *ylabel)
{
    (void)panel, (void)xlabel, (void)ylabel;
    return absent();
}

nb_status nb_panel_log_y(nb_panel *panel, bool log_y)
{
    (void)panel, (void)log_y;
    return absent();
}

nb_status nb_panel_xlim(nb_panel *panel, double lo, double hi)
{
    (void)panel, (void)lo, (void)hi;
    return absent();
}

nb_status nb_panel_ylim(nb_panel *panel, double lo, double hi)
{
    (void)panel, (void)lo, (void)hi;
    return absent();
}

nb_status nb_panel_legend(nb_panel *panel, nb_legend_pos pos)
{
    (void)panel, (void)pos;
    return absent();
}

nb_status nb_panel_line(nb_panel *panel, const char *label, const double *x, const double *y, size_t n,
                        const nb_style *style)
{
    (void)panel, (void)label, (void)x, (void)y, (void)n, (void)style;
    return absent();
}

nb_status nb_panel_scatter(nb_panel *panel, const char *label, const double *x, const double *y, size_t n,
                           const nb_style *style)
{
    (void)panel, (void)label, (void)x, (void)y, (void)n, (void)style;
    return absent();
}

nb_status nb_panel_hline(nb_panel *panel, const char *label, double y, const nb_style *style)
{
    (void)panel, (void)label, (void)y, (void)style;
    return absent();
}

nb_status nb_panel_heatmap(nb_panel *panel, const double *values, int rows, int cols,
                           const char *const *row_labels, const char *const *col_labels, bool annotate,
                           const char *colorbar_label)
{
    (void)panel, (void)values, (void)rows, (void)cols, (void)row_labels, (void)col_labels, (void)annotate,
        (void)colorbar_label;
    return absent();
}
