/*
 * Power cuts during the download: the real OTA client (raw protocol with offsets) fetches version 2
 * from an in-memory server into the simulated flash; power is cut before, in the middle of (torn
 * word, partly erased sector) or right after sampled flash operations of the whole download and
 * marking. After each cut the board boots (the bootloader core must start a verified application,
 * version 1 or 2), the application runs the client again (it must resume, not start over, once a
 * checkpoint exists), and the next boot must run version 2.
 *
 * Prints "power-cut cases: N, failures: F" and fails on any violation.
 * Argument: sampling stride over the data-word programs (every erase and every sector-2 record
 * write is always cut).
 */
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "boot_core.h"
#include "boot_hooks_quiet.h"
#include "bootctl.h"
#include "flash_layout.h"
#include "flash_sim.h"
#include "ota_client.h"
#include "testimg.h"

const uint8_t boot_pubkey[32] = TESTIMG_KEY_A_PUB;

/* ---- an in-memory server speaking the raw protocol with offsets --------------------------- */

struct mem_net {
    const uint8_t *img;
    uint32_t len;
    char req[64];
    uint32_t req_len;
    bool open;
    bool have_req;
    char head[96];
    uint32_t head_len;
    uint32_t head_pos;
    uint32_t pos;
    uint32_t chunk_seed;
    uint32_t clock;
    uint32_t requests;
    uint32_t first_offset; /* offset of the first request of this run */
};

static int mn_ok(void *ctx)
{
    (void)ctx;
    return OTA_NET_OK;
}

static int mn_resolve_start(void *ctx, const char *name)
{
    (void)ctx;
    (void)name;
    return OTA_NET_ERR;
}

/* NOLINTNEXTLINE(readability-non-const-parameter): the signature of ota_net.resolve_poll */
static int mn_resolve_poll(void *ctx, uint8_t ip[4])
{
    (void)ctx;
    (void)ip;
    return OTA_NET_ERR;
}

static int mn_connect(void *ctx, const uint8_t ip[4], uint16_t port)
{
    struct mem_net *m = ctx;
    (void)ip;
    (void)port;
    m->open = true;
    m->have_req = false;
    m->req_len = 0;
    m->head_len = 0;
    m->head_pos = 0;
    return OTA_NET_OK;
}

static int mn_send(void *ctx, const uint8_t *buf, size_t len, size_t *sent)
{
    struct mem_net *m = ctx;
    *sent = len;
    if (m->have_req) {
        return OTA_NET_OK; /* ACKs */
    }
    for (size_t i = 0; i < len && m->req_len < sizeof(m->req) - 1; i++) {
        m->req[m->req_len++] = (char)buf[i];
    }
    m->req[m->req_len] = '\0';
    if (strchr(m->req, '\n') != NULL) {
        m->have_req = true;
        m->pos = (uint32_t)strtoul(m->req + strlen("GET firmware "), NULL, 10);
        if (m->requests++ == 0) {
            m->first_offset = m->pos;
        }
        m->head_len = (uint32_t)snprintf(m->head, sizeof(m->head), "OK %u %u %s\r\n", m->pos,
                                         m->len, "feedfacefeedfacefeedfacefeedface");
    }
    return OTA_NET_OK;
}

static int mn_recv(void *ctx, uint8_t *buf, size_t cap, size_t *got)
{
    struct mem_net *m = ctx;
    *got = 0;
    if (!m->open || !m->have_req) {
        return OTA_NET_PENDING;
    }
    if (m->head_pos < m->head_len) {
        size_t n = m->head_len - m->head_pos;
        n = n < cap ? n : cap;
        memcpy(buf, m->head + m->head_pos, n);
        m->head_pos += (uint32_t)n;
        *got = n;
        return OTA_NET_OK;
    }
    if (m->pos >= m->len) {
        return OTA_NET_EOF;
    }
    /* Segments of varying size, as TCP delivers them. */
    size_t n = 1 + flash_sim_rand(&m->chunk_seed) % 1460u;
    n = n < cap ? n : cap;
    n = n < m->len - m->pos ? n : m->len - m->pos;
    memcpy(buf, m->img + m->pos, n);
    m->pos += (uint32_t)n;
    *got = n;
    return OTA_NET_OK;
}

static void mn_close(void *ctx)
{
    struct mem_net *m = ctx;
    m->open = false;
}

static uint32_t mn_millis(void *ctx)
{
    struct mem_net *m = ctx;
    return m->clock++;
}

static struct mem_net mnet;
static const struct ota_net net = {mn_ok,  mn_resolve_start, mn_resolve_poll, mn_connect,
                                   mn_ok,  mn_send,          mn_recv,         mn_close,
                                   NULL,   NULL,             mn_millis,       &mnet};
static struct ota_client client;

/* ---- the board ------------------------------------------------------------------------------ */

static uint8_t img_v1[64 * 1024];
static uint8_t img_v2[160 * 1024];
static size_t img_v1_len;
static size_t img_v2_len;
static uint8_t factory[FLASH_TOTAL_SIZE];


/* The application's update: RAM state starts from nothing, as after any reset. */
static int app_update(void)
{
    static const uint8_t key[32] = TESTIMG_KEY_A_PUB;
    struct ota_client_config cfg;
    memset(&cfg, 0, sizeof cfg);
    cfg.host = "192.168.1.2";
    cfg.port = 5678;
    cfg.proto = OTA_PROTO_RAW_RESUME;
    cfg.max_attempts = 3;
    cfg.pubkey = key;
    mnet.open = false;
    mnet.requests = 0;
    memset(&client, 0, sizeof client);
    int rc = ota_client_init(&client, &cfg, &net);
    if (rc != 0) {
        return rc;
    }
    rc = ota_client_start(&client);
    if (rc != 0) {
        return rc;
    }
    rc = OTA_CLIENT_BUSY;
    for (long i = 0; i < 10000000L && rc == OTA_CLIENT_BUSY; i++) {
        rc = ota_client_poll(&client);
    }
    return rc;
}

/* Boot: a verified application must start; its major version is returned (0 = none). */
static int boot(void)
{
    struct boot_outcome out;
    if (boot_run(&boot_hooks_quiet, &out) != BOOT_ERR_NONE || out.jump_addr != APP_ADDR) {
        return 0;
    }
    return out.version.iv_major;
}

static unsigned cases;
static unsigned failures;
static uint64_t redownloaded;

static void fail(const char *what, uint32_t op, int when)
{
    failures++;
    if (failures <= 20) {
        printf("FAIL: %s (cut at op %u, mode %d)\n", what, op, when);
    }
}

/* One case: cut at op during the download, then boot, resume, boot. */
static void run_case(uint32_t op, enum flash_sim_cut_when when, uint32_t seed)
{
    flash_sim_reset();
    flash_sim_load(FLASH_BASE_ADDR, factory, FLASH_TOTAL_SIZE);
    mnet.chunk_seed = seed | 1u;
    cases++;

    static jmp_buf env;
    volatile int cut = 0;
    if (setjmp(env) == 0) {
        flash_sim_cut_arm(op, when, seed, &env);
        (void)app_update();
    } else {
        cut = 1;
    }
    flash_sim_cut_disarm();
    if (!cut) {
        return; /* the run ended before op: nothing to check beyond the clean run */
    }
    uint32_t staged_at_cut = ota_stage_pos(&client.stage);

    int v = boot();
    if (v != 1 && v != 2) {
        fail("no verified application after the cut", op, when);
        return;
    }
    if (v == 1) {
        int rc = app_update();
        if (rc != OTA_CLIENT_DONE) {
            fail("resumed download did not complete", op, when);
            return;
        }
        if (mnet.first_offset > staged_at_cut) {
            fail("resumed past what was staged", op, when);
            return;
        }
        redownloaded += staged_at_cut - mnet.first_offset;
        if (memcmp(flash_sim_mem() + (STAGING_ADDR - FLASH_BASE_ADDR), img_v2, img_v2_len) != 0) {
            fail("staged image differs", op, when);
            return;
        }
        v = boot();
    }
    if (v != 2) {
        fail("version 2 not running once power stayed on", op, when);
    }
}

int main(int argc, char **argv)
{
    uint32_t stride = argc > 1 ? (uint32_t)strtoul(argv[1], NULL, 10) : 97u;
    if (stride == 0) {
        stride = 1;
    }
    struct testimg_opts o = testimg_defaults(20000, 1, 0, 0);
    img_v1_len = testimg_build(&o, img_v1, sizeof img_v1);
    o = testimg_defaults(140000, 2, 0, 0); /* spans the three staging sectors */
    img_v2_len = testimg_build(&o, img_v2, sizeof img_v2);
    if (img_v1_len == 0 || img_v2_len == 0) {
        printf("cannot build test images\n");
        return 1;
    }
    flash_sim_reset();
    if (testimg_factory_install(img_v1, img_v1_len) != 0) {
        printf("factory install failed\n");
        return 1;
    }
    memcpy(factory, flash_sim_mem(), FLASH_TOTAL_SIZE);
    mnet.img = img_v2;
    mnet.len = (uint32_t)img_v2_len;

    /* A clean run counts the flash operations of download + marking. */
    mnet.chunk_seed = 1;
    flash_sim_counters_clear();
    if (app_update() != OTA_CLIENT_DONE || boot() != 2) {
        printf("clean update failed\n");
        return 1;
    }
    flash_sim_reset();
    flash_sim_load(FLASH_BASE_ADDR, factory, FLASH_TOTAL_SIZE);
    flash_sim_counters_clear();
    if (app_update() != OTA_CLIENT_DONE) {
        printf("clean update failed\n");
        return 1;
    }
    struct flash_sim_counters ct;
    flash_sim_counters(&ct);
    uint32_t total_ops = ct.ops;
    printf("download + marking: %u flash operations (%u erases, %u words; sector 2: %u words)\n",
           total_ops, ct.erases, ct.words, ct.sector_words[2]);

    /* Cut every op among the first ones (header, first erase, DL_START) and the last ones
     * (final checkpoint, PENDING), and a sample in between. */
    uint32_t seed = 12345;
    for (uint32_t op = 0; op < total_ops; op++) {
        bool edge = op < 64 || op + 64 >= total_ops;
        if (!edge && op % stride != 0) {
            continue;
        }
        for (int w = FLASH_SIM_CUT_BEFORE; w <= FLASH_SIM_CUT_AFTER; w++) {
            run_case(op, (enum flash_sim_cut_when)w, seed);
            seed = seed * 1103515245u + 12345u;
        }
    }
    printf("average bytes downloaded again after a cut: %llu\n",
           cases != 0 ? (unsigned long long)(redownloaded / cases) : 0ull);
    printf("power-cut cases: %u, failures: %u\n", cases, failures);
    return failures == 0 && cases > 0 ? 0 : 1;
}
