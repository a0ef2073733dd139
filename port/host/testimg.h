/*
 * Host test support: signed MCUboot images built in RAM with OpenSSL (independent of lib/crypto, so
 * a bug there cannot hide in both places), written to files for the servers' tests and benchmarks
 * (tests/e2e/servers/mkimage.c), and factory programming of the simulated flash.
 * Two fixed Ed25519 keys: TESTIMG_KEY_A (RFC 8032 test 1; tests define boot_pubkey as its public
 * key, TESTIMG_KEY_A_PUB) and TESTIMG_KEY_B (another key).
 */
#ifndef TESTIMG_H
#define TESTIMG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "image.h"

enum { TESTIMG_KEY_A = 0, TESTIMG_KEY_B = 1 };

#define TESTIMG_KEY_A_PUB                                                                          \
    {0xd7, 0x5a, 0x98, 0x01, 0x82, 0xb1, 0x0a, 0xb7, 0xd5, 0x4b, 0xfe, 0xd3, 0xc9, 0x64, 0x07, 0x3a,   \
     0x0e, 0xe1, 0x72, 0xf3, 0xda, 0xa6, 0x23, 0x25, 0xaf, 0x02, 0x1a, 0x68, 0xf7, 0x07, 0x51, 0x1a}

struct testimg_opts {
    uint32_t payload_size;
    uint32_t seed;        /* payload bytes after the vector table */
    struct image_version ver;
    uint16_t hdr_size;    /* 0: 32 */
    uint32_t flags;       /* ih_flags */
    bool prot_tlv;        /* add a protected SEC_CNT TLV */
    uint16_t prot_extra;  /* with prot_tlv: also a protected vendor TLV (0xA0) of this many bytes */
    bool no_hash;
    bool no_keyhash;
    bool no_sig;
    int keyhash_key;      /* whose KEYHASH goes in */
    int sign_key;         /* who signs */
    uint32_t sp;          /* 0: 0x20020000 */
    uint32_t reset;       /* 0: APP_ADDR + 0x101 (or +9 for tiny payloads) */
};

/* Default options: key A everywhere, version ver, payload of size bytes. */
struct testimg_opts testimg_defaults(uint32_t size, uint8_t major, uint8_t minor, uint16_t rev);

/* Length of the image testimg_build makes for o. */
size_t testimg_size(const struct testimg_opts *o);

/* Build an image into out (cap bytes). Returns its length, 0 on failure. */
size_t testimg_build(const struct testimg_opts *o, uint8_t *out, size_t cap);

/* The value of the SHA256 TLV of img (len bytes), found by walking its TLV areas: 0, or -1 if the
 * layout is broken or there is no such TLV. */
int testimg_sha256(const uint8_t *img, size_t len, uint8_t out[32]);

/* Write len bytes of buf to path (created or truncated): 0, or -1 on any error. */
int testimg_write_file(const char *path, const uint8_t *buf, size_t len);

/* Public key of key k. */
void testimg_pubkey(int k, uint8_t out[32]);

/* Erase staging (sectors 3-5) and place img at its start (no counting: like a finished download). */
void testimg_stage(const uint8_t *img, size_t len);

/* Factory-program the installed form of img (sector 2 header, payload, descriptor) using
 * bootctl_installed_layout. Returns 0 or a bootctl error. */
int testimg_factory_install(const uint8_t *img, size_t len);

#endif /* TESTIMG_H */
