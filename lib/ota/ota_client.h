/*
 * OTA client: the application's side of an update, as one state machine polled from the main loop.
 *
 *   NET (link + address) -> RESOLVE (DNS, if a host name) -> CONNECT -> REQUEST -> RESPONSE
 *   -> RECEIVE (staging writer) -> VERIFY + MARK (bootctl_request_update) -> DONE: caller resets
 *
 * Protocols: the tutorial's raw TCP protocol (`GET firmware`, an `A` after every 512 bytes), its
 * resume extension (`GET firmware <offset>`, docs/protocol.md) and HTTP/1.1 with Range. A dropped
 * connection resumes at the last byte received; a reset or power cut resumes at the last
 * checkpoint once its CRC is proven (docs/ota.md). Connect, receive and whole-update timeouts;
 * retries with exponential backoff; every outcome a distinct status code.
 *
 * The network is reached through struct ota_net (function pointers), so the client runs on the
 * W5500 driver in firmware (ota_net_w5500.c) and on host sockets or the W5500 model in tests.
 * The caller owns struct ota_client (about 5 KB, including the 4 KB receive buffer).
 */
#ifndef OTA_CLIENT_H
#define OTA_CLIENT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "ota_http.h"
#include "ota_stage.h"

/* Return codes of struct ota_net functions. */
enum ota_net_status {
    OTA_NET_OK = 0,
    OTA_NET_PENDING = 1, /* not yet: call again */
    OTA_NET_EOF = 2,     /* recv: the peer closed after sending everything */
    OTA_NET_ERR = -1,    /* failed (the details are the network layer's to log) */
    OTA_NET_ERR_TIMEOUT = -2,
    OTA_NET_ERR_CLOSED = -3 /* reset or refused */
};

struct ota_net {
    /* Link up and an address (DHCP or static): OK, PENDING or an error. */
    int (*ready_poll)(void *ctx);
    /* Name resolution (only called for a host name, never for dotted IPv4). */
    int (*resolve_start)(void *ctx, const char *name);
    int (*resolve_poll)(void *ctx, uint8_t ip[4]);
    /* One TCP connection at a time. */
    int (*connect)(void *ctx, const uint8_t ip[4], uint16_t port);
    int (*connect_poll)(void *ctx);
    int (*send)(void *ctx, const uint8_t *buf, size_t len, size_t *sent);
    int (*recv)(void *ctx, uint8_t *buf, size_t cap, size_t *got);
    void (*close)(void *ctx);
    /* Optional (NULL: not needed): OK once everything sent has left, PENDING before. */
    int (*flush_poll)(void *ctx);
    /* Optional: graceful close (FIN); the first call starts it, PENDING until the peer agreed. */
    int (*disconnect_poll)(void *ctx);
    uint32_t (*millis)(void *ctx);
    void *ctx;
};

enum ota_proto {
    OTA_PROTO_RAW = 0,        /* the tutorial's protocol; resumes by skipping bytes */
    OTA_PROTO_RAW_RESUME = 1, /* with the offset extension of our server (docs/protocol.md) */
    OTA_PROTO_HTTP = 2        /* HTTP/1.1 GET with Range */
};

struct ota_client_config {
    const char *host; /* dotted IPv4 or a host name */
    uint16_t port;
    const char *path; /* HTTP only, e.g. "/firmware" */
    uint8_t proto;    /* enum ota_proto */
    uint32_t net_timeout_ms;     /* link + address (DHCP); 0: connect_timeout_ms */
    uint32_t resolve_timeout_ms; /* one name resolution; 0: the resolver's own retries decide */
    uint32_t connect_timeout_ms;
    uint32_t recv_timeout_ms;  /* longest silence while a response is due */
    uint32_t total_timeout_ms; /* the whole update */
    uint8_t max_attempts;      /* consecutive failed connections (no progress) per update */
    uint32_t backoff_first_ms;
    uint32_t backoff_max_ms;
    bool allow_equal_version; /* documented override: reinstall the same version */
    const uint8_t *pubkey;    /* 32-byte Ed25519 key the image must be signed with */
};

enum ota_client_status {
    OTA_CLIENT_BUSY = 1,
    OTA_CLIENT_DONE = 2, /* verified and marked pending: reset to install */
    OTA_CLIENT_IDLE = 0,
    OTA_ERR_ARG = -1,
    OTA_ERR_NET = -2,           /* no link or no address */
    OTA_ERR_DNS = -3,           /* the name did not resolve */
    OTA_ERR_CONNECT = -4,       /* refused or reset (or another error of the network layer) */
    OTA_ERR_RECV_TIMEOUT = -5,  /* the server went silent */
    OTA_ERR_TOTAL_TIMEOUT = -6, /* the update took longer than allowed */
    OTA_ERR_CLOSED = -7,        /* the connection ended before the image did */
    OTA_ERR_PROTOCOL = -8,      /* malformed response */
    OTA_ERR_HTTP_STATUS = -9,   /* 404, 416, 5xx ... */
    OTA_ERR_SERVER = -10,       /* the raw server answered ERR */
    OTA_ERR_HEADER = -11,       /* the image header is not acceptable */
    OTA_ERR_TOO_BIG = -12,      /* the image does not fit the staging area */
    OTA_ERR_DOWNGRADE = -13,    /* not newer than the installed version */
    OTA_ERR_FLASH = -14,        /* erase/program/verify of staging failed */
    OTA_ERR_VERIFY = -15,       /* hash or signature of the staged image wrong */
    OTA_ERR_MARK = -16,         /* recording PENDING failed */
    OTA_ERR_STATE = -17,        /* boot-control records could not be written */
    OTA_ERR_VECTORS = -18,      /* signed, but the bootloader would not start it (SP, reset) */
    OTA_ERR_TRUNCATED = -19,    /* the server's file ends before the image its header announces */
    OTA_ERR_CONNECT_TIMEOUT = -20 /* no answer: connect timeout, or the network's ARP/TCP timeout */
};

enum ota_client_state {
    OTA_ST_IDLE = 0,
    OTA_ST_NET,
    OTA_ST_RESOLVE,
    OTA_ST_CONNECT,
    OTA_ST_REQUEST,
    OTA_ST_RESPONSE,
    OTA_ST_RECEIVE,
    OTA_ST_LINGER, /* image complete: last ACKs out, then hang up */
    OTA_ST_VERIFY,
    OTA_ST_BACKOFF,
    OTA_ST_DONE,
    OTA_ST_FAILED
};

/* One receive burst: large enough that SPI framing stays under 1 % of the bytes clocked. */
#define OTA_CLIENT_RX_SIZE 4096u
#define OTA_CLIENT_LINGER_MS 500u
#define OTA_CLIENT_MAX_RESTARTS 2u
#define OTA_RAW_ACK_BLOCK 512u

struct ota_client_stats {
    uint32_t bytes_rx;    /* stream bytes received (all connections) */
    uint32_t bytes_skipped; /* re-received bytes not written again */
    uint32_t connections;
    uint32_t acks_sent;
    uint32_t resumed_from; /* offset the first request started at */
};

struct ota_client {
    struct ota_client_config cfg;
    struct ota_net net;
    uint8_t state;
    int status;    /* last error, or BUSY/DONE */
    uint8_t attempts;
    uint8_t restarts; /* downloads started again from 0 because the server's image changed */
    bool resuming; /* the stage continues a download found in flash */
    bool identity_known;
    bool dl_recorded;
    bool connect_issued;
    int refusal;   /* why a staging callback said no */
    int image_err; /* OTA_ERR_HEADER, _TOO_BIG, _VERIFY: the lib/image code (enum image_err) */
    uint8_t dl_id[12];
    uint8_t server_ip[4];
    uint32_t t_update;  /* when the update started */
    uint32_t t_state;   /* when the current state started, or last data */
    uint32_t backoff_ms;
    /* per connection */
    uint32_t req_from;  /* stream offset requested */
    uint32_t stream;    /* stream offset of the next byte received */
    uint32_t conn_rx;   /* bytes received on this connection (raw ACK accounting) */
    uint32_t conn_start_pos; /* staged bytes when the connection started */
    uint32_t acks_due;
    uint32_t image_size; /* from the response, 0 if unknown */
    uint16_t req_len;
    uint16_t req_sent;
    uint8_t line_len;
    char line[96];      /* raw resume response line */
    char req[224];
    struct ota_http_parser http;
    struct ota_stage stage;
    struct ota_client_stats stats;
    uint8_t rx[OTA_CLIENT_RX_SIZE];
};

/* Check cfg and bind the network; the client is idle afterwards. */
int ota_client_init(struct ota_client *c, const struct ota_client_config *cfg,
                    const struct ota_net *net);

/* Begin an update: resumes a download found in flash when its checkpoint is proven. */
int ota_client_start(struct ota_client *c);

/* Do the work that is due. OTA_CLIENT_BUSY while running, OTA_CLIENT_DONE once the image is
 * verified and marked (reset to install it), or the negative status it failed with. */
int ota_client_poll(struct ota_client *c);

/* Bytes of the image in staging and the image size (0 while unknown), for progress. */
void ota_client_progress(const struct ota_client *c, uint32_t *done, uint32_t *total);

/* The bootloader's start rule for a payload's vector table (boot_vector_ok in boot/core): initial SP
 * 8-byte aligned inside SRAM, reset handler a Thumb address inside the payload once installed. */
bool ota_vector_ok(uint32_t sp, uint32_t reset, uint32_t payload_size);

/* The vector table of the image in staging: 0 if it passes ota_vector_ok() or staging holds no
 * parseable image (image verification names that error), OTA_ERR_VECTORS, or OTA_ERR_FLASH. The
 * client checks it before marking an image pending; so must any other caller of
 * bootctl_request_update(). */
int ota_staged_vectors_check(void);

/* A short name for a status code (for logs); never NULL. */
const char *ota_client_status_str(int status);

#endif /* OTA_CLIENT_H */
