/*
 * libFuzzer harness: bootctl_scan() and the whole bootloader decision (boot_run) over an arbitrary
 * sector 2 in the simulated flash.
 *
 * Each input describes one board:
 *   byte 0, bits 1-2: application area: factory v1.0.0 installed (0, 1), erased (2), or v1 with one
 *                     payload byte flipped (3);
 *           bits 3-4: staging: erased (0), signed v2.0.0 (1), its first half only (2), v2 with one
 *                     byte flipped (3);
 *           bit 0:    sector 2 starts as the factory's (valid header, empty log), else erased;
 *           bit 5:    the rest of the input is copied over sector 2 as it is (raw mode);
 *   otherwise the rest is a list of edits to sector 2 (see apply_ops): raw bytes at an offset,
 *   well-formed records of any type (or any type byte) in the next slot, a PENDING that names the
 *   staged v2, torn slots, gaps, and a commit-CRC repair of the header.
 *
 * Whatever sector 2 holds:
 *   - bootctl_scan() succeeds and its counts are consistent;
 *   - boot_run() never crashes and either jumps to APP_ADDR with an application area holding
 *     exactly the v1 or the v2 payload of the reported version, or returns BOOT_ERR_NO_APP with a
 *     named reason; with the factory application intact it always jumps;
 *   - it never writes sectors 0-1 or staging, and touches sectors 6-7 only when it installs v2;
 *   - a second boot right after the first reaches the same outcome without writing flash.
 * Any failed check aborts (a finding).
 */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "boot_core.h"
#include "boot_hooks_quiet.h"
#include "bootctl.h"
#include "crc32.h"
#include "flash_layout.h"
#include "flash_sim.h"
#include "ota_util.h"
#include "testimg.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

const uint8_t boot_pubkey[32] = TESTIMG_KEY_A_PUB;

#define V1_PAYLOAD 3000u
#define V2_PAYLOAD 5000u

static uint8_t img_v1[8192];
static uint8_t img_v2[8192];
static size_t img_v1_len;
static size_t img_v2_len;
static uint8_t v2_digest[32];
static uint8_t factory_apphdr[APPHDR_SIZE];
static uint8_t factory_app[APP_SIZE];
static uint8_t sector2[APPHDR_SIZE];
static bool ready;

static void check(int cond)
{
    if (!cond) {
        abort();
    }
}

static uint32_t hdr_size_of(const uint8_t *img)
{
    return ota_get_le16(&img[8]);
}

static void setup(void)
{
    struct testimg_opts o1 = testimg_defaults(V1_PAYLOAD, 1, 0, 0);
    struct testimg_opts o2 = testimg_defaults(V2_PAYLOAD, 2, 0, 0);
    img_v1_len = testimg_build(&o1, img_v1, sizeof img_v1);
    img_v2_len = testimg_build(&o2, img_v2, sizeof img_v2);
    check(img_v1_len != 0 && img_v2_len != 0);

    struct image_reader rd;
    struct image_buf buf;
    struct image_info info;
    image_reader_init_buf(&rd, &buf, img_v2, (uint32_t)img_v2_len);
    check(image_parse(&rd, &info) == IMAGE_OK);
    check(image_hash(&rd, &info, v2_digest) == IMAGE_OK);

    flash_sim_reset();
    check(testimg_factory_install(img_v1, img_v1_len) == 0);
    memcpy(factory_apphdr, &flash_sim_mem()[APPHDR_ADDR - FLASH_BASE_ADDR], APPHDR_SIZE);
    memcpy(factory_app, &flash_sim_mem()[APP_ADDR - FLASH_BASE_ADDR], APP_SIZE);
    ready = true;
}

/* Input cursor. */
struct in {
    const uint8_t *p;
    size_t n;
};

static bool take(struct in *in, size_t k, const uint8_t **out)
{
    if (in->n < k) {
        return false;
    }
    *out = in->p;
    in->p += k;
    in->n -= k;
    return true;
}

static void put_record(uint32_t slot, const struct bootctl_record *rec, bool any_type)
{
    if (slot >= BOOTCTL_REC_COUNT) {
        return;
    }
    uint8_t *raw = &sector2[BOOTCTL_LOG_OFF + slot * BOOTCTL_REC_SIZE];
    bootctl_record_encode(rec, raw);
    if (any_type) {
        /* encode() writes the type byte as given; the CRC then covers it, so only the type check
         * can refuse it. */
        raw[0] = rec->type;
        ota_put_le32(&raw[28], crc32_update(0, raw, 28));
    }
}

/* Edits to sector 2, one opcode byte each (see the file comment). */
static void apply_ops(struct in *in)
{
    uint32_t slot = 0;
    uint32_t seq = 1;
    const uint8_t *b;
    while (take(in, 1, &b)) {
        switch (b[0] % 6u) {
        case 0: { /* raw bytes at an offset */
            const uint8_t *h;
            if (!take(in, 3, &h)) {
                return;
            }
            uint32_t off = ota_get_le16(h) % APPHDR_SIZE;
            size_t len = h[2];
            len = len < in->n ? len : in->n;
            len = len < APPHDR_SIZE - off ? len : APPHDR_SIZE - off;
            const uint8_t *d;
            if (take(in, len, &d)) {
                memcpy(&sector2[off], d, len);
            }
            break;
        }
        case 1: { /* a well-formed record in the next slot */
            const uint8_t *r;
            if (!take(in, 26, &r)) {
                return;
            }
            struct bootctl_record rec;
            memset(&rec, 0, sizeof rec);
            bool any_type = (r[0] & 0x80u) != 0;
            rec.type = any_type ? r[0] : (uint8_t)(BOOTCTL_REC_PENDING + r[0] % 4u);
            rec.flags = r[1];
            rec.seq = ota_get_le32(&r[2]);
            memcpy(rec.body, &r[6], sizeof rec.body);
            put_record(slot++, &rec, any_type);
            break;
        }
        case 2: { /* a PENDING naming the staged v2 */
            const uint8_t *f;
            if (!take(in, 1, &f)) {
                return;
            }
            struct bootctl_record rec;
            memset(&rec, 0, sizeof rec);
            rec.type = BOOTCTL_REC_PENDING;
            rec.flags = f[0] & 0x81u;
            rec.seq = seq++;
            memcpy(rec.body, v2_digest, BOOTCTL_HASH_ID_SIZE);
            ota_put_le32(&rec.body[16], (uint32_t)img_v2_len);
            put_record(slot++, &rec, false);
            break;
        }
        case 3: { /* the last record torn: some bits still erased */
            const uint8_t *t;
            if (!take(in, 2, &t) || slot == 0 || slot > BOOTCTL_REC_COUNT) {
                break;
            }
            sector2[BOOTCTL_LOG_OFF + (slot - 1u) * BOOTCTL_REC_SIZE + t[0] % BOOTCTL_REC_SIZE] |=
                (uint8_t)(t[1] | 1u);
            break;
        }
        case 4: { /* a gap of free slots */
            const uint8_t *g;
            if (!take(in, 1, &g)) {
                return;
            }
            slot += g[0];
            break;
        }
        default: { /* repair the header's commit CRC after edits */
            uint32_t dl = ota_get_le32(&sector2[BOOTCTL_OFF_DESC_LEN]);
            if (dl >= IMAGE_HEADER_SIZE && dl <= BOOTCTL_DESC_MAX) {
                uint32_t crc = crc32_update(0, &sector2[BOOTCTL_OFF_MAGIC],
                                            BOOTCTL_OFF_COMMIT - BOOTCTL_OFF_MAGIC);
                crc = crc32_update(crc, &sector2[BOOTCTL_DESC_OFF], dl);
                ota_put_le32(&sector2[BOOTCTL_OFF_COMMIT], crc);
            }
            break;
        }
        }
    }
}

/* Which image's payload the application area holds: 1, 2 or 0 (neither). */
static int app_holds(void)
{
    const uint8_t *app = &flash_sim_mem()[APP_ADDR - FLASH_BASE_ADDR];
    if (memcmp(app, img_v2 + hdr_size_of(img_v2), V2_PAYLOAD) == 0) {
        return 2;
    }
    if (memcmp(app, img_v1 + hdr_size_of(img_v1), V1_PAYLOAD) == 0) {
        return 1;
    }
    return 0;
}

static bool reason_named(int reason)
{
    return reason > BOOT_OK && reason <= BOOT_R_DESC_SIZE &&
           strcmp(boot_reason_str(reason), "unknown") != 0;
}

/* One boot; checks what every outcome must satisfy and returns the major version run (0: none). */
static int boot_once(struct boot_outcome *out)
{
    int rc = boot_run(&boot_hooks_quiet, out);
    if (rc == BOOT_ERR_NONE) {
        check(out->jump_addr == APP_ADDR && out->reason == BOOT_OK);
        int holds = app_holds();
        check(holds != 0 && out->version.iv_major == holds);
        check(out->version.iv_minor == 0 && out->version.iv_revision == 0);
        return holds;
    }
    check(rc == BOOT_ERR_NO_APP);
    check(out->jump_addr == 0 && reason_named(out->reason));
    return 0;
}

static void check_scan(void)
{
    struct bootctl_scan s;
    check(bootctl_scan(&s) == BOOTCTL_OK);
    check(s.used_slots <= BOOTCTL_REC_COUNT && s.torn_slots <= s.used_slots);
    check(s.next_slot <= BOOTCTL_REC_COUNT && s.used_slots <= s.next_slot);
    if (s.hdr_valid) {
        check(s.hdr.magic == BOOTCTL_HDR_MAGIC && s.hdr.desc_len >= IMAGE_HEADER_SIZE &&
              s.hdr.desc_len <= BOOTCTL_DESC_MAX);
    }
    /* The scan is a pure read: it never programs or erases. */
    struct flash_sim_counters c;
    flash_sim_counters(&c);
    check(c.ops == 0);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (!ready) {
        setup();
    }
    if (size < 1) {
        return 0;
    }
    const uint8_t mode = data[0];
    const unsigned app_mode = (mode >> 1) & 3u;
    const unsigned stage_mode = (mode >> 3) & 3u;
    struct in in = {data + 1, size - 1};

    if (mode & 1u) {
        memcpy(sector2, factory_apphdr, sizeof sector2);
    } else {
        memset(sector2, FLASH_ERASED_BYTE, sizeof sector2);
    }
    if (mode & 0x20u) {
        memcpy(sector2, in.p, in.n < sizeof sector2 ? in.n : sizeof sector2);
    } else {
        apply_ops(&in);
    }

    flash_sim_reset();
    flash_sim_load(APPHDR_ADDR, sector2, APPHDR_SIZE);
    if (app_mode < 2u) {
        flash_sim_load(APP_ADDR, factory_app, APP_SIZE);
    } else if (app_mode == 3u) {
        flash_sim_load(APP_ADDR, factory_app, APP_SIZE);
        flash_sim_mem()[APP_ADDR - FLASH_BASE_ADDR + V1_PAYLOAD / 2u] ^= 0x10u;
    }
    if (stage_mode == 1u) {
        testimg_stage(img_v2, img_v2_len);
    } else if (stage_mode == 2u) {
        testimg_stage(img_v2, img_v2_len / 2u);
    } else if (stage_mode == 3u) {
        testimg_stage(img_v2, img_v2_len);
        flash_sim_mem()[STAGING_ADDR - FLASH_BASE_ADDR + img_v2_len / 3u] ^= 0x04u;
    }
    flash_sim_counters_clear();

    check_scan();

    struct boot_outcome out;
    int first = boot_once(&out);
    if (app_mode < 2u) {
        check(first != 0); /* an intact factory application always boots */
    }
    if (stage_mode != 1u) {
        check(first != 2); /* only an intact staged v2 can be installed */
    }
    struct flash_sim_counters c;
    flash_sim_counters(&c);
    check(c.sector_erases[0] == 0 && c.sector_words[0] == 0);
    check(c.sector_erases[1] == 0 && c.sector_words[1] == 0);
    for (int s = STAGING_FIRST_SECTOR; s < STAGING_FIRST_SECTOR + STAGING_SECTOR_COUNT; s++) {
        check(c.sector_erases[s] == 0 && c.sector_words[s] == 0);
    }
    uint32_t app_ops = 0;
    for (int s = APP_FIRST_SECTOR; s < APP_FIRST_SECTOR + APP_SECTOR_COUNT; s++) {
        app_ops += c.sector_erases[s] + c.sector_words[s];
    }
    if (app_ops != 0) {
        /* Writing the application area is installing, and an install ends with v2 there. */
        check(out.action == BOOT_ACTION_INSTALLED && app_holds() == 2);
    }

    /* Nothing is left to do: the next boot reaches the same outcome and writes nothing. */
    flash_sim_counters_clear();
    struct boot_outcome again;
    int second = boot_once(&again);
    check(second == first);
    check(again.reason == out.reason);
    flash_sim_counters(&c);
    check(c.ops == 0);
    return 0;
}
