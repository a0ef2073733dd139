/*
 * Host throughput of the crypto library: SHA-256, SHA-512 and CRC-32 in MB/s, Ed25519
 * verifications per second, each beside OpenSSL's figure on the same machine for scale.
 * OTA_BENCH_LONG=1 runs ten times longer. Prints one "name: value unit" line per figure.
 */
#define _POSIX_C_SOURCE 199309L /* clock_gettime under -std=c11 */

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <openssl/evp.h>

#include "crc32.h"
#include "ed25519.h"
#include "sha256.h"
#include "sha512.h"

#define BUF_SIZE (1u << 20)

static uint8_t buf[BUF_SIZE];
static volatile uint32_t sink; /* keeps results alive so the work is not optimised away */

static double now_s(void)
{
    struct timespec t;
    if (clock_gettime(CLOCK_MONOTONIC, &t) != 0) {
        perror("clock_gettime");
        exit(1);
    }
    return (double)t.tv_sec + (double)t.tv_nsec / 1e9;
}

static int hexval(char c)
{
    return c <= '9' ? c - '0' : c - 'a' + 10;
}

static void unhex(const char *h, uint8_t *out, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        out[i] = (uint8_t)(hexval(h[2 * i]) << 4 | hexval(h[2 * i + 1]));
    }
}

static double mbps(size_t bytes, double secs)
{
    return (double)bytes / secs / 1e6;
}

int main(void)
{
    const char *long_env = getenv("OTA_BENCH_LONG");
    unsigned scale = (long_env != NULL && long_env[0] == '1') ? 10u : 1u;
    unsigned passes = 64u * scale; /* 64 MiB per hash */
    uint8_t d[SHA512_DIGEST_SIZE];
    unsigned int dlen;
    double t0;
    double t;

    for (size_t i = 0; i < sizeof buf; i++) {
        buf[i] = (uint8_t)(i * 131u + 7u);
    }

    t0 = now_s();
    struct sha256_ctx c256;
    sha256_init(&c256);
    for (unsigned i = 0; i < passes; i++) {
        sha256_update(&c256, buf, sizeof buf);
    }
    sha256_final(&c256, d);
    t = now_s() - t0;
    sink ^= d[0];
    printf("sha256: %.1f MB/s\n", mbps((size_t)passes * sizeof buf, t));

    t0 = now_s();
    for (unsigned i = 0; i < passes; i++) {
        if (EVP_Digest(buf, sizeof buf, d, &dlen, EVP_sha256(), NULL) != 1) {
            return 1;
        }
    }
    t = now_s() - t0;
    printf("sha256_openssl: %.1f MB/s\n", mbps((size_t)passes * sizeof buf, t));

    t0 = now_s();
    struct sha512_ctx c512;
    sha512_init(&c512);
    for (unsigned i = 0; i < passes; i++) {
        sha512_update(&c512, buf, sizeof buf);
    }
    sha512_final(&c512, d);
    t = now_s() - t0;
    sink ^= d[0];
    printf("sha512: %.1f MB/s\n", mbps((size_t)passes * sizeof buf, t));

    t0 = now_s();
    for (unsigned i = 0; i < passes; i++) {
        if (EVP_Digest(buf, sizeof buf, d, &dlen, EVP_sha512(), NULL) != 1) {
            return 1;
        }
    }
    t = now_s() - t0;
    printf("sha512_openssl: %.1f MB/s\n", mbps((size_t)passes * sizeof buf, t));

    t0 = now_s();
    uint32_t crc = 0;
    for (unsigned i = 0; i < passes / 4; i++) {
        crc = crc32_update(crc, buf, sizeof buf);
    }
    t = now_s() - t0;
    sink ^= crc;
    printf("crc32: %.1f MB/s\n", mbps((size_t)(passes / 4) * sizeof buf, t));

    /* RFC 8032 7.1 TEST 3 (2-byte message). */
    uint8_t pub[32];
    uint8_t sig[64];
    const uint8_t msg[2] = {0xaf, 0x82};
    unhex("fc51cd8e6218a1a38da47ed00230f0580816ed13ba3303ac5deb911548908025", pub, 32);
    unhex("6291d657deec24024827e69c3abe01a30ce548a284743a445e3680d7db5ac3ac18ff9b538d16f290ae67f760"
          "984dc6594a7c15e9716ed28dc027beceea1ec40a",
          sig, 64);
    unsigned nverify = 2000u * scale;
    t0 = now_s();
    for (unsigned i = 0; i < nverify; i++) {
        if (ed25519_verify(sig, msg, sizeof msg, pub) != ED25519_OK) {
            fprintf(stderr, "bench: RFC 8032 TEST 3 did not verify\n");
            return 1;
        }
    }
    t = now_s() - t0;
    printf("ed25519_verify: %.0f verify/s (%.1f us each)\n", nverify / t, t / nverify * 1e6);

    EVP_PKEY *k = EVP_PKEY_new_raw_public_key(EVP_PKEY_ED25519, NULL, pub, 32);
    EVP_MD_CTX *mc = EVP_MD_CTX_new();
    if (k == NULL || mc == NULL) {
        return 1;
    }
    t0 = now_s();
    for (unsigned i = 0; i < nverify; i++) {
        if (EVP_DigestVerifyInit(mc, NULL, NULL, NULL, k) != 1 ||
            EVP_DigestVerify(mc, sig, 64, msg, sizeof msg) != 1) {
            return 1;
        }
    }
    t = now_s() - t0;
    printf("ed25519_verify_openssl: %.0f verify/s (%.1f us each)\n", nverify / t,
           t / nverify * 1e6);
    EVP_MD_CTX_free(mc);
    EVP_PKEY_free(k);
    return 0;
}
