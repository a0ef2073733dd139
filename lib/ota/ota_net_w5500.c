/* struct ota_net on the W5500 driver (see ota_net_w5500.h). */
#include "ota_net_w5500.h"

#include <string.h>

#include "ota_util.h"

static int nw_map(struct ota_net_w5500 *w, int st)
{
    switch (st) {
    case W5500_OK:
        return OTA_NET_OK;
    case W5500_PENDING:
        return OTA_NET_PENDING;
    case W5500_EOF:
        return OTA_NET_EOF;
    case W5500_ERR_TIMEOUT:
        w->last_status = st;
        return OTA_NET_ERR_TIMEOUT;
    case W5500_ERR_CLOSED:
        w->last_status = st;
        return OTA_NET_ERR_CLOSED;
    default:
        w->last_status = st;
        return OTA_NET_ERR;
    }
}

static int nw_ready_poll(void *ctx)
{
    struct ota_net_w5500 *w = ctx;
    if (w->bringup_failed) {
        /* The client's next attempt: a fresh reset pulse, so a transient fault (a chip that came
         * up late, a glitch on the bus) does not fail every remaining attempt. */
        w->bringup_failed = false;
        int rc = w5500_bringup_restart(w->dev);
        if (rc != W5500_OK) {
            return nw_map(w, rc);
        }
    }
    int rc = w5500_bringup_poll(w->dev);
    if (rc != W5500_OK) {
        w->bringup_failed = rc != W5500_PENDING;
        return nw_map(w, rc);
    }
    bool up = false;
    rc = w5500_link_get(w->dev, &up);
    if (rc != W5500_OK) {
        return nw_map(w, rc);
    }
    if (!up) {
        return nw_map(w, W5500_ERR_NO_LINK);
    }
    if (w->addressed) {
        return w->cfg.use_dhcp ? nw_map(w, w5500_dhcp_poll(&w->dhcp)) : OTA_NET_OK;
    }
    if (!w->cfg.use_dhcp) {
        rc = w5500_set_netcfg(w->dev, &w->cfg.static_net);
        if (rc != W5500_OK) {
            return nw_map(w, rc);
        }
        w->addressed = true;
        return OTA_NET_OK;
    }
    if (w->dhcp.dev == NULL || w->dhcp.state == W5500_DHCP_S_FAILED) {
        struct w5500_dhcp_config dcfg;
        memset(&dcfg, 0, sizeof dcfg); /* retransmission timing: the driver's defaults */
        dcfg.skip_conflict_probe = w->cfg.dhcp_skip_conflict_probe;
        dcfg.probe_arps = w->cfg.dhcp_probe_arps;
        rc = w5500_dhcp_start(&w->dhcp, w->dev, w->cfg.dhcp_sn, w->cfg.seed, &dcfg);
        if (rc != W5500_OK) {
            return nw_map(w, rc);
        }
    }
    rc = w5500_dhcp_poll(&w->dhcp);
    if (rc == W5500_OK) {
        w->addressed = true;
    }
    return nw_map(w, rc);
}

static int nw_resolve_start(void *ctx, const char *name)
{
    struct ota_net_w5500 *w = ctx;
    uint8_t server[4];
    memcpy(server, w->cfg.dns_server, 4);
    struct w5500_dhcp_lease lease;
    if (w->cfg.use_dhcp && w5500_dhcp_get_lease(&w->dhcp, &lease) == W5500_OK &&
        (lease.dns[0] | lease.dns[1] | lease.dns[2] | lease.dns[3]) != 0) {
        memcpy(server, lease.dns, 4);
    }
    w->dns_id = (uint16_t)(w->dns_id * 31u + 7u);
    uint16_t port = w->next_port++;
    return nw_map(w, w5500_dns_start(&w->dns, w->dev, w->cfg.dns_sn, server, name, w->dns_id,
                                     port, NULL));
}

static int nw_resolve_poll(void *ctx, uint8_t ip[4])
{
    struct ota_net_w5500 *w = ctx;
    return nw_map(w, w5500_dns_poll(&w->dns, ip));
}

static int nw_connect(void *ctx, const uint8_t ip[4], uint16_t port)
{
    struct ota_net_w5500 *w = ctx;
    /* A fresh source port per connection, so a resumed download is never taken for the old one. */
    uint16_t local = w->next_port++;
    if (w->next_port < w->cfg.first_local_port) {
        w->next_port = w->cfg.first_local_port;
    }
    w->disconnecting = false;
    return nw_map(w, w5500_tcp_connect(w->dev, w->cfg.tcp_sn, local, ip, port));
}

static int nw_connect_poll(void *ctx)
{
    struct ota_net_w5500 *w = ctx;
    return nw_map(w, w5500_tcp_connect_poll(w->dev, w->cfg.tcp_sn));
}

static int nw_send(void *ctx, const uint8_t *buf, size_t len, size_t *sent)
{
    struct ota_net_w5500 *w = ctx;
    return nw_map(w, w5500_tcp_send(w->dev, w->cfg.tcp_sn, buf, len, sent));
}

static int nw_recv(void *ctx, uint8_t *buf, size_t cap, size_t *got)
{
    struct ota_net_w5500 *w = ctx;
    return nw_map(w, w5500_tcp_recv(w->dev, w->cfg.tcp_sn, buf, cap, got));
}

static void nw_close(void *ctx)
{
    struct ota_net_w5500 *w = ctx;
    if (!w5500_ready(w->dev)) {
        return; /* no chip up, no socket: last_status keeps the reason bring-up failed */
    }
    (void)nw_map(w, w5500_sock_close(w->dev, w->cfg.tcp_sn));
}

static int nw_flush_poll(void *ctx)
{
    struct ota_net_w5500 *w = ctx;
    return nw_map(w, w5500_tcp_flush_poll(w->dev, w->cfg.tcp_sn));
}

static int nw_disconnect_poll(void *ctx)
{
    struct ota_net_w5500 *w = ctx;
    if (!w->disconnecting) {
        w->disconnecting = true;
        int rc = w5500_tcp_disconnect(w->dev, w->cfg.tcp_sn);
        if (rc != W5500_OK) {
            return nw_map(w, rc);
        }
    }
    return nw_map(w, w5500_tcp_disconnect_poll(w->dev, w->cfg.tcp_sn));
}

static uint32_t nw_millis(void *ctx)
{
    struct ota_net_w5500 *w = ctx;
    return w->dev->port->millis(w->dev->port->ctx);
}

int ota_net_w5500_init(struct ota_net_w5500 *w, struct w5500_dev *dev,
                       const struct ota_net_w5500_config *cfg, struct ota_net *net)
{
    OTA_VERIFY(w != NULL && dev != NULL && cfg != NULL && net != NULL, OTA_NET_ERR);
    OTA_VERIFY(cfg->tcp_sn < W5500_NUM_SOCKETS && cfg->dhcp_sn < W5500_NUM_SOCKETS &&
                   cfg->dns_sn < W5500_NUM_SOCKETS && cfg->tcp_sn != cfg->dhcp_sn &&
                   cfg->tcp_sn != cfg->dns_sn && cfg->dhcp_sn != cfg->dns_sn,
               OTA_NET_ERR);
    OTA_VERIFY(cfg->first_local_port >= 1024u, OTA_NET_ERR);
    memset(w, 0, sizeof(*w));
    w->dev = dev;
    w->cfg = *cfg;
    w->next_port = cfg->first_local_port;
    w->dns_id = (uint16_t)cfg->seed;
    net->ready_poll = nw_ready_poll;
    net->resolve_start = nw_resolve_start;
    net->resolve_poll = nw_resolve_poll;
    net->connect = nw_connect;
    net->connect_poll = nw_connect_poll;
    net->send = nw_send;
    net->recv = nw_recv;
    net->close = nw_close;
    net->flush_poll = nw_flush_poll;
    net->disconnect_poll = nw_disconnect_poll;
    net->millis = nw_millis;
    net->ctx = w;
    return OTA_NET_OK;
}

int ota_net_w5500_poll(struct ota_net_w5500 *w)
{
    if (!w->cfg.use_dhcp || !w->addressed) {
        return OTA_NET_OK;
    }
    return nw_map(w, w5500_dhcp_poll(&w->dhcp));
}
