/*
 * Flash port for the STM32F446 (single bank, 8 sectors).
 *
 * While an erase or a program runs, any fetch from flash stalls the bus (sheet §2.6). So the
 * store that starts the operation and the wait for BSY run from RAM (.ramfunc), with interrupts
 * masked (their vectors and handlers are in flash), refreshing the IWDG directly and counting
 * milliseconds from SysTick's COUNTFLAG; the ticks missed meanwhile are added back afterwards.
 */
#include "flash_stm32.h"

#include "flash_layout.h"
#include "flash_port.h"
#include "stm32f446.h"
#include "systick.h"

#include <stdbool.h>
#include <string.h>

/* A word program takes 100 us at most (sheet §2.9); 3 ms covers the 1 ms tick granularity. */
#define FLASH_PROGRAM_TIMEOUT_MS 3u
/*
 * Second bound on the wait loop, for a stopped SysTick: no pass of the loop is shorter than one
 * cycle at 180 MHz, so this many passes never end the wait early.
 */
#define FLASH_LOOPS_PER_MS 180000u

/* Bootloader sectors are never written by either program (the bootloader does not update itself). */
#ifndef FLASH_STM32_ALLOW_BOOT_WRITE
#define FLASH_STM32_ALLOW_BOOT_WRITE 0
#endif

struct flash_wait {
    uint32_t elapsed_ms;
    uint32_t timed_out;
};

/*
 * Store val to *reg (FLASH_CR.STRT for an erase, the target word for a program), then wait for
 * BSY = 0. Runs from RAM; calls nothing and touches only peripheral registers and its arguments.
 */
__attribute__((section(".ramfunc"), noinline, long_call)) static void
flash_ram_run(volatile uint32_t *reg, uint32_t val, uint32_t timeout_ms, struct flash_wait *w)
{
    uint32_t ms = 0;
    uint32_t loops = 0;
    uint32_t cap = timeout_ms * FLASH_LOOPS_PER_MS;
    *reg = val;
    __asm volatile("dsb sy" ::: "memory");
    while ((STM32_FLASH->SR & FLASH_SR_BSY) != 0) {
        STM32_IWDG->KR = IWDG_KEY_RELOAD;
        if ((CM4_SYSTICK->CTRL & SYSTICK_CTRL_COUNTFLAG) != 0) {
            ms++;
        }
        if (ms >= timeout_ms || ++loops >= cap) {
            w->elapsed_ms = ms;
            w->timed_out = 1;
            return;
        }
    }
    STM32_IWDG->KR = IWDG_KEY_RELOAD;
    w->elapsed_ms = ms;
    w->timed_out = 0;
}

/* Run one operation with interrupts masked; gives the tick back the milliseconds it spent. */
static int flash_run(volatile uint32_t *reg, uint32_t val, uint32_t timeout_ms)
{
    struct flash_wait w = {0, 0};
    uint32_t primask = cm4_irq_save();
    flash_ram_run(reg, val, timeout_ms, &w);
    cm4_irq_restore(primask);
    /* One SysTick stays pending through the masked period and is counted by its handler. */
    if (w.elapsed_ms > 1u) {
        systick_advance(w.elapsed_ms - 1u);
    }
    if (w.timed_out != 0) {
        return FLASH_STM32_ERR_TIMEOUT;
    }
    return flash_stm32_sr_error(STM32_FLASH->SR);
}

int flash_stm32_sr_error(uint32_t sr)
{
    if ((sr & FLASH_SR_WRPERR) != 0) {
        return FLASH_STM32_ERR_WRP;
    }
    if ((sr & FLASH_SR_PGAERR) != 0) {
        return FLASH_STM32_ERR_PGA;
    }
    if ((sr & FLASH_SR_PGPERR) != 0) {
        return FLASH_STM32_ERR_PGP;
    }
    if ((sr & FLASH_SR_PGSERR) != 0) {
        return FLASH_STM32_ERR_PGS;
    }
    if ((sr & FLASH_SR_OPERR) != 0) {
        return FLASH_STM32_ERR_OPERR;
    }
    if ((sr & FLASH_SR_RDERR) != 0) {
        return FLASH_STM32_ERR_RDERR;
    }
    return FLASH_STM32_OK;
}

uint32_t flash_stm32_erase_max_ms(uint32_t sector)
{
    if (sector < 4u) {
        return 500u;
    }
    return sector == 4u ? 1100u : 2000u;
}

void flash_stm32_flush_caches(void)
{
    struct stm32_flash *f = STM32_FLASH;
    /* The reset bits only work while the cache is off ([HAL-FLASH] note). */
    if ((f->ACR & FLASH_ACR_ICEN) != 0) {
        f->ACR &= ~FLASH_ACR_ICEN;
        f->ACR |= FLASH_ACR_ICRST;
        f->ACR &= ~FLASH_ACR_ICRST;
        f->ACR |= FLASH_ACR_ICEN;
    }
    if ((f->ACR & FLASH_ACR_DCEN) != 0) {
        f->ACR &= ~FLASH_ACR_DCEN;
        f->ACR |= FLASH_ACR_DCRST;
        f->ACR &= ~FLASH_ACR_DCRST;
        f->ACR |= FLASH_ACR_DCEN;
    }
}

/* Unlock CR, wait for any running operation, clear stale flags (they fail the next operation). */
static int flash_begin(void)
{
    struct stm32_flash *f = STM32_FLASH;
    if ((f->CR & FLASH_CR_LOCK) != 0) {
        f->KEYR = FLASH_KEY1;
        f->KEYR = FLASH_KEY2;
        if ((f->CR & FLASH_CR_LOCK) != 0) {
            return FLASH_STM32_ERR_LOCKED;
        }
    }
    for (uint32_t n = 0; (f->SR & FLASH_SR_BSY) != 0; n++) {
        if (n >= FLASH_LOOPS_PER_MS * FLASH_PROGRAM_TIMEOUT_MS) {
            f->CR |= FLASH_CR_LOCK;
            return FLASH_STM32_ERR_TIMEOUT;
        }
    }
    f->SR = FLASH_SR_ALL_FLAGS;
    return FLASH_STM32_OK;
}

/* Clear the operation bits and lock, whatever happened. */
static void flash_end(void)
{
    struct stm32_flash *f = STM32_FLASH;
    f->CR &= ~(FLASH_CR_PG | FLASH_CR_SER | FLASH_CR_MER | FLASH_CR_SNB_MASK);
    f->SR = FLASH_SR_ALL_FLAGS;
    f->CR |= FLASH_CR_LOCK;
}

static bool flash_in_boot(uint32_t addr)
{
    return FLASH_STM32_ALLOW_BOOT_WRITE == 0 && addr >= BOOT_ADDR && addr < BOOT_ADDR + BOOT_SIZE;
}

PORT_ENTRY int flash_port_read(uint32_t addr, void *dst, uint32_t len)
{
    if (addr < FLASH_BASE_ADDR || addr > FLASH_END_ADDR || len > FLASH_END_ADDR - addr) {
        return FLASH_STM32_ERR_ARG;
    }
    if (len == 0) {
        return FLASH_STM32_OK;
    }
    if (dst == NULL) {
        return FLASH_STM32_ERR_ARG;
    }
    /* Flash is memory-mapped: the address is the data. */
    memcpy(dst, (const void *)(uintptr_t)addr, len); /* NOLINT(performance-no-int-to-ptr) */
    return FLASH_STM32_OK;
}

PORT_ENTRY int flash_port_program(uint32_t addr, const void *src, uint32_t len)
{
    if (addr < FLASH_BASE_ADDR || addr > FLASH_END_ADDR || len > FLASH_END_ADDR - addr ||
        addr % FLASH_WRITE_ALIGN != 0 || len % FLASH_WRITE_ALIGN != 0) {
        return FLASH_STM32_ERR_ARG;
    }
    if (len == 0) {
        return FLASH_STM32_OK;
    }
    if (src == NULL) {
        return FLASH_STM32_ERR_ARG;
    }
    if (flash_in_boot(addr) || flash_in_boot(addr + len - 1u)) {
        return FLASH_STM32_ERR_PROTECTED;
    }
    int rc = flash_begin();
    if (rc != FLASH_STM32_OK) {
        return rc;
    }
    struct stm32_flash *f = STM32_FLASH;
    f->CR = (f->CR & ~(FLASH_CR_PSIZE_MASK | FLASH_CR_SER | FLASH_CR_MER | FLASH_CR_SNB_MASK)) |
            FLASH_CR_PSIZE_X32 | FLASH_CR_PG;
    const uint8_t *p = (const uint8_t *)src;
    for (uint32_t off = 0; off < len; off += 4u) {
        /* src need not be aligned: assemble the little-endian word byte by byte. */
        uint32_t word = (uint32_t)p[off] | ((uint32_t)p[off + 1u] << 8) |
                        ((uint32_t)p[off + 2u] << 16) | ((uint32_t)p[off + 3u] << 24);
        /* A plain 32-bit store to the flash address programs the word (PG set). */
        volatile uint32_t *target =
            (volatile uint32_t *)(uintptr_t)(addr + off); /* NOLINT(performance-no-int-to-ptr) */
        rc = flash_run(target, word, FLASH_PROGRAM_TIMEOUT_MS);
        if (rc != FLASH_STM32_OK) {
            break;
        }
    }
    flash_end();
    /* The data cache may hold the old (erased) line of a word that was read before. */
    flash_stm32_flush_caches();
    return rc;
}

PORT_ENTRY int flash_port_erase_sector(uint32_t sector)
{
    if (sector >= FLASH_SECTOR_COUNT) {
        return FLASH_STM32_ERR_ARG;
    }
    if (FLASH_STM32_ALLOW_BOOT_WRITE == 0 && sector < BOOT_FIRST_SECTOR + BOOT_SECTOR_COUNT) {
        return FLASH_STM32_ERR_PROTECTED;
    }
    int rc = flash_begin();
    if (rc != FLASH_STM32_OK) {
        return rc;
    }
    struct stm32_flash *f = STM32_FLASH;
    uint32_t cr = (f->CR & ~(FLASH_CR_PSIZE_MASK | FLASH_CR_PG | FLASH_CR_MER | FLASH_CR_SNB_MASK)) |
                  FLASH_CR_PSIZE_X32 | FLASH_CR_SER | (sector << FLASH_CR_SNB_POS);
    f->CR = cr;
    /* STRT in its own write, from RAM: the next fetch from flash would stall for up to 2 s. */
    rc = flash_run(&f->CR, cr | FLASH_CR_STRT, 2u * flash_stm32_erase_max_ms(sector));
    flash_end();
    flash_stm32_flush_caches();
    return rc;
}
