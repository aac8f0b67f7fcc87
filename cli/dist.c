/* The ranks of `mpirun -np N nabla train`, over nabla::mpi. Compiled only when nabla is
 * built with MPI (CMakeLists.txt); cli/dist_absent.c stands in otherwise. */
#include "dist.h"

#include <string.h>

#include "nabla/mpi.h"

const nb_comm *dist_open(const char *command, int *status)
{
    *status = 0;
    if (!dist_launched())
        return NULL;
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
    snprintf(text, size, "yes (%s): mpirun -np N nabla train shares each batch over N ranks", version);
}
