#include "boot_test_util.h"

#include "bootctl.h"
#include "ota_util.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct boot_log_capture boot_cap;

static void cap_log(void *ctx, const char *line)
{
    (void)ctx;
    size_t used = strlen(boot_cap.text);
    if (getenv("BOOT_TEST_VERBOSE") != NULL) {
        fprintf(stderr, "%s\n", line);
    }
    snprintf(&boot_cap.text[used], sizeof boot_cap.text - used, "%s\n", line);
}

static void cap_kick(void *ctx)
{
    (void)ctx;
    boot_cap.kicks++;
}

static void cap_progress(void *ctx, uint32_t done, uint32_t total)
{
    (void)ctx;
    boot_cap.progress_calls++;
    boot_cap.progress_last_done = done;
    boot_cap.progress_last_total = total;
}

const struct boot_hooks boot_test_hooks = {NULL, cap_log, cap_kick, cap_progress};

void boot_cap_clear(void)
{
    memset(&boot_cap, 0, sizeof boot_cap);
}

bool boot_cap_has(const char *needle)
{
    return strstr(boot_cap.text, needle) != NULL;
}

int boot_test_pending(const uint8_t hash[32], uint32_t size, uint8_t flags)
{
    struct bootctl_scan scan;
    int rc = bootctl_scan(&scan);
    if (rc != BOOTCTL_OK) {
        return rc;
    }
    struct bootctl_record r;
    memset(&r, 0, sizeof r);
    r.type = BOOTCTL_REC_PENDING;
    r.flags = flags;
    memcpy(r.body, hash, BOOTCTL_HASH_ID_SIZE);
    ota_put_le32(&r.body[16], size);
    return bootctl_append(&scan, &r);
}

bool boot_test_image_hash(const uint8_t *img, uint32_t len, uint8_t out[32])
{
    struct image_reader rd;
    struct image_buf buf;
    image_reader_init_buf(&rd, &buf, img, len);
    struct image_info info;
    if (image_parse(&rd, &info) != IMAGE_OK) {
        return false;
    }
    uint32_t off;
    uint16_t l;
    if (image_tlv_find(&rd, &info, IMAGE_TLV_SHA256, &off, &l) != 0 || l != 32) {
        return false;
    }
    memcpy(out, &img[off], 32);
    return true;
}
