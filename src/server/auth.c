/*
 * auth.c — the token a server bound beyond this machine requires: given in a header
 * (X-Facesearch-Token, or Authorization: Bearer) or in the cookie the login sets, compared in
 * constant time.
 */
#include <stdio.h>
#include <string.h>

#include "srv.h"

#define COOKIE_NAME "facesearch_token"

int srv_token_equal(const char *a, const char *b)
{
    size_t na = strlen(a), nb = strlen(b);
    /* every byte of the longer string is looked at, whatever matches */
    size_t n = na > nb ? na : nb;
    unsigned diff = (unsigned)(na ^ nb);
    for (size_t i = 0; i < n; i++) {
        unsigned char x = i < na ? (unsigned char)a[i] : 0;
        unsigned char y = i < nb ? (unsigned char)b[i] : 0;
        diff |= (unsigned)(x ^ y);
    }
    return diff == 0;
}

/* The value of the cookie named name in a Cookie header into buf; 0 if absent. */
static int cookie_value(const char *header, const char *name, char *buf, size_t size)
{
    size_t nn = strlen(name);
    const char *p = header;
    while (p && *p) {
        while (*p == ' ' || *p == ';')
            p++;
        const char *end = strchr(p, ';');
        size_t len = end ? (size_t)(end - p) : strlen(p);
        if (len > nn && strncmp(p, name, nn) == 0 && p[nn] == '=') {
            size_t vn = len - nn - 1;
            if (vn + 1 > size)
                return 0;
            memcpy(buf, p + nn + 1, vn);
            buf[vn] = '\0';
            return 1;
        }
        p = end;
    }
    return 0;
}

int srv_auth_ok(const srv_ctx *ctx, const char *header_token, const char *bearer,
                const char *cookie_header)
{
    const char *token = ctx->cfg->token;
    if (!token)
        return 1;
    if (header_token && srv_token_equal(header_token, token))
        return 1;
    if (bearer && strncmp(bearer, "Bearer ", 7) == 0 && srv_token_equal(bearer + 7, token))
        return 1;
    char cookie[512];
    if (cookie_header && cookie_value(cookie_header, COOKIE_NAME, cookie, sizeof cookie) &&
        srv_token_equal(cookie, token))
        return 1;
    return 0;
}

int srv_api_login(srv_ctx *ctx, const srv_request *req, srv_response *res)
{
    srv_params p = {0};
    const char *given = NULL;
    if (req->body && srv_parse_json_object(req->body, req->body_len, &p) == 0)
        given = srv_params_get(&p, "token");
    int ok = given && ctx->cfg->token && srv_token_equal(given, ctx->cfg->token);
    int fits = ok && strlen(given) < 160;
    if (fits)
        snprintf(res->set_cookie, sizeof res->set_cookie,
                 COOKIE_NAME "=%s; Path=/; HttpOnly; SameSite=Strict", given);
    srv_params_free(&p);
    if (!ctx->cfg->token)
        return srv_error(res, 400, "this server needs no token");
    if (!fits)
        return srv_error(res, 401, "wrong token");
    srv_buf_puts(srv_json(res, 200), "{\"ok\":true}\n");
    return 0;
}
