/* Animations: a GIF that giflib's reader decodes to the frames added, of the stated size,
 * looking like the figures drawn as PNG; clear errors for every bad input. */
#include "nb_test.h"

#include <cairo.h>
#include <dirent.h>
#include <gif_lib.h>
#include <sys/stat.h>

/* A loss curve after `shown` of 40 epochs, on axes fixed for the whole run. */
static nb_figure *curve_figure(int width, int height, int shown)
{
    double loss[40];
    for (int i = 0; i < 40; i++)
        loss[i] = 3 * exp(-0.1 * i) + 0.2;
    nb_figure *figure = nb_figure_new(width, height, 1, 1);
    nb_panel *panel = nb_figure_panel(figure, 0, 0);
    char title[64];
    snprintf(title, sizeof title, "after %d epochs", shown);
    nb_panel_title(panel, title);
    nb_panel_labels(panel, "epoch", "loss");
    nb_panel_xlim(panel, 0, 41);
    nb_panel_ylim(panel, 0, 3.5);
    nb_panel_line(panel, "loss", NULL, loss, (size_t)shown, NULL);
    nb_panel_scatter(panel, NULL, (double[]){shown}, &loss[shown - 1], 1, NULL);
    return figure;
}

static nb_animation *curve_animation(int width, int height, int frames)
{
    nb_animation *anim = nb_animation_new(width, height, 10);
    assert_non_null(anim);
    for (int k = 1; k <= frames; k++) {
        nb_figure *figure = curve_figure(width, height, k * 40 / frames);
        assert_int_equal(nb_animation_add(anim, figure), NB_OK);
        nb_figure_free(figure);
    }
    return anim;
}

static GifFileType *slurp_gif(const char *path)
{
    int error = 0;
    GifFileType *gif = DGifOpenFileName(path, &error);
    if (!gif)
        fail_msg("%s: %s", path, GifErrorString(error));
    if (DGifSlurp(gif) != GIF_OK)
        fail_msg("%s: %s", path, GifErrorString(gif->Error));
    return gif;
}

/* The picture shown after frame `last`: each frame's rectangle drawn over the ones
 * before (what viewers do with frames that are not disposed). xRGB, width x height. */
static uint32_t *composite(const GifFileType *gif, int last)
{
    uint32_t *canvas = calloc((size_t)gif->SWidth * (size_t)gif->SHeight, sizeof *canvas);
    for (int i = 0; i <= last; i++) {
        const SavedImage *image = &gif->SavedImages[i];
        const GifImageDesc *d = &image->ImageDesc;
        const ColorMapObject *map = d->ColorMap ? d->ColorMap : gif->SColorMap;
        assert_non_null(map);
        for (int y = 0; y < d->Height; y++)
            for (int x = 0; x < d->Width; x++) {
                GifColorType c = map->Colors[image->RasterBits[y * d->Width + x]];
                canvas[(d->Top + y) * gif->SWidth + d->Left + x] = (uint32_t)c.Red << 16 | c.Green << 8 | c.Blue;
            }
    }
    return canvas;
}

/* The same figure as PNG, for comparison. */
static cairo_surface_t *as_png(const nb_figure *figure)
{
    const char *png = nb_test_path("reference.png");
    assert_int_equal(nb_figure_save(figure, png), NB_OK);
    cairo_surface_t *image = cairo_image_surface_create_from_png(png);
    assert_int_equal(cairo_surface_status(image), CAIRO_STATUS_SUCCESS);
    return image;
}

static int count_temporaries(void)
{
    DIR *d = opendir(nb_test_dir());
    int n = 0;
    for (struct dirent *entry; (entry = readdir(d));)
        n += strstr(entry->d_name, ".tmp.") != NULL;
    closedir(d);
    return n;
}

/* N figures give N frames of the stated size, each inside the screen, with the delay
 * asked for (the last held longer), looping forever. */
static void test_frames_decode(void **state)
{
    (void)state;
    enum { FRAMES = 8, W = 480, H = 300 };
    nb_animation *anim = curve_animation(W, H, FRAMES);
    const char *path = nb_test_path("curve.gif");
    assert_int_equal(nb_animation_save(anim, path), NB_OK);
    nb_animation_free(anim);
    assert_int_equal(count_temporaries(), 0);

    GifFileType *gif = slurp_gif(path);
    assert_int_equal(gif->SWidth, W);
    assert_int_equal(gif->SHeight, H);
    assert_int_equal(gif->ImageCount, FRAMES);
    for (int i = 0; i < FRAMES; i++) {
        const GifImageDesc *d = &gif->SavedImages[i].ImageDesc;
        assert_true(d->Left >= 0 && d->Top >= 0 && d->Width >= 1 && d->Height >= 1);
        assert_true(d->Left + d->Width <= W && d->Top + d->Height <= H);
        GraphicsControlBlock control;
        assert_int_equal(DGifSavedExtensionToGCB(gif, i, &control), GIF_OK);
        assert_int_equal(control.DelayTime, i + 1 < FRAMES ? 10 : 200);
    }
    /* the first frame is the whole picture; later ones only what changed */
    assert_int_equal(gif->SavedImages[0].ImageDesc.Width, W);
    assert_int_equal(gif->SavedImages[0].ImageDesc.Height, H);
    assert_true(gif->SavedImages[1].ImageDesc.Width * gif->SavedImages[1].ImageDesc.Height < W * H / 2);
    bool loops = false;
    for (int i = 0; i < gif->SavedImages[0].ExtensionBlockCount; i++) {
        const ExtensionBlock *block = &gif->SavedImages[0].ExtensionBlocks[i];
        loops |= block->Function == APPLICATION_EXT_FUNC_CODE && block->ByteCount == 11 &&
                 memcmp(block->Bytes, "NETSCAPE2.0", 11) == 0;
    }
    assert_true(loops);
    int error;
    assert_int_equal(DGifCloseFile(gif, &error), GIF_OK);
}

/* Every frame, composed as a viewer shows it, is the figure drawn as PNG, within what
 * 256 colours allow: the white background exact, the mean difference small. */
static void test_frames_look_like_the_figures(void **state)
{
    (void)state;
    enum { FRAMES = 5, W = 400, H = 260 };
    nb_animation *anim = curve_animation(W, H, FRAMES);
    const char *path = nb_test_path("look.gif");
    assert_int_equal(nb_animation_save(anim, path), NB_OK);
    nb_animation_free(anim);
    GifFileType *gif = slurp_gif(path);
    for (int k = 1; k <= FRAMES; k++) {
        nb_figure *figure = curve_figure(W, H, k * 40 / FRAMES);
        cairo_surface_t *png = as_png(figure);
        nb_figure_free(figure);
        uint32_t *shown = composite(gif, k - 1);
        const unsigned char *data = cairo_image_surface_get_data(png);
        int stride = cairo_image_surface_get_stride(png), white = 0;
        double total = 0;
        for (int y = 0; y < H; y++)
            for (int x = 0; x < W; x++) {
                uint32_t want = *(const uint32_t *)(data + y * stride + 4 * x) & 0xFFFFFF, got = shown[y * W + x];
                white += want == 0xFFFFFF && got == 0xFFFFFF;
                for (int shift = 0; shift < 24; shift += 8)
                    total += abs((int)(want >> shift & 0xFF) - (int)(got >> shift & 0xFF));
            }
        assert_true(white > W * H / 2);
        if (!(total / (3.0 * W * H) < 1.0))
            fail_msg("frame %d: mean difference %.2f per channel", k, total / (3.0 * W * H));
        free(shown);
        cairo_surface_destroy(png);
    }
    int error;
    DGifCloseFile(gif, &error);
}

/* Two identical figures are still two frames. */
static void test_unchanged_frame_is_a_frame(void **state)
{
    (void)state;
    nb_animation *anim = nb_animation_new(200, 150, 2);
    nb_figure *figure = curve_figure(200, 150, 10);
    assert_int_equal(nb_animation_add(anim, figure), NB_OK);
    assert_int_equal(nb_animation_add(anim, figure), NB_OK);
    nb_figure_free(figure);
    const char *path = nb_test_path("same.gif");
    assert_int_equal(nb_animation_save(anim, path), NB_OK);
    nb_animation_free(anim);
    GifFileType *gif = slurp_gif(path);
    assert_int_equal(gif->ImageCount, 2);
    int error;
    DGifCloseFile(gif, &error);
}

static void test_bad_arguments(void **state)
{
    (void)state;
    assert_null(nb_animation_new(10, 300, 10));
    assert_non_null(strstr(nb_errmsg(), "64 to 16384"));
    assert_null(nb_animation_new(300, 300, 1));
    assert_non_null(strstr(nb_errmsg(), "2 to 65535"));
    nb_animation_free(NULL);
    assert_int_equal(nb_animation_add(NULL, NULL), NB_EARG);
    assert_int_equal(nb_animation_save(NULL, "x.gif"), NB_EARG);

    nb_animation *anim = nb_animation_new(300, 200, 10);
    const char *empty = nb_test_path("empty.gif");
    assert_int_equal(nb_animation_save(anim, empty), NB_EARG);
    assert_non_null(strstr(nb_errmsg(), "no frames"));
    assert_non_null(strstr(nb_errmsg(), empty));
    nb_figure *figure = curve_figure(300, 200, 5);
    assert_int_equal(nb_animation_add(anim, figure), NB_OK);
    nb_figure_free(figure);
    static const char *const bad[] = {"plot.png", "plot", "gif"};
    for (int i = 0; i < 3; i++) {
        assert_int_equal(nb_animation_save(anim, nb_test_path(bad[i])), NB_EARG);
        assert_non_null(strstr(nb_errmsg(), ".gif"));
        assert_non_null(strstr(nb_errmsg(), bad[i]));
    }
    assert_int_equal(nb_animation_save(anim, ""), NB_EARG);
    assert_int_equal(nb_animation_save(anim, "/nonexistent-nabla-dir/anim.gif"), NB_EIO);
    assert_non_null(strstr(nb_errmsg(), "/nonexistent-nabla-dir/anim.gif"));
    nb_animation_free(anim);
    struct stat st;
    assert_int_equal(stat(empty, &st), -1);
    assert_int_equal(count_temporaries(), 0);
}

/* A frame of the wrong size, or a figure that cannot be drawn, is refused and
 * remembered: the save returns it and leaves any old file as it was. */
static void test_failures_are_sticky(void **state)
{
    (void)state;
    const char *path = nb_test_path("sticky.gif");
    FILE *old = fopen(path, "wb");
    fputs("old", old);
    fclose(old);
    nb_animation *anim = nb_animation_new(300, 200, 10);
    nb_figure *figure = curve_figure(300, 200, 5), *other = curve_figure(320, 200, 5);
    assert_int_equal(nb_animation_add(anim, figure), NB_OK);
    assert_int_equal(nb_animation_add(anim, other), NB_EARG);
    assert_non_null(strstr(nb_errmsg(), "320 x 200"));
    assert_int_equal(nb_animation_add(anim, figure), NB_OK);
    assert_int_equal(nb_animation_save(anim, path), NB_EARG);
    assert_non_null(strstr(nb_errmsg(), "320 x 200"));
    assert_non_null(strstr(nb_errmsg(), path));
    nb_animation_free(anim);

    anim = nb_animation_new(300, 200, 10);
    nb_figure *unusable = nb_figure_new(300, 200, 1, 1); /* a log axis with nothing positive */
    nb_panel_log_y(nb_figure_panel(unusable, 0, 0), true);
    nb_panel_hline(nb_figure_panel(unusable, 0, 0), NULL, -3, NULL);
    assert_int_equal(nb_animation_add(anim, unusable), NB_ENUMERIC);
    assert_non_null(strstr(nb_errmsg(), "frame 1"));
    assert_int_equal(nb_animation_save(anim, path), NB_ENUMERIC);
    nb_animation_free(anim);
    nb_figure_free(unusable);
    nb_figure_free(figure);
    nb_figure_free(other);

    size_t size;
    FILE *f = fopen(path, "rb");
    char text[8] = "";
    size = fread(text, 1, sizeof text - 1, f);
    fclose(f);
    assert_int_equal(size, 3);
    assert_string_equal(text, "old");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_frames_decode),          cmocka_unit_test(test_frames_look_like_the_figures),
        cmocka_unit_test(test_unchanged_frame_is_a_frame), cmocka_unit_test(test_bad_arguments),
        cmocka_unit_test(test_failures_are_sticky),
    };
    return cmocka_run_group_tests(tests, nb_test_make_dir, nb_test_remove_dir);
}
