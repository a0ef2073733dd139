/*
 * vboard command line: flash file, image loading, W5500 LAN bridging, scripted button presses
 * and power cuts, stop conditions, and the run summary. See docs/vboard.md.
 */
#include "vboard.h"

#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#ifdef VB_HAVE_W5500
#include "w5500_model.h"
#endif

#define EXIT_USAGE 64

static struct vboard board;

/* LeakSanitizer: Unicorn 2.0.1 itself loses a page-collection node allocated in
 * tb_invalidate_phys_page_fast (guest stores to pages holding translated code). Only leaks whose
 * stack goes through libunicorn are suppressed; vboard's own allocations stay checked. */
const char *__lsan_default_suppressions(void);
const char *__lsan_default_suppressions(void)
{
    return "leak:libunicorn.so\n";
}
static bool stdin_nonblock_set;
static int stdin_flags_saved;

static double now_ms(const struct vboard *vb)
{
    return (double)vb->now_ps / 1e9;
}

void vb_log(struct vboard *vb, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    (void)fflush(stdout); /* keep UART text and board messages in order */
    fprintf(stderr, "%s[vboard %10.3f ms] ", vb->line_len > 0 ? "\n" : "", now_ms(vb));
    vfprintf(stderr, fmt, ap);
    fputc('\n', stderr);
    va_end(ap);
}

void vb_warn(struct vboard *vb, const char *fmt, ...)
{
    vb->warnings++;
    if (vb->warnings > 20) {
        return;
    }
    va_list ap;
    va_start(ap, fmt);
    (void)fflush(stdout);
    fprintf(stderr, "%s[vboard %10.3f ms] warning: ", vb->line_len > 0 ? "\n" : "", now_ms(vb));
    vfprintf(stderr, fmt, ap);
    fputc('\n', stderr);
    va_end(ap);
}

void vb_stop(struct vboard *vb, enum vb_stop why, const char *fmt, ...)
{
    if (vb->stop != VB_RUNNING) {
        return;
    }
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(vb->stop_msg, sizeof vb->stop_msg, fmt, ap);
    va_end(ap);
    vb->stop = why;
    vb->halting = true;
    (void)uc_emu_stop(vb->uc);
}

void vb_unmodelled(struct vboard *vb, uint32_t addr, unsigned size, bool write)
{
    vb_stop(vb, VB_STOP_UNMODELLED, "unmodelled %u-byte %s at address 0x%08x, pc 0x%08x", size,
            write ? "write" : "read", addr, vb->pc);
}

void vb_request_reset(struct vboard *vb, enum vb_reset_cause cause)
{
    if (vb->reset_req != VB_RESET_NONE || vb->stop != VB_RUNNING) {
        return;
    }
    vb->reset_req = cause;
    vb->halting = true;
    (void)uc_emu_stop(vb->uc);
}

const char *vb_reset_name(enum vb_reset_cause c)
{
    switch (c) {
    case VB_RESET_POWER_ON:
        return "power-on";
    case VB_RESET_SOFTWARE:
        return "software (AIRCR.SYSRESETREQ)";
    case VB_RESET_IWDG:
        return "IWDG";
    case VB_RESET_POWER_CUT:
        return "power cut";
    default:
        return "none";
    }
}

/* ---------------------------------------------------------------- UART lines */

static bool is_ver_char(char c)
{
    return (c >= '0' && c <= '9') || c == '.' || c == '+';
}

/* Versions: tokens MAJOR.MINOR.REVISION or MAJOR.MINOR.REVISION+BUILD (digits only). */
static void scan_versions(struct vboard *vb, const char *line)
{
    size_t n = strlen(line);
    size_t i = 0;
    while (i < n) {
        if (line[i] < '0' || line[i] > '9' ||
            (i > 0 && (is_ver_char(line[i - 1]) || (line[i - 1] >= 'A' && line[i - 1] <= 'Z') ||
                       (line[i - 1] >= 'a' && line[i - 1] <= 'z' && line[i - 1] != 'v')))) {
            i++;
            continue;
        }
        size_t j = i;
        while (j < n && is_ver_char(line[j])) {
            j++;
        }
        size_t len = j - i;
        /* validate: d+.d+.d+(+d+)? */
        int dots = 0;
        int plus = 0;
        bool ok = len < 48;
        bool need_digit = true;
        for (size_t k = i; k < j && ok; k++) {
            char c = line[k];
            if (c == '.' || c == '+') {
                if (need_digit || plus) {
                    ok = false;
                }
                if (c == '.') {
                    dots++;
                } else {
                    if (dots != 2) {
                        ok = false;
                    }
                    plus++;
                }
                need_digit = true;
            } else {
                need_digit = false;
            }
        }
        if (ok && !need_digit && dots == 2) {
            char v[48];
            memcpy(v, line + i, len);
            v[len] = '\0';
            int k;
            for (k = 0; k < vb->n_versions; k++) {
                if (strcmp(vb->versions[k], v) == 0) {
                    break;
                }
            }
            if (k == vb->n_versions && k < VB_MAX_VERSIONS) {
                memcpy(vb->versions[k], v, len + 1);
                vb->n_versions++;
            }
            if (k < VB_MAX_VERSIONS) {
                vb->version_count[k]++;
            }
        }
        i = j;
    }
}

static void line_done(struct vboard *vb)
{
    vb->line[vb->line_len] = '\0';
    scan_versions(vb, vb->line);
    vb->line_len = 0;
    vb->line[0] = '\0';
}

void vb_uart_tx(struct vboard *vb, uint8_t c)
{
    if (fputc(c, stdout) == EOF) {
        vb_stop(vb, VB_STOP_HOST, "cannot write to stdout");
    }
    if (vb->uart_log != NULL && fputc(c, vb->uart_log) == EOF) {
        vb_stop(vb, VB_STOP_HOST, "cannot write the UART log");
    }
    if (c == '\n') {
        (void)fflush(stdout);
        line_done(vb);
        return;
    }
    if (c == '\r') {
        return;
    }
    if (vb->line_len + 1 >= sizeof vb->line) {
        line_done(vb);
    }
    vb->line[vb->line_len++] = (char)c;
    vb->line[vb->line_len] = '\0';
    if (vb->opt.press_on_text != NULL && !vb->press_on_done &&
        strstr(vb->line, vb->opt.press_on_text) != NULL) {
        vb->press_on_done = true;
        vb->button_release_ps = vb->now_ps + (uint64_t)vb->opt.press_hold_ms * 1000000000ull;
        vb_button(vb, true);
        vb_reschedule(vb);
    }
    if (vb->opt.stop_on != NULL && strstr(vb->line, vb->opt.stop_on) != NULL) {
        (void)fflush(stdout);
        vb_stop(vb, VB_STOP_CONDITION, "stop text \"%s\" seen", vb->opt.stop_on);
    }
}

/* ---------------------------------------------------------------- flash file, images */

static int flash_open(struct vboard *vb)
{
    struct vb_flash *f = &vb->fl;
    f->fd = open(vb->opt.flash_path, O_RDWR | O_CREAT, 0644);
    if (f->fd < 0) {
        fprintf(stderr, "vboard: %s: %s\n", vb->opt.flash_path, strerror(errno));
        return -1;
    }
    struct stat st;
    if (fstat(f->fd, &st) != 0) {
        fprintf(stderr, "vboard: fstat %s: %s\n", vb->opt.flash_path, strerror(errno));
        return -1;
    }
    bool fresh = vb->opt.fresh || st.st_size == 0;
    if (!fresh && st.st_size != (off_t)VB_FLASH_SIZE) {
        fprintf(stderr, "vboard: %s is %lld bytes, not %u (use --fresh to recreate it)\n",
                vb->opt.flash_path, (long long)st.st_size, VB_FLASH_SIZE);
        return -1;
    }
    if (ftruncate(f->fd, VB_FLASH_SIZE) != 0) {
        fprintf(stderr, "vboard: ftruncate %s: %s\n", vb->opt.flash_path, strerror(errno));
        return -1;
    }
    void *p = mmap(NULL, VB_FLASH_SIZE, PROT_READ | PROT_WRITE, MAP_SHARED, f->fd, 0);
    if (p == MAP_FAILED) {
        fprintf(stderr, "vboard: mmap %s: %s\n", vb->opt.flash_path, strerror(errno));
        return -1;
    }
    f->mem = p;
    if (fresh) {
        memset(f->mem, 0xFF, VB_FLASH_SIZE);
    }
    return 0;
}

static int place(struct vboard *vb, uint32_t addr, const uint8_t *data, uint32_t len,
                 const char *what)
{
    if (addr >= VB_FLASH_BASE && len <= VB_FLASH_SIZE && addr - VB_FLASH_BASE <= VB_FLASH_SIZE - len) {
        memcpy(vb->fl.mem + (addr - VB_FLASH_BASE), data, len);
        return 0;
    }
    if (addr >= VB_SRAM_BASE && len <= VB_SRAM_SIZE && addr - VB_SRAM_BASE <= VB_SRAM_SIZE - len) {
        memcpy(vb->sram + (addr - VB_SRAM_BASE), data, len);
        return 0;
    }
    fprintf(stderr, "vboard: %s: %u bytes at 0x%08x are outside flash and SRAM\n", what, len, addr);
    return -1;
}

static uint32_t le32(const uint8_t *p)
{
    return (uint32_t)p[0] | ((uint32_t)p[1] << 8) | ((uint32_t)p[2] << 16) | ((uint32_t)p[3] << 24);
}

static uint16_t le16(const uint8_t *p)
{
    return (uint16_t)(p[0] | (p[1] << 8));
}

static int load_elf(struct vboard *vb, const char *path, const uint8_t *d, size_t n)
{
    if (n < 52 || d[4] != 1 || d[5] != 1 || le16(d + 18) != 40) {
        fprintf(stderr, "vboard: %s: not a 32-bit little-endian ARM ELF\n", path);
        return -1;
    }
    uint32_t phoff = le32(d + 28);
    uint16_t phentsize = le16(d + 42);
    uint16_t phnum = le16(d + 44);
    if (phentsize < 32 || phoff > n || (size_t)phnum * phentsize > n - phoff) {
        fprintf(stderr, "vboard: %s: bad program header table\n", path);
        return -1;
    }
    int loaded = 0;
    for (uint16_t i = 0; i < phnum; i++) {
        const uint8_t *ph = d + phoff + (size_t)i * phentsize;
        uint32_t type = le32(ph);
        uint32_t off = le32(ph + 4);
        uint32_t paddr = le32(ph + 12);
        uint32_t filesz = le32(ph + 16);
        if (type != 1 || filesz == 0) {
            continue;
        }
        if (off > n || filesz > n - off) {
            fprintf(stderr, "vboard: %s: segment %u outside the file\n", path, i);
            return -1;
        }
        if (place(vb, paddr, d + off, filesz, path) != 0) {
            return -1;
        }
        loaded++;
    }
    if (loaded == 0) {
        fprintf(stderr, "vboard: %s: no loadable segment\n", path);
        return -1;
    }
    return 0;
}

static int hexval(const uint8_t *p, size_t n, uint32_t *out)
{
    uint32_t v = 0;
    for (size_t i = 0; i < n; i++) {
        uint8_t c = p[i];
        uint32_t d;
        if (c >= '0' && c <= '9') {
            d = (uint32_t)(c - '0');
        } else if (c >= 'A' && c <= 'F') {
            d = (uint32_t)(c - 'A' + 10);
        } else if (c >= 'a' && c <= 'f') {
            d = (uint32_t)(c - 'a' + 10);
        } else {
            return -1;
        }
        v = (v << 4) | d;
    }
    *out = v;
    return 0;
}

/* Intel HEX: record types 00 (data), 01 (end), 02/04 (segment/linear base), 03/05 (start). */
static int load_ihex(struct vboard *vb, const char *path, const uint8_t *d, size_t n)
{
    uint32_t base = 0;
    size_t i = 0;
    unsigned line = 0;
    while (i < n) {
        size_t e = i;
        while (e < n && d[e] != '\n') {
            e++;
        }
        size_t len = e;
        while (len > i && (d[len - 1] == '\r' || d[len - 1] == ' ')) {
            len--;
        }
        line++;
        if (len > i) {
            uint32_t cnt, addr, type, sum = 0;
            uint8_t data[255];
            if (d[i] != ':' || len - i < 11 || hexval(d + i + 1, 2, &cnt) != 0 ||
                len - i != 11 + 2 * cnt || hexval(d + i + 3, 4, &addr) != 0 ||
                hexval(d + i + 7, 2, &type) != 0) {
                fprintf(stderr, "vboard: %s:%u: bad Intel HEX record\n", path, line);
                return -1;
            }
            for (size_t k = 0; k < 4 + cnt + 1; k++) {
                uint32_t b;
                if (hexval(d + i + 1 + 2 * k, 2, &b) != 0) {
                    fprintf(stderr, "vboard: %s:%u: bad hex digit\n", path, line);
                    return -1;
                }
                sum += b;
                if (k >= 4 && k < 4 + cnt) {
                    data[k - 4] = (uint8_t)b;
                }
            }
            if ((sum & 0xFFu) != 0) {
                fprintf(stderr, "vboard: %s:%u: checksum error\n", path, line);
                return -1;
            }
            if (type == 0) {
                if (place(vb, base + addr, data, cnt, path) != 0) {
                    return -1;
                }
            } else if (type == 1) {
                return 0;
            } else if (type == 2 && cnt == 2) {
                base = (((uint32_t)data[0] << 8) | data[1]) << 4;
            } else if (type == 4 && cnt == 2) {
                base = (((uint32_t)data[0] << 8) | data[1]) << 16;
            } else if (type != 3 && type != 5) {
                fprintf(stderr, "vboard: %s:%u: unsupported record type %u\n", path, line, type);
                return -1;
            }
        }
        i = e + 1;
    }
    fprintf(stderr, "vboard: %s: no end-of-file record\n", path);
    return -1;
}

static int load_one(struct vboard *vb, const char *spec)
{
    char path[1024];
    uint32_t addr = VB_FLASH_BASE;
    bool have_addr = false;
    const char *at = strrchr(spec, '@');
    size_t plen = at ? (size_t)(at - spec) : strlen(spec);
    if (plen >= sizeof path) {
        fprintf(stderr, "vboard: --load path too long\n");
        return -1;
    }
    memcpy(path, spec, plen);
    path[plen] = '\0';
    if (at != NULL) {
        char *end = NULL;
        errno = 0;
        unsigned long a = strtoul(at + 1, &end, 0);
        if (errno != 0 || end == at + 1 || *end != '\0' || a > 0xFFFFFFFFul) {
            fprintf(stderr, "vboard: --load %s: bad address\n", spec);
            return -1;
        }
        addr = (uint32_t)a;
        have_addr = true;
    }
    FILE *fp = fopen(path, "rb");
    if (fp == NULL) {
        fprintf(stderr, "vboard: %s: %s\n", path, strerror(errno));
        return -1;
    }
    uint8_t *buf = malloc(4u << 20);
    if (buf == NULL) {
        (void)fclose(fp);
        return -1;
    }
    size_t n = fread(buf, 1, 4u << 20, fp);
    bool err = ferror(fp) != 0;
    (void)fclose(fp);
    int rc;
    if (err) {
        fprintf(stderr, "vboard: %s: read error\n", path);
        rc = -1;
    } else if (n >= 4 && memcmp(buf, "\177ELF", 4) == 0 && !have_addr) {
        rc = load_elf(vb, path, buf, n);
    } else if (n >= 1 && buf[0] == ':' && !have_addr) {
        rc = load_ihex(vb, path, buf, n);
    } else {
        rc = (n > 0xFFFFFFFFu) ? -1 : place(vb, addr, buf, (uint32_t)n, path);
    }
    free(buf);
    return rc;
}

#ifdef VB_HAVE_W5500
/* A decimal number 0..max at *p (digits only), advancing *p; -1 if none or too large. */
static long parse_dec(const char **p, unsigned long max)
{
    const char *s = *p;
    unsigned long v = 0;
    if (*s < '0' || *s > '9') {
        return -1;
    }
    while (*s >= '0' && *s <= '9') {
        v = v * 10u + (unsigned long)(*s - '0');
        if (v > max) {
            return -1;
        }
        s++;
    }
    *p = s;
    return (long)v;
}

/* Dotted quad; *end gets the first character after it. */
static int parse_ip_prefix(const char *s, uint32_t *ip, const char **end)
{
    uint32_t v = 0;
    for (int i = 0; i < 4; i++) {
        if (i > 0) {
            if (*s != '.') {
                return -1;
            }
            s++;
        }
        long octet = parse_dec(&s, 255);
        if (octet < 0) {
            return -1;
        }
        v = (v << 8) | (uint32_t)octet;
    }
    *ip = v;
    *end = s;
    return 0;
}

static int parse_ip(const char *s, uint32_t *ip)
{
    const char *end;
    return (parse_ip_prefix(s, ip, &end) == 0 && *end == '\0') ? 0 : -1;
}

/* LANIP:PORT=HOSTPORT */
static int parse_map(const char *s, uint32_t *ip, uint16_t *lport, uint16_t *hport)
{
    const char *p;
    if (parse_ip_prefix(s, ip, &p) != 0 || *p++ != ':') {
        return -1;
    }
    long l = parse_dec(&p, 65535);
    if (l <= 0 || *p++ != '=') {
        return -1;
    }
    long h = parse_dec(&p, 65535);
    if (h <= 0 || *p != '\0') {
        return -1;
    }
    *lport = (uint16_t)l;
    *hport = (uint16_t)h;
    return 0;
}

static int w5500_setup(struct vboard *vb)
{
    struct w5500_model_config cfg;
    w5500_model_config_default(&cfg);
    vb->w5500 = w5500_model_new(&cfg);
    if (vb->w5500 == NULL) {
        fprintf(stderr, "vboard: cannot create the W5500 model\n");
        return -1;
    }
    for (int i = 0; i < vb->opt.n_maps; i++) {
        const char *s = vb->opt.maps[i];
        bool udp = strncmp(s, "udp:", 4) == 0;
        if (udp) {
            s += 4;
        }
        uint32_t ip;
        uint16_t lport;
        uint16_t hport;
        if (parse_map(s, &ip, &lport, &hport) != 0) {
            fprintf(stderr, "vboard: --map %s: expected [udp:]LANIP:PORT=HOSTPORT\n",
                    vb->opt.maps[i]);
            return -1;
        }
        int rc = udp ? w5500_model_map_udp(vb->w5500, ip, lport, hport)
                     : w5500_model_map_tcp(vb->w5500, ip, lport, hport);
        if (rc != W5500_MODEL_OK) {
            fprintf(stderr, "vboard: --map %s: model error %d\n", vb->opt.maps[i], rc);
            return -1;
        }
    }
    for (int i = 0; i < vb->opt.n_dns; i++) {
        const char *eq = strchr(vb->opt.dns[i], '=');
        char name[256];
        uint32_t ip;
        if (eq == NULL || (size_t)(eq - vb->opt.dns[i]) >= sizeof name ||
            parse_ip(eq + 1, &ip) != 0) {
            fprintf(stderr, "vboard: --dns %s: expected NAME=IP\n", vb->opt.dns[i]);
            return -1;
        }
        memcpy(name, vb->opt.dns[i], (size_t)(eq - vb->opt.dns[i]));
        name[eq - vb->opt.dns[i]] = '\0';
        if (w5500_model_dns_add(vb->w5500, name, ip) != W5500_MODEL_OK) {
            fprintf(stderr, "vboard: --dns %s: model error\n", vb->opt.dns[i]);
            return -1;
        }
    }
    vb->next_w5500_ps = vb->now_ps;
    return 0;
}
#endif

/* ---------------------------------------------------------------- reset and summary */

static void fill_sram_random(struct vboard *vb)
{
    for (uint32_t i = 0; i < VB_SRAM_SIZE; i += 4) {
        uint32_t r = vb_rand(vb);
        memcpy(vb->sram + i, &r, 4);
    }
}

static int do_reset(struct vboard *vb, enum vb_reset_cause cause)
{
    vb->resets[cause]++;
    if (cause != VB_RESET_POWER_ON) {
        if (vb->reset_count < 16) {
            vb->reset_at_ps[vb->reset_count] = vb->now_ps;
            vb->reset_cause_log[vb->reset_count] = cause;
        }
        vb->reset_count++;
        vb_log(vb, "reset: %s", vb_reset_name(cause));
        if (vb->opt.max_resets >= 0 && vb->reset_count > (uint64_t)vb->opt.max_resets) {
            vb_stop(vb, VB_STOP_MAX_RESETS, "more than %lld resets", (long long)vb->opt.max_resets);
            return -1;
        }
    }
    if (cause == VB_RESET_POWER_CUT) {
        fill_sram_random(vb); /* SRAM content is lost */
        vb->button_pressed = false;
#ifdef VB_HAVE_W5500
        w5500_model_free(vb->w5500);
        vb->w5500 = NULL;
        vb->pace_active = false;
        if (w5500_setup(vb) != 0) {
            vb_stop(vb, VB_STOP_HOST, "W5500 model power-up failed");
            return -1;
        }
#endif
    }
    vb_periph_reset(vb, cause);
    vb_cpu_reset(vb);
    return 0;
}

static int exit_code(enum vb_stop s)
{
    switch (s) {
    case VB_STOP_CONDITION:
        return 0;
    case VB_STOP_TIMEOUT:
        return 1;
    case VB_STOP_UNMODELLED:
        return 2;
    case VB_STOP_BKPT:
        return 3;
    case VB_STOP_MAX_RESETS:
        return 4;
    case VB_STOP_CPU:
        return 5;
    case VB_STOP_DEADLOCK:
        return 6;
    default:
        return 7;
    }
}

static void print_summary(struct vboard *vb)
{
    FILE *o = stderr;
    const double ms = 1e9;
    fprintf(o, "vboard summary\n");
    fprintf(o, "  result: %s (exit %d)\n", vb->stop_msg, exit_code(vb->stop));
    fprintf(o, "  virtual time: %.3f ms (cpu %.3f, flash stall %.3f, spi %.3f, waiting %.3f)\n",
            (double)vb->now_ps / ms, (double)vb->tcat_ps[VB_T_CPU] / ms,
            (double)vb->tcat_ps[VB_T_FLASH] / ms, (double)vb->tcat_ps[VB_T_SPI] / ms,
            (double)vb->tcat_ps[VB_T_WAIT] / ms);
    fprintf(o, "  paced to real time: %.3f ms slept (%.3f ms of flash time exempt)\n",
            (double)vb->paced_ns / 1e6, (double)vb->pace_exempt_ps / ms);
    fprintf(o, "  flash poll skipped: %.3f ms of cpu in %llu jumps (%llu instructions not emulated)",
            (double)vb->ff_ps / ms, (unsigned long long)vb->ff_jumps,
            (unsigned long long)vb->ff_insns);
    fprintf(o, "%s\n", vb->opt.no_ff ? ", fast-forward off" : "");
    fprintf(o, "  instructions: %llu, HCLK %llu Hz at the end\n", (unsigned long long)vb->icount,
            (unsigned long long)vb->hclk_hz);
    fprintf(o, "  resets: %llu (software %llu, iwdg %llu, power cut %llu)\n",
            (unsigned long long)vb->reset_count, (unsigned long long)vb->resets[VB_RESET_SOFTWARE],
            (unsigned long long)vb->resets[VB_RESET_IWDG],
            (unsigned long long)vb->resets[VB_RESET_POWER_CUT]);
    for (uint64_t i = 0; i < vb->reset_count && i < 16; i++) {
        fprintf(o, "    reset at %.3f ms: %s\n", (double)vb->reset_at_ps[i] / ms,
                vb_reset_name(vb->reset_cause_log[i]));
    }
    fprintf(o, "  flash: busy %.3f ms, %llu operations, %llu programs, %llu mass erases, sector erases:",
            (double)vb->fl.busy_ps / ms, (unsigned long long)vb->fl.ops_total,
            (unsigned long long)vb->fl.programs, (unsigned long long)vb->fl.mass_erases);
    for (int s = 0; s < VB_FLASH_SECTORS; s++) {
        fprintf(o, " s%d=%llu", s, (unsigned long long)vb->fl.erases[s]);
    }
    fprintf(o, "\n  versions:");
    for (int i = 0; i < vb->n_versions; i++) {
        fprintf(o, " %s (x%u)", vb->versions[i], vb->version_count[i]);
    }
    if (vb->n_versions == 0) {
        fprintf(o, " none");
    }
    fprintf(o, "\n  LED PA0 changes: %llu\n", (unsigned long long)vb->led_changes);
    fprintf(o, "  warnings: %llu\n", (unsigned long long)vb->warnings);
#ifdef VB_HAVE_W5500
    if (vb->w5500 != NULL) {
        struct w5500_model_stats st;
        w5500_model_get_stats(vb->w5500, &st);
        fprintf(o, "  w5500: %llu SPI bytes, %llu frames, %llu bytes received, %llu sent\n",
                (unsigned long long)st.spi_bytes, (unsigned long long)st.spi_frames,
                (unsigned long long)st.rx_payload, (unsigned long long)st.tx_payload);
    }
#endif
}

static void usage(void)
{
    fprintf(stderr,
            "usage: vboard --flash FILE [--fresh] [--load ELF_OR_BIN[@ADDR]]...\n"
            "              [--map [udp:]LANIP:PORT=HOSTPORT]... [--dns NAME=IP]...\n"
            "              [--press-button-at MS | --press-button-on TEXT] [--button-hold-ms MS]\n"
            "              [--cut-power-at-ms MS | --cut-power-at-flash-op N]\n"
            "              [--cut-mode clean|torn|partial-erase]\n"
            "              [--stop-on TEXT] [--timeout-ms MS] [--max-resets N] [--summary]\n"
            "              [--uart-log FILE] [--seed N] [--vbat] [--no-pace] [--pace-host-only] [--no-fast-forward]\n"
            "              [--trace-irq] [--trace-flash]\n"
            "              [--wrp-sectors MASK]\n");
}

static int parse_u64(const char *s, uint64_t *out)
{
    char *end = NULL;
    errno = 0;
    unsigned long long v = strtoull(s, &end, 0);
    if (errno != 0 || end == s || *end != '\0' || s[0] == '-') {
        return -1;
    }
    *out = v;
    return 0;
}

static int parse_args(struct vb_options *o, int argc, char **argv)
{
    enum {
        O_FLASH = 256, O_FRESH, O_LOAD, O_MAP, O_DNS, O_PRESS_AT, O_PRESS_ON, O_HOLD, O_CUT_MS,
        O_CUT_OP, O_CUT_MODE, O_STOP_ON, O_TIMEOUT, O_MAX_RESETS, O_SUMMARY, O_UART_LOG, O_SEED,
        O_VBAT, O_NO_PACE, O_PACE_HOST, O_NO_FF, O_TRACE_IRQ, O_TRACE_FLASH, O_WRP, O_HELP
    };
    static const struct option lo[] = {
        {"flash", required_argument, NULL, O_FLASH},
        {"fresh", no_argument, NULL, O_FRESH},
        {"load", required_argument, NULL, O_LOAD},
        {"map", required_argument, NULL, O_MAP},
        {"dns", required_argument, NULL, O_DNS},
        {"press-button-at", required_argument, NULL, O_PRESS_AT},
        {"press-button-on", required_argument, NULL, O_PRESS_ON},
        {"button-hold-ms", required_argument, NULL, O_HOLD},
        {"cut-power-at-ms", required_argument, NULL, O_CUT_MS},
        {"cut-power-at-flash-op", required_argument, NULL, O_CUT_OP},
        {"cut-mode", required_argument, NULL, O_CUT_MODE},
        {"stop-on", required_argument, NULL, O_STOP_ON},
        {"timeout-ms", required_argument, NULL, O_TIMEOUT},
        {"max-resets", required_argument, NULL, O_MAX_RESETS},
        {"summary", no_argument, NULL, O_SUMMARY},
        {"uart-log", required_argument, NULL, O_UART_LOG},
        {"seed", required_argument, NULL, O_SEED},
        {"vbat", no_argument, NULL, O_VBAT},
        {"no-pace", no_argument, NULL, O_NO_PACE},
        {"pace-host-only", no_argument, NULL, O_PACE_HOST},
        {"no-fast-forward", no_argument, NULL, O_NO_FF},
        {"trace-irq", no_argument, NULL, O_TRACE_IRQ},
        {"trace-flash", no_argument, NULL, O_TRACE_FLASH},
        {"wrp-sectors", required_argument, NULL, O_WRP},
        {"help", no_argument, NULL, O_HELP},
        {NULL, 0, NULL, 0},
    };
    memset(o, 0, sizeof *o);
    o->press_at_ms = -1;
    o->press_hold_ms = 200;
    o->cut_at_ms = -1;
    o->cut_at_flash_op = -1;
    o->timeout_ms = 10000;
    o->max_resets = -1;
    o->seed = 1;
    int c;
    uint64_t v;
    while ((c = getopt_long(argc, argv, "", lo, NULL)) != -1) {
        switch (c) {
        case O_FLASH:
            o->flash_path = optarg;
            break;
        case O_FRESH:
            o->fresh = true;
            break;
        case O_LOAD:
            if (o->n_loads >= VB_MAX_LOADS) {
                fprintf(stderr, "vboard: too many --load\n");
                return -1;
            }
            o->loads[o->n_loads++] = optarg;
            break;
        case O_MAP:
            if (o->n_maps >= VB_MAX_MAPS) {
                fprintf(stderr, "vboard: too many --map\n");
                return -1;
            }
            o->maps[o->n_maps++] = optarg;
            break;
        case O_DNS:
            if (o->n_dns >= VB_MAX_MAPS) {
                fprintf(stderr, "vboard: too many --dns\n");
                return -1;
            }
            o->dns[o->n_dns++] = optarg;
            break;
        case O_PRESS_AT:
        case O_CUT_MS:
        case O_CUT_OP:
        case O_TIMEOUT:
        case O_MAX_RESETS:
        case O_SEED:
        case O_HOLD:
        case O_WRP:
            if (parse_u64(optarg, &v) != 0 || v > 0x7FFFFFFFFFFFull) {
                fprintf(stderr, "vboard: bad number \"%s\"\n", optarg);
                return -1;
            }
            if (c == O_PRESS_AT) {
                o->press_at_ms = (int64_t)v;
            } else if (c == O_CUT_MS) {
                o->cut_at_ms = (int64_t)v;
            } else if (c == O_CUT_OP) {
                if (v == 0) {
                    fprintf(stderr, "vboard: flash operations count from 1\n");
                    return -1;
                }
                o->cut_at_flash_op = (int64_t)v;
            } else if (c == O_TIMEOUT) {
                o->timeout_ms = v;
            } else if (c == O_MAX_RESETS) {
                o->max_resets = (int64_t)v;
            } else if (c == O_WRP) {
                o->wrp_sectors = (uint32_t)v & 0xFFu;
            } else if (c == O_HOLD) {
                o->press_hold_ms = (uint32_t)v;
            } else {
                o->seed = (uint32_t)v;
            }
            break;
        case O_PRESS_ON:
            o->press_on_text = optarg;
            break;
        case O_CUT_MODE:
            if (strcmp(optarg, "clean") == 0) {
                o->cut_mode = VB_CUT_CLEAN;
            } else if (strcmp(optarg, "torn") == 0) {
                o->cut_mode = VB_CUT_TORN;
            } else if (strcmp(optarg, "partial-erase") == 0) {
                o->cut_mode = VB_CUT_PARTIAL_ERASE;
            } else {
                fprintf(stderr, "vboard: --cut-mode clean|torn|partial-erase\n");
                return -1;
            }
            break;
        case O_STOP_ON:
            o->stop_on = optarg;
            break;
        case O_SUMMARY:
            o->summary = true;
            break;
        case O_UART_LOG:
            o->uart_log = optarg;
            break;
        case O_VBAT:
            o->vbat = true;
            break;
        case O_PACE_HOST:
            o->pace_host_only = true;
            break;
        case O_NO_PACE:
            o->no_pace = true;
            break;
        case O_NO_FF:
            o->no_ff = true;
            break;
        case O_TRACE_FLASH:
            o->trace_flash = true;
            break;
        case O_TRACE_IRQ:
            o->trace_irq = true;
            break;
        default:
            return -1;
        }
    }
    if (optind != argc || o->flash_path == NULL) {
        return -1;
    }
    if (o->press_at_ms >= 0 && o->press_on_text != NULL) {
        fprintf(stderr, "vboard: --press-button-at and --press-button-on exclude each other\n");
        return -1;
    }
    if (o->cut_at_ms >= 0 && o->cut_at_flash_op >= 0) {
        fprintf(stderr, "vboard: --cut-power-at-ms and --cut-power-at-flash-op exclude each other\n");
        return -1;
    }
    return 0;
}

static void restore_stdin(void)
{
    if (stdin_nonblock_set) {
        (void)fcntl(STDIN_FILENO, F_SETFL, stdin_flags_saved);
    }
}

int main(int argc, char **argv)
{
    static uint8_t sram[VB_SRAM_SIZE] __attribute__((aligned(4096)));
    struct vboard *vb = &board;
    if (parse_args(&vb->opt, argc, argv) != 0) {
        usage();
        return EXIT_USAGE;
    }
    vb->sram = sram;
    vb->rng = vb->opt.seed ? vb->opt.seed : 1u;
    vb->cycle_ps = 62500; /* HSI 16 MHz until the first reset computes it */
    vb->next_event_ps = UINT64_MAX;
    if (flash_open(vb) != 0) {
        return EXIT_USAGE;
    }
    fill_sram_random(vb);
    for (int i = 0; i < vb->opt.n_loads; i++) {
        if (load_one(vb, vb->opt.loads[i]) != 0) {
            return EXIT_USAGE;
        }
    }
    if (vb->opt.uart_log != NULL) {
        vb->uart_log = fopen(vb->opt.uart_log, "w");
        if (vb->uart_log == NULL) {
            fprintf(stderr, "vboard: %s: %s\n", vb->opt.uart_log, strerror(errno));
            return EXIT_USAGE;
        }
    }
    int fl = fcntl(STDIN_FILENO, F_GETFL);
    if (fl >= 0 && fcntl(STDIN_FILENO, F_SETFL, fl | O_NONBLOCK) == 0) {
        stdin_flags_saved = fl;
        stdin_nonblock_set = true;
        if (atexit(restore_stdin) != 0) {
            restore_stdin();
            stdin_nonblock_set = false;
        }
    } else {
        vb->stdin_eof = true;
    }
    if (vb_cpu_init(vb) != 0) {
        return EXIT_USAGE;
    }
#ifdef VB_HAVE_W5500
    if (w5500_setup(vb) != 0) {
        return EXIT_USAGE;
    }
#else
    if (vb->opt.n_maps > 0 || vb->opt.n_dns > 0) {
        fprintf(stderr, "vboard: built without the W5500 model: --map/--dns unavailable\n");
        return EXIT_USAGE;
    }
#endif
    if (do_reset(vb, VB_RESET_POWER_ON) == 0) {
        while (vb->stop == VB_RUNNING) {
            (void)vb_run(vb);
            if (vb->stop == VB_RUNNING && vb->reset_req != VB_RESET_NONE) {
                enum vb_reset_cause cause = vb->reset_req;
                vb->reset_req = VB_RESET_NONE;
                vb->halting = false;
                if (do_reset(vb, cause) != 0) {
                    break;
                }
            }
        }
    }
    bool partial = vb->line_len > 0;
    if (partial) {
        line_done(vb);
    }
    (void)fflush(stdout);
    if (partial) {
        fputc('\n', stderr); /* the UART line was not finished */
    }
    if (vb->stop != VB_STOP_CONDITION) {
        fprintf(stderr, "[vboard %10.3f ms] stopped: %s\n", now_ms(vb), vb->stop_msg);
    } else {
        fprintf(stderr, "[vboard %10.3f ms] done: %s\n", now_ms(vb), vb->stop_msg);
    }
    if (vb->opt.summary) {
        print_summary(vb);
    }
    int rc = exit_code(vb->stop);
    if (msync(vb->fl.mem, VB_FLASH_SIZE, MS_SYNC) != 0) {
        fprintf(stderr, "vboard: msync: %s\n", strerror(errno));
        rc = exit_code(VB_STOP_HOST);
    }
    if (munmap(vb->fl.mem, VB_FLASH_SIZE) != 0 || close(vb->fl.fd) != 0) {
        rc = exit_code(VB_STOP_HOST);
    }
    if (vb->uart_log != NULL && fclose(vb->uart_log) != 0) {
        rc = exit_code(VB_STOP_HOST);
    }
#ifdef VB_HAVE_W5500
    w5500_model_free(vb->w5500);
#endif
    uc_close(vb->uc);
    return rc;
}
