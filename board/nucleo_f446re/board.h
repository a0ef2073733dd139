/*
 * NUCLEO-F446RE with a WIZnet W5500 on SPI1 (Arduino header D13/D12/D11, CS on D10 = PB6,
 * reset on D9 = PC7). Pins from ../shared/reference/stm32f446.md §4.1 ([BSP], UM1724).
 *
 * The board's green LED LD2 is on PA5, which is SPI1_SCK here: it flickers with the clock and
 * cannot show status. The status LED is an external one on PA0 (Arduino A0), active high.
 */
#ifndef BOARD_H
#define BOARD_H

#include "stm32f446.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Status LED: PA0, active high. */
#define BOARD_LED_PORT STM32_GPIOA
#define BOARD_LED_PIN 0u

/* User button B1: PC13, active low (board pull-up), EXTI line 13 -> IRQ EXTI15_10. */
#define BOARD_BUTTON_PORT STM32_GPIOC
#define BOARD_BUTTON_PORT_INDEX 2u /* SYSCFG_EXTICR code for port C */
#define BOARD_BUTTON_PIN 13u

/* USART2 to the ST-LINK virtual COM port: PA2 TX, PA3 RX, AF7. */
#define BOARD_UART_PORT STM32_GPIOA
#define BOARD_UART_TX_PIN 2u
#define BOARD_UART_RX_PIN 3u
#define BOARD_UART_AF 7u
#define BOARD_UART_BAUD 115200u

/* SPI1 to the W5500: PA5 SCK, PA6 MISO, PA7 MOSI, AF5; software CS on PB6; RSTn on PC7. */
#define BOARD_SPI_PORT STM32_GPIOA
#define BOARD_SPI_SCK_PIN 5u
#define BOARD_SPI_MISO_PIN 6u
#define BOARD_SPI_MOSI_PIN 7u
#define BOARD_SPI_AF 5u
#define BOARD_SPI_DIV 4u /* PCLK2 90 MHz / 4 = 22.5 MHz (W5500 allows up to 80 MHz) */
#define BOARD_W5500_CS_PORT STM32_GPIOB
#define BOARD_W5500_CS_PIN 6u
#define BOARD_W5500_RST_PORT STM32_GPIOC
#define BOARD_W5500_RST_PIN 7u

/* Status LED: output, off. */
void board_led_init(void);
void board_led_set(bool on);
void board_led_toggle(void);

/* PA2/PA3 as USART2 and the UART at BOARD_UART_BAUD for this PCLK1. 0 or a usart_err. */
int board_uart_init(uint32_t pclk1_hz);

/* Log text on the UART (blocking); returns 0 or a usart_err. */
int board_log(const char *s);

/* Log an unsigned number in decimal, or as 0x%08X. 0 or a usart_err. */
int board_log_dec(uint32_t v);
int board_log_hex(uint32_t v);

/* Button input and its falling-edge interrupt (priority prio). 0 or an exti_err. */
int board_button_init(uint8_t prio);

/* True while the button is held down (active low). */
bool board_button_pressed(void);

/* SPI1 pins, CS high (idle), W5500 held in reset; then SPI1 at BOARD_SPI_DIV. 0 or an spi_err. */
int board_w5500_spi_init(void);

/* W5500 chip select: low selects. */
void board_w5500_select(void);
void board_w5500_deselect(void);

/* W5500 RSTn pin level (electrical, as struct w5500_port's reset_pin): false holds the chip in reset. */
void board_w5500_reset_pin(bool level);

/* Full-duplex transfer with the W5500 (CS is the caller's). 0 or an spi_err (negative). */
int board_w5500_transfer(const uint8_t *tx, uint8_t *rx, size_t len);

/* Reset every block the board set up (GPIO ports, USART2, SPI1, EXTI) before the jump. */
void board_deinit(void);

#endif /* BOARD_H */
