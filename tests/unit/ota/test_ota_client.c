/*
 * The OTA client end to end on the host: real TCP on loopback against a scripted server thread
 * (raw tutorial protocol, raw with offsets, HTTP with Range), the simulated NOR flash, the real
 * boot-control records, and finally the real bootloader core installing what was downloaded.
 * Faults: drops at many offsets, a device reset mid-download, a stalling server, garbage, a too
 * large image, a downgrade, a wrongly signed image, a refused connection, a failed DNS lookup.
 */
#define _POSIX_C_SOURCE 200809L
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "boot_core.h"
#include "boot_hooks_quiet.h"
#include "bootctl.h"
#include "flash_layout.h"
#include "flash_sim.h"
#include "ota_client.h"
#include "script_server.h"
#include "sock_net.h"
#include "testimg.h"

const uint8_t boot_pubkey[32] = TESTIMG_KEY_A_PUB;


/* ---- device side ---------------------------------------------------------------------------- */

static uint8_t img_v1[160 * 1024];
static size_t img_v1_len;
static uint8_t img_v2[160 * 1024];
static size_t img_v2_len;

static struct ota_client client;
static struct sock_net snet;
static struct ota_net net;

static void board_fresh(void)
{
    flash_sim_reset();
    struct testimg_opts o = testimg_defaults(20000, 1, 0, 0);
    img_v1_len = testimg_build(&o, img_v1, sizeof img_v1);
    assert_true(img_v1_len > 0);
    assert_int_equal(testimg_factory_install(img_v1, img_v1_len), 0);
    o = testimg_defaults(140000, 2, 0, 0); /* spans all three staging sectors */
    img_v2_len = testimg_build(&o, img_v2, sizeof img_v2);
    assert_true(img_v2_len > 0);
}

static struct ota_client_config config(int proto, uint16_t port)
{
    static const uint8_t key[32] = TESTIMG_KEY_A_PUB;
    struct ota_client_config cfg = {0};
    cfg.host = "127.0.0.1";
    cfg.port = port;
    cfg.path = "/firmware";
    cfg.proto = (uint8_t)proto;
    cfg.connect_timeout_ms = 2000;
    /* The client's clock stands still while the server thread has something to send (attach), so
     * this expires only while the server is silent; generous anyway, except where a test waits for
     * it on purpose (stall_config). */
    cfg.recv_timeout_ms = 5000;
    cfg.total_timeout_ms = 60000;
    cfg.max_attempts = 6;
    cfg.backoff_first_ms = 5;
    cfg.backoff_max_ms = 40;
    cfg.pubkey = key;
    return cfg;
}

static uint64_t real_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

/* Poll until the client leaves BUSY or `stop_at` bytes are staged (0: no stop). The 60 s of real
 * time only turn a hang into a failure. */
static int run(uint32_t stop_at)
{
    int rc = OTA_CLIENT_BUSY;
    uint64_t t0 = real_ms();
    for (long i = 0; rc == OTA_CLIENT_BUSY && real_ms() - t0 < 60000u; i++) {
        rc = ota_client_poll(&client);
        uint32_t done;
        uint32_t total;
        ota_client_progress(&client, &done, &total);
        if (stop_at != 0 && done >= stop_at) {
            break;
        }
        if ((i & 63) == 0) {
            struct timespec ts = {0, 20000};
            nanosleep(&ts, NULL);
        }
    }
    return rc;
}

static bool srv_busy(const void *srv)
{
    return server_busy(srv);
}

/* A fresh network adapter whose clock stands still while srv is busy (script_server.h): the
 * client's timeouts run only while the server thread has nothing to do, however long the
 * scheduler keeps either thread waiting on a loaded machine. */
static void attach(const struct script *srv)
{
    sock_net_init(&snet, &net);
    snet.hold = srv_busy;
    snet.hold_arg = srv;
}

static void start_client_with(const struct script *srv, const struct ota_client_config *cfg)
{
    attach(srv);
    assert_int_equal(ota_client_init(&client, cfg, &net), 0);
    assert_int_equal(ota_client_start(&client), 0);
}

static void start_client(const struct script *srv, int proto)
{
    struct ota_client_config cfg = config(proto, srv->port);
    start_client_with(srv, &cfg);
}

/* For the stall tests, which wait for the receive timeout: short, as it can only run out while
 * the server stalls (attach). */
static struct ota_client_config stall_config(int proto, uint16_t port)
{
    struct ota_client_config cfg = config(proto, port);
    cfg.recv_timeout_ms = 300;
    return cfg;
}

static const uint8_t *staging_bytes(void)
{
    return flash_sim_mem() + (STAGING_ADDR - FLASH_BASE_ADDR);
}

/* The bootloader core installs what the client marked, and version 2 then boots. */
static void assert_installs_v2(void)
{
    struct bootctl_scan scan;
    assert_int_equal(bootctl_scan(&scan), 0);
    assert_true(scan.pending_valid);
    struct boot_outcome out;
    assert_int_equal(boot_run(&boot_hooks_quiet, &out), BOOT_ERR_NONE);
    assert_int_equal(out.action, BOOT_ACTION_INSTALLED);
    assert_int_equal(out.jump_addr, APP_ADDR);
    assert_int_equal(out.version.iv_major, 2);
}

static int setup(void **state)
{
    (void)state;
    board_fresh();
    return 0;
}

static void test_raw_tutorial_protocol(void **state)
{
    (void)state;
    static struct script s;
    s = (struct script){.proto = OTA_PROTO_RAW, .img = img_v2, .len = img_v2_len};
    server_start(&s);
    start_client(&s, OTA_PROTO_RAW);
    assert_int_equal(run(0), OTA_CLIENT_DONE);
    server_stop(&s);
    sock_net_close_all(&snet);
    assert_memory_equal(staging_bytes(), img_v2, img_v2_len);
    /* One 'A' per 512 bytes received; a short last block is not acknowledged. */
    assert_int_equal(s.acks, img_v2_len / 512);
    assert_int_equal(client.stats.acks_sent, img_v2_len / 512);
    assert_int_equal(s.conns, 1);
    assert_installs_v2();
}

static void test_raw_drops_resume_with_offsets(void **state)
{
    (void)state;
    static struct script s;
    s = (struct script){.proto = OTA_PROTO_RAW_RESUME, .img = img_v2, .len = img_v2_len};
    s.drop_after[0] = 10000;
    s.drop_after[1] = 33333;
    s.drop_after[2] = 1;
    s.drop_after[3] = 70001;
    server_start(&s);
    start_client(&s, OTA_PROTO_RAW_RESUME);
    assert_int_equal(run(0), OTA_CLIENT_DONE);
    server_stop(&s);
    sock_net_close_all(&snet);
    assert_int_equal(s.conns, 5);
    /* Every reconnect asked for exactly what was missing. */
    assert_int_equal(s.offsets[0], 0);
    assert_int_equal(s.offsets[1], 10000);
    assert_int_equal(s.offsets[2], 43333);
    assert_int_equal(s.offsets[3], 43334);
    assert_int_equal(s.offsets[4], 113335);
    assert_memory_equal(staging_bytes(), img_v2, img_v2_len);
    assert_int_equal(client.stats.bytes_skipped, 0);
    assert_installs_v2();
}

static void test_resets_lose_nothing_written(void **state)
{
    (void)state;
    /* A reset may discard bytes still in the receive queue: the client asks for them again. */
    static struct script s;
    s = (struct script){.proto = OTA_PROTO_RAW_RESUME, .img = img_v2, .len = img_v2_len, .rst = true};
    for (int i = 0; i < 4; i++) {
        s.drop_after[i] = 9000 + 7001u * (uint32_t)i;
    }
    server_start(&s);
    start_client(&s, OTA_PROTO_RAW_RESUME);
    assert_int_equal(run(0), OTA_CLIENT_DONE);
    server_stop(&s);
    sock_net_close_all(&snet);
    assert_true(s.conns >= 2);
    for (int i = 1; i < s.conns && i < MAX_CONNS; i++) {
        assert_true(s.offsets[i] >= s.offsets[i - 1]);
    }
    assert_memory_equal(staging_bytes(), img_v2, img_v2_len);
    assert_installs_v2();
}

static void test_http_drops_resume_with_range(void **state)
{
    (void)state;
    static struct script s;
    s = (struct script){.proto = OTA_PROTO_HTTP, .img = img_v2, .len = img_v2_len};
    s.drop_after[0] = 5000;
    s.drop_after[1] = 60000;
    server_start(&s);
    start_client(&s, OTA_PROTO_HTTP);
    assert_int_equal(run(0), OTA_CLIENT_DONE);
    server_stop(&s);
    sock_net_close_all(&snet);
    assert_int_equal(s.conns, 3);
    assert_int_equal(s.offsets[1], 5000);
    assert_int_equal(s.offsets[2], 65000);
    assert_memory_equal(staging_bytes(), img_v2, img_v2_len);
    assert_installs_v2();
}

static void test_raw_tutorial_drop_skips_written_bytes(void **state)
{
    (void)state;
    static struct script s;
    s = (struct script){.proto = OTA_PROTO_RAW, .img = img_v2, .len = img_v2_len};
    s.drop_after[0] = 50000;
    server_start(&s);
    start_client(&s, OTA_PROTO_RAW);
    assert_int_equal(run(0), OTA_CLIENT_DONE);
    server_stop(&s);
    sock_net_close_all(&snet);
    assert_int_equal(s.conns, 2);
    /* The tutorial's server always starts at 0: what is in flash is received again, not written. */
    assert_int_equal(client.stats.bytes_skipped, 50000);
    assert_memory_equal(staging_bytes(), img_v2, img_v2_len);
}

static void test_device_reset_resumes_from_checkpoint(void **state)
{
    (void)state;
    static struct script s;
    s = (struct script){.proto = OTA_PROTO_HTTP, .img = img_v2, .len = img_v2_len};
    server_start(&s);
    start_client(&s, OTA_PROTO_HTTP);
    assert_int_equal(run(90000), OTA_CLIENT_BUSY);
    /* Reset: RAM is gone, only flash remains. */
    sock_net_close_all(&snet);
    memset(&client, 0xA5, sizeof client);
    start_client(&s, OTA_PROTO_HTTP);
    assert_true(client.stats.resumed_from >= 86016); /* last 4 KB checkpoint at or before 90000 */
    assert_int_equal(run(0), OTA_CLIENT_DONE);
    server_stop(&s);
    sock_net_close_all(&snet);
    assert_int_equal(s.offsets[s.conns - 1], client.stats.resumed_from);
    assert_memory_equal(staging_bytes(), img_v2, img_v2_len);
    assert_installs_v2();
}

static void test_stalled_server_times_out_then_resumes(void **state)
{
    (void)state;
    static struct script s;
    s = (struct script){.proto = OTA_PROTO_RAW_RESUME, .img = img_v2, .len = img_v2_len};
    s.stall = true;
    server_start(&s);
    struct ota_client_config cfg = stall_config(OTA_PROTO_RAW_RESUME, s.port);
    start_client_with(&s, &cfg);
    assert_int_equal(run(0), OTA_CLIENT_DONE); /* second connection completes */
    server_stop(&s);
    sock_net_close_all(&snet);
    assert_int_equal(s.conns, 2);
    assert_int_equal(s.offsets[1], 3072);
    assert_memory_equal(staging_bytes(), img_v2, img_v2_len);
}

static void test_stalled_server_gives_up(void **state)
{
    (void)state;
    static struct script s;
    s = (struct script){.proto = OTA_PROTO_RAW_RESUME, .img = img_v2, .len = img_v2_len};
    for (int i = 0; i < MAX_CONNS; i++) {
        s.drop_after[i] = 0;
    }
    s.stall = true;
    s.stall_all = true;
    server_start(&s);
    struct ota_client_config cfg = stall_config(OTA_PROTO_RAW_RESUME, s.port);
    cfg.max_attempts = 2;
    start_client_with(&s, &cfg);
    assert_int_equal(run(0), OTA_ERR_RECV_TIMEOUT);
    server_stop(&s);
    sock_net_close_all(&snet);
    /* The first connection made progress, then two in a row made none. */
    assert_int_equal(s.conns, 3);
    struct bootctl_scan scan;
    assert_int_equal(bootctl_scan(&scan), 0);
    assert_false(scan.pending_valid);
}

static void assert_nothing_erased(void)
{
    struct flash_sim_counters ct;
    flash_sim_counters(&ct);
    for (unsigned sec = 3; sec < FLASH_SECTOR_COUNT; sec++) {
        assert_int_equal(ct.sector_erases[sec], 0);
    }
}

static void test_garbage_is_refused_before_any_erase(void **state)
{
    (void)state;
    static struct script s;
    s = (struct script){.proto = OTA_PROTO_RAW, .img = img_v2, .len = img_v2_len, .garbage = true};
    server_start(&s);
    flash_sim_counters_clear();
    start_client(&s, OTA_PROTO_RAW);
    assert_int_equal(run(0), OTA_ERR_HEADER);
    server_stop(&s);
    sock_net_close_all(&snet);
    assert_nothing_erased();
}

static void test_too_big_and_downgrade_refused_before_erase(void **state)
{
    (void)state;
    static uint8_t big[64];
    memcpy(big, img_v2, sizeof big);
    /* Header claims a payload larger than the staging area. */
    big[12] = 0x00;
    big[13] = 0x00;
    big[14] = 0x04;
    big[15] = 0x00;
    static struct script s;
    s = (struct script){.proto = OTA_PROTO_RAW, .img = big, .len = sizeof big};
    server_start(&s);
    flash_sim_counters_clear();
    start_client(&s, OTA_PROTO_RAW);
    assert_int_equal(run(0), OTA_ERR_HEADER);
    server_stop(&s);
    sock_net_close_all(&snet);
    assert_nothing_erased();

    /* Version 1.0.0 is installed: serving 1.0.0 again is a downgrade unless forced. */
    static struct script s2;
    s2 = (struct script){.proto = OTA_PROTO_RAW, .img = img_v1, .len = img_v1_len};
    server_start(&s2);
    start_client(&s2, OTA_PROTO_RAW);
    assert_int_equal(run(0), OTA_ERR_DOWNGRADE);
    server_stop(&s2);
    sock_net_close_all(&snet);
    assert_nothing_erased();
}

static void test_wrong_signature_never_marked(void **state)
{
    (void)state;
    static uint8_t bad[160 * 1024];
    struct testimg_opts o = testimg_defaults(30000, 3, 0, 0);
    o.sign_key = TESTIMG_KEY_B;
    size_t len = testimg_build(&o, bad, sizeof bad);
    assert_true(len > 0);
    static struct script s;
    s = (struct script){.proto = OTA_PROTO_HTTP, .img = bad, .len = len};
    server_start(&s);
    start_client(&s, OTA_PROTO_HTTP);
    assert_int_equal(run(0), OTA_ERR_VERIFY);
    server_stop(&s);
    sock_net_close_all(&snet);
    struct bootctl_scan scan;
    assert_int_equal(bootctl_scan(&scan), 0);
    assert_false(scan.pending_valid);
    /* The bootloader keeps version 1. */
    struct boot_outcome out;
    assert_int_equal(boot_run(&boot_hooks_quiet, &out), BOOT_ERR_NONE);
    assert_int_equal(out.action, BOOT_ACTION_NONE);
    assert_int_equal(out.version.iv_major, 1);
}

static void test_connect_refused_and_dns_failure(void **state)
{
    (void)state;
    /* A port nobody listens on (kept reserved: no other test can start listening there). */
    uint16_t port = 0;
    int reserved = refusing_port(&port);
    struct ota_client_config cfg = config(OTA_PROTO_RAW, port);
    cfg.max_attempts = 3;
    sock_net_init(&snet, &net);
    assert_int_equal(ota_client_init(&client, &cfg, &net), 0);
    assert_int_equal(ota_client_start(&client), 0);
    assert_int_equal(run(0), OTA_ERR_CONNECT);
    assert_int_equal(snet.connects, 3);
    assert_int_equal(close(reserved), 0);

    cfg.host = "fw.example";
    sock_net_init(&snet, &net);
    snet.name = "other.example";
    assert_int_equal(ota_client_init(&client, &cfg, &net), 0);
    assert_int_equal(ota_client_start(&client), 0);
    assert_int_equal(run(0), OTA_ERR_DNS);

    sock_net_init(&snet, &net);
    snet.net_down = true;
    assert_int_equal(ota_client_init(&client, &cfg, &net), 0);
    assert_int_equal(ota_client_start(&client), 0);
    assert_int_equal(run(0), OTA_ERR_NET);
    assert_nothing_erased();
}

static void test_network_and_name_timeouts(void **state)
{
    (void)state;
    /* No link/address ever: bounded by net_timeout_ms, not by the (longer) connect timeout. */
    struct ota_client_config cfg = config(OTA_PROTO_HTTP, 8080);
    cfg.net_timeout_ms = 100;
    cfg.connect_timeout_ms = 60000;
    cfg.max_attempts = 2;
    sock_net_init(&snet, &net);
    snet.net_pending = true;
    assert_int_equal(ota_client_init(&client, &cfg, &net), 0);
    assert_int_equal(ota_client_start(&client), 0);
    assert_int_equal(run(0), OTA_ERR_NET);
    assert_int_equal(client.attempts, 2);

    /* A silent DNS server: bounded by resolve_timeout_ms. */
    cfg = config(OTA_PROTO_HTTP, 8080);
    cfg.host = "fw.example";
    cfg.resolve_timeout_ms = 100;
    cfg.max_attempts = 1;
    sock_net_init(&snet, &net);
    snet.name = "fw.example";
    snet.resolve_hang = true;
    assert_int_equal(ota_client_init(&client, &cfg, &net), 0);
    assert_int_equal(ota_client_start(&client), 0);
    assert_int_equal(run(0), OTA_ERR_DNS);
    assert_int_equal(snet.connects, 0);
    assert_nothing_erased();
}

static void test_host_name_resolves(void **state)
{
    (void)state;
    static struct script s;
    s = (struct script){.proto = OTA_PROTO_HTTP, .img = img_v2, .len = img_v2_len};
    server_start(&s);
    struct ota_client_config cfg = config(OTA_PROTO_HTTP, s.port);
    cfg.host = "fw.example";
    attach(&s);
    snet.name = "fw.example";
    memcpy(snet.name_ip, (uint8_t[]){192, 168, 1, 2}, 4);
    assert_int_equal(ota_client_init(&client, &cfg, &net), 0);
    assert_int_equal(ota_client_start(&client), 0);
    assert_int_equal(run(0), OTA_CLIENT_DONE);
    server_stop(&s);
    sock_net_close_all(&snet);
    assert_installs_v2();
}

static void test_image_changing_for_ever_is_given_up(void **state)
{
    (void)state;
    /* Every answer says the image changed: the client starts over twice, then stops. */
    static struct script s;
    s = (struct script){.proto = OTA_PROTO_RAW_RESUME, .img = img_v2, .len = img_v2_len,
                        .answer = "ERR 412 image-changed\r\n"};
    server_start(&s);
    flash_sim_counters_clear();
    start_client(&s, OTA_PROTO_RAW_RESUME);
    assert_int_equal(run(0), OTA_ERR_SERVER);
    server_stop(&s);
    sock_net_close_all(&snet);
    assert_int_equal(s.conns, 1 + OTA_CLIENT_MAX_RESTARTS);
    assert_nothing_erased();
}

static void test_config_checked(void **state)
{
    (void)state;
    struct ota_client_config cfg = config(OTA_PROTO_HTTP, 80);
    sock_net_init(&snet, &net);
    cfg.path = "firmware";
    assert_int_equal(ota_client_init(&client, &cfg, &net), OTA_ERR_ARG);
    cfg = config(OTA_PROTO_HTTP, 0);
    assert_int_equal(ota_client_init(&client, &cfg, &net), OTA_ERR_ARG);
    cfg = config(7, 80);
    assert_int_equal(ota_client_init(&client, &cfg, &net), OTA_ERR_ARG);
    cfg = config(OTA_PROTO_RAW, 80);
    cfg.pubkey = NULL;
    assert_int_equal(ota_client_init(&client, &cfg, &net), OTA_ERR_ARG);
    assert_string_equal(ota_client_status_str(OTA_ERR_DOWNGRADE), "not newer than installed");
}

/* The application refuses what the bootloader would not start: the same vector rule. */
static void test_vector_rule_is_the_bootloaders(void **state)
{
    (void)state;
    static const uint32_t sps[] = {0, SRAM_BASE_ADDR, SRAM_BASE_ADDR + 4, SRAM_BASE_ADDR + 8,
                                   SRAM_BASE_ADDR + SRAM_TOTAL_SIZE - 4,
                                   SRAM_BASE_ADDR + SRAM_TOTAL_SIZE,
                                   SRAM_BASE_ADDR + SRAM_TOTAL_SIZE + 8, 0x10000000u, 0xFFFFFFF8u};
    static const uint32_t resets[] = {0, 1, APP_ADDR, APP_ADDR + 1, APP_ADDR + 0x3FF,
                                      APP_ADDR + 0x400, APP_ADDR + 0x401, APP_ADDR - 1,
                                      0x08020101u, 0xFFFFFFFFu};
    unsigned ok = 0;
    for (size_t i = 0; i < sizeof sps / sizeof sps[0]; i++) {
        for (size_t j = 0; j < sizeof resets / sizeof resets[0]; j++) {
            bool want = boot_vector_ok(sps[i], resets[j], 0x400);
            assert_int_equal(ota_vector_ok(sps[i], resets[j], 0x400), want);
            ok += want ? 1u : 0u;
        }
    }
    assert_int_equal(ok, 2 * 2); /* stack top SRAM + 8 or the SRAM end x APP_ADDR + 1, + 0x3FF */
    assert_string_equal(ota_client_status_str(OTA_ERR_VECTORS), "bad vector table");
    assert_string_equal(ota_client_status_str(OTA_ERR_TRUNCATED), "image truncated at the server");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup(test_raw_tutorial_protocol, setup),
        cmocka_unit_test_setup(test_raw_drops_resume_with_offsets, setup),
        cmocka_unit_test_setup(test_resets_lose_nothing_written, setup),
        cmocka_unit_test_setup(test_http_drops_resume_with_range, setup),
        cmocka_unit_test_setup(test_raw_tutorial_drop_skips_written_bytes, setup),
        cmocka_unit_test_setup(test_device_reset_resumes_from_checkpoint, setup),
        cmocka_unit_test_setup(test_stalled_server_times_out_then_resumes, setup),
        cmocka_unit_test_setup(test_stalled_server_gives_up, setup),
        cmocka_unit_test_setup(test_garbage_is_refused_before_any_erase, setup),
        cmocka_unit_test_setup(test_too_big_and_downgrade_refused_before_erase, setup),
        cmocka_unit_test_setup(test_wrong_signature_never_marked, setup),
        cmocka_unit_test_setup(test_connect_refused_and_dns_failure, setup),
        cmocka_unit_test_setup(test_network_and_name_timeouts, setup),
        cmocka_unit_test_setup(test_host_name_resolves, setup),
        cmocka_unit_test_setup(test_image_changing_for_ever_is_given_up, setup),
        cmocka_unit_test_setup(test_config_checked, setup),
        cmocka_unit_test(test_vector_rule_is_the_bootloaders),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
