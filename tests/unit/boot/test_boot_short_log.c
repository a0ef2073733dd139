/*
 * The bootloader's short log text (BOOT_LOG_SHORT=1, boot/CMakeLists.txt): boot_core.c compiled
 * in with the switch on. Pins every short reason name in code order (they live in one
 * NUL-separated string, where a missing separator would shift every name after it) and the
 * reason line format main.c logs. The full names are tested in test_boot_core.c.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "boot_core.h"

_Static_assert(BOOT_LOG_SHORT == 1, "this test is built with BOOT_LOG_SHORT=1");

/* boot_core.c refers to the key; nothing here verifies an image. */
const uint8_t boot_pubkey[32] = {0};

static void test_short_reason_names(void **state)
{
    (void)state;
    static const char *const names[] = {
        "ok", "read error", "bad magic", "bad hdr size", "empty", "too big", "bad flags",
        "bad TLV magic", "bad TLV len", "bad TLV size", "no hash", "bad hash", "no signature",
        "no key", "wrong key", "bad signature", "dup TLV", "downgrade", "bad vectors",
        "not requested", "incomplete", "bad image", "no app", "app invalid", "write error",
        "copy differs", "desc too big"};
    assert_int_equal(sizeof names / sizeof names[0], BOOT_R_DESC_SIZE + 1);
    for (int r = BOOT_OK; r <= BOOT_R_DESC_SIZE; r++) {
        assert_string_equal(boot_reason_str(r), names[r]);
    }
    assert_string_equal(boot_reason_str(BOOT_R_DESC_SIZE + 1), "?");
    assert_string_equal(boot_reason_str(-1), "?");
    assert_string_equal(boot_reason_line("staying in the bootloader: ", BOOT_R_NO_APP),
                        "boot: staying in the bootloader: no app (22)");
    assert_string_equal(BOOT_MSG("full", "short"), "short");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_short_reason_names),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
