// The llama.cpp side of the converter benchmark (BENCHMARKS.md): exactly what the llama-quantize tool does for
// "llama-quantize IN OUT TYPE NTHREAD" without an imatrix: llama_model_quantize() with the library's default
// parameters, here from the prebuilt libllama that node-llama-cpp ships (the llama.cpp release of tests/node).
//
// build: see build-quantize-driver.sh
// usage: quantize-driver IN.gguf OUT.gguf FTYPE NTHREAD   (FTYPE is the llama_ftype number, e.g. 15 = Q4_K_M)
#include <stdio.h>
#include <stdlib.h>
#include "llama.h"

int main(int argc, char ** argv) {
    if (argc != 5) {
        fprintf(stderr, "usage: %s IN.gguf OUT.gguf FTYPE NTHREAD\n", argv[0]);
        return 2;
    }
    llama_backend_init();
    llama_model_quantize_params params = llama_model_quantize_default_params();
    params.ftype = (enum llama_ftype) atoi(argv[3]);
    params.nthread = atoi(argv[4]);
    uint32_t rc = llama_model_quantize(argv[1], argv[2], &params);
    llama_backend_free();
    return rc == 0 ? 0 : 1;
}
