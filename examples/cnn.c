/* A convolutional network on Fashion-MNIST from C: what
 *
 *     nabla train --model 'conv 32 3x3 pad 1 relu, maxpool 2, conv 64 3x3 pad 1 relu,
 *                          maxpool 2, dense 128 relu, dropout 0.3, dense 10'
 *
 * does, in the calls an embedding program makes: parse the spec, load the IDX files,
 * build, train (Adam), evaluate, save the model file, load it back and check that the
 * loaded model predicts as the trained one did.
 *
 *     build/examples/cnn [TRAIN_ROWS [TEST_ROWS [EPOCHS [MODEL_FILE [DATA_DIR]]]]]
 *
 * Defaults: 2000 training rows, 1000 test rows, 1 epoch (seconds, not minutes), the file
 * cnn.safetensors, and the data in $NABLA_FASHION_MNIST or where Debian's
 * dataset-fashion-mnist installs them. */
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include "nabla.h"

#define SPEC "conv 32 3x3 pad 1 relu, maxpool 2, conv 64 3x3 pad 1 relu, maxpool 2, dense 128 relu, dropout 0.3, dense 10"
#define DEBIAN_DIR "/usr/share/datasets/fashion-mnist"
enum { BATCH = 64, SEED = 42, CLASSES = 10 };

static int fail(const char *what)
{
    fprintf(stderr, "cnn: %s: %s\n", what, nb_errmsg()); /* the message says what to do */
    return 1;
}

/* DIR/NAME.gz, or DIR/NAME when unpacked: nb_idx_load reads either. */
static const char *data_file(const char *dir, const char *name, char *path, size_t size)
{
    snprintf(path, size, "%s/%s.gz", dir, name);
    if (access(path, R_OK) != 0)
        snprintf(path, size, "%s/%s", dir, name);
    return path;
}

/* The first `rows` images of a set ("train" or "t10k"): pixels scaled to [0, 1], labels 0-9. */
static nb_dataset *load(const char *dir, const char *set, int64_t rows)
{
    char name[64], images[4096], labels[4096];
    snprintf(name, sizeof name, "%s-images-idx3-ubyte", set);
    data_file(dir, name, images, sizeof images);
    snprintf(name, sizeof name, "%s-labels-idx1-ubyte", set);
    data_file(dir, name, labels, sizeof labels);
    /* f32, as `nabla train` uses: half the memory and faster kernels than f64 */
    return nb_idx_load(images, labels, NB_F32, CLASSES, rows);
}

/* The spec, told the shape of one image (1 channel) so that its convolutions see 2-D
 * images rather than rows of 784 numbers, and checked against the classes. */
static int make_spec(const nb_dataset *train, nb_net_spec *spec)
{
    int64_t shape[3] = {1, train->image_shape[0], train->image_shape[1]}, outputs = 0;
    if (nb_net_parse(SPEC, spec) != NB_OK)
        return fail("parsing the model");
    if (nb_net_set_input(spec, 3, shape) != NB_OK || nb_net_outputs(spec, &outputs) != NB_OK)
        return fail("the model's shapes");
    if (outputs != CLASSES) {
        fprintf(stderr, "cnn: the model gives %lld outputs, the data have %d classes\n", (long long)outputs, CLASSES);
        return 1;
    }
    return 0;
}

static int train(const nb_net_spec *spec, nb_dataset *data, int epochs, nb_model *model)
{
    nb_rng rng; /* the same seed gives the same initial weights, every run */
    nb_rng_seed(&rng, SEED);
    if (nb_model_build(model, spec, NB_LOSS_CE, NB_F32, BATCH, NB_INIT_KAIMING_UNIFORM, &rng) != NB_OK)
        return fail("building the model");
    char text[512]; /* the spec as the model file will keep it */
    nb_net_format(spec, text, sizeof text);
    printf("model: %s\n%lld parameters\n", text, (long long)nb_n_params(model->graph));
    nb_optim_config adam = nb_optim_defaults(NB_ADAM); /* lr 1e-3 */
    nb_optimizer *optimizer = nb_optim_new(model->graph, &adam);
    if (!optimizer)
        return fail("creating the optimizer");
    nb_train_config config = nb_train_defaults();
    config.epochs = epochs, config.batch_size = BATCH, config.seed = SEED;
    config.accuracy = true, config.progress = stderr; /* one line per epoch */
    nb_train_result result;
    nb_status status = nb_train(model, optimizer, data, NULL, &config, &result);
    nb_optim_free(optimizer); /* its moments are not needed to predict */
    if (status != NB_OK)
        return fail("training");
    printf("trained on %lld rows, %d epoch(s): loss %.4f\n", (long long)data->n, result.epochs_run, result.final_loss);
    return 0;
}

static int test_accuracy(const nb_model *model, nb_dataset *test, const char *which, double *accuracy)
{
    double loss;
    if (nb_evaluate(model, test, BATCH, &loss, accuracy) != NB_OK)
        return fail("evaluating");
    printf("%s: test accuracy %.4f on %lld rows (loss %.4f)\n", which, *accuracy, (long long)test->n, loss);
    return 0;
}

/* Save, load back and evaluate: the file alone rebuilds the network (its spec, loss and
 * dtype are in the metadata), so a program that only predicts needs nothing else. */
static int save_and_reload(const char *path, const nb_model *model, const nb_net_spec *spec, nb_dataset *test,
                           double trained_accuracy)
{
    if (nb_model_save(path, model, spec, NB_LOSS_CE, NULL, 0, NULL, 0) != NB_OK)
        return fail("saving the model");
    nb_model loaded;
    if (nb_model_load(path, BATCH, &loaded, NULL) != NB_OK)
        return fail("loading the model");
    double accuracy;
    int failed = test_accuracy(&loaded, test, path, &accuracy);
    nb_graph_free(loaded.graph);
    if (failed)
        return 1;
    /* the same parameters and the same batches: the same predictions, bit for bit */
    printf("reloaded model: %s\n", accuracy == trained_accuracy ? "same accuracy" : "DIFFERENT accuracy");
    return accuracy != trained_accuracy;
}

int main(int argc, char **argv)
{
    const char *env = getenv("NABLA_FASHION_MNIST");
    long train_rows = argc > 1 ? atol(argv[1]) : 2000, test_rows = argc > 2 ? atol(argv[2]) : 1000;
    int epochs = argc > 3 ? atoi(argv[3]) : 1;
    const char *path = argc > 4 ? argv[4] : "cnn.safetensors";
    const char *dir = argc > 5 ? argv[5] : env && *env ? env : DEBIAN_DIR;
    if (argc > 6 || train_rows < 1 || test_rows < 1 || epochs < 1) {
        fprintf(stderr, "usage: cnn [TRAIN_ROWS [TEST_ROWS [EPOCHS [MODEL_FILE [DATA_DIR]]]]]\n");
        return 2;
    }
    nb_dataset *data = load(dir, "train", train_rows), *test = data ? load(dir, "t10k", test_rows) : NULL;
    if (!test) {
        fail("loading Fashion-MNIST (scripts/deps.sh installs dataset-fashion-mnist)");
        nb_dataset_free(data);
        return 1;
    }
    nb_net_spec spec;
    nb_model model = {0};
    double accuracy = 0;
    int status = make_spec(data, &spec);
    status = status ? status : train(&spec, data, epochs, &model);
    status = status ? status : test_accuracy(&model, test, "trained model", &accuracy);
    status = status ? status : save_and_reload(path, &model, &spec, test, accuracy);
    nb_graph_free(model.graph);
    nb_dataset_free(data);
    nb_dataset_free(test);
    return status;
}
