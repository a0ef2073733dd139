/*
 * otaserver's parsers and planners as pure functions: every request form of docs/protocol.md and
 * every error status, and the image check against each layout error it names.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include <openssl/evp.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include "srv_image.h"
#include "srv_proto.h"
#include "testimg.h"

#define ETAG "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"

static int raw(const char *s, struct raw_req *r)
{
    return raw_parse_request(s, strlen(s), r);
}

static void test_raw_plain(void **state)
{
    (void)state;
    struct raw_req r;
    assert_int_equal(raw("GET firmware\r\n", &r), RAW_OK);
    assert_false(r.resume);
    assert_false(r.has_etag);
    assert_int_equal(r.line_len, 14);
    /* LF alone is accepted; bytes after the line are not part of it. */
    assert_int_equal(raw("GET firmware\nAA", &r), RAW_OK);
    assert_int_equal(r.line_len, 13);
    assert_int_equal(raw("GET firmware\r", &r), RAW_INCOMPLETE);
    assert_int_equal(raw("", &r), RAW_INCOMPLETE);
}

static void test_raw_resume(void **state)
{
    (void)state;
    struct raw_req r;
    assert_int_equal(raw("GET firmware 0\r\n", &r), RAW_OK);
    assert_true(r.resume);
    assert_int_equal(r.offset, 0);
    assert_int_equal(raw("GET firmware 4294967295\r\n", &r), RAW_OK);
    assert_int_equal(r.offset, 4294967295u);
    assert_int_equal(raw("GET firmware 12 " ETAG "\r\n", &r), RAW_OK);
    assert_int_equal(r.offset, 12);
    assert_true(r.has_etag);
    assert_string_equal(r.etag, ETAG);
    /* Upper-case hex is the same tag. */
    assert_int_equal(raw("GET firmware 12 0123456789ABCDEF0123456789abcdef0123456789abcdef"
                         "0123456789abcdef\r\n",
                         &r),
                     RAW_OK);
    assert_string_equal(r.etag, ETAG);
}

static void test_raw_bad(void **state)
{
    (void)state;
    struct raw_req r;
    const char *bad[] = {
        "HELLO\r\n",
        "get firmware\r\n",
        "GET firmwarex\r\n",
        "GET firmware \r\n",
        "GET firmware  12\r\n",
        "GET firmware -1\r\n",
        "GET firmware +1\r\n",
        "GET firmware 1x\r\n",
        "GET firmware 4294967296\r\n",
        "GET firmware 12345678901\r\n",
        "GET firmware 12 zz\r\n",
        "GET firmware 12 0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdeg\r\n",
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        assert_int_equal(raw(bad[i], &r), RAW_ERR_BAD);
    }
    /* A tag one digit too long, and a space after it. */
    static const char too_long[] = "GET firmware 12 " ETAG "0\r\n";
    static const char trailing[] = "GET firmware 12 " ETAG " \r\n";
    assert_int_equal(raw(too_long, &r), RAW_ERR_BAD);
    assert_int_equal(raw(trailing, &r), RAW_ERR_BAD);
    assert_int_equal(raw_parse_request("GET firmware\0\r\n", 15, &r), RAW_ERR_BAD);
    char longline[RAW_MAX_LINE + 8];
    memset(longline, 'G', sizeof(longline));
    assert_int_equal(raw_parse_request(longline, RAW_MAX_LINE - 1u, &r), RAW_INCOMPLETE);
    assert_int_equal(raw_parse_request(longline, RAW_MAX_LINE, &r), RAW_ERR_BAD);
}

static void test_raw_check_and_format(void **state)
{
    (void)state;
    struct raw_req r;
    assert_int_equal(raw("GET firmware 100\r\n", &r), RAW_OK);
    assert_int_equal(raw_check_request(&r, 100, ETAG), RAW_OK);
    assert_int_equal(raw_check_request(&r, 99, ETAG), RAW_ERR_OFFSET);
    assert_int_equal(raw("GET firmware 1 " ETAG "\r\n", &r), RAW_OK);
    assert_int_equal(raw_check_request(&r, 100, ETAG), RAW_OK);
    char other[] = ETAG;
    other[0] = '1';
    assert_int_equal(raw_check_request(&r, 100, other), RAW_ERR_CHANGED);
    char out[160];
    size_t n = raw_format_ok(out, sizeof(out), 5, 100, ETAG);
    assert_int_equal(n, strlen("OK 5 100 " ETAG "\r\n"));
    assert_string_equal(out, "OK 5 100 " ETAG "\r\n");
    assert_int_equal(raw_format_ok(out, 20, 5, 100, ETAG), 0);
    assert_int_not_equal(raw_format_err(out, sizeof(out), RAW_ERR_BAD, 0), 0);
    assert_string_equal(out, "ERR 400 bad-request\r\n");
    assert_int_not_equal(raw_format_err(out, sizeof(out), RAW_ERR_CHANGED, 0), 0);
    assert_string_equal(out, "ERR 412 image-changed\r\n");
    assert_int_not_equal(raw_format_err(out, sizeof(out), RAW_ERR_OFFSET, 77), 0);
    assert_string_equal(out, "ERR 416 offset-past-end 77\r\n");
    assert_int_not_equal(raw_format_err(out, sizeof(out), RAW_ERR_BUSY, 0), 0);
    assert_string_equal(out, "ERR 503 busy\r\n");
    assert_int_equal(raw_format_err(out, sizeof(out), 999, 0), 0);
    assert_int_equal(raw_format_err(out, 5, RAW_ERR_BAD, 0), 0);
}

static int http(const char *s, struct http_req *r)
{
    return http_parse_request(s, strlen(s), r);
}

static void test_http_parse_ok(void **state)
{
    (void)state;
    struct http_req r;
    const char *req = "GET /firmware HTTP/1.1\r\nHost: x\r\nRange: bytes=0-9\r\n"
                      "If-Range: \"abc\"\r\n\r\nGET";
    assert_int_equal(http(req, &r), HTTP_PARSED);
    assert_int_equal(r.error, 0);
    assert_int_equal(r.method, HTTP_M_GET);
    assert_true(r.path_ok);
    assert_int_equal(r.minor, 1);
    assert_false(r.conn_close);
    assert_int_equal(r.req_len, strlen(req) - 3u);
    assert_int_equal(r.range_len, 9);
    assert_memory_equal(r.range, "bytes=0-9", 9);
    assert_int_equal(r.if_range_len, 5);
    /* Bare LF line ends, leading blank lines, case-insensitive names, OWS. */
    assert_int_equal(http("\r\nHEAD /firmware HTTP/1.1\nhOsT:x\nconnection:  Close \n\n", &r),
                     HTTP_PARSED);
    assert_int_equal(r.error, 0);
    assert_int_equal(r.method, HTTP_M_HEAD);
    assert_true(r.conn_close);
    /* HTTP/1.0: close unless keep-alive; no Host needed. */
    assert_int_equal(http("GET /firmware HTTP/1.0\r\n\r\n", &r), HTTP_PARSED);
    assert_int_equal(r.error, 0);
    assert_true(r.conn_close);
    assert_int_equal(http("GET /firmware HTTP/1.0\r\nConnection: keep-alive\r\n\r\n", &r),
                     HTTP_PARSED);
    assert_false(r.conn_close);
    assert_int_equal(http("POST /other HTTP/1.1\r\nHost: x\r\nContent-Length: 0\r\n\r\n", &r),
                     HTTP_PARSED);
    assert_int_equal(r.method, HTTP_M_OTHER);
    assert_false(r.path_ok);
    assert_false(r.has_body);
    assert_int_equal(http("GET /firmware HTTP/1.1\r\nHost: x\r\n", &r), HTTP_INCOMPLETE);
    assert_int_equal(http("GET /firmware HTTP/1.1\r\nHost: x\r\n\r", &r), HTTP_INCOMPLETE);
    assert_int_equal(http("", &r), HTTP_INCOMPLETE);
}

/* Copies the characters of s without its terminating NUL. */
static void put_bytes(char *dst, const char *s)
{
    for (size_t i = 0; s[i] != '\0'; i++) {
        dst[i] = s[i];
    }
}

static void test_http_parse_errors(void **state)
{
    (void)state;
    struct {
        const char *req;
        int status;
    } cases[] = {
        {"GARBAGE\r\n\r\n", 400},
        {"GET /firmware\r\n\r\n", 400},
        {"GET  /firmware HTTP/1.1\r\nHost: x\r\n\r\n", 400},
        {"GET /firmware HTTP/1.1 \r\nHost: x\r\n\r\n", 400},
        {"GET /firmware HTTX/1.1\r\nHost: x\r\n\r\n", 400},
        {"GET /firmware HTTP/1.12\r\nHost: x\r\n\r\n", 400},
        {"G(T /firmware HTTP/1.1\r\nHost: x\r\n\r\n", 400},
        {"GET /firmware HTTP/1.1\r\n\r\n", 400},                       /* no Host */
        {"GET /firmware HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n", 400}, /* two Hosts */
        {"GET /firmware HTTP/1.1\r\nHost x\r\n\r\n", 400},
        {"GET /firmware HTTP/1.1\r\nHost : x\r\n\r\n", 400},
        {"GET /firmware HTTP/1.1\r\nHost: x\r\n folded\r\n\r\n", 400},
        {"GET /firmware HTTP/1.1\r\nHost: x\x01y\r\n\r\n", 400},
        {"GET /firmware HTTP/1.1\r\nHost: x\r\nRange: bytes=0-1\r\nRange: bytes=0-1\r\n\r\n",
         400},
        {"GET /firmware HTTP/1.1\r\nHost: x\r\nIf-Range: \"a\"\r\nIf-Range: \"a\"\r\n\r\n", 400},
        {"GET /firmware HTTP/1.1\r\nHost: x\r\nContent-Length: x\r\n\r\n", 400},
        {"GET /firmware HTTP/1.1\r\nHost: x\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\n",
         400},
        {"GET /firmware HTTP/2.0\r\nHost: x\r\n\r\n", 505},
        {"GET /firmware HTTP/0.9\r\nHost: x\r\n\r\n", 505},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        struct http_req r;
        assert_int_equal(http(cases[i].req, &r), HTTP_PARSED);
        assert_int_equal(r.error, cases[i].status);
    }
    static char big[HTTP_MAX_REQUEST + 16];
    memset(big, 'a', sizeof(big));
    put_bytes(big, "GET /firmware HTTP/1.1\r\nX: ");
    struct http_req r;
    assert_int_equal(http_parse_request(big, HTTP_MAX_REQUEST - 1u, &r), HTTP_INCOMPLETE);
    assert_int_equal(http_parse_request(big, HTTP_MAX_REQUEST, &r), HTTP_PARSED);
    assert_int_equal(r.error, 431);
    /* A complete head that is too long is refused as well. */
    put_bytes(big + HTTP_MAX_REQUEST + 4u, "\r\n\r\n");
    assert_int_equal(http_parse_request(big, sizeof(big) - 8u, &r), HTTP_PARSED);
    assert_int_equal(r.error, 431);
}

static int range(const char *s, uint32_t size, uint32_t *a, uint32_t *b)
{
    return http_range_resolve(s, strlen(s), size, a, b);
}

static void test_http_range(void **state)
{
    (void)state;
    uint32_t a = 0;
    uint32_t b = 0;
    assert_int_equal(range("bytes=0-9", 100, &a, &b), HTTP_RANGE_OK);
    assert_int_equal(a, 0);
    assert_int_equal(b, 9);
    assert_int_equal(range("bytes=90-", 100, &a, &b), HTTP_RANGE_OK);
    assert_int_equal(a, 90);
    assert_int_equal(b, 99);
    assert_int_equal(range("bytes=90-1000", 100, &a, &b), HTTP_RANGE_OK);
    assert_int_equal(b, 99);
    assert_int_equal(range("bytes=-10", 100, &a, &b), HTTP_RANGE_OK);
    assert_int_equal(a, 90);
    assert_int_equal(b, 99);
    assert_int_equal(range("bytes=-1000", 100, &a, &b), HTTP_RANGE_OK);
    assert_int_equal(a, 0);
    assert_int_equal(range("BYTES=99-99", 100, &a, &b), HTTP_RANGE_OK);
    assert_int_equal(a, 99);
    assert_int_equal(range("bytes=0-99999999999999999999999", 100, &a, &b), HTTP_RANGE_OK);
    assert_int_equal(b, 99);
    assert_int_equal(range("bytes=100-", 100, &a, &b), HTTP_RANGE_UNSAT);
    assert_int_equal(range("bytes=99999999999999999999-", 100, &a, &b), HTTP_RANGE_UNSAT);
    assert_int_equal(range("bytes=-0", 100, &a, &b), HTTP_RANGE_UNSAT);
    assert_int_equal(range("bytes=5-3", 100, &a, &b), HTTP_RANGE_UNSAT);
    assert_int_equal(range("bytes=0-1,5-6", 100, &a, &b), HTTP_RANGE_IGNORE);
    assert_int_equal(range("items=0-1", 100, &a, &b), HTTP_RANGE_IGNORE);
    const char *bad[] = {"bytes", "=0-1", "bytes=", "bytes=-", "bytes=abc", "bytes=1",
                         "bytes=1-x", "bytes=-x", "bytes= 1-2", "by tes=1-2", "bytes=--1"};
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        assert_int_equal(range(bad[i], 100, &a, &b), HTTP_RANGE_BAD);
    }
}

static void plan_for(const char *req, struct http_plan *p)
{
    struct http_req r;
    assert_int_equal(http(req, &r), HTTP_PARSED);
    http_plan_response(&r, 1000, ETAG, p);
}

static void test_http_plan(void **state)
{
    (void)state;
    struct http_plan p;
    plan_for("GET /firmware HTTP/1.1\r\nHost: x\r\n\r\n", &p);
    assert_int_equal(p.status, 200);
    assert_true(p.send_body);
    assert_int_equal(p.first, 0);
    assert_int_equal(p.length, 1000);
    assert_false(p.close);
    plan_for("HEAD /firmware HTTP/1.1\r\nHost: x\r\nRange: bytes=10-19\r\n\r\n", &p);
    assert_int_equal(p.status, 206);
    assert_false(p.send_body);
    assert_int_equal(p.first, 10);
    assert_int_equal(p.length, 10);
    plan_for("GET /firmware HTTP/1.1\r\nHost: x\r\nRange: bytes=10-\r\n"
             "If-Range: \"" ETAG "\"\r\n\r\n",
             &p);
    assert_int_equal(p.status, 206);
    assert_int_equal(p.length, 990);
    /* If-Range that does not hold: the whole image. */
    const char *no[] = {"\"0" ETAG "\"", "W/\"" ETAG "\"", "Tue, 24 Nov 2026 04:00:00 GMT",
                        ETAG, "\"\""};
    for (size_t i = 0; i < sizeof(no) / sizeof(no[0]); i++) {
        char req[512];
        (void)snprintf(req, sizeof(req),
                       "GET /firmware HTTP/1.1\r\nHost: x\r\nRange: bytes=10-\r\nIf-Range: %s\r\n\r\n",
                       no[i]);
        plan_for(req, &p);
        assert_int_equal(p.status, 200);
        assert_int_equal(p.length, 1000);
    }
    plan_for("GET /firmware HTTP/1.1\r\nHost: x\r\nRange: bytes=1000-\r\n\r\n", &p);
    assert_int_equal(p.status, 416);
    assert_false(p.send_body);
    assert_false(p.close);
    plan_for("GET /firmware HTTP/1.1\r\nHost: x\r\nRange: bytes=x\r\n\r\n", &p);
    assert_int_equal(p.status, 400);
    assert_true(p.close);
    plan_for("GET /firmware HTTP/1.1\r\nHost: x\r\nRange: bytes=0-1,3-4\r\n\r\n", &p);
    assert_int_equal(p.status, 200);
    plan_for("GET /other HTTP/1.1\r\nHost: x\r\n\r\n", &p);
    assert_int_equal(p.status, 404);
    assert_false(p.close);
    plan_for("DELETE /firmware HTTP/1.1\r\nHost: x\r\n\r\n", &p);
    assert_int_equal(p.status, 405);
    assert_false(p.close);
    plan_for("POST /firmware HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\n\r\n", &p);
    assert_int_equal(p.status, 405);
    assert_true(p.close);
    plan_for("GET /firmware HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n", &p);
    assert_int_equal(p.status, 400);
    assert_true(p.close);
    plan_for("POST /x HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\n\r\n", &p);
    assert_int_equal(p.status, 404);
    assert_true(p.close);
    plan_for("GET /firmware HTTP/1.0\r\nConnection: keep-alive\r\n\r\n", &p);
    assert_int_equal(p.status, 200);
    assert_true(p.keep_alive_header);
    plan_for("GET /firmware HTTP/3.0\r\nHost: x\r\n\r\n", &p);
    assert_int_equal(p.status, 505);
    assert_true(p.close);
}

static void test_http_format(void **state)
{
    (void)state;
    struct http_plan p = {.status = 206, .send_body = true, .first = 10, .length = 5};
    char out[1024];
    size_t n = http_format_head(&p, 1000, ETAG, "Tue, 24 Nov 2026 04:00:00 GMT", out, sizeof(out));
    assert_int_equal(n, strlen(out));
    assert_non_null(strstr(out, "HTTP/1.1 206 Partial Content\r\n"));
    assert_non_null(strstr(out, "\r\nContent-Range: bytes 10-14/1000\r\n"));
    assert_non_null(strstr(out, "\r\nContent-Length: 5\r\n"));
    assert_non_null(strstr(out, "\r\nETag: \"" ETAG "\"\r\n"));
    assert_non_null(strstr(out, "\r\nDate: Tue, 24 Nov 2026 04:00:00 GMT\r\n"));
    assert_null(strstr(out, "Connection:"));
    assert_memory_equal(out + n - 4u, "\r\n\r\n", 4);
    struct http_plan e = {.status = 416, .close = false};
    n = http_format_head(&e, 1000, ETAG, NULL, out, sizeof(out));
    assert_int_equal(n, strlen(out));
    assert_non_null(strstr(out, "\r\nContent-Range: bytes */1000\r\n"));
    assert_non_null(strstr(out, "\r\n\r\n416 Range Not Satisfiable\n"));
    e.head = true;
    e.status = 405;
    e.close = true;
    n = http_format_head(&e, 1000, ETAG, NULL, out, sizeof(out));
    assert_non_null(strstr(out, "\r\nAllow: GET, HEAD\r\n"));
    assert_non_null(strstr(out, "\r\nConnection: close\r\n"));
    assert_memory_equal(out + n - 4u, "\r\n\r\n", 4); /* HEAD: no body */
    assert_int_equal(http_format_head(&p, 1000, ETAG, NULL, out, 60), 0);
    assert_int_equal(http_format_head(&p, 1000, ETAG, NULL, out, 0), 0);
    assert_string_equal(http_reason(431), "Request Header Fields Too Large");
    assert_string_equal(http_reason(505), "HTTP Version Not Supported");
    assert_string_equal(http_reason(299), "Error");
}

/* ---- image check ---- */

static uint8_t s_img[8192];

/* Hash only (no key hash, no signature): the SHA256 TLV is the last entry, at the offsets the
 * damage below is written for. The servers check layout and hash, never signatures. */
static size_t build(int prot)
{
    struct testimg_opts o = testimg_defaults(3000, 1, 0, 0);
    o.hdr_size = 64;
    o.prot_tlv = prot != 0;
    o.no_keyhash = true;
    o.no_sig = true;
    size_t n = testimg_build(&o, s_img, sizeof(s_img));
    assert_int_not_equal(n, 0);
    return n;
}

static void rehash(size_t tlv_off, size_t sha_val_off)
{
    unsigned int len = 0;
    assert_int_equal(EVP_Digest(s_img, tlv_off, s_img + sha_val_off, &len, EVP_sha256(), NULL), 1);
}

static void test_image_ok(void **state)
{
    (void)state;
    struct srv_image_info info;
    for (int prot = 0; prot <= 1; prot++) {
        size_t n = build(prot);
        assert_int_equal(srv_image_check(s_img, n, &info), SRV_IMAGE_OK);
        assert_int_equal(info.size, n);
        assert_int_equal(info.hdr_size, 64);
        assert_int_equal(info.img_size, 3000);
        assert_int_equal(info.prot_tlv_size, prot ? 12 : 0);
        assert_memory_equal(info.sha256, s_img + n - 32u, 32);
        assert_int_equal(strlen(info.etag), 64);
        /* Trailing bytes are allowed and not part of the image. */
        assert_int_equal(srv_image_check(s_img, n + 100u, &info), SRV_IMAGE_OK);
        assert_int_equal(info.size, n);
    }
}

static void test_image_errors(void **state)
{
    (void)state;
    struct srv_image_info info;
    size_t n = build(0);
    size_t tlv = 64u + 3000u;
    assert_int_equal(srv_image_check(s_img, 31, &info), SRV_IMAGE_ERR_SHORT);
    assert_int_equal(srv_image_check(NULL, n, &info), SRV_IMAGE_ERR_SHORT);
    assert_int_equal(srv_image_check(s_img, n - 1u, &info), SRV_IMAGE_ERR_SHORT);
    assert_int_equal(srv_image_check(s_img, tlv + 2u, &info), SRV_IMAGE_ERR_SHORT);
    s_img[0] ^= 1u;
    assert_int_equal(srv_image_check(s_img, n, &info), SRV_IMAGE_ERR_MAGIC);
    n = build(0);
    s_img[8] = 16; /* hdr_size 16 */
    s_img[9] = 0;
    assert_int_equal(srv_image_check(s_img, n, &info), SRV_IMAGE_ERR_HDR_SIZE);
    n = build(0);
    memset(s_img + 12, 0, 4);
    assert_int_equal(srv_image_check(s_img, n, &info), SRV_IMAGE_ERR_EMPTY);
    n = build(0);
    memset(s_img + 12, 0xff, 4); /* img_size 0xffffffff: hdr + size overflows */
    assert_int_equal(srv_image_check(s_img, n, &info), SRV_IMAGE_ERR_TOO_BIG);
    n = build(0);
    s_img[tlv] ^= 1u;
    assert_int_equal(srv_image_check(s_img, n, &info), SRV_IMAGE_ERR_TLV_MAGIC);
    n = build(0);
    s_img[tlv + 2u] = 3; /* tot_len 3 < 4 */
    assert_int_equal(srv_image_check(s_img, n, &info), SRV_IMAGE_ERR_TLV_LEN);
    n = build(0);
    s_img[tlv + 2u] = 38; /* tot_len cuts the SHA256 entry */
    assert_int_equal(srv_image_check(s_img, n, &info), SRV_IMAGE_ERR_TLV_LEN);
    n = build(0);
    s_img[tlv + 2u] = 6; /* 2 bytes left: not even an entry header */
    assert_int_equal(srv_image_check(s_img, n, &info), SRV_IMAGE_ERR_TLV_LEN);
    n = build(0);
    s_img[tlv + 6u] = 31; /* SHA256 entry of 31 bytes */
    assert_int_equal(srv_image_check(s_img, n, &info), SRV_IMAGE_ERR_TLV_LEN);
    n = build(0);
    s_img[tlv + 4u] = 0x11; /* no SHA256 TLV left */
    assert_int_equal(srv_image_check(s_img, n, &info), SRV_IMAGE_ERR_NO_HASH);
    n = build(0);
    s_img[100] ^= 0x40u; /* payload byte flipped */
    assert_int_equal(srv_image_check(s_img, n, &info), SRV_IMAGE_ERR_HASH);
    /* Two SHA256 TLVs. */
    n = build(0);
    memcpy(s_img + n, s_img + tlv + 4u, 36);
    s_img[tlv + 2u] = 76;
    assert_int_equal(srv_image_check(s_img, n + 36u, &info), SRV_IMAGE_ERR_HASH_DUP);
    /* Protected area errors. */
    n = build(1);
    s_img[10] = 2; /* protect size 2 < 4 */
    assert_int_equal(srv_image_check(s_img, n, &info), SRV_IMAGE_ERR_PROT_SIZE);
    n = build(1);
    s_img[tlv] ^= 1u;
    assert_int_equal(srv_image_check(s_img, n, &info), SRV_IMAGE_ERR_TLV_MAGIC);
    n = build(1);
    s_img[tlv + 2u] = 16; /* info says 16, header says 12 */
    assert_int_equal(srv_image_check(s_img, n, &info), SRV_IMAGE_ERR_PROT_SIZE);
    n = build(1);
    s_img[tlv + 6u] = 9; /* SEC_CNT entry runs past the protected area */
    rehash(tlv + 12u, tlv + 12u + 8u);
    assert_int_equal(srv_image_check(s_img, n, &info), SRV_IMAGE_ERR_TLV_LEN);
    assert_int_equal(build(1), n);
    assert_int_equal(srv_image_check(s_img, tlv + 2u, &info), SRV_IMAGE_ERR_SHORT);
    assert_int_equal(srv_image_check(s_img, tlv + 8u, &info), SRV_IMAGE_ERR_SHORT);
    /* Every error has a text. */
    for (int e = SRV_IMAGE_ERR_CRYPTO; e <= SRV_IMAGE_OK; e++) {
        assert_string_not_equal(srv_image_strerror(e), "unknown error");
    }
    assert_string_equal(srv_image_strerror(-99), "unknown error");
}

static void test_image_open(void **state)
{
    (void)state;
    struct srv_image img;
    assert_int_equal(srv_image_open(&img, "/nonexistent/otaserver.img"), SRV_IMAGE_ERR_OPEN);
    assert_int_equal(srv_image_open(&img, "/tmp"), SRV_IMAGE_ERR_OPEN);
    char path[] = "/tmp/ota-srvimg-XXXXXX";
    int fd = mkstemp(path);
    assert_true(fd >= 0);
    assert_int_equal(close(fd), 0);
    assert_int_equal(srv_image_open(&img, path), SRV_IMAGE_ERR_SHORT); /* empty file */
    size_t n = build(1);
    assert_int_equal(testimg_write_file(path, s_img, n), 0);
    assert_int_equal(srv_image_open(&img, path), SRV_IMAGE_OK);
    assert_int_equal(img.info.size, n);
    assert_int_equal(img.file_size, n);
    assert_memory_equal(img.data, s_img, n);
    srv_image_close(&img);
    assert_int_equal(img.fd, -1);
    s_img[200] ^= 1u;
    assert_int_equal(testimg_write_file(path, s_img, n), 0);
    assert_int_equal(srv_image_open(&img, path), SRV_IMAGE_ERR_HASH);
    assert_int_equal(unlink(path), 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_raw_plain),        cmocka_unit_test(test_raw_resume),
        cmocka_unit_test(test_raw_bad),          cmocka_unit_test(test_raw_check_and_format),
        cmocka_unit_test(test_http_parse_ok),    cmocka_unit_test(test_http_parse_errors),
        cmocka_unit_test(test_http_range),       cmocka_unit_test(test_http_plan),
        cmocka_unit_test(test_http_format),      cmocka_unit_test(test_image_ok),
        cmocka_unit_test(test_image_errors),     cmocka_unit_test(test_image_open),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
