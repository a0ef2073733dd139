/*
 * Both request grammars are parsed strictly and without copying: the parsers only point into the
 * caller's buffer, every number is range-checked before it becomes a size, and anything outside the
 * documented forms is an error with a status, never a guess.
 */
#include "srv_proto.h"

#include <stdio.h>
#include <string.h>

/* ---------------------------------------------------------------- raw TCP */

static const char RAW_GET[] = "GET firmware";

static bool is_digit(char c)
{
    return c >= '0' && c <= '9';
}

static int hex_lower(char c)
{
    if (c >= '0' && c <= '9') {
        return c;
    }
    if (c >= 'a' && c <= 'f') {
        return c;
    }
    if (c >= 'A' && c <= 'F') {
        return c - 'A' + 'a';
    }
    return -1;
}

/* Decimal without sign or leading '+'; *v saturates at UINT64_MAX / 10 scale (callers bound it). */
static size_t parse_u64(const char *s, size_t len, uint64_t *v)
{
    size_t i = 0;
    uint64_t acc = 0;
    while (i < len && is_digit(s[i])) {
        if (acc > (UINT64_MAX - 9u) / 10u) {
            acc = UINT64_MAX; /* saturate: larger than any size we handle */
        } else {
            acc = acc * 10u + (uint64_t)(s[i] - '0');
        }
        i++;
    }
    *v = acc;
    return i;
}

int raw_parse_request(const char *buf, size_t len, struct raw_req *req)
{
    memset(req, 0, sizeof(*req));
    size_t scan = len < RAW_MAX_LINE ? len : RAW_MAX_LINE;
    const char *nl = memchr(buf, '\n', scan);
    if (nl == NULL) {
        return len >= RAW_MAX_LINE ? RAW_ERR_BAD : RAW_INCOMPLETE;
    }
    size_t line_len = (size_t)(nl - buf);
    req->line_len = line_len + 1u;
    if (line_len > 0u && buf[line_len - 1u] == '\r') {
        line_len--;
    }
    size_t get_len = sizeof(RAW_GET) - 1u;
    if (line_len < get_len || memcmp(buf, RAW_GET, get_len) != 0) {
        return RAW_ERR_BAD;
    }
    size_t i = get_len;
    if (i == line_len) {
        return RAW_OK; /* the tutorial's request: image from 0, no response line */
    }
    if (buf[i] != ' ') {
        return RAW_ERR_BAD;
    }
    i++;
    uint64_t off = 0;
    size_t n = parse_u64(buf + i, line_len - i, &off);
    if (n == 0u || n > 10u || off > UINT32_MAX) {
        return RAW_ERR_BAD;
    }
    req->resume = true;
    req->offset = (uint32_t)off;
    i += n;
    if (i == line_len) {
        return RAW_OK;
    }
    if (buf[i] != ' ' || line_len - i - 1u != 64u) {
        return RAW_ERR_BAD;
    }
    i++;
    for (size_t k = 0; k < 64u; k++) {
        int c = hex_lower(buf[i + k]);
        if (c < 0) {
            return RAW_ERR_BAD;
        }
        req->etag[k] = (char)c;
    }
    req->etag[64] = '\0';
    req->has_etag = true;
    return RAW_OK;
}

int raw_check_request(const struct raw_req *req, uint32_t size, const char *etag)
{
    if (req->has_etag && strcmp(req->etag, etag) != 0) {
        return RAW_ERR_CHANGED;
    }
    if (req->resume && req->offset > size) {
        return RAW_ERR_OFFSET;
    }
    return RAW_OK;
}

static size_t finish(int n, size_t cap)
{
    return (n < 0 || (size_t)n >= cap) ? 0u : (size_t)n;
}

size_t raw_format_ok(char *out, size_t cap, uint32_t offset, uint32_t size, const char *etag)
{
    return finish(snprintf(out, cap, "OK %lu %lu %s\r\n", (unsigned long)offset,
                           (unsigned long)size, etag),
                  cap);
}

size_t raw_format_err(char *out, size_t cap, int code, uint32_t size)
{
    switch (code) {
    case RAW_ERR_BAD: return finish(snprintf(out, cap, "ERR 400 bad-request\r\n"), cap);
    case RAW_ERR_CHANGED: return finish(snprintf(out, cap, "ERR 412 image-changed\r\n"), cap);
    case RAW_ERR_OFFSET:
        return finish(snprintf(out, cap, "ERR 416 offset-past-end %lu\r\n", (unsigned long)size),
                      cap);
    case RAW_ERR_BUSY: return finish(snprintf(out, cap, "ERR 503 busy\r\n"), cap);
    default: return 0u;
    }
}

/* ---------------------------------------------------------------- HTTP/1.1 */

/* RFC 9110 tchar. */
static bool is_tchar(char c)
{
    if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || is_digit(c)) {
        return true;
    }
    return c != '\0' && strchr("!#$%&'*+-.^_`|~", c) != NULL;
}

static bool ieq(const char *a, size_t alen, const char *lit)
{
    size_t n = strlen(lit);
    if (alen != n) {
        return false;
    }
    for (size_t i = 0; i < n; i++) {
        char c = a[i];
        if (c >= 'A' && c <= 'Z') {
            c = (char)(c - 'A' + 'a');
        }
        if (c != lit[i]) {
            return false;
        }
    }
    return true;
}

/* Finds the next line [start, *end) (CR stripped); returns the offset after its LF, or 0. */
static size_t next_line(const char *buf, size_t len, size_t start, size_t *end)
{
    const char *nl = memchr(buf + start, '\n', len - start);
    if (nl == NULL) {
        return 0u;
    }
    size_t e = (size_t)(nl - buf);
    size_t after = e + 1u;
    if (e > start && buf[e - 1u] == '\r') {
        e--;
    }
    *end = e;
    return after;
}

static int parse_request_line(const char *s, size_t len, struct http_req *req)
{
    size_t i = 0;
    while (i < len && is_tchar(s[i])) {
        i++;
    }
    if (i == 0u || i >= len || s[i] != ' ') {
        return 400;
    }
    if (i == 3u && memcmp(s, "GET", 3) == 0) {
        req->method = HTTP_M_GET;
    } else if (i == 4u && memcmp(s, "HEAD", 4) == 0) {
        req->method = HTTP_M_HEAD;
    } else {
        req->method = HTTP_M_OTHER;
    }
    size_t t = ++i;
    while (i < len && (unsigned char)s[i] > 0x20u && s[i] != 0x7f) {
        i++;
    }
    if (i == t || i >= len || s[i] != ' ') {
        return 400;
    }
    req->path_ok = (i - t == 9u && memcmp(s + t, "/firmware", 9) == 0);
    i++;
    size_t vlen = len - i;
    const char *v = s + i;
    if (vlen != 8u || memcmp(v, "HTTP/", 5) != 0 || !is_digit(v[5]) || v[6] != '.' ||
        !is_digit(v[7])) {
        return 400;
    }
    if (v[5] != '1') {
        return 505;
    }
    req->minor = v[7] - '0';
    return 0;
}

/* Connection: a comma-separated list of tokens. */
static void parse_connection(const char *v, size_t len, bool *close, bool *keep_alive)
{
    size_t i = 0;
    while (i < len) {
        while (i < len && (v[i] == ' ' || v[i] == '\t' || v[i] == ',')) {
            i++;
        }
        size_t t = i;
        while (i < len && v[i] != ',' && v[i] != ' ' && v[i] != '\t') {
            i++;
        }
        if (ieq(v + t, i - t, "close")) {
            *close = true;
        } else if (ieq(v + t, i - t, "keep-alive")) {
            *keep_alive = true;
        }
    }
}

static int parse_header(const char *s, size_t len, struct http_req *req, unsigned *hosts,
                        bool *close, bool *keep_alive, uint64_t *content_length, bool *have_cl)
{
    if (s[0] == ' ' || s[0] == '\t') {
        return 400; /* obsolete line folding */
    }
    size_t i = 0;
    while (i < len && is_tchar(s[i])) {
        i++;
    }
    if (i == 0u || i >= len || s[i] != ':') {
        return 400;
    }
    size_t name_len = i++;
    while (i < len && (s[i] == ' ' || s[i] == '\t')) {
        i++;
    }
    size_t vend = len;
    while (vend > i && (s[vend - 1u] == ' ' || s[vend - 1u] == '\t')) {
        vend--;
    }
    for (size_t k = i; k < vend; k++) {
        unsigned char c = (unsigned char)s[k];
        if ((c < 0x20u && c != '\t') || c == 0x7fu) {
            return 400;
        }
    }
    const char *v = s + i;
    size_t vlen = vend - i;
    if (ieq(s, name_len, "host")) {
        (*hosts)++;
    } else if (ieq(s, name_len, "connection")) {
        parse_connection(v, vlen, close, keep_alive);
    } else if (ieq(s, name_len, "range")) {
        if (req->range != NULL) {
            return 400;
        }
        req->range = v;
        req->range_len = vlen;
    } else if (ieq(s, name_len, "if-range")) {
        if (req->if_range != NULL) {
            return 400;
        }
        req->if_range = v;
        req->if_range_len = vlen;
    } else if (ieq(s, name_len, "content-length")) {
        uint64_t n = 0;
        if (vlen == 0u || parse_u64(v, vlen, &n) != vlen || (*have_cl && n != *content_length)) {
            return 400;
        }
        *have_cl = true;
        *content_length = n;
        if (n > 0u) {
            req->has_body = true;
        }
    } else if (ieq(s, name_len, "transfer-encoding")) {
        req->has_body = true;
    }
    return 0;
}

int http_parse_request(const char *buf, size_t len, struct http_req *req)
{
    memset(req, 0, sizeof(*req));
    size_t pos = 0;
    /* RFC 9112 2.2: empty lines before the request line are skipped. */
    while (pos < len && (buf[pos] == '\r' || buf[pos] == '\n')) {
        pos++;
    }
    size_t end = 0;
    size_t after = 0;
    size_t limit = len < HTTP_MAX_REQUEST ? len : HTTP_MAX_REQUEST;
    /* First pass: find the blank line inside the size limit. */
    size_t p = pos;
    bool first = true;
    size_t head_end = 0;
    while (p < limit) {
        after = next_line(buf, limit, p, &end);
        if (after == 0u) {
            break;
        }
        if (!first && end == p) {
            head_end = after;
            break;
        }
        first = false;
        p = after;
    }
    if (head_end == 0u) {
        if (len >= HTTP_MAX_REQUEST) {
            req->error = 431;
            req->req_len = len;
            return HTTP_PARSED;
        }
        return HTTP_INCOMPLETE;
    }
    req->req_len = head_end;
    after = next_line(buf, head_end, pos, &end);
    int rc = parse_request_line(buf + pos, end - pos, req);
    if (rc != 0) {
        req->error = rc;
        return HTTP_PARSED;
    }
    unsigned hosts = 0;
    bool close = false;
    bool keep_alive = false;
    bool have_cl = false;
    uint64_t content_length = 0;
    p = after;
    for (;;) {
        after = next_line(buf, head_end, p, &end);
        if (end == p) {
            break; /* the blank line */
        }
        rc = parse_header(buf + p, end - p, req, &hosts, &close, &keep_alive, &content_length,
                          &have_cl);
        if (rc != 0) {
            req->error = rc;
            return HTTP_PARSED;
        }
        p = after;
    }
    if (hosts > 1u || (req->minor >= 1 && hosts == 0u)) {
        req->error = 400; /* RFC 9112 3.2 */
        return HTTP_PARSED;
    }
    req->conn_close = req->minor >= 1 ? close : (close || !keep_alive);
    return HTTP_PARSED;
}

int http_range_resolve(const char *spec, size_t len, uint32_t size, uint32_t *first, uint32_t *last)
{
    const char *eq = memchr(spec, '=', len);
    if (eq == NULL || eq == spec) {
        return HTTP_RANGE_BAD;
    }
    size_t unit_len = (size_t)(eq - spec);
    for (size_t i = 0; i < unit_len; i++) {
        if (!is_tchar(spec[i])) {
            return HTTP_RANGE_BAD;
        }
    }
    if (!ieq(spec, unit_len, "bytes")) {
        return HTTP_RANGE_IGNORE; /* RFC 9110 14.2: unknown units are ignored */
    }
    const char *s = eq + 1;
    size_t n = len - unit_len - 1u;
    if (memchr(s, ',', n) != NULL) {
        return HTTP_RANGE_IGNORE; /* several ranges: the whole image instead */
    }
    if (n == 0u) {
        return HTTP_RANGE_BAD;
    }
    uint64_t a = 0;
    uint64_t b = 0;
    if (s[0] == '-') {
        size_t k = parse_u64(s + 1, n - 1u, &b);
        if (k == 0u || k != n - 1u) {
            return HTTP_RANGE_BAD;
        }
        if (b == 0u) {
            return HTTP_RANGE_UNSAT;
        }
        *first = b >= size ? 0u : (uint32_t)(size - b);
        *last = size - 1u;
        return HTTP_RANGE_OK;
    }
    size_t k = parse_u64(s, n, &a);
    if (k == 0u || k >= n || s[k] != '-') {
        return HTTP_RANGE_BAD;
    }
    size_t rest = n - k - 1u;
    if (rest == 0u) {
        b = UINT64_MAX;
    } else if (parse_u64(s + k + 1u, rest, &b) != rest) {
        return HTTP_RANGE_BAD;
    }
    if (b < a || a >= size) {
        return HTTP_RANGE_UNSAT;
    }
    *first = (uint32_t)a;
    *last = b >= size ? size - 1u : (uint32_t)b;
    return HTTP_RANGE_OK;
}

/* If-Range holds: a strong match of our quoted ETag (dates and weak tags never match). */
static bool if_range_holds(const struct http_req *req, const char *etag)
{
    size_t elen = strlen(etag);
    return req->if_range_len == elen + 2u && req->if_range[0] == '"' &&
           req->if_range[elen + 1u] == '"' && memcmp(req->if_range + 1, etag, elen) == 0;
}

void http_plan_response(const struct http_req *req, uint32_t size, const char *etag,
                        struct http_plan *plan)
{
    memset(plan, 0, sizeof(*plan));
    plan->head = req->method == HTTP_M_HEAD;
    plan->close = req->conn_close;
    plan->keep_alive_header = req->minor == 0 && !req->conn_close;
    if (req->error != 0) {
        plan->status = req->error;
        plan->close = true;
        plan->keep_alive_header = false;
        return;
    }
    if (req->has_body) {
        /* The body is never read: answer, then close so it cannot be taken for a request. */
        plan->status = !req->path_ok ? 404 : (req->method == HTTP_M_OTHER ? 405 : 400);
        plan->close = true;
        plan->keep_alive_header = false;
        return;
    }
    if (!req->path_ok) {
        plan->status = 404;
        return;
    }
    if (req->method == HTTP_M_OTHER) {
        plan->status = 405;
        return;
    }
    plan->status = 200;
    plan->first = 0;
    plan->length = size;
    if (req->range != NULL && (req->if_range == NULL || if_range_holds(req, etag))) {
        uint32_t a = 0;
        uint32_t b = 0;
        int rc = http_range_resolve(req->range, req->range_len, size, &a, &b);
        if (rc == HTTP_RANGE_OK) {
            plan->status = 206;
            plan->first = a;
            plan->length = b - a + 1u;
        } else if (rc == HTTP_RANGE_UNSAT) {
            plan->status = 416;
            plan->length = 0;
        } else if (rc == HTTP_RANGE_BAD) {
            plan->status = 400;
            plan->length = 0;
            plan->close = true;
            plan->keep_alive_header = false;
        }
    }
    plan->send_body = !plan->head && (plan->status == 200 || plan->status == 206);
}

const char *http_reason(int status)
{
    switch (status) {
    case 200: return "OK";
    case 206: return "Partial Content";
    case 400: return "Bad Request";
    case 404: return "Not Found";
    case 405: return "Method Not Allowed";
    case 416: return "Range Not Satisfiable";
    case 431: return "Request Header Fields Too Large";
    case 503: return "Service Unavailable";
    case 505: return "HTTP Version Not Supported";
    default: return "Error";
    }
}

size_t http_format_head(const struct http_plan *plan, uint32_t size, const char *etag,
                        const char *date, char *out, size_t cap)
{
    size_t n = 0;
#define PUT(...)                                                                                   \
    do {                                                                                           \
        int w_ = snprintf(out + n, cap - n, __VA_ARGS__);                                          \
        if (w_ < 0 || (size_t)w_ >= cap - n) {                                                     \
            return 0u;                                                                             \
        }                                                                                          \
        n += (size_t)w_;                                                                           \
    } while (0)
    if (cap == 0u) {
        return 0u;
    }
    PUT("HTTP/1.1 %d %s\r\nServer: otaserver\r\n", plan->status, http_reason(plan->status));
    if (date != NULL) {
        PUT("Date: %s\r\n", date);
    }
    bool ok = plan->status == 200 || plan->status == 206;
    char body[64] = "";
    if (ok) {
        PUT("Content-Type: application/octet-stream\r\nAccept-Ranges: bytes\r\nETag: \"%s\"\r\n"
            "Content-Length: %lu\r\n",
            etag, (unsigned long)plan->length);
        if (plan->status == 206) {
            PUT("Content-Range: bytes %lu-%lu/%lu\r\n", (unsigned long)plan->first,
                (unsigned long)(plan->first + plan->length - 1u), (unsigned long)size);
        }
    } else {
        int w = snprintf(body, sizeof(body), "%d %s\n", plan->status, http_reason(plan->status));
        if (w < 0 || (size_t)w >= sizeof(body)) {
            return 0u;
        }
        if (plan->status == 416) {
            PUT("Content-Range: bytes */%lu\r\n", (unsigned long)size);
        }
        if (plan->status == 405) {
            PUT("Allow: GET, HEAD\r\n");
        }
        PUT("Content-Type: text/plain\r\nContent-Length: %zu\r\n", strlen(body));
    }
    if (plan->close) {
        PUT("Connection: close\r\n");
    } else if (plan->keep_alive_header) {
        PUT("Connection: keep-alive\r\n");
    }
    PUT("\r\n");
    if (!ok && !plan->head) {
        PUT("%s", body);
    }
#undef PUT
    return n;
}
