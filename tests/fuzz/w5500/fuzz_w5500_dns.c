/*
 * libFuzzer harness for the DNS reply parser. Odd first byte: the rest of the input is the whole
 * reply. Even first byte: a valid header (our id, QR, rcode 0, QDCOUNT 1, ANCOUNT from the second
 * byte) and our question are prepended, and the rest of the input is the answer section, so the
 * fuzzer spends its time in name decompression and the CNAME walk. Any status outside the
 * documented set, or an out-of-bounds read (ASan), is a failure.
 */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "w5500_dns.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define QID 0x1234u
static const char NAME[] = "ota.example.com";

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 2) {
        return 0;
    }
    bool raw = (data[0] & 1u) != 0;
    uint8_t ancount = data[1];
    data += 2;
    size -= 2;
    uint8_t head[12 + W5500_DNS_WIRE_MAX + 4];
    size_t hl = 0;
    if (!raw) {
        uint8_t h[12] = {QID >> 8, QID & 0xFF, 0x81, 0x80, 0, 1, 0, ancount, 0, 0, 0, 0};
        memcpy(head, h, sizeof h);
        hl = sizeof h;
        int wl = w5500_dns_name_to_wire(NAME, &head[hl]);
        if (wl <= 0) {
            abort();
        }
        hl += (size_t)wl;
        const uint8_t q[4] = {0, 1, 0, 1};
        memcpy(&head[hl], q, 4);
        hl += 4;
    }
    size_t len = hl + size;
    uint8_t *buf = malloc(len ? len : 1);
    if (buf == NULL) {
        return 0;
    }
    memcpy(buf, head, hl);
    memcpy(buf + hl, data, size);
    uint8_t ip[4] = {0};
    uint32_t ttl = 0;
    int rc = w5500_dns_parse_response(buf, len, QID, NAME, ip, &ttl);
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
