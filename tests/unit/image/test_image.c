/*
 * lib/image against MCUboot imgtool's own images and against images built here with OpenSSL
 * (hash and signatures computed independently of lib/crypto), one test per way an image can be
 * bad, each asserting its specific error code.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>

#include "flash_layout.h"
#include "image.h"
#include "ota_util.h"

#define VEC_DIR OTA_TESTVECTORS_DIR "/imgtool/"
#define IMG_CAP 8192u
#define PAYLOAD_LEN 1000u

/* ---- keys (loaded once) ---- */

static EVP_PKEY *key_ours;  /* test-ed25519.pem: the key the "device" trusts */
static EVP_PKEY *key_other; /* a fresh key the device does not know */
static uint8_t pub_ours[32];
static uint8_t pub_other[32];

static EVP_PKEY *load_pem(const char *path)
{
    FILE *f = fopen(path, "rb");
    EVP_PKEY *k;
    assert_non_null(f);
    k = PEM_read_PrivateKey(f, NULL, NULL, NULL);
    assert_int_equal(fclose(f), 0);
    assert_non_null(k);
    return k;
}

static void raw_pub(EVP_PKEY *k, uint8_t out[32])
{
    size_t len = 32;
    assert_int_equal(EVP_PKEY_get_raw_public_key(k, out, &len), 1);
    assert_int_equal(len, 32);
}

static int group_setup(void **state)
{
    (void)state;
    key_ours = load_pem(VEC_DIR "test-ed25519.pem");
    key_other = EVP_PKEY_Q_keygen(NULL, NULL, "ED25519");
    assert_non_null(key_other);
    raw_pub(key_ours, pub_ours);
    raw_pub(key_other, pub_other);
    assert_memory_not_equal(pub_ours, pub_other, 32);
    return 0;
}

static int group_teardown(void **state)
{
    (void)state;
    EVP_PKEY_free(key_ours);
    EVP_PKEY_free(key_other);
    return 0;
}

static void ssl_sha256(const void *data, size_t len, uint8_t out[32])
{
    unsigned int n = 0;
    assert_int_equal(EVP_Digest(data, len, out, &n, EVP_sha256(), NULL), 1);
    assert_int_equal(n, 32);
}

static void ssl_spki(EVP_PKEY *k, uint8_t out[44])
{
    unsigned char *p = out;
    assert_int_equal(i2d_PUBKEY(k, NULL), 44);
    assert_int_equal(i2d_PUBKEY(k, &p), 44);
}

static void ssl_sign(EVP_PKEY *k, const uint8_t *msg, size_t len, uint8_t sig[64])
{
    EVP_MD_CTX *md = EVP_MD_CTX_new();
    size_t sig_len = 64;
    assert_non_null(md);
    assert_int_equal(EVP_DigestSignInit(md, NULL, NULL, NULL, k), 1);
    assert_int_equal(EVP_DigestSign(md, sig, &sig_len, msg, len), 1);
    assert_int_equal(sig_len, 64);
    EVP_MD_CTX_free(md);
}

/* ---- image builder ---- */

enum tlv_kind { V_RAW, V_HASH, V_KEYHASH, V_PUBKEY, V_SIG };

struct tlv_spec {
    uint16_t type;
    enum tlv_kind kind;
    uint16_t len;     /* V_RAW only; the others have their natural length */
    uint8_t fill;     /* V_RAW content */
    EVP_PKEY *key;    /* V_KEYHASH / V_PUBKEY / V_SIG: NULL means key_ours */
};

struct spec {
    uint16_t hdr_size;
    uint32_t payload_len;
    uint32_t flags;
    struct image_version ver;
    struct tlv_spec prot[4];
    int nprot;
    struct tlv_spec tlv[8];
    int ntlv;
};

struct img {
    uint8_t data[IMG_CAP];
    uint32_t len;
    uint32_t prot_off; /* offset of the protected info header, or of the TLV info if none */
    uint32_t tlv_off;  /* offset of the unprotected info header */
    struct image_reader rd;
    struct image_buf buf;
};

static struct spec default_spec(void)
{
    struct spec s;
    memset(&s, 0, sizeof(s));
    s.hdr_size = 32;
    s.payload_len = PAYLOAD_LEN;
    s.ver.iv_major = 1;
    s.ver.iv_minor = 2;
    s.ver.iv_revision = 3;
    s.ver.iv_build_num = 4;
    s.tlv[0] = (struct tlv_spec){.type = IMAGE_TLV_SHA256, .kind = V_HASH};
    s.tlv[1] = (struct tlv_spec){.type = IMAGE_TLV_KEYHASH, .kind = V_KEYHASH};
    s.tlv[2] = (struct tlv_spec){.type = IMAGE_TLV_ED25519, .kind = V_SIG};
    s.ntlv = 3;
    return s;
}

static uint16_t spec_len(const struct tlv_spec *t)
{
    switch (t->kind) {
    case V_HASH:
    case V_KEYHASH:
        return 32;
    case V_PUBKEY:
        return 44;
    case V_SIG:
        return 64;
    default:
        return t->len;
    }
}

static uint32_t put_tlvs(struct img *im, uint32_t p, uint16_t magic, const struct tlv_spec *t,
                         int n, const uint8_t digest[32])
{
    uint32_t start = p;
    uint32_t tot = 4;
    for (int i = 0; i < n; i++) {
        tot += 4u + spec_len(&t[i]);
    }
    assert_true(p + tot <= IMG_CAP);
    ota_put_le16(&im->data[p], magic);
    ota_put_le16(&im->data[p + 2], (uint16_t)tot);
    p += 4;
    for (int i = 0; i < n; i++) {
        EVP_PKEY *k = t[i].key != NULL ? t[i].key : key_ours;
        uint16_t len = spec_len(&t[i]);
        uint8_t *v = &im->data[p + 4];
        uint8_t spki[44];
        ota_put_le16(&im->data[p], t[i].type);
        ota_put_le16(&im->data[p + 2], len);
        switch (t[i].kind) {
        case V_RAW:
            memset(v, t[i].fill, len);
            break;
        case V_HASH:
            assert_non_null(digest);
            memcpy(v, digest, 32);
            break;
        case V_KEYHASH:
            ssl_spki(k, spki);
            ssl_sha256(spki, sizeof(spki), v);
            break;
        case V_PUBKEY:
            ssl_spki(k, v);
            break;
        case V_SIG:
            assert_non_null(digest);
            ssl_sign(k, digest, 32, v);
            break;
        }
        p += 4u + len;
    }
    assert_int_equal(p - start, tot);
    return p;
}

static void img_reader(struct img *im, uint32_t size)
{
    image_reader_init_buf(&im->rd, &im->buf, im->data, size);
}

/* Header (0xff padding like imgtool), payload, protected TLVs, TLVs; hash and signature over
 * the result computed with OpenSSL. */
static void build(struct img *im, const struct spec *s)
{
    struct image_header h;
    uint8_t digest[32];
    uint32_t p;

    memset(im, 0, sizeof(*im));
    assert_true((uint32_t)s->hdr_size + s->payload_len < IMG_CAP - 2500u);
    memset(im->data, 0xff, s->hdr_size > 32 ? s->hdr_size : 32);
    memset(&h, 0, sizeof(h));
    h.ih_magic = IMAGE_MAGIC;
    h.ih_hdr_size = s->hdr_size;
    h.ih_img_size = s->payload_len;
    h.ih_flags = s->flags;
    h.ih_ver = s->ver;
    p = (uint32_t)s->hdr_size + s->payload_len;
    for (uint32_t i = s->hdr_size; i < p; i++) {
        im->data[i] = (uint8_t)(i * 7u + 3u);
    }
    im->prot_off = p;
    if (s->nprot > 0) {
        p = put_tlvs(im, p, IMAGE_TLV_PROT_INFO_MAGIC, s->prot, s->nprot, NULL);
        h.ih_protect_tlv_size = (uint16_t)(p - im->prot_off);
    }
    image_header_encode(&h, im->data);
    im->tlv_off = p;
    ssl_sha256(im->data, p, digest);
    im->len = put_tlvs(im, p, IMAGE_TLV_INFO_MAGIC, s->tlv, s->ntlv, digest);
    img_reader(im, im->len);
}

static int parse_verify(struct img *im)
{
    struct image_info info;
    int rc = image_parse(&im->rd, &info);
    if (rc != IMAGE_OK) {
        return rc;
    }
    return image_verify(&im->rd, &info, pub_ours, NULL);
}

static int parse_only(struct img *im)
{
    struct image_info info;
    return image_parse(&im->rd, &info);
}

/* Value offset of the n-th TLV (0-based) of the unprotected area, walking the bytes directly. */
static uint32_t tlv_val(const struct img *im, int n)
{
    uint32_t p = im->tlv_off + 4;
    for (int i = 0; i < n; i++) {
        p += 4u + ota_get_le16(&im->data[p + 2]);
    }
    return p + 4;
}

static void load_vector(struct img *im, const char *name)
{
    char path[512];
    FILE *f;
    int n = snprintf(path, sizeof(path), "%s%s", VEC_DIR, name);
    assert_true(n > 0 && (size_t)n < sizeof(path));
    memset(im, 0, sizeof(*im));
    f = fopen(path, "rb");
    assert_non_null(f);
    im->len = (uint32_t)fread(im->data, 1, IMG_CAP, f);
    assert_int_equal(ferror(f), 0);
    assert_int_equal(feof(f) != 0, 1);
    assert_int_equal(fclose(f), 0);
    img_reader(im, im->len);
}

/* ---- imgtool vectors ---- */

static void check_vector_valid(const char *name, uint16_t hdr_size, uint16_t prot, uint8_t major,
                               uint32_t build_num)
{
    static struct img im;
    struct image_info info;
    uint8_t digest[32];
    uint32_t off;
    uint16_t len;

    load_vector(&im, name);
    assert_int_equal(image_parse(&im.rd, &info), IMAGE_OK);
    assert_int_equal(info.hdr.ih_magic, IMAGE_MAGIC);
    assert_int_equal(info.hdr.ih_hdr_size, hdr_size);
    assert_int_equal(info.hdr.ih_protect_tlv_size, prot);
    assert_int_equal(info.hdr.ih_img_size, 3000);
    assert_int_equal(info.hdr.ih_ver.iv_major, major);
    assert_int_equal(info.hdr.ih_ver.iv_build_num, build_num);
    assert_int_equal(info.prot_tlv_off, hdr_size + 3000u);
    assert_int_equal(info.tlv_off, hdr_size + 3000u + prot);
    assert_int_equal(info.tlv_end, im.len);

    memset(digest, 0, sizeof(digest));
    assert_int_equal(image_verify(&im.rd, &info, pub_ours, digest), IMAGE_OK);
    /* The digest handed back is the one the image carries and the one OpenSSL computes. */
    assert_int_equal(image_tlv_find(&im.rd, &info, IMAGE_TLV_SHA256, &off, &len), 0);
    assert_int_equal(len, 32);
    assert_memory_equal(digest, &im.data[off], 32);
    {
        uint8_t ssl[32];
        ssl_sha256(im.data, info.tlv_off, ssl);
        assert_memory_equal(digest, ssl, 32);
    }
    /* Another key must not accept it. */
    assert_int_equal(image_verify(&im.rd, &info, pub_other, NULL), IMAGE_ERR_KEYHASH);
}

static void test_vector_hdr32(void **state)
{
    (void)state;
    check_vector_valid("ed25519-hdr32.img", 32, 0, 1, 4);
}

static void test_vector_hdr512(void **state)
{
    (void)state;
    check_vector_valid("ed25519-hdr512.img", 512, 0, 2, 0);
}

static void test_vector_seccnt7(void **state)
{
    static struct img im;
    struct image_info info;
    struct image_tlv_iter it;
    uint32_t off;
    uint16_t len;
    uint16_t type;
    (void)state;

    check_vector_valid("ed25519-seccnt7.img", 32, 12, 1, 5);
    load_vector(&im, "ed25519-seccnt7.img");
    assert_int_equal(image_parse(&im.rd, &info), IMAGE_OK);
    assert_int_equal(image_tlv_iter_begin(&it, &im.rd, &info, IMAGE_TLV_SEC_CNT, true), IMAGE_OK);
    assert_int_equal(image_tlv_iter_next(&it, &off, &len, &type), 0);
    assert_int_equal(type, IMAGE_TLV_SEC_CNT);
    assert_int_equal(len, 4);
    assert_int_equal(ota_get_le32(&im.data[off]), 7);
    assert_true(image_tlv_iter_is_prot(&it, off));
    assert_int_equal(image_tlv_iter_next(&it, &off, &len, &type), 1);
    /* A flipped bit in the protected TLV breaks the hash. */
    im.data[info.prot_tlv_off + 8] ^= 0x01u;
    assert_int_equal(parse_verify(&im), IMAGE_ERR_HASH);
}

static void test_vector_fullkey(void **state)
{
    static struct img im;
    struct image_info info;
    uint32_t off;
    uint16_t len;
    (void)state;

    check_vector_valid("ed25519-fullkey.img", 32, 0, 1, 6);
    load_vector(&im, "ed25519-fullkey.img");
    assert_int_equal(image_parse(&im.rd, &info), IMAGE_OK);
    assert_int_equal(image_tlv_find(&im.rd, &info, IMAGE_TLV_KEYHASH, &off, &len), 1);
    assert_int_equal(image_tlv_find(&im.rd, &info, IMAGE_TLV_PUBKEY, &off, &len), 0);
    assert_int_equal(len, 44);
    /* A different public key in the PUBKEY TLV is "not our key". */
    im.data[off + 43] ^= 0x80u;
    assert_int_equal(image_verify(&im.rd, &info, pub_ours, NULL), IMAGE_ERR_KEYHASH);
}

static void test_vector_ecdsa_rejected(void **state)
{
    static struct img im;
    struct image_info info;
    (void)state;
    load_vector(&im, "ecdsa-p256.img");
    assert_int_equal(image_parse(&im.rd, &info), IMAGE_OK);
    assert_int_equal(image_verify(&im.rd, &info, pub_ours, NULL), IMAGE_ERR_NO_SIG);
}

static void test_vector_unsigned_rejected(void **state)
{
    static struct img im;
    struct image_info info;
    (void)state;
    load_vector(&im, "unsigned.img");
    assert_int_equal(image_parse(&im.rd, &info), IMAGE_OK);
    assert_int_equal(image_verify(&im.rd, &info, pub_ours, NULL), IMAGE_ERR_NO_SIG);
}

static void test_keyhash_matches_imgtool(void **state)
{
    static struct img im;
    struct image_info info;
    uint8_t kh[32];
    uint32_t off;
    uint16_t len;
    (void)state;
    load_vector(&im, "ed25519-hdr32.img");
    assert_int_equal(image_parse(&im.rd, &info), IMAGE_OK);
    assert_int_equal(image_tlv_find(&im.rd, &info, IMAGE_TLV_KEYHASH, &off, &len), 0);
    image_keyhash(pub_ours, kh);
    assert_memory_equal(kh, &im.data[off], 32);
    image_keyhash(pub_other, kh);
    assert_memory_not_equal(kh, &im.data[off], 32);
}

static void test_header_roundtrip(void **state)
{
    static struct img im;
    struct image_header h;
    uint8_t raw[IMAGE_HEADER_SIZE];
    (void)state;
    load_vector(&im, "ed25519-hdr32.img");
    image_header_parse(im.data, &h);
    assert_int_equal(h.ih_magic, IMAGE_MAGIC);
    assert_int_equal(h.ih_load_addr, 0);
    assert_int_equal(h.ih_img_size, 3000);
    assert_int_equal(h.ih_ver.iv_minor, 2);
    assert_int_equal(h.ih_ver.iv_revision, 3);
    image_header_encode(&h, raw);
    assert_memory_equal(raw, im.data, IMAGE_HEADER_SIZE);
}

/* ---- built images: the good ones ---- */

static void test_built_valid(void **state)
{
    static struct img im;
    struct spec s = default_spec();
    (void)state;
    build(&im, &s);
    assert_int_equal(parse_verify(&im), IMAGE_OK);
    /* Unknown and vendor TLVs are skipped. */
    s.tlv[3] = (struct tlv_spec){.type = 0x00a0, .kind = V_RAW, .len = 5, .fill = 0x5a};
    s.ntlv = 4;
    build(&im, &s);
    assert_int_equal(parse_verify(&im), IMAGE_OK);
    /* PIC is the one flag we accept. */
    s.flags = IMAGE_F_PIC;
    build(&im, &s);
    assert_int_equal(parse_verify(&im), IMAGE_OK);
}

static void test_built_both_keyhash_and_pubkey(void **state)
{
    static struct img im;
    struct spec s = default_spec();
    (void)state;
    s.tlv[3] = (struct tlv_spec){.type = IMAGE_TLV_PUBKEY, .kind = V_PUBKEY};
    s.ntlv = 4;
    build(&im, &s);
    assert_int_equal(parse_verify(&im), IMAGE_OK);
    /* Whichever is present must be ours. */
    s.tlv[3].key = key_other;
    build(&im, &s);
    assert_int_equal(parse_verify(&im), IMAGE_ERR_KEYHASH);
    s.tlv[3].key = NULL;
    s.tlv[1].key = key_other;
    build(&im, &s);
    assert_int_equal(parse_verify(&im), IMAGE_ERR_KEYHASH);
}

static void test_max_header_size_accepted(void **state)
{
    static struct img im;
    struct spec s = default_spec();
    (void)state;
    s.hdr_size = IMAGE_MAX_HDR_SIZE;
    build(&im, &s);
    assert_int_equal(parse_verify(&im), IMAGE_OK);
    s.hdr_size = 33; /* odd sizes are legal for imgtool */
    build(&im, &s);
    assert_int_equal(parse_verify(&im), IMAGE_OK);
}

static void test_security_tlv_in_protected_area(void **state)
{
    static struct img im;
    struct spec s = default_spec();
    (void)state;
    /* A KEYHASH inside the hashed area is as good as outside it. */
    s.prot[0] = (struct tlv_spec){.type = IMAGE_TLV_KEYHASH, .kind = V_KEYHASH};
    s.nprot = 1;
    s.tlv[1] = s.tlv[2];
    s.ntlv = 2;
    build(&im, &s);
    assert_int_equal(parse_verify(&im), IMAGE_OK);
}

static void test_trailing_bytes_ignored(void **state)
{
    static struct img im;
    struct spec s = default_spec();
    (void)state;
    build(&im, &s);
    memset(&im.data[im.len], 0xff, 64);
    img_reader(&im, im.len + 64u);
    assert_int_equal(parse_verify(&im), IMAGE_OK);
}

/* ---- bad images ---- */

static void test_bad_magic(void **state)
{
    static struct img im;
    struct spec s = default_spec();
    (void)state;
    build(&im, &s);
    im.data[0] ^= 0x01u;
    assert_int_equal(parse_only(&im), IMAGE_ERR_MAGIC);
    memset(im.data, 0xff, 4); /* erased flash */
    assert_int_equal(parse_only(&im), IMAGE_ERR_MAGIC);
}

static void set_hdr16(struct img *im, uint32_t off, uint16_t v)
{
    ota_put_le16(&im->data[off], v);
}

static void set_hdr32(struct img *im, uint32_t off, uint32_t v)
{
    ota_put_le32(&im->data[off], v);
}

static void test_bad_header_size(void **state)
{
    static struct img im;
    struct spec s = default_spec();
    (void)state;
    build(&im, &s);
    set_hdr16(&im, 8, 0);
    assert_int_equal(parse_only(&im), IMAGE_ERR_HDR_SIZE);
    set_hdr16(&im, 8, 31);
    assert_int_equal(parse_only(&im), IMAGE_ERR_HDR_SIZE);
    set_hdr16(&im, 8, IMAGE_MAX_HDR_SIZE + 1u);
    assert_int_equal(parse_only(&im), IMAGE_ERR_HDR_SIZE);
    set_hdr16(&im, 8, 0xffff);
    assert_int_equal(parse_only(&im), IMAGE_ERR_HDR_SIZE);
}

static void test_payload_beyond_slot(void **state)
{
    static struct img im;
    struct spec s = default_spec();
    (void)state;
    build(&im, &s);
    set_hdr32(&im, 12, im.len);
    assert_int_equal(parse_only(&im), IMAGE_ERR_TOO_BIG);
    /* Sizes that wrap around 32 bits. */
    set_hdr32(&im, 12, 0xffffffe0u);
    assert_int_equal(parse_only(&im), IMAGE_ERR_TOO_BIG);
    set_hdr32(&im, 12, 0xffffffffu);
    assert_int_equal(parse_only(&im), IMAGE_ERR_TOO_BIG);
    /* The payload fits but the TLV info header does not. */
    set_hdr32(&im, 12, im.len - 32u - 2u);
    assert_int_equal(parse_only(&im), IMAGE_ERR_TOO_BIG);
}

static void test_tlv_area_beyond_slot(void **state)
{
    static struct img im;
    struct spec s = default_spec();
    (void)state;
    build(&im, &s);
    ota_put_le16(&im.data[im.tlv_off + 2], (uint16_t)(im.len - im.tlv_off + 1u));
    assert_int_equal(parse_only(&im), IMAGE_ERR_TOO_BIG);
    ota_put_le16(&im.data[im.tlv_off + 2], 0xffff);
    assert_int_equal(parse_only(&im), IMAGE_ERR_TOO_BIG);
}

static void test_truncated_image(void **state)
{
    static struct img im;
    struct spec s = default_spec();
    (void)state;
    build(&im, &s);
    img_reader(&im, im.len - 1u); /* last signature byte missing */
    assert_int_equal(parse_only(&im), IMAGE_ERR_TOO_BIG);
    img_reader(&im, im.tlv_off + 2u); /* cut in the TLV info header */
    assert_int_equal(parse_only(&im), IMAGE_ERR_TOO_BIG);
    img_reader(&im, 500); /* cut in the payload */
    assert_int_equal(parse_only(&im), IMAGE_ERR_TOO_BIG);
    img_reader(&im, 31); /* cut in the header */
    assert_int_equal(parse_only(&im), IMAGE_ERR_TOO_BIG);
    img_reader(&im, 0);
    assert_int_equal(parse_only(&im), IMAGE_ERR_TOO_BIG);
}

static void test_bad_tlv_info_magic(void **state)
{
    static struct img im;
    struct spec s = default_spec();
    (void)state;
    build(&im, &s);
    im.data[im.tlv_off] ^= 0x01u;
    assert_int_equal(parse_only(&im), IMAGE_ERR_TLV_MAGIC);
    /* Two protected areas in a row: the second is not the unprotected one. */
    s.prot[0] = (struct tlv_spec){.type = IMAGE_TLV_SEC_CNT, .kind = V_RAW, .len = 4, .fill = 1};
    s.nprot = 1;
    build(&im, &s);
    ota_put_le16(&im.data[im.tlv_off], IMAGE_TLV_PROT_INFO_MAGIC);
    assert_int_equal(parse_only(&im), IMAGE_ERR_TLV_MAGIC);
    /* The protected area's own magic wrong. */
    build(&im, &s);
    ota_put_le16(&im.data[im.prot_off], 0x1234);
    assert_int_equal(parse_only(&im), IMAGE_ERR_TLV_MAGIC);
}

static void test_tlv_length_lies(void **state)
{
    static struct img im;
    struct spec s = default_spec();
    uint32_t v;
    (void)state;

    build(&im, &s);
    /* The last TLV claims one byte more than its area holds. */
    v = tlv_val(&im, 2);
    ota_put_le16(&im.data[v - 2], 65);
    assert_int_equal(parse_only(&im), IMAGE_ERR_TLV_LEN);
    /* A length that runs far past the end. */
    ota_put_le16(&im.data[v - 2], 0xffff);
    assert_int_equal(parse_only(&im), IMAGE_ERR_TLV_LEN);
    /* The area is 2 bytes longer than its TLVs: a TLV header cannot fit. */
    build(&im, &s);
    ota_put_le16(&im.data[im.tlv_off + 2], (uint16_t)(im.len - im.tlv_off + 2u));
    im.data[im.len] = 0;
    im.data[im.len + 1] = 0;
    img_reader(&im, im.len + 2u);
    assert_int_equal(parse_only(&im), IMAGE_ERR_TLV_LEN);
    /* tot_len smaller than the info header itself. */
    build(&im, &s);
    ota_put_le16(&im.data[im.tlv_off + 2], 3);
    assert_int_equal(parse_only(&im), IMAGE_ERR_TLV_LEN);
    /* The area ends inside a TLV: shorten it by one byte. */
    build(&im, &s);
    ota_put_le16(&im.data[im.tlv_off + 2], (uint16_t)(im.len - im.tlv_off - 1u));
    assert_int_equal(parse_only(&im), IMAGE_ERR_TLV_LEN);
}

static void test_tlv_overlap_protected(void **state)
{
    static struct img im;
    struct spec s = default_spec();
    (void)state;
    s.prot[0] = (struct tlv_spec){.type = IMAGE_TLV_SEC_CNT, .kind = V_RAW, .len = 4, .fill = 7};
    s.nprot = 1;
    build(&im, &s);
    assert_int_equal(parse_verify(&im), IMAGE_OK);
    /* The protected TLV claims to run into the unprotected area. */
    ota_put_le16(&im.data[im.prot_off + 6], 12);
    assert_int_equal(parse_only(&im), IMAGE_ERR_TLV_LEN);
}

static void test_security_tlv_wrong_length(void **state)
{
    static struct img im;
    struct spec s = default_spec();
    (void)state;
    s.tlv[0] = (struct tlv_spec){.type = IMAGE_TLV_SHA256, .kind = V_RAW, .len = 31};
    build(&im, &s);
    assert_int_equal(parse_only(&im), IMAGE_ERR_TLV_LEN);
    s = default_spec();
    s.tlv[2] = (struct tlv_spec){.type = IMAGE_TLV_ED25519, .kind = V_RAW, .len = 63};
    build(&im, &s);
    assert_int_equal(parse_only(&im), IMAGE_ERR_TLV_LEN);
    s = default_spec();
    s.tlv[1] = (struct tlv_spec){.type = IMAGE_TLV_KEYHASH, .kind = V_RAW, .len = 33};
    build(&im, &s);
    assert_int_equal(parse_only(&im), IMAGE_ERR_TLV_LEN);
}

static void test_protected_size_mismatch(void **state)
{
    static struct img im;
    struct spec s = default_spec();
    (void)state;
    s.prot[0] = (struct tlv_spec){.type = IMAGE_TLV_SEC_CNT, .kind = V_RAW, .len = 4, .fill = 7};
    s.nprot = 1;
    build(&im, &s);
    /* Header says 16, area says 12. */
    set_hdr16(&im, 10, 16);
    assert_int_equal(parse_only(&im), IMAGE_ERR_PROT_SIZE);
    /* Header says none, yet the protected area is there. */
    set_hdr16(&im, 10, 0);
    assert_int_equal(parse_only(&im), IMAGE_ERR_PROT_SIZE);
    /* Smaller than an info header. */
    set_hdr16(&im, 10, 2);
    assert_int_equal(parse_only(&im), IMAGE_ERR_PROT_SIZE);
    /* Header announces a protected area, the unprotected area is found instead. */
    s = default_spec();
    build(&im, &s);
    set_hdr16(&im, 10, 12);
    img_reader(&im, im.len + 12u);
    assert_int_equal(parse_only(&im), IMAGE_ERR_PROT_SIZE);
}

static void test_missing_hash(void **state)
{
    static struct img im;
    struct spec s = default_spec();
    (void)state;
    s.tlv[0] = s.tlv[1];
    s.tlv[1] = s.tlv[2];
    s.ntlv = 2;
    build(&im, &s);
    assert_int_equal(parse_verify(&im), IMAGE_ERR_NO_HASH);
    /* A SHA384 TLV is not a SHA256 TLV. */
    s.tlv[2] = (struct tlv_spec){.type = IMAGE_TLV_SHA384, .kind = V_RAW, .len = 48};
    s.ntlv = 3;
    build(&im, &s);
    assert_int_equal(parse_verify(&im), IMAGE_ERR_NO_HASH);
}

static void test_hash_mismatch_header(void **state)
{
    static struct img im;
    struct spec s = default_spec();
    (void)state;
    build(&im, &s);
    im.data[20] ^= 0x01u; /* iv_major: 1 -> 0, a downgrade attempt */
    assert_int_equal(parse_verify(&im), IMAGE_ERR_HASH);
    build(&im, &s);
    im.data[4] ^= 0x80u; /* ih_load_addr */
    assert_int_equal(parse_verify(&im), IMAGE_ERR_HASH);
    build(&im, &s);
    im.data[31] ^= 0x01u; /* _pad1 */
    assert_int_equal(parse_verify(&im), IMAGE_ERR_HASH);
    /* The padding between the 32-byte header and ih_hdr_size is hashed too. */
    s.hdr_size = 512;
    build(&im, &s);
    im.data[300] ^= 0x10u;
    assert_int_equal(parse_verify(&im), IMAGE_ERR_HASH);
}

static void test_hash_mismatch_payload(void **state)
{
    static struct img im;
    struct spec s = default_spec();
    (void)state;
    build(&im, &s);
    im.data[32] ^= 0x01u;
    assert_int_equal(parse_verify(&im), IMAGE_ERR_HASH);
    build(&im, &s);
    im.data[32 + PAYLOAD_LEN - 1u] ^= 0x80u;
    assert_int_equal(parse_verify(&im), IMAGE_ERR_HASH);
    /* The SHA256 TLV itself altered. */
    build(&im, &s);
    im.data[tlv_val(&im, 0) + 5] ^= 0x04u;
    assert_int_equal(parse_verify(&im), IMAGE_ERR_HASH);
}

static void test_hash_mismatch_protected_tlv(void **state)
{
    static struct img im;
    struct spec s = default_spec();
    (void)state;
    s.prot[0] = (struct tlv_spec){.type = IMAGE_TLV_SEC_CNT, .kind = V_RAW, .len = 4, .fill = 7};
    s.nprot = 1;
    build(&im, &s);
    im.data[im.prot_off + 8] ^= 0x01u;
    assert_int_equal(parse_verify(&im), IMAGE_ERR_HASH);
    /* A protected area longer than one hash chunk: its last byte is covered too. */
    s.prot[1] = (struct tlv_spec){.type = 0x00a2, .kind = V_RAW, .len = 600, .fill = 0x33};
    s.nprot = 2;
    build(&im, &s);
    assert_int_equal(parse_verify(&im), IMAGE_OK);
    im.data[im.tlv_off - 1u] ^= 0x01u;
    assert_int_equal(parse_verify(&im), IMAGE_ERR_HASH);
}

static void test_missing_signature(void **state)
{
    static struct img im;
    struct spec s = default_spec();
    (void)state;
    s.ntlv = 2;
    build(&im, &s);
    assert_int_equal(parse_verify(&im), IMAGE_ERR_NO_SIG);
    /* An ECDSA signature is not one we can check. */
    s.tlv[2] = (struct tlv_spec){.type = IMAGE_TLV_ECDSA_SIG, .kind = V_RAW, .len = 71};
    s.ntlv = 3;
    build(&im, &s);
    assert_int_equal(parse_verify(&im), IMAGE_ERR_NO_SIG);
}

static void test_signature_by_other_key(void **state)
{
    static struct img im;
    struct spec s = default_spec();
    (void)state;
    /* Signed by another key, key hash claiming ours: the signature check catches it. */
    s.tlv[2].key = key_other;
    build(&im, &s);
    assert_int_equal(parse_verify(&im), IMAGE_ERR_SIG);
    /* Signed by another key and honest about it. */
    s.tlv[1].key = key_other;
    build(&im, &s);
    assert_int_equal(parse_verify(&im), IMAGE_ERR_KEYHASH);
    /* Correctly signed by the other key: valid for the device that trusts that key only. */
    {
        struct image_info info;
        assert_int_equal(image_parse(&im.rd, &info), IMAGE_OK);
        assert_int_equal(image_verify(&im.rd, &info, pub_other, NULL), IMAGE_OK);
    }
}

static void test_bad_signature_bits(void **state)
{
    static struct img im;
    struct spec s = default_spec();
    (void)state;
    build(&im, &s);
    im.data[tlv_val(&im, 2)] ^= 0x01u; /* R */
    assert_int_equal(parse_verify(&im), IMAGE_ERR_SIG);
    build(&im, &s);
    im.data[tlv_val(&im, 2) + 40] ^= 0x01u; /* S */
    assert_int_equal(parse_verify(&im), IMAGE_ERR_SIG);
}

static void test_keyhash_mismatch(void **state)
{
    static struct img im;
    struct spec s = default_spec();
    (void)state;
    build(&im, &s);
    im.data[tlv_val(&im, 1) + 31] ^= 0x01u;
    assert_int_equal(parse_verify(&im), IMAGE_ERR_KEYHASH);
    /* A PUBKEY TLV of another length (another algorithm's key) is not ours. */
    s.tlv[1] = (struct tlv_spec){.type = IMAGE_TLV_PUBKEY, .kind = V_RAW, .len = 91, .fill = 4};
    build(&im, &s);
    assert_int_equal(parse_verify(&im), IMAGE_ERR_KEYHASH);
    /* A 44-byte PUBKEY with our key bytes but another algorithm's prefix. */
    s.tlv[1] = (struct tlv_spec){.type = IMAGE_TLV_PUBKEY, .kind = V_PUBKEY};
    build(&im, &s);
    im.data[tlv_val(&im, 1) + 8] ^= 0x01u; /* the OID */
    assert_int_equal(parse_verify(&im), IMAGE_ERR_KEYHASH);
}

static void test_missing_keyhash(void **state)
{
    static struct img im;
    struct spec s = default_spec();
    (void)state;
    s.tlv[1] = s.tlv[2];
    s.ntlv = 2;
    build(&im, &s);
    assert_int_equal(parse_verify(&im), IMAGE_ERR_NO_KEYHASH);
}

static void test_zero_length_payload(void **state)
{
    static struct img im;
    struct spec s = default_spec();
    (void)state;
    s.payload_len = 0;
    build(&im, &s);
    assert_int_equal(parse_verify(&im), IMAGE_ERR_EMPTY);
}

static void test_bad_flags(void **state)
{
    static const uint32_t bad[] = {IMAGE_F_ENCRYPTED_AES128, IMAGE_F_ENCRYPTED_AES256,
                                   IMAGE_F_NON_BOOTABLE, IMAGE_F_RAM_LOAD, IMAGE_F_ROM_FIXED,
                                   0x200u, 0x80000000u, IMAGE_F_PIC | IMAGE_F_ENCRYPTED_AES128};
    static struct img im;
    (void)state;
    for (size_t i = 0; i < OTA_ARRAY_SIZE(bad); i++) {
        struct spec s = default_spec();
        s.flags = bad[i]; /* properly signed: only the flag is wrong */
        build(&im, &s);
        assert_int_equal(parse_verify(&im), IMAGE_ERR_FLAGS);
    }
}

static void test_duplicate_tlvs(void **state)
{
    static const uint16_t types[] = {IMAGE_TLV_SHA256, IMAGE_TLV_KEYHASH, IMAGE_TLV_ED25519};
    static struct img im;
    (void)state;
    for (size_t i = 0; i < OTA_ARRAY_SIZE(types); i++) {
        struct spec s = default_spec();
        s.tlv[3] = s.tlv[i];
        s.ntlv = 4;
        build(&im, &s);
        /* image_parse() alone refuses it (tools that only parse rely on that). */
        assert_int_equal(parse_only(&im), IMAGE_ERR_TLV_DUP);
    }
    {
        struct spec s = default_spec();
        s.tlv[1] = (struct tlv_spec){.type = IMAGE_TLV_PUBKEY, .kind = V_PUBKEY};
        s.tlv[3] = s.tlv[1];
        s.ntlv = 4;
        build(&im, &s);
        assert_int_equal(parse_only(&im), IMAGE_ERR_TLV_DUP);
    }
    /* One copy in each area is a duplicate too. */
    {
        struct spec s = default_spec();
        s.prot[0] = (struct tlv_spec){.type = IMAGE_TLV_KEYHASH, .kind = V_KEYHASH};
        s.nprot = 1;
        build(&im, &s);
        assert_int_equal(parse_only(&im), IMAGE_ERR_TLV_DUP);
    }
}

static void test_tlv_find_duplicate_direct(void **state)
{
    static struct img im;
    struct spec s = default_spec();
    struct image_info info;
    uint32_t off;
    uint16_t len;
    (void)state;
    /* image_verify() must not trust an info for an image that changed after image_parse(). */
    build(&im, &s);
    assert_int_equal(image_parse(&im.rd, &info), IMAGE_OK);
    ota_put_le16(&im.data[tlv_val(&im, 1) - 4], IMAGE_TLV_SHA256); /* KEYHASH -> SHA256 */
    assert_int_equal(image_tlv_find(&im.rd, &info, IMAGE_TLV_SHA256, &off, &len),
                     IMAGE_ERR_TLV_DUP);
    assert_int_equal(image_verify(&im.rd, &info, pub_ours, NULL), IMAGE_ERR_TLV_DUP);
}

static void test_descriptor_too_big(void **state)
{
    static struct img im;
    struct spec s = default_spec();
    struct image_header h;
    (void)state;
    /* A large vendor TLV: the header and TLVs would not fit the application descriptor. */
    s.tlv[3] = (struct tlv_spec){.type = 0x00a1, .kind = V_RAW,
                                 .len = (uint16_t)(APP_DESC_SIZE - 32u - 144u - 4u + 1u)};
    s.ntlv = 4;
    build(&im, &s);
    assert_int_equal(parse_verify(&im), IMAGE_ERR_DESC_SIZE);
    s.tlv[3].len--;
    build(&im, &s);
    assert_int_equal(parse_verify(&im), IMAGE_OK);
    /* Header-only check: the protected area alone is too large. */
    memset(&h, 0, sizeof(h));
    h.ih_magic = IMAGE_MAGIC;
    h.ih_hdr_size = IMAGE_MAX_HDR_SIZE;
    h.ih_img_size = 100;
    h.ih_protect_tlv_size = (uint16_t)(APP_DESC_SIZE - IMAGE_MAX_HDR_SIZE);
    assert_int_equal(image_header_check(&h, STAGING_SIZE), IMAGE_ERR_DESC_SIZE);
    h.ih_protect_tlv_size = (uint16_t)(APP_DESC_SIZE - IMAGE_MAX_HDR_SIZE - 4u);
    assert_int_equal(image_header_check(&h, STAGING_SIZE), IMAGE_OK);
}

static void test_header_check_slot_boundary(void **state)
{
    struct image_header h;
    (void)state;
    memset(&h, 0, sizeof(h));
    h.ih_magic = IMAGE_MAGIC;
    h.ih_hdr_size = 32;
    h.ih_img_size = 1000;
    assert_int_equal(image_header_check(&h, 32u + 1000u + 4u), IMAGE_OK);
    assert_int_equal(image_header_check(&h, 32u + 1000u + 3u), IMAGE_ERR_TOO_BIG);
    h.ih_protect_tlv_size = 12;
    assert_int_equal(image_header_check(&h, 32u + 1000u + 4u), IMAGE_ERR_TOO_BIG);
    assert_int_equal(image_header_check(&h, 32u + 1000u + 16u), IMAGE_OK);
    assert_int_equal(image_header_check(NULL, 0), IMAGE_ERR_ARG);
}

/* ---- reader failures and arguments ---- */

struct failing_reader {
    struct img *im;
    int calls_left; /* reads that succeed before the next one fails */
};

static int failing_read(void *ctx, uint32_t off, void *dst, uint32_t len)
{
    struct failing_reader *f = ctx;
    if (f->calls_left == 0) {
        return -5;
    }
    f->calls_left--;
    memcpy(dst, &f->im->data[off], len);
    return 0;
}

static void test_reader_failure(void **state)
{
    static struct img im;
    struct spec s = default_spec();
    struct failing_reader f;
    struct image_reader rd;
    struct image_info info;
    int n_ok = -1;
    (void)state;
    build(&im, &s);
    rd.read = failing_read;
    rd.ctx = &f;
    rd.size = im.len;
    f.im = &im;
    /* Fail the 1st, 2nd, ... read: every failure is reported as IMAGE_ERR_READ, never success. */
    for (int k = 0; k < 64; k++) {
        int rc;
        f.calls_left = k;
        rc = image_parse(&rd, &info);
        if (rc == IMAGE_OK) {
            rc = image_verify(&rd, &info, pub_ours, NULL);
        }
        if (rc == IMAGE_OK) {
            n_ok = k;
            break;
        }
        assert_int_equal(rc, IMAGE_ERR_READ);
    }
    /* Enough reads to pass both, which proves the loop reached every read. */
    assert_true(n_ok > 5);
}

static void test_bad_arguments(void **state)
{
    static struct img im;
    struct spec s = default_spec();
    struct image_info info;
    struct image_info bogus;
    struct image_tlv_iter it;
    struct image_reader no_read;
    uint8_t d[32];
    uint32_t off;
    uint16_t len;
    (void)state;
    build(&im, &s);
    assert_int_equal(image_parse(NULL, &info), IMAGE_ERR_ARG);
    assert_int_equal(image_parse(&im.rd, NULL), IMAGE_ERR_ARG);
    no_read = im.rd;
    no_read.read = NULL;
    assert_int_equal(image_parse(&no_read, &info), IMAGE_ERR_ARG);
    assert_int_equal(image_parse(&im.rd, &info), IMAGE_OK);
    assert_int_equal(image_verify(&im.rd, &info, NULL, NULL), IMAGE_ERR_ARG);
    assert_int_equal(image_verify(NULL, &info, pub_ours, NULL), IMAGE_ERR_ARG);
    assert_int_equal(image_hash(&im.rd, &info, NULL), IMAGE_ERR_ARG);
    assert_int_equal(image_tlv_iter_begin(NULL, &im.rd, &info, IMAGE_TLV_ANY, false),
                     IMAGE_ERR_ARG);
    assert_int_equal(image_tlv_find(&im.rd, &info, IMAGE_TLV_SHA256, NULL, &len), IMAGE_ERR_ARG);
    assert_int_equal(image_tlv_iter_next(NULL, &off, &len, NULL), IMAGE_ERR_ARG);
    /* An info that does not describe this reader is refused, not followed. */
    bogus = info;
    bogus.tlv_end = im.len + 1u;
    assert_int_equal(image_hash(&im.rd, &bogus, d), IMAGE_ERR_ARG);
    assert_int_equal(image_verify(&im.rd, &bogus, pub_ours, NULL), IMAGE_ERR_ARG);
    assert_int_equal(image_tlv_iter_begin(&it, &im.rd, &bogus, IMAGE_TLV_ANY, false),
                     IMAGE_ERR_ARG);
    bogus = info;
    bogus.prot_tlv_off = info.tlv_off + 1u;
    assert_int_equal(image_tlv_iter_begin(&it, &im.rd, &bogus, IMAGE_TLV_ANY, false),
                     IMAGE_ERR_ARG);
    bogus = info;
    bogus.prot_tlv_off = info.tlv_off - 2u;
    assert_int_equal(image_tlv_iter_begin(&it, &im.rd, &bogus, IMAGE_TLV_ANY, false),
                     IMAGE_ERR_ARG);
    bogus = info;
    bogus.tlv_end = info.tlv_off + 3u;
    assert_int_equal(image_tlv_iter_begin(&it, &im.rd, &bogus, IMAGE_TLV_ANY, false),
                     IMAGE_ERR_ARG);
    bogus = info;
    bogus.tlv_off = 0xfffffffeu;
    bogus.tlv_end = 0xffffffffu;
    assert_int_equal(image_tlv_iter_begin(&it, &im.rd, &bogus, IMAGE_TLV_ANY, false),
                     IMAGE_ERR_ARG);
}

/* ---- iterator, versions, names ---- */

static void test_iterator_walk(void **state)
{
    static struct img im;
    struct spec s = default_spec();
    struct image_info info;
    struct image_tlv_iter it;
    static const uint16_t want[] = {IMAGE_TLV_SEC_CNT, 0x00b0, IMAGE_TLV_SHA256, IMAGE_TLV_KEYHASH,
                                    IMAGE_TLV_ED25519};
    uint32_t off;
    uint16_t len;
    uint16_t type;
    size_t n = 0;
    int rc;
    (void)state;
    s.prot[0] = (struct tlv_spec){.type = IMAGE_TLV_SEC_CNT, .kind = V_RAW, .len = 4, .fill = 9};
    s.prot[1] = (struct tlv_spec){.type = 0x00b0, .kind = V_RAW, .len = 0};
    s.nprot = 2;
    build(&im, &s);
    assert_int_equal(image_parse(&im.rd, &info), IMAGE_OK);
    assert_int_equal(image_tlv_iter_begin(&it, &im.rd, &info, IMAGE_TLV_ANY, false), IMAGE_OK);
    while ((rc = image_tlv_iter_next(&it, &off, &len, &type)) == 0) {
        assert_true(n < OTA_ARRAY_SIZE(want));
        assert_int_equal(type, want[n]);
        assert_int_equal(ota_get_le16(&im.data[off - 4]), type);
        assert_int_equal(ota_get_le16(&im.data[off - 2]), len);
        assert_int_equal(image_tlv_iter_is_prot(&it, off), n < 2);
        n++;
    }
    assert_int_equal(rc, 1);
    assert_int_equal(n, OTA_ARRAY_SIZE(want));
    /* Stays at the end. */
    assert_int_equal(image_tlv_iter_next(&it, &off, &len, &type), 1);

    /* prot_only stops at the end of the protected area. */
    n = 0;
    assert_int_equal(image_tlv_iter_begin(&it, &im.rd, &info, IMAGE_TLV_ANY, true), IMAGE_OK);
    while (image_tlv_iter_next(&it, &off, &len, &type) == 0) {
        n++;
    }
    assert_int_equal(n, 2);
    /* prot_only on an image without a protected area finds nothing. */
    s.nprot = 0;
    build(&im, &s);
    assert_int_equal(image_parse(&im.rd, &info), IMAGE_OK);
    assert_int_equal(image_tlv_iter_begin(&it, &im.rd, &info, IMAGE_TLV_ANY, true), IMAGE_OK);
    assert_int_equal(image_tlv_iter_next(&it, &off, &len, &type), 1);
    /* A type filter returns that type only; type out-pointer is optional. */
    assert_int_equal(image_tlv_iter_begin(&it, &im.rd, &info, IMAGE_TLV_ED25519, false), IMAGE_OK);
    assert_int_equal(image_tlv_iter_next(&it, &off, &len, NULL), 0);
    assert_int_equal(len, 64);
    assert_int_equal(off, tlv_val(&im, 2));
    assert_false(image_tlv_iter_is_prot(&it, off));
    assert_int_equal(image_tlv_iter_next(&it, &off, &len, NULL), 1);
}

static void test_version_cmp(void **state)
{
    struct image_version a = {1, 2, 3, 4};
    struct image_version b = a;
    (void)state;
    assert_int_equal(image_version_cmp(&a, &b), 0);
    b.iv_build_num = 5;
    assert_true(image_version_cmp(&a, &b) < 0);
    assert_true(image_version_cmp(&b, &a) > 0);
    b = a;
    b.iv_revision = 2;
    b.iv_build_num = 999;
    assert_true(image_version_cmp(&a, &b) > 0);
    b = a;
    b.iv_minor = 3;
    b.iv_revision = 0;
    assert_true(image_version_cmp(&a, &b) < 0);
    b = a;
    b.iv_major = 0;
    b.iv_minor = 255;
    assert_true(image_version_cmp(&a, &b) > 0);
    b = a;
    b.iv_revision = 0x100; /* 16-bit revision compares as a number, not byte-wise */
    assert_true(image_version_cmp(&a, &b) < 0);
    assert_int_equal(image_version_word(&a), 0x01020003u);
    a.iv_revision = 0xabcd;
    a.iv_major = 0xff;
    assert_int_equal(image_version_word(&a), 0xff02abcdu);
}

static void test_strerror(void **state)
{
    (void)state;
    /* Every code has its own name; unknown codes say so. */
    for (int a = IMAGE_ERR_DESC_SIZE; a <= IMAGE_OK; a++) {
        assert_non_null(image_strerror(a));
        assert_string_not_equal(image_strerror(a), "unknown error");
        for (int b = a + 1; b <= IMAGE_OK; b++) {
            assert_string_not_equal(image_strerror(a), image_strerror(b));
        }
    }
    assert_string_equal(image_strerror(IMAGE_ERR_DESC_SIZE - 1), "unknown error");
    assert_string_equal(image_strerror(1), "unknown error");
}

static void test_buf_reader(void **state)
{
    static const uint8_t data[8] = {1, 2, 3, 4, 5, 6, 7, 8};
    struct image_reader rd;
    struct image_buf buf;
    uint8_t out[8];
    (void)state;
    image_reader_init_buf(&rd, &buf, data, sizeof(data));
    assert_int_equal(rd.size, 8);
    assert_int_equal(rd.read(rd.ctx, 6, out, 2), 0);
    assert_int_equal(out[0], 7);
    assert_int_equal(out[1], 8);
    assert_int_not_equal(rd.read(rd.ctx, 7, out, 2), 0);
    assert_int_not_equal(rd.read(rd.ctx, 0xffffffffu, out, 2), 0);
    assert_int_equal(rd.read(rd.ctx, 8, out, 0), 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_vector_hdr32),
        cmocka_unit_test(test_vector_hdr512),
        cmocka_unit_test(test_vector_seccnt7),
        cmocka_unit_test(test_vector_fullkey),
        cmocka_unit_test(test_vector_ecdsa_rejected),
        cmocka_unit_test(test_vector_unsigned_rejected),
        cmocka_unit_test(test_keyhash_matches_imgtool),
        cmocka_unit_test(test_header_roundtrip),
        cmocka_unit_test(test_built_valid),
        cmocka_unit_test(test_built_both_keyhash_and_pubkey),
        cmocka_unit_test(test_max_header_size_accepted),
        cmocka_unit_test(test_security_tlv_in_protected_area),
        cmocka_unit_test(test_trailing_bytes_ignored),
        cmocka_unit_test(test_bad_magic),
        cmocka_unit_test(test_bad_header_size),
        cmocka_unit_test(test_payload_beyond_slot),
        cmocka_unit_test(test_tlv_area_beyond_slot),
        cmocka_unit_test(test_truncated_image),
        cmocka_unit_test(test_bad_tlv_info_magic),
        cmocka_unit_test(test_tlv_length_lies),
        cmocka_unit_test(test_tlv_overlap_protected),
        cmocka_unit_test(test_security_tlv_wrong_length),
        cmocka_unit_test(test_protected_size_mismatch),
        cmocka_unit_test(test_missing_hash),
        cmocka_unit_test(test_hash_mismatch_header),
        cmocka_unit_test(test_hash_mismatch_payload),
        cmocka_unit_test(test_hash_mismatch_protected_tlv),
        cmocka_unit_test(test_missing_signature),
        cmocka_unit_test(test_signature_by_other_key),
        cmocka_unit_test(test_bad_signature_bits),
        cmocka_unit_test(test_keyhash_mismatch),
        cmocka_unit_test(test_missing_keyhash),
        cmocka_unit_test(test_zero_length_payload),
        cmocka_unit_test(test_bad_flags),
        cmocka_unit_test(test_duplicate_tlvs),
        cmocka_unit_test(test_tlv_find_duplicate_direct),
        cmocka_unit_test(test_descriptor_too_big),
        cmocka_unit_test(test_header_check_slot_boundary),
        cmocka_unit_test(test_reader_failure),
        cmocka_unit_test(test_bad_arguments),
        cmocka_unit_test(test_iterator_walk),
        cmocka_unit_test(test_version_cmp),
        cmocka_unit_test(test_strerror),
        cmocka_unit_test(test_buf_reader),
    };
    return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
