/* conn_cmd.c - what the host answers for a connector beyond the plugin: its streams' counters,
 * and the verbs `streams`, `read` (take events: a plain consumer of a stream's event channel),
 * `send` (an action), `restart` (one stream) and `reload` (every stream rebuilt from its
 * config); other verbs go to the connector. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "conn_priv.h"

#define RESTART_BOUND_NS 2000000000ull

static const hg_connector_ops *cops(const hg__conn *c)
{
    return c->e->def->ops;
}

hg__cstream *hg__conn_find(hg__conn *c, const char *name)
{
    for (uint32_t i = 0; name != NULL && i < c->n; i++)
        if (__atomic_load_n(&c->st[i].opened, __ATOMIC_ACQUIRE) &&
            strcmp(hg__stream_name(c->st[i].s), name) == 0)
            return &c->st[i];
    return NULL;
}

static json_t *stream_json(hg_stream *s)
{
    hg__stream_stats st;
    char details[512];
    uint32_t state;
    json_t *o = json_object(), *d;
    hg__stream_stats_get(s, &st);
    hg__stream_state(s, &state, details, sizeof details);
    json_object_set_new(o, "events", json_integer((json_int_t)st.events));
    json_object_set_new(o, "delivered", json_integer((json_int_t)st.delivered));
    json_object_set_new(o, "dropped", json_integer((json_int_t)st.dropped));
    json_object_set_new(o, "queued", json_integer((json_int_t)st.queued));
    json_object_set_new(o, "actions", json_integer((json_int_t)st.actions));
    json_object_set_new(o, "actions_queued", json_integer((json_int_t)st.actions_queued));
    json_object_set_new(o, "healthy", json_boolean(st.healthy));
    json_object_set_new(o, "running", json_boolean(st.running));
    json_object_set_new(o, "reconnects", json_integer((json_int_t)st.reconnects));
    json_object_set_new(o, "state_version", json_integer((json_int_t)st.state_version));
    json_object_set_new(o, "state", json_string(hg__state_name(state)));
    json_object_set_new(o, "core", json_integer(st.core));
    if (st.last_rc != 0)
        json_object_set_new(o, "error", json_string(hg_strerror(st.last_rc)));
    d = json_loads(details, 0, NULL);
    if (json_is_object(d))
        json_object_set_new(o, "details", d);
    else
        json_decref(d);
    return o;
}

void *hg__conn_streams_json(hg__conn *c)
{
    json_t *o = json_object();
    for (uint32_t i = 0; i < c->n; i++)
        if (c->st[i].s != NULL)
            json_object_set_new(o, hg__stream_name(c->st[i].s), stream_json(c->st[i].s));
    return o;
}

static int reply_obj(json_t *o, char *reply, uint32_t cap, uint32_t *len)
{
    size_t n = json_dumpb(o, NULL, 0, JSON_COMPACT);
    if (n + 1 > cap) {
        json_decref(o);
        *len = (uint32_t)n + 1;
        return HG_ENOSPC;
    }
    json_dumpb(o, reply, n, JSON_COMPACT);
    reply[n] = '\0';
    *len = (uint32_t)n;
    json_decref(o);
    return 0;
}

static int reply_text(char *reply, uint32_t cap, uint32_t *len, const char *msg)
{
    *len = (uint32_t)snprintf(reply, cap, "%s", msg);
    return 0;
}

static json_t *frame_json(const hg_frame *f)
{
    json_t *v = json_stringn((const char *)f->data, f->len);
    if (v == NULL) { /* not UTF-8: hex */
        char *hex = malloc((size_t)f->len * 2 + 5);
        if (hex == NULL)
            return json_null();
        memcpy(hex, "hex:", 4);
        for (uint32_t i = 0; i < f->len; i++)
            sprintf(hex + 4 + 2 * i, "%02x", f->data[i]);
        v = json_string(hex);
        free(hex);
    }
    return v;
}

static int cmd_read(hg__conn *c, hg__cstream *cs, const hg_config *args, char *reply,
                    uint32_t cap, uint32_t *len)
{
    const hg_host *h = hg__inst_host(c->e->in);
    hg__link *l = hg__stream_events(cs->s);
    int64_t max = 1000;
    uint64_t timeout = 0, used = 64;
    json_t *o = json_object(), *a = json_array();
    int rc = 0;
    if (!cs->reader) {
        if (hg__stream_claim(cs->s) != 0) {
            json_decref(o);
            json_decref(a);
            return reply_text(reply, cap, len, "the stream's events are read by a graph link");
        }
        cs->reader = 1;
    }
    h->cfg_int(h, args, "max", &max);
    h->cfg_duration(h, args, "timeout", &timeout);
    while ((int64_t)json_array_size(a) < max) {
        hg_frame *f = cs->held;
        uint64_t need;
        cs->held = NULL;
        if (f == NULL) {
            void *item;
            rc = json_array_size(a) == 0 && timeout > 0
                     ? hg__link_recv(l, &item, timeout, NULL) : hg__link_try_recv(l, &item);
            if (rc != 0)
                break;
            f = item;
        }
        need = (uint64_t)f->len * 6 + 4;
        if (used + need > cap) {
            cs->held = f;
            if (json_array_size(a) == 0) {
                json_decref(o);
                json_decref(a);
                *len = (uint32_t)(used + need + 64);
                return HG_ENOSPC;
            }
            break;
        }
        used += need;
        json_array_append_new(a, frame_json(f));
        hg__stream_frame_release(f, NULL);
    }
    json_object_set_new(o, "events", a);
    json_object_set_new(o, "closed", json_boolean(rc == HG_ECLOSED));
    return reply_obj(o, reply, cap, len);
}

static int cmd_send(hg__conn *c, hg__cstream *cs, const hg_config *args, char *reply,
                    uint32_t cap, uint32_t *len)
{
    const hg_host *h = hg__inst_host(c->e->in);
    const char *data = NULL;
    hg_frame *f;
    int rc;
    if (h->cfg_string(h, args, "data", &data) != 0 || data == NULL) {
        *len = (uint32_t)snprintf(reply, cap, "send needs \"data\" (a string)");
        return HG_EINVAL;
    }
    if ((rc = hg__stream_frame_new(cs->s, data, (uint32_t)strlen(data), &f)) != 0)
        return rc;
    rc = hg__link_try_send(hg__stream_actions(cs->s), f);
    if (rc != 0) {
        hg__stream_frame_release(f, NULL);
        *len = (uint32_t)snprintf(reply, cap, "the action channel is full (%s)", hg_strerror(rc));
        return rc;
    }
    return reply_text(reply, cap, len, "{\"sent\":1}");
}

static int cmd_restart(hg__conn *c, hg__cstream *cs, char *reply, uint32_t cap, uint32_t *len)
{
    int rc;
    if (__atomic_load_n(&c->stopping, __ATOMIC_ACQUIRE) || cs->stray) {
        *len = (uint32_t)snprintf(reply, cap, "the connector is not running");
        return HG_ESTATE;
    }
    hg__stream_cancel(cs->s);
    if ((rc = hg__conn_join(c, cs, RESTART_BOUND_NS)) != 0) {
        *len = (uint32_t)snprintf(reply, cap, "stream %s did not stop", hg__stream_name(cs->s));
        return rc;
    }
    rc = hg__stream_start(cs->s, hg__inst_host(c->e->in), hg__inst_token(c->e->in),
                          cops(c)->stream_run, cs->ud);
    if (rc != 0)
        return rc;
    return reply_text(reply, cap, len, "{\"restarted\":1}");
}

/* `reload`: the connector's own `reload` verb first (it may re-read what it keeps), then every
 * stream is stopped, closed, opened again from its config and, while the connector runs,
 * started; channels, counters and links stay. */
static int cmd_reload(hg__conn *c, const hg_config *args, char *reply, uint32_t cap,
                      uint32_t *len)
{
    json_t *o = json_object(), *failed = json_array();
    uint32_t n = 0;
    int rc = cops(c)->command ? cops(c)->command(c->inst, "reload", args, reply, cap, len)
                              : HG_ENOTSUP;
    if (rc != 0 && rc != HG_ENOTSUP) {
        json_decref(o);
        json_decref(failed);
        return rc; /* the connector refused: its reply says why */
    }
    for (uint32_t i = 0; i < c->n; i++) {
        hg__cstream *cs = &c->st[i];
        if (cs->stray)
            continue;
        if (cs->opened && hg__stream_active(cs->s)) {
            hg__stream_cancel(cs->s);
            if (hg__conn_join(c, cs, RESTART_BOUND_NS) != 0) {
                json_array_append_new(failed, json_string(hg__stream_name(cs->s)));
                continue;
            }
        }
        if (cs->opened)
            cops(c)->stream_close(cs->ud);
        __atomic_store_n(&cs->opened, 0, __ATOMIC_RELEASE);
        if (hg__conn_open_stream(c, i) != 0 ||
            (!__atomic_load_n(&c->stopping, __ATOMIC_ACQUIRE) &&
             hg__stream_start(cs->s, hg__inst_host(c->e->in), hg__inst_token(c->e->in),
                              cops(c)->stream_run, cs->ud) != 0)) {
            json_array_append_new(failed, json_string(c->e->cfg->streams[i].name));
            continue;
        }
        n++;
    }
    json_object_set_new(o, "reloaded", json_integer(n));
    json_object_set_new(o, "failed", failed);
    return reply_obj(o, reply, cap, len);
}

static int conn_command(void *obj, const char *verb, const hg_config *args, char *reply,
                        uint32_t cap, uint32_t *len)
{
    hg__conn *c = obj;
    const hg_host *h = hg__inst_host(c->e->in);
    const char *name = NULL;
    hg__cstream *cs;
    int is_stream_verb = strcmp(verb, "read") == 0 || strcmp(verb, "send") == 0 ||
                         strcmp(verb, "restart") == 0;
    if (strcmp(verb, "streams") == 0)
        return reply_obj(hg__conn_streams_json(c), reply, cap, len);
    if (strcmp(verb, "reload") == 0)
        return cmd_reload(c, args, reply, cap, len);
    if (!is_stream_verb) {
        if (cops(c)->command == NULL)
            return HG_ENOTSUP;
        return cops(c)->command(c->inst, verb, args, reply, cap, len);
    }
    h->cfg_string(h, args, "stream", &name);
    if ((cs = hg__conn_find(c, name)) == NULL) {
        *len = (uint32_t)snprintf(reply, cap, "%s needs \"stream\": one of the connector's "
                                  "streams (got %s)", verb, name ? name : "none");
        return HG_ENOENT;
    }
    if (strcmp(verb, "read") == 0)
        return cmd_read(c, cs, args, reply, cap, len);
    if (strcmp(verb, "send") == 0)
        return cmd_send(c, cs, args, reply, cap, len);
    return cmd_restart(c, cs, reply, cap, len);
}

hg__command_fn hg__conn_command_of(const hg__entry *e)
{
    (void)e;
    return conn_command;
}
