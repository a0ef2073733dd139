/* Helpers shared by the crypto tests: a reproducible PRNG and hex decoding. */
#ifndef CRYPTO_TEST_SUPPORT_H
#define CRYPTO_TEST_SUPPORT_H

#include <stddef.h>
#include <stdint.h>

/* xorshift64*: deterministic, so a failing case can be replayed from its seed. */
static inline uint64_t test_rand(uint64_t *s)
{
    uint64_t x = *s;
    x ^= x >> 12;
    x ^= x << 25;
    x ^= x >> 27;
    *s = x;
    return x * 0x2545F4914F6CDD1Du;
}

static inline void test_rand_fill(uint64_t *s, uint8_t *p, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        p[i] = (uint8_t)(test_rand(s) >> 56);
    }
}

static inline int test_hexval(char c)
{
    if (c >= '0' && c <= '9') {
        return c - '0';
    }
    if (c >= 'a' && c <= 'f') {
        return c - 'a' + 10;
    }
    if (c >= 'A' && c <= 'F') {
        return c - 'A' + 10;
    }
    return -1;
}

/* Decodes hex (whitespace ignored) into out; returns the byte count or -1 on bad/odd input. */
static inline long test_unhex(const char *hex, uint8_t *out, size_t cap)
{
    size_t n = 0;
    int hi = -1;
    for (const char *p = hex; *p != '\0'; p++) {
        if (*p == ' ' || *p == '\n') {
            continue;
        }
        int v = test_hexval(*p);
        if (v < 0) {
            return -1;
        }
        if (hi < 0) {
            hi = v;
        } else {
            if (n >= cap) {
                return -1;
            }
            out[n++] = (uint8_t)((hi << 4) | v);
            hi = -1;
        }
    }
    return hi < 0 ? (long)n : -1;
}

#endif
