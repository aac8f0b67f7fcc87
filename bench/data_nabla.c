/* Fashion-MNIST with nabla: load the gzip IDX training set into float32 [0, 1] and walk
 * one shuffled epoch of batches of 64 (rows copied into the loader's buffer). Prints
 * the median seconds of each over repeats, and a checksum that the peer also prints. */
#include <stdio.h>
#include <stdlib.h>

#include "nabla.h"
#include "bench_timing.h"

/* where Debian's dataset-fashion-mnist installs it, as the peer reads it */
#define DIR "/usr/share/datasets/fashion-mnist"

static double now(void) { return bench_seconds(CLOCK_MONOTONIC); }

int main(int argc, char **argv)
{
    int repeats = argc > 1 ? atoi(argv[1]) : 5;
    if (repeats < 1 || repeats > 100)
        repeats = 5;
    double load[100], epoch[100], first_load = 0, checksum = 0;
    nb_dataset *data = NULL;
    for (int r = 0; r < repeats; r++) {
        nb_dataset_free(data);
        double start = now();
        data = nb_idx_load(DIR "/train-images-idx3-ubyte.gz", DIR "/train-labels-idx1-ubyte.gz", NB_F32, 10, 0);
        load[r] = now() - start;
        if (!data) {
            fprintf(stderr, "%s\n", nb_errmsg());
            return 1;
        }
        if (r == 0)
            first_load = load[0];
    }
    nb_loader *loader = nb_loader_new(data, 64, NB_LOADER_SHUFFLE, 1);
    if (!loader) {
        fprintf(stderr, "%s\n", nb_errmsg());
        return 1;
    }
    for (int r = 0; r < repeats; r++) {
        double start = now();
        nb_loader_start_epoch(loader, r);
        nb_batch batch;
        float sum = 0;
        while (nb_loader_next(loader, &batch)) /* touch each batch once, as a step would */
            sum += ((const float *)batch.inputs)[0] + ((const float *)batch.inputs)[batch.size * 784 - 1];
        epoch[r] = now() - start;
        checksum += sum;
    }
    const float *x = nb_tensor_f32(data->inputs);
    double total = 0;
    for (int64_t i = 0; i < data->inputs->size; i++)
        total += x[i];
    bench_sort(load, repeats);
    bench_sort(epoch, repeats);
    printf("nabla   load %.3f s (first %.3f s)  epoch of batches %.4f s  pixel sum %.3f\n", load[repeats / 2],
           first_load, epoch[repeats / 2], total);
    (void)checksum;
    nb_loader_free(loader);
    nb_dataset_free(data);
    return 0;
}
