/*
 * Runs the crypto library as compiled for the Cortex-M4 (m4_target.c, arm-none-eabi-gcc -Os,
 * Thumb-2) in Unicorn with the Cortex-M4 CPU model, checks every result against the same library
 * built for the host, and prints how many instructions each workload executed. Instructions, not
 * cycles: the M4's multiply-accumulates take one cycle, loads two, taken branches two to four,
 * and flash wait states come on top; the virtual board measures cycles.
 *
 * Usage: m4_count <m4.bin>   (flat image for 0x08000000, m4_entry at its start)
 * Exit status 0 only if every workload ran to its return and produced the host's result.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#include <unicorn/unicorn.h>

#include "crc32.h"
#include "ed25519.h"
#include "sha256.h"
#include "sha512.h"

#define FLASH_BASE 0x08000000u
#define FLASH_SIZE 0x40000u /* 256 KB */
#define RAM_BASE 0x20000000u
#define RAM_SIZE 0x20000u /* 128 KB */
#define SENTINEL (FLASH_BASE + FLASH_SIZE - 16u) /* m4_entry "returns" here */

static uint64_t executed;

static void count_insn(uc_engine *uc, uint64_t address, uint32_t size, void *user)
{
    (void)uc;
    (void)address;
    (void)size;
    (void)user;
    executed++;
}

static int check(uc_err e, const char *what)
{
    if (e != UC_ERR_OK) {
        fprintf(stderr, "m4_count: %s: %s\n", what, uc_strerror(e));
        return -1;
    }
    return 0;
}

/* Runs m4_entry(which); returns r0 in *result and the instruction count, or -1 on error. */
static int64_t run(const uint8_t *image, size_t image_len, uint32_t which, uint32_t *result)
{
    uc_engine *uc = NULL;
    uc_hook hook;
    int64_t ret = -1;
    if (check(uc_open(UC_ARCH_ARM, UC_MODE_THUMB | UC_MODE_MCLASS, &uc), "uc_open") != 0) {
        return -1;
    }
    uint32_t sp = RAM_BASE + RAM_SIZE;
    uint32_t lr = SENTINEL | 1u;
    if (check(uc_ctl_set_cpu_model(uc, UC_CPU_ARM_CORTEX_M4), "cpu model") == 0 &&
        check(uc_mem_map(uc, FLASH_BASE, FLASH_SIZE, UC_PROT_READ | UC_PROT_EXEC), "map flash") == 0 &&
        check(uc_mem_map(uc, RAM_BASE, RAM_SIZE, UC_PROT_ALL), "map ram") == 0 &&
        check(uc_mem_write(uc, FLASH_BASE, image, image_len), "load") == 0 &&
        check(uc_reg_write(uc, UC_ARM_REG_SP, &sp), "sp") == 0 &&
        check(uc_reg_write(uc, UC_ARM_REG_LR, &lr), "lr") == 0 &&
        check(uc_reg_write(uc, UC_ARM_REG_R0, &which), "r0") == 0 &&
        check(uc_hook_add(uc, &hook, UC_HOOK_CODE, (void *)count_insn, NULL, 1, 0), "hook") == 0) {
        executed = 0;
        if (check(uc_emu_start(uc, FLASH_BASE | 1u, SENTINEL, 0, 0), "run") == 0) {
            uint32_t pc = 0;
            if (check(uc_reg_read(uc, UC_ARM_REG_PC, &pc), "pc") == 0 &&
                check(uc_reg_read(uc, UC_ARM_REG_R0, result), "r0") == 0) {
                if ((pc & ~1u) != SENTINEL) {
                    fprintf(stderr, "m4_count: stopped at 0x%08x, not at the return\n", pc);
                } else {
                    ret = (int64_t)executed;
                }
            }
        }
    }
    uc_close(uc);
    return ret;
}

int main(int argc, char **argv)
{
    if (argc != 2) {
        fprintf(stderr, "usage: m4_count <m4.bin>\n");
        return 2;
    }
    static uint8_t image[FLASH_SIZE - 16u];
    FILE *f = fopen(argv[1], "rb");
    if (f == NULL) {
        perror(argv[1]);
        return 1;
    }
    size_t n = fread(image, 1, sizeof image, f);
    int bad = ferror(f) || !feof(f);
    if (fclose(f) != 0 || bad || n == 0) {
        fprintf(stderr, "m4_count: cannot read %s (or larger than flash)\n", argv[1]);
        return 1;
    }

    /* The same workloads on the host, for the expected results. */
    static uint8_t buf[4096];
    uint8_t d[SHA512_DIGEST_SIZE];
    for (uint32_t i = 0; i < sizeof buf; i++) {
        buf[i] = (uint8_t)(i * 131u + 7u);
    }
    uint32_t want[6];
    want[0] = buf[sizeof buf - 1];
    sha256(buf, sizeof buf, d);
    want[1] = (uint32_t)d[0] | (uint32_t)d[1] << 8 | (uint32_t)d[2] << 16 | (uint32_t)d[3] << 24;
    sha512(buf, sizeof buf, d);
    want[2] = (uint32_t)d[0] | (uint32_t)d[1] << 8 | (uint32_t)d[2] << 16 | (uint32_t)d[3] << 24;
    want[3] = crc32_update(0, buf, sizeof buf);
    want[4] = (uint32_t)ED25519_OK;
    want[5] = (uint32_t)ED25519_ERR_MISMATCH;

    uint32_t r = 0;
    int64_t base = run(image, n, 0, &r);
    if (base < 0 || r != want[0]) {
        fprintf(stderr, "m4_count: baseline run failed\n");
        return 1;
    }
    static const struct {
        uint32_t which;
        const char *name;
        unsigned per_bytes; /* 0: per call */
    } work[] = {
        {1, "sha256 (4096 bytes)", 4096},
        {2, "sha512 (4096 bytes)", 4096},
        {3, "crc32 (4096 bytes)", 4096},
        {4, "ed25519_verify (RFC 8032 TEST 3, valid)", 0},
        {5, "ed25519_verify (TEST 3 signature, other message)", 0},
    };
    int failed = 0;
    for (size_t i = 0; i < sizeof work / sizeof work[0]; i++) {
        int64_t c = run(image, n, work[i].which, &r);
        if (c < 0) {
            return 1;
        }
        c -= base;
        if (r != want[work[i].which]) {
            fprintf(stderr, "m4_count: %s: M4 result 0x%08x, host 0x%08x\n", work[i].name, r,
                    want[work[i].which]);
            failed = 1;
        }
        if (work[i].per_bytes != 0) {
            printf("m4 %s: %lld instructions (%.1f per byte)\n", work[i].name, (long long)c,
                   (double)c / work[i].per_bytes);
        } else {
            printf("m4 %s: %lld instructions\n", work[i].name, (long long)c);
        }
    }
    return failed;
}
