/* System services: reset, reset cause, unique ID, and the bootloader's jump (sheet §4.10, §5). */
#ifndef SYS_H
#define SYS_H

#include <stdbool.h>
#include <stdint.h>

enum sys_err {
    SYS_OK = 0,
    SYS_ERR_VECTOR = -1 /* the table at the address has no valid SP or reset handler */
};

enum sys_reset_cause {
    SYS_RESET_UNKNOWN = 0,
    SYS_RESET_POWER_ON,
    SYS_RESET_PIN,
    SYS_RESET_SOFTWARE,
    SYS_RESET_IWDG,
    SYS_RESET_WWDG,
    SYS_RESET_LOW_POWER,
    SYS_RESET_BROWN_OUT
};

/* Reset the chip through AIRCR.SYSRESETREQ (VECTKEY 0x05FA). */
__attribute__((noreturn)) void sys_reset(void);

/*
 * Why the chip last reset, from the sticky RCC_CSR flags (specific flags first: every internal
 * reset also sets PINRSTF). clear = true clears the flags (RMVF) so the next boot sees only its own.
 */
enum sys_reset_cause sys_reset_cause(bool clear);

/* Short name of a reset cause for the log. */
const char *sys_reset_cause_name(enum sys_reset_cause cause);

/* The 96-bit unique device ID (12 bytes at 0x1FFF7A10). */
void sys_unique_id(uint8_t out[12]);

/*
 * Checks the vector table at vtor_addr as the hand-off needs it: initial SP in (SRAM base,
 * SRAM end], 8-byte aligned; reset handler odd (Thumb) and inside [vtor_addr, limit).
 */
int sys_vector_check(uint32_t vtor_addr, uint32_t limit);

/*
 * The canonical jump to an application (sheet §5.1). The caller de-initialises the peripherals
 * it used (its drivers' *_deinit) first; this function then masks interrupts, stops SysTick,
 * disables and un-pends every NVIC line, masks and clears EXTI, puts the clocks back to reset
 * state (which also flushes the flash caches), locks the flash, sets VTOR, and in a few lines of
 * assembly sets CONTROL = 0, MSP from the table, PRIMASK = 0 (CPSIE: every source is off) and
 * branches. Returns only if the vector table is unusable (SYS_ERR_VECTOR), with nothing changed.
 */
int sys_jump(uint32_t vtor_addr, uint32_t limit);

#endif /* SYS_H */
