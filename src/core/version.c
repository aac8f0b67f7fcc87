/* The library's version, for a program to compare with the headers' (NABLA_VERSION). */
#include "nabla/core.h"

const char *nb_version(void)
{
    return NABLA_VERSION;
}
