/* The dense linear algebra of least squares: pivoted Householder QR, the damped solve and
 * the Levenberg–Marquardt parameter of Moré's trust-region method (the design of MINPACK,
 * written afresh), and an extended-precision QR for linear models and covariances.
 *
 * Matrices are column-major, a(i, j) = a[i + j * m]: Householder QR works on columns. */
#include "fit/lsq_internal.h"

#include <float.h>
#include <math.h>
#include <string.h>

#define A(i, j) a[(size_t)(i) + (size_t)(j) * (size_t)m]

/* Columns of unit norm whose pivoted R has a diagonal entry below this fraction of the
 * first are taken as dependent: Jacobians computed in double carry ~1e-16 relative
 * noise; the worst NIST problem, Filip (a degree-10 polynomial), has 8e-10. */
#define RANK_TOLERANCE 1e-13
#define R(i, j) r[(size_t)(i) + (size_t)(j) * (size_t)ldr]

double nb_lsq_norm_rescaled(int n, const double *x)
{
    double big = 0;
    for (int i = 0; i < n; i++)
        big = fmax(big, fabs(x[i]));
    if (big == 0 || !isfinite(big))
        return big;
    double sum = 0;
    for (int i = 0; i < n; i++) {
        double t = x[i] / big;
        sum += t * t;
    }
    return big * sqrt(sum);
}

/* Pivot: the remaining column of largest norm becomes column j. */
static void pivot(int m, int n, double *a, int j, int *perm, double *rdiag, double *work)
{
    int best = j;
    for (int k = j + 1; k < n; k++)
        if (rdiag[k] > rdiag[best])
            best = k;
    if (best == j)
        return;
    for (int i = 0; i < m; i++) {
        double t = A(i, j);
        A(i, j) = A(i, best);
        A(i, best) = t;
    }
    rdiag[best] = rdiag[j];
    work[best] = work[j];
    int t = perm[j];
    perm[j] = perm[best];
    perm[best] = t;
}

/* Apply the reflection stored in a(j:m, j) to column k (k > j) and downdate the norm of
 * what is left of that column, recomputing it when cancellation has eaten it. */
static void reflect_column(int m, double *a, int j, int k, double *rdiag, double *work)
{
    double t = nb_lsq_dot(m - j, &A(j, j), &A(j, k)) / A(j, j);
    for (int i = j; i < m; i++)
        A(i, k) -= t * A(i, j);
    if (rdiag[k] == 0)
        return;
    double ratio = A(j, k) / rdiag[k];
    rdiag[k] *= sqrt(fmax(0, 1 - ratio * ratio));
    double rel = rdiag[k] / work[k];
    if (0.05 * rel * rel <= DBL_EPSILON) {
        rdiag[k] = nb_lsq_norm(m - j - 1, &A(j + 1, k));
        work[k] = rdiag[k];
    }
}

void nb_lsq_qr(int m, int n, double *a, int *perm, double *rdiag, double *col_norm, double *work)
{
    /* work[j]: the norm column j had when rdiag[j] was last computed from scratch. */
    for (int j = 0; j < n; j++) {
        col_norm[j] = nb_lsq_norm(m, &A(0, j));
        rdiag[j] = work[j] = col_norm[j];
        perm[j] = j;
    }
    for (int j = 0; j < n && j < m; j++) {
        pivot(m, n, a, j, perm, rdiag, work);
        /* The reflection that zeroes a(j+1:m, j). The first column's norm is known. */
        double norm = j == 0 ? col_norm[perm[0]] : nb_lsq_norm(m - j, &A(j, j));
        if (norm == 0) {
            rdiag[j] = 0;
            continue;
        }
        if (A(j, j) < 0)
            norm = -norm;
        for (int i = j; i < m; i++)
            A(i, j) /= norm;
        A(j, j) += 1;
        for (int k = j + 1; k < n; k++)
            reflect_column(m, a, j, k, rdiag, work);
        rdiag[j] = -norm;
    }
}

void nb_lsq_qr_apply_qt(int m, int n, const double *a, double *b)
{
    for (int j = 0; j < n && j < m; j++) {
        if (A(j, j) == 0)
            continue;
        double t = -nb_lsq_dot(m - j, &A(j, j), b + j) / A(j, j);
        for (int i = j; i < m; i++)
            b[i] += t * A(i, j);
    }
}

/* One Givens rotation that zeroes b against a, as MINPACK computes it (through the
 * cotangent or the tangent, whichever is at most one). */
static void givens(double a, double b, double *c, double *s)
{
    if (fabs(a) < fabs(b)) {
        double cotan = a / b;
        *s = 0.5 / sqrt(0.25 + 0.25 * cotan * cotan);
        *c = *s * cotan;
    } else {
        double tan = b / a;
        *c = 0.5 / sqrt(0.25 + 0.25 * tan * tan);
        *s = *c * tan;
    }
}

/* Rotate the extra row d e_j (in sdiag) into the lower triangle of r, column by column,
 * carrying its right-hand side (zero) against work. */
static void fold_row(int n, double *r, int ldr, int j, double d, double *sdiag, double *work)
{
    for (int k = j; k < n; k++)
        sdiag[k] = 0;
    sdiag[j] = d;
    double qtbpj = 0; /* the extra row's right-hand side */
    for (int k = j; k < n; k++) {
        if (sdiag[k] == 0)
            continue;
        double c, s;
        givens(R(k, k), sdiag[k], &c, &s);
        R(k, k) = c * R(k, k) + s * sdiag[k];
        double t = c * work[k] + s * qtbpj;
        qtbpj = -s * work[k] + c * qtbpj;
        work[k] = t;
        for (int i = k + 1; i < n; i++) {
            t = c * R(i, k) + s * sdiag[i];
            sdiag[i] = -s * R(i, k) + c * sdiag[i];
            R(i, k) = t;
        }
    }
}

/* Back-substitution with S (diagonal sdiag, the rest in r's strict lower triangle) into
 * x, unpermuted; a singular S gets the minimum-norm-in-its-part solution. */
static void solve_folded(int n, const double *r, int ldr, const int *perm, const double *sdiag, double *work,
                         double *x)
{
    int nsing = n;
    for (int j = 0; j < n; j++) {
        if (sdiag[j] == 0 && nsing == n)
            nsing = j;
        if (nsing < n)
            work[j] = 0;
    }
    for (int j = nsing - 1; j >= 0; j--) {
        double sum = 0;
        for (int i = j + 1; i < nsing; i++)
            sum += R(i, j) * work[i];
        work[j] = (work[j] - sum) / sdiag[j];
    }
    for (int j = 0; j < n; j++)
        x[perm[j]] = work[j];
}

/* Solve min |[R; sqrt(par) D] z - [qtb; 0]| in place of R's lower triangle: Givens
 * rotations fold the diagonal D (diag_scaled = sqrt(par) * diag, permuted) into R, giving
 * the triangular S whose diagonal goes to sdiag and strict upper part to r's strict lower
 * triangle (transposed). R's upper triangle and diagonal are kept. work: n doubles. */
static void damped_solve(int n, double *r, int ldr, const int *perm, const double *diag_scaled,
                         const double *qtb, double *x, double *sdiag, double *work)
{
    for (int j = 0; j < n; j++) {
        for (int i = j; i < n; i++)
            R(i, j) = R(j, i);
        x[j] = R(j, j);
        work[j] = qtb[j];
    }
    for (int j = 0; j < n; j++) {
        double d = diag_scaled[perm[j]];
        if (d != 0)
            fold_row(n, r, ldr, j, d, sdiag, work);
        sdiag[j] = R(j, j);
        R(j, j) = x[j];
    }
    solve_folded(n, r, ldr, perm, sdiag, work, x);
}

/* The Gauss–Newton step -R⁻¹ qtb into x (the least-squares one, zero beyond the first
 * zero on R's diagonal, when R is singular); returns the rank found. w1: n doubles. */
static int gauss_newton_step(int n, const double *r, int ldr, const int *perm, const double *qtb, double *x,
                             double *w1)
{
    int nsing = n;
    for (int j = 0; j < n; j++) {
        w1[j] = qtb[j];
        if (R(j, j) == 0 && nsing == n)
            nsing = j;
        if (nsing < n)
            w1[j] = 0;
    }
    for (int j = nsing - 1; j >= 0; j--) {
        w1[j] /= R(j, j);
        double t = w1[j];
        for (int i = 0; i < j; i++)
            w1[i] -= R(i, j) * t;
    }
    for (int j = 0; j < n; j++)
        x[perm[j]] = w1[j];
    return nsing;
}

/* |D x|, leaving D x in dx. */
static double scaled_length(int n, const double *diag, const double *x, double *dx)
{
    for (int j = 0; j < n; j++)
        dx[j] = diag[j] * x[j];
    return nb_lsq_norm(n, dx);
}

/* Newton's correction to par from fp = |D x| - delta, the distance to the region's edge:
 * it solves Sᵀ w = D (D x) / |D x| for the triangle S of the current system, which is R
 * (r's upper triangle) when sdiag is NULL, else damped_solve's S (its diagonal in sdiag,
 * the rest in r's strict lower triangle). dx holds D x. */
static double par_correction(int n, const double *r, int ldr, const int *perm, const double *diag,
                             const double *sdiag, const double *dx, double dxnorm, double fp, double delta,
                             double *w1)
{
    for (int j = 0; j < n; j++)
        w1[j] = diag[perm[j]] * (dx[perm[j]] / dxnorm);
    if (sdiag) {
        for (int j = 0; j < n; j++) {
            w1[j] /= sdiag[j];
            double t = w1[j];
            for (int i = j + 1; i < n; i++)
                w1[i] -= R(i, j) * t;
        }
    } else {
        for (int j = 0; j < n; j++) {
            double sum = 0;
            for (int i = 0; i < j; i++)
                sum += R(i, j) * w1[i];
            w1[j] = (w1[j] - sum) / R(j, j);
        }
    }
    double t = nb_lsq_norm(n, w1);
    return ((fp / delta) / t) / t;
}

/* The norm of the scaled gradient D⁻¹ Rᵀ qtb, whose ratio to delta bounds par above. */
static double scaled_gradient_norm(int n, const double *r, int ldr, const int *perm, const double *diag,
                                   const double *qtb, double *w1)
{
    for (int j = 0; j < n; j++) {
        double sum = 0;
        for (int i = 0; i <= j; i++)
            sum += R(i, j) * qtb[i];
        w1[j] = sum / diag[perm[j]];
    }
    return nb_lsq_norm(n, w1);
}

void nb_lsq_lm_step(int n, double *r, int ldr, const int *perm, const double *diag, const double *qtb,
                 double delta, double *par, double *x, double *work)
{
    double *w1 = work, *dx = work + n, *sdiag = work + 2 * n, *w4 = work + 3 * n;
    const double dwarf = DBL_MIN;

    /* Accept the Gauss–Newton step when it lies within (1.1 times) the trust region. */
    int nsing = gauss_newton_step(n, r, ldr, perm, qtb, x, w1);
    double dxnorm = scaled_length(n, diag, x, dx);
    double fp = dxnorm - delta;
    if (fp <= 0.1 * delta) {
        *par = 0;
        return;
    }
    /* Bounds for par: below from the Newton step (only when R has full rank), above from
     * the scaled gradient. */
    double parl = nsing == n ? par_correction(n, r, ldr, perm, diag, NULL, dx, dxnorm, fp, delta, w1) : 0;
    double gnorm = scaled_gradient_norm(n, r, ldr, perm, diag, qtb, w1);
    double paru = gnorm / delta;
    if (paru == 0)
        paru = dwarf / fmin(delta, 0.1);
    *par = fmin(fmax(*par, parl), paru);
    if (*par == 0)
        *par = gnorm / dxnorm;

    for (int iter = 1;; iter++) {
        if (*par == 0)
            *par = fmax(dwarf, 0.001 * paru);
        double root = sqrt(*par);
        for (int j = 0; j < n; j++)
            w1[j] = root * diag[j];
        damped_solve(n, r, ldr, perm, w1, qtb, x, sdiag, w4);
        dxnorm = scaled_length(n, diag, x, dx);
        double fp_old = fp;
        fp = dxnorm - delta;
        /* Close enough to the trust region's edge, or stuck at the lower bound. */
        if (fabs(fp) <= 0.1 * delta || (parl == 0 && fp <= fp_old && fp_old < 0) || iter == 10)
            return;
        double parc = par_correction(n, r, ldr, perm, diag, sdiag, dx, dxnorm, fp, delta, w1);
        if (fp > 0)
            parl = fmax(parl, *par);
        if (fp < 0)
            paru = fmin(paru, *par);
        *par = fmax(parl, *par + parc);
    }
}

/* ---- extended precision: linear models and covariances -------------------------------- */

typedef long double ld;

/* a[n] · b[n] in long double, four partial sums (x87 additions have a long latency). */
static ld dot_ld(int n, const ld *a, const ld *b)
{
    ld s0 = 0, s1 = 0, s2 = 0, s3 = 0;
    int i = 0;
    for (; i + 4 <= n; i += 4) {
        s0 += a[i] * b[i];
        s1 += a[i + 1] * b[i + 1];
        s2 += a[i + 2] * b[i + 2];
        s3 += a[i + 3] * b[i + 3];
    }
    for (; i < n; i++)
        s0 += a[i] * b[i];
    return (s0 + s1) + (s2 + s3);
}

/* Pivoted Householder QR of q (m x n, long double, column-major) in place: R's upper
 * triangle including the diagonal in q, the reflections' vectors in v (m x n) and their
 * scalars in tau. */
static void qr_ld(int m, int n, ld *q, ld *v, ld *tau, int *perm)
{
    for (int j = 0; j < n; j++)
        perm[j] = j;
    for (int j = 0; j < n; j++) {
        int best = j;
        ld best_norm = -1;
        for (int k = j; k < n; k++) {
            const ld *ck = q + (size_t)k * m + j;
            ld sum = dot_ld(m - j, ck, ck);
            if (sum > best_norm)
                best_norm = sum, best = k;
        }
        if (best != j) {
            for (int i = 0; i < m; i++) {
                ld t = q[i + (size_t)j * m];
                q[i + (size_t)j * m] = q[i + (size_t)best * m];
                q[i + (size_t)best * m] = t;
            }
            int t = perm[j];
            perm[j] = perm[best];
            perm[best] = t;
        }
        ld *col = q + (size_t)j * m, *vj = v + (size_t)j * m;
        ld norm = sqrtl(best_norm);
        for (int i = 0; i < m; i++)
            vj[i] = 0;
        if (norm == 0) {
            tau[j] = 0;
            continue;
        }
        ld alpha = col[j] > 0 ? -norm : norm;
        for (int i = j; i < m; i++)
            vj[i] = col[i];
        vj[j] -= alpha;
        ld vnorm2 = dot_ld(m - j, vj + j, vj + j);
        tau[j] = vnorm2 > 0 ? 2 / vnorm2 : 0;
        for (int k = j; k < n; k++) {
            ld *ck = q + (size_t)k * m;
            ld dot = tau[j] * dot_ld(m - j, vj + j, ck + j);
            for (int i = j; i < m; i++)
                ck[i] -= dot * vj[i];
        }
        col[j] = alpha;
        for (int i = j + 1; i < m; i++)
            col[i] = 0;
    }
}

static void apply_qt_ld(int m, int n, const ld *v, const ld *tau, ld *b)
{
    for (int j = 0; j < n; j++) {
        const ld *vj = v + (size_t)j * m;
        ld dot = tau[j] * dot_ld(m - j, vj + j, b + j);
        for (int i = j; i < m; i++)
            b[i] -= dot * vj[i];
    }
}

/* Numerical rank of R (unit-norm columns before pivoting): diagonal entries above a
 * relative tolerance. */
static int rank_of(int m, int n, const ld *q)
{
    ld first = fabsl(q[0]);
    int rank = 0;
    while (rank < n && fabsl(q[rank + (size_t)rank * m]) > RANK_TOLERANCE * first)
        rank++;
    return rank;
}

/* (RᵀR)⁻¹ unscaled and unpermuted into cov (n x n row-major), for the first `rank`
 * columns (the others get NaN). */
static void covariance_ld(int m, int n, const ld *q, const int *perm, const ld *scale, int rank, double *cov,
                          ld *rinv)
{
    /* rinv = R⁻¹ (upper triangular, rank x rank), column by column. */
    for (int j = 0; j < rank; j++) {
        for (int i = 0; i < rank; i++)
            rinv[i + (size_t)j * rank] = 0;
        rinv[j + (size_t)j * rank] = 1 / q[j + (size_t)j * m];
        for (int i = j - 1; i >= 0; i--) {
            ld sum = 0;
            for (int k = i + 1; k <= j; k++)
                sum += q[i + (size_t)k * m] * rinv[k + (size_t)j * rank];
            rinv[i + (size_t)j * rank] = -sum / q[i + (size_t)i * m];
        }
    }
    for (int a = 0; a < n; a++)
        for (int b = 0; b < n; b++)
            cov[a * n + b] = NAN;
    for (int a = 0; a < rank; a++)
        for (int b = 0; b < rank; b++) {
            ld sum = 0;
            for (int k = a > b ? a : b; k < rank; k++)
                sum += rinv[a + (size_t)k * rank] * rinv[b + (size_t)k * rank];
            int pa = perm[a], pb = perm[b];
            cov[pa * n + pb] = (double)(sum / (scale[pa] * scale[pb]));
        }
}

/* Powers of two close to the column norms: scaling by them is exact. */
static void column_scales(int m, int n, const double *a, ld *scale)
{
    for (int j = 0; j < n; j++) {
        double norm = nb_lsq_norm(m, a + (size_t)j * m);
        int exponent = 0;
        if (norm > 0 && isfinite(norm))
            frexp(norm, &exponent);
        scale[j] = ldexpl(1.0L, exponent);
    }
}

typedef struct ld_work {
    ld *q, *v, *tau, *scale, *rinv, *rhs, *z;
    int *perm;
} ld_work;

static void ld_work_free(ld_work *w)
{
    nb_free(w->q), nb_free(w->v), nb_free(w->tau), nb_free(w->scale), nb_free(w->rinv), nb_free(w->rhs);
    nb_free(w->z), nb_free(w->perm);
}

static nb_status ld_work_alloc(int m, int n, ld_work *w)
{
    memset(w, 0, sizeof *w);
    size_t mn = (size_t)m * (size_t)n;
    w->q = nb_alloc(mn * sizeof(ld));
    w->v = nb_alloc(mn * sizeof(ld));
    w->tau = nb_alloc((size_t)n * sizeof(ld));
    w->scale = nb_alloc((size_t)n * sizeof(ld));
    w->rinv = nb_alloc((size_t)n * (size_t)n * sizeof(ld));
    w->rhs = nb_alloc((size_t)m * sizeof(ld));
    w->z = nb_alloc((size_t)m * sizeof(ld));
    w->perm = nb_alloc((size_t)n * sizeof(int));
    if (!w->q || !w->v || !w->tau || !w->scale || !w->rinv || !w->rhs || !w->z || !w->perm) {
        ld_work_free(w);
        return nb_fail(NB_ENOMEM, "out of memory for a %d x %d least-squares problem", m, n);
    }
    return NB_OK;
}

/* Factor a with columns scaled to about unit norm. */
static void factor_scaled(int m, int n, const double *a, ld_work *w)
{
    column_scales(m, n, a, w->scale);
    for (int j = 0; j < n; j++)
        for (int i = 0; i < m; i++)
            w->q[i + (size_t)j * m] = (ld)a[i + (size_t)j * m] / w->scale[j];
    qr_ld(m, n, w->q, w->v, w->tau, w->perm);
}

/* z := the least-squares solution (scaled, permuted back) of R z = (Qᵀ rhs)[0:rank]. */
static void solve_scaled(int m, int n, ld_work *w, int rank, ld *rhs, ld *z)
{
    apply_qt_ld(m, n, w->v, w->tau, rhs);
    ld *y = w->rinv; /* scratch: n values */
    for (int j = rank - 1; j >= 0; j--) {
        ld sum = rhs[j];
        for (int k = j + 1; k < rank; k++)
            sum -= w->q[j + (size_t)k * m] * y[k];
        y[j] = sum / w->q[j + (size_t)j * m];
    }
    for (int j = 0; j < n; j++)
        z[j] = 0;
    for (int j = 0; j < rank; j++)
        z[w->perm[j]] = y[j] / w->scale[w->perm[j]];
}

nb_status nb_lsq_linear_solve(int m, int n, const double *a, const double *b, double *x, double *cov_unscaled,
                           int *rank)
{
    ld_work w;
    if (ld_work_alloc(m, n, &w) != NB_OK)
        return nb_errcode();
    factor_scaled(m, n, a, &w);
    *rank = rank_of(m, n, w.q);
    ld *xs = nb_alloc((size_t)n * sizeof(ld));
    ld *dx = nb_alloc((size_t)(m > n ? m : n) * sizeof(ld));
    if (!xs || !dx) {
        nb_free(xs), nb_free(dx);
        ld_work_free(&w);
        return nb_fail(NB_ENOMEM, "out of memory for a %d x %d least-squares problem", m, n);
    }
    for (int i = 0; i < m; i++)
        w.rhs[i] = b[i];
    solve_scaled(m, n, &w, *rank, w.rhs, xs);
    /* Iterative refinement: the residual in long double, the correction from the same
     * factors. Each pass gains about -log10(cond * LDBL_EPSILON) digits. */
    for (int pass = 0; pass < 3; pass++) {
        for (int i = 0; i < m; i++) {
            ld sum = b[i];
            for (int j = 0; j < n; j++)
                sum -= (ld)a[i + (size_t)j * m] * xs[j];
            w.z[i] = sum;
        }
        solve_scaled(m, n, &w, *rank, w.z, dx);
        for (int j = 0; j < n; j++)
            xs[j] += dx[j];
    }
    for (int j = 0; j < n; j++)
        x[j] = (double)xs[j];
    if (cov_unscaled)
        covariance_ld(m, n, w.q, w.perm, w.scale, *rank, cov_unscaled, w.rinv);
    nb_free(xs);
    nb_free(dx);
    ld_work_free(&w);
    return NB_OK;
}

/* a := jac with each column divided by the power of two just above its norm (exact),
 * kept in scale. */
static void scale_columns_pow2(int m, int n, const double *jac, double *a, double *scale)
{
    for (int j = 0; j < n; j++) {
        int exponent = 0;
        double norm = nb_lsq_norm(m, jac + (size_t)j * m);
        if (norm > 0 && isfinite(norm))
            frexp(norm, &exponent);
        scale[j] = ldexp(1.0, exponent);
        for (int i = 0; i < m; i++)
            A(i, j) = jac[i + (size_t)j * m] / scale[j];
    }
}

/* rinv = R⁻¹ for the leading r x r part of nb_lsq_qr's R (upper triangle in a above the
 * diagonal, diagonal in rdiag); rinv is r x r, column-major. */
static void invert_r(int m, int r, const double *a, const double *rdiag, double *rinv)
{
    for (int j = 0; j < r; j++) {
        for (int i = 0; i < r; i++)
            rinv[i + (size_t)j * r] = 0;
        rinv[j + (size_t)j * r] = 1 / rdiag[j];
        for (int i = j - 1; i >= 0; i--) {
            double sum = 0;
            for (int k = i + 1; k <= j; k++)
                sum += (k == i ? rdiag[i] : A(i, k)) * rinv[k + (size_t)j * r];
            rinv[i + (size_t)j * r] = -sum / rdiag[i];
        }
    }
}

/* cov = R⁻¹ R⁻ᵀ unpermuted and unscaled; NaN for the parameters beyond the rank. */
static void covariance_from_rinv(int n, int r, const double *rinv, const int *perm, const double *scale,
                                 double *cov)
{
    for (int k = 0; k < n * n; k++)
        cov[k] = NAN;
    for (int p = 0; p < r; p++)
        for (int q = 0; q < r; q++) {
            double sum = 0;
            for (int k = p > q ? p : q; k < r; k++)
                sum += rinv[p + (size_t)k * r] * rinv[q + (size_t)k * r];
            cov[perm[p] * n + perm[q]] = sum / (scale[perm[p]] * scale[perm[q]]);
        }
}

/* Mark the columns of the combination that makes column perm[r] (just past the rank r)
 * dependent: solve R11 z = R12(:, r) and keep the terms that matter (the columns are of
 * comparable norms, so coefficients compare directly). rinv: r doubles of scratch. */
static void mark_combination(int m, int n, int r, const double *a, const double *rdiag, const int *perm,
                             double *z, bool *involved)
{
    for (int j = 0; j < n; j++)
        involved[j] = false;
    if (r >= n)
        return;
    involved[perm[r]] = true;
    double largest = 0;
    for (int i = r - 1; i >= 0; i--) {
        double sum = A(i, r);
        for (int k = i + 1; k < r; k++)
            sum -= A(i, k) * z[k];
        z[i] = rdiag[i] != 0 ? sum / rdiag[i] : 0;
        largest = fmax(largest, fabs(z[i]));
    }
    for (int i = 0; i < r; i++)
        if (fabs(z[i]) > 1e-6 * largest && fabs(z[i]) > 1e-12)
            involved[perm[i]] = true;
}

#define INVERSE_LOCAL 512

nb_status nb_lsq_inverse_normal(int m, int n, const double *jac, double *cov, int *rank, int *dependent,
                                bool *involved)
{
    /* Double precision is enough here (the Jacobian itself is double); columns scaled by
     * powers of two (exactly) so that the rank test compares like with like. */
    size_t mn = (size_t)m * (size_t)n, nn = (size_t)n, total = mn + nn * nn + 5 * nn;
    double local[INVERSE_LOCAL]; /* small fits allocate nothing */
    double *block = total <= INVERSE_LOCAL ? local : nb_alloc(total * sizeof *block), *next = block;
    nb_status status = NB_OK;
    if (!block) {
        status = nb_fail(NB_ENOMEM, "out of memory for the covariance of %d parameters", n);
    } else {
        double *a = nb_lsq_carve(&next, mn), *rinv = nb_lsq_carve(&next, nn * nn);
        double *scale = nb_lsq_carve(&next, nn), *rdiag = nb_lsq_carve(&next, nn);
        double *norms = nb_lsq_carve(&next, nn), *work = nb_lsq_carve(&next, nn);
        int *perm = (int *)nb_lsq_carve(&next, nn);
        scale_columns_pow2(m, n, jac, a, scale);
        nb_lsq_qr(m, n, a, perm, rdiag, norms, work);
        int r = 0;
        while (r < n && fabs(rdiag[r]) > RANK_TOLERANCE * fabs(rdiag[0]))
            r++;
        *rank = r;
        *dependent = r < n ? perm[r] : -1;
        if (involved)
            mark_combination(m, n, r, a, rdiag, perm, rinv, involved);
        invert_r(m, r, a, rdiag, rinv);
        covariance_from_rinv(n, r, rinv, perm, scale, cov);
    }
    if (block != local)
        nb_free(block);
    return status;
}
