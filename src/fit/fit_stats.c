/* What a fit says about the model as a whole: the Gaussian log-likelihood and the
 * information criteria that compare models fitted to the same data. */
#include "fit/lsq_internal.h"

#include <math.h>

void nb_lsq_information(nb_lsq_result *result, const double *weights)
{
    double n = (double)result->n_points, k = 1; /* the noise variance is estimated too */
    for (int j = 0; j < result->n_params; j++)
        k += !(result->fixed && result->fixed[j]); /* a fixed parameter is not estimated */
    double log_weights = 0;
    for (int64_t i = 0; weights && i < result->n_points; i++)
        log_weights += 2 * log(fabs(weights[i])); /* the weights multiply residuals: w_i = 1/sigma_i */
    /* An exact fit has an unbounded likelihood: log(0) gives -inf, so log L = +inf. */
    double ll = -n / 2 * (log(2 * M_PI) + 1 + log(result->sse / n)) + log_weights / 2;
    result->log_likelihood = ll;
    result->aic = 2 * k - 2 * ll;
    result->aicc = n - k - 1 > 0 ? result->aic + 2 * k * (k + 1) / (n - k - 1) : NAN;
    result->bic = k * log(n) - 2 * ll;
}
