/*
 * Staging writer: turns the byte stream of a download into flash contents of the staging area.
 * Checks the image header before anything is erased, erases each sector just ahead of the write
 * position, programs whole words (nothing depends on how the network chunks the stream), keeps a
 * running CRC-32 for resume checkpoints, and resumes over partly written flash safely
 * (docs/ota.md, "Resume").
 *
 * The caller owns struct ota_stage (about 80 bytes); nothing is allocated.
 */
#ifndef OTA_STAGE_H
#define OTA_STAGE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "flash_area.h"
#include "image.h"

enum ota_stage_err {
    OTA_STAGE_OK = 0,
    OTA_STAGE_DONE = 1,           /* the whole image is in flash */
    OTA_STAGE_ERR_ARG = -1,
    OTA_STAGE_ERR_HEADER = -2,    /* the image header failed image_header_check() */
    OTA_STAGE_ERR_TOO_BIG = -3,   /* the image does not fit the staging area */
    OTA_STAGE_ERR_REFUSED = -4,   /* the caller's policy (version) refused the header */
    OTA_STAGE_ERR_FLASH = -5,     /* erase or program failed */
    OTA_STAGE_ERR_OVERRUN = -6,   /* more bytes than the image holds */
    OTA_STAGE_ERR_CHECKPOINT = -7, /* the checkpoint callback failed */
    OTA_STAGE_ERR_RESUME = -8,    /* resume point not proven: its CRC does not match flash */
    OTA_STAGE_REWIND = -9         /* flash holds other data: restart from ota_stage_pos() */
};

/* Callbacks into the caller (boot control records, version policy). Return 0 to go on. */
struct ota_stage_ops {
    /* The 32-byte header arrived and passed the format checks; decide on the version. */
    int (*header)(void *ctx, const struct image_header *hdr);
    /* [0, n) is in flash and its CRC-32 is crc: record it (called before erasing a new sector,
     * every checkpoint interval and at the end). */
    int (*checkpoint)(void *ctx, uint32_t n, uint32_t crc);
    void *ctx;
};

#define OTA_STAGE_CHECKPOINT_INTERVAL 4096u
/* Words for fresh (erased) flash are programmed in runs of up to this many bytes: one flash-port
 * call (unlock, lock, cache flush) per run instead of per word. A multiple of 4 that divides the
 * checkpoint interval; the run is programmed before every checkpoint, so a power cut loses only
 * words no checkpoint claims. */
#define OTA_STAGE_PROG_RUN 256u

struct ota_stage {
    const struct flash_area *fa;
    struct ota_stage_ops ops;
    uint32_t pos;             /* stream bytes accepted */
    uint32_t flushed;         /* pos rounded down to a word: in flash or in prog[] */
    uint32_t body_end;        /* header + payload + protected TLVs; 0 until the header is in */
    uint32_t total;           /* body_end + TLV area; 0 until the TLV info header is in */
    uint32_t crc;             /* CRC-32 of [0, flushed - prog_len): what is in flash */
    uint32_t erased_end;      /* staging is erased (or being compared) up to here */
    uint32_t compare_end;     /* below this, flash may hold words from before a cut */
    uint32_t next_checkpoint; /* next position at which a checkpoint is recorded */
    uint8_t hdr[IMAGE_HEADER_SIZE]; /* the header is held back until it has been checked */
    uint8_t tlv_info[IMAGE_TLV_INFO_SIZE];
    uint8_t word[4];
    uint8_t word_len;
    uint16_t prog_len;        /* bytes of [flushed - prog_len, flushed) waiting in prog[] */
    uint8_t prog[OTA_STAGE_PROG_RUN];
    int image_err;            /* why the header or TLV info was refused (enum image_err), or 0 */
};

/* Start a download from offset 0. */
int ota_stage_begin(struct ota_stage *st, const struct flash_area *fa,
                    const struct ota_stage_ops *ops);

/*
 * Resume a download at checkpoint (n, crc): proves that staging[0, n) still has that CRC and holds
 * a valid header, then continues at n. Words at and after n in n's sector may hold data from before
 * a cut; they are compared, repaired or, if they conflict, their sector is erased (REWIND).
 * Returns OTA_STAGE_ERR_RESUME if not proven (start again with ota_stage_begin).
 */
int ota_stage_resume(struct ota_stage *st, const struct flash_area *fa,
                     const struct ota_stage_ops *ops, uint32_t n, uint32_t crc);

/* Feed the next bytes of the stream. OTA_STAGE_OK, OTA_STAGE_DONE, or an error. */
int ota_stage_write(struct ota_stage *st, const uint8_t *data, size_t len);

/* The lib/image code behind the last OTA_STAGE_ERR_HEADER or _TOO_BIG (IMAGE_OK if none). */
int ota_stage_image_err(const struct ota_stage *st);

/* Offset the stream must continue from (after OTA_STAGE_REWIND or a dropped connection). */
uint32_t ota_stage_pos(const struct ota_stage *st);

/* Whole image size: 0 until the stream has reached the TLV info header that completes it. */
uint32_t ota_stage_total(const struct ota_stage *st);

#endif /* OTA_STAGE_H */
