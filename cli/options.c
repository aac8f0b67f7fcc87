/* Option values shared by the commands: one rule for whole numbers, one for numbers, one
 * for plot files, so that `--epochs 2.7` or `--seed -1` mean the same thing everywhere. */
#include "cli.h"

#include <ctype.h>
#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

bool cli_parse_count(const char *command, const char *option, const char *text, uint64_t low, uint64_t high,
                     uint64_t *value)
{
    /* strtoull alone would take "-1" (as 2^64 - 1), "+5" and leading blanks */
    bool digits = isdigit((unsigned char)text[0]);
    char *end = NULL;
    errno = 0;
    unsigned long long parsed = digits ? strtoull(text, &end, 10) : 0;
    if (digits && !*end && errno != ERANGE && parsed >= low && parsed <= high) {
        *value = parsed;
        return true;
    }
    if (high == UINT64_MAX)
        cli_error(command, "%s: expected a whole number >= %" PRIu64 ", got '%s'", option, low, text);
    else
        cli_error(command, "%s: expected a whole number from %" PRIu64 " to %" PRIu64 ", got '%s'", option, low, high,
                  text);
    return false;
}

bool cli_number(const char *text, double *value)
{
    char *end;
    errno = 0;
    double parsed = strtod(text, &end);
    if (end == text || errno == ERANGE || !isfinite(parsed))
        return false;
    while (isspace((unsigned char)*end))
        end++;
    if (*end)
        return false;
    *value = parsed;
    return true;
}

bool cli_parse_number(const char *command, const char *option, const char *text, cli_bound bound, double *value)
{
    double parsed;
    bool ok = cli_number(text, &parsed);
    static const char *const wanted[] = {"a number", "a positive number", "a number >= 0",
                                         "a number between 0 and 1 (both excluded)"};
    switch (bound) {
    case CLI_ANY: break;
    case CLI_POSITIVE: ok = ok && parsed > 0; break;
    case CLI_NONNEGATIVE: ok = ok && parsed >= 0; break;
    case CLI_FRACTION: ok = ok && parsed > 0 && parsed < 1; break;
    }
    if (!ok) {
        cli_error(command, "%s: expected %s, got '%s'", option, wanted[bound], text);
        return false;
    }
    *value = parsed;
    return true;
}

bool cli_plot_path_ok(const char *path)
{
#if !NB_HAVE_PLOT
    /* Every --plot passes here first: say why it cannot be, rather than that the file
     * name is wrong. */
    (void)path;
    fputs("nabla: --plot is unavailable: this nabla was built without cairo (nabla::plot); "
          "install cairo (Debian: libcairo2-dev) and rebuild nabla to draw plots\n", stderr);
    exit(2);
#endif
    const char *slash = strrchr(path, '/');
    const char *dot = strrchr(slash ? slash + 1 : path, '.');
    return dot && (strcasecmp(dot, ".png") == 0 || strcasecmp(dot, ".svg") == 0 || strcasecmp(dot, ".pdf") == 0);
}
