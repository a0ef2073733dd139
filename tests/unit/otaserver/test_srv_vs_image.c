/*
 * The server and the device must agree on where an image ends and what its hash is: otaserver's
 * own start-up check (tools/otaserver/srv_image.c, standalone by design) against the firmware's
 * parser (lib/image) on imgtool's images and on generated ones, including damaged copies.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <string.h>

#include "image.h"
#include "srv_image.h"
#include "testimg.h"

static uint8_t s_buf[1u << 16];

static size_t load(const char *name)
{
    char path[512];
    (void)snprintf(path, sizeof(path), "%s/imgtool/%s", OTA_TESTVECTORS_DIR, name);
    FILE *f = fopen(path, "rb");
    assert_non_null(f);
    size_t n = fread(s_buf, 1, sizeof(s_buf), f);
    assert_int_equal(fclose(f), 0);
    assert_true(n > 0u && n < sizeof(s_buf));
    return n;
}

/* Both accept, with the same end, TLV offset and hash. */
static void agree_ok(const uint8_t *data, size_t len)
{
    struct srv_image_info si;
    assert_int_equal(srv_image_check(data, len, &si), SRV_IMAGE_OK);
    struct image_buf b;
    struct image_reader rd;
    image_reader_init_buf(&rd, &b, data, (uint32_t)len);
    struct image_info ii;
    assert_int_equal(image_parse(&rd, &ii), IMAGE_OK);
    assert_int_equal(ii.tlv_end, si.size);
    assert_int_equal(ii.tlv_off, si.tlv_off);
    assert_int_equal(ii.hdr.ih_hdr_size, si.hdr_size);
    assert_int_equal(ii.hdr.ih_img_size, si.img_size);
    uint8_t digest[32];
    assert_int_equal(image_hash(&rd, &ii, digest), IMAGE_OK);
    assert_memory_equal(digest, si.sha256, 32);
}

static void test_imgtool_vectors(void **state)
{
    (void)state;
    const char *names[] = {"ed25519-hdr32.img", "ed25519-hdr512.img", "ed25519-seccnt7.img",
                           "ed25519-fullkey.img", "ecdsa-p256.img", "unsigned.img"};
    for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
        size_t n = load(names[i]);
        agree_ok(s_buf, n);
    }
}

static void test_generated(void **state)
{
    (void)state;
    const uint16_t hdrs[] = {32, 64, 512};
    for (size_t h = 0; h < 3u; h++) {
        for (int prot = 0; prot <= 1; prot++) {
            struct testimg_opts o = testimg_defaults(5000, 1, 0, 0);
            o.hdr_size = hdrs[h];
            o.prot_tlv = prot != 0;
            size_t n = testimg_build(&o, s_buf, sizeof(s_buf));
            assert_int_not_equal(n, 0);
            agree_ok(s_buf, n);
        }
    }
}

/* Damaged copies: whatever the server accepts, the device's parser lays out the same way; and
 * what the device's parser refuses for layout reasons, the server refuses too. */
static void test_damaged(void **state)
{
    (void)state;
    size_t n = load("ed25519-seccnt7.img");
    static uint8_t orig[sizeof(s_buf)];
    memcpy(orig, s_buf, n);
    unsigned both_refused = 0;
    for (size_t pos = 0; pos < n; pos++) {
        for (unsigned bit = 0; bit < 8u; bit += 3u) {
            memcpy(s_buf, orig, n);
            s_buf[pos] ^= (uint8_t)(1u << bit);
            struct srv_image_info si;
            int srv = srv_image_check(s_buf, n, &si);
            struct image_buf b;
            struct image_reader rd;
            image_reader_init_buf(&rd, &b, s_buf, (uint32_t)n);
            struct image_info ii;
            int dev = image_parse(&rd, &ii);
            if (srv == SRV_IMAGE_OK && dev == IMAGE_OK) {
                assert_int_equal(ii.tlv_end, si.size);
                uint8_t digest[32];
                assert_int_equal(image_hash(&rd, &ii, digest), IMAGE_OK);
                assert_memory_equal(digest, si.sha256, 32);
            }
            if (dev == IMAGE_ERR_MAGIC || dev == IMAGE_ERR_TLV_MAGIC || dev == IMAGE_ERR_PROT_SIZE ||
                dev == IMAGE_ERR_EMPTY) {
                assert_int_not_equal(srv, SRV_IMAGE_OK);
                both_refused++;
            }
        }
    }
    assert_true(both_refused > 0u);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_imgtool_vectors),
        cmocka_unit_test(test_generated),
        cmocka_unit_test(test_damaged),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
