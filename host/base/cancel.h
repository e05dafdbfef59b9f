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
/* Names t for the report of hg__cancel_wait_subtree (copied, cut to 46 bytes). [any-thread] */
void hg__cancel_set_name(hg_cancel *t, const char *name);
/* Says t's holder finished the work the cancel asked it to stop (a stream's thread returned).
 * A released token counts as acknowledged. [any-thread, never blocks long] */
void hg__cancel_ack(hg_cancel *t);
/* Waits up to timeout_ns for every token below t to be acknowledged or freed. Returns: 0;
 * HG_ETIMEDOUT with *n_late (may be NULL) the tokens still pending and their names in late
 * (", "-separated, cut with "..." to cap; may be NULL); HG_EINVAL (t NULL). [any-thread] */
int hg__cancel_wait_subtree(hg_cancel *t, uint64_t timeout_ns, char *late, uint32_t cap,
                            uint32_t *n_late);
/* Live tokens in t's subtree, t included (released tokens with live children too). [any-thread] */
uint32_t hg__cancel_subtree_size(hg_cancel *t);
/* Releases a token; a root is freed with its whole tree when released last. */
void hg__cancel_release(hg_cancel *t);

#endif
