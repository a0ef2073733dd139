/*
 * Helpers for the otaserver and test-peer tests: child processes with their output in a file,
 * blocking loopback sockets with a receive timeout (so no test can hang), an HTTP response reader.
 */
#ifndef TNET_H
#define TNET_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#define TNET_TIMEOUT_S 20 /* safety net only: a test never waits for time to pass */

struct tproc {
    pid_t pid;
    char log[256]; /* stdout of the child */
    char err[256]; /* stderr of the child */
};

/* Start argv[0] with stdout/stderr in fresh temp files. 0 on success. */
int tproc_start(struct tproc *p, char *const argv[]);
/* Wait for exit; returns the exit status, or -1 if killed by a signal / on error. */
int tproc_wait(struct tproc *p);
/* Send sig and wait: the exit status. */
int tproc_stop(struct tproc *p, int sig);
/* Poll the child's stdout file until a line containing needle appears (or the child exits /
 * TNET_TIMEOUT_S passes). Copies that line into line (cap bytes). 0 if found. */
int tproc_wait_line(const struct tproc *p, const char *needle, char *line, size_t cap);
/* Count lines of the child's stdout containing all of the given substrings (NULL-terminated). */
int tproc_count_lines(const struct tproc *p, const char *a, const char *b);
/* Read a whole file into a static-size caller buffer; returns length or -1. */
long tnet_read_file(const char *path, char *buf, size_t cap);
/* Remove the temp files. */
void tproc_cleanup(struct tproc *p);

/* Blocking TCP connection to 127.0.0.1:port with receive/send timeouts; -1 on error. */
int tnet_connect(int port);
/* The same with SO_RCVBUF set to rcvbuf before connecting (a client that reads slowly). */
int tnet_connect_rcvbuf(int port, int rcvbuf);
/* Local port of a connected socket. */
int tnet_local_port(int fd);
/* Send all bytes. 0 on success. */
int tnet_send(int fd, const void *buf, size_t len);
/* Receive until EOF, error, or cap bytes. Returns bytes read; *reset is set when it ended with
 * ECONNRESET, *timed_out when the safety timeout hit. */
size_t tnet_recv_all(int fd, uint8_t *buf, size_t cap, bool *reset, bool *timed_out);
/* Receive exactly len bytes; 0 on success. */
int tnet_recv_exact(int fd, void *buf, size_t len);
/* Receive one line (up to and including LF) into buf; returns its length or -1. */
long tnet_recv_line(int fd, char *buf, size_t cap);
/* The decimal number at the start of s (digits may be followed by anything); -1 if none. */
int tnet_int(const char *s);
/* A free loopback TCP port (bound then released). */
int tnet_free_port(void);

/* One HTTP response read from a connection. */
struct thttp_resp {
    int status;
    char head[4096];
    size_t body_len;
    long content_length; /* -1 if absent */
};
/* Read one response head and, unless head_only, its Content-Length body into body (cap bytes).
 * 0 on success. */
int thttp_read(int fd, struct thttp_resp *r, uint8_t *body, size_t cap, bool head_only);
/* Value of a header in r->head (case-insensitive name), copied into out; 0 if present. */
int thttp_header(const struct thttp_resp *r, const char *name, char *out, size_t cap);

#endif /* TNET_H */
