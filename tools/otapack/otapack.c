/*
 * otapack: keys, signing and inspection of MCUboot-format images (docs/image-format.md).
 *
 *   otapack keygen -o KEY.pem
 *   otapack getpub -k KEY.pem [--c [--name SYMBOL]] [-o OUT]
 *   otapack sign -k KEY.pem --version MAJOR.MINOR.REVISION[+BUILD] [--header-size N]
 *                [--public-key-full] [--security-counter N] IN.bin OUT.img
 *   otapack verify -k KEY_OR_PUB.pem IMG
 *   otapack info IMG [--json]
 *
 * Keys and signatures come from OpenSSL; parsing and validation from lib/image, and `verify`
 * checks every image a second time with OpenSSL alone so that the two must agree.
 *
 * Exit status: 0 success, 1 failure (bad input, invalid image), 2 usage error, 3 lib/image and
 * OpenSSL disagree about an image (a bug in one of them).
 */
#define _POSIX_C_SOURCE 200809L /* fileno, fdopen, stat */

#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>

#include "flash_layout.h"
#include "image.h"
#include "ota_util.h"

#define EXIT_USAGE 2
#define EXIT_DISAGREE 3

#define SHA256_LEN 32u
#define ED25519_RAW_LEN 32u
#define ED25519_SIG_LEN 64u
#define ED25519_SPKI_LEN 44u

/* The most otapack puts around a payload: largest header, SEC_CNT area, SHA256 + PUBKEY + ED25519.
 * It always fits the application descriptor, so sign needs no run-time check for it. */
#define MAX_PROT_SIZE (IMAGE_TLV_INFO_SIZE + IMAGE_TLV_HDR_SIZE + 4u)
#define MAX_TLV_SIZE                                                                               \
    (IMAGE_TLV_INFO_SIZE + 3u * IMAGE_TLV_HDR_SIZE + SHA256_LEN + ED25519_SPKI_LEN + ED25519_SIG_LEN)
_Static_assert(IMAGE_MAX_HDR_SIZE + MAX_PROT_SIZE + MAX_TLV_SIZE <= APP_DESC_SIZE,
               "header + TLVs must fit the application descriptor");

/* imgtool pads the header with the erased-flash value (its default --erased-val 0xff). */
#define PAD_BYTE 0xffu

/* Largest file we read: comfortably above any slot, small enough to hold in memory. */
#define MAX_FILE_SIZE 0x400000u
#define MAX_PATH_LEN 4096

static const char *prog_cmd = "otapack";

static void err(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static void err(const char *fmt, ...)
{
    char msg[512];
    va_list ap;
    va_start(ap, fmt);
    (void)vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    fprintf(stderr, "otapack %s: %s\n", prog_cmd, msg);
}

static void usage(void)
{
    fputs("usage:\n"
          "  otapack keygen -o KEY.pem\n"
          "  otapack getpub -k KEY.pem [--c [--name SYMBOL]] [-o OUT]\n"
          "  otapack sign -k KEY.pem --version MAJOR.MINOR.REVISION[+BUILD] [--header-size N]\n"
          "               [--public-key-full] [--security-counter N] IN.bin OUT.img\n"
          "  otapack verify -k KEY_OR_PUB.pem IMG\n"
          "  otapack info IMG [--json]\n",
          stderr);
}

/* ---- files ---- */

/* Read a whole regular file; the caller frees *data. */
static int read_file(const char *path, uint8_t **data, uint32_t *len)
{
    struct stat st;
    FILE *f = fopen(path, "rb");
    uint8_t *buf;
    size_t n;

    if (f == NULL) {
        err("cannot open %s: %s", path, strerror(errno));
        return -1;
    }
    if (fstat(fileno(f), &st) != 0 || !S_ISREG(st.st_mode)) {
        err("cannot read %s: not a regular file", path);
        (void)fclose(f);
        return -1;
    }
    if ((uint64_t)st.st_size > MAX_FILE_SIZE) {
        err("%s is too large (%lld bytes)", path, (long long)st.st_size);
        (void)fclose(f);
        return -1;
    }
    /* One spare byte so that an empty file still gets a valid buffer. */
    buf = malloc((size_t)st.st_size + 1u);
    if (buf == NULL) {
        err("out of memory");
        (void)fclose(f);
        return -1;
    }
    n = fread(buf, 1, (size_t)st.st_size, f);
    if (n != (size_t)st.st_size || ferror(f)) {
        err("cannot read %s: %s", path, strerror(errno));
        free(buf);
        (void)fclose(f);
        return -1;
    }
    if (fclose(f) != 0) {
        err("cannot read %s: %s", path, strerror(errno));
        free(buf);
        return -1;
    }
    *data = buf;
    *len = (uint32_t)n;
    return 0;
}

/* Write data to path through a temporary file and a rename, so a failure leaves no half file. */
static int write_file(const char *path, const void *data, size_t len)
{
    char tmp[MAX_PATH_LEN];
    FILE *f;
    int n = snprintf(tmp, sizeof(tmp), "%s.tmp%ld", path, (long)getpid());

    if (n < 0 || (size_t)n >= sizeof(tmp)) {
        err("output path too long: %s", path);
        return -1;
    }
    f = fopen(tmp, "wb");
    if (f == NULL) {
        err("cannot create %s: %s", tmp, strerror(errno));
        return -1;
    }
    if (fwrite(data, 1, len, f) != len || fflush(f) != 0) {
        err("cannot write %s: %s", tmp, strerror(errno));
        (void)fclose(f);
        (void)unlink(tmp);
        return -1;
    }
    if (fclose(f) != 0) {
        err("cannot write %s: %s", tmp, strerror(errno));
        (void)unlink(tmp);
        return -1;
    }
    if (rename(tmp, path) != 0) {
        err("cannot create %s: %s", path, strerror(errno));
        (void)unlink(tmp);
        return -1;
    }
    return 0;
}

/* ---- keys ---- */

/* Load an Ed25519 key from PEM: a private key (PKCS#8) or, if allowed, a public key (SPKI). */
static EVP_PKEY *load_key(const char *path, bool allow_public, bool *is_private)
{
    FILE *f = fopen(path, "rb");
    EVP_PKEY *pkey;
    struct stat st;

    if (f == NULL) {
        err("cannot open key %s: %s", path, strerror(errno));
        return NULL;
    }
    if (fstat(fileno(f), &st) != 0 || !S_ISREG(st.st_mode)) {
        err("cannot read key %s: not a regular file", path);
        (void)fclose(f);
        return NULL;
    }
    pkey = PEM_read_PrivateKey(f, NULL, NULL, NULL);
    *is_private = pkey != NULL;
    if (pkey == NULL && allow_public) {
        rewind(f);
        pkey = PEM_read_PUBKEY(f, NULL, NULL, NULL);
    }
    (void)fclose(f);
    if (pkey == NULL) {
        err("%s is not a PEM %s", path, allow_public ? "private or public key" : "private key");
        return NULL;
    }
    if (EVP_PKEY_get_base_id(pkey) != EVP_PKEY_ED25519) {
        err("%s is not an Ed25519 key (type %s)", path, OBJ_nid2sn(EVP_PKEY_get_base_id(pkey)));
        EVP_PKEY_free(pkey);
        return NULL;
    }
    return pkey;
}

static int key_raw_public(EVP_PKEY *pkey, uint8_t out[ED25519_RAW_LEN])
{
    size_t len = ED25519_RAW_LEN;
    if (EVP_PKEY_get_raw_public_key(pkey, out, &len) != 1 || len != ED25519_RAW_LEN) {
        err("cannot extract the public key");
        return -1;
    }
    return 0;
}

/* DER SubjectPublicKeyInfo (44 bytes for Ed25519), as OpenSSL encodes it. */
static int key_spki(EVP_PKEY *pkey, uint8_t out[ED25519_SPKI_LEN])
{
    unsigned char *p = out;
    int len = i2d_PUBKEY(pkey, NULL);
    if (len != (int)ED25519_SPKI_LEN || i2d_PUBKEY(pkey, &p) != len) {
        err("cannot encode the public key");
        return -1;
    }
    return 0;
}

static int sha256_openssl(const void *data, size_t len, uint8_t out[SHA256_LEN])
{
    unsigned int n = 0;
    if (EVP_Digest(data, len, out, &n, EVP_sha256(), NULL) != 1 || n != SHA256_LEN) {
        err("SHA-256 failed");
        return -1;
    }
    return 0;
}

static int ed25519_sign_openssl(EVP_PKEY *pkey, const uint8_t *msg, size_t len,
                                uint8_t sig[ED25519_SIG_LEN])
{
    EVP_MD_CTX *md = EVP_MD_CTX_new();
    size_t sig_len = ED25519_SIG_LEN;
    int ok = md != NULL && EVP_DigestSignInit(md, NULL, NULL, NULL, pkey) == 1 &&
             EVP_DigestSign(md, sig, &sig_len, msg, len) == 1 && sig_len == ED25519_SIG_LEN;
    EVP_MD_CTX_free(md);
    if (!ok) {
        err("Ed25519 signing failed");
        return -1;
    }
    return 0;
}

/* 1 valid, 0 invalid, -1 OpenSSL error. */
static int ed25519_verify_openssl(EVP_PKEY *pkey, const uint8_t *msg, size_t len,
                                  const uint8_t sig[ED25519_SIG_LEN])
{
    EVP_MD_CTX *md = EVP_MD_CTX_new();
    int rc;
    if (md == NULL || EVP_DigestVerifyInit(md, NULL, NULL, NULL, pkey) != 1) {
        EVP_MD_CTX_free(md);
        err("OpenSSL verify setup failed");
        return -1;
    }
    rc = EVP_DigestVerify(md, sig, ED25519_SIG_LEN, msg, len);
    EVP_MD_CTX_free(md);
    return rc == 1 ? 1 : 0;
}

/* ---- argument helpers ---- */

/* Unsigned decimal (or 0x hex) without sign, spaces or trailing characters. */
static bool parse_u32(const char *s, uint32_t max, uint32_t *out)
{
    unsigned long long v = 0;
    int base = 10;
    const char *p = s;

    if (s[0] == '0' && (s[1] == 'x' || s[1] == 'X')) {
        base = 16;
        p = s + 2;
    }
    if (*p == '\0') {
        return false;
    }
    for (; *p != '\0'; p++) {
        int d;
        if (isdigit((unsigned char)*p)) {
            d = *p - '0';
        } else if (base == 16 && isxdigit((unsigned char)*p)) {
            d = tolower((unsigned char)*p) - 'a' + 10;
        } else {
            return false;
        }
        v = v * (unsigned)base + (unsigned)d;
        if (v > max) {
            return false;
        }
    }
    *out = (uint32_t)v;
    return true;
}

/* Decimal digits only, up to the next separator; advances *s. */
static bool parse_field(const char **s, char sep, uint32_t max, uint32_t *out)
{
    unsigned long long v = 0;
    const char *p = *s;
    if (!isdigit((unsigned char)*p)) {
        return false;
    }
    for (; isdigit((unsigned char)*p); p++) {
        v = v * 10u + (unsigned)(*p - '0');
        if (v > max) {
            return false;
        }
    }
    if (*p != sep) {
        return false;
    }
    *s = (sep == '\0') ? p : p + 1;
    *out = (uint32_t)v;
    return true;
}

/* MAJOR.MINOR.REVISION[+BUILD] with u8.u8.u16+u32 ranges (imgtool's syntax; BUILD defaults to 0). */
static bool parse_version(const char *s, struct image_version *v)
{
    uint32_t major;
    uint32_t minor;
    uint32_t rev;
    uint32_t build = 0;
    bool has_build = strchr(s, '+') != NULL;

    if (!parse_field(&s, '.', UINT8_MAX, &major) || !parse_field(&s, '.', UINT8_MAX, &minor) ||
        !parse_field(&s, has_build ? '+' : '\0', UINT16_MAX, &rev)) {
        return false;
    }
    if (has_build && !parse_field(&s, '\0', UINT32_MAX, &build)) {
        return false;
    }
    v->iv_major = (uint8_t)major;
    v->iv_minor = (uint8_t)minor;
    v->iv_revision = (uint16_t)rev;
    v->iv_build_num = build;
    return true;
}

static bool is_c_identifier(const char *s)
{
    if (!(isalpha((unsigned char)s[0]) || s[0] == '_')) {
        return false;
    }
    for (const char *p = s + 1; *p != '\0'; p++) {
        if (!(isalnum((unsigned char)*p) || *p == '_')) {
            return false;
        }
    }
    return true;
}

/* Value of option argv[*i] (the next word); reports a missing value. */
static const char *opt_value(int argc, char **argv, int *i)
{
    if (*i + 1 >= argc) {
        err("option %s needs a value", argv[*i]);
        return NULL;
    }
    (*i)++;
    return argv[*i];
}

/* ---- keygen ---- */

static int cmd_keygen(int argc, char **argv)
{
    const char *out = NULL;
    EVP_PKEY *pkey;
    FILE *f;
    int fd;
    int ok;

    for (int i = 0; i < argc; i++) {
        if (strcmp(argv[i], "-o") == 0) {
            if ((out = opt_value(argc, argv, &i)) == NULL) {
                return EXIT_USAGE;
            }
        } else {
            err("unknown argument %s", argv[i]);
            return EXIT_USAGE;
        }
    }
    if (out == NULL) {
        err("missing -o KEY.pem");
        return EXIT_USAGE;
    }
    pkey = EVP_PKEY_Q_keygen(NULL, NULL, "ED25519");
    if (pkey == NULL) {
        err("key generation failed");
        return EXIT_FAILURE;
    }
    /* O_EXCL: never replace a key, which could be the only copy of a product's signing key. */
    fd = open(out, O_WRONLY | O_CREAT | O_EXCL, 0600);
    if (fd < 0) {
        err("cannot create %s: %s", out, errno == EEXIST ? "file exists (not overwritten)"
                                                          : strerror(errno));
        EVP_PKEY_free(pkey);
        return EXIT_FAILURE;
    }
    f = fdopen(fd, "w");
    if (f == NULL) {
        err("cannot write %s: %s", out, strerror(errno));
        (void)close(fd);
        (void)unlink(out);
        EVP_PKEY_free(pkey);
        return EXIT_FAILURE;
    }
    ok = PEM_write_PrivateKey(f, pkey, NULL, NULL, 0, NULL, NULL) == 1;
    ok = (fclose(f) == 0) && ok;
    EVP_PKEY_free(pkey);
    if (!ok) {
        err("cannot write %s", out);
        (void)unlink(out);
        return EXIT_FAILURE;
    }
    return EXIT_SUCCESS;
}

/* ---- getpub ---- */

static int cmd_getpub(int argc, char **argv)
{
    const char *key = NULL;
    const char *out = NULL;
    const char *name = "ota_pubkey";
    bool as_c = false;
    bool named = false;
    bool is_private;
    EVP_PKEY *pkey;
    uint8_t raw[ED25519_RAW_LEN];
    char text[1024];
    size_t len = 0;
    int rc = EXIT_FAILURE;

    for (int i = 0; i < argc; i++) {
        if (strcmp(argv[i], "-k") == 0) {
            if ((key = opt_value(argc, argv, &i)) == NULL) {
                return EXIT_USAGE;
            }
        } else if (strcmp(argv[i], "-o") == 0) {
            if ((out = opt_value(argc, argv, &i)) == NULL) {
                return EXIT_USAGE;
            }
        } else if (strcmp(argv[i], "--c") == 0) {
            as_c = true;
        } else if (strcmp(argv[i], "--name") == 0) {
            if ((name = opt_value(argc, argv, &i)) == NULL) {
                return EXIT_USAGE;
            }
            named = true;
        } else {
            err("unknown argument %s", argv[i]);
            return EXIT_USAGE;
        }
    }
    if (key == NULL) {
        err("missing -k KEY.pem");
        return EXIT_USAGE;
    }
    if (named && !as_c) {
        err("--name needs --c");
        return EXIT_USAGE;
    }
    if (!is_c_identifier(name)) {
        err("--name %s is not a C identifier", name);
        return EXIT_USAGE;
    }
    pkey = load_key(key, true, &is_private);
    if (pkey == NULL) {
        return EXIT_FAILURE;
    }
    if (as_c) {
        int n;
        if (key_raw_public(pkey, raw) != 0) {
            goto done;
        }
        n = snprintf(text, sizeof(text),
                     "/* Ed25519 public key, generated by otapack getpub. Do not edit. */\n"
                     "#include <stdint.h>\n\nconst uint8_t %s[32] = {",
                     name);
        if (n < 0 || (size_t)n >= sizeof(text)) {
            err("symbol name too long");
            goto done;
        }
        len = (size_t)n;
        for (size_t i = 0; i < ED25519_RAW_LEN; i++) {
            n = snprintf(text + len, sizeof(text) - len, "%s0x%02x,%s",
                         i % 8u == 0u ? "\n    " : " ", raw[i],
                         i + 1u < ED25519_RAW_LEN ? "" : "\n};\n");
            if (n < 0 || (size_t)n >= sizeof(text) - len) {
                err("symbol name too long");
                goto done;
            }
            len += (size_t)n;
        }
    } else {
        BIO *mem = BIO_new(BIO_s_mem());
        char *p = NULL;
        long n;
        if (mem == NULL || PEM_write_bio_PUBKEY(mem, pkey) != 1) {
            BIO_free(mem);
            err("cannot encode the public key");
            goto done;
        }
        n = BIO_get_mem_data(mem, &p);
        if (n <= 0 || (size_t)n >= sizeof(text)) {
            BIO_free(mem);
            err("cannot encode the public key");
            goto done;
        }
        memcpy(text, p, (size_t)n);
        len = (size_t)n;
        BIO_free(mem);
    }
    if (out != NULL) {
        if (write_file(out, text, len) != 0) {
            goto done;
        }
    } else if (fwrite(text, 1, len, stdout) != len || fflush(stdout) != 0) {
        err("cannot write to stdout");
        goto done;
    }
    rc = EXIT_SUCCESS;
done:
    EVP_PKEY_free(pkey);
    return rc;
}

/* ---- sign ---- */

struct sign_opts {
    const char *key;
    const char *in;
    const char *out;
    struct image_version ver;
    uint32_t hdr_size;
    bool have_version;
    bool full_key;
    bool have_sec_cnt;
    uint32_t sec_cnt;
};

static int sign_args(int argc, char **argv, struct sign_opts *o)
{
    const char *pos[2];
    int npos = 0;

    for (int i = 0; i < argc; i++) {
        const char *v;
        if (strcmp(argv[i], "-k") == 0) {
            if ((o->key = opt_value(argc, argv, &i)) == NULL) {
                return EXIT_USAGE;
            }
        } else if (strcmp(argv[i], "--version") == 0) {
            if ((v = opt_value(argc, argv, &i)) == NULL) {
                return EXIT_USAGE;
            }
            if (!parse_version(v, &o->ver)) {
                err("bad version '%s': want MAJOR.MINOR.REVISION+BUILD within 255.255.65535+%u", v,
                    UINT32_MAX);
                return EXIT_USAGE;
            }
            o->have_version = true;
        } else if (strcmp(argv[i], "--header-size") == 0) {
            if ((v = opt_value(argc, argv, &i)) == NULL) {
                return EXIT_USAGE;
            }
            if (!parse_u32(v, UINT32_MAX, &o->hdr_size) || o->hdr_size < IMAGE_HEADER_SIZE ||
                o->hdr_size > IMAGE_MAX_HDR_SIZE) {
                err("bad header size '%s': want %u..%u", v, IMAGE_HEADER_SIZE, IMAGE_MAX_HDR_SIZE);
                return EXIT_USAGE;
            }
        } else if (strcmp(argv[i], "--public-key-full") == 0) {
            o->full_key = true;
        } else if (strcmp(argv[i], "--security-counter") == 0) {
            if ((v = opt_value(argc, argv, &i)) == NULL) {
                return EXIT_USAGE;
            }
            if (!parse_u32(v, UINT32_MAX, &o->sec_cnt)) {
                err("bad security counter '%s'", v);
                return EXIT_USAGE;
            }
            o->have_sec_cnt = true;
        } else if (argv[i][0] == '-' && argv[i][1] != '\0') {
            err("unknown option %s", argv[i]);
            return EXIT_USAGE;
        } else if (npos < 2) {
            pos[npos++] = argv[i];
        } else {
            err("too many arguments");
            return EXIT_USAGE;
        }
    }
    if (o->key == NULL || !o->have_version || npos != 2) {
        err("need -k KEY.pem --version V IN.bin OUT.img");
        return EXIT_USAGE;
    }
    o->in = pos[0];
    o->out = pos[1];
    return 0;
}

/* Refuse to write over the input, whatever spelling of its path OUT uses. */
static int check_not_same_file(const char *in, const char *out)
{
    struct stat si;
    struct stat so;
    if (stat(in, &si) != 0) {
        err("cannot open %s: %s", in, strerror(errno));
        return -1;
    }
    if (stat(out, &so) == 0 && si.st_dev == so.st_dev && si.st_ino == so.st_ino) {
        err("output %s is the input file", out);
        return -1;
    }
    return 0;
}

static void put_tlv_hdr(uint8_t *p, uint16_t type, uint16_t len)
{
    ota_put_le16(&p[0], type);
    ota_put_le16(&p[2], len);
}

static int cmd_sign(int argc, char **argv)
{
    struct sign_opts o;
    EVP_PKEY *pkey = NULL;
    bool is_private = false;
    uint8_t *payload = NULL;
    uint8_t *img = NULL;
    uint32_t payload_len = 0;
    uint8_t digest[SHA256_LEN];
    uint8_t spki[ED25519_SPKI_LEN];
    uint8_t raw_pub[ED25519_RAW_LEN];
    uint32_t prot_size;
    uint32_t tlv_size;
    uint32_t body;
    uint32_t total;
    uint32_t p;
    struct image_header hdr;
    struct image_reader rd;
    struct image_buf buf;
    struct image_info info;
    int irc;
    int rc = EXIT_FAILURE;

    memset(&o, 0, sizeof(o));
    o.hdr_size = IMAGE_HEADER_SIZE;
    irc = sign_args(argc, argv, &o);
    if (irc != 0) {
        return irc;
    }
    if (check_not_same_file(o.in, o.out) != 0) {
        return EXIT_FAILURE;
    }
    pkey = load_key(o.key, false, &is_private);
    if (pkey == NULL) {
        return EXIT_FAILURE;
    }
    if (read_file(o.in, &payload, &payload_len) != 0) {
        goto done;
    }
    if (payload_len == 0u) {
        err("%s is empty", o.in);
        goto done;
    }
    if (payload_len >= 4u && ota_get_le32(payload) == IMAGE_MAGIC) {
        err("%s is already an image (starts with the MCUboot magic)", o.in);
        goto done;
    }

    prot_size = o.have_sec_cnt ? IMAGE_TLV_INFO_SIZE + IMAGE_TLV_HDR_SIZE + 4u : 0u;
    tlv_size = IMAGE_TLV_INFO_SIZE + (IMAGE_TLV_HDR_SIZE + SHA256_LEN) +
               (IMAGE_TLV_HDR_SIZE + (o.full_key ? ED25519_SPKI_LEN : SHA256_LEN)) +
               (IMAGE_TLV_HDR_SIZE + ED25519_SIG_LEN);
    if (payload_len > APP_SIZE - APP_DESC_SIZE) {
        err("payload %s is %" PRIu32 " bytes; the application slot holds at most %u", o.in,
            payload_len, APP_SIZE - APP_DESC_SIZE);
        goto done;
    }
    /* No overflow: each part is bounded above. */
    body = o.hdr_size + payload_len + prot_size;
    total = body + tlv_size;
    if (total > STAGING_SIZE) {
        err("image would be %" PRIu32 " bytes; the staging slot holds at most %u", total,
            STAGING_SIZE);
        goto done;
    }

    img = malloc(total);
    if (img == NULL) {
        err("out of memory");
        goto done;
    }
    memset(img, PAD_BYTE, o.hdr_size);
    memset(&hdr, 0, sizeof(hdr));
    hdr.ih_magic = IMAGE_MAGIC;
    hdr.ih_hdr_size = (uint16_t)o.hdr_size;
    hdr.ih_protect_tlv_size = (uint16_t)prot_size;
    hdr.ih_img_size = payload_len;
    hdr.ih_ver = o.ver;
    image_header_encode(&hdr, img);
    memcpy(img + o.hdr_size, payload, payload_len);
    p = o.hdr_size + payload_len;
    if (o.have_sec_cnt) {
        put_tlv_hdr(img + p, IMAGE_TLV_PROT_INFO_MAGIC, (uint16_t)prot_size);
        put_tlv_hdr(img + p + 4u, IMAGE_TLV_SEC_CNT, 4u);
        ota_put_le32(img + p + 8u, o.sec_cnt);
        p += prot_size;
    }

    /* The same TLVs in the same order as imgtool: SHA256, KEYHASH (or PUBKEY), ED25519. */
    if (sha256_openssl(img, body, digest) != 0 || key_spki(pkey, spki) != 0) {
        goto done;
    }
    put_tlv_hdr(img + p, IMAGE_TLV_INFO_MAGIC, (uint16_t)tlv_size);
    p += IMAGE_TLV_INFO_SIZE;
    put_tlv_hdr(img + p, IMAGE_TLV_SHA256, SHA256_LEN);
    memcpy(img + p + IMAGE_TLV_HDR_SIZE, digest, SHA256_LEN);
    p += IMAGE_TLV_HDR_SIZE + SHA256_LEN;
    if (o.full_key) {
        put_tlv_hdr(img + p, IMAGE_TLV_PUBKEY, ED25519_SPKI_LEN);
        memcpy(img + p + IMAGE_TLV_HDR_SIZE, spki, ED25519_SPKI_LEN);
        p += IMAGE_TLV_HDR_SIZE + ED25519_SPKI_LEN;
    } else {
        put_tlv_hdr(img + p, IMAGE_TLV_KEYHASH, SHA256_LEN);
        if (sha256_openssl(spki, sizeof(spki), img + p + IMAGE_TLV_HDR_SIZE) != 0) {
            goto done;
        }
        p += IMAGE_TLV_HDR_SIZE + SHA256_LEN;
    }
    put_tlv_hdr(img + p, IMAGE_TLV_ED25519, ED25519_SIG_LEN);
    if (ed25519_sign_openssl(pkey, digest, sizeof(digest), img + p + IMAGE_TLV_HDR_SIZE) != 0) {
        goto done;
    }
    p += IMAGE_TLV_HDR_SIZE + ED25519_SIG_LEN;
    OTA_ASSERT(p == total);

    /* What we hand out must pass the same checks the bootloader makes. */
    image_reader_init_buf(&rd, &buf, img, total);
    if (key_raw_public(pkey, raw_pub) != 0) {
        goto done;
    }
    irc = image_parse(&rd, &info);
    if (irc == IMAGE_OK) {
        irc = image_verify(&rd, &info, raw_pub, NULL);
    }
    if (irc != IMAGE_OK) {
        err("internal error: the new image fails validation: %s", image_strerror(irc));
        goto done;
    }
    if (write_file(o.out, img, total) != 0) {
        goto done;
    }
    rc = EXIT_SUCCESS;
done:
    free(img);
    free(payload);
    EVP_PKEY_free(pkey);
    return rc;
}

/* ---- verify ---- */

/* The independent check: a walk of the TLV areas written for this tool alone, SHA-256, the key
 * and the Ed25519 signature all from OpenSSL. Returns IMAGE_OK or the image_err it would map to;
 * structural problems map to IMAGE_ERR_TLV_LEN. */
static int verify_openssl(const uint8_t *img, uint32_t len, EVP_PKEY *pkey)
{
    const uint8_t *hash = NULL;
    const uint8_t *keyhash = NULL;
    const uint8_t *pubkey = NULL;
    const uint8_t *sig = NULL;
    uint16_t pubkey_len = 0;
    uint8_t digest[SHA256_LEN];
    uint8_t spki[ED25519_SPKI_LEN];
    uint8_t want_hash[SHA256_LEN];
    uint64_t off;
    uint64_t body;
    uint32_t hdr_size;
    uint32_t prot;

    if (len < IMAGE_HEADER_SIZE) {
        return IMAGE_ERR_TOO_BIG;
    }
    hdr_size = ota_get_le16(img + 8);
    prot = ota_get_le16(img + 10);
    body = (uint64_t)hdr_size + ota_get_le32(img + 12) + prot;
    off = (uint64_t)hdr_size + ota_get_le32(img + 12);
    /* Walk up to two areas: the protected one if announced, then the unprotected one. */
    for (int area = prot != 0u ? 0 : 1; area < 2; area++) {
        uint64_t end;
        if (off + 4u > len) {
            return IMAGE_ERR_TLV_LEN;
        }
        end = off + ota_get_le16(img + off + 2);
        if (end > len || end < off + 4u ||
            ota_get_le16(img + off) !=
                (area == 0 ? IMAGE_TLV_PROT_INFO_MAGIC : IMAGE_TLV_INFO_MAGIC)) {
            return IMAGE_ERR_TLV_LEN;
        }
        if (area == 0 && end != body) {
            return IMAGE_ERR_TLV_LEN;
        }
        for (off += 4u; off < end;) {
            uint16_t t;
            uint16_t l;
            if (off + 4u > end) {
                return IMAGE_ERR_TLV_LEN;
            }
            t = ota_get_le16(img + off);
            l = ota_get_le16(img + off + 2);
            if (off + 4u + l > end) {
                return IMAGE_ERR_TLV_LEN;
            }
            if (t == IMAGE_TLV_SHA256 && l == SHA256_LEN) {
                hash = img + off + 4;
            } else if (t == IMAGE_TLV_KEYHASH && l == SHA256_LEN) {
                keyhash = img + off + 4;
            } else if (t == IMAGE_TLV_PUBKEY) {
                pubkey = img + off + 4;
                pubkey_len = l;
            } else if (t == IMAGE_TLV_ED25519 && l == ED25519_SIG_LEN) {
                sig = img + off + 4;
            }
            off += 4u + l;
        }
    }
    if (hash == NULL) {
        return IMAGE_ERR_NO_HASH;
    }
    if (sha256_openssl(img, (size_t)body, digest) != 0) {
        return IMAGE_ERR_READ;
    }
    if (memcmp(digest, hash, SHA256_LEN) != 0) {
        return IMAGE_ERR_HASH;
    }
    if (sig == NULL) {
        return IMAGE_ERR_NO_SIG;
    }
    if (key_spki(pkey, spki) != 0 || sha256_openssl(spki, sizeof(spki), want_hash) != 0) {
        return IMAGE_ERR_READ;
    }
    if (keyhash == NULL && pubkey == NULL) {
        return IMAGE_ERR_NO_KEYHASH;
    }
    if ((keyhash != NULL && memcmp(keyhash, want_hash, SHA256_LEN) != 0) ||
        (pubkey != NULL &&
         (pubkey_len != ED25519_SPKI_LEN || memcmp(pubkey, spki, ED25519_SPKI_LEN) != 0))) {
        return IMAGE_ERR_KEYHASH;
    }
    switch (ed25519_verify_openssl(pkey, digest, sizeof(digest), sig)) {
    case 1:
        return IMAGE_OK;
    case 0:
        return IMAGE_ERR_SIG;
    default:
        return IMAGE_ERR_READ;
    }
}

/* lib/image verdicts that are about the signature chain, which OpenSSL judges too. */
static bool is_crypto_verdict(int rc)
{
    return rc == IMAGE_OK || rc == IMAGE_ERR_NO_HASH || rc == IMAGE_ERR_HASH ||
           rc == IMAGE_ERR_NO_SIG || rc == IMAGE_ERR_NO_KEYHASH || rc == IMAGE_ERR_KEYHASH ||
           rc == IMAGE_ERR_SIG;
}

static int cmd_verify(int argc, char **argv)
{
    const char *key = NULL;
    const char *path = NULL;
    bool is_private;
    EVP_PKEY *pkey = NULL;
    uint8_t *img = NULL;
    uint32_t len = 0;
    uint8_t raw_pub[ED25519_RAW_LEN];
    struct image_reader rd;
    struct image_buf buf;
    struct image_info info;
    int lib_rc;
    int ssl_rc;
    int rc = EXIT_FAILURE;

    for (int i = 0; i < argc; i++) {
        if (strcmp(argv[i], "-k") == 0) {
            if ((key = opt_value(argc, argv, &i)) == NULL) {
                return EXIT_USAGE;
            }
        } else if (argv[i][0] == '-' && argv[i][1] != '\0') {
            err("unknown option %s", argv[i]);
            return EXIT_USAGE;
        } else if (path == NULL) {
            path = argv[i];
        } else {
            err("too many arguments");
            return EXIT_USAGE;
        }
    }
    if (key == NULL || path == NULL) {
        err("need -k KEY.pem IMG");
        return EXIT_USAGE;
    }
    pkey = load_key(key, true, &is_private);
    if (pkey == NULL) {
        return EXIT_FAILURE;
    }
    if (key_raw_public(pkey, raw_pub) != 0 || read_file(path, &img, &len) != 0) {
        goto done;
    }
    if (len > STAGING_SIZE) {
        err("%s is %" PRIu32 " bytes; the staging slot holds at most %u", path, len,
            STAGING_SIZE);
        goto done;
    }
    image_reader_init_buf(&rd, &buf, img, len);
    lib_rc = image_parse(&rd, &info);
    if (lib_rc == IMAGE_OK) {
        lib_rc = image_verify(&rd, &info, raw_pub, NULL);
    }
    ssl_rc = verify_openssl(img, len, pkey);
    if (is_crypto_verdict(lib_rc) && (lib_rc == IMAGE_OK) != (ssl_rc == IMAGE_OK)) {
        err("%s: lib/image says \"%s\" but OpenSSL says \"%s\"", path, image_strerror(lib_rc),
            image_strerror(ssl_rc));
        rc = EXIT_DISAGREE;
        goto done;
    }
    if (lib_rc != IMAGE_OK) {
        err("%s: invalid image: %s (%d)", path, image_strerror(lib_rc), lib_rc);
        goto done;
    }
    printf("%s: valid (lib/image and OpenSSL agree), %" PRIu32 " bytes\n", path, info.tlv_end);
    if (info.tlv_end < len) {
        printf("%s: %" PRIu32 " bytes after the TLV area are not part of the image\n", path,
               len - info.tlv_end);
    }
    if (fflush(stdout) != 0) {
        err("cannot write to stdout");
        goto done;
    }
    rc = EXIT_SUCCESS;
done:
    free(img);
    EVP_PKEY_free(pkey);
    return rc;
}

/* ---- info ---- */

static const char *tlv_name(uint16_t type)
{
    switch (type) {
    case IMAGE_TLV_KEYHASH:
        return "KEYHASH";
    case IMAGE_TLV_PUBKEY:
        return "PUBKEY";
    case IMAGE_TLV_SHA256:
        return "SHA256";
    case IMAGE_TLV_SHA384:
        return "SHA384";
    case IMAGE_TLV_SHA512:
        return "SHA512";
    case IMAGE_TLV_ECDSA_SIG:
        return "ECDSA_SIG";
    case IMAGE_TLV_ED25519:
        return "ED25519";
    case IMAGE_TLV_SIG_PURE:
        return "SIG_PURE";
    case IMAGE_TLV_SEC_CNT:
        return "SEC_CNT";
    default:
        return "UNKNOWN";
    }
}

static void print_hex(const uint8_t *p, uint32_t n)
{
    for (uint32_t i = 0; i < n; i++) {
        printf("%02x", p[i]);
    }
}

static int cmd_info(int argc, char **argv)
{
    const char *path = NULL;
    bool json = false;
    uint8_t *img = NULL;
    uint32_t len = 0;
    struct image_reader rd;
    struct image_buf buf;
    struct image_info info;
    struct image_tlv_iter it;
    uint8_t digest[SHA256_LEN];
    uint32_t hoff;
    uint16_t hlen;
    uint32_t off;
    uint16_t tlen;
    uint16_t type;
    bool first = true;
    bool hash_ok;
    int irc;
    int rc = EXIT_FAILURE;

    for (int i = 0; i < argc; i++) {
        if (strcmp(argv[i], "--json") == 0) {
            json = true;
        } else if (argv[i][0] == '-' && argv[i][1] != '\0') {
            err("unknown option %s", argv[i]);
            return EXIT_USAGE;
        } else if (path == NULL) {
            path = argv[i];
        } else {
            err("too many arguments");
            return EXIT_USAGE;
        }
    }
    if (path == NULL) {
        err("need IMG");
        return EXIT_USAGE;
    }
    if (read_file(path, &img, &len) != 0) {
        return EXIT_FAILURE;
    }
    image_reader_init_buf(&rd, &buf, img, len);
    irc = image_parse(&rd, &info);
    if (irc == IMAGE_OK) {
        irc = image_hash(&rd, &info, digest);
    }
    if (irc != IMAGE_OK) {
        err("%s: %s (%d)", path, image_strerror(irc), irc);
        goto done;
    }
    irc = image_tlv_find(&rd, &info, IMAGE_TLV_SHA256, &hoff, &hlen);
    if (irc < 0) {
        err("%s: %s (%d)", path, image_strerror(irc), irc);
        goto done;
    }
    hash_ok = irc == 0 && hlen == SHA256_LEN && memcmp(img + hoff, digest, SHA256_LEN) == 0;

    if (json) {
        printf("{\n  \"magic\": %" PRIu32 ",\n  \"load_addr\": %" PRIu32 ",\n  \"hdr_size\": %u,\n"
               "  \"protect_tlv_size\": %u,\n  \"img_size\": %" PRIu32 ",\n  \"flags\": %" PRIu32
               ",\n  \"version\": \"%u.%u.%u+%" PRIu32 "\",\n  \"total_size\": %" PRIu32
               ",\n  \"file_size\": %" PRIu32 ",\n  \"hash\": \"",
               info.hdr.ih_magic, info.hdr.ih_load_addr, info.hdr.ih_hdr_size,
               info.hdr.ih_protect_tlv_size, info.hdr.ih_img_size, info.hdr.ih_flags,
               info.hdr.ih_ver.iv_major, info.hdr.ih_ver.iv_minor, info.hdr.ih_ver.iv_revision,
               info.hdr.ih_ver.iv_build_num, info.tlv_end, len);
        print_hex(digest, SHA256_LEN);
        printf("\",\n  \"hash_ok\": %s,\n  \"tlvs\": [", hash_ok ? "true" : "false");
    } else {
        printf("magic:            0x%08" PRIx32 "\nload_addr:        0x%08" PRIx32
               "\nhdr_size:         %u\nprotect_tlv_size: %u\nimg_size:         %" PRIu32
               "\nflags:            0x%08" PRIx32 "\nversion:          %u.%u.%u+%" PRIu32
               "\ntotal_size:       %" PRIu32 "\nfile_size:        %" PRIu32 "\nhash:             ",
               info.hdr.ih_magic, info.hdr.ih_load_addr, info.hdr.ih_hdr_size,
               info.hdr.ih_protect_tlv_size, info.hdr.ih_img_size, info.hdr.ih_flags,
               info.hdr.ih_ver.iv_major, info.hdr.ih_ver.iv_minor, info.hdr.ih_ver.iv_revision,
               info.hdr.ih_ver.iv_build_num, info.tlv_end, len);
        print_hex(digest, SHA256_LEN);
        printf(" (%s)\ntlvs:\n", hash_ok ? "matches SHA256 TLV" : "DOES NOT match SHA256 TLV");
    }
    irc = image_tlv_iter_begin(&it, &rd, &info, IMAGE_TLV_ANY, false);
    while (irc == IMAGE_OK && (irc = image_tlv_iter_next(&it, &off, &tlen, &type)) == 0) {
        bool prot = image_tlv_iter_is_prot(&it, off);
        if (json) {
            printf("%s\n    {\"type\": %u, \"name\": \"%s\", \"len\": %u, \"protected\": %s, "
                   "\"value\": \"",
                   first ? "" : ",", type, tlv_name(type), tlen, prot ? "true" : "false");
            print_hex(img + off, tlen);
            printf("\"}");
        } else {
            printf("  0x%04x %-9s len %-3u %s ", type, tlv_name(type), tlen,
                   prot ? "protected  " : "unprotected");
            print_hex(img + off, tlen);
            printf("\n");
        }
        first = false;
    }
    if (irc < 0) {
        /* image_parse() walked the same TLVs already: this cannot fail on a parsed image. */
        err("%s: %s (%d)", path, image_strerror(irc), irc);
        goto done;
    }
    if (json) {
        printf("\n  ]\n}\n");
    }
    if (fflush(stdout) != 0) {
        err("cannot write to stdout");
        goto done;
    }
    rc = EXIT_SUCCESS;
done:
    free(img);
    return rc;
}

int main(int argc, char **argv)
{
    static const struct {
        const char *name;
        int (*fn)(int argc, char **argv);
    } cmds[] = {
        {"keygen", cmd_keygen}, {"getpub", cmd_getpub}, {"sign", cmd_sign},
        {"verify", cmd_verify}, {"info", cmd_info},
    };

    if (argc < 2) {
        usage();
        return EXIT_USAGE;
    }
    for (size_t i = 0; i < OTA_ARRAY_SIZE(cmds); i++) {
        if (strcmp(argv[1], cmds[i].name) == 0) {
            prog_cmd = cmds[i].name;
            return cmds[i].fn(argc - 2, argv + 2);
        }
    }
    if (strcmp(argv[1], "-h") == 0 || strcmp(argv[1], "--help") == 0) {
        usage();
        return EXIT_SUCCESS;
    }
    err("unknown command %s", argv[1]);
    usage();
    return EXIT_USAGE;
}
