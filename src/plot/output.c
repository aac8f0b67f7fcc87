/* Output: the figure laid out, then drawn on a PNG, SVG or PDF surface whose bytes go to
 * a temporary file renamed over the target (core/atomic.c). */
#include "plot/plot_internal.h"

#include <cairo-pdf.h>
#include <cairo-svg.h>
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

typedef enum image_format { FORMAT_PNG, FORMAT_SVG, FORMAT_PDF } image_format;

static nb_status format_of(const char *path, image_format *format)
{
    const char *slash = strrchr(path, '/');
    const char *dot = strrchr(slash ? slash + 1 : path, '.');
    if (dot && strcasecmp(dot, ".png") == 0)
        *format = FORMAT_PNG;
    else if (dot && strcasecmp(dot, ".svg") == 0)
        *format = FORMAT_SVG;
    else if (dot && strcasecmp(dot, ".pdf") == 0)
        *format = FORMAT_PDF;
    else
        return nb_fail(NB_EARG, "cannot tell the image format of \"%s\" from its extension: use .png, .svg or .pdf",
                       path);
    return NB_OK;
}

/* Same text metrics on every surface (no hinting), so that a layout measured on one
 * context fits on another, and output does not depend on the backend's defaults. */
static void set_font_options(cairo_t *cr)
{
    cairo_font_options_t *options = cairo_font_options_create();
    cairo_font_options_set_hint_metrics(options, CAIRO_HINT_METRICS_OFF);
    cairo_font_options_set_hint_style(options, CAIRO_HINT_STYLE_NONE);
    cairo_font_options_set_antialias(options, CAIRO_ANTIALIAS_GRAY);
    cairo_set_font_options(cr, options);
    cairo_font_options_destroy(options);
}

static cairo_status_t write_to_temp(void *closure, const unsigned char *data, unsigned int length)
{
    nb_atomic_file *temp = closure;
    if (fwrite(data, 1, length, temp->file) != length) {
        if (!temp->write_errno)
            temp->write_errno = errno ? errno : EIO;
        return CAIRO_STATUS_WRITE_ERROR;
    }
    return CAIRO_STATUS_SUCCESS;
}

/* SVG output is gathered in memory first: cairo names the page group after a
 * process-wide surface counter ("surface37"), which the file must not depend on. */
typedef struct svg_buffer {
    char *data;
    size_t size, capacity;
    bool failed;
} svg_buffer;

static cairo_status_t write_to_buffer(void *closure, const unsigned char *data, unsigned int length)
{
    svg_buffer *buffer = closure;
    if (buffer->size + length > buffer->capacity) {
        size_t capacity = buffer->capacity ? buffer->capacity : 65536;
        while (capacity < buffer->size + length)
            capacity *= 2;
        char *grown = nb_realloc(buffer->data, capacity);
        if (!grown) {
            buffer->failed = true;
            return CAIRO_STATUS_NO_MEMORY;
        }
        buffer->data = grown;
        buffer->capacity = capacity;
    }
    memcpy(buffer->data + buffer->size, data, length);
    buffer->size += length;
    return CAIRO_STATUS_SUCCESS;
}

/* Write the SVG with every "surfaceN" renumbered 1, 2, ... in order of appearance. */
static nb_status write_svg(const svg_buffer *buffer, nb_atomic_file *temp, const char *path)
{
    enum { MAX_IDS = 64 };
    unsigned long seen[MAX_IDS];
    int n_seen = 0;
    static const char word[] = "surface";
    const size_t word_len = sizeof word - 1;
    size_t start = 0, i = 0;
    while (i + word_len < buffer->size) {
        if (memcmp(buffer->data + i, word, word_len) != 0 || buffer->data[i + word_len] < '0' ||
            buffer->data[i + word_len] > '9') {
            i++;
            continue;
        }
        size_t digits = i + word_len, end = digits;
        unsigned long id = 0;
        while (end < buffer->size && buffer->data[end] >= '0' && buffer->data[end] <= '9' && end - digits < 9)
            id = 10 * id + (unsigned long)(buffer->data[end++] - '0');
        int k = 0;
        while (k < n_seen && seen[k] != id)
            k++;
        if (k == n_seen && n_seen < MAX_IDS)
            seen[n_seen++] = id;
        char renamed[32];
        int len = snprintf(renamed, sizeof renamed, "surface%d", k + 1);
        if (write_to_temp(temp, (const unsigned char *)buffer->data + start, (unsigned)(i - start)) ||
            write_to_temp(temp, (const unsigned char *)renamed, (unsigned)len))
            return nb_fail(NB_EIO, "cannot write \"%s\": %s", path, strerror(temp->write_errno));
        start = i = end;
    }
    if (write_to_temp(temp, (const unsigned char *)buffer->data + start, (unsigned)(buffer->size - start)))
        return nb_fail(NB_EIO, "cannot write \"%s\": %s", path, strerror(temp->write_errno));
    return NB_OK;
}

static cairo_surface_t *create_surface(image_format format, const nb_figure *figure, nb_atomic_file *temp,
                                       svg_buffer *svg)
{
    switch (format) {
    case FORMAT_PNG:
        return cairo_image_surface_create(CAIRO_FORMAT_RGB24, (int)lround(figure->width),
                                          (int)lround(figure->height));
    case FORMAT_SVG:
        return cairo_svg_surface_create_for_stream(write_to_buffer, svg, figure->width, figure->height);
    case FORMAT_PDF: {
        cairo_surface_t *surface =
            cairo_pdf_surface_create_for_stream(write_to_temp, temp, figure->width, figure->height);
        /* no creation date: the same figure gives the same bytes */
        cairo_pdf_surface_set_metadata(surface, CAIRO_PDF_METADATA_CREATE_DATE, "");
        cairo_pdf_surface_set_metadata(surface, CAIRO_PDF_METADATA_CREATOR, "nabla");
        return surface;
    }
    }
    return NULL;
}

/* Draw into the temporary file; the surface is finished (all bytes written) on return. */
static nb_status render(image_format format, const nb_figure *figure, const figure_layout *fl, nb_atomic_file *temp,
                        const char *path)
{
    svg_buffer svg = {0};
    cairo_surface_t *surface = create_surface(format, figure, temp, &svg);
    cairo_t *cr = cairo_create(surface);
    set_font_options(cr);
    nb_plot_draw_figure(cr, figure, fl);
    cairo_status_t status = cairo_status(cr);
    cairo_destroy(cr);
    if (status == CAIRO_STATUS_SUCCESS && format == FORMAT_PNG)
        status = cairo_surface_write_to_png_stream(surface, write_to_temp, temp);
    cairo_surface_finish(surface);
    if (status == CAIRO_STATUS_SUCCESS)
        status = cairo_surface_status(surface);
    cairo_surface_destroy(surface);
    if (status == CAIRO_STATUS_SUCCESS) {
        nb_status written = format == FORMAT_SVG ? write_svg(&svg, temp, path) : NB_OK;
        nb_free(svg.data);
        return written;
    }
    nb_free(svg.data);
    if (status == CAIRO_STATUS_WRITE_ERROR)
        return nb_fail(NB_EIO, "cannot write \"%s\": %s", path, strerror(temp->write_errno ? temp->write_errno : EIO));
    if (status == CAIRO_STATUS_NO_MEMORY)
        return nb_fail(NB_ENOMEM, "out of memory drawing \"%s\"", path);
    return nb_fail(NB_EIO, "drawing \"%s\" failed: %s", path, cairo_status_to_string(status));
}

/* Lay the figure out on a scratch surface into fl (fl->panels allocated here, freed by
 * the caller): every error is known before anything is drawn. */
static nb_status lay_out(const nb_figure *figure, figure_layout *fl)
{
    *fl = (figure_layout){.th = nb_plot_make_theme(figure->width, figure->height)};
    fl->panels = nb_calloc((size_t)figure->rows * (size_t)figure->cols, sizeof *fl->panels);
    if (!fl->panels)
        return nb_fail(NB_ENOMEM, "out of memory laying out the figure");
    cairo_surface_t *scratch = cairo_image_surface_create(CAIRO_FORMAT_RGB24, 1, 1);
    cairo_t *measure = cairo_create(scratch);
    set_font_options(measure);
    nb_status status = nb_plot_layout_figure(measure, figure, fl);
    cairo_destroy(measure);
    cairo_surface_destroy(scratch);
    return status;
}

/* The checks every output starts with: a figure, with no failure remembered. */
static nb_status check_figure(const nb_figure *figure, const char *function)
{
    if (!figure)
        return nb_fail(NB_EARG, "%s: figure is NULL", function);
    if (figure->first_error != NB_OK)
        return nb_fail(figure->first_error, "%s", figure->first_message);
    return NB_OK;
}

nb_status nb_plot_draw_image(const nb_figure *figure, cairo_surface_t **image)
{
    *image = NULL;
    nb_status status = check_figure(figure, "nb_plot_draw_image");
    figure_layout fl = {0};
    if (status == NB_OK)
        status = lay_out(figure, &fl);
    if (status == NB_OK) {
        cairo_surface_t *surface = cairo_image_surface_create(CAIRO_FORMAT_RGB24, (int)lround(figure->width),
                                                              (int)lround(figure->height));
        cairo_t *cr = cairo_create(surface);
        set_font_options(cr);
        nb_plot_draw_figure(cr, figure, &fl);
        cairo_status_t drawn = cairo_status(cr);
        cairo_destroy(cr);
        cairo_surface_flush(surface);
        if (drawn == CAIRO_STATUS_SUCCESS)
            drawn = cairo_surface_status(surface);
        if (drawn == CAIRO_STATUS_SUCCESS)
            *image = surface;
        else
            cairo_surface_destroy(surface);
        if (drawn == CAIRO_STATUS_NO_MEMORY)
            status = nb_fail(NB_ENOMEM, "out of memory drawing the figure");
        else if (drawn != CAIRO_STATUS_SUCCESS)
            status = nb_fail(NB_EIO, "drawing the figure failed: %s", cairo_status_to_string(drawn));
    }
    nb_free(fl.panels);
    return status;
}

nb_status nb_figure_save(const nb_figure *figure, const char *path)
{
    nb_status status = check_figure(figure, "nb_figure_save");
    if (status != NB_OK)
        return status;
    if (!path || !*path)
        return nb_fail(NB_EARG, "nb_figure_save: no file name");
    image_format format = FORMAT_PNG;
    status = format_of(path, &format);
    if (status != NB_OK)
        return status;
    figure_layout fl;
    status = lay_out(figure, &fl);
    if (status != NB_OK) {
        nb_error_prefix("drawing \"%s\"", path);
    } else {
        nb_atomic_file temp;
        status = nb_atomic_open(&temp, path);
        if (status == NB_OK)
            status = render(format, figure, &fl, &temp, path);
        if (status == NB_OK)
            status = nb_atomic_commit(&temp);
        else if (temp.file)
            nb_atomic_discard(&temp);
    }
    nb_free(fl.panels);
    return status;
}
