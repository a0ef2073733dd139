/* Host implementation of OTA_ASSERT's failure path: abort so tests and sanitizers report it. */
#include "ota_util.h"

#include <stdio.h>
#include <stdlib.h>

_Noreturn void ota_assert_failed(const char *file, int line)
{
    fprintf(stderr, "OTA_ASSERT failed at %s:%d\n", file, line);
    abort();
}
