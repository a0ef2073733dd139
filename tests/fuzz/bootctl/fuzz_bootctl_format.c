/*
 * libFuzzer harness: the sector-2 format decoders over arbitrary bytes (no flash).
 *
 *  - bootctl_header_decode() on a 2 KB header area made from the input: it accepts exactly when the
 *    magic, the descriptor length bounds and the commit CRC (recomputed here from the format in
 *    docs/boot-state.md with crc32_update) hold, and then reports the words that are in the bytes.
 *  - bootctl_record_decode() on every 32-byte window of the input: a record that decodes re-encodes
 *    to the same 32 bytes; one that does not decode is free, torn, or of an unknown type.
 *  - bootctl_record_encode() of a record built from the input always decodes back to itself.
 *
 * The first input byte selects repairs (header magic, commit CRC, record magic and CRC) so that the
 * accepting paths are reached, not only the magic checks. Any failed check aborts (a finding).
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "bootctl.h"
#include "crc32.h"
#include "ota_util.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check(int cond)
{
    if (!cond) {
        abort();
    }
}

/* The commit CRC as docs/boot-state.md defines it: words 0x004..0x03B, then the descriptor copy. */
static uint32_t ref_commit_crc(const uint8_t *area, uint32_t desc_len)
{
    uint32_t crc = crc32_update(0, &area[BOOTCTL_OFF_MAGIC], BOOTCTL_OFF_COMMIT - BOOTCTL_OFF_MAGIC);
    return crc32_update(crc, &area[BOOTCTL_DESC_OFF], desc_len);
}

static void fuzz_header(const uint8_t *in, size_t n, uint8_t mode)
{
    static uint8_t area[BOOTCTL_HDR_AREA_SIZE];
    memset(area, FLASH_ERASED_BYTE, sizeof area);
    memcpy(area, in, n < sizeof area ? n : sizeof area);
    if (mode & 1u) {
        ota_put_le32(&area[BOOTCTL_OFF_MAGIC], BOOTCTL_HDR_MAGIC);
    }
    if (mode & 2u) {
        /* A descriptor length inside the bounds (often), chosen by the input. */
        uint32_t dl = ota_get_le32(&area[BOOTCTL_OFF_DESC_LEN]);
        ota_put_le32(&area[BOOTCTL_OFF_DESC_LEN], dl % (BOOTCTL_DESC_MAX + 64u));
    }
    uint32_t desc_len = ota_get_le32(&area[BOOTCTL_OFF_DESC_LEN]);
    bool len_ok = desc_len >= IMAGE_HEADER_SIZE && desc_len <= BOOTCTL_DESC_MAX;
    if ((mode & 4u) && len_ok) {
        ota_put_le32(&area[BOOTCTL_OFF_COMMIT], ref_commit_crc(area, desc_len));
    }

    struct bootctl_header hdr;
    bool ok = bootctl_header_decode(area, &hdr);
    bool expect = ota_get_le32(&area[BOOTCTL_OFF_MAGIC]) == BOOTCTL_HDR_MAGIC && len_ok &&
                  ota_get_le32(&area[BOOTCTL_OFF_COMMIT]) == ref_commit_crc(area, desc_len);
    check(ok == expect);
    if (!ok) {
        return;
    }
    check(hdr.ota_flag == ota_get_le32(&area[BOOTCTL_OFF_OTA_FLAG]));
    check(hdr.magic == BOOTCTL_HDR_MAGIC);
    check(hdr.payload_size == ota_get_le32(&area[BOOTCTL_OFF_SIZE]));
    check(hdr.payload_crc == ota_get_le32(&area[BOOTCTL_OFF_CRC]));
    check(hdr.version_word == ota_get_le32(&area[BOOTCTL_OFF_VERSION]));
    check(hdr.build == ota_get_le32(&area[BOOTCTL_OFF_BUILD]));
    check(hdr.desc_len == desc_len);
    check(hdr.result_word == ota_get_le32(&area[BOOTCTL_OFF_RESULT]));
    check(hdr.commit_crc == ota_get_le32(&area[BOOTCTL_OFF_COMMIT]));

    /* One flipped bit in the committed range (bytes 4..0x3B or the descriptor) must be caught. */
    uint32_t span = (BOOTCTL_OFF_COMMIT - BOOTCTL_OFF_MAGIC) + desc_len;
    uint32_t pick = ota_get_le32(&area[BOOTCTL_OFF_SIZE]) % span;
    uint32_t at = pick < BOOTCTL_OFF_COMMIT - BOOTCTL_OFF_MAGIC
                      ? BOOTCTL_OFF_MAGIC + pick
                      : BOOTCTL_DESC_OFF + (pick - (BOOTCTL_OFF_COMMIT - BOOTCTL_OFF_MAGIC));
    if (at >= BOOTCTL_OFF_DESC_LEN && at < BOOTCTL_OFF_DESC_LEN + 4u) {
        at = BOOTCTL_OFF_SIZE; /* a changed length moves the CRC's range: not a one-bit error */
    }
    area[at] ^= (uint8_t)(1u << (mode >> 5));
    check(!bootctl_header_decode(area, &hdr));
}

static void fuzz_records(const uint8_t *in, size_t n, uint8_t mode)
{
    for (size_t off = 0; off + BOOTCTL_REC_SIZE <= n; off += (mode & 8u) ? 1u : BOOTCTL_REC_SIZE) {
        uint8_t raw[BOOTCTL_REC_SIZE];
        memcpy(raw, &in[off], sizeof raw);
        if (mode & 16u) {
            /* A valid magic and CRC, so the type and field checks are what decides. */
            uint32_t w0 = ota_get_le32(raw);
            ota_put_le32(raw, (BOOTCTL_REC_MAGIC << 16) | (w0 & 0xFFFFu));
            ota_put_le32(&raw[28], crc32_update(0, raw, 28));
        }
        struct bootctl_record rec;
        memset(&rec, 0xA5, sizeof rec);
        bool ok = bootctl_record_decode(raw, &rec);
        uint32_t w0 = ota_get_le32(raw);
        uint8_t type = (uint8_t)w0;
        bool expect = (w0 >> 16) == BOOTCTL_REC_MAGIC &&
                      ota_get_le32(&raw[28]) == crc32_update(0, raw, 28) &&
                      type >= BOOTCTL_REC_PENDING && type <= BOOTCTL_REC_DL_CHECKPOINT;
        check(ok == expect);
        if (!ok) {
            continue;
        }
        uint8_t again[BOOTCTL_REC_SIZE];
        bootctl_record_encode(&rec, again);
        check(memcmp(raw, again, sizeof raw) == 0);
        check(rec.type == type && rec.flags == (uint8_t)(w0 >> 8));
        check(rec.seq == ota_get_le32(&raw[4]));
    }
}

static void fuzz_encode(const uint8_t *in, size_t n)
{
    if (n < 26) {
        return;
    }
    struct bootctl_record rec;
    memset(&rec, 0, sizeof rec);
    rec.type = (uint8_t)(BOOTCTL_REC_PENDING + in[0] % 4u);
    rec.flags = in[1];
    rec.seq = ota_get_le32(&in[2]);
    memcpy(rec.body, &in[6], sizeof rec.body);
    uint8_t raw[BOOTCTL_REC_SIZE];
    bootctl_record_encode(&rec, raw);
    struct bootctl_record back;
    check(bootctl_record_decode(raw, &back));
    check(back.type == rec.type && back.flags == rec.flags && back.seq == rec.seq);
    check(memcmp(back.body, rec.body, sizeof rec.body) == 0);
    /* A torn record (any one bit cleared or set, as a cut programming it leaves it) is refused. */
    raw[in[0] % BOOTCTL_REC_SIZE] ^= (uint8_t)(1u << (in[1] % 8u));
    check(!bootctl_record_decode(raw, &back));
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1) {
        return 0;
    }
    uint8_t mode = data[0];
    fuzz_header(data + 1, size - 1, mode);
    fuzz_records(data + 1, size - 1, mode);
    fuzz_encode(data + 1, size - 1);
    return 0;
}
