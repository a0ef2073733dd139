/* Boot control: sector-2 header, descriptor and record log (docs/boot-state.md). */
#include "bootctl.h"

#include "crc32.h"
#include "flash_area.h"
#include "ota_util.h"

#include <stddef.h>
#include <string.h>

FLASH_LAYOUT_CHECK(BOOTCTL_DESC_OFF + BOOTCTL_DESC_MAX == BOOTCTL_HDR_AREA_SIZE, "desc fits");
FLASH_LAYOUT_CHECK(BOOTCTL_DESC_MAX <= APP_DESC_SIZE, "desc fits the application-area slot");
FLASH_LAYOUT_CHECK(BOOTCTL_LOG_OFF + BOOTCTL_REC_COUNT * BOOTCTL_REC_SIZE == APPHDR_SIZE, "log");

/* Bytes per flash read when streaming payloads (CRC) and scanning the log; on the stack. */
#define BOOTCTL_CHUNK 256u

/* Sector-2 header area as last read by bootctl_scan() (and the work area of bootctl_compact()). */
static uint8_t bootctl_area[BOOTCTL_HDR_AREA_SIZE];

static uint32_t bootctl_pad4(uint32_t n)
{
    return (n + 3u) & ~3u;
}

static int bootctl_open(uint8_t id, const struct flash_area **fa)
{
    return flash_area_open(id, fa) == FLASH_AREA_OK ? BOOTCTL_OK : BOOTCTL_ERR_FLASH;
}

/* ---- header ---- */

static uint32_t bootctl_commit_crc(const uint8_t area[BOOTCTL_HDR_AREA_SIZE], uint32_t desc_len)
{
    uint32_t crc = crc32_update(0, &area[BOOTCTL_OFF_MAGIC], BOOTCTL_OFF_COMMIT - BOOTCTL_OFF_MAGIC);
    return crc32_update(crc, &area[BOOTCTL_DESC_OFF], desc_len);
}

bool bootctl_header_decode(const uint8_t area[BOOTCTL_HDR_AREA_SIZE], struct bootctl_header *hdr)
{
    hdr->ota_flag = ota_get_le32(&area[BOOTCTL_OFF_OTA_FLAG]);
    hdr->magic = ota_get_le32(&area[BOOTCTL_OFF_MAGIC]);
    hdr->payload_size = ota_get_le32(&area[BOOTCTL_OFF_SIZE]);
    hdr->payload_crc = ota_get_le32(&area[BOOTCTL_OFF_CRC]);
    hdr->version_word = ota_get_le32(&area[BOOTCTL_OFF_VERSION]);
    hdr->build = ota_get_le32(&area[BOOTCTL_OFF_BUILD]);
    hdr->desc_len = ota_get_le32(&area[BOOTCTL_OFF_DESC_LEN]);
    hdr->result_word = ota_get_le32(&area[BOOTCTL_OFF_RESULT]);
    hdr->commit_crc = ota_get_le32(&area[BOOTCTL_OFF_COMMIT]);
    if (hdr->magic != BOOTCTL_HDR_MAGIC || hdr->desc_len < IMAGE_HEADER_SIZE ||
        hdr->desc_len > BOOTCTL_DESC_MAX) {
        return false;
    }
    return bootctl_commit_crc(area, hdr->desc_len) == hdr->commit_crc;
}

int bootctl_desc_app_off(uint32_t payload_size, uint32_t *off)
{
    OTA_VERIFY(off != NULL && payload_size > 0, BOOTCTL_ERR_ARG);
    const struct flash_area *fa;
    OTA_TRY(bootctl_open(FLASH_AREA_APP, &fa));
    uint32_t s_off;
    uint32_t s_size;
    /* The sector holding the last payload byte; the descriptor must not overlap the payload. */
    OTA_VERIFY(payload_size <= fa->fa_size, BOOTCTL_ERR_DESC);
    OTA_VERIFY(flash_area_sector_at(fa, payload_size - 1u, &s_off, &s_size) == FLASH_AREA_OK,
               BOOTCTL_ERR_DESC);
    uint32_t d = s_off + s_size - APP_DESC_SIZE;
    if (payload_size > d) {
        /* Payload runs into this sector's descriptor slot: use the next sector's. */
        OTA_VERIFY(s_off + s_size < fa->fa_size, BOOTCTL_ERR_DESC);
        OTA_VERIFY(flash_area_sector_at(fa, s_off + s_size, &s_off, &s_size) == FLASH_AREA_OK,
                   BOOTCTL_ERR_DESC);
        d = s_off + s_size - APP_DESC_SIZE;
    }
    *off = d;
    return BOOTCTL_OK;
}

int bootctl_layout(const struct image_reader *img, uint32_t result_word,
                   uint8_t hdr_area[BOOTCTL_HDR_AREA_SIZE], uint8_t desc[APP_DESC_SIZE],
                   uint32_t *desc_len, uint32_t *desc_app_off)
{
    OTA_VERIFY(img != NULL && hdr_area != NULL && desc != NULL && desc_len != NULL &&
                   desc_app_off != NULL,
               BOOTCTL_ERR_ARG);
    struct image_info info;
    OTA_VERIFY(image_parse(img, &info) == IMAGE_OK, BOOTCTL_ERR_IMAGE);
    const uint32_t hdr_size = info.hdr.ih_hdr_size;
    const uint32_t tlv_len = info.tlv_end - info.prot_tlv_off;
    uint32_t dlen;
    OTA_VERIFY(ota_u32_add(hdr_size, tlv_len, &dlen), BOOTCTL_ERR_DESC);
    OTA_VERIFY(dlen <= BOOTCTL_DESC_MAX, BOOTCTL_ERR_DESC);
    OTA_TRY(bootctl_desc_app_off(info.hdr.ih_img_size, desc_app_off));

    memset(desc, FLASH_ERASED_BYTE, APP_DESC_SIZE);
    OTA_VERIFY(img->read(img->ctx, 0, desc, hdr_size) == 0, BOOTCTL_ERR_FLASH);
    OTA_VERIFY(img->read(img->ctx, info.prot_tlv_off, &desc[hdr_size], tlv_len) == 0,
               BOOTCTL_ERR_FLASH);

    uint32_t crc = 0;
    uint8_t buf[BOOTCTL_CHUNK];
    for (uint32_t done = 0; done < info.hdr.ih_img_size;) {
        uint32_t n = info.hdr.ih_img_size - done;
        n = n < BOOTCTL_CHUNK ? n : BOOTCTL_CHUNK;
        OTA_VERIFY(img->read(img->ctx, hdr_size + done, buf, n) == 0, BOOTCTL_ERR_FLASH);
        crc = crc32_update(crc, buf, n);
        done += n;
    }

    memset(hdr_area, FLASH_ERASED_BYTE, BOOTCTL_HDR_AREA_SIZE);
    ota_put_le32(&hdr_area[BOOTCTL_OFF_OTA_FLAG], 0);
    ota_put_le32(&hdr_area[BOOTCTL_OFF_MAGIC], BOOTCTL_HDR_MAGIC);
    ota_put_le32(&hdr_area[BOOTCTL_OFF_SIZE], info.hdr.ih_img_size);
    ota_put_le32(&hdr_area[BOOTCTL_OFF_CRC], crc);
    ota_put_le32(&hdr_area[BOOTCTL_OFF_VERSION], image_version_word(&info.hdr.ih_ver));
    ota_put_le32(&hdr_area[BOOTCTL_OFF_BUILD], info.hdr.ih_ver.iv_build_num);
    ota_put_le32(&hdr_area[BOOTCTL_OFF_DESC_LEN], dlen);
    ota_put_le32(&hdr_area[BOOTCTL_OFF_RESULT], result_word);
    memcpy(&hdr_area[BOOTCTL_DESC_OFF], desc, dlen);
    ota_put_le32(&hdr_area[BOOTCTL_OFF_COMMIT], bootctl_commit_crc(hdr_area, dlen));
    *desc_len = bootctl_pad4(dlen);
    return BOOTCTL_OK;
}

int bootctl_installed_layout(const struct image_reader *img,
                             uint8_t hdr_area[BOOTCTL_HDR_AREA_SIZE], uint8_t desc[APP_DESC_SIZE],
                             uint32_t *desc_len, uint32_t *desc_app_off)
{
    return bootctl_layout(img, BOOTCTL_RESULT_NONE, hdr_area, desc, desc_len, desc_app_off);
}

int bootctl_header_write(const uint8_t hdr_area[BOOTCTL_HDR_AREA_SIZE])
{
    OTA_VERIFY(hdr_area != NULL, BOOTCTL_ERR_ARG);
    struct bootctl_header hdr;
    OTA_VERIFY(bootctl_header_decode(hdr_area, &hdr), BOOTCTL_ERR_ARG);
    const struct flash_area *fa;
    OTA_TRY(bootctl_open(FLASH_AREA_APPHDR, &fa));
    OTA_VERIFY(flash_area_erase(fa, 0, APPHDR_SIZE) == FLASH_AREA_OK, BOOTCTL_ERR_FLASH);
    /* Everything but the commit word, then the commit word: a cut before it leaves no header. */
    OTA_VERIFY(flash_area_write(fa, BOOTCTL_DESC_OFF, &hdr_area[BOOTCTL_DESC_OFF],
                                bootctl_pad4(hdr.desc_len)) == FLASH_AREA_OK,
               BOOTCTL_ERR_FLASH);
    OTA_VERIFY(flash_area_write(fa, 0, hdr_area, BOOTCTL_OFF_COMMIT) == FLASH_AREA_OK,
               BOOTCTL_ERR_FLASH);
    OTA_VERIFY(flash_area_write(fa, BOOTCTL_OFF_COMMIT, &hdr_area[BOOTCTL_OFF_COMMIT], 4) ==
                   FLASH_AREA_OK,
               BOOTCTL_ERR_FLASH);
    return BOOTCTL_OK;
}

/* ---- records ---- */

void bootctl_record_encode(const struct bootctl_record *rec, uint8_t raw[BOOTCTL_REC_SIZE])
{
    ota_put_le32(&raw[0], (BOOTCTL_REC_MAGIC << 16) | ((uint32_t)rec->flags << 8) | rec->type);
    ota_put_le32(&raw[4], rec->seq);
    memcpy(&raw[8], rec->body, sizeof rec->body);
    ota_put_le32(&raw[28], crc32_update(0, raw, 28));
}

bool bootctl_record_decode(const uint8_t raw[BOOTCTL_REC_SIZE], struct bootctl_record *rec)
{
    uint32_t w0 = ota_get_le32(&raw[0]);
    if ((w0 >> 16) != BOOTCTL_REC_MAGIC || ota_get_le32(&raw[28]) != crc32_update(0, raw, 28)) {
        return false;
    }
    rec->type = (uint8_t)w0;
    rec->flags = (uint8_t)(w0 >> 8);
    if (rec->type < BOOTCTL_REC_PENDING || rec->type > BOOTCTL_REC_DL_CHECKPOINT) {
        return false;
    }
    rec->seq = ota_get_le32(&raw[4]);
    memcpy(rec->body, &raw[8], sizeof rec->body);
    return true;
}

static bool bootctl_slot_free(const uint8_t raw[BOOTCTL_REC_SIZE])
{
    for (uint32_t i = 0; i < BOOTCTL_REC_SIZE; i++) {
        if (raw[i] != FLASH_ERASED_BYTE) {
            return false;
        }
    }
    return true;
}

/* Fold one valid record into the scan state, in log order. */
static void bootctl_apply(struct bootctl_scan *s, const struct bootctl_record *r)
{
    switch (r->type) {
    case BOOTCTL_REC_PENDING:
        s->pending_valid = true;
        memcpy(s->pending_hash, r->body, BOOTCTL_HASH_ID_SIZE);
        s->pending_size = ota_get_le32(&r->body[16]);
        s->pending_flags = r->flags;
        break;
    case BOOTCTL_REC_REJECTED:
        s->rejected_valid = true;
        memcpy(s->rejected_hash, r->body, BOOTCTL_HASH_ID_SIZE);
        s->rejected_reason = (int32_t)ota_get_le32(&r->body[16]);
        if (s->pending_valid && memcmp(s->pending_hash, r->body, BOOTCTL_HASH_ID_SIZE) == 0) {
            s->pending_valid = false;
        }
        break;
    case BOOTCTL_REC_DL_START:
        /* A new download overwrites staging: an earlier request no longer names what is staged. */
        s->pending_valid = false;
        s->dl_valid = true;
        memcpy(s->dl_id, r->body, BOOTCTL_DL_ID_SIZE);
        s->dl_size = ota_get_le32(&r->body[12]);
        s->dl_version = ota_get_le32(&r->body[16]);
        s->dl_ckpt_valid = false;
        break;
    case BOOTCTL_REC_DL_CHECKPOINT:
        if (s->dl_valid && memcmp(s->dl_id, &r->body[8], BOOTCTL_DL_ID_SIZE) == 0) {
            s->dl_ckpt_valid = true;
            s->dl_written = ota_get_le32(&r->body[0]);
            s->dl_crc = ota_get_le32(&r->body[4]);
        }
        break;
    default:
        break;
    }
    if (r->seq >= s->next_seq) {
        s->next_seq = r->seq + 1u;
    }
}

int bootctl_scan(struct bootctl_scan *scan)
{
    OTA_VERIFY(scan != NULL, BOOTCTL_ERR_ARG);
    memset(scan, 0, sizeof *scan);
    const struct flash_area *fa;
    OTA_TRY(bootctl_open(FLASH_AREA_APPHDR, &fa));
    OTA_VERIFY(flash_area_read(fa, 0, bootctl_area, sizeof bootctl_area) == FLASH_AREA_OK,
               BOOTCTL_ERR_FLASH);
    scan->hdr_valid = bootctl_header_decode(bootctl_area, &scan->hdr);

    uint8_t buf[BOOTCTL_CHUNK];
    FLASH_LAYOUT_CHECK(BOOTCTL_CHUNK % BOOTCTL_REC_SIZE == 0, "whole records per chunk");
    uint32_t last_used = 0; /* one past the last non-free slot */
    for (uint32_t slot = 0; slot < BOOTCTL_REC_COUNT;) {
        uint32_t n = (BOOTCTL_REC_COUNT - slot) * BOOTCTL_REC_SIZE;
        n = n < BOOTCTL_CHUNK ? n : BOOTCTL_CHUNK;
        OTA_VERIFY(flash_area_read(fa, BOOTCTL_LOG_OFF + slot * BOOTCTL_REC_SIZE, buf, n) ==
                       FLASH_AREA_OK,
                   BOOTCTL_ERR_FLASH);
        for (uint32_t i = 0; i < n; i += BOOTCTL_REC_SIZE, slot++) {
            if (bootctl_slot_free(&buf[i])) {
                continue;
            }
            scan->used_slots++;
            last_used = slot + 1u;
            struct bootctl_record rec;
            if (bootctl_record_decode(&buf[i], &rec)) {
                bootctl_apply(scan, &rec);
            } else {
                scan->torn_slots++;
            }
        }
    }
    scan->next_slot = last_used;
    return BOOTCTL_OK;
}

/* Program one record into slot; the caller has checked the slot is free. */
static int bootctl_write_slot(struct bootctl_scan *scan, struct bootctl_record *rec)
{
    OTA_VERIFY(scan->next_slot < BOOTCTL_REC_COUNT, BOOTCTL_ERR_FULL);
    const struct flash_area *fa;
    OTA_TRY(bootctl_open(FLASH_AREA_APPHDR, &fa));
    rec->seq = scan->next_seq;
    uint8_t raw[BOOTCTL_REC_SIZE];
    bootctl_record_encode(rec, raw);
    int rc = flash_area_write(fa, BOOTCTL_LOG_OFF + scan->next_slot * BOOTCTL_REC_SIZE, raw,
                              sizeof raw);
    /* The slot is used from now on, whatever happened. */
    scan->next_slot++;
    scan->used_slots++;
    if (rc != FLASH_AREA_OK) {
        scan->torn_slots++;
        return rc == FLASH_AREA_ERR_VERIFY ? BOOTCTL_ERR_RECORD : BOOTCTL_ERR_FLASH;
    }
    bootctl_apply(scan, rec);
    return BOOTCTL_OK;
}

int bootctl_append(struct bootctl_scan *scan, const struct bootctl_record *rec)
{
    OTA_VERIFY(scan != NULL && rec != NULL, BOOTCTL_ERR_ARG);
    if (scan->next_slot >= BOOTCTL_REC_COUNT) {
        OTA_TRY(bootctl_compact(scan));
    }
    struct bootctl_record r = *rec;
    return bootctl_write_slot(scan, &r);
}

/* True if the application area holds the descriptor and payload that header area describes. */
static int bootctl_app_matches(const uint8_t area[BOOTCTL_HDR_AREA_SIZE],
                               const struct bootctl_header *hdr)
{
    const struct flash_area *fa;
    OTA_TRY(bootctl_open(FLASH_AREA_APP, &fa));
    uint32_t doff;
    OTA_VERIFY(bootctl_desc_app_off(hdr->payload_size, &doff) == BOOTCTL_OK, BOOTCTL_ERR_DESC);
    uint8_t buf[BOOTCTL_CHUNK];
    for (uint32_t done = 0; done < hdr->desc_len;) {
        uint32_t n = hdr->desc_len - done;
        n = n < BOOTCTL_CHUNK ? n : BOOTCTL_CHUNK;
        OTA_VERIFY(flash_area_read(fa, doff + done, buf, n) == FLASH_AREA_OK, BOOTCTL_ERR_FLASH);
        OTA_VERIFY(memcmp(buf, &area[BOOTCTL_DESC_OFF + done], n) == 0, BOOTCTL_ERR_DESC);
        done += n;
    }
    uint32_t crc = 0;
    for (uint32_t done = 0; done < hdr->payload_size;) {
        uint32_t n = hdr->payload_size - done;
        n = n < BOOTCTL_CHUNK ? n : BOOTCTL_CHUNK;
        OTA_VERIFY(flash_area_read(fa, done, buf, n) == FLASH_AREA_OK, BOOTCTL_ERR_FLASH);
        crc = crc32_update(crc, buf, n);
        done += n;
    }
    OTA_VERIFY(crc == hdr->payload_crc, BOOTCTL_ERR_DESC);
    return BOOTCTL_OK;
}

int bootctl_compact(struct bootctl_scan *scan)
{
    OTA_VERIFY(scan != NULL, BOOTCTL_ERR_ARG);
    struct bootctl_scan old;
    OTA_TRY(bootctl_scan(&old));
    OTA_VERIFY(old.hdr_valid, BOOTCTL_ERR_NO_HEADER);
    /* Erase only when header recovery can rebuild sector 2 from the application area. */
    int rc = bootctl_app_matches(bootctl_area, &old.hdr);
    OTA_VERIFY(rc == BOOTCTL_OK, rc == BOOTCTL_ERR_FLASH ? BOOTCTL_ERR_FLASH : BOOTCTL_ERR_FULL);
    uint32_t result = old.hdr.result_word;
    if (old.rejected_valid) {
        result = BOOTCTL_RESULT_REJECTED | ((uint32_t)old.rejected_reason << 8);
    }
    ota_put_le32(&bootctl_area[BOOTCTL_OFF_RESULT], result);
    ota_put_le32(&bootctl_area[BOOTCTL_OFF_COMMIT],
                 bootctl_commit_crc(bootctl_area, old.hdr.desc_len));
    OTA_TRY(bootctl_header_write(bootctl_area));
    OTA_TRY(bootctl_scan(scan));
    /* Carry over what is still live, in the order it had: DL_START, checkpoint, PENDING. */
    struct bootctl_record r;
    if (old.dl_valid) {
        memset(&r, 0, sizeof r);
        r.type = BOOTCTL_REC_DL_START;
        memcpy(r.body, old.dl_id, BOOTCTL_DL_ID_SIZE);
        ota_put_le32(&r.body[12], old.dl_size);
        ota_put_le32(&r.body[16], old.dl_version);
        OTA_TRY(bootctl_write_slot(scan, &r));
        if (old.dl_ckpt_valid) {
            memset(&r, 0, sizeof r);
            r.type = BOOTCTL_REC_DL_CHECKPOINT;
            ota_put_le32(&r.body[0], old.dl_written);
            ota_put_le32(&r.body[4], old.dl_crc);
            memcpy(&r.body[8], old.dl_id, BOOTCTL_DL_ID_SIZE);
            OTA_TRY(bootctl_write_slot(scan, &r));
        }
    }
    if (old.pending_valid) {
        memset(&r, 0, sizeof r);
        r.type = BOOTCTL_REC_PENDING;
        r.flags = old.pending_flags;
        memcpy(r.body, old.pending_hash, BOOTCTL_HASH_ID_SIZE);
        ota_put_le32(&r.body[16], old.pending_size);
        OTA_TRY(bootctl_write_slot(scan, &r));
    }
    return BOOTCTL_OK;
}

/* ---- image readers ---- */

static int bootctl_app_read(void *ctx, uint32_t off, void *dst, uint32_t len)
{
    const struct bootctl_app_reader *a = (const struct bootctl_app_reader *)ctx;
    uint8_t *out = (uint8_t *)dst;
    uint32_t total;
    if (!ota_u32_add(a->desc_len, a->payload_size, &total) || !ota_range_ok(off, len, total)) {
        return -1;
    }
    const struct flash_area *fa;
    if (flash_area_open(FLASH_AREA_APP, &fa) != FLASH_AREA_OK) {
        return -1;
    }
    while (len > 0) {
        uint32_t n;
        if (off < a->hdr_size) {
            n = a->hdr_size - off < len ? a->hdr_size - off : len;
            memcpy(out, &a->desc[off], n);
        } else if (off - a->hdr_size < a->payload_size) {
            uint32_t p = off - a->hdr_size;
            n = a->payload_size - p < len ? a->payload_size - p : len;
            if (flash_area_read(fa, p, out, n) != FLASH_AREA_OK) {
                return -1;
            }
        } else {
            uint32_t d = off - a->payload_size; /* index into desc */
            n = len;
            memcpy(out, &a->desc[d], n);
        }
        out += n;
        off += n;
        len -= n;
    }
    return 0;
}

int bootctl_app_reader_init(struct bootctl_app_reader *ctx, struct image_reader *rd,
                            const uint8_t *desc, uint32_t desc_len)
{
    OTA_VERIFY(ctx != NULL && rd != NULL && desc != NULL, BOOTCTL_ERR_ARG);
    OTA_VERIFY(desc_len >= IMAGE_HEADER_SIZE && desc_len <= APP_DESC_SIZE, BOOTCTL_ERR_DESC);
    struct image_header h;
    image_header_parse(desc, &h);
    OTA_VERIFY(h.ih_magic == IMAGE_MAGIC, BOOTCTL_ERR_DESC);
    OTA_VERIFY(h.ih_hdr_size >= IMAGE_HEADER_SIZE && h.ih_hdr_size <= desc_len, BOOTCTL_ERR_DESC);
    uint32_t doff;
    OTA_VERIFY(bootctl_desc_app_off(h.ih_img_size, &doff) == BOOTCTL_OK, BOOTCTL_ERR_DESC);
    ctx->desc = desc;
    ctx->desc_len = desc_len;
    ctx->hdr_size = h.ih_hdr_size;
    ctx->payload_size = h.ih_img_size;
    rd->read = bootctl_app_read;
    rd->ctx = ctx;
    rd->size = desc_len + h.ih_img_size; /* no overflow: both bounded by the app area */
    return BOOTCTL_OK;
}

/* Reader contexts: one slot per area, holding the area pointer (const data, mutable slot). */
static const struct flash_area *bootctl_reader_fa[FLASH_AREA_COUNT];

static int bootctl_area_read(void *ctx, uint32_t off, void *dst, uint32_t len)
{
    const struct flash_area *fa = *(const struct flash_area *const *)ctx;
    return flash_area_read(fa, off, dst, len) == FLASH_AREA_OK ? 0 : -1;
}

int bootctl_area_reader_init(uint8_t area_id, struct image_reader *rd)
{
    OTA_VERIFY(rd != NULL, BOOTCTL_ERR_ARG);
    const struct flash_area *fa;
    OTA_VERIFY(flash_area_open(area_id, &fa) == FLASH_AREA_OK, BOOTCTL_ERR_ARG);
    bootctl_reader_fa[area_id] = fa;
    rd->read = bootctl_area_read;
    rd->ctx = &bootctl_reader_fa[area_id];
    rd->size = fa->fa_size;
    return BOOTCTL_OK;
}

/* ---- application API ---- */

static void bootctl_header_version(const struct bootctl_header *h, struct image_version *v)
{
    v->iv_major = (uint8_t)(h->version_word >> 24);
    v->iv_minor = (uint8_t)(h->version_word >> 16);
    v->iv_revision = (uint16_t)h->version_word;
    v->iv_build_num = h->build;
}

int bootctl_request_update(const uint8_t pubkey[32], uint32_t flags, int *detail)
{
    if (detail != NULL) {
        *detail = 0;
    }
    OTA_VERIFY(pubkey != NULL && (flags & ~BOOTCTL_PENDING_ALLOW_EQUAL) == 0, BOOTCTL_ERR_ARG);
    struct bootctl_scan scan;
    OTA_TRY(bootctl_scan(&scan));
    OTA_VERIFY(scan.hdr_valid, BOOTCTL_ERR_NO_HEADER);

    struct image_reader rd;
    OTA_TRY(bootctl_area_reader_init(FLASH_AREA_STAGING, &rd));
    struct image_info info;
    uint8_t digest[32];
    int rc = image_parse(&rd, &info);
    if (rc == IMAGE_OK) {
        rc = image_verify(&rd, &info, pubkey, digest);
    }
    if (rc != IMAGE_OK) {
        if (detail != NULL) {
            *detail = rc;
        }
        return BOOTCTL_ERR_IMAGE;
    }
    /* The bootloader keeps a copy of the descriptor in sector 2: refuse what it would reject. */
    OTA_VERIFY((uint32_t)info.hdr.ih_hdr_size + (info.tlv_end - info.prot_tlv_off) <=
                   BOOTCTL_DESC_MAX,
               BOOTCTL_ERR_DESC);
    struct image_version inst;
    bootctl_header_version(&scan.hdr, &inst);
    int cmp = image_version_cmp(&info.hdr.ih_ver, &inst);
    OTA_VERIFY(cmp > 0 || (cmp == 0 && (flags & BOOTCTL_PENDING_ALLOW_EQUAL) != 0),
               BOOTCTL_ERR_VERSION);

    if (scan.pending_valid && memcmp(scan.pending_hash, digest, BOOTCTL_HASH_ID_SIZE) == 0 &&
        scan.pending_size == info.tlv_end && scan.pending_flags == (uint8_t)flags) {
        return BOOTCTL_OK; /* already requested */
    }
    struct bootctl_record r;
    memset(&r, 0, sizeof r);
    r.type = BOOTCTL_REC_PENDING;
    r.flags = (uint8_t)flags;
    memcpy(r.body, digest, BOOTCTL_HASH_ID_SIZE);
    ota_put_le32(&r.body[16], info.tlv_end);
    return bootctl_append(&scan, &r);
}

int bootctl_installed_info(struct bootctl_installed *out)
{
    OTA_VERIFY(out != NULL, BOOTCTL_ERR_ARG);
    struct bootctl_scan scan;
    OTA_TRY(bootctl_scan(&scan));
    OTA_VERIFY(scan.hdr_valid, BOOTCTL_ERR_NO_HEADER);
    memset(out, 0, sizeof *out);
    bootctl_header_version(&scan.hdr, &out->version);
    out->payload_size = scan.hdr.payload_size;
    out->payload_crc = scan.hdr.payload_crc;

    struct bootctl_app_reader actx;
    struct image_reader rd;
    OTA_TRY(bootctl_app_reader_init(&actx, &rd, &bootctl_area[BOOTCTL_DESC_OFF],
                                    scan.hdr.desc_len));
    struct image_info info;
    OTA_VERIFY(image_parse(&rd, &info) == IMAGE_OK, BOOTCTL_ERR_DESC);
    struct image_tlv_iter it;
    OTA_VERIFY(image_tlv_iter_begin(&it, &rd, &info, IMAGE_TLV_SHA256, false) == IMAGE_OK,
               BOOTCTL_ERR_DESC);
    uint32_t off;
    uint16_t len;
    uint16_t type;
    OTA_VERIFY(image_tlv_iter_next(&it, &off, &len, &type) == 0 && len == 32, BOOTCTL_ERR_DESC);
    OTA_VERIFY(rd.read(rd.ctx, off, out->hash, 32) == 0, BOOTCTL_ERR_FLASH);
    return BOOTCTL_OK;
}

int bootctl_last_result(struct bootctl_last *out)
{
    OTA_VERIFY(out != NULL, BOOTCTL_ERR_ARG);
    struct bootctl_scan scan;
    OTA_TRY(bootctl_scan(&scan));
    memset(out, 0, sizeof *out);
    if (scan.rejected_valid) {
        out->result = BOOTCTL_RESULT_REJECTED;
        out->reason = scan.rejected_reason;
        out->hash_valid = true;
        memcpy(out->hash, scan.rejected_hash, BOOTCTL_HASH_ID_SIZE);
        return BOOTCTL_OK;
    }
    OTA_VERIFY(scan.hdr_valid, BOOTCTL_ERR_NO_HEADER);
    out->result = (uint8_t)scan.hdr.result_word;
    out->reason = (int32_t)(scan.hdr.result_word >> 8);
    return BOOTCTL_OK;
}

int bootctl_dl_start(const struct bootctl_dl_id *id)
{
    OTA_VERIFY(id != NULL, BOOTCTL_ERR_ARG);
    struct bootctl_scan scan;
    OTA_TRY(bootctl_scan(&scan));
    struct bootctl_record r;
    memset(&r, 0, sizeof r);
    r.type = BOOTCTL_REC_DL_START;
    memcpy(r.body, id->id, BOOTCTL_DL_ID_SIZE);
    ota_put_le32(&r.body[12], id->size);
    ota_put_le32(&r.body[16], id->version);
    return bootctl_append(&scan, &r);
}

int bootctl_dl_checkpoint(uint32_t written, uint32_t crc)
{
    struct bootctl_scan scan;
    OTA_TRY(bootctl_scan(&scan));
    OTA_VERIFY(scan.dl_valid, BOOTCTL_ERR_NOT_FOUND);
    struct bootctl_record r;
    memset(&r, 0, sizeof r);
    r.type = BOOTCTL_REC_DL_CHECKPOINT;
    ota_put_le32(&r.body[0], written);
    ota_put_le32(&r.body[4], crc);
    memcpy(&r.body[8], scan.dl_id, BOOTCTL_DL_ID_SIZE);
    return bootctl_append(&scan, &r);
}

int bootctl_dl_latest(struct bootctl_dl_state *out)
{
    OTA_VERIFY(out != NULL, BOOTCTL_ERR_ARG);
    struct bootctl_scan scan;
    OTA_TRY(bootctl_scan(&scan));
    OTA_VERIFY(scan.dl_valid, BOOTCTL_ERR_NOT_FOUND);
    memset(out, 0, sizeof *out);
    memcpy(out->start.id, scan.dl_id, BOOTCTL_DL_ID_SIZE);
    out->start.size = scan.dl_size;
    out->start.version = scan.dl_version;
    out->ckpt_valid = scan.dl_ckpt_valid;
    out->written = scan.dl_written;
    out->crc = scan.dl_crc;
    return BOOTCTL_OK;
}
