/*
 * WIZnet W5500 driver: bring-up, PHY link, addressing and the socket layer (TCP client, UDP).
 *
 * Portable C: no allocation, no OS. The chip is reached only through struct w5500_port, so the
 * same code runs on the STM32F446 (SPI1, CS PB6, RESET PC7) and on the host against the model.
 * Everything is polled and non-blocking: no call waits longer than a bounded number of SPI
 * frames (a few microseconds at 22.5 MHz), never for network events. The caller owns every
 * buffer; nothing is kept after a call returns.
 *
 * Status codes: 0 is success, positive values are "not an error yet" (W5500_PENDING, W5500_EOF),
 * every failure is a named negative code (enum w5500_status).
 */
#ifndef W5500_H
#define W5500_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define W5500_NUM_SOCKETS 8u
/* Largest UDP payload sent in one datagram: Ethernet MTU 1500 - 20 (IP) - 8 (UDP). The chip does
 * not fragment (datasheet v1.0.3 withdrew the "divided automatically" wording). */
#define W5500_UDP_MAX_PAYLOAD 1472u

enum w5500_status {
    W5500_OK = 0,
    W5500_PENDING = 1, /* not finished; call again on a later pass */
    W5500_EOF = 2,     /* TCP: the peer closed its side and every byte has been read */

    W5500_ERR_ARG = -1,          /* bad argument from the caller */
    W5500_ERR_SPI = -2,          /* the port's transfer reported a failure */
    W5500_ERR_NO_CHIP = -3,      /* VERSIONR is not 0x04: no W5500 answers on the bus */
    W5500_ERR_NO_LINK = -4,      /* PHY link down (bring-up link wait expired, or link lost) */
    W5500_ERR_NOT_READY = -5,    /* bring-up has not finished */
    W5500_ERR_SOCKNUM = -6,      /* socket number >= 8, or socket has no buffer */
    W5500_ERR_SOCK_STATE = -7,   /* the socket is not in a state that allows the call */
    W5500_ERR_CMD_STUCK = -8,    /* Sn_CR did not clear: the chip did not take the command */
    W5500_ERR_UNSTABLE = -9,     /* RSR/FSR never read the same twice */
    W5500_ERR_TIMEOUT = -10,     /* chip ARP/TCP retransmission timeout (Sn_IR.TIMEOUT) */
    W5500_ERR_CLOSED = -11,      /* connection closed or reset by the peer, or refused */
    W5500_ERR_TRUNCATED = -12,   /* datagram longer than the caller's buffer; rest dropped */
    W5500_ERR_BAD_FRAME = -13,   /* UDP receive header inconsistent with RSR; RX flushed */
    W5500_ERR_VERIFY = -14,      /* a configuration register did not read back as written */
    W5500_ERR_MALFORMED = -20,   /* DHCP/DNS message fails a bounds or format check */
    W5500_ERR_MISMATCH = -21,    /* DHCP xid/chaddr or DNS id/question not ours */
    W5500_ERR_NAK = -22,         /* DHCP server sent NAK */
    W5500_ERR_NXDOMAIN = -23,    /* DNS: the name does not exist */
    W5500_ERR_SERVFAIL = -24,    /* DNS: any other non-zero rcode */
    W5500_ERR_NO_ANSWER = -25,   /* DNS: no A record for the name (after CNAMEs) */
    W5500_ERR_DNS_TRUNC = -26,   /* DNS: TC bit set */
    W5500_ERR_GAVE_UP = -27,     /* DHCP/DNS: all retries used without a usable reply */
    W5500_ERR_LEASE_LOST = -28,  /* DHCP: lease expired without renewal; address removed */
    W5500_ERR_CONFLICT = -29,    /* DHCP: every offered address was already in use (ARP) */
};

/* A short name for a status code (for logs); never NULL. */
const char *w5500_status_str(int status);

/*
 * The bus. One struct, filled by the port; every function receives ctx.
 * - select/deselect drive SCSn low/high. One SPI frame = select, one or more transfers, deselect.
 * - transfer exchanges len bytes full duplex: tx NULL clocks out 0x00, rx NULL discards MISO.
 *   Returns 0 on success, non-zero on a bus failure.
 * - reset_pin drives RSTn (true = high = released).
 * - millis is a free-running millisecond clock (wraps at 2^32).
 */
struct w5500_port {
    void (*select)(void *ctx);
    void (*deselect)(void *ctx);
    int (*transfer)(void *ctx, const uint8_t *tx, uint8_t *rx, size_t len);
    void (*reset_pin)(void *ctx, bool level);
    uint32_t (*millis)(void *ctx);
    void *ctx;
};

/* IPv4 addresses are 4 bytes in network order everywhere in this API. */
struct w5500_netcfg {
    uint8_t ip[4];
    uint8_t mask[4];
    uint8_t gateway[4];
};

struct w5500_config {
    uint8_t uid[12];                 /* STM32 96-bit unique ID; the MAC is derived from it */
    struct w5500_netcfg net;         /* static address; all zero when DHCP will set it */
    uint8_t tx_kb[W5500_NUM_SOCKETS]; /* 0,1,2,4,8,16; each direction sums to <= 16 */
    uint8_t rx_kb[W5500_NUM_SOCKETS];
    uint32_t link_timeout_ms;        /* bring-up waits this long for the PHY link (0: don't wait) */
    uint16_t retry_time_100us;       /* RTR: first retransmission timeout (0: chip default 200 ms) */
    uint8_t retry_count;             /* RCR: retransmissions before TIMEOUT (0: chip default 8) */
    uint8_t tcp_keepalive_5s;        /* Sn_KPALVTR for TCP connections: a keep-alive every n x 5 s
                                      * once data has flowed, so a vanished peer ends in
                                      * W5500_ERR_TIMEOUT instead of a silent stall (0: off) */
};

enum w5500_bringup_state {
    W5500_BU_IDLE = 0,
    W5500_BU_RESET_LOW,
    W5500_BU_PLL_WAIT,
    W5500_BU_CONFIGURE,
    W5500_BU_LINK_WAIT,
    W5500_BU_READY,
    W5500_BU_FAILED,
};

enum w5500_sock_kind { W5500_SOCK_FREE = 0, W5500_SOCK_TCP, W5500_SOCK_UDP };

struct w5500_sock {
    uint8_t kind;         /* enum w5500_sock_kind: what the driver opened it as */
    bool send_pending;    /* a SEND was issued and SEND_OK/TIMEOUT not yet seen */
    bool disconnecting;   /* DISCON issued */
    uint16_t tx_size;     /* bytes */
    uint16_t rx_size;
};

/* Driver state; the caller owns it (static storage in firmware). Fields are private. */
struct w5500_dev {
    const struct w5500_port *port;
    struct w5500_config cfg;
    uint8_t mac[6];
    uint8_t state; /* enum w5500_bringup_state */
    int fail_status;
    uint32_t t_mark;
    struct w5500_sock sock[W5500_NUM_SOCKETS];
};

/* Fill the MAC for a 12-byte unique ID: locally administered (bit 1 set), unicast (bit 0 clear). */
void w5500_mac_from_uid(const uint8_t uid[12], uint8_t mac[6]);

/* Check cfg and start bring-up (nothing is clocked yet). W5500_ERR_ARG for bad sizes/pointers. */
int w5500_init(struct w5500_dev *dev, const struct w5500_port *port,
               const struct w5500_config *cfg);

/*
 * Advance bring-up: reset pulse (RSTn low >= 1 ms measured on the clock), PLL lock (>= 1 ms),
 * VERSIONR check, MAC/addresses/buffer sizes written and read back, then link wait.
 * W5500_PENDING until done; W5500_OK once ready (and on every later call); a negative code when it
 * failed (sticky until w5500_bringup_restart or w5500_init). The waits are timed from the pin
 * edges, so an interrupt between the driver's clock read and its pin write cannot shorten them.
 */
int w5500_bringup_poll(struct w5500_dev *dev);

/*
 * Start bring-up again from the reset pulse, with the configuration in force (the addresses last
 * set): after a failed bring-up, or when w5500_check found the chip reset. Every socket is
 * forgotten. W5500_ERR_ARG for a device never initialised.
 */
int w5500_bringup_restart(struct w5500_dev *dev);

/* True once bring-up has finished. */
bool w5500_ready(const struct w5500_dev *dev);

/*
 * Health check for a running chip: VERSIONR still 0x04 and GAR/SUBR/SHAR/SIPR still hold what the
 * driver wrote. W5500_ERR_VERIFY means the chip was reset behind our back (brown-out, glitch on
 * RSTn): every socket is gone; call w5500_init and bring it up again. W5500_ERR_NO_CHIP if it no
 * longer answers.
 */
int w5500_check(struct w5500_dev *dev);

/* Read PHYCFGR.LNK now. */
int w5500_link_get(struct w5500_dev *dev, bool *up);

/* Write IP, mask and gateway (DHCP uses this too). All-zero clears the address. */
int w5500_set_netcfg(struct w5500_dev *dev, const struct w5500_netcfg *net);

/* Read back IP, mask and gateway from the chip. */
int w5500_get_netcfg(struct w5500_dev *dev, struct w5500_netcfg *net);

/* RCR (retransmissions before TIMEOUT, ARP included) for what follows, or back to the configured
 * value (w5500_config.retry_count, chip default 8) with w5500_restore_retry_count. */
int w5500_set_retry_count(struct w5500_dev *dev, uint8_t rcr);
int w5500_restore_retry_count(struct w5500_dev *dev);

/* The MAC in use. */
void w5500_get_mac(const struct w5500_dev *dev, uint8_t mac[6]);

/* Read Sn_SR (the chip's socket status byte, 0x00 = CLOSED, 0x17 = ESTABLISHED, 0x22 = UDP). */
int w5500_sock_status(struct w5500_dev *dev, uint8_t sn, uint8_t *sr);

/* CLOSE (no FIN), clear Sn_IR, and check Sn_SR reads CLOSED. Safe on a closed socket. */
int w5500_sock_close(struct w5500_dev *dev, uint8_t sn);

/*
 * TCP client, step 1: OPEN in TCP mode on local_port (non-zero), then CONNECT to ip:port (a
 * unicast address). Nothing is waited for; on a failure after OPEN the socket is closed again.
 */
int w5500_tcp_connect(struct w5500_dev *dev, uint8_t sn, uint16_t local_port,
                      const uint8_t ip[4], uint16_t port);

/*
 * TCP client, step 2: W5500_OK once ESTABLISHED, W5500_PENDING while the handshake runs,
 * W5500_ERR_TIMEOUT (no answer; socket closed) or W5500_ERR_CLOSED (refused/reset).
 */
int w5500_tcp_connect_poll(struct w5500_dev *dev, uint8_t sn);

/*
 * Queue up to len bytes; *sent says how many were taken (maybe fewer than len: TX space).
 * W5500_PENDING with *sent = 0 while the previous SEND is unacknowledged or no space is free.
 * W5500_ERR_TIMEOUT (socket closed) if the chip gave up retransmitting, W5500_ERR_CLOSED if the
 * connection is gone.
 */
int w5500_tcp_send(struct w5500_dev *dev, uint8_t sn, const uint8_t *buf, size_t len,
                   size_t *sent);

/* W5500_OK once every queued byte is acknowledged (SEND_OK), else as w5500_tcp_send. */
int w5500_tcp_flush_poll(struct w5500_dev *dev, uint8_t sn);

/*
 * Read up to cap bytes in one SPI burst. W5500_OK with *got > 0; W5500_PENDING (*got = 0) when
 * nothing is waiting; W5500_EOF when the peer closed and everything has been read. Data that
 * arrived before a reset is returned first; then W5500_ERR_CLOSED (reset) or W5500_ERR_TIMEOUT
 * (retransmissions or keep-alive unanswered), and the socket is closed.
 */
int w5500_tcp_recv(struct w5500_dev *dev, uint8_t sn, uint8_t *buf, size_t cap, size_t *got);

/* Start a graceful close (FIN). Then poll w5500_tcp_disconnect_poll. */
int w5500_tcp_disconnect(struct w5500_dev *dev, uint8_t sn);

/* W5500_OK once CLOSED; W5500_PENDING; W5500_ERR_TIMEOUT (then force-closed). */
int w5500_tcp_disconnect_poll(struct w5500_dev *dev, uint8_t sn);

/* OPEN in UDP mode on local_port (non-zero). */
int w5500_udp_open(struct w5500_dev *dev, uint8_t sn, uint16_t local_port);

/* Send one datagram (len <= W5500_UDP_MAX_PAYLOAD and <= the TX buffer). Then poll
 * w5500_udp_send_poll. */
int w5500_udp_sendto(struct w5500_dev *dev, uint8_t sn, const uint8_t *buf, size_t len,
                     const uint8_t ip[4], uint16_t port);

/* W5500_OK on SEND_OK (or nothing pending), W5500_PENDING, W5500_ERR_TIMEOUT (ARP failed; the
 * socket stays open), W5500_ERR_SOCK_STATE if the socket closed meanwhile. */
int w5500_udp_send_poll(struct w5500_dev *dev, uint8_t sn);

/*
 * Take one whole datagram out of the RX buffer (8-byte header + payload).
 * W5500_OK with *got, ip, port filled; W5500_PENDING if none; W5500_ERR_TRUNCATED when the
 * payload was longer than cap (the first cap bytes are in buf, *got = cap, the rest is dropped);
 * W5500_ERR_BAD_FRAME if the header does not fit RSR (the RX buffer is flushed).
 * ip and port may be NULL.
 */
int w5500_udp_recvfrom(struct w5500_dev *dev, uint8_t sn, uint8_t *buf, size_t cap, size_t *got,
                       uint8_t ip[4], uint16_t *port);

#endif /* W5500_H */
