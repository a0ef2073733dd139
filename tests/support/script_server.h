/*
 * A scripted firmware server for tests (a thread on a loopback port): the tutorial's raw protocol,
 * the raw protocol with offsets (docs/protocol.md) or HTTP/1.1 with Range, plus faults: hang up
 * after N bytes (FIN or RST), stall, garbage. It records the offset each connection asked for and
 * the ACK bytes it read.
 */
#ifndef SCRIPT_SERVER_H
#define SCRIPT_SERVER_H

#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define MAX_CONNS 16

enum script_proto { SCRIPT_RAW = 0, SCRIPT_RAW_RESUME = 1, SCRIPT_HTTP = 2 };

struct script {
    int proto;             /* enum script_proto (same values as enum ota_proto) */
    const uint8_t *img;
    size_t len;
    uint32_t drop_after[MAX_CONNS]; /* connection i: hang up after this many body bytes */
    bool stall;            /* connection 0: send 3000 body bytes (6 writes), then nothing */
    bool stall_all;        /* later connections: nothing at all */
    bool garbage;          /* send bytes that are not an image */
    bool rst;              /* drops are TCP resets (unread data may be lost) instead of FIN */
    const char *etag;
    const char *answer;    /* raw with offsets: send this line instead of OK, then close */
    /* results */
    int conns;
    uint32_t offsets[MAX_CONNS];
    uint32_t acks;
    /* plumbing */
    int lfd;
    uint16_t port;
    pthread_t th;
    volatile int stop;
    volatile int busy;     /* between accept and the end of what it has to send, or a stall */
};

/* Listen on an ephemeral loopback port (s->port) and serve in a thread. */
void server_start(struct script *s);
/* Stop the thread and close the listener. */
void server_stop(struct script *s);
/* True while the server has something to do for the client: a connection not yet accepted, a
 * request being read, data being sent. False while it waits: for a connection, in a stall, for the
 * client's last ACKs and close. A test clock that stands still while this is true lets a client's
 * receive timeout expire only while the server really is silent, however the threads are
 * scheduled. */
bool server_busy(const struct script *s);
/* A loopback port nobody listens on, reserved until the returned descriptor is closed (bound, not
 * listening: every connection to it is refused), so no other process can take it meanwhile. */
int refusing_port(uint16_t *port);

#endif
