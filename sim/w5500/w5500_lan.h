/*
 * The virtual LAN's built-in services: a DHCP server and a DNS responder. Both turn one request
 * datagram (UDP payload) into at most one reply datagram; they never touch host sockets.
 * Internal to the W5500 model.
 */
#ifndef W5500_LAN_H
#define W5500_LAN_H

#include <stddef.h>
#include <stdint.h>

#include "w5500_model.h"

#define W5500_LAN_DHCP_LEASES 16
#define W5500_LAN_DNS_RECORDS 32
#define W5500_LAN_DNS_NAME_MAX 253
/* BOOTP minimum message; replies are padded to it. */
#define W5500_LAN_DHCP_MIN_LEN 300
#define W5500_LAN_REPLY_MAX 576

enum w5500_lease_state { LEASE_FREE = 0, LEASE_OFFERED, LEASE_BOUND, LEASE_DECLINED };

struct w5500_dhcp_lease {
    uint8_t mac[6];
    uint32_t ip;
    enum w5500_lease_state state;
};

struct w5500_dhcp_server {
    uint32_t server_ip;
    uint32_t pool_first;
    uint32_t lease_s;
    uint32_t mask;
    uint32_t router;
    uint32_t dns;
    struct w5500_dhcp_lease leases[W5500_LAN_DHCP_LEASES];
    enum w5500_model_dhcp_fault fault;
    uint32_t fault_count;
};

struct w5500_dns_record {
    char name[W5500_LAN_DNS_NAME_MAX + 1];
    uint32_t ip;
};

struct w5500_dns_server {
    struct w5500_dns_record rec[W5500_LAN_DNS_RECORDS];
    size_t count;
    enum w5500_model_dns_fault fault;
    uint32_t fault_count;
};

/* Handle one DHCP message from a client; returns the reply length written to out (0 = no reply). */
size_t w5500_dhcp_serve(struct w5500_dhcp_server *s, const uint8_t *msg, size_t len, uint8_t *out,
                        size_t cap);

/* Add an A record; W5500_MODEL_OK, EARG (bad name), EFULL. */
int w5500_dns_add(struct w5500_dns_server *s, const char *name, uint32_t ip);

/* Handle one DNS query; returns the reply length written to out (0 = no reply). */
size_t w5500_dns_serve(struct w5500_dns_server *s, const uint8_t *q, size_t len, uint8_t *out,
                       size_t cap);

#endif /* W5500_LAN_H */
