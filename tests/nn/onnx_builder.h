/*
 * onnx_builder.h — a tiny ONNX (protobuf) writer for tests: builds small models in memory, valid
 * or deliberately broken, without any ONNX tooling. Header-only (static functions); every
 * allocation failure aborts, which is fine in tests.
 *
 *   mb m; mb_init(&m, 13);
 *   mb_input(&m, "x", 4, (int64_t[]){1, 1, 3, 3});
 *   mb_init_f32(&m, "w", 4, (int64_t[]){1, 1, 3, 3}, weights);
 *   mb_node(&m, "Conv", "x,w", "y", 1, a_ints("pads", 4, (int64_t[]){1, 1, 1, 1}));
 *   mb_output(&m, "y");
 *   size_t len; uint8_t *bytes = mb_finish(&m, &len);   // free() it
 *
 * Lists of tensor names are comma-separated; an empty entry ("x,,s") is an omitted input.
 */
#ifndef FS_TESTS_ONNX_BUILDER_H
#define FS_TESTS_ONNX_BUILDER_H

#include <stdarg.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

/* Test helpers: not every test uses every one. */
#define TB_FN static __attribute__((unused))

typedef struct pbuf {
    uint8_t *p;
    size_t len, cap;
} pbuf;

TB_FN void pb_put(pbuf *b, const void *data, size_t n)
{
    if (b->len + n > b->cap) {
        size_t cap = b->cap ? b->cap : 64;
        while (cap < b->len + n)
            cap *= 2;
        b->p = realloc(b->p, cap);
        if (!b->p)
            abort();
        b->cap = cap;
    }
    if (n)
        memcpy(b->p + b->len, data, n);
    b->len += n;
}

TB_FN void pb_varint(pbuf *b, uint64_t v)
{
    do {
        uint8_t c = v & 0x7f;
        v >>= 7;
        if (v)
            c |= 0x80;
        pb_put(b, &c, 1);
    } while (v);
}

TB_FN void pb_key(pbuf *b, unsigned field, unsigned wire)
{
    pb_varint(b, ((uint64_t)field << 3) | wire);
}

TB_FN void pb_int(pbuf *b, unsigned field, int64_t v)
{
    pb_key(b, field, 0);
    pb_varint(b, (uint64_t)v);
}

TB_FN void pb_f32(pbuf *b, unsigned field, float f)
{
    uint32_t u;
    memcpy(&u, &f, 4);
    uint8_t le[4] = {(uint8_t)u, (uint8_t)(u >> 8), (uint8_t)(u >> 16), (uint8_t)(u >> 24)};
    pb_key(b, field, 5);
    pb_put(b, le, 4);
}

TB_FN void pb_bytes(pbuf *b, unsigned field, const void *data, size_t n)
{
    pb_key(b, field, 2);
    pb_varint(b, n);
    pb_put(b, data, n);
}

TB_FN void pb_str(pbuf *b, unsigned field, const char *s)
{
    pb_bytes(b, field, s, strlen(s));
}

/* Appends sub as a length-delimited field and frees it. */
TB_FN void pb_msg(pbuf *b, unsigned field, pbuf *sub)
{
    pb_bytes(b, field, sub->p, sub->len);
    free(sub->p);
    memset(sub, 0, sizeof *sub);
}

/* ---- tensors, attributes ------------------------------------------------------------------ */

enum { TB_FLOAT = 1, TB_INT64 = 7 };

/* TensorProto with raw_data (little-endian host assumed, as on x86/arm). */
TB_FN pbuf tensor_proto(const char *name, int type, int ndim, const int64_t *dims,
                        const void *data)
{
    pbuf t = {0};
    size_t count = 1;
    for (int i = 0; i < ndim; i++) {
        pb_int(&t, 1, dims[i]);
        count *= (size_t)dims[i];
    }
    pb_int(&t, 2, type);
    if (name)
        pb_str(&t, 8, name);
    pb_bytes(&t, 9, data, count * (type == TB_INT64 ? 8 : 4));
    return t;
}

TB_FN pbuf attr_head(const char *name, int type)
{
    pbuf a = {0};
    pb_str(&a, 1, name);
    pb_int(&a, 20, type);
    return a;
}

TB_FN pbuf a_int(const char *name, int64_t v)
{
    pbuf a = attr_head(name, 2);
    pb_int(&a, 3, v);
    return a;
}

TB_FN pbuf a_float(const char *name, float v)
{
    pbuf a = attr_head(name, 1);
    pb_f32(&a, 2, v);
    return a;
}

TB_FN pbuf a_str(const char *name, const char *s)
{
    pbuf a = attr_head(name, 3);
    pb_str(&a, 4, s);
    return a;
}

TB_FN pbuf a_ints(const char *name, int n, const int64_t *v)
{
    pbuf a = attr_head(name, 7);
    for (int i = 0; i < n; i++)
        pb_int(&a, 8, v[i]);
    return a;
}

TB_FN pbuf a_floats(const char *name, int n, const float *v)
{
    pbuf a = attr_head(name, 6);
    for (int i = 0; i < n; i++)
        pb_f32(&a, 7, v[i]);
    return a;
}

TB_FN pbuf a_tensor(const char *name, pbuf tensor)
{
    pbuf a = attr_head(name, 4);
    pb_msg(&a, 5, &tensor);
    return a;
}

/* ---- models ------------------------------------------------------------------------------- */

typedef struct mb {
    pbuf graph;
    int opset;
    int nodes;
} mb;

TB_FN void mb_init(mb *m, int opset)
{
    memset(m, 0, sizeof *m);
    m->opset = opset;
}

TB_FN void names(pbuf *node, unsigned field, const char *list)
{
    const char *s = list;
    if (!list)
        return;
    for (;;) {
        const char *e = strchr(s, ',');
        size_t n = e ? (size_t)(e - s) : strlen(s);
        pb_bytes(node, field, s, n);
        if (!e)
            break;
        s = e + 1;
    }
}

/* A node op(ins) → outs with n_attrs attributes (pbufs from a_*), named "n<index>". */
TB_FN void mb_node(mb *m, const char *op, const char *ins, const char *outs, int n_attrs,
                  ...)
{
    pbuf node = {0};
    char name[32];
    names(&node, 1, ins);
    names(&node, 2, outs);
    snprintf(name, sizeof name, "n%d", m->nodes++);
    pb_str(&node, 3, name);
    pb_str(&node, 4, op);
    va_list ap;
    va_start(ap, n_attrs);
    for (int i = 0; i < n_attrs; i++) {
        pbuf a = va_arg(ap, pbuf);
        pb_msg(&node, 5, &a);
    }
    va_end(ap);
    pb_msg(&m->graph, 1, &node);
}

TB_FN pbuf value_info(const char *name, int ndim, const int64_t *dims)
{
    pbuf shape = {0}, tt = {0}, type = {0}, vi = {0};
    for (int i = 0; i < ndim; i++) {
        pbuf d = {0};
        if (dims[i] >= 0)
            pb_int(&d, 1, dims[i]);
        else if (dims[i] == -1000)
            pb_str(&d, 2, "N"); /* symbolic */
        else
            pb_int(&d, 1, dims[i]); /* negative: for malformed-model tests */
        pb_msg(&shape, 1, &d);
    }
    pb_int(&tt, 1, 1);
    if (ndim >= 0)
        pb_msg(&tt, 2, &shape);
    else
        free(shape.p);
    pb_msg(&type, 1, &tt);
    pb_str(&vi, 1, name);
    pb_msg(&vi, 2, &type);
    return vi;
}

/* A float graph input of the given shape (ndim -1: no shape). A dim of -1000 is symbolic. */
TB_FN void mb_input(mb *m, const char *name, int ndim, const int64_t *dims)
{
    pbuf vi = value_info(name, ndim, dims);
    pb_msg(&m->graph, 11, &vi);
}

TB_FN void mb_output(mb *m, const char *name)
{
    pbuf vi = value_info(name, -1, NULL);
    pb_msg(&m->graph, 12, &vi);
}

TB_FN void mb_init_f32(mb *m, const char *name, int ndim, const int64_t *dims,
                        const float *data)
{
    pbuf t = tensor_proto(name, TB_FLOAT, ndim, dims, data);
    pb_msg(&m->graph, 5, &t);
}

TB_FN void mb_init_i64(mb *m, const char *name, int ndim, const int64_t *dims,
                        const int64_t *data)
{
    pbuf t = tensor_proto(name, TB_INT64, ndim, dims, data);
    pb_msg(&m->graph, 5, &t);
}

/* The ModelProto bytes (malloc'd; the builder is reset). */
TB_FN uint8_t *mb_finish(mb *m, size_t *len)
{
    pbuf model = {0}, opset = {0};
    pb_int(&model, 1, 7);
    pb_str(&model, 2, "facesearch-tests");
    pb_msg(&model, 7, &m->graph);
    pb_str(&opset, 1, "");
    pb_int(&opset, 2, m->opset);
    pb_msg(&model, 8, &opset);
    *len = model.len;
    return model.p;
}

#endif
