/* Atomic files: a writer killed at any moment leaves the old file and nothing else; the
 * temporaries of writers that died between naming and renaming are removed later, those
 * of live writers never. */
#include "nb_test.h"

#include "core/core.h"

#include <dirent.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

static int entries_in(const char *dir)
{
    DIR *d = opendir(dir);
    int n = 0;
    for (struct dirent *e; d && (e = readdir(d));)
        n += strcmp(e->d_name, ".") != 0 && strcmp(e->d_name, "..") != 0;
    if (d)
        closedir(d);
    return n;
}

static void write_file(const char *path, const char *text)
{
    nb_atomic_file f;
    assert_int_equal(nb_atomic_open(&f, path), NB_OK);
    fputs(text, f.file);
    assert_int_equal(nb_atomic_commit(&f), NB_OK);
}

static void expect_contents(const char *path, const char *text)
{
    char buf[256] = {0};
    FILE *f = fopen(path, "r");
    assert_non_null(f);
    size_t n = fread(buf, 1, sizeof buf - 1, f);
    fclose(f);
    buf[n] = '\0';
    assert_string_equal(buf, text);
}

/* A child writes half a new file, then waits; killed there, it leaves no trace. */
static void test_killed_writer_leaves_nothing(void **state)
{
    (void)state;
    const char *path = nb_test_path("model.txt");
    write_file(path, "old");
    int ready[2];
    assert_int_equal(pipe(ready), 0);
    pid_t child = fork();
    assert_true(child >= 0);
    if (child == 0) {
        nb_atomic_file f;
        if (nb_atomic_open(&f, path) != NB_OK)
            _exit(1);
        for (int i = 0; i < 1000; i++)
            fputs("new new new new\n", f.file);
        fflush(f.file);
        if (write(ready[1], "x", 1) != 1)
            _exit(1);
        pause();
        _exit(0);
    }
    char byte;
    assert_int_equal(read(ready[0], &byte, 1), 1);
    kill(child, SIGKILL);
    waitpid(child, NULL, 0);
    close(ready[0]);
    close(ready[1]);
    assert_int_equal(entries_in(nb_test_dir()), 1);
    expect_contents(path, "old");
}

/* A temporary name of a dead writer is removed by the next write; a live one's stays. */
static void test_stale_temporaries(void **state)
{
    (void)state;
    const char *path = nb_test_path("data.txt");
    pid_t child = fork();
    assert_true(child >= 0);
    if (child == 0)
        _exit(0);
    waitpid(child, NULL, 0); /* a process id that is gone */
    char dead[512], live[512];
    snprintf(dead, sizeof dead, "%s.tmp.%ld.abcdef", path, (long)child);
    snprintf(live, sizeof live, "%s.tmp.%ld.ghijkl", path, (long)getpid());
    FILE *f = fopen(dead, "w");
    fclose(f);
    f = fopen(live, "w");
    fclose(f);
    write_file(path, "new");
    expect_contents(path, "new");
    assert_int_equal(access(dead, F_OK), -1);
    assert_int_equal(access(live, F_OK), 0);
    unlink(live);
}

/* A write that fails leaves the old file; a directory that is not there is named. */
static void test_failures(void **state)
{
    (void)state;
    const char *path = nb_test_path("keep.txt");
    write_file(path, "kept");
    nb_atomic_file f;
    assert_int_equal(nb_atomic_open(&f, path), NB_OK);
    fputs("half", f.file);
    nb_atomic_discard(&f);
    expect_contents(path, "kept");
    assert_int_equal(nb_atomic_open(&f, nb_test_path("no/such/dir/file")), NB_EIO);
    assert_non_null(strstr(nb_errmsg(), "no/such/dir/file"));
}

/* A target that is not a regular file is refused and stays what it was: renaming over a
 * FIFO, a device or /dev/stdout would replace it. */
static void test_special_targets_refused(void **state)
{
    (void)state;
    char dir[4096];
    snprintf(dir, sizeof dir, "%s", nb_test_path("special"));
    assert_int_equal(mkdir(dir, 0777), 0);
    char fifo[4200];
    snprintf(fifo, sizeof fifo, "%s/pipe", dir);
    assert_int_equal(mkfifo(fifo, 0666), 0);
    nb_atomic_file f;
    assert_int_equal(nb_atomic_open(&f, fifo), NB_EIO);
    assert_non_null(strstr(nb_errmsg(), "it is a FIFO (named pipe), not a regular file"));
    struct stat st;
    assert_int_equal(stat(fifo, &st), 0);
    assert_true(S_ISFIFO(st.st_mode));
    assert_int_equal(nb_atomic_open(&f, dir), NB_EIO);
    assert_non_null(strstr(nb_errmsg(), "it is a directory"));
    assert_int_equal(entries_in(dir), 1);
    unlink(fifo);
    rmdir(dir);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_killed_writer_leaves_nothing),
        cmocka_unit_test(test_stale_temporaries),
        cmocka_unit_test(test_failures),
        cmocka_unit_test(test_special_targets_refused),
    };
    return cmocka_run_group_tests(tests, nb_test_make_dir, nb_test_remove_dir);
}
