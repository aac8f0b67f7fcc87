/* The table: the names of columns that have none, the one lookup of a column ("y", "3",
 * "$3"), tables copied from arrays, and files read the way `nabla fit` reads them, with
 * every error's file, line and column. */
#include "nb_test.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* Text read the way `nabla fit` reads a file (lines starting with '#' skipped; header:
 * -1 detect, 0 no, 1 yes). */
static nb_table *parse(const char *text, int header, char delimiter)
{
    nb_csv_options options = {.comment = '#', .delimiter = delimiter};
    options.header = header < 0 ? NB_CSV_HEADER_AUTO : header ? NB_CSV_HEADER_YES : NB_CSV_HEADER_NO;
    FILE *stream = fmemopen((void *)text, strlen(text), "r");
    if (!stream) /* glibc refuses a zero-length buffer: read an empty file instead */
        stream = fopen("/dev/null", "r");
    assert_non_null(stream);
    nb_table *table = nb_table_read_stream(stream, "t.csv", &options);
    fclose(stream);
    return table;
}

static void expect_table(const char *text, int header, int n_columns, int n_rows, const char *first_name,
                         double last_value)
{
    nb_table *t = parse(text, header, 0);
    if (!t)
        fail_msg("'%s' did not read: %s", text, nb_errmsg());
    assert_int_equal(t->n_columns, n_columns);
    assert_int_equal(t->n_rows, n_rows);
    assert_string_equal(t->names[0], first_name);
    assert_close(t->columns[n_columns - 1][n_rows - 1], last_value, 0);
    nb_table_free(t);
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
    expect_table("10 20\n3 4\n", 1, 2, 1, "10", 4);  /* --header: the first line names them */
}

static void test_header_choice(void **state)
{
    (void)state;
    /* a first row of numbers is data unless the caller says it is a header */
    nb_table *t = parse("1,2\n3,4\n", -1, 0);
    assert_non_null(t);
    assert_false(t->has_header);
    assert_int_equal(t->n_rows, 2);
    nb_table_free(t);
    /* forced delimiter */
    t = parse("x;y\n1;2\n", -1, ';');
    assert_non_null(t);
    assert_int_equal(t->n_columns, 2);
    nb_table_free(t);
    t = parse("x y,z\n1 2\n", -1, ' ');
    assert_non_null(t);
    assert_int_equal(t->n_columns, 2);
    assert_string_equal(t->names[1], "y,z");
    nb_table_free(t);
}

static void expect_names(const nb_table *t, const char *joined)
{
    char buf[256] = "";
    for (int k = 0; k < t->n_columns; k++)
        snprintf(buf + strlen(buf), sizeof buf - strlen(buf), k ? ",%s" : "%s", t->names[k]);
    assert_string_equal(buf, joined);
}

/* One rule for columns without a name, whoever makes the table: x and y for two
 * columns, otherwise c1, c2, ..., numbered by their place in the file. */
static void test_naming_rule(void **state)
{
    (void)state;
    const char *texts[] = {"5\n6\n", "1 2\n3 4\n", "1 2 5\n3 4 6\n", "1,2,3,4\n5,6,7,8\n"};
    const char *names[] = {"c1", "x,y", "c1,c2,c3", "c1,c2,c3,c4"};
    for (int i = 0; i < 4; i++) {
        nb_table *t = parse(texts[i], -1, 0);
        assert_non_null(t);
        assert_false(t->has_header);
        expect_names(t, names[i]);
        nb_table_free(t);
    }
    /* a header cell left empty is named as if the file had none */
    nb_table *t = parse("t,\n1,2\n", -1, 0);
    expect_names(t, "t,y");
    nb_table_free(t);
    t = parse("a,,c\n1,2,3\n", -1, 0);
    expect_names(t, "a,c2,c");
    nb_table_free(t);
    /* the names are the file's columns': selecting some does not rename them */
    const char *pick[] = {"$3", "c1"};
    nb_csv_options options = {.columns = pick, .n_columns = 2};
    FILE *stream = fmemopen((void *)"1 2 3\n4 5 6\n", 12, "r");
    t = nb_table_read_stream(stream, "t.txt", &options);
    fclose(stream);
    assert_non_null(t);
    expect_names(t, "c3,c1");
    assert_close(t->columns[0][1], 6, 0);
    nb_table_free(t);
    /* arrays without names follow the same rule */
    double a[2] = {1, 2}, b[2] = {3, 4}, c[2] = {5, 6};
    t = nb_table_from_columns(2, NULL, 2, (const double *const[]){a, b});
    assert_false(t->has_header);
    expect_names(t, "x,y");
    nb_table_free(t);
    t = nb_table_from_columns(3, NULL, 2, (const double *const[]){a, b, c});
    expect_names(t, "c1,c2,c3");
    nb_table_free(t);
}

static void expect_lookup_error(const nb_table *t, const char *spec, const char *needle)
{
    nb_clear_error();
    assert_int_equal(nb_table_column(t, spec), -1);
    assert_int_equal(nb_errcode(), NB_EARG);
    if (!strstr(nb_errmsg(), needle))
        fail_msg("'%s': message '%s' lacks '%s'", spec, nb_errmsg(), needle);
}

static void test_column_lookup(void **state)
{
    (void)state;
    nb_table *t = parse("time,signal,err\n1,2,3\n", -1, 0);
    assert_non_null(t);
    assert_int_equal(nb_table_column(t, "signal"), 1);
    assert_int_equal(nb_table_column(t, "3"), 2);
    assert_int_equal(nb_table_column(t, "$3"), 2);
    assert_int_equal(nb_table_column(t, "$1"), 0);
    expect_lookup_error(t, "nope", "t.csv: no column 'nope'; available columns: time, signal, err");
    expect_lookup_error(t, "4", "t.csv: no column 4 (there are 3 columns: time, signal, err)");
    expect_lookup_error(t, "$4", "no column $4 (there are 3 columns: time, signal, err)");
    expect_lookup_error(t, "0", "no column 0 (there are 3 columns");
    expect_lookup_error(t, "$", "no column '$'; available columns: time, signal, err");
    expect_lookup_error(t, "$x", "no column '$x'");
    expect_lookup_error(t, "Signal", "no column 'Signal'"); /* names are case-sensitive */
    expect_lookup_error(t, "", "no column ''");
    expect_lookup_error(NULL, "x", "nb_table_column: the table is NULL");
    expect_lookup_error(t, NULL, "nb_table_column: the column is NULL");
    nb_table_free(t);

    /* a name wins over a number; two columns of one name are told apart by number */
    t = parse("3,a,a,$1\n10,20,30,40\n", -1, 0);
    assert_non_null(t);
    assert_int_equal(nb_table_column(t, "3"), 0);
    assert_int_equal(nb_table_column(t, "$3"), 2);
    assert_int_equal(nb_table_column(t, "$1"), 3);
    expect_lookup_error(t, "a", "t.csv: column name 'a' is ambiguous (columns 2 and 3); select it by number");
    assert_int_equal(nb_table_column(t, "2"), 1);
    nb_table_free(t);

    /* the same lookup selects columns while reading */
    const char *pick[] = {"$2"};
    nb_csv_options options = {.columns = pick, .n_columns = 1};
    FILE *stream = fmemopen((void *)"u,v\n1,2\n", 8, "r");
    t = nb_table_read_stream(stream, "t.csv", &options);
    fclose(stream);
    assert_non_null(t);
    expect_names(t, "v");
    nb_table_free(t);
}

static void expect_error(const char *text, int header, nb_status status, const char *needle)
{
    nb_clear_error();
    nb_table *t = parse(text, header, 0);
    if (t)
        fail_msg("'%s' read, but should not", text);
    assert_int_equal(nb_errcode(), status);
    if (!strstr(nb_errmsg(), needle))
        fail_msg("'%s': message '%s' lacks '%s'", text, nb_errmsg(), needle);
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
    /* without a header, the message names the column by number, as the file shows it */
    expect_error("1 2\n3 q\n", -1, NB_EPARSE, "t.csv:2: column 2: 'q' is not a number");
}

static void test_files(void **state)
{
    (void)state;
    char path[300];
    snprintf(path, sizeof path, "%s/d.tsv", nb_test_dir());
    FILE *file = fopen(path, "w");
    fputs("t\tv\n0\t1.5\n1\t2.5\n2\t3.5\n", file);
    fclose(file);
    nb_table *t = nb_table_read(path, NULL);
    assert_non_null(t);
    assert_int_equal(t->n_rows, 3);
    assert_string_equal(t->source, path);
    assert_string_equal(t->names[1], "v");
    assert_close(t->columns[1][2], 3.5, 0);
    nb_table_free(t);

    /* the file name is in the message */
    file = fopen(path, "w");
    fputs("t\tv\n0\t1.5\n1\tx\n", file);
    fclose(file);
    assert_null(nb_table_read(path, NULL));
    char expected[400];
    snprintf(expected, sizeof expected, "%s:3: column 2 ('v'): 'x' is not a number", path);
    assert_non_null(strstr(nb_errmsg(), expected));

    snprintf(path, sizeof path, "%s/missing.csv", nb_test_dir());
    assert_null(nb_table_read(path, NULL));
    assert_int_equal(nb_errcode(), NB_EIO);
    assert_non_null(strstr(nb_errmsg(), "cannot open"));
    assert_non_null(strstr(nb_errmsg(), "missing.csv"));
}

static void test_from_columns(void **state)
{
    (void)state;
    double x[3] = {1, 2, 3}, y[3] = {4, 5, 6};
    const char *names[2] = {"time", "y"};
    const double *columns[2] = {x, y};
    nb_table *t = nb_table_from_columns(2, names, 3, columns);
    assert_non_null(t);
    x[0] = 99; /* copied */
    assert_close(t->columns[0][0], 1, 0);
    assert_close(t->columns[1][2], 6, 0);
    assert_true(t->has_header);
    assert_string_equal(t->source, "<arrays>");
    assert_int_equal(t->lines[2], 3);
    assert_int_equal(t->class_col, -1);
    assert_int_equal(nb_table_column(t, "time"), 0);
    assert_int_equal(nb_table_column(t, "$2"), 1);
    expect_lookup_error(t, "x", "<arrays>: no column 'x'; available columns: time, y");
    nb_table_free(t);
    t = nb_table_from_columns(1, names, 0, columns); /* no rows is a table */
    assert_non_null(t);
    assert_int_equal(t->n_rows, 0);
    nb_table_free(t);
    nb_table_free(NULL);

    assert_null(nb_table_from_columns(0, names, 3, columns));
    assert_int_equal(nb_errcode(), NB_EARG);
    assert_null(nb_table_from_columns(2, names, -1, columns));
    assert_null(nb_table_from_columns(2, names, 3, NULL));
    assert_null(nb_table_from_columns(2, names, 3, (const double *const[]){x, NULL}));
    assert_non_null(strstr(nb_errmsg(), "column 2 has no values"));
    assert_null(nb_table_from_columns(2, (const char *const[]){"a", NULL}, 3, columns));
    assert_non_null(strstr(nb_errmsg(), "column 2 has no name"));

    /* out of memory at every allocation: NULL, a message, nothing left behind */
    nb_alloc_counter counter;
    for (long fail_at = 0;; fail_at++) {
        nb_count_allocations(&counter, fail_at);
        t = nb_table_from_columns(2, names, 3, columns);
        nb_table_free(t);
        nb_set_allocator(NULL);
        assert_int_equal(counter.live, 0);
        if (t)
            break;
        assert_int_equal(nb_errcode(), NB_ENOMEM);
    }
    assert_true(counter.calls > 5);
}

/* Standard input, through the reader's "-". */
static void test_stdin(void **state)
{
    (void)state;
    char path[300];
    snprintf(path, sizeof path, "%s/stdin.txt", nb_test_dir());
    FILE *file = fopen(path, "w");
    fputs("# t, v\n0 1.5\n1 2.5\n", file);
    fclose(file);
    assert_non_null(freopen(path, "r", stdin));
    nb_table *t = nb_table_read("-", &(nb_csv_options){.comment = '#'});
    assert_non_null(t);
    assert_int_equal(t->n_rows, 2);
    assert_string_equal(t->source, "<stdin>");
    assert_string_equal(t->names[1], "y");
    assert_close(t->columns[1][1], 2.5, 0);
    nb_table_free(t);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_formats),      cmocka_unit_test(test_header_choice),
        cmocka_unit_test(test_naming_rule),  cmocka_unit_test(test_column_lookup),
        cmocka_unit_test(test_errors),       cmocka_unit_test(test_files),
        cmocka_unit_test(test_from_columns), cmocka_unit_test(test_stdin),
    };
    return cmocka_run_group_tests(tests, nb_test_make_dir, nb_test_remove_dir);
}
