/* What the table's reader (csv.c) shares with the table itself (table.c): the naming
 * rule for columns without a name, the one column lookup, and lists of names for
 * messages. Private to the io layer. */
#ifndef NB_IO_TABLE_INTERNAL_H
#define NB_IO_TABLE_INTERNAL_H

#include "nabla/io.h"

#include <stddef.h>

/* The name of column `index` (0-based) of a file of `n_columns` columns that has none:
 * x and y for two columns, otherwise c1, c2, ... (see nabla/io.h). */
void nb_table_unnamed_column(int index, int n_columns, char *buf, size_t size);

/* The column of `names` called `spec`, or numbered "3" / "$3"; -1 with a message that
 * begins with `source` and lists the columns. */
int nb_table_find_column(char *const *names, int n, const char *spec, const char *source);

/* "x, y, z" into buf, cut short with "..." when it does not fit. */
void nb_table_list_names(char *const *names, int n, char *buf, size_t size);

#endif
