/* USART2 as a polled 8N1 log output (sheet §4.3). Pins are set up by the board. */
#ifndef USART_H
#define USART_H

#include <stddef.h>
#include <stdint.h>

enum usart_err {
    USART_OK = 0,
    USART_ERR_BAUD = -1,   /* BRR out of range for this PCLK1 */
    USART_ERR_TIMEOUT = -2 /* TXE/TC never came (clock off?) */
};

/* 8 data bits, no parity, 1 stop bit, TX and RX on, oversampling by 16. */
int usart2_init(uint32_t pclk1_hz, uint32_t baud);

/* BRR for 16x oversampling, HAL-compatible rounding (sheet §4.3); 0 if out of range. */
uint32_t usart_brr(uint32_t pclk_hz, uint32_t baud);

/* Send len bytes, blocking; returns when the last one is in the transmit register. */
int usart2_write(const void *buf, size_t len);

/* Wait until the last frame has left the shift register (before a clock change or a jump). */
int usart2_flush(void);

/* Flush, reset the peripheral and stop its clock. */
void usart2_deinit(void);

#endif /* USART_H */
