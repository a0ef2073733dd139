/* Shared helpers of the boot-core tests: hooks that record, PENDING records written directly. */
#ifndef BOOT_TEST_UTIL_H
#define BOOT_TEST_UTIL_H

#include <stdbool.h>
#include <stdint.h>

#include "boot_core.h"

struct boot_log_capture {
    char text[16384];
    uint32_t kicks;
    uint32_t progress_calls;
    uint32_t progress_last_done;
    uint32_t progress_last_total;
};

extern struct boot_log_capture boot_cap;
extern const struct boot_hooks boot_test_hooks;

void boot_cap_clear(void);
bool boot_cap_has(const char *needle);

/* Append a PENDING record naming the first 16 bytes of hash and size, as the application would. */
int boot_test_pending(const uint8_t hash[32], uint32_t size, uint8_t flags);

/* Value of the SHA-256 TLV of an image built by testimg (searches the TLV area). */
bool boot_test_image_hash(const uint8_t *img, uint32_t len, uint8_t out[32]);

#endif
