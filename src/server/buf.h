/*
 * buf.h — a growing byte buffer for response bodies, and JSON written into it (strings escaped
 * as SPEC.md says for paths: bytes that are not UTF-8 as \udcXX, Python's surrogateescape).
 * A buffer that failed to grow keeps failing (nomem), so callers check once at the end.
 */
#ifndef FS_SERVER_BUF_H
#define FS_SERVER_BUF_H

#include <stddef.h>

typedef struct srv_buf {
    char *data;          /* malloc'd, NUL-terminated when len > 0; owned */
    size_t len, cap;
    int nomem;
} srv_buf;

void srv_buf_free(srv_buf *b);
void srv_buf_add(srv_buf *b, const void *data, size_t n);
void srv_buf_puts(srv_buf *b, const char *s);
void srv_buf_printf(srv_buf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* s as a JSON string, quotes included. */
void srv_json_string(srv_buf *b, const char *s);
/* A float with 4 decimals, or null when not finite. */
void srv_json_float(srv_buf *b, float v);

#endif
