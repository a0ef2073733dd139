/* GPIO configuration of single pins (sheet §4.1). */
#ifndef GPIO_H
#define GPIO_H

#include "stm32f446.h"

#include <stdbool.h>
#include <stdint.h>

enum gpio_mode {
    GPIO_MODE_INPUT = 0,
    GPIO_MODE_OUTPUT = 1,
    GPIO_MODE_AF = 2,
    GPIO_MODE_ANALOG = 3
};

enum gpio_pull {
    GPIO_PULL_NONE = 0,
    GPIO_PULL_UP = 1,
    GPIO_PULL_DOWN = 2
};

enum gpio_speed {
    GPIO_SPEED_LOW = 0,
    GPIO_SPEED_MEDIUM = 1,
    GPIO_SPEED_FAST = 2,
    GPIO_SPEED_HIGH = 3
};

/* Enable the port clock (A, B or C). */
void gpio_clock_enable(struct stm32_gpio *port);

/* Push-pull configuration of one pin; af is used only with GPIO_MODE_AF. */
void gpio_config(struct stm32_gpio *port, uint32_t pin, enum gpio_mode mode, enum gpio_pull pull,
                 enum gpio_speed speed, uint32_t af);

/* Drive an output pin (BSRR: atomic, no read-modify-write). */
static inline void gpio_write(struct stm32_gpio *port, uint32_t pin, bool high)
{
    port->BSRR = high ? (1u << pin) : (1u << (pin + 16u));
}

static inline void gpio_toggle(struct stm32_gpio *port, uint32_t pin)
{
    gpio_write(port, pin, (port->ODR & (1u << pin)) == 0);
}

static inline bool gpio_read(const struct stm32_gpio *port, uint32_t pin)
{
    return (port->IDR & (1u << pin)) != 0;
}

/* Pulse the port's AHB1 reset and stop its clock: back to reset configuration (before a jump). */
void gpio_port_reset(struct stm32_gpio *port);

#endif /* GPIO_H */
