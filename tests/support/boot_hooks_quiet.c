#include "boot_hooks_quiet.h"

#include <stddef.h>

static void quiet_log(void *ctx, const char *line)
{
    (void)ctx;
    (void)line;
}

static void quiet_kick(void *ctx)
{
    (void)ctx;
}

const struct boot_hooks boot_hooks_quiet = {NULL, quiet_log, quiet_kick, NULL};
