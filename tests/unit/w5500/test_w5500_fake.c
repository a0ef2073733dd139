/*
 * The driver against a small register-level fake of the W5500 kept in this file. The fake decodes
 * real SPI frames (address, control byte, data) and lets each test force the states and faults
 * that are hard to reach through a full model: a missing chip, a stuck Sn_CR, unstable RSR, a
 * failing bus, pointer wrap at 0xFFFF, inconsistent UDP headers, and exact Sn_SR/Sn_IR values.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "w5500.h"
#include "w5500_dhcp.h"
#include "w5500_dns.h"

/* ---- the fake ------------------------------------------------------------------------------- */

struct fake {
    uint32_t ms;
    bool rst_low;
    bool reset_seen;
    uint32_t rst_low_at;
    uint32_t rst_released_at;
    uint32_t shortest_pulse_ms;
    unsigned early_frames; /* frames while in reset or before PLL lock */
    uint8_t common[0x40];
    uint8_t sreg[8][0x30];
    uint8_t tx[8][16384];
    uint8_t rx[8][16384];
    uint8_t last_cmd[8];
    /* frame decoder */
    bool selected;
    size_t fpos;
    uint16_t addr;
    uint8_t ctrl;
    /* faults and knobs */
    int fail_transfer_at; /* transfer index that fails; -1: never */
    unsigned transfers;
    bool cr_stuck;
    uint8_t stick_cmd; /* Sn_CR sticks only after this command (0: off) */
    uint16_t ro_lo, ro_hi; /* common-block writes in [ro_lo, ro_hi] are ignored (lo > hi: off) */
    bool sizes_readonly;   /* Sn_RXBUF_SIZE/Sn_TXBUF_SIZE writes ignored */
    bool close_ignored;    /* CLOSE leaves Sn_SR as it is */
    bool rsr_unstable;
    bool common_readonly;
    bool auto_send_ok;
    bool open_ignored;
    uint16_t open_ptr;
    uint8_t version; /* VERSIONR after reset */
    uint32_t pin_delay_ms; /* RSTn changes this late: an interrupt after the driver read the clock */
    /* capture */
    uint8_t sent[8][16384];
    size_t sent_len[8];
    unsigned sends[8];
    unsigned recvs[8];
    uint64_t frames;
    uint64_t bytes;
};

static struct fake F;

static uint16_t be16(const uint8_t *p)
{
    return (uint16_t)((p[0] << 8) | p[1]);
}

static void setbe16(uint8_t *p, uint16_t v)
{
    p[0] = (uint8_t)(v >> 8);
    p[1] = (uint8_t)v;
}

static size_t sz_rx(unsigned sn)
{
    return (size_t)F.sreg[sn][0x1E] * 1024u;
}

static size_t sz_tx(unsigned sn)
{
    return (size_t)F.sreg[sn][0x1F] * 1024u;
}

static uint16_t rsr(unsigned sn)
{
    return (uint16_t)(be16(&F.sreg[sn][0x2A]) - be16(&F.sreg[sn][0x28]));
}

static uint16_t fsr(unsigned sn)
{
    return (uint16_t)(sz_tx(sn) - (uint16_t)(be16(&F.sreg[sn][0x24]) - be16(&F.sreg[sn][0x22])));
}

static void fake_reset_regs(void)
{
    memset(F.common, 0, sizeof F.common);
    memset(F.sreg, 0, sizeof F.sreg);
    F.common[0x19] = 0x07;
    F.common[0x1A] = 0xD0;
    F.common[0x1B] = 0x08;
    F.common[0x2E] = 0xBF; /* link up, 100 full */
    F.common[0x39] = F.version;
    for (unsigned sn = 0; sn < 8; sn++) {
        F.sreg[sn][0x1E] = 2;
        F.sreg[sn][0x1F] = 2;
        F.sreg[sn][0x2C] = 0xFF;
    }
}

static void fake_init(void)
{
    memset(&F, 0, sizeof F);
    F.fail_transfer_at = -1;
    F.version = 0x04;
    F.ro_lo = 1;
    F.ro_hi = 0;
    F.auto_send_ok = false;
    F.shortest_pulse_ms = UINT32_MAX;
    fake_reset_regs();
}

static bool fake_ready(void)
{
    return F.reset_seen && !F.rst_low && (uint32_t)(F.ms - F.rst_released_at) >= 1u;
}

static void exec_cmd(unsigned sn, uint8_t cmd)
{
    uint8_t *r = F.sreg[sn];
    F.last_cmd[sn] = cmd;
    switch (cmd) {
    case 0x01: /* OPEN */
        if (F.open_ignored) {
            break;
        }
        r[3] = (r[0] & 0x0F) == 1 ? 0x13 : (r[0] & 0x0F) == 2 ? 0x22 : 0x00;
        setbe16(&r[0x22], F.open_ptr);
        setbe16(&r[0x24], F.open_ptr);
        setbe16(&r[0x28], F.open_ptr);
        setbe16(&r[0x2A], F.open_ptr);
        break;
    case 0x04: r[3] = 0x15; break; /* CONNECT -> SYNSENT */
    case 0x08: r[3] = 0x18; break; /* DISCON -> FIN_WAIT */
    case 0x10: /* CLOSE */
        if (!F.close_ignored) {
            r[3] = 0x00;
        }
        break;
    case 0x20: {                   /* SEND */
        uint16_t rd = be16(&r[0x22]);
        uint16_t wr = be16(&r[0x24]);
        uint16_t n = (uint16_t)(wr - rd);
        for (uint16_t i = 0; i < n; i++) {
            F.sent[sn][(F.sent_len[sn] + i) % sizeof F.sent[sn]] =
                F.tx[sn][(uint16_t)(rd + i) % sz_tx(sn)];
        }
        F.sent_len[sn] += n;
        F.sends[sn]++;
        setbe16(&r[0x22], wr);
        if (F.auto_send_ok) {
            r[2] |= 0x10;
        }
        break;
    }
    case 0x40: F.recvs[sn]++; break;
    default: break;
    }
}

static uint8_t reg_read(uint8_t bsb, uint16_t a)
{
    if (bsb == 0) {
        return a < sizeof F.common ? F.common[a] : 0;
    }
    unsigned sn = bsb >> 2;
    switch (bsb & 3u) {
    case 1:
        if (a >= 0x30) {
            return 0;
        }
        if (a == 0x01) {
            bool stuck = F.cr_stuck || (F.stick_cmd != 0 && F.last_cmd[sn] == F.stick_cmd);
            return stuck ? F.last_cmd[sn] : 0;
        }
        if (a == 0x26 || a == 0x27) {
            uint16_t v = rsr(sn);
            if (F.rsr_unstable) {
                v = (uint16_t)(v + (F.frames & 1u));
            }
            return a == 0x26 ? (uint8_t)(v >> 8) : (uint8_t)v;
        }
        if (a == 0x20 || a == 0x21) {
            uint16_t v = fsr(sn);
            return a == 0x20 ? (uint8_t)(v >> 8) : (uint8_t)v;
        }
        return F.sreg[sn][a];
    case 2: return F.tx[sn][a % sz_tx(sn)];
    case 3: return F.rx[sn][a % sz_rx(sn)];
    default: return 0;
    }
}

static void reg_write(uint8_t bsb, uint16_t a, uint8_t v)
{
    if (bsb == 0) {
        if (!F.common_readonly && a < 0x2E && !(a >= F.ro_lo && a <= F.ro_hi)) {
            F.common[a] = v;
        }
        return;
    }
    unsigned sn = bsb >> 2;
    switch (bsb & 3u) {
    case 1:
        if (a == 0x01) {
            exec_cmd(sn, v);
        } else if (a == 0x02) {
            F.sreg[sn][2] &= (uint8_t)~v;
        } else if ((a == 0x1E || a == 0x1F) && F.sizes_readonly) {
            /* ignored */
        } else if (a < 0x30 && a != 0x03 && !(a >= 0x20 && a <= 0x23) && a != 0x26 && a != 0x27 &&
                   a != 0x2A && a != 0x2B) {
            F.sreg[sn][a] = v;
        }
        break;
    case 2: F.tx[sn][a % sz_tx(sn)] = v; break;
    default: break; /* RX buffer is read-only for the host */
    }
}

static uint8_t spi_byte(uint8_t mosi)
{
    assert_true(F.selected);
    F.bytes++;
    uint8_t miso = 0;
    if (F.fpos == 0) {
        F.addr = (uint16_t)(mosi << 8);
    } else if (F.fpos == 1) {
        F.addr |= mosi;
    } else if (F.fpos == 2) {
        F.ctrl = mosi;
        assert_int_equal(F.ctrl & 3u, 0); /* the driver always uses VDM */
    } else {
        uint16_t a = (uint16_t)(F.addr + (F.fpos - 3u));
        uint8_t bsb = F.ctrl >> 3;
        if (F.ctrl & 0x04u) {
            reg_write(bsb, a, mosi);
        } else {
            miso = reg_read(bsb, a);
        }
    }
    F.fpos++;
    return miso;
}

static void p_select(void *ctx)
{
    assert_ptr_equal(ctx, &F);
    assert_false(F.selected);
    F.selected = true;
    F.fpos = 0;
    if (!fake_ready()) {
        F.early_frames++;
    }
}

static void p_deselect(void *ctx)
{
    (void)ctx;
    assert_true(F.selected);
    F.selected = false;
    F.frames++;
}

static int p_transfer(void *ctx, const uint8_t *tx, uint8_t *rx, size_t len)
{
    (void)ctx;
    if (F.fail_transfer_at >= 0 && F.transfers++ == (unsigned)F.fail_transfer_at) {
        return -1;
    }
    for (size_t i = 0; i < len; i++) {
        uint8_t m = spi_byte(tx != NULL ? tx[i] : 0);
        if (rx != NULL) {
            rx[i] = m;
        }
    }
    return 0;
}

static void p_reset(void *ctx, bool level)
{
    (void)ctx;
    F.ms += F.pin_delay_ms;
    if (!level && !F.rst_low) {
        F.rst_low = true;
        F.rst_low_at = F.ms;
    } else if (level && F.rst_low) {
        F.rst_low = false;
        F.reset_seen = true;
        F.rst_released_at = F.ms;
        uint32_t w = F.ms - F.rst_low_at;
        if (w < F.shortest_pulse_ms) {
            F.shortest_pulse_ms = w;
        }
        fake_reset_regs();
    }
}

static uint32_t p_millis(void *ctx)
{
    (void)ctx;
    return F.ms;
}

static const struct w5500_port PORT = {p_select, p_deselect, p_transfer, p_reset, p_millis, &F};

/* Push raw bytes into socket sn's RX buffer (the network side). */
static void fake_rx_push(unsigned sn, const uint8_t *d, size_t n)
{
    uint16_t wr = be16(&F.sreg[sn][0x2A]);
    for (size_t i = 0; i < n; i++) {
        F.rx[sn][(uint16_t)(wr + i) % sz_rx(sn)] = d[i];
    }
    setbe16(&F.sreg[sn][0x2A], (uint16_t)(wr + n));
}

static void fake_udp_push(unsigned sn, const uint8_t ip[4], uint16_t port, const uint8_t *d,
                          uint16_t n, uint16_t hdr_len)
{
    uint8_t h[8] = {ip[0], ip[1], ip[2], ip[3], (uint8_t)(port >> 8), (uint8_t)port,
                    (uint8_t)(hdr_len >> 8), (uint8_t)hdr_len};
    fake_rx_push(sn, h, 8);
    fake_rx_push(sn, d, n);
}

/* ---- helpers -------------------------------------------------------------------------------- */

static struct w5500_dev dev;

static void default_cfg(struct w5500_config *c)
{
    memset(c, 0, sizeof *c);
    for (unsigned i = 0; i < 12; i++) {
        c->uid[i] = (uint8_t)(0x30 + i);
    }
    const uint8_t ip[4] = {192, 168, 1, 50}, mask[4] = {255, 255, 255, 0}, gw[4] = {192, 168, 1, 1};
    memcpy(c->net.ip, ip, 4);
    memcpy(c->net.mask, mask, 4);
    memcpy(c->net.gateway, gw, 4);
    c->tx_kb[0] = 2;
    c->rx_kb[0] = 8;
    for (unsigned i = 1; i < 8; i++) {
        c->tx_kb[i] = 2;
        c->rx_kb[i] = 1;
    }
    c->link_timeout_ms = 100;
}

/* Run bring-up with the clock advancing 1 ms per call; returns the final status. */
static int run_bringup(unsigned max_polls)
{
    int rc = W5500_PENDING;
    for (unsigned i = 0; i < max_polls && rc == W5500_PENDING; i++) {
        rc = w5500_bringup_poll(&dev);
        F.ms++;
    }
    return rc;
}

static int setup(void **state)
{
    (void)state;
    fake_init();
    struct w5500_config c;
    default_cfg(&c);
    assert_int_equal(w5500_init(&dev, &PORT, &c), W5500_OK);
    return 0;
}

static void ready_dev(void)
{
    assert_int_equal(run_bringup(50), W5500_OK);
}

static const uint8_t PEER[4] = {192, 168, 1, 10};

static void connected(uint8_t sn)
{
    assert_int_equal(w5500_tcp_connect(&dev, sn, 40000, PEER, 8080), W5500_OK);
    F.sreg[sn][3] = 0x17;
    F.sreg[sn][2] |= 0x01;
    assert_int_equal(w5500_tcp_connect_poll(&dev, sn), W5500_OK);
}

/* ---- tests ---------------------------------------------------------------------------------- */

static void test_bringup_ok(void **state)
{
    (void)state;
    assert_false(w5500_ready(&dev));
    assert_int_equal(run_bringup(50), W5500_OK);
    assert_true(w5500_ready(&dev));
    assert_true(F.reset_seen);
    assert_true(F.shortest_pulse_ms >= 1u); /* >= 500 us even with a coarse clock */
    assert_int_equal(F.early_frames, 0);     /* nothing clocked during reset or PLL lock */
    uint8_t mac[6];
    w5500_get_mac(&dev, mac);
    assert_memory_equal(&F.common[0x09], mac, 6);
    assert_int_equal(mac[0] & 0x03, 0x02); /* locally administered, unicast */
    const uint8_t ip[4] = {192, 168, 1, 50}, gw[4] = {192, 168, 1, 1};
    assert_memory_equal(&F.common[0x0F], ip, 4);
    assert_memory_equal(&F.common[0x01], gw, 4);
    assert_int_equal(F.sreg[0][0x1E], 8);
    assert_int_equal(F.sreg[0][0x1F], 2);
    assert_int_equal(F.sreg[5][0x1E], 1);
    assert_int_equal(be16(&F.common[0x19]), 2000); /* RTR, RCR left at the chip defaults */
    assert_int_equal(F.common[0x1B], 8);
    /* Done is sticky and does no further work. */
    uint64_t frames = F.frames;
    assert_int_equal(w5500_bringup_poll(&dev), W5500_OK);
    assert_int_equal(F.frames, frames);
    struct w5500_netcfg n;
    assert_int_equal(w5500_get_netcfg(&dev, &n), W5500_OK);
    assert_memory_equal(n.ip, ip, 4);
    /* Health check: fine now; a reset chip (SHAR/SIPR lost) or a vanished one is reported. */
    assert_int_equal(w5500_check(&dev), W5500_OK);
    F.common[0x12] ^= 1;
    assert_int_equal(w5500_check(&dev), W5500_ERR_VERIFY);
    F.common[0x12] ^= 1;
    F.common[0x0E] ^= 0x80;
    assert_int_equal(w5500_check(&dev), W5500_ERR_VERIFY);
    F.common[0x0E] ^= 0x80;
    F.common[0x39] = 0xFF;
    assert_int_equal(w5500_check(&dev), W5500_ERR_NO_CHIP);
    F.common[0x39] = 0x04;
    assert_int_equal(w5500_check(&dev), W5500_OK);
    bool up = false;
    assert_int_equal(w5500_link_get(&dev, &up), W5500_OK);
    assert_true(up);
    F.common[0x2E] = 0xB8;
    assert_int_equal(w5500_link_get(&dev, &up), W5500_OK);
    assert_false(up);
}

static void test_bringup_waits_on_clock(void **state)
{
    (void)state;
    /* With a frozen clock bring-up never leaves reset, however often it is polled. */
    for (int i = 0; i < 100; i++) {
        assert_int_equal(w5500_bringup_poll(&dev), W5500_PENDING);
    }
    assert_true(F.rst_low);
    assert_int_equal(F.frames, 0);
}

static void test_bringup_times_from_the_pin_edges(void **state)
{
    (void)state;
    /* 3 ms pass between the driver's clock read and each pin change; polled 4 times per ms, it
     * still waits >= 1 ms after the release itself before the first frame. */
    F.pin_delay_ms = 3;
    int rc = W5500_PENDING;
    for (unsigned i = 0; i < 400 && rc == W5500_PENDING; i++) {
        rc = w5500_bringup_poll(&dev);
        if (i % 4 == 3) {
            F.ms++;
        }
    }
    assert_int_equal(rc, W5500_OK);
    assert_true(F.reset_seen);
    assert_true(F.shortest_pulse_ms >= 1u);
    assert_int_equal(F.early_frames, 0);
}

static void test_bringup_restart(void **state)
{
    (void)state;
    F.version = 0xFF;
    assert_int_equal(run_bringup(50), W5500_ERR_NO_CHIP);
    F.version = 0x04; /* the chip answers from its next reset on (it came up late) */
    assert_int_equal(w5500_bringup_poll(&dev), W5500_ERR_NO_CHIP);
    F.reset_seen = false;
    assert_int_equal(w5500_bringup_restart(&dev), W5500_OK);
    assert_false(w5500_ready(&dev));
    assert_int_equal(run_bringup(50), W5500_OK);
    assert_true(F.reset_seen); /* a new reset pulse, not just a new look at VERSIONR */
    assert_int_equal(F.early_frames, 0);
    /* On a running chip: every socket is forgotten until bring-up has finished again. */
    connected(0);
    uint8_t sr = 0;
    assert_int_equal(w5500_bringup_restart(&dev), W5500_OK);
    assert_int_equal(w5500_sock_status(&dev, 0, &sr), W5500_ERR_NOT_READY);
    assert_int_equal(run_bringup(50), W5500_OK);
    assert_int_equal(w5500_sock_status(&dev, 0, &sr), W5500_OK);
    assert_int_equal(sr, 0x00); /* SOCK_CLOSED after the chip reset */
    struct w5500_dev never;
    memset(&never, 0, sizeof never);
    assert_int_equal(w5500_bringup_restart(&never), W5500_ERR_ARG);
    assert_int_equal(w5500_bringup_restart(NULL), W5500_ERR_ARG);
}

static void test_mac_from_uid(void **state)
{
    (void)state;
    uint8_t u1[12] = {0}, u2[12] = {0}, m1[6], m2[6];
    for (unsigned i = 0; i < 12; i++) {
        u1[i] = u2[i] = (uint8_t)i;
    }
    u2[11] ^= 1; /* one bit of lot number differs */
    w5500_mac_from_uid(u1, m1);
    w5500_mac_from_uid(u2, m2);
    assert_memory_not_equal(m1, m2, 6);
    uint8_t again[6];
    w5500_mac_from_uid(u1, again);
    assert_memory_equal(m1, again, 6);
    /* Every one of 256 ids is unicast + locally administered. */
    for (unsigned v = 0; v < 256; v++) {
        u1[0] = (uint8_t)v;
        w5500_mac_from_uid(u1, m1);
        assert_int_equal(m1[0] & 0x03, 0x02);
    }
}

static void test_bringup_no_chip(void **state)
{
    (void)state;
    F.version = 0xFF; /* nothing on the bus: MISO pulled high */
    int rc = run_bringup(50);
    assert_int_equal(rc, W5500_ERR_NO_CHIP);
    assert_int_equal(w5500_bringup_poll(&dev), W5500_ERR_NO_CHIP); /* sticky */
    assert_false(w5500_ready(&dev));
    uint8_t sr;
    assert_int_equal(w5500_sock_status(&dev, 0, &sr), W5500_ERR_NOT_READY);
    assert_int_equal(w5500_tcp_connect(&dev, 0, 1, PEER, 80), W5500_ERR_NOT_READY);
    assert_string_equal(w5500_status_str(W5500_ERR_NO_CHIP), "no W5500 (VERSIONR != 0x04)");
}

static void test_bringup_link(void **state)
{
    (void)state;
    /* Link down for the whole timeout: NO_LINK once 100 ms have passed, not before. */
    int rc = W5500_PENDING;
    uint32_t link_wait_start = 0;
    unsigned i;
    for (i = 0; i < 500 && rc == W5500_PENDING; i++) {
        if (F.reset_seen) {
            F.common[0x2E] = 0xB8;
        }
        if (dev.state == W5500_BU_LINK_WAIT && link_wait_start == 0) {
            link_wait_start = F.ms;
        }
        rc = w5500_bringup_poll(&dev);
        F.ms++;
    }
    assert_int_equal(rc, W5500_ERR_NO_LINK);
    assert_true(F.ms - 1u - link_wait_start >= 99u);
    assert_true(F.ms - 1u - link_wait_start <= 102u);

    /* Link that comes up during the wait: OK. */
    setup(NULL);
    rc = W5500_PENDING;
    for (i = 0; i < 500 && rc == W5500_PENDING; i++) {
        if (F.reset_seen) {
            F.common[0x2E] = F.ms < 40 ? 0xB8 : 0xBF;
        }
        rc = w5500_bringup_poll(&dev);
        F.ms++;
    }
    assert_int_equal(rc, W5500_OK);
    assert_true(F.ms >= 40);

    /* link_timeout_ms = 0: ready without a link. */
    fake_init();
    struct w5500_config c;
    default_cfg(&c);
    c.link_timeout_ms = 0;
    c.retry_time_100us = 500;
    c.retry_count = 3;
    assert_int_equal(w5500_init(&dev, &PORT, &c), W5500_OK);
    rc = W5500_PENDING;
    for (i = 0; i < 50 && rc == W5500_PENDING; i++) {
        if (F.reset_seen) {
            F.common[0x2E] = 0xB8;
        }
        rc = w5500_bringup_poll(&dev);
        F.ms++;
    }
    assert_int_equal(rc, W5500_OK);
    assert_int_equal(be16(&F.common[0x19]), 500);
    assert_int_equal(F.common[0x1B], 3);
}

static void test_bringup_spi_and_verify_errors(void **state)
{
    (void)state;
    /* Fail each of the first transfers of the configure step in turn. */
    for (int at = 0; at < 44; at++) {
        setup(NULL);
        F.fail_transfer_at = at;
        int rc = run_bringup(50);
        assert_int_equal(rc, W5500_ERR_SPI);
        assert_false(F.selected); /* chip select released after the failure */
    }
    setup(NULL);
    F.common_readonly = true;
    assert_int_equal(run_bringup(50), W5500_ERR_VERIFY);
}

static void test_init_args(void **state)
{
    (void)state;
    struct w5500_config c;
    default_cfg(&c);
    assert_int_equal(w5500_init(NULL, &PORT, &c), W5500_ERR_ARG);
    assert_int_equal(w5500_init(&dev, NULL, &c), W5500_ERR_ARG);
    assert_int_equal(w5500_init(&dev, &PORT, NULL), W5500_ERR_ARG);
    c.rx_kb[3] = 3;
    assert_int_equal(w5500_init(&dev, &PORT, &c), W5500_ERR_ARG);
    default_cfg(&c);
    c.rx_kb[0] = 16; /* 16 + 7 x 1 > 16 */
    assert_int_equal(w5500_init(&dev, &PORT, &c), W5500_ERR_ARG);
    default_cfg(&c);
    c.tx_kb[0] = 16;
    for (unsigned i = 1; i < 8; i++) {
        c.tx_kb[i] = 0;
    }
    assert_int_equal(w5500_init(&dev, &PORT, &c), W5500_OK);
    struct w5500_port bad = PORT;
    bad.millis = NULL;
    assert_int_equal(w5500_init(&dev, &bad, &c), W5500_ERR_ARG);
    assert_int_equal(w5500_bringup_poll(NULL), W5500_ERR_ARG);
}

static void test_socket_args(void **state)
{
    (void)state;
    ready_dev();
    uint8_t buf[4];
    size_t n;
    uint8_t sr;
    assert_int_equal(w5500_sock_status(&dev, 8, &sr), W5500_ERR_SOCKNUM);
    assert_int_equal(w5500_sock_close(&dev, 8), W5500_ERR_SOCKNUM);
    assert_int_equal(w5500_tcp_connect(&dev, 8, 1, PEER, 80), W5500_ERR_SOCKNUM);
    assert_int_equal(w5500_udp_open(&dev, 200, 68), W5500_ERR_SOCKNUM);
    const uint8_t zero[4] = {0}, bc[4] = {255, 255, 255, 255};
    assert_int_equal(w5500_tcp_connect(&dev, 0, 1, zero, 80), W5500_ERR_ARG);
    assert_int_equal(w5500_tcp_connect(&dev, 0, 1, bc, 80), W5500_ERR_ARG);
    assert_int_equal(w5500_tcp_connect(&dev, 0, 1, PEER, 0), W5500_ERR_ARG);
    assert_int_equal(w5500_tcp_connect(&dev, 0, 0, PEER, 80), W5500_ERR_ARG);
    assert_int_equal(w5500_udp_open(&dev, 0, 0), W5500_ERR_ARG);
    /* Calls on a socket that was not opened for that protocol. */
    assert_int_equal(w5500_tcp_recv(&dev, 1, buf, sizeof buf, &n), W5500_ERR_SOCK_STATE);
    assert_int_equal(w5500_tcp_send(&dev, 1, buf, sizeof buf, &n), W5500_ERR_SOCK_STATE);
    assert_int_equal(w5500_udp_recvfrom(&dev, 1, buf, sizeof buf, &n, NULL, NULL),
                     W5500_ERR_SOCK_STATE);
    assert_int_equal(w5500_tcp_disconnect_poll(&dev, 1), W5500_ERR_SOCK_STATE);
    assert_int_equal(w5500_tcp_recv(&dev, 1, NULL, 4, &n), W5500_ERR_ARG);
    assert_int_equal(w5500_tcp_recv(&dev, 1, buf, 4, NULL), W5500_ERR_ARG);

    /* A socket configured with no buffer cannot be used. */
    fake_init();
    struct w5500_config c;
    default_cfg(&c);
    c.tx_kb[7] = 0;
    assert_int_equal(w5500_init(&dev, &PORT, &c), W5500_OK);
    ready_dev();
    assert_int_equal(w5500_udp_open(&dev, 7, 5000), W5500_ERR_SOCKNUM);
}

static void test_tcp_connect_outcomes(void **state)
{
    (void)state;
    ready_dev();
    assert_int_equal(w5500_tcp_connect(&dev, 0, 40000, PEER, 8080), W5500_OK);
    assert_int_equal(F.sreg[0][0], 0x01);
    assert_int_equal(be16(&F.sreg[0][0x04]), 40000);
    assert_memory_equal(&F.sreg[0][0x0C], PEER, 4);
    assert_int_equal(be16(&F.sreg[0][0x10]), 8080);
    assert_int_equal(F.sreg[0][0x2F], 0); /* no keep-alive unless configured */
    assert_int_equal(F.last_cmd[0], 0x04);
    assert_int_equal(w5500_tcp_connect_poll(&dev, 0), W5500_PENDING);
    F.sreg[0][3] = 0x17;
    F.sreg[0][2] = 0x01;
    assert_int_equal(w5500_tcp_connect_poll(&dev, 0), W5500_OK);
    assert_int_equal(F.sreg[0][2], 0); /* CON cleared */

    /* Timeout: the chip gave up (IR.TIMEOUT, SR CLOSED). */
    assert_int_equal(w5500_tcp_connect(&dev, 0, 40001, PEER, 8080), W5500_OK);
    F.sreg[0][3] = 0x00;
    F.sreg[0][2] = 0x08;
    assert_int_equal(w5500_tcp_connect_poll(&dev, 0), W5500_ERR_TIMEOUT);
    assert_int_equal(F.sreg[0][2], 0);
    assert_int_equal(F.last_cmd[0], 0x10);
    assert_int_equal(dev.sock[0].kind, W5500_SOCK_FREE);

    /* Refused: RST -> CLOSED without TIMEOUT. */
    assert_int_equal(w5500_tcp_connect(&dev, 0, 40002, PEER, 8080), W5500_OK);
    F.sreg[0][3] = 0x00;
    assert_int_equal(w5500_tcp_connect_poll(&dev, 0), W5500_ERR_CLOSED);

    /* CONNECT not taken (Sn_CR stuck): CMD_STUCK, and the socket is not left open. */
    F.stick_cmd = 0x04;
    assert_int_equal(w5500_tcp_connect(&dev, 0, 40004, PEER, 8080), W5500_ERR_CMD_STUCK);
    F.stick_cmd = 0;
    assert_int_equal(F.sreg[0][3], 0x00);
    assert_int_equal(F.last_cmd[0], 0x10);

    /* OPEN that never shows SOCK_INIT. */
    F.open_ignored = true;
    assert_int_equal(w5500_tcp_connect(&dev, 0, 40003, PEER, 8080), W5500_ERR_SOCK_STATE);
    assert_int_equal(F.sreg[0][3], 0x00);
}

static void test_tcp_send_wrap_and_flow(void **state)
{
    (void)state;
    ready_dev();
    F.open_ptr = 0xFFF0; /* 16 bytes before the 16-bit wrap */
    connected(0);
    uint8_t data[5000];
    for (size_t i = 0; i < sizeof data; i++) {
        data[i] = (uint8_t)(i * 7u + 3u);
    }
    size_t sent = 0;
    assert_int_equal(w5500_tcp_send(&dev, 0, data, 100, &sent), W5500_OK);
    assert_int_equal(sent, 100);
    assert_int_equal(F.sends[0], 1);
    assert_int_equal(F.sent_len[0], 100);
    assert_memory_equal(F.sent[0], data, 100);
    assert_int_equal(be16(&F.sreg[0][0x24]), 0x0054); /* 0xFFF0 + 100 mod 2^16 */

    /* Until SEND_OK nothing more is queued. */
    assert_int_equal(w5500_tcp_send(&dev, 0, data + 100, 100, &sent), W5500_PENDING);
    assert_int_equal(sent, 0);
    assert_int_equal(w5500_tcp_flush_poll(&dev, 0), W5500_PENDING);
    F.sreg[0][2] |= 0x10;
    assert_int_equal(w5500_tcp_flush_poll(&dev, 0), W5500_OK);
    assert_int_equal(F.sreg[0][2] & 0x10, 0);

    /* More than the 2 KB TX buffer: only what fits is taken. */
    F.auto_send_ok = true;
    assert_int_equal(w5500_tcp_send(&dev, 0, data + 100, 4900, &sent), W5500_OK);
    assert_int_equal(sent, 2048);
    size_t total = 100 + sent;
    while (total < sizeof data) {
        int rc = w5500_tcp_send(&dev, 0, data + total, sizeof data - total, &sent);
        assert_int_equal(rc, W5500_OK);
        total += sent;
    }
    assert_int_equal(F.sent_len[0], sizeof data);
    assert_memory_equal(F.sent[0], data, sizeof data);
    assert_int_equal(w5500_tcp_flush_poll(&dev, 0), W5500_OK);

    /* No TX space (an unacknowledged window): PENDING. */
    F.auto_send_ok = false;
    setbe16(&F.sreg[0][0x22], (uint16_t)(be16(&F.sreg[0][0x24]) - 2048u));
    assert_int_equal(w5500_tcp_send(&dev, 0, data, 10, &sent), W5500_PENDING);
    assert_int_equal(sent, 0);
    setbe16(&F.sreg[0][0x22], be16(&F.sreg[0][0x24]));

    /* Timeout while sending: socket closed, TIMEOUT. */
    assert_int_equal(w5500_tcp_send(&dev, 0, data, 10, &sent), W5500_OK);
    F.sreg[0][2] |= 0x08;
    F.sreg[0][3] = 0x00;
    assert_int_equal(w5500_tcp_send(&dev, 0, data, 10, &sent), W5500_ERR_TIMEOUT);
    assert_int_equal(dev.sock[0].kind, W5500_SOCK_FREE);

    /* Peer reset while idle: CLOSED. */
    connected(0);
    F.sreg[0][3] = 0x00;
    assert_int_equal(w5500_tcp_send(&dev, 0, data, 10, &sent), W5500_ERR_CLOSED);
}

static void test_tcp_recv(void **state)
{
    (void)state;
    ready_dev();
    F.open_ptr = 0xFF00;
    connected(0);
    uint8_t in[6000], out[8192];
    for (size_t i = 0; i < sizeof in; i++) {
        in[i] = (uint8_t)(i ^ (i >> 8));
    }
    size_t got = 0;
    assert_int_equal(w5500_tcp_recv(&dev, 0, out, sizeof out, &got), W5500_PENDING);
    assert_int_equal(got, 0);

    /* 6000 bytes across the 16-bit wrap, read in one burst. */
    fake_rx_push(0, in, sizeof in);
    uint64_t frames = F.frames, bytes = F.bytes;
    assert_int_equal(w5500_tcp_recv(&dev, 0, out, sizeof out, &got), W5500_OK);
    assert_int_equal(got, sizeof in);
    assert_memory_equal(out, in, sizeof in);
    assert_int_equal(be16(&F.sreg[0][0x28]), (uint16_t)(0xFF00u + 6000u));
    assert_int_equal(F.last_cmd[0], 0x40);
    /* 2 RSR reads + 1 data burst + RX_RD write + RECV + CR poll. */
    assert_int_equal(F.frames - frames, 6);
    assert_true((F.bytes - bytes) <= sizeof in + 40);

    /* A smaller buffer takes part of what is there; the rest stays. */
    fake_rx_push(0, in, 100);
    assert_int_equal(w5500_tcp_recv(&dev, 0, out, 30, &got), W5500_OK);
    assert_int_equal(got, 30);
    assert_memory_equal(out, in, 30);
    assert_int_equal(w5500_tcp_recv(&dev, 0, out, sizeof out, &got), W5500_OK);
    assert_int_equal(got, 70);
    assert_memory_equal(out, in + 30, 70);

    /* Peer FIN: data first, then EOF. */
    fake_rx_push(0, in, 10);
    F.sreg[0][3] = 0x1C;
    assert_int_equal(w5500_tcp_recv(&dev, 0, out, sizeof out, &got), W5500_OK);
    assert_int_equal(got, 10);
    assert_int_equal(w5500_tcp_recv(&dev, 0, out, sizeof out, &got), W5500_EOF);
    assert_int_equal(got, 0);

    /* Peer reset: CLOSED; chip timeout: TIMEOUT. Both free the socket. */
    connected(0);
    F.sreg[0][3] = 0x00;
    assert_int_equal(w5500_tcp_recv(&dev, 0, out, sizeof out, &got), W5500_ERR_CLOSED);
    assert_int_equal(dev.sock[0].kind, W5500_SOCK_FREE);
    connected(0);
    F.sreg[0][3] = 0x00;
    F.sreg[0][2] = 0x08;
    assert_int_equal(w5500_tcp_recv(&dev, 0, out, sizeof out, &got), W5500_ERR_TIMEOUT);

    /* RSR larger than the buffer can hold: the chip is not telling the truth. */
    connected(0);
    setbe16(&F.sreg[0][0x2A], (uint16_t)(be16(&F.sreg[0][0x28]) + 9000u));
    assert_int_equal(w5500_tcp_recv(&dev, 0, out, sizeof out, &got), W5500_ERR_BAD_FRAME);
}

static void test_stuck_unstable_spi(void **state)
{
    (void)state;
    ready_dev();
    connected(0);
    uint8_t out[64];
    memset(out, 0x3C, sizeof out);
    size_t got;
    F.rsr_unstable = true;
    fake_rx_push(0, out, 10);
    assert_int_equal(w5500_tcp_recv(&dev, 0, out, sizeof out, &got), W5500_ERR_UNSTABLE);
    F.rsr_unstable = false;
    F.cr_stuck = true;
    assert_int_equal(w5500_tcp_recv(&dev, 0, out, sizeof out, &got), W5500_ERR_CMD_STUCK);
    assert_int_equal(w5500_sock_close(&dev, 0), W5500_ERR_CMD_STUCK);
    F.cr_stuck = false;
    assert_int_equal(w5500_sock_close(&dev, 0), W5500_OK);
    /* A bus failure in the middle of a receive. */
    connected(0);
    fake_rx_push(0, out, 10);
    F.transfers = 0;
    F.fail_transfer_at = 5;
    assert_int_equal(w5500_tcp_recv(&dev, 0, out, sizeof out, &got), W5500_ERR_SPI);
    assert_false(F.selected);
}

static void test_tcp_disconnect(void **state)
{
    (void)state;
    ready_dev();
    connected(0);
    assert_int_equal(w5500_tcp_disconnect(&dev, 0), W5500_OK);
    assert_int_equal(F.last_cmd[0], 0x08);
    assert_int_equal(w5500_tcp_disconnect_poll(&dev, 0), W5500_PENDING);
    F.sreg[0][3] = 0x00;
    assert_int_equal(w5500_tcp_disconnect_poll(&dev, 0), W5500_OK);
    assert_int_equal(dev.sock[0].kind, W5500_SOCK_FREE);
    connected(0);
    assert_int_equal(w5500_tcp_disconnect(&dev, 0), W5500_OK);
    F.sreg[0][2] = 0x08;
    assert_int_equal(w5500_tcp_disconnect_poll(&dev, 0), W5500_ERR_TIMEOUT);
    assert_int_equal(F.sreg[0][3], 0x00);
    assert_int_equal(F.last_cmd[0], 0x10);
}

static void test_udp(void **state)
{
    (void)state;
    ready_dev();
    F.open_ptr = 0xFFFC;
    assert_int_equal(w5500_udp_open(&dev, 1, 5000), W5500_OK);
    assert_int_equal(F.sreg[1][3], 0x22);
    assert_int_equal(F.sreg[1][0], 0x02);
    const uint8_t from[4] = {192, 168, 1, 77};
    uint8_t d1[300], d2[40], out[512];
    for (size_t i = 0; i < sizeof d1; i++) {
        d1[i] = (uint8_t)(i + 1);
    }
    memset(d2, 0xAB, sizeof d2);
    size_t got = 0;
    uint8_t ip[4];
    uint16_t port = 0;
    assert_int_equal(w5500_udp_recvfrom(&dev, 1, out, sizeof out, &got, ip, &port), W5500_PENDING);

    /* Two datagrams queued (across the wrap); the first too long for the buffer. */
    fake_udp_push(1, from, 53, d1, sizeof d1, sizeof d1);
    fake_udp_push(1, from, 54, d2, sizeof d2, sizeof d2);
    assert_int_equal(w5500_udp_recvfrom(&dev, 1, out, 100, &got, ip, &port), W5500_ERR_TRUNCATED);
    assert_int_equal(got, 100);
    assert_memory_equal(out, d1, 100);
    assert_memory_equal(ip, from, 4);
    assert_int_equal(port, 53);
    assert_int_equal(w5500_udp_recvfrom(&dev, 1, out, sizeof out, &got, ip, &port), W5500_OK);
    assert_int_equal(got, sizeof d2);
    assert_memory_equal(out, d2, sizeof d2);
    assert_int_equal(port, 54);
    assert_int_equal(rsr(1), 0);

    /* Header claims more than RSR holds: everything flushed. */
    fake_udp_push(1, from, 53, d2, sizeof d2, 400);
    assert_int_equal(w5500_udp_recvfrom(&dev, 1, out, sizeof out, &got, NULL, NULL),
                     W5500_ERR_BAD_FRAME);
    assert_int_equal(rsr(1), 0);
    /* Fewer bytes than a header. */
    fake_rx_push(1, d2, 5);
    assert_int_equal(w5500_udp_recvfrom(&dev, 1, out, sizeof out, &got, NULL, NULL),
                     W5500_ERR_BAD_FRAME);
    assert_int_equal(rsr(1), 0);
    /* Zero-length datagram. */
    fake_udp_push(1, from, 9, d2, 0, 0);
    assert_int_equal(w5500_udp_recvfrom(&dev, 1, out, sizeof out, &got, ip, &port), W5500_OK);
    assert_int_equal(got, 0);
    assert_int_equal(port, 9);

    /* sendto: destination written, payload sent, SEND_OK awaited. */
    const uint8_t to[4] = {192, 168, 1, 1};
    assert_int_equal(w5500_udp_sendto(&dev, 1, d1, 200, to, 53), W5500_OK);
    assert_memory_equal(&F.sreg[1][0x0C], to, 4);
    assert_int_equal(be16(&F.sreg[1][0x10]), 53);
    assert_int_equal(F.sent_len[1], 200);
    assert_memory_equal(F.sent[1], d1, 200);
    assert_int_equal(w5500_udp_send_poll(&dev, 1), W5500_PENDING);
    assert_int_equal(w5500_udp_sendto(&dev, 1, d1, 10, to, 53), W5500_PENDING);
    F.sreg[1][2] |= 0x10;
    assert_int_equal(w5500_udp_send_poll(&dev, 1), W5500_OK);
    assert_int_equal(w5500_udp_send_poll(&dev, 1), W5500_OK);
    /* ARP failure: TIMEOUT, the socket stays open for the next try. */
    assert_int_equal(w5500_udp_sendto(&dev, 1, d1, 10, to, 53), W5500_OK);
    F.sreg[1][2] |= 0x08;
    assert_int_equal(w5500_udp_send_poll(&dev, 1), W5500_ERR_TIMEOUT);
    assert_int_equal(F.sreg[1][3], 0x22);
    assert_int_equal(w5500_udp_sendto(&dev, 1, d1, 10, to, 53), W5500_OK);
    /* Arguments: too long, zero destination, zero port. */
    const uint8_t zero[4] = {0};
    uint8_t big[2049] = {0};
    assert_int_equal(w5500_udp_sendto(&dev, 1, big, sizeof big, to, 53), W5500_ERR_ARG);
    assert_int_equal(w5500_udp_sendto(&dev, 1, big, W5500_UDP_MAX_PAYLOAD + 1u, to, 53),
                     W5500_ERR_ARG); /* fits the 2 KB buffer, not one Ethernet frame */
    assert_int_equal(w5500_udp_sendto(&dev, 1, d1, 10, zero, 53), W5500_ERR_ARG);
    assert_int_equal(w5500_udp_sendto(&dev, 1, d1, 10, to, 0), W5500_ERR_ARG);
    /* Socket closed under us. */
    F.sreg[1][2] |= 0x10;
    F.sreg[1][3] = 0x00;
    assert_int_equal(w5500_udp_sendto(&dev, 1, d1, 10, to, 53), W5500_ERR_SOCK_STATE);
    assert_int_equal(w5500_sock_close(&dev, 1), W5500_OK);
}

static void test_netcfg_and_strings(void **state)
{
    (void)state;
    struct w5500_netcfg n = {{10, 0, 0, 2}, {255, 0, 0, 0}, {10, 0, 0, 1}};
    assert_int_equal(w5500_set_netcfg(&dev, &n), W5500_ERR_NOT_READY);
    ready_dev();
    assert_int_equal(w5500_set_netcfg(&dev, &n), W5500_OK);
    assert_memory_equal(&F.common[0x0F], n.ip, 4);
    assert_memory_equal(&F.common[0x05], n.mask, 4);
    assert_memory_equal(&F.common[0x01], n.gateway, 4);
    F.common_readonly = true;
    struct w5500_netcfg m = {{10, 0, 0, 3}, {255, 0, 0, 0}, {10, 0, 0, 1}};
    assert_int_equal(w5500_set_netcfg(&dev, &m), W5500_ERR_VERIFY);
    /* Every status has its own name. */
    const char *seen[64] = {0};
    size_t ns = 0;
    for (int s = -40; s <= 3; s++) { /* every code in enum w5500_status has a name */
        const char *str = w5500_status_str(s);
        assert_non_null(str);
        if (strcmp(str, "unknown") == 0) {
            continue;
        }
        for (size_t k = 0; k < ns; k++) {
            assert_true(strcmp(seen[k], str) != 0);
        }
        seen[ns++] = str;
    }
    assert_int_equal(ns, 27);
}

static void test_dhcp_dns_errors(void **state)
{
    (void)state;
    static struct w5500_dhcp dh;
    static struct w5500_dns dn;
    const uint8_t srv[4] = {192, 168, 1, 1};
    uint8_t ip[4];
    struct w5500_dhcp_lease l;
    /* Before bring-up. */
    assert_int_equal(w5500_dhcp_start(&dh, &dev, 2, 1u, NULL), W5500_ERR_NOT_READY);
    assert_int_equal(w5500_dns_start(&dn, &dev, 3, srv, "a.b", 1, 5000, NULL), W5500_ERR_NOT_READY);
    ready_dev();
    /* Arguments. */
    assert_int_equal(w5500_dhcp_start(NULL, &dev, 2, 1u, NULL), W5500_ERR_ARG);
    assert_int_equal(w5500_dhcp_start(&dh, &dev, 8, 1u, NULL), W5500_ERR_SOCKNUM);
    assert_int_equal(w5500_dhcp_poll(NULL), W5500_ERR_ARG);
    assert_int_equal(w5500_dhcp_get_lease(&dh, NULL), W5500_ERR_ARG);
    assert_int_equal(w5500_dns_start(&dn, &dev, 3, srv, NULL, 1, 5000, NULL), W5500_ERR_ARG);
    assert_int_equal(w5500_dns_start(&dn, &dev, 3, srv, "bad name", 1, 5000, NULL), W5500_ERR_ARG);
    assert_int_equal(w5500_dns_poll(NULL, ip), W5500_ERR_ARG);
    assert_int_equal(w5500_dns_abort(NULL), W5500_ERR_ARG);
    /* A socket the configuration gave no buffer: both clients fail at once, with the reason. */
    fake_init();
    struct w5500_config c;
    default_cfg(&c);
    c.tx_kb[6] = 0;
    assert_int_equal(w5500_init(&dev, &PORT, &c), W5500_OK);
    ready_dev();
    assert_int_equal(w5500_dhcp_start(&dh, &dev, 6, 1u, NULL), W5500_ERR_SOCKNUM);
    assert_int_equal(w5500_dhcp_poll(&dh), W5500_ERR_SOCKNUM); /* sticky */
    assert_int_equal(w5500_dhcp_state(&dh), W5500_DHCP_S_FAILED);
    assert_int_equal(w5500_dhcp_get_lease(&dh, &l), W5500_ERR_NOT_READY);
    assert_int_equal(w5500_dns_start(&dn, &dev, 6, srv, "a.b", 1, 5000, NULL), W5500_ERR_SOCKNUM);
    assert_int_equal(w5500_dns_poll(&dn, ip), W5500_ERR_SOCK_STATE);
    /* DHCP start clears the address; the DISCOVER is a 300-byte broadcast to port 67. */
    assert_int_equal(w5500_dhcp_start(&dh, &dev, 2, 1u, NULL), W5500_OK);
    const uint8_t zero[4] = {0}, bc[4] = {255, 255, 255, 255};
    assert_memory_equal(&F.common[0x0F], zero, 4);
    assert_int_equal(F.sent_len[2], 300);
    assert_memory_equal(&F.sreg[2][0x0C], bc, 4);
    assert_int_equal(be16(&F.sreg[2][0x10]), 67);
    assert_int_equal(be16(&F.sreg[2][0x04]), 68);
    assert_int_equal(w5500_dhcp_poll(&dh), W5500_PENDING);
    /* A bus failure in the middle of the exchange is final and closes nothing it cannot. */
    F.transfers = 0;
    F.fail_transfer_at = 0;
    assert_int_equal(w5500_dhcp_poll(&dh), W5500_ERR_SPI);
    F.fail_transfer_at = -1;
    assert_int_equal(w5500_dhcp_poll(&dh), W5500_ERR_SPI);
    assert_int_equal(w5500_dhcp_stop(&dh), W5500_OK);
    /* DNS: the query goes to server:53 from the given port; abort closes the socket. */
    assert_int_equal(w5500_dns_start(&dn, &dev, 3, srv, "ota.example.com", 0x1234, 5000, NULL),
                     W5500_OK);
    assert_memory_equal(&F.sreg[3][0x0C], srv, 4);
    assert_int_equal(be16(&F.sreg[3][0x10]), 53);
    assert_int_equal(be16(&F.sreg[3][0x04]), 5000);
    assert_int_equal(F.sent[3][0], 0x12);
    assert_int_equal(F.sent[3][1], 0x34);
    assert_int_equal(w5500_dns_poll(&dn, ip), W5500_PENDING);
    assert_int_equal(w5500_dns_abort(&dn), W5500_ERR_GAVE_UP);
    assert_int_equal(F.sreg[3][3], 0x00);
    assert_int_equal(w5500_dns_poll(&dn, ip), W5500_ERR_GAVE_UP);
}

/* A DHCP reply to xid for the driver's MAC, options given raw (END appended). */
static size_t dhcp_reply(uint8_t *b, uint32_t xid, const uint8_t yi[4], const uint8_t *opts,
                         size_t olen)
{
    memset(b, 0, 300);
    b[0] = 2;
    b[1] = 1;
    b[2] = 6;
    b[4] = (uint8_t)(xid >> 24);
    b[5] = (uint8_t)(xid >> 16);
    b[6] = (uint8_t)(xid >> 8);
    b[7] = (uint8_t)xid;
    memcpy(&b[16], yi, 4);
    w5500_get_mac(&dev, &b[28]);
    b[236] = 99;
    b[237] = 130;
    b[238] = 83;
    b[239] = 99;
    memcpy(&b[240], opts, olen);
    b[240 + olen] = 255;
    return 300;
}

static void test_dhcp_exchange_details(void **state)
{
    (void)state;
    static struct w5500_dhcp dh;
    ready_dev();
    F.auto_send_ok = true;
    const struct w5500_dhcp_config cfg = {1000, 3, true, 0};
    assert_int_equal(w5500_dhcp_start(&dh, &dev, 2, 77u, &cfg), W5500_OK);
    const uint8_t *disc = F.sent[2];
    uint32_t xid = ((uint32_t)disc[4] << 24) | ((uint32_t)disc[5] << 16) |
                   ((uint32_t)disc[6] << 8) | disc[7];
    const uint8_t srv[4] = {192, 168, 1, 1}, srv2[4] = {192, 168, 1, 2};
    const uint8_t yi[4] = {192, 168, 1, 123};
    uint8_t b[400];
    /* OFFER without a mask, with T1 > T2 (inconsistent): from the wrong port first (ignored), a
     * cut datagram (ignored), then for real. */
    const uint8_t offer_opts[] = {53, 1, 2,  54, 4, 192, 168, 1, 1, 3, 4, 192, 168, 1, 254,
                                  51, 4, 0,  0,  0, 100, 58, 4, 0, 0, 0, 80, 59, 4, 0, 0, 0, 60};
    size_t n = dhcp_reply(b, xid, yi, offer_opts, sizeof offer_opts);
    fake_udp_push(2, srv, 68, b, (uint16_t)n, (uint16_t)n);
    assert_int_equal(w5500_dhcp_poll(&dh), W5500_PENDING);
    assert_int_equal(w5500_dhcp_state(&dh), W5500_DHCP_S_SELECTING);
    fake_udp_push(2, srv, 67, b, (uint16_t)n, (uint16_t)(n + 50)); /* header longer than data */
    assert_int_equal(w5500_dhcp_poll(&dh), W5500_PENDING);
    assert_int_equal(w5500_dhcp_state(&dh), W5500_DHCP_S_SELECTING);
    size_t before = F.sent_len[2];
    fake_udp_push(2, srv, 67, b, (uint16_t)n, (uint16_t)n);
    assert_int_equal(w5500_dhcp_poll(&dh), W5500_PENDING);
    assert_int_equal(w5500_dhcp_state(&dh), W5500_DHCP_S_REQUESTING);
    /* The REQUEST names the offered address (50) and the server (54). */
    assert_int_equal(F.sent_len[2] - before, 300);
    const uint8_t *req = &F.sent[2][before];
    assert_int_equal(req[240 + 2], 3);
    bool saw50 = false, saw54 = false;
    for (size_t pos = 240; pos < 300 && req[pos] != 255;) {
        if (req[pos] == 0) {
            pos++;
            continue;
        }
        if (req[pos] == 50) {
            saw50 = memcmp(&req[pos + 2], yi, 4) == 0;
        }
        if (req[pos] == 54) {
            saw54 = memcmp(&req[pos + 2], srv, 4) == 0;
        }
        pos += 2u + req[pos + 1];
    }
    assert_true(saw50 && saw54);
    /* An ACK from another server is not ours to take; the right one binds. */
    const uint8_t ack2_opts[] = {53, 1, 5, 54, 4, 192, 168, 1, 2};
    n = dhcp_reply(b, xid, yi, ack2_opts, sizeof ack2_opts);
    fake_udp_push(2, srv2, 67, b, (uint16_t)n, (uint16_t)n);
    assert_int_equal(w5500_dhcp_poll(&dh), W5500_PENDING);
    uint8_t ack_opts[sizeof offer_opts];
    memcpy(ack_opts, offer_opts, sizeof ack_opts);
    ack_opts[2] = 5;
    n = dhcp_reply(b, xid, yi, ack_opts, sizeof ack_opts);
    fake_udp_push(2, srv, 67, b, (uint16_t)n, (uint16_t)n);
    assert_int_equal(w5500_dhcp_poll(&dh), W5500_OK);
    struct w5500_dhcp_lease l;
    assert_int_equal(w5500_dhcp_get_lease(&dh, &l), W5500_OK);
    const uint8_t m24[4] = {255, 255, 255, 0}, gw[4] = {192, 168, 1, 254};
    assert_memory_equal(l.net.ip, yi, 4);
    assert_memory_equal(l.net.mask, m24, 4); /* no option 1: /24 assumed */
    assert_memory_equal(l.net.gateway, gw, 4);
    assert_int_equal(l.t1_s, 50); /* T1 80 > T2 60: both replaced by the RFC defaults */
    assert_int_equal(l.t2_s, 87);
    assert_memory_equal(&F.common[0x0F], yi, 4);
    assert_memory_equal(&F.common[0x05], m24, 4);
    assert_int_equal(F.sreg[2][3], 0x00); /* socket closed while bound */

    /* T1 (50 s): a unicast REQUEST with ciaddr, no option 50/54, to the server. */
    before = F.sent_len[2];
    F.ms += 50000;
    assert_int_equal(w5500_dhcp_poll(&dh), W5500_OK);
    assert_int_equal(w5500_dhcp_state(&dh), W5500_DHCP_S_RENEWING);
    assert_int_equal(F.sent_len[2] - before, 300);
    req = &F.sent[2][before];
    assert_memory_equal(&F.sreg[2][0x0C], srv, 4);
    assert_memory_equal(&req[12], yi, 4);
    assert_int_equal(req[10], 0); /* no broadcast flag */
    for (size_t pos = 240; pos < 300 && req[pos] != 255;) {
        if (req[pos] == 0) {
            pos++;
            continue;
        }
        assert_true(req[pos] != 50 && req[pos] != 54);
        pos += 2u + req[pos + 1];
    }
    xid = ((uint32_t)req[4] << 24) | ((uint32_t)req[5] << 16) | ((uint32_t)req[6] << 8) | req[7];
    /* The server moves us to another address: reported once, the new one is configured. */
    const uint8_t yi2[4] = {192, 168, 1, 124};
    n = dhcp_reply(b, xid, yi2, ack_opts, sizeof ack_opts);
    fake_udp_push(2, srv, 67, b, (uint16_t)n, (uint16_t)n);
    assert_int_equal(w5500_dhcp_poll(&dh), W5500_ERR_LEASE_LOST);
    assert_memory_equal(&F.common[0x0F], yi2, 4);
    assert_int_equal(w5500_dhcp_poll(&dh), W5500_OK);
    assert_int_equal(w5500_dhcp_state(&dh), W5500_DHCP_S_BOUND);
    /* The same address on the next renewal is just OK. */
    before = F.sent_len[2];
    F.ms += 50000;
    assert_int_equal(w5500_dhcp_poll(&dh), W5500_OK);
    req = &F.sent[2][before];
    xid = ((uint32_t)req[4] << 24) | ((uint32_t)req[5] << 16) | ((uint32_t)req[6] << 8) | req[7];
    n = dhcp_reply(b, xid, yi2, ack_opts, sizeof ack_opts);
    fake_udp_push(2, srv, 67, b, (uint16_t)n, (uint16_t)n);
    assert_int_equal(w5500_dhcp_poll(&dh), W5500_OK);
    assert_int_equal(dh.renewals, 2);
}

static void test_dns_exchange_details(void **state)
{
    (void)state;
    static struct w5500_dns dn;
    ready_dev();
    F.auto_send_ok = true;
    const uint8_t srv[4] = {192, 168, 1, 1}, other[4] = {192, 168, 1, 66};
    const struct w5500_dns_config cfg = {1000, 2};
    assert_int_equal(w5500_dns_start(&dn, &dev, 3, srv, "ota.example.com", 0x2222, 5001, &cfg),
                     W5500_OK);
    uint8_t r[600];
    memset(r, 0, sizeof r);
    size_t qlen = 0;
    assert_int_equal(w5500_dns_build_query(r, sizeof r, 0x2222, "ota.example.com", &qlen),
                     W5500_OK);
    r[2] = 0x81;
    r[3] = 0x80;
    r[7] = 1;
    const uint8_t ans[] = {0xC0, 12, 0, 1, 0, 1, 0, 0, 0, 60, 0, 4, 10, 0, 0, 7};
    memcpy(&r[qlen], ans, sizeof ans);
    size_t rl = qlen + sizeof ans;
    uint8_t ip[4] = {0};
    /* Right content, wrong source address or port: ignored. A reply too big for the 512-byte
     * buffer: ignored. */
    fake_udp_push(3, other, 53, r, (uint16_t)rl, (uint16_t)rl);
    fake_udp_push(3, srv, 5353, r, (uint16_t)rl, (uint16_t)rl);
    assert_int_equal(w5500_dns_poll(&dn, ip), W5500_PENDING);
    fake_udp_push(3, srv, 53, r, 600, 600);
    assert_int_equal(w5500_dns_poll(&dn, ip), W5500_PENDING);
    /* Nothing else comes: after both attempts the last rejection is the answer. */
    F.ms += 1000;
    assert_int_equal(w5500_dns_poll(&dn, ip), W5500_PENDING); /* second query */
    F.ms += 2000;
    assert_int_equal(w5500_dns_poll(&dn, ip), W5500_ERR_MALFORMED);
    assert_int_equal(F.sreg[3][3], 0x00);
    /* Again, and this time the good reply comes from the server. */
    assert_int_equal(w5500_dns_start(&dn, &dev, 3, srv, "ota.example.com", 0x2222, 5001, &cfg),
                     W5500_OK);
    fake_udp_push(3, srv, 53, r, (uint16_t)rl, (uint16_t)rl);
    assert_int_equal(w5500_dns_poll(&dn, ip), W5500_OK);
    const uint8_t want[4] = {10, 0, 0, 7};
    assert_memory_equal(ip, want, 4);
    memset(ip, 0, 4);
    assert_int_equal(w5500_dns_poll(&dn, ip), W5500_OK); /* the result stays */
    assert_memory_equal(ip, want, 4);
    assert_int_equal(dn.ttl, 60);
    assert_int_equal(F.sreg[3][3], 0x00);
}

static void test_more_chip_misbehaviour(void **state)
{
    (void)state;
    /* RTR/RCR that do not stick, buffer sizes that do not stick: VERIFY at bring-up. */
    struct w5500_config c;
    default_cfg(&c);
    c.retry_time_100us = 500; /* differs from the reset value, so a lost write shows */
    assert_int_equal(w5500_init(&dev, &PORT, &c), W5500_OK);
    F.ro_lo = 0x19;
    F.ro_hi = 0x1B;
    assert_int_equal(run_bringup(50), W5500_ERR_VERIFY);
    setup(NULL);
    F.sizes_readonly = true;
    assert_int_equal(run_bringup(50), W5500_ERR_VERIFY);
    /* A CLOSE that never shows SOCK_CLOSED. */
    setup(NULL);
    ready_dev();
    assert_int_equal(w5500_udp_open(&dev, 1, 5000), W5500_OK);
    F.close_ignored = true;
    assert_int_equal(w5500_sock_close(&dev, 1), W5500_ERR_SOCK_STATE);
    F.close_ignored = false;
    assert_int_equal(w5500_sock_close(&dev, 1), W5500_OK);
    /* UDP: not enough TX space yet -> PENDING; the socket closing under a pending send. */
    assert_int_equal(w5500_udp_open(&dev, 1, 5000), W5500_OK);
    setbe16(&F.sreg[1][0x22], (uint16_t)(be16(&F.sreg[1][0x24]) - 2000u));
    const uint8_t to[4] = {192, 168, 1, 1};
    uint8_t d[100] = {0};
    assert_int_equal(w5500_udp_sendto(&dev, 1, d, sizeof d, to, 53), W5500_PENDING);
    setbe16(&F.sreg[1][0x22], be16(&F.sreg[1][0x24]));
    assert_int_equal(w5500_udp_sendto(&dev, 1, d, sizeof d, to, 53), W5500_OK);
    F.sreg[1][3] = 0x00;
    assert_int_equal(w5500_udp_send_poll(&dev, 1), W5500_ERR_SOCK_STATE);
    assert_int_equal(dev.sock[1].kind, W5500_SOCK_FREE);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup(test_bringup_ok, setup),
        cmocka_unit_test_setup(test_bringup_waits_on_clock, setup),
        cmocka_unit_test_setup(test_mac_from_uid, setup),
        cmocka_unit_test_setup(test_bringup_times_from_the_pin_edges, setup),
        cmocka_unit_test_setup(test_bringup_restart, setup),
        cmocka_unit_test_setup(test_bringup_no_chip, setup),
        cmocka_unit_test_setup(test_bringup_link, setup),
        cmocka_unit_test_setup(test_bringup_spi_and_verify_errors, setup),
        cmocka_unit_test_setup(test_init_args, setup),
        cmocka_unit_test_setup(test_socket_args, setup),
        cmocka_unit_test_setup(test_tcp_connect_outcomes, setup),
        cmocka_unit_test_setup(test_tcp_send_wrap_and_flow, setup),
        cmocka_unit_test_setup(test_tcp_recv, setup),
        cmocka_unit_test_setup(test_stuck_unstable_spi, setup),
        cmocka_unit_test_setup(test_tcp_disconnect, setup),
        cmocka_unit_test_setup(test_udp, setup),
        cmocka_unit_test_setup(test_netcfg_and_strings, setup),
        cmocka_unit_test_setup(test_dhcp_dns_errors, setup),
        cmocka_unit_test_setup(test_dhcp_exchange_details, setup),
        cmocka_unit_test_setup(test_dns_exchange_details, setup),
        cmocka_unit_test_setup(test_more_chip_misbehaviour, setup),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
