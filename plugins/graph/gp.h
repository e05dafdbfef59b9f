/* gp.h - shared parts of the graph plugin's processors: the data-plane service, configuration
 * helpers, the push that keeps the buffer accounting whole, and the engines' ops tables. */
#ifndef GP_H
#define GP_H

#include <stdint.h>

#include <hangar/hangar.h>

/* Frames a processor pops (or makes) per process turn: amortises the calls and the clock. */
#define GP_BATCH 64
/* How long one blocking push waits before it tries again (the host checks its stop between). */
#define GP_PUSH_WAIT_NS 200000000ull
/* The longest a processor sleeps inside one process turn (rate limits, timers). */
#define GP_SLICE_NS 50000000ull

/* What every processor instance starts with. */
typedef struct gp_base {
    const hg_host *h;
    const hg_graph_api *g; /* from setup on */
} gp_base;

/* Looks up "hangar.graph/1" for b (setup). Returns: 0, or HG_ENOTSUP after logging why.
 * [engine-thread] */
int gp_setup(gp_base *b);

/* Opens an hg_net for b's instance through "hangar.net/1". Returns 0, or the error after failing
 * the processor with a message. [engine-thread] */
int gp_net_open(gp_base *b, const hg_net_ext **x, const hg_net **net);

/* free(inst), and setup for instances whose struct starts with their gp_base. */
void gp_free(void *inst);
int gp_base_setup(void *inst, hg_proc *p);

/* Pushes f to port: waits while a blocking link is full. On success the reference moved; on
 * any error it was released here. Returns: 0; HG_EAGAIN (the link's drop policy dropped it,
 * counted by the host); HG_ECLOSED (no consumer); HG_ECANCELED (stopping). [engine-thread] */
int gp_push(gp_base *b, hg_proc *p, uint32_t port, hg_frame *f);

/* Pops up to max frames from port into fs without waiting (the first pop waits up to wait_ns).
 * Returns the number popped; when 0, *why is HG_EAGAIN (empty), HG_ECLOSED (end of stream),
 * HG_ECANCELED or another code. [engine-thread] */
uint32_t gp_pop_batch(gp_base *b, hg_proc *p, uint32_t port, hg_frame *fs, uint32_t max,
                      uint64_t wait_ns, int *why);

/* What process returns when a pop brought nothing: done at the end of the stream, idle when
 * empty or stopping, failed on any other code. [engine-thread] */
int gp_idle_result(gp_base *b, int why);

/* Pushes fs[0..n) to port in order. A frame the link's drop policy refused, and every frame
 * left once the output is closed or the processor stopping, is released and counted in
 * dropped. Returns 0, HG_ECLOSED or HG_ECANCELED (the frames are all accounted for).
 * [engine-thread] */
int gp_push_all(gp_base *b, hg_proc *p, uint32_t port, hg_frame *fs, uint32_t n,
                hg_counter *dropped);

/* buf_alloc that waits (up to 1 s, in short sleeps) while the graph's pool is exhausted: the
 * frames in flight come back as consumers release them. Returns: 0; HG_ENOMEM (still exhausted
 * after 1 s); HG_EINVAL (size is above the pool's buffer size). [engine-thread] */
int gp_alloc(gp_base *b, hg_proc *p, uint32_t size, hg_frame *f);

/* A message for a gp_alloc failure ("no buffer of N bytes: ..."). */
int gp_alloc_failed(gp_base *b, int rc, const char *who, uint32_t size);

/* Releases a frame's buffer reference, if any. [engine-thread] */
void gp_drop(gp_base *b, hg_frame *f);

/* Fails the processor: reports FAILED with msg and logs it. Returns rc. [engine-thread] */
int gp_fail(gp_base *b, int rc, const char *msg);

/* Registers counter name (a SUM) into *out. Returns 0 or the host's code. [control-thread] */
int gp_counter(const hg_host *h, const char *name, hg_counter **out);

/* Config helpers: an absent key leaves *out as it is and returns 0; a wrong type, unit or a
 * value outside [min, max] records a FILE:LINE:COL error and returns HG_ECONFIG.
 * [control-thread] */
int gp_cfg_u64(const hg_host *h, const char *key, uint64_t min, uint64_t max, uint64_t *out);
int gp_cfg_size(const hg_host *h, const char *key, uint64_t min, uint64_t max, uint64_t *out);
int gp_cfg_duration(const hg_host *h, const char *key, uint64_t max, uint64_t *out);
int gp_cfg_rate(const hg_host *h, const char *key, double *out);
/* One of `names` (NULL-terminated); *out is its index. */
int gp_cfg_enum(const hg_host *h, const char *key, const char *const *names, uint32_t *out);
/* A string; required: absent is an error too. */
int gp_cfg_str(const hg_host *h, const char *key, int required, const char **out);

/* Runs a config call and keeps the first error in rc, so every key is still checked. */
#define GP_KEEP(rc, call)              \
    do {                               \
        int gp_r_ = (call);            \
        if (gp_r_ != 0 && (rc) == 0)   \
            (rc) = gp_r_;              \
    } while (0)

/* Token bucket of a frame rate: how many frames may go now (at most want), given what went
 * since start. rate 0: no limit. */
typedef struct gp_rate {
    double rate;
    uint64_t start_ns;
    uint64_t sent;
} gp_rate;
uint32_t gp_rate_allow(gp_rate *r, uint64_t now_ns, uint32_t want, uint64_t *wait_ns);

/* Sleeps up to ns, waking early when the instance is cancelled. [engine-thread] */
void gp_sleep(gp_base *b, uint64_t ns);

/* The ops tables and key lists of the engines (plugin.c lists them). */
extern const hg_processor_ops gp_gen_ops, gp_map_ops, gp_filter_ops, gp_tee_ops, gp_merge_ops,
    gp_batch_ops, gp_unbatch_ops, gp_delay_ops, gp_count_sink_ops, gp_lua_ops,
    gp_tcp_source_ops, gp_tcp_writer_ops;
extern const char *const gp_gen_keys[], *const gp_map_keys[], *const gp_filter_keys[],
    *const gp_tee_keys[], *const gp_merge_keys[], *const gp_batch_keys[],
    *const gp_unbatch_keys[], *const gp_delay_keys[], *const gp_count_sink_keys[],
    *const gp_lua_keys[], *const gp_tcp_source_keys[], *const gp_tcp_writer_keys[];

#endif
