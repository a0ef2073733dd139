/*
 * DHCP client: message builder, bounds-checked reply parser and the polled state machine.
 */
#include "w5500_dhcp.h"

#include <string.h>

#include "ota_util.h"

#define BOOTREQUEST 1u
#define BOOTREPLY 2u
#define HTYPE_ETHER 1u
#define FLAG_BROADCAST 0x8000u
#define OFF_XID 4u
#define OFF_FLAGS 10u
#define OFF_CIADDR 12u
#define OFF_YIADDR 16u
#define OFF_CHADDR 28u
#define OFF_COOKIE 236u
#define MIN_SEND_LEN 300u /* BOOTP minimum message size; some relays drop shorter ones */

#define OPT_PAD 0u
#define OPT_MASK 1u
#define OPT_ROUTER 3u
#define OPT_DNS 6u
#define OPT_REQ_IP 50u
#define OPT_LEASE 51u
#define OPT_MSG_TYPE 53u
#define OPT_SERVER_ID 54u
#define OPT_PARAM_REQ 55u
#define OPT_MAX_SIZE 57u
#define OPT_T1 58u
#define OPT_T2 59u
#define OPT_CLIENT_ID 61u
#define OPT_END 255u

#define LEASE_INFINITE 0xFFFFFFFFu
#define MAX_TIMEOUT_MS 64000u
#define RENEW_MIN_RETX_MS 60000u
#define DATAGRAMS_PER_POLL 4u
/* The probe normally ends in an ARP timeout (RTR x (RCR + 1), 1.8 s with chip defaults); if the
 * chip reports nothing for this long the probe is taken as unanswered. */
#define PROBE_GUARD_MS 30000u
#define DISCARD_PORT 9u

static const uint8_t cookie[4] = {99, 130, 83, 99};

/* ---- parser --------------------------------------------------------------------------------- */

static bool addr_usable(const uint8_t a[4])
{
    /* Not 0.x, not loopback, not multicast/reserved/broadcast. */
    return a[0] != 0 && a[0] != 127 && a[0] < 224;
}

static bool mask_ok(const uint8_t m[4])
{
    uint32_t v = ota_get_be32(m);
    uint32_t inv = ~v;
    /* Contiguous ones from the top: ~v + 1 is a power of two (or zero for /0, refused). */
    return v != 0 && (inv & (inv + 1u)) == 0;
}

int w5500_dhcp_parse(const uint8_t *msg, size_t len, uint32_t xid, const uint8_t mac[6],
                     struct w5500_dhcp_msg *out)
{
    OTA_VERIFY(msg != NULL && mac != NULL && out != NULL, W5500_ERR_ARG);
    memset(out, 0, sizeof *out);
    OTA_VERIFY(len >= W5500_DHCP_MIN_LEN, W5500_ERR_MALFORMED);
    OTA_VERIFY(msg[0] == BOOTREPLY, W5500_ERR_MISMATCH);
    OTA_VERIFY(msg[1] == HTYPE_ETHER && msg[2] == 6, W5500_ERR_MALFORMED);
    OTA_VERIFY(ota_get_be32(&msg[OFF_XID]) == xid, W5500_ERR_MISMATCH);
    OTA_VERIFY(memcmp(&msg[OFF_CHADDR], mac, 6) == 0, W5500_ERR_MISMATCH);
    OTA_VERIFY(memcmp(&msg[OFF_COOKIE], cookie, 4) == 0, W5500_ERR_MALFORMED);
    memcpy(out->yiaddr, &msg[OFF_YIADDR], 4);

    size_t pos = W5500_DHCP_MIN_LEN;
    bool end = false;
    while (pos < len) {
        uint8_t code = msg[pos];
        if (code == OPT_PAD) {
            pos++;
            continue;
        }
        if (code == OPT_END) {
            end = true;
            break;
        }
        OTA_VERIFY(pos + 1u < len, W5500_ERR_MALFORMED);
        uint8_t olen = msg[pos + 1u];
        OTA_VERIFY(ota_range_ok((uint32_t)pos + 2u, olen, (uint32_t)len), W5500_ERR_MALFORMED);
        const uint8_t *v = &msg[pos + 2u];
        switch (code) {
        case OPT_MSG_TYPE:
            OTA_VERIFY(olen == 1, W5500_ERR_MALFORMED);
            out->type = v[0];
            break;
        case OPT_MASK:
            OTA_VERIFY(olen == 4 && mask_ok(v), W5500_ERR_MALFORMED);
            memcpy(out->mask, v, 4);
            out->has_mask = true;
            break;
        case OPT_ROUTER:
        case OPT_DNS:
            OTA_VERIFY(olen >= 4 && olen % 4u == 0, W5500_ERR_MALFORMED);
            if (code == OPT_ROUTER) {
                memcpy(out->router, v, 4);
                out->has_router = true;
            } else {
                memcpy(out->dns, v, 4);
                out->has_dns = true;
            }
            break;
        case OPT_SERVER_ID:
            OTA_VERIFY(olen == 4, W5500_ERR_MALFORMED);
            memcpy(out->server_id, v, 4);
            out->has_server_id = true;
            break;
        case OPT_LEASE:
        case OPT_T1:
        case OPT_T2: {
            OTA_VERIFY(olen == 4, W5500_ERR_MALFORMED);
            uint32_t t = ota_get_be32(v);
            OTA_VERIFY(t != 0, W5500_ERR_MALFORMED);
            if (code == OPT_LEASE) {
                out->lease_s = t;
                out->has_lease = true;
            } else if (code == OPT_T1) {
                out->t1_s = t;
                out->has_t1 = true;
            } else {
                out->t2_s = t;
                out->has_t2 = true;
            }
            break;
        }
        default:
            break; /* other options are skipped by length */
        }
        pos += 2u + olen;
    }
    OTA_VERIFY(end, W5500_ERR_MALFORMED);
    switch (out->type) {
    case W5500_DHCP_OFFER:
    case W5500_DHCP_ACK:
        OTA_VERIFY(addr_usable(out->yiaddr), W5500_ERR_MALFORMED);
        OTA_VERIFY(out->has_server_id, W5500_ERR_MALFORMED);
        break;
    case W5500_DHCP_NAK:
        OTA_VERIFY(out->has_server_id, W5500_ERR_MALFORMED);
        break;
    default:
        return W5500_ERR_MALFORMED; /* missing, or not a server message */
    }
    return W5500_OK;
}

/* ---- builder -------------------------------------------------------------------------------- */

int w5500_dhcp_build(uint8_t *buf, size_t cap, uint8_t type, uint32_t xid, const uint8_t mac[6],
                     bool broadcast, const uint8_t ciaddr[4], const uint8_t req_ip[4],
                     const uint8_t server_id[4], size_t *len)
{
    OTA_VERIFY(buf != NULL && mac != NULL && len != NULL, W5500_ERR_ARG);
    OTA_VERIFY(type == W5500_DHCP_DISCOVER || type == W5500_DHCP_REQUEST ||
                   type == W5500_DHCP_DECLINE || type == W5500_DHCP_RELEASE,
               W5500_ERR_ARG);
    OTA_VERIFY(cap >= MIN_SEND_LEN, W5500_ERR_ARG);
    static const uint8_t params[] = {OPT_MASK,      OPT_ROUTER, OPT_DNS, OPT_LEASE,
                                     OPT_SERVER_ID, OPT_T1,     OPT_T2};
    memset(buf, 0, MIN_SEND_LEN);
    buf[0] = BOOTREQUEST;
    buf[1] = HTYPE_ETHER;
    buf[2] = 6;
    ota_put_be32(&buf[OFF_XID], xid);
    ota_put_be16(&buf[OFF_FLAGS], broadcast ? FLAG_BROADCAST : 0u);
    if (ciaddr != NULL) {
        memcpy(&buf[OFF_CIADDR], ciaddr, 4);
    }
    memcpy(&buf[OFF_CHADDR], mac, 6);
    memcpy(&buf[OFF_COOKIE], cookie, 4);
    size_t p = W5500_DHCP_MIN_LEN;
    buf[p++] = OPT_MSG_TYPE;
    buf[p++] = 1;
    buf[p++] = type;
    buf[p++] = OPT_CLIENT_ID;
    buf[p++] = 7;
    buf[p++] = HTYPE_ETHER;
    memcpy(&buf[p], mac, 6);
    p += 6;
    if (req_ip != NULL) {
        buf[p++] = OPT_REQ_IP;
        buf[p++] = 4;
        memcpy(&buf[p], req_ip, 4);
        p += 4;
    }
    if (server_id != NULL) {
        buf[p++] = OPT_SERVER_ID;
        buf[p++] = 4;
        memcpy(&buf[p], server_id, 4);
        p += 4;
    }
    buf[p++] = OPT_MAX_SIZE;
    buf[p++] = 2;
    ota_put_be16(&buf[p], (uint16_t)W5500_DHCP_MSG_MAX);
    p += 2;
    buf[p++] = OPT_PARAM_REQ;
    buf[p++] = (uint8_t)sizeof params;
    memcpy(&buf[p], params, sizeof params);
    p += sizeof params;
    buf[p++] = OPT_END;
    OTA_ASSERT(p <= MIN_SEND_LEN);
    *len = MIN_SEND_LEN;
    return W5500_OK;
}

/* ---- state machine -------------------------------------------------------------------------- */

static const uint8_t ip_bcast[4] = {255, 255, 255, 255};

static void dhcp_tick(struct w5500_dhcp *d)
{
    const struct w5500_port *p = d->dev->port;
    uint32_t now = p->millis(p->ctx);
    d->now_ms += (uint32_t)(now - d->last_ms);
    d->last_ms = now;
}

static void next_xid(struct w5500_dhcp *d)
{
    d->xid = d->xid * 1664525u + 1013904223u;
}

static int dhcp_sock_open(struct w5500_dhcp *d)
{
    if (!d->sock_open) {
        OTA_TRY(w5500_udp_open(d->dev, d->sn, W5500_DHCP_CLIENT_PORT));
        d->sock_open = true;
    }
    return W5500_OK;
}

static int dhcp_sock_close(struct w5500_dhcp *d)
{
    if (!d->sock_open) {
        return W5500_OK;
    }
    d->sock_open = false;
    return w5500_sock_close(d->dev, d->sn);
}

/* The probe is over (answered, timed out or failed): the configured RCR again. */
static int dhcp_probe_end(struct w5500_dhcp *d)
{
    if (!d->probe_rcr_set) {
        return W5500_OK;
    }
    d->probe_rcr_set = false;
    return w5500_restore_retry_count(d->dev);
}

static int dhcp_fail(struct w5500_dhcp *d, int status)
{
    (void)dhcp_probe_end(d); /* best effort: the failure reported is the first one */
    int rc = dhcp_sock_close(d);
    d->state = W5500_DHCP_S_FAILED;
    d->last_error = (rc != W5500_OK) ? rc : status;
    return d->last_error;
}

static uint64_t lease_deadline(const struct w5500_dhcp *d, uint32_t s)
{
    return d->t_bound + (uint64_t)s * 1000u;
}

/* Send the message the current state calls for and arm the retransmission timer. */
static int dhcp_transmit(struct w5500_dhcp *d)
{
    size_t len = 0;
    const uint8_t *dst = ip_bcast;
    int rc;
    uint8_t mac[6];
    w5500_get_mac(d->dev, mac);
    switch (d->state) {
    case W5500_DHCP_S_SELECTING:
        rc = w5500_dhcp_build(d->buf, sizeof d->buf, W5500_DHCP_DISCOVER, d->xid, mac, true, NULL,
                              NULL, NULL, &len);
        break;
    case W5500_DHCP_S_REQUESTING:
        rc = w5500_dhcp_build(d->buf, sizeof d->buf, W5500_DHCP_REQUEST, d->xid, mac, true, NULL,
                              d->offer.yiaddr, d->offer.server_id, &len);
        break;
    case W5500_DHCP_S_RENEWING:
        dst = d->lease.server_id;
        rc = w5500_dhcp_build(d->buf, sizeof d->buf, W5500_DHCP_REQUEST, d->xid, mac, false,
                              d->lease.net.ip, NULL, NULL, &len);
        break;
    case W5500_DHCP_S_REBINDING:
        rc = w5500_dhcp_build(d->buf, sizeof d->buf, W5500_DHCP_REQUEST, d->xid, mac, false,
                              d->lease.net.ip, NULL, NULL, &len);
        break;
    default:
        return W5500_ERR_SOCK_STATE;
    }
    OTA_TRY(rc);
    OTA_TRY(dhcp_sock_open(d));
    rc = w5500_udp_sendto(d->dev, d->sn, d->buf, len, dst, W5500_DHCP_SERVER_PORT);
    if (rc == W5500_PENDING) {
        d->t_retx = d->now_ms; /* the previous datagram is still leaving: retry next pass */
        return W5500_OK;
    }
    OTA_TRY(rc);
    d->tries++;
    d->t_sent = d->now_ms;
    if (d->state == W5500_DHCP_S_SELECTING || d->state == W5500_DHCP_S_REQUESTING) {
        /* Jitter keeps a fleet that lost power together from retrying in lock-step. */
        uint32_t j = d->timeout_ms / 4u < 1000u ? d->timeout_ms / 4u : 1000u;
        d->rng = d->rng * 1103515245u + 12345u;
        uint32_t r = (d->rng >> 8) % (2u * j + 1u);
        d->t_retx = d->now_ms + d->timeout_ms - j + r;
        d->timeout_ms = d->timeout_ms * 2u > MAX_TIMEOUT_MS ? MAX_TIMEOUT_MS : d->timeout_ms * 2u;
    } else {
        /* RFC 2131 4.4.5: half the time left to T2 (or lease end), at least 60 s, capped. */
        uint64_t limit = lease_deadline(d, d->state == W5500_DHCP_S_RENEWING ? d->lease.t2_s
                                                                             : d->lease.lease_s);
        uint64_t left = limit > d->now_ms ? limit - d->now_ms : 0;
        uint64_t wait = left / 2u < RENEW_MIN_RETX_MS ? RENEW_MIN_RETX_MS : left / 2u;
        d->t_retx = d->now_ms + (wait < left ? wait : left);
    }
    return W5500_OK;
}

static int dhcp_begin(struct w5500_dhcp *d, uint8_t state)
{
    d->state = state;
    d->tries = 0;
    d->timeout_ms = d->cfg.first_timeout_ms;
    if (state == W5500_DHCP_S_SELECTING) {
        next_xid(d);
    }
    return dhcp_transmit(d);
}

static int dhcp_restart(struct w5500_dhcp *d)
{
    static const struct w5500_netcfg none;
    memset(&d->lease, 0, sizeof d->lease);
    OTA_TRY(w5500_set_netcfg(d->dev, &none));
    return dhcp_begin(d, W5500_DHCP_S_SELECTING);
}

static int dhcp_bind(struct w5500_dhcp *d, const struct w5500_dhcp_msg *ack)
{
    struct w5500_dhcp_lease l;
    memset(&l, 0, sizeof l);
    memcpy(l.net.ip, ack->yiaddr, 4);
    if (ack->has_mask) {
        memcpy(l.net.mask, ack->mask, 4);
    } else {
        static const uint8_t m24[4] = {255, 255, 255, 0};
        memcpy(l.net.mask, m24, 4);
    }
    if (ack->has_router) {
        memcpy(l.net.gateway, ack->router, 4);
    }
    if (ack->has_dns) {
        memcpy(l.dns, ack->dns, 4);
    }
    memcpy(l.server_id, ack->server_id, 4);
    l.lease_s = ack->has_lease ? ack->lease_s : LEASE_INFINITE;
    if (l.lease_s != LEASE_INFINITE) {
        l.t1_s = ack->has_t1 ? ack->t1_s : l.lease_s / 2u;
        l.t2_s = ack->has_t2 ? ack->t2_s : (uint32_t)(((uint64_t)l.lease_s * 7u) / 8u);
        if (!(l.t1_s < l.t2_s && l.t2_s < l.lease_s)) {
            l.t1_s = l.lease_s / 2u;
            l.t2_s = (uint32_t)(((uint64_t)l.lease_s * 7u) / 8u);
        }
    }
    OTA_TRY(w5500_set_netcfg(d->dev, &l.net));
    d->lease = l;
    d->t_bound = d->t_sent; /* the lease runs from when the REQUEST was sent */
    d->restarts = 0;
    d->declines = 0;
    d->last_error = 0;
    d->state = W5500_DHCP_S_BOUND;
    return dhcp_sock_close(d);
}

int w5500_dhcp_start(struct w5500_dhcp *dhcp, struct w5500_dev *dev, uint8_t sn,
                     uint32_t xid_seed, const struct w5500_dhcp_config *cfg)
{
    OTA_VERIFY(dhcp != NULL && dev != NULL, W5500_ERR_ARG);
    OTA_VERIFY(w5500_ready(dev), W5500_ERR_NOT_READY);
    OTA_VERIFY(sn < W5500_NUM_SOCKETS, W5500_ERR_SOCKNUM);
    memset(dhcp, 0, sizeof *dhcp);
    dhcp->dev = dev;
    dhcp->sn = sn;
    dhcp->xid = xid_seed;
    dhcp->rng = xid_seed ^ 0x5bd1e995u;
    if (cfg != NULL) {
        dhcp->cfg = *cfg;
    }
    if (dhcp->cfg.first_timeout_ms == 0) {
        dhcp->cfg.first_timeout_ms = 4000;
    }
    if (dhcp->cfg.attempts == 0) {
        dhcp->cfg.attempts = 4;
    }
    dhcp->last_ms = dev->port->millis(dev->port->ctx);
    int rc = dhcp_restart(dhcp);
    if (rc != W5500_OK) {
        return dhcp_fail(dhcp, rc);
    }
    return W5500_OK;
}

/* Handle one reply; returns a status to hand to the caller, or W5500_PENDING to carry on. */
static int dhcp_handle(struct w5500_dhcp *d, const struct w5500_dhcp_msg *m)
{
    switch (d->state) {
    case W5500_DHCP_S_SELECTING:
        if (m->type != W5500_DHCP_OFFER) {
            return W5500_PENDING;
        }
        d->offer = *m;
        OTA_TRY(dhcp_begin(d, W5500_DHCP_S_REQUESTING));
        return W5500_PENDING;
    case W5500_DHCP_S_REQUESTING:
        if (memcmp(m->server_id, d->offer.server_id, 4) != 0) {
            d->last_error = W5500_ERR_MISMATCH; /* another server's answer */
            return W5500_PENDING;
        }
        if (m->type == W5500_DHCP_ACK) {
            if (d->cfg.skip_conflict_probe) {
                OTA_TRY(dhcp_bind(d, m));
                return W5500_OK;
            }
            d->offer = *m; /* the ACK, kept until the probe says the address is free */
            d->state = W5500_DHCP_S_CHECKING;
            d->probe_sent = false;
            d->final_decline = false;
            d->t_retx = d->now_ms + PROBE_GUARD_MS;
            return W5500_PENDING;
        }
        if (m->type == W5500_DHCP_NAK) {
            d->last_error = W5500_ERR_NAK;
            if (++d->restarts >= d->cfg.attempts) {
                return dhcp_fail(d, W5500_ERR_NAK);
            }
            OTA_TRY(dhcp_begin(d, W5500_DHCP_S_SELECTING));
        }
        return W5500_PENDING;
    case W5500_DHCP_S_RENEWING:
    case W5500_DHCP_S_REBINDING:
        if (m->type == W5500_DHCP_ACK) {
            bool moved = memcmp(m->yiaddr, d->lease.net.ip, 4) != 0;
            OTA_TRY(dhcp_bind(d, m));
            d->renewals++;
            /* A new address on renewal: connections on the old one are gone; say so once. */
            return moved ? W5500_ERR_LEASE_LOST : W5500_OK;
        }
        if (m->type == W5500_DHCP_NAK) {
            d->last_error = W5500_ERR_NAK;
            OTA_TRY(dhcp_restart(d));
            return W5500_ERR_LEASE_LOST;
        }
        return W5500_PENDING;
    default:
        return W5500_PENDING;
    }
}

static int dhcp_receive(struct w5500_dhcp *d)
{
    uint8_t mac[6];
    w5500_get_mac(d->dev, mac);
    for (unsigned i = 0; i < DATAGRAMS_PER_POLL && d->sock_open; i++) {
        size_t got = 0;
        uint16_t from_port = 0;
        int rc = w5500_udp_recvfrom(d->dev, d->sn, d->buf, sizeof d->buf, &got, NULL, &from_port);
        if (rc == W5500_PENDING) {
            break;
        }
        if (rc == W5500_ERR_TRUNCATED || rc == W5500_ERR_BAD_FRAME) {
            d->last_error = W5500_ERR_MALFORMED;
            continue;
        }
        OTA_TRY(rc);
        if (from_port != W5500_DHCP_SERVER_PORT) {
            continue;
        }
        struct w5500_dhcp_msg m;
        rc = w5500_dhcp_parse(d->buf, got, d->xid, mac, &m);
        if (rc != W5500_OK) {
            d->last_error = rc; /* not ours or hostile: ignore */
            continue;
        }
        rc = dhcp_handle(d, &m);
        if (rc != W5500_PENDING) {
            return rc;
        }
    }
    return W5500_PENDING;
}

static int dhcp_status(const struct w5500_dhcp *d)
{
    switch (d->state) {
    case W5500_DHCP_S_BOUND:
    case W5500_DHCP_S_RENEWING:
    case W5500_DHCP_S_REBINDING:
        return W5500_OK;
    case W5500_DHCP_S_FAILED:
        return d->last_error;
    case W5500_DHCP_S_IDLE:
        return W5500_ERR_NOT_READY;
    default:
        return W5500_PENDING;
    }
}

/*
 * RFC 2131 4.4.1: probe the acknowledged address before using it. With SIPR still 0.0.0.0 a UDP
 * send to that address makes the chip ARP for it: TIMEOUT means nobody answered (free), SEND_OK
 * means some host owns it (DECLINE, then DISCOVER again after first_timeout_ms).
 */
static int dhcp_check(struct w5500_dhcp *d)
{
    if (d->final_decline) {
        int rc = w5500_udp_send_poll(d->dev, d->sn);
        return rc == W5500_PENDING ? W5500_PENDING : dhcp_fail(d, W5500_ERR_CONFLICT);
    }
    if (!d->probe_sent) {
        if (d->cfg.probe_arps != 0 && !d->probe_rcr_set) {
            int rc = w5500_set_retry_count(d->dev, (uint8_t)(d->cfg.probe_arps - 1u));
            d->probe_rcr_set = true; /* restored even if the write failed half-way */
            if (rc != W5500_OK) {
                return dhcp_fail(d, rc);
            }
        }
        static const uint8_t probe[1] = {0};
        int rc = w5500_udp_sendto(d->dev, d->sn, probe, sizeof probe, d->offer.yiaddr,
                                  DISCARD_PORT);
        if (rc == W5500_PENDING) {
            return W5500_PENDING;
        }
        if (rc != W5500_OK) {
            return dhcp_fail(d, rc);
        }
        d->probe_sent = true;
        return W5500_PENDING;
    }
    int rc = w5500_udp_send_poll(d->dev, d->sn);
    bool free_addr = rc == W5500_ERR_TIMEOUT || (rc == W5500_PENDING && d->now_ms >= d->t_retx);
    if (free_addr) {
        rc = dhcp_probe_end(d);
        if (rc != W5500_OK) {
            return dhcp_fail(d, rc);
        }
        struct w5500_dhcp_msg ack = d->offer;
        rc = dhcp_bind(d, &ack);
        return rc == W5500_OK ? W5500_OK : dhcp_fail(d, rc);
    }
    if (rc == W5500_PENDING) {
        return W5500_PENDING;
    }
    int end_rc = dhcp_probe_end(d);
    if (rc != W5500_OK) {
        return dhcp_fail(d, rc);
    }
    if (end_rc != W5500_OK) {
        return dhcp_fail(d, end_rc);
    }
    /* SEND_OK: the ARP was answered, the address is taken. */
    d->last_error = W5500_ERR_CONFLICT;
    uint8_t mac[6];
    w5500_get_mac(d->dev, mac);
    size_t len = 0;
    rc = w5500_dhcp_build(d->buf, sizeof d->buf, W5500_DHCP_DECLINE, d->xid, mac, false, NULL,
                          d->offer.yiaddr, d->offer.server_id, &len);
    if (rc == W5500_OK) {
        rc = w5500_udp_sendto(d->dev, d->sn, d->buf, len, ip_bcast, W5500_DHCP_SERVER_PORT);
    }
    if (rc != W5500_OK) {
        return dhcp_fail(d, rc);
    }
    if (++d->declines >= d->cfg.attempts) {
        /* Give up, but only once the DECLINE has left (closing the socket could cut it off), so
         * the server does not offer that address again. */
        d->final_decline = true;
        return W5500_PENDING;
    }
    /* Back to SELECTING; the DISCOVER goes out when the timer fires. */
    d->state = W5500_DHCP_S_SELECTING;
    next_xid(d);
    d->tries = 0;
    d->timeout_ms = d->cfg.first_timeout_ms;
    d->t_retx = d->now_ms + d->cfg.first_timeout_ms;
    return W5500_PENDING;
}

uint8_t w5500_dhcp_state(const struct w5500_dhcp *dhcp)
{
    return dhcp != NULL ? dhcp->state : (uint8_t)W5500_DHCP_S_IDLE;
}

int w5500_dhcp_poll(struct w5500_dhcp *dhcp)
{
    OTA_VERIFY(dhcp != NULL && dhcp->dev != NULL, W5500_ERR_ARG);
    struct w5500_dhcp *d = dhcp;
    if (d->state == W5500_DHCP_S_FAILED || d->state == W5500_DHCP_S_IDLE) {
        return dhcp_status(d);
    }
    dhcp_tick(d);
    if (d->state == W5500_DHCP_S_CHECKING) {
        return dhcp_check(d);
    }
    if (d->state == W5500_DHCP_S_RELEASING) {
        int rc = w5500_udp_send_poll(d->dev, d->sn);
        if (rc == W5500_PENDING) {
            return W5500_PENDING;
        }
        /* Sent or not (ARP for the server failed), the lease is given up locally; the address
         * goes only now, so the RELEASE left from it. */
        static const struct w5500_netcfg none;
        memset(&d->lease, 0, sizeof d->lease);
        rc = dhcp_sock_close(d);
        if (rc == W5500_OK) {
            rc = w5500_set_netcfg(d->dev, &none);
        }
        if (rc != W5500_OK) {
            return dhcp_fail(d, rc);
        }
        d->state = W5500_DHCP_S_IDLE;
        d->last_error = 0;
        return W5500_OK;
    }

    if (d->sock_open) {
        int rc = w5500_udp_send_poll(d->dev, d->sn);
        if (rc == W5500_ERR_TIMEOUT) {
            d->last_error = W5500_ERR_TIMEOUT; /* unicast renewal: server unreachable */
        } else if (rc != W5500_OK && rc != W5500_PENDING) {
            return dhcp_fail(d, rc);
        }
        rc = dhcp_receive(d);
        if (rc < 0 && rc != W5500_ERR_LEASE_LOST) {
            return dhcp_fail(d, rc);
        }
        if (rc != W5500_PENDING) {
            return rc;
        }
    }

    bool leased = d->state == W5500_DHCP_S_BOUND || d->state == W5500_DHCP_S_RENEWING ||
                  d->state == W5500_DHCP_S_REBINDING;
    if (leased && d->lease.lease_s != LEASE_INFINITE) {
        int rc = W5500_OK;
        if (d->now_ms >= lease_deadline(d, d->lease.lease_s)) {
            d->last_error = W5500_ERR_LEASE_LOST;
            rc = dhcp_sock_close(d);
            if (rc == W5500_OK) {
                rc = dhcp_restart(d);
            }
            return rc == W5500_OK ? W5500_ERR_LEASE_LOST : dhcp_fail(d, rc);
        }
        if (d->state != W5500_DHCP_S_REBINDING &&
            d->now_ms >= lease_deadline(d, d->lease.t2_s)) {
            rc = dhcp_begin(d, W5500_DHCP_S_REBINDING);
        } else if (d->state == W5500_DHCP_S_BOUND &&
                   d->now_ms >= lease_deadline(d, d->lease.t1_s)) {
            next_xid(d);
            rc = dhcp_begin(d, W5500_DHCP_S_RENEWING);
        } else if (d->state != W5500_DHCP_S_BOUND && d->now_ms >= d->t_retx) {
            rc = dhcp_transmit(d);
        }
        return rc == W5500_OK ? W5500_OK : dhcp_fail(d, rc);
    }
    if (leased) {
        return W5500_OK;
    }

    /* Selecting or requesting. */
    if (d->now_ms < d->t_retx) {
        return W5500_PENDING;
    }
    if (d->tries >= d->cfg.attempts) {
        if (d->state == W5500_DHCP_S_REQUESTING && ++d->restarts < d->cfg.attempts) {
            /* RFC 2131 3.1: neither ACK nor NAK after the retransmissions: start over. */
            int rc = dhcp_begin(d, W5500_DHCP_S_SELECTING);
            return rc == W5500_OK ? W5500_PENDING : dhcp_fail(d, rc);
        }
        return dhcp_fail(d, d->last_error != 0 ? d->last_error : W5500_ERR_GAVE_UP);
    }
    bool up = false;
    int rc = w5500_link_get(d->dev, &up);
    if (rc != W5500_OK) {
        return dhcp_fail(d, rc);
    }
    if (!up) {
        return dhcp_fail(d, W5500_ERR_NO_LINK);
    }
    rc = dhcp_transmit(d);
    return rc == W5500_OK ? W5500_PENDING : dhcp_fail(d, rc);
}

int w5500_dhcp_get_lease(const struct w5500_dhcp *dhcp, struct w5500_dhcp_lease *lease)
{
    OTA_VERIFY(dhcp != NULL && lease != NULL, W5500_ERR_ARG);
    OTA_VERIFY(dhcp_status(dhcp) == W5500_OK, W5500_ERR_NOT_READY);
    *lease = dhcp->lease;
    return W5500_OK;
}

int w5500_dhcp_release(struct w5500_dhcp *dhcp)
{
    OTA_VERIFY(dhcp != NULL && dhcp->dev != NULL, W5500_ERR_ARG);
    struct w5500_dhcp *d = dhcp;
    OTA_VERIFY(dhcp_status(d) == W5500_OK, W5500_ERR_NOT_READY);
    uint8_t mac[6];
    w5500_get_mac(d->dev, mac);
    struct w5500_dhcp_lease l = d->lease;
    next_xid(d);
    size_t len = 0;
    int rc = w5500_dhcp_build(d->buf, sizeof d->buf, W5500_DHCP_RELEASE, d->xid, mac, false,
                              l.net.ip, NULL, l.server_id, &len);
    if (rc == W5500_OK) {
        rc = dhcp_sock_open(d);
    }
    if (rc == W5500_OK) {
        rc = w5500_udp_sendto(d->dev, d->sn, d->buf, len, l.server_id, W5500_DHCP_SERVER_PORT);
    }
    if (rc != W5500_OK) {
        return dhcp_fail(d, rc == W5500_PENDING ? W5500_ERR_SOCK_STATE : rc);
    }
    d->state = W5500_DHCP_S_RELEASING;
    return W5500_PENDING;
}

int w5500_dhcp_stop(struct w5500_dhcp *dhcp)
{
    OTA_VERIFY(dhcp != NULL && dhcp->dev != NULL, W5500_ERR_ARG);
    int probe_rc = dhcp_probe_end(dhcp);
    int rc = dhcp_sock_close(dhcp);
    dhcp->state = W5500_DHCP_S_IDLE;
    return rc != W5500_OK ? rc : probe_rc;
}
