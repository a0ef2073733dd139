/*
 * libFuzzer harness: the whole OTA client (lib/ota/ota_client.h) against an in-memory server whose
 * every byte comes from the input, over the simulated flash of a board with v1.0.0 installed.
 *
 * Input: [0] mode: bits 0-1 protocol (raw, raw with offsets, HTTP; 3 = HTTP), bits 2-3 the image
 * served (v2.0.0; v1.0.0 again, the installed version; v2 signed with another key; v2), bit 4
 * allow_equal_version. The rest is a script the server plays, one opcode at a time, whenever the
 * client reads (see server_next): raw bytes, the right response head for the request received
 * (or a wrong one: other offset, other entity tag, 200 instead of 206, ERR/4xx), image bytes from
 * the position asked (possibly with one byte flipped), the rest of the image, an end of
 * connection, a receive error, silence while time passes, and a power cut (the client's RAM is
 * lost; flash stays; the application starts the client again). When the script is exhausted the
 * server closes and refuses connections.
 *
 * Checked: the client never crashes and always ends (total timeout) in a named status; it writes
 * flash only in sector 2 (its records) and staging, and writes staging only once the staging
 * writer accepted an image header whose version the policy allows; every request is the one the protocol prescribes for the
 * staged position; an image the version policy refuses never touches staging; DONE only for an
 * acceptable image served whole, and then staging holds exactly that image and a PENDING record
 * names it.
 * Any failed check aborts (a finding).
 */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bootctl.h"
#include "flash_layout.h"
#include "flash_sim.h"
#include "image.h"
#include "ota_client.h"
#include "ota_util.h"
#include "testimg.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define V2_PAYLOAD 20000u /* crosses from staging sector 3 (16 KB) into sector 4 */
#define MAX_CUTS 6
#define MAX_POLLS 2000000L

static void check(int cond)
{
    if (!cond) {
        abort();
    }
}

static uint8_t img_v1[8192];
static uint8_t img_v2[24576];
static uint8_t img_v2_other_key[24576];
static size_t img_v1_len;
static size_t img_v2_len;
static size_t img_v2_other_len;
static uint8_t v2_digest[32];
static uint8_t factory[FLASH_TOTAL_SIZE];
static bool ready;

static void setup(void)
{
    struct testimg_opts o = testimg_defaults(3000, 1, 0, 0);
    img_v1_len = testimg_build(&o, img_v1, sizeof img_v1);
    o = testimg_defaults(V2_PAYLOAD, 2, 0, 0);
    img_v2_len = testimg_build(&o, img_v2, sizeof img_v2);
    o.sign_key = TESTIMG_KEY_B;
    o.keyhash_key = TESTIMG_KEY_B;
    img_v2_other_len = testimg_build(&o, img_v2_other_key, sizeof img_v2_other_key);
    check(img_v1_len != 0 && img_v2_len != 0 && img_v2_other_len != 0);

    struct image_reader rd;
    struct image_buf buf;
    struct image_info info;
    image_reader_init_buf(&rd, &buf, img_v2, (uint32_t)img_v2_len);
    check(image_parse(&rd, &info) == IMAGE_OK && image_hash(&rd, &info, v2_digest) == IMAGE_OK);

    flash_sim_reset();
    check(testimg_factory_install(img_v1, img_v1_len) == 0);
    memcpy(factory, flash_sim_mem(), FLASH_TOTAL_SIZE);
    ready = true;
}

/* ---- the scripted server ----------------------------------------------------------------- */

enum {
    OP_HEAD = 0x80,       /* the right response head for the request */
    OP_IMAGE = 0x81,      /* le16 + 1 image bytes from the position served (or up to its end) */
    OP_REST = 0x82,       /* the rest of the image */
    OP_EOF = 0x83,        /* the server closes after what it sent */
    OP_WHOLE = 0x84,      /* raw: ERR 412; HTTP: 200 with the whole image from 0 */
    OP_SILENCE = 0x85,    /* nothing for le16 ms */
    OP_CUT = 0x86,        /* power cut */
    OP_RESET = 0x87,      /* the connection is reset */
    OP_OTHER_TAG = 0x88,  /* the right head, but another entity tag */
    OP_BAD_OFFSET = 0x89, /* a head for another offset */
    OP_416 = 0x8A,        /* raw: ERR 416; HTTP: 416 */
    OP_404 = 0x8B,        /* raw: ERR 404; HTTP: 404 */
    OP_FLIP = 0x8C        /* le16 + 1 image bytes, one of them flipped */
};

struct server {
    const uint8_t *script;
    size_t len;
    size_t at;
    uint8_t proto;
    const uint8_t *img;
    uint32_t img_len;
    bool open;
    bool have_req;
    bool eof;
    bool reset;
    bool cut;
    uint32_t image_left; /* image bytes still to serve, one buffer at a time */
    char req[512];
    size_t req_len;
    uint32_t pos; /* next image byte served */
    uint32_t silence_until;
    uint8_t out[4096];
    size_t out_len;
    size_t out_pos;
    uint32_t clock;
    uint32_t requests;
};

static struct server srv;
static struct ota_client client;

static bool script_byte(uint8_t *b)
{
    if (srv.at >= srv.len) {
        return false;
    }
    *b = srv.script[srv.at++];
    return true;
}

static uint32_t script_le16(void)
{
    uint8_t lo = 0;
    uint8_t hi = 0;
    (void)script_byte(&lo);
    (void)script_byte(&hi);
    return (uint32_t)lo | ((uint32_t)hi << 8);
}

static void out_text(const char *s)
{
    size_t n = strlen(s);
    n = n < sizeof srv.out - srv.out_len ? n : sizeof srv.out - srv.out_len;
    memcpy(&srv.out[srv.out_len], s, n);
    srv.out_len += n;
}

/* Up to n image bytes from the position served (as many as the buffer takes); returns how many. */
static uint32_t out_image(uint32_t n, bool flip, uint32_t flip_at)
{
    uint32_t left = srv.pos < srv.img_len ? srv.img_len - srv.pos : 0;
    n = n < left ? n : left;
    n = n < sizeof srv.out - srv.out_len ? n : (uint32_t)(sizeof srv.out - srv.out_len);
    memcpy(&srv.out[srv.out_len], srv.img + srv.pos, n);
    if (flip && n > 0) {
        srv.out[srv.out_len + flip_at % n] ^= 0x20u;
    }
    srv.out_len += n;
    srv.pos += n;
    return n;
}

static void out_head(uint32_t from, const char *tag, bool whole)
{
    char h[256];
    if (srv.proto == OTA_PROTO_RAW) {
        return; /* the tutorial's server sends no head */
    }
    if (srv.proto == OTA_PROTO_RAW_RESUME) {
        if (whole) {
            (void)snprintf(h, sizeof h, "ERR 412 image changed\r\n");
        } else if (from > srv.img_len) {
            (void)snprintf(h, sizeof h, "ERR 416 offset beyond the image\r\n");
        } else {
            (void)snprintf(h, sizeof h, "OK %lu %lu %s\r\n", (unsigned long)from,
                           (unsigned long)srv.img_len, tag);
        }
    } else if (whole) {
        (void)snprintf(h, sizeof h,
                       "HTTP/1.1 200 OK\r\nContent-Length: %lu\r\nETag: %s\r\n\r\n",
                       (unsigned long)srv.img_len, tag);
        srv.pos = 0;
    } else if (from >= srv.img_len) {
        (void)snprintf(h, sizeof h, "HTTP/1.1 416 Range Not Satisfiable\r\n\r\n");
    } else {
        (void)snprintf(h, sizeof h,
                       "HTTP/1.1 206 Partial Content\r\nContent-Range: bytes %lu-%lu/%lu\r\n"
                       "Content-Length: %lu\r\nETag: %s\r\nConnection: close\r\n\r\n",
                       (unsigned long)from, (unsigned long)(srv.img_len - 1u),
                       (unsigned long)srv.img_len, (unsigned long)(srv.img_len - from), tag);
    }
    out_text(h);
}

/* Play the next opcode of the script into srv.out; false when the script is exhausted. */
static bool server_next(void)
{
    uint8_t op;
    if (!script_byte(&op)) {
        return false;
    }
    switch (op) {
    case OP_HEAD:
        out_head(srv.pos, "\"v2-etag\"", false);
        break;
    case OP_IMAGE:
        srv.image_left = script_le16() + 1u;
        break;
    case OP_REST:
        srv.image_left = srv.img_len;
        break;
    case OP_EOF:
        srv.eof = true;
        break;
    case OP_WHOLE:
        out_head(0, "\"v2-etag\"", true);
        break;
    case OP_SILENCE:
        srv.silence_until = srv.clock + script_le16();
        break;
    case OP_CUT:
        srv.cut = true;
        break;
    case OP_RESET:
        srv.reset = true;
        break;
    case OP_OTHER_TAG:
        out_head(srv.pos, "\"other\"", false);
        break;
    case OP_BAD_OFFSET:
        out_head(srv.pos + 1u + script_le16(), "\"v2-etag\"", false);
        break;
    case OP_416:
        out_text(srv.proto == OTA_PROTO_HTTP ? "HTTP/1.1 416 Range Not Satisfiable\r\n\r\n"
                                             : "ERR 416 offset beyond the image\r\n");
        break;
    case OP_404:
        out_text(srv.proto == OTA_PROTO_HTTP ? "HTTP/1.0 404 Not Found\r\n\r\n"
                                             : "ERR 404 no image\r\n");
        break;
    case OP_FLIP: {
        uint32_t n = script_le16() + 1u;
        uint8_t at = 0;
        (void)script_byte(&at);
        (void)out_image(n, true, at);
        break;
    }
    default: {
        /* Raw bytes: op % 64 + 1 of them from the script. */
        size_t n = (size_t)(op % 64u) + 1u;
        for (size_t i = 0; i < n && srv.out_len < sizeof srv.out; i++) {
            uint8_t b;
            if (!script_byte(&b)) {
                break;
            }
            srv.out[srv.out_len++] = b;
        }
        break;
    }
    }
    return true;
}

/* The request the protocol prescribes for the staged position; sets the served position. */
static void server_take_request(void)
{
    uint32_t staged = ota_stage_pos(&client.stage);
    char want[256];
    if (srv.proto == OTA_PROTO_RAW) {
        check(strcmp(srv.req, "GET firmware\r\n") == 0);
        srv.pos = 0;
        return;
    }
    if (srv.proto == OTA_PROTO_RAW_RESUME) {
        (void)snprintf(want, sizeof want, "GET firmware %lu\r\n", (unsigned long)staged);
    } else {
        (void)snprintf(want, sizeof want,
                       "GET /firmware HTTP/1.1\r\nHost: 10.0.0.2:8080\r\nUser-Agent: stm32-ota\r\n"
                       "Range: bytes=%lu-\r\nConnection: close\r\n\r\n",
                       (unsigned long)staged);
    }
    check(strcmp(srv.req, want) == 0);
    srv.pos = staged;
}

static int sv_ready(void *ctx)
{
    (void)ctx;
    return OTA_NET_OK;
}

static int sv_resolve_start(void *ctx, const char *name)
{
    (void)ctx;
    (void)name;
    check(0); /* the host is a dotted address: never resolved */
    return OTA_NET_ERR;
}

/* NOLINTNEXTLINE(readability-non-const-parameter): the signature of ota_net.resolve_poll */
static int sv_resolve_poll(void *ctx, uint8_t ip[4])
{
    (void)ctx;
    (void)ip;
    check(0);
    return OTA_NET_ERR;
}

static int sv_connect(void *ctx, const uint8_t ip[4], uint16_t port)
{
    (void)ctx;
    check(ip[0] == 10 && ip[1] == 0 && ip[2] == 0 && ip[3] == 2 && port == 8080);
    if (srv.at >= srv.len) {
        return OTA_NET_ERR_CLOSED; /* the script is over: nobody listens any more */
    }
    srv.open = true;
    srv.have_req = false;
    srv.eof = false;
    srv.reset = false;
    srv.image_left = 0;
    srv.req_len = 0;
    srv.req[0] = '\0';
    srv.out_len = 0;
    srv.out_pos = 0;
    return OTA_NET_OK;
}

static int sv_connect_poll(void *ctx)
{
    (void)ctx;
    return srv.open ? OTA_NET_OK : OTA_NET_ERR_CLOSED;
}

static int sv_send(void *ctx, const uint8_t *buf, size_t len, size_t *sent)
{
    (void)ctx;
    *sent = 0;
    if (!srv.open || srv.reset) {
        return OTA_NET_ERR_CLOSED;
    }
    if (srv.have_req) {
        check(srv.proto != OTA_PROTO_HTTP); /* only the raw protocols send ACKs */
        for (size_t i = 0; i < len; i++) {
            check(buf[i] == 'A');
        }
        *sent = len;
        return OTA_NET_OK;
    }
    check(srv.req_len + len < sizeof srv.req);
    memcpy(&srv.req[srv.req_len], buf, len);
    srv.req_len += len;
    srv.req[srv.req_len] = '\0';
    *sent = len;
    const char *end = srv.proto == OTA_PROTO_HTTP ? "\r\n\r\n" : "\r\n";
    if (strstr(srv.req, end) != NULL) {
        srv.have_req = true;
        srv.requests++;
        server_take_request();
    }
    return OTA_NET_OK;
}

static int sv_recv(void *ctx, uint8_t *buf, size_t cap, size_t *got)
{
    (void)ctx;
    *got = 0;
    if (!srv.open) {
        return OTA_NET_ERR_CLOSED;
    }
    if (!srv.have_req || (int32_t)(srv.clock - srv.silence_until) < 0) {
        return OTA_NET_PENDING;
    }
    while (srv.out_pos == srv.out_len) {
        srv.out_len = 0;
        srv.out_pos = 0;
        if (srv.reset) {
            return OTA_NET_ERR_CLOSED;
        }
        if (srv.image_left > 0 && srv.pos < srv.img_len) {
            srv.image_left -= out_image(srv.image_left, false, 0);
            continue;
        }
        srv.image_left = 0;
        if (srv.eof || srv.cut || !server_next()) {
            return srv.cut ? OTA_NET_PENDING : OTA_NET_EOF;
        }
        if ((int32_t)(srv.clock - srv.silence_until) < 0) {
            return OTA_NET_PENDING;
        }
    }
    size_t n = srv.out_len - srv.out_pos;
    n = n < cap ? n : cap;
    memcpy(buf, &srv.out[srv.out_pos], n);
    srv.out_pos += n;
    *got = n;
    return OTA_NET_OK;
}

static void sv_close(void *ctx)
{
    (void)ctx;
    srv.open = false;
}

static uint32_t sv_millis(void *ctx)
{
    (void)ctx;
    return srv.clock++;
}

static const struct ota_net net = {sv_ready,   sv_resolve_start, sv_resolve_poll, sv_connect,
                                   sv_connect_poll, sv_send,     sv_recv,         sv_close,
                                   NULL,       NULL,             sv_millis,       NULL};

/* ---- flash watch ------------------------------------------------------------------------- */

static bool allow_equal;

static void trace(void *ctx, uint32_t op, bool erase, uint32_t addr)
{
    (void)ctx;
    (void)op;
    (void)erase;
    check(addr >= APPHDR_ADDR && addr < STAGING_ADDR + STAGING_SIZE);
    if (addr >= STAGING_ADDR) {
        /* Staging is written only for a header the staging writer checked and accepted, and whose
         * version the policy allows (newer than the installed v1.0.0, or equal when allowed). */
        check(client.stage.body_end != 0);
        struct image_header h;
        image_header_parse(client.stage.hdr, &h);
        check(image_header_check(&h, STAGING_SIZE) == IMAGE_OK);
        static const struct image_version installed = {1, 0, 0, 1};
        int cmp = image_version_cmp(&h.ih_ver, &installed);
        check(cmp > 0 || (cmp == 0 && allow_equal));
    }
}

static bool status_named(int st)
{
    return st == OTA_CLIENT_DONE ||
           (st <= OTA_ERR_ARG && st >= OTA_ERR_CONNECT_TIMEOUT &&
            strcmp(ota_client_status_str(st), "unknown") != 0);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (!ready) {
        setup();
    }
    if (size < 1) {
        return 0;
    }
    const uint8_t mode = data[0];
    static const uint8_t pub[32] = TESTIMG_KEY_A_PUB;
    static const uint8_t protos[4] = {OTA_PROTO_RAW, OTA_PROTO_RAW_RESUME, OTA_PROTO_HTTP,
                                      OTA_PROTO_HTTP};
    const unsigned served = (mode >> 2) & 3u;
    allow_equal = (mode & 0x10u) != 0;

    memset(&srv, 0, sizeof srv);
    srv.script = data + 1;
    srv.len = size - 1;
    srv.proto = protos[mode & 3u];
    if (served == 1u) {
        srv.img = img_v1;
        srv.img_len = (uint32_t)img_v1_len;
    } else if (served == 2u) {
        srv.img = img_v2_other_key;
        srv.img_len = (uint32_t)img_v2_other_len;
    } else {
        srv.img = img_v2;
        srv.img_len = (uint32_t)img_v2_len;
    }
    /* v1 is the installed version: never accepted unless equal is allowed. */
    const bool policy_refuses = served == 1u && !allow_equal;
    const bool acceptable = served == 0u || served == 3u || (served == 1u && allow_equal);

    flash_sim_reset();
    flash_sim_load(FLASH_BASE_ADDR, factory, FLASH_TOTAL_SIZE);
    flash_sim_set_trace(trace, NULL);

    struct ota_client_config cfg;
    memset(&cfg, 0, sizeof cfg);
    cfg.host = "10.0.0.2";
    cfg.port = 8080;
    cfg.path = "/firmware";
    cfg.proto = srv.proto;
    cfg.connect_timeout_ms = 1000;
    cfg.recv_timeout_ms = 3000;
    cfg.total_timeout_ms = 400000;
    cfg.max_attempts = 3;
    cfg.backoff_first_ms = 10;
    cfg.backoff_max_ms = 80;
    cfg.allow_equal_version = allow_equal;
    cfg.pubkey = pub;

    int rc = OTA_CLIENT_BUSY;
    for (int run = 0; run <= MAX_CUTS; run++) {
        /* The application starts: RAM from nothing, flash as the last run left it. */
        memset(&client, 0, sizeof client);
        check(ota_client_init(&client, &cfg, &net) == 0);
        srv.open = false;
        srv.cut = false;
        rc = ota_client_start(&client);
        if (rc != 0) {
            check(status_named(rc));
            break;
        }
        rc = OTA_CLIENT_BUSY;
        long polls = 0;
        while (rc == OTA_CLIENT_BUSY && !srv.cut) {
            rc = ota_client_poll(&client);
            check(++polls < MAX_POLLS); /* the total timeout ends every update */
            uint32_t done;
            uint32_t total;
            ota_client_progress(&client, &done, &total);
            check(done <= STAGING_SIZE);
        }
        if (!srv.cut) {
            break;
        }
    }
    flash_sim_set_trace(NULL, NULL);
    if (srv.cut) {
        return 0; /* more cuts than runs: the last run was cut too */
    }
    check(rc != OTA_CLIENT_BUSY && rc != OTA_CLIENT_IDLE);
    check(status_named(rc));
    check(ota_client_poll(&client) == rc); /* a finished update stays finished */
    if (rc == OTA_CLIENT_DONE) {
        check(acceptable);
        const uint8_t *st = &flash_sim_mem()[STAGING_ADDR - FLASH_BASE_ADDR];
        check(memcmp(st, srv.img, srv.img_len) == 0);
        struct bootctl_scan scan;
        check(bootctl_scan(&scan) == BOOTCTL_OK);
        check(scan.hdr_valid && scan.pending_valid && scan.pending_size == srv.img_len);
        if (srv.img == img_v2) {
            check(memcmp(scan.pending_hash, v2_digest, BOOTCTL_HASH_ID_SIZE) == 0);
        }
    }
    if (policy_refuses) {
        check(rc != OTA_CLIENT_DONE);
    }
    return 0;
}
