/*
 * Ed25519 signature verification (RFC 8032, PureEdDSA), verification only: every input is public,
 * so no constant-time requirement. No allocation; stack use is documented in docs/crypto.md.
 *
 * The check is cofactorless and compares encodings, as OpenSSL does: accept iff S < L, A decodes
 * to a curve point, and encode([S]B - [k]A) equals the 32 bytes of R, with k = SHA-512(R||A||M)
 * mod L. A non-canonical R can therefore never verify.
 */
#ifndef ED25519_H
#define ED25519_H

#include <stddef.h>
#include <stdint.h>

#define ED25519_PUBKEY_SIZE 32
#define ED25519_SIG_SIZE 64

/* Results of the verify functions; everything but ED25519_OK means "do not trust this". */
enum ed25519_status {
    ED25519_OK = 0,
    ED25519_ERR_ARG = -1,        /* NULL sig or pub, or NULL msg with a non-zero length */
    ED25519_ERR_LENGTH = -2,     /* signature or public key not of its fixed size */
    ED25519_ERR_S_RANGE = -3,    /* S >= L: non-canonical (malleable) signature */
    ED25519_ERR_PUBKEY = -4,     /* A is not the encoding of a curve point */
    ED25519_ERR_R_ENCODING = -5, /* R's y coordinate is not below p, so R cannot match */
    ED25519_ERR_MISMATCH = -6,   /* well-formed, but [S]B - [k]A does not encode to R */
};

/* 0 if sig is a valid signature of msg under pub; non-zero otherwise (including malformed input). */
int ed25519_verify(const uint8_t sig[ED25519_SIG_SIZE], const uint8_t *msg, size_t msg_len,
                   const uint8_t pub[ED25519_PUBKEY_SIZE]);

/* As ed25519_verify, for a signature and key of untrusted length (ED25519_ERR_LENGTH if wrong). */
int ed25519_verify_buf(const uint8_t *sig, size_t sig_len, const uint8_t *msg, size_t msg_len,
                       const uint8_t *pub, size_t pub_len);

#endif
