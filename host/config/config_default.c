/* config_default.c - the configuration `hangar run` uses without a file: an echo server and a
 * generator against it (`connect: echo` is resolved by the host to echo's bound address), and
 * beside them a small graph: 200,000 frames at 100,000 a second (done before the
 * generator's 3 s) through map into a count-sink. */
#include "config.h"

const char hg__default_config_yaml[] =
    "hangar: 1\n"
    "runtime: { mode: uv, workers: 2 }\n"
    "pipelines:\n"
    "  - { name: echo, engine: tcp-echo, listen: \"127.0.0.1:0\" }\n"
    "  - { name: load, engine: tcp-gen, connect: echo, connections: 16, payload: 64B, "
    "pattern: ping-pong, duration: 3s }\n"
    "graph:\n"
    "  processors:\n"
    "    - { name: frames, engine: gen, mode: continuous, size: 64B, rate: 100000, "
    "count: 200000, pattern: seq }\n"
    "    - { name: upper, engine: map, transform: upper }\n"
    "    - { name: counted, engine: count-sink }\n"
    "  links:\n"
    "    - { from: frames.out, to: upper.in }\n"
    "    - { from: upper.out, to: counted.in }\n";
