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
#include "rfc8032_test3.h"

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
        return (uint32_t)ed25519_verify(rfc8032_t3_sig, rfc8032_t3_msg, sizeof rfc8032_t3_msg,
                                        rfc8032_t3_pub);
    case 5: { /* the same signature for another message must fail, and for the right reason */
        const uint8_t other[2] = {0xaf, 0x83};
        return (uint32_t)ed25519_verify(rfc8032_t3_sig, other, sizeof other, rfc8032_t3_pub);
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
