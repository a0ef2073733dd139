/*
 * SHA-256, SHA-512 and CRC-32: the FIPS 180 examples, streaming in every awkward chunking against
 * one-shot, random lengths against OpenSSL, CRC-32's check value and chaining, and misuse caught
 * by OTA_ASSERT.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>
#include <openssl/evp.h>

#include "crc32.h"
#include "sha256.h"
#include "sha512.h"
#include "test_support.h"

/* FIPS 180-2 appendices B and C (also in NIST's "Example Algorithms" SHA-256 / SHA-512 PDFs). */
static const char msg_abc[] = "abc";
static const char msg_448[] = "abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq";
static const char msg_896[] = "abcdefghbcdefghicdefghijdefghijkefghijklfghijklmghijklmn"
                              "hijklmnoijklmnopjklmnopqklmnopqrlmnopqrsmnopqrstnopqrstu";

struct kat {
    const char *msg;
    const char *sha256;
    const char *sha512;
};

static const struct kat fips_kats[] = {
    {msg_abc, "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad",
     "ddaf35a193617abacc417349ae20413112e6fa4e89a97ea20a9eeee64b55d39a"
     "2192992a274fc1a836ba3c23a3feebbd454d4423643ce80e2a9ac94fa54ca49f"},
    {msg_448, "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1",
     "204a8fc6dda82f0a0ced7beb8e08a41657c16ef468b228a8279be331a703c335"
     "96fd15c13b1b07f9aa1d3bea57789ca031ad85c7a71dd70354ec631238ca3445"},
    {msg_896, "cf5b16a778af8380036ce59e7b0492370b249b11e8f07a51afac45037afee9d1",
     "8e959b75dae313da8cf4f72814fc143f8f7779c6eb9f7fa17299aeadb6889018"
     "501d289e4900f7e4331b99dec4b5433ac7d329eeb6dd26545e96e55b874be909"},
    /* The empty message (FIPS 180 does not list it; it is the digest every library agrees on). */
    {"", "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
     "cf83e1357eefb8bdf1542850d66d8007d620e4050b5715dc83f4a921d36ce9ce"
     "47d0d13c5d85f2b0ff8318d2877eec2f63b931bd47417a81a538327af927da3e"},
};

static void test_sha256_fips_examples(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof fips_kats / sizeof fips_kats[0]; i++) {
        uint8_t want[SHA256_DIGEST_SIZE];
        uint8_t got[SHA256_DIGEST_SIZE];
        assert_int_equal(test_unhex(fips_kats[i].sha256, want, sizeof want), SHA256_DIGEST_SIZE);
        sha256(fips_kats[i].msg, strlen(fips_kats[i].msg), got);
        assert_memory_equal(got, want, sizeof want);
    }
}

static void test_sha512_fips_examples(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof fips_kats / sizeof fips_kats[0]; i++) {
        uint8_t want[SHA512_DIGEST_SIZE];
        uint8_t got[SHA512_DIGEST_SIZE];
        assert_int_equal(test_unhex(fips_kats[i].sha512, want, sizeof want), SHA512_DIGEST_SIZE);
        sha512(fips_kats[i].msg, strlen(fips_kats[i].msg), got);
        assert_memory_equal(got, want, sizeof want);
    }
}

/* FIPS 180-2 B.3 / C.3: one million 'a', fed in 1000 updates of 1000 bytes. */
static void test_million_a(void **state)
{
    (void)state;
    uint8_t chunk[1000];
    uint8_t want256[SHA256_DIGEST_SIZE];
    uint8_t want512[SHA512_DIGEST_SIZE];
    uint8_t got256[SHA256_DIGEST_SIZE];
    uint8_t got512[SHA512_DIGEST_SIZE];
    struct sha256_ctx c256;
    struct sha512_ctx c512;

    assert_int_equal(
        test_unhex("cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0", want256,
                   sizeof want256),
        SHA256_DIGEST_SIZE);
    assert_int_equal(test_unhex("e718483d0ce769644e2e42c7bc15b4638e1f98b13b2044285632a803afa973eb"
                                "de0ff244877ea60a4cb0432ce577c31beb009c5c2c49aa2e4eadb217ad8cc09b",
                                want512, sizeof want512),
                     SHA512_DIGEST_SIZE);
    memset(chunk, 'a', sizeof chunk);
    sha256_init(&c256);
    sha512_init(&c512);
    for (int i = 0; i < 1000; i++) {
        sha256_update(&c256, chunk, sizeof chunk);
        sha512_update(&c512, chunk, sizeof chunk);
    }
    sha256_final(&c256, got256);
    sha512_final(&c512, got512);
    assert_memory_equal(got256, want256, sizeof want256);
    assert_memory_equal(got512, want512, sizeof want512);
}

static uint8_t big[4099];

/* Every chunk size from 1 to 200 (plus a few past a block) over a buffer crossing many blocks. */
static void test_streaming_matches_one_shot(void **state)
{
    (void)state;
    uint64_t seed = 0x5EED0001u;
    test_rand_fill(&seed, big, sizeof big);
    uint8_t one256[SHA256_DIGEST_SIZE];
    uint8_t one512[SHA512_DIGEST_SIZE];
    sha256(big, sizeof big, one256);
    sha512(big, sizeof big, one512);

    static const size_t extra[] = {255, 256, 257, 1023, 4098, 4099};
    for (size_t k = 0; k < 200 + sizeof extra / sizeof extra[0]; k++) {
        size_t step = k < 200 ? k + 1 : extra[k - 200];
        struct sha256_ctx c256;
        struct sha512_ctx c512;
        uint8_t got256[SHA256_DIGEST_SIZE];
        uint8_t got512[SHA512_DIGEST_SIZE];
        sha256_init(&c256);
        sha512_init(&c512);
        for (size_t off = 0; off < sizeof big; off += step) {
            size_t n = sizeof big - off < step ? sizeof big - off : step;
            sha256_update(&c256, &big[off], n);
            sha256_update(&c256, big, 0); /* empty updates change nothing */
            sha512_update(&c512, &big[off], n);
            sha512_update(&c512, NULL, 0);
        }
        sha256_final(&c256, got256);
        sha512_final(&c512, got512);
        assert_memory_equal(got256, one256, sizeof one256);
        assert_memory_equal(got512, one512, sizeof one512);
    }
}

static void openssl_digest(const EVP_MD *md, const uint8_t *p, size_t n, uint8_t *out)
{
    unsigned int len = 0;
    assert_int_equal(EVP_Digest(p, n, out, &len, md, NULL), 1);
    assert_int_equal(len, (unsigned)EVP_MD_get_size(md));
}

/* Every length 0..300 (all padding boundaries of both block sizes) and random lengths to 4099. */
static void test_against_openssl(void **state)
{
    (void)state;
    uint64_t seed = 0x5EED0002u;
    for (size_t i = 0; i < 700; i++) {
        size_t len = i <= 300 ? i : (size_t)(test_rand(&seed) % (sizeof big + 1));
        test_rand_fill(&seed, big, len);
        uint8_t ours[SHA512_DIGEST_SIZE];
        uint8_t ref[SHA512_DIGEST_SIZE];

        sha256(big, len, ours);
        openssl_digest(EVP_sha256(), big, len, ref);
        assert_memory_equal(ours, ref, SHA256_DIGEST_SIZE);

        /* Streaming split at a random point must agree too. */
        size_t cut = len == 0 ? 0 : (size_t)(test_rand(&seed) % (len + 1));
        struct sha512_ctx c;
        sha512_init(&c);
        sha512_update(&c, big, cut);
        sha512_update(&c, &big[cut], len - cut);
        sha512_final(&c, ours);
        openssl_digest(EVP_sha512(), big, len, ref);
        assert_memory_equal(ours, ref, SHA512_DIGEST_SIZE);
    }
}

/* A context is reusable after init, and a finalised one does not leak into the next digest. */
static void test_context_reuse(void **state)
{
    (void)state;
    struct sha256_ctx c;
    uint8_t a[SHA256_DIGEST_SIZE];
    uint8_t b[SHA256_DIGEST_SIZE];
    uint8_t want[SHA256_DIGEST_SIZE];
    sha256(msg_abc, 3, want);
    sha256_init(&c);
    sha256_update(&c, msg_896, strlen(msg_896));
    sha256_final(&c, a);
    sha256_init(&c);
    sha256_update(&c, msg_abc, 3);
    sha256_final(&c, b);
    assert_memory_equal(b, want, sizeof want);
    assert_memory_not_equal(a, b, sizeof a);
}

static void test_misuse_asserts(void **state)
{
    (void)state;
    struct sha256_ctx c256;
    struct sha512_ctx c512;
    uint8_t d[SHA512_DIGEST_SIZE];
    sha256_init(&c256);
    sha512_init(&c512);
    expect_assert_failure(sha256_init(NULL));
    expect_assert_failure(sha256_update(NULL, d, 1));
    expect_assert_failure(sha256_update(&c256, NULL, 1));
    expect_assert_failure(sha256_final(NULL, d));
    expect_assert_failure(sha256_final(&c256, NULL));
    expect_assert_failure(sha512_init(NULL));
    expect_assert_failure(sha512_update(NULL, d, 1));
    expect_assert_failure(sha512_update(&c512, NULL, 1));
    expect_assert_failure(sha512_final(NULL, d));
    expect_assert_failure(sha512_final(&c512, NULL));
    /* A corrupted context (buffer count out of range) is a caller bug, not silent overflow. */
    c256.buf_len = SHA256_BLOCK_SIZE;
    expect_assert_failure(sha256_update(&c256, d, 1));
    expect_assert_failure(sha256_final(&c256, d));
    c512.buf_len = SHA512_BLOCK_SIZE;
    expect_assert_failure(sha512_update(&c512, d, 1));
    expect_assert_failure(sha512_final(&c512, d));
    expect_assert_failure(crc32_update(0, NULL, 1));
}

/* Straight from the definition: one bit at a time, reflected polynomial 0xEDB88320. */
static uint32_t crc32_bitwise(uint32_t crc, const uint8_t *p, size_t n)
{
    crc = ~crc;
    for (size_t i = 0; i < n; i++) {
        crc ^= p[i];
        for (int b = 0; b < 8; b++) {
            crc = (crc & 1u) ? (crc >> 1) ^ 0xEDB88320u : crc >> 1;
        }
    }
    return ~crc;
}

static void test_crc32_check_value(void **state)
{
    (void)state;
    /* The catalogue check value of CRC-32/ISO-HDLC (zlib's crc32). */
    assert_int_equal(crc32_update(0, "123456789", 9), 0xCBF43926u);
    /* Empty input leaves the running value unchanged (zlib: crc32(crc, NULL, 0) == crc). */
    assert_int_equal(crc32_update(0, NULL, 0), 0u);
    assert_int_equal(crc32_update(0x12345678u, NULL, 0), 0x12345678u);
}

static void test_crc32_chaining_and_reference(void **state)
{
    (void)state;
    uint64_t seed = 0x5EED0003u;
    uint8_t buf[600];
    test_rand_fill(&seed, buf, sizeof buf);
    uint32_t whole = crc32_update(0, buf, sizeof buf);
    assert_int_equal(whole, crc32_bitwise(0, buf, sizeof buf));
    for (size_t cut = 0; cut <= sizeof buf; cut++) {
        uint32_t c = crc32_update(0, buf, cut);
        assert_int_equal(c, crc32_bitwise(0, buf, cut));
        assert_int_equal(crc32_update(c, &buf[cut], sizeof buf - cut), whole);
    }
    /* Every single-bit change of the input changes the CRC (a CRC detects all 1-bit errors). */
    for (size_t bit = 0; bit < (size_t)64 * 8; bit++) {
        buf[bit / 8] ^= (uint8_t)(1u << (bit % 8));
        assert_int_not_equal(crc32_update(0, buf, sizeof buf), whole);
        buf[bit / 8] ^= (uint8_t)(1u << (bit % 8));
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_sha256_fips_examples),
        cmocka_unit_test(test_sha512_fips_examples),
        cmocka_unit_test(test_million_a),
        cmocka_unit_test(test_streaming_matches_one_shot),
        cmocka_unit_test(test_against_openssl),
        cmocka_unit_test(test_context_reuse),
        cmocka_unit_test(test_misuse_asserts),
        cmocka_unit_test(test_crc32_check_value),
        cmocka_unit_test(test_crc32_chaining_and_reference),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
