/*
 * protobuf.h — a minimal, bounds-checked reader of the protobuf wire format (the encoding of ONNX
 * files). It only walks fields; onnx.c knows what the fields mean. Every read is checked against
 * the end of the enclosing message: a malformed buffer gives an error, never an out-of-bounds read.
 */
#ifndef FS_NN_PROTOBUF_H
#define FS_NN_PROTOBUF_H

#include <stddef.h>
#include <stdint.h>

enum { PB_VARINT = 0, PB_FIXED64 = 1, PB_BYTES = 2, PB_FIXED32 = 5 };

/* A message being read: [p, end) within a buffer that starts at base (for byte offsets). */
typedef struct pb_reader {
    const uint8_t *p, *end, *base;
} pb_reader;

/* One field. For PB_BYTES, data/len is the payload (inside the reader's buffer); for the other
 * wire types, value holds the raw 64-bit value (fixed32 in the low 32 bits). */
typedef struct pb_field {
    uint32_t number;
    int wire;
    uint64_t value;
    const uint8_t *data;
    size_t len;
    size_t offset; /* byte offset of the field's key from base */
} pb_field;

/* What went wrong in pb_next. */
typedef enum pb_result {
    PB_OK = 0,
    PB_END = 1,        /* no more fields */
    PB_TRUNCATED = -1, /* a field runs past the end of its message */
    PB_BAD_VARINT = -2,
    PB_BAD_WIRE = -3,  /* wire type 3, 4, 6 or 7 (groups or garbage) */
    PB_BAD_FIELD = -4  /* field number 0 */
} pb_result;

void pb_init(pb_reader *r, const void *data, size_t len, const void *base);
/* Reads the next field into f. Returns PB_OK, PB_END, or an error (r->p then points at the bad
 * byte for pb_offset). */
pb_result pb_next(pb_reader *r, pb_field *f);
/* A short description of an error result. */
const char *pb_result_text(pb_result res);
size_t pb_offset(const pb_reader *r);

/* A varint from [*p, end): advances *p. Returns 0 or -1 when truncated or longer than 10 bytes. */
int pb_read_varint(const uint8_t **p, const uint8_t *end, uint64_t *out);

/* Reinterpretations of a field's raw value. */
static inline float pb_as_float(uint64_t v)
{
    union { uint32_t u; float f; } x;
    x.u = (uint32_t)v;
    return x.f;
}
static inline double pb_as_double(uint64_t v)
{
    union { uint64_t u; double d; } x;
    x.u = v;
    return x.d;
}

#endif
