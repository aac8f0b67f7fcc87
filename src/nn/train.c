/* The training loop: epochs of mini-batches, schedule, clipping, early stopping,
 * divergence detection, progress. */
#include "train_internal.h"

#include <math.h>
#include <string.h>
#include <time.h>

#include "nabla/nn.h"

nb_train_config nb_train_defaults(void)
{
    return (nb_train_config){.epochs = 10, .batch_size = 32, .shuffle = true, .max_loss_growth = 1000};
}

static double now_seconds(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + 1e-9 * (double)t.tv_nsec;
}

/* The model's input takes the dataset's rows, and its target the dataset's targets. */
static nb_status check_fit(const nb_model *model, const nb_dataset *data, const char *what)
{
    if (!model || !model->graph || !model->input || !model->target || !model->loss)
        return nb_fail(NB_EARG, "%s: the model needs a graph, an input, a target and a loss", what);
    if (!data)
        return nb_fail(NB_EARG, "%s: no data", what);
    if (nb_dataset_dtype(data) != nb_graph_dtype(model->graph))
        return nb_fail(NB_EDTYPE, "%s: the data are %s, the model %s", what, nb_dtype_name(nb_dataset_dtype(data)),
                       nb_dtype_name(nb_graph_dtype(model->graph)));
    const nb_tensor *input = nb_value(model->input), *target = nb_value(model->target);
    int64_t features = nb_dataset_n_features(data), outputs = nb_dataset_n_outputs(data);
    if (input->ndim != 2 || input->shape[1] != features) {
        char buf[96];
        return nb_fail(NB_ESHAPE, "%s: the model's input %s does not take rows of %lld features", what,
                       nb_shape_str(input->ndim, input->shape, buf, sizeof buf), (long long)features);
    }
    bool labels = data->n_classes > 0;
    if (labels ? target->ndim != 1 : (target->ndim != 2 || target->shape[1] != outputs)) {
        char buf[96];
        return nb_fail(NB_ESHAPE, "%s: the model's target %s does not take %s", what,
                       nb_shape_str(target->ndim, target->shape, buf, sizeof buf),
                       labels ? "class labels [N]" : "the data's target columns");
    }
    if (data->n == 0)
        return nb_fail(NB_EARG, "%s: the data set is empty", what);
    return NB_OK;
}

/* The loss, and with `output_too` the output: computed by the loss's pass when the loss
 * reads it, else by a pass of its own. */
static nb_status forward_model(const nb_model *model, bool output_too)
{
    return nb_forward_with(model->loss, output_too ? model->output : NULL);
}

/* The batch's rows predicted right, added to *correct. */
static nb_status add_correct(const nb_model *model, int64_t rows, double *correct)
{
    double share;
    nb_status status = nb_accuracy(nb_value(model->output), nb_value(model->target), &share);
    *correct += share * (double)rows;
    return status;
}

nb_status nb_evaluate(const nb_model *model, nb_dataset *data, int64_t batch_size, double *loss, double *accuracy)
{
    nb_status status = check_fit(model, data, "nb_evaluate");
    if (status != NB_OK)
        return status;
    if (accuracy && (!model->output || data->n_classes <= 0))
        return nb_fail(NB_EARG, "nb_evaluate: accuracy needs class labels and the model's output");
    nb_loader *loader = nb_loader_new(data, batch_size > 0 ? batch_size : 256, 0, 0);
    if (!loader)
        return nb_errcode();
    status = nb_loader_feed(loader, model->input, model->target);
    nb_batch batch;
    double total = 0, correct = 0;
    while (status == NB_OK && nb_loader_next(loader, &batch)) {
        status = forward_model(model, accuracy != NULL);
        if (status != NB_OK)
            break;
        total += nb_item(model->loss) * (double)batch.size;
        if (accuracy && (status = add_correct(model, batch.size, &correct)) != NB_OK)
            break;
    }
    nb_loader_free(loader);
    if (status != NB_OK)
        return status;
    *loss = total / (double)data->n;
    if (accuracy)
        *accuracy = correct / (double)data->n;
    return NB_OK;
}

typedef struct train_state {
    const nb_model *model;
    nb_optimizer *optimizer;
    const nb_train_config *config;
    nb_train_result *result;
    nb_loader *loader;
    nb_progress *progress;
    void *last_good; /* the parameters at the start of the epoch */
    void *best;      /* the parameters of the best validation epoch */
    double start_loss; /* the first batch's loss, before any step: where training began */
    size_t param_bytes;
    /* data parallelism (config->comm): */
    const nb_comm *comm;    /* NULL: this process alone */
    const nb_batch *batch;  /* the batch being trained (this rank's share of it) */
    int64_t rows;           /* the training rows (every rank's batches share them out) */
    nb_dataset *val_share;  /* this rank's share of the validation data (NULL when empty) */
} train_state;

/* Divergence: the parameters of the epoch's start come back, and the result says where. */
static void restore_last_good(train_state *s, int epoch, int64_t batch)
{
    memcpy(nb_params_data(s->model->graph), s->last_good, s->param_bytes);
    s->result->diverged = true;
    s->result->diverged_epoch = epoch;
    s->result->diverged_batch = batch;
    s->result->stop_reason = "diverged";
}

/* The parameter holding the first value that is not finite, or NULL when all are: one
 * pass over the flat buffer, made once per epoch (a step can overflow a parameter while
 * the loss before it was finite). */
static const nb_node *nonfinite_param(nb_graph *graph, double *value)
{
    int64_t n = nb_n_params(graph), at = n;
    if (nb_graph_dtype(graph) == NB_F64) {
        const double *p = nb_params_data(graph);
        for (int64_t i = 0; i < n && at == n; i++)
            if (!isfinite(p[i]))
                at = i, *value = p[i];
    } else {
        const float *p = nb_params_data(graph);
        for (int64_t i = 0; i < n && at == n; i++)
            if (!isfinite(p[i]))
                at = i, *value = p[i];
    }
    for (int i = 0; at < n && i < nb_param_count(graph); i++) {
        nb_node *param = nb_param_at(graph, i);
        int64_t offset = nb_param_offset(param);
        if (at >= offset && at < offset + nb_value(param)->size)
            return param;
    }
    return NULL;
}

/* The rows of batch `index` over all ranks. */
static int64_t batch_rows(const train_state *s, int64_t index)
{
    int64_t left = s->rows - index * s->config->batch_size;
    return left < s->config->batch_size ? left : s->config->batch_size;
}

/* The batch's loss and gradient (into gradients that are zero), and with `accuracy` the
 * rows it predicts right, added to *correct: this process's batch, or with a
 * communicator the whole batch's, every rank's share summed. Alone, a loss that is not
 * finite gets no gradient (training stops there); shared, it gets one all the same, as
 * a rank cannot know before the sums, and every rank then holds the same. */
static nb_status batch_gradient(train_state *s, const nb_batch *batch, bool accuracy, double *loss, double *correct)
{
    const nb_model *model = s->model;
    nb_status status = NB_OK;
    double sums[2] = {0, 0}; /* the share's loss times its rows, and its rows right */
    *loss = 0;
    if (batch->size > 0) {
        status = forward_model(model, accuracy);
        if (status == NB_OK)
            *loss = nb_item(model->loss), sums[0] = *loss * (double)batch->size;
        if (status == NB_OK && accuracy)
            status = add_correct(model, batch->size, &sums[1]);
        if (status == NB_OK && (isfinite(*loss) || s->comm)) {
            nb_zero_input_grads(model->graph); /* inputs that want a gradient (rare) are not the optimizer's */
            status = nb_backward(model->loss);
        }
    }
    if (s->comm) {
        int64_t rows = batch_rows(s, batch->index);
        status = nb_comm_sum(s->comm, status, sums, 2);
        if (status == NB_OK)
            status = nb_comm_share_gradient(s->comm, model->graph, batch->size, rows);
        *loss = sums[0] / (double)rows;
    }
    *correct += sums[1];
    return status;
}

/* L-BFGS's closure: the loss of the bound batch and its gradient, from zero. */
static nb_status evaluate_batch(void *ctx, double *loss)
{
    train_state *s = ctx;
    nb_zero_grad(s->model->graph);
    if (s->comm) {
        double correct = 0;
        s->result->evaluations++;
        return batch_gradient(s, s->batch, false, loss, &correct);
    }
    nb_status status = nb_forward(s->model->loss);
    if (status == NB_OK)
        status = nb_backward(s->model->loss);
    *loss = nb_item(s->model->loss);
    s->result->evaluations++;
    return status;
}

/* The update from the batch whose gradient backward just left, which leaves the
 * gradients zero. L-BFGS evaluates the batch itself, as often as its line search needs
 * (its first evaluation repeats the one just made): its iterations on the batch are one
 * step of the loop. */
static nb_status take_step(train_state *s)
{
    if (nb_optim_config_of(s->optimizer)->kind != NB_LBFGS) {
        s->result->evaluations++;
        return nb_optim_step_zero_grad(s->optimizer);
    }
    double loss;
    nb_status status = nb_optim_step_closure(s->optimizer, evaluate_batch, s, &loss);
    nb_zero_grad(s->model->graph);
    return status;
}

/* One epoch of steps; fills stats->loss, train_accuracy, batches, seconds. */
static nb_status train_epoch(train_state *s, int epoch, nb_epoch_stats *stats)
{
    const nb_model *model = s->model;
    const nb_train_config *config = s->config;
    nb_graph *graph = model->graph;
    bool accuracy = config->accuracy && model->output && nb_value(model->target)->ndim == 1;
    int64_t n_batches = nb_loader_n_batches(s->loader), seen = 0, last_batch = 0;
    double total = 0, correct = 0, start = now_seconds();
    const char *restored = epoch > 1 ? "the last epoch" : "the start";
    nb_loader_start_epoch(s->loader, epoch - 1);
    nb_batch batch;
    s->batch = &batch;
    while (nb_loader_next(s->loader, &batch)) {
        /* The parameters' gradients are zero here: zeroed before the first step and
         * marked zero by every step since. */
        double loss;
        nb_status status = batch_gradient(s, &batch, accuracy, &loss, &correct);
        if (status != NB_OK) {
            nb_error_prefix("epoch %d, batch %lld", epoch, (long long)batch.index);
            return status;
        }
        if (isnan(s->start_loss))
            s->start_loss = loss;
        if (!isfinite(loss)) {
            restore_last_good(s, epoch, batch.index);
            return nb_fail(NB_ENUMERIC, "training diverged at epoch %d, batch %lld: the loss is %g; the parameters "
                                        "of %s were restored (try a smaller learning rate or --clip)",
                           epoch, (long long)batch.index, loss, restored);
        }
        last_batch = batch.index;
        if (config->clip_norm > 0)
            nb_clip_grad_norm(graph, config->clip_norm);
        status = take_step(s);
        if (status != NB_OK)
            return status;
        int64_t rows = s->comm ? batch_rows(s, batch.index) : batch.size;
        total += loss * (double)rows;
        seen += rows;
        if (config->on_batch)
            config->on_batch(epoch, batch.index, n_batches, loss, config->user);
        nb_progress_update(s->progress, (int64_t)(epoch - 1) * n_batches + batch.index + 1, loss);
    }
    double value = 0;
    const nb_node *bad = nonfinite_param(graph, &value);
    if (bad) {
        restore_last_good(s, epoch, last_batch);
        return nb_fail(NB_ENUMERIC, "training diverged at epoch %d, batch %lld: the steps made parameter '%s' %g; "
                                    "the parameters of %s were restored (try a smaller learning rate or --clip)",
                       epoch, (long long)last_batch, nb_node_name(bad), value, restored);
    }
    stats->seconds = now_seconds() - start;
    stats->batches = n_batches;
    stats->loss = seen ? total / (double)seen : NAN;
    stats->train_accuracy = accuracy && seen ? correct / (double)seen : NAN;
    return NB_OK;
}

static void note_epoch(train_state *s, const nb_epoch_stats *stats)
{
    char line[256];
    int used = snprintf(line, sizeof line, "epoch %3d  loss %.6g", stats->epoch, stats->loss);
    if (!isnan(stats->train_accuracy))
        used += snprintf(line + used, sizeof line - (size_t)used, "  train acc %.4f", stats->train_accuracy);
    const char *val = s->config->val_name ? s->config->val_name : "val";
    if (!isnan(stats->val_loss))
        used += snprintf(line + used, sizeof line - (size_t)used, "  %s loss %.6g", val, stats->val_loss);
    if (!isnan(stats->val_accuracy))
        used += snprintf(line + used, sizeof line - (size_t)used, "  %s acc %.4f", val, stats->val_accuracy);
    snprintf(line + used, sizeof line - (size_t)used, "  lr %.3g  %.2f s", stats->lr, stats->seconds);
    nb_progress_note(s->progress, "%s", line);
}

/* A loss that ends far above where it began is divergence though it stayed finite (Adam
 * with too large a rate can take it from 2 to 1e14): the parameters of the epoch's start
 * come back, as for a NaN. */
static nb_status check_growth(train_state *s, int epoch, const nb_epoch_stats *stats)
{
    double growth = s->config->max_loss_growth;
    if (!(growth > 0) || !(s->start_loss > 0) || !(stats->loss > growth * s->start_loss))
        return NB_OK;
    restore_last_good(s, epoch, stats->batches - 1);
    return nb_fail(NB_ENUMERIC, "training diverged at epoch %d: its mean loss %g is more than %g times the first "
                                "batch's %g; the parameters of %s were restored (try a smaller learning rate or "
                                "--clip)", epoch, stats->loss, growth, s->start_loss,
                   epoch > 1 ? "the last epoch" : "the start");
}

/* The loss (and accuracy) on the validation data: here, or with a communicator each
 * rank on its share, summed. */
static nb_status validate(train_state *s, nb_dataset *val, nb_epoch_stats *stats)
{
    bool accuracy = s->config->accuracy && s->model->output && val->n_classes > 0;
    int64_t batch = s->config->batch_size;
    if (!s->comm)
        return nb_evaluate(s->model, val, batch, &stats->val_loss, accuracy ? &stats->val_accuracy : NULL);
    double sums[2] = {0, 0}, loss = 0, share = 0;
    nb_status status = NB_OK;
    if (s->val_share) {
        status = nb_evaluate(s->model, s->val_share, batch, &loss, accuracy ? &share : NULL);
        sums[0] = loss * (double)s->val_share->n, sums[1] = share * (double)s->val_share->n;
    }
    status = nb_comm_sum(s->comm, status, sums, 2);
    stats->val_loss = sums[0] / (double)val->n;
    if (accuracy)
        stats->val_accuracy = sums[1] / (double)val->n;
    return status;
}

/* The callback's word after an epoch: with a communicator, a stop on any rank stops all. */
static nb_status carry_on(train_state *s, const nb_epoch_stats *stats, bool *go_on)
{
    const nb_train_config *config = s->config;
    *go_on = !config->on_epoch || config->on_epoch(stats, config->user);
    if (!s->comm)
        return NB_OK;
    double stops = !*go_on;
    nb_status status = nb_comm_sum(s->comm, NB_OK, &stops, 1);
    *go_on = stops == 0;
    return status;
}

static nb_status train_loop(train_state *s, nb_dataset *val)
{
    const nb_train_config *config = s->config;
    nb_train_result *result = s->result;
    nb_graph *graph = s->model->graph;
    double base_lr = nb_optim_lr(s->optimizer);
    int since_best = 0;
    for (int epoch = 1; epoch <= config->epochs; epoch++) {
        nb_epoch_stats stats = {.epoch = epoch, .val_loss = NAN, .val_accuracy = NAN};
        stats.lr = config->schedule ? nb_schedule_lr(config->schedule, epoch - 1) : base_lr;
        nb_optim_set_lr(s->optimizer, stats.lr);
        memcpy(s->last_good, nb_params_data(graph), s->param_bytes);
        bool mode = nb_graph_training(graph); /* dropout and batch norm train on the steps alone */
        nb_graph_set_training(graph, true);
        nb_status status = train_epoch(s, epoch, &stats);
        nb_graph_set_training(graph, mode);
        result->epochs_run = epoch - (status != NB_OK);
        if (status != NB_OK)
            return status;
        result->final_loss = stats.loss;
        if ((status = check_growth(s, epoch, &stats)) != NB_OK)
            return status;
        if (val) {
            status = validate(s, val, &stats);
            if (status != NB_OK) {
                nb_error_prefix("validation after epoch %d", epoch);
                return status;
            }
            /* a NaN validation loss is never the best; the first finite one is */
            if (isfinite(stats.val_loss) && (isnan(result->best_val_loss) || stats.val_loss < result->best_val_loss)) {
                result->best_val_loss = stats.val_loss;
                result->best_epoch = epoch;
                since_best = 0;
                if (s->best)
                    memcpy(s->best, nb_params_data(graph), s->param_bytes);
            } else {
                since_best++;
            }
        }
        note_epoch(s, &stats);
        bool go_on;
        if ((status = carry_on(s, &stats, &go_on)) != NB_OK)
            return status;
        if (!go_on) {
            result->stop_reason = "callback";
            break;
        }
        if (config->loss_threshold > 0 && stats.loss < config->loss_threshold) {
            result->stop_reason = "loss threshold";
            break;
        }
        if (config->patience > 0 && val && since_best >= config->patience) {
            result->stop_reason = "patience";
            break;
        }
    }
    if (s->best && result->best_epoch > 0)
        memcpy(nb_params_data(graph), s->best, s->param_bytes);
    return NB_OK;
}

/* What nb_train checks before it starts, on this process. */
static nb_status check_train(const nb_model *model, nb_dataset *train, nb_dataset *val, const nb_train_config *config)
{
    nb_status status = check_fit(model, train, "nb_train");
    if (status == NB_OK && val)
        status = check_fit(model, val, "nb_train (validation data)");
    if (status != NB_OK)
        return status;
    if (config->epochs < 1 || config->batch_size < 1)
        return nb_fail(NB_EARG, "nb_train: epochs and batch size must be at least 1 (got %d and %lld)", config->epochs,
                       (long long)config->batch_size);
    if (config->accuracy && train->n_classes > 0 && !model->output)
        return nb_fail(NB_EARG, "nb_train: accuracy needs the model's output");
    return NB_OK;
}

/* This rank's share of the validation data: consecutive rows, none when there are
 * fewer rows than ranks. */
static nb_status share_validation(train_state *s, nb_dataset *val)
{
    int64_t lo = val->n * s->comm->rank / s->comm->size, hi = val->n * (s->comm->rank + 1) / s->comm->size;
    if (hi > lo && !(s->val_share = nb_dataset_slice(val, lo, hi - lo)))
        return nb_errcode();
    return NB_OK;
}

/* The loader (with a communicator, of this rank's share of every batch) and the copies
 * of the parameters. */
static nb_status set_up(train_state *s, nb_dataset *train, nb_dataset *val)
{
    const nb_train_config *config = s->config;
    const nb_model *model = s->model;
    unsigned flags = (config->shuffle ? NB_LOADER_SHUFFLE : 0) | (config->drop_last ? NB_LOADER_DROP_LAST : 0);
    s->param_bytes = (size_t)nb_n_params(model->graph) * nb_dtype_size(nb_graph_dtype(model->graph));
    s->rows = train->n;
    s->loader = nb_loader_new(train, config->batch_size, flags, config->seed);
    s->last_good = nb_alloc(s->param_bytes ? s->param_bytes : 1);
    if (config->restore_best && val)
        s->best = nb_alloc(s->param_bytes ? s->param_bytes : 1);
    if (!s->loader || !s->last_good || (config->restore_best && val && !s->best))
        return s->loader ? nb_fail(NB_ENOMEM, "nb_train: out of memory for a copy of the parameters") : nb_errcode();
    nb_status status = s->comm ? nb_loader_shard(s->loader, s->comm->rank, s->comm->size) : NB_OK;
    if (status == NB_OK && s->comm && val)
        status = share_validation(s, val);
    if (status == NB_OK)
        status = nb_loader_feed(s->loader, model->input, model->target);
    return status;
}

/* With a communicator: every rank ready, training alike, and the data large enough to
 * share out; then rank 0's parameters on every rank. */
static nb_status start_together(train_state *s, nb_status local, const nb_dataset *train, const nb_dataset *val)
{
    static const char *const names[] = {"the training rows", "the validation rows (-1: none)", "the batch size",
                                        "the parameters", "the dtype (0: f32, 1: f64)", "the epochs",
                                        "the seed's high 32 bits", "the seed's low 32 bits", "the optimizer kind"};
    const nb_train_config *c = s->config;
    const nb_comm *comm = s->comm;
    double values[9] = {0};
    if (local == NB_OK) {
        double mine[9] = {(double)train->n, val ? (double)val->n : -1, (double)c->batch_size,
                          (double)nb_n_params(s->model->graph), nb_graph_dtype(s->model->graph), c->epochs,
                          (double)(c->seed >> 32), (double)(c->seed & 0xffffffffu),
                          nb_optim_config_of(s->optimizer)->kind};
        memcpy(values, mine, sizeof values);
    }
    nb_status status = nb_comm_agree(comm, local, values, names, 9);
    if (status != NB_OK)
        return status;
    if (c->batch_size < comm->size)
        return nb_fail(NB_EARG, "nb_train: a batch of %lld rows cannot be shared out to %d ranks: each needs at least "
                                "one row of it (make the batch at least %d)",
                       (long long)c->batch_size, comm->size, comm->size);
    if (comm->size > 1 && train->n < c->batch_size) /* alone, a batch is at most the data */
        return nb_fail(NB_EARG, "nb_train: %lld training rows do not fill one batch of %lld rows shared by %d ranks "
                                "(%lld rows each): make the batch smaller or the data larger",
                       (long long)train->n, (long long)c->batch_size, comm->size,
                       (long long)(c->batch_size / comm->size));
    return comm->broadcast(comm->ctx, nb_params_data(s->model->graph), s->param_bytes, 0);
}

nb_status nb_train(const nb_model *model, nb_optimizer *optimizer, nb_dataset *train, nb_dataset *val,
                   const nb_train_config *config, nb_train_result *result)
{
    if (!optimizer || !config || !result)
        return nb_fail(NB_EARG, "nb_train: optimizer, config and result must not be NULL");
    *result = (nb_train_result){.best_val_loss = NAN, .stop_reason = "epochs"};
    if (config->comm && nb_comm_check(config->comm, "nb_train") != NB_OK)
        return nb_errcode();
    train_state s = {.model = model, .optimizer = optimizer, .config = config, .result = result, .start_loss = NAN,
                     .comm = config->comm};
    /* with a communicator, every rank goes on to start_together, failed or not, so that
     * a failure on one rank fails every rank instead of leaving them waiting */
    nb_status status = check_train(model, train, val, config);
    if (status == NB_OK)
        status = set_up(&s, train, val);
    if (s.comm)
        status = start_together(&s, status, train, val);
    if (status == NB_OK) {
        if (config->progress && (!s.comm || s.comm->rank == 0)) /* one line for the job, from rank 0 */
            s.progress = nb_progress_new(config->progress, "training",
                                         (int64_t)config->epochs * nb_loader_n_batches(s.loader), "batch");
        nb_zero_grad(model->graph); /* the steps keep them zero from here on */
        status = train_loop(&s, val);
        nb_progress_finish(s.progress);
    }
    nb_progress_free(s.progress);
    nb_free(s.last_good);
    nb_free(s.best);
    nb_loader_free(s.loader);
    nb_dataset_free(s.val_share);
    return status;
}
