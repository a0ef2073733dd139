/*
 * Ed25519 verification, black box: RFC 8032 7.1 vectors, every Wycheproof case, signatures made
 * by OpenSSL under random keys, every single-bit corruption, and each named error code.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>
#include <openssl/evp.h>

#include "ed25519.h"
#include "ota_util.h"
#include "rfc8032_vectors.h"
#include "test_support.h"

struct wycheproof_case {
    const char *pk;
    const char *msg;
    const char *sig;
    int id;
    int valid;
};
#include "wycheproof_ed25519.inc"

/* ---- OpenSSL as the reference signer and verifier ---- */

static EVP_PKEY *ossl_key_from_seed(const uint8_t seed[32])
{
    EVP_PKEY *k = EVP_PKEY_new_raw_private_key(EVP_PKEY_ED25519, NULL, seed, 32);
    assert_non_null(k);
    return k;
}

static void ossl_public(EVP_PKEY *k, uint8_t pub[32])
{
    size_t len = 32;
    assert_int_equal(EVP_PKEY_get_raw_public_key(k, pub, &len), 1);
    assert_int_equal(len, 32);
}

static void ossl_sign(EVP_PKEY *k, const uint8_t *msg, size_t msg_len, uint8_t sig[64])
{
    EVP_MD_CTX *c = EVP_MD_CTX_new();
    size_t len = 64;
    assert_non_null(c);
    assert_int_equal(EVP_DigestSignInit(c, NULL, NULL, NULL, k), 1);
    assert_int_equal(EVP_DigestSign(c, sig, &len, msg, msg_len), 1);
    assert_int_equal(len, 64);
    EVP_MD_CTX_free(c);
}

/* 1 if OpenSSL accepts, 0 if it rejects (including a key it will not even load). */
static int ossl_verify(const uint8_t *sig, size_t sig_len, const uint8_t *msg, size_t msg_len,
                       const uint8_t *pub, size_t pub_len)
{
    EVP_PKEY *k = EVP_PKEY_new_raw_public_key(EVP_PKEY_ED25519, NULL, pub, pub_len);
    if (k == NULL) {
        return 0;
    }
    EVP_MD_CTX *c = EVP_MD_CTX_new();
    assert_non_null(c);
    assert_int_equal(EVP_DigestVerifyInit(c, NULL, NULL, NULL, k), 1);
    int r = EVP_DigestVerify(c, sig, sig_len, msg, msg_len);
    EVP_MD_CTX_free(c);
    EVP_PKEY_free(k);
    return r == 1;
}

/* ---- RFC 8032 ---- */

static void test_rfc8032_section_7_1(void **state)
{
    (void)state;
    for (size_t i = 0; i < OTA_ARRAY_SIZE(rfc8032_vectors); i++) {
        const struct rfc8032_vector *v = &rfc8032_vectors[i];
        uint8_t secret[32];
        uint8_t pub[32];
        uint8_t sig[64];
        uint8_t msg[1024];
        uint8_t derived[64];

        assert_int_equal(test_unhex(v->secret, secret, sizeof secret), 32);
        assert_int_equal(test_unhex(v->pub, pub, sizeof pub), 32);
        assert_int_equal(test_unhex(v->sig, sig, sizeof sig), 64);
        assert_int_equal(test_unhex(v->msg, msg, sizeof msg), (long)v->msg_len);

        /* The transcription is right: OpenSSL re-derives the same key and signature. */
        EVP_PKEY *k = ossl_key_from_seed(secret);
        ossl_public(k, derived);
        assert_memory_equal(derived, pub, 32);
        ossl_sign(k, msg, v->msg_len, derived);
        assert_memory_equal(derived, sig, 64);
        EVP_PKEY_free(k);

        print_message("%s\n", v->name);
        assert_int_equal(ed25519_verify(sig, v->msg_len ? msg : NULL, v->msg_len, pub), ED25519_OK);
        assert_int_equal(ed25519_verify_buf(sig, 64, msg, v->msg_len, pub, 32), ED25519_OK);
        /* A message one byte longer or shorter is a different message. */
        msg[v->msg_len] = 0;
        assert_int_equal(ed25519_verify(sig, msg, v->msg_len + 1, pub), ED25519_ERR_MISMATCH);
        if (v->msg_len > 0) {
            assert_int_equal(ed25519_verify(sig, msg, v->msg_len - 1, pub), ED25519_ERR_MISMATCH);
        }
    }
}

/* ---- Wycheproof: every case, through the length-checked entry point, and OpenSSL agrees ---- */

static void test_wycheproof_all_cases(void **state)
{
    (void)state;
    static uint8_t msg[4096];
    uint8_t sig[256];
    uint8_t pk[64];
    unsigned valid = 0;
    unsigned invalid = 0;
    unsigned wrong = 0;

    for (size_t i = 0; i < OTA_ARRAY_SIZE(wycheproof_cases); i++) {
        const struct wycheproof_case *c = &wycheproof_cases[i];
        long m = test_unhex(c->msg, msg, sizeof msg);
        long s = test_unhex(c->sig, sig, sizeof sig);
        long p = test_unhex(c->pk, pk, sizeof pk);
        assert_true(m >= 0 && s >= 0 && p >= 0);

        int ours = ed25519_verify_buf(sig, (size_t)s, m > 0 ? msg : NULL, (size_t)m, pk, (size_t)p);
        int ref = ossl_verify(sig, (size_t)s, msg, (size_t)m, pk, (size_t)p);
        if ((ours == ED25519_OK) != c->valid || ref != c->valid) {
            print_error("tcId %d: ours %d, OpenSSL %d, expected %s\n", c->id, ours, ref,
                        c->valid ? "valid" : "invalid");
            wrong++;
        }
        /* The wrong-length cases must be rejected for their length, not by luck. */
        if (s != 64) {
            assert_int_equal(ours, ED25519_ERR_LENGTH);
        }
        if (c->valid) {
            valid++;
        } else {
            invalid++;
        }
    }
    assert_int_equal(wrong, 0);
    assert_int_equal(valid + invalid, WYCHEPROOF_NUMBER_OF_TESTS);
    assert_int_equal(valid, 88);
    assert_int_equal(invalid, 63);
}

/* ---- OpenSSL signs, we verify ---- */

static void test_openssl_signatures_random_keys(void **state)
{
    (void)state;
    uint64_t seed = 0xED25519001u;
    static uint8_t msg[600];
    unsigned accepted = 0;

    for (unsigned n = 0; n < 1200; n++) {
        uint8_t secret[32];
        uint8_t pub[32];
        uint8_t sig[64];
        size_t len = (size_t)(test_rand(&seed) % (sizeof msg + 1));
        test_rand_fill(&seed, secret, sizeof secret);
        test_rand_fill(&seed, msg, len);

        EVP_PKEY *k = ossl_key_from_seed(secret);
        ossl_public(k, pub);
        ossl_sign(k, msg, len, sig);
        EVP_PKEY_free(k);

        int r = ed25519_verify(sig, msg, len, pub);
        if (r != ED25519_OK) {
            print_error("key %u (len %zu): %d\n", n, len, r);
        }
        assert_int_equal(r, ED25519_OK);
        accepted++;

        /* The same signature under the next key, or for the message with one byte added, fails. */
        if (n % 8 == 0) {
            msg[len] = (uint8_t)n;
            assert_int_equal(ed25519_verify(sig, msg, len + 1, pub), ED25519_ERR_MISMATCH);
        }
    }
    assert_int_equal(accepted, 1200);
}

/* Random bytes as signature and key: both verifiers reject, and for the same reason class. */
static void test_random_garbage_rejected_like_openssl(void **state)
{
    (void)state;
    uint64_t seed = 0xED25519002u;
    unsigned bad_key = 0;
    unsigned s_range = 0;
    for (unsigned n = 0; n < 1000; n++) {
        uint8_t sig[64];
        uint8_t pub[32];
        uint8_t msg[16];
        test_rand_fill(&seed, sig, sizeof sig);
        test_rand_fill(&seed, pub, sizeof pub);
        test_rand_fill(&seed, msg, sizeof msg);
        if (n % 2 == 0) {
            sig[63] &= 0x0f; /* half of them with S < 2^252 < L, so the point code runs */
        }
        int r = ed25519_verify(sig, msg, sizeof msg, pub);
        assert_int_not_equal(r, ED25519_OK);
        assert_int_equal(ossl_verify(sig, 64, msg, sizeof msg, pub, 32), 0);
        bad_key += r == ED25519_ERR_PUBKEY;
        s_range += r == ED25519_ERR_S_RANGE;
    }
    /* About half of random y have no x (and most top bytes make S >= L): both paths were taken. */
    assert_true(bad_key > 100);
    assert_true(s_range > 100);
}

/* ---- Every single-bit corruption of signature, message and key ---- */

static void test_every_bit_flip_rejected(void **state)
{
    (void)state;
    uint64_t seed = 0xED25519003u;
    for (unsigned n = 0; n < 4; n++) {
        uint8_t secret[32];
        uint8_t pub[32];
        uint8_t sig[64];
        uint8_t msg[48];
        test_rand_fill(&seed, secret, sizeof secret);
        test_rand_fill(&seed, msg, sizeof msg);
        EVP_PKEY *k = ossl_key_from_seed(secret);
        ossl_public(k, pub);
        ossl_sign(k, msg, sizeof msg, sig);
        EVP_PKEY_free(k);
        assert_int_equal(ed25519_verify(sig, msg, sizeof msg, pub), ED25519_OK);

        for (unsigned bit = 0; bit < 8 * sizeof sig; bit++) {
            sig[bit / 8] ^= (uint8_t)(1u << (bit % 8));
            assert_int_not_equal(ed25519_verify(sig, msg, sizeof msg, pub), ED25519_OK);
            assert_int_equal(ossl_verify(sig, 64, msg, sizeof msg, pub, 32), 0);
            sig[bit / 8] ^= (uint8_t)(1u << (bit % 8));
        }
        for (unsigned bit = 0; bit < 8 * sizeof msg; bit++) {
            msg[bit / 8] ^= (uint8_t)(1u << (bit % 8));
            assert_int_equal(ed25519_verify(sig, msg, sizeof msg, pub), ED25519_ERR_MISMATCH);
            msg[bit / 8] ^= (uint8_t)(1u << (bit % 8));
        }
        for (unsigned bit = 0; bit < 8 * sizeof pub; bit++) {
            pub[bit / 8] ^= (uint8_t)(1u << (bit % 8));
            int r = ed25519_verify(sig, msg, sizeof msg, pub);
            assert_true(r == ED25519_ERR_PUBKEY || r == ED25519_ERR_MISMATCH);
            assert_int_equal(ossl_verify(sig, 64, msg, sizeof msg, pub, 32), 0);
            pub[bit / 8] ^= (uint8_t)(1u << (bit % 8));
        }
        /* Unchanged after all that: the flips were undone and nothing was cached. */
        assert_int_equal(ed25519_verify(sig, msg, sizeof msg, pub), ED25519_OK);
    }
}

/* ---- Each error code, on purpose-built inputs ---- */

/* L = 2^252 + 27742317777372353535851937790883648493, little-endian. */
static const uint8_t group_order[32] = {
    0xed, 0xd3, 0xf5, 0x5c, 0x1a, 0x63, 0x12, 0x58, 0xd6, 0x9c, 0xf7, 0xa2, 0xde, 0xf9, 0xde, 0x14,
    0,    0,    0,    0,    0,    0,    0,    0,    0,    0,    0,    0,    0,    0,    0,    0x10,
};

static void load_vector(size_t i, uint8_t pub[32], uint8_t sig[64], uint8_t *msg, size_t cap,
                        size_t *len)
{
    assert_int_equal(test_unhex(rfc8032_vectors[i].pub, pub, 32), 32);
    assert_int_equal(test_unhex(rfc8032_vectors[i].sig, sig, 64), 64);
    long n = test_unhex(rfc8032_vectors[i].msg, msg, cap);
    assert_true(n >= 0);
    *len = (size_t)n;
}

static void test_arguments_and_lengths(void **state)
{
    (void)state;
    uint8_t pub[32];
    uint8_t sig[65];
    uint8_t msg[8];
    size_t len;
    load_vector(1, pub, sig, msg, sizeof msg, &len); /* TEST 2: one-byte message */

    assert_int_equal(ed25519_verify(NULL, msg, len, pub), ED25519_ERR_ARG);
    assert_int_equal(ed25519_verify(sig, msg, len, NULL), ED25519_ERR_ARG);
    assert_int_equal(ed25519_verify(sig, NULL, len, pub), ED25519_ERR_ARG);
    assert_int_equal(ed25519_verify_buf(NULL, 64, msg, len, pub, 32), ED25519_ERR_ARG);
    assert_int_equal(ed25519_verify_buf(sig, 64, msg, len, NULL, 32), ED25519_ERR_ARG);
    assert_int_equal(ed25519_verify_buf(sig, 64, NULL, len, pub, 32), ED25519_ERR_ARG);

    static const size_t bad_sig_len[] = {0, 1, 32, 63, 65, 128, SIZE_MAX};
    for (size_t i = 0; i < OTA_ARRAY_SIZE(bad_sig_len); i++) {
        assert_int_equal(ed25519_verify_buf(sig, bad_sig_len[i], msg, len, pub, 32),
                         ED25519_ERR_LENGTH);
    }
    static const size_t bad_pub_len[] = {0, 31, 33, 64, SIZE_MAX};
    for (size_t i = 0; i < OTA_ARRAY_SIZE(bad_pub_len); i++) {
        assert_int_equal(ed25519_verify_buf(sig, 64, msg, len, pub, bad_pub_len[i]),
                         ED25519_ERR_LENGTH);
    }
    /* Garbage after a valid signature (Wycheproof's SignatureWithGarbage) is a length error. */
    sig[64] = 0;
    assert_int_equal(ed25519_verify_buf(sig, 65, msg, len, pub, 32), ED25519_ERR_LENGTH);
    assert_int_equal(ed25519_verify_buf(sig, 64, msg, len, pub, 32), ED25519_OK);

    /* An empty message may come as NULL (TEST 1). */
    load_vector(0, pub, sig, msg, sizeof msg, &len);
    assert_int_equal(len, 0);
    assert_int_equal(ed25519_verify(sig, NULL, 0, pub), ED25519_OK);
    assert_int_equal(ed25519_verify_buf(sig, 64, NULL, 0, pub, 32), ED25519_OK);
}

/* S + L, S = L, S = 2^256 - 1 and every S >= 2^253 are refused before any point arithmetic. */
static void test_s_out_of_range(void **state)
{
    (void)state;
    uint8_t pub[32];
    uint8_t sig[64];
    uint8_t msg[8];
    size_t len;
    load_vector(2, pub, sig, msg, sizeof msg, &len);
    assert_int_equal(ed25519_verify(sig, msg, len, pub), ED25519_OK);

    /* S + L: the same point, so a verifier without the range check would accept it. */
    uint8_t mall[64];
    memcpy(mall, sig, 64);
    unsigned carry = 0;
    for (unsigned i = 0; i < 32; i++) {
        unsigned t = mall[32 + i] + group_order[i] + carry;
        mall[32 + i] = (uint8_t)t;
        carry = t >> 8;
    }
    assert_int_equal(carry, 0);
    assert_int_equal(ed25519_verify(mall, msg, len, pub), ED25519_ERR_S_RANGE);
    assert_int_equal(ossl_verify(mall, 64, msg, len, pub, 32), 0);

    memcpy(mall, sig, 32);
    memcpy(&mall[32], group_order, 32);
    assert_int_equal(ed25519_verify(mall, msg, len, pub), ED25519_ERR_S_RANGE);
    /* L - 1 is in range: it gets as far as the comparison. */
    mall[32] = (uint8_t)(group_order[0] - 1);
    assert_int_equal(ed25519_verify(mall, msg, len, pub), ED25519_ERR_MISMATCH);
    memset(&mall[32], 0xff, 32);
    assert_int_equal(ed25519_verify(mall, msg, len, pub), ED25519_ERR_S_RANGE);
    for (unsigned top = 0x20; top <= 0xff; top++) {
        memcpy(mall, sig, 64);
        mall[63] = (uint8_t)top;
        assert_int_equal(ed25519_verify(mall, msg, len, pub), ED25519_ERR_S_RANGE);
    }
}

/* y = p + i (i = 0..18, all below 2^255) is a non-canonical encoding of y = i. */
static void encode_noncanonical(uint8_t out[32], unsigned i, unsigned sign)
{
    memset(out, 0xff, 32);
    out[0] = (uint8_t)(0xed + i);
    out[31] = (uint8_t)(0x7f | (sign << 7));
}

static void test_r_noncanonical(void **state)
{
    (void)state;
    uint8_t pub[32];
    uint8_t sig[64];
    uint8_t msg[8];
    size_t len;
    load_vector(1, pub, sig, msg, sizeof msg, &len);
    for (unsigned i = 0; i < 19; i++) {
        for (unsigned sign = 0; sign < 2; sign++) {
            encode_noncanonical(sig, i, sign);
            assert_int_equal(ed25519_verify(sig, msg, len, pub), ED25519_ERR_R_ENCODING);
            assert_int_equal(ossl_verify(sig, 64, msg, len, pub, 32), 0);
        }
    }
    /* Top bits set with y canonical: the sign of x flips, R is another point: a mismatch. */
    load_vector(1, pub, sig, msg, sizeof msg, &len);
    sig[31] ^= 0x80;
    assert_int_equal(ed25519_verify(sig, msg, len, pub), ED25519_ERR_MISMATCH);
}

/*
 * Public keys that RFC 8032 5.1.3 says must not decode: y >= p, and x = 0 with the sign bit set
 * (y = 1 and y = -1). The signature is built so that it *would* verify if the key were decoded
 * leniently: A = the identity (0, 1), R = [S]B = B for S = 1. OpenSSL 3.0 accepts such keys; we
 * follow the RFC (docs/crypto.md), and show here that the canonical twin verifies in both.
 */
static void test_pubkey_noncanonical_rejected(void **state)
{
    (void)state;
    const uint8_t msg[] = "any message";
    uint8_t sig[64] = {0};
    uint8_t pub[32] = {0};
    sig[0] = 0x58; /* the encoding of B: y = 4/5 = 0x6666...6658, x even */
    memset(&sig[1], 0x66, 31);
    sig[32] = 1;

    pub[0] = 1; /* canonical identity */
    assert_int_equal(ed25519_verify(sig, msg, sizeof msg, pub), ED25519_OK);
    assert_int_equal(ossl_verify(sig, 64, msg, sizeof msg, pub, 32), 1);

    encode_noncanonical(pub, 1, 0); /* y = p + 1 */
    assert_int_equal(ed25519_verify(sig, msg, sizeof msg, pub), ED25519_ERR_PUBKEY);
    pub[31] |= 0x80;
    assert_int_equal(ed25519_verify(sig, msg, sizeof msg, pub), ED25519_ERR_PUBKEY);
    memset(pub, 0, 32);
    pub[0] = 1;
    pub[31] = 0x80; /* y = 1, x = 0 but "negative" */
    assert_int_equal(ed25519_verify(sig, msg, sizeof msg, pub), ED25519_ERR_PUBKEY);
    memset(pub, 0xff, 32);
    pub[0] = 0xec;
    pub[31] = 0xff; /* y = p - 1 = -1, x = 0, sign bit set */
    assert_int_equal(ed25519_verify(sig, msg, sizeof msg, pub), ED25519_ERR_PUBKEY);

    /* Every y >= p, either sign: no such key decodes. */
    for (unsigned i = 0; i < 19; i++) {
        for (unsigned sign = 0; sign < 2; sign++) {
            encode_noncanonical(pub, i, sign);
            assert_int_equal(ed25519_verify(sig, msg, sizeof msg, pub), ED25519_ERR_PUBKEY);
        }
    }
}

/* y values with no x on the curve are refused as keys (which ones exactly: test_ed25519_internal). */
static void test_pubkey_not_on_curve(void **state)
{
    (void)state;
    const uint8_t msg[] = "m";
    uint8_t sig[64] = {0};
    uint8_t pub[32];
    unsigned off_curve = 0;
    sig[0] = 0x58;
    memset(&sig[1], 0x66, 31);
    for (unsigned y = 2; y < 200; y++) {
        memset(pub, 0, 32);
        pub[0] = (uint8_t)y;
        int r = ed25519_verify(sig, msg, sizeof msg, pub);
        assert_true(r == ED25519_ERR_PUBKEY || r == ED25519_ERR_MISMATCH);
        off_curve += r == ED25519_ERR_PUBKEY;
    }
    /* Roughly half of all y are off the curve; the white-box test checks which ones exactly. */
    assert_true(off_curve > 50 && off_curve < 150);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_rfc8032_section_7_1),
        cmocka_unit_test(test_wycheproof_all_cases),
        cmocka_unit_test(test_openssl_signatures_random_keys),
        cmocka_unit_test(test_random_garbage_rejected_like_openssl),
        cmocka_unit_test(test_every_bit_flip_rejected),
        cmocka_unit_test(test_arguments_and_lengths),
        cmocka_unit_test(test_s_out_of_range),
        cmocka_unit_test(test_r_noncanonical),
        cmocka_unit_test(test_pubkey_noncanonical_rejected),
        cmocka_unit_test(test_pubkey_not_on_curve),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
