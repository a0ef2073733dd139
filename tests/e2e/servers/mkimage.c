/*
 * ota_test_mkimage --out FILE --size PAYLOAD [--hdr-size N] [--seed S] [--prot] [--version M.m.r]:
 * a signed test image (port/host/testimg: key A, SHA256, KEYHASH and Ed25519 TLVs) in a file, for
 * the server benchmark and manual runs. Prints the image's size.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "testimg.h"

/* Strict unsigned number (decimal or 0x hex) up to max; -1 on anything else. */
static long parse_num(const char *s, unsigned long max)
{
    char *end = NULL;
    errno = 0;
    unsigned long v = strtoul(s, &end, 0);
    return (errno != 0 || end == s || *end != '\0' || s[0] == '-' || v > max) ? -1 : (long)v;
}

/* "M.m.r" with M, m <= 255 and r <= 65535: 0, or -1 on anything else. */
static int parse_version(const char *s, unsigned v[3])
{
    static const unsigned long max[3] = {255u, 255u, 65535u};
    for (int k = 0; k < 3; k++) {
        char *end = NULL;
        errno = 0;
        unsigned long x = strtoul(s, &end, 10);
        char want = k < 2 ? '.' : '\0';
        if (errno != 0 || end == s || *s == '-' || *s == '+' || x > max[k] || *end != want) {
            return -1;
        }
        v[k] = (unsigned)x;
        s = end + 1;
    }
    return 0;
}

int main(int argc, char **argv)
{
    long size = -1;
    long hdr = 0;
    long seed = -1;
    unsigned ver[3] = {1u, 2u, 3u};
    int prot = 0;
    const char *out = NULL;
    int bad = 0;
    for (int i = 1; i < argc && !bad; i++) {
        const char *v = i + 1 < argc ? argv[i + 1] : NULL;
        if (strcmp(argv[i], "--prot") == 0) {
            prot = 1;
            continue;
        }
        if (v == NULL) {
            fprintf(stderr, "mkimage: missing value for %s\n", argv[i]);
            return 1;
        }
        i++;
        if (strcmp(argv[i - 1], "--out") == 0) {
            out = v;
        } else if (strcmp(argv[i - 1], "--size") == 0) {
            size = parse_num(v, 16ul << 20);
            bad = size <= 0;
        } else if (strcmp(argv[i - 1], "--hdr-size") == 0) {
            hdr = parse_num(v, 0x8000u);
            bad = hdr < 32;
        } else if (strcmp(argv[i - 1], "--seed") == 0) {
            seed = parse_num(v, 0xffffffffu);
            bad = seed < 0;
        } else if (strcmp(argv[i - 1], "--version") == 0) {
            bad = parse_version(v, ver) != 0;
        } else {
            fprintf(stderr, "mkimage: unknown option %s\n", argv[i - 1]);
            return 1;
        }
    }
    if (bad || out == NULL || size <= 0) {
        fprintf(stderr, "usage: ota_test_mkimage --out FILE --size N [--hdr-size N] [--seed S] "
                        "[--prot] [--version M.m.r]\n");
        return 1;
    }
    struct testimg_opts o =
        testimg_defaults((uint32_t)size, (uint8_t)ver[0], (uint8_t)ver[1], (uint16_t)ver[2]);
    o.hdr_size = (uint16_t)hdr;
    o.prot_tlv = prot != 0;
    if (seed >= 0) {
        o.seed = (uint32_t)seed;
    }
    size_t len = testimg_size(&o);
    uint8_t *buf = malloc(len);
    if (buf == NULL || testimg_build(&o, buf, len) != len || testimg_write_file(out, buf, len) != 0) {
        fprintf(stderr, "mkimage: cannot make %s\n", out);
        free(buf);
        return 1;
    }
    free(buf);
    printf("%zu\n", len);
    return 0;
}
