/*
 * tutorial_server: behaves like the tutorial's public Python servers (../shared/reference/
 * tutorial-system.md) so the OTA client can be tested against them, quirks included:
 *   fixed-delay  writes the file in chunks with a sleep after each, never reads the ACKs, and
 *                closes right after the last byte (Linux then sends a RST: unread ACKs);
 *   ack-paced    waits for an 'A' after each full chunk and aborts if one read returns anything
 *                but exactly one 'A' (two coalesced ACKs included).
 * Both serve one client, ignore the request's content, then exit. Exit status: 0 after the whole
 * file was sent, 1 on usage or socket errors, 3 when ack-paced aborted.
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

enum mode { FIXED_DELAY, ACK_PACED };

static int send_all(int fd, const unsigned char *p, size_t n)
{
    while (n > 0u) {
        ssize_t w = send(fd, p, n, MSG_NOSIGNAL);
        if (w < 0) {
            if (errno == EINTR) {
                continue;
            }
            return -1;
        }
        p += w;
        n -= (size_t)w;
    }
    return 0;
}

static void sleep_ms(unsigned ms)
{
    struct timespec ts = {.tv_sec = (time_t)(ms / 1000u), .tv_nsec = (long)(ms % 1000u) * 1000000L};
    while (nanosleep(&ts, &ts) != 0 && errno == EINTR) {
    }
}

static unsigned char *load(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    if (f == NULL) {
        return NULL;
    }
    struct stat st;
    unsigned char *buf = NULL;
    if (fstat(fileno(f), &st) == 0 && st.st_size > 0) {
        buf = malloc((size_t)st.st_size);
        if (buf != NULL && fread(buf, 1, (size_t)st.st_size, f) != (size_t)st.st_size) {
            free(buf);
            buf = NULL;
        }
        *len = (size_t)st.st_size;
    }
    if (fclose(f) != 0) {
        free(buf);
        buf = NULL;
    }
    return buf;
}

int main(int argc, char **argv)
{
    const char *image = NULL;
    const char *bind_addr = "127.0.0.1";
    int port = 5678;
    enum mode mode = FIXED_DELAY;
    unsigned long chunk = 512;
    unsigned long delay_ms = 250;
    for (int i = 1; i + 1 < argc; i += 2) {
        const char *a = argv[i];
        const char *v = argv[i + 1];
        if (strcmp(a, "--image") == 0) {
            image = v;
        } else if (strcmp(a, "--port") == 0) {
            char *end = NULL;
            long p = strtol(v, &end, 10);
            port = (end == v || *end != '\0') ? -1 : (int)(p > 65535 ? -1 : p);
        } else if (strcmp(a, "--bind") == 0) {
            bind_addr = v;
        } else if (strcmp(a, "--chunk") == 0) {
            chunk = strtoul(v, NULL, 10);
        } else if (strcmp(a, "--delay-ms") == 0) {
            delay_ms = strtoul(v, NULL, 10);
        } else if (strcmp(a, "--mode") == 0) {
            if (strcmp(v, "fixed-delay") == 0) {
                mode = FIXED_DELAY;
            } else if (strcmp(v, "ack-paced") == 0) {
                mode = ACK_PACED;
            } else {
                image = NULL;
                break;
            }
        } else {
            image = NULL;
            break;
        }
    }
    if (image == NULL || chunk == 0u || chunk > 65536u || port < 0 || port > 65535 ||
        (argc % 2) == 0) {
        fprintf(stderr, "usage: tutorial_server --image F --port P --mode fixed-delay|ack-paced "
                        "[--chunk 512] [--delay-ms 250] [--bind 127.0.0.1]\n");
        return 1;
    }
    size_t len = 0;
    unsigned char *data = load(image, &len);
    if (data == NULL) {
        fprintf(stderr, "tutorial_server: cannot read %s\n", image);
        return 1;
    }
    int lfd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    int one = 1;
    struct sockaddr_in sa;
    memset(&sa, 0, sizeof(sa));
    sa.sin_family = AF_INET;
    sa.sin_port = htons((uint16_t)port);
    socklen_t sl = sizeof(sa);
    if (lfd < 0 || inet_pton(AF_INET, bind_addr, &sa.sin_addr) != 1 ||
        setsockopt(lfd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) != 0 ||
        bind(lfd, (struct sockaddr *)&sa, sizeof(sa)) != 0 || listen(lfd, 1) != 0 ||
        getsockname(lfd, (struct sockaddr *)&sa, &sl) != 0) {
        fprintf(stderr, "tutorial_server: cannot listen: %s\n", strerror(errno));
        free(data);
        return 1;
    }
    printf("listening %u\n", ntohs(sa.sin_port));
    (void)fflush(stdout);
    int fd = accept(lfd, NULL, NULL);
    (void)close(lfd);
    if (fd < 0) {
        free(data);
        return 1;
    }
    /* Like the public scripts: one read for the request, content not checked. */
    char req[1024];
    ssize_t r = recv(fd, req, sizeof(req), 0);
    if (r <= 0) {
        fprintf(stderr, "tutorial_server: no request\n");
        (void)close(fd);
        free(data);
        return 1;
    }
    int status = 0;
    size_t off = 0;
    while (off < len) {
        size_t n = len - off < chunk ? len - off : chunk;
        if (send_all(fd, data + off, n) != 0) {
            fprintf(stderr, "tutorial_server: send: %s\n", strerror(errno));
            status = 1;
            break;
        }
        off += n;
        if (mode == FIXED_DELAY) {
            /* The tutorial's script sleeps after every write, the last one included, then
             * closes: the last bytes have left before the reset that the close turns into. */
            if (delay_ms > 0u) {
                sleep_ms((unsigned)delay_ms);
            }
            continue;
        }
        if (n < chunk) {
            break; /* a short last chunk is not acknowledged */
        }
        char ack[16];
        ssize_t a;
        do {
            a = recv(fd, ack, sizeof(ack), 0);
        } while (a < 0 && errno == EINTR);
        if (a != 1 || ack[0] != 'A') {
            printf("abort: expected one 'A', read %zd byte(s) after %zu bytes\n", a, off);
            status = 3;
            break;
        }
    }
    if (status == 0) {
        printf("sent %zu bytes\n", off);
    }
    (void)fflush(stdout);
    /* Plain close, like the scripts: unread ACK bytes turn it into a reset. */
    (void)close(fd);
    free(data);
    return status;
}
