/*
 * Test images in MCUboot layout for the server tests and benchmarks: header, seeded pseudo-random
 * payload, optional protected TLV area (SEC_CNT), unprotected TLV area with a correct SHA256 TLV.
 * Not signed: the servers only check the layout and the hash.
 */
#ifndef TESTIMG_H
#define TESTIMG_H

#include <stddef.h>
#include <stdint.h>

struct testimg_opts {
    uint32_t payload_size;
    uint16_t hdr_size;    /* >= 32 */
    uint32_t seed;
    int with_prot_tlv;    /* add a protected SEC_CNT TLV */
};

/* Size of the image testimg_build() makes for opts. */
size_t testimg_size(const struct testimg_opts *opts);

/* Build the image into out (cap bytes). Returns its size, 0 if cap is too small or opts bad. */
size_t testimg_build(const struct testimg_opts *opts, uint8_t *out, size_t cap);

/* Write buf to path. 0 on success, -1 on error. */
int testimg_write_file(const char *path, const uint8_t *buf, size_t len);

#endif /* TESTIMG_H */
