/*
 * otaserver: serves one MCUboot image to many devices at once, over the tutorial's raw TCP protocol
 * (with a resume extension) and over HTTP/1.1 with ranges. docs/protocol.md is the reference.
 */
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "srv_server.h"

static void usage(FILE *out)
{
    fprintf(out,
            "usage: otaserver --image FILE [--port N] [--http-port N] [--bind ADDR]\n"
            "                 [--chunk-size N] [--chunk-delay MS] [--json | --quiet]\n"
            "                 [--max-clients N] [--idle-timeout S]\n"
            "  --image FILE       MCUboot image to serve (checked at start-up)\n"
            "  --port N           raw TCP port (default 5678; 0 = any free port)\n"
            "  --http-port N      HTTP port (default 8080; 0 = any free port)\n"
            "  --bind ADDR        numeric address to listen on (default 127.0.0.1)\n"
            "  --chunk-size N     send bodies in N-byte writes (default: as fast as possible)\n"
            "  --chunk-delay MS   pause MS ms after each chunk (tutorial: 512 B / 250 ms)\n"
            "  --json             one JSON object per event line\n"
            "  --quiet            only the start and shutdown lines\n"
            "  --max-clients N    concurrent connections (default 1024)\n"
            "  --idle-timeout S   close connections without progress for S s (default 30)\n");
}

/* Strict unsigned decimal in [min, max]. */
static int parse_num(const char *opt, const char *s, unsigned long min, unsigned long max,
                     unsigned long *out)
{
    if (s == NULL || s[0] < '0' || s[0] > '9') {
        fprintf(stderr, "otaserver: %s needs a number\n", opt);
        return -1;
    }
    char *end = NULL;
    errno = 0;
    unsigned long v = strtoul(s, &end, 10);
    if (errno != 0 || end == s || *end != '\0' || v < min || v > max) {
        fprintf(stderr, "otaserver: %s %s: expected %lu..%lu\n", opt, s, min, max);
        return -1;
    }
    *out = v;
    return 0;
}

int main(int argc, char **argv)
{
    struct srv_config cfg = {
        .image_path = NULL,
        .bind_addr = "127.0.0.1",
        .raw_port = 5678,
        .http_port = 8080,
        .chunk_size = 0,
        .chunk_delay_ms = 0,
        .max_clients = 1024,
        .idle_timeout_s = 30,
        .log_mode = SRV_LOG_TEXT,
    };
    bool json = false;
    bool quiet = false;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        const char *v = i + 1 < argc ? argv[i + 1] : NULL;
        unsigned long n = 0;
        if (strcmp(a, "--help") == 0 || strcmp(a, "-h") == 0) {
            usage(stdout);
            return 0;
        } else if (strcmp(a, "--json") == 0) {
            json = true;
            continue;
        } else if (strcmp(a, "--quiet") == 0) {
            quiet = true;
            continue;
        } else if (v == NULL) {
            fprintf(stderr, "otaserver: unknown option or missing value: %s\n", a);
            usage(stderr);
            return 1;
        } else if (strcmp(a, "--image") == 0) {
            cfg.image_path = v;
        } else if (strcmp(a, "--bind") == 0) {
            cfg.bind_addr = v;
        } else if (strcmp(a, "--port") == 0) {
            if (parse_num(a, v, 0, 65535, &n) != 0) {
                return 1;
            }
            cfg.raw_port = (int)n;
        } else if (strcmp(a, "--http-port") == 0) {
            if (parse_num(a, v, 0, 65535, &n) != 0) {
                return 1;
            }
            cfg.http_port = (int)n;
        } else if (strcmp(a, "--chunk-size") == 0) {
            if (parse_num(a, v, 1, 1u << 30, &n) != 0) {
                return 1;
            }
            cfg.chunk_size = (uint32_t)n;
        } else if (strcmp(a, "--chunk-delay") == 0) {
            if (parse_num(a, v, 0, 60000, &n) != 0) {
                return 1;
            }
            cfg.chunk_delay_ms = (uint32_t)n;
        } else if (strcmp(a, "--max-clients") == 0) {
            if (parse_num(a, v, 1, 1000000, &n) != 0) {
                return 1;
            }
            cfg.max_clients = (unsigned)n;
        } else if (strcmp(a, "--idle-timeout") == 0) {
            if (parse_num(a, v, 1, 86400, &n) != 0) {
                return 1;
            }
            cfg.idle_timeout_s = (unsigned)n;
        } else {
            fprintf(stderr, "otaserver: unknown option %s\n", a);
            usage(stderr);
            return 1;
        }
        i++;
    }
    if (cfg.image_path == NULL) {
        fprintf(stderr, "otaserver: --image is required\n");
        usage(stderr);
        return 1;
    }
    if (json && quiet) {
        fprintf(stderr, "otaserver: --json and --quiet exclude each other\n");
        return 1;
    }
    /* The tutorial's pacing is 512-byte writes; a delay alone means that. */
    if (cfg.chunk_delay_ms != 0u && cfg.chunk_size == 0u) {
        cfg.chunk_size = 512;
    }
    cfg.log_mode = json ? SRV_LOG_JSON
                        : quiet ? SRV_LOG_QUIET
                                : isatty(STDOUT_FILENO) ? SRV_LOG_TTY : SRV_LOG_TEXT;
    if (setvbuf(stdout, NULL, _IOLBF, 0) != 0) {
        fprintf(stderr, "otaserver: cannot set line buffering\n");
    }
    int rc = srv_run(&cfg);
    return rc;
}
