/*
 * struct ota_net over host sockets on the loopback interface, for tests of the OTA client without
 * the W5500: every destination address is mapped to 127.0.0.1 (the port is kept), names resolve
 * through a small table, and the link/address step can be made to fail.
 */
#ifndef SOCK_NET_H
#define SOCK_NET_H

#include <stdbool.h>
#include <stdint.h>

#include "ota_client.h"

struct sock_net {
    int fd;
    bool connected;
    bool shut;
    bool net_down;       /* ready_poll fails */
    bool net_pending;    /* ready_poll never finishes (no link, no DHCP answer) */
    bool resolve_hang;   /* resolve_poll never finishes (DNS server silent) */
    const char *name;    /* the one name that resolves */
    uint8_t name_ip[4];
    bool resolving;
    bool resolve_ok;
    uint32_t connects;   /* connect() calls */
    /* The client's clock (millis): real time, except that it stands still while hold(hold_arg)
     * is true (e.g. while the test's server thread still has something to send). */
    bool (*hold)(const void *hold_arg);
    const void *hold_arg;
    bool held;           /* hold() at the last millis() */
    uint64_t last_ms;    /* real time at the last millis() */
    uint64_t clock_ms;   /* the client's time */
};

/* Fill net with the adapter's functions bound to s. */
void sock_net_init(struct sock_net *s, struct ota_net *net);
/* Close the socket if open (end of a test). */
void sock_net_close_all(struct sock_net *s);

#endif
