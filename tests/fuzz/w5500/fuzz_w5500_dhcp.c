/*
 * libFuzzer harness for the DHCP reply parser. The first 4 bytes of the input choose the xid so
 * the fuzzer can reach the option walker; chaddr is fixed. On success the parsed fields must obey
 * what the parser promises.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "w5500_dhcp.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static const uint8_t mac[6] = {0x02, 0x11, 0x22, 0x33, 0x44, 0x55};
    uint32_t xid = 0;
    if (size >= 8) {
        xid = ((uint32_t)data[4] << 24) | ((uint32_t)data[5] << 16) | ((uint32_t)data[6] << 8) |
              data[7];
    }
    /* Copy so ASan sees reads past the end exactly at the given length. */
    uint8_t *buf = malloc(size ? size : 1);
    if (buf == NULL) {
        return 0;
    }
    memcpy(buf, data, size);
    struct w5500_dhcp_msg m;
    int rc = w5500_dhcp_parse(buf, size, xid, mac, &m);
    if (rc == W5500_OK) {
        if (m.type != W5500_DHCP_OFFER && m.type != W5500_DHCP_ACK && m.type != W5500_DHCP_NAK) {
            abort();
        }
        if (!m.has_server_id) {
            abort();
        }
        if (m.type != W5500_DHCP_NAK && (m.yiaddr[0] == 0 || m.yiaddr[0] >= 224)) {
            abort();
        }
        if (m.has_lease && m.lease_s == 0) {
            abort();
        }
    } else if (rc != W5500_ERR_MALFORMED && rc != W5500_ERR_MISMATCH) {
        abort();
    }
    free(buf);
    return 0;
}
