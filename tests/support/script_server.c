/* Scripted firmware server for tests (see script_server.h). */
#define _POSIX_C_SOURCE 200809L
#include "script_server.h"

#include "loopback.h"


#include <setjmp.h>
#include <stdarg.h>
#include <cmocka.h>

#include <netinet/in.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>



/* Waits on the server side are for events (the request, the client's close); this bound only turns
 * a lost client into an end instead of a hang. It is long because a loaded machine (ASan, tests in
 * parallel) can leave the client unscheduled for a long time, and a wait that ended early would
 * change what the test sees (a reset instead of a FIN, ACKs not counted, a closed connection). */
#define SCRIPT_SAFETY_MS 20000
#define SCRIPT_SLICE_MS 50

/* Wait until fd is readable: 1; 0 after SCRIPT_SAFETY_MS, or at once when the test stops the
 * server (server_stop) and nothing is waiting; -1 on a poll error. */
static int wait_readable(const struct script *s, int fd)
{
    for (int waited = 0; waited < SCRIPT_SAFETY_MS; waited += SCRIPT_SLICE_MS) {
        struct pollfd p = {fd, POLLIN, 0};
        int rc = poll(&p, 1, SCRIPT_SLICE_MS);
        if (rc != 0) {
            return rc > 0 ? 1 : -1;
        }
        if (s->stop) {
            return 0;
        }
    }
    return 0;
}

/* End a connection: a reset, or a clean FIN after reading what the client still sends until it
 * closes too (closing with unread bytes would make Linux send a reset instead). */
static void hang_up(struct script *s, int fd, bool rst)
{
    s->busy = 0; /* nothing more to send: waiting for the client is not work */
    if (rst) {
        struct linger lg = {1, 0};
        setsockopt(fd, SOL_SOCKET, SO_LINGER, &lg, sizeof lg);
        close(fd);
        return;
    }
    shutdown(fd, SHUT_WR);
    char b[256];
    while (wait_readable(s, fd) > 0 && recv(fd, b, sizeof b, 0) > 0) {
    }
    close(fd);
}

/* Read until `end` appears (or 4 KB); returns the bytes read, 0 on close/timeout. */
static size_t read_head(const struct script *s, int fd, char *buf, size_t cap, const char *end)
{
    size_t n = 0;
    while (n + 1 < cap) {
        if (wait_readable(s, fd) <= 0) {
            return 0;
        }
        ssize_t r = recv(fd, buf + n, 1, 0);
        if (r <= 0) {
            return 0;
        }
        n++;
        buf[n] = '\0';
        if (strstr(buf, end) != NULL) {
            return n;
        }
    }
    return 0;
}

static void count_acks(struct script *s, int fd)
{
    char b[64];
    for (;;) {
        ssize_t r = recv(fd, b, sizeof b, MSG_DONTWAIT);
        if (r <= 0) {
            return;
        }
        for (ssize_t i = 0; i < r; i++) {
            if (b[i] == 'A') {
                s->acks++;
            }
        }
    }
}

static void serve_one(struct script *s, int fd, int idx)
{
    char head[4096];
    uint32_t from = 0;
    char line[256];
    if (s->proto == SCRIPT_HTTP) {
        if (read_head(s, fd, head, sizeof head, "\r\n\r\n") == 0) {
            close(fd);
            return;
        }
        const char *r = strstr(head, "Range: bytes=");
        if (r != NULL) {
            from = (uint32_t)strtoul(r + 13, NULL, 10);
        }
        int n;
        if (r != NULL) {
            n = snprintf(line, sizeof line,
                         "HTTP/1.1 206 Partial Content\r\nContent-Length: %zu\r\n"
                         "Content-Range: bytes %u-%zu/%zu\r\nETag: \"%s\"\r\n\r\n",
                         s->len - from, from, s->len - 1, s->len, s->etag);
        } else {
            n = snprintf(line, sizeof line,
                         "HTTP/1.1 200 OK\r\nContent-Length: %zu\r\nETag: \"%s\"\r\n\r\n", s->len,
                         s->etag);
        }
        send(fd, line, (size_t)n, MSG_NOSIGNAL);
    } else {
        if (read_head(s, fd, head, sizeof head, "\n") == 0) {
            close(fd);
            return;
        }
        if (strncmp(head, "GET firmware ", 13) == 0 && s->answer != NULL) {
            if (idx < MAX_CONNS) {
                s->offsets[idx] = (uint32_t)strtoul(head + 13, NULL, 10);
            }
            send(fd, s->answer, strlen(s->answer), MSG_NOSIGNAL);
            hang_up(s, fd, false);
            return;
        }
        if (strncmp(head, "GET firmware ", 13) == 0) {
            from = (uint32_t)strtoul(head + 13, NULL, 10);
            int n = snprintf(line, sizeof line, "OK %u %zu %s\r\n", from, s->len, s->etag);
            send(fd, line, (size_t)n, MSG_NOSIGNAL);
        } else if (strcmp(head, "GET firmware\r\n") != 0) {
            close(fd);
            return;
        }
    }
    if (idx < MAX_CONNS) {
        s->offsets[idx] = from;
    }
    uint32_t limit = idx < MAX_CONNS ? s->drop_after[idx] : 0;
    uint32_t sent = 0;
    static uint8_t junk[512];
    memset(junk, 0x5A, sizeof junk);
    for (size_t pos = from; pos < s->len;) {
        if ((s->stall && idx == 0 && sent >= 3000) || (s->stall_all && idx > 0)) {
            /* Say nothing more until the client gives up. */
            s->busy = 0;
            struct pollfd p = {fd, POLLIN, 0};
            char b[16];
            while (!s->stop && poll(&p, 1, 100) >= 0) {
                if ((p.revents & POLLIN) && recv(fd, b, sizeof b, 0) <= 0) {
                    break;
                }
            }
            close(fd);
            return;
        }
        size_t n = s->len - pos < 512 ? s->len - pos : 512;
        if (limit != 0 && sent + n > limit) {
            n = limit - sent;
        }
        const uint8_t *src = s->garbage ? junk : s->img + pos;
        if (n > 0 && send(fd, src, n, MSG_NOSIGNAL) != (ssize_t)n) {
            break;
        }
        pos += n;
        sent += (uint32_t)n;
        count_acks(s, fd);
        if (limit != 0 && sent >= limit) {
            hang_up(s, fd, s->rst);
            return;
        }
    }
    /* Count the last ACKs until the client closes (or the test stops the server: what arrived by
     * then is counted), then close. Not a fixed time: a client delayed by a loaded machine would
     * have its last ACKs missed. */
    s->busy = 0;
    int ready;
    while ((ready = wait_readable(s, fd)) > 0) {
        char b[64];
        ssize_t r = recv(fd, b, sizeof b, 0);
        if (r <= 0) {
            break;
        }
        for (ssize_t i = 0; i < r; i++) {
            s->acks += b[i] == 'A';
        }
    }
    if (ready == 0) {
        count_acks(s, fd);
    }
    close(fd);
}

static void *server_main(void *arg)
{
    struct script *s = arg;
    while (!s->stop) {
        struct pollfd p = {s->lfd, POLLIN, 0};
        if (poll(&p, 1, 50) <= 0) {
            continue;
        }
        s->busy = 1;
        int fd = accept(s->lfd, NULL, NULL);
        if (fd >= 0) {
            serve_one(s, fd, s->conns);
            s->conns++;
        }
        s->busy = 0;
    }
    return NULL;
}

bool server_busy(const struct script *s)
{
    if (s->busy) {
        return true;
    }
    /* A connection not accepted yet: the server has work it has not started. */
    struct pollfd p = {s->lfd, POLLIN, 0};
    return poll(&p, 1, 0) > 0;
}

int refusing_port(uint16_t *port)
{
    int fd = loopback_bind(SOCK_STREAM, LOOPBACK_NO_LISTEN, port);
    assert_true(fd >= 0);
    return fd;
}

void server_start(struct script *s)
{
    s->lfd = loopback_bind(SOCK_STREAM, 8, &s->port);
    assert_true(s->lfd >= 0);
    if (s->etag == NULL) {
        s->etag = "0123456789abcdef";
    }
    assert_int_equal(pthread_create(&s->th, NULL, server_main, s), 0);
}

void server_stop(struct script *s)
{
    s->stop = 1;
    pthread_join(s->th, NULL);
    close(s->lfd);
}

