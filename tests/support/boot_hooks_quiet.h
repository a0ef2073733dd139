/* Bootloader-core hooks for host tests that do not look at the log: log and kick do nothing. */
#ifndef BOOT_HOOKS_QUIET_H
#define BOOT_HOOKS_QUIET_H

#include "boot_core.h"

extern const struct boot_hooks boot_hooks_quiet;

#endif
