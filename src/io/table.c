/* The table: its columns' names, the one lookup of a column by name or number, copies of
 * caller arrays, and freeing. Reading files is csv.c's. */
#include "io/table_internal.h"

#include "core/core.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Formulas read columns by name: a column without one gets a short name a formula can
 * use, x and y being what two columns almost always are. */
void nb_table_unnamed_column(int index, int n_columns, char *buf, size_t size)
{
    if (n_columns == 2)
        snprintf(buf, size, "%s", index == 0 ? "x" : "y");
    else
        snprintf(buf, size, "c%d", index + 1);
}

void nb_table_list_names(char *const *names, int n, char *buf, size_t size)
{
    size_t used = 0;
    buf[0] = '\0';
    for (int i = 0; i < n; i++) {
        size_t len = strlen(names[i]);
        if (used + len + 8 >= size) {
            snprintf(buf + used, size - used, "%s...", i ? ", " : "");
            return;
        }
        used += (size_t)snprintf(buf + used, size - used, "%s%s", i ? ", " : "", names[i]);
    }
}

/* "3" or "$3": the number; 0 when spec is not one. */
static long column_number(const char *spec)
{
    const char *digits = spec[0] == '$' ? spec + 1 : spec;
    if (!*digits)
        return 0;
    for (const char *c = digits; *c; c++)
        if (*c < '0' || *c > '9')
            return 0;
    long number = strtol(digits, NULL, 10);
    return number > 0 ? number : -1; /* "0" is a number, but no column's */
}

int nb_table_find_column(char *const *names, int n, const char *spec, const char *source)
{
    int found = -1;
    for (int i = 0; i < n; i++) {
        if (strcmp(names[i], spec) != 0)
            continue;
        if (found >= 0) {
            nb_fail(NB_EARG, "%s: column name '%s' is ambiguous (columns %d and %d); select it by number",
                    source, spec, found + 1, i + 1);
            return -1;
        }
        found = i;
    }
    if (found >= 0)
        return found;
    long number = column_number(spec);
    if (number > 0 && number <= n)
        return (int)number - 1;
    char list[768];
    nb_table_list_names(names, n, list, sizeof list);
    if (number != 0)
        nb_fail(NB_EARG, "%s: no column %s (there are %d columns: %s)", source, spec, n, list);
    else
        nb_fail(NB_EARG, "%s: no column '%s'; available columns: %s", source, spec, list);
    return -1;
}

int nb_table_column(const nb_table *table, const char *name_or_number)
{
    if (!table || !name_or_number) {
        nb_fail(NB_EARG, "nb_table_column: %s is NULL", table ? "the column" : "the table");
        return -1;
    }
    return nb_table_find_column(table->names, table->n_columns, name_or_number, table->source);
}

void nb_table_free(nb_table *table)
{
    if (!table)
        return;
    for (int c = 0; c < table->n_columns; c++) {
        if (table->names)
            nb_free(table->names[c]);
        if (table->columns)
            nb_free(table->columns[c]);
    }
    for (int k = 0; k < table->n_classes; k++)
        nb_free(table->class_names[k]);
    nb_free(table->class_names);
    nb_free(table->names);
    nb_free(table->columns);
    nb_free(table->lines);
    nb_free(table->numeric);
    nb_free(table->source);
    nb_free(table);
}

/* Column k's name and values into the table; false when out of memory. */
static bool copy_column(nb_table *t, int k, const char *name, const double *values)
{
    char unnamed[32];
    if (!name) {
        nb_table_unnamed_column(k, t->n_columns, unnamed, sizeof unnamed);
        name = unnamed;
    }
    t->names[k] = nb_strdup(name);
    t->columns[k] = nb_alloc((size_t)(t->n_rows ? t->n_rows : 1) * sizeof(double));
    if (!t->names[k] || !t->columns[k])
        return false;
    memcpy(t->columns[k], values, (size_t)t->n_rows * sizeof(double));
    return true;
}

static nb_table *table_new(int n_columns, int64_t n_rows)
{
    nb_table *t = nb_calloc(1, sizeof *t);
    if (!t)
        return NULL;
    t->class_col = -1;
    t->source = nb_strdup("<arrays>");
    t->names = nb_calloc((size_t)n_columns, sizeof *t->names);
    t->columns = nb_calloc((size_t)n_columns, sizeof *t->columns);
    t->lines = nb_alloc((size_t)(n_rows ? n_rows : 1) * sizeof *t->lines);
    t->numeric = nb_alloc((size_t)n_columns * sizeof *t->numeric);
    t->n_columns = n_columns;
    t->n_rows = n_rows;
    if (!t->source || !t->names || !t->columns || !t->lines || !t->numeric) {
        nb_table_free(t);
        return NULL;
    }
    for (int64_t i = 0; i < n_rows; i++)
        t->lines[i] = i + 1;
    for (int k = 0; k < n_columns; k++)
        t->numeric[k] = true;
    return t;
}

nb_table *nb_table_from_columns(int n_columns, const char *const *names, int64_t n_rows,
                                const double *const *columns)
{
    if (n_columns < 1 || n_rows < 0 || !columns) {
        nb_fail(NB_EARG, "nb_table_from_columns: needs at least one column of values (%d columns, %lld rows)",
                n_columns, (long long)n_rows);
        return NULL;
    }
    for (int k = 0; k < n_columns; k++)
        if (!columns[k] || (names && !names[k])) {
            nb_fail(NB_EARG, "nb_table_from_columns: column %d has no %s", k + 1, columns[k] ? "name" : "values");
            return NULL;
        }
    nb_table *t = table_new(n_columns, n_rows);
    bool ok = t != NULL;
    if (ok)
        t->has_header = names != NULL;
    for (int k = 0; k < n_columns && ok; k++)
        ok = copy_column(t, k, names ? names[k] : NULL, columns[k]);
    if (!ok) {
        nb_table_free(t);
        nb_fail(NB_ENOMEM, "out of memory copying a table of %d columns and %lld rows", n_columns,
                (long long)n_rows);
        return NULL;
    }
    return t;
}
