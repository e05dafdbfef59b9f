/* stream_link.h - how the graph runtime connects processors to connectors' streams. */
#ifndef HG_STREAM_LINK_H
#define HG_STREAM_LINK_H

#include <hangar/processor.h>

#include "host_api.h"
#include "link.h"

/* The directions, as the graph names a link end's port: a stream's events feed a processor's
 * input (the stream end is an output, HG_PORT_OUT); its actions come from a processor's output
 * (the stream end is an input, HG_PORT_IN). */
enum { HG__STREAM_EVENTS = HG_PORT_OUT, HG__STREAM_ACTIONS = HG_PORT_IN };

/* The channel of CONNECTOR.STREAM for a graph link (the signature of the graph-core branch's
 * hook hg__host.stream_link: set that field to this function): HG__STREAM_EVENTS (`from:`; the caller
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
