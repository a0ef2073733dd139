/* HTTP/1.1 request building and bounded, incremental response-head parsing. */
#include "ota_http.h"

#include <string.h>

#include "ota_util.h"

/* ---- request ---------------------------------------------------------------------------- */

struct http_out {
    char *buf;
    size_t cap;
    size_t len;
    bool overflow;
};

static void out_str(struct http_out *o, const char *s)
{
    size_t n = strlen(s);
    if (o->overflow || n >= o->cap - o->len) {
        o->overflow = true;
        return;
    }
    memcpy(o->buf + o->len, s, n);
    o->len += n;
    o->buf[o->len] = '\0';
}

static void out_u32(struct http_out *o, uint32_t v)
{
    char dec[11];
    (void)ota_u32_to_dec(dec, v);
    out_str(o, dec);
}

/* Refuse characters that would let a configured string inject header lines. */
static bool http_token_ok(const char *s)
{
    for (; *s != '\0'; s++) {
        if ((unsigned char)*s < 0x21 || (unsigned char)*s > 0x7e) {
            return false;
        }
    }
    return true;
}

int ota_http_build_get(char *buf, size_t cap, const char *host, uint16_t port, const char *path,
                       uint32_t from, const char *if_range)
{
    OTA_VERIFY(buf != NULL && cap > 0 && host != NULL && path != NULL, OTA_HTTP_ERR_ARG);
    OTA_VERIFY(host[0] != '\0' && path[0] == '/', OTA_HTTP_ERR_ARG);
    OTA_VERIFY(http_token_ok(host) && http_token_ok(path), OTA_HTTP_ERR_ARG);
    OTA_VERIFY(if_range == NULL || http_token_ok(if_range), OTA_HTTP_ERR_ARG);
    struct http_out o = {buf, cap, 0, false};
    buf[0] = '\0';
    out_str(&o, "GET ");
    out_str(&o, path);
    out_str(&o, " HTTP/1.1\r\nHost: ");
    out_str(&o, host);
    if (port != 80) {
        out_str(&o, ":");
        out_u32(&o, port);
    }
    out_str(&o, "\r\nUser-Agent: stm32-ota\r\n");
    if (from != OTA_HTTP_NO_RANGE) {
        out_str(&o, "Range: bytes=");
        out_u32(&o, from);
        out_str(&o, "-\r\n");
        if (if_range != NULL && if_range[0] != '\0') {
            out_str(&o, "If-Range: ");
            out_str(&o, if_range);
            out_str(&o, "\r\n");
        }
    }
    out_str(&o, "Connection: close\r\n\r\n");
    if (o.overflow) {
        return OTA_HTTP_ERR_TOO_BIG;
    }
    return (int)o.len;
}

/* ---- response head ---------------------------------------------------------------------- */

void ota_http_parser_init(struct ota_http_parser *p)
{
    memset(p, 0, sizeof(*p));
}

static char http_lower(char c)
{
    if (c >= 'A' && c <= 'Z') {
        return (char)(c - 'A' + 'a');
    }
    return c;
}

/* Case-insensitive match of a field name followed by ':'; returns the value with leading spaces
 * skipped, or NULL. */
static const char *http_field(const char *line, const char *name)
{
    size_t i = 0;
    for (; name[i] != '\0'; i++) {
        if (http_lower(line[i]) != name[i]) {
            return NULL;
        }
    }
    if (line[i] != ':') {
        return NULL;
    }
    i++;
    while (line[i] == ' ' || line[i] == '\t') {
        i++;
    }
    return &line[i];
}

/* Decimal u32 at *s, advancing it; false on no digits or overflow. */
static bool http_u32(const char **s, uint32_t *out)
{
    const char *c = *s;
    uint32_t v = 0;
    if (*c < '0' || *c > '9') {
        return false;
    }
    while (*c >= '0' && *c <= '9') {
        uint32_t d = (uint32_t)(*c - '0');
        if (v > (UINT32_MAX - d) / 10u) {
            return false;
        }
        v = v * 10u + d;
        c++;
    }
    *s = c;
    *out = v;
    return true;
}

static bool http_rest_blank(const char *s)
{
    while (*s == ' ' || *s == '\t') {
        s++;
    }
    return *s == '\0';
}

static bool http_contains_word(const char *s, const char *word)
{
    size_t n = strlen(word);
    for (; *s != '\0'; s++) {
        size_t i = 0;
        while (i < n && s[i] != '\0' && http_lower(s[i]) == word[i]) {
            i++;
        }
        if (i == n) {
            return true;
        }
    }
    return false;
}

static int http_status_line(struct ota_http_parser *p, const char *l)
{
    if (strncmp(l, "HTTP/1.", 7) != 0 || (l[7] != '0' && l[7] != '1')) {
        return OTA_HTTP_ERR_VERSION;
    }
    if (l[8] != ' ') {
        return OTA_HTTP_ERR_SYNTAX;
    }
    const char *c = &l[9];
    for (int i = 0; i < 3; i++) {
        if (c[i] < '0' || c[i] > '9') {
            return OTA_HTTP_ERR_SYNTAX;
        }
    }
    if (c[3] != ' ' && c[3] != '\0') {
        return OTA_HTTP_ERR_SYNTAX;
    }
    p->resp.status = (uint16_t)((c[0] - '0') * 100 + (c[1] - '0') * 10 + (c[2] - '0'));
    if (p->resp.status < 100) {
        return OTA_HTTP_ERR_SYNTAX;
    }
    p->resp.close = l[7] == '0'; /* HTTP/1.0 closes unless told otherwise */
    return OTA_HTTP_MORE;
}

static int http_field_line(struct ota_http_parser *p, const char *l)
{
    const char *v;
    if (l[0] == ' ' || l[0] == '\t') {
        return OTA_HTTP_ERR_SYNTAX; /* obsolete line folding */
    }
    if ((v = http_field(l, "content-length")) != NULL) {
        uint32_t n;
        if (!http_u32(&v, &n) || !http_rest_blank(v)) {
            return OTA_HTTP_ERR_LENGTH;
        }
        if (p->resp.has_length && p->resp.content_length != n) {
            return OTA_HTTP_ERR_LENGTH;
        }
        p->resp.has_length = true;
        p->resp.content_length = n;
    } else if ((v = http_field(l, "content-range")) != NULL) {
        uint32_t a;
        uint32_t b;
        uint32_t t;
        if (p->resp.has_range || strncmp(v, "bytes ", 6) != 0) {
            return OTA_HTTP_ERR_CONTENT_RANGE;
        }
        v += 6;
        if (!http_u32(&v, &a) || *v++ != '-' || !http_u32(&v, &b) || *v++ != '/' ||
            !http_u32(&v, &t) || !http_rest_blank(v) || a > b || b >= t) {
            return OTA_HTTP_ERR_CONTENT_RANGE;
        }
        p->resp.has_range = true;
        p->resp.range_first = a;
        p->resp.range_last = b;
        p->resp.range_total = t;
    } else if ((v = http_field(l, "transfer-encoding")) != NULL) {
        if (!http_contains_word(v, "identity") || http_contains_word(v, "chunked")) {
            p->resp.chunked = true;
        }
    } else if ((v = http_field(l, "connection")) != NULL) {
        if (http_contains_word(v, "close")) {
            p->resp.close = true;
        } else if (http_contains_word(v, "keep-alive")) {
            p->resp.close = false;
        }
    } else if ((v = http_field(l, "etag")) != NULL) {
        size_t n = strlen(v);
        while (n > 0 && (v[n - 1] == ' ' || v[n - 1] == '\t')) {
            n--;
        }
        if (n == 0 || n > OTA_HTTP_ETAG_MAX) {
            p->resp.etag[0] = '\0'; /* unusable: resume without If-Range protection */
        } else {
            memcpy(p->resp.etag, v, n);
            p->resp.etag[n] = '\0';
        }
    } else if (strchr(l, ':') == NULL || l[0] == ':') {
        return OTA_HTTP_ERR_SYNTAX;
    }
    return OTA_HTTP_MORE;
}

static int http_line(struct ota_http_parser *p)
{
    bool truncated = p->line_truncated;
    p->line[p->line_len] = '\0';
    p->line_len = 0;
    p->line_truncated = false;
    if (!p->in_fields) {
        if (truncated) {
            return OTA_HTTP_ERR_TOO_BIG;
        }
        p->in_fields = true;
        return http_status_line(p, p->line);
    }
    if (p->line[0] == '\0' && !truncated) {
        return OTA_HTTP_DONE;
    }
    if (++p->fields > OTA_HTTP_MAX_FIELDS) {
        return OTA_HTTP_ERR_TOO_BIG;
    }
    if (truncated) {
        /* Only fields we do not read may be long; one we read must fit. */
        static const char *const known[] = {"content-length", "content-range",
                                            "transfer-encoding", "connection", "etag"};
        for (size_t i = 0; i < OTA_ARRAY_SIZE(known); i++) {
            if (http_field(p->line, known[i]) != NULL) {
                return OTA_HTTP_ERR_TOO_BIG;
            }
        }
        return OTA_HTTP_MORE;
    }
    return http_field_line(p, p->line);
}

int ota_http_parse(struct ota_http_parser *p, const uint8_t *data, size_t len, size_t *used)
{
    OTA_VERIFY(p != NULL && used != NULL && (data != NULL || len == 0), OTA_HTTP_ERR_ARG);
    *used = 0;
    for (size_t i = 0; i < len; i++) {
        char c = (char)data[i];
        if (++p->head_bytes > OTA_HTTP_HEAD_MAX) {
            return OTA_HTTP_ERR_TOO_BIG;
        }
        *used = i + 1;
        if (c == '\n') {
            if (p->line_len > 0 && p->line[p->line_len - 1] == '\r') {
                p->line_len--;
            }
            int rc = http_line(p);
            if (rc != OTA_HTTP_MORE) {
                return rc;
            }
        } else if (c == '\0') {
            return OTA_HTTP_ERR_SYNTAX;
        } else if (p->line_len < OTA_HTTP_LINE_MAX - 1) {
            p->line[p->line_len++] = c;
        } else {
            p->line_truncated = true;
        }
    }
    return OTA_HTTP_MORE;
}

int ota_http_check(const struct ota_http_resp *r, uint32_t from, uint32_t *body_off,
                   uint32_t *image_size)
{
    OTA_VERIFY(r != NULL && body_off != NULL && image_size != NULL, OTA_HTTP_ERR_ARG);
    if (r->chunked) {
        return OTA_HTTP_ERR_CHUNKED;
    }
    switch (r->status) {
    case 200:
        if (!r->has_length || r->has_range) {
            return OTA_HTTP_ERR_LENGTH;
        }
        *body_off = 0;
        *image_size = r->content_length;
        return (from == OTA_HTTP_NO_RANGE || from == 0) ? OTA_HTTP_DONE : OTA_HTTP_RESTART;
    case 206:
        if (!r->has_range || from == OTA_HTTP_NO_RANGE || r->range_first != from ||
            r->range_last != r->range_total - 1u) {
            return OTA_HTTP_ERR_CONTENT_RANGE;
        }
        if (r->has_length && r->content_length != r->range_last - r->range_first + 1u) {
            return OTA_HTTP_ERR_LENGTH;
        }
        *body_off = r->range_first;
        *image_size = r->range_total;
        return OTA_HTTP_DONE;
    case 404:
        return OTA_HTTP_ERR_NOT_FOUND;
    case 416:
        return OTA_HTTP_ERR_RANGE;
    default:
        return OTA_HTTP_ERR_STATUS;
    }
}
