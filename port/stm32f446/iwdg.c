/* IWDG start and policy. */
#include "iwdg.h"

#include "stm32f446.h"

/* Even at a faster LSI than the sheet's 47 kHz (56 kHz, the top of the range other STM32
 * datasheets give) the timeout stays above twice the 2 s worst-case sector erase. */
_Static_assert((4ull << IWDG_PRESCALER_CODE) * (IWDG_RELOAD + 1ull) * 1000ull / 56000ull > 4000ull,
               "IWDG timeout must exceed two 128 KB erases at the fastest LSI");

/* PVU/RVU clear within a few LSI periods (~200 us); 2^20 polls last longer at any HCLK. */
#define IWDG_WAIT_LOOPS (1u << 20)

int iwdg_start(void)
{
    /* A core halted by a debugger also stops the watchdog (no effect without a debugger). */
    STM32_DBGMCU->APB1FZ |= DBGMCU_APB1FZ_IWDG_STOP;
    struct stm32_iwdg *w = STM32_IWDG;
    w->KR = IWDG_KEY_START; /* also starts the LSI */
    w->KR = IWDG_KEY_UNLOCK;
    w->PR = IWDG_PRESCALER_CODE;
    w->RLR = IWDG_RELOAD;
    uint32_t n = 0;
    while ((w->SR & (IWDG_SR_PVU | IWDG_SR_RVU)) != 0) {
        if (++n >= IWDG_WAIT_LOOPS) {
            w->KR = IWDG_KEY_RELOAD;
            return IWDG_ERR_TIMEOUT;
        }
    }
    w->KR = IWDG_KEY_RELOAD;
    return IWDG_OK;
}

bool iwdg_started_by_hardware(void)
{
    return (STM32_FLASH->OPTCR & FLASH_OPTCR_WDG_SW) == 0;
}

uint32_t iwdg_timeout_ms(uint32_t lsi_hz)
{
    uint32_t code = IWDG_PRESCALER_CODE > 6u ? 6u : IWDG_PRESCALER_CODE;
    uint64_t ticks = (4ull << code) * (IWDG_RELOAD + 1ull);
    return lsi_hz == 0 ? 0 : (uint32_t)(ticks * 1000ull / lsi_hz);
}
