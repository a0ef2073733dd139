/*
 * Bootloader core on the simulated NOR flash: every bad staged image is rejected with its own code,
 * log line and REJECTED record before the application area (sectors 6-7) is touched; good updates
 * install; repeated boots write nothing; sector 2 is recovered from the application area.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "boot_core.h"
#include "boot_test_util.h"
#include "bootctl.h"
#include "flash_layout.h"
#include "flash_sim.h"
#include "ota_util.h"
#include "testimg.h"

const uint8_t boot_pubkey[32] = TESTIMG_KEY_A_PUB;

static uint8_t img[STAGING_SIZE];
static uint32_t img_len;
static uint8_t factory[STAGING_SIZE];

static int setup(void **state)
{
    (void)state;
    flash_sim_reset();
    boot_cap_clear();
    struct testimg_opts o = testimg_defaults(4000, 1, 0, 0);
    size_t n = testimg_build(&o, factory, sizeof factory);
    assert_true(n > 0);
    assert_int_equal(testimg_factory_install(factory, n), 0);
    return 0;
}

static void counters(struct flash_sim_counters *c)
{
    flash_sim_counters(c);
}

static void assert_app_untouched(void)
{
    struct flash_sim_counters c;
    counters(&c);
    assert_int_equal(c.sector_erases[6], 0);
    assert_int_equal(c.sector_erases[7], 0);
    assert_int_equal(c.sector_words[6], 0);
    assert_int_equal(c.sector_words[7], 0);
}

static void assert_boot_version(const struct boot_outcome *out, uint8_t major, uint8_t minor)
{
    assert_int_equal(out->jump_addr, APP_ADDR);
    assert_int_equal(out->reason, BOOT_OK);
    assert_int_equal(out->version.iv_major, major);
    assert_int_equal(out->version.iv_minor, minor);
}

/* A boot with nothing to do: jumps, and neither programs nor erases anything. */
static void assert_quiet_boot(uint8_t major, uint8_t minor)
{
    struct boot_outcome out;
    flash_sim_counters_clear();
    assert_int_equal(boot_run(&boot_test_hooks, &out), BOOT_ERR_NONE);
    assert_boot_version(&out, major, minor);
    assert_int_equal(out.action, BOOT_ACTION_NONE);
    struct flash_sim_counters c;
    counters(&c);
    assert_int_equal(c.ops, 0);
    assert_int_equal(c.erases, 0);
    assert_int_equal(c.words, 0);
}

/* ---- bad staged images ---- */

enum mutation {
    MUT_NONE,
    MUT_MAGIC,
    MUT_HDR_SMALL,
    MUT_HDR_HUGE,
    MUT_IMG_SIZE_HUGE,
    MUT_TLV_TOT_HUGE,
    MUT_TLV_MAGIC,
    MUT_TLV_HASH_LEN,
    MUT_TLV_TOT_SHORT,
    MUT_FLIP_HEADER,
    MUT_FLIP_PAYLOAD,
    MUT_FLIP_PROT,
    MUT_TRUNCATE,
    MUT_NOTHING_STAGED,
    MUT_OTHER_PENDING_HASH,
};

struct bad_case {
    const char *name;
    struct testimg_opts opts;
    enum mutation mut;
    int want;
};

static uint32_t tlv_info_off(void)
{
    struct image_header h;
    image_header_parse(img, &h);
    return (uint32_t)h.ih_hdr_size + h.ih_img_size + h.ih_protect_tlv_size;
}

static void mutate(enum mutation m)
{
    struct image_header h;
    image_header_parse(img, &h);
    uint32_t t = tlv_info_off();
    switch (m) {
    case MUT_NONE:
    case MUT_TRUNCATE:
    case MUT_NOTHING_STAGED:
    case MUT_OTHER_PENDING_HASH:
        break;
    case MUT_MAGIC: img[0] ^= 0x01; break;
    case MUT_HDR_SMALL: ota_put_le16(&img[8], 16); break;
    case MUT_HDR_HUGE: ota_put_le16(&img[8], 0x800); break;
    case MUT_IMG_SIZE_HUGE: ota_put_le32(&img[12], 0x40000); break;
    case MUT_TLV_TOT_HUGE: ota_put_le16(&img[t + 2], 0xFFFF); break;
    case MUT_TLV_MAGIC: img[t] ^= 0x10; break;
    case MUT_TLV_HASH_LEN: ota_put_le16(&img[t + 4 + 2], 33); break; /* first TLV = SHA256 */
    case MUT_TLV_TOT_SHORT: ota_put_le16(&img[t + 2], (uint16_t)(ota_get_le16(&img[t + 2]) - 2)); break;
    case MUT_FLIP_HEADER: img[4] ^= 0x80; break; /* ih_load_addr: hashed, not checked */
    case MUT_FLIP_PAYLOAD: img[h.ih_hdr_size + h.ih_img_size / 2] ^= 0x04; break;
    case MUT_FLIP_PROT: img[h.ih_hdr_size + h.ih_img_size + 8] ^= 0x01; break;
    }
}

static void run_bad_case(const struct bad_case *bc)
{
    setup(NULL);
    size_t n = testimg_build(&bc->opts, img, sizeof img);
    assert_true(n > 0);
    img_len = (uint32_t)n;
    uint8_t hash[32];
    if (!boot_test_image_hash(img, img_len, hash)) {
        memset(hash, 0x5A, sizeof hash); /* no hash TLV: the request names something else */
    }
    mutate(bc->mut);
    if (bc->mut == MUT_TRUNCATE) {
        testimg_stage(img, img_len / 2);
    } else if (bc->mut == MUT_NOTHING_STAGED) {
        testimg_stage(img, 0);
    } else {
        testimg_stage(img, img_len);
    }
    if (bc->mut == MUT_OTHER_PENDING_HASH) {
        hash[3] ^= 1;
    }
    assert_int_equal(boot_test_pending(hash, img_len, 0), BOOTCTL_OK);

    flash_sim_counters_clear();
    boot_cap_clear();
    struct boot_outcome out;
    print_message("  bad image: %s\n", bc->name);
    assert_int_equal(boot_run(&boot_test_hooks, &out), BOOT_ERR_NONE);
    assert_boot_version(&out, 1, 0); /* the old application keeps running */
    assert_int_equal(out.action, BOOT_ACTION_REJECTED);
    assert_int_equal(out.reject_reason, bc->want);
    assert_app_untouched();
    char line[128];
    snprintf(line, sizeof line, "boot: staged image rejected: %s (%d)", boot_reason_str(bc->want),
             bc->want);
    assert_true(boot_cap_has(line));
    /* Only the REJECTED record was written: 8 words in sector 2, nothing erased. */
    struct flash_sim_counters c;
    counters(&c);
    assert_int_equal(c.erases, 0);
    assert_int_equal(c.words, BOOTCTL_REC_SIZE / 4);
    assert_int_equal(c.sector_words[APPHDR_FIRST_SECTOR], BOOTCTL_REC_SIZE / 4);

    struct bootctl_last last;
    assert_int_equal(bootctl_last_result(&last), BOOTCTL_OK);
    assert_int_equal(last.result, BOOTCTL_RESULT_REJECTED);
    assert_int_equal(last.reason, bc->want);
    assert_true(last.hash_valid);
    assert_memory_equal(last.hash, hash, BOOTCTL_HASH_ID_SIZE);

    /* The rejection is final: the next boot does not validate again and writes nothing. */
    assert_quiet_boot(1, 0);
}

static struct testimg_opts opts(uint32_t size, uint8_t major, uint8_t minor)
{
    return testimg_defaults(size, major, minor, 0);
}

static void test_bad_images_rejected_before_app_area(void **state)
{
    (void)state;
    static struct bad_case cases[40];
    size_t n = 0;
    struct testimg_opts o;
#define CASE(nm, op, mu, w) cases[n++] = (struct bad_case){nm, op, mu, w}
    CASE("wrong magic", opts(5000, 1, 1), MUT_MAGIC, BOOT_R_MAGIC);
    CASE("header size too small", opts(5000, 1, 1), MUT_HDR_SMALL, BOOT_R_HDR_SIZE);
    CASE("header size huge", opts(5000, 1, 1), MUT_HDR_HUGE, BOOT_R_HDR_SIZE);
    CASE("payload beyond the slot", opts(5000, 1, 1), MUT_IMG_SIZE_HUGE, BOOT_R_TOO_BIG);
    CASE("TLV area beyond the slot", opts(200 * 1024, 1, 1), MUT_TLV_TOT_HUGE, BOOT_R_TOO_BIG);
    CASE("TLV info magic wrong", opts(5000, 1, 1), MUT_TLV_MAGIC, BOOT_R_TLV_MAGIC);
    CASE("TLV length lies (overlaps next)", opts(5000, 1, 1), MUT_TLV_HASH_LEN, BOOT_R_TLV_LEN);
    CASE("TLV total length short", opts(5000, 1, 1), MUT_TLV_TOT_SHORT, BOOT_R_TLV_LEN);
    o = opts(5000, 1, 1);
    o.no_hash = true;
    CASE("missing hash", o, MUT_NONE, BOOT_R_NO_HASH);
    CASE("hash mismatch: header bit", opts(5000, 1, 1), MUT_FLIP_HEADER, BOOT_R_HASH);
    CASE("hash mismatch: payload bit", opts(5000, 1, 1), MUT_FLIP_PAYLOAD, BOOT_R_HASH);
    o = opts(5000, 1, 1);
    o.prot_tlv = true;
    CASE("hash mismatch: protected TLV bit", o, MUT_FLIP_PROT, BOOT_R_HASH);
    o = opts(5000, 1, 1);
    o.no_sig = true;
    CASE("missing signature", o, MUT_NONE, BOOT_R_NO_SIG);
    o = opts(5000, 1, 1);
    o.sign_key = TESTIMG_KEY_B;
    CASE("signature by another key", o, MUT_NONE, BOOT_R_SIG);
    o = opts(5000, 1, 1);
    o.keyhash_key = TESTIMG_KEY_B;
    CASE("KEYHASH mismatch", o, MUT_NONE, BOOT_R_KEYHASH);
    o = opts(5000, 1, 1);
    o.no_keyhash = true;
    CASE("KEYHASH missing", o, MUT_NONE, BOOT_R_NO_KEYHASH);
    CASE("downgrade", opts(5000, 0, 9), MUT_NONE, BOOT_R_DOWNGRADE);
    CASE("equal version without the flag", opts(5000, 1, 0), MUT_NONE, BOOT_R_DOWNGRADE);
    CASE("zero-length payload", opts(0, 1, 1), MUT_NONE, BOOT_R_EMPTY);
    o = opts(5000, 1, 1);
    o.flags = IMAGE_F_ENCRYPTED_AES128;
    CASE("encrypted flag", o, MUT_NONE, BOOT_R_FLAGS);
    o = opts(5000, 1, 1);
    o.sp = SRAM_BASE_ADDR + SRAM_TOTAL_SIZE + 8;
    CASE("vector table: SP above SRAM", o, MUT_NONE, BOOT_R_VECTOR);
    o = opts(5000, 1, 1);
    o.sp = SRAM_BASE_ADDR;
    CASE("vector table: SP at SRAM base", o, MUT_NONE, BOOT_R_VECTOR);
    o = opts(5000, 1, 1);
    o.sp = SRAM_BASE_ADDR + 0x1004;
    CASE("vector table: SP not 8-byte aligned", o, MUT_NONE, BOOT_R_VECTOR);
    o = opts(5000, 1, 1);
    o.reset = APP_ADDR + 0x100;
    CASE("vector table: reset handler even", o, MUT_NONE, BOOT_R_VECTOR);
    o = opts(5000, 1, 1);
    o.reset = APP_ADDR + 5000 + 1;
    CASE("vector table: reset handler past the payload", o, MUT_NONE, BOOT_R_VECTOR);
    o = opts(5000, 1, 1);
    o.reset = BOOT_ADDR + 0x101;
    CASE("vector table: reset handler in the bootloader", o, MUT_NONE, BOOT_R_VECTOR);
    o = opts(5000, 1, 1);
    o.hdr_size = IMAGE_MAX_HDR_SIZE;
    o.prot_tlv = true;
    o.prot_extra = 824; /* descriptor 0x7D0 bytes: fits the 2 KB slot, not the sector-2 copy */
    CASE("descriptor too large for sector 2", o, MUT_NONE, BOOT_R_DESC_SIZE);
    CASE("staged area only partly written", opts(5000, 1, 1), MUT_TRUNCATE, BOOT_R_INCOMPLETE);
    CASE("nothing staged", opts(5000, 1, 1), MUT_NOTHING_STAGED, BOOT_R_INCOMPLETE);
    CASE("staged image is not the requested one", opts(5000, 1, 1), MUT_OTHER_PENDING_HASH,
         BOOT_R_PENDING);
#undef CASE
    for (size_t i = 0; i < n; i++) {
        run_bad_case(&cases[i]);
    }
}

static void test_reason_names_distinct(void **state)
{
    (void)state;
    for (int a = BOOT_OK; a <= BOOT_R_DESC_SIZE; a++) {
        assert_string_not_equal(boot_reason_str(a), "unknown");
        for (int b = a + 1; b <= BOOT_R_DESC_SIZE; b++) {
            assert_string_not_equal(boot_reason_str(a), boot_reason_str(b));
        }
    }
    assert_string_equal(boot_reason_str(999), "unknown");
    assert_string_equal(boot_reason_str(BOOT_R_DESC_SIZE + 1), "unknown");
    assert_string_equal(boot_reason_str(-1), "unknown");
    /* Every name, in code order (boot_core.c keeps them in one string: a missing or extra
     * separator shifts every name after it). */
    static const char *const names[] = {
        "ok", "flash read failed", "bad image magic", "bad header size", "empty payload",
        "image exceeds its slot", "unsupported image flags", "bad TLV info magic",
        "bad TLV length", "bad protected TLV size", "no SHA-256 TLV", "SHA-256 mismatch",
        "no signature", "no key hash", "key hash is not ours", "signature invalid",
        "duplicate TLV", "version not newer", "bad vector table", "not the requested image",
        "staged image incomplete", "invalid image", "no application", "application invalid",
        "flash write failed", "copy does not verify", "descriptor too large"};
    assert_int_equal(sizeof names / sizeof names[0], BOOT_R_DESC_SIZE + 1);
    for (int r = BOOT_OK; r <= BOOT_R_DESC_SIZE; r++) {
        assert_string_equal(boot_reason_str(r), names[r]);
    }
}

/* The line the bootloader's main logs when it stays (same format as the core's reason lines). */
static void test_reason_line(void **state)
{
    (void)state;
    assert_string_equal(boot_reason_line("staying in the bootloader: ", BOOT_R_NO_APP),
                        "boot: staying in the bootloader: no application (22)");
    assert_string_equal(boot_reason_line("x: ", 999), "boot: x: unknown (999)");
    /* A prefix longer than the line buffer is cut, never overrun (ASan watches). */
    char long_prefix[300];
    memset(long_prefix, 'p', sizeof long_prefix - 1);
    long_prefix[sizeof long_prefix - 1] = '\0';
    const char *line = boot_reason_line(long_prefix, BOOT_R_SIG);
    assert_true(strlen(line) > 6 && strlen(line) < 200);
    assert_memory_equal(line, "boot: ppp", 9);
}

/* ---- good updates ---- */

static void stage_and_request(uint32_t size, uint8_t major, uint8_t minor, uint32_t flags)
{
    struct testimg_opts o = testimg_defaults(size, major, minor, 0);
    size_t n = testimg_build(&o, img, sizeof img);
    assert_true(n > 0);
    img_len = (uint32_t)n;
    testimg_stage(img, img_len);
    int detail = -1;
    assert_int_equal(bootctl_request_update(boot_pubkey, flags, &detail), BOOTCTL_OK);
    assert_int_equal(detail, 0);
}

static void test_small_update_installs_into_sector6_only(void **state)
{
    (void)state;
    stage_and_request(20000, 1, 1, 0);
    flash_sim_counters_clear();
    boot_cap_clear();
    struct boot_outcome out;
    assert_int_equal(boot_run(&boot_test_hooks, &out), BOOT_ERR_NONE);
    assert_boot_version(&out, 1, 1);
    assert_int_equal(out.action, BOOT_ACTION_INSTALLED);
    assert_true(boot_cap_has("boot: update installed"));
    struct flash_sim_counters c;
    counters(&c);
    assert_int_equal(c.sector_erases[6], 1);
    assert_int_equal(c.sector_erases[7], 0);
    assert_int_equal(c.sector_erases[APPHDR_FIRST_SECTOR], 1);
    assert_int_equal(c.sector_erases[3] + c.sector_erases[4] + c.sector_erases[5], 0);
    assert_true(boot_cap.kicks > 0);
    assert_int_equal(boot_cap.progress_last_done, 20000);
    assert_int_equal(boot_cap.progress_last_total, 20000);
    /* The payload is in the application area, byte for byte. */
    assert_memory_equal(&flash_sim_mem()[APP_ADDR - FLASH_BASE_ADDR], &img[32], 20000);

    struct bootctl_installed inst;
    assert_int_equal(bootctl_installed_info(&inst), BOOTCTL_OK);
    assert_int_equal(inst.version.iv_major, 1);
    assert_int_equal(inst.version.iv_minor, 1);
    assert_int_equal(inst.payload_size, 20000);
    uint8_t hash[32];
    assert_true(boot_test_image_hash(img, img_len, hash));
    assert_memory_equal(inst.hash, hash, 32);
    struct bootctl_last last;
    assert_int_equal(bootctl_last_result(&last), BOOTCTL_OK);
    assert_int_equal(last.result, BOOTCTL_RESULT_INSTALLED);

    assert_quiet_boot(1, 1);
    assert_quiet_boot(1, 1);
}

static void test_big_update_uses_both_sectors(void **state)
{
    (void)state;
    stage_and_request(150 * 1024, 2, 0, 0);
    flash_sim_counters_clear();
    struct boot_outcome out;
    assert_int_equal(boot_run(&boot_test_hooks, &out), BOOT_ERR_NONE);
    assert_boot_version(&out, 2, 0);
    struct flash_sim_counters c;
    counters(&c);
    assert_int_equal(c.sector_erases[6], 1);
    assert_int_equal(c.sector_erases[7], 1);
    /* descriptor at the end of sector 7 */
    assert_int_equal(ota_get_le32(&flash_sim_mem()[FLASH_END_ADDR - APP_DESC_SIZE - FLASH_BASE_ADDR]),
                     IMAGE_MAGIC);
    assert_quiet_boot(2, 0);

    /* and back to a small one: sector 6 only, the stale sector-7 descriptor does not matter */
    stage_and_request(3000, 2, 1, 0);
    flash_sim_counters_clear();
    assert_int_equal(boot_run(&boot_test_hooks, &out), BOOT_ERR_NONE);
    assert_boot_version(&out, 2, 1);
    counters(&c);
    assert_int_equal(c.sector_erases[7], 0);
    assert_quiet_boot(2, 1);
}

/* Watchdog: every erase and every 8 KB of programming or hashing has a kick near it. */
static uint32_t wd_erases_since_kick;
static uint32_t wd_words_since_kick;
static uint32_t wd_max_erases;
static uint32_t wd_max_words;
static uint64_t wd_read_mark;
static uint64_t wd_max_read;
static bool wd_erased_since_kick; /* an erase reads its whole sector back to verify: not counted */

static void wd_update_read(void)
{
    struct flash_sim_counters c;
    flash_sim_counters(&c);
    if (!wd_erased_since_kick && c.bytes_read - wd_read_mark > wd_max_read) {
        wd_max_read = c.bytes_read - wd_read_mark;
    }
}

static void wd_trace(void *ctx, uint32_t op, bool erase, uint32_t addr)
{
    (void)ctx;
    (void)op;
    (void)addr;
    if (erase) {
        wd_erased_since_kick = true;
        wd_erases_since_kick++;
        wd_max_erases = wd_erases_since_kick > wd_max_erases ? wd_erases_since_kick : wd_max_erases;
    } else {
        wd_words_since_kick++;
        wd_max_words = wd_words_since_kick > wd_max_words ? wd_words_since_kick : wd_max_words;
    }
    wd_update_read();
}

static void wd_log(void *ctx, const char *line)
{
    (void)ctx;
    (void)line;
}

static void wd_kick(void *ctx)
{
    (void)ctx;
    wd_update_read();
    struct flash_sim_counters c;
    flash_sim_counters(&c);
    wd_read_mark = c.bytes_read;
    wd_erased_since_kick = false;
    wd_erases_since_kick = 0;
    wd_words_since_kick = 0;
}

static void test_watchdog_kicked_through_install(void **state)
{
    (void)state;
    stage_and_request(200 * 1024, 3, 0, 0);
    const struct boot_hooks hooks = {NULL, wd_log, wd_kick, NULL};
    flash_sim_counters_clear();
    wd_read_mark = 0;
    flash_sim_set_trace(wd_trace, NULL);
    struct boot_outcome out;
    assert_int_equal(boot_run(&hooks, &out), BOOT_ERR_NONE);
    flash_sim_set_trace(NULL, NULL);
    wd_update_read();
    assert_boot_version(&out, 3, 0);
    /* never two sector erases without a kick between them */
    assert_int_equal(wd_max_erases, 1);
    /* at most 8 KB (+ one 256-byte chunk) programmed between kicks */
    assert_true(wd_max_words <= (0x2000 + 256) / 4);
    /* the longest stretch of reads between kicks without an erase in it: the 16 KB sector-2 scan
     * or an 8 KB hash/copy step with the read-back of what was programmed */
    print_message("  max between kicks: %u erases, %u words, %llu bytes read\n", wd_max_erases,
                  wd_max_words, (unsigned long long)wd_max_read);
    assert_true(wd_max_read <= (uint64_t)40 * 1024);
}

static void test_equal_version_with_flag_installs(void **state)
{
    (void)state;
    struct testimg_opts o = testimg_defaults(7001, 1, 0, 0); /* odd size: last word padded */
    o.seed = 99; /* different payload, same version */
    size_t n = testimg_build(&o, img, sizeof img);
    assert_true(n > 0);
    testimg_stage(img, n);
    assert_int_equal(bootctl_request_update(boot_pubkey, 0, NULL), BOOTCTL_ERR_VERSION);
    assert_int_equal(bootctl_request_update(boot_pubkey, BOOTCTL_PENDING_ALLOW_EQUAL, NULL),
                     BOOTCTL_OK);
    struct boot_outcome out;
    assert_int_equal(boot_run(&boot_test_hooks, &out), BOOT_ERR_NONE);
    assert_int_equal(out.action, BOOT_ACTION_INSTALLED);
    assert_memory_equal(&flash_sim_mem()[APP_ADDR - FLASH_BASE_ADDR], &img[32], 7001);
    assert_int_equal(flash_sim_mem()[APP_ADDR - FLASH_BASE_ADDR + 7001], 0xFF);
}

static void test_copy_failure_is_retried(void **state)
{
    (void)state;
    stage_and_request(9000, 1, 2, 0);
    /* The first flash operation of the install (the sector-6 erase) reports a controller error. */
    flash_sim_fail_next();
    boot_cap_clear();
    struct boot_outcome out;
    assert_int_equal(boot_run(&boot_test_hooks, &out), BOOT_ERR_NONE);
    assert_boot_version(&out, 1, 2);
    assert_true(boot_cap_has("boot: install failed, retrying: flash write failed (24)"));
}

static void test_install_skips_copy_when_app_already_holds_it(void **state)
{
    (void)state;
    stage_and_request(9000, 1, 2, 0);
    struct boot_outcome out;
    assert_int_equal(boot_run(&boot_test_hooks, &out), BOOT_ERR_NONE); /* installs */
    /* New PENDING for the same image with ALLOW_EQUAL: app area holds it, no app-sector writes. */
    assert_int_equal(bootctl_request_update(boot_pubkey, BOOTCTL_PENDING_ALLOW_EQUAL, NULL),
                     BOOTCTL_OK);
    flash_sim_counters_clear();
    boot_cap_clear();
    assert_int_equal(boot_run(&boot_test_hooks, &out), BOOT_ERR_NONE);
    assert_int_equal(out.action, BOOT_ACTION_INSTALLED);
    assert_true(boot_cap_has("boot: application area already holds the staged image"));
    assert_app_untouched();
}

/* ---- recovery and no application ---- */

static void test_blank_sector2_recovered(void **state)
{
    (void)state;
    memset(&flash_sim_mem()[APPHDR_ADDR - FLASH_BASE_ADDR], 0xFF, APPHDR_SIZE);
    boot_cap_clear();
    struct boot_outcome out;
    assert_int_equal(boot_run(&boot_test_hooks, &out), BOOT_ERR_NONE);
    assert_boot_version(&out, 1, 0);
    assert_int_equal(out.action, BOOT_ACTION_RECOVERED);
    assert_true(boot_cap_has("boot: header rebuilt from the application area"));
    struct bootctl_last last;
    assert_int_equal(bootctl_last_result(&last), BOOTCTL_OK);
    assert_int_equal(last.result, BOOTCTL_RESULT_RECOVERED);
    assert_quiet_boot(1, 0);
}

static void test_garbage_sector2_recovered(void **state)
{
    (void)state;
    uint32_t st = 7;
    uint8_t *s2 = &flash_sim_mem()[APPHDR_ADDR - FLASH_BASE_ADDR];
    for (uint32_t i = 0; i < APPHDR_SIZE; i++) {
        s2[i] = (uint8_t)flash_sim_rand(&st);
    }
    struct boot_outcome out;
    assert_int_equal(boot_run(&boot_test_hooks, &out), BOOT_ERR_NONE);
    assert_boot_version(&out, 1, 0);
    assert_int_equal(out.action, BOOT_ACTION_RECOVERED);
    assert_quiet_boot(1, 0);
}

static void test_torn_commit_word_recovered(void **state)
{
    (void)state;
    flash_sim_mem()[APPHDR_ADDR - FLASH_BASE_ADDR + BOOTCTL_OFF_COMMIT] ^= 0x01;
    struct boot_outcome out;
    assert_int_equal(boot_run(&boot_test_hooks, &out), BOOT_ERR_NONE);
    assert_int_equal(out.action, BOOT_ACTION_RECOVERED);
}

/* A cut in the middle of the sector-2 erase at the end of an install kept the old header bytes
 * and wiped the log (PENDING gone) while the application area holds the new image. */
static void test_torn_erase_keeping_old_header_recovered(void **state)
{
    (void)state;
    static uint8_t old_area[BOOTCTL_HDR_AREA_SIZE];
    memcpy(old_area, &flash_sim_mem()[APPHDR_ADDR - FLASH_BASE_ADDR], sizeof old_area);
    stage_and_request(12000, 1, 4, 0);
    struct boot_outcome out;
    assert_int_equal(boot_run(&boot_test_hooks, &out), BOOT_ERR_NONE);
    assert_boot_version(&out, 1, 4);
    uint8_t *s2 = &flash_sim_mem()[APPHDR_ADDR - FLASH_BASE_ADDR];
    memset(s2, 0xFF, APPHDR_SIZE);
    memcpy(s2, old_area, sizeof old_area);
    boot_cap_clear();
    assert_int_equal(boot_run(&boot_test_hooks, &out), BOOT_ERR_NONE);
    assert_boot_version(&out, 1, 4);
    assert_int_equal(out.action, BOOT_ACTION_RECOVERED);
    assert_true(boot_cap_has("boot: header does not match the application area"));
    assert_quiet_boot(1, 4);
}

static void test_blank_chip_has_no_app_and_writes_nothing(void **state)
{
    (void)state;
    flash_sim_reset();
    boot_cap_clear();
    struct boot_outcome out;
    assert_int_equal(boot_run(&boot_test_hooks, &out), BOOT_ERR_NO_APP);
    assert_int_equal(out.jump_addr, 0);
    assert_int_equal(out.reason, BOOT_R_NO_APP);
    assert_true(boot_cap_has("boot: no bootable application: no application (22)"));
    struct flash_sim_counters c;
    counters(&c);
    assert_int_equal(c.ops, 0);
}

static void test_corrupt_app_not_started(void **state)
{
    (void)state;
    flash_sim_mem()[APP_ADDR - FLASH_BASE_ADDR + 1000] ^= 0x20;
    flash_sim_counters_clear();
    boot_cap_clear();
    struct boot_outcome out;
    assert_int_equal(boot_run(&boot_test_hooks, &out), BOOT_ERR_NO_APP);
    assert_int_equal(out.jump_addr, 0);
    assert_int_equal(out.reason, BOOT_R_APP_INVALID);
    assert_true(boot_cap_has("boot: installed application rejected: SHA-256 mismatch (11)"));
    struct flash_sim_counters c;
    counters(&c);
    assert_int_equal(c.ops, 0);
}

static void test_corrupt_app_rescued_by_staged_update(void **state)
{
    (void)state;
    stage_and_request(8000, 1, 3, 0);
    flash_sim_mem()[APP_ADDR - FLASH_BASE_ADDR + 1000] ^= 0x20;
    struct boot_outcome out;
    assert_int_equal(boot_run(&boot_test_hooks, &out), BOOT_ERR_NONE);
    assert_boot_version(&out, 1, 3);
}

/* Neither header nor application left, but a verified image is staged and requested: install it
 * (no installed version to compare with). */
static void test_no_header_no_app_staged_update_installs(void **state)
{
    (void)state;
    stage_and_request(8000, 1, 5, 0);
    memset(&flash_sim_mem()[APPHDR_ADDR - FLASH_BASE_ADDR], 0xFF, BOOTCTL_HDR_AREA_SIZE);
    memset(&flash_sim_mem()[APP_ADDR - FLASH_BASE_ADDR], 0xFF, APP_SIZE);
    boot_cap_clear();
    struct boot_outcome out;
    assert_int_equal(boot_run(&boot_test_hooks, &out), BOOT_ERR_NONE);
    assert_boot_version(&out, 1, 5);
    assert_int_equal(out.action, BOOT_ACTION_INSTALLED);
    assert_true(boot_cap_has("boot: header not recovered: no application (22)"));
    assert_quiet_boot(1, 5);
}

/* Random damage to sector 2, the application area and staging (bit flips where the formats live):
 * boot_run never crashes and jumps only to a payload that is byte for byte the old or the new
 * image with the version it reports. */
static void test_random_damage_never_jumps_to_unverified_code(void **state)
{
    (void)state;
    uint32_t rng = 2024;
    unsigned jumps = 0;
    unsigned refusals = 0;
    for (int iter = 0; iter < 150; iter++) {
        setup(NULL);
        stage_and_request(3000 + (uint32_t)iter * 4u, 1, 1, 0);
        uint8_t *m = flash_sim_mem();
        const uint32_t regions[][2] = {
            {APPHDR_ADDR, BOOTCTL_HDR_AREA_SIZE + 8 * BOOTCTL_REC_SIZE}, /* header, log start */
            {APP_ADDR, 64},                                             /* vector table */
            {APP_ADDR + 0x20000 - APP_DESC_SIZE, 256},                  /* descriptor */
            {STAGING_ADDR, 64},                                         /* staged header */
            {STAGING_ADDR + img_len - 160, 160},                        /* staged TLVs */
        };
        unsigned flips = 1 + flash_sim_rand(&rng) % 4u;
        for (unsigned f = 0; f < flips; f++) {
            const uint32_t *r = regions[flash_sim_rand(&rng) % OTA_ARRAY_SIZE(regions)];
            uint32_t a = r[0] + flash_sim_rand(&rng) % r[1];
            m[a - FLASH_BASE_ADDR] ^= (uint8_t)(1u << (flash_sim_rand(&rng) % 8u));
        }
        for (int boot = 0; boot < 2; boot++) {
            struct boot_outcome out;
            int rc = boot_run(&boot_test_hooks, &out);
            if (rc != BOOT_ERR_NONE) {
                assert_int_equal(rc, BOOT_ERR_NO_APP);
                assert_int_equal(out.jump_addr, 0);
                assert_int_not_equal(out.reason, BOOT_OK);
                refusals++;
                continue;
            }
            jumps++;
            assert_int_equal(out.jump_addr, APP_ADDR);
            const uint8_t *want = out.version.iv_minor == 1 ? img : factory;
            assert_true(out.version.iv_major == 1 && out.version.iv_minor <= 1);
            struct image_header h;
            image_header_parse(want, &h);
            assert_memory_equal(&m[APP_ADDR - FLASH_BASE_ADDR], want + h.ih_hdr_size,
                                h.ih_img_size);
        }
        boot_cap_clear();
    }
    print_message("  random damage: %u jumps, %u refusals\n", jumps, refusals);
    assert_true(jumps > 0);
    assert_true(refusals > 0);
}

/* The bootloader's REJECTED append finds the log full: it compacts (sector 2 only) and records. */
static void test_reject_into_full_log_compacts(void **state)
{
    (void)state;
    struct bootctl_dl_id id;
    memset(&id, 0x5A, sizeof id);
    assert_int_equal(bootctl_dl_start(&id), BOOTCTL_OK);
    for (uint32_t i = 1; i < BOOTCTL_REC_COUNT - 1; i++) {
        assert_int_equal(bootctl_dl_checkpoint(i * 4u, i), BOOTCTL_OK);
    }
    struct testimg_opts o = testimg_defaults(5000, 1, 1, 0);
    o.reset = APP_ADDR + 0x100; /* even: bad vector table, but signed */
    size_t n = testimg_build(&o, img, sizeof img);
    assert_true(n > 0);
    testimg_stage(img, n);
    assert_int_equal(bootctl_request_update(boot_pubkey, 0, NULL), BOOTCTL_OK);
    struct bootctl_scan sc;
    assert_int_equal(bootctl_scan(&sc), BOOTCTL_OK);
    assert_int_equal(sc.next_slot, BOOTCTL_REC_COUNT);

    flash_sim_counters_clear();
    struct boot_outcome out;
    assert_int_equal(boot_run(&boot_test_hooks, &out), BOOT_ERR_NONE);
    assert_boot_version(&out, 1, 0);
    assert_int_equal(out.reject_reason, BOOT_R_VECTOR);
    assert_app_untouched();
    struct flash_sim_counters c;
    flash_sim_counters(&c);
    assert_int_equal(c.erases, 1);
    assert_int_equal(c.sector_erases[APPHDR_FIRST_SECTOR], 1);
    assert_int_equal(bootctl_scan(&sc), BOOTCTL_OK);
    assert_false(sc.pending_valid);
    assert_true(sc.dl_valid);
    assert_true(sc.dl_ckpt_valid);
    assert_int_equal(sc.dl_written, (BOOTCTL_REC_COUNT - 2) * 4u);
    struct bootctl_last last;
    assert_int_equal(bootctl_last_result(&last), BOOTCTL_OK);
    assert_int_equal(last.result, BOOTCTL_RESULT_REJECTED);
    assert_int_equal(last.reason, BOOT_R_VECTOR);
    assert_quiet_boot(1, 0);
}

static void test_vector_checks(void **state)
{
    (void)state;
    const uint32_t top = SRAM_BASE_ADDR + SRAM_TOTAL_SIZE;
    assert_true(boot_vector_ok(top, APP_ADDR + 0x201, 0x400));
    assert_true(boot_vector_ok(SRAM_BASE_ADDR + 8, APP_ADDR + 1, 0x400));
    assert_false(boot_vector_ok(SRAM_BASE_ADDR, APP_ADDR + 0x201, 0x400));
    assert_false(boot_vector_ok(top + 8, APP_ADDR + 0x201, 0x400));
    assert_false(boot_vector_ok(top - 4, APP_ADDR + 0x201, 0x400));
    assert_false(boot_vector_ok(top, APP_ADDR + 0x200, 0x400));
    assert_false(boot_vector_ok(top, APP_ADDR + 0x401, 0x400));
    assert_true(boot_vector_ok(top, APP_ADDR + 0x3FF, 0x400));
    assert_false(boot_vector_ok(top, APP_ADDR - 1, 0x400));
}

int main(void)
{
    uint8_t pub[32];
    testimg_pubkey(TESTIMG_KEY_A, pub);
    if (memcmp(pub, boot_pubkey, 32) != 0) {
        fprintf(stderr, "test key A does not match boot_pubkey\n");
        return 1;
    }
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_vector_checks),
        cmocka_unit_test(test_reason_names_distinct),
        cmocka_unit_test(test_reason_line),
        cmocka_unit_test_setup(test_bad_images_rejected_before_app_area, setup),
        cmocka_unit_test_setup(test_small_update_installs_into_sector6_only, setup),
        cmocka_unit_test_setup(test_big_update_uses_both_sectors, setup),
        cmocka_unit_test_setup(test_watchdog_kicked_through_install, setup),
        cmocka_unit_test_setup(test_equal_version_with_flag_installs, setup),
        cmocka_unit_test_setup(test_copy_failure_is_retried, setup),
        cmocka_unit_test_setup(test_install_skips_copy_when_app_already_holds_it, setup),
        cmocka_unit_test_setup(test_blank_sector2_recovered, setup),
        cmocka_unit_test_setup(test_garbage_sector2_recovered, setup),
        cmocka_unit_test_setup(test_torn_commit_word_recovered, setup),
        cmocka_unit_test_setup(test_torn_erase_keeping_old_header_recovered, setup),
        cmocka_unit_test_setup(test_blank_chip_has_no_app_and_writes_nothing, setup),
        cmocka_unit_test_setup(test_corrupt_app_not_started, setup),
        cmocka_unit_test_setup(test_corrupt_app_rescued_by_staged_update, setup),
        cmocka_unit_test_setup(test_no_header_no_app_staged_update_installs, setup),
        cmocka_unit_test_setup(test_reject_into_full_log_compacts, setup),
        cmocka_unit_test_setup(test_random_damage_never_jumps_to_unverified_code, setup),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
