/* test-rt-abort.c - rt_abort_error (plugins/common), which both runtime modes ask when a read
 * returns 0 bytes and before they count a clean close: a FIN is an end of stream, a reset that
 * no call reported is still a reset. On real loopback sockets; each state is waited for. */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "../../../plugins/common/rt.h"
#include "tap.h"

/* A connected pair on 127.0.0.1: *a (connected) and *b (accepted). Returns 0 or -1. */
static int pair(int *a, int *b)
{
    struct sockaddr_in sa;
    socklen_t len = sizeof sa;
    int lfd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    memset(&sa, 0, sizeof sa);
    sa.sin_family = AF_INET;
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    *a = *b = -1;
    if (lfd < 0 || bind(lfd, (struct sockaddr *)&sa, sizeof sa) != 0 || listen(lfd, 1) != 0 ||
        getsockname(lfd, (struct sockaddr *)&sa, &len) != 0)
        goto out;
    *a = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (*a >= 0 && connect(*a, (struct sockaddr *)&sa, sizeof sa) == 0)
        *b = accept4(lfd, NULL, NULL, SOCK_CLOEXEC);
out:
    if (lfd >= 0)
        close(lfd);
    return *a >= 0 && *b >= 0 ? 0 : -1;
}

static void reset_close(int fd)
{
    rt_set_linger0(fd);
    close(fd);
}

static int tcp_state(int fd)
{
    struct tcp_info ti;
    socklen_t len = sizeof ti;
    return getsockopt(fd, IPPROTO_TCP, TCP_INFO, &ti, &len) == 0 ? ti.tcpi_state : -1;
}

/* Waits (at most 3 s) until fd's TCP state is `state`. Returns 1 when it is. */
static int wait_state(int fd, int state)
{
    struct timespec ts = {0, 10 * 1000000L};
    for (int i = 0; i < 300 && tcp_state(fd) != state; i++)
        nanosleep(&ts, NULL);
    return tcp_state(fd) == state;
}

static ssize_t read1(int fd)
{
    char c;
    return recv(fd, &c, 1, MSG_DONTWAIT);
}

static void test_rt_eof_fin_is_an_end(void)
{
    int a, b;
    ok(pair(&a, &b) == 0, "a loopback pair connects");
    is_int(rt_abort_error(a, 0), 0, "an open connection is not aborted");
    shutdown(b, SHUT_WR);
    ok(wait_state(a, TCP_CLOSE_WAIT) && read1(a) == 0, "the peer's FIN reads as 0 bytes");
    is_int(rt_abort_error(a, 0), 0, "and is an end of stream, not an error");
    close(a);
    close(b);
}

static void test_rt_eof_reset_after_the_data(void)
{
    int a, b;
    char buf[8];
    ok(pair(&a, &b) == 0 && send(b, "data", 4, 0) == 4, "the peer sends 4 bytes");
    ok(recv(a, buf, sizeof buf, 0) == 4, "which are read");
    reset_close(b);
    ok(wait_state(a, TCP_CLOSE), "then it resets");
    is_int(rt_abort_error(a, 0), ECONNRESET, "a reset with its error pending is ECONNRESET");
    is_int(rt_abort_error(a, 0), ECONNRESET,
           "and still a reset once the pending error was taken: the socket closed without a FIN "
           "from this side");
    close(a);
}

static void test_rt_abort_error_taken_by_a_write(void)
{
    int a, b;
    ssize_t w;
    ok(pair(&a, &b) == 0, "another pair connects");
    reset_close(b);
    ok(wait_state(a, TCP_CLOSE), "the peer resets");
    w = send(a, "x", 1, MSG_NOSIGNAL | MSG_DONTWAIT);
    ok(w < 0 && (errno == ECONNRESET || errno == EPIPE), "a write takes the reset's error");
    is_int(read1(a), 0, "after which a read returns 0 bytes, as for a FIN");
    is_int(rt_abort_error(a, 0), ECONNRESET, "but it is a reset");
    close(a);
}

static void test_rt_eof_fin_then_reset(void)
{
    int a, b;
    ok(pair(&a, &b) == 0, "a third pair connects");
    shutdown(b, SHUT_WR);
    ok(wait_state(a, TCP_CLOSE_WAIT), "the peer sends its FIN");
    reset_close(b);
    ok(wait_state(a, TCP_CLOSE) && read1(a) == 0, "then resets: a read still returns 0 bytes");
    is_int(rt_abort_error(a, 0), EPIPE, "and it is a reset (EPIPE: reset after the FIN)");
    close(a);
}

static void test_rt_eof_both_fins(void)
{
    int a, b;
    ok(pair(&a, &b) == 0, "a fourth pair connects");
    shutdown(b, SHUT_WR);
    ok(wait_state(a, TCP_CLOSE_WAIT), "the peer sends its FIN");
    close(b);
    shutdown(a, SHUT_WR);
    ok(wait_state(a, TCP_CLOSE), "this side's FIN is acknowledged: the socket is closed");
    is_int(read1(a), 0, "a read returns 0 bytes");
    is_int(rt_abort_error(a, 1), 0, "and, as this side sent its FIN, it is an end of stream");
    close(a);
}

int main(void)
{
    test_rt_eof_fin_is_an_end();
    test_rt_eof_reset_after_the_data();
    test_rt_abort_error_taken_by_a_write();
    test_rt_eof_fin_then_reset();
    test_rt_eof_both_fins();
    return tap_done();
}
