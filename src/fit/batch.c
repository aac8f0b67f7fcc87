/* Many fits of one formula: to the groups of a table's rows that share a value of a
 * column, or to several tables. The formula is parsed once; the groups are shared out
 * to nabla's thread pool one at a time (a counter hands out the next group), and each
 * thread keeps one graph of the formula that it refills with each group's data. Every
 * group's result goes to its own slot, so the output order and numbers do not depend
 * on which thread fitted what. */
#include "fit/lsq_internal.h"

#include <math.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct batch_job {
    const nb_expr *expr;
    const nb_fit_setup *setup;
    const nb_lsq_options *options;
    int n;
    int part, parts; /* the groups k with k % parts == part are fitted */
    const nb_table *tables; /* n views (NULL entries of `loaded` are load failures) */
    const char *const *errors;
    nb_fit_group *groups;
    atomic_int next;
} batch_job;

void nb_fit_batch_clear(nb_fit_batch *batch)
{
    if (!batch)
        return;
    for (int k = 0; batch->groups && k < batch->n_groups; k++) {
        nb_free(batch->groups[k].name);
        nb_free(batch->groups[k].error);
        nb_lsq_result_clear(&batch->groups[k].result);
    }
    for (int j = 0; batch->names && j < batch->n_params; j++)
        nb_free(batch->names[j]);
    nb_free(batch->groups);
    nb_free(batch->names);
    memset(batch, 0, sizeof *batch);
}

static void group_failed(nb_fit_group *group, nb_status status, const char *message)
{
    group->status = status;
    group->error = nb_strdup(message);
}

static void fit_group(batch_job *job, int k, fit_graph *graph)
{
    nb_fit_group *group = &job->groups[k];
    const nb_table *table = &job->tables[k];
    if (job->errors && job->errors[k]) {
        group_failed(group, NB_EIO, job->errors[k]);
        return;
    }
    group->n_rows = table->n_rows;
    if (table->n_rows == 0) {
        group_failed(group, NB_EARG, "empty: no data rows");
        return;
    }
    nb_status status = nb_fit_parsed(job->expr, table, job->setup, job->options, graph, &group->result);
    if (status != NB_OK)
        group_failed(group, status, nb_errmsg());
    else if (!group->result.converged)
        group->error = nb_strdup("did not converge within the evaluation budget");
}

static void batch_chunk(void *ctx, int chunk)
{
    (void)chunk;
    batch_job *job = ctx;
    fit_graph graph = {0};
    for (int k; (k = job->part + atomic_fetch_add(&job->next, 1) * job->parts) < job->n;)
        fit_group(job, k, &graph);
    nb_fit_graph_free(&graph);
}

/* Only the share's groups stay in the batch, in their order. */
static void keep_share(const batch_job *job, nb_fit_batch *batch)
{
    int kept = 0;
    for (int k = 0; k < job->n; k++) {
        nb_fit_group *group = &batch->groups[k];
        if (k % job->parts == job->part) {
            batch->groups[kept++] = *group;
            continue;
        }
        nb_free(group->name);
        nb_free(group->error);
        nb_lsq_result_clear(&group->result);
    }
    batch->n_groups = kept;
}

static void run_job(batch_job *job, nb_fit_batch *batch)
{
    int threads = nb_get_threads();
    int share = job->n > job->part ? (job->n - job->part + job->parts - 1) / job->parts : 0;
    atomic_init(&job->next, 0);
    if (share > 0)
        nb_parallel_chunks(threads < share ? threads : share, batch_chunk, job);
    keep_share(job, batch);
    for (int k = 0; k < batch->n_groups; k++)
        batch->n_failed += batch->groups[k].status != NB_OK || !batch->groups[k].result.converged;
}

static nb_status check_share(int part, int parts)
{
    if (parts < 1 || part < 0 || part >= parts)
        return nb_fail(NB_EARG, "a share of a batch must be part 0 .. parts - 1 of parts >= 1 (got part %d of %d)",
                       part, parts);
    return NB_OK;
}

/* The parts every batch checks once: the options, the formula, the start values. */
static nb_status batch_start(const char *formula, const nb_table *first, const nb_fit_setup *setup,
                             const nb_lsq_options *options, nb_lsq_options *opt, nb_expr **expr, nb_fit_batch *batch)
{
    *opt = options ? *options : nb_lsq_defaults();
    if (nb_lsq_check_options(opt) != NB_OK)
        return nb_errcode();
    if (nb_lsq_method_is_gradient(opt->method))
        return nb_fail(NB_EARG, "a batch of fits runs the solver (lm or linear); gradient methods are for "
                                "comparing one fit with it");
    if (!formula || !first || first->n_columns < 1)
        return nb_fail(NB_EARG, "a batch of fits needs a formula and a table with at least one column");
    *expr = nb_expr_parse(formula, first->n_columns, (const char *const *)first->names);
    if (!*expr)
        return nb_errcode();
    for (int k = 0; setup && k < setup->n_init; k++)
        if (!setup->init_names || !setup->init_names[k] || nb_expr_param_index(*expr, setup->init_names[k]) < 0)
            return nb_fail(NB_EARG, "a start value is given for '%s', which is not a parameter of the formula",
                           setup->init_names && setup->init_names[k] ? setup->init_names[k] : "(null)");
    batch->n_params = nb_expr_n_params(*expr);
    batch->names = nb_calloc((size_t)batch->n_params, sizeof *batch->names);
    if (!batch->names)
        return nb_fail(NB_ENOMEM, "out of memory");
    for (int j = 0; j < batch->n_params; j++)
        if (!(batch->names[j] = nb_strdup(nb_expr_param_name(*expr, j))))
            return nb_fail(NB_ENOMEM, "out of memory");
    return NB_OK;
}

/* ---- groups of rows ------------------------------------------------------------------ */

/* The shortest text that reads back as the same number; an integer in full. */
static char *number_text(double value)
{
    char text[40];
    if (value == trunc(value) && fabs(value) < 1e15) /* 100, not 1e+02 */
        return snprintf(text, sizeof text, "%.0f", value), nb_strdup(text);
    for (int digits = 1; digits <= 17; digits++) {
        snprintf(text, sizeof text, "%.*g", digits, value);
        if (isnan(value) || strtod(text, NULL) == value)
            break;
    }
    return nb_strdup(text);
}

/* A group's name: its value's text, or the name it stands for in a column of names. */
static char *group_name(const nb_table *data, int column, double value)
{
    if (column == data->class_col && data->class_names && value >= 0 && value < data->n_classes)
        return nb_strdup(data->class_names[(int)value]);
    return number_text(value);
}

static uint64_t key_of(double value)
{
    if (value == 0)
        value = 0; /* -0 and 0 are one group */
    if (isnan(value))
        value = NAN;
    uint64_t bits;
    memcpy(&bits, &value, sizeof bits);
    return bits;
}

/* The table of keys seen so far: it grows with the groups, not with the rows. */
typedef struct key_table {
    uint64_t *keys;
    int *ids;
    size_t size; /* a power of two, at least twice the groups */
    int bits;
} key_table;

static bool key_table_resize(key_table *t, int bits)
{
    size_t size = (size_t)1 << bits;
    uint64_t *keys = nb_alloc(size * sizeof *keys);
    int *ids = nb_alloc(size * sizeof *ids);
    if (!keys || !ids) {
        nb_free(keys);
        nb_free(ids);
        return false;
    }
    for (size_t s = 0; s < size; s++)
        ids[s] = -1;
    for (size_t s = 0; t->ids && s < t->size; s++) {
        if (t->ids[s] < 0)
            continue;
        /* Fibonacci hashing, from the product's top bits: the low bits of a small
         * integer's double are all zero. */
        size_t slot = (size_t)((t->keys[s] * 0x9E3779B97F4A7C15ull) >> (64 - bits));
        while (ids[slot] >= 0)
            slot = (slot + 1) & (size - 1);
        keys[slot] = t->keys[s], ids[slot] = t->ids[s];
    }
    nb_free(t->keys);
    nb_free(t->ids);
    *t = (key_table){keys, ids, size, bits};
    return true;
}

/* The group of `key`, numbered `*count` (and counted) when new; -1 when out of memory. */
static int key_group(key_table *t, uint64_t key, int *count)
{
    if (2 * (size_t)(*count + 1) > t->size && !key_table_resize(t, t->bits + 1))
        return -1;
    size_t slot = (size_t)((key * 0x9E3779B97F4A7C15ull) >> (64 - t->bits));
    while (t->ids[slot] >= 0 && t->keys[slot] != key)
        slot = (slot + 1) & (t->size - 1);
    if (t->ids[slot] < 0)
        t->keys[slot] = key, t->ids[slot] = (*count)++;
    return t->ids[slot];
}

/* group[i] for each row: groups numbered in order of their first row. Returns the count,
 * or -1 when out of memory. */
static int number_groups(const double *values, int64_t n, int *group)
{
    key_table t = {0};
    int count = key_table_resize(&t, 4) ? 0 : -1;
    uint64_t last = 0;
    for (int64_t i = 0; count >= 0 && i < n; i++) {
        uint64_t key = key_of(values[i]);
        if (i > 0 && key == last) { /* the rows of a group usually follow each other */
            group[i] = group[i - 1];
            continue;
        }
        last = key;
        if ((group[i] = key_group(&t, key, &count)) < 0)
            count = -1;
    }
    nb_free(t.keys);
    nb_free(t.ids);
    return count;
}

/* Each group's rows as a table view: into the table itself when every group's rows
 * follow each other (no copy), else into copies of the rows, group after group. */
typedef struct grouped {
    int n_groups;
    nb_table *views;
    double **column_ptrs; /* n_groups blocks of n_columns */
    double *values;       /* the copies: n_columns blocks of n_rows, or NULL */
    int64_t *lines;       /* the copies' lines, or NULL */
} grouped;

static void grouped_free(grouped *g)
{
    nb_free(g->views);
    nb_free(g->column_ptrs);
    nb_free(g->values);
    nb_free(g->lines);
}

static bool groups_contiguous(const int *group, int64_t n)
{
    for (int64_t i = 1; i < n; i++)
        if (group[i] != group[i - 1] && group[i] != group[i - 1] + 1)
            return false;
    return true;
}

/* The rows copied group after group, into g->values and g->lines. */
static nb_status copy_rows(const nb_table *data, const int *group, const int64_t *start, grouped *g)
{
    int64_t n = data->n_rows;
    g->values = nb_alloc((size_t)n * (size_t)data->n_columns * sizeof *g->values);
    g->lines = nb_alloc((size_t)n * sizeof *g->lines);
    int64_t *fill = nb_alloc((size_t)g->n_groups * sizeof *fill);
    nb_status status = g->values && g->lines && fill ? NB_OK : nb_fail(NB_ENOMEM, "out of memory grouping the rows");
    if (status == NB_OK) {
        memcpy(fill, start, (size_t)g->n_groups * sizeof *fill);
        for (int64_t i = 0; i < n; i++) {
            int64_t to = fill[group[i]]++;
            for (int c = 0; c < data->n_columns; c++)
                g->values[(size_t)c * n + to] = data->columns[c][i];
            g->lines[to] = data->lines ? data->lines[i] : i + 1;
        }
    }
    nb_free(fill);
    return status;
}

static nb_status make_views(const nb_table *data, const int *group, const int64_t *start, grouped *g)
{
    int64_t n = data->n_rows;
    bool copy = !groups_contiguous(group, n) || !data->lines;
    if (copy && copy_rows(data, group, start, g) != NB_OK)
        return nb_errcode();
    g->column_ptrs = nb_alloc((size_t)g->n_groups * (size_t)data->n_columns * sizeof *g->column_ptrs);
    if (!g->column_ptrs)
        return nb_fail(NB_ENOMEM, "out of memory grouping the rows");
    for (int k = 0; k < g->n_groups; k++) {
        nb_table *view = &g->views[k];
        *view = *data;
        view->n_rows = (k + 1 < g->n_groups ? start[k + 1] : n) - start[k];
        view->lines = (copy ? g->lines : data->lines) + start[k];
        view->class_col = -1, view->n_classes = 0, view->class_names = NULL;
        view->columns = g->column_ptrs + (size_t)k * data->n_columns;
        for (int c = 0; c < data->n_columns; c++)
            view->columns[c] = (copy ? g->values + (size_t)c * n : data->columns[c]) + start[k];
    }
    return NB_OK;
}

static nb_status group_rows(const nb_table *data, int column, grouped *g)
{
    int64_t n = data->n_rows;
    int *group = nb_alloc((size_t)(n ? n : 1) * sizeof *group);
    if (!group)
        return nb_fail(NB_ENOMEM, "out of memory grouping %lld rows", (long long)n);
    g->n_groups = number_groups(data->columns[column], n, group);
    int64_t *start = g->n_groups >= 0 ? nb_calloc((size_t)g->n_groups + 1, sizeof *start) : NULL;
    g->views = start ? nb_calloc((size_t)g->n_groups + 1, sizeof *g->views) : NULL;
    nb_status status = start && g->views ? NB_OK : nb_fail(NB_ENOMEM, "out of memory");
    if (status == NB_OK) {
        for (int64_t i = 0; i < n; i++)
            start[group[i] + 1]++;
        for (int k = 0; k < g->n_groups; k++)
            start[k + 1] += start[k];
        status = make_views(data, group, start, g);
    }
    if (status != NB_OK && g->n_groups < 0)
        g->n_groups = 0;
    nb_free(start);
    nb_free(group);
    return status;
}

/* The group column must be neither read by the formula nor its response. */
static nb_status check_group_column(const nb_table *data, const nb_expr *expr, const nb_fit_setup *setup, int column)
{
    if (nb_expr_uses_column(expr, column, false) || nb_expr_uses_column(expr, column, true))
        return nb_fail(NB_EARG, "the formula reads the group column '%s'; group by a column it does not use",
                       data->names[column]);
    if (nb_expr_has_response(expr))
        return NB_OK;
    int response = nb_table_column(data, setup && setup->response ? setup->response : "y");
    if (response < 0 && !(setup && setup->response)) {
        nb_clear_error();
        response = data->n_columns - 1;
    }
    if (response == column)
        return nb_fail(NB_EARG, "the response would be the group column '%s'; name the response (a left side "
                                "such as 'y = ...')",
                       data->names[column]);
    return NB_OK;
}

nb_status nb_fit_batch_by(const char *formula, const nb_table *data, const char *group_column,
                          const nb_fit_setup *setup, const nb_lsq_options *options, nb_fit_batch *batch)
{
    return nb_fit_batch_by_share(formula, data, group_column, setup, options, 0, 1, batch);
}

nb_status nb_fit_batch_by_share(const char *formula, const nb_table *data, const char *group_column,
                                const nb_fit_setup *setup, const nb_lsq_options *options, int part, int parts,
                                nb_fit_batch *batch)
{
    if (!batch)
        return nb_fail(NB_EARG, "nb_fit_batch_by: batch must not be NULL");
    memset(batch, 0, sizeof *batch);
    if (check_share(part, parts) != NB_OK)
        return nb_errcode();
    nb_lsq_options opt;
    nb_expr *expr = NULL;
    grouped g = {0};
    nb_status status = batch_start(formula, data, setup, options, &opt, &expr, batch);
    int column = status == NB_OK && group_column ? nb_table_column(data, group_column) : -1;
    if (status == NB_OK && column < 0) {
        if (group_column)
            nb_error_prefix("the group column");
        status = group_column ? nb_errcode() : nb_fail(NB_EARG, "nb_fit_batch_by: no group column given");
    }
    if (status == NB_OK && (status = check_group_column(data, expr, setup, column)) == NB_OK)
        status = group_rows(data, column, &g);
    if (status == NB_OK && !(batch->groups = nb_calloc((size_t)g.n_groups + 1, sizeof *batch->groups)))
        status = nb_fail(NB_ENOMEM, "out of memory for %d groups", g.n_groups);
    if (status == NB_OK)
        batch->n_groups = g.n_groups;
    for (int k = 0; status == NB_OK && k < g.n_groups; k++)
        if (!(batch->groups[k].name = group_name(data, column, g.views[k].columns[column][0])))
            status = nb_fail(NB_ENOMEM, "out of memory");
    if (status == NB_OK) {
        batch_job job = {.expr = expr, .setup = setup, .options = &opt, .n = g.n_groups, .part = part,
                         .parts = parts, .tables = g.views, .groups = batch->groups};
        run_job(&job, batch);
    }
    grouped_free(&g);
    nb_expr_free(expr);
    if (status != NB_OK)
        nb_fit_batch_clear(batch);
    return status;
}

/* ---- several tables ------------------------------------------------------------------ */

static bool same_columns(const nb_table *a, const nb_table *b)
{
    if (a->n_columns != b->n_columns)
        return false;
    for (int c = 0; c < a->n_columns; c++)
        if (strcmp(a->names[c], b->names[c]) != 0)
            return false;
    return true;
}

/* The views of the tables and, for those that cannot be fitted, why. */
static nb_status table_views(int n, const nb_table *const *tables, const char *const *errors, const nb_table *first,
                             nb_table *views, char **why)
{
    for (int k = 0; k < n; k++) {
        if (!tables[k]) {
            why[k] = nb_strdup(errors && errors[k] ? errors[k] : "the table could not be read");
        } else if (!same_columns(tables[k], first)) {
            char text[512];
            snprintf(text, sizeof text, "its columns are not those of '%s' (%d columns, the first '%s'); every "
                     "table must have the same header", first->source ? first->source : "the first table",
                     first->n_columns, first->names[0]);
            why[k] = nb_strdup(text);
        } else {
            views[k] = *tables[k];
            continue;
        }
        if (!why[k])
            return nb_fail(NB_ENOMEM, "out of memory");
    }
    return NB_OK;
}

nb_status nb_fit_batch_tables(const char *formula, int n, const nb_table *const *tables, const char *const *names,
                              const char *const *errors, const nb_fit_setup *setup, const nb_lsq_options *options,
                              nb_fit_batch *batch)
{
    return nb_fit_batch_tables_share(formula, n, tables, names, errors, setup, options, 0, 1, batch);
}

nb_status nb_fit_batch_tables_share(const char *formula, int n, const nb_table *const *tables,
                                    const char *const *names, const char *const *errors, const nb_fit_setup *setup,
                                    const nb_lsq_options *options, int part, int parts, nb_fit_batch *batch)
{
    if (!batch)
        return nb_fail(NB_EARG, "nb_fit_batch_tables: batch must not be NULL");
    memset(batch, 0, sizeof *batch);
    if (check_share(part, parts) != NB_OK)
        return nb_errcode();
    const nb_table *first = NULL;
    for (int k = 0; tables && k < n && !first; k++)
        first = tables[k];
    if (n < 1 || !first)
        return nb_fail(NB_EARG, "a batch of fits over tables needs at least one table that could be read");
    nb_lsq_options opt;
    nb_expr *expr = NULL;
    nb_table *views = nb_calloc((size_t)n, sizeof *views);
    char **why = nb_calloc((size_t)n, sizeof *why);
    batch->groups = nb_calloc((size_t)n, sizeof *batch->groups);
    batch->n_groups = batch->groups ? n : 0;
    nb_status status = views && why && batch->groups ? batch_start(formula, first, setup, options, &opt, &expr, batch)
                                                     : nb_fail(NB_ENOMEM, "out of memory");
    if (status == NB_OK)
        status = table_views(n, tables, errors, first, views, why);
    for (int k = 0; status == NB_OK && k < n; k++) {
        const char *name = names && names[k] ? names[k] : tables[k] && tables[k]->source ? tables[k]->source : "";
        if (!(batch->groups[k].name = nb_strdup(name)))
            status = nb_fail(NB_ENOMEM, "out of memory");
    }
    if (status == NB_OK) {
        batch_job job = {.expr = expr, .setup = setup, .options = &opt, .n = n, .part = part, .parts = parts,
                         .tables = views, .errors = (const char *const *)why, .groups = batch->groups};
        run_job(&job, batch);
    }
    for (int k = 0; why && k < n; k++)
        nb_free(why[k]);
    nb_free(why);
    nb_free(views);
    nb_expr_free(expr);
    if (status != NB_OK)
        nb_fit_batch_clear(batch);
    return status;
}
