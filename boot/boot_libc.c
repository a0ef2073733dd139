/*
 * The four C library routines the bootloader calls, small instead of fast: newlib-nano's
 * memcpy, memset, memcmp and strlen take ~790 B of flash, these ~120 B. Speed hardly matters
 * here: flash reads (flash_port_read) are the big user, and even byte by byte 256 KB take a few
 * milliseconds at 180 MHz, next to the seconds an erase and program of that area take. Linked
 * only into the bootloader; they take precedence over libc_nano's, which the linker then no
 * longer pulls in.
 *
 * Built without LTO and without loop-pattern detection (boot/CMakeLists.txt): otherwise GCC
 * would turn these loops back into calls to themselves.
 */
#include <stddef.h>
#include <stdint.h>
#include <string.h>

/* A word access that may alias any object (memcpy copies objects of every type). */
typedef uint32_t __attribute__((may_alias)) boot_word;

/* Whole words while both pointers are 4-byte aligned (flash reads into word buffers). */
void *memcpy(void *restrict dst, const void *restrict src, size_t n)
{
    uint8_t *d = dst;
    const uint8_t *s = src;
    if ((((uintptr_t)d | (uintptr_t)s) & 3u) == 0) {
        for (; n >= 4u; n -= 4u, d += 4, s += 4) {
            *(boot_word *)(void *)d = *(const boot_word *)(const void *)s;
        }
    }
    while (n-- != 0) {
        *d++ = *s++;
    }
    return dst;
}

void *memset(void *dst, int c, size_t n)
{
    uint8_t *d = dst;
    while (n-- != 0) {
        *d++ = (uint8_t)c;
    }
    return dst;
}

int memcmp(const void *a, const void *b, size_t n)
{
    const uint8_t *x = a;
    const uint8_t *y = b;
    for (size_t i = 0; i < n; i++) {
        if (x[i] != y[i]) {
            return (int)x[i] - (int)y[i];
        }
    }
    return 0;
}

size_t strlen(const char *s)
{
    const char *p = s;
    while (*p != '\0') {
        p++;
    }
    return (size_t)(p - s);
}
