/*
 * buf.c — response bodies and the JSON in them (buf.h).
 */
#include "buf.h"

#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void srv_buf_free(srv_buf *b)
{
    free(b->data);
    memset(b, 0, sizeof *b);
}

static int reserve(srv_buf *b, size_t extra)
{
    if (b->nomem)
        return -1;
    if (b->len + extra + 1 <= b->cap)
        return 0;
    size_t cap = b->cap ? b->cap : 256;
    while (cap < b->len + extra + 1)
        cap *= 2;
    char *grown = realloc(b->data, cap);
    if (!grown) {
        b->nomem = 1;
        return -1;
    }
    b->data = grown;
    b->cap = cap;
    return 0;
}

void srv_buf_add(srv_buf *b, const void *data, size_t n)
{
    if (reserve(b, n))
        return;
    memcpy(b->data + b->len, data, n);
    b->len += n;
    b->data[b->len] = '\0';
}

void srv_buf_puts(srv_buf *b, const char *s)
{
    srv_buf_add(b, s, strlen(s));
}

void srv_buf_printf(srv_buf *b, const char *fmt, ...)
{
    /* written in place when it fits (a response's many small pieces), else measured first */
    va_list ap;
    if (b->nomem)
        return;
    size_t room = b->cap > b->len ? b->cap - b->len : 0;
    va_start(ap, fmt);
    int n = vsnprintf(room ? b->data + b->len : NULL, room, fmt, ap);
    va_end(ap);
    if (n >= 0 && (size_t)n < room) {
        b->len += (size_t)n;
        return;
    }
    if (room)
        b->data[b->len] = '\0';
    if (n < 0 || reserve(b, (size_t)n))
        return;
    va_start(ap, fmt);
    vsnprintf(b->data + b->len, (size_t)n + 1, fmt, ap);
    va_end(ap);
    b->len += (size_t)n;
}

/* Length of the valid UTF-8 sequence at s (1..4), or 0 if the bytes there are not one. */
static size_t utf8_len(const unsigned char *s)
{
    if (s[0] < 0x80)
        return 1;
    size_t n = (s[0] & 0xe0) == 0xc0   ? 2
               : (s[0] & 0xf0) == 0xe0 ? 3
               : (s[0] & 0xf8) == 0xf0 ? 4
                                       : 0;
    if (n == 0 || (n == 2 && s[0] < 0xc2))
        return 0;
    for (size_t i = 1; i < n; i++)
        if ((s[i] & 0xc0) != 0x80)
            return 0;
    if (n == 3 && ((s[0] == 0xe0 && s[1] < 0xa0) || (s[0] == 0xed && s[1] >= 0xa0)))
        return 0;
    if (n == 4 && ((s[0] == 0xf0 && s[1] < 0x90) || (s[0] == 0xf4 && s[1] >= 0x90) || s[0] > 0xf4))
        return 0;
    return n;
}

void srv_json_string(srv_buf *b, const char *s)
{
    srv_buf_puts(b, "\"");
    const unsigned char *p = (const unsigned char *)s;
    while (*p) {
        size_t n = utf8_len(p);
        if (n == 0) {
            srv_buf_printf(b, "\\udc%02x", *p);
            p++;
        } else if (*p == '"' || *p == '\\') {
            srv_buf_printf(b, "\\%c", *p);
            p++;
        } else if (*p < 0x20 || *p == 0x7f) {
            srv_buf_printf(b, "\\u%04x", *p);
            p++;
        } else {
            srv_buf_add(b, p, n);
            p += n;
        }
    }
    srv_buf_puts(b, "\"");
}

void srv_json_float(srv_buf *b, float v)
{
    if (isfinite(v))
        srv_buf_printf(b, "%.4f", (double)v);
    else
        srv_buf_puts(b, "null");
}
