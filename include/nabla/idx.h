/* nabla IDX: the MNIST file format (a magic number, big-endian dimensions, unsigned
 * bytes), plain or gzip-compressed, and the Fashion-MNIST set as Debian installs it.
 *
 * Refused with a message naming the file: a wrong magic number or data type, a file
 * shorter than its dimensions say (truncated), data beyond them, corrupt gzip data, and
 * images and labels that do not count the same items. */
#ifndef NABLA_IDX_H
#define NABLA_IDX_H

#include "nabla/data.h"

#ifdef __cplusplus
extern "C" {
#endif

/* A raw IDX array of unsigned bytes (data type 0x08), at most NB_MAX_DIMS dimensions. */
typedef struct nb_idx {
    int ndim;
    int64_t dims[NB_MAX_DIMS];
    int64_t size;  /* bytes in data: the product of dims (with dims[0] cut to max_items) */
    uint8_t *data;
} nb_idx;

/* Read an IDX file (plain or gzip). max_items > 0 reads only the first items (along the
 * first dimension); otherwise all, and nothing may follow them. Clear with nb_idx_clear. */
nb_status nb_idx_read(const char *path, int64_t max_items, nb_idx *idx);
void nb_idx_clear(nb_idx *idx);

/* Images [N, rows, cols] (or [N, features]) and labels [N] into a labelled dataset:
 * inputs [N, rows*cols] scaled to [0, 1] once, here; labels as whole numbers. With
 * n_classes > 0 every label must be below it; with 0 it is the largest label + 1.
 * max_items > 0 loads only the first items. */
nb_dataset *nb_idx_load(const char *images_path, const char *labels_path, nb_dtype dtype, int n_classes,
                        int64_t max_items);

/* ---- Fashion-MNIST (Debian package dataset-fashion-mnist) ---------------------------- */
#define NB_FASHION_MNIST_DIR "/usr/share/datasets/fashion-mnist"
#define NB_FASHION_MNIST_ENV "NABLA_FASHION_MNIST"

/* The paths of the training (train) or test set's two files, in `dir`, else in the
 * directory named by $NABLA_FASHION_MNIST, else in NB_FASHION_MNIST_DIR; each file as
 * NAME.gz or uncompressed NAME. Fails with NB_EIO naming the missing file and the
 * package that provides it. */
nb_status nb_fashion_mnist_find(const char *dir, bool train, char *images_path, char *labels_path,
                                size_t path_size);
/* Load the training or test set: 60,000 or 10,000 images of 28x28 and 10 classes (with
 * their names). max_items > 0 loads only the first items. */
nb_dataset *nb_fashion_mnist_load(const char *dir, bool train, nb_dtype dtype, int64_t max_items);
/* The names of the 10 classes ("T-shirt/top", ..., "Ankle boot"). */
const char *nb_fashion_mnist_class_name(int label);

#ifdef __cplusplus
}
#endif

#endif
