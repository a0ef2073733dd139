/*
 * Event output of otaserver: one line per event (text or JSON) or, on a terminal, live progress
 * lines per device below the event log. Writes to stdout; start-up errors go to stderr.
 */
#ifndef SRV_LOG_H
#define SRV_LOG_H

#include <stdbool.h>
#include <stdint.h>

enum srv_log_mode { SRV_LOG_TEXT, SRV_LOG_JSON, SRV_LOG_TTY, SRV_LOG_QUIET };

/* Choose the mode and the time origin (monotonic milliseconds). */
void srv_log_init(enum srv_log_mode mode, uint64_t t0_ms);

/* The current mode. */
enum srv_log_mode srv_log_mode(void);

/*
 * One event. fields is a list of key/value pairs already rendered as JSON members
 * ("\"offset\":12,\"resume\":true"); text mode prints them as key=value. Built with srv_fields_*.
 */
void srv_log_event(uint64_t now_ms, const char *event, uint32_t id, const char *fields);

/* Small builder for the fields string of one event (fixed buffer, truncation-safe). */
struct srv_fields {
    char buf[512];
    unsigned len;
    bool skip; /* per-connection event in quiet mode: nothing is formatted */
};
/* Start the fields of a per-connection event (not formatted at all when quiet). */
void srv_fields_init(struct srv_fields *f);
/* Start the fields of a start-up or shutdown event (formatted in every mode). */
void srv_fields_init_always(struct srv_fields *f);
void srv_fields_u64(struct srv_fields *f, const char *key, uint64_t v);
void srv_fields_str(struct srv_fields *f, const char *key, const char *v);
void srv_fields_bool(struct srv_fields *f, const char *key, bool v);
void srv_fields_ms(struct srv_fields *f, const char *key, uint64_t ms);

/* A device's live line on a terminal (TTY mode only; drawn by srv_log_redraw). */
struct srv_progress {
    uint32_t id;
    const char *peer;
    const char *proto;
    uint64_t done;
    uint64_t total;
    uint64_t acks;
};
/* Redraw the live block: the first shown of total active transfers. */
void srv_log_redraw(const struct srv_progress *lines, unsigned shown, unsigned total);

#define SRV_LOG_TTY_LINES 20u /* at most this many live lines are drawn */

#endif /* SRV_LOG_H */
