/*
 * OTA_ASSERT on the target (lib/common/ota_util.h): a firmware bug. Stop in the debugger when
 * one is attached; otherwise spin with interrupts masked until the watchdog resets the chip.
 */
#include "ota_util.h"
#include "stm32f446.h"

void ota_assert_failed(const char *file, int line)
{
    (void)file;
    (void)line;
    cm4_irq_disable();
    if ((CM4_DHCSR & DHCSR_C_DEBUGEN) != 0) {
        __asm volatile("bkpt #0");
    }
    for (;;) {
    }
}
