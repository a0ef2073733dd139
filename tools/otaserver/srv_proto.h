/*
 * Request parsing and response planning for both protocols (docs/protocol.md). Pure functions over
 * caller-owned buffers: no I/O, no allocation, so the event loop and the unit tests share them.
 */
#ifndef SRV_PROTO_H
#define SRV_PROTO_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* ---- raw TCP (tutorial protocol + resume extension) ---- */

#define RAW_MAX_LINE 128u /* a request line longer than this is refused */

enum raw_status {
    RAW_INCOMPLETE = 1, /* no line feed yet: read more */
    RAW_OK = 0,
    RAW_ERR_BAD = 400,      /* not one of the documented request forms */
    RAW_ERR_CHANGED = 412,  /* the etag in the request is not the served image's */
    RAW_ERR_OFFSET = 416,   /* offset past the end of the image */
    RAW_ERR_BUSY = 503      /* too many clients */
};

struct raw_req {
    bool resume;        /* an offset was given: the response starts with an OK line */
    uint32_t offset;
    bool has_etag;
    char etag[65];
    size_t line_len;    /* bytes consumed, line feed included */
};

/* Parse one request line from buf[0, len). RAW_INCOMPLETE, RAW_OK or RAW_ERR_BAD. */
int raw_parse_request(const char *buf, size_t len, struct raw_req *req);

/* Check a parsed request against the image: RAW_OK, RAW_ERR_OFFSET or RAW_ERR_CHANGED. */
int raw_check_request(const struct raw_req *req, uint32_t size, const char *etag);

/* "OK <offset> <size> <etag>\r\n" into out; returns its length, 0 if it does not fit. */
size_t raw_format_ok(char *out, size_t cap, uint32_t offset, uint32_t size, const char *etag);

/* "ERR <code> <reason>[ <size>]\r\n" into out; returns its length, 0 if it does not fit. */
size_t raw_format_err(char *out, size_t cap, int code, uint32_t size);

/* ---- HTTP/1.1 ---- */

#define HTTP_MAX_REQUEST 4096u /* request line + headers; larger requests get 431 */

enum http_parse {
    HTTP_INCOMPLETE = 1, /* no blank line yet */
    HTTP_PARSED = 0
};

enum http_method { HTTP_M_GET, HTTP_M_HEAD, HTTP_M_OTHER };

struct http_req {
    enum http_method method;
    bool path_ok;          /* target is exactly /firmware */
    int minor;             /* HTTP/1.minor */
    bool conn_close;       /* Connection: close (or HTTP/1.0 without keep-alive) */
    bool has_body;         /* Content-Length > 0 or Transfer-Encoding: response then close */
    int error;             /* 0, or the status of a malformed request (400, 431, 505) */
    const char *range;     /* value of Range, or NULL (points into the parsed buffer) */
    size_t range_len;
    const char *if_range;  /* value of If-Range, or NULL */
    size_t if_range_len;
    size_t req_len;        /* bytes of the request, blank line included */
};

/* Parse one request head from buf[0, len). HTTP_INCOMPLETE or HTTP_PARSED (check req->error).
 * A head longer than HTTP_MAX_REQUEST is parsed as error 431. */
int http_parse_request(const char *buf, size_t len, struct http_req *req);

enum http_range {
    HTTP_RANGE_OK = 0,     /* *first..*last inclusive */
    HTTP_RANGE_IGNORE = 1, /* not a single byte range: serve the whole image (200) */
    HTTP_RANGE_UNSAT = 416,
    HTTP_RANGE_BAD = 400
};

/* Resolve a Range value against an image of size bytes. */
int http_range_resolve(const char *spec, size_t len, uint32_t size, uint32_t *first, uint32_t *last);

/* What to send back for one request. */
struct http_plan {
    int status;       /* 200, 206, 400, 404, 405, 416, 431, 505 */
    bool send_body;   /* image bytes follow the head (not for HEAD or errors) */
    uint32_t first;   /* first image byte of the body */
    uint32_t length;  /* body bytes from the image */
    bool close;       /* close the connection after this response */
    bool head;        /* HEAD: no body of any kind follows the head */
    bool keep_alive_header; /* HTTP/1.0 keep-alive: say so in the response */
};

/* Decide the response for a parsed request (req->error included). */
void http_plan_response(const struct http_req *req, uint32_t size, const char *etag,
                        struct http_plan *plan);

/* Format the response head (and the short text body of an error) into out; date is an IMF-fixdate
 * or NULL. Returns the length, 0 if it does not fit. */
size_t http_format_head(const struct http_plan *plan, uint32_t size, const char *etag,
                        const char *date, char *out, size_t cap);

/* Reason phrase of a status code. */
const char *http_reason(int status);

#endif /* SRV_PROTO_H */
