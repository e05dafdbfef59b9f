/* stream_link.c - the graph's way into a connector's streams: `from: CONNECTOR.STREAM` takes the
 * stream's event channel (its one receiver), `to: CONNECTOR.STREAM` sends into its action
 * channel (any number of senders). */
#include <string.h>

#include "conn_priv.h"
#include "host_priv.h"
#include "stream_link.h"

int hg__stream_link(hg__host *h, const char *connector, const char *stream, int dir,
                    hg__link **out)
{
    hg__entry *e;
    hg__cstream *cs;
    int rc = 0;
    if (h == NULL || connector == NULL || stream == NULL || out == NULL ||
        (dir != HG__STREAM_EVENTS && dir != HG__STREAM_ACTIONS))
        return HG_EINVAL;
    pthread_mutex_lock(&h->list_mu);
    e = hg__host_find(h, connector);
    if (e == NULL)
        rc = HG_ENOENT;
    else if (e->def->kind != HG_KIND_CONNECTOR || e->obj == NULL)
        rc = HG_ENOTSUP;
    else if ((cs = hg__conn_find(e->obj, stream)) == NULL)
        rc = HG_ENOENT;
    else if (dir == HG__STREAM_EVENTS && (rc = hg__stream_claim(cs->s)) == 0)
        *out = hg__stream_events(cs->s);
    else if (dir == HG__STREAM_ACTIONS)
        *out = hg__stream_actions(cs->s);
    pthread_mutex_unlock(&h->list_mu);
    return rc;
}

void hg__stream_unlink(hg__host *h, const char *connector, const char *stream)
{
    hg__entry *e;
    hg__cstream *cs;
    pthread_mutex_lock(&h->list_mu);
    e = hg__host_find(h, connector);
    if (e != NULL && e->def->kind == HG_KIND_CONNECTOR && e->obj != NULL &&
        (cs = hg__conn_find(e->obj, stream)) != NULL && !cs->reader)
        hg__stream_unclaim(cs->s);
    pthread_mutex_unlock(&h->list_mu);
}
