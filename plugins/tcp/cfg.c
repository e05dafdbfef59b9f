/* cfg.c - configuration helpers of the tcp engines: addresses checked with precise messages,
 * numbers with ranges, sizes, durations and choices, all reported through host->cfg_error. */
#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tcp.h"

static int is_name(const char *s)
{
    if (*s == '\0')
        return 0;
    for (; *s; s++) {
        char c = *s;
        if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_' || c == '-'))
            return 0;
    }
    return 1;
}

static int check_port(const char *p, char *why, uint32_t cap)
{
    uint32_t v = 0;
    const char *q;
    if (*p == '\0') {
        snprintf(why, cap, "missing port (expected HOST:PORT)");
        return HG_EINVAL;
    }
    for (q = p; *q; q++) {
        if (*q < '0' || *q > '9') {
            snprintf(why, cap, "port '%s' is not a number", p);
            return HG_EINVAL;
        }
        if (v <= 65535)
            v = v * 10 + (uint32_t)(*q - '0');
    }
    if (v > 65535) {
        snprintf(why, cap, "the port must be between 0 and 65535");
        return HG_EINVAL;
    }
    return 0;
}

int hg__tcp_check_hostport(const char *s, char *why, uint32_t cap)
{
    const char *colon;
    if (s[0] == '[') {
        const char *end = strchr(s, ']');
        if (end == NULL) {
            snprintf(why, cap, "missing ']' after an IPv6 host");
            return HG_EINVAL;
        }
        if (end == s + 1) {
            snprintf(why, cap, "empty host");
            return HG_EINVAL;
        }
        if (end[1] != ':') {
            snprintf(why, cap, "missing port (expected [HOST]:PORT)");
            return HG_EINVAL;
        }
        return check_port(end + 2, why, cap);
    }
    colon = strrchr(s, ':');
    if (colon == NULL) {
        snprintf(why, cap, "missing port (expected HOST:PORT)");
        return HG_EINVAL;
    }
    if (memchr(s, ':', (size_t)(colon - s)) != NULL) {
        snprintf(why, cap, "an IPv6 host needs brackets ([::1]:PORT)");
        return HG_EINVAL;
    }
    if (colon == s) {
        snprintf(why, cap, "empty host (expected HOST:PORT)");
        return HG_EINVAL;
    }
    if (strspn(s, "0123456789.") == (size_t)(colon - s)) {
        /* digits and dots only: it must be a dotted-quad IPv4 address, not a host name */
        char host[64];
        struct in_addr a;
        size_t n = (size_t)(colon - s);
        if (n >= sizeof host) {
            snprintf(why, cap, "bad IPv4 address (expected a.b.c.d:PORT)");
            return HG_EINVAL;
        }
        memcpy(host, s, n);
        host[n] = '\0';
        if (inet_pton(AF_INET, host, &a) != 1) {
            snprintf(why, cap, "bad IPv4 address '%s' (expected a.b.c.d, each 0..255)", host);
            return HG_EINVAL;
        }
    }
    return check_port(colon + 1, why, cap);
}

static int check_name(const hg_host *h, const char *s, char *why, uint32_t cap)
{
    char buf[TCP_ADDR_MAX];
    int rc = h->resolve_address(h, s, buf, sizeof buf);
    if (rc == 0 || rc == HG_EAGAIN)
        return 0;
    if (rc == HG_ENOENT)
        snprintf(why, cap, "no pipeline named '%s' (expected HOST:PORT or a pipeline name)", s);
    else if (rc == HG_ENOTSUP)
        snprintf(why, cap, "pipeline '%s' never listens (it has no 'listen' key): name a "
                 "server pipeline (tcp-echo, tcp-sink, tcp-proxy) or give HOST:PORT", s);
    else
        snprintf(why, cap, "expected HOST:PORT or a pipeline name (%s)", hg_strerror(rc));
    return HG_EINVAL;
}

int hg__tcp_cfg_address(const hg_host *h, const hg_config *cfg, const char *key, int required,
                        int how, const char **out)
{
    char why[256], msg[TCP_ADDR_MAX + 300];
    const char *s = NULL;
    int rc = h->cfg_string(h, cfg, key, &s);
    if (rc == HG_ENOENT && required) {
        snprintf(msg, sizeof msg, "missing required key '%s'", key);
        return h->cfg_error(h, cfg, NULL, msg);
    }
    if (rc != 0)
        return rc;
    if (how == TCP_ADDR_OR_NAME && is_name(s))
        rc = check_name(h, s, why, sizeof why);
    else
        rc = hg__tcp_check_hostport(s, why, sizeof why);
    if (rc != 0) {
        snprintf(msg, sizeof msg, "bad address '%.*s': %s", TCP_ADDR_MAX, s, why);
        return h->cfg_error(h, cfg, key, msg);
    }
    if (strlen(s) >= TCP_ADDR_MAX) {
        snprintf(msg, sizeof msg, "bad address: longer than %d characters", TCP_ADDR_MAX - 1);
        return h->cfg_error(h, cfg, key, msg);
    }
    *out = s;
    return 0;
}

/* "'KEY' must be between MIN and MAX[ UNIT], got TEXT", in the host's own words for ranges. */
static int range_error(const hg_host *h, const hg_config *cfg, const char *key, const char *unit,
                       uint64_t min, uint64_t max)
{
    const char *got = "?";
    char msg[200];
    h->cfg_string(h, cfg, key, &got);
    snprintf(msg, sizeof msg, "'%s' must be between %llu and %llu%s, got %.40s", key,
             (unsigned long long)min, (unsigned long long)max, unit, got);
    return h->cfg_error(h, cfg, key, msg);
}

int hg__tcp_cfg_uint(const hg_host *h, const hg_config *cfg, const char *key, uint64_t min,
                     uint64_t max, uint64_t *out)
{
    int64_t v = 0;
    int rc = h->cfg_int(h, cfg, key, &v);
    if (rc == HG_ENOENT)
        return 0;
    if (rc != 0)
        return rc;
    if (v < 0 || (uint64_t)v < min || (uint64_t)v > max)
        return range_error(h, cfg, key, "", min, max);
    *out = (uint64_t)v;
    return 0;
}

int hg__tcp_cfg_size(const hg_host *h, const hg_config *cfg, const char *key, uint64_t min,
                     uint64_t max, uint64_t *out)
{
    uint64_t v = 0;
    int rc = h->cfg_size(h, cfg, key, &v);
    if (rc == HG_ENOENT)
        return 0;
    if (rc != 0)
        return rc;
    if (v < min || v > max)
        return range_error(h, cfg, key, " bytes", min, max);
    *out = v;
    return 0;
}

int hg__tcp_cfg_duration(const hg_host *h, const hg_config *cfg, const char *key, uint64_t *out)
{
    int rc = h->cfg_duration(h, cfg, key, out);
    return rc == HG_ENOENT ? 0 : rc;
}

int hg__tcp_cfg_bool(const hg_host *h, const hg_config *cfg, const char *key, uint8_t *out)
{
    int rc = h->cfg_bool(h, cfg, key, out);
    return rc == HG_ENOENT ? 0 : rc;
}

int hg__tcp_cfg_choice(const hg_host *h, const hg_config *cfg, const char *key,
                       const char *const *choices, uint32_t *out)
{
    char msg[256];
    size_t used;
    const char *s = NULL;
    uint32_t i;
    int rc = h->cfg_string(h, cfg, key, &s);
    if (rc == HG_ENOENT)
        return 0;
    if (rc != 0)
        return rc;
    for (i = 0; choices[i] != NULL; i++) {
        if (strcmp(s, choices[i]) == 0) {
            *out = i + 1;
            return 0;
        }
    }
    snprintf(msg, sizeof msg, "'%s' must be one of:", key);
    for (i = 0; choices[i] != NULL; i++) {
        used = strlen(msg);
        snprintf(msg + used, sizeof msg - used, "%s %s", i ? "," : "", choices[i]);
    }
    used = strlen(msg);
    snprintf(msg + used, sizeof msg - used, " (got '%.64s')", s);
    return h->cfg_error(h, cfg, key, msg);
}

int hg__tcp_resolve(const hg_host *h, const char *addr, char *buf, uint32_t cap)
{
    int rc = h->resolve_address(h, addr, buf, cap);
    if (rc == HG_EAGAIN)
        hg_logf(h, HG_LOG_ERROR, "pipeline '%s' is not listening", addr);
    else if (rc == HG_ENOTSUP)
        hg_logf(h, HG_LOG_ERROR, "pipeline '%s' never listens (it has no 'listen' key)", addr);
    else if (rc != 0)
        hg_logf(h, HG_LOG_ERROR, "cannot resolve '%s': %s", addr, hg_strerror(rc));
    return rc == HG_EAGAIN ? HG_ESTATE : rc;
}

int hg__tcp_reply(const char *text, uint32_t n, char *reply, uint32_t cap, uint32_t *len)
{
    *len = n;
    if (n + 1 > cap)
        return HG_ENOSPC;
    memcpy(reply, text, n);
    reply[n] = '\0';
    return 0;
}
