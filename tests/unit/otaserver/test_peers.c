/*
 * The reference peers of tests/e2e/servers: tutorial_server in both modes (the quirks the OTA
 * client must survive) and nginx.sh serving a Range request.
 */
#define _GNU_SOURCE
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "testimg.h"
#include "tnet.h"

#define TUTORIAL_SERVER OTA_BINARY_DIR "/tutorial_server"
#define NGINX_SH OTA_SOURCE_DIR "/tests/e2e/servers/nginx.sh"

static char s_dir[] = "/tmp/ota-peertest-XXXXXX";
static char s_path[300];
static uint8_t *s_img;
static size_t s_len;
static uint8_t s_buf[1u << 20];

static int group_setup(void **state)
{
    (void)state;
    if (mkdtemp(s_dir) == NULL) {
        return -1;
    }
    struct testimg_opts o = testimg_defaults(7000, 1, 0, 0);
    s_len = testimg_size(&o);
    s_img = malloc(s_len);
    if (s_img == NULL || testimg_build(&o, s_img, s_len) != s_len) {
        return -1;
    }
    (void)snprintf(s_path, sizeof(s_path), "%s/app.img", s_dir);
    return testimg_write_file(s_path, s_img, s_len);
}

static int group_teardown(void **state)
{
    (void)state;
    free(s_img);
    (void)unlink(s_path);
    (void)rmdir(s_dir);
    return 0;
}

static int start_tutorial(struct tproc *p, const char *mode)
{
    char *argv[] = {(char *)TUTORIAL_SERVER, (char *)"--image", s_path, (char *)"--port",
                    (char *)"0", (char *)"--mode", (char *)mode, (char *)"--chunk", (char *)"512",
                    (char *)"--delay-ms", (char *)"1", NULL};
    assert_int_equal(tproc_start(p, argv), 0);
    char line[128];
    assert_int_equal(tproc_wait_line(p, "listening ", line, sizeof(line)), 0);
    int port = tnet_int(line + 10);
    assert_true(port > 0);
    int fd = tnet_connect(port);
    assert_true(fd >= 0);
    assert_int_equal(tnet_send(fd, "GET firmware\r\n", 14), 0);
    return fd;
}

static void test_fixed_delay_resets_after_last_byte(void **state)
{
    (void)state;
    struct tproc p;
    int fd = start_tutorial(&p, "fixed-delay");
    size_t got = 0;
    size_t acks = 0;
    int end_errno = 0;
    for (;;) {
        ssize_t n = recv(fd, s_buf + got, sizeof(s_buf) - got, 0);
        if (n <= 0) {
            end_errno = n == 0 ? 0 : errno;
            break;
        }
        got += (size_t)n;
        while ((acks + 1u) * 512u <= got) {
            /* The server may already be gone: a failed ACK is part of the behaviour. */
            if (tnet_send(fd, "A", 1) != 0) {
                break;
            }
            acks++;
        }
    }
    /* Every byte arrived before the reset, and the end is a reset, not a FIN. */
    assert_int_equal(got, s_len);
    assert_memory_equal(s_buf, s_img, s_len);
    assert_int_equal(end_errno, ECONNRESET);
    assert_int_equal(close(fd), 0);
    assert_int_equal(tproc_wait(&p), 0);
    tproc_cleanup(&p);
}

static void test_ack_paced_one_ack_per_chunk(void **state)
{
    (void)state;
    struct tproc p;
    int fd = start_tutorial(&p, "ack-paced");
    size_t got = 0;
    while (got < s_len) {
        size_t chunk = s_len - got < 512u ? s_len - got : 512u;
        assert_int_equal(tnet_recv_exact(fd, s_buf + got, chunk), 0);
        got += chunk;
        if (chunk == 512u) {
            assert_int_equal(tnet_send(fd, "A", 1), 0);
        }
    }
    assert_memory_equal(s_buf, s_img, s_len);
    bool reset = false;
    bool timed_out = false;
    assert_int_equal(tnet_recv_all(fd, s_buf, sizeof(s_buf), &reset, &timed_out), 0);
    assert_false(timed_out);
    assert_int_equal(close(fd), 0);
    assert_int_equal(tproc_wait(&p), 0);
    char line[128];
    assert_int_equal(tproc_wait_line(&p, "sent ", line, sizeof(line)), 0);
    char want[64];
    (void)snprintf(want, sizeof(want), "sent %zu bytes", s_len);
    assert_string_equal(line, want);
    tproc_cleanup(&p);
}

static void test_ack_paced_aborts_on_coalesced_acks(void **state)
{
    (void)state;
    struct tproc p;
    int fd = start_tutorial(&p, "ack-paced");
    assert_int_equal(tnet_recv_exact(fd, s_buf, 512), 0);
    assert_int_equal(tnet_send(fd, "AA", 2), 0);
    bool reset = false;
    bool timed_out = false;
    size_t rest = tnet_recv_all(fd, s_buf, sizeof(s_buf), &reset, &timed_out);
    assert_false(timed_out);
    assert_int_equal(rest, 0); /* nothing after the first chunk */
    assert_int_equal(close(fd), 0);
    assert_int_equal(tproc_wait(&p), 3);
    assert_int_equal(tproc_wait_line(&p, "abort: expected one 'A', read 2 byte(s)", NULL, 0), 0);
    tproc_cleanup(&p);
}

static void test_tutorial_usage(void **state)
{
    (void)state;
    struct tproc p;
    char *argv[] = {(char *)TUTORIAL_SERVER, (char *)"--image", s_path, (char *)"--mode",
                    (char *)"bogus", NULL};
    assert_int_equal(tproc_start(&p, argv), 0);
    assert_int_equal(tproc_wait(&p), 1);
    tproc_cleanup(&p);
}

static int run_sh(char *const argv[])
{
    struct tproc p;
    assert_int_equal(tproc_start(&p, argv), 0);
    int rc = tproc_wait(&p);
    tproc_cleanup(&p);
    return rc;
}

static char s_nginx_port[16]; /* set while a test's nginx may be running */

/* nginx daemonises: stop it even when an assertion ended the test early. */
static int nginx_teardown(void **state)
{
    (void)state;
    if (s_nginx_port[0] != '\0') {
        char *stop[] = {(char *)"/bin/sh", (char *)NGINX_SH, (char *)"stop", s_nginx_port, NULL};
        struct tproc p;
        if (tproc_start(&p, stop) == 0) {
            (void)tproc_wait(&p);
            tproc_cleanup(&p);
        }
        s_nginx_port[0] = '\0';
    }
    return 0;
}

static void test_nginx_sh_serves_ranges(void **state)
{
    (void)state;
    /* A port free when asked is not reserved: another process may take it before nginx binds
     * it (nginx.sh start then fails), so another one is tried. */
    int port = 0;
    char *portstr = s_nginx_port;
    char *start[] = {(char *)"/bin/sh", (char *)NGINX_SH, (char *)"start", portstr, s_dir, NULL};
    char *stop[] = {(char *)"/bin/sh", (char *)NGINX_SH, (char *)"stop", portstr, NULL};
    int started = -1;
    for (int attempt = 0; attempt < 5 && started != 0; attempt++) {
        port = tnet_free_port();
        assert_true(port > 0);
        (void)snprintf(s_nginx_port, sizeof(s_nginx_port), "%d", port);
        started = run_sh(start);
    }
    assert_int_equal(started, 0);
    int fd = tnet_connect(port);
    assert_true(fd >= 0);
    const char *req = "GET /app.img HTTP/1.1\r\nHost: t\r\nRange: bytes=100-1123\r\n\r\n";
    assert_int_equal(tnet_send(fd, req, strlen(req)), 0);
    struct thttp_resp r;
    assert_int_equal(thttp_read(fd, &r, s_buf, sizeof(s_buf), false), 0);
    assert_int_equal(r.status, 206);
    assert_int_equal(r.body_len, 1024);
    assert_memory_equal(s_buf, s_img + 100, 1024);
    char v[128];
    char want[64];
    assert_int_equal(thttp_header(&r, "Content-Range", v, sizeof(v)), 0);
    (void)snprintf(want, sizeof(want), "bytes 100-1123/%zu", s_len);
    assert_string_equal(v, want);
    /* Whole file on the same (kept-alive) connection. */
    req = "GET /app.img HTTP/1.1\r\nHost: t\r\n\r\n";
    assert_int_equal(tnet_send(fd, req, strlen(req)), 0);
    assert_int_equal(thttp_read(fd, &r, s_buf, sizeof(s_buf), false), 0);
    assert_int_equal(r.status, 200);
    assert_int_equal(r.body_len, s_len);
    assert_memory_equal(s_buf, s_img, s_len);
    assert_int_equal(close(fd), 0);
    assert_int_equal(run_sh(stop), 0);
    /* Stopped: nobody listens any more, and a second stop says so. */
    assert_int_equal(tnet_connect(port), -1);
    assert_int_equal(run_sh(stop), 1);
    s_nginx_port[0] = '\0';
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_fixed_delay_resets_after_last_byte),
        cmocka_unit_test(test_ack_paced_one_ack_per_chunk),
        cmocka_unit_test(test_ack_paced_aborts_on_coalesced_acks),
        cmocka_unit_test(test_tutorial_usage),
        cmocka_unit_test_teardown(test_nginx_sh_serves_ranges, nginx_teardown),
    };
    return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
