/* Boot control on the simulated NOR flash: header, records, log scan/append/compaction, app API. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "bootctl.h"
#include "flash_layout.h"
#include "flash_sim.h"
#include "ota_util.h"
#include "testimg.h"

static uint8_t pub_a[32];
static uint8_t img[STAGING_SIZE];
static size_t img_len;
static uint8_t factory[STAGING_SIZE];
static size_t factory_len;

static uint8_t *s2(void)
{
    return &flash_sim_mem()[APPHDR_ADDR - FLASH_BASE_ADDR];
}

static int setup(void **state)
{
    (void)state;
    flash_sim_reset();
    struct testimg_opts o = testimg_defaults(3000, 1, 0, 0);
    factory_len = testimg_build(&o, factory, sizeof factory);
    assert_true(factory_len > 0);
    assert_int_equal(testimg_factory_install(factory, factory_len), 0);
    flash_sim_counters_clear();
    return 0;
}

static void build(uint32_t size, uint8_t major, uint8_t minor)
{
    struct testimg_opts o = testimg_defaults(size, major, minor, 0);
    img_len = testimg_build(&o, img, sizeof img);
    assert_true(img_len > 0);
}

static void test_header_layout_and_commit_crc(void **state)
{
    (void)state;
    static uint8_t area[BOOTCTL_HDR_AREA_SIZE];
    static uint8_t desc[APP_DESC_SIZE];
    struct image_reader rd;
    struct image_buf b;
    image_reader_init_buf(&rd, &b, factory, (uint32_t)factory_len);
    uint32_t dlen;
    uint32_t doff;
    assert_int_equal(bootctl_installed_layout(&rd, area, desc, &dlen, &doff), BOOTCTL_OK);
    struct bootctl_header h;
    assert_true(bootctl_header_decode(area, &h));
    assert_int_equal(h.magic, 0xABCDEFAB);
    assert_int_equal(h.payload_size, 3000);
    assert_int_equal(h.version_word, 0x01000000);
    assert_int_equal(h.result_word, BOOTCTL_RESULT_NONE);
    /* descriptor = 32-byte header + TLV area; padded to words; at the end of sector 6 */
    uint32_t tlv_len = (uint32_t)factory_len - 32 - 3000;
    assert_int_equal(h.desc_len, 32 + tlv_len);
    assert_int_equal(dlen, (32 + tlv_len + 3) & ~3u);
    assert_int_equal(doff, 0x20000 - APP_DESC_SIZE);
    assert_memory_equal(desc, factory, 32);
    assert_memory_equal(&desc[32], &factory[32 + 3000], tlv_len);
    assert_memory_equal(&area[BOOTCTL_DESC_OFF], desc, h.desc_len);
    /* the tutorial's words at their offsets */
    assert_int_equal(ota_get_le32(&area[0x04]), 0xABCDEFAB);
    assert_int_equal(ota_get_le32(&area[0x08]), 3000);
    assert_int_equal(ota_get_le32(&area[0x10]), 0x01000000);
    /* every covered byte matters; ota_flag (informational) does not */
    for (uint32_t i = BOOTCTL_OFF_MAGIC; i < BOOTCTL_DESC_OFF + h.desc_len; i++) {
        area[i] ^= 0x01;
        assert_false(bootctl_header_decode(area, &h));
        area[i] ^= 0x01;
    }
    area[0] ^= 0x01;
    assert_true(bootctl_header_decode(area, &h));
    /* a lying descriptor length */
    ota_put_le32(&area[BOOTCTL_OFF_DESC_LEN], BOOTCTL_DESC_MAX + 4);
    assert_false(bootctl_header_decode(area, &h));
    /* a bad image has no installed form */
    factory[0] ^= 1;
    assert_int_equal(bootctl_installed_layout(&rd, area, desc, &dlen, &doff), BOOTCTL_ERR_IMAGE);
    factory[0] ^= 1;
    assert_int_equal(bootctl_installed_layout(NULL, area, desc, &dlen, &doff), BOOTCTL_ERR_ARG);
}

static void test_desc_app_offsets(void **state)
{
    (void)state;
    uint32_t off = 0;
    const uint32_t s6_slot = 0x20000 - APP_DESC_SIZE;
    const uint32_t s7_slot = 0x40000 - APP_DESC_SIZE;
    assert_int_equal(bootctl_desc_app_off(1, &off), BOOTCTL_OK);
    assert_int_equal(off, s6_slot);
    assert_int_equal(bootctl_desc_app_off(s6_slot, &off), BOOTCTL_OK);
    assert_int_equal(off, s6_slot);
    assert_int_equal(bootctl_desc_app_off(s6_slot + 1, &off), BOOTCTL_OK);
    assert_int_equal(off, s7_slot);
    assert_int_equal(bootctl_desc_app_off(s7_slot, &off), BOOTCTL_OK);
    assert_int_equal(off, s7_slot);
    assert_int_equal(bootctl_desc_app_off(s7_slot + 1, &off), BOOTCTL_ERR_DESC);
    assert_int_equal(bootctl_desc_app_off(APP_SIZE + 1, &off), BOOTCTL_ERR_DESC);
    assert_int_equal(bootctl_desc_app_off(0, &off), BOOTCTL_ERR_ARG);
}

static void test_record_codec(void **state)
{
    (void)state;
    struct bootctl_record r;
    memset(&r, 0, sizeof r);
    r.type = BOOTCTL_REC_PENDING;
    r.flags = 1;
    r.seq = 77;
    for (int i = 0; i < 20; i++) {
        r.body[i] = (uint8_t)(i * 3);
    }
    uint8_t raw[BOOTCTL_REC_SIZE];
    bootctl_record_encode(&r, raw);
    struct bootctl_record d;
    assert_true(bootctl_record_decode(raw, &d));
    assert_int_equal(d.type, r.type);
    assert_int_equal(d.flags, 1);
    assert_int_equal(d.seq, 77);
    assert_memory_equal(d.body, r.body, 20);
    for (uint32_t i = 0; i < BOOTCTL_REC_SIZE; i++) {
        raw[i] ^= 0x40;
        assert_false(bootctl_record_decode(raw, &d));
        raw[i] ^= 0x40;
    }
    uint8_t freeslot[BOOTCTL_REC_SIZE];
    memset(freeslot, 0xFF, sizeof freeslot);
    assert_false(bootctl_record_decode(freeslot, &d));
    r.type = 9; /* unknown type with a valid CRC */
    bootctl_record_encode(&r, raw);
    assert_false(bootctl_record_decode(raw, &d));
}

static void write_raw_slot(uint32_t slot, const uint8_t raw[BOOTCTL_REC_SIZE])
{
    memcpy(&s2()[BOOTCTL_LOG_OFF + slot * BOOTCTL_REC_SIZE], raw, BOOTCTL_REC_SIZE);
}

static void test_append_after_last_used_skipping_torn(void **state)
{
    (void)state;
    struct bootctl_scan sc;
    assert_int_equal(bootctl_scan(&sc), BOOTCTL_OK);
    assert_true(sc.hdr_valid);
    assert_int_equal(sc.next_slot, 0);
    assert_int_equal(sc.used_slots, 0);
    /* a torn append in slot 0 (some bits cleared, CRC wrong) */
    uint8_t raw[BOOTCTL_REC_SIZE];
    memset(raw, 0xFF, sizeof raw);
    raw[0] = 0x03;
    raw[5] = 0x00;
    write_raw_slot(0, raw);
    assert_int_equal(bootctl_scan(&sc), BOOTCTL_OK);
    assert_int_equal(sc.torn_slots, 1);
    assert_int_equal(sc.next_slot, 1);
    struct bootctl_dl_id id;
    memset(&id, 0x22, sizeof id);
    id.size = 1234;
    id.version = 0x01020003;
    assert_int_equal(bootctl_dl_start(&id), BOOTCTL_OK);
    struct bootctl_record d;
    assert_false(bootctl_record_decode(&s2()[BOOTCTL_LOG_OFF], &d));
    assert_true(bootctl_record_decode(&s2()[BOOTCTL_LOG_OFF + BOOTCTL_REC_SIZE], &d));
    assert_int_equal(d.type, BOOTCTL_REC_DL_START);
    /* a valid record further on with free slots before it: appends go after it, not into holes */
    struct bootctl_record r;
    memset(&r, 0, sizeof r);
    r.type = BOOTCTL_REC_DL_CHECKPOINT;
    r.seq = 50;
    ota_put_le32(&r.body[0], 4096);
    memcpy(&r.body[8], id.id, BOOTCTL_DL_ID_SIZE);
    bootctl_record_encode(&r, raw);
    write_raw_slot(9, raw);
    assert_int_equal(bootctl_dl_checkpoint(8192, 0xABCD), BOOTCTL_OK);
    assert_true(bootctl_record_decode(&s2()[BOOTCTL_LOG_OFF + 10 * BOOTCTL_REC_SIZE], &d));
    assert_int_equal(d.seq, 51); /* sequence continues after the highest seen */
    struct bootctl_dl_state st;
    assert_int_equal(bootctl_dl_latest(&st), BOOTCTL_OK);
    assert_true(st.ckpt_valid);
    assert_int_equal(st.written, 8192);
    assert_int_equal(st.crc, 0xABCD);
    assert_int_equal(st.start.size, 1234);
    assert_int_equal(st.start.version, 0x01020003);
    assert_memory_equal(st.start.id, id.id, BOOTCTL_DL_ID_SIZE);
    /* the latest checkpoint torn: falls back to the previous one */
    s2()[BOOTCTL_LOG_OFF + 10 * BOOTCTL_REC_SIZE + 12] &= 0x0F;
    assert_int_equal(bootctl_dl_latest(&st), BOOTCTL_OK);
    assert_int_equal(st.written, 4096);
    /* a new download starts over: no checkpoint yet */
    memset(&id, 0x33, sizeof id);
    assert_int_equal(bootctl_dl_start(&id), BOOTCTL_OK);
    assert_int_equal(bootctl_dl_latest(&st), BOOTCTL_OK);
    assert_false(st.ckpt_valid);
    assert_int_equal(st.start.id[0], 0x33);
}

static void test_dl_records_errors(void **state)
{
    (void)state;
    struct bootctl_dl_state st;
    assert_int_equal(bootctl_dl_latest(&st), BOOTCTL_ERR_NOT_FOUND);
    assert_int_equal(bootctl_dl_checkpoint(512, 1), BOOTCTL_ERR_NOT_FOUND);
    assert_int_equal(bootctl_dl_start(NULL), BOOTCTL_ERR_ARG);
    assert_int_equal(bootctl_dl_latest(NULL), BOOTCTL_ERR_ARG);
    /* the controller fails the program: an error, and the slot is not reused */
    struct bootctl_dl_id id;
    memset(&id, 0x44, sizeof id);
    flash_sim_fail_next();
    assert_int_equal(bootctl_dl_start(&id), BOOTCTL_ERR_FLASH);
    assert_int_equal(bootctl_dl_start(&id), BOOTCTL_OK);
    assert_int_equal(bootctl_dl_latest(&st), BOOTCTL_OK);
}

static void test_request_update(void **state)
{
    (void)state;
    build(5000, 1, 1);
    testimg_stage(img, img_len);
    int detail = 0;
    assert_int_equal(bootctl_request_update(NULL, 0, &detail), BOOTCTL_ERR_ARG);
    assert_int_equal(bootctl_request_update(pub_a, 0x80, &detail), BOOTCTL_ERR_ARG);
    /* signed by someone else */
    uint8_t pub_b[32];
    testimg_pubkey(TESTIMG_KEY_B, pub_b);
    assert_int_equal(bootctl_request_update(pub_b, 0, &detail), BOOTCTL_ERR_IMAGE);
    assert_int_equal(detail, IMAGE_ERR_KEYHASH);
    /* corrupted payload */
    flash_sim_mem()[STAGING_ADDR - FLASH_BASE_ADDR + 100] ^= 1;
    assert_int_equal(bootctl_request_update(pub_a, 0, &detail), BOOTCTL_ERR_IMAGE);
    assert_int_equal(detail, IMAGE_ERR_HASH);
    flash_sim_mem()[STAGING_ADDR - FLASH_BASE_ADDR + 100] ^= 1;
    struct flash_sim_counters c;
    flash_sim_counters(&c);
    assert_int_equal(c.ops, 0); /* refusals write nothing */

    assert_int_equal(bootctl_request_update(pub_a, 0, &detail), BOOTCTL_OK);
    assert_int_equal(detail, 0);
    struct bootctl_scan sc;
    assert_int_equal(bootctl_scan(&sc), BOOTCTL_OK);
    assert_true(sc.pending_valid);
    assert_int_equal(sc.pending_size, img_len);
    assert_int_equal(sc.pending_flags, 0);
    assert_memory_equal(sc.pending_hash, &img[img_len - 64 - 4 - 32 - 4 - 32], 16);
    /* asking again for the same image appends nothing */
    flash_sim_counters_clear();
    assert_int_equal(bootctl_request_update(pub_a, 0, NULL), BOOTCTL_OK);
    flash_sim_counters(&c);
    assert_int_equal(c.ops, 0);
    /* a REJECTED for that hash cancels it; a DL_START does too */
    struct bootctl_record r;
    memset(&r, 0, sizeof r);
    r.type = BOOTCTL_REC_REJECTED;
    memcpy(r.body, sc.pending_hash, 16);
    r.body[0] ^= 1; /* another image's rejection does not */
    assert_int_equal(bootctl_append(&sc, &r), BOOTCTL_OK);
    assert_int_equal(bootctl_scan(&sc), BOOTCTL_OK);
    assert_true(sc.pending_valid);
    r.body[0] ^= 1;
    assert_int_equal(bootctl_append(&sc, &r), BOOTCTL_OK);
    assert_int_equal(bootctl_scan(&sc), BOOTCTL_OK);
    assert_false(sc.pending_valid);
    assert_int_equal(bootctl_request_update(pub_a, 0, NULL), BOOTCTL_OK);
    struct bootctl_dl_id id;
    memset(&id, 0x55, sizeof id);
    assert_int_equal(bootctl_dl_start(&id), BOOTCTL_OK);
    assert_int_equal(bootctl_scan(&sc), BOOTCTL_OK);
    assert_false(sc.pending_valid);

    /* older or equal versions */
    build(5000, 0, 9);
    testimg_stage(img, img_len);
    assert_int_equal(bootctl_request_update(pub_a, BOOTCTL_PENDING_ALLOW_EQUAL, NULL),
                     BOOTCTL_ERR_VERSION);
    testimg_stage(factory, factory_len);
    assert_int_equal(bootctl_request_update(pub_a, 0, NULL), BOOTCTL_ERR_VERSION);
    assert_int_equal(bootctl_request_update(pub_a, BOOTCTL_PENDING_ALLOW_EQUAL, NULL), BOOTCTL_OK);
    assert_int_equal(bootctl_scan(&sc), BOOTCTL_OK);
    assert_int_equal(sc.pending_flags, BOOTCTL_PENDING_ALLOW_EQUAL);

    /* a descriptor larger than the sector-2 copy holds */
    struct testimg_opts big = testimg_defaults(5000, 2, 0, 0);
    big.hdr_size = IMAGE_MAX_HDR_SIZE;
    big.prot_tlv = true;
    big.prot_extra = 824;
    img_len = testimg_build(&big, img, sizeof img);
    assert_true(img_len > 0);
    testimg_stage(img, img_len);
    assert_int_equal(bootctl_request_update(pub_a, 0, &detail), BOOTCTL_ERR_DESC);
    static uint8_t area[BOOTCTL_HDR_AREA_SIZE];
    static uint8_t desc[APP_DESC_SIZE];
    struct image_reader rd;
    struct image_buf b;
    image_reader_init_buf(&rd, &b, img, (uint32_t)img_len);
    uint32_t dlen;
    uint32_t doff;
    assert_int_equal(bootctl_installed_layout(&rd, area, desc, &dlen, &doff), BOOTCTL_ERR_DESC);

    /* no header: nothing to compare against */
    memset(s2(), 0xFF, APPHDR_SIZE);
    assert_int_equal(bootctl_request_update(pub_a, 0, NULL), BOOTCTL_ERR_NO_HEADER);
}

static void test_installed_info_and_last_result(void **state)
{
    (void)state;
    struct bootctl_installed inst;
    assert_int_equal(bootctl_installed_info(&inst), BOOTCTL_OK);
    assert_int_equal(inst.version.iv_major, 1);
    assert_int_equal(inst.version.iv_minor, 0);
    assert_int_equal(inst.version.iv_build_num, 1);
    assert_int_equal(inst.payload_size, 3000);
    assert_memory_equal(inst.hash, &factory[factory_len - 64 - 4 - 32 - 4 - 32], 32);
    struct bootctl_last last;
    assert_int_equal(bootctl_last_result(&last), BOOTCTL_OK);
    assert_int_equal(last.result, BOOTCTL_RESULT_NONE);
    assert_false(last.hash_valid);
    assert_int_equal(bootctl_installed_info(NULL), BOOTCTL_ERR_ARG);
    assert_int_equal(bootctl_last_result(NULL), BOOTCTL_ERR_ARG);
    memset(s2(), 0xFF, BOOTCTL_HDR_SIZE);
    assert_int_equal(bootctl_installed_info(&inst), BOOTCTL_ERR_NO_HEADER);
    assert_int_equal(bootctl_last_result(&last), BOOTCTL_ERR_NO_HEADER);
}

static void fill_log_with_checkpoints(uint32_t count)
{
    for (uint32_t i = 0; i < count; i++) {
        assert_int_equal(bootctl_dl_checkpoint(512u * (i + 1u), i), BOOTCTL_OK);
    }
}

static void test_compaction_carries_live_records(void **state)
{
    (void)state;
    struct bootctl_dl_id id;
    memset(&id, 0x66, sizeof id);
    id.size = 9999;
    assert_int_equal(bootctl_dl_start(&id), BOOTCTL_OK);
    build(5000, 1, 1);
    testimg_stage(img, img_len);
    /* REJECTED of some other image, then the live PENDING, then checkpoints up to full */
    struct bootctl_scan sc;
    assert_int_equal(bootctl_scan(&sc), BOOTCTL_OK);
    struct bootctl_record r;
    memset(&r, 0, sizeof r);
    r.type = BOOTCTL_REC_REJECTED;
    memset(r.body, 0x77, 16);
    ota_put_le32(&r.body[16], 17);
    assert_int_equal(bootctl_append(&sc, &r), BOOTCTL_OK);
    fill_log_with_checkpoints(BOOTCTL_REC_COUNT - 3);
    assert_int_equal(bootctl_request_update(pub_a, 0, NULL), BOOTCTL_OK);
    assert_int_equal(bootctl_scan(&sc), BOOTCTL_OK);
    assert_int_equal(sc.next_slot, BOOTCTL_REC_COUNT);
    assert_true(sc.pending_valid);

    flash_sim_counters_clear();
    assert_int_equal(bootctl_dl_checkpoint(777777, 0x1234), BOOTCTL_OK);
    struct flash_sim_counters c;
    flash_sim_counters(&c);
    assert_int_equal(c.erases, 1);
    assert_int_equal(c.sector_erases[APPHDR_FIRST_SECTOR], 1);
    assert_int_equal(bootctl_scan(&sc), BOOTCTL_OK);
    assert_true(sc.hdr_valid);
    assert_int_equal(sc.next_slot, 4); /* DL_START, checkpoint, PENDING, the new checkpoint */
    assert_true(sc.pending_valid);
    assert_true(sc.dl_valid);
    assert_int_equal(sc.dl_size, 9999);
    assert_int_equal(sc.dl_written, 777777);
    struct bootctl_last last;
    assert_int_equal(bootctl_last_result(&last), BOOTCTL_OK);
    assert_int_equal(last.result, BOOTCTL_RESULT_REJECTED);
    assert_int_equal(last.reason, 17);
    assert_false(last.hash_valid);
    struct bootctl_installed inst;
    assert_int_equal(bootctl_installed_info(&inst), BOOTCTL_OK);
    assert_int_equal(inst.payload_size, 3000);
}

static void test_compaction_refused_when_app_area_differs(void **state)
{
    (void)state;
    struct bootctl_dl_id id;
    memset(&id, 0x66, sizeof id);
    assert_int_equal(bootctl_dl_start(&id), BOOTCTL_OK);
    fill_log_with_checkpoints(BOOTCTL_REC_COUNT - 1);
    /* the application payload no longer matches the header: erasing sector 2 would lose it */
    flash_sim_mem()[APP_ADDR - FLASH_BASE_ADDR + 10] ^= 1;
    flash_sim_counters_clear();
    assert_int_equal(bootctl_dl_checkpoint(1, 1), BOOTCTL_ERR_FULL);
    struct flash_sim_counters c;
    flash_sim_counters(&c);
    assert_int_equal(c.ops, 0);
    flash_sim_mem()[APP_ADDR - FLASH_BASE_ADDR + 10] ^= 1;
    /* or its descriptor */
    flash_sim_mem()[APP_ADDR - FLASH_BASE_ADDR + 0x20000 - APP_DESC_SIZE + 40] ^= 1;
    assert_int_equal(bootctl_dl_checkpoint(1, 1), BOOTCTL_ERR_FULL);
    flash_sim_mem()[APP_ADDR - FLASH_BASE_ADDR + 0x20000 - APP_DESC_SIZE + 40] ^= 1;
    assert_int_equal(bootctl_dl_checkpoint(1, 1), BOOTCTL_OK);
    /* no header at all */
    struct bootctl_scan sc;
    memset(s2(), 0xFF, BOOTCTL_HDR_SIZE);
    assert_int_equal(bootctl_scan(&sc), BOOTCTL_OK);
    assert_int_equal(bootctl_compact(&sc), BOOTCTL_ERR_NO_HEADER);
}

/* A log area full of random bytes (a torn erase) with an intact header: every slot is skipped, the
 * next append compacts and the log is usable again. */
static void test_garbage_log_compacted_on_append(void **state)
{
    (void)state;
    uint32_t st = 12345;
    for (uint32_t i = BOOTCTL_LOG_OFF; i < APPHDR_SIZE; i++) {
        s2()[i] = (uint8_t)flash_sim_rand(&st);
    }
    struct bootctl_scan sc;
    assert_int_equal(bootctl_scan(&sc), BOOTCTL_OK);
    assert_true(sc.hdr_valid);
    assert_int_equal(sc.torn_slots, BOOTCTL_REC_COUNT);
    assert_int_equal(sc.next_slot, BOOTCTL_REC_COUNT);
    assert_false(sc.pending_valid || sc.rejected_valid || sc.dl_valid);
    struct bootctl_dl_id id;
    memset(&id, 0x99, sizeof id);
    assert_int_equal(bootctl_dl_start(&id), BOOTCTL_OK);
    assert_int_equal(bootctl_scan(&sc), BOOTCTL_OK);
    assert_int_equal(sc.torn_slots, 0);
    assert_int_equal(sc.next_slot, 1);
    assert_true(sc.dl_valid);
    for (uint32_t i = BOOTCTL_LOG_OFF + BOOTCTL_REC_SIZE; i < APPHDR_SIZE; i++) {
        assert_int_equal(s2()[i], 0xFF);
    }
}

static void test_header_write(void **state)
{
    (void)state;
    static uint8_t area[BOOTCTL_HDR_AREA_SIZE];
    memset(area, 0xFF, sizeof area);
    assert_int_equal(bootctl_header_write(area), BOOTCTL_ERR_ARG);
    assert_int_equal(bootctl_header_write(NULL), BOOTCTL_ERR_ARG);
    struct flash_sim_counters c;
    flash_sim_counters(&c);
    assert_int_equal(c.ops, 0);
    memcpy(area, s2(), sizeof area);
    flash_sim_counters_clear();
    assert_int_equal(bootctl_header_write(area), BOOTCTL_OK);
    flash_sim_counters(&c);
    assert_int_equal(c.erases, 1);
    struct bootctl_header h;
    assert_true(bootctl_header_decode(s2(), &h));
    /* header words + descriptor words + commit word only */
    assert_int_equal(c.words, BOOTCTL_HDR_SIZE / 4 + ((h.desc_len + 3) / 4));
    flash_sim_fail_next();
    assert_int_equal(bootctl_header_write(area), BOOTCTL_ERR_FLASH);
}

int main(void)
{
    testimg_pubkey(TESTIMG_KEY_A, pub_a);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup(test_header_layout_and_commit_crc, setup),
        cmocka_unit_test_setup(test_desc_app_offsets, setup),
        cmocka_unit_test(test_record_codec),
        cmocka_unit_test_setup(test_append_after_last_used_skipping_torn, setup),
        cmocka_unit_test_setup(test_dl_records_errors, setup),
        cmocka_unit_test_setup(test_request_update, setup),
        cmocka_unit_test_setup(test_installed_info_and_last_result, setup),
        cmocka_unit_test_setup(test_compaction_carries_live_records, setup),
        cmocka_unit_test_setup(test_compaction_refused_when_app_area_differs, setup),
        cmocka_unit_test_setup(test_garbage_log_compacted_on_append, setup),
        cmocka_unit_test_setup(test_header_write, setup),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
