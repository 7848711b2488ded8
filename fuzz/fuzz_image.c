/*
 * fuzz_image.c — libFuzzer target for the image decoders: any byte string goes through
 * img_load_buffer (format sniffing, libjpeg-turbo with and without DCT scaling, EXIF parsing,
 * orientation, every libvips loader we allow). It must return an error or a valid image, never
 * crash, hang or leak. A small pixel limit keeps each run fast; the limit check itself is part of
 * what is fuzzed. Build: clang, -fsanitize=fuzzer,address,undefined (see fuzz/CMakeLists.txt).
 */
#include <stddef.h>
#include <stdint.h>

#include "image/image.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    img_load_options opt = {.max_pixels = 4u * 1000 * 1000,
                                 .min_long_side = size % 2 ? 64 : 0};
    img_rgb img;
    fs_error err;
    float scale;
    int w, h;
    if (img_load_buffer(data, size, "fuzz", &opt, &img, &scale, &w, &h, &err) == FS_OK) {
        /* touch every pixel so that a short buffer shows up under ASan */
        unsigned sum = 0;
        size_t n = (size_t)img.width * (size_t)img.height * 3;
        for (size_t i = 0; i < n; i++)
            sum += img.rgb[i];
        if (scale < 1.0f || w < img.width || sum == 0xFFFFFFFFu)
            __builtin_trap();
        img_free(&img);
    }
    return 0;
}
