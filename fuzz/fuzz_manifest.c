/*
 * fuzz_manifest.c — libFuzzer target for the model-pack manifest parser (a pack folder given by
 * path brings its own manifest): any byte string goes through model_manifest_parse, which must
 * return an error or a manifest whose roles name listed files, never crash or leak. Build: clang,
 * -fsanitize=fuzzer,address,undefined (see fuzz/CMakeLists.txt).
 */
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "models/manifest.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    model_manifest m;
    fs_error err;
    if (model_manifest_parse((const char *)data, size, "fuzz", &m, &err) == FS_OK) {
        if (!m.name || !m.detector.file || !m.recognizer.file || m.file_count == 0)
            __builtin_trap();
        if (m.recognizer2.file && !(m.fusion > 0 && m.fusion < 1))
            __builtin_trap();
        for (size_t i = 0; i < m.file_count; i++)
            if (strchr(m.files[i].name, '/'))
                __builtin_trap();
        model_manifest_free(&m);
    }
    return 0;
}
