/*
 * The OTA client's retry schedule on the device's network path (lib/ota -> ota_net_w5500 -> W5500
 * driver -> W5500 model -> loopback): refused connections are retried after backoff_first_ms,
 * doubling up to backoff_max_ms, max_attempts times in all, each failure named; a connection that
 * stages new bytes starts the schedule again; a chip that failed bring-up is reset again on the
 * next attempt; a server that never answers is a connect timeout, not a refusal.
 *
 * The client's clock (struct ota_net.millis) is a test clock that moves 1 ms per poll while the
 * client is in BACKOFF and stands still otherwise, so the waits between connection attempts are
 * exact numbers, independent of the machine's load. The model and the driver keep the real clock.
 */
#define _POSIX_C_SOURCE 200809L
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "boot_core.h"
#include "boot_hooks_quiet.h"
#include "device_sim.h"
#include "flash_layout.h"
#include "flash_sim.h"
#include "loopback.h"
#include "script_server.h"
#include "testimg.h"

const uint8_t boot_pubkey[32] = TESTIMG_KEY_A_PUB;

#define MAX_CONNECTS 16

static struct device_sim dev;
static uint8_t img_v2[200 * 1024];
static size_t img_v2_len;

/* The test clock and what the connect shim saw. */
static uint32_t t_ms;
static int (*real_connect)(void *ctx, const uint8_t ip[4], uint16_t port);
static uint32_t (*real_millis)(void *ctx);
static int connects;
static uint32_t connect_at[MAX_CONNECTS];
static int refuse_first; /* the first N connects are refused by the shim itself */

static uint32_t test_millis(void *ctx)
{
    (void)ctx;
    return t_ms;
}

static int shim_connect(void *ctx, const uint8_t ip[4], uint16_t port)
{
    if (connects < MAX_CONNECTS) {
        connect_at[connects] = t_ms;
    }
    connects++;
    if (connects <= refuse_first) {
        return OTA_NET_ERR_CLOSED;
    }
    return real_connect(ctx, ip, port);
}

/* RSTn as the board drives it, except that the first releases never reach the chip. */
static void (*real_reset_pin)(void *ctx, bool level);
static int releases_lost;

static void shim_reset_pin(void *ctx, bool level)
{
    if (level && releases_lost > 0) {
        releases_lost--;
        return;
    }
    real_reset_pin(ctx, level);
}

static void up(void)
{
    device_flash_factory(1, 30000);
    struct testimg_opts o = testimg_defaults(60000, 2, 0, 0);
    img_v2_len = testimg_build(&o, img_v2, sizeof img_v2);
    assert_true(img_v2_len > 0);
    assert_int_equal(device_up(&dev, false), 0);
    real_connect = dev.net.connect;
    real_millis = dev.net.millis;
    dev.net.connect = shim_connect;
    dev.net.millis = test_millis;
    t_ms = 1000;
    connects = 0;
    refuse_first = 0;
    memset(connect_at, 0, sizeof connect_at);
}

/* Polls the client to its end (bounded by polls, not by time). */
static int run(const struct ota_client_config *cfg)
{
    assert_int_equal(ota_client_init(&dev.client, cfg, &dev.net), 0);
    assert_int_equal(ota_client_start(&dev.client), 0);
    int rc = OTA_CLIENT_BUSY;
    for (long i = 0; i < 50000000L && rc == OTA_CLIENT_BUSY; i++) {
        rc = ota_client_poll(&dev.client);
        if (dev.client.state == OTA_ST_BACKOFF) {
            t_ms++;
        }
    }
    return rc;
}

static void test_refused_schedule(void **state)
{
    (void)state;
    up();
    /* A loopback port nobody listens on, kept reserved (no other test can listen there). */
    uint16_t port = 0;
    int reserved = refusing_port(&port);
    assert_int_equal(device_map(&dev, 8080, port), 0);
    struct ota_client_config cfg = device_client_config(DEVICE_SERVER_IP, 8080, OTA_PROTO_HTTP);
    cfg.backoff_first_ms = 100;
    cfg.backoff_max_ms = 400;
    cfg.max_attempts = 6;
    assert_int_equal(run(&cfg), OTA_ERR_CONNECT);
    assert_string_equal(ota_client_status_str(OTA_ERR_CONNECT), "connection refused");
    /* Refused by the host, through the model: the driver says so. */
    assert_int_equal(dev.nw.last_status, W5500_ERR_CLOSED);
    assert_int_equal(connects, 6);
    assert_int_equal(dev.client.stats.connections, 6);
    const uint32_t gaps[5] = {100, 200, 400, 400, 400};
    for (int i = 0; i < 5; i++) {
        assert_int_equal(connect_at[i + 1] - connect_at[i], gaps[i]);
    }
    assert_int_equal(device_down(&dev), 0);
    assert_int_equal(close(reserved), 0);
    /* Nothing was staged: version 1 stays. */
    struct boot_outcome out;
    assert_int_equal(boot_run(&boot_hooks_quiet, &out), BOOT_ERR_NONE);
    assert_int_equal(out.action, BOOT_ACTION_NONE);
}

static void test_progress_restarts_schedule(void **state)
{
    (void)state;
    up();
    static struct script srv;
    srv = (struct script){.proto = SCRIPT_HTTP, .img = img_v2, .len = img_v2_len};
    srv.drop_after[0] = 20000; /* the first connection that reaches the server ends early */
    server_start(&srv);
    assert_int_equal(device_map(&dev, 8080, srv.port), 0);
    refuse_first = 2;
    struct ota_client_config cfg = device_client_config(DEVICE_SERVER_IP, 8080, OTA_PROTO_HTTP);
    cfg.backoff_first_ms = 100;
    cfg.backoff_max_ms = 400;
    cfg.max_attempts = 3;
    assert_int_equal(run(&cfg), OTA_CLIENT_DONE);
    server_stop(&srv);
    /* Refused, refused, 20000 bytes then FIN, then the rest: the third connection made progress,
     * so the fourth comes after the first backoff again, and three attempts were enough although
     * four connections were made. */
    assert_int_equal(connects, 4);
    assert_int_equal(connect_at[1] - connect_at[0], 100);
    assert_int_equal(connect_at[2] - connect_at[1], 200);
    assert_int_equal(connect_at[3] - connect_at[2], 100);
    assert_int_equal(srv.conns, 2);
    assert_int_equal(srv.offsets[0], 0);
    assert_true(srv.offsets[1] >= 4096u && srv.offsets[1] <= 20000u);
    assert_int_equal(device_down(&dev), 0);
    assert_memory_equal(flash_sim_mem() + (STAGING_ADDR - FLASH_BASE_ADDR), img_v2, img_v2_len);
    struct boot_outcome out;
    assert_int_equal(boot_run(&boot_hooks_quiet, &out), BOOT_ERR_NONE);
    assert_int_equal(out.action, BOOT_ACTION_INSTALLED);
    assert_int_equal(out.version.iv_major, 2);
}

static void test_bringup_failure_is_retried(void **state)
{
    (void)state;
    up();
    /* The chip stays in reset through the first bring-up (VERSIONR reads nothing): that attempt
     * fails as "no W5500"; the next one pulses RSTn again instead of repeating the failure. */
    real_reset_pin = dev.port.reset_pin;
    dev.port.reset_pin = shim_reset_pin;
    releases_lost = 1;
    static struct script srv;
    srv = (struct script){.proto = SCRIPT_HTTP, .img = img_v2, .len = img_v2_len};
    server_start(&srv);
    assert_int_equal(device_map(&dev, 8080, srv.port), 0);
    struct ota_client_config cfg = device_client_config(DEVICE_SERVER_IP, 8080, OTA_PROTO_HTTP);
    cfg.backoff_first_ms = 100;
    cfg.max_attempts = 2;
    assert_int_equal(run(&cfg), OTA_CLIENT_DONE);
    server_stop(&srv);
    assert_int_equal(releases_lost, 0);
    /* The cause stays readable: not overwritten by the close that followed the failure. */
    assert_int_equal(dev.nw.last_status, W5500_ERR_NO_CHIP);
    assert_int_equal(connects, 1);
    assert_int_equal(srv.conns, 1);
    assert_int_equal(device_down(&dev), 0);
    struct boot_outcome out;
    assert_int_equal(boot_run(&boot_hooks_quiet, &out), BOOT_ERR_NONE);
    assert_int_equal(out.action, BOOT_ACTION_INSTALLED);
    assert_int_equal(out.version.iv_major, 2);
}

static void test_no_answer_is_a_timeout(void **state)
{
    (void)state;
    up();
    /* The driver's real clock for the client here: its connect timeout has to run out. */
    dev.net.millis = real_millis;
    /* A listener whose accept queue is full and never drained: Linux drops further SYNs, so the
     * model's connect gets no answer at all. */
    uint16_t port = 0;
    int lfd = loopback_bind(SOCK_STREAM, 0, &port);
    assert_true(lfd >= 0);
    struct sockaddr_in sa = loopback_addr(port);
    int filler = socket(AF_INET, SOCK_STREAM, 0);
    assert_true(filler >= 0);
    assert_int_equal(connect(filler, (struct sockaddr *)&sa, sizeof sa), 0);
    assert_int_equal(device_map(&dev, 8080, port), 0);
    struct ota_client_config cfg = device_client_config(DEVICE_SERVER_IP, 8080, OTA_PROTO_HTTP);
    cfg.connect_timeout_ms = 300;
    cfg.max_attempts = 2;
    int rc = run(&cfg);
    assert_int_equal(rc, OTA_ERR_CONNECT_TIMEOUT);
    assert_string_equal(ota_client_status_str(rc), "connect timed out");
    assert_int_equal(connects, 2);
    assert_int_equal(device_down(&dev), 0);
    (void)close(filler);
    (void)close(lfd);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_refused_schedule),
        cmocka_unit_test(test_progress_restarts_schedule),
        cmocka_unit_test(test_bringup_failure_is_retried),
        cmocka_unit_test(test_no_answer_is_a_timeout),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
