/*
 * libFuzzer harness: the staging writer (lib/ota/ota_stage.h) over arbitrary streams, arbitrary
 * network chunking, and a cut followed by a resume, in the simulated flash.
 *
 * Input (missing bytes read as 0):
 *   [0]      mode: bit 0 header magic repaired, bit 1 header fields made plausible, bit 2 TLV info
 *            placed where the header says, bit 3 cut and resume, bit 4 staging starts with an old
 *            image's bytes (else erased), bit 5 the version policy refuses even majors, bit 6 large
 *            images (up to the whole staging area), bit 7 resume at a point the input chooses
 *            (else at the last checkpoint the writer reported);
 *   [1..32]  image header; [33..36] seed of the payload bytes; [37..38] TLV info length;
 *   [39]     bytes after the image; [40..43] cut point; [44] what the cut leaves after the last
 *            word written (nothing, a torn word, other data); [45..52] chosen resume point and CRC;
 *   [53]     chunking seed.
 *
 * Checked on every input:
 *   - flash is only touched in staging (sectors 3-5), and never before the header callback
 *     accepted a header in that session (flash_sim trace);
 *   - a sector other than the first is erased only right after a checkpoint at its start, or when
 *     a resume rewinds the sector it resumed in;
 *   - every checkpoint (n, crc) is word aligned and crc is the CRC-32 of staging [0, n) at that
 *     moment, so that a resume can prove it;
 *   - ota_stage_pos() follows the bytes accepted; no flash error or checkpoint error occurs (none
 *     is injected); a header image_header_check() refuses ends in OTA_STAGE_ERR_HEADER with no
 *     flash operation;
 *   - resume at a reported checkpoint is accepted; resume at a point whose CRC does not match is
 *     refused;
 *   - whenever the writer returns OTA_STAGE_DONE, staging holds exactly the stream's first total
 *     bytes (and erased padding up to the word).
 * Any failed check aborts (a finding).
 */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "crc32.h"
#include "flash_area.h"
#include "flash_layout.h"
#include "flash_sim.h"
#include "image.h"
#include "ota_stage.h"
#include "ota_util.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define IN_FIXED 54u
#define STREAM_MAX (STAGING_SIZE + 64u)

static uint8_t stream[STREAM_MAX];
static uint32_t stream_len;

/* Pseudo-random bytes made once; payloads and old staging contents are windows into it. */
#define POOL_SLACK 65536u
static uint8_t pool[STREAM_MAX + POOL_SLACK];
static bool pool_ready;

static void pool_fill(void)
{
    uint32_t s = 0x2545F491u;
    for (size_t i = 0; i < sizeof pool; i++) {
        pool[i] = (uint8_t)flash_sim_rand(&s);
    }
    pool_ready = true;
}

/* What the callbacks and the trace see. */
static struct {
    bool header_accepted; /* in the current session */
    bool refuse_even;
    bool have_ckpt;
    uint32_t ckpt_n;
    uint32_t ckpt_crc;
    bool resumed;
    uint32_t resume_sector; /* staging offset of the sector the resume compares in */
    uint32_t proven_n;      /* staging [0, proven_n) unchanged since its CRC was computed */
    uint32_t proven_crc;
} fz;

static void check(int cond)
{
    if (!cond) {
        abort();
    }
}

static uint8_t *staging_mem(void)
{
    return &flash_sim_mem()[STAGING_ADDR - FLASH_BASE_ADDR];
}

static uint32_t staging_crc(uint32_t n)
{
    return crc32_update(0, staging_mem(), n);
}

static uint32_t sector_start(uint32_t off)
{
    static const uint32_t starts[] = {0, FLASH_SECTOR4_ADDR - STAGING_ADDR,
                                      FLASH_SECTOR5_ADDR - STAGING_ADDR};
    uint32_t s = 0;
    for (size_t i = 0; i < OTA_ARRAY_SIZE(starts); i++) {
        if (off >= starts[i]) {
            s = starts[i];
        }
    }
    return s;
}

static void trace(void *ctx, uint32_t op, bool erase, uint32_t addr)
{
    (void)ctx;
    (void)op;
    check(addr >= STAGING_ADDR && addr < STAGING_ADDR + STAGING_SIZE);
    check(fz.header_accepted);
    uint32_t at = addr - STAGING_ADDR;
    if (at < fz.proven_n) {
        fz.proven_n = 0; /* the CRC computed so far no longer describes flash */
        fz.proven_crc = 0;
    }
    if (erase) {
        uint32_t off = at;
        bool after_ckpt = fz.have_ckpt && fz.ckpt_n == off;
        bool rewind = fz.resumed && off == fz.resume_sector;
        check(off == 0 || after_ckpt || rewind);
    }
}

static int on_header(void *ctx, const struct image_header *hdr)
{
    (void)ctx;
    /* The header handed over is the stream's own, or on resume the one in flash (the stream's
     * again after a rewind). */
    struct image_header want;
    struct image_header in_flash;
    image_header_parse(stream, &want);
    image_header_parse(staging_mem(), &in_flash);
    check(memcmp(hdr, &want, sizeof want) == 0 ||
          (fz.resumed && memcmp(hdr, &in_flash, sizeof in_flash) == 0));
    check(image_header_check(hdr, STAGING_SIZE) == IMAGE_OK);
    if (fz.refuse_even && hdr->ih_ver.iv_major % 2u == 0u) {
        return -1;
    }
    fz.header_accepted = true;
    return 0;
}

static int on_checkpoint(void *ctx, uint32_t n, uint32_t crc)
{
    (void)ctx;
    check(n % 4u == 0u && n <= STAGING_SIZE);
    /* crc32_update chains: extend the CRC of the unchanged prefix instead of starting over. */
    if (n < fz.proven_n) {
        fz.proven_n = 0;
        fz.proven_crc = 0;
    }
    fz.proven_crc = crc32_update(fz.proven_crc, staging_mem() + fz.proven_n, n - fz.proven_n);
    fz.proven_n = n;
    check(crc == fz.proven_crc);
    fz.have_ckpt = true;
    fz.ckpt_n = n;
    fz.ckpt_crc = crc;
    return 0;
}

static const struct ota_stage_ops ops = {on_header, on_checkpoint, NULL};

/* Build the stream from the fixed input fields. */
static void build_stream(const uint8_t *f)
{
    const uint8_t mode = f[0];
    uint8_t *h = stream;
    memcpy(h, &f[1], IMAGE_HEADER_SIZE);
    if (mode & 1u) {
        ota_put_le32(&h[0], IMAGE_MAGIC);
    }
    if (mode & 2u) {
        ota_put_le16(&h[8], (uint16_t)(IMAGE_HEADER_SIZE + h[8] % 200u));
        uint16_t prot = ota_get_le16(&h[10]);
        ota_put_le16(&h[10], (uint16_t)((prot & 0x100u) ? IMAGE_TLV_INFO_SIZE + prot % 64u : 0u));
        uint32_t limit = (mode & 0x40u) ? STAGING_SIZE : 40000u;
        ota_put_le32(&h[12], 1u + ota_get_le32(&h[12]) % limit);
        ota_put_le32(&h[16], ota_get_le32(&h[16]) & IMAGE_F_PIC);
    }
    struct image_header hdr;
    image_header_parse(h, &hdr);
    uint64_t body_end = (uint64_t)hdr.ih_hdr_size + hdr.ih_img_size + hdr.ih_protect_tlv_size;

    uint32_t seed = ota_get_le32(&f[33]);
    uint16_t tot = ota_get_le16(&f[37]);
    if (mode & 4u) {
        tot = (uint16_t)(IMAGE_TLV_INFO_SIZE + tot % 400u);
    }
    uint64_t end = body_end + tot + f[39] % 16u;
    if (body_end < IMAGE_HEADER_SIZE || end > STREAM_MAX) {
        end = IMAGE_HEADER_SIZE + 4096u; /* not an image that fits: any bytes do */
    }
    stream_len = (uint32_t)end;
    memcpy(&stream[IMAGE_HEADER_SIZE], &pool[seed % POOL_SLACK], stream_len - IMAGE_HEADER_SIZE);
    if ((mode & 4u) && body_end + IMAGE_TLV_INFO_SIZE <= stream_len) {
        ota_put_le16(&stream[body_end], IMAGE_TLV_INFO_MAGIC);
        ota_put_le16(&stream[body_end + 2u], tot);
    }
}

/* The image's total size as the stream describes it, or 0. */
static uint32_t stream_total(void)
{
    struct image_header hdr;
    image_header_parse(stream, &hdr);
    if (image_header_check(&hdr, STAGING_SIZE) != IMAGE_OK) {
        return 0;
    }
    uint32_t body_end = (uint32_t)hdr.ih_hdr_size + hdr.ih_img_size + hdr.ih_protect_tlv_size;
    if (body_end + IMAGE_TLV_INFO_SIZE > stream_len ||
        ota_get_le16(&stream[body_end]) != IMAGE_TLV_INFO_MAGIC) {
        return 0;
    }
    uint32_t tot = ota_get_le16(&stream[body_end + 2u]);
    if (tot < IMAGE_TLV_INFO_SIZE || body_end + tot > STAGING_SIZE) {
        return 0;
    }
    return body_end + tot;
}

static void check_done(const struct ota_stage *st)
{
    uint32_t total = ota_stage_total(st);
    check(total != 0 && total == stream_total() && ota_stage_pos(st) == total);
    check(total <= stream_len);
    check(memcmp(staging_mem(), stream, total) == 0);
    for (uint32_t i = total; i % 4u != 0u; i++) {
        check(staging_mem()[i] == FLASH_ERASED_BYTE);
    }
}

/* Feed stream[from, stop) in chunks; returns the last result. */
static int feed(struct ota_stage *st, uint32_t stop, uint32_t *chunk_seed)
{
    int rc = OTA_STAGE_OK;
    uint32_t at = ota_stage_pos(st);
    while (at < stop) {
        uint32_t r = flash_sim_rand(chunk_seed);
        uint32_t n = (r & 0x100u) ? 1u + r % 7u : 1u + r % 1460u;
        n = n < stop - at ? n : stop - at;
        rc = ota_stage_write(st, &stream[at], n);
        if (rc == OTA_STAGE_OK) {
            at += n;
            check(ota_stage_pos(st) == at);
            continue;
        }
        if (rc == OTA_STAGE_DONE) {
            check_done(st);
            return rc;
        }
        if (rc == OTA_STAGE_REWIND) {
            /* Only a resumed writer compares flash, and it rewinds to a sector start. */
            check(fz.resumed);
            uint32_t back = ota_stage_pos(st);
            check(back < at + n && back % 4u == 0u && back == sector_start(back));
            at = back;
            continue;
        }
        check(rc == OTA_STAGE_ERR_HEADER || rc == OTA_STAGE_ERR_TOO_BIG ||
              rc == OTA_STAGE_ERR_REFUSED || rc == OTA_STAGE_ERR_OVERRUN);
        if (rc == OTA_STAGE_ERR_HEADER && !fz.resumed) {
            struct image_header hdr;
            image_header_parse(stream, &hdr);
            if (image_header_check(&hdr, STAGING_SIZE) != IMAGE_OK) {
                struct flash_sim_counters c;
                flash_sim_counters(&c);
                check(c.ops == 0 && ota_stage_pos(st) == IMAGE_HEADER_SIZE);
            }
        }
        if (rc == OTA_STAGE_ERR_OVERRUN) {
            check(ota_stage_total(st) != 0 && ota_stage_pos(st) == ota_stage_total(st));
        }
        return rc;
    }
    return rc;
}

static uint32_t sector_end(uint32_t off)
{
    uint32_t s = sector_start(off);
    return s == 0 ? FLASH_SECTOR4_ADDR - STAGING_ADDR
                  : s == FLASH_SECTOR4_ADDR - STAGING_ADDR ? FLASH_SECTOR5_ADDR - STAGING_ADDR
                                                             : STAGING_SIZE;
}

/* What a cut leaves behind the last word the first session programmed. */
static void disturb(uint32_t flushed, uint8_t how, uint32_t seed)
{
    uint8_t *m = staging_mem();
    if (flushed + 4u > STAGING_SIZE) {
        return;
    }
    uint32_t end = sector_end(flushed);
    switch (how % 3u) {
    case 1: /* the word in flight is torn: some of its bits still erased */
        for (uint32_t b = 0; b < 4u && flushed + b < stream_len; b++) {
            m[flushed + b] = (uint8_t)(m[flushed + b] & (stream[flushed + b] | (uint8_t)seed));
            seed >>= 8;
        }
        break;
    case 2: /* other data further on in the sector (an earlier download's) */
        for (uint32_t i = flushed + (seed % 64u) * 4u; i < end; i += 4u + (seed % 512u) * 4u) {
            m[i] = (uint8_t)(m[i] & (uint8_t)flash_sim_rand(&seed));
        }
        break;
    default:
        break;
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    uint8_t f[IN_FIXED];
    memset(f, 0, sizeof f);
    memcpy(f, data, size < sizeof f ? size : sizeof f);
    const uint8_t mode = f[0];

    if (!pool_ready) {
        pool_fill();
    }
    flash_sim_reset();
    if (mode & 0x10u) {
        /* An older image's bytes: a window of the pool other than the payload's. */
        memcpy(staging_mem(), &pool[(ota_get_le32(&f[33]) >> 16) % POOL_SLACK], STAGING_SIZE);
    }
    build_stream(f);
    memset(&fz, 0, sizeof fz);
    fz.refuse_even = (mode & 0x20u) != 0;
    flash_sim_set_trace(trace, NULL);

    const struct flash_area *fa;
    check(flash_area_open(FLASH_AREA_STAGING, &fa) == FLASH_AREA_OK);
    static struct ota_stage st;
    uint32_t chunk_seed = (uint32_t)f[53] * 0x01010101u + 1u;
    check(ota_stage_begin(&st, fa, &ops) == OTA_STAGE_OK);
    check(ota_stage_pos(&st) == 0 && ota_stage_total(&st) == 0);

    uint32_t stop = stream_len;
    if (mode & 8u) {
        stop = ota_get_le32(&f[40]) % (stream_len + 1u);
    }
    int rc = feed(&st, stop, &chunk_seed);
    if (!(mode & 8u) || rc != OTA_STAGE_OK) {
        flash_sim_set_trace(NULL, NULL);
        return 0;
    }

    /* Power cut: RAM is gone, flash keeps what was programmed (and maybe a torn word). */
    uint32_t flushed = ota_stage_pos(&st) & ~3u;
    disturb(flushed, f[44], ota_get_le32(&f[45]) ^ ota_get_le32(&f[49]));
    uint32_t n;
    uint32_t crc;
    bool reported = !(mode & 0x80u);
    if (reported) {
        if (!fz.have_ckpt) {
            flash_sim_set_trace(NULL, NULL);
            return 0; /* nothing durable: a new download starts from 0 */
        }
        n = fz.ckpt_n;
        crc = fz.ckpt_crc;
    } else {
        n = ota_get_le32(&f[45]) % (STAGING_SIZE + 8u);
        crc = ota_get_le32(&f[49]);
        if (f[44] & 0x80u) {
            crc = staging_crc(n < STAGING_SIZE ? n : STAGING_SIZE); /* a matching CRC */
        }
    }
    bool provable = n % 4u == 0u && n >= IMAGE_HEADER_SIZE && n < STAGING_SIZE &&
                    staging_crc(n) == crc;
    fz.header_accepted = false;
    fz.have_ckpt = false;
    fz.proven_n = 0;
    fz.proven_crc = 0;
    fz.resumed = true;
    fz.resume_sector = sector_start(n < STAGING_SIZE ? n : 0);
    static struct ota_stage st2;
    rc = ota_stage_resume(&st2, fa, &ops, n, crc);
    if (!provable) {
        check(rc == OTA_STAGE_ERR_RESUME);
        flash_sim_set_trace(NULL, NULL);
        return 0;
    }
    if (reported) {
        check(rc == OTA_STAGE_OK || rc == OTA_STAGE_DONE);
    }
    if (rc == OTA_STAGE_DONE) {
        check(n <= flushed || !reported);
        if (n <= flushed) {
            check_done(&st2);
        }
    } else if (rc == OTA_STAGE_OK) {
        check(ota_stage_pos(&st2) == n);
        if (n <= flushed) {
            /* Flash below n is this stream's: the rest of the stream completes the image. */
            (void)feed(&st2, stream_len, &chunk_seed);
        }
    } else {
        check(rc == OTA_STAGE_ERR_RESUME || rc == OTA_STAGE_ERR_REFUSED);
    }
    flash_sim_set_trace(NULL, NULL);
    return 0;
}
