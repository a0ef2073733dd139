/*
 * A model of the WIZnet W5500, reached only through the chip's pins: SCSn, SCLK/MOSI/MISO (one
 * byte exchanged at a time), RSTn and INTn. Written from the datasheet (../shared/reference/
 * w5500.md), not from any driver's headers, so any W5500 driver can run against it unchanged.
 *
 * Its network side is a virtual LAN: a built-in DHCP server and DNS responder, and TCP/UDP
 * destinations bridged to host sockets on the loopback interface only, through an explicit map.
 * Unmapped destinations behave like unreachable hosts (ARP/TCP timeout per RTR/RCR).
 *
 * Time is given by the caller (w5500_model_advance), so the model runs on virtual time in the
 * virtual board and on a fake or real clock in host tests.
 * (Interface proposed by the integrator; the model's owner may extend it.)
 */
#ifndef W5500_MODEL_H
#define W5500_MODEL_H

#include <stdbool.h>
#include <stdint.h>

struct w5500_model;

struct w5500_model_config {
    bool link_up;           /* PHY link at power-up */
    uint32_t lan_net;       /* e.g. 192.168.1.0, host order */
    uint32_t lan_mask;      /* e.g. 255.255.255.0 */
    uint32_t gateway_ip;    /* e.g. 192.168.1.1 */
    bool dhcp_server;       /* answer DHCP on the virtual LAN */
    uint32_t dhcp_server_ip;
    uint32_t dhcp_pool_first; /* first address leased */
    uint32_t dhcp_lease_s;
    uint32_t dns_server_ip; /* 0: no DNS responder */
};

/* Sensible defaults: link up, 192.168.1.0/24, gateway/DHCP/DNS at .1, pool from .100, 1 h lease. */
void w5500_model_config_default(struct w5500_model_config *cfg);

struct w5500_model *w5500_model_new(const struct w5500_model_config *cfg);
void w5500_model_free(struct w5500_model *m);

/* Bridge: TCP connections to lan_ip:lan_port go to 127.0.0.1:host_port. 0 or -1. */
int w5500_model_map_tcp(struct w5500_model *m, uint32_t lan_ip, uint16_t lan_port,
                        uint16_t host_port);
/* Bridge: UDP datagrams to lan_ip:lan_port go to 127.0.0.1:host_port. */
int w5500_model_map_udp(struct w5500_model *m, uint32_t lan_ip, uint16_t lan_port,
                        uint16_t host_port);
/* DNS responder: name -> address (A record). */
int w5500_model_dns_add(struct w5500_model *m, const char *name, uint32_t ip);

/* Pins. Levels are electrical: true = high. SCSn low selects the chip. */
void w5500_model_set_scsn(struct w5500_model *m, bool level);
uint8_t w5500_model_spi_byte(struct w5500_model *m, uint8_t mosi);
void w5500_model_set_rstn(struct w5500_model *m, bool level);
bool w5500_model_intn(const struct w5500_model *m);

/* Move model time forward to now_us and do network work that is due (poll host sockets, timers). */
void w5500_model_advance(struct w5500_model *m, uint64_t now_us);

/* Link and fault injection for tests. */
void w5500_model_set_link(struct w5500_model *m, bool up);

struct w5500_model_stats {
    uint64_t spi_bytes;   /* bytes clocked while selected */
    uint64_t spi_frames;  /* SCSn low..high frames */
    uint64_t rx_payload;  /* bytes the host read out of RX buffers */
    uint64_t tx_payload;  /* bytes the host wrote into TX buffers and sent */
};
void w5500_model_get_stats(const struct w5500_model *m, struct w5500_model_stats *st);

#endif /* W5500_MODEL_H */
