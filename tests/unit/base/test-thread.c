/* test-thread.c - the thread primitive: name, core pinning and its errors, the signal mask, the
 * crash mark (a crash on the thread names its engine), roles, bounded joins, the check's abort. */
#define _GNU_SOURCE
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <sys/resource.h>
#include <sys/sysinfo.h>
#include <sys/wait.h>
#include <unistd.h>

#include <hangar/host.h>
#include <hangar/status.h>

#include "crash.h"
#include "tap.h"
#include "thread.h"

/* What a spawned thread saw of itself. */
typedef struct seen {
    char kernel_name[16];
    hg__thread_info info;
    int blocked_term, blocked_int, blocked_fatal;
    int cpus, on_cpu0;
    int control_of_owner, engine_of_owner;
} seen;

static int owner_token;

static void look(void *arg)
{
    seen *s = arg;
    sigset_t cur;
    cpu_set_t set;
    const int fatal[] = {SIGSEGV, SIGBUS, SIGILL, SIGFPE, SIGABRT};
    pthread_getname_np(pthread_self(), s->kernel_name, sizeof s->kernel_name);
    s->info = hg__thread_current();
    pthread_sigmask(SIG_SETMASK, NULL, &cur);
    s->blocked_term = sigismember(&cur, SIGTERM);
    s->blocked_int = sigismember(&cur, SIGINT);
    for (size_t i = 0; i < sizeof fatal / sizeof fatal[0]; i++)
        s->blocked_fatal += sigismember(&cur, fatal[i]);
    CPU_ZERO(&set);
    if (sched_getaffinity(0, sizeof set, &set) == 0) {
        s->cpus = CPU_COUNT(&set);
        s->on_cpu0 = CPU_ISSET(0, &set);
    }
    s->control_of_owner = hg__thread_is_control_of(&owner_token);
    s->engine_of_owner = hg__thread_is_engine_of(&owner_token);
}

static void test_thread_spawn_sets_name_role_and_mask(void)
{
    hg__thread_opts o = {.name = "a-name-longer-than-15", .core = HG_CORE_ANY,
                         .role = HG__THREAD_ENGINE, .owner = &owner_token, .engine = "echo"};
    hg__thread *t = NULL;
    seen s;
    memset(&s, 0, sizeof s);
    is_int(hg__thread_spawn(&o, look, &s, &t), 0, "a thread is spawned");
    is_int(hg__thread_join(t, HG__THREAD_FOREVER), 0, "and joined");
    is_str(s.kernel_name, "a-name-longer-t", "its name is cut to the kernel's 15 bytes");
    is_str(s.info.name, "a-name-longer-t", "  and it reads the same name of itself");
    is_int(s.info.role, HG__THREAD_ENGINE, "it knows it is an engine thread");
    ok(s.info.owner == &owner_token, "  of its owner");
    is_str(s.info.engine, "echo", "  working for engine 'echo'");
    ok(s.engine_of_owner && !s.control_of_owner, "it is an engine thread of its owner, not its control thread");
    ok(s.blocked_term && s.blocked_int, "process signals (SIGTERM, SIGINT) are blocked on it");
    is_int(s.blocked_fatal, 0, "the synchronous ones a crash raises are not");
}

static void test_thread_core_pinning(void)
{
    hg__thread_opts o = {.name = "pinned", .core = 0};
    hg__thread *t = NULL;
    cpu_set_t mine;
    seen s;
    memset(&s, 0, sizeof s);
    CPU_ZERO(&mine);
    sched_getaffinity(0, sizeof mine, &mine);
    if (!CPU_ISSET(0, &mine)) {
        printf("ok %d # SKIP this process may not run on core 0\n", ++tap_n);
    } else {
        is_int(hg__thread_spawn(&o, look, &s, &t), 0, "a thread pinned to core 0 is spawned");
        hg__thread_join(t, HG__THREAD_FOREVER);
        ok(s.cpus == 1 && s.on_cpu0, "it runs on core 0 only (%d cpu(s) in its mask)", s.cpus);
    }
    o.core = get_nprocs_conf();
    t = NULL;
    is_int(hg__thread_spawn(&o, look, &s, &t), HG_EINVAL,
           "a core this machine does not have (%d) is refused", get_nprocs_conf());
    ok(t == NULL, "  and no thread is started");
    o.core = -3;
    is_int(hg__thread_spawn(&o, look, &s, &t), HG_EINVAL, "a core policy below HG_CORE_ANY is refused");
}

/* A thread that waits until released. */
typedef struct gate {
    int open;
    hg__thread *self;
    int self_join;
} gate;

static void wait_gate(void *arg)
{
    gate *g = arg;
    while (!__atomic_load_n(&g->open, __ATOMIC_ACQUIRE))
        usleep(1000);
    g->self_join = hg__thread_join(__atomic_load_n(&g->self, __ATOMIC_ACQUIRE), 0);
}

static void test_thread_join_is_bounded(void)
{
    hg__thread_opts o = {.name = "gate", .core = HG_CORE_ANY};
    gate g = {0, NULL, 0};
    hg__thread *t = NULL;
    uint64_t t0;
    struct timespec ts;
    hg__thread_spawn(&o, wait_gate, &g, &t);
    __atomic_store_n(&g.self, t, __ATOMIC_RELEASE);
    clock_gettime(CLOCK_MONOTONIC, &ts);
    t0 = (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
    is_int(hg__thread_join(t, 50000000ull), HG_ETIMEDOUT,
           "joining a thread that does not return within the bound times out");
    clock_gettime(CLOCK_MONOTONIC, &ts);
    ok((uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec - t0 < 5000000000ull,
       "  without waiting for it");
    __atomic_store_n(&g.open, 1, __ATOMIC_RELEASE);
    is_int(hg__thread_join(t, HG__THREAD_FOREVER), 0, "  and the handle joins once it returns");
    is_int(g.self_join, HG_EINVAL, "a thread cannot join itself");
    is_int(hg__thread_join(NULL, 0), HG_EINVAL, "joining NULL is refused");
}

static void *control_main(void *arg)
{
    seen *s = arg;
    look(s);
    return s;
}

static void test_thread_start_for_pthread_join(void)
{
    hg__thread_opts o = {.name = "hangar-control", .core = HG_CORE_ANY,
                         .role = HG__THREAD_CONTROL, .owner = &owner_token};
    pthread_t tid;
    void *ret = NULL;
    seen s;
    memset(&s, 0, sizeof s);
    is_int(hg__thread_start(&o, control_main, &s, &tid), 0, "a plain pthread is started");
    pthread_join(tid, &ret);
    ok(ret == &s, "pthread_join returns its function's value");
    ok(s.control_of_owner && !s.engine_of_owner && strcmp(s.kernel_name, "hangar-control") == 0,
       "it is its owner's control thread, named hangar-control");
}

static void test_thread_enter_marks_the_caller(void)
{
    int other;
    hg__thread_mark outer, inner;
    ok(!hg__thread_is_control_of(&owner_token), "the test's thread is nobody's control thread");
    outer = hg__thread_enter(HG__THREAD_CONTROL, &owner_token);
    ok(hg__thread_is_control_of(&owner_token), "entering marks it as its owner's control thread");
    ok(!hg__thread_is_control_of(&other), "  and only that owner's");
    inner = hg__thread_enter(HG__THREAD_CONTROL, &other);
    ok(hg__thread_is_control_of(&other), "marks nest");
    hg__thread_leave(inner);
    ok(hg__thread_is_control_of(&owner_token), "leaving restores the outer mark");
    hg__thread_leave(outer);
    is_int(hg__thread_current().role, HG__THREAD_OTHER, "  and then the thread's own role");
}

/* Runs fn in a child with stderr into a pipe; returns the child's wait status and its text. */
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

static void crash(void *arg)
{
    (void)arg;
    raise(SIGSEGV);
}

static void crash_on_engine_thread(void)
{
    hg__thread_opts o = {.name = "worker-3", .core = HG_CORE_ANY, .role = HG__THREAD_ENGINE,
                         .engine = "echo"};
    hg__thread *t;
    hg__crash_install();
    if (hg__thread_spawn(&o, crash, NULL, &t) == 0)
        hg__thread_join(t, HG__THREAD_FOREVER);
}

static void test_thread_crash_names_the_engine(void)
{
    char text[1024];
    int st;
#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_THREAD__)
    printf("ok %d # SKIP a sanitizer reports crashes itself\n", ++tap_n);
    (void)text;
    (void)st;
    (void)crash_on_engine_thread;
#else
    st = in_child(crash_on_engine_thread, text, sizeof text);
    ok(WIFSIGNALED(st) && WTERMSIG(st) == SIGSEGV, "a crash on a spawned thread kills with SIGSEGV");
    like_str(text, "hangar: fatal signal SIGSEGV in engine 'echo' (thread) on thread worker-3",
             "  and is reported with the thread's engine and name");
#endif
}

static void check_fails(void)
{
    hg__thread_check_fail("cfg_int", "echo", "[control-thread]");
}

static void test_thread_check_fail_aborts_with_message(void)
{
    char text[1024];
    int st = in_child(check_fails, text, sizeof text);
    ok(WIFSIGNALED(st) && WTERMSIG(st) == SIGABRT, "a failed thread check aborts");
    like_str(text, "hangar: thread check: cfg_int called from thread test-thread by engine 'echo'; "
                   "it is [control-thread] only\n",
             "  saying which service, thread and engine");
}

int main(void)
{
    pthread_setname_np(pthread_self(), "test-thread");
    test_thread_spawn_sets_name_role_and_mask();
    test_thread_core_pinning();
    test_thread_join_is_bounded();
    test_thread_start_for_pthread_join();
    test_thread_enter_marks_the_caller();
    test_thread_crash_names_the_engine();
    test_thread_check_fail_aborts_with_message();
    return tap_done();
}
