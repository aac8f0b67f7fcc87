/* The table of `nabla fit`, read through the shared CSV reader: formats, headers, the
 * fit's names for columns without one, and every error with file, line and column. */
#include "nb_test.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* Text read the way `nabla fit` reads a file: the shared CSV reader with the fit's
 * defaults (header: -1 detect, 0 no, 1 yes), then the fit's table. */
static nb_status parse(const char *text, int header, char delimiter, nb_lsq_data *data)
{
    nb_csv_options options = nb_lsq_csv_defaults();
    options.header = header < 0 ? NB_CSV_HEADER_AUTO : header ? NB_CSV_HEADER_YES : NB_CSV_HEADER_NO;
    options.delimiter = delimiter;
    memset(data, 0, sizeof *data);
    FILE *stream = fmemopen((void *)text, strlen(text), "r");
    if (!stream) /* glibc refuses a zero-length buffer: read an empty file instead */
        stream = fopen("/dev/null", "r");
    assert_non_null(stream);
    nb_csv_table *table = nb_csv_read_stream(stream, "t.csv", &options);
    fclose(stream);
    if (!table)
        return nb_errcode();
    nb_status status = nb_lsq_data_from_csv(table, data);
    nb_csv_free(table);
    return status;
}

static void expect_table(const char *text, int header, int n_columns, int n_rows, const char *first_name,
                         double last_value)
{
    nb_lsq_data data;
    if (parse(text, header, 0, &data) != NB_OK)
        fail_msg("'%s' did not read: %s", text, nb_errmsg());
    assert_int_equal(data.n_columns, n_columns);
    assert_int_equal(data.n_rows, n_rows);
    assert_string_equal(data.names[0], first_name);
    assert_close(data.columns[n_columns - 1][n_rows - 1], last_value, 0);
    nb_lsq_data_free(&data);
}

static void test_formats(void **state)
{
    (void)state;
    expect_table("x,y\n1,2\n3,4.5\n", -1, 2, 2, "x", 4.5);
    expect_table("x;y\n1;2\n3;-4.5e1\n", -1, 2, 2, "x", -45);
    expect_table("x\ty\tz\n1\t2\t3\n", -1, 3, 1, "x", 3);
    expect_table("  x    y\n  1   2\n\t3 \t 4\n", -1, 2, 2, "x", 4);         /* runs of blanks */
    expect_table("# a comment\n\nx,y\n# another\n1,2\n\n3,4\n", -1, 2, 2, "x", 4); /* comments, blanks */
    expect_table("x,y\r\n1,2\r\n3,4\r\n", -1, 2, 2, "x", 4);                  /* CRLF */
    expect_table("x,y\n1,2\n3,4", -1, 2, 2, "x", 4);                          /* no final newline */
    expect_table("\"x\",\"y\"\n\"1\",2\n3,\" 4 \"\n", -1, 2, 2, "x", 4);       /* quoted fields */
    expect_table("1 2\n3 4\n", -1, 2, 2, "x", 4);   /* no header: two columns are x and y */
    expect_table("1 2 5\n3 4 6\n", -1, 3, 2, "c1", 6); /* c1, c2, ... otherwise */
    expect_table("10 20\n3 4\n", 1, 2, 1, "10", 4);  /* --header: the first line names them */
}

static void test_header_choice(void **state)
{
    (void)state;
    nb_lsq_data data;
    /* a first row of numbers is data unless the caller says it is a header */
    assert_int_equal(parse("1,2\n3,4\n", -1, 0, &data), NB_OK);
    assert_false(data.has_header);
    assert_int_equal(data.n_rows, 2);
    assert_string_equal(data.names[1], "y");
    nb_lsq_data_free(&data);
    /* forced delimiter */
    assert_int_equal(parse("x;y\n1;2\n", -1, ';', &data), NB_OK);
    assert_int_equal(data.n_columns, 2);
    nb_lsq_data_free(&data);
    assert_int_equal(parse("x y,z\n1 2\n", -1, ' ', &data), NB_OK);
    assert_int_equal(data.n_columns, 2);
    assert_string_equal(data.names[1], "y,z");
    nb_lsq_data_free(&data);
}

static void test_column_lookup(void **state)
{
    (void)state;
    nb_lsq_data data;
    assert_int_equal(parse("time,signal,err\n1,2,3\n", -1, 0, &data), NB_OK);
    assert_int_equal(nb_lsq_data_column(&data, "signal"), 1);
    assert_int_equal(nb_lsq_data_column(&data, "3"), 2);
    assert_int_equal(nb_lsq_data_column(&data, "$1"), 0);
    assert_int_equal(nb_lsq_data_column(&data, "4"), -1);
    assert_int_equal(nb_lsq_data_column(&data, "0"), -1);
    assert_int_equal(nb_lsq_data_column(&data, "nope"), -1);
    char names[64];
    assert_string_equal(nb_lsq_data_names(&data, names, sizeof names), "time, signal, err");
    nb_lsq_data_free(&data);
}

static void expect_error(const char *text, int header, nb_status status, const char *needle)
{
    nb_lsq_data data;
    nb_clear_error();
    if (parse(text, header, 0, &data) == NB_OK)
        fail_msg("'%s' read, but should not", text);
    assert_int_equal(nb_errcode(), status);
    if (!strstr(nb_errmsg(), needle))
        fail_msg("'%s': message '%s' lacks '%s'", text, nb_errmsg(), needle);
    assert_int_equal(data.n_columns, 0);
    assert_null(data.columns);
}

static void test_errors(void **state)
{
    (void)state;
    expect_error("x,y\n1,2\n3,abc\n", -1, NB_EPARSE, "t.csv:3: column 2 ('y'): 'abc' is not a number");
    expect_error("x,y\n1,2\n3,\n", -1, NB_EPARSE, "t.csv:3: column 2 ('y') is empty");
    expect_error("x,y\n1,2\n3,4,5\n", -1, NB_EPARSE, "t.csv:3: ragged row: 3 fields, but 2 on line 1");
    expect_error("x,y,z\n1,2,3\n\n# c\n4,5\n", -1, NB_EPARSE, "t.csv:5: ragged row: 2 fields, but 3 on line 1");
    expect_error("x,y\n1,nan\n", -1, NB_ENUMERIC, "t.csv:2: column 2 ('y'): 'nan' is not a finite number");
    expect_error("x,y\n1,inf\n", -1, NB_ENUMERIC, "not a finite number");
    expect_error("", -1, NB_EFORMAT, "t.csv: the file is empty");
    expect_error("# only\n\n", -1, NB_EFORMAT, "t.csv: no rows (only blank or comment lines)");
    expect_error("x,y\n", -1, NB_EFORMAT, "a header but no data rows");
    expect_error("x y\n1 2\n3 4x\n", -1, NB_EPARSE, "t.csv:3: column 2 ('y'): '4x' is not a number");
    expect_error("1,2\n", 1, NB_EFORMAT, "a header but no data rows"); /* --header on a data line */
    /* without a header, the message does not use a name the fit then replaces */
    expect_error("1 2\n3 q\n", -1, NB_EPARSE, "t.csv:2: column 2: 'q' is not a number");
}

static void test_files(void **state)
{
    (void)state;
    char dir[] = "/tmp/nb_lsq_data_XXXXXX";
    assert_non_null(mkdtemp(dir));
    char path[256];
    snprintf(path, sizeof path, "%s/d.tsv", dir);
    FILE *file = fopen(path, "w");
    fputs("t\tv\n0\t1.5\n1\t2.5\n2\t3.5\n", file);
    fclose(file);
    nb_lsq_data data;
    assert_int_equal(nb_lsq_data_read(path, NULL, &data), NB_OK);
    assert_int_equal(data.n_rows, 3);
    assert_string_equal(data.names[1], "v");
    assert_close(data.columns[1][2], 3.5, 0);
    nb_lsq_data_free(&data);

    /* the file name is in the message */
    file = fopen(path, "w");
    fputs("t\tv\n0\t1.5\n1\tx\n", file);
    fclose(file);
    assert_int_not_equal(nb_lsq_data_read(path, NULL, &data), NB_OK);
    char expected[300];
    snprintf(expected, sizeof expected, "%s:3: column 2 ('v'): 'x' is not a number", path);
    assert_non_null(strstr(nb_errmsg(), expected));
    remove(path);

    snprintf(path, sizeof path, "%s/missing.csv", dir);
    assert_int_equal(nb_lsq_data_read(path, NULL, &data), NB_EIO);
    assert_non_null(strstr(nb_errmsg(), "cannot open"));
    assert_non_null(strstr(nb_errmsg(), "missing.csv"));
    rmdir(dir);
}

static void test_from_columns(void **state)
{
    (void)state;
    double x[3] = {1, 2, 3}, y[3] = {4, 5, 6};
    const char *names[2] = {"x", "y"};
    const double *columns[2] = {x, y};
    nb_lsq_data data;
    assert_int_equal(nb_lsq_data_from_columns(2, names, 3, columns, &data), NB_OK);
    x[0] = 99; /* copied */
    assert_close(data.columns[0][0], 1, 0);
    assert_close(data.columns[1][2], 6, 0);
    nb_lsq_data_free(&data);
    assert_int_equal(nb_lsq_data_from_columns(0, names, 3, columns, &data), NB_EARG);
    assert_int_equal(nb_lsq_data_from_csv(NULL, &data), NB_EARG);
    assert_int_equal(data.n_columns, 0);
}

/* Standard input, through the reader's "-". */
static void test_stdin(void **state)
{
    (void)state;
    char path[] = "/tmp/nb_lsq_stdin_XXXXXX";
    int fd = mkstemp(path);
    assert_true(fd >= 0);
    const char *text = "# t, v\n0 1.5\n1 2.5\n";
    assert_int_equal(write(fd, text, strlen(text)), (ssize_t)strlen(text));
    close(fd);
    assert_non_null(freopen(path, "r", stdin));
    nb_lsq_data data;
    assert_int_equal(nb_lsq_data_read("-", NULL, &data), NB_OK);
    assert_int_equal(data.n_rows, 2);
    assert_string_equal(data.names[1], "y");
    assert_close(data.columns[1][1], 2.5, 0);
    nb_lsq_data_free(&data);
    remove(path);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_formats),     cmocka_unit_test(test_header_choice),
        cmocka_unit_test(test_column_lookup), cmocka_unit_test(test_errors),
        cmocka_unit_test(test_files),       cmocka_unit_test(test_from_columns),
        cmocka_unit_test(test_stdin),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
