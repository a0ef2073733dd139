/*
 * SPI1 master wired to the W5500 model: CS = PB6, RSTn = PC7 (stm32f446.md §4.2, w5500.md §1).
 * Reads VERSIONR (0x04) after a reset pulse, checks that SPI time follows the baud rate, and the
 * MODF and OVR flags.
 */
#include "t.h"

#define SPI_CR1 0x40013000u
#define SPI_SR 0x40013008u
#define SPI_DR 0x4001300Cu
#define GPIOB_BSRR 0x40020418u
#define GPIOC_BSRR 0x40020818u

static volatile uint32_t ms;
void SysTick_Handler(void)
{
    ms++;
}

static void wait_ms(uint32_t n)
{
    uint32_t t0 = ms;
    while (ms - t0 < n) {
        t_wfi();
    }
}

static uint8_t xfer(uint8_t b)
{
    while (!(REG(SPI_SR) & 2u)) {
    }
    REG8(SPI_DR) = b;
    while (!(REG(SPI_SR) & 1u)) {
    }
    return (uint8_t)REG(SPI_DR);
}

static uint8_t w5500_read_common(uint16_t addr)
{
    REG(GPIOB_BSRR) = 1u << (6 + 16); /* CS low */
    (void)xfer((uint8_t)(addr >> 8));
    (void)xfer((uint8_t)addr);
    (void)xfer(0x00); /* common block, read, VDM */
    uint8_t v = xfer(0xFF);
    REG(GPIOB_BSRR) = 1u << 6;
    return v;
}

int main(void)
{
    REG(0xE000E014) = 16000 - 1;
    REG(0xE000E018) = 0;
    REG(0xE000E010) = 7;
    t_cpsie();
    REG(0x40023830) |= 7u;       /* GPIOA, B, C */
    REG(0x40023844) |= 1u << 12; /* SPI1 */
    REG(0xE000EDFC) |= 1u << 24;
    REG(0xE0001000) |= 1u;
    /* PA5/6/7 AF5 */
    REG(0x40020000) = (REG(0x40020000) & ~(0x3Fu << 10)) | (0x2Au << 10);
    REG(0x40020020) = (REG(0x40020020) & ~(0xFFFu << 20)) | (0x555u << 20);
    /* PB6 CS and PC7 RSTn: outputs, high */
    REG(GPIOB_BSRR) = 1u << 6;
    REG(0x40020400) = (REG(0x40020400) & ~(3u << 12)) | (1u << 12);
    REG(GPIOC_BSRR) = 1u << 7;
    REG(0x40020800) = (REG(0x40020800) & ~(3u << 14)) | (1u << 14);

    /* MODF: master with software NSS low */
    REG(SPI_CR1) = (1u << 9) | (1u << 2) | (1u << 6);
    t_check("MODF set", (REG(SPI_SR) >> 5) & 1u, 1u);
    t_check("MODF clears SPE and MSTR", REG(SPI_CR1) & ((1u << 6) | (1u << 2)), 0u);

    /* master, SSM=SSI=1, mode 0, 8 bit, BR=0 (PCLK2/2 = 8 MHz at reset clocks) */
    REG(SPI_CR1) = (1u << 9) | (1u << 8) | (1u << 2);
    REG(SPI_CR1) |= 1u << 6;

    REG(GPIOC_BSRR) = 1u << (7 + 16); /* RSTn low >= 500 us */
    wait_ms(1);
    REG(GPIOC_BSRR) = 1u << 7;
    wait_ms(2); /* PLL lock */
    t_check("W5500 VERSIONR over SPI1", w5500_read_common(0x0039), 0x04u);
    t_check("W5500 RTR reset value high byte", w5500_read_common(0x0019), 0x07u);
    t_check("W5500 RTR reset value low byte", w5500_read_common(0x001A), 0xD0u);
    REG(GPIOB_BSRR) = 1u << 6;
    t_check("deselected: MISO reads 0xFF", xfer(0x00), 0xFFu);

    /* 64 bytes at 8 MHz take >= 64 us = 1024 cycles at 16 MHz; at BR=7 (62.5 kHz) 8.2 ms */
    uint32_t c0 = REG(0xE0001004);
    for (int i = 0; i < 64; i++) {
        (void)xfer(0);
    }
    uint32_t fast = REG(0xE0001004) - c0;
    REG(SPI_CR1) |= 7u << 3;
    c0 = REG(0xE0001004);
    for (int i = 0; i < 64; i++) {
        (void)xfer(0);
    }
    uint32_t slow = REG(0xE0001004) - c0;
    t_check_true("64 bytes at 8 MHz: >= 1024 cycles", fast >= 1024u && fast < 4096u);
    t_check_true("64 bytes at 62.5 kHz: >= 131072 cycles", slow >= 131072u && slow < 140000u);

    /* OVR: a second byte before reading DR */
    REG8(SPI_DR) = 0;
    REG8(SPI_DR) = 0;
    t_check("OVR after an unread byte", (REG(SPI_SR) >> 6) & 1u, 1u);
    (void)REG(SPI_DR);
    (void)REG(SPI_SR);
    t_check("OVR cleared by DR then SR read", (REG(SPI_SR) >> 6) & 1u, 0u);
    t_done();
    return 0;
}
