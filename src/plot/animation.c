/* Animations: figures drawn as the frames of a looping GIF. A frame keeps only the
 * rectangle that changed since the frame before (shown over it), with a palette of its
 * own: giflib's median cut picks at most 256 colours, then each colour is set to the mean
 * of the pixels it stands for (the cut works on 5 bits a channel, which would turn the
 * white background grey). giflib encodes the whole when it is saved, into a temporary
 * file renamed over the target (core/atomic.c). */
#include "plot/plot_internal.h"

#include <errno.h>
#include <gif_lib.h>
#include <math.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

/* The last frame stays at least this long (hundredths of a second) before the loop
 * starts again, so that the end of a fit can be seen. */
enum { HOLD_LAST_CS = 200 };

typedef struct gif_frame {
    int left, top, width, height;
    GifColorType colors[256];
    GifByteType *pixels; /* width x height indices into colors, row by row */
} gif_frame;

struct nb_animation {
    int width, height, delay_cs;
    gif_frame *frames;
    size_t n_frames, capacity;
    uint32_t *previous; /* the last frame's pixels (xRGB, width x height) */
    nb_status first_error;
    char first_message[ERROR_SIZE];
};

nb_animation *nb_animation_new(int width, int height, int delay_cs)
{
    if (width < 64 || width > 16384 || height < 64 || height > 16384) {
        nb_fail(NB_EARG, "nb_animation_new: %d x %d pixels: each side must be from 64 to 16384", width, height);
        return NULL;
    }
    if (delay_cs < 2 || delay_cs > 65535) {
        nb_fail(NB_EARG, "nb_animation_new: a delay of %d hundredths of a second: use 2 to 65535 (viewers show "
                         "shorter delays as 10)", delay_cs);
        return NULL;
    }
    nb_animation *anim = nb_calloc(1, sizeof *anim);
    uint32_t *previous = nb_calloc((size_t)width * (size_t)height, sizeof *previous);
    if (!anim || !previous) {
        nb_free(anim);
        nb_free(previous);
        nb_fail(NB_ENOMEM, "nb_animation_new: out of memory for %d x %d pixels", width, height);
        return NULL;
    }
    *anim = (nb_animation){.width = width, .height = height, .delay_cs = delay_cs, .previous = previous};
    return anim;
}

void nb_animation_free(nb_animation *anim)
{
    if (!anim)
        return;
    for (size_t i = 0; i < anim->n_frames; i++)
        nb_free(anim->frames[i].pixels);
    nb_free(anim->frames);
    nb_free(anim->previous);
    nb_free(anim);
}

/* Remember the first failure: nb_animation_save() returns it again. */
static nb_status remember(nb_animation *anim, nb_status status)
{
    if (status != NB_OK && anim->first_error == NB_OK) {
        anim->first_error = status;
        snprintf(anim->first_message, sizeof anim->first_message, "%s", nb_errmsg());
    }
    return status;
}

/* The smallest rectangle holding every pixel of `image` that differs from `previous`
 * (all of it for the first frame); a single pixel when nothing changed, since every
 * frame needs an image. */
static void changed_rect(const nb_animation *anim, const uint32_t *image, int stride, gif_frame *frame)
{
    int w = anim->width, h = anim->height;
    if (anim->n_frames == 0) {
        *frame = (gif_frame){.left = 0, .top = 0, .width = w, .height = h};
        return;
    }
    int x0 = w, x1 = -1, y0 = h, y1 = -1;
    for (int y = 0; y < h; y++) {
        const uint32_t *row = image + (size_t)y * (size_t)stride, *old = anim->previous + (size_t)y * (size_t)w;
        for (int x = 0; x < w; x++)
            if ((row[x] & 0xFFFFFFu) != (old[x] & 0xFFFFFFu)) {
                x0 = x < x0 ? x : x0, x1 = x > x1 ? x : x1;
                y0 = y < y0 ? y : y0, y1 = y;
            }
    }
    if (x1 < 0)
        x0 = x1 = y0 = y1 = 0;
    *frame = (gif_frame){.left = x0, .top = y0, .width = x1 - x0 + 1, .height = y1 - y0 + 1};
}

/* Each palette colour becomes the mean of the pixels that map to it. */
static void refine_palette(gif_frame *frame, const GifByteType *red, const GifByteType *green,
                           const GifByteType *blue)
{
    size_t count[256] = {0}, sum[256][3] = {{0}};
    size_t n = (size_t)frame->width * (size_t)frame->height;
    for (size_t i = 0; i < n; i++) {
        GifByteType k = frame->pixels[i];
        count[k]++;
        sum[k][0] += red[i], sum[k][1] += green[i], sum[k][2] += blue[i];
    }
    for (int k = 0; k < 256; k++)
        if (count[k])
            frame->colors[k] = (GifColorType){(GifByteType)((sum[k][0] + count[k] / 2) / count[k]),
                                              (GifByteType)((sum[k][1] + count[k] / 2) / count[k]),
                                              (GifByteType)((sum[k][2] + count[k] / 2) / count[k])};
}

/* The frame's rectangle of `image` as palette indices. */
static nb_status quantise(gif_frame *frame, const uint32_t *image, int stride)
{
    size_t n = (size_t)frame->width * (size_t)frame->height;
    GifByteType *planes = nb_calloc(3 * n, 1);
    frame->pixels = nb_calloc(n, 1);
    if (!planes || !frame->pixels) {
        nb_free(planes);
        nb_free(frame->pixels);
        frame->pixels = NULL;
        return nb_fail(NB_ENOMEM, "out of memory for a frame of %d x %d pixels", frame->width, frame->height);
    }
    GifByteType *red = planes, *green = planes + n, *blue = planes + 2 * n;
    for (int y = 0; y < frame->height; y++)
        for (int x = 0; x < frame->width; x++) {
            uint32_t pixel = image[(size_t)(frame->top + y) * (size_t)stride + (size_t)(frame->left + x)];
            size_t i = (size_t)y * (size_t)frame->width + (size_t)x;
            red[i] = (GifByteType)(pixel >> 16), green[i] = (GifByteType)(pixel >> 8), blue[i] = (GifByteType)pixel;
        }
    int colors = 256;
    memset(frame->colors, 0, sizeof frame->colors);
    nb_status status = NB_OK;
    if (GifQuantizeBuffer((unsigned)frame->width, (unsigned)frame->height, &colors, red, green, blue, frame->pixels,
                          frame->colors) == GIF_ERROR)
        status = nb_fail(NB_ENOMEM, "out of memory choosing the colours of a frame");
    else
        refine_palette(frame, red, green, blue);
    nb_free(planes);
    if (status != NB_OK) {
        nb_free(frame->pixels);
        frame->pixels = NULL;
    }
    return status;
}

/* Keep the drawn image as the next frame and as the reference for the one after. */
static nb_status add_image(nb_animation *anim, cairo_surface_t *surface)
{
    if (anim->n_frames == anim->capacity) {
        size_t capacity = anim->capacity ? 2 * anim->capacity : 16;
        gif_frame *grown = nb_realloc(anim->frames, capacity * sizeof *grown);
        if (!grown)
            return nb_fail(NB_ENOMEM, "out of memory for frame %zu", anim->n_frames + 1);
        anim->frames = grown;
        anim->capacity = capacity;
    }
    const uint32_t *image = (const uint32_t *)cairo_image_surface_get_data(surface);
    int stride = cairo_image_surface_get_stride(surface) / 4;
    gif_frame frame;
    changed_rect(anim, image, stride, &frame);
    nb_status status = quantise(&frame, image, stride);
    if (status != NB_OK)
        return status;
    for (int y = 0; y < anim->height; y++)
        memcpy(anim->previous + (size_t)y * (size_t)anim->width, image + (size_t)y * (size_t)stride,
               (size_t)anim->width * sizeof *image);
    anim->frames[anim->n_frames++] = frame;
    return NB_OK;
}

nb_status nb_animation_add(nb_animation *anim, const nb_figure *frame)
{
    if (!anim)
        return nb_fail(NB_EARG, "nb_animation_add: animation is NULL");
    if (!frame)
        return remember(anim, nb_fail(NB_EARG, "nb_animation_add: figure is NULL"));
    if (lround(frame->width) != anim->width || lround(frame->height) != anim->height)
        return remember(anim, nb_fail(NB_EARG, "nb_animation_add: the figure is %ld x %ld, the animation %d x %d: "
                                               "make every frame the animation's size",
                                      lround(frame->width), lround(frame->height), anim->width, anim->height));
    cairo_surface_t *image;
    nb_status status = nb_plot_draw_image(frame, &image);
    if (status == NB_OK) {
        status = add_image(anim, image);
        cairo_surface_destroy(image);
    }
    if (status != NB_OK)
        nb_error_prefix("frame %zu of the animation", anim->n_frames + 1);
    return remember(anim, status);
}

/* ---- encoding -------------------------------------------------------------------------- */

static int write_to_temp(GifFileType *gif, const GifByteType *data, int length)
{
    nb_atomic_file *temp = gif->UserData;
    if (fwrite(data, 1, (size_t)length, temp->file) != (size_t)length) {
        if (!temp->write_errno)
            temp->write_errno = errno ? errno : EIO;
        return 0;
    }
    return length;
}

/* The application extension that makes viewers loop the animation forever. */
static int put_loop_forever(GifFileType *gif)
{
    static const GifByteType loops[3] = {1, 0, 0}; /* sub-block 1: a loop count of 0, forever */
    if (EGifPutExtensionLeader(gif, APPLICATION_EXT_FUNC_CODE) == GIF_ERROR ||
        EGifPutExtensionBlock(gif, 11, "NETSCAPE2.0") == GIF_ERROR ||
        EGifPutExtensionBlock(gif, 3, loops) == GIF_ERROR)
        return GIF_ERROR;
    return EGifPutExtensionTrailer(gif);
}

static int put_frame(GifFileType *gif, const gif_frame *frame, int delay_cs)
{
    GraphicsControlBlock control = {.DisposalMode = DISPOSE_DO_NOT, .DelayTime = delay_cs,
                                    .TransparentColor = NO_TRANSPARENT_COLOR};
    GifByteType extension[4];
    size_t length = EGifGCBToExtension(&control, extension);
    ColorMapObject *palette = GifMakeMapObject(256, frame->colors);
    if (!palette)
        return GIF_ERROR;
    int status = EGifPutExtension(gif, GRAPHICS_EXT_FUNC_CODE, (int)length, extension);
    if (status != GIF_ERROR)
        status = EGifPutImageDesc(gif, frame->left, frame->top, frame->width, frame->height, false, palette);
    for (int y = 0; y < frame->height && status != GIF_ERROR; y++)
        status = EGifPutLine(gif, frame->pixels + (size_t)y * (size_t)frame->width, frame->width);
    GifFreeMapObject(palette);
    return status;
}

static int put_animation(GifFileType *gif, const nb_animation *anim)
{
    EGifSetGifVersion(gif, true);
    if (EGifPutScreenDesc(gif, anim->width, anim->height, 8, 0, NULL) == GIF_ERROR || put_loop_forever(gif) == GIF_ERROR)
        return GIF_ERROR;
    for (size_t i = 0; i < anim->n_frames; i++) {
        int delay = anim->delay_cs;
        if (i + 1 == anim->n_frames && delay < HOLD_LAST_CS)
            delay = HOLD_LAST_CS;
        if (put_frame(gif, &anim->frames[i], delay) == GIF_ERROR)
            return GIF_ERROR;
    }
    return GIF_OK;
}

/* Encode the frames into the temporary file; giflib's error, if any, as a status. */
static nb_status encode(const nb_animation *anim, nb_atomic_file *temp, const char *path)
{
    int error = 0;
    GifFileType *gif = EGifOpen(temp, write_to_temp, &error);
    if (!gif)
        return nb_fail(NB_ENOMEM, "out of memory encoding \"%s\"", path);
    int status = put_animation(gif, anim);
    if (status == GIF_ERROR)
        error = gif->Error;
    int close_error = 0;
    if (EGifCloseFile(gif, &close_error) == GIF_ERROR && status != GIF_ERROR) {
        status = GIF_ERROR;
        error = close_error;
    }
    if (status != GIF_ERROR)
        return NB_OK;
    if (temp->write_errno)
        return nb_fail(NB_EIO, "cannot write \"%s\": %s", path, strerror(temp->write_errno));
    if (error == E_GIF_ERR_NOT_ENOUGH_MEM)
        return nb_fail(NB_ENOMEM, "out of memory encoding \"%s\"", path);
    const char *reason = GifErrorString(error);
    return nb_fail(NB_EIO, "encoding \"%s\" failed: %s", path, reason ? reason : "unknown giflib error");
}

static bool is_gif_path(const char *path)
{
    const char *slash = strrchr(path, '/');
    const char *dot = strrchr(slash ? slash + 1 : path, '.');
    return dot && strcasecmp(dot, ".gif") == 0;
}

nb_status nb_animation_save(const nb_animation *anim, const char *path)
{
    if (!anim)
        return nb_fail(NB_EARG, "nb_animation_save: animation is NULL");
    if (!path || !*path)
        return nb_fail(NB_EARG, "nb_animation_save: no file name");
    if (anim->first_error != NB_OK)
        return nb_fail(anim->first_error, "%s (\"%s\" not written)", anim->first_message, path);
    if (!is_gif_path(path))
        return nb_fail(NB_EARG, "an animation is written as GIF: name the file .gif, not \"%s\"", path);
    if (anim->n_frames == 0)
        return nb_fail(NB_EARG, "nothing to write to \"%s\": the animation has no frames (nb_animation_add adds them)",
                       path);
    nb_atomic_file temp;
    nb_status status = nb_atomic_open(&temp, path);
    if (status != NB_OK)
        return status;
    status = encode(anim, &temp, path);
    if (status == NB_OK)
        return nb_atomic_commit(&temp);
    nb_atomic_discard(&temp);
    return status;
}
