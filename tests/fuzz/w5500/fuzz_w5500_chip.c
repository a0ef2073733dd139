/*
 * libFuzzer harness for the driver's trust boundary with the chip. The harness decodes SPI frames;
 * configuration registers read back what was written (so bring-up gets through), while everything
 * the chip itself produces comes from the fuzz input: Sn_CR/Sn_IR/Sn_SR, FSR/RSR and the buffer
 * pointers, PHYCFGR, and the contents of the RX buffers (UDP headers, DHCP/DNS replies). The driver, DHCP client and DNS resolver are driven for a bounded number of calls with
 * exact-size heap buffers; ASan/UBSan flag any read or write outside them, and every status must
 * be one of the named codes.
 */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "w5500.h"
#include "w5500_dhcp.h"
#include "w5500_dns.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

struct feed {
    const uint8_t *p;
    size_t n;
    size_t pos;
    uint32_t ms;
    bool selected;
    size_t fpos;
    uint16_t addr;
    uint8_t ctrl;
    uint8_t common[0x40];
    uint8_t sreg[8][0x30];
};

static uint8_t next_input(struct feed *f)
{
    return f->pos < f->n ? f->p[f->pos++] : 0;
}

/* One data byte of a frame: echo configuration, take chip-owned values from the input. */
static uint8_t chip_byte(struct feed *f, uint8_t mosi)
{
    uint16_t a = (uint16_t)(f->addr + (f->fpos - 3u));
    uint8_t bsb = f->ctrl >> 3;
    bool write = (f->ctrl & 0x04u) != 0;
    unsigned sn = bsb >> 2;
    if (bsb == 0) {
        if (a >= sizeof f->common) {
            return next_input(f);
        }
        if (write) {
            f->common[a] = mosi;
            return 0;
        }
        return a == 0x39 ? 0x04 : a == 0x2E ? next_input(f) : f->common[a];
    }
    if ((bsb & 3u) == 1u) {
        bool chip_owned = a <= 0x03 || (a >= 0x20 && a <= 0x2B) || a >= 0x30;
        if (write) {
            if (a < 0x30) {
                f->sreg[sn][a] = mosi;
            }
            return 0;
        }
        return chip_owned ? next_input(f) : f->sreg[sn][a];
    }
    return write ? 0 : next_input(f);
}

static void f_select(void *ctx)
{
    struct feed *f = ctx;
    if (f->selected) {
        abort(); /* frames never nest */
    }
    f->selected = true;
    f->fpos = 0;
}

static void f_deselect(void *ctx)
{
    struct feed *f = ctx;
    if (!f->selected) {
        abort();
    }
    f->selected = false;
}

static int f_transfer(void *ctx, const uint8_t *tx, uint8_t *rx, size_t len)
{
    struct feed *f = ctx;
    if (!f->selected) {
        abort();
    }
    for (size_t i = 0; i < len; i++) {
        uint8_t mosi = tx != NULL ? tx[i] : 0; /* ASan: the whole tx buffer must be readable */
        uint8_t b = 0;
        if (f->fpos == 0) {
            f->addr = (uint16_t)(mosi << 8);
        } else if (f->fpos == 1) {
            f->addr |= mosi;
        } else if (f->fpos == 2) {
            f->ctrl = mosi;
        } else {
            b = chip_byte(f, mosi);
        }
        f->fpos++;
        if (rx != NULL) {
            rx[i] = b;
        }
    }
    return 0;
}

static void f_reset(void *ctx, bool level)
{
    (void)ctx;
    (void)level;
}

static uint32_t f_millis(void *ctx)
{
    struct feed *f = ctx;
    f->ms += 7u;
    return f->ms;
}

static void check_status(int rc)
{
    if (rc > W5500_EOF || rc < W5500_ERR_LEASE_LOST ||
        strcmp(w5500_status_str(rc), "unknown") == 0) {
        abort();
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static struct feed f;
    memset(&f, 0, sizeof f);
    f.p = data;
    f.n = size;
    const struct w5500_port port = {f_select, f_deselect, f_transfer, f_reset, f_millis, &f};
    static struct w5500_dev dev;
    static struct w5500_dhcp dhcp;
    static struct w5500_dns dns;
    struct w5500_config c;
    memset(&c, 0, sizeof c);
    for (unsigned i = 0; i < 8; i++) {
        c.tx_kb[i] = 2;
        c.rx_kb[i] = 2;
    }
    c.link_timeout_ms = 50;
    if (w5500_init(&dev, &port, &c) != W5500_OK) {
        abort();
    }
    int rc = W5500_PENDING;
    for (int i = 0; i < 64 && rc == W5500_PENDING; i++) {
        rc = w5500_bringup_poll(&dev);
        check_status(rc);
    }
    if (rc != W5500_OK) {
        return 0;
    }
    const uint8_t peer[4] = {10, 0, 0, 1};
    uint8_t *small = malloc(37);
    uint8_t *big = malloc(3000);
    if (small == NULL || big == NULL) {
        abort();
    }
    memset(big, 0x11, 3000);
    size_t n = 0;
    uint8_t ip[4];
    uint16_t pt = 0;
    check_status(w5500_tcp_connect(&dev, 0, 1000, peer, 80));
    for (int i = 0; i < 8; i++) {
        check_status(w5500_tcp_connect_poll(&dev, 0));
        rc = w5500_tcp_recv(&dev, 0, small, 37, &n);
        check_status(rc);
        if (n > 37) {
            abort();
        }
        rc = w5500_tcp_send(&dev, 0, big, 3000, &n);
        check_status(rc);
        if (n > 3000) {
            abort();
        }
    }
    check_status(w5500_udp_open(&dev, 1, 2000));
    for (int i = 0; i < 8; i++) {
        rc = w5500_udp_recvfrom(&dev, 1, small, 37, &n, ip, &pt);
        check_status(rc);
        if (n > 37) {
            abort();
        }
        check_status(w5500_udp_sendto(&dev, 1, big, 100, peer, 9));
        check_status(w5500_udp_send_poll(&dev, 1));
    }
    rc = w5500_dhcp_start(&dhcp, &dev, 2, 1u, NULL);
    check_status(rc);
    for (int i = 0; i < 16; i++) {
        check_status(w5500_dhcp_poll(&dhcp));
    }
    check_status(w5500_dhcp_release(&dhcp));
    for (int i = 0; i < 4; i++) {
        check_status(w5500_dhcp_poll(&dhcp));
    }
    rc = w5500_dns_start(&dns, &dev, 3, peer, "ota.example.com", 7, 3000, NULL);
    check_status(rc);
    for (int i = 0; i < 16; i++) {
        check_status(w5500_dns_poll(&dns, ip));
    }
    check_status(w5500_check(&dev));
    free(small);
    free(big);
    return 0;
}
