/* Pin muxing of the NUCLEO-F446RE and thin wrappers over the port drivers. */
#include "board.h"

#include "exti.h"
#include "gpio.h"
#include "spi.h"
#include "usart.h"

#include <string.h>

void board_led_init(void)
{
    gpio_clock_enable(BOARD_LED_PORT);
    gpio_write(BOARD_LED_PORT, BOARD_LED_PIN, false);
    gpio_config(BOARD_LED_PORT, BOARD_LED_PIN, GPIO_MODE_OUTPUT, GPIO_PULL_NONE, GPIO_SPEED_LOW, 0);
}

void board_led_set(bool on)
{
    gpio_write(BOARD_LED_PORT, BOARD_LED_PIN, on);
}

void board_led_toggle(void)
{
    gpio_toggle(BOARD_LED_PORT, BOARD_LED_PIN);
}

int board_uart_init(uint32_t pclk1_hz)
{
    gpio_clock_enable(BOARD_UART_PORT);
    gpio_config(BOARD_UART_PORT, BOARD_UART_TX_PIN, GPIO_MODE_AF, GPIO_PULL_NONE,
                GPIO_SPEED_MEDIUM, BOARD_UART_AF);
    gpio_config(BOARD_UART_PORT, BOARD_UART_RX_PIN, GPIO_MODE_AF, GPIO_PULL_UP, GPIO_SPEED_MEDIUM,
                BOARD_UART_AF);
    return usart2_init(pclk1_hz, BOARD_UART_BAUD);
}

int board_log(const char *s)
{
    return usart2_write(s, strlen(s));
}

int board_log_dec(uint32_t v)
{
    char buf[11];
    size_t n = sizeof buf;
    do {
        buf[--n] = (char)('0' + v % 10u);
        v /= 10u;
    } while (v != 0);
    return usart2_write(&buf[n], sizeof buf - n);
}

int board_log_hex(uint32_t v)
{
    static const char digits[] = "0123456789ABCDEF";
    char buf[10] = {'0', 'x'};
    for (uint32_t i = 0; i < 8u; i++) {
        buf[2u + i] = digits[(v >> (28u - 4u * i)) & 0xFu];
    }
    return usart2_write(buf, sizeof buf);
}

int board_button_init(uint8_t prio)
{
    gpio_clock_enable(BOARD_BUTTON_PORT);
    /* No internal pull: the board has its own pull-up on B1. */
    gpio_config(BOARD_BUTTON_PORT, BOARD_BUTTON_PIN, GPIO_MODE_INPUT, GPIO_PULL_NONE,
                GPIO_SPEED_LOW, 0);
    return exti_gpio_init(BOARD_BUTTON_PORT_INDEX, BOARD_BUTTON_PIN, EXTI_EDGE_FALLING, prio);
}

bool board_button_pressed(void)
{
    return !gpio_read(BOARD_BUTTON_PORT, BOARD_BUTTON_PIN);
}

int board_w5500_spi_init(void)
{
    gpio_clock_enable(BOARD_SPI_PORT);
    gpio_clock_enable(BOARD_W5500_CS_PORT);
    gpio_clock_enable(BOARD_W5500_RST_PORT);
    /* Levels first, then output mode: no glitch selects or releases the chip. */
    gpio_write(BOARD_W5500_CS_PORT, BOARD_W5500_CS_PIN, true);
    gpio_config(BOARD_W5500_CS_PORT, BOARD_W5500_CS_PIN, GPIO_MODE_OUTPUT, GPIO_PULL_NONE,
                GPIO_SPEED_HIGH, 0);
    gpio_write(BOARD_W5500_RST_PORT, BOARD_W5500_RST_PIN, false);
    gpio_config(BOARD_W5500_RST_PORT, BOARD_W5500_RST_PIN, GPIO_MODE_OUTPUT, GPIO_PULL_NONE,
                GPIO_SPEED_LOW, 0);
    gpio_config(BOARD_SPI_PORT, BOARD_SPI_SCK_PIN, GPIO_MODE_AF, GPIO_PULL_NONE, GPIO_SPEED_HIGH,
                BOARD_SPI_AF);
    gpio_config(BOARD_SPI_PORT, BOARD_SPI_MISO_PIN, GPIO_MODE_AF, GPIO_PULL_NONE, GPIO_SPEED_HIGH,
                BOARD_SPI_AF);
    gpio_config(BOARD_SPI_PORT, BOARD_SPI_MOSI_PIN, GPIO_MODE_AF, GPIO_PULL_NONE, GPIO_SPEED_HIGH,
                BOARD_SPI_AF);
    return spi1_init(BOARD_SPI_DIV);
}

void board_w5500_select(void)
{
    gpio_write(BOARD_W5500_CS_PORT, BOARD_W5500_CS_PIN, false);
}

void board_w5500_deselect(void)
{
    gpio_write(BOARD_W5500_CS_PORT, BOARD_W5500_CS_PIN, true);
}

void board_w5500_reset_pin(bool level)
{
    gpio_write(BOARD_W5500_RST_PORT, BOARD_W5500_RST_PIN, level);
}

int board_w5500_transfer(const uint8_t *tx, uint8_t *rx, size_t len)
{
    return spi1_transfer(tx, rx, len);
}

void board_deinit(void)
{
    exti_deinit();
    spi1_deinit();
    usart2_deinit();
    gpio_port_reset(STM32_GPIOA);
    gpio_port_reset(STM32_GPIOB);
    gpio_port_reset(STM32_GPIOC);
}
