/* Running the built nabla program from a CLI test: the scratch folder (nb_test_dir(),
 * made by nb_test_make_dir as group setup and removed by nb_test_remove_dir), files in
 * it, and the program's exit status, stdout and stderr. One copy for every test in
 * tests/cli/, which include it after nb_test.h. */
#ifndef NB_TEST_CLI_RUN_H
#define NB_TEST_CLI_RUN_H

#include "nb_test.h"

#include <cjson/cJSON.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>

/* What the last run_shell or run printed (large enough for a table of predictions). */
static char out_text[1 << 22], err_text[1 << 16];

/* The file at path into buf, NUL-terminated (empty when unreadable). */
static inline void read_file(const char *path, char *buf, size_t size)
{
    FILE *file = fopen(path, "r");
    size_t n = file ? fread(buf, 1, size - 1, file) : 0;
    buf[n] = '\0';
    if (file)
        fclose(file);
}

/* A file named name in the scratch folder, holding text. */
static inline void write_file(const char *name, const char *text)
{
    FILE *file = fopen(nb_test_path(name), "w");
    assert_non_null(file);
    fputs(text, file);
    fclose(file);
}

/* Run a shell command line in the scratch folder, NABLA standing for the program;
 * stdout and stderr land in out_text and err_text. A sanitizer's report fails the test
 * even where the program's exit status hides it. Returns the exit status. */
static inline int run_shell(const char *line)
{
    char command[4096];
    int length = snprintf(command, sizeof command, "cd %s && NABLA=%s; %s >out.txt 2>err.txt", nb_test_dir(),
                          NB_CLI_PATH, line);
    if (length < 0 || (size_t)length >= sizeof command)
        fail_msg("the command line is longer than %zu bytes: %s", sizeof command, line);
    int status = system(command);
    read_file(nb_test_path("out.txt"), out_text, sizeof out_text);
    read_file(nb_test_path("err.txt"), err_text, sizeof err_text);
    if (strstr(err_text, "Sanitizer") || strstr(err_text, "runtime error"))
        fail_msg("%s crashed:\n%s", line, err_text);
    return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

/* Run `nabla ARGS` in the scratch folder (ARGS a piece of shell command line). */
static inline int run(const char *args)
{
    char line[4096];
    snprintf(line, sizeof line, "\"$NABLA\" %s", args);
    return run_shell(line);
}

static inline void expect_out(const char *needle)
{
    if (!strstr(out_text, needle))
        fail_msg("stdout lacks '%s':\n%s\nstderr:\n%s", needle, out_text, err_text);
}

static inline void expect_err(const char *needle)
{
    if (!strstr(err_text, needle))
        fail_msg("stderr lacks '%s':\n%s", needle, err_text);
}

/* Run `nabla ARGS` from the test's own folder; stdout parsed as JSON into *json when
 * asked (NULL if it is not JSON), stderr copied into err when asked. Returns the exit
 * status. */
static inline int run_piped(const char *args, cJSON **json, char *err, size_t err_size)
{
    char command[4096];
    snprintf(command, sizeof command, "%s %s 2>%s", NB_CLI_PATH, args, nb_test_path("stderr.txt"));
    FILE *pipe = popen(command, "r");
    assert_non_null(pipe);
    size_t size = 0, capacity = 1 << 22, got;
    char *text = malloc(capacity);
    assert_non_null(text);
    while ((got = fread(text + size, 1, capacity - size - 1, pipe)) > 0)
        size += got;
    text[size] = '\0';
    int status = pclose(pipe);
    if (json)
        *json = cJSON_Parse(text);
    free(text);
    if (err)
        read_file(nb_test_path("stderr.txt"), err, err_size);
    return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

/* The number called name in a JSON object; fails the test where there is none. */
static inline double number(const cJSON *o, const char *name)
{
    const cJSON *item = cJSON_GetObjectItemCaseSensitive(o, name);
    if (!cJSON_IsNumber(item))
        fail_msg("no number '%s'", name);
    return item->valuedouble;
}

#endif
