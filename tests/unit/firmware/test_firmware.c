/*
 * Checks the firmware the cross build produced (OTA_FW_DIR): where the two programs are linked,
 * their vector tables, the bootloader's size limit, the generated linker scripts against
 * include/flash_layout.h, and the version in app.bin and app.img against APP_VERSION.
 * The firmware must have been built (make test builds it first); a missing file fails.
 */
#define _GNU_SOURCE /* memmem */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "app_info.h"
#include "flash_layout.h"
#include "fwcheck.h"

#define FW(name) OTA_FW_DIR "/" name

/* Load a file that must exist; fails the test otherwise. */
static void load(const char *path, struct fw_file *f)
{
    int rc = fw_file_read(path, f);
    if (rc != FWCHECK_OK) {
        print_error("cannot read %s (build the firmware first: make firmware)\n", path);
    }
    assert_int_equal(rc, FWCHECK_OK);
}

static void read_vectors(const struct fw_file *elf, uint32_t base, uint32_t vt[FW_VECTOR_COUNT])
{
    for (uint32_t i = 0; i < FW_VECTOR_COUNT; i++) {
        assert_int_equal(fw_elf_word(elf, base + 4u * i, &vt[i]), FWCHECK_OK);
    }
}

/* The program's vector table: at base, 113 words, sane entries, matches its symbols. */
static void check_program(const char *path, uint32_t base, uint32_t region_size)
{
    struct fw_file elf;
    load(path, &elf);
    assert_int_equal(fw_elf_check(&elf), FWCHECK_OK);

    uint32_t addr;
    uint32_t size;
    assert_int_equal(fw_elf_section(&elf, ".isr_vector", &addr, &size), FWCHECK_OK);
    assert_int_equal(addr, base);
    assert_int_equal(size, FW_VECTOR_COUNT * 4u);
    assert_int_equal(fw_elf_symbol(&elf, "vector_table", &addr, &size), FWCHECK_OK);
    assert_int_equal(addr, base);
    assert_int_equal(size / 4u, 113u);

    uint32_t end;
    assert_int_equal(fw_elf_segments_within(&elf, base, region_size, &end), FWCHECK_OK);

    uint32_t vt[FW_VECTOR_COUNT];
    read_vectors(&elf, base, vt);
    assert_int_equal(fw_vectors_check(vt, base, end, SRAM_BASE_ADDR, SRAM_TOTAL_SIZE),
                     FWCHECK_OK);
    /* Stack at the top of SRAM, 8-byte aligned (AAPCS). */
    assert_int_equal(vt[0], SRAM_BASE_ADDR + SRAM_TOTAL_SIZE);
    uint32_t reset;
    assert_int_equal(fw_elf_symbol(&elf, "Reset_Handler", &reset, &size), FWCHECK_OK);
    assert_int_equal(vt[1], reset | 1u);
    assert_int_equal(((const uint32_t *)(const void *)elf.data)[6] /* e_entry */ | 1u, vt[1]);
    fw_file_free(&elf);
}

static void test_bootloader_vectors(void **state)
{
    (void)state;
    check_program(FW("bootloader.elf"), BOOT_ADDR, BOOT_SIZE);
}

static void test_app_vectors(void **state)
{
    (void)state;
    /* The last APP_DESC_SIZE bytes of the area belong to the bootloader's descriptor copy. */
    check_program(FW("app.elf"), APP_ADDR, APP_SIZE - APP_DESC_SIZE);
}

/* A .bin is the flash image from the region start: its first words are the vector table. */
static void check_bin(const char *elf_path, const char *bin_path, uint32_t base, uint32_t limit)
{
    struct fw_file elf;
    struct fw_file bin;
    load(elf_path, &elf);
    load(bin_path, &bin);
    uint32_t end;
    assert_int_equal(fw_elf_segments_within(&elf, base, limit, &end), FWCHECK_OK);
    assert_int_equal(bin.size, end - base);
    assert_true(bin.size <= limit);
    for (uint32_t i = 0; i < FW_VECTOR_COUNT; i++) {
        uint32_t w;
        assert_int_equal(fw_elf_word(&elf, base + 4u * i, &w), FWCHECK_OK);
        uint32_t b;
        memcpy(&b, bin.data + (size_t)4u * i, 4);
        assert_int_equal(b, w);
    }
    fw_file_free(&elf);
    fw_file_free(&bin);
}

static void test_bootloader_fits(void **state)
{
    (void)state;
    check_bin(FW("bootloader.elf"), FW("bootloader.bin"), BOOT_ADDR, BOOT_SIZE);
}

static void test_app_bin(void **state)
{
    (void)state;
    check_bin(FW("app.elf"), FW("app.bin"), APP_ADDR, APP_SIZE - APP_DESC_SIZE);
}

/* What ships in flash carries no path of the build machine (OTA_ASSERT's __FILE__ is relative to
 * the tree), so the same sources give the same bytes from any checkout. */
static void check_no_build_paths(const char *path)
{
    static const char *const dirs[] = {OTA_SOURCE_DIR, OTA_FW_DIR};
    struct fw_file bin;
    load(path, &bin);
    for (size_t i = 0; i < sizeof dirs / sizeof dirs[0]; i++) {
        const void *hit = memmem(bin.data, bin.size, dirs[i], strlen(dirs[i]));
        if (hit != NULL) {
            print_error("%s holds the build path %s at offset %zu\n", path, dirs[i],
                        (size_t)((const uint8_t *)hit - bin.data));
        }
        assert_null(hit);
    }
    fw_file_free(&bin);
}

static void test_no_build_paths(void **state)
{
    (void)state;
    check_no_build_paths(FW("bootloader.bin"));
    check_no_build_paths(FW("app.bin"));
    check_no_build_paths(FW("app_v2.bin"));
}

static void check_script(const char *path, uint32_t origin, uint32_t length)
{
    struct fw_file ld;
    load(path, &ld);
    const char *text = (const char *)ld.data;
    uint32_t o;
    uint32_t l;
    assert_int_equal(fw_script_region(text, "FLASH", &o, &l), FWCHECK_OK);
    assert_int_equal(o, origin);
    assert_int_equal(l, length);
    assert_int_equal(fw_script_region(text, "RAM", &o, &l), FWCHECK_OK);
    assert_int_equal(o, SRAM_BASE_ADDR);
    assert_int_equal(l, SRAM_TOTAL_SIZE);
    /* Every layout name was replaced by its number. */
    assert_null(strstr(text, "_ADDR"));
    assert_null(strstr(text, "_SIZE"));
    fw_file_free(&ld);
}

static void test_linker_scripts(void **state)
{
    (void)state;
    check_script(FW("bootloader.ld"), BOOT_ADDR, BOOT_SIZE);
    check_script(FW("app.ld"), APP_ADDR, APP_SIZE - APP_DESC_SIZE);
}

static uint32_t le32(const uint8_t *p)
{
    return (uint32_t)p[0] | ((uint32_t)p[1] << 8) | ((uint32_t)p[2] << 16) | ((uint32_t)p[3] << 24);
}

static void test_app_info_version(void **state)
{
    (void)state;
    struct fw_file bin;
    load(FW("app.bin"), &bin);
    assert_true(bin.size >= APP_INFO_OFFSET + APP_INFO_SIZE);
    const uint8_t *ai = bin.data + APP_INFO_OFFSET;
    assert_int_equal(le32(ai), APP_INFO_MAGIC);
    assert_memory_equal(ai, "OTAI", 4);
    assert_int_equal(le32(ai + 4), ((uint32_t)APP_VERSION_MAJOR << 24) |
                                       ((uint32_t)APP_VERSION_MINOR << 16) |
                                       (uint32_t)APP_VERSION_REVISION);
    assert_int_equal(le32(ai + 8), APP_VERSION_BUILD);
    fw_file_free(&bin);

    /* The symbol sits where the tools look. */
    struct fw_file elf;
    load(FW("app.elf"), &elf);
    uint32_t addr;
    uint32_t size;
    assert_int_equal(fw_elf_symbol(&elf, "app_info", &addr, &size), FWCHECK_OK);
    assert_int_equal(addr, APP_ADDR + APP_INFO_OFFSET);
    assert_int_equal(size, APP_INFO_SIZE);
    fw_file_free(&elf);
}

static void test_app_img(void **state)
{
    (void)state;
    struct fw_file img;
    struct fw_file bin;
    load(FW("app.img"), &img);
    load(FW("app.bin"), &bin);
    struct fw_image_header h;
    assert_int_equal(fw_image_header(&img, &h), FWCHECK_OK);
    assert_int_equal(h.major, APP_VERSION_MAJOR);
    assert_int_equal(h.minor, APP_VERSION_MINOR);
    assert_int_equal(h.revision, APP_VERSION_REVISION);
    assert_int_equal(h.build, APP_VERSION_BUILD);
    /* The payload is app.bin exactly, right after the header: the vector table first. */
    assert_int_equal(h.img_size, bin.size);
    assert_memory_equal(img.data + h.hdr_size, bin.data, bin.size);
    fw_file_free(&img);
    fw_file_free(&bin);
}

/* ---- the checks themselves reject what they must -------------------------------------- */

static void test_reject_io_and_elf(void **state)
{
    (void)state;
    struct fw_file f;
    assert_int_equal(fw_file_read(FW("no-such-file.elf"), &f), FWCHECK_ERR_IO);
    assert_null(f.data);

    load(FW("app.elf"), &f);
    uint32_t a;
    uint32_t s;
    assert_int_equal(fw_elf_section(&f, ".no_such_section", &a, &s), FWCHECK_ERR_NOT_FOUND);
    assert_int_equal(fw_elf_symbol(&f, "no_such_symbol", &a, &s), FWCHECK_ERR_NOT_FOUND);
    assert_int_equal(fw_elf_word(&f, 0x10000000u, &a), FWCHECK_ERR_ADDR);
    /* A region one byte short of the program does not hold it. */
    uint32_t end;
    assert_int_equal(fw_elf_segments_within(&f, APP_ADDR, APP_SIZE, &end), FWCHECK_OK);
    assert_int_equal(fw_elf_segments_within(&f, APP_ADDR, end - APP_ADDR - 1u, &end),
                     FWCHECK_ERR_REGION);
    assert_int_equal(fw_elf_segments_within(&f, APP_ADDR + 4u, APP_SIZE, &end),
                     FWCHECK_ERR_REGION);

    size_t full = f.size;
    f.size = 40; /* truncated */
    assert_int_equal(fw_elf_check(&f), FWCHECK_ERR_ELF);
    f.size = full;
    f.data[1] ^= 0xFF; /* magic */
    assert_int_equal(fw_elf_check(&f), FWCHECK_ERR_ELF);
    assert_int_equal(fw_elf_section(&f, ".isr_vector", &a, &s), FWCHECK_ERR_ELF);
    f.data[1] ^= 0xFF;
    assert_int_equal(fw_elf_check(&f), FWCHECK_OK);
    f.data[18] = 3; /* e_machine = EM_386 */
    assert_int_equal(fw_elf_check(&f), FWCHECK_ERR_ELF);
    fw_file_free(&f);
}

static void test_reject_vectors(void **state)
{
    (void)state;
    struct fw_file elf;
    load(FW("app.elf"), &elf);
    uint32_t good[FW_VECTOR_COUNT];
    read_vectors(&elf, APP_ADDR, good);
    uint32_t end;
    assert_int_equal(fw_elf_segments_within(&elf, APP_ADDR, APP_SIZE, &end), FWCHECK_OK);
    fw_file_free(&elf);

    uint32_t vt[FW_VECTOR_COUNT];
#define CHECK_MUT(idx, val, want)                                                                  \
    do {                                                                                           \
        memcpy(vt, good, sizeof vt);                                                               \
        vt[idx] = (val);                                                                           \
        assert_int_equal(fw_vectors_check(vt, APP_ADDR, end, SRAM_BASE_ADDR, SRAM_TOTAL_SIZE),    \
                         (want));                                                                  \
    } while (0)
    CHECK_MUT(0, SRAM_BASE_ADDR, FWCHECK_ERR_SP);                       /* empty stack */
    CHECK_MUT(0, SRAM_BASE_ADDR + SRAM_TOTAL_SIZE + 8u, FWCHECK_ERR_SP); /* above RAM */
    CHECK_MUT(0, SRAM_BASE_ADDR + 0x1004u, FWCHECK_ERR_SP);             /* not 8-aligned */
    CHECK_MUT(0, 0xFFFFFFFFu, FWCHECK_ERR_SP);                           /* erased flash */
    CHECK_MUT(0, SRAM_BASE_ADDR + 0x1000u, FWCHECK_OK);                  /* lower SP is fine */
    CHECK_MUT(1, good[1] & ~1u, FWCHECK_ERR_RESET);                      /* ARM state */
    CHECK_MUT(1, BOOT_ADDR + 0x101u, FWCHECK_ERR_RESET);                 /* in the bootloader */
    CHECK_MUT(1, end + 1u, FWCHECK_ERR_RESET);                           /* past the program */
    CHECK_MUT(7, good[2], FWCHECK_ERR_VECTOR);                           /* reserved set */
    CHECK_MUT(16 + 61, good[2], FWCHECK_ERR_VECTOR);                     /* reserved IRQ 61 */
    CHECK_MUT(16 + 90, good[2], FWCHECK_ERR_VECTOR);                     /* reserved IRQ 90 */
    CHECK_MUT(3, 0, FWCHECK_ERR_VECTOR);                                 /* HardFault missing */
    CHECK_MUT(16 + 40, good[16 + 40] & ~1u, FWCHECK_ERR_VECTOR);         /* EXTI15_10 even */
    CHECK_MUT(16 + 96, end + 1u, FWCHECK_ERR_VECTOR);                    /* last IRQ outside */
#undef CHECK_MUT
    /* 16 reserved positions: 5 system, 11 IRQ; the other 97 hold SP and handlers. */
    uint32_t reserved = 0;
    for (uint32_t i = 0; i < FW_VECTOR_COUNT; i++) {
        reserved += (uint32_t)fw_vector_reserved(i);
    }
    assert_int_equal(reserved, 16u);
}

static void test_reject_script_and_image(void **state)
{
    (void)state;
    uint32_t o;
    uint32_t l;
    const char *ok = "MEMORY\n{\n FLASH (rx) : ORIGIN = 0x08040000, LENGTH = 0x00040000 - 0x00000800\n}\n";
    assert_int_equal(fw_script_region(ok, "FLASH", &o, &l), FWCHECK_OK);
    assert_int_equal(o, 0x08040000u);
    assert_int_equal(l, 0x0003F800u);
    assert_int_equal(fw_script_region(ok, "RAM", &o, &l), FWCHECK_ERR_SCRIPT);
    const char *unexpanded = " FLASH (rx) : ORIGIN = APP_ADDR, LENGTH = 0x00040000\n";
    assert_int_equal(fw_script_region(unexpanded, "FLASH", &o, &l), FWCHECK_ERR_SCRIPT);
    const char *half = " FLASH (rx) : ORIGIN = 0x08000000, LENGTH = BOOT_SIZE\n";
    assert_int_equal(fw_script_region(half, "FLASH", &o, &l), FWCHECK_ERR_SCRIPT);
    const char *negative = " FLASH (rx) : ORIGIN = 0x10 - 0x20, LENGTH = 4\n";
    assert_int_equal(fw_script_region(negative, "FLASH", &o, &l), FWCHECK_ERR_SCRIPT);

    struct fw_file img;
    load(FW("app.img"), &img);
    struct fw_image_header h;
    size_t full = img.size;
    img.size = 31;
    assert_int_equal(fw_image_header(&img, &h), FWCHECK_ERR_IMAGE);
    img.size = full - 1u - (full - 32u) / 2u; /* payload cut short */
    assert_int_equal(fw_image_header(&img, &h), FWCHECK_ERR_IMAGE);
    img.size = full;
    img.data[0] ^= 1u;
    assert_int_equal(fw_image_header(&img, &h), FWCHECK_ERR_IMAGE);
    img.data[0] ^= 1u;
    img.data[8] = 16; /* ih_hdr_size below 32 */
    img.data[9] = 0;
    assert_int_equal(fw_image_header(&img, &h), FWCHECK_ERR_IMAGE);
    fw_file_free(&img);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_bootloader_vectors), cmocka_unit_test(test_app_vectors),
        cmocka_unit_test(test_bootloader_fits),    cmocka_unit_test(test_app_bin),
        cmocka_unit_test(test_linker_scripts),     cmocka_unit_test(test_app_info_version),
        cmocka_unit_test(test_app_img),            cmocka_unit_test(test_reject_io_and_elf),
        cmocka_unit_test(test_reject_vectors),     cmocka_unit_test(test_reject_script_and_image),
        cmocka_unit_test(test_no_build_paths),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
