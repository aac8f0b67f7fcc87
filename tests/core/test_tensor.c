/* Tensors and the random generator. */
#include "nb_test.h"

#include <math.h>
#include <string.h>


static void test_creation(void **state)
{
    (void)state;
    int64_t shape[] = {2, 3};
    nb_tensor *zeros = nb_tensor_zeros(NB_F32, 2, shape);
    assert_non_null(zeros);
    assert_int_equal(zeros->size, 6);
    for (int i = 0; i < 6; i++)
        assert_true(nb_tensor_get(zeros, i) == 0.0);
    nb_tensor *ones = nb_tensor_ones(NB_F64, 2, shape);
    assert_true(nb_tensor_f64(ones)[5] == 1.0);
    assert_null(nb_tensor_f32(ones));
    double values[] = {1, 2, 3, 4, 5, 6};
    nb_tensor *from = nb_tensor_from(NB_F32, 2, shape, values);
    assert_true(nb_tensor_f32(from)[4] == 5.0f);
    nb_tensor *clone = nb_tensor_clone(from);
    assert_memory_equal(clone->data, from->data, 6 * sizeof(float));
    nb_tensor *scalar = nb_tensor_full(NB_F64, 0, NULL, 7.5);
    assert_int_equal(scalar->ndim, 0);
    assert_int_equal(scalar->size, 1);
    assert_true(nb_tensor_get(scalar, 0) == 7.5);
    nb_tensor_free(zeros);
    nb_tensor_free(ones);
    nb_tensor_free(from);
    nb_tensor_free(clone);
    nb_tensor_free(scalar);
}

static void test_ranges(void **state)
{
    (void)state;
    nb_tensor *range = nb_tensor_arange(NB_F64, 0, 1, 0.01);
    assert_int_equal(range->size, 100);
    assert_close(nb_tensor_get(range, 99), 0.99, 1e-15);
    nb_tensor *lin = nb_tensor_linspace(NB_F32, -1, 1, 5);
    assert_int_equal(lin->size, 5);
    assert_true(nb_tensor_get(lin, 0) == -1 && nb_tensor_get(lin, 2) == 0 && nb_tensor_get(lin, 4) == 1);
    nb_tensor_free(range);
    nb_tensor_free(lin);
    assert_null(nb_tensor_arange(NB_F64, 0, 1, 0));
    assert_int_equal(nb_errcode(), NB_EARG);
    assert_non_null(strstr(nb_errmsg(), "arange"));
}

static void test_bad_shapes(void **state)
{
    (void)state;
    int64_t negative[] = {2, -3};
    assert_null(nb_tensor_zeros(NB_F32, 2, negative));
    assert_int_equal(nb_errcode(), NB_ESHAPE);
    assert_non_null(strstr(nb_errmsg(), "[2, -3]"));
    int64_t five[] = {1, 1, 1, 1, 1};
    assert_null(nb_tensor_zeros(NB_F32, 5, five));
    assert_int_equal(nb_errcode(), NB_EARG);
    assert_null(nb_tensor_zeros((nb_dtype)7, 1, five));
    assert_int_equal(nb_errcode(), NB_EDTYPE);
}

static void test_rng_reproducible(void **state)
{
    (void)state;
    nb_rng a, b;
    nb_rng_seed(&a, 42);
    nb_rng_seed(&b, 42);
    for (int i = 0; i < 1000; i++)
        assert_true(nb_rng_next(&a) == nb_rng_next(&b));
    nb_rng_seed(&b, 43);
    assert_true(nb_rng_next(&a) != nb_rng_next(&b));
}

/* Moments of 200,000 draws: loose enough never to fail by chance (5+ sigma). */
static void test_rng_distributions(void **state)
{
    (void)state;
    nb_rng rng;
    nb_rng_seed(&rng, 7);
    const int n = 200000;
    double sum_u = 0, sum_n = 0, sum_n2 = 0;
    for (int i = 0; i < n; i++) {
        double u = nb_rng_uniform(&rng);
        assert_true(u >= 0 && u < 1);
        sum_u += u;
        double z = nb_rng_normal(&rng);
        sum_n += z;
        sum_n2 += z * z;
    }
    assert_close(sum_u / n, 0.5, 0.005);
    assert_close(sum_n / n, 0.0, 0.012);
    assert_close(sum_n2 / n, 1.0, 0.02);
    int counts[6] = {0};
    for (int i = 0; i < 60000; i++)
        counts[nb_rng_below(&rng, 6)]++;
    for (int k = 0; k < 6; k++)
        assert_in_range(counts[k], 9500, 10500);
}

static void test_shuffle_is_permutation(void **state)
{
    (void)state;
    nb_rng rng;
    nb_rng_seed(&rng, 1);
    int64_t index[100];
    for (int i = 0; i < 100; i++)
        index[i] = i;
    nb_rng_shuffle(&rng, index, 100);
    int seen[100] = {0}, moved = 0;
    for (int i = 0; i < 100; i++) {
        seen[index[i]]++;
        moved += index[i] != i;
    }
    for (int i = 0; i < 100; i++)
        assert_int_equal(seen[i], 1);
    assert_true(moved > 50);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_creation),         cmocka_unit_test(test_ranges),
        cmocka_unit_test(test_bad_shapes),       cmocka_unit_test(test_rng_reproducible),
        cmocka_unit_test(test_rng_distributions), cmocka_unit_test(test_shuffle_is_permutation),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
