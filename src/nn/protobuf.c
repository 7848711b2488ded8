/*
 * protobuf.c — the wire-format walker declared in protobuf.h.
 */
#include "nn/protobuf.h"

#include <string.h>

void pb_init(pb_reader *r, const void *data, size_t len, const void *base)
{
    r->p = data;
    r->end = r->p + len;
    r->base = base;
}

size_t pb_offset(const pb_reader *r)
{
    return (size_t)(r->p - r->base);
}

int pb_read_varint(const uint8_t **pp, const uint8_t *end, uint64_t *out)
{
    const uint8_t *p = *pp;
    uint64_t v = 0;
    for (int shift = 0; shift < 70; shift += 7) {
        if (p >= end)
            return -1;
        uint8_t b = *p++;
        v |= (uint64_t)(b & 0x7f) << shift;
        if (!(b & 0x80)) {
            *pp = p;
            *out = v;
            return 0;
        }
        if (shift == 63)
            return -1; /* an eleventh byte would be needed */
    }
    return -1;
}

pb_result pb_next(pb_reader *r, pb_field *f)
{
    if (r->p >= r->end)
        return PB_END;
    const uint8_t *start = r->p, *p = r->p;
    uint64_t key;
    if (pb_read_varint(&p, r->end, &key) != 0)
        return PB_BAD_VARINT;
    f->offset = (size_t)(start - r->base);
    f->wire = (int)(key & 7);
    if ((key >> 3) == 0 || (key >> 3) > 0x1fffffff)
        return PB_BAD_FIELD;
    f->number = (uint32_t)(key >> 3);
    f->data = NULL;
    f->len = 0;
    f->value = 0;
    switch (f->wire) {
    case PB_VARINT:
        if (pb_read_varint(&p, r->end, &f->value) != 0)
            return PB_BAD_VARINT;
        break;
    case PB_FIXED64:
        if (r->end - p < 8)
            return PB_TRUNCATED;
        for (int i = 7; i >= 0; i--)
            f->value = (f->value << 8) | p[i];
        p += 8;
        break;
    case PB_FIXED32:
        if (r->end - p < 4)
            return PB_TRUNCATED;
        for (int i = 3; i >= 0; i--)
            f->value = (f->value << 8) | p[i];
        p += 4;
        break;
    case PB_BYTES: {
        uint64_t len;
        if (pb_read_varint(&p, r->end, &len) != 0)
            return PB_BAD_VARINT;
        if (len > (uint64_t)(r->end - p))
            return PB_TRUNCATED;
        f->data = p;
        f->len = (size_t)len;
        p += len;
        break;
    }
    default:
        return PB_BAD_WIRE;
    }
    r->p = p;
    return PB_OK;
}

const char *pb_result_text(pb_result res)
{
    switch (res) {
    case PB_OK: return "ok";
    case PB_END: return "end of message";
    case PB_TRUNCATED: return "truncated field (length runs past the end of its message)";
    case PB_BAD_VARINT: return "truncated or overlong varint";
    case PB_BAD_WIRE: return "invalid wire type";
    case PB_BAD_FIELD: return "invalid field number";
    }
    return "?";
}
