/* A program outside nabla that trains over MPI with nabla::mpi (tests/consumer/run.sh
 * builds it against an installed nabla and runs it under mpirun): the ranks fit y = 3x - 1
 * together and end with the same slope, near 3. */
#include <math.h>
#include <stdio.h>

#include <nabla/mpi.h>

static int fit(const nb_comm *comm, double *slope)
{
    double x[64], y[64];
    for (int i = 0; i < 64; i++)
        x[i] = i / 32.0 - 1, y[i] = 3 * x[i] - 1;
    nb_dataset *data = nb_dataset_from_doubles(NB_F64, 64, 1, x, 1, y);
    nb_graph *g = nb_graph_new(NB_F64);
    nb_node *in = nb_input(g, "x", 2, (int64_t[]){8, 1}), *target = nb_input(g, "y", 2, (int64_t[]){8, 1});
    nb_node *w = nb_param(g, "w", 2, (int64_t[]){1, 1}), *b = nb_param(g, "b", 1, (int64_t[]){1});
    nb_node *out = nb_add(nb_matmul(in, w, false, false), b);
    nb_model model = {g, in, target, out, nb_mse_loss(out, target, NB_REDUCE_MEAN)};
    nb_optim_config sgd = nb_optim_defaults(NB_SGD);
    sgd.lr = 0.2;
    nb_optimizer *opt = nb_optim_new(g, &sgd);
    nb_train_config config = nb_train_defaults();
    config.epochs = 40, config.batch_size = 16, config.comm = comm;
    nb_train_result result;
    nb_status status = data && opt ? nb_train(&model, opt, data, NULL, &config, &result) : nb_errcode();
    if (status == NB_OK)
        *slope = nb_tensor_get(nb_value(w), 0);
    else
        fprintf(stderr, "mpi_app: %s\n", nb_errmsg());
    nb_optim_free(opt);
    nb_graph_free(g);
    nb_dataset_free(data);
    return status == NB_OK ? 0 : 1;
}

int main(int argc, char **argv)
{
    MPI_Init(&argc, &argv);
    nb_comm *comm = nb_mpi_comm_new(MPI_COMM_WORLD);
    double slope = 0, first = 0;
    int failed = comm ? fit(comm, &slope) : 1;
    if (comm) {
        first = slope;
        comm->broadcast(comm->ctx, &first, sizeof first, 0);
        printf("mpi_app: rank %d of %d: slope %.6f\n", comm->rank, comm->size, slope);
    }
    nb_mpi_comm_free(comm);
    MPI_Finalize();
    return failed || first != slope || fabs(slope - 3) > 1e-3;
}
