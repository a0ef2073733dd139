/*
 * DHCP and DNS parsers and builders against hand-built good and hostile packets.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "w5500_dhcp.h"
#include "w5500_dns.h"

/* ---- DHCP ----------------------------------------------------------------------------------- */

static const uint8_t MAC[6] = {0x02, 0x11, 0x22, 0x33, 0x44, 0x55};
#define XID 0x12345678u

struct pkt {
    uint8_t b[700];
    size_t n;
};

static void put(struct pkt *p, const void *d, size_t n)
{
    assert_true(p->n + n <= sizeof p->b);
    memcpy(&p->b[p->n], d, n);
    p->n += n;
}

static void put1(struct pkt *p, uint8_t v)
{
    put(p, &v, 1);
}

/* Fixed part of a BOOTREPLY + cookie; options appended by the caller. */
static void dhcp_head(struct pkt *p, uint32_t xid, const uint8_t yi[4])
{
    memset(p, 0, sizeof *p);
    p->n = 240;
    p->b[0] = 2;
    p->b[1] = 1;
    p->b[2] = 6;
    p->b[4] = (uint8_t)(xid >> 24);
    p->b[5] = (uint8_t)(xid >> 16);
    p->b[6] = (uint8_t)(xid >> 8);
    p->b[7] = (uint8_t)xid;
    memcpy(&p->b[16], yi, 4);
    memcpy(&p->b[28], MAC, 6);
    p->b[236] = 99;
    p->b[237] = 130;
    p->b[238] = 83;
    p->b[239] = 99;
}

static void opt(struct pkt *p, uint8_t code, const void *v, uint8_t len)
{
    put1(p, code);
    put1(p, len);
    put(p, v, len);
}

static const uint8_t YI[4] = {192, 168, 1, 100};
static const uint8_t SRV[4] = {192, 168, 1, 1};
static const uint8_t MASK[4] = {255, 255, 255, 0};
static const uint8_t LEASE[4] = {0, 0, 0x0E, 0x10}; /* 3600 */

static void dhcp_good(struct pkt *p, uint8_t type)
{
    dhcp_head(p, XID, YI);
    opt(p, 53, &type, 1);
    opt(p, 54, SRV, 4);
    opt(p, 1, MASK, 4);
    uint8_t routers[8] = {192, 168, 1, 1, 192, 168, 1, 2};
    opt(p, 3, routers, 8);
    opt(p, 6, SRV, 4);
    opt(p, 51, LEASE, 4);
    uint8_t t1[4] = {0, 0, 0x07, 0x08}; /* 1800 */
    opt(p, 58, t1, 4);
    uint8_t t2[4] = {0, 0, 0x0C, 0x4E}; /* 3150 */
    opt(p, 59, t2, 4);
    put1(p, 0); /* pad */
    uint8_t unknown[3] = {1, 2, 3};
    opt(p, 200, unknown, 3);
    put1(p, 255);
}

static void test_dhcp_parse_offer_ack_nak(void **state)
{
    (void)state;
    struct pkt p;
    struct w5500_dhcp_msg m;
    dhcp_good(&p, W5500_DHCP_OFFER);
    assert_int_equal(w5500_dhcp_parse(p.b, p.n, XID, MAC, &m), W5500_OK);
    assert_int_equal(m.type, W5500_DHCP_OFFER);
    assert_memory_equal(m.yiaddr, YI, 4);
    assert_true(m.has_server_id && m.has_mask && m.has_router && m.has_dns && m.has_lease);
    assert_memory_equal(m.server_id, SRV, 4);
    assert_memory_equal(m.mask, MASK, 4);
    const uint8_t r1[4] = {192, 168, 1, 1};
    assert_memory_equal(m.router, r1, 4); /* the first router of two */
    assert_int_equal(m.lease_s, 3600);
    assert_true(m.has_t1 && m.has_t2);
    assert_int_equal(m.t1_s, 1800);
    assert_int_equal(m.t2_s, 3150);

    dhcp_good(&p, W5500_DHCP_ACK);
    assert_int_equal(w5500_dhcp_parse(p.b, p.n, XID, MAC, &m), W5500_OK);
    assert_int_equal(m.type, W5500_DHCP_ACK);

    /* NAK: no yiaddr needed, server id is. */
    uint8_t zero[4] = {0};
    dhcp_head(&p, XID, zero);
    uint8_t t = W5500_DHCP_NAK;
    opt(&p, 53, &t, 1);
    opt(&p, 54, SRV, 4);
    put1(&p, 255);
    assert_int_equal(w5500_dhcp_parse(p.b, p.n, XID, MAC, &m), W5500_OK);
    assert_int_equal(m.type, W5500_DHCP_NAK);
    assert_false(m.has_lease);
}

static void test_dhcp_parse_not_ours(void **state)
{
    (void)state;
    struct pkt p;
    struct w5500_dhcp_msg m;
    dhcp_good(&p, W5500_DHCP_OFFER);
    assert_int_equal(w5500_dhcp_parse(p.b, p.n, XID + 1u, MAC, &m), W5500_ERR_MISMATCH);
    uint8_t other[6] = {0x02, 0x11, 0x22, 0x33, 0x44, 0x56};
    assert_int_equal(w5500_dhcp_parse(p.b, p.n, XID, other, &m), W5500_ERR_MISMATCH);
    p.b[0] = 1; /* a BOOTREQUEST (another client) */
    assert_int_equal(w5500_dhcp_parse(p.b, p.n, XID, MAC, &m), W5500_ERR_MISMATCH);
}

static void test_dhcp_parse_hostile(void **state)
{
    (void)state;
    struct pkt p;
    struct w5500_dhcp_msg m;
    uint8_t t = W5500_DHCP_OFFER;

    /* Every truncation of a good packet before its END option is rejected. */
    dhcp_good(&p, W5500_DHCP_OFFER);
    for (size_t n = 0; n < p.n; n++) {
        int rc = w5500_dhcp_parse(p.b, n, XID, MAC, &m);
        assert_int_equal(rc, W5500_ERR_MALFORMED);
    }

    /* Bad hardware type / length, bad cookie. */
    dhcp_good(&p, W5500_DHCP_OFFER);
    p.b[1] = 6;
    assert_int_equal(w5500_dhcp_parse(p.b, p.n, XID, MAC, &m), W5500_ERR_MALFORMED);
    dhcp_good(&p, W5500_DHCP_OFFER);
    p.b[2] = 16;
    assert_int_equal(w5500_dhcp_parse(p.b, p.n, XID, MAC, &m), W5500_ERR_MALFORMED);
    dhcp_good(&p, W5500_DHCP_OFFER);
    p.b[239] = 0;
    assert_int_equal(w5500_dhcp_parse(p.b, p.n, XID, MAC, &m), W5500_ERR_MALFORMED);

    /* An option whose length runs past the end. */
    dhcp_head(&p, XID, YI);
    opt(&p, 53, &t, 1);
    opt(&p, 54, SRV, 4);
    put1(&p, 12);
    put1(&p, 200);
    put1(&p, 'x');
    assert_int_equal(w5500_dhcp_parse(p.b, p.n, XID, MAC, &m), W5500_ERR_MALFORMED);

    /* An option code as the last byte (no length). */
    dhcp_head(&p, XID, YI);
    opt(&p, 53, &t, 1);
    opt(&p, 54, SRV, 4);
    put1(&p, 12);
    assert_int_equal(w5500_dhcp_parse(p.b, p.n, XID, MAC, &m), W5500_ERR_MALFORMED);

    /* Wrong fixed lengths for typed options. */
    static const struct {
        uint8_t code;
        uint8_t len;
    } bad_len[] = {{53, 2}, {53, 0}, {1, 3}, {1, 5}, {3, 3}, {3, 6}, {6, 0},
                   {6, 7},  {51, 3}, {54, 5}, {58, 2}, {59, 8}};
    for (size_t i = 0; i < sizeof bad_len / sizeof bad_len[0]; i++) {
        uint8_t val[8] = {255, 255, 255, 0, 1, 1, 1, 1};
        dhcp_head(&p, XID, YI);
        if (bad_len[i].code != 53) {
            opt(&p, 53, &t, 1);
        }
        opt(&p, 54, SRV, 4);
        opt(&p, bad_len[i].code, val, bad_len[i].len);
        put1(&p, 255);
        assert_int_equal(w5500_dhcp_parse(p.b, p.n, XID, MAC, &m), W5500_ERR_MALFORMED);
    }

    /* Missing message type; a client message type; unknown type. */
    uint8_t types[] = {0, W5500_DHCP_DISCOVER, W5500_DHCP_REQUEST, 9};
    for (size_t i = 0; i < sizeof types; i++) {
        dhcp_head(&p, XID, YI);
        if (types[i] != 0) {
            opt(&p, 53, &types[i], 1);
        }
        opt(&p, 54, SRV, 4);
        put1(&p, 255);
        assert_int_equal(w5500_dhcp_parse(p.b, p.n, XID, MAC, &m), W5500_ERR_MALFORMED);
    }

    /* OFFER without server id; NAK without server id. */
    dhcp_head(&p, XID, YI);
    opt(&p, 53, &t, 1);
    put1(&p, 255);
    assert_int_equal(w5500_dhcp_parse(p.b, p.n, XID, MAC, &m), W5500_ERR_MALFORMED);
    uint8_t nak = W5500_DHCP_NAK;
    dhcp_head(&p, XID, YI);
    opt(&p, 53, &nak, 1);
    put1(&p, 255);
    assert_int_equal(w5500_dhcp_parse(p.b, p.n, XID, MAC, &m), W5500_ERR_MALFORMED);

    /* Unusable offered addresses. */
    static const uint8_t bad_ip[][4] = {
        {0, 0, 0, 0}, {0, 1, 2, 3}, {127, 0, 0, 1}, {224, 0, 0, 1}, {255, 255, 255, 255}};
    for (size_t i = 0; i < sizeof bad_ip / sizeof bad_ip[0]; i++) {
        dhcp_head(&p, XID, bad_ip[i]);
        opt(&p, 53, &t, 1);
        opt(&p, 54, SRV, 4);
        put1(&p, 255);
        assert_int_equal(w5500_dhcp_parse(p.b, p.n, XID, MAC, &m), W5500_ERR_MALFORMED);
    }

    /* Non-contiguous and zero masks; zero lease. */
    static const uint8_t bad_mask[][4] = {{255, 0, 255, 0}, {0, 0, 0, 0}, {255, 255, 255, 1}};
    for (size_t i = 0; i < sizeof bad_mask / sizeof bad_mask[0]; i++) {
        dhcp_head(&p, XID, YI);
        opt(&p, 53, &t, 1);
        opt(&p, 54, SRV, 4);
        opt(&p, 1, bad_mask[i], 4);
        put1(&p, 255);
        assert_int_equal(w5500_dhcp_parse(p.b, p.n, XID, MAC, &m), W5500_ERR_MALFORMED);
    }
    uint8_t zero_lease[4] = {0};
    dhcp_head(&p, XID, YI);
    opt(&p, 53, &t, 1);
    opt(&p, 54, SRV, 4);
    opt(&p, 51, zero_lease, 4);
    put1(&p, 255);
    assert_int_equal(w5500_dhcp_parse(p.b, p.n, XID, MAC, &m), W5500_ERR_MALFORMED);

    /* /32 and /1 masks are contiguous and accepted. */
    static const uint8_t ok_mask[][4] = {{255, 255, 255, 255}, {128, 0, 0, 0}};
    for (size_t i = 0; i < 2; i++) {
        dhcp_head(&p, XID, YI);
        opt(&p, 53, &t, 1);
        opt(&p, 54, SRV, 4);
        opt(&p, 1, ok_mask[i], 4);
        put1(&p, 255);
        assert_int_equal(w5500_dhcp_parse(p.b, p.n, XID, MAC, &m), W5500_OK);
    }

    /* Arguments. */
    assert_int_equal(w5500_dhcp_parse(NULL, 300, XID, MAC, &m), W5500_ERR_ARG);
    assert_int_equal(w5500_dhcp_parse(p.b, p.n, XID, NULL, &m), W5500_ERR_ARG);
    assert_int_equal(w5500_dhcp_parse(p.b, p.n, XID, MAC, NULL), W5500_ERR_ARG);
}

static void test_dhcp_build(void **state)
{
    (void)state;
    uint8_t b[W5500_DHCP_MSG_MAX];
    size_t len = 0;
    const uint8_t ci[4] = {10, 0, 0, 5};
    assert_int_equal(w5500_dhcp_build(b, sizeof b, W5500_DHCP_REQUEST, XID, MAC, true, ci, YI, SRV,
                                      &len),
                     W5500_OK);
    assert_int_equal(len, 300);
    assert_int_equal(b[0], 1);
    assert_int_equal(b[1], 1);
    assert_int_equal(b[2], 6);
    assert_int_equal((b[4] << 24) | (b[5] << 16) | (b[6] << 8) | b[7], XID);
    assert_int_equal(b[10], 0x80); /* broadcast flag */
    assert_memory_equal(&b[12], ci, 4);
    assert_memory_equal(&b[28], MAC, 6);
    const uint8_t ck[4] = {99, 130, 83, 99};
    assert_memory_equal(&b[236], ck, 4);
    /* Walk the options: type 3, client id, requested IP, server id, end. */
    size_t pos = 240;
    int seen53 = 0, seen50 = 0, seen54 = 0, seen61 = 0, end = 0;
    while (pos < len) {
        if (b[pos] == 0) {
            pos++;
            continue;
        }
        if (b[pos] == 255) {
            end = 1;
            break;
        }
        uint8_t c = b[pos], l = b[pos + 1];
        const uint8_t *v = &b[pos + 2];
        if (c == 53) {
            seen53 = (l == 1 && v[0] == W5500_DHCP_REQUEST);
        } else if (c == 50) {
            seen50 = (l == 4 && memcmp(v, YI, 4) == 0);
        } else if (c == 54) {
            seen54 = (l == 4 && memcmp(v, SRV, 4) == 0);
        } else if (c == 61) {
            seen61 = (l == 7 && v[0] == 1 && memcmp(&v[1], MAC, 6) == 0);
        }
        pos += 2u + l;
    }
    assert_true(seen53 && seen50 && seen54 && seen61 && end);

    assert_int_equal(w5500_dhcp_build(b, sizeof b, W5500_DHCP_DISCOVER, XID, MAC, false, NULL, NULL,
                                      NULL, &len),
                     W5500_OK);
    assert_int_equal(b[10], 0);
    assert_int_equal(b[240 + 2], W5500_DHCP_DISCOVER);
    assert_int_equal(w5500_dhcp_build(b, 299, W5500_DHCP_DISCOVER, XID, MAC, false, NULL, NULL,
                                      NULL, &len),
                     W5500_ERR_ARG);
    assert_int_equal(
        w5500_dhcp_build(b, sizeof b, W5500_DHCP_ACK, XID, MAC, false, NULL, NULL, NULL, &len),
        W5500_ERR_ARG);
    /* RELEASE and DECLINE: type, ciaddr/requested address, server id. */
    assert_int_equal(
        w5500_dhcp_build(b, sizeof b, W5500_DHCP_RELEASE, XID, MAC, false, YI, NULL, SRV, &len),
        W5500_OK);
    assert_int_equal(b[240 + 2], W5500_DHCP_RELEASE);
    assert_memory_equal(&b[12], YI, 4);
    assert_int_equal(
        w5500_dhcp_build(b, sizeof b, W5500_DHCP_DECLINE, XID, MAC, false, NULL, YI, SRV, &len),
        W5500_OK);
    assert_int_equal(b[240 + 2], W5500_DHCP_DECLINE);
    const uint8_t zero4[4] = {0};
    assert_memory_equal(&b[12], zero4, 4);
}

/* ---- DNS ------------------------------------------------------------------------------------ */

#define QID 0xBEEFu

/* Header + question for name (already in wire form). */
static void dns_head(struct pkt *p, uint16_t id, uint16_t flags, uint16_t qd, uint16_t an,
                     const char *name)
{
    memset(p, 0, sizeof *p);
    uint8_t h[12] = {(uint8_t)(id >> 8), (uint8_t)id, (uint8_t)(flags >> 8), (uint8_t)flags,
                     (uint8_t)(qd >> 8), (uint8_t)qd, (uint8_t)(an >> 8), (uint8_t)an,
                     0, 0, 0, 0};
    put(p, h, sizeof h);
    uint8_t wire[255];
    int wl = w5500_dns_name_to_wire(name, wire);
    assert_true(wl > 0);
    put(p, wire, (size_t)wl);
    uint8_t q[4] = {0, 1, 0, 1};
    put(p, q, 4);
}

/* RR with a raw owner name (bytes given), type, rdata. */
static void rr(struct pkt *p, const uint8_t *owner, size_t ol, uint16_t type, const uint8_t *rd,
               uint16_t rdlen)
{
    put(p, owner, ol);
    uint8_t f[10] = {(uint8_t)(type >> 8), (uint8_t)type, 0, 1, 0, 0, 0x0E, 0x10,
                     (uint8_t)(rdlen >> 8), (uint8_t)rdlen};
    put(p, f, sizeof f);
    put(p, rd, rdlen);
}

static const uint8_t PTR_Q[2] = {0xC0, 12}; /* points at the question name */
static const uint8_t IP1[4] = {10, 1, 2, 3};

static void test_dns_build_query(void **state)
{
    (void)state;
    uint8_t b[512];
    size_t len = 0;
    assert_int_equal(w5500_dns_build_query(b, sizeof b, 0x1234, "Ota.Example.com.", &len), W5500_OK);
    const uint8_t expect[] = {0x12, 0x34, 0x01, 0x00, 0, 1, 0, 0, 0, 0, 0, 0,
                              3,    'o',  't',  'a',  7, 'e', 'x', 'a', 'm', 'p', 'l', 'e',
                              3,    'c',  'o',  'm',  0, 0,   1,   0,   1};
    assert_int_equal(len, sizeof expect);
    assert_memory_equal(b, expect, sizeof expect);
    assert_int_equal(w5500_dns_build_query(b, sizeof expect - 1, 1, "ota.example.com", &len),
                     W5500_ERR_ARG);

    /* Names refused before anything is sent. */
    char big[300];
    memset(big, 'a', sizeof big);
    big[299] = 0;
    const char *bad[] = {"", ".", "a..b", ".a", "a b", "a/b", big, "x.", NULL};
    for (size_t i = 0; i < 7; i++) {
        assert_int_equal(w5500_dns_build_query(b, sizeof b, 1, bad[i], &len), W5500_ERR_ARG);
    }
    assert_int_equal(w5500_dns_build_query(b, sizeof b, 1, bad[7], &len), W5500_OK);
    assert_int_equal(w5500_dns_build_query(b, sizeof b, 1, NULL, &len), W5500_ERR_ARG);
    /* A 63-byte label is fine, 64 is not; 253 characters total is fine, 254 is not. */
    char lab[80];
    memset(lab, 'b', 63);
    lab[63] = 0;
    assert_int_equal(w5500_dns_build_query(b, sizeof b, 1, lab, &len), W5500_OK);
    memset(lab, 'b', 64);
    lab[64] = 0;
    assert_int_equal(w5500_dns_build_query(b, sizeof b, 1, lab, &len), W5500_ERR_ARG);
    char n253[260];
    size_t k = 0;
    while (k < 253) {
        size_t run = (253 - k) >= 63 ? 62 : (253 - k);
        memset(&n253[k], 'c', run);
        k += run;
        if (k < 253) {
            n253[k++] = '.';
        }
    }
    n253[253] = 0;
    assert_int_equal(w5500_dns_build_query(b, sizeof b, 1, n253, &len), W5500_OK);
    n253[253] = 'c';
    n253[254] = 0;
    assert_int_equal(w5500_dns_build_query(b, sizeof b, 1, n253, &len), W5500_ERR_ARG);
}

static void test_dns_parse_good(void **state)
{
    (void)state;
    struct pkt p;
    uint8_t ip[4];
    uint32_t ttl = 0;
    /* Plain answer with a compressed owner name, after an unrelated AAAA-like record. */
    dns_head(&p, QID, 0x8180, 1, 2, "ota.example.com");
    uint8_t aaaa[16] = {0};
    rr(&p, PTR_Q, 2, 28, aaaa, 16);
    rr(&p, PTR_Q, 2, 1, IP1, 4);
    assert_int_equal(w5500_dns_parse_response(p.b, p.n, QID, "OTA.example.COM", ip, &ttl), W5500_OK);
    assert_memory_equal(ip, IP1, 4);
    assert_int_equal(ttl, 3600);

    /* CNAME chain: ota.example.com -> cdn.example.net -> edge.example.net -> A, in scrambled
     * order, using compression both to the question and to earlier rdata. */
    dns_head(&p, QID, 0x8180, 1, 3, "ota.example.com");
    /* rdata of the first CNAME at a known offset: "cdn" + "example" + "net" */
    size_t cname1_rd = p.n + 2 + 10;
    const uint8_t cdn[] = {3, 'c', 'd', 'n', 7, 'e', 'x', 'a', 'm', 'p', 'l', 'e', 3, 'n', 'e', 't', 0};
    rr(&p, PTR_Q, 2, 5, cdn, sizeof cdn);
    /* A record for edge.example.net: owner = "edge" + pointer to "example.net" in cdn's rdata */
    uint8_t edge_owner[7] = {4, 'e', 'd', 'g', 'e', 0xC0, (uint8_t)(cname1_rd + 4)};
    const uint8_t ip2[4] = {10, 9, 8, 7};
    rr(&p, edge_owner, sizeof edge_owner, 1, ip2, 4);
    /* cdn.example.net CNAME edge.example.net (owner = pointer to cdn rdata) */
    uint8_t cdn_ptr[2] = {0xC0, (uint8_t)cname1_rd};
    rr(&p, cdn_ptr, 2, 5, edge_owner, sizeof edge_owner);
    assert_int_equal(w5500_dns_parse_response(p.b, p.n, QID, "ota.example.com", ip, NULL), W5500_OK);
    assert_memory_equal(ip, ip2, 4);
}

static void test_dns_parse_status(void **state)
{
    (void)state;
    struct pkt p;
    uint8_t ip[4];
    dns_head(&p, QID, 0x8183, 1, 0, "nope.example.com");
    assert_int_equal(w5500_dns_parse_response(p.b, p.n, QID, "nope.example.com", ip, NULL),
                     W5500_ERR_NXDOMAIN);
    dns_head(&p, QID, 0x8182, 1, 0, "a.b");
    assert_int_equal(w5500_dns_parse_response(p.b, p.n, QID, "a.b", ip, NULL), W5500_ERR_SERVFAIL);
    dns_head(&p, QID, 0x8385, 1, 0, "a.b"); /* TC wins over rcode */
    assert_int_equal(w5500_dns_parse_response(p.b, p.n, QID, "a.b", ip, NULL), W5500_ERR_DNS_TRUNC);
    dns_head(&p, QID, 0x8180, 1, 0, "a.b");
    assert_int_equal(w5500_dns_parse_response(p.b, p.n, QID, "a.b", ip, NULL), W5500_ERR_NO_ANSWER);
    /* Only a CNAME, no A for its target. */
    dns_head(&p, QID, 0x8180, 1, 1, "a.b");
    const uint8_t tgt[] = {1, 'c', 1, 'd', 0};
    rr(&p, PTR_Q, 2, 5, tgt, sizeof tgt);
    assert_int_equal(w5500_dns_parse_response(p.b, p.n, QID, "a.b", ip, NULL), W5500_ERR_NO_ANSWER);
    /* An A for a different name does not count. */
    dns_head(&p, QID, 0x8180, 1, 1, "a.b");
    rr(&p, tgt, sizeof tgt, 1, IP1, 4);
    assert_int_equal(w5500_dns_parse_response(p.b, p.n, QID, "a.b", ip, NULL), W5500_ERR_NO_ANSWER);
}

static void test_dns_parse_hostile(void **state)
{
    (void)state;
    struct pkt p;
    uint8_t ip[4];
    const char *nm = "ota.example.com";

    /* Wrong id, wrong question name/type: not our reply. */
    dns_head(&p, QID + 1u, 0x8180, 1, 1, nm);
    rr(&p, PTR_Q, 2, 1, IP1, 4);
    assert_int_equal(w5500_dns_parse_response(p.b, p.n, QID, nm, ip, NULL), W5500_ERR_MISMATCH);
    dns_head(&p, QID, 0x8180, 1, 1, "evil.example.com");
    rr(&p, PTR_Q, 2, 1, IP1, 4);
    assert_int_equal(w5500_dns_parse_response(p.b, p.n, QID, nm, ip, NULL), W5500_ERR_MISMATCH);
    dns_head(&p, QID, 0x8180, 1, 1, nm);
    p.b[p.n - 3] = 28; /* qtype AAAA */
    rr(&p, PTR_Q, 2, 1, IP1, 4);
    assert_int_equal(w5500_dns_parse_response(p.b, p.n, QID, nm, ip, NULL), W5500_ERR_MISMATCH);

    /* A query (QR = 0), a non-zero opcode, qdcount 0 and 2. */
    uint16_t bad_flags[] = {0x0100, 0x8980};
    for (size_t i = 0; i < 2; i++) {
        dns_head(&p, QID, bad_flags[i], 1, 1, nm);
        rr(&p, PTR_Q, 2, 1, IP1, 4);
        assert_int_equal(w5500_dns_parse_response(p.b, p.n, QID, nm, ip, NULL), W5500_ERR_MALFORMED);
    }
    uint16_t bad_qd[] = {0, 2};
    for (size_t i = 0; i < 2; i++) {
        dns_head(&p, QID, 0x8180, bad_qd[i], 1, nm);
        rr(&p, PTR_Q, 2, 1, IP1, 4);
        assert_int_equal(w5500_dns_parse_response(p.b, p.n, QID, nm, ip, NULL), W5500_ERR_MALFORMED);
    }

    /* Every truncation of a good reply fails (short header, name, question, RR, rdata). */
    dns_head(&p, QID, 0x8180, 1, 1, nm);
    rr(&p, PTR_Q, 2, 1, IP1, 4);
    for (size_t n = 0; n < p.n; n++) {
        int rc = w5500_dns_parse_response(p.b, n, QID, nm, ip, NULL);
        assert_true(rc == W5500_ERR_MALFORMED);
    }
    assert_int_equal(w5500_dns_parse_response(p.b, p.n, QID, nm, ip, NULL), W5500_OK);

    /* ancount larger than what is there, and absurdly large. */
    uint16_t bad_an[] = {2, 0xFFFF};
    for (size_t i = 0; i < 2; i++) {
        dns_head(&p, QID, 0x8180, 1, bad_an[i], nm);
        rr(&p, PTR_Q, 2, 1, IP1, 4);
        assert_int_equal(w5500_dns_parse_response(p.b, p.n, QID, nm, ip, NULL), W5500_ERR_MALFORMED);
    }

    /* Pointer to itself, forward pointer, and a two-pointer loop in an answer name. */
    dns_head(&p, QID, 0x8180, 1, 1, nm);
    uint8_t self[2] = {0xC0, (uint8_t)p.n};
    rr(&p, self, 2, 1, IP1, 4);
    assert_int_equal(w5500_dns_parse_response(p.b, p.n, QID, nm, ip, NULL), W5500_ERR_MALFORMED);
    /* A forward pointer to a perfectly good copy of the name is still refused. */
    dns_head(&p, QID, 0x8180, 1, 2, nm);
    uint8_t fwd[2] = {0xC0, (uint8_t)(p.n + 2 + 10 + 4 + 2 + 10)};
    rr(&p, fwd, 2, 1, IP1, 4);
    uint8_t full[255];
    int fl = w5500_dns_name_to_wire(nm, full);
    assert_true(fl > 0);
    rr(&p, PTR_Q, 2, 99, full, (uint16_t)fl);
    assert_int_equal(w5500_dns_parse_response(p.b, p.n, QID, nm, ip, NULL), W5500_ERR_MALFORMED);
    /* Two label runs pointing at each other, kept in the rdata of an ignored record. */
    dns_head(&p, QID, 0x8180, 1, 2, nm);
    size_t a_at = p.n + 2 + 10;
    size_t b_at = a_at + 4;
    uint8_t loops[8] = {1, 'x', 0xC0, (uint8_t)b_at, 1, 'y', 0xC0, (uint8_t)a_at};
    rr(&p, PTR_Q, 2, 99, loops, sizeof loops);
    uint8_t own[2] = {0xC0, (uint8_t)b_at};
    rr(&p, own, 2, 1, IP1, 4);
    assert_int_equal(w5500_dns_parse_response(p.b, p.n, QID, nm, ip, NULL), W5500_ERR_MALFORMED);
    /* The same record without the loop parses (so the loop is what is rejected). */
    loops[6] = 0;
    dns_head(&p, QID, 0x8180, 1, 2, nm);
    rr(&p, PTR_Q, 2, 99, loops, 7);
    rr(&p, own, 2, 1, IP1, 4);
    assert_int_equal(w5500_dns_parse_response(p.b, p.n, QID, nm, ip, NULL), W5500_ERR_NO_ANSWER);

    /* Pointer out of the message; extended label types 0x40 and 0x80. */
    dns_head(&p, QID, 0x8180, 1, 1, nm);
    uint8_t far[2] = {0xFF, 0xFF};
    rr(&p, far, 2, 1, IP1, 4);
    assert_int_equal(w5500_dns_parse_response(p.b, p.n, QID, nm, ip, NULL), W5500_ERR_MALFORMED);
    uint8_t ext[2] = {0x40, 0x80};
    for (size_t i = 0; i < 2; i++) {
        dns_head(&p, QID, 0x8180, 1, 1, nm);
        uint8_t e[3] = {ext[i], 'a', 0};
        rr(&p, e, 3, 1, IP1, 4);
        assert_int_equal(w5500_dns_parse_response(p.b, p.n, QID, nm, ip, NULL), W5500_ERR_MALFORMED);
    }

    /* A name expanding past 255 bytes through backward pointers (each run is legal). */
    dns_head(&p, QID, 0x8180, 1, 2, nm);
    uint8_t blob[6 * 63];
    size_t base = p.n + 2 + 10;
    size_t bl = 0;
    size_t prev = 0;
    for (int i = 0; i < 5; i++) {
        size_t at = base + bl;
        blob[bl++] = 60;
        memset(&blob[bl], 'z', 60);
        bl += 60;
        if (i == 0) {
            blob[bl++] = 0;
        } else {
            blob[bl++] = (uint8_t)(0xC0 | (prev >> 8));
            blob[bl++] = (uint8_t)prev;
        }
        prev = at;
    }
    rr(&p, PTR_Q, 2, 99, blob, (uint16_t)bl);
    uint8_t longown[2] = {(uint8_t)(0xC0 | (prev >> 8)), (uint8_t)prev};
    rr(&p, longown, 2, 1, IP1, 4);
    assert_int_equal(w5500_dns_parse_response(p.b, p.n, QID, nm, ip, NULL), W5500_ERR_MALFORMED);
    /* Four runs (4 x 61 + 1 = 245 bytes) are within the limit. */
    longown[0] = (uint8_t)(0xC0 | ((prev - 63) >> 8));
    longown[1] = (uint8_t)(prev - 63);
    dns_head(&p, QID, 0x8180, 1, 2, nm);
    rr(&p, PTR_Q, 2, 99, blob, (uint16_t)bl);
    rr(&p, longown, 2, 1, IP1, 4);
    assert_int_equal(w5500_dns_parse_response(p.b, p.n, QID, nm, ip, NULL), W5500_ERR_NO_ANSWER);

    /* A record with rdlength 5, A of 0.0.0.0 and 255.255.255.255. */
    dns_head(&p, QID, 0x8180, 1, 1, nm);
    uint8_t five[5] = {1, 2, 3, 4, 5};
    rr(&p, PTR_Q, 2, 1, five, 5);
    assert_int_equal(w5500_dns_parse_response(p.b, p.n, QID, nm, ip, NULL), W5500_ERR_MALFORMED);
    const uint8_t bad_a[2][4] = {{0, 0, 0, 0}, {255, 255, 255, 255}};
    for (size_t i = 0; i < 2; i++) {
        dns_head(&p, QID, 0x8180, 1, 1, nm);
        rr(&p, PTR_Q, 2, 1, bad_a[i], 4);
        assert_int_equal(w5500_dns_parse_response(p.b, p.n, QID, nm, ip, NULL), W5500_ERR_MALFORMED);
    }

    /* CNAME rdata that runs past its rdlength. */
    dns_head(&p, QID, 0x8180, 1, 1, nm);
    const uint8_t longer[] = {1, 'c', 1, 'd', 0};
    put(&p, PTR_Q, 2);
    uint8_t f[10] = {0, 5, 0, 1, 0, 0, 0, 1, 0, 3};
    put(&p, f, sizeof f);
    put(&p, longer, sizeof longer);
    p.b[7] = 1;
    assert_int_equal(w5500_dns_parse_response(p.b, p.n, QID, nm, ip, NULL), W5500_ERR_MALFORMED);

    /* CNAME loop: name -> x.y -> name; and a chain longer than the limit. */
    dns_head(&p, QID, 0x8180, 1, 2, nm);
    size_t xy_rd = p.n + 2 + 10;
    const uint8_t xy[] = {1, 'x', 1, 'y', 0};
    rr(&p, PTR_Q, 2, 5, xy, sizeof xy);
    uint8_t xy_ptr[2] = {0xC0, (uint8_t)xy_rd};
    rr(&p, xy_ptr, 2, 5, PTR_Q, 2);
    assert_int_equal(w5500_dns_parse_response(p.b, p.n, QID, nm, ip, NULL), W5500_ERR_MALFORMED);

    dns_head(&p, QID, 0x8180, 1, (uint16_t)(W5500_DNS_MAX_CNAME + 2u), nm);
    uint8_t owner[3] = {0xC0, 12, 0};
    size_t owner_len = 2;
    for (unsigned i = 0; i <= W5500_DNS_MAX_CNAME; i++) {
        uint8_t t[4] = {2, 'n', (uint8_t)('a' + i), 0};
        size_t rd_at = p.n + owner_len + 10;
        rr(&p, owner, owner_len, 5, t, 4);
        owner[0] = 0xC0;
        owner[1] = (uint8_t)rd_at;
        owner_len = 2;
    }
    rr(&p, owner, owner_len, 1, IP1, 4);
    assert_int_equal(w5500_dns_parse_response(p.b, p.n, QID, nm, ip, NULL), W5500_ERR_MALFORMED);
    /* ... one hop fewer resolves. */
    dns_head(&p, QID, 0x8180, 1, (uint16_t)(W5500_DNS_MAX_CNAME + 1u), nm);
    owner[0] = 0xC0;
    owner[1] = 12;
    for (unsigned i = 0; i < W5500_DNS_MAX_CNAME; i++) {
        uint8_t t[4] = {2, 'n', (uint8_t)('a' + i), 0};
        size_t rd_at = p.n + 2 + 10;
        rr(&p, owner, 2, 5, t, 4);
        owner[1] = (uint8_t)rd_at;
    }
    rr(&p, owner, 2, 1, IP1, 4);
    assert_int_equal(w5500_dns_parse_response(p.b, p.n, QID, nm, ip, NULL), W5500_OK);
    assert_memory_equal(ip, IP1, 4);

    assert_int_equal(w5500_dns_parse_response(NULL, 10, QID, nm, ip, NULL), W5500_ERR_ARG);
    assert_int_equal(w5500_dns_parse_response(p.b, p.n, QID, "bad..name", ip, NULL), W5500_ERR_ARG);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_dhcp_parse_offer_ack_nak),
        cmocka_unit_test(test_dhcp_parse_not_ours),
        cmocka_unit_test(test_dhcp_parse_hostile),
        cmocka_unit_test(test_dhcp_build),
        cmocka_unit_test(test_dns_build_query),
        cmocka_unit_test(test_dns_parse_good),
        cmocka_unit_test(test_dns_parse_status),
        cmocka_unit_test(test_dns_parse_hostile),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
