/* The nabla command-line program: one file per command, each an entry of the table in
 * main.c. A command returns the process exit status: 0 success, 1 failure of the job
 * (bad data, no convergence), 2 bad usage. */
#ifndef NABLA_CLI_H
#define NABLA_CLI_H

#include <stdbool.h>
#include <stdio.h>

#include "nabla.h"

typedef struct nb_command {
    const char *name;
    const char *summary; /* one line for `nabla --help` */
    int (*run)(int argc, char **argv); /* argv[0] is the command's name */
} nb_command;

/* Print "nabla NAME: message" to stderr (the library's message when fmt is NULL). */
void cli_error(const char *command, const char *fmt, ...);

/* The commands. */
int cmd_demo(int argc, char **argv);
int cmd_fit(int argc, char **argv);
int cmd_train(int argc, char **argv);
int cmd_predict(int argc, char **argv);

#endif
