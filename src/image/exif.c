/*
 * exif.c — the one EXIF field the pipeline needs: the orientation tag (0x0112) of IFD0, read from
 * a JPEG APP1 payload for the libjpeg-turbo decoder. (libvips reads it itself for other formats.)
 * Every read is checked against the payload bounds; anything odd means "no orientation" (1).
 */
#include "image/image_internal.h"

#include <string.h>

static unsigned read16(const uint8_t *p, int big_endian)
{
    return big_endian ? (unsigned)p[0] << 8 | p[1] : (unsigned)p[1] << 8 | p[0];
}

static uint32_t read32(const uint8_t *p, int big_endian)
{
    return big_endian ? (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3]
                      : (uint32_t)p[3] << 24 | (uint32_t)p[2] << 16 | (uint32_t)p[1] << 8 | p[0];
}

int img_exif_orientation(const uint8_t *data, size_t size)
{
    static const uint8_t magic[6] = {'E', 'x', 'i', 'f', 0, 0};
    if (!data || size < 6 + 8 || memcmp(data, magic, 6) != 0)
        return 1;
    const uint8_t *tiff = data + 6; /* offsets in EXIF count from the TIFF header */
    size_t tsize = size - 6;
    int be;
    if (tiff[0] == 'I' && tiff[1] == 'I')
        be = 0;
    else if (tiff[0] == 'M' && tiff[1] == 'M')
        be = 1;
    else
        return 1;
    if (read16(tiff + 2, be) != 42)
        return 1;
    uint32_t ifd = read32(tiff + 4, be);
    if (ifd > tsize || tsize - ifd < 2)
        return 1;
    unsigned count = read16(tiff + ifd, be);
    size_t entries = (size_t)ifd + 2;
    for (unsigned i = 0; i < count; i++) {
        size_t e = entries + (size_t)i * 12;
        if (e > tsize || tsize - e < 12)
            return 1;
        if (read16(tiff + e, be) != 0x0112)
            continue;
        unsigned type = read16(tiff + e + 2, be);
        uint32_t n = read32(tiff + e + 4, be);
        unsigned v;
        if (type == 3 && n >= 1) /* SHORT: value in the first two bytes of the field */
            v = read16(tiff + e + 8, be);
        else if (type == 4 && n >= 1) /* LONG, seen in a few writers */
            v = (unsigned)read32(tiff + e + 8, be);
        else
            return 1;
        return v >= 1 && v <= 8 ? (int)v : 1;
    }
    return 1;
}
