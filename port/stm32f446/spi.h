/*
 * SPI1 master, mode 0, 8-bit, MSB first, software chip select (sheet §4.2). Pins and the
 * chip-select line are the board's (board/nucleo_f446re/board.h).
 */
#ifndef SPI_H
#define SPI_H

#include <stddef.h>
#include <stdint.h>

enum spi_err {
    SPI_OK = 0,
    SPI_ERR_ARG = -1,     /* divider not a power of two in 2..256 */
    SPI_ERR_TIMEOUT = -2, /* TXE/RXNE/BSY did not change: peripheral off or stuck */
    SPI_ERR_MODF = -3     /* mode fault: the master was deselected (SSM/SSI lost) */
};

/* SCK = pclk2 / div, div in {2, 4, ..., 256}. PCLK2 90 MHz / 4 = 22.5 MHz for the W5500. */
int spi1_init(uint32_t div);

/*
 * Full-duplex transfer of len bytes. tx NULL sends 0x00; rx NULL discards what comes back.
 * Returns when the bus is idle (BSY = 0), so chip select may be raised right after.
 */
int spi1_transfer(const uint8_t *tx, uint8_t *rx, size_t len);

/* Reset the peripheral and stop its clock. */
void spi1_deinit(void);

#endif /* SPI_H */
