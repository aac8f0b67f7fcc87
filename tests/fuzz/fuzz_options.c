/* The option values of the commands (cli/options.c), which every whole-number, number and
 * plot-file option goes through: each line of the input is given to each parser, and
 * what a parser accepts must keep its promise (in range, finite). */
#include "fuzz_common.h"

#include "cli.h"

#include <math.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

/* cli/main.c's cli_error prints the message; here it is formatted (so that a bad format
 * or argument still shows under the sanitizers) and dropped. */
void cli_error(const char *command, const char *fmt, ...)
{
    char text[512];
    if (!fmt)
        return;
    va_list args;
    va_start(args, fmt);
    vsnprintf(text, sizeof text, fmt, args);
    va_end(args);
    (void)command;
}

static void check_line(const char *text)
{
    uint64_t count;
    if (cli_parse_count("train", "--epochs", text, 1, CLI_MAX_EPOCHS, &count) && (count < 1 || count > CLI_MAX_EPOCHS))
        __builtin_trap();
    cli_parse_count("train", "--seed", text, 0, UINT64_MAX, &count);
    for (int bound = CLI_ANY; bound <= CLI_FRACTION; bound++) {
        double value;
        if (!cli_parse_number("fit", "--tol", text, (cli_bound)bound, &value))
            continue;
        bool ok = isfinite(value) && (bound != CLI_POSITIVE || value > 0) &&
                  (bound != CLI_NONNEGATIVE || value >= 0) && (bound != CLI_FRACTION || (value > 0 && value < 1));
        if (!ok)
            __builtin_trap();
    }
    cli_plot_path_ok(text);
    cli_animation_path_ok(text);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    fuzz_begin(size);
    char *text = malloc(size + 1);
    if (!text)
        return 0;
    memcpy(text, data, size);
    text[size] = '\0';
    for (char *line = text, *next; line; line = next) {
        next = strchr(line, '\n');
        if (next)
            *next++ = '\0';
        check_line(line);
    }
    free(text);
    return 0;
}
