/* nabla: fit formulas, train networks, and replay the tutorials, from the command line. */
#include "cli.h"

#include <errno.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "dist.h"

static const nb_command commands[] = {
    {"demo", "replay a tutorial (docs/tutorials.md), then go beyond it (default: quadratic)", cmd_demo},
    {"train", "train a network on Fashion-MNIST or a CSV file", cmd_train},
    {"predict", "run a trained model on data: predictions, or accuracy and confusion matrix", cmd_predict},
    {"fit", "fit the parameters of a formula to data (least squares)", cmd_fit},
    {"eval", "evaluate a saved fit at new inputs, with confidence and prediction intervals", cmd_eval},
    {NULL, NULL, NULL},
};

/* This process's rank in an MPI job of more than one (cli_set_rank), for the messages. */
static int rank = -1, ranks;

void cli_set_rank(int this_rank, int size)
{
    rank = size > 1 ? this_rank : -1;
    ranks = size;
}

bool dist_launched(void)
{
    /* Open MPI's mpirun, and PMI/PMIx launchers (MPICH's hydra, Slurm's srun) */
    static const char *const names[] = {"OMPI_COMM_WORLD_SIZE", "PMI_SIZE", "PMIX_RANK"};
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++)
        if (getenv(names[i]))
            return true;
    return false;
}

long dist_launched_ranks(void)
{
    const char *size = getenv("OMPI_COMM_WORLD_SIZE");
    if (!size)
        size = getenv("PMI_SIZE");
    return size ? strtol(size, NULL, 10) : 1;
}

void dist_share_cores(const nb_comm *comm)
{
    int local = dist_local_ranks(comm);
    if (local > 1)
        nb_set_threads(nb_get_threads() / local > 1 ? nb_get_threads() / local : 1);
}

void cli_error(const char *command, const char *fmt, ...)
{
    if (rank >= 0)
        fprintf(stderr, "nabla %s (rank %d of %d): ", command, rank, ranks);
    else
        fprintf(stderr, "nabla %s: ", command);
    if (fmt) {
        va_list args;
        va_start(args, fmt);
        vfprintf(stderr, fmt, args);
        va_end(args);
    } else {
        fputs(nb_errmsg(), stderr);
    }
    fputc('\n', stderr);
}

static void usage(FILE *out)
{
    fprintf(out, "nabla %s: learn parameters by gradient descent and backpropagation\n\n"
                 "usage: nabla COMMAND [options]      (nabla COMMAND --help for its options)\n\n"
                 "commands:\n",
            NABLA_VERSION);
    for (const nb_command *c = commands; c->name; c++)
        fprintf(out, "  %-10s %s\n", c->name, c->summary);
    fprintf(out, "\n  --help     this text\n  --version  the version, the BLAS in use, the optional parts built\n");
}

static void print_version(void)
{
    printf("nabla %s (library %s)\n", NABLA_VERSION, nb_version());
    printf("BLAS: %s\n", nb_blas_backend());
    printf("plot: %s\n", NB_HAVE_PLOT ? "yes (cairo)" : "no (built without cairo: --plot is unavailable)");
    char mpi[256];
    dist_describe(mpi, sizeof mpi);
    printf("MPI: %s\n", mpi);
}

/* Results that did not all reach stdout (a full disk, a closed file) are a failed run,
 * whatever the command found. */
static int check_output(const char *command, int status)
{
    errno = 0;
    bool flush_failed = fflush(stdout) != 0;
    int error = errno;
    if (!flush_failed && !ferror(stdout))
        return status;
    fprintf(stderr, "nabla %s: the output could not be written%s%s; what was written is incomplete\n", command,
            flush_failed && error ? ": " : "", flush_failed && error ? strerror(error) : "");
    return status == 0 ? 1 : status;
}

int main(int argc, char **argv)
{
    if (argc < 2) {
        usage(stderr);
        return 2;
    }
    if (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0 || strcmp(argv[1], "help") == 0) {
        usage(stdout);
        return 0;
    }
    if (strcmp(argv[1], "--version") == 0) {
        print_version();
        return 0;
    }
    for (const nb_command *c = commands; c->name; c++)
        if (strcmp(argv[1], c->name) == 0)
            return check_output(c->name, c->run(argc - 1, argv + 1));
    fprintf(stderr, "nabla: unknown command '%s'\n\n", argv[1]);
    usage(stderr);
    return 2;
}
