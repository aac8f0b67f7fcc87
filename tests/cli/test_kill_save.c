/* `nabla train --save` over an existing model, killed with SIGKILL at random moments, 50
 * times: the model file is always a whole model (the old one or the new one) and nothing
 * else is ever left in the directory. NB_KILLS sets another count: bench/kill.sh runs 500. */
#include "nb_test.h"

#include <dirent.h>
#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

extern char **environ;

static int kills(void)
{
    const char *text = getenv("NB_KILLS");
    int n = text ? atoi(text) : 0;
    return n > 0 ? n : 50;
}

static double now(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + 1e-9 * (double)t.tv_nsec;
}

static pid_t start_training(const char *data, const char *model)
{
    char *argv[] = {NB_CLI_PATH, "train", "--data", (char *)data, "--target", "y", "--loss", "mse",
                    "--model", "8-32-1:relu", "--epochs", "3", "--quiet", "--save", (char *)model, NULL};
    posix_spawn_file_actions_t actions;
    posix_spawn_file_actions_init(&actions);
    posix_spawn_file_actions_addopen(&actions, 2, "/dev/null", O_WRONLY, 0);
    pid_t pid;
    int err = posix_spawn(&pid, NB_CLI_PATH, &actions, NULL, argv, environ);
    posix_spawn_file_actions_destroy(&actions);
    assert_int_equal(err, 0);
    return pid;
}

/* The names in the scratch directory other than the data and the model. */
static int strays(char *first, size_t size)
{
    DIR *d = opendir(nb_test_dir());
    int n = 0;
    for (struct dirent *e; d && (e = readdir(d));) {
        const char *name = e->d_name;
        if (strcmp(name, ".") && strcmp(name, "..") && strcmp(name, "data.csv") && strcmp(name, "model.st")) {
            if (n++ == 0)
                snprintf(first, size, "%s", name);
        }
    }
    if (d)
        closedir(d);
    return n;
}

static void test_kill_during_save(void **state)
{
    (void)state;
    const char *data = nb_test_path("data.csv"), *model = nb_test_path("model.st");
    FILE *f = fopen(data, "w");
    fprintf(f, "a,b,c,d,e,f,g,h,y\n");
    for (int i = 0; i < 2000; i++)
        fprintf(f, "%d,%d,%d,%d,%d,%d,%d,%d,%d\n", i % 7, i % 5, i % 3, i % 11, i % 13, i % 2, i % 17, i % 19,
                (i % 7) + 2 * (i % 5));
    fclose(f);
    double t0 = now();
    int status;
    waitpid(start_training(data, model), &status, 0);
    double run_time = now() - t0;
    assert_true(WIFEXITED(status) && WEXITSTATUS(status) == 0);

    srand(7);
    int completed = 0, n = kills();
    for (int k = 0; k < n; k++) {
        pid_t pid = start_training(data, model);
        usleep((useconds_t)(1e6 * run_time * (rand() / (double)RAND_MAX)));
        kill(pid, SIGKILL);
        waitpid(pid, &status, 0);
        completed += WIFEXITED(status);
        char stray[256] = "";
        if (strays(stray, sizeof stray))
            fail_msg("kill %d left '%s' beside the model", k, stray);
        nb_safetensors *file = nb_safetensors_load(model);
        if (!file)
            fail_msg("kill %d left a model that does not load: %s", k, nb_errmsg());
        nb_safetensors_free(file);
    }
    print_message("%d of %d runs were killed, %d finished first (a run takes %.2f s)\n", n - completed, n, completed,
                  run_time);
}

int main(void)
{
    const struct CMUnitTest tests[] = {cmocka_unit_test(test_kill_during_save)};
    return cmocka_run_group_tests(tests, nb_test_make_dir, nb_test_remove_dir);
}
