/* The simulated NOR flash the boot tests rely on: NOR rules, counters, power-cut injection. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "flash_layout.h"
#include "flash_port.h"
#include "flash_sim.h"
#include "ota_util.h"

static int setup(void **state)
{
    (void)state;
    flash_sim_reset();
    return 0;
}

static uint32_t word_at(uint32_t addr)
{
    return ota_get_le32(&flash_sim_mem()[addr - FLASH_BASE_ADDR]);
}

static void test_erased_and_and_programming(void **state)
{
    (void)state;
    for (uint32_t i = 0; i < FLASH_TOTAL_SIZE; i += 4099) {
        assert_int_equal(flash_sim_mem()[i], 0xFF);
    }
    uint8_t a[4];
    ota_put_le32(a, 0x0F0F0F0F);
    assert_int_equal(flash_port_program(APP_ADDR, a, 4), 0);
    assert_int_equal(word_at(APP_ADDR), 0x0F0F0F0F);
    ota_put_le32(a, 0xF0F0FFFF); /* programming can only clear bits */
    assert_int_equal(flash_port_program(APP_ADDR, a, 4), 0);
    assert_int_equal(word_at(APP_ADDR), 0x00000F0F);
    uint8_t r[4];
    assert_int_equal(flash_port_read(APP_ADDR, r, 4), 0);
    assert_int_equal(ota_get_le32(r), 0x00000F0F);
    /* alignment and range */
    assert_int_not_equal(flash_port_program(APP_ADDR + 2, a, 4), 0);
    assert_int_not_equal(flash_port_program(APP_ADDR, a, 3), 0);
    assert_int_not_equal(flash_port_program(FLASH_END_ADDR, a, 4), 0);
    assert_int_not_equal(flash_port_program(FLASH_BASE_ADDR - 4, a, 4), 0);
    assert_int_not_equal(flash_port_read(FLASH_END_ADDR - 2, r, 4), 0);
    assert_int_not_equal(flash_port_erase_sector(FLASH_SECTOR_COUNT), 0);
    assert_int_equal(word_at(APP_ADDR + 4), 0xFFFFFFFF);
}

static void test_erase_whole_sector_and_counters(void **state)
{
    (void)state;
    memset(flash_sim_mem(), 0, FLASH_TOTAL_SIZE);
    flash_sim_counters_clear();
    assert_int_equal(flash_port_erase_sector(4), 0);
    for (uint32_t a = FLASH_SECTOR4_ADDR; a < FLASH_SECTOR5_ADDR; a += 4) {
        assert_int_equal(word_at(a), 0xFFFFFFFF);
    }
    assert_int_equal(word_at(FLASH_SECTOR4_ADDR - 4), 0);
    assert_int_equal(word_at(FLASH_SECTOR5_ADDR), 0);
    uint8_t buf[12] = {0};
    assert_int_equal(flash_port_program(FLASH_SECTOR4_ADDR, buf, sizeof buf), 0);
    uint8_t r[10];
    assert_int_equal(flash_port_read(FLASH_SECTOR4_ADDR, r, sizeof r), 0);
    struct flash_sim_counters c;
    flash_sim_counters(&c);
    assert_int_equal(c.ops, 4);
    assert_int_equal(c.erases, 1);
    assert_int_equal(c.words, 3);
    assert_int_equal(c.sector_erases[4], 1);
    assert_int_equal(c.sector_words[4], 3);
    assert_int_equal(c.reads, 1);
    assert_int_equal(c.bytes_read, 10);
    /* an injected controller error changes nothing */
    flash_sim_fail_next();
    assert_int_not_equal(flash_port_erase_sector(4), 0);
    assert_int_equal(word_at(FLASH_SECTOR4_ADDR), 0);
}

static jmp_buf env;

/* Program 4 words of 0x00000000 at APP_ADDR with a cut armed at op 2 of this call. */
static uint32_t cut_program(enum flash_sim_cut_when when, uint32_t seed, volatile int *returned)
{
    flash_sim_reset();
    uint8_t zeros[16] = {0};
    *returned = 0;
    flash_sim_cut_arm(2, when, seed, &env);
    if (setjmp(env) == 0) {
        (void)flash_port_program(APP_ADDR, zeros, sizeof zeros);
        *returned = 1;
    }
    flash_sim_cut_disarm();
    struct flash_sim_counters c;
    flash_sim_counters(&c);
    return c.ops;
}

static void test_cut_before_and_after(void **state)
{
    (void)state;
    volatile int returned;
    assert_int_equal(cut_program(FLASH_SIM_CUT_BEFORE, 1, &returned), 2);
    assert_int_equal(returned, 0);
    assert_int_equal(word_at(APP_ADDR + 4), 0);
    assert_int_equal(word_at(APP_ADDR + 8), 0xFFFFFFFF);
    assert_int_equal(cut_program(FLASH_SIM_CUT_AFTER, 1, &returned), 3);
    assert_int_equal(returned, 0);
    assert_int_equal(word_at(APP_ADDR + 8), 0);
    assert_int_equal(word_at(APP_ADDR + 12), 0xFFFFFFFF);
}

static void test_cut_during_program_tears_bits(void **state)
{
    (void)state;
    volatile int returned;
    int torn = 0;
    for (uint32_t seed = 1; seed < 50; seed++) {
        assert_int_equal(cut_program(FLASH_SIM_CUT_DURING, seed, &returned), 3);
        assert_int_equal(returned, 0);
        assert_int_equal(word_at(APP_ADDR + 4), 0);
        assert_int_equal(word_at(APP_ADDR + 12), 0xFFFFFFFF);
        uint32_t w = word_at(APP_ADDR + 8);
        if (w != 0 && w != 0xFFFFFFFF) {
            torn++;
        }
    }
    assert_true(torn > 40); /* each bit old or new at random: almost always a mix */
    /* re-programming the intended value repairs a torn word (erased before) */
    uint8_t zeros[4] = {0};
    assert_int_equal(flash_port_program(APP_ADDR + 8, zeros, 4), 0);
    assert_int_equal(word_at(APP_ADDR + 8), 0);
}

static void test_cut_during_erase_leaves_garbage(void **state)
{
    (void)state;
    flash_sim_reset();
    uint8_t *m = flash_sim_mem();
    for (uint32_t i = 0; i < FLASH_TOTAL_SIZE; i++) {
        m[i] = (uint8_t)(i * 13u);
    }
    flash_sim_cut_arm(0, FLASH_SIM_CUT_DURING, 99, &env);
    volatile int returned = 0;
    if (setjmp(env) == 0) {
        (void)flash_port_erase_sector(2);
        returned = 1;
    }
    assert_int_equal(returned, 0);
    uint32_t ff = 0;
    uint32_t old = 0;
    for (uint32_t a = FLASH_SECTOR2_ADDR; a < FLASH_SECTOR3_ADDR; a++) {
        uint8_t v = m[a - FLASH_BASE_ADDR];
        ff += v == 0xFF;
        old += v == (uint8_t)((a - FLASH_BASE_ADDR) * 13u);
    }
    assert_true(ff > 0 && ff < APPHDR_SIZE);
    assert_true(old > 0 && old < APPHDR_SIZE);
    /* neighbours untouched */
    assert_int_equal(m[FLASH_SECTOR2_ADDR - FLASH_BASE_ADDR - 1],
                     (uint8_t)((FLASH_SECTOR2_ADDR - FLASH_BASE_ADDR - 1) * 13u));
    assert_int_equal(m[FLASH_SECTOR3_ADDR - FLASH_BASE_ADDR],
                     (uint8_t)((FLASH_SECTOR3_ADDR - FLASH_BASE_ADDR) * 13u));
}

static uint32_t traced[8];
static unsigned ntraced;
static void trace(void *ctx, uint32_t op, bool erase, uint32_t addr)
{
    (void)ctx;
    if (ntraced < 8) {
        traced[ntraced++] = op << 1 | (erase ? 1u : 0u);
    }
    (void)addr;
}

static void test_trace(void **state)
{
    (void)state;
    flash_sim_set_trace(trace, NULL);
    uint8_t z[8] = {0};
    assert_int_equal(flash_port_erase_sector(6), 0);
    assert_int_equal(flash_port_program(APP_ADDR, z, 8), 0);
    flash_sim_set_trace(NULL, NULL);
    assert_int_equal(ntraced, 3);
    assert_int_equal(traced[0], 0u << 1 | 1u);
    assert_int_equal(traced[1], 1u << 1);
    assert_int_equal(traced[2], 2u << 1);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup(test_erased_and_and_programming, setup),
        cmocka_unit_test_setup(test_erase_whole_sector_and_counters, setup),
        cmocka_unit_test_setup(test_cut_before_and_after, setup),
        cmocka_unit_test_setup(test_cut_during_program_tears_bits, setup),
        cmocka_unit_test_setup(test_cut_during_erase_leaves_garbage, setup),
        cmocka_unit_test_setup(test_trace, setup),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
