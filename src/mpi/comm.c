/* nb_comm over MPI: nb_train's allreduce and broadcast as MPI_Allreduce and MPI_Bcast on
 * a duplicate of the program's communicator. */
#include "core/core.h"

#include <limits.h>

#include "nabla/mpi.h"

typedef struct mpi_comm {
    nb_comm comm; /* first: the nb_comm handed out is this struct */
    MPI_Comm mpi;
} mpi_comm;

/* An MPI error code as a message; NB_EIO, as what failed is the communication. */
static nb_status mpi_failed(int code, const char *call)
{
    char text[MPI_MAX_ERROR_STRING];
    int length = 0;
    if (MPI_Error_string(code, text, &length) != MPI_SUCCESS)
        snprintf(text, sizeof text, "error %d", code);
    return nb_fail(NB_EIO, "%s failed: %s", call, text);
}

/* MPI counts are int: a longer buffer goes in pieces of at most INT_MAX elements. */
static nb_status allreduce_sum(void *ctx, void *data, int64_t count, nb_dtype dtype)
{
    MPI_Comm mpi = ((mpi_comm *)ctx)->mpi;
    MPI_Datatype type = dtype == NB_F64 ? MPI_DOUBLE : MPI_FLOAT;
    size_t size = nb_dtype_size(dtype);
    for (int64_t done = 0; done < count;) {
        int piece = count - done < INT_MAX ? (int)(count - done) : INT_MAX;
        int code = MPI_Allreduce(MPI_IN_PLACE, (char *)data + (size_t)done * size, piece, type, MPI_SUM, mpi);
        if (code != MPI_SUCCESS)
            return mpi_failed(code, "MPI_Allreduce");
        done += piece;
    }
    return NB_OK;
}

static nb_status broadcast(void *ctx, void *data, size_t bytes, int root)
{
    MPI_Comm mpi = ((mpi_comm *)ctx)->mpi;
    for (size_t done = 0; done < bytes;) {
        int piece = bytes - done < INT_MAX ? (int)(bytes - done) : INT_MAX;
        int code = MPI_Bcast((char *)data + done, piece, MPI_BYTE, root, mpi);
        if (code != MPI_SUCCESS)
            return mpi_failed(code, "MPI_Bcast");
        done += (size_t)piece;
    }
    return NB_OK;
}

static void abort_job(void *ctx, int code) { MPI_Abort(((mpi_comm *)ctx)->mpi, code); }

nb_comm *nb_mpi_comm_new(MPI_Comm comm)
{
    int initialized = 0, finalized = 0;
    MPI_Initialized(&initialized);
    MPI_Finalized(&finalized);
    if (!initialized || finalized) {
        nb_fail(NB_ESTATE, "nb_mpi_comm_new: MPI is not initialised (call MPI_Init first)");
        return NULL;
    }
    mpi_comm *c = nb_calloc(1, sizeof *c);
    if (!c) {
        nb_fail(NB_ENOMEM, "nb_mpi_comm_new: out of memory");
        return NULL;
    }
    int code = MPI_Comm_dup(comm, &c->mpi);
    if (code == MPI_SUCCESS)
        code = MPI_Comm_rank(c->mpi, &c->comm.rank);
    if (code == MPI_SUCCESS)
        code = MPI_Comm_size(c->mpi, &c->comm.size);
    if (code != MPI_SUCCESS) {
        mpi_failed(code, "nb_mpi_comm_new: MPI_Comm_dup");
        nb_free(c);
        return NULL;
    }
    c->comm.allreduce_sum = allreduce_sum, c->comm.broadcast = broadcast, c->comm.abort = abort_job;
    c->comm.ctx = c;
    return &c->comm;
}

void nb_mpi_comm_free(nb_comm *comm)
{
    if (!comm)
        return;
    mpi_comm *c = (mpi_comm *)comm;
    MPI_Comm_free(&c->mpi);
    nb_free(c);
}
