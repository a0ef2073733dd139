/* otafactory: the factory HEX, parsed back into the simulated flash, boots the application. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>

#include <cmocka.h>

#include "boot_core.h"
#include "boot_test_util.h"
#include "bootctl.h"
#include "flash_layout.h"
#include "flash_sim.h"
#include "testimg.h"

const uint8_t boot_pubkey[32] = TESTIMG_KEY_A_PUB;

#define DIR OTA_BINARY_DIR "/tests/unit/boot/"
#define TOOL OTA_BINARY_DIR "/otafactory"

static uint8_t img[STAGING_SIZE];
static size_t img_len;
static uint8_t bootbin[BOOT_SIZE + 16];
static uint32_t lowest_addr;

static void write_file(const char *path, const uint8_t *data, size_t len)
{
    FILE *f = fopen(path, "wb");
    assert_non_null(f);
    assert_int_equal(fwrite(data, 1, len, f), len);
    assert_int_equal(fclose(f), 0);
}

static int run(const char *args)
{
    char cmd[1024];
    snprintf(cmd, sizeof cmd, "%s %s >/dev/null 2>&1", TOOL, args);
    int st = system(cmd); /* NOLINT(cert-env33-c): runs the tool under test, fixed paths */
    assert_true(WIFEXITED(st));
    return WEXITSTATUS(st);
}

static unsigned hexbyte(const char *p)
{
    char two[3] = {p[0], p[1], '\0'};
    char *end = NULL;
    unsigned long v = strtoul(two, &end, 16);
    assert_true(end == &two[2]);
    return (unsigned)v;
}

/* Load an Intel HEX into the sim (checksums and record types checked); returns data bytes. */
static uint32_t load_hex(const char *path)
{
    FILE *f = fopen(path, "r");
    assert_non_null(f);
    char line[600];
    uint32_t upper = 0;
    uint32_t total = 0;
    bool eof = false;
    lowest_addr = UINT32_MAX;
    while (fgets(line, sizeof line, f) != NULL) {
        assert_false(eof);
        assert_int_equal(line[0], ':');
        unsigned len = hexbyte(&line[1]);
        unsigned addr = hexbyte(&line[3]) << 8 | hexbyte(&line[5]);
        unsigned type = hexbyte(&line[7]);
        uint8_t data[256] = {0};
        unsigned sum = len + (addr >> 8) + (addr & 0xFF) + type;
        for (unsigned i = 0; i < len; i++) {
            data[i] = (uint8_t)hexbyte(&line[9 + 2 * i]);
            sum += data[i];
        }
        sum += hexbyte(&line[9 + 2 * len]);
        assert_int_equal(sum & 0xFF, 0);
        if (type == 0x04) {
            assert_int_equal(len, 2);
            upper = (uint32_t)(data[0] << 8 | data[1]) << 16;
        } else if (type == 0x00) {
            uint32_t a = upper + addr;
            assert_true(a >= FLASH_BASE_ADDR && a + len <= FLASH_END_ADDR);
            flash_sim_load(a, data, len);
            lowest_addr = a < lowest_addr ? a : lowest_addr;
            total += len;
        } else {
            assert_int_equal(type, 0x01);
            eof = true;
        }
    }
    assert_true(eof);
    assert_int_equal(fclose(f), 0);
    return total;
}

static int setup(void **state)
{
    (void)state;
    struct testimg_opts o = testimg_defaults(150 * 1024 + 3, 1, 2, 3);
    img_len = testimg_build(&o, img, sizeof img);
    assert_true(img_len > 0);
    write_file(DIR "fact_app.img", img, img_len);
    for (size_t i = 0; i < sizeof bootbin; i++) {
        bootbin[i] = (uint8_t)(i * 7 + 1);
    }
    write_file(DIR "fact_boot.bin", bootbin, 20000);
    write_file(DIR "fact_boot_big.bin", bootbin, BOOT_SIZE + 1);
    return 0;
}

static void test_factory_hex_boots(void **state)
{
    (void)state;
    assert_int_equal(run("--boot " DIR "fact_boot.bin --image " DIR "fact_app.img --hex " DIR
                         "fact.hex --installed-hex " DIR "fact_inst.hex"),
                     0);
    flash_sim_reset();
    uint32_t n = load_hex(DIR "fact.hex");
    assert_true(n > 20000 + 150 * 1024);
    assert_int_equal(lowest_addr, BOOT_ADDR);
    assert_memory_equal(&flash_sim_mem()[0], bootbin, 20000);
    boot_cap_clear();
    struct boot_outcome out;
    flash_sim_counters_clear();
    assert_int_equal(boot_run(&boot_test_hooks, &out), BOOT_ERR_NONE);
    assert_int_equal(out.jump_addr, APP_ADDR);
    assert_int_equal(out.version.iv_major, 1);
    assert_int_equal(out.version.iv_minor, 2);
    assert_int_equal(out.version.iv_revision, 3);
    assert_int_equal(out.action, BOOT_ACTION_NONE);
    struct flash_sim_counters c;
    flash_sim_counters(&c);
    assert_int_equal(c.ops, 0); /* the factory state is final: nothing to repair */
    struct bootctl_last last;
    assert_int_equal(bootctl_last_result(&last), BOOTCTL_OK);
    assert_int_equal(last.result, BOOTCTL_RESULT_NONE);

    /* the installed hex: everything but the bootloader */
    flash_sim_reset();
    load_hex(DIR "fact_inst.hex");
    assert_int_equal(lowest_addr, APPHDR_ADDR);
    assert_int_equal(boot_run(&boot_test_hooks, &out), BOOT_ERR_NONE);
    assert_int_equal(out.version.iv_minor, 2);
}

static void test_factory_errors(void **state)
{
    (void)state;
    assert_int_equal(run(""), 1);
    assert_int_equal(run("--boot " DIR "fact_boot.bin --image " DIR "fact_app.img"), 1);
    assert_int_equal(run("--boot " DIR "fact_boot.bin --image " DIR "fact_app.img --hex"), 1);
    assert_int_equal(run("--bogus x --boot " DIR "fact_boot.bin --image " DIR "fact_app.img --hex " DIR
                         "x.hex"),
                     1);
    assert_int_equal(run("--boot " DIR "fact_boot_big.bin --image " DIR "fact_app.img --hex " DIR
                         "x.hex"),
                     1);
    assert_int_equal(run("--boot " DIR "nonexistent.bin --image " DIR "fact_app.img --hex " DIR
                         "x.hex"),
                     2);
    img[0] ^= 1;
    write_file(DIR "fact_bad.img", img, img_len);
    img[0] ^= 1;
    assert_int_equal(run("--boot " DIR "fact_boot.bin --image " DIR "fact_bad.img --hex " DIR
                         "x.hex"),
                     1);
    assert_int_equal(run("--boot " DIR "fact_boot.bin --image " DIR "fact_app.img --hex "
                         "/nonexistent-dir/x.hex"),
                     2);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_factory_hex_boots),
        cmocka_unit_test(test_factory_errors),
    };
    return cmocka_run_group_tests(tests, setup, NULL);
}
