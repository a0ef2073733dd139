/*
 * The one image otaserver serves: loaded once at start-up, checked as an MCUboot image (header, both
 * TLV info headers, every TLV entry, the SHA-256 TLV against the bytes it covers) and mapped
 * read-only. Connections send from the mapping or the file descriptor; nothing is copied per client.
 */
#ifndef SRV_IMAGE_H
#define SRV_IMAGE_H

#include <stddef.h>
#include <stdint.h>

enum srv_image_err {
    SRV_IMAGE_OK = 0,
    SRV_IMAGE_ERR_OPEN = -1,      /* the file cannot be opened or is not a regular file */
    SRV_IMAGE_ERR_READ = -2,      /* fstat or mmap failed */
    SRV_IMAGE_ERR_SHORT = -3,     /* fewer bytes than the header / the sizes it announces */
    SRV_IMAGE_ERR_MAGIC = -4,     /* ih_magic is not 0x96f3b83d */
    SRV_IMAGE_ERR_HDR_SIZE = -5,  /* ih_hdr_size < 32 */
    SRV_IMAGE_ERR_EMPTY = -6,     /* ih_img_size == 0 */
    SRV_IMAGE_ERR_TOO_BIG = -7,   /* sizes overflow 32 bits */
    SRV_IMAGE_ERR_TLV_MAGIC = -8, /* a TLV info header is missing or has the wrong magic */
    SRV_IMAGE_ERR_TLV_LEN = -9,   /* a TLV entry runs past its area, or an area is too short */
    SRV_IMAGE_ERR_PROT_SIZE = -10, /* ih_protect_tlv_size disagrees with the protected area */
    SRV_IMAGE_ERR_NO_HASH = -11,  /* no 32-byte SHA256 TLV in the unprotected area */
    SRV_IMAGE_ERR_HASH_DUP = -12, /* more than one SHA256 TLV */
    SRV_IMAGE_ERR_HASH = -13,     /* SHA-256 of header + payload + protected TLVs does not match */
    SRV_IMAGE_ERR_CRYPTO = -14    /* the SHA-256 implementation failed */
};

#define SRV_IMAGE_ETAG_LEN 64u /* lower-case hex of the SHA256 TLV */

/* Layout facts of a checked image. */
struct srv_image_info {
    uint16_t hdr_size;
    uint16_t prot_tlv_size;
    uint32_t img_size;
    uint32_t tlv_off;  /* unprotected TLV info header */
    uint32_t size;     /* one past the last TLV byte: what is served */
    uint8_t ver_major;
    uint8_t ver_minor;
    uint16_t ver_revision;
    uint32_t ver_build;
    uint8_t sha256[32];
    char etag[SRV_IMAGE_ETAG_LEN + 1];
};

/* A loaded image: fd and mapping stay valid until srv_image_close(). */
struct srv_image {
    int fd;
    const uint8_t *data;
    void *map;         /* the same mapping, for munmap */
    size_t map_len;
    uint64_t file_size;
    struct srv_image_info info;
};

/* Check len bytes of an image in memory; fills info on SRV_IMAGE_OK. Trailing bytes after the TLV
 * area are allowed (they are not served). */
int srv_image_check(const uint8_t *buf, size_t len, struct srv_image_info *info);

/* Open, map and check the file at path. On error nothing stays open. */
int srv_image_open(struct srv_image *img, const char *path);

/* Unmap and close. */
void srv_image_close(struct srv_image *img);

/* Short English text for an srv_image_err. */
const char *srv_image_strerror(int err);

#endif /* SRV_IMAGE_H */
