/* SysTick as the millisecond clock of both programs. */
#include "systick.h"

#include "stm32f446.h"

/* Written by the handler, read by thread code: one aligned word, so reads are atomic. */
static volatile uint32_t systick_count;

/* Lowest priority: the tick must never delay the button or a driver interrupt. */
#define SYSTICK_PRIO 15u

int systick_start(uint32_t hclk_hz)
{
    uint32_t reload = hclk_hz / 1000u;
    if (reload == 0 || reload - 1u > SYSTICK_LOAD_MAX) {
        return SYSTICK_ERR_RANGE;
    }
    struct cm4_systick *st = CM4_SYSTICK;
    st->CTRL = 0;
    st->LOAD = reload - 1u;
    st->VAL = 0;
    CM4_SCB->SHP[SCB_SHP_SYSTICK] = (uint8_t)(SYSTICK_PRIO << (8u - NVIC_PRIO_BITS));
    st->CTRL = SYSTICK_CTRL_CLKSOURCE | SYSTICK_CTRL_TICKINT | SYSTICK_CTRL_ENABLE;
    return SYSTICK_OK;
}

void systick_stop(void)
{
    struct cm4_systick *st = CM4_SYSTICK;
    st->CTRL = 0;
    st->LOAD = 0;
    st->VAL = 0;
    CM4_SCB->ICSR = SCB_ICSR_PENDSTCLR;
}

uint32_t systick_ms(void)
{
    return systick_count;
}

void systick_advance(uint32_t ms)
{
    uint32_t primask = cm4_irq_save();
    systick_count += ms;
    cm4_irq_restore(primask);
}

void systick_delay_ms(uint32_t ms)
{
    uint32_t start = systick_count;
    /* +1: the first tick may come right after start was read. */
    while (systick_count - start < ms + 1u) {
    }
}

void SysTick_Handler(void)
{
    systick_count++;
}
