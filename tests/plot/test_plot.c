/* Figures: valid PNG/SVG/PDF files of the stated size, atomic writes, the tick rules,
 * and a clear error for every bad input. */
#include "nb_test.h"
#include "plot/plot_internal.h"

#include <cairo.h>
#include <fontconfig/fontconfig.h>
#include <dirent.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

/* ---- helpers ---------------------------------------------------------------------- */

static char dir[64];

static int make_dir(void **state)
{
    (void)state;
    snprintf(dir, sizeof dir, "/tmp/nb_plot_XXXXXX");
    return mkdtemp(dir) ? 0 : -1;
}

static int remove_dir(void **state)
{
    (void)state;
    DIR *d = opendir(dir);
    if (!d)
        return 0;
    struct dirent *entry;
    char path[512];
    while ((entry = readdir(d)))
        if (strcmp(entry->d_name, ".") && strcmp(entry->d_name, "..")) {
            snprintf(path, sizeof path, "%s/%s", dir, entry->d_name);
            if (rmdir(path) != 0)
                unlink(path);
        }
    closedir(d);
    rmdir(dir);
    return 0;
}

static const char *in_dir(const char *name)
{
    static char path[4][512];
    static int next;
    char *p = path[next++ % 4];
    snprintf(p, 512, "%s/%s", dir, name);
    return p;
}

/* The whole file, NUL-terminated; *size gets its length. */
static char *slurp(const char *path, size_t *size)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return NULL;
    fseek(f, 0, SEEK_END);
    long length = ftell(f);
    fseek(f, 0, SEEK_SET);
    char *data = malloc((size_t)length + 1);
    size_t got = fread(data, 1, (size_t)length, f);
    fclose(f);
    data[got] = '\0';
    if (size)
        *size = got;
    return data;
}

static void write_text(const char *path, const char *text)
{
    FILE *f = fopen(path, "wb");
    assert_non_null(f);
    fputs(text, f);
    fclose(f);
}

/* Entries in the test directory whose name contains `part`. */
static int count_entries(const char *part)
{
    DIR *d = opendir(dir);
    assert_non_null(d);
    int count = 0;
    struct dirent *entry;
    while ((entry = readdir(d)))
        if (strcmp(entry->d_name, ".") && strcmp(entry->d_name, "..") && strstr(entry->d_name, part))
            count++;
    closedir(d);
    return count;
}

static bool file_exists(const char *path)
{
    struct stat st;
    return stat(path, &st) == 0;
}

/* A small figure: a scatter and a line in panel (0, 0). */
static nb_figure *simple_figure(double width, double height)
{
    double x[40], y[40], fit[40];
    for (int i = 0; i < 40; i++) {
        x[i] = i / 4.0;
        y[i] = sin(x[i]) + 0.1 * cos(7 * x[i]);
        fit[i] = sin(x[i]);
    }
    nb_figure *figure = nb_figure_new(width, height, 1, 1);
    assert_non_null(figure);
    nb_panel *panel = nb_figure_panel(figure, 0, 0);
    assert_int_equal(nb_panel_title(panel, "a test figure"), NB_OK);
    assert_int_equal(nb_panel_labels(panel, "x", "y"), NB_OK);
    assert_int_equal(nb_panel_scatter(panel, "data", x, y, 40, NULL), NB_OK);
    assert_int_equal(nb_panel_line(panel, "fit", x, fit, 40, NULL), NB_OK);
    return figure;
}

/* Pixels of the PNG with exactly this colour. */
static int count_color(cairo_surface_t *image, uint32_t rgb)
{
    cairo_surface_flush(image);
    int width = cairo_image_surface_get_width(image), height = cairo_image_surface_get_height(image);
    int stride = cairo_image_surface_get_stride(image);
    const unsigned char *data = cairo_image_surface_get_data(image);
    int count = 0;
    for (int y = 0; y < height; y++)
        for (int x = 0; x < width; x++) {
            uint32_t pixel = *(const uint32_t *)(data + y * stride + 4 * x) & 0xFFFFFF;
            count += pixel == (rgb & 0xFFFFFF);
        }
    return count;
}

/* ---- formats ------------------------------------------------------------------------- */

static void test_png_is_valid_and_sized(void **state)
{
    (void)state;
    nb_figure *figure = simple_figure(640, 400);
    const char *path = in_dir("figure.png");
    assert_int_equal(nb_figure_save(figure, path), NB_OK);
    nb_figure_free(figure);

    size_t size = 0;
    char *data = slurp(path, &size);
    assert_non_null(data);
    assert_true(size > 1000);
    assert_memory_equal(data, "\x89PNG\r\n\x1a\n", 8);
    free(data);

    cairo_surface_t *image = cairo_image_surface_create_from_png(path);
    assert_int_equal(cairo_surface_status(image), CAIRO_STATUS_SUCCESS);
    assert_int_equal(cairo_image_surface_get_width(image), 640);
    assert_int_equal(cairo_image_surface_get_height(image), 400);
    /* a white background with something drawn on it: the cycle's first two colours */
    assert_true(count_color(image, 0xFFFFFF) > 640 * 400 / 2);
    assert_true(count_color(image, 0x0072B2) > 50); /* the scatter's blue */
    assert_true(count_color(image, 0xD55E00) > 50); /* the line's vermillion */
    cairo_surface_destroy(image);
    struct stat st;
    assert_int_equal(stat(path, &st), 0);
    assert_int_equal(st.st_mode & 0777, 0644);
}

static void test_svg_is_valid_and_sized(void **state)
{
    (void)state;
    nb_figure *figure = simple_figure(500, 300);
    const char *path = in_dir("figure.svg");
    assert_int_equal(nb_figure_save(figure, path), NB_OK);
    nb_figure_free(figure);
    char *text = slurp(path, NULL);
    assert_non_null(text);
    assert_int_equal(strncmp(text, "<?xml version=\"1.0\"", 19), 0);
    char *svg = strstr(text, "<svg ");
    assert_non_null(svg);
    assert_non_null(strstr(svg, "width=\"500pt\""));
    assert_non_null(strstr(svg, "height=\"300pt\""));
    assert_non_null(strstr(svg, "viewBox=\"0 0 500 300\""));
    assert_non_null(strstr(text, "</svg>"));
    free(text);
}

static void test_pdf_is_valid_and_sized(void **state)
{
    (void)state;
    nb_figure *figure = simple_figure(432, 288);
    const char *path = in_dir("figure.PDF"); /* the extension in any case */
    assert_int_equal(nb_figure_save(figure, path), NB_OK);
    nb_figure_free(figure);
    size_t size = 0;
    char *data = slurp(path, &size);
    assert_non_null(data);
    assert_int_equal(strncmp(data, "%PDF-", 5), 0);
    /* compressed streams hold NUL bytes: search the whole file */
    assert_non_null(memmem(data, size, "/MediaBox [ 0 0 432 288 ]", 25));
    assert_true(size > 6);
    assert_non_null(strstr(data + size - 7, "%%EOF"));
    assert_null(memmem(data, size, "CreationDate", 12)); /* nothing that changes from run to run */
    free(data);
}

/* The same figure gives the same bytes, in every format. */
static void test_output_is_deterministic(void **state)
{
    (void)state;
    static const char *const names[][2] = {
        {"a.png", "b.png"}, {"a.svg", "b.svg"}, {"a.pdf", "b.pdf"}};
    for (int f = 0; f < 3; f++) {
        for (int k = 0; k < 2; k++) {
            nb_figure *figure = simple_figure(400, 300);
            assert_int_equal(nb_figure_save(figure, in_dir(names[f][k])), NB_OK);
            nb_figure_free(figure);
        }
        size_t size_a = 0, size_b = 0;
        char *a = slurp(in_dir(names[f][0]), &size_a), *b = slurp(in_dir(names[f][1]), &size_b);
        assert_int_equal(size_a, size_b);
        assert_memory_equal(a, b, size_a);
        free(a);
        free(b);
    }
}

/* ---- atomic writes ------------------------------------------------------------------- */

static void test_atomic_write_leaves_no_temporary(void **state)
{
    (void)state;
    const char *path = in_dir("atomic.png");
    write_text(path, "old contents");
    nb_figure *figure = simple_figure(300, 200);
    assert_int_equal(nb_figure_save(figure, path), NB_OK);
    assert_int_equal(nb_figure_save(figure, in_dir("atomic.svg")), NB_OK);
    nb_figure_free(figure);
    assert_int_equal(count_entries(".tmp."), 0);
    char *data = slurp(path, NULL);
    assert_memory_equal(data, "\x89PNG", 4); /* replaced */
    free(data);
}

/* A failure found while laying out touches nothing: the old file stays. */
static void test_failure_keeps_the_old_file(void **state)
{
    (void)state;
    const char *path = in_dir("keep.png");
    write_text(path, "old contents");
    double y[3] = {-1, -2, -3};
    nb_figure *figure = nb_figure_new(300, 200, 1, 1);
    nb_panel *panel = nb_figure_panel(figure, 0, 0);
    assert_int_equal(nb_panel_line(panel, "negative", NULL, y, 3, NULL), NB_OK);
    assert_int_equal(nb_panel_log_y(panel, true), NB_OK);
    assert_int_equal(nb_figure_save(figure, path), NB_ENUMERIC);
    assert_non_null(strstr(nb_errmsg(), "log scale"));
    assert_non_null(strstr(nb_errmsg(), "keep.png"));
    nb_figure_free(figure);
    char *data = slurp(path, NULL);
    assert_string_equal(data, "old contents");
    free(data);
    assert_int_equal(count_entries(".tmp."), 0);
}

/* A write that fails half-way (the file size limit here) leaves the old file whole and
 * no temporary behind. */
static void test_failed_write_keeps_the_old_file(void **state)
{
    (void)state;
    const char *path = in_dir("limited.png");
    write_text(path, "old contents");
    struct rlimit saved, limit;
    assert_int_equal(getrlimit(RLIMIT_FSIZE, &saved), 0);
    void (*old_handler)(int) = signal(SIGXFSZ, SIG_IGN);
    limit = saved;
    limit.rlim_cur = 4096;
    assert_int_equal(setrlimit(RLIMIT_FSIZE, &limit), 0);
    nb_figure *figure = simple_figure(1200, 900);
    nb_status status = nb_figure_save(figure, path);
    setrlimit(RLIMIT_FSIZE, &saved);
    signal(SIGXFSZ, old_handler);
    nb_figure_free(figure);
    assert_int_equal(status, NB_EIO);
    assert_non_null(strstr(nb_errmsg(), "limited.png"));
    char *data = slurp(path, NULL);
    assert_string_equal(data, "old contents");
    free(data);
    assert_int_equal(count_entries(".tmp."), 0);
}

static void test_unwritable_places(void **state)
{
    (void)state;
    nb_figure *figure = simple_figure(300, 200);
    assert_int_equal(nb_figure_save(figure, "/nonexistent-nabla-dir/plot.png"), NB_EIO);
    assert_non_null(strstr(nb_errmsg(), "/nonexistent-nabla-dir/plot.png"));
    assert_non_null(strstr(nb_errmsg(), "No such file or directory"));

    /* a directory in the way: rename fails, the directory and its neighbours stay */
    const char *blocked = in_dir("blocked.png");
    assert_int_equal(mkdir(blocked, 0755), 0);
    assert_int_equal(nb_figure_save(figure, blocked), NB_EIO);
    assert_non_null(strstr(nb_errmsg(), "blocked.png"));
    struct stat st;
    assert_int_equal(stat(blocked, &st), 0);
    assert_true(S_ISDIR(st.st_mode));
    assert_int_equal(count_entries(".tmp."), 0);
    nb_figure_free(figure);
}

static void test_unknown_extension(void **state)
{
    (void)state;
    nb_figure *figure = simple_figure(300, 200);
    static const char *const bad[] = {"plot.jpg", "plot", "plot.png.txt", "out.png/plot"};
    for (int i = 0; i < 4; i++) {
        assert_int_equal(nb_figure_save(figure, in_dir(bad[i])), NB_EARG);
        assert_non_null(strstr(nb_errmsg(), ".png, .svg or .pdf"));
        assert_non_null(strstr(nb_errmsg(), bad[i]));
    }
    assert_int_equal(nb_figure_save(figure, ""), NB_EARG);
    assert_int_equal(nb_figure_save(figure, NULL), NB_EARG);
    assert_int_equal(nb_figure_save(NULL, in_dir("x.png")), NB_EARG);
    nb_figure_free(figure);
    assert_int_equal(count_entries("plot"), 0);
}

/* ---- data ------------------------------------------------------------------------------ */

/* NaN and infinite points are skipped and break the line: a thick red line with a hole
 * in its middle shows two red stretches with a gap between them. */
static void test_nonfinite_points_break_the_line(void **state)
{
    (void)state;
    double y[21];
    for (int i = 0; i < 21; i++)
        y[i] = i >= 9 && i <= 11 ? (i == 10 ? INFINITY : NAN) : 1.0;
    nb_figure *figure = nb_figure_new(600, 300, 1, 1);
    nb_panel *panel = nb_figure_panel(figure, 0, 0);
    nb_style red = {.color = NB_RGB(255, 0, 0), .width = 8};
    assert_int_equal(nb_panel_line(panel, NULL, NULL, y, 21, &red), NB_OK);
    const char *path = in_dir("gap.png");
    assert_int_equal(nb_figure_save(figure, path), NB_OK);
    nb_figure_free(figure);

    cairo_surface_t *image = cairo_image_surface_create_from_png(path);
    assert_int_equal(cairo_surface_status(image), CAIRO_STATUS_SUCCESS);
    int width = cairo_image_surface_get_width(image), height = cairo_image_surface_get_height(image);
    int stride = cairo_image_surface_get_stride(image);
    const unsigned char *data = cairo_image_surface_get_data(image);
    int first = width, last = -1, longest_gap = 0, gap = 0;
    for (int x = 0; x < width; x++) {
        bool red_column = false;
        for (int row = 0; row < height && !red_column; row++)
            red_column = (*(const uint32_t *)(data + row * stride + 4 * x) & 0xFFFFFF) == 0xFF0000;
        if (red_column) {
            if (last >= 0 && gap > longest_gap)
                longest_gap = gap;
            gap = 0;
            first = x < first ? x : first;
            last = x;
        } else {
            gap++;
        }
    }
    cairo_surface_destroy(image);
    assert_true(last - first > width / 2); /* the line spans the plot */
    /* four missing steps of 20 over a plot of about 500 pixels: a gap of ~100 */
    assert_true(longest_gap > 60);
}

/* A long panel title over a plot with wide tick labels on its left: centred over the
 * plot, it is shrunk to stay inside the figure, not cut at its right edge. */
static void test_long_title_stays_inside(void **state)
{
    (void)state;
    double x[3] = {0, 1, 2}, y[3] = {123456.5, 234567.25, 345678.125};
    nb_figure *figure = nb_figure_new(500, 300, 1, 1);
    nb_panel *panel = nb_figure_panel(figure, 0, 0);
    nb_panel_title(panel, "Levenberg-Marquardt: b1 = 238.942, b2 = 0.000550156   (SSE 0.1246, R\xc2\xb2 0.999982)");
    nb_panel_labels(panel, "x", "a quantity with a long name");
    nb_panel_scatter(panel, NULL, x, y, 3, NULL);
    const char *path = in_dir("title.png");
    assert_int_equal(nb_figure_save(figure, path), NB_OK);
    nb_figure_free(figure);
    cairo_surface_t *image = cairo_image_surface_create_from_png(path);
    assert_int_equal(cairo_surface_status(image), CAIRO_STATUS_SUCCESS);
    int width = cairo_image_surface_get_width(image), height = cairo_image_surface_get_height(image);
    int stride = cairo_image_surface_get_stride(image);
    const unsigned char *data = cairo_image_surface_get_data(image);
    int inked = 0; /* the two rightmost columns are the figure's padding: white */
    for (int row = 0; row < height; row++)
        for (int col = width - 2; col < width; col++)
            inked += (*(const uint32_t *)(data + row * stride + 4 * col) & 0xFFFFFF) != 0xFFFFFF;
    cairo_surface_destroy(image);
    assert_int_equal(inked, 0);
}

static void test_heatmap_colours(void **state)
{
    (void)state;
    double values[9] = {0, 1, 2, 3, 4, 5, 6, 7, 8};
    static const char *const names[3] = {"cat", "dog", "bird"};
    nb_figure *figure = nb_figure_new(500, 450, 1, 1);
    nb_panel *panel = nb_figure_panel(figure, 0, 0);
    nb_panel_labels(panel, "predicted", "true");
    assert_int_equal(nb_panel_heatmap(panel, values, 3, 3, names, names, true, "count"), NB_OK);
    const char *path = in_dir("heat.png");
    assert_int_equal(nb_figure_save(figure, path), NB_OK);
    nb_figure_free(figure);
    cairo_surface_t *image = cairo_image_surface_create_from_png(path);
    assert_int_equal(cairo_image_surface_get_width(image), 500);
    /* the smallest value is viridis' dark purple, the largest its yellow: whole cells */
    assert_true(count_color(image, 0x440154) > 1000);
    assert_true(count_color(image, 0xFDE725) > 1000);
    cairo_surface_destroy(image);
}

static void test_viridis(void **state)
{
    (void)state;
    assert_int_equal(nb_viridis(0), NB_RGB(0x44, 0x01, 0x54));
    assert_int_equal(nb_viridis(1), NB_RGB(0xFD, 0xE7, 0x25));
    assert_int_equal(nb_viridis(0.5), NB_RGB(0x21, 0x91, 0x8C));
    assert_int_equal(nb_viridis(-3), nb_viridis(0));
    assert_int_equal(nb_viridis(NAN), nb_viridis(0));
    assert_int_equal(nb_viridis(7), nb_viridis(1));
    /* halfway between the stops at 0 and 0.1: the mean of 0x440154 and 0x482475 */
    assert_int_equal(nb_viridis(0.05), NB_RGB(0x46, 0x13, 0x65));
}

/* Everything a figure can hold, in one: stacked and side-by-side panels, a blank one, a
 * log axis, limits, a legend position, a heat map with non-finite cells. */
static void test_full_figure(void **state)
{
    (void)state;
    double loss[30], x[30];
    for (int i = 0; i < 30; i++) {
        x[i] = i;
        loss[i] = 2.0 * exp(-0.4 * i) + 1e-4;
    }
    nb_figure *figure = nb_figure_new(900, 700, 2, 2);
    assert_int_equal(nb_figure_title(figure, "everything"), NB_OK);
    assert_int_equal(nb_figure_row_heights(figure, (double[]){2, 1}), NB_OK);
    nb_panel *a = nb_figure_panel(figure, 0, 0), *b = nb_figure_panel(figure, 0, 1);
    nb_panel *c = nb_figure_panel(figure, 1, 0);
    assert_int_equal(nb_panel_log_y(a, true), NB_OK);
    assert_int_equal(nb_panel_line(a, "loss", x, loss, 30, NULL), NB_OK);
    assert_int_equal(nb_panel_hline(a, "target", 1e-3, NULL), NB_OK);
    assert_int_equal(nb_panel_legend(a, NB_LEGEND_LOWER_LEFT), NB_OK);
    assert_int_equal(nb_panel_ylim(b, 0, NAN), NB_OK);
    assert_int_equal(nb_panel_xlim(b, -1e6, 3e6), NB_OK);
    assert_int_equal(nb_panel_scatter(b, "big", (double[]){0, 1e6, 2e6}, (double[]){1e-7, 3e-7, 2e-7}, 3,
                                      &(nb_style){.color = NB_CYCLE(3), .alpha = 0.5, .width = 10}),
                     NB_OK);
    double cells[4] = {1.5, NAN, -2.25, INFINITY};
    assert_int_equal(nb_panel_heatmap(c, cells, 2, 2, NULL, NULL, true, NULL), NB_OK);
    /* panel (1, 1) stays blank */
    assert_int_equal(nb_figure_save(figure, in_dir("full.png")), NB_OK);
    assert_int_equal(nb_figure_save(figure, in_dir("full.svg")), NB_OK);
    assert_int_equal(nb_figure_save(figure, in_dir("full.pdf")), NB_OK);
    nb_figure_free(figure);
}

/* ---- ticks --------------------------------------------------------------------------- */

static void assert_ticks(const nb_plot_ticks *ticks, int n, const double *values, const char *const *labels,
                         const char *multiplier)
{
    assert_int_equal(ticks->n, n);
    for (int i = 0; i < n; i++) {
        assert_close(ticks->value[i], values[i], 1e-12 * fmax(1, fabs(values[i])));
        assert_string_equal(ticks->label[i], labels[i]);
    }
    assert_string_equal(ticks->multiplier, multiplier);
}

/* With font 10 a vertical axis wants a tick every 36 units: 180 units hold 5 steps. */
static void test_linear_ticks(void **state)
{
    (void)state;
    nb_plot_ticks t;
    nb_plot_vertical_ticks(0, 1, false, 180, 10, &t);
    assert_ticks(&t, 6, (double[]){0, 0.2, 0.4, 0.6, 0.8, 1},
                 (const char *[]){"0.0", "0.2", "0.4", "0.6", "0.8", "1.0"}, "");

    /* negative numbers use the minus sign U+2212, and zero is never "-0" */
    nb_plot_vertical_ticks(-1, 1, false, 180, 10, &t);
    assert_ticks(&t, 5, (double[]){-1, -0.5, 0, 0.5, 1},
                 (const char *[]){"\xE2\x88\x92" "1.0", "\xE2\x88\x92" "0.5", "0.0", "0.5", "1.0"}, "");

    nb_plot_vertical_ticks(-3.7, 12.2, false, 360, 10, &t);
    assert_ticks(&t, 8, (double[]){-2, 0, 2, 4, 6, 8, 10, 12},
                 (const char *[]){"\xE2\x88\x92" "2", "0", "2", "4", "6", "8", "10", "12"}, "");

    /* tiny and huge ranges: short labels and a ×10ⁿ multiplier */
    nb_plot_vertical_ticks(0, 3.2e-5, false, 180, 10, &t);
    assert_ticks(&t, 4, (double[]){0, 1e-5, 2e-5, 3e-5}, (const char *[]){"0", "1", "2", "3"},
                 "\xC3\x97" "10\xE2\x81\xBB\xE2\x81\xB5");
    nb_plot_vertical_ticks(0, 4.4e8, false, 180, 10, &t);
    assert_ticks(&t, 5, (double[]){0, 1e8, 2e8, 3e8, 4e8}, (const char *[]){"0", "1", "2", "3", "4"},
                 "\xC3\x97" "10\xE2\x81\xB8");

    /* a short axis still gets three ticks when they fit 18 units apart */
    nb_plot_vertical_ticks(-0.0075, 0.0205, false, 60, 10, &t);
    assert_ticks(&t, 3, (double[]){0, 0.01, 0.02}, (const char *[]){"0.00", "0.01", "0.02"}, "");
}

static void test_log_ticks(void **state)
{
    (void)state;
    nb_plot_ticks t;
    nb_plot_vertical_ticks(1e-6, 1, true, 360, 10, &t);
    assert_ticks(&t, 7, (double[]){1e-6, 1e-5, 1e-4, 1e-3, 1e-2, 1e-1, 1},
                 (const char *[]){"10\xE2\x81\xBB\xE2\x81\xB6", "10\xE2\x81\xBB\xE2\x81\xB5",
                                  "10\xE2\x81\xBB\xE2\x81\xB4", "10\xE2\x81\xBB\xC2\xB3", "10\xE2\x81\xBB\xC2\xB2",
                                  "10\xE2\x81\xBB\xC2\xB9", "10\xE2\x81\xB0"},
                 "");
    /* sixteen decades on room for ten labels: every other decade */
    nb_plot_vertical_ticks(1e-12, 1e3, true, 360, 10, &t);
    assert_int_equal(t.n, 8);
    assert_close(t.value[0], 1e-12, 1e-24);
    assert_close(t.value[7], 1e2, 1e-10);
    assert_string_equal(t.label[7], "10\xC2\xB2");
    /* under two decades: 1-2-5 steps as plain numbers */
    nb_plot_vertical_ticks(0.05, 3, true, 360, 10, &t);
    assert_ticks(&t, 6, (double[]){0.05, 0.1, 0.2, 0.5, 1, 2},
                 (const char *[]){"0.05", "0.1", "0.2", "0.5", "1", "2"}, "");
    /* under half a decade: linear steps */
    nb_plot_vertical_ticks(0.2, 0.9, true, 360, 10, &t);
    assert_ticks(&t, 4, (double[]){0.2, 0.4, 0.6, 0.8}, (const char *[]){"0.2", "0.4", "0.6", "0.8"}, "");
}

/* ---- bad input ------------------------------------------------------------------------- */

static void test_bad_figures(void **state)
{
    (void)state;
    assert_null(nb_figure_new(10, 400, 1, 1));
    assert_int_equal(nb_errcode(), NB_EARG);
    assert_non_null(strstr(nb_errmsg(), "10 x 400"));
    assert_null(nb_figure_new(400, NAN, 1, 1));
    assert_int_equal(nb_errcode(), NB_EARG);
    assert_null(nb_figure_new(400, 400, 0, 1));
    assert_non_null(strstr(nb_errmsg(), "0 x 1"));
    assert_null(nb_figure_new(400, 400, 1, 17));
    assert_int_equal(nb_errcode(), NB_EARG);

    nb_figure *figure = nb_figure_new(400, 300, 1, 1);
    assert_int_equal(nb_figure_row_heights(figure, (double[]){0}), NB_EARG);
    assert_non_null(strstr(nb_errmsg(), "row 0"));
    nb_figure_free(figure);

    figure = nb_figure_new(400, 300, 1, 1);
    assert_null(nb_figure_panel(figure, 1, 0));
    assert_non_null(strstr(nb_errmsg(), "no panel (1, 0)"));
    /* sticky: the save reports it */
    nb_clear_error();
    assert_int_equal(nb_figure_save(figure, in_dir("never.png")), NB_EARG);
    assert_non_null(strstr(nb_errmsg(), "no panel (1, 0)"));
    assert_false(file_exists(in_dir("never.png")));
    nb_figure_free(figure);
    assert_int_equal(nb_figure_title(NULL, "t"), NB_EARG);
    assert_null(nb_figure_panel(NULL, 0, 0));
    nb_figure_free(NULL);
}

static void test_bad_series(void **state)
{
    (void)state;
    double x[3] = {0, 1, 2}, y[3] = {1, 2, 3}, nan3[3] = {NAN, INFINITY, NAN};
    nb_figure *figure = nb_figure_new(400, 300, 1, 1);
    nb_panel *panel = nb_figure_panel(figure, 0, 0);
    assert_int_equal(nb_panel_line(panel, "empty", x, y, 0, NULL), NB_EARG);
    assert_non_null(strstr(nb_errmsg(), "\"empty\" has no points"));
    assert_int_equal(nb_panel_scatter(panel, "no y", x, NULL, 3, NULL), NB_EARG);
    assert_non_null(strstr(nb_errmsg(), "y is NULL"));
    assert_int_equal(nb_panel_line(panel, "diverged", x, nan3, 3, NULL), NB_ENUMERIC);
    assert_non_null(strstr(nb_errmsg(), "none of its 3 points is finite"));
    assert_int_equal(nb_panel_line(panel, "faded", x, y, 3, &(nb_style){.alpha = 1.5}), NB_EARG);
    assert_non_null(strstr(nb_errmsg(), "alpha 1.5"));
    assert_int_equal(nb_panel_line(panel, "odd", x, y, 3, &(nb_style){.color = 0x05000000}), NB_EARG);
    assert_non_null(strstr(nb_errmsg(), "NB_RGB"));
    assert_int_equal(nb_panel_xlim(panel, 2, 1), NB_EARG);
    assert_non_null(strstr(nb_errmsg(), "x limits [2, 1]"));
    assert_int_equal(nb_panel_ylim(panel, 0, INFINITY), NB_EARG);
    assert_int_equal(nb_panel_legend(panel, (nb_legend_pos)42), NB_EARG);
    assert_int_equal(nb_panel_line(NULL, "x", x, y, 3, NULL), NB_EARG);
    /* a panel holds a heat map or series */
    assert_int_equal(nb_panel_line(panel, "fine", x, y, 3, NULL), NB_OK);
    assert_int_equal(nb_panel_heatmap(panel, y, 1, 3, NULL, NULL, false, NULL), NB_EARG);
    assert_non_null(strstr(nb_errmsg(), "already holds series"));
    /* the first failure is the one saving reports, and nothing is written */
    assert_int_equal(nb_figure_save(figure, in_dir("bad.png")), NB_EARG);
    assert_non_null(strstr(nb_errmsg(), "\"empty\" has no points"));
    assert_non_null(strstr(nb_errmsg(), "plot panel (0, 0)"));
    assert_false(file_exists(in_dir("bad.png")));
    nb_figure_free(figure);
}

static void test_bad_heatmaps(void **state)
{
    (void)state;
    double values[4] = {1, 2, 3, 4}, nan4[4] = {NAN, NAN, NAN, NAN};
    nb_figure *figure = nb_figure_new(400, 300, 1, 2);
    nb_panel *panel = nb_figure_panel(figure, 0, 0);
    assert_int_equal(nb_panel_heatmap(panel, values, 0, 4, NULL, NULL, true, NULL), NB_EARG);
    assert_non_null(strstr(nb_errmsg(), "0 x 4"));
    assert_int_equal(nb_panel_heatmap(panel, NULL, 2, 2, NULL, NULL, true, NULL), NB_EARG);
    assert_int_equal(nb_panel_heatmap(panel, nan4, 2, 2, NULL, NULL, true, NULL), NB_ENUMERIC);
    assert_non_null(strstr(nb_errmsg(), "none of its 4 values is finite"));
    assert_int_equal(nb_panel_heatmap(panel, values, 2, 2, NULL, NULL, true, NULL), NB_OK);
    assert_int_equal(nb_panel_scatter(panel, "dots", NULL, values, 4, NULL), NB_EARG);
    assert_non_null(strstr(nb_errmsg(), "already holds a heat map"));
    nb_figure_free(figure);
}

/* Limits and sizes that leave no room are reported when saving, naming the panel. */
static void test_bad_layouts(void **state)
{
    (void)state;
    double y[3] = {1, 2, 3};
    nb_figure *figure = nb_figure_new(64, 64, 1, 1);
    nb_panel *panel = nb_figure_panel(figure, 0, 0);
    nb_panel_title(panel, "a title far too long for so small a figure");
    nb_panel_labels(panel, "the x axis", "the y axis");
    nb_panel_line(panel, "y", NULL, y, 3, NULL);
    assert_int_equal(nb_figure_save(figure, in_dir("small.png")), NB_EARG);
    assert_non_null(strstr(nb_errmsg(), "too small"));
    assert_false(file_exists(in_dir("small.png")));
    nb_figure_free(figure);

    figure = nb_figure_new(400, 300, 1, 1);
    panel = nb_figure_panel(figure, 0, 0);
    nb_panel_line(panel, "y", NULL, y, 3, NULL);
    nb_panel_log_y(panel, true);
    nb_panel_ylim(panel, -1, NAN);
    assert_int_equal(nb_figure_save(figure, in_dir("neg.png")), NB_EARG);
    assert_non_null(strstr(nb_errmsg(), "must be positive"));
    nb_panel_ylim(panel, 10, NAN); /* above every value: nothing left to show */
    nb_panel_log_y(panel, false);
    assert_int_equal(nb_figure_save(figure, in_dir("neg.png")), NB_EARG);
    assert_non_null(strstr(nb_errmsg(), "leave nothing"));
    nb_figure_free(figure);
}

/* ---- allocation failures ------------------------------------------------------------ */

static int allocations_left;
static void *failing_alloc(size_t size, void *ctx)
{
    (void)ctx;
    return allocations_left-- > 0 ? malloc(size) : NULL;
}
static void *failing_realloc(void *ptr, size_t size, void *ctx)
{
    (void)ctx;
    return allocations_left-- > 0 ? realloc(ptr, size) : NULL;
}
static void plain_free(void *ptr, void *ctx)
{
    (void)ctx;
    free(ptr);
}

static void test_out_of_memory(void **state)
{
    (void)state;
    double y[3] = {1, 2, 3};
    nb_figure *figure = nb_figure_new(400, 300, 1, 1);
    nb_panel *panel = nb_figure_panel(figure, 0, 0);
    nb_allocator failing = {failing_alloc, failing_realloc, plain_free, NULL};
    /* fail each allocation of adding a series in turn: an error, never a crash or leak */
    for (int budget = 0; budget < 4; budget++) {
        allocations_left = budget;
        nb_set_allocator(&failing);
        nb_status status = nb_panel_line(panel, "y", NULL, y, 3, NULL);
        nb_set_allocator(NULL);
        if (status == NB_OK)
            break;
        assert_int_equal(status, NB_ENOMEM);
    }
    assert_int_equal(nb_figure_save(figure, in_dir("oom.png")), NB_ENOMEM);
    nb_figure_free(figure);
    allocations_left = 0;
    nb_set_allocator(&failing);
    assert_null(nb_figure_new(400, 300, 1, 1));
    nb_set_allocator(NULL);
    assert_int_equal(nb_errcode(), NB_ENOMEM);
}

/* cairo and fontconfig keep their font caches for the life of the process; a test
 * program may drop them at the end, so that valgrind sees only what nabla leaks. */
static int release_font_caches(void **state)
{
    (void)state;
    cairo_debug_reset_static_data();
    FcFini();
    return 0;
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_png_is_valid_and_sized, make_dir, remove_dir),
        cmocka_unit_test_setup_teardown(test_svg_is_valid_and_sized, make_dir, remove_dir),
        cmocka_unit_test_setup_teardown(test_pdf_is_valid_and_sized, make_dir, remove_dir),
        cmocka_unit_test_setup_teardown(test_output_is_deterministic, make_dir, remove_dir),
        cmocka_unit_test_setup_teardown(test_atomic_write_leaves_no_temporary, make_dir, remove_dir),
        cmocka_unit_test_setup_teardown(test_failure_keeps_the_old_file, make_dir, remove_dir),
        cmocka_unit_test_setup_teardown(test_failed_write_keeps_the_old_file, make_dir, remove_dir),
        cmocka_unit_test_setup_teardown(test_unwritable_places, make_dir, remove_dir),
        cmocka_unit_test_setup_teardown(test_unknown_extension, make_dir, remove_dir),
        cmocka_unit_test_setup_teardown(test_nonfinite_points_break_the_line, make_dir, remove_dir),
        cmocka_unit_test_setup_teardown(test_heatmap_colours, make_dir, remove_dir),
        cmocka_unit_test(test_viridis),
        cmocka_unit_test_setup_teardown(test_full_figure, make_dir, remove_dir),
        cmocka_unit_test(test_linear_ticks),
        cmocka_unit_test(test_log_ticks),
        cmocka_unit_test_setup_teardown(test_long_title_stays_inside, make_dir, remove_dir),
        cmocka_unit_test_setup_teardown(test_bad_figures, make_dir, remove_dir),
        cmocka_unit_test_setup_teardown(test_bad_series, make_dir, remove_dir),
        cmocka_unit_test_setup_teardown(test_bad_heatmaps, make_dir, remove_dir),
        cmocka_unit_test_setup_teardown(test_bad_layouts, make_dir, remove_dir),
        cmocka_unit_test_setup_teardown(test_out_of_memory, make_dir, remove_dir),
    };
    return cmocka_run_group_tests(tests, NULL, release_font_caches);
}
