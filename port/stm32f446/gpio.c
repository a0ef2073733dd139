/* GPIO pins: one configuration call per pin, read-modify-write of the 2-bit and 4-bit fields. */
#include "gpio.h"

static uint32_t gpio_port_bit(const struct stm32_gpio *port)
{
    if (port == STM32_GPIOA) {
        return RCC_AHB1_GPIOA;
    }
    if (port == STM32_GPIOB) {
        return RCC_AHB1_GPIOB;
    }
    return RCC_AHB1_GPIOC;
}

void gpio_clock_enable(struct stm32_gpio *port)
{
    STM32_RCC->AHB1ENR |= gpio_port_bit(port);
    (void)STM32_RCC->AHB1ENR; /* read back before using the port (sheet §2.7) */
}

void gpio_config(struct stm32_gpio *port, uint32_t pin, enum gpio_mode mode, enum gpio_pull pull,
                 enum gpio_speed speed, uint32_t af)
{
    uint32_t shift2 = pin * 2u;
    uint32_t shift4 = (pin % 8u) * 4u;
    if (mode == GPIO_MODE_AF) {
        port->AFR[pin / 8u] = (port->AFR[pin / 8u] & ~(0xFu << shift4)) | ((af & 0xFu) << shift4);
    }
    port->OTYPER &= ~(1u << pin);
    port->OSPEEDR = (port->OSPEEDR & ~(3u << shift2)) | ((uint32_t)speed << shift2);
    port->PUPDR = (port->PUPDR & ~(3u << shift2)) | ((uint32_t)pull << shift2);
    port->MODER = (port->MODER & ~(3u << shift2)) | ((uint32_t)mode << shift2);
}

void gpio_port_reset(struct stm32_gpio *port)
{
    uint32_t bit = gpio_port_bit(port);
    STM32_RCC->AHB1RSTR |= bit;
    STM32_RCC->AHB1RSTR &= ~bit;
    STM32_RCC->AHB1ENR &= ~bit;
}
