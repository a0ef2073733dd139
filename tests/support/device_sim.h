/*
 * The device's network side on the host, for end-to-end tests of the OTA client: the W5500 model
 * on the real clock, the W5500 driver on its pins through an SPI shim, ota_net_w5500 on top, the
 * simulated flash with version 1 factory-installed. LAN: 192.168.1.0/24 with DHCP and DNS at .1;
 * the server is 192.168.1.2 (name fw.example.lan), mapped to loopback ports.
 */
#ifndef DEVICE_SIM_H
#define DEVICE_SIM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "ota_client.h"
#include "ota_net_w5500.h"
#include "w5500.h"
#include "w5500_model.h"

#define DEVICE_SERVER_NAME "fw.example.lan"
#define DEVICE_SERVER_IP "192.168.1.2"

struct device_sim {
    struct w5500_model *model;
    uint64_t t0_us;
    struct w5500_port port;
    struct w5500_dev dev;
    struct ota_net_w5500 nw;
    struct ota_net net;
    struct ota_client client;
};

/* Flash: version `v1_major`.0.0 factory-installed (payload v1_size bytes). */
void device_flash_factory(uint8_t v1_major, uint32_t v1_size);

/* Model + driver + adapter; dhcp or static 192.168.1.50. Returns 0. */
int device_up(struct device_sim *d, bool dhcp);
/* Map 192.168.1.2:lan_port to 127.0.0.1:host_port. */
int device_map(struct device_sim *d, uint16_t lan_port, uint16_t host_port);
/* Close every socket check and free the model; returns how many sockets were left open. */
int device_down(struct device_sim *d);

/* Default client configuration for the tests (key A of port/host/testimg). */
struct ota_client_config device_client_config(const char *host, uint16_t port, int proto);

/* Run an update to its end; `each` (optional) sees the staged byte count after every poll and may
 * inject faults. Returns the client's final status. */
int device_run_update(struct device_sim *d, const struct ota_client_config *cfg,
                      void (*each)(struct device_sim *d, uint32_t staged), uint64_t max_ms);

#endif
