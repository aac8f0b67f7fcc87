/* Atomic file writes. The contents go into an unnamed file in the target's directory
 * (O_TMPFILE), which is given a name only when it is complete: a process killed while
 * writing leaves nothing behind. It is then linked under a temporary name and renamed
 * over the target. Where the file system has no unnamed files, a named temporary file
 * (mkstemp) takes its place. Temporary names carry the writer's process id, so that a
 * later write can remove those of writers that died between link and rename. */
#include "core/core.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

const char *nb_file_kind(unsigned mode)
{
    if (S_ISFIFO(mode))
        return "a FIFO (named pipe)";
    if (S_ISCHR(mode) || S_ISBLK(mode))
        return "a device";
    if (S_ISDIR(mode))
        return "a directory";
    if (S_ISSOCK(mode))
        return "a socket";
    return "a special file";
}

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

/* Remove BASE.tmp.PID.XXXXXX files in `directory` whose process is gone: what a writer
 * killed between linking and renaming left. Files of live processes are theirs. */
static void remove_stale_temporaries(const char *directory, const char *base)
{
    DIR *dir = opendir(directory);
    if (!dir)
        return;
    size_t base_len = strlen(base);
    for (struct dirent *entry; (entry = readdir(dir));) {
        const char *name = entry->d_name;
        if (strncmp(name, base, base_len) != 0 || strncmp(name + base_len, ".tmp.", 5) != 0)
            continue;
        char *end;
        long pid = strtol(name + base_len + 5, &end, 10);
        if (pid <= 0 || *end != '.' || strlen(end + 1) != 6)
            continue;
        if (kill((pid_t)pid, 0) == 0 || errno != ESRCH) /* alive, or not ours to tell */
            continue;
        char path[4096];
        if (snprintf(path, sizeof path, "%s/%s", directory, name) < (int)sizeof path)
            unlink(path);
    }
    closedir(dir);
}

/* temp_path = TARGET.tmp.PID.XXXXXX (the X's still to fill); directory = its folder. */
static nb_status name_temporary(nb_atomic_file *f, const char *target)
{
    char suffix[48];
    int n = snprintf(suffix, sizeof suffix, ".tmp.%ld.XXXXXX", (long)getpid());
    size_t len = strlen(target);
    f->temp_path = nb_alloc(len + (size_t)n + 1);
    f->target = nb_strdup(target);
    char *copy = nb_strdup(target);
    f->directory = copy ? nb_strdup(dirname(copy)) : NULL; /* copied now: nothing may fail after the rename */
    nb_free(copy);
    if (!f->temp_path || !f->target || !f->directory) {
        release(f);
        return nb_fail(NB_ENOMEM, "writing '%s': out of memory", target);
    }
    memcpy(f->temp_path, target, len);
    memcpy(f->temp_path + len, suffix, (size_t)n + 1);
    return NB_OK;
}

/* The unnamed file, or a named one where the file system has none; -1 with errno. */
static int open_temporary(nb_atomic_file *f, mode_t mode)
{
#ifdef O_TMPFILE
    int fd = open(f->directory, O_TMPFILE | O_WRONLY | O_CLOEXEC, mode);
    if (fd >= 0) {
        f->unnamed = true;
        return fd;
    }
    if (errno != EOPNOTSUPP && errno != EISDIR && errno != EINVAL)
        return -1;
#endif
    int fd_named = mkstemp(f->temp_path);
    if (fd_named >= 0)
        fchmod(fd_named, mode);
    return fd_named;
}

nb_status nb_atomic_open(nb_atomic_file *f, const char *target)
{
    *f = (nb_atomic_file){0};
    struct stat st;
    if (stat(target, &st) == 0 && !S_ISREG(st.st_mode))
        return nb_fail(NB_EIO, "cannot write '%s': it is %s, not a regular file, and writing would replace it; "
                               "name a file", target, nb_file_kind(st.st_mode));
    if (name_temporary(f, target) != NB_OK)
        return NB_ENOMEM;
    const char *slash = strrchr(f->target, '/');
    remove_stale_temporaries(f->directory, slash ? slash + 1 : f->target);
    int fd = open_temporary(f, new_file_mode(target));
    if (fd < 0) {
        int err = errno;
        release(f);
        return nb_fail(NB_EIO, "cannot create a temporary file beside '%s': %s", target, strerror(err));
    }
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
    if (f->temp_path && !f->unnamed)
        unlink(f->temp_path);
    release(f);
}

/* Make the rename itself durable: sync the directory that holds the file. */
static void sync_directory(const char *directory)
{
    int fd = open(directory, O_RDONLY | O_DIRECTORY);
    if (fd >= 0) {
        fsync(fd);
        close(fd);
    }
}

/* The complete unnamed file gets its temporary name (a fresh one, should it be taken). */
static int link_unnamed(nb_atomic_file *f)
{
    char proc[64];
    snprintf(proc, sizeof proc, "/proc/self/fd/%d", fileno(f->file));
    size_t x = strlen(f->temp_path) - 6;
    for (int attempt = 0; attempt < 100; attempt++) {
        memcpy(f->temp_path + x, "XXXXXX", 6);
        int fd = mkstemp(f->temp_path); /* a unique name, freed again for the link */
        if (fd < 0)
            return errno;
        close(fd);
        unlink(f->temp_path);
        if (linkat(AT_FDCWD, proc, AT_FDCWD, f->temp_path, AT_SYMLINK_FOLLOW) == 0)
            return 0;
        if (errno != EEXIST)
            return errno;
    }
    return EEXIST;
}

nb_status nb_atomic_commit(nb_atomic_file *f)
{
    int err = f->write_errno;
    if (!err && (fflush(f->file) != 0 || fsync(fileno(f->file)) != 0))
        err = errno;
    if (!err && f->unnamed && !(err = link_unnamed(f)))
        f->unnamed = false; /* it has a name now, which a failure below must remove */
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
