/* test-thread-check.c - an instance's threads: thread_spawn on a core the machine lacks runs
 * unpinned with a warning; and the debug-build thread check behind the hg_host table:
 * [control-thread] services pass on the host's control thread and abort, naming the service,
 * the thread and the engine, anywhere else; thread_spawn also passes on the engine's threads. */
#define _GNU_SOURCE
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <sys/resource.h>
#include <sys/sysinfo.h>
#include <sys/wait.h>
#include <unistd.h>

#include <hangar/status.h>

#include "instance.h"
#include "tap.h"
#include "thread.h"

static int host_token; /* stands for the hg__host an instance belongs to */
static hg__inst *inst;
static const hg_host *h;

/* Runs fn in a child with stderr into a pipe; returns the wait status and the child's text. */
static int in_child(void (*fn)(void), char *text, size_t cap)
{
    int fds[2], status = 0;
    ssize_t n, got = 0;
    pid_t pid;
    if (pipe(fds) != 0)
        return -1;
    fflush(stdout);
    pid = fork();
    if (pid == 0) {
        struct rlimit no_core = {0, 0};
        setrlimit(RLIMIT_CORE, &no_core);
        dup2(fds[1], STDERR_FILENO);
        close(fds[0]);
        fn();
        _exit(0);
    }
    close(fds[1]);
    while ((n = read(fds[0], text + got, cap - 1 - (size_t)got)) > 0)
        got += n;
    text[got] = '\0';
    close(fds[0]);
    waitpid(pid, &status, 0);
    return status;
}

static void counter_here(void)
{
    hg_counter *c;
    h->counter(h, "hits", HG_COUNTER_SUM, &c);
}

static void test_check_outside_control_aborts(void)
{
    char text[1024];
    int st = in_child(counter_here, text, sizeof text);
    ok(WIFSIGNALED(st) && WTERMSIG(st) == SIGABRT,
       "counter called from a thread that is not the host's control thread aborts");
    is_str(text, "hangar: thread check: counter called from thread test-check by engine 'demo'; "
                 "it is [control-thread] only\n",
           "  with one line naming the service, the thread and the engine");
}

typedef struct engine_run {
    int nested_rc, info_rc;
} engine_run;

static void nothing(void *arg)
{
    (void)arg;
}

/* On an engine thread: thread_spawn and [any-thread] services are allowed. */
static void engine_allowed(void *arg)
{
    engine_run *r = arg;
    hg_thread *t = NULL;
    r->nested_rc = h->thread_spawn(h, "nested", HG_CORE_ANY, nothing, NULL, &t);
    if (r->nested_rc == 0)
        h->thread_join(h, t);
    r->info_rc = h->set_info(h, "seen", "yes");
}

static void engine_cfg_root(void *arg)
{
    (void)arg;
    h->cfg_root(h);
}

static void cfg_root_on_engine_thread(void)
{
    hg__thread_mark m = hg__inst_enter_control(inst);
    hg_thread *t = NULL;
    if (h->thread_spawn(h, "worker-1", HG_CORE_ANY, engine_cfg_root, NULL, &t) == 0)
        h->thread_join(h, t);
    hg__thread_leave(m);
}

static void test_check_on_control_thread_passes(void)
{
    hg__thread_mark m = hg__inst_enter_control(inst);
    hg_counter *c = NULL;
    hg_thread *t = NULL;
    engine_run r = {-1, -1};
    int64_t v = 0;
    is_int(h->counter(h, "hits", HG_COUNTER_SUM, &c), 0, "counter passes on the control thread");
    ok(h->cfg_root(h) == NULL && h->cfg_int(h, NULL, "x", &v) == HG_ENOENT,
       "  and so do the config getters");
    is_int(h->thread_spawn(h, "worker-0", HG_CORE_ANY, engine_allowed, &r, &t), 0,
           "  and thread_spawn");
    h->thread_join(h, t);
    hg__thread_leave(m);
    is_int(r.nested_rc, 0, "thread_spawn passes on a thread the engine spawned");
    is_int(r.info_rc, 0, "  and so does an [any-thread] service (set_info)");
}

static void test_check_on_engine_thread_aborts(void)
{
    char text[1024];
    int st = in_child(cfg_root_on_engine_thread, text, sizeof text);
    ok(WIFSIGNALED(st) && WTERMSIG(st) == SIGABRT, "cfg_root called from an engine thread aborts");
    like_str(text, "hangar: thread check: cfg_root called from thread worker-1 by engine 'demo'; "
                   "it is [control-thread] only\n",
             "  naming the engine's thread");
}

static void spawn_from_other(void)
{
    hg_thread *t = NULL;
    h->thread_spawn(h, "x", HG_CORE_ANY, nothing, NULL, &t);
}

static void test_check_thread_spawn_elsewhere_aborts(void)
{
    char text[1024];
    int st = in_child(spawn_from_other, text, sizeof text);
    ok(WIFSIGNALED(st) && WTERMSIG(st) == SIGABRT,
       "thread_spawn from a thread that is neither the control thread nor the engine's aborts");
    like_str(text, "thread_spawn called from thread test-check by engine 'demo'; it is "
                   "[control-thread or any thread the engine spawned] only",
             "  saying what it allows");
}

static pthread_mutex_t warned_mu = PTHREAD_MUTEX_INITIALIZER;
static char warned[512];
static int gate_open;

static void keep_warning(void *ud, uint32_t level, const char *who, const char *msg)
{
    (void)ud;
    if (level != HG_LOG_WARN)
        return;
    pthread_mutex_lock(&warned_mu);
    snprintf(warned, sizeof warned, "%s: %s", who, msg);
    pthread_mutex_unlock(&warned_mu);
}

static void last_warning(char *buf, size_t cap)
{
    pthread_mutex_lock(&warned_mu);
    snprintf(buf, cap, "%s", warned);
    pthread_mutex_unlock(&warned_mu);
}

/* Holds until gate_open. */
static void hold_gate(void *arg)
{
    (void)arg;
    while (!__atomic_load_n(&gate_open, __ATOMIC_ACQUIRE))
        usleep(1000);
}

/* Opens the gate once thread_join has said it is waiting (bounded: 20 s). */
static void *open_after_warning(void *arg)
{
    char now[512];
    (void)arg;
    for (int i = 0; i < 2000; i++) {
        last_warning(now, sizeof now);
        if (strstr(now, "has not returned") != NULL)
            break;
        usleep(10000);
    }
    __atomic_store_n(&gate_open, 1, __ATOMIC_RELEASE);
    return NULL;
}

static void note_cpus(void *arg)
{
    cpu_set_t set;
    CPU_ZERO(&set);
    sched_getaffinity(0, sizeof set, &set);
    *(int *)arg = CPU_COUNT(&set);
}

static void test_spawn_on_a_missing_core_runs_unpinned(void)
{
    hg__logger *lg = NULL;
    hg__inst *in = NULL;
    const hg_host *sh;
    hg_thread *t = NULL;
    cpu_set_t mine;
    int cpus = -1, core = get_nprocs_conf() + 3;
    char want[128], got[512];
    pthread_t opener;

    hg__logger_new(HG_LOG_INFO, &lg);
    hg__logger_set_stderr(lg, 0);
    hg__logger_add_sink(lg, keep_warning, NULL);
    hg__inst_new_standalone("pinner", NULL, lg, NULL, &in);
    sh = hg__inst_host(in);
    is_int(sh->thread_spawn(sh, "pinned-worker-long", core, note_cpus, &cpus, &t), 0,
           "thread_spawn on core %d, which this machine lacks, still starts the thread", core);
    is_int(sh->thread_join(sh, t), 0, "  which is joined");
    CPU_ZERO(&mine);
    sched_getaffinity(0, sizeof mine, &mine);
    is_int(cpus, CPU_COUNT(&mine), "  and ran unpinned (on every core this process may use)");
    snprintf(want, sizeof want, "pinner: thread pinned-worker-l: cannot pin to core %d; running "
             "unpinned", core);
    last_warning(got, sizeof got);
    is_str(got, want, "  with a warning naming the thread and the core");

    is_int(sh->thread_spawn(sh, "slow-1", HG_CORE_ANY, hold_gate, NULL, &t), 0,
           "a thread that does not return at once is spawned");
    pthread_create(&opener, NULL, open_after_warning, NULL);
    is_int(sh->thread_join(sh, t), 0, "thread_join waits for it until it returns");
    pthread_join(opener, NULL);
    last_warning(got, sizeof got);
    is_str(got, "pinner: thread_join: thread slow-1 has not returned after 5s; still waiting for it",
           "  saying so after 5 s");
    hg__inst_free(in);
    hg__logger_free(lg);
}

int main(void)
{
    hg__inst_hooks hooks = {.ud = &host_token};
    pthread_setname_np(pthread_self(), "test-check");
    test_spawn_on_a_missing_core_runs_unpinned();
#ifdef NDEBUG
    printf("ok %d # SKIP a release build (NDEBUG) has no thread check\n", ++tap_n);
    (void)hooks;
    (void)test_check_outside_control_aborts;
    (void)test_check_on_control_thread_passes;
    (void)test_check_on_engine_thread_aborts;
    (void)test_check_thread_spawn_elsewhere_aborts;
    return tap_done();
#else
    if (hg__inst_new("demo", NULL, NULL, NULL, NULL, NULL, &hooks, &inst) != 0) {
        printf("Bail out! no instance\n");
        return 1;
    }
    h = hg__inst_host(inst);
    test_check_outside_control_aborts();
    test_check_on_control_thread_passes();
    test_check_on_engine_thread_aborts();
    test_check_thread_spawn_elsewhere_aborts();
    hg__inst_free(inst);
    return tap_done();
#endif
}
