/*
 * HTTP/1.1 for the OTA client: build a GET request with an open-ended Range (and If-Range, so a
 * resume never mixes two images), parse the response head incrementally from whatever pieces the
 * network delivers, and check it against what was asked. Bounded: a head larger than
 * OTA_HTTP_HEAD_MAX or with more than OTA_HTTP_MAX_FIELDS fields is refused. No allocation.
 */
#ifndef OTA_HTTP_H
#define OTA_HTTP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define OTA_HTTP_LINE_MAX 192u  /* longest line kept; longer unknown fields are skipped */
#define OTA_HTTP_HEAD_MAX 8192u /* whole response head */
#define OTA_HTTP_MAX_FIELDS 64u
#define OTA_HTTP_ETAG_MAX 72u
#define OTA_HTTP_NO_RANGE UINT32_MAX

enum ota_http_err {
    OTA_HTTP_MORE = 0,             /* feed more bytes */
    OTA_HTTP_DONE = 1,             /* head complete; the rest is body */
    OTA_HTTP_ERR_SYNTAX = -1,      /* malformed status line or field */
    OTA_HTTP_ERR_TOO_BIG = -2,     /* head too long, too many fields, a key line too long */
    OTA_HTTP_ERR_VERSION = -3,     /* not HTTP/1.x */
    OTA_HTTP_ERR_LENGTH = -4,      /* bad or conflicting Content-Length */
    OTA_HTTP_ERR_CONTENT_RANGE = -5, /* bad Content-Range, or not the range asked */
    OTA_HTTP_ERR_CHUNKED = -6,     /* chunked transfer coding is not supported */
    OTA_HTTP_ERR_STATUS = -7,      /* an unexpected status code */
    OTA_HTTP_ERR_NOT_FOUND = -8,   /* 404 */
    OTA_HTTP_ERR_RANGE = -9,       /* 416: the server cannot serve that range */
    OTA_HTTP_ERR_ARG = -10,
    OTA_HTTP_RESTART = -11         /* 200 to a range request: the image changed, start from 0 */
};

struct ota_http_resp {
    uint16_t status;
    bool has_length;
    bool has_range;
    bool chunked;
    bool close;
    uint32_t content_length;
    uint32_t range_first;
    uint32_t range_last;
    uint32_t range_total;
    char etag[OTA_HTTP_ETAG_MAX + 1];
};

struct ota_http_parser {
    struct ota_http_resp resp;
    char line[OTA_HTTP_LINE_MAX];
    uint16_t line_len;
    bool line_truncated;
    bool in_fields; /* the status line has been read */
    uint16_t fields;
    uint32_t head_bytes;
};

/* Build "GET path" with Host, an open-ended Range from `from` (OTA_HTTP_NO_RANGE: none) and, when
 * if_range is non-empty, If-Range. Returns the length, or OTA_HTTP_ERR_TOO_BIG / _ARG. */
int ota_http_build_get(char *buf, size_t cap, const char *host, uint16_t port, const char *path,
                       uint32_t from, const char *if_range);

void ota_http_parser_init(struct ota_http_parser *p);

/* Feed bytes; *used is how many belong to the head (the rest, if DONE, is body). */
int ota_http_parse(struct ota_http_parser *p, const uint8_t *data, size_t len, size_t *used);

/* Check a complete head against a request from `from`: on success *body_off is where the body
 * starts in the image and *image_size the whole image size (from Content-Range or Length). */
int ota_http_check(const struct ota_http_resp *r, uint32_t from, uint32_t *body_off,
                   uint32_t *image_size);

#endif /* OTA_HTTP_H */
