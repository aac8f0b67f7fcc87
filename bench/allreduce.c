/* The cost of nb_train's exchange per step between the ranks of this machine: an
 * in-place MPI_Allreduce (sum) of COUNT floats, as nabla::mpi makes it, timed over
 * REPEATS calls after a warm-up. Prints, on rank 0, tab-separated: ranks, floats, bytes,
 * median microseconds per call, and the bus bandwidth a ring reaches at that time
 * (2 (N-1)/N x bytes / time, GB/s).
 *   usage: mpirun -np N bench_allreduce [COUNT] [REPEATS]   (defaults 235146, 200) */
#include <mpi.h>
#include <stdio.h>
#include <stdlib.h>

static int by_value(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

int main(int argc, char **argv)
{
    MPI_Init(&argc, &argv);
    int rank, size;
    MPI_Comm_rank(MPI_COMM_WORLD, &rank);
    MPI_Comm_size(MPI_COMM_WORLD, &size);
    int count = argc > 1 ? atoi(argv[1]) : 235146, repeats = argc > 2 ? atoi(argv[2]) : 200;
    float *data = malloc((size_t)count * sizeof *data);
    double *times = malloc((size_t)repeats * sizeof *times);
    if (!data || !times || count < 1 || repeats < 1)
        MPI_Abort(MPI_COMM_WORLD, 2);
    for (int i = 0; i < count; i++)
        data[i] = 1e-6f * (float)(i % 1000);
    for (int i = 0; i < 10; i++)
        MPI_Allreduce(MPI_IN_PLACE, data, count, MPI_FLOAT, MPI_SUM, MPI_COMM_WORLD);
    for (int i = 0; i < repeats; i++) {
        MPI_Barrier(MPI_COMM_WORLD);
        double start = MPI_Wtime();
        MPI_Allreduce(MPI_IN_PLACE, data, count, MPI_FLOAT, MPI_SUM, MPI_COMM_WORLD);
        times[i] = MPI_Wtime() - start;
    }
    qsort(times, (size_t)repeats, sizeof *times, by_value);
    double median = times[repeats / 2], bytes = 4.0 * count;
    if (rank == 0)
        printf("%d\t%d\t%.0f\t%.1f\t%.2f\n", size, count, bytes, 1e6 * median,
               2.0 * (size - 1) / size * bytes / median / 1e9);
    free(data);
    free(times);
    MPI_Finalize();
    return 0;
}
