/*
 * otaserver as a process on free loopback ports: the bytes each protocol form returns, every
 * documented error answer, ACK counting, HTTP ranges / keep-alive / If-Range, many clients at
 * once, idle and slow-client timeouts, the busy answer, pacing, signals and refused images.
 * Timing never decides a result: waits are for events (EOF, a log line), with a safety timeout.
 */
#define _GNU_SOURCE
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "testimg.h"
#include "tnet.h"

#define OTASERVER OTA_BINARY_DIR "/otaserver"

struct server {
    struct tproc proc;
    int raw_port;
    int http_port;
};

static char s_dir[] = "/tmp/ota-srvtest-XXXXXX";
static char s_main_path[300];
static char s_small_path[300];
static char s_big_path[300];
static uint8_t *s_main;
static size_t s_main_len;
static uint8_t *s_small;
static size_t s_small_len;
static size_t s_big_len;
static char s_etag[65];
static struct server s_srv; /* the shared server of most tests */
static uint8_t s_buf[8u << 20];

static uint8_t *make_image(const char *name, uint32_t payload, uint16_t hdr, int prot, char *path,
                           size_t *len)
{
    struct testimg_opts o = testimg_defaults(payload, 1, 2, 3);
    o.hdr_size = hdr;
    o.prot_tlv = prot != 0;
    *len = testimg_size(&o);
    uint8_t *buf = malloc(*len);
    assert_non_null(buf);
    assert_int_equal(testimg_build(&o, buf, *len), *len);
    (void)snprintf(path, 300, "%s/%s", s_dir, name);
    assert_int_equal(testimg_write_file(path, buf, *len), 0);
    return buf;
}

static int json_num(const char *line, const char *key, long *out)
{
    char pat[64];
    (void)snprintf(pat, sizeof(pat), "\"%s\":", key);
    const char *p = strstr(line, pat);
    if (p == NULL) {
        return -1;
    }
    *out = strtol(p + strlen(pat), NULL, 10);
    return 0;
}

static void server_start(struct server *s, const char *image, const char *const *extra)
{
    char *argv[32];
    int n = 0;
    argv[n++] = (char *)OTASERVER;
    argv[n++] = (char *)"--image";
    argv[n++] = (char *)image;
    argv[n++] = (char *)"--port";
    argv[n++] = (char *)"0";
    argv[n++] = (char *)"--http-port";
    argv[n++] = (char *)"0";
    bool text = false;
    for (int i = 0; extra != NULL && extra[i] != NULL; i++) {
        if (strcmp(extra[i], "--text") == 0) {
            text = true;
            continue;
        }
        argv[n++] = (char *)extra[i];
    }
    if (!text) {
        argv[n++] = (char *)"--json";
    }
    argv[n] = NULL;
    assert_int_equal(tproc_start(&s->proc, argv), 0);
    char line[1024];
    if (text) {
        assert_int_equal(tproc_wait_line(&s->proc, " listening ", line, sizeof(line)), 0);
        const char *r = strstr(line, "raw_port=");
        const char *h = strstr(line, "http_port=");
        assert_non_null(r);
        assert_non_null(h);
        s->raw_port = tnet_int(r + 9);
        s->http_port = tnet_int(h + 10);
    } else {
        assert_int_equal(tproc_wait_line(&s->proc, "\"event\":\"listening\"", line, sizeof(line)),
                         0);
        long v = 0;
        assert_int_equal(json_num(line, "raw_port", &v), 0);
        s->raw_port = (int)v;
        assert_int_equal(json_num(line, "http_port", &v), 0);
        s->http_port = (int)v;
    }
    assert_true(s->raw_port > 0);
    assert_true(s->http_port > 0);
}

static void server_stop(struct server *s, int sig, const char *signame)
{
    assert_int_equal(tproc_stop(&s->proc, sig), 0);
    char want[64];
    (void)snprintf(want, sizeof(want), "\"signal\":\"%s\"", signame);
    assert_int_equal(tproc_wait_line(&s->proc, want, NULL, 0), 0);
    tproc_cleanup(&s->proc);
}

/* The connection id the server gave the client on local port lport. */
static long conn_id(const struct server *s, int lport)
{
    char needle[96];
    char line[1024];
    (void)snprintf(needle, sizeof(needle), "\"peer\":\"127.0.0.1:%d\"", lport);
    assert_int_equal(tproc_wait_line(&s->proc, needle, line, sizeof(line)), 0);
    long id = 0;
    assert_int_equal(json_num(line, "id", &id), 0);
    return id;
}

/* Waits for the event of connection id and returns its line. */
static void conn_event(const struct server *s, long id, const char *event, char *line, size_t cap)
{
    char needle[96];
    (void)snprintf(needle, sizeof(needle), "\"event\":\"%s\",\"id\":%ld,", event, id);
    assert_int_equal(tproc_wait_line(&s->proc, needle, line, cap), 0);
}

static int group_setup(void **state)
{
    (void)state;
    if (mkdtemp(s_dir) == NULL) {
        return -1;
    }
    s_main = make_image("main.img", 150000, 64, 1, s_main_path, &s_main_len);
    s_small = make_image("small.img", 8000, 32, 0, s_small_path, &s_small_len);
    uint8_t *big = make_image("big.img", 6u << 20, 32, 0, s_big_path, &s_big_len);
    free(big);
    static const char hex[] = "0123456789abcdef";
    uint8_t digest[32];
    if (testimg_sha256(s_main, s_main_len, digest) != 0) {
        return -1;
    }
    for (size_t i = 0; i < 32u; i++) {
        uint8_t b = digest[i]; /* the etag is the SHA256 TLV's value in hex */
        s_etag[2u * i] = hex[b >> 4];
        s_etag[2u * i + 1u] = hex[b & 15u];
    }
    /* Idle timeout longer than a client's safety timeout (TNET_TIMEOUT_S): no test on this server
     * is cut short by a scheduling delay, and a connection the server should close at once but
     * leaves to the idle timer shows as a client timeout. */
    const char *extra[] = {"--idle-timeout", "60", "--max-clients", "600", NULL};
    server_start(&s_srv, s_main_path, extra);
    return 0;
}

static int group_teardown(void **state)
{
    (void)state;
    server_stop(&s_srv, SIGTERM, "SIGTERM");
    free(s_main);
    free(s_small);
    (void)unlink(s_main_path);
    (void)unlink(s_small_path);
    (void)unlink(s_big_path);
    (void)rmdir(s_dir);
    return 0;
}

/* ------------------------------------------------------------------ raw TCP */

static void test_raw_plain_with_acks(void **state)
{
    (void)state;
    int fd = tnet_connect(s_srv.raw_port);
    assert_true(fd >= 0);
    long id = conn_id(&s_srv, tnet_local_port(fd));
    assert_int_equal(tnet_send(fd, "GET firmware\r\n", 14), 0);
    size_t got = 0;
    size_t acks = 0;
    for (;;) {
        ssize_t n = recv(fd, s_buf + got, sizeof(s_buf) - got, 0);
        if (n <= 0) {
            assert_int_equal(n, 0); /* a FIN, not a reset or a timeout */
            break;
        }
        got += (size_t)n;
        /* One 'A' per 512 bytes received, as the tutorial's client does. */
        while ((acks + 1u) * 512u <= got) {
            assert_int_equal(tnet_send(fd, "A", 1), 0);
            acks++;
        }
    }
    assert_int_equal(got, s_main_len);
    assert_memory_equal(s_buf, s_main, s_main_len);
    assert_int_equal(close(fd), 0);
    char line[1024];
    conn_event(&s_srv, id, "request", line, sizeof(line));
    assert_non_null(strstr(line, "\"resume\":false,\"offset\":0"));
    conn_event(&s_srv, id, "close", line, sizeof(line));
    long v = 0;
    assert_int_equal(json_num(line, "acks", &v), 0);
    assert_int_equal(v, (long)acks);
    assert_int_equal(json_num(line, "bytes", &v), 0);
    assert_int_equal(v, (long)s_main_len);
    /* Progress is logged at every 10% step. */
    char needle[64];
    (void)snprintf(needle, sizeof(needle), "\"event\":\"progress\",\"id\":%ld,", id);
    assert_int_equal(tproc_count_lines(&s_srv.proc, needle, NULL), 9);
}

static void test_raw_coalesced_acks(void **state)
{
    (void)state;
    int fd = tnet_connect(s_srv.raw_port);
    assert_true(fd >= 0);
    long id = conn_id(&s_srv, tnet_local_port(fd));
    /* ACKs in the same segment as the request, and several in one write afterwards. */
    assert_int_equal(tnet_send(fd, "GET firmware\r\nAA", 16), 0);
    bool reset = false;
    bool timed_out = false;
    size_t got = tnet_recv_all(fd, s_buf, sizeof(s_buf), &reset, &timed_out);
    assert_false(reset);
    assert_false(timed_out);
    assert_int_equal(got, s_main_len);
    assert_memory_equal(s_buf, s_main, s_main_len);
    assert_int_equal(tnet_send(fd, "AAAAA", 5), 0);
    assert_int_equal(tnet_send(fd, "AAA", 3), 0);
    assert_int_equal(close(fd), 0);
    char line[1024];
    conn_event(&s_srv, id, "close", line, sizeof(line));
    long v = 0;
    assert_int_equal(json_num(line, "acks", &v), 0);
    assert_int_equal(v, 10);
    assert_non_null(strstr(line, "\"reason\":\"done\""));
}

/* Sends a raw request and reads the first line and then everything up to EOF. */
static size_t raw_exchange(const char *req, size_t req_len, char *line, size_t cap)
{
    int fd = tnet_connect(s_srv.raw_port);
    assert_true(fd >= 0);
    assert_int_equal(tnet_send(fd, req, req_len), 0);
    assert_true(tnet_recv_line(fd, line, cap) > 0);
    bool reset = false;
    bool timed_out = false;
    size_t got = tnet_recv_all(fd, s_buf, sizeof(s_buf), &reset, &timed_out);
    assert_false(reset);
    assert_false(timed_out);
    assert_int_equal(close(fd), 0);
    return got;
}

static void test_raw_resume(void **state)
{
    (void)state;
    char line[256];
    char want[256];
    char req[160];
    const size_t offs[] = {1000, 1, 0, s_main_len - 1u};
    for (size_t i = 0; i < sizeof(offs) / sizeof(offs[0]); i++) {
        (void)snprintf(req, sizeof(req), "GET firmware %zu\r\n", offs[i]);
        size_t got = raw_exchange(req, strlen(req), line, sizeof(line));
        (void)snprintf(want, sizeof(want), "OK %zu %zu %s\r\n", offs[i], s_main_len, s_etag);
        assert_string_equal(line, want);
        assert_int_equal(got, s_main_len - offs[i]);
        assert_memory_equal(s_buf, s_main + offs[i], got);
    }
    /* With the etag of the image the device already has part of. */
    (void)snprintf(req, sizeof(req), "GET firmware 4096 %s\r\n", s_etag);
    size_t got = raw_exchange(req, strlen(req), line, sizeof(line));
    assert_int_equal(strncmp(line, "OK 4096 ", 8), 0);
    assert_int_equal(got, s_main_len - 4096u);
    assert_memory_equal(s_buf, s_main + 4096, got);
    /* Nothing left to send: the OK line, then the end. */
    (void)snprintf(req, sizeof(req), "GET firmware %zu\n", s_main_len);
    got = raw_exchange(req, strlen(req), line, sizeof(line));
    (void)snprintf(want, sizeof(want), "OK %zu %zu %s\r\n", s_main_len, s_main_len, s_etag);
    assert_string_equal(line, want);
    assert_int_equal(got, 0);
}

static void test_raw_errors(void **state)
{
    (void)state;
    char line[256];
    char want[256];
    char req[256];
    (void)snprintf(req, sizeof(req), "GET firmware %zu\r\n", s_main_len + 1u);
    assert_int_equal(raw_exchange(req, strlen(req), line, sizeof(line)), 0);
    (void)snprintf(want, sizeof(want), "ERR 416 offset-past-end %zu\r\n", s_main_len);
    assert_string_equal(line, want);
    char other[65];
    (void)snprintf(other, sizeof(other), "%s", s_etag);
    other[10] = other[10] == '0' ? '1' : '0';
    (void)snprintf(req, sizeof(req), "GET firmware 10 %s\r\n", other);
    assert_int_equal(raw_exchange(req, strlen(req), line, sizeof(line)), 0);
    assert_string_equal(line, "ERR 412 image-changed\r\n");
    const char *bad[] = {"HELLO\r\n", "GET firmware x\r\n", "GET firmware -1\r\n",
                         "GET firmware 12345678901\r\n", "GET firmware 10 zz\r\n",
                         "GET /firmware HTTP/1.1\r\n"};
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        assert_int_equal(raw_exchange(bad[i], strlen(bad[i]), line, sizeof(line)), 0);
        assert_string_equal(line, "ERR 400 bad-request\r\n");
    }
    char longreq[300];
    memset(longreq, 'x', sizeof(longreq));
    assert_int_equal(raw_exchange(longreq, sizeof(longreq), line, sizeof(line)), 0);
    assert_string_equal(line, "ERR 400 bad-request\r\n");
}

static void test_raw_non_ack_byte(void **state)
{
    (void)state;
    int fd = tnet_connect(s_srv.raw_port);
    assert_true(fd >= 0);
    long id = conn_id(&s_srv, tnet_local_port(fd));
    assert_int_equal(tnet_send(fd, "GET firmware\r\n", 14), 0);
    assert_int_equal(tnet_recv_exact(fd, s_buf, 512), 0);
    assert_int_equal(tnet_send(fd, "X", 1), 0);
    char line[1024];
    conn_event(&s_srv, id, "error", line, sizeof(line));
    assert_non_null(strstr(line, "protocol"));
    assert_int_equal(close(fd), 0);
}

/* ------------------------------------------------------------------ HTTP */

static int http_connect(void)
{
    int fd = tnet_connect(s_srv.http_port);
    assert_true(fd >= 0);
    return fd;
}

static void http_send(int fd, const char *req)
{
    assert_int_equal(tnet_send(fd, req, strlen(req)), 0);
}

static void expect_eof(int fd)
{
    char c;
    ssize_t n = recv(fd, &c, 1, 0);
    assert_int_equal(n, 0);
}

static void test_http_get_200(void **state)
{
    (void)state;
    int fd = http_connect();
    http_send(fd, "GET /firmware HTTP/1.1\r\nHost: t\r\n\r\n");
    struct thttp_resp r;
    assert_int_equal(thttp_read(fd, &r, s_buf, sizeof(s_buf), false), 0);
    assert_int_equal(r.status, 200);
    assert_int_equal(r.body_len, s_main_len);
    assert_memory_equal(s_buf, s_main, s_main_len);
    char v[128];
    char want[80];
    (void)snprintf(want, sizeof(want), "\"%s\"", s_etag);
    assert_int_equal(thttp_header(&r, "ETag", v, sizeof(v)), 0);
    assert_string_equal(v, want);
    assert_int_equal(thttp_header(&r, "Accept-Ranges", v, sizeof(v)), 0);
    assert_string_equal(v, "bytes");
    assert_int_equal(thttp_header(&r, "Content-Type", v, sizeof(v)), 0);
    assert_string_equal(v, "application/octet-stream");
    assert_int_equal(thttp_header(&r, "Date", v, sizeof(v)), 0);
    assert_int_not_equal(thttp_header(&r, "Content-Range", v, sizeof(v)), 0);
    assert_int_equal(close(fd), 0);
}

static void test_http_head_then_get_keepalive(void **state)
{
    (void)state;
    int fd = http_connect();
    struct thttp_resp r;
    http_send(fd, "HEAD /firmware HTTP/1.1\r\nHost: t\r\n\r\n");
    assert_int_equal(thttp_read(fd, &r, s_buf, sizeof(s_buf), true), 0);
    assert_int_equal(r.status, 200);
    assert_int_equal(r.content_length, (long)s_main_len);
    /* No body followed the HEAD answer: the next bytes are the next response. */
    http_send(fd, "GET /firmware HTTP/1.1\r\nHost: t\r\nRange: bytes=0-3\r\n\r\n");
    assert_int_equal(thttp_read(fd, &r, s_buf, sizeof(s_buf), false), 0);
    assert_int_equal(r.status, 206);
    assert_int_equal(r.body_len, 4);
    assert_memory_equal(s_buf, s_main, 4);
    /* And a third on the same connection, a HEAD with a range. */
    http_send(fd, "HEAD /firmware HTTP/1.1\r\nHost: t\r\nRange: bytes=-10\r\n\r\n");
    assert_int_equal(thttp_read(fd, &r, s_buf, sizeof(s_buf), true), 0);
    assert_int_equal(r.status, 206);
    assert_int_equal(r.content_length, 10);
    assert_int_equal(close(fd), 0);
}

static void test_http_ranges(void **state)
{
    (void)state;
    size_t n = s_main_len;
    struct {
        char spec[64];
        size_t first;
        size_t last;
    } c[6];
    memset(c, 0, sizeof(c));
    (void)snprintf(c[0].spec, 64, "bytes=0-0");
    c[0].first = 0;
    c[0].last = 0;
    (void)snprintf(c[1].spec, 64, "bytes=100-4195");
    c[1].first = 100;
    c[1].last = 4195;
    (void)snprintf(c[2].spec, 64, "bytes=%zu-", n - 777u);
    c[2].first = n - 777u;
    c[2].last = n - 1u;
    (void)snprintf(c[3].spec, 64, "bytes=-500");
    c[3].first = n - 500u;
    c[3].last = n - 1u;
    (void)snprintf(c[4].spec, 64, "bytes=%zu-%zu", n - 10u, n + 1000u);
    c[4].first = n - 10u;
    c[4].last = n - 1u;
    (void)snprintf(c[5].spec, 64, "bytes=-%zu", n + 5u);
    c[5].first = 0;
    c[5].last = n - 1u;
    int fd = http_connect();
    for (size_t i = 0; i < 6u; i++) {
        char req[256];
        (void)snprintf(req, sizeof(req), "GET /firmware HTTP/1.1\r\nHost: t\r\nRange: %s\r\n\r\n",
                       c[i].spec);
        http_send(fd, req);
        struct thttp_resp r;
        assert_int_equal(thttp_read(fd, &r, s_buf, sizeof(s_buf), false), 0);
        assert_int_equal(r.status, 206);
        assert_int_equal(r.body_len, c[i].last - c[i].first + 1u);
        assert_memory_equal(s_buf, s_main + c[i].first, r.body_len);
        char v[128];
        char want[128];
        assert_int_equal(thttp_header(&r, "Content-Range", v, sizeof(v)), 0);
        (void)snprintf(want, sizeof(want), "bytes %zu-%zu/%zu", c[i].first, c[i].last, n);
        assert_string_equal(v, want);
    }
    assert_int_equal(close(fd), 0);
}

static void test_http_416_keeps_connection(void **state)
{
    (void)state;
    int fd = http_connect();
    char req[256];
    char specs[3][64];
    (void)snprintf(specs[0], sizeof(specs[0]), "bytes=%zu-", s_main_len);
    (void)snprintf(specs[1], sizeof(specs[1]), "bytes=-0");
    (void)snprintf(specs[2], sizeof(specs[2]), "bytes=5-3");
    for (size_t i = 0; i < 3u; i++) {
        const char *spec = specs[i];
        (void)snprintf(req, sizeof(req), "GET /firmware HTTP/1.1\r\nHost: t\r\nRange: %s\r\n\r\n",
                       spec);
        http_send(fd, req);
        struct thttp_resp r;
        assert_int_equal(thttp_read(fd, &r, s_buf, sizeof(s_buf), false), 0);
        assert_int_equal(r.status, 416);
        char v[128];
        char want[64];
        assert_int_equal(thttp_header(&r, "Content-Range", v, sizeof(v)), 0);
        (void)snprintf(want, sizeof(want), "bytes */%zu", s_main_len);
        assert_string_equal(v, want);
    }
    http_send(fd, "GET /firmware HTTP/1.1\r\nHost: t\r\n\r\n");
    struct thttp_resp r;
    assert_int_equal(thttp_read(fd, &r, s_buf, sizeof(s_buf), false), 0);
    assert_int_equal(r.status, 200);
    assert_memory_equal(s_buf, s_main, s_main_len);
    assert_int_equal(close(fd), 0);
}

/* A request answered with status, then the server closes. */
static void expect_status_close(const char *req, size_t len, int status)
{
    int fd = http_connect();
    assert_int_equal(tnet_send(fd, req, len), 0);
    struct thttp_resp r;
    assert_int_equal(thttp_read(fd, &r, s_buf, sizeof(s_buf), false), 0);
    assert_int_equal(r.status, status);
    char v[64];
    assert_int_equal(thttp_header(&r, "Connection", v, sizeof(v)), 0);
    assert_string_equal(v, "close");
    expect_eof(fd);
    assert_int_equal(close(fd), 0);
}

static void test_http_400_431_505(void **state)
{
    (void)state;
    const char *bad[] = {
        "GARBAGE\r\n\r\n",
        "GET /firmware HTTP/1.1\r\n\r\n", /* no Host */
        "GET /firmware HTTP/1.1\r\nHost t\r\n\r\n",
        "GET /firmware HTTP/1.1\r\nHost: t\r\n folded\r\n\r\n",
        "GET /firmware HTTP/1.1\r\nHost: t\r\nRange: bytes=abc\r\n\r\n",
        "GET /firmware HTTP/1.1\r\nHost: t\r\nContent-Length: 4\r\n\r\nabcd",
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        expect_status_close(bad[i], strlen(bad[i]), 400);
    }
    expect_status_close("GET /firmware HTTP/2.0\r\nHost: t\r\n\r\n", 35, 505);
    static char big[8192];
    memset(big, 'a', sizeof(big));
    static const char start[] = "GET /firmware HTTP/1.1\r\nX: ";
    for (size_t i = 0; i + 1u < sizeof(start); i++) {
        big[i] = start[i]; /* no NUL: the header runs on with 'a's */
    }
    expect_status_close(big, sizeof(big), 431);
}

static void test_http_404_405(void **state)
{
    (void)state;
    int fd = http_connect();
    const char *paths[] = {"/", "/other", "/firmware/", "/../firmware", "/firmware?x=1",
                           "/etc/passwd", "firmware"};
    struct thttp_resp r;
    char req[256];
    for (size_t i = 0; i < sizeof(paths) / sizeof(paths[0]); i++) {
        (void)snprintf(req, sizeof(req), "GET %s HTTP/1.1\r\nHost: t\r\n\r\n", paths[i]);
        http_send(fd, req);
        assert_int_equal(thttp_read(fd, &r, s_buf, sizeof(s_buf), false), 0);
        assert_int_equal(r.status, 404);
    }
    const char *methods[] = {"POST", "PUT", "DELETE", "OPTIONS", "get"};
    for (size_t i = 0; i < sizeof(methods) / sizeof(methods[0]); i++) {
        (void)snprintf(req, sizeof(req), "%s /firmware HTTP/1.1\r\nHost: t\r\n\r\n", methods[i]);
        http_send(fd, req);
        assert_int_equal(thttp_read(fd, &r, s_buf, sizeof(s_buf), false), 0);
        assert_int_equal(r.status, 405);
        char v[64];
        assert_int_equal(thttp_header(&r, "Allow", v, sizeof(v)), 0);
        assert_string_equal(v, "GET, HEAD");
    }
    assert_int_equal(close(fd), 0);
}

static void test_http_connection_close_and_10(void **state)
{
    (void)state;
    const char *reqs[] = {"GET /firmware HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n",
                          "GET /firmware HTTP/1.0\r\n\r\n"};
    for (size_t i = 0; i < 2u; i++) {
        int fd = http_connect();
        http_send(fd, reqs[i]);
        struct thttp_resp r;
        assert_int_equal(thttp_read(fd, &r, s_buf, sizeof(s_buf), false), 0);
        assert_int_equal(r.status, 200);
        assert_memory_equal(s_buf, s_main, s_main_len);
        expect_eof(fd);
        assert_int_equal(close(fd), 0);
    }
    /* HTTP/1.0 with keep-alive stays open and says so. */
    int fd = http_connect();
    http_send(fd, "HEAD /firmware HTTP/1.0\r\nConnection: keep-alive\r\n\r\n");
    struct thttp_resp r;
    assert_int_equal(thttp_read(fd, &r, s_buf, sizeof(s_buf), true), 0);
    char v[64];
    assert_int_equal(thttp_header(&r, "Connection", v, sizeof(v)), 0);
    assert_string_equal(v, "keep-alive");
    http_send(fd, "HEAD /firmware HTTP/1.0\r\n\r\n");
    assert_int_equal(thttp_read(fd, &r, s_buf, sizeof(s_buf), true), 0);
    assert_int_equal(r.status, 200);
    expect_eof(fd);
    assert_int_equal(close(fd), 0);
}

static void test_http_pipelined(void **state)
{
    (void)state;
    int fd = http_connect();
    http_send(fd, "GET /firmware HTTP/1.1\r\nHost: t\r\nRange: bytes=10-19\r\n\r\n"
                  "GET /nothing HTTP/1.1\r\nHost: t\r\n\r\n"
                  "GET /firmware HTTP/1.1\r\nHost: t\r\nRange: bytes=20-29\r\n\r\n");
    struct thttp_resp r;
    assert_int_equal(thttp_read(fd, &r, s_buf, sizeof(s_buf), false), 0);
    assert_int_equal(r.status, 206);
    assert_memory_equal(s_buf, s_main + 10, 10);
    assert_int_equal(thttp_read(fd, &r, s_buf, sizeof(s_buf), false), 0);
    assert_int_equal(r.status, 404);
    assert_int_equal(thttp_read(fd, &r, s_buf, sizeof(s_buf), false), 0);
    assert_int_equal(r.status, 206);
    assert_memory_equal(s_buf, s_main + 20, 10);
    assert_int_equal(close(fd), 0);
}

static void test_http_if_range(void **state)
{
    (void)state;
    int fd = http_connect();
    char req[512];
    struct thttp_resp r;
    (void)snprintf(req, sizeof(req),
                   "GET /firmware HTTP/1.1\r\nHost: t\r\nRange: bytes=5000-\r\nIf-Range: \"%s\"\r\n\r\n",
                   s_etag);
    http_send(fd, req);
    assert_int_equal(thttp_read(fd, &r, s_buf, sizeof(s_buf), false), 0);
    assert_int_equal(r.status, 206);
    assert_int_equal(r.body_len, s_main_len - 5000u);
    assert_memory_equal(s_buf, s_main + 5000, r.body_len);
    /* The image changed (another tag), a weak tag, or a date: the whole image. */
    char other[65];
    (void)snprintf(other, sizeof(other), "%s", s_etag);
    other[0] = other[0] == 'a' ? 'b' : 'a';
    char vals[3][128];
    (void)snprintf(vals[0], sizeof(vals[0]), "\"%s\"", other);
    (void)snprintf(vals[1], sizeof(vals[1]), "W/\"%s\"", s_etag);
    (void)snprintf(vals[2], sizeof(vals[2]), "Tue, 24 Nov 2026 00:00:00 GMT");
    for (size_t i = 0; i < 3u; i++) {
        const char *val = vals[i];
        (void)snprintf(req, sizeof(req),
                       "GET /firmware HTTP/1.1\r\nHost: t\r\nRange: bytes=5000-\r\nIf-Range: %s\r\n\r\n",
                       val);
        http_send(fd, req);
        assert_int_equal(thttp_read(fd, &r, s_buf, sizeof(s_buf), false), 0);
        assert_int_equal(r.status, 200);
        assert_int_equal(r.body_len, s_main_len);
        assert_memory_equal(s_buf, s_main, s_main_len);
    }
    assert_int_equal(close(fd), 0);
}

/* Bytes after a Connection: close request stay unread: the server must drain them rather than
 * close with unread data (a reset that could destroy the response in flight). */
static void test_http_close_with_unread_bytes(void **state)
{
    (void)state;
    int fd = http_connect();
    http_send(fd, "GET /firmware HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\nGARBAGE");
    struct thttp_resp r;
    assert_int_equal(thttp_read(fd, &r, s_buf, sizeof(s_buf), false), 0);
    assert_int_equal(r.status, 200);
    assert_memory_equal(s_buf, s_main, s_main_len);
    expect_eof(fd); /* a FIN, not a reset */
    assert_int_equal(close(fd), 0);
}

/* The device half-closes right after its request: the image still comes in full. */
static void test_raw_client_half_close(void **state)
{
    (void)state;
    int fd = tnet_connect(s_srv.raw_port);
    assert_true(fd >= 0);
    assert_int_equal(tnet_send(fd, "GET firmware 0\r\n", 16), 0);
    assert_int_equal(shutdown(fd, SHUT_WR), 0);
    char line[256];
    assert_true(tnet_recv_line(fd, line, sizeof(line)) > 0);
    assert_int_equal(strncmp(line, "OK 0 ", 5), 0);
    bool reset = false;
    bool timed_out = false;
    assert_int_equal(tnet_recv_all(fd, s_buf, sizeof(s_buf), &reset, &timed_out), s_main_len);
    assert_false(reset);
    assert_memory_equal(s_buf, s_main, s_main_len);
    assert_int_equal(close(fd), 0);
}

/* A device that disconnects mid-transfer frees its slot: with one slot, the next one is served. */
static void test_disconnect_frees_slot(void **state)
{
    (void)state;
    struct server s;
    const char *extra[] = {"--max-clients", "1", "--chunk-size", "512", "--chunk-delay", "50",
                           NULL};
    server_start(&s, s_small_path, extra);
    int fd = tnet_connect(s.raw_port);
    assert_true(fd >= 0);
    long id = conn_id(&s, tnet_local_port(fd));
    assert_int_equal(tnet_send(fd, "GET firmware\r\n", 14), 0);
    assert_int_equal(tnet_recv_exact(fd, s_buf, 512), 0);
    assert_int_equal(close(fd), 0);
    char line[1024];
    conn_event(&s, id, "close", line, sizeof(line));
    fd = tnet_connect(s.raw_port);
    assert_true(fd >= 0);
    assert_int_equal(tnet_send(fd, "GET firmware\r\n", 14), 0);
    bool reset = false;
    bool timed_out = false;
    assert_int_equal(tnet_recv_all(fd, s_buf, sizeof(s_buf), &reset, &timed_out), s_small_len);
    assert_memory_equal(s_buf, s_small, s_small_len);
    assert_int_equal(close(fd), 0);
    server_stop(&s, SIGTERM, "SIGTERM");
}

/* Garbage on both ports from many clients at once: every one is answered or closed, and the
 * (sanitizer-built) server goes on serving. */
static void test_garbage_clients(void **state)
{
    (void)state;
    enum { N = 40 };
    int fds[N];
    uint32_t x = 12345u;
    static uint8_t junk[6000];
    static const char req_start[] = "GET /firmware HTTP/1.1\r\n";
    for (int i = 0; i < N; i++) {
        fds[i] = tnet_connect((i % 2) != 0 ? s_srv.http_port : s_srv.raw_port);
        assert_true(fds[i] >= 0);
        size_t len = 1u + (size_t)(i * 149) % sizeof(junk);
        for (size_t k = 0; k < len; k++) {
            x ^= x << 13;
            x ^= x >> 17;
            x ^= x << 5;
            /* Some clients send text that starts like a request, the rest raw bytes. */
            junk[k] = (i % 4) < 2 ? (uint8_t)x : (uint8_t)('A' + (x % 26u));
        }
        for (size_t k = 0; (i % 4) == 1 && k + 1u < sizeof(req_start) && k < len; k++) {
            junk[k] = (uint8_t)req_start[k];
        }
        assert_int_equal(tnet_send(fds[i], junk, len), 0);
        /* The end of the garbage: an incomplete request is then closed at once, not timed out. */
        assert_int_equal(shutdown(fds[i], SHUT_WR), 0);
    }
    for (int i = 0; i < N; i++) {
        /* Each garbage client ends with an answer and a close, or a close alone. */
        bool reset = false;
        bool timed_out = false;
        (void)tnet_recv_all(fds[i], s_buf, sizeof(s_buf), &reset, &timed_out);
        assert_false(timed_out);
        assert_int_equal(close(fds[i]), 0);
    }
    int fd = tnet_connect(s_srv.raw_port);
    assert_true(fd >= 0);
    assert_int_equal(tnet_send(fd, "GET firmware\r\n", 14), 0);
    bool reset = false;
    bool timed_out = false;
    assert_int_equal(tnet_recv_all(fd, s_buf, sizeof(s_buf), &reset, &timed_out), s_main_len);
    assert_memory_equal(s_buf, s_main, s_main_len);
    assert_int_equal(close(fd), 0);
}

/* ------------------------------------------------------------------ many clients */

#define NCLIENTS 200

struct client {
    int fd;
    bool http;
    size_t got;       /* image bytes checked so far */
    char head[512];
    size_t head_len;
    bool in_body;
    bool done;
    bool bad;
};

static void test_concurrent_clients(void **state)
{
    (void)state;
    static struct client cl[NCLIENTS];
    struct pollfd pfd[NCLIENTS];
    for (int i = 0; i < NCLIENTS; i++) {
        memset(&cl[i], 0, sizeof(cl[i]));
        cl[i].http = (i % 2) == 1;
        cl[i].in_body = !cl[i].http;
        cl[i].fd = tnet_connect(cl[i].http ? s_srv.http_port : s_srv.raw_port);
        assert_true(cl[i].fd >= 0);
    }
    /* All connected before any request: the server holds them all at once. */
    for (int i = 0; i < NCLIENTS; i++) {
        const char *req = cl[i].http
                              ? "GET /firmware HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n"
                              : "GET firmware\r\n";
        assert_int_equal(tnet_send(cl[i].fd, req, strlen(req)), 0);
    }
    int left = NCLIENTS;
    static uint8_t buf[65536];
    while (left > 0) {
        int n = 0;
        int map[NCLIENTS];
        for (int i = 0; i < NCLIENTS; i++) {
            if (!cl[i].done) {
                pfd[n].fd = cl[i].fd;
                pfd[n].events = POLLIN;
                map[n++] = i;
            }
        }
        int rc = poll(pfd, (nfds_t)n, TNET_TIMEOUT_S * 1000);
        assert_true(rc > 0);
        for (int k = 0; k < n; k++) {
            if (pfd[k].revents == 0) {
                continue;
            }
            struct client *c = &cl[map[k]];
            ssize_t r = recv(c->fd, buf, sizeof(buf), 0);
            assert_true(r >= 0);
            if (r == 0) {
                c->done = true;
                left--;
                continue;
            }
            size_t off = 0;
            while (!c->in_body && off < (size_t)r) {
                assert_true(c->head_len + 1u < sizeof(c->head));
                c->head[c->head_len++] = (char)buf[off++];
                if (c->head_len >= 4u && memcmp(c->head + c->head_len - 4u, "\r\n\r\n", 4) == 0) {
                    c->in_body = true;
                    assert_int_equal(strncmp(c->head, "HTTP/1.1 200 OK\r\n", 17), 0);
                }
            }
            size_t body = (size_t)r - off;
            if (c->got + body > s_main_len || memcmp(buf + off, s_main + c->got, body) != 0) {
                c->bad = true;
            }
            c->got += body;
        }
    }
    for (int i = 0; i < NCLIENTS; i++) {
        assert_false(cl[i].bad);
        assert_int_equal(cl[i].got, s_main_len);
        assert_int_equal(close(cl[i].fd), 0);
    }
}

/* Many clients each stop in the middle of a request (at a different byte) before any finishes:
 * every one must hold its own bytes until the rest arrives. Each asks for a different range, so a
 * request buffer shared by mistake would show as a wrong range; half of them pipeline a second
 * request behind the first, which must wait for its turn in that client's buffer. */
#define NSPLIT 48
static void test_http_split_requests_many(void **state)
{
    (void)state;
    int fd[NSPLIT];
    char req[NSPLIT][256];
    size_t len[NSPLIT];
    size_t cut[NSPLIT];
    for (int i = 0; i < NSPLIT; i++) {
        size_t first = (size_t)i * 1000u;
        size_t last = first + 99u + (size_t)i;
        int n = snprintf(req[i], sizeof(req[i]),
                         "GET /firmware HTTP/1.1\r\nHost: t\r\nRange: bytes=%zu-%zu\r\n\r\n%s",
                         first, last, (i % 2) == 0 ? "HEAD /firmware HTTP/1.1\r\nHost: t\r\n\r\n" : "");
        assert_true(n > 0 && (size_t)n < sizeof(req[i]));
        len[i] = (size_t)n;
        cut[i] = 1u + (size_t)i % (len[i] - 1u); /* 1 .. len-1: never the whole request */
        fd[i] = http_connect();
    }
    for (int i = 0; i < NSPLIT; i++) {
        assert_int_equal(tnet_send(fd[i], req[i], cut[i]), 0);
    }
    /* One whole request on one more connection, made after all of the above: the server takes
     * events in the order they happened, so once this is answered it has read every first part
     * (and holds them all at once) before any second part is sent. */
    int sync = http_connect();
    http_send(sync, "HEAD /firmware HTTP/1.1\r\nHost: t\r\n\r\n");
    struct thttp_resp sr;
    assert_int_equal(thttp_read(sync, &sr, s_buf, sizeof(s_buf), true), 0);
    assert_int_equal(sr.status, 200);
    assert_int_equal(close(sync), 0);
    for (int i = NSPLIT - 1; i >= 0; i--) {
        assert_int_equal(tnet_send(fd[i], req[i] + cut[i], len[i] - cut[i]), 0);
    }
    for (int i = 0; i < NSPLIT; i++) {
        size_t first = (size_t)i * 1000u;
        size_t last = first + 99u + (size_t)i;
        struct thttp_resp r;
        assert_int_equal(thttp_read(fd[i], &r, s_buf, sizeof(s_buf), false), 0);
        assert_int_equal(r.status, 206);
        assert_int_equal(r.body_len, last - first + 1u);
        assert_memory_equal(s_buf, s_main + first, r.body_len);
        char v[128];
        char want[128];
        assert_int_equal(thttp_header(&r, "Content-Range", v, sizeof(v)), 0);
        (void)snprintf(want, sizeof(want), "bytes %zu-%zu/%zu", first, last, s_main_len);
        assert_string_equal(v, want);
        if ((i % 2) == 0) {
            assert_int_equal(thttp_read(fd[i], &r, s_buf, sizeof(s_buf), true), 0);
            assert_int_equal(r.status, 200);
            assert_int_equal(r.content_length, (long)s_main_len);
        }
        assert_int_equal(close(fd[i]), 0);
    }
}

/* A client that reads slowly through a 4 KB receive buffer gets all of a 6 MB image: the server
 * has to wait for the socket to drain again and again and must never miss that it did. */
static void test_slow_reader_gets_everything(void **state)
{
    (void)state;
    struct server s;
    server_start(&s, s_big_path, NULL);
    int fd = tnet_connect_rcvbuf(s.http_port, 4096);
    assert_true(fd >= 0);
    http_send(fd, "GET /firmware HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n");
    struct thttp_resp r;
    assert_int_equal(thttp_read(fd, &r, s_buf, sizeof(s_buf), false), 0);
    assert_int_equal(r.status, 200);
    assert_int_equal(r.body_len, s_big_len);
    uint8_t *want = malloc(s_big_len + 1u); /* + 1: tnet_read_file adds a NUL */
    assert_non_null(want);
    long got = tnet_read_file(s_big_path, (char *)want, s_big_len + 1u);
    assert_int_equal(got, (long)s_big_len);
    assert_memory_equal(s_buf, want, s_big_len);
    free(want);
    expect_eof(fd);
    assert_int_equal(close(fd), 0);
    server_stop(&s, SIGTERM, "SIGTERM");
}

/* ------------------------------------------------------------------ timeouts, busy, pacing */

static void test_idle_and_slow_client_timeouts(void **state)
{
    (void)state;
    struct server s;
    const char *extra[] = {"--idle-timeout", "1", NULL};
    server_start(&s, s_big_path, extra);
    /* Silent client: closed by the server. */
    int fd = tnet_connect(s.raw_port);
    assert_true(fd >= 0);
    long id = conn_id(&s, tnet_local_port(fd));
    expect_eof(fd);
    char line[1024];
    conn_event(&s, id, "error", line, sizeof(line));
    assert_non_null(strstr(line, "idle timeout"));
    assert_int_equal(close(fd), 0);
    /* Half a request, then silence. */
    fd = tnet_connect(s.http_port);
    assert_true(fd >= 0);
    id = conn_id(&s, tnet_local_port(fd));
    http_send(fd, "GET /firm");
    expect_eof(fd);
    conn_event(&s, id, "error", line, sizeof(line));
    assert_non_null(strstr(line, "idle timeout"));
    assert_int_equal(close(fd), 0);
    /* A client that asks and never reads: the server gives up once its buffers are full. */
    fd = tnet_connect_rcvbuf(s.http_port, 4096);
    assert_true(fd >= 0);
    id = conn_id(&s, tnet_local_port(fd));
    http_send(fd, "GET /firmware HTTP/1.1\r\nHost: t\r\n\r\n");
    conn_event(&s, id, "error", line, sizeof(line));
    assert_non_null(strstr(line, "slow client"));
    assert_int_equal(close(fd), 0);
    server_stop(&s, SIGINT, "SIGINT");
}

static void test_busy_and_text_log(void **state)
{
    (void)state;
    struct server s;
    const char *extra[] = {"--max-clients", "2", "--text", NULL};
    server_start(&s, s_small_path, extra);
    int a = tnet_connect(s.raw_port);
    int b = tnet_connect(s.http_port);
    assert_true(a >= 0 && b >= 0);
    char needle[64];
    (void)snprintf(needle, sizeof(needle), "peer=127.0.0.1:%d", tnet_local_port(b));
    assert_int_equal(tproc_wait_line(&s.proc, needle, NULL, 0), 0);
    (void)snprintf(needle, sizeof(needle), "peer=127.0.0.1:%d", tnet_local_port(a));
    assert_int_equal(tproc_wait_line(&s.proc, needle, NULL, 0), 0);
    /* Both slots taken: a third raw client gets the busy line, an HTTP one a 503. */
    int c = tnet_connect(s.raw_port);
    assert_true(c >= 0);
    char line[128];
    assert_true(tnet_recv_line(c, line, sizeof(line)) > 0);
    assert_string_equal(line, "ERR 503 busy\r\n");
    expect_eof(c);
    assert_int_equal(close(c), 0);
    c = tnet_connect(s.http_port);
    assert_true(c >= 0);
    struct thttp_resp r;
    assert_int_equal(thttp_read(c, &r, s_buf, sizeof(s_buf), false), 0);
    assert_int_equal(r.status, 503);
    assert_int_equal(close(c), 0);
    /* A slot frees up: the next client is served (text log: one line per event). */
    assert_int_equal(tnet_send(a, "GET firmware\r\n", 14), 0);
    bool reset = false;
    bool timed_out = false;
    assert_int_equal(tnet_recv_all(a, s_buf, sizeof(s_buf), &reset, &timed_out), s_small_len);
    assert_memory_equal(s_buf, s_small, s_small_len);
    assert_int_equal(close(a), 0);
    assert_int_equal(close(b), 0);
    assert_int_equal(tproc_wait_line(&s.proc, " done bytes=", NULL, 0), 0);
    assert_int_equal(tproc_count_lines(&s.proc, " request status=200 resume=false offset=0", NULL),
                     1);
    assert_int_equal(tproc_count_lines(&s.proc, " progress percent=", NULL), 9);
    assert_int_equal(tproc_stop(&s.proc, SIGTERM), 0);
    assert_int_equal(tproc_wait_line(&s.proc, " shutdown signal=SIGTERM ", line, sizeof(line)), 0);
    assert_non_null(strstr(line, "busy=2"));
    tproc_cleanup(&s.proc);
}

/* On a terminal (a pty made by script(1)): live progress lines instead of progress events. */
static void test_terminal_progress(void **state)
{
    (void)state;
    char cmd[700];
    (void)snprintf(cmd, sizeof(cmd),
                   "%s --image %s --port 0 --http-port 0 --chunk-size 1024 --chunk-delay 30",
                   OTASERVER, s_small_path);
    char *argv[] = {(char *)"/usr/bin/script", (char *)"-qfec", cmd, (char *)"/dev/null", NULL};
    struct tproc p;
    assert_int_equal(tproc_start(&p, argv), 0);
    char line[1024];
    assert_int_equal(tproc_wait_line(&p, " listening ", line, sizeof(line)), 0);
    const char *h = strstr(line, "http_port=");
    const char *pid = strstr(line, "pid=");
    assert_non_null(h);
    assert_non_null(pid);
    int fd = tnet_connect(tnet_int(h + 10));
    assert_true(fd >= 0);
    http_send(fd, "GET /firmware HTTP/1.1\r\nHost: t\r\n\r\n");
    struct thttp_resp r;
    assert_int_equal(thttp_read(fd, &r, s_buf, sizeof(s_buf), false), 0);
    assert_int_equal(r.status, 200);
    assert_memory_equal(s_buf, s_small, s_small_len);
    assert_int_equal(close(fd), 0);
    assert_int_equal(tproc_wait_line(&p, " done bytes=", NULL, 0), 0);
    assert_int_equal(kill((pid_t)tnet_int(pid + 4), SIGTERM), 0);
    assert_int_equal(tproc_wait(&p), 0);
    assert_int_equal(tproc_wait_line(&p, " shutdown signal=SIGTERM", NULL, 0), 0);
    /* A live line with a bar was drawn and erased (cursor up, clear); no progress events. */
    assert_true(tproc_count_lines(&p, "] ", "% ") > 0);
    assert_true(tproc_count_lines(&p, "\x1b[1A", NULL) > 0);
    assert_int_equal(tproc_count_lines(&p, "progress percent=", NULL), 0);
    tproc_cleanup(&p);
}

/* Started with a low descriptor limit: raised to fit --max-clients, or clients cut to fit. */
static void test_nofile_limit(void **state)
{
    (void)state;
    char *argv[] = {(char *)"/usr/bin/prlimit", (char *)"--nofile=32:4096", (char *)OTASERVER,
                    (char *)"--image", s_small_path, (char *)"--port", (char *)"0",
                    (char *)"--http-port", (char *)"0", (char *)"--max-clients", (char *)"1000",
                    (char *)"--json", NULL};
    struct tproc p;
    assert_int_equal(tproc_start(&p, argv), 0);
    char line[1024];
    assert_int_equal(tproc_wait_line(&p, "\"event\":\"listening\"", line, sizeof(line)), 0);
    long v = 0;
    assert_int_equal(json_num(line, "max_clients", &v), 0);
    assert_int_equal(v, 1000);
    assert_int_equal(json_num(line, "raw_port", &v), 0);
    /* More clients at once than the original soft limit of 32 descriptors. */
    enum { N = 100 };
    int fds[N];
    for (int i = 0; i < N; i++) {
        fds[i] = tnet_connect((int)v);
        assert_true(fds[i] >= 0);
    }
    for (int i = 0; i < N; i++) {
        assert_int_equal(tnet_send(fds[i], "GET firmware\r\n", 14), 0);
    }
    for (int i = 0; i < N; i++) {
        bool reset = false;
        bool timed_out = false;
        assert_int_equal(tnet_recv_all(fds[i], s_buf, sizeof(s_buf), &reset, &timed_out),
                         s_small_len);
        assert_memory_equal(s_buf, s_small, s_small_len);
        assert_int_equal(close(fds[i]), 0);
    }
    assert_int_equal(tproc_stop(&p, SIGTERM), 0);
    assert_int_equal(tproc_count_lines(&p, "\"event\":\"error\"", NULL), 0);
    tproc_cleanup(&p);
    /* A hard limit below what is asked: fewer clients, said on stderr. */
    argv[1] = (char *)"--nofile=32:100";
    assert_int_equal(tproc_start(&p, argv), 0);
    assert_int_equal(tproc_wait_line(&p, "\"event\":\"listening\"", line, sizeof(line)), 0);
    assert_int_equal(json_num(line, "max_clients", &v), 0);
    assert_int_equal(v, 84);
    assert_int_equal(tproc_stop(&p, SIGTERM), 0);
    static char err[4096];
    assert_true(tnet_read_file(p.err, err, sizeof(err)) > 0);
    assert_non_null(strstr(err, "descriptor limit 100: serving at most 84 clients"));
    tproc_cleanup(&p);
}

static void test_pacing(void **state)
{
    (void)state;
    struct server s;
    const char *extra[] = {"--chunk-size", "512", "--chunk-delay", "5", NULL};
    server_start(&s, s_small_path, extra);
    int fd = tnet_connect(s.raw_port);
    assert_true(fd >= 0);
    long id = conn_id(&s, tnet_local_port(fd));
    assert_int_equal(tnet_send(fd, "GET firmware\r\n", 14), 0);
    bool reset = false;
    bool timed_out = false;
    assert_int_equal(tnet_recv_all(fd, s_buf, sizeof(s_buf), &reset, &timed_out), s_small_len);
    assert_memory_equal(s_buf, s_small, s_small_len);
    assert_int_equal(close(fd), 0);
    char line[1024];
    conn_event(&s, id, "done", line, sizeof(line));
    /* 512-byte steps are finer than 10%: every step is logged. */
    char needle[64];
    (void)snprintf(needle, sizeof(needle), "\"event\":\"progress\",\"id\":%ld,", id);
    assert_int_equal(tproc_count_lines(&s.proc, needle, NULL), 9);
    server_stop(&s, SIGTERM, "SIGTERM");
}

static void test_sigterm_mid_transfer(void **state)
{
    (void)state;
    struct server s;
    /* 16 chunks a second apart: the transfer is still running when the signal comes. */
    const char *extra[] = {"--chunk-size", "512", "--chunk-delay", "1000", NULL};
    server_start(&s, s_small_path, extra);
    int fd = tnet_connect(s.http_port);
    assert_true(fd >= 0);
    http_send(fd, "GET /firmware HTTP/1.1\r\nHost: t\r\n\r\n");
    struct thttp_resp r;
    assert_int_equal(thttp_read(fd, &r, s_buf, sizeof(s_buf), true), 0);
    assert_int_equal(r.status, 200);
    assert_int_equal(tnet_recv_exact(fd, s_buf, 512), 0);
    assert_memory_equal(s_buf, s_small, 512);
    assert_int_equal(tproc_stop(&s.proc, SIGTERM), 0);
    char line[1024];
    assert_int_equal(tproc_wait_line(&s.proc, "\"event\":\"shutdown\"", line, sizeof(line)), 0);
    assert_non_null(strstr(line, "\"open_at_exit\":1"));
    bool reset = false;
    bool timed_out = false;
    size_t rest = tnet_recv_all(fd, s_buf, sizeof(s_buf), &reset, &timed_out);
    assert_false(timed_out);
    assert_true(512u + rest < s_small_len);
    assert_int_equal(close(fd), 0);
    tproc_cleanup(&s.proc);
}

/* ------------------------------------------------------------------ start-up refusals */

static void expect_refused(char *const argv[], int status, const char *msg)
{
    struct tproc p;
    assert_int_equal(tproc_start(&p, argv), 0);
    assert_int_equal(tproc_wait(&p), status);
    static char err[4096];
    assert_true(tnet_read_file(p.err, err, sizeof(err)) > 0);
    assert_non_null(strstr(err, msg));
    tproc_cleanup(&p);
}

static void test_bad_images_refused(void **state)
{
    (void)state;
    char path[300];
    (void)snprintf(path, sizeof(path), "%s/bad.img", s_dir);
    char *argv[] = {(char *)OTASERVER, (char *)"--image", path, (char *)"--port", (char *)"0",
                    (char *)"--http-port", (char *)"0", NULL};
    /* Missing file. */
    expect_refused(argv, 2, "cannot open");
    /* Not an image: the imgtool payload without its header. */
    char *argv2[] = {(char *)OTASERVER, (char *)"--image",
                     (char *)OTA_TESTVECTORS_DIR "/imgtool/payload.bin", NULL};
    expect_refused(argv2, 2, "bad magic");
    /* One payload byte changed. */
    static uint8_t copy[200000];
    memcpy(copy, s_main, s_main_len);
    copy[1000] ^= 0x80u;
    assert_int_equal(testimg_write_file(path, copy, s_main_len), 0);
    expect_refused(argv, 2, "SHA-256 mismatch");
    /* Cut short. */
    assert_int_equal(testimg_write_file(path, s_main, s_main_len - 10u), 0);
    expect_refused(argv, 2, "shorter than");
    /* TLV info magic wrong: it follows the header, the payload and the protected TLVs. */
    memcpy(copy, s_main, s_main_len);
    size_t info = (size_t)(s_main[8] | s_main[9] << 8) + (size_t)(s_main[10] | s_main[11] << 8) +
                  ((size_t)s_main[12] | (size_t)s_main[13] << 8 | (size_t)s_main[14] << 16 |
                   (size_t)s_main[15] << 24);
    assert_true(info + 4u < s_main_len);
    copy[info] ^= 1u;
    assert_int_equal(testimg_write_file(path, copy, s_main_len), 0);
    expect_refused(argv, 2, "TLV info header");
    assert_int_equal(unlink(path), 0);
}

static void test_imgtool_images_served(void **state)
{
    (void)state;
    const char *names[] = {"ed25519-hdr32.img", "ed25519-hdr512.img", "ed25519-seccnt7.img",
                           "ecdsa-p256.img"};
    for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
        char path[512];
        (void)snprintf(path, sizeof(path), "%s/imgtool/%s", OTA_TESTVECTORS_DIR, names[i]);
        static char file[16384];
        long len = tnet_read_file(path, file, sizeof(file));
        assert_true(len > 0);
        struct server s;
        server_start(&s, path, NULL);
        int fd = tnet_connect(s.raw_port);
        assert_true(fd >= 0);
        assert_int_equal(tnet_send(fd, "GET firmware\r\n", 14), 0);
        bool reset = false;
        bool timed_out = false;
        assert_int_equal(tnet_recv_all(fd, s_buf, sizeof(s_buf), &reset, &timed_out), (size_t)len);
        assert_memory_equal(s_buf, file, (size_t)len);
        assert_int_equal(close(fd), 0);
        server_stop(&s, SIGTERM, "SIGTERM");
    }
}

static void test_bad_options(void **state)
{
    (void)state;
    char *a1[] = {(char *)OTASERVER, NULL};
    expect_refused(a1, 1, "--image is required");
    char *a2[] = {(char *)OTASERVER, (char *)"--image", s_main_path, (char *)"--port",
                  (char *)"70000", NULL};
    expect_refused(a2, 1, "expected 0..65535");
    char *a3[] = {(char *)OTASERVER, (char *)"--image", s_main_path, (char *)"--bogus",
                  (char *)"1", NULL};
    expect_refused(a3, 1, "unknown option");
    char *a4[] = {(char *)OTASERVER, (char *)"--image", s_main_path, (char *)"--bind",
                  (char *)"not-an-address", (char *)"--port", (char *)"0", NULL};
    expect_refused(a4, 3, "not a numeric address");
    char *a5[] = {(char *)OTASERVER, (char *)"--image", s_main_path, (char *)"--json",
                  (char *)"--quiet", NULL};
    expect_refused(a5, 1, "exclude each other");
    /* A port already in use by the shared server. */
    char port[16];
    (void)snprintf(port, sizeof(port), "%d", s_srv.raw_port);
    char *a6[] = {(char *)OTASERVER, (char *)"--image", s_main_path, (char *)"--port", port,
                  (char *)"--http-port", (char *)"0", NULL};
    expect_refused(a6, 3, "cannot listen");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_raw_plain_with_acks),
        cmocka_unit_test(test_raw_coalesced_acks),
        cmocka_unit_test(test_raw_resume),
        cmocka_unit_test(test_raw_errors),
        cmocka_unit_test(test_raw_non_ack_byte),
        cmocka_unit_test(test_http_get_200),
        cmocka_unit_test(test_http_head_then_get_keepalive),
        cmocka_unit_test(test_http_ranges),
        cmocka_unit_test(test_http_416_keeps_connection),
        cmocka_unit_test(test_http_400_431_505),
        cmocka_unit_test(test_http_404_405),
        cmocka_unit_test(test_http_connection_close_and_10),
        cmocka_unit_test(test_http_pipelined),
        cmocka_unit_test(test_http_if_range),
        cmocka_unit_test(test_http_close_with_unread_bytes),
        cmocka_unit_test(test_raw_client_half_close),
        cmocka_unit_test(test_disconnect_frees_slot),
        cmocka_unit_test(test_garbage_clients),
        cmocka_unit_test(test_concurrent_clients),
        cmocka_unit_test(test_http_split_requests_many),
        cmocka_unit_test(test_slow_reader_gets_everything),
        cmocka_unit_test(test_idle_and_slow_client_timeouts),
        cmocka_unit_test(test_busy_and_text_log),
        cmocka_unit_test(test_terminal_progress),
        cmocka_unit_test(test_nofile_limit),
        cmocka_unit_test(test_pacing),
        cmocka_unit_test(test_sigterm_mid_transfer),
        cmocka_unit_test(test_bad_images_refused),
        cmocka_unit_test(test_imgtool_images_served),
        cmocka_unit_test(test_bad_options),
    };
    return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
