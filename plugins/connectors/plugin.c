/* plugin.c - the connectors plugin: ticker, tail, tcp, udp and exec stream connectors (connector.h), with
 * the helpers they share. */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cn.h"

int cn_create(const hg_host *h, const hg_config *cfg, void **out)
{
    cn *c = calloc(1, sizeof *c);
    (void)cfg;
    if (c == NULL)
        return HG_ENOMEM;
    c->h = h;
    c->api = h->get_extension(h, HG_STREAM_EXTENSION);
    if (c->api == NULL) {
        free(c);
        return HG_ENOTSUP;
    }
    *out = c;
    return 0;
}

void cn_destroy(void *inst)
{
    free(inst);
}

int cn_emit(const cn *c, hg_stream *s, uint32_t type, const void *data, uint32_t len)
{
    hg_frame f;
    int rc;
    memset(&f, 0, sizeof f);
    f.struct_size = sizeof f;
    /* no buffer free (each try waits up to 100 ms): wait on, the reader holds them */
    while ((rc = c->api->buf_alloc(s, len, &f)) == HG_ENOMEM && len <= CN_FRAME_MAX)
        if (c->h->is_cancelled(c->h, c->api->token(s)))
            return HG_ECANCELED;
    if (rc != 0)
        return rc;
    if (len > 0)
        memcpy(f.data, data, len);
    f.len = len;
    f.type = type;
    f.ts_ns = c->h->now_ns(c->h);
    rc = c->api->emit(s, &f, CN_FOREVER);
    if (rc != 0)
        c->api->buf_unref(f.buf);
    return rc;
}

int cn_sleep(const cn *c, hg_stream *s, uint64_t ns)
{
    hg_cancel *t = c->api->token(s);
    if (ns == 0)
        return c->h->is_cancelled(c->h, t) != 0;
    return c->h->cancel_wait(c->h, t, ns) == 0;
}

int cn_check_keys(const cn *c, const hg_config *node, const char *const *keys)
{
    static const char *const host_keys[] = {"name", "max_pending_events", "max_pending_actions",
                                            "policy", "core", "healthy_at_start", NULL};
    int rc = 0;
    for (uint32_t i = 0; i < c->h->cfg_count(c->h, node); i++) {
        const hg_config *v;
        const char *k = NULL;
        int known = 0;
        if (c->h->cfg_at(c->h, node, i, &v, &k) != 0 || k == NULL)
            continue;
        for (int j = 0; host_keys[j] && !known; j++)
            known = strcmp(k, host_keys[j]) == 0;
        for (int j = 0; keys[j] && !known; j++)
            known = strcmp(k, keys[j]) == 0;
        if (!known) {
            char msg[600];
            int n = snprintf(msg, sizeof msg, "unknown key '%.60s' (this connector's stream keys: ",
                             k);
            for (int j = 0; keys[j]; j++)
                n += snprintf(msg + n, sizeof msg - (size_t)n, "%s%s", j ? ", " : "", keys[j]);
            snprintf(msg + n, sizeof msg - (size_t)n, ")");
            c->h->cfg_error(c->h, node, k, msg);
            rc = HG_ECONFIG;
        }
    }
    return rc;
}

void cn_log(const cn *c, uint32_t level, const char *stream, const char *fmt, ...)
{
    char msg[512];
    int n = snprintf(msg, sizeof msg, "%s: ", stream);
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg + n, sizeof msg - (size_t)n, fmt, ap);
    va_end(ap);
    c->h->log(c->h, level, msg);
}

static const hg_engine engines[] = {
    {sizeof(hg_engine), HG_KIND_CONNECTOR, "ticker",
     "events on a steady schedule (interval), with jitter stats", &cn_ticker_ops, NULL},
    {sizeof(hg_engine), HG_KIND_CONNECTOR, "tail",
     "follows a file through rotation and truncation, one event per line", &cn_tail_ops, NULL},
    {sizeof(hg_engine), HG_KIND_CONNECTOR, "tcp",
     "a TCP client stream: frames in as events, actions out, reconnect with backoff",
     &cn_tcp_ops, NULL},
    {sizeof(hg_engine), HG_KIND_CONNECTOR, "udp",
     "datagrams in as events (listen) and actions out as datagrams (send_to)", &cn_udp_ops, NULL},
    {sizeof(hg_engine), HG_KIND_CONNECTOR, "exec",
     "one long-lived child: stdout lines as events, actions to its stdin, restart policy",
     &cn_exec_ops, NULL},
    {sizeof(hg_engine), HG_KIND_PROCESSOR, "stream-model",
     "an example processor acting as the model of a stream it opens (hangar.model/1)",
     &cn_model_ops, NULL},
};

static int cn_init(void)
{
    return 0;
}

static void cn_deinit(void)
{
}

HG_EXPORT const hg_plugin hangar_plugin = {
    HG_PLUGIN_INIT, "org.hangar.connectors", "1.0.0", "stream connectors: ticker, tail, tcp, udp, exec; the stream-model processor", 6,
    engines, cn_init, cn_deinit,
};
