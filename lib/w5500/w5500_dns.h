/*
 * DNS client (A records over UDP) on top of the W5500 socket layer, plus the query builder and
 * the reply parser as pure functions over (buffer, length) so they can be fuzzed.
 *
 * The parser rejects anything it cannot fully bounds-check: wrong id, QR/opcode, TC set, counts
 * that do not fit the message, compression pointers that do not point strictly backwards or
 * hop too often, names over 255 bytes, a question that is not ours, CNAME chains longer than
 * W5500_DNS_MAX_CNAME.
 */
#ifndef W5500_DNS_H
#define W5500_DNS_H

#include <stddef.h>
#include <stdint.h>

#include "w5500.h"

#define W5500_DNS_PORT 53u
#define W5500_DNS_NAME_MAX 253u  /* dotted form, without a trailing dot */
#define W5500_DNS_WIRE_MAX 255u  /* wire form, including the root label */
#define W5500_DNS_MSG_MAX 512u   /* classic UDP limit; larger replies are truncated -> ignored */
#define W5500_DNS_MAX_CNAME 8u   /* CNAME hops followed */
#define W5500_DNS_MAX_RR 16u     /* answer records considered */
#define W5500_DNS_MAX_PTR_HOPS 32u

/* Convert "a.b.c" (optional trailing dot) to wire form, lower case. Returns the length or <0. */
int w5500_dns_name_to_wire(const char *name, uint8_t wire[W5500_DNS_WIRE_MAX]);

/* Build a recursive A/IN query for name with the given id. *len gets the message length. */
int w5500_dns_build_query(uint8_t *buf, size_t cap, uint16_t id, const char *name, size_t *len);

/*
 * Parse a reply to the query (id, name). W5500_OK with ip (and *ttl if not NULL) set, else
 * W5500_ERR_MISMATCH (not the reply to our query), W5500_ERR_MALFORMED, W5500_ERR_DNS_TRUNC,
 * W5500_ERR_NXDOMAIN, W5500_ERR_SERVFAIL or W5500_ERR_NO_ANSWER.
 */
int w5500_dns_parse_response(const uint8_t *msg, size_t len, uint16_t id, const char *name,
                             uint8_t ip[4], uint32_t *ttl);

struct w5500_dns_config {
    uint32_t first_timeout_ms; /* wait for the first reply; doubled on each retry (0: 1000) */
    uint8_t attempts;          /* queries sent in total (0: 3) */
};

enum w5500_dns_state { W5500_DNS_IDLE = 0, W5500_DNS_WAIT, W5500_DNS_DONE };

/* Resolver state; the caller owns it. Fields are private. */
struct w5500_dns {
    struct w5500_dev *dev;
    struct w5500_dns_config cfg;
    uint8_t sn;
    uint8_t state;
    uint8_t sent;
    uint8_t server[4];
    uint16_t local_port;
    uint16_t id;
    uint32_t t_sent;
    uint32_t timeout_ms;
    int result;
    int last_reject; /* why the last reply was ignored (0: none seen) */
    uint8_t ip[4];
    uint32_t ttl;
    char name[W5500_DNS_NAME_MAX + 2];
    uint8_t buf[W5500_DNS_MSG_MAX];
};

/*
 * Start resolving name through server (port 53) on socket sn, local UDP port local_port, first
 * query id id (cfg may be NULL for defaults). Opens the socket and sends the first query.
 */
int w5500_dns_start(struct w5500_dns *dns, struct w5500_dev *dev, uint8_t sn,
                    const uint8_t server[4], const char *name, uint16_t id, uint16_t local_port,
                    const struct w5500_dns_config *cfg);

/*
 * Drive the resolver. W5500_PENDING while waiting; W5500_OK with ip filled when resolved; a
 * final error otherwise: W5500_ERR_NXDOMAIN/SERVFAIL/NO_ANSWER/DNS_TRUNC from a valid reply,
 * W5500_ERR_NO_LINK, or after the last timeout the reason the last reply was rejected
 * (W5500_ERR_MALFORMED, W5500_ERR_MISMATCH) or W5500_ERR_GAVE_UP if none came.
 * The socket is closed when a final status is returned.
 */
int w5500_dns_poll(struct w5500_dns *dns, uint8_t ip[4]);

/* Stop early and close the socket. */
int w5500_dns_abort(struct w5500_dns *dns);

#endif /* W5500_DNS_H */
