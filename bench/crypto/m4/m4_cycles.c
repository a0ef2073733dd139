/*
 * crypto_cycles.elf: cycles of SHA-256, CRC-32 and one Ed25519 verification on the STM32F446 at
 * 180 MHz, read from DWT CYCCNT. Built in the firmware build with the firmware's compiler, flags
 * and libota_crypto (app/variants.cmake), linked at 0x08000000 with the port's start-up and clock
 * set-up (HSE PLL 180 MHz, 5 wait states, ART caches and prefetch on, as both programs run).
 * Run on the virtual board by bench/crypto/m4_vboard.py, which checks the digests and prints the
 * table. Every line starts "m4cycles: "; the last is "m4cycles: done".
 */
#include <stdint.h>

#include "board.h"
#include "clock.h"
#include "crc32.h"
#include "ed25519.h"
#include "sha256.h"
#include "rfc8032_test3.h"

#define CM4_DEMCR (*(volatile uint32_t *)0xE000EDFCu)
#define CM4_DEMCR_TRCENA (1u << 24)
#define DWT_CTRL (*(volatile uint32_t *)0xE0001000u)
#define DWT_CTRL_CYCCNTENA 1u
#define DWT_CYCCNT (*(volatile uint32_t *)0xE0001004u)

#define BUF_SIZE 16384u
static uint8_t buf[BUF_SIZE];

static const uint8_t msg_bad[2] = {0xaf, 0x83}; /* TEST 3 with one bit changed */

/* Cycles of the two counter reads around an empty measurement, subtracted from every figure. */
static uint32_t cyc_overhead;

static void put(const char *s)
{
    (void)board_log(s);
}

static void put_dec(uint32_t v)
{
    (void)board_log_dec(v);
}

/* "m4cycles: <what> <bytes> <cycles> <digest word or result>" */
static void report(const char *what, uint32_t bytes, uint32_t cycles, uint32_t check)
{
    put("m4cycles: ");
    put(what);
    put(" ");
    put_dec(bytes);
    put(" ");
    put_dec(cycles - cyc_overhead);
    put(" ");
    (void)board_log_hex(check);
    put("\r\n");
}

static uint32_t digest_word(const uint8_t d[SHA256_DIGEST_SIZE])
{
    return (uint32_t)d[0] << 24 | (uint32_t)d[1] << 16 | (uint32_t)d[2] << 8 | d[3];
}

static void bench_sha256(const char *what, const uint8_t *data, uint32_t len)
{
    uint8_t d[SHA256_DIGEST_SIZE];
    uint32_t t0 = DWT_CYCCNT;
    sha256(data, len, d);
    uint32_t t1 = DWT_CYCCNT;
    report(what, len, t1 - t0, digest_word(d));
}

static void bench_verify(const char *what, const uint8_t *msg, uint32_t len)
{
    uint32_t t0 = DWT_CYCCNT;
    int rc = ed25519_verify(rfc8032_t3_sig, msg, len, rfc8032_t3_pub);
    uint32_t t1 = DWT_CYCCNT;
    report(what, len, t1 - t0, (uint32_t)rc);
}

int main(void)
{
    struct clock_info ci;
    int clock_rc = clock_init(&ci);
    if (board_uart_init(ci.pclk1_hz) != 0) {
        for (;;) {
        }
    }
    put("m4cycles: hclk ");
    put_dec(ci.hclk_hz);
    put(clock_rc == CLOCK_OK ? " ok\r\n" : " clock-error\r\n");

    CM4_DEMCR |= CM4_DEMCR_TRCENA;
    DWT_CYCCNT = 0;
    DWT_CTRL |= DWT_CTRL_CYCCNTENA;
    uint32_t t0 = DWT_CYCCNT;
    uint32_t t1 = DWT_CYCCNT;
    cyc_overhead = t1 - t0;
    put("m4cycles: overhead ");
    put_dec(cyc_overhead);
    put("\r\n");

    for (uint32_t i = 0; i < BUF_SIZE; i++) {
        buf[i] = (uint8_t)(i * 131u + 7u);
    }
    bench_sha256("sha256-sram", buf, 64u);
    bench_sha256("sha256-sram", buf, 4096u);
    bench_sha256("sha256-sram", buf, BUF_SIZE);
    /* The image hash reads flash: the first 16 KB of this program. */
    bench_sha256("sha256-flash", (const uint8_t *)0x08000000u, BUF_SIZE);

    uint32_t c0 = DWT_CYCCNT;
    uint32_t crc = crc32_update(0, buf, BUF_SIZE);
    uint32_t c1 = DWT_CYCCNT;
    report("crc32-sram", BUF_SIZE, c1 - c0, crc);

    bench_verify("ed25519-valid", rfc8032_t3_msg, sizeof rfc8032_t3_msg);
    bench_verify("ed25519-invalid", msg_bad, sizeof msg_bad);
    put("m4cycles: done\r\n");
    for (;;) {
        __asm volatile("wfi");
    }
}
