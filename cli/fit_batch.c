/* nabla fit --by COL and --by-file: one formula fitted to many groups, one row each. */
#include "fit_report.h"

#include <stdlib.h>
#include <string.h>

/* The files of --by-file, each read on its own: one that cannot be read is a failed
 * group, with the reader's message. */
static int fit_files(const fit_batch_args *a, nb_fit_batch *batch)
{
    nb_table **tables = calloc((size_t)a->n_files, sizeof *tables);
    char **errors = calloc((size_t)a->n_files, sizeof *errors);
    if (!tables || !errors) {
        free(tables);
        free(errors);
        cli_error("fit", "out of memory");
        return 1;
    }
    int loaded = 0;
    for (int k = 0; k < a->n_files; k++)
        if ((tables[k] = nb_table_read(a->files[k], a->read)))
            loaded++;
        else
            errors[k] = strdup(nb_errmsg());
    nb_status status = NB_OK;
    if (loaded == 0)
        cli_error("fit", "none of the %d files could be read (the first: %s)", a->n_files,
                  errors[0] ? errors[0] : "out of memory");
    else
        status = nb_fit_batch_tables(a->formula, a->n_files, (const nb_table *const *)tables,
                                     (const char *const *)a->files, (const char *const *)errors, a->setup, a->lsq,
                                     batch);
    for (int k = 0; k < a->n_files; k++) {
        nb_table_free(tables[k]);
        free(errors[k]);
    }
    free(tables);
    free(errors);
    if (loaded == 0)
        return 1;
    if (status != NB_OK)
        cli_error("fit", NULL);
    return status == NB_OK ? 0 : status == NB_EPARSE || status == NB_EARG ? 2 : 1;
}

static int fit_groups(const fit_batch_args *a, nb_fit_batch *batch)
{
    nb_table *data = nb_table_read(a->files[0], a->read);
    if (!data) {
        cli_error("fit", NULL);
        return 1;
    }
    nb_status status = nb_fit_batch_by(a->formula, data, a->by, a->setup, a->lsq, batch);
    if (status != NB_OK)
        cli_error("fit", "%s%s", a->by && strstr(nb_errmsg(), "group column") ? "--by: " : "", nb_errmsg());
    nb_table_free(data);
    return status == NB_OK ? 0 : status == NB_EPARSE || status == NB_EARG ? 2 : 1;
}

int fit_run_batch(const fit_batch_args *a)
{
    nb_fit_batch batch;
    memset(&batch, 0, sizeof batch);
    int status = a->by ? fit_groups(a, &batch) : fit_files(a, &batch);
    if (status != 0)
        return status;
    const char *group_name = "file";
    if (a->by)
        group_name = a->by;
    if (!fit_print_batch(&batch, a->formula, group_name, a->json)) {
        cli_error("fit", "out of memory printing the results");
        status = 1;
    } else if (batch.n_failed > 0) {
        cli_error("fit", "%d of %d group%s failed or did not converge (their rows say why); the others were fitted",
                  batch.n_failed, batch.n_groups, batch.n_groups == 1 ? "" : "s");
        status = 1;
    }
    nb_fit_batch_clear(&batch);
    return status;
}
