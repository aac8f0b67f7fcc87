/* --plot x.gif: a demo's own animation (quadratic-decay animates its fit), or else its
 * loss curve growing entry by entry on axes fixed for the whole run, with the epoch
 * where the tutorial's own stopping rule ends its run marked. */
#include "demo.h"

#include <math.h>
#include <stdlib.h>

enum { WIDTH = 720, HEIGHT = 500, MAX_FRAMES = 120 };

/* The axes of every frame: the whole run's range, padded as the plot layer pads. */
typedef struct curve_view {
    double *epochs; /* the history's epoch numbers, as the report counts them */
    double xlim[2], ylim[2];
    bool log;
} curve_view;

bool demo_animates(const demo_run *run) { return run->options->plot && cli_animation_path_ok(run->options->plot); }

static bool usable(const curve_view *view, double y) { return isfinite(y) && (!view->log || y > 0); }

static void padded(double lo, double hi, bool log, double out[2])
{
    if (log)
        lo = log10(lo), hi = log10(hi);
    if (!(hi > lo))
        lo -= 0.5, hi += 0.5;
    double pad = 0.04 * (hi - lo);
    out[0] = log ? pow(10, lo - pad) : lo - pad;
    out[1] = log ? pow(10, hi + pad) : hi + pad;
}

/* false when the run has no usable loss. */
static bool view_of(const demo_run *run, curve_view *view)
{
    int n = run->n_losses, i = 0;
    const cJSON *entry;
    cJSON_ArrayForEach(entry, run->history)
    {
        if (i < n)
            view->epochs[i++] = cJSON_GetNumberValue(cJSON_GetObjectItemCaseSensitive(entry, "epoch"));
    }
    for (; i < n; i++)
        view->epochs[i] = i; /* epochs count from 0 */
    view->log = demo_wants_log_scale(run->losses, n);
    double lo = INFINITY, hi = -INFINITY;
    for (i = 0; i < n; i++)
        if (usable(view, run->losses[i]))
            lo = fmin(lo, run->losses[i]), hi = fmax(hi, run->losses[i]);
    padded(view->epochs[0], view->epochs[n - 1], false, view->xlim);
    padded(lo, hi, view->log, view->ylim);
    return lo <= hi;
}

/* From the entry where the tutorial's rule ends its run on: a dashed line there. */
static void mark_stop(const demo_run *run, const curve_view *view, nb_panel *panel, int k)
{
    if (run->tutorial_stop < 1 || run->tutorial_stop > run->n_losses || k + 1 < run->tutorial_stop)
        return;
    double x[2], y[2] = {view->ylim[0], view->ylim[1]};
    x[0] = x[1] = view->epochs[run->tutorial_stop - 1];
    char label[160];
    snprintf(label, sizeof label, "the tutorial's rule stops here (%s)", run->stop_rule ? run->stop_rule : "");
    nb_panel_line(panel, label, x, y, 2, &(nb_style){.color = NB_CYCLE(1), .dashed = true, .width = 2});
}

/* The curve up to entry k, its latest point marked. */
static nb_figure *loss_frame(const demo_run *run, const curve_view *view, int k)
{
    nb_figure *figure = nb_figure_new(WIDTH, HEIGHT, 1, 1);
    if (!figure)
        return NULL;
    nb_figure_title(figure, run->loss_title ? run->loss_title : "loss per epoch");
    nb_panel *panel = nb_figure_panel(figure, 0, 0);
    char title[160];
    snprintf(title, sizeof title, "epoch %g: loss %.4g%s", view->epochs[k], run->losses[k],
             k + 1 == run->tutorial_stop ? ", where the tutorial's rule stops" : "");
    nb_panel_title(panel, title);
    nb_panel_labels(panel, "epoch", run->loss_ylabel ? run->loss_ylabel : "loss");
    nb_panel_log_y(panel, view->log);
    nb_panel_xlim(panel, view->xlim[0], view->xlim[1]);
    nb_panel_ylim(panel, view->ylim[0], view->ylim[1]);
    bool any = false;
    for (int i = 0; i <= k; i++)
        any = any || usable(view, run->losses[i]);
    if (any) /* a series with no point to draw is an error, an empty panel is not */
        nb_panel_line(panel, NULL, view->epochs, run->losses, (size_t)k + 1, &(nb_style){.width = 2});
    if (usable(view, run->losses[k]))
        nb_panel_scatter(panel, NULL, &view->epochs[k], &run->losses[k], 1, &(nb_style){.color = NB_CYCLE(0), .width = 9});
    mark_stop(run, view, panel, k);
    return figure;
}

/* Every entry when there are few, else about MAX_FRAMES of them; always the last and
 * the one where the tutorial's rule stops. */
static bool shown(const demo_run *run, int i, int step)
{
    return (i + 1) % step == 0 || i == run->n_losses - 1 || i + 1 == run->tutorial_stop;
}

static nb_animation *loss_animation(demo_run *run)
{
    curve_view view = {.epochs = malloc((size_t)(run->n_losses ? run->n_losses : 1) * sizeof(double))};
    if (!view.epochs) {
        run->out_of_memory = true;
        return NULL;
    }
    int step = (run->n_losses + MAX_FRAMES - 1) / MAX_FRAMES, frames = 0;
    for (int i = 0; i < run->n_losses; i++)
        frames += shown(run, i, step);
    /* a run of a few seconds, however many frames */
    nb_animation *anim = nb_animation_new(WIDTH, HEIGHT, frames ? fmax(4, fmin(50, 800 / frames)) : 50);
    if (anim && run->n_losses > 0 && view_of(run, &view)) {
        for (int i = 0; i < run->n_losses; i++) {
            if (!shown(run, i, step))
                continue;
            nb_figure *frame = loss_frame(run, &view, i);
            nb_animation_add(anim, frame); /* a failure is remembered: the save reports it */
            nb_figure_free(frame);
        }
    }
    free(view.epochs);
    return anim;
}

int demo_save_animation(demo_run *run)
{
    if (!run->animation)
        run->animation = loss_animation(run);
    int status = 0;
    if (!run->animation) {
        if (!run->out_of_memory)
            cli_error("demo", NULL);
        status = 1;
    } else if (nb_animation_save(run->animation, run->options->plot) != NB_OK) {
        cli_error("demo", NULL);
        status = 1;
    } else if (run->tutorial_stop > 0 && run->tutorial_stop <= run->n_losses && run->stop_rule) {
        const cJSON *entry = cJSON_GetArrayItem(run->history, run->tutorial_stop - 1);
        demo_log(run, "animation written to %s (marked: the tutorial's own rule, %s, stops after epoch %g)\n",
                 run->options->plot, run->stop_rule,
                 cJSON_GetNumberValue(cJSON_GetObjectItemCaseSensitive(entry, "epoch")));
    } else {
        demo_log(run, "animation written to %s\n", run->options->plot);
    }
    nb_animation_free(run->animation);
    run->animation = NULL;
    return status;
}
