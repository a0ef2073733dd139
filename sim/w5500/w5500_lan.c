/*
 * Built-in DHCP server (RFC 2131 subset: DISCOVER/OFFER, REQUEST/ACK|NAK, DECLINE, RELEASE) and
 * DNS responder (RFC 1035 subset: one question, A records, NXDOMAIN) of the virtual LAN.
 * Every length from the request is checked before it is used: the fuzzer feeds this code.
 */
#include "w5500_lan.h"

#include <ctype.h>
#include <stdbool.h>
#include <string.h>

#define BOOTP_REQUEST 1
#define BOOTP_REPLY 2
#define BOOTP_FIXED_LEN 236
#define DHCP_COOKIE 0x63825363u

#define DHCP_OPT_PAD 0
#define DHCP_OPT_MASK 1
#define DHCP_OPT_ROUTER 3
#define DHCP_OPT_DNS 6
#define DHCP_OPT_REQ_IP 50
#define DHCP_OPT_LEASE 51
#define DHCP_OPT_MSG_TYPE 53
#define DHCP_OPT_SERVER_ID 54
#define DHCP_OPT_END 255

#define DHCP_DISCOVER 1
#define DHCP_OFFER 2
#define DHCP_REQUEST 3
#define DHCP_DECLINE 4
#define DHCP_ACK 5
#define DHCP_NAK 6
#define DHCP_RELEASE 7

static uint32_t get_be32(const uint8_t *p)
{
    return ((uint32_t)p[0] << 24) | ((uint32_t)p[1] << 16) | ((uint32_t)p[2] << 8) | p[3];
}

static void put_be32(uint8_t *p, uint32_t v)
{
    p[0] = (uint8_t)(v >> 24);
    p[1] = (uint8_t)(v >> 16);
    p[2] = (uint8_t)(v >> 8);
    p[3] = (uint8_t)v;
}

static void put_be16(uint8_t *p, uint16_t v)
{
    p[0] = (uint8_t)(v >> 8);
    p[1] = (uint8_t)v;
}

/* Consumes one unit of a counted fault; true if the fault applies to this message. */
static bool fault_take(uint32_t *count)
{
    if (*count == 0) {
        return false;
    }
    if (*count != UINT32_MAX) {
        (*count)--;
    }
    return true;
}

struct dhcp_req {
    uint8_t type;
    bool has_req_ip;
    uint32_t req_ip;
    bool has_server_id;
    uint32_t server_id;
};

/* Walks the options with bounds checks; false if they are malformed or carry no message type. */
static bool dhcp_parse_options(const uint8_t *opt, size_t len, struct dhcp_req *r)
{
    size_t i = 0;
    memset(r, 0, sizeof(*r));
    while (i < len) {
        uint8_t code = opt[i];
        if (code == DHCP_OPT_PAD) {
            i++;
            continue;
        }
        if (code == DHCP_OPT_END) {
            break;
        }
        if (i + 1 >= len) {
            return false;
        }
        size_t olen = opt[i + 1];
        if (olen > len - i - 2) {
            return false;
        }
        const uint8_t *v = &opt[i + 2];
        if (code == DHCP_OPT_MSG_TYPE && olen == 1) {
            r->type = v[0];
        } else if (code == DHCP_OPT_REQ_IP && olen == 4) {
            r->has_req_ip = true;
            r->req_ip = get_be32(v);
        } else if (code == DHCP_OPT_SERVER_ID && olen == 4) {
            r->has_server_id = true;
            r->server_id = get_be32(v);
        }
        i += 2 + olen;
    }
    return r->type != 0;
}

static struct w5500_dhcp_lease *lease_find(struct w5500_dhcp_server *s, const uint8_t mac[6])
{
    for (size_t i = 0; i < W5500_LAN_DHCP_LEASES; i++) {
        struct w5500_dhcp_lease *l = &s->leases[i];
        if ((l->state == LEASE_OFFERED || l->state == LEASE_BOUND) &&
            memcmp(l->mac, mac, 6) == 0) {
            return l;
        }
    }
    return NULL;
}

/* Pool slot i always holds address pool_first + i; a declined slot is never offered again. */
static struct w5500_dhcp_lease *lease_alloc(struct w5500_dhcp_server *s, const uint8_t mac[6])
{
    struct w5500_dhcp_lease *l = lease_find(s, mac);
    if (l != NULL) {
        return l;
    }
    for (size_t i = 0; i < W5500_LAN_DHCP_LEASES; i++) {
        l = &s->leases[i];
        if (l->state == LEASE_FREE) {
            memcpy(l->mac, mac, 6);
            l->ip = s->pool_first + (uint32_t)i;
            l->state = LEASE_OFFERED;
            return l;
        }
    }
    return NULL;
}

static size_t dhcp_reply(const struct w5500_dhcp_server *s, const uint8_t *msg, uint8_t type,
                         uint32_t yiaddr, uint8_t *out, size_t cap)
{
    if (cap < W5500_LAN_DHCP_MIN_LEN) {
        return 0;
    }
    memset(out, 0, W5500_LAN_DHCP_MIN_LEN);
    out[0] = BOOTP_REPLY;
    out[1] = 1; /* Ethernet */
    out[2] = 6;
    memcpy(&out[4], &msg[4], 4);    /* xid */
    memcpy(&out[10], &msg[10], 2);  /* flags */
    put_be32(&out[16], yiaddr);
    put_be32(&out[20], s->server_ip);
    memcpy(&out[28], &msg[28], 16); /* chaddr */
    put_be32(&out[236], DHCP_COOKIE);
    size_t o = 240;
    out[o++] = DHCP_OPT_MSG_TYPE;
    out[o++] = 1;
    out[o++] = type;
    out[o++] = DHCP_OPT_SERVER_ID;
    out[o++] = 4;
    put_be32(&out[o], s->server_ip);
    o += 4;
    if (type != DHCP_NAK) {
        if (s->lease_s != 0) {
            out[o++] = DHCP_OPT_LEASE;
            out[o++] = 4;
            put_be32(&out[o], s->lease_s);
            o += 4;
        }
        out[o++] = DHCP_OPT_MASK;
        out[o++] = 4;
        put_be32(&out[o], s->mask);
        o += 4;
        if (s->router != 0) {
            out[o++] = DHCP_OPT_ROUTER;
            out[o++] = 4;
            put_be32(&out[o], s->router);
            o += 4;
        }
        if (s->dns != 0) {
            out[o++] = DHCP_OPT_DNS;
            out[o++] = 4;
            put_be32(&out[o], s->dns);
            o += 4;
        }
    }
    out[o++] = DHCP_OPT_END;
    return W5500_LAN_DHCP_MIN_LEN; /* o < 300: the rest is padding */
}

size_t w5500_dhcp_serve(struct w5500_dhcp_server *s, const uint8_t *msg, size_t len, uint8_t *out,
                        size_t cap)
{
    struct dhcp_req r;
    if (len < BOOTP_FIXED_LEN + 4 || msg[0] != BOOTP_REQUEST || msg[1] != 1 || msg[2] != 6 ||
        get_be32(&msg[236]) != DHCP_COOKIE) {
        return 0;
    }
    if (!dhcp_parse_options(&msg[240], len - 240, &r)) {
        return 0;
    }
    const uint8_t *mac = &msg[28];
    if (s->fault == W5500_DHCP_FAULT_IGNORE_ALL && fault_take(&s->fault_count)) {
        return 0;
    }
    switch (r.type) {
    case DHCP_DISCOVER: {
        if (s->fault == W5500_DHCP_FAULT_IGNORE_DISCOVER && fault_take(&s->fault_count)) {
            return 0;
        }
        struct w5500_dhcp_lease *l = lease_alloc(s, mac);
        if (l == NULL) {
            return 0; /* pool exhausted: a real server stays silent */
        }
        return dhcp_reply(s, msg, DHCP_OFFER, l->ip, out, cap);
    }
    case DHCP_REQUEST: {
        if (r.has_server_id && r.server_id != s->server_ip) {
            return 0; /* the client chose another server */
        }
        if (s->fault == W5500_DHCP_FAULT_IGNORE_REQUEST && fault_take(&s->fault_count)) {
            return 0;
        }
        uint32_t want = r.has_req_ip ? r.req_ip : get_be32(&msg[12]); /* option 50 or ciaddr */
        struct w5500_dhcp_lease *l = lease_find(s, mac);
        bool nak = (s->fault == W5500_DHCP_FAULT_NAK_REQUEST && fault_take(&s->fault_count));
        if (nak || l == NULL || l->ip != want) {
            return dhcp_reply(s, msg, DHCP_NAK, 0, out, cap);
        }
        l->state = LEASE_BOUND;
        return dhcp_reply(s, msg, DHCP_ACK, l->ip, out, cap);
    }
    case DHCP_DECLINE: {
        struct w5500_dhcp_lease *l = lease_find(s, mac);
        if (l != NULL) {
            l->state = LEASE_DECLINED;
        }
        return 0;
    }
    case DHCP_RELEASE: {
        struct w5500_dhcp_lease *l = lease_find(s, mac);
        if (l != NULL) {
            l->state = LEASE_FREE;
        }
        return 0;
    }
    default:
        return 0;
    }
}

int w5500_dns_add(struct w5500_dns_server *s, const char *name, uint32_t ip)
{
    if (name == NULL) {
        return W5500_MODEL_EARG;
    }
    size_t n = strlen(name);
    if (n == 0 || n > W5500_LAN_DNS_NAME_MAX) {
        return W5500_MODEL_EARG;
    }
    /* Labels of 1..63 characters separated by single dots. */
    size_t label = 0;
    for (size_t i = 0; i < n; i++) {
        if (name[i] == '.') {
            if (label == 0) {
                return W5500_MODEL_EARG;
            }
            label = 0;
        } else if (++label > 63) {
            return W5500_MODEL_EARG;
        }
    }
    if (label == 0) {
        return W5500_MODEL_EARG;
    }
    if (s->count >= W5500_LAN_DNS_RECORDS) {
        return W5500_MODEL_EFULL;
    }
    memcpy(s->rec[s->count].name, name, n + 1);
    s->rec[s->count].ip = ip;
    s->count++;
    return W5500_MODEL_OK;
}

static bool name_equal(const char *a, const char *b)
{
    while (*a != '\0' && *b != '\0') {
        if (tolower((unsigned char)*a) != tolower((unsigned char)*b)) {
            return false;
        }
        a++;
        b++;
    }
    return *a == *b;
}

#define DNS_HDR_LEN 12
#define DNS_TYPE_A 1
#define DNS_CLASS_IN 1
#define DNS_RCODE_FORMERR 1
#define DNS_RCODE_SERVFAIL 2
#define DNS_RCODE_NXDOMAIN 3

size_t w5500_dns_serve(struct w5500_dns_server *s, const uint8_t *q, size_t len, uint8_t *out,
                       size_t cap)
{
    if (len < DNS_HDR_LEN || (q[2] & 0x80) != 0) {
        return 0; /* too short to answer, or a response */
    }
    enum w5500_model_dns_fault fault = W5500_DNS_FAULT_NONE;
    if (s->fault != W5500_DNS_FAULT_NONE && fault_take(&s->fault_count)) {
        fault = s->fault;
    }
    if (fault == W5500_DNS_FAULT_DROP) {
        return 0;
    }
    uint16_t qdcount = (uint16_t)((q[4] << 8) | q[5]);
    uint8_t rcode = 0;
    char name[W5500_LAN_DNS_NAME_MAX + 2];
    size_t nlen = 0;
    size_t i = DNS_HDR_LEN;
    bool ok = (qdcount == 1);
    /* Question name: plain labels only (a query has nothing to point back to). */
    while (ok) {
        if (i >= len) {
            ok = false;
            break;
        }
        uint8_t l = q[i++];
        if (l == 0) {
            break;
        }
        if (l > 63 || l > len - i || nlen + l + 1 > W5500_LAN_DNS_NAME_MAX + 1) {
            ok = false;
            break;
        }
        if (nlen != 0) {
            name[nlen++] = '.';
        }
        memcpy(&name[nlen], &q[i], l);
        nlen += l;
        i += l;
    }
    if (ok && len - i < 4) {
        ok = false;
    }
    size_t qend = ok ? i + 4 : DNS_HDR_LEN;
    if (qend > cap || DNS_HDR_LEN > cap) {
        return 0;
    }
    uint32_t ip = 0;
    bool answer = false;
    if (!ok) {
        rcode = DNS_RCODE_FORMERR;
    } else {
        name[nlen] = '\0';
        uint16_t qtype = (uint16_t)((q[i] << 8) | q[i + 1]);
        uint16_t qclass = (uint16_t)((q[i + 2] << 8) | q[i + 3]);
        bool found = false;
        for (size_t r = 0; r < s->count; r++) {
            if (name_equal(s->rec[r].name, name)) {
                found = true;
                ip = s->rec[r].ip;
                break;
            }
        }
        if (!found) {
            rcode = DNS_RCODE_NXDOMAIN;
        } else if (qtype == DNS_TYPE_A && qclass == DNS_CLASS_IN) {
            answer = true;
        } /* another type for a known name: NOERROR, no answer */
    }
    if (fault == W5500_DNS_FAULT_SERVFAIL) {
        rcode = DNS_RCODE_SERVFAIL;
        answer = false;
    }
    memcpy(out, q, qend);
    out[2] = (uint8_t)(0x80 | (q[2] & 0x01)); /* QR, copy RD; opcode 0 */
    out[3] = (uint8_t)(0x80 | rcode);         /* RA */
    put_be16(&out[4], ok ? 1 : 0);
    put_be16(&out[6], answer ? 1 : 0);
    put_be16(&out[8], 0);
    put_be16(&out[10], 0);
    if (fault == W5500_DNS_FAULT_WRONG_ID) {
        put_be16(&out[0], (uint16_t)(((q[0] << 8) | q[1]) + 1));
    }
    size_t o = qend;
    if (answer) {
        if (cap - o < 16) {
            return 0;
        }
        out[o++] = 0xC0; /* name: pointer to the question */
        out[o++] = DNS_HDR_LEN;
        put_be16(&out[o], DNS_TYPE_A);
        put_be16(&out[o + 2], DNS_CLASS_IN);
        put_be32(&out[o + 4], 300);
        put_be16(&out[o + 8], 4);
        put_be32(&out[o + 10], ip);
        o += 14;
        if (fault == W5500_DNS_FAULT_CORRUPT) {
            o -= 2; /* rdlength says 4, two bytes of the address are missing */
        }
    }
    return o;
}
