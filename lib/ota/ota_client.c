/* OTA client state machine (see ota_client.h and docs/ota.md). */
#include "ota_client.h"

#include <string.h>

#include "bootctl.h"
#include "flash_area.h"
#include "flash_layout.h"
#include "image.h"
#include "ota_util.h"
#include "sha256.h"

static uint32_t client_now(const struct ota_client *c)
{
    return c->net.millis(c->net.ctx);
}

static uint32_t client_elapsed(const struct ota_client *c, uint32_t since)
{
    return client_now(c) - since; /* wraps correctly modulo 2^32 */
}

static void client_enter(struct ota_client *c, uint8_t state)
{
    c->state = state;
    c->t_state = client_now(c);
}

/* Dotted IPv4 ("192.168.1.2") to 4 bytes; false for anything else (then it is a host name). */
static bool client_parse_ipv4(const char *s, uint8_t ip[4])
{
    for (int i = 0; i < 4; i++) {
        unsigned v = 0;
        int digits = 0;
        while (*s >= '0' && *s <= '9') {
            v = v * 10u + (unsigned)(*s - '0');
            if (++digits > 3 || v > 255u) {
                return false;
            }
            s++;
        }
        if (digits == 0) {
            return false;
        }
        ip[i] = (uint8_t)v;
        if (i < 3) {
            if (*s != '.') {
                return false;
            }
            s++;
        }
    }
    return *s == '\0';
}

/* The download's identity: from the server's entity tag when it gives one, else from the image
 * header. Only the first 12 bytes of a SHA-256 are kept (a DL_START record holds them). */
static void client_identity(const void *data, size_t len, uint8_t id[12])
{
    uint8_t d[SHA256_DIGEST_SIZE];
    sha256(data, len, d);
    memcpy(id, d, 12);
}

/* ---- staging callbacks ------------------------------------------------------------------- */

static int client_on_header(void *ctx, const struct image_header *hdr)
{
    struct ota_client *c = ctx;
    struct bootctl_installed inst;
    if (bootctl_installed_info(&inst) == BOOTCTL_OK) {
        int cmp = image_version_cmp(&hdr->ih_ver, &inst.version);
        if (cmp < 0 || (cmp == 0 && !c->cfg.allow_equal_version)) {
            c->refusal = OTA_ERR_DOWNGRADE;
            return -1;
        }
    }
    /* The response's size is known: a file shorter than header + payload + TLV info is truncated
     * at the source, and asking again cannot help. Refused before anything is erased. */
    uint64_t need = (uint64_t)hdr->ih_hdr_size + hdr->ih_img_size + hdr->ih_protect_tlv_size +
                    IMAGE_TLV_INFO_SIZE;
    if (c->image_size != 0 && need > c->image_size) {
        c->refusal = OTA_ERR_TRUNCATED;
        return -1;
    }
    if (!c->dl_recorded) {
        if (!c->identity_known) {
            client_identity(c->stage.hdr, IMAGE_HEADER_SIZE, c->dl_id);
            c->identity_known = true;
        }
        struct bootctl_dl_id id;
        memcpy(id.id, c->dl_id, sizeof(id.id));
        id.size = c->image_size;
        id.version = image_version_word(&hdr->ih_ver);
        if (bootctl_dl_start(&id) != BOOTCTL_OK) {
            c->refusal = OTA_ERR_STATE;
            return -1;
        }
        c->dl_recorded = true;
    }
    return 0;
}

static int client_on_checkpoint(void *ctx, uint32_t n, uint32_t crc)
{
    struct ota_client *c = ctx;
    if (bootctl_dl_checkpoint(n, crc) != BOOTCTL_OK) {
        c->refusal = OTA_ERR_STATE;
        return -1;
    }
    return 0;
}

static int client_stage_status(const struct ota_client *c, int rc)
{
    switch (rc) {
    case OTA_STAGE_ERR_HEADER:
        return OTA_ERR_HEADER;
    case OTA_STAGE_ERR_TOO_BIG:
    case OTA_STAGE_ERR_OVERRUN:
        return OTA_ERR_TOO_BIG;
    case OTA_STAGE_ERR_REFUSED:
    case OTA_STAGE_ERR_CHECKPOINT:
        return c->refusal;
    default:
        return OTA_ERR_FLASH;
    }
}

static int client_stage_fresh(struct ota_client *c)
{
    const struct flash_area *fa;
    if (flash_area_open(FLASH_AREA_STAGING, &fa) != 0) {
        return OTA_ERR_FLASH;
    }
    struct ota_stage_ops ops = {client_on_header, client_on_checkpoint, c};
    c->resuming = false;
    c->identity_known = false;
    c->dl_recorded = false;
    c->image_size = 0;
    return ota_stage_begin(&c->stage, fa, &ops) == OTA_STAGE_OK ? 0 : OTA_ERR_FLASH;
}

/* ---- public ------------------------------------------------------------------------------ */

int ota_client_init(struct ota_client *c, const struct ota_client_config *cfg,
                    const struct ota_net *net)
{
    OTA_VERIFY(c != NULL && cfg != NULL && net != NULL, OTA_ERR_ARG);
    OTA_VERIFY(cfg->host != NULL && cfg->host[0] != '\0' && cfg->port != 0, OTA_ERR_ARG);
    OTA_VERIFY(cfg->pubkey != NULL && cfg->max_attempts > 0, OTA_ERR_ARG);
    OTA_VERIFY(cfg->proto <= OTA_PROTO_HTTP, OTA_ERR_ARG);
    OTA_VERIFY(cfg->proto != OTA_PROTO_HTTP || (cfg->path != NULL && cfg->path[0] == '/'),
               OTA_ERR_ARG);
    OTA_VERIFY(net->ready_poll != NULL && net->resolve_start != NULL && net->resolve_poll != NULL &&
                   net->connect != NULL && net->connect_poll != NULL && net->send != NULL &&
                   net->recv != NULL && net->close != NULL && net->millis != NULL,
               OTA_ERR_ARG);
    memset(c, 0, sizeof(*c));
    c->cfg = *cfg;
    c->net = *net;
    c->state = OTA_ST_IDLE;
    c->status = OTA_CLIENT_IDLE;
    return 0;
}

int ota_client_start(struct ota_client *c)
{
    OTA_VERIFY(c != NULL && c->net.millis != NULL, OTA_ERR_ARG);
    memset(&c->stats, 0, sizeof(c->stats));
    c->attempts = 0;
    c->restarts = 0;
    c->backoff_ms = c->cfg.backoff_first_ms;
    c->status = OTA_CLIENT_BUSY;
    c->image_err = IMAGE_OK;
    c->t_update = client_now(c);

    const struct flash_area *fa;
    struct bootctl_dl_state dl;
    OTA_TRY(client_stage_fresh(c));
    if (bootctl_dl_latest(&dl) == BOOTCTL_OK && dl.ckpt_valid &&
        flash_area_open(FLASH_AREA_STAGING, &fa) == 0) {
        struct ota_stage_ops ops = {client_on_header, client_on_checkpoint, c};
        c->dl_recorded = true; /* the header callback must not start a new download record */
        int rc = ota_stage_resume(&c->stage, fa, &ops, dl.written, dl.crc);
        if (rc == OTA_STAGE_OK || rc == OTA_STAGE_DONE) {
            c->resuming = true;
            c->identity_known = true;
            memcpy(c->dl_id, dl.start.id, sizeof(c->dl_id));
            c->image_size = dl.start.size;
            c->stats.resumed_from = ota_stage_pos(&c->stage);
            client_enter(c, rc == OTA_STAGE_DONE ? OTA_ST_VERIFY : OTA_ST_NET);
            return 0;
        }
        OTA_TRY(client_stage_fresh(c)); /* not proven: start over */
    }
    client_enter(c, OTA_ST_NET);
    return 0;
}

static bool client_retryable(int status)
{
    switch (status) {
    case OTA_ERR_NET:
    case OTA_ERR_DNS:
    case OTA_ERR_CONNECT:
    case OTA_ERR_CONNECT_TIMEOUT:
    case OTA_ERR_RECV_TIMEOUT:
    case OTA_ERR_CLOSED:
    case OTA_ERR_PROTOCOL:
    case OTA_ERR_SERVER:
    case OTA_ERR_HTTP_STATUS:
        return true;
    default:
        return false;
    }
}

static int client_fail(struct ota_client *c, int status, bool retry)
{
    c->net.close(c->net.ctx);
    c->status = status;
    if (ota_stage_pos(&c->stage) > c->conn_start_pos) {
        /* This connection made progress: count failures from here on. */
        c->attempts = 0;
        c->backoff_ms = c->cfg.backoff_first_ms;
        c->conn_start_pos = ota_stage_pos(&c->stage);
    }
    if (retry && client_retryable(status) && c->attempts < c->cfg.max_attempts) {
        client_enter(c, OTA_ST_BACKOFF);
        return OTA_CLIENT_BUSY;
    }
    client_enter(c, OTA_ST_FAILED);
    return status;
}

/* A failed connect: no answer (the network's ARP or TCP timeout) or anything else (refused). */
static int client_connect_error(int net_rc)
{
    return net_rc == OTA_NET_ERR_TIMEOUT ? OTA_ERR_CONNECT_TIMEOUT : OTA_ERR_CONNECT;
}

static void client_begin_connect(struct ota_client *c)
{
    c->attempts++;
    c->stats.connections++;
    c->conn_start_pos = ota_stage_pos(&c->stage);
    c->conn_rx = 0;
    c->acks_due = 0;
    c->line_len = 0;
    c->connect_issued = false;
    ota_http_parser_init(&c->http);
    client_enter(c, OTA_ST_CONNECT);
}

static int client_build_request(struct ota_client *c)
{
    uint32_t from = ota_stage_pos(&c->stage);
    c->req_sent = 0;
    if (c->cfg.proto == OTA_PROTO_HTTP) {
        int n = ota_http_build_get(c->req, sizeof(c->req), c->cfg.host, c->cfg.port, c->cfg.path,
                                   from, NULL);
        if (n < 0) {
            return OTA_ERR_ARG;
        }
        c->req_len = (uint16_t)n;
        c->req_from = from;
    } else if (c->cfg.proto == OTA_PROTO_RAW_RESUME) {
        /* Always the offset form, even at 0: the answer names the image (its entity tag). */
        static const char get[] = "GET firmware ";
        memcpy(c->req, get, sizeof(get) - 1);
        size_t n = sizeof(get) - 1;
        n += ota_u32_to_dec(c->req + n, from);
        memcpy(c->req + n, "\r\n", 3);
        c->req_len = (uint16_t)(n + 2);
        c->req_from = from;
    } else {
        /* The tutorial's request; a resume re-receives from 0 and skips what is in flash. */
        static const char get[] = "GET firmware\r\n";
        memcpy(c->req, get, sizeof(get));
        c->req_len = (uint16_t)(sizeof(get) - 1);
        c->req_from = 0;
    }
    c->stream = c->req_from;
    return 0;
}

/* Raw protocol: one 'A' is owed for every 512 bytes received on this connection. Owed ACKs go
 * out together (servers must not depend on how TCP segments them, docs/protocol.md). */
static int client_send_acks(struct ota_client *c)
{
    static const uint8_t acks[16] = {'A', 'A', 'A', 'A', 'A', 'A', 'A', 'A',
                                       'A', 'A', 'A', 'A', 'A', 'A', 'A', 'A'};
    while (c->acks_due > 0) {
        size_t sent = 0;
        size_t n = c->acks_due < sizeof(acks) ? c->acks_due : sizeof(acks);
        int rc = c->net.send(c->net.ctx, acks, n, &sent);
        if (rc < 0) {
            return rc;
        }
        if (sent == 0) {
            break; /* TX busy: owed until the next pass */
        }
        c->acks_due -= (uint32_t)sent;
        c->stats.acks_sent += (uint32_t)sent;
    }
    return 0;
}

/* Hand stream bytes to the staging writer; bytes before its position were already written. */
static int client_deliver(struct ota_client *c, const uint8_t *data, size_t len)
{
    while (len > 0) {
        uint32_t pos = ota_stage_pos(&c->stage);
        if (c->stream < pos) {
            size_t skip = pos - c->stream < len ? pos - c->stream : len;
            c->stream += (uint32_t)skip;
            c->stats.bytes_skipped += (uint32_t)skip;
            data += skip;
            len -= skip;
            continue;
        }
        if (c->stream > pos) {
            return OTA_ERR_PROTOCOL; /* a gap: never happens with a correct server */
        }
        int rc = ota_stage_write(&c->stage, data, len);
        if (rc == OTA_STAGE_REWIND) {
            return OTA_STAGE_REWIND;
        }
        if (c->image_size != 0 && ota_stage_total(&c->stage) > c->image_size) {
            return OTA_ERR_TRUNCATED; /* the TLV area announces more than the server has */
        }
        c->stream += (uint32_t)len;
        if (rc == OTA_STAGE_DONE) {
            return OTA_STAGE_DONE;
        }
        if (rc != OTA_STAGE_OK) {
            c->image_err = ota_stage_image_err(&c->stage);
            return client_stage_status(c, rc);
        }
        len = 0;
    }
    return 0;
}

/* Identity of the response; a resumed download must continue the same image. */
static int client_check_identity(struct ota_client *c, const char *tag, size_t tag_len,
                                 uint32_t size)
{
    uint8_t id[12];
    bool have = tag_len > 0;
    if (have) {
        client_identity(tag, tag_len, id);
    }
    if (c->resuming) {
        bool same = (!have || memcmp(id, c->dl_id, sizeof(id)) == 0) &&
                    (c->image_size == 0 || size == 0 || size == c->image_size);
        if (!same) {
            return -1;
        }
        return 0;
    }
    if (have && !c->identity_known) {
        memcpy(c->dl_id, id, sizeof(id));
        c->identity_known = true;
    }
    if (c->image_size == 0) {
        c->image_size = size;
    }
    return 0;
}

/* The server serves another image than the one in flash: start the download again from 0. */
static int client_restart(struct ota_client *c)
{
    c->net.close(c->net.ctx);
    /* A server whose image keeps changing under a download cannot be followed for ever. */
    if (++c->restarts > OTA_CLIENT_MAX_RESTARTS) {
        return client_fail(c, OTA_ERR_SERVER, false);
    }
    OTA_TRY(client_stage_fresh(c));
    c->attempts = 0;
    client_begin_connect(c);
    return OTA_CLIENT_BUSY;
}

/* Raw resume response line: "OK <offset> <size> <etag>" or "ERR <code> <reason>...". */
static int client_raw_line(struct ota_client *c)
{
    const char *l = c->line;
    if (strncmp(l, "ERR ", 4) == 0) {
        if (strncmp(l + 4, "412", 3) == 0 || strncmp(l + 4, "416", 3) == 0) {
            return client_restart(c); /* image changed or shorter now */
        }
        return client_fail(c, OTA_ERR_SERVER, true);
    }
    if (strncmp(l, "OK ", 3) != 0) {
        return client_fail(c, OTA_ERR_PROTOCOL, true);
    }
    l += 3;
    uint32_t v[2] = {0, 0};
    for (int i = 0; i < 2; i++) {
        int digits = 0;
        uint64_t acc = 0;
        while (*l >= '0' && *l <= '9') {
            acc = acc * 10u + (uint64_t)(*l - '0');
            if (++digits > 10 || acc > UINT32_MAX) {
                return client_fail(c, OTA_ERR_PROTOCOL, true);
            }
            l++;
        }
        if (digits == 0 || *l != ' ') {
            return client_fail(c, OTA_ERR_PROTOCOL, true);
        }
        v[i] = (uint32_t)acc;
        l++;
    }
    if (v[0] != c->req_from) {
        return client_fail(c, OTA_ERR_PROTOCOL, true);
    }
    if (client_check_identity(c, l, strlen(l), v[1]) != 0) {
        return client_restart(c);
    }
    client_enter(c, OTA_ST_RECEIVE);
    return OTA_CLIENT_BUSY;
}

/* Bytes of a response head (HTTP, or the raw resume line); the rest goes to the body. */
static int client_response(struct ota_client *c, const uint8_t *data, size_t len, size_t *used)
{
    if (c->cfg.proto == OTA_PROTO_HTTP) {
        int rc = ota_http_parse(&c->http, data, len, used);
        if (rc == OTA_HTTP_MORE) {
            return OTA_CLIENT_BUSY;
        }
        if (rc != OTA_HTTP_DONE) {
            return client_fail(c, OTA_ERR_PROTOCOL, true);
        }
        uint32_t off;
        uint32_t size;
        rc = ota_http_check(&c->http.resp, c->req_from, &off, &size);
        if (rc == OTA_HTTP_RESTART) {
            /* A whole image instead of a range: start over from this very body. */
            OTA_TRY(client_stage_fresh(c));
            c->req_from = 0;
            c->stream = 0;
        } else if (rc == OTA_HTTP_ERR_NOT_FOUND || rc == OTA_HTTP_ERR_RANGE ||
                   rc == OTA_HTTP_ERR_STATUS) {
            if (rc == OTA_HTTP_ERR_RANGE && c->req_from > 0) {
                return client_restart(c);
            }
            bool server_side = c->http.resp.status >= 500;
            return client_fail(c, OTA_ERR_HTTP_STATUS, server_side);
        } else if (rc != OTA_HTTP_DONE) {
            return client_fail(c, OTA_ERR_PROTOCOL, true);
        }
        const char *tag = c->http.resp.etag;
        if (client_check_identity(c, tag, strlen(tag), size) != 0) {
            return client_restart(c);
        }
        client_enter(c, OTA_ST_RECEIVE);
        return OTA_CLIENT_BUSY;
    }
    /* raw resume: one line */
    for (size_t i = 0; i < len; i++) {
        *used = i + 1;
        char ch = (char)data[i];
        if (ch == '\n') {
            if (c->line_len > 0 && c->line[c->line_len - 1] == '\r') {
                c->line_len--;
            }
            c->line[c->line_len] = '\0';
            return client_raw_line(c);
        }
        if (c->line_len >= sizeof(c->line) - 1) {
            return client_fail(c, OTA_ERR_PROTOCOL, true);
        }
        c->line[c->line_len++] = ch;
    }
    return OTA_CLIENT_BUSY;
}

static int client_receive(struct ota_client *c)
{
    if (c->cfg.proto != OTA_PROTO_HTTP) {
        /* A failed ACK is not the end: the server may have reset the connection after its last
         * bytes (the tutorial's server does), and those still wait in the receive buffer. */
        (void)client_send_acks(c);
    }
    size_t got = 0;
    int rc = c->net.recv(c->net.ctx, c->rx, sizeof(c->rx), &got);
    if (rc == OTA_NET_PENDING || (rc == OTA_NET_OK && got == 0)) {
        uint32_t limit = c->cfg.recv_timeout_ms;
        if (limit != 0 && client_elapsed(c, c->t_state) >= limit) {
            return client_fail(c, OTA_ERR_RECV_TIMEOUT, true);
        }
        return OTA_CLIENT_BUSY;
    }
    if (rc == OTA_NET_EOF || rc < 0) {
        return client_fail(c, OTA_ERR_CLOSED, true);
    }
    c->t_state = client_now(c);
    c->stats.bytes_rx += (uint32_t)got;
    const uint8_t *p = c->rx;
    size_t n = got;
    if (c->state == OTA_ST_RESPONSE) {
        size_t used = 0;
        int r = client_response(c, p, n, &used);
        if (c->state != OTA_ST_RECEIVE) {
            return r;
        }
        p += used;
        n -= used;
    }
    if (c->cfg.proto != OTA_PROTO_HTTP) {
        uint32_t before = c->conn_rx / OTA_RAW_ACK_BLOCK;
        c->conn_rx += (uint32_t)n;
        c->acks_due += c->conn_rx / OTA_RAW_ACK_BLOCK - before;
    }
    rc = client_deliver(c, p, n);
    if (rc == OTA_STAGE_DONE) {
        /* Acknowledge what the tutorial's server may still wait for, then hang up. */
        client_enter(c, OTA_ST_LINGER);
        return OTA_CLIENT_BUSY;
    }
    if (rc == OTA_STAGE_REWIND) {
        c->net.close(c->net.ctx);
        client_begin_connect(c); /* ask again from the rewound position */
        return OTA_CLIENT_BUSY;
    }
    if (rc != 0) {
        return client_fail(c, rc, false);
    }
    return OTA_CLIENT_BUSY;
}

bool ota_vector_ok(uint32_t sp, uint32_t reset, uint32_t payload_size)
{
    if (sp <= SRAM_BASE_ADDR || sp > SRAM_BASE_ADDR + SRAM_TOTAL_SIZE || sp % 8u != 0u) {
        return false;
    }
    if ((reset & 1u) == 0u) {
        return false; /* Thumb bit */
    }
    uint32_t pc = reset & ~1u;
    return pc >= APP_ADDR && pc - APP_ADDR < payload_size;
}

int ota_staged_vectors_check(void)
{
    struct image_reader rd;
    struct image_info info;
    if (bootctl_area_reader_init(FLASH_AREA_STAGING, &rd) != BOOTCTL_OK ||
        image_parse(&rd, &info) != IMAGE_OK) {
        return 0;
    }
    uint8_t v[8];
    if (info.hdr.ih_img_size < sizeof v) {
        return OTA_ERR_VECTORS;
    }
    if (rd.read(rd.ctx, info.hdr.ih_hdr_size, v, sizeof v) != 0) {
        return OTA_ERR_FLASH;
    }
    return ota_vector_ok(ota_get_le32(&v[0]), ota_get_le32(&v[4]), info.hdr.ih_img_size)
               ? 0
               : OTA_ERR_VECTORS;
}

static int client_verify(struct ota_client *c)
{
    int detail = 0;
    uint32_t flags = c->cfg.allow_equal_version ? BOOTCTL_PENDING_ALLOW_EQUAL : 0u;
    /* The bootloader refuses an image whose vector table it would not jump to: so do we, before
     * the PENDING record (a signed image built for another address or another chip). */
    int vrc = ota_staged_vectors_check();
    int rc = BOOTCTL_ERR_IMAGE;
    if (vrc == 0) {
        rc = bootctl_request_update(c->cfg.pubkey, flags, &detail);
    }
    if (rc == BOOTCTL_OK) {
        c->status = OTA_CLIENT_DONE;
        client_enter(c, OTA_ST_DONE);
        return OTA_CLIENT_DONE;
    }
    if (c->resuming && c->stats.bytes_rx == 0) {
        /* A download found complete in flash that does not verify: fetch it again. */
        if (client_stage_fresh(c) != 0) {
            return client_fail(c, OTA_ERR_FLASH, false);
        }
        client_enter(c, OTA_ST_NET);
        return OTA_CLIENT_BUSY;
    }
    if (vrc != 0) {
        return client_fail(c, vrc, false);
    }
    if (rc == BOOTCTL_ERR_IMAGE) {
        c->image_err = detail;
        return client_fail(c, OTA_ERR_VERIFY, false);
    }
    if (rc == BOOTCTL_ERR_VERSION) {
        return client_fail(c, OTA_ERR_DOWNGRADE, false);
    }
    return client_fail(c, OTA_ERR_MARK, false);
}

int ota_client_poll(struct ota_client *c)
{
    OTA_VERIFY(c != NULL, OTA_ERR_ARG);
    switch (c->state) {
    case OTA_ST_IDLE:
        return OTA_CLIENT_IDLE;
    case OTA_ST_DONE:
        return OTA_CLIENT_DONE;
    case OTA_ST_FAILED:
        return c->status;
    default:
        break;
    }
    if (c->cfg.total_timeout_ms != 0 && c->state != OTA_ST_VERIFY &&
        client_elapsed(c, c->t_update) >= c->cfg.total_timeout_ms) {
        return client_fail(c, OTA_ERR_TOTAL_TIMEOUT, false);
    }

    switch (c->state) {
    case OTA_ST_NET: {
        int rc = c->net.ready_poll(c->net.ctx);
        if (rc == OTA_NET_PENDING) {
            uint32_t limit = c->cfg.net_timeout_ms != 0 ? c->cfg.net_timeout_ms
                                                        : c->cfg.connect_timeout_ms;
            if (limit != 0 && client_elapsed(c, c->t_state) >= limit) {
                c->attempts++;
                return client_fail(c, OTA_ERR_NET, true);
            }
            return OTA_CLIENT_BUSY;
        }
        if (rc != OTA_NET_OK) {
            c->attempts++;
            return client_fail(c, OTA_ERR_NET, true);
        }
        if (client_parse_ipv4(c->cfg.host, c->server_ip)) {
            client_begin_connect(c);
        } else if (c->net.resolve_start(c->net.ctx, c->cfg.host) < 0) {
            c->attempts++;
            return client_fail(c, OTA_ERR_DNS, true);
        } else {
            client_enter(c, OTA_ST_RESOLVE);
        }
        return OTA_CLIENT_BUSY;
    }
    case OTA_ST_RESOLVE: {
        int rc = c->net.resolve_poll(c->net.ctx, c->server_ip);
        if (rc == OTA_NET_PENDING) {
            if (c->cfg.resolve_timeout_ms != 0 &&
                client_elapsed(c, c->t_state) >= c->cfg.resolve_timeout_ms) {
                c->attempts++;
                return client_fail(c, OTA_ERR_DNS, true);
            }
            return OTA_CLIENT_BUSY;
        }
        if (rc != OTA_NET_OK) {
            c->attempts++;
            return client_fail(c, OTA_ERR_DNS, true);
        }
        client_begin_connect(c);
        return OTA_CLIENT_BUSY;
    }
    case OTA_ST_CONNECT: {
        int rc;
        if (!c->connect_issued) {
            rc = c->net.connect(c->net.ctx, c->server_ip, c->cfg.port);
            if (rc < 0) {
                return client_fail(c, client_connect_error(rc), true);
            }
            c->connect_issued = true;
            if (client_build_request(c) != 0) {
                return client_fail(c, OTA_ERR_ARG, false);
            }
        }
        rc = c->net.connect_poll(c->net.ctx);
        if (rc == OTA_NET_PENDING) {
            if (c->cfg.connect_timeout_ms != 0 &&
                client_elapsed(c, c->t_state) >= c->cfg.connect_timeout_ms) {
                return client_fail(c, OTA_ERR_CONNECT_TIMEOUT, true);
            }
            return OTA_CLIENT_BUSY;
        }
        if (rc != OTA_NET_OK) {
            return client_fail(c, client_connect_error(rc), true);
        }
        client_enter(c, OTA_ST_REQUEST);
        return OTA_CLIENT_BUSY;
    }
    case OTA_ST_REQUEST: {
        size_t sent = 0;
        int rc = c->net.send(c->net.ctx, (const uint8_t *)c->req + c->req_sent,
                             (size_t)(c->req_len - c->req_sent), &sent);
        if (rc < 0) {
            return client_fail(c, OTA_ERR_CLOSED, true);
        }
        c->req_sent = (uint16_t)(c->req_sent + sent);
        if (c->req_sent == c->req_len) {
            bool head = c->cfg.proto != OTA_PROTO_RAW;
            client_enter(c, head ? OTA_ST_RESPONSE : OTA_ST_RECEIVE);
        }
        return OTA_CLIENT_BUSY;
    }
    case OTA_ST_RESPONSE:
    case OTA_ST_RECEIVE:
        return client_receive(c);
    case OTA_ST_LINGER: {
        /* Bounded: the image is complete whatever happens to the last ACKs. */
        bool done = true;
        if (c->cfg.proto != OTA_PROTO_HTTP && client_send_acks(c) == 0) {
            done = c->acks_due == 0 && (c->net.flush_poll == NULL ||
                                        c->net.flush_poll(c->net.ctx) != OTA_NET_PENDING);
        }
        if (done && c->net.disconnect_poll != NULL) {
            /* A graceful end, so the server reads every ACK instead of a reset. */
            done = c->net.disconnect_poll(c->net.ctx) != OTA_NET_PENDING;
        }
        if (done || client_elapsed(c, c->t_state) >= OTA_CLIENT_LINGER_MS) {
            c->net.close(c->net.ctx);
            client_enter(c, OTA_ST_VERIFY);
        }
        return OTA_CLIENT_BUSY;
    }
    case OTA_ST_VERIFY:
        return client_verify(c);
    case OTA_ST_BACKOFF:
        if (client_elapsed(c, c->t_state) < c->backoff_ms) {
            return OTA_CLIENT_BUSY;
        }
        c->backoff_ms = c->backoff_ms * 2u > c->cfg.backoff_max_ms ? c->cfg.backoff_max_ms
                                                                   : c->backoff_ms * 2u;
        c->status = OTA_CLIENT_BUSY;
        client_enter(c, OTA_ST_NET);
        return OTA_CLIENT_BUSY;
    default:
        return client_fail(c, OTA_ERR_ARG, false);
    }
}

void ota_client_progress(const struct ota_client *c, uint32_t *done, uint32_t *total)
{
    *done = ota_stage_pos(&c->stage);
    *total = ota_stage_total(&c->stage) != 0 ? ota_stage_total(&c->stage) : c->image_size;
}

const char *ota_client_status_str(int status)
{
    switch (status) {
    case OTA_CLIENT_IDLE: return "idle";
    case OTA_CLIENT_BUSY: return "busy";
    case OTA_CLIENT_DONE: return "done";
    case OTA_ERR_ARG: return "bad argument";
    case OTA_ERR_NET: return "no link or address";
    case OTA_ERR_DNS: return "name did not resolve";
    case OTA_ERR_CONNECT: return "connection refused";
    case OTA_ERR_CONNECT_TIMEOUT: return "connect timed out";
    case OTA_ERR_RECV_TIMEOUT: return "server silent";
    case OTA_ERR_TOTAL_TIMEOUT: return "update took too long";
    case OTA_ERR_CLOSED: return "connection closed early";
    case OTA_ERR_PROTOCOL: return "malformed response";
    case OTA_ERR_HTTP_STATUS: return "HTTP error status";
    case OTA_ERR_SERVER: return "server refused";
    case OTA_ERR_HEADER: return "bad image header";
    case OTA_ERR_TOO_BIG: return "image too big";
    case OTA_ERR_DOWNGRADE: return "not newer than installed";
    case OTA_ERR_FLASH: return "flash error";
    case OTA_ERR_VERIFY: return "image does not verify";
    case OTA_ERR_MARK: return "could not mark pending";
    case OTA_ERR_STATE: return "could not record progress";
    case OTA_ERR_VECTORS: return "bad vector table";
    case OTA_ERR_TRUNCATED: return "image truncated at the server";
    default: return "unknown";
    }
}
