/* instance_thread.c - an instance's threads (thread_spawn, thread_join on base/thread.c) and the
 * debug-build check that a [control-thread] service is called from its host's control thread. */
#define _GNU_SOURCE
#include <stdio.h>
#include <string.h>

#include "instance_priv.h"
#include "thread.h"

/* How long thread_join waits before it says a thread has not returned (then waits on). */
#define JOIN_REPORT_NS (5ull * 1000000000ull)

static hg__inst *self_of(const hg_host *h)
{
    return (hg__inst *)h->host_data;
}

/* "svc_cfg_int" -> "cfg_int": the service's name in the hg_host table. */
static const char *service_name(const char *fn)
{
    return strncmp(fn, "svc_", 4) == 0 ? fn + 4 : fn;
}

void hg__inst_check_control(const hg__inst *in, const char *fn)
{
    const void *owner = in->hooks.ud;
    if (owner == NULL || hg__thread_is_control_of(owner))
        return; /* a standalone instance has no control thread to hold it to */
    hg__thread_check_fail(service_name(fn), in->name, "[control-thread]");
}

hg__thread_mark hg__inst_enter_control(const hg__inst *in)
{
    return hg__thread_enter(HG__THREAD_CONTROL, in->hooks.ud);
}

int hg__inst_svc_thread_spawn(const hg_host *h, const char *name, int32_t core,
                              void (*fn)(void *), void *arg, hg_thread **out)
{
    hg__inst *in = self_of(h);
    hg__thread_opts o;
    char shown[16];
    int rc;

    if (fn == NULL || out == NULL || core < HG_CORE_AUTO)
        return HG_EINVAL;
#ifndef NDEBUG
    if (in->hooks.ud != NULL && !hg__thread_is_control_of(in->hooks.ud) &&
        !hg__thread_is_engine_of(in->hooks.ud))
        hg__thread_check_fail("thread_spawn", in->name,
                              "[control-thread or any thread the engine spawned]");
#endif
    if (core == HG_CORE_AUTO)
        core = in->hooks.auto_core ? in->hooks.auto_core(in->hooks.ud, in) : HG_CORE_ANY;
    memset(&o, 0, sizeof o);
    o.name = name ? name : in->name;
    o.core = core;
    o.role = HG__THREAD_ENGINE;
    o.owner = in->hooks.ud;
    o.engine = in->name;
    o.what = "thread";
    rc = hg__thread_spawn(&o, fn, arg, out);
    if (rc == HG_EINVAL && core >= 0) {
        snprintf(shown, sizeof shown, "%s", o.name);
        hg__log(in->lg, HG_LOG_WARN, in->name,
                "thread %s: cannot pin to core %d; running unpinned", shown, core);
        o.core = HG_CORE_ANY;
        rc = hg__thread_spawn(&o, fn, arg, out);
    }
    return rc;
}

/* Waits for the thread as long as it takes (the engine frees what it uses once this returns),
 * saying so when it has not returned within JOIN_REPORT_NS. */
int hg__inst_svc_thread_join(const hg_host *h, hg_thread *t)
{
    hg__inst *in = self_of(h);
    uint64_t waited = 0;
    int rc;

    if (t == NULL)
        return HG_EINVAL;
    while ((rc = hg__thread_join(t, JOIN_REPORT_NS)) == HG_ETIMEDOUT) {
        waited += JOIN_REPORT_NS;
        hg__log(in->lg, waited == JOIN_REPORT_NS ? HG_LOG_WARN : HG_LOG_DEBUG, in->name,
                "thread_join: thread %s has not returned after %llus; still waiting for it",
                hg__thread_name(t), (unsigned long long)(waited / 1000000000ull));
    }
    return rc;
}
