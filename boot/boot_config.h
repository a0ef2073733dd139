/*
 * Bootloader configuration: the one place for its knobs, with documented defaults and checks.
 * Layout constants come from include/flash_layout.h and are not repeated here.
 */
#ifndef BOOT_CONFIG_H
#define BOOT_CONFIG_H

#include "flash_layout.h"
#include "iwdg.h"

/* Error pattern on the status LED (PA0) when no application can be started:
 * <reason code> short blinks of BOOT_BLINK_MS on / BOOT_BLINK_MS off, then BOOT_BLINK_PAUSE_MS
 * dark, repeated forever; the reason line is logged again every BOOT_RELOG_CYCLES patterns. */
#ifndef BOOT_BLINK_MS
#define BOOT_BLINK_MS 150u
#endif
#ifndef BOOT_BLINK_PAUSE_MS
#define BOOT_BLINK_PAUSE_MS 1500u
#endif
#ifndef BOOT_RELOG_CYCLES
#define BOOT_RELOG_CYCLES 10u
#endif

/* Log lines: BOOT_LOG_SHORT 1 (default, CMake option OTA_BOOT_LOG_SHORT) prints the shorter forms of
 * the longer lines and reason names (boot/core/boot_core.h; both forms in docs/port-stm32f446.md,
 * "Bootloader log lines"), 0 the full sentences. Set on the command line for the core and main.c
 * alike, so it is only checked here. */
#ifndef BOOT_LOG_SHORT
#error "BOOT_LOG_SHORT comes from boot/CMakeLists.txt (option OTA_BOOT_LOG_SHORT)"
#endif

/* Interrupt priority of the SysTick tick (lowest); the bootloader uses no other interrupt. */

/* 1: clear the sticky RCC_CSR reset flags after logging them. 0 (default): leave them for the
 * application, which logs and clears them, so it can tell a watchdog reset from a power-on. */
#ifndef BOOT_CLEAR_RESET_FLAGS
#define BOOT_CLEAR_RESET_FLAGS 0
#endif

_Static_assert(BOOT_BLINK_MS >= 50u && BOOT_BLINK_MS <= 1000u, "blink must be visible");
_Static_assert(BOOT_BLINK_PAUSE_MS > 2u * BOOT_BLINK_MS, "pause must separate the patterns");
/* The longest wait between watchdog refreshes in the error loop is one blink or the pause. */
_Static_assert(BOOT_BLINK_PAUSE_MS < 4000u, "error loop must refresh the watchdog in time");
_Static_assert(BOOT_RELOG_CYCLES >= 1u, "relog at least every cycle");
_Static_assert(BOOT_LOG_SHORT == 0 || BOOT_LOG_SHORT == 1, "0 or 1");
_Static_assert(BOOT_CLEAR_RESET_FLAGS == 0 || BOOT_CLEAR_RESET_FLAGS == 1, "0 or 1");

/* What the hand-off relies on (docs/port-stm32f446.md). */
_Static_assert(APP_ADDR % VTOR_ALIGN == 0, "application vector table must be VTOR-aligned");
_Static_assert(BOOT_ADDR + BOOT_SIZE <= APP_ADDR, "application above the bootloader");
_Static_assert(IWDG_RELOAD <= 0xFFFu && IWDG_PRESCALER_CODE <= 6u, "IWDG field ranges");

#endif /* BOOT_CONFIG_H */
