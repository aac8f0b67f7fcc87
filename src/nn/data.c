/* Datasets in memory, mini-batch loaders, splits and standardisation. Rows are
 * contiguous, so a batch is one memcpy per row. */
#include "core/core.h"
#include "nabla/nn.h"

#include <math.h>
#include <string.h>

/* ---- datasets --------------------------------------------------------------------- */

/* A zeroed tensor for a dataset (a large one on huge pages, as nb_alloc places every
 * large array: docs/design.md). */
static nb_tensor *dataset_tensor(nb_dtype dtype, int ndim, const int64_t *shape)
{
    int64_t size = nb_shape_size(ndim, shape);
    size_t elem = nb_dtype_size(dtype);
    if (size < 0 || (uint64_t)size > SIZE_MAX / elem) {
        char buf[96];
        nb_fail(NB_ESHAPE, "a dataset of shape %s does not fit in memory", nb_shape_str(ndim, shape, buf, sizeof buf));
        return NULL;
    }
    size_t bytes = (size_t)size * elem;
    void *data = nb_alloc_or_fail(bytes, "a dataset");
    if (!data)
        return NULL;
    memset(data, 0, bytes);
    nb_tensor *t = nb_tensor_wrap(dtype, ndim, shape, data);
    if (!t) {
        nb_free(data);
        return NULL;
    }
    t->owns_data = true;
    return t;
}

static nb_dataset *dataset_alloc(nb_dtype dtype, int64_t n, int64_t n_features, int64_t n_outputs, int n_classes,
                                 const char *what)
{
    if (n <= 0 || n_features <= 0 || (n_classes <= 0 && n_outputs <= 0) || n_classes < 0) {
        nb_fail(NB_EARG, "%s: need n > 0, n_features > 0 and outputs or classes > 0 (got n %lld, features %lld, "
                "outputs %lld, classes %d)", what, (long long)n, (long long)n_features, (long long)n_outputs,
                n_classes);
        return NULL;
    }
    nb_dataset *data = nb_calloc(1, sizeof *data);
    if (!data) {
        nb_fail(NB_ENOMEM, "%s: out of memory", what);
        return NULL;
    }
    data->n = n;
    data->n_classes = n_classes;
    data->inputs = dataset_tensor(dtype, 2, (int64_t[]){n, n_features});
    data->targets = n_classes > 0 ? dataset_tensor(dtype, 1, (int64_t[]){n})
                                  : dataset_tensor(dtype, 2, (int64_t[]){n, n_outputs});
    if (!data->inputs || !data->targets) {
        nb_error_prefix("%s", what);
        nb_dataset_free(data);
        return NULL;
    }
    return data;
}

nb_dataset *nb_dataset_new(nb_dtype dtype, int64_t n, int64_t n_features, int64_t n_outputs)
{
    return dataset_alloc(dtype, n, n_features, n_outputs, 0, "nb_dataset_new");
}

nb_dataset *nb_dataset_new_labels(nb_dtype dtype, int64_t n, int64_t n_features, int n_classes)
{
    if (n_classes <= 0) {
        nb_fail(NB_EARG, "nb_dataset_new_labels: need at least one class, got %d", n_classes);
        return NULL;
    }
    return dataset_alloc(dtype, n, n_features, 1, n_classes, "nb_dataset_new_labels");
}

nb_dataset *nb_dataset_from_doubles(nb_dtype dtype, int64_t n, int64_t n_features, const double *inputs,
                                    int64_t n_outputs, const double *targets)
{
    if (!inputs || !targets) {
        nb_fail(NB_EARG, "nb_dataset_from_doubles: %s is NULL", inputs ? "targets" : "inputs");
        return NULL;
    }
    nb_dataset *data = dataset_alloc(dtype, n, n_features, n_outputs, 0, "nb_dataset_from_doubles");
    if (data) {
        nb_tensor_from_doubles(data->inputs, inputs);
        nb_tensor_from_doubles(data->targets, targets);
    }
    return data;
}

void nb_dataset_free(nb_dataset *data)
{
    if (!data)
        return;
    if (data->inputs)
        nb_names_free(data->feature_names, data->inputs->shape[1]);
    if (data->targets)
        nb_names_free(data->target_names, nb_dataset_n_outputs(data));
    nb_names_free(data->class_names, data->n_classes);
    nb_tensor_free(data->inputs);
    nb_tensor_free(data->targets);
    nb_free(data);
}

nb_dtype nb_dataset_dtype(const nb_dataset *data) { return data->inputs->dtype; }
int64_t nb_dataset_n_features(const nb_dataset *data) { return data->inputs->shape[1]; }
int64_t nb_dataset_n_outputs(const nb_dataset *data)
{
    return data->targets->ndim == 1 ? 1 : data->targets->shape[1];
}

int64_t nb_dataset_label(const nb_dataset *data, int64_t row)
{
    return (int64_t)nb_tensor_get(data->targets, row);
}

nb_status nb_dataset_check_labels(const nb_dataset *data)
{
    if (data->n_classes <= 0)
        return nb_fail(NB_EARG, "the dataset has no class labels");
    for (int64_t i = 0; i < data->n; i++) {
        double label = nb_tensor_get(data->targets, i);
        if (!(label >= 0 && label < data->n_classes && label == floor(label)))
            return nb_fail(NB_EFORMAT, "the label of sample %lld (of %lld) is %g, not a class 0..%d", (long long)i,
                           (long long)data->n, label, data->n_classes - 1);
    }
    return NB_OK;
}

/* A dataset shaped like `like` with n rows, names and class names copied. */
static nb_dataset *dataset_like(const nb_dataset *like, int64_t n, const char *what)
{
    nb_dataset *data = dataset_alloc(nb_dataset_dtype(like), n, nb_dataset_n_features(like),
                                     nb_dataset_n_outputs(like), like->n_classes, what);
    if (!data)
        return NULL;
    data->image_shape[0] = like->image_shape[0];
    data->image_shape[1] = like->image_shape[1];
    if (!nb_names_copy(like->class_names, like->n_classes, &data->class_names) ||
        !nb_names_copy(like->feature_names, nb_dataset_n_features(like), &data->feature_names) ||
        !nb_names_copy(like->target_names, nb_dataset_n_outputs(like), &data->target_names)) {
        nb_dataset_free(data);
        nb_fail(NB_ENOMEM, "%s: out of memory copying names", what);
        return NULL;
    }
    return data;
}

static size_t input_row_bytes(const nb_dataset *data)
{
    return (size_t)nb_dataset_n_features(data) * nb_dtype_size(nb_dataset_dtype(data));
}

static size_t target_row_bytes(const nb_dataset *data)
{
    return (size_t)nb_dataset_n_outputs(data) * nb_dtype_size(nb_dataset_dtype(data));
}

/* Rows ahead of the one being copied whose memory is requested early. */
#define GATHER_PREFETCH_ROWS 4

/* Rows rows[0..n) of data into the buffers inputs and targets, one memcpy per row. A
 * shuffled batch reads rows scattered over the whole dataset (188 MB for Fashion-MNIST
 * in float32), each from main memory: the rows a few places ahead are requested while
 * this one is copied, so that their latencies overlap (docs/design.md). */
static void gather_rows(const nb_dataset *data, const int64_t *rows, int64_t n, void *inputs, void *targets)
{
    size_t in_bytes = input_row_bytes(data), out_bytes = target_row_bytes(data);
    const char *in_src = data->inputs->data, *out_src = data->targets->data;
    char *in_dst = inputs, *out_dst = targets;
    for (int64_t i = 0; i < n && i < GATHER_PREFETCH_ROWS; i++)
        for (size_t at = 0; at < in_bytes; at += 64)
            __builtin_prefetch(in_src + (size_t)rows[i] * in_bytes + at);
    for (int64_t i = 0; i < n; i++) {
        if (i + GATHER_PREFETCH_ROWS < n)
            for (size_t at = 0; at < in_bytes; at += 64)
                __builtin_prefetch(in_src + (size_t)rows[i + GATHER_PREFETCH_ROWS] * in_bytes + at);
        memcpy(in_dst + (size_t)i * in_bytes, in_src + (size_t)rows[i] * in_bytes, in_bytes);
        memcpy(out_dst + (size_t)i * out_bytes, out_src + (size_t)rows[i] * out_bytes, out_bytes);
    }
}

/* A batch's gather, split over nabla's threads by rows: each waits on main memory for
 * its own rows, so the waits overlap. The copies are the same whoever makes them. */
typedef struct gather_job {
    const nb_dataset *data;
    const int64_t *rows;
    char *inputs, *targets;
} gather_job;

static void gather_range(void *ctx, int64_t from, int64_t to)
{
    const gather_job *job = ctx;
    gather_rows(job->data, job->rows + from, to - from, job->inputs + (size_t)from * input_row_bytes(job->data),
                job->targets + (size_t)from * target_row_bytes(job->data));
}

static void gather_batch(const nb_dataset *data, const int64_t *rows, int64_t n, void *inputs, void *targets)
{
    gather_job job = {data, rows, inputs, targets};
    /* the work in elements as nb_parallel_ranges counts it, weighted for memory latency */
    nb_parallel_ranges(n, 4 * n * nb_dataset_n_features(data), gather_range, &job);
}

nb_dataset *nb_dataset_subset(const nb_dataset *data, const int64_t *rows, int64_t n)
{
    if (!data || !rows) {
        nb_fail(NB_EARG, "nb_dataset_subset: %s is NULL", data ? "rows" : "the dataset");
        return NULL;
    }
    for (int64_t i = 0; i < n; i++)
        if (rows[i] < 0 || rows[i] >= data->n) {
            nb_fail(NB_EARG, "nb_dataset_subset: row %lld is outside the dataset's %lld rows", (long long)rows[i],
                    (long long)data->n);
            return NULL;
        }
    nb_dataset *subset = dataset_like(data, n, "nb_dataset_subset");
    if (subset)
        gather_rows(data, rows, n, subset->inputs->data, subset->targets->data);
    return subset;
}

nb_dataset *nb_dataset_slice(const nb_dataset *data, int64_t start, int64_t count)
{
    if (!data) {
        nb_fail(NB_EARG, "nb_dataset_slice: the dataset is NULL");
        return NULL;
    }
    if (start < 0 || count <= 0 || start > data->n - count) {
        nb_fail(NB_EARG, "nb_dataset_slice: rows %lld..%lld are not inside the dataset's %lld rows",
                (long long)start, (long long)(start + count - 1), (long long)data->n);
        return NULL;
    }
    nb_dataset *slice = dataset_like(data, count, "nb_dataset_slice");
    if (slice) {
        memcpy(slice->inputs->data, (char *)data->inputs->data + (size_t)start * input_row_bytes(data),
               (size_t)count * input_row_bytes(data));
        memcpy(slice->targets->data, (char *)data->targets->data + (size_t)start * target_row_bytes(data),
               (size_t)count * target_row_bytes(data));
    }
    return slice;
}

nb_status nb_dataset_split(const nb_dataset *data, double val_fraction, uint64_t seed, nb_dataset **train,
                           nb_dataset **val)
{
    if (!data || !train || !val)
        return nb_fail(NB_EARG, "nb_dataset_split: NULL argument");
    *train = *val = NULL;
    if (!(val_fraction > 0 && val_fraction < 1))
        return nb_fail(NB_EARG, "nb_dataset_split: the validation fraction must be in (0, 1), got %g", val_fraction);
    int64_t n_val = (int64_t)llround((double)data->n * val_fraction);
    if (n_val < 1 || n_val >= data->n)
        return nb_fail(NB_EARG, "nb_dataset_split: a fraction %g of %lld samples leaves %lld for validation and "
                       "%lld for training; both need at least one", val_fraction, (long long)data->n,
                       (long long)n_val, (long long)(data->n - n_val));
    int64_t *order = nb_alloc_or_fail((size_t)data->n * sizeof *order, "the split");
    if (!order)
        return NB_ENOMEM;
    for (int64_t i = 0; i < data->n; i++)
        order[i] = i;
    nb_rng rng;
    nb_rng_seed(&rng, seed);
    nb_rng_shuffle(&rng, order, data->n);
    /* order[0..n_val) are the validation rows; list both parts in the original order. */
    bool *in_val = nb_calloc((size_t)data->n, sizeof *in_val);
    if (!in_val) {
        nb_free(order);
        return nb_fail(NB_ENOMEM, "nb_dataset_split: out of memory");
    }
    for (int64_t i = 0; i < n_val; i++)
        in_val[order[i]] = true;
    int64_t n_train = 0, k_val = 0;
    int64_t *val_rows = order, *train_rows = order + n_val;
    for (int64_t i = 0; i < data->n; i++) {
        if (in_val[i])
            val_rows[k_val++] = i;
        else
            train_rows[n_train++] = i;
    }
    nb_free(in_val);
    *train = nb_dataset_subset(data, train_rows, n_train);
    *val = *train ? nb_dataset_subset(data, val_rows, n_val) : NULL;
    nb_free(order);
    if (!*val) {
        nb_dataset_free(*train);
        *train = NULL;
        return nb_errcode();
    }
    return NB_OK;
}

/* ---- loader -------------------------------------------------------------------------- */

struct nb_loader {
    nb_dataset *data;
    int64_t batch_size;
    int64_t n_batches;
    unsigned flags;
    uint64_t seed;
    bool zero_copy;
    int64_t *order;  /* the epoch's row order */
    int64_t next;    /* the next batch of the epoch */
    void *inputs;    /* batch buffers (NULL when zero-copy or feeding) */
    void *targets;
    nb_node *input;  /* nb_loader_feed: the graph inputs the batches are written into */
    nb_node *target;
    int rank, size;  /* nb_loader_shard: the share of every batch this loader gives */
};

nb_loader *nb_loader_new(nb_dataset *data, int64_t batch_size, unsigned flags, uint64_t seed)
{
    if (!data) {
        nb_fail(NB_EARG, "nb_loader_new: the dataset is NULL");
        return NULL;
    }
    if (batch_size <= 0) {
        nb_fail(NB_EARG, "nb_loader_new: batch size must be positive, got %lld", (long long)batch_size);
        return NULL;
    }
    if (flags & ~(unsigned)(NB_LOADER_SHUFFLE | NB_LOADER_DROP_LAST | NB_LOADER_COPY)) {
        nb_fail(NB_EARG, "nb_loader_new: unknown flags 0x%x", flags);
        return NULL;
    }
    int64_t n_batches = (flags & NB_LOADER_DROP_LAST) ? data->n / batch_size : (data->n + batch_size - 1) / batch_size;
    if (n_batches == 0) {
        nb_fail(NB_EARG, "nb_loader_new: dropping the short last batch of %lld samples with batch size %lld "
                "leaves no batch", (long long)data->n, (long long)batch_size);
        return NULL;
    }
    nb_loader *loader = nb_calloc(1, sizeof *loader);
    if (!loader) {
        nb_fail(NB_ENOMEM, "nb_loader_new: out of memory");
        return NULL;
    }
    *loader = (nb_loader){.data = data, .batch_size = batch_size, .n_batches = n_batches, .flags = flags,
                          .seed = seed, .zero_copy = !(flags & (NB_LOADER_SHUFFLE | NB_LOADER_COPY)), .size = 1};
    int64_t rows = batch_size < data->n ? batch_size : data->n;
    loader->order = nb_alloc((size_t)data->n * sizeof *loader->order);
    if (!loader->zero_copy) {
        loader->inputs = nb_alloc((size_t)rows * input_row_bytes(data));
        loader->targets = nb_alloc((size_t)rows * target_row_bytes(data));
    }
    if (!loader->order || (!loader->zero_copy && (!loader->inputs || !loader->targets))) {
        nb_loader_free(loader);
        nb_fail(NB_ENOMEM, "nb_loader_new: out of memory for batches of %lld rows", (long long)rows);
        return NULL;
    }
    nb_loader_start_epoch(loader, 0);
    return loader;
}

void nb_loader_free(nb_loader *loader)
{
    if (!loader)
        return;
    nb_free(loader->order);
    nb_free(loader->inputs);
    nb_free(loader->targets);
    nb_free(loader);
}

int64_t nb_loader_n_batches(const nb_loader *loader) { return loader->n_batches; }

nb_status nb_loader_shard(nb_loader *loader, int rank, int size)
{
    if (!loader)
        return nb_fail(NB_EARG, "nb_loader_shard: the loader is NULL");
    if (size < 1 || rank < 0 || rank >= size)
        return nb_fail(NB_EARG, "nb_loader_shard: rank %d of %d ranks is not one (0 <= rank < size)", rank, size);
    if (loader->input)
        return nb_fail(NB_EARG, "nb_loader_shard: the loader already feeds a graph: share it out before nb_loader_feed");
    loader->rank = rank;
    loader->size = size;
    return NB_OK;
}

/* Rows [*lo, *hi) of a batch of `rows` rows are this loader's share. */
static void share_of(const nb_loader *loader, int64_t rows, int64_t *lo, int64_t *hi)
{
    *lo = rows * loader->rank / loader->size;
    *hi = rows * (loader->rank + 1) / loader->size;
}

/* A graph input that takes rows of `row_bytes` bytes of the dataset's dtype. */
static nb_status check_feed(const nb_loader *loader, nb_node *node, size_t row_bytes, const char *which)
{
    if (!node)
        return nb_fail_null("nb_loader_feed", which);
    const nb_tensor *value = nb_value(node);
    size_t elem = nb_dtype_size(nb_dataset_dtype(loader->data));
    if (value->dtype != nb_dataset_dtype(loader->data))
        return nb_fail(NB_EDTYPE, "nb_loader_feed: the data are %s, the graph %s",
                       nb_dtype_name(nb_dataset_dtype(loader->data)), nb_dtype_name(value->dtype));
    int64_t row = 1;
    for (int d = 1; d < value->ndim; d++)
        row *= value->shape[d];
    if (value->ndim < 1 || (size_t)row * elem != row_bytes) {
        char buf[96];
        return nb_fail(NB_ESHAPE, "nb_loader_feed: %s '%s' of shape %s does not take rows of %zu values", which,
                       nb_node_name(node), nb_shape_str(value->ndim, value->shape, buf, sizeof buf),
                       row_bytes / elem);
    }
    return NB_OK;
}

nb_status nb_loader_feed(nb_loader *loader, nb_node *input, nb_node *target)
{
    if (!loader)
        return nb_fail(NB_EARG, "nb_loader_feed: the loader is NULL");
    nb_status status = check_feed(loader, input, input_row_bytes(loader->data), "the input");
    if (status == NB_OK)
        status = check_feed(loader, target, target_row_bytes(loader->data), "the target");
    int64_t rows = loader->batch_size < loader->data->n ? loader->batch_size : loader->data->n, lo, hi;
    share_of(loader, rows, &lo, &hi);
    rows = hi - lo > 0 ? hi - lo : 1; /* the largest share is the first full batch's */
    if (status == NB_OK)
        status = nb_input_resize(input, rows);
    if (status == NB_OK)
        status = nb_input_resize(target, rows);
    if (status != NB_OK)
        return status;
    loader->input = input;
    loader->target = target;
    nb_free(loader->inputs);
    nb_free(loader->targets);
    loader->inputs = loader->targets = NULL;
    return NB_OK;
}

/* splitmix64's finaliser: decorrelates (seed, epoch) pairs before seeding. */
static uint64_t mix64(uint64_t z)
{
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
}

void nb_loader_start_epoch(nb_loader *loader, int64_t epoch)
{
    loader->next = 0;
    for (int64_t i = 0; i < loader->data->n; i++)
        loader->order[i] = i;
    if (loader->flags & NB_LOADER_SHUFFLE) {
        nb_rng rng;
        nb_rng_seed(&rng, mix64(loader->seed ^ mix64((uint64_t)epoch + 0x9e3779b97f4a7c15ULL)));
        nb_rng_shuffle(&rng, loader->order, loader->data->n);
    }
}

/* The rows of a batch straight into the fed graph inputs. Never allocates and cannot
 * fail: nb_loader_feed grew their storage to a whole batch. */
static void feed_batch(nb_loader *loader, nb_batch *batch)
{
    nb_input_resize(loader->input, batch->size);
    nb_input_resize(loader->target, batch->size);
    batch->inputs = nb_value(loader->input)->data;
    batch->targets = nb_value(loader->target)->data;
    gather_batch(loader->data, batch->rows, batch->size, batch->inputs, batch->targets);
}

bool nb_loader_next(nb_loader *loader, nb_batch *batch)
{
    if (loader->next >= loader->n_batches)
        return false;
    const nb_dataset *data = loader->data;
    int64_t start = loader->next * loader->batch_size;
    int64_t size = data->n - start < loader->batch_size ? data->n - start : loader->batch_size, lo, hi;
    share_of(loader, size, &lo, &hi);
    start += lo, size = hi - lo;
    batch->size = size;
    batch->index = loader->next++;
    batch->dtype = nb_dataset_dtype(data);
    batch->rows = loader->order + start;
    if (loader->input) {
        batch->inputs = batch->targets = NULL; /* an empty share leaves the graph's inputs as they were */
        if (size > 0)
            feed_batch(loader, batch);
    } else if (loader->zero_copy) {
        batch->inputs = (char *)data->inputs->data + (size_t)start * input_row_bytes(data);
        batch->targets = (char *)data->targets->data + (size_t)start * target_row_bytes(data);
    } else {
        gather_batch(data, batch->rows, size, loader->inputs, loader->targets);
        batch->inputs = loader->inputs;
        batch->targets = loader->targets;
    }
    return true;
}

/* ---- standardisation ----------------------------------------------------------------- */

/* x as n rows of d columns: [n, d], or [n] as one column. */
static bool matrix_view(const nb_tensor *x, int64_t *n, int64_t *d)
{
    if (!x || (x->ndim != 1 && x->ndim != 2))
        return false;
    *n = x->shape[0];
    *d = x->ndim == 2 ? x->shape[1] : 1;
    return true;
}

nb_status nb_scaler_fit(nb_scaler *scaler, const nb_tensor *x)
{
    int64_t n, d;
    if (!scaler || !matrix_view(x, &n, &d) || n < 1)
        return nb_fail(NB_EARG, "nb_scaler_fit: need a scaler and a non-empty tensor [n, d] or [n]");
    double *mean = nb_calloc((size_t)d, sizeof *mean), *std = nb_calloc((size_t)d, sizeof *std);
    if (!mean || !std) {
        nb_free(mean);
        nb_free(std);
        return nb_fail(NB_ENOMEM, "nb_scaler_fit: out of memory for %lld features", (long long)d);
    }
    /* In double, row by row: the largest magnitude, the mean, then the mean squared
     * deviation. A column of huge values (1e200 squared overflows) is divided by its
     * largest magnitude first; any other is left as it is, to the last bit. */
    double *scale = nb_calloc((size_t)d, sizeof *scale);
    if (!scale) {
        nb_free(mean);
        nb_free(std);
        return nb_fail(NB_ENOMEM, "nb_scaler_fit: out of memory for %lld features", (long long)d);
    }
#define SCALER_MOMENTS(T)                                                                  \
    do {                                                                                   \
        const T *v = x->data;                                                              \
        for (int64_t i = 0; i < n; i++)                                                    \
            for (int64_t j = 0; j < d; j++)                                                \
                scale[j] = fmax(scale[j], fabs((double)v[i * d + j]));                     \
        for (int64_t j = 0; j < d; j++)                                                    \
            scale[j] = scale[j] > 1e100 && isfinite(scale[j]) ? scale[j] : 1;              \
        for (int64_t i = 0; i < n; i++)                                                    \
            for (int64_t j = 0; j < d; j++)                                                \
                mean[j] += v[i * d + j] / scale[j];                                        \
        for (int64_t j = 0; j < d; j++)                                                    \
            mean[j] /= (double)n;                                                          \
        for (int64_t i = 0; i < n; i++)                                                    \
            for (int64_t j = 0; j < d; j++) {                                              \
                double deviation = v[i * d + j] / scale[j] - mean[j];                      \
                std[j] += deviation * deviation;                                           \
            }                                                                              \
    } while (0)
    if (x->dtype == NB_F32)
        SCALER_MOMENTS(float);
    else
        SCALER_MOMENTS(double);
#undef SCALER_MOMENTS
    for (int64_t j = 0; j < d; j++) {
        mean[j] *= scale[j];
        std[j] = scale[j] * sqrt(std[j] / (double)n);
    }
    nb_free(scale);
    for (int64_t j = 0; j < d; j++) {
        if (!isfinite(mean[j]) || !isfinite(std[j])) {
            nb_free(mean);
            nb_free(std);
            return nb_fail(NB_ENUMERIC, "nb_scaler_fit: feature %lld has non-finite values", (long long)j);
        }
        /* A constant feature (up to rounding of its mean) is only centred. */
        if (std[j] == 0 || std[j] <= 1e-12 * fabs(mean[j]))
            std[j] = 1;
    }
    scaler->n_features = d;
    scaler->mean = mean;
    scaler->std = std;
    return NB_OK;
}

nb_status nb_scaler_set(nb_scaler *scaler, int64_t n_features, const double *mean, const double *std)
{
    if (!scaler || !mean || !std || n_features < 1)
        return nb_fail(NB_EARG, "nb_scaler_set: need a scaler, n_features >= 1, mean and std");
    for (int64_t j = 0; j < n_features; j++)
        if (!(std[j] > 0) || !isfinite(std[j]) || !isfinite(mean[j]))
            return nb_fail(NB_EARG, "nb_scaler_set: feature %lld has mean %g and std %g; the std must be finite "
                           "and positive", (long long)j, mean[j], std[j]);
    double *m = nb_alloc((size_t)n_features * sizeof *m), *s = nb_alloc((size_t)n_features * sizeof *s);
    if (!m || !s) {
        nb_free(m);
        nb_free(s);
        return nb_fail(NB_ENOMEM, "nb_scaler_set: out of memory");
    }
    memcpy(m, mean, (size_t)n_features * sizeof *m);
    memcpy(s, std, (size_t)n_features * sizeof *s);
    scaler->n_features = n_features;
    scaler->mean = m;
    scaler->std = s;
    return NB_OK;
}

/* x[i, j] = (x[i, j] - mean[j]) / std[j], or its inverse. */
static nb_status scaler_map(const nb_scaler *scaler, nb_tensor *x, bool invert, const char *what)
{
    int64_t n, d;
    if (!scaler || !scaler->mean || !matrix_view(x, &n, &d))
        return nb_fail(NB_EARG, "%s: need a fitted scaler and a tensor [n, d] or [n]", what);
    if (d != scaler->n_features) {
        char buf[64];
        return nb_fail(NB_ESHAPE, "%s: the scaler has %lld features, the tensor is %s", what,
                       (long long)scaler->n_features, nb_shape_str(x->ndim, x->shape, buf, sizeof buf));
    }
    /* x [n, d], mean and std [d] */
#define SCALER_MAP(T)                                                                      \
    do {                                                                                   \
        T *v = x->data;                                                                    \
        for (int64_t i = 0; i < n; i++)                                                    \
            for (int64_t j = 0; j < d; j++)                                                \
                v[i * d + j] = (T)(invert ? v[i * d + j] * scaler->std[j] + scaler->mean[j] \
                                          : (v[i * d + j] - scaler->mean[j]) / scaler->std[j]); \
    } while (0)
    if (x->dtype == NB_F32)
        SCALER_MAP(float);
    else
        SCALER_MAP(double);
#undef SCALER_MAP
    return NB_OK;
}

nb_status nb_scaler_apply(const nb_scaler *scaler, nb_tensor *x)
{
    return scaler_map(scaler, x, false, "nb_scaler_apply");
}

nb_status nb_scaler_invert(const nb_scaler *scaler, nb_tensor *x)
{
    return scaler_map(scaler, x, true, "nb_scaler_invert");
}

void nb_scaler_clear(nb_scaler *scaler)
{
    if (!scaler)
        return;
    nb_free(scaler->mean);
    nb_free(scaler->std);
    *scaler = (nb_scaler){0};
}
