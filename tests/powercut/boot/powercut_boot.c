/*
 * Power cuts during a whole update: the application requests it (bootctl_request_update), the
 * bootloader installs it. One uninterrupted run counts the flash operations; then for sampled
 * operation indices (every erase, every sector-2 operation, the edges of every run of program
 * operations, and random ones) power is cut before, during (torn word / partly erased sector) or
 * right after that operation, and the device restarts - possibly cut again, up to three cuts in a
 * row - until it runs with power left on.
 *
 * After every boot: a jump is reported only to an application whose payload is byte for byte the
 * old or the new image and whose header names that version (never to unverified code), and there
 * is always an application to jump to. With power left on the new version ends up running, and a
 * boot after that writes nothing. Prints "power-cut cases: N, failures: F".
 *
 * Usage: powercut_boot [budget-per-scenario]   (operations cut per scenario; POWERCUT_BUDGET in the
 * environment overrides it, a budget above the operation count cuts at every operation;
 * POWERCUT_OP=n cuts only at operation n, POWERCUT_SCENARIO=name runs one scenario,
 * POWERCUT_VERBOSE=1 prints the boot log)
 */
#include <setjmp.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "boot_core.h"
#include "bootctl.h"
#include "flash_layout.h"
#include "flash_sim.h"
#include "ota_util.h"
#include "testimg.h"

const uint8_t boot_pubkey[32] = TESTIMG_KEY_A_PUB;

static uint8_t old_img[STAGING_SIZE];
static uint32_t old_len;
static uint8_t new_img[STAGING_SIZE];
static uint32_t new_len;
static uint8_t new_hash[32];
static bool prefill_log;
static bool expect_reject; /* the new image is signed but has a bad vector table */

static jmp_buf cut_env;
static unsigned failures;
static unsigned cases;
static const char *scenario;

static void nolog(void *ctx, const char *line)
{
    (void)ctx;
    if (getenv("POWERCUT_VERBOSE") != NULL) {
        fprintf(stderr, "    %s\n", line);
    }
}

static void nokick(void *ctx)
{
    (void)ctx;
}

static const struct boot_hooks hooks = {NULL, nolog, nokick, NULL};

static void fail(uint32_t op, int when, const char *what)
{
    failures++;
    if (failures <= 20) {
        fprintf(stderr, "FAIL [%s] cut at op %u (%s): %s\n", scenario, op,
                when == 0 ? "before" : when == 1 ? "during" : "after", what);
    }
}

/* Factory state: old application installed, new image fully downloaded into staging. Built once
 * per scenario, then copied (the prefilled log costs 447 appends). */
static uint8_t factory_snapshot[FLASH_TOTAL_SIZE];
static bool factory_snapshot_valid;

static void factory(void)
{
    flash_sim_reset();
    if (factory_snapshot_valid) {
        memcpy(flash_sim_mem(), factory_snapshot, FLASH_TOTAL_SIZE);
        return;
    }
    if (testimg_factory_install(old_img, old_len) != 0) {
        fprintf(stderr, "factory install failed\n");
        exit(2);
    }
    testimg_stage(new_img, new_len);
    if (prefill_log) {
        /* A download's checkpoints nearly fill the log: the PENDING append compacts it. */
        struct bootctl_dl_id id;
        memset(&id, 0x11, sizeof id);
        if (bootctl_dl_start(&id) != BOOTCTL_OK) {
            exit(2);
        }
        for (uint32_t i = 1; i < BOOTCTL_REC_COUNT; i++) {
            if (bootctl_dl_checkpoint(i * 512u, i) != BOOTCTL_OK) {
                exit(2);
            }
        }
    }
    flash_sim_counters_clear();
    memcpy(factory_snapshot, flash_sim_mem(), FLASH_TOTAL_SIZE);
    factory_snapshot_valid = true;
}

/* The application: if it is not the new version, it re-requests its verified download unless the
 * bootloader rejected exactly that image. Returns false on an unexpected error. */
static bool app_step(void)
{
    struct bootctl_installed inst;
    if (bootctl_installed_info(&inst) != BOOTCTL_OK) {
        return false;
    }
    if (inst.version.iv_minor == 1) {
        return true;
    }
    struct bootctl_last last;
    if (bootctl_last_result(&last) == BOOTCTL_OK && last.result == BOOTCTL_RESULT_REJECTED &&
        last.hash_valid && memcmp(last.hash, new_hash, BOOTCTL_HASH_ID_SIZE) == 0) {
        return true; /* rejected: it would not ask again */
    }
    return bootctl_request_update(boot_pubkey, 0, NULL) == BOOTCTL_OK;
}

/* Oracle independent of the bootloader: the application area holds exactly the payload of the
 * version that boot_run reported. */
static bool jump_target_ok(const struct boot_outcome *out)
{
    const uint8_t *img;
    if (out->jump_addr != APP_ADDR) {
        return false;
    }
    if (out->version.iv_major == 1 && out->version.iv_minor == 0) {
        img = old_img;
    } else if (out->version.iv_major == 1 && out->version.iv_minor == 1) {
        img = new_img;
    } else {
        return false;
    }
    struct image_header h;
    image_header_parse(img, &h);
    if (memcmp(&flash_sim_mem()[APP_ADDR - FLASH_BASE_ADDR], img + h.ih_hdr_size, h.ih_img_size) !=
        0) {
        return false;
    }
    struct bootctl_installed inst;
    return bootctl_installed_info(&inst) == BOOTCTL_OK &&
           inst.version.iv_minor == out->version.iv_minor && inst.payload_size == h.ih_img_size;
}

/* One life of the device: app requests, bootloader installs, with cuts. */
static void run_case(uint32_t op, int when, uint32_t seed, unsigned max_cuts, uint32_t window)
{
    factory();
    cases++;
    volatile unsigned cuts = 0;
    volatile int phase = 0; /* 0 app, 1 boot */
    volatile unsigned steps = 0;
    volatile bool armed = true;
    volatile uint32_t rng = seed;
    flash_sim_cut_arm(op, (enum flash_sim_cut_when)when, seed, &cut_env);
    if (setjmp(cut_env) != 0) {
        /* Power came back: the CPU restarts in the bootloader. */
        cuts++;
        phase = 1;
        armed = false;
        uint32_t r = rng;
        if (cuts < max_cuts && flash_sim_rand(&r) % 2u == 0u) {
            uint32_t next = flash_sim_rand(&r) % window;
            flash_sim_cut_arm(next, (enum flash_sim_cut_when)(flash_sim_rand(&r) % 3u), r,
                              &cut_env);
            armed = true;
        }
        rng = r;
    }
    while (steps < 40) {
        steps++;
        if (phase == 0) {
            if (!app_step()) {
                fail(op, when, "application step failed");
                flash_sim_cut_disarm();
                return;
            }
            phase = 1;
            continue;
        }
        struct boot_outcome out;
        int rc = boot_run(&hooks, &out);
        if (rc != BOOT_ERR_NONE) {
            fail(op, when, "no bootable application after a cut");
            flash_sim_cut_disarm();
            return;
        }
        if (!jump_target_ok(&out)) {
            fail(op, when, "jump to an application that is not the old or the new image");
            flash_sim_cut_disarm();
            return;
        }
        phase = 0;
        if (expect_reject) {
            struct bootctl_last last;
            if (out.version.iv_minor != 0) {
                fail(op, when, "a rejected image was installed");
                flash_sim_cut_disarm();
                return;
            }
            if (bootctl_last_result(&last) != BOOTCTL_OK ||
                last.result != BOOTCTL_RESULT_REJECTED) {
                continue; /* the application asks (again) */
            }
            if (last.reason != BOOT_R_VECTOR || !last.hash_valid ||
                memcmp(last.hash, new_hash, BOOTCTL_HASH_ID_SIZE) != 0) {
                fail(op, when, "wrong rejection recorded");
                flash_sim_cut_disarm();
                return;
            }
        }
        if (out.version.iv_minor == 1 || expect_reject) {
            /* Power stays on from here: the next boot must do nothing. */
            flash_sim_cut_disarm();
            armed = false;
            flash_sim_counters_clear();
            if (boot_run(&hooks, &out) != BOOT_ERR_NONE ||
                out.version.iv_minor != (expect_reject ? 0 : 1)) {
                fail(op, when, "new version does not stay");
                return;
            }
            struct flash_sim_counters c;
            flash_sim_counters(&c);
            if (c.ops != 0) {
                fail(op, when, "a boot with nothing to do wrote flash");
            }
            return;
        }
    }
    (void)armed;
    flash_sim_cut_disarm();
    fail(op, when, "the update never completed with power on");
}

/* ---- choosing which operations to cut at ---- */

#define MAX_OPS 200000u
static uint8_t op_interest[MAX_OPS];
static uint32_t op_total;
static uint32_t trace_prev_addr;
static bool trace_prev_erase = true;

static void trace(void *ctx, uint32_t op, bool erase, uint32_t addr)
{
    (void)ctx;
    if (op >= MAX_OPS) {
        return;
    }
    bool sector2 = addr >= APPHDR_ADDR && addr < APPHDR_ADDR + APPHDR_SIZE;
    /* erases, sector-2 writes, and the start of every run of consecutive word programs */
    if (erase || sector2 || trace_prev_erase || addr != trace_prev_addr + 4u) {
        op_interest[op] = 1;
        if (op > 0) {
            op_interest[op - 1] = 1; /* end of the previous run */
        }
    }
    trace_prev_addr = addr;
    trace_prev_erase = erase;
    if (op + 1u > op_total) {
        op_total = op + 1u;
    }
}

static long only_op = -1; /* debugging: POWERCUT_OP=n runs only that operation */

static int scenario_run(const char *name, uint32_t new_size, bool prefill, bool reject,
                        uint32_t budget)
{
    const char *only = getenv("POWERCUT_SCENARIO"); /* run one scenario by name */
    if (only != NULL && strcmp(only, name) != 0) {
        return 0;
    }
    scenario = name;
    prefill_log = prefill;
    factory_snapshot_valid = false;
    expect_reject = reject;
    struct testimg_opts o = testimg_defaults(new_size, 1, 1, 0);
    if (reject) {
        o.sp = SRAM_BASE_ADDR + SRAM_TOTAL_SIZE + 0x100; /* initial SP above the SRAM */
    }
    size_t n = testimg_build(&o, new_img, sizeof new_img);
    if (n == 0) {
        return 2;
    }
    new_len = (uint32_t)n;
    struct image_reader rd;
    struct image_buf buf;
    image_reader_init_buf(&rd, &buf, new_img, new_len);
    struct image_info info;
    uint32_t off;
    uint16_t len;
    if (image_parse(&rd, &info) != IMAGE_OK ||
        image_tlv_find(&rd, &info, IMAGE_TLV_SHA256, &off, &len) != 0) {
        return 2;
    }
    memcpy(new_hash, &new_img[off], 32);

    /* Reference run: count and classify every operation of the update. */
    factory();
    memset(op_interest, 0, sizeof op_interest);
    op_total = 0;
    trace_prev_erase = true;
    flash_sim_set_trace(trace, NULL);
    struct boot_outcome out;
    if (!app_step() || boot_run(&hooks, &out) != BOOT_ERR_NONE ||
        out.version.iv_minor != (reject ? 0 : 1)) {
        fprintf(stderr, "[%s] reference update failed\n", name);
        return 2;
    }
    flash_sim_set_trace(NULL, NULL);
    if (op_total >= MAX_OPS) {
        return 2;
    }
    uint32_t interesting = 0;
    for (uint32_t i = 0; i < op_total; i++) {
        interesting += op_interest[i];
    }
    /* Every interesting op with all three moments; random others up to the budget. */
    uint32_t rng = 0xC0FFEEu ^ new_size;
    uint32_t extra = budget > interesting ? (budget - interesting) : 0u;
    unsigned before = cases;
    for (uint32_t i = 0; i < op_total; i++) {
        bool pick = op_interest[i] != 0;
        if (!pick && extra > 0 && flash_sim_rand(&rng) % (op_total - interesting + 1u) < extra) {
            pick = true;
        }
        if (only_op >= 0) {
            pick = (uint32_t)only_op == i;
        }
        if (!pick) {
            continue;
        }
        for (int when = 0; when < 3; when++) {
            uint32_t seed = flash_sim_rand(&rng);
            unsigned max_cuts = (seed % 4u == 0u) ? 3u : 1u;
            run_case(i, when, seed, max_cuts, op_total + 64u);
        }
    }
    printf("[%s] payload %u bytes: %u flash operations per update (%u interesting), %u cases\n",
           name, new_size, op_total, interesting, cases - before);
    return 0;
}

int main(int argc, char **argv)
{
    uint32_t budget = argc > 1 ? (uint32_t)strtoul(argv[1], NULL, 0) : 300u;
    const char *env_budget = getenv("POWERCUT_BUDGET"); /* longer runs by hand: e.g. 100000 = all */
    if (env_budget != NULL) {
        budget = (uint32_t)strtoul(env_budget, NULL, 0);
    }
    const char *only = getenv("POWERCUT_OP");
    if (only != NULL) {
        only_op = strtol(only, NULL, 0);
    }
    uint8_t pub[32];
    testimg_pubkey(TESTIMG_KEY_A, pub);
    if (memcmp(pub, boot_pubkey, 32) != 0) {
        fprintf(stderr, "test key A does not match boot_pubkey\n");
        return 2;
    }
    struct testimg_opts o = testimg_defaults(4000, 1, 0, 0);
    size_t n = testimg_build(&o, old_img, sizeof old_img);
    if (n == 0) {
        return 2;
    }
    old_len = (uint32_t)n;

    int rc = scenario_run("small", 6000, false, false, budget);
    rc |= scenario_run("two-sector", 140 * 1024, false, false, budget);
    rc |= scenario_run("log-compaction", 6000, true, false, budget / 2u);
    rc |= scenario_run("rejected", 6000, false, true, budget);
    printf("power-cut cases: %u, failures: %u\n", cases, failures);
    return rc != 0 || failures != 0 || cases == 0 ? 1 : 0;
}
