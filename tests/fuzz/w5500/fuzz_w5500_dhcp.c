/*
 * libFuzzer harness for the DHCP reply parser. Odd first byte: the rest of the input is the whole
 * message (any header). Even first byte: a valid BOOTREPLY header for our xid/chaddr is prepended
 * and the rest of the input is the options area, so the fuzzer spends its time in the option
 * walker. On success the parsed fields must obey what the parser promises.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "w5500_dhcp.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define XID 0x0A0B0C0Du

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static const uint8_t mac[6] = {0x02, 0x11, 0x22, 0x33, 0x44, 0x55};
    if (size == 0) {
        return 0;
    }
    bool raw = (data[0] & 1u) != 0;
    data++;
    size--;
    size_t len = raw ? size : W5500_DHCP_MIN_LEN + size;
    /* Exact-size heap copy so ASan sees any read past the end. */
    uint8_t *buf = malloc(len ? len : 1);
    if (buf == NULL) {
        return 0;
    }
    if (raw) {
        memcpy(buf, data, size);
    } else {
        memset(buf, 0, W5500_DHCP_MIN_LEN);
        buf[0] = 2;
        buf[1] = 1;
        buf[2] = 6;
        buf[4] = (uint8_t)(XID >> 24);
        buf[5] = (uint8_t)(XID >> 16);
        buf[6] = (uint8_t)(XID >> 8);
        buf[7] = (uint8_t)XID;
        buf[16] = 192;
        buf[17] = 168;
        buf[18] = 1;
        buf[19] = 100;
        memcpy(&buf[28], mac, 6);
        buf[236] = 99;
        buf[237] = 130;
        buf[238] = 83;
        buf[239] = 99;
        memcpy(&buf[W5500_DHCP_MIN_LEN], data, size);
    }
    struct w5500_dhcp_msg m;
    int rc = w5500_dhcp_parse(buf, len, XID, mac, &m);
    if (rc == W5500_OK) {
        if (m.type != W5500_DHCP_OFFER && m.type != W5500_DHCP_ACK && m.type != W5500_DHCP_NAK) {
            abort();
        }
        if (!m.has_server_id) {
            abort();
        }
        if (m.type != W5500_DHCP_NAK && (m.yiaddr[0] == 0 || m.yiaddr[0] == 127 || m.yiaddr[0] >= 224)) {
            abort();
        }
        if ((m.has_lease && m.lease_s == 0) || (m.has_t1 && m.t1_s == 0) || (m.has_t2 && m.t2_s == 0)) {
            abort();
        }
    } else if (rc != W5500_ERR_MALFORMED && rc != W5500_ERR_MISMATCH) {
        abort();
    }
    free(buf);
    return 0;
}
