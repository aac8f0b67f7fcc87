/* The tutorials' data sets, built for the demos (the library has no notion of them). */
#include "demo.h"

nb_dataset *demo_quadratic_data(int64_t first, int64_t last, double divisor, const double coef[3])
{
    nb_dataset *data = nb_dataset_new(NB_F64, last - first + 1, 1, 1);
    if (!data)
        return NULL;
    double *x = data->inputs->data, *y = data->targets->data;
    for (int64_t i = first; i <= last; i++) {
        double xi = (double)i / divisor;
        x[i - first] = xi;
        y[i - first] = coef[0] * xi * xi + coef[1] * xi + coef[2];
    }
    return data;
}

nb_dataset *demo_linear_data(int64_t n, int64_t d, const double *w, double b, double noise, nb_rng *rng)
{
    nb_dataset *data = nb_dataset_new(NB_F64, n, d, 1);
    if (!data)
        return NULL;
    double *x = data->inputs->data, *y = data->targets->data;
    nb_tensor_fill_normal(data->inputs, rng, 0, 1); /* all of X first, then the noise */
    for (int64_t i = 0; i < n; i++) {
        y[i] = b;
        for (int64_t j = 0; j < d; j++)
            y[i] += x[i * d + j] * w[j];
    }
    for (int64_t i = 0; i < n; i++)
        y[i] += noise * nb_rng_normal(rng);
    return data;
}
