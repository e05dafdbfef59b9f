/* ctl_socket.h - the control socket: JSON lines in and out over a Unix socket (mode 0600). */
#ifndef HG_CTL_SOCKET_H
#define HG_CTL_SOCKET_H

#include <stddef.h>

#include "host_api.h"

typedef struct hg__ctl hg__ctl;

/* Creates the socket at path, mode 0600, and serves it on its own thread. A socket left there by
 * a host that died is replaced; anything else there is left alone. On failure err says why.
 * Returns 0, HG_ENOSPC (path too long), HG_EEXIST (not a socket), HG_EADDRINUSE (another host
 * answers there), HG_ENOENT (no such directory), HG_EPERM, HG_EIO. */
int hg__ctl_open(hg__host *h, const char *path, hg__ctl **out, char *err, size_t cap);
/* The reply to a command line with a NUL byte at offset `at` (the socket's, and a scenario's
 * h:command): {"ok":false,...,"code":"EINVAL"}, nothing run. Returns a new string (free it), or
 * NULL when out of memory. [any-thread] */
char *hg__ctl_nul_reply(size_t at);
/* Stops serving, closes every client and removes the socket file. */
void hg__ctl_close(hg__ctl *ctl);

#endif
