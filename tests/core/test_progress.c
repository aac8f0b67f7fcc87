/* The progress line (live on a pseudo-terminal, plain elsewhere) and the text chart. */
#include "nb_test.h"

#include <fcntl.h>
#include <pty.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <termios.h>
#include <time.h>
#include <unistd.h>

/* ---- helpers ---------------------------------------------------------------------- */

static double seconds(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

static int count_occurrences(const char *text, const char *part)
{
    int count = 0;
    for (const char *p = strstr(text, part); p; p = strstr(p + 1, part))
        count++;
    return count;
}

/* True when the text holds no byte below 0x20 but '\n' (no '\r', no escape). */
static bool plain_text(const char *text)
{
    for (const unsigned char *c = (const unsigned char *)text; *c; c++)
        if (*c < 0x20 && *c != '\n')
            return false;
    return true;
}

static size_t code_points(const char *begin, const char *end)
{
    size_t count = 0;
    for (const char *c = begin; c < end; c++)
        count += ((unsigned char)*c & 0xC0) != 0x80;
    return count;
}

/* A pseudo-terminal `columns` wide: the progress writes to the slave, the test reads
 * what a terminal would receive from the master. */
typedef struct terminal {
    int master;
    FILE *stream;
    char *output;
    size_t size, capacity;
} terminal;

static void terminal_open(terminal *t, int columns)
{
    struct winsize size = {.ws_row = 24, .ws_col = (unsigned short)columns};
    int slave;
    assert_int_equal(openpty(&t->master, &slave, NULL, NULL, &size), 0);
    struct termios mode;
    tcgetattr(slave, &mode);
    mode.c_oflag &= ~(tcflag_t)OPOST; /* the bytes as written, no "\n" -> "\r\n" */
    tcsetattr(slave, TCSANOW, &mode);
    fcntl(t->master, F_SETFL, O_NONBLOCK);
    t->stream = fdopen(slave, "w");
    assert_non_null(t->stream);
    t->capacity = 1 << 16;
    t->output = calloc(1, t->capacity);
    t->size = 0;
}

/* Take what the terminal has received so far (the pty's buffer must not fill up). */
static void terminal_drain(terminal *t)
{
    for (;;) {
        if (t->size + 4096 + 1 > t->capacity) {
            t->capacity *= 2;
            t->output = realloc(t->output, t->capacity);
        }
        ssize_t got = read(t->master, t->output + t->size, 4096);
        if (got <= 0)
            break;
        t->size += (size_t)got;
    }
    t->output[t->size] = '\0';
}

static void terminal_close(terminal *t)
{
    fclose(t->stream);
    close(t->master);
    free(t->output);
}

/* The text written to a memory stream (never a terminal) by `draw`. */
typedef struct memory {
    FILE *stream;
    char *text;
    size_t size;
} memory;

static void memory_open(memory *m)
{
    m->text = NULL;
    m->size = 0;
    m->stream = open_memstream(&m->text, &m->size);
    assert_non_null(m->stream);
}

static void memory_close(memory *m)
{
    fclose(m->stream);
    free(m->text);
}

/* ---- the progress line ------------------------------------------------------------- */

static void test_live_line_on_a_terminal(void **state)
{
    (void)state;
    setenv("TERM", "xterm", 1);
    terminal t;
    terminal_open(&t, 80);
    double start = seconds();
    nb_progress *progress = nb_progress_new(t.stream, "training", 1000, "batch");
    assert_non_null(progress);
    assert_true(nb_progress_is_live(progress));
    for (int i = 1; i <= 1000; i++) {
        nb_progress_update(progress, i, 0.5);
        if (i == 500)
            nb_progress_note(progress, "epoch 1  loss 0.5");
        if (i % 100 == 0)
            terminal_drain(&t);
    }
    nb_progress_finish(progress);
    double elapsed = seconds() - start;
    nb_progress_free(progress);
    terminal_drain(&t);

    const char *out = t.output;
    assert_non_null(strstr(out, "\r"));
    assert_non_null(strstr(out, "\x1b[K"));
    assert_non_null(strstr(out, "training"));
    assert_non_null(strstr(out, "100% "));
    assert_non_null(strstr(out, "1000/1000"));
    assert_non_null(strstr(out, "\xE2\x96\x88")); /* a full block of the bar */
    assert_non_null(strstr(out, "batch/s"));
    assert_non_null(strstr(out, "loss 0.5"));
    assert_non_null(strstr(out, "epoch 1  loss 0.5\n"));
    assert_true(out[t.size - 1] == '\n'); /* the finished line is ended */
    /* throttled: the first draw, one per 0.1 s, the note's redraw and the final one */
    int draws = count_occurrences(out, "\x1b[K");
    assert_true(draws >= 2);
    assert_true(draws <= 4 + (int)(elapsed / 0.1));
    /* no line is wider than the terminal minus its last column */
    const char *line = out;
    while (*line) {
        const char *end = line + strcspn(line, "\r\n");
        const char *escape = strstr(line, "\x1b[K");
        if (escape && escape < end)
            end = escape;
        assert_true(code_points(line, end) <= 79);
        line = end + strspn(end, "\r\n\x1b[K");
    }
    terminal_close(&t);
}

/* A tight loop of many updates draws a handful of times and reads the clock rarely. */
static void test_updates_are_throttled(void **state)
{
    (void)state;
    setenv("TERM", "xterm", 1);
    terminal t;
    terminal_open(&t, 100);
    nb_progress *progress = nb_progress_new(t.stream, "fit", 2000000, NULL);
    double start = seconds();
    for (int i = 1; i <= 2000000; i++) {
        nb_progress_update(progress, i, 1.0 / i);
        if (i % 100000 == 0)
            terminal_drain(&t);
    }
    double elapsed = seconds() - start;
    nb_progress_free(progress);
    terminal_drain(&t);
    int draws = count_occurrences(t.output, "\x1b[K");
    assert_true(draws >= 2);
    assert_true(draws <= 3 + (int)(elapsed / 0.1));
    assert_non_null(strstr(t.output, "it/s")); /* the default unit */
    terminal_close(&t);
}

/* With time passing between updates the line is redrawn as it goes. */
static void test_slow_updates_redraw(void **state)
{
    (void)state;
    setenv("TERM", "xterm", 1);
    terminal t;
    terminal_open(&t, 80);
    nb_progress *progress = nb_progress_new(t.stream, "slow", 10, "epoch");
    for (int i = 1; i <= 10; i++) {
        struct timespec pause = {0, 40 * 1000 * 1000};
        nanosleep(&pause, NULL);
        nb_progress_update(progress, i, NAN);
        terminal_drain(&t);
    }
    nb_progress_free(progress);
    terminal_drain(&t);
    /* 0.4 s of updates: at least the first draw, three more and the final one */
    assert_true(count_occurrences(t.output, "\x1b[K") >= 5);
    assert_non_null(strstr(t.output, "ETA"));
    assert_null(strstr(t.output, "loss")); /* NAN: no loss shown */
    terminal_close(&t);
}

static void test_narrow_terminal_and_unknown_total(void **state)
{
    (void)state;
    setenv("TERM", "xterm", 1);
    terminal t;
    terminal_open(&t, 30);
    nb_progress *progress = nb_progress_new(t.stream, "a rather long label for a loop", 50, "sample");
    for (int i = 1; i <= 50; i++)
        nb_progress_update(progress, i, 0.125);
    nb_progress_free(progress);
    terminal_drain(&t);
    const char *line = t.output;
    while (*line) {
        const char *end = line + strcspn(line, "\r\n");
        const char *escape = strstr(line, "\x1b[K");
        if (escape && escape < end)
            end = escape;
        assert_true(code_points(line, end) <= 29);
        line = end + strspn(end, "\r\n\x1b[K");
    }
    terminal_close(&t);

    terminal_open(&t, 80);
    progress = nb_progress_new(t.stream, "reading", 0, "row");
    for (int i = 1; i <= 37; i++)
        nb_progress_update(progress, i, NAN);
    nb_progress_free(progress);
    terminal_drain(&t);
    assert_non_null(strstr(t.output, "37 row"));
    assert_null(strstr(t.output, "%"));
    assert_null(strstr(t.output, "\xE2\x96\x95")); /* no bar */
    terminal_close(&t);
}

/* TERM=dumb is not a terminal worth redrawing on. */
static void test_dumb_terminal_is_plain(void **state)
{
    (void)state;
    setenv("TERM", "dumb", 1);
    terminal t;
    terminal_open(&t, 80);
    nb_progress *progress = nb_progress_new(t.stream, "x", 3, NULL);
    assert_false(nb_progress_is_live(progress));
    nb_progress_free(progress);
    terminal_close(&t);
    setenv("TERM", "xterm", 1);
}

static void test_plain_lines_elsewhere(void **state)
{
    (void)state;
    memory m;
    memory_open(&m);
    nb_progress *progress = nb_progress_new(m.stream, "training", 300, "batch");
    assert_false(nb_progress_is_live(progress));
    for (int epoch = 1; epoch <= 3; epoch++) {
        for (int b = 1; b <= 100; b++)
            nb_progress_update(progress, (epoch - 1) * 100 + b, 1.0 / epoch);
        nb_progress_note(progress, "epoch %d  loss %.4f", epoch, 1.0 / epoch);
    }
    nb_progress_finish(progress);
    nb_progress_update(progress, 999, 9); /* ignored after finish */
    nb_progress_finish(progress);
    nb_progress_free(progress);
    fflush(m.stream);
    assert_true(plain_text(m.text));
    assert_non_null(strstr(m.text, "epoch 1  loss 1.0000\nepoch 2  loss 0.5000\nepoch 3  loss 0.3333\n"));
    const char *summary = strstr(m.text, "training: 300/300");
    assert_non_null(summary);
    assert_non_null(strstr(summary, "batch/s"));
    assert_non_null(strstr(summary, "loss 0.3333"));
    assert_non_null(strstr(summary, " s \xC2\xB7 loss 0.3333\n"));
    assert_int_equal(count_occurrences(m.text, "training:"), 1); /* finished once */
    assert_null(strstr(m.text, "999"));
    memory_close(&m);
}

static void test_progress_bad_input(void **state)
{
    (void)state;
    assert_null(nb_progress_new(NULL, "x", 10, NULL));
    assert_int_equal(nb_errcode(), NB_EARG);
    assert_non_null(strstr(nb_errmsg(), "stream"));
    memory m;
    memory_open(&m);
    assert_null(nb_progress_new(m.stream, "x", -5, NULL));
    assert_int_equal(nb_errcode(), NB_EARG);
    assert_non_null(strstr(nb_errmsg(), "-5"));
    memory_close(&m);
    /* a NULL progress is quietly ignored everywhere */
    nb_progress_update(NULL, 1, 1);
    nb_progress_note(NULL, "nothing %d", 1);
    nb_progress_finish(NULL);
    nb_progress_free(NULL);
    assert_false(nb_progress_is_live(NULL));
}

/* ---- the text chart ------------------------------------------------------------------ */

/* The chart's lines, split; returns how many. */
static int split_lines(char *text, char **lines, int max)
{
    int n = 0;
    for (char *line = strtok(text, "\n"); line && n < max; line = strtok(NULL, "\n"))
        lines[n++] = line;
    return n;
}

static void test_chart_shape_and_extremes(void **state)
{
    (void)state;
    double values[10];
    for (int i = 0; i < 10; i++)
        values[i] = i + 1;
    memory m;
    memory_open(&m);
    nb_text_chart_opts opts = {.title = "rising", .width = 20, .height = 4};
    assert_int_equal(nb_text_chart(m.stream, values, 10, &opts), NB_OK);
    fflush(m.stream);
    assert_true(plain_text(m.text));
    char *lines[16];
    int n = split_lines(m.text, lines, 16);
    assert_int_equal(n, 1 + 4 + 2); /* title, rows, axis, x labels */
    assert_non_null(strstr(lines[0], "rising"));
    /* the largest value labels the top row, the smallest the bottom one */
    assert_int_equal(strncmp(lines[1], "10 \xE2\x94\xA4", 6), 0);
    assert_int_equal(strncmp(lines[4], " 1 \xE2\x94\xA4", 6), 0);
    /* ten values on twenty columns: two each; the last value fills the top row, the
     * first only the bottom one */
    const char *full = "\xE2\x96\x88";
    const char *top = lines[1] + 6, *bottom = lines[4] + 6;
    assert_int_equal(code_points(top, top + strlen(top)), 20);
    assert_string_equal(top + strlen(top) - 6, "\xE2\x96\x88\xE2\x96\x88");
    assert_true(top[0] == ' ' && top[1] == ' ');
    assert_null(strchr(bottom, ' ')); /* every value shows in the bottom row */
    assert_int_equal(strncmp(bottom, "\xE2\x96\x81", 3), 0); /* the smallest: one eighth */
    assert_int_equal(strncmp(bottom + strlen(bottom) - 3, full, 3), 0);
    assert_non_null(strstr(lines[5], "\xE2\x94\x94")); /* └ */
    assert_int_equal(count_occurrences(lines[5], "\xE2\x94\x80"), 20);
    assert_non_null(strstr(lines[6], "1"));
    assert_string_equal(lines[6] + strlen(lines[6]) - 2, "10");
    memory_close(&m);
}

static void test_chart_log_scale_and_averaging(void **state)
{
    (void)state;
    enum { N = 500 };
    double loss[N];
    for (int i = 0; i < N; i++)
        loss[i] = pow(10, -6.0 * i / (N - 1)); /* 1 down to 1e-6 */
    memory m;
    memory_open(&m);
    nb_text_chart_opts opts = {.width = 50, .height = 5, .log_y = true, .x_first = 0, .x_last = 0.99};
    assert_int_equal(nb_text_chart(m.stream, loss, N, &opts), NB_OK);
    fflush(m.stream);
    assert_true(plain_text(m.text));
    char *lines[16];
    int n = split_lines(m.text, lines, 16);
    assert_int_equal(n, 5 + 2);
    assert_int_equal(strncmp(lines[0], "    1 \xE2\x94\xA4", 9), 0);
    assert_int_equal(strncmp(lines[4], "1e-06 \xE2\x94\xA4", 9), 0);
    /* 500 values averaged into exactly 50 columns; on a log scale a geometric decay is
     * a straight ramp, so the top row holds only the first columns */
    const char *top = lines[0] + 9;
    assert_int_equal(code_points(top, top + strlen(top)), 50);
    assert_int_equal(strncmp(top, "\xE2\x96", 2), 0);
    assert_true(top[strlen(top) - 1] == ' ');
    assert_int_equal(count_occurrences(lines[5], "\xE2\x94\x80"), 50);
    assert_non_null(strstr(lines[6], "0.99"));
    memory_close(&m);
}

static void test_chart_gaps_and_flat_series(void **state)
{
    (void)state;
    memory m;
    memory_open(&m);
    double with_gap[3] = {1, NAN, 3};
    assert_int_equal(nb_text_chart(m.stream, with_gap, 3, &(nb_text_chart_opts){.width = 3, .height = 2}), NB_OK);
    fflush(m.stream);
    char *lines[8];
    int n = split_lines(m.text, lines, 8);
    assert_int_equal(n, 4);
    /* the bottom row: a block, an empty column, a block */
    const char *bottom = lines[1] + strlen("1 \xE2\x94\xA4");
    assert_int_equal(code_points(bottom, bottom + strlen(bottom)), 3);
    assert_true(bottom[3] == ' ');
    memory_close(&m);

    memory_open(&m);
    double flat[4] = {5, 5, 5, 5};
    assert_int_equal(nb_text_chart(m.stream, flat, 4, NULL), NB_OK); /* defaults: 6 rows, 60 columns */
    fflush(m.stream);
    n = split_lines(m.text, lines, 8);
    assert_int_equal(n, 6 + 2);
    assert_int_equal(strncmp(lines[0], "5 \xE2\x94\xA4", 5), 0);
    assert_int_equal(count_occurrences(lines[6], "\xE2\x94\x80"), 60);
    memory_close(&m);

    /* up to 100 values get a column each by default, rather than uneven averages */
    memory_open(&m);
    double ramp[80];
    for (int i = 0; i < 80; i++)
        ramp[i] = i;
    assert_int_equal(nb_text_chart(m.stream, ramp, 80, NULL), NB_OK);
    fflush(m.stream);
    n = split_lines(m.text, lines, 10);
    assert_int_equal(n, 8);
    assert_int_equal(count_occurrences(lines[6], "\xE2\x94\x80"), 80);
    memory_close(&m);
}

static void test_chart_bad_input(void **state)
{
    (void)state;
    double values[3] = {1, 2, 3}, nan3[3] = {NAN, NAN, INFINITY}, negative[2] = {-1, 0};
    memory m;
    memory_open(&m);
    assert_int_equal(nb_text_chart(NULL, values, 3, NULL), NB_EARG);
    assert_non_null(strstr(nb_errmsg(), "stream"));
    assert_int_equal(nb_text_chart(m.stream, NULL, 3, NULL), NB_EARG);
    assert_int_equal(nb_text_chart(m.stream, values, 0, NULL), NB_EARG);
    assert_int_equal(nb_text_chart(m.stream, nan3, 3, NULL), NB_ENUMERIC);
    assert_non_null(strstr(nb_errmsg(), "finite"));
    assert_int_equal(nb_text_chart(m.stream, negative, 2, &(nb_text_chart_opts){.log_y = true}), NB_ENUMERIC);
    assert_non_null(strstr(nb_errmsg(), "positive"));
    assert_int_equal(nb_text_chart(m.stream, values, 3, &(nb_text_chart_opts){.width = 5000}), NB_EARG);
    assert_int_equal(nb_text_chart(m.stream, values, 3, &(nb_text_chart_opts){.height = -1}), NB_EARG);
    fflush(m.stream);
    assert_int_equal(m.size, 0); /* nothing written on a refusal */
    memory_close(&m);

    /* a stream that cannot be written */
    FILE *read_only = fopen("/dev/null", "r");
    assert_non_null(read_only);
    assert_int_equal(nb_text_chart(read_only, values, 3, NULL), NB_EIO);
    fclose(read_only);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_live_line_on_a_terminal),
        cmocka_unit_test(test_updates_are_throttled),
        cmocka_unit_test(test_slow_updates_redraw),
        cmocka_unit_test(test_narrow_terminal_and_unknown_total),
        cmocka_unit_test(test_dumb_terminal_is_plain),
        cmocka_unit_test(test_plain_lines_elsewhere),
        cmocka_unit_test(test_progress_bad_input),
        cmocka_unit_test(test_chart_shape_and_extremes),
        cmocka_unit_test(test_chart_log_scale_and_averaging),
        cmocka_unit_test(test_chart_gaps_and_flat_series),
        cmocka_unit_test(test_chart_bad_input),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
