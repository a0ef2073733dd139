/*
 * STM32F446 implementation of lib/flash/flash_port.h: the errors it returns and the knobs.
 * Sequences: sheet §2.3-§2.7 (unlock with KEY1/KEY2, SER+SNB erase, PG word programming at
 * PSIZE x32, BSY polled from RAM with the watchdog refreshed, every SR error flag checked).
 */
#ifndef FLASH_STM32_H
#define FLASH_STM32_H

#include <stdint.h>

enum flash_stm32_err {
    FLASH_STM32_OK = 0,
    FLASH_STM32_ERR_ARG = -1,       /* address outside the flash, misaligned, no such sector */
    FLASH_STM32_ERR_PROTECTED = -2, /* a bootloader sector: this port never writes it */
    FLASH_STM32_ERR_LOCKED = -3,    /* FLASH_CR stayed locked after the key sequence */
    FLASH_STM32_ERR_TIMEOUT = -4,   /* BSY did not clear within twice the datasheet maximum */
    FLASH_STM32_ERR_WRP = -5,       /* WRPERR: sector write-protected by option bytes */
    FLASH_STM32_ERR_PGA = -6,       /* PGAERR: alignment */
    FLASH_STM32_ERR_PGP = -7,       /* PGPERR: parallelism (access size != PSIZE) */
    FLASH_STM32_ERR_PGS = -8,       /* PGSERR: sequence */
    FLASH_STM32_ERR_OPERR = -9,     /* OPERR */
    FLASH_STM32_ERR_RDERR = -10     /* RDERR: PCROP read protection */
};

/* Maximum erase time of sector n at x32 (sheet §2.9, DS8626 values): 500/1100/2000 ms. */
uint32_t flash_stm32_erase_max_ms(uint32_t sector);

/* Maps FLASH_SR error flags to the first matching error code (0 if none). */
int flash_stm32_sr_error(uint32_t sr);

/* Flush the ART instruction and data caches (sheet §2.2) so reads see the new contents. */
void flash_stm32_flush_caches(void);

#endif /* FLASH_STM32_H */
