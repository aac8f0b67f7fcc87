/* `mpirun -np N nabla train`: the ranks of one job (cli/dist.c with nabla::mpi, in the
 * module nabla-mpi.so that cli/dist_loader.c loads under a launcher), or a stand-in that
 * says MPI is not built in (cli/dist_absent.c). */
#ifndef NABLA_CLI_DIST_H
#define NABLA_CLI_DIST_H

#include "cli.h"

/* The job's ranks when mpirun (or another MPI launcher) started this process, with MPI
 * initialised; NULL when it runs alone, with *status 0, or when that cannot be, with
 * *status the exit status after a message (MPI not built in, MPI failing). */
const nb_comm *dist_open(const char *command, int *status);
/* MPI's end (MPI_Finalize); nothing for NULL. */
void dist_close(const nb_comm *comm);
/* The ranks of the job on this machine (1 alone), who share its cores. */
int dist_local_ranks(const nb_comm *comm);
/* Every rank's status after a stage of `command`: a failure on any rank ends the job on
 * every rank (with the failing rank's status), the others naming it. The status alone. */
int dist_agree(const nb_comm *comm, const char *command, int status, const char *stage);
/* Every rank's `text`, joined in rank order, on rank 0 (malloc'd; NULL on the other
 * ranks); alone, a copy (NULL when out of memory, after a message). MPI failing ends the job. */
char *dist_gather_text(const nb_comm *comm, const char *command, const char *text);
/* For --version: "yes (Open MPI v4.1.4)" or "no (...)". */
void dist_describe(char *text, size_t size);
/* Whether an MPI launcher started this process (its environment says so; main.c). */
bool dist_launched(void);
/* The ranks of the job, as its launcher's environment says (1 alone or unknown). */
long dist_launched_ranks(void);
/* The ranks on one machine share its cores: each takes its part of the thread pool. */
void dist_share_cores(const nb_comm *comm);

#endif
