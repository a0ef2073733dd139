/*
 * Small helpers shared by every portable library: the VERIFY/ASSERT split (TinyUSB, lwIP),
 * overflow-checked arithmetic for sizes that come from flash or the network (MCUboot), and
 * little-endian accessors. No allocation, no I/O.
 */
#ifndef OTA_UTIL_H
#define OTA_UTIL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Bad input from outside (an image, a packet, a caller's argument): return an error code. */
#define OTA_VERIFY(cond, err)                                                                      \
    do {                                                                                           \
        if (!(cond)) {                                                                             \
            return (err);                                                                          \
        }                                                                                          \
    } while (0)

/* Propagate a non-zero status. */
#define OTA_TRY(expr)                                                                              \
    do {                                                                                           \
        int ota_try_rc_ = (expr);                                                                  \
        if (ota_try_rc_ != 0) {                                                                    \
            return ota_try_rc_;                                                                    \
        }                                                                                          \
    } while (0)

/*
 * A firmware bug (a broken invariant that no input can cause). The target halts in the debugger
 * when one is attached and otherwise spins until the watchdog resets it; the host aborts so tests
 * and sanitizers see it. Never returns, so compilers and analysers know that the code after a
 * failed OTA_ASSERT is not reached. The GNU attribute repeats _Noreturn for cppcheck 2.10, which
 * loses _Noreturn in files that include a system header (gcc and clang accept both).
 */
_Noreturn void ota_assert_failed(const char *file, int line) __attribute__((noreturn));
#define OTA_ASSERT(cond)                                                                           \
    do {                                                                                           \
        if (!(cond)) {                                                                             \
            ota_assert_failed(__FILE__, __LINE__);                                                 \
        }                                                                                          \
    } while (0)

#define OTA_ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))

/* a + b without wrap-around; false if it would overflow. */
static inline bool ota_u32_add(uint32_t a, uint32_t b, uint32_t *out)
{
    if (a > UINT32_MAX - b) {
        return false;
    }
    *out = a + b;
    return true;
}

/* True if [off, off + len) lies inside [0, limit). */
static inline bool ota_range_ok(uint32_t off, uint32_t len, uint32_t limit)
{
    return off <= limit && len <= limit - off;
}

static inline uint16_t ota_get_le16(const uint8_t *p)
{
    return (uint16_t)(p[0] | (p[1] << 8));
}

static inline uint32_t ota_get_le32(const uint8_t *p)
{
    return (uint32_t)p[0] | ((uint32_t)p[1] << 8) | ((uint32_t)p[2] << 16) | ((uint32_t)p[3] << 24);
}

static inline void ota_put_le16(uint8_t *p, uint16_t v)
{
    p[0] = (uint8_t)v;
    p[1] = (uint8_t)(v >> 8);
}

static inline void ota_put_le32(uint8_t *p, uint32_t v)
{
    p[0] = (uint8_t)v;
    p[1] = (uint8_t)(v >> 8);
    p[2] = (uint8_t)(v >> 16);
    p[3] = (uint8_t)(v >> 24);
}

static inline uint16_t ota_get_be16(const uint8_t *p)
{
    return (uint16_t)((p[0] << 8) | p[1]);
}

static inline uint32_t ota_get_be32(const uint8_t *p)
{
    return ((uint32_t)p[0] << 24) | ((uint32_t)p[1] << 16) | ((uint32_t)p[2] << 8) | (uint32_t)p[3];
}

static inline void ota_put_be16(uint8_t *p, uint16_t v)
{
    p[0] = (uint8_t)(v >> 8);
    p[1] = (uint8_t)v;
}

static inline void ota_put_be32(uint8_t *p, uint32_t v)
{
    p[0] = (uint8_t)(v >> 24);
    p[1] = (uint8_t)(v >> 16);
    p[2] = (uint8_t)(v >> 8);
    p[3] = (uint8_t)v;
}

/* Decimal digits of v into out (no sign, NUL-terminated); returns the number of digits. */
static inline size_t ota_u32_to_dec(char out[11], uint32_t v)
{
    char tmp[10];
    size_t n = 0;
    do {
        tmp[n++] = (char)('0' + v % 10u);
        v /= 10u;
    } while (v != 0);
    for (size_t i = 0; i < n; i++) {
        out[i] = tmp[n - 1 - i];
    }
    out[n] = '\0';
    return n;
}

/* Constant-time comparison for digests and signatures; 0 when equal. */
static inline int ota_memcmp_ct(const void *a, const void *b, size_t len)
{
    const uint8_t *x = (const uint8_t *)a;
    const uint8_t *y = (const uint8_t *)b;
    uint8_t diff = 0;
    for (size_t i = 0; i < len; i++) {
        diff |= (uint8_t)(x[i] ^ y[i]);
    }
    return diff != 0;
}

#endif /* OTA_UTIL_H */
