/*
 * Simulated NOR flash of the STM32F446 for host tests: implements lib/flash/flash_port.h.
 *
 * Model: 512 KB, RM0390 sector map (4 x 16 KB, 64 KB, 3 x 128 KB); erase by whole sector to 0xFF;
 * programming one 32-bit word at a time (PSIZE x32), each bit can only be cleared (new = old AND
 * data); a program at an unaligned address or length fails.
 *
 * Power cuts: flash_sim_cut_arm() picks operation N (a word program or a sector erase, counted from
 * 0 since the arm) and a moment: before it, in the middle of it, or right after it. In the middle of
 * a word program every bit of that word ends up either old or new (random); in the middle of an
 * erase every byte of that sector ends up old, 0xFF or random. Then the "CPU" stops at once: the
 * sim longjmp()s to the jmp_buf given at arm time, so no code of the caller runs after the cut.
 * Code under test must therefore keep no state across a cut except flash (static buffers are
 * re-initialised by every entry point). Not thread-safe.
 */
#ifndef FLASH_SIM_H
#define FLASH_SIM_H

#include <setjmp.h>
#include <stdbool.h>
#include <stdint.h>

#include "flash_layout.h"

enum flash_sim_cut_when {
    FLASH_SIM_CUT_BEFORE = 0, /* operation N never starts */
    FLASH_SIM_CUT_DURING = 1, /* operation N is torn */
    FLASH_SIM_CUT_AFTER = 2   /* operation N completes, nothing after it runs */
};

struct flash_sim_counters {
    uint32_t ops;              /* word programs + sector erases */
    uint32_t erases;           /* sector erases */
    uint32_t words;            /* words programmed */
    uint32_t reads;            /* read calls */
    uint64_t bytes_read;       /* bytes read */
    uint32_t sector_erases[FLASH_SECTOR_COUNT];
    uint32_t sector_words[FLASH_SECTOR_COUNT];
};

/* Whole chip to 0xFF, counters to zero, no cut armed, no failure injected. */
void flash_sim_reset(void);

/* The chip's bytes (FLASH_TOTAL_SIZE), for test set-up and inspection without counting. */
uint8_t *flash_sim_mem(void);

/* Copy bytes into the chip at an absolute address without the flash rules (factory programming). */
void flash_sim_load(uint32_t addr, const void *src, uint32_t len);

/* Counters since the last reset or clear. */
void flash_sim_counters(struct flash_sim_counters *out);
void flash_sim_counters_clear(void);

/* Arm a power cut at operation op (0 = the next program word or erase), seed for the random bits. */
void flash_sim_cut_arm(uint32_t op, enum flash_sim_cut_when when, uint32_t seed, jmp_buf *env);
void flash_sim_cut_disarm(void);

/* Make the next program or erase call return an error (controller error), once. */
void flash_sim_fail_next(void);

/* Called for every program word and sector erase with its index since the last counters clear
 * (tests use it to find interesting operations to cut at). NULL to stop. */
typedef void (*flash_sim_trace_fn)(void *ctx, uint32_t op, bool erase, uint32_t addr);
void flash_sim_set_trace(flash_sim_trace_fn fn, void *ctx);

/* Deterministic pseudo-random numbers (xorshift32) shared by the sim and tests. */
uint32_t flash_sim_rand(uint32_t *state);

#endif /* FLASH_SIM_H */
