/* Where `nabla train` and `nabla predict` get their data: Fashion-MNIST as Debian
 * installs it, or any CSV file. */
#ifndef NABLA_DATA_SOURCE_H
#define NABLA_DATA_SOURCE_H

#include "cli.h"

/* The most classes a target of numbers (or of names) is taken to hold unless the loss
 * is chosen (--loss ce). */
#define AUTO_MAX_CLASSES 256

/* "fashion-mnist" (any case) names the Debian data set. */
bool source_is_fashion_mnist(const char *data);

/* Where Debian's package dataset-fashion-mnist installs the set, and the variable that
 * names another directory holding the same files. */
#define FASHION_MNIST_DIR "/usr/share/datasets/fashion-mnist"
#define FASHION_MNIST_ENV "NABLA_FASHION_MNIST"

/* The names of Fashion-MNIST's 10 classes, in label order. */
extern const char *const fashion_mnist_classes[10];

/* Fashion-MNIST's training set (60,000 images of 28x28) or test set (10,000), from
 * $NABLA_FASHION_MNIST or FASHION_MNIST_DIR, each file as NAME.gz or NAME. max_items > 0
 * loads only the first items. NULL with a message (for cli_error(..., NULL)) naming the
 * missing file and the package that provides it, or what is wrong with the files. */
nb_dataset *fashion_mnist_load(bool train, nb_dtype dtype, int64_t max_items);

/* Whether a table column of numbers looks like class labels rather than values to
 * regress on: whole numbers counted from 0 or 1, none above AUTO_MAX_CLASSES - 1, and at
 * least ten rows per distinct value on average (a column of two values always counts).
 * A price in whole dollars, an age or a row number is not taken for classes. */
bool table_numbers_are_labels(const nb_table *table, int column);

/* Whether a column of numbers can be class labels, as --loss ce asks: whole numbers, at
 * least two rows per distinct value on average. Otherwise false with a message naming the
 * target, why its numbers are values, and the loss for them (mse). */
bool table_numbers_can_be_classes(const nb_table *table, int column);

/* After a file failed to be read for a model (a cell of a column the model does not use,
 * "'setosa' is not a number", or a missing column): when the file has a header that lacks
 * some of the model's n_features input columns, the message becomes one naming them,
 * what the model expects and what the file has; otherwise it is left as it was. */
void explain_missing_columns(const char *path, char *const *features, int n_features);

/* Whether every value of a column lies in [low, high] (and is a whole number when
 * `whole`); otherwise false with a message "FILE:LINE: column 'NAME' holds V, not
 * EXPECTED" (for cli_error(..., NULL)). */
bool table_column_within(const nb_table *table, int column, double low, double high, bool whole,
                         const char *expected);

/* A dataset from a table: `target` (a column as nb_table_column finds it) against the
 * n_features `features` (NULL: every other column), as labels or as values. */
nb_dataset *dataset_from_table(const nb_table *table, char *const *features, int n_features, const char *target,
                               bool labels, nb_dtype dtype, int64_t limit);

/* The names of a comma-separated list typed on the command line ("a,b,c"; a column
 * whose name holds a comma is written by number, "$3"), in *n; NULL with a message
 * for an empty item or when out of memory. free_names() them. */
char **split_names(const char *list, int *n);
/* Copies of n names (NULL for none); NULL with a message when out of memory. */
char **copy_names(char *const *names, int n);
void free_names(char **names, int n);

#endif
