/* ota_test_mkimage --out FILE --size PAYLOAD [--hdr-size N] [--seed S] [--prot]: a test image. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "testimg.h"

int main(int argc, char **argv)
{
    struct testimg_opts o = {.payload_size = 0, .hdr_size = 32, .seed = 1, .with_prot_tlv = 0};
    const char *out = NULL;
    for (int i = 1; i < argc; i++) {
        const char *v = i + 1 < argc ? argv[i + 1] : NULL;
        if (strcmp(argv[i], "--prot") == 0) {
            o.with_prot_tlv = 1;
            continue;
        }
        if (v == NULL) {
            fprintf(stderr, "mkimage: missing value for %s\n", argv[i]);
            return 1;
        }
        if (strcmp(argv[i], "--out") == 0) {
            out = v;
        } else if (strcmp(argv[i], "--size") == 0) {
            o.payload_size = (uint32_t)strtoul(v, NULL, 0);
        } else if (strcmp(argv[i], "--hdr-size") == 0) {
            o.hdr_size = (uint16_t)strtoul(v, NULL, 0);
        } else if (strcmp(argv[i], "--seed") == 0) {
            o.seed = (uint32_t)strtoul(v, NULL, 0);
        } else {
            fprintf(stderr, "mkimage: unknown option %s\n", argv[i]);
            return 1;
        }
        i++;
    }
    size_t size = testimg_size(&o);
    uint8_t *buf = out != NULL ? malloc(size) : NULL;
    if (buf == NULL || testimg_build(&o, buf, size) != size ||
        testimg_write_file(out, buf, size) != 0) {
        fprintf(stderr, "usage: ota_test_mkimage --out FILE --size N [--hdr-size N] [--seed S] "
                        "[--prot]\n");
        free(buf);
        return 1;
    }
    free(buf);
    printf("%zu\n", size);
    return 0;
}
