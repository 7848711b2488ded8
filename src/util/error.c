/*
 * error.c — status codes and their descriptions, and the helper that fills an fs_error.
 */
#include "util/error.h"

#include <stdarg.h>
#include <stdio.h>

const char *fs_strerror(fs_status rc)
{
    switch (rc) {
    case FS_OK: return "success";
    case FS_ERR_NOMEM: return "out of memory";
    case FS_ERR_IO: return "input/output error";
    case FS_ERR_FORMAT: return "malformed input";
    case FS_ERR_UNSUPPORTED: return "unsupported";
    case FS_ERR_ARG: return "invalid argument";
    case FS_ERR_INTEGRITY: return "checksum mismatch";
    case FS_ERR_NOT_FOUND: return "not found";
    case FS_ERR_LIMIT: return "limit exceeded";
    case FS_ERR_INTERNAL: return "internal error";
    case FS_ERR_BUSY: return "busy: another process is writing";
    case FS_ERR_UNAVAILABLE: return "unavailable: a shard did not answer";
    }
    return "unknown error";
}

const char *fs_version(void)
{
    return FS_VERSION;
}

fs_status util_fail(fs_error *err, fs_status rc, const char *fmt, ...)
{
    if (err) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(err->message, sizeof err->message, fmt, ap);
        va_end(ap);
        err->code = rc;
    }
    return rc;
}

void util_error_clear(fs_error *err)
{
    if (err) {
        err->code = FS_OK;
        err->message[0] = '\0';
    }
}
