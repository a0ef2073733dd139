/*
 * W5500 model: SPI frame decoder, common and socket registers, socket state machines, TX/RX
 * buffer memory, interrupt pin, and the bridge from the virtual LAN to loopback host sockets.
 * Facts (offsets, reset values, commands, timings) come from ../shared/reference/w5500.md;
 * choices the datasheet leaves open are listed in docs/w5500-model.md.
 *
 * Host socket safety: every host address this file builds comes from loopback_addr(), which
 * only ever yields 127.0.0.1.
 */
#define _GNU_SOURCE /* accept4, SOCK_NONBLOCK, MSG_NOSIGNAL */
#include "w5500_model.h"

#include <arpa/inet.h>
#include <errno.h>
#include <linux/errqueue.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "w5500_lan.h"

/* ---- facts from the datasheet (w5500.md §1-§4) ---- */
#define NUM_SOCKETS 8
#define MEM_SIZE 16384u

#define BSB_COMMON 0u
#define BSB_KIND_REG 1u
#define BSB_KIND_TX 2u
#define BSB_KIND_RX 3u

#define OM_VDM 0u

/* common block */
#define C_MR 0x00
#define C_GAR 0x01
#define C_SUBR 0x05
#define C_SHAR 0x09
#define C_SIPR 0x0F
#define C_INTLEVEL 0x13
#define C_IR 0x15
#define C_IMR 0x16
#define C_SIR 0x17
#define C_SIMR 0x18
#define C_RTR 0x19
#define C_RCR 0x1B
#define C_PTIMER 0x1C
#define C_PMRU 0x26
#define C_UIPR 0x28
#define C_UPORTR 0x2C
#define C_PHYCFGR 0x2E
#define C_VERSIONR 0x39
#define C_SIZE 0x3A

#define MR_RST 0x80
#define IR_MASK 0xF0
#define IR_UNREACH 0x40
#define PHY_RST 0x80
#define PHY_OPMD 0x40
#define PHY_OPMDC_SHIFT 3
#define PHY_OPMDC_PDOWN 6u
#define PHY_DPX 0x04
#define PHY_SPD 0x02
#define PHY_LNK 0x01
#define VERSION 0x04

/* socket block */
#define S_MR 0x00
#define S_CR 0x01
#define S_IR 0x02
#define S_SR 0x03
#define S_PORT 0x04
#define S_DHAR 0x06
#define S_DIPR 0x0C
#define S_DPORT 0x10
#define S_MSSR 0x12
#define S_TTL 0x16
#define S_RXBUF_SIZE 0x1E
#define S_TXBUF_SIZE 0x1F
#define S_TX_FSR 0x20
#define S_TX_RD 0x22
#define S_TX_WR 0x24
#define S_RX_RSR 0x26
#define S_RX_RD 0x28
#define S_RX_WR 0x2A
#define S_IMR 0x2C
#define S_FRAG 0x2D
#define S_KPALVTR 0x2F
#define S_SIZE 0x30

#define SMR_PROTO 0x0F
#define SMR_BCASTB 0x40
#define PROTO_TCP 0x01
#define PROTO_UDP 0x02
#define PROTO_MACRAW 0x04

#define CMD_OPEN 0x01
#define CMD_LISTEN 0x02
#define CMD_CONNECT 0x04
#define CMD_DISCON 0x08
#define CMD_CLOSE 0x10
#define CMD_SEND 0x20
#define CMD_SEND_MAC 0x21
#define CMD_SEND_KEEP 0x22
#define CMD_RECV 0x40

#define SIR_SEND_OK 0x10
#define SIR_TIMEOUT 0x08
#define SIR_RECV 0x04
#define SIR_DISCON 0x02
#define SIR_CON 0x01
#define SIR_MASK 0x1F

#define SOCK_CLOSED 0x00
#define SOCK_INIT 0x13
#define SOCK_LISTEN 0x14
#define SOCK_SYNSENT 0x15
#define SOCK_ESTABLISHED 0x17
#define SOCK_FIN_WAIT 0x18
#define SOCK_CLOSE_WAIT 0x1C
#define SOCK_LAST_ACK 0x1D
#define SOCK_UDP 0x22
#define SOCK_MACRAW 0x42

/* Reset timing [DS, confirmed in w5500.md Corrections]: RSTn low >= 500 us, PLL lock <= 1 ms. */
#define T_RC_US 500u
#define T_PL_US 1000u

#define UDP_HDR_LEN 8
#define MSS_PEER 1460u
#define NEVER UINT64_MAX
#define CUT_OFF (-2)
#define MAX_MAPS 32
#define MAX_EXPOSE 8
#define BROADCAST_IP 0xFFFFFFFFu
#define PORT_DHCP_SERVER 67
#define PORT_DHCP_CLIENT 68
#define PORT_DNS 53
#define UDP_MAX_DGRAM 65535u

enum timer_kind {
    TMR_NONE = 0,
    TMR_CONNECT_FAIL, /* CONNECT: ARP or SYN retries exhausted -> TIMEOUT, CLOSED */
    TMR_UDP_ARP_FAIL, /* UDP SEND: ARP retries exhausted -> TIMEOUT, socket stays open */
    TMR_TCP_FAIL,     /* DISCON/keep-alive: retries exhausted -> TIMEOUT, CLOSED */
};

struct sock {
    uint8_t reg[S_SIZE]; /* storage of the plain read/write registers */
    uint8_t cr;          /* command written, not yet accepted (reads back until frame end) */
    uint8_t cr_shown;    /* accepted command still shown in CR for cr_busy more reads */
    uint32_t cr_busy;
    uint8_t ir;
    uint8_t sr;
    uint16_t tx_rd;     /* chip TX_RD */
    uint16_t tx_ack;    /* TCP: bytes up to here were taken by the peer (host socket) */
    uint16_t rx_wr;     /* chip RX_WR */
    uint16_t rx_rd;     /* RX_RD as of the last RECV */
    int fd;             /* host socket, -1 if none */
    bool connecting;    /* TCP: non-blocking connect() in progress */
    bool refused;       /* TCP: connect() failed at once (RST from the peer) */
    bool send_ok_due;   /* TCP: SEND accepted, SEND_OK when tx_ack reaches tx_rd */
    bool fin_pending;   /* TCP: DISCON accepted, FIN after the TX data */
    bool fin_sent;
    bool keep_pending;  /* TCP: SEND_KEEP waiting for the peer's answer */
    bool exchanged;     /* TCP: data went one way or the other (auto keep-alive starts after) */
    bool tx_broken;     /* TCP: sending failed (the peer reset); what it sent before still arrives */
    enum timer_kind timer;
    uint64_t timer_at;
    uint64_t bh_deadline; /* TCP: retransmissions into a black hole time out here */
    uint64_t rx_next_at;  /* TCP: host data enters RX_WR no sooner than this (cfg.rx_frame_us) */
};

struct map {
    uint32_t lan_ip;
    uint16_t lan_port;
    uint16_t host_port;
    bool udp;
};

struct expose {
    uint16_t lan_port;
    uint16_t host_port;
    int fd;
    bool udp;
};

/* Members ordered by size (wide first) to keep the padding small. */
struct w5500_model {
    struct w5500_model_config cfg;
    struct w5500_model_stats stats;
    struct sock s[NUM_SOCKETS];
    struct map maps[MAX_MAPS];
    struct expose expose[MAX_EXPOSE];
    struct w5500_dhcp_server dhcp;
    struct w5500_dns_server dns;
    size_t n_maps;
    size_t n_expose;

    /* 64-bit times: model time, reset edge, readiness, last host poll, INTn pacing, tokens */
    uint64_t now;
    uint64_t rst_fall;
    uint64_t ready_at; /* NEVER: not usable until a valid reset pulse */
    uint64_t last_poll;
    uint64_t int_hold_until;
    uint64_t tokens_at;
    int64_t tokens_rx;
    int64_t tokens_tx;

    /* SPI decoder: current frame */
    uint32_t data_len;
    uint32_t buf_base;
    uint32_t buf_size;
    uint32_t rate_bps;   /* rate-limit fault, 0 = off */
    uint32_t trunc_count; /* UDP truncation fault */
    uint32_t cut_left;    /* reset-after fault: bytes still let through */
    int cut_sn;           /* reset-after fault: socket (-1 any), or CUT_OFF */
    uint16_t trunc_max;
    uint16_t addr;
    uint8_t hdr[3];
    uint8_t hdr_len;
    uint8_t bsb;
    uint8_t om;
    uint8_t ir; /* common IR */
    bool write;
    bool in_frame;
    bool frame_ignored; /* frame started while the chip was not ready */
    bool frame_bad;     /* reserved BSB */
    bool deferred;      /* advance() came during a frame */

    /* pins and link */
    bool scsn;
    bool rstn;
    bool int_low;
    bool link_cfg;
    bool stall;

    /* registers and memory */
    uint8_t common[C_SIZE];
    uint8_t tx_mem[MEM_SIZE];
    uint8_t rx_mem[MEM_SIZE];
    uint8_t dgram[UDP_MAX_DGRAM];
};

/* ---- small helpers ---- */

static uint16_t be16(const uint8_t *p)
{
    return (uint16_t)((p[0] << 8) | p[1]);
}

static uint32_t be32(const uint8_t *p)
{
    return ((uint32_t)p[0] << 24) | ((uint32_t)p[1] << 16) | ((uint32_t)p[2] << 8) | p[3];
}

static void set_be16(uint8_t *p, uint16_t v)
{
    p[0] = (uint8_t)(v >> 8);
    p[1] = (uint8_t)v;
}

static void set_be32(uint8_t *p, uint32_t v)
{
    p[0] = (uint8_t)(v >> 24);
    p[1] = (uint8_t)(v >> 16);
    p[2] = (uint8_t)(v >> 8);
    p[3] = (uint8_t)v;
}

/* The only way this file makes a host address: 127.0.0.1:port. */
static struct sockaddr_in loopback_addr(uint16_t port)
{
    struct sockaddr_in a;
    memset(&a, 0, sizeof(a));
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    a.sin_port = htons(port);
    return a;
}

static void fd_close(int *fd, bool reset)
{
    if (*fd < 0) {
        return;
    }
    if (reset) {
        /* Linger 0: the host peer sees RST, as it would when the W5500 resets the link. */
        struct linger lg = {.l_onoff = 1, .l_linger = 0};
        (void)setsockopt(*fd, SOL_SOCKET, SO_LINGER, &lg, sizeof(lg)); /* best effort */
    }
    (void)close(*fd); /* nothing to do about a failed close of a socket */
    *fd = -1;
}

/* ---- timing from RTR/RCR (w5500.md §2 "Retransmission timing") ---- */

static uint32_t rtr(const struct w5500_model *m)
{
    return be16(&m->common[C_RTR]);
}

/* ARP_TO = RTR x 0.1 ms x (RCR + 1). */
static uint64_t arp_timeout_us(const struct w5500_model *m)
{
    return (uint64_t)rtr(m) * 100u * ((uint64_t)m->common[C_RCR] + 1u);
}

/* TCP_TO: the interval doubles after each try while RTR x 2^(N+1) stays <= 65535. */
static uint64_t tcp_timeout_us(const struct w5500_model *m)
{
    uint64_t iv = rtr(m);
    uint64_t sum = 0;
    for (uint32_t i = 0; i <= m->common[C_RCR]; i++) {
        sum += iv;
        if (iv * 2u <= 0xFFFFu) {
            iv *= 2u;
        }
    }
    return sum * 100u;
}

/* ---- buffers ---- */

static uint32_t buf_kb_valid(uint8_t v)
{
    return (v == 0 || v == 1 || v == 2 || v == 4 || v == 8 || v == 16) ? v : 0;
}

/* Socket n's slice of the TX or RX memory, carved from socket 0 upward; a socket whose size is
 * invalid or would run past 16 KB gets no memory (size 0). */
static void buf_geometry(const struct w5500_model *m, bool tx, unsigned n, uint32_t *base,
                         uint32_t *size)
{
    uint32_t off = 0;
    for (unsigned i = 0; i <= n; i++) {
        uint32_t kb = buf_kb_valid(m->s[i].reg[tx ? S_TXBUF_SIZE : S_RXBUF_SIZE]);
        uint32_t sz = kb * 1024u;
        if (off + sz > MEM_SIZE) {
            sz = 0;
        }
        if (i == n) {
            *base = off;
            *size = sz;
            return;
        }
        off += sz;
    }
}

static uint32_t buf_size(const struct w5500_model *m, bool tx, unsigned n)
{
    uint32_t base;
    uint32_t size;
    buf_geometry(m, tx, n, &base, &size);
    return size;
}

static uint16_t sock_rsr(const struct w5500_model *m, unsigned n)
{
    const struct sock *s = &m->s[n];
    uint16_t used = (uint16_t)(s->rx_wr - s->rx_rd);
    uint32_t size = buf_size(m, false, n);
    return (uint16_t)(used > size ? size : used);
}

/* FSR = size - (Sn_TX_WR - ACK pointer) [DS p.54]; for UDP the ACK pointer is TX_RD. Computed from
 * the TX_WR register as written, so it drops as soon as the driver moves TX_WR. */
static uint16_t sock_fsr(const struct w5500_model *m, unsigned n)
{
    const struct sock *s = &m->s[n];
    uint32_t size = buf_size(m, true, n);
    uint16_t used = (uint16_t)(be16(&s->reg[S_TX_WR]) - s->tx_ack);
    return (uint16_t)(used >= size ? 0 : size - used);
}

/* Copies len bytes into socket n's RX ring at rx_wr, wrapping at the buffer size. */
static void rx_put(struct w5500_model *m, unsigned n, const uint8_t *p, uint32_t len)
{
    uint32_t base;
    uint32_t size;
    buf_geometry(m, false, n, &base, &size);
    struct sock *s = &m->s[n];
    for (uint32_t i = 0; i < len; i++) {
        m->rx_mem[base + (uint32_t)(uint16_t)(s->rx_wr + i) % size] = p[i];
    }
    s->rx_wr = (uint16_t)(s->rx_wr + len);
}

/* ---- interrupts ---- */

static bool link_effective(const struct w5500_model *m)
{
    uint8_t phy = m->common[C_PHYCFGR];
    if (!m->link_cfg || (phy & PHY_RST) == 0) {
        return false;
    }
    if ((phy & PHY_OPMD) != 0 && ((phy >> PHY_OPMDC_SHIFT) & 7u) == PHY_OPMDC_PDOWN) {
        return false;
    }
    return true;
}

static uint8_t sir_value(const struct w5500_model *m)
{
    uint8_t v = 0;
    for (unsigned n = 0; n < NUM_SOCKETS; n++) {
        if ((m->s[n].ir & SIR_MASK) != 0) {
            v |= (uint8_t)(1u << n);
        }
    }
    return v;
}

static void intn_update(struct w5500_model *m)
{
    bool cond = (m->ir & m->common[C_IMR] & IR_MASK) != 0 ||
                (sir_value(m) & m->common[C_SIMR]) != 0;
    if (m->int_low && !cond) {
        m->int_low = false;
        uint32_t level = be16(&m->common[C_INTLEVEL]);
        if (level != 0) {
            /* I_AWT = (INTLEVEL + 1) x 4 / 150 MHz, rounded up to whole microseconds. */
            uint64_t ns = ((uint64_t)level + 1u) * 4u * 1000u / 150u;
            m->int_hold_until = m->now + (ns + 999u) / 1000u;
        } else {
            m->int_hold_until = 0;
        }
    } else if (!m->int_low && cond && m->now >= m->int_hold_until) {
        m->int_low = true;
    }
}

static void sock_flag(struct w5500_model *m, unsigned n, uint8_t bit)
{
    struct sock *s = &m->s[n];
    if (m->cfg.imr_gates_sn_ir && (s->reg[S_IMR] & bit) == 0) {
        return;
    }
    s->ir |= bit;
}

/* ---- register reset ---- */

/* The connection's progress and timers: gone on a register reset and on every close. */
static void sock_clear_connection(struct sock *s)
{
    s->connecting = false;
    s->refused = false;
    s->send_ok_due = false;
    s->fin_pending = false;
    s->fin_sent = false;
    s->keep_pending = false;
    s->exchanged = false;
    s->tx_broken = false;
    s->timer = TMR_NONE;
    s->timer_at = NEVER;
    s->bh_deadline = NEVER;
    s->rx_next_at = 0;
}

static void sock_reset_regs(struct sock *s)
{
    memset(s->reg, 0, sizeof(s->reg));
    memset(&s->reg[S_DHAR], 0xFF, 6);
    s->reg[S_TTL] = 0x80;
    s->reg[S_RXBUF_SIZE] = 2;
    s->reg[S_TXBUF_SIZE] = 2;
    s->reg[S_IMR] = 0xFF;
    s->reg[S_FRAG] = 0x40;
    s->reg[S_FRAG + 1] = 0x00;
    s->cr = 0;
    s->cr_shown = 0;
    s->cr_busy = 0;
    s->ir = 0;
    s->sr = SOCK_CLOSED;
    s->tx_rd = 0;
    s->tx_ack = 0;
    s->rx_wr = 0;
    s->rx_rd = 0;
    sock_clear_connection(s);
}

/* Everything the datasheet resets: common and socket registers; open connections are dropped. */
static void chip_reset(struct w5500_model *m)
{
    memset(m->common, 0, sizeof(m->common));
    set_be16(&m->common[C_RTR], 0x07D0);
    m->common[C_RCR] = 0x08;
    m->common[C_PTIMER] = 0x28;
    set_be16(&m->common[C_PMRU], 0xFFFF);
    m->common[C_PHYCFGR] = 0xB8; /* RST=1, OPMD=0 (pins), OPMDC=111; status bits computed */
    m->ir = 0;
    for (unsigned n = 0; n < NUM_SOCKETS; n++) {
        fd_close(&m->s[n].fd, true);
        sock_reset_regs(&m->s[n]);
    }
    m->int_low = false;
    m->int_hold_until = 0;
}

/* ---- register access ---- */

static uint8_t phycfgr_value(const struct w5500_model *m)
{
    uint8_t v = m->common[C_PHYCFGR] & 0xF8;
    if (link_effective(m)) {
        uint8_t mode = 7; /* pins: all capable */
        if ((v & PHY_OPMD) != 0) {
            mode = (uint8_t)((v >> PHY_OPMDC_SHIFT) & 7u);
        }
        bool spd100 = (mode >= 2 && mode != 5);
        bool full = (mode == 1 || mode == 3 || mode == 7);
        v |= PHY_LNK | (spd100 ? PHY_SPD : 0) | (full ? PHY_DPX : 0);
    }
    return v;
}

static uint8_t common_read(const struct w5500_model *m, uint16_t a)
{
    if (a >= C_SIZE) {
        return 0;
    }
    switch (a) {
    case C_IR:
        return m->ir & IR_MASK;
    case C_SIR:
        return sir_value(m);
    case C_PHYCFGR:
        return phycfgr_value(m);
    case C_VERSIONR:
        return VERSION;
    default:
        if (a > C_PHYCFGR) {
            return 0; /* reserved 0x2F..0x38 */
        }
        return m->common[a];
    }
}

static void common_write(struct w5500_model *m, uint16_t a, uint8_t v)
{
    if (a >= C_SIZE) {
        return;
    }
    switch (a) {
    case C_MR:
        if ((v & MR_RST) != 0) {
            chip_reset(m); /* done before the next byte: MR reads back with RST clear */
        } else {
            m->common[C_MR] = v;
        }
        break;
    case C_IR:
        m->ir &= (uint8_t)~(v & IR_MASK);
        break;
    case C_SIR:
        break; /* follows Sn_IR; cleared through Sn_IR */
    case C_PHYCFGR:
        m->common[C_PHYCFGR] = v & 0xF8;
        break;
    case C_UIPR:
    case C_UIPR + 1:
    case C_UIPR + 2:
    case C_UIPR + 3:
    case C_UPORTR:
    case C_UPORTR + 1:
    case C_VERSIONR:
        break; /* read-only */
    default:
        if (a > C_PHYCFGR) {
            break; /* reserved */
        }
        m->common[a] = v;
        break;
    }
    intn_update(m);
}

static uint8_t sock_read(struct w5500_model *m, unsigned n, uint16_t a)
{
    struct sock *s = &m->s[n];
    if (a >= S_SIZE) {
        return 0;
    }
    switch (a) {
    case S_CR:
        if (s->cr == 0 && s->cr_busy != 0) {
            s->cr_busy--;
            return s->cr_shown;
        }
        return s->cr;
    case S_IR:
        return s->ir & SIR_MASK;
    case S_SR:
        return s->sr;
    case S_TX_FSR:
        return (uint8_t)(sock_fsr(m, n) >> 8);
    case S_TX_FSR + 1:
        return (uint8_t)sock_fsr(m, n);
    case S_TX_RD:
        return (uint8_t)(s->tx_rd >> 8);
    case S_TX_RD + 1:
        return (uint8_t)s->tx_rd;
    case S_RX_RSR:
        return (uint8_t)(sock_rsr(m, n) >> 8);
    case S_RX_RSR + 1:
        return (uint8_t)sock_rsr(m, n);
    case S_RX_WR:
        return (uint8_t)(s->rx_wr >> 8);
    case S_RX_WR + 1:
        return (uint8_t)s->rx_wr;
    case 0x14:
    case 0x17:
    case 0x18:
    case 0x19:
    case 0x1A:
    case 0x1B:
    case 0x1C:
    case 0x1D:
        return 0; /* reserved */
    default:
        return s->reg[a];
    }
}

static void sock_write(struct w5500_model *m, unsigned n, uint16_t a, uint8_t v)
{
    struct sock *s = &m->s[n];
    if (a >= S_SIZE) {
        return;
    }
    switch (a) {
    case S_CR:
        s->cr = v; /* accepted (executed) at the end of this frame */
        break;
    case S_IR:
        s->ir &= (uint8_t)~(v & SIR_MASK);
        intn_update(m);
        break;
    case S_SR:
    case S_TX_FSR:
    case S_TX_FSR + 1:
    case S_TX_RD:
    case S_TX_RD + 1:
    case S_RX_RSR:
    case S_RX_RSR + 1:
    case S_RX_WR:
    case S_RX_WR + 1:
    case 0x14:
    case 0x17:
    case 0x18:
    case 0x19:
    case 0x1A:
    case 0x1B:
    case 0x1C:
    case 0x1D:
        break; /* read-only or reserved */
    default:
        s->reg[a] = v;
        if (a == S_IMR) {
            intn_update(m);
        }
        break;
    }
}

/* ---- the virtual LAN ---- */

static bool in_lan(const struct w5500_model *m, uint32_t ip)
{
    return (ip & m->cfg.lan_mask) == (m->cfg.lan_net & m->cfg.lan_mask);
}

/* True if a station on the LAN answers ARP for ip. */
static bool lan_host(const struct w5500_model *m, uint32_t ip)
{
    if (ip == 0 || !in_lan(m, ip)) {
        return false;
    }
    if (ip == m->cfg.gateway_ip || ip == m->cfg.host_peer_ip ||
        (m->cfg.dhcp_server && ip == m->cfg.dhcp_server_ip) ||
        (m->cfg.dns_server_ip != 0 && ip == m->cfg.dns_server_ip)) {
        return true;
    }
    for (size_t i = 0; i < m->n_maps; i++) {
        if (m->maps[i].lan_ip == ip) {
            return true;
        }
    }
    return false;
}

static bool is_broadcast(const struct w5500_model *m, uint32_t dip)
{
    uint32_t sipr = be32(&m->common[C_SIPR]);
    uint32_t subr = be32(&m->common[C_SUBR]);
    return dip == BROADCAST_IP || (subr != 0 && subr != BROADCAST_IP && dip == (sipr | ~subr));
}

/* ARP step of a unicast send: the next hop (dip on the subnet, else GAR) must answer. */
static bool arp_resolves(const struct w5500_model *m, uint32_t dip)
{
    if (!link_effective(m)) {
        return false;
    }
    uint32_t sipr = be32(&m->common[C_SIPR]);
    uint32_t subr = be32(&m->common[C_SUBR]);
    uint32_t hop = (((dip ^ sipr) & subr) == 0) ? dip : be32(&m->common[C_GAR]);
    return lan_host(m, hop);
}

/* After ARP: whether the packet arrives anywhere (it may be routed through the gateway). */
static bool hop_forwards(const struct w5500_model *m, uint32_t dip)
{
    uint32_t sipr = be32(&m->common[C_SIPR]);
    uint32_t subr = be32(&m->common[C_SUBR]);
    if (((dip ^ sipr) & subr) == 0) {
        return true;
    }
    uint32_t gar = be32(&m->common[C_GAR]);
    return gar != 0 && gar == m->cfg.gateway_ip;
}

static const struct map *map_find(const struct w5500_model *m, uint32_t ip, uint16_t port,
                                  bool udp)
{
    for (size_t i = 0; i < m->n_maps; i++) {
        const struct map *mp = &m->maps[i];
        if (mp->udp == udp && mp->lan_ip == ip && mp->lan_port == port) {
            return mp;
        }
    }
    return NULL;
}

static const struct map *map_find_host(const struct w5500_model *m, uint16_t host_port)
{
    for (size_t i = 0; i < m->n_maps; i++) {
        if (m->maps[i].udp && m->maps[i].host_port == host_port) {
            return &m->maps[i];
        }
    }
    return NULL;
}

static void tokens_refill(struct w5500_model *m)
{
    if (m->rate_bps == 0) {
        return;
    }
    uint64_t dt = m->now - m->tokens_at;
    m->tokens_at = m->now;
    int64_t add = (int64_t)((dt * m->rate_bps) / 1000000u);
    int64_t cap = (int64_t)(m->rate_bps / 10u > 0 ? m->rate_bps / 10u : 1u);
    m->tokens_rx = (m->tokens_rx + add > cap) ? cap : m->tokens_rx + add;
    m->tokens_tx = (m->tokens_tx + add > cap) ? cap : m->tokens_tx + add;
}

/* Bytes the rate limit lets through now (UINT32_MAX if unlimited). */
static uint32_t tokens_avail(const struct w5500_model *m, bool tx)
{
    if (m->rate_bps == 0) {
        return UINT32_MAX;
    }
    int64_t t = tx ? m->tokens_tx : m->tokens_rx;
    return t > 0 ? (uint32_t)(t > (int64_t)UINT32_MAX ? UINT32_MAX : t) : 0;
}

static void tokens_take(struct w5500_model *m, bool tx, uint32_t n)
{
    if (m->rate_bps == 0) {
        return;
    }
    if (tx) {
        m->tokens_tx -= n;
    } else {
        m->tokens_rx -= n;
    }
}

/* A datagram arrives at socket n: 8-byte header (peer IP, peer port, length) then the payload.
 * Dropped whole if the RX buffer lacks room, as the chip does. */
static void udp_deliver(struct w5500_model *m, unsigned n, uint32_t ip, uint16_t port,
                        const uint8_t *p, uint32_t len)
{
    if (m->trunc_count != 0) {
        if (len > m->trunc_max) {
            len = m->trunc_max;
        }
        if (m->trunc_count != UINT32_MAX) {
            m->trunc_count--;
        }
    }
    uint32_t size = buf_size(m, false, n);
    uint32_t used = sock_rsr(m, n);
    if (len > UDP_MAX_DGRAM || (uint64_t)UDP_HDR_LEN + len > size - used) {
        m->stats.udp_dropped++;
        return;
    }
    uint8_t hdr[UDP_HDR_LEN];
    set_be32(&hdr[0], ip);
    set_be16(&hdr[4], port);
    set_be16(&hdr[6], (uint16_t)len);
    rx_put(m, n, hdr, UDP_HDR_LEN);
    rx_put(m, n, p, len);
    sock_flag(m, n, SIR_RECV);
}

/* Replies of the built-in services go to every UDP socket bound to dport (broadcast) or to the
 * asking socket (unicast). */
static void lan_reply(struct w5500_model *m, unsigned asker, bool broadcast, uint32_t src_ip,
                      uint16_t src_port, uint16_t dport, const uint8_t *p, size_t len)
{
    if (len == 0) {
        return;
    }
    if (!broadcast) {
        udp_deliver(m, asker, src_ip, src_port, p, (uint32_t)len);
        return;
    }
    for (unsigned n = 0; n < NUM_SOCKETS; n++) {
        const struct sock *s = &m->s[n];
        if (s->sr == SOCK_UDP && be16(&s->reg[S_PORT]) == dport &&
            (s->reg[S_MR] & SMR_BCASTB) == 0) {
            udp_deliver(m, n, src_ip, src_port, p, (uint32_t)len);
        }
    }
}

/* A datagram from socket n has left the chip (after ARP): hand it to whoever is at dip:dport. */
static void udp_route(struct w5500_model *m, unsigned n, uint32_t dip, uint16_t dport,
                      const uint8_t *p, uint32_t len, bool broadcast)
{
    struct sock *s = &m->s[n];
    uint16_t sport = be16(&s->reg[S_PORT]);
    uint8_t reply[W5500_LAN_REPLY_MAX];
    if (m->stall || !link_effective(m)) {
        return; /* lost on the wire */
    }
    if (m->cfg.dhcp_server && dport == PORT_DHCP_SERVER &&
        (broadcast || dip == m->cfg.dhcp_server_ip)) {
        m->stats.dhcp_requests++;
        size_t r = w5500_dhcp_serve(&m->dhcp, p, len, reply, sizeof(reply));
        /* Replies go to the client port, broadcast, since the client has no address yet. */
        lan_reply(m, n, true, m->cfg.dhcp_server_ip, PORT_DHCP_SERVER, PORT_DHCP_CLIENT, reply, r);
        return;
    }
    if (broadcast) {
        return;
    }
    if (m->cfg.dns_server_ip != 0 && dip == m->cfg.dns_server_ip && dport == PORT_DNS) {
        m->stats.dns_queries++;
        size_t r = w5500_dns_serve(&m->dns, p, len, reply, sizeof(reply));
        lan_reply(m, n, false, m->cfg.dns_server_ip, PORT_DNS, sport, reply, r);
        return;
    }
    if (dip == m->cfg.host_peer_ip) {
        /* Replies from an exposed UDP port to the host (seen as host_peer_ip) go back to
         * 127.0.0.1:dport from the exposed socket. */
        for (size_t i = 0; i < m->n_expose; i++) {
            const struct expose *e = &m->expose[i];
            if (e->udp && e->lan_port == sport) {
                struct sockaddr_in to = loopback_addr(dport);
                ssize_t w = sendto(e->fd, p, len, MSG_NOSIGNAL, (const struct sockaddr *)&to,
                                   sizeof(to));
                (void)w; /* a datagram the host refuses is a lost datagram */
                return;
            }
        }
    }
    const struct map *mp = map_find(m, dip, dport, true);
    if (mp == NULL) {
        return; /* unmapped destination: the datagram is lost */
    }
    if (s->fd < 0) {
        s->fd = socket(AF_INET, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
        if (s->fd < 0) {
            return;
        }
        struct sockaddr_in any = loopback_addr(0);
        int one = 1;
        /* IP_RECVERR: ICMP port unreachable from the host comes back as IR.UNREACH. */
        if (setsockopt(s->fd, IPPROTO_IP, IP_RECVERR, &one, sizeof(one)) != 0 ||
            bind(s->fd, (const struct sockaddr *)&any, sizeof(any)) != 0) {
            fd_close(&s->fd, false);
            return;
        }
    }
    struct sockaddr_in to = loopback_addr(mp->host_port);
    ssize_t w = sendto(s->fd, p, len, MSG_NOSIGNAL, (const struct sockaddr *)&to, sizeof(to));
    (void)w; /* a datagram the host refuses is a lost datagram */
}

/* ---- commands ---- */

static void sock_close_now(struct w5500_model *m, unsigned n, bool reset)
{
    struct sock *s = &m->s[n];
    fd_close(&s->fd, reset);
    s->sr = SOCK_CLOSED;
    sock_clear_connection(s);
}

static void timer_set(struct w5500_model *m, unsigned n, enum timer_kind k, uint64_t after)
{
    m->s[n].timer = k;
    m->s[n].timer_at = m->now + after;
}

static void cmd_open(struct w5500_model *m, unsigned n)
{
    struct sock *s = &m->s[n];
    sock_close_now(m, n, true);
    s->tx_rd = 0;
    s->tx_ack = 0;
    s->rx_wr = 0;
    s->rx_rd = 0;
    set_be16(&s->reg[S_TX_WR], 0);
    set_be16(&s->reg[S_RX_RD], 0);
    switch (s->reg[S_MR] & SMR_PROTO) {
    case PROTO_TCP:
        s->sr = SOCK_INIT;
        break;
    case PROTO_UDP:
        s->sr = SOCK_UDP;
        break;
    case PROTO_MACRAW:
        s->sr = (n == 0) ? SOCK_MACRAW : SOCK_CLOSED;
        break;
    default:
        s->sr = SOCK_CLOSED; /* CLOSED or IPRAW (not a W5500 mode) */
        break;
    }
}

static void cmd_connect(struct w5500_model *m, unsigned n)
{
    struct sock *s = &m->s[n];
    uint32_t dip = be32(&s->reg[S_DIPR]);
    uint16_t dport = be16(&s->reg[S_DPORT]);
    s->sr = SOCK_SYNSENT;
    if (!arp_resolves(m, dip)) {
        timer_set(m, n, TMR_CONNECT_FAIL, arp_timeout_us(m));
        return;
    }
    /* SYN retransmissions run until the host side answers or TCP_TO passes. */
    timer_set(m, n, TMR_CONNECT_FAIL, tcp_timeout_us(m));
    const struct map *mp = hop_forwards(m, dip) ? map_find(m, dip, dport, false) : NULL;
    if (mp == NULL) {
        return;
    }
    s->fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (s->fd < 0) {
        return; /* behaves as a host that never answers */
    }
    struct sockaddr_in to = loopback_addr(mp->host_port);
    if (connect(s->fd, (const struct sockaddr *)&to, sizeof(to)) == 0 || errno == EINPROGRESS) {
        s->connecting = true;
    } else {
        fd_close(&s->fd, false);
        s->refused = true;
    }
}

static void cmd_send_udp(struct w5500_model *m, unsigned n, bool use_arp)
{
    struct sock *s = &m->s[n];
    uint32_t base;
    uint32_t size;
    buf_geometry(m, true, n, &base, &size);
    uint16_t wr = be16(&s->reg[S_TX_WR]);
    uint32_t len = (uint16_t)(wr - s->tx_rd);
    if (len > size) {
        m->stats.host_misuse++;
        len = size;
    }
    for (uint32_t i = 0; i < len; i++) {
        m->dgram[i] = m->tx_mem[base + (uint32_t)(uint16_t)(s->tx_rd + i) % size];
    }
    s->tx_rd = wr;
    s->tx_ack = wr;
    m->stats.tx_payload += len;
    if (s->sr == SOCK_MACRAW) {
        sock_flag(m, n, SIR_SEND_OK); /* MACRAW frames go nowhere (unsupported) */
        return;
    }
    uint32_t dip = be32(&s->reg[S_DIPR]);
    uint16_t dport = be16(&s->reg[S_DPORT]);
    bool bcast = is_broadcast(m, dip);
    if (!bcast && use_arp && !arp_resolves(m, dip)) {
        timer_set(m, n, TMR_UDP_ARP_FAIL, arp_timeout_us(m));
        return;
    }
    sock_flag(m, n, SIR_SEND_OK);
    if (bcast || hop_forwards(m, dip)) {
        udp_route(m, n, dip, dport, m->dgram, len, bcast);
    }
}

static void cmd_send_tcp(struct w5500_model *m, unsigned n)
{
    struct sock *s = &m->s[n];
    uint16_t wr = be16(&s->reg[S_TX_WR]);
    uint32_t size = buf_size(m, true, n);
    if ((uint16_t)(wr - s->tx_ack) > size) {
        m->stats.host_misuse++; /* wrote past the free space: unsent data was overwritten */
    }
    m->stats.tx_payload += (uint16_t)(wr - s->tx_rd);
    s->tx_rd = wr;
    s->send_ok_due = true;
}

static void cmd_recv(struct w5500_model *m, unsigned n)
{
    struct sock *s = &m->s[n];
    uint16_t rd = be16(&s->reg[S_RX_RD]);
    if ((uint16_t)(rd - s->rx_rd) > (uint16_t)(s->rx_wr - s->rx_rd)) {
        m->stats.host_misuse++; /* RX_RD moved past RX_WR: take only what was there */
        rd = s->rx_wr;
    }
    s->rx_rd = rd;
}

static void sock_command(struct w5500_model *m, unsigned n, uint8_t cmd)
{
    struct sock *s = &m->s[n];
    bool tcp = (s->reg[S_MR] & SMR_PROTO) == PROTO_TCP;
    switch (cmd) {
    case CMD_OPEN:
        cmd_open(m, n);
        break;
    case CMD_LISTEN:
        if (tcp && s->sr == SOCK_INIT) {
            s->sr = SOCK_LISTEN;
        }
        break;
    case CMD_CONNECT:
        if (tcp && s->sr == SOCK_INIT) {
            cmd_connect(m, n);
        }
        break;
    case CMD_DISCON:
        if (s->sr == SOCK_ESTABLISHED || s->sr == SOCK_CLOSE_WAIT) {
            s->fin_pending = true;
            s->sr = (s->sr == SOCK_ESTABLISHED) ? SOCK_FIN_WAIT : SOCK_LAST_ACK;
            timer_set(m, n, TMR_TCP_FAIL, tcp_timeout_us(m));
        } else if (s->sr == SOCK_SYNSENT || s->sr == SOCK_LISTEN || s->sr == SOCK_INIT) {
            sock_close_now(m, n, true);
        }
        break;
    case CMD_CLOSE:
        sock_close_now(m, n, true);
        break;
    case CMD_SEND:
    case CMD_SEND_MAC:
        if (s->sr == SOCK_UDP || s->sr == SOCK_MACRAW) {
            cmd_send_udp(m, n, cmd == CMD_SEND);
        } else if (cmd == CMD_SEND && (s->sr == SOCK_ESTABLISHED || s->sr == SOCK_CLOSE_WAIT)) {
            cmd_send_tcp(m, n);
        }
        break;
    case CMD_SEND_KEEP:
        if ((s->sr == SOCK_ESTABLISHED || s->sr == SOCK_CLOSE_WAIT) && s->reg[S_KPALVTR] == 0) {
            s->keep_pending = true;
        }
        break;
    case CMD_RECV:
        cmd_recv(m, n); /* also in CLOSED: data left after a reset can be drained */
        break;
    default:
        break; /* unknown command: accepted, no effect */
    }
}

/* ---- network service (between frames) ---- */

static void timers_run(struct w5500_model *m)
{
    for (unsigned n = 0; n < NUM_SOCKETS; n++) {
        struct sock *s = &m->s[n];
        if (s->timer != TMR_NONE && m->now >= s->timer_at) {
            enum timer_kind k = s->timer;
            s->timer = TMR_NONE;
            s->timer_at = NEVER;
            sock_flag(m, n, SIR_TIMEOUT);
            if (k != TMR_UDP_ARP_FAIL) {
                sock_close_now(m, n, true);
            }
        }
        if (m->now >= s->bh_deadline) {
            sock_flag(m, n, SIR_TIMEOUT);
            sock_close_now(m, n, true);
        }
    }
}

/* RST from the peer: Sn_SR -> CLOSED unconditionally [DS p.47]; the datasheet names no flag, WIZnet
 * staff say DISCON was designed to be set (forum.wiznet.io topic 2057), so it is. */
static void tcp_peer_reset(struct w5500_model *m, unsigned n)
{
    sock_flag(m, n, SIR_DISCON);
    sock_close_now(m, n, false);
}

static void tcp_flush(struct w5500_model *m, unsigned n)
{
    struct sock *s = &m->s[n];
    uint32_t base;
    uint32_t size;
    buf_geometry(m, true, n, &base, &size);
    while (s->fd >= 0 && s->tx_ack != s->tx_rd && size != 0) {
        uint32_t pending = (uint16_t)(s->tx_rd - s->tx_ack);
        uint32_t off = s->tx_ack % size;
        uint32_t chunk = pending;
        if (chunk > size - off) {
            chunk = size - off;
        }
        uint32_t allow = tokens_avail(m, true);
        if (chunk > allow) {
            chunk = allow;
        }
        if (chunk == 0) {
            return;
        }
        ssize_t w = send(s->fd, &m->tx_mem[base + off], chunk, MSG_NOSIGNAL | MSG_DONTWAIT);
        if (w < 0) {
            if (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR) {
                return; /* peer window closed: persist, no timeout */
            }
            /* The peer reset the connection. On the wire its reset comes after the data it sent
             * before: let the receive side take that data into the RX buffer first and see the
             * reset after it (tcp_receive), instead of dropping what the host socket holds. */
            s->tx_broken = true;
            return;
        }
        tokens_take(m, true, (uint32_t)w);
        s->tx_ack = (uint16_t)(s->tx_ack + (uint32_t)w);
        s->exchanged = true;
    }
}

static void tcp_receive(struct w5500_model *m, unsigned n)
{
    struct sock *s = &m->s[n];
    uint32_t base;
    uint32_t size;
    buf_geometry(m, false, n, &base, &size);
    if (m->now < s->rx_next_at) {
        return; /* the previous frame is still on the wire: data (and a FIN behind it) waits */
    }
    while (s->fd >= 0 && size != 0) {
        uint32_t space = size - sock_rsr(m, n);
        uint32_t off = s->rx_wr % size;
        uint32_t chunk = space;
        if (chunk > size - off) {
            chunk = size - off;
        }
        uint32_t allow = tokens_avail(m, false);
        if (chunk > allow) {
            chunk = allow;
        }
        bool cut = (m->cut_sn == -1 || m->cut_sn == (int)n);
        if (cut && m->cut_left == 0) {
            m->cut_sn = CUT_OFF;
            sock_flag(m, n, SIR_DISCON); /* the peer resets the connection here */
            sock_close_now(m, n, true);
            return;
        }
        if (cut && chunk > m->cut_left) {
            chunk = m->cut_left;
        }
        if (chunk == 0) {
            return; /* buffer full or rate limited: the data waits in the host socket */
        }
        ssize_t r = recv(s->fd, &m->rx_mem[base + off], chunk, MSG_DONTWAIT);
        if (r > 0) {
            if (cut) {
                m->cut_left -= (uint32_t)r;
            }
            tokens_take(m, false, (uint32_t)r);
            s->rx_next_at = m->now + m->cfg.rx_frame_us;
            s->rx_wr = (uint16_t)(s->rx_wr + (uint32_t)r);
            sock_flag(m, n, SIR_RECV);
            s->exchanged = true;
            continue;
        }
        if (r == 0) {
            /* FIN from the peer. */
            sock_flag(m, n, SIR_DISCON);
            if (s->sr == SOCK_ESTABLISHED) {
                s->sr = SOCK_CLOSE_WAIT;
                /* Keep the fd for sending; stop reading (shutdown of the read side). */
                if (shutdown(s->fd, SHUT_RD) != 0) {
                    tcp_peer_reset(m, n);
                }
            } else if (s->sr == SOCK_FIN_WAIT) {
                sock_close_now(m, n, false); /* TIME_WAIT is transient here */
            }
            return;
        }
        if (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR) {
            return;
        }
        tcp_peer_reset(m, n);
        return;
    }
}

static void tcp_service(struct w5500_model *m, unsigned n)
{
    struct sock *s = &m->s[n];
    bool blackhole = m->stall || !link_effective(m);
    if (s->sr == SOCK_SYNSENT) {
        if (s->refused) {
            tcp_peer_reset(m, n);
            return;
        }
        if (!s->connecting || blackhole) {
            return;
        }
        struct pollfd pfd = {.fd = s->fd, .events = POLLOUT, .revents = 0};
        if (poll(&pfd, 1, 0) <= 0) {
            return;
        }
        int err = 0;
        socklen_t el = sizeof(err);
        if (getsockopt(s->fd, SOL_SOCKET, SO_ERROR, &err, &el) != 0 || err != 0) {
            tcp_peer_reset(m, n);
            return;
        }
        s->connecting = false;
        s->timer = TMR_NONE;
        s->timer_at = NEVER;
        s->sr = SOCK_ESTABLISHED;
        sock_flag(m, n, SIR_CON);
        /* fall through to move data at once */
    }
    if (s->fd < 0 || !(s->sr == SOCK_ESTABLISHED || s->sr == SOCK_CLOSE_WAIT ||
                       s->sr == SOCK_FIN_WAIT || s->sr == SOCK_LAST_ACK)) {
        return;
    }
    bool outstanding = s->tx_ack != s->tx_rd || (s->fin_pending && !s->fin_sent) ||
                       s->keep_pending;
    /* Automatic keep-alive (KPALVTR x 5 s, after a first exchange [DS p.57]): in a black hole the
     * next keep-alive goes unanswered, at the latest one period from now. */
    uint64_t keep_wait = 0;
    if (!outstanding && s->reg[S_KPALVTR] != 0 && s->exchanged && s->sr == SOCK_ESTABLISHED) {
        outstanding = true;
        keep_wait = (uint64_t)s->reg[S_KPALVTR] * 5000000u;
    }
    if (blackhole) {
        if (outstanding && s->bh_deadline == NEVER) {
            s->bh_deadline = m->now + keep_wait + tcp_timeout_us(m);
        }
        return;
    }
    s->bh_deadline = NEVER;
    s->keep_pending = false;
    if (!s->tx_broken) {
        tcp_flush(m, n);
    }
    if (s->fd < 0) {
        return;
    }
    if (s->send_ok_due && s->tx_ack == s->tx_rd) {
        s->send_ok_due = false;
        sock_flag(m, n, SIR_SEND_OK);
    }
    if (s->fin_pending && !s->fin_sent && s->tx_ack == s->tx_rd) {
        if (shutdown(s->fd, SHUT_WR) != 0) {
            tcp_peer_reset(m, n);
            return;
        }
        s->fin_sent = true;
        if (s->sr == SOCK_LAST_ACK) {
            sock_close_now(m, n, false); /* loopback ACKs our FIN at once */
            return;
        }
    }
    if (s->sr == SOCK_ESTABLISHED || s->sr == SOCK_FIN_WAIT) {
        tcp_receive(m, n);
    } else if (s->sr == SOCK_CLOSE_WAIT) {
        /* Not reading any more: a reset shows as POLLERR. */
        struct pollfd pfd = {.fd = s->fd, .events = 0, .revents = 0};
        if (poll(&pfd, 1, 0) > 0 && (pfd.revents & POLLERR) != 0) {
            tcp_peer_reset(m, n);
        }
    }
}

/* ICMP errors queued on socket n's host socket. A port unreachable for a mapped destination sets
 * IR.UNREACH with UIPR/UPORTR = that LAN address and port, as the chip does on an ICMP message. */
static void udp_errors(struct w5500_model *m, unsigned n)
{
    struct sock *s = &m->s[n];
    for (int i = 0; i < 16; i++) {
        struct sockaddr_in dst;
        memset(&dst, 0, sizeof(dst));
        uint8_t payload[1];
        struct iovec iov = {.iov_base = payload, .iov_len = sizeof(payload)};
        union {
            struct cmsghdr align;
            uint8_t buf[CMSG_SPACE(sizeof(struct sock_extended_err) + sizeof(struct sockaddr_in))];
        } ctl;
        memset(&ctl, 0, sizeof(ctl));
        struct msghdr msg;
        memset(&msg, 0, sizeof(msg));
        msg.msg_name = &dst;
        msg.msg_namelen = sizeof(dst);
        msg.msg_iov = &iov;
        msg.msg_iovlen = 1;
        msg.msg_control = ctl.buf;
        msg.msg_controllen = sizeof(ctl.buf);
        if (recvmsg(s->fd, &msg, MSG_ERRQUEUE | MSG_DONTWAIT) < 0) {
            return; /* queue empty */
        }
        for (struct cmsghdr *c = CMSG_FIRSTHDR(&msg); c != NULL; c = CMSG_NXTHDR(&msg, c)) {
            if (c->cmsg_level != IPPROTO_IP || c->cmsg_type != IP_RECVERR) {
                continue;
            }
            struct sock_extended_err ee;
            memcpy(&ee, CMSG_DATA(c), sizeof(ee));
            const struct map *mp = map_find_host(m, ntohs(dst.sin_port));
            if (ee.ee_origin == SO_EE_ORIGIN_ICMP && ee.ee_type == 3 && mp != NULL &&
                link_effective(m) && !m->stall) {
                set_be32(&m->common[C_UIPR], mp->lan_ip);
                set_be16(&m->common[C_UPORTR], mp->lan_port);
                m->ir |= IR_UNREACH;
            }
        }
    }
}

static void udp_service(struct w5500_model *m, unsigned n)
{
    struct sock *s = &m->s[n];
    if (s->fd < 0 || m->stall) {
        return; /* stalled: datagrams wait in the host socket */
    }
    udp_errors(m, n);
    if (s->fd < 0) {
        return;
    }
    for (int spins = 0; spins < 64; spins++) {
        if (tokens_avail(m, false) == 0) {
            return;
        }
        struct sockaddr_in from;
        memset(&from, 0, sizeof(from));
        socklen_t fl = sizeof(from);
        ssize_t r = recvfrom(s->fd, m->dgram, sizeof(m->dgram), MSG_DONTWAIT,
                             (struct sockaddr *)&from, &fl);
        if (r < 0) {
            if (errno == EAGAIN || errno == EWOULDBLOCK) {
                return;
            }
            udp_errors(m, n); /* an ICMP error was reported through recvfrom */
            continue;
        }
        tokens_take(m, false, (uint32_t)r);
        if (!link_effective(m)) {
            continue; /* arrived while the link was down: lost */
        }
        const struct map *mp = map_find_host(m, ntohs(from.sin_port));
        if (mp == NULL || from.sin_addr.s_addr != htonl(INADDR_LOOPBACK)) {
            continue; /* not from a mapped peer: nothing on the LAN sent it */
        }
        udp_deliver(m, n, mp->lan_ip, mp->lan_port, m->dgram, (uint32_t)r);
    }
}

static void accept_service(struct w5500_model *m)
{
    if (m->stall || !link_effective(m)) {
        return; /* SYNs wait in the host backlog */
    }
    for (size_t i = 0; i < m->n_expose; i++) {
        struct expose *e = &m->expose[i];
        if (e->udp) {
            continue;
        }
        for (;;) {
            struct sockaddr_in peer;
            memset(&peer, 0, sizeof(peer));
            socklen_t pl = sizeof(peer);
            int fd = accept4(e->fd, (struct sockaddr *)&peer, &pl, SOCK_NONBLOCK | SOCK_CLOEXEC);
            if (fd < 0) {
                break;
            }
            unsigned n;
            for (n = 0; n < NUM_SOCKETS; n++) {
                const struct sock *s = &m->s[n];
                if (s->sr == SOCK_LISTEN && be16(&s->reg[S_PORT]) == e->lan_port) {
                    break;
                }
            }
            if (n == NUM_SOCKETS) {
                fd_close(&fd, true); /* no listener: RST */
                continue;
            }
            struct sock *s = &m->s[n];
            s->fd = fd;
            s->sr = SOCK_ESTABLISHED;
            set_be32(&s->reg[S_DIPR], m->cfg.host_peer_ip);
            set_be16(&s->reg[S_DPORT], ntohs(peer.sin_port));
            set_be16(&s->reg[S_MSSR], MSS_PEER);
            sock_flag(m, n, SIR_CON);
        }
    }
}

/* Datagrams the host sends to an exposed UDP port reach the UDP socket bound to its lan_port, seen
 * as coming from host_peer_ip:<host source port>; with no such socket they are lost. */
static void expose_udp_service(struct w5500_model *m)
{
    if (m->stall) {
        return; /* datagrams wait in the host socket */
    }
    for (size_t i = 0; i < m->n_expose; i++) {
        const struct expose *e = &m->expose[i];
        if (!e->udp) {
            continue;
        }
        for (int k = 0; k < 64 && tokens_avail(m, false) != 0; k++) {
            struct sockaddr_in from;
            memset(&from, 0, sizeof(from));
            socklen_t fl = sizeof(from);
            ssize_t r = recvfrom(e->fd, m->dgram, sizeof(m->dgram), MSG_DONTWAIT,
                                 (struct sockaddr *)&from, &fl);
            if (r < 0) {
                break;
            }
            tokens_take(m, false, (uint32_t)r);
            if (!link_effective(m) || from.sin_addr.s_addr != htonl(INADDR_LOOPBACK)) {
                continue;
            }
            for (unsigned n = 0; n < NUM_SOCKETS; n++) {
                const struct sock *s = &m->s[n];
                if (s->sr == SOCK_UDP && be16(&s->reg[S_PORT]) == e->lan_port) {
                    udp_deliver(m, n, m->cfg.host_peer_ip, ntohs(from.sin_port), m->dgram,
                                (uint32_t)r);
                    break;
                }
            }
        }
    }
}

static bool chip_ready(const struct w5500_model *m)
{
    return m->rstn && m->now >= m->ready_at;
}

static void service(struct w5500_model *m)
{
    m->deferred = false;
    if (!chip_ready(m)) {
        return;
    }
    /* Host sockets are polled at most every host_poll_us of model time (0: on every call). */
    if (m->cfg.host_poll_us == 0 || m->now - m->last_poll >= m->cfg.host_poll_us) {
        m->last_poll = m->now;
        tokens_refill(m);
        accept_service(m);
        expose_udp_service(m);
        for (unsigned n = 0; n < NUM_SOCKETS; n++) {
            if (m->s[n].sr == SOCK_UDP) {
                udp_service(m, n);
            } else {
                tcp_service(m, n);
            }
        }
    }
    timers_run(m);
    intn_update(m);
}

/* ---- SPI decoder ---- */

static void frame_end(struct w5500_model *m)
{
    m->in_frame = false;
    m->hdr_len = 0;
    m->stats.spi_frames++;
    if (!chip_ready(m)) {
        return;
    }
    for (unsigned n = 0; n < NUM_SOCKETS; n++) {
        uint8_t cmd = m->s[n].cr;
        if (cmd != 0) {
            m->s[n].cr = 0;
            m->s[n].cr_shown = cmd;
            m->s[n].cr_busy = m->cfg.cr_busy_reads;
            sock_command(m, n, cmd);
        }
    }
    if (m->deferred) {
        service(m);
    } else {
        timers_run(m);
        intn_update(m);
    }
}

static void frame_start(struct w5500_model *m)
{
    m->in_frame = true;
    m->hdr_len = 0;
    m->data_len = 0;
    m->frame_bad = false;
}

static void decode_control(struct w5500_model *m)
{
    m->addr = be16(m->hdr);
    uint8_t ctl = m->hdr[2];
    m->bsb = (uint8_t)(ctl >> 3);
    m->write = (ctl & 0x04) != 0;
    m->om = ctl & 0x03;
    unsigned kind = m->bsb & 3u;
    if (m->bsb != BSB_COMMON && kind == 0) {
        m->frame_bad = true; /* reserved block: the datasheet warns of malfunction */
        m->stats.host_misuse++;
        return;
    }
    if (kind == BSB_KIND_TX || kind == BSB_KIND_RX) {
        buf_geometry(m, kind == BSB_KIND_TX, m->bsb >> 2, &m->buf_base, &m->buf_size);
    }
}

static uint8_t data_byte(struct w5500_model *m, uint8_t mosi)
{
    uint8_t miso = 0;
    uint16_t a = m->addr;
    unsigned kind = m->bsb & 3u;
    unsigned n = m->bsb >> 2;
    m->addr = (uint16_t)(m->addr + 1u);
    if (m->frame_bad) {
        return 0;
    }
    if (m->bsb == BSB_COMMON) {
        if (m->write) {
            common_write(m, a, mosi);
        } else {
            miso = common_read(m, a);
        }
    } else if (kind == BSB_KIND_REG) {
        if (m->write) {
            sock_write(m, n, a, mosi);
        } else {
            miso = sock_read(m, n, a);
        }
    } else if (m->buf_size != 0) {
        /* A 64 KB offset space per buffer, folded onto the socket's slice. */
        uint8_t *mem = (kind == BSB_KIND_TX) ? m->tx_mem : m->rx_mem;
        uint32_t phys = m->buf_base + a % m->buf_size;
        if (m->write) {
            mem[phys] = mosi;
        } else {
            miso = mem[phys];
            if (kind == BSB_KIND_RX) {
                m->stats.rx_payload++;
            }
        }
    }
    return miso;
}

uint8_t w5500_model_spi_byte(struct w5500_model *m, uint8_t mosi)
{
    if (m->scsn) {
        return 0xFF;
    }
    m->stats.spi_bytes++;
    if (!chip_ready(m) || m->frame_ignored) {
        m->frame_ignored = true; /* the rest of this frame is garbage to the chip */
        return 0x00;
    }
    if (!m->in_frame) {
        frame_start(m); /* FDM: a new frame right after the last one, SCSn still low */
    }
    if (m->hdr_len < 3) {
        m->hdr[m->hdr_len++] = mosi;
        if (m->hdr_len == 3) {
            decode_control(m);
        }
        return m->hdr_len; /* 0x01, 0x02, 0x03 during the header */
    }
    uint8_t miso = data_byte(m, mosi);
    m->data_len++;
    if (m->om != OM_VDM) {
        uint32_t fdm_len = (m->om == 1) ? 1u : (m->om == 2 ? 2u : 4u);
        if (m->data_len == fdm_len) {
            frame_end(m);
        }
    }
    return miso;
}

void w5500_model_set_scsn(struct w5500_model *m, bool level)
{
    if (level == m->scsn) {
        return;
    }
    m->scsn = level;
    if (!level) {
        m->frame_ignored = !chip_ready(m);
        frame_start(m);
        return;
    }
    bool was_in_frame = m->in_frame;
    m->frame_ignored = false;
    if (was_in_frame) {
        frame_end(m);
    } else if (m->deferred && chip_ready(m)) {
        service(m);
    }
}

void w5500_model_set_rstn(struct w5500_model *m, bool level)
{
    if (level == m->rstn) {
        return;
    }
    m->rstn = level;
    if (!level) {
        m->rst_fall = m->now;
        chip_reset(m);
        m->ready_at = NEVER;
        m->in_frame = false;
        return;
    }
    if (m->now - m->rst_fall >= T_RC_US) {
        m->ready_at = m->now + T_PL_US;
    } /* else: too short a pulse, the chip stays unusable until a valid one */
}

bool w5500_model_intn(const struct w5500_model *m)
{
    return !m->int_low;
}

bool w5500_model_ready(const struct w5500_model *m)
{
    return chip_ready(m);
}

void w5500_model_advance(struct w5500_model *m, uint64_t now_us)
{
    if (now_us > m->now) {
        m->now = now_us;
    }
    m->deferred = true;
    if (m->in_frame) {
        return; /* done at the end of the frame */
    }
    service(m);
}

uint64_t w5500_model_now(const struct w5500_model *m)
{
    return m->now;
}

uint64_t w5500_model_next_deadline(const struct w5500_model *m)
{
    uint64_t t = UINT64_MAX;
    if (m->rstn && m->ready_at != NEVER && m->now < m->ready_at) {
        t = m->ready_at;
    }
    if (!m->int_low && m->int_hold_until > m->now && m->int_hold_until < t) {
        t = m->int_hold_until;
    }
    for (unsigned n = 0; n < NUM_SOCKETS; n++) {
        const struct sock *s = &m->s[n];
        if (s->timer != TMR_NONE && s->timer_at < t) {
            t = s->timer_at;
        }
        if (s->bh_deadline < t) {
            t = s->bh_deadline;
        }
    }
    return t;
}

/* ---- set-up ---- */

bool w5500_model_host_open(const struct w5500_model *m)
{
    for (size_t i = 0; i < NUM_SOCKETS; i++) {
        if (m->s[i].fd >= 0) {
            return true;
        }
    }
    return false;
}

void w5500_model_config_default(struct w5500_model_config *cfg)
{
    memset(cfg, 0, sizeof(*cfg));
    cfg->link_up = true;
    cfg->lan_net = 0xC0A80100u; /* 192.168.1.0 */
    cfg->lan_mask = 0xFFFFFF00u;
    cfg->gateway_ip = 0xC0A80101u;
    cfg->dhcp_server = true;
    cfg->dhcp_server_ip = 0xC0A80101u;
    cfg->dhcp_pool_first = 0xC0A80164u; /* .100 */
    cfg->dhcp_lease_s = 3600;
    cfg->dns_server_ip = 0xC0A80101u;
    cfg->host_peer_ip = 0xC0A80102u;
    cfg->imr_gates_sn_ir = true;
}

struct w5500_model *w5500_model_new(const struct w5500_model_config *cfg)
{
    if (cfg == NULL || (cfg->dhcp_server && !((cfg->dhcp_server_ip & cfg->lan_mask) ==
                                               (cfg->lan_net & cfg->lan_mask)))) {
        return NULL;
    }
    struct w5500_model *m = calloc(1, sizeof(*m));
    if (m == NULL) {
        return NULL;
    }
    m->cfg = *cfg;
    m->scsn = true;
    m->rstn = true;
    m->ready_at = T_PL_US; /* power-on: PLL lock */
    for (unsigned n = 0; n < NUM_SOCKETS; n++) {
        m->s[n].fd = -1;
    }
    chip_reset(m);
    m->link_cfg = cfg->link_up;
    m->cut_sn = CUT_OFF;
    m->dhcp.server_ip = cfg->dhcp_server_ip;
    m->dhcp.pool_first = cfg->dhcp_pool_first;
    m->dhcp.lease_s = cfg->dhcp_lease_s;
    m->dhcp.mask = cfg->lan_mask;
    m->dhcp.router = cfg->gateway_ip;
    m->dhcp.dns = cfg->dns_server_ip;
    return m;
}

void w5500_model_free(struct w5500_model *m)
{
    if (m == NULL) {
        return;
    }
    for (unsigned n = 0; n < NUM_SOCKETS; n++) {
        fd_close(&m->s[n].fd, true);
    }
    for (size_t i = 0; i < m->n_expose; i++) {
        fd_close(&m->expose[i].fd, false);
    }
    free(m);
}

static int map_add(struct w5500_model *m, uint32_t lan_ip, uint16_t lan_port, uint16_t host_port,
                   bool udp)
{
    if (m == NULL || lan_ip == 0 || lan_ip == BROADCAST_IP || lan_port == 0 || host_port == 0) {
        return W5500_MODEL_EARG;
    }
    if (map_find(m, lan_ip, lan_port, udp) != NULL || (udp && map_find_host(m, host_port))) {
        return W5500_MODEL_EEXIST;
    }
    if (m->n_maps >= MAX_MAPS) {
        return W5500_MODEL_EFULL;
    }
    struct map *mp = &m->maps[m->n_maps++];
    mp->lan_ip = lan_ip;
    mp->lan_port = lan_port;
    mp->host_port = host_port;
    mp->udp = udp;
    return W5500_MODEL_OK;
}

int w5500_model_map_tcp(struct w5500_model *m, uint32_t lan_ip, uint16_t lan_port,
                        uint16_t host_port)
{
    return map_add(m, lan_ip, lan_port, host_port, false);
}

int w5500_model_map_udp(struct w5500_model *m, uint32_t lan_ip, uint16_t lan_port,
                        uint16_t host_port)
{
    return map_add(m, lan_ip, lan_port, host_port, true);
}

static int expose_add(struct w5500_model *m, uint16_t lan_port, uint16_t host_port,
                      uint16_t *bound_port, bool udp)
{
    if (m == NULL || lan_port == 0) {
        return W5500_MODEL_EARG;
    }
    for (size_t i = 0; i < m->n_expose; i++) {
        if (m->expose[i].lan_port == lan_port && m->expose[i].udp == udp) {
            return W5500_MODEL_EEXIST;
        }
    }
    if (m->n_expose >= MAX_EXPOSE) {
        return W5500_MODEL_EFULL;
    }
    int fd = socket(AF_INET, (udp ? SOCK_DGRAM : SOCK_STREAM) | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd < 0) {
        return W5500_MODEL_EHOST;
    }
    int one = 1;
    struct sockaddr_in a = loopback_addr(host_port);
    socklen_t al = sizeof(a);
    if (setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) != 0 ||
        bind(fd, (const struct sockaddr *)&a, sizeof(a)) != 0 ||
        (!udp && listen(fd, 8) != 0) || getsockname(fd, (struct sockaddr *)&a, &al) != 0) {
        int e = errno;
        fd_close(&fd, false);
        errno = e;
        return W5500_MODEL_EHOST;
    }
    struct expose *e = &m->expose[m->n_expose++];
    e->lan_port = lan_port;
    e->host_port = ntohs(a.sin_port);
    e->fd = fd;
    e->udp = udp;
    if (bound_port != NULL) {
        *bound_port = e->host_port;
    }
    return W5500_MODEL_OK;
}

int w5500_model_expose_tcp(struct w5500_model *m, uint16_t lan_port, uint16_t host_port,
                           uint16_t *bound_port)
{
    return expose_add(m, lan_port, host_port, bound_port, false);
}

int w5500_model_expose_udp(struct w5500_model *m, uint16_t lan_port, uint16_t host_port,
                           uint16_t *bound_port)
{
    return expose_add(m, lan_port, host_port, bound_port, true);
}

int w5500_model_dns_add(struct w5500_model *m, const char *name, uint32_t ip)
{
    if (m == NULL) {
        return W5500_MODEL_EARG;
    }
    return w5500_dns_add(&m->dns, name, ip);
}

/* ---- link and faults ---- */

void w5500_model_set_link(struct w5500_model *m, bool up)
{
    m->link_cfg = up;
}

int w5500_model_fault_tcp_reset(struct w5500_model *m, int sn)
{
    if (sn < -1 || sn >= NUM_SOCKETS) {
        return W5500_MODEL_EARG;
    }
    for (unsigned n = 0; n < NUM_SOCKETS; n++) {
        if (sn >= 0 && (unsigned)sn != n) {
            continue;
        }
        uint8_t sr = m->s[n].sr;
        if (sr == SOCK_SYNSENT || sr == SOCK_ESTABLISHED || sr == SOCK_CLOSE_WAIT ||
            sr == SOCK_FIN_WAIT || sr == SOCK_LAST_ACK) {
            sock_close_now(m, n, true);
        }
    }
    if (!m->in_frame) {
        intn_update(m);
    }
    return W5500_MODEL_OK;
}

int w5500_model_fault_tcp_reset_after(struct w5500_model *m, int sn, uint32_t rx_bytes)
{
    if (sn < -1 || sn >= NUM_SOCKETS) {
        return W5500_MODEL_EARG;
    }
    m->cut_sn = sn;
    m->cut_left = rx_bytes;
    return W5500_MODEL_OK;
}

void w5500_model_fault_tcp_reset_off(struct w5500_model *m)
{
    m->cut_sn = CUT_OFF;
}

void w5500_model_fault_stall(struct w5500_model *m, bool on)
{
    m->stall = on;
}

void w5500_model_fault_rate_limit(struct w5500_model *m, uint32_t bytes_per_s)
{
    m->rate_bps = bytes_per_s;
    m->tokens_rx = 0;
    m->tokens_tx = 0;
    m->tokens_at = m->now;
}

void w5500_model_fault_udp_truncate(struct w5500_model *m, uint16_t max_payload, uint32_t count)
{
    m->trunc_max = max_payload;
    m->trunc_count = count;
}

void w5500_model_fault_dhcp(struct w5500_model *m, enum w5500_model_dhcp_fault f, uint32_t count)
{
    m->dhcp.fault = f;
    m->dhcp.fault_count = count;
}

void w5500_model_fault_dns(struct w5500_model *m, enum w5500_model_dns_fault f, uint32_t count)
{
    m->dns.fault = f;
    m->dns.fault_count = count;
}

void w5500_model_get_stats(const struct w5500_model *m, struct w5500_model_stats *st)
{
    *st = m->stats;
}
