/* nabla fit --by COL and --by-file: one formula fitted to many groups, one row each.
 * Under mpirun the ranks share the groups (group k to rank k % N: nb_fit_batch_*_share),
 * each sends its rows to rank 0 as text, and rank 0 prints them all in the groups' order:
 * the output of one process. */
#include "dist.h"
#include "fit_report.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int part_of(const nb_comm *comm) { return comm ? comm->rank : 0; }
static int parts_of(const nb_comm *comm) { return comm ? comm->size : 1; }
/* What every rank finds alike (a formula or file that will not do) rank 0 alone says. */
static bool speaks(const nb_comm *comm) { return !comm || comm->rank == 0; }

static int batch_status(nb_status status)
{
    return status == NB_OK ? 0 : status == NB_EPARSE || status == NB_EARG ? 2 : 1;
}

/* Rows dropped for a missing value are told, as a single fit's report tells them. */
static void note_dropped(const char *source, const nb_table *data)
{
    if (data && data->n_dropped > 0)
        fprintf(stderr, "nabla fit: note: %s: %lld row%s with a missing value (empty, NA or NaN) in a column the "
                "fit reads left out (--missing error stops at them instead)\n", source, (long long)data->n_dropped,
                data->n_dropped == 1 ? "" : "s");
}

/* The files of --by-file, each read on its own: one that cannot be read is a failed
 * group, with the reader's message. A rank reads the files of its share and, to check
 * the headers against, the first that can be read. */
static int fit_files(const fit_batch_args *a, const nb_comm *comm, nb_fit_batch *batch)
{
    nb_table **tables = calloc((size_t)a->n_files, sizeof *tables);
    char **errors = calloc((size_t)a->n_files, sizeof *errors);
    if (!tables || !errors) {
        free(tables);
        free(errors);
        cli_error("fit", "out of memory");
        return 1;
    }
    bool found = false;
    for (int k = 0; k < a->n_files; k++)
        if (!found || k % parts_of(comm) == part_of(comm)) {
            if ((tables[k] = nb_table_read(a->files[k], a->read))) {
                found = true;
                if (k % parts_of(comm) == part_of(comm)) /* the rank that fits it tells */
                    note_dropped(a->files[k], tables[k]);
            } else {
                errors[k] = strdup(nb_errmsg());
            }
        }
    nb_status status = NB_OK;
    if (!found && speaks(comm))
        cli_error("fit", "none of the %d files could be read (the first: %s)", a->n_files,
                  errors[0] ? errors[0] : "out of memory");
    else if (found)
        status = nb_fit_batch_tables_share(a->formula, a->n_files, (const nb_table *const *)tables,
                                           (const char *const *)a->files, (const char *const *)errors, a->setup,
                                           a->lsq, part_of(comm), parts_of(comm), batch);
    for (int k = 0; k < a->n_files; k++) {
        nb_table_free(tables[k]);
        free(errors[k]);
    }
    free(tables);
    free(errors);
    if (!found)
        return 1;
    if (status != NB_OK && speaks(comm))
        cli_error("fit", NULL);
    return batch_status(status);
}

/* The table of --by: the group column as numbers, or (read again when a cell is not a
 * number, which may be the group column's) as names: wells A1, B2, samples. Standard
 * input cannot be read twice: there the column is read as names at once (numbers that
 * are all numbers stay numbers). */
static nb_table *read_grouped(const fit_batch_args *a)
{
    nb_csv_options names = *a->read;
    names.class_column = a->by;
    bool piped = strcmp(a->files[0], "-") == 0;
    nb_table *data = nb_table_read(a->files[0], piped ? &names : a->read);
    if (data || piped || nb_errcode() != NB_EPARSE)
        return data;
    return nb_table_read(a->files[0], &names); /* a cell elsewhere fails again, and says so */
}

static int fit_groups(const fit_batch_args *a, const nb_comm *comm, nb_fit_batch *batch)
{
    nb_table *data = read_grouped(a);
    if (!data) {
        cli_error("fit", NULL); /* every rank reads the file: each says what failed */
        return 1;
    }
    if (speaks(comm))
        note_dropped(a->files[0], data);
    nb_status status = nb_fit_batch_by_share(a->formula, data, a->by, a->setup, a->lsq, part_of(comm),
                                             parts_of(comm), batch);
    if (status != NB_OK && speaks(comm))
        cli_error("fit", "%s%s", a->by && strstr(nb_errmsg(), "group column") ? "--by: " : "", nb_errmsg());
    nb_table_free(data);
    return batch_status(status);
}

static int print_batch(const fit_batch_args *a, const nb_fit_batch *batch)
{
    if (!fit_print_batch(batch, a->formula, a->by ? a->by : "file", a->json)) {
        cli_error("fit", "out of memory printing the results");
        return 1;
    }
    if (batch->n_failed > 0) {
        cli_error("fit", "%d of %d group%s failed or did not converge (their rows say why)%s", batch->n_failed,
                  batch->n_groups, batch->n_groups == 1 ? "" : "s",
                  batch->n_failed < batch->n_groups ? "; the others were fitted" : "");
        return 1;
    }
    return 0;
}

/* ---- mpirun's ranks: the rows as text, gathered on rank 0 ----------------------------- */

/* One group per record: its index in the whole batch, the numbers (hexadecimal floats,
 * which read back bit for bit), the lengths of its name and error (0: none, else length
 * + 1), then their bytes. */
static char *share_text(const nb_fit_batch *b, const nb_comm *comm)
{
    char *text = NULL;
    size_t size = 0;
    FILE *out = open_memstream(&text, &size);
    if (!out)
        return NULL;
    for (int i = 0; i < b->n_groups; i++) {
        const nb_fit_group *g = &b->groups[i];
        bool fitted = g->status == NB_OK;
        fprintf(out, "%d %lld %d %d %d %zu %zu %a", comm->rank + i * comm->size, (long long)g->n_rows, (int)g->status,
                fitted && g->result.converged, fitted ? g->result.iterations : 0, strlen(g->name),
                g->error ? strlen(g->error) + 1 : 0, fitted ? g->result.sse : NAN);
        for (int j = 0; j < 2 * b->n_params; j++)
            fprintf(out, " %a", !fitted ? NAN : j < b->n_params ? g->result.params[j]
                                                                 : g->result.std_error[j - b->n_params]);
        fprintf(out, " %s%s\n", g->name, g->error ? g->error : "");
    }
    if (fclose(out) != 0) {
        free(text);
        return NULL;
    }
    return text;
}

static bool read_number(const char **at, double *value)
{
    char *end;
    *value = strtod(*at, &end);
    bool ok = end != *at;
    *at = end;
    return ok;
}

static char *read_bytes(const char **at, size_t n)
{
    char *text = malloc(n + 1);
    if (text) {
        memcpy(text, *at, n);
        text[n] = '\0';
    }
    *at += n;
    return text;
}

/* One record into its slot of `whole` (NULL: the text is not what share_text wrote). */
static const char *read_group(const char *at, const char *end, nb_fit_batch *whole)
{
    double head[8];
    for (int k = 0; k < 8; k++)
        if (!read_number(&at, &head[k]))
            return NULL;
    if (!(head[0] >= 0 && head[0] < whole->n_groups && head[0] == floor(head[0])) || *at++ != ' ')
        return NULL;
    int index = (int)head[0];
    if (whole->groups[index].name)
        return NULL;
    nb_fit_group *g = &whole->groups[index];
    g->n_rows = (int64_t)head[1], g->status = (nb_status)head[2];
    g->result.converged = head[3] != 0, g->result.iterations = (int)head[4], g->result.sse = head[7];
    g->result.params = calloc((size_t)whole->n_params + 1, sizeof *g->result.params);
    g->result.std_error = calloc((size_t)whole->n_params + 1, sizeof *g->result.std_error);
    if (!g->result.params || !g->result.std_error)
        return NULL;
    for (int j = 0; j < 2 * whole->n_params; j++)
        if (!read_number(&at, j < whole->n_params ? &g->result.params[j] : &g->result.std_error[j - whole->n_params]))
            return NULL;
    if (*at++ != ' ' || head[5] < 0 || head[6] < 0 ||
        (size_t)(end - at) <= (size_t)head[5] + (head[6] > 0 ? (size_t)head[6] - 1 : 0))
        return NULL;
    g->name = read_bytes(&at, (size_t)head[5]);
    g->error = head[6] > 0 ? read_bytes(&at, (size_t)head[6] - 1) : NULL;
    return g->name && (head[6] == 0 || g->error) && *at == '\n' ? at + 1 : NULL;
}

static void whole_free(nb_fit_batch *whole)
{
    for (int k = 0; whole->groups && k < whole->n_groups; k++) {
        free(whole->groups[k].name);
        free(whole->groups[k].error);
        free(whole->groups[k].result.params);
        free(whole->groups[k].result.std_error);
    }
    free(whole->groups);
}

/* Rank 0: the gathered records as one batch, in the groups' order, and printed. */
static int print_gathered(const fit_batch_args *a, const nb_fit_batch *own, const char *all, const double *counts)
{
    nb_fit_batch whole = {.n_groups = (int)counts[1], .n_failed = (int)counts[0], .n_params = own->n_params,
                          .names = own->names};
    whole.groups = calloc((size_t)whole.n_groups + 1, sizeof *whole.groups);
    const char *at = whole.groups ? all : NULL, *end = all + strlen(all);
    for (int k = 0; at && k < whole.n_groups; k++)
        at = read_group(at, end, &whole);
    int status = 1;
    if (!at || *at)
        cli_error("fit", "the results gathered from the ranks are incomplete or out of memory; stopping");
    else
        status = print_batch(a, &whole);
    whole_free(&whole);
    return status;
}

static int gather_and_print(const fit_batch_args *a, const nb_comm *comm, const nb_fit_batch *batch)
{
    if (!comm)
        return print_batch(a, batch);
    char *text = share_text(batch, comm);
    if (!text)
        cli_error("fit", "out of memory writing the results");
    int status = dist_agree(comm, "fit", text ? 0 : 1, "to write its results");
    double counts[2] = {batch->n_failed, batch->n_groups};
    if (status == 0 && comm->allreduce_sum(comm->ctx, counts, 2, NB_F64) != NB_OK) {
        cli_error("fit", NULL); /* the ranks cannot count together: end them all */
        if (comm->abort)
            comm->abort(comm->ctx, 1);
        status = 1;
    }
    char *all = status == 0 ? dist_gather_text(comm, "fit", text) : NULL;
    if (status == 0 && comm->rank == 0)
        status = print_gathered(a, batch, all, counts);
    else if (status == 0)
        status = counts[0] > 0;
    free(all);
    free(text);
    return status;
}

int fit_run_batch(const fit_batch_args *a)
{
    int status;
    const nb_comm *comm = dist_open("fit", &status);
    if (status != 0)
        return status;
    dist_share_cores(comm);
    nb_fit_batch batch;
    memset(&batch, 0, sizeof batch);
    status = a->by ? fit_groups(a, comm, &batch) : fit_files(a, comm, &batch);
    status = dist_agree(comm, "fit", status, "to read its data");
    if (status == 0)
        status = gather_and_print(a, comm, &batch);
    nb_fit_batch_clear(&batch);
    dist_close(comm);
    return status;
}
