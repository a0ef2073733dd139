/*
 * libFuzzer harness for the W5500 model: arbitrary pin/byte sequences into the SPI decoder and
 * socket state machines, and arbitrary datagrams into the DHCP and DNS responders.
 * No address is mapped to a host socket, so a run makes no system calls on the network.
 */
#include <stddef.h>
#include <stdint.h>

#include "w5500_lan.h"
#include "w5500_model.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* One VDM read frame through the pins. */
static void read_frame(struct w5500_model *m, uint8_t bsb, uint16_t addr, uint8_t *out, size_t n)
{
    w5500_model_set_scsn(m, false);
    (void)w5500_model_spi_byte(m, (uint8_t)(addr >> 8));
    (void)w5500_model_spi_byte(m, (uint8_t)addr);
    (void)w5500_model_spi_byte(m, (uint8_t)(bsb << 3));
    for (size_t i = 0; i < n; i++) {
        out[i] = w5500_model_spi_byte(m, 0);
    }
    w5500_model_set_scsn(m, true);
}

/* Invariants seen from the pins: VERSIONR is 0x04, RSR and FSR never exceed the buffer sizes. */
static void check_invariants(struct w5500_model *m)
{
    w5500_model_set_scsn(m, true);
    if (!w5500_model_ready(m)) {
        return;
    }
    uint8_t v = 0;
    read_frame(m, 0, 0x0039, &v, 1);
    if (v != 0x04) {
        __builtin_trap();
    }
    for (uint8_t n = 0; n < 8; n++) {
        uint8_t r[0x30];
        read_frame(m, (uint8_t)(4u * n + 1u), 0, r, sizeof(r));
        uint32_t rx_max = (uint32_t)r[0x1E] * 1024u;
        uint32_t tx_max = (uint32_t)r[0x1F] * 1024u;
        uint32_t fsr = ((uint32_t)r[0x20] << 8) | r[0x21];
        uint32_t rsr = ((uint32_t)r[0x26] << 8) | r[0x27];
        if (rsr > rx_max || fsr > tx_max || r[0x01] != 0) {
            __builtin_trap();
        }
    }
}

static void fuzz_services(const uint8_t *data, size_t size)
{
    static struct w5500_dhcp_server dhcp;
    static struct w5500_dns_server dns;
    static uint8_t out[W5500_LAN_REPLY_MAX];
    if (dns.count == 0) {
        (void)w5500_dns_add(&dns, "ota.example.com", 0xC0A80132u);
        dhcp.server_ip = 0xC0A80101u;
        dhcp.pool_first = 0xC0A80164u;
        dhcp.mask = 0xFFFFFF00u;
        dhcp.lease_s = 60;
    }
    size_t n = (data[0] & 1) ? w5500_dns_serve(&dns, data + 1, size - 1, out, sizeof(out))
                             : w5500_dhcp_serve(&dhcp, data + 1, size - 1, out, sizeof(out));
    if (n > sizeof(out)) {
        __builtin_trap();
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size == 0) {
        return 0;
    }
    if (data[0] >= 0xF0) {
        fuzz_services(data, size);
        return 0;
    }
    struct w5500_model_config cfg;
    w5500_model_config_default(&cfg);
    struct w5500_model *m = w5500_model_new(&cfg);
    if (m == NULL) {
        return 0;
    }
    (void)w5500_model_dns_add(m, "ota.example.com", 0xC0A80132u);
    uint64_t now = 1000;
    bool rst = true;
    bool link = true;
    w5500_model_advance(m, now);
    size_t i = 0;
    while (i < size) {
        uint8_t op = data[i++];
        switch (op & 7u) {
        case 0:
            w5500_model_set_scsn(m, false);
            break;
        case 1:
            w5500_model_set_scsn(m, true);
            break;
        case 2: /* a whole VDM frame: addr hi, addr lo, control, len, data */
            if (size - i >= 4) {
                size_t len = data[i + 3];
                w5500_model_set_scsn(m, false);
                for (size_t k = 0; k < 3; k++) {
                    (void)w5500_model_spi_byte(m, data[i + k]);
                }
                i += 4;
                for (size_t k = 0; k < len && i < size; k++) {
                    (void)w5500_model_spi_byte(m, data[i++]);
                }
                w5500_model_set_scsn(m, true);
            }
            break;
        case 3: /* loose bytes, selected or not */
            for (size_t k = 0; k < (op >> 3) && i < size; k++) {
                (void)w5500_model_spi_byte(m, data[i++]);
            }
            break;
        case 4: /* time: up to 65535 x 2^(op>>3 & 7) us */
            if (size - i >= 2) {
                uint64_t dt = ((uint64_t)data[i] << 8) | data[i + 1];
                now += dt << ((op >> 3) & 7u);
                i += 2;
                w5500_model_advance(m, now);
            }
            break;
        case 5:
            rst = !rst;
            w5500_model_set_rstn(m, rst);
            break;
        case 6:
            link = !link;
            w5500_model_set_link(m, link);
            break;
        default:
            switch (op >> 3) {
            case 0:
                (void)w5500_model_fault_tcp_reset(m, -1);
                break;
            case 1:
                w5500_model_fault_stall(m, (op & 0x40) != 0);
                break;
            case 2:
                w5500_model_fault_rate_limit(m, op);
                break;
            case 3:
                w5500_model_fault_udp_truncate(m, op, 2);
                break;
            case 4:
                w5500_model_fault_dhcp(m, (enum w5500_model_dhcp_fault)(op % 5u), 1);
                break;
            case 5:
                w5500_model_fault_dns(m, (enum w5500_model_dns_fault)(op % 5u), 1);
                break;
            case 6:
                if (w5500_model_fault_tcp_reset_after(m, -1, op) != W5500_MODEL_OK) {
                    __builtin_trap(); /* -1 is always a valid socket selector */
                }
                break;
            default:
                (void)w5500_model_intn(m);
                break;
            }
            break;
        }
    }
    struct w5500_model_stats st;
    w5500_model_get_stats(m, &st);
    if (st.spi_bytes > size) {
        __builtin_trap(); /* never more bytes clocked than the input supplied */
    }
    check_invariants(m);
    w5500_model_free(m);
    return 0;
}
