/* EXTI + SYSCFG routing for GPIO edge interrupts. */
#include "exti.h"

#include "stm32f446.h"

/* NVIC line shared by each group of EXTI lines (sheet §1.3). */
static uint32_t exti_irq(uint32_t line)
{
    static const uint8_t low[5] = {6u, 7u, 8u, 9u, 10u};
    if (line < 5u) {
        return low[line];
    }
    return line < 10u ? 23u : IRQ_EXTI15_10;
}

int exti_gpio_init(uint32_t port_index, uint32_t line, enum exti_edge edge, uint8_t prio)
{
    if (line > 15u || port_index > 7u || ((uint32_t)edge & 3u) == 0 || prio > 15u) {
        return EXTI_ERR_ARG;
    }
    STM32_RCC->APB2ENR |= RCC_APB2_SYSCFG;
    (void)STM32_RCC->APB2ENR;
    uint32_t shift = (line % 4u) * 4u;
    volatile uint32_t *cr = &STM32_SYSCFG->EXTICR[line / 4u];
    *cr = (*cr & ~(0xFu << shift)) | (port_index << shift);

    struct stm32_exti *e = STM32_EXTI;
    uint32_t bit = 1u << line;
    if (((uint32_t)edge & EXTI_EDGE_RISING) != 0) {
        e->RTSR |= bit;
    } else {
        e->RTSR &= ~bit;
    }
    if (((uint32_t)edge & EXTI_EDGE_FALLING) != 0) {
        e->FTSR |= bit;
    } else {
        e->FTSR &= ~bit;
    }
    e->PR = bit; /* an edge seen before now is not a press to report */
    e->IMR |= bit;
    cm4_nvic_enable(exti_irq(line), prio);
    return EXTI_OK;
}

bool exti_take_pending(uint32_t line)
{
    uint32_t bit = 1u << line;
    if ((STM32_EXTI->PR & bit) == 0) {
        return false;
    }
    STM32_EXTI->PR = bit;
    return true;
}

void exti_deinit(void)
{
    struct stm32_exti *e = STM32_EXTI;
    e->IMR = 0;
    e->EMR = 0;
    e->RTSR = 0;
    e->FTSR = 0;
    e->PR = EXTI_ALL_LINES;
    STM32_RCC->APB2RSTR |= RCC_APB2_SYSCFG;
    STM32_RCC->APB2RSTR &= ~RCC_APB2_SYSCFG;
    STM32_RCC->APB2ENR &= ~RCC_APB2_SYSCFG;
}
