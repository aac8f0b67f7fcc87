/* The table a fit reads: numbers in columns, parsed by libcsv.
 *
 * The text is fed to libcsv one line at a time, so that every field arrives knowing its
 * line; field numbers within a row are the "column" of a message. Whitespace-separated
 * files are read with a blank as the delimiter and the empty fields that runs of blanks
 * make are dropped. */
#include "internal.h"

#include "nabla/lsq_data.h"

#include <csv.h>
#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct reader {
    const char *source;
    nb_lsq_read_options options;
    bool whitespace;
    int64_t line;   /* 1-based line being fed */
    int field;      /* fields seen in the current row */
    bool failed;

    /* The first row, kept as text until we know whether it is a header. */
    char **first;
    int n_first, first_capacity;
    bool first_done;

    /* The current data row and the columns. */
    double *row;
    int n_columns;
    int64_t n_rows, rows_capacity;
    double **columns;
} reader;

nb_lsq_read_options nb_lsq_read_defaults(void) { return (nb_lsq_read_options){.header = -1, .delimiter = 0}; }

static void reader_fail(reader *r, nb_status status, const char *fmt, ...) NB_PRINTF(3, 4);
static void reader_fail(reader *r, nb_status status, const char *fmt, ...)
{
    if (r->failed)
        return;
    char what[600];
    va_list args;
    va_start(args, fmt);
    vsnprintf(what, sizeof what, fmt, args);
    va_end(args);
    nb_fail(status, "%s:%lld:%d: %s", r->source, (long long)r->line, r->field, what);
    r->failed = true;
}

/* A finite number filling the whole field (blanks around it allowed). */
static bool parse_number(const char *text, double *value)
{
    while (*text == ' ' || *text == '\t')
        text++;
    if (!*text)
        return false;
    char *end;
    errno = 0;
    *value = strtod(text, &end);
    if (end == text)
        return false;
    while (*end == ' ' || *end == '\t' || *end == '\r')
        end++;
    return *end == '\0';
}

static bool field_is_number(const char *text)
{
    double value;
    return parse_number(text, &value) && isfinite(value);
}

static void trim(char *text)
{
    size_t n = strlen(text);
    while (n > 0 && isspace((unsigned char)text[n - 1]))
        text[--n] = '\0';
    size_t start = 0;
    while (isspace((unsigned char)text[start]))
        start++;
    memmove(text, text + start, n - start + 1);
}

static bool columns_reserve(reader *r, int64_t rows)
{
    if (rows <= r->rows_capacity)
        return true;
    int64_t capacity = r->rows_capacity ? 2 * r->rows_capacity : 256;
    for (int k = 0; k < r->n_columns; k++) {
        double *column = nb_realloc(r->columns[k], (size_t)capacity * sizeof *column);
        if (!column)
            return false;
        r->columns[k] = column;
    }
    r->rows_capacity = capacity;
    return true;
}

/* The value of field number r->field (1-based) of a data row. */
static void data_field(reader *r, const char *text)
{
    if (r->field > r->n_columns) {
        reader_fail(r, NB_EFORMAT, "more fields than the %d of the first row", r->n_columns);
        return;
    }
    double value;
    if (!parse_number(text, &value)) {
        char shown[64];
        snprintf(shown, sizeof shown, "%s", text);
        trim(shown);
        if (!shown[0])
            reader_fail(r, NB_EPARSE, "an empty field where a number should be");
        else
            reader_fail(r, NB_EPARSE, "'%s' is not a number", shown);
        return;
    }
    if (!isfinite(value)) {
        reader_fail(r, NB_EPARSE, "'%s' is not a finite number", text);
        return;
    }
    r->row[r->field - 1] = value;
}

typedef struct row_context {
    reader *r;
    nb_lsq_data *data;
} row_context;

static void on_field(void *field, size_t length, void *context)
{
    reader *r = ((row_context *)context)->r;
    if (r->failed)
        return;
    const char *text = field ? field : "";
    if (r->whitespace && length == 0)
        return; /* a run of blanks */
    r->field++;
    if (r->first_done) {
        data_field(r, text);
        return;
    }
    if (r->n_first == r->first_capacity) {
        int capacity = r->first_capacity ? 2 * r->first_capacity : 16;
        char **first = nb_realloc(r->first, (size_t)capacity * sizeof *first);
        if (!first) {
            reader_fail(r, NB_ENOMEM, "out of memory");
            return;
        }
        r->first = first;
        r->first_capacity = capacity;
    }
    char *copy = nb_alloc(length + 1);
    if (!copy) {
        reader_fail(r, NB_ENOMEM, "out of memory");
        return;
    }
    memcpy(copy, text, length);
    copy[length] = '\0';
    trim(copy);
    r->first[r->n_first++] = copy;
}

/* The first row decides the number of columns and whether there is a header. */
static void finish_first_row(reader *r, nb_lsq_data *data)
{
    int n = r->n_first;
    r->n_columns = n;
    r->columns = nb_calloc((size_t)n, sizeof *r->columns);
    r->row = nb_calloc((size_t)n, sizeof *r->row);
    data->names = nb_calloc((size_t)n, sizeof *data->names);
    if (!r->columns || !r->row || !data->names) {
        reader_fail(r, NB_ENOMEM, "out of memory");
        return;
    }
    bool header = r->options.header == 1;
    if (r->options.header < 0)
        for (int k = 0; k < n; k++)
            header |= !field_is_number(r->first[k]);
    data->has_header = header;
    for (int k = 0; k < n; k++) {
        char name[32];
        if (n == 2 && !header)
            snprintf(name, sizeof name, "%s", k == 0 ? "x" : "y");
        else
            snprintf(name, sizeof name, "c%d", k + 1);
        data->names[k] = nb_strdup(header && r->first[k][0] ? r->first[k] : name);
        if (!data->names[k]) {
            reader_fail(r, NB_ENOMEM, "out of memory");
            return;
        }
    }
    r->first_done = true;
    if (!header) {
        /* The first row was data after all: parse it as such. */
        for (int k = 0; k < n && !r->failed; k++) {
            r->field = k + 1;
            data_field(r, r->first[k]);
        }
    }
}

static void on_row(int terminator, void *context)
{
    (void)terminator;
    row_context *rc = context;
    reader *r = rc->r;
    if (r->failed)
        return;
    if (r->field == 0)
        return; /* a line of blanks */
    bool was_first = !r->first_done;
    if (was_first) {
        finish_first_row(r, rc->data);
        if (r->failed || rc->data->has_header) {
            r->field = 0;
            return;
        }
    }
    if (r->field < r->n_columns) {
        reader_fail(r, NB_EFORMAT, "%d field%s, but the first row has %d", r->field, r->field == 1 ? "" : "s",
                    r->n_columns);
        return;
    }
    if (!columns_reserve(r, r->n_rows + 1)) {
        reader_fail(r, NB_ENOMEM, "out of memory for %lld rows", (long long)r->n_rows + 1);
        return;
    }
    for (int k = 0; k < r->n_columns; k++)
        r->columns[k][r->n_rows] = r->row[k];
    r->n_rows++;
    r->field = 0;
}

static char guess_delimiter(const char *line, size_t length)
{
    if (memchr(line, ',', length))
        return ',';
    if (memchr(line, ';', length))
        return ';';
    if (memchr(line, '\t', length))
        return '\t';
    return ' ';
}

static bool is_comment_or_blank(const char *line, size_t length)
{
    size_t i = 0;
    while (i < length && (line[i] == ' ' || line[i] == '\t' || line[i] == '\r'))
        i++;
    return i == length || line[i] == '#' || line[i] == '\n';
}

static void reader_free(reader *r)
{
    for (int k = 0; k < r->n_first; k++)
        nb_free(r->first[k]);
    nb_free(r->first);
    nb_free(r->row);
    if (r->columns)
        for (int k = 0; k < r->n_columns; k++)
            nb_free(r->columns[k]);
    nb_free(r->columns);
}

void nb_lsq_data_free(nb_lsq_data *data)
{
    if (!data)
        return;
    for (int k = 0; k < data->n_columns; k++) {
        if (data->names)
            nb_free(data->names[k]);
        if (data->columns)
            nb_free(data->columns[k]);
    }
    nb_free(data->names);
    nb_free(data->columns);
    memset(data, 0, sizeof *data);
}

/* Feed one line (with its newline) to libcsv; blanks become the delimiter's blank. */
static void feed_line(reader *r, struct csv_parser *parser, const char *line, size_t length, row_context *rc)
{
    if (!r->whitespace) {
        csv_parse(parser, line, length, on_field, on_row, rc);
        return;
    }
    char chunk[256];
    size_t used = 0;
    for (size_t i = 0; i < length; i++) {
        chunk[used++] = line[i] == '\t' ? ' ' : line[i];
        if (used == sizeof chunk || i + 1 == length) {
            csv_parse(parser, chunk, used, on_field, on_row, rc);
            used = 0;
        }
    }
}

nb_status nb_lsq_data_parse(const char *text, size_t length, const char *source,
                            const nb_lsq_read_options *options, nb_lsq_data *data)
{
    if (!text || !data)
        return nb_fail(NB_EARG, "nb_lsq_data_parse: text and data must not be NULL");
    memset(data, 0, sizeof *data);
    reader r = {.source = source ? source : "data", .options = options ? *options : nb_lsq_read_defaults()};
    char delimiter = r.options.delimiter;
    if (delimiter && delimiter != ',' && delimiter != ';' && delimiter != '\t' && delimiter != ' ')
        return nb_fail(NB_EARG, "%s: unsupported delimiter '%c' (use ',', ';', tab or blank)", r.source, delimiter);

    struct csv_parser parser;
    if (csv_init(&parser, CSV_APPEND_NULL) != 0)
        return nb_fail(NB_ENOMEM, "%s: cannot initialise the CSV parser", r.source);
    csv_set_realloc_func(&parser, nb_realloc);
    csv_set_free_func(&parser, nb_free);
    row_context rc = {&r, data};

    size_t at = 0;
    while (at < length && !r.failed) {
        const char *line = text + at;
        const char *newline = memchr(line, '\n', length - at);
        size_t line_length = newline ? (size_t)(newline - line) + 1 : length - at;
        at += line_length;
        r.line++;
        if (is_comment_or_blank(line, line_length))
            continue;
        if (!delimiter) {
            delimiter = guess_delimiter(line, line_length);
        }
        if (csv_get_delim(&parser) != (unsigned char)delimiter) {
            csv_set_delim(&parser, (unsigned char)delimiter);
            r.whitespace = delimiter == ' ';
        }
        feed_line(&r, &parser, line, line_length, &rc);
        if (!r.failed && csv_error(&parser) != CSV_SUCCESS)
            reader_fail(&r, NB_EPARSE, "%s", csv_strerror(csv_error(&parser)));
    }
    if (!r.failed)
        csv_fini(&parser, on_field, on_row, &rc);
    csv_free(&parser);

    if (!r.failed && !r.first_done)
        nb_fail(NB_EFORMAT, "%s: no data (the input is empty or only comments)", r.source), r.failed = true;
    if (!r.failed && r.n_rows == 0)
        nb_fail(NB_EFORMAT, "%s: a header but no data rows", r.source), r.failed = true;
    if (r.failed) {
        data->n_columns = r.n_columns;
        nb_lsq_data_free(data);
        reader_free(&r);
        return nb_errcode();
    }
    data->n_columns = r.n_columns;
    data->n_rows = r.n_rows;
    data->columns = r.columns;
    r.columns = NULL;
    reader_free(&r);
    return NB_OK;
}

/* The whole of a stream, in one growing buffer. */
static nb_status slurp(FILE *file, const char *path, char **text, size_t *length)
{
    size_t capacity = 1 << 16, used = 0;
    char *buf = nb_alloc(capacity);
    if (!buf)
        return nb_fail(NB_ENOMEM, "%s: out of memory", path);
    for (;;) {
        if (used == capacity) {
            char *bigger = nb_realloc(buf, capacity * 2);
            if (!bigger) {
                nb_free(buf);
                return nb_fail(NB_ENOMEM, "%s: out of memory reading %zu bytes", path, capacity * 2);
            }
            buf = bigger;
            capacity *= 2;
        }
        size_t got = fread(buf + used, 1, capacity - used, file);
        used += got;
        if (got == 0)
            break;
    }
    if (ferror(file)) {
        nb_free(buf);
        return nb_fail(NB_EIO, "%s: read error: %s", path, strerror(errno));
    }
    *text = buf;
    *length = used;
    return NB_OK;
}

nb_status nb_lsq_data_read(const char *path, const nb_lsq_read_options *options, nb_lsq_data *data)
{
    if (!path || !data)
        return nb_fail(NB_EARG, "nb_lsq_data_read: path and data must not be NULL");
    memset(data, 0, sizeof *data);
    bool from_stdin = strcmp(path, "-") == 0;
    FILE *file = from_stdin ? stdin : fopen(path, "rb");
    if (!file)
        return nb_fail(NB_EIO, "cannot open '%s': %s", path, strerror(errno));
    char *text = NULL;
    size_t length = 0;
    nb_status status = slurp(file, from_stdin ? "<stdin>" : path, &text, &length);
    if (!from_stdin)
        fclose(file);
    if (status != NB_OK)
        return status;
    status = nb_lsq_data_parse(text, length, from_stdin ? "<stdin>" : path, options, data);
    nb_free(text);
    return status;
}

nb_status nb_lsq_data_from_columns(int n_columns, const char *const *names, int64_t n_rows,
                                   const double *const *columns, nb_lsq_data *data)
{
    if (!data || n_columns < 1 || n_rows < 0 || !names || !columns)
        return nb_fail(NB_EARG, "nb_lsq_data_from_columns: needs at least one named column and a data pointer");
    memset(data, 0, sizeof *data);
    data->names = nb_calloc((size_t)n_columns, sizeof *data->names);
    data->columns = nb_calloc((size_t)n_columns, sizeof *data->columns);
    data->n_columns = n_columns;
    data->n_rows = n_rows;
    data->has_header = true;
    if (!data->names || !data->columns)
        goto out_of_memory;
    for (int k = 0; k < n_columns; k++) {
        if (!names[k] || !columns[k]) {
            nb_lsq_data_free(data);
            return nb_fail(NB_EARG, "nb_lsq_data_from_columns: column %d has no name or no values", k + 1);
        }
        data->names[k] = nb_strdup(names[k]);
        data->columns[k] = nb_alloc((size_t)(n_rows ? n_rows : 1) * sizeof(double));
        if (!data->names[k] || !data->columns[k])
            goto out_of_memory;
        memcpy(data->columns[k], columns[k], (size_t)n_rows * sizeof(double));
    }
    return NB_OK;
out_of_memory:
    nb_lsq_data_free(data);
    return nb_fail(NB_ENOMEM, "out of memory copying a table of %d columns and %lld rows", n_columns,
                   (long long)n_rows);
}

int nb_lsq_data_column(const nb_lsq_data *data, const char *name_or_number)
{
    if (!data || !name_or_number)
        return -1;
    for (int k = 0; k < data->n_columns; k++)
        if (strcmp(data->names[k], name_or_number) == 0)
            return k;
    const char *digits = name_or_number[0] == '$' ? name_or_number + 1 : name_or_number;
    if (!isdigit((unsigned char)digits[0]))
        return -1;
    char *end;
    long number = strtol(digits, &end, 10);
    if (*end || number < 1 || number > data->n_columns)
        return -1;
    return (int)number - 1;
}

char *nb_lsq_data_names(const nb_lsq_data *data, char *buf, size_t size)
{
    size_t used = 0;
    buf[0] = '\0';
    for (int k = 0; k < data->n_columns && used < size; k++)
        used += (size_t)snprintf(buf + used, size - used, k ? ", %s" : "%s", data->names[k]);
    return buf;
}
