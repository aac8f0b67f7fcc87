/* `nabla fit` --fix, --via, --bounds, --loss, --f-scale and --starts. */
#include "fit_options.h"

#include "cli.h"

#include <cjson/cJSON.h>
#include <ctype.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

bool fit_constraint_option(const char *name, const char *value, fit_constraints *c)
{
    const char *names[] = {"fix", "via", "bounds", "loss", "f-scale", "starts"};
    const char **texts[] = {&c->fix_text, &c->via_text, &c->bounds_text, &c->loss_text, &c->f_scale_text,
                            &c->starts_text};
    for (int k = 0; k < 6; k++)
        if (strcmp(name, names[k]) == 0) {
            *texts[k] = value;
            return true;
        }
    return false;
}

/* `text` without the spaces around it (modified in place). */
static char *trim(char *text)
{
    while (isspace((unsigned char)*text))
        text++;
    size_t len = strlen(text);
    while (len > 0 && isspace((unsigned char)text[len - 1]))
        text[--len] = '\0';
    return text;
}

/* A comma-separated list: a copy of text cut into items, with room for their names and
 * values. */
static int split_list(const char *text, char **copy, char ***items)
{
    int capacity = 1;
    for (const char *p = text; *p; p++)
        capacity += *p == ',';
    *copy = strdup(text);
    *items = calloc((size_t)capacity, sizeof **items);
    if (!*copy || !*items)
        return -1;
    int count = 0;
    for (char *item = strtok(*copy, ","); item; item = strtok(NULL, ","))
        (*items)[count++] = trim(item);
    return count;
}

/* "c=-0.65,d" : d is fixed at its start value (NaN). */
static bool parse_fix(fit_constraints *c)
{
    char **items;
    int count = split_list(c->fix_text, &c->copies[0], &items);
    c->fixed_names = calloc((size_t)(count > 0 ? count : 1), sizeof *c->fixed_names);
    c->fixed_values = calloc((size_t)(count > 0 ? count : 1), sizeof *c->fixed_values);
    bool ok = count > 0 && c->fixed_names && c->fixed_values;
    for (int k = 0; ok && k < count; k++) {
        char *equals = strchr(items[k], '=');
        c->fixed_values[k] = NAN;
        if (equals) {
            *equals = '\0';
            if (!cli_number(trim(equals + 1), &c->fixed_values[k]) || !isfinite(c->fixed_values[k])) {
                cli_error("fit", "--fix: '%s=%s' is not NAME=NUMBER (or a NAME, fixed at its --init value)",
                          trim(items[k]), trim(equals + 1));
                ok = false;
            }
        }
        c->fixed_names[k] = trim(items[k]);
        if (ok && !*c->fixed_names[k]) {
            cli_error("fit", "--fix: an empty name in '%s'", c->fix_text);
            ok = false;
        }
    }
    if (count == 0)
        cli_error("fit", "--fix: give NAME=VALUE or NAME, e.g. --fix c=-0.65");
    c->n_fixed = ok ? count : 0;
    free(items);
    return ok;
}

static bool parse_via(fit_constraints *c)
{
    char **items;
    int count = split_list(c->via_text, &c->copies[1], &items);
    c->vary_names = (const char **)items;
    for (int k = 0; k < count; k++)
        if (!*items[k] || strchr(items[k], '=')) {
            cli_error("fit", "--via: expected the names of the parameters to fit, e.g. --via a,k; got '%s'",
                      c->via_text);
            return false;
        }
    c->n_vary = count > 0 ? count : 0;
    if (count <= 0)
        cli_error("fit", "--via: expected the names of the parameters to fit, e.g. --via a,k");
    return count > 0;
}

/* One bound: "k>0", "k<=5", "0<=c<=10", "1<a". Closed whatever the sign: "<" is "<=". */
static bool parse_bound(char *item, const char **name, double *lower, double *upper)
{
    char *parts[3];
    int less[2], n_parts = 0, n_ops = 0;
    char *p = item;
    parts[n_parts++] = p;
    for (; *p; p++) {
        if (*p != '<' && *p != '>')
            continue;
        if (n_ops == 2)
            return false;
        less[n_ops++] = *p == '<';
        *p = '\0';
        if (p[1] == '=')
            *++p = '\0';
        parts[n_parts++] = p + 1;
    }
    if (n_ops == 0 || (n_ops == 2 && less[0] != less[1]))
        return false;
    double values[3];
    int name_at = -1;
    for (int k = 0; k < n_parts; k++) {
        parts[k] = trim(parts[k]);
        if (!cli_number(parts[k], &values[k])) {
            if (name_at >= 0 || !*parts[k])
                return false;
            name_at = k;
        }
    }
    if (name_at < 0 || (n_parts == 3 && name_at != 1))
        return false;
    *name = parts[name_at];
    *lower = -INFINITY, *upper = INFINITY;
    for (int k = 0; k < n_parts; k++) {
        if (k == name_at)
            continue;
        /* value < name (value before the name, '<') is a lower bound */
        bool is_lower = (k < name_at) == (bool)less[0];
        if (is_lower)
            *lower = values[k];
        else
            *upper = values[k];
    }
    return true;
}

static bool parse_bounds(fit_constraints *c)
{
    char **items;
    int count = split_list(c->bounds_text, &c->copies[2], &items);
    c->bound_names = calloc((size_t)(count > 0 ? count : 1), sizeof *c->bound_names);
    c->lower = calloc((size_t)(count > 0 ? count : 1), sizeof *c->lower);
    c->upper = calloc((size_t)(count > 0 ? count : 1), sizeof *c->upper);
    bool ok = count > 0 && c->bound_names && c->lower && c->upper;
    for (int k = 0; ok && k < count; k++) {
        char shown[200];
        snprintf(shown, sizeof shown, "%s", items[k]);
        if (!parse_bound(items[k], &c->bound_names[k], &c->lower[k], &c->upper[k])) {
            cli_error("fit", "--bounds: cannot read '%s': write NAME>LOW, NAME<HIGH or LOW<=NAME<=HIGH, separated "
                             "by commas, e.g. 'k>0, 0<=c<=10'", shown);
            ok = false;
        }
    }
    if (count == 0)
        cli_error("fit", "--bounds: write NAME>LOW, NAME<HIGH or LOW<=NAME<=HIGH, e.g. 'k>0, 0<=c<=10'");
    c->n_bounds = ok ? count : 0;
    free(items);
    return ok;
}

static bool parse_solver_numbers(fit_constraints *c, nb_lsq_options *lsq)
{
    if (c->loss_text && nb_lsq_loss_parse(c->loss_text, &lsq->loss) != NB_OK) {
        cli_error("fit", "--loss: unknown loss '%s' (linear, huber, soft_l1, cauchy or arctan)", c->loss_text);
        return false;
    }
    if (c->f_scale_text && !cli_parse_number("fit", "--f-scale", c->f_scale_text, CLI_POSITIVE, &lsq->f_scale))
        return false;
    uint64_t starts;
    if (c->starts_text) {
        if (!cli_parse_count("fit", "--starts", c->starts_text, 1, 10000, &starts))
            return false;
        lsq->starts = (int)starts;
    }
    return true;
}

bool fit_constraints_parse(fit_constraints *c, nb_fit_setup *setup, nb_lsq_options *lsq)
{
    if ((c->fix_text && !parse_fix(c)) || (c->via_text && !parse_via(c)) ||
        (c->bounds_text && !parse_bounds(c)) || !parse_solver_numbers(c, lsq))
        return false;
    setup->n_fixed = c->n_fixed, setup->fixed_names = c->fixed_names, setup->fixed_values = c->fixed_values;
    setup->n_vary = c->n_vary, setup->vary_names = c->vary_names;
    setup->n_bounds = c->n_bounds, setup->bound_names = c->bound_names;
    setup->bound_lower = c->lower, setup->bound_upper = c->upper;
    return true;
}

static bool is_param(const nb_expr *expr, const char *option, const char *name)
{
    if (nb_expr_param_index(expr, name) >= 0)
        return true;
    char params[512] = "";
    for (int j = 0, used = 0; j < nb_expr_n_params(expr) && used < (int)sizeof params; j++)
        used += snprintf(params + used, sizeof params - (size_t)used, j ? ", %s" : "%s", nb_expr_param_name(expr, j));
    cli_error("fit", "%s: '%s' is not a parameter of the formula (its parameters: %s)", option, name, params);
    return false;
}

/* Every parameter fixed, by --fix or by leaving it out of --via. */
static bool all_fixed(const fit_constraints *c, const nb_expr *expr)
{
    for (int j = 0; j < nb_expr_n_params(expr); j++) {
        const char *name = nb_expr_param_name(expr, j);
        bool fixed = false, varies = c->n_vary == 0;
        for (int k = 0; k < c->n_fixed; k++)
            fixed |= strcmp(c->fixed_names[k], name) == 0;
        for (int k = 0; k < c->n_vary; k++)
            varies |= strcmp(c->vary_names[k], name) == 0;
        if (!fixed && varies)
            return false;
    }
    return true;
}

bool fit_constraints_check(const fit_constraints *c, const nb_expr *expr)
{
    for (int k = 0; k < c->n_fixed; k++)
        if (!is_param(expr, "--fix", c->fixed_names[k]))
            return false;
    for (int k = 0; k < c->n_vary; k++)
        if (!is_param(expr, "--via", c->vary_names[k]))
            return false;
    for (int k = 0; k < c->n_bounds; k++) {
        if (!is_param(expr, "--bounds", c->bound_names[k]))
            return false;
        if (c->lower[k] > c->upper[k]) {
            cli_error("fit", "--bounds: the lower bound of '%s' (%g) is above its upper bound (%g)",
                      c->bound_names[k], c->lower[k], c->upper[k]);
            return false;
        }
    }
    if ((c->n_fixed > 0 || c->n_vary > 0) && all_fixed(c, expr)) {
        cli_error("fit", "every parameter is fixed (--fix, --via): there is nothing to fit; let at least one vary");
        return false;
    }
    return true;
}

void fit_constraints_free(fit_constraints *c)
{
    for (int k = 0; k < 3; k++)
        free(c->copies[k]);
    free(c->fixed_names), free(c->fixed_values), free(c->vary_names);
    free(c->bound_names), free(c->lower), free(c->upper);
}

const char *fit_param_status(const nb_lsq_result *r, int j)
{
    if (r->fixed && r->fixed[j])
        return "  fixed";
    if (r->at_bound && r->at_bound[j] < 0)
        return "  at lower bound";
    if (r->at_bound && r->at_bound[j] > 0)
        return "  at upper bound";
    return "";
}

void fit_constraint_notes(const nb_lsq_result *r)
{
    for (int j = 0; r->moved && j < r->n_params; j++)
        if (r->moved[j])
            printf("note: the start value of %s lay outside its bounds; it started on the nearest bound\n",
                   r->names[j]);
    for (int j = 0; r->at_bound && j < r->n_params; j++)
        if (r->at_bound[j])
            printf("note: %s ended at its %s bound: the bound is active, so it has no interior standard error\n",
                   r->names[j], r->at_bound[j] < 0 ? "lower" : "upper");
    if (r->starts > 1)
        printf("starts              %d of %d starts reached the best cost (within a relative 1e-6)\n",
               r->starts_at_best, r->starts);
    if (r->loss != NB_LSQ_SQUARED)
        printf("loss                %s: robust cost %.11g\n", nb_lsq_loss_name(r->loss), r->cost);
}

void fit_constraints_json(cJSON *root, const nb_lsq_result *r)
{
    cJSON *fixed = cJSON_AddArrayToObject(root, "fixed");
    cJSON *bound = cJSON_AddObjectToObject(root, "at_bound");
    cJSON *moved = cJSON_AddArrayToObject(root, "moved_inside_bounds");
    for (int j = 0; j < r->n_params; j++) {
        if (r->fixed && r->fixed[j])
            cJSON_AddItemToArray(fixed, cJSON_CreateString(r->names[j]));
        if (r->at_bound && r->at_bound[j])
            cJSON_AddStringToObject(bound, r->names[j], r->at_bound[j] < 0 ? "lower" : "upper");
        if (r->moved && r->moved[j])
            cJSON_AddItemToArray(moved, cJSON_CreateString(r->names[j]));
    }
    cJSON_AddStringToObject(root, "loss", nb_lsq_loss_name(r->loss));
    cJSON_AddNumberToObject(root, "cost", r->cost);
    cJSON_AddNumberToObject(root, "starts", r->starts);
    cJSON_AddNumberToObject(root, "starts_at_best", r->starts_at_best);
}
