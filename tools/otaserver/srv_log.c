/*
 * Event lines are flushed one by one so a supervisor (or a test) reading the log sees each event
 * when it happens. On a terminal, event lines scroll above a block of live progress lines that is
 * erased and drawn again at most a few times a second.
 */
#include "srv_log.h"

#include <inttypes.h>
#include <stdio.h>
#include <string.h>

static enum srv_log_mode s_mode;
static uint64_t s_t0;
static unsigned s_block_lines; /* live lines currently on the terminal */

void srv_log_init(enum srv_log_mode mode, uint64_t t0_ms)
{
    s_mode = mode;
    s_t0 = t0_ms;
    s_block_lines = 0;
}

enum srv_log_mode srv_log_mode(void)
{
    return s_mode;
}

static void erase_block(void)
{
    if (s_block_lines > 0u) {
        /* Cursor up over the block, then clear to the end of the screen. */
        printf("\x1b[%uA\r\x1b[J", s_block_lines);
        s_block_lines = 0;
    }
}

/* Prints JSON members as text key=value pairs: strips quotes around keys and string values. */
static void print_text_fields(const char *fields)
{
    bool in_str = false;
    for (const char *p = fields; *p != '\0'; p++) {
        char c = *p;
        if (c == '\\' && in_str && p[1] != '\0') {
            putchar(p[1]);
            p++;
            continue;
        }
        if (c == '"') {
            in_str = !in_str;
            continue;
        }
        if (!in_str && c == ':') {
            putchar('=');
        } else if (!in_str && c == ',') {
            putchar(' ');
        } else {
            putchar(c);
        }
    }
}

void srv_log_event(uint64_t now_ms, const char *event, uint32_t id, const char *fields)
{
    uint64_t t = now_ms - s_t0;
    /* On a terminal the live lines show progress; elsewhere each 10% step is an event. */
    if (s_mode == SRV_LOG_TTY && strcmp(event, "progress") == 0) {
        return;
    }
    /* Quiet still prints the start and end lines. */
    if (s_mode == SRV_LOG_QUIET && strcmp(event, "listening") != 0 &&
        strcmp(event, "shutdown") != 0) {
        return;
    }
    switch (s_mode) {
    case SRV_LOG_QUIET:
    case SRV_LOG_TEXT:
    case SRV_LOG_TTY:
        if (s_mode == SRV_LOG_TTY) {
            erase_block();
        }
        printf("[%4" PRIu64 ".%03" PRIu64 "] ", t / 1000u, t % 1000u);
        if (id != 0u) {
            printf("#%" PRIu32 " ", id);
        }
        printf("%s", event);
        if (fields[0] != '\0') {
            putchar(' ');
            print_text_fields(fields);
        }
        putchar('\n');
        break;
    case SRV_LOG_JSON:
        printf("{\"t\":%" PRIu64 ".%03" PRIu64 ",\"event\":\"%s\"", t / 1000u, t % 1000u, event);
        if (id != 0u) {
            printf(",\"id\":%" PRIu32, id);
        }
        if (fields[0] != '\0') {
            printf(",%s", fields);
        }
        printf("}\n");
        break;
    }
    (void)fflush(stdout);
}

void srv_fields_init_always(struct srv_fields *f)
{
    f->buf[0] = '\0';
    f->len = 0;
    f->skip = false;
}

void srv_fields_init(struct srv_fields *f)
{
    srv_fields_init_always(f);
    f->skip = s_mode == SRV_LOG_QUIET;
}

static void fields_add(struct srv_fields *f, bool quote, const char *key, const char *val)
{
    if (f->skip) {
        return;
    }
    size_t cap = sizeof(f->buf) - f->len;
    const char *q = quote ? "\"" : "";
    int n = snprintf(f->buf + f->len, cap, "%s\"%s\":%s%s%s", f->len == 0u ? "" : ",", key, q,
                     val, q);
    if (n > 0 && (size_t)n < cap) {
        f->len += (unsigned)n;
    } else {
        f->buf[f->len] = '\0'; /* drop a member that does not fit rather than cut it */
    }
}

void srv_fields_u64(struct srv_fields *f, const char *key, uint64_t v)
{
    if (f->skip) {
        return;
    }
    char num[24];
    (void)snprintf(num, sizeof(num), "%" PRIu64, v);
    fields_add(f, false, key, num);
}

void srv_fields_ms(struct srv_fields *f, const char *key, uint64_t ms)
{
    if (f->skip) {
        return;
    }
    char num[32];
    (void)snprintf(num, sizeof(num), "%" PRIu64 ".%03" PRIu64, ms / 1000u, ms % 1000u);
    fields_add(f, false, key, num);
}

void srv_fields_bool(struct srv_fields *f, const char *key, bool v)
{
    fields_add(f, false, key, v ? "true" : "false");
}

void srv_fields_str(struct srv_fields *f, const char *key, const char *v)
{
    if (f->skip) {
        return;
    }
    /* Values are ours (peer addresses, reasons, hex): escape quotes and backslashes anyway. */
    char esc[256];
    size_t n = 0;
    for (const char *p = v; *p != '\0' && n + 3u < sizeof(esc); p++) {
        unsigned char c = (unsigned char)*p;
        if (c == '"' || c == '\\') {
            esc[n++] = '\\';
            esc[n++] = (char)c;
        } else if (c >= 0x20u && c < 0x7fu) {
            esc[n++] = (char)c;
        } else {
            esc[n++] = '?';
        }
    }
    esc[n] = '\0';
    fields_add(f, true, key, esc);
}

void srv_log_redraw(const struct srv_progress *lines, unsigned shown, unsigned total)
{
    if (s_mode != SRV_LOG_TTY) {
        return;
    }
    erase_block();
    if (shown > SRV_LOG_TTY_LINES) {
        shown = SRV_LOG_TTY_LINES;
    }
    for (unsigned i = 0; i < shown; i++) {
        const struct srv_progress *p = &lines[i];
        unsigned pct = p->total == 0u ? 100u : (unsigned)(p->done * 100u / p->total);
        char bar[26];
        unsigned fill = pct / 4u;
        for (unsigned k = 0; k < 25u; k++) {
            bar[k] = k < fill ? '#' : '.';
        }
        bar[25] = '\0';
        printf("#%-5" PRIu32 " %-4s %-21s [%s] %3u%% %" PRIu64 "/%" PRIu64 " acks %" PRIu64 "\n",
               p->id, p->proto, p->peer, bar, pct, p->done, p->total, p->acks);
    }
    s_block_lines = shown;
    if (total > shown) {
        printf("... and %u more\n", total - shown);
        s_block_lines++;
    }
    (void)fflush(stdout);
}
