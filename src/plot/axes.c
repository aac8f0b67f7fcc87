/* Axes: the range of data a panel shows, the ticks chosen for an axis's length and
 * their labels (1-2-5 steps, typographic minus, ×10ⁿ multipliers, log decades). */
#include "plot/plot_internal.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

/* Replace an ASCII '-' leading a number by the typographic minus sign. */
void nb_plot_typographic_minus(char *text, size_t size)
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
    nb_plot_typographic_minus(out, size);
}

static double axis_t(const axis *a, double v) { return a->log ? log10(v) : v; }

/* Position of v along the axis: 0 at lo, 1 at hi. */
double nb_plot_axis_frac(const axis *a, double v)
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

double nb_plot_widest_label(cairo_t *cr, const axis *a)
{
    double widest = 0;
    for (int i = 0; i < a->n_major; i++)
        widest = fmax(widest, nb_plot_text_width(cr, a->label[i]));
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
        if (cr && a->n_major > 1 && nb_plot_widest_label(cr, a) + gap > step_px) {
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
        if (cr && trial.n_major > 1 && nb_plot_widest_label(cr, &trial) + gap > finer / (a->hi - a->lo) * length)
            break;
        *a = trial;
        step = finer;
    }
}

/* A vertical axis: a tick about every 3.6 font sizes, at least three when 1.8 apart. */
void nb_plot_choose_vertical_ticks(axis *a, double length, double font)
{
    choose_ticks(a, length, 3.6 * font, 3, 1.8 * font, NULL, 0);
}

/* A horizontal axis: a tick about every 6 font sizes, at least four when their labels
 * stay 1.2 font sizes apart. */
void nb_plot_choose_horizontal_ticks(axis *a, double length, double font, cairo_t *cr)
{
    choose_ticks(a, length, 6 * font, 4, 0, cr, 1.2 * font);
}

void nb_plot_vertical_ticks(double lo, double hi, bool log, double length, double font, nb_plot_ticks *out)
{
    axis a = {.lo = lo, .hi = hi, .log = log};
    nb_plot_choose_vertical_ticks(&a, length, font);
    out->n = a.n_major;
    memcpy(out->value, a.major, sizeof out->value);
    memcpy(out->label, a.label, sizeof out->label);
    memcpy(out->multiplier, a.multiplier, sizeof out->multiplier);
}

/* ==== data ranges ====================================================================== */

bool nb_plot_usable_y(const nb_panel *panel, double y) { return isfinite(y) && (!panel->log_y || y > 0); }

/* The extent of the data a panel shows, in data units. false when it shows none. */
bool nb_plot_data_extent(const nb_panel *panel, double x_range[2], double y_range[2])
{
    x_range[0] = y_range[0] = INFINITY;
    x_range[1] = y_range[1] = -INFINITY;
    for (size_t s = 0; s < panel->n_series; s++) {
        const series *sr = &panel->series[s];
        for (size_t i = 0; i < sr->n; i++) {
            if (!nb_plot_usable_y(panel, sr->y[i]) || (sr->x && !isfinite(sr->x[i])))
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
nb_status nb_plot_view_range(const nb_panel *panel, char name, double data_lo, double data_hi, const double limits[2],
                          bool log, double view[2])
{
    if (log && ((!isnan(limits[0]) && limits[0] <= 0) || (!isnan(limits[1]) && limits[1] <= 0)))
        return nb_plot_layout_fail(panel, NB_EARG, "%c limits [%g, %g] on a log scale must be positive", name,
                                limits[0], limits[1]);
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
        return nb_plot_layout_fail(panel, NB_EARG,
                                "the %c limits [%g, %g] leave nothing of the data range [%g, %g] to show", name,
                                limits[0], limits[1], data_lo, data_hi);
    view[0] = log ? pow(10, lo) : lo;
    view[1] = log ? pow(10, hi) : hi;
    return NB_OK;
}
