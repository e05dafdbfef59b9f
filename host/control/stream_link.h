/* stream_link.h - how the graph runtime connects processors to connectors' streams. */
#ifndef HG_STREAM_LINK_H
#define HG_STREAM_LINK_H

#include "host_api.h"
#include "link.h"

enum { HG__STREAM_EVENTS = 1, HG__STREAM_ACTIONS = 2 };

/* The channel of CONNECTOR.STREAM for a graph link: HG__STREAM_EVENTS (`from:`; the caller
 * becomes its one receiver: hg__link_recv/drain, and sees HG_ECLOSED when the stream is freed),
 * HG__STREAM_ACTIONS (`to:`; the caller sends frames whose buffer references move to the stream:
 * hg__link_send, items are hg_frame * allocated with malloc). The link is borrowed: valid until
 * the connector is destroyed (stop the graph first). Returns: 0 and *out; HG_ENOENT (no such
 * connector or stream); HG_ENOTSUP (the instance is not a running connector); HG_ESTATE (the
 * events are already taken by another link or by `read`); HG_EINVAL. [control-thread] */
int hg__stream_link(hg__host *h, const char *connector, const char *stream, int dir,
                    hg__link **out);
/* Gives the event channel back: the stream discards (counts `unclaimed`) until taken again.
 * [control-thread] */
void hg__stream_unlink(hg__host *h, const char *connector, const char *stream);

#endif
