/*
 * SHA-512 (FIPS 180-4, section 6.4), needed by Ed25519 (RFC 8032 hashes R || A || M with it).
 * Same shape as sha256.c: a 16-word ring for the message schedule.
 */
#include "sha512.h"

#include <string.h>

#include "ota_util.h"

/* FIPS 180-4 4.2.3: first 64 bits of the fractional parts of the cube roots of the first 80 primes. */
static const uint64_t sha512_k[80] = {
    0x428a2f98d728ae22u, 0x7137449123ef65cdu, 0xb5c0fbcfec4d3b2fu, 0xe9b5dba58189dbbcu,
    0x3956c25bf348b538u, 0x59f111f1b605d019u, 0x923f82a4af194f9bu, 0xab1c5ed5da6d8118u,
    0xd807aa98a3030242u, 0x12835b0145706fbeu, 0x243185be4ee4b28cu, 0x550c7dc3d5ffb4e2u,
    0x72be5d74f27b896fu, 0x80deb1fe3b1696b1u, 0x9bdc06a725c71235u, 0xc19bf174cf692694u,
    0xe49b69c19ef14ad2u, 0xefbe4786384f25e3u, 0x0fc19dc68b8cd5b5u, 0x240ca1cc77ac9c65u,
    0x2de92c6f592b0275u, 0x4a7484aa6ea6e483u, 0x5cb0a9dcbd41fbd4u, 0x76f988da831153b5u,
    0x983e5152ee66dfabu, 0xa831c66d2db43210u, 0xb00327c898fb213fu, 0xbf597fc7beef0ee4u,
    0xc6e00bf33da88fc2u, 0xd5a79147930aa725u, 0x06ca6351e003826fu, 0x142929670a0e6e70u,
    0x27b70a8546d22ffcu, 0x2e1b21385c26c926u, 0x4d2c6dfc5ac42aedu, 0x53380d139d95b3dfu,
    0x650a73548baf63deu, 0x766a0abb3c77b2a8u, 0x81c2c92e47edaee6u, 0x92722c851482353bu,
    0xa2bfe8a14cf10364u, 0xa81a664bbc423001u, 0xc24b8b70d0f89791u, 0xc76c51a30654be30u,
    0xd192e819d6ef5218u, 0xd69906245565a910u, 0xf40e35855771202au, 0x106aa07032bbd1b8u,
    0x19a4c116b8d2d0c8u, 0x1e376c085141ab53u, 0x2748774cdf8eeb99u, 0x34b0bcb5e19b48a8u,
    0x391c0cb3c5c95a63u, 0x4ed8aa4ae3418acbu, 0x5b9cca4f7763e373u, 0x682e6ff3d6b2b8a3u,
    0x748f82ee5defb2fcu, 0x78a5636f43172f60u, 0x84c87814a1f0ab72u, 0x8cc702081a6439ecu,
    0x90befffa23631e28u, 0xa4506cebde82bde9u, 0xbef9a3f7b2c67915u, 0xc67178f2e372532bu,
    0xca273eceea26619cu, 0xd186b8c721c0c207u, 0xeada7dd6cde0eb1eu, 0xf57d4f7fee6ed178u,
    0x06f067aa72176fbau, 0x0a637dc5a2c898a6u, 0x113f9804bef90daeu, 0x1b710b35131c471bu,
    0x28db77f523047d84u, 0x32caab7b40c72493u, 0x3c9ebe0a15c9bebcu, 0x431d67c49c100d4cu,
    0x4cc5d4becb3e42b6u, 0x597f299cfc657e2au, 0x5fcb6fab3ad6faecu, 0x6c44198c4a475817u,
};

static inline uint64_t sha512_rotr(uint64_t x, unsigned n)
{
    return (x >> n) | (x << (64u - n));
}

static uint64_t sha512_get_be64(const uint8_t *p)
{
    return ((uint64_t)ota_get_be32(p) << 32) | ota_get_be32(p + 4);
}

static void sha512_put_be64(uint8_t *p, uint64_t v)
{
    ota_put_be32(p, (uint32_t)(v >> 32));
    ota_put_be32(p + 4, (uint32_t)v);
}

static void sha512_compress(uint64_t state[8], const uint8_t block[SHA512_BLOCK_SIZE])
{
    uint64_t w[16];
    uint64_t a = state[0];
    uint64_t b = state[1];
    uint64_t c = state[2];
    uint64_t d = state[3];
    uint64_t e = state[4];
    uint64_t f = state[5];
    uint64_t g = state[6];
    uint64_t h = state[7];

    for (size_t t = 0; t < 80; t++) {
        uint64_t wt;
        if (t < 16) {
            wt = sha512_get_be64(&block[8 * t]);
        } else {
            uint64_t w15 = w[(t - 15) & 15];
            uint64_t w2 = w[(t - 2) & 15];
            uint64_t s0 = sha512_rotr(w15, 1) ^ sha512_rotr(w15, 8) ^ (w15 >> 7);
            uint64_t s1 = sha512_rotr(w2, 19) ^ sha512_rotr(w2, 61) ^ (w2 >> 6);
            wt = w[t & 15] + s0 + w[(t - 7) & 15] + s1;
        }
        w[t & 15] = wt;

        uint64_t S1 = sha512_rotr(e, 14) ^ sha512_rotr(e, 18) ^ sha512_rotr(e, 41);
        uint64_t ch = (e & f) ^ (~e & g);
        uint64_t t1 = h + S1 + ch + sha512_k[t] + wt;
        uint64_t S0 = sha512_rotr(a, 28) ^ sha512_rotr(a, 34) ^ sha512_rotr(a, 39);
        uint64_t maj = (a & b) ^ (a & c) ^ (b & c);
        uint64_t t2 = S0 + maj;
        h = g;
        g = f;
        f = e;
        e = d + t1;
        d = c;
        c = b;
        b = a;
        a = t1 + t2;
    }

    state[0] += a;
    state[1] += b;
    state[2] += c;
    state[3] += d;
    state[4] += e;
    state[5] += f;
    state[6] += g;
    state[7] += h;
}

void sha512_init(struct sha512_ctx *ctx)
{
    OTA_ASSERT(ctx != NULL);
    /* FIPS 180-4 5.3.5. */
    ctx->state[0] = 0x6a09e667f3bcc908u;
    ctx->state[1] = 0xbb67ae8584caa73bu;
    ctx->state[2] = 0x3c6ef372fe94f82bu;
    ctx->state[3] = 0xa54ff53a5f1d36f1u;
    ctx->state[4] = 0x510e527fade682d1u;
    ctx->state[5] = 0x9b05688c2b3e6c1fu;
    ctx->state[6] = 0x1f83d9abfb41bd6bu;
    ctx->state[7] = 0x5be0cd19137e2179u;
    ctx->total = 0;
    ctx->buf_len = 0;
}

void sha512_update(struct sha512_ctx *ctx, const void *data, size_t len)
{
    OTA_ASSERT(ctx != NULL && (data != NULL || len == 0));
    OTA_ASSERT(ctx->buf_len < SHA512_BLOCK_SIZE);
    const uint8_t *p = (const uint8_t *)data;

    if (len == 0) {
        return; /* data may be NULL then, and memcpy must not see it */
    }
    ctx->total += len;
    if (ctx->buf_len != 0) {
        size_t room = SHA512_BLOCK_SIZE - ctx->buf_len;
        size_t n = len < room ? len : room;
        memcpy(&ctx->buf[ctx->buf_len], p, n);
        ctx->buf_len += (uint32_t)n;
        p += n;
        len -= n;
        if (ctx->buf_len < SHA512_BLOCK_SIZE) {
            return;
        }
        sha512_compress(ctx->state, ctx->buf);
        ctx->buf_len = 0;
    }
    while (len >= SHA512_BLOCK_SIZE) {
        sha512_compress(ctx->state, p);
        p += SHA512_BLOCK_SIZE;
        len -= SHA512_BLOCK_SIZE;
    }
    if (len != 0) {
        memcpy(ctx->buf, p, len);
        ctx->buf_len = (uint32_t)len;
    }
}

void sha512_final(struct sha512_ctx *ctx, uint8_t digest[SHA512_DIGEST_SIZE])
{
    OTA_ASSERT(ctx != NULL && digest != NULL);
    OTA_ASSERT(ctx->buf_len < SHA512_BLOCK_SIZE);
    uint32_t n = ctx->buf_len;

    /*
     * FIPS 180-4 5.1.2: a 1 bit, zeros, then the 128-bit big-endian length in bits. Lengths are
     * kept in bytes in 64 bits, so the top 64 bits of the field hold only the 3 bits shifted out.
     */
    ctx->buf[n++] = 0x80u;
    if (n > SHA512_BLOCK_SIZE - 16) {
        memset(&ctx->buf[n], 0, SHA512_BLOCK_SIZE - n);
        sha512_compress(ctx->state, ctx->buf);
        n = 0;
    }
    memset(&ctx->buf[n], 0, SHA512_BLOCK_SIZE - 16 - n);
    sha512_put_be64(&ctx->buf[SHA512_BLOCK_SIZE - 16], ctx->total >> 61);
    sha512_put_be64(&ctx->buf[SHA512_BLOCK_SIZE - 8], ctx->total << 3);
    sha512_compress(ctx->state, ctx->buf);

    for (size_t i = 0; i < 8; i++) {
        sha512_put_be64(&digest[8 * i], ctx->state[i]);
    }
    /* Wipe message-derived state; sha512_init() must be called before the context is reused. */
    memset(ctx, 0, sizeof(*ctx));
}

void sha512(const void *data, size_t len, uint8_t digest[SHA512_DIGEST_SIZE])
{
    struct sha512_ctx ctx;
    sha512_init(&ctx);
    sha512_update(&ctx, data, len);
    sha512_final(&ctx, digest);
}
