/* struct ota_net over non-blocking loopback sockets (tests only). */
#define _POSIX_C_SOURCE 200809L
#include "sock_net.h"

#include "loopback.h"

#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

static uint64_t now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

static int sn_ready_poll(void *ctx)
{
    struct sock_net *s = ctx;
    if (s->net_pending) {
        return OTA_NET_PENDING;
    }
    return s->net_down ? OTA_NET_ERR : OTA_NET_OK;
}

static int sn_resolve_start(void *ctx, const char *name)
{
    struct sock_net *s = ctx;
    s->resolving = true;
    s->resolve_ok = s->name != NULL && strcmp(name, s->name) == 0;
    return OTA_NET_OK;
}

static int sn_resolve_poll(void *ctx, uint8_t ip[4])
{
    struct sock_net *s = ctx;
    if (!s->resolving) {
        return OTA_NET_ERR;
    }
    if (s->resolve_hang) {
        return OTA_NET_PENDING;
    }
    s->resolving = false;
    if (!s->resolve_ok) {
        return OTA_NET_ERR;
    }
    memcpy(ip, s->name_ip, 4);
    return OTA_NET_OK;
}

static void sn_close(void *ctx)
{
    struct sock_net *s = ctx;
    if (s->fd >= 0) {
        close(s->fd);
    }
    s->fd = -1;
    s->connected = false;
}

static int sn_connect(void *ctx, const uint8_t ip[4], uint16_t port)
{
    struct sock_net *s = ctx;
    (void)ip; /* every destination is mapped to loopback */
    sn_close(s);
    s->connects++;
    s->shut = false;
    s->fd = socket(AF_INET, SOCK_STREAM, 0);
    if (s->fd < 0) {
        return OTA_NET_ERR;
    }
    int fl = fcntl(s->fd, F_GETFL, 0);
    if (fl < 0 || fcntl(s->fd, F_SETFL, fl | O_NONBLOCK) != 0) {
        sn_close(s);
        return OTA_NET_ERR;
    }
    struct sockaddr_in a = loopback_addr(port);
    if (connect(s->fd, (struct sockaddr *)&a, sizeof a) != 0 && errno != EINPROGRESS) {
        sn_close(s);
        return OTA_NET_ERR_CLOSED;
    }
    return OTA_NET_OK;
}

static int sn_connect_poll(void *ctx)
{
    struct sock_net *s = ctx;
    if (s->fd < 0) {
        return OTA_NET_ERR;
    }
    if (s->connected) {
        return OTA_NET_OK;
    }
    int err = 0;
    socklen_t len = sizeof err;
    struct sockaddr_in peer;
    socklen_t plen = sizeof peer;
    if (getpeername(s->fd, (struct sockaddr *)&peer, &plen) == 0) {
        s->connected = true;
        return OTA_NET_OK;
    }
    if (getsockopt(s->fd, SOL_SOCKET, SO_ERROR, &err, &len) != 0 || (err != 0 && err != EINPROGRESS)) {
        return OTA_NET_ERR_CLOSED;
    }
    return OTA_NET_PENDING;
}

static int sn_send(void *ctx, const uint8_t *buf, size_t len, size_t *sent)
{
    struct sock_net *s = ctx;
    *sent = 0;
    if (s->fd < 0) {
        return OTA_NET_ERR_CLOSED;
    }
    ssize_t n = send(s->fd, buf, len, MSG_NOSIGNAL);
    if (n < 0) {
        return (errno == EAGAIN || errno == EWOULDBLOCK) ? OTA_NET_PENDING : OTA_NET_ERR_CLOSED;
    }
    *sent = (size_t)n;
    return OTA_NET_OK;
}

static int sn_recv(void *ctx, uint8_t *buf, size_t cap, size_t *got)
{
    struct sock_net *s = ctx;
    *got = 0;
    if (s->fd < 0) {
        return OTA_NET_ERR_CLOSED;
    }
    ssize_t n = recv(s->fd, buf, cap, 0);
    if (n < 0) {
        return (errno == EAGAIN || errno == EWOULDBLOCK) ? OTA_NET_PENDING : OTA_NET_ERR_CLOSED;
    }
    if (n == 0) {
        return OTA_NET_EOF;
    }
    *got = (size_t)n;
    return OTA_NET_OK;
}

static int sn_disconnect_poll(void *ctx)
{
    struct sock_net *s = ctx;
    if (s->fd < 0) {
        return OTA_NET_OK;
    }
    if (!s->shut) {
        s->shut = true;
        shutdown(s->fd, SHUT_WR);
    }
    uint8_t b[64];
    ssize_t n = recv(s->fd, b, sizeof b, 0);
    if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
        return OTA_NET_PENDING;
    }
    return n > 0 ? OTA_NET_PENDING : OTA_NET_OK;
}

static uint32_t sn_millis(void *ctx)
{
    struct sock_net *s = ctx;
    uint64_t now = now_ms();
    bool held = s->hold != NULL && s->hold(s->hold_arg);
    /* An interval counts only if the clock ran at both of its ends: a client thread that was not
     * scheduled while the server was busy gets none of that time on waking. */
    if (!held && !s->held) {
        s->clock_ms += now - s->last_ms;
    }
    s->held = held;
    s->last_ms = now;
    return (uint32_t)s->clock_ms;
}

void sock_net_init(struct sock_net *s, struct ota_net *net)
{
    memset(s, 0, sizeof *s);
    s->fd = -1;
    s->last_ms = now_ms();
    net->ready_poll = sn_ready_poll;
    net->resolve_start = sn_resolve_start;
    net->resolve_poll = sn_resolve_poll;
    net->connect = sn_connect;
    net->connect_poll = sn_connect_poll;
    net->send = sn_send;
    net->recv = sn_recv;
    net->close = sn_close;
    net->disconnect_poll = sn_disconnect_poll;
    net->millis = sn_millis;
    net->ctx = s;
}

void sock_net_close_all(struct sock_net *s)
{
    sn_close(s);
}
