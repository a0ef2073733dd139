/* The flash-area layer against a byte array standing in for the chip: ranges, alignment, sectors. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "flash_area.h"
#include "flash_layout.h"
#include "flash_port.h"

static uint8_t chip[FLASH_TOTAL_SIZE];
static unsigned erase_calls;
static int fail_program;

int flash_port_read(uint32_t addr, void *dst, uint32_t len)
{
    memcpy(dst, &chip[addr - FLASH_BASE_ADDR], len);
    return 0;
}

int flash_port_program(uint32_t addr, const void *src, uint32_t len)
{
    if (fail_program) {
        return -1;
    }
    const uint8_t *s = src;
    for (uint32_t i = 0; i < len; i++) {
        chip[addr - FLASH_BASE_ADDR + i] &= s[i];
    }
    return 0;
}

int flash_port_erase_sector(uint32_t sector)
{
    uint32_t start = flash_layout_sector_addr[sector] - FLASH_BASE_ADDR;
    uint32_t end = flash_layout_sector_addr[sector + 1] - FLASH_BASE_ADDR;
    memset(&chip[start], 0xFF, end - start);
    erase_calls++;
    return 0;
}

static int setup(void **state)
{
    (void)state;
    memset(chip, 0xFF, sizeof chip);
    erase_calls = 0;
    fail_program = 0;
    return 0;
}

static void test_areas_match_seed_layout(void **state)
{
    (void)state;
    static const struct {
        uint8_t id;
        uint32_t addr;
        uint32_t size;
    } want[] = {
        {FLASH_AREA_BOOTLOADER, 0x08000000, 32 * 1024},
        {FLASH_AREA_APPHDR, 0x08008000, 16 * 1024},
        {FLASH_AREA_STAGING, 0x0800C000, 208 * 1024},
        {FLASH_AREA_APP, 0x08040000, 256 * 1024},
    };
    for (size_t i = 0; i < sizeof want / sizeof want[0]; i++) {
        const struct flash_area *fa = NULL;
        assert_int_equal(flash_area_open(want[i].id, &fa), 0);
        assert_int_equal(fa->fa_off, want[i].addr);
        assert_int_equal(fa->fa_size, want[i].size);
    }
    const struct flash_area *fa = NULL;
    assert_int_equal(flash_area_open(FLASH_AREA_COUNT, &fa), FLASH_AREA_ERR_ID);
}

static void test_sector_map_is_rm0390(void **state)
{
    (void)state;
    /* RM0390 sector sizes: 4 x 16 KB, 64 KB, 3 x 128 KB. */
    static const uint32_t sizes[] = {16, 16, 16, 16, 64, 128, 128, 128};
    uint32_t addr = 0x08000000;
    for (unsigned s = 0; s < 8; s++) {
        assert_int_equal(flash_layout_sector_addr[s], addr);
        addr += sizes[s] * 1024;
    }
    assert_int_equal(flash_layout_sector_addr[8], 0x08080000);

    const struct flash_area *st = NULL;
    assert_int_equal(flash_area_open(FLASH_AREA_STAGING, &st), 0);
    uint32_t off;
    uint32_t size;
    assert_int_equal(flash_area_sector_at(st, 0, &off, &size), 0);
    assert_int_equal(off, 0);
    assert_int_equal(size, 16 * 1024);
    assert_int_equal(flash_area_sector_at(st, 0x4000, &off, &size), 0);
    assert_int_equal(off, 0x4000);
    assert_int_equal(size, 64 * 1024);
    assert_int_equal(flash_area_sector_at(st, 0x33FFF, &off, &size), 0);
    assert_int_equal(off, 0x14000);
    assert_int_equal(size, 128 * 1024);
    assert_int_equal(flash_area_sector_at(st, 0x34000, &off, &size), FLASH_AREA_ERR_RANGE);
}

static void test_read_write_bounds_and_alignment(void **state)
{
    (void)state;
    const struct flash_area *hdr = NULL;
    assert_int_equal(flash_area_open(FLASH_AREA_APPHDR, &hdr), 0);
    uint8_t buf[8] = {1, 2, 3, 4, 5, 6, 7, 8};
    assert_int_equal(flash_area_write(hdr, 0, buf, 8), 0);
    assert_int_equal(chip[0x8000], 1);
    assert_int_equal(flash_area_write(hdr, 2, buf, 4), FLASH_AREA_ERR_ALIGN);
    assert_int_equal(flash_area_write(hdr, 0, buf, 3), FLASH_AREA_ERR_ALIGN);
    assert_int_equal(flash_area_write(hdr, APPHDR_SIZE - 4, buf, 8), FLASH_AREA_ERR_RANGE);
    assert_int_equal(flash_area_write(hdr, UINT32_MAX - 3, buf, 8), FLASH_AREA_ERR_RANGE);
    uint8_t back[8];
    assert_int_equal(flash_area_read(hdr, 0, back, 8), 0);
    assert_memory_equal(back, buf, 8);
    assert_int_equal(flash_area_read(hdr, APPHDR_SIZE, back, 1), FLASH_AREA_ERR_RANGE);
    assert_int_equal(flash_area_read(hdr, APPHDR_SIZE, back, 0), 0);
    /* Writing over programmed bits cannot set them again: the read-back catches it. */
    uint8_t other[4] = {0xFE, 0xFF, 0xFF, 0xFF};
    assert_int_equal(flash_area_write(hdr, 0, other, 4), FLASH_AREA_ERR_VERIFY);
    fail_program = 1;
    assert_int_equal(flash_area_write(hdr, 8, buf, 4), FLASH_AREA_ERR_HW);
    /* Writing never leaves its area. */
    for (uint32_t i = 0; i < FLASH_TOTAL_SIZE; i++) {
        if (i < 0x8000 || i >= 0x8008) {
            assert_int_equal(chip[i], 0xFF);
        }
    }
}

static void test_erase_whole_sectors_only(void **state)
{
    (void)state;
    const struct flash_area *app = NULL;
    assert_int_equal(flash_area_open(FLASH_AREA_APP, &app), 0);
    memset(&chip[0x40000], 0x00, 0x40000);
    assert_int_equal(flash_area_erase(app, 0, 0x1000), FLASH_AREA_ERR_ALIGN);
    assert_int_equal(flash_area_erase(app, 0x1000, 0x20000), FLASH_AREA_ERR_ALIGN);
    assert_int_equal(erase_calls, 0);
    assert_int_equal(flash_area_erase(app, 0, 0x20000), 0);
    assert_int_equal(erase_calls, 1);
    assert_int_equal(flash_area_is_erased(app, 0, 0x20000), 1);
    assert_int_equal(flash_area_is_erased(app, 0x20000, 4), 0);
    assert_int_equal(flash_area_erase(app, 0, 0x40000), 0);
    assert_int_equal(erase_calls, 3);
    assert_int_equal(flash_area_erase(app, 0, 0x40004), FLASH_AREA_ERR_RANGE);
    assert_int_equal(flash_area_align(app), 4);
    assert_int_equal(flash_area_erased_val(app), 0xFF);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup(test_areas_match_seed_layout, setup),
        cmocka_unit_test_setup(test_sector_map_is_rm0390, setup),
        cmocka_unit_test_setup(test_read_write_bounds_and_alignment, setup),
        cmocka_unit_test_setup(test_erase_whole_sectors_only, setup),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
