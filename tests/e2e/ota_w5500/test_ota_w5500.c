/*
 * The device's whole network path on the host: OTA client -> ota_net_w5500 -> W5500 driver ->
 * SPI pins of the W5500 model -> virtual LAN (DHCP, DNS) -> loopback -> a scripted server; then
 * the real bootloader core installs the download from the simulated flash.
 */
#define _POSIX_C_SOURCE 200809L
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <stdio.h>
#include <string.h>
#include <time.h>

#include "boot_core.h"
#include "bootctl.h"
#include "flash_layout.h"
#include "flash_sim.h"
#include "ota_client.h"
#include "ota_net_w5500.h"
#include "script_server.h"
#include "testimg.h"
#include "w5500.h"
#include "w5500_model.h"

const uint8_t boot_pubkey[32] = TESTIMG_KEY_A_PUB;

#define LAN_IP(a, b, c, d) (((uint32_t)(a) << 24) | ((uint32_t)(b) << 16) | ((uint32_t)(c) << 8) | (d))

/* ---- the SPI bus between driver and model, on the real clock ------------------------------ */

struct shim {
    struct w5500_model *m;
    uint64_t t0_us;
};

static uint64_t mono_us(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000u + (uint64_t)ts.tv_nsec / 1000u;
}

static uint64_t shim_now(struct shim *s)
{
    return mono_us() - s->t0_us;
}

static void shim_select(void *ctx)
{
    struct shim *s = ctx;
    w5500_model_advance(s->m, shim_now(s));
    w5500_model_set_scsn(s->m, false);
}

static void shim_deselect(void *ctx)
{
    struct shim *s = ctx;
    w5500_model_set_scsn(s->m, true);
}

static int shim_transfer(void *ctx, const uint8_t *tx, uint8_t *rx, size_t len)
{
    struct shim *s = ctx;
    for (size_t i = 0; i < len; i++) {
        uint8_t b = w5500_model_spi_byte(s->m, tx != NULL ? tx[i] : 0x00);
        if (rx != NULL) {
            rx[i] = b;
        }
    }
    return 0;
}

static void shim_reset(void *ctx, bool level)
{
    struct shim *s = ctx;
    w5500_model_advance(s->m, shim_now(s));
    w5500_model_set_rstn(s->m, level);
}

static uint32_t shim_millis(void *ctx)
{
    struct shim *s = ctx;
    uint64_t now = shim_now(s);
    w5500_model_advance(s->m, now);
    return (uint32_t)(now / 1000u);
}

/* ---- the device -------------------------------------------------------------------------- */

static struct shim shim;
static struct w5500_port port = {shim_select, shim_deselect, shim_transfer, shim_reset,
                                 shim_millis, &shim};
static struct w5500_dev dev;
static struct ota_net_w5500 nw;
static struct ota_net net;
static struct ota_client client;
static uint8_t img_v1[64 * 1024];
static uint8_t img_v2[200 * 1024];
static size_t img_v1_len;
static size_t img_v2_len;

static void hook_log(void *ctx, const char *line)
{
    (void)ctx;
    (void)line;
}

static void hook_kick(void *ctx)
{
    (void)ctx;
}

static const struct boot_hooks hooks = {NULL, hook_log, hook_kick, NULL};

static void device_up(struct script *srv, bool dhcp)
{
    flash_sim_reset();
    struct testimg_opts o = testimg_defaults(30000, 1, 0, 0);
    img_v1_len = testimg_build(&o, img_v1, sizeof img_v1);
    assert_true(img_v1_len > 0);
    assert_int_equal(testimg_factory_install(img_v1, img_v1_len), 0);
    o = testimg_defaults(180000, 2, 0, 0);
    img_v2_len = testimg_build(&o, img_v2, sizeof img_v2);
    assert_true(img_v2_len > 0);

    srv->img = img_v2;
    srv->len = img_v2_len;
    server_start(srv);

    struct w5500_model_config mc;
    w5500_model_config_default(&mc);
    shim.m = w5500_model_new(&mc);
    assert_non_null(shim.m);
    shim.t0_us = mono_us();
    assert_int_equal(w5500_model_map_tcp(shim.m, LAN_IP(192, 168, 1, 2), 5678, srv->port), 0);
    assert_int_equal(w5500_model_dns_add(shim.m, "fw.example.lan", LAN_IP(192, 168, 1, 2)), 0);

    struct w5500_config wc;
    memset(&wc, 0, sizeof wc);
    for (int i = 0; i < 12; i++) {
        wc.uid[i] = (uint8_t)(0x30 + i);
    }
    const uint8_t tx[8] = {8, 2, 2, 2, 2, 0, 0, 0};
    const uint8_t rx[8] = {8, 2, 2, 2, 2, 0, 0, 0};
    memcpy(wc.tx_kb, tx, 8);
    memcpy(wc.rx_kb, rx, 8);
    wc.link_timeout_ms = 3000;
    assert_int_equal(w5500_init(&dev, &port, &wc), W5500_OK);

    struct ota_net_w5500_config nc;
    memset(&nc, 0, sizeof nc);
    nc.use_dhcp = dhcp;
    if (!dhcp) {
        const struct w5500_netcfg st = {{192, 168, 1, 50}, {255, 255, 255, 0}, {192, 168, 1, 1}};
        nc.static_net = st;
        memcpy(nc.dns_server, (uint8_t[]){192, 168, 1, 1}, 4);
    }
    nc.tcp_sn = 0;
    nc.dhcp_sn = 1;
    nc.dns_sn = 2;
    nc.first_local_port = 40000;
    nc.seed = 0x1234567u;
    assert_int_equal(ota_net_w5500_init(&nw, &dev, &nc, &net), OTA_NET_OK);
}

static void device_down(struct script *srv)
{
    server_stop(srv);
    /* Every socket the driver opened is closed again. */
    for (uint8_t sn = 0; sn < 8; sn++) {
        uint8_t sr = 0xFF;
        assert_int_equal(w5500_sock_status(&dev, sn, &sr), W5500_OK);
        assert_int_equal(sr, 0x00);
    }
    w5500_model_free(shim.m);
    shim.m = NULL;
}

static int run_client(const char *host, int proto, bool reset_midway, int (*every)(uint32_t))
{
    static const uint8_t key[32] = TESTIMG_KEY_A_PUB;
    struct ota_client_config cfg = {0};
    cfg.host = host;
    cfg.port = 5678;
    cfg.path = "/firmware";
    cfg.proto = (uint8_t)proto;
    cfg.connect_timeout_ms = 5000;
    cfg.recv_timeout_ms = 2000;
    cfg.total_timeout_ms = 120000;
    cfg.max_attempts = 5;
    cfg.backoff_first_ms = 10;
    cfg.backoff_max_ms = 100;
    cfg.pubkey = key;
    assert_int_equal(ota_client_init(&client, &cfg, &net), 0);
    assert_int_equal(ota_client_start(&client), 0);
    int rc = OTA_CLIENT_BUSY;
    bool fired = false;
    uint64_t t0 = mono_us();
    while (rc == OTA_CLIENT_BUSY && mono_us() - t0 < 100000000u) {
        rc = ota_client_poll(&client);
        uint32_t done;
        uint32_t total;
        ota_client_progress(&client, &done, &total);
        if (every != NULL && !fired && every(done) != 0) {
            fired = true;
        }
        if (reset_midway && !fired && done > 100000) {
            fired = true;
            /* The device resets: RAM state is lost, flash and the chip's sockets are not. */
            assert_int_equal(w5500_sock_close(&dev, 0), W5500_OK);
            assert_int_equal(ota_client_init(&client, &cfg, &net), 0);
            assert_int_equal(ota_client_start(&client), 0);
            assert_true(client.stats.resumed_from > 90000);
        }
    }
    return rc;
}

static void assert_v2_installed(void)
{
    assert_memory_equal(flash_sim_mem() + (STAGING_ADDR - FLASH_BASE_ADDR), img_v2, img_v2_len);
    struct boot_outcome out;
    assert_int_equal(boot_run(&hooks, &out), BOOT_ERR_NONE);
    assert_int_equal(out.action, BOOT_ACTION_INSTALLED);
    assert_int_equal(out.version.iv_major, 2);
}

static void test_http_with_dhcp_and_dns(void **state)
{
    (void)state;
    static struct script srv;
    srv = (struct script){.proto = SCRIPT_HTTP};
    device_up(&srv, true);
    assert_int_equal(run_client("fw.example.lan", OTA_PROTO_HTTP, false, NULL), OTA_CLIENT_DONE);
    struct w5500_model_stats st;
    w5500_model_get_stats(shim.m, &st);
    assert_true(st.dhcp_requests >= 2); /* DISCOVER + REQUEST */
    assert_true(st.dns_queries >= 1);
    printf("http over w5500: %zu image bytes, %llu SPI bytes, %.4f SPI bytes per payload byte, "
           "%llu frames\n",
           img_v2_len, (unsigned long long)st.spi_bytes,
           (double)st.spi_bytes / (double)st.rx_payload, (unsigned long long)st.spi_frames);
    device_down(&srv);
    assert_v2_installed();
}

static void test_raw_tutorial_protocol_static_ip(void **state)
{
    (void)state;
    static struct script srv;
    srv = (struct script){.proto = SCRIPT_RAW};
    device_up(&srv, false);
    assert_int_equal(run_client("192.168.1.2", OTA_PROTO_RAW, false, NULL), OTA_CLIENT_DONE);
    device_down(&srv);
    assert_int_equal(srv.acks, img_v2_len / 512);
    assert_v2_installed();
}

static uint32_t reset_at;

static int reset_peer_at_60k(uint32_t done)
{
    if (done > 60000) {
        reset_at = done;
        assert_int_equal(w5500_model_fault_tcp_reset(shim.m, 0), W5500_MODEL_OK);
        return 1;
    }
    return 0;
}

static void test_raw_resume_after_peer_reset(void **state)
{
    (void)state;
    static struct script srv;
    srv = (struct script){.proto = SCRIPT_RAW_RESUME};
    device_up(&srv, true);
    assert_int_equal(run_client("192.168.1.2", OTA_PROTO_RAW_RESUME, false, reset_peer_at_60k),
                     OTA_CLIENT_DONE);
    device_down(&srv);
    /* Each reconnect continues where the last one stopped; the one after the reset asked for at
     * least what was staged when the peer reset (a slow machine may add timeouts and retries). */
    assert_true(srv.conns >= 2 && srv.conns <= MAX_CONNS);
    for (int i = 1; i < srv.conns; i++) {
        assert_true(srv.offsets[i] >= srv.offsets[i - 1]);
    }
    assert_true(srv.offsets[srv.conns - 1] >= reset_at);
    assert_v2_installed();
}

static void test_device_reset_mid_download(void **state)
{
    (void)state;
    static struct script srv;
    srv = (struct script){.proto = SCRIPT_HTTP};
    device_up(&srv, true);
    assert_int_equal(run_client("fw.example.lan", OTA_PROTO_HTTP, true, NULL), OTA_CLIENT_DONE);
    device_down(&srv);
    assert_v2_installed();
}

static void test_unmapped_server_times_out(void **state)
{
    (void)state;
    static struct script srv;
    srv = (struct script){.proto = SCRIPT_HTTP};
    device_up(&srv, false);
    static const uint8_t key[32] = TESTIMG_KEY_A_PUB;
    struct ota_client_config cfg = {0};
    cfg.host = "192.168.1.77"; /* nobody there: the chip's ARP times out */
    cfg.port = 5678;
    cfg.path = "/firmware";
    cfg.proto = OTA_PROTO_HTTP;
    cfg.connect_timeout_ms = 10000;
    cfg.max_attempts = 1;
    cfg.pubkey = key;
    assert_int_equal(ota_client_init(&client, &cfg, &net), 0);
    assert_int_equal(ota_client_start(&client), 0);
    int rc = OTA_CLIENT_BUSY;
    while (rc == OTA_CLIENT_BUSY) {
        rc = ota_client_poll(&client);
    }
    assert_int_equal(rc, OTA_ERR_CONNECT);
    device_down(&srv);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_http_with_dhcp_and_dns),
        cmocka_unit_test(test_raw_tutorial_protocol_static_ip),
        cmocka_unit_test(test_raw_resume_after_peer_reset),
        cmocka_unit_test(test_device_reset_mid_download),
        cmocka_unit_test(test_unmapped_server_times_out),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
