/*
 * error.h — filling an fs_error (the library's single error convention, see facesearch.h).
 */
#ifndef FS_UTIL_ERROR_H
#define FS_UTIL_ERROR_H

#include "facesearch.h"

/* Sets err (if not NULL) to code and a printf-formatted message; returns code, so that callers can
 * write `return util_fail(err, FS_ERR_IO, "%s: %s", path, strerror(errno));`. */
fs_status util_fail(fs_error *err, fs_status code, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* Clears err to FS_OK and an empty message. */
void util_error_clear(fs_error *err);

#endif
