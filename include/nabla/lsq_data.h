/* nabla lsq_data: the table a fit reads, from CSV, TSV or whitespace-separated text.
 *
 * Deliberately small (named columns of doubles), so that the shared CSV reader can take
 * its place later. */
#ifndef NABLA_LSQ_DATA_H
#define NABLA_LSQ_DATA_H

#include "nabla/core.h"

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

typedef struct nb_lsq_read_options {
    /* 1: the first row names the columns; 0: it is data; -1 (the default): it is a header
     * when one of its fields is not a number. */
    int header;
    /* ',', ';', '\t', or ' ' for runs of blanks; 0 (the default) guesses from the first
     * line: a comma, else a semicolon, else a tab, else blanks. */
    char delimiter;
} nb_lsq_read_options;

/* Defaults: guess both. */
nb_lsq_read_options nb_lsq_read_defaults(void);

/* Read a file ("-" reads standard input). Blank lines and lines starting with '#' are
 * skipped. Every field must be a finite number; errors name file:line:column. On failure
 * `data` is left empty. */
nb_status nb_lsq_data_read(const char *path, const nb_lsq_read_options *options, nb_lsq_data *data);
/* The same from memory; `source` names it in messages. */
nb_status nb_lsq_data_parse(const char *text, size_t length, const char *source,
                            const nb_lsq_read_options *options, nb_lsq_data *data);
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
