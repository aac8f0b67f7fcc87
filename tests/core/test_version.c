/* The version: the generated header, the library and the build agree. */
#include "nb_test.h"

#include <stdio.h>
#include <string.h>

/* The library a program runs with reports the version of the headers it was built with. */
static void test_library_matches_headers(void **state)
{
    (void)state;
    assert_non_null(nb_version());
    assert_string_equal(nb_version(), NABLA_VERSION);
}

/* NABLA_VERSION is MAJOR.MINOR.PATCH, and all come from project(nabla VERSION ...). */
static void test_header_parts(void **state)
{
    (void)state;
    char composed[64];
    snprintf(composed, sizeof composed, "%d.%d.%d", NABLA_VERSION_MAJOR, NABLA_VERSION_MINOR, NABLA_VERSION_PATCH);
    assert_string_equal(composed, NABLA_VERSION);
    assert_string_equal(NABLA_VERSION, NB_PROJECT_VERSION);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_library_matches_headers),
        cmocka_unit_test(test_header_parts),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
