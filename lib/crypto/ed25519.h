/*
 * Ed25519 signature verification (RFC 8032, PureEdDSA), verification only: every input is public,
 * so no constant-time requirement. No allocation; stack use is documented in docs/crypto.md.
 */
#ifndef ED25519_H
#define ED25519_H

#include <stddef.h>
#include <stdint.h>

#define ED25519_PUBKEY_SIZE 32
#define ED25519_SIG_SIZE 64

/* 0 if sig is a valid signature of msg under pub; non-zero otherwise (including malformed input). */
int ed25519_verify(const uint8_t sig[ED25519_SIG_SIZE], const uint8_t *msg, size_t msg_len,
                   const uint8_t pub[ED25519_PUBKEY_SIZE]);

#endif
