/*
 * BSY polling fast-forward (docs/vboard.md "Time model"): erases polled from RAM the way the
 * firmware's flash port does it. run_case.py --same-without-ff runs this program twice, with and
 * without --no-fast-forward, and requires the same output: every count, cycle figure, LED change
 * time and reset time below must come out equal whether the polling passes were emulated or
 * jumped over.
 *   1. interrupts masked, IWDG reloaded and SysTick COUNTFLAG counted in the loop (128 KB erase,
 *      1000 ms at x32): COUNTFLAG seen once per millisecond, CYCCNT advanced by the erase time;
 *   2. interrupts enabled: the SysTick handler (in RAM, vector table in RAM) runs every 1 ms during
 *      the erase and toggles the LED every 100 ticks (the LED changes are logged with their time);
 *   4. a loop that reads SysTick VAL (different every pass) is not jumped over: its pass count
 *      and the sum of the values it read come out the same;
 *   3. no IWDG reload: the watchdog (50 ms) resets the board in the middle of a 1000 ms erase.
 * Clock: HSI 16 MHz after reset; SysTick reload 15999 = 1 ms.
 */
#include "t.h"

#define F_KEYR 0x40023C04u
#define F_SR 0x40023C0Cu
#define F_CR 0x40023C10u
#define PSIZE32 (2u << 8)
#define BSY (1u << 16)
#define ST_CTRL 0xE000E010u
#define ST_LOAD 0xE000E014u
#define ST_VAL 0xE000E018u
#define SCB_VTOR 0xE000ED08u
#define DEMCR 0xE000EDFCu
#define DWT_CTRL 0xE0001000u
#define DWT_CYCCNT 0xE0001004u
#define IWDG_KR 0x40003000u
#define IWDG_PR 0x40003004u
#define IWDG_RLR 0x40003008u
#define RCC_AHB1ENR 0x40023830u
#define RCC_CSR 0x40023874u
#define GPIOA_MODER 0x40020000u
#define GPIOA_ODR 0x40020014u

static uint32_t ram_vectors[16 + 97] __attribute__((aligned(512)));
static volatile uint32_t ticks;

RAMFUNC void systick_ram(void)
{
    ticks++;
    if (ticks % 100u == 0u) {
        REG(GPIOA_ODR) ^= 1u;
    }
}

/* Starts a sector erase and polls BSY (reloading the IWDG if asked), counting SysTick COUNTFLAG:
 * the firmware's flash_ram_run without its timeouts. */
RAMFUNC uint32_t erase_poll(uint32_t sector, uint32_t reload)
{
    uint32_t ms = 0;
    REG(F_CR) = PSIZE32 | (sector << 3) | 2u;
    REG(F_CR) |= 1u << 16;
    while (REG(F_SR) & BSY) {
        if (reload != 0u) {
            REG(IWDG_KR) = 0xAAAAu;
        }
        if (REG(ST_CTRL) & (1u << 16)) {
            ms++;
        }
    }
    REG(F_CR) = 0;
    return ms;
}

/* A polling loop that also reads SysTick VAL, which changes every pass: it must not be jumped
 * over (every pass is counted and its VAL summed). */
RAMFUNC uint32_t erase_poll_val(uint32_t sector, uint32_t *passes)
{
    uint32_t sum = 0;
    uint32_t n = 0;
    REG(F_CR) = PSIZE32 | (sector << 3) | 2u;
    REG(F_CR) |= 1u << 16;
    while (REG(F_SR) & BSY) {
        sum += REG(ST_VAL);
        n++;
    }
    REG(F_CR) = 0;
    *passes = n;
    return sum;
}

static void put_line(const char *what, uint32_t v)
{
    t_puts(what);
    t_putdec(v);
    t_puts("\n");
}

int main(void)
{
    if (REG(RCC_CSR) & (1u << 29)) {
        t_puts("ok IWDG reset during the erase\n");
        t_check("RCC_CSR after the IWDG reset", REG(RCC_CSR) & 0xFF000000u, 0x2E000000u);
        t_done();
        return 0;
    }
    REG(RCC_AHB1ENR) |= 1u;
    REG(GPIOA_MODER) = (REG(GPIOA_MODER) & ~3u) | 1u;
    REG(DEMCR) |= 1u << 24;
    REG(DWT_CTRL) |= 1u;
    for (uint32_t i = 0; i < 16u + 97u; i++) {
        ram_vectors[i] = REG(0x08000000u + 4u * i);
    }
    ram_vectors[15] = (uint32_t)&systick_ram;
    REG(SCB_VTOR) = (uint32_t)&ram_vectors[0];
    t_dsb();
    REG(F_KEYR) = 0x45670123u;
    REG(F_KEYR) = 0xCDEF89ABu;
    REG(ST_LOAD) = 15999u;
    REG(ST_VAL) = 0;
    REG(ST_CTRL) = 7u; /* processor clock, TICKINT, ENABLE */
    REG(IWDG_KR) = 0xCCCCu;
    REG(IWDG_KR) = 0x5555u;
    REG(IWDG_PR) = 0;       /* LSI / 4 */
    REG(IWDG_RLR) = 0xFFFu; /* 4096 x 4 / 32 kHz = 512 ms */
    REG(IWDG_KR) = 0xAAAAu;

    /* 1. Masked. */
    t_cpsid();
    uint32_t t0 = ticks;
    uint32_t c0 = REG(DWT_CYCCNT);
    uint32_t ms = erase_poll(5, 1);
    uint32_t dc = REG(DWT_CYCCNT) - c0;
    uint32_t t1 = ticks;
    t_cpsie();
    uint32_t t2 = ticks;
    put_line("masked erase: COUNTFLAG seen ", ms);
    put_line("masked erase: CYCCNT advanced ", dc);
    put_line("masked erase: SysTick handler runs after unmasking ", t2 - t1);
    t_check("no SysTick handler while masked", t1 - t0, 0);
    t_check("one SysTick pending through the masked erase", t2 - t1, 1);
    t_check_true("COUNTFLAG once per ms of the 1000 ms erase", ms >= 999u && ms <= 1001u);
    t_check_true("CYCCNT: 1000 ms at 16 MHz", dc >= 16000000u && dc <= 16016000u);

    /* 2. Interrupts enabled. */
    t0 = ticks;
    c0 = REG(DWT_CYCCNT);
    ms = erase_poll(6, 1);
    dc = REG(DWT_CYCCNT) - c0;
    t1 = ticks;
    put_line("unmasked erase: SysTick handler runs ", t1 - t0);
    put_line("unmasked erase: COUNTFLAG seen by the loop ", ms);
    put_line("unmasked erase: CYCCNT advanced ", dc);
    t_check_true("SysTick handler every ms of the 1000 ms erase",
                 t1 - t0 >= 999u && t1 - t0 <= 1001u);
    t_check_true("CYCCNT: 1000 ms at 16 MHz", dc >= 16000000u && dc <= 16016000u);

    /* 4. A loop reading SysTick VAL: not a loop to jump over (same pass count either way). */
    REG(IWDG_KR) = 0xAAAAu;
    uint32_t passes = 0;
    uint32_t sum = erase_poll_val(3, &passes);
    put_line("VAL-reading poll: passes ", passes);
    put_line("VAL-reading poll: VAL sum ", sum);
    t_check_true("VAL-reading poll ran through the 250 ms erase", passes > 100000u);

    /* 3. No reload: the IWDG (50 ms) ends the 1000 ms erase. */
    REG(IWDG_KR) = 0x5555u;
    REG(IWDG_RLR) = 399u; /* 400 x 4 / 32 kHz = 50 ms */
    REG(IWDG_KR) = 0xAAAAu;
    t_assert_clean();
    t_puts("erase without IWDG reload\n");
    t_cpsid();
    (void)erase_poll(7, 0);
    t_puts("FAIL the erase ended without an IWDG reset\n");
    __asm volatile("bkpt #2");
    return 0;
}
