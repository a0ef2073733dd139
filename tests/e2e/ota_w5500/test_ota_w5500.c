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

#include "boot_core.h"
#include "boot_hooks_quiet.h"
#include "device_sim.h"
#include "flash_layout.h"
#include "flash_sim.h"
#include "script_server.h"
#include "testimg.h"

const uint8_t boot_pubkey[32] = TESTIMG_KEY_A_PUB;

static struct device_sim dev;
static uint8_t img_v2[200 * 1024];
static size_t img_v2_len;


static void up(struct script *srv, bool dhcp)
{
    device_flash_factory(1, 30000);
    struct testimg_opts o = testimg_defaults(180000, 2, 0, 0);
    img_v2_len = testimg_build(&o, img_v2, sizeof img_v2);
    assert_true(img_v2_len > 0);
    srv->img = img_v2;
    srv->len = img_v2_len;
    server_start(srv);
    assert_int_equal(device_up(&dev, dhcp), 0);
    assert_int_equal(device_map(&dev, 5678, srv->port), 0);
}

static void down(struct script *srv)
{
    server_stop(srv);
    assert_int_equal(device_down(&dev), 0); /* no socket left open */
}

static void assert_v2_installed(void)
{
    assert_memory_equal(flash_sim_mem() + (STAGING_ADDR - FLASH_BASE_ADDR), img_v2, img_v2_len);
    struct boot_outcome out;
    assert_int_equal(boot_run(&boot_hooks_quiet, &out), BOOT_ERR_NONE);
    assert_int_equal(out.action, BOOT_ACTION_INSTALLED);
    assert_int_equal(out.version.iv_major, 2);
}

static void test_http_with_dhcp_and_dns(void **state)
{
    (void)state;
    static struct script srv;
    srv = (struct script){.proto = SCRIPT_HTTP};
    up(&srv, true);
    struct ota_client_config cfg = device_client_config(DEVICE_SERVER_NAME, 5678, OTA_PROTO_HTTP);
    assert_int_equal(device_run_update(&dev, &cfg, NULL, 60000), OTA_CLIENT_DONE);
    struct w5500_model_stats st;
    w5500_model_get_stats(dev.model, &st);
    assert_true(st.dhcp_requests >= 2); /* DISCOVER + REQUEST */
    assert_true(st.dns_queries >= 1);
    printf("http over w5500: %zu image bytes, %llu SPI bytes, %.4f SPI bytes per payload byte, "
           "%llu frames\n",
           img_v2_len, (unsigned long long)st.spi_bytes,
           (double)st.spi_bytes / (double)st.rx_payload, (unsigned long long)st.spi_frames);
    down(&srv);
    assert_v2_installed();
}

static void test_raw_tutorial_protocol_static_ip(void **state)
{
    (void)state;
    static struct script srv;
    srv = (struct script){.proto = SCRIPT_RAW};
    up(&srv, false);
    struct ota_client_config cfg = device_client_config(DEVICE_SERVER_IP, 5678, OTA_PROTO_RAW);
    assert_int_equal(device_run_update(&dev, &cfg, NULL, 60000), OTA_CLIENT_DONE);
    down(&srv);
    assert_int_equal(srv.acks, img_v2_len / 512); /* every 'A' reached the server */
    assert_v2_installed();
}

static uint32_t reset_at;

static void reset_peer_at_60k(struct device_sim *d, uint32_t staged)
{
    if (reset_at == 0 && staged > 60000) {
        reset_at = staged;
        assert_int_equal(w5500_model_fault_tcp_reset(d->model, 0), W5500_MODEL_OK);
    }
}

static void test_raw_resume_after_peer_reset(void **state)
{
    (void)state;
    static struct script srv;
    srv = (struct script){.proto = SCRIPT_RAW_RESUME};
    up(&srv, true);
    reset_at = 0;
    struct ota_client_config cfg = device_client_config(DEVICE_SERVER_IP, 5678,
                                                        OTA_PROTO_RAW_RESUME);
    assert_int_equal(device_run_update(&dev, &cfg, reset_peer_at_60k, 60000), OTA_CLIENT_DONE);
    down(&srv);
    /* Each reconnect continues where the last one stopped; the one after the reset asked for at
     * least what was staged when the peer reset (a slow machine may add timeouts and retries). */
    assert_true(srv.conns >= 2 && srv.conns <= MAX_CONNS);
    for (int i = 1; i < srv.conns; i++) {
        assert_true(srv.offsets[i] >= srv.offsets[i - 1]);
    }
    assert_true(srv.offsets[srv.conns - 1] >= reset_at);
    assert_v2_installed();
}

static bool reset_done;

static void device_reset_at_100k(struct device_sim *d, uint32_t staged)
{
    if (!reset_done && staged > 100000) {
        reset_done = true;
        /* The device resets: RAM state is lost, flash is not; the chip is reset by bring-up. */
        struct ota_client_config cfg = d->client.cfg;
        assert_int_equal(w5500_sock_close(&d->dev, 0), W5500_OK);
        assert_int_equal(ota_client_init(&d->client, &cfg, &d->net), 0);
        assert_int_equal(ota_client_start(&d->client), 0);
        assert_true(d->client.stats.resumed_from > 90000);
    }
}

static void test_device_reset_mid_download(void **state)
{
    (void)state;
    static struct script srv;
    srv = (struct script){.proto = SCRIPT_HTTP};
    up(&srv, true);
    reset_done = false;
    struct ota_client_config cfg = device_client_config(DEVICE_SERVER_NAME, 5678, OTA_PROTO_HTTP);
    assert_int_equal(device_run_update(&dev, &cfg, device_reset_at_100k, 60000), OTA_CLIENT_DONE);
    assert_true(reset_done);
    down(&srv);
    assert_v2_installed();
}

static void test_unmapped_server_times_out(void **state)
{
    (void)state;
    static struct script srv;
    srv = (struct script){.proto = SCRIPT_HTTP};
    up(&srv, false);
    /* Nobody at .77: the chip's ARP gives up and the connect fails. */
    struct ota_client_config cfg = device_client_config("192.168.1.77", 5678, OTA_PROTO_HTTP);
    cfg.connect_timeout_ms = 10000;
    cfg.max_attempts = 1;
    assert_int_equal(device_run_update(&dev, &cfg, NULL, 60000), OTA_ERR_CONNECT_TIMEOUT);
    down(&srv);
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
