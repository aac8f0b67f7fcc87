/* safetensors model files: the input as a file, loaded and read back. */
#include "fuzz_common.h"

#include "nabla/io.h"

static void inspect(const nb_safetensors *file)
{
    int n = nb_safetensors_count(file);
    for (int i = 0; i < n; i++) {
        const char *name = nb_safetensors_name(file, i);
        const nb_tensor *t = nb_safetensors_tensor(file, i);
        if (name && nb_safetensors_get(file, name) != t)
            __builtin_trap();  /* a name must find its own tensor */
    }
    int m = nb_safetensors_meta_count(file);
    for (int i = 0; i < m; i++)
        nb_safetensors_meta(file, nb_safetensors_meta_key(file, i));
    nb_safetensors_meta(file, "model");
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    fuzz_begin(size);
    const char *path = fuzz_file(0, data, size);
    if (!path)
        return 0;
    nb_safetensors *file = nb_safetensors_load(path);
    if (file) {
        inspect(file);
        nb_safetensors_free(file);
    }
    return 0;
}
