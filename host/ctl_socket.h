/* ctl_socket.h - the control socket: JSON lines in and out over a Unix socket (mode 0600). */
#ifndef HG_CTL_SOCKET_H
#define HG_CTL_SOCKET_H

#include "host.h"

typedef struct hg__ctl hg__ctl;

/* Creates the socket at path (a stale file there is replaced) and serves it on its own thread.
 * Returns 0, HG_ENOSPC (path too long), HG_EPERM, HG_EIO. */
int hg__ctl_open(hg__host *h, const char *path, hg__ctl **out);
/* Stops serving, closes every client and removes the socket file. */
void hg__ctl_close(hg__ctl *ctl);

#endif
