/*
 * OTA_ASSERT's failure path routed into cmocka, so tests can check that misuse (a NULL context,
 * a NULL buffer with a non-zero length) is caught with expect_assert_failure().
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>

#include <cmocka.h>

#include "ota_util.h"

void ota_assert_failed(const char *file, int line)
{
    mock_assert(0, "OTA_ASSERT", file, line);
}
