/* One epoch of an MLP 784-256-128-10 (ReLU) on 60,000 random inputs, batch 64, SGD
 * with momentum 0.9 and lr 0.05, in float32 through nabla's graph API and fused ops,
 * with a hand-written optimizer loop over the flat parameter buffers. Initialisation as
 * torch.nn.Linear's default (Kaiming-uniform: weights and biases U(±1/sqrt(fan_in))).
 * Prints "nabla threads T epoch_seconds_median S loss L gflops G backend B".
 *   usage: bench_mlp_nabla [threads (0 = all cores)] [epochs >= 2] */
#include "nabla.h"
#include "parallel.h" /* nb_parallel_ranges, as nabla's own optimizers would use it */

#include <math.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

enum { SAMPLES = 60000, INPUTS = 784, HIDDEN1 = 256, HIDDEN2 = 128, CLASSES = 10, BATCH = 64 };

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

static int compare(const void *x, const void *y)
{
    double a = *(const double *)x, b = *(const double *)y;
    return (a > b) - (a < b);
}

typedef struct sgd_step {
    float *params, *grads, *velocity;
    float lr, momentum;
} sgd_step;

/* params[from, to): v = μ·v + g; p -= lr·v; g = 0 */
static void sgd_range(void *ctx, int64_t from, int64_t to)
{
    const sgd_step *s = ctx;
    for (int64_t i = from; i < to; i++) {
        s->velocity[i] = s->momentum * s->velocity[i] + s->grads[i];
        s->params[i] -= s->lr * s->velocity[i];
        s->grads[i] = 0;
    }
}

static nb_node *layer_param(nb_graph *g, const char *name, int ndim, const int64_t *shape, int64_t fan_in, nb_rng *rng)
{
    nb_node *p = nb_param(g, name, ndim, shape);
    double bound = 1.0 / sqrt((double)fan_in);
    if (p)
        nb_tensor_fill_uniform(nb_value(p), rng, -bound, bound);
    return p;
}

int main(int argc, char **argv)
{
    int threads = argc > 1 ? atoi(argv[1]) : 0;
    int epochs = argc > 2 ? atoi(argv[2]) : 4;
    if (threads < 0 || epochs < 2) {
        fprintf(stderr, "usage: %s [threads >= 0] [epochs >= 2]\n", argv[0]);
        return 2;
    }
    if (nb_set_threads(threads) != NB_OK)
        return 1;
    nb_rng rng;
    nb_rng_seed(&rng, 1);

    /* the data, float32 once: inputs in [0, 1) like scaled pixels, labels 0..9 */
    float *images = malloc(sizeof(float) * (size_t)SAMPLES * INPUTS);
    float *labels = malloc(sizeof(float) * SAMPLES);
    float *batch_x = malloc(sizeof(float) * BATCH * INPUTS), *batch_y = malloc(sizeof(float) * BATCH);
    int64_t *order = malloc(sizeof(int64_t) * SAMPLES);
    for (size_t i = 0; i < (size_t)SAMPLES * INPUTS; i++)
        images[i] = (float)nb_rng_uniform(&rng);
    for (int i = 0; i < SAMPLES; i++) {
        labels[i] = (float)nb_rng_below(&rng, CLASSES);
        order[i] = i;
    }

    nb_graph *g = nb_graph_new(NB_F32);
    nb_node *x = nb_input(g, "x", 2, (int64_t[]){BATCH, INPUTS});
    nb_node *y = nb_input(g, "y", 1, (int64_t[]){BATCH});
    nb_node *w1 = layer_param(g, "w1", 2, (int64_t[]){HIDDEN1, INPUTS}, INPUTS, &rng);
    nb_node *b1 = layer_param(g, "b1", 1, (int64_t[]){HIDDEN1}, INPUTS, &rng);
    nb_node *w2 = layer_param(g, "w2", 2, (int64_t[]){HIDDEN2, HIDDEN1}, HIDDEN1, &rng);
    nb_node *b2 = layer_param(g, "b2", 1, (int64_t[]){HIDDEN2}, HIDDEN1, &rng);
    nb_node *w3 = layer_param(g, "w3", 2, (int64_t[]){CLASSES, HIDDEN2}, HIDDEN2, &rng);
    nb_node *b3 = layer_param(g, "b3", 1, (int64_t[]){CLASSES}, HIDDEN2, &rng);
    nb_node *h1 = nb_linear_act(x, w1, b1, NB_ACT_RELU);
    nb_node *h2 = nb_linear_act(h1, w2, b2, NB_ACT_RELU);
    nb_node *loss = nb_softmax_cross_entropy(nb_linear(h2, w3, b3), y);
    if (!loss) {
        fprintf(stderr, "building the network: %s\n", nb_errmsg());
        return 1;
    }
    int64_t n_params = nb_n_params(g);
    float *params = nb_params_data(g), *grads = nb_grads_data(g);
    float *velocity = calloc((size_t)n_params, sizeof(float));
    const float lr = 0.05f, momentum = 0.9f;

    double seconds[64];
    double last_loss = 0;
    /* where an epoch goes (after the first): batch gathering, forward, backward, update */
    double phase[4] = {0, 0, 0, 0}, mark;
    for (int epoch = 0; epoch < epochs && epoch < 64; epoch++) {
        double start = now();
        nb_rng_shuffle(&rng, order, SAMPLES);
        double loss_sum = 0;
        for (int64_t first = 0; first < SAMPLES; first += BATCH) {
            int64_t rows = SAMPLES - first < BATCH ? SAMPLES - first : BATCH;
            mark = now();
            for (int64_t r = 0; r < rows; r++) {
                memcpy(batch_x + r * INPUTS, images + order[first + r] * INPUTS, sizeof(float) * INPUTS);
                batch_y[r] = labels[order[first + r]];
            }
            double t0 = now();
            if (nb_input_bind(x, batch_x, rows) != NB_OK || nb_input_bind(y, batch_y, rows) != NB_OK ||
                nb_forward(loss) != NB_OK) {
                fprintf(stderr, "forward: %s\n", nb_errmsg());
                return 1;
            }
            double t1 = now();
            if (nb_backward(loss) != NB_OK) {
                fprintf(stderr, "backward: %s\n", nb_errmsg());
                return 1;
            }
            double t2 = now();
            loss_sum += nb_item(loss) * (double)rows;
            /* SGD with momentum, as torch.optim.SGD: v = μ·v + g; p -= lr·v; and the
             * gradient zeroed for the next step in the same pass (instead of nb_zero_grad) */
            sgd_step step = {params, grads, velocity, lr, momentum};
            nb_parallel_ranges(n_params, n_params, sgd_range, &step);
            if (epoch > 0) {
                phase[0] += t0 - mark;
                phase[1] += t1 - t0;
                phase[2] += t2 - t1;
                phase[3] += now() - t2;
            }
        }
        seconds[epoch] = now() - start;
        last_loss = loss_sum / SAMPLES;
    }
    /* median of the epochs after the first */
    qsort(seconds + 1, (size_t)(epochs - 1), sizeof(double), compare);
    double median = seconds[1 + (epochs - 1) / 2];
    /* multiply-adds per sample: forward, weight gradients, and input gradients of layers 2 and 3 */
    double flops = 2.0 * SAMPLES *
                   (2.0 * (INPUTS * HIDDEN1 + HIDDEN1 * HIDDEN2 + HIDDEN2 * CLASSES) + HIDDEN1 * HIDDEN2 +
                    HIDDEN2 * CLASSES);
    fprintf(stderr, "nabla threads %d, per epoch: gather %.3f s, forward %.3f s, backward %.3f s, sgd+zero_grad %.3f s\n",
            nb_get_threads(), phase[0] / (epochs - 1), phase[1] / (epochs - 1), phase[2] / (epochs - 1),
            phase[3] / (epochs - 1));
    printf("nabla threads %d epoch_seconds_median %.4f loss %.4f gflops %.1f backend %s\n", nb_get_threads(), median,
           last_loss, flops / median * 1e-9, nb_blas_backend());
    nb_graph_free(g);
    free(images);
    free(labels);
    free(batch_x);
    free(batch_y);
    free(order);
    free(velocity);
    return 0;
}
