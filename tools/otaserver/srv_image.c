/*
 * Start-up check of the served image. The server stands alone (docs/architecture.md): the few MCUboot
 * layout rules it needs are checked here, with every size taken from the file bounded by the file's
 * length, and the SHA256 TLV is recomputed with OpenSSL so a corrupted file is refused before any
 * device sees it.
 */
#include "srv_image.h"

#include <errno.h>
#include <fcntl.h>
#include <openssl/evp.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "ota_util.h"

#define MAGIC 0x96f3b83du
#define HDR_LEN 32u
#define TLV_INFO_MAGIC 0x6907u
#define TLV_PROT_INFO_MAGIC 0x6908u
#define TLV_INFO_LEN 4u
#define TLV_HDR_LEN 4u
#define TLV_SHA256 0x10u

/* Walks the entries of one TLV area [start + 4, end); records the SHA256 value offset if wanted. */
static int walk_area(const uint8_t *buf, uint32_t start, uint32_t end, uint32_t *sha_off,
                     unsigned *sha_count)
{
    uint32_t off = start + TLV_INFO_LEN;
    while (off < end) {
        if (end - off < TLV_HDR_LEN) {
            return SRV_IMAGE_ERR_TLV_LEN;
        }
        uint16_t type = ota_get_le16(buf + off);
        uint16_t len = ota_get_le16(buf + off + 2u);
        off += TLV_HDR_LEN;
        if (len > end - off) {
            return SRV_IMAGE_ERR_TLV_LEN;
        }
        if (sha_off != NULL && type == TLV_SHA256) {
            if (len != 32u) {
                return SRV_IMAGE_ERR_TLV_LEN;
            }
            *sha_off = off;
            (*sha_count)++;
        }
        off += len;
    }
    return SRV_IMAGE_OK;
}

static int sha256(const uint8_t *buf, size_t len, uint8_t out[32])
{
    unsigned int out_len = 0;
    if (EVP_Digest(buf, len, out, &out_len, EVP_sha256(), NULL) != 1 || out_len != 32u) {
        return SRV_IMAGE_ERR_CRYPTO;
    }
    return SRV_IMAGE_OK;
}

int srv_image_check(const uint8_t *buf, size_t len, struct srv_image_info *info)
{
    if (buf == NULL || info == NULL || len < HDR_LEN) {
        return SRV_IMAGE_ERR_SHORT;
    }
    /* Everything below is 32-bit; a larger file cannot hold a valid image for us. */
    uint32_t limit = len > UINT32_MAX ? UINT32_MAX : (uint32_t)len;
    memset(info, 0, sizeof(*info));
    if (ota_get_le32(buf) != MAGIC) {
        return SRV_IMAGE_ERR_MAGIC;
    }
    info->hdr_size = ota_get_le16(buf + 8);
    info->prot_tlv_size = ota_get_le16(buf + 10);
    info->img_size = ota_get_le32(buf + 12);
    info->ver_major = buf[20];
    info->ver_minor = buf[21];
    info->ver_revision = ota_get_le16(buf + 22);
    info->ver_build = ota_get_le32(buf + 24);
    if (info->hdr_size < HDR_LEN) {
        return SRV_IMAGE_ERR_HDR_SIZE;
    }
    if (info->img_size == 0u) {
        return SRV_IMAGE_ERR_EMPTY;
    }
    uint32_t prot_off = 0;
    if (!ota_u32_add(info->hdr_size, info->img_size, &prot_off) ||
        !ota_u32_add(prot_off, info->prot_tlv_size, &info->tlv_off)) {
        return SRV_IMAGE_ERR_TOO_BIG;
    }
    uint32_t sha_off = 0;
    unsigned sha_count = 0;
    if (info->prot_tlv_size != 0u) {
        if (info->prot_tlv_size < TLV_INFO_LEN) {
            return SRV_IMAGE_ERR_PROT_SIZE;
        }
        if (!ota_range_ok(prot_off, TLV_INFO_LEN, limit)) {
            return SRV_IMAGE_ERR_SHORT;
        }
        if (ota_get_le16(buf + prot_off) != TLV_PROT_INFO_MAGIC) {
            return SRV_IMAGE_ERR_TLV_MAGIC;
        }
        if (ota_get_le16(buf + prot_off + 2u) != info->prot_tlv_size) {
            return SRV_IMAGE_ERR_PROT_SIZE;
        }
        if (!ota_range_ok(prot_off, info->prot_tlv_size, limit)) {
            return SRV_IMAGE_ERR_SHORT;
        }
        /* A SHA256 TLV in the protected area would be covered by its own hash: not looked for. */
        OTA_TRY(walk_area(buf, prot_off, info->tlv_off, NULL, NULL));
    }
    if (!ota_range_ok(info->tlv_off, TLV_INFO_LEN, limit)) {
        return SRV_IMAGE_ERR_SHORT;
    }
    if (ota_get_le16(buf + info->tlv_off) != TLV_INFO_MAGIC) {
        return SRV_IMAGE_ERR_TLV_MAGIC;
    }
    uint16_t tot_len = ota_get_le16(buf + info->tlv_off + 2u);
    if (tot_len < TLV_INFO_LEN) {
        return SRV_IMAGE_ERR_TLV_LEN;
    }
    if (!ota_u32_add(info->tlv_off, tot_len, &info->size)) {
        return SRV_IMAGE_ERR_TOO_BIG;
    }
    if (info->size > limit) {
        return SRV_IMAGE_ERR_SHORT;
    }
    OTA_TRY(walk_area(buf, info->tlv_off, info->size, &sha_off, &sha_count));
    if (sha_count == 0u) {
        return SRV_IMAGE_ERR_NO_HASH;
    }
    if (sha_count > 1u) {
        return SRV_IMAGE_ERR_HASH_DUP;
    }
    uint8_t digest[32];
    OTA_TRY(sha256(buf, info->tlv_off, digest));
    if (memcmp(digest, buf + sha_off, sizeof(digest)) != 0) {
        return SRV_IMAGE_ERR_HASH;
    }
    memcpy(info->sha256, digest, sizeof(digest));
    static const char hex[] = "0123456789abcdef";
    for (size_t i = 0; i < sizeof(digest); i++) {
        info->etag[2u * i] = hex[digest[i] >> 4];
        info->etag[2u * i + 1u] = hex[digest[i] & 0x0fu];
    }
    info->etag[SRV_IMAGE_ETAG_LEN] = '\0';
    return SRV_IMAGE_OK;
}

int srv_image_open(struct srv_image *img, const char *path)
{
    memset(img, 0, sizeof(*img));
    img->fd = -1;
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        return SRV_IMAGE_ERR_OPEN;
    }
    struct stat st;
    if (fstat(fd, &st) != 0) {
        (void)close(fd);
        return SRV_IMAGE_ERR_READ;
    }
    if (!S_ISREG(st.st_mode)) {
        (void)close(fd);
        return SRV_IMAGE_ERR_OPEN;
    }
    if (st.st_size < (off_t)HDR_LEN) {
        (void)close(fd);
        return SRV_IMAGE_ERR_SHORT;
    }
    size_t len = (size_t)st.st_size;
    void *map = mmap(NULL, len, PROT_READ, MAP_PRIVATE, fd, 0);
    if (map == MAP_FAILED) {
        (void)close(fd);
        return SRV_IMAGE_ERR_READ;
    }
    int rc = srv_image_check(map, len, &img->info);
    if (rc != SRV_IMAGE_OK) {
        (void)munmap(map, len);
        (void)close(fd);
        return rc;
    }
    img->fd = fd;
    img->data = map;
    img->map = map;
    img->map_len = len;
    img->file_size = (uint64_t)st.st_size;
    return SRV_IMAGE_OK;
}

void srv_image_close(struct srv_image *img)
{
    if (img->map != NULL) {
        (void)munmap(img->map, img->map_len);
        img->map = NULL;
        img->data = NULL;
    }
    if (img->fd >= 0) {
        (void)close(img->fd);
        img->fd = -1;
    }
}

const char *srv_image_strerror(int err)
{
    switch (err) {
    case SRV_IMAGE_OK: return "ok";
    case SRV_IMAGE_ERR_OPEN: return "cannot open the file (or not a regular file)";
    case SRV_IMAGE_ERR_READ: return "cannot read the file";
    case SRV_IMAGE_ERR_SHORT: return "file shorter than the sizes its header and TLVs announce";
    case SRV_IMAGE_ERR_MAGIC: return "not an MCUboot image (bad magic)";
    case SRV_IMAGE_ERR_HDR_SIZE: return "header size below 32";
    case SRV_IMAGE_ERR_EMPTY: return "empty payload (ih_img_size 0)";
    case SRV_IMAGE_ERR_TOO_BIG: return "sizes overflow 32 bits";
    case SRV_IMAGE_ERR_TLV_MAGIC: return "TLV info header missing or bad magic";
    case SRV_IMAGE_ERR_TLV_LEN: return "TLV entry length runs past its area";
    case SRV_IMAGE_ERR_PROT_SIZE: return "protected TLV size disagrees with the header";
    case SRV_IMAGE_ERR_NO_HASH: return "no SHA256 TLV";
    case SRV_IMAGE_ERR_HASH_DUP: return "more than one SHA256 TLV";
    case SRV_IMAGE_ERR_HASH: return "SHA-256 mismatch (corrupted image)";
    case SRV_IMAGE_ERR_CRYPTO: return "SHA-256 computation failed";
    default: return "unknown error";
    }
}
