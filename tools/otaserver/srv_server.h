/*
 * The otaserver event loop: one thread, one epoll set, the raw TCP and HTTP listeners, a fixed pool
 * of connections allocated once at start-up, and a deadline heap for idle, slow-client, pacing and
 * linger timers. Every connection sends from the one image file (sendfile); nothing per client
 * grows with the image size.
 */
#ifndef SRV_SERVER_H
#define SRV_SERVER_H

#include <stdint.h>

#include "srv_log.h"

struct srv_config {
    const char *image_path;
    const char *bind_addr;       /* numeric IPv4 or IPv6 address */
    int raw_port;                /* 0: the kernel picks one (printed in the "listening" event) */
    int http_port;
    uint32_t chunk_size;         /* 0: no pacing; otherwise bytes per paced write */
    uint32_t chunk_delay_ms;     /* pause after every chunk_size bytes of a body */
    unsigned max_clients;
    unsigned idle_timeout_s;
    enum srv_log_mode log_mode;
};

enum srv_err {
    SRV_OK = 0,
    SRV_ERR_IMAGE = 2,    /* the image file was refused */
    SRV_ERR_LISTEN = 3,   /* cannot bind or listen */
    SRV_ERR_SYSTEM = 4    /* epoll, signalfd, memory, rlimit */
};

/* Run until SIGINT or SIGTERM. Returns SRV_OK after a clean shutdown, or an srv_err. */
int srv_run(const struct srv_config *cfg);

#endif /* SRV_SERVER_H */
