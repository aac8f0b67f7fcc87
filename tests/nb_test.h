/* What every test file includes: cmocka (which needs these headers first) and a
 * double-precision comparison (cmocka 1.1.5 only compares floats). */
#ifndef NB_TEST_H
#define NB_TEST_H

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <math.h>

#include "nabla.h"

/* |actual - expected| <= tolerance, with both numbers in the message when not. */
#define assert_close(actual, expected, tolerance)                                                  \
    do {                                                                                           \
        double actual_ = (actual), expected_ = (expected), tolerance_ = (tolerance);               \
        if (!(fabs(actual_ - expected_) <= tolerance_))                                            \
            fail_msg("%s = %.17g, expected %.17g within %g", #actual, actual_, expected_,          \
                     tolerance_);                                                                  \
    } while (0)

#endif
