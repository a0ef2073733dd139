/*
 * libFuzzer harness: image_parse(), the TLV iterator, image_tlv_find() and image_verify() over
 * arbitrary bytes. The first input byte selects repairs that let the fuzzer past the checks it
 * would rarely satisfy by chance (the header magic, the TLV info magic at the offset the header
 * announces), so that the TLV walk and the verifier see many inputs, not just the magic check.
 * Any sanitizer report, assert or inconsistency found below is a bug.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "image.h"
#include "ota_util.h"

#define FUZZ_MAX 8192u

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* The test key's raw public half; any fixed key does: the signature is never expected to hold. */
static const uint8_t fuzz_pub[32] = {
    0x12, 0x7a, 0x78, 0xb6, 0x83, 0xc6, 0xe8, 0x68, 0x58, 0x61, 0x30, 0x06, 0x12, 0xe1, 0x55, 0xe5,
    0x51, 0x38, 0x63, 0xbc, 0x5f, 0x57, 0xbf, 0x76, 0x3e, 0xa1, 0x55, 0xac, 0x4e, 0x41, 0x78, 0xe7};

static void check(int cond)
{
    if (!cond) {
        abort();
    }
}

static void repair(uint8_t *img, uint32_t len, uint8_t mode)
{
    uint32_t off;
    if (len < IMAGE_HEADER_SIZE) {
        return;
    }
    if (mode & 1u) {
        ota_put_le32(&img[0], IMAGE_MAGIC);
    }
    if (mode & 2u) {
        /* A plausible header size and no flags. */
        ota_put_le16(&img[8], (uint16_t)(IMAGE_HEADER_SIZE + (img[8] & 0x3fu)));
        ota_put_le32(&img[16], 0);
    }
    off = (uint32_t)ota_get_le16(&img[8]) + ota_get_le32(&img[12]);
    if ((mode & 4u) && ota_get_le16(&img[10]) != 0 && ota_range_ok(off, 4, len)) {
        ota_put_le16(&img[off], IMAGE_TLV_PROT_INFO_MAGIC);
        ota_put_le16(&img[off + 2], ota_get_le16(&img[10]));
    }
    off += ota_get_le16(&img[10]);
    if ((mode & 8u) && off >= (uint32_t)ota_get_le16(&img[8]) && ota_range_ok(off, 4, len)) {
        ota_put_le16(&img[off], IMAGE_TLV_INFO_MAGIC);
        ota_put_le16(&img[off + 2], (uint16_t)(len - off > 0xffffu ? 0xffffu : len - off));
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static uint8_t img[FUZZ_MAX];
    struct image_reader rd;
    struct image_buf buf;
    struct image_info info;
    struct image_tlv_iter it;
    uint32_t off;
    uint16_t len;
    uint16_t type;
    uint32_t n;
    int count = 0;
    int rc;

    if (size < 1 || size - 1 > FUZZ_MAX) {
        return 0;
    }
    n = (uint32_t)(size - 1);
    memcpy(img, data + 1, n);
    repair(img, n, data[0]);
    image_reader_init_buf(&rd, &buf, img, n);

    rc = image_parse(&rd, &info);
    check(rc <= 0 && rc >= IMAGE_ERR_DESC_SIZE);
    if (rc != IMAGE_OK) {
        return 0;
    }
    /* What image_parse() accepted lies inside the input, in order. */
    check(info.prot_tlv_off <= info.tlv_off && info.tlv_off < info.tlv_end && info.tlv_end <= n);
    check(info.prot_tlv_off == (uint32_t)info.hdr.ih_hdr_size + info.hdr.ih_img_size);

    /* The walk image_parse() did must succeed again, staying in bounds. */
    check(image_tlv_iter_begin(&it, &rd, &info, IMAGE_TLV_ANY, false) == IMAGE_OK);
    while ((rc = image_tlv_iter_next(&it, &off, &len, &type)) == 0) {
        check(off >= info.prot_tlv_off + 2u * IMAGE_TLV_HDR_SIZE || off >= info.tlv_off);
        check(ota_range_ok(off, len, info.tlv_end));
        check(image_tlv_iter_is_prot(&it, off) == (off < info.tlv_off + IMAGE_TLV_HDR_SIZE));
        count++;
    }
    check(rc == 1);
    check(count <= (int)((info.tlv_end - info.prot_tlv_off) / IMAGE_TLV_HDR_SIZE));

    rc = image_tlv_find(&rd, &info, IMAGE_TLV_SHA256, &off, &len);
    check(rc == 0 || rc == 1);
    rc = image_verify(&rd, &info, fuzz_pub, NULL);
    /* Structure was settled by image_parse(): only the cryptographic verdicts remain. */
    check(rc == IMAGE_OK || rc == IMAGE_ERR_NO_HASH || rc == IMAGE_ERR_HASH ||
          rc == IMAGE_ERR_NO_SIG || rc == IMAGE_ERR_NO_KEYHASH || rc == IMAGE_ERR_KEYHASH ||
          rc == IMAGE_ERR_SIG);
    return 0;
}
