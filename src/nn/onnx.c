/*
 * onnx.c — ModelProto → onnx_model (see onnx.h). Field numbers follow onnx.proto (public spec).
 *
 * Every message is walked twice where it holds repeated fields: once to count (so arrays are sized
 * exactly, never grown) and once to fill. All sizes come from the buffer itself, so allocations are
 * bounded by a small multiple of the file size, and tensor dims are capped by tensor.h's limits.
 */
#include "nn/onnx.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "nn/protobuf.h"
#include "util/error.h"

typedef struct pctx {
    const char *name;
    const uint8_t *base;
    size_t size;
    nn_arena *a;
    fs_error *err;
} pctx;

/* "NAME: malformed ONNX model: WHAT (at byte N)". */
__attribute__((format(printf, 3, 4)))
static fs_status bad(pctx *c, size_t offset, const char *fmt, ...)
{
    char what[320];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(what, sizeof what, fmt, ap);
    va_end(ap);
    return util_fail(c->err, FS_ERR_FORMAT, "%s: malformed ONNX model: %s (at byte %zu)", c->name,
                     what, offset);
}

static fs_status nomem(pctx *c)
{
    return util_fail(c->err, FS_ERR_NOMEM, "%s: out of memory while reading the model", c->name);
}

static fs_status walk_error(pctx *c, const pb_reader *r, pb_result res, const char *msg)
{
    return bad(c, pb_offset(r), "%s in %s", pb_result_text(res), msg);
}

static fs_status wrong_wire(pctx *c, const pb_field *f, const char *msg)
{
    return bad(c, f->offset, "%s field %u has wire type %d", msg, f->number, f->wire);
}

static fs_status get_string(pctx *c, const pb_field *f, const char *msg, const char **out)
{
    if (f->wire != PB_BYTES)
        return wrong_wire(c, f, msg);
    char *s = nn_arena_strndup(c->a, (const char *)f->data, f->len);
    if (!s)
        return nomem(c);
    *out = s;
    return FS_OK;
}

static fs_status get_varint(pctx *c, const pb_field *f, const char *msg, int64_t *out)
{
    if (f->wire != PB_VARINT)
        return wrong_wire(c, f, msg);
    *out = (int64_t)f->value;
    return FS_OK;
}

/* ---- repeated scalars (packed or not) --------------------------------------------------- */

typedef enum scalar_kind {
    K_I64, /* varint, int64 */
    K_I32, /* varint, int32 (sign-extended from 32 bits) */
    K_U64, /* varint, uint64 (stored as int64) */
    K_F32, /* fixed32 float */
    K_F64  /* fixed64 double (stored as float) */
} scalar_kind;

static int kind_wire(scalar_kind k)
{
    return k == K_F32 ? PB_FIXED32 : k == K_F64 ? PB_FIXED64 : PB_VARINT;
}

/* Counts the values of repeated field `number` in the message [msg, msg+len). */
static fs_status count_repeated(pctx *c, const uint8_t *msg, size_t len, uint32_t number,
                                scalar_kind kind, const char *what, size_t *n)
{
    pb_reader r;
    pb_field f;
    pb_result res;
    size_t count = 0;
    pb_init(&r, msg, len, c->base);
    while ((res = pb_next(&r, &f)) == PB_OK) {
        if (f.number != number)
            continue;
        if (f.wire == kind_wire(kind)) {
            count++;
        } else if (f.wire == PB_BYTES) {
            if (kind == K_F32 || kind == K_F64) {
                size_t w = kind == K_F32 ? 4 : 8;
                if (f.len % w)
                    return bad(c, f.offset, "packed %s has %zu bytes, not a multiple of %zu",
                               what, f.len, w);
                count += f.len / w;
            } else {
                for (size_t i = 0; i < f.len; i++)
                    count += !(f.data[i] & 0x80);
            }
        } else {
            return wrong_wire(c, &f, what);
        }
    }
    if (res != PB_END)
        return walk_error(c, &r, res, what);
    *n = count;
    return FS_OK;
}

static void store(scalar_kind kind, uint64_t v, void *dst, size_t i)
{
    switch (kind) {
    case K_I64: case K_U64: ((int64_t *)dst)[i] = (int64_t)v; break;
    case K_I32: ((int64_t *)dst)[i] = (int64_t)(int32_t)(uint32_t)v; break;
    case K_F32: ((float *)dst)[i] = pb_as_float(v); break;
    case K_F64: ((float *)dst)[i] = (float)pb_as_double(v); break;
    }
}

/* Fills dst (int64_t[] or float[], n values as counted by count_repeated) with field `number`. */
static fs_status fill_repeated(pctx *c, const uint8_t *msg, size_t len, uint32_t number,
                               scalar_kind kind, const char *what, void *dst, size_t n)
{
    pb_reader r;
    pb_field f;
    pb_result res;
    size_t i = 0;
    pb_init(&r, msg, len, c->base);
    while ((res = pb_next(&r, &f)) == PB_OK) {
        if (f.number != number)
            continue;
        if (f.wire == kind_wire(kind)) {
            if (i < n)
                store(kind, f.value, dst, i);
            i++;
            continue;
        }
        /* packed (count_repeated already checked the wire type) */
        const uint8_t *p = f.data, *end = f.data + f.len;
        while (p < end) {
            uint64_t v = 0;
            if (kind == K_F32) {
                for (int b = 3; b >= 0; b--)
                    v = (v << 8) | p[b];
                p += 4;
            } else if (kind == K_F64) {
                for (int b = 7; b >= 0; b--)
                    v = (v << 8) | p[b];
                p += 8;
            } else if (pb_read_varint(&p, end, &v) != 0) {
                return bad(c, (size_t)(p - c->base), "bad varint in packed %s", what);
            }
            if (i < n)
                store(kind, v, dst, i);
            i++;
        }
    }
    if (res != PB_END)
        return walk_error(c, &r, res, what);
    if (i != n)
        return bad(c, (size_t)(msg - c->base), "inconsistent count in %s", what);
    return FS_OK;
}

/* count + allocate + fill. *out is NULL when there are no values. */
static fs_status read_repeated(pctx *c, const uint8_t *msg, size_t len, uint32_t number,
                               scalar_kind kind, const char *what, void **out, size_t *n)
{
    fs_status rc = count_repeated(c, msg, len, number, kind, what, n);
    if (rc)
        return rc;
    *out = NULL;
    if (*n == 0)
        return FS_OK;
    size_t w = (kind == K_F32 || kind == K_F64) ? sizeof(float) : sizeof(int64_t);
    *out = nn_arena_calloc(c->a, *n, w);
    if (!*out)
        return nomem(c);
    return fill_repeated(c, msg, len, number, kind, what, *out, *n);
}

/* Number of fields `number` in a message (for repeated messages and strings). */
static fs_status count_fields(pctx *c, const uint8_t *msg, size_t len, uint32_t number,
                              const char *what, size_t *n)
{
    pb_reader r;
    pb_field f;
    pb_result res;
    *n = 0;
    pb_init(&r, msg, len, c->base);
    while ((res = pb_next(&r, &f)) == PB_OK) {
        if (f.number == number) {
            if (f.wire != PB_BYTES)
                return wrong_wire(c, &f, what);
            (*n)++;
        }
    }
    if (res != PB_END)
        return walk_error(c, &r, res, what);
    return FS_OK;
}

/* ---- TensorProto ------------------------------------------------------------------------- */

static float half_to_float(uint16_t h)
{
    uint32_t sign = (uint32_t)(h >> 15) << 31, exp = (h >> 10) & 0x1f, man = h & 0x3ff, bits;
    if (exp == 0) {
        if (man == 0) {
            bits = sign;
        } else { /* subnormal: normalise */
            exp = 127 - 15 + 1;
            while (!(man & 0x400)) {
                man <<= 1;
                exp--;
            }
            bits = sign | (exp << 23) | ((man & 0x3ff) << 13);
        }
    } else if (exp == 31) {
        bits = sign | 0x7f800000u | (man << 13);
    } else {
        bits = sign | ((exp - 15 + 127) << 23) | (man << 13);
    }
    union { uint32_t u; float f; } x = {bits};
    return x.f;
}

static float bf16_to_float(uint16_t h)
{
    union { uint32_t u; float f; } x = {(uint32_t)h << 16};
    return x.f;
}

enum { T_FLOAT = 1, T_UINT8 = 2, T_INT8 = 3, T_UINT16 = 4, T_INT16 = 5, T_INT32 = 6,
       T_INT64 = 7, T_STRING = 8, T_BOOL = 9, T_FLOAT16 = 10, T_DOUBLE = 11, T_UINT32 = 12,
       T_UINT64 = 13, T_BFLOAT16 = 16 };

/* How a data type is stored: its raw element size, typed field and scalar kind. */
static int type_layout(int type, nn_dtype *dtype, size_t *raw_size, uint32_t *field,
                       scalar_kind *kind)
{
    switch (type) {
    case T_FLOAT: *dtype = NN_F32; *raw_size = 4; *field = 4; *kind = K_F32; return 0;
    case T_DOUBLE: *dtype = NN_F32; *raw_size = 8; *field = 10; *kind = K_F64; return 0;
    case T_FLOAT16: case T_BFLOAT16:
        *dtype = NN_F32; *raw_size = 2; *field = 5; *kind = K_I32; return 0;
    case T_UINT8: case T_INT8: case T_BOOL:
        *dtype = NN_I64; *raw_size = 1; *field = 5; *kind = K_I32; return 0;
    case T_UINT16: case T_INT16:
        *dtype = NN_I64; *raw_size = 2; *field = 5; *kind = K_I32; return 0;
    case T_INT32: *dtype = NN_I64; *raw_size = 4; *field = 5; *kind = K_I32; return 0;
    case T_INT64: *dtype = NN_I64; *raw_size = 8; *field = 7; *kind = K_I64; return 0;
    case T_UINT32: *dtype = NN_I64; *raw_size = 4; *field = 11; *kind = K_U64; return 0;
    case T_UINT64: *dtype = NN_I64; *raw_size = 8; *field = 11; *kind = K_U64; return 0;
    default: return -1;
    }
}

static uint64_t load_le(const uint8_t *p, size_t n)
{
    uint64_t v = 0;
    for (size_t i = n; i-- > 0;)
        v = (v << 8) | p[i];
    return v;
}

/* Converts raw little-endian elements of `type` into the runtime's float32/int64. */
static void convert_raw(int type, const uint8_t *raw, int64_t count, void *dst)
{
    float *f = dst;
    int64_t *q = dst;
    for (int64_t i = 0; i < count; i++) {
        switch (type) {
        case T_FLOAT: f[i] = pb_as_float(load_le(raw + 4 * i, 4)); break;
        case T_DOUBLE: f[i] = (float)pb_as_double(load_le(raw + 8 * i, 8)); break;
        case T_FLOAT16: f[i] = half_to_float((uint16_t)load_le(raw + 2 * i, 2)); break;
        case T_BFLOAT16: f[i] = bf16_to_float((uint16_t)load_le(raw + 2 * i, 2)); break;
        case T_UINT8: q[i] = raw[i]; break;
        case T_BOOL: q[i] = raw[i] != 0; break;
        case T_INT8: q[i] = (int8_t)raw[i]; break;
        case T_UINT16: q[i] = (uint16_t)load_le(raw + 2 * i, 2); break;
        case T_INT16: q[i] = (int16_t)(uint16_t)load_le(raw + 2 * i, 2); break;
        case T_INT32: q[i] = (int32_t)(uint32_t)load_le(raw + 4 * i, 4); break;
        case T_UINT32: q[i] = (int64_t)load_le(raw + 4 * i, 4); break;
        case T_INT64: case T_UINT64: q[i] = (int64_t)load_le(raw + 8 * i, 8); break;
        }
    }
}

static fs_status parse_tensor(pctx *c, const uint8_t *msg, size_t len, size_t offset,
                              onnx_tensor *out)
{
    pb_reader r;
    pb_field f;
    pb_result res;
    int64_t type = 0, location = 0;
    const uint8_t *raw = NULL;
    size_t raw_len = 0, n_external = 0;
    int has_raw = 0, has_segment = 0;
    fs_status rc;
    out->name = "";
    pb_init(&r, msg, len, c->base);
    while ((res = pb_next(&r, &f)) == PB_OK) {
        switch (f.number) {
        case 2: if ((rc = get_varint(c, &f, "TensorProto.data_type", &type))) return rc; break;
        case 3: has_segment = 1; break;
        case 8: if ((rc = get_string(c, &f, "TensorProto.name", &out->name))) return rc; break;
        case 9:
            if (f.wire != PB_BYTES)
                return wrong_wire(c, &f, "TensorProto.raw_data");
            raw = f.data;
            raw_len = f.len;
            has_raw = 1;
            break;
        case 13: n_external++; break;
        case 14:
            if ((rc = get_varint(c, &f, "TensorProto.data_location", &location)))
                return rc;
            break;
        default: break;
        }
    }
    if (res != PB_END)
        return walk_error(c, &r, res, "TensorProto");
    const char *tn = out->name;
    if (has_segment)
        return bad(c, offset, "tensor '%s' is segmented (not supported)", tn);
    if (location == 1 || n_external)
        return util_fail(c->err, FS_ERR_UNSUPPORTED,
                         "%s: tensor '%s' keeps its data in an external file (not supported)",
                         c->name, tn);
    /* dims */
    int64_t *dims;
    size_t ndim;
    if ((rc = read_repeated(c, msg, len, 1, K_I64, "TensorProto.dims", (void **)&dims, &ndim)))
        return rc;
    if (ndim > NN_MAX_DIMS)
        return bad(c, offset, "tensor '%s' has %zu dimensions (at most %d supported)", tn, ndim,
                   NN_MAX_DIMS);
    out->t.ndim = (int)ndim;
    for (size_t i = 0; i < ndim; i++) {
        if (dims[i] < 0)
            return bad(c, offset, "tensor '%s' has a negative dimension (%lld)", tn,
                       (long long)dims[i]);
        out->t.dims[i] = dims[i];
    }
    if (nn_dims_count(out->t.dims, out->t.ndim, &out->t.count) != 0)
        return util_fail(c->err, FS_ERR_LIMIT,
                         "%s: malformed ONNX model: tensor '%s' is too large (more than %lld "
                         "elements or a dimension above %lld) (at byte %zu)",
                         c->name, tn, (long long)NN_MAX_ELEMENTS, (long long)NN_MAX_DIM, offset);
    out->onnx_type = (int)type;
    nn_dtype dtype;
    size_t raw_size;
    uint32_t field;
    scalar_kind kind;
    if (type_layout((int)type, &dtype, &raw_size, &field, &kind) != 0)
        return util_fail(c->err, FS_ERR_UNSUPPORTED,
                         "%s: tensor '%s' has data type %lld, which is not supported", c->name, tn,
                         (long long)type);
    out->t.dtype = dtype;
    int64_t count = out->t.count;
    out->t.data = NULL;
    if (count == 0)
        return FS_OK;
    void *data = nn_arena_calloc(c->a, (size_t)count, nn_dtype_size(dtype));
    if (!data)
        return nomem(c);
    if (has_raw) {
        if ((uint64_t)raw_len != (uint64_t)count * raw_size)
            return bad(c, offset, "tensor '%s': raw_data holds %zu bytes, its dims need %llu",
                       tn, raw_len, (unsigned long long)count * raw_size);
        convert_raw((int)type, raw, count, data);
    } else {
        size_t n;
        if ((rc = count_repeated(c, msg, len, field, kind, "tensor data", &n)))
            return rc;
        if (n != (size_t)count)
            return bad(c, offset, "tensor '%s' holds %zu values, its dims need %lld", tn, n,
                       (long long)count);
        if (kind == K_I32 && dtype == NN_F32) { /* halves stored in int32_data */
            int64_t *bits = nn_arena_calloc(c->a, n, sizeof *bits);
            if (!bits)
                return nomem(c);
            if ((rc = fill_repeated(c, msg, len, field, kind, "tensor data", bits, n)))
                return rc;
            for (size_t i = 0; i < n; i++)
                ((float *)data)[i] = type == T_FLOAT16 ? half_to_float((uint16_t)bits[i])
                                                       : bf16_to_float((uint16_t)bits[i]);
        } else {
            if ((rc = fill_repeated(c, msg, len, field, kind, "tensor data", data, n)))
                return rc;
            if (type == T_BOOL)
                for (size_t i = 0; i < n; i++)
                    ((int64_t *)data)[i] = ((int64_t *)data)[i] != 0;
        }
    }
    out->t.data = data;
    return FS_OK;
}

/* ---- AttributeProto ---------------------------------------------------------------------- */

static fs_status parse_attr(pctx *c, const uint8_t *msg, size_t len, size_t offset, onnx_attr *a)
{
    pb_reader r;
    pb_field f;
    pb_result res;
    fs_status rc;
    int64_t type = 0, v = 0;
    int has_f = 0, has_i = 0;
    size_t n_strings = 0, n_tensors = 0, it = 0;
    a->name = "";
    pb_init(&r, msg, len, c->base);
    while ((res = pb_next(&r, &f)) == PB_OK) {
        switch (f.number) {
        case 1: if ((rc = get_string(c, &f, "AttributeProto.name", &a->name))) return rc; break;
        case 20: if ((rc = get_varint(c, &f, "AttributeProto.type", &type))) return rc; break;
        case 2:
            if (f.wire != PB_FIXED32)
                return wrong_wire(c, &f, "AttributeProto.f");
            a->f = pb_as_float(f.value);
            has_f = 1;
            break;
        case 3:
            if ((rc = get_varint(c, &f, "AttributeProto.i", &v)))
                return rc;
            a->i = v;
            has_i = 1;
            break;
        case 4:
            if ((rc = get_string(c, &f, "AttributeProto.s", &a->s)))
                return rc;
            a->s_len = f.len;
            break;
        case 5:
            if (f.wire != PB_BYTES)
                return wrong_wire(c, &f, "AttributeProto.t");
            if (!(a->t = nn_arena_alloc(c->a, sizeof *a->t)))
                return nomem(c);
            if ((rc = parse_tensor(c, f.data, f.len, f.offset, a->t)))
                return rc;
            break;
        case 6: case 11: a->n_graphs++; break;
        case 9: n_strings++; break;
        case 10: n_tensors++; break;
        default: break;
        }
    }
    if (res != PB_END)
        return walk_error(c, &r, res, "AttributeProto");
    if ((rc = read_repeated(c, msg, len, 7, K_F32, "AttributeProto.floats", (void **)&a->floats,
                            &a->n_floats)))
        return rc;
    if ((rc = read_repeated(c, msg, len, 8, K_I64, "AttributeProto.ints", (void **)&a->ints,
                            &a->n_ints)))
        return rc;
    if (n_strings && !(a->strings = nn_arena_calloc(c->a, n_strings, sizeof(char *))))
        return nomem(c);
    if (n_tensors && !(a->tensors = nn_arena_calloc(c->a, n_tensors, sizeof(onnx_tensor))))
        return nomem(c);
    pb_init(&r, msg, len, c->base);
    while ((res = pb_next(&r, &f)) == PB_OK) {
        if (f.number == 9) {
            const char *s = NULL;
            if ((rc = get_string(c, &f, "AttributeProto.strings", &s)))
                return rc;
            a->strings[a->n_strings++] = (char *)s;
        } else if (f.number == 10) {
            if (f.wire != PB_BYTES)
                return wrong_wire(c, &f, "AttributeProto.tensors");
            if ((rc = parse_tensor(c, f.data, f.len, f.offset, &a->tensors[it++])))
                return rc;
        }
    }
    a->n_tensors = it;
    if (type == ONNX_ATTR_UNDEFINED) { /* old files: infer from what is present */
        type = a->n_floats ? ONNX_ATTR_FLOATS : a->n_ints ? ONNX_ATTR_INTS
             : a->n_strings ? ONNX_ATTR_STRINGS : a->n_tensors ? ONNX_ATTR_TENSORS
             : a->t ? ONNX_ATTR_TENSOR : a->s ? ONNX_ATTR_STRING : a->n_graphs ? ONNX_ATTR_GRAPH
             : has_i ? ONNX_ATTR_INT : has_f ? ONNX_ATTR_FLOAT : ONNX_ATTR_UNDEFINED;
    }
    if (type < 0 || type > ONNX_ATTR_TYPE_PROTOS)
        return bad(c, offset, "attribute '%s' has invalid type %lld", a->name, (long long)type);
    if (type == ONNX_ATTR_TENSOR && !a->t)
        return bad(c, offset, "attribute '%s' is a tensor but holds none", a->name);
    if (!a->s)
        a->s = "";
    a->type = (int)type;
    return FS_OK;
}

/* ---- NodeProto --------------------------------------------------------------------------- */

static fs_status parse_node(pctx *c, const uint8_t *msg, size_t len, size_t offset, onnx_node *n)
{
    pb_reader r;
    pb_field f;
    pb_result res;
    fs_status rc;
    size_t ni, no, na;
    if ((rc = count_fields(c, msg, len, 1, "NodeProto.input", &ni)) ||
        (rc = count_fields(c, msg, len, 2, "NodeProto.output", &no)) ||
        (rc = count_fields(c, msg, len, 5, "NodeProto.attribute", &na)))
        return rc;
    if ((ni && !(n->inputs = nn_arena_calloc(c->a, ni, sizeof(char *)))) ||
        (no && !(n->outputs = nn_arena_calloc(c->a, no, sizeof(char *)))) ||
        (na && !(n->attrs = nn_arena_calloc(c->a, na, sizeof(onnx_attr)))))
        return nomem(c);
    n->name = "";
    n->op_type = NULL;
    n->domain = "";
    pb_init(&r, msg, len, c->base);
    while ((res = pb_next(&r, &f)) == PB_OK) {
        const char *s = NULL;
        switch (f.number) {
        case 1:
            if ((rc = get_string(c, &f, "NodeProto.input", &s)))
                return rc;
            n->inputs[n->n_inputs++] = (char *)s;
            break;
        case 2:
            if ((rc = get_string(c, &f, "NodeProto.output", &s)))
                return rc;
            n->outputs[n->n_outputs++] = (char *)s;
            break;
        case 3: if ((rc = get_string(c, &f, "NodeProto.name", &n->name))) return rc; break;
        case 4: if ((rc = get_string(c, &f, "NodeProto.op_type", &n->op_type))) return rc; break;
        case 7: if ((rc = get_string(c, &f, "NodeProto.domain", &n->domain))) return rc; break;
        case 5:
            if ((rc = parse_attr(c, f.data, f.len, f.offset, &n->attrs[n->n_attrs++])))
                return rc;
            break;
        default: break;
        }
    }
    if (res != PB_END)
        return walk_error(c, &r, res, "NodeProto");
    if (!n->op_type || !*n->op_type)
        return bad(c, offset, "node '%s' has no op_type", n->name);
    return FS_OK;
}

/* ---- ValueInfoProto ---------------------------------------------------------------------- */

static fs_status parse_shape(pctx *c, const uint8_t *msg, size_t len, onnx_value_info *vi)
{
    pb_reader r;
    pb_field f;
    pb_result res;
    vi->ndim = 0;
    pb_init(&r, msg, len, c->base);
    while ((res = pb_next(&r, &f)) == PB_OK) {
        if (f.number != 1)
            continue;
        if (f.wire != PB_BYTES)
            return wrong_wire(c, &f, "TensorShapeProto.dim");
        if (vi->ndim >= NN_MAX_DIMS)
            return bad(c, f.offset, "tensor '%s' has more than %d dimensions", vi->name,
                       NN_MAX_DIMS);
        pb_reader dr;
        pb_field df;
        int64_t value = 0;
        pb_init(&dr, f.data, f.len, c->base);
        while ((res = pb_next(&dr, &df)) == PB_OK) {
            if (df.number == 1) {
                fs_status rc = get_varint(c, &df, "Dimension.dim_value", &value);
                if (rc)
                    return rc;
                if (value < 0)
                    return bad(c, df.offset, "tensor '%s' has a negative dimension (%lld)",
                               vi->name, (long long)value);
                if (value > NN_MAX_DIM)
                    return util_fail(c->err, FS_ERR_LIMIT,
                                     "%s: malformed ONNX model: tensor '%s' has a huge dimension "
                                     "(%lld > %lld) (at byte %zu)",
                                     c->name, vi->name, (long long)value, (long long)NN_MAX_DIM,
                                     df.offset);
            }
        }
        if (res != PB_END)
            return walk_error(c, &dr, res, "TensorShapeProto.Dimension");
        vi->dims[vi->ndim++] = value;
    }
    if (res != PB_END)
        return walk_error(c, &r, res, "TensorShapeProto");
    return FS_OK;
}

static fs_status parse_value_info(pctx *c, const uint8_t *msg, size_t len, onnx_value_info *vi)
{
    pb_reader r, tr, ttr;
    pb_field f, tf, ttf;
    pb_result res;
    fs_status rc;
    vi->name = "";
    vi->ndim = -1;
    /* the name first, so that shape errors can name the tensor */
    pb_init(&r, msg, len, c->base);
    while ((res = pb_next(&r, &f)) == PB_OK)
        if (f.number == 1 && (rc = get_string(c, &f, "ValueInfoProto.name", &vi->name)))
            return rc;
    if (res != PB_END)
        return walk_error(c, &r, res, "ValueInfoProto");
    pb_init(&r, msg, len, c->base);
    while (pb_next(&r, &f) == PB_OK) {
        if (f.number != 2)
            continue;
        if (f.wire != PB_BYTES)
            return wrong_wire(c, &f, "ValueInfoProto.type");
        pb_init(&tr, f.data, f.len, c->base);
        while ((res = pb_next(&tr, &tf)) == PB_OK) {
            if (tf.number != 1) /* tensor_type; sequences and maps are left unknown */
                continue;
            if (tf.wire != PB_BYTES)
                return wrong_wire(c, &tf, "TypeProto.tensor_type");
            pb_init(&ttr, tf.data, tf.len, c->base);
            while ((res = pb_next(&ttr, &ttf)) == PB_OK) {
                if (ttf.number == 1) {
                    int64_t et = 0;
                    if ((rc = get_varint(c, &ttf, "TypeProto.Tensor.elem_type", &et)))
                        return rc;
                    vi->elem_type = (int)et;
                } else if (ttf.number == 2) {
                    if (ttf.wire != PB_BYTES)
                        return wrong_wire(c, &ttf, "TypeProto.Tensor.shape");
                    if ((rc = parse_shape(c, ttf.data, ttf.len, vi)))
                        return rc;
                }
            }
            if (res != PB_END)
                return walk_error(c, &ttr, res, "TypeProto.Tensor");
        }
        if (res != PB_END)
            return walk_error(c, &tr, res, "TypeProto");
    }
    return FS_OK;
}

/* ---- GraphProto, ModelProto -------------------------------------------------------------- */

static fs_status parse_graph(pctx *c, const uint8_t *msg, size_t len, onnx_graph *g)
{
    pb_reader r;
    pb_field f;
    pb_result res;
    fs_status rc;
    size_t nn, ni, nin, nout;
    if ((rc = count_fields(c, msg, len, 1, "GraphProto.node", &nn)) ||
        (rc = count_fields(c, msg, len, 5, "GraphProto.initializer", &ni)) ||
        (rc = count_fields(c, msg, len, 11, "GraphProto.input", &nin)) ||
        (rc = count_fields(c, msg, len, 12, "GraphProto.output", &nout)))
        return rc;
    if ((nn && !(g->nodes = nn_arena_calloc(c->a, nn, sizeof(onnx_node)))) ||
        (ni && !(g->initializers = nn_arena_calloc(c->a, ni, sizeof(onnx_tensor)))) ||
        (nin && !(g->inputs = nn_arena_calloc(c->a, nin, sizeof(onnx_value_info)))) ||
        (nout && !(g->outputs = nn_arena_calloc(c->a, nout, sizeof(onnx_value_info)))))
        return nomem(c);
    pb_init(&r, msg, len, c->base);
    while ((res = pb_next(&r, &f)) == PB_OK) {
        switch (f.number) {
        case 1: rc = parse_node(c, f.data, f.len, f.offset, &g->nodes[g->n_nodes++]); break;
        case 5:
            rc = parse_tensor(c, f.data, f.len, f.offset, &g->initializers[g->n_initializers++]);
            break;
        case 11: rc = parse_value_info(c, f.data, f.len, &g->inputs[g->n_inputs++]); break;
        case 12: rc = parse_value_info(c, f.data, f.len, &g->outputs[g->n_outputs++]); break;
        case 15:
            return util_fail(c->err, FS_ERR_UNSUPPORTED,
                             "%s: the model has sparse initializers (not supported)", c->name);
        default: rc = FS_OK; break;
        }
        if (rc)
            return rc;
    }
    if (res != PB_END)
        return walk_error(c, &r, res, "GraphProto");
    return FS_OK;
}

fs_status onnx_parse(const void *data, size_t size, const char *name, nn_arena *arena,
                     onnx_model *out, fs_error *err)
{
    pctx c = {name ? name : "model", data, size, arena, err};
    pb_reader r;
    pb_field f;
    pb_result res;
    fs_status rc;
    const uint8_t *graph = NULL;
    size_t graph_len = 0, graph_off = 0;
    int has_ir = 0, has_opset = 0;
    memset(out, 0, sizeof *out);
    if (!data || size == 0)
        return util_fail(err, FS_ERR_FORMAT, "%s: not an ONNX model (empty file)", c.name);
    /* The top-level walk decides "not ONNX at all" vs "truncated": a field whose length runs past
     * the end of the whole file is a truncation; anything else unreadable here is not protobuf. */
    pb_init(&r, data, size, data);
    while ((res = pb_next(&r, &f)) == PB_OK) {
        if (f.number == 1 && f.wire == PB_VARINT) {
            out->ir_version = (int64_t)f.value;
            has_ir = 1;
        } else if (f.number == 7 && f.wire == PB_BYTES) {
            graph = f.data;
            graph_len = f.len;
            graph_off = f.offset;
        } else if (f.number == 8 && f.wire == PB_BYTES) {
            pb_reader o;
            pb_field of;
            const char *domain = "";
            int64_t version = 0;
            pb_init(&o, f.data, f.len, data);
            while ((res = pb_next(&o, &of)) == PB_OK) {
                if (of.number == 1 && (rc = get_string(&c, &of, "OperatorSetIdProto.domain",
                                                       &domain)))
                    return rc;
                if (of.number == 2 && (rc = get_varint(&c, &of, "OperatorSetIdProto.version",
                                                       &version)))
                    return rc;
            }
            if (res != PB_END)
                return walk_error(&c, &o, res, "OperatorSetIdProto");
            if (!*domain || !strcmp(domain, "ai.onnx")) {
                out->opset = version;
                has_opset = 1;
            }
        } else if (f.number <= 8 && f.number != 1 && f.number != 5 && f.wire != PB_BYTES) {
            /* fields 2,3,4,6 are strings in a ModelProto: anything else means this is not one */
            return util_fail(err, FS_ERR_FORMAT,
                             "%s: not an ONNX model (field %u at byte %zu has the wrong type)",
                             c.name, f.number, f.offset);
        }
    }
    if (res == PB_TRUNCATED || (res == PB_BAD_VARINT && size - pb_offset(&r) <= 10))
        return util_fail(
            err, FS_ERR_FORMAT,
            "%s: truncated ONNX file (%zu bytes; a field at byte %zu runs past the end)", c.name,
            size, pb_offset(&r));
    if (res != PB_END)
        return util_fail(err, FS_ERR_FORMAT,
                         "%s: not an ONNX model (not a protobuf message: %s at byte %zu)", c.name,
                         pb_result_text(res), pb_offset(&r));
    if (!has_ir || !graph)
        return util_fail(err, FS_ERR_FORMAT, "%s: not an ONNX model (no %s)", c.name,
                         !has_ir ? "ir_version" : "graph");
    if (!has_opset)
        return util_fail(err, FS_ERR_FORMAT,
                         "%s: malformed ONNX model: no opset_import for the default domain",
                         c.name);
    if (out->opset < 1 || out->opset > 1000)
        return util_fail(err, FS_ERR_FORMAT, "%s: malformed ONNX model: invalid opset version %lld",
                         c.name, (long long)out->opset);
    (void)graph_off;
    return parse_graph(&c, graph, graph_len, &out->graph);
}

const onnx_attr *onnx_node_attr(const onnx_node *node, const char *name)
{
    for (size_t i = 0; i < node->n_attrs; i++)
        if (!strcmp(node->attrs[i].name, name))
            return &node->attrs[i];
    return NULL;
}
