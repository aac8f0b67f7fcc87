/* The nabla command-line program: one file per command, each an entry of the table in
 * main.c. A command returns the process exit status: 0 success, 1 failure of the job
 * (bad data, no convergence), 2 bad usage. */
#ifndef NABLA_CLI_H
#define NABLA_CLI_H

#include <stdbool.h>
#include <stdio.h>

#include "nabla.h"

/* 0 when the program is built without cairo (CMake: no nabla::plot): --plot is refused. */
#ifndef NB_HAVE_PLOT
#define NB_HAVE_PLOT 1
#endif

typedef struct nb_command {
    const char *name;
    const char *summary; /* one line for `nabla --help` */
    int (*run)(int argc, char **argv); /* argv[0] is the command's name */
} nb_command;

/* Print "nabla NAME: message" to stderr (the library's message when fmt is NULL); in an
 * MPI job of several ranks, "nabla NAME (rank R of N): message". */
void cli_error(const char *command, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* This process is rank `rank` of `size` (cli/dist.c, once MPI is up). */
void cli_set_rank(int rank, int size);

/* ---- option values, the same rules in every command (cli/options.c) ------------------
 * The parsers print "nabla COMMAND: OPTION: expected ..., got 'TEXT'" and return false
 * when the text is not what the option takes. */

/* A whole number from low to high: digits only (no sign, fraction or exponent), no
 * overflow. */
bool cli_parse_count(const char *command, const char *option, const char *text, uint64_t low, uint64_t high,
                     uint64_t *value);

/* The most epochs a command runs (fit's gradient methods, train). */
#define CLI_MAX_EPOCHS 100000000

/* What a number may be. */
typedef enum cli_bound {
    CLI_ANY,         /* any finite number */
    CLI_POSITIVE,    /* > 0 */
    CLI_NONNEGATIVE, /* >= 0 */
    CLI_FRACTION     /* > 0 and < 1 */
} cli_bound;
/* A finite number within the bound. */
bool cli_parse_number(const char *command, const char *option, const char *text, cli_bound bound, double *value);
/* The same rule without a message: the whole text one finite number (surrounding blanks
 * allowed), not out of a double's range. */
bool cli_number(const char *text, double *value);

/* Whether `path` ends in an extension nb_figure_save knows (.png, .svg, .pdf), so that a
 * --plot FILE can be refused before any work is done. */
bool cli_plot_path_ok(const char *path);
/* Whether `path` ends in .gif: an animation (nb_animation_save), for the commands that
 * draw one (nabla demo). */
bool cli_animation_path_ok(const char *path);

/* The commands. */
int cmd_demo(int argc, char **argv);
int cmd_fit(int argc, char **argv);
int cmd_train(int argc, char **argv);
int cmd_predict(int argc, char **argv);
int cmd_eval(int argc, char **argv);

#endif
