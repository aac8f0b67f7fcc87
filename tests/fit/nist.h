/* Reading NIST StRD regression files (tests/data/nist/): the model text, the starting
 * values, the certified values and the data, all from the file itself. Shared by the
 * certification test and bench/nist_nabla.c. */
#ifndef NB_NIST_H
#define NB_NIST_H

#include "nabla/fit.h"

#define NIST_MAX_PARAMS 12

typedef struct nist_problem {
    char name[64];
    bool linear;
    char formula[1024]; /* the file's model, error term removed, "..." written out */
    int n_params;
    char param_names[NIST_MAX_PARAMS][8];
    double start[2][NIST_MAX_PARAMS]; /* nonlinear only */
    double certified[NIST_MAX_PARAMS];
    double certified_sd[NIST_MAX_PARAMS];
    double certified_rss;
    nb_table *data; /* columns named as on the file's "Data:" line, response first */
} nist_problem;

/* Load one file; false with a message in `error` when it does not read. */
bool nist_load(const char *path, nist_problem *problem, char *error, size_t error_size);
void nist_free(nist_problem *problem);

/* Log relative error of q against the certified c, capped at `digits`, 0 when wrong or
 * not finite. */
double nist_lre(double q, double c, double digits);

/* The files of a folder ending in .dat, sorted; returns how many (at most max). */
int nist_list(const char *folder, char names[][64], int max);

#endif
