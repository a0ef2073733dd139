/*
 * Checks on the built firmware files (ELF, .bin, .img, generated linker scripts), independent of
 * the firmware's own headers except include/flash_layout.h and app/app_info.h, whose values
 * they are checked against. Host only; files are read into malloc'd buffers the caller frees.
 */
#ifndef FWCHECK_H
#define FWCHECK_H

#include <stddef.h>
#include <stdint.h>

enum fwcheck_err {
    FWCHECK_OK = 0,
    FWCHECK_ERR_IO = -1,         /* file missing or unreadable */
    FWCHECK_ERR_ELF = -2,        /* not a 32-bit little-endian ARM executable, or truncated */
    FWCHECK_ERR_NOT_FOUND = -3,  /* section or symbol absent */
    FWCHECK_ERR_ADDR = -4,       /* address not inside any loaded section */
    FWCHECK_ERR_REGION = -5,     /* a loaded segment outside [base, base + size) */
    FWCHECK_ERR_SP = -6,         /* initial SP not in (SRAM, SRAM end], or not 8-byte aligned */
    FWCHECK_ERR_RESET = -7,      /* reset vector even or outside the program */
    FWCHECK_ERR_VECTOR = -8,     /* a handler even/outside, or a reserved entry not zero */
    FWCHECK_ERR_COUNT = -9,      /* vector table not 113 words */
    FWCHECK_ERR_SCRIPT = -10,    /* linker script MEMORY line missing or not a constant */
    FWCHECK_ERR_IMAGE = -11      /* MCUboot header malformed */
};

struct fw_file {
    uint8_t *data;
    size_t size;
};

/* Read a whole file. */
int fw_file_read(const char *path, struct fw_file *out);
void fw_file_free(struct fw_file *f);

/* Validate the ELF header (ELFCLASS32, little endian, EM_ARM, sections in bounds). */
int fw_elf_check(const struct fw_file *elf);

/* Address and size of a section by name. */
int fw_elf_section(const struct fw_file *elf, const char *name, uint32_t *addr, uint32_t *size);

/* Value and size of a symbol by name (from .symtab). */
int fw_elf_symbol(const struct fw_file *elf, const char *name, uint32_t *value, uint32_t *size);

/* Read a 32-bit word at a run-time address from a loaded (PROGBITS) section. */
int fw_elf_word(const struct fw_file *elf, uint32_t addr, uint32_t *out);

/* Every PT_LOAD segment's load range (filesz) lies inside [base, base + size); *end = highest. */
int fw_elf_segments_within(const struct fw_file *elf, uint32_t base, uint32_t size, uint32_t *end);

/* Calls cb for every PT_LOAD segment with file content; stops at the first non-zero result. */
typedef int (*fw_segment_cb)(void *ctx, uint32_t vaddr, uint32_t paddr, const uint8_t *data,
                             uint32_t filesz);
int fw_elf_foreach_load(const struct fw_file *elf, fw_segment_cb cb, void *ctx);

/* The 113 words of a vector table in memory (as read from the image). */
#define FW_VECTOR_COUNT 113u
/*
 * SP in (sram_base, sram_base + sram_size], 8-byte aligned; reset and every handler odd and in
 * [base, limit); reserved positions (7-10, 13, IRQ 61, 62, 79, 80, 82, 83, 85, 86, 88-90) zero.
 */
int fw_vectors_check(const uint32_t vt[FW_VECTOR_COUNT], uint32_t base, uint32_t limit,
                     uint32_t sram_base, uint32_t sram_size);

/* True if vector position i (0..112) is reserved on the F446. */
int fw_vector_reserved(uint32_t i);

/*
 * Find "<region> (...) : ORIGIN = <expr>, LENGTH = <expr>" in a preprocessed linker script and
 * evaluate both (hex/decimal constants joined by + and -).
 */
int fw_script_region(const char *text, const char *region, uint32_t *origin, uint32_t *length);

/* MCUboot image header fields the tests look at (little-endian, docs/image-format.md). */
struct fw_image_header {
    uint32_t magic;
    uint16_t hdr_size;
    uint32_t img_size;
    uint8_t major;
    uint8_t minor;
    uint16_t revision;
    uint32_t build;
};
int fw_image_header(const struct fw_file *img, struct fw_image_header *hdr);

#endif /* FWCHECK_H */
