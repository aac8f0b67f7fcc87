/* The statistics of a fit: sum of squares, covariance from the autodiff Jacobian over the
 * estimated scalars (neither fixed nor at a bound), standard errors and intervals, and
 * the message that names the parameters the data cannot tell apart. */
#include "fit/lsq_internal.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

/* Small fits keep their scratch on the stack: no allocation. */
#define STATS_LOCAL 256

nb_status nb_lsq_result_alloc(nb_lsq_result *result, const lsq_problem *pb)
{
    int n = pb->n;
    memset(result, 0, sizeof *result);
    result->n_params = n;
    size_t nn = (size_t)n;
    result->names = nb_calloc(nn, sizeof(char *));
    result->params = nb_alloc(nn * sizeof(double));
    result->std_error = nb_alloc(nn * sizeof(double));
    result->ci_low = nb_alloc(nn * sizeof(double));
    result->ci_high = nb_alloc(nn * sizeof(double));
    result->covariance = nb_alloc(nn * nn * sizeof(double));
    result->defaulted = nb_calloc(nn, sizeof(bool));
    result->fixed = nb_calloc(nn, sizeof(bool));
    result->at_bound = nb_calloc(nn, sizeof(signed char));
    result->moved = nb_calloc(nn, sizeof(bool));
    result->starts = 1;
    result->starts_at_best = 1;
    bool ok = result->names && result->params && result->std_error && result->ci_low && result->ci_high &&
              result->covariance && result->defaulted && result->fixed && result->at_bound && result->moved;
    for (int j = 0; ok && j < n; j++) {
        nb_node *node = pb->nodes[pb->node_of[j]];
        const char *name = nb_node_name(node);
        char buf[256];
        if (nb_is_param(node) && nb_value(node)->size > 1) {
            snprintf(buf, sizeof buf, "%s[%d]", name, pb->elem_of[j]);
            name = buf;
        } else if (strlen(name) >= sizeof buf) { /* cut to the buffer, as an element's name is */
            memcpy(buf, name, sizeof buf - 1);
            buf[sizeof buf - 1] = '\0';
            name = buf;
        }
        ok = (result->names[j] = nb_strdup(name)) != NULL;
    }
    if (!ok) {
        nb_lsq_result_clear(result);
        return nb_fail(NB_ENOMEM, "least squares: out of memory for the result");
    }
    return NB_OK;
}

/* The residuals at the solution (and the graph's values with them): the sum of squares,
 * the degrees of freedom (points less the scalars not held fixed) and the parameters. */
static nb_status residual_summary(lsq_problem *pb, const double *x, double *f_scratch, const nb_lsq_options *opt,
                                  nb_lsq_result *result)
{
    int n = pb->n, m = pb->m, held = 0;
    bool finite;
    nb_status status = nb_lsq_values_at(pb, x, f_scratch, &finite);
    if (status != NB_OK)
        return status;
    double sse = 0;
    for (int i = 0; i < m; i++)
        sse += f_scratch[i] * f_scratch[i];
    for (int j = 0; j < n; j++)
        held += result->fixed[j];
    result->sse = sse;
    result->loss = opt->loss;
    result->cost = nb_lsq_cost(opt->loss, opt->f_scale > 0 ? opt->f_scale : 1, m, f_scratch);
    result->n_points = m;
    result->dof = m - (n - held);
    result->residual_std = result->dof > 0 ? sqrt(sse / (double)result->dof) : NAN;
    result->confidence = opt->confidence;
    memcpy(result->params, x, (size_t)n * sizeof *x);
    if (!finite)
        return nb_fail(NB_ENUMERIC, "the residuals are not finite at the solution");
    return NB_OK;
}

nb_status nb_lsq_rank_at(lsq_problem *pb, const double *x, const bool *estimated, double *jac, double *f_scratch,
                         double *cov, lsq_rank *rank)
{
    int m = pb->m, n = pb->n, ne = 0;
    bool finite;
    nb_status status = nb_lsq_jacobian(pb, x, f_scratch, jac, &finite);
    if (status != NB_OK)
        return status;
    if (!finite)
        return nb_fail(NB_ENUMERIC, "the Jacobian is not finite at the solution");
    double local[STATS_LOCAL];
    size_t total = (size_t)n * n + 2 * (size_t)n;
    double *block = total <= STATS_LOCAL ? local : nb_alloc(total * sizeof *block), *next = block;
    if (!block)
        return nb_fail(NB_ENOMEM, "least squares: out of memory");
    double *small = nb_lsq_carve(&next, (size_t)n * n);
    int *index = (int *)nb_lsq_carve(&next, (size_t)n);
    bool *involved = (bool *)nb_lsq_carve(&next, (size_t)n);
    for (int j = 0; j < n; j++)
        if (!estimated || estimated[j]) {
            if (ne != j) /* columns move left only: copying in place is safe */
                memmove(jac + (size_t)ne * m, jac + (size_t)j * m, (size_t)m * sizeof *jac);
            index[ne++] = j;
        }
    int dependent = -1;
    rank->estimated = ne;
    status = nb_lsq_inverse_normal(m, ne, jac, small, &rank->rank, &dependent, involved);
    for (int a = 0; a < n * n; a++)
        cov[a] = NAN;
    for (int j = 0; j < n; j++)
        rank->involved[j] = false;
    for (int p = 0; status == NB_OK && p < ne; p++) {
        rank->involved[index[p]] = rank->rank < ne && involved[p];
        for (int q = 0; q < ne; q++)
            cov[index[p] * n + index[q]] = small[p * ne + q];
    }
    rank->dependent = dependent >= 0 ? index[dependent] : -1;
    if (block != local)
        nb_free(block);
    return status;
}

/* NB_ENUMERIC naming the parameter that the others make redundant, and those others. */
static nb_status singular_failure(const nb_lsq_result *result, const lsq_rank *rank)
{
    char names[512] = "";
    size_t used = 0;
    for (int j = 0; j < result->n_params && used < sizeof names; j++)
        if (j != rank->dependent && rank->involved[j])
            used += (size_t)snprintf(names + used, sizeof names - used, "%s%s", used ? ", " : "", result->names[j]);
    if (used == 0)
        return nb_fail(NB_ENUMERIC,
                       "the Jacobian is singular (rank %d of %d): the model does not react to '%s' at the "
                       "solution, so the data cannot determine it; fix it or drop it",
                       rank->rank, rank->estimated, result->names[rank->dependent]);
    return nb_fail(NB_ENUMERIC,
                   "the Jacobian is singular (rank %d of %d): the data cannot tell '%s' apart from a "
                   "combination of %s, so the parameters are not determined; drop or fix one of them",
                   rank->rank, rank->estimated, result->names[rank->dependent], names);
}

/* Scale (JᵀJ)⁻¹ by s² (unless the sigmas are absolute) and fill the standard errors and
 * intervals; NaN for the scalars that were not estimated. */
static void fill_errors(int n, const double *x, const nb_lsq_options *opt, nb_lsq_result *result)
{
    double s2 = result->dof > 0 ? result->sse / (double)result->dof : NAN;
    double scale = opt->absolute_sigma ? 1 : s2;
    double t = result->dof > 0 ? nb_student_t_quantile(0.5 + opt->confidence / 2, (double)result->dof) : NAN;
    for (int a = 0; a < n * n; a++)
        result->covariance[a] *= scale;
    for (int j = 0; j < n; j++) {
        result->std_error[j] = sqrt(result->covariance[j * n + j]);
        result->ci_low[j] = x[j] - t * result->std_error[j];
        result->ci_high[j] = x[j] + t * result->std_error[j];
    }
}

/* The covariance and errors given the rank; fails on a singular Jacobian unless
 * tolerate_singular, when they are NaN. flags: 2 n bools of scratch. */
static nb_status errors_at(lsq_problem *pb, const double *x, double *jac, double *f_scratch, const double *cov_given,
                           const nb_lsq_options *opt, bool tolerate_singular, bool *flags, nb_lsq_result *result)
{
    int n = pb->n;
    bool *estimated = flags, *involved = flags + n;
    for (int j = 0; j < n; j++)
        estimated[j] = !result->fixed[j] && result->at_bound[j] == 0;
    lsq_rank rank = {.rank = n, .estimated = n, .dependent = -1, .involved = involved};
    if (cov_given) {
        memcpy(result->covariance, cov_given, (size_t)n * n * sizeof(double));
        for (int j = 0; j < n && rank.rank == n; j++)
            if (estimated[j] && isnan(cov_given[j * n + j]))
                rank.rank = j, rank.dependent = j;
        for (int j = 0; j < n; j++)
            involved[j] = rank.rank < n;
    } else {
        nb_status status = nb_lsq_rank_at(pb, x, estimated, jac, f_scratch, result->covariance, &rank);
        if (status != NB_OK)
            return status;
    }
    if (rank.rank < rank.estimated && tolerate_singular) {
        /* A point found by other means is reported as it is; it has no covariance. */
        for (int a = 0; a < n * n; a++)
            result->covariance[a] = NAN;
        for (int j = 0; j < n; j++)
            result->std_error[j] = result->ci_low[j] = result->ci_high[j] = NAN;
        return NB_OK;
    }
    if (rank.rank < rank.estimated)
        return singular_failure(result, &rank);
    fill_errors(n, x, opt, result);
    return NB_OK;
}

nb_status nb_lsq_finish_statistics(lsq_problem *pb, const double *x, double *jac, double *f_scratch,
                                   const double *cov_given, const nb_lsq_options *opt, bool tolerate_singular,
                                   nb_lsq_result *result)
{
    nb_status status = residual_summary(pb, x, f_scratch, opt, result);
    if (status != NB_OK)
        return status;
    bool local[2 * STATS_LOCAL];
    bool *flags = pb->n <= STATS_LOCAL ? local : nb_alloc(2 * (size_t)pb->n * sizeof *flags);
    if (!flags)
        return nb_fail(NB_ENOMEM, "least squares: out of memory");
    status = errors_at(pb, x, jac, f_scratch, cov_given, opt, tolerate_singular, flags, result);
    if (flags != local)
        nb_free(flags);
    return status;
}
