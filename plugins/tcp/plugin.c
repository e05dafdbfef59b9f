/* plugin.c - the descriptor of the tcp plugin (org.hangar.tcp): four TCP pipeline engines,
 * tcp-echo, tcp-gen, tcp-proxy and tcp-sink, on whichever runtime mode the host runs. */
#include "tcp.h"

static const hg_engine engines[] = {
    {
        .struct_size = sizeof(hg_engine),
        .kind = HG_KIND_PIPELINE,
        .name = "tcp-echo",
        .summary = "TCP echo server: writes back what it reads",
        .ops = &hg__tcp_echo_ops,
        .config_keys = hg__tcp_echo_keys,
    },
    {
        .struct_size = sizeof(hg_engine),
        .kind = HG_KIND_PIPELINE,
        .name = "tcp-gen",
        .summary = "TCP traffic generator: ping-pong or stream, with latency percentiles",
        .ops = &hg__tcp_gen_ops,
        .config_keys = hg__tcp_gen_keys,
    },
    {
        .struct_size = sizeof(hg_engine),
        .kind = HG_KIND_PIPELINE,
        .name = "tcp-proxy",
        .summary = "TCP proxy: relays each client to an upstream, with bounded buffers",
        .ops = &hg__tcp_proxy_ops,
        .config_keys = hg__tcp_proxy_keys,
    },
    {
        .struct_size = sizeof(hg_engine),
        .kind = HG_KIND_PIPELINE,
        .name = "tcp-sink",
        .summary = "TCP sink: reads and discards",
        .ops = &hg__tcp_sink_ops,
        .config_keys = hg__tcp_sink_keys,
    },
};

HG_EXPORT const hg_plugin hangar_plugin = {
    HG_PLUGIN_INIT,
    .id = "org.hangar.tcp",
    .version = "0.1.0",
    .summary = "TCP pipelines: echo, generator, proxy, sink",
    .n_engines = sizeof engines / sizeof engines[0],
    .engines = engines,
    .init = NULL,
    .deinit = NULL,
};
