/* cn.h - what the in-tree connectors (ticker, tail, tcp, udp, exec) share: the host tables and helpers to
 * emit a copy of some bytes as an event and to wait on a stream's cancel token. */
#ifndef CN_H
#define CN_H

#include <stdint.h>

#include <hangar/hangar.h>

#define CN_FOREVER UINT64_MAX
#define CN_FRAME_MAX (1u << 20) /* the largest frame a stream's pool has buffers for */

typedef struct cn {
    const hg_host *h;
    const hg_stream_api *api;
} cn;

/* The connector instance every in-tree connector uses: the host table and its stream service
 * (HG_ENOTSUP when the host has none). [control-thread] */
int cn_create(const hg_host *h, const hg_config *cfg, void **out);
void cn_destroy(void *inst);
/* Emits len bytes of data as a frame of type type, waiting for a buffer while the pool has none
 * free and then as the channel's policy says, until the stream is cancelled. Returns 0,
 * HG_EAGAIN (dropped by a drop policy: counted by the host), HG_ECANCELED, HG_ENOMEM (len over
 * CN_FRAME_MAX: the caller counts it). [stream thread] */
int cn_emit(const cn *c, hg_stream *s, uint32_t type, const void *data, uint32_t len);
/* Sleeps ns or until the stream is cancelled. Returns 1 when cancelled. [stream thread] */
int cn_sleep(const cn *c, hg_stream *s, uint64_t ns);
/* Reports every key of a stream item that is neither the host's nor in keys (NULL-terminated)
 * at its position. Returns 0 or HG_ECONFIG. [control-thread] */
int cn_check_keys(const cn *c, const hg_config *node, const char *const *keys);
/* Logs "STREAM: msg" at level. */
void cn_log(const cn *c, uint32_t level, const char *stream, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

extern const hg_connector_ops cn_ticker_ops, cn_tail_ops, cn_tcp_ops, cn_exec_ops, cn_udp_ops;
extern const hg_processor_ops cn_model_ops;

#endif
