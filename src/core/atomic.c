/* Atomic file writes: temporary file, fsync, rename. */
#include "core/core.h"

#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* The mode a new file gets: that of the file it replaces, else 0666 minus the umask. */
static mode_t new_file_mode(const char *path)
{
    struct stat st;
    if (stat(path, &st) == 0)
        return st.st_mode & 07777;
    mode_t mask = umask(0);
    umask(mask);
    return 0666 & ~mask;
}

static void release(nb_atomic_file *f)
{
    nb_free(f->temp_path);
    nb_free(f->target);
    nb_free(f->directory);
    *f = (nb_atomic_file){0};
}

nb_status nb_atomic_open(nb_atomic_file *f, const char *target)
{
    *f = (nb_atomic_file){0};
    size_t len = strlen(target);
    f->temp_path = nb_alloc(len + sizeof ".tmp.XXXXXX");
    f->target = nb_strdup(target);
    f->directory = nb_strdup(target); /* copied now: nothing may fail after the rename */
    if (!f->temp_path || !f->target || !f->directory) {
        release(f);
        return nb_fail(NB_ENOMEM, "writing '%s': out of memory", target);
    }
    memcpy(f->temp_path, target, len);
    memcpy(f->temp_path + len, ".tmp.XXXXXX", sizeof ".tmp.XXXXXX");
    int fd = mkstemp(f->temp_path);
    if (fd < 0) {
        int err = errno;
        release(f);
        return nb_fail(NB_EIO, "cannot create a temporary file beside '%s': %s", target, strerror(err));
    }
    fchmod(fd, new_file_mode(target));
    f->file = fdopen(fd, "wb");
    if (!f->file) {
        int err = errno;
        close(fd);
        nb_atomic_discard(f);
        return nb_fail(NB_EIO, "writing '%s': %s", target, strerror(err));
    }
    return NB_OK;
}

void nb_atomic_discard(nb_atomic_file *f)
{
    if (f->file)
        fclose(f->file);
    if (f->temp_path)
        unlink(f->temp_path);
    release(f);
}

/* Make the rename itself durable: sync the directory that holds the file. */
static void sync_directory(char *path_copy)
{
    int fd = open(dirname(path_copy), O_RDONLY | O_DIRECTORY);
    if (fd >= 0) {
        fsync(fd);
        close(fd);
    }
}

nb_status nb_atomic_commit(nb_atomic_file *f)
{
    int err = f->write_errno;
    if (!err && (fflush(f->file) != 0 || fsync(fileno(f->file)) != 0))
        err = errno;
    if (fclose(f->file) != 0 && !err)
        err = errno;
    f->file = NULL;
    if (!err && rename(f->temp_path, f->target) != 0)
        err = errno;
    if (err) {
        nb_fail(NB_EIO, "writing '%s': %s (the file was not changed)", f->target, strerror(err));
        nb_atomic_discard(f);
        return NB_EIO;
    }
    sync_directory(f->directory);
    release(f);
    return NB_OK;
}
