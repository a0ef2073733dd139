#define _GNU_SOURCE
#include "w5500_test_util.h"

#include "loopback.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <setjmp.h>
#include <stdarg.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cmocka.h>

struct w5500_model *tm;
uint64_t tnow;

void t_model_new(const struct w5500_model_config *cfg)
{
    struct w5500_model_config def;
    if (cfg == NULL) {
        w5500_model_config_default(&def);
        cfg = &def;
    }
    tnow = 0;
    tm = w5500_model_new(cfg);
    assert_non_null(tm);
    t_advance(1000);
    assert_true(w5500_model_ready(tm));
}

void t_model_free(void)
{
    w5500_model_free(tm);
    tm = NULL;
}

void t_advance(uint64_t us)
{
    tnow += us;
    w5500_model_advance(tm, tnow);
}

/* One VDM frame: writes out[] (if not NULL) or reads into in[]. */
static void frame(uint8_t bsb, uint16_t addr, const uint8_t *out, uint8_t *in, size_t len)
{
    bool wr = (out != NULL);
    w5500_model_set_scsn(tm, false);
    assert_int_equal(w5500_model_spi_byte(tm, (uint8_t)(addr >> 8)), 0x01);
    assert_int_equal(w5500_model_spi_byte(tm, (uint8_t)addr), 0x02);
    assert_int_equal(w5500_model_spi_byte(tm, (uint8_t)((bsb << 3) | (wr ? 4 : 0))), 0x03);
    for (size_t i = 0; i < len; i++) {
        uint8_t r = w5500_model_spi_byte(tm, wr ? out[i] : 0x00);
        if (!wr) {
            in[i] = r;
        }
    }
    w5500_model_set_scsn(tm, true);
}

void t_write(uint8_t bsb, uint16_t addr, const uint8_t *data, size_t len)
{
    frame(bsb, addr, data, NULL, len);
}

void t_read(uint8_t bsb, uint16_t addr, uint8_t *data, size_t len)
{
    memset(data, 0, len);
    frame(bsb, addr, NULL, data, len);
}

void t_wr8(uint8_t bsb, uint16_t addr, uint8_t v)
{
    t_write(bsb, addr, &v, 1);
}

uint8_t t_rd8(uint8_t bsb, uint16_t addr)
{
    uint8_t v = 0;
    t_read(bsb, addr, &v, 1);
    return v;
}

void t_wr16(uint8_t bsb, uint16_t addr, uint16_t v)
{
    uint8_t b[2] = {(uint8_t)(v >> 8), (uint8_t)v};
    t_write(bsb, addr, b, 2);
}

uint16_t t_rd16(uint8_t bsb, uint16_t addr)
{
    uint8_t b[2];
    t_read(bsb, addr, b, 2);
    return (uint16_t)((b[0] << 8) | b[1]);
}

void t_wr32(uint8_t bsb, uint16_t addr, uint32_t v)
{
    uint8_t b[4] = {(uint8_t)(v >> 24), (uint8_t)(v >> 16), (uint8_t)(v >> 8), (uint8_t)v};
    t_write(bsb, addr, b, 4);
}

uint32_t t_rd32(uint8_t bsb, uint16_t addr)
{
    uint8_t b[4];
    t_read(bsb, addr, b, 4);
    return ((uint32_t)b[0] << 24) | ((uint32_t)b[1] << 16) | ((uint32_t)b[2] << 8) | b[3];
}

void t_cmd(unsigned sn, uint8_t cmd)
{
    t_wr8(T_SREG(sn), RS_CR, cmd);
    assert_int_equal(t_rd8(T_SREG(sn), RS_CR), 0x00);
}

void t_netcfg(void)
{
    t_wr32(T_COMMON, R_SIPR, IP4(192, 168, 1, 10));
    t_wr32(T_COMMON, R_SUBR, IP4(255, 255, 255, 0));
    t_wr32(T_COMMON, R_GAR, IP4(192, 168, 1, 1));
    const uint8_t mac[6] = {0x00, 0x08, 0xDC, 0x01, 0x02, 0x03};
    t_write(T_COMMON, R_SHAR, mac, 6);
}

void t_open(unsigned sn, uint8_t mode, uint16_t port, uint8_t expect_sr)
{
    t_wr8(T_SREG(sn), RS_MR, mode);
    t_wr16(T_SREG(sn), RS_PORT, port);
    t_cmd(sn, C_OPEN);
    assert_int_equal(t_rd8(T_SREG(sn), RS_SR), expect_sr);
}

void t_send(unsigned sn, const uint8_t *data, size_t len)
{
    uint16_t wr = t_rd16(T_SREG(sn), RS_TX_WR);
    t_write(T_STX(sn), wr, data, len);
    t_wr16(T_SREG(sn), RS_TX_WR, (uint16_t)(wr + len));
    t_cmd(sn, C_SEND);
}

void t_recv(unsigned sn, uint8_t *data, size_t len)
{
    uint16_t rd = t_rd16(T_SREG(sn), RS_RX_RD);
    t_read(T_SRX(sn), rd, data, len);
    t_wr16(T_SREG(sn), RS_RX_RD, (uint16_t)(rd + len));
    t_cmd(sn, C_RECV);
}

uint8_t t_wait_ir(unsigned sn, uint8_t mask, uint64_t step_us, uint64_t limit_us)
{
    uint64_t end = tnow + limit_us;
    uint8_t ir = t_rd8(T_SREG(sn), RS_IR);
    while ((ir & mask) == 0 && tnow < end) {
        t_advance(step_us);
        ir = t_rd8(T_SREG(sn), RS_IR);
    }
    return ir;
}

uint8_t t_wait_sr(unsigned sn, uint8_t sr, uint64_t step_us, uint64_t limit_us)
{
    uint64_t end = tnow + limit_us;
    uint8_t v = t_rd8(T_SREG(sn), RS_SR);
    while (v != sr && tnow < end) {
        t_advance(step_us);
        v = t_rd8(T_SREG(sn), RS_SR);
    }
    return v;
}

int h_tcp_listen(uint16_t *port)
{
    int fd = loopback_bind(SOCK_STREAM, 4, port);
    assert_true(fd >= 0);
    return fd;
}

int h_accept(int lfd)
{
    struct pollfd p = {.fd = lfd, .events = POLLIN, .revents = 0};
    assert_int_equal(poll(&p, 1, 2000), 1);
    int fd = accept4(lfd, NULL, NULL, SOCK_CLOEXEC);
    assert_true(fd >= 0);
    return fd;
}

int h_tcp_connect(uint16_t port)
{
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    assert_true(fd >= 0);
    struct sockaddr_in a = loopback_addr(port);
    assert_int_equal(connect(fd, (struct sockaddr *)&a, sizeof(a)), 0);
    return fd;
}

int h_udp_bind(uint16_t *port)
{
    int fd = loopback_bind(SOCK_DGRAM, LOOPBACK_NO_LISTEN, port);
    assert_true(fd >= 0);
    return fd;
}

void h_write_all(int fd, const uint8_t *p, size_t n)
{
    while (n > 0) {
        ssize_t w = send(fd, p, n, MSG_NOSIGNAL);
        assert_true(w > 0);
        p += w;
        n -= (size_t)w;
    }
}

bool h_read_n(int fd, uint8_t *p, size_t n)
{
    size_t got = 0;
    int idle = 0;
    while (got < n) {
        struct pollfd pf = {.fd = fd, .events = POLLIN, .revents = 0};
        t_advance(100);
        if (poll(&pf, 1, 10) != 1) {
            if (++idle > 300) {
                return false;
            }
            continue;
        }
        ssize_t r = recv(fd, p + got, n - got, 0);
        if (r <= 0) {
            return false;
        }
        got += (size_t)r;
    }
    return true;
}

int h_read_status(int fd)
{
    struct pollfd pf = {.fd = fd, .events = POLLIN, .revents = 0};
    if (poll(&pf, 1, 200) != 1) {
        return -2;
    }
    uint8_t b;
    ssize_t r = recv(fd, &b, 1, MSG_PEEK);
    if (r < 0) {
        return -1;
    }
    return (int)r;
}

void t_pattern(uint8_t *p, size_t n, uint32_t seed)
{
    uint32_t x = seed * 2654435761u + 1u;
    for (size_t i = 0; i < n; i++) {
        x ^= x << 13;
        x ^= x >> 17;
        x ^= x << 5;
        p[i] = (uint8_t)x;
    }
}

uint32_t t_fnv(const uint8_t *p, size_t n)
{
    uint32_t h = 2166136261u;
    for (size_t i = 0; i < n; i++) {
        h = (h ^ p[i]) * 16777619u;
    }
    return h;
}
