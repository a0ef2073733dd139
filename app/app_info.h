/*
 * The application's version record, at a fixed offset from the start of app.bin (right after
 * the 113-word vector table, at the next VTOR_ALIGN boundary): tools and tests read the version
 * from the binary without symbols. Little-endian words.
 *
 *   offset 0x200 (APP_ADDR + 0x200 in flash):
 *     +0  ai_magic    APP_INFO_MAGIC ("OTAI")
 *     +4  ai_version  major << 24 | minor << 16 | revision (as the application header, 0x010)
 *     +8  ai_build    build number
 *     +12 ai_reserved 0xFFFFFFFF
 *
 * Valid for the C compiler and the linker-script preprocessor (FLASH_LAYOUT_LINKER).
 */
#ifndef APP_INFO_H
#define APP_INFO_H

#define APP_INFO_OFFSET 0x200
#define APP_INFO_MAGIC 0x4941544F /* bytes 'O' 'T' 'A' 'I' in memory */
#define APP_INFO_SIZE 16

#if !defined(__ASSEMBLER__) && !defined(FLASH_LAYOUT_LINKER)
#include <stdint.h>

struct app_info {
    uint32_t ai_magic;
    uint32_t ai_version;
    uint32_t ai_build;
    uint32_t ai_reserved;
};
_Static_assert(sizeof(struct app_info) == APP_INFO_SIZE, "app_info is 4 words");

#define APP_INFO_VERSION(major, minor, revision)                                                   \
    (((uint32_t)(major) << 24) | ((uint32_t)(minor) << 16) | (uint32_t)(revision))
#endif

#endif /* APP_INFO_H */
