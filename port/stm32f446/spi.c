/* SPI1 full-duplex, polled one byte at a time (TXE -> DR -> RXNE -> DR). */
#include "spi.h"

#include "stm32f446.h"

/* A byte at the slowest SCK (PCLK2 16 MHz / 256) takes 128 us; 2^20 polls take longer. */
#define SPI_WAIT_LOOPS (1u << 20)

static int spi1_wait(uint32_t mask, uint32_t want)
{
    for (uint32_t n = 0; n < SPI_WAIT_LOOPS; n++) {
        uint32_t sr = STM32_SPI1->SR;
        if ((sr & SPI_SR_MODF) != 0) {
            return SPI_ERR_MODF;
        }
        if ((sr & mask) == want) {
            return SPI_OK;
        }
    }
    return SPI_ERR_TIMEOUT;
}

int spi1_init(uint32_t div)
{
    uint32_t br = 0;
    while (br < 8u && (2u << br) != div) {
        br++;
    }
    if (br == 8u) {
        return SPI_ERR_ARG;
    }
    STM32_RCC->APB2ENR |= RCC_APB2_SPI1;
    (void)STM32_RCC->APB2ENR;
    struct stm32_spi *s = STM32_SPI1;
    s->CR1 = 0;
    s->CR2 = 0;
    /* SSM + SSI: the internal NSS stays high, else MODF clears MSTR and SPE. */
    s->CR1 = SPI_CR1_MSTR | SPI_CR1_SSM | SPI_CR1_SSI | (br << SPI_CR1_BR_POS);
    s->CR1 |= SPI_CR1_SPE;
    return SPI_OK;
}

int spi1_transfer(const uint8_t *tx, uint8_t *rx, size_t len)
{
    struct stm32_spi *s = STM32_SPI1;
    int rc;
    /* A stale byte (OVR from an earlier abort) would shift every reply: drain it first. */
    while ((s->SR & SPI_SR_RXNE) != 0) {
        (void)s->DR;
    }
    for (size_t i = 0; i < len; i++) {
        rc = spi1_wait(SPI_SR_TXE, SPI_SR_TXE);
        if (rc != SPI_OK) {
            return rc;
        }
        s->DR = tx != NULL ? tx[i] : 0u;
        rc = spi1_wait(SPI_SR_RXNE, SPI_SR_RXNE);
        if (rc != SPI_OK) {
            return rc;
        }
        uint8_t b = (uint8_t)s->DR;
        if (rx != NULL) {
            rx[i] = b;
        }
    }
    rc = spi1_wait(SPI_SR_TXE, SPI_SR_TXE);
    if (rc != SPI_OK) {
        return rc;
    }
    return spi1_wait(SPI_SR_BSY, 0);
}

void spi1_deinit(void)
{
    STM32_RCC->APB2RSTR |= RCC_APB2_SPI1;
    STM32_RCC->APB2RSTR &= ~RCC_APB2_SPI1;
    STM32_RCC->APB2ENR &= ~RCC_APB2_SPI1;
}
