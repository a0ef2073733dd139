/* 1 ms tick from SysTick on HCLK (sheet §4.6). */
#ifndef SYSTICK_H
#define SYSTICK_H

#include <stdint.h>

enum systick_err {
    SYSTICK_OK = 0,
    SYSTICK_ERR_RANGE = -1 /* hclk_hz / 1000 does not fit the 24-bit reload */
};

/* Start the 1 ms interrupt for this HCLK; the count keeps its value across restarts. */
int systick_start(uint32_t hclk_hz);

/* Stop SysTick and clear its pending bit (before a jump). */
void systick_stop(void);

/* Milliseconds since the first start; wraps after 49.7 days (compare with subtraction). */
uint32_t systick_ms(void);

/* Add ms that passed while interrupts were masked (flash erase); see flash_stm32.c. */
void systick_advance(uint32_t ms);

/* Busy-wait at least ms milliseconds. */
void systick_delay_ms(uint32_t ms);

#endif /* SYSTICK_H */
