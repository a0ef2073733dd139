/* USART2, polled. */
#include "usart.h"

#include "stm32f446.h"

/*
 * Bound on the flag waits: one frame at 9600 Bd is ~1 ms; 2^22 polls of a few cycles each last
 * longer than that at any clock this port runs (16..180 MHz).
 */
#define USART_WAIT_LOOPS (1u << 22)

/*
 * BRR as ST's HAL computes it for 16x oversampling (sheet §4.3: 0x124F for 9600 Bd at 45 MHz):
 * USARTDIV in hundredths, truncated, then the fraction rounded to sixteenths; a fraction that
 * rounds up to 16 carries into the mantissa by the plain addition.
 */
PORT_ENTRY uint32_t usart_brr(uint32_t pclk_hz, uint32_t baud)
{
    /* 25 * pclk must fit 32 bits: PCLK1/PCLK2 are at most 90 MHz on this chip. */
    if (baud == 0 || baud > UINT32_MAX / 4u || pclk_hz > UINT32_MAX / 25u) {
        return 0;
    }
    uint32_t div100 = (25u * pclk_hz) / (4u * baud);
    uint32_t mantissa = div100 / 100u;
    uint32_t fraction = ((div100 - mantissa * 100u) * 16u + 50u) / 100u;
    uint32_t brr = (mantissa << 4) + fraction;
    /* Mantissa 12 bits, and USARTDIV >= 1. */
    if (brr < 16u || brr > 0xFFFFu) {
        return 0;
    }
    return brr;
}

int usart2_init(uint32_t pclk1_hz, uint32_t baud)
{
    uint32_t brr = usart_brr(pclk1_hz, baud);
    if (brr == 0) {
        return USART_ERR_BAUD;
    }
    STM32_RCC->APB1ENR |= RCC_APB1_USART2;
    (void)STM32_RCC->APB1ENR;
    struct stm32_usart *u = STM32_USART2;
    u->CR1 = 0;
    u->CR2 = 0; /* 1 stop bit */
    u->CR3 = 0;
    u->BRR = brr;
    u->CR1 = USART_CR1_UE | USART_CR1_TE | USART_CR1_RE;
    return USART_OK;
}

static int usart2_wait(uint32_t flag)
{
    for (uint32_t n = 0; n < USART_WAIT_LOOPS; n++) {
        if ((STM32_USART2->SR & flag) != 0) {
            return USART_OK;
        }
    }
    return USART_ERR_TIMEOUT;
}

int usart2_write(const void *buf, size_t len)
{
    const uint8_t *p = (const uint8_t *)buf;
    for (size_t i = 0; i < len; i++) {
        int rc = usart2_wait(USART_SR_TXE);
        if (rc != USART_OK) {
            return rc;
        }
        STM32_USART2->DR = p[i];
    }
    return USART_OK;
}

int usart2_flush(void)
{
    if ((STM32_RCC->APB1ENR & RCC_APB1_USART2) == 0) {
        return USART_OK;
    }
    return usart2_wait(USART_SR_TC);
}

void usart2_deinit(void)
{
    /* A stuck transmitter must not stop the reset of the block, so the result only delays. */
    (void)usart2_flush();
    STM32_RCC->APB1RSTR |= RCC_APB1_USART2;
    STM32_RCC->APB1RSTR &= ~RCC_APB1_USART2;
    STM32_RCC->APB1ENR &= ~RCC_APB1_USART2;
}
