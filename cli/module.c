/* Finding the program's modules (cli/module.h). */
#include "module.h"

#include <dlfcn.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#ifndef NB_MODULE_DIR
#define NB_MODULE_DIR "../lib/nabla"
#endif

void *cli_module_open(const char *name, char *why, size_t size)
{
    char exe[PATH_MAX];
    ssize_t n = readlink("/proc/self/exe", exe, sizeof exe - 1);
    if (n <= 0) {
        snprintf(why, size, "cannot tell where the program is (/proc/self/exe)");
        return NULL;
    }
    exe[n] = '\0';
    *strrchr(exe, '/') = '\0';
    const char *places[2] = {"", "/" NB_MODULE_DIR};
    for (int k = 0; k < 2; k++) {
        char path[PATH_MAX + 64];
        snprintf(path, sizeof path, "%s%s/%s", exe, places[k], name);
        void *handle = dlopen(path, RTLD_NOW | RTLD_LOCAL);
        if (handle)
            return handle;
        snprintf(why, size, "%s", dlerror());
    }
    return NULL;
}
