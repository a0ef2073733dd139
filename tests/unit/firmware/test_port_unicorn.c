/*
 * The port's clock and flash drivers as compiled for the target: functions of bootloader.elf are
 * called one at a time on Unicorn (Cortex-M4, Thumb), against small register models of RCC, PWR,
 * FLASH, IWDG and SysTick written from ../shared/reference/stm32f446.md, with faults injected:
 * a missing HSE, a PLL or over-drive that never gets ready, a latency that does not read back,
 * a clock switch that never happens, each FLASH_SR error flag, a lock that does not open, BSY
 * stuck, stale flags, protected sectors and bad arguments.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <unicorn/unicorn.h>

#include "clock.h"
#include "exti.h"
#include "flash_layout.h"
#include "flash_stm32.h"
#include "fwcheck.h"
#include "iwdg.h"
#include "spi.h"
#include "usart.h"
#include "sys.h"
#include "systick.h"

#define BOOT_ELF OTA_FW_DIR "/bootloader.elf"
#define APP_ELF OTA_FW_DIR "/app.elf"
#define SELFTEST_ELF OTA_FW_DIR "/port_selftest.elf" /* every port function linked */
#define SYSMEM_PAGE 0x1FFF7000u                        /* OTP, unique ID, flash size */

#define PERIPH_BASE 0x40000000u
#define PERIPH_SIZE 0x00100000u
#define PPB_BASE 0xE0000000u
#define PPB_SIZE 0x00100000u
#define RET_ADDR 0x2001FF00u /* where called functions return to; emulation stops there */
#define STACK_TOP 0x2001FE00u
#define SCRATCH 0x2001F000u  /* argument buffers for the called functions */

/* Register addresses (sheet §1.3, §2.1, §3, §4.8, §4.6). */
#define A_RCC_CR 0x40023800u
#define A_RCC_PLLCFGR 0x40023804u
#define A_RCC_CFGR 0x40023808u
#define A_PWR_CR 0x40007000u
#define A_PWR_CSR 0x40007004u
#define A_FLASH_ACR 0x40023C00u
#define A_FLASH_KEYR 0x40023C04u
#define A_FLASH_SR 0x40023C0Cu
#define A_FLASH_CR 0x40023C10u
#define A_IWDG_KR 0x40003000u
#define A_SYST_CSR 0xE000E010u
#define A_SPI1_CR1 0x40013000u
#define A_SPI1_SR 0x40013008u
#define A_SPI1_DR 0x4001300Cu

#define LOG_MAX 4096

struct reg_write {
    uint32_t addr;
    uint32_t value;
};

struct model {
    /* Faults to inject. */
    bool hse_absent;
    bool pll_never_locks;
    bool od_never_ready;
    bool latency_sticks_at_0;
    bool sws_stuck_hsi;
    bool hsi_never_ready;
    bool keys_ignored;
    bool bsy_stuck_on_start; /* BSY never clears once an operation has started */
    bool bsy_stuck;
    uint32_t sr_inject; /* error flags raised by the next program/erase */
    bool countflag_always;
    bool usart_stuck;    /* TXE/TC never set */
    bool spi_modf;       /* mode fault raised */
    bool spi_rx_never;   /* RXNE never set: no clock / stuck */
    /* State. */
    bool spi_rxne;
    uint8_t spi_rx;
    uint8_t spi_tx[64];
    uint32_t spi_count;
    uint32_t regs[(PERIPH_SIZE + PPB_SIZE) / 4u];
    bool flash_locked;
    uint32_t key_step;
    uint32_t busy_reads;
    uint32_t iwdg_reloads;
    uint32_t erases;
    uint32_t programs;
    struct reg_write log[LOG_MAX];
    uint32_t log_len;
};

struct emu {
    uc_engine *uc;
    struct fw_file elf;
    const char *path;
    struct model *m;
};

/* The model's word for a register address; only the two mapped windows exist. */
static uint32_t *reg(struct model *m, uint32_t addr)
{
    uint32_t off = 0;
    if (addr - PPB_BASE < PPB_SIZE) {
        off = PERIPH_SIZE + (addr - PPB_BASE);
    } else if (addr - PERIPH_BASE < PERIPH_SIZE) {
        off = addr - PERIPH_BASE;
    } else {
        fail_msg("register 0x%08x outside the modelled windows", addr);
    }
    return &m->regs[off / 4u];
}

static void log_write(struct model *m, uint32_t addr, uint32_t value)
{
    if (m->log_len < LOG_MAX) {
        m->log[m->log_len].addr = addr;
        m->log[m->log_len].value = value;
        m->log_len++;
    }
}

static const uint32_t sector_addr[9] = {0x08000000, 0x08004000, 0x08008000, 0x0800C000, 0x08010000,
                                        0x08020000, 0x08040000, 0x08060000, 0x08080000};

/* A program or erase starts: BSY for a few reads, then the injected flags (or none). */
static void flash_start_op(struct model *m)
{
    m->busy_reads = 3;
    m->bsy_stuck = m->bsy_stuck_on_start;
    *reg(m, A_FLASH_SR) |= m->sr_inject;
}

static uint64_t model_read(struct model *m, uint32_t addr)
{
    uint32_t v = *reg(m, addr);
    switch (addr) {
    case A_RCC_CR: {
        v &= ~((1u << 1) | (1u << 17) | (1u << 25));
        if ((v & 1u) != 0 && !m->hsi_never_ready) {
            v |= 1u << 1;
        }
        if ((v & (1u << 16)) != 0 && !m->hse_absent) {
            v |= 1u << 17;
        }
        if ((v & (1u << 24)) != 0 && !m->pll_never_locks) {
            v |= 1u << 25;
        }
        return v;
    }
    case A_RCC_CFGR: {
        uint32_t sw = v & 3u;
        uint32_t sws = m->sws_stuck_hsi ? 0u : sw;
        return (v & ~0xCu) | (sws << 2);
    }
    case A_PWR_CSR: {
        uint32_t cr = *reg(m, A_PWR_CR);
        uint32_t csr = 0;
        if ((cr & (1u << 16)) != 0 && !m->od_never_ready) {
            csr |= 1u << 16;
        }
        if ((cr & (1u << 17)) != 0 && !m->od_never_ready) {
            csr |= 1u << 17;
        }
        return csr;
    }
    case A_FLASH_ACR:
        return m->latency_sticks_at_0 ? (v & ~0xFu) : v;
    case A_FLASH_SR:
        if (m->bsy_stuck) {
            return v | (1u << 16);
        }
        if (m->busy_reads > 0) {
            m->busy_reads--;
            return v | (1u << 16);
        }
        return v;
    case A_FLASH_CR:
        return (v & ~(1u << 31)) | (m->flash_locked ? 1u << 31 : 0u);
    case A_SYST_CSR:
        return m->countflag_always ? (v | (1u << 16)) : v;
    case 0x40004400u: /* USART2_SR: transmitter always ready (TXE|TC), unless stuck */
        return m->usart_stuck ? 0u : 0xC0u;
    case A_SPI1_SR: /* TXE always; BSY never (transfers are instant here) */
        return (1u << 1) | (m->spi_rxne ? 1u : 0u) | (m->spi_modf ? 1u << 5 : 0u);
    case A_SPI1_DR:
        m->spi_rxne = false;
        return m->spi_rx;
    default:
        return v;
    }
}

/* The device on SPI1: answers a W5500 VERSIONR read (00 39 00 xx -> 01 02 03 04, w5500.md). */
static uint8_t spi_device(struct model *m, uint8_t mosi)
{
    uint32_t i = m->spi_count;
    if (i < sizeof m->spi_tx) {
        m->spi_tx[i] = mosi;
    }
    m->spi_count++;
    return (uint8_t)(i % 4u + 1u);
}

static void model_write(uc_engine *uc, struct model *m, uint32_t addr, uint32_t value)
{
    log_write(m, addr, value);
    switch (addr) {
    case A_FLASH_KEYR:
        if (m->keys_ignored) {
            return;
        }
        if (m->key_step == 0 && value == 0x45670123u) {
            m->key_step = 1;
        } else if (m->key_step == 1 && value == 0xCDEF89ABu) {
            m->key_step = 0;
            m->flash_locked = false;
        } else {
            m->key_step = 0;
        }
        return;
    case A_FLASH_SR:
        *reg(m, addr) &= ~(value & 0x1F3u); /* write 1 to clear */
        return;
    case A_FLASH_CR:
        if (m->flash_locked) {
            return; /* CR ignores writes while locked */
        }
        if ((value & (1u << 31)) != 0) {
            m->flash_locked = true;
        }
        if ((value & (1u << 16)) != 0 && (value & 2u) != 0) { /* STRT with SER */
            uint32_t snb = (value >> 3) & 0x1Fu;
            flash_start_op(m);
            if (m->sr_inject == 0 && snb < 8u) {
                uint32_t size = sector_addr[snb + 1] - sector_addr[snb];
                uint8_t *ff = malloc(size);
                assert_non_null(ff);
                memset(ff, 0xFF, size);
                assert_int_equal(uc_mem_write(uc, sector_addr[snb], ff, size), UC_ERR_OK);
                free(ff);
                m->erases++;
            }
            value &= ~(1u << 16); /* STRT clears when the erase ends */
        }
        *reg(m, addr) = value;
        return;
    case 0x40020018u: /* GPIOA/B/C BSRR: set low half, reset high half; set wins */
    case 0x40020418u:
    case 0x40020818u: {
        uint32_t *odr = reg(m, addr - 4u);
        *odr = (*odr & ~(value >> 16)) | (value & 0xFFFFu);
        return;
    }
    case A_SPI1_DR:
        if (!m->spi_rx_never) {
            m->spi_rx = spi_device(m, (uint8_t)value);
            m->spi_rxne = true;
        }
        return;
    case A_IWDG_KR:
        if (value == 0xAAAAu) {
            m->iwdg_reloads++;
        }
        *reg(m, addr) = value;
        return;
    default:
        *reg(m, addr) = value;
        return;
    }
}

static uint64_t periph_read(uc_engine *uc, uint64_t off, unsigned size, void *user)
{
    (void)uc;
    (void)size;
    return model_read(user, PERIPH_BASE + (uint32_t)(off & ~3u));
}

static void periph_write(uc_engine *uc, uint64_t off, unsigned size, uint64_t value, void *user)
{
    (void)size;
    model_write(uc, user, PERIPH_BASE + (uint32_t)(off & ~3u), (uint32_t)value);
}

static uint64_t ppb_read(uc_engine *uc, uint64_t off, unsigned size, void *user)
{
    (void)uc;
    (void)size;
    return model_read(user, PPB_BASE + (uint32_t)(off & ~3u));
}

static void ppb_write(uc_engine *uc, uint64_t off, unsigned size, uint64_t value, void *user)
{
    (void)size;
    model_write(uc, user, PPB_BASE + (uint32_t)(off & ~3u), (uint32_t)value);
}

/* A store to flash (mapped read-only): programming per sheet §2.6 with PSIZE x32. */
static bool flash_store(uc_engine *uc, uc_mem_type type, uint64_t address, int size, int64_t value,
                        void *user)
{
    (void)type;
    struct model *m = user;
    uint32_t cr = *reg(m, A_FLASH_CR);
    if (m->flash_locked || (cr & 1u) == 0) {
        *reg(m, A_FLASH_SR) |= 1u << 7; /* PGSERR */
        return true;
    }
    if (size != 4 || ((cr >> 8) & 3u) != 2u) {
        *reg(m, A_FLASH_SR) |= 1u << 6; /* PGPERR */
        return true;
    }
    if (address % 4u != 0) {
        *reg(m, A_FLASH_SR) |= 1u << 5; /* PGAERR */
        return true;
    }
    flash_start_op(m);
    if (m->sr_inject != 0) {
        return true;
    }
    uint8_t old[4];
    assert_int_equal(uc_mem_read(uc, address, old, 4), UC_ERR_OK);
    for (int i = 0; i < 4; i++) {
        old[i] &= (uint8_t)((uint64_t)value >> (8 * i));
    }
    assert_int_equal(uc_mem_write(uc, address, old, 4), UC_ERR_OK);
    m->programs++;
    return true;
}

static int load_segment(void *ctx, uint32_t vaddr, uint32_t paddr, const uint8_t *data,
                        uint32_t filesz)
{
    uc_engine *uc = ctx;
    /* Flash image at the load address; .data/.ramfunc also at its RAM address (the startup copy). */
    if (uc_mem_write(uc, paddr, data, filesz) != UC_ERR_OK) {
        return -1;
    }
    if (vaddr != paddr && uc_mem_write(uc, vaddr, data, filesz) != UC_ERR_OK) {
        return -1;
    }
    return 0;
}

static int emu_setup_elf(void **state, const char *path)
{
    struct emu *e = calloc(1, sizeof *e);
    assert_non_null(e);
    e->m = calloc(1, sizeof *e->m);
    assert_non_null(e->m);
    e->path = path;
    int rc = fw_file_read(path, &e->elf);
    if (rc != FWCHECK_OK) {
        print_error("cannot read %s (build the firmware first: make firmware)\n", path);
        free(e->m);
        free(e);
        return -1;
    }
    assert_int_equal(uc_open(UC_ARCH_ARM, UC_MODE_THUMB, &e->uc), UC_ERR_OK);
    /* THUMB + M4 (not MCLASS, which forces an M33): sheet §6.1 item 1. */
    assert_int_equal(uc_ctl_set_cpu_model(e->uc, UC_CPU_ARM_CORTEX_M4), UC_ERR_OK);
    assert_int_equal(uc_mem_map(e->uc, FLASH_BASE_ADDR, FLASH_TOTAL_SIZE, UC_PROT_READ | UC_PROT_EXEC),
                     UC_ERR_OK);
    assert_int_equal(uc_mem_map(e->uc, SRAM_BASE_ADDR, SRAM_TOTAL_SIZE, UC_PROT_ALL), UC_ERR_OK);
    assert_int_equal(uc_mem_map(e->uc, SYSMEM_PAGE, 0x1000, UC_PROT_READ), UC_ERR_OK);
    assert_int_equal(uc_mmio_map(e->uc, PERIPH_BASE, PERIPH_SIZE, periph_read, e->m, periph_write,
                                 e->m),
                     UC_ERR_OK);
    assert_int_equal(uc_mmio_map(e->uc, PPB_BASE, PPB_SIZE, ppb_read, e->m, ppb_write, e->m),
                     UC_ERR_OK);
    uc_hook h;
    assert_int_equal(uc_hook_add(e->uc, &h, UC_HOOK_MEM_WRITE_PROT, (void *)flash_store, e->m,
                                 FLASH_BASE_ADDR, FLASH_BASE_ADDR + FLASH_TOTAL_SIZE - 1u),
                     UC_ERR_OK);
    assert_int_equal(fw_elf_foreach_load(&e->elf, load_segment, e->uc), FWCHECK_OK);

    /* Reset values the drivers depend on (sheet §3.1, §2.1). */
    *reg(e->m, A_RCC_CR) = 0x00000083u;
    *reg(e->m, A_RCC_PLLCFGR) = 0x24003010u;
    *reg(e->m, A_PWR_CR) = 0x0000C000u;
    e->m->flash_locked = true;
    *state = e;
    return 0;
}

static int emu_setup(void **state)
{
    return emu_setup_elf(state, BOOT_ELF);
}

static int emu_setup_app(void **state)
{
    return emu_setup_elf(state, APP_ELF);
}

static int emu_setup_selftest(void **state)
{
    return emu_setup_elf(state, SELFTEST_ELF);
}

static int emu_teardown(void **state)
{
    struct emu *e = *state;
    if (e != NULL) {
        if (e->uc != NULL) {
            (void)uc_close(e->uc);
        }
        fw_file_free(&e->elf);
        free(e->m);
        free(e);
    }
    return 0;
}

/* Start fn with up to 4 arguments; stops at `until` or after `count` instructions (0: none). */
static void run(struct emu *e, const char *fn, const uint32_t args[4], uint32_t until,
                uint64_t count)
{
    uint32_t addr;
    uint32_t size;
    if (fw_elf_symbol(&e->elf, fn, &addr, &size) != FWCHECK_OK) {
        print_error("symbol %s not in %s\n", fn, e->path);
        fail();
    }
    uint32_t sp = STACK_TOP;
    uint32_t lr = RET_ADDR | 1u;
    uint32_t primask = 0;
    assert_int_equal(uc_reg_write(e->uc, UC_ARM_REG_R0, &args[0]), UC_ERR_OK);
    assert_int_equal(uc_reg_write(e->uc, UC_ARM_REG_R1, &args[1]), UC_ERR_OK);
    assert_int_equal(uc_reg_write(e->uc, UC_ARM_REG_R2, &args[2]), UC_ERR_OK);
    assert_int_equal(uc_reg_write(e->uc, UC_ARM_REG_R3, &args[3]), UC_ERR_OK);
    assert_int_equal(uc_reg_write(e->uc, UC_ARM_REG_SP, &sp), UC_ERR_OK);
    assert_int_equal(uc_reg_write(e->uc, UC_ARM_REG_LR, &lr), UC_ERR_OK);
    assert_int_equal(uc_reg_write(e->uc, UC_ARM_REG_PRIMASK, &primask), UC_ERR_OK);
    uc_err err = uc_emu_start(e->uc, addr | 1u, until, 0, count);
    if (err != UC_ERR_OK) {
        uint32_t pc = 0;
        (void)uc_reg_read(e->uc, UC_ARM_REG_PC, &pc);
        print_error("%s: %s at pc 0x%08x\n", fn, uc_strerror(err), pc);
    }
    assert_int_equal(err, UC_ERR_OK);
}

static uint32_t reg_of(struct emu *e, int regid)
{
    uint32_t v;
    assert_int_equal(uc_reg_read(e->uc, regid, &v), UC_ERR_OK);
    return v;
}

/* Call a function of the firmware with up to 4 arguments; returns r0. */
static uint32_t call(struct emu *e, const char *fn, uint32_t a0, uint32_t a1, uint32_t a2, uint32_t a3)
{
    uint32_t addr;
    uint32_t size;
    if (fw_elf_symbol(&e->elf, fn, &addr, &size) != FWCHECK_OK) {
        print_error("symbol %s not in %s\n", fn, e->path);
        fail();
    }
    uint32_t sp = STACK_TOP;
    uint32_t lr = RET_ADDR | 1u;
    uint32_t primask = 0;
    assert_int_equal(uc_reg_write(e->uc, UC_ARM_REG_R0, &a0), UC_ERR_OK);
    assert_int_equal(uc_reg_write(e->uc, UC_ARM_REG_R1, &a1), UC_ERR_OK);
    assert_int_equal(uc_reg_write(e->uc, UC_ARM_REG_R2, &a2), UC_ERR_OK);
    assert_int_equal(uc_reg_write(e->uc, UC_ARM_REG_R3, &a3), UC_ERR_OK);
    assert_int_equal(uc_reg_write(e->uc, UC_ARM_REG_SP, &sp), UC_ERR_OK);
    assert_int_equal(uc_reg_write(e->uc, UC_ARM_REG_LR, &lr), UC_ERR_OK);
    assert_int_equal(uc_reg_write(e->uc, UC_ARM_REG_PRIMASK, &primask), UC_ERR_OK);
    uc_err err = uc_emu_start(e->uc, addr | 1u, RET_ADDR, 0, 200000000u);
    if (err != UC_ERR_OK) {
        uint32_t pc = 0;
        (void)uc_reg_read(e->uc, UC_ARM_REG_PC, &pc);
        print_error("%s: %s at pc 0x%08x\n", fn, uc_strerror(err), pc);
    }
    assert_int_equal(err, UC_ERR_OK);
    uint32_t pc;
    assert_int_equal(uc_reg_read(e->uc, UC_ARM_REG_PC, &pc), UC_ERR_OK);
    assert_int_equal(pc, RET_ADDR);
    /* Every path gives interrupts back as they were. */
    assert_int_equal(uc_reg_read(e->uc, UC_ARM_REG_PRIMASK, &primask), UC_ERR_OK);
    assert_int_equal(primask, 0);
    uint32_t r0;
    assert_int_equal(uc_reg_read(e->uc, UC_ARM_REG_R0, &r0), UC_ERR_OK);
    return r0;
}

static uint32_t mem32(struct emu *e, uint32_t addr)
{
    uint8_t b[4];
    assert_int_equal(uc_mem_read(e->uc, addr, b, 4), UC_ERR_OK);
    return (uint32_t)b[0] | ((uint32_t)b[1] << 8) | ((uint32_t)b[2] << 16) | ((uint32_t)b[3] << 24);
}

/* struct clock_info as the firmware lays it out: 4 words. */
_Static_assert(sizeof(struct clock_info) == 16, "clock_info is four words on both sides");

static struct clock_info clock_run(struct emu *e, int *rc)
{
    *rc = (int)call(e, "clock_init", SCRATCH, 0, 0, 0);
    struct clock_info ci = {(enum clock_source)mem32(e, SCRATCH), mem32(e, SCRATCH + 4),
                            mem32(e, SCRATCH + 8), mem32(e, SCRATCH + 12)};
    return ci;
}

/* Clocks are back on HSI with the PLL off (the state every failure must leave). */
static void assert_on_hsi(struct emu *e)
{
    assert_int_equal(*reg(e->m, A_RCC_CFGR) & 3u, 0);
    assert_int_equal(*reg(e->m, A_RCC_CR) & (1u << 24), 0);
    assert_int_equal(*reg(e->m, A_FLASH_ACR), 0);
}

/* ---- clocks ---------------------------------------------------------------------------- */

static void test_clock_hse_180(void **state)
{
    struct emu *e = *state;
    int rc;
    struct clock_info ci = clock_run(e, &rc);
    assert_int_equal(rc, CLOCK_OK);
    assert_int_equal(ci.source, CLOCK_SRC_HSE_PLL);
    assert_int_equal(ci.hclk_hz, 180000000u);
    assert_int_equal(ci.pclk1_hz, 45000000u);
    assert_int_equal(ci.pclk2_hz, 90000000u);
    assert_int_equal(*reg(e->m, A_RCC_PLLCFGR), 0x27405A08u);
    assert_int_equal(*reg(e->m, A_RCC_CFGR), 0x9402u);
    assert_int_equal(*reg(e->m, A_RCC_CR) & ((1u << 16) | (1u << 18) | (1u << 24)),
                     (1u << 16) | (1u << 18) | (1u << 24)); /* HSEON, HSEBYP, PLLON */
    assert_int_equal(*reg(e->m, A_FLASH_ACR), 0x705u);      /* PRFTEN ICEN DCEN, 5 WS */
    assert_int_equal(*reg(e->m, A_PWR_CR) & 0x3C000u, 0x3C000u); /* scale 1, ODEN, ODSWEN */
    /* HSEBYP was set before HSEON, and latency before the switch to the PLL. */
    int byp = -1, on = -1, acr = -1, sw = -1;
    for (uint32_t i = 0; i < e->m->log_len; i++) {
        const struct reg_write *w = &e->m->log[i];
        if (w->addr == A_RCC_CR && (w->value & (1u << 18)) && byp < 0) {
            byp = (int)i;
        }
        if (w->addr == A_RCC_CR && (w->value & (1u << 16)) && on < 0) {
            on = (int)i;
        }
        if (w->addr == A_FLASH_ACR && (w->value & 0xFu) == 5u && acr < 0) {
            acr = (int)i;
        }
        if (w->addr == A_RCC_CFGR && (w->value & 3u) == 2u && sw < 0) {
            sw = (int)i;
        }
    }
    assert_true(byp >= 0 && on > byp);
    assert_true(acr >= 0 && sw > acr);

    /* And back to the reset clocks. */
    assert_int_equal(call(e, "clock_deinit", 0, 0, 0, 0), CLOCK_OK);
    assert_on_hsi(e);
    assert_int_equal(*reg(e->m, A_RCC_PLLCFGR), 0x24003010u);
    assert_int_equal(*reg(e->m, A_RCC_CR) & ((1u << 16) | (1u << 18)), 0);
    assert_int_equal(*reg(e->m, A_PWR_CR) & 0x30000u, 0);
}

static void test_clock_no_hse(void **state)
{
    struct emu *e = *state;
    e->m->hse_absent = true;
    int rc;
    struct clock_info ci = clock_run(e, &rc);
    assert_int_equal(rc, CLOCK_OK);
    assert_int_equal(ci.source, CLOCK_SRC_HSI_PLL);
    assert_int_equal(ci.hclk_hz, 180000000u);
    assert_int_equal(*reg(e->m, A_RCC_PLLCFGR), 0x27005A10u);
    assert_int_equal(*reg(e->m, A_RCC_CR) & ((1u << 16) | (1u << 18)), 0); /* HSE left off */
}

static void clock_fails(struct emu *e, int want)
{
    int rc;
    struct clock_info ci = clock_run(e, &rc);
    assert_int_equal(rc, want);
    assert_int_equal(ci.source, CLOCK_SRC_HSI);
    assert_int_equal(ci.hclk_hz, 16000000u);
    assert_int_equal(ci.pclk1_hz, 16000000u);
    assert_on_hsi(e);
}

static void test_clock_pll_fails(void **state)
{
    struct emu *e = *state;
    e->m->pll_never_locks = true;
    clock_fails(e, CLOCK_ERR_PLL);
}

static void test_clock_overdrive_fails(void **state)
{
    struct emu *e = *state;
    e->m->od_never_ready = true;
    clock_fails(e, CLOCK_ERR_OVERDRIVE);
}

static void test_clock_latency_fails(void **state)
{
    struct emu *e = *state;
    e->m->latency_sticks_at_0 = true;
    clock_fails(e, CLOCK_ERR_LATENCY);
}

static void test_clock_switch_fails(void **state)
{
    struct emu *e = *state;
    e->m->sws_stuck_hsi = true;
    clock_fails(e, CLOCK_ERR_SWITCH);
}

static void test_clock_hsi_fails(void **state)
{
    struct emu *e = *state;
    e->m->hsi_never_ready = true;
    int rc;
    struct clock_info ci = clock_run(e, &rc);
    assert_int_equal(rc, CLOCK_ERR_HSI);
    assert_int_equal(ci.hclk_hz, 16000000u);
    assert_int_equal((int)call(e, "clock_deinit", 0, 0, 0, 0), CLOCK_ERR_HSI);
}

/* ---- flash ----------------------------------------------------------------------------- */

static void fill_flash(struct emu *e, uint32_t addr, uint32_t len, uint8_t v)
{
    uint8_t *buf = malloc(len);
    assert_non_null(buf);
    memset(buf, v, len);
    assert_int_equal(uc_mem_write(e->uc, addr, buf, len), UC_ERR_OK);
    free(buf);
}

/* Index of the first logged write to addr whose value has all bits of mask, from `from`. */
static int find_write(const struct model *m, uint32_t from, uint32_t addr, uint32_t mask)
{
    for (uint32_t i = from; i < m->log_len; i++) {
        if (m->log[i].addr == addr && (m->log[i].value & mask) == mask) {
            return (int)i;
        }
    }
    return -1;
}

static void test_flash_erase(void **state)
{
    struct emu *e = *state;
    fill_flash(e, FLASH_SECTOR6_ADDR, 0x20000, 0x00);
    *reg(e->m, A_FLASH_SR) = 0xC0u; /* stale PGPERR|PGSERR from an earlier stray write */
    *reg(e->m, A_FLASH_ACR) = 0x705u;
    assert_int_equal(call(e, "flash_port_erase_sector", 6, 0, 0, 0), FLASH_STM32_OK);
    assert_int_equal(e->m->erases, 1);
    assert_int_equal(mem32(e, FLASH_SECTOR6_ADDR), 0xFFFFFFFFu);
    assert_int_equal(mem32(e, FLASH_SECTOR7_ADDR - 4u), 0xFFFFFFFFu);
    assert_true(e->m->flash_locked);
    assert_int_equal(*reg(e->m, A_FLASH_CR) & 0xFFu, 0); /* SER, SNB, PG cleared */

    /* KEY1, KEY2; flags cleared before the operation; SER|SNB|PSIZE first, STRT on its own. */
    int k1 = find_write(e->m, 0, A_FLASH_KEYR, 0x45670123u);
    int k2 = find_write(e->m, 0, A_FLASH_KEYR, 0xCDEF89ABu);
    int clr = find_write(e->m, 0, A_FLASH_SR, 0x1F3u);
    int ser = find_write(e->m, 0, A_FLASH_CR, 0x232u); /* PSIZE x32 | SNB 6 | SER */
    int strt = find_write(e->m, 0, A_FLASH_CR, 0x10232u);
    assert_true(k1 >= 0 && k2 == k1 + 1);
    assert_true(clr > k2 && ser > clr && strt > ser);
    assert_int_equal(e->m->log[ser].value & (1u << 16), 0);
    /* The watchdog was fed while BSY was set; the caches were reset after the erase. */
    assert_true(e->m->iwdg_reloads >= 3u);
    assert_true(find_write(e->m, (uint32_t)strt, A_FLASH_ACR, 1u << 11) > strt);
    assert_true(find_write(e->m, (uint32_t)strt, A_FLASH_ACR, 1u << 12) > strt);
    assert_int_equal(*reg(e->m, A_FLASH_ACR), 0x705u); /* caches back on */
}

static void test_flash_erase_refused(void **state)
{
    struct emu *e = *state;
    assert_int_equal((int)call(e, "flash_port_erase_sector", 0, 0, 0, 0), FLASH_STM32_ERR_PROTECTED);
    assert_int_equal((int)call(e, "flash_port_erase_sector", 1, 0, 0, 0), FLASH_STM32_ERR_PROTECTED);
    assert_int_equal((int)call(e, "flash_port_erase_sector", 8, 0, 0, 0), FLASH_STM32_ERR_ARG);
    assert_int_equal((int)call(e, "flash_port_erase_sector", 0xFFFFFFFFu, 0, 0, 0),
                     FLASH_STM32_ERR_ARG);
    assert_int_equal(e->m->log_len, 0); /* no register touched */
    assert_int_equal(e->m->erases, 0);
}

static void erase_error(struct emu *e, uint32_t flag, int want)
{
    memset(e->m->log, 0, sizeof e->m->log);
    e->m->log_len = 0;
    e->m->sr_inject = flag;
    assert_int_equal((int)call(e, "flash_port_erase_sector", 3, 0, 0, 0), want);
    assert_true(e->m->flash_locked);
    /* The flags are cleared on the way out, so the next operation starts clean. */
    assert_int_equal(*reg(e->m, A_FLASH_SR) & 0x1F3u, 0);
    e->m->sr_inject = 0;
}

static void test_flash_erase_errors(void **state)
{
    struct emu *e = *state;
    erase_error(e, 1u << 4, FLASH_STM32_ERR_WRP);
    erase_error(e, 1u << 5, FLASH_STM32_ERR_PGA);
    erase_error(e, 1u << 6, FLASH_STM32_ERR_PGP);
    erase_error(e, 1u << 7, FLASH_STM32_ERR_PGS);
    erase_error(e, 1u << 1, FLASH_STM32_ERR_OPERR);
    erase_error(e, 1u << 8, FLASH_STM32_ERR_RDERR);
    assert_int_equal(e->m->erases, 0);
    /* EOP alone is not an error. */
    erase_error(e, 1u << 0, FLASH_STM32_OK);
}

static void test_flash_locked(void **state)
{
    struct emu *e = *state;
    e->m->keys_ignored = true;
    assert_int_equal((int)call(e, "flash_port_erase_sector", 4, 0, 0, 0), FLASH_STM32_ERR_LOCKED);
    uint8_t data[4] = {1, 2, 3, 4};
    assert_int_equal(uc_mem_write(e->uc, SCRATCH, data, 4), UC_ERR_OK);
    assert_int_equal((int)call(e, "flash_port_program", STAGING_ADDR, SCRATCH, 4, 0),
                     FLASH_STM32_ERR_LOCKED);
    assert_int_equal(e->m->erases, 0);
    assert_int_equal(e->m->programs, 0);
}

static void test_flash_timeout(void **state)
{
    struct emu *e = *state;
    e->m->bsy_stuck_on_start = true;
    e->m->countflag_always = true; /* every SysTick read reports one more millisecond */
    uint32_t tick_addr;
    uint32_t size;
    assert_int_equal(fw_elf_symbol(&e->elf, "systick_count", &tick_addr, &size), FWCHECK_OK);
    uint32_t before = mem32(e, tick_addr);
    assert_int_equal((int)call(e, "flash_port_erase_sector", 3, 0, 0, 0), FLASH_STM32_ERR_TIMEOUT);
    /* Twice the 500 ms maximum of a 16 KB sector; the missed ticks are given back (less the
     * one the pending SysTick interrupt counts itself). */
    assert_int_equal(mem32(e, tick_addr) - before, 2u * 500u - 1u);
    assert_true(e->m->iwdg_reloads >= 1000u);
    assert_true(e->m->flash_locked);
}

static void test_flash_program(void **state)
{
    struct emu *e = *state;
    fill_flash(e, STAGING_ADDR, 64, 0xFF);
    /* Source deliberately unaligned. */
    const uint8_t data[9] = {0xEE, 0x11, 0x22, 0x33, 0x44, 0x55, 0x66, 0x77, 0x88};
    assert_int_equal(uc_mem_write(e->uc, SCRATCH, data, sizeof data), UC_ERR_OK);
    assert_int_equal((int)call(e, "flash_port_program", STAGING_ADDR + 8u, SCRATCH + 1u, 8, 0),
                     FLASH_STM32_OK);
    assert_int_equal(e->m->programs, 2);
    assert_int_equal(mem32(e, STAGING_ADDR + 8u), 0x44332211u);
    assert_int_equal(mem32(e, STAGING_ADDR + 12u), 0x88776655u);
    assert_int_equal(mem32(e, STAGING_ADDR + 4u), 0xFFFFFFFFu);
    assert_int_equal(mem32(e, STAGING_ADDR + 16u), 0xFFFFFFFFu);
    assert_true(e->m->flash_locked);
    assert_int_equal(*reg(e->m, A_FLASH_CR) & 1u, 0); /* PG cleared */
    assert_true(find_write(e->m, 0, A_FLASH_CR, 0x201u) >= 0); /* PSIZE x32 | PG */

    /* Read back through the port. */
    assert_int_equal((int)call(e, "flash_port_read", STAGING_ADDR + 8u, SCRATCH + 32u, 8, 0),
                     FLASH_STM32_OK);
    assert_int_equal(mem32(e, SCRATCH + 32u), 0x44332211u);

    /* A program error stops at the failing word and is reported. */
    e->m->sr_inject = 1u << 4;
    assert_int_equal((int)call(e, "flash_port_program", STAGING_ADDR + 16u, SCRATCH + 1u, 8, 0),
                     FLASH_STM32_ERR_WRP);
    assert_int_equal(e->m->programs, 2);
    e->m->sr_inject = 0;
}

static void test_flash_program_refused(void **state)
{
    struct emu *e = *state;
    assert_int_equal((int)call(e, "flash_port_program", STAGING_ADDR + 2u, SCRATCH, 4, 0),
                     FLASH_STM32_ERR_ARG);
    assert_int_equal((int)call(e, "flash_port_program", STAGING_ADDR, SCRATCH, 6, 0),
                     FLASH_STM32_ERR_ARG);
    assert_int_equal((int)call(e, "flash_port_program", FLASH_END_ADDR - 4u, SCRATCH, 8, 0),
                     FLASH_STM32_ERR_ARG);
    assert_int_equal((int)call(e, "flash_port_program", 0x07FFFFFCu, SCRATCH, 4, 0),
                     FLASH_STM32_ERR_ARG);
    assert_int_equal((int)call(e, "flash_port_program", STAGING_ADDR, 0, 4, 0), FLASH_STM32_ERR_ARG);
    assert_int_equal((int)call(e, "flash_port_program", BOOT_ADDR + 0x100u, SCRATCH, 4, 0),
                     FLASH_STM32_ERR_PROTECTED);
    assert_int_equal((int)call(e, "flash_port_program", APPHDR_ADDR - 4u, SCRATCH, 8, 0),
                     FLASH_STM32_ERR_PROTECTED);
    assert_int_equal((int)call(e, "flash_port_program", STAGING_ADDR, SCRATCH, 0, 0),
                     FLASH_STM32_OK);
    assert_int_equal(e->m->log_len, 0);
    assert_int_equal(e->m->programs, 0);
    assert_int_equal((int)call(e, "flash_port_read", FLASH_END_ADDR - 4u, SCRATCH, 8, 0),
                     FLASH_STM32_ERR_ARG);
    assert_int_equal((int)call(e, "flash_port_read", SRAM_BASE_ADDR, SCRATCH, 4, 0),
                     FLASH_STM32_ERR_ARG);
    assert_int_equal((int)call(e, "flash_port_read", APP_ADDR, 0, 4, 0), FLASH_STM32_ERR_ARG);
}

/* ---- system: jump, reset, reset cause, vector check ------------------------------------ */

static void put32(struct emu *e, uint32_t addr, uint32_t v)
{
    uint8_t b[4] = {(uint8_t)v, (uint8_t)(v >> 8), (uint8_t)(v >> 16), (uint8_t)(v >> 24)};
    assert_int_equal(uc_mem_write(e->uc, addr, b, 4), UC_ERR_OK);
}

/* Last value written to addr, or ~0 if never written. */
static uint32_t last_write(const struct model *m, uint32_t addr)
{
    uint32_t v = 0xFFFFFFFFu;
    int seen = 0;
    for (uint32_t i = 0; i < m->log_len; i++) {
        if (m->log[i].addr == addr) {
            v = m->log[i].value;
            seen = 1;
        }
    }
    return seen ? v : 0xDEADBEEFu;
}

static void test_jump(void **state)
{
    struct emu *e = *state;
    const uint32_t app_sp = 0x20018000u;
    const uint32_t app_reset = APP_ADDR + 0x400u;
    put32(e, APP_ADDR, app_sp);
    put32(e, APP_ADDR + 4u, app_reset | 1u);
    /* The bootloader ran at 180 MHz with SysTick on. */
    assert_int_equal(call(e, "clock_init", SCRATCH, 0, 0, 0), CLOCK_OK);
    *reg(e->m, A_SYST_CSR) = 7u;
    e->m->log_len = 0;

    uint32_t control = 2u; /* as if the bootloader had run on PSP */
    assert_int_equal(uc_reg_write(e->uc, UC_ARM_REG_CONTROL, &control), UC_ERR_OK);
    const uint32_t args[4] = {APP_ADDR, APP_ADDR + APP_SIZE, 0, 0};
    run(e, "sys_jump", args, app_reset, 100000000u);
    assert_int_equal(reg_of(e, UC_ARM_REG_PC), app_reset);
    assert_int_equal(reg_of(e, UC_ARM_REG_SP), app_sp);
    assert_int_equal(reg_of(e, UC_ARM_REG_CONTROL) & 7u, 0); /* privileged, MSP, no FPCA */
    assert_int_equal(reg_of(e, UC_ARM_REG_PRIMASK), 0);

    /* Every NVIC line disabled and un-pended; SysTick off; EXTI masked and cleared. */
    for (uint32_t i = 0; i < 8u; i++) {
        assert_int_equal(last_write(e->m, 0xE000E180u + 4u * i), 0xFFFFFFFFu);
        assert_int_equal(last_write(e->m, 0xE000E280u + 4u * i), 0xFFFFFFFFu);
    }
    assert_int_equal(last_write(e->m, A_SYST_CSR), 0);
    assert_int_equal(last_write(e->m, 0xE000E014u), 0); /* LOAD */
    assert_int_equal(last_write(e->m, 0xE000ED04u), (1u << 25) | (1u << 27)); /* PENDSTCLR|PENDSVCLR */
    assert_int_equal(last_write(e->m, 0x40013C00u), 0);          /* EXTI_IMR */
    assert_int_equal(last_write(e->m, 0x40013C14u), 0x007FFFFFu); /* EXTI_PR */
    /* Reset clocks, flash locked, VTOR on the application, watchdog reloaded last. */
    assert_on_hsi(e);
    assert_true(e->m->flash_locked || (*reg(e->m, A_FLASH_CR) & (1u << 31)) != 0);
    assert_int_equal(last_write(e->m, 0xE000ED08u), APP_ADDR);
    int vtor = find_write(e->m, 0, 0xE000ED08u, APP_ADDR);
    assert_true(find_write(e->m, (uint32_t)vtor, A_IWDG_KR, 0xAAAAu) > vtor);
}

static void test_jump_refused(void **state)
{
    struct emu *e = *state;
    put32(e, APP_ADDR, 0x20020008u); /* SP above RAM */
    put32(e, APP_ADDR + 4u, (APP_ADDR + 0x400u) | 1u);
    assert_int_equal((int)call(e, "sys_jump", APP_ADDR, APP_ADDR + APP_SIZE, 0, 0), SYS_ERR_VECTOR);
    assert_int_equal(e->m->log_len, 0); /* nothing touched */

    put32(e, APP_ADDR, 0x20020000u); /* the normal top of RAM is fine ... */
    assert_int_equal((int)call(e, "sys_vector_check", APP_ADDR, APP_ADDR + APP_SIZE, 0, 0), SYS_OK);
    put32(e, APP_ADDR + 4u, APP_ADDR + 0x400u); /* ... an ARM-state reset handler is not */
    assert_int_equal((int)call(e, "sys_vector_check", APP_ADDR, APP_ADDR + APP_SIZE, 0, 0),
                     SYS_ERR_VECTOR);
    put32(e, APP_ADDR + 4u, (BOOT_ADDR + 0x400u) | 1u); /* reset handler outside the area */
    assert_int_equal((int)call(e, "sys_vector_check", APP_ADDR, APP_ADDR + APP_SIZE, 0, 0),
                     SYS_ERR_VECTOR);
    put32(e, APP_ADDR + 4u, (APP_ADDR + 0x400u) | 1u);
    put32(e, APP_ADDR, 0x2001FFFCu); /* not 8-byte aligned */
    assert_int_equal((int)call(e, "sys_vector_check", APP_ADDR, APP_ADDR + APP_SIZE, 0, 0),
                     SYS_ERR_VECTOR);
    put32(e, APP_ADDR, 0xFFFFFFFFu); /* erased */
    assert_int_equal((int)call(e, "sys_vector_check", APP_ADDR, APP_ADDR + APP_SIZE, 0, 0),
                     SYS_ERR_VECTOR);
    put32(e, APP_ADDR, 0x20020000u);
    assert_int_equal((int)call(e, "sys_vector_check", APP_ADDR + 4u, APP_ADDR + APP_SIZE, 0, 0),
                     SYS_ERR_VECTOR); /* table not VTOR-aligned */
}

static void test_reset(void **state)
{
    struct emu *e = *state;
    *reg(e->m, 0xE000ED0Cu) = 0x0300u; /* PRIGROUP 3 must be kept */
    const uint32_t args[4] = {0, 0, 0, 0};
    run(e, "sys_reset", args, RET_ADDR, 2000u); /* it never returns: stop after 2000 steps */
    assert_int_equal(last_write(e->m, 0xE000ED0Cu), 0x05FA0304u);
}

static void test_reset_cause(void **state)
{
    struct emu *e = *state;
    const struct {
        uint32_t csr;
        enum sys_reset_cause cause;
    } cases[] = {
        {0x0E000000u, SYS_RESET_POWER_ON}, /* POR + PIN + BOR after power-up */
        {0x14000000u, SYS_RESET_SOFTWARE}, /* SFTRST + PIN */
        {0x24000000u, SYS_RESET_IWDG},     /* IWDG + PIN */
        {0x04000000u, SYS_RESET_PIN},
        {0x02000000u, SYS_RESET_BROWN_OUT},
        {0x44000000u, SYS_RESET_WWDG},
        {0x84000000u, SYS_RESET_LOW_POWER},
        {0x00000000u, SYS_RESET_UNKNOWN},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        *reg(e->m, 0x40023874u) = cases[i].csr;
        e->m->log_len = 0;
        assert_int_equal(call(e, "sys_reset_cause", 0, 0, 0, 0), cases[i].cause);
        assert_int_equal(e->m->log_len, 0); /* clear = false writes nothing */
        assert_int_equal(call(e, "sys_reset_cause", 1, 0, 0, 0), cases[i].cause);
        assert_int_equal(last_write(e->m, 0x40023874u) & (1u << 24), 1u << 24); /* RMVF */
    }
}

static void test_usart_brr(void **state)
{
    struct emu *e = *state;
    /* Sheet §4.3 values (HAL's UART_BRR_SAMPLING16). */
    assert_int_equal(call(e, "usart_brr", 45000000u, 115200u, 0, 0), 0x0187u);
    assert_int_equal(call(e, "usart_brr", 16000000u, 115200u, 0, 0), 0x008Bu);
    assert_int_equal(call(e, "usart_brr", 45000000u, 9600u, 0, 0), 0x124Fu);
    assert_int_equal(call(e, "usart_brr", 16000000u, 9600u, 0, 0), 0x0683u);
    assert_int_equal(call(e, "usart_brr", 45000000u, 921600u, 0, 0), 0x0031u);
    assert_int_equal(call(e, "usart_brr", 45000000u, 0, 0, 0), 0);        /* no baud */
    assert_int_equal(call(e, "usart_brr", 16000000u, 2000000u, 0, 0), 0); /* USARTDIV < 1 */
    assert_int_equal(call(e, "usart_brr", 90000000u, 1200u, 0, 0), 0);    /* mantissa > 12 bits */
    assert_int_equal(call(e, "usart_brr", 180000000u, 115200u, 0, 0), 0); /* above 90 MHz APB */
}

/* ---- application image: watchdog, tick, button ------------------------------------------ */

static void test_iwdg(void **state)
{
    struct emu *e = *state;
    assert_int_equal(call(e, "iwdg_start", 0, 0, 0, 0), IWDG_OK);
    int start = find_write(e->m, 0, A_IWDG_KR, 0xCCCCu);
    int unlock = find_write(e->m, 0, A_IWDG_KR, 0x5555u);
    assert_true(start >= 0 && unlock > start);
    assert_int_equal(*reg(e->m, 0x40003004u), 4u);     /* PR /64 */
    assert_int_equal(*reg(e->m, 0x40003008u), 0xFFFu); /* RLR */
    assert_int_equal(e->m->iwdg_reloads, 1);
    assert_int_equal(*reg(e->m, 0xE0042008u) & (1u << 12), 1u << 12); /* frozen under debug */

    *reg(e->m, 0x4000300Cu) = 3u; /* PVU|RVU never clear: LSI not running */
    assert_int_equal((int)call(e, "iwdg_start", 0, 0, 0, 0), IWDG_ERR_TIMEOUT);
    assert_int_equal(e->m->iwdg_reloads, 2); /* still reloaded before giving up */
}

static void test_systick(void **state)
{
    struct emu *e = *state;
    assert_int_equal(call(e, "systick_start", 180000000u, 0, 0, 0), SYSTICK_OK);
    assert_int_equal(*reg(e->m, 0xE000E014u), 179999u);
    assert_int_equal(*reg(e->m, A_SYST_CSR), 7u); /* HCLK, interrupt, enable */
    assert_int_equal(call(e, "systick_start", 16000000u, 0, 0, 0), SYSTICK_OK);
    assert_int_equal(*reg(e->m, 0xE000E014u), 15999u);
    *reg(e->m, A_SYST_CSR) = 0x5a5a;
    assert_int_equal((int)call(e, "systick_start", 999u, 0, 0, 0), SYSTICK_ERR_RANGE);
    assert_int_equal(*reg(e->m, A_SYST_CSR), 0x5a5a); /* untouched */
}

static void test_exti(void **state)
{
    struct emu *e = *state;
    assert_int_equal(call(e, "exti_gpio_init", 2, 13, EXTI_EDGE_FALLING, 8), EXTI_OK);
    assert_int_equal(*reg(e->m, 0x40013814u) & 0xF0u, 0x20u); /* EXTICR4: EXTI13 = port C */
    assert_int_equal(*reg(e->m, 0x40013C0Cu), 1u << 13);       /* FTSR */
    assert_int_equal(*reg(e->m, 0x40013C08u), 0);              /* RTSR */
    assert_int_equal(*reg(e->m, 0x40013C00u), 1u << 13);       /* IMR */
    assert_int_equal(last_write(e->m, 0x40013C14u), 1u << 13); /* stale edge cleared */
    assert_int_equal(last_write(e->m, 0xE000E104u), 1u << 8);  /* ISER1: IRQ 40 */
    assert_int_equal(*reg(e->m, 0xE000E428u) & 0xFFu, 0x80u);   /* priority 8 << 4 */
    assert_int_equal(*reg(e->m, 0x40023844u) & (1u << 14), 1u << 14); /* SYSCFG clock */

    e->m->log_len = 0;
    assert_int_equal((int)call(e, "exti_gpio_init", 2, 16, EXTI_EDGE_FALLING, 8), EXTI_ERR_ARG);
    assert_int_equal((int)call(e, "exti_gpio_init", 8, 13, EXTI_EDGE_FALLING, 8), EXTI_ERR_ARG);
    assert_int_equal((int)call(e, "exti_gpio_init", 2, 13, 0, 8), EXTI_ERR_ARG);
    assert_int_equal((int)call(e, "exti_gpio_init", 2, 13, EXTI_EDGE_FALLING, 16), EXTI_ERR_ARG);
    assert_int_equal(e->m->log_len, 0);

    /* The handler's helper: pending -> true and cleared (write 1); not pending -> false. */
    *reg(e->m, 0x40013C14u) = 1u << 13;
    assert_int_equal(call(e, "exti_take_pending", 13, 0, 0, 0) & 0xFFu, 1);
    assert_int_equal(last_write(e->m, 0x40013C14u), 1u << 13);
    *reg(e->m, 0x40013C14u) = 0;
    e->m->log_len = 0;
    assert_int_equal(call(e, "exti_take_pending", 13, 0, 0, 0) & 0xFFu, 0);
    assert_int_equal(e->m->log_len, 0);
}

static void test_spi(void **state)
{
    struct emu *e = *state;
    assert_int_equal((int)call(e, "spi1_init", 3, 0, 0, 0), SPI_ERR_ARG);
    assert_int_equal((int)call(e, "spi1_init", 512, 0, 0, 0), SPI_ERR_ARG);
    assert_int_equal(e->m->log_len, 0);
    assert_int_equal(call(e, "spi1_init", 4, 0, 0, 0), SPI_OK);
    /* Master, SSM+SSI (no MODF from the internal NSS), /4, mode 0, enabled. */
    assert_int_equal(*reg(e->m, A_SPI1_CR1), 0x34Cu);
    assert_int_equal(*reg(e->m, 0x40023844u) & (1u << 12), 1u << 12); /* SPI1 clock */

    const uint8_t frame[4] = {0x00, 0x39, 0x00, 0x00};
    assert_int_equal(uc_mem_write(e->uc, SCRATCH, frame, 4), UC_ERR_OK);
    e->m->spi_rxne = true; /* a stale byte from an aborted transfer must not shift the reply */
    e->m->spi_rx = 0xEE;
    assert_int_equal(call(e, "spi1_transfer", SCRATCH, SCRATCH + 16u, 4, 0), SPI_OK);
    assert_int_equal(e->m->spi_count, 4);
    assert_memory_equal(e->m->spi_tx, frame, 4);
    assert_int_equal(mem32(e, SCRATCH + 16u), 0x04030201u);

    /* tx NULL sends zeros, rx NULL discards. */
    e->m->spi_count = 0;
    assert_int_equal(call(e, "spi1_transfer", 0, 0, 3, 0), SPI_OK);
    assert_int_equal(e->m->spi_count, 3);
    assert_int_equal(e->m->spi_tx[0] | e->m->spi_tx[1] | e->m->spi_tx[2], 0);

    e->m->spi_modf = true;
    assert_int_equal((int)call(e, "spi1_transfer", SCRATCH, SCRATCH + 16u, 4, 0), SPI_ERR_MODF);
    e->m->spi_modf = false;
    e->m->spi_rx_never = true;
    assert_int_equal((int)call(e, "spi1_transfer", SCRATCH, SCRATCH + 16u, 4, 0), SPI_ERR_TIMEOUT);
}

/* Mode (2 bits) and alternate function (4 bits) of one pin from the model's registers. */
static uint32_t pin_mode(struct model *m, uint32_t port, uint32_t pin)
{
    return (*reg(m, port) >> (2u * pin)) & 3u;
}

static uint32_t pin_af(struct model *m, uint32_t port, uint32_t pin)
{
    return (*reg(m, port + 0x20u + 4u * (pin / 8u)) >> (4u * (pin % 8u))) & 0xFu;
}

#define GPIOA 0x40020000u
#define GPIOB 0x40020400u
#define GPIOC 0x40020800u

static void test_board_pins(void **state)
{
    struct emu *e = *state;
    call(e, "board_led_init", 0, 0, 0, 0);
    assert_int_equal(pin_mode(e->m, GPIOA, 0), 1u); /* PA0 output */
    assert_int_equal(*reg(e->m, GPIOA + 0x14u) & 1u, 0); /* LED off */
    call(e, "board_led_set", 1, 0, 0, 0);
    assert_int_equal(*reg(e->m, GPIOA + 0x14u) & 1u, 1u);
    call(e, "board_led_set", 0, 0, 0, 0);
    assert_int_equal(*reg(e->m, GPIOA + 0x14u) & 1u, 0);

    assert_int_equal(call(e, "board_uart_init", 45000000u, 0, 0, 0), 0);
    assert_int_equal(pin_mode(e->m, GPIOA, 2), 2u);
    assert_int_equal(pin_mode(e->m, GPIOA, 3), 2u);
    assert_int_equal(pin_af(e->m, GPIOA, 2), 7u);
    assert_int_equal(pin_af(e->m, GPIOA, 3), 7u);
    assert_int_equal(*reg(e->m, 0x40004408u), 0x0187u);          /* BRR 115200 @ 45 MHz */
    assert_int_equal(*reg(e->m, 0x4000440Cu), (1u << 13) | 0xCu); /* UE TE RE, 8N1 */

    e->m->log_len = 0;
    assert_int_equal(call(e, "board_w5500_spi_init", 0, 0, 0, 0), 0);
    for (uint32_t pin = 5; pin <= 7; pin++) {
        assert_int_equal(pin_mode(e->m, GPIOA, pin), 2u);
        assert_int_equal(pin_af(e->m, GPIOA, pin), 5u);
    }
    assert_int_equal(pin_mode(e->m, GPIOB, 6), 1u);
    assert_int_equal(pin_mode(e->m, GPIOC, 7), 1u);
    assert_int_equal(*reg(e->m, GPIOB + 0x14u) & (1u << 6), 1u << 6); /* CS idle high */
    assert_int_equal(*reg(e->m, GPIOC + 0x14u) & (1u << 7), 0);      /* W5500 held in reset */
    /* CS was driven high before PB6 became an output: no glitch selects the chip. */
    int level = find_write(e->m, 0, GPIOB + 0x18u, 1u << 6);
    int mode = -1;
    for (uint32_t i = 0; i < e->m->log_len; i++) {
        if (e->m->log[i].addr == GPIOB && ((e->m->log[i].value >> 12) & 3u) == 1u) {
            mode = (int)i;
            break;
        }
    }
    assert_true(level >= 0 && mode > level);
    call(e, "board_w5500_select", 0, 0, 0, 0);
    assert_int_equal(*reg(e->m, GPIOB + 0x14u) & (1u << 6), 0);
    call(e, "board_w5500_deselect", 0, 0, 0, 0);
    assert_int_equal(*reg(e->m, GPIOB + 0x14u) & (1u << 6), 1u << 6);
    call(e, "board_w5500_reset_pin", 1, 0, 0, 0);
    assert_int_equal(*reg(e->m, GPIOC + 0x14u) & (1u << 7), 1u << 7);

    assert_int_equal(call(e, "board_button_init", 8, 0, 0, 0), 0);
    assert_int_equal(pin_mode(e->m, GPIOC, 13), 0u);                 /* input */
    assert_int_equal((*reg(e->m, GPIOC + 0x0Cu) >> 26) & 3u, 0u);   /* no internal pull */
}

static void test_usart_write(void **state)
{
    struct emu *e = *state;
    assert_int_equal(uc_mem_write(e->uc, SCRATCH, "ok\r\n", 4), UC_ERR_OK);
    assert_int_equal(call(e, "usart2_write", SCRATCH, 4, 0, 0), 0);
    char sent[5] = {0};
    uint32_t n = 0;
    for (uint32_t i = 0; i < e->m->log_len && n < 4u; i++) {
        if (e->m->log[i].addr == 0x40004404u) {
            sent[n++] = (char)e->m->log[i].value;
        }
    }
    assert_string_equal(sent, "ok\r\n");
    e->m->usart_stuck = true;
    assert_int_equal((int)call(e, "usart2_write", SCRATCH, 4, 0, 0), USART_ERR_TIMEOUT);
}

static void test_button_irq(void **state)
{
    struct emu *e = *state;
    uint32_t flag;
    uint32_t size;
    assert_int_equal(fw_elf_symbol(&e->elf, "app_button_flag", &flag, &size), FWCHECK_OK);
    assert_int_equal(mem32(e, flag) & 0xFFu, 0);
    call(e, "EXTI15_10_IRQHandler", 0, 0, 0, 0); /* another line of the group: no flag */
    assert_int_equal(mem32(e, flag) & 0xFFu, 0);
    *reg(e->m, 0x40013C14u) = 1u << 13;
    call(e, "EXTI15_10_IRQHandler", 0, 0, 0, 0);
    assert_int_equal(mem32(e, flag) & 0xFFu, 1);
    assert_int_equal(last_write(e->m, 0x40013C14u), 1u << 13); /* cleared before return */
}

/* ---- the rest of the port, from port_selftest.elf -------------------------------------- */

static void test_unique_id(void **state)
{
    struct emu *e = *state;
    const uint8_t uid[12] = {0x31, 0x00, 0x4A, 0x00, 0x0E, 0x51, 0x37, 0x34,
                             0x37, 0x38, 0x39, 0x30};
    assert_int_equal(uc_mem_write(e->uc, 0x1FFF7A10u, uid, sizeof uid), UC_ERR_OK);
    call(e, "sys_unique_id", SCRATCH, 0, 0, 0);
    uint8_t got[12];
    assert_int_equal(uc_mem_read(e->uc, SCRATCH, got, sizeof got), UC_ERR_OK);
    assert_memory_equal(got, uid, sizeof uid);
}

static void test_small_helpers(void **state)
{
    struct emu *e = *state;
    const uint32_t max_ms[8] = {500, 500, 500, 500, 1100, 2000, 2000, 2000}; /* sheet §2.9 */
    for (uint32_t n = 0; n < 8u; n++) {
        assert_int_equal(call(e, "flash_stm32_erase_max_ms", n, 0, 0, 0), max_ms[n]);
    }
    assert_int_equal(call(e, "iwdg_timeout_ms", 32000u, 0, 0, 0), 8192u); /* /64 x 4096 */
    assert_int_equal(call(e, "iwdg_timeout_ms", 0, 0, 0, 0), 0);
    *reg(e->m, 0x40023C14u) = 0x0FFFAAEDu; /* OPTCR factory value: WDG_SW = 1 */
    assert_int_equal(call(e, "iwdg_started_by_hardware", 0, 0, 0, 0) & 0xFFu, 0);
    *reg(e->m, 0x40023C14u) = 0x0FFFAACDu; /* WDG_SW = 0: hardware watchdog */
    assert_int_equal(call(e, "iwdg_started_by_hardware", 0, 0, 0, 0) & 0xFFu, 1);

    uint32_t name = call(e, "sys_reset_cause_name", SYS_RESET_IWDG, 0, 0, 0);
    char buf[16] = {0};
    assert_int_equal(uc_mem_read(e->uc, name, buf, sizeof buf - 1u), UC_ERR_OK);
    assert_string_equal(buf, "watchdog");
    name = call(e, "sys_reset_cause_name", 99, 0, 0, 0);
    memset(buf, 0, sizeof buf);
    assert_int_equal(uc_mem_read(e->uc, name, buf, sizeof buf - 1u), UC_ERR_OK);
    assert_string_equal(buf, "unknown");
}

/* RCC reset pulse: a write with the bit set followed by one with it clear, and the clock off. */
static void assert_reset_pulse(struct model *m, uint32_t rstr, uint32_t enr, uint32_t bit)
{
    int set = find_write(m, 0, rstr, bit);
    assert_true(set >= 0);
    int cleared = -1;
    for (uint32_t i = (uint32_t)set + 1u; i < m->log_len; i++) {
        if (m->log[i].addr == rstr && (m->log[i].value & bit) == 0) {
            cleared = (int)i;
            break;
        }
    }
    assert_true(cleared > set);
    assert_int_equal(*reg(m, enr) & bit, 0);
}

static void test_deinit(void **state)
{
    struct emu *e = *state;
    assert_int_equal(call(e, "board_uart_init", 45000000u, 0, 0, 0), 0);
    assert_int_equal(call(e, "board_w5500_spi_init", 0, 0, 0, 0), 0);
    assert_int_equal(call(e, "board_button_init", 8, 0, 0, 0), 0);
    e->m->log_len = 0;
    call(e, "board_deinit", 0, 0, 0, 0);
    assert_reset_pulse(e->m, 0x40023820u, 0x40023840u, 1u << 17); /* USART2 */
    assert_reset_pulse(e->m, 0x40023824u, 0x40023844u, 1u << 12); /* SPI1 */
    assert_reset_pulse(e->m, 0x40023824u, 0x40023844u, 1u << 14); /* SYSCFG */
    assert_reset_pulse(e->m, 0x40023810u, 0x40023830u, 1u << 0);  /* GPIOA */
    assert_reset_pulse(e->m, 0x40023810u, 0x40023830u, 1u << 1);  /* GPIOB */
    assert_reset_pulse(e->m, 0x40023810u, 0x40023830u, 1u << 2);  /* GPIOC */
    assert_int_equal(last_write(e->m, 0x40013C00u), 0);           /* EXTI masked */
    assert_int_equal(last_write(e->m, 0x40013C14u), 0x007FFFFFu); /* and cleared */

    /* The UART is reset only after its last frame left (TC waited for). */
    e->m->usart_stuck = true;
    assert_int_equal((int)call(e, "usart2_flush", 0, 0, 0, 0), 0); /* clock off: nothing to wait */
    *reg(e->m, 0x40023840u) |= 1u << 17;
    assert_int_equal((int)call(e, "usart2_flush", 0, 0, 0, 0), USART_ERR_TIMEOUT);
}

static void test_systick_stop(void **state)
{
    struct emu *e = *state;
    assert_int_equal(call(e, "systick_start", 180000000u, 0, 0, 0), SYSTICK_OK);
    call(e, "systick_stop", 0, 0, 0, 0);
    assert_int_equal(*reg(e->m, A_SYST_CSR), 0);
    assert_int_equal(*reg(e->m, 0xE000E014u), 0);
    assert_int_equal(last_write(e->m, 0xE000ED04u), 1u << 25); /* PENDSTCLR */
    /* systick_advance adds to the count the tick keeps. */
    uint32_t count;
    uint32_t size;
    assert_int_equal(fw_elf_symbol(&e->elf, "systick_count", &count, &size), FWCHECK_OK);
    uint32_t before = call(e, "systick_ms", 0, 0, 0, 0);
    call(e, "systick_advance", 25, 0, 0, 0);
    assert_int_equal(call(e, "systick_ms", 0, 0, 0, 0), before + 25u);
    assert_int_equal(mem32(e, count), before + 25u);
}

int main(void)
{
#define T(fn) cmocka_unit_test_setup_teardown(fn, emu_setup, emu_teardown)
#define A(fn) cmocka_unit_test_setup_teardown(fn, emu_setup_app, emu_teardown)
#define S(fn) cmocka_unit_test_setup_teardown(fn, emu_setup_selftest, emu_teardown)
    const struct CMUnitTest tests[] = {
        T(test_clock_hse_180),       T(test_clock_no_hse),        T(test_clock_pll_fails),
        T(test_clock_overdrive_fails), T(test_clock_latency_fails), T(test_clock_switch_fails),
        T(test_clock_hsi_fails),     T(test_flash_erase),         T(test_flash_erase_refused),
        T(test_flash_erase_errors),  T(test_flash_locked),        T(test_flash_timeout),
        T(test_flash_program),       T(test_flash_program_refused), T(test_jump),
        T(test_jump_refused),        T(test_reset),               T(test_reset_cause),
        T(test_usart_brr),           A(test_iwdg),                A(test_systick),
        A(test_exti),                A(test_spi),                 A(test_board_pins),
        A(test_button_irq),          A(test_usart_write),         S(test_unique_id),
        S(test_small_helpers),       S(test_deinit),              S(test_systick_stop),
    };
#undef T
#undef A
#undef S
    return cmocka_run_group_tests(tests, NULL, NULL);
}
