/* Test helpers (see tnet.h). */
#define _GNU_SOURCE
#include "tnet.h"

#include "loopback.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static int make_temp(char *path, size_t cap, const char *tag)
{
    const char *dir = getenv("TMPDIR");
    (void)snprintf(path, cap, "%s/ota-%s-XXXXXX", dir != NULL ? dir : "/tmp", tag);
    int fd = mkstemp(path);
    return fd;
}

int tproc_start(struct tproc *p, char *const argv[])
{
    memset(p, 0, sizeof(*p));
    int out = make_temp(p->log, sizeof(p->log), "out");
    int err = make_temp(p->err, sizeof(p->err), "err");
    if (out < 0 || err < 0) {
        return -1;
    }
    pid_t pid = fork();
    if (pid < 0) {
        return -1;
    }
    if (pid == 0) {
        /* A failed assertion ends the test without stopping its children: they die with it. */
        if (prctl(PR_SET_PDEATHSIG, SIGKILL) != 0 || dup2(out, 1) < 0 || dup2(err, 2) < 0) {
            _exit(126);
        }
        execv(argv[0], argv);
        _exit(127);
    }
    (void)close(out);
    (void)close(err);
    p->pid = pid;
    return 0;
}

int tproc_wait(struct tproc *p)
{
    int st = 0;
    pid_t r;
    do {
        r = waitpid(p->pid, &st, 0);
    } while (r < 0 && errno == EINTR);
    p->pid = 0;
    if (r < 0 || !WIFEXITED(st)) {
        return -1;
    }
    return WEXITSTATUS(st);
}

int tproc_stop(struct tproc *p, int sig)
{
    if (p->pid <= 0 || kill(p->pid, sig) != 0) {
        return -1;
    }
    return tproc_wait(p);
}

long tnet_read_file(const char *path, char *buf, size_t cap)
{
    FILE *f = fopen(path, "rb");
    if (f == NULL) {
        return -1;
    }
    size_t n = fread(buf, 1, cap - 1u, f);
    buf[n] = '\0';
    if (fclose(f) != 0) {
        return -1;
    }
    return (long)n;
}

static void sleep_ms(unsigned ms)
{
    struct timespec ts = {.tv_sec = 0, .tv_nsec = (long)ms * 1000000L};
    (void)nanosleep(&ts, NULL);
}

static char s_file[1 << 20];

int tproc_wait_line(const struct tproc *p, const char *needle, char *line, size_t cap)
{
    for (int i = 0; i < TNET_TIMEOUT_S * 100; i++) {
        if (tnet_read_file(p->log, s_file, sizeof(s_file)) >= 0) {
            char *hit = strstr(s_file, needle);
            if (hit != NULL) {
                char *start = hit;
                while (start > s_file && start[-1] != '\n') {
                    start--;
                }
                char *end = strchr(hit, '\n');
                if (end != NULL) {
                    size_t n = (size_t)(end - start);
                    if (line != NULL && cap > 0u) {
                        n = n < cap - 1u ? n : cap - 1u;
                        memcpy(line, start, n);
                        line[n] = '\0';
                    }
                    return 0;
                }
            }
        }
        if (p->pid > 0 && waitpid(p->pid, NULL, WNOHANG) == p->pid) {
            return -1;
        }
        sleep_ms(10);
    }
    return -1;
}

int tproc_count_lines(const struct tproc *p, const char *a, const char *b)
{
    if (tnet_read_file(p->log, s_file, sizeof(s_file)) < 0) {
        return -1;
    }
    int count = 0;
    char *save = NULL;
    for (char *line = strtok_r(s_file, "\n", &save); line != NULL;
         line = strtok_r(NULL, "\n", &save)) {
        if (strstr(line, a) != NULL && (b == NULL || strstr(line, b) != NULL)) {
            count++;
        }
    }
    return count;
}

void tproc_cleanup(struct tproc *p)
{
    if (p->log[0] != '\0') {
        (void)unlink(p->log);
    }
    if (p->err[0] != '\0') {
        (void)unlink(p->err);
    }
}

int tnet_connect(int port)
{
    return tnet_connect_rcvbuf(port, 0);
}

int tnet_connect_rcvbuf(int port, int rcvbuf)
{
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0) {
        return -1;
    }
    if (rcvbuf > 0 && setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &rcvbuf, sizeof(rcvbuf)) != 0) {
        (void)close(fd);
        return -1;
    }
    struct timeval tv = {.tv_sec = TNET_TIMEOUT_S, .tv_usec = 0};
    struct sockaddr_in sa = loopback_addr((uint16_t)port);
    if (setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv)) != 0 ||
        setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv)) != 0 ||
        connect(fd, (struct sockaddr *)&sa, sizeof(sa)) != 0) {
        (void)close(fd);
        return -1;
    }
    return fd;
}

int tnet_local_port(int fd)
{
    struct sockaddr_in sa;
    memset(&sa, 0, sizeof(sa));
    socklen_t sl = sizeof(sa);
    if (getsockname(fd, (struct sockaddr *)&sa, &sl) != 0) {
        return -1;
    }
    return ntohs(sa.sin_port);
}

int tnet_send(int fd, const void *buf, size_t len)
{
    const uint8_t *p = buf;
    while (len > 0u) {
        ssize_t n = send(fd, p, len, MSG_NOSIGNAL);
        if (n < 0) {
            if (errno == EINTR) {
                continue;
            }
            return -1;
        }
        p += n;
        len -= (size_t)n;
    }
    return 0;
}

size_t tnet_recv_all(int fd, uint8_t *buf, size_t cap, bool *reset, bool *timed_out)
{
    size_t got = 0;
    *reset = false;
    *timed_out = false;
    while (got < cap) {
        ssize_t n = recv(fd, buf + got, cap - got, 0);
        if (n > 0) {
            got += (size_t)n;
            continue;
        }
        if (n == 0) {
            break;
        }
        if (errno == EINTR) {
            continue;
        }
        if (errno == ECONNRESET) {
            *reset = true;
        } else if (errno == EAGAIN || errno == EWOULDBLOCK) {
            *timed_out = true;
        }
        break;
    }
    return got;
}

int tnet_recv_exact(int fd, void *buf, size_t len)
{
    uint8_t *p = buf;
    while (len > 0u) {
        ssize_t n = recv(fd, p, len, 0);
        if (n < 0 && errno == EINTR) {
            continue;
        }
        if (n <= 0) {
            return -1;
        }
        p += n;
        len -= (size_t)n;
    }
    return 0;
}

long tnet_recv_line(int fd, char *buf, size_t cap)
{
    size_t n = 0;
    while (n + 1u < cap) {
        char c;
        ssize_t r = recv(fd, &c, 1, 0);
        if (r < 0 && errno == EINTR) {
            continue;
        }
        if (r <= 0) {
            return -1;
        }
        buf[n++] = c;
        if (c == '\n') {
            buf[n] = '\0';
            return (long)n;
        }
    }
    return -1;
}

int tnet_int(const char *s)
{
    char *end = NULL;
    errno = 0;
    long v = strtol(s, &end, 10);
    if (errno != 0 || end == s || v < 0 || v > 0x7fffffffL) {
        return -1;
    }
    return (int)v;
}

int tnet_free_port(void)
{
    uint16_t port = loopback_free_port();
    return port != 0 ? port : -1;
}

int thttp_read(int fd, struct thttp_resp *r, uint8_t *body, size_t cap, bool head_only)
{
    memset(r, 0, sizeof(*r));
    r->content_length = -1;
    size_t n = 0;
    /* Byte by byte so no body byte of this or the next response is consumed with the head. */
    while (n + 1u < sizeof(r->head)) {
        ssize_t k = recv(fd, r->head + n, 1, 0);
        if (k < 0 && errno == EINTR) {
            continue;
        }
        if (k <= 0) {
            return -1;
        }
        n++;
        r->head[n] = '\0';
        if (n >= 4u && memcmp(r->head + n - 4u, "\r\n\r\n", 4) == 0) {
            break;
        }
    }
    if (strncmp(r->head, "HTTP/1.1 ", 9) != 0 || (r->status = tnet_int(r->head + 9)) < 0) {
        return -1;
    }
    char v[64];
    if (thttp_header(r, "Content-Length", v, sizeof(v)) == 0) {
        r->content_length = strtol(v, NULL, 10);
    }
    if (head_only || r->content_length <= 0) {
        return 0;
    }
    if ((size_t)r->content_length > cap || tnet_recv_exact(fd, body, (size_t)r->content_length)) {
        return -1;
    }
    r->body_len = (size_t)r->content_length;
    return 0;
}

int thttp_header(const struct thttp_resp *r, const char *name, char *out, size_t cap)
{
    size_t nl = strlen(name);
    const char *p = strstr(r->head, "\r\n");
    while (p != NULL && p[2] != '\r') {
        p += 2;
        if (strncasecmp(p, name, nl) == 0 && p[nl] == ':') {
            const char *v = p + nl + 1;
            while (*v == ' ') {
                v++;
            }
            const char *e = strstr(v, "\r\n");
            size_t len = e != NULL ? (size_t)(e - v) : strlen(v);
            if (len >= cap) {
                return -1;
            }
            memcpy(out, v, len);
            out[len] = '\0';
            return 0;
        }
        p = strstr(p, "\r\n");
    }
    return -1;
}
