/*
 * Bootloader figures on the simulated NOR flash: flash operations and bytes written per update,
 * erases per sector per update (wear), and flash reads of a boot with nothing to do. Host time per
 * boot is printed for information only (host CPU, not the STM32).
 */
#define _POSIX_C_SOURCE 200809L
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "boot_core.h"
#include "bootctl.h"
#include "flash_layout.h"
#include "flash_sim.h"
#include "testimg.h"

const uint8_t boot_pubkey[32] = TESTIMG_KEY_A_PUB;

static uint8_t old_img[STAGING_SIZE];
static uint8_t new_img[STAGING_SIZE];

static void nolog(void *ctx, const char *line)
{
    (void)ctx;
    (void)line;
}

static unsigned kicks;
static void kick(void *ctx)
{
    (void)ctx;
    kicks++;
}

static const struct boot_hooks hooks = {NULL, nolog, kick, NULL};

static double now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec / 1e6;
}

static int bench_update(uint32_t size)
{
    struct testimg_opts o = testimg_defaults(4000, 1, 0, 0);
    size_t ol = testimg_build(&o, old_img, sizeof old_img);
    o = testimg_defaults(size, 1, 1, 0);
    size_t nl = testimg_build(&o, new_img, sizeof new_img);
    if (ol == 0 || nl == 0) {
        return 1;
    }
    flash_sim_reset();
    if (testimg_factory_install(old_img, ol) != 0) {
        return 1;
    }
    testimg_stage(new_img, nl);
    uint8_t pub[32];
    testimg_pubkey(TESTIMG_KEY_A, pub);

    flash_sim_counters_clear();
    if (bootctl_request_update(pub, 0, NULL) != BOOTCTL_OK) {
        return 1;
    }
    struct flash_sim_counters req;
    flash_sim_counters(&req);

    flash_sim_counters_clear();
    kicks = 0;
    struct boot_outcome out;
    double t0 = now_ms();
    if (boot_run(&hooks, &out) != BOOT_ERR_NONE || out.version.iv_minor != 1) {
        return 1;
    }
    double t1 = now_ms();
    struct flash_sim_counters c;
    flash_sim_counters(&c);
    printf("update, payload %u bytes (image %zu):\n", size, nl);
    printf("  application request: %u flash operations, %u bytes written\n", req.ops,
           req.words * 4u);
    printf("  bootloader install:  %u flash operations (%u erases, %u words), %u bytes written, "
           "%llu bytes read, %u watchdog kicks, %.1f ms host time\n",
           c.ops, c.erases, c.words, c.words * 4u, (unsigned long long)c.bytes_read, kicks,
           t1 - t0);
    printf("  erases per sector:");
    for (int s = 0; s < FLASH_SECTOR_COUNT; s++) {
        printf(" s%d=%u", s, c.sector_erases[s] + req.sector_erases[s]);
    }
    printf("\n  words per sector: ");
    for (int s = 0; s < FLASH_SECTOR_COUNT; s++) {
        printf(" s%d=%u", s, c.sector_words[s] + req.sector_words[s]);
    }
    printf("\n");

    flash_sim_counters_clear();
    kicks = 0;
    t0 = now_ms();
    if (boot_run(&hooks, &out) != BOOT_ERR_NONE) {
        return 1;
    }
    t1 = now_ms();
    flash_sim_counters(&c);
    printf("  boot with nothing to do: %u flash operations, %u read calls, %llu bytes read, "
           "%u kicks, %.1f ms host time\n",
           c.ops, c.reads, (unsigned long long)c.bytes_read, kicks, t1 - t0);
    return c.ops == 0 ? 0 : 1;
}

int main(void)
{
    int rc = bench_update(20000);
    rc |= bench_update(150 * 1024);
    rc |= bench_update(200 * 1024);
    return rc;
}
