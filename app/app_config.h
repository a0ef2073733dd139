/*
 * Application configuration: the one place for its knobs, with documented defaults and
 * compile-time checks (in the manner of lwIP's opt.h). Override any of them with -D.
 * The version is not here: it comes from APP_VERSION in the top-level CMakeLists.txt.
 */
#ifndef APP_CONFIG_H
#define APP_CONFIG_H

/* ---- Update server ------------------------------------------------------------------------ */
/* Host name (resolved with DNS) or dotted IPv4 address of the update server. */
#ifndef APP_SERVER_HOST
#define APP_SERVER_HOST "192.168.1.10"
#endif
/* TCP port of the server: 8080 for HTTP; the tutorial's raw TCP server listens on 5678. */
#ifndef APP_SERVER_PORT
#define APP_SERVER_PORT 8080
#endif
/*
 * Protocol (values equal lib/ota's enum ota_proto): APP_PROTO_HTTP (GET with Range, resumable),
 * APP_PROTO_RAW (the tutorial's raw TCP), APP_PROTO_RAW_RESUME (raw TCP with the offset extension
 * of tools/otaserver).
 */
#define APP_PROTO_RAW 0
#define APP_PROTO_RAW_RESUME 1
#define APP_PROTO_HTTP 2
#ifndef APP_SERVER_PROTO
#define APP_SERVER_PROTO APP_PROTO_HTTP
#endif
/* HTTP path of the image (ignored by the raw protocol); otaserver serves /firmware. */
#ifndef APP_SERVER_PATH
#define APP_SERVER_PATH "/firmware"
#endif

/* ---- Network ------------------------------------------------------------------------------ */
/* 1: address from DHCP; 0: the static address below. */
#ifndef APP_USE_DHCP
#define APP_USE_DHCP 1
#endif
/* Static configuration (APP_USE_DHCP 0), and the DNS server when DHCP does not give one. */
#ifndef APP_STATIC_IP
#define APP_STATIC_IP "192.168.1.50"
#endif
#ifndef APP_STATIC_NETMASK
#define APP_STATIC_NETMASK "255.255.255.0"
#endif
#ifndef APP_STATIC_GATEWAY
#define APP_STATIC_GATEWAY "192.168.1.1"
#endif
#ifndef APP_STATIC_DNS
#define APP_STATIC_DNS "192.168.1.1"
#endif

/* 1: probe the address DHCP acknowledged with ARP before using it, as RFC 2131 4.4.1 recommends
 * (SHOULD): a conflicting host is detected and the address declined. The probe ends when an
 * answer comes or after APP_DHCP_PROBE_ARPS unanswered ARP requests, 200 ms apart (the W5500's
 * RTR): 3 = 600 ms on every update. 0 (the probe) = the chip's 9 requests, 1.8 s. A host that
 * owns the address answers the first request within milliseconds; more requests only cover lost
 * frames. APP_DHCP_CONFLICT_PROBE 0: no probe, for networks whose DHCP server is trusted to hand
 * out free addresses (most servers ping before offering); a conflict then goes unnoticed. */
#ifndef APP_DHCP_CONFLICT_PROBE
#define APP_DHCP_CONFLICT_PROBE 1
#endif
#ifndef APP_DHCP_PROBE_ARPS
#define APP_DHCP_PROBE_ARPS 3
#endif

/* ---- Timeouts (milliseconds) -------------------------------------------------------------- */
/* PHY link up after the W5500 reset. */
#ifndef APP_LINK_TIMEOUT_MS
#define APP_LINK_TIMEOUT_MS 5000u
#endif
/* Whole DHCP exchange (DISCOVER .. ACK), retries included. */
#ifndef APP_DHCP_TIMEOUT_MS
#define APP_DHCP_TIMEOUT_MS 10000u
#endif
/* One DNS query, retries included. */
#ifndef APP_DNS_TIMEOUT_MS
#define APP_DNS_TIMEOUT_MS 5000u
#endif
/* TCP connect to the server. */
#ifndef APP_CONNECT_TIMEOUT_MS
#define APP_CONNECT_TIMEOUT_MS 5000u
#endif
/* No byte received for this long: the download is suspended and resumed later. */
#ifndef APP_RECV_TIMEOUT_MS
#define APP_RECV_TIMEOUT_MS 10000u
#endif
/* The whole update, retries included (208 KB at a slow link fits easily). */
#ifndef APP_TOTAL_TIMEOUT_MS
#define APP_TOTAL_TIMEOUT_MS 600000u
#endif
/* Consecutive connections without progress before the update is abandoned. */
#ifndef APP_MAX_ATTEMPTS
#define APP_MAX_ATTEMPTS 5u
#endif
/* Wait before the first retry; doubled after each failure up to the maximum. */
#ifndef APP_BACKOFF_FIRST_MS
#define APP_BACKOFF_FIRST_MS 1000u
#endif
#ifndef APP_BACKOFF_MAX_MS
#define APP_BACKOFF_MAX_MS 30000u
#endif
/* 1: accept an image with the installed version (reinstall); 0: only newer versions. */
#ifndef APP_ALLOW_EQUAL_VERSION
#define APP_ALLOW_EQUAL_VERSION 0
#endif

/* ---- Local behaviour ---------------------------------------------------------------------- */
/* Status LED toggle period. */
#ifndef APP_LED_PERIOD_MS
#define APP_LED_PERIOD_MS 200u
#endif
/* Presses closer together than this count once (contact bounce). */
#ifndef APP_BUTTON_DEBOUNCE_MS
#define APP_BUTTON_DEBOUNCE_MS 50u
#endif
/* Button interrupt priority (0 highest .. 15 lowest; SysTick runs at 15). */
#ifndef APP_BUTTON_IRQ_PRIO
#define APP_BUTTON_IRQ_PRIO 8u
#endif

/*
 * Test and benchmark variants only: bytes of constant filler linked into the program so its signed
 * image has a realistic size (about 200 KB for the update benchmark). 0 in the product.
 */
#ifndef APP_PAD_BYTES
#define APP_PAD_BYTES 0
#endif

/* ---- Checks ------------------------------------------------------------------------------- */
_Static_assert(APP_SERVER_PORT > 0 && APP_SERVER_PORT <= 65535, "APP_SERVER_PORT 1..65535");
_Static_assert(APP_SERVER_PROTO == APP_PROTO_RAW || APP_SERVER_PROTO == APP_PROTO_RAW_RESUME ||
                   APP_SERVER_PROTO == APP_PROTO_HTTP,
               "APP_SERVER_PROTO must be APP_PROTO_RAW, APP_PROTO_RAW_RESUME or APP_PROTO_HTTP");
_Static_assert(APP_USE_DHCP == 0 || APP_USE_DHCP == 1, "APP_USE_DHCP is 0 or 1");
_Static_assert(APP_DHCP_CONFLICT_PROBE == 0 || APP_DHCP_CONFLICT_PROBE == 1,
               "APP_DHCP_CONFLICT_PROBE is 0 or 1");
_Static_assert(APP_DHCP_PROBE_ARPS >= 0 && APP_DHCP_PROBE_ARPS <= 32,
               "APP_DHCP_PROBE_ARPS: 0 (the chip's RCR + 1) or 1..32 requests");
_Static_assert(sizeof(APP_SERVER_HOST) > 1 && sizeof(APP_SERVER_HOST) <= 64,
               "APP_SERVER_HOST: 1..63 characters");
_Static_assert(sizeof(APP_SERVER_PATH) > 1 && sizeof(APP_SERVER_PATH) <= 128,
               "APP_SERVER_PATH: 1..127 characters, starting with /");
_Static_assert(APP_LINK_TIMEOUT_MS >= 100u && APP_LINK_TIMEOUT_MS <= 60000u, "link timeout");
_Static_assert(APP_DHCP_TIMEOUT_MS >= 1000u && APP_DHCP_TIMEOUT_MS <= 120000u, "DHCP timeout");
_Static_assert(APP_DNS_TIMEOUT_MS >= 500u && APP_DNS_TIMEOUT_MS <= 60000u, "DNS timeout");
_Static_assert(APP_CONNECT_TIMEOUT_MS >= 500u && APP_CONNECT_TIMEOUT_MS <= 60000u,
               "connect timeout");
_Static_assert(APP_RECV_TIMEOUT_MS >= 1000u && APP_RECV_TIMEOUT_MS <= 120000u, "receive timeout");
_Static_assert(APP_TOTAL_TIMEOUT_MS >= APP_RECV_TIMEOUT_MS && APP_TOTAL_TIMEOUT_MS <= 3600000u,
               "total timeout: at least one receive timeout, at most 1 h");
_Static_assert(APP_MAX_ATTEMPTS >= 1u && APP_MAX_ATTEMPTS <= 255u, "attempts fit uint8_t");
_Static_assert(APP_BACKOFF_FIRST_MS >= 100u && APP_BACKOFF_FIRST_MS <= APP_BACKOFF_MAX_MS,
               "backoff: first <= max");
_Static_assert(APP_BACKOFF_MAX_MS <= 300000u, "backoff at most 5 min");
_Static_assert(APP_ALLOW_EQUAL_VERSION == 0 || APP_ALLOW_EQUAL_VERSION == 1, "0 or 1");
_Static_assert(APP_LED_PERIOD_MS >= 10u && APP_LED_PERIOD_MS <= 5000u, "LED period");
_Static_assert(APP_BUTTON_IRQ_PRIO <= 15u, "4 priority bits");
_Static_assert(APP_BUTTON_DEBOUNCE_MS <= 1000u, "debounce at most 1 s");
_Static_assert(APP_PAD_BYTES >= 0 && APP_PAD_BYTES <= 224 * 1024,
               "filler: the application area holds 254 KB");

#endif /* APP_CONFIG_H */
