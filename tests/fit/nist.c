/* NIST StRD files: fixed line numbers given in each file's header (see
 * tests/data/nist/README.md). The model is taken from the file's own text. */
#include "nist.h"

#include <ctype.h>
#include <dirent.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MAX_LINES 400

typedef struct lines {
    char *text[MAX_LINES + 1]; /* 1-based */
    int n;
} lines;

static bool read_lines(const char *path, lines *ls)
{
    FILE *file = fopen(path, "r");
    if (!file)
        return false;
    char buf[1024];
    ls->n = 0;
    while (ls->n < MAX_LINES && fgets(buf, sizeof buf, file)) {
        size_t len = strlen(buf);
        while (len > 0 && (buf[len - 1] == '\n' || buf[len - 1] == '\r' || buf[len - 1] == ' '))
            buf[--len] = '\0';
        ls->text[++ls->n] = strdup(buf);
    }
    fclose(file);
    return true;
}

static void free_lines(lines *ls)
{
    for (int i = 1; i <= ls->n; i++)
        free(ls->text[i]);
}

static const char *skip_blanks(const char *s)
{
    while (*s == ' ' || *s == '\t')
        s++;
    return s;
}

static bool blank(const char *s) { return *skip_blanks(s) == '\0'; }

/* "Data (lines 61 to 74)" etc.: the numbers after `key` on the header's lines. */
static bool line_range(const lines *ls, const char *key, int *from, int *to)
{
    for (int i = 1; i <= ls->n && i < 12; i++) {
        const char *at = strstr(ls->text[i], key);
        if (!at)
            continue;
        at = skip_blanks(at + strlen(key));
        if (sscanf(at, "(lines %d to %d", from, to) == 2)
            return true;
    }
    return false;
}

/* Write out "B2*(x**2) + ... + B9*(x**9)": the term after "..." is the template, its
 * index replaced by each missing one. */
static void expand_ellipsis(char *formula, size_t size)
{
    char *dots = strstr(formula, "...");
    if (!dots)
        return;
    char *before = dots;
    while (before > formula && before[-1] != '+')
        before--;
    char *term_start = before - 1; /* the '+' ending the previous term */
    while (term_start > formula && term_start[-1] != '+' && term_start[-1] != '=')
        term_start--;
    int first = atoi(strpbrk(term_start, "0123456789"));
    char *after = dots + 3;
    while (*after == ' ' || *after == '+')
        after++;
    char *term_end = after;
    while (*term_end && *term_end != '+')
        term_end++;
    char template[128];
    while (term_end > after && term_end[-1] == ' ')
        term_end--;
    snprintf(template, sizeof template, "%.*s", (int)(term_end - after), after);
    int last = atoi(strpbrk(template, "0123456789"));
    char digits[16];
    snprintf(digits, sizeof digits, "%d", last);

    char middle[1024] = "";
    for (int k = first + 1; k < last; k++) {
        char term[256] = "";
        for (const char *t = template; *t;) {
            if (strncmp(t, digits, strlen(digits)) == 0) {
                snprintf(term + strlen(term), sizeof term - strlen(term), "%d", k);
                t += strlen(digits);
            } else {
                size_t len = strlen(term);
                term[len] = *t++;
                term[len + 1] = '\0';
            }
        }
        snprintf(middle + strlen(middle), sizeof middle - strlen(middle), "%s + ", term);
    }
    char rest[1024];
    snprintf(rest, sizeof rest, "%s", after);
    snprintf(dots, size - (size_t)(dots - formula), "%s%s", middle, rest);
}

/* The model: the first line of the Model block with '=' that does not define pi, and its
 * continuation lines up to a blank one; then the error term "+ e" goes. */
static bool read_model(const lines *ls, nist_problem *p)
{
    int model = 0;
    for (int i = 1; i <= ls->n && !model; i++)
        if (strncmp(ls->text[i], "Model:", 6) == 0)
            model = i;
    if (!model)
        return false;
    for (int i = model; i <= ls->n; i++) {
        const char *s = skip_blanks(ls->text[i]);
        if (i > model && sscanf(s, "%d Parameter", &p->n_params) == 1)
            continue;
        if (!strchr(s, '=') || strncmp(s, "pi", 2) == 0)
            continue;
        p->formula[0] = '\0';
        for (int k = i; k <= ls->n && !blank(ls->text[k]); k++)
            snprintf(p->formula + strlen(p->formula), sizeof p->formula - strlen(p->formula), "%s ",
                     skip_blanks(ls->text[k]));
        break;
    }
    size_t len = strlen(p->formula);
    while (len > 0 && p->formula[len - 1] == ' ')
        p->formula[--len] = '\0';
    /* the error term */
    if (len > 1 && p->formula[len - 1] == 'e') {
        char *plus = p->formula + len - 2;
        while (plus > p->formula && *plus == ' ')
            plus--;
        if (*plus == '+')
            *plus = '\0';
    }
    len = strlen(p->formula);
    while (len > 0 && p->formula[len - 1] == ' ')
        p->formula[--len] = '\0';
    expand_ellipsis(p->formula, sizeof p->formula);
    return p->formula[0] != '\0' && p->n_params > 0 && p->n_params <= NIST_MAX_PARAMS;
}

static bool read_nonlinear_values(const lines *ls, nist_problem *p)
{
    int from, to;
    if (!line_range(ls, "Starting Values", &from, &to) && !line_range(ls, "Starting values", &from, &to))
        return false;
    for (int j = 0; j < p->n_params; j++) {
        const char *s = ls->text[from + j];
        char name[8];
        if (sscanf(s, " %7[A-Za-z0-9] = %lf %lf %lf %lf", name, &p->start[0][j], &p->start[1][j],
                   &p->certified[j], &p->certified_sd[j]) != 5)
            return false;
        snprintf(p->param_names[j], sizeof p->param_names[j], "%s", name);
    }
    for (int i = 1; i <= ls->n; i++) {
        const char *at = strstr(ls->text[i], "Residual Sum of Squares:");
        if (at)
            return sscanf(at + strlen("Residual Sum of Squares:"), "%lf", &p->certified_rss) == 1;
    }
    return false;
}

static bool read_linear_values(const lines *ls, nist_problem *p)
{
    int from, to;
    if (!line_range(ls, "Certified Values", &from, &to))
        return false;
    for (int j = 0; j < p->n_params; j++) {
        char name[8];
        if (sscanf(ls->text[from + j], " %7s %lf %lf", name, &p->certified[j], &p->certified_sd[j]) != 3)
            return false;
        snprintf(p->param_names[j], sizeof p->param_names[j], "%s", name);
    }
    for (int i = from; i <= ls->n; i++) {
        int dof;
        double ss;
        if (sscanf(ls->text[i], " Residual %d %lf", &dof, &ss) == 2) {
            p->certified_rss = ss;
            return true;
        }
    }
    return false;
}

/* The data through the same reader as `nabla fit`, straight from the file: the lines
 * before the data are skipped, and the columns take their names from the "Data:" line
 * above them (which is not a header the reader could use: it starts with "Data:"). */
static bool read_data(const lines *ls, const char *path, nist_problem *p, char *error, size_t error_size)
{
    int from, to;
    if (!line_range(ls, "Data", &from, &to) || from < 2 || to > ls->n)
        return false;
    const char *header = strstr(ls->text[from - 1], "Data:");
    if (!header)
        return false;
    char names[NIST_MAX_PARAMS][16];
    const char *name_list[NIST_MAX_PARAMS];
    int n_names = 0;
    for (const char *s = skip_blanks(header + 5); *s && n_names < NIST_MAX_PARAMS; s = skip_blanks(s)) {
        int length = 0;
        while (s[length] && s[length] != ' ' && s[length] != '\t')
            length++;
        snprintf(names[n_names], sizeof names[n_names], "%.*s", length, s);
        name_list[n_names] = names[n_names];
        n_names++;
        s += length;
    }
    nb_csv_options options = {.header = NB_CSV_HEADER_NO, .delimiter = ' ', .skip_lines = from - 1};
    nb_table *table = nb_table_read(path, &options);
    if (!table) {
        snprintf(error, error_size, "%s", nb_errmsg());
        return false;
    }
    if (table->n_columns == n_names && table->n_rows == to - from + 1)
        p->data = nb_table_from_columns(n_names, name_list, table->n_rows, (const double *const *)table->columns);
    nb_table_free(table);
    return p->data != NULL;
}

bool nist_load(const char *path, nist_problem *p, char *error, size_t error_size)
{
    memset(p, 0, sizeof *p);
    lines ls;
    if (!read_lines(path, &ls)) {
        snprintf(error, error_size, "cannot read %s", path);
        return false;
    }
    bool ok = ls.n > 60;
    if (ok) {
        const char *name = strstr(ls.text[2], "Dataset Name:");
        ok = name && sscanf(name + strlen("Dataset Name:"), " %63s", p->name) == 1;
    }
    for (int i = 1; ok && i <= 12 && i <= ls.n; i++)
        if (strstr(ls.text[i], "Procedure:"))
            p->linear = strstr(ls.text[i], "Nonlinear") == NULL;
    snprintf(error, error_size, "%s: cannot read the model", path);
    ok = ok && read_model(&ls, p);
    if (ok)
        snprintf(error, error_size, "%s: cannot read the certified values", path);
    ok = ok && (p->linear ? read_linear_values(&ls, p) : read_nonlinear_values(&ls, p));
    if (ok)
        snprintf(error, error_size, "%s: cannot read the data", path);
    ok = ok && read_data(&ls, path, p, error, error_size);
    free_lines(&ls);
    if (!ok)
        nist_free(p);
    return ok;
}

void nist_free(nist_problem *p)
{
    nb_table_free(p->data);
    p->data = NULL;
}

double nist_lre(double q, double c, double digits)
{
    if (!isfinite(q))
        return 0;
    double lre = c == 0 ? -log10(fabs(q)) : -log10(fabs(q - c) / fabs(c));
    if (!(lre >= 0))
        return 0; /* includes NaN */
    return lre > digits ? digits : lre;
}

static int compare_names(const void *a, const void *b) { return strcmp(a, b); }

int nist_list(const char *folder, char names[][64], int max)
{
    DIR *dir = opendir(folder);
    if (!dir)
        return 0;
    int n = 0;
    struct dirent *entry;
    while ((entry = readdir(dir)) && n < max) {
        size_t len = strlen(entry->d_name);
        if (len > 4 && len < 64 && strcmp(entry->d_name + len - 4, ".dat") == 0)
            snprintf(names[n++], 64, "%.63s", entry->d_name);
    }
    closedir(dir);
    qsort(names, (size_t)n, 64, compare_names);
    return n;
}
