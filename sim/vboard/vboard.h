/*
 * vboard: a virtual NUCLEO-F446RE + W5500 board on Unicorn 2 (Cortex-M4F).
 *
 * Every model here is written from ../shared/reference/stm32f446.md and w5500.md, never from the
 * firmware's register headers, so a misread register cannot hide by being wrong in both places.
 * See docs/vboard.md for what is modelled, the time model and the command line.
 */
#ifndef VBOARD_H
#define VBOARD_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include <unicorn/unicorn.h>

struct w5500_model;

/* Memory map (stm32f446.md §1.1). */
#define VB_FLASH_BASE 0x08000000u
#define VB_FLASH_SIZE 0x00080000u
#define VB_SRAM_BASE 0x20000000u
#define VB_SRAM_SIZE 0x00020000u
#define VB_PERIPH_BASE 0x40000000u
#define VB_PERIPH_SIZE 0x00100000u
#define VB_PPB_BASE 0xE0000000u
#define VB_PPB_SIZE 0x00100000u
#define VB_SYSMEM_PAGE 0x1FFF7000u /* OTP, UID, flash size: one 4 KB page */
#define VB_BB_SRAM_BASE 0x22000000u
#define VB_BB_PERIPH_BASE 0x42000000u
#define VB_FLASH_SECTORS 8

/* Exceptions: 16 system + 97 external positions (IRQ 0..96). */
#define VB_NUM_IRQ 97
#define VB_NUM_EXC (16 + VB_NUM_IRQ)
#define VB_EXC_NMI 2
#define VB_EXC_HARDFAULT 3
#define VB_EXC_MEMMANAGE 4
#define VB_EXC_BUSFAULT 5
#define VB_EXC_USAGEFAULT 6
#define VB_EXC_SVCALL 11
#define VB_EXC_PENDSV 14
#define VB_EXC_SYSTICK 15

/* IRQ numbers used by the models (stm32f446.md §1.3). */
#define VB_IRQ_FLASH 4
#define VB_IRQ_EXTI0 6
#define VB_IRQ_EXTI9_5 23
#define VB_IRQ_SPI1 35
#define VB_IRQ_USART2 38
#define VB_IRQ_EXTI15_10 40

/* Why a run ended. Exit status 0 only for VB_STOP_CONDITION. */
enum vb_stop {
    VB_RUNNING = 0,
    VB_STOP_CONDITION,  /* --stop-on text seen, or --timeout-ms reached without --stop-on */
    VB_STOP_TIMEOUT,    /* virtual time limit reached before the stop text */
    VB_STOP_UNMODELLED, /* access to an address or register that is not modelled */
    VB_STOP_BKPT,       /* BKPT instruction (test programs use it to report a failure) */
    VB_STOP_MAX_RESETS, /* more resets than --max-resets */
    VB_STOP_CPU,        /* CPU error: lockup, invalid instruction in a fault, emulator error */
    VB_STOP_DEADLOCK,   /* WFI with nothing that could ever wake the core */
    VB_STOP_HOST,       /* host-side error (file I/O) */
};

enum vb_reset_cause {
    VB_RESET_NONE = 0,
    VB_RESET_POWER_ON,
    VB_RESET_SOFTWARE, /* AIRCR.SYSRESETREQ */
    VB_RESET_IWDG,
    VB_RESET_POWER_CUT,
    VB_RESET_CAUSES,
};

enum vb_cut_mode { VB_CUT_CLEAN = 0, VB_CUT_TORN, VB_CUT_PARTIAL_ERASE };

/* Time categories of the summary. */
enum vb_tcat { VB_T_CPU = 0, VB_T_FLASH, VB_T_SPI, VB_T_WAIT, VB_T_COUNT };

#define VB_MAX_LOADS 8
#define VB_MAX_MAPS 16
#define VB_MAX_VERSIONS 16
#define VB_LINE_MAX 512

struct vb_options {
    const char *flash_path;
    bool fresh;
    const char *loads[VB_MAX_LOADS];
    int n_loads;
    const char *maps[VB_MAX_MAPS];
    int n_maps;
    const char *dns[VB_MAX_MAPS];
    int n_dns;
    int64_t press_at_ms;        /* -1: none */
    const char *press_on_text;  /* NULL: none */
    uint32_t press_hold_ms;
    int64_t cut_at_ms;          /* -1: none */
    int64_t cut_at_flash_op;    /* -1: none; 1-based */
    enum vb_cut_mode cut_mode;
    const char *stop_on;
    uint64_t timeout_ms;
    int64_t max_resets;         /* -1: unlimited */
    bool summary;
    const char *uart_log;
    uint32_t seed;
    bool vbat;                  /* backup domain kept across power cuts/runs (FLASH.bkp) */
    bool no_pace;
    bool pace_host_only; /* pace only while the W5500 model has a host socket open */
    bool no_ff;                 /* --no-fast-forward: emulate every pass of a BSY polling loop */
    bool trace_irq;
    bool trace_flash;           /* log every flash operation as it starts */
    uint32_t wrp_sectors;      /* option bytes: sectors write-protected (nWRP = 0) */
};

/* Flash controller state (stm32f446.md §2). */
struct vb_flash {
    uint8_t *mem;     /* 512 KB, mmap of the flash file */
    int fd;
    uint32_t acr, sr, cr, optcr;
    int key_state;    /* 0 locked, 1 KEY1 seen, 2 unlocked */
    bool key_lockout; /* wrong key: locked until reset */
    int optkey_state;
    bool busy;
    uint64_t busy_end_ps;
    int op;           /* 0 none, 1 program, 2 sector erase, 3 mass erase */
    uint32_t op_addr; /* program: address; erase: sector */
    uint32_t op_data; /* program: value (already size-masked) */
    uint32_t op_size;
    uint64_t ops_total;      /* flash operations started (programs + erases) over the whole run */
    uint64_t programs;       /* program operations completed */
    uint64_t erases[VB_FLASH_SECTORS];
    uint64_t mass_erases;
    uint64_t busy_ps;        /* total time BSY was set */
    /* Unicorn 2.0.1 still performs the raw store after the write-protect hook returns true:
     * the old bytes are put back before the next instruction runs. */
    bool restore_pending;
    uint32_t restore_off;
    uint32_t restore_len;
    uint8_t restore_bytes[8];
    uint64_t last_store_icount;
    uint32_t last_store_addr, last_store_size;
};

struct vb_gpio {
    uint32_t moder, otyper, ospeedr, pupdr, odr, afr[2];
    uint16_t ext_level; /* level driven from outside (button) for input pins */
    uint16_t ext_mask;  /* which pins are driven from outside */
    uint16_t last_level;
};

struct vboard {
    struct vb_options opt;
    uc_engine *uc;
    uc_hook h_code, h_block, h_intr, h_unmapped, h_wprot;

    /* Time. */
    uint64_t now_ps;
    uint64_t cycles;      /* HCLK cycles since power-on of this run (CPU + skipped time) */
    uint64_t icount;      /* instructions executed */
    uint64_t icount_accounted;
    uint64_t hclk_hz, pclk1_hz, pclk2_hz;
    uint64_t cycle_ps;
    uint64_t tcat_ps[VB_T_COUNT];
    uint64_t next_event_ps;
    uint32_t pc;          /* address of the instruction executing (code hook) */
    uint8_t code_page[VB_FLASH_SIZE >> 12]; /* flash pages code was translated from */
    uint32_t last_block;

    /* Run control. */
    enum vb_stop stop;
    char stop_msg[256];
    bool halting;         /* stop or reset requested: ignore further side effects */
    enum vb_reset_cause reset_req;
    uint64_t resets[VB_RESET_CAUSES];
    uint64_t reset_count; /* resets after the first power-on */
    uint64_t reset_at_ps[16];
    enum vb_reset_cause reset_cause_log[16];
    uint32_t rng;
    bool cut_done;
    bool button_pressed;
    uint64_t button_release_ps;
    bool press_at_done;
    bool press_on_done;
    uint64_t warnings;

    /* Core peripherals. */
    bool nv_enabled[VB_NUM_EXC];
    bool nv_pending[VB_NUM_EXC];
    bool nv_active[VB_NUM_EXC];
    bool irq_level[VB_NUM_IRQ];
    uint8_t nv_prio[VB_NUM_EXC];
    bool exc_dirty;
    bool exc_blocked;       /* an enabled exception pends, masked: recheck when masks change */
    uint32_t blocked_masks[3];
    uint32_t vtor, aircr_prigroup, scr, ccr, shcsr, cfsr, hfsr, mmfar, bfar, cpacr;
    uint32_t fpccr, fpcar, fpdscr;
    uint32_t demcr, dwt_ctrl;
    uint64_t dwt_base_cycles;
    uint32_t dbg_cr, dbg_apb1fz, dbg_apb2fz;
    uint32_t st_ctrl, st_load;
    uint32_t st_v0;       /* SysTick counter value at anchor */
    uint64_t st_t0;       /* anchor, in SysTick ticks */
    uint64_t st_seen_ticks;

    /* STM32 peripherals. */
    struct vb_flash fl;
    uint8_t *sram;
    uint32_t rcc_cr, rcc_pllcfgr, rcc_cfgr, rcc_cir, rcc_ahb1rstr, rcc_ahb2rstr, rcc_ahb3rstr;
    uint32_t rcc_apb1rstr, rcc_apb2rstr, rcc_ahb1enr, rcc_ahb2enr, rcc_ahb3enr, rcc_apb1enr;
    uint32_t rcc_apb2enr, rcc_bdcr, rcc_csr, rcc_sscgr, rcc_plli2scfgr, rcc_pllsaicfgr;
    uint32_t rcc_dckcfgr, rcc_ckgatenr, rcc_dckcfgr2;
    uint32_t pwr_cr, pwr_csr;
    struct vb_gpio gpio[3];
    uint32_t exti_imr, exti_emr, exti_rtsr, exti_ftsr, exti_pr;
    uint32_t syscfg_memrmp, syscfg_pmc, syscfg_exticr[4], syscfg_cmpcr, syscfg_cfgr;
    uint32_t usart_sr, usart_brr, usart_cr1, usart_cr2, usart_cr3, usart_gtpr;
    uint8_t usart_rdr;
    bool stdin_eof;
    uint64_t next_rx_poll_ps;
    uint32_t spi_cr1, spi_cr2, spi_sr, spi_crcpr, spi_i2scfgr, spi_i2spr;
    uint16_t spi_rdr;
    uint32_t crc_dr, crc_idr;
    bool iwdg_running;
    bool iwdg_unlocked;
    uint32_t iwdg_pr, iwdg_rlr;
    uint64_t iwdg_expire_ps;
    uint32_t bkp[20];
    uint8_t bkpsram[4096];

    /* W5500 on SPI1 (CS = PB6, RSTn = PC7). */
    struct w5500_model *w5500;
    bool w5500_cs_low;
    uint64_t w5500_last_spi_ps;
    uint64_t next_w5500_ps;
    bool pace_active;
    uint64_t pace_v0_ps;      /* moved forward by flash time exempt from pacing */
    uint64_t pace_r0_ns;
    uint64_t paced_ns;
    uint64_t pace_exempt_ps;  /* flash time exempt from pacing while pacing was active */

    /* BSY polling fast-forward (vb_cpu.c, docs/vboard.md "Time model"): the last FLASH_SR read
     * that saw BSY, and the period of the loop making those reads. */
    bool ffp_valid;       /* ffp_pc/ffp_cyc describe the previous BSY read */
    bool ffp_clean;       /* no other device access since that read */
    uint32_t ffp_pc;
    uint64_t ffp_cyc;     /* cycle count at that read */
    uint64_t ffp_icount;  /* instructions executed at that read */
    uint64_t ffp_period;  /* cycles between the last two reads */
    uint64_t ffp_insns;   /* instructions between the last two reads */
    unsigned ffp_matches; /* consecutive periods equal to ffp_period */
    uint64_t ff_ps;       /* virtual time fast-forwarded (charged as cpu) */
    uint64_t ff_jumps;
    uint64_t ff_insns;    /* instructions the skipped passes would have executed */

    /* UART output. */
    FILE *uart_log;
    char line[VB_LINE_MAX];
    size_t line_len;
    char versions[VB_MAX_VERSIONS][48];
    unsigned version_count[VB_MAX_VERSIONS];
    int n_versions;
    uint64_t led_changes;
    bool led_level;
};

/* vb_cpu.c: Unicorn set-up, exceptions, NVIC/SCB/SysTick, time. */
int vb_cpu_init(struct vboard *vb);
void vb_cpu_reset(struct vboard *vb);
int vb_run(struct vboard *vb);
void vb_set_irq_level(struct vboard *vb, int irq, bool level);
void vb_pend_exception(struct vboard *vb, int exc);
void vb_bus_fault(struct vboard *vb, uint32_t addr, bool precise);
uint32_t vb_ppb_read(struct vboard *vb, uint32_t addr);
void vb_ppb_write(struct vboard *vb, uint32_t addr, uint32_t value, uint32_t mask);
void vb_reschedule(struct vboard *vb);
void vb_add_time(struct vboard *vb, uint64_t ps, enum vb_tcat cat);
void vb_advance_to(struct vboard *vb, uint64_t target_ps, enum vb_tcat cat);
void vb_flush_code(struct vboard *vb, uint32_t addr, uint32_t len);
void vb_ff_flash_sr_read(struct vboard *vb);
void vb_pace_exempt(struct vboard *vb, uint64_t until_ps);
uint64_t vb_real_ns(void);

/* vb_periph.c: STM32F446 peripherals and the flash interface. */
void vb_periph_reset(struct vboard *vb, enum vb_reset_cause cause);
uint32_t vb_periph_read(struct vboard *vb, uint32_t addr, unsigned size);
void vb_periph_write(struct vboard *vb, uint32_t addr, uint32_t value, uint32_t mask, unsigned size);
uint32_t vb_sysmem_read(struct vboard *vb, uint32_t addr, unsigned size);
bool vb_flash_store(struct vboard *vb, uint32_t addr, unsigned size, uint32_t value);
void vb_flash_restore(struct vboard *vb);
void vb_flash_complete(struct vboard *vb, bool cut);
void vb_periph_events(struct vboard *vb);
uint64_t vb_periph_next_event(struct vboard *vb, bool with_w5500);
void vb_update_clocks(struct vboard *vb);
void vb_button(struct vboard *vb, bool pressed);
uint32_t vb_rand(struct vboard *vb);

/* vb_main.c: run control and reporting. */
void vb_stop(struct vboard *vb, enum vb_stop why, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
void vb_request_reset(struct vboard *vb, enum vb_reset_cause cause);
void vb_log(struct vboard *vb, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void vb_warn(struct vboard *vb, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void vb_uart_tx(struct vboard *vb, uint8_t c);
void vb_unmodelled(struct vboard *vb, uint32_t addr, unsigned size, bool write);
const char *vb_reset_name(enum vb_reset_cause c);

#endif /* VBOARD_H */
