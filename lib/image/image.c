/*
 * MCUboot image parsing and validation (docs/image-format.md). Every offset and length read from
 * an image goes through ota_range_ok()/ota_u32_add() against the reader's size before it is used;
 * the only buffers are small ones on the stack.
 */
#include "image.h"

#include <stddef.h>
#include <string.h>

#include "ed25519.h"
#include "flash_layout.h"
#include "ota_util.h"
#include "sha256.h"

/* Bytes hashed per read: small enough for the bootloader's stack, large enough to keep the
 * per-call overhead of a flash reader low. */
#define IMAGE_HASH_CHUNK 256u

#define IMAGE_SHA256_SIZE 32u
#define IMAGE_KEYHASH_SIZE 32u
#define IMAGE_ED25519_SIG_SIZE 64u
#define IMAGE_SPKI_PREFIX_SIZE 12u
#define IMAGE_SPKI_SIZE (IMAGE_SPKI_PREFIX_SIZE + 32u)

_Static_assert(IMAGE_ED25519_SIG_SIZE == ED25519_SIG_SIZE, "Ed25519 signature size");
_Static_assert(IMAGE_SHA256_SIZE == SHA256_DIGEST_SIZE, "SHA-256 digest size");
_Static_assert(IMAGE_MAX_HDR_SIZE >= IMAGE_HEADER_SIZE, "header size limit below 32");
_Static_assert(IMAGE_MAX_HDR_SIZE <= 0xffff, "ih_hdr_size is 16 bits");

/* DER SubjectPublicKeyInfo of an Ed25519 key (RFC 8410): SEQUENCE { SEQUENCE { OID 1.3.101.112 },
 * BIT STRING (0 unused bits) } followed by the 32 raw key bytes. */
static const uint8_t spki_ed25519_prefix[IMAGE_SPKI_PREFIX_SIZE] = {
    0x30, 0x2a, 0x30, 0x05, 0x06, 0x03, 0x2b, 0x65, 0x70, 0x03, 0x21, 0x00};

static int buf_read(void *ctx, uint32_t off, void *dst, uint32_t len)
{
    const struct image_buf *buf = (const struct image_buf *)ctx;
    if (buf == NULL || dst == NULL || !ota_range_ok(off, len, buf->len)) {
        return IMAGE_ERR_READ;
    }
    if (len != 0u) {
        memcpy(dst, buf->data + off, len);
    }
    return 0;
}

/* In the functions without an error return, a NULL pointer is a caller bug: OTA_ASSERT stops
 * there (ota_assert_failed never returns). */
void image_reader_init_buf(struct image_reader *rd, struct image_buf *buf, const uint8_t *data,
                           uint32_t len)
{
    OTA_ASSERT(rd != NULL && buf != NULL && (data != NULL || len == 0u));
    buf->data = data;
    buf->len = len;
    rd->read = buf_read;
    rd->ctx = buf;
    rd->size = len;
}

/* Read [off, off + len) through the reader; the range is checked here once more so that no
 * caller can hand a reader an offset past its size. */
static int rd_read(const struct image_reader *rd, uint32_t off, void *dst, uint32_t len)
{
    if (!ota_range_ok(off, len, rd->size)) {
        return IMAGE_ERR_READ;
    }
    if (rd->read(rd->ctx, off, dst, len) != 0) {
        return IMAGE_ERR_READ;
    }
    return IMAGE_OK;
}

void image_header_parse(const uint8_t raw[IMAGE_HEADER_SIZE], struct image_header *hdr)
{
    OTA_ASSERT(raw != NULL && hdr != NULL);
    hdr->ih_magic = ota_get_le32(&raw[0]);
    hdr->ih_load_addr = ota_get_le32(&raw[4]);
    hdr->ih_hdr_size = ota_get_le16(&raw[8]);
    hdr->ih_protect_tlv_size = ota_get_le16(&raw[10]);
    hdr->ih_img_size = ota_get_le32(&raw[12]);
    hdr->ih_flags = ota_get_le32(&raw[16]);
    hdr->ih_ver.iv_major = raw[20];
    hdr->ih_ver.iv_minor = raw[21];
    hdr->ih_ver.iv_revision = ota_get_le16(&raw[22]);
    hdr->ih_ver.iv_build_num = ota_get_le32(&raw[24]);
}

void image_header_encode(const struct image_header *hdr, uint8_t raw[IMAGE_HEADER_SIZE])
{
    OTA_ASSERT(raw != NULL && hdr != NULL);
    ota_put_le32(&raw[0], hdr->ih_magic);
    ota_put_le32(&raw[4], hdr->ih_load_addr);
    ota_put_le16(&raw[8], hdr->ih_hdr_size);
    ota_put_le16(&raw[10], hdr->ih_protect_tlv_size);
    ota_put_le32(&raw[12], hdr->ih_img_size);
    ota_put_le32(&raw[16], hdr->ih_flags);
    raw[20] = hdr->ih_ver.iv_major;
    raw[21] = hdr->ih_ver.iv_minor;
    ota_put_le16(&raw[22], hdr->ih_ver.iv_revision);
    ota_put_le32(&raw[24], hdr->ih_ver.iv_build_num);
    ota_put_le32(&raw[28], 0u);
}

int image_header_check(const struct image_header *hdr, uint32_t slot_size)
{
    uint32_t end;

    OTA_VERIFY(hdr != NULL, IMAGE_ERR_ARG);
    OTA_VERIFY(hdr->ih_magic == IMAGE_MAGIC, IMAGE_ERR_MAGIC);
    OTA_VERIFY(hdr->ih_hdr_size >= IMAGE_HEADER_SIZE && hdr->ih_hdr_size <= IMAGE_MAX_HDR_SIZE,
               IMAGE_ERR_HDR_SIZE);
    /* Only position-independence is harmless to us; every other flag asks for something the
     * bootloader does not do (decrypt, load to RAM, run from another address) or says "not an
     * application", and unknown flags are refused rather than ignored. */
    OTA_VERIFY((hdr->ih_flags & ~IMAGE_F_PIC) == 0u, IMAGE_ERR_FLAGS);
    OTA_VERIFY(hdr->ih_img_size != 0u, IMAGE_ERR_EMPTY);
    OTA_VERIFY(hdr->ih_protect_tlv_size == 0u || hdr->ih_protect_tlv_size >= IMAGE_TLV_INFO_SIZE,
               IMAGE_ERR_PROT_SIZE);

    /* Everything up to and including the unprotected TLV info header must fit the slot. */
    OTA_VERIFY(ota_u32_add(hdr->ih_hdr_size, hdr->ih_img_size, &end), IMAGE_ERR_TOO_BIG);
    OTA_VERIFY(ota_u32_add(end, hdr->ih_protect_tlv_size, &end), IMAGE_ERR_TOO_BIG);
    OTA_VERIFY(ota_u32_add(end, IMAGE_TLV_INFO_SIZE, &end), IMAGE_ERR_TOO_BIG);
    OTA_VERIFY(end <= slot_size, IMAGE_ERR_TOO_BIG);

    /* The descriptor kept in the application area is header + both TLV areas. */
    OTA_VERIFY((uint32_t)hdr->ih_hdr_size + hdr->ih_protect_tlv_size + IMAGE_TLV_INFO_SIZE <=
                   APP_DESC_SIZE,
               IMAGE_ERR_DESC_SIZE);
    return IMAGE_OK;
}

/* True if info describes TLV areas that lie inside rd in the order image_parse() finds them. */
static bool info_consistent(const struct image_reader *rd, const struct image_info *info)
{
    uint32_t min_end;

    if (info->prot_tlv_off > info->tlv_off || info->tlv_end > rd->size) {
        return false;
    }
    if (info->prot_tlv_off != info->tlv_off &&
        info->tlv_off - info->prot_tlv_off < IMAGE_TLV_INFO_SIZE) {
        return false;
    }
    if (!ota_u32_add(info->tlv_off, IMAGE_TLV_INFO_SIZE, &min_end)) {
        return false;
    }
    return min_end <= info->tlv_end;
}

int image_tlv_iter_begin(struct image_tlv_iter *it, const struct image_reader *rd,
                         const struct image_info *info, uint16_t type, bool prot_only)
{
    OTA_VERIFY(it != NULL && rd != NULL && rd->read != NULL && info != NULL, IMAGE_ERR_ARG);
    OTA_VERIFY(info_consistent(rd, info), IMAGE_ERR_ARG);

    it->rd = rd;
    it->prot_end = info->tlv_off;
    it->end = info->tlv_end;
    it->type = type;
    it->prot_only = prot_only;
    /* Start after the first info header: the protected one if there is one (prot_end is then
     * reached exactly and skipped in next()), else the unprotected one. */
    it->off = info->prot_tlv_off + IMAGE_TLV_INFO_SIZE;
    return IMAGE_OK;
}

int image_tlv_iter_next(struct image_tlv_iter *it, uint32_t *off, uint16_t *len, uint16_t *type)
{
    uint8_t raw[IMAGE_TLV_HDR_SIZE];

    OTA_VERIFY(it != NULL && it->rd != NULL && off != NULL && len != NULL, IMAGE_ERR_ARG);
    for (;;) {
        uint32_t area_end;
        uint32_t val;
        uint16_t t;
        uint16_t l;

        if (it->off == it->prot_end) {
            /* End of the protected area: the unprotected info header follows. */
            if (it->prot_only) {
                return 1;
            }
            it->off += IMAGE_TLV_INFO_SIZE;
            continue;
        }
        if (it->off >= it->end || (it->prot_only && it->off > it->prot_end)) {
            return 1;
        }
        area_end = it->off < it->prot_end ? it->prot_end : it->end;
        /* A TLV header that does not fit its area, or a length that runs past it, is a lie. */
        OTA_VERIFY(ota_range_ok(it->off, IMAGE_TLV_HDR_SIZE, area_end), IMAGE_ERR_TLV_LEN);
        OTA_TRY(rd_read(it->rd, it->off, raw, sizeof(raw)));
        t = ota_get_le16(&raw[0]);
        l = ota_get_le16(&raw[2]);
        val = it->off + IMAGE_TLV_HDR_SIZE;
        OTA_VERIFY(ota_range_ok(val, l, area_end), IMAGE_ERR_TLV_LEN);
        it->off = val + l;
        if (it->type == IMAGE_TLV_ANY || it->type == t) {
            *off = val;
            *len = l;
            if (type != NULL) {
                *type = t;
            }
            return 0;
        }
    }
}

bool image_tlv_iter_is_prot(const struct image_tlv_iter *it, uint32_t off)
{
    OTA_ASSERT(it != NULL);
    /* Judge by the TLV's header: a zero-length value at the very end of the protected area has
     * its value offset equal to prot_end. */
    return off >= IMAGE_TLV_HDR_SIZE && off - IMAGE_TLV_HDR_SIZE < it->prot_end;
}

int image_tlv_find(const struct image_reader *rd, const struct image_info *info, uint16_t type,
                   uint32_t *off, uint16_t *len)
{
    struct image_tlv_iter it;
    uint32_t o;
    uint16_t l;
    int found = 0;
    int rc;

    OTA_VERIFY(off != NULL && len != NULL, IMAGE_ERR_ARG);
    OTA_TRY(image_tlv_iter_begin(&it, rd, info, type, false));
    while ((rc = image_tlv_iter_next(&it, &o, &l, NULL)) == 0) {
        OTA_VERIFY(found == 0, IMAGE_ERR_TLV_DUP);
        found = 1;
        *off = o;
        *len = l;
    }
    if (rc < 0) {
        return rc;
    }
    return found ? 0 : 1;
}

_Static_assert(IMAGE_KEYHASH_SIZE == IMAGE_SHA256_SIZE, "KEYHASH is a SHA-256");

/* Fixed length of a TLV we interpret, or 0 if any length is acceptable. */
static uint16_t tlv_fixed_len(uint16_t type)
{
    switch (type) {
    case IMAGE_TLV_SHA256:
    case IMAGE_TLV_KEYHASH:
        return IMAGE_SHA256_SIZE;
    case IMAGE_TLV_ED25519:
        return IMAGE_ED25519_SIG_SIZE;
    default:
        return 0;
    }
}

/* Index of a TLV that may appear at most once, or -1. */
static int tlv_unique_index(uint16_t type)
{
    switch (type) {
    case IMAGE_TLV_SHA256:
        return 0;
    case IMAGE_TLV_KEYHASH:
        return 1;
    case IMAGE_TLV_PUBKEY:
        return 2;
    case IMAGE_TLV_ED25519:
        return 3;
    default:
        return -1;
    }
}

/* Read the info header at off: its magic and tot_len. */
static int read_info(const struct image_reader *rd, uint32_t off, uint16_t *magic, uint16_t *tot)
{
    uint8_t raw[IMAGE_TLV_INFO_SIZE];
    OTA_TRY(rd_read(rd, off, raw, sizeof(raw)));
    *magic = ota_get_le16(&raw[0]);
    *tot = ota_get_le16(&raw[2]);
    return IMAGE_OK;
}

int image_parse(const struct image_reader *rd, struct image_info *out)
{
    uint8_t raw[IMAGE_HEADER_SIZE];
    struct image_info info;
    struct image_tlv_iter it;
    uint8_t seen[4] = {0, 0, 0, 0};
    uint16_t magic;
    uint16_t tot;
    uint32_t off;
    uint16_t len;
    uint16_t type;
    int rc;

    OTA_VERIFY(rd != NULL && rd->read != NULL && out != NULL, IMAGE_ERR_ARG);
    OTA_VERIFY(rd->size >= IMAGE_HEADER_SIZE, IMAGE_ERR_TOO_BIG);
    OTA_TRY(rd_read(rd, 0, raw, sizeof(raw)));
    image_header_parse(raw, &info.hdr);
    OTA_TRY(image_header_check(&info.hdr, rd->size));

    /* image_header_check() proved hdr + img + prot + 4 <= rd->size: no overflow below. */
    info.prot_tlv_off = (uint32_t)info.hdr.ih_hdr_size + info.hdr.ih_img_size;
    info.tlv_off = info.prot_tlv_off + info.hdr.ih_protect_tlv_size;
    if (info.hdr.ih_protect_tlv_size != 0u) {
        OTA_TRY(read_info(rd, info.prot_tlv_off, &magic, &tot));
        /* The header promises a protected area and the unprotected one is there instead. */
        OTA_VERIFY(magic != IMAGE_TLV_INFO_MAGIC, IMAGE_ERR_PROT_SIZE);
        OTA_VERIFY(magic == IMAGE_TLV_PROT_INFO_MAGIC, IMAGE_ERR_TLV_MAGIC);
        OTA_VERIFY(tot == info.hdr.ih_protect_tlv_size, IMAGE_ERR_PROT_SIZE);
    }

    OTA_TRY(read_info(rd, info.tlv_off, &magic, &tot));
    /* A protected area the header does not announce would escape the hash's bounds check. */
    OTA_VERIFY(!(magic == IMAGE_TLV_PROT_INFO_MAGIC && info.hdr.ih_protect_tlv_size == 0u),
               IMAGE_ERR_PROT_SIZE);
    OTA_VERIFY(magic == IMAGE_TLV_INFO_MAGIC, IMAGE_ERR_TLV_MAGIC);
    OTA_VERIFY(tot >= IMAGE_TLV_INFO_SIZE, IMAGE_ERR_TLV_LEN);
    OTA_VERIFY(ota_u32_add(info.tlv_off, tot, &info.tlv_end), IMAGE_ERR_TOO_BIG);
    OTA_VERIFY(info.tlv_end <= rd->size, IMAGE_ERR_TOO_BIG);
    OTA_VERIFY((uint32_t)info.hdr.ih_hdr_size + (info.tlv_end - info.prot_tlv_off) <= APP_DESC_SIZE,
               IMAGE_ERR_DESC_SIZE);

    /* Walk every TLV once: each must fit its area exactly, security TLVs are unique and of the
     * length we will read. */
    OTA_TRY(image_tlv_iter_begin(&it, rd, &info, IMAGE_TLV_ANY, false));
    while ((rc = image_tlv_iter_next(&it, &off, &len, &type)) == 0) {
        uint16_t want = tlv_fixed_len(type);
        int idx = tlv_unique_index(type);
        OTA_VERIFY(want == 0u || len == want, IMAGE_ERR_TLV_LEN);
        if (idx >= 0) {
            OTA_VERIFY(seen[idx] == 0u, IMAGE_ERR_TLV_DUP);
            seen[idx] = 1u;
        }
    }
    if (rc < 0) {
        return rc;
    }
    *out = info;
    return IMAGE_OK;
}

int image_hash(const struct image_reader *rd, const struct image_info *info, uint8_t out[32])
{
    uint8_t chunk[IMAGE_HASH_CHUNK];
    struct sha256_ctx ctx;
    uint32_t off = 0;

    OTA_VERIFY(rd != NULL && rd->read != NULL && info != NULL && out != NULL, IMAGE_ERR_ARG);
    OTA_VERIFY(info_consistent(rd, info), IMAGE_ERR_ARG);
    sha256_init(&ctx);
    /* Header (padded to ih_hdr_size), payload and protected TLVs: everything before the
     * unprotected info header. */
    while (off < info->tlv_off) {
        uint32_t n = info->tlv_off - off;
        if (n > sizeof(chunk)) {
            n = sizeof(chunk);
        }
        OTA_TRY(rd_read(rd, off, chunk, n));
        sha256_update(&ctx, chunk, n);
        off += n;
    }
    sha256_final(&ctx, out);
    return IMAGE_OK;
}

void image_keyhash(const uint8_t pubkey[32], uint8_t out[32])
{
    struct sha256_ctx ctx;
    OTA_ASSERT(pubkey != NULL && out != NULL);
    sha256_init(&ctx);
    sha256_update(&ctx, spki_ed25519_prefix, sizeof(spki_ed25519_prefix));
    sha256_update(&ctx, pubkey, ED25519_PUBKEY_SIZE);
    sha256_final(&ctx, out);
}

/* Find the one TLV of a type; missing maps to err_missing, a wrong length to TLV_LEN. */
static int find_exact(const struct image_reader *rd, const struct image_info *info, uint16_t type,
                      uint16_t want_len, int err_missing, uint32_t *off)
{
    uint16_t len;
    int rc = image_tlv_find(rd, info, type, off, &len);
    if (rc < 0) {
        return rc;
    }
    OTA_VERIFY(rc == 0, err_missing);
    OTA_VERIFY(want_len == 0u || len == want_len, IMAGE_ERR_TLV_LEN);
    return IMAGE_OK;
}

/* The image names its key by KEYHASH or by the full PUBKEY; whichever are present must be ours. */
static int check_key(const struct image_reader *rd, const struct image_info *info,
                     const uint8_t pubkey[32])
{
    uint8_t want[IMAGE_KEYHASH_SIZE];
    uint8_t have[IMAGE_SPKI_SIZE];
    uint32_t off;
    uint16_t len;
    int rc_hash;
    int rc_key;

    rc_hash = image_tlv_find(rd, info, IMAGE_TLV_KEYHASH, &off, &len);
    if (rc_hash < 0) {
        return rc_hash;
    }
    if (rc_hash == 0) {
        OTA_VERIFY(len == IMAGE_KEYHASH_SIZE, IMAGE_ERR_TLV_LEN);
        OTA_TRY(rd_read(rd, off, have, IMAGE_KEYHASH_SIZE));
        image_keyhash(pubkey, want);
        OTA_VERIFY(ota_memcmp_ct(have, want, IMAGE_KEYHASH_SIZE) == 0, IMAGE_ERR_KEYHASH);
    }
    rc_key = image_tlv_find(rd, info, IMAGE_TLV_PUBKEY, &off, &len);
    if (rc_key < 0) {
        return rc_key;
    }
    if (rc_key == 0) {
        /* Another algorithm's key has another length: not ours either way. */
        OTA_VERIFY(len == IMAGE_SPKI_SIZE, IMAGE_ERR_KEYHASH);
        OTA_TRY(rd_read(rd, off, have, IMAGE_SPKI_SIZE));
        OTA_VERIFY(memcmp(have, spki_ed25519_prefix, IMAGE_SPKI_PREFIX_SIZE) == 0,
                   IMAGE_ERR_KEYHASH);
        OTA_VERIFY(memcmp(&have[IMAGE_SPKI_PREFIX_SIZE], pubkey, ED25519_PUBKEY_SIZE) == 0,
                   IMAGE_ERR_KEYHASH);
    }
    OTA_VERIFY(rc_hash == 0 || rc_key == 0, IMAGE_ERR_NO_KEYHASH);
    return IMAGE_OK;
}

int image_verify(const struct image_reader *rd, const struct image_info *info,
                 const uint8_t pubkey[32], uint8_t digest_out[32])
{
    uint8_t digest[IMAGE_SHA256_SIZE];
    uint8_t buf[IMAGE_ED25519_SIG_SIZE];
    uint32_t off;

    OTA_VERIFY(rd != NULL && rd->read != NULL && info != NULL && pubkey != NULL, IMAGE_ERR_ARG);
    OTA_VERIFY(info_consistent(rd, info), IMAGE_ERR_ARG);

    OTA_TRY(find_exact(rd, info, IMAGE_TLV_SHA256, IMAGE_SHA256_SIZE, IMAGE_ERR_NO_HASH, &off));
    OTA_TRY(rd_read(rd, off, buf, IMAGE_SHA256_SIZE));
    OTA_TRY(image_hash(rd, info, digest));
    OTA_VERIFY(ota_memcmp_ct(digest, buf, IMAGE_SHA256_SIZE) == 0, IMAGE_ERR_HASH);

    OTA_TRY(find_exact(rd, info, IMAGE_TLV_ED25519, IMAGE_ED25519_SIG_SIZE, IMAGE_ERR_NO_SIG,
                       &off));
    OTA_TRY(check_key(rd, info, pubkey));

    /* imgtool's Ed25519 mode signs the 32-byte digest, not the image. */
    OTA_TRY(rd_read(rd, off, buf, IMAGE_ED25519_SIG_SIZE));
    OTA_VERIFY(ed25519_verify(buf, digest, sizeof(digest), pubkey) == 0, IMAGE_ERR_SIG);

    if (digest_out != NULL) {
        memcpy(digest_out, digest, sizeof(digest));
    }
    return IMAGE_OK;
}

int image_version_cmp(const struct image_version *a, const struct image_version *b)
{
    OTA_ASSERT(a != NULL && b != NULL);
    if (a->iv_major != b->iv_major) {
        return a->iv_major < b->iv_major ? -1 : 1;
    }
    if (a->iv_minor != b->iv_minor) {
        return a->iv_minor < b->iv_minor ? -1 : 1;
    }
    if (a->iv_revision != b->iv_revision) {
        return a->iv_revision < b->iv_revision ? -1 : 1;
    }
    if (a->iv_build_num != b->iv_build_num) {
        return a->iv_build_num < b->iv_build_num ? -1 : 1;
    }
    return 0;
}

uint32_t image_version_word(const struct image_version *v)
{
    OTA_ASSERT(v != NULL);
    return ((uint32_t)v->iv_major << 24) | ((uint32_t)v->iv_minor << 16) | v->iv_revision;
}

const char *image_strerror(int err)
{
    switch (err) {
    case IMAGE_OK:
        return "ok";
    case IMAGE_ERR_READ:
        return "read failed";
    case IMAGE_ERR_MAGIC:
        return "bad image magic";
    case IMAGE_ERR_HDR_SIZE:
        return "bad header size";
    case IMAGE_ERR_EMPTY:
        return "empty payload";
    case IMAGE_ERR_TOO_BIG:
        return "image does not fit its slot";
    case IMAGE_ERR_FLAGS:
        return "unsupported image flags";
    case IMAGE_ERR_TLV_MAGIC:
        return "bad TLV info magic";
    case IMAGE_ERR_TLV_LEN:
        return "bad TLV length";
    case IMAGE_ERR_PROT_SIZE:
        return "protected TLV size mismatch";
    case IMAGE_ERR_NO_HASH:
        return "no SHA256 TLV";
    case IMAGE_ERR_HASH:
        return "hash mismatch";
    case IMAGE_ERR_NO_SIG:
        return "no Ed25519 signature";
    case IMAGE_ERR_NO_KEYHASH:
        return "no key hash or public key TLV";
    case IMAGE_ERR_KEYHASH:
        return "signed by another key";
    case IMAGE_ERR_SIG:
        return "bad signature";
    case IMAGE_ERR_TLV_DUP:
        return "duplicated TLV";
    case IMAGE_ERR_ARG:
        return "bad argument";
    case IMAGE_ERR_DESC_SIZE:
        return "header and TLVs too large for the descriptor";
    default:
        return "unknown error";
    }
}
