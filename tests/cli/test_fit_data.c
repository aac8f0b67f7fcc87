/* `nabla fit` on real tables: gaps, text columns, decimal commas, gzip files, column
 * names that are not plain names, names that shadow built-ins, duplicate headers, typos
 * of column names; and what the process loads when it does not plot, and when no MPI
 * launcher started it. */
#include "nb_test.h"
#include "cli_run.h"

#include <unistd.h>

static void expect_in(const char *text, const char *needle)
{
    if (!strstr(text, needle))
        fail_msg("output lacks '%s':\nstdout:\n%s\nstderr:\n%s", needle, out_text, err_text);
}

static void expect_status(const char *args, int status)
{
    int got = run_shell(args);
    if (got != status)
        fail_msg("'%s' exited %d, not %d:\nstdout:\n%s\nstderr:\n%s", args, got, status, out_text, err_text);
}

/* A stock table: dates, a gap in each numeric column, an NA, a text column. IBM = 2*AAPL + 1
 * exactly on the complete rows. */
#define STOCKS "Date,AAPL,IBM,note\n1990-01-01,1.0,3.0,up\n1990-01-02,2.0,5.0,\n1990-01-03,NA,5.5,flat\n" \
               "1990-01-04,3.0,7.0,up\n1990-01-05,4.0,,down\n1990-01-06,5.0,11.0,NaN\n1990-01-07,nan,1,x\n"

static int setup(void **state)
{
    if (nb_test_make_dir(state) != 0)
        return -1;
    write_file("stocks.csv", STOCKS);
    write_file("comma.csv", "t;V\n1,0;3,5\n2,0;6,0\n3,5;9,75\n4,0;11,0\n");
    write_file("line.csv", "x,y\n0,1\n1,3\n2,5.1\n3,6.9\n");
    return 0;
}

static double json_number(const cJSON *object, const char *a, const char *b)
{
    const cJSON *item = cJSON_GetObjectItemCaseSensitive(object, a);
    if (b)
        item = cJSON_GetObjectItemCaseSensitive(item, b);
    assert_true(cJSON_IsNumber(item));
    return item->valuedouble;
}

/* Rows with a gap in a column the formula reads are dropped and counted; the Date and
 * note columns are never read as numbers; --missing error names the first gap. */
static void test_missing_values(void **state)
{
    (void)state;
    expect_status("$NABLA fit 'IBM = a + b*AAPL' stocks.csv", 0);
    expect_in(out_text, "stocks.csv: 4 points (3 rows with a missing value dropped)");
    expect_status("$NABLA fit 'IBM = a + b*AAPL' stocks.csv --json", 0);
    cJSON *root = cJSON_Parse(out_text);
    assert_non_null(root);
    assert_close(json_number(root, "dropped_rows", NULL), 3, 0);
    assert_close(json_number(root, "n_points", NULL), 4, 0);
    assert_close(json_number(root, "params", "a"), 1, 1e-12);
    assert_close(json_number(root, "params", "b"), 2, 1e-12);
    cJSON_Delete(root);
    expect_status("$NABLA fit 'IBM = a + b*AAPL' stocks.csv --missing error", 1);
    expect_in(err_text, "stocks.csv:4: column 2 ('AAPL'): 'NA' is a missing value: fill it in, or drop the rows "
                        "with missing values (nabla fit --missing drop)");
    expect_status("$NABLA fit 'IBM = a + b*AAPL' stocks.csv --missing error --header", 1);
    write_file("empty.csv", "x,y\n1,2\n2,\n3,4\n");
    expect_status("$NABLA fit 'y = a*x' empty.csv --missing error", 1);
    expect_in(err_text, "empty.csv:3: column 2 ('y') is empty (a missing value)");
    write_file("na.csv", "x,y\n1,2\nNA,3\n2,4\n");
    expect_status("$NABLA fit 'y = a*x' na.csv --missing error", 1);
    expect_in(err_text, "na.csv:3: column 1 ('x'): 'NA' is a missing value");
    /* a column the formula reads that holds text is still an error, with its place */
    expect_status("$NABLA fit 'IBM = a + b*Date' stocks.csv", 1);
    expect_in(err_text, "stocks.csv:2: column 1 ('Date'): '1990-01-01' is not a number");
    write_file("allgaps.csv", "x,y\n1,\n,2\n");
    expect_status("$NABLA fit 'y = a*x' allgaps.csv", 1);
    expect_in(err_text, "allgaps.csv: all 2 data rows have a missing value (empty, NA or NaN) in a column that is read");
    expect_status("$NABLA fit 'y = a*x' na.csv --missing maybe", 2);
    expect_in(err_text, "--missing: expected drop or error, got 'maybe'");
}

/* Decimal commas (the delimiter then is not the comma), and gzip told by content. */
static void test_decimal_and_gzip(void **state)
{
    (void)state;
    expect_status("$NABLA fit 'V = a*t + b' comma.csv --decimal , --json", 0);
    cJSON *root = cJSON_Parse(out_text);
    assert_non_null(root);
    assert_close(json_number(root, "params", "a"), 2.5, 1e-12);
    assert_close(json_number(root, "params", "b"), 1, 1e-12);
    cJSON_Delete(root);
    expect_status("$NABLA fit 'V = a*t + b' comma.csv --header", 1);
    expect_in(err_text, "comma.csv:2: column 1 ('t'): '1,0' is not a number (decimal commas? nabla fit --decimal ,)");
    expect_status("$NABLA fit 'V = a*t + b' comma.csv --decimal , --delimiter ,", 2);
    expect_in(err_text, "--decimal , and --delimiter , together");
    expect_status("$NABLA fit 'V = a*t + b' comma.csv --decimal x", 2);
    expect_in(err_text, "--decimal: expected '.' or ',', got 'x'");
    /* gzip by content: any name, a path or standard input */
    expect_status("gzip -c stocks.csv > stocks.data && $NABLA fit 'IBM = a + b*AAPL' stocks.data", 0);
    expect_in(out_text, "stocks.data: 4 points (3 rows with a missing value dropped)");
    expect_status("gzip -c stocks.csv | $NABLA fit 'IBM = a + b*AAPL' -", 0);
    expect_in(out_text, "4 points");
    expect_status("gzip -c stocks.csv | head -c 60 > cut.gz && $NABLA fit 'IBM = a + b*AAPL' cut.gz", 1);
    expect_in(err_text, "cut.gz: corrupt gzip data: the file ends before the gzip trailer");
}

/* Any header through backticks; built-in names and duplicates refused with how to
 * write each; a typo of a column gets a note. */
static void test_column_names(void **state)
{
    (void)state;
    write_file("names.csv", "Computer Science,time-ms,temp\xc3\xa9rature,^GSPC,y\n1,2,3,4,10\n2,1,0,1,9\n"
                            "0,0,1,2,4.5\n3,1,1,0,10.5\n5,2,2,2,21\n1,1,1,1,7\n2,2,0,3,13\n");
    expect_status("$NABLA fit 'y = a*`Computer Science` + b*`time-ms` + c*temp\xc3\xa9rature + d*`^GSPC` + f' "
                  "names.csv --json", 0);
    cJSON *root = cJSON_Parse(out_text);
    assert_non_null(root);
    assert_close(json_number(root, "n_points", NULL), 7, 0);
    cJSON_Delete(root);
    expect_status("$NABLA fit 'y = a*time-ms + b' names.csv", 2);
    expect_in(err_text, "'time-ms' is the name of data column 2, but written so it reads as an expression: write "
                        "`time-ms` (or $2) for the column");
    expect_status("$NABLA fit 'y = a*(Computer Science) + b' names.csv", 2);
    expect_in(err_text, "written in backticks, `Computer Science`, or by its number, $1");
    write_file("e.csv", "e,y\n1,2\n2,3\n3,4.5\n");
    expect_status("$NABLA fit 'y = a*e' e.csv", 2);
    expect_in(err_text, "'e' is both data column 1 and the constant e: write `e` (or $1) for the column, exp(1) for "
                        "the constant");
    expect_status("$NABLA fit 'y = a*`e` + b*exp(1)' e.csv", 0);
    write_file("dup.csv", "# two t\nt,t,y\n1,2,3\n2,3,4\n");
    expect_status("$NABLA fit 'y = a*$1 + b' dup.csv", 1);
    expect_in(err_text, "dup.csv:2: columns 1 and 2 are both named 't'; rename one in the header");
    write_file("typo.csv", "t,Volume,y\n1,1,2.1\n2,3,3.9\n3,2,6.2\n4,5,8.1\n5,4,9.8\n");
    expect_status("$NABLA fit 'y = a*t + Volme' typo.csv", 0);
    expect_in(out_text, "note: 'Volme' is not a column, so it is fitted as a parameter; did you mean the column "
                        "'Volume'?");
    expect_status("$NABLA fit 'y = a*t + Volme' typo.csv --json", 0);
    expect_in(out_text, "\"notes\":[\"'Volme' is not a column, so it is fitted as a parameter; did you mean the "
                        "column 'Volume'?\"]");
    expect_status("$NABLA fit 'y = a*T + b' typo.csv", 1); /* a*T is one more constant: the note says why */
    expect_in(err_text, "note: 'T' is not a column, so it is fitted as a parameter; did you mean the column 't'?");
}

/* A fit that does not plot loads no cairo (nor BLAS); one that plots does. */
static void test_no_cairo_without_plot(void **state)
{
    (void)state;
    expect_status("LD_DEBUG=libs $NABLA fit 'y = a*x + b' line.csv", 0);
    if (strstr(err_text, "libcairo") || strstr(err_text, "libgif") || strstr(err_text, "blas"))
        fail_msg("a fit without --plot loaded cairo, giflib or BLAS:\n%s", err_text);
    if (!strstr(err_text, "calling init"))
        skip(); /* this loader does not report the libraries it loads */
    expect_status("LD_DEBUG=libs $NABLA fit 'y = a*x + b' line.csv --plot line.png", 0);
    expect_in(err_text, "libcairo");
}

/* Built with MPI, the program loads Open MPI (its module nabla-mpi.so, linked to MPI) only
 * when an MPI launcher started it, or to name it in --version; a fit alone loads neither.
 * Under a launcher, a program whose module is missing says which file and what to do,
 * with the status of a nabla built without MPI. */
static void test_no_mpi_unless_launched(void **state)
{
    (void)state;
    expect_status("$NABLA --version", 0);
    if (strstr(out_text, "MPI: no (built without MPI")) {
        print_message("skipped: nabla is built without MPI, so it never loads it\n");
        skip();
    }
    expect_in(out_text, "MPI: yes");
    expect_status("mkdir -p alone && cp \"$NABLA\" alone/nabla && OMPI_COMM_WORLD_SIZE=2 alone/nabla train --data "
                  "line.csv --target y", 2);
    expect_in(err_text, "nabla train: nabla's MPI module nabla-mpi.so cannot be loaded (");
    expect_in(err_text, "reinstall nabla");
    expect_status("alone/nabla --version", 0);
    expect_in(out_text, "MPI: no (nabla's MPI module nabla-mpi.so cannot be loaded");
    expect_status("LD_DEBUG=libs $NABLA fit 'y = a*x + b' line.csv", 0);
    if (strstr(err_text, "libmpi") || strstr(err_text, "nabla-mpi.so"))
        fail_msg("a fit that no MPI launcher started loaded MPI:\n%s", err_text);
    if (!strstr(err_text, "calling init"))
        skip(); /* this loader does not report the libraries it loads */
    expect_status("LD_DEBUG=libs $NABLA --version", 0);
    expect_in(err_text, "nabla-mpi.so");
    expect_in(err_text, "libmpi");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_missing_values),
        cmocka_unit_test(test_decimal_and_gzip),
        cmocka_unit_test(test_column_names),
        cmocka_unit_test(test_no_cairo_without_plot),
        cmocka_unit_test(test_no_mpi_unless_launched),
    };
    return cmocka_run_group_tests(tests, setup, nb_test_remove_dir);
}
