/*
 * Boot control: the power-fail-safe state shared by the bootloader and the application, kept in
 * sector 2 (APPHDR). Design and on-flash format: docs/boot-state.md.
 *
 * Sector 2 = a 64-byte header (the tutorial's five words, extended, with a commit CRC written last),
 * a copy of the installed image's descriptor, and an append-only log of 32-byte records. State
 * changes are appended; the sector is erased only when a valid copy of its header exists in the
 * application area (the descriptor written at the end of the last application sector used).
 *
 * Portable: flash only through lib/flash/flash_area.h; no allocation. Functions that need a work
 * buffer use one static buffer each (documented), so none of them is reentrant: one caller at a time
 * (the bootloader, or the application's main loop).
 */
#ifndef BOOTCTL_H
#define BOOTCTL_H

#include <stdbool.h>
#include <stdint.h>

#include "flash_layout.h"
#include "image.h"

/* Sector-2 header (offsets relative to APPHDR_ADDR). */
#define BOOTCTL_HDR_MAGIC 0xABCDEFABu /* tutorial magic */
#define BOOTCTL_OFF_OTA_FLAG 0x000u
#define BOOTCTL_OFF_MAGIC 0x004u
#define BOOTCTL_OFF_SIZE 0x008u
#define BOOTCTL_OFF_CRC 0x00Cu
#define BOOTCTL_OFF_VERSION 0x010u
#define BOOTCTL_OFF_BUILD 0x014u
#define BOOTCTL_OFF_DESC_LEN 0x018u
#define BOOTCTL_OFF_RESULT 0x01Cu
#define BOOTCTL_OFF_COMMIT 0x03Cu
#define BOOTCTL_HDR_SIZE 0x040u
#define BOOTCTL_DESC_OFF 0x040u       /* descriptor copy */
#define BOOTCTL_DESC_MAX 0x7C0u       /* largest descriptor: ih_hdr_size + TLV areas */
#define BOOTCTL_HDR_AREA_SIZE 0x800u  /* header + descriptor copy */
#define BOOTCTL_LOG_OFF 0x800u        /* record log */
#define BOOTCTL_REC_SIZE 32u
#define BOOTCTL_REC_COUNT ((APPHDR_SIZE - BOOTCTL_LOG_OFF) / BOOTCTL_REC_SIZE) /* 448 */

/* Record word 0: magic in bits 31..16, record flags in 15..8, type in 7..0. */
#define BOOTCTL_REC_MAGIC 0xB0C7u
#define BOOTCTL_HASH_ID_SIZE 16u /* PENDING/REJECTED: first bytes of the image's SHA-256 TLV */
#define BOOTCTL_DL_ID_SIZE 12u   /* DL_START/DL_CHECKPOINT: first bytes of SHA-256(image header) */

/* PENDING flags (bootctl_request_update) */
#define BOOTCTL_PENDING_ALLOW_EQUAL 0x01u /* install even if the version equals the installed one */

enum bootctl_err {
    BOOTCTL_OK = 0,
    BOOTCTL_ERR_FLASH = -1,     /* the flash-area layer failed */
    BOOTCTL_ERR_ARG = -2,       /* bad argument */
    BOOTCTL_ERR_NO_HEADER = -3, /* sector 2 holds no valid header (blank, torn, garbage) */
    BOOTCTL_ERR_IMAGE = -4,     /* the staged image does not verify (see *detail) */
    BOOTCTL_ERR_VERSION = -5,   /* staged version is not newer than the installed one */
    BOOTCTL_ERR_DESC = -6,      /* descriptor too large, or not where it should be */
    BOOTCTL_ERR_NOT_FOUND = -7, /* no such record */
    BOOTCTL_ERR_FULL = -8,      /* log full and compaction impossible */
    BOOTCTL_ERR_RECORD = -9     /* a record that was just appended does not read back */
};

/* Header word 0x01C, low byte. Bits 31..8 carry a reason code (REJECTED). */
enum bootctl_result {
    BOOTCTL_RESULT_NONE = 0,      /* factory image, nothing installed by the bootloader */
    BOOTCTL_RESULT_INSTALLED = 1, /* the bootloader installed this image */
    BOOTCTL_RESULT_RECOVERED = 2, /* header rebuilt from the application-area descriptor */
    BOOTCTL_RESULT_REJECTED = 3   /* a later image was rejected (kept across log compaction) */
};

enum bootctl_rec_type {
    BOOTCTL_REC_PENDING = 1,
    BOOTCTL_REC_REJECTED = 2,
    BOOTCTL_REC_DL_START = 3,
    BOOTCTL_REC_DL_CHECKPOINT = 4
};

/* Decoded sector-2 header. */
struct bootctl_header {
    uint32_t ota_flag;
    uint32_t magic;
    uint32_t payload_size;
    uint32_t payload_crc;
    uint32_t version_word; /* major << 24 | minor << 16 | revision */
    uint32_t build;
    uint32_t desc_len;
    uint32_t result_word; /* enum bootctl_result | reason << 8 */
    uint32_t commit_crc;
};

/* One decoded record. */
struct bootctl_record {
    uint8_t type;  /* enum bootctl_rec_type */
    uint8_t flags; /* PENDING: BOOTCTL_PENDING_* */
    uint32_t seq;
    uint8_t body[20];
};

/* What a scan of sector 2 found. */
struct bootctl_scan {
    bool hdr_valid;
    struct bootctl_header hdr;
    uint32_t next_slot; /* first free slot after the last used one; BOOTCTL_REC_COUNT if none */
    uint32_t next_seq;
    uint32_t used_slots; /* slots that are not free (valid or torn) */
    uint32_t torn_slots; /* slots that fail their CRC */
    /* Latest PENDING that no later REJECTED with the same hash cancels. */
    bool pending_valid;
    uint8_t pending_hash[BOOTCTL_HASH_ID_SIZE];
    uint32_t pending_size; /* staged image total size */
    uint8_t pending_flags;
    /* Latest REJECTED. */
    bool rejected_valid;
    uint8_t rejected_hash[BOOTCTL_HASH_ID_SIZE];
    int32_t rejected_reason;
    /* Latest DL_START and the latest valid DL_CHECKPOINT after it with the same id. */
    bool dl_valid;
    uint8_t dl_id[BOOTCTL_DL_ID_SIZE];
    uint32_t dl_size;
    uint32_t dl_version;
    bool dl_ckpt_valid;
    uint32_t dl_written;
    uint32_t dl_crc;
};

/* Download identity (DL_START). */
struct bootctl_dl_id {
    uint8_t id[BOOTCTL_DL_ID_SIZE]; /* first 12 bytes of SHA-256 of the image header */
    uint32_t size;                  /* total image size (header + payload + TLVs) */
    uint32_t version;               /* version word */
};

/* Download progress found in the log. */
struct bootctl_dl_state {
    struct bootctl_dl_id start;
    bool ckpt_valid; /* false: resume from 0 */
    uint32_t written;
    uint32_t crc; /* CRC-32 of staging[0, written) */
};

/* The installed application as the header describes it. */
struct bootctl_installed {
    struct image_version version;
    uint32_t payload_size;
    uint32_t payload_crc;
    uint8_t hash[32]; /* SHA-256 TLV of the installed image */
};

/* Last update result for the application. */
struct bootctl_last {
    uint8_t result;  /* enum bootctl_result; REJECTED also when the log holds a REJECTED record */
    int32_t reason;  /* REJECTED: the bootloader's reason code (boot_core.h), else 0 */
    bool hash_valid; /* REJECTED from a record: hash of the rejected image */
    uint8_t hash[BOOTCTL_HASH_ID_SIZE];
};

/* ---- Format helpers (pure, no flash) ---- */

/* Decode the 64-byte header at area[0..]; true if magic and commit CRC (over the header and the
 * descriptor copy that follows it in area) match. */
bool bootctl_header_decode(const uint8_t area[BOOTCTL_HDR_AREA_SIZE], struct bootctl_header *hdr);

/* Build the header area (header + descriptor copy, rest 0xFF) for a verified image held by img:
 * also returns the descriptor bytes, their length (word-padded) and their offset in the
 * application area. result_word goes to header word 0x01C. */
int bootctl_layout(const struct image_reader *img, uint32_t result_word,
                   uint8_t hdr_area[BOOTCTL_HDR_AREA_SIZE], uint8_t desc[APP_DESC_SIZE],
                   uint32_t *desc_len, uint32_t *desc_app_off);

/* Installed form of an image held in RAM (host tools, otafactory): as bootctl_layout with result
 * NONE (factory). */
int bootctl_installed_layout(const struct image_reader *img,
                             uint8_t hdr_area[BOOTCTL_HDR_AREA_SIZE], uint8_t desc[APP_DESC_SIZE],
                             uint32_t *desc_len, uint32_t *desc_app_off);

/* Offset in the application area of the descriptor of an image whose payload is payload_size
 * bytes: the last APP_DESC_SIZE bytes of the last sector the payload occupies. */
int bootctl_desc_app_off(uint32_t payload_size, uint32_t *off);

/* Encode / decode a 32-byte record. decode returns false for a free or torn slot. */
void bootctl_record_encode(const struct bootctl_record *rec, uint8_t raw[BOOTCTL_REC_SIZE]);
bool bootctl_record_decode(const uint8_t raw[BOOTCTL_REC_SIZE], struct bootctl_record *rec);

/* ---- Sector 2 on flash ---- */

/* Read sector 2: header validity and the live records. Never writes. */
int bootctl_scan(struct bootctl_scan *scan);

/* Erase sector 2 and write hdr_area (descriptor, then header words, commit word last). */
int bootctl_header_write(const uint8_t hdr_area[BOOTCTL_HDR_AREA_SIZE]);

/* Append a record into the first free slot after the last used one (scan must be fresh; it is
 * updated). A full log is compacted first (bootctl_compact). */
int bootctl_append(struct bootctl_scan *scan, const struct bootctl_record *rec);

/* Rewrite sector 2 from its valid header, carrying over the live PENDING, the latest REJECTED (as
 * the header result) and the download progress. Only when the application-area descriptor equals
 * the header's descriptor copy, so a cut is repaired by header recovery. */
int bootctl_compact(struct bootctl_scan *scan);

/* Reader over the installed image: descriptor bytes (RAM) around the payload in the application
 * area. ctx for struct image_reader.read; desc must stay valid while the reader is used. */
struct bootctl_app_reader {
    const uint8_t *desc;
    uint32_t desc_len;
    uint32_t hdr_size;
    uint32_t payload_size;
};
int bootctl_app_reader_init(struct bootctl_app_reader *ctx, struct image_reader *rd,
                            const uint8_t *desc, uint32_t desc_len);

/* Reader over a flash area (staging). ctx is the area. */
int bootctl_area_reader_init(uint8_t area_id, struct image_reader *rd);

/* ---- Application API ---- */

/* Verify the staged image (parse, hash, KEYHASH, signature with pubkey, descriptor at most
 * BOOTCTL_DESC_MAX bytes, version newer than the installed one unless BOOTCTL_PENDING_ALLOW_EQUAL),
 * then append PENDING (nothing if the same request is already live). *detail (optional) receives
 * the image_err of BOOTCTL_ERR_IMAGE, else 0. */
int bootctl_request_update(const uint8_t pubkey[32], uint32_t flags, int *detail);

/* Version, size, CRC and hash of the installed application (from sector 2). */
int bootctl_installed_info(struct bootctl_installed *out);

/* The last update result: a REJECTED record in the log wins over the header's result word. */
int bootctl_last_result(struct bootctl_last *out);

/* Download progress records for the OTA client's resume. */
int bootctl_dl_start(const struct bootctl_dl_id *id);
int bootctl_dl_checkpoint(uint32_t written, uint32_t crc);
/* Latest DL_START and its latest valid checkpoint; BOOTCTL_ERR_NOT_FOUND if none. */
int bootctl_dl_latest(struct bootctl_dl_state *out);

#endif /* BOOTCTL_H */
