/*
 * libFuzzer harness for the DNS reply parser. The query name is fixed; the id is taken from the
 * input so the fuzzer can get past the id check. Any status outside the documented set, or an
 * out-of-bounds read (ASan), is a failure.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "w5500_dns.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    uint16_t id = size >= 2 ? (uint16_t)((data[0] << 8) | data[1]) : 0;
    uint8_t *buf = malloc(size ? size : 1);
    if (buf == NULL) {
        return 0;
    }
    memcpy(buf, data, size);
    uint8_t ip[4] = {0};
    uint32_t ttl = 0;
    int rc = w5500_dns_parse_response(buf, size, id, "ota.example.com", ip, &ttl);
    switch (rc) {
    case W5500_OK:
        if ((ip[0] | ip[1] | ip[2] | ip[3]) == 0 || (ip[0] & ip[1] & ip[2] & ip[3]) == 0xFF) {
            abort();
        }
        break;
    case W5500_ERR_MALFORMED:
    case W5500_ERR_MISMATCH:
    case W5500_ERR_NXDOMAIN:
    case W5500_ERR_SERVFAIL:
    case W5500_ERR_NO_ANSWER:
    case W5500_ERR_DNS_TRUNC:
        break;
    default:
        abort();
    }
    free(buf);
    return 0;
}
