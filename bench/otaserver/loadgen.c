/*
 * loadgen: N concurrent HTTP/1.1 downloads of one URL path from 127.0.0.1:PORT (with --raw: raw
 * TCP `GET firmware` downloads), all started at once, each body checked byte for byte against the
 * expected file. With --waves W, W such waves one after the other (the next starts when the last
 * download of the previous one is complete), so one run moves W times the bytes and one scheduling
 * hiccup weighs less. Prints one line of figures: aggregate throughput (all bytes over the summed
 * wave durations) and completion-time percentiles over every download (each timed from the start
 * of its wave). One thread, epoll, bounded by --timeout (per wave).
 *   loadgen --port P --path /firmware --conns N --file F [--waves W] [--timeout S] [--raw]
 *   loadgen --free-port     prints a free loopback port
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "loopback.h"

struct lconn {
    int fd;
    bool sent;
    bool in_body;
    bool done;
    bool bad;
    size_t req_off;
    char head[1024];
    size_t head_len;
    size_t got;
    double t_done;
};

static double now_s(void)
{
    struct timespec ts;
    (void)clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a;
    double y = *(const double *)b;
    return (x > y) - (x < y);
}

/* Strict decimal; -1 on anything else. */
static long parse_long(const char *s)
{
    char *end = NULL;
    errno = 0;
    long v = strtol(s, &end, 10);
    return (errno != 0 || end == s || *end != '\0' || v < 0) ? -1 : v;
}


/* One wave: nconns downloads started at once; each one's completion time (from the wave's start)
 * lands in c[i].t_done. 0 when the wave ran (failed downloads are marked bad), -1 on a system
 * error. */
struct wave {
    struct lconn *c;
    int nconns;
    int ep;
    const struct sockaddr_in *sa;
    const char *req;
    size_t req_len;
    const uint8_t *expect;
    size_t size;
    bool raw;
    double timeout;
};

static int run_wave(const struct wave *w)
{
    struct lconn *c = w->c;
    memset(c, 0, (size_t)w->nconns * sizeof(*c));
    double t0 = now_s();
    int failed = 0;
    for (int i = 0; i < w->nconns; i++) {
        c[i].in_body = w->raw; /* raw TCP: the image bytes come first */
        c[i].fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
        if (c[i].fd < 0 || (connect(c[i].fd, (const struct sockaddr *)w->sa, sizeof(*w->sa)) != 0 &&
                            errno != EINPROGRESS)) {
            c[i].done = true;
            c[i].bad = true;
            failed++;
            continue;
        }
        struct epoll_event ev = {.events = EPOLLIN | EPOLLOUT | EPOLLRDHUP, .data.u32 = (uint32_t)i};
        if (epoll_ctl(w->ep, EPOLL_CTL_ADD, c[i].fd, &ev) != 0) {
            return -1;
        }
    }
    int left = w->nconns - failed;
    static uint8_t buf[1 << 18];
    struct epoll_event evs[256];
    while (left > 0) {
        if (now_s() - t0 > w->timeout) {
            fprintf(stderr, "loadgen: timeout with %d transfers unfinished\n", left);
            break;
        }
        int n = epoll_wait(w->ep, evs, 256, 1000);
        if (n < 0 && errno != EINTR) {
            return -1;
        }
        for (int k = 0; k < n; k++) {
            struct lconn *x = &c[evs[k].data.u32];
            if (x->done) {
                continue;
            }
            if (!x->sent && (evs[k].events & EPOLLOUT)) {
                ssize_t s = send(x->fd, w->req + x->req_off, w->req_len - x->req_off, MSG_NOSIGNAL);
                if (s > 0) {
                    x->req_off += (size_t)s;
                    if (x->req_off == w->req_len) {
                        x->sent = true;
                        struct epoll_event ev = {.events = EPOLLIN | EPOLLRDHUP,
                                                 .data.u32 = evs[k].data.u32};
                        (void)epoll_ctl(w->ep, EPOLL_CTL_MOD, x->fd, &ev);
                    }
                } else if (s < 0 && errno != EAGAIN) {
                    x->bad = true;
                }
            }
            for (;;) {
                if (x->bad) {
                    x->done = true;
                    left--;
                    break;
                }
                if (x->done) {
                    break;
                }
                ssize_t r = recv(x->fd, buf, sizeof(buf), 0);
                if (r < 0) {
                    if (errno != EAGAIN && errno != EWOULDBLOCK) {
                        x->bad = true;
                        continue;
                    }
                    break;
                }
                if (r == 0) {
                    x->bad = x->got != w->size;
                    x->done = true;
                    x->t_done = now_s() - t0;
                    left--;
                    break;
                }
                size_t off = 0;
                while (!x->in_body && off < (size_t)r) {
                    if (x->head_len + 1u >= sizeof(x->head)) {
                        x->bad = true;
                        break;
                    }
                    x->head[x->head_len++] = (char)buf[off++];
                    if (x->head_len >= 4u && memcmp(x->head + x->head_len - 4u, "\r\n\r\n", 4) == 0) {
                        x->in_body = true;
                        x->head[x->head_len] = '\0';
                        if (strncmp(x->head, "HTTP/1.1 200 ", 13) != 0) {
                            x->bad = true;
                        }
                    }
                }
                size_t body = (size_t)r - off;
                if (!x->bad &&
                    (x->got + body > w->size || memcmp(buf + off, w->expect + x->got, body) != 0)) {
                    x->bad = true;
                }
                x->got += body;
                if (!x->bad && x->got == w->size) {
                    x->t_done = now_s() - t0; /* complete: do not wait for the close */
                    x->done = true;
                    left--;
                    break;
                }
            }
            if (x->done) {
                /* Closed at once: a level-triggered EOF must not wake this loop again. */
                (void)close(x->fd);
                x->fd = -1;
            }
        }
    }
    for (int i = 0; i < w->nconns; i++) {
        if (!c[i].done) {
            c[i].bad = true; /* unfinished at the timeout */
        }
        if (c[i].fd >= 0) {
            (void)close(c[i].fd);
            c[i].fd = -1;
        }
    }
    return 0;
}

int main(int argc, char **argv)
{
    int port = 0;
    const char *path = "/firmware";
    const char *file = NULL;
    int nconns = 1000;
    int nwaves = 1;
    double timeout = 60.0;
    bool raw = false;
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--raw") == 0) {
            raw = true;
            continue;
        }
        if (strcmp(argv[i], "--free-port") == 0) {
            uint16_t p = loopback_free_port();
            if (p == 0) {
                return 1;
            }
            printf("%u\n", (unsigned)p);
            return 0;
        }
        if (i + 1 >= argc) {
            fprintf(stderr, "loadgen: missing value for %s\n", argv[i]);
            return 1;
        }
        const char *v = argv[++i];
        if (strcmp(argv[i - 1], "--port") == 0) {
            port = (int)parse_long(v);
        } else if (strcmp(argv[i - 1], "--path") == 0) {
            path = v;
        } else if (strcmp(argv[i - 1], "--file") == 0) {
            file = v;
        } else if (strcmp(argv[i - 1], "--conns") == 0) {
            nconns = (int)parse_long(v);
        } else if (strcmp(argv[i - 1], "--waves") == 0) {
            nwaves = (int)parse_long(v);
        } else if (strcmp(argv[i - 1], "--timeout") == 0) {
            timeout = (double)parse_long(v);
        } else {
            fprintf(stderr, "loadgen: unknown option %s\n", argv[i - 1]);
            return 1;
        }
    }
    if (port <= 0 || file == NULL || nconns <= 0 || nconns > 100000 || nwaves <= 0 ||
        nwaves > 1000 || timeout <= 0) {
        fprintf(stderr, "usage: loadgen --port P --path /firmware --conns N --file F [--waves W]\n");
        return 1;
    }
    int ffd = open(file, O_RDONLY);
    struct stat st;
    if (ffd < 0 || fstat(ffd, &st) != 0 || st.st_size <= 0) {
        fprintf(stderr, "loadgen: cannot read %s\n", file);
        return 1;
    }
    size_t size = (size_t)st.st_size;
    const uint8_t *expect = mmap(NULL, size, PROT_READ, MAP_PRIVATE, ffd, 0);
    if (expect == MAP_FAILED) {
        return 1;
    }
    struct rlimit rl;
    if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < (rlim_t)nconns + 64u) {
        rl.rlim_cur = (rlim_t)nconns + 64u <= rl.rlim_max ? (rlim_t)nconns + 64u : rl.rlim_max;
        if (setrlimit(RLIMIT_NOFILE, &rl) != 0) {
            fprintf(stderr, "loadgen: cannot raise the descriptor limit\n");
        }
    }
    char req[256];
    int req_len = raw ? snprintf(req, sizeof(req), "GET firmware\r\n")
                      : snprintf(req, sizeof(req),
                                 "GET %s HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n",
                                 path);
    struct lconn *c = calloc((size_t)nconns, sizeof(*c));
    int ep = epoll_create1(0);
    if (c == NULL || ep < 0 || req_len <= 0) {
        free(c);
        return 1;
    }
    struct sockaddr_in sa = loopback_addr((uint16_t)port);
    struct wave w = {.c = c, .nconns = nconns, .ep = ep, .sa = &sa, .req = req,
                     .req_len = (size_t)req_len, .expect = expect, .size = size, .raw = raw,
                     .timeout = timeout};
    double *times = calloc((size_t)nconns * (size_t)nwaves, sizeof(double));
    if (times == NULL) {
        free(c);
        return 1;
    }
    int ok = 0;
    int failed = 0;
    double seconds = 0.0;
    double last = 0.0;
    uint64_t bytes = 0;
    for (int k = 0; k < nwaves; k++) {
        if (run_wave(&w) != 0) {
            free(times);
            free(c);
            return 1;
        }
        double span = 0.0;
        for (int i = 0; i < nconns; i++) {
            if (c[i].done && !c[i].bad) {
                times[ok++] = c[i].t_done;
                bytes += c[i].got;
                if (c[i].t_done > span) {
                    span = c[i].t_done;
                }
            } else {
                failed++;
            }
        }
        seconds += span;
        if (span > last) {
            last = span;
        }
    }
    qsort(times, (size_t)ok, sizeof(double), cmp_double);
    double p50 = ok > 0 ? times[(ok - 1) / 2] : 0.0;
    double p99 = ok > 0 ? times[(int)((ok - 1) * 0.99)] : 0.0;
    printf("conns=%d waves=%d ok=%d bytes=%llu seconds=%.3f MBps=%.1f p50_ms=%.1f p99_ms=%.1f "
           "max_ms=%.1f\n",
           nconns, nwaves, ok, (unsigned long long)bytes, seconds,
           seconds > 0 ? (double)bytes / seconds / 1e6 : 0.0, p50 * 1e3, p99 * 1e3, last * 1e3);
    free(times);
    free(c);
    return failed == 0 ? 0 : 2;
}
