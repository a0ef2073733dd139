/* Simulated NOR flash with power-cut injection (see flash_sim.h). */
#include "flash_sim.h"

#include "flash_port.h"

#include <string.h>

static uint8_t sim_mem[FLASH_TOTAL_SIZE];
static struct flash_sim_counters sim_cnt;

static struct {
    bool armed;
    uint32_t op;   /* ops left before the target operation */
    enum flash_sim_cut_when when;
    uint32_t rng;
    jmp_buf *env;
} sim_cut;

static bool sim_fail_next;
static flash_sim_trace_fn sim_trace;
static void *sim_trace_ctx;

void flash_sim_set_trace(flash_sim_trace_fn fn, void *ctx)
{
    sim_trace = fn;
    sim_trace_ctx = ctx;
}

static const uint32_t sim_sector_addr[FLASH_SECTOR_COUNT + 1] = {
    FLASH_SECTOR0_ADDR, FLASH_SECTOR1_ADDR, FLASH_SECTOR2_ADDR, FLASH_SECTOR3_ADDR,
    FLASH_SECTOR4_ADDR, FLASH_SECTOR5_ADDR, FLASH_SECTOR6_ADDR, FLASH_SECTOR7_ADDR,
    FLASH_END_ADDR,
};

uint32_t flash_sim_rand(uint32_t *state)
{
    uint32_t x = *state != 0 ? *state : 0x9E3779B9u;
    x ^= x << 13;
    x ^= x >> 17;
    x ^= x << 5;
    *state = x;
    return x;
}

void flash_sim_reset(void)
{
    memset(sim_mem, FLASH_ERASED_BYTE, sizeof sim_mem);
    memset(&sim_cnt, 0, sizeof sim_cnt);
    memset(&sim_cut, 0, sizeof sim_cut);
    sim_fail_next = false;
    sim_trace = NULL;
}

uint8_t *flash_sim_mem(void)
{
    return sim_mem;
}

void flash_sim_load(uint32_t addr, const void *src, uint32_t len)
{
    if (addr < FLASH_BASE_ADDR || len > FLASH_TOTAL_SIZE ||
        addr - FLASH_BASE_ADDR > FLASH_TOTAL_SIZE - len) {
        return;
    }
    memcpy(&sim_mem[addr - FLASH_BASE_ADDR], src, len);
}

void flash_sim_counters(struct flash_sim_counters *out)
{
    *out = sim_cnt;
}

void flash_sim_counters_clear(void)
{
    memset(&sim_cnt, 0, sizeof sim_cnt);
}

void flash_sim_cut_arm(uint32_t op, enum flash_sim_cut_when when, uint32_t seed, jmp_buf *env)
{
    sim_cut.armed = true;
    sim_cut.op = op;
    sim_cut.when = when;
    sim_cut.rng = seed != 0 ? seed : 1u;
    sim_cut.env = env;
}

void flash_sim_cut_disarm(void)
{
    sim_cut.armed = false;
}

void flash_sim_fail_next(void)
{
    sim_fail_next = true;
}

static uint32_t sim_sector_of(uint32_t addr)
{
    for (uint32_t s = 0; s < FLASH_SECTOR_COUNT; s++) {
        if (addr >= sim_sector_addr[s] && addr < sim_sector_addr[s + 1]) {
            return s;
        }
    }
    return FLASH_SECTOR_COUNT;
}

/* The power goes away: the CPU stops, nothing after this point runs. */
static void sim_power_off(void)
{
    jmp_buf *env = sim_cut.env;
    sim_cut.armed = false;
    longjmp(*env, 1);
}

/* Called at the start of each operation: returns true if this is the one to cut "during". */
static bool sim_op_begin(void)
{
    if (!sim_cut.armed || sim_cut.op != 0) {
        return false;
    }
    if (sim_cut.when == FLASH_SIM_CUT_BEFORE) {
        sim_power_off();
    }
    return sim_cut.when == FLASH_SIM_CUT_DURING;
}

static void sim_op_end(void)
{
    if (!sim_cut.armed) {
        return;
    }
    if (sim_cut.op == 0) {
        /* AFTER: the operation completed; DURING never gets here. */
        sim_power_off();
    }
    sim_cut.op--;
}

int flash_port_read(uint32_t addr, void *dst, uint32_t len)
{
    if (addr < FLASH_BASE_ADDR || len > FLASH_TOTAL_SIZE ||
        addr - FLASH_BASE_ADDR > FLASH_TOTAL_SIZE - len) {
        return -1;
    }
    sim_cnt.reads++;
    sim_cnt.bytes_read += len;
    memcpy(dst, &sim_mem[addr - FLASH_BASE_ADDR], len);
    return 0;
}

int flash_port_program(uint32_t addr, const void *src, uint32_t len)
{
    if (addr < FLASH_BASE_ADDR || len > FLASH_TOTAL_SIZE ||
        addr - FLASH_BASE_ADDR > FLASH_TOTAL_SIZE - len || addr % 4 != 0 || len % 4 != 0) {
        return -1;
    }
    if (sim_fail_next) {
        sim_fail_next = false;
        return -2;
    }
    const uint8_t *s = (const uint8_t *)src;
    for (uint32_t i = 0; i < len; i += 4) {
        uint8_t *w = &sim_mem[addr - FLASH_BASE_ADDR + i];
        uint32_t sector = sim_sector_of(addr + i);
        if (sim_trace != NULL) {
            sim_trace(sim_trace_ctx, sim_cnt.ops, false, addr + i);
        }
        bool torn = sim_op_begin();
        if (torn) {
            uint32_t mask = flash_sim_rand(&sim_cut.rng);
            for (uint32_t b = 0; b < 4; b++) {
                uint8_t m = (uint8_t)(mask >> (8 * b));
                uint8_t nv = (uint8_t)(w[b] & s[i + b]);
                w[b] = (uint8_t)((nv & m) | (w[b] & (uint8_t)~m));
            }
            sim_cnt.ops++;
            sim_cnt.words++;
            sim_cnt.sector_words[sector]++;
            sim_power_off();
        }
        for (uint32_t b = 0; b < 4; b++) {
            w[b] = (uint8_t)(w[b] & s[i + b]);
        }
        sim_cnt.ops++;
        sim_cnt.words++;
        sim_cnt.sector_words[sector]++;
        sim_op_end();
    }
    return 0;
}

int flash_port_erase_sector(uint32_t sector)
{
    if (sector >= FLASH_SECTOR_COUNT) {
        return -1;
    }
    if (sim_fail_next) {
        sim_fail_next = false;
        return -2;
    }
    uint32_t start = sim_sector_addr[sector] - FLASH_BASE_ADDR;
    uint32_t size = sim_sector_addr[sector + 1] - sim_sector_addr[sector];
    if (sim_trace != NULL) {
        sim_trace(sim_trace_ctx, sim_cnt.ops, true, sim_sector_addr[sector]);
    }
    bool torn = sim_op_begin();
    sim_cnt.ops++;
    sim_cnt.erases++;
    sim_cnt.sector_erases[sector]++;
    if (torn) {
        /* Arbitrary content: runs of old bytes, erased bytes and random bytes. */
        uint32_t i = 0;
        while (i < size) {
            uint32_t r = flash_sim_rand(&sim_cut.rng);
            uint32_t run = 1u + (r >> 8) % 512u;
            uint32_t kind = r % 3u;
            for (uint32_t k = 0; k < run && i < size; k++, i++) {
                if (kind == 1) {
                    sim_mem[start + i] = FLASH_ERASED_BYTE;
                } else if (kind == 2) {
                    sim_mem[start + i] = (uint8_t)flash_sim_rand(&sim_cut.rng);
                }
            }
        }
        sim_power_off();
    }
    memset(&sim_mem[start], FLASH_ERASED_BYTE, size);
    sim_op_end();
    return 0;
}
