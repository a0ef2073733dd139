/*
 * OTA_ASSERT's failure path routed into cmocka, so tests can check that misuse (a NULL context,
 * a NULL buffer with a non-zero length) is caught with expect_assert_failure().
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdlib.h>

#include <cmocka.h>

#include "ota_util.h"

_Noreturn void ota_assert_failed(const char *file, int line)
{
    /* With a false condition mock_assert does not return: it longjmps back into
     * expect_assert_failure() or fails the running test. cmocka does not declare that, so the
     * abort keeps the _Noreturn promise should a cmocka version ever return. */
    mock_assert(0, "OTA_ASSERT", file, line);
    abort();
}
