/* Checks on built firmware files; see fwcheck.h. */
#define _POSIX_C_SOURCE 200809L /* strnlen */
#include "fwcheck.h"

#include <ctype.h>
#include <elf.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int fw_file_read(const char *path, struct fw_file *out)
{
    out->data = NULL;
    out->size = 0;
    FILE *f = fopen(path, "rb");
    if (f == NULL) {
        return FWCHECK_ERR_IO;
    }
    int rc = FWCHECK_ERR_IO;
    if (fseek(f, 0, SEEK_END) != 0) {
        goto done;
    }
    long len = ftell(f);
    if (len < 0 || fseek(f, 0, SEEK_SET) != 0) {
        goto done;
    }
    out->data = malloc((size_t)len + 1u); /* +1: text files get a terminating NUL */
    if (out->data == NULL) {
        goto done;
    }
    if (fread(out->data, 1, (size_t)len, f) != (size_t)len) {
        free(out->data);
        out->data = NULL;
        goto done;
    }
    out->data[len] = 0;
    out->size = (size_t)len;
    rc = FWCHECK_OK;
done:
    if (fclose(f) != 0 && rc == FWCHECK_OK) {
        rc = FWCHECK_ERR_IO;
    }
    return rc;
}

void fw_file_free(struct fw_file *f)
{
    free(f->data);
    f->data = NULL;
    f->size = 0;
}

static int in_file(const struct fw_file *f, uint64_t off, uint64_t len)
{
    return off <= f->size && len <= f->size - off;
}

static const Elf32_Ehdr *ehdr(const struct fw_file *elf)
{
    return (const Elf32_Ehdr *)(const void *)elf->data;
}

static const Elf32_Shdr *shdr(const struct fw_file *elf, uint32_t i)
{
    return (const Elf32_Shdr *)(const void *)(elf->data + ehdr(elf)->e_shoff +
                                              (size_t)i * ehdr(elf)->e_shentsize);
}

int fw_elf_check(const struct fw_file *elf)
{
    if (elf->data == NULL || elf->size < sizeof(Elf32_Ehdr)) {
        return FWCHECK_ERR_ELF;
    }
    const Elf32_Ehdr *h = ehdr(elf);
    if (memcmp(h->e_ident, ELFMAG, SELFMAG) != 0 || h->e_ident[EI_CLASS] != ELFCLASS32 ||
        h->e_ident[EI_DATA] != ELFDATA2LSB || h->e_machine != EM_ARM || h->e_type != ET_EXEC) {
        return FWCHECK_ERR_ELF;
    }
    if (h->e_shentsize != sizeof(Elf32_Shdr) || h->e_phentsize != sizeof(Elf32_Phdr) ||
        !in_file(elf, h->e_shoff, (uint64_t)h->e_shnum * sizeof(Elf32_Shdr)) ||
        !in_file(elf, h->e_phoff, (uint64_t)h->e_phnum * sizeof(Elf32_Phdr)) ||
        h->e_shstrndx >= h->e_shnum) {
        return FWCHECK_ERR_ELF;
    }
    for (uint32_t i = 0; i < h->e_shnum; i++) {
        const Elf32_Shdr *s = shdr(elf, i);
        if (s->sh_type != SHT_NOBITS && s->sh_type != SHT_NULL &&
            !in_file(elf, s->sh_offset, s->sh_size)) {
            return FWCHECK_ERR_ELF;
        }
    }
    return FWCHECK_OK;
}

static const char *section_name(const struct fw_file *elf, const Elf32_Shdr *s)
{
    const Elf32_Shdr *strtab = shdr(elf, ehdr(elf)->e_shstrndx);
    if (s->sh_name >= strtab->sh_size) {
        return "";
    }
    const char *name = (const char *)elf->data + strtab->sh_offset + s->sh_name;
    /* NUL inside the table, or treat as no name. */
    if (memchr(name, 0, strtab->sh_size - s->sh_name) == NULL) {
        return "";
    }
    return name;
}

int fw_elf_section(const struct fw_file *elf, const char *name, uint32_t *addr, uint32_t *size)
{
    int rc = fw_elf_check(elf);
    if (rc != FWCHECK_OK) {
        return rc;
    }
    for (uint32_t i = 0; i < ehdr(elf)->e_shnum; i++) {
        const Elf32_Shdr *s = shdr(elf, i);
        if (strcmp(section_name(elf, s), name) == 0) {
            *addr = s->sh_addr;
            *size = s->sh_size;
            return FWCHECK_OK;
        }
    }
    return FWCHECK_ERR_NOT_FOUND;
}

int fw_elf_symbol(const struct fw_file *elf, const char *name, uint32_t *value, uint32_t *size)
{
    int rc = fw_elf_check(elf);
    if (rc != FWCHECK_OK) {
        return rc;
    }
    for (uint32_t i = 0; i < ehdr(elf)->e_shnum; i++) {
        const Elf32_Shdr *s = shdr(elf, i);
        if (s->sh_type != SHT_SYMTAB || s->sh_link >= ehdr(elf)->e_shnum ||
            s->sh_entsize != sizeof(Elf32_Sym)) {
            continue;
        }
        const Elf32_Shdr *str = shdr(elf, s->sh_link);
        const Elf32_Sym *syms = (const Elf32_Sym *)(const void *)(elf->data + s->sh_offset);
        for (uint32_t k = 0; k < s->sh_size / sizeof(Elf32_Sym); k++) {
            if (syms[k].st_name >= str->sh_size) {
                continue;
            }
            const char *n = (const char *)elf->data + str->sh_offset + syms[k].st_name;
            size_t max = str->sh_size - syms[k].st_name;
            if (strnlen(n, max) < max && strcmp(n, name) == 0) {
                *value = syms[k].st_value;
                *size = syms[k].st_size;
                return FWCHECK_OK;
            }
        }
    }
    return FWCHECK_ERR_NOT_FOUND;
}

int fw_elf_word(const struct fw_file *elf, uint32_t addr, uint32_t *out)
{
    int rc = fw_elf_check(elf);
    if (rc != FWCHECK_OK) {
        return rc;
    }
    for (uint32_t i = 0; i < ehdr(elf)->e_shnum; i++) {
        const Elf32_Shdr *s = shdr(elf, i);
        if (s->sh_type != SHT_PROGBITS || (s->sh_flags & SHF_ALLOC) == 0) {
            continue;
        }
        if (addr >= s->sh_addr && s->sh_size >= 4u && addr - s->sh_addr <= s->sh_size - 4u) {
            const uint8_t *p = elf->data + s->sh_offset + (addr - s->sh_addr);
            *out = (uint32_t)p[0] | ((uint32_t)p[1] << 8) | ((uint32_t)p[2] << 16) |
                   ((uint32_t)p[3] << 24);
            return FWCHECK_OK;
        }
    }
    return FWCHECK_ERR_ADDR;
}

int fw_elf_segments_within(const struct fw_file *elf, uint32_t base, uint32_t size, uint32_t *end)
{
    int rc = fw_elf_check(elf);
    if (rc != FWCHECK_OK) {
        return rc;
    }
    uint64_t high = base;
    int loads = 0;
    for (uint32_t i = 0; i < ehdr(elf)->e_phnum; i++) {
        const Elf32_Phdr *p = (const Elf32_Phdr *)(const void *)(elf->data + ehdr(elf)->e_phoff +
                                                                 (size_t)i * sizeof(Elf32_Phdr));
        if (p->p_type != PT_LOAD || p->p_filesz == 0) {
            continue;
        }
        loads++;
        uint64_t lo = p->p_paddr;
        uint64_t hi = lo + p->p_filesz;
        if (lo < base || hi > (uint64_t)base + size) {
            return FWCHECK_ERR_REGION;
        }
        if (hi > high) {
            high = hi;
        }
    }
    if (loads == 0) {
        return FWCHECK_ERR_ELF;
    }
    *end = (uint32_t)high;
    return FWCHECK_OK;
}

int fw_elf_foreach_load(const struct fw_file *elf, fw_segment_cb cb, void *ctx)
{
    int rc = fw_elf_check(elf);
    if (rc != FWCHECK_OK) {
        return rc;
    }
    for (uint32_t i = 0; i < ehdr(elf)->e_phnum; i++) {
        const Elf32_Phdr *p = (const Elf32_Phdr *)(const void *)(elf->data + ehdr(elf)->e_phoff +
                                                                 (size_t)i * sizeof(Elf32_Phdr));
        if (p->p_type != PT_LOAD || p->p_filesz == 0) {
            continue;
        }
        if (!in_file(elf, p->p_offset, p->p_filesz)) {
            return FWCHECK_ERR_ELF;
        }
        rc = cb(ctx, p->p_vaddr, p->p_paddr, elf->data + p->p_offset, p->p_filesz);
        if (rc != 0) {
            return rc;
        }
    }
    return FWCHECK_OK;
}

int fw_vector_reserved(uint32_t i)
{
    static const uint8_t reserved_irq[] = {61, 62, 79, 80, 82, 83, 85, 86, 88, 89, 90};
    if (i == 7 || i == 8 || i == 9 || i == 10 || i == 13) {
        return 1;
    }
    for (size_t k = 0; k < sizeof reserved_irq; k++) {
        if (i == 16u + reserved_irq[k]) {
            return 1;
        }
    }
    return 0;
}

int fw_vectors_check(const uint32_t vt[FW_VECTOR_COUNT], uint32_t base, uint32_t limit,
                     uint32_t sram_base, uint32_t sram_size)
{
    uint32_t sp = vt[0];
    if (sp <= sram_base || sp > sram_base + sram_size || sp % 8u != 0) {
        return FWCHECK_ERR_SP;
    }
    uint32_t reset = vt[1];
    if ((reset & 1u) == 0 || (reset & ~1u) < base || (reset & ~1u) >= limit) {
        return FWCHECK_ERR_RESET;
    }
    for (uint32_t i = 2; i < FW_VECTOR_COUNT; i++) {
        if (fw_vector_reserved(i)) {
            if (vt[i] != 0) {
                return FWCHECK_ERR_VECTOR;
            }
        } else if ((vt[i] & 1u) == 0 || (vt[i] & ~1u) < base || (vt[i] & ~1u) >= limit) {
            return FWCHECK_ERR_VECTOR;
        }
    }
    return FWCHECK_OK;
}

/* Parse "<num> ([+-] <num>)*" up to ',' / newline / '}'; 0 on success. */
static int eval_expr(const char **pp, uint32_t *out)
{
    const char *p = *pp;
    int64_t acc = 0;
    int sign = 1;
    int terms = 0;
    for (;;) {
        while (*p == ' ' || *p == '\t') {
            p++;
        }
        if (!isdigit((unsigned char)*p)) {
            return -1;
        }
        char *end;
        unsigned long v = strtoul(p, &end, 0);
        if (end == p) {
            return -1;
        }
        acc += sign * (int64_t)v;
        terms++;
        p = end;
        while (*p == ' ' || *p == '\t') {
            p++;
        }
        if (*p == '+' || *p == '-') {
            sign = *p == '+' ? 1 : -1;
            p++;
            continue;
        }
        break;
    }
    if (terms == 0 || acc < 0 || acc > UINT32_MAX) {
        return -1;
    }
    if (*p != ',' && *p != '\n' && *p != '}' && *p != '\0') {
        return -1; /* an identifier the preprocessor left: not a constant */
    }
    *out = (uint32_t)acc;
    *pp = p;
    return 0;
}

int fw_script_region(const char *text, const char *region, uint32_t *origin, uint32_t *length)
{
    size_t rl = strlen(region);
    for (const char *line = text; line != NULL && *line != '\0';) {
        const char *p = line;
        while (*p == ' ' || *p == '\t') {
            p++;
        }
        if (strncmp(p, region, rl) == 0 && (p[rl] == ' ' || p[rl] == '(')) {
            const char *o = strstr(p, "ORIGIN");
            const char *nl = strchr(p, '\n');
            if (o == NULL || (nl != NULL && o > nl)) {
                return FWCHECK_ERR_SCRIPT;
            }
            o += strlen("ORIGIN");
            while (*o == ' ' || *o == '=') {
                o++;
            }
            if (eval_expr(&o, origin) != 0 || *o != ',') {
                return FWCHECK_ERR_SCRIPT;
            }
            const char *l = strstr(o, "LENGTH");
            if (l == NULL || (nl != NULL && l > nl)) {
                return FWCHECK_ERR_SCRIPT;
            }
            l += strlen("LENGTH");
            while (*l == ' ' || *l == '=') {
                l++;
            }
            if (eval_expr(&l, length) != 0) {
                return FWCHECK_ERR_SCRIPT;
            }
            return FWCHECK_OK;
        }
        line = strchr(line, '\n');
        if (line != NULL) {
            line++;
        }
    }
    return FWCHECK_ERR_SCRIPT;
}

static uint32_t le32(const uint8_t *p)
{
    return (uint32_t)p[0] | ((uint32_t)p[1] << 8) | ((uint32_t)p[2] << 16) | ((uint32_t)p[3] << 24);
}

int fw_image_header(const struct fw_file *img, struct fw_image_header *hdr)
{
    if (img->data == NULL || img->size < 32u) {
        return FWCHECK_ERR_IMAGE;
    }
    const uint8_t *p = img->data;
    hdr->magic = le32(p);
    hdr->hdr_size = (uint16_t)(p[8] | (p[9] << 8));
    hdr->img_size = le32(p + 12);
    hdr->major = p[20];
    hdr->minor = p[21];
    hdr->revision = (uint16_t)(p[22] | (p[23] << 8));
    hdr->build = le32(p + 24);
    if (hdr->magic != 0x96f3b83du || hdr->hdr_size < 32u ||
        (uint64_t)hdr->hdr_size + hdr->img_size > img->size) {
        return FWCHECK_ERR_IMAGE;
    }
    return FWCHECK_OK;
}
