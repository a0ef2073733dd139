/*
 * Flash layout of the STM32F446RE (512 KB, single bank), shared by the bootloader, the application,
 * the host tools, the models and the tests. The linker scripts are generated from this file by the
 * C preprocessor (port/stm32f446/ linker script templates), so no address is written twice.
 *
 * Source: ../shared/seed (regions), ../shared/reference/stm32f446.md §1.2 (sector map, RM0390).
 *
 * This header must stay valid for the C compiler, the assembler and the linker-script preprocessor:
 * plain #define of integer constants only (suffix-free), and checks below the __ASSEMBLER__ guard.
 */
#ifndef FLASH_LAYOUT_H
#define FLASH_LAYOUT_H

/* Whole chip */
#define FLASH_BASE_ADDR 0x08000000
#define FLASH_TOTAL_SIZE 0x00080000
#define FLASH_SECTOR_COUNT 8
#define FLASH_ERASED_BYTE 0xFF
#define FLASH_WRITE_ALIGN 4 /* PSIZE x32: one word per program operation (2.7-3.6 V) */

/* Sector map: sectors 0-3 are 16 KB, 4 is 64 KB, 5-7 are 128 KB. */
#define FLASH_SECTOR0_ADDR 0x08000000
#define FLASH_SECTOR1_ADDR 0x08004000
#define FLASH_SECTOR2_ADDR 0x08008000
#define FLASH_SECTOR3_ADDR 0x0800C000
#define FLASH_SECTOR4_ADDR 0x08010000
#define FLASH_SECTOR5_ADDR 0x08020000
#define FLASH_SECTOR6_ADDR 0x08040000
#define FLASH_SECTOR7_ADDR 0x08060000
#define FLASH_END_ADDR 0x08080000 /* one past the last byte */

/* SRAM1 + SRAM2 are contiguous: 128 KB. */
#define SRAM_BASE_ADDR 0x20000000
#define SRAM_TOTAL_SIZE 0x00020000

/* Regions of the seed. Each is a whole number of sectors. */
#define BOOT_ADDR FLASH_SECTOR0_ADDR /* sectors 0-1 */
#define BOOT_SIZE 0x00008000
#define BOOT_FIRST_SECTOR 0
#define BOOT_SECTOR_COUNT 2

#define APPHDR_ADDR FLASH_SECTOR2_ADDR /* sector 2: application header + boot-control log */
#define APPHDR_SIZE 0x00004000
#define APPHDR_FIRST_SECTOR 2
#define APPHDR_SECTOR_COUNT 1

#define STAGING_ADDR FLASH_SECTOR3_ADDR /* sectors 3-5: OTA image as downloaded */
#define STAGING_SIZE 0x00034000
#define STAGING_FIRST_SECTOR 3
#define STAGING_SECTOR_COUNT 3

#define APP_ADDR FLASH_SECTOR6_ADDR /* sectors 6-7: the running application */
#define APP_SIZE 0x00040000
#define APP_FIRST_SECTOR 6
#define APP_SECTOR_COUNT 2

/*
 * The installed application keeps a copy of its signed image descriptor (MCUboot header padded to
 * ih_hdr_size, protected TLVs, TLVs) in the last APP_DESC_SIZE bytes of the last application sector
 * it occupies, so the application header in sector 2 can always be rebuilt and re-verified from the
 * application area alone (docs/boot-state.md).
 */
#define APP_DESC_SIZE 0x00000800
#define IMAGE_MAX_HDR_SIZE 0x00000400 /* largest ih_hdr_size accepted */

/* Vector table alignment: 113 entries -> 512 bytes (stm32f446.md §1.5). */
#define VTOR_ALIGN 0x200

#if !defined(__ASSEMBLER__) && !defined(FLASH_LAYOUT_LINKER)
#include <stdint.h>

/* Start address and size of sector n (0..7); the table lives in lib/flash/flash_area.c. */
extern const uint32_t flash_layout_sector_addr[FLASH_SECTOR_COUNT + 1];

#define FLASH_LAYOUT_CHECK(cond, msg) _Static_assert(cond, msg)

FLASH_LAYOUT_CHECK(BOOT_ADDR == FLASH_BASE_ADDR, "bootloader must start the flash");
FLASH_LAYOUT_CHECK(BOOT_ADDR + BOOT_SIZE == APPHDR_ADDR, "header follows the bootloader");
FLASH_LAYOUT_CHECK(APPHDR_ADDR + APPHDR_SIZE == STAGING_ADDR, "staging follows the header");
FLASH_LAYOUT_CHECK(STAGING_ADDR + STAGING_SIZE == APP_ADDR, "application follows staging");
FLASH_LAYOUT_CHECK(APP_ADDR + APP_SIZE == FLASH_END_ADDR, "application ends the flash");
FLASH_LAYOUT_CHECK(FLASH_END_ADDR - FLASH_BASE_ADDR == FLASH_TOTAL_SIZE, "512 KB");

/* Whole sectors: each region starts and ends on a sector boundary. */
FLASH_LAYOUT_CHECK(FLASH_SECTOR2_ADDR - FLASH_SECTOR0_ADDR == BOOT_SIZE, "boot = sectors 0-1");
FLASH_LAYOUT_CHECK(FLASH_SECTOR3_ADDR - FLASH_SECTOR2_ADDR == APPHDR_SIZE, "header = sector 2");
FLASH_LAYOUT_CHECK(FLASH_SECTOR6_ADDR - FLASH_SECTOR3_ADDR == STAGING_SIZE, "staging = 3-5");
FLASH_LAYOUT_CHECK(FLASH_END_ADDR - FLASH_SECTOR6_ADDR == APP_SIZE, "app = sectors 6-7");
FLASH_LAYOUT_CHECK(APP_ADDR == FLASH_SECTOR0_ADDR + 0x40000, "app at 0x08040000 (seed)");
FLASH_LAYOUT_CHECK(STAGING_ADDR == 0x0800C000, "staging at 0x0800C000 (seed)");

FLASH_LAYOUT_CHECK(APP_ADDR % VTOR_ALIGN == 0, "VTOR needs 512-byte alignment");
FLASH_LAYOUT_CHECK(STAGING_SIZE <= APP_SIZE, "a staged image must fit the application area");
FLASH_LAYOUT_CHECK(APP_DESC_SIZE >= IMAGE_MAX_HDR_SIZE + 0x200, "descriptor holds header + TLVs");
FLASH_LAYOUT_CHECK(APP_DESC_SIZE % FLASH_WRITE_ALIGN == 0, "descriptor is word aligned");
#endif

#endif /* FLASH_LAYOUT_H */
