/* Files written atomically: into a temporary file beside the target, flushed to disk,
 * then renamed over it. A crash or a failed write never leaves a half-written file, and
 * an existing file stays as it was unless the new one is complete. Private. */
#ifndef NABLA_ATOMIC_H
#define NABLA_ATOMIC_H

#include <stdio.h>

#include "internal.h"

typedef struct nb_atomic_file {
    FILE *file;        /* write the contents here */
    char *temp_path;   /* TARGET.tmp.XXXXXX */
    char *target;
    char *directory;   /* the target's directory, synced after the rename */
    int write_errno;   /* a writer that cannot return errors may record the first here */
} nb_atomic_file;

/* Create the temporary file, with the mode of the file it will replace (else 0666 less
 * the umask). */
nb_status nb_atomic_open(nb_atomic_file *out, const char *target);
/* Flush, sync, close and rename over the target, then sync the directory. On failure the
 * temporary file is removed and the message says the target was not changed. */
nb_status nb_atomic_commit(nb_atomic_file *f);
/* Give up: remove the temporary file. */
void nb_atomic_discard(nb_atomic_file *f);

#endif
