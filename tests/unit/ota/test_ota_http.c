/* HTTP request building and response-head parsing: every split of the input, hostile heads. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "ota_http.h"

static void test_build_get_with_range(void **state)
{
    (void)state;
    char buf[256];
    int n = ota_http_build_get(buf, sizeof buf, "fw.example", 8080, "/firmware", 4096,
                               "\"abc123\"");
    const char *want = "GET /firmware HTTP/1.1\r\nHost: fw.example:8080\r\n"
                       "User-Agent: stm32-ota\r\nRange: bytes=4096-\r\nIf-Range: \"abc123\"\r\n"
                       "Connection: close\r\n\r\n";
    assert_int_equal(n, (int)strlen(want));
    assert_string_equal(buf, want);

    n = ota_http_build_get(buf, sizeof buf, "10.0.0.2", 80, "/fw.img", OTA_HTTP_NO_RANGE, NULL);
    assert_string_equal(buf, "GET /fw.img HTTP/1.1\r\nHost: 10.0.0.2\r\nUser-Agent: stm32-ota\r\n"
                             "Connection: close\r\n\r\n");
    assert_int_equal(n, (int)strlen(buf));
}

static void test_build_get_refuses_bad_input(void **state)
{
    (void)state;
    char buf[256];
    char small[40];
    assert_int_equal(ota_http_build_get(small, sizeof small, "h", 80, "/firmware", 0, NULL),
                     OTA_HTTP_ERR_TOO_BIG);
    assert_int_equal(ota_http_build_get(buf, sizeof buf, "h\r\nX: y", 80, "/f", 0, NULL),
                     OTA_HTTP_ERR_ARG);
    assert_int_equal(ota_http_build_get(buf, sizeof buf, "h", 80, "/f x", 0, NULL),
                     OTA_HTTP_ERR_ARG);
    assert_int_equal(ota_http_build_get(buf, sizeof buf, "h", 80, "firmware", 0, NULL),
                     OTA_HTTP_ERR_ARG);
    assert_int_equal(ota_http_build_get(buf, sizeof buf, "", 80, "/f", 0, NULL), OTA_HTTP_ERR_ARG);
    assert_int_equal(ota_http_build_get(buf, sizeof buf, "h", 80, "/f", 5, "a\nb"),
                     OTA_HTTP_ERR_ARG);
}

/* Parse `head` fed in pieces of `step` bytes; returns the final status and the bytes used. */
static int parse_split(const char *head, size_t step, struct ota_http_parser *p, size_t *used_total)
{
    ota_http_parser_init(p);
    size_t len = strlen(head);
    size_t off = 0;
    int rc = OTA_HTTP_MORE;
    *used_total = 0;
    while (off < len && rc == OTA_HTTP_MORE) {
        size_t n = step < len - off ? step : len - off;
        size_t used = 0;
        rc = ota_http_parse(p, (const uint8_t *)head + off, n, &used);
        assert_true(used <= n);
        *used_total += used;
        off += n;
    }
    return rc;
}

static const char resp_206[] = "HTTP/1.1 206 Partial Content\r\n"
                               "Server: nginx/1.22.1\r\n"
                               "Content-Type: application/octet-stream\r\n"
                               "Content-Length: 1000\r\n"
                               "Content-Range: bytes 4096-5095/5096\r\n"
                               "ETag: \"6565f1a2-13e8\"\r\n"
                               "Connection: keep-alive\r\n"
                               "\r\n"
                               "BODYBYTES";

static void test_parse_206_every_split(void **state)
{
    (void)state;
    size_t head_len = strlen(resp_206) - strlen("BODYBYTES");
    for (size_t step = 1; step <= strlen(resp_206); step++) {
        struct ota_http_parser p;
        size_t used;
        assert_int_equal(parse_split(resp_206, step, &p, &used), OTA_HTTP_DONE);
        assert_int_equal(used, head_len);
        assert_int_equal(p.resp.status, 206);
        assert_true(p.resp.has_length);
        assert_int_equal(p.resp.content_length, 1000);
        assert_true(p.resp.has_range);
        assert_int_equal(p.resp.range_first, 4096);
        assert_int_equal(p.resp.range_last, 5095);
        assert_int_equal(p.resp.range_total, 5096);
        assert_string_equal(p.resp.etag, "\"6565f1a2-13e8\"");
        assert_false(p.resp.close);
        uint32_t off;
        uint32_t size;
        assert_int_equal(ota_http_check(&p.resp, 4096, &off, &size), OTA_HTTP_DONE);
        assert_int_equal(off, 4096);
        assert_int_equal(size, 5096);
        /* Not the range we asked for. */
        assert_int_equal(ota_http_check(&p.resp, 4000, &off, &size),
                         OTA_HTTP_ERR_CONTENT_RANGE);
    }
}

static void test_parse_200_and_statuses(void **state)
{
    (void)state;
    struct ota_http_parser p;
    size_t used;
    uint32_t off;
    uint32_t size;
    assert_int_equal(parse_split("HTTP/1.0 200 OK\nContent-Length: 77\n\n", 5, &p, &used),
                     OTA_HTTP_DONE);
    assert_true(p.resp.close);
    assert_int_equal(ota_http_check(&p.resp, OTA_HTTP_NO_RANGE, &off, &size), OTA_HTTP_DONE);
    assert_int_equal(off, 0);
    assert_int_equal(size, 77);
    /* A full 200 to a range request means the image changed (If-Range): restart. */
    assert_int_equal(ota_http_check(&p.resp, 512, &off, &size), OTA_HTTP_RESTART);

    assert_int_equal(parse_split("HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\n\r\n", 3, &p,
                                 &used),
                     OTA_HTTP_DONE);
    assert_int_equal(ota_http_check(&p.resp, 0, &off, &size), OTA_HTTP_ERR_NOT_FOUND);
    assert_int_equal(parse_split("HTTP/1.1 416 Range Not Satisfiable\r\n\r\n", 64, &p, &used),
                     OTA_HTTP_DONE);
    assert_int_equal(ota_http_check(&p.resp, 0, &off, &size), OTA_HTTP_ERR_RANGE);
    assert_int_equal(parse_split("HTTP/1.1 500 Oops\r\n\r\n", 64, &p, &used), OTA_HTTP_DONE);
    assert_int_equal(ota_http_check(&p.resp, 0, &off, &size), OTA_HTTP_ERR_STATUS);
    assert_int_equal(parse_split("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n", 64, &p,
                                 &used),
                     OTA_HTTP_DONE);
    assert_int_equal(ota_http_check(&p.resp, 0, &off, &size), OTA_HTTP_ERR_CHUNKED);
    assert_int_equal(parse_split("HTTP/1.1 200 OK\r\n\r\n", 64, &p, &used), OTA_HTTP_DONE);
    assert_int_equal(ota_http_check(&p.resp, 0, &off, &size), OTA_HTTP_ERR_LENGTH);
    /* 206 without Content-Range, or with a length that disagrees with it. */
    assert_int_equal(parse_split("HTTP/1.1 206 P\r\nContent-Length: 5\r\n\r\n", 64, &p, &used),
                     OTA_HTTP_DONE);
    assert_int_equal(ota_http_check(&p.resp, 0, &off, &size), OTA_HTTP_ERR_CONTENT_RANGE);
    assert_int_equal(parse_split("HTTP/1.1 206 P\r\nContent-Length: 5\r\n"
                                 "Content-Range: bytes 0-9/10\r\n\r\n",
                                 64, &p, &used),
                     OTA_HTTP_DONE);
    assert_int_equal(ota_http_check(&p.resp, 0, &off, &size), OTA_HTTP_ERR_LENGTH);
    /* A range that does not reach the end of the image. */
    assert_int_equal(parse_split("HTTP/1.1 206 P\r\nContent-Range: bytes 0-9/20\r\n\r\n", 64, &p,
                                 &used),
                     OTA_HTTP_DONE);
    assert_int_equal(ota_http_check(&p.resp, 0, &off, &size), OTA_HTTP_ERR_CONTENT_RANGE);
}

static void test_hostile_heads(void **state)
{
    (void)state;
    static const struct {
        const char *head;
        int want;
    } cases[] = {
        {"HTTP/2 200 OK\r\n\r\n", OTA_HTTP_ERR_VERSION},
        {"ICY 200 OK\r\n\r\n", OTA_HTTP_ERR_VERSION},
        {"HTTP/1.1 20 OK\r\n\r\n", OTA_HTTP_ERR_SYNTAX},
        {"HTTP/1.1 2000 OK\r\n\r\n", OTA_HTTP_ERR_SYNTAX},
        {"HTTP/1.1 099 X\r\n\r\n", OTA_HTTP_ERR_SYNTAX},
        {"HTTP/1.1 200 OK\r\nContent-Length: 12a\r\n\r\n", OTA_HTTP_ERR_LENGTH},
        {"HTTP/1.1 200 OK\r\nContent-Length: -1\r\n\r\n", OTA_HTTP_ERR_LENGTH},
        {"HTTP/1.1 200 OK\r\nContent-Length: 99999999999\r\n\r\n", OTA_HTTP_ERR_LENGTH},
        {"HTTP/1.1 200 OK\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\n", OTA_HTTP_ERR_LENGTH},
        {"HTTP/1.1 206 P\r\nContent-Range: bytes 9-3/20\r\n\r\n", OTA_HTTP_ERR_CONTENT_RANGE},
        {"HTTP/1.1 206 P\r\nContent-Range: bytes 0-20/20\r\n\r\n", OTA_HTTP_ERR_CONTENT_RANGE},
        {"HTTP/1.1 206 P\r\nContent-Range: bytes 0-3/*\r\n\r\n", OTA_HTTP_ERR_CONTENT_RANGE},
        {"HTTP/1.1 206 P\r\nContent-Range: items 0-3/9\r\n\r\n", OTA_HTTP_ERR_CONTENT_RANGE},
        {"HTTP/1.1 206 P\r\nContent-Range: bytes 0-3/9\r\nContent-Range: bytes 0-3/9\r\n\r\n",
         OTA_HTTP_ERR_CONTENT_RANGE},
        {"HTTP/1.1 200 OK\r\n folded\r\n\r\n", OTA_HTTP_ERR_SYNTAX},
        {"HTTP/1.1 200 OK\r\nno colon here\r\n\r\n", OTA_HTTP_ERR_SYNTAX},
        {"HTTP/1.1 200 OK\r\n: empty name\r\n\r\n", OTA_HTTP_ERR_SYNTAX},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        struct ota_http_parser p;
        size_t used;
        assert_int_equal(parse_split(cases[i].head, 7, &p, &used), cases[i].want);
    }
    /* A NUL byte. */
    struct ota_http_parser p;
    size_t used;
    ota_http_parser_init(&p);
    const uint8_t nul[] = "HTTP/1.1 200 OK\r\nX: a\0b\r\n\r\n";
    assert_int_equal(ota_http_parse(&p, nul, sizeof nul, &used), OTA_HTTP_ERR_SYNTAX);
}

/* A head being built in a fixed buffer: cap bytes, len used, always NUL-terminated. */
struct head_buf {
    char *s;
    size_t cap;
    size_t len;
};

static void head_reset(struct head_buf *h)
{
    h->len = 0;
    h->s[0] = '\0';
}

static void head_put(struct head_buf *h, const char *text)
{
    size_t n = strlen(text);
    assert_true(n < h->cap - h->len);
    memcpy(h->s + h->len, text, n + 1);
    h->len += n;
}

static void head_fill(struct head_buf *h, char c, size_t count)
{
    assert_true(count < h->cap - h->len);
    memset(h->s + h->len, c, count);
    h->len += count;
    h->s[h->len] = '\0';
}

static void test_limits(void **state)
{
    (void)state;
    static char head_mem[OTA_HTTP_HEAD_MAX + 512];
    struct head_buf h = {head_mem, sizeof head_mem, 0};
    const char *head = head_mem;
    struct ota_http_parser p;
    size_t used;

    /* A long field we ignore is fine; a long one we read is refused. */
    head_reset(&h);
    head_put(&h, "HTTP/1.1 200 OK\r\nX-Long: ");
    head_fill(&h, 'x', 1000);
    head_put(&h, "\r\nContent-Length: 3\r\n\r\n");
    assert_int_equal(parse_split(head, 100, &p, &used), OTA_HTTP_DONE);
    assert_int_equal(p.resp.content_length, 3);

    head_reset(&h);
    head_put(&h, "HTTP/1.1 200 OK\r\nContent-Length: ");
    head_fill(&h, '0', 300);
    head_put(&h, "5\r\n\r\n");
    assert_int_equal(parse_split(head, 100, &p, &used), OTA_HTTP_ERR_TOO_BIG);

    /* Too many fields. */
    head_reset(&h);
    head_put(&h, "HTTP/1.1 200 OK\r\n");
    for (unsigned i = 0; i <= OTA_HTTP_MAX_FIELDS; i++) {
        head_put(&h, "X: y\r\n");
    }
    head_put(&h, "\r\n");
    assert_int_equal(parse_split(head, 64, &p, &used), OTA_HTTP_ERR_TOO_BIG);

    /* A head that never ends. */
    ota_http_parser_init(&p);
    int rc = OTA_HTTP_MORE;
    for (unsigned i = 0; i < 4000 && rc == OTA_HTTP_MORE; i++) {
        rc = ota_http_parse(&p, (const uint8_t *)(i == 0 ? "HTTP/1.1 200 OK\r\n" : "A: b\r\n"),
                            i == 0 ? 17 : 6, &used);
    }
    assert_int_equal(rc, OTA_HTTP_ERR_TOO_BIG);

    /* An overlong ETag is dropped, not truncated (a cut tag would never match). */
    head_reset(&h);
    head_put(&h, "HTTP/1.1 200 OK\r\nETag: \"");
    head_fill(&h, 'e', OTA_HTTP_ETAG_MAX + 10);
    head_put(&h, "\"\r\nContent-Length: 1\r\n\r\n");
    assert_int_equal(parse_split(head, 64, &p, &used), OTA_HTTP_DONE);
    assert_string_equal(p.resp.etag, "");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_build_get_with_range),
        cmocka_unit_test(test_build_get_refuses_bad_input),
        cmocka_unit_test(test_parse_206_every_split),
        cmocka_unit_test(test_parse_200_and_statuses),
        cmocka_unit_test(test_hostile_heads),
        cmocka_unit_test(test_limits),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
