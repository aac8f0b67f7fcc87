/* nabla progress: a live progress line for training and fitting loops, and a small
 * Unicode chart of a series (the loss per epoch) for the end of a run.
 *
 *     nb_progress *bar = nb_progress_new(stderr, "training", epochs * batches, "batch");
 *     for (int epoch = 1; epoch <= epochs; epoch++) {
 *         for (int b = 0; b < batches; b++) {
 *             ...;
 *             nb_progress_update(bar, (int64_t)(epoch - 1) * batches + b + 1, loss);
 *         }
 *         nb_progress_note(bar, "epoch %d  loss %.4f  accuracy %.3f", epoch, loss, accuracy);
 *     }
 *     nb_progress_finish(bar);
 *     nb_progress_free(bar);
 *     nb_text_chart(stderr, history, epochs, &(nb_text_chart_opts){.title = "loss", .log_y = true});
 *
 * On a terminal (isatty, TERM not "dumb") the progress line is redrawn in place with
 * '\r' at most ten times a second: label, percentage, a bar, count, rate, ETA, loss.
 * Anywhere else (a pipe, a log file) it writes plain lines with no control characters:
 * the notes, a status line at most every 30 s, and a summary at the end. Updates are
 * cheap enough for the innermost loop: most return after one comparison, and the clock
 * is read only a few hundred times a second.
 *
 * The functions write only to the stream the caller gave, never elsewhere; write errors
 * on that stream are ignored (a progress line is not worth failing a run for). A NULL
 * progress is accepted and ignored by every function, so `quiet ? NULL : nb_progress_new(...)`
 * needs no other test. Not thread-safe: update from one thread. */
#ifndef NABLA_PROGRESS_H
#define NABLA_PROGRESS_H

#include "nabla/core.h"

#include <stdbool.h>
#include <stdio.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef struct nb_progress nb_progress;

/* A progress line on `stream` for a loop of `total` steps (0 when unknown: no bar, no
 * ETA). label and unit (e.g. "training", "batch") are copied; unit may be NULL ("it").
 * NULL on a NULL stream, a negative total or no memory (see nb_errmsg()). */
nb_progress *nb_progress_new(FILE *stream, const char *label, int64_t total, const char *unit);

/* `done` steps of the total are complete; `loss` is shown beside them (NAN: none). */
void nb_progress_update(nb_progress *progress, int64_t done, double loss);

/* A line of its own (e.g. one per epoch), printed above the live line on a terminal. */
void nb_progress_note(nb_progress *progress, const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 2, 3)))
#endif
    ;

/* The final state, with the time taken in place of the ETA: on a terminal the line is
 * drawn once more and ended; elsewhere a summary line ("training: 938/938 · 447 batch/s
 * · 2.1 s · loss 0.3312"). Further updates are ignored. */
void nb_progress_finish(nb_progress *progress);

/* Frees the progress (finishing it first if needed). */
void nb_progress_free(nb_progress *progress);

/* Whether the progress draws a live line (the stream is a terminal). */
bool nb_progress_is_live(const nb_progress *progress);

/* ---- a chart in text ----------------------------------------------------------------- */

typedef struct nb_text_chart_opts {
    const char *title;      /* a line above the chart; NULL for none */
    int width;              /* columns of the plot; 0: 60, or one per value up to 100 (less
                               on a narrower terminal) */
    int height;             /* rows; 0: 6 */
    bool log_y;             /* log scale; non-positive values are then skipped */
    double x_first, x_last; /* x of the first and last value, for the axis; both 0: 1 and n */
} nb_text_chart_opts;

/* Draw n values as a filled chart of block characters (▁▂▃▄▅▆▇█): the top row is
 * labelled with the largest value, the bottom row with the smallest, the axis below with
 * the first and last x. More values than columns are averaged into columns; fewer are
 * widened. Non-finite values leave their column empty. opts may be NULL. Plain UTF-8
 * text, no control characters. NB_EARG for a NULL stream or values or n == 0,
 * NB_ENUMERIC when no value can be drawn, NB_EIO when the stream fails. */
nb_status nb_text_chart(FILE *stream, const double *values, size_t n, const nb_text_chart_opts *opts);

#ifdef __cplusplus
}
#endif

#endif
