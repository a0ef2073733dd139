/*
 * Flash-area API: the only way the portable core (image, bootctl, boot, ota) reaches flash.
 * Modelled on MCUboot's flash_area_*: offsets are relative to the area, the caller owns every
 * buffer, 0 means success and every failure is a named negative code.
 *
 * Rules of the underlying NOR flash (STM32F446, PSIZE x32): erase is by whole sector and sets
 * bytes to flash_area_erased_val(); programming only clears bits; writes must start and end on a
 * flash_area_align() boundary.
 */
#ifndef FLASH_AREA_H
#define FLASH_AREA_H

#include <stdint.h>

enum flash_area_id {
    FLASH_AREA_BOOTLOADER = 0,
    FLASH_AREA_APPHDR = 1,  /* sector 2: application header + boot-control log */
    FLASH_AREA_STAGING = 2, /* sectors 3-5 */
    FLASH_AREA_APP = 3,     /* sectors 6-7 */
    FLASH_AREA_COUNT
};

enum flash_area_err {
    FLASH_AREA_OK = 0,
    FLASH_AREA_ERR_ID = -1,    /* no such area */
    FLASH_AREA_ERR_RANGE = -2, /* offset/length outside the area */
    FLASH_AREA_ERR_ALIGN = -3, /* write not aligned, or erase not on sector boundaries */
    FLASH_AREA_ERR_HW = -4,    /* the port reported a flash controller error */
    FLASH_AREA_ERR_VERIFY = -5 /* read-back after program or erase did not match */
};

struct flash_area {
    uint8_t fa_id;
    uint32_t fa_off;  /* absolute address of the first byte */
    uint32_t fa_size; /* bytes */
};

/* Look up an area by id. *fa stays valid for the program's life; nothing to free. */
int flash_area_open(uint8_t id, const struct flash_area **fa);

/* Kept for the MCUboot shape; does nothing. */
void flash_area_close(const struct flash_area *fa);

/* Copy len bytes at off into dst. */
int flash_area_read(const struct flash_area *fa, uint32_t off, void *dst, uint32_t len);

/* Program len bytes at off; off and len multiples of flash_area_align(). Reads back to verify. */
int flash_area_write(const struct flash_area *fa, uint32_t off, const void *src, uint32_t len);

/* Erase [off, off + len); both must be sector boundaries inside the area. Checks the result. */
int flash_area_erase(const struct flash_area *fa, uint32_t off, uint32_t len);

/* Write granularity in bytes (4). */
uint32_t flash_area_align(const struct flash_area *fa);

/* Value of an erased byte (0xFF). */
uint8_t flash_area_erased_val(const struct flash_area *fa);

/* Sector containing off: its offset and size relative to the area. */
int flash_area_sector_at(const struct flash_area *fa, uint32_t off, uint32_t *sector_off,
                         uint32_t *sector_size);

/* 1 if [off, off + len) reads as erased, 0 if not, negative on error. */
int flash_area_is_erased(const struct flash_area *fa, uint32_t off, uint32_t len);

#endif /* FLASH_AREA_H */
