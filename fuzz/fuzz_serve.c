/*
 * fuzz_serve.c — libFuzzer target for the server's own parsing (src/server/parse.c): the first
 * byte picks the parser, the rest is its input: a request target (path segments and query), a
 * query string, a flat JSON object, a multipart/form-data body (its first line is the
 * Content-Type header giving the boundary), or JSON string escaping (buf.c). Each must return an
 * error or a result that keeps its promises (no "." or ".." segment, no '/' in one, parts inside
 * the body), never crash, hang or leak.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "server/buf.h"
#include "server/parse.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

typedef struct body_span {
    const char *start;
    size_t size;
} body_span;

static int check_part(const srv_part *part, void *ctx)
{
    const body_span *b = ctx;
    if (part->data < b->start || part->data + part->size > b->start + b->size)
        __builtin_trap();
    if (strlen(part->name) >= sizeof part->name)
        __builtin_trap();
    return 0;
}

static void target(const char *s)
{
    char *buf = malloc(strlen(s) + 1);
    char *seg[SRV_SEGMENTS_MAX];
    size_t n;
    srv_params q = {0};
    if (buf && srv_parse_target(s, buf, seg, &n, &q) == 0)
        for (size_t i = 0; i < n; i++)
            if (!*seg[i] || strchr(seg[i], '/') || !strcmp(seg[i], ".") || !strcmp(seg[i], ".."))
                __builtin_trap();
    srv_params_free(&q);
    free(buf);
}

static void multipart(const char *s, size_t n)
{
    const char *nl = memchr(s, '\n', n);
    if (!nl)
        return;
    char header[256];
    size_t hn = (size_t)(nl - s) < sizeof header - 1 ? (size_t)(nl - s) : sizeof header - 1;
    memcpy(header, s, hn);
    header[hn] = '\0';
    char boundary[80];
    if (srv_multipart_boundary(header, boundary, sizeof boundary))
        return;
    body_span b = {nl + 1, n - (size_t)(nl + 1 - s)};
    srv_multipart_each(b.start, b.size, boundary, check_part, &b);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1)
        return 0;
    /* a private, NUL-terminated copy: reads past the input show up under ASan */
    size_t n = size - 1;
    char *s = malloc(n + 1);
    if (!s)
        return 0;
    memcpy(s, data + 1, n);
    s[n] = '\0';
    srv_params p = {0};
    srv_buf b = {0};
    switch (data[0] % 5) {
    case 0:
        target(s);
        break;
    case 1:
        srv_parse_query(s, n, &p);
        break;
    case 2:
        if (srv_parse_json_object(s, n, &p) == 0)
            for (size_t i = 0; i < p.count; i++)
                if (!p.key[i] || !p.value[i])
                    __builtin_trap();
        break;
    case 3:
        multipart(s, n);
        break;
    default:
        srv_json_string(&b, s);
        if (b.len < 2 || b.data[0] != '"' || b.data[b.len - 1] != '"')
            __builtin_trap();
        break;
    }
    srv_params_free(&p);
    srv_buf_free(&b);
    free(s);
    return 0;
}
