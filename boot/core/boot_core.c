/* Portable bootloader core: recover, validate, install, verify (docs/boot-state.md). */
#include "boot_core.h"

#include "bootctl.h"
#include "flash_area.h"
#include "flash_layout.h"
#include "ota_util.h"

#include <stddef.h>
#include <string.h>

/* Copy chunk (on the stack) and how often long reads/copies kick the watchdog. */
#define BOOT_CHUNK 256u
#define BOOT_KICK_BYTES 0x2000u

/* Work areas (not on the stack): the new header area and descriptor, the installed descriptor. */
static uint8_t boot_hdr_area[BOOTCTL_HDR_AREA_SIZE];
static uint8_t boot_desc[APP_DESC_SIZE];
static uint8_t boot_desc_found[APP_DESC_SIZE]; /* recovery reads here, bootctl_layout writes boot_desc */
static char boot_line[96];

struct boot_ctx {
    const struct boot_hooks *hooks;
    struct boot_outcome *out;
};

/* ---- logging without printf ---- */

static size_t boot_append_str(size_t pos, const char *s)
{
    while (*s != '\0' && pos + 1u < sizeof boot_line) {
        boot_line[pos++] = *s++;
    }
    boot_line[pos] = '\0';
    return pos;
}

static size_t boot_append_dec(size_t pos, uint32_t v)
{
    char tmp[11];
    size_t n = 0;
    do {
        tmp[n++] = (char)('0' + v % 10u);
        v /= 10u;
    } while (v != 0u);
    while (n > 0u && pos + 1u < sizeof boot_line) {
        boot_line[pos++] = tmp[--n];
    }
    boot_line[pos] = '\0';
    return pos;
}

/* Every line starts with "boot: ", kept once here rather than in each message. */
static size_t boot_line_start(const char *text)
{
    return boot_append_str(boot_append_str(0, "boot: "), text);
}

static void boot_log(const struct boot_ctx *c, const char *msg)
{
    (void)boot_line_start(msg);
    c->hooks->log(c->hooks->ctx, boot_line);
}

/* "boot: <prefix><reason name> (<code>)" */
static void boot_log_reason(const struct boot_ctx *c, const char *prefix, int reason)
{
    c->hooks->log(c->hooks->ctx, boot_reason_line(prefix, reason));
}

static void boot_log_version(const struct boot_ctx *c, const char *prefix,
                             const struct image_version *v)
{
    size_t pos = boot_line_start(prefix);
    pos = boot_append_dec(pos, v->iv_major);
    pos = boot_append_str(pos, ".");
    pos = boot_append_dec(pos, v->iv_minor);
    pos = boot_append_str(pos, ".");
    pos = boot_append_dec(pos, v->iv_revision);
    pos = boot_append_str(pos, "+");
    (void)boot_append_dec(pos, v->iv_build_num);
    c->hooks->log(c->hooks->ctx, boot_line);
}

/* The names of reasons 0..BOOT_R_DESC_SIZE in order, each ended by its NUL: one string instead of
 * a table of pointers (108 bytes fewer in the bootloader). BOOT_LOG_SHORT: short names
 * (docs/port-stm32f446.md, "Bootloader log lines"). */
static const char boot_reason_names[] =
#if BOOT_LOG_SHORT
    "ok\0read error\0bad magic\0bad hdr size\0empty\0too big\0bad flags\0bad TLV magic\0"
    "bad TLV len\0bad TLV size\0no hash\0bad hash\0no signature\0no key\0wrong key\0"
    "bad signature\0dup TLV\0downgrade\0bad vectors\0not requested\0incomplete\0"
    "bad image\0no app\0app invalid\0write error\0copy differs\0desc too big\0?";
#else
    "ok\0flash read failed\0bad image magic\0bad header size\0empty payload\0"
    "image exceeds its slot\0unsupported image flags\0bad TLV info magic\0bad TLV length\0"
    "bad protected TLV size\0no SHA-256 TLV\0SHA-256 mismatch\0no signature\0no key hash\0"
    "key hash is not ours\0signature invalid\0duplicate TLV\0version not newer\0"
    "bad vector table\0not the requested image\0staged image incomplete\0invalid image\0"
    "no application\0application invalid\0flash write failed\0copy does not verify\0"
    "descriptor too large\0unknown";
#endif

const char *boot_reason_str(int reason)
{
    const char *s = boot_reason_names;
    /* Out of range: step past all names to the last one, "unknown". */
    unsigned n = (reason >= BOOT_OK && reason <= BOOT_R_DESC_SIZE) ? (unsigned)reason
                                                                   : BOOT_R_DESC_SIZE + 1u;
    while (n-- > 0u) {
        s += strlen(s) + 1u;
    }
    return s;
}

const char *boot_reason_line(const char *prefix, int reason)
{
    size_t pos = boot_line_start(prefix);
    pos = boot_append_str(pos, boot_reason_str(reason));
    pos = boot_append_str(pos, " (");
    pos = boot_append_dec(pos, (uint32_t)reason);
    (void)boot_append_str(pos, ")");
    return boot_line;
}

/* Image errors -1 .. -16 are the reasons 1 .. 16 negated (checked below). */
#define BOOT_SAME_CODE(name) _Static_assert(BOOT_R_##name == -IMAGE_ERR_##name, #name)
BOOT_SAME_CODE(READ);
BOOT_SAME_CODE(MAGIC);
BOOT_SAME_CODE(HDR_SIZE);
BOOT_SAME_CODE(EMPTY);
BOOT_SAME_CODE(TOO_BIG);
BOOT_SAME_CODE(FLAGS);
BOOT_SAME_CODE(TLV_MAGIC);
BOOT_SAME_CODE(TLV_LEN);
BOOT_SAME_CODE(PROT_SIZE);
BOOT_SAME_CODE(NO_HASH);
BOOT_SAME_CODE(HASH);
BOOT_SAME_CODE(NO_SIG);
BOOT_SAME_CODE(NO_KEYHASH);
BOOT_SAME_CODE(KEYHASH);
BOOT_SAME_CODE(SIG);
BOOT_SAME_CODE(TLV_DUP);

static int boot_reason_of(int image_err)
{
    if (image_err == IMAGE_OK) {
        return BOOT_OK;
    }
    if (image_err >= IMAGE_ERR_TLV_DUP && image_err <= IMAGE_ERR_READ) {
        return -image_err;
    }
    return image_err == IMAGE_ERR_DESC_SIZE ? BOOT_R_DESC_SIZE : BOOT_R_IMAGE;
}

bool boot_vector_ok(uint32_t sp, uint32_t reset, uint32_t payload_size)
{
    if (sp <= SRAM_BASE_ADDR || sp > SRAM_BASE_ADDR + SRAM_TOTAL_SIZE || sp % 8u != 0u) {
        return false;
    }
    if ((reset & 1u) == 0u) {
        return false; /* Thumb bit */
    }
    uint32_t pc = reset & ~1u;
    return pc >= APP_ADDR && pc - APP_ADDR < payload_size;
}

/* ---- a reader that kicks the watchdog while hashes stream through it ---- */

struct boot_kick_reader {
    const struct image_reader *inner;
    const struct boot_hooks *hooks;
    uint32_t since_kick;
};

static int boot_kick_read(void *ctx, uint32_t off, void *dst, uint32_t len)
{
    struct boot_kick_reader *k = (struct boot_kick_reader *)ctx;
    k->since_kick += len;
    if (k->since_kick >= BOOT_KICK_BYTES) {
        k->since_kick = 0;
        k->hooks->kick(k->hooks->ctx);
    }
    return k->inner->read(k->inner->ctx, off, dst, len);
}

static void boot_kick_wrap(struct boot_kick_reader *k, struct image_reader *rd,
                           const struct image_reader *inner, const struct boot_hooks *hooks)
{
    k->inner = inner;
    k->hooks = hooks;
    k->since_kick = 0;
    rd->read = boot_kick_read;
    rd->ctx = k;
    rd->size = inner->size;
}

static bool boot_word_erased(const struct image_reader *rd, uint32_t off)
{
    uint8_t w[4];
    if (off > rd->size || rd->size - off < 4u || rd->read(rd->ctx, off, w, 4) != 0) {
        return false;
    }
    return ota_get_le32(w) == 0xFFFFFFFFu;
}

static void boot_version_of(const struct bootctl_header *h, struct image_version *v)
{
    v->iv_major = (uint8_t)(h->version_word >> 24);
    v->iv_minor = (uint8_t)(h->version_word >> 16);
    v->iv_revision = (uint16_t)h->version_word;
    v->iv_build_num = h->build;
}

/* Vector table at the start of the payload, read through rd. */
static int boot_check_vectors(const struct image_reader *rd, const struct image_info *info)
{
    uint8_t v[8];
    if (info->hdr.ih_img_size < sizeof v) {
        return BOOT_R_VECTOR;
    }
    if (rd->read(rd->ctx, info->hdr.ih_hdr_size, v, sizeof v) != 0) {
        return BOOT_R_READ;
    }
    return boot_vector_ok(ota_get_le32(&v[0]), ota_get_le32(&v[4]), info->hdr.ih_img_size)
               ? BOOT_OK
               : BOOT_R_VECTOR;
}

/* ---- step 1: rebuild sector 2 from the application area ---- */

static int boot_recover(struct boot_ctx *c)
{
    const struct flash_area *fa;
    if (flash_area_open(FLASH_AREA_APP, &fa) != FLASH_AREA_OK) {
        return BOOT_R_FLASH;
    }
    int last = BOOT_R_NO_APP;
    /* The descriptor sits at the end of sector 6 (payload <= 126 KB) or of sector 7. */
    for (uint32_t s_end = fa->fa_size; s_end > 0;) {
        uint32_t s_off;
        uint32_t s_size;
        if (flash_area_sector_at(fa, s_end - 1u, &s_off, &s_size) != FLASH_AREA_OK) {
            return BOOT_R_FLASH;
        }
        uint32_t doff = s_end - APP_DESC_SIZE;
        s_end = s_off;
        if (flash_area_read(fa, doff, boot_desc_found, APP_DESC_SIZE) != FLASH_AREA_OK) {
            return BOOT_R_READ;
        }
        if (ota_get_le32(boot_desc_found) != IMAGE_MAGIC) {
            continue;
        }
        struct bootctl_app_reader actx;
        struct image_reader app;
        uint32_t want_off;
        struct image_header h;
        image_header_parse(boot_desc_found, &h);
        if (h.ih_img_size == 0u || bootctl_desc_app_off(h.ih_img_size, &want_off) != BOOTCTL_OK ||
            want_off != doff ||
            bootctl_app_reader_init(&actx, &app, boot_desc_found, APP_DESC_SIZE) != BOOTCTL_OK) {
            continue;
        }
        struct boot_kick_reader k;
        struct image_reader rd;
        boot_kick_wrap(&k, &rd, &app, c->hooks);
        struct image_info info;
        int rc = image_parse(&rd, &info);
        if (rc == IMAGE_OK) {
            rc = image_verify(&rd, &info, boot_pubkey, NULL);
        }
        if (rc != IMAGE_OK) {
            last = boot_reason_of(rc);
            boot_log_reason(
                c, BOOT_MSG("application-area descriptor rejected: ", "descriptor rejected: "),
                last);
            continue;
        }
        uint32_t dlen;
        uint32_t dapp;
        rc = bootctl_layout(&rd, BOOTCTL_RESULT_RECOVERED, boot_hdr_area, boot_desc, &dlen, &dapp);
        if (rc != BOOTCTL_OK) {
            last = rc == BOOTCTL_ERR_DESC ? BOOT_R_DESC_SIZE : BOOT_R_READ;
            continue;
        }
        c->hooks->kick(c->hooks->ctx);
        if (bootctl_header_write(boot_hdr_area) != BOOTCTL_OK) {
            return BOOT_R_FLASH;
        }
        c->hooks->kick(c->hooks->ctx);
        return BOOT_OK;
    }
    return last;
}

/* ---- step 2: validate the staged image in place ---- */

static int boot_validate_staged(const struct bootctl_scan *scan, struct image_reader *rd,
                                struct image_info *info, uint8_t digest[32])
{
    uint8_t w[4];
    if (rd->read(rd->ctx, 0, w, sizeof w) != 0) {
        return BOOT_R_READ;
    }
    if (ota_get_le32(w) == 0xFFFFFFFFu) {
        return BOOT_R_INCOMPLETE;
    }
    int rc = image_parse(rd, info);
    if (rc == IMAGE_OK && (info->hdr.ih_flags & ~IMAGE_F_PIC) != 0u) {
        rc = IMAGE_ERR_FLAGS;
    }
    if (rc == IMAGE_OK) {
        rc = image_verify(rd, info, boot_pubkey, digest);
    }
    if (rc != IMAGE_OK) {
        /* A download that stopped early leaves the end of what the request named erased. */
        if (scan->pending_size >= 4u && boot_word_erased(rd, scan->pending_size - 4u)) {
            return BOOT_R_INCOMPLETE;
        }
        return boot_reason_of(rc);
    }
    if (info->tlv_end != scan->pending_size ||
        memcmp(digest, scan->pending_hash, BOOTCTL_HASH_ID_SIZE) != 0) {
        return BOOT_R_PENDING;
    }
    if (info->hdr.ih_hdr_size + (info->tlv_end - info->prot_tlv_off) > BOOTCTL_DESC_MAX) {
        return BOOT_R_DESC_SIZE;
    }
    if (scan->hdr_valid) {
        struct image_version inst;
        boot_version_of(&scan->hdr, &inst);
        int cmp = image_version_cmp(&info->hdr.ih_ver, &inst);
        if (cmp < 0 || (cmp == 0 && (scan->pending_flags & BOOTCTL_PENDING_ALLOW_EQUAL) == 0u)) {
            return BOOT_R_DOWNGRADE;
        }
    }
    return boot_check_vectors(rd, info);
}

/* ---- step 2b: install ---- */

/* 1 if the application area already holds this payload and descriptor, 0 if not. */
static int boot_app_holds(struct boot_ctx *c, uint32_t dlen, uint32_t dapp,
                          const uint8_t digest[32])
{
    const struct flash_area *fa;
    if (flash_area_open(FLASH_AREA_APP, &fa) != FLASH_AREA_OK) {
        return 0;
    }
    uint8_t buf[BOOT_CHUNK];
    for (uint32_t done = 0; done < dlen;) {
        uint32_t n = dlen - done < BOOT_CHUNK ? dlen - done : BOOT_CHUNK;
        if (flash_area_read(fa, dapp + done, buf, n) != FLASH_AREA_OK ||
            memcmp(buf, &boot_desc[done], n) != 0) {
            return 0;
        }
        done += n;
    }
    struct bootctl_app_reader actx;
    struct image_reader app;
    if (bootctl_app_reader_init(&actx, &app, boot_desc, dlen) != BOOTCTL_OK) {
        return 0;
    }
    struct boot_kick_reader k;
    struct image_reader rd;
    boot_kick_wrap(&k, &rd, &app, c->hooks);
    struct image_info info;
    uint8_t got[32];
    if (image_parse(&rd, &info) != IMAGE_OK || image_hash(&rd, &info, got) != IMAGE_OK) {
        return 0;
    }
    return memcmp(got, digest, sizeof got) == 0 ? 1 : 0;
}

static int boot_copy(struct boot_ctx *c, const struct image_reader *staged,
                     const struct image_info *info, uint32_t dlen, uint32_t dapp)
{
    const struct flash_area *fa;
    if (flash_area_open(FLASH_AREA_APP, &fa) != FLASH_AREA_OK) {
        return BOOT_R_FLASH;
    }
    /* Erase only the sectors the payload and the descriptor occupy, one at a time. */
    for (uint32_t pos = 0; pos < dapp + APP_DESC_SIZE;) {
        uint32_t s_off;
        uint32_t s_size;
        c->hooks->kick(c->hooks->ctx);
        if (flash_area_sector_at(fa, pos, &s_off, &s_size) != FLASH_AREA_OK ||
            flash_area_erase(fa, s_off, s_size) != FLASH_AREA_OK) {
            return BOOT_R_FLASH;
        }
        pos = s_off + s_size;
    }
    c->hooks->kick(c->hooks->ctx);
    const uint32_t size = info->hdr.ih_img_size;
    uint8_t buf[BOOT_CHUNK];
    for (uint32_t done = 0; done < size;) {
        uint32_t n = size - done < BOOT_CHUNK ? size - done : BOOT_CHUNK;
        if (staged->read(staged->ctx, info->hdr.ih_hdr_size + done, buf, n) != 0) {
            return BOOT_R_READ;
        }
        uint32_t wn = n;
        while (wn % 4u != 0u && wn < BOOT_CHUNK) {
            buf[wn++] = FLASH_ERASED_BYTE; /* the last word is padded with erased bytes */
        }
        if (flash_area_write(fa, done, buf, wn) != FLASH_AREA_OK) {
            return BOOT_R_FLASH;
        }
        uint32_t before = done;
        done += n;
        if (before / BOOT_KICK_BYTES != done / BOOT_KICK_BYTES) {
            c->hooks->kick(c->hooks->ctx);
            if (c->hooks->progress != NULL) {
                c->hooks->progress(c->hooks->ctx, done, size);
            }
        }
    }
    if (c->hooks->progress != NULL) {
        c->hooks->progress(c->hooks->ctx, size, size);
    }
    if (flash_area_write(fa, dapp, boot_desc, dlen) != FLASH_AREA_OK) {
        return BOOT_R_FLASH;
    }
    return BOOT_OK;
}

static int boot_install(struct boot_ctx *c, const struct image_reader *staged,
                        const struct image_info *info, const uint8_t digest[32])
{
    uint32_t dlen;
    uint32_t dapp;
    int rc = bootctl_layout(staged, BOOTCTL_RESULT_INSTALLED, boot_hdr_area, boot_desc, &dlen,
                            &dapp);
    if (rc != BOOTCTL_OK) {
        return rc == BOOTCTL_ERR_DESC ? BOOT_R_DESC_SIZE : BOOT_R_READ;
    }
    if (boot_app_holds(c, dlen, dapp, digest) == 1) {
        boot_log(c,
                 BOOT_MSG("application area already holds the staged image", "already installed"));
    } else {
        /* A copy that does not read back right is tried once more before giving up; the PENDING
         * record stays, so the next reset tries again too. */
        int attempt = 0;
        for (;;) {
            boot_log(c, BOOT_MSG("installing staged image", "installing"));
            rc = boot_copy(c, staged, info, dlen, dapp);
            if (rc == BOOT_OK) {
                rc = boot_app_holds(c, dlen, dapp, digest) == 1 ? BOOT_OK : BOOT_R_COPY_VERIFY;
            }
            if (rc == BOOT_OK || ++attempt >= 2) {
                break;
            }
            boot_log_reason(c, BOOT_MSG("install failed, retrying: ", "install retry: "), rc);
        }
        if (rc != BOOT_OK) {
            return rc;
        }
    }
    /* The application area now holds a verified copy: sector 2 may be erased. */
    c->hooks->kick(c->hooks->ctx);
    if (bootctl_header_write(boot_hdr_area) != BOOTCTL_OK) {
        return BOOT_R_FLASH;
    }
    return BOOT_OK;
}

/* ---- step 3: verify what is installed ---- */

static int boot_verify_installed(struct boot_ctx *c, const struct bootctl_scan *scan)
{
    if (!scan->hdr_valid) {
        return BOOT_R_NO_APP;
    }
    const struct flash_area *hfa;
    if (flash_area_open(FLASH_AREA_APPHDR, &hfa) != FLASH_AREA_OK ||
        flash_area_read(hfa, BOOTCTL_DESC_OFF, boot_desc, scan->hdr.desc_len) != FLASH_AREA_OK) {
        return BOOT_R_READ;
    }
    struct bootctl_app_reader actx;
    struct image_reader app;
    if (bootctl_app_reader_init(&actx, &app, boot_desc, scan->hdr.desc_len) != BOOTCTL_OK ||
        actx.payload_size != scan->hdr.payload_size) {
        return BOOT_R_APP_INVALID;
    }
    struct boot_kick_reader k;
    struct image_reader rd;
    boot_kick_wrap(&k, &rd, &app, c->hooks);
    struct image_info info;
    int rc = image_parse(&rd, &info);
    if (rc == IMAGE_OK) {
        rc = image_verify(&rd, &info, boot_pubkey, NULL);
    }
    if (rc != IMAGE_OK) {
        boot_log_reason(c, BOOT_MSG("installed application rejected: ", "app rejected: "),
                        boot_reason_of(rc));
        return BOOT_R_APP_INVALID;
    }
    if (image_version_word(&info.hdr.ih_ver) != scan->hdr.version_word ||
        info.hdr.ih_ver.iv_build_num != scan->hdr.build) {
        return BOOT_R_APP_INVALID;
    }
    rc = boot_check_vectors(&rd, &info);
    if (rc != BOOT_OK) {
        boot_log_reason(c, BOOT_MSG("installed application rejected: ", "app rejected: "), rc);
        return BOOT_R_APP_INVALID;
    }
    c->out->version = info.hdr.ih_ver;
    return BOOT_OK;
}

int boot_run(const struct boot_hooks *hooks, struct boot_outcome *out)
{
    if (out == NULL) {
        return BOOT_ERR_ARG;
    }
    memset(out, 0, sizeof *out);
    if (hooks == NULL || hooks->log == NULL || hooks->kick == NULL) {
        out->reason = BOOT_R_NO_APP;
        return BOOT_ERR_ARG;
    }
    struct boot_ctx c = {hooks, out};
    struct bootctl_scan scan;

    if (bootctl_scan(&scan) != BOOTCTL_OK) {
        out->reason = BOOT_R_READ;
        boot_log(&c, BOOT_MSG("cannot read sector 2", "sector 2 unreadable"));
        return BOOT_ERR_NO_APP;
    }
    if (!scan.hdr_valid) {
        boot_log(&c, BOOT_MSG("no valid header in sector 2, looking for the application descriptor",
                              "no header"));
        int rc = boot_recover(&c);
        if (rc == BOOT_OK) {
            out->action = BOOT_ACTION_RECOVERED;
            boot_log(&c, "header rebuilt from the application area");
            if (bootctl_scan(&scan) != BOOTCTL_OK) {
                out->reason = BOOT_R_READ;
                return BOOT_ERR_NO_APP;
            }
        } else {
            boot_log_reason(&c, BOOT_MSG("header not recovered: ", "not recovered: "), rc);
        }
    }

    if (scan.pending_valid) {
        boot_log(&c, BOOT_MSG("update pending, validating the staged image", "update pending"));
        struct image_reader staged_raw;
        struct image_reader staged;
        struct boot_kick_reader k;
        struct image_info info;
        uint8_t digest[32];
        int rc = bootctl_area_reader_init(FLASH_AREA_STAGING, &staged_raw);
        if (rc == BOOTCTL_OK) {
            boot_kick_wrap(&k, &staged, &staged_raw, hooks);
            rc = boot_validate_staged(&scan, &staged, &info, digest);
        } else {
            rc = BOOT_R_READ;
        }
        if (rc != BOOT_OK) {
            boot_log_reason(&c, "staged image rejected: ", rc);
            out->action = BOOT_ACTION_REJECTED;
            out->reject_reason = rc;
            struct bootctl_record r;
            memset(&r, 0, sizeof r);
            r.type = BOOTCTL_REC_REJECTED;
            memcpy(r.body, scan.pending_hash, BOOTCTL_HASH_ID_SIZE);
            ota_put_le32(&r.body[16], (uint32_t)rc);
            if (bootctl_append(&scan, &r) != BOOTCTL_OK) {
                boot_log(&c, BOOT_MSG("could not record the rejection", "rejection not recorded"));
            }
        } else {
            boot_log_version(&c, BOOT_MSG("staged image valid, version ", "staged image valid "),
                             &info.hdr.ih_ver);
            rc = boot_install(&c, &staged, &info, digest);
            if (rc == BOOT_OK) {
                out->action = BOOT_ACTION_INSTALLED;
                boot_log(&c, "update installed");
            } else {
                boot_log_reason(&c, "install failed: ", rc);
            }
            if (bootctl_scan(&scan) != BOOTCTL_OK) {
                out->reason = BOOT_R_READ;
                return BOOT_ERR_NO_APP;
            }
        }
    }

    int rc = boot_verify_installed(&c, &scan);
    if (rc == BOOT_R_APP_INVALID && out->action != BOOT_ACTION_RECOVERED) {
        /* A cut in the middle of the sector-2 erase that ends an install can leave the old header
         * intact and the PENDING record gone, while the application area already holds the new,
         * verified image: the header no longer describes it. Rebuild it from the application
         * area if a descriptor there verifies (nothing is written otherwise). */
        boot_log(&c,
                 BOOT_MSG("header does not match the application area, looking for its descriptor",
                          "header mismatch"));
        if (boot_recover(&c) == BOOT_OK) {
            out->action = BOOT_ACTION_RECOVERED;
            boot_log(&c, "header rebuilt from the application area");
            if (bootctl_scan(&scan) != BOOTCTL_OK) {
                out->reason = BOOT_R_READ;
                return BOOT_ERR_NO_APP;
            }
            rc = boot_verify_installed(&c, &scan);
        }
    }
    if (rc != BOOT_OK) {
        out->reason = rc;
        boot_log_reason(&c, BOOT_MSG("no bootable application: ", "no bootable app: "), rc);
        return BOOT_ERR_NO_APP;
    }
    out->jump_addr = APP_ADDR;
    boot_log_version(&c, "starting application ", &out->version);
    return BOOT_ERR_NONE;
}
