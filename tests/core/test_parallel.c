/* The thread count: default, setting, restoring, and a bad count. */
#include "nb_test.h"

#include "core/core.h"

#include <pthread.h>
#include <sched.h>
#include <stdbool.h>
#include <stdatomic.h>
#include <string.h>
#include <time.h>

/* A worker made for a job takes part in that job: each chunk waits (up to 10 s) until
 * both chunks have started, which only happens when the new worker runs one. (It once
 * missed the job that made it, and the caller ran every chunk alone.) First in the
 * file: the process's first job, so no earlier job can have sent the pool solo (a
 * preempted worker sends the next jobs to the caller alone, which no barrier survives). */
typedef struct barrier {
    atomic_int started;
    int chunks;
    bool all_seen[2];
} barrier;

static void barrier_chunk(void *ctx, int chunk)
{
    barrier *b = ctx;
    atomic_fetch_add(&b->started, 1);
    struct timespec start, now;
    clock_gettime(CLOCK_MONOTONIC, &start);
    do {
        if (atomic_load(&b->started) == b->chunks) {
            b->all_seen[chunk] = true;
            return;
        }
        sched_yield();
        clock_gettime(CLOCK_MONOTONIC, &now);
    } while (now.tv_sec - start.tv_sec < 10);
}

static void test_new_worker_joins_its_first_job(void **state)
{
    (void)state;
    nb_set_threads(2);
    barrier b = {.chunks = 2};
    nb_parallel_chunks(2, barrier_chunk, &b);
    nb_set_threads(0);
    for (int c = 0; c < 2; c++)
        if (!b.all_seen[c])
            fail_msg("chunk %d waited 10 s for the other: the new worker missed the job", c);
}

static void test_default_is_available_cores(void **state)
{
    (void)state;
    cpu_set_t set;
    assert_int_equal(sched_getaffinity(0, sizeof set, &set), 0);
    assert_int_equal(nb_cpu_count(), CPU_COUNT(&set));
    assert_int_equal(nb_get_threads(), nb_cpu_count());
}

static void test_set_and_restore(void **state)
{
    (void)state;
    assert_int_equal(nb_set_threads(3), NB_OK);
    assert_int_equal(nb_get_threads(), 3);
    assert_int_equal(nb_set_threads(1), NB_OK);
    assert_int_equal(nb_get_threads(), 1);
    assert_int_equal(nb_set_threads(0), NB_OK);
    assert_int_equal(nb_get_threads(), nb_cpu_count());
}

static void test_negative_count_fails(void **state)
{
    (void)state;
    nb_set_threads(2);
    assert_int_equal(nb_set_threads(-1), NB_EARG);
    assert_non_null(strstr(nb_errmsg(), "got -1"));
    assert_int_equal(nb_get_threads(), 2); /* unchanged */
    assert_int_equal(nb_set_threads(NB_MAX_THREADS + 1), NB_EARG);
    assert_non_null(strstr(nb_errmsg(), "at most 256"));
    assert_int_equal(nb_get_threads(), 2);
    nb_set_threads(0);
}

/* Small work stays on one thread; large work gets at most the count in force. */
static void test_threads_for_work(void **state)
{
    (void)state;
    nb_set_threads(4);
    assert_int_equal(nb_threads_for(100, 1000), 1);
    assert_int_equal(nb_threads_for(2500, 1000), 2);
    assert_int_equal(nb_threads_for(1000000, 1000), 4);
    nb_set_threads(1);
    assert_int_equal(nb_threads_for(1000000, 1000), 1);
    nb_set_threads(0);
}

/* Every chunk runs exactly once, whoever runs it; a job started inside a chunk runs on
 * that chunk's thread. */
typedef struct counting {
    int runs[64];
    int inner_runs[64][4];
} counting;

static void inner_chunk(void *ctx, int chunk)
{
    int *row = ctx;
    row[chunk]++;
}

static void outer_chunk(void *ctx, int chunk)
{
    counting *count = ctx;
    count->runs[chunk]++;
    nb_parallel_chunks(4, inner_chunk, count->inner_runs[chunk]);
}

static void test_chunks_run_once(void **state)
{
    (void)state;
    for (int threads = 1; threads <= 3; threads++) {
        nb_set_threads(threads);
        for (int chunks = 0; chunks <= 64; chunks += 7) {
            for (int repeat = 0; repeat < 50; repeat++) {
                counting count;
                memset(&count, 0, sizeof count);
                nb_parallel_chunks(chunks, outer_chunk, &count);
                for (int c = 0; c < 64; c++) {
                    assert_int_equal(count.runs[c], c < chunks ? 1 : 0);
                    for (int i = 0; i < 4; i++)
                        assert_int_equal(count.inner_runs[c][i], c < chunks ? 1 : 0);
                }
            }
        }
    }
    nb_set_threads(0);
}

/* Ranges cover [0, count) without gaps or overlaps. */
static void mark_range(void *ctx, int64_t from, int64_t to)
{
    char *marks = ctx;
    for (int64_t i = from; i < to; i++)
        marks[i]++;
}

static void test_ranges_cover(void **state)
{
    (void)state;
    enum { COUNT = 100003 };
    static char marks[COUNT];
    for (int threads = 1; threads <= 3; threads++) {
        nb_set_threads(threads);
        memset(marks, 0, sizeof marks);
        nb_parallel_ranges(COUNT, COUNT, mark_range, marks);
        for (int i = 0; i < COUNT; i++)
            assert_int_equal(marks[i], 1);
    }
    nb_set_threads(0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_new_worker_joins_its_first_job),
        cmocka_unit_test(test_default_is_available_cores),
        cmocka_unit_test(test_set_and_restore),
        cmocka_unit_test(test_negative_count_fails),
        cmocka_unit_test(test_threads_for_work),
        cmocka_unit_test(test_chunks_run_once),
        cmocka_unit_test(test_ranges_cover),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
