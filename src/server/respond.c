/*
 * respond.c — the shapes every handler answers in: JSON errors {"error": "...", "code": N}
 * with the HTTP status of a library error, JSON bodies, faces in JSON, numeric query fields.
 */
#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "srv.h"

int srv_error(srv_response *res, int status, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(res->error, sizeof res->error, fmt, ap);
    va_end(ap);
    srv_buf_free(&res->body);
    res->static_body = NULL;
    srv_buf *b = srv_json(res, status);
    srv_buf_puts(b, "{\"error\":");
    srv_json_string(b, res->error);
    srv_buf_printf(b, ",\"code\":%d}\n", status);
    return 0;
}

int srv_status_of(fs_status rc)
{
    switch (rc) {
    case FS_ERR_NOT_FOUND: return 404;
    case FS_ERR_LIMIT: return 413;
    case FS_ERR_BUSY: return 409;
    case FS_ERR_FORMAT:
    case FS_ERR_UNSUPPORTED:
    case FS_ERR_ARG: return 400;
    case FS_ERR_NOMEM:
    case FS_ERR_UNAVAILABLE: return 503;
    default: return 500;
    }
}

int srv_error_fs(srv_response *res, const fs_error *err)
{
    return srv_error(res, srv_status_of(err->code), "%s",
                     err->message[0] ? err->message : fs_strerror(err->code));
}

srv_buf *srv_json(srv_response *res, int status)
{
    res->status = status;
    res->content_type = "application/json";
    return &res->body;
}

void srv_json_face(srv_buf *b, const fs_face *f)
{
    srv_buf_puts(b, "\"box\":[");
    for (int i = 0; i < 4; i++) {
        if (i)
            srv_buf_puts(b, ",");
        srv_json_float(b, f->box[i]);
    }
    srv_buf_puts(b, "],\"landmarks\":[");
    for (int i = 0; i < 5; i++) {
        srv_buf_puts(b, i ? ",[" : "[");
        srv_json_float(b, f->landmarks[2 * i]);
        srv_buf_puts(b, ",");
        srv_json_float(b, f->landmarks[2 * i + 1]);
        srv_buf_puts(b, "]");
    }
    srv_buf_puts(b, "],\"score\":");
    srv_json_float(b, f->score);
    srv_buf_puts(b, ",\"quality\":");
    srv_json_float(b, f->quality);
}

int srv_param_long(const srv_params *p, const char *key, long lo, long hi, long def, long *out)
{
    const char *v = srv_params_get(p, key);
    if (!v || !*v) {
        *out = def;
        return 0;
    }
    char *end;
    errno = 0;
    long n = strtol(v, &end, 10);
    if (*end || errno || n < lo || n > hi)
        return -1;
    *out = n;
    return 0;
}

int srv_param_float(const srv_params *p, const char *key, float lo, float hi, float def,
                    float *out)
{
    const char *v = srv_params_get(p, key);
    if (!v || !*v) {
        *out = def;
        return 0;
    }
    char *end;
    errno = 0;
    float f = strtof(v, &end);
    if (*end || errno || !isfinite(f) || f < lo || f > hi)
        return -1;
    *out = f;
    return 0;
}
