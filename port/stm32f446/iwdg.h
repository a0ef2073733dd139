/*
 * Independent watchdog policy of both programs (sheet §4.8; docs/port-stm32f446.md):
 * prescaler /64, reload 0xFFF: 8.2 s at the typical 32 kHz LSI, never less than 4.6 s even at
 * 56 kHz, so a 128 KB sector erase (2 s max) cannot trip it although the flash port also
 * refreshes it while it waits. Once started it runs until reset, across the jump.
 */
#ifndef IWDG_H
#define IWDG_H

#include "stm32f446.h"

#include <stdbool.h>
#include <stdint.h>

#define IWDG_PRESCALER_CODE 4u /* /64 */
#define IWDG_RELOAD 0xFFFu

enum iwdg_err {
    IWDG_OK = 0,
    IWDG_ERR_TIMEOUT = -1 /* PR/RLR update never completed (LSI not running) */
};

/*
 * Start the watchdog (or take over one the option bytes started at reset) and set the policy
 * prescaler and reload. Refreshes it before returning.
 */
int iwdg_start(void);

/* Reload the counter. */
static inline void iwdg_refresh(void)
{
    STM32_IWDG->KR = IWDG_KEY_RELOAD;
}

/* True when option bit WDG_SW is 0: the hardware started the watchdog at reset. */
bool iwdg_started_by_hardware(void);

/* Timeout in ms at the given LSI frequency, for the configured prescaler and reload. */
uint32_t iwdg_timeout_ms(uint32_t lsi_hz);

#endif /* IWDG_H */
