/* Tables from delimited text (or gzip data): the input read through fmemopen with a few
 * option sets;
 * when it reads, a dataset from its first column (a label column when it holds class
 * names). */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include "fuzz_common.h"

#include "nabla/io.h"

#include <stdio.h>

static void to_dataset(const nb_table *table)
{
    const char *target[1] = {"1"};
    nb_dataset *set = nb_dataset_from_table(table, NULL, 0, target, 1, false, NB_F32);
    nb_dataset_free(set);
    if (table->class_col >= 0) {
        const char *labels[1] = {table->names[table->class_col]};
        set = nb_dataset_from_table(table, NULL, 0, labels, 1, true, NB_F64);
        nb_dataset_free(set);
    }
}

static void read_with(const uint8_t *data, size_t size, const nb_csv_options *options)
{
    FILE *stream = fmemopen((void *)data, size, "r");
    if (!stream)
        return;
    nb_table *table = nb_table_read_stream(stream, "fuzz.csv", options);
    fclose(stream);
    if (!table)
        return;
    nb_table_column(table, "y");
    nb_table_column(table, "$2");
    to_dataset(table);
    nb_table_free(table);
}

static nb_status every_other(void *context, const nb_table *table, bool *convert)
{
    (void)context;
    for (int k = 1; k < table->n_columns; k += 2)
        convert[k] = false;
    return NB_OK;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    fuzz_begin(size);
    if (size == 0)
        return 0;  /* fmemopen refuses an empty buffer */
    static const char *const selected[2] = {"y", "$1"};
    static const char *const known[3] = {"cat", "dog", "3"};
    nb_csv_options options[5] = {{0}};
    options[1].header = NB_CSV_HEADER_YES;
    options[1].delimiter = ',';
    options[1].allow_nonfinite = true;
    options[1].comment = '#';
    options[1].class_column_last = true;
    options[2].header = NB_CSV_HEADER_NO;
    options[2].delimiter = ' ';
    options[2].skip_lines = 1;
    options[2].columns = selected;
    options[2].n_columns = 2;
    options[3].delimiter = ';';
    options[3].class_column = "$1";
    options[3].known_classes = known;
    options[3].n_known_classes = 3;
    /* decimal commas, gaps dropped, unique names, and every other column left unread */
    options[4].decimal = ',';
    options[4].missing = NB_CSV_MISSING_DROP;
    options[4].unique_names = true;
    options[4].choose_columns = every_other;
    for (int i = 0; i < 5; i++)
        read_with(data, size, &options[i]);
    return 0;
}
