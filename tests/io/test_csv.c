/* CSV through libcsv: delimiters, headers, selection, quotes, class names, and every bad
 * input reported with its file, line and column. */
#include "nb_test.h"

#include <malloc.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* Writes `text` to a file in the test directory; returns its path (static buffer). */
static const char *write_file(const char *name, const char *text)
{
    static char path[256];
    snprintf(path, sizeof path, "%s/%s", nb_test_dir(), name);
    FILE *f = fopen(path, "wb");
    assert_non_null(f);
    fputs(text, f);
    fclose(f);
    return path;
}

static nb_table *read_text(const char *text, const nb_csv_options *options)
{
    return nb_table_read(write_file("data.csv", text), options);
}

/* The read must fail with `status` and a message containing each of the fragments. */
static void expect_failure(const char *text, const nb_csv_options *options, nb_status status,
                           const char *fragment1, const char *fragment2)
{
    nb_clear_error();
    nb_table *t = read_text(text, options);
    if (t)
        fail_msg("read succeeded; expected a failure mentioning '%s'", fragment1);
    if (nb_errcode() != status)
        fail_msg("status %s, expected %s: %s", nb_status_name(nb_errcode()), nb_status_name(status), nb_errmsg());
    if (!strstr(nb_errmsg(), fragment1) || (fragment2 && !strstr(nb_errmsg(), fragment2)))
        fail_msg("message '%s' lacks '%s' / '%s'", nb_errmsg(), fragment1, fragment2 ? fragment2 : "");
}

static void test_comma_with_header(void **state)
{
    (void)state;
    nb_table *t = read_text("x,y\n0.5,1\n-2e-3, 7 \n\n3,4\n", NULL);
    assert_non_null(t);
    assert_true(t->has_header);
    assert_int_equal(t->delimiter, ',');
    assert_int_equal(t->n_columns, 2);
    assert_int_equal(t->n_rows, 3);
    assert_string_equal(t->names[0], "x");
    assert_string_equal(t->names[1], "y");
    assert_close(t->columns[0][0], 0.5, 0);
    assert_close(t->columns[0][1], -2e-3, 0);
    assert_close(t->columns[1][1], 7, 0);
    assert_close(t->columns[1][2], 4, 0);
    assert_int_equal(t->lines[0], 2);
    assert_int_equal(t->lines[2], 5); /* the blank line 4 is skipped but counted */
    assert_int_equal(t->class_col, -1);
    nb_table_free(t);
}

static void test_delimiters_detected(void **state)
{
    (void)state;
    static const struct { const char *text; char delimiter; } cases[] = {
        {"a;b;c\n1;2;3\n4;5;6\n", ';'},
        {"a\tb\tc\n1\t2\t3\n4\t5\t6\n", '\t'},
        {"a b c\n1 2 3\n4 5 6\n", ' '},
        {"  a   b\tc\n1  2 \t 3  \n\n \t \n  4 5 6\n", ' '}, /* runs of blanks, blank lines */
        {"a,b,c\r\n1,2,3\r\n4,5,6\r\n", ','},
        {"\"a\",\"b\",\"c\"\n\"1\",2,\" 3\"\n4,\"5\",6", ','}, /* quotes; no final newline */
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        nb_table *t = read_text(cases[i].text, NULL);
        if (!t)
            fail_msg("case %zu: %s", i, nb_errmsg());
        assert_int_equal(t->delimiter, cases[i].delimiter);
        assert_int_equal(t->n_columns, 3);
        assert_int_equal(t->n_rows, 2);
        assert_string_equal(t->names[0], "a");
        assert_string_equal(t->names[2], "c");
        for (int c = 0; c < 3; c++) {
            assert_close(t->columns[c][0], c + 1, 0);
            assert_close(t->columns[c][1], c + 4, 0);
        }
        nb_table_free(t);
    }
}

/* Decimal commas come with semicolons: "1,5" is then one cell (and not a number). */
static void test_semicolon_beats_comma(void **state)
{
    (void)state;
    expect_failure("1,5;2,5\n3,5;4,5\n", NULL, NB_EPARSE, "data.csv:1: column 1", "'1,5' is not a number");
}

static void test_quoted_fields(void **state)
{
    (void)state;
    nb_table *t = read_text("\"name, with comma\",\"say \"\"hi\"\"\"\n1,\"2\"\n", NULL);
    assert_non_null(t);
    assert_string_equal(t->names[0], "name, with comma");
    assert_string_equal(t->names[1], "say \"hi\"");
    assert_close(t->columns[1][0], 2, 0);
    nb_table_free(t);
}

static void test_header_modes(void **state)
{
    (void)state;
    /* Auto: a numeric first row is data, and the columns are named by the rule of
     * nabla/io.h (two columns: x and y). */
    nb_table *t = read_text("1,2\n3,4\n", NULL);
    assert_non_null(t);
    assert_false(t->has_header);
    assert_int_equal(t->n_rows, 2);
    assert_string_equal(t->names[0], "x");
    assert_string_equal(t->names[1], "y");
    assert_int_equal(t->lines[0], 1);
    nb_table_free(t);

    /* Forced header: the numeric first row becomes the names. */
    nb_csv_options yes = {.header = NB_CSV_HEADER_YES};
    t = read_text("1,2\n3,4\n", &yes);
    assert_non_null(t);
    assert_true(t->has_header);
    assert_int_equal(t->n_rows, 1);
    assert_string_equal(t->names[1], "2");
    nb_table_free(t);

    /* Forced off: a text first row is data, so it must be numbers. Without a header the
     * message names the column by number only: the file shows no name. */
    nb_csv_options no = {.header = NB_CSV_HEADER_NO};
    expect_failure("x,y\n1,2\n", &no, NB_EPARSE, "data.csv:1: column 1: 'x' is not a number", NULL);
    expect_failure("1 2\n3 \"\"\n", NULL, NB_EPARSE, "data.csv:2: column 2 is empty", NULL);
    expect_failure("1 2\n3 nan\n", NULL, NB_ENUMERIC, "data.csv:2: column 2: 'nan' is not a finite number", NULL);

    /* One numeric row, no header: one data row. */
    t = read_text("5 6 7\n", NULL);
    assert_non_null(t);
    assert_int_equal(t->n_rows, 1);
    assert_close(t->columns[2][0], 7, 0);
    nb_table_free(t);

    /* A header cell left empty is named as if the file had no header. */
    t = read_text("x,,z\n1,2,3\n", NULL);
    assert_non_null(t);
    assert_string_equal(t->names[1], "c2");
    nb_table_free(t);
}

static void test_select_columns(void **state)
{
    (void)state;
    const char *text = "id,x,label,y\nA7,1,cat,10\nB8,2,dog,20\n";
    const char *columns[] = {"y", "2"};
    nb_csv_options options = {.columns = columns, .n_columns = 2};
    nb_table *t = read_text(text, &options); /* the text columns are not converted */
    assert_non_null(t);
    assert_int_equal(t->n_columns, 2);
    assert_string_equal(t->names[0], "y");
    assert_string_equal(t->names[1], "x");
    assert_close(t->columns[0][1], 20, 0);
    assert_close(t->columns[1][1], 2, 0);
    assert_int_equal(nb_table_column(t, "x"), 1);
    assert_int_equal(nb_table_column(t, "1"), 0);
    assert_int_equal(nb_table_column(t, "z"), -1);
    assert_int_equal(nb_errcode(), NB_EARG);
    assert_non_null(strstr(nb_errmsg(), "no column 'z'; available columns: y, x"));
    assert_int_equal(nb_table_column(t, "3"), -1);
    assert_non_null(strstr(nb_errmsg(), "no column 3 (there are 2 columns: y, x)"));
    nb_table_free(t);

    /* A column that is not there, at read time: the message lists what is. */
    const char *missing[] = {"x", "weight"};
    nb_csv_options bad = {.columns = missing, .n_columns = 2};
    expect_failure(text, &bad, NB_EARG, "no column 'weight'", "available columns: id, x, label, y");
    const char *twice[] = {"x", "2"};
    nb_csv_options dup = {.columns = twice, .n_columns = 2};
    expect_failure(text, &dup, NB_EARG, "column 'x' is selected twice", NULL);
    const char *out_of_range[] = {"0"};
    nb_csv_options zero = {.columns = out_of_range, .n_columns = 1};
    expect_failure(text, &zero, NB_EARG, "no column 0 (there are 4 columns: id, x, label, y)", NULL);

    /* Two columns with one name: ambiguous by name, fine by number. */
    t = read_text("a,b,a\n1,2,3\n", NULL);
    assert_non_null(t);
    assert_int_equal(nb_table_column(t, "a"), -1);
    assert_non_null(strstr(nb_errmsg(), "'a' is ambiguous (columns 1 and 3)"));
    assert_int_equal(nb_table_column(t, "3"), 2);
    nb_table_free(t);
}

static void test_class_column(void **state)
{
    (void)state;
    const char *text = "x1,x2,species\n1,2,virginica\n3,4,setosa\n5,6,versicolor\n7,8,setosa\n";
    nb_csv_options options = {.class_column = "species"};
    nb_table *t = read_text(text, &options);
    assert_non_null(t);
    assert_int_equal(t->class_col, 2);
    assert_int_equal(t->n_classes, 3);
    assert_string_equal(t->class_names[0], "setosa");
    assert_string_equal(t->class_names[1], "versicolor");
    assert_string_equal(t->class_names[2], "virginica");
    static const double expected[4] = {2, 0, 1, 0};
    for (int i = 0; i < 4; i++)
        assert_close(t->columns[2][i], expected[i], 0);
    nb_table_free(t);

    /* Selected columns without the class column: it is kept, last. */
    const char *columns[] = {"x2"};
    nb_csv_options selected = {.columns = columns, .n_columns = 1, .class_column = "3"};
    t = read_text(text, &selected);
    assert_non_null(t);
    assert_int_equal(t->n_columns, 2);
    assert_int_equal(t->class_col, 1);
    assert_string_equal(t->names[1], "species");
    nb_table_free(t);

    /* A class column of numbers stays an ordinary column. */
    nb_csv_options k = {.class_column = "k"};
    t = read_text("x,k\n1,2\n3,0\n", &k);
    assert_non_null(t);
    assert_int_equal(t->class_col, -1);
    assert_int_equal(t->n_classes, 0);
    assert_close(t->columns[1][0], 2, 0);
    nb_table_free(t);

    expect_failure("x,k\n1,nan\n", &k, NB_ENUMERIC, "data.csv:2: column 'k': 'nan' is not a finite number", NULL);
    expect_failure("x,k\n1,a\n2,\n", &k, NB_EPARSE, "data.csv:3: column 2 ('k') is empty", NULL);
    nb_csv_options missing = {.class_column = "kind"};
    expect_failure("x,k\n1,a\n", &missing, NB_EARG, "class column", "no column 'kind'; available columns: x, k");
}

/* Class names read through a training file's list: the same number for the same name in
 * every file, whatever names a file happens to hold. */
static void test_known_classes(void **state)
{
    (void)state;
    static const char *const known[] = {"cat", "dog", "fish"};
    nb_csv_options options = {.class_column = "kind", .known_classes = known, .n_known_classes = 3};
    nb_table *t = read_text("x,kind\n1,fish\n2,cat\n3,fish\n", &options);
    assert_non_null(t);
    assert_int_equal(t->class_col, 1);
    assert_int_equal(t->n_classes, 3); /* dog is absent but keeps its number */
    for (int c = 0; c < 3; c++)
        assert_string_equal(t->class_names[c], known[c]);
    static const double expected[3] = {2, 0, 2};
    for (int i = 0; i < 3; i++)
        assert_close(t->columns[1][i], expected[i], 0);
    nb_table_free(t);

    /* names that look like numbers are still names */
    static const char *const digits[] = {"7", "3"};
    nb_csv_options numeric = {.class_column = "2", .known_classes = digits, .n_known_classes = 2};
    t = read_text("x,k\n1,3\n2,7\n", &numeric);
    assert_non_null(t);
    assert_int_equal(t->class_col, 1);
    assert_close(t->columns[1][0], 1, 0);
    assert_close(t->columns[1][1], 0, 0);
    nb_table_free(t);
    /* a whole number written otherwise is the class of that number; 0 is no class here */
    t = read_text("x,k\n1,3.0\n2,7e0\n3,+3\n", &numeric);
    assert_non_null(t);
    assert_close(t->columns[1][0], 1, 0);
    assert_close(t->columns[1][1], 0, 0);
    assert_close(t->columns[1][2], 1, 0);
    nb_table_free(t);
    expect_failure("x,k\n1,3\n2,0\n", &numeric, NB_EFORMAT,
                   "data.csv:3: column 'k': '0' is not one of the 2 known classes (7, 3)", NULL);
    expect_failure("x,k\n1,3.5\n", &numeric, NB_EFORMAT, "'3.5' is not one of the 2 known classes", NULL);

    expect_failure("x,kind\n1,cat\n2,bird\n", &options, NB_EFORMAT,
                   "data.csv:3: column 'kind': 'bird' is not one of the 3 known classes (cat, dog, fish)", NULL);
    static const char *const twice[] = {"cat", "dog", "cat"};
    nb_csv_options duplicate = {.class_column = "kind", .known_classes = twice, .n_known_classes = 3};
    expect_failure("x,kind\n1,cat\n", &duplicate, NB_EARG, "known class 'cat' is given twice (classes 1 and 3)",
                   NULL);
    nb_csv_options no_column = {.known_classes = known, .n_known_classes = 3};
    expect_failure("x,kind\n1,cat\n", &no_column, NB_EARG, "known classes are given but no class column", NULL);
    nb_csv_options no_list = {.class_column = "kind", .n_known_classes = 2};
    expect_failure("x,kind\n1,cat\n", &no_list, NB_EARG, "2 known classes but no list given", NULL);
    static const char *const with_null[] = {"cat", NULL};
    nb_csv_options null_name = {.class_column = "kind", .known_classes = with_null, .n_known_classes = 2};
    expect_failure("x,kind\n1,cat\n", &null_name, NB_EARG, "known class 2 is NULL", NULL);
}

/* The last column as the class column, without knowing its name. */
static void test_class_column_last(void **state)
{
    (void)state;
    nb_csv_options options = {.class_column_last = true};
    nb_table *t = read_text("x,y,animal\n1,2,dog\n3,4,cat\n", &options);
    assert_non_null(t);
    assert_int_equal(t->class_col, 2);
    assert_int_equal(t->n_classes, 2);
    assert_string_equal(t->class_names[0], "cat");
    assert_close(t->columns[2][0], 1, 0);
    nb_table_free(t);
    /* numbers there: an ordinary column */
    t = read_text("1,2,3\n4,5,6\n", &options);
    assert_non_null(t);
    assert_int_equal(t->class_col, -1);
    assert_close(t->columns[2][1], 6, 0);
    nb_table_free(t);
}

static void test_comments(void **state)
{
    (void)state;
    nb_csv_options options = {.comment = '#'};
    nb_table *t = read_text("# a comment\nx,y\n1,2\n# x,y\n\"#\",3\n", &options);
    assert_null(t); /* "#" in quotes is a cell, not a comment: and not a number */
    assert_non_null(strstr(nb_errmsg(), "data.csv:5: column 1 ('x'): '#' is not a number"));
    t = read_text("# a comment\nx,y\n1,2\n# x,y, z\n3,4\n", &options);
    assert_non_null(t);
    assert_int_equal(t->n_rows, 2);
    assert_int_equal(t->lines[1], 5);
    nb_table_free(t);
}

static void test_stdin(void **state)
{
    (void)state;
    const char *path = write_file("stdin.csv", "a b\n1 2\n3 x\n");
    assert_non_null(freopen(path, "r", stdin));
    nb_table *t = nb_table_read("-", NULL);
    assert_null(t);
    assert_string_equal(nb_errmsg(), "<stdin>:3: column 2 ('b'): 'x' is not a number");
    path = write_file("stdin.csv", "a b\n1 2\n3 4\n");
    assert_non_null(freopen(path, "r", stdin));
    t = nb_table_read("-", NULL);
    assert_non_null(t);
    assert_string_equal(t->source, "<stdin>");
    assert_int_equal(t->n_rows, 2);
    nb_table_free(t);
}

/* A preamble skipped by count, a byte-order mark, and text from memory. */
static void test_preamble_bom_stream(void **state)
{
    (void)state;
    const char *nist = "Dataset Name: Misra1a\n\nModel: y = b1*(1-exp(-b2*x))\n   3 parameters, 1, 2\n"
                       "Data:   y          x\n      10.07E0      77.6E0\n      14.73E0     114.9E0\n";
    nb_csv_options options = {.skip_lines = 5};
    nb_table *t = read_text(nist, &options);
    if (!t)
        fail_msg("%s", nb_errmsg());
    assert_false(t->has_header);
    assert_int_equal(t->delimiter, ' ');
    assert_int_equal(t->n_columns, 2);
    assert_int_equal(t->n_rows, 2);
    assert_close(t->columns[0][1], 14.73, 0);
    assert_close(t->columns[1][0], 77.6, 0);
    assert_int_equal(t->lines[0], 6);
    nb_table_free(t);
    options.skip_lines = 4; /* "Data: y x" is then a header of three columns */
    expect_failure(nist, &options, NB_EPARSE, "data.csv:6: ragged row: 2 fields, but 3 on line 5", NULL);
    expect_failure("a\nb\n1\n", &options, NB_EFORMAT, "no rows", NULL);
    nb_csv_options negative = {.skip_lines = -1};
    expect_failure("1\n", &negative, NB_EARG, "cannot skip -1 lines", NULL);

    t = read_text("\xEF\xBB\xBFx;y\n1;2\n", NULL);
    assert_non_null(t);
    assert_string_equal(t->names[0], "x");
    assert_int_equal(nb_table_column(t, "x"), 0);
    nb_table_free(t);

    static char text[] = "u\tv\n0.25\t-1\n";
    FILE *stream = fmemopen(text, strlen(text), "r");
    assert_non_null(stream);
    t = nb_table_read_stream(stream, "memory", NULL);
    fclose(stream);
    assert_non_null(t);
    assert_string_equal(t->source, "memory");
    assert_close(t->columns[1][0], -1, 0);
    nb_table_free(t);
    assert_null(nb_table_read_stream(NULL, "x", NULL));
    assert_int_equal(nb_errcode(), NB_EARG);
}

/* A file longer than the read block: line numbers stay right across blocks. */
static void test_long_file(void **state)
{
    (void)state;
    size_t size = 6000 * 40;
    char *text = malloc(size);
    assert_non_null(text);
    size_t used = (size_t)snprintf(text, size, "a,b,c\n");
    for (int i = 1; i <= 5000; i++)
        used += (size_t)snprintf(text + used, size - used, "%d,%.17g,%d\n", i, i * 0.001, -i);
    nb_table *t = read_text(text, NULL);
    assert_non_null(t);
    assert_int_equal(t->n_rows, 5000);
    assert_close(t->columns[1][4321], 4322 * 0.001, 0);
    assert_int_equal(t->lines[4999], 5001);
    nb_table_free(t);

    char *bad = strstr(text, "\n4500,") + 1; /* row 4500 is on line 4501 */
    bad[5] = 'q';
    expect_failure(text, NULL, NB_EPARSE, "data.csv:4501: column 2 ('b'): 'q", "is not a number");
    free(text);
}

/* A file's rows are counted ahead from its size: a wrong count must not show. Short rows
 * first (the count comes out high), long rows after (low), and the same table read from
 * a stream that starts in the middle of a file. */
static void test_rows_counted_ahead(void **state)
{
    (void)state;
    enum { SHORT = 30000, LONG = 6000 };
    size_t size = (size_t)SHORT * 16 + (size_t)LONG * 200 + 64;
    char *text = malloc(size);
    assert_non_null(text);
    size_t used = (size_t)snprintf(text, size, "k,v\n");
    for (int i = 0; i < SHORT; i++)
        used += (size_t)snprintf(text + used, size - used, "%d,%d\n", i % 10, i % 7);
    for (int i = 0; i < LONG; i++)
        used += (size_t)snprintf(text + used, size - used, "%d,%.150f\n", i, i / 3.0);
    nb_table *t = read_text(text, NULL);
    assert_non_null(t);
    assert_int_equal(t->n_rows, SHORT + LONG);
    assert_close(t->columns[1][SHORT - 1], (SHORT - 1) % 7, 0);
    assert_close(t->columns[1][SHORT + LONG - 1], (LONG - 1) / 3.0, 1e-15);
    assert_int_equal(t->lines[SHORT + LONG - 1], SHORT + LONG + 1);
    /* counted from the short rows, the columns were made for far more rows: trimmed */
    assert_true(malloc_usable_size(t->columns[0]) < 2 * sizeof(double) * (size_t)t->n_rows + 65536);
    nb_table_free(t);

    FILE *f = fopen(write_file("tail.csv", text), "rb");
    assert_non_null(f);
    assert_int_equal(fseek(f, (long)(strstr(text, "\n0,0.000") + 1 - text), SEEK_SET), 0);
    t = nb_table_read_stream(f, "tail", &(nb_csv_options){.header = NB_CSV_HEADER_NO});
    fclose(f);
    assert_non_null(t);
    assert_int_equal(t->n_rows, LONG);
    assert_close(t->columns[1][LONG - 1], (LONG - 1) / 3.0, 1e-15);
    nb_table_free(t);
    free(text);
}

static void test_bad_input(void **state)
{
    (void)state;
    nb_clear_error();
    char missing[300];
    snprintf(missing, sizeof missing, "%s/nothing-here.csv", nb_test_dir());
    assert_null(nb_table_read(missing, NULL));
    assert_int_equal(nb_errcode(), NB_EIO);
    assert_non_null(strstr(nb_errmsg(), "nothing-here.csv"));
    assert_non_null(strstr(nb_errmsg(), "No such file"));

    expect_failure("", NULL, NB_EFORMAT, "data.csv: the file is empty", NULL);
    expect_failure("\n  \n\n", NULL, NB_EFORMAT, "data.csv: no rows", NULL);
    expect_failure("x,y\n", NULL, NB_EFORMAT, "data.csv:1: a header but no data rows", NULL);
    expect_failure("\n\nx y z\n\n", NULL, NB_EFORMAT, "data.csv:3: a header but no data rows", NULL);
    nb_csv_options yes = {.header = NB_CSV_HEADER_YES};
    expect_failure("1,2\n", &yes, NB_EFORMAT, "a header but no data rows", NULL);

    expect_failure("x,y\n1,2\n3,4,5\n6,7\n", NULL, NB_EPARSE, "data.csv:3: ragged row: 3 fields, but 2 on line 1",
                   NULL);
    expect_failure("x,y\n1,2\n3\n", NULL, NB_EPARSE, "data.csv:3: ragged row: 1 fields, but 2 on line 1", NULL);
    expect_failure("1 2 3\n4 5\n", NULL, NB_EPARSE, "data.csv:2: ragged row: 2 fields, but 3 on line 1", NULL);
    expect_failure("x,y\n1,2\n3,abc\n", NULL, NB_EPARSE, "data.csv:3: column 2 ('y'): 'abc' is not a number",
                   NULL);
    expect_failure("x,y\n1,2\n3,4 5\n", NULL, NB_EPARSE, "'4 5' is not a number", NULL);
    expect_failure("x,y\n1,\n", NULL, NB_EPARSE, "data.csv:2: column 2 ('y') is empty", NULL);
    expect_failure("x,y\n1,nan\n", NULL, NB_ENUMERIC, "data.csv:2: column 2 ('y'): 'nan' is not a finite number",
                   NULL);
    expect_failure("x\ty\n-inf\t1\n", NULL, NB_ENUMERIC, "data.csv:2: column 1 ('x'): '-inf' is not a finite",
                   NULL);
    expect_failure("x;y\n1;2\n1e999;2\n", NULL, NB_ENUMERIC, "data.csv:3: column 1 ('x'): '1e999'", NULL);
    expect_failure("x,y\n1,\"2\"x\n", NULL, NB_EPARSE, "data.csv:2: malformed quotes at character 6", NULL);
    expect_failure("x,y\n1,2\n3,\"4\n5,6\n", NULL, NB_EPARSE, "data.csv:3: a quoted field is never closed", NULL);

    /* Non-finite values when allowed. */
    nb_csv_options allow = {.allow_nonfinite = true};
    nb_table *t = read_text("x,y\n1,nan\ninf,1e999\n", &allow);
    assert_non_null(t);
    assert_true(isnan(t->columns[1][0]));
    assert_true(isinf(t->columns[0][1]) && isinf(t->columns[1][1]));
    nb_table_free(t);

    /* Bad options. */
    nb_csv_options delimiter = {.delimiter = 'x'};
    expect_failure("1\n", &delimiter, NB_EARG, "delimiter must be", NULL);
    nb_csv_options no_list = {.n_columns = 2};
    expect_failure("1\n", &no_list, NB_EARG, "2 columns selected but no list", NULL);
    assert_null(nb_table_read(NULL, NULL));
    assert_int_equal(nb_errcode(), NB_EARG);
}

static void test_binary_file(void **state)
{
    (void)state;
    const char *path = write_file("binary.csv", "x,y\n1,2\n");
    FILE *f = fopen(path, "ab");
    assert_non_null(f);
    fwrite("3,4\0z\n", 1, 6, f);
    fclose(f);
    assert_null(nb_table_read(path, NULL));
    assert_non_null(strstr(nb_errmsg(), "binary.csv:3: field 2 holds a NUL byte"));

    /* in the first data row too, which is read before the header is decided */
    path = write_file("binary1.csv", "x,y\n");
    f = fopen(path, "ab");
    assert_non_null(f);
    fwrite("1,2\0junk\n3,4\n", 1, 14, f);
    fclose(f);
    assert_null(nb_table_read(path, NULL));
    assert_non_null(strstr(nb_errmsg(), "binary1.csv:2: field 2 holds a NUL byte"));
}

/* Hexadecimal is not a number a data file means; old Mac files end lines with a lone
 * CR, and every row still gets its own line; a cell spread over lines by its quotes is
 * reported at the line where its row begins. */
static void test_hex_cr_and_multiline(void **state)
{
    (void)state;
    expect_failure("x,y\n1,0x10\n", NULL, NB_EPARSE, "data.csv:2: column 2 ('y'): '0x10' is not a number", NULL);
    expect_failure("x,y\n1,-0X1p3\n", NULL, NB_EPARSE, "'-0X1p3' is not a number", NULL);

    expect_failure("x,y\r1,2\r3,4\r5,z\r", NULL, NB_EPARSE, "data.csv:4: column 2 ('y'): 'z' is not a number",
                   NULL);
    nb_table *t = read_text("x,y\r1,2\r3,4\r", NULL);
    assert_non_null(t);
    assert_int_equal(t->n_rows, 2);
    assert_int_equal(t->lines[1], 3);
    nb_table_free(t);
    t = read_text("x,y\r\n1,2\r\n3,4\r\n", NULL); /* CRLF: one line each */
    assert_non_null(t);
    assert_int_equal(t->lines[1], 3);
    nb_table_free(t);

    expect_failure("x,y,z\n1,2,3\n4,\"5\n6\",q\n", NULL, NB_EPARSE, "data.csv:3: column 2 ('y')", NULL);
}

/* ---- inputs that would cost more than their size ---------------------------------------- */

/* A file of `size` bytes: `fill` repeated, then a line end, `rows` times. */
static const char *write_repeated(const char *name, char fill, size_t size, int rows)
{
    const char *path = nb_test_path(name);
    char *line = malloc(size + 1);
    assert_non_null(line);
    memset(line, fill, size);
    line[size] = '\n';
    FILE *f = fopen(path, "wb");
    assert_non_null(f);
    for (int i = 0; i < rows; i++)
        assert_int_equal(fwrite(line, 1, size + 1, f), size + 1);
    fclose(f);
    free(line);
    return path;
}

/* nb_table_read of `path` (`size` bytes) fails with `status` and `fragment`, having
 * asked for no more memory than the bound. */
static void expect_bounded_failure(const char *path, size_t size, nb_status status, const char *fragment)
{
    nb_count_bounded(size);
    nb_clear_error();
    nb_table *t = nb_table_read(path, NULL);
    nb_check_bounded(size);
    if (t) {
        nb_table_free(t);
        fail_msg("read %s; expected '%s'", path, fragment);
    }
    if (nb_errcode() != status || !strstr(nb_errmsg(), fragment))
        fail_msg("%s: '%s', expected %s with '%s'", nb_status_name(nb_errcode()), nb_errmsg(), nb_status_name(status),
                 fragment);
}

/* A line of ten million commas asks for a column per comma; one cell of two megabytes is
 * not a number. Both fail at their line, in memory bounded by the file's size. */
static void test_wide_and_long_lines(void **state)
{
    (void)state;
    size_t size = 10 << 20;
    expect_bounded_failure(write_repeated("commas.csv", ',', size, 1), size + 1, NB_EPARSE,
                           "commas.csv:1: more than 65536 fields on one line: nabla reads tables of at most 65536 "
                           "columns");
    size = 2 << 20;
    expect_bounded_failure(write_repeated("long-cell.csv", '7', size, 2), 2 * (size + 1), NB_EPARSE,
                           "long-cell.csv:1: field 1 is longer than 1048576 bytes");

    /* The widest table allowed: 65536 columns of "1", two rows, read within the bound. */
    char *line = malloc(2 * 65536);
    assert_non_null(line);
    for (int i = 0; i < 65536; i++)
        memcpy(line + 2 * i, i < 65535 ? "1," : "1\n", 2);
    const char *path = nb_test_path("widest.csv");
    FILE *f = fopen(path, "wb");
    assert_non_null(f);
    fwrite(line, 1, 2 * 65536, f);
    fwrite(line, 1, 2 * 65536, f);
    fclose(f);
    free(line);
    nb_count_bounded(4 * 65536);
    nb_table *t = nb_table_read(path, NULL);
    nb_check_bounded(4 * 65536);
    if (!t)
        fail_msg("%s", nb_errmsg());
    assert_int_equal(t->n_columns, 65536);
    assert_int_equal(t->n_rows, 2);
    assert_string_equal(t->names[65535], "c65536");
    nb_table_free(t);
}

/* A FIFO and a device are refused before they are read: neither hangs nor runs on. */
static void test_special_files(void **state)
{
    (void)state;
    const char *fifo = nb_test_path("fifo.csv");
    assert_int_equal(mkfifo(fifo, 0600), 0);
    alarm(20); /* a reader that waits for a writer ends the test here, as a failure */
    expect_bounded_failure(fifo, 0, NB_EIO, "cannot read '");
    expect_bounded_failure(fifo, 0, NB_EIO, "fifo.csv': it is a FIFO (named pipe), not a regular file");
    expect_bounded_failure("/dev/zero", 0, NB_EIO, "cannot read '/dev/zero': it is a device, not a regular file");
    alarm(0);
}

/* ---- every allocation failing in turn: a clean failure, nothing leaked -------------- */
static nb_alloc_counter counter;

/* Every allocation of one read failing in turn: a clean failure, nothing leaked. */
static void read_failing_each_allocation(const char *path, const nb_csv_options *options)
{
    nb_count_allocations(&counter, -1);
    nb_table_free(nb_table_read(path, options));
    long n_calls = counter.calls;
    assert_true(n_calls > 10);
    for (long fail_at = 0; fail_at < n_calls; fail_at++) {
        counter = (nb_alloc_counter){.fail_at = fail_at};
        nb_clear_error();
        nb_table *t = nb_table_read(path, options);
        if (t) { /* libcsv retries a failed buffer growth with a smaller one */
            assert_int_equal(t->n_classes, 2);
            nb_table_free(t);
        } else if (nb_errcode() != NB_ENOMEM) {
            nb_set_allocator(NULL);
            fail_msg("allocation %ld failing gave: %s", fail_at, nb_errmsg());
        }
        assert_int_equal(counter.live, 0);
    }
    nb_set_allocator(NULL);
}

/* Sorted class names, and names mapped through known classes. */
static void test_allocation_failures(void **state)
{
    (void)state;
    const char *path = write_file("alloc.csv", "a,b,cls\n1,2,x\n3,4,y\n5,6,x\n");
    static const char *const known[] = {"y", "x"};
    const nb_csv_options option_sets[2] = {{.class_column = "cls"},
                                           {.class_column = "cls", .known_classes = known, .n_known_classes = 2}};
    for (int set = 0; set < 2; set++)
        read_failing_each_allocation(path, &option_sets[set]);
}

/* Missing cells: an error naming the line and column by default; with
 * NB_CSV_MISSING_DROP the row goes and is counted. Tokens are the default list or the
 * caller's. */
static void test_missing_cells(void **state)
{
    (void)state;
    const char *text = "x,y\n1,2\n2,\n NA ,4\n4,nan\n5,N/A\n6,7\n";
    expect_failure(text, NULL, NB_EPARSE, "data.csv:3: column 2 ('y') is empty (a missing value)", NULL);
    nb_csv_options drop = {.missing = NB_CSV_MISSING_DROP};
    nb_table *t = read_text(text, &drop);
    assert_non_null(t);
    assert_int_equal(t->n_rows, 2);
    assert_int_equal(t->n_dropped, 4);
    assert_close(t->columns[1][1], 7, 0);
    assert_int_equal(t->lines[1], 7);
    nb_table_free(t);
    /* the caller's tokens replace the default ones */
    const char *tokens[] = {"-999"};
    nb_csv_options own = {.missing = NB_CSV_MISSING_DROP, .missing_tokens = tokens, .n_missing_tokens = 1};
    t = read_text("x,y\n1,2\n2,-999\n3,4\n", &own);
    assert_non_null(t);
    assert_int_equal(t->n_rows, 2);
    assert_int_equal(t->n_dropped, 1);
    nb_table_free(t);
    expect_failure("x,y\n1,2\n2,NA\n", NULL, NB_EPARSE, "data.csv:3: column 2 ('y'): 'NA' is a missing value", NULL);
    /* with missing values an error, "nan" is a number, refused unless allowed */
    expect_failure("x,y\n1,2\n2,nan\n", NULL, NB_ENUMERIC, "data.csv:3: column 2 ('y'): 'nan' is not a finite number",
                   NULL);
    expect_failure("x,y\n1,\n,2\n", &drop, NB_EFORMAT, "data.csv: all 2 data rows have a missing value", NULL);
    nb_csv_options bad = {.missing = 7};
    expect_failure("x\n1\n", &bad, NB_EARG, "unknown missing-value mode 7", NULL);
}

static void test_decimal_comma(void **state)
{
    (void)state;
    nb_csv_options comma = {.decimal = ','};
    nb_table *t = read_text("t;V\n1,5;-2,25\n2;1e3\n", &comma);
    assert_non_null(t);
    assert_int_equal(t->delimiter, ';');
    assert_close(t->columns[0][0], 1.5, 0);
    assert_close(t->columns[1][0], -2.25, 0);
    assert_close(t->columns[1][1], 1000, 0);
    nb_table_free(t);
    /* commas are never taken for the delimiter then: tabs, or blanks */
    t = read_text("0,5\t1,5\n2,5\t3,5\n", &comma);
    assert_non_null(t);
    assert_int_equal(t->n_columns, 2);
    assert_close(t->columns[1][1], 3.5, 0);
    nb_table_free(t);
    t = read_text("0,5 1,5\n2,5 3,5\n", &comma);
    assert_non_null(t);
    assert_int_equal(t->delimiter, ' ');
    nb_table_free(t);
    expect_failure("a;b\n1.5;2\n", &comma, NB_EPARSE, "data.csv:2: column 1 ('a'): '1.5' is not a number with a "
                   "decimal comma", NULL);
    expect_failure("a;b\n1,5;2\n", NULL, NB_EPARSE, "'1,5' is not a number (decimal commas?", NULL);
    nb_csv_options both = {.decimal = ',', .delimiter = ','};
    expect_failure("a\n1\n", &both, NB_EARG, "',' cannot be both the delimiter and the decimal separator", NULL);
    nb_csv_options other = {.decimal = ':'};
    expect_failure("a\n1\n", &other, NB_EARG, "must be '.' or ','", NULL);
}

/* Every number reads as strtod reads it (bit for bit), whichever way it is written:
 * short and long digit strings, leading and trailing zeros, exponents near and past
 * the range where products of digits and powers of ten are exact. */
static void test_numbers_exact(void **state)
{
    (void)state;
    enum { N = 4000 };
    static const char *const fixed[] = {"0", "-0", "+7", ".5", "5.", "0.000123", "1e22", "1e23", "9e-22",
                                        "123456789012345", "1234567890123456", "0.1e-5", "1.50", "00012",
                                        "9007199254740993", "4.9e-324", "1.7976931348623157e308", "2E+3"};
    size_t size = N * 48 + 64;
    char *text = malloc(size), *cell[N];
    int used = snprintf(text, size, "v\n");
    unsigned seed = 12345;
    for (int i = 0; i < N; i++) {
        cell[i] = text + used;
        if (i < (int)(sizeof fixed / sizeof *fixed)) {
            used += snprintf(text + used, size - (size_t)used, "%s\n", fixed[i]);
            continue;
        }
        seed = seed * 1103515245u + 12345u;
        int digits = 1 + (int)(seed >> 16) % 18, exponent = (int)(seed >> 8) % 60 - 30;
        seed = seed * 1103515245u + 12345u;
        double v = (double)(seed >> 4) / 7.0;
        used += snprintf(text + used, size - (size_t)used, i % 3 ? "%.*g\n" : "%.*e\n", digits,
                         (i % 2 ? -v : v) * pow(10, exponent));
    }
    nb_table *t = read_text(text, NULL);
    assert_non_null(t);
    assert_int_equal(t->n_rows, N);
    for (int i = 0; i < N; i++) {
        double expected = strtod(cell[i], NULL);
        if (memcmp(&expected, &t->columns[0][i], sizeof expected) != 0)
            fail_msg("row %d: '%.*s' read as %.17g, strtod gives %.17g", i + 2, (int)strcspn(cell[i], "\n"), cell[i],
                     t->columns[0][i], expected);
    }
    nb_table_free(t);
    free(text);
}

typedef struct choice {
    const char *want;
    int calls;
} choice;

static nb_status choose_one(void *context, const nb_table *table, bool *convert)
{
    choice *c = context;
    c->calls++;
    if (!c->want)
        return nb_fail(NB_EARG, "%s: no column wanted", table->source);
    for (int k = 0; k < table->n_columns; k++)
        convert[k] = strcmp(table->names[k], c->want) == 0;
    return NB_OK;
}

/* Columns the caller does not want are never parsed: text and gaps there are fine. */
static void test_choose_columns(void **state)
{
    (void)state;
    choice c = {"y", 0};
    nb_csv_options o = {.choose_columns = choose_one, .choose_context = &c, .missing = NB_CSV_MISSING_DROP};
    nb_table *t = read_text("date,y,note\n2020-01-01,1,a b\n2020-01-02,,\n,3,NA\n", &o);
    assert_non_null(t);
    assert_int_equal(c.calls, 1);
    assert_int_equal(t->n_columns, 3);
    assert_int_equal(t->n_rows, 2);
    assert_int_equal(t->n_dropped, 1); /* the gap in y, not the one in date */
    assert_false(t->numeric[0]);
    assert_true(t->numeric[1]);
    assert_true(isnan(t->columns[0][0]) && isnan(t->columns[2][1]));
    assert_close(t->columns[1][1], 3, 0);
    nb_table_free(t);
    c.want = NULL;
    expect_failure("a,b\n1,2\n", &o, NB_EARG, "data.csv: no column wanted", NULL);
    /* a table of arrays, and a read without a choice, hold numbers in every column */
    t = read_text("a,b\n1,2\n", NULL);
    assert_true(t->numeric[0] && t->numeric[1]);
    nb_table_free(t);
}

static void test_unique_names(void **state)
{
    (void)state;
    nb_csv_options unique = {.unique_names = true, .comment = '#'};
    expect_failure("# t twice\nt,y,t\n1,2,3\n", &unique, NB_EFORMAT,
                   "data.csv:2: columns 1 and 3 are both named 't'; rename one in the header", NULL);
    nb_table *t = read_text("t,y,t\n1,2,3\n", NULL); /* allowed unless asked: ambiguous by name only */
    assert_non_null(t);
    nb_table_free(t);
    t = read_text("1,2,1\n1,2,3\n", &unique); /* no header: names are made, and unique */
    assert_non_null(t);
    nb_table_free(t);
}

/* gzip by content: any name, a stream, members one after another; damage is named. */
static void test_gzip(void **state)
{
    (void)state;
    write_file("plain.csv", "x,y\n1,2\n3,4\n");
    char command[1024];
    snprintf(command, sizeof command,
             "cd %s && gzip -c plain.csv > table.dat && (gzip -c plain.csv; printf 'x,y\\n5,6\\n' | gzip -c) > two.gz"
             " && head -c 20 table.dat > cut.gz && (cat table.dat; printf 'junk') > junk.gz",
             nb_test_dir());
    assert_int_equal(system(command), 0);
    nb_table *t = nb_table_read(nb_test_path("table.dat"), NULL);
    assert_non_null(t);
    assert_int_equal(t->n_rows, 2);
    assert_close(t->columns[1][1], 4, 0);
    nb_table_free(t);
    FILE *stream = fopen(nb_test_path("table.dat"), "rb");
    t = nb_table_read_stream(stream, "<pipe>", NULL);
    fclose(stream);
    assert_non_null(t);
    assert_int_equal(t->n_rows, 2);
    nb_table_free(t);
    /* two members: the second's header is a row of text */
    nb_clear_error();
    assert_null(nb_table_read(nb_test_path("two.gz"), NULL));
    assert_non_null(strstr(nb_errmsg(), "two.gz:4: column 1 ('x'): 'x' is not a number"));
    assert_null(nb_table_read(nb_test_path("cut.gz"), NULL));
    assert_non_null(strstr(nb_errmsg(), "cut.gz: corrupt gzip data: the file ends before the gzip trailer"));
    assert_null(nb_table_read(nb_test_path("junk.gz"), NULL));
    assert_non_null(strstr(nb_errmsg(), "junk.gz: bytes after the end of its gzip data are not gzip"));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_comma_with_header),
        cmocka_unit_test(test_delimiters_detected),
        cmocka_unit_test(test_semicolon_beats_comma),
        cmocka_unit_test(test_quoted_fields),
        cmocka_unit_test(test_header_modes),
        cmocka_unit_test(test_select_columns),
        cmocka_unit_test(test_class_column),
        cmocka_unit_test(test_known_classes),
        cmocka_unit_test(test_class_column_last),
        cmocka_unit_test(test_comments),
        cmocka_unit_test(test_stdin),
        cmocka_unit_test(test_preamble_bom_stream),
        cmocka_unit_test(test_long_file),
        cmocka_unit_test(test_rows_counted_ahead),
        cmocka_unit_test(test_bad_input),
        cmocka_unit_test(test_binary_file),
        cmocka_unit_test(test_hex_cr_and_multiline),
        cmocka_unit_test_teardown(test_wide_and_long_lines, nb_test_restore_allocator),
        cmocka_unit_test_teardown(test_special_files, nb_test_restore_allocator),
        cmocka_unit_test(test_allocation_failures),
        cmocka_unit_test(test_missing_cells),
        cmocka_unit_test(test_decimal_comma),
        cmocka_unit_test(test_numbers_exact),
        cmocka_unit_test(test_choose_columns),
        cmocka_unit_test(test_unique_names),
        cmocka_unit_test(test_gzip),
    };
    return cmocka_run_group_tests(tests, nb_test_make_dir, nb_test_remove_dir);
}
