/* Robust losses as in SciPy's least_squares: rho of z = (r / C)², and the rescaling of
 * residuals and Jacobian rows that makes one Gauss–Newton model of the robust cost
 * (iteratively reweighted least squares, with the curvature term of rho kept). */
#include "fit/lsq_internal.h"

#include <float.h>
#include <math.h>
#include <string.h>

static const char *const loss_names[] = {"linear", "huber", "soft_l1", "cauchy", "arctan"};

const char *nb_lsq_loss_name(nb_lsq_loss loss)
{
    return (unsigned)loss < sizeof loss_names / sizeof loss_names[0] ? loss_names[loss] : "unknown";
}

nb_status nb_lsq_loss_parse(const char *name, nb_lsq_loss *loss)
{
    for (int k = 0; name && k < (int)(sizeof loss_names / sizeof loss_names[0]); k++)
        if (strcmp(name, loss_names[k]) == 0) {
            *loss = (nb_lsq_loss)k;
            return NB_OK;
        }
    return nb_fail(NB_EARG, "unknown loss '%s' (linear, huber, soft_l1, cauchy or arctan)", name ? name : "(null)");
}

void nb_lsq_rho(nb_lsq_loss loss, double z, double rho[3])
{
    switch (loss) {
    case NB_LSQ_HUBER:
        if (z <= 1) {
            rho[0] = z, rho[1] = 1, rho[2] = 0;
        } else {
            double s = sqrt(z);
            rho[0] = 2 * s - 1, rho[1] = 1 / s, rho[2] = -0.5 / (z * s);
        }
        return;
    case NB_LSQ_SOFT_L1: {
        double t = 1 + z, s = sqrt(t);
        rho[0] = 2 * (s - 1), rho[1] = 1 / s, rho[2] = -0.5 / (t * s);
        return;
    }
    case NB_LSQ_CAUCHY:
        rho[0] = log1p(z), rho[1] = 1 / (1 + z), rho[2] = -1 / ((1 + z) * (1 + z));
        return;
    case NB_LSQ_ARCTAN:
        rho[0] = atan(z), rho[1] = 1 / (1 + z * z), rho[2] = -2 * z / ((1 + z * z) * (1 + z * z));
        return;
    default:
        rho[0] = z, rho[1] = 1, rho[2] = 0;
    }
}

double nb_lsq_cost(nb_lsq_loss loss, double f_scale, int m, const double *f)
{
    if (loss == NB_LSQ_SQUARED) {
        double norm = nb_lsq_norm(m, f);
        return 0.5 * norm * norm;
    }
    double c2 = f_scale * f_scale, sum = 0, rho[3];
    for (int i = 0; i < m; i++) {
        nb_lsq_rho(loss, f[i] * f[i] / c2, rho);
        sum += rho[0];
    }
    return 0.5 * c2 * sum;
}

void nb_lsq_robust_scale(nb_lsq_loss loss, double f_scale, int m, int n, double *f, double *jac)
{
    if (loss == NB_LSQ_SQUARED)
        return;
    double c2 = f_scale * f_scale, rho[3];
    for (int i = 0; i < m; i++) {
        double z = f[i] * f[i] / c2;
        nb_lsq_rho(loss, z, rho);
        /* The curvature term can make the weight negative far out: floor it as SciPy does. */
        double w = rho[1] + 2 * rho[2] * z;
        w = sqrt(w < DBL_EPSILON ? DBL_EPSILON : w);
        f[i] *= rho[1] / w;
        for (int j = 0; j < n; j++)
            jac[i + (size_t)j * m] *= w;
    }
}
