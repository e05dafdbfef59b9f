/* test-hosts.c - a host is a library object: creating and starting one installs no signal
 * handler, and two hosts in one process (tcp-echo on uv, tcp-echo on blocking) each answer
 * their own traffic and commands, and shut down independently. */
#define _GNU_SOURCE
#include <signal.h>

/* The harness's helpers are written for test-tcp.c; this test uses a few of them. */
#pragma GCC diagnostic ignored "-Wunused-function"
#include "tcp_harness.h"

static const int watched[] = {SIGSEGV, SIGBUS, SIGABRT, SIGFPE, SIGILL, SIGINT, SIGTERM, SIGHUP};
#define N_WATCHED (sizeof watched / sizeof watched[0])

/* The disposition of every watched signal. */
static void dispositions(void (*out[N_WATCHED])(int))
{
    for (size_t i = 0; i < N_WATCHED; i++) {
        struct sigaction sa;
        sigaction(watched[i], NULL, &sa);
        out[i] = sa.sa_handler;
    }
}

/* The name of the first watched signal whose disposition changed, or NULL. */
static const char *changed(void (*before[N_WATCHED])(int))
{
    void (*now[N_WATCHED])(int);
    dispositions(now);
    for (size_t i = 0; i < N_WATCHED; i++)
        if (now[i] != before[i])
            return sigabbrev_np(watched[i]);
    return NULL;
}

/* Sends text to addr and reads it back. Returns 1 when the same bytes came back. */
static int echoes(const char *addr, const char *text)
{
    char buf[64];
    size_t n = strlen(text);
    int fd = tcp_connect(addr), same;
    if (fd < 0)
        return 0;
    same = send(fd, text, n, 0) == (ssize_t)n && read_n(fd, buf, n) == (ssize_t)n &&
           memcmp(buf, text, n) == 0;
    close(fd);
    return same;
}

static const char echo_pipeline[] = "  - { name: echo, engine: tcp-echo, listen: \"127.0.0.1:0\" }\n";

static void test_hosts_install_no_signal_handler(void)
{
    void (*before[N_WATCHED])(int);
    const char *which;
    hg__diag d;
    hg__host *h;
    char yaml[512];

    dispositions(before);
    snprintf(yaml, sizeof yaml, "hangar: 1\nruntime: { mode: uv, workers: 1 }\npipelines:\n%s",
             echo_pipeline);
    hg__diag_init(&d);
    h = host_new(yaml, &d);
    ok(h != NULL, "a host with an engine is created");
    which = changed(before);
    ok(which == NULL, "creating it installs no signal handler (changed: %s)", which ? which : "none");
    if (h != NULL) {
        is_int(hg__host_start(h), 0, "it starts");
        which = changed(before);
        ok(which == NULL, "starting it installs none either (changed: %s)", which ? which : "none");
        host_end(h);
    }
    hg__diag_free(&d);
}

static void test_hosts_two_in_one_process(void)
{
    hg__host *a = host_up("uv", echo_pipeline), *b = host_up("blocking", echo_pipeline);
    char addr_a[64] = "", addr_b[64] = "";
    json_t *j;

    ok(a != NULL && b != NULL, "two hosts start in one process (uv and blocking)");
    if (a == NULL || b == NULL) {
        if (a)
            host_end(a);
        if (b)
            host_end(b);
        return;
    }
    ok(address_of(a, "echo", addr_a, sizeof addr_a) == 0 &&
           address_of(b, "echo", addr_b, sizeof addr_b) == 0 && strcmp(addr_a, addr_b) != 0,
       "each listens on its own port (%s, %s)", addr_a, addr_b);
    ok(echoes(addr_a, "to a") && echoes(addr_b, "to b") && echoes(addr_b, "b again"),
       "each echoes its own clients");
    is_int(wait_counter(a, "echo", "connections_established", 1, 2000), 1,
           "host a counts its one connection");
    is_int(wait_counter(b, "echo", "connections_established", 2, 2000), 2,
           "host b counts its two, none of a's");
    is_int(hg__host_shutdown(a), 0, "host a shuts down gracefully");
    hg__host_destroy(a);
    ok(echoes(addr_b, "b after a"), "host b still echoes after host a is gone");
    j = cmd(b, "state echo");
    is_str(json_string_value(json_object_get(j, "state")), "running",
           "  and answers its commands");
    json_decref(j);
    is_int(hg__host_shutdown(b), 0, "host b shuts down gracefully too");
    hg__host_destroy(b);
}

int main(void)
{
    split_dirs();
    test_hosts_install_no_signal_handler();
    test_hosts_two_in_one_process();
    return tap_done();
}
