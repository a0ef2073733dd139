/*
 * libFuzzer target for everything otaserver parses from outside: raw request lines, HTTP request
 * heads (then planned and formatted), Range values, and image files. Besides memory safety it checks
 * the invariants the event loop relies on: consumed lengths inside the input, a served range inside
 * the image, a formatted head that fits its buffer.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "srv_image.h"
#include "srv_proto.h"

#define CHECK(c)                                                                                   \
    do {                                                                                           \
        if (!(c)) {                                                                                \
            abort();                                                                               \
        }                                                                                          \
    } while (0)

static const char ETAG[] = "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef";

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size == 0u) {
        return 0;
    }
    /* First byte: the image size the requests are planned against (never 0). */
    uint32_t img_size = 1u + (uint32_t)data[0] * 977u;
    const char *buf = (const char *)data + 1;
    size_t len = size - 1u;

    struct raw_req rr;
    int rc = raw_parse_request(buf, len, &rr);
    CHECK(rc == RAW_OK || rc == RAW_INCOMPLETE || rc == RAW_ERR_BAD);
    if (rc == RAW_OK) {
        CHECK(rr.line_len >= 1u && rr.line_len <= len && buf[rr.line_len - 1u] == '\n');
        int chk = raw_check_request(&rr, img_size, ETAG);
        CHECK(chk == RAW_OK || chk == RAW_ERR_OFFSET || chk == RAW_ERR_CHANGED);
        if (chk == RAW_OK) {
            CHECK(!rr.resume || rr.offset <= img_size);
        }
    }

    struct http_req hr;
    rc = http_parse_request(buf, len, &hr);
    CHECK(rc == HTTP_PARSED || rc == HTTP_INCOMPLETE);
    if (rc == HTTP_PARSED) {
        CHECK(hr.req_len <= len);
        struct http_plan plan;
        http_plan_response(&hr, img_size, ETAG, &plan);
        if (plan.status == 200 || plan.status == 206) {
            CHECK(plan.length > 0u && plan.first < img_size && plan.length <= img_size - plan.first);
        } else {
            CHECK(!plan.send_body);
        }
        char head[512];
        size_t n = http_format_head(&plan, img_size, ETAG, "Tue, 24 Nov 2026 04:00:00 GMT", head,
                                    sizeof(head));
        CHECK(n > 0u && n < sizeof(head) && strlen(head) == n);
    }

    uint32_t first = 0;
    uint32_t last = 0;
    rc = http_range_resolve(buf, len, img_size, &first, &last);
    CHECK(rc == HTTP_RANGE_OK || rc == HTTP_RANGE_IGNORE || rc == HTTP_RANGE_UNSAT ||
          rc == HTTP_RANGE_BAD);
    if (rc == HTTP_RANGE_OK) {
        CHECK(first <= last && last < img_size);
    }

    struct srv_image_info info;
    rc = srv_image_check(data, size, &info);
    if (rc == SRV_IMAGE_OK) {
        CHECK(info.size <= size && info.tlv_off < info.size && info.hdr_size >= 32u);
    }
    return 0;
}
