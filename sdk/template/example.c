/* example.c - an example hangar plugin: one TCP pipeline engine, "example-upper", a server that
 * sends back every byte it reads in upper case, keeps connections alive between requests and
 * closes the idle ones on a graceful stop. Built against the installed SDK only; see README.md. */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <hangar/hangar.h>

typedef struct upper upper;

/* One connection. Lives on its worker's list from on_accept until on_closed; only that worker
 * touches it. */
typedef struct uconn {
    upper *u;
    hg_conn *c;
    struct uconn *prev, *next;
    int paused;    /* answers held back by back-pressure: reading paused */
    int streaming; /* has hit back-pressure: its peer sends more than it reads, so bytes may be
                    * on their way to us at any time */
    int shut;      /* stopping: our side is half-closed; what the peer still sends is dropped */
} uconn;

/* The connections of one worker, and what a post to that worker needs. */
typedef struct ulist {
    upper *u;
    uconn *head;
} ulist;

/* Everything an instance needs hangs off its own pointer: no global state. */
struct upper {
    const hg_host *host;
    const hg_net *net;      /* from start; borrowed until the host closes it after a stop */
    hg_listener *listener;
    const char *listen;     /* borrowed from the config until destroy */
    uint64_t idle_ns;
    hg_counter *bytes;      /* bytes converted */
    hg_counter *open;       /* connections open now */
    ulist *lists;           /* one per worker, for this start */
    uint32_t n_lists;
    uint32_t stopping;      /* written on the control thread, read on workers: atomic */
};

static int is_stopping(const upper *u)
{
    return __atomic_load_n(&u->stopping, __ATOMIC_ACQUIRE) != 0;
}

/* --- connection callbacks: run on the worker thread that owns the connection --- */

/* Ends a connection for a graceful stop, on its worker. An idle one (nothing queued, never
 * streaming) is closed: FIN, and its keep-alive client sees the end at once. A busy one is
 * half-closed: the FIN follows the answers already queued, reading goes on (and drops what
 * arrives), and the connection ends when the peer, having read every answer and the EOF, closes
 * too. Closing a busy one outright would reset it (a socket closed with unread bytes sends a
 * RST), and the peer would lose the answers not yet read. */
static void end_connection(uconn *uc)
{
    const hg_net *net = uc->u->net;

    if (uc->shut)
        return;
    if (!uc->streaming && !uc->paused && net->queued(net, uc->c) == 0) {
        net->close(net, uc->c, HG_CLOSE_GRACEFUL);
        return;
    }
    uc->shut = 1;
    net->shutdown_write(net, uc->c);
    if (uc->paused) {
        uc->paused = 0;
        net->read_resume(net, uc->c);
    }
}

static int on_accept(void *ud, hg_conn *c, void **conn_ud)
{
    upper *u = ud;
    ulist *l = &u->lists[u->net->conn_worker(u->net, c)];
    uconn *uc;

    if (is_stopping(u))
        return HG_ECLOSED; /* refused: the runtime resets it and counts it; no on_closed */
    uc = calloc(1, sizeof *uc);
    if (!uc)
        return HG_ENOMEM;
    uc->u = u;
    uc->c = c;
    uc->next = l->head;
    if (l->head)
        l->head->prev = uc;
    l->head = uc;
    *conn_ud = uc;
    if (u->idle_ns)
        u->net->set_timeouts(u->net, c, u->idle_ns, 0, 0);
    hg_counter_add(u->open, 1);
    return 0;
}

static void on_data(void *ud, hg_conn *c, const uint8_t *data, uint32_t len)
{
    uconn *uc = ud;
    upper *u = uc->u;
    uint8_t buf[4096];
    if (uc->shut)
        return; /* the peer's own close ends the connection */
    while (len > 0) {
        uint32_t n = len < sizeof buf ? len : (uint32_t)sizeof buf;
        for (uint32_t i = 0; i < n; i++)
            buf[i] = (uint8_t)toupper(data[i]);
        /* counted before the write: once the peer has the answer, the counter shows it */
        hg_counter_add(u->bytes, n);
        /* write copies what the kernel does not take at once; HG_EAGAIN means the queue is
         * above its high-water mark: stop reading until on_writable. */
        if (u->net->write(u->net, c, buf, n) == HG_EAGAIN && !uc->paused) {
            u->net->read_pause(u->net, c);
            uc->paused = uc->streaming = 1;
        }
        data += n;
        len -= n;
    }
    /* A request that came in while stopping is answered; then the connection ends. */
    if (is_stopping(u))
        end_connection(uc);
}

static void on_writable(void *ud, hg_conn *c)
{
    uconn *uc = ud;
    uc->paused = 0;
    uc->u->net->read_resume(uc->u->net, c);
}

static void on_closed(void *ud, hg_conn *c, const hg_conn_record *rec)
{
    uconn *uc = ud;
    upper *u = uc->u;
    ulist *l = &u->lists[u->net->conn_worker(u->net, c)];
    (void)rec; /* the runtime already counted and recorded the connection */
    if (uc->prev)
        uc->prev->next = uc->next;
    else
        l->head = uc->next;
    if (uc->next)
        uc->next->prev = uc->prev;
    free(uc);
    hg_counter_sub(u->open, 1);
    /* Read `stopping` with a read-modify-write, as upper_stop writes it: of the two, the later
     * one sees the other's change, so the last close and a stop racing it cannot both miss
     * reporting stopped. */
    if (__atomic_fetch_add(&u->stopping, 0, __ATOMIC_SEQ_CST) && hg_counter_get(u->open) == 0)
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

/* Posted to each worker by a graceful stop: ends every connection of that worker. */
static void end_connections(void *arg)
{
    ulist *l = arg;
    for (uconn *uc = l->head, *next; uc; uc = next) {
        next = uc->next; /* on_closed (which frees uc) never runs inside our own call */
        end_connection(uc);
    }
}

/* listen must be HOST:PORT ("127.0.0.1:7100", "[::1]:0", "localhost:80"): checked at create, so
 * `hangar check` reports a bad one at its line. Returns NULL, or why it is not. */
static const char *listen_problem(const char *s)
{
    const char *colon, *port;
    char *end;
    long n;

    if (s[0] == '[') {
        const char *close = strchr(s, ']');
        if (!close || close == s + 1 || close[1] != ':')
            return "expected [IPv6]:PORT";
        colon = close + 1;
    } else {
        colon = strrchr(s, ':');
        if (!colon)
            return "expected HOST:PORT (a port is missing)";
        if (colon == s)
            return "expected HOST:PORT (the host is missing)";
        if (memchr(s, ':', (size_t)(colon - s)))
            return "an IPv6 host needs brackets: [::1]:PORT";
    }
    port = colon + 1;
    if (*port < '0' || *port > '9')
        return "the port is not a number";
    n = strtol(port, &end, 10);
    if (*end != '\0' || n > 65535)
        return "the port must be a number from 0 to 65535";
    return NULL;
}

/* --- lifecycle: run on the control thread --- */

static int upper_create(const hg_host *host, const hg_config *cfg, void **out)
{
    upper *u = calloc(1, sizeof(*u));
    const char *why;
    char msg[200];
    int rc;

    if (!u)
        return HG_ENOMEM;
    u->host = host;
    rc = host->cfg_string(host, cfg, "listen", &u->listen);
    if (rc == HG_ENOENT)
        rc = host->cfg_error(host, cfg, NULL, "example-upper needs 'listen' (HOST:PORT)");
    if (rc == 0 && (why = listen_problem(u->listen)) != NULL) {
        snprintf(msg, sizeof msg, "bad address '%.100s': %s", u->listen, why);
        rc = host->cfg_error(host, cfg, "listen", msg);
    }
    if (rc == 0 && host->cfg_duration(host, cfg, "idle_timeout", &u->idle_ns) == HG_ECONFIG)
        rc = HG_ECONFIG;
    if (rc == 0)
        rc = host->counter(host, "bytes_converted", HG_COUNTER_SUM, &u->bytes);
    if (rc == 0)
        rc = host->counter(host, "open", HG_COUNTER_GAUGE, &u->open);
    if (rc != 0) {
        free(u); /* a create that fails frees what it made: destroy is not called */
        return rc;
    }
    *out = u;
    return 0;
}

static void upper_destroy(void *inst)
{
    upper *u = inst;
    free(u->lists); /* the host closed the net: every on_closed has run, the lists are empty */
    free(u);
}

static int upper_start(void *inst, const hg_net *net)
{
    upper *u = inst;
    char addr[128];
    int rc;

    u->net = net;
    /* start runs again after a stop (`restart NAME`, `start NAME`): undo what stop did. The
     * last run's lists are empty: its net was closed, so every on_closed has run. */
    __atomic_store_n(&u->stopping, 0, __ATOMIC_RELEASE);
    free(u->lists);
    u->n_lists = net->workers(net);
    u->lists = calloc(u->n_lists ? u->n_lists : 1, sizeof *u->lists);
    if (!u->lists)
        return HG_ENOMEM;
    for (uint32_t i = 0; i < u->n_lists; i++)
        u->lists[i].u = u;
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
    __atomic_exchange_n(&u->stopping, 1, __ATOMIC_SEQ_CST); /* see on_closed */
    if (u->listener) {
        u->net->listener_close(u->net, u->listener);
        u->listener = NULL;
    }
    /* Now: the host cuts what is left right after this call (net_close). */
    if (how == HG_STOP_NOW || hg_counter_get(u->open) == 0) {
        u->host->set_state(u->host, HG_STATE_STOPPED, 0, NULL);
        return;
    }
    /* Graceful: a keep-alive client would hold its connection open forever, so end every
     * connection now, on its own worker (stop must not block): idle ones close, busy ones
     * finish their answers first. on_closed reports stopped after the last. */
    for (uint32_t i = 0; i < u->n_lists; i++)
        u->net->post(u->net, (int32_t)i, end_connections, &u->lists[i]);
}

/* `call NAME "stats"` or `call NAME {"verb":"stats","reset":true}`: the figures as a JSON object
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
