/* The thread count: default, setting, restoring, and a bad count. */
#include "nb_test.h"

#include "parallel.h"

#include <sched.h>
#include <string.h>

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

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_default_is_available_cores),
        cmocka_unit_test(test_set_and_restore),
        cmocka_unit_test(test_negative_count_fails),
        cmocka_unit_test(test_threads_for_work),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
