/*
 * Caller bugs in functions without an error return (a NULL context, NULL data with a non-zero
 * length, a corrupted context): OTA_ASSERT stops there; should an assert handler ever return,
 * the early return keeps the function from touching memory it was not given. Private to
 * lib/crypto.
 */
#ifndef CRYPTO_ASSERT_H
#define CRYPTO_ASSERT_H

#include "ota_util.h"

#define CRYPTO_REQUIRE(cond)                                                                       \
    do {                                                                                           \
        if (!(cond)) {                                                                             \
            OTA_ASSERT(0);                                                                         \
            return;                                                                                \
        }                                                                                          \
    } while (0)

#define CRYPTO_REQUIRE_RET(cond, value)                                                            \
    do {                                                                                           \
        if (!(cond)) {                                                                             \
            OTA_ASSERT(0);                                                                         \
            return (value);                                                                        \
        }                                                                                          \
    } while (0)

#endif
