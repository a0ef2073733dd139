/*
 * W5500 model, built-in LAN services: a DHCP exchange and DNS queries with hand-built packets
 * sent through a UDP socket driven over the pins, and every DHCP/DNS fault.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "w5500_test_util.h"

static int setup(void **state)
{
    (void)state;
    t_model_new(NULL);
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    t_model_free();
    return 0;
}

static const uint8_t MAC_A[6] = {0x00, 0x08, 0xDC, 0xAA, 0xBB, 0x01};
static const uint8_t MAC_B[6] = {0x00, 0x08, 0xDC, 0xAA, 0xBB, 0x02};

static void put32(uint8_t *p, uint32_t v)
{
    p[0] = (uint8_t)(v >> 24);
    p[1] = (uint8_t)(v >> 16);
    p[2] = (uint8_t)(v >> 8);
    p[3] = (uint8_t)v;
}

static uint32_t get32(const uint8_t *p)
{
    return ((uint32_t)p[0] << 24) | ((uint32_t)p[1] << 16) | ((uint32_t)p[2] << 8) | p[3];
}

/* A 548-byte DHCP client message (RFC 2131 layout), as ioLibrary sends. */
static size_t dhcp_msg(uint8_t *b, uint8_t type, uint32_t xid, const uint8_t mac[6],
                       uint32_t req_ip, uint32_t server_id)
{
    memset(b, 0, 548);
    b[0] = 1;
    b[1] = 1;
    b[2] = 6;
    put32(&b[4], xid);
    b[10] = 0x80; /* broadcast flag */
    memcpy(&b[28], mac, 6);
    put32(&b[236], 0x63825363);
    size_t o = 240;
    b[o++] = 53;
    b[o++] = 1;
    b[o++] = type;
    b[o++] = 61; /* client id: ignored by the server, must be skipped */
    b[o++] = 7;
    b[o++] = 1;
    memcpy(&b[o], mac, 6);
    o += 6;
    if (req_ip != 0) {
        b[o++] = 50;
        b[o++] = 4;
        put32(&b[o], req_ip);
        o += 4;
    }
    if (server_id != 0) {
        b[o++] = 54;
        b[o++] = 4;
        put32(&b[o], server_id);
        o += 4;
    }
    b[o++] = 0; /* pad */
    b[o++] = 255;
    return 548;
}

/* Socket 0 on UDP port 68 sending to 255.255.255.255:67. */
static void dhcp_socket(uint8_t mr)
{
    t_open(0, mr, 68, S_UDP);
    t_wr32(T_SREG(0), RS_DIPR, 0xFFFFFFFF);
    t_wr16(T_SREG(0), RS_DPORT, 67);
}

/* Send msg; return the reply's length (0 if none) with the payload in out. */
static size_t exchange(unsigned sn, const uint8_t *msg, size_t len, uint8_t *out, size_t cap,
                       uint8_t hdr[8])
{
    t_send(sn, msg, len);
    assert_int_equal(t_rd8(T_SREG(sn), RS_IR) & I_SEND_OK, I_SEND_OK);
    t_wr8(T_SREG(sn), RS_IR, 0xFF);
    t_advance(1000);
    uint16_t rsr = t_rd16(T_SREG(sn), RS_RX_RSR);
    if (rsr == 0) {
        return 0;
    }
    t_recv(sn, hdr, 8);
    size_t n = (size_t)((hdr[6] << 8) | hdr[7]);
    assert_int_equal(rsr, 8 + n);
    assert_true(n <= cap);
    t_recv(sn, out, n);
    return n;
}

/* Value of option code in a DHCP message, NULL if absent; *olen gets its length. */
static const uint8_t *dhcp_opt(const uint8_t *m, size_t len, uint8_t code, uint8_t *olen)
{
    size_t i = 240;
    while (i + 1 < len && m[i] != 255) {
        if (m[i] == 0) {
            i++;
            continue;
        }
        if (m[i] == code) {
            *olen = m[i + 1];
            return &m[i + 2];
        }
        i += 2u + m[i + 1];
    }
    return NULL;
}

static void expect_opt32(const uint8_t *m, size_t len, uint8_t code, uint32_t v)
{
    uint8_t ol = 0;
    const uint8_t *p = dhcp_opt(m, len, code, &ol);
    assert_non_null(p);
    assert_int_equal(ol, 4);
    assert_int_equal(get32(p), v);
}

static uint8_t msg_type(const uint8_t *m, size_t len)
{
    uint8_t ol = 0;
    const uint8_t *p = dhcp_opt(m, len, 53, &ol);
    assert_non_null(p);
    assert_int_equal(ol, 1);
    return p[0];
}

static void test_dhcp_exchange(void **state)
{
    (void)state;
    uint8_t q[548] = {0};
    uint8_t r[600] = {0};
    uint8_t hdr[8] = {0};
    dhcp_socket(0x02);
    /* DISCOVER -> OFFER of the first pool address, from 192.168.1.1:67. */
    size_t n = exchange(0, q, dhcp_msg(q, 1, 0x11223344, MAC_A, 0, 0), r, sizeof(r), hdr);
    assert_int_equal(n, 300);
    const uint8_t want_hdr[6] = {192, 168, 1, 1, 0, 67};
    assert_memory_equal(hdr, want_hdr, 6);
    assert_int_equal(r[0], 2);
    assert_int_equal(get32(&r[4]), 0x11223344);
    assert_int_equal(get32(&r[16]), IP4(192, 168, 1, 100));
    assert_memory_equal(&r[28], MAC_A, 6);
    assert_int_equal(get32(&r[236]), 0x63825363);
    assert_int_equal(msg_type(r, n), 2);
    expect_opt32(r, n, 54, IP4(192, 168, 1, 1));
    expect_opt32(r, n, 51, 3600);
    expect_opt32(r, n, 1, IP4(255, 255, 255, 0));
    expect_opt32(r, n, 3, IP4(192, 168, 1, 1));
    expect_opt32(r, n, 6, IP4(192, 168, 1, 1));
    /* REQUEST the offered address -> ACK. */
    n = exchange(0, q, dhcp_msg(q, 3, 0x11223344, MAC_A, IP4(192, 168, 1, 100),
                                IP4(192, 168, 1, 1)), r, sizeof(r), hdr);
    assert_int_equal(n, 300);
    assert_int_equal(msg_type(r, n), 5);
    assert_int_equal(get32(&r[16]), IP4(192, 168, 1, 100));
    /* REQUEST of another address -> NAK without lease options. */
    n = exchange(0, q, dhcp_msg(q, 3, 0x5, MAC_A, IP4(192, 168, 1, 123), 0), r, sizeof(r), hdr);
    assert_int_equal(msg_type(r, n), 6);
    uint8_t ol;
    assert_null(dhcp_opt(r, n, 51, &ol));
    /* A REQUEST naming another server is not for us: silence. */
    n = exchange(0, q, dhcp_msg(q, 3, 0x6, MAC_A, IP4(192, 168, 1, 100), IP4(192, 168, 1, 9)), r,
                 sizeof(r), hdr);
    assert_int_equal(n, 0);
    /* A second client gets the next address; the first keeps its own. */
    n = exchange(0, q, dhcp_msg(q, 1, 0x7, MAC_B, 0, 0), r, sizeof(r), hdr);
    assert_int_equal(msg_type(r, n), 2);
    assert_int_equal(get32(&r[16]), IP4(192, 168, 1, 101));
    n = exchange(0, q, dhcp_msg(q, 1, 0x8, MAC_A, 0, 0), r, sizeof(r), hdr);
    assert_int_equal(msg_type(r, n), 2);
    assert_int_equal(get32(&r[16]), IP4(192, 168, 1, 100));
    /* DECLINE (address in use): never offered again. */
    n = exchange(0, q, dhcp_msg(q, 4, 0x9, MAC_A, IP4(192, 168, 1, 100), IP4(192, 168, 1, 1)), r,
                 sizeof(r), hdr);
    assert_int_equal(n, 0);
    n = exchange(0, q, dhcp_msg(q, 1, 0xA, MAC_A, 0, 0), r, sizeof(r), hdr);
    assert_int_equal(msg_type(r, n), 2);
    assert_int_equal(get32(&r[16]), IP4(192, 168, 1, 102));
    /* RELEASE frees the lease: the next DISCOVER of that client reuses the freed slot. */
    n = exchange(0, q, dhcp_msg(q, 7, 0xB, MAC_B, 0, 0), r, sizeof(r), hdr);
    assert_int_equal(n, 0);
    n = exchange(0, q, dhcp_msg(q, 1, 0xC, MAC_B, 0, 0), r, sizeof(r), hdr);
    assert_int_equal(msg_type(r, n), 2);
    assert_int_equal(get32(&r[16]), IP4(192, 168, 1, 101));
    struct w5500_model_stats st;
    w5500_model_get_stats(tm, &st);
    assert_int_equal(st.dhcp_requests, 10);
}

static void test_dhcp_unicast_renewal_and_bad_input(void **state)
{
    (void)state;
    uint8_t q[548] = {0};
    uint8_t r[600] = {0};
    uint8_t hdr[8] = {0};
    dhcp_socket(0x02);
    (void)exchange(0, q, dhcp_msg(q, 1, 1, MAC_A, 0, 0), r, sizeof(r), hdr);
    (void)exchange(0, q, dhcp_msg(q, 3, 1, MAC_A, IP4(192, 168, 1, 100), IP4(192, 168, 1, 1)), r,
                   sizeof(r), hdr);
    /* Renewal: unicast to the server, ciaddr set, no option 50. */
    t_netcfg();
    t_wr32(T_SREG(0), RS_DIPR, IP4(192, 168, 1, 1));
    dhcp_msg(q, 3, 2, MAC_A, 0, 0);
    put32(&q[12], IP4(192, 168, 1, 100));
    size_t n = exchange(0, q, 548, r, sizeof(r), hdr);
    assert_int_equal(msg_type(r, n), 5);
    /* Malformed: too short, wrong op, bad cookie, option running past the end: no reply. */
    n = exchange(0, q, 200, r, sizeof(r), hdr);
    assert_int_equal(n, 0);
    dhcp_msg(q, 1, 3, MAC_A, 0, 0);
    q[0] = 2;
    assert_int_equal(exchange(0, q, 548, r, sizeof(r), hdr), 0);
    dhcp_msg(q, 1, 3, MAC_A, 0, 0);
    q[236] = 0;
    assert_int_equal(exchange(0, q, 548, r, sizeof(r), hdr), 0);
    dhcp_msg(q, 1, 3, MAC_A, 0, 0);
    q[240] = 53;
    q[241] = 255; /* length past the message */
    assert_int_equal(exchange(0, q, 548, r, sizeof(r), hdr), 0);
    /* DHCP to a port other than 67 reaches no one. */
    t_wr16(T_SREG(0), RS_DPORT, 68);
    assert_int_equal(exchange(0, q, dhcp_msg(q, 1, 4, MAC_A, 0, 0), r, sizeof(r), hdr), 0);
}

static void test_dhcp_broadcast_blocked(void **state)
{
    (void)state;
    uint8_t q[548] = {0};
    uint8_t r[600] = {0};
    uint8_t hdr[8] = {0};
    dhcp_socket(0x42); /* UDP with BCASTB: the broadcast OFFER is not received */
    assert_int_equal(exchange(0, q, dhcp_msg(q, 1, 1, MAC_A, 0, 0), r, sizeof(r), hdr), 0);
}

static void test_dhcp_faults(void **state)
{
    (void)state;
    uint8_t q[548] = {0};
    uint8_t r[600] = {0};
    uint8_t hdr[8] = {0};
    dhcp_socket(0x02);
    w5500_model_fault_dhcp(tm, W5500_DHCP_FAULT_IGNORE_DISCOVER, 1);
    assert_int_equal(exchange(0, q, dhcp_msg(q, 1, 1, MAC_A, 0, 0), r, sizeof(r), hdr), 0);
    size_t n = exchange(0, q, dhcp_msg(q, 1, 1, MAC_A, 0, 0), r, sizeof(r), hdr);
    assert_int_equal(msg_type(r, n), 2);
    w5500_model_fault_dhcp(tm, W5500_DHCP_FAULT_NAK_REQUEST, 1);
    n = exchange(0, q, dhcp_msg(q, 3, 1, MAC_A, IP4(192, 168, 1, 100), IP4(192, 168, 1, 1)), r,
                 sizeof(r), hdr);
    assert_int_equal(msg_type(r, n), 6);
    w5500_model_fault_dhcp(tm, W5500_DHCP_FAULT_IGNORE_REQUEST, 2);
    assert_int_equal(exchange(0, q, dhcp_msg(q, 3, 1, MAC_A, IP4(192, 168, 1, 100),
                                             IP4(192, 168, 1, 1)), r, sizeof(r), hdr), 0);
    /* IGNORE_REQUEST does not swallow DISCOVERs, nor count them. */
    n = exchange(0, q, dhcp_msg(q, 1, 1, MAC_A, 0, 0), r, sizeof(r), hdr);
    assert_int_equal(msg_type(r, n), 2);
    assert_int_equal(exchange(0, q, dhcp_msg(q, 3, 1, MAC_A, IP4(192, 168, 1, 100),
                                             IP4(192, 168, 1, 1)), r, sizeof(r), hdr), 0);
    n = exchange(0, q, dhcp_msg(q, 3, 1, MAC_A, IP4(192, 168, 1, 100), IP4(192, 168, 1, 1)), r,
                 sizeof(r), hdr);
    assert_int_equal(msg_type(r, n), 5);
    w5500_model_fault_dhcp(tm, W5500_DHCP_FAULT_IGNORE_ALL, UINT32_MAX);
    for (int i = 0; i < 3; i++) {
        assert_int_equal(exchange(0, q, dhcp_msg(q, 1, 1, MAC_A, 0, 0), r, sizeof(r), hdr), 0);
    }
    w5500_model_fault_dhcp(tm, W5500_DHCP_FAULT_NONE, 0);
    n = exchange(0, q, dhcp_msg(q, 1, 1, MAC_A, 0, 0), r, sizeof(r), hdr);
    assert_int_equal(msg_type(r, n), 2);
    /* A truncated OFFER (UDP truncation fault applies to LAN services too). */
    w5500_model_fault_udp_truncate(tm, 100, 1);
    n = exchange(0, q, dhcp_msg(q, 1, 1, MAC_A, 0, 0), r, sizeof(r), hdr);
    assert_int_equal(n, 100);
}

static void test_dhcp_lease_options(void **state)
{
    (void)state;
    t_model_free();
    struct w5500_model_config cfg;
    w5500_model_config_default(&cfg);
    cfg.dhcp_lease_s = 0; /* no option 51 */
    cfg.dns_server_ip = 0;
    cfg.gateway_ip = 0;
    cfg.dhcp_pool_first = IP4(192, 168, 1, 200);
    t_model_new(&cfg);
    uint8_t q[548] = {0};
    uint8_t r[600] = {0};
    uint8_t hdr[8] = {0};
    dhcp_socket(0x02);
    size_t n = exchange(0, q, dhcp_msg(q, 1, 1, MAC_A, 0, 0), r, sizeof(r), hdr);
    assert_int_equal(get32(&r[16]), IP4(192, 168, 1, 200));
    uint8_t ol;
    assert_null(dhcp_opt(r, n, 51, &ol));
    assert_null(dhcp_opt(r, n, 3, &ol));
    assert_null(dhcp_opt(r, n, 6, &ol));
    /* Without a DHCP server nothing answers. */
    t_model_free();
    cfg.dhcp_server = false;
    t_model_new(&cfg);
    dhcp_socket(0x02);
    assert_int_equal(exchange(0, q, dhcp_msg(q, 1, 1, MAC_A, 0, 0), r, sizeof(r), hdr), 0);
    /* A DHCP server outside the LAN is a configuration error. */
    cfg.dhcp_server = true;
    cfg.dhcp_server_ip = IP4(10, 0, 0, 1);
    assert_null(w5500_model_new(&cfg));
    assert_null(w5500_model_new(NULL));
}

/* A DNS A query for name with id. */
static size_t dns_query(uint8_t *b, uint16_t id, const char *name, uint16_t qtype)
{
    b[0] = (uint8_t)(id >> 8);
    b[1] = (uint8_t)id;
    b[2] = 0x01; /* RD */
    b[3] = 0x00;
    b[4] = 0;
    b[5] = 1;
    memset(&b[6], 0, 6);
    size_t o = 12;
    const char *p = name;
    while (*p != '\0') {
        const char *dot = strchr(p, '.');
        size_t l = dot ? (size_t)(dot - p) : strlen(p);
        b[o++] = (uint8_t)l;
        memcpy(&b[o], p, l);
        o += l;
        p += l;
        if (*p == '.') {
            p++;
        }
    }
    b[o++] = 0;
    b[o++] = (uint8_t)(qtype >> 8);
    b[o++] = (uint8_t)qtype;
    b[o++] = 0;
    b[o++] = 1;
    return o;
}

static void dns_socket(void)
{
    t_netcfg();
    t_open(1, 0x02, 0xC000, S_UDP);
    t_wr32(T_SREG(1), RS_DIPR, IP4(192, 168, 1, 1));
    t_wr16(T_SREG(1), RS_DPORT, 53);
}

static void test_dns_queries(void **state)
{
    (void)state;
    assert_int_equal(w5500_model_dns_add(tm, "ota.example.com", IP4(192, 168, 1, 50)),
                     W5500_MODEL_OK);
    dns_socket();
    uint8_t q[300] = {0};
    uint8_t r[600] = {0};
    uint8_t hdr[8] = {0};
    size_t ql = dns_query(q, 0x1234, "ota.example.com", 1);
    size_t n = exchange(1, q, ql, r, sizeof(r), hdr);
    const uint8_t want_hdr[6] = {192, 168, 1, 1, 0, 53};
    assert_memory_equal(hdr, want_hdr, 6);
    assert_int_equal(n, ql + 16);
    assert_int_equal(r[0], 0x12);
    assert_int_equal(r[1], 0x34);
    assert_int_equal(r[2], 0x81); /* QR, RD */
    assert_int_equal(r[3], 0x80); /* RA, rcode 0 */
    assert_int_equal(r[7], 1);    /* ANCOUNT */
    assert_memory_equal(&r[12], &q[12], ql - 12);
    const uint8_t answer[16] = {0xC0, 0x0C, 0, 1, 0, 1, 0, 0, 0x01, 0x2C, 0, 4, 192, 168, 1, 50};
    assert_memory_equal(&r[ql], answer, 16);
    /* Case-insensitive. */
    ql = dns_query(q, 0x1, "OTA.Example.COM", 1);
    n = exchange(1, q, ql, r, sizeof(r), hdr);
    assert_int_equal(get32(&r[n - 4]), IP4(192, 168, 1, 50));
    /* Unknown name: NXDOMAIN, no answer. */
    ql = dns_query(q, 0x2, "nope.example.com", 1);
    n = exchange(1, q, ql, r, sizeof(r), hdr);
    assert_int_equal(n, ql);
    assert_int_equal(r[3] & 0x0F, 3);
    assert_int_equal(r[7], 0);
    /* Known name, other type (AAAA): NOERROR with no answer. */
    ql = dns_query(q, 0x3, "ota.example.com", 28);
    n = exchange(1, q, ql, r, sizeof(r), hdr);
    assert_int_equal(n, ql);
    assert_int_equal(r[3] & 0x0F, 0);
    assert_int_equal(r[7], 0);
    /* Malformed question: FORMERR. */
    ql = dns_query(q, 0x4, "ota.example.com", 1);
    n = exchange(1, q, 20, r, sizeof(r), hdr);
    assert_int_equal(n, 12);
    assert_int_equal(r[3] & 0x0F, 1);
    /* A query to another port or a non-server address gets nothing. */
    t_wr16(T_SREG(1), RS_DPORT, 54);
    assert_int_equal(exchange(1, q, ql, r, sizeof(r), hdr), 0);
    struct w5500_model_stats st;
    w5500_model_get_stats(tm, &st);
    assert_int_equal(st.dns_queries, 5);
}

static void test_dns_faults(void **state)
{
    (void)state;
    assert_int_equal(w5500_model_dns_add(tm, "ota.example.com", IP4(192, 168, 1, 50)),
                     W5500_MODEL_OK);
    dns_socket();
    uint8_t q[300] = {0};
    uint8_t r[600] = {0};
    uint8_t hdr[8] = {0};
    size_t ql = dns_query(q, 0x1234, "ota.example.com", 1);
    w5500_model_fault_dns(tm, W5500_DNS_FAULT_DROP, 1);
    assert_int_equal(exchange(1, q, ql, r, sizeof(r), hdr), 0);
    assert_int_equal(exchange(1, q, ql, r, sizeof(r), hdr), ql + 16);
    w5500_model_fault_dns(tm, W5500_DNS_FAULT_CORRUPT, 1);
    size_t n = exchange(1, q, ql, r, sizeof(r), hdr);
    assert_int_equal(n, ql + 14); /* rdlength 4, two address bytes missing */
    assert_int_equal(r[ql + 11], 4);
    w5500_model_fault_dns(tm, W5500_DNS_FAULT_SERVFAIL, 1);
    n = exchange(1, q, ql, r, sizeof(r), hdr);
    assert_int_equal(n, ql);
    assert_int_equal(r[3] & 0x0F, 2);
    assert_int_equal(r[7], 0);
    w5500_model_fault_dns(tm, W5500_DNS_FAULT_WRONG_ID, 1);
    n = exchange(1, q, ql, r, sizeof(r), hdr);
    assert_int_equal(r[0], 0x12);
    assert_int_equal(r[1], 0x35);
    assert_int_equal(n, ql + 16);
    /* Faults used up: normal answers again. */
    n = exchange(1, q, ql, r, sizeof(r), hdr);
    assert_int_equal(r[1], 0x34);
    assert_int_equal(get32(&r[n - 4]), IP4(192, 168, 1, 50));
    /* The DNS server unreachable (link down): ARP timeout, no answer. */
    w5500_model_set_link(tm, false);
    t_send(1, q, ql);
    t_advance(1800000);
    assert_int_equal(t_rd8(T_SREG(1), RS_IR), I_TIMEOUT);
    assert_int_equal(t_rd16(T_SREG(1), RS_RX_RSR), 0);
}

static void test_dns_add_errors(void **state)
{
    (void)state;
    assert_int_equal(w5500_model_dns_add(tm, NULL, 1), W5500_MODEL_EARG);
    assert_int_equal(w5500_model_dns_add(NULL, "a.b", 1), W5500_MODEL_EARG);
    assert_int_equal(w5500_model_dns_add(tm, "", 1), W5500_MODEL_EARG);
    assert_int_equal(w5500_model_dns_add(tm, "a..b", 1), W5500_MODEL_EARG);
    assert_int_equal(w5500_model_dns_add(tm, ".a", 1), W5500_MODEL_EARG);
    assert_int_equal(w5500_model_dns_add(tm, "a.", 1), W5500_MODEL_EARG);
    char label64[80];
    memset(label64, 'x', 64);
    label64[64] = '\0';
    assert_int_equal(w5500_model_dns_add(tm, label64, 1), W5500_MODEL_EARG);
    label64[63] = '\0';
    assert_int_equal(w5500_model_dns_add(tm, label64, 1), W5500_MODEL_OK);
    int rc = W5500_MODEL_OK;
    for (int i = 0; i < 40 && rc == W5500_MODEL_OK; i++) {
        rc = w5500_model_dns_add(tm, "h.example", (uint32_t)i);
    }
    assert_int_equal(rc, W5500_MODEL_EFULL);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_dhcp_exchange, setup, teardown),
        cmocka_unit_test_setup_teardown(test_dhcp_unicast_renewal_and_bad_input, setup, teardown),
        cmocka_unit_test_setup_teardown(test_dhcp_broadcast_blocked, setup, teardown),
        cmocka_unit_test_setup_teardown(test_dhcp_faults, setup, teardown),
        cmocka_unit_test_setup_teardown(test_dhcp_lease_options, setup, teardown),
        cmocka_unit_test_setup_teardown(test_dns_queries, setup, teardown),
        cmocka_unit_test_setup_teardown(test_dns_faults, setup, teardown),
        cmocka_unit_test_setup_teardown(test_dns_add_errors, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
