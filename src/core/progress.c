/* A progress line for long loops (live on a terminal, plain lines elsewhere) and a small
 * chart of a series in block characters. */
#include "core/core.h"
#include "nabla/core.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <time.h>
#include <unistd.h>

#define LIVE_INTERVAL 0.1   /* seconds between redraws of a live line */
#define PLAIN_INTERVAL 30.0 /* seconds between status lines elsewhere */
#define CLOCK_CHECKS_PER_SECOND 200.0
#define LINE_SIZE 1024

struct nb_progress {
    FILE *stream;
    char *label, *unit;
    int64_t total, done;
    double loss;
    bool live, finished, drawn;
    double start, last_draw;
    /* the hot path compares `done` with next_check and reads the clock only beyond it */
    int64_t next_check, done_at_check;
};

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

static bool is_terminal(FILE *stream)
{
    int fd = fileno(stream);
    if (fd < 0 || !isatty(fd))
        return false;
    const char *term = getenv("TERM");
    return !(term && strcmp(term, "dumb") == 0);
}

/* Columns of the terminal behind the stream, 80 when it will not say. */
static int terminal_columns(FILE *stream)
{
    struct winsize size;
    int fd = fileno(stream);
    if (fd >= 0 && ioctl(fd, TIOCGWINSZ, &size) == 0 && size.ws_col >= 20)
        return size.ws_col;
    return 80;
}

nb_progress *nb_progress_new(FILE *stream, const char *label, int64_t total, const char *unit)
{
    if (!stream) {
        nb_fail(NB_EARG, "nb_progress_new: stream is NULL");
        return NULL;
    }
    if (total < 0) {
        nb_fail(NB_EARG, "nb_progress_new: total %lld is negative (0 means unknown)", (long long)total);
        return NULL;
    }
    nb_progress *progress = nb_calloc(1, sizeof *progress);
    char *label_copy = nb_strdup(label ? label : "");
    char *unit_copy = nb_strdup(unit && *unit ? unit : "it");
    if (!progress || !label_copy || !unit_copy) {
        nb_free(progress);
        nb_free(label_copy);
        nb_free(unit_copy);
        nb_fail(NB_ENOMEM, "nb_progress_new: out of memory");
        return NULL;
    }
    progress->stream = stream;
    progress->label = label_copy;
    progress->unit = unit_copy;
    progress->total = total;
    progress->loss = NAN;
    progress->live = is_terminal(stream);
    progress->start = progress->last_draw = now();
    return progress;
}

bool nb_progress_is_live(const nb_progress *progress) { return progress && progress->live; }

/* ---- formatting ---- */

/* At most five characters: 0.42, 7.3, 412, 4123, 41.2k, 412k, 4.1M, 412M, 4.1G. */
static void format_rate(double rate, char *out, size_t size)
{
    if (rate < 10)
        snprintf(out, size, "%.2f", rate);
    else if (rate < 100)
        snprintf(out, size, "%.1f", rate);
    else if (rate < 9999.5)
        snprintf(out, size, "%.0f", rate);
    else if (rate < 99950)
        snprintf(out, size, "%.1fk", rate / 1e3);
    else if (rate < 999500)
        snprintf(out, size, "%.0fk", rate / 1e3);
    else if (rate < 99950000)
        snprintf(out, size, "%.1fM", rate / 1e6);
    else if (rate < 999500000)
        snprintf(out, size, "%.0fM", rate / 1e6);
    else
        snprintf(out, size, "%.1fG", fmin(rate / 1e9, 99.9));
}

/* m:ss, or h:mm:ss from an hour on. */
static void format_duration(double seconds, char *out, size_t size)
{
    if (!(seconds >= 0) || seconds > 359999)
        seconds = 359999;
    long s = lround(seconds);
    if (s >= 3600)
        snprintf(out, size, "%ld:%02ld:%02ld", s / 3600, s / 60 % 60, s % 60);
    else
        snprintf(out, size, "%ld:%02ld", s / 60, s % 60);
}

/* Display columns of UTF-8 text (one per code point: enough for labels and blocks). */
static size_t display_width(const char *text)
{
    size_t width = 0;
    for (const unsigned char *c = (const unsigned char *)text; *c; c++)
        width += (*c & 0xC0) != 0x80;
    return width;
}

/* The parts of a status, each padded on a live line so that the line does not jump. */
typedef struct status_parts {
    char count[64], rate[64], time[64], loss[48];
} status_parts;

static void format_parts(const nb_progress *p, double elapsed, bool finished, status_parts *parts)
{
    memset(parts, 0, sizeof *parts);
    bool pad = p->live;
    if (p->total > 0) {
        char total[32];
        int digits = snprintf(total, sizeof total, "%lld", (long long)p->total);
        snprintf(parts->count, sizeof parts->count, "%*lld/%s", digits, (long long)p->done, total);
    } else {
        snprintf(parts->count, sizeof parts->count, "%lld %s", (long long)p->done, p->unit);
    }
    if (elapsed > 0 && p->done > 0) {
        char rate[16];
        format_rate((double)p->done / elapsed, rate, sizeof rate);
        snprintf(parts->rate, sizeof parts->rate, "%*s %s/s", pad ? 5 : 0, rate, p->unit);
        if (finished) {
            char took[24];
            snprintf(took, sizeof took, "%.1f s", elapsed);
            snprintf(parts->time, sizeof parts->time, "%*s", pad ? 8 : 0, took); /* as wide as the ETA */
        } else if (p->total > 0) {
            char eta[32];
            double left = p->done < p->total ? (double)(p->total - p->done) * elapsed / (double)p->done : 0;
            format_duration(left, eta, sizeof eta);
            snprintf(parts->time, sizeof parts->time, "ETA %*s", pad ? 4 : 0, eta);
        }
    }
    if (!isnan(p->loss))
        snprintf(parts->loss, sizeof parts->loss, "loss %-*.4g", pad ? 9 : 0, p->loss);
}

/* "count · rate · time · loss", leaving out what the caller drops and what is empty. */
static void join_parts(const status_parts *parts, bool with_rate, bool with_time, char *out, size_t size)
{
    const char *pieces[4] = {parts->count, with_rate ? parts->rate : "", with_time ? parts->time : "",
                             parts->loss};
    size_t used = 0;
    out[0] = '\0';
    for (int k = 0; k < 4; k++) {
        if (!pieces[k][0] || used >= size)
            continue;
        used += (size_t)snprintf(out + used, size - used, "%s%s", used ? " \xC2\xB7 " : "", pieces[k]);
    }
}

/* A bar of `width` cells, filled to `fraction` with eighth-block precision. */
static void format_bar(double fraction, int width, char *out, size_t size)
{
    static const char *const eighths[] = {"", "\xE2\x96\x8F", "\xE2\x96\x8E", "\xE2\x96\x8D", "\xE2\x96\x8C",
                                          "\xE2\x96\x8B", "\xE2\x96\x8A", "\xE2\x96\x89"};
    if (fraction < 0)
        fraction = 0;
    if (fraction > 1)
        fraction = 1;
    int filled = (int)floor(fraction * width * 8);
    size_t used = 0;
    out[0] = '\0';
    for (int cell = 0; cell < width && used + 4 < size; cell++) {
        int eighth = filled - 8 * cell;
        const char *glyph = eighth >= 8 ? "\xE2\x96\x88" : eighth > 0 ? eighths[eighth] : " ";
        used += (size_t)snprintf(out + used, size - used, "%s", glyph);
    }
}

/* Label, percentage, bar and status, fitted to the terminal: when it is narrow the
 * rate goes first, then the bar, then the ETA; what still does not fit is cut. */
static void draw_live(nb_progress *p, double t)
{
    status_parts parts;
    format_parts(p, t - p->start, p->finished, &parts);
    char percent[16] = "", head[256], status[256], bar[256], line[LINE_SIZE];
    if (p->total > 0)
        snprintf(percent, sizeof percent, "%3d%% ", (int)floor(100.0 * (double)p->done / (double)p->total));
    snprintf(head, sizeof head, "%s%s%s", p->label, *p->label ? " " : "", percent);
    int columns = terminal_columns(p->stream) - 1; /* never the last column: some terminals wrap there */
    int room = columns - (int)display_width(head);

    /* attempts in order of preference: {rate, time, bar} */
    static const bool attempts[5][3] = {{1, 1, 1}, {0, 1, 1}, {1, 1, 0}, {0, 1, 0}, {0, 0, 0}};
    int bar_width = 0;
    for (int a = 0; a < 5; a++) {
        join_parts(&parts, attempts[a][0], attempts[a][1], status, sizeof status);
        int status_width = (int)display_width(status);
        bool with_bar = attempts[a][2] && p->total > 0;
        bar_width = with_bar ? room - status_width - 3 : 0;
        if (bar_width > 40)
            bar_width = 40;
        if (with_bar ? bar_width >= 8 : status_width <= room)
            break;
        bar_width = 0;
    }
    if (bar_width > 0) {
        format_bar((double)p->done / (double)p->total, bar_width, bar, sizeof bar);
        snprintf(line, sizeof line, "%s\xE2\x96\x95%s\xE2\x96\x8F %s", head, bar, status);
    } else {
        snprintf(line, sizeof line, "%s%s", head, status);
    }
    /* cut what the terminal cannot hold, on a character boundary */
    size_t width = 0, i = 0;
    for (; line[i]; i++) {
        if (((unsigned char)line[i] & 0xC0) != 0x80 && ++width > (size_t)columns)
            break;
    }
    line[i] = '\0';
    fprintf(p->stream, "\r%s\x1b[K", line);
    fflush(p->stream);
    p->drawn = true;
}

static void draw_plain(nb_progress *p, double t, bool finished)
{
    status_parts parts;
    char status[256];
    format_parts(p, t - p->start, finished, &parts);
    join_parts(&parts, true, true, status, sizeof status);
    fprintf(p->stream, "%s%s%s\n", p->label, *p->label ? ": " : "", status);
    fflush(p->stream);
}

void nb_progress_update(nb_progress *progress, int64_t done, double loss)
{
    if (!progress || progress->finished)
        return;
    progress->done = done;
    progress->loss = loss;
    if (done < progress->next_check && done >= progress->done_at_check)
        return;
    double t = now();
    double elapsed = t - progress->start;
    /* read the clock again after about 1/200 s worth of steps */
    double rate = elapsed > 0 ? (double)done / elapsed : 0;
    int64_t stride = (int64_t)(rate / CLOCK_CHECKS_PER_SECOND);
    progress->done_at_check = done;
    progress->next_check = done + (stride > 1 ? stride : 1);
    if (progress->live) {
        if (!progress->drawn || t - progress->last_draw >= LIVE_INTERVAL) {
            progress->last_draw = t;
            draw_live(progress, t);
        }
    } else if (t - progress->last_draw >= PLAIN_INTERVAL) {
        progress->last_draw = t;
        draw_plain(progress, t, false);
    }
}

void nb_progress_note(nb_progress *progress, const char *fmt, ...)
{
    if (!progress || !fmt)
        return;
    if (progress->live && progress->drawn)
        fputs("\r\x1b[K", progress->stream);
    va_list args;
    va_start(args, fmt);
    vfprintf(progress->stream, fmt, args);
    va_end(args);
    fputc('\n', progress->stream);
    if (progress->live && progress->drawn && !progress->finished)
        draw_live(progress, now());
    fflush(progress->stream);
}

void nb_progress_finish(nb_progress *progress)
{
    if (!progress || progress->finished)
        return;
    double t = now();
    progress->finished = true;
    if (progress->live) {
        draw_live(progress, t);
        fputc('\n', progress->stream);
    } else {
        draw_plain(progress, t, true);
    }
    fflush(progress->stream);
}

void nb_progress_free(nb_progress *progress)
{
    if (!progress)
        return;
    nb_progress_finish(progress);
    nb_free(progress->label);
    nb_free(progress->unit);
    nb_free(progress);
}

/* ==== a chart in text ================================================================== */

static bool chartable(double v, bool log_y) { return isfinite(v) && (!log_y || v > 0); }

/* %.4g without trailing noise, with x values that are whole printed as such. */
static void chart_number(double v, char *out, size_t size)
{
    if (v == floor(v) && fabs(v) < 1e9)
        snprintf(out, size, "%.0f", v);
    else
        snprintf(out, size, "%.4g", v);
}

/* The value each column shows: the mean of the values that fall in it (of their
 * logarithms on a log scale); NAN for an empty column. */
static void column_values(const double *values, size_t n, int columns, bool log_y, double *out)
{
    for (int c = 0; c < columns; c++) {
        size_t first = (size_t)((double)c * (double)n / columns);
        size_t last = (size_t)((double)(c + 1) * (double)n / columns); /* exclusive */
        if (last <= first)
            last = first + 1;
        if (last > n)
            last = n;
        double sum = 0;
        size_t count = 0;
        for (size_t i = first; i < last; i++)
            if (chartable(values[i], log_y)) {
                sum += log_y ? log10(values[i]) : values[i];
                count++;
            }
        out[c] = count ? sum / (double)count : NAN;
    }
}

/* The geometry of a text chart. */
typedef struct chart_shape {
    int height;  /* rows */
    int gutter;  /* width of the y labels */
    int columns; /* of the plot */
    int repeat;  /* columns per sample */
    int samples; /* values shown: columns / repeat */
    char top_label[32], bottom_label[32];
} chart_shape;

/* The smallest and largest chartable values; false when there is none. */
static bool chart_range(const double *values, size_t n, bool log_y, double *lo, double *hi)
{
    *lo = INFINITY, *hi = -INFINITY;
    for (size_t i = 0; i < n; i++)
        if (chartable(values[i], log_y)) {
            *lo = fmin(*lo, values[i]);
            *hi = fmax(*hi, values[i]);
        }
    return *lo <= *hi;
}

/* The plot's columns when the caller chose none: 60, or one per value up to 100, less
 * on a narrower terminal. */
static int chart_width(FILE *stream, size_t n, int gutter)
{
    int most = 100;
    if (fileno(stream) >= 0 && isatty(fileno(stream)))
        most = (int)fmin(100, terminal_columns(stream) - gutter - 4);
    int width = most < 60 ? most : 60;
    if (n > (size_t)width && n <= (size_t)most)
        width = (int)n; /* a column per value rather than uneven averages */
    return width < 10 ? 10 : width;
}

static void chart_layout(FILE *stream, size_t n, const nb_text_chart_opts *o, double lo, double hi,
                         chart_shape *shape)
{
    shape->height = o->height ? o->height : 6;
    chart_number(hi, shape->top_label, sizeof shape->top_label);
    chart_number(lo, shape->bottom_label, sizeof shape->bottom_label);
    shape->gutter = (int)fmax(strlen(shape->top_label), strlen(shape->bottom_label));
    int width = o->width ? o->width : chart_width(stream, n, shape->gutter);
    /* fewer values than columns: each value gets the same whole number of columns */
    shape->repeat = 1, shape->columns = width;
    if (n < (size_t)width) {
        shape->repeat = width / (int)n;
        shape->columns = (int)n * shape->repeat;
    }
    shape->samples = shape->columns / shape->repeat;
}

/* Each sample's height in eighths of a row: 0 for an empty column; the smallest value
 * still shows as one eighth. */
static void chart_levels(const double *values, size_t n, bool log_y, double lo, double hi, const chart_shape *shape,
                         double *level)
{
    column_values(values, n, shape->samples, log_y, level);
    double t_lo = log_y ? log10(lo) : lo, t_hi = log_y ? log10(hi) : hi;
    int steps = 8 * shape->height;
    for (int c = 0; c < shape->samples; c++) {
        if (isnan(level[c]))
            level[c] = 0;
        else if (t_hi > t_lo)
            level[c] = 1 + round((level[c] - t_lo) / (t_hi - t_lo) * (steps - 1));
        else
            level[c] = (double)steps / 2;
    }
}

/* The rows of blocks, top first, with the y labels and the x axis line. */
static void print_chart_rows(FILE *stream, const chart_shape *shape, const double *level)
{
    static const char *const blocks[] = {" ", "\xE2\x96\x81", "\xE2\x96\x82", "\xE2\x96\x83", "\xE2\x96\x84",
                                         "\xE2\x96\x85", "\xE2\x96\x86", "\xE2\x96\x87", "\xE2\x96\x88"};
    int top = shape->height - 1;
    for (int row = top; row >= 0; row--) {
        const char *label = row == top ? shape->top_label : row == 0 ? shape->bottom_label : "";
        const char *tick = row == top || row == 0 ? "\xE2\x94\xA4" : "\xE2\x94\x82"; /* ┤ │ */
        fprintf(stream, "%*s %s", shape->gutter, label, tick);
        for (int c = 0; c < shape->columns; c++) {
            int eighths = (int)level[c / shape->repeat] - 8 * row;
            fputs(blocks[eighths >= 8 ? 8 : eighths > 0 ? eighths : 0], stream);
        }
        fputc('\n', stream);
    }
    fprintf(stream, "%*s \xE2\x94\x94", shape->gutter, ""); /* └ */
    for (int c = 0; c < shape->columns; c++)
        fputs("\xE2\x94\x80", stream); /* ─ */
    fputc('\n', stream);
}

/* The x of the first value under the first column, of the last under the last. */
static void print_chart_x_labels(FILE *stream, const chart_shape *shape, size_t n, const nb_text_chart_opts *o)
{
    double x_first = 1, x_last = (double)n;
    if (o->x_first != 0 || o->x_last != 0)
        x_first = o->x_first, x_last = o->x_last;
    char first[32], last[32];
    chart_number(x_first, first, sizeof first);
    chart_number(x_last, last, sizeof last);
    int room = shape->columns - (int)strlen(first);
    if (room < (int)strlen(last) + 1)
        room = (int)strlen(last) + 1;
    fprintf(stream, "%*s  %s%*s\n", shape->gutter, "", first, room, n > 1 ? last : "");
}

nb_status nb_text_chart(FILE *stream, const double *values, size_t n, const nb_text_chart_opts *opts)
{
    if (!stream || !values)
        return nb_fail(NB_EARG, "nb_text_chart: %s is NULL", stream ? "values" : "stream");
    if (n == 0)
        return nb_fail(NB_EARG, "nb_text_chart: no values to chart");
    nb_text_chart_opts o = opts ? *opts : (nb_text_chart_opts){0};
    if (o.width < 0 || o.width > 1000 || o.height < 0 || o.height > 100)
        return nb_fail(NB_EARG, "nb_text_chart: a chart of %d x %d: width must be 0 to 1000, height 0 to 100",
                       o.width, o.height);
    double lo, hi;
    if (!chart_range(values, n, o.log_y, &lo, &hi))
        return nb_fail(NB_ENUMERIC, "nb_text_chart: none of the %zu values is %s", n,
                       o.log_y ? "positive and finite (log scale)" : "finite");
    chart_shape shape;
    chart_layout(stream, n, &o, lo, hi, &shape);
    double *level = nb_alloc_or_fail((size_t)shape.samples * sizeof(double), "a text chart");
    if (!level)
        return NB_ENOMEM;
    chart_levels(values, n, o.log_y, lo, hi, &shape, level);
    if (o.title)
        fprintf(stream, "%*s%s\n", shape.gutter + 2, "", o.title);
    print_chart_rows(stream, &shape, level);
    print_chart_x_labels(stream, &shape, n, &o);
    nb_free(level);
    if (ferror(stream))
        return nb_fail(NB_EIO, "nb_text_chart: writing the chart failed");
    return NB_OK;
}
