/* nabla CSV: delimited text files (CSV, semicolon-separated, TSV, whitespace-separated)
 * read through libcsv into a table of named columns of doubles.
 *
 * Every problem is reported with the file, the line and the column (the field number):
 * a missing or empty file, a header without data, ragged rows, a cell that is not a
 * number, NaN or infinite values (refused unless allowed), malformed quotes, and, when
 * columns are selected, a column that is not there (the message lists those that are). */
#ifndef NABLA_CSV_H
#define NABLA_CSV_H

#include "nabla/core.h"

#include <stdbool.h>
#include <stdio.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef enum nb_csv_header {
    NB_CSV_HEADER_AUTO = 0, /* the first row is a header when it holds a cell that is not a
                               number where the second row holds one, or (one-row file)
                               when any of its cells is not a number */
    NB_CSV_HEADER_YES,
    NB_CSV_HEADER_NO
} nb_csv_header;

/* Options; a zero-initialised struct (or NULL) means: detect the header, detect the
 * delimiter, refuse NaN and infinity, keep every column, no class-name column, no
 * comments, skip no lines. */
typedef struct nb_csv_options {
    nb_csv_header header;
    /* ',', ';', '\t', or ' ' for runs of spaces and tabs; 0 detects it from the first
     * lines (tab, then semicolon, then comma when each occurs the same number of times,
     * outside quotes, on every sampled line; otherwise whitespace). */
    char delimiter;
    /* Accept "nan", "inf" and values that overflow a double. */
    bool allow_nonfinite;
    /* Keep only these columns, in this order: names, or 1-based indices written as
     * numbers ("3"). A name wins over an index when a header names a column "3".
     * Cells of the other columns are not converted (they may hold text). */
    const char *const *columns;
    int n_columns;
    /* A column (name or 1-based index) that may hold class names ("setosa", "cat"):
     * when any of its cells is not a number, its distinct values, in sorted order,
     * become the classes 0..k-1 and the names are kept in the table. When all of its
     * cells are numbers it is an ordinary column. NULL: none. */
    const char *class_column;
    /* With class_column NULL: the last column is the class column (whatever its name,
     * e.g. a default target that is the last column). */
    bool class_column_last;
    /* The classes that the class column's names must come from, in this order (e.g. a
     * training file's, so that class i means the same thing in every file read with
     * them): the column is read as names even when its cells look like numbers, class i
     * is known_classes[i], the table's class_names are copies of these n_known_classes
     * names, and a cell that is none of them fails with the file, the line and the
     * value. Needs a class column; the names must be distinct. NULL: the names found,
     * sorted. */
    const char *const *known_classes;
    int n_known_classes;
    /* Lines that begin with this character are skipped (0: none; '#' is a common
     * choice). Only outside quoted fields. */
    char comment;
    /* Skip this many lines at the top, whatever they hold (e.g. a preamble). Line
     * numbers in messages still count them. */
    int64_t skip_lines;
} nb_csv_options;

/* A table read from a file: n_rows rows, n_cols named columns, each column contiguous. */
typedef struct nb_csv_table {
    char *source;      /* the path, or "<stdin>" */
    int64_t n_rows;    /* data rows (the header is not counted) */
    int n_cols;
    char **names;      /* n_cols; "col1", "col2", ... when the file has no header */
    double **columns;  /* n_cols arrays of n_rows values */
    int64_t *lines;    /* n_rows: the line of the file each row came from, for messages */
    bool has_header;
    char delimiter;    /* the one used (' ' for whitespace) */
    int class_col;     /* the column holding class names, or -1 */
    int n_classes;     /* distinct class names in it, or n_known_classes (0 when class_col is -1) */
    char **class_names; /* n_classes; class i is class_names[i] */
} nb_csv_table;

/* Read `path` ("-" reads standard input). A UTF-8 byte-order mark is skipped. NULL on
 * failure, with a message such as "data.csv:7: column 3 ('y'): 'abc' is not a number". */
nb_csv_table *nb_csv_read(const char *path, const nb_csv_options *options);
/* The same from an open stream (a pipe, fmemopen'ed text), named `name` in messages. The
 * stream is read to its end and not closed. */
nb_csv_table *nb_csv_read_stream(FILE *stream, const char *name, const nb_csv_options *options);
void nb_csv_free(nb_csv_table *table);

/* The 0-based column for a name or a 1-based index ("x", "3"); -1 with a message that
 * lists the available columns when there is none, or when a name is ambiguous. */
int nb_csv_column(const nb_csv_table *table, const char *name_or_index);

#ifdef __cplusplus
}
#endif

#endif
