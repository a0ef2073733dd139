/*
 * The driver against the W5500 model (sim/w5500), reached only through the model's pins by an SPI
 * shim: bring-up, static and DHCP addressing, DNS, TCP transfers to and from a real peer thread on
 * 127.0.0.1 with checksums both ways, and every fault the model offers, each ending in a named
 * status. After every test all eight sockets must read SOCK_CLOSED through the model.
 *
 * Time is virtual: the shim's millisecond clock and the model advance together in step(); only
 * the peer thread runs in real time (its sockets have a 20 s safety timeout).
 */
#define _POSIX_C_SOURCE 200809L

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "w5500.h"
#include "w5500_dhcp.h"
#include "w5500_dns.h"
#include "w5500_model.h"
#include "loopback.h"

/* ---- SPI shim ------------------------------------------------------------------------------- */

struct shim {
    struct w5500_model *m;
    uint64_t now_us;
    bool absent; /* no chip on the bus: MISO floats high */
};

static struct shim S;

static void sh_select(void *ctx)
{
    struct shim *s = ctx;
    w5500_model_set_scsn(s->m, false);
}

static void sh_deselect(void *ctx)
{
    struct shim *s = ctx;
    w5500_model_set_scsn(s->m, true);
}

static int sh_transfer(void *ctx, const uint8_t *tx, uint8_t *rx, size_t len)
{
    struct shim *s = ctx;
    for (size_t i = 0; i < len; i++) {
        uint8_t miso = w5500_model_spi_byte(s->m, tx != NULL ? tx[i] : 0);
        if (rx != NULL) {
            rx[i] = s->absent ? 0xFF : miso;
        }
    }
    return 0;
}

static void sh_reset(void *ctx, bool level)
{
    struct shim *s = ctx;
    w5500_model_set_rstn(s->m, level);
}

static uint32_t sh_millis(void *ctx)
{
    struct shim *s = ctx;
    return (uint32_t)(s->now_us / 1000u);
}

static const struct w5500_port PORT = {sh_select, sh_deselect, sh_transfer, sh_reset, sh_millis,
                                       &S};

static void step(uint32_t ms)
{
    S.now_us += (uint64_t)ms * 1000u;
    w5500_model_advance(S.m, S.now_us);
}

/* ---- fixtures ------------------------------------------------------------------------------- */

#define LAN(a, b, c, d) (((uint32_t)(a) << 24) | ((uint32_t)(b) << 16) | ((uint32_t)(c) << 8) | (d))
static const uint8_t PEER_IP[4] = {192, 168, 1, 10};
static const uint8_t DNS_IP[4] = {192, 168, 1, 1};
/* Each peer gets its own LAN port (the model's map cannot be undone). */
static uint16_t peer_port;

/*
 * Waits that depend on a real-time peer thread are bounded by a generous real-time deadline (not
 * an iteration count, which a loaded machine can exhaust before the peer is scheduled). Nothing
 * asserts on real time; the deadline only turns a hang into a failure.
 */
#define WAIT_REAL_S 30
static struct timespec wait_deadline;

static void wait_begin(void)
{
    (void)clock_gettime(CLOCK_MONOTONIC, &wait_deadline);
    wait_deadline.tv_sec += WAIT_REAL_S;
}

static bool wait_more(void)
{
    struct timespec now;
    (void)clock_gettime(CLOCK_MONOTONIC, &now);
    return now.tv_sec < wait_deadline.tv_sec ||
           (now.tv_sec == wait_deadline.tv_sec && now.tv_nsec < wait_deadline.tv_nsec);
}

/* Nothing to do this pass: 1 ms of model time, and let the peer thread run. */
static void idle(void)
{
    step(1);
    struct timespec ts = {0, 20000};
    (void)nanosleep(&ts, NULL);
}

static struct w5500_dev dev;
static struct w5500_model_config mcfg;

static void cfg_static(struct w5500_config *c)
{
    memset(c, 0, sizeof *c);
    for (unsigned i = 0; i < 12; i++) {
        c->uid[i] = (uint8_t)(0xA0 + i);
    }
    const uint8_t ip[4] = {192, 168, 1, 50}, mask[4] = {255, 255, 255, 0}, gw[4] = {192, 168, 1, 1};
    memcpy(c->net.ip, ip, 4);
    memcpy(c->net.mask, mask, 4);
    memcpy(c->net.gateway, gw, 4);
    c->tx_kb[0] = 4;
    c->rx_kb[0] = 8;
    for (unsigned i = 1; i < 8; i++) {
        c->tx_kb[i] = 1;
        c->rx_kb[i] = 1;
    }
    c->link_timeout_ms = 3000;
    /* 50 ms x 2^n, 4 retries: chip timeouts of about 1.5 s keep fault tests short. */
    c->retry_time_100us = 500;
    c->retry_count = 4;
}

static void model_start(void)
{
    memset(&S, 0, sizeof S);
    peer_port = 8080;
    S.m = w5500_model_new(&mcfg);
    assert_non_null(S.m);
}

static int setup(void **state)
{
    (void)state;
    w5500_model_config_default(&mcfg);
    model_start();
    return 0;
}

static void assert_no_open_sockets(void)
{
    for (uint8_t sn = 0; sn < W5500_NUM_SOCKETS; sn++) {
        uint8_t sr = 0xFF;
        assert_int_equal(w5500_sock_status(&dev, sn, &sr), W5500_OK);
        assert_int_equal(sr, 0x00);
    }
}

static int teardown(void **state)
{
    (void)state;
    w5500_model_free(S.m);
    S.m = NULL;
    return 0;
}

static int bring_up_with(const struct w5500_config *c)
{
    assert_int_equal(w5500_init(&dev, &PORT, c), W5500_OK);
    int rc = W5500_PENDING;
    for (unsigned i = 0; i < 10000 && rc == W5500_PENDING; i++) {
        rc = w5500_bringup_poll(&dev);
        step(1);
    }
    return rc;
}

static void bring_up(void)
{
    struct w5500_config c;
    cfg_static(&c);
    assert_int_equal(bring_up_with(&c), W5500_OK);
}

/* ---- deterministic data and checksums ------------------------------------------------------- */

static uint32_t xs_next(uint32_t *x)
{
    *x ^= *x << 13;
    *x ^= *x >> 17;
    *x ^= *x << 5;
    return *x;
}

static void gen(uint32_t seed, uint8_t *out, size_t n, uint32_t *state)
{
    if (seed != 0) {
        *state = seed;
    }
    for (size_t i = 0; i < n; i++) {
        out[i] = (uint8_t)xs_next(state);
    }
}

static uint32_t fnv(uint32_t h, const uint8_t *p, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        h ^= p[i];
        h *= 16777619u;
    }
    return h;
}

#define FNV_INIT 2166136261u

/* ---- host peer ------------------------------------------------------------------------------ */

struct peer {
    int lfd;
    uint16_t port;
    size_t up_len;     /* bytes to read from the device before answering */
    size_t down_len;   /* bytes to send back */
    uint32_t down_seed;
    /* results */
    size_t up_got;
    uint32_t up_sum;
    size_t down_sent;
    bool saw_eof;
    pthread_t th;
};

static void *peer_main(void *arg)
{
    struct peer *p = arg;
    struct pollfd pfd = {.fd = p->lfd, .events = POLLIN, .revents = 0};
    if (poll(&pfd, 1, 20000) <= 0) {
        return NULL;
    }
    int fd = accept(p->lfd, NULL, NULL);
    if (fd < 0) {
        return NULL;
    }
    struct timeval tv = {.tv_sec = 20, .tv_usec = 0};
    (void)setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    (void)setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
    uint8_t buf[4096];
    p->up_sum = FNV_INIT;
    while (p->up_got < p->up_len) {
        ssize_t r = recv(fd, buf, sizeof buf, 0);
        if (r <= 0) {
            break;
        }
        p->up_sum = fnv(p->up_sum, buf, (size_t)r);
        p->up_got += (size_t)r;
    }
    uint32_t st = 0;
    bool first = true;
    while (p->down_sent < p->down_len) {
        size_t n = p->down_len - p->down_sent < sizeof buf ? p->down_len - p->down_sent : sizeof buf;
        gen(first ? p->down_seed : 0, buf, n, &st);
        first = false;
        size_t off = 0;
        while (off < n) {
            ssize_t w = send(fd, buf + off, n - off, MSG_NOSIGNAL);
            if (w <= 0) {
                goto out;
            }
            off += (size_t)w;
        }
        p->down_sent += n;
    }
    (void)shutdown(fd, SHUT_WR);
    for (;;) {
        ssize_t r = recv(fd, buf, sizeof buf, 0);
        if (r == 0) {
            p->saw_eof = true;
            break;
        }
        if (r < 0) {
            break;
        }
    }
out:
    close(fd);
    return NULL;
}

static void peer_start(struct peer *p, size_t up_len, size_t down_len, uint32_t down_seed)
{
    memset(p, 0, sizeof *p);
    p->up_len = up_len;
    p->down_len = down_len;
    p->down_seed = down_seed;
    p->lfd = loopback_bind(SOCK_STREAM, 1, &p->port);
    assert_true(p->lfd >= 0);
    peer_port++;
    assert_int_equal(w5500_model_map_tcp(S.m, LAN(192, 168, 1, 10), peer_port, p->port),
                     W5500_MODEL_OK);
    assert_int_equal(pthread_create(&p->th, NULL, peer_main, p), 0);
}

static void peer_join(struct peer *p)
{
    close(p->lfd); /* wakes a peer still waiting in accept (poll returns) */
    assert_int_equal(pthread_join(p->th, NULL), 0);
}

/* ---- TCP helpers ---------------------------------------------------------------------------- */

static int connect_wait(uint8_t sn, uint16_t lport)
{
    int rc = w5500_tcp_connect(&dev, sn, lport, PEER_IP, peer_port);
    if (rc != W5500_OK) {
        return rc;
    }
    wait_begin();
    while (wait_more()) {
        rc = w5500_tcp_connect_poll(&dev, sn);
        if (rc != W5500_PENDING) {
            return rc;
        }
        idle();
    }
    return W5500_PENDING;
}

/* Send n generated bytes; returns the final status (OK once all are acknowledged). */
static int upload(uint8_t sn, size_t n, uint32_t seed, uint32_t *sum, void (*hook)(size_t done))
{
    uint8_t chunk[3000];
    uint32_t st = 0;
    bool first = true;
    size_t done = 0;
    *sum = FNV_INIT;
    while (done < n) {
        size_t len = n - done < sizeof chunk ? n - done : sizeof chunk;
        gen(first ? seed : 0, chunk, len, &st);
        first = false;
        *sum = fnv(*sum, chunk, len);
        size_t off = 0;
        wait_begin();
        while (off < len) {
            size_t sent = 0;
            int rc = w5500_tcp_send(&dev, sn, chunk + off, len - off, &sent);
            if (rc < 0) {
                return rc;
            }
            off += sent;
            if (hook != NULL) {
                hook(done + off);
            }
            if (sent == 0) {
                idle();
            }
            if (!wait_more()) {
                return W5500_PENDING;
            }
        }
        done += len;
    }
    wait_begin();
    while (wait_more()) {
        int rc = w5500_tcp_flush_poll(&dev, sn);
        if (rc != W5500_PENDING) {
            return rc;
        }
        idle();
    }
    return W5500_PENDING;
}

/* Receive until EOF or an error; *got and *sum over all bytes. */
static int download(uint8_t sn, size_t *got, uint32_t *sum, void (*hook)(size_t got))
{
    static uint8_t buf[8192];
    *got = 0;
    *sum = FNV_INIT;
    wait_begin();
    while (wait_more()) {
        size_t n = 0;
        int rc = w5500_tcp_recv(&dev, sn, buf, sizeof buf, &n);
        if (rc == W5500_OK) {
            *sum = fnv(*sum, buf, n);
            *got += n;
            if (hook != NULL) {
                hook(*got);
            }
            continue;
        }
        if (rc != W5500_PENDING) {
            return rc;
        }
        idle();
    }
    return W5500_PENDING;
}

static int disconnect_wait(uint8_t sn)
{
    int rc = w5500_tcp_disconnect(&dev, sn);
    if (rc != W5500_OK) {
        return rc;
    }
    wait_begin();
    while (wait_more()) {
        rc = w5500_tcp_disconnect_poll(&dev, sn);
        if (rc != W5500_PENDING) {
            return rc;
        }
        idle();
    }
    return W5500_PENDING;
}

static uint32_t expected_sum(uint32_t seed, size_t n)
{
    static uint8_t b[4096];
    uint32_t st = 0;
    uint32_t h = FNV_INIT;
    bool first = true;
    while (n > 0) {
        size_t k = n < sizeof b ? n : sizeof b;
        gen(first ? seed : 0, b, k, &st);
        first = false;
        h = fnv(h, b, k);
        n -= k;
    }
    return h;
}

/* ---- tests: bring-up ------------------------------------------------------------------------ */

static void test_bringup_static(void **state)
{
    (void)state;
    bring_up();
    assert_true(w5500_model_ready(S.m));
    struct w5500_netcfg n;
    assert_int_equal(w5500_get_netcfg(&dev, &n), W5500_OK);
    const uint8_t ip[4] = {192, 168, 1, 50};
    assert_memory_equal(n.ip, ip, 4);
    bool up = false;
    assert_int_equal(w5500_link_get(&dev, &up), W5500_OK);
    assert_true(up);
    assert_no_open_sockets();
}

static void test_bringup_no_chip(void **state)
{
    (void)state;
    S.absent = true;
    struct w5500_config c;
    cfg_static(&c);
    assert_int_equal(bring_up_with(&c), W5500_ERR_NO_CHIP);
}

static void test_bringup_link(void **state)
{
    (void)state;
    w5500_model_set_link(S.m, false);
    struct w5500_config c;
    cfg_static(&c);
    assert_int_equal(bring_up_with(&c), W5500_ERR_NO_LINK);
    assert_true(S.now_us / 1000u >= c.link_timeout_ms);
    /* Link appears half-way through the wait: ready. */
    assert_int_equal(w5500_init(&dev, &PORT, &c), W5500_OK);
    int rc = W5500_PENDING;
    for (unsigned i = 0; i < 10000 && rc == W5500_PENDING; i++) {
        if (i == 1500) {
            w5500_model_set_link(S.m, true);
        }
        rc = w5500_bringup_poll(&dev);
        step(1);
    }
    assert_int_equal(rc, W5500_OK);
    assert_no_open_sockets();
}

/* ---- tests: DHCP ---------------------------------------------------------------------------- */

static struct w5500_dhcp dhcp;
static struct w5500_dns dns;

static int dhcp_run(unsigned max_iters, uint32_t step_ms)
{
    int rc = W5500_PENDING;
    for (unsigned i = 0; i < max_iters && rc == W5500_PENDING; i++) {
        step(step_ms);
        rc = w5500_dhcp_poll(&dhcp);
    }
    return rc;
}

static void dhcp_bring_up(void)
{
    struct w5500_config c;
    cfg_static(&c);
    memset(&c.net, 0, sizeof c.net);
    assert_int_equal(bring_up_with(&c), W5500_OK);
}

static const struct w5500_dhcp_config DHCP_FAST = {1000, 3, false, 0};

static void test_dhcp_acquire_renew_expire(void **state)
{
    (void)state;
    dhcp_bring_up();
    assert_int_equal(w5500_dhcp_start(&dhcp, &dev, 2, 0x1234u, NULL), W5500_OK);
    assert_int_equal(dhcp_run(10000, 10), W5500_OK);
    struct w5500_dhcp_lease l;
    assert_int_equal(w5500_dhcp_get_lease(&dhcp, &l), W5500_OK);
    const uint8_t ip[4] = {192, 168, 1, 100}, mask[4] = {255, 255, 255, 0}, gw[4] = {192, 168, 1, 1};
    assert_memory_equal(l.net.ip, ip, 4);
    assert_memory_equal(l.net.mask, mask, 4);
    assert_memory_equal(l.net.gateway, gw, 4);
    assert_memory_equal(l.dns, DNS_IP, 4);
    assert_int_equal(l.lease_s, 3600);
    assert_int_equal(l.t1_s, 1800);
    struct w5500_netcfg n;
    assert_int_equal(w5500_get_netcfg(&dev, &n), W5500_OK);
    assert_memory_equal(n.ip, ip, 4);
    assert_no_open_sockets(); /* the DHCP socket is closed while the lease is held */

    /* Renewal at T1: still bound, one renewal, no address change. */
    struct w5500_model_stats st0, st1;
    w5500_model_get_stats(S.m, &st0);
    for (unsigned i = 0; i < 1900; i++) {
        step(1000);
        assert_int_equal(w5500_dhcp_poll(&dhcp), W5500_OK);
    }
    assert_int_equal(dhcp.renewals, 1);
    w5500_model_get_stats(S.m, &st1);
    assert_int_equal(st1.dhcp_requests - st0.dhcp_requests, 1);
    assert_no_open_sockets();

    /* Server goes silent: renewing, rebinding, then the lease runs out. */
    w5500_model_fault_dhcp(S.m, W5500_DHCP_FAULT_IGNORE_ALL, UINT32_MAX);
    int rc = W5500_OK;
    unsigned secs = 0;
    while (rc == W5500_OK && secs < 5000) {
        step(1000);
        secs++;
        rc = w5500_dhcp_poll(&dhcp);
    }
    assert_int_equal(rc, W5500_ERR_LEASE_LOST);
    /* Renewed at about T1 + 1 s = 1801 s after the first lease; that lease ends 3600 s later,
     * 1900 s of which the renewal loop above already used. */
    assert_true(secs >= 3495 && secs <= 3505);
    assert_int_equal(w5500_get_netcfg(&dev, &n), W5500_OK);
    const uint8_t zero[4] = {0};
    assert_memory_equal(n.ip, zero, 4);
    w5500_model_get_stats(S.m, &st0);
    assert_true(st0.dhcp_requests - st1.dhcp_requests >= 3); /* renew + rebind retransmissions */

    /* Server back: a new lease. */
    w5500_model_fault_dhcp(S.m, W5500_DHCP_FAULT_NONE, 0);
    assert_int_equal(dhcp_run(100000, 100), W5500_OK);
    assert_int_equal(w5500_get_netcfg(&dev, &n), W5500_OK);
    assert_memory_equal(n.ip, ip, 4);
    /* Give the lease back: one RELEASE reaches the server, the address is cleared. */
    w5500_model_get_stats(S.m, &st0);
    assert_int_equal(w5500_dhcp_release(&dhcp), W5500_PENDING);
    int rel = W5500_PENDING;
    for (unsigned i = 0; i < 1000 && rel == W5500_PENDING; i++) {
        step(1);
        rel = w5500_dhcp_poll(&dhcp);
    }
    assert_int_equal(rel, W5500_OK);
    assert_int_equal(w5500_dhcp_state(&dhcp), W5500_DHCP_S_IDLE);
    w5500_model_get_stats(S.m, &st1);
    assert_int_equal(st1.dhcp_requests - st0.dhcp_requests, 1);
    assert_int_equal(w5500_get_netcfg(&dev, &n), W5500_OK);
    assert_memory_equal(n.ip, zero, 4);
    assert_int_equal(w5500_dhcp_release(&dhcp), W5500_ERR_NOT_READY); /* nothing left to give */
    assert_int_equal(w5500_dhcp_stop(&dhcp), W5500_OK);
    assert_no_open_sockets();
}

static void test_dhcp_short_and_infinite_leases(void **state)
{
    (void)state;
    /* 60 s lease: renewed every ~30 s (T1 = lease / 2), never lost. */
    mcfg.dhcp_lease_s = 60;
    w5500_model_free(S.m);
    model_start();
    dhcp_bring_up();
    assert_int_equal(w5500_dhcp_start(&dhcp, &dev, 2, 21u, NULL), W5500_OK);
    assert_int_equal(dhcp_run(10000, 10), W5500_OK);
    struct w5500_dhcp_lease l;
    assert_int_equal(w5500_dhcp_get_lease(&dhcp, &l), W5500_OK);
    assert_int_equal(l.lease_s, 60);
    assert_int_equal(l.t1_s, 30);
    assert_int_equal(l.t2_s, 52);
    for (unsigned i = 0; i < 6000; i++) { /* 10 minutes in 100 ms steps */
        step(100);
        assert_int_equal(w5500_dhcp_poll(&dhcp), W5500_OK);
    }
    assert_true(dhcp.renewals >= 19 && dhcp.renewals <= 20);
    assert_int_equal(w5500_dhcp_stop(&dhcp), W5500_OK);
    assert_no_open_sockets();

    /* No option 51: an infinite lease, never renewed, no SPI traffic while held. */
    mcfg.dhcp_lease_s = 0;
    w5500_model_free(S.m);
    model_start();
    dhcp_bring_up();
    assert_int_equal(w5500_dhcp_start(&dhcp, &dev, 2, 22u, NULL), W5500_OK);
    assert_int_equal(dhcp_run(10000, 10), W5500_OK);
    assert_int_equal(w5500_dhcp_get_lease(&dhcp, &l), W5500_OK);
    assert_int_equal(l.lease_s, 0xFFFFFFFFu);
    struct w5500_model_stats st0, st1;
    w5500_model_get_stats(S.m, &st0);
    for (unsigned i = 0; i < 45000; i++) { /* 52 days in 100 s steps: the 32-bit ms clock wraps */
        step(100000);
        assert_int_equal(w5500_dhcp_poll(&dhcp), W5500_OK);
    }
    w5500_model_get_stats(S.m, &st1);
    assert_int_equal(dhcp.renewals, 0);
    assert_int_equal(st1.spi_frames, st0.spi_frames);
    assert_no_open_sockets();
}

/* A UDP socket on 127.0.0.1 standing in for a LAN host, so the model's ARP finds it. */
static int lan_host_at(uint32_t lan_ip)
{
    uint16_t port = 0;
    int fd = loopback_bind(SOCK_DGRAM, LOOPBACK_NO_LISTEN, &port);
    assert_true(fd >= 0);
    assert_int_equal(w5500_model_map_udp(S.m, lan_ip, 9, port), W5500_MODEL_OK);
    return fd;
}

static void test_dhcp_address_conflict(void **state)
{
    (void)state;
    dhcp_bring_up();
    /* .100 is already taken by another host: probe answered, DECLINE, the next address is used. */
    int fd = lan_host_at(LAN(192, 168, 1, 100));
    assert_int_equal(w5500_dhcp_start(&dhcp, &dev, 2, 31u, &DHCP_FAST), W5500_OK);
    assert_int_equal(dhcp_run(100000, 10), W5500_OK);
    struct w5500_dhcp_lease l;
    assert_int_equal(w5500_dhcp_get_lease(&dhcp, &l), W5500_OK);
    const uint8_t ip101[4] = {192, 168, 1, 101};
    assert_memory_equal(l.net.ip, ip101, 4);
    struct w5500_model_stats st;
    w5500_model_get_stats(S.m, &st);
    assert_int_equal(st.dhcp_requests, 5); /* DISCOVER, REQUEST, DECLINE, DISCOVER, REQUEST */
    uint8_t b[16];
    assert_int_equal(recv(fd, b, sizeof b, MSG_DONTWAIT), 1); /* the probe reached the owner */
    assert_int_equal(w5500_dhcp_stop(&dhcp), W5500_OK);
    close(fd);
    assert_no_open_sockets();
}

/* Model time until the next UDP datagram from sn to ip ends (SEND_OK or TIMEOUT), in ms. */
static uint64_t udp_send_ms(uint8_t sn, const uint8_t ip[4], int *rc)
{
    static const uint8_t one[1] = {0};
    uint64_t t0 = S.now_us;
    assert_int_equal(w5500_udp_sendto(&dev, sn, one, sizeof one, ip, 9), W5500_OK);
    *rc = W5500_PENDING;
    for (unsigned i = 0; i < 100000 && *rc == W5500_PENDING; i++) {
        step(10);
        *rc = w5500_udp_send_poll(&dev, sn);
    }
    return (S.now_us - t0) / 1000u;
}

/* probe_arps 3: the probe takes 3 ARP requests (RTR apart) instead of RCR + 1, a taken address
 * is still declined, and RCR is the configured value again afterwards. */
static void test_dhcp_short_probe(void **state)
{
    (void)state;
    dhcp_bring_up();
    const struct w5500_dhcp_config full = {1000, 3, false, 0};
    const struct w5500_dhcp_config short3 = {1000, 3, false, 3};
    uint64_t t0 = S.now_us;
    assert_int_equal(w5500_dhcp_start(&dhcp, &dev, 2, 61u, &full), W5500_OK);
    assert_int_equal(dhcp_run(100000, 10), W5500_OK);
    uint64_t full_ms = (S.now_us - t0) / 1000u;
    assert_int_equal(w5500_dhcp_stop(&dhcp), W5500_OK);
    t0 = S.now_us;
    assert_int_equal(w5500_dhcp_start(&dhcp, &dev, 2, 62u, &short3), W5500_OK);
    assert_int_equal(dhcp_run(100000, 10), W5500_OK);
    uint64_t short_ms = (S.now_us - t0) / 1000u;
    /* cfg_static: RTR 50 ms, RCR 4: the full probe is 5 ARP requests (250 ms), the short 3 */
    assert_true(full_ms >= 250u && full_ms < 300u);
    assert_true(short_ms >= 150u && short_ms < 200u);
    assert_true(full_ms - short_ms >= 90u);
    assert_int_equal(w5500_dhcp_stop(&dhcp), W5500_OK);
    /* RCR restored to the configured 4: an ARP for an address nobody owns ends after 5 requests. */
    const uint8_t nobody[4] = {192, 168, 1, 77};
    int rc = 0;
    assert_int_equal(w5500_udp_open(&dev, 3, 40000), W5500_OK);
    uint64_t arp_ms = udp_send_ms(3, nobody, &rc);
    assert_int_equal(rc, W5500_ERR_TIMEOUT);
    assert_true(arp_ms >= 250u && arp_ms < 300u);
    assert_int_equal(w5500_sock_close(&dev, 3), W5500_OK);
    /* A taken address is still found with the short probe. */
    int fd = lan_host_at(LAN(192, 168, 1, 100));
    assert_int_equal(w5500_dhcp_start(&dhcp, &dev, 2, 63u, &short3), W5500_OK);
    assert_int_equal(dhcp_run(100000, 10), W5500_OK);
    struct w5500_dhcp_lease l;
    assert_int_equal(w5500_dhcp_get_lease(&dhcp, &l), W5500_OK);
    assert_int_not_equal(l.net.ip[3], 100);
    uint8_t b[16];
    assert_int_equal(recv(fd, b, sizeof b, MSG_DONTWAIT), 1); /* the probe reached the owner */
    assert_int_equal(w5500_dhcp_stop(&dhcp), W5500_OK);
    close(fd);
    assert_no_open_sockets();
}

static void test_dhcp_conflict_everywhere(void **state)
{
    (void)state;
    dhcp_bring_up();
    int fds[3];
    for (unsigned i = 0; i < 3; i++) {
        fds[i] = lan_host_at(LAN(192, 168, 1, 100 + i));
    }
    assert_int_equal(w5500_dhcp_start(&dhcp, &dev, 2, 32u, &DHCP_FAST), W5500_OK);
    assert_int_equal(dhcp_run(100000, 10), W5500_ERR_CONFLICT);
    assert_int_equal(w5500_dhcp_state(&dhcp), W5500_DHCP_S_FAILED);
    struct w5500_netcfg n;
    assert_int_equal(w5500_get_netcfg(&dev, &n), W5500_OK);
    const uint8_t zero[4] = {0};
    assert_memory_equal(n.ip, zero, 4); /* no taken address was ever configured */
    assert_no_open_sockets();
    /* Without the probe the first offer is used as is. */
    const struct w5500_dhcp_config noprobe = {1000, 3, true, 0};
    assert_int_equal(w5500_dhcp_start(&dhcp, &dev, 2, 33u, &noprobe), W5500_OK);
    assert_int_equal(dhcp_run(100000, 10), W5500_OK);
    assert_int_equal(w5500_get_netcfg(&dev, &n), W5500_OK);
    assert_int_equal(n.ip[3], 103); /* .100-.102 were declined at the server */
    assert_int_equal(w5500_dhcp_stop(&dhcp), W5500_OK);
    for (unsigned i = 0; i < 3; i++) {
        close(fds[i]);
    }
    assert_no_open_sockets();
}

static void test_dhcp_no_server(void **state)
{
    (void)state;
    dhcp_bring_up();
    w5500_model_fault_dhcp(S.m, W5500_DHCP_FAULT_IGNORE_DISCOVER, UINT32_MAX);
    assert_int_equal(w5500_dhcp_start(&dhcp, &dev, 2, 7u, &DHCP_FAST), W5500_OK);
    uint64_t t0 = S.now_us;
    assert_int_equal(dhcp_run(100000, 10), W5500_ERR_GAVE_UP);
    /* 3 DISCOVERs with 1 + 2 + 4 s timeouts, each randomised by +-25 % (at most 1 s). */
    uint64_t waited_ms = (S.now_us - t0) / 1000u;
    assert_true(waited_ms >= 7000 - 250 - 500 - 1000 && waited_ms <= 7000 + 250 + 500 + 1000 + 20);
    struct w5500_model_stats st;
    w5500_model_get_stats(S.m, &st);
    assert_int_equal(st.dhcp_requests, 3);
    /* Another seed gives another schedule (devices do not retry in step). */
    uint64_t first = waited_ms;
    bool differs = false;
    for (uint32_t seed = 100; seed < 104 && !differs; seed++) {
        assert_int_equal(w5500_dhcp_start(&dhcp, &dev, 2, seed, &DHCP_FAST), W5500_OK);
        t0 = S.now_us;
        assert_int_equal(dhcp_run(100000, 10), W5500_ERR_GAVE_UP);
        differs = (S.now_us - t0) / 1000u != first;
    }
    assert_true(differs);
    struct w5500_dhcp_lease l;
    assert_int_equal(w5500_dhcp_get_lease(&dhcp, &l), W5500_ERR_NOT_READY);
    assert_int_equal(w5500_dhcp_poll(&dhcp), W5500_ERR_GAVE_UP); /* final and sticky */
    assert_no_open_sockets();
    /* Static fallback: the address is set by hand and the network is usable (DNS answers). */
    struct w5500_netcfg st_net = {{192, 168, 1, 60}, {255, 255, 255, 0}, {192, 168, 1, 1}};
    assert_int_equal(w5500_set_netcfg(&dev, &st_net), W5500_OK);
    assert_int_equal(w5500_model_dns_add(S.m, "ota.example.com", LAN(192, 168, 1, 10)),
                     W5500_MODEL_OK);
    uint8_t ip[4] = {0};
    assert_int_equal(w5500_dns_start(&dns, &dev, 3, DNS_IP, "ota.example.com", 1, 50001, NULL),
                     W5500_OK);
    int rc = W5500_PENDING;
    for (unsigned i = 0; i < 10000 && rc == W5500_PENDING; i++) {
        step(5);
        rc = w5500_dns_poll(&dns, ip);
    }
    assert_int_equal(rc, W5500_OK);
    assert_memory_equal(ip, PEER_IP, 4);
    assert_no_open_sockets();
}

static void test_dhcp_request_lost_once(void **state)
{
    (void)state;
    dhcp_bring_up();
    w5500_model_fault_dhcp(S.m, W5500_DHCP_FAULT_IGNORE_REQUEST, 1);
    assert_int_equal(w5500_dhcp_start(&dhcp, &dev, 2, 9u, &DHCP_FAST), W5500_OK);
    assert_int_equal(dhcp_run(100000, 10), W5500_OK);
    struct w5500_model_stats st;
    w5500_model_get_stats(S.m, &st);
    assert_int_equal(st.dhcp_requests, 3); /* DISCOVER, REQUEST (ignored), REQUEST */
    assert_no_open_sockets();
}

static void test_dhcp_requests_unanswered(void **state)
{
    (void)state;
    dhcp_bring_up();
    /* Every REQUEST of the first round ignored: back to DISCOVER, then bound. */
    w5500_model_fault_dhcp(S.m, W5500_DHCP_FAULT_IGNORE_REQUEST, 3);
    assert_int_equal(w5500_dhcp_start(&dhcp, &dev, 2, 51u, &DHCP_FAST), W5500_OK);
    assert_int_equal(dhcp_run(100000, 10), W5500_OK);
    struct w5500_model_stats st, st2;
    w5500_model_get_stats(S.m, &st);
    assert_int_equal(st.dhcp_requests, 6); /* D R R R, D R */
    /* REQUESTs never answered: `attempts` rounds, then GAVE_UP. */
    w5500_model_fault_dhcp(S.m, W5500_DHCP_FAULT_IGNORE_REQUEST, UINT32_MAX);
    assert_int_equal(w5500_dhcp_start(&dhcp, &dev, 2, 52u, &DHCP_FAST), W5500_OK);
    assert_int_equal(dhcp_run(100000, 10), W5500_ERR_GAVE_UP);
    w5500_model_get_stats(S.m, &st2);
    assert_int_equal(st2.dhcp_requests - st.dhcp_requests, 12); /* 3 x (D R R R) */
    assert_no_open_sockets();
}

static void test_dhcp_nak(void **state)
{
    (void)state;
    dhcp_bring_up();
    /* One NAK: back to DISCOVER, then bound. */
    w5500_model_fault_dhcp(S.m, W5500_DHCP_FAULT_NAK_REQUEST, 1);
    assert_int_equal(w5500_dhcp_start(&dhcp, &dev, 2, 11u, &DHCP_FAST), W5500_OK);
    assert_int_equal(dhcp_run(100000, 10), W5500_OK);
    struct w5500_model_stats st;
    w5500_model_get_stats(S.m, &st);
    assert_int_equal(st.dhcp_requests, 4);
    /* NAK for ever: a clear NAK status after `attempts` NAKs. */
    w5500_model_fault_dhcp(S.m, W5500_DHCP_FAULT_NAK_REQUEST, UINT32_MAX);
    assert_int_equal(w5500_dhcp_start(&dhcp, &dev, 2, 12u, &DHCP_FAST), W5500_OK);
    assert_int_equal(dhcp_run(100000, 10), W5500_ERR_NAK);
    struct w5500_model_stats st2;
    w5500_model_get_stats(S.m, &st2);
    assert_int_equal(st2.dhcp_requests - st.dhcp_requests, 6); /* 3 x (DISCOVER + REQUEST) */
    assert_no_open_sockets();
}

static void test_dhcp_nak_on_renewal(void **state)
{
    (void)state;
    dhcp_bring_up();
    assert_int_equal(w5500_dhcp_start(&dhcp, &dev, 2, 41u, &DHCP_FAST), W5500_OK);
    assert_int_equal(dhcp_run(100000, 10), W5500_OK);
    /* The server refuses the renewal at T1: the lease is dropped at once, not at its end. */
    w5500_model_fault_dhcp(S.m, W5500_DHCP_FAULT_NAK_REQUEST, 1);
    int rc = W5500_OK;
    unsigned secs = 0;
    while (rc == W5500_OK && secs < 4000) {
        step(1000);
        secs++;
        rc = w5500_dhcp_poll(&dhcp);
    }
    assert_int_equal(rc, W5500_ERR_LEASE_LOST);
    assert_true(secs >= 1799 && secs <= 1802);
    struct w5500_netcfg n;
    assert_int_equal(w5500_get_netcfg(&dev, &n), W5500_OK);
    assert_int_equal(n.ip[0], 0);
    /* ... and a new lease follows. */
    assert_int_equal(dhcp_run(100000, 10), W5500_OK);
    assert_int_equal(w5500_get_netcfg(&dev, &n), W5500_OK);
    assert_int_equal(n.ip[3], 100);
    assert_int_equal(w5500_dhcp_stop(&dhcp), W5500_OK);
    assert_no_open_sockets();
}

static void test_dhcp_truncated_replies(void **state)
{
    (void)state;
    dhcp_bring_up();
    w5500_model_fault_udp_truncate(S.m, 200, UINT32_MAX);
    assert_int_equal(w5500_dhcp_start(&dhcp, &dev, 2, 13u, &DHCP_FAST), W5500_OK);
    assert_int_equal(dhcp_run(100000, 10), W5500_ERR_MALFORMED);
    /* Only the first reply cut: retransmission recovers. */
    w5500_model_fault_udp_truncate(S.m, 200, 1);
    assert_int_equal(w5500_dhcp_start(&dhcp, &dev, 2, 14u, &DHCP_FAST), W5500_OK);
    assert_int_equal(dhcp_run(100000, 10), W5500_OK);
    assert_int_equal(w5500_dhcp_stop(&dhcp), W5500_OK);
    assert_no_open_sockets();
}

static void test_dhcp_link_down(void **state)
{
    (void)state;
    dhcp_bring_up();
    w5500_model_set_link(S.m, false);
    assert_int_equal(w5500_dhcp_start(&dhcp, &dev, 2, 15u, &DHCP_FAST), W5500_OK);
    assert_int_equal(dhcp_run(100000, 10), W5500_ERR_NO_LINK);
    assert_no_open_sockets();
}

/* ---- tests: DNS ----------------------------------------------------------------------------- */

static const struct w5500_dns_config DNS_CFG = {500, 3};

static int dns_run(const char *name, uint8_t ip[4])
{
    int rc = w5500_dns_start(&dns, &dev, 3, DNS_IP, name, 0x4242, 50000, &DNS_CFG);
    if (rc != W5500_OK) {
        return rc;
    }
    for (unsigned i = 0; i < 100000; i++) {
        step(5);
        rc = w5500_dns_poll(&dns, ip);
        if (rc != W5500_PENDING) {
            return rc;
        }
    }
    return W5500_PENDING;
}

static void test_dns(void **state)
{
    (void)state;
    bring_up();
    assert_int_equal(w5500_model_dns_add(S.m, "ota.example.com", LAN(192, 168, 1, 10)),
                     W5500_MODEL_OK);
    uint8_t ip[4] = {0};
    assert_int_equal(dns_run("OTA.Example.com", ip), W5500_OK);
    assert_memory_equal(ip, PEER_IP, 4);
    assert_no_open_sockets();

    assert_int_equal(dns_run("missing.example.com", ip), W5500_ERR_NXDOMAIN);
    assert_no_open_sockets();

    struct w5500_model_stats st0, st1;
    /* One query lost: answered on the retry. */
    w5500_model_get_stats(S.m, &st0);
    w5500_model_fault_dns(S.m, W5500_DNS_FAULT_DROP, 1);
    memset(ip, 0, 4);
    assert_int_equal(dns_run("ota.example.com", ip), W5500_OK);
    assert_memory_equal(ip, PEER_IP, 4);
    w5500_model_get_stats(S.m, &st1);
    assert_int_equal(st1.dns_queries - st0.dns_queries, 2);

    /* Silent server: every attempt used, then GAVE_UP. */
    w5500_model_fault_dns(S.m, W5500_DNS_FAULT_DROP, UINT32_MAX);
    assert_int_equal(dns_run("ota.example.com", ip), W5500_ERR_GAVE_UP);
    w5500_model_get_stats(S.m, &st0);
    assert_int_equal(st0.dns_queries - st1.dns_queries, 3);

    /* Hostile or broken answers are rejected and reported as such when no good one came. */
    w5500_model_fault_dns(S.m, W5500_DNS_FAULT_CORRUPT, UINT32_MAX);
    assert_int_equal(dns_run("ota.example.com", ip), W5500_ERR_MALFORMED);
    w5500_model_fault_dns(S.m, W5500_DNS_FAULT_WRONG_ID, UINT32_MAX);
    assert_int_equal(dns_run("ota.example.com", ip), W5500_ERR_MISMATCH);
    w5500_model_fault_dns(S.m, W5500_DNS_FAULT_SERVFAIL, UINT32_MAX);
    assert_int_equal(dns_run("ota.example.com", ip), W5500_ERR_SERVFAIL);
    /* A corrupt first answer, then a good one. */
    w5500_model_fault_dns(S.m, W5500_DNS_FAULT_CORRUPT, 1);
    memset(ip, 0, 4);
    assert_int_equal(dns_run("ota.example.com", ip), W5500_OK);
    assert_memory_equal(ip, PEER_IP, 4);
    w5500_model_fault_dns(S.m, W5500_DNS_FAULT_NONE, 0);
    /* Truncated datagrams. */
    w5500_model_fault_udp_truncate(S.m, 20, UINT32_MAX);
    assert_int_equal(dns_run("ota.example.com", ip), W5500_ERR_MALFORMED);
    w5500_model_fault_udp_truncate(S.m, 0, 0);
    /* Link down: the resolver stops with NO_LINK at its first retry. */
    w5500_model_set_link(S.m, false);
    assert_int_equal(dns_run("ota.example.com", ip), W5500_ERR_NO_LINK);
    w5500_model_set_link(S.m, true);
    /* Bad names never reach the wire. */
    assert_int_equal(dns_run("bad..name", ip), W5500_ERR_ARG);
    assert_no_open_sockets();
}

static void test_dns_unreachable_server(void **state)
{
    (void)state;
    /* No DNS responder and nothing mapped at .1:53: the queries go nowhere. */
    mcfg.dns_server_ip = 0;
    w5500_model_free(S.m);
    model_start();
    bring_up();
    uint8_t ip[4];
    /* .1 exists (gateway) but nothing answers on port 53: no reply at all. */
    assert_int_equal(dns_run("ota.example.com", ip), W5500_ERR_GAVE_UP);
    assert_no_open_sockets();
    /* A server address nobody has: every query dies in ARP, and that is what is reported. */
    const uint8_t nobody[4] = {192, 168, 1, 77};
    assert_int_equal(w5500_dns_start(&dns, &dev, 3, nobody, "ota.example.com", 5, 50002,
                                     &DNS_CFG),
                     W5500_OK);
    int rc = W5500_PENDING;
    for (unsigned i = 0; i < 100000 && rc == W5500_PENDING; i++) {
        step(5);
        rc = w5500_dns_poll(&dns, ip);
    }
    assert_int_equal(rc, W5500_ERR_TIMEOUT);
    assert_no_open_sockets();
}

/* ---- tests: TCP ----------------------------------------------------------------------------- */

#define UP_LEN ((size_t)200 * 1024u + 17u)
#define DOWN_LEN ((size_t)300 * 1024u + 5u)

static void test_tcp_transfer(void **state)
{
    (void)state;
    bring_up();
    struct peer p;
    peer_start(&p, UP_LEN, DOWN_LEN, 0xC0FFEEu);
    assert_int_equal(connect_wait(0, 40000), W5500_OK);
    uint32_t up_sum = 0;
    assert_int_equal(upload(0, UP_LEN, 0x5EEDu, &up_sum, NULL), W5500_OK);
    size_t got = 0;
    uint32_t down_sum = 0;
    assert_int_equal(download(0, &got, &down_sum, NULL), W5500_EOF);
    assert_int_equal(disconnect_wait(0), W5500_OK);
    peer_join(&p);
    assert_int_equal(p.up_got, UP_LEN);
    assert_int_equal(p.up_sum, up_sum);
    assert_int_equal(up_sum, expected_sum(0x5EEDu, UP_LEN));
    assert_int_equal(got, DOWN_LEN);
    assert_int_equal(down_sum, expected_sum(0xC0FFEEu, DOWN_LEN));
    assert_true(p.saw_eof); /* our FIN reached the peer */
    struct w5500_model_stats st;
    w5500_model_get_stats(S.m, &st);
    assert_int_equal(st.host_misuse, 0);
    assert_int_equal(st.rx_payload, DOWN_LEN);
    assert_no_open_sockets();
}

static void test_tcp_unreachable_and_refused(void **state)
{
    (void)state;
    bring_up();
    /* Nothing mapped: ARP/SYN retries run out. */
    assert_int_equal(connect_wait(0, 40000), W5500_ERR_TIMEOUT);
    assert_no_open_sockets();
    /* Mapped to a host port nobody listens on: refused. */
    uint16_t closed_port = loopback_free_port(); /* free and closed */
    assert_true(closed_port != 0);
    peer_port++;
    assert_int_equal(w5500_model_map_tcp(S.m, LAN(192, 168, 1, 10), peer_port, closed_port),
                     W5500_MODEL_OK);
    assert_int_equal(connect_wait(0, 40001), W5500_ERR_CLOSED);
    assert_no_open_sockets();
}

static void reset_at_100k(size_t n)
{
    static bool done;
    if (n == 0) {
        done = false;
    }
    if (!done && n >= (size_t)100 * 1024u) {
        done = true;
        assert_int_equal(w5500_model_fault_tcp_reset(S.m, 0), W5500_MODEL_OK);
    }
}

static void test_tcp_peer_reset(void **state)
{
    (void)state;
    bring_up();
    struct peer p;
    peer_start(&p, 0, DOWN_LEN, 1u);
    assert_int_equal(connect_wait(0, 40000), W5500_OK);
    size_t got = 0;
    uint32_t sum = 0;
    reset_at_100k(0);
    assert_int_equal(download(0, &got, &sum, reset_at_100k), W5500_ERR_CLOSED);
    assert_true(got >= (size_t)100 * 1024u && got < DOWN_LEN);
    peer_join(&p);
    assert_no_open_sockets();
    /* Sending on the reset socket is refused with a state error. */
    size_t sent = 0;
    uint8_t b[4] = {0};
    assert_int_equal(w5500_tcp_send(&dev, 0, b, sizeof b, &sent), W5500_ERR_SOCK_STATE);
}

static void test_tcp_reset_at_offset_keeps_data(void **state)
{
    (void)state;
    /* The peer resets after exactly 100000 bytes reached the chip: every one of them is still
     * delivered (read out before CLOSED is reported), intact; nothing more. */
    bring_up();
    struct peer p;
    peer_start(&p, 0, DOWN_LEN, 0xABCDu);
    assert_int_equal(w5500_model_fault_tcp_reset_after(S.m, 0, 100000u), W5500_MODEL_OK);
    assert_int_equal(connect_wait(0, 40000), W5500_OK);
    size_t got = 0;
    uint32_t sum = 0;
    assert_int_equal(download(0, &got, &sum, NULL), W5500_ERR_CLOSED);
    assert_int_equal(got, 100000);
    assert_int_equal(sum, expected_sum(0xABCDu, 100000));
    peer_join(&p);
    assert_no_open_sockets();
}

static void stall_at_40k(size_t n)
{
    if (n >= (size_t)40 * 1024u) {
        w5500_model_fault_stall(S.m, true);
    }
}

static void test_tcp_stall(void **state)
{
    (void)state;
    bring_up();
    /* Upload into a stalled LAN: the chip's retransmissions run out -> TIMEOUT. */
    struct peer p;
    peer_start(&p, UP_LEN, 0, 1u);
    assert_int_equal(connect_wait(0, 40000), W5500_OK);
    uint32_t sum = 0;
    assert_int_equal(upload(0, UP_LEN, 3u, &sum, stall_at_40k), W5500_ERR_TIMEOUT);
    w5500_model_fault_stall(S.m, false);
    peer_join(&p);
    assert_no_open_sockets();

    /* Download through a stall: nothing arrives (PENDING) while stalled, all arrives after. */
    peer_start(&p, 0, (size_t)64 * 1024u, 77u);
    assert_int_equal(connect_wait(0, 40001), W5500_OK);
    w5500_model_fault_stall(S.m, true);
    /* Whatever arrived with the connection is already in the chip: take it first. */
    uint8_t buf[512];
    size_t got = 0;
    size_t n = 0;
    sum = FNV_INIT;
    int rc;
    while ((rc = w5500_tcp_recv(&dev, 0, buf, sizeof buf, &n)) == W5500_OK) {
        sum = fnv(sum, buf, n);
        got += n;
    }
    assert_int_equal(rc, W5500_PENDING);
    assert_true(got < (size_t)64 * 1024u);
    for (unsigned i = 0; i < 20000; i++) {
        assert_int_equal(w5500_tcp_recv(&dev, 0, buf, sizeof buf, &n), W5500_PENDING);
        step(1);
    }
    w5500_model_fault_stall(S.m, false);
    wait_begin();
    while (wait_more()) {
        rc = w5500_tcp_recv(&dev, 0, buf, sizeof buf, &n);
        if (rc == W5500_OK) {
            sum = fnv(sum, buf, n);
            got += n;
        } else if (rc == W5500_PENDING) {
            idle();
        } else {
            break;
        }
    }
    assert_int_equal(rc, W5500_EOF);
    assert_int_equal(got, (size_t)64 * 1024u);
    assert_int_equal(sum, expected_sum(77u, (size_t)64 * 1024u));
    assert_int_equal(disconnect_wait(0), W5500_OK);
    peer_join(&p);
    assert_no_open_sockets();
}

static void stall_at_16k(size_t n)
{
    if (n >= (size_t)16 * 1024u) {
        w5500_model_fault_stall(S.m, true);
    }
}

static void test_tcp_keepalive_ends_stall(void **state)
{
    (void)state;
    /* A receive-only connection cannot see a dead peer by itself; with keep-alive it can. */
    struct w5500_config c;
    cfg_static(&c);
    c.tcp_keepalive_5s = 1;
    assert_int_equal(bring_up_with(&c), W5500_OK);
    struct peer p;
    peer_start(&p, 0, DOWN_LEN, 4u);
    assert_int_equal(connect_wait(0, 40000), W5500_OK);
    size_t got = 0;
    uint32_t sum = 0;
    uint64_t t0 = S.now_us;
    assert_int_equal(download(0, &got, &sum, stall_at_16k), W5500_ERR_TIMEOUT);
    assert_true(got >= (size_t)16 * 1024u && got < DOWN_LEN);
    /* One keep-alive period (5 s) plus the retransmissions, in model time. */
    assert_true(S.now_us - t0 >= 5000000u);
    w5500_model_fault_stall(S.m, false);
    peer_join(&p);
    assert_no_open_sockets();
}

static void test_tcp_slow_peer(void **state)
{
    (void)state;
    bring_up();
    w5500_model_fault_rate_limit(S.m, 20000); /* 20 kB/s each way */
    struct peer p;
    peer_start(&p, 30000, 60000, 5u);
    assert_int_equal(connect_wait(0, 40000), W5500_OK);
    uint64_t t0 = S.now_us;
    uint32_t up_sum = 0;
    assert_int_equal(upload(0, 30000, 6u, &up_sum, NULL), W5500_OK);
    size_t got = 0;
    uint32_t sum = 0;
    assert_int_equal(download(0, &got, &sum, NULL), W5500_EOF);
    assert_int_equal(disconnect_wait(0), W5500_OK);
    peer_join(&p);
    assert_int_equal(p.up_sum, up_sum);
    assert_int_equal(got, 60000);
    assert_int_equal(sum, expected_sum(5u, 60000));
    /* The limit held in (virtual) time: 90 kB at 20 kB/s cannot take less than ~4 s. */
    assert_true(S.now_us - t0 >= 4000000u);
    assert_no_open_sockets();
}

static void link_down_at_20k(size_t n)
{
    if (n >= (size_t)20 * 1024u) {
        w5500_model_set_link(S.m, false);
    }
}

static void test_tcp_link_down(void **state)
{
    (void)state;
    bring_up();
    struct peer p;
    peer_start(&p, UP_LEN, 0, 1u);
    assert_int_equal(connect_wait(0, 40000), W5500_OK);
    uint32_t sum = 0;
    assert_int_equal(upload(0, UP_LEN, 3u, &sum, link_down_at_20k), W5500_ERR_TIMEOUT);
    bool up = true;
    assert_int_equal(w5500_link_get(&dev, &up), W5500_OK);
    assert_false(up);
    w5500_model_set_link(S.m, true);
    peer_join(&p);
    assert_no_open_sockets();
}

static void chip_reset_at_50k(size_t n)
{
    static bool done;
    if (n == 0) {
        done = false;
    }
    if (!done && n >= (size_t)50 * 1024u) {
        done = true;
        /* A glitch on RSTn: 1 ms low, then the PLL relocks. */
        sh_reset(&S, false);
        step(1);
        sh_reset(&S, true);
        step(2);
    }
}

static void test_chip_reset_mid_transfer(void **state)
{
    (void)state;
    bring_up();
    assert_int_equal(w5500_check(&dev), W5500_OK);
    struct peer p;
    peer_start(&p, 0, DOWN_LEN, 9u);
    assert_int_equal(connect_wait(0, 40000), W5500_OK);
    size_t got = 0;
    uint32_t sum = 0;
    chip_reset_at_50k(0);
    int rc = download(0, &got, &sum, chip_reset_at_50k);
    assert_int_equal(rc, W5500_ERR_CLOSED);
    assert_true(got >= (size_t)50 * 1024u && got < DOWN_LEN);
    assert_int_equal(w5500_check(&dev), W5500_ERR_VERIFY); /* the chip forgot its MAC and IP */
    peer_join(&p);
    /* Bring it up again: working, nothing left open. */
    bring_up();
    assert_int_equal(w5500_check(&dev), W5500_OK);
    assert_no_open_sockets();
}

/* ---- tests: UDP through the host bridge ----------------------------------------------------- */

struct udp_peer {
    int fd;
    uint16_t port;
    unsigned echoed;
    pthread_t th;
};

/* Echo every datagram back reversed until "QUIT" (or 20 s of silence). */
static void *udp_peer_main(void *arg)
{
    struct udp_peer *u = arg;
    uint8_t b[2048];
    for (;;) {
        struct sockaddr_in from;
        socklen_t fl = sizeof from;
        ssize_t r = recvfrom(u->fd, b, sizeof b, 0, (struct sockaddr *)&from, &fl);
        if (r < 0 || (r == 4 && memcmp(b, "QUIT", 4) == 0)) {
            break;
        }
        for (ssize_t i = 0; i < r / 2; i++) {
            uint8_t t = b[i];
            b[i] = b[r - 1 - i];
            b[r - 1 - i] = t;
        }
        if (sendto(u->fd, b, (size_t)r, 0, (struct sockaddr *)&from, fl) == r) {
            u->echoed++;
        }
    }
    return NULL;
}

static int udp_send_wait(uint8_t sn, const uint8_t *b, size_t n, const uint8_t ip[4], uint16_t port)
{
    int rc = w5500_udp_sendto(&dev, sn, b, n, ip, port);
    wait_begin();
    while (rc == W5500_OK && wait_more()) {
        rc = w5500_udp_send_poll(&dev, sn);
        if (rc != W5500_PENDING) {
            return rc;
        }
        rc = W5500_OK;
        idle();
    }
    return rc == W5500_OK ? W5500_PENDING : rc;
}

static int udp_recv_wait(uint8_t sn, uint8_t *b, size_t cap, size_t *got, uint8_t ip[4],
                         uint16_t *port)
{
    wait_begin();
    while (wait_more()) {
        int rc = w5500_udp_recvfrom(&dev, sn, b, cap, got, ip, port);
        if (rc != W5500_PENDING) {
            return rc;
        }
        idle();
    }
    return W5500_PENDING;
}

static void test_udp_echo(void **state)
{
    (void)state;
    bring_up();
    struct udp_peer u;
    memset(&u, 0, sizeof u);
    uint16_t host_port = 0;
    u.fd = loopback_bind(SOCK_DGRAM, LOOPBACK_NO_LISTEN, &host_port);
    assert_true(u.fd >= 0);
    struct timeval tv = {.tv_sec = 20, .tv_usec = 0};
    assert_int_equal(setsockopt(u.fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv), 0);
    assert_int_equal(w5500_model_map_udp(S.m, LAN(192, 168, 1, 20), 7000, host_port),
                     W5500_MODEL_OK);
    assert_int_equal(pthread_create(&u.th, NULL, udp_peer_main, &u), 0);

    const uint8_t peer[4] = {192, 168, 1, 20};
    assert_int_equal(w5500_udp_open(&dev, 4, 6000), W5500_OK);
    static const size_t sizes[] = {1, 100, 1016}; /* 1016 + 8-byte header = the 1 KB RX buffer */
    uint8_t out[1024], in[1024], ip[4];
    memset(out, 0x5C, sizeof out);
    memset(in, 0, sizeof in);
    for (size_t k = 0; k < sizeof sizes / sizeof sizes[0]; k++) {
        size_t n = sizes[k];
        for (size_t i = 0; i < n; i++) {
            out[i] = (uint8_t)(i * 13u + k);
        }
        assert_int_equal(udp_send_wait(4, out, n, peer, 7000), W5500_OK);
        size_t got = 0;
        uint16_t port = 0;
        assert_int_equal(udp_recv_wait(4, in, sizeof in, &got, ip, &port), W5500_OK);
        assert_int_equal(got, n);
        for (size_t i = 0; i < n; i++) {
            assert_int_equal(in[i], out[n - 1 - i]);
        }
        assert_memory_equal(ip, peer, 4);
        assert_int_equal(port, 7000);
    }
    /* A 1017-byte echo cannot fit the 1 KB RX buffer with its header: the chip drops it. */
    struct w5500_model_stats st0, st1;
    w5500_model_get_stats(S.m, &st0);
    assert_int_equal(udp_send_wait(4, out, 1017, peer, 7000), W5500_OK);
    st1 = st0;
    wait_begin();
    while (st1.udp_dropped == st0.udp_dropped && wait_more()) {
        idle();
        w5500_model_get_stats(S.m, &st1);
    }
    assert_int_equal(st1.udp_dropped, st0.udp_dropped + 1);
    size_t none = 0;
    assert_int_equal(w5500_udp_recvfrom(&dev, 4, in, sizeof in, &none, NULL, NULL), W5500_PENDING);
    /* A reply longer than the buffer: the first bytes, TRUNCATED, and the next datagram intact. */
    assert_int_equal(udp_send_wait(4, out, 300, peer, 7000), W5500_OK);
    assert_int_equal(udp_send_wait(4, out, 5, peer, 7000), W5500_OK);
    size_t got = 0;
    assert_int_equal(udp_recv_wait(4, in, 50, &got, NULL, NULL), W5500_ERR_TRUNCATED);
    assert_int_equal(got, 50);
    assert_int_equal(in[0], out[299]);
    assert_int_equal(udp_recv_wait(4, in, sizeof in, &got, NULL, NULL), W5500_OK);
    assert_int_equal(got, 5);
    assert_int_equal(in[0], out[4]);
    /* An address on the LAN that nobody has: ARP fails -> TIMEOUT, the socket stays usable. */
    const uint8_t nobody[4] = {192, 168, 1, 99};
    assert_int_equal(udp_send_wait(4, out, 10, nobody, 7000), W5500_ERR_TIMEOUT);
    uint8_t sr = 0;
    assert_int_equal(w5500_sock_status(&dev, 4, &sr), W5500_OK);
    assert_int_equal(sr, 0x22);
    assert_int_equal(udp_send_wait(4, (const uint8_t *)"QUIT", 4, peer, 7000), W5500_OK);
    assert_int_equal(pthread_join(u.th, NULL), 0);
    close(u.fd);
    assert_int_equal(u.echoed, 6);
    assert_int_equal(w5500_sock_close(&dev, 4), W5500_OK);
    assert_no_open_sockets();
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_bringup_static, setup, teardown),
        cmocka_unit_test_setup_teardown(test_bringup_no_chip, setup, teardown),
        cmocka_unit_test_setup_teardown(test_bringup_link, setup, teardown),
        cmocka_unit_test_setup_teardown(test_dhcp_acquire_renew_expire, setup, teardown),
        cmocka_unit_test_setup_teardown(test_dhcp_short_and_infinite_leases, setup, teardown),
        cmocka_unit_test_setup_teardown(test_dhcp_address_conflict, setup, teardown),
        cmocka_unit_test_setup_teardown(test_dhcp_conflict_everywhere, setup, teardown),
        cmocka_unit_test_setup_teardown(test_dhcp_short_probe, setup, teardown),
        cmocka_unit_test_setup_teardown(test_dhcp_no_server, setup, teardown),
        cmocka_unit_test_setup_teardown(test_dhcp_request_lost_once, setup, teardown),
        cmocka_unit_test_setup_teardown(test_dhcp_requests_unanswered, setup, teardown),
        cmocka_unit_test_setup_teardown(test_dhcp_nak, setup, teardown),
        cmocka_unit_test_setup_teardown(test_dhcp_nak_on_renewal, setup, teardown),
        cmocka_unit_test_setup_teardown(test_dhcp_truncated_replies, setup, teardown),
        cmocka_unit_test_setup_teardown(test_dhcp_link_down, setup, teardown),
        cmocka_unit_test_setup_teardown(test_dns, setup, teardown),
        cmocka_unit_test_setup_teardown(test_dns_unreachable_server, setup, teardown),
        cmocka_unit_test_setup_teardown(test_tcp_transfer, setup, teardown),
        cmocka_unit_test_setup_teardown(test_tcp_unreachable_and_refused, setup, teardown),
        cmocka_unit_test_setup_teardown(test_tcp_peer_reset, setup, teardown),
        cmocka_unit_test_setup_teardown(test_tcp_reset_at_offset_keeps_data, setup, teardown),
        cmocka_unit_test_setup_teardown(test_tcp_stall, setup, teardown),
        cmocka_unit_test_setup_teardown(test_tcp_keepalive_ends_stall, setup, teardown),
        cmocka_unit_test_setup_teardown(test_tcp_slow_peer, setup, teardown),
        cmocka_unit_test_setup_teardown(test_tcp_link_down, setup, teardown),
        cmocka_unit_test_setup_teardown(test_udp_echo, setup, teardown),
        cmocka_unit_test_setup_teardown(test_chip_reset_mid_transfer, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
