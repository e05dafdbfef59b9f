/* config_default.c - the configuration `hangar run` uses without a file: an echo server and a
 * generator against it (`connect: echo` is resolved by the host to echo's bound address). */
#include "config.h"

const char hg__default_config_yaml[] =
    "hangar: 1\n"
    "runtime: { mode: uv, workers: 2 }\n"
    "pipelines:\n"
    "  - { name: echo, engine: tcp-echo, listen: \"127.0.0.1:0\" }\n"
    "  - { name: load, engine: tcp-gen, connect: echo, connections: 16, payload: 64B, "
    "pattern: ping-pong, duration: 3s }\n";
