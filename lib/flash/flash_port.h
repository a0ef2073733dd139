/*
 * The flash port contract: what each port (port/stm32f446, port/host) implements for the
 * portable flash-area layer. Addresses are absolute; the area layer has already checked ranges and
 * alignment, so a port only reports what the hardware says.
 */
#ifndef FLASH_PORT_H
#define FLASH_PORT_H

#include <stdint.h>

/* Copy len bytes at addr into dst. Returns 0, or a negative value on a hardware error. */
int flash_port_read(uint32_t addr, void *dst, uint32_t len);

/* Program len bytes (a multiple of 4, addr word aligned) one word at a time. 0 or negative. */
int flash_port_program(uint32_t addr, const void *src, uint32_t len);

/* Erase sector n (0..FLASH_SECTOR_COUNT-1). 0 or negative. */
int flash_port_erase_sector(uint32_t sector);

#endif /* FLASH_PORT_H */
