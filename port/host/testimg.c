/* Signed test images with OpenSSL, and factory programming of the simulated flash. */
#include "testimg.h"

#include "bootctl.h"
#include "flash_layout.h"
#include "flash_sim.h"
#include "ota_util.h"

#include <openssl/evp.h>
#include <openssl/sha.h>
#include <stdio.h>
#include <string.h>

static const uint8_t testimg_seed[2][32] = {
    /* RFC 8032 section 7.1 test 1 secret key */
    {0x9d, 0x61, 0xb1, 0x9d, 0xef, 0xfd, 0x5a, 0x60, 0xba, 0x84, 0x4a, 0xf4, 0x92, 0xec, 0x2c, 0xc4,
     0x44, 0x49, 0xc5, 0x69, 0x7b, 0x32, 0x69, 0x19, 0x70, 0x3b, 0xac, 0x03, 0x1c, 0xae, 0x7f, 0x60},
    {0x42, 0x42, 0x42, 0x42, 0x42, 0x42, 0x42, 0x42, 0x42, 0x42, 0x42, 0x42, 0x42, 0x42, 0x42, 0x42,
     0x42, 0x42, 0x42, 0x42, 0x42, 0x42, 0x42, 0x42, 0x42, 0x42, 0x42, 0x42, 0x42, 0x42, 0x42, 0x43},
};

void testimg_pubkey(int k, uint8_t out[32])
{
    EVP_PKEY *pk = EVP_PKEY_new_raw_private_key(EVP_PKEY_ED25519, NULL, testimg_seed[k & 1], 32);
    size_t len = 32;
    memset(out, 0, 32);
    if (pk != NULL) {
        if (EVP_PKEY_get_raw_public_key(pk, out, &len) != 1) {
            memset(out, 0, 32);
        }
        EVP_PKEY_free(pk);
    }
}

static int testimg_sign(int k, const uint8_t digest[32], uint8_t sig[64])
{
    EVP_PKEY *pk = EVP_PKEY_new_raw_private_key(EVP_PKEY_ED25519, NULL, testimg_seed[k & 1], 32);
    if (pk == NULL) {
        return -1;
    }
    EVP_MD_CTX *md = EVP_MD_CTX_new();
    size_t slen = 64;
    int ok = md != NULL && EVP_DigestSignInit(md, NULL, NULL, NULL, pk) == 1 &&
             EVP_DigestSign(md, sig, &slen, digest, 32) == 1 && slen == 64;
    EVP_MD_CTX_free(md);
    EVP_PKEY_free(pk);
    return ok ? 0 : -1;
}

static void testimg_keyhash(int k, uint8_t out[32])
{
    static const uint8_t spki_prefix[12] = {0x30, 0x2a, 0x30, 0x05, 0x06, 0x03,
                                            0x2b, 0x65, 0x70, 0x03, 0x21, 0x00};
    uint8_t der[44];
    memcpy(der, spki_prefix, sizeof spki_prefix);
    testimg_pubkey(k, &der[12]);
    SHA256(der, sizeof der, out);
}

struct testimg_opts testimg_defaults(uint32_t size, uint8_t major, uint8_t minor, uint16_t rev)
{
    struct testimg_opts o;
    memset(&o, 0, sizeof o);
    o.payload_size = size;
    o.seed = 0x1234567u + size;
    o.ver.iv_major = major;
    o.ver.iv_minor = minor;
    o.ver.iv_revision = rev;
    o.ver.iv_build_num = 1;
    o.keyhash_key = TESTIMG_KEY_A;
    o.sign_key = TESTIMG_KEY_A;
    return o;
}

static size_t testimg_tlv(uint8_t *p, uint16_t type, const uint8_t *val, uint16_t len)
{
    ota_put_le16(p, type);
    ota_put_le16(p + 2, len);
    memcpy(p + 4, val, len);
    return 4u + len;
}

static uint16_t testimg_prot_size(const struct testimg_opts *o)
{
    if (!o->prot_tlv) {
        return 0;
    }
    return (uint16_t)(4 + 8 + (o->prot_extra != 0 ? 4 + o->prot_extra : 0));
}

size_t testimg_size(const struct testimg_opts *o)
{
    size_t hs = o->hdr_size != 0 ? o->hdr_size : IMAGE_HEADER_SIZE;
    return hs + o->payload_size + testimg_prot_size(o) + 4u + (o->no_hash ? 0u : 4u + 32u) +
           (o->no_keyhash ? 0u : 4u + 32u) + (o->no_sig ? 0u : 4u + 64u);
}

size_t testimg_build(const struct testimg_opts *o, uint8_t *out, size_t cap)
{
    uint32_t hs = o->hdr_size != 0 ? o->hdr_size : IMAGE_HEADER_SIZE;
    if (testimg_size(o) > cap || hs < IMAGE_HEADER_SIZE) {
        return 0;
    }
    memset(out, 0, hs);
    /* payload: vector table, then pseudo-random bytes */
    uint8_t *pl = out + hs;
    uint32_t st = o->seed;
    for (uint32_t i = 0; i < o->payload_size; i++) {
        pl[i] = (uint8_t)flash_sim_rand(&st);
    }
    if (o->payload_size >= 8) {
        uint32_t reset = o->reset;
        if (reset == 0) {
            reset = APP_ADDR + (o->payload_size > 0x104 ? 0x101u : 0x9u);
        }
        ota_put_le32(&pl[0], o->sp != 0 ? o->sp : SRAM_BASE_ADDR + SRAM_TOTAL_SIZE);
        ota_put_le32(&pl[4], reset);
    }
    size_t pos = hs + o->payload_size;
    uint16_t prot = 0;
    if (o->prot_tlv) {
        uint8_t cnt[4] = {7, 0, 0, 0};
        prot = testimg_prot_size(o);
        ota_put_le16(&out[pos], IMAGE_TLV_PROT_INFO_MAGIC);
        ota_put_le16(&out[pos + 2], prot);
        pos += 4;
        pos += testimg_tlv(&out[pos], IMAGE_TLV_SEC_CNT, cnt, 4);
        if (o->prot_extra != 0) {
            ota_put_le16(&out[pos], 0x00A0);
            ota_put_le16(&out[pos + 2], o->prot_extra);
            memset(&out[pos + 4], 0x5C, o->prot_extra);
            pos += 4u + o->prot_extra;
        }
    }
    struct image_header h;
    memset(&h, 0, sizeof h);
    h.ih_magic = IMAGE_MAGIC;
    h.ih_hdr_size = (uint16_t)hs;
    h.ih_protect_tlv_size = prot;
    h.ih_img_size = o->payload_size;
    h.ih_flags = o->flags;
    h.ih_ver = o->ver;
    image_header_encode(&h, out);

    uint8_t digest[32];
    SHA256(out, pos, digest);
    size_t info = pos;
    pos += 4;
    if (!o->no_hash) {
        pos += testimg_tlv(&out[pos], IMAGE_TLV_SHA256, digest, 32);
    }
    if (!o->no_keyhash) {
        uint8_t kh[32];
        testimg_keyhash(o->keyhash_key, kh);
        pos += testimg_tlv(&out[pos], IMAGE_TLV_KEYHASH, kh, 32);
    }
    if (!o->no_sig) {
        uint8_t sig[64];
        if (testimg_sign(o->sign_key, digest, sig) != 0) {
            return 0;
        }
        pos += testimg_tlv(&out[pos], IMAGE_TLV_ED25519, sig, 64);
    }
    ota_put_le16(&out[info], IMAGE_TLV_INFO_MAGIC);
    ota_put_le16(&out[info + 2], (uint16_t)(pos - info));
    return pos;
}

int testimg_sha256(const uint8_t *img, size_t len, uint8_t out[32])
{
    if (len < IMAGE_HEADER_SIZE) {
        return -1;
    }
    struct image_header h;
    image_header_parse(img, &h);
    size_t pos = (size_t)h.ih_hdr_size + h.ih_img_size + h.ih_protect_tlv_size;
    if (pos + 4u > len || ota_get_le16(&img[pos]) != IMAGE_TLV_INFO_MAGIC) {
        return -1;
    }
    size_t end = pos + ota_get_le16(&img[pos + 2]);
    if (end > len) {
        return -1;
    }
    for (pos += 4u; pos + 4u <= end;) {
        uint16_t type = ota_get_le16(&img[pos]);
        uint16_t n = ota_get_le16(&img[pos + 2]);
        if (pos + 4u + n > end) {
            return -1;
        }
        if (type == IMAGE_TLV_SHA256 && n == 32u) {
            memcpy(out, &img[pos + 4u], 32);
            return 0;
        }
        pos += 4u + n;
    }
    return -1;
}

int testimg_write_file(const char *path, const uint8_t *buf, size_t len)
{
    FILE *f = fopen(path, "wb");
    if (f == NULL) {
        return -1;
    }
    size_t n = fwrite(buf, 1, len, f);
    int rc = fclose(f);
    return (n == len && rc == 0) ? 0 : -1;
}

void testimg_stage(const uint8_t *img, size_t len)
{
    uint8_t *mem = flash_sim_mem();
    memset(&mem[STAGING_ADDR - FLASH_BASE_ADDR], FLASH_ERASED_BYTE, STAGING_SIZE);
    if (len <= STAGING_SIZE) {
        flash_sim_load(STAGING_ADDR, img, (uint32_t)len);
    }
}

int testimg_factory_install(const uint8_t *img, size_t len)
{
    static uint8_t area[BOOTCTL_HDR_AREA_SIZE];
    static uint8_t desc[APP_DESC_SIZE];
    struct image_reader rd;
    struct image_buf buf;
    image_reader_init_buf(&rd, &buf, img, (uint32_t)len);
    uint32_t dlen;
    uint32_t doff;
    int rc = bootctl_installed_layout(&rd, area, desc, &dlen, &doff);
    if (rc != BOOTCTL_OK) {
        return rc;
    }
    struct image_header h;
    image_header_parse(img, &h);
    uint8_t *mem = flash_sim_mem();
    memset(&mem[APPHDR_ADDR - FLASH_BASE_ADDR], FLASH_ERASED_BYTE, APPHDR_SIZE);
    memset(&mem[APP_ADDR - FLASH_BASE_ADDR], FLASH_ERASED_BYTE, APP_SIZE);
    flash_sim_load(APPHDR_ADDR, area, BOOTCTL_HDR_AREA_SIZE);
    flash_sim_load(APP_ADDR, img + h.ih_hdr_size, h.ih_img_size);
    flash_sim_load(APP_ADDR + doff, desc, dlen);
    return 0;
}
