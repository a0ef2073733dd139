/*
 * Cortex-M4 side of the instruction-count bench: a bare function the Unicorn runner calls with
 * r0 = which workload, built with the firmware's compiler and flags (-Os, Thumb-2, hard float).
 * Returns the workload's result so the runner can check it did the real work.
 */
#include <stdint.h>

#include "crc32.h"
#include "ed25519.h"
#include "sha256.h"
#include "sha512.h"

uint32_t m4_entry(uint32_t which);

/* Workload 6 verifies whatever the runner wrote here (layout shared with m4_count.c). */
struct m4_mailbox {
    uint32_t msg_len;
    uint8_t sig[64];
    uint8_t pub[32];
    uint8_t msg[1024];
};
__attribute__((section(".mailbox"), used)) static struct m4_mailbox mailbox;

#define M4_BUF_SIZE 4096u
static uint8_t buf[M4_BUF_SIZE];

_Noreturn void ota_assert_failed(const char *file, int line)
{
    (void)file;
    (void)line;
    for (;;) {
        __asm__ volatile("bkpt #1");
    }
}

/* RFC 8032 7.1 TEST 3 (m4_count.c holds the same bytes for the host side). */
static const uint8_t pub[32] = {
    0xfc, 0x51, 0xcd, 0x8e, 0x62, 0x18, 0xa1, 0xa3, 0x8d, 0xa4, 0x7e, 0xd0, 0x02, 0x30, 0xf0, 0x58,
    0x08, 0x16, 0xed, 0x13, 0xba, 0x33, 0x03, 0xac, 0x5d, 0xeb, 0x91, 0x15, 0x48, 0x90, 0x80, 0x25,
};
static const uint8_t sig[64] = {
    0x62, 0x91, 0xd6, 0x57, 0xde, 0xec, 0x24, 0x02, 0x48, 0x27, 0xe6, 0x9c, 0x3a, 0xbe, 0x01, 0xa3,
    0x0c, 0xe5, 0x48, 0xa2, 0x84, 0x74, 0x3a, 0x44, 0x5e, 0x36, 0x80, 0xd7, 0xdb, 0x5a, 0xc3, 0xac,
    0x18, 0xff, 0x9b, 0x53, 0x8d, 0x16, 0xf2, 0x90, 0xae, 0x67, 0xf7, 0x60, 0x98, 0x4d, 0xc6, 0x59,
    0x4a, 0x7c, 0x15, 0xe9, 0x71, 0x6e, 0xd2, 0x8d, 0xc0, 0x27, 0xbe, 0xce, 0xea, 0x1e, 0xc4, 0x0a,
};
static const uint8_t msg[2] = {0xaf, 0x82};

__attribute__((section(".text.m4_entry"))) uint32_t m4_entry(uint32_t which)
{
    uint8_t d[SHA512_DIGEST_SIZE];
    for (uint32_t i = 0; i < M4_BUF_SIZE; i++) {
        buf[i] = (uint8_t)(i * 131u + 7u);
    }
    switch (which) {
    case 0: /* the fill loop alone, subtracted from the others by the runner */
        return buf[M4_BUF_SIZE - 1];
    case 1:
        sha256(buf, M4_BUF_SIZE, d);
        return (uint32_t)d[0] | (uint32_t)d[1] << 8 | (uint32_t)d[2] << 16 | (uint32_t)d[3] << 24;
    case 2:
        sha512(buf, M4_BUF_SIZE, d);
        return (uint32_t)d[0] | (uint32_t)d[1] << 8 | (uint32_t)d[2] << 16 | (uint32_t)d[3] << 24;
    case 3:
        return crc32_update(0, buf, M4_BUF_SIZE);
    case 4:
        return (uint32_t)ed25519_verify(sig, msg, sizeof msg, pub);
    case 5: { /* the same signature for another message must fail, and for the right reason */
        const uint8_t other[2] = {0xaf, 0x83};
        return (uint32_t)ed25519_verify(sig, other, sizeof other, pub);
    }
    case 6:
        if (mailbox.msg_len > sizeof mailbox.msg) {
            return 0xFFFFFFFEu;
        }
        return (uint32_t)ed25519_verify(mailbox.sig, mailbox.msg, mailbox.msg_len, mailbox.pub);
    default:
        return 0xFFFFFFFFu;
    }
}
