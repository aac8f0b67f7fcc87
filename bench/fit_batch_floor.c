/* A floor for bench/fit_batch.sh: what a program written by hand for this one formula,
 * y = a exp(-k t), costs on this machine. It maps the file, reads the numbers with a fast
 * path for plain decimals (as nabla's reader has) into arrays on huge pages, fits each curve
 * by Levenberg-Marquardt with the derivatives written out and the 2 x 2 normal equations
 * solved in closed form, on two threads, and prints the same CSV row per curve as
 * `nabla fit --by curve`. No general tool can beat it by much: the gap between nabla and
 * this program is the price of any formula, autodiff and a general solver.
 *   usage: bench_fit_batch_floor CURVES.CSV > rows.csv */
#include <math.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

typedef struct curve {
    long first, n; /* rows */
    double id, a, k, se_a, se_k, sse;
    int iterations, converged;
} curve;

typedef struct data {
    double *t, *y;
    long n_rows;
    curve *curves;
    long n_curves;
} data;

/* The file mapped, NUL-terminated by the zeros after its end in the last page (a file that
 * fills its last page exactly is read into memory instead). */
static char *map_file(const char *path, long *size, int *mapped)
{
    int fd = open(path, O_RDONLY);
    struct stat st;
    if (fd < 0 || fstat(fd, &st) != 0) {
        if (fd >= 0)
            close(fd);
        return NULL;
    }
    *size = (long)st.st_size;
    char *text = NULL;
    *mapped = *size % sysconf(_SC_PAGESIZE) != 0;
    if (*mapped) {
        text = mmap(NULL, (size_t)*size, PROT_READ, MAP_PRIVATE | MAP_POPULATE, fd, 0);
        text = text == MAP_FAILED ? NULL : text;
    } else if ((text = malloc((size_t)*size + 1))) {
        if (read(fd, text, (size_t)*size) != (ssize_t)*size) {
            free(text);
            text = NULL;
        } else {
            text[*size] = '\0';
        }
    }
    close(fd);
    return text;
}

/* Room for the columns, on huge pages where the kernel has them (fewer page faults). */
static void *big_array(size_t bytes)
{
    size_t huge = (size_t)2 << 20;
    void *p = aligned_alloc(huge, (bytes + huge - 1) / huge * huge);
    if (p)
        madvise(p, (bytes + huge - 1) / huge * huge, MADV_HUGEPAGE);
    return p;
}

/* A plain decimal of at most 15 digits and no exponent, exactly (an integer below 2^53
 * divided by an exact power of ten rounds once); anything else goes to strtod. */
static double number(char *p, char **end)
{
    static const double tens[] = {1, 1e1, 1e2, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8, 1e9, 1e10, 1e11, 1e12, 1e13, 1e14, 1e15};
    char *q = p + (*p == '-');
    long long m = 0;
    int digits = 0, scale = 0;
    for (; *q >= '0' && *q <= '9'; q++, digits++)
        m = 10 * m + (*q - '0');
    if (*q == '.')
        for (q++; *q >= '0' && *q <= '9'; q++, digits++, scale++)
            m = 10 * m + (*q - '0');
    if (digits == 0 || digits > 15 || *q == 'e' || *q == 'E')
        return strtod(p, end);
    *end = q;
    double v = (double)m / tens[scale];
    return *p == '-' ? -v : v;
}

/* rows "curve,t,y" after a header line; a curve's rows follow each other; blank lines are
 * skipped */
static int parse(const char *text, long size, data *d)
{
    long cap = size / 6 + 2; /* the shortest row, "0,1,2\n", has 6 bytes */
    d->t = big_array((size_t)cap * sizeof *d->t);
    d->y = big_array((size_t)cap * sizeof *d->y);
    d->curves = big_array((size_t)cap * sizeof *d->curves);
    if (!d->t || !d->y || !d->curves)
        return -1;
    char *p = strchr(text, '\n');
    double last = NAN;
    while (p && *++p) {
        if (*p == '\n' || *p == '\r')
            continue;
        double c = number(p, &p);
        d->t[d->n_rows] = number(p + 1, &p);
        d->y[d->n_rows] = number(p + 1, &p);
        if (c != last) {
            d->curves[d->n_curves++] = (curve){.first = d->n_rows, .id = c};
            last = c;
        }
        d->curves[d->n_curves - 1].n++;
        d->n_rows++;
        p = strchr(p, '\n');
    }
    return 0;
}

/* The residual sum of squares at (a, k), keeping each exp(-k t) in e for the Jacobian. */
static double sse_at(const double *t, const double *y, long n, double a, double k, double *e)
{
    double s = 0;
    for (long i = 0; i < n; i++) {
        e[i] = exp(-k * t[i]);
        double r = y[i] - a * e[i];
        s += r * r;
    }
    return s;
}

static void fit(const double *t, const double *y, curve *c)
{
    double *e = malloc(2 * (size_t)c->n * sizeof *e), *trial = e + c->n;
    if (!e)
        return;
    double a = 1, k = 1, lambda = 1e-3, sse = sse_at(t, y, c->n, a, k, e);
    double h11 = 0, h12 = 0, h22 = 0;
    for (c->iterations = 0; c->iterations < 200; c->iterations++) {
        double g1 = 0, g2 = 0;
        h11 = h12 = h22 = 0;
        for (long i = 0; i < c->n; i++) {
            double r = y[i] - a * e[i], j1 = e[i], j2 = -a * t[i] * e[i];
            h11 += j1 * j1, h12 += j1 * j2, h22 += j2 * j2, g1 += j1 * r, g2 += j2 * r;
        }
        double next = sse, da = 0, dk = 0;
        while (lambda < 1e16) {
            double m11 = h11 * (1 + lambda), m22 = h22 * (1 + lambda), det = m11 * m22 - h12 * h12;
            da = (m22 * g1 - h12 * g2) / det, dk = (m11 * g2 - h12 * g1) / det;
            next = sse_at(t, y, c->n, a + da, k + dk, trial);
            if (next <= sse)
                break;
            lambda *= 10;
        }
        int small = fabs(da) <= 1e-15 * (fabs(a) + 1e-15) && fabs(dk) <= 1e-15 * (fabs(k) + 1e-15);
        int flat = sse - next <= 1e-15 * sse;
        if (next <= sse) {
            double *swap = e;
            e = trial, trial = swap;
            a += da, k += dk, sse = next, lambda = lambda > 1e-12 ? lambda / 10 : lambda;
        }
        if (small || flat || lambda >= 1e16) {
            c->converged = 1;
            break;
        }
    }
    free(e < trial ? e : trial);
    double s2 = sse / (double)(c->n - 2), det = h11 * h22 - h12 * h12;
    c->a = a, c->k = k, c->sse = sse;
    c->se_a = sqrt(s2 * h22 / det), c->se_k = sqrt(s2 * h11 / det);
}

typedef struct share {
    data *d;
    long from, to;
} share;

static void *fit_share(void *arg)
{
    share *s = arg;
    for (long g = s->from; g < s->to; g++) {
        curve *c = &s->d->curves[g];
        fit(s->d->t + c->first, s->d->y + c->first, c);
    }
    return NULL;
}

int main(int argc, char **argv)
{
    long size;
    int mapped = 0;
    char *text = argc == 2 ? map_file(argv[1], &size, &mapped) : NULL;
    data d = {0};
    if (!text || parse(text, size, &d) != 0) {
        fprintf(stderr, "usage: %s CURVES.CSV (a table curve,t,y)\n", argv[0]);
        return 2;
    }
    share half[2] = {{&d, 0, d.n_curves / 2}, {&d, d.n_curves / 2, d.n_curves}};
    pthread_t other;
    bool two = pthread_create(&other, NULL, fit_share, &half[1]) == 0;
    fit_share(&half[0]);
    if (two)
        pthread_join(other, NULL);
    else
        fit_share(&half[1]);
    printf("curve,a,k,se_a,se_k,sse,converged,iterations,n\n");
    for (long g = 0; g < d.n_curves; g++) {
        const curve *c = &d.curves[g];
        printf("%.17g,%.17g,%.17g,%.17g,%.17g,%.17g,%s,%d,%ld\n", c->id, c->a, c->k, c->se_a, c->se_k, c->sse,
               c->converged ? "true" : "false", c->iterations, c->n);
    }
    if (mapped)
        munmap(text, (size_t)size);
    else
        free(text);
    free(d.t);
    free(d.y);
    free(d.curves);
    return 0;
}
