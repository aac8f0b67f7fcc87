/* nabla mpi: data-parallel training over MPI, the optional component nabla::mpi
 * (libnabla-mpi, built when MPI is found). It turns an MPI communicator into the
 * nb_comm that nb_train shares its batches over (nabla/nn.h): the rest of nabla calls no
 * MPI, so that nabla::core links none.
 *
 *     MPI_Init(&argc, &argv);
 *     nb_comm *comm = nb_mpi_comm_new(MPI_COMM_WORLD);
 *     nb_train_config config = nb_train_defaults();
 *     config.comm = comm;                        // batch_size is the global batch
 *     config.progress = stderr;                  // printed by rank 0 alone
 *     nb_train(&model, optimizer, train, val, &config, &result);
 *     if (comm->rank == 0) nb_safetensors_save_graph(...);
 *     nb_mpi_comm_free(comm);
 *     MPI_Finalize();
 *
 * Run it with `mpirun -np N program`. nabla/nabla.h does not include this header (it
 * needs mpi.h): include it where MPI is used, and link nabla::mpi. */
#ifndef NABLA_MPI_H
#define NABLA_MPI_H

#include <mpi.h>

#include "nabla/nn.h"

#ifdef __cplusplus
extern "C" {
#endif

#if defined(__GNUC__)
#pragma GCC visibility push(default)
#endif

/* A communicator over the ranks of `comm` (which it duplicates, so that nabla's messages
 * never meet the program's): allreduce_sum is MPI_Allreduce, broadcast MPI_Bcast, abort
 * MPI_Abort. MPI must be initialised, and stay so until nb_mpi_comm_free. NULL (with
 * the message) when MPI fails or memory runs out. A collective call: every rank of
 * `comm` makes it. */
nb_comm *nb_mpi_comm_new(MPI_Comm comm);
/* Frees what nb_mpi_comm_new made (a collective call too). NULL is ignored. */
void nb_mpi_comm_free(nb_comm *comm);

#if defined(__GNUC__)
#pragma GCC visibility pop
#endif

#ifdef __cplusplus
}
#endif

#endif
