/*
 * parse.h — the server's own parsing of what a client sends: the request target (path and query
 * string, percent-decoded), form fields of a query string or of a flat JSON object, and the parts
 * of a multipart/form-data body. Pure functions over bytes, no I/O: fuzzed by fuzz/fuzz_serve.c.
 * Everything a client sends is untrusted: every function bounds its reads by the lengths given
 * and fails (-1) on malformed input rather than guessing.
 */
#ifndef FS_SERVER_PARSE_H
#define FS_SERVER_PARSE_H

#include <stddef.h>

#define SRV_PARAMS_MAX 32       /* fields of one query string or JSON object */
#define SRV_SEGMENTS_MAX 8      /* segments of a request path */

/* Named values (a query string, a JSON object): keys and values are NUL-terminated, malloc'd
 * copies, owned by the srv_params (srv_params_free). A value may hold NUL bytes only if the
 * client sent them encoded (%00, \u0000): then the C string ends there. */
typedef struct srv_params {
    size_t count;
    char *key[SRV_PARAMS_MAX];
    char *value[SRV_PARAMS_MAX];
} srv_params;

void srv_params_free(srv_params *p);
/* The value of the last field named key, or NULL. */
const char *srv_params_get(const srv_params *p, const char *key);

/* Percent-decodes n bytes of in into out (room for n + 1 bytes), NUL-terminated; with
 * plus_space, '+' becomes ' ' (form encoding). *out_len gets the decoded length. -1 on a bad
 * escape ("%zz", "%4"). */
int srv_percent_decode(const char *in, size_t n, int plus_space, char *out, size_t *out_len);

/* A request target ("/api/v1/photos/12?size=256") split into its decoded path segments (seg,
 * *n_seg; empty segments dropped: "//a/" is ["a"]) and its query fields. Segments are written
 * into buf (room for strlen(target) + 1 bytes) and point into it. -1 on a bad escape, a segment
 * that decodes to "." or ".." or holds '/' or NUL, too many segments or fields. */
int srv_parse_target(const char *target, char *buf, char **seg, size_t *n_seg,
                     srv_params *query);

/* Fields of a query string or form body "a=1&b=x%20y" (n bytes) appended to p. -1 on a bad
 * escape or more than SRV_PARAMS_MAX fields. */
int srv_parse_query(const char *s, size_t n, srv_params *p);

/* Fields of a flat JSON object ({"folder": "/a", "top": 5, "all": true}; numbers, true, false
 * and null are kept as their text) appended to p. -1 on anything else: nesting, trailing bytes,
 * bad escapes or UTF-8 of escapes, more than SRV_PARAMS_MAX fields. */
int srv_parse_json_object(const char *s, size_t n, srv_params *p);

/* A part of a multipart/form-data body. Points into the body. */
typedef struct srv_part {
    const char *data;
    size_t size;
    char name[64];            /* the form field's name ("" if none or too long) */
    char content_type[64];    /* "" if none */
} srv_part;

/* The boundary of a multipart/form-data Content-Type header into buf (size >= 72). -1 if the
 * type is not multipart/form-data or has no valid boundary (1..70 characters). */
int srv_multipart_boundary(const char *content_type, char *buf, size_t size);

/* Visits each part of a multipart body (n bytes) with the given boundary: visit(part, ctx);
 * a non-zero return stops. -1 if the body is malformed (no opening boundary, a part without its
 * header end or closing boundary), else the number of parts visited. */
int srv_multipart_each(const char *body, size_t n, const char *boundary,
                       int (*visit)(const srv_part *part, void *ctx), void *ctx);

#endif
