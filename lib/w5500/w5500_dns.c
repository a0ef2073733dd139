/*
 * DNS A-record resolver: query builder, bounds-checked reply parser and a polled retry loop.
 */
#include "w5500_dns.h"

#include <string.h>

#include "ota_util.h"

#define DNS_HDR_LEN 12u
#define DNS_TYPE_A 1u
#define DNS_TYPE_CNAME 5u
#define DNS_CLASS_IN 1u
#define DNS_FLAG_QR 0x8000u
#define DNS_FLAG_TC 0x0200u
#define DNS_FLAG_RD 0x0100u
#define DNS_OPCODE_MASK 0x7800u
#define DNS_RCODE_MASK 0x000Fu
#define DNS_RCODE_NXDOMAIN 3u
#define DNS_RR_FIXED 10u /* type, class, ttl, rdlength */

/* strnlen is POSIX, not C11. */
static size_t bounded_len(const char *s, size_t max)
{
    size_t n = 0;
    while (n < max && s[n] != '\0') {
        n++;
    }
    return n;
}

static uint8_t lower(uint8_t c)
{
    return (c >= 'A' && c <= 'Z') ? (uint8_t)(c + ('a' - 'A')) : c;
}

int w5500_dns_name_to_wire(const char *name, uint8_t wire[W5500_DNS_WIRE_MAX])
{
    OTA_VERIFY(name != NULL && wire != NULL, W5500_ERR_ARG);
    size_t n = bounded_len(name, W5500_DNS_NAME_MAX + 2u);
    if (n > 0 && name[n - 1] == '.') {
        n--;
    }
    OTA_VERIFY(n > 0 && n <= W5500_DNS_NAME_MAX, W5500_ERR_ARG);
    size_t out = 0;
    size_t i = 0;
    while (i < n) {
        size_t start = i;
        while (i < n && name[i] != '.') {
            uint8_t c = (uint8_t)name[i];
            bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                      c == '-' || c == '_';
            OTA_VERIFY(ok, W5500_ERR_ARG);
            i++;
        }
        size_t lab = i - start;
        OTA_VERIFY(lab >= 1 && lab <= 63, W5500_ERR_ARG);
        wire[out++] = (uint8_t)lab;
        for (size_t k = 0; k < lab; k++) {
            wire[out++] = lower((uint8_t)name[start + k]);
        }
        if (i < n) {
            i++; /* the dot */
            OTA_VERIFY(i < n, W5500_ERR_ARG); /* "a..b" or a dot at the end of a label run */
        }
    }
    wire[out++] = 0;
    OTA_ASSERT(out <= W5500_DNS_WIRE_MAX);
    return (int)out;
}

int w5500_dns_build_query(uint8_t *buf, size_t cap, uint16_t id, const char *name, size_t *len)
{
    OTA_VERIFY(buf != NULL && len != NULL, W5500_ERR_ARG);
    uint8_t wire[W5500_DNS_WIRE_MAX];
    int wl = w5500_dns_name_to_wire(name, wire);
    if (wl < 0) {
        return wl;
    }
    size_t need = DNS_HDR_LEN + (size_t)wl + 4u;
    OTA_VERIFY(cap >= need, W5500_ERR_ARG);
    memset(buf, 0, DNS_HDR_LEN);
    ota_put_be16(&buf[0], id);
    ota_put_be16(&buf[2], DNS_FLAG_RD);
    ota_put_be16(&buf[4], 1); /* QDCOUNT */
    memcpy(&buf[DNS_HDR_LEN], wire, (size_t)wl);
    ota_put_be16(&buf[DNS_HDR_LEN + (size_t)wl], DNS_TYPE_A);
    ota_put_be16(&buf[DNS_HDR_LEN + (size_t)wl + 2u], DNS_CLASS_IN);
    *len = need;
    return W5500_OK;
}

/*
 * Expand the (possibly compressed) name at off into wire form, lower case. *next is the offset
 * just past the name where it appears (not where a pointer led). Every pointer must point before
 * the start of the label run that contains it, so the walk always terminates; the hop count and
 * the 255-byte limit are belts and braces.
 */
static int dns_name_read(const uint8_t *msg, size_t len, size_t off, uint8_t out[W5500_DNS_WIRE_MAX],
                         size_t *out_len, size_t *next)
{
    size_t pos = off;
    size_t run_start = off;
    size_t n = 0;
    bool jumped = false;
    unsigned hops = 0;
    for (;;) {
        OTA_VERIFY(pos < len, W5500_ERR_MALFORMED);
        uint8_t c = msg[pos];
        if (c == 0) {
            OTA_VERIFY(n + 1u <= W5500_DNS_WIRE_MAX, W5500_ERR_MALFORMED);
            out[n++] = 0;
            if (!jumped) {
                *next = pos + 1u;
            }
            *out_len = n;
            return W5500_OK;
        }
        if ((c & 0xC0u) == 0xC0u) {
            OTA_VERIFY(pos + 1u < len, W5500_ERR_MALFORMED);
            size_t ptr = ((size_t)(c & 0x3Fu) << 8) | msg[pos + 1u];
            OTA_VERIFY(ptr < run_start, W5500_ERR_MALFORMED);
            OTA_VERIFY(++hops <= W5500_DNS_MAX_PTR_HOPS, W5500_ERR_MALFORMED);
            if (!jumped) {
                *next = pos + 2u;
                jumped = true;
            }
            pos = ptr;
            run_start = ptr;
            continue;
        }
        OTA_VERIFY((c & 0xC0u) == 0, W5500_ERR_MALFORMED); /* 0x40/0x80 label types */
        OTA_VERIFY(ota_range_ok((uint32_t)pos + 1u, c, (uint32_t)len), W5500_ERR_MALFORMED);
        /* keep room for the root label */
        OTA_VERIFY(n + 1u + c + 1u <= W5500_DNS_WIRE_MAX, W5500_ERR_MALFORMED);
        out[n++] = c;
        for (size_t k = 0; k < c; k++) {
            out[n++] = lower(msg[pos + 1u + k]);
        }
        pos += 1u + c;
    }
}

struct dns_rr {
    uint16_t name_off;
    uint16_t type;
    uint16_t class_;
    uint16_t rdoff;
    uint16_t rdlen;
    uint32_t ttl;
};

static bool name_eq(const uint8_t *a, size_t al, const uint8_t *b, size_t bl)
{
    return al == bl && memcmp(a, b, al) == 0;
}

int w5500_dns_parse_response(const uint8_t *msg, size_t len, uint16_t id, const char *name,
                             uint8_t ip[4], uint32_t *ttl)
{
    OTA_VERIFY(msg != NULL && ip != NULL, W5500_ERR_ARG);
    uint8_t target[W5500_DNS_WIRE_MAX];
    int tl = w5500_dns_name_to_wire(name, target);
    if (tl < 0) {
        return tl;
    }
    size_t target_len = (size_t)tl;
    OTA_VERIFY(len >= DNS_HDR_LEN && len <= 0xFFFFu, W5500_ERR_MALFORMED);
    OTA_VERIFY(ota_get_be16(&msg[0]) == id, W5500_ERR_MISMATCH);
    uint16_t flags = ota_get_be16(&msg[2]);
    OTA_VERIFY((flags & DNS_FLAG_QR) != 0, W5500_ERR_MALFORMED);
    OTA_VERIFY((flags & DNS_OPCODE_MASK) == 0, W5500_ERR_MALFORMED);
    OTA_VERIFY((flags & DNS_FLAG_TC) == 0, W5500_ERR_DNS_TRUNC);
    uint16_t rcode = (uint16_t)(flags & DNS_RCODE_MASK);
    OTA_VERIFY(rcode != DNS_RCODE_NXDOMAIN, W5500_ERR_NXDOMAIN);
    OTA_VERIFY(rcode == 0, W5500_ERR_SERVFAIL);
    OTA_VERIFY(ota_get_be16(&msg[4]) == 1, W5500_ERR_MALFORMED);
    uint16_t ancount = ota_get_be16(&msg[6]);

    /* Question: must be exactly ours. */
    uint8_t tmp[W5500_DNS_WIRE_MAX];
    size_t tmp_len = 0;
    size_t pos = DNS_HDR_LEN;
    OTA_TRY(dns_name_read(msg, len, pos, tmp, &tmp_len, &pos));
    OTA_VERIFY(ota_range_ok((uint32_t)pos, 4, (uint32_t)len), W5500_ERR_MALFORMED);
    OTA_VERIFY(name_eq(tmp, tmp_len, target, target_len), W5500_ERR_MISMATCH);
    OTA_VERIFY(ota_get_be16(&msg[pos]) == DNS_TYPE_A && ota_get_be16(&msg[pos + 2u]) == DNS_CLASS_IN,
               W5500_ERR_MISMATCH);
    pos += 4u;

    /* An RR is at least 11 bytes (root name + fixed part): a count that cannot fit is a lie. */
    OTA_VERIFY((size_t)ancount * (DNS_RR_FIXED + 1u) <= len - pos, W5500_ERR_MALFORMED);
    struct dns_rr rr[W5500_DNS_MAX_RR];
    size_t nrr = 0;
    for (uint16_t i = 0; i < ancount; i++) {
        size_t name_off = pos;
        OTA_TRY(dns_name_read(msg, len, pos, tmp, &tmp_len, &pos));
        OTA_VERIFY(ota_range_ok((uint32_t)pos, DNS_RR_FIXED, (uint32_t)len), W5500_ERR_MALFORMED);
        uint16_t rdlen = ota_get_be16(&msg[pos + 8u]);
        OTA_VERIFY(ota_range_ok((uint32_t)pos + DNS_RR_FIXED, rdlen, (uint32_t)len),
                   W5500_ERR_MALFORMED);
        if (nrr < W5500_DNS_MAX_RR) {
            rr[nrr].name_off = (uint16_t)name_off;
            rr[nrr].type = ota_get_be16(&msg[pos]);
            rr[nrr].class_ = ota_get_be16(&msg[pos + 2u]);
            rr[nrr].ttl = ota_get_be32(&msg[pos + 4u]);
            rr[nrr].rdoff = (uint16_t)(pos + DNS_RR_FIXED);
            rr[nrr].rdlen = rdlen;
            nrr++;
        }
        pos += DNS_RR_FIXED + rdlen;
    }

    /* Follow the chain from the question name: an A for the current name wins, a CNAME moves. */
    for (unsigned hop = 0; hop <= W5500_DNS_MAX_CNAME; hop++) {
        const struct dns_rr *cname = NULL;
        for (size_t i = 0; i < nrr; i++) {
            size_t dummy = 0;
            if (rr[i].class_ != DNS_CLASS_IN ||
                (rr[i].type != DNS_TYPE_A && rr[i].type != DNS_TYPE_CNAME)) {
                continue;
            }
            OTA_TRY(dns_name_read(msg, len, rr[i].name_off, tmp, &tmp_len, &dummy));
            if (!name_eq(tmp, tmp_len, target, target_len)) {
                continue;
            }
            if (rr[i].type == DNS_TYPE_A) {
                OTA_VERIFY(rr[i].rdlen == 4, W5500_ERR_MALFORMED);
                const uint8_t *a = &msg[rr[i].rdoff];
                bool zero = (a[0] | a[1] | a[2] | a[3]) == 0;
                bool bcast = (a[0] & a[1] & a[2] & a[3]) == 0xFF;
                OTA_VERIFY(!zero && !bcast, W5500_ERR_MALFORMED);
                memcpy(ip, a, 4);
                if (ttl != NULL) {
                    *ttl = rr[i].ttl;
                }
                return W5500_OK;
            }
            if (cname == NULL) {
                cname = &rr[i];
            }
        }
        if (cname == NULL) {
            return W5500_ERR_NO_ANSWER;
        }
        size_t end = 0;
        OTA_TRY(dns_name_read(msg, len, cname->rdoff, target, &target_len, &end));
        OTA_VERIFY(end == (size_t)cname->rdoff + cname->rdlen, W5500_ERR_MALFORMED);
    }
    return W5500_ERR_MALFORMED; /* CNAME chain too long or a loop */
}

/* ---- resolver state machine ----------------------------------------------------------------- */

static uint32_t dns_now(const struct w5500_dns *dns)
{
    const struct w5500_port *p = dns->dev->port;
    return p->millis(p->ctx);
}

static int dns_finish(struct w5500_dns *dns, int status)
{
    int rc = w5500_sock_close(dns->dev, dns->sn);
    dns->state = W5500_DNS_DONE;
    dns->result = (status == W5500_OK && rc != W5500_OK) ? rc : status;
    return dns->result;
}

static int dns_send(struct w5500_dns *dns)
{
    size_t len = 0;
    OTA_TRY(w5500_dns_build_query(dns->buf, sizeof dns->buf, dns->id, dns->name, &len));
    OTA_TRY(w5500_udp_sendto(dns->dev, dns->sn, dns->buf, len, dns->server, W5500_DNS_PORT));
    dns->sent++;
    dns->t_sent = dns_now(dns);
    return W5500_OK;
}

int w5500_dns_start(struct w5500_dns *dns, struct w5500_dev *dev, uint8_t sn,
                    const uint8_t server[4], const char *name, uint16_t id, uint16_t local_port,
                    const struct w5500_dns_config *cfg)
{
    OTA_VERIFY(dns != NULL && dev != NULL && server != NULL && name != NULL, W5500_ERR_ARG);
    uint8_t wire[W5500_DNS_WIRE_MAX];
    int wl = w5500_dns_name_to_wire(name, wire);
    if (wl < 0) {
        return wl;
    }
    memset(dns, 0, sizeof *dns);
    dns->dev = dev;
    dns->sn = sn;
    memcpy(dns->server, server, 4);
    size_t nl = bounded_len(name, W5500_DNS_NAME_MAX + 1u);
    memcpy(dns->name, name, nl);
    dns->name[nl] = '\0';
    dns->id = id;
    dns->local_port = local_port;
    if (cfg != NULL) {
        dns->cfg = *cfg;
    }
    if (dns->cfg.first_timeout_ms == 0) {
        dns->cfg.first_timeout_ms = 1000;
    }
    if (dns->cfg.attempts == 0) {
        dns->cfg.attempts = 3;
    }
    dns->timeout_ms = dns->cfg.first_timeout_ms;
    OTA_TRY(w5500_udp_open(dev, sn, local_port));
    dns->state = W5500_DNS_WAIT;
    int rc = dns_send(dns);
    if (rc != W5500_OK) {
        /* A freshly opened socket has the whole TX buffer free: PENDING here is a bad state. */
        return dns_finish(dns, rc == W5500_PENDING ? W5500_ERR_SOCK_STATE : rc);
    }
    return W5500_OK;
}

int w5500_dns_poll(struct w5500_dns *dns, uint8_t ip[4])
{
    OTA_VERIFY(dns != NULL && ip != NULL, W5500_ERR_ARG);
    if (dns->state == W5500_DNS_DONE) {
        if (dns->result == W5500_OK) {
            memcpy(ip, dns->ip, 4);
        }
        return dns->result;
    }
    OTA_VERIFY(dns->state == W5500_DNS_WAIT, W5500_ERR_SOCK_STATE);

    int rc = w5500_udp_send_poll(dns->dev, dns->sn);
    if (rc == W5500_ERR_TIMEOUT) {
        /* ARP for the server (or gateway) failed: counts as a lost query. */
        dns->last_reject = W5500_ERR_TIMEOUT;
    } else if (rc != W5500_OK && rc != W5500_PENDING) {
        return dns_finish(dns, rc);
    }

    /* A bounded number of datagrams per call keeps the call short under a flood. */
    for (unsigned i = 0; i < 4; i++) {
        size_t got = 0;
        uint8_t from[4];
        uint16_t from_port = 0;
        rc = w5500_udp_recvfrom(dns->dev, dns->sn, dns->buf, sizeof dns->buf, &got, from,
                                &from_port);
        if (rc == W5500_PENDING) {
            break;
        }
        if (rc == W5500_ERR_TRUNCATED || rc == W5500_ERR_BAD_FRAME) {
            dns->last_reject = W5500_ERR_MALFORMED;
            continue;
        }
        if (rc != W5500_OK) {
            return dns_finish(dns, rc);
        }
        if (memcmp(from, dns->server, 4) != 0 || from_port != W5500_DNS_PORT) {
            dns->last_reject = W5500_ERR_MISMATCH;
            continue;
        }
        uint32_t ttl = 0;
        rc = w5500_dns_parse_response(dns->buf, got, dns->id, dns->name, dns->ip, &ttl);
        if (rc == W5500_OK) {
            dns->ttl = ttl;
            memcpy(ip, dns->ip, 4);
            return dns_finish(dns, W5500_OK);
        }
        if (rc == W5500_ERR_NXDOMAIN || rc == W5500_ERR_SERVFAIL || rc == W5500_ERR_NO_ANSWER ||
            rc == W5500_ERR_DNS_TRUNC) {
            return dns_finish(dns, rc); /* a well-formed, final answer */
        }
        dns->last_reject = rc; /* spoofed or hostile: ignore, keep waiting */
    }

    if ((uint32_t)(dns_now(dns) - dns->t_sent) < dns->timeout_ms) {
        return W5500_PENDING;
    }
    if (dns->sent >= dns->cfg.attempts) {
        return dns_finish(dns, dns->last_reject != 0 ? dns->last_reject : W5500_ERR_GAVE_UP);
    }
    bool up = false;
    rc = w5500_link_get(dns->dev, &up);
    if (rc != W5500_OK) {
        return dns_finish(dns, rc);
    }
    if (!up) {
        return dns_finish(dns, W5500_ERR_NO_LINK);
    }
    dns->id++;
    rc = dns_send(dns);
    if (rc == W5500_PENDING) {
        dns->id--; /* the previous datagram is still leaving: try again next pass */
        return W5500_PENDING;
    }
    if (rc != W5500_OK) {
        return dns_finish(dns, rc);
    }
    dns->timeout_ms *= 2u;
    return W5500_PENDING;
}

int w5500_dns_abort(struct w5500_dns *dns)
{
    OTA_VERIFY(dns != NULL && dns->dev != NULL, W5500_ERR_ARG);
    if (dns->state == W5500_DNS_WAIT) {
        return dns_finish(dns, W5500_ERR_GAVE_UP);
    }
    return W5500_OK;
}
