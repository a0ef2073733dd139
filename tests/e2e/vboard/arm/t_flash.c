/*
 * Flash interface (stm32f446.md §2): lock and key sequence, CR ignored while locked, program =
 * AND, sector erase, PGSERR/PGPERR/PGAERR/WRPERR (W1C), stale flags, EOP only with EOPIE, BSY
 * for the typical times (16 us per word, 250 ms / 550 ms per 16 / 64 KB sector at x32) seen from
 * RAM code, fetches from flash stalled, wrong key -> bus fault and locked until reset.
 * Run with --wrp-sectors 0x80 (sector 7 write-protected).
 */
#include "t.h"

#define F_ACR 0x40023C00u
#define F_KEYR 0x40023C04u
#define F_SR 0x40023C0Cu
#define F_CR 0x40023C10u
#define SEC3 0x0800C000u
#define SEC4 0x08010000u
#define SEC7 0x08060000u
#define PSIZE32 (2u << 8)
#define PSIZE16 (1u << 8)

static NOINIT uint32_t phase;
static NOINIT uint32_t phase_check;
static volatile uint32_t hf_count, hf_cfsr, hf_hfsr;
static volatile uint32_t flash_irqs, flash_irq_sr;

void FLASH_IRQHandler(void)
{
    flash_irqs++;
    flash_irq_sr = REG(F_SR);
    REG(F_SR) = 1u; /* clear EOP, else the level interrupt comes back */
}

void HardFault_Handler(void)
{
    hf_count++;
    hf_cfsr = REG(0xE000ED28);
    hf_hfsr = REG(0xE000ED2C);
    REG(0xE000ED28) = hf_cfsr;
    REG(0xE000ED2C) = hf_hfsr;
}

static void wait_bsy(void)
{
    while (REG(F_SR) & (1u << 16)) {
    }
}

static void unlock(void)
{
    REG(F_KEYR) = 0x45670123u;
    REG(F_KEYR) = 0xCDEF89ABu;
}

static void erase(uint32_t sector)
{
    wait_bsy();
    REG(F_CR) = PSIZE32 | (sector << 3) | 2u;
    REG(F_CR) |= 1u << 16;
    wait_bsy();
    REG(F_CR) = 0;
}

/* Runs from SRAM: starts an erase, then counts DWT cycles until BSY clears. */
RAMFUNC uint32_t timed_erase_ram(uint32_t sector)
{
    REG(F_CR) = PSIZE32 | (sector << 3) | 2u;
    uint32_t c0 = REG(0xE0001004);
    REG(F_CR) |= 1u << 16;
    uint32_t saw_busy = REG(F_SR) & (1u << 16);
    while (REG(F_SR) & (1u << 16)) {
    }
    uint32_t dc = REG(0xE0001004) - c0;
    REG(F_CR) = 0;
    return saw_busy ? dc : 0;
}

RAMFUNC uint32_t timed_program_ram(uint32_t addr, uint32_t v)
{
    REG(F_CR) = PSIZE32 | 1u;
    uint32_t c0 = REG(0xE0001004);
    REG(addr) = v;
    while (REG(F_SR) & (1u << 16)) {
    }
    uint32_t dc = REG(0xE0001004) - c0;
    REG(F_CR) = 0;
    return dc;
}

static void after_reset(void)
{
    t_check("reset cause SFTRSTF|PINRSTF", REG(0x40023874) & 0x14000000u, 0x14000000u);
    t_check("locked after reset", REG(F_CR), 0x80000000u);
    unlock();
    t_check("correct keys unlock again after reset", REG(F_CR), 0u);
    /* marker the test runner reads back from the flash file */
    REG(F_CR) = PSIZE32 | 1u;
    REG(0x08008000u) = 0xA5A5A5A5u;
    wait_bsy();
    REG(F_CR) = 1u << 31;
    t_check("marker programmed", REG(0x08008000u), 0xA5A5A5A5u);
    t_done();
}

int main(void)
{
    if (phase == 0x51u && phase_check == ~0x51u) {
        phase = 0;
        after_reset();
        return 0;
    }
    REG(0xE000EDFC) |= 1u << 24;
    REG(0xE0001000) |= 1u;

    /* Locked: CR writes ignored, a store to flash is a sequence error and changes nothing. */
    REG(F_CR) = PSIZE32 | 1u;
    t_check("CR write ignored while locked", REG(F_CR), 0x80000000u);
    uint32_t before = REG(SEC3);
    REG(SEC3) = 0;
    t_check("store while locked: PGSERR", REG(F_SR), 1u << 7);
    t_check("store while locked: no change", REG(SEC3), before);
    REG(F_SR) = 1u << 7;
    t_check("PGSERR write-1-to-clear", REG(F_SR), 0u);

    unlock();
    t_check("unlocked by KEY1, KEY2", REG(F_CR), 0u);
    erase(3);
    t_check("erased word", REG(SEC3), 0xFFFFFFFFu);

    /* PG=0 */
    REG(F_CR) = PSIZE32;
    REG(SEC3) = 0x12345678u;
    t_check("PG=0: PGSERR", REG(F_SR), 1u << 7);
    /* stale flag blocks the next program */
    REG(F_CR) = PSIZE32 | 1u;
    REG(SEC3) = 0x12345678u;
    wait_bsy();
    t_check("stale PGSERR: refused", REG(SEC3), 0xFFFFFFFFu);
    REG(F_SR) = 0xF3u;
    t_check("error flags cleared with 0xF3", REG(F_SR), 0u);

    /* parallelism: byte store with PSIZE x32 */
    REG8(SEC3 + 4) = 0x00;
    t_check("byte store at x32: PGPERR", REG(F_SR), 1u << 6);
    t_check("PGPERR: no change", REG(SEC3 + 4), 0xFFFFFFFFu);
    REG(F_SR) = 1u << 6;
    /* alignment: half-word at an odd address with PSIZE x16 */
    REG(F_CR) = PSIZE16 | 1u;
    __asm volatile("strh %0, [%1]" ::"r"(0u), "r"(SEC3 + 9u) : "memory");
    wait_bsy();
    t_check("odd half-word at x16: PGAERR", REG(F_SR), 1u << 5);
    t_check("PGAERR: no change", REG(SEC3 + 8), 0xFFFFFFFFu);
    REG(F_SR) = 1u << 5;
    /* write protection (sector 7 protected by --wrp-sectors 0x80) */
    REG(F_CR) = PSIZE32 | 1u;
    REG(SEC7) = 0;
    wait_bsy();
    t_check("program in a protected sector: WRPERR", REG(F_SR), 1u << 4);
    REG(F_SR) = 1u << 4;
    erase(7);
    t_check("erase of a protected sector: WRPERR", REG(F_SR), 1u << 4);
    REG(F_SR) = 1u << 4;

    /* program = AND */
    REG(F_CR) = PSIZE32 | 1u;
    REG(SEC3) = 0x12345678u;
    wait_bsy();
    t_check("programmed", REG(SEC3), 0x12345678u);
    REG(SEC3) = 0xFFFF00FFu;
    wait_bsy();
    t_check("second program ANDs", REG(SEC3), 0x12340078u);
    t_check("no EOP without EOPIE", REG(F_SR), 0u);
    REG(F_CR) = 0;

    /* STRT without SER/MER, and with both */
    REG(F_CR) = PSIZE32;
    REG(F_CR) |= 1u << 16;
    wait_bsy();
    t_check("STRT without SER/MER: PGSERR", REG(F_SR), 1u << 7);
    REG(F_SR) = 1u << 7;
    REG(F_CR) = PSIZE32 | 2u | 4u | (3u << 3);
    REG(F_CR) |= 1u << 16;
    wait_bsy();
    t_check("SER and MER: PGSERR, nothing erased", REG(F_SR) | (REG(SEC3) == 0x12340078u ? 0 : 1),
            1u << 7);
    REG(F_SR) = 1u << 7;

    /* EOP with EOPIE */
    REG(F_CR) = PSIZE32 | (3u << 3) | 2u | (1u << 24);
    REG(F_CR) |= 1u << 16;
    wait_bsy();
    t_check("erase with EOPIE: EOP", REG(F_SR), 1u);
    t_check("sector 3 erased", REG(SEC3), 0xFFFFFFFFu);
    REG(F_SR) = 1u;
    t_check("EOP cleared", REG(F_SR), 0u);
    REG(F_CR) = 0;

    /* FLASH interrupt (IRQ 4) on EOP */
    t_cpsie();
    REG(0xE000E100) = 1u << 4;
    REG(F_CR) = PSIZE32 | 1u | (1u << 24);
    REG(SEC3) = 0xFFFF0000u;
    wait_bsy();
    t_dsb();
    t_check("FLASH IRQ once on EOP", flash_irqs, 1);
    t_check("SR in the IRQ: EOP", flash_irq_sr, 1u);
    t_check("EOP cleared by the handler", REG(F_SR), 0u);
    REG(F_CR) = 0;
    REG(0xE000E180) = 1u << 4;
    erase(3);

    /* BSY durations seen from RAM at 16 MHz: 550 ms (64 KB) = 8.8 M cycles, 16 us = 256. */
    uint32_t dc = timed_erase_ram(4);
    t_check_true("64 KB erase busy ~550 ms (8.8 M cycles at 16 MHz)",
                 dc >= 8800000u && dc <= 8900000u);
    dc = timed_program_ram(SEC4, 0x0u);
    t_check_true("word program busy ~16 us (256 cycles)", dc >= 256u && dc <= 320u);
    /* fetches from flash stall: the erase call from flash code returns after >= 250 ms */
    uint32_t c0 = REG(0xE0001004);
    erase(3);
    dc = REG(0xE0001004) - c0;
    t_check_true("16 KB erase from flash code stalls ~250 ms (4 M cycles)",
                 dc >= 4000000u && dc <= 4100000u);

    /* Re-lock, then a wrong key: bus fault (imprecise -> HardFault FORCED), locked until reset. */
    REG(F_CR) = 1u << 31;
    t_check("LOCK set by software", REG(F_CR) >> 31, 1u);
    REG(F_KEYR) = 0x45670123u;
    REG(F_KEYR) = 0x11111111u;
    t_dsb();
    t_check("wrong key: HardFault", hf_count, 1);
    t_check("wrong key: CFSR IMPRECISERR", hf_cfsr, 1u << 10);
    t_check("wrong key: HFSR FORCED", hf_hfsr, 1u << 30);
    unlock();
    t_dsb();
    t_check("correct keys after a wrong one: still locked", REG(F_CR) >> 31, 1u);
    t_check_true("and they fault again", hf_count >= 2);
    t_assert_clean();
    phase = 0x51u;
    phase_check = ~0x51u;
    t_dsb();
    REG(0xE000ED0C) = 0x05FA0004u; /* SYSRESETREQ */
    for (;;) {
    }
}
