/* The ranks of `mpirun -np N nabla ...` come from a module, nabla-mpi.so (cli/dist.c with
 * nabla::mpi, linked to MPI), loaded with dlopen only when an MPI launcher started the
 * program (or for --version): a run alone loads neither Open MPI nor what it pulls in
 * (open-rte, open-pal, hwloc, libevent, udev), which cost more start-up time than the
 * rest of the program. CMakeLists.txt compiles this file when the program is built with
 * MPI (dist_absent.c otherwise); dist_launched, dist_launched_ranks and dist_share_cores
 * need no MPI and are the program's own (main.c).
 *
 * The module has no core of its own: it calls the program's (and cli_error,
 * cli_set_rank), which the program exports for it (cli/dist_module.list), so that a
 * communicator's failure inside nb_train leaves its message where the program reads it. */
#include "dist.h"

#include <dlfcn.h>
#include <stdlib.h>
#include <string.h>

#include "module.h"

#ifndef NB_MPI_MODULE
#define NB_MPI_MODULE "nabla-mpi.so"
#endif

/* The module's functions, all found when it is loaded (a module that lacks one, from
 * another build, is not loaded at all), so that those taking a communicator, which
 * exists only once the module is loaded, call them without looking. */
static struct {
    __typeof__(dist_open) *open;
    __typeof__(dist_close) *close;
    __typeof__(dist_local_ranks) *local_ranks;
    __typeof__(dist_describe) *describe;
    __typeof__(dist_agree) *agree;
    __typeof__(dist_gather_text) *gather_text;
} mpi;
static char why[512]; /* why the module cannot be loaded */

#define FIND(handle, field, name) ((mpi.field = (__typeof__(name) *)dlsym(handle, #name)) != NULL)

/* Whether the module is loaded, loading it first; false (with `why`) when it cannot be. */
static bool loaded(void)
{
    if (mpi.open || why[0])
        return mpi.open != NULL;
    void *handle = cli_module_open(NB_MPI_MODULE, why, sizeof why);
    if (!handle)
        return false;
    if (!(FIND(handle, close, dist_close) && FIND(handle, local_ranks, dist_local_ranks) &&
          FIND(handle, describe, dist_describe) && FIND(handle, agree, dist_agree) &&
          FIND(handle, gather_text, dist_gather_text) && FIND(handle, open, dist_open))) {
        snprintf(why, sizeof why, "%s", dlerror());
        dlclose(handle);
        mpi.open = NULL;
        return false;
    }
    return true;
}

const nb_comm *dist_open(const char *command, int *status)
{
    *status = 0;
    if (!dist_launched())
        return NULL;
    if (!loaded()) {
        cli_error(command, "nabla's MPI module %s cannot be loaded (%s), so its copies under mpirun cannot share the "
                           "work: reinstall nabla (the module belongs beside the program, or in its LIBDIR/nabla), or "
                           "run it alone", NB_MPI_MODULE, why);
        *status = 2; /* as a nabla built without MPI says */
        return NULL;
    }
    return mpi.open(command, status);
}

void dist_close(const nb_comm *comm)
{
    if (comm)
        mpi.close(comm);
}

int dist_local_ranks(const nb_comm *comm) { return comm ? mpi.local_ranks(comm) : 1; }

void dist_describe(char *text, size_t size)
{
    if (loaded())
        mpi.describe(text, size);
    else
        snprintf(text, size, "no (nabla's MPI module %s cannot be loaded: %s)", NB_MPI_MODULE, why);
}

int dist_agree(const nb_comm *comm, const char *command, int status, const char *stage)
{
    return comm ? mpi.agree(comm, command, status, stage) : status;
}

char *dist_gather_text(const nb_comm *comm, const char *command, const char *text)
{
    if (comm)
        return mpi.gather_text(comm, command, text);
    char *copy = strdup(text);
    if (!copy)
        cli_error(command, "out of memory");
    return copy;
}
