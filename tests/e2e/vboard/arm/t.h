/*
 * Minimal support for the vboard model tests: literal register addresses from
 * ../shared/reference/stm32f446.md (not from any firmware header), USART2 output, checks.
 * Each program prints "ok ..." / "FAIL ..." lines and ends with "ALL PASS" or a BKPT.
 */
#ifndef VB_TEST_H
#define VB_TEST_H

#include <stdint.h>

#define REG(a) (*(volatile uint32_t *)(a))
#define REG16(a) (*(volatile uint16_t *)(a))
#define REG8(a) (*(volatile uint8_t *)(a))
#define RAMFUNC __attribute__((section(".ramfunc"), noinline, long_call))
#define NOINIT __attribute__((section(".noinit")))

void t_uart_init(void);
void t_puts(const char *s);
void t_puthex(uint32_t v);
void t_putdec(uint32_t v);
void t_check(const char *name, uint32_t got, uint32_t want);
void t_check_true(const char *name, int cond);
/* Prints "ALL PASS <n>" if every check passed, else "TESTS FAILED" and stops with BKPT. */
void t_done(void);
/* Before a reset (which clears the counters): stop with BKPT if a check failed. */
void t_assert_clean(void);
extern volatile uint32_t t_failures;
extern volatile uint32_t t_checks;

static inline void t_wfi(void)
{
    __asm volatile("wfi");
}
static inline void t_cpsie(void)
{
    __asm volatile("cpsie i" ::: "memory");
}
static inline void t_cpsid(void)
{
    __asm volatile("cpsid i" ::: "memory");
}
static inline void t_dsb(void)
{
    __asm volatile("dsb 0xF\n isb 0xF" ::: "memory");
}

int main(void);

#endif
