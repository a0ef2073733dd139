/*
 * Loopback sockets for host tests and benchmarks: every peer, server and refusing port a test
 * sets up lives on 127.0.0.1 on a port the kernel picks, so tests running in parallel never
 * collide on a fixed port. Plain C (no cmocka): callers check the result in their own way.
 */
#ifndef LOOPBACK_H
#define LOOPBACK_H

#include <netinet/in.h>
#include <stdint.h>

/* Backlog for loopback_bind: bound but not listening (a connect to it is refused). */
#define LOOPBACK_NO_LISTEN (-1)

/* The address 127.0.0.1:port. */
struct sockaddr_in loopback_addr(uint16_t port);

/* A close-on-exec socket of `type` (SOCK_STREAM or SOCK_DGRAM) bound to 127.0.0.1 on a port the
 * kernel picks, listening with `backlog` unless it is LOOPBACK_NO_LISTEN. Returns the descriptor
 * and its port in *port, or -1 with nothing left open. */
int loopback_bind(int type, int backlog, uint16_t *port);

/* A loopback TCP port that was free when asked (bound, then released): another process may take
 * it before the caller binds it, so callers retry with another. 0 on error. */
uint16_t loopback_free_port(void);

#endif
