/*
 * Device-side cost of one update, from the host build: the OTA client, W5500 driver and W5500
 * model download a 200 KB image from a loopback server into the simulated flash. Prints, per
 * protocol: bytes on the wire, SPI bytes and frames clocked, SPI bytes per payload byte, flash
 * operations (erases per sector, words programmed, sector-2 records). The client is polled every
 * millisecond while idle, as the firmware's main loop does. Device time comes from the virtual
 * board.
 */
#define _POSIX_C_SOURCE 200809L
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "device_sim.h"
#include "flash_sim.h"
#include "script_server.h"
#include "testimg.h"

const uint8_t boot_pubkey[32] = TESTIMG_KEY_A_PUB;

static uint8_t img[210 * 1024];

/* The firmware polls the client on each 1 ms tick when nothing moved, not in a busy loop: the
 * same here, so idle polling does not dominate the SPI figures. */
static void idle_wait(struct device_sim *d, uint32_t staged)
{
    static uint32_t last;
    struct w5500_model_stats st;
    w5500_model_get_stats(d->model, &st);
    static uint64_t last_rx;
    if (staged == last && st.rx_payload == last_rx) {
        struct timespec ts = {0, 1000000};
        nanosleep(&ts, NULL);
    }
    last = staged;
    last_rx = st.rx_payload;
}

static int run(const char *name, int proto, size_t len)
{
    static struct script srv;
    static struct device_sim dev;
    srv = (struct script){.proto = proto, .img = img, .len = len};
    server_start(&srv);
    device_flash_factory(1, 20000);
    if (device_up(&dev, true) != 0 || device_map(&dev, 5678, srv.port) != 0) {
        server_stop(&srv);
        return -1;
    }
    flash_sim_counters_clear();
    struct ota_client_config cfg = device_client_config(DEVICE_SERVER_IP, 5678, proto);
    int rc = device_run_update(&dev, &cfg, idle_wait, 120000);
    struct w5500_model_stats st;
    w5500_model_get_stats(dev.model, &st);
    struct flash_sim_counters fc;
    flash_sim_counters(&fc);
    (void)device_down(&dev);
    server_stop(&srv);
    if (rc != OTA_CLIENT_DONE) {
        printf("%-22s failed: %s\n", name, ota_client_status_str(rc));
        return -1;
    }
    printf("%-22s %8zu %9llu %9llu %8llu %8.4f %7llu   %u/%u/%u %8u %5u\n", name, len,
           (unsigned long long)st.rx_payload, (unsigned long long)st.tx_payload,
           (unsigned long long)st.spi_bytes, (double)st.spi_bytes / (double)st.rx_payload,
           (unsigned long long)st.spi_frames, fc.sector_erases[3], fc.sector_erases[4],
           fc.sector_erases[5], fc.words, fc.sector_words[2] / 8u);
    return 0;
}

int main(void)
{
    struct testimg_opts o = testimg_defaults(200 * 1024 - 400, 2, 0, 0);
    size_t len = testimg_build(&o, img, sizeof img);
    if (len == 0) {
        return 1;
    }
    printf("OTA update, device side (200 KB image; W5500 socket 0 with 8 KB buffers)\n");
    printf("%-22s %8s %9s %9s %8s %8s %7s   %s %8s %5s\n", "protocol", "image", "rx bytes",
           "tx bytes", "SPI B", "SPI/B", "frames", "erases s3/4/5", "words", "recs");
    int bad = 0;
    bad |= run("raw (tutorial)", SCRIPT_RAW, len);
    bad |= run("raw with offsets", SCRIPT_RAW_RESUME, len);
    bad |= run("HTTP/1.1 Range", SCRIPT_HTTP, len);
    return bad != 0;
}
