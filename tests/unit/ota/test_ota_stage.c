/*
 * The staging writer against a NOR-flash stand-in with the chip's rules (program = AND, erase per
 * sector): header checked before any erase, erase just ahead, checkpoints, resume over torn and
 * foreign data.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "crc32.h"
#include "flash_area.h"
#include "flash_layout.h"
#include "flash_port.h"
#include "image.h"
#include "ota_stage.h"
#include "ota_util.h"

/* ---- flash stand-in ---------------------------------------------------------------------- */

static uint8_t chip[FLASH_TOTAL_SIZE];
static unsigned erases[FLASH_SECTOR_COUNT];
static uint32_t highest_programmed; /* highest staging offset programmed so far, +1 */
static uint32_t erase_ahead_violations;

int flash_port_read(uint32_t addr, void *dst, uint32_t len)
{
    memcpy(dst, &chip[addr - FLASH_BASE_ADDR], len);
    return 0;
}

int flash_port_program(uint32_t addr, const void *src, uint32_t len)
{
    const uint8_t *s = src;
    for (uint32_t i = 0; i < len; i++) {
        chip[addr - FLASH_BASE_ADDR + i] &= s[i];
    }
    if (addr >= STAGING_ADDR && addr + len - STAGING_ADDR > highest_programmed) {
        highest_programmed = addr + len - STAGING_ADDR;
    }
    return 0;
}

int flash_port_erase_sector(uint32_t sector)
{
    uint32_t start = flash_layout_sector_addr[sector];
    uint32_t end = flash_layout_sector_addr[sector + 1];
    /* Erase just ahead: the sector must start exactly where writing has got to. */
    if (start >= STAGING_ADDR && start - STAGING_ADDR > highest_programmed + 4) {
        erase_ahead_violations++;
    }
    memset(&chip[start - FLASH_BASE_ADDR], 0xFF, end - start);
    erases[sector]++;
    return 0;
}

/* ---- test images --------------------------------------------------------------------------- */

static uint8_t image[STAGING_SIZE];
static uint32_t image_len;

/* A structurally valid image (hashes are not checked by the staging writer). */
static void make_image(uint32_t payload, uint32_t tlv_body, uint32_t seed)
{
    memset(image, 0, sizeof image);
    struct image_header h = {0};
    h.ih_magic = IMAGE_MAGIC;
    h.ih_hdr_size = 32;
    h.ih_img_size = payload;
    h.ih_ver.iv_major = 2;
    image_header_encode(&h, image);
    srand(seed);
    for (uint32_t i = 0; i < payload; i++) {
        image[32 + i] = (uint8_t)rand();
    }
    uint32_t t = 32 + payload;
    ota_put_le16(&image[t], IMAGE_TLV_INFO_MAGIC);
    ota_put_le16(&image[t + 2], (uint16_t)(4 + tlv_body));
    for (uint32_t i = 0; i < tlv_body; i++) {
        image[t + 4 + i] = (uint8_t)(0xA0 + i);
    }
    image_len = t + 4 + tlv_body;
}

/* ---- callbacks ------------------------------------------------------------------------------ */

struct cb_state {
    int refuse;
    int fail_checkpoint;
    unsigned headers;
    unsigned checkpoints;
    uint32_t last_n;
    uint32_t last_crc;
    uint32_t bad_crc; /* checkpoints whose CRC did not match flash */
};

static struct cb_state cb;

static int cb_header(void *ctx, const struct image_header *hdr)
{
    (void)ctx;
    cb.headers++;
    assert_int_equal(hdr->ih_magic, IMAGE_MAGIC);
    return cb.refuse;
}

static int cb_checkpoint(void *ctx, uint32_t n, uint32_t crc)
{
    (void)ctx;
    if (cb.fail_checkpoint) {
        return -1;
    }
    cb.checkpoints++;
    if (crc32_update(0, &chip[STAGING_ADDR - FLASH_BASE_ADDR], n) != crc) {
        cb.bad_crc++;
    }
    assert_true(n % 4 == 0);
    assert_true(n >= cb.last_n);
    cb.last_n = n;
    cb.last_crc = crc;
    return 0;
}

static const struct ota_stage_ops ops = {cb_header, cb_checkpoint, NULL};

static const struct flash_area *staging(void)
{
    const struct flash_area *fa = NULL;
    assert_int_equal(flash_area_open(FLASH_AREA_STAGING, &fa), 0);
    return fa;
}

static int setup(void **state)
{
    (void)state;
    memset(chip, 0x00, sizeof chip); /* staging starts full of "old" data */
    memset(erases, 0, sizeof erases);
    memset(&cb, 0, sizeof cb);
    highest_programmed = 0;
    erase_ahead_violations = 0;
    return 0;
}

static const uint8_t *staged(void)
{
    return &chip[STAGING_ADDR - FLASH_BASE_ADDR];
}

/* Feed [from, to) of the image in pseudo-random chunk sizes; returns the last status. */
static int feed(struct ota_stage *st, uint32_t from, uint32_t to, unsigned seed)
{
    srand(seed);
    int rc = OTA_STAGE_OK;
    uint32_t pos = from;
    while (pos < to) {
        uint32_t n = 1 + (uint32_t)rand() % 1500;
        if (n > to - pos) {
            n = to - pos;
        }
        rc = ota_stage_write(st, &image[pos], n);
        if (rc != OTA_STAGE_OK) {
            return rc;
        }
        pos += n;
    }
    return rc;
}

/* ---- tests ---------------------------------------------------------------------------------- */

static void test_whole_image_in_odd_chunks(void **state)
{
    (void)state;
    make_image(150000, 140, 1); /* spans sectors 3, 4 and 5 */
    struct ota_stage st;
    assert_int_equal(ota_stage_begin(&st, staging(), &ops), OTA_STAGE_OK);
    assert_int_equal(feed(&st, 0, image_len, 7), OTA_STAGE_DONE);
    assert_memory_equal(staged(), image, image_len);
    assert_int_equal(ota_stage_total(&st), image_len);
    /* The padding of the last word stays erased. */
    for (uint32_t i = image_len; i % 4 != 0; i++) {
        assert_int_equal(staged()[i], 0xFF);
    }
    assert_int_equal(erases[3], 1);
    assert_int_equal(erases[4], 1);
    assert_int_equal(erases[5], 1);
    assert_int_equal(erase_ahead_violations, 0);
    assert_int_equal(cb.headers, 1);
    assert_int_equal(cb.bad_crc, 0);
    assert_true(cb.checkpoints >= image_len / OTA_STAGE_CHECKPOINT_INTERVAL);
    assert_int_equal(cb.last_n, (image_len + 3) & ~3u);
    /* Nothing outside staging was touched. */
    for (uint32_t i = 0; i < FLASH_TOTAL_SIZE; i++) {
        if (i < STAGING_ADDR - FLASH_BASE_ADDR || i >= STAGING_ADDR - FLASH_BASE_ADDR + STAGING_SIZE) {
            assert_int_equal(chip[i], 0x00);
        }
    }
    /* Bytes after the end are refused. */
    assert_int_equal(ota_stage_write(&st, image, 1), OTA_STAGE_ERR_OVERRUN);
}

static void test_small_image_erases_one_sector(void **state)
{
    (void)state;
    make_image(1000, 0, 2);
    struct ota_stage st;
    assert_int_equal(ota_stage_begin(&st, staging(), &ops), OTA_STAGE_OK);
    assert_int_equal(feed(&st, 0, image_len, 3), OTA_STAGE_DONE);
    assert_memory_equal(staged(), image, image_len);
    assert_int_equal(erases[3], 1);
    assert_int_equal(erases[4], 0);
    assert_int_equal(erases[5], 0);
}

static void test_bad_headers_erase_nothing(void **state)
{
    (void)state;
    struct ota_stage st;

    /* wrong magic */
    make_image(1000, 8, 3);
    image[0] ^= 1;
    assert_int_equal(ota_stage_begin(&st, staging(), &ops), 0);
    assert_int_equal(feed(&st, 0, image_len, 1), OTA_STAGE_ERR_HEADER);

    /* payload larger than the staging slot */
    make_image(1000, 8, 3);
    ota_put_le32(&image[12], STAGING_SIZE);
    assert_int_equal(ota_stage_begin(&st, staging(), &ops), 0);
    assert_int_equal(feed(&st, 0, 32, 1), OTA_STAGE_ERR_HEADER);

    /* encrypted flag */
    make_image(1000, 8, 3);
    ota_put_le32(&image[16], IMAGE_F_ENCRYPTED_AES128);
    assert_int_equal(ota_stage_begin(&st, staging(), &ops), 0);
    assert_int_equal(feed(&st, 0, 32, 1), OTA_STAGE_ERR_HEADER);

    /* the version policy says no */
    make_image(1000, 8, 3);
    cb.refuse = 1;
    assert_int_equal(ota_stage_begin(&st, staging(), &ops), 0);
    assert_int_equal(ota_stage_write(&st, image, 31), OTA_STAGE_OK);
    assert_int_equal(ota_stage_write(&st, &image[31], 1), OTA_STAGE_ERR_REFUSED);

    for (unsigned s = 0; s < FLASH_SECTOR_COUNT; s++) {
        assert_int_equal(erases[s], 0);
    }
    assert_int_equal(highest_programmed, 0);
}

static void test_tlv_info_checked(void **state)
{
    (void)state;
    struct ota_stage st;
    make_image(5000, 16, 4);
    image[32 + 5000] ^= 0xFF; /* TLV info magic */
    assert_int_equal(ota_stage_begin(&st, staging(), &ops), 0);
    assert_int_equal(feed(&st, 0, image_len, 2), OTA_STAGE_ERR_HEADER);

    make_image(STAGING_SIZE - 32 - 4 - 100, 0, 4);
    ota_put_le16(&image[image_len - 2], 200); /* TLV area would end past the slot */
    assert_int_equal(ota_stage_begin(&st, staging(), &ops), 0);
    assert_int_equal(feed(&st, 0, image_len, 2), OTA_STAGE_ERR_TOO_BIG);
}

static void test_args_and_checkpoint_failure(void **state)
{
    (void)state;
    struct ota_stage st;
    struct ota_stage_ops no_cb = {NULL, NULL, NULL};
    assert_int_equal(ota_stage_begin(&st, staging(), &no_cb), OTA_STAGE_ERR_ARG);
    assert_int_equal(ota_stage_begin(NULL, staging(), &ops), OTA_STAGE_ERR_ARG);
    make_image(20000, 8, 5);
    cb.fail_checkpoint = 1;
    assert_int_equal(ota_stage_begin(&st, staging(), &ops), 0);
    assert_int_equal(feed(&st, 0, image_len, 2), OTA_STAGE_ERR_CHECKPOINT);
    /* It stopped at the first checkpoint: nothing written beyond it. */
    assert_true(highest_programmed <= OTA_STAGE_CHECKPOINT_INTERVAL);
}

/* Simulate a cut after `cut` bytes with the word in flight torn, then resume from the last
 * checkpoint and finish; the staged bytes must equal the image. */
static void cut_and_resume(uint32_t payload, uint32_t cut, unsigned seed)
{
    setup(NULL);
    make_image(payload, 100, seed);
    struct ota_stage st;
    assert_int_equal(ota_stage_begin(&st, staging(), &ops), 0);
    int rc = feed(&st, 0, cut, seed);
    assert_true(rc == OTA_STAGE_OK || rc == OTA_STAGE_DONE);
    uint32_t cp_n = cb.last_n;
    uint32_t cp_crc = cb.last_crc;
    /* Tear the next word: some of its bits already programmed. */
    uint32_t next = st.flushed;
    if (next + 4 <= STAGING_SIZE && next < image_len) {
        uint8_t *w = &chip[STAGING_ADDR - FLASH_BASE_ADDR + next];
        for (int i = 0; i < 4; i++) {
            w[i] &= (uint8_t)(image[next + (uint32_t)i] | (uint8_t)rand());
        }
    }
    if (cp_n < IMAGE_HEADER_SIZE) {
        assert_int_equal(ota_stage_begin(&st, staging(), &ops), 0);
        rc = feed(&st, 0, image_len, seed + 1);
    } else {
        rc = ota_stage_resume(&st, staging(), &ops, cp_n, cp_crc);
        if (rc == OTA_STAGE_OK) {
            rc = feed(&st, ota_stage_pos(&st), image_len, seed + 1);
        }
    }
    assert_int_equal(rc, OTA_STAGE_DONE);
    assert_memory_equal(staged(), image, image_len);
    assert_int_equal(cb.bad_crc, 0);
}

static void test_resume_after_cut_anywhere(void **state)
{
    (void)state;
    for (uint32_t cut = 33; cut < 130000; cut += 4093) {
        cut_and_resume(120000, cut, cut);
    }
    /* Right at and around sector boundaries (16 KB and 80 KB into staging). */
    static const uint32_t edges[] = {0x4000 - 4, 0x4000, 0x4000 + 4, 0x14000 - 1, 0x14000, 0x14001};
    for (size_t i = 0; i < OTA_ARRAY_SIZE(edges); i++) {
        cut_and_resume(120000, edges[i], (unsigned)i + 11);
    }
}

static void test_resume_refuses_changed_flash(void **state)
{
    (void)state;
    make_image(60000, 100, 9);
    struct ota_stage st;
    assert_int_equal(ota_stage_begin(&st, staging(), &ops), 0);
    assert_int_equal(feed(&st, 0, 30000, 1), OTA_STAGE_OK);
    uint32_t n = cb.last_n;
    uint32_t crc = cb.last_crc;
    chip[STAGING_ADDR - FLASH_BASE_ADDR + 100] ^= 0x01; /* a bit rotted before the checkpoint */
    assert_int_equal(ota_stage_resume(&st, staging(), &ops, n, crc), OTA_STAGE_ERR_RESUME);
    chip[STAGING_ADDR - FLASH_BASE_ADDR + 100] ^= 0x01;
    assert_int_equal(ota_stage_resume(&st, staging(), &ops, n + 2, crc), OTA_STAGE_ERR_RESUME);
    assert_int_equal(ota_stage_resume(&st, staging(), &ops, 0, crc), OTA_STAGE_ERR_RESUME);
    assert_int_equal(ota_stage_resume(&st, staging(), &ops, n, crc), OTA_STAGE_OK);
    assert_int_equal(ota_stage_pos(&st), n);
}

static void test_resume_over_foreign_data_rewinds(void **state)
{
    (void)state;
    /* Download A up to 40 KB (inside sector 4, which spans 16..80 KB). */
    make_image(100000, 50, 21);
    struct ota_stage st;
    assert_int_equal(ota_stage_begin(&st, staging(), &ops), 0);
    assert_int_equal(feed(&st, 0, 40000, 1), OTA_STAGE_OK);
    uint32_t n = cb.last_n;
    uint32_t crc = cb.last_crc;
    /* The server now sends other bytes after n (same header): flash after n conflicts. */
    for (uint32_t i = n; i < 100000; i++) {
        image[i] = (uint8_t)~image[i];
    }
    unsigned erases4 = erases[4];
    assert_int_equal(ota_stage_resume(&st, staging(), &ops, n, crc), OTA_STAGE_OK);
    int rc = feed(&st, n, image_len, 3);
    assert_int_equal(rc, OTA_STAGE_REWIND);
    assert_int_equal(ota_stage_pos(&st), 0x4000); /* back to the start of sector 4 */
    assert_int_equal(erases[4], erases4 + 1);
    cb.last_n = 0; /* checkpoints start again from the rewound position */
    rc = feed(&st, ota_stage_pos(&st), image_len, 4);
    assert_int_equal(rc, OTA_STAGE_DONE);
    assert_memory_equal(staged(), image, image_len);
    assert_int_equal(cb.bad_crc, 0);
}

static void test_resume_when_already_complete(void **state)
{
    (void)state;
    make_image(3000, 40, 30);
    struct ota_stage st;
    assert_int_equal(ota_stage_begin(&st, staging(), &ops), 0);
    assert_int_equal(feed(&st, 0, image_len, 1), OTA_STAGE_DONE);
    assert_int_equal(ota_stage_resume(&st, staging(), &ops, cb.last_n, cb.last_crc),
                     OTA_STAGE_DONE);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup(test_whole_image_in_odd_chunks, setup),
        cmocka_unit_test_setup(test_small_image_erases_one_sector, setup),
        cmocka_unit_test_setup(test_bad_headers_erase_nothing, setup),
        cmocka_unit_test_setup(test_tlv_info_checked, setup),
        cmocka_unit_test_setup(test_args_and_checkpoint_failure, setup),
        cmocka_unit_test_setup(test_resume_after_cut_anywhere, setup),
        cmocka_unit_test_setup(test_resume_refuses_changed_flash, setup),
        cmocka_unit_test_setup(test_resume_over_foreign_data_rewinds, setup),
        cmocka_unit_test_setup(test_resume_when_already_complete, setup),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
