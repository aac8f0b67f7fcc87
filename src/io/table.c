/* The table a fit reads: a copy of what the shared CSV reader returns, with the fit's
 * names for columns that have none, and lookups by name or number. */
#include "core/core.h"

#include "nabla/io.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

nb_csv_options nb_lsq_csv_defaults(void) { return (nb_csv_options){.comment = '#'}; }

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

nb_status nb_lsq_data_from_csv(const nb_csv_table *table, nb_lsq_data *data)
{
    if (!data)
        return nb_fail(NB_EARG, "nb_lsq_data_from_csv: data must not be NULL");
    memset(data, 0, sizeof *data);
    if (!table || table->n_cols < 1)
        return nb_fail(NB_EARG, "nb_lsq_data_from_csv: needs a table with at least one column");
    int n = table->n_cols;
    /* Formulas read columns by name: a file without a header gets short names that a
     * formula can use, x and y being what two columns almost always are. */
    char **generated = NULL;
    if (!table->has_header) {
        generated = nb_calloc((size_t)n, sizeof *generated);
        if (!generated)
            return nb_fail(NB_ENOMEM, "out of memory naming %d columns", n);
        for (int k = 0; k < n; k++) {
            char name[32];
            if (n == 2)
                snprintf(name, sizeof name, "%s", k == 0 ? "x" : "y");
            else
                snprintf(name, sizeof name, "c%d", k + 1);
            if (!(generated[k] = nb_strdup(name))) {
                for (int j = 0; j < k; j++)
                    nb_free(generated[j]);
                nb_free(generated);
                return nb_fail(NB_ENOMEM, "out of memory naming %d columns", n);
            }
        }
    }
    nb_status status = nb_lsq_data_from_columns(n, (const char *const *)(generated ? generated : table->names),
                                                table->n_rows, (const double *const *)table->columns, data);
    if (generated)
        for (int k = 0; k < n; k++)
            nb_free(generated[k]);
    nb_free(generated);
    if (status == NB_OK)
        data->has_header = table->has_header;
    return status;
}

nb_status nb_lsq_data_read(const char *path, const nb_csv_options *options, nb_lsq_data *data)
{
    if (!path || !data)
        return nb_fail(NB_EARG, "nb_lsq_data_read: path and data must not be NULL");
    memset(data, 0, sizeof *data);
    nb_csv_options defaults = nb_lsq_csv_defaults();
    nb_csv_table *table = nb_csv_read(path, options ? options : &defaults);
    if (!table)
        return nb_errcode();
    nb_status status = nb_lsq_data_from_csv(table, data);
    nb_csv_free(table);
    return status;
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
