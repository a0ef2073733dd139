/*
 * Application for the STM32F446: banner with its version on USART2, status LED blinking from the
 * SysTick tick (pattern chosen by the major version), button (EXTI13) starts an over-the-air
 * update, watchdog fed.
 *
 * The update is lib/ota's client on the W5500 driver, polled from the main loop: no call blocks
 * for the network, so the LED keeps blinking while the image downloads (flash erases stall the
 * core for their duration; that is the flash, not the client). The client checks the image
 * header before it erases anything, writes staging, verifies hash and signature against
 * app_pubkey and appends the PENDING record itself; on OTA_CLIENT_DONE this file logs and resets so
 * the bootloader installs. A failure is logged and the application keeps running.
 *
 * At start-up a download that a reset or power cut interrupted is resumed without a button press,
 * and a complete download whose PENDING record was lost is requested again (docs/boot-state.md,
 * "Why every cut is safe"), unless the bootloader already rejected that very image.
 */
#include "app_config.h"
#include "app_info.h"

#include "board.h"
#include "clock.h"
#include "exti.h"
#include "iwdg.h"
#include "sys.h"
#include "systick.h"
#include "usart.h"

#include "boot_core.h"
#include "bootctl.h"
#include "flash_area.h"
#include "image.h"
#include "ota_client.h"
#include "ota_net_w5500.h"
#include "ota_util.h"
#include "w5500.h"

#include <stdbool.h>
#include <stdint.h>
#include <string.h>

/* VERSIONR of every W5500 (../shared/reference/w5500.md register table). */
#define APP_W5500_VERSION 0x04u

#if !defined(APP_VERSION_MAJOR) || !defined(APP_VERSION_MINOR) || !defined(APP_VERSION_REVISION) ||  \
    !defined(APP_VERSION_BUILD) || !defined(APP_VERSION_STRING)
#error "APP_VERSION_* come from the build (top-level CMakeLists.txt APP_VERSION)"
#endif
_Static_assert(APP_VERSION_MAJOR <= 255 && APP_VERSION_MINOR <= 255, "8-bit major/minor");
_Static_assert(APP_VERSION_REVISION <= 65535, "16-bit revision");
_Static_assert(APP_SERVER_PROTO == OTA_PROTO_RAW || APP_SERVER_PROTO == OTA_PROTO_RAW_RESUME ||
                   APP_SERVER_PROTO == OTA_PROTO_HTTP,
               "APP_PROTO_* equal enum ota_proto");
_Static_assert(APP_PROTO_RAW == OTA_PROTO_RAW && APP_PROTO_RAW_RESUME == OTA_PROTO_RAW_RESUME &&
                   APP_PROTO_HTTP == OTA_PROTO_HTTP,
               "APP_PROTO_* equal enum ota_proto");

/* The key downloads must be signed with (generated from OTA_SIGNING_KEY by app/CMakeLists.txt). */
extern const uint8_t app_pubkey[32];

/* Read by tools at APP_ADDR + APP_INFO_OFFSET (app_info.h); placed by app.ld. */
__attribute__((section(".app_info"), used)) const struct app_info app_info = {
    .ai_magic = APP_INFO_MAGIC,
    .ai_version = APP_INFO_VERSION(APP_VERSION_MAJOR, APP_VERSION_MINOR, APP_VERSION_REVISION),
    .ai_build = APP_VERSION_BUILD,
    .ai_reserved = 0xFFFFFFFFu,
};

#if APP_PAD_BYTES > 0
/* Test and benchmark variants only: constant filler so the signed image has a realistic size. */
__attribute__((used)) const uint8_t app_pad[APP_PAD_BYTES] = {[0 ... APP_PAD_BYTES - 1] = 0xA5u};
#endif

/* Set by the button interrupt, consumed by the main loop. */
static volatile bool app_button_flag;

void EXTI15_10_IRQHandler(void)
{
    if (exti_take_pending(BOARD_BUTTON_PIN)) {
        app_button_flag = true;
    }
}

static void app_log_line(const char *s)
{
    if (board_log(s) == 0) {
        (void)board_log("\r\n");
    }
}

/* Log lines are best effort: a UART that fails must not stop the update. */
static void app_log(const char *s)
{
    (void)board_log(s);
}

static void app_log_dec(uint32_t v)
{
    (void)board_log_dec(v);
}

static void app_log_ip(const uint8_t ip[4])
{
    for (unsigned i = 0; i < 4u; i++) {
        if (i > 0u) {
            app_log(".");
        }
        app_log_dec(ip[i]);
    }
}

static void app_log_version(const struct image_version *v)
{
    app_log_dec(v->iv_major);
    app_log(".");
    app_log_dec(v->iv_minor);
    app_log(".");
    app_log_dec(v->iv_revision);
    app_log("+");
    app_log_dec(v->iv_build_num);
}

/* ---- status LED ------------------------------------------------------------------------------ */

/*
 * The pattern tells the versions apart from across the room: major version 1 toggles every
 * APP_LED_PERIOD_MS (the tutorial's 200 ms); any later major version double-blinks once per
 * APP_LED_DOUBLE_CYCLE_MS (on, off, on for APP_LED_DOUBLE_ON_MS each, then dark).
 */
#define APP_LED_DOUBLE_ON_MS 100u
#define APP_LED_DOUBLE_CYCLE_MS 1000u
_Static_assert(4u * APP_LED_DOUBLE_ON_MS < APP_LED_DOUBLE_CYCLE_MS, "dark part of the cycle");

static uint32_t app_led_t0;
static bool app_led_on;

static bool app_led_pattern(uint32_t now)
{
#if APP_VERSION_MAJOR <= 1
    return ((now - app_led_t0) / APP_LED_PERIOD_MS) % 2u == 1u;
#else
    uint32_t phase = (now - app_led_t0) % APP_LED_DOUBLE_CYCLE_MS;
    return phase < APP_LED_DOUBLE_ON_MS ||
           (phase >= 2u * APP_LED_DOUBLE_ON_MS && phase < 3u * APP_LED_DOUBLE_ON_MS);
#endif
}

static void app_led_poll(uint32_t now)
{
    bool on = app_led_pattern(now);
    if (on != app_led_on) {
        app_led_on = on;
        board_led_set(on);
    }
}

/* ---- W5500 port: the board's SPI1/CS/RSTn functions and the SysTick clock ------------------- */

static void app_w5500_select(void *ctx)
{
    (void)ctx;
    board_w5500_select();
}

static void app_w5500_deselect(void *ctx)
{
    (void)ctx;
    board_w5500_deselect();
}

static int app_w5500_transfer(void *ctx, const uint8_t *tx, uint8_t *rx, size_t len)
{
    (void)ctx;
    return board_w5500_transfer(tx, rx, len);
}

static void app_w5500_reset_pin(void *ctx, bool level)
{
    (void)ctx;
    board_w5500_reset_pin(level);
}

static uint32_t app_w5500_millis(void *ctx)
{
    (void)ctx;
    return systick_ms();
}

static const struct w5500_port app_w5500_port = {
    .select = app_w5500_select,
    .deselect = app_w5500_deselect,
    .transfer = app_w5500_transfer,
    .reset_pin = app_w5500_reset_pin,
    .millis = app_w5500_millis,
    .ctx = NULL,
};

/*
 * Bring-up check of the Ethernet chip: pulse RSTn (>= 500 us low, then 1 ms for its PLL; w5500.md
 * §reset) and read VERSIONR (common register 0x0039, always 0x04) in one variable-length frame.
 * Returns true when the chip answers. The OTA client's w5500 driver resets and configures the
 * chip again on its own; this only tells the log whether the wiring works.
 */
static bool app_w5500_probe(uint8_t *version)
{
    static const uint8_t frame[4] = {0x00, 0x39, 0x00 /* common block, read, VDM */, 0x00};
    uint8_t rx[4] = {0};
    if (board_w5500_spi_init() != 0) {
        return false;
    }
    board_w5500_reset_pin(false);
    systick_delay_ms(1u);
    board_w5500_reset_pin(true);
    systick_delay_ms(2u);
    board_w5500_select();
    int rc = board_w5500_transfer(frame, rx, sizeof frame);
    board_w5500_deselect();
    *version = rx[3];
    return rc == 0 && rx[3] == APP_W5500_VERSION;
}

/* ---- OTA client ------------------------------------------------------------------------------ */

/* Sockets: the download gets the large receive buffer; DHCP and DNS are short-lived UDP users. */
#define APP_SN_TCP 0u
#define APP_SN_DHCP 1u
#define APP_SN_DNS 2u
#define APP_TCP_RX_KB 8u
#define APP_FIRST_LOCAL_PORT 49152u

/* Static storage: the client is about 5 KB (its 4 KB receive buffer included). */
static struct w5500_dev app_w5500;
static struct ota_net_w5500 app_net_w5500;
static struct ota_client app_ota;
static bool app_ota_active;
static uint8_t app_ota_state;    /* client state seen on the previous pass */
static uint32_t app_ota_decile;  /* progress tenths already logged; UINT32_MAX: none yet */
static uint32_t app_ota_t_start; /* systick_ms() when the update started */
static int app_ota_net_rc;       /* last ota_net_w5500_poll result */

/* Dotted IPv4 to 4 bytes; false for anything else. */
static bool app_parse_ipv4(const char *s, uint8_t ip[4])
{
    for (unsigned i = 0; i < 4u; i++) {
        uint32_t v = 0;
        unsigned digits = 0;
        while (*s >= '0' && *s <= '9') {
            v = v * 10u + (uint32_t)(*s - '0');
            if (++digits > 3u || v > 255u) {
                return false;
            }
            s++;
        }
        if (digits == 0u) {
            return false;
        }
        ip[i] = (uint8_t)v;
        if (i < 3u) {
            if (*s != '.') {
                return false;
            }
            s++;
        }
    }
    return *s == '\0';
}

static const char *app_proto_name(void)
{
#if APP_SERVER_PROTO == APP_PROTO_HTTP
    return "http";
#elif APP_SERVER_PROTO == APP_PROTO_RAW_RESUME
    return "raw+resume";
#else
    return "raw";
#endif
}

static void app_log_setup_error(const char *layer, int rc)
{
    app_log("app: update not started: ");
    app_log(layer);
    app_log(" setup failed (");
    app_log_dec((uint32_t)-rc);
    app_log_line(")");
}

/* Network, driver and client set up from app_config.h; false (logged) if any layer refused. */
static bool app_ota_setup(void)
{
    struct w5500_config wcfg;
    memset(&wcfg, 0, sizeof wcfg);
    /* Read here, not at start-up: not every test platform maps the unique-ID page. */
    sys_unique_id(wcfg.uid);
    wcfg.tx_kb[APP_SN_TCP] = 2u;
    wcfg.rx_kb[APP_SN_TCP] = APP_TCP_RX_KB;
    wcfg.tx_kb[APP_SN_DHCP] = 2u;
    wcfg.rx_kb[APP_SN_DHCP] = 2u;
    wcfg.tx_kb[APP_SN_DNS] = 2u;
    wcfg.rx_kb[APP_SN_DNS] = 2u;
    wcfg.link_timeout_ms = APP_LINK_TIMEOUT_MS;

    struct ota_net_w5500_config ncfg;
    memset(&ncfg, 0, sizeof ncfg);
    ncfg.use_dhcp = APP_USE_DHCP != 0;
    if (!app_parse_ipv4(APP_STATIC_IP, ncfg.static_net.ip) ||
        !app_parse_ipv4(APP_STATIC_NETMASK, ncfg.static_net.mask) ||
        !app_parse_ipv4(APP_STATIC_GATEWAY, ncfg.static_net.gateway) ||
        !app_parse_ipv4(APP_STATIC_DNS, ncfg.dns_server)) {
        app_log_setup_error("address", OTA_ERR_ARG);
        return false;
    }
#if !APP_USE_DHCP
    wcfg.net = ncfg.static_net;
#endif
    ncfg.tcp_sn = APP_SN_TCP;
    ncfg.dhcp_sn = APP_SN_DHCP;
    ncfg.dhcp_skip_conflict_probe = APP_DHCP_CONFLICT_PROBE == 0;
    ncfg.dhcp_probe_arps = APP_DHCP_PROBE_ARPS;
    ncfg.dns_sn = APP_SN_DNS;
    /* DHCP xid and DNS ids differ per device (unique ID) and per boot (time of the press). */
    uint32_t seed = systick_ms();
    for (unsigned i = 0; i < sizeof wcfg.uid; i++) {
        seed = seed * 31u + wcfg.uid[i];
    }
    ncfg.seed = seed;
    ncfg.first_local_port = (uint16_t)(APP_FIRST_LOCAL_PORT + (seed & 0x0FFFu));

    int rc = w5500_init(&app_w5500, &app_w5500_port, &wcfg);
    if (rc != W5500_OK) {
        app_log_setup_error("w5500", rc);
        return false;
    }
    struct ota_net net;
    rc = ota_net_w5500_init(&app_net_w5500, &app_w5500, &ncfg, &net);
    if (rc != OTA_NET_OK) {
        app_log_setup_error("network", rc);
        return false;
    }
    static const struct ota_client_config ccfg = {
        .host = APP_SERVER_HOST,
        .port = APP_SERVER_PORT,
        .path = APP_SERVER_PATH,
        .proto = APP_SERVER_PROTO,
        /* Link first, then (with DHCP) the whole DISCOVER..ACK exchange. */
        .net_timeout_ms = APP_LINK_TIMEOUT_MS + (APP_USE_DHCP ? APP_DHCP_TIMEOUT_MS : 0u),
        .resolve_timeout_ms = APP_DNS_TIMEOUT_MS,
        .connect_timeout_ms = APP_CONNECT_TIMEOUT_MS,
        .recv_timeout_ms = APP_RECV_TIMEOUT_MS,
        .total_timeout_ms = APP_TOTAL_TIMEOUT_MS,
        .max_attempts = APP_MAX_ATTEMPTS,
        .backoff_first_ms = APP_BACKOFF_FIRST_MS,
        .backoff_max_ms = APP_BACKOFF_MAX_MS,
        .allow_equal_version = APP_ALLOW_EQUAL_VERSION != 0,
        .pubkey = app_pubkey,
    };
    rc = ota_client_init(&app_ota, &ccfg, &net);
    if (rc != 0) {
        app_log_setup_error("client", rc);
        return false;
    }
    return true;
}

/* Start (or resume) an update; logs why when it cannot start. */
static void app_ota_start(void)
{
    if (app_ota_active) {
        app_log_line("app: update already running");
        return;
    }
    app_log("app: update from ");
    app_log(app_proto_name());
    app_log(" ");
    app_log(APP_SERVER_HOST);
    app_log(":");
    app_log_dec(APP_SERVER_PORT);
#if APP_SERVER_PROTO == APP_PROTO_HTTP
    app_log(APP_SERVER_PATH);
#endif
    app_log_line(!APP_USE_DHCP              ? " (static address)"
                 : APP_DHCP_CONFLICT_PROBE ? " (DHCP)"
                                           : " (DHCP, no ARP probe)");
    if (!app_ota_setup()) {
        return;
    }
    int rc = ota_client_start(&app_ota);
    if (rc != 0) {
        app_log("app: update not started: ");
        app_log(ota_client_status_str(rc));
        app_log(" (");
        app_log_dec((uint32_t)-rc);
        app_log_line(")");
        return;
    }
    uint32_t done = 0;
    uint32_t total = 0;
    ota_client_progress(&app_ota, &done, &total);
    if (done > 0u) {
        app_log("app: resuming at byte ");
        app_log_dec(done);
        app_log_line(" (checkpoint proven)");
    }
    app_ota_active = true;
    app_ota_state = app_ota.state;
    app_ota_decile = UINT32_MAX;
    app_ota_net_rc = OTA_NET_OK;
    app_ota_t_start = systick_ms();
}

/* One line per tenth of the image: "app: download 30% (61440/204800 bytes)". */
static void app_ota_log_progress(void)
{
    uint32_t done = 0;
    uint32_t total = 0;
    ota_client_progress(&app_ota, &done, &total);
    uint32_t max_percent = 100u;
    if (total == 0u) {
        /* The tutorial's protocol announces no size: until the TLV info header arrives, the
         * header's sizes give all but the few hundred TLV bytes; never claim 100 % from that. */
        total = app_ota.stage.body_end;
        max_percent = 99u;
    }
    if (total == 0u || done > total) {
        return;
    }
    /* done <= 208 KB: done * 100 fits 32 bits. */
    uint32_t percent = (done * 100u) / total;
    if (percent > max_percent) {
        percent = max_percent;
    }
    uint32_t decile = percent / 10u;
    if (app_ota_decile != UINT32_MAX && decile <= app_ota_decile) {
        return;
    }
    app_ota_decile = decile;
    app_log("app: download ");
    app_log_dec(percent);
    app_log("% (");
    app_log_dec(done);
    app_log("/");
    app_log_dec(total);
    app_log_line(" bytes)");
}

/* Log what changed in the client since the previous pass. */
static void app_ota_log_state(void)
{
    uint8_t st = app_ota.state;
    if (st == app_ota_state) {
        return;
    }
    uint8_t prev = app_ota_state;
    app_ota_state = st;
    if (prev == OTA_ST_NET && (st == OTA_ST_RESOLVE || st == OTA_ST_CONNECT)) {
        struct w5500_netcfg nc;
        if (w5500_get_netcfg(&app_w5500, &nc) == W5500_OK) {
            app_log("app: network up, address ");
            app_log_ip(nc.ip);
            app_log_line("");
        }
    }
    if (prev == OTA_ST_RESOLVE && st == OTA_ST_CONNECT) {
        app_log("app: ");
        app_log(APP_SERVER_HOST);
        app_log(" is ");
        app_log_ip(app_ota.server_ip);
        app_log_line("");
    }
    if (st == OTA_ST_VERIFY) {
        app_log_line("app: download complete, verifying");
    }
    if (st == OTA_ST_BACKOFF) {
        app_log("app: attempt ");
        app_log_dec(app_ota.attempts);
        app_log(" failed: ");
        app_log(ota_client_status_str(app_ota.status));
        if (app_net_w5500.last_status != 0) {
            app_log(" (w5500: ");
            app_log(w5500_status_str(app_net_w5500.last_status));
            app_log(")");
            app_net_w5500.last_status = 0; /* the next failure may have no driver status */
        }
        app_log_line(", retrying");
    }
}

/* One pass of the client; true if it did something (then the main loop polls again at once). */
static bool app_ota_poll(uint32_t now)
{
    if (!app_ota_active) {
        return false;
    }
    uint8_t state = app_ota.state;
    uint32_t rx = app_ota.stats.bytes_rx;
    int rc = ota_client_poll(&app_ota);
    /* Keeps a DHCP lease alive; losing it shows up as a failed attempt, logged with the cause. */
    int net_rc = ota_net_w5500_poll(&app_net_w5500);
    if (net_rc != app_ota_net_rc) {
        app_ota_net_rc = net_rc;
        if (net_rc < 0) {
            app_log("app: DHCP lease: ");
            app_log_line(w5500_status_str(app_net_w5500.last_status));
        }
    }
    app_ota_log_state();
    app_ota_log_progress();
    if (rc == OTA_CLIENT_BUSY) {
        return app_ota.state != state || app_ota.stats.bytes_rx != rx;
    }
    app_ota_active = false;
    app_log("app: update ");
    app_log(ota_client_status_str(rc));
    app_log(" after ");
    app_log_dec(now - app_ota_t_start);
    app_log(" ms (");
    app_log_dec(app_ota.stats.bytes_rx);
    app_log(" bytes received, ");
    app_log_dec(app_ota.stats.connections);
    app_log_line(" connections)");
    if (rc == OTA_CLIENT_DONE) {
        app_log_line("app: image verified and marked pending, resetting to install");
        (void)usart2_flush();
        sys_reset();
    }
    if (app_ota.image_err != IMAGE_OK &&
        (rc == OTA_ERR_HEADER || rc == OTA_ERR_TOO_BIG || rc == OTA_ERR_VERIFY)) {
        app_log("app: image refused: ");
        app_log(image_strerror(app_ota.image_err));
        app_log(" (image error ");
        app_log_dec((uint32_t)-app_ota.image_err);
        app_log_line(")");
    }
    app_log("app: update failed: ");
    app_log(ota_client_status_str(rc));
    app_log(" (");
    app_log_dec((uint32_t)-rc);
    app_log_line("), still running");
    return true;
}

/* ---- start-up: last result, interrupted downloads -------------------------------------------- */

static void app_log_last_result(void)
{
    struct bootctl_installed inst;
    if (bootctl_installed_info(&inst) == BOOTCTL_OK) {
        app_log("app: installed version ");
        app_log_version(&inst.version);
        app_log_line("");
    }
    struct bootctl_last last;
    int rc = bootctl_last_result(&last);
    app_log("app: last update: ");
    if (rc != BOOTCTL_OK) {
        app_log("unknown (boot control ");
        app_log_dec((uint32_t)-rc);
        app_log_line(")");
        return;
    }
    switch (last.result) {
    case BOOTCTL_RESULT_NONE:
        app_log_line("none (factory image)");
        break;
    case BOOTCTL_RESULT_INSTALLED:
        app_log_line("installed");
        break;
    case BOOTCTL_RESULT_RECOVERED:
        app_log_line("installed (header recovered after a power cut)");
        break;
    case BOOTCTL_RESULT_REJECTED:
        app_log("rejected (");
        app_log(boot_reason_str((int)last.reason));
        app_log(", ");
        app_log_dec((uint32_t)last.reason);
        app_log_line(")");
        break;
    default:
        app_log("unknown result ");
        app_log_dec(last.result);
        app_log_line("");
        break;
    }
}

/* First bytes of the staged image's SHA-256 TLV and its total size; false if staging holds no
 * parseable image. */
static bool app_staged_image(uint8_t hash[BOOTCTL_HASH_ID_SIZE], uint32_t *total)
{
    struct image_reader rd;
    struct image_info info;
    uint32_t off;
    uint16_t len;
    if (bootctl_area_reader_init(FLASH_AREA_STAGING, &rd) != BOOTCTL_OK ||
        image_parse(&rd, &info) != IMAGE_OK ||
        image_tlv_find(&rd, &info, IMAGE_TLV_SHA256, &off, &len) != 0 || len != 32u ||
        rd.read(rd.ctx, off, hash, BOOTCTL_HASH_ID_SIZE) != 0) {
        return false;
    }
    *total = info.tlv_end;
    return true;
}

/*
 * A download left by a reset or power cut: resume it when it is unfinished; when it is complete
 * but not installed (the PENDING append was cut), request the install again, unless the bootloader
 * has rejected exactly this image (that would loop). Returns without side effects otherwise.
 */
static void app_boot_update_check(void)
{
    struct bootctl_dl_state dl;
    if (bootctl_dl_latest(&dl) != BOOTCTL_OK) {
        return;
    }
    uint8_t hash[BOOTCTL_HASH_ID_SIZE];
    uint32_t total = 0;
    bool complete = dl.ckpt_valid && app_staged_image(hash, &total) && dl.written >= total;
    if (!complete) {
        app_log("app: unfinished download found (");
        app_log_dec(dl.ckpt_valid ? dl.written : 0u);
        app_log_line(" bytes checkpointed), resuming");
        app_ota_start();
        return;
    }
    struct bootctl_last last;
    if (bootctl_last_result(&last) == BOOTCTL_OK && last.result == BOOTCTL_RESULT_REJECTED &&
        last.hash_valid && memcmp(last.hash, hash, sizeof hash) == 0) {
        app_log_line("app: staged download was rejected by the bootloader: not requested again");
        return;
    }
    if (ota_staged_vectors_check() != 0) {
        app_log_line("app: complete download found but not installable (bad vector table)");
        return;
    }
    int detail = 0;
    uint32_t flags = APP_ALLOW_EQUAL_VERSION ? BOOTCTL_PENDING_ALLOW_EQUAL : 0u;
    int rc = bootctl_request_update(app_pubkey, flags, &detail);
    if (rc == BOOTCTL_OK) {
        app_log_line("app: complete download found, verified and marked pending, resetting to "
                     "install");
        (void)usart2_flush();
        sys_reset();
    }
    app_log("app: complete download found but not installable (boot control ");
    app_log_dec((uint32_t)-rc);
    if (rc == BOOTCTL_ERR_IMAGE) {
        app_log(": ");
        app_log(image_strerror(detail));
    }
    app_log_line(")");
}

/* ---- main ------------------------------------------------------------------------------------ */

/* The button: start an update. */
static void app_update_requested(void)
{
    app_log_line("app: update requested");
    app_ota_start();
}

/* Called on every pass of the main loop; true while there is work to do at once. */
static bool app_poll(uint32_t now_ms)
{
    return app_ota_poll(now_ms);
}

/* Sleep until the next interrupt (SysTick wakes the core every millisecond, the button at once). */
static inline void app_wait_for_interrupt(void)
{
    __asm volatile("wfi" ::: "memory");
}

int main(void)
{
    /* The bootloader started the watchdog; refresh it before anything slow. */
    int wdg_rc = iwdg_start();

    struct clock_info ci;
    int clock_rc = clock_init(&ci);
    if (systick_start(ci.hclk_hz) != SYSTICK_OK) {
        sys_reset();
    }
    /* The bootloader leaves the sticky flags: the cause seen here is this boot's; clear them. */
    enum sys_reset_cause cause = sys_reset_cause(true);
    board_led_init();
    if (board_uart_init(ci.pclk1_hz) == 0) {
        app_log_line("");
        app_log_line("app: stm32-ota application v" APP_VERSION_STRING);
        (void)board_log("app: reset cause: ");
        app_log_line(sys_reset_cause_name(cause));
        if (clock_rc != CLOCK_OK) {
            app_log_line("app: clock setup failed, running on HSI 16 MHz");
        } else if (ci.source == CLOCK_SRC_HSI_PLL) {
            app_log_line("app: no HSE, PLL from HSI");
        }
        if (wdg_rc != IWDG_OK) {
            app_log_line("app: watchdog did not take the new period");
        }
    }
    app_log_last_result();
    uint8_t w5500_version = 0;
    if (app_w5500_probe(&w5500_version)) {
        app_log_line("app: W5500 answers (VERSIONR 0x04)");
    } else {
        (void)board_log("app: W5500 not answering, VERSIONR ");
        (void)board_log_hex(w5500_version);
        app_log_line("");
    }
    if (board_button_init(APP_BUTTON_IRQ_PRIO) != 0) {
        app_log_line("app: button interrupt not available");
    }

#if APP_PAD_BYTES > 0
    /* A read the compiler cannot fold keeps the filler from the linker's garbage collection. */
    if (*(const volatile uint8_t *)&app_pad[APP_PAD_BYTES - 1] != 0xA5u) {
        app_log_line("app: filler damaged");
    }
#endif
    /* The ready line: scripts press the button when they see it. */
    app_log_line("app: running v" APP_VERSION_STRING ", press B1 to update");
    app_boot_update_check();
    uint32_t last_press = systick_ms() - APP_BUTTON_DEBOUNCE_MS;
    app_led_t0 = systick_ms();
    for (;;) {
        iwdg_refresh();
        uint32_t now = systick_ms();
        app_led_poll(now);
        if (app_button_flag) {
            app_button_flag = false;
            if (now - last_press >= APP_BUTTON_DEBOUNCE_MS) {
                app_update_requested();
            }
            last_press = now;
        }
        if (!app_poll(now)) {
            app_wait_for_interrupt();
        }
    }
}
