/*
 * Runs the crypto library as compiled for the Cortex-M4 (m4_target.c, arm-none-eabi-gcc -Os,
 * Thumb-2) in Unicorn with the Cortex-M4 CPU model, checks every result against the same library
 * built for the host, and prints how many instructions each workload executed. Instructions, not
 * cycles: the M4's multiply-accumulates take one cycle, loads two, taken branches two to four,
 * and flash wait states come on top; the virtual board measures cycles.
 *
 * Then a differential check: 16 verification cases (OpenSSL-signed messages under random keys,
 * half of them corrupted by one bit, plus S >= L and bad-key cases) are written into the M4's
 * mailbox and verified there, and every return code must equal the host build's.
 *
 * Usage: m4_count [--no-count] <m4.bin>   (flat image for 0x08000000, m4_entry at its start)
 * --no-count checks the results only (the test): counting hooks every instruction, which is slow.
 * Exit status 0 only if every workload ran to its return and produced the host's result.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>
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

/* m4_target.c's mailbox, at the start of RAM. */
struct m4_mailbox {
    uint32_t msg_len;
    uint8_t sig[64];
    uint8_t pub[32];
    uint8_t msg[1024];
};

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

/* One engine for every run, so Unicorn translates the code once. */
static uc_engine *m4_uc;

static int m4_open(const uint8_t *image, size_t image_len)
{
    if (check(uc_open(UC_ARCH_ARM, UC_MODE_THUMB | UC_MODE_MCLASS, &m4_uc), "uc_open") != 0) {
        return -1;
    }
    if (check(uc_ctl_set_cpu_model(m4_uc, UC_CPU_ARM_CORTEX_M4), "cpu model") != 0 ||
        check(uc_mem_map(m4_uc, FLASH_BASE, FLASH_SIZE, UC_PROT_READ | UC_PROT_EXEC),
              "map flash") != 0 ||
        check(uc_mem_map(m4_uc, RAM_BASE, RAM_SIZE, UC_PROT_ALL), "map ram") != 0 ||
        check(uc_mem_write(m4_uc, FLASH_BASE, image, image_len), "load") != 0) {
        return -1;
    }
    return 0;
}

/*
 * Runs m4_entry(which) with the mailbox (if any) in RAM; returns r0 in *result and the number of
 * instructions executed (0 when not counting, which is much faster), or -1 on error.
 */
static int64_t run(uint32_t which, const struct m4_mailbox *box, int count, uint32_t *result)
{
    uc_hook hook;
    uint32_t sp = RAM_BASE + RAM_SIZE;
    uint32_t lr = SENTINEL | 1u;
    if (check(uc_reg_write(m4_uc, UC_ARM_REG_SP, &sp), "sp") != 0 ||
        check(uc_reg_write(m4_uc, UC_ARM_REG_LR, &lr), "lr") != 0 ||
        check(uc_reg_write(m4_uc, UC_ARM_REG_R0, &which), "r0") != 0 ||
        (box != NULL && check(uc_mem_write(m4_uc, RAM_BASE, box, sizeof *box), "mailbox") != 0)) {
        return -1;
    }
    if (count && check(uc_hook_add(m4_uc, &hook, UC_HOOK_CODE, (void *)count_insn, NULL, 1, 0),
                       "hook") != 0) {
        return -1;
    }
    executed = 0;
    int rc = check(uc_emu_start(m4_uc, FLASH_BASE | 1u, SENTINEL, 0, 0), "run");
    if (count && check(uc_hook_del(m4_uc, hook), "unhook") != 0) {
        return -1;
    }
    uint32_t pc = 0;
    if (rc != 0 || check(uc_reg_read(m4_uc, UC_ARM_REG_PC, &pc), "pc") != 0 ||
        check(uc_reg_read(m4_uc, UC_ARM_REG_R0, result), "r0") != 0) {
        return -1;
    }
    if ((pc & ~1u) != SENTINEL) {
        fprintf(stderr, "m4_count: stopped at 0x%08x, not at the return\n", pc);
        return -1;
    }
    return (int64_t)executed;
}

static uint64_t prng(uint64_t *s)
{
    *s ^= *s >> 12;
    *s ^= *s << 25;
    *s ^= *s >> 27;
    return *s * 0x2545F4914F6CDD1Du;
}

/* Fills box with an OpenSSL signature of a random message under a random key. */
static int make_signed_case(uint64_t *seed, struct m4_mailbox *box)
{
    uint8_t sk[32];
    for (size_t i = 0; i < sizeof sk; i++) {
        sk[i] = (uint8_t)prng(seed);
    }
    box->msg_len = (uint32_t)(prng(seed) % (sizeof box->msg + 1));
    for (uint32_t i = 0; i < box->msg_len; i++) {
        box->msg[i] = (uint8_t)prng(seed);
    }
    EVP_PKEY *k = EVP_PKEY_new_raw_private_key(EVP_PKEY_ED25519, NULL, sk, sizeof sk);
    EVP_MD_CTX *c = EVP_MD_CTX_new();
    size_t publen = sizeof box->pub;
    size_t siglen = sizeof box->sig;
    int ok = k != NULL && c != NULL && EVP_PKEY_get_raw_public_key(k, box->pub, &publen) == 1 &&
             EVP_DigestSignInit(c, NULL, NULL, NULL, k) == 1 &&
             EVP_DigestSign(c, box->sig, &siglen, box->msg, box->msg_len) == 1 && publen == 32 &&
             siglen == 64;
    EVP_MD_CTX_free(c);
    EVP_PKEY_free(k);
    return ok ? 0 : -1;
}

/* The M4 build must return exactly the host build's code for every case. */
static int differential(void)
{
    uint64_t seed = 0x4D344D344D34u;
    unsigned cases = 0;
    unsigned accepted = 0;
    int failed = 0;
    for (unsigned n = 0; n < 16; n++) {
        static struct m4_mailbox box;
        if (make_signed_case(&seed, &box) != 0) {
            fprintf(stderr, "m4_count: OpenSSL could not sign\n");
            return -1;
        }
        unsigned kind = n % 8;
        if (kind == 1 || kind == 3 || kind == 5) { /* one bit of signature, key or message */
            unsigned span = kind == 1 ? 512u : kind == 3 ? 256u : 8u * (box.msg_len + 1u);
            unsigned bit = (unsigned)(prng(&seed) % span);
            uint8_t *p = kind == 1 ? box.sig : kind == 3 ? box.pub : box.msg;
            if (kind == 5 && box.msg_len == 0) {
                box.msg_len = 1; /* a message byte appended instead */
                bit %= 8;
            }
            p[bit / 8] ^= (uint8_t)(1u << (bit % 8));
        } else if (kind == 7) { /* S + L: same point, out of range */
            static const uint8_t l[32] = {0xed, 0xd3, 0xf5, 0x5c, 0x1a, 0x63, 0x12, 0x58,
                                          0xd6, 0x9c, 0xf7, 0xa2, 0xde, 0xf9, 0xde, 0x14,
                                          [31] = 0x10};
            unsigned carry = 0;
            for (unsigned i = 0; i < 32; i++) {
                unsigned t = box.sig[32 + i] + l[i] + carry;
                box.sig[32 + i] = (uint8_t)t;
                carry = t >> 8;
            }
        }
        uint32_t host = (uint32_t)ed25519_verify(box.sig, box.msg, box.msg_len, box.pub);
        uint32_t m4 = 0;
        if (run(6, &box, 0, &m4) < 0) {
            return -1;
        }
        cases++;
        accepted += host == (uint32_t)ED25519_OK;
        if (m4 != host) {
            fprintf(stderr, "m4_count: case %u: M4 returned %d, host %d\n", n, (int)m4, (int)host);
            failed = 1;
        }
    }
    /* Kinds 0, 2, 4 and 6 are untouched OpenSSL signatures: 8 of the 16 must verify. */
    if (accepted != 8) {
        fprintf(stderr, "m4_count: %u of the 8 valid signatures verified on the host\n", accepted);
        failed = 1;
    }
    printf("m4 differential: %u verification cases, M4 return codes %s the host's\n", cases,
           failed ? "DIFFER from" : "equal to");
    return failed ? -1 : 0;
}

int main(int argc, char **argv)
{
    int count = 1;
    if (argc == 3 && strcmp(argv[1], "--no-count") == 0) {
        count = 0;
        argv++;
        argc--;
    }
    if (argc != 2) {
        fprintf(stderr, "usage: m4_count [--no-count] <m4.bin>\n");
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
    if (m4_open(image, n) != 0) {
        return 1;
    }
    int64_t base = run(0, NULL, count, &r);
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
        int64_t c = run(work[i].which, NULL, count, &r);
        if (c < 0) {
            return 1;
        }
        c -= base;
        if (r != want[work[i].which]) {
            fprintf(stderr, "m4_count: %s: M4 result 0x%08x, host 0x%08x\n", work[i].name, r,
                    want[work[i].which]);
            failed = 1;
        }
        if (!count) {
            printf("m4 %s: %s\n", work[i].name,
                   r == want[work[i].which] ? "result as on the host" : "RESULT DIFFERS");
        } else if (work[i].per_bytes != 0) {
            printf("m4 %s: %lld instructions (%.1f per byte)\n", work[i].name, (long long)c,
                   (double)c / work[i].per_bytes);
        } else {
            printf("m4 %s: %lld instructions\n", work[i].name, (long long)c);
        }
    }
    if (differential() != 0) {
        failed = 1;
    }
    uc_close(m4_uc);
    return failed;
}
