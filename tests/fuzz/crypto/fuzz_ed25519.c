/*
 * libFuzzer harness for ed25519_verify: it must never crash, and must agree with OpenSSL.
 *
 * Input: byte 0 picks a mode.
 *   even: raw   - sig = bytes 1..64, pub = bytes 65..96, msg = the rest (a short input is
 *                 padded from its SHA-512); S is forced below 2^252 for mode 0 so the point
 *                 code runs, not only the range check.
 *   odd:  signed - seed = bytes 1..32, msg = the rest: OpenSSL signs msg under that seed; we must
 *                 accept it, and reject it once the bit chosen by byte 0 and the seed is flipped.
 * Agreement rule: we never accept what OpenSSL rejects, and reject what OpenSSL accepts only for
 * a public key that RFC 8032 5.1.3 forbids and OpenSSL 3 decodes leniently (y >= p, or x = 0 with
 * the sign bit set); see docs/crypto.md.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>
#include <openssl/sha.h>

#include "ed25519.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void require(int cond)
{
    if (!cond) {
        abort();
    }
}

static int ossl_verify(const uint8_t sig[64], const uint8_t *msg, size_t len, const uint8_t pub[32])
{
    EVP_PKEY *k = EVP_PKEY_new_raw_public_key(EVP_PKEY_ED25519, NULL, pub, 32);
    if (k == NULL) {
        return 0;
    }
    EVP_MD_CTX *c = EVP_MD_CTX_new();
    require(c != NULL);
    require(EVP_DigestVerifyInit(c, NULL, NULL, NULL, k) == 1);
    int r = EVP_DigestVerify(c, sig, 64, msg, len) == 1;
    EVP_MD_CTX_free(c);
    EVP_PKEY_free(k);
    return r;
}

/* y >= p = 2^255 - 19, or y = +-1 (x = 0) with the sign bit set. */
static int pub_forbidden_by_rfc(const uint8_t pub[32])
{
    uint8_t y[32];
    memcpy(y, pub, 32);
    y[31] &= 0x7f;
    int all_ff = 1;
    for (int i = 1; i < 31; i++) {
        all_ff &= y[i] == 0xff;
    }
    int ge_p = all_ff && y[31] == 0x7f && y[0] >= 0xed;
    int one = y[0] == 1 && y[31] == 0;
    for (int i = 1; i < 31; i++) {
        one &= y[i] == 0;
    }
    int minus_one = all_ff && y[31] == 0x7f && y[0] == 0xec;
    return ge_p || ((pub[31] & 0x80) != 0 && (one || minus_one));
}

static void check_agreement(const uint8_t sig[64], const uint8_t *msg, size_t len,
                            const uint8_t pub[32])
{
    int ours = ed25519_verify(sig, msg, len, pub);
    int ref = ossl_verify(sig, msg, len, pub);
    if (ours == ED25519_OK) {
        require(ref);
    } else if (ref) {
        require(ours == ED25519_ERR_PUBKEY && pub_forbidden_by_rfc(pub));
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1) {
        return 0;
    }
    uint8_t mode = data[0];
    if ((mode & 1u) == 0) {
        /* Short inputs (libFuzzer starts small) are stretched with SHA-512 so every run counts. */
        uint8_t key_sig[96];
        SHA512(data, size, key_sig);
        SHA512(key_sig, 64, &key_sig[32]);
        size_t have = size - 1 < sizeof key_sig ? size - 1 : sizeof key_sig;
        memcpy(key_sig, &data[1], have);
        if (mode == 0) {
            key_sig[63] &= 0x0f;
        }
        check_agreement(key_sig, &data[1 + have], size - 1 - have, &key_sig[64]);
        return 0;
    }

    if (size < 33) {
        return 0;
    }
    const uint8_t *msg = &data[33];
    size_t len = size - 33;
    EVP_PKEY *k = EVP_PKEY_new_raw_private_key(EVP_PKEY_ED25519, NULL, &data[1], 32);
    require(k != NULL);
    uint8_t pub[32];
    uint8_t sig[64];
    size_t n = sizeof pub;
    require(EVP_PKEY_get_raw_public_key(k, pub, &n) == 1 && n == 32);
    EVP_MD_CTX *c = EVP_MD_CTX_new();
    require(c != NULL);
    n = sizeof sig;
    require(EVP_DigestSignInit(c, NULL, NULL, NULL, k) == 1);
    require(EVP_DigestSign(c, sig, &n, msg, len) == 1 && n == 64);
    EVP_MD_CTX_free(c);
    EVP_PKEY_free(k);

    require(ed25519_verify(sig, msg, len, pub) == ED25519_OK);
    unsigned bit = ((unsigned)mode << 3 ^ data[1] ^ (unsigned)data[2] << 8) % (8u * 96u);
    if (bit < 512) {
        sig[bit / 8] ^= (uint8_t)(1u << (bit % 8));
    } else {
        pub[(bit - 512) / 8] ^= (uint8_t)(1u << (bit % 8));
    }
    require(ed25519_verify(sig, msg, len, pub) != ED25519_OK);
    check_agreement(sig, msg, len, pub);
    return 0;
}
