/* net_ext.h - the "hangar.net/1" host extension: lets an engine that is not a pipeline (a graph
 * processor) open its own hg_net on the host's runtime mode, to listen and connect as a
 * pipeline does. Looked up with host->get_extension(host, HG_NET_EXTENSION). */
#ifndef HANGAR_NET_EXT_H
#define HANGAR_NET_EXT_H

#include <stdint.h>

#include "host.h"
#include "net.h"

#ifdef __cplusplus
extern "C" {
#endif

#define HG_NET_EXTENSION "hangar.net/1"

typedef struct hg_net_ext hg_net_ext;

struct hg_net_ext {
    uint32_t struct_size;
    /* Opens an hg_net for the calling instance (h: the instance's own table) on the host's
     * runtime mode, as the host does for each start of a pipeline: the runtime registers the
     * connection counters (connections_open, bytes_in, ...) on the instance and writes its
     * records. Call it from the instance's own thread in a lifecycle callback or a processor's
     * setup, once the runtime runs. *out is valid until net_close. Returns: 0 and *out;
     * HG_ENOTSUP (the host has no runtime mode); HG_ESTATE (the runtime mode is not running);
     * HG_ENOMEM; the runtime mode's error. [any-thread but a runtime worker] */
    int (*net_open)(const hg_net_ext *x, const hg_host *h, const hg_net **out);
    /* Closes a table from net_open: closes its listeners, cuts its connections (on_closed runs
     * for each) and waits until none of its callbacks or posts runs. Call it before the
     * instance's destroy returns, not from a callback of that net. Returns: the number of
     * connections cut. [any-thread but a runtime worker] */
    uint32_t (*net_close)(const hg_net_ext *x, const hg_host *h, const hg_net *net);
};

#ifdef __cplusplus
}
#endif

#endif /* HANGAR_NET_EXT_H */
