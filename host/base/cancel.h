/* cancel.h - cancel tokens: a tree in which cancelling a node cancels its subtree, with waits
 * and subscriptions (callbacks run on the cancelling thread). One mutex per tree. */
#ifndef HG_CANCEL_H
#define HG_CANCEL_H

#include <stdint.h>

#include <hangar/host.h>

/* A new root token (a host's, or a standalone instance's). */
int hg__cancel_root(hg_cancel **out);
int hg__cancel_child(hg_cancel *parent, hg_cancel **out);
void hg__cancel_fire(hg_cancel *t);
uint8_t hg__cancel_is_set(hg_cancel *t);
int hg__cancel_wait(hg_cancel *t, uint64_t timeout_ns);
int hg__cancel_subscribe(hg_cancel *t, void (*fn)(void *), void *arg, uint64_t *sub_out);
void hg__cancel_unsubscribe(hg_cancel *t, uint64_t sub);
/* Releases a token; a root is freed with its whole tree when released last. */
void hg__cancel_release(hg_cancel *t);

#endif
