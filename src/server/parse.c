/*
 * parse.c — request targets, query strings, flat JSON objects and multipart bodies (parse.h).
 */
#include "parse.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

void srv_params_free(srv_params *p)
{
    for (size_t i = 0; i < p->count; i++) {
        free(p->key[i]);
        free(p->value[i]);
    }
    p->count = 0;
}

const char *srv_params_get(const srv_params *p, const char *key)
{
    for (size_t i = p->count; i-- > 0;)
        if (strcmp(p->key[i], key) == 0)
            return p->value[i];
    return NULL;
}

/* Adds copies of key (kn bytes) and value (vn bytes). -1 when full or out of memory. */
static int params_add(srv_params *p, const char *key, size_t kn, const char *value, size_t vn)
{
    if (p->count == SRV_PARAMS_MAX)
        return -1;
    char *k = malloc(kn + 1), *v = malloc(vn + 1);
    if (!k || !v) {
        free(k);
        free(v);
        return -1;
    }
    memcpy(k, key, kn);
    k[kn] = '\0';
    memcpy(v, value, vn);
    v[vn] = '\0';
    p->key[p->count] = k;
    p->value[p->count++] = v;
    return 0;
}

static int hex_digit(char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

int srv_percent_decode(const char *in, size_t n, int plus_space, char *out, size_t *out_len)
{
    size_t o = 0;
    for (size_t i = 0; i < n; i++) {
        if (in[i] == '%') {
            if (n - i < 3)
                return -1;
            int a = hex_digit(in[i + 1]), b = hex_digit(in[i + 2]);
            if (a < 0 || b < 0)
                return -1;
            out[o++] = (char)(a * 16 + b);
            i += 2;
        } else if (plus_space && in[i] == '+') {
            out[o++] = ' ';
        } else {
            out[o++] = in[i];
        }
    }
    out[o] = '\0';
    *out_len = o;
    return 0;
}

int srv_parse_query(const char *s, size_t n, srv_params *p)
{
    size_t i = 0;
    while (i < n) {
        size_t end = i;
        while (end < n && s[end] != '&')
            end++;
        if (end > i) {
            size_t eq = i;
            while (eq < end && s[eq] != '=')
                eq++;
            size_t kn = eq - i, vn = eq < end ? end - eq - 1 : 0;
            char *k = malloc(kn + 1), *v = malloc(vn + 1);
            size_t klen, vlen;
            int bad = !k || !v || srv_percent_decode(s + i, kn, 1, k, &klen) ||
                      srv_percent_decode(s + eq + (eq < end), vn, 1, v, &vlen) ||
                      params_add(p, k, klen, v, vlen);
            free(k);
            free(v);
            if (bad)
                return -1;
        }
        i = end + 1;
    }
    return 0;
}

int srv_parse_target(const char *target, char *buf, char **seg, size_t *n_seg,
                     srv_params *query)
{
    *n_seg = 0;
    const char *q = strchr(target, '?');
    size_t path_len = q ? (size_t)(q - target) : strlen(target);
    if (q && srv_parse_query(q + 1, strlen(q + 1), query))
        return -1;
    size_t i = 0, o = 0;
    while (i < path_len) {
        while (i < path_len && target[i] == '/')
            i++;
        size_t end = i;
        while (end < path_len && target[end] != '/')
            end++;
        if (end == i)
            break;
        size_t len;
        if (srv_percent_decode(target + i, end - i, 0, buf + o, &len))
            return -1;
        /* a segment is a name: never a step up or down, never an embedded separator */
        if (memchr(buf + o, '/', len) || memchr(buf + o, '\0', len) ||
            strcmp(buf + o, ".") == 0 || strcmp(buf + o, "..") == 0)
            return -1;
        if (*n_seg == SRV_SEGMENTS_MAX)
            return -1;
        seg[(*n_seg)++] = buf + o;
        o += len + 1;
        i = end;
    }
    return 0;
}

/* ---- JSON ------------------------------------------------------------------------------- */

typedef struct json_in {
    const char *s;
    size_t n, i;
} json_in;

static void skip_space(json_in *j)
{
    while (j->i < j->n && (j->s[j->i] == ' ' || j->s[j->i] == '\t' || j->s[j->i] == '\n' ||
                           j->s[j->i] == '\r'))
        j->i++;
}

static int put_utf8(char *out, size_t *o, uint32_t c)
{
    if (c < 0x80) {
        out[(*o)++] = (char)c;
    } else if (c < 0x800) {
        out[(*o)++] = (char)(0xc0 | c >> 6);
        out[(*o)++] = (char)(0x80 | (c & 0x3f));
    } else if (c < 0x10000) {
        out[(*o)++] = (char)(0xe0 | c >> 12);
        out[(*o)++] = (char)(0x80 | ((c >> 6) & 0x3f));
        out[(*o)++] = (char)(0x80 | (c & 0x3f));
    } else if (c < 0x110000) {
        out[(*o)++] = (char)(0xf0 | c >> 18);
        out[(*o)++] = (char)(0x80 | ((c >> 12) & 0x3f));
        out[(*o)++] = (char)(0x80 | ((c >> 6) & 0x3f));
        out[(*o)++] = (char)(0x80 | (c & 0x3f));
    } else {
        return -1;
    }
    return 0;
}

static int hex4(json_in *j, uint32_t *out)
{
    if (j->n - j->i < 4)
        return -1;
    uint32_t v = 0;
    for (int k = 0; k < 4; k++) {
        int d = hex_digit(j->s[j->i + (size_t)k]);
        if (d < 0)
            return -1;
        v = v * 16 + (uint32_t)d;
    }
    j->i += 4;
    *out = v;
    return 0;
}

/* A JSON string at j->i (the opening quote) decoded into a malloc'd *out (*len bytes). The
 * decoded text is never longer than the source, so the source length bounds the buffer. */
static int json_string(json_in *j, char **out, size_t *len)
{
    if (j->i >= j->n || j->s[j->i] != '"')
        return -1;
    j->i++;
    char *buf = malloc(j->n - j->i + 1);
    if (!buf)
        return -1;
    size_t o = 0;
    while (j->i < j->n && j->s[j->i] != '"') {
        unsigned char c = (unsigned char)j->s[j->i++];
        if (c < 0x20)
            goto bad;
        if (c != '\\') {
            buf[o++] = (char)c;
            continue;
        }
        if (j->i >= j->n)
            goto bad;
        char e = j->s[j->i++];
        const char *simple = strchr("\"\\/bfnrt", e);
        if (e && simple) {
            static const char map[] = "\"\\/\b\f\n\r\t";
            buf[o++] = map[simple - "\"\\/bfnrt"];
        } else if (e == 'u') {
            uint32_t cp, lo;
            if (hex4(j, &cp))
                goto bad;
            if (cp >= 0xd800 && cp < 0xdc00) { /* a surrogate pair: \uD83D\uDE00 */
                if (j->n - j->i < 6 || j->s[j->i] != '\\' || j->s[j->i + 1] != 'u')
                    goto bad;
                j->i += 2;
                if (hex4(j, &lo) || lo < 0xdc00 || lo >= 0xe000)
                    goto bad;
                cp = 0x10000 + ((cp - 0xd800) << 10) + (lo - 0xdc00);
            } else if (cp >= 0xdc00 && cp < 0xe000) {
                goto bad;
            }
            /* \uXXXX is 6 source bytes and at most 3 output bytes; a pair, 12 and 4 */
            if (put_utf8(buf, &o, cp))
                goto bad;
        } else {
            goto bad;
        }
    }
    if (j->i >= j->n)
        goto bad;
    j->i++;
    buf[o] = '\0';
    *out = buf;
    *len = o;
    return 0;
bad:
    free(buf);
    return -1;
}

/* A number, true, false or null: its text span. */
static int json_scalar(json_in *j, size_t *start, size_t *len)
{
    *start = j->i;
    while (j->i < j->n && j->s[j->i] && strchr("0123456789+-.eEtruefalsn", j->s[j->i]))
        j->i++;
    *len = j->i - *start;
    if (*len == 0)
        return -1;
    const char *t = j->s + *start;
    if ((*len == 4 && !memcmp(t, "true", 4)) || (*len == 5 && !memcmp(t, "false", 5)) ||
        (*len == 4 && !memcmp(t, "null", 4)))
        return 0;
    /* a number: JSON's grammar, checked by hand */
    size_t k = 0;
    if (t[k] == '-')
        k++;
    if (k == *len || !(t[k] >= '0' && t[k] <= '9'))
        return -1;
    if (t[k] == '0')
        k++;
    else
        while (k < *len && t[k] >= '0' && t[k] <= '9')
            k++;
    if (k < *len && t[k] == '.') {
        k++;
        size_t d = k;
        while (k < *len && t[k] >= '0' && t[k] <= '9')
            k++;
        if (k == d)
            return -1;
    }
    if (k < *len && (t[k] == 'e' || t[k] == 'E')) {
        k++;
        if (k < *len && (t[k] == '+' || t[k] == '-'))
            k++;
        size_t d = k;
        while (k < *len && t[k] >= '0' && t[k] <= '9')
            k++;
        if (k == d)
            return -1;
    }
    return k == *len ? 0 : -1;
}

int srv_parse_json_object(const char *s, size_t n, srv_params *p)
{
    json_in j = {s, n, 0};
    skip_space(&j);
    if (j.i >= j.n || s[j.i++] != '{')
        return -1;
    skip_space(&j);
    if (j.i < j.n && s[j.i] == '}') {
        j.i++;
    } else {
        for (;;) {
            char *key = NULL, *val = NULL;
            size_t kn, vn, start;
            skip_space(&j);
            if (json_string(&j, &key, &kn))
                return -1;
            skip_space(&j);
            int bad = j.i >= j.n || s[j.i++] != ':';
            if (!bad) {
                skip_space(&j);
                if (j.i < j.n && s[j.i] == '"')
                    bad = json_string(&j, &val, &vn) || params_add(p, key, kn, val, vn);
                else
                    bad = json_scalar(&j, &start, &vn) || params_add(p, key, kn, s + start, vn);
            }
            free(key);
            free(val);
            if (bad)
                return -1;
            skip_space(&j);
            if (j.i < j.n && s[j.i] == ',') {
                j.i++;
                continue;
            }
            if (j.i < j.n && s[j.i] == '}') {
                j.i++;
                break;
            }
            return -1;
        }
    }
    skip_space(&j);
    return j.i == j.n ? 0 : -1;
}

/* ---- multipart/form-data ---------------------------------------------------------------- */

int srv_multipart_boundary(const char *content_type, char *buf, size_t size)
{
    static const char type[] = "multipart/form-data";
    if (!content_type || strncasecmp(content_type, type, sizeof type - 1) != 0)
        return -1;
    const char *b = content_type + sizeof type - 1;
    while ((b = strchr(b, ';')) != NULL) {
        b++;
        while (*b == ' ' || *b == '\t')
            b++;
        if (strncasecmp(b, "boundary=", 9) != 0)
            continue;
        b += 9;
        int quoted = *b == '"';
        b += quoted;
        size_t n = 0;
        while (b[n] && (quoted ? b[n] != '"' : (b[n] != ';' && b[n] != ' ')))
            n++;
        if (quoted && b[n] != '"')
            return -1;
        if (n == 0 || n > 70 || n + 1 > size)
            return -1;
        memcpy(buf, b, n);
        buf[n] = '\0';
        return 0;
    }
    return -1;
}

/* The first occurrence of needle (m bytes) in hay (n bytes), or NULL. */
static const char *find(const char *hay, size_t n, const char *needle, size_t m)
{
    if (m == 0 || n < m)
        return NULL;
    for (size_t i = 0; i + m <= n; i++) {
        const char *c = memchr(hay + i, needle[0], n - m - i + 1);
        if (!c)
            return NULL;
        i = (size_t)(c - hay);
        if (memcmp(c, needle, m) == 0)
            return c;
    }
    return NULL;
}

/* The value of param (e.g. "name") in a Content-Disposition header line (n bytes) into buf. */
static void header_param(const char *line, size_t n, const char *param, char *buf, size_t size)
{
    buf[0] = '\0';
    size_t pn = strlen(param);
    for (size_t i = 0; i + pn + 2 <= n; i++) {
        if ((i == 0 || line[i - 1] == ' ' || line[i - 1] == ';') &&
            strncasecmp(line + i, param, pn) == 0 && line[i + pn] == '=') {
            size_t v = i + pn + 1, k = 0;
            int quoted = v < n && line[v] == '"';
            v += quoted;
            while (v + k < n && (quoted ? line[v + k] != '"' : line[v + k] != ';'))
                k++;
            if (k + 1 > size)
                return;
            memcpy(buf, line + v, k);
            buf[k] = '\0';
            return;
        }
    }
}

/* Reads a part's header block (s .. n): its name and content type. */
static void part_headers(const char *s, size_t n, srv_part *part)
{
    size_t i = 0;
    while (i < n) {
        size_t end = i;
        while (end < n && s[end] != '\r')
            end++;
        const char *line = s + i;
        size_t len = end - i;
        if (len > 20 && strncasecmp(line, "content-disposition:", 20) == 0)
            header_param(line + 20, len - 20, "name", part->name, sizeof part->name);
        else if (len > 13 && strncasecmp(line, "content-type:", 13) == 0) {
            size_t k = 13;
            while (k < len && line[k] == ' ')
                k++;
            if (len - k < sizeof part->content_type) {
                memcpy(part->content_type, line + k, len - k);
                part->content_type[len - k] = '\0';
            }
        }
        i = end + 2;
    }
}

int srv_multipart_each(const char *body, size_t n, const char *boundary,
                       int (*visit)(const srv_part *part, void *ctx), void *ctx)
{
    char delim[80];
    size_t bn = strlen(boundary);
    if (bn == 0 || bn > 70)
        return -1;
    /* the first delimiter may start the body; later ones follow a CRLF */
    delim[0] = '\r', delim[1] = '\n', delim[2] = '-', delim[3] = '-';
    memcpy(delim + 4, boundary, bn);
    size_t dn = bn + 4;
    const char *p;
    if (n >= dn - 2 && memcmp(body, delim + 2, dn - 2) == 0)
        p = body + dn - 2;
    else if ((p = find(body, n, delim, dn)) != NULL)
        p += dn;
    else
        return -1;
    int visited = 0;
    for (;;) {
        size_t left = n - (size_t)(p - body);
        if (left >= 2 && p[0] == '-' && p[1] == '-')
            return visited; /* the closing delimiter */
        if (left < 2 || p[0] != '\r' || p[1] != '\n')
            return -1;
        p += 2;
        left -= 2;
        const char *hend = find(p, left, "\r\n\r\n", 4);
        const char *data = hend ? hend + 4 : NULL;
        if (left >= 2 && p[0] == '\r' && p[1] == '\n') /* a part with no headers */
            data = p + 2, hend = p;
        if (!data)
            return -1;
        const char *next = find(data, n - (size_t)(data - body), delim, dn);
        if (!next)
            return -1;
        srv_part part = {.data = data, .size = (size_t)(next - data)};
        part_headers(p, (size_t)(hend - p), &part);
        visited++;
        if (visit(&part, ctx))
            return visited;
        p = next + dn;
    }
}
