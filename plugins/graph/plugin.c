/* plugin.c - the descriptor of the graph plugin (org.hangar.graph): the built-in graph
 * processors: sources, transforms, routing, batching, timing, sinks, Lua and TCP bridges. */
#include "gp.h"

#define PROC(n, s, o, k)                                                                     \
    {.struct_size = sizeof(hg_engine), .kind = HG_KIND_PROCESSOR, .name = n, .summary = s,  \
     .ops = &o, .config_keys = k}

static const hg_engine engines[] = {
    PROC("gen", "frame generator: size, rate, count, pattern", gp_gen_ops, gp_gen_keys),
    PROC("map", "byte transform: upper, lower or xor", gp_map_ops, gp_map_keys),
    PROC("filter", "passes frames by size and content, counts the rest", gp_filter_ops,
         gp_filter_keys),
    PROC("tee", "every frame to each linked output, by reference", gp_tee_ops, gp_tee_keys),
    PROC("merge", "frames of every linked input to one output", gp_merge_ops, gp_merge_keys),
    PROC("batch", "N frames into one length-prefixed buffer", gp_batch_ops, gp_batch_keys),
    PROC("unbatch", "a batch back into its frames", gp_unbatch_ops, gp_unbatch_keys),
    PROC("delay", "holds each frame for a duration", gp_delay_ops, gp_delay_keys),
    PROC("count-sink", "counts frames, bytes and sequence gaps; optional rate",
         gp_count_sink_ops, gp_count_sink_keys),
    PROC("lua", "a Lua script's process(data) per frame", gp_lua_ops, gp_lua_keys),
    PROC("tcp-source", "TCP listener whose reads become frames", gp_tcp_source_ops,
         gp_tcp_source_keys),
    PROC("tcp-writer", "TCP client that writes frames out", gp_tcp_writer_ops,
         gp_tcp_writer_keys),
};

HG_EXPORT const hg_plugin hangar_plugin = {
    HG_PLUGIN_INIT,
    .id = "org.hangar.graph",
    .version = "0.1.0",
    .summary = "graph processors: gen, map, filter, tee, merge, batch, unbatch, delay, "
               "count-sink, lua, tcp-source, tcp-writer",
    .n_engines = sizeof engines / sizeof engines[0],
    .engines = engines,
    .init = NULL,
    .deinit = NULL,
};
