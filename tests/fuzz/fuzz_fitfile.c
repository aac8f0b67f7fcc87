/* The fit files of `nabla fit --save` and `nabla eval` (nb_fit_model_load): the input as
 * a saved fit, checked field by field; when it loads, the model is evaluated with its
 * intervals at a few rows of its own columns. */
#include "fuzz_common.h"

#include "nabla/fit.h"

#include <stdlib.h>

#define N_ROWS 3

static void evaluate(const nb_fit_model *model)
{
    static const double values[N_ROWS] = {0.5, -2.0, 1e3};
    const double **columns = malloc((size_t)(model->n_columns + 1) * sizeof *columns);
    if (!columns)
        return;
    for (int k = 0; k < model->n_columns; k++)
        columns[k] = values;
    nb_table *table = nb_table_from_columns(model->n_columns, (const char *const *)model->columns, N_ROWS, columns);
    free(columns);
    nb_fit_prediction prediction;
    if (table && nb_fit_model_predict(model, table, 0.9, &prediction) == NB_OK)
        nb_fit_prediction_clear(&prediction);
    nb_table_free(table);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    fuzz_begin(size);
    const char *path = fuzz_file(0, data, size);
    if (!path)
        return 0;
    nb_fit_model model;
    if (nb_fit_model_load(&model, path) != NB_OK)
        return 0;
    evaluate(&model);
    nb_fit_model_clear(&model);
    return 0;
}
