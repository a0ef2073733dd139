/*
 * otafactory: one Intel HEX for factory programming, so a new board boots straight into a verified
 * application: the bootloader at 0x08000000, the sector-2 header area, the application payload at
 * 0x08040000 and its descriptor in the application area. The installed form comes from
 * bootctl_installed_layout(), the same code the bootloader's format is defined by.
 *
 *   otafactory --boot bootloader.bin --image app.img --hex factory.hex [--installed-hex app.hex]
 *
 * The installed hex holds everything but the bootloader (to update the application with a
 * debugger on a board that already has the bootloader). Exit status 0 on success, 1 on bad input,
 * 2 on I/O errors.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bootctl.h"
#include "flash_layout.h"
#include "image.h"

static uint8_t boot_bin[BOOT_SIZE];
static uint8_t image[STAGING_SIZE];
static uint8_t hdr_area[BOOTCTL_HDR_AREA_SIZE];
static uint8_t desc[APP_DESC_SIZE];

/* Read a whole file into buf; -1 if it cannot be read or does not fit. */
static long read_file(const char *path, uint8_t *buf, size_t cap)
{
    FILE *f = fopen(path, "rb");
    if (f == NULL) {
        fprintf(stderr, "otafactory: cannot open %s\n", path);
        return -1;
    }
    size_t n = fread(buf, 1, cap, f);
    int extra = fgetc(f);
    int err = ferror(f);
    if (fclose(f) != 0 || err != 0) {
        fprintf(stderr, "otafactory: cannot read %s\n", path);
        return -1;
    }
    if (extra != EOF) {
        fprintf(stderr, "otafactory: %s is larger than %zu bytes\n", path, cap);
        return -2;
    }
    return (long)n;
}

struct hex_out {
    FILE *f;
    uint32_t upper; /* current extended linear address, or UINT32_MAX */
    int err;
};

static void hex_record(struct hex_out *h, uint8_t type, uint16_t addr, const uint8_t *data,
                       uint8_t len)
{
    uint8_t sum = (uint8_t)(len + (addr >> 8) + (addr & 0xFF) + type);
    if (fprintf(h->f, ":%02X%04X%02X", len, addr, type) < 0) {
        h->err = 1;
    }
    for (uint8_t i = 0; i < len; i++) {
        sum = (uint8_t)(sum + data[i]);
        if (fprintf(h->f, "%02X", data[i]) < 0) {
            h->err = 1;
        }
    }
    if (fprintf(h->f, "%02X\n", (uint8_t)(0x100 - sum) & 0xFF) < 0) {
        h->err = 1;
    }
}

static void hex_data(struct hex_out *h, uint32_t addr, const uint8_t *data, uint32_t len)
{
    while (len > 0) {
        if ((addr >> 16) != h->upper) {
            h->upper = addr >> 16;
            uint8_t ela[2] = {(uint8_t)(h->upper >> 8), (uint8_t)h->upper};
            hex_record(h, 0x04, 0, ela, 2);
        }
        /* 16 bytes per line, never across a 64 KB boundary */
        uint32_t n = len < 16u ? len : 16u;
        uint32_t to_boundary = 0x10000u - (addr & 0xFFFFu);
        n = n < to_boundary ? n : to_boundary;
        hex_record(h, 0x00, (uint16_t)(addr & 0xFFFFu), data, (uint8_t)n);
        addr += n;
        data += n;
        len -= n;
    }
}

static int write_hex(const char *path, const uint8_t *boot, uint32_t boot_len,
                     const uint8_t *payload, uint32_t payload_len, uint32_t desc_len,
                     uint32_t desc_off, uint32_t hdr_len)
{
    struct hex_out h = {fopen(path, "w"), UINT32_MAX, 0};
    if (h.f == NULL) {
        fprintf(stderr, "otafactory: cannot create %s\n", path);
        return 2;
    }
    if (boot != NULL) {
        hex_data(&h, BOOT_ADDR, boot, boot_len);
    }
    hex_data(&h, APPHDR_ADDR, hdr_area, hdr_len);
    hex_data(&h, APP_ADDR, payload, payload_len);
    hex_data(&h, APP_ADDR + desc_off, desc, desc_len);
    hex_record(&h, 0x01, 0, NULL, 0);
    if (fclose(h.f) != 0 || h.err != 0) {
        fprintf(stderr, "otafactory: cannot write %s\n", path);
        return 2;
    }
    return 0;
}

static int usage(void)
{
    fprintf(stderr, "usage: otafactory --boot bootloader.bin --image app.img --hex factory.hex "
                    "[--installed-hex app-installed.hex]\n");
    return 1;
}

int main(int argc, char **argv)
{
    const char *boot_path = NULL;
    const char *img_path = NULL;
    const char *hex_path = NULL;
    const char *inst_path = NULL;
    for (int i = 1; i < argc; i++) {
        const char **slot = NULL;
        if (strcmp(argv[i], "--boot") == 0) {
            slot = &boot_path;
        } else if (strcmp(argv[i], "--image") == 0) {
            slot = &img_path;
        } else if (strcmp(argv[i], "--hex") == 0) {
            slot = &hex_path;
        } else if (strcmp(argv[i], "--installed-hex") == 0) {
            slot = &inst_path;
        } else {
            fprintf(stderr, "otafactory: unknown argument %s\n", argv[i]);
            return usage();
        }
        if (i + 1 >= argc) {
            return usage();
        }
        *slot = argv[++i];
    }
    if (boot_path == NULL || img_path == NULL || hex_path == NULL) {
        return usage();
    }
    long boot_len = read_file(boot_path, boot_bin, sizeof boot_bin);
    if (boot_len < 0) {
        return boot_len == -2 ? 1 : 2;
    }
    if (boot_len == 0) {
        fprintf(stderr, "otafactory: %s is empty\n", boot_path);
        return 1;
    }
    long img_len = read_file(img_path, image, sizeof image);
    if (img_len < 0) {
        return img_len == -2 ? 1 : 2;
    }
    struct image_reader rd;
    struct image_buf buf;
    image_reader_init_buf(&rd, &buf, image, (uint32_t)img_len);
    struct image_info info;
    int irc = image_parse(&rd, &info);
    if (irc != IMAGE_OK) {
        fprintf(stderr, "otafactory: %s: %s\n", img_path, image_strerror(irc));
        return 1;
    }
    uint32_t desc_len;
    uint32_t desc_off;
    int rc = bootctl_installed_layout(&rd, hdr_area, desc, &desc_len, &desc_off);
    if (rc != BOOTCTL_OK) {
        fprintf(stderr, "otafactory: %s cannot be installed (bootctl error %d)\n", img_path, rc);
        return 1;
    }
    struct bootctl_header hdr;
    if (!bootctl_header_decode(hdr_area, &hdr)) {
        return 1;
    }
    /* the header words and the descriptor copy; the rest of sector 2 stays erased (the log) */
    uint32_t hdr_len = BOOTCTL_DESC_OFF + ((hdr.desc_len + 3u) & ~3u);
    const uint8_t *payload = image + info.hdr.ih_hdr_size;
    rc = write_hex(hex_path, boot_bin, (uint32_t)boot_len, payload, info.hdr.ih_img_size, desc_len,
                   desc_off, hdr_len);
    if (rc == 0 && inst_path != NULL) {
        rc = write_hex(inst_path, NULL, 0, payload, info.hdr.ih_img_size, desc_len, desc_off,
                       hdr_len);
    }
    if (rc == 0) {
        printf("otafactory: %s: version %u.%u.%u+%u, payload %u bytes, descriptor %u bytes at "
               "0x%08X\n",
               hex_path, info.hdr.ih_ver.iv_major, info.hdr.ih_ver.iv_minor,
               info.hdr.ih_ver.iv_revision, (unsigned)info.hdr.ih_ver.iv_build_num,
               (unsigned)info.hdr.ih_img_size, (unsigned)desc_len, (unsigned)(APP_ADDR + desc_off));
    }
    return rc;
}
