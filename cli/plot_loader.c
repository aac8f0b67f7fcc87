/* The program's plots come from a module, nabla-plot.so (nabla::plot with cairo and
 * giflib), loaded with dlopen at the first figure call: a run that draws nothing loads
 * neither cairo nor giflib nor the libraries they pull in (fontconfig, freetype, pixman,
 * png, X11), which cost more start-up time than the rest of the program. CMakeLists.txt
 * compiles this file when the program is built with plots (plot_absent.c otherwise);
 * both define the same figure calls, and a call added to the program goes into both.
 *
 * The module is found as cli/module.h says (beside the program, then where it is
 * installed). */
#include "cli.h"

#include <dlfcn.h>
#include <stdio.h>

#include "module.h"

#ifndef NB_PLOT_MODULE
#define NB_PLOT_MODULE "nabla-plot.so"
#endif

static void *module;
static const char *(*module_errmsg)(void);
static nb_status (*module_errcode)(void);

/* A function of the module, loading it first; NULL with a message when it cannot be. */
static void *plot_symbol(const char *name)
{
    static char why[512];
    if (!module && !why[0]) {
        module = cli_module_open(NB_PLOT_MODULE, why, sizeof why);
        if (module) {
            module_errmsg = (const char *(*)(void))dlsym(module, "nb_errmsg");
            module_errcode = (nb_status(*)(void))dlsym(module, "nb_errcode");
        }
    }
    void *symbol = module ? dlsym(module, name) : NULL;
    if (!symbol) {
        const char *reason = module ? dlerror() : why;
        nb_fail(NB_ESTATE, "cannot draw: nabla's plotting module %s cannot be loaded (%s); reinstall nabla, or run "
                           "without --plot", NB_PLOT_MODULE, reason ? reason : "no such function");
    }
    return symbol;
}

/* The module may hold its own copy of the core (a static build): its message is copied
 * into the program's, where cli_error reads it. */
static void relay_message(void)
{
    if (!module_errmsg || !module_errcode || module_errmsg == nb_errmsg)
        return;
    char message[1024];
    snprintf(message, sizeof message, "%s", module_errmsg());
    nb_fail(module_errcode(), "%s", message);
}

static nb_status relay(nb_status status)
{
    if (status != NB_OK)
        relay_message();
    return status;
}

static void *relay_pointer(void *pointer)
{
    if (!pointer)
        relay_message();
    return pointer;
}

/* The module's function `name`, found once. */
#define FUNCTION(name)                                                                                                \
    static __typeof__(name) *fn;                                                                                      \
    if (!fn)                                                                                                          \
        fn = (__typeof__(name) *)plot_symbol(#name)

#define RETURN_STATUS(name, ...)                                                                                      \
    FUNCTION(name);                                                                                                   \
    return fn ? relay(fn(__VA_ARGS__)) : nb_errcode()

uint32_t nb_viridis(double t)
{
    FUNCTION(nb_viridis);
    return fn ? fn(t) : 0;
}

nb_figure *nb_figure_new(double width, double height, int rows, int cols)
{
    FUNCTION(nb_figure_new);
    return fn ? relay_pointer(fn(width, height, rows, cols)) : NULL;
}

void nb_figure_free(nb_figure *figure)
{
    if (!figure)
        return;
    FUNCTION(nb_figure_free);
    if (fn)
        fn(figure);
}

nb_status nb_figure_title(nb_figure *figure, const char *title) { RETURN_STATUS(nb_figure_title, figure, title); }

nb_status nb_figure_row_heights(nb_figure *figure, const double *weights)
{
    RETURN_STATUS(nb_figure_row_heights, figure, weights);
}

nb_panel *nb_figure_panel(nb_figure *figure, int row, int col)
{
    FUNCTION(nb_figure_panel);
    return fn ? relay_pointer(fn(figure, row, col)) : NULL;
}

nb_status nb_figure_save(const nb_figure *figure, const char *path) { RETURN_STATUS(nb_figure_save, figure, path); }
nb_status nb_panel_title(nb_panel *panel, const char *title) { RETURN_STATUS(nb_panel_title, panel, title); }

nb_status nb_panel_labels(nb_panel *panel, const char *xlabel, const char *ylabel)
{
    RETURN_STATUS(nb_panel_labels, panel, xlabel, ylabel);
}

nb_status nb_panel_log_y(nb_panel *panel, bool log_y) { RETURN_STATUS(nb_panel_log_y, panel, log_y); }
nb_status nb_panel_xlim(nb_panel *panel, double lo, double hi) { RETURN_STATUS(nb_panel_xlim, panel, lo, hi); }
nb_status nb_panel_ylim(nb_panel *panel, double lo, double hi) { RETURN_STATUS(nb_panel_ylim, panel, lo, hi); }
nb_status nb_panel_legend(nb_panel *panel, nb_legend_pos pos) { RETURN_STATUS(nb_panel_legend, panel, pos); }

nb_status nb_panel_line(nb_panel *panel, const char *label, const double *x, const double *y, size_t n,
                        const nb_style *style)
{
    RETURN_STATUS(nb_panel_line, panel, label, x, y, n, style);
}

nb_status nb_panel_scatter(nb_panel *panel, const char *label, const double *x, const double *y, size_t n,
                           const nb_style *style)
{
    RETURN_STATUS(nb_panel_scatter, panel, label, x, y, n, style);
}

nb_status nb_panel_hline(nb_panel *panel, const char *label, double y, const nb_style *style)
{
    RETURN_STATUS(nb_panel_hline, panel, label, y, style);
}

nb_status nb_panel_heatmap(nb_panel *panel, const double *values, int rows, int cols,
                           const char *const *row_labels, const char *const *col_labels, bool annotate,
                           const char *colorbar_label)
{
    RETURN_STATUS(nb_panel_heatmap, panel, values, rows, cols, row_labels, col_labels, annotate, colorbar_label);
}

nb_animation *nb_animation_new(int width, int height, int delay_cs)
{
    FUNCTION(nb_animation_new);
    return fn ? relay_pointer(fn(width, height, delay_cs)) : NULL;
}

void nb_animation_free(nb_animation *anim)
{
    if (!anim)
        return;
    FUNCTION(nb_animation_free);
    if (fn)
        fn(anim);
}

nb_status nb_animation_add(nb_animation *anim, const nb_figure *frame) { RETURN_STATUS(nb_animation_add, anim, frame); }
nb_status nb_animation_save(const nb_animation *anim, const char *path) { RETURN_STATUS(nb_animation_save, anim, path); }
