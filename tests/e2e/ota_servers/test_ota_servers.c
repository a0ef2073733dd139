/*
 * The device's network path (OTA client, W5500 driver, W5500 model) against real servers started
 * by the test on loopback ports: otaserver (raw, raw with offsets, HTTP), the tutorial's kinds of
 * raw server (fixed delay with ACKs never read and a reset after the last byte; ACK-paced), and
 * nginx with a generated configuration. Each download is verified, marked and installed by the
 * real bootloader core.
 */
#define _POSIX_C_SOURCE 200809L
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include "boot_core.h"
#include "boot_hooks_quiet.h"
#include "device_sim.h"
#include "flash_layout.h"
#include "flash_sim.h"
#include "loopback.h"
#include "testimg.h"

const uint8_t boot_pubkey[32] = TESTIMG_KEY_A_PUB;

static struct device_sim dev;
static uint8_t img_big[200 * 1024];
static size_t img_big_len;
static uint8_t img_small[4 * 1024];
static size_t img_small_len;
static const uint8_t *img_v2; /* the image the current case serves */
static size_t img_v2_len;
static char dir[64];
static char img_path[128];       /* 180 KB: spans the three staging sectors */
static char small_img_path[128]; /* 2 KB: a short run at the tutorial's own pace */


/* ---- processes ------------------------------------------------------------------------------ */

struct proc {
    pid_t pid;
    FILE *out;
};

/* Start argv with stdout on a pipe; returns the first line it prints (its "listening" line). */
static void proc_start(struct proc *p, char *const argv[], char *line, size_t cap)
{
    int fds[2];
    assert_int_equal(pipe(fds), 0);
    p->pid = fork();
    assert_true(p->pid >= 0);
    if (p->pid == 0) {
        if (dup2(fds[1], STDOUT_FILENO) < 0) {
            _exit(127);
        }
        (void)close(fds[0]);
        (void)close(fds[1]);
        execv(argv[0], argv);
        _exit(127);
    }
    assert_int_equal(close(fds[1]), 0);
    p->out = fdopen(fds[0], "r");
    assert_non_null(p->out);
    assert_non_null(fgets(line, (int)cap, p->out));
}

/* Wait for p to end by itself; returns its wait status. */
static int proc_wait(struct proc *p)
{
    int st = 0;
    assert_int_equal(waitpid(p->pid, &st, 0), p->pid);
    assert_int_equal(fclose(p->out), 0);
    return st;
}

static int proc_stop(struct proc *p)
{
    assert_int_equal(kill(p->pid, SIGTERM), 0);
    return proc_wait(p);
}

/* Run argv (stdout to /dev/null) and wait for it; true if it exited with status 0. No shell in
 * between, so nothing in the arguments is interpreted. */
static bool run_ok(char *const argv[])
{
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        int null_fd = open("/dev/null", O_WRONLY);
        if (null_fd < 0 || dup2(null_fd, STDOUT_FILENO) < 0) {
            _exit(127);
        }
        (void)close(null_fd);
        execv(argv[0], argv);
        _exit(127);
    }
    int st = 0;
    assert_int_equal(waitpid(pid, &st, 0), pid);
    return WIFEXITED(st) && WEXITSTATUS(st) == 0;
}

/* The decimal TCP port at the start of s (followed by white space or the end); fails the test
 * unless it is a whole number in 1..65535. */
static uint16_t parse_port(const char *s)
{
    char *end = NULL;
    errno = 0;
    long v = strtol(s, &end, 10);
    assert_int_equal(errno, 0);
    assert_true(end != s);
    assert_true(*end == '\0' || *end == ' ' || *end == '\n' || *end == '\r');
    assert_true(v >= 1 && v <= 65535);
    return (uint16_t)v;
}

/* tests/e2e/servers/nginx.sh start PORT DIR | stop PORT, run by /bin/sh. */
static bool nginx_ctl(const char *verb, uint16_t port)
{
    char script[512];
    char port_str[8];
    assert_true(snprintf(script, sizeof script, "%s/tests/e2e/servers/nginx.sh", OTA_SOURCE_DIR) <
                (int)sizeof script);
    assert_true(snprintf(port_str, sizeof port_str, "%u", port) < (int)sizeof port_str);
    char *argv[] = {"/bin/sh", script, (char *)verb, port_str, dir, NULL};
    if (strcmp(verb, "stop") == 0) {
        argv[4] = NULL; /* stop takes the port only */
    }
    return run_ok(argv);
}

static uint16_t free_port(void)
{
    /* Free when asked, not reserved: another process may take it before nginx binds it, so
     * nginx_start_any retries with another one. */
    uint16_t port = loopback_free_port();
    assert_true(port != 0);
    return port;
}

/* nginx on a free port; returns the port. */
static uint16_t nginx_start_any(void)
{
    for (int attempt = 0; attempt < 5; attempt++) {
        uint16_t port = free_port();
        if (nginx_ctl("start", port)) {
            return port;
        }
    }
    fail_msg("nginx did not start on any of 5 free ports");
    return 0;
}

/* ---- fixture -------------------------------------------------------------------------------- */

static int group_setup(void **state)
{
    (void)state;
    struct testimg_opts o = testimg_defaults(180000, 2, 0, 0);
    img_big_len = testimg_build(&o, img_big, sizeof img_big);
    o = testimg_defaults(2000, 2, 0, 0);
    img_small_len = testimg_build(&o, img_small, sizeof img_small);
    if (img_big_len == 0 || img_small_len == 0) {
        return -1;
    }
    static const char dir_template[] = "/tmp/ota-e2e-XXXXXX";
    memcpy(dir, dir_template, sizeof dir_template);
    if (mkdtemp(dir) == NULL) {
        return -1;
    }
    snprintf(img_path, sizeof img_path, "%s/firmware", dir);
    snprintf(small_img_path, sizeof small_img_path, "%s/small.img", dir);
    FILE *f = fopen(img_path, "wb");
    if (f == NULL || fwrite(img_big, 1, img_big_len, f) != img_big_len || fclose(f) != 0) {
        return -1;
    }
    f = fopen(small_img_path, "wb");
    if (f == NULL || fwrite(img_small, 1, img_small_len, f) != img_small_len || fclose(f) != 0) {
        return -1;
    }
    img_v2 = img_big;
    img_v2_len = img_big_len;
    return 0;
}

static int group_teardown(void **state)
{
    (void)state;
    unlink(img_path);
    unlink(small_img_path);
    rmdir(dir);
    return 0;
}

static void update_and_install(uint16_t host_port, int proto)
{
    device_flash_factory(1, 30000);
    assert_int_equal(device_up(&dev, true), 0);
    assert_int_equal(device_map(&dev, 5678, host_port), 0);
    struct ota_client_config cfg = device_client_config(DEVICE_SERVER_NAME, 5678, proto);
    int rc = device_run_update(&dev, &cfg, NULL, 120000);
    if (rc != OTA_CLIENT_DONE) {
        uint32_t done;
        uint32_t total;
        ota_client_progress(&dev.client, &done, &total);
        printf("update ended with %s after %u connections, %u of %u bytes staged, %u received, "
               "last driver status %s\n",
               ota_client_status_str(rc), dev.client.stats.connections, done, total,
               dev.client.stats.bytes_rx, w5500_status_str(dev.nw.last_status));
    }
    assert_int_equal(device_down(&dev), 0);
    assert_int_equal(rc, OTA_CLIENT_DONE);
    assert_memory_equal(flash_sim_mem() + (STAGING_ADDR - FLASH_BASE_ADDR), img_v2, img_v2_len);
    struct boot_outcome out;
    assert_int_equal(boot_run(&boot_hooks_quiet, &out), BOOT_ERR_NONE);
    assert_int_equal(out.action, BOOT_ACTION_INSTALLED);
    assert_int_equal(out.version.iv_major, 2);
}

/* ---- otaserver ------------------------------------------------------------------------------ */

static void otaserver_case(int proto)
{
    char exe[256];
    snprintf(exe, sizeof exe, "%s/otaserver", OTA_BINARY_DIR);
    char *argv[] = {exe, "--image", img_path, "--port", "0", "--http-port", "0", "--quiet", NULL};
    struct proc p;
    char line[512];
    proc_start(&p, argv, line, sizeof line);
    const char *raw = strstr(line, "raw_port=");
    const char *http = strstr(line, "http_port=");
    assert_non_null(raw);
    assert_non_null(http);
    uint16_t port = parse_port(proto == OTA_PROTO_HTTP ? http + 10 : raw + 9);
    update_and_install(port, proto);
    int st = proc_stop(&p);
    assert_true(WIFEXITED(st));
    assert_int_equal(WEXITSTATUS(st), 0); /* clean shutdown on SIGTERM */
}

static void test_otaserver_raw_tutorial_request(void **state)
{
    (void)state;
    otaserver_case(OTA_PROTO_RAW);
}

static void test_otaserver_raw_with_offsets(void **state)
{
    (void)state;
    otaserver_case(OTA_PROTO_RAW_RESUME);
}

static void test_otaserver_http(void **state)
{
    (void)state;
    otaserver_case(OTA_PROTO_HTTP);
}

/* ---- the tutorial's kinds of server ----------------------------------------------------------- */

static void tutorial_case(const char *mode, int want_exit)
{
    char exe[256];
    snprintf(exe, sizeof exe, "%s/tutorial_server", OTA_BINARY_DIR);
    /* The tutorial's pacing: 512 B every 250 ms, a sleep after every write, then a close that
     * unread ACKs turn into a reset. A small image (2 KB, five writes) keeps the test short. */
    img_v2 = img_small;
    img_v2_len = img_small_len;
    char *argv[] = {exe,          "--image", small_img_path, "--port",     "0", "--mode",
                    (char *)mode, "--chunk", "512",          "--delay-ms", "250", NULL};
    struct proc p;
    char line[128];
    proc_start(&p, argv, line, sizeof line);
    assert_int_equal(strncmp(line, "listening ", 10), 0);
    update_and_install(parse_port(line + 10), OTA_PROTO_RAW);
    int st = proc_wait(&p); /* it serves one client and exits by itself */
    assert_true(WIFEXITED(st));
    assert_int_equal(WEXITSTATUS(st), want_exit);
    img_v2 = img_big;
    img_v2_len = img_big_len;
}

static void test_tutorial_fixed_delay_server(void **state)
{
    (void)state;
    tutorial_case("fixed-delay", 0);
}

static void test_tutorial_ack_paced_server(void **state)
{
    (void)state;
    /* It aborts (exit 3) if two ACKs ever arrive in one read: exit 0 proves one per 512 bytes. */
    tutorial_case("ack-paced", 0);
}

/* ---- nginx ---------------------------------------------------------------------------------- */

static void test_nginx_http_range(void **state)
{
    (void)state;
    uint16_t port = nginx_start_any();
    update_and_install(port, OTA_PROTO_HTTP);
    assert_true(nginx_ctl("stop", port));
}

static bool nginx_reset_done;
static uint16_t nginx_port;

static void reset_device_at_120k(struct device_sim *d, uint32_t staged)
{
    if (!nginx_reset_done && staged > 120000) {
        nginx_reset_done = true;
        struct ota_client_config cfg = d->client.cfg;
        assert_int_equal(w5500_sock_close(&d->dev, 0), W5500_OK);
        assert_int_equal(ota_client_init(&d->client, &cfg, &d->net), 0);
        assert_int_equal(ota_client_start(&d->client), 0);
        assert_true(d->client.stats.resumed_from >= 118784); /* last 4 KB checkpoint */
    }
}

static void test_nginx_resume_after_device_reset(void **state)
{
    (void)state;
    nginx_port = nginx_start_any();
    device_flash_factory(1, 30000);
    assert_int_equal(device_up(&dev, true), 0);
    assert_int_equal(device_map(&dev, 80, nginx_port), 0);
    nginx_reset_done = false;
    struct ota_client_config cfg = device_client_config(DEVICE_SERVER_NAME, 80, OTA_PROTO_HTTP);
    assert_int_equal(device_run_update(&dev, &cfg, reset_device_at_120k, 120000),
                     OTA_CLIENT_DONE);
    assert_true(nginx_reset_done);
    assert_int_equal(device_down(&dev), 0);
    assert_true(nginx_ctl("stop", nginx_port));
    assert_memory_equal(flash_sim_mem() + (STAGING_ADDR - FLASH_BASE_ADDR), img_v2, img_v2_len);
    struct boot_outcome out;
    assert_int_equal(boot_run(&boot_hooks_quiet, &out), BOOT_ERR_NONE);
    assert_int_equal(out.version.iv_major, 2);
}

int main(void)
{
    signal(SIGPIPE, SIG_IGN);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_otaserver_raw_tutorial_request),
        cmocka_unit_test(test_otaserver_raw_with_offsets),
        cmocka_unit_test(test_otaserver_http),
        cmocka_unit_test(test_tutorial_fixed_delay_server),
        cmocka_unit_test(test_tutorial_ack_paced_server),
        cmocka_unit_test(test_nginx_http_range),
        cmocka_unit_test(test_nginx_resume_after_device_reset),
    };
    return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
