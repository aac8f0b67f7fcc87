/* The program's optional parts that pull in large libraries are modules it loads with
 * dlopen when first needed (cli/plot_loader.c: nabla-plot.so with cairo; cli/dist_loader.c:
 * nabla-mpi.so with MPI), so that a run needing neither starts without them. */
#ifndef NABLA_CLI_MODULE_H
#define NABLA_CLI_MODULE_H

#include <stddef.h>

/* dlopen the module `name` (e.g. "nabla-plot.so") from the program's folder (the build
 * tree), then from where it is installed relative to the program (NB_MODULE_DIR, e.g.
 * ../lib/nabla), so that an installed tree can be moved. NULL when it cannot be loaded,
 * with the last reason in `why`. */
void *cli_module_open(const char *name, char *why, size_t size);

#endif
