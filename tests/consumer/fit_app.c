/* A program outside nabla that uses nabla::fit (and so nabla::io and nabla::core):
 * fits y = a*x + b to points on y = 2x + 1, and checks that a failure in libnabla-io
 * is reported by libnabla's nb_errmsg() (one error state, one copy of the core). */
#include <math.h>
#include <stdio.h>

#include <nabla/fit.h>
#include <nabla/io.h>

int main(void)
{
    if (nb_table_read("/nonexistent/nabla-consumer.csv", NULL) != NULL || nb_errcode() != NB_EIO ||
        nb_errmsg()[0] == '\0') {
        fprintf(stderr, "fit_app: a missing file was not reported through nb_errmsg()\n");
        return 1;
    }
    nb_clear_error();
    const double x[5] = {0, 1, 2, 3, 4}, y[5] = {1, 3, 5, 7, 9};
    const char *names[2] = {"x", "y"};
    const double *columns[2] = {x, y};
    nb_table *data = nb_table_from_columns(2, names, 5, columns);
    nb_lsq_result result;
    nb_status status = data ? nb_fit_formula("y = a*x + b", data, NULL, NULL, &result) : nb_errcode();
    nb_table_free(data);
    if (status != NB_OK) {
        fprintf(stderr, "fit_app: %s\n", nb_errmsg());
        return 1;
    }
    int ok = fabs(result.params[0] - 2) < 1e-9 && fabs(result.params[1] - 1) < 1e-9;
    printf("fit: %s = %g, %s = %g\n", result.names[0], result.params[0], result.names[1], result.params[1]);
    nb_lsq_result_clear(&result);
    return ok ? 0 : 1;
}
