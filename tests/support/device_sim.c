/* The device's network side on the host (see device_sim.h). */
#define _POSIX_C_SOURCE 200809L
#include "device_sim.h"

#include <string.h>
#include <time.h>

#include "flash_sim.h"
#include "testimg.h"

/* One full-size Ethernet frame on a 100 Mbit/s wire: (1500 + 14 header + 4 FCS + 8 preamble + 12
 * gap) bytes x 8 bits / 100 bits per microsecond = 123 us. */
#define DEVICE_FRAME_US 123u

static uint64_t mono_us(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000u + (uint64_t)ts.tv_nsec / 1000u;
}

static uint64_t dev_now(const struct device_sim *d)
{
    return mono_us() - d->t0_us;
}

static void shim_select(void *ctx)
{
    struct device_sim *d = ctx;
    w5500_model_advance(d->model, dev_now(d));
    w5500_model_set_scsn(d->model, false);
}

static void shim_deselect(void *ctx)
{
    struct device_sim *d = ctx;
    w5500_model_set_scsn(d->model, true);
}

static int shim_transfer(void *ctx, const uint8_t *tx, uint8_t *rx, size_t len)
{
    struct device_sim *d = ctx;
    for (size_t i = 0; i < len; i++) {
        uint8_t b = w5500_model_spi_byte(d->model, tx != NULL ? tx[i] : 0x00);
        if (rx != NULL) {
            rx[i] = b;
        }
    }
    return 0;
}

static void shim_reset(void *ctx, bool level)
{
    struct device_sim *d = ctx;
    w5500_model_advance(d->model, dev_now(d));
    w5500_model_set_rstn(d->model, level);
}

static uint32_t shim_millis(void *ctx)
{
    struct device_sim *d = ctx;
    uint64_t now = dev_now(d);
    w5500_model_advance(d->model, now);
    return (uint32_t)(now / 1000u);
}

void device_flash_factory(uint8_t v1_major, uint32_t v1_size)
{
    static uint8_t img[256 * 1024];
    flash_sim_reset();
    struct testimg_opts o = testimg_defaults(v1_size, v1_major, 0, 0);
    size_t len = testimg_build(&o, img, sizeof img);
    if (len == 0 || testimg_factory_install(img, len) != 0) {
        flash_sim_reset(); /* the test's own checks will see no application */
    }
}

int device_up(struct device_sim *d, bool dhcp)
{
    memset(d, 0, sizeof(*d));
    struct w5500_model_config mc;
    w5500_model_config_default(&mc);
    /* The model's clock is the host's real time here. On the wire, frames follow each other no
     * faster than their length allows, so a driver's two back-to-back reads of Sn_RX_RSR (a few
     * microseconds apart) almost always agree; taken whenever the host socket had some, a server
     * thread sending 512 bytes at a time on a loaded machine changed RSR between every pair of
     * reads and the driver gave up with W5500_ERR_UNSTABLE (test_net_backoff, 11 failures in 60
     * runs next to fw_badimg). */
    mc.rx_frame_us = DEVICE_FRAME_US;
    d->model = w5500_model_new(&mc);
    if (d->model == NULL) {
        return -1;
    }
    d->t0_us = mono_us();
    if (w5500_model_dns_add(d->model, DEVICE_SERVER_NAME, 0xC0A80102u) != W5500_MODEL_OK) {
        return -1;
    }
    d->port = (struct w5500_port){shim_select, shim_deselect, shim_transfer, shim_reset,
                                  shim_millis, d};
    struct w5500_config wc;
    memset(&wc, 0, sizeof wc);
    for (int i = 0; i < 12; i++) {
        wc.uid[i] = (uint8_t)(0x30 + i);
    }
    const uint8_t sizes[8] = {8, 2, 2, 2, 2, 0, 0, 0};
    memcpy(wc.tx_kb, sizes, 8);
    memcpy(wc.rx_kb, sizes, 8);
    wc.link_timeout_ms = 3000;
    if (w5500_init(&d->dev, &d->port, &wc) != W5500_OK) {
        return -1;
    }
    struct ota_net_w5500_config nc;
    memset(&nc, 0, sizeof nc);
    nc.use_dhcp = dhcp;
    if (!dhcp) {
        const struct w5500_netcfg st = {{192, 168, 1, 50}, {255, 255, 255, 0}, {192, 168, 1, 1}};
        nc.static_net = st;
        const uint8_t dns[4] = {192, 168, 1, 1};
        memcpy(nc.dns_server, dns, 4);
    }
    nc.tcp_sn = 0;
    nc.dhcp_sn = 1;
    nc.dns_sn = 2;
    nc.first_local_port = 40000;
    nc.seed = 0x1234567u;
    return ota_net_w5500_init(&d->nw, &d->dev, &nc, &d->net) == OTA_NET_OK ? 0 : -1;
}

int device_map(struct device_sim *d, uint16_t lan_port, uint16_t host_port)
{
    return w5500_model_map_tcp(d->model, 0xC0A80102u, lan_port, host_port);
}

int device_down(struct device_sim *d)
{
    int open = 0;
    for (uint8_t sn = 0; sn < W5500_NUM_SOCKETS; sn++) {
        uint8_t sr = 0xFF;
        if (w5500_sock_status(&d->dev, sn, &sr) != W5500_OK || sr != 0x00) {
            open++;
        }
    }
    w5500_model_free(d->model);
    d->model = NULL;
    return open;
}

struct ota_client_config device_client_config(const char *host, uint16_t port, int proto)
{
    static const uint8_t key[32] = TESTIMG_KEY_A_PUB;
    struct ota_client_config cfg;
    memset(&cfg, 0, sizeof cfg);
    cfg.host = host;
    cfg.port = port;
    cfg.path = "/firmware";
    cfg.proto = (uint8_t)proto;
    cfg.connect_timeout_ms = 5000;
    /* Real time, and the server is another thread or process on a loaded machine where tests run
     * in parallel: as generous as the application's own. No test here waits for it to expire. */
    cfg.recv_timeout_ms = 10000;
    cfg.total_timeout_ms = 120000;
    cfg.max_attempts = 5;
    cfg.backoff_first_ms = 10;
    cfg.backoff_max_ms = 200;
    cfg.pubkey = key;
    return cfg;
}

int device_run_update(struct device_sim *d, const struct ota_client_config *cfg,
                      void (*each)(struct device_sim *d, uint32_t staged), uint64_t max_ms)
{
    int rc = ota_client_init(&d->client, cfg, &d->net);
    if (rc != 0) {
        return rc;
    }
    rc = ota_client_start(&d->client);
    if (rc != 0) {
        return rc;
    }
    rc = OTA_CLIENT_BUSY;
    uint64_t t0 = mono_us();
    while (rc == OTA_CLIENT_BUSY && mono_us() - t0 < max_ms * 1000u) {
        rc = ota_client_poll(&d->client);
        if (each != NULL) {
            uint32_t done;
            uint32_t total;
            ota_client_progress(&d->client, &done, &total);
            each(d, done);
        }
    }
    return rc;
}
