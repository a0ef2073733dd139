/*
 * A model of the WIZnet W5500, reached only through the chip's pins: SCSn, SCLK/MOSI/MISO (one
 * byte exchanged at a time), RSTn and INTn. Written from the datasheet (../shared/reference/
 * w5500.md), not from any driver's headers, so any W5500 driver can run against it unchanged.
 *
 * Its network side is a virtual LAN: a built-in DHCP server and DNS responder, and TCP/UDP
 * destinations bridged to host sockets on the loopback interface only, through an explicit map.
 * Unmapped destinations behave like unreachable hosts (ARP/TCP timeout per RTR/RCR).
 *
 * Time is given by the caller (w5500_model_advance), so the model runs on virtual time in the
 * virtual board and on a fake or real clock in host tests. Host sockets are polled (never
 * blocking) only from w5500_model_advance(); if advance() is called while a frame is in progress
 * (SCSn low mid-frame) the work is deferred to the end of that frame, so buffer pointers, RSR,
 * FSR, Sn_SR and the interrupt flags change only between frames. See docs/w5500-model.md.
 */
#ifndef W5500_MODEL_H
#define W5500_MODEL_H

#include <stdbool.h>
#include <stdint.h>

struct w5500_model;

struct w5500_model_config {
    bool link_up;           /* PHY link at power-up */
    uint32_t lan_net;       /* e.g. 192.168.1.0, host order */
    uint32_t lan_mask;      /* e.g. 255.255.255.0 */
    uint32_t gateway_ip;    /* e.g. 192.168.1.1; 0: no gateway on the LAN */
    bool dhcp_server;       /* answer DHCP on the virtual LAN */
    uint32_t dhcp_server_ip;
    uint32_t dhcp_pool_first; /* first address leased */
    uint32_t dhcp_lease_s;  /* option 51; 0xFFFFFFFF = infinite; 0 = option 51 left out */
    uint32_t dns_server_ip; /* 0: no DNS responder */
    /* Added by the model's owner (config_default fills them): */
    uint32_t host_peer_ip;  /* LAN address shown in Sn_DIPR for inbound host connections */
    bool imr_gates_sn_ir;   /* Sn_IR bits set only when the Sn_IMR bit is 1 (datasheet wording) */
    uint32_t host_poll_us;  /* poll host sockets at most this often in model time (0: every
                             * advance); timers (ARP/TCP timeouts) run on every advance anyway */
    uint32_t rx_frame_us;   /* TCP: after host data entered a socket's RX buffer, more data (or
                             * the FIN behind it) comes no sooner than this (a frame time on the
                             * wire), so RSR cannot change between two quick reads however the
                             * host delivers; sending is not delayed. 0: whenever the host has data */
    uint32_t cr_busy_reads; /* Sn_CR keeps showing an accepted command for this many reads before
                             * it reads 0 (0: reads 0 from the next frame on), to exercise a
                             * driver's poll loop; the command's effects are already visible */
};

/* Sensible defaults: link up, 192.168.1.0/24, gateway/DHCP/DNS at .1, pool from .100, 1 h lease,
 * inbound host peer shown as .2, Sn_IMR gates Sn_IR. */
void w5500_model_config_default(struct w5500_model_config *cfg);

/* A powered chip whose registers become usable 1 ms (PLL lock) after model time 0. NULL if the
 * config is inconsistent or memory runs out. */
struct w5500_model *w5500_model_new(const struct w5500_model_config *cfg);
/* Closes every host socket and frees the model; NULL is allowed. */
void w5500_model_free(struct w5500_model *m);

/* Error codes of the set-up functions below. */
#define W5500_MODEL_OK 0
#define W5500_MODEL_EARG (-1)    /* bad argument (NULL, zero port, zero address, bad name) */
#define W5500_MODEL_EFULL (-2)   /* table full */
#define W5500_MODEL_EHOST (-3)   /* a host socket call failed (errno is kept) */
#define W5500_MODEL_EEXIST (-4)  /* that LAN address/port is mapped already */

/* Bridge: TCP connections to lan_ip:lan_port go to 127.0.0.1:host_port. W5500_MODEL_OK or error. */
int w5500_model_map_tcp(struct w5500_model *m, uint32_t lan_ip, uint16_t lan_port,
                        uint16_t host_port);
/* Bridge: UDP datagrams to lan_ip:lan_port go to 127.0.0.1:host_port; datagrams the host sends
 * back from 127.0.0.1:host_port arrive as coming from lan_ip:lan_port. */
int w5500_model_map_udp(struct w5500_model *m, uint32_t lan_ip, uint16_t lan_port,
                        uint16_t host_port);
/* Inbound TCP: the model listens on 127.0.0.1:host_port (0 = any free port; the port bound is
 * stored in *bound_port if not NULL). A host connection there reaches the W5500 socket in
 * SOCK_LISTEN whose Sn_PORT is lan_port, seen as coming from host_peer_ip:<host source port>; with
 * no such socket the host connection is reset (a W5500 answers a SYN to a closed port with RST). */
int w5500_model_expose_tcp(struct w5500_model *m, uint16_t lan_port, uint16_t host_port,
                           uint16_t *bound_port);
/* Inbound UDP: the model binds 127.0.0.1:host_port (0 = any free port; the port bound is stored in
 * *bound_port if not NULL). Datagrams the host sends there reach the W5500 UDP socket whose Sn_PORT
 * is lan_port, seen as coming from host_peer_ip:<host source port>; that socket's datagrams to
 * host_peer_ip:P go back to 127.0.0.1:P from the bound port. */
int w5500_model_expose_udp(struct w5500_model *m, uint16_t lan_port, uint16_t host_port,
                           uint16_t *bound_port);
/* DNS responder: name -> address (A record). Names compare case-insensitively, no trailing dot. */
int w5500_model_dns_add(struct w5500_model *m, const char *name, uint32_t ip);

/* Pins. Levels are electrical: true = high. SCSn low selects the chip. */
void w5500_model_set_scsn(struct w5500_model *m, bool level);
/* One SPI byte exchange: returns MISO. 0xFF while deselected (MISO is high-Z; pull-up assumed). */
uint8_t w5500_model_spi_byte(struct w5500_model *m, uint8_t mosi);
/* RSTn: a low pulse >= 500 us resets the chip; registers are usable 1 ms (PLL lock) after the
 * rising edge. A shorter pulse leaves the chip unusable until a valid pulse. Time is model time. */
void w5500_model_set_rstn(struct w5500_model *m, bool level);
/* INTn level: low (false) while (IR & IMR) != 0 or (SIR & SIMR) != 0, INTLEVEL pacing re-assertion. */
bool w5500_model_intn(const struct w5500_model *m);
/* True once the chip answers on SPI (out of reset, PLL locked). */
bool w5500_model_ready(const struct w5500_model *m);

/* Move model time forward to now_us and do network work that is due (poll host sockets, timers).
 * Time never goes backwards: an earlier now_us is treated as the current time. */
void w5500_model_advance(struct w5500_model *m, uint64_t now_us);
/* Current model time. */
uint64_t w5500_model_now(const struct w5500_model *m);
/* Earliest model time at which something happens without host socket traffic (a retry timeout,
 * PLL lock, the end of INTLEVEL pacing); UINT64_MAX if none. A virtual board may skip idle time up
 * to it; host socket data still needs advance() calls to be polled. */
uint64_t w5500_model_next_deadline(const struct w5500_model *m);

/* True while a socket is bridged to a host socket (a mapped TCP connection being made or open,
 * or a mapped UDP socket): only then does a real peer's time matter to the chip (vboard
 * --pace-host-only). DHCP, DNS and ARP are answered by the model itself. */
bool w5500_model_host_open(const struct w5500_model *m);

/* Link and fault injection for tests. */
void w5500_model_set_link(struct w5500_model *m, bool up);

/* Peer resets the TCP connection on socket sn (0..7; -1 = every socket): Sn_SR -> CLOSED and the
 * host side sees a reset. W5500_MODEL_OK, or W5500_MODEL_EARG if sn is out of range. */
int w5500_model_fault_tcp_reset(struct w5500_model *m, int sn);
/* Once rx_bytes more bytes of TCP data have reached socket sn (-1: whichever socket receives), the
 * peer resets that connection (as fault_tcp_reset), so a download can be cut at an exact offset.
 * One such fault at a time; W5500_MODEL_OK, or W5500_MODEL_EARG if sn is out of range. */
int w5500_model_fault_tcp_reset_after(struct w5500_model *m, int sn, uint32_t rx_bytes);
/* Cancels a pending fault_tcp_reset_after. */
void w5500_model_fault_tcp_reset_off(struct w5500_model *m);
/* Stall: the LAN delivers nothing in either direction (host data stays queued, TX data is not
 * acknowledged; TCP retransmission then times out per RTR/RCR). */
void w5500_model_fault_stall(struct w5500_model *m, bool on);
/* Slow peer: TCP/UDP bytes moved between host sockets and the chip limited to bytes_per_s in each
 * direction (0 = unlimited). */
void w5500_model_fault_rate_limit(struct w5500_model *m, uint32_t bytes_per_s);
/* The next `count` UDP datagrams delivered to the chip (host bridge, DHCP, DNS) are cut to
 * max_payload bytes (the header length shows the cut length). count 0 = off. */
void w5500_model_fault_udp_truncate(struct w5500_model *m, uint16_t max_payload, uint32_t count);

enum w5500_model_dhcp_fault {
    W5500_DHCP_FAULT_NONE = 0,
    W5500_DHCP_FAULT_IGNORE_DISCOVER, /* no OFFER */
    W5500_DHCP_FAULT_IGNORE_REQUEST,  /* no ACK/NAK */
    W5500_DHCP_FAULT_NAK_REQUEST,     /* NAK instead of ACK */
    W5500_DHCP_FAULT_IGNORE_ALL,      /* server silent */
};
/* Applies to the next `count` DHCP messages the fault matches (UINT32_MAX = until changed). */
void w5500_model_fault_dhcp(struct w5500_model *m, enum w5500_model_dhcp_fault f, uint32_t count);

enum w5500_model_dns_fault {
    W5500_DNS_FAULT_NONE = 0,
    W5500_DNS_FAULT_DROP,     /* no answer */
    W5500_DNS_FAULT_CORRUPT,  /* answer whose A record is cut short (rdlength 4, 2 bytes present) */
    W5500_DNS_FAULT_SERVFAIL, /* rcode 2, no answer record */
    W5500_DNS_FAULT_WRONG_ID, /* a well-formed answer with the query ID + 1 */
};
/* Applies to the next `count` DNS queries (UINT32_MAX = until changed). */
void w5500_model_fault_dns(struct w5500_model *m, enum w5500_model_dns_fault f, uint32_t count);

struct w5500_model_stats {
    uint64_t spi_bytes;   /* bytes clocked while selected */
    uint64_t spi_frames;  /* SCSn low..high frames (VDM) plus completed FDM frames */
    uint64_t rx_payload;  /* bytes the host read out of RX buffers */
    uint64_t tx_payload;  /* bytes the host wrote into TX buffers and sent */
    /* Added by the model's owner: */
    uint64_t udp_dropped;    /* datagrams dropped because the RX buffer lacked room */
    uint64_t host_misuse;    /* driver errors seen: reserved BSB, RX_RD past RX_WR, TX past FSR */
    uint64_t dhcp_requests;  /* DHCP messages the built-in server received */
    uint64_t dns_queries;    /* DNS queries the built-in responder received */
};
void w5500_model_get_stats(const struct w5500_model *m, struct w5500_model_stats *st);

#endif /* W5500_MODEL_H */
