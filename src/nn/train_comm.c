/* Data parallelism in the training loop: the collective calls nb_train makes with a
 * communicator (train_internal.h). nabla itself sends nothing: every exchange is the
 * communicator's allreduce_sum, so one embedding's MPI, another's sockets, serve alike. */
#include "train_internal.h"

#include <math.h>
#include <string.h>

nb_status nb_comm_check(const nb_comm *comm, const char *what)
{
    if (!comm->allreduce_sum || !comm->broadcast)
        return nb_fail(NB_EARG, "%s: the communicator has no allreduce_sum or no broadcast callback", what);
    if (comm->size < 1 || comm->rank < 0 || comm->rank >= comm->size)
        return nb_fail(NB_EARG, "%s: the communicator's rank %d of %d ranks is not one (0 <= rank < size)", what,
                       comm->rank, comm->size);
    return NB_OK;
}

/* The sums of a failure flag, the failing ranks and their statuses, after the exchange:
 * NB_OK when no rank failed, else the status to return, with its message. */
static nb_status failure_of(const nb_comm *comm, nb_status local, const double flags[3])
{
    if (flags[0] == 0)
        return NB_OK;
    if (local != NB_OK) {
        if (comm->size > 1)
            nb_error_prefix("rank %d of %d", comm->rank, comm->size);
        return local;
    }
    if (flags[0] > 1)
        return nb_fail(NB_EARG, "%.0f of the %d ranks failed; their own messages say why", flags[0], comm->size);
    int code = (int)flags[2];
    if (code <= NB_OK || code > NB_ESTATE)
        code = NB_EARG;
    return nb_fail((nb_status)code, "rank %.0f of %d failed (%s); its own message says why", flags[1], comm->size,
                   nb_status_name((nb_status)code));
}

nb_status nb_comm_sum(const nb_comm *comm, nb_status local, double *sums, int n)
{
    double flags[3] = {local != NB_OK, local != NB_OK ? comm->rank : 0, local != NB_OK ? (double)local : 0};
    /* one exchange: the flags ride after the sums (n is a handful) */
    double all[16 + 3];
    if (n > 16)
        return nb_fail(NB_EARG, "nb_comm_sum: at most 16 sums, got %d", n);
    memcpy(all, sums, (size_t)n * sizeof *all);
    memcpy(all + n, flags, sizeof flags);
    nb_status status = comm->allreduce_sum(comm->ctx, all, n + 3, NB_F64);
    if (status != NB_OK)
        return status;
    memcpy(sums, all, (size_t)n * sizeof *all);
    return failure_of(comm, local, all + n);
}

nb_status nb_comm_agree(const nb_comm *comm, nb_status local, const double *values, const char *const *names, int n)
{
    /* each rank writes its row, the others zeros: the sum is every rank's numbers */
    size_t row = (size_t)n + 3, count = (size_t)comm->size * row;
    double *all = nb_calloc(count, sizeof *all);
    if (!all)
        return nb_fail(NB_ENOMEM, "nb_train: out of memory for the numbers of %d ranks", comm->size);
    double *mine = all + (size_t)comm->rank * row;
    memcpy(mine, values, (size_t)n * sizeof *mine);
    mine[n] = local != NB_OK, mine[n + 1] = local != NB_OK ? comm->rank : 0, mine[n + 2] = local;
    nb_status status = comm->allreduce_sum(comm->ctx, all, (int64_t)count, NB_F64);
    double flags[3] = {0, 0, 0};
    for (int r = 0; status == NB_OK && r < comm->size; r++)
        for (int k = 0; k < 3; k++)
            flags[k] += all[(size_t)r * row + (size_t)n + (size_t)k];
    if (status == NB_OK)
        status = failure_of(comm, local, flags);
    int rank = 0, differs = status == NB_OK ? -1 : -2;
    for (int i = 0; differs == -1 && i < n; i++) /* the values alone, without the flags */
        for (int r = 1; differs == -1 && r < comm->size; r++)
            if (all[(size_t)r * row + (size_t)i] != all[i])
                differs = i, rank = r;
    if (differs >= 0)
        status = nb_fail(NB_EARG, "nb_train: every rank must train alike, but they differ in %s: rank 0 has %.17g, "
                         "rank %d %.17g", names[differs], all[differs], rank, all[(size_t)rank * row + (size_t)differs]);
    nb_free(all);
    return status;
}

/* grads *= factor, in the graph's dtype. */
static void scale(void *grads, int64_t n, nb_dtype dtype, double factor)
{
    if (dtype == NB_F64) {
        double *g = grads;
        for (int64_t i = 0; i < n; i++)
            g[i] *= factor;
    } else {
        float *g = grads;
        float f = (float)factor;
        for (int64_t i = 0; i < n; i++)
            g[i] *= f;
    }
}

nb_status nb_comm_share_gradient(const nb_comm *comm, nb_graph *graph, int64_t share_rows, int64_t batch_rows)
{
    int64_t n = nb_n_params(graph);
    void *grads = nb_grads_data(graph); /* a gradient marked as zeros (an empty share's) gets its zeros */
    if (share_rows != batch_rows)
        scale(grads, n, nb_graph_dtype(graph), (double)share_rows / (double)batch_rows);
    return comm->allreduce_sum(comm->ctx, grads, n, nb_graph_dtype(graph));
}
