/*
 * libFuzzer harness: the HTTP response-head parser and check (lib/ota/ota_http.h), and the request
 * builder.
 *
 * Input: [0..3] the request's `from` (bit 7 of [4] set: OTA_HTTP_NO_RANGE, bit 6: 0, bit 3: the
 * first byte of the range the response names), [4] flags, [5] chunking seed, then the response
 * bytes, after one of a few fixed beginnings chosen by bits 0-2 of [4] (so that the fields the
 * parser reads are reached without a dictionary). Bit 5 of [4] fuzzes the request builder instead.
 * Checked:
 *   - the same bytes fed in one call and in arbitrary pieces give the same result, the same number
 *     of head bytes and the same parsed fields (the network may cut a head anywhere);
 *   - MORE consumes everything it was given; nothing past OTA_HTTP_HEAD_MAX is consumed;
 *   - DONE means the consumed bytes are a status line "HTTP/1.x NNN", field lines without NUL, and
 *     an empty line at their very end; Content-Length and Content-Range, when the head carries
 *     them, agree with lines found here by a separate scan; chunked only with Transfer-Encoding;
 *   - ota_http_check() returns a named code consistent with the fields: a 200 only for a request
 *     from 0 (else RESTART), a 206 only for exactly the range asked up to the end, a body offset and
 *     an image size taken from those fields, 404/416 named as such, chunked always refused.
 *   - ota_http_build_get() with strings from the input either refuses them (a byte outside
 *     0x21..0x7E, an empty host, a path without '/', a buffer too small) or writes exactly the
 *     request assembled here with snprintf, never past the buffer.
 * Any failed check aborts (a finding).
 */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ota_http.h"
#include "ota_util.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check(int cond)
{
    if (!cond) {
        abort();
    }
}

static uint32_t rnd(uint32_t *s)
{
    uint32_t x = *s != 0 ? *s : 0x9E3779B9u;
    x ^= x << 13;
    x ^= x >> 17;
    x ^= x << 5;
    *s = x;
    return x;
}

static bool same_resp(const struct ota_http_resp *a, const struct ota_http_resp *b)
{
    return a->status == b->status && a->has_length == b->has_length &&
           a->has_range == b->has_range && a->chunked == b->chunked && a->close == b->close &&
           a->content_length == b->content_length && a->range_first == b->range_first &&
           a->range_last == b->range_last && a->range_total == b->range_total &&
           strcmp(a->etag, b->etag) == 0;
}

static char lower(char c)
{
    if (c >= 'A' && c <= 'Z') {
        return (char)(c - 'A' + 'a');
    }
    return c;
}

/* Value of field `name` (lower case) in one line of len bytes, or NULL. */
static const char *line_field(const char *l, size_t len, const char *name)
{
    size_t n = strlen(name);
    if (len <= n || l[n] != ':') {
        return NULL;
    }
    for (size_t i = 0; i < n; i++) {
        if (lower(l[i]) != name[i]) {
            return NULL;
        }
    }
    const char *v = &l[n + 1];
    while (*v == ' ' || *v == '\t') {
        v++;
    }
    return v;
}

static uint64_t dec(const char **s)
{
    uint64_t v = 0;
    while (**s >= '0' && **s <= '9' && v < 0x100000000ull) {
        v = v * 10u + (uint64_t)(**s - '0');
        (*s)++;
    }
    return v;
}

/* A separate scan of a complete head (head bytes, NUL-free): checks what the parser reported. */
static void check_head(const uint8_t *h, size_t used, const struct ota_http_resp *r)
{
    static char copy[OTA_HTTP_HEAD_MAX + 1];
    check(used >= 2 && used <= OTA_HTTP_HEAD_MAX);
    memcpy(copy, h, used);
    copy[used] = '\0';
    check(strlen(copy) == used); /* no NUL inside a head */
    /* Ends in an empty line. */
    check(copy[used - 1] == '\n');
    check(copy[used - 2] == '\n' || (used >= 3 && copy[used - 2] == '\r' && copy[used - 3] == '\n'));
    /* Status line. */
    check(strncmp(copy, "HTTP/1.", 7) == 0 && (copy[7] == '0' || copy[7] == '1') && copy[8] == ' ');
    check(r->status == (uint16_t)((copy[9] - '0') * 100 + (copy[10] - '0') * 10 + (copy[11] - '0')));
    check(r->status >= 100 && r->status <= 999);

    bool saw_length = false;
    bool saw_range = false;
    bool saw_te = false;
    char *l = strchr(copy, '\n') + 1;
    while (*l != '\0') {
        char *nl = strchr(l, '\n');
        check(nl != NULL);
        size_t len = (size_t)(nl - l);
        if (len > 0 && l[len - 1] == '\r') {
            len--;
        }
        l[len] = '\0';
        const char *v;
        if ((v = line_field(l, len, "content-length")) != NULL) {
            saw_length = true;
            check(r->has_length && r->content_length == dec(&v));
        } else if ((v = line_field(l, len, "content-range")) != NULL) {
            saw_range = true;
            check(r->has_range && strncmp(v, "bytes ", 6) == 0);
            v += 6;
            check(r->range_first == dec(&v) && *v++ == '-');
            check(r->range_last == dec(&v) && *v++ == '/');
            check(r->range_total == dec(&v));
        } else if (line_field(l, len, "transfer-encoding") != NULL) {
            saw_te = true;
        }
        l = nl + 1;
    }
    check(saw_length == r->has_length);
    check(saw_range == r->has_range);
    check(!r->chunked || saw_te);
    if (r->has_range) {
        check(r->range_first <= r->range_last && r->range_last < r->range_total);
    }
}

static void check_verdict(const struct ota_http_resp *r, uint32_t from)
{
    uint32_t body_off = 0xDEADBEEFu;
    uint32_t image_size = 0xDEADBEEFu;
    int rc = ota_http_check(r, from, &body_off, &image_size);
    if (r->chunked) {
        check(rc == OTA_HTTP_ERR_CHUNKED);
        return;
    }
    switch (rc) {
    case OTA_HTTP_DONE:
        if (r->status == 200) {
            check(from == 0 || from == OTA_HTTP_NO_RANGE);
            check(r->has_length && !r->has_range && body_off == 0 &&
                  image_size == r->content_length);
        } else {
            check(r->status == 206 && r->has_range && from != OTA_HTTP_NO_RANGE);
            check(body_off == from && r->range_first == from && image_size == r->range_total);
            check(r->range_last == image_size - 1u && body_off < image_size);
            check(!r->has_length || r->content_length == image_size - body_off);
        }
        break;
    case OTA_HTTP_RESTART:
        check(r->status == 200 && r->has_length && !r->has_range);
        check(from != 0 && from != OTA_HTTP_NO_RANGE);
        check(body_off == 0 && image_size == r->content_length);
        break;
    case OTA_HTTP_ERR_LENGTH:
        check(r->status == 200 || r->status == 206);
        break;
    case OTA_HTTP_ERR_CONTENT_RANGE:
        check(r->status == 206);
        break;
    case OTA_HTTP_ERR_NOT_FOUND:
        check(r->status == 404);
        break;
    case OTA_HTTP_ERR_RANGE:
        check(r->status == 416);
        break;
    case OTA_HTTP_ERR_STATUS:
        check(r->status != 200 && r->status != 206 && r->status != 404 && r->status != 416);
        break;
    default:
        check(0);
    }
    if (rc != OTA_HTTP_DONE && rc != OTA_HTTP_RESTART) {
        check(body_off == 0xDEADBEEFu && image_size == 0xDEADBEEFu); /* untouched on refusal */
    }
}

static bool token_ok(const char *s)
{
    for (; *s != '\0'; s++) {
        if ((unsigned char)*s < 0x21 || (unsigned char)*s > 0x7e) {
            return false;
        }
    }
    return true;
}

/* Three short strings cut from the input, and a buffer size. */
static void fuzz_build(const uint8_t *d, size_t n, uint32_t from)
{
    char host[40];
    char path[64];
    char tag[40];
    char *str[3] = {host, path, tag};
    size_t cap[3] = {sizeof host, sizeof path, sizeof tag};
    size_t at = 0;
    for (int k = 0; k < 3; k++) {
        size_t len = at < n ? d[at++] % cap[k] : 0;
        size_t i = 0;
        for (; i < len && at < n; i++) {
            str[k][i] = (char)(d[at] == 0 ? 'x' : d[at]);
            at++;
        }
        str[k][i] = '\0';
    }
    size_t bufcap = at < n ? 1u + d[at] : 224u;
    uint16_t port = (uint16_t)(at + 1 < n ? ota_get_le16(&d[at]) : 80u);
    static char buf[256];
    static char want[512];
    memset(buf, 0x55, sizeof buf);
    const char *if_range = (from & 1u) ? tag : NULL;
    int rc = ota_http_build_get(buf, bufcap, host, port, path, from, if_range);

    bool arg_ok = host[0] != '\0' && path[0] == '/' && token_ok(host) && token_ok(path) &&
                  (if_range == NULL || token_ok(if_range));
    if (!arg_ok) {
        check(rc == OTA_HTTP_ERR_ARG);
        return;
    }
    char portpart[8] = "";
    if (port != 80) {
        (void)snprintf(portpart, sizeof portpart, ":%u", (unsigned)port);
    }
    char range[96] = "";
    if (from != OTA_HTTP_NO_RANGE) {
        if (if_range != NULL && if_range[0] != '\0') {
            (void)snprintf(range, sizeof range, "Range: bytes=%lu-\r\nIf-Range: %s\r\n",
                           (unsigned long)from, if_range);
        } else {
            (void)snprintf(range, sizeof range, "Range: bytes=%lu-\r\n", (unsigned long)from);
        }
    }
    int wn = snprintf(want, sizeof want,
                      "GET %s HTTP/1.1\r\nHost: %s%s\r\nUser-Agent: stm32-ota\r\n%sConnection: "
                      "close\r\n\r\n",
                      path, host, portpart, range);
    check(wn > 0 && (size_t)wn < sizeof want);
    if ((size_t)wn >= bufcap) {
        check(rc == OTA_HTTP_ERR_TOO_BIG);
    } else {
        check(rc == wn && strcmp(buf, want) == 0);
    }
    for (size_t i = bufcap; i < sizeof buf; i++) {
        check(buf[i] == 0x55); /* nothing written past the buffer it was given */
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 6) {
        return 0;
    }
    uint32_t from = ota_get_le32(data);
    if (data[4] & 0x80u) {
        from = OTA_HTTP_NO_RANGE;
    } else if (data[4] & 0x40u) {
        from = 0;
    }
    uint32_t seed = data[5] * 0x01000193u + 7u;
    if (data[4] & 0x20u) {
        fuzz_build(data + 6, size - 6, from);
        return 0;
    }
    static const char *const starts[8] = {
        "",
        "HTTP/1.1 200 OK\r\nContent-Length: ",
        "HTTP/1.1 206 Partial Content\r\nContent-Range: bytes ",
        "HTTP/1.1 206 Partial Content\r\nContent-Length: 10\r\nContent-Range: bytes ",
        "HTTP/1.1 200 OK\r\nTransfer-Encoding: ",
        "HTTP/1.0 404 Not Found\r\nConnection: ",
        "HTTP/1.1 206 Partial Content\r\nETag: ",
        "HTTP/1.1 416 Range Not Satisfiable\r\n",
    };
    static uint8_t head[OTA_HTTP_HEAD_MAX * 2u];
    size_t sn = strlen(starts[data[4] & 7u]);
    if (size - 6 > sizeof head - sn) {
        return 0;
    }
    memcpy(head, starts[data[4] & 7u], sn);
    memcpy(head + sn, data + 6, size - 6);
    const uint8_t *h = head;
    size_t n = sn + size - 6;

    /* One call. */
    static struct ota_http_parser one;
    ota_http_parser_init(&one);
    size_t used1 = 0;
    int rc1 = ota_http_parse(&one, h, n, &used1);
    check(rc1 == OTA_HTTP_MORE || rc1 == OTA_HTTP_DONE ||
          (rc1 <= OTA_HTTP_ERR_SYNTAX && rc1 >= OTA_HTTP_ERR_CHUNKED));
    check(used1 <= n);
    if (rc1 == OTA_HTTP_MORE) {
        check(used1 == n);
    }

    /* Pieces. */
    static struct ota_http_parser many;
    ota_http_parser_init(&many);
    size_t at = 0;
    int rc2 = OTA_HTTP_MORE;
    do {
        uint32_t r = rnd(&seed);
        size_t k = (r & 1u) ? r % 4u : r % 300u;
        k = k < n - at ? k : n - at;
        size_t used = 0;
        rc2 = ota_http_parse(&many, h + at, k, &used);
        check(used <= k);
        if (rc2 == OTA_HTTP_MORE) {
            check(used == k);
        }
        at += used;
    } while (rc2 == OTA_HTTP_MORE && at < n);
    check(rc2 == rc1 && at == used1);
    check(same_resp(&one.resp, &many.resp));
    check(one.head_bytes <= OTA_HTTP_HEAD_MAX + 1u);

    if (rc1 != OTA_HTTP_DONE) {
        return 0;
    }
    if ((data[4] & 0x08u) && !(data[4] & 0xC0u)) {
        from = one.resp.range_first;
    }
    check_head(h, used1, &one.resp);
    check_verdict(&one.resp, from);
    return 0;
}
