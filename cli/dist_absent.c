/* The program built without MPI (no nabla::mpi; CMakeLists.txt compiles this file only
 * then): it trains in one process, and refuses to be one of mpirun's ranks, where each
 * would train the whole model alone and write the same files. */
#include "dist.h"

#include <stdlib.h>
#include <string.h>


const nb_comm *dist_open(const char *command, int *status)
{
    *status = 0;
    if (dist_launched()) {
        cli_error(command, "this nabla was built without MPI, so its copies under mpirun cannot share the work: run it "
                           "alone, or install libopenmpi-dev and rebuild nabla");
        *status = 2;
    }
    return NULL;
}

void dist_close(const nb_comm *comm) { (void)comm; }

int dist_local_ranks(const nb_comm *comm)
{
    (void)comm;
    return 1;
}

void dist_describe(char *text, size_t size)
{
    snprintf(text, size, "no (built without MPI: mpirun -np N nabla train and nabla fit --by are unavailable)");
}

int dist_agree(const nb_comm *comm, const char *command, int status, const char *stage)
{
    (void)comm, (void)command, (void)stage;
    return status;
}

char *dist_gather_text(const nb_comm *comm, const char *command, const char *text)
{
    (void)comm;
    char *copy = strdup(text);
    if (!copy)
        cli_error(command, "out of memory");
    return copy;
}
