/*
 * SPI cost of the W5500 driver, counted by the W5500 model: bytes clocked per payload byte and SPI
 * frames (transactions) per KB, for bulk TCP receive and send through a loopback peer. Everything
 * the driver clocks during the transfer is counted, empty polls included; connect and disconnect
 * are not. Prints one line per configuration and whether bulk receive with an 8 KB (or larger)
 * application buffer meets the 1.01 bytes per payload byte target; exits non-zero only if a
 * transfer fails.
 */
#define _POSIX_C_SOURCE 200809L

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <sched.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

#include "w5500.h"
#include "w5500_model.h"
#include "loopback.h"

static struct w5500_model *model;
static uint64_t now_us;

static void sh_select(void *ctx)
{
    (void)ctx;
    w5500_model_set_scsn(model, false);
}

static void sh_deselect(void *ctx)
{
    (void)ctx;
    w5500_model_set_scsn(model, true);
}

static int sh_transfer(void *ctx, const uint8_t *tx, uint8_t *rx, size_t len)
{
    (void)ctx;
    for (size_t i = 0; i < len; i++) {
        uint8_t m = w5500_model_spi_byte(model, tx != NULL ? tx[i] : 0);
        if (rx != NULL) {
            rx[i] = m;
        }
    }
    return 0;
}

static void sh_reset(void *ctx, bool level)
{
    (void)ctx;
    w5500_model_set_rstn(model, level);
}

static uint32_t sh_millis(void *ctx)
{
    (void)ctx;
    return (uint32_t)(now_us / 1000u);
}

static const struct w5500_port PORT = {sh_select, sh_deselect, sh_transfer, sh_reset, sh_millis,
                                       NULL};

static void step(void)
{
    now_us += 1000u;
    w5500_model_advance(model, now_us);
}

struct peer {
    int lfd;
    uint16_t port;
    size_t down_len; /* bytes the peer sends; 0: the peer only reads */
    size_t up_got;
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
    static uint8_t buf[16384];
    memset(buf, 0x5A, sizeof buf);
    size_t sent = 0;
    while (sent < p->down_len) {
        size_t n = p->down_len - sent < sizeof buf ? p->down_len - sent : sizeof buf;
        ssize_t w = send(fd, buf, n, MSG_NOSIGNAL);
        if (w <= 0) {
            break;
        }
        sent += (size_t)w;
    }
    (void)shutdown(fd, SHUT_WR);
    for (;;) {
        ssize_t r = recv(fd, buf, sizeof buf, 0);
        if (r <= 0) {
            break;
        }
        p->up_got += (size_t)r;
    }
    close(fd);
    return NULL;
}

static int peer_start(struct peer *p, uint16_t lan_port, size_t down_len)
{
    memset(p, 0, sizeof *p);
    p->down_len = down_len;
    p->lfd = loopback_bind(SOCK_STREAM, 1, &p->port);
    if (p->lfd < 0) {
        return -1;
    }
    if (w5500_model_map_tcp(model, 0xC0A8010Au, lan_port, p->port) != W5500_MODEL_OK) {
        return -1;
    }
    return pthread_create(&p->th, NULL, peer_main, p) == 0 ? 0 : -1;
}

static struct w5500_dev dev;

static int setup_chip(uint8_t rx_kb)
{
    struct w5500_model_config mc;
    w5500_model_config_default(&mc);
    model = w5500_model_new(&mc);
    if (model == NULL) {
        return -1;
    }
    now_us = 0;
    struct w5500_config c;
    memset(&c, 0, sizeof c);
    const uint8_t ip[4] = {192, 168, 1, 50}, mask[4] = {255, 255, 255, 0}, gw[4] = {192, 168, 1, 1};
    memcpy(c.net.ip, ip, 4);
    memcpy(c.net.mask, mask, 4);
    memcpy(c.net.gateway, gw, 4);
    c.rx_kb[0] = rx_kb;
    c.tx_kb[0] = rx_kb;
    c.link_timeout_ms = 1000;
    if (w5500_init(&dev, &PORT, &c) != W5500_OK) {
        return -1;
    }
    int rc = W5500_PENDING;
    for (int i = 0; i < 1000 && rc == W5500_PENDING; i++) {
        rc = w5500_bringup_poll(&dev);
        step();
    }
    return rc == W5500_OK ? 0 : -1;
}

static int connect_peer(uint16_t lan_port)
{
    const uint8_t peer_ip[4] = {192, 168, 1, 10};
    if (w5500_tcp_connect(&dev, 0, 40000, peer_ip, lan_port) != W5500_OK) {
        return -1;
    }
    for (int i = 0; i < 100000; i++) {
        int rc = w5500_tcp_connect_poll(&dev, 0);
        if (rc == W5500_OK) {
            return 0;
        }
        if (rc != W5500_PENDING) {
            return -1;
        }
        step();
    }
    return -1;
}

static int finish(struct peer *p)
{
    int rc = w5500_tcp_disconnect(&dev, 0);
    for (int i = 0; i < 100000 && rc == W5500_OK; i++) {
        rc = w5500_tcp_disconnect_poll(&dev, 0);
        if (rc == W5500_PENDING) {
            rc = W5500_OK;
            step();
            continue;
        }
        break;
    }
    close(p->lfd);
    pthread_join(p->th, NULL);
    w5500_model_free(model);
    model = NULL;
    return rc == W5500_OK ? 0 : -1;
}

/* Bulk receive of total bytes with an application buffer of cap bytes. */
static int bench_rx(uint8_t rx_kb, size_t cap, size_t total, double *ratio)
{
    static uint8_t buf[16384];
    struct peer p;
    if (setup_chip(rx_kb) != 0 || peer_start(&p, 9000, total) != 0 || connect_peer(9000) != 0) {
        return -1;
    }
    struct w5500_model_stats a, b;
    w5500_model_get_stats(model, &a);
    size_t got = 0;
    unsigned empty = 0;
    int rc = W5500_OK;
    while (rc == W5500_OK || rc == W5500_PENDING) {
        size_t n = 0;
        rc = w5500_tcp_recv(&dev, 0, buf, cap, &n);
        got += n;
        if (rc == W5500_PENDING) {
            empty++;
            step();
            /* Let the real-time peer refill the host socket, as a line at 100 Mb/s refills the
             * chip's buffer between main-loop passes; otherwise empty polls measure the scheduler. */
            struct timespec ts = {0, 200000};
            (void)nanosleep(&ts, NULL);
        }
    }
    w5500_model_get_stats(model, &b);
    if (rc != W5500_EOF || got != total) {
        fprintf(stderr, "rx: status %s, %zu of %zu bytes\n", w5500_status_str(rc), got, total);
        return -1;
    }
    double bytes = (double)(b.spi_bytes - a.spi_bytes);
    double frames = (double)(b.spi_frames - a.spi_frames);
    *ratio = bytes / (double)total;
    printf("rx  sock %2u KB  app buf %5zu B: %.4f SPI bytes/payload byte, %6.2f frames/KB "
           "(%u empty polls)\n",
           rx_kb, cap, *ratio, frames / ((double)total / 1024.0), empty);
    return finish(&p);
}

/* Bulk send of total bytes, cap bytes offered per call. */
static int bench_tx(uint8_t tx_kb, size_t cap, size_t total)
{
    static uint8_t buf[16384];
    memset(buf, 0xA5, sizeof buf);
    struct peer p;
    if (setup_chip(tx_kb) != 0 || peer_start(&p, 9001, 0) != 0 || connect_peer(9001) != 0) {
        return -1;
    }
    struct w5500_model_stats a, b;
    w5500_model_get_stats(model, &a);
    size_t done = 0;
    int rc = W5500_OK;
    while (done < total && rc >= 0) {
        size_t n = 0;
        size_t want = total - done < cap ? total - done : cap;
        rc = w5500_tcp_send(&dev, 0, buf, want, &n);
        done += n;
        if (n == 0) {
            step();
            sched_yield();
        }
    }
    while (rc == W5500_OK || rc == W5500_PENDING) {
        rc = w5500_tcp_flush_poll(&dev, 0);
        if (rc == W5500_OK) {
            break;
        }
        step();
    }
    w5500_model_get_stats(model, &b);
    if (rc != W5500_OK || done != total) {
        fprintf(stderr, "tx: status %s\n", w5500_status_str(rc));
        return -1;
    }
    double bytes = (double)(b.spi_bytes - a.spi_bytes);
    double frames = (double)(b.spi_frames - a.spi_frames);
    printf("tx  sock %2u KB  app buf %5zu B: %.4f SPI bytes/payload byte, %6.2f frames/KB\n", tx_kb,
           cap, bytes / (double)total, frames / ((double)total / 1024.0));
    return finish(&p);
}

int main(void)
{
    const size_t total = (size_t)2 * 1024u * 1024u;
    int fail = 0;
    static const struct {
        uint8_t kb;
        size_t cap;
    } rx[] = {{8, 1024}, {8, 2048}, {8, 4096}, {8, 8192}, {16, 8192}, {16, 16384}};
    for (size_t i = 0; i < sizeof rx / sizeof rx[0]; i++) {
        double ratio = 0;
        if (bench_rx(rx[i].kb, rx[i].cap, total, &ratio) != 0) {
            fail = 1;
            continue;
        }
        if (rx[i].cap >= 8192) {
            /* Empty polls depend on how fast the real-time peer refills the host socket, so a
             * loaded machine can push this up: reported, not a failure of the run. */
            printf("    target <= 1.01 SPI bytes/payload byte for bulk receive: %s\n",
                   ratio <= 1.01 ? "met" : "MISSED");
        }
    }
    static const struct {
        uint8_t kb;
        size_t cap;
    } tx[] = {{2, 2048}, {8, 8192}, {16, 16384}};
    for (size_t i = 0; i < sizeof tx / sizeof tx[0]; i++) {
        if (bench_tx(tx[i].kb, tx[i].cap, total) != 0) {
            fail = 1;
        }
    }
    return fail;
}
