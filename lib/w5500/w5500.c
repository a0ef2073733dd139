/*
 * W5500 driver core: SPI framing, bring-up state machine and the socket layer.
 * See w5500.h for the contract and docs/w5500-driver.md for the design.
 */
#include "w5500.h"

#include <string.h>

#include "ota_util.h"
#include "w5500_regs.h"

/* Sn_CR clears within nanoseconds of the write; this many reads is generous and bounded. */
#define CMD_POLLS 16u
/* RSR/FSR change between frames only; two equal reads are expected within a few tries. */
#define STABLE_TRIES 8u
/* OPEN/CLOSE show in Sn_SR at once on the chip; allow a few reads for a lagging one. */
#define SR_POLLS 8u
/* Reset pulse and PLL wait in clock ticks: 2 ticks of a 1 ms clock guarantee >= 1 ms elapsed. */
#define RESET_LOW_TICKS 2u
#define PLL_TICKS 2u
/* Reset values of RTR (200 ms in 100 us units) and RCR (datasheet). */
#define RTR_DEFAULT 2000u
#define RCR_DEFAULT 8u

const char *w5500_status_str(int status)
{
    switch (status) {
    case W5500_OK: return "ok";
    case W5500_PENDING: return "pending";
    case W5500_EOF: return "eof";
    case W5500_ERR_ARG: return "bad argument";
    case W5500_ERR_SPI: return "spi transfer failed";
    case W5500_ERR_NO_CHIP: return "no W5500 (VERSIONR != 0x04)";
    case W5500_ERR_NO_LINK: return "no ethernet link";
    case W5500_ERR_NOT_READY: return "driver not ready";
    case W5500_ERR_SOCKNUM: return "bad socket number";
    case W5500_ERR_SOCK_STATE: return "socket in wrong state";
    case W5500_ERR_CMD_STUCK: return "socket command not accepted";
    case W5500_ERR_UNSTABLE: return "size register unstable";
    case W5500_ERR_TIMEOUT: return "network timeout";
    case W5500_ERR_CLOSED: return "connection closed or refused";
    case W5500_ERR_TRUNCATED: return "datagram truncated";
    case W5500_ERR_BAD_FRAME: return "bad receive frame";
    case W5500_ERR_VERIFY: return "register read-back mismatch";
    case W5500_ERR_MALFORMED: return "malformed message";
    case W5500_ERR_MISMATCH: return "reply not for us";
    case W5500_ERR_NAK: return "dhcp nak";
    case W5500_ERR_NXDOMAIN: return "dns name does not exist";
    case W5500_ERR_SERVFAIL: return "dns server failure";
    case W5500_ERR_NO_ANSWER: return "dns no address";
    case W5500_ERR_DNS_TRUNC: return "dns reply truncated";
    case W5500_ERR_GAVE_UP: return "no reply after all retries";
    case W5500_ERR_LEASE_LOST: return "dhcp lease lost";
    case W5500_ERR_CONFLICT: return "dhcp address in use";
    default: return "unknown";
    }
}

/* ---- SPI framing ---------------------------------------------------------------------------- */

/* One frame: header (address, control) then len data bytes, all under one SCSn low. */
static int spi_frame(struct w5500_dev *dev, uint16_t addr, uint8_t ctrl, const uint8_t *tx,
                     uint8_t *rx, size_t len)
{
    const struct w5500_port *p = dev->port;
    uint8_t hdr[3] = {(uint8_t)(addr >> 8), (uint8_t)addr, ctrl};
    p->select(p->ctx);
    int rc = p->transfer(p->ctx, hdr, NULL, sizeof hdr);
    if (rc == 0 && len > 0) {
        rc = p->transfer(p->ctx, tx, rx, len);
    }
    p->deselect(p->ctx);
    return rc == 0 ? W5500_OK : W5500_ERR_SPI;
}

static int rd(struct w5500_dev *dev, uint8_t bsb, uint16_t addr, uint8_t *buf, size_t len)
{
    return spi_frame(dev, addr, (uint8_t)(bsb | W5500_CTRL_READ), NULL, buf, len);
}

static int wr(struct w5500_dev *dev, uint8_t bsb, uint16_t addr, const uint8_t *buf, size_t len)
{
    return spi_frame(dev, addr, (uint8_t)(bsb | W5500_CTRL_WRITE), buf, NULL, len);
}

static int wr8(struct w5500_dev *dev, uint8_t bsb, uint16_t addr, uint8_t v)
{
    return wr(dev, bsb, addr, &v, 1);
}

static int wr16(struct w5500_dev *dev, uint8_t bsb, uint16_t addr, uint16_t v)
{
    uint8_t b[2];
    ota_put_be16(b, v);
    return wr(dev, bsb, addr, b, sizeof b);
}

/* ---- MAC ------------------------------------------------------------------------------------ */

void w5500_mac_from_uid(const uint8_t uid[12], uint8_t mac[6])
{
    /* FNV-1a 64 spreads all 96 bits (lot, wafer, x/y) over the 46 free MAC bits. */
    uint64_t h = 0xcbf29ce484222325ull;
    for (unsigned i = 0; i < 12; i++) {
        h ^= uid[i];
        h *= 0x100000001b3ull;
    }
    for (unsigned i = 0; i < 6; i++) {
        mac[i] = (uint8_t)(h >> (8u * i));
    }
    mac[0] = (uint8_t)((mac[0] & 0xFCu) | 0x02u); /* locally administered, unicast */
}

/* ---- bring-up ------------------------------------------------------------------------------- */

static bool buf_kb_ok(uint8_t kb)
{
    return kb == 0 || kb == 1 || kb == 2 || kb == 4 || kb == 8 || kb == 16;
}

int w5500_init(struct w5500_dev *dev, const struct w5500_port *port,
               const struct w5500_config *cfg)
{
    OTA_VERIFY(dev != NULL && port != NULL && cfg != NULL, W5500_ERR_ARG);
    OTA_VERIFY(port->select != NULL && port->deselect != NULL && port->transfer != NULL &&
                   port->reset_pin != NULL && port->millis != NULL,
               W5500_ERR_ARG);
    unsigned tx_sum = 0;
    unsigned rx_sum = 0;
    for (unsigned i = 0; i < W5500_NUM_SOCKETS; i++) {
        OTA_VERIFY(buf_kb_ok(cfg->tx_kb[i]) && buf_kb_ok(cfg->rx_kb[i]), W5500_ERR_ARG);
        tx_sum += cfg->tx_kb[i];
        rx_sum += cfg->rx_kb[i];
    }
    OTA_VERIFY(tx_sum <= 16u && rx_sum <= 16u, W5500_ERR_ARG);

    memset(dev, 0, sizeof *dev);
    dev->port = port;
    dev->cfg = *cfg;
    w5500_mac_from_uid(cfg->uid, dev->mac);
    for (unsigned i = 0; i < W5500_NUM_SOCKETS; i++) {
        dev->sock[i].tx_size = (uint16_t)(cfg->tx_kb[i] * 1024u);
        dev->sock[i].rx_size = (uint16_t)(cfg->rx_kb[i] * 1024u);
    }
    dev->state = W5500_BU_IDLE;
    return W5500_OK;
}

static int bringup_fail(struct w5500_dev *dev, int status)
{
    dev->state = W5500_BU_FAILED;
    dev->fail_status = status;
    return status;
}

static int bringup_configure(struct w5500_dev *dev)
{
    uint8_t v = 0;
    OTA_TRY(rd(dev, W5500_BSB_COMMON, W5500_VERSIONR, &v, 1));
    if (v != W5500_VERSION) {
        return W5500_ERR_NO_CHIP;
    }
    /* GAR, SUBR, SHAR, SIPR: one 18-byte frame. */
    uint8_t common[18];
    uint8_t back[18];
    memcpy(&common[0], dev->cfg.net.gateway, 4);
    memcpy(&common[4], dev->cfg.net.mask, 4);
    memcpy(&common[8], dev->mac, 6);
    memcpy(&common[14], dev->cfg.net.ip, 4);
    OTA_TRY(wr(dev, W5500_BSB_COMMON, W5500_GAR, common, sizeof common));
    OTA_TRY(rd(dev, W5500_BSB_COMMON, W5500_GAR, back, sizeof back));
    if (memcmp(common, back, sizeof common) != 0) {
        return W5500_ERR_VERIFY;
    }
    /* RTR (2 bytes) and RCR are adjacent: one frame, chip defaults where not configured. */
    uint8_t rt[3];
    ota_put_be16(rt, dev->cfg.retry_time_100us != 0 ? dev->cfg.retry_time_100us : RTR_DEFAULT);
    rt[2] = dev->cfg.retry_count != 0 ? dev->cfg.retry_count : RCR_DEFAULT;
    uint8_t rtb[3];
    OTA_TRY(wr(dev, W5500_BSB_COMMON, W5500_RTR, rt, sizeof rt));
    OTA_TRY(rd(dev, W5500_BSB_COMMON, W5500_RTR, rtb, sizeof rtb));
    if (memcmp(rt, rtb, sizeof rt) != 0) {
        return W5500_ERR_VERIFY;
    }
    for (uint8_t sn = 0; sn < W5500_NUM_SOCKETS; sn++) {
        uint8_t sz[2] = {dev->cfg.rx_kb[sn], dev->cfg.tx_kb[sn]}; /* RXBUF_SIZE, TXBUF_SIZE */
        uint8_t szb[2];
        OTA_TRY(wr(dev, W5500_BSB_SREG(sn), W5500_Sn_RXBUF_SIZE, sz, sizeof sz));
        OTA_TRY(rd(dev, W5500_BSB_SREG(sn), W5500_Sn_RXBUF_SIZE, szb, sizeof szb));
        if (memcmp(sz, szb, sizeof sz) != 0) {
            return W5500_ERR_VERIFY;
        }
    }
    return W5500_OK;
}

int w5500_bringup_poll(struct w5500_dev *dev)
{
    OTA_VERIFY(dev != NULL && dev->port != NULL, W5500_ERR_ARG);
    const struct w5500_port *p = dev->port;
    uint32_t now = p->millis(p->ctx);
    switch (dev->state) {
    case W5500_BU_IDLE:
        p->reset_pin(p->ctx, false);
        /* Timed from the edge, not from `now`: an interrupt between the two would shorten it. */
        dev->t_mark = p->millis(p->ctx);
        dev->state = W5500_BU_RESET_LOW;
        return W5500_PENDING;
    case W5500_BU_RESET_LOW:
        if ((uint32_t)(now - dev->t_mark) < RESET_LOW_TICKS) {
            return W5500_PENDING;
        }
        p->reset_pin(p->ctx, true);
        dev->t_mark = p->millis(p->ctx); /* PLL lock counts from the release itself */
        dev->state = W5500_BU_PLL_WAIT;
        return W5500_PENDING;
    case W5500_BU_PLL_WAIT:
        if ((uint32_t)(now - dev->t_mark) < PLL_TICKS) {
            return W5500_PENDING;
        }
        dev->state = W5500_BU_CONFIGURE;
        return W5500_PENDING;
    case W5500_BU_CONFIGURE: {
        int rc = bringup_configure(dev);
        if (rc != W5500_OK) {
            return bringup_fail(dev, rc);
        }
        dev->t_mark = now;
        dev->state = W5500_BU_LINK_WAIT;
        return W5500_PENDING;
    }
    case W5500_BU_LINK_WAIT: {
        bool up = false;
        uint8_t phy = 0;
        int rc = rd(dev, W5500_BSB_COMMON, W5500_PHYCFGR, &phy, 1);
        if (rc != W5500_OK) {
            return bringup_fail(dev, rc);
        }
        up = (phy & W5500_PHYCFGR_LNK) != 0;
        if (up || dev->cfg.link_timeout_ms == 0) {
            dev->state = W5500_BU_READY;
            return W5500_OK;
        }
        if ((uint32_t)(now - dev->t_mark) >= dev->cfg.link_timeout_ms) {
            return bringup_fail(dev, W5500_ERR_NO_LINK);
        }
        return W5500_PENDING;
    }
    case W5500_BU_READY:
        return W5500_OK;
    case W5500_BU_FAILED:
    default:
        return dev->fail_status != 0 ? dev->fail_status : W5500_ERR_NOT_READY;
    }
}

int w5500_bringup_restart(struct w5500_dev *dev)
{
    OTA_VERIFY(dev != NULL && dev->port != NULL, W5500_ERR_ARG);
    struct w5500_config cfg = dev->cfg; /* w5500_init clears dev first */
    return w5500_init(dev, dev->port, &cfg);
}

bool w5500_ready(const struct w5500_dev *dev)
{
    return dev != NULL && dev->state == W5500_BU_READY;
}

int w5500_check(struct w5500_dev *dev)
{
    OTA_VERIFY(w5500_ready(dev), W5500_ERR_NOT_READY);
    uint8_t v = 0;
    OTA_TRY(rd(dev, W5500_BSB_COMMON, W5500_VERSIONR, &v, 1));
    OTA_VERIFY(v == W5500_VERSION, W5500_ERR_NO_CHIP);
    uint8_t all[18];
    OTA_TRY(rd(dev, W5500_BSB_COMMON, W5500_GAR, all, sizeof all));
    bool same = memcmp(&all[0], dev->cfg.net.gateway, 4) == 0 &&
                memcmp(&all[4], dev->cfg.net.mask, 4) == 0 && memcmp(&all[8], dev->mac, 6) == 0 &&
                memcmp(&all[14], dev->cfg.net.ip, 4) == 0;
    return same ? W5500_OK : W5500_ERR_VERIFY;
}

int w5500_link_get(struct w5500_dev *dev, bool *up)
{
    OTA_VERIFY(up != NULL, W5500_ERR_ARG);
    OTA_VERIFY(w5500_ready(dev), W5500_ERR_NOT_READY);
    uint8_t phy = 0;
    OTA_TRY(rd(dev, W5500_BSB_COMMON, W5500_PHYCFGR, &phy, 1));
    *up = (phy & W5500_PHYCFGR_LNK) != 0;
    return W5500_OK;
}

int w5500_set_netcfg(struct w5500_dev *dev, const struct w5500_netcfg *net)
{
    OTA_VERIFY(net != NULL, W5500_ERR_ARG);
    OTA_VERIFY(w5500_ready(dev), W5500_ERR_NOT_READY);
    uint8_t gs[8];
    memcpy(&gs[0], net->gateway, 4);
    memcpy(&gs[4], net->mask, 4);
    OTA_TRY(wr(dev, W5500_BSB_COMMON, W5500_GAR, gs, sizeof gs));
    OTA_TRY(wr(dev, W5500_BSB_COMMON, W5500_SIPR, net->ip, 4));
    struct w5500_netcfg back;
    OTA_TRY(w5500_get_netcfg(dev, &back));
    OTA_VERIFY(memcmp(&back, net, sizeof back) == 0, W5500_ERR_VERIFY);
    dev->cfg.net = *net;
    return W5500_OK;
}

int w5500_set_retry_count(struct w5500_dev *dev, uint8_t rcr)
{
    OTA_VERIFY(dev != NULL && dev->port != NULL, W5500_ERR_ARG);
    uint8_t back = 0;
    OTA_TRY(wr(dev, W5500_BSB_COMMON, W5500_RCR, &rcr, 1));
    OTA_TRY(rd(dev, W5500_BSB_COMMON, W5500_RCR, &back, 1));
    return back == rcr ? W5500_OK : W5500_ERR_VERIFY;
}

int w5500_restore_retry_count(struct w5500_dev *dev)
{
    OTA_VERIFY(dev != NULL, W5500_ERR_ARG);
    return w5500_set_retry_count(dev, dev->cfg.retry_count != 0 ? dev->cfg.retry_count
                                                                : (uint8_t)RCR_DEFAULT);
}

int w5500_get_netcfg(struct w5500_dev *dev, struct w5500_netcfg *net)
{
    OTA_VERIFY(net != NULL, W5500_ERR_ARG);
    OTA_VERIFY(w5500_ready(dev), W5500_ERR_NOT_READY);
    uint8_t all[18];
    OTA_TRY(rd(dev, W5500_BSB_COMMON, W5500_GAR, all, sizeof all));
    memcpy(net->gateway, &all[0], 4);
    memcpy(net->mask, &all[4], 4);
    memcpy(net->ip, &all[14], 4);
    return W5500_OK;
}

void w5500_get_mac(const struct w5500_dev *dev, uint8_t mac[6])
{
    memcpy(mac, dev->mac, 6);
}

/* ---- socket helpers ------------------------------------------------------------------------- */

static int sock_check(struct w5500_dev *dev, uint8_t sn)
{
    OTA_VERIFY(w5500_ready(dev), W5500_ERR_NOT_READY);
    OTA_VERIFY(sn < W5500_NUM_SOCKETS, W5500_ERR_SOCKNUM);
    OTA_VERIFY(dev->sock[sn].tx_size != 0 && dev->sock[sn].rx_size != 0, W5500_ERR_SOCKNUM);
    return W5500_OK;
}

static int sock_cmd(struct w5500_dev *dev, uint8_t sn, uint8_t cmd)
{
    OTA_TRY(wr8(dev, W5500_BSB_SREG(sn), W5500_Sn_CR, cmd));
    for (unsigned i = 0; i < CMD_POLLS; i++) {
        uint8_t cr = 0xFF;
        OTA_TRY(rd(dev, W5500_BSB_SREG(sn), W5500_Sn_CR, &cr, 1));
        if (cr == 0) {
            return W5500_OK;
        }
    }
    return W5500_ERR_CMD_STUCK;
}

/* Sn_IR and Sn_SR are adjacent: one 2-byte frame. */
static int sock_ir_sr(struct w5500_dev *dev, uint8_t sn, uint8_t *ir, uint8_t *sr)
{
    uint8_t b[2];
    OTA_TRY(rd(dev, W5500_BSB_SREG(sn), W5500_Sn_IR, b, sizeof b));
    *ir = (uint8_t)(b[0] & W5500_IR_ALL);
    *sr = b[1];
    return W5500_OK;
}

static int sock_ir_clear(struct w5500_dev *dev, uint8_t sn, uint8_t bits)
{
    return wr8(dev, W5500_BSB_SREG(sn), W5500_Sn_IR, bits);
}

/*
 * Read len bytes starting at addr (len >= 2) until the first 16-bit value agrees twice
 * (datasheet: RSR/FSR may change between reads).
 */
static int read_stable(struct w5500_dev *dev, uint8_t sn, uint16_t addr, uint8_t *out, size_t len)
{
    uint8_t prev[6];
    OTA_ASSERT(len >= 2 && len <= sizeof prev);
    OTA_TRY(rd(dev, W5500_BSB_SREG(sn), addr, prev, len));
    if (prev[0] == 0 && prev[1] == 0) {
        /* Zero (nothing to read / no space) is safe even if torn: at worst one extra poll. */
        memcpy(out, prev, len);
        return W5500_OK;
    }
    for (unsigned i = 0; i < STABLE_TRIES; i++) {
        OTA_TRY(rd(dev, W5500_BSB_SREG(sn), addr, out, len));
        if (out[0] == prev[0] && out[1] == prev[1]) {
            return W5500_OK;
        }
        memcpy(prev, out, len);
    }
    return W5500_ERR_UNSTABLE;
}

int w5500_sock_status(struct w5500_dev *dev, uint8_t sn, uint8_t *sr)
{
    OTA_VERIFY(sr != NULL, W5500_ERR_ARG);
    OTA_VERIFY(w5500_ready(dev), W5500_ERR_NOT_READY);
    OTA_VERIFY(sn < W5500_NUM_SOCKETS, W5500_ERR_SOCKNUM);
    return rd(dev, W5500_BSB_SREG(sn), W5500_Sn_SR, sr, 1);
}

int w5500_sock_close(struct w5500_dev *dev, uint8_t sn)
{
    OTA_VERIFY(w5500_ready(dev), W5500_ERR_NOT_READY);
    OTA_VERIFY(sn < W5500_NUM_SOCKETS, W5500_ERR_SOCKNUM);
    OTA_TRY(sock_cmd(dev, sn, W5500_CR_CLOSE));
    OTA_TRY(sock_ir_clear(dev, sn, W5500_IR_ALL));
    dev->sock[sn].send_pending = false;
    dev->sock[sn].disconnecting = false;
    for (unsigned i = 0; i < SR_POLLS; i++) {
        uint8_t sr = 0xFF;
        OTA_TRY(rd(dev, W5500_BSB_SREG(sn), W5500_Sn_SR, &sr, 1));
        if (sr == W5500_SR_CLOSED) {
            dev->sock[sn].kind = W5500_SOCK_FREE;
            return W5500_OK;
        }
    }
    return W5500_ERR_SOCK_STATE;
}

/* Close whatever is there, set mode and port, OPEN, and wait (bounded) for the expected Sn_SR. */
static int sock_open(struct w5500_dev *dev, uint8_t sn, uint8_t mode, uint16_t port,
                     uint8_t expect_sr)
{
    OTA_TRY(w5500_sock_close(dev, sn));
    OTA_TRY(wr8(dev, W5500_BSB_SREG(sn), W5500_Sn_MR, mode));
    OTA_TRY(wr16(dev, W5500_BSB_SREG(sn), W5500_Sn_PORT, port));
    OTA_TRY(sock_cmd(dev, sn, W5500_CR_OPEN));
    for (unsigned i = 0; i < SR_POLLS; i++) {
        uint8_t sr = 0;
        OTA_TRY(rd(dev, W5500_BSB_SREG(sn), W5500_Sn_SR, &sr, 1));
        if (sr == expect_sr) {
            return W5500_OK;
        }
    }
    int rc = w5500_sock_close(dev, sn);
    return rc != W5500_OK ? rc : W5500_ERR_SOCK_STATE;
}

/* The chip ended the connection by itself: free the socket and say why. */
static int sock_lost(struct w5500_dev *dev, uint8_t sn, uint8_t ir)
{
    int rc = w5500_sock_close(dev, sn);
    if (rc != W5500_OK) {
        return rc;
    }
    return (ir & W5500_IR_TIMEOUT) != 0 ? W5500_ERR_TIMEOUT : W5500_ERR_CLOSED;
}

static bool ip_is_unicast(const uint8_t ip[4])
{
    static const uint8_t zero[4] = {0, 0, 0, 0};
    static const uint8_t bcast[4] = {255, 255, 255, 255};
    return memcmp(ip, zero, 4) != 0 && memcmp(ip, bcast, 4) != 0;
}

/* Write payload at TX_WR in one frame, advance TX_WR and issue SEND. */
static int sock_tx(struct w5500_dev *dev, uint8_t sn, uint16_t tx_wr, const uint8_t *buf,
                   size_t n)
{
    OTA_TRY(wr(dev, W5500_BSB_STX(sn), tx_wr, buf, n));
    OTA_TRY(wr16(dev, W5500_BSB_SREG(sn), W5500_Sn_TX_WR, (uint16_t)(tx_wr + n)));
    OTA_TRY(sock_cmd(dev, sn, W5500_CR_SEND));
    dev->sock[sn].send_pending = true;
    return W5500_OK;
}

/* Advance RX_RD by n (16-bit wrap) and issue RECV. */
static int sock_rx_done(struct w5500_dev *dev, uint8_t sn, uint16_t rx_rd, size_t n)
{
    OTA_TRY(wr16(dev, W5500_BSB_SREG(sn), W5500_Sn_RX_RD, (uint16_t)(rx_rd + n)));
    return sock_cmd(dev, sn, W5500_CR_RECV);
}

/* ---- TCP client ----------------------------------------------------------------------------- */

int w5500_tcp_connect(struct w5500_dev *dev, uint8_t sn, uint16_t local_port,
                      const uint8_t ip[4], uint16_t port)
{
    OTA_TRY(sock_check(dev, sn));
    OTA_VERIFY(ip != NULL && ip_is_unicast(ip) && port != 0 && local_port != 0, W5500_ERR_ARG);
    OTA_TRY(sock_open(dev, sn, W5500_Sn_MR_TCP, local_port, W5500_SR_INIT));
    dev->sock[sn].kind = W5500_SOCK_TCP;
    uint8_t dst[6];
    memcpy(dst, ip, 4);
    ota_put_be16(&dst[4], port);
    int rc = wr8(dev, W5500_BSB_SREG(sn), W5500_Sn_KPALVTR, dev->cfg.tcp_keepalive_5s);
    if (rc == W5500_OK) {
        rc = wr(dev, W5500_BSB_SREG(sn), W5500_Sn_DIPR, dst, sizeof dst);
    }
    if (rc == W5500_OK) {
        rc = sock_cmd(dev, sn, W5500_CR_CONNECT);
    }
    if (rc != W5500_OK) {
        /* Best effort not to leave the socket open; the first error is the one that explains. */
        (void)w5500_sock_close(dev, sn);
    }
    return rc;
}

int w5500_tcp_connect_poll(struct w5500_dev *dev, uint8_t sn)
{
    OTA_TRY(sock_check(dev, sn));
    OTA_VERIFY(dev->sock[sn].kind == W5500_SOCK_TCP, W5500_ERR_SOCK_STATE);
    uint8_t ir = 0;
    uint8_t sr = 0;
    OTA_TRY(sock_ir_sr(dev, sn, &ir, &sr));
    if (sr == W5500_SR_ESTABLISHED || sr == W5500_SR_CLOSE_WAIT) {
        if ((ir & W5500_IR_CON) != 0) {
            OTA_TRY(sock_ir_clear(dev, sn, W5500_IR_CON));
        }
        return W5500_OK;
    }
    if ((ir & W5500_IR_TIMEOUT) != 0 || sr == W5500_SR_CLOSED) {
        return sock_lost(dev, sn, ir);
    }
    return W5500_PENDING;
}

/* Connected-state check shared by send/flush; also settles an outstanding SEND. */
static int tcp_tx_state(struct w5500_dev *dev, uint8_t sn)
{
    uint8_t ir = 0;
    uint8_t sr = 0;
    OTA_TRY(sock_ir_sr(dev, sn, &ir, &sr));
    if ((ir & W5500_IR_TIMEOUT) != 0 ||
        (sr != W5500_SR_ESTABLISHED && sr != W5500_SR_CLOSE_WAIT)) {
        return sock_lost(dev, sn, ir);
    }
    if (dev->sock[sn].send_pending) {
        if ((ir & W5500_IR_SEND_OK) == 0) {
            return W5500_PENDING;
        }
        OTA_TRY(sock_ir_clear(dev, sn, W5500_IR_SEND_OK));
        dev->sock[sn].send_pending = false;
    }
    return W5500_OK;
}

int w5500_tcp_send(struct w5500_dev *dev, uint8_t sn, const uint8_t *buf, size_t len,
                   size_t *sent)
{
    OTA_VERIFY(sent != NULL, W5500_ERR_ARG);
    *sent = 0;
    OTA_TRY(sock_check(dev, sn));
    OTA_VERIFY(buf != NULL || len == 0, W5500_ERR_ARG);
    OTA_VERIFY(dev->sock[sn].kind == W5500_SOCK_TCP, W5500_ERR_SOCK_STATE);
    int rc = tcp_tx_state(dev, sn);
    if (rc != W5500_OK || len == 0) {
        return rc;
    }
    uint8_t b[6]; /* FSR, TX_RD, TX_WR */
    OTA_TRY(read_stable(dev, sn, W5500_Sn_TX_FSR, b, sizeof b));
    uint16_t fsr = ota_get_be16(&b[0]);
    uint16_t tx_wr = ota_get_be16(&b[4]);
    OTA_VERIFY(fsr <= dev->sock[sn].tx_size, W5500_ERR_BAD_FRAME);
    size_t n = len < fsr ? len : fsr;
    if (n == 0) {
        return W5500_PENDING;
    }
    OTA_TRY(sock_tx(dev, sn, tx_wr, buf, n));
    *sent = n;
    return W5500_OK;
}

int w5500_tcp_flush_poll(struct w5500_dev *dev, uint8_t sn)
{
    OTA_TRY(sock_check(dev, sn));
    OTA_VERIFY(dev->sock[sn].kind == W5500_SOCK_TCP, W5500_ERR_SOCK_STATE);
    return tcp_tx_state(dev, sn);
}

int w5500_tcp_recv(struct w5500_dev *dev, uint8_t sn, uint8_t *buf, size_t cap, size_t *got)
{
    OTA_VERIFY(got != NULL, W5500_ERR_ARG);
    *got = 0;
    OTA_TRY(sock_check(dev, sn));
    OTA_VERIFY(buf != NULL && cap > 0, W5500_ERR_ARG);
    OTA_VERIFY(dev->sock[sn].kind == W5500_SOCK_TCP, W5500_ERR_SOCK_STATE);
    for (unsigned pass = 0; pass < 2; pass++) {
        uint8_t b[4]; /* RSR, RX_RD */
        OTA_TRY(read_stable(dev, sn, W5500_Sn_RX_RSR, b, sizeof b));
        uint16_t rsr = ota_get_be16(&b[0]);
        uint16_t rx_rd = ota_get_be16(&b[2]);
        OTA_VERIFY(rsr <= dev->sock[sn].rx_size, W5500_ERR_BAD_FRAME);
        if (rsr > 0) {
            size_t n = cap < rsr ? cap : rsr;
            OTA_TRY(rd(dev, W5500_BSB_SRX(sn), rx_rd, buf, n));
            OTA_TRY(sock_rx_done(dev, sn, rx_rd, n));
            *got = n;
            return W5500_OK;
        }
        if (pass == 1) {
            break;
        }
        uint8_t ir = 0;
        uint8_t sr = 0;
        OTA_TRY(sock_ir_sr(dev, sn, &ir, &sr));
        if (sr == W5500_SR_ESTABLISHED) {
            return W5500_PENDING;
        }
        if (sr != W5500_SR_CLOSE_WAIT) {
            return sock_lost(dev, sn, ir);
        }
        /* CLOSE_WAIT: data and FIN may have landed between the two reads; look once more. */
    }
    return W5500_EOF;
}

int w5500_tcp_disconnect(struct w5500_dev *dev, uint8_t sn)
{
    OTA_TRY(sock_check(dev, sn));
    OTA_VERIFY(dev->sock[sn].kind == W5500_SOCK_TCP, W5500_ERR_SOCK_STATE);
    OTA_TRY(sock_cmd(dev, sn, W5500_CR_DISCON));
    dev->sock[sn].disconnecting = true;
    return W5500_OK;
}

int w5500_tcp_disconnect_poll(struct w5500_dev *dev, uint8_t sn)
{
    OTA_TRY(sock_check(dev, sn));
    OTA_VERIFY(dev->sock[sn].kind == W5500_SOCK_TCP && dev->sock[sn].disconnecting,
               W5500_ERR_SOCK_STATE);
    uint8_t ir = 0;
    uint8_t sr = 0;
    OTA_TRY(sock_ir_sr(dev, sn, &ir, &sr));
    if ((ir & W5500_IR_TIMEOUT) != 0) {
        return sock_lost(dev, sn, ir);
    }
    if (sr == W5500_SR_CLOSED) {
        return w5500_sock_close(dev, sn);
    }
    return W5500_PENDING;
}

/* ---- UDP ------------------------------------------------------------------------------------ */

int w5500_udp_open(struct w5500_dev *dev, uint8_t sn, uint16_t local_port)
{
    OTA_TRY(sock_check(dev, sn));
    OTA_VERIFY(local_port != 0, W5500_ERR_ARG);
    OTA_TRY(sock_open(dev, sn, W5500_Sn_MR_UDP, local_port, W5500_SR_UDP));
    dev->sock[sn].kind = W5500_SOCK_UDP;
    return W5500_OK;
}

int w5500_udp_sendto(struct w5500_dev *dev, uint8_t sn, const uint8_t *buf, size_t len,
                     const uint8_t ip[4], uint16_t port)
{
    OTA_TRY(sock_check(dev, sn));
    OTA_VERIFY(buf != NULL && len > 0 && len <= dev->sock[sn].tx_size &&
                   len <= W5500_UDP_MAX_PAYLOAD,
               W5500_ERR_ARG);
    OTA_VERIFY(ip != NULL && port != 0, W5500_ERR_ARG);
    static const uint8_t zero[4] = {0, 0, 0, 0};
    OTA_VERIFY(memcmp(ip, zero, 4) != 0, W5500_ERR_ARG);
    OTA_VERIFY(dev->sock[sn].kind == W5500_SOCK_UDP, W5500_ERR_SOCK_STATE);
    if (dev->sock[sn].send_pending) {
        int rc = w5500_udp_send_poll(dev, sn);
        if (rc != W5500_OK) {
            return rc;
        }
    }
    uint8_t sr = 0;
    OTA_TRY(rd(dev, W5500_BSB_SREG(sn), W5500_Sn_SR, &sr, 1));
    if (sr != W5500_SR_UDP) {
        int rc = w5500_sock_close(dev, sn);
        return rc != W5500_OK ? rc : W5500_ERR_SOCK_STATE;
    }
    uint8_t b[6];
    OTA_TRY(read_stable(dev, sn, W5500_Sn_TX_FSR, b, sizeof b));
    uint16_t fsr = ota_get_be16(&b[0]);
    uint16_t tx_wr = ota_get_be16(&b[4]);
    if (fsr < len) {
        return W5500_PENDING;
    }
    uint8_t dst[6];
    memcpy(dst, ip, 4);
    ota_put_be16(&dst[4], port);
    OTA_TRY(wr(dev, W5500_BSB_SREG(sn), W5500_Sn_DIPR, dst, sizeof dst));
    return sock_tx(dev, sn, tx_wr, buf, len);
}

int w5500_udp_send_poll(struct w5500_dev *dev, uint8_t sn)
{
    OTA_TRY(sock_check(dev, sn));
    OTA_VERIFY(dev->sock[sn].kind == W5500_SOCK_UDP, W5500_ERR_SOCK_STATE);
    if (!dev->sock[sn].send_pending) {
        return W5500_OK;
    }
    uint8_t ir = 0;
    uint8_t sr = 0;
    OTA_TRY(sock_ir_sr(dev, sn, &ir, &sr));
    if ((ir & W5500_IR_SEND_OK) != 0) {
        OTA_TRY(sock_ir_clear(dev, sn, W5500_IR_SEND_OK));
        dev->sock[sn].send_pending = false;
        return W5500_OK;
    }
    if ((ir & W5500_IR_TIMEOUT) != 0) {
        OTA_TRY(sock_ir_clear(dev, sn, W5500_IR_TIMEOUT));
        dev->sock[sn].send_pending = false;
        return W5500_ERR_TIMEOUT;
    }
    if (sr != W5500_SR_UDP) {
        int rc = w5500_sock_close(dev, sn);
        return rc != W5500_OK ? rc : W5500_ERR_SOCK_STATE;
    }
    return W5500_PENDING;
}

int w5500_udp_recvfrom(struct w5500_dev *dev, uint8_t sn, uint8_t *buf, size_t cap, size_t *got,
                       uint8_t ip[4], uint16_t *port)
{
    OTA_VERIFY(got != NULL, W5500_ERR_ARG);
    *got = 0;
    OTA_TRY(sock_check(dev, sn));
    OTA_VERIFY(buf != NULL || cap == 0, W5500_ERR_ARG);
    OTA_VERIFY(dev->sock[sn].kind == W5500_SOCK_UDP, W5500_ERR_SOCK_STATE);
    uint8_t b[4];
    OTA_TRY(read_stable(dev, sn, W5500_Sn_RX_RSR, b, sizeof b));
    uint16_t rsr = ota_get_be16(&b[0]);
    uint16_t rx_rd = ota_get_be16(&b[2]);
    if (rsr == 0) {
        return W5500_PENDING;
    }
    uint8_t hdr[W5500_UDP_HDR_LEN];
    uint16_t dlen = 0;
    if (rsr >= W5500_UDP_HDR_LEN && rsr <= dev->sock[sn].rx_size) {
        OTA_TRY(rd(dev, W5500_BSB_SRX(sn), rx_rd, hdr, sizeof hdr));
        dlen = ota_get_be16(&hdr[6]);
    }
    if (rsr < W5500_UDP_HDR_LEN || rsr > dev->sock[sn].rx_size ||
        dlen > rsr - W5500_UDP_HDR_LEN) {
        /* The framing is lost: drop everything that is there. */
        OTA_TRY(sock_rx_done(dev, sn, rx_rd, rsr));
        return W5500_ERR_BAD_FRAME;
    }
    size_t n = dlen < cap ? dlen : cap;
    if (n > 0) {
        OTA_TRY(rd(dev, W5500_BSB_SRX(sn), (uint16_t)(rx_rd + W5500_UDP_HDR_LEN), buf, n));
    }
    OTA_TRY(sock_rx_done(dev, sn, rx_rd, (size_t)W5500_UDP_HDR_LEN + dlen));
    if (ip != NULL) {
        memcpy(ip, hdr, 4);
    }
    if (port != NULL) {
        *port = ota_get_be16(&hdr[4]);
    }
    *got = n;
    return dlen > cap ? W5500_ERR_TRUNCATED : W5500_OK;
}
