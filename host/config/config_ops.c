/* config_ops.c - the operations keys of the schema: log.engines (per-instance levels),
 * log.format, log.file, and control.metrics (the address of the metrics endpoint), with the
 * parsing of that address shared by the checker and the HTTP server. */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <hangar/host.h>
#include <hangar/plugin.h>
#include <hangar/status.h>

#include "config_priv.h"
#include "log.h"

static const char *const log_levels[] = { "error", "warn", "info", "debug", "trace" };
static const char *const log_formats[] = { "text", "logfmt", "json" };

/* The port of "...:PORT" (digits only, 0..65535) into *port; -1 when it is not one. */
static int parse_port(const char *p, unsigned *port)
{
    unsigned long v = 0;
    if (*p == '\0' || strlen(p) > 5)
        return -1;
    for (; *p; p++) {
        if (*p < '0' || *p > '9')
            return -1;
        v = v * 10 + (unsigned long)(*p - '0');
    }
    if (v > 65535)
        return -1;
    *port = (unsigned)v;
    return 0;
}

int hg__metrics_parse_addr(const char *text, struct sockaddr_storage *ss, socklen_t *len)
{
    char host[64];
    const char *colon;
    unsigned port;
    size_t n;
    memset(ss, 0, sizeof *ss);
    if (text == NULL)
        return -1;
    if (text[0] == '[') {
        const char *close = strchr(text, ']');
        struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)ss;
        if (close == NULL || close[1] != ':' || (n = (size_t)(close - text - 1)) >= sizeof host)
            return -1;
        memcpy(host, text + 1, n);
        host[n] = '\0';
        if (parse_port(close + 2, &port) != 0 || inet_pton(AF_INET6, host, &s6->sin6_addr) != 1)
            return -1;
        s6->sin6_family = AF_INET6;
        s6->sin6_port = htons((uint16_t)port);
        *len = sizeof *s6;
        return 0;
    }
    colon = strrchr(text, ':');
    if (colon == NULL || (n = (size_t)(colon - text)) == 0 || n >= sizeof host)
        return -1;
    memcpy(host, text, n);
    host[n] = '\0';
    {
        struct sockaddr_in *s4 = (struct sockaddr_in *)ss;
        if (parse_port(colon + 1, &port) != 0)
            return -1;
        if (strcmp(host, "localhost") == 0)
            strcpy(host, "127.0.0.1");
        if (inet_pton(AF_INET, host, &s4->sin_addr) != 1)
            return -1;
        s4->sin_family = AF_INET;
        s4->sin_port = htons((uint16_t)port);
        *len = sizeof *s4;
    }
    return 0;
}

unsigned hg__sockaddr_port(const struct sockaddr_storage *ss)
{
    if (ss->ss_family == AF_INET6)
        return ntohs(((const struct sockaddr_in6 *)ss)->sin6_port);
    return ntohs(((const struct sockaddr_in *)ss)->sin_port);
}

void hg__config_check_metrics(hg__checker *c, hg__cfgctx *ctx, const hg__node *ctl)
{
    struct sockaddr_storage ss;
    socklen_t len;
    const char *addr = NULL;
    if (hg__cfg_string(ctx, ctl, "metrics", &addr) != 0)
        return;
    if (hg__metrics_parse_addr(addr, &ss, &len) != 0) {
        char msg[300];
        snprintf(msg, sizeof msg, "'metrics' \"%.120s\" is not an address to listen on: give "
                 "IP:PORT (127.0.0.1:9464, [::1]:9464, localhost:9464; port 0 picks a free one)",
                 addr);
        hg__cfg_error(ctx, ctl, "metrics", msg);
        return;
    }
    c->cfg->metrics_addr = hg__config_xstrdup(c, addr);
    c->cfg->metrics_node = hg__node_get(ctl, "metrics");
}

/* log.engines: a map of instance name to level. Names are not checked against the instances
 * here: an instance added at run time may take a level set before it existed. */
static void check_log_engines(hg__checker *c, hg__cfgctx *ctx, const hg__node *log)
{
    const hg__node *m = hg__config_get_map(ctx, log, "engines");
    hg__config *cfg = c->cfg;
    if (m == NULL || m->n == 0)
        return;
    cfg->log_engine_names = calloc(m->n, sizeof *cfg->log_engine_names);
    cfg->log_engine_levels = calloc(m->n, sizeof *cfg->log_engine_levels);
    if (cfg->log_engine_names == NULL || cfg->log_engine_levels == NULL) {
        c->oom = 1;
        return;
    }
    for (uint32_t i = 0; i < m->n; i++) {
        const hg__node *v = NULL;
        const char *key = NULL;
        int level;
        if (hg__cfg_at(m, i, &v, &key) != 0 || key == NULL)
            continue;
        level = hg__config_get_choice(ctx, m, key, log_levels, 5,
                                      "error, warn, info, debug or trace");
        if (level < 0)
            continue;
        cfg->log_engine_names[cfg->n_log_engines] = hg__config_xstrdup(c, key);
        cfg->log_engine_levels[cfg->n_log_engines++] = (uint32_t)level + HG_LOG_ERROR;
    }
}

void hg__config_check_log_ops(hg__checker *c, hg__cfgctx *ctx, const hg__node *log)
{
    const char *file = NULL;
    int fmt = hg__config_get_choice(ctx, log, "format", log_formats, 3, "text, logfmt or json");
    if (fmt >= 0)
        c->cfg->log_format = (uint32_t)fmt;
    if (hg__cfg_string(ctx, log, "file", &file) == 0) {
        if (*file == '\0')
            hg__cfg_error(ctx, log, "file", "'file' is empty: give a path, or leave the key out "
                                            "to log to stderr");
        else
            c->cfg->log_file = hg__config_resolve_path(c, file);
    }
    check_log_engines(c, ctx, log);
}

void hg__config_ops_free(hg__config *cfg)
{
    for (uint32_t i = 0; i < cfg->n_log_engines; i++)
        free(cfg->log_engine_names[i]);
    free(cfg->log_engine_names);
    free(cfg->log_engine_levels);
    free(cfg->log_file);
    free(cfg->metrics_addr);
}
