/* The model files of `nabla train` and `nabla predict` (cli/model_file.c): the input as a
 * safetensors file, its description checked field by field and the network rebuilt. */
#include "fuzz_common.h"

#include "model_file.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    fuzz_begin(size);
    const char *path = fuzz_file(0, data, size);
    if (!path)
        return 0;
    model_desc desc = {0};
    nb_model model = {0};
    if (model_load(path, 4, &desc, &model) == NB_OK)
        nb_graph_free(model.graph);
    model_desc_clear(&desc);
    return 0;
}
