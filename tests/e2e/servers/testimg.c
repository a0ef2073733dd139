/* Test image builder (see testimg.h). */
#include "testimg.h"

#include <openssl/evp.h>
#include <stdio.h>
#include <string.h>

static void put16(uint8_t *p, uint32_t v)
{
    p[0] = (uint8_t)v;
    p[1] = (uint8_t)(v >> 8);
}

static void put32(uint8_t *p, uint32_t v)
{
    put16(p, v);
    put16(p + 2, v >> 16);
}

#define PROT_LEN (4u + 4u + 4u) /* info + SEC_CNT header + 4-byte value */
#define TLV_LEN (4u + 4u + 32u) /* info + SHA256 header + digest */

size_t testimg_size(const struct testimg_opts *o)
{
    return (size_t)o->hdr_size + o->payload_size + (o->with_prot_tlv ? PROT_LEN : 0u) + TLV_LEN;
}

size_t testimg_build(const struct testimg_opts *o, uint8_t *out, size_t cap)
{
    size_t size = testimg_size(o);
    if (o->hdr_size < 32u || o->payload_size == 0u || size > cap) {
        return 0;
    }
    memset(out, 0, o->hdr_size);
    put32(out, 0x96f3b83du);
    put16(out + 8, o->hdr_size);
    put16(out + 10, o->with_prot_tlv ? PROT_LEN : 0u);
    put32(out + 12, o->payload_size);
    out[20] = 1;
    out[21] = 2;
    put16(out + 22, 3);
    put32(out + 24, o->seed);
    uint32_t x = o->seed * 2654435761u + 1u;
    for (uint32_t i = 0; i < o->payload_size; i++) {
        x ^= x << 13;
        x ^= x >> 17;
        x ^= x << 5;
        out[o->hdr_size + i] = (uint8_t)(x >> 24);
    }
    size_t p = (size_t)o->hdr_size + o->payload_size;
    if (o->with_prot_tlv) {
        put16(out + p, 0x6908u);
        put16(out + p + 2, PROT_LEN);
        put16(out + p + 4, 0x50u);
        put16(out + p + 6, 4u);
        put32(out + p + 8, 7u);
        p += PROT_LEN;
    }
    put16(out + p, 0x6907u);
    put16(out + p + 2, TLV_LEN);
    put16(out + p + 4, 0x10u);
    put16(out + p + 6, 32u);
    unsigned int dlen = 0;
    if (EVP_Digest(out, p, out + p + 8, &dlen, EVP_sha256(), NULL) != 1 || dlen != 32u) {
        return 0;
    }
    return size;
}

int testimg_write_file(const char *path, const uint8_t *buf, size_t len)
{
    FILE *f = fopen(path, "wb");
    if (f == NULL) {
        return -1;
    }
    size_t n = fwrite(buf, 1, len, f);
    int rc = fclose(f);
    return (n == len && rc == 0) ? 0 : -1;
}
