/*
 * MCUboot image format (docs/image-format.md): one 32-byte little-endian header, the payload, an
 * optional protected TLV area and the TLV area. One module parses and validates images for the
 * bootloader, the application and the host tools. Every length read from an image is checked
 * against the reader's size before use; nothing is allocated.
 */
#ifndef IMAGE_H
#define IMAGE_H

#include <stdbool.h>
#include <stdint.h>

#define IMAGE_MAGIC 0x96f3b83du
#define IMAGE_HEADER_SIZE 32u
#define IMAGE_TLV_INFO_MAGIC 0x6907u
#define IMAGE_TLV_PROT_INFO_MAGIC 0x6908u
#define IMAGE_TLV_INFO_SIZE 4u
#define IMAGE_TLV_HDR_SIZE 4u

/* ih_flags */
#define IMAGE_F_PIC 0x00000001u
#define IMAGE_F_ENCRYPTED_AES128 0x00000004u
#define IMAGE_F_ENCRYPTED_AES256 0x00000008u
#define IMAGE_F_NON_BOOTABLE 0x00000010u
#define IMAGE_F_RAM_LOAD 0x00000020u
#define IMAGE_F_ROM_FIXED 0x00000100u

/* TLV types */
#define IMAGE_TLV_KEYHASH 0x01u
#define IMAGE_TLV_PUBKEY 0x02u
#define IMAGE_TLV_SHA256 0x10u
#define IMAGE_TLV_SHA384 0x11u
#define IMAGE_TLV_SHA512 0x12u
#define IMAGE_TLV_ECDSA_SIG 0x22u
#define IMAGE_TLV_ED25519 0x24u
#define IMAGE_TLV_SIG_PURE 0x25u
#define IMAGE_TLV_SEC_CNT 0x50u
#define IMAGE_TLV_ANY 0xffffu

struct image_version {
    uint8_t iv_major;
    uint8_t iv_minor;
    uint16_t iv_revision;
    uint32_t iv_build_num;
};

/* Host-order copy of the on-flash header; parse with image_header_parse(). */
struct image_header {
    uint32_t ih_magic;
    uint32_t ih_load_addr;
    uint16_t ih_hdr_size;
    uint16_t ih_protect_tlv_size;
    uint32_t ih_img_size;
    uint32_t ih_flags;
    struct image_version ih_ver;
};

/*
 * Where image bytes come from: a flash area, a RAM buffer, or a composition (header from one place,
 * payload from another). read() returns 0 on success; size is how many bytes exist (the slot).
 */
struct image_reader {
    int (*read)(void *ctx, uint32_t off, void *dst, uint32_t len);
    void *ctx;
    uint32_t size;
};

enum image_err {
    IMAGE_OK = 0,
    IMAGE_ERR_READ = -1,        /* the reader failed */
    IMAGE_ERR_MAGIC = -2,       /* ih_magic wrong */
    IMAGE_ERR_HDR_SIZE = -3,    /* ih_hdr_size < 32 or > IMAGE_MAX_HDR_SIZE */
    IMAGE_ERR_EMPTY = -4,       /* ih_img_size == 0 */
    IMAGE_ERR_TOO_BIG = -5,     /* header + payload + TLVs do not fit the slot */
    IMAGE_ERR_FLAGS = -6,       /* unsupported flags (encrypted, RAM load, ...) */
    IMAGE_ERR_TLV_MAGIC = -7,   /* TLV info header missing or wrong magic */
    IMAGE_ERR_TLV_LEN = -8,     /* a TLV length lies: overlaps, runs past its area */
    IMAGE_ERR_PROT_SIZE = -9,   /* ih_protect_tlv_size disagrees with the protected area */
    IMAGE_ERR_NO_HASH = -10,    /* no SHA256 TLV */
    IMAGE_ERR_HASH = -11,       /* SHA-256 mismatch */
    IMAGE_ERR_NO_SIG = -12,     /* no ED25519 TLV */
    IMAGE_ERR_NO_KEYHASH = -13, /* no KEYHASH (and no PUBKEY) TLV */
    IMAGE_ERR_KEYHASH = -14,    /* key hash / public key is not ours */
    IMAGE_ERR_SIG = -15,        /* Ed25519 signature invalid */
    IMAGE_ERR_TLV_DUP = -16,    /* a security TLV appears twice */
    IMAGE_ERR_ARG = -17,        /* NULL pointer or inconsistent struct image_info */
    IMAGE_ERR_DESC_SIZE = -18   /* header + TLV areas exceed APP_DESC_SIZE (not installable) */
};

/* Layout facts of an image, filled by image_parse() after every bounds check passed. */
struct image_info {
    struct image_header hdr;
    uint32_t prot_tlv_off; /* offset of the protected TLV info header (== tlv_off if none) */
    uint32_t tlv_off;      /* offset of the unprotected TLV info header */
    uint32_t tlv_end;      /* one past the last TLV byte: the total image size */
};

/* A reader over a RAM buffer (host tools, tests, an image held in RAM). */
struct image_buf {
    const uint8_t *data;
    uint32_t len;
};
/* Point rd at buf (both owned by the caller and kept alive while rd is used). */
void image_reader_init_buf(struct image_reader *rd, struct image_buf *buf, const uint8_t *data,
                           uint32_t len);

/* Parse 32 raw bytes (little-endian on flash) into a header. No checks beyond decoding. */
void image_header_parse(const uint8_t raw[IMAGE_HEADER_SIZE], struct image_header *hdr);
/* Encode a header into 32 raw bytes (pad fields zero). */
void image_header_encode(const struct image_header *hdr, uint8_t raw[IMAGE_HEADER_SIZE]);

/* Header checks only (magic, ih_hdr_size, flags, empty payload, header + payload + TLV info
 * against slot_size, header + protected area against APP_DESC_SIZE): usable on the first 32 bytes
 * of a download before anything is erased. */
int image_header_check(const struct image_header *hdr, uint32_t slot_size);

/* Read and check the header and both TLV info headers against rd->size (the slot), walk every TLV
 * once (lengths, duplicates, descriptor size). *info is written only on IMAGE_OK. */
int image_parse(const struct image_reader *rd, struct image_info *info);

/* Bounds-checked TLV iterator (MCUboot's bootutil_tlv_iter). */
struct image_tlv_iter {
    const struct image_reader *rd;
    uint32_t off;      /* next TLV header */
    uint32_t prot_end; /* end of the protected area (the unprotected info header's offset) */
    uint32_t end;      /* end of the TLV areas */
    uint16_t type;     /* filter, or IMAGE_TLV_ANY */
    bool prot_only;
};
/* Start a walk over the TLVs of a parsed image: of one type or IMAGE_TLV_ANY, in both areas or
 * only the protected one. IMAGE_ERR_ARG if info does not describe a layout inside rd. */
int image_tlv_iter_begin(struct image_tlv_iter *it, const struct image_reader *rd,
                         const struct image_info *info, uint16_t type, bool prot_only);
/* 0: found one (*off = value offset); 1: no more; negative: error. */
int image_tlv_iter_next(struct image_tlv_iter *it, uint32_t *off, uint16_t *len, uint16_t *type);
/* True if the TLV whose value starts at off (as returned by next()) lies in the protected area. */
bool image_tlv_iter_is_prot(const struct image_tlv_iter *it, uint32_t off);

/* The one TLV of a type in either area: 0 found (*off = value offset, *len), 1 none,
 * IMAGE_ERR_TLV_DUP if it appears more than once, other negative codes from the iterator. */
int image_tlv_find(const struct image_reader *rd, const struct image_info *info, uint16_t type,
                   uint32_t *off, uint16_t *len);

/* SHA-256 over header (ih_hdr_size bytes) + payload + protected TLV area. */
int image_hash(const struct image_reader *rd, const struct image_info *info, uint8_t out[32]);

/* Full validation of a parsed image: SHA256 TLV present and matching; ED25519 TLV present;
 * KEYHASH and/or PUBKEY present and matching pubkey (raw 32-byte Ed25519 key); signature of the
 * digest valid. On IMAGE_OK, digest_out (may be NULL) receives the image's SHA-256. */
int image_verify(const struct image_reader *rd, const struct image_info *info,
                 const uint8_t pubkey[32], uint8_t digest_out[32]);

/* KEYHASH of a raw Ed25519 key: SHA-256 of its 44-byte DER SubjectPublicKeyInfo. */
void image_keyhash(const uint8_t pubkey[32], uint8_t out[32]);

/* Compare major.minor.revision, then build: -1, 0, 1. */
int image_version_cmp(const struct image_version *a, const struct image_version *b);
/* The tutorial's 32-bit version word: major << 24 | minor << 16 | revision. */
uint32_t image_version_word(const struct image_version *v);

/* Short English name of an error code, for logs. */
const char *image_strerror(int err);

#endif /* IMAGE_H */
