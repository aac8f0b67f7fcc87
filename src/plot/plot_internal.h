/* Private to plot.c and its tests: the tick chooser, so that its rules (1-2-5 steps,
 * labels, ×10ⁿ multipliers, log decades) can be checked without drawing. */
#ifndef NABLA_PLOT_INTERNAL_H
#define NABLA_PLOT_INTERNAL_H

#include <stdbool.h>

#define NB_PLOT_MAX_TICKS 48
#define NB_PLOT_LABEL_SIZE 48

typedef struct nb_plot_ticks {
    int n;
    double value[NB_PLOT_MAX_TICKS];
    char label[NB_PLOT_MAX_TICKS][NB_PLOT_LABEL_SIZE];
    char multiplier[NB_PLOT_LABEL_SIZE]; /* "×10⁻⁵" when the labels are scaled, else "" */
} nb_plot_ticks;

/* The major ticks plot.c puts on a vertical axis `length` units long showing [lo, hi]
 * (lo > 0 on a log axis), with tick labels of the given font size. */
void nb_plot_vertical_ticks(double lo, double hi, bool log, double length, double font, nb_plot_ticks *out);

#endif
