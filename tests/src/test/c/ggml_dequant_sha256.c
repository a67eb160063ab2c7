// Independent reference for GgmlDequantizationIT: SHA-256 of ggml's own dequantization of every non-F32 tensor.
//
// For each GGUF file given, loads it with ggml's gguf reader and decodes each tensor row by row with
// ggml_get_type_traits(type)->to_float (libggml-base, i.e. dequantize_row_* of ggml-quants.c, the decode llama.cpp
// uses for get_rows), hashing the float32 values (little-endian) in row order. Prints one TSV line per tensor:
//   file  tensor  type  rows  row_length  sha256
//
// Build against a llama.cpp checkout and its build folder (not part of the Maven build):
//   cc -O2 -o ggml_dequant_sha256 ggml_dequant_sha256.c -I$LLAMA/ggml/include \
//      -L$LLAMA/build/bin -lggml-base -lcrypto -Wl,-rpath,$LLAMA/build/bin
//   (cd ../shared/llamacpp && ./ggml_dequant_sha256 tiny-*.gguf) > ggml-dequant-sha256.tsv
#include "ggml.h"
#include "gguf.h"

#include <openssl/evp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int hash_tensor(const struct ggml_tensor * t, char hex[65]) {
    const struct ggml_type_traits * traits = ggml_get_type_traits(t->type);
    if (traits->to_float == NULL) {
        return 1;
    }
    const int64_t row_length = t->ne[0];
    const int64_t rows = ggml_nrows(t);
    const size_t row_bytes = ggml_row_size(t->type, row_length);
    float * row = malloc(sizeof(float) * row_length);
    EVP_MD_CTX * md = EVP_MD_CTX_new();
    EVP_DigestInit_ex(md, EVP_sha256(), NULL);
    for (int64_t r = 0; r < rows; r++) {
        traits->to_float((const char *) t->data + r * row_bytes, row, row_length);
        EVP_DigestUpdate(md, row, sizeof(float) * row_length);
    }
    unsigned char digest[32];
    unsigned int len = 0;
    EVP_DigestFinal_ex(md, digest, &len);
    EVP_MD_CTX_free(md);
    free(row);
    for (int i = 0; i < 32; i++) {
        sprintf(hex + 2 * i, "%02x", digest[i]);
    }
    return 0;
}

int main(int argc, char ** argv) {
    for (int a = 1; a < argc; a++) {
        struct ggml_context * ctx = NULL;
        struct gguf_init_params params = { .no_alloc = false, .ctx = &ctx };
        struct gguf_context * gguf = gguf_init_from_file(argv[a], params);
        if (gguf == NULL) {
            fprintf(stderr, "%s: not a readable GGUF file\n", argv[a]);
            return 1;
        }
        const char * base = strrchr(argv[a], '/') ? strrchr(argv[a], '/') + 1 : argv[a];
        for (int64_t i = 0; i < gguf_get_n_tensors(gguf); i++) {
            const struct ggml_tensor * t = ggml_get_tensor(ctx, gguf_get_tensor_name(gguf, i));
            if (t->type == GGML_TYPE_F32) {
                continue;
            }
            char hex[65];
            if (hash_tensor(t, hex) != 0) {
                fprintf(stderr, "%s: %s: ggml has no to_float for %s\n", base, t->name, ggml_type_name(t->type));
                return 1;
            }
            printf("%s\t%s\t%s\t%lld\t%lld\t%s\n", base, t->name, ggml_type_name(t->type), (long long) ggml_nrows(t),
                   (long long) t->ne[0], hex);
        }
        gguf_free(gguf);
        ggml_free(ctx);
    }
    return 0;
}
