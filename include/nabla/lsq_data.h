/* nabla lsq_data: the table a fit reads — named columns of doubles.
 *
 * Files are read by the shared CSV reader (nabla/csv.h: CSV, ';'-separated, TSV or
 * whitespace-separated, header and delimiter detected, '-' for standard input, errors
 * with file, line and column); this header adds only what fitting needs: the names of
 * columns that have none, and lookups by name or number ("y", "3", "$3"). */
#ifndef NABLA_LSQ_DATA_H
#define NABLA_LSQ_DATA_H

#include "nabla/core.h"
#include "nabla/csv.h"

#include <stdbool.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef struct nb_lsq_data {
    int n_columns;
    int64_t n_rows;
    char **names;     /* the header's names; without a header c1, c2, ... (x and y for two columns) */
    double **columns; /* columns[k][i]: row i of column k */
    bool has_header;
} nb_lsq_data;

/* What `nabla fit` reads with: header and delimiter detected, lines starting with '#'
 * skipped. */
nb_csv_options nb_lsq_csv_defaults(void);

/* Read a file through nb_csv_read ("-" reads standard input); options NULL means
 * nb_lsq_csv_defaults(). Every cell must be a finite number. On failure `data` is left
 * empty and the reader's message (file:line: column N ...) is in nb_errmsg(). */
nb_status nb_lsq_data_read(const char *path, const nb_csv_options *options, nb_lsq_data *data);
/* A copy of a table read by nb_csv_read; the columns of a table without a header are
 * named x and y when there are two, else c1, c2, .... */
nb_status nb_lsq_data_from_csv(const nb_csv_table *table, nb_lsq_data *data);
/* A table from caller arrays (copied): columns[k] holds n_rows values. */
nb_status nb_lsq_data_from_columns(int n_columns, const char *const *names, int64_t n_rows,
                                   const double *const *columns, nb_lsq_data *data);
void nb_lsq_data_free(nb_lsq_data *data);

/* A column by name, or by 1-based number ("3" or "$3"); -1 when there is none. */
int nb_lsq_data_column(const nb_lsq_data *data, const char *name_or_number);
/* "x, y, sigma" into buf (for messages); returns buf. */
char *nb_lsq_data_names(const nb_lsq_data *data, char *buf, size_t size);

#ifdef __cplusplus
}
#endif

#endif
