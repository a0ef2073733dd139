/*
 * Edge-triggered epoll: every wake-up reads until EAGAIN (or until the request buffer is full, which
 * is revisited when the response is done) and writes until EAGAIN, so no edge is lost. One
 * deadline per connection lives in a binary heap; progress while sending only stamps a time, and an
 * expired deadline is re-armed from that stamp, so the heap is touched on state changes only.
 */
#include "srv_server.h"

#include <errno.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <arpa/inet.h>
#include <signal.h>
#include <stddef.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/sendfile.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "srv_image.h"
#include "srv_proto.h"

#define TAG_RAW_LISTEN 0u
#define TAG_HTTP_LISTEN 1u
#define TAG_SIGNAL 2u
#define TAG_CONN_BASE 3u
#define MAX_EVENTS 256
#define ACCEPT_BATCH 1024
#define SENDFILE_MAX (1u << 20)
#define HEAD_CAP 512u
#define NO_HEAP UINT32_MAX
#define REDRAW_MS 200u
#define FD_RESERVE 16u

enum conn_state { C_FREE, C_REQ, C_SEND, C_PAUSE, C_LINGER };
enum conn_proto { P_RAW, P_HTTP };

struct conn {
    int fd;
    uint32_t id;
    uint8_t state;
    uint8_t proto;
    bool rd_eof;       /* the peer shut down its sending side */
    bool close_after;  /* close once the current response is sent */
    bool transfer;     /* the current response carries image bytes */
    bool raw_error;    /* a raw ERR line was sent: bytes that follow are not ACKs */
    bool rd_ready;     /* no EAGAIN (or short read) from recv since the last readable edge */
    bool rd_hup;       /* the peer's FIN or an error was reported: read until recv says so */
    bool out_armed;    /* EPOLLOUT is registered (from the first full socket buffer on) */
    bool corked;       /* TCP_CORK is on: head and body leave in full segments */
    bool wr_ready;     /* no short write / EAGAIN since the last writable edge */
    uint32_t body_pos;
    uint32_t body_end;
    uint32_t body_len;
    uint32_t chunk_left;
    unsigned decile;   /* last 10% step logged */
    uint32_t requests; /* responses started on this connection */
    uint64_t acks;
    uint64_t bytes;    /* image bytes sent on this connection */
    uint64_t t_start;  /* start of the current transfer */
    uint64_t t_progress;
    uint64_t deadline;
    uint32_t heap_idx;
    uint32_t rbuf_idx; /* slot in s_rbufs while rbuf is lent to this connection */
    char *rbuf;        /* unparsed request bytes (NULL while there are none) */
    size_t rlen;
    size_t hlen;
    size_t hoff;
    char peer[64];
    char hbuf[HEAD_CAP];
};

/* Addresses from accept4 and getsockname, read through the member the family names. */
union sock_addr {
    struct sockaddr sa;
    struct sockaddr_in in;
    struct sockaddr_in6 in6;
    struct sockaddr_storage ss;
};

struct stats {
    uint64_t connections;
    uint64_t transfers;
    uint64_t bytes;
    uint64_t acks;
    uint64_t errors;
    uint64_t busy;
};

static const struct srv_config *s_cfg;
static struct srv_image s_img;
static int s_epfd = -1;
/* Connection slots and request buffers are handed out from the low end and reused last-freed
 * first, so only as many pages are ever touched as there were connections at once; the arrays are
 * sized for max_clients but untouched pages cost no memory. A request buffer is lent only while a
 * connection holds unparsed bytes: a request that arrives whole is parsed and the buffer returned
 * in the same wake-up, so 1000 downloads share a handful of buffers. */
static struct conn *s_conns;
static uint32_t *s_free;      /* stack of freed slots below s_hwm */
static uint32_t s_nfree;
static uint32_t s_hwm;        /* slots [0, s_hwm) have been used */
static char (*s_rbufs)[HTTP_MAX_REQUEST];
static uint32_t *s_rfree;     /* stack of returned request buffers below s_rhwm */
static uint32_t s_nrfree;
static uint32_t s_rhwm;
static int s_nodelay_inherited = -1; /* accepted sockets inherit the listener's TCP_NODELAY */
static uint32_t *s_heap;      /* slots ordered by deadline */
static uint32_t s_nheap;
static uint32_t s_next_id;
static struct stats s_stats;
static char s_date[64];
static time_t s_date_sec = -1;
/* The clocks are read once per wake-up, not per event: timeouts are whole seconds and a wake-up
 * lasts milliseconds. */
static uint64_t s_now;        /* monotonic ms at the start of this wake-up's work */
static bool s_wall_stale = true; /* time() not yet read in this wake-up */
static time_t s_wall;
static bool s_dirty; /* something to redraw on a terminal */

static uint64_t now_ms(void)
{
    struct timespec ts;
    if (clock_gettime(CLOCK_MONOTONIC, &ts) != 0) {
        return 0;
    }
    return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

static const char *http_date(void)
{
    if (s_wall_stale) {
        s_wall = time(NULL);
        s_wall_stale = false;
    }
    time_t t = s_wall;
    if (t != s_date_sec) {
        struct tm tm;
        if (gmtime_r(&t, &tm) == NULL ||
            strftime(s_date, sizeof(s_date), "%a, %d %b %Y %H:%M:%S GMT", &tm) == 0u) {
            return NULL;
        }
        s_date_sec = t;
    }
    return s_date;
}

/* ------------------------------------------------------------------ deadline heap */

static bool heap_less(uint32_t a, uint32_t b)
{
    return s_conns[s_heap[a]].deadline < s_conns[s_heap[b]].deadline;
}

static void heap_swap(uint32_t a, uint32_t b)
{
    uint32_t t = s_heap[a];
    s_heap[a] = s_heap[b];
    s_heap[b] = t;
    s_conns[s_heap[a]].heap_idx = a;
    s_conns[s_heap[b]].heap_idx = b;
}

static void heap_up(uint32_t i)
{
    while (i > 0u) {
        uint32_t p = (i - 1u) / 2u;
        if (!heap_less(i, p)) {
            break;
        }
        heap_swap(i, p);
        i = p;
    }
}

static void heap_down(uint32_t i)
{
    for (;;) {
        uint32_t l = 2u * i + 1u;
        uint32_t m = i;
        if (l < s_nheap && heap_less(l, m)) {
            m = l;
        }
        if (l + 1u < s_nheap && heap_less(l + 1u, m)) {
            m = l + 1u;
        }
        if (m == i) {
            break;
        }
        heap_swap(i, m);
        i = m;
    }
}

static void timer_set(struct conn *c, uint64_t deadline)
{
    c->deadline = deadline;
    if (c->heap_idx == NO_HEAP) {
        c->heap_idx = s_nheap;
        s_heap[s_nheap++] = (uint32_t)(c - s_conns);
    }
    heap_up(c->heap_idx);
    heap_down(c->heap_idx);
}

static void timer_clear(struct conn *c)
{
    uint32_t i = c->heap_idx;
    if (i == NO_HEAP) {
        return;
    }
    c->heap_idx = NO_HEAP;
    s_nheap--;
    if (i != s_nheap) {
        s_heap[i] = s_heap[s_nheap];
        s_conns[s_heap[i]].heap_idx = i;
        heap_up(i);
        heap_down(i);
    }
}

/* ------------------------------------------------------------------ connections */

static const char *proto_name(const struct conn *c)
{
    return c->proto == P_RAW ? "raw" : "http";
}

static uint64_t idle_ms(void)
{
    return (uint64_t)s_cfg->idle_timeout_s * 1000u;
}

/* Lends c a request buffer if it has none. */
static void rbuf_get(struct conn *c)
{
    if (c->rbuf != NULL) {
        return;
    }
    /* At most one buffer per slot, so the pool never runs dry. */
    c->rbuf_idx = s_nrfree > 0u ? s_rfree[--s_nrfree] : s_rhwm++;
    c->rbuf = s_rbufs[c->rbuf_idx];
}

/* Returns c's request buffer once everything in it has been parsed. */
static void rbuf_put(struct conn *c)
{
    if (c->rbuf == NULL || c->rlen != 0u) {
        return;
    }
    s_rfree[s_nrfree++] = c->rbuf_idx;
    c->rbuf = NULL;
}

static void conn_close(struct conn *c, const char *reason, bool error)
{
    uint64_t now = s_now;
    struct srv_fields f;
    if (error) {
        s_stats.errors++;
        srv_fields_init(&f);
        srv_fields_str(&f, "reason", reason);
        srv_log_event(now, "error", c->id, f.buf);
    }
    srv_fields_init(&f);
    srv_fields_str(&f, "reason", reason);
    srv_fields_u64(&f, "bytes", c->bytes);
    srv_fields_u64(&f, "acks", c->acks);
    srv_log_event(now, "close", c->id, f.buf);
    timer_clear(c);
    c->rlen = 0;
    rbuf_put(c);
    if (close(c->fd) != 0) {
        /* The descriptor is gone either way; nothing else to undo. */
        s_stats.errors++;
    }
    c->fd = -1;
    c->state = C_FREE;
    s_free[s_nfree++] = (uint32_t)(c - s_conns);
    s_dirty = true;
}

static void log_progress(struct conn *c, uint64_t now)
{
    if (c->body_len == 0u) {
        return;
    }
    uint64_t done = c->body_len - (c->body_end - c->body_pos);
    unsigned step = (unsigned)(done * 10u / c->body_len);
    /* One line per 10% step crossed, even when one write crosses several: a log reader can count
     * on nine progress lines per complete transfer (100% is the "done" line). */
    while (c->decile < step && c->decile < 9u) {
        c->decile++;
        struct srv_fields f;
        srv_fields_init(&f);
        srv_fields_u64(&f, "percent", (uint64_t)c->decile * 10u);
        srv_fields_u64(&f, "sent", done);
        srv_fields_u64(&f, "total", c->body_len);
        srv_fields_u64(&f, "acks", c->acks);
        srv_log_event(now, "progress", c->id, f.buf);
    }
    s_dirty = true;
}

/* Counts ACK bytes of a raw connection; false on anything else. */
static bool count_acks(struct conn *c, const char *buf, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        if (buf[i] != 'A') {
            return false;
        }
    }
    c->acks += n;
    s_stats.acks += n;
    return true;
}

enum io_result { IO_AGAIN, IO_PROGRESS, IO_EOF, IO_CLOSED };

/* Reads what is waiting. In C_REQ (and while an HTTP response is being sent) bytes go to rbuf;
 * otherwise they are ACKs (raw) or discarded (after a response that ends the connection). */
static enum io_result conn_read(struct conn *c)
{
    char scratch[HTTP_MAX_REQUEST];
    bool any = false;
    if (!c->rd_ready) {
        return IO_AGAIN; /* nothing arrived since the last EAGAIN: save the system call */
    }
    for (;;) {
        bool to_rbuf = c->state == C_REQ || (c->proto == P_HTTP && c->state != C_LINGER);
        size_t cap = sizeof(scratch);
        if (to_rbuf) {
            if (c->rlen == HTTP_MAX_REQUEST) {
                return any ? IO_PROGRESS : IO_AGAIN; /* full: read again once it drains */
            }
            cap = HTTP_MAX_REQUEST - c->rlen;
        }
        ssize_t n = recv(c->fd, scratch, cap, 0);
        if (n > 0) {
            any = true;
            /* A stream socket returns less than asked only when its queue is empty: the next
             * byte comes with a new edge, so skip the recv that would say EAGAIN. Not after a
             * FIN was reported, whose edge is already spent: only recv can report the end. */
            if ((size_t)n < cap && !c->rd_hup) {
                c->rd_ready = false;
            }
            if (to_rbuf) {
                rbuf_get(c);
                memcpy(c->rbuf + c->rlen, scratch, (size_t)n);
                c->rlen += (size_t)n;
                if (c->state == C_REQ) {
                    return IO_PROGRESS; /* parse before reading more */
                }
            } else if (c->proto == P_RAW && !c->raw_error && !count_acks(c, scratch, (size_t)n)) {
                conn_close(c, "protocol: byte other than 'A' after the request", true);
                return IO_CLOSED;
            }
            if (!c->rd_ready) {
                return IO_PROGRESS;
            }
            continue;
        }
        if (n == 0) {
            c->rd_eof = true;
            return IO_EOF;
        }
        if (errno == EINTR) {
            continue;
        }
        if (errno == EAGAIN || errno == EWOULDBLOCK) {
            c->rd_ready = false;
            return any ? IO_PROGRESS : IO_AGAIN;
        }
        conn_close(c, strerror(errno), true);
        return IO_CLOSED;
    }
}

/* Sets up the response: head bytes in hbuf, then image bytes [first, first + len). */
static void start_response(struct conn *c, size_t head_len, bool body, uint32_t first,
                           uint32_t len, bool close_after)
{
    uint64_t now = s_now;
    c->hlen = head_len;
    c->hoff = 0;
    c->transfer = body;
    c->body_pos = first;
    c->body_end = body ? first + len : first;
    c->body_len = body ? len : 0u;
    c->chunk_left = s_cfg->chunk_size;
    c->decile = 0;
    c->close_after = close_after;
    c->t_start = now;
    c->t_progress = now;
    c->requests++;
    c->state = C_SEND;
    timer_set(c, now + idle_ms());
}

static void raw_request(struct conn *c)
{
    struct raw_req req;
    int rc = raw_parse_request(c->rbuf, c->rlen, &req);
    if (rc == RAW_INCOMPLETE) {
        return;
    }
    struct srv_fields f;
    srv_fields_init(&f);
    uint32_t size = s_img.info.size;
    if (rc == RAW_OK) {
        rc = raw_check_request(&req, size, s_img.info.etag);
    }
    if (rc != RAW_OK) {
        size_t n = raw_format_err(c->hbuf, sizeof(c->hbuf), rc, size);
        srv_fields_u64(&f, "status", (uint64_t)rc);
        if (rc == RAW_ERR_OFFSET) {
            srv_fields_u64(&f, "offset", req.offset);
        }
        srv_log_event(s_now, "request", c->id, f.buf);
        c->raw_error = true;
        c->rlen = 0;
        start_response(c, n, false, 0, 0, true);
        return;
    }
    uint32_t first = req.resume ? req.offset : 0u;
    size_t n = req.resume ? raw_format_ok(c->hbuf, sizeof(c->hbuf), first, size, s_img.info.etag)
                          : 0u;
    srv_fields_u64(&f, "status", 200);
    srv_fields_bool(&f, "resume", req.resume);
    srv_fields_u64(&f, "offset", first);
    srv_fields_u64(&f, "length", size - first);
    srv_log_event(s_now, "request", c->id, f.buf);
    /* ACKs sent together with the request line are ACKs all the same. */
    size_t extra = c->rlen - req.line_len;
    bool acks_ok = count_acks(c, c->rbuf + req.line_len, extra);
    c->rlen = 0;
    if (!acks_ok) {
        conn_close(c, "protocol: byte other than 'A' after the request", true);
        return;
    }
    start_response(c, n, size - first > 0u, first, size - first, true);
}

/* The last response head formatted, with what it was made from: most responses of a busy second
 * are the same full-image 200 (the head changes with the plan and the Date second only), so they
 * are copied instead of formatted again. */
static struct {
    bool valid;
    time_t date_sec;
    struct http_plan plan;
    size_t len;
    char buf[HEAD_CAP];
} s_head;

static bool plan_same(const struct http_plan *a, const struct http_plan *b)
{
    return a->status == b->status && a->send_body == b->send_body && a->first == b->first &&
           a->length == b->length && a->close == b->close && a->head == b->head &&
           a->keep_alive_header == b->keep_alive_header;
}

/* The head for plan in out (cap bytes): its length, 0 if it does not fit. */
static size_t head_for(const struct http_plan *plan, char *out, size_t cap)
{
    const char *date = http_date();
    if (date != NULL && s_head.valid && s_head.date_sec == s_date_sec &&
        plan_same(plan, &s_head.plan) && s_head.len <= cap) {
        memcpy(out, s_head.buf, s_head.len);
        return s_head.len;
    }
    size_t n = http_format_head(plan, s_img.info.size, s_img.info.etag, date, out, cap);
    s_head.valid = date != NULL && n > 0u && n <= sizeof(s_head.buf);
    if (s_head.valid) {
        s_head.date_sec = s_date_sec;
        s_head.plan = *plan;
        s_head.len = n;
        memcpy(s_head.buf, out, n);
    }
    return n;
}

static void http_request(struct conn *c)
{
    struct http_req req;
    if (http_parse_request(c->rbuf, c->rlen, &req) == HTTP_INCOMPLETE) {
        return;
    }
    struct http_plan plan;
    uint32_t size = s_img.info.size;
    http_plan_response(&req, size, s_img.info.etag, &plan);
    size_t n = head_for(&plan, c->hbuf, sizeof(c->hbuf));
    struct srv_fields f;
    srv_fields_init(&f);
    srv_fields_str(&f, "method", req.error != 0 ? "?" : req.method == HTTP_M_GET ? "GET"
                                                      : req.method == HTTP_M_HEAD ? "HEAD"
                                                                                  : "other");
    srv_fields_u64(&f, "status", (uint64_t)plan.status);
    if (plan.status == 200 || plan.status == 206) {
        srv_fields_u64(&f, "offset", plan.first);
        srv_fields_u64(&f, "length", plan.length);
    }
    srv_log_event(s_now, "request", c->id, f.buf);
    /* Keep what follows the request: the next pipelined request. */
    size_t used = req.req_len <= c->rlen ? req.req_len : c->rlen;
    memmove(c->rbuf, c->rbuf + used, c->rlen - used);
    c->rlen -= used;
    if (n == 0u) {
        conn_close(c, "internal: response head does not fit", true);
        return;
    }
    start_response(c, n, plan.send_body && plan.length > 0u, plan.first, plan.length,
                   plan.close);
}

/* The response is out: log it, then either wait for the next request or end the connection. */
static void finish_response(struct conn *c)
{
    uint64_t now = s_now;
    if (c->transfer) {
        s_stats.transfers++;
        struct srv_fields f;
        srv_fields_init(&f);
        srv_fields_u64(&f, "bytes", c->body_len);
        srv_fields_u64(&f, "acks", c->acks);
        srv_fields_ms(&f, "seconds", now - c->t_start);
        srv_log_event(now, "done", c->id, f.buf);
        c->transfer = false;
        s_dirty = true;
    }
    if (c->proto == P_HTTP && (c->close_after || c->rd_eof) && c->rlen == 0u && !c->rd_ready) {
        /* close() sends what the cork still holds. */
        /* An HTTP client that asked for the close sends nothing more and nothing is unread, so a
         * plain close sends a FIN, not a reset: no need to linger (raw clients still send ACKs). */
        conn_close(c, "done", false);
        return;
    }
    if (c->corked) {
        int zero = 0;
        if (setsockopt(c->fd, IPPROTO_TCP, TCP_CORK, &zero, sizeof(zero)) != 0) {
            conn_close(c, strerror(errno), true);
            return;
        }
        c->corked = false;
    }
    if (c->close_after || c->rd_eof) {
        /* Half-close, then keep reading until the peer closes: closing with unread bytes would
         * make the kernel send a reset that can destroy data still in flight to the peer. */
        if (shutdown(c->fd, SHUT_WR) != 0) {
            conn_close(c, strerror(errno), true);
            return;
        }
        c->state = C_LINGER;
    } else {
        c->state = C_REQ;
    }
    timer_set(c, now + idle_ms());
}

/* The socket buffer is full: wait for the writable edge. EPOLLOUT is registered only now: most
 * responses never fill the buffer, and while registered every ACK that frees space is a wake-up.
 * Registering reports a socket that is already writable again, so no edge is lost in between.
 * False when the connection had to be closed. */
static bool want_write(struct conn *c)
{
    c->wr_ready = false;
    if (c->out_armed) {
        return true;
    }
    struct epoll_event ev;
    memset(&ev, 0, sizeof(ev));
    ev.events = EPOLLIN | EPOLLOUT | EPOLLRDHUP | EPOLLET;
    ev.data.u64 = TAG_CONN_BASE + (uint64_t)(c - s_conns);
    if (epoll_ctl(s_epfd, EPOLL_CTL_MOD, c->fd, &ev) != 0) {
        conn_close(c, strerror(errno), true);
        return false;
    }
    c->out_armed = true;
    return true;
}

/* What a send or sendfile of want bytes that returned n means for the write loop. A short write
 * means a full socket buffer: EPOLLOUT is armed for it. */
enum wr_step { WR_SENT, WR_RETRY, WR_WAIT, WR_CLOSED };

static enum wr_step wrote(struct conn *c, ssize_t n, size_t want)
{
    if (n < 0) {
        if (errno == EINTR) {
            return WR_RETRY;
        }
        if (errno == EAGAIN || errno == EWOULDBLOCK) {
            return want_write(c) ? WR_WAIT : WR_CLOSED;
        }
        conn_close(c, strerror(errno), true);
        return WR_CLOSED;
    }
    if ((size_t)n < want && !want_write(c)) {
        return WR_CLOSED;
    }
    return WR_SENT;
}

/* Writes head then body until done, EAGAIN, a pacing pause or an error. */
static enum io_result conn_write(struct conn *c)
{
    bool any = false;
    while (c->state == C_SEND) {
        if (!c->wr_ready && (c->hoff < c->hlen || c->body_pos < c->body_end)) {
            return any ? IO_PROGRESS : IO_AGAIN; /* wait for the writable edge */
        }
        if (c->hoff < c->hlen) {
            if (c->hoff == 0u && c->body_pos < c->body_end && !c->corked &&
                s_cfg->chunk_delay_ms == 0u) {
                /* Cork for head + body: full segments only, the head in the first one with the
                 * first body bytes; close() or finish_response pushes the rest. (Not when paced:
                 * each paced chunk must leave at once.) If corking fails, MSG_MORE still keeps
                 * the head back for the body. */
                int one = 1;
                if (setsockopt(c->fd, IPPROTO_TCP, TCP_CORK, &one, sizeof(one)) == 0) {
                    c->corked = true;
                }
            }
            int flags = MSG_NOSIGNAL | (c->body_pos < c->body_end ? MSG_MORE : 0);
            ssize_t n = send(c->fd, c->hbuf + c->hoff, c->hlen - c->hoff, flags);
            enum wr_step step = wrote(c, n, c->hlen - c->hoff);
            if (step == WR_RETRY) {
                continue;
            }
            if (step == WR_CLOSED) {
                return IO_CLOSED;
            }
            if (step == WR_WAIT) {
                return any ? IO_PROGRESS : IO_AGAIN;
            }
            c->hoff += (size_t)n;
            c->t_progress = s_now;
            any = true;
            continue;
        }
        if (c->body_pos < c->body_end) {
            size_t want = c->body_end - c->body_pos;
            if (s_cfg->chunk_size != 0u && want > c->chunk_left) {
                want = c->chunk_left;
            }
            if (want > SENDFILE_MAX) {
                want = SENDFILE_MAX;
            }
            off_t off = (off_t)c->body_pos;
            ssize_t n = sendfile(c->fd, s_img.fd, &off, want);
            if (n == 0) {
                conn_close(c, "image file shrank while serving", true);
                return IO_CLOSED;
            }
            enum wr_step step = wrote(c, n, want);
            if (step == WR_RETRY) {
                continue;
            }
            if (step == WR_CLOSED) {
                return IO_CLOSED;
            }
            if (step == WR_WAIT) {
                return any ? IO_PROGRESS : IO_AGAIN;
            }
            uint64_t now = s_now;
            c->body_pos += (uint32_t)n;
            c->bytes += (uint64_t)n;
            s_stats.bytes += (uint64_t)n;
            c->t_progress = now;
            any = true;
            log_progress(c, now);
            if (s_cfg->chunk_size != 0u) {
                c->chunk_left -= (uint32_t)n;
                if (c->chunk_left == 0u && c->body_pos < c->body_end &&
                    s_cfg->chunk_delay_ms != 0u) {
                    c->state = C_PAUSE;
                    timer_set(c, now + s_cfg->chunk_delay_ms);
                    return IO_PROGRESS;
                }
                if (c->chunk_left == 0u) {
                    c->chunk_left = s_cfg->chunk_size;
                }
            }
            continue;
        }
        finish_response(c);
        return c->state == C_FREE ? IO_CLOSED : IO_PROGRESS;
    }
    return any ? IO_PROGRESS : IO_AGAIN;
}

/* Moves a connection as far as its socket allows. */
static void conn_drive(struct conn *c)
{
    for (;;) {
        switch (c->state) {
        case C_REQ: {
            if (c->rlen > 0u) {
                if (c->proto == P_RAW) {
                    raw_request(c);
                } else {
                    http_request(c);
                }
                rbuf_put(c);
                if (c->state != C_REQ) {
                    continue;
                }
            }
            enum io_result r = conn_read(c);
            if (r == IO_CLOSED) {
                return;
            }
            if (r == IO_EOF) {
                conn_close(c, c->rlen == 0u ? "peer closed" : "peer closed mid-request",
                           c->rlen != 0u);
                return;
            }
            if (r == IO_AGAIN) {
                return;
            }
            continue;
        }
        case C_SEND: {
            enum io_result r = conn_read(c);
            if (r == IO_CLOSED) {
                return;
            }
            r = conn_write(c);
            if (r == IO_CLOSED || r == IO_AGAIN) {
                return;
            }
            if (c->state == C_SEND) {
                return; /* wrote some, then the socket filled up: wait for the writable edge */
            }
            continue;
        }
        case C_PAUSE: {
            enum io_result r = conn_read(c);
            (void)r; /* EOF is kept in rd_eof; the transfer goes on until the pause ends */
            return;
        }
        case C_LINGER: {
            enum io_result r = conn_read(c);
            if (r == IO_EOF) {
                conn_close(c, "done", false);
            }
            return;
        }
        default: return;
        }
    }
}

static void conn_timeout(struct conn *c, uint64_t now)
{
    switch (c->state) {
    case C_REQ:
        /* Waiting for the next request of a kept-alive connection is not an error. */
        if (c->requests > 0u && c->rlen == 0u) {
            conn_close(c, "keep-alive idle timeout", false);
        } else {
            conn_close(c, "idle timeout", true);
        }
        break;
    case C_SEND:
        if (now - c->t_progress >= idle_ms()) {
            conn_close(c, "slow client: no progress within the idle timeout", true);
        } else {
            timer_set(c, c->t_progress + idle_ms());
        }
        break;
    case C_PAUSE:
        c->state = C_SEND;
        c->chunk_left = s_cfg->chunk_size;
        c->t_progress = now;
        timer_set(c, now + idle_ms());
        conn_drive(c);
        break;
    case C_LINGER: conn_close(c, "done (peer did not close)", false); break;
    default: timer_clear(c); break;
    }
}

/* ------------------------------------------------------------------ accept, listen */

/* The port of an address the kernel wrote len bytes of; 0 if it is not a whole IPv4/IPv6 one. */
static unsigned addr_port(const union sock_addr *a, socklen_t len)
{
    if (len >= (socklen_t)sizeof(a->in) && a->sa.sa_family == AF_INET) {
        return ntohs(a->in.sin_port);
    }
    if (len >= (socklen_t)sizeof(a->in6) && a->sa.sa_family == AF_INET6) {
        return ntohs(a->in6.sin6_port);
    }
    return 0;
}

static void peer_name(const union sock_addr *a, socklen_t len, char *out, size_t cap)
{
    char host[INET6_ADDRSTRLEN] = "?";
    const void *bin = NULL;
    if (len >= (socklen_t)sizeof(a->in) && a->sa.sa_family == AF_INET) {
        bin = &a->in.sin_addr;
    } else if (len >= (socklen_t)sizeof(a->in6) && a->sa.sa_family == AF_INET6) {
        bin = &a->in6.sin6_addr;
    }
    if (bin != NULL && inet_ntop(a->sa.sa_family, bin, host, sizeof(host)) == NULL) {
        (void)snprintf(host, sizeof(host), "?");
    }
    (void)snprintf(out, cap, "%s:%u", host, addr_port(a, len));
}

/* Every connection wants TCP_NODELAY (a paced or final short write must not wait for an ACK).
 * Linux copies it from the listener into accepted sockets; the first accepted socket shows whether
 * this kernel does, and only if not is it set on each socket (one system call per connection). */
static void set_nodelay(int fd)
{
    int one = 1;
    if (s_nodelay_inherited < 0) {
        int v = 0;
        socklen_t vl = sizeof(v);
        s_nodelay_inherited =
            getsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &v, &vl) == 0 && v != 0 ? 1 : 0;
    }
    if (s_nodelay_inherited == 0 &&
        setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one)) != 0) {
        s_stats.errors++; /* only latency suffers */
    }
}

static void refuse_busy(int fd, enum conn_proto proto)
{
    char buf[256];
    size_t n = 0;
    if (proto == P_RAW) {
        n = raw_format_err(buf, sizeof(buf), RAW_ERR_BUSY, 0);
    } else {
        struct http_plan plan;
        memset(&plan, 0, sizeof(plan));
        plan.status = 503;
        plan.close = true;
        n = http_format_head(&plan, 0, "", http_date(), buf, sizeof(buf));
    }
    /* Best effort: the socket is fresh, so a short answer fits its buffer; no retry. */
    if (n > 0u && send(fd, buf, n, MSG_NOSIGNAL | MSG_DONTWAIT) < 0) {
        s_stats.errors++;
    }
    s_stats.busy++;
    (void)close(fd);
}

static void on_accept(int lfd, enum conn_proto proto)
{
    bool quiet = s_cfg->log_mode == SRV_LOG_QUIET; /* the peer's name appears in no line */
    for (int i = 0; i < ACCEPT_BATCH; i++) {
        /* Zeroed although accept4 fills it: glibc declares the parameter as a transparent union,
         * through which the static analyzer cannot see the write. */
        union sock_addr sa;
        memset(&sa, 0, sizeof(sa));
        socklen_t sl = sizeof(sa);
        int fd = accept4(lfd, &sa.sa, &sl, SOCK_NONBLOCK | SOCK_CLOEXEC);
        if (fd < 0) {
            if (errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR &&
                errno != ECONNABORTED) {
                s_stats.errors++;
            }
            return;
        }
        if (s_nfree == 0u && s_hwm == s_cfg->max_clients) {
            refuse_busy(fd, proto);
            continue;
        }
        set_nodelay(fd);
        uint32_t slot = s_nfree > 0u ? s_free[--s_nfree] : s_hwm++;
        struct conn *c = &s_conns[slot];
        memset(c, 0, offsetof(struct conn, hbuf));
        c->fd = fd;
        c->id = ++s_next_id;
        c->proto = (uint8_t)proto;
        c->state = C_REQ;
        c->heap_idx = NO_HEAP;
        c->rd_ready = false; /* the registration below reports data that is already there */
        c->wr_ready = true;
        if (!quiet) {
            peer_name(&sa, sl, c->peer, sizeof(c->peer));
        }
        struct epoll_event ev;
        memset(&ev, 0, sizeof(ev));
        ev.events = EPOLLIN | EPOLLRDHUP | EPOLLET; /* EPOLLOUT once a write would block */
        ev.data.u64 = TAG_CONN_BASE + slot;
        if (epoll_ctl(s_epfd, EPOLL_CTL_ADD, fd, &ev) != 0) {
            (void)close(fd);
            c->state = C_FREE;
            s_free[s_nfree++] = slot;
            s_stats.errors++;
            continue;
        }
        s_stats.connections++;
        uint64_t now = s_now;
        struct srv_fields f;
        srv_fields_init(&f);
        srv_fields_str(&f, "proto", proto_name(c));
        srv_fields_str(&f, "peer", c->peer);
        srv_log_event(now, "connect", c->id, f.buf);
        timer_set(c, now + idle_ms());
    }
}

static int open_listener(int port, int *actual_port)
{
    struct addrinfo hints;
    memset(&hints, 0, sizeof(hints));
    hints.ai_family = AF_UNSPEC;
    hints.ai_socktype = SOCK_STREAM;
    hints.ai_flags = AI_NUMERICHOST | AI_NUMERICSERV | AI_PASSIVE;
    char portstr[16];
    (void)snprintf(portstr, sizeof(portstr), "%d", port);
    struct addrinfo *ai = NULL;
    if (getaddrinfo(s_cfg->bind_addr, portstr, &hints, &ai) != 0 || ai == NULL) {
        fprintf(stderr, "otaserver: --bind %s is not a numeric address\n", s_cfg->bind_addr);
        return -1;
    }
    int fd = socket(ai->ai_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    int one = 1;
    if (fd < 0 || setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) != 0 ||
        setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one)) != 0 ||
        bind(fd, ai->ai_addr, ai->ai_addrlen) != 0 || listen(fd, SOMAXCONN) != 0) {
        fprintf(stderr, "otaserver: cannot listen on %s port %d: %s\n", s_cfg->bind_addr, port,
                strerror(errno));
        if (fd >= 0) {
            (void)close(fd);
        }
        freeaddrinfo(ai);
        return -1;
    }
    freeaddrinfo(ai);
    union sock_addr sa;
    memset(&sa, 0, sizeof(sa)); /* see on_accept: the analyzer cannot see getsockname's write */
    socklen_t sl = sizeof(sa);
    unsigned actual = getsockname(fd, &sa.sa, &sl) == 0 ? addr_port(&sa, sl) : 0u;
    if (actual == 0u) {
        fprintf(stderr, "otaserver: cannot read the port of %s: %s\n", s_cfg->bind_addr,
                strerror(errno));
        (void)close(fd);
        return -1;
    }
    *actual_port = (int)actual;
    return fd;
}

static int epoll_add(int fd, uint64_t tag)
{
    struct epoll_event ev;
    memset(&ev, 0, sizeof(ev));
    ev.events = EPOLLIN;
    ev.data.u64 = tag;
    return epoll_ctl(s_epfd, EPOLL_CTL_ADD, fd, &ev);
}

/* Enough descriptors for max_clients connections; fewer clients if the hard limit says so. */
static unsigned raise_nofile(unsigned want_clients)
{
    struct rlimit rl;
    if (getrlimit(RLIMIT_NOFILE, &rl) != 0) {
        return want_clients;
    }
    rlim_t need = (rlim_t)want_clients + FD_RESERVE;
    if (rl.rlim_cur < need) {
        rl.rlim_cur = rl.rlim_max == RLIM_INFINITY || rl.rlim_max >= need ? need : rl.rlim_max;
        if (setrlimit(RLIMIT_NOFILE, &rl) != 0 && getrlimit(RLIMIT_NOFILE, &rl) != 0) {
            return want_clients;
        }
    }
    if (rl.rlim_cur < need) {
        unsigned fit = rl.rlim_cur > FD_RESERVE ? (unsigned)(rl.rlim_cur - FD_RESERVE) : 1u;
        fprintf(stderr, "otaserver: descriptor limit %lu: serving at most %u clients\n",
                (unsigned long)rl.rlim_cur, fit);
        return fit;
    }
    return want_clients;
}

static void redraw(void)
{
    struct srv_progress lines[SRV_LOG_TTY_LINES];
    unsigned shown = 0;
    unsigned total = 0;
    for (uint32_t i = 0; i < s_hwm; i++) {
        const struct conn *c = &s_conns[i];
        if ((c->state != C_SEND && c->state != C_PAUSE) || !c->transfer) {
            continue;
        }
        total++;
        if (shown < SRV_LOG_TTY_LINES) {
            lines[shown].id = c->id;
            lines[shown].peer = c->peer;
            lines[shown].proto = proto_name(c);
            lines[shown].done = c->body_len - (c->body_end - c->body_pos);
            lines[shown].total = c->body_len;
            lines[shown].acks = c->acks;
            shown++;
        }
    }
    srv_log_redraw(lines, shown, total);
}

int srv_run(const struct srv_config *cfg)
{
    s_cfg = cfg;
    uint64_t t0 = now_ms();
    s_now = t0;
    s_wall_stale = true;
    s_head.valid = false; /* made for another image */
    srv_log_init(cfg->log_mode, t0);
    int rc = srv_image_open(&s_img, cfg->image_path);
    if (rc != SRV_IMAGE_OK) {
        fprintf(stderr, "otaserver: refusing %s: %s\n", cfg->image_path, srv_image_strerror(rc));
        return SRV_ERR_IMAGE;
    }
    s_nodelay_inherited = -1;
    struct srv_config local = *cfg;
    local.max_clients = raise_nofile(cfg->max_clients);
    s_cfg = &local;
    /* A shell starts background jobs with SIGINT ignored, and an ignored signal never reaches the
     * signalfd: restore the defaults (they are blocked below, so they cannot kill us). */
    if (signal(SIGPIPE, SIG_IGN) == SIG_ERR || signal(SIGINT, SIG_DFL) == SIG_ERR ||
        signal(SIGTERM, SIG_DFL) == SIG_ERR || signal(SIGHUP, SIG_DFL) == SIG_ERR) {
        srv_image_close(&s_img);
        return SRV_ERR_SYSTEM;
    }
    sigset_t mask;
    (void)sigemptyset(&mask);
    (void)sigaddset(&mask, SIGINT);
    (void)sigaddset(&mask, SIGTERM);
    (void)sigaddset(&mask, SIGHUP); /* the terminal went away: shut down just as cleanly */
    int sfd = -1;
    if (sigprocmask(SIG_BLOCK, &mask, NULL) != 0 ||
        (sfd = signalfd(-1, &mask, SFD_NONBLOCK | SFD_CLOEXEC)) < 0) {
        fprintf(stderr, "otaserver: signalfd: %s\n", strerror(errno));
        srv_image_close(&s_img);
        return SRV_ERR_SYSTEM;
    }
    int raw_port = 0;
    int http_port = 0;
    int raw_fd = open_listener(cfg->raw_port, &raw_port);
    int http_fd = raw_fd < 0 ? -1 : open_listener(cfg->http_port, &http_port);
    s_epfd = epoll_create1(EPOLL_CLOEXEC);
    s_conns = calloc(local.max_clients, sizeof(*s_conns));
    s_free = calloc(local.max_clients, sizeof(*s_free));
    s_heap = calloc(local.max_clients, sizeof(*s_heap));
    s_rbufs = calloc(local.max_clients, sizeof(*s_rbufs));
    s_rfree = calloc(local.max_clients, sizeof(*s_rfree));
    int result = SRV_OK;
    if (raw_fd < 0 || http_fd < 0) {
        result = SRV_ERR_LISTEN;
    } else if (s_epfd < 0 || s_conns == NULL || s_free == NULL || s_heap == NULL ||
               s_rbufs == NULL || s_rfree == NULL ||
               epoll_add(raw_fd, TAG_RAW_LISTEN) != 0 ||
               epoll_add(http_fd, TAG_HTTP_LISTEN) != 0 || epoll_add(sfd, TAG_SIGNAL) != 0) {
        fprintf(stderr, "otaserver: start-up failed: %s\n", strerror(errno));
        result = SRV_ERR_SYSTEM;
    }
    if (result != SRV_OK) {
        goto out;
    }
    /* calloc left every slot C_FREE; nothing is touched before it is used. */
    s_nfree = 0;
    s_hwm = 0;
    s_nrfree = 0;
    s_rhwm = 0;
    {
        struct srv_fields f;
        srv_fields_init_always(&f);
        srv_fields_u64(&f, "raw_port", (uint64_t)raw_port);
        srv_fields_u64(&f, "http_port", (uint64_t)http_port);
        srv_fields_str(&f, "bind", cfg->bind_addr);
        srv_fields_str(&f, "image", cfg->image_path);
        srv_fields_u64(&f, "size", s_img.info.size);
        char ver[48];
        (void)snprintf(ver, sizeof(ver), "%u.%u.%u+%lu", s_img.info.ver_major,
                       s_img.info.ver_minor, s_img.info.ver_revision,
                       (unsigned long)s_img.info.ver_build);
        srv_fields_str(&f, "version", ver);
        srv_fields_str(&f, "etag", s_img.info.etag);
        srv_fields_u64(&f, "max_clients", local.max_clients);
        srv_fields_u64(&f, "pid", (uint64_t)getpid());
        srv_log_event(now_ms(), "listening", 0, f.buf);
        if (s_img.file_size > s_img.info.size) {
            srv_fields_init_always(&f);
            srv_fields_u64(&f, "ignored_trailing_bytes", s_img.file_size - s_img.info.size);
            srv_log_event(now_ms(), "note", 0, f.buf);
        }
    }
    uint64_t next_redraw = 0;
    const char *signame = NULL;
    while (signame == NULL) {
        uint64_t now = now_ms();
        int timeout = -1;
        if (s_nheap > 0u) {
            uint64_t d = s_conns[s_heap[0]].deadline;
            timeout = d <= now ? 0 : (d - now > 60000u ? 60000 : (int)(d - now));
        }
        if (local.log_mode == SRV_LOG_TTY && s_dirty) {
            int t = next_redraw <= now ? 0 : (int)(next_redraw - now);
            if (timeout < 0 || t < timeout) {
                timeout = t;
            }
        }
        struct epoll_event evs[MAX_EVENTS];
        int n = epoll_wait(s_epfd, evs, MAX_EVENTS, timeout);
        s_now = now_ms();
        s_wall_stale = true;
        if (n < 0) {
            if (errno == EINTR) {
                continue;
            }
            fprintf(stderr, "otaserver: epoll_wait: %s\n", strerror(errno));
            result = SRV_ERR_SYSTEM;
            break;
        }
        for (int i = 0; i < n; i++) {
            uint64_t tag = evs[i].data.u64;
            if (tag == TAG_RAW_LISTEN) {
                on_accept(raw_fd, P_RAW);
            } else if (tag == TAG_HTTP_LISTEN) {
                on_accept(http_fd, P_HTTP);
            } else if (tag == TAG_SIGNAL) {
                struct signalfd_siginfo si;
                if (read(sfd, &si, sizeof(si)) == (ssize_t)sizeof(si)) {
                    signame = si.ssi_signo == SIGINT    ? "SIGINT"
                              : si.ssi_signo == SIGHUP ? "SIGHUP"
                                                       : "SIGTERM";
                }
            } else {
                struct conn *c = &s_conns[tag - TAG_CONN_BASE];
                if (c->state != C_FREE) {
                    uint32_t e = evs[i].events;
                    if ((e & (EPOLLIN | EPOLLRDHUP | EPOLLHUP | EPOLLERR)) != 0u) {
                        c->rd_ready = true;
                    }
                    if ((e & (EPOLLRDHUP | EPOLLHUP | EPOLLERR)) != 0u) {
                        c->rd_hup = true;
                    }
                    if ((e & (EPOLLOUT | EPOLLHUP | EPOLLERR)) != 0u) {
                        c->wr_ready = true;
                    }
                    conn_drive(c);
                }
            }
        }
        now = now_ms();
        s_now = now;
        while (s_nheap > 0u && s_conns[s_heap[0]].deadline <= now) {
            conn_timeout(&s_conns[s_heap[0]], now);
        }
        if (local.log_mode == SRV_LOG_TTY && s_dirty && now >= next_redraw) {
            redraw();
            s_dirty = false;
            next_redraw = now + REDRAW_MS;
        }
    }
    if (signame != NULL) {
        uint32_t open_conns = s_hwm - s_nfree;
        for (uint32_t i = 0; i < s_hwm; i++) {
            if (s_conns[i].state != C_FREE) {
                (void)close(s_conns[i].fd);
                s_conns[i].state = C_FREE;
            }
        }
        struct srv_fields f;
        srv_fields_init_always(&f);
        srv_fields_str(&f, "signal", signame);
        srv_fields_u64(&f, "connections", s_stats.connections);
        srv_fields_u64(&f, "transfers", s_stats.transfers);
        srv_fields_u64(&f, "bytes", s_stats.bytes);
        srv_fields_u64(&f, "acks", s_stats.acks);
        srv_fields_u64(&f, "errors", s_stats.errors);
        srv_fields_u64(&f, "busy", s_stats.busy);
        srv_fields_u64(&f, "open_at_exit", open_conns);
        srv_log_event(now_ms(), "shutdown", 0, f.buf);
    }
out:
    free(s_conns);
    free(s_free);
    free(s_heap);
    free(s_rbufs);
    free(s_rfree);
    s_conns = NULL;
    s_free = NULL;
    s_heap = NULL;
    s_rbufs = NULL;
    s_rfree = NULL;
    if (s_epfd >= 0) {
        (void)close(s_epfd);
        s_epfd = -1;
    }
    if (raw_fd >= 0) {
        (void)close(raw_fd);
    }
    if (http_fd >= 0) {
        (void)close(http_fd);
    }
    (void)close(sfd);
    srv_image_close(&s_img);
    return result;
}
