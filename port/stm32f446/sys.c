/* Reset, reset cause, unique ID, and the bootloader-to-application hand-off. */
#include "sys.h"

#include "clock.h"
#include "exti.h"
#include "flash_layout.h"
#include "iwdg.h"
#include "stm32f446.h"
#include "systick.h"

PORT_ENTRY void sys_reset(void)
{
    cm4_dsb();
    CM4_SCB->AIRCR = SCB_AIRCR_VECTKEY | (CM4_SCB->AIRCR & SCB_AIRCR_PRIGROUP_MASK) |
                     SCB_AIRCR_SYSRESETREQ;
    cm4_dsb();
    for (;;) {
    }
}

PORT_ENTRY enum sys_reset_cause sys_reset_cause(bool clear)
{
    uint32_t csr = STM32_RCC->CSR;
    enum sys_reset_cause cause;
    if ((csr & RCC_CSR_LPWRRSTF) != 0) {
        cause = SYS_RESET_LOW_POWER;
    } else if ((csr & RCC_CSR_WWDGRSTF) != 0) {
        cause = SYS_RESET_WWDG;
    } else if ((csr & RCC_CSR_IWDGRSTF) != 0) {
        cause = SYS_RESET_IWDG;
    } else if ((csr & RCC_CSR_SFTRSTF) != 0) {
        cause = SYS_RESET_SOFTWARE;
    } else if ((csr & RCC_CSR_PORRSTF) != 0) {
        cause = SYS_RESET_POWER_ON;
    } else if ((csr & RCC_CSR_BORRSTF) != 0) {
        cause = SYS_RESET_BROWN_OUT;
    } else if ((csr & RCC_CSR_PINRSTF) != 0) {
        cause = SYS_RESET_PIN;
    } else {
        cause = SYS_RESET_UNKNOWN;
    }
    if (clear) {
        STM32_RCC->CSR |= RCC_CSR_RMVF;
    }
    return cause;
}

const char *sys_reset_cause_name(enum sys_reset_cause cause)
{
    switch (cause) {
    case SYS_RESET_POWER_ON:
        return "power-on";
    case SYS_RESET_PIN:
        return "pin";
    case SYS_RESET_SOFTWARE:
        return "software";
    case SYS_RESET_IWDG:
        return "watchdog";
    case SYS_RESET_WWDG:
        return "window-watchdog";
    case SYS_RESET_LOW_POWER:
        return "low-power";
    case SYS_RESET_BROWN_OUT:
        return "brown-out";
    case SYS_RESET_UNKNOWN:
    default:
        return "unknown";
    }
}

void sys_unique_id(uint8_t out[12])
{
    const volatile uint32_t *uid = (const volatile uint32_t *)STM32_UID_ADDR;
    for (uint32_t w = 0; w < 3u; w++) {
        uint32_t v = uid[w];
        for (uint32_t b = 0; b < 4u; b++) {
            out[w * 4u + b] = (uint8_t)(v >> (8u * b));
        }
    }
}

PORT_ENTRY int sys_vector_check(uint32_t vtor_addr, uint32_t limit)
{
    if (vtor_addr % VTOR_ALIGN != 0 || limit <= vtor_addr + 8u) {
        return SYS_ERR_VECTOR;
    }
    /* The table is read where it sits in flash. */
    const volatile uint32_t *vt =
        (const volatile uint32_t *)(uintptr_t)vtor_addr; /* NOLINT(performance-no-int-to-ptr) */
    uint32_t sp = vt[0];
    uint32_t pc = vt[1];
    /* Not ST's (sp & 0x2FFE0000) test: it rejects the normal top of RAM 0x20020000 (§5.1). */
    if (sp <= SRAM_BASE_ADDR || sp > SRAM_BASE_ADDR + SRAM_TOTAL_SIZE || sp % 8u != 0) {
        return SYS_ERR_VECTOR;
    }
    if ((pc & 1u) == 0 || (pc & ~1u) < vtor_addr + 8u || (pc & ~1u) >= limit) {
        return SYS_ERR_VECTOR;
    }
    return SYS_OK;
}

/*
 * No stack is used between setting MSP and the branch: both values are in registers already.
 * CONTROL = 0: privileged, MSP, FPCA cleared so the application's first exception does not push
 * an FP frame for state it never created. PRIMASK is cleared last: every interrupt source was
 * disabled and un-pended, so nothing can fire until the application enables it.
 */
__attribute__((naked, noreturn)) static void sys_branch(__attribute__((unused)) uint32_t sp,
                                                          __attribute__((unused)) uint32_t pc)
{
    __asm volatile("movs r2, #0\n"
                   "msr control, r2\n"
                   "isb\n"
                   "msr msp, r0\n"
                   "cpsie i\n"
                   "bx r1\n");
}

PORT_ENTRY int sys_jump(uint32_t vtor_addr, uint32_t limit)
{
    if (sys_vector_check(vtor_addr, limit) != SYS_OK) {
        return SYS_ERR_VECTOR;
    }
    /* Read now: after this point nothing may depend on the stack content. */
    const volatile uint32_t *vt =
        (const volatile uint32_t *)(uintptr_t)vtor_addr; /* NOLINT(performance-no-int-to-ptr) */
    uint32_t sp = vt[0];
    uint32_t pc = vt[1];

    cm4_irq_disable();
    systick_stop();
    CM4_SCB->ICSR = SCB_ICSR_PENDSTCLR | SCB_ICSR_PENDSVCLR;
    for (uint32_t i = 0; i < 8u; i++) {
        CM4_NVIC->ICER[i] = 0xFFFFFFFFu;
        CM4_NVIC->ICPR[i] = 0xFFFFFFFFu;
    }
    exti_deinit();

    /* The application starts its own clocks from the reset state (as after a reset). */
    iwdg_refresh();
    int clk = clock_deinit();
    /*
     * On failure the chip still runs on a working clock (HSI or the PLL), and the application's
     * clock_init starts with the same de-init, so a stuck ready flag is no reason to strand the
     * device in the bootloader. The result is only used to document that choice.
     */
    (void)clk;
    STM32_FLASH->CR |= FLASH_CR_LOCK;

    CM4_SCB->VTOR = vtor_addr;
    cm4_dsb();
    cm4_isb();
    iwdg_refresh(); /* the application gets a whole watchdog period to start */
    sys_branch(sp, pc);
}
