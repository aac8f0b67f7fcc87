/* The solve behind both entry points: the box (bounds and fixed scalars), the choice of
 * solver, the way out of a saddle where the Jacobian is rank-deficient, multi-start, and
 * the statistics of the best point. */
#include "fit/lsq_internal.h"

#include <float.h>
#include <math.h>
#include <stdio.h>
#include <string.h>

static nb_status check_options(const nb_lsq_options *opt)
{
    if (!(opt->ftol >= 0) || !(opt->xtol >= 0) || !(opt->gtol >= 0))
        return nb_fail(NB_EARG, "least squares: tolerances must be >= 0 (ftol %g, xtol %g, gtol %g)", opt->ftol,
                       opt->xtol, opt->gtol);
    if (!(opt->step_bound > 0) || !(opt->confidence > 0 && opt->confidence < 1) || opt->max_evals < 0)
        return nb_fail(NB_EARG, "least squares: step_bound must be > 0, confidence in (0, 1), max_evals >= 0");
    if (opt->method != NB_LSQ_AUTO && opt->method != NB_LSQ_LM && opt->method != NB_LSQ_LINEAR &&
        !nb_lsq_method_is_gradient(opt->method))
        return nb_fail(NB_EARG, "least squares: unknown method %d", (int)opt->method);
    if (!(opt->lr >= 0) || !isfinite(opt->lr) || opt->epochs < 0 || opt->batch < 0)
        return nb_fail(NB_EARG, "least squares: the learning rate, epochs and batch size must be >= 0 (0: the "
                                "default), got %g, %d and %lld",
                       opt->lr, opt->epochs, (long long)opt->batch);
    if ((unsigned)opt->loss > NB_LSQ_ARCTAN || !(opt->f_scale >= 0) || !isfinite(opt->f_scale))
        return nb_fail(NB_EARG, "least squares: unknown loss %d or f_scale %g (it must be > 0, or 0 for 1)",
                       (int)opt->loss, opt->f_scale);
    if (opt->starts < 0 || opt->starts > 100000)
        return nb_fail(NB_EARG, "least squares: %d starts: give 0 to 100000", opt->starts);
    return NB_OK;
}

nb_status nb_lsq_check_options(const nb_lsq_options *options) { return check_options(options); }

static nb_status check_bound(const nb_lsq_result *result, int j, double lo, double hi)
{
    if (isnan(lo) || isnan(hi) || lo == INFINITY || hi == -INFINITY)
        return nb_fail(NB_EARG, "the bounds of '%s' are not numbers or leave no room (%g, %g)", result->names[j],
                       lo, hi);
    if (lo > hi)
        return nb_fail(NB_EARG, "the lower bound of '%s' (%g) is above its upper bound (%g)", result->names[j], lo,
                       hi);
    return NB_OK;
}

nb_status nb_lsq_make_box(const nb_lsq_options *opt, int n, const double *start, nb_lsq_result *result, double *lo,
                          double *hi, double *x, bool *boxed)
{
    int held = 0;
    *boxed = opt->loss != NB_LSQ_SQUARED;
    for (int j = 0; j < n; j++) {
        lo[j] = opt->lower ? opt->lower[j] : -INFINITY;
        hi[j] = opt->upper ? opt->upper[j] : INFINITY;
        if (check_bound(result, j, lo[j], hi[j]) != NB_OK)
            return nb_errcode();
        result->fixed[j] = opt->fixed && opt->fixed[j];
        if (result->fixed[j])
            lo[j] = hi[j] = start[j];
        *boxed |= isfinite(lo[j]) || isfinite(hi[j]);
        held += lo[j] == hi[j];
        x[j] = fmin(fmax(start[j], lo[j]), hi[j]);
        result->moved[j] = x[j] != start[j];
    }
    if (held == n)
        return nb_fail(NB_EARG, "every parameter is fixed (or bounded to one value): there is nothing to fit; "
                                "let at least one vary");
    return NB_OK;
}

/* A generator for start `index` alone: splitmix-style mixing of the seed and the index. */
void nb_lsq_draw_start(const nb_lsq_options *opt, int n, const double *lo, const double *hi, const double *x0,
                       int index, double *x)
{
    memcpy(x, x0, (size_t)n * sizeof *x);
    if (index == 0)
        return;
    nb_rng rng;
    nb_rng_seed(&rng, opt->seed * 0x9E3779B97F4A7C15ull + (uint64_t)index);
    for (int j = 0; j < n; j++) {
        double u = nb_rng_uniform(&rng);
        if (lo[j] == hi[j])
            continue;
        if (isfinite(lo[j]) && isfinite(hi[j]))
            x[j] = lo[j] + u * (hi[j] - lo[j]);
        else
            x[j] = x0[j] == 0 ? 2 * u - 1 : x0[j] * pow(10, 2 * u - 1);
        x[j] = fmin(fmax(x[j], lo[j]), hi[j]);
    }
}

/* Linear models: J does not depend on the parameters, f(x) = f(0) + J x. */
static nb_status linear_solve(lsq_problem *pb, double *x, double *jac, double *f, double *cov)
{
    int m = pb->m, n = pb->n;
    bool finite;
    nb_status status;
    for (int j = 0; j < n; j++)
        x[j] = 0;
    if ((status = nb_lsq_first_values(pb, x, f, &finite)) != NB_OK ||
        (status = nb_lsq_jacobian(pb, x, f, jac, &finite)) != NB_OK)
        return status;
    if (!finite)
        return nb_fail(NB_ENUMERIC, "the design matrix of the linear model is not finite");
    for (int i = 0; i < m; i++)
        f[i] = -f[i];
    int rank;
    return nb_lsq_linear_solve(m, n, jac, f, x, cov, &rank);
}

/* Small fits keep their scratch on the stack: no allocation. */
#define SCRATCH_LOCAL 512

/* Scratch of one solve: n-vectors, the residuals, the Jacobian and covariances. */
typedef struct solve_scratch {
    double *lo, *hi, *x, *y, *best, *given, *f, *jac, *cov, *cov_best, *costs;
    bool *estimated, *involved;
    bool full_rank, best_full_rank;
    double *block; /* all of the above: local, or the heap when too large for it */
    double local[SCRATCH_LOCAL];
} solve_scratch;

static void scratch_free(solve_scratch *sc)
{
    if (sc->block != sc->local)
        nb_free(sc->block);
}

static nb_status scratch_alloc(solve_scratch *sc, int m, int n, int starts)
{
    size_t mm = (size_t)m, nn = (size_t)n;
    size_t total = 6 * nn + mm + mm * nn + 2 * nn * nn + (size_t)starts + 2 * nn; /* flags: n doubles each */
    sc->block = total <= SCRATCH_LOCAL ? sc->local : nb_alloc(total * sizeof(double));
    if (!sc->block)
        return nb_fail(NB_ENOMEM, "least squares: out of memory");
    double *next = sc->block;
    double **vectors[] = {&sc->lo, &sc->hi, &sc->x, &sc->y, &sc->best, &sc->given};
    for (size_t k = 0; k < sizeof vectors / sizeof *vectors; k++)
        *vectors[k] = nb_lsq_carve(&next, nn);
    sc->f = nb_lsq_carve(&next, mm);
    sc->jac = nb_lsq_carve(&next, mm * nn);
    sc->cov = nb_lsq_carve(&next, nn * nn);
    sc->cov_best = nb_lsq_carve(&next, nn * nn);
    sc->costs = nb_lsq_carve(&next, (size_t)starts);
    sc->estimated = (bool *)nb_lsq_carve(&next, nn);
    sc->involved = (bool *)nb_lsq_carve(&next, nn);
    return NB_OK;
}

/* One run of the solver, with its own evaluation budget (the solvers count the
 * problem's evaluations, which add up over starts and attempts). */
static nb_status run_solver(lsq_problem *pb, double *x, const solve_scratch *sc, bool boxed,
                            const nb_lsq_options *opt, lsq_outcome *out)
{
    nb_lsq_options run = *opt;
    run.max_evals = pb->n_evals + (opt->max_evals > 0 ? opt->max_evals : 400 * (pb->n + 1));
    return boxed ? nb_lsq_box_solve(pb, x, sc->lo, sc->hi, &run, out) : nb_lsq_lm_solve(pb, x, &run, out);
}

static nb_status cost_at(lsq_problem *pb, const double *x, double *f, const nb_lsq_options *opt, double *cost)
{
    bool finite;
    nb_status status = nb_lsq_values_at(pb, x, f, &finite);
    *cost = finite ? nb_lsq_cost(opt->loss, opt->f_scale > 0 ? opt->f_scale : 1, pb->m, f) : INFINITY;
    return status;
}

/* The rank of the Jacobian at x over the scalars strictly inside their bounds, with
 * (JᵀJ)⁻¹ in sc->cov. A Jacobian that is not finite there is left to the statistics. */
static bool full_rank_at(lsq_problem *pb, const double *x, solve_scratch *sc)
{
    for (int j = 0; j < pb->n; j++)
        sc->estimated[j] = sc->lo[j] < sc->hi[j] && x[j] > sc->lo[j] && x[j] < sc->hi[j];
    lsq_rank rank = {.involved = sc->involved};
    if (nb_lsq_rank_at(pb, x, sc->estimated, sc->jac, sc->f, sc->cov, &rank) != NB_OK) {
        nb_clear_error();
        return true;
    }
    return rank.rank == rank.estimated;
}

/* A solver may stop where the Jacobian is rank-deficient without being at the optimum:
 * at a saddle where two terms of the model coincide (two exponentials with the same
 * rate), or on a plateau where the model stops reacting to a parameter; or crawl along
 * a plateau until its budget runs out. First move the parameters involved (none: go on
 * from the same point) by seeded random factors of about 2; then start again from draws
 * around the original start, as multi-start does (a plateau is left only from far
 * away). Keep whatever lowers the cost; stop at a converged point of full rank. */
#define ESCAPE_ATTEMPTS 6

static void push_apart(int n, const double *x, solve_scratch *sc)
{
    nb_rng rng;
    nb_rng_seed(&rng, 0x5EED0001u);
    for (int j = 0; j < n; j++) {
        double u = 2 * nb_rng_uniform(&rng) - 1;
        sc->y[j] = x[j];
        if (!sc->involved[j] || sc->lo[j] == sc->hi[j])
            continue;
        sc->y[j] = x[j] == 0 ? 0.3 * u : x[j] * pow(10, 0.3 * u);
        sc->y[j] = fmin(fmax(sc->y[j], sc->lo[j]), sc->hi[j]);
    }
}

static nb_status escape_saddle(lsq_problem *pb, const double *x0, double *x, solve_scratch *sc, bool boxed,
                               const nb_lsq_options *opt, lsq_outcome *out, double *cost)
{
    for (int attempt = 1; attempt <= ESCAPE_ATTEMPTS; attempt++) {
        sc->full_rank = full_rank_at(pb, x, sc);
        /* The default budget running out is a crawl along a plateau: go on, or elsewhere.
         * A budget the caller set is kept. */
        bool crawled = out->stop == NB_LSQ_STOP_MAX_EVALS && opt->max_evals == 0;
        if ((sc->full_rank && !crawled) || *cost == 0)
            return NB_OK;
        if (attempt == 1)
            push_apart(pb->n, x, sc);
        else
            nb_lsq_draw_start(opt, pb->n, sc->lo, sc->hi, x0, 100000 + attempt, sc->y);
        lsq_outcome again;
        double c;
        if (run_solver(pb, sc->y, sc, boxed, opt, &again) != NB_OK || cost_at(pb, sc->y, sc->f, opt, &c) != NB_OK) {
            nb_clear_error();
            continue;
        }
        out->iterations += again.iterations;
        if (c < *cost) {
            memcpy(x, sc->y, (size_t)pb->n * sizeof *x);
            *cost = c;
            out->stop = again.stop;
        }
    }
    sc->full_rank = full_rank_at(pb, x, sc);
    return NB_OK;
}

/* One start: solve from x, get out of saddles, and the cost at the end. x0: the fit's
 * start (inside the box), which the ways out of a saddle are drawn around. */
static nb_status solve_from(lsq_problem *pb, const double *x0, double *x, solve_scratch *sc, bool boxed,
                            const nb_lsq_options *opt, lsq_outcome *out, double *cost)
{
    nb_status status = run_solver(pb, x, sc, boxed, opt, out);
    if (status == NB_OK)
        status = cost_at(pb, x, sc->f, opt, cost);
    if (status == NB_OK)
        status = escape_saddle(pb, x0, x, sc, boxed, opt, out, cost);
    return status;
}

/* Every start in turn (a graph is one set of values: its starts cannot run at once);
 * the best into sc->best. A start that fails is skipped unless all do. */
static nb_status multi_start(lsq_problem *pb, const double *x0, solve_scratch *sc, bool boxed,
                             const nb_lsq_options *opt, nb_lsq_result *result, lsq_outcome *best)
{
    int starts = opt->starts > 1 ? opt->starts : 1, failed = 0;
    double best_cost = INFINITY;
    char first_error[600] = "";
    nb_status first_status = NB_OK;
    for (int s = 0; s < starts; s++) {
        nb_lsq_draw_start(opt, pb->n, sc->lo, sc->hi, x0, s, sc->x);
        lsq_outcome o = {0, NB_LSQ_STOP_NONE};
        double c = INFINITY;
        nb_status status = solve_from(pb, x0, sc->x, sc, boxed, opt, &o, &c);
        sc->costs[s] = status == NB_OK ? c : INFINITY;
        if (status != NB_OK) {
            if (failed++ == 0)
                first_status = status, snprintf(first_error, sizeof first_error, "%s", nb_errmsg());
            continue;
        }
        if (c < best_cost) {
            best_cost = c, *best = o, sc->best_full_rank = sc->full_rank;
            memcpy(sc->best, sc->x, (size_t)pb->n * sizeof *sc->x);
            memcpy(sc->cov_best, sc->cov, (size_t)pb->n * pb->n * sizeof *sc->cov);
        }
    }
    if (failed == starts)
        return nb_fail(first_status, "%s", first_error);
    result->starts = starts;
    result->starts_at_best = 0;
    for (int s = 0; s < starts; s++)
        result->starts_at_best += sc->costs[s] <= best_cost * (1 + NB_LSQ_START_TOL) + DBL_MIN;
    return NB_OK;
}

/* Which scalars ended at a bound (the held ones are fixed, not at a bound). */
static void mark_bounds(int n, const double *x, const solve_scratch *sc, nb_lsq_result *result)
{
    for (int j = 0; j < n; j++)
        result->at_bound[j] = result->fixed[j] ? 0 : x[j] <= sc->lo[j] ? -1 : x[j] >= sc->hi[j] ? 1 : 0;
}

static nb_status solve_iterative(lsq_problem *pb, const double *start, solve_scratch *sc,
                                 const nb_lsq_options *opt, nb_lsq_result *result)
{
    bool boxed;
    nb_status status = nb_lsq_make_box(opt, pb->n, start, result, sc->lo, sc->hi, sc->y, &boxed);
    double *x0 = sc->best; /* the start moved inside; multi_start overwrites it last */
    if (status != NB_OK)
        return status;
    memcpy(x0, sc->y, (size_t)pb->n * sizeof *x0);
    memcpy(sc->given, x0, (size_t)pb->n * sizeof *sc->given);
    lsq_outcome best = {0, NB_LSQ_STOP_NONE};
    status = multi_start(pb, sc->given, sc, boxed, opt, result, &best);
    if (status != NB_OK)
        return status;
    result->method = NB_LSQ_LM;
    result->stop = best.stop;
    result->iterations = best.iterations;
    mark_bounds(pb->n, sc->best, sc, result);
    return nb_lsq_finish_statistics(pb, sc->best, sc->jac, sc->f, sc->best_full_rank ? sc->cov_best : NULL, opt,
                                    false, result);
}

/* The solve shared by both entry points; start holds n values. */
static nb_status solve(lsq_problem *pb, const double *start, nb_lsq_method method, const nb_lsq_options *opt,
                       nb_lsq_result *result)
{
    int m = pb->m, n = pb->n;
    if (m < n)
        return nb_fail(NB_EARG, "%d data point%s cannot determine %d parameters: fewer points than parameters",
                       m, m == 1 ? "" : "s", n);
    solve_scratch sc;
    if (scratch_alloc(&sc, m, n, opt->starts > 1 ? opt->starts : 1) != NB_OK)
        return nb_errcode();
    nb_status status;
    if (method == NB_LSQ_LINEAR) {
        status = linear_solve(pb, sc.x, sc.jac, sc.f, sc.cov);
        result->method = NB_LSQ_LINEAR;
        result->stop = NB_LSQ_STOP_LINEAR;
        result->iterations = 1;
        if (status == NB_OK)
            status = nb_lsq_finish_statistics(pb, sc.x, sc.jac, sc.f, sc.cov, opt, false, result);
    } else {
        status = solve_iterative(pb, start, &sc, opt, result);
    }
    result->converged = result->stop != NB_LSQ_STOP_MAX_EVALS && result->stop != NB_LSQ_STOP_NONE;
    result->n_evals = pb->n_evals;
    result->n_jacobians = pb->n_jacobians;
    result->r_squared = NAN;
    scratch_free(&sc);
    return status;
}

/* Whether the options ask for more than one QR solve can give. */
static bool needs_iterations(const nb_lsq_options *opt)
{
    return opt->lower || opt->upper || opt->fixed || opt->loss != NB_LSQ_SQUARED || opt->starts > 1;
}

nb_status nb_lsq_fit_graph(nb_node *residual, int n_nodes, nb_node *const *params, const double *start,
                           const double *weights, const nb_lsq_options *options, nb_lsq_result *result)
{
    lsq_data data = {.weights = weights};
    nb_status status = nb_lsq_fit(residual, n_nodes, params, start, &data, options, result);
    if (status == NB_OK)
        nb_lsq_information(result, weights);
    return status;
}

nb_status nb_lsq_fit(nb_node *residual, int n_nodes, nb_node *const *params, const double *start,
                     const lsq_data *data, const nb_lsq_options *options, nb_lsq_result *result)
{
    const lsq_data none = {0};
    data = data ? data : &none;
    if (!result)
        return nb_fail(NB_EARG, "nb_lsq_fit_graph: result must not be NULL");
    memset(result, 0, sizeof *result);
    nb_lsq_options opt = options ? *options : nb_lsq_defaults();
    if (check_options(&opt) != NB_OK)
        return nb_errcode();
    if (!start)
        return nb_fail(NB_EARG, "nb_lsq_fit_graph: start values must not be NULL");
    if (opt.method == NB_LSQ_LINEAR && needs_iterations(&opt))
        return nb_fail(NB_EARG, "the linear method (one QR solve) takes no bounds, fixed parameters, robust loss "
                                "or starts; use lm");
    lsq_problem pb;
    nb_status status = nb_lsq_problem_init(&pb, residual, n_nodes, params, data->weights);
    if (status != NB_OK)
        return status;
    pb.offset = data->offset;
    pb.value_norm = isfinite(data->value_norm) ? data->value_norm : 0;
    if (data->at_start) {
        memcpy(pb.x_graph, start, (size_t)pb.n * sizeof *start);
        pb.have_graph_point = true;
    }
    if ((status = nb_lsq_result_alloc(result, &pb)) != NB_OK)
        goto done;
    if (nb_lsq_method_is_gradient(opt.method)) {
        status = nb_fail(NB_EARG, "least squares: gradient descent (%s) fits formulas (nb_fit_formula), not "
                                  "residual graphs",
                         nb_optim_name(opt.optim));
        goto done;
    }
    /* A graph is linear only if its user says so: AUTO means Levenberg–Marquardt. */
    status = solve(&pb, start, opt.method == NB_LSQ_LINEAR ? NB_LSQ_LINEAR : NB_LSQ_LM, &opt, result);
done:
    if (status != NB_OK)
        nb_lsq_result_clear(result);
    nb_lsq_problem_free(&pb);
    return status;
}

nb_status nb_lsq_statistics_at(nb_node *residual, int n_nodes, nb_node *const *params, const double *x,
                               const lsq_data *data, const nb_lsq_options *options, nb_lsq_result *result)
{
    memset(result, 0, sizeof *result);
    lsq_problem pb;
    nb_status status = nb_lsq_problem_init(&pb, residual, n_nodes, params, data->weights);
    if (status != NB_OK)
        return status;
    pb.offset = data->offset;
    double *f = nb_alloc((size_t)pb.m * sizeof *f);
    double *jac = nb_alloc((size_t)pb.m * pb.n * sizeof *jac);
    if (!f || !jac) {
        status = nb_fail(NB_ENOMEM, "least squares: out of memory");
        goto done;
    }
    if ((status = nb_lsq_result_alloc(result, &pb)) != NB_OK)
        goto done;
    if (pb.m < pb.n) {
        status = nb_fail(NB_EARG, "%d data points cannot determine %d parameters", pb.m, pb.n);
        goto done;
    }
    status = nb_lsq_finish_statistics(&pb, x, jac, f, NULL, options, true, result);
    result->n_evals = pb.n_evals;
    result->n_jacobians = pb.n_jacobians;
    result->r_squared = NAN;
done:
    if (status != NB_OK)
        nb_lsq_result_clear(result);
    nb_free(f);
    nb_free(jac);
    nb_lsq_problem_free(&pb);
    return status;
}
