/* frame.h - what moves through the data plane: frames referring to pooled buffers. Shared by
 * processors (processor.h) and stream connectors (connector.h). */
#ifndef HANGAR_FRAME_H
#define HANGAR_FRAME_H

#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* A pooled buffer. Owned by the host's pool; reference-counted through the data-plane service
 * (buf_ref/buf_unref). */
typedef struct hg_buf hg_buf;

/* Back-pressure policies of a link or stream channel. Fixed values. */
enum {
    HG_POLICY_BLOCK = 1,       /* the producer waits (default) */
    HG_POLICY_DROP_NEWEST = 2, /* the new frame is dropped and counted */
    HG_POLICY_DROP_OLDEST = 3  /* the oldest queued frame is dropped and counted */
};

/* Well-known frame type ids; plugins define their own above HG_TYPE_USER. */
enum {
    HG_TYPE_ANY = 0,   /* in a port declaration: accepts every type */
    HG_TYPE_BYTES = 1, /* opaque bytes */
    HG_TYPE_TEXT = 2,  /* UTF-8 text */
    HG_TYPE_TICK = 3,  /* a timer event; payload: none */
    HG_TYPE_USER = 0x10000
};

/* A frame: a reference to a buffer plus its metadata. A plain value, passed by pointer; the
 * reference it holds moves with it (whoever holds the frame owns one reference to buf). */
typedef struct hg_frame {
    uint32_t struct_size;
    uint32_t type;       /* HG_TYPE_* or a plugin's id */
    hg_buf *buf;         /* the buffer, or NULL for a frame without payload */
    uint8_t *data;       /* payload start inside buf; valid while the reference is held */
    uint32_t len;        /* payload bytes */
    uint32_t reserved;
    uint64_t ts_ns;      /* monotonic timestamp set by the producer */
    uint64_t seq;        /* per-port sequence number set by the host on push */
} hg_frame;

#ifdef __cplusplus
}
#endif

#endif /* HANGAR_FRAME_H */
