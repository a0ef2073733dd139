/* Staging writer: stream -> staging flash, header first, erase just ahead, resumable. */
#include "ota_stage.h"

#include <string.h>

#include "crc32.h"
#include "ota_util.h"

/* Bytes read per step when recomputing a CRC from flash; on the caller's stack. */
#define STAGE_READ_CHUNK 64u

static int stage_flash_crc(const struct flash_area *fa, uint32_t len, uint32_t *crc)
{
    uint8_t buf[STAGE_READ_CHUNK];
    uint32_t c = 0;
    for (uint32_t off = 0; off < len;) {
        uint32_t n = len - off < STAGE_READ_CHUNK ? len - off : STAGE_READ_CHUNK;
        if (flash_area_read(fa, off, buf, n) != 0) {
            return OTA_STAGE_ERR_FLASH;
        }
        c = crc32_update(c, buf, n);
        off += n;
    }
    *crc = c;
    return OTA_STAGE_OK;
}

static uint32_t stage_next_checkpoint(uint32_t off)
{
    return (off / OTA_STAGE_CHECKPOINT_INTERVAL + 1u) * OTA_STAGE_CHECKPOINT_INTERVAL;
}

static int stage_init(struct ota_stage *st, const struct flash_area *fa,
                      const struct ota_stage_ops *ops)
{
    OTA_VERIFY(st != NULL && fa != NULL && ops != NULL, OTA_STAGE_ERR_ARG);
    OTA_VERIFY(ops->header != NULL && ops->checkpoint != NULL, OTA_STAGE_ERR_ARG);
    memset(st, 0, sizeof(*st));
    st->fa = fa;
    st->ops = *ops;
    st->next_checkpoint = OTA_STAGE_CHECKPOINT_INTERVAL;
    return OTA_STAGE_OK;
}

int ota_stage_begin(struct ota_stage *st, const struct flash_area *fa,
                    const struct ota_stage_ops *ops)
{
    return stage_init(st, fa, ops);
}

/* Header complete: format checks, size against the slot, then the caller's version policy. */
static int stage_check_header(struct ota_stage *st, const uint8_t raw[IMAGE_HEADER_SIZE])
{
    struct image_header hdr;
    image_header_parse(raw, &hdr);
    int rc = image_header_check(&hdr, st->fa->fa_size);
    if (rc != IMAGE_OK) {
        st->image_err = rc;
        return OTA_STAGE_ERR_HEADER;
    }
    uint32_t end;
    if (!ota_u32_add(hdr.ih_hdr_size, hdr.ih_img_size, &end) ||
        !ota_u32_add(end, hdr.ih_protect_tlv_size, &end) ||
        !ota_range_ok(end, IMAGE_TLV_INFO_SIZE, st->fa->fa_size)) {
        st->image_err = IMAGE_ERR_TOO_BIG;
        return OTA_STAGE_ERR_TOO_BIG;
    }
    if (st->ops.header(st->ops.ctx, &hdr) != 0) {
        return OTA_STAGE_ERR_REFUSED;
    }
    st->body_end = end;
    return OTA_STAGE_OK;
}

/* TLV info complete: it fixes the image's total size. */
static int stage_check_tlv_info(struct ota_stage *st)
{
    uint16_t magic = ota_get_le16(&st->tlv_info[0]);
    uint16_t tot = ota_get_le16(&st->tlv_info[2]);
    if (magic != IMAGE_TLV_INFO_MAGIC || tot < IMAGE_TLV_INFO_SIZE) {
        st->image_err = magic != IMAGE_TLV_INFO_MAGIC ? IMAGE_ERR_TLV_MAGIC : IMAGE_ERR_TLV_LEN;
        return OTA_STAGE_ERR_HEADER;
    }
    if (!ota_range_ok(st->body_end, tot, st->fa->fa_size)) {
        st->image_err = IMAGE_ERR_TOO_BIG;
        return OTA_STAGE_ERR_TOO_BIG;
    }
    st->total = st->body_end + tot;
    return OTA_STAGE_OK;
}

/* Flash holds other data where we compare: erase that sector and go back to its start. */
static int stage_rewind(struct ota_stage *st, uint32_t off)
{
    uint32_t s_off;
    uint32_t s_size;
    if (flash_area_sector_at(st->fa, off, &s_off, &s_size) != 0 ||
        flash_area_erase(st->fa, s_off, s_size) != 0) {
        return OTA_STAGE_ERR_FLASH;
    }
    if (st->erased_end < s_off + s_size) {
        st->erased_end = s_off + s_size;
    }
    st->compare_end = s_off;
    OTA_TRY(stage_flash_crc(st->fa, s_off, &st->crc));
    st->flushed = s_off;
    st->pos = s_off;
    st->word_len = 0;
    st->next_checkpoint = stage_next_checkpoint(s_off);
    if (s_off < IMAGE_HEADER_SIZE) {
        st->body_end = 0; /* the header comes again and is checked again */
        st->total = 0;
    }
    return OTA_STAGE_REWIND;
}

_Static_assert(OTA_STAGE_PROG_RUN % 4u == 0 && OTA_STAGE_CHECKPOINT_INTERVAL % OTA_STAGE_PROG_RUN == 0,
               "program runs are whole words and end at every checkpoint");

/* Program the words waiting in prog[] (fresh flash, in order) and extend the CRC over them. */
static int stage_prog_flush(struct ota_stage *st)
{
    if (st->prog_len == 0) {
        return OTA_STAGE_OK;
    }
    if (flash_area_write(st->fa, st->flushed - st->prog_len, st->prog, st->prog_len) != 0) {
        return OTA_STAGE_ERR_FLASH;
    }
    st->crc = crc32_update(st->crc, st->prog, st->prog_len);
    st->prog_len = 0;
    return OTA_STAGE_OK;
}

static int stage_flush_word(struct ota_stage *st)
{
    uint32_t off = st->flushed;
    bool new_sector = off >= st->compare_end && off == st->erased_end;

    /* The checkpoint before a sector erase guarantees that data in a sector implies a durable
     * checkpoint at its start; resume relies on it (docs/ota.md). */
    if (off != 0 && (off == st->next_checkpoint || new_sector)) {
        OTA_TRY(stage_prog_flush(st)); /* a checkpoint claims only what is in flash */
        if (st->ops.checkpoint(st->ops.ctx, off, st->crc) != 0) {
            return OTA_STAGE_ERR_CHECKPOINT;
        }
        st->next_checkpoint = stage_next_checkpoint(off);
    }
    if (new_sector) {
        uint32_t s_off;
        uint32_t s_size;
        if (flash_area_sector_at(st->fa, off, &s_off, &s_size) != 0 || s_off != off ||
            flash_area_erase(st->fa, s_off, s_size) != 0) {
            return OTA_STAGE_ERR_FLASH;
        }
        st->erased_end = s_off + s_size;
    }
    OTA_ASSERT(off < st->erased_end);

    if (off < st->compare_end) {
        OTA_ASSERT(st->prog_len == 0); /* fresh words only ever follow the compared ones */
        uint8_t have[4];
        if (flash_area_read(st->fa, off, have, 4) != 0) {
            return OTA_STAGE_ERR_FLASH;
        }
        uint32_t f = ota_get_le32(have);
        uint32_t w = ota_get_le32(st->word);
        if (f != w) {
            /* Erased or torn: programming the intended value completes it. Anything else is
             * data that programming cannot turn into ours. */
            if ((f & w) != w) {
                return stage_rewind(st, off);
            }
            if (flash_area_write(st->fa, off, st->word, 4) != 0) {
                return OTA_STAGE_ERR_FLASH;
            }
        }
        st->crc = crc32_update(st->crc, st->word, 4);
    } else {
        memcpy(&st->prog[st->prog_len], st->word, 4);
        st->prog_len = (uint16_t)(st->prog_len + 4u);
    }
    st->flushed = off + 4;
    st->word_len = 0;
    /* A full run, or the end of the erased part (the next word erases a sector first). */
    if (st->prog_len == OTA_STAGE_PROG_RUN || st->flushed == st->erased_end) {
        return stage_prog_flush(st);
    }
    return OTA_STAGE_OK;
}

static int stage_put_byte(struct ota_stage *st, uint8_t b)
{
    st->word[st->word_len++] = b;
    if (st->word_len == 4) {
        return stage_flush_word(st);
    }
    return OTA_STAGE_OK;
}

/* The last word is padded with the erased value, which programming leaves untouched. */
static int stage_finish(struct ota_stage *st)
{
    if (st->word_len != 0) {
        while (st->word_len < 4) {
            st->word[st->word_len++] = flash_area_erased_val(st->fa);
        }
        OTA_TRY(stage_flush_word(st));
    }
    OTA_TRY(stage_prog_flush(st));
    if (st->ops.checkpoint(st->ops.ctx, st->flushed, st->crc) != 0) {
        return OTA_STAGE_ERR_CHECKPOINT;
    }
    return OTA_STAGE_DONE;
}

static uint32_t stage_min(uint32_t a, uint32_t b)
{
    return a < b ? a : b;
}

/*
 * Bytes (whole words) that may go straight into the program run: fresh erased flash, and none of
 * them is a checkpoint position, a sector start, a TLV info byte or past the image's end. 0: take
 * the next byte one at a time (stage_put_byte handles every event).
 */
static uint32_t stage_fast_run(const struct ota_stage *st, size_t avail)
{
    if (st->word_len != 0 || st->body_end == 0 || st->flushed < st->compare_end ||
        st->flushed >= st->erased_end || st->next_checkpoint <= st->flushed) {
        return 0;
    }
    OTA_ASSERT(st->flushed == st->pos);
    uint32_t lim = OTA_STAGE_PROG_RUN - st->prog_len;
    lim = stage_min(lim, st->erased_end - st->flushed);
    lim = stage_min(lim, st->next_checkpoint - st->flushed);
    if (st->pos < st->body_end + IMAGE_TLV_INFO_SIZE) {
        if (st->pos >= st->body_end) {
            return 0;
        }
        lim = stage_min(lim, st->body_end - st->pos);
    }
    if (st->total != 0) {
        lim = stage_min(lim, st->total - st->pos);
    }
    if (avail < lim) {
        lim = (uint32_t)avail;
    }
    return lim & ~3u;
}

int ota_stage_write(struct ota_stage *st, const uint8_t *data, size_t len)
{
    OTA_VERIFY(st != NULL && st->fa != NULL, OTA_STAGE_ERR_ARG);
    OTA_VERIFY(data != NULL || len == 0, OTA_STAGE_ERR_ARG);
    for (size_t i = 0; i < len; i++) {
        if (st->total != 0 && st->pos >= st->total) {
            return OTA_STAGE_ERR_OVERRUN;
        }
        uint8_t b = data[i];
        if (st->pos < IMAGE_HEADER_SIZE) {
            /* Hold the header back: nothing is erased before it has been checked. */
            st->hdr[st->pos++] = b;
            if (st->pos == IMAGE_HEADER_SIZE) {
                OTA_TRY(stage_check_header(st, st->hdr));
                for (uint32_t j = 0; j < IMAGE_HEADER_SIZE; j++) {
                    int rc = stage_put_byte(st, st->hdr[j]);
                    if (rc != OTA_STAGE_OK) {
                        return rc;
                    }
                }
            }
            continue;
        }
        uint32_t run = stage_fast_run(st, len - i);
        if (run != 0) {
            memcpy(&st->prog[st->prog_len], &data[i], run);
            st->prog_len = (uint16_t)(st->prog_len + run);
            st->flushed += run;
            st->pos += run;
            i += run - 1u;
            if (st->prog_len == OTA_STAGE_PROG_RUN || st->flushed == st->erased_end) {
                OTA_TRY(stage_prog_flush(st));
            }
            if (st->total != 0 && st->pos == st->total) {
                return stage_finish(st);
            }
            continue;
        }
        if (st->pos >= st->body_end && st->pos - st->body_end < IMAGE_TLV_INFO_SIZE) {
            st->tlv_info[st->pos - st->body_end] = b;
        }
        int rc = stage_put_byte(st, b);
        if (rc != OTA_STAGE_OK) {
            return rc;
        }
        st->pos++;
        if (st->pos == st->body_end + IMAGE_TLV_INFO_SIZE) {
            OTA_TRY(stage_check_tlv_info(st));
        }
        if (st->total != 0 && st->pos == st->total) {
            return stage_finish(st);
        }
    }
    return OTA_STAGE_OK;
}

int ota_stage_resume(struct ota_stage *st, const struct flash_area *fa,
                     const struct ota_stage_ops *ops, uint32_t n, uint32_t crc)
{
    OTA_TRY(stage_init(st, fa, ops));
    OTA_VERIFY(n % 4 == 0 && n >= IMAGE_HEADER_SIZE && n < fa->fa_size, OTA_STAGE_ERR_RESUME);

    uint32_t have;
    OTA_TRY(stage_flash_crc(fa, n, &have));
    if (have != crc) {
        return OTA_STAGE_ERR_RESUME;
    }
    uint8_t raw[IMAGE_HEADER_SIZE];
    if (flash_area_read(fa, 0, raw, sizeof(raw)) != 0) {
        return OTA_STAGE_ERR_FLASH;
    }
    int rc = stage_check_header(st, raw);
    if (rc != OTA_STAGE_OK) {
        return rc == OTA_STAGE_ERR_REFUSED ? rc : OTA_STAGE_ERR_RESUME;
    }
    memcpy(st->hdr, raw, sizeof(raw));
    st->pos = n;
    st->flushed = n;
    st->crc = crc;
    st->next_checkpoint = stage_next_checkpoint(n);
    if (n > st->body_end) {
        uint32_t got = n - st->body_end;
        if (got > IMAGE_TLV_INFO_SIZE) {
            got = IMAGE_TLV_INFO_SIZE;
        }
        if (flash_area_read(fa, st->body_end, st->tlv_info, got) != 0) {
            return OTA_STAGE_ERR_FLASH;
        }
        if (got == IMAGE_TLV_INFO_SIZE) {
            if (stage_check_tlv_info(st) != OTA_STAGE_OK) {
                return OTA_STAGE_ERR_RESUME;
            }
            if (n >= st->total) {
                return OTA_STAGE_DONE; /* everything was already there */
            }
        }
    }
    /* Words at and after n in n's sector may have been written before the cut. */
    uint32_t s_off;
    uint32_t s_size;
    if (flash_area_sector_at(fa, n, &s_off, &s_size) != 0) {
        return OTA_STAGE_ERR_RESUME;
    }
    st->compare_end = s_off + s_size;
    st->erased_end = s_off + s_size;
    return OTA_STAGE_OK;
}

int ota_stage_image_err(const struct ota_stage *st)
{
    return st->image_err;
}

uint32_t ota_stage_pos(const struct ota_stage *st)
{
    return st->pos;
}

uint32_t ota_stage_total(const struct ota_stage *st)
{
    return st->total;
}
