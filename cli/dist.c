/* The ranks of `mpirun -np N nabla train`, over nabla::mpi: the module nabla-mpi.so, which
 * the program loads only when an MPI launcher started it (cli/dist_loader.c), so that it
 * links no MPI. Built only when nabla is built with MPI (CMakeLists.txt); cli/dist_absent.c
 * stands in otherwise. The core and cli_error, cli_set_rank are the program's. */
#include "dist.h"

#include <limits.h>
#include <stdlib.h>
#include <string.h>

#include "nabla/mpi.h"

const nb_comm *dist_open(const char *command, int *status)
{
    *status = 0; /* called only under a launcher (dist_loader.c) */
    /* the thread pool's workers never call MPI: only the main thread does */
    int provided = 0;
    if (MPI_Init_thread(NULL, NULL, MPI_THREAD_FUNNELED, &provided) != MPI_SUCCESS) {
        cli_error(command, "MPI_Init failed: cannot join the job's other ranks");
        *status = 1;
        return NULL;
    }
    nb_comm *comm = nb_mpi_comm_new(MPI_COMM_WORLD);
    if (!comm) {
        cli_error(command, NULL);
        MPI_Abort(MPI_COMM_WORLD, 1);
    }
    cli_set_rank(comm->rank, comm->size);
    return comm;
}

void dist_close(const nb_comm *comm)
{
    if (!comm)
        return;
    nb_mpi_comm_free((nb_comm *)comm);
    MPI_Finalize();
}

int dist_local_ranks(const nb_comm *comm)
{
    if (!comm)
        return 1;
    MPI_Comm local;
    int size = 1;
    if (MPI_Comm_split_type(MPI_COMM_WORLD, MPI_COMM_TYPE_SHARED, 0, MPI_INFO_NULL, &local) == MPI_SUCCESS) {
        MPI_Comm_size(local, &size);
        MPI_Comm_free(&local);
    }
    return size;
}

void dist_describe(char *text, size_t size)
{
    char version[MPI_MAX_LIBRARY_VERSION_STRING];
    int length = 0;
    if (MPI_Get_library_version(version, &length) != MPI_SUCCESS)
        snprintf(version, sizeof version, "MPI %d.%d", MPI_VERSION, MPI_SUBVERSION);
    version[strcspn(version, ",\n")] = '\0'; /* "Open MPI v4.1.4", without the build details */
    snprintf(text, size, "yes (%s): mpirun -np N nabla train shares each batch over N ranks, nabla fit --by the groups",
             version);
}

int dist_agree(const nb_comm *comm, const char *command, int status, const char *stage)
{
    if (!comm)
        return status;
    double flags[3] = {status != 0, status != 0 ? comm->rank : 0, status};
    if (comm->allreduce_sum(comm->ctx, flags, 3, NB_F64) != NB_OK) {
        /* the ranks cannot learn each other's status: end them all rather than guess */
        cli_error(command, NULL);
        MPI_Abort(MPI_COMM_WORLD, 1);
    }
    if (flags[0] == 0 || status != 0)
        return status;
    if (flags[0] > 1)
        cli_error(command, "%.0f ranks failed %s (their messages say why); stopping", flags[0], stage);
    else
        cli_error(command, "rank %.0f failed %s (its message says why); stopping", flags[1], stage);
    return flags[0] == 1 ? (int)flags[2] : 1;
}

static void gather_failed(const char *command, const char *what)
{
    cli_error(command, "%s: the results cannot be gathered on rank 0; stopping", what);
    MPI_Abort(MPI_COMM_WORLD, 1);
}

char *dist_gather_text(const nb_comm *comm, const char *command, const char *text)
{
    if (!comm) {
        char *copy = strdup(text);
        if (!copy)
            cli_error(command, "out of memory");
        return copy;
    }
    size_t own = strlen(text);
    int length = own < INT_MAX ? (int)own : -1;
    int *lengths = comm->rank == 0 ? calloc((size_t)comm->size, sizeof *lengths) : NULL;
    int *starts = comm->rank == 0 ? calloc((size_t)comm->size, sizeof *starts) : NULL;
    if (comm->rank == 0 && (!lengths || !starts))
        gather_failed(command, "out of memory");
    if (MPI_Gather(&length, 1, MPI_INT, lengths, 1, MPI_INT, 0, MPI_COMM_WORLD) != MPI_SUCCESS)
        gather_failed(command, "MPI_Gather failed");
    long long total = 0;
    for (int r = 0; comm->rank == 0 && r < comm->size; r++) {
        if (lengths[r] < 0 || total + lengths[r] >= INT_MAX)
            gather_failed(command, "more than 2 GB of results");
        starts[r] = (int)total;
        total += lengths[r];
    }
    char *all = comm->rank == 0 ? malloc((size_t)total + 1) : NULL;
    if (comm->rank == 0 && !all)
        gather_failed(command, "out of memory");
    if (length < 0)
        gather_failed(command, "more than 2 GB of results");
    if (MPI_Gatherv(text, length, MPI_CHAR, all, lengths, starts, MPI_CHAR, 0, MPI_COMM_WORLD) != MPI_SUCCESS)
        gather_failed(command, "MPI_Gatherv failed");
    if (all)
        all[total] = '\0';
    free(lengths);
    free(starts);
    return all;
}
