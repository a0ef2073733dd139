/*
 * W5500 model, network side: TCP client and server bridged to loopback host sockets, UDP echo,
 * ARP/TCP timeouts for unmapped destinations in model time, link down, and every fault.
 * Host peers are real loopback sockets started by the test; the chip is driven through its pins.
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cmocka.h>

#include "w5500_test_util.h"

#define LAN_SERVER IP4(192, 168, 1, 50)
#define ARP_TO_DEFAULT_US 1800000u   /* 2000 x 0.1 ms x 9 */
#define TCP_TO_DEFAULT_US 31800000u  /* w5500.md §2 */

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

static void clear_ir(unsigned sn, uint8_t bits)
{
    t_wr8(T_SREG(sn), RS_IR, bits);
}

/* Client socket sn connected to the host listener lfd through LAN_SERVER:8080; returns the
 * host's end. */
static int connect_client_map(unsigned sn, int lfd, uint16_t hp, bool map)
{
    if (map) {
        assert_int_equal(w5500_model_map_tcp(tm, LAN_SERVER, 8080, hp), W5500_MODEL_OK);
    }
    t_netcfg();
    t_open(sn, 0x01, 40000, S_INIT);
    t_wr32(T_SREG(sn), RS_DIPR, LAN_SERVER);
    t_wr16(T_SREG(sn), RS_DPORT, 8080);
    t_cmd(sn, C_CONNECT);
    assert_int_equal(t_rd8(T_SREG(sn), RS_SR), S_SYNSENT);
    int cfd = h_accept(lfd);
    assert_int_equal(t_wait_sr(sn, S_ESTABLISHED, 100, 100000), S_ESTABLISHED);
    assert_int_equal(t_rd8(T_SREG(sn), RS_IR) & I_CON, I_CON);
    clear_ir(sn, I_CON);
    return cfd;
}

static int connect_client(unsigned sn, int lfd, uint16_t hp)
{
    return connect_client_map(sn, lfd, hp, true);
}

/* Send len bytes through socket sn, FSR permitting, waiting for SEND_OK after each SEND. */
static void chip_send_all(unsigned sn, const uint8_t *p, size_t len)
{
    size_t sent = 0;
    while (sent < len) {
        uint16_t fsr = t_rd16(T_SREG(sn), RS_TX_FSR);
        size_t chunk = len - sent;
        if (chunk > fsr) {
            chunk = fsr;
        }
        if (chunk > 1500) {
            chunk = 1500;
        }
        if (chunk == 0) {
            t_advance(100);
            continue;
        }
        t_send(sn, p + sent, chunk);
        sent += chunk;
        assert_int_equal(t_wait_ir(sn, I_SEND_OK, 100, 100000) & I_SEND_OK, I_SEND_OK);
        clear_ir(sn, I_SEND_OK);
    }
}

/* Receive exactly len bytes from socket sn. */
static void chip_recv_all(unsigned sn, uint8_t *p, size_t len)
{
    size_t got = 0;
    int idle = 0;
    while (got < len) {
        t_advance(100);
        uint16_t rsr = t_rd16(T_SREG(sn), RS_RX_RSR);
        if (rsr == 0) {
            assert_true(++idle < 10000);
            continue;
        }
        size_t n = rsr;
        if (n > len - got) {
            n = len - got;
        }
        t_recv(sn, p + got, n);
        got += n;
    }
}

static void test_tcp_client_data_both_ways(void **state)
{
    (void)state;
    uint16_t hp;
    int lfd = h_tcp_listen(&hp);
    assert_false(w5500_model_host_open(tm));
    int cfd = connect_client(0, lfd, hp);
    assert_true(w5500_model_host_open(tm));
    /* chip -> host: 5000 bytes through a 2 KB buffer (wraps twice). */
    static uint8_t out[5000];
    static uint8_t in[5000];
    t_pattern(out, sizeof(out), 1);
    chip_send_all(0, out, sizeof(out));
    assert_true(h_read_n(cfd, in, sizeof(in)));
    assert_int_equal(t_fnv(in, sizeof(in)), t_fnv(out, sizeof(out)));
    assert_int_equal(t_rd16(T_SREG(0), RS_TX_FSR), 0x0800);
    assert_int_equal(t_rd16(T_SREG(0), RS_TX_RD), 5000);
    /* host -> chip: 6000 bytes. */
    static uint8_t hin[6000];
    static uint8_t cout[6000];
    t_pattern(hin, sizeof(hin), 2);
    h_write_all(cfd, hin, sizeof(hin));
    chip_recv_all(0, cout, sizeof(cout));
    assert_int_equal(t_fnv(cout, sizeof(cout)), t_fnv(hin, sizeof(hin)));
    assert_int_equal(t_rd16(T_SREG(0), RS_RX_WR), 6000);
    assert_int_equal(t_rd8(T_SREG(0), RS_IR) & I_RECV, I_RECV);
    struct w5500_model_stats st;
    w5500_model_get_stats(tm, &st);
    assert_int_equal(st.tx_payload, 5000);
    assert_int_equal(st.rx_payload, 6000);
    /* Host closes: CLOSE_WAIT + DISCON; DISCON from the chip then closes the socket. */
    assert_int_equal(close(cfd), 0);
    assert_int_equal(t_wait_sr(0, S_CLOSE_WAIT, 100, 100000), S_CLOSE_WAIT);
    assert_int_equal(t_rd8(T_SREG(0), RS_IR) & I_DISCON, I_DISCON);
    t_cmd(0, C_DISCON);
    assert_int_equal(t_wait_sr(0, S_CLOSED, 100, 100000), S_CLOSED);
    assert_int_equal(t_rd8(T_SREG(0), RS_IR) & I_TIMEOUT, 0);
    assert_false(w5500_model_host_open(tm)); /* the host socket went with the connection */
    assert_int_equal(close(lfd), 0);
}

static void test_tcp_active_close(void **state)
{
    (void)state;
    uint16_t hp;
    int lfd = h_tcp_listen(&hp);
    int cfd = connect_client(1, lfd, hp);
    const uint8_t msg[] = "bye";
    t_send(1, msg, 3);
    t_cmd(1, C_DISCON);
    assert_int_equal(t_rd8(T_SREG(1), RS_SR), S_FIN_WAIT);
    uint8_t b[3];
    assert_true(h_read_n(cfd, b, 3)); /* data before FIN */
    assert_memory_equal(b, msg, 3);
    assert_int_equal(h_read_status(cfd), 0); /* EOF */
    assert_int_equal(t_rd8(T_SREG(1), RS_SR), S_FIN_WAIT);
    assert_int_equal(close(cfd), 0);
    assert_int_equal(t_wait_sr(1, S_CLOSED, 100, 100000), S_CLOSED);
    assert_int_equal(t_rd8(T_SREG(1), RS_IR) & (I_DISCON | I_TIMEOUT), I_DISCON);
    assert_int_equal(close(lfd), 0);
}

/* The tutorial's server: writes the image, then closes with our bytes unread, so Linux sends RST
 * after the data. Everything sent before the reset must reach the chip, then CLOSED + DISCON. */
static void test_tcp_data_then_reset(void **state)
{
    (void)state;
    uint16_t hp;
    int lfd = h_tcp_listen(&hp);
    int cfd = connect_client(0, lfd, hp);
    const uint8_t ack[3] = {'A', 'C', 'K'};
    t_send(0, ack, 3);
    t_advance(100); /* the host has our 3 bytes now and never reads them */
    static uint8_t img[5000];
    static uint8_t got[5000];
    t_pattern(img, sizeof(img), 9);
    h_write_all(cfd, img, sizeof(img));
    assert_int_equal(close(cfd), 0); /* unread data: RST */
    size_t total = 0;
    for (int i = 0; i < 1000 && total < sizeof(got); i++) {
        t_advance(100);
        uint16_t rsr = t_rd16(T_SREG(0), RS_RX_RSR);
        if (rsr != 0) {
            t_recv(0, got + total, rsr);
            total += rsr;
        }
    }
    assert_int_equal(total, sizeof(img));
    assert_int_equal(t_fnv(got, total), t_fnv(img, sizeof(img)));
    assert_int_equal(t_rd8(T_SREG(0), RS_SR), S_CLOSED);
    assert_int_equal(t_rd16(T_SREG(0), RS_RX_RSR), 0); /* RECV works in CLOSED too */
    assert_int_equal(t_rd8(T_SREG(0), RS_IR) & I_DISCON, I_DISCON);
    assert_int_equal(close(lfd), 0);
}

/* A reset while in CLOSE_WAIT (no more reading) is still seen. */
static void test_tcp_reset_in_close_wait(void **state)
{
    (void)state;
    uint16_t hp;
    int lfd = h_tcp_listen(&hp);
    int cfd = connect_client(0, lfd, hp);
    assert_int_equal(shutdown(cfd, SHUT_WR), 0);
    assert_int_equal(t_wait_sr(0, S_CLOSE_WAIT, 100, 100000), S_CLOSE_WAIT);
    const uint8_t d[3] = {1, 2, 3};
    t_send(0, d, 3);
    t_advance(100);
    assert_int_equal(close(cfd), 0); /* our 3 bytes unread: RST */
    assert_int_equal(t_wait_sr(0, S_CLOSED, 100, 100000), S_CLOSED);
    assert_int_equal(t_rd8(T_SREG(0), RS_IR) & I_TIMEOUT, 0);
    assert_int_equal(close(lfd), 0);
}

static void test_tcp_close_resets_host(void **state)
{
    (void)state;
    uint16_t hp;
    int lfd = h_tcp_listen(&hp);
    int cfd = connect_client(2, lfd, hp);
    t_cmd(2, C_CLOSE);
    assert_int_equal(t_rd8(T_SREG(2), RS_SR), S_CLOSED);
    assert_int_equal(h_read_status(cfd), -1);
    assert_int_equal(close(cfd), 0);
    assert_int_equal(close(lfd), 0);
}

static void expect_connect_timeout(uint32_t dip, uint64_t to_us)
{
    t_open(0, 0x01, 40001, S_INIT);
    t_wr32(T_SREG(0), RS_DIPR, dip);
    t_wr16(T_SREG(0), RS_DPORT, 80);
    assert_int_equal(w5500_model_next_deadline(tm), UINT64_MAX);
    t_cmd(0, C_CONNECT);
    assert_int_equal(t_rd8(T_SREG(0), RS_SR), S_SYNSENT);
    assert_int_equal(w5500_model_next_deadline(tm), tnow + to_us);
    t_advance(to_us - 1);
    assert_int_equal(t_rd8(T_SREG(0), RS_SR), S_SYNSENT);
    assert_int_equal(t_rd8(T_SREG(0), RS_IR), 0);
    t_advance(1);
    assert_int_equal(t_rd8(T_SREG(0), RS_IR), I_TIMEOUT);
    assert_int_equal(t_rd8(T_SREG(0), RS_SR), S_CLOSED);
    clear_ir(0, I_TIMEOUT);
}

static void test_tcp_unmapped_timeouts(void **state)
{
    (void)state;
    t_netcfg();
    /* On the subnet, nobody answers ARP: ARP_TO = RTR x 0.1 ms x (RCR + 1). */
    expect_connect_timeout(IP4(192, 168, 1, 77), ARP_TO_DEFAULT_US);
    t_wr16(T_COMMON, R_RTR, 1000);
    t_wr8(T_COMMON, R_RCR, 2);
    expect_connect_timeout(IP4(192, 168, 1, 77), 300000);
    /* Off the subnet: the gateway answers ARP, the SYNs go unanswered: TCP_TO. */
    t_wr16(T_COMMON, R_RTR, 0x07D0);
    t_wr8(T_COMMON, R_RCR, 8);
    expect_connect_timeout(IP4(10, 1, 2, 3), TCP_TO_DEFAULT_US);
    /* RTR 0x4000, RCR 3: 16384 + 32768 + 2 x 32768 = 114688 x 0.1 ms. */
    t_wr16(T_COMMON, R_RTR, 0x4000);
    t_wr8(T_COMMON, R_RCR, 3);
    expect_connect_timeout(IP4(10, 1, 2, 3), 11468800);
    /* A LAN host that exists (the DNS server at .1) but has no TCP service mapped: TCP_TO. */
    t_wr16(T_COMMON, R_RTR, 1000);
    t_wr8(T_COMMON, R_RCR, 1);
    expect_connect_timeout(IP4(192, 168, 1, 1), 300000); /* 1000 + 2000 */
    /* Gateway register pointing nowhere: off-subnet ARP fails, ARP_TO. */
    t_wr32(T_COMMON, R_GAR, IP4(192, 168, 1, 99));
    expect_connect_timeout(IP4(10, 1, 2, 3), 200000);
}

static void test_tcp_refused(void **state)
{
    (void)state;
    uint16_t hp;
    int lfd = h_tcp_listen(&hp);
    assert_int_equal(close(lfd), 0); /* nothing listens on hp now */
    assert_int_equal(w5500_model_map_tcp(tm, LAN_SERVER, 8080, hp), W5500_MODEL_OK);
    t_netcfg();
    t_open(0, 0x01, 40000, S_INIT);
    t_wr32(T_SREG(0), RS_DIPR, LAN_SERVER);
    t_wr16(T_SREG(0), RS_DPORT, 8080);
    t_cmd(0, C_CONNECT);
    /* RST instead of SYN/ACK: CLOSED without TIMEOUT (DISCON per WIZnet's stated design). */
    assert_int_equal(t_wait_sr(0, S_CLOSED, 100, 100000), S_CLOSED);
    assert_int_equal(t_rd8(T_SREG(0), RS_IR), I_DISCON);
}

static void test_tcp_server_inbound(void **state)
{
    (void)state;
    uint16_t hp = 0;
    assert_int_equal(w5500_model_expose_tcp(tm, 5000, 0, &hp), W5500_MODEL_OK);
    assert_true(hp != 0);
    assert_int_equal(w5500_model_expose_tcp(tm, 5000, 0, NULL), W5500_MODEL_EEXIST);
    assert_int_equal(w5500_model_expose_tcp(tm, 0, 0, NULL), W5500_MODEL_EARG);
    t_netcfg();
    /* No listening socket: the host connection is reset. */
    int c0 = h_tcp_connect(hp);
    t_advance(100);
    assert_int_equal(h_read_status(c0), -1);
    assert_int_equal(close(c0), 0);
    /* LISTEN on Sn_PORT 5000; the host connects; the socket itself becomes ESTABLISHED. */
    t_open(3, 0x01, 5000, S_INIT);
    t_cmd(3, C_LISTEN);
    assert_int_equal(t_rd8(T_SREG(3), RS_SR), S_LISTEN);
    int c = h_tcp_connect(hp);
    struct sockaddr_in me = {0};
    socklen_t ml = sizeof(me);
    assert_int_equal(getsockname(c, (struct sockaddr *)&me, &ml), 0);
    assert_int_equal(t_wait_sr(3, S_ESTABLISHED, 100, 100000), S_ESTABLISHED);
    assert_int_equal(t_rd8(T_SREG(3), RS_IR) & I_CON, I_CON);
    assert_int_equal(t_rd32(T_SREG(3), RS_DIPR), IP4(192, 168, 1, 2));
    assert_int_equal(t_rd16(T_SREG(3), RS_DPORT), ntohs(me.sin_port));
    assert_int_equal(t_rd16(T_SREG(3), RS_MSSR), 1460);
    /* Data both ways. */
    uint8_t q[300];
    uint8_t r[300];
    t_pattern(q, sizeof(q), 3);
    h_write_all(c, q, sizeof(q));
    chip_recv_all(3, r, sizeof(r));
    assert_memory_equal(q, r, sizeof(q));
    t_pattern(q, sizeof(q), 4);
    chip_send_all(3, q, sizeof(q));
    assert_true(h_read_n(c, r, sizeof(r)));
    assert_memory_equal(q, r, sizeof(q));
    /* Active close from the chip. */
    t_cmd(3, C_DISCON);
    t_advance(100);
    assert_int_equal(h_read_status(c), 0);
    assert_int_equal(close(c), 0);
    assert_int_equal(t_wait_sr(3, S_CLOSED, 100, 100000), S_CLOSED);
}

static void test_rsr_changes_only_between_frames(void **state)
{
    (void)state;
    uint16_t hp;
    int lfd = h_tcp_listen(&hp);
    int cfd = connect_client(0, lfd, hp);
    const uint8_t d[10] = {0};
    h_write_all(cfd, d, sizeof(d));
    /* Start a read of RSR, advance time mid-frame: the value read is the old one. */
    w5500_model_set_scsn(tm, false);
    (void)w5500_model_spi_byte(tm, 0x00);
    (void)w5500_model_spi_byte(tm, RS_RX_RSR);
    (void)w5500_model_spi_byte(tm, (uint8_t)(T_SREG(0) << 3));
    t_advance(1000);
    assert_int_equal(w5500_model_spi_byte(tm, 0), 0);
    assert_int_equal(w5500_model_spi_byte(tm, 0), 0);
    w5500_model_set_scsn(tm, true); /* deferred work runs here */
    assert_int_equal(t_rd16(T_SREG(0), RS_RX_RSR), 10);
    assert_int_equal(close(cfd), 0);
    assert_int_equal(close(lfd), 0);
}

static void test_host_poll_interval(void **state)
{
    (void)state;
    t_model_free();
    struct w5500_model_config cfg;
    w5500_model_config_default(&cfg);
    cfg.host_poll_us = 1000;
    t_model_new(&cfg);
    uint16_t hp;
    int lfd = h_tcp_listen(&hp);
    int cfd = connect_client(0, lfd, hp);
    t_advance(1000); /* a poll happens here */
    const uint8_t d[10] = {0};
    h_write_all(cfd, d, sizeof(d));
    t_advance(999);
    assert_int_equal(t_rd16(T_SREG(0), RS_RX_RSR), 0);
    t_advance(1);
    assert_int_equal(t_rd16(T_SREG(0), RS_RX_RSR), 10);
    assert_int_equal(close(cfd), 0);
    assert_int_equal(close(lfd), 0);
}

/* rx_frame_us: after data entered the RX buffer, more (and a FIN) waits a frame time; sending does
 * not wait. */
static void test_rx_frame_spacing(void **state)
{
    (void)state;
    t_model_free();
    struct w5500_model_config cfg;
    w5500_model_config_default(&cfg);
    cfg.rx_frame_us = 123;
    t_model_new(&cfg);
    uint16_t hp;
    int lfd = h_tcp_listen(&hp);
    int cfd = connect_client(0, lfd, hp);
    const uint8_t d[10] = {1, 2, 3, 4, 5, 6, 7, 8, 9, 10};
    h_write_all(cfd, d, sizeof(d));
    t_advance(1); /* the first data after a quiet time shows at once */
    assert_int_equal(t_rd16(T_SREG(0), RS_RX_RSR), 10);
    h_write_all(cfd, d, sizeof(d));
    assert_int_equal(shutdown(cfd, SHUT_WR), 0);
    t_advance(121);
    assert_int_equal(t_rd16(T_SREG(0), RS_RX_RSR), 10);
    assert_int_equal(t_rd16(T_SREG(0), RS_RX_RSR), 10);
    assert_int_equal(t_rd8(T_SREG(0), RS_SR), S_ESTABLISHED); /* the FIN waits behind the data */
    /* Sending is not held back meanwhile: out at the next poll. */
    t_send(0, d, 4);
    t_advance(1);
    struct pollfd p = {.fd = cfd, .events = POLLIN, .revents = 0};
    assert_int_equal(poll(&p, 1, 2000), 1);
    uint8_t got[8] = {0};
    assert_int_equal(recv(cfd, got, sizeof got, 0), 4);
    assert_memory_equal(got, d, 4);
    assert_int_equal(t_rd16(T_SREG(0), RS_RX_RSR), 10); /* 122 us after the first data */
    t_advance(1);
    assert_int_equal(t_rd16(T_SREG(0), RS_RX_RSR), 20);
    assert_int_equal(t_rd8(T_SREG(0), RS_SR), S_CLOSE_WAIT);
    assert_int_equal(close(cfd), 0);
    assert_int_equal(close(lfd), 0);
}

static void test_udp_echo_and_header(void **state)
{
    (void)state;
    uint16_t hp;
    int ufd = h_udp_bind(&hp);
    assert_int_equal(w5500_model_map_udp(tm, IP4(192, 168, 1, 60), 7, hp), W5500_MODEL_OK);
    t_netcfg();
    t_open(1, 0x02, 3000, S_UDP);
    t_wr32(T_SREG(1), RS_DIPR, IP4(192, 168, 1, 60));
    t_wr16(T_SREG(1), RS_DPORT, 7);
    uint8_t msg[100];
    t_pattern(msg, sizeof(msg), 5);
    t_send(1, msg, sizeof(msg));
    assert_int_equal(t_rd8(T_SREG(1), RS_IR), I_SEND_OK);
    clear_ir(1, I_SEND_OK);
    uint8_t got[2048] = {0};
    struct sockaddr_in from = {0};
    socklen_t fl = sizeof(from);
    ssize_t r = recvfrom(ufd, got, sizeof(got), 0, (struct sockaddr *)&from, &fl);
    assert_int_equal(r, 100);
    assert_memory_equal(got, msg, 100);
    assert_int_equal(from.sin_addr.s_addr, htonl(INADDR_LOOPBACK));
    /* Echo two datagrams back; each arrives with its 8-byte header. */
    assert_int_equal(sendto(ufd, msg, 60, 0, (struct sockaddr *)&from, fl), 60);
    assert_int_equal(sendto(ufd, msg, 0, 0, (struct sockaddr *)&from, fl), 0);
    t_advance(100);
    assert_int_equal(t_rd16(T_SREG(1), RS_RX_RSR), 8 + 60 + 8);
    assert_int_equal(t_rd8(T_SREG(1), RS_IR), I_RECV);
    uint8_t hdr[8];
    t_recv(1, hdr, 8);
    const uint8_t want[8] = {192, 168, 1, 60, 0x00, 0x07, 0x00, 60};
    assert_memory_equal(hdr, want, 8);
    t_recv(1, got, 60);
    assert_memory_equal(got, msg, 60);
    t_recv(1, hdr, 8);
    const uint8_t want0[8] = {192, 168, 1, 60, 0x00, 0x07, 0x00, 0x00};
    assert_memory_equal(hdr, want0, 8);
    assert_int_equal(t_rd16(T_SREG(1), RS_RX_RSR), 0);
    /* A datagram from an unmapped host port is not from the LAN: dropped. */
    int other = socket(AF_INET, SOCK_DGRAM, 0);
    assert_true(other >= 0);
    assert_int_equal(sendto(other, msg, 10, 0, (struct sockaddr *)&from, fl), 10);
    t_advance(100);
    assert_int_equal(t_rd16(T_SREG(1), RS_RX_RSR), 0);
    assert_int_equal(close(other), 0);
    assert_int_equal(close(ufd), 0);
}

/* The chip as a UDP echo server (WIZnet loopback example style), reached from the host. */
static void test_udp_echo_server_inbound(void **state)
{
    (void)state;
    uint16_t hp = 0;
    assert_int_equal(w5500_model_expose_udp(tm, 7, 0, &hp), W5500_MODEL_OK);
    assert_int_equal(w5500_model_expose_udp(tm, 7, 0, NULL), W5500_MODEL_EEXIST);
    assert_int_equal(w5500_model_expose_udp(tm, 0, 0, NULL), W5500_MODEL_EARG);
    t_netcfg();
    uint16_t cp;
    int cfd = h_udp_bind(&cp);
    struct sockaddr_in to = {0};
    to.sin_family = AF_INET;
    to.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    to.sin_port = htons(hp);
    const uint8_t hello[5] = {'h', 'e', 'l', 'l', 'o'};
    /* No socket on port 7 yet: lost. */
    assert_int_equal(sendto(cfd, hello, 5, 0, (struct sockaddr *)&to, sizeof(to)), 5);
    t_advance(100);
    t_open(2, 0x02, 7, S_UDP);
    t_advance(100);
    assert_int_equal(t_rd16(T_SREG(2), RS_RX_RSR), 0);
    assert_int_equal(sendto(cfd, hello, 5, 0, (struct sockaddr *)&to, sizeof(to)), 5);
    t_advance(100);
    assert_int_equal(t_rd16(T_SREG(2), RS_RX_RSR), 13);
    uint8_t hdr[8];
    t_recv(2, hdr, 8);
    const uint8_t want[8] = {192, 168, 1, 2, (uint8_t)(cp >> 8), (uint8_t)cp, 0, 5};
    assert_memory_equal(hdr, want, 8);
    uint8_t body[5];
    t_recv(2, body, 5);
    assert_memory_equal(body, hello, 5);
    /* Echo back to the sender's address from the header. */
    t_wr32(T_SREG(2), RS_DIPR, IP4(192, 168, 1, 2));
    t_wr16(T_SREG(2), RS_DPORT, cp);
    t_send(2, body, 5);
    assert_int_equal(t_rd8(T_SREG(2), RS_IR) & I_SEND_OK, I_SEND_OK);
    uint8_t back[16];
    struct sockaddr_in from = {0};
    socklen_t fl = sizeof(from);
    assert_int_equal(recvfrom(cfd, back, sizeof(back), 0, (struct sockaddr *)&from, &fl), 5);
    assert_memory_equal(back, hello, 5);
    assert_int_equal(ntohs(from.sin_port), hp);
    assert_int_equal(from.sin_addr.s_addr, htonl(INADDR_LOOPBACK));
    assert_int_equal(close(cfd), 0);
}

static void test_udp_port_unreachable(void **state)
{
    (void)state;
    uint16_t hp;
    int ufd = h_udp_bind(&hp);
    assert_int_equal(close(ufd), 0); /* nothing listens on hp: the host answers ICMP */
    assert_int_equal(w5500_model_map_udp(tm, IP4(192, 168, 1, 61), 9, hp), W5500_MODEL_OK);
    t_netcfg();
    t_wr8(T_COMMON, R_IMR, 0x40);
    t_open(1, 0x02, 3000, S_UDP);
    t_wr32(T_SREG(1), RS_DIPR, IP4(192, 168, 1, 61));
    t_wr16(T_SREG(1), RS_DPORT, 9);
    const uint8_t d[8] = {1};
    /* The host kernel's global ICMP rate limit may drop an answer when the machine is busy: a few
     * tries, each of which must complete with SEND_OK. */
    for (int i = 0; i < 5 && t_rd8(T_COMMON, R_IR) == 0; i++) {
        t_send(1, d, sizeof(d));
        assert_int_equal(t_rd8(T_SREG(1), RS_IR), I_SEND_OK);
        t_wr8(T_SREG(1), RS_IR, I_SEND_OK);
        if (i == 0) {
            assert_true(w5500_model_intn(tm));
        }
        t_advance(100);
    }
    assert_int_equal(t_rd8(T_COMMON, R_IR), 0x40);
    assert_int_equal(t_rd32(T_COMMON, R_UIPR), IP4(192, 168, 1, 61));
    assert_int_equal(t_rd16(T_COMMON, 0x002C), 9); /* UPORTR */
    assert_false(w5500_model_intn(tm));
    /* IMR bit off: the flag stays, the pin goes high; W1C clears the flag. */
    t_wr8(T_COMMON, R_IMR, 0x00);
    assert_true(w5500_model_intn(tm));
    t_wr8(T_COMMON, R_IR, 0x80);
    assert_int_equal(t_rd8(T_COMMON, R_IR), 0x40);
    t_wr8(T_COMMON, R_IR, 0x40);
    assert_int_equal(t_rd8(T_COMMON, R_IR), 0x00);
    assert_int_equal(t_rd8(T_SREG(1), RS_SR), S_UDP);
}

static void test_udp_pointer_wrap_and_full_buffer(void **state)
{
    (void)state;
    uint16_t hp;
    int ufd = h_udp_bind(&hp);
    assert_int_equal(w5500_model_map_udp(tm, IP4(8, 8, 8, 8), 9000, hp), W5500_MODEL_OK);
    t_netcfg();
    t_open(0, 0x02, 3000, S_UDP);
    t_wr32(T_SREG(0), RS_DIPR, IP4(8, 8, 8, 8)); /* off-subnet: routed by the gateway */
    t_wr16(T_SREG(0), RS_DPORT, 9000);
    /* 34 x 2000 bytes: TX_WR passes 0xFFFF and bursts wrap the 2 KB slice. */
    static uint8_t msg[2000];
    static uint8_t got[2048] = {0};
    for (unsigned i = 0; i < 34; i++) {
        t_pattern(msg, sizeof(msg), 100 + i);
        t_send(0, msg, sizeof(msg));
        assert_int_equal(t_rd8(T_SREG(0), RS_IR), I_SEND_OK);
        clear_ir(0, I_SEND_OK);
        ssize_t r = recv(ufd, got, sizeof(got), 0);
        assert_int_equal(r, 2000);
        assert_int_equal(t_fnv(got, 2000), t_fnv(msg, 2000));
    }
    assert_int_equal(t_rd16(T_SREG(0), RS_TX_WR), (uint16_t)(34u * 2000u));
    assert_int_equal(t_rd16(T_SREG(0), RS_TX_RD), (uint16_t)(34u * 2000u));
    /* RX: a 2 KB buffer holds one 1500-byte datagram; the second is dropped whole. */
    struct sockaddr_in from = {0};
    socklen_t fl = sizeof(from);
    t_send(0, msg, 1);
    assert_int_equal(recvfrom(ufd, got, sizeof(got), 0, (struct sockaddr *)&from, &fl), 1);
    assert_int_equal(sendto(ufd, msg, 1500, 0, (struct sockaddr *)&from, fl), 1500);
    assert_int_equal(sendto(ufd, msg, 1500, 0, (struct sockaddr *)&from, fl), 1500);
    t_advance(100);
    assert_int_equal(t_rd16(T_SREG(0), RS_RX_RSR), 1508);
    struct w5500_model_stats st;
    w5500_model_get_stats(tm, &st);
    assert_int_equal(st.udp_dropped, 1);
    assert_int_equal(close(ufd), 0);
}

static void test_udp_unreachable_and_conflict_probe(void **state)
{
    (void)state;
    t_netcfg();
    t_open(2, 0x02, 68, S_UDP);
    /* ioLibrary's DHCP conflict probe: RCR = 3, UDP to the offered IP, port 5000: it must time
     * out after RTR x (RCR + 1) = 0.8 s and never report SEND_OK. */
    t_wr8(T_COMMON, R_RCR, 3);
    t_wr32(T_SREG(2), RS_DIPR, IP4(192, 168, 1, 100));
    t_wr16(T_SREG(2), RS_DPORT, 5000);
    const uint8_t probe[17] = "CHECK_IP_CONFLICT";
    t_send(2, probe, sizeof(probe));
    t_advance(799999);
    assert_int_equal(t_rd8(T_SREG(2), RS_IR), 0);
    t_advance(1);
    assert_int_equal(t_rd8(T_SREG(2), RS_IR), I_TIMEOUT);
    assert_int_equal(t_rd8(T_SREG(2), RS_SR), S_UDP); /* UDP stays open after ARP_TO */
    clear_ir(2, I_TIMEOUT);
    /* With SIPR 0.0.0.0 (DHCP_init clears it) the probe times out too. */
    t_wr32(T_COMMON, R_SIPR, 0);
    t_wr32(T_COMMON, R_GAR, 0);
    t_send(2, probe, sizeof(probe));
    t_advance(800000);
    assert_int_equal(t_rd8(T_SREG(2), RS_IR), I_TIMEOUT);
    clear_ir(2, I_TIMEOUT);
    /* An address in use on the LAN (a conflict) answers ARP: SEND_OK. */
    t_netcfg();
    t_wr32(T_SREG(2), RS_DIPR, IP4(192, 168, 1, 2));
    t_send(2, probe, sizeof(probe));
    assert_int_equal(t_rd8(T_SREG(2), RS_IR), I_SEND_OK);
    clear_ir(2, I_SEND_OK);
    /* SEND_MAC skips ARP: SEND_OK even to an address nobody has. */
    t_wr32(T_SREG(2), RS_DIPR, IP4(192, 168, 1, 100));
    uint16_t wr = t_rd16(T_SREG(2), RS_TX_WR);
    t_write(T_STX(2), wr, probe, 4);
    t_wr16(T_SREG(2), RS_TX_WR, (uint16_t)(wr + 4));
    t_cmd(2, C_SEND_MAC);
    assert_int_equal(t_rd8(T_SREG(2), RS_IR), I_SEND_OK);
}

static void test_link_down(void **state)
{
    (void)state;
    uint16_t hp;
    int lfd = h_tcp_listen(&hp);
    int cfd = connect_client(0, lfd, hp);
    w5500_model_set_link(tm, false);
    assert_int_equal(t_rd8(T_COMMON, R_PHYCFGR), 0xB8);
    /* Host data is not delivered while the link is down. */
    const uint8_t d[20] = {9};
    h_write_all(cfd, d, sizeof(d));
    t_advance(100000);
    assert_int_equal(t_rd16(T_SREG(0), RS_RX_RSR), 0);
    /* Sending: no ACKs, TCP_TO after the last try, then CLOSED. */
    t_send(0, d, sizeof(d));
    t_advance(0);
    t_advance(TCP_TO_DEFAULT_US - 1);
    assert_int_equal(t_rd8(T_SREG(0), RS_SR), S_ESTABLISHED);
    assert_int_equal(t_rd16(T_SREG(0), RS_TX_FSR), 0x0800 - 20);
    t_advance(1);
    assert_int_equal(t_rd8(T_SREG(0), RS_IR) & I_TIMEOUT, I_TIMEOUT);
    assert_int_equal(t_rd8(T_SREG(0), RS_SR), S_CLOSED);
    assert_int_equal(close(cfd), 0);
    /* New connections and unicast UDP fail on ARP. */
    t_open(1, 0x01, 40002, S_INIT);
    t_wr32(T_SREG(1), RS_DIPR, LAN_SERVER);
    t_wr16(T_SREG(1), RS_DPORT, 8080);
    t_cmd(1, C_CONNECT);
    t_advance(ARP_TO_DEFAULT_US);
    assert_int_equal(t_rd8(T_SREG(1), RS_IR), I_TIMEOUT);
    assert_int_equal(t_rd8(T_SREG(1), RS_SR), S_CLOSED);
    /* Link back up: the same connection succeeds. */
    w5500_model_set_link(tm, true);
    assert_int_equal(t_rd8(T_COMMON, R_PHYCFGR), 0xBF);
    t_open(1, 0x01, 40002, S_INIT);
    t_cmd(1, C_CONNECT);
    int c2 = h_accept(lfd);
    assert_int_equal(t_wait_sr(1, S_ESTABLISHED, 100, 100000), S_ESTABLISHED);
    assert_int_equal(close(c2), 0);
    assert_int_equal(close(lfd), 0);
}

static void test_fault_tcp_reset(void **state)
{
    (void)state;
    assert_int_equal(w5500_model_fault_tcp_reset(tm, 8), W5500_MODEL_EARG);
    assert_int_equal(w5500_model_fault_tcp_reset(tm, -2), W5500_MODEL_EARG);
    uint16_t hp;
    int lfd = h_tcp_listen(&hp);
    int cfd = connect_client(4, lfd, hp);
    assert_int_equal(w5500_model_fault_tcp_reset(tm, 4), W5500_MODEL_OK);
    assert_int_equal(t_rd8(T_SREG(4), RS_SR), S_CLOSED);
    assert_int_equal(h_read_status(cfd), -1);
    assert_int_equal(close(cfd), 0);
    /* -1: every connected socket. */
    int c2 = connect_client_map(5, lfd, hp, false);
    assert_int_equal(w5500_model_fault_tcp_reset(tm, -1), W5500_MODEL_OK);
    assert_int_equal(t_rd8(T_SREG(5), RS_SR), S_CLOSED);
    assert_int_equal(h_read_status(c2), -1);
    assert_int_equal(close(c2), 0);
    assert_int_equal(close(lfd), 0);
}

static void test_fault_reset_after_bytes(void **state)
{
    (void)state;
    assert_int_equal(w5500_model_fault_tcp_reset_after(tm, 8, 1), W5500_MODEL_EARG);
    assert_int_equal(w5500_model_fault_tcp_reset_after(tm, -2, 1), W5500_MODEL_EARG);
    uint16_t hp;
    int lfd = h_tcp_listen(&hp);
    int cfd = connect_client(0, lfd, hp);
    assert_int_equal(w5500_model_fault_tcp_reset_after(tm, 0, 3000), W5500_MODEL_OK);
    static uint8_t img[5000];
    static uint8_t got[5000];
    t_pattern(img, sizeof(img), 10);
    h_write_all(cfd, img, sizeof(img));
    size_t total = 0;
    for (int i = 0; i < 100; i++) {
        t_advance(100);
        uint16_t rsr = t_rd16(T_SREG(0), RS_RX_RSR);
        assert_true(total + rsr <= 3000);
        if (rsr != 0) {
            t_recv(0, got + total, rsr);
            total += rsr;
        }
    }
    assert_int_equal(total, 3000);
    assert_memory_equal(got, img, 3000);
    assert_int_equal(t_rd8(T_SREG(0), RS_SR), S_CLOSED);
    assert_int_equal(t_rd8(T_SREG(0), RS_IR) & I_DISCON, I_DISCON);
    assert_int_equal(h_read_status(cfd), -1);
    assert_int_equal(close(cfd), 0);
    /* One-shot: the next connection runs undisturbed; reset_off cancels a pending one. */
    cfd = connect_client_map(1, lfd, hp, false);
    assert_int_equal(w5500_model_fault_tcp_reset_after(tm, -1, 10), W5500_MODEL_OK);
    w5500_model_fault_tcp_reset_off(tm);
    h_write_all(cfd, img, 100);
    t_advance(100);
    assert_int_equal(t_rd16(T_SREG(1), RS_RX_RSR), 100);
    assert_int_equal(t_rd8(T_SREG(1), RS_SR), S_ESTABLISHED);
    assert_int_equal(close(cfd), 0);
    assert_int_equal(close(lfd), 0);
}

static void test_fault_stall(void **state)
{
    (void)state;
    uint16_t hp;
    int lfd = h_tcp_listen(&hp);
    int cfd = connect_client(0, lfd, hp);
    w5500_model_fault_stall(tm, true);
    const uint8_t d[100] = {1, 2, 3};
    h_write_all(cfd, d, sizeof(d));
    t_advance(1000000);
    assert_int_equal(t_rd16(T_SREG(0), RS_RX_RSR), 0);
    w5500_model_fault_stall(tm, false);
    t_advance(100);
    assert_int_equal(t_rd16(T_SREG(0), RS_RX_RSR), 100);
    /* Stalled sending times out after TCP_TO of retries. */
    w5500_model_fault_stall(tm, true);
    t_send(0, d, 10);
    t_advance(0);
    t_advance(TCP_TO_DEFAULT_US - 1);
    assert_int_equal(t_rd8(T_SREG(0), RS_IR) & (I_SEND_OK | I_TIMEOUT), 0);
    assert_int_equal(t_rd8(T_SREG(0), RS_SR), S_ESTABLISHED);
    t_advance(1);
    assert_int_equal(t_rd8(T_SREG(0), RS_IR) & I_TIMEOUT, I_TIMEOUT);
    assert_int_equal(t_rd8(T_SREG(0), RS_SR), S_CLOSED);
    /* A stall that ends before TCP_TO loses nothing. */
    w5500_model_fault_stall(tm, false);
    assert_int_equal(close(cfd), 0);
    cfd = connect_client_map(1, lfd, hp, false);
    w5500_model_fault_stall(tm, true);
    t_send(1, d, 10);
    t_advance(TCP_TO_DEFAULT_US / 2);
    assert_int_equal(t_rd8(T_SREG(1), RS_IR) & I_SEND_OK, 0);
    w5500_model_fault_stall(tm, false);
    t_advance(100);
    assert_int_equal(t_rd8(T_SREG(1), RS_IR) & I_SEND_OK, I_SEND_OK);
    uint8_t b[10];
    assert_true(h_read_n(cfd, b, 10));
    assert_memory_equal(b, d, 10);
    assert_int_equal(close(cfd), 0);
    assert_int_equal(close(lfd), 0);
}

static void test_fault_rate_limit(void **state)
{
    (void)state;
    uint16_t hp;
    int lfd = h_tcp_listen(&hp);
    int cfd = connect_client(0, lfd, hp);
    w5500_model_fault_rate_limit(tm, 1000); /* 1000 bytes/s, 100-byte bursts */
    static uint8_t d[1500];
    t_pattern(d, sizeof(d), 6);
    h_write_all(cfd, d, sizeof(d));
    for (int i = 0; i < 10; i++) {
        t_advance(100000);
    }
    assert_int_equal(t_rd16(T_SREG(0), RS_RX_RSR), 1000);
    t_send(0, d, 500);
    for (int i = 0; i < 4; i++) {
        t_advance(100000);
    }
    assert_int_equal(t_rd8(T_SREG(0), RS_IR) & I_SEND_OK, 0);
    t_advance(100000);
    assert_int_equal(t_rd8(T_SREG(0), RS_IR) & I_SEND_OK, I_SEND_OK);
    /* Unlimited again: the rest arrives at once. */
    w5500_model_fault_rate_limit(tm, 0);
    t_advance(100);
    assert_int_equal(t_rd16(T_SREG(0), RS_RX_RSR), 1500);
    static uint8_t b[1500];
    t_recv(0, b, 1500);
    assert_memory_equal(b, d, 1500);
    assert_true(h_read_n(cfd, b, 500));
    assert_memory_equal(b, d, 500);
    assert_int_equal(close(cfd), 0);
    assert_int_equal(close(lfd), 0);
}

static void test_fault_rate_limit_udp(void **state)
{
    (void)state;
    uint16_t hp;
    int ufd = h_udp_bind(&hp);
    assert_int_equal(w5500_model_map_udp(tm, IP4(192, 168, 1, 60), 7, hp), W5500_MODEL_OK);
    t_netcfg();
    t_open(1, 0x02, 3000, S_UDP);
    t_wr32(T_SREG(1), RS_DIPR, IP4(192, 168, 1, 60));
    t_wr16(T_SREG(1), RS_DPORT, 7);
    uint8_t msg[100] = {0};
    t_send(1, msg, 1);
    struct sockaddr_in from = {0};
    socklen_t fl = sizeof(from);
    assert_int_equal(recvfrom(ufd, msg, sizeof(msg), 0, (struct sockaddr *)&from, &fl), 1);
    w5500_model_fault_rate_limit(tm, 1000); /* 100 bytes per 100 ms */
    for (int i = 0; i < 3; i++) {
        assert_int_equal(sendto(ufd, msg, 100, 0, (struct sockaddr *)&from, fl), 100);
    }
    t_advance(100000);
    assert_int_equal(t_rd16(T_SREG(1), RS_RX_RSR), 108);
    t_advance(100000);
    assert_int_equal(t_rd16(T_SREG(1), RS_RX_RSR), 216);
    t_advance(100000);
    assert_int_equal(t_rd16(T_SREG(1), RS_RX_RSR), 324);
    assert_int_equal(close(ufd), 0);
}

static void test_fault_udp_truncate(void **state)
{
    (void)state;
    uint16_t hp;
    int ufd = h_udp_bind(&hp);
    assert_int_equal(w5500_model_map_udp(tm, IP4(192, 168, 1, 60), 7, hp), W5500_MODEL_OK);
    t_netcfg();
    t_open(1, 0x02, 3000, S_UDP);
    t_wr32(T_SREG(1), RS_DIPR, IP4(192, 168, 1, 60));
    t_wr16(T_SREG(1), RS_DPORT, 7);
    uint8_t msg[100];
    t_pattern(msg, sizeof(msg), 8);
    t_send(1, msg, 1);
    struct sockaddr_in from = {0};
    socklen_t fl = sizeof(from);
    uint8_t got[200];
    assert_int_equal(recvfrom(ufd, got, sizeof(got), 0, (struct sockaddr *)&from, &fl), 1);
    w5500_model_fault_udp_truncate(tm, 10, 1);
    assert_int_equal(sendto(ufd, msg, 100, 0, (struct sockaddr *)&from, fl), 100);
    assert_int_equal(sendto(ufd, msg, 100, 0, (struct sockaddr *)&from, fl), 100);
    t_advance(100);
    assert_int_equal(t_rd16(T_SREG(1), RS_RX_RSR), 8 + 10 + 8 + 100);
    uint8_t hdr[8];
    t_recv(1, hdr, 8);
    assert_int_equal(hdr[6], 0);
    assert_int_equal(hdr[7], 10);
    t_recv(1, got, 10);
    assert_memory_equal(got, msg, 10);
    t_recv(1, hdr, 8);
    assert_int_equal(hdr[7], 100);
    assert_int_equal(close(ufd), 0);
}

static void test_keepalive_and_discon_timeouts(void **state)
{
    (void)state;
    uint16_t hp;
    int lfd = h_tcp_listen(&hp);
    int cfd = connect_client(0, lfd, hp);
    /* SEND_KEEP to a live peer: nothing happens, even after TCP_TO. */
    t_cmd(0, C_SEND_KEEP);
    t_advance(TCP_TO_DEFAULT_US + 1);
    assert_int_equal(t_rd8(T_SREG(0), RS_SR), S_ESTABLISHED);
    assert_int_equal(t_rd8(T_SREG(0), RS_IR), 0);
    /* KPALVTR != 0: SEND_KEEP is ignored, so a stall does not time it out. */
    w5500_model_fault_stall(tm, true);
    t_wr8(T_SREG(0), RS_KPALVTR, 1);
    t_cmd(0, C_SEND_KEEP);
    t_advance(0);
    t_advance(TCP_TO_DEFAULT_US + 1);
    assert_int_equal(t_rd8(T_SREG(0), RS_SR), S_ESTABLISHED);
    /* KPALVTR = 0 and no answer: TIMEOUT and CLOSED after TCP_TO. */
    t_wr8(T_SREG(0), RS_KPALVTR, 0);
    t_cmd(0, C_SEND_KEEP);
    t_advance(0);
    t_advance(TCP_TO_DEFAULT_US - 1);
    assert_int_equal(t_rd8(T_SREG(0), RS_SR), S_ESTABLISHED);
    t_advance(1);
    assert_int_equal(t_rd8(T_SREG(0), RS_IR), I_TIMEOUT);
    assert_int_equal(t_rd8(T_SREG(0), RS_SR), S_CLOSED);
    w5500_model_fault_stall(tm, false);
    assert_int_equal(close(cfd), 0);
    /* DISCON to a peer that never sends its FIN: TIMEOUT after TCP_TO. */
    cfd = connect_client_map(1, lfd, hp, false);
    t_cmd(1, C_DISCON);
    t_advance(TCP_TO_DEFAULT_US - 1);
    assert_int_equal(t_rd8(T_SREG(1), RS_SR), S_FIN_WAIT);
    assert_int_equal(h_read_status(cfd), 0); /* our FIN arrived */
    t_advance(1);
    assert_int_equal(t_rd8(T_SREG(1), RS_IR), I_TIMEOUT);
    assert_int_equal(t_rd8(T_SREG(1), RS_SR), S_CLOSED);
    assert_int_equal(close(cfd), 0);
    /* DISCON while SYNSENT or LISTEN just closes. */
    t_open(2, 0x01, 40003, S_INIT);
    t_wr32(T_SREG(2), RS_DIPR, IP4(192, 168, 1, 77));
    t_wr16(T_SREG(2), RS_DPORT, 80);
    t_cmd(2, C_CONNECT);
    assert_int_equal(t_rd8(T_SREG(2), RS_SR), S_SYNSENT);
    t_cmd(2, C_DISCON);
    assert_int_equal(t_rd8(T_SREG(2), RS_SR), S_CLOSED);
    t_advance(ARP_TO_DEFAULT_US);
    assert_int_equal(t_rd8(T_SREG(2), RS_IR), 0); /* the pending ARP timer died with it */
    t_open(2, 0x01, 40003, S_INIT);
    t_cmd(2, C_LISTEN);
    t_cmd(2, C_DISCON);
    assert_int_equal(t_rd8(T_SREG(2), RS_SR), S_CLOSED);
    assert_int_equal(close(lfd), 0);
}

static void test_auto_keepalive(void **state)
{
    (void)state;
    uint16_t hp;
    int lfd = h_tcp_listen(&hp);
    int cfd = connect_client(0, lfd, hp);
    t_wr8(T_SREG(0), RS_KPALVTR, 2); /* every 10 s */
    /* Before any data exchange no keep-alive runs: a stall never times out. */
    w5500_model_fault_stall(tm, true);
    t_advance(0);
    t_advance(10000000 + TCP_TO_DEFAULT_US + 1);
    assert_int_equal(t_rd8(T_SREG(0), RS_SR), S_ESTABLISHED);
    w5500_model_fault_stall(tm, false);
    const uint8_t d[4] = {1, 2, 3, 4};
    chip_send_all(0, d, 4);
    uint8_t b[4];
    assert_true(h_read_n(cfd, b, 4));
    /* After an exchange, a stall is found by the next keep-alive: 10 s + TCP_TO at the latest. */
    w5500_model_fault_stall(tm, true);
    t_advance(0);
    t_advance(10000000 + TCP_TO_DEFAULT_US - 1);
    assert_int_equal(t_rd8(T_SREG(0), RS_SR), S_ESTABLISHED);
    t_advance(1);
    assert_int_equal(t_rd8(T_SREG(0), RS_IR) & I_TIMEOUT, I_TIMEOUT);
    assert_int_equal(t_rd8(T_SREG(0), RS_SR), S_CLOSED);
    assert_int_equal(close(cfd), 0);
    assert_int_equal(close(lfd), 0);
}

static void test_host_misuse_counted(void **state)
{
    (void)state;
    uint16_t hp;
    int lfd = h_tcp_listen(&hp);
    int cfd = connect_client(0, lfd, hp);
    struct w5500_model_stats st0;
    struct w5500_model_stats st1;
    w5500_model_get_stats(tm, &st0);
    /* RX_RD moved past RX_WR: clamped, counted. */
    t_wr16(T_SREG(0), RS_RX_RD, 100);
    t_cmd(0, C_RECV);
    assert_int_equal(t_rd16(T_SREG(0), RS_RX_RSR), 0);
    w5500_model_get_stats(tm, &st1);
    assert_int_equal(st1.host_misuse, st0.host_misuse + 1);
    const uint8_t d[4] = {1, 2, 3, 4};
    h_write_all(cfd, d, 4);
    t_advance(100);
    assert_int_equal(t_rd16(T_SREG(0), RS_RX_RSR), 4);
    /* TCP: TX_WR moved 3000 bytes ahead in a 2 KB buffer: counted. */
    t_wr16(T_SREG(0), RS_TX_WR, 3000);
    t_cmd(0, C_SEND);
    w5500_model_get_stats(tm, &st1);
    assert_int_equal(st1.host_misuse, st0.host_misuse + 2);
    assert_int_equal(close(cfd), 0);
    /* UDP: a datagram larger than the TX buffer is clipped to it and counted. */
    uint16_t up;
    int ufd = h_udp_bind(&up);
    assert_int_equal(w5500_model_map_udp(tm, IP4(192, 168, 1, 60), 7, up), W5500_MODEL_OK);
    t_open(1, 0x02, 3000, S_UDP);
    t_wr32(T_SREG(1), RS_DIPR, IP4(192, 168, 1, 60));
    t_wr16(T_SREG(1), RS_DPORT, 7);
    t_wr16(T_SREG(1), RS_TX_WR, 2049);
    t_cmd(1, C_SEND);
    static uint8_t got[4096];
    assert_int_equal(recv(ufd, got, sizeof(got), 0), 2048);
    w5500_model_get_stats(tm, &st1);
    assert_int_equal(st1.host_misuse, st0.host_misuse + 3);
    /* MACRAW: SEND completes, nothing goes anywhere, nothing arrives. */
    t_open(0, 0x04, 0, S_MACRAW);
    t_wr8(T_SREG(0), RS_IR, 0xFF); /* OPEN leaves Sn_IR alone: RECV from the TCP session */
    t_send(0, d, 4);
    assert_int_equal(t_rd8(T_SREG(0), RS_IR), I_SEND_OK);
    assert_int_equal(close(ufd), 0);
    assert_int_equal(close(lfd), 0);
}

static void test_map_errors(void **state)
{
    (void)state;
    assert_int_equal(w5500_model_map_tcp(tm, 0, 80, 1000), W5500_MODEL_EARG);
    assert_int_equal(w5500_model_map_tcp(tm, 0xFFFFFFFF, 80, 1000), W5500_MODEL_EARG);
    assert_int_equal(w5500_model_map_tcp(tm, LAN_SERVER, 0, 1000), W5500_MODEL_EARG);
    assert_int_equal(w5500_model_map_tcp(tm, LAN_SERVER, 80, 0), W5500_MODEL_EARG);
    assert_int_equal(w5500_model_map_tcp(NULL, LAN_SERVER, 80, 1000), W5500_MODEL_EARG);
    assert_int_equal(w5500_model_map_tcp(tm, LAN_SERVER, 80, 1000), W5500_MODEL_OK);
    assert_int_equal(w5500_model_map_tcp(tm, LAN_SERVER, 80, 1001), W5500_MODEL_EEXIST);
    assert_int_equal(w5500_model_map_udp(tm, LAN_SERVER, 80, 1000), W5500_MODEL_OK);
    /* Replies are told apart by host port: a second UDP map to the same port is refused. */
    assert_int_equal(w5500_model_map_udp(tm, LAN_SERVER, 81, 1000), W5500_MODEL_EEXIST);
    int rc = W5500_MODEL_OK;
    for (uint16_t i = 0; i < 40 && rc == W5500_MODEL_OK; i++) {
        rc = w5500_model_map_tcp(tm, LAN_SERVER, (uint16_t)(1000 + i), 2000);
    }
    assert_int_equal(rc, W5500_MODEL_EFULL);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_tcp_client_data_both_ways, setup, teardown),
        cmocka_unit_test_setup_teardown(test_tcp_active_close, setup, teardown),
        cmocka_unit_test_setup_teardown(test_tcp_data_then_reset, setup, teardown),
        cmocka_unit_test_setup_teardown(test_tcp_reset_in_close_wait, setup, teardown),
        cmocka_unit_test_setup_teardown(test_tcp_close_resets_host, setup, teardown),
        cmocka_unit_test_setup_teardown(test_tcp_unmapped_timeouts, setup, teardown),
        cmocka_unit_test_setup_teardown(test_tcp_refused, setup, teardown),
        cmocka_unit_test_setup_teardown(test_tcp_server_inbound, setup, teardown),
        cmocka_unit_test_setup_teardown(test_rsr_changes_only_between_frames, setup, teardown),
        cmocka_unit_test_setup_teardown(test_rx_frame_spacing, setup, teardown),
        cmocka_unit_test_setup_teardown(test_host_poll_interval, setup, teardown),
        cmocka_unit_test_setup_teardown(test_udp_echo_and_header, setup, teardown),
        cmocka_unit_test_setup_teardown(test_udp_echo_server_inbound, setup, teardown),
        cmocka_unit_test_setup_teardown(test_udp_port_unreachable, setup, teardown),
        cmocka_unit_test_setup_teardown(test_udp_pointer_wrap_and_full_buffer, setup, teardown),
        cmocka_unit_test_setup_teardown(test_udp_unreachable_and_conflict_probe, setup, teardown),
        cmocka_unit_test_setup_teardown(test_link_down, setup, teardown),
        cmocka_unit_test_setup_teardown(test_fault_tcp_reset, setup, teardown),
        cmocka_unit_test_setup_teardown(test_fault_reset_after_bytes, setup, teardown),
        cmocka_unit_test_setup_teardown(test_fault_stall, setup, teardown),
        cmocka_unit_test_setup_teardown(test_fault_rate_limit, setup, teardown),
        cmocka_unit_test_setup_teardown(test_fault_rate_limit_udp, setup, teardown),
        cmocka_unit_test_setup_teardown(test_fault_udp_truncate, setup, teardown),
        cmocka_unit_test_setup_teardown(test_keepalive_and_discon_timeouts, setup, teardown),
        cmocka_unit_test_setup_teardown(test_auto_keepalive, setup, teardown),
        cmocka_unit_test_setup_teardown(test_host_misuse_counted, setup, teardown),
        cmocka_unit_test_setup_teardown(test_map_errors, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
