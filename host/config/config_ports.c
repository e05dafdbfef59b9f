/* config_ports.c - a check over the whole config that no engine can make alone: two `listen:`
 * keys with the same fixed port on overlapping addresses (the same address, or one of them the
 * wildcard of the same family), which `run` would refuse with EADDRINUSE. Nothing is bound. */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <hangar/host.h>

#include "config_priv.h"

/* A `listen:` value as far as overlaps go: IPv4, IPv6 or a host name (compared as written, not
 * resolved), and a fixed port. */
typedef struct endpoint {
    int family; /* AF_INET, AF_INET6, or 0: a host name */
    unsigned char addr[16];
    char name[256];
    unsigned port;
} endpoint;

/* Reads HOST:PORT or [V6]:PORT with a port 1..65535. Returns 0, or -1 for anything else (port 0,
 * or a value the engine itself reports as wrong). */
static int parse_endpoint(const char *s, endpoint *e)
{
    const char *colon, *host = s;
    size_t hlen;
    char *end;
    unsigned long port;

    memset(e, 0, sizeof *e);
    if (s[0] == '[') {
        const char *close = strchr(s, ']');
        if (close == NULL || close[1] != ':')
            return -1;
        host = s + 1;
        hlen = (size_t)(close - host);
        colon = close + 1;
    } else {
        colon = strrchr(s, ':');
        if (colon == NULL)
            return -1;
        hlen = (size_t)(colon - s);
    }
    if (hlen == 0 || hlen >= sizeof e->name || colon[1] < '0' || colon[1] > '9')
        return -1;
    port = strtoul(colon + 1, &end, 10);
    if (*end != '\0' || port == 0 || port > 65535)
        return -1;
    e->port = (unsigned)port;
    memcpy(e->name, host, hlen);
    e->name[hlen] = '\0';
    if (s[0] == '[')
        e->family = inet_pton(AF_INET6, e->name, e->addr) == 1 ? AF_INET6 : -1;
    else if (inet_pton(AF_INET, e->name, e->addr) == 1)
        e->family = AF_INET;
    return e->family < 0 ? -1 : 0;
}

static int is_any(const endpoint *e)
{
    static const unsigned char zero[16];
    return e->family != 0 && memcmp(e->addr, zero, e->family == AF_INET ? 4 : 16) == 0;
}

/* 1 when binding both would fail: the same port and family (IPv6 listeners are IPv6-only),
 * and the same address or a wildcard on either side; host names only when written the same. */
static int overlap(const endpoint *a, const endpoint *b)
{
    if (a->port != b->port || a->family != b->family)
        return 0;
    if (a->family == 0)
        return strcasecmp(a->name, b->name) == 0;
    return is_any(a) || is_any(b) ||
           memcmp(a->addr, b->addr, a->family == AF_INET ? 4 : 16) == 0;
}

/* The `listen:` scalar of instance i, parsed into e. Returns its node, or NULL. */
static const hg__node *listen_of(const hg__instance_cfg *ic, endpoint *e)
{
    const hg__node *v = hg__node_get(ic->node, "listen");
    if (v == NULL || v->type != HG_CFG_SCALAR || v->value == NULL)
        return NULL;
    return parse_endpoint(v->value, e) == 0 ? v : NULL;
}

void hg__config_check_ports(hg__checker *c)
{
    const hg__config *cfg = c->cfg;
    for (uint32_t i = 1; i < cfg->n_instances; i++) {
        endpoint a, b;
        const hg__node *va = listen_of(&cfg->instances[i], &a);
        for (uint32_t j = 0; va != NULL && j < i; j++) {
            const hg__node *vb = listen_of(&cfg->instances[j], &b);
            hg__cfgctx ctx = {c->d, cfg->instances[i].name};
            char msg[768], where[64];
            if (vb == NULL || !overlap(&a, &b))
                continue;
            if (vb->line > 0)
                snprintf(where, sizeof where, "line %u", vb->line);
            else
                snprintf(where, sizeof where, "from --set");
            snprintf(msg, sizeof msg, "'listen' %s takes port %u, which '%s' listens on "
                     "already (%s, %s): `hangar run` would fail with EADDRINUSE; give one of "
                     "them another port, or 0 for a free one", va->value, a.port,
                     cfg->instances[j].name, vb->value, where);
            hg__cfg_error(&ctx, cfg->instances[i].node, "listen", msg);
            break;
        }
    }
}
