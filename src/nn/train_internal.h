/* The training loop's data parallelism (train_comm.c), private to src/nn/: what
 * nb_train does with a communicator (nb_train_config.comm) at its start, at every
 * batch and after every epoch. Each is a collective call: every rank makes it, in the
 * same order, also a rank whose own part failed (it passes that status), so that a
 * failure on one rank fails the call on all of them instead of leaving the others
 * waiting. */
#ifndef NABLA_NN_TRAIN_INTERNAL_H
#define NABLA_NN_TRAIN_INTERNAL_H

#include "autodiff/autodiff.h"
#include "nabla/nn.h"

/* The communicator's fields are usable (callbacks set, 0 <= rank < size). Local. */
nb_status nb_comm_check(const nb_comm *comm, const char *what);

/* Every rank's `local` status and `n` numbers, which must be the same on every rank
 * (names[i] says what values[i] is, for the message): NB_OK when every rank succeeded
 * and agrees; else on every rank the failing rank's status (its own message on that
 * rank, one naming it on the others) or NB_EARG naming the first difference. */
nb_status nb_comm_agree(const nb_comm *comm, nb_status local, const double *values, const char *const *names, int n);

/* Sum `n` doubles over the ranks in place, and agree on `local` as nb_comm_agree does. */
nb_status nb_comm_sum(const nb_comm *comm, nb_status local, double *sums, int n);

/* The whole batch's gradient from every rank's share of it: the shares' gradients (of
 * each share's mean loss), weighted by share_rows / batch_rows, summed over the ranks
 * into the graph's gradients. */
nb_status nb_comm_share_gradient(const nb_comm *comm, nb_graph *graph, int64_t share_rows, int64_t batch_rows);

#endif
