/* EXTI lines 0..15 from GPIO pins, with their NVIC line (sheet §4.4). */
#ifndef EXTI_H
#define EXTI_H

#include <stdbool.h>
#include <stdint.h>

enum exti_err {
    EXTI_OK = 0,
    EXTI_ERR_ARG = -1 /* line > 15, port > 7, or no edge */
};

enum exti_edge {
    EXTI_EDGE_RISING = 1,
    EXTI_EDGE_FALLING = 2,
    EXTI_EDGE_BOTH = 3
};

/*
 * Route pin `line` of GPIO port `port_index` (0 = A, 1 = B, 2 = C, ...) to EXTI line `line`, on
 * the given edges, and enable the line's NVIC interrupt at priority prio (0..15). The pin itself
 * must already be an input.
 */
int exti_gpio_init(uint32_t port_index, uint32_t line, enum exti_edge edge, uint8_t prio);

/* In the handler: true if the line was pending; clears it (write 1 to PR). */
bool exti_take_pending(uint32_t line);

/* Mask every line, clear every pending flag, reset SYSCFG (before a jump). */
void exti_deinit(void);

#endif /* EXTI_H */
