/* Tables from delimited text files through libcsv (the table itself, its names and its
 * column lookup are table.c's): the file is read in blocks and fed to the parser one
 * physical line at a time, so that every message can name the line it is about. The
 * first two records are held back as text until the header has been decided; after that
 * each cell is converted as soon as libcsv reports it. */
#include "core/core.h"
#include "io/io_internal.h"
#include "io/table_internal.h"

#include <csv.h>
#include <errno.h>
#include <float.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define BLOCK_SIZE (1 << 16)
#define SAMPLE_LINES 20
#define FIRST_CAPACITY 256
#define ESTIMATE_BYTES ((int64_t)1 << 16)
/* What a table may hold per line: bounds, not limits of use. Without them a line of
 * commas costs a column (names, arrays) per byte of input, and a file without line ends
 * is held whole as one cell. A number is never a megabyte of text. */
#define MAX_FIELDS (1 << 16)
#define MAX_CELL_BYTES ((size_t)1 << 20)
#define CELL_BLOCK ((size_t)1 << 16)
/* The column arrays start at most this big in all (then grow with the rows), so that a
 * wide first row does not cost FIRST_CAPACITY rows per column before any arrive. */
#define FIRST_TABLE_BYTES ((int64_t)1 << 20)

typedef struct text_record {
    char **fields;
    int n_fields;
    int capacity;
    int64_t line;
} text_record;

typedef struct csv_reader {
    const char *source;
    const nb_csv_options *options;
    struct csv_parser parser;
    bool whitespace;       /* runs of blanks separate fields: empty unquoted fields are dropped */
    bool failed;

    int64_t line;          /* the physical line being fed (1-based) */
    int64_t record_line;   /* the line the current record began on */
    size_t line_offset;    /* bytes of the current line already fed */
    bool after_cr;         /* the last block ended with '\r': a '\n' first in the next ends no line */
    int n_fields;          /* fields seen in the current record */

    /* Before the header is decided: the first two records as text. */
    bool streaming;
    text_record held[2];
    int n_held;

    /* After: how file fields map to table columns. */
    int n_file_fields;
    int64_t header_line;   /* the first record's line, quoted by ragged-row messages */
    int *column_of_field;  /* n_file_fields entries: table column or -1 (not kept) */
    double *row;           /* the row being converted, one value per table column */
    char *class_cell;      /* the class column's text in the row being converted */
    bool row_missing;      /* the row being converted has a missing cell (to drop) */
    char decimal;          /* '.' or ',' */
    char **class_cells;    /* per row, while it is not known whether they are names */
    int64_t capacity;      /* rows the column arrays can hold */
    int64_t text_bytes;    /* the bytes to be parsed, when known (a plain file), else 0 */
    int64_t fed_bytes;     /* the bytes fed to the parser so far */

    nb_table *table;
} csv_reader;

/* ---- small helpers ------------------------------------------------------------------ */

static bool fail_nomem(csv_reader *r, const char *what)
{
    nb_fail(NB_ENOMEM, "%s: out of memory for %s", r->source, what);
    r->failed = true;
    return false;
}

/* A number written with a decimal comma, in buf as strtod reads it ("3,5" -> "3.5");
 * false for a cell with a '.', or too long to be a number. */
static bool comma_to_point(const char *text, size_t len, char *buf, size_t size)
{
    if (len >= size || memchr(text, '.', len))
        return false;
    for (size_t i = 0; i <= len; i++)
        buf[i] = text[i] == ',' ? '.' : text[i];
    return true;
}

/* A cell is a number when strtod consumes all of it but trailing blanks; strtod's
 * hexadecimal ("0x10") is not a number a data file means. */
static bool parse_number(const char *text, size_t len, char decimal, double *value)
{
    if (strlen(text) != len) /* a NUL byte inside the cell: binary data */
        return false;
    char buf[128];
    if (decimal == ',') {
        if (!comma_to_point(text, len, buf, sizeof buf))
            return false;
        text = buf;
    }
    const char *digits = text + strspn(text, " \t+-");
    if (digits[0] == '0' && (digits[1] == 'x' || digits[1] == 'X'))
        return false;
    char *end;
    double v = strtod(text, &end);
    if (end == text)
        return false;
    while (*end == ' ' || *end == '\t')
        end++;
    if (*end)
        return false;
    *value = v;
    return true;
}

/* Most cells are short plain decimals ("-0.125", "3e-5"): read those without strtod.
 * With at most 15 significant digits the digits are exact in a double, and so is 10^e
 * for e <= 22; one multiplication or division of the two is then correctly rounded,
 * the number strtod gives (Clinger's fast path). Anything else returns false, to be
 * read by parse_number. */
static bool fast_number(const char *text, size_t len, char decimal, double *value)
{
#if FLT_EVAL_METHOD != 0
    /* Products held in a wider format (x87) are rounded twice: not strtod's result. */
    return (void)text, (void)len, (void)decimal, (void)value, false;
#endif
    static const double powers[] = {1e0, 1e1, 1e2, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8, 1e9, 1e10, 1e11,
                                     1e12, 1e13, 1e14, 1e15, 1e16, 1e17, 1e18, 1e19, 1e20, 1e21, 1e22};
    const char *p = text, *end = text + len;
    while (end > p && (end[-1] == ' ' || end[-1] == '\t'))
        end--;
    bool negative = p < end && *p == '-';
    p += p < end && (*p == '-' || *p == '+');
    uint64_t mantissa = 0;
    int digits = 0, scale = 0, seen = 0;
    for (bool point = false; p < end; p++) {
        if (*p == decimal && !point) {
            point = true;
            continue;
        }
        if (*p < '0' || *p > '9')
            break;
        seen++;
        if (mantissa == 0 && *p == '0') { /* a leading zero is not a significant digit */
            scale -= point;
            continue;
        }
        if (++digits > 15)
            return false;
        mantissa = 10 * mantissa + (uint64_t)(*p - '0');
        scale -= point;
    }
    if (seen == 0)
        return false;
    if (p < end && (*p == 'e' || *p == 'E')) {
        p++;
        bool minus = p < end && *p == '-';
        p += p < end && (*p == '-' || *p == '+');
        int e = 0, e_digits = 0;
        for (; p < end && *p >= '0' && *p <= '9' && e < 1000; p++, e_digits++)
            e = 10 * e + (*p - '0');
        if (e_digits == 0)
            return false;
        scale += minus ? -e : e;
    }
    if (p != end || scale > 22 || scale < -22)
        return false;
    double v = scale >= 0 ? (double)mantissa * powers[scale] : (double)mantissa / powers[-scale];
    *value = negative ? -v : v;
    return true;
}

static bool is_number(const csv_reader *r, const char *text)
{
    double ignored;
    return parse_number(text, strlen(text), r->decimal, &ignored);
}

static const char *const default_missing[] = {"NA", "N/A", "NaN", "nan", "NAN", "null", "NULL"};

/* Whether a (non-empty) cell is one of the missing tokens, blanks around it ignored. */
static bool is_missing_token(const csv_reader *r, const char *text, size_t len)
{
    const nb_csv_options *o = r->options;
    const char *const *tokens = o->missing_tokens ? o->missing_tokens : default_missing;
    int n = o->missing_tokens ? o->n_missing_tokens : (int)(sizeof default_missing / sizeof *default_missing);
    while (len > 0 && (*text == ' ' || *text == '\t'))
        text++, len--;
    while (len > 0 && (text[len - 1] == ' ' || text[len - 1] == '\t'))
        len--;
    for (int i = 0; i < n; i++)
        if (strlen(tokens[i]) == len && memcmp(tokens[i], text, len) == 0)
            return true;
    return false;
}

static void record_clear(text_record *record)
{
    for (int i = 0; i < record->n_fields; i++)
        nb_free(record->fields[i]);
    nb_free(record->fields);
    memset(record, 0, sizeof *record);
}

/* ---- delimiter detection ---------------------------------------------------------------- */

/* Occurrences of c outside double quotes in one line. */
static int count_outside_quotes(const char *line, size_t len, char c)
{
    int count = 0;
    bool quoted = false;
    for (size_t i = 0; i < len; i++) {
        if (line[i] == '"')
            quoted = !quoted;
        else if (line[i] == c && !quoted)
            count++;
    }
    return count;
}

static bool blank_line(const char *line, size_t len)
{
    for (size_t i = 0; i < len; i++)
        if (line[i] != ' ' && line[i] != '\t' && line[i] != '\r' && line[i] != '\n')
            return false;
    return true;
}

/* Fields of a whitespace-separated line: runs of non-blanks, quotes kept together. */
static int count_tokens(const char *line, size_t len)
{
    int count = 0;
    bool quoted = false, in_token = false;
    for (size_t i = 0; i < len; i++) {
        bool blank = !quoted && (line[i] == ' ' || line[i] == '\t' || line[i] == '\r');
        if (line[i] == '"')
            quoted = !quoted;
        if (!blank && !in_token)
            count++;
        in_token = !blank;
    }
    return count;
}

/* Tab, semicolon, comma, in that order of preference: the first that occurs the same
 * (non-zero) number of times on every sampled line; else whitespace when every line has
 * the same number of blank-separated fields; else the first of the three on the first
 * line (so that ragged rows are reported as such); else whitespace. A semicolon beats the
 * comma because files that separate with semicolons use decimal commas. */
static char detect_delimiter(const char *text, size_t len, char comment, int64_t skip_lines, char decimal)
{
    static const char candidates[4] = {'\t', ';', ',', ' '};
    int counts[SAMPLE_LINES][4];
    int n_lines = 0;
    size_t pos = 0;
    while (pos < len && n_lines < SAMPLE_LINES) {
        const char *nl = memchr(text + pos, '\n', len - pos);
        size_t end = nl ? (size_t)(nl - text) : len;
        const char *line = text + pos;
        size_t line_len = end - pos;
        pos = end + 1;
        if (skip_lines > 0) {
            skip_lines--;
            continue;
        }
        if (blank_line(line, line_len) || (comment && line[0] == comment))
            continue;
        for (int c = 0; c < 3; c++)
            counts[n_lines][c] = count_outside_quotes(line, line_len, candidates[c]);
        counts[n_lines][3] = count_tokens(line, line_len) - 1;
        n_lines++;
    }
    if (n_lines == 0)
        return ',';
    if (decimal == ',') /* the comma is in the numbers */
        for (int i = 0; i < n_lines; i++)
            counts[i][2] = 0;
    for (int c = 0; c < 4; c++) {
        bool consistent = counts[0][c] > 0;
        for (int i = 1; i < n_lines && consistent; i++)
            consistent = counts[i][c] == counts[0][c];
        if (consistent)
            return candidates[c];
    }
    for (int c = 0; c < 3; c++)
        if (counts[0][c] > 0)
            return candidates[c];
    return ' ';
}

/* ---- the table ----------------------------------------------------------------------- */

static bool table_grow(csv_reader *r)
{
    nb_table *t = r->table;
    int64_t first = FIRST_TABLE_BYTES / ((int64_t)sizeof(double) * (t->n_columns + 1));
    first = first < 1 ? 1 : first < FIRST_CAPACITY ? first : FIRST_CAPACITY;
    int64_t capacity = r->capacity ? 2 * r->capacity : first;
    /* Rows so far and the bytes they took (a sample of ESTIMATE_BYTES at least) tell how
     * many a known size holds: room for them at once spares the copies and page faults
     * of growing step by step. Never more rows than the bytes left allow (a delimiter
     * or a line end per field); a high estimate is trimmed at the end (trim_columns). */
    if (r->capacity && r->text_bytes > r->fed_bytes && r->fed_bytes >= ESTIMATE_BYTES) {
        int fields = r->n_file_fields > 2 ? r->n_file_fields : 2;
        double rows = (double)r->text_bytes / (double)r->fed_bytes * (double)t->n_rows * 1.02 + 64;
        double most = (double)t->n_rows + (double)(r->text_bytes - r->fed_bytes) / fields + 64;
        rows = rows < most ? rows : most;
        if (rows > (double)capacity)
            capacity = (int64_t)rows;
    }
    for (int c = 0; c < t->n_columns; c++) {
        double *grown = nb_realloc(t->columns[c], (size_t)capacity * sizeof(double));
        if (!grown)
            return fail_nomem(r, "the table's columns");
        t->columns[c] = grown;
    }
    int64_t *lines = nb_realloc(t->lines, (size_t)capacity * sizeof *lines);
    if (!lines)
        return fail_nomem(r, "the table's line numbers");
    t->lines = lines;
    if (t->class_col >= 0) {
        char **cells = nb_realloc(r->class_cells, (size_t)capacity * sizeof *cells);
        if (!cells)
            return fail_nomem(r, "the class names");
        r->class_cells = cells;
    }
    r->capacity = capacity;
    return true;
}

/* Decide whether the first record is a header (see nb_csv_header). */
static bool first_record_is_header(const csv_reader *r)
{
    switch (r->options->header) {
    case NB_CSV_HEADER_YES: return true;
    case NB_CSV_HEADER_NO: return false;
    case NB_CSV_HEADER_AUTO: break;
    }
    const text_record *first = &r->held[0];
    if (r->n_held < 2) {
        for (int j = 0; j < first->n_fields; j++)
            if (!is_number(r, first->fields[j]))
                return true;
        return false;
    }
    const text_record *second = &r->held[1];
    for (int j = 0; j < first->n_fields && j < second->n_fields; j++)
        if (!is_number(r, first->fields[j]) && is_number(r, second->fields[j]))
            return true;
    return false;
}

/* Resolve the selected columns (all when none) to file fields; fills table names. */
static bool select_columns(csv_reader *r, char **file_names)
{
    const nb_csv_options *o = r->options;
    nb_table *t = r->table;
    int n_fields = r->n_file_fields;
    int class_field = -1;
    if (o->class_column) {
        class_field = nb_table_find_column(file_names, n_fields, o->class_column, r->source);
        if (class_field < 0) {
            nb_error_prefix("class column");
            return r->failed = true, false;
        }
    } else if (o->class_column_last) {
        class_field = n_fields - 1;
    }
    for (int j = 0; j < n_fields; j++)
        r->column_of_field[j] = -1;
    int n_cols = o->n_columns > 0 ? o->n_columns : n_fields;
    bool class_selected = class_field < 0 || o->n_columns <= 0;
    for (int i = 0; i < o->n_columns; i++) {
        int j = nb_table_find_column(file_names, n_fields, o->columns[i], r->source);
        if (j < 0)
            return r->failed = true, false;
        if (r->column_of_field[j] >= 0) {
            nb_fail(NB_EARG, "%s: column '%s' is selected twice", r->source, file_names[j]);
            return r->failed = true, false;
        }
        r->column_of_field[j] = i;
        class_selected = class_selected || j == class_field;
    }
    if (o->n_columns <= 0)
        for (int j = 0; j < n_fields; j++)
            r->column_of_field[j] = j;
    if (!class_selected) /* asked for a class column but not in the list: keep it, last */
        r->column_of_field[class_field] = n_cols++;

    t->n_columns = n_cols;
    t->class_col = class_field >= 0 ? r->column_of_field[class_field] : -1;
    t->names = nb_calloc((size_t)n_cols, sizeof *t->names);
    t->columns = nb_calloc((size_t)n_cols, sizeof *t->columns);
    r->row = nb_calloc((size_t)n_cols, sizeof *r->row);
    t->numeric = nb_alloc((size_t)n_cols * sizeof *t->numeric);
    if (!t->names || !t->columns || !r->row || !t->numeric)
        return fail_nomem(r, "the table");
    for (int c = 0; c < n_cols; c++)
        t->numeric[c] = true;
    for (int j = 0; j < n_fields; j++) {
        int c = r->column_of_field[j];
        if (c >= 0 && !(t->names[c] = nb_strdup(file_names[j])))
            return fail_nomem(r, "the column names");
    }
    return true;
}

/* A header that names two columns alike, refused when asked (unique_names). */
static bool names_unique(csv_reader *r, char *const *file_names)
{
    if (!r->options->unique_names || !r->table->has_header)
        return true;
    for (int j = 1; j < r->n_file_fields; j++)
        for (int i = 0; i < j; i++)
            if (strcmp(file_names[i], file_names[j]) == 0) {
                nb_fail(NB_EFORMAT, "%s:%lld: columns %d and %d are both named '%.200s'; rename one in the header "
                        "(names must be unique to be read by name)", r->source, (long long)r->header_line, i + 1,
                        j + 1, file_names[j]);
                return r->failed = true, false;
            }
    return true;
}

/* The caller's choice of the columns to convert (choose_columns): the others are NaN. */
static bool choose_columns(csv_reader *r)
{
    const nb_csv_options *o = r->options;
    nb_table *t = r->table;
    if (!o->choose_columns)
        return true;
    if (o->choose_columns(o->choose_context, t, t->numeric) != NB_OK)
        return r->failed = true, false;
    if (t->class_col >= 0)
        t->numeric[t->class_col] = true;
    for (int c = 0; c < t->n_columns; c++)
        if (!t->numeric[c])
            r->row[c] = NAN; /* never converted, so every row keeps it */
    return true;
}

static bool convert_records(csv_reader *r, int first);

/* The first records are in: decide the header, name and select the columns, then
 * convert the held records that are data. */
static bool start_table(csv_reader *r)
{
    nb_table *t = r->table;
    text_record *first = &r->held[0];
    r->n_file_fields = first->n_fields;
    r->header_line = first->line;
    t->has_header = first_record_is_header(r);

    char **file_names = nb_calloc((size_t)r->n_file_fields, sizeof *file_names);
    r->column_of_field = nb_calloc((size_t)r->n_file_fields, sizeof *r->column_of_field);
    if (!file_names || !r->column_of_field) {
        nb_free(file_names);
        return fail_nomem(r, "the column names");
    }
    bool ok = true;
    for (int j = 0; j < r->n_file_fields && ok; j++) {
        char generated[32];
        nb_table_unnamed_column(j, r->n_file_fields, generated, sizeof generated);
        const char *name = t->has_header && first->fields[j][0] ? first->fields[j] : generated;
        ok = (file_names[j] = nb_strdup(name)) != NULL;
    }
    if (!ok)
        fail_nomem(r, "the column names");
    else
        ok = names_unique(r, file_names) && select_columns(r, file_names) && choose_columns(r);
    for (int j = 0; j < r->n_file_fields; j++)
        nb_free(file_names[j]);
    nb_free(file_names);
    if (!ok)
        return false;

    r->streaming = true;
    return convert_records(r, t->has_header ? 1 : 0);
}

/* ---- converting data ------------------------------------------------------------------ */

/* "column 3 ('y')" for messages; a file without a header shows no names, so its columns
 * are told by number only (the name the table gives them is not in the file). */
static void column_label(const csv_reader *r, int field, int c, char *buf, size_t size)
{
    const nb_table *t = r->table;
    if (t->has_header)
        snprintf(buf, size, "column %d ('%.200s')", field + 1, t->names[c]);
    else
        snprintf(buf, size, "column %d", field + 1);
}

/* A cell that is not a usable number: the message names the file, the line, the column
 * and what to do. */
static void bad_cell(csv_reader *r, int field, int c, const char *text, bool missing)
{
    char column[256];
    column_label(r, field, c, column, sizeof column);
    const char *what = r->decimal == ',' ? "a number with a decimal comma (as the decimal option says)" : "a number";
    if (!*text || blank_line(text, strlen(text)))
        nb_fail(NB_EPARSE, "%s:%lld: %s is empty (a missing value): fill it in, or drop the rows with missing "
                "values (nabla fit --missing drop)", r->source, (long long)r->record_line, column);
    else if (missing)
        nb_fail(NB_EPARSE, "%s:%lld: %s: '%.64s' is a missing value: fill it in, or drop the rows with missing "
                "values (nabla fit --missing drop)", r->source, (long long)r->record_line, column, text);
    else
        nb_fail(NB_EPARSE, "%s:%lld: %s: '%.64s' is not %s%s", r->source, (long long)r->record_line, column, text,
                what, r->decimal != ',' && strchr(text, ',') ? " (decimal commas? nabla fit --decimal ,)" : "");
    r->failed = true;
}

static void convert_field(csv_reader *r, int field, const char *text, size_t len)
{
    int c = field < r->n_file_fields ? r->column_of_field[field] : -1;
    nb_table *t = r->table;
    if (c < 0 || !t->numeric[c])
        return; /* not kept or not converted, or a ragged row reported at its end */
    /* A plain number is no missing token unless the caller's tokens say so. */
    if (c != t->class_col && !r->options->missing_tokens && fast_number(text, len, r->decimal, &r->row[c]))
        return;
    bool empty = len == 0 || blank_line(text, len);
    bool drop = r->options->missing == NB_CSV_MISSING_DROP;
    if (drop && (empty || is_missing_token(r, text, len))) {
        r->row_missing = true;
        return;
    }
    if (c == t->class_col && !empty) {
        nb_free(r->class_cell);
        if (!(r->class_cell = nb_strdup(text)))
            fail_nomem(r, "the class names");
        return;
    }
    double value;
    if (empty || !parse_number(text, len, r->decimal, &value)) {
        bad_cell(r, field, c, text, !empty && is_missing_token(r, text, len));
    } else if (!isfinite(value) && !r->options->allow_nonfinite) {
        char column[256];
        column_label(r, field, c, column, sizeof column);
        nb_fail(NB_ENUMERIC, "%s:%lld: %s: '%.64s' is not a finite number%s", r->source, (long long)r->record_line,
                column, text, isnan(value) ? " (a missing value? nabla fit --missing drop drops its row)" : "");
        r->failed = true;
    } else {
        r->row[c] = value;
    }
}

static void end_data_row(csv_reader *r, int n_fields, int64_t line)
{
    nb_table *t = r->table;
    if (n_fields != r->n_file_fields) {
        nb_fail(NB_EPARSE, "%s:%lld: ragged row: %d fields, but %d on line %lld", r->source, (long long)line,
                n_fields, r->n_file_fields, (long long)r->header_line);
        r->failed = true;
        return;
    }
    if (r->row_missing) {
        r->row_missing = false;
        t->n_dropped++;
        nb_free(r->class_cell);
        r->class_cell = NULL;
        return;
    }
    if (t->n_rows == r->capacity && !table_grow(r))
        return;
    for (int c = 0; c < t->n_columns; c++)
        t->columns[c][t->n_rows] = r->row[c];
    t->lines[t->n_rows] = line;
    if (t->class_col >= 0) {
        r->class_cells[t->n_rows] = r->class_cell;
        r->class_cell = NULL;
    }
    t->n_rows++;
}

/* Convert held records from index `first` on, as if they were being parsed now. */
static bool convert_records(csv_reader *r, int first)
{
    int64_t line = r->line, record_line = r->record_line;
    for (int i = first; i < r->n_held && !r->failed; i++) {
        text_record *record = &r->held[i];
        r->line = r->record_line = record->line;
        for (int j = 0; j < record->n_fields && !r->failed; j++)
            convert_field(r, j, record->fields[j], strlen(record->fields[j]));
        if (!r->failed)
            end_data_row(r, record->n_fields, record->line);
    }
    r->line = line;
    r->record_line = record_line;
    return !r->failed;
}

/* ---- libcsv callbacks ---------------------------------------------------------------- */

static void hold_field(csv_reader *r, const char *text)
{
    text_record *record = &r->held[r->n_held];
    if (record->n_fields == record->capacity) {
        int capacity = record->capacity ? 2 * record->capacity : 16;
        char **fields = nb_realloc(record->fields, (size_t)capacity * sizeof *fields);
        if (!fields) {
            fail_nomem(r, "the first rows");
            return;
        }
        record->fields = fields;
        record->capacity = capacity;
    }
    if (!(record->fields[record->n_fields] = nb_strdup(text))) {
        fail_nomem(r, "the first rows");
        return;
    }
    record->n_fields++;
}

static void on_field(void *text, size_t len, void *data)
{
    csv_reader *r = data;
    if (r->failed)
        return;
    if (!text) {
        if (r->whitespace) /* an empty unquoted field: just more blanks between fields */
            return;
        text = "";
    }
    if (memchr(text, '\0', len)) {
        nb_fail(NB_EPARSE, "%s:%lld: field %d holds a NUL byte: binary data, not text", r->source,
                (long long)r->record_line, r->n_fields + 1);
        r->failed = true;
        return;
    }
    if (r->n_fields == MAX_FIELDS) {
        nb_fail(NB_EPARSE, "%s:%lld: more than %d fields on one line: nabla reads tables of at most %d columns "
                "(is the delimiter right?)", r->source, (long long)r->record_line, MAX_FIELDS, MAX_FIELDS);
        r->failed = true;
        return;
    }
    int field = r->n_fields++;
    if (r->streaming)
        convert_field(r, field, text, len);
    else
        hold_field(r, text);
}

static void on_row(int terminator, void *data)
{
    (void)terminator;
    csv_reader *r = data;
    int n_fields = r->n_fields;
    r->n_fields = 0;
    if (r->failed || n_fields == 0) /* n_fields 0: a blank line between whitespace */
        return;
    if (r->streaming) {
        end_data_row(r, n_fields, r->record_line);
        return;
    }
    r->held[r->n_held].line = r->record_line;
    if (++r->n_held == 2)
        start_table(r);
}

/* ---- feeding the parser ------------------------------------------------------------ */

static void parse_failed(csv_reader *r, size_t done)
{
    if (csv_error(&r->parser) == CSV_ENOMEM) {
        fail_nomem(r, "a field");
        return;
    }
    nb_fail(NB_EPARSE, "%s:%lld: malformed quotes at character %zu (a quote inside an unquoted field, or text "
            "after a closing quote)", r->source, (long long)r->line, r->line_offset + done + 1);
    r->failed = true;
}

/* libcsv holds the cell being parsed: past a megabyte it is not a number nor a name. */
static void cell_too_long(csv_reader *r)
{
    nb_fail(NB_EPARSE, "%s:%lld: field %d is longer than %zu bytes: not a number nor a class name (is this a "
            "text table? is the delimiter right?)", r->source, (long long)r->record_line, r->n_fields + 1,
            MAX_CELL_BYTES);
    r->failed = true;
}

/* The end of the line that starts at pos (just past its '\n', '\r\n' or lone '\r'), and
 * whether it ends there; else size. */
static size_t line_end(const char *block, size_t pos, size_t size, bool *ended)
{
    for (size_t i = pos; i < size; i++) {
        if (block[i] == '\n' || (block[i] == '\r' && (i + 1 == size || block[i + 1] != '\n'))) {
            *ended = true;
            return i + 1;
        }
    }
    *ended = false;
    return size;
}

/* Feed one block, line by line; lines that begin with the comment character outside
 * a record are skipped whole. Lines end with '\n', '\r\n' or a lone '\r' (old Mac
 * files), so that every row is numbered. */
static void feed_block(csv_reader *r, char *block, size_t size, bool *skipping)
{
    size_t pos = 0;
    while (pos < size && !r->failed) {
        /* libcsv's state 0 is "no row begun": we are not inside a quoted field. */
        bool between_records = r->parser.pstate == 0;
        if (r->line_offset == 0 && between_records &&
            (r->line <= r->options->skip_lines || (r->options->comment && block[pos] == r->options->comment)))
            *skipping = true;
        if (r->after_cr && block[pos] == '\n' && r->line_offset == 0) {
            /* the second half of a "\r\n" cut between two blocks: no new line */
            r->after_cr = false;
            if (!*skipping && csv_parse(&r->parser, block + pos, 1, on_field, on_row, r) != 1 && !r->failed)
                parse_failed(r, 0);
            pos++;
            continue;
        }
        bool nl;
        size_t end = line_end(block, pos, size, &nl);
        r->after_cr = nl && block[end - 1] == '\r';
        if (r->whitespace) /* libcsv has one delimiter: make tabs spaces */
            for (size_t i = pos; i < end; i++)
                if (block[i] == '\t')
                    block[i] = ' ';
        r->fed_bytes += (int64_t)(end - pos);
        if (!*skipping) {
            if (between_records)
                r->record_line = r->line;
            size_t done = csv_parse(&r->parser, block + pos, end - pos, on_field, on_row, r);
            if (done != end - pos && !r->failed)
                parse_failed(r, done);
            if (r->parser.entry_pos > MAX_CELL_BYTES && !r->failed)
                cell_too_long(r);
        }
        if (nl) {
            r->line++;
            r->line_offset = 0;
            *skipping = false;
        } else {
            r->line_offset += end - pos;
        }
        pos = end;
    }
}

/* ---- finishing -------------------------------------------------------------------------- */

static int compare_strings(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/* A known class name and its number, sorted by name for bsearch. */
typedef struct known_class {
    const char *name;
    int index;
} known_class;

static int compare_known(const void *a, const void *b)
{
    return strcmp(((const known_class *)a)->name, ((const known_class *)b)->name);
}

/* A cell's class: its text, or for a whole number written otherwise ("1.0", "1e0") the
 * number as classes of numbers are named ("1"; nb_dataset_from_table names them so). */
static const known_class *find_known(const known_class *sorted, int k, const char *cell, char decimal)
{
    known_class key = {cell, 0};
    const known_class *hit = bsearch(&key, sorted, (size_t)k, sizeof *sorted, compare_known);
    double value;
    if (hit || !parse_number(cell, strlen(cell), decimal, &value) || !(fabs(value) < 9007199254740992.0) ||
        value != floor(value))
        return hit;
    char name[32];
    snprintf(name, sizeof name, "%.0f", value + 0.0);
    key.name = name;
    return bsearch(&key, sorted, (size_t)k, sizeof *sorted, compare_known);
}

/* The class column through the caller's class names: cell -> its number in that list. */
static bool map_known_classes(csv_reader *r)
{
    const nb_csv_options *o = r->options;
    nb_table *t = r->table;
    int k = o->n_known_classes;
    known_class *sorted = nb_alloc((size_t)k * sizeof *sorted);
    if (!sorted)
        return fail_nomem(r, "the known classes");
    for (int c = 0; c < k; c++)
        sorted[c] = (known_class){o->known_classes[c], c};
    qsort(sorted, (size_t)k, sizeof *sorted, compare_known);
    for (int c = 1; c < k; c++)
        if (strcmp(sorted[c].name, sorted[c - 1].name) == 0) {
            int a = sorted[c - 1].index, b = sorted[c].index;
            nb_fail(NB_EARG, "nb_table_read: known class '%s' is given twice (classes %d and %d)", sorted[c].name,
                    (a < b ? a : b) + 1, (a < b ? b : a) + 1);
            nb_free(sorted);
            return r->failed = true, false;
        }
    double *column = t->columns[t->class_col];
    for (int64_t i = 0; i < t->n_rows; i++) {
        const known_class *hit = find_known(sorted, k, r->class_cells[i], r->decimal);
        if (!hit) {
            char list[512];
            nb_table_list_names((char *const *)o->known_classes, k, list, sizeof list);
            nb_fail(NB_EFORMAT, "%s:%lld: column '%s': '%.64s' is not one of the %d known classes (%s)", r->source,
                    (long long)t->lines[i], t->names[t->class_col], r->class_cells[i], k, list);
            nb_free(sorted);
            return r->failed = true, false;
        }
        column[i] = hit->index;
    }
    nb_free(sorted);
    t->class_names = nb_calloc((size_t)k, sizeof *t->class_names);
    if (!t->class_names)
        return fail_nomem(r, "the class names");
    t->n_classes = k; /* counted before the copies so that nb_table_free frees those made */
    for (int c = 0; c < k; c++)
        if (!(t->class_names[c] = nb_strdup(o->known_classes[c])))
            return fail_nomem(r, "the class names");
    return true;
}

/* The class column: numbers when every cell is one, otherwise sorted distinct names. */
static bool finish_class_column(csv_reader *r)
{
    nb_table *t = r->table;
    if (t->class_col < 0)
        return true;
    if (r->options->known_classes)
        return map_known_classes(r);
    int64_t n = t->n_rows;
    double *column = t->columns[t->class_col];
    bool numeric = true;
    for (int64_t i = 0; i < n && numeric; i++)
        numeric = parse_number(r->class_cells[i], strlen(r->class_cells[i]), r->decimal, &column[i]);
    if (numeric) {
        for (int64_t i = 0; i < n; i++)
            if (!isfinite(column[i]) && !r->options->allow_nonfinite) {
                nb_fail(NB_ENUMERIC, "%s:%lld: column '%s': '%.64s' is not a finite number", r->source,
                        (long long)t->lines[i], t->names[t->class_col], r->class_cells[i]);
                return r->failed = true, false;
            }
        t->class_col = -1;
        return true;
    }
    char **sorted = nb_alloc((size_t)n * sizeof *sorted);
    if (!sorted)
        return fail_nomem(r, "sorting the class names");
    memcpy(sorted, r->class_cells, (size_t)n * sizeof *sorted);
    qsort(sorted, (size_t)n, sizeof *sorted, compare_strings);
    int64_t distinct = 0;
    for (int64_t i = 0; i < n; i++)
        if (i == 0 || strcmp(sorted[i], sorted[distinct - 1]) != 0)
            sorted[distinct++] = sorted[i];
    if (distinct > INT32_MAX) {
        nb_free(sorted);
        nb_fail(NB_EFORMAT, "%s: %lld distinct class names is too many", r->source, (long long)distinct);
        return r->failed = true, false;
    }
    t->class_names = nb_calloc((size_t)distinct, sizeof *t->class_names);
    bool ok = t->class_names != NULL;
    if (ok) /* counted before the copies so that nb_table_free frees those made */
        t->n_classes = (int)distinct;
    for (int64_t k = 0; k < distinct && ok; k++)
        ok = (t->class_names[k] = nb_strdup(sorted[k])) != NULL;
    for (int64_t i = 0; i < n && ok; i++) {
        char **hit = bsearch(&r->class_cells[i], sorted, (size_t)distinct, sizeof *sorted, compare_strings);
        column[i] = (double)(hit - sorted);
    }
    nb_free(sorted);
    return ok ? true : fail_nomem(r, "the class names");
}

/* The columns no longer than the rows: an estimate of the rows may have been high.
 * (Shrinking does not fail in practice; where it does, the longer arrays stay.) */
static void trim_columns(csv_reader *r)
{
    nb_table *t = r->table;
    if (r->capacity - t->n_rows < 1024)
        return;
    for (int c = 0; c < t->n_columns; c++) {
        double *shrunk = nb_realloc(t->columns[c], (size_t)t->n_rows * sizeof(double));
        t->columns[c] = shrunk ? shrunk : t->columns[c];
    }
    int64_t *lines = nb_realloc(t->lines, (size_t)t->n_rows * sizeof *lines);
    t->lines = lines ? lines : t->lines;
}

static bool finish(csv_reader *r, bool read_anything)
{
    nb_table *t = r->table;
    if (!r->streaming) {
        if (r->n_held == 0) {
            nb_fail(NB_EFORMAT, read_anything ? "%s: no rows (only blank or comment lines)" : "%s: the file is empty",
                    r->source);
            return r->failed = true, false;
        }
        if (!start_table(r))
            return false;
    }
    if (t->n_rows == 0 && t->n_dropped > 0) {
        nb_fail(NB_EFORMAT, "%s: all %lld data rows have a missing value (empty, NA or NaN) in a column that is read",
                r->source, (long long)t->n_dropped);
        return r->failed = true, false;
    }
    if (t->n_rows == 0) {
        nb_fail(NB_EFORMAT, "%s:%lld: a header but no data rows", r->source, (long long)r->header_line);
        return r->failed = true, false;
    }
    trim_columns(r);
    return finish_class_column(r);
}

static void reader_clear(csv_reader *r)
{
    for (int i = 0; i < 2; i++)
        record_clear(&r->held[i]);
    if (r->class_cells && r->table)
        for (int64_t i = 0; i < r->table->n_rows; i++)
            nb_free(r->class_cells[i]);
    nb_free(r->class_cells);
    nb_free(r->class_cell);
    nb_free(r->column_of_field);
    nb_free(r->row);
}

static bool known_classes_ok(const nb_csv_options *o)
{
    if (!o->known_classes && o->n_known_classes == 0)
        return true;
    if (!o->known_classes || o->n_known_classes < 1) {
        nb_fail(NB_EARG, "nb_table_read: %d known classes %s", o->n_known_classes,
                o->known_classes ? "(at least one is needed)" : "but no list given");
        return false;
    }
    if (!o->class_column && !o->class_column_last) {
        nb_fail(NB_EARG, "nb_table_read: known classes are given but no class column");
        return false;
    }
    for (int c = 0; c < o->n_known_classes; c++)
        if (!o->known_classes[c]) {
            nb_fail(NB_EARG, "nb_table_read: known class %d is NULL", c + 1);
            return false;
        }
    return true; /* duplicates are found once the names are sorted */
}

static bool options_ok(const nb_csv_options *o)
{
    if (o->delimiter && !strchr(",;\t ", o->delimiter)) {
        nb_fail(NB_EARG, "nb_table_read: delimiter must be ',', ';', tab or ' ' (whitespace), not '%c'", o->delimiter);
        return false;
    }
    if (o->decimal && o->decimal != '.' && o->decimal != ',') {
        nb_fail(NB_EARG, "nb_table_read: the decimal separator must be '.' or ',', not '%c'", o->decimal);
        return false;
    }
    if (o->decimal == ',' && o->delimiter == ',') {
        nb_fail(NB_EARG, "nb_table_read: ',' cannot be both the delimiter and the decimal separator (files with "
                "decimal commas separate fields with ';', tabs or blanks)");
        return false;
    }
    if (o->missing != NB_CSV_MISSING_ERROR && o->missing != NB_CSV_MISSING_DROP) {
        nb_fail(NB_EARG, "nb_table_read: unknown missing-value mode %d", (int)o->missing);
        return false;
    }
    if (o->n_missing_tokens < 0 || (o->n_missing_tokens > 0 && !o->missing_tokens)) {
        nb_fail(NB_EARG, "nb_table_read: %d missing-value tokens but no list given", o->n_missing_tokens);
        return false;
    }
    for (int i = 0; i < o->n_missing_tokens; i++)
        if (!o->missing_tokens[i]) {
            nb_fail(NB_EARG, "nb_table_read: missing-value token %d is NULL", i + 1);
            return false;
        }
    if (o->header != NB_CSV_HEADER_AUTO && o->header != NB_CSV_HEADER_YES && o->header != NB_CSV_HEADER_NO) {
        nb_fail(NB_EARG, "nb_table_read: unknown header mode %d", (int)o->header);
        return false;
    }
    if (o->skip_lines < 0) {
        nb_fail(NB_EARG, "nb_table_read: cannot skip %lld lines", (long long)o->skip_lines);
        return false;
    }
    if (o->n_columns < 0 || (o->n_columns > 0 && !o->columns)) {
        nb_fail(NB_EARG, "nb_table_read: %d columns selected but no list given", o->n_columns);
        return false;
    }
    for (int i = 0; i < o->n_columns; i++)
        if (!o->columns[i]) {
            nb_fail(NB_EARG, "nb_table_read: selected column %d is NULL", i + 1);
            return false;
        }
    return known_classes_ok(o);
}

/* A whole block, or what is left: the first block is the sample the delimiter is
 * guessed from, and inflated gzip data come in pieces. */
static size_t read_block(csv_reader *r, nb_io_text *input, char *block)
{
    size_t have = 0, got = 1;
    while (have < BLOCK_SIZE && got > 0) {
        if (nb_io_text_read(input, block + have, BLOCK_SIZE - have, &got) != NB_OK) {
            r->failed = true;
            return 0;
        }
        have += got;
    }
    return have;
}

/* The first text of the file: past a byte-order mark, the delimiter decided from it and
 * the parser set up. */
static bool parse_start(csv_reader *r, char **text, size_t *got)
{
    if (*got >= 3 && memcmp(*text, "\xEF\xBB\xBF", 3) == 0) { /* a UTF-8 byte-order mark */
        *text += 3;
        *got -= 3;
    }
    char delimiter = r->options->delimiter
                         ? r->options->delimiter
                         : detect_delimiter(*text, *got, r->options->comment, r->options->skip_lines, r->decimal);
    r->whitespace = delimiter == ' ';
    r->table->delimiter = delimiter;
    unsigned char flags = CSV_STRICT | CSV_STRICT_FINI | CSV_APPEND_NULL;
    if (csv_init(&r->parser, flags | (r->whitespace ? CSV_EMPTY_IS_NULL : 0)) != 0)
        return fail_nomem(r, "the CSV parser");
    csv_set_realloc_func(&r->parser, nb_realloc);
    csv_set_free_func(&r->parser, nb_free);
    csv_set_delim(&r->parser, (unsigned char)delimiter);
    /* libcsv grows a cell's buffer by this much at a time: its default of 128 bytes
     * makes a long cell cost quadratic time in copies. */
    csv_set_blk_size(&r->parser, CELL_BLOCK);
    return true;
}

/* The end of the input: the last record, an unclosed quote. */
static void parse_end(csv_reader *r)
{
    if (!r->failed && csv_fini(&r->parser, on_field, on_row, r) != 0 && !r->failed) {
        if (csv_error(&r->parser) == CSV_ENOMEM) {
            fail_nomem(r, "a field");
        } else {
            nb_fail(NB_EPARSE, "%s:%lld: a quoted field is never closed", r->source, (long long)r->record_line);
            r->failed = true;
        }
    }
    csv_free(&r->parser);
}

static bool read_blocks(csv_reader *r, nb_io_text *input)
{
    char *block = nb_alloc(BLOCK_SIZE);
    if (!block)
        return fail_nomem(r, "the read buffer");
    bool started = false, skipping = false;
    size_t got;
    while (!r->failed && (got = read_block(r, input, block)) > 0) {
        char *text = block;
        if (!started && !(started = parse_start(r, &text, &got)))
            break;
        feed_block(r, text, got, &skipping);
    }
    nb_free(block);
    if (started)
        parse_end(r);
    return !r->failed && finish(r, started);
}

/* The bytes left in a plain (not gzip) regular file from `at` on, else 0. */
static int64_t plain_size(const nb_io_text *input, FILE *file, off_t at)
{
    struct stat st;
    if (input->gzip || at < 0 || fstat(fileno(file), &st) != 0 || !S_ISREG(st.st_mode) || st.st_size < at)
        return 0;
    return (int64_t)(st.st_size - at);
}

/* Parse the open stream into r->table. */
static bool read_stream(csv_reader *r, FILE *file)
{
    nb_io_text input;
    off_t at = ftello(file); /* a caller may have read into the stream */
    if (nb_io_text_open(&input, file, r->source) != NB_OK) {
        nb_io_text_close(&input);
        return r->failed = true, false;
    }
    r->text_bytes = plain_size(&input, file, at);
    bool ok = read_blocks(r, &input);
    nb_io_text_close(&input);
    return ok;
}

nb_table *nb_table_read_stream(FILE *stream, const char *name, const nb_csv_options *options)
{
    static const nb_csv_options defaults = {0};
    if (!options)
        options = &defaults;
    if (!stream || !name) {
        nb_fail(NB_EARG, "nb_table_read_stream: %s is NULL", stream ? "the name" : "the stream");
        return NULL;
    }
    if (!options_ok(options))
        return NULL;
    nb_table *table = nb_calloc(1, sizeof *table);
    if (!table || !(table->source = nb_strdup(name))) {
        nb_free(table);
        nb_fail(NB_ENOMEM, "nb_table_read: out of memory");
        return NULL;
    }
    table->class_col = -1;
    csv_reader r = {.source = table->source, .options = options, .line = 1, .record_line = 1, .table = table,
                    .decimal = options->decimal == ',' ? ',' : '.'};
    bool ok = read_stream(&r, stream);
    reader_clear(&r);
    if (!ok) {
        nb_table_free(table);
        return NULL;
    }
    return table;
}

nb_table *nb_table_read(const char *path, const nb_csv_options *options)
{
    if (!path) {
        nb_fail(NB_EARG, "nb_table_read: path is NULL");
        return NULL;
    }
    if (strcmp(path, "-") == 0)
        return nb_table_read_stream(stdin, "<stdin>", options);
    int fd = nb_io_open_regular(path);
    FILE *file = fd >= 0 ? fdopen(fd, "rb") : NULL;
    if (!file) {
        if (fd >= 0) {
            nb_fail(NB_EIO, "cannot open '%s': %s", path, strerror(errno));
            close(fd);
        }
        return NULL;
    }
    nb_table *table = nb_table_read_stream(file, path, options);
    fclose(file);
    return table;
}
