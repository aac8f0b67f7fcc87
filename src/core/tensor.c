/* Tensors: creation, element access, fills. */
#include "core/core.h"

#include <math.h>
#include <string.h>

static inline double get_at(const nb_tensor *t, int64_t i)
{
    return t->dtype == NB_F64 ? ((const double *)t->data)[i] : (double)((const float *)t->data)[i];
}

static inline void set_at(nb_tensor *t, int64_t i, double value)
{
    if (t->dtype == NB_F64)
        ((double *)t->data)[i] = value;
    else
        ((float *)t->data)[i] = (float)value;
}

int64_t nb_shape_size(int ndim, const int64_t *shape)
{
    int64_t size = 1;
    for (int d = 0; d < ndim; d++) {
        if (shape[d] < 0 || (shape[d] && size > INT64_MAX / shape[d]))
            return -1;
        size *= shape[d];
    }
    return size;
}

bool nb_shape_equal(int ndim_a, const int64_t *a, int ndim_b, const int64_t *b)
{
    if (ndim_a != ndim_b)
        return false;
    for (int d = 0; d < ndim_a; d++)
        if (a[d] != b[d])
            return false;
    return true;
}

static nb_tensor *tensor_header(nb_dtype dtype, int ndim, const int64_t *shape, const char *what)
{
    if (dtype != NB_F32 && dtype != NB_F64) {
        nb_fail(NB_EDTYPE, "%s: unknown dtype %d", what, (int)dtype);
        return NULL;
    }
    if (ndim < 0 || ndim > NB_MAX_DIMS || (ndim > 0 && !shape)) {
        nb_fail(NB_EARG, "%s: ndim must be 0..%d with a shape, got %d", what, NB_MAX_DIMS, ndim);
        return NULL;
    }
    int64_t size = nb_shape_size(ndim, shape);
    if (size < 0) {
        char buf[96];
        nb_fail(NB_ESHAPE, "%s: invalid shape %s", what, nb_shape_str(ndim, shape, buf, sizeof buf));
        return NULL;
    }
    nb_tensor *t = nb_alloc_or_fail(sizeof *t, what);
    if (!t)
        return NULL;
    memset(t, 0, sizeof *t);
    t->dtype = dtype;
    t->ndim = ndim;
    for (int d = 0; d < ndim; d++)
        t->shape[d] = shape[d];
    t->size = size;
    return t;
}

static nb_tensor *tensor_alloc(nb_dtype dtype, int ndim, const int64_t *shape, const char *what)
{
    nb_tensor *t = tensor_header(dtype, ndim, shape, what);
    if (!t)
        return NULL;
    size_t elem = nb_dtype_size(dtype);
    if ((uint64_t)t->size > SIZE_MAX / elem) {
        nb_fail(NB_ENOMEM, "%s: %lld elements do not fit in memory", what, (long long)t->size);
        nb_free(t);
        return NULL;
    }
    t->data = nb_calloc((size_t)t->size, elem);
    if (!t->data) {
        nb_fail(NB_ENOMEM, "%s: out of memory for %lld elements", what, (long long)t->size);
        nb_free(t);
        return NULL;
    }
    t->owns_data = true;
    return t;
}

nb_tensor *nb_tensor_zeros(nb_dtype dtype, int ndim, const int64_t *shape)
{
    return tensor_alloc(dtype, ndim, shape, "nb_tensor_zeros");
}

nb_tensor *nb_tensor_full(nb_dtype dtype, int ndim, const int64_t *shape, double value)
{
    nb_tensor *t = tensor_alloc(dtype, ndim, shape, "nb_tensor_full");
    if (t)
        nb_tensor_fill(t, value);
    return t;
}

nb_tensor *nb_tensor_ones(nb_dtype dtype, int ndim, const int64_t *shape)
{
    return nb_tensor_full(dtype, ndim, shape, 1.0);
}

nb_tensor *nb_tensor_from(nb_dtype dtype, int ndim, const int64_t *shape, const double *values)
{
    if (!values) {
        nb_fail(NB_EARG, "nb_tensor_from: values is NULL");
        return NULL;
    }
    nb_tensor *t = tensor_alloc(dtype, ndim, shape, "nb_tensor_from");
    if (t)
        nb_tensor_from_doubles(t, values);
    return t;
}

nb_tensor *nb_tensor_from_data(nb_dtype dtype, int ndim, const int64_t *shape, const void *data)
{
    if (!data) {
        nb_fail(NB_EARG, "nb_tensor_from_data: data is NULL");
        return NULL;
    }
    nb_tensor *t = tensor_alloc(dtype, ndim, shape, "nb_tensor_from_data");
    if (t)
        memcpy(t->data, data, (size_t)t->size * nb_dtype_size(dtype));
    return t;
}

nb_tensor *nb_tensor_wrap(nb_dtype dtype, int ndim, const int64_t *shape, void *data)
{
    if (!data) {
        nb_fail(NB_EARG, "nb_tensor_wrap: data is NULL");
        return NULL;
    }
    nb_tensor *t = tensor_header(dtype, ndim, shape, "nb_tensor_wrap");
    if (t)
        t->data = data;
    return t;
}

nb_tensor *nb_tensor_arange(nb_dtype dtype, double start, double stop, double step)
{
    if (!(step != 0) || !isfinite(start) || !isfinite(stop) || !isfinite(step)) {
        nb_fail(NB_EARG, "nb_tensor_arange: need finite start, stop and a non-zero step (got %g, %g, %g)", start,
                stop, step);
        return NULL;
    }
    double count = ceil((stop - start) / step);
    int64_t n = count > 0 ? (int64_t)count : 0;
    nb_tensor *t = tensor_alloc(dtype, 1, &n, "nb_tensor_arange");
    if (t)
        for (int64_t i = 0; i < n; i++)
            set_at(t, i, start + (double)i * step); /* no accumulated rounding */
    return t;
}

nb_tensor *nb_tensor_linspace(nb_dtype dtype, double start, double stop, int64_t n)
{
    if (n < 0 || !isfinite(start) || !isfinite(stop)) {
        nb_fail(NB_EARG, "nb_tensor_linspace: need finite ends and n >= 0 (got %g, %g, %lld)", start, stop,
                (long long)n);
        return NULL;
    }
    nb_tensor *t = tensor_alloc(dtype, 1, &n, "nb_tensor_linspace");
    if (!t)
        return NULL;
    for (int64_t i = 0; i < n; i++)
        set_at(t, i, n == 1 ? start : start + (stop - start) * (double)i / (double)(n - 1));
    if (n > 1)
        set_at(t, n - 1, stop);
    return t;
}

nb_tensor *nb_tensor_uniform(nb_dtype dtype, int ndim, const int64_t *shape, nb_rng *rng, double low, double high)
{
    nb_tensor *t = tensor_alloc(dtype, ndim, shape, "nb_tensor_uniform");
    if (t)
        nb_tensor_fill_uniform(t, rng, low, high);
    return t;
}

nb_tensor *nb_tensor_normal(nb_dtype dtype, int ndim, const int64_t *shape, nb_rng *rng, double mean, double std)
{
    nb_tensor *t = tensor_alloc(dtype, ndim, shape, "nb_tensor_normal");
    if (t)
        nb_tensor_fill_normal(t, rng, mean, std);
    return t;
}

nb_tensor *nb_tensor_clone(const nb_tensor *src)
{
    if (!src) {
        nb_fail(NB_EARG, "nb_tensor_clone: tensor is NULL");
        return NULL;
    }
    return nb_tensor_from_data(src->dtype, src->ndim, src->shape, src->data);
}

void nb_tensor_free(nb_tensor *t)
{
    if (!t)
        return;
    if (t->owns_data)
        nb_free(t->data);
    nb_free(t);
}

static nb_status check_index(const nb_tensor *t, int64_t index, const char *fn)
{
    if (!t)
        return nb_fail(NB_EARG, "%s: the tensor is NULL", fn);
    if (index < 0 || index >= t->size)
        return nb_fail(NB_EARG, "%s: index %lld is outside the tensor's %lld elements (0 .. %lld)", fn,
                       (long long)index, (long long)t->size, (long long)t->size - 1);
    return NB_OK;
}

double nb_tensor_get(const nb_tensor *t, int64_t index)
{
    return check_index(t, index, "nb_tensor_get") == NB_OK ? get_at(t, index) : NAN;
}

nb_status nb_tensor_set(nb_tensor *t, int64_t index, double value)
{
    nb_status status = check_index(t, index, "nb_tensor_set");
    if (status == NB_OK)
        set_at(t, index, value);
    return status;
}

void nb_tensor_to_doubles(const nb_tensor *t, double *out)
{
    for (int64_t i = 0; i < t->size; i++)
        out[i] = get_at(t, i);
}

void nb_tensor_from_doubles(nb_tensor *t, const double *values)
{
    for (int64_t i = 0; i < t->size; i++)
        set_at(t, i, values[i]);
}

void nb_tensor_fill(nb_tensor *t, double value)
{
    for (int64_t i = 0; i < t->size; i++)
        set_at(t, i, value);
}

void nb_tensor_fill_uniform(nb_tensor *t, nb_rng *rng, double low, double high)
{
    for (int64_t i = 0; i < t->size; i++)
        set_at(t, i, low + (high - low) * nb_rng_uniform(rng));
}

void nb_tensor_fill_normal(nb_tensor *t, nb_rng *rng, double mean, double std)
{
    for (int64_t i = 0; i < t->size; i++)
        set_at(t, i, mean + std * nb_rng_normal(rng));
}

float *nb_tensor_f32(const nb_tensor *t) { return t && t->dtype == NB_F32 ? (float *)t->data : NULL; }
double *nb_tensor_f64(const nb_tensor *t) { return t && t->dtype == NB_F64 ? (double *)t->data : NULL; }
