/* Portable flash-area layer: maps area ids to the layout and checks every range before the port. */
#include "flash_area.h"

#include "flash_layout.h"
#include "flash_port.h"
#include "ota_util.h"

#include <stddef.h>

const uint32_t flash_layout_sector_addr[FLASH_SECTOR_COUNT + 1] = {
    FLASH_SECTOR0_ADDR, FLASH_SECTOR1_ADDR, FLASH_SECTOR2_ADDR, FLASH_SECTOR3_ADDR,
    FLASH_SECTOR4_ADDR, FLASH_SECTOR5_ADDR, FLASH_SECTOR6_ADDR, FLASH_SECTOR7_ADDR,
    FLASH_END_ADDR,
};

static const struct flash_area flash_areas[FLASH_AREA_COUNT] = {
    {FLASH_AREA_BOOTLOADER, BOOT_ADDR, BOOT_SIZE},
    {FLASH_AREA_APPHDR, APPHDR_ADDR, APPHDR_SIZE},
    {FLASH_AREA_STAGING, STAGING_ADDR, STAGING_SIZE},
    {FLASH_AREA_APP, APP_ADDR, APP_SIZE},
};

/* Bytes compared per step when verifying; lives on the caller's stack. */
#define FLASH_AREA_CHUNK 64u

int flash_area_open(uint8_t id, const struct flash_area **fa)
{
    OTA_VERIFY(fa != NULL, FLASH_AREA_ERR_ID);
    OTA_VERIFY(id < FLASH_AREA_COUNT, FLASH_AREA_ERR_ID);
    *fa = &flash_areas[id];
    return FLASH_AREA_OK;
}

void flash_area_close(const struct flash_area *fa)
{
    (void)fa;
}

int flash_area_read(const struct flash_area *fa, uint32_t off, void *dst, uint32_t len)
{
    OTA_VERIFY(fa != NULL, FLASH_AREA_ERR_ID);
    OTA_VERIFY(ota_range_ok(off, len, fa->fa_size), FLASH_AREA_ERR_RANGE);
    if (len == 0) {
        return FLASH_AREA_OK;
    }
    OTA_VERIFY(dst != NULL, FLASH_AREA_ERR_RANGE);
    return flash_port_read(fa->fa_off + off, dst, len) == 0 ? FLASH_AREA_OK : FLASH_AREA_ERR_HW;
}

int flash_area_write(const struct flash_area *fa, uint32_t off, const void *src, uint32_t len)
{
    OTA_VERIFY(fa != NULL, FLASH_AREA_ERR_ID);
    OTA_VERIFY(ota_range_ok(off, len, fa->fa_size), FLASH_AREA_ERR_RANGE);
    OTA_VERIFY(off % FLASH_WRITE_ALIGN == 0 && len % FLASH_WRITE_ALIGN == 0, FLASH_AREA_ERR_ALIGN);
    if (len == 0) {
        return FLASH_AREA_OK;
    }
    OTA_VERIFY(src != NULL, FLASH_AREA_ERR_RANGE);
    if (flash_port_program(fa->fa_off + off, src, len) != 0) {
        return FLASH_AREA_ERR_HW;
    }
    /* Programming can only clear bits: a target that was not erased shows up here. */
    const uint8_t *want = (const uint8_t *)src;
    uint8_t got[FLASH_AREA_CHUNK];
    for (uint32_t done = 0; done < len;) {
        uint32_t n = len - done < FLASH_AREA_CHUNK ? len - done : FLASH_AREA_CHUNK;
        if (flash_port_read(fa->fa_off + off + done, got, n) != 0) {
            return FLASH_AREA_ERR_HW;
        }
        for (uint32_t i = 0; i < n; i++) {
            if (got[i] != want[done + i]) {
                return FLASH_AREA_ERR_VERIFY;
            }
        }
        done += n;
    }
    return FLASH_AREA_OK;
}

int flash_area_sector_at(const struct flash_area *fa, uint32_t off, uint32_t *sector_off,
                         uint32_t *sector_size)
{
    OTA_VERIFY(fa != NULL, FLASH_AREA_ERR_ID);
    OTA_VERIFY(off < fa->fa_size, FLASH_AREA_ERR_RANGE);
    uint32_t addr = fa->fa_off + off;
    for (uint32_t s = 0; s < FLASH_SECTOR_COUNT; s++) {
        if (addr >= flash_layout_sector_addr[s] && addr < flash_layout_sector_addr[s + 1]) {
            if (sector_off != NULL) {
                *sector_off = flash_layout_sector_addr[s] - fa->fa_off;
            }
            if (sector_size != NULL) {
                *sector_size = flash_layout_sector_addr[s + 1] - flash_layout_sector_addr[s];
            }
            return FLASH_AREA_OK;
        }
    }
    return FLASH_AREA_ERR_RANGE;
}

int flash_area_is_erased(const struct flash_area *fa, uint32_t off, uint32_t len)
{
    OTA_VERIFY(fa != NULL, FLASH_AREA_ERR_ID);
    OTA_VERIFY(ota_range_ok(off, len, fa->fa_size), FLASH_AREA_ERR_RANGE);
    uint8_t got[FLASH_AREA_CHUNK];
    for (uint32_t done = 0; done < len;) {
        uint32_t n = len - done < FLASH_AREA_CHUNK ? len - done : FLASH_AREA_CHUNK;
        if (flash_port_read(fa->fa_off + off + done, got, n) != 0) {
            return FLASH_AREA_ERR_HW;
        }
        for (uint32_t i = 0; i < n; i++) {
            if (got[i] != FLASH_ERASED_BYTE) {
                return 0;
            }
        }
        done += n;
    }
    return 1;
}

int flash_area_erase(const struct flash_area *fa, uint32_t off, uint32_t len)
{
    OTA_VERIFY(fa != NULL, FLASH_AREA_ERR_ID);
    OTA_VERIFY(ota_range_ok(off, len, fa->fa_size), FLASH_AREA_ERR_RANGE);
    uint32_t end = off + len;
    uint32_t pos = off;
    while (pos < end) {
        uint32_t s_off;
        uint32_t s_size;
        OTA_TRY(flash_area_sector_at(fa, pos, &s_off, &s_size));
        OTA_VERIFY(s_off == pos && s_size <= end - pos, FLASH_AREA_ERR_ALIGN);
        pos += s_size;
    }
    for (pos = off; pos < end;) {
        uint32_t s_off;
        uint32_t s_size;
        OTA_TRY(flash_area_sector_at(fa, pos, &s_off, &s_size));
        uint32_t abs = fa->fa_off + s_off;
        uint32_t sector = 0;
        while (flash_layout_sector_addr[sector] != abs) {
            sector++;
        }
        if (flash_port_erase_sector(sector) != 0) {
            return FLASH_AREA_ERR_HW;
        }
        int erased = flash_area_is_erased(fa, s_off, s_size);
        if (erased < 0) {
            return erased;
        }
        if (erased == 0) {
            return FLASH_AREA_ERR_VERIFY;
        }
        pos += s_size;
    }
    return FLASH_AREA_OK;
}

uint32_t flash_area_align(const struct flash_area *fa)
{
    (void)fa;
    return FLASH_WRITE_ALIGN;
}

uint8_t flash_area_erased_val(const struct flash_area *fa)
{
    (void)fa;
    return FLASH_ERASED_BYTE;
}
