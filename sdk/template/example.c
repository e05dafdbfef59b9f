/* example.c - an example hangar plugin: one TCP pipeline engine, "example-upper", a server that
 * sends back every byte it reads in upper case. Built against the installed SDK only; see
 * README.md. */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <hangar/hangar.h>

/* Everything an instance needs hangs off its own pointer: no global state. */
typedef struct upper {
    const hg_host *host;
    const hg_net *net;      /* from start; borrowed until destroy */
    hg_listener *listener;
    const char *listen;     /* borrowed from the config until destroy */
    uint64_t idle_ns;
    hg_counter *bytes;      /* bytes converted */
    hg_counter *open;       /* connections open now */
    uint32_t stopping;      /* written on the control thread, read on workers: atomic */
} upper;

static int is_stopping(const upper *u)
{
    return __atomic_load_n(&u->stopping, __ATOMIC_ACQUIRE) != 0;
}

/* --- connection callbacks: run on the worker thread that owns the connection --- */

static int on_accept(void *ud, hg_conn *c, void **conn_ud)
{
    upper *u = ud;
    if (is_stopping(u))
        return HG_ECLOSED; /* refused: the runtime closes it and counts it */
    *conn_ud = u;
    if (u->idle_ns)
        u->net->set_timeouts(u->net, c, u->idle_ns, 0, 0);
    hg_counter_add(u->open, 1);
    return 0;
}

static void on_data(void *ud, hg_conn *c, const uint8_t *data, uint32_t len)
{
    upper *u = ud;
    uint8_t buf[4096];
    while (len > 0) {
        uint32_t n = len < sizeof buf ? len : (uint32_t)sizeof buf;
        for (uint32_t i = 0; i < n; i++)
            buf[i] = (uint8_t)toupper(data[i]);
        /* counted before the write: once the peer has the answer, the counter shows it */
        hg_counter_add(u->bytes, n);
        /* write copies what the kernel does not take at once; HG_EAGAIN means the queue is
         * above its high-water mark: stop reading until on_writable. */
        if (u->net->write(u->net, c, buf, n) == HG_EAGAIN)
            u->net->read_pause(u->net, c);
        data += n;
        len -= n;
    }
}

static void on_writable(void *ud, hg_conn *c)
{
    upper *u = ud;
    u->net->read_resume(u->net, c);
}

static void on_closed(void *ud, hg_conn *c, const hg_conn_record *rec)
{
    upper *u = ud;
    (void)c;
    (void)rec; /* the runtime already counted and recorded the connection */
    hg_counter_sub(u->open, 1);
    if (is_stopping(u) && hg_counter_get(u->open) == 0)
        u->host->set_state(u->host, HG_STATE_STOPPED, 0, NULL);
}

static const hg_conn_handler handler = {
    .struct_size = sizeof(hg_conn_handler),
    .on_accept = on_accept,
    .on_data = on_data,
    .on_writable = on_writable,
    .on_closed = on_closed,
    /* on_peer_shutdown and on_timeout keep their defaults: finish writing then close, and
     * close on a timeout. */
};

/* --- lifecycle: run on the control thread --- */

static int upper_create(const hg_host *host, const hg_config *cfg, void **out)
{
    upper *u = calloc(1, sizeof(*u));
    char addr[128];
    int rc;

    if (!u)
        return HG_ENOMEM;
    u->host = host;
    rc = host->cfg_string(host, cfg, "listen", &u->listen);
    if (rc == HG_ENOENT)
        rc = host->cfg_error(host, cfg, NULL, "example-upper needs 'listen' (HOST:PORT)");
    if (rc == 0 && host->resolve_address(host, u->listen, addr, sizeof addr) == HG_EINVAL)
        rc = host->cfg_error(host, cfg, "listen", "not an address: write HOST:PORT");
    if (rc == 0 && host->cfg_duration(host, cfg, "idle_timeout", &u->idle_ns) == HG_ECONFIG)
        rc = HG_ECONFIG;
    if (rc == 0)
        rc = host->counter(host, "bytes_converted", HG_COUNTER_SUM, &u->bytes);
    if (rc == 0)
        rc = host->counter(host, "open", HG_COUNTER_GAUGE, &u->open);
    if (rc != 0) {
        free(u);
        return rc;
    }
    *out = u;
    return 0;
}

static void upper_destroy(void *inst)
{
    free(inst);
}

static int upper_start(void *inst, const hg_net *net)
{
    upper *u = inst;
    char addr[128];
    int rc;

    u->net = net;
    /* start runs again after a stop (`restart NAME`, `start NAME`): undo what stop did */
    __atomic_store_n(&u->stopping, 0, __ATOMIC_RELEASE);
    rc = u->host->resolve_address(u->host, u->listen, addr, sizeof addr);
    if (rc == 0)
        rc = net->listen(net, addr, 128, &handler, u, &u->listener);
    if (rc != 0)
        return rc;
    /* Publish the bound port (port 0 picks one): `counters NAME` shows it as "address". */
    if (net->listener_address(net, u->listener, addr, sizeof addr) == 0)
        u->host->set_info(u->host, "address", addr);
    return 0;
}

static void upper_stop(void *inst, uint32_t how)
{
    upper *u = inst;
    __atomic_store_n(&u->stopping, 1, __ATOMIC_RELEASE);
    if (u->listener) {
        u->net->listener_close(u->net, u->listener);
        u->listener = NULL;
    }
    /* Graceful: connections finish on their own, and on_closed reports stopped after the last.
     * Now: the host cuts what is left right after this call (net_close). */
    if (how == HG_STOP_NOW || hg_counter_get(u->open) == 0)
        u->host->set_state(u->host, HG_STATE_STOPPED, 0, NULL);
}

/* `call NAME stats` or `call NAME {"verb":"stats","reset":true}`: the figures as a JSON object
 * (and, with reset, bytes_converted back to 0). A failed command writes its message as text. */
static int upper_command(void *inst, const char *verb, const hg_config *args, char *reply,
                         uint32_t cap, uint32_t *len)
{
    upper *u = inst;
    const char *reset = "false";
    uint64_t bytes;
    int n;

    if (strcmp(verb, "stats") != 0)
        return HG_ENOTSUP;
    if (args && u->host->cfg_string(u->host, args, "reset", &reset) == HG_ECONFIG)
        reset = "?";
    if (strcmp(reset, "true") != 0 && strcmp(reset, "false") != 0) {
        n = snprintf(reply, cap, "'reset' must be true or false, got \"%s\"", reset);
        *len = n < 0 ? 0 : (uint32_t)n;
        return HG_EINVAL;
    }
    bytes = hg_counter_get(u->bytes);
    n = snprintf(reply, cap, "{\"bytes_converted\":%llu,\"open\":%llu}",
                 (unsigned long long)bytes, (unsigned long long)hg_counter_get(u->open));
    *len = n < 0 ? 0 : (uint32_t)n;
    if (*len >= cap)
        return HG_ENOSPC; /* the host calls again with cap > *len */
    if (strcmp(reset, "true") == 0)
        hg_counter_set(u->bytes, 0);
    return 0;
}

static const hg_pipeline_ops upper_ops = {
    .struct_size = sizeof(hg_pipeline_ops),
    .create = upper_create,
    .destroy = upper_destroy,
    .start = upper_start,
    .stop = upper_stop,
    .command = upper_command,
};

static const char *const upper_keys[] = {"listen", "idle_timeout", NULL};

static const hg_engine engines[] = {
    {
        .struct_size = sizeof(hg_engine),
        .kind = HG_KIND_PIPELINE,
        .name = "example-upper",
        .summary = "TCP server that answers every byte in upper case",
        .ops = &upper_ops,
        .config_keys = upper_keys,
    },
};

/* The one exported symbol. HG_PLUGIN_INIT sets struct_size and the ABI version. */
HG_EXPORT const hg_plugin hangar_plugin = {
    HG_PLUGIN_INIT,
    .id = "org.example.upper",
    .version = "0.1.0",
    .summary = "Example plugin: an upper-casing TCP server",
    .n_engines = 1,
    .engines = engines,
};
