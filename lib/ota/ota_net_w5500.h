/*
 * struct ota_net on the W5500 driver: bring-up and link, DHCP or a static address, DNS, and one TCP
 * client socket. The firmware fills the configuration and owns the struct (static storage).
 */
#ifndef OTA_NET_W5500_H
#define OTA_NET_W5500_H

#include <stdbool.h>
#include <stdint.h>

#include "ota_client.h"
#include "w5500.h"
#include "w5500_dhcp.h"
#include "w5500_dns.h"

struct ota_net_w5500_config {
    bool use_dhcp;
    struct w5500_netcfg static_net; /* when !use_dhcp */
    uint8_t dns_server[4];          /* static DNS server; DHCP's wins when it names one */
    uint8_t tcp_sn;                 /* socket for the download */
    uint8_t dhcp_sn;                /* socket for DHCP (UDP 68) */
    uint8_t dns_sn;                 /* socket for DNS queries */
    uint16_t first_local_port;      /* TCP source ports count up from here */
    uint32_t seed;                  /* DHCP xid / DNS id seed: differs per boot and device */
    /* DHCP: bind the acknowledged address without first probing it with ARP (RFC 2131 4.4.1
     * says SHOULD probe). Saves the probe's ARP timeout (1.8 s with the W5500's defaults) per
     * lease; the cost is that an address already in use is not detected (DECLINE) before use. */
    bool dhcp_skip_conflict_probe;
    /* ARP requests of that probe, RTR (200 ms) apart; 0: the chip's RCR + 1 (9, 1.8 s). */
    uint8_t dhcp_probe_arps;
};

struct ota_net_w5500 {
    struct w5500_dev *dev;
    struct ota_net_w5500_config cfg;
    struct w5500_dhcp dhcp;
    struct w5500_dns dns;
    bool addressed;
    bool disconnecting;
    bool bringup_failed; /* the next ready_poll is a new attempt: bring-up restarts */
    uint16_t next_port;
    uint16_t dns_id;
    int last_status; /* the driver's last non-OK status, for logs (w5500_status_str) */
};

/* Bind: dev must be initialised with w5500_init; bring-up happens in ready_poll. */
int ota_net_w5500_init(struct ota_net_w5500 *w, struct w5500_dev *dev,
                       const struct ota_net_w5500_config *cfg, struct ota_net *net);

/* Keep the DHCP lease alive; call from the main loop while the network is in use. */
int ota_net_w5500_poll(struct ota_net_w5500 *w);

#endif /* OTA_NET_W5500_H */
