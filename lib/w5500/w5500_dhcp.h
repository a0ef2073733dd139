/*
 * DHCP client (RFC 2131 subset) on top of the W5500 socket layer: DISCOVER/OFFER/REQUEST/ACK,
 * renewal at T1 (unicast) and rebinding at T2 (broadcast), lease expiry, NAK, retransmission
 * with exponential backoff. The message parser is a pure function over (buffer, length).
 *
 * The UDP socket (port 68) is open only while a message exchange runs; it is closed while the
 * lease is simply held, so one socket number can be shared with other short-lived users.
 */
#ifndef W5500_DHCP_H
#define W5500_DHCP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "w5500.h"

#define W5500_DHCP_CLIENT_PORT 68u
#define W5500_DHCP_SERVER_PORT 67u
#define W5500_DHCP_MSG_MAX 576u  /* RFC 2131 minimum a client must accept (plus slack) */
#define W5500_DHCP_FIXED_LEN 236u
#define W5500_DHCP_MIN_LEN 240u  /* fixed part + magic cookie */

enum w5500_dhcp_type {
    W5500_DHCP_DISCOVER = 1,
    W5500_DHCP_OFFER = 2,
    W5500_DHCP_REQUEST = 3,
    W5500_DHCP_DECLINE = 4,
    W5500_DHCP_ACK = 5,
    W5500_DHCP_NAK = 6,
    W5500_DHCP_RELEASE = 7,
    W5500_DHCP_INFORM = 8,
};

/* What a server reply says; has_* tell which options were present. */
struct w5500_dhcp_msg {
    uint8_t type;
    uint8_t yiaddr[4];
    uint8_t server_id[4];
    uint8_t mask[4];
    uint8_t router[4];
    uint8_t dns[4];
    uint32_t lease_s;
    uint32_t t1_s;
    uint32_t t2_s;
    bool has_server_id, has_mask, has_router, has_dns, has_lease, has_t1, has_t2;
};

/*
 * Parse a BOOTREPLY for our transaction. W5500_OK with *out filled; W5500_ERR_MISMATCH if it is
 * not for us (op, xid, chaddr); W5500_ERR_MALFORMED if any length, option or address is wrong.
 * OFFER and ACK must carry a usable yiaddr and a server id; NAK must carry a server id.
 */
int w5500_dhcp_parse(const uint8_t *msg, size_t len, uint32_t xid, const uint8_t mac[6],
                     struct w5500_dhcp_msg *out);

/* Build a DISCOVER (1), REQUEST (3), DECLINE (4) or RELEASE (7). ciaddr/req_ip/server_id may be
 * NULL. */
int w5500_dhcp_build(uint8_t *buf, size_t cap, uint8_t type, uint32_t xid, const uint8_t mac[6],
                     bool broadcast, const uint8_t ciaddr[4], const uint8_t req_ip[4],
                     const uint8_t server_id[4], size_t *len);

struct w5500_dhcp_config {
    uint32_t first_timeout_ms; /* first retransmission timeout; doubles up to 64 s (0: 4000);
                                * each wait is randomised by +-min(1 s, timeout / 4) */
    uint8_t attempts;          /* DISCOVERs/REQUESTs sent before giving up (0: 4) */
    bool skip_conflict_probe;  /* true: bind without the ARP probe of the offered address */
    uint8_t probe_arps;        /* ARP requests of the probe, RTR apart (RCR = probe_arps - 1 while
                                * it runs, then the configured RCR again); 0: the chip's RCR
                                * (RTR x (RCR + 1): 1.8 s with the defaults) */
};

enum w5500_dhcp_state {
    W5500_DHCP_S_IDLE = 0,
    W5500_DHCP_S_SELECTING,
    W5500_DHCP_S_REQUESTING,
    W5500_DHCP_S_CHECKING, /* ARP probe of the acknowledged address before using it */
    W5500_DHCP_S_BOUND,
    W5500_DHCP_S_RENEWING,
    W5500_DHCP_S_REBINDING,
    W5500_DHCP_S_FAILED,
    W5500_DHCP_S_RELEASING, /* RELEASE sent, waiting for it to leave */
};

/* The lease in force (valid while w5500_dhcp_poll returns W5500_OK). */
struct w5500_dhcp_lease {
    struct w5500_netcfg net;
    uint8_t dns[4]; /* 0.0.0.0 if the server named none */
    uint8_t server_id[4];
    uint32_t lease_s, t1_s, t2_s;
};

/* Client state; the caller owns it. Fields are private. */
struct w5500_dhcp {
    struct w5500_dev *dev;
    struct w5500_dhcp_config cfg;
    uint8_t sn;
    uint8_t state;
    uint8_t tries;          /* messages sent in the current exchange */
    uint8_t restarts;       /* back to SELECTING (NAK, or REQUESTs unanswered) since bound */
    uint8_t declines;       /* addresses declined (in use) since the last lease was bound */
    bool sock_open;
    bool probe_sent;        /* CHECKING: the ARP probe datagram has left */
    bool final_decline;     /* CHECKING: last DECLINE sent; fail with CONFLICT once it is out */
    bool probe_rcr_set;     /* CHECKING: RCR holds probe_arps - 1 until the probe ends */
    uint32_t xid;
    uint32_t rng;           /* retransmission jitter (RFC 2131 4.1: randomised by +-1 s) */
    uint32_t last_ms;       /* last clock reading */
    uint64_t now_ms;        /* monotonic, accumulated from the 32-bit clock */
    uint64_t t_retx;        /* next retransmission */
    uint32_t timeout_ms;
    uint64_t t_sent;        /* when the last REQUEST left: the lease counts from there */
    uint64_t t_bound;       /* start of the lease in force (RFC 2131 4.4.5) */
    int last_error;         /* why the last exchange failed (0: none) */
    uint32_t renewals;      /* leases renewed (for tests and logs) */
    struct w5500_dhcp_msg offer;
    struct w5500_dhcp_lease lease;
    uint8_t buf[W5500_DHCP_MSG_MAX];
};

/*
 * Start acquiring an address on socket sn; xid_seed should differ between boots and devices
 * (e.g. clock + MAC). Clears the chip's IP address. cfg may be NULL for defaults.
 */
int w5500_dhcp_start(struct w5500_dhcp *dhcp, struct w5500_dev *dev, uint8_t sn,
                     uint32_t xid_seed, const struct w5500_dhcp_config *cfg);

/*
 * Drive the client; call every main-loop pass. W5500_PENDING while no lease is held;
 * W5500_OK while bound (renewing/rebinding included: the address stays valid);
 * W5500_ERR_LEASE_LOST once when a lease ran out or was refused (the address is cleared;
 * acquisition restarts), and once when a renewal moved us to another address (the new one is
 * already configured: reconnect);
 * final (state FAILED, socket closed): W5500_ERR_GAVE_UP (no usable reply), W5500_ERR_NAK (the
 * server refused every REQUEST), W5500_ERR_CONFLICT (every acknowledged address answered ARP),
 * W5500_ERR_MALFORMED/MISMATCH (only bad replies came), W5500_ERR_NO_LINK, or a socket-layer
 * error.
 */
int w5500_dhcp_poll(struct w5500_dhcp *dhcp);

/* The client's state (enum w5500_dhcp_state), for logs and callers that restart it. */
uint8_t w5500_dhcp_state(const struct w5500_dhcp *dhcp);

/* Copy the lease in force; W5500_ERR_NOT_READY when none. */
int w5500_dhcp_get_lease(const struct w5500_dhcp *dhcp, struct w5500_dhcp_lease *lease);

/* Stop: close the socket. The address stays configured (static use from here on). */
int w5500_dhcp_stop(struct w5500_dhcp *dhcp);

/*
 * Give the lease back (RELEASE, unicast to the server) and clear the address. W5500_PENDING:
 * call w5500_dhcp_poll until it returns W5500_OK (state IDLE, socket closed). W5500_ERR_NOT_READY
 * if no lease is held.
 */
int w5500_dhcp_release(struct w5500_dhcp *dhcp);

#endif /* W5500_DHCP_H */
