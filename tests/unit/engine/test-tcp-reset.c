/* test-tcp-reset.c - resets through tcp-proxy on both runtime modes, many pairs at once: a side
 * that resets mid-transfer makes the other side see a reset (never an end of stream) and the
 * proxy counts resets on both its connections; a half-close still passes as a half-close.
 * Usage: test-tcp-reset [ROUNDS] (rounds of 50 client/upstream pairs per case and mode). */
#define _GNU_SOURCE
#include <fcntl.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <stdlib.h>

/* the harness is shared with test-tcp.c; this test uses only part of it */
#pragma GCC diagnostic ignored "-Wunused-function"
#include "tcp_harness.h"

#define PAIRS 50
#define STREAM_BYTES (200 * 1024) /* what a streamer sends */
#define RESET_READ (100 * 1024)   /* what a resetter reads before it answers */
#define ANSWER_BYTES (50 * 1024)  /* what a resetter or finisher sends back */
#define PEER_MS 10000             /* a peer gives up (END_TIMEOUT) after this */

/* How a peer's stream ended, as that peer saw it first. */
enum { END_NONE, END_EOF, END_RESET, END_TIMEOUT, END_OTHER };

/* What a peer does. */
enum {
    ROLE_STREAMER, /* sends STREAM_BYTES while reading, then reads to the end */
    ROLE_RESETTER, /* reads RESET_READ, sends ANSWER_BYTES, closes with SO_LINGER {1, 0} */
    ROLE_FINISHER  /* reads to EOF, sends ANSWER_BYTES, closes normally */
};

typedef struct peer {
    int role;
    int half_close;   /* streamer: shutdown(SHUT_WR) once it sent everything */
    const char *addr; /* client: the proxy's address; NULL for an upstream */
    int lfd;          /* upstream: the (non-blocking) listening socket to accept from */
    long long got;    /* bytes read */
    int end;          /* END_* */
    int err;          /* errno of the error that ended it, if one did */
    char buf[16384];  /* what it reads goes here */
} peer;

static const char payload[65536]; /* what peers send: read-only, shared by the threads */

static int end_of_errno(int e)
{
    if (e == ECONNRESET || e == EPIPE)
        return END_RESET;
    return e == EAGAIN || e == EWOULDBLOCK ? END_TIMEOUT : END_OTHER;
}

/* Accepts one connection from the shared non-blocking listener within PEER_MS. */
static int accept_one(int lfd)
{
    uint64_t end = now_ms() + PEER_MS;
    struct pollfd p = {lfd, POLLIN, 0};
    while (now_ms() < end) {
        int fd = accept4(lfd, NULL, NULL, SOCK_CLOEXEC);
        if (fd >= 0)
            return fd;
        if (errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR)
            return -1;
        poll(&p, 1, 50);
    }
    return -1;
}

static void set_timeouts(int fd)
{
    struct timeval tv = {PEER_MS / 1000, 0};
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
}

/* Sends n bytes (blocking). Returns 0, or the errno that stopped it. */
static int send_all(int fd, long long n)
{
    while (n > 0) {
        ssize_t r = send(fd, payload, n < (long long)sizeof payload ? (size_t)n : sizeof payload,
                         MSG_NOSIGNAL);
        if (r < 0 && errno != EINTR)
            return errno;
        if (r > 0)
            n -= r;
    }
    return 0;
}

/* Reads until want bytes (want < 0: until EOF). Sets p->end on EOF or an error. */
static void read_until(peer *p, int fd, long long want)
{
    while (want < 0 || p->got < want) {
        size_t cap = want < 0 || want - p->got > (long long)sizeof p->buf ? sizeof p->buf
                                                                          : (size_t)(want - p->got);
        ssize_t r = recv(fd, p->buf, cap, 0);
        if (r == 0) {
            p->end = END_EOF;
            return;
        }
        if (r < 0 && errno == EINTR)
            continue;
        if (r < 0) {
            p->err = errno;
            p->end = end_of_errno(errno);
            return;
        }
        p->got += r;
    }
}

/* Reads RESET_READ, answers ANSWER_BYTES and resets. */
static void run_resetter(peer *p, int fd)
{
    struct linger lg = {1, 0};
    int e;
    read_until(p, fd, RESET_READ);
    if (p->end != END_NONE)
        return; /* the stream ended before the reset was due */
    e = send_all(fd, ANSWER_BYTES);
    if (e != 0) {
        p->err = e;
        p->end = end_of_errno(e);
        return;
    }
    setsockopt(fd, SOL_SOCKET, SO_LINGER, &lg, sizeof lg);
}

/* Reads to EOF, answers ANSWER_BYTES and closes normally. */
static void run_finisher(peer *p, int fd)
{
    int e;
    read_until(p, fd, -1);
    if (p->end != END_EOF)
        return;
    e = send_all(fd, ANSWER_BYTES);
    if (e != 0) {
        p->err = e;
        p->end = end_of_errno(e);
    }
}

/* One step of a streamer's poll loop; sets p->end when the stream ended. */
static void stream_step(peer *p, int fd, short rev, long long *sent)
{
    ssize_t r;
    if (rev & (POLLIN | POLLERR | POLLHUP)) {
        r = recv(fd, p->buf, sizeof p->buf, MSG_DONTWAIT);
        if (r == 0)
            p->end = END_EOF;
        else if (r > 0)
            p->got += r;
        else if (errno != EAGAIN && errno != EINTR)
            p->err = errno, p->end = end_of_errno(errno);
        if (p->end != END_NONE)
            return;
    }
    if (*sent < STREAM_BYTES && (rev & (POLLOUT | POLLERR | POLLHUP))) {
        long long left = STREAM_BYTES - *sent;
        r = send(fd, payload, left < (long long)sizeof payload ? (size_t)left : sizeof payload,
                 MSG_DONTWAIT | MSG_NOSIGNAL);
        if (r > 0)
            *sent += r;
        else if (r < 0 && errno != EAGAIN && errno != EINTR)
            p->err = errno, p->end = end_of_errno(errno);
        if (*sent == STREAM_BYTES && p->half_close)
            shutdown(fd, SHUT_WR);
    }
}

/* Sends STREAM_BYTES and reads at the same time, so the first sign of the end is what it sees:
 * an EOF or an error on either call. */
static void run_streamer(peer *p, int fd)
{
    uint64_t end = now_ms() + PEER_MS;
    long long sent = 0;
    struct pollfd pf = {fd, 0, 0};
    while (p->end == END_NONE) {
        uint64_t now = now_ms();
        pf.events = (short)(POLLIN | (sent < STREAM_BYTES ? POLLOUT : 0));
        if (now >= end || poll(&pf, 1, (int)(end - now)) == 0) {
            p->end = END_TIMEOUT;
            return;
        }
        stream_step(p, fd, pf.revents, &sent);
    }
}

static void *peer_main(void *arg)
{
    peer *p = arg;
    int fd = p->addr != NULL ? tcp_connect(p->addr) : accept_one(p->lfd);
    if (fd < 0) {
        p->end = END_OTHER;
        p->err = errno;
        return NULL;
    }
    set_timeouts(fd);
    if (p->role == ROLE_STREAMER)
        run_streamer(p, fd);
    else if (p->role == ROLE_RESETTER)
        run_resetter(p, fd);
    else
        run_finisher(p, fd);
    close(fd);
    return NULL;
}

/* One case: which role the client and the upstream play, and what each should see. */
typedef struct pcase {
    const char *what;
    int client_role, upstream_role, half_close;
    int client_end, upstream_end; /* END_NONE: not checked (the resetter) */
} pcase;

/* What a round's peers saw, summed over the rounds. */
typedef struct tally {
    long long end[2][5]; /* [client/upstream][END_*] */
    long long bad_bytes; /* peers of a half-close that did not get every byte */
    int first_err[2];
} tally;

/* Runs PAIRS clients through the proxy at `front` against PAIRS upstreams accepted from lfd. */
static void run_round(const pcase *pc, const char *front, int lfd, tally *t)
{
    static peer peers[2][PAIRS];
    pthread_t th[2][PAIRS];
    int made[2][PAIRS];
    for (int i = 0; i < PAIRS; i++) {
        peers[0][i] = (peer){.role = pc->client_role, .half_close = pc->half_close,
                             .addr = front, .lfd = -1};
        peers[1][i] = (peer){.role = pc->upstream_role, .lfd = lfd};
    }
    for (int s = 0; s < 2; s++)
        for (int i = 0; i < PAIRS; i++) {
            made[s][i] = pthread_create(&th[s][i], NULL, peer_main, &peers[s][i]) == 0;
            if (!made[s][i])
                peers[s][i].end = END_OTHER, peers[s][i].err = EAGAIN;
        }
    for (int s = 0; s < 2; s++)
        for (int i = 0; i < PAIRS; i++) {
            peer *p = &peers[s][i];
            if (made[s][i])
                pthread_join(th[s][i], NULL);
            t->end[s][p->end]++;
            if (p->end != END_RESET && p->err != 0 && t->first_err[s] == 0)
                t->first_err[s] = p->err;
            if (pc->half_close && p->got != (s == 0 ? ANSWER_BYTES : STREAM_BYTES))
                t->bad_bytes++;
        }
}

static const char *const cause_keys[] = {"closed_passive", "closed_active",
                                         "closed_passive_reset", "closed_active_reset",
                                         "closed_error", "closed_timeout", "closed_shutdown"};
#define N_CAUSES (sizeof cause_keys / sizeof cause_keys[0])

static void read_causes(hg__host *h, long long *out)
{
    for (size_t i = 0; i < N_CAUSES; i++)
        out[i] = counter(h, "front", cause_keys[i]);
}

/* Reads the causes into after once `want` closes were counted since before (at most 5 s): a
 * close may be counted just after connections_open dropped. */
static void read_closes(hg__host *h, const long long *before, long long want, long long *after)
{
    uint64_t end = now_ms() + 5000;
    long long n;
    do {
        read_causes(h, after);
        n = 0;
        for (size_t i = 0; i < N_CAUSES; i++)
            n += after[i] - before[i];
        if (n < want)
            sleep_ms(20);
    } while (n < want && now_ms() < end);
}

/* Starts a host on `mode` with a proxy "front" in front of a new listening socket (*lfd,
 * non-blocking, with room in its backlog for a round); the proxy's address into front. */
static hg__host *proxy_up(const char *mode, const char *what, int *lfd, char *front, size_t cap)
{
    char pl[512], up[64];
    hg__host *h = NULL;
    *lfd = tcp_listen(up, sizeof up);
    /* every pair's upstream may wait in the backlog while a round starts */
    if (*lfd >= 0 && listen(*lfd, 4 * PAIRS) == 0 &&
        fcntl(*lfd, F_SETFL, fcntl(*lfd, F_GETFL) | O_NONBLOCK) == 0) {
        snprintf(pl, sizeof pl,
                 "  - { name: front, engine: tcp-proxy, listen: \"127.0.0.1:0\", "
                 "upstream: \"%s\" }\n", up);
        h = host_up(mode, pl);
    }
    ok(h != NULL, "[%s] %s: a proxy to the test's upstream starts", mode, what);
    if (h == NULL && *lfd >= 0)
        close(*lfd);
    if (h != NULL)
        address_of(h, "front", front, cap);
    return h;
}

/* Checks what the peers of a case saw and what the proxy counted (deltas d[] of cause_keys). */
static void check_case(const char *mode, const pcase *pc, const tally *t, const long long *d,
                       long long total)
{
    long long want = pc->half_close ? 0 : total;
    tap_diag("[%s] %s: clients saw %lld resets, %lld EOFs, %lld timeouts, %lld other (errno %d); "
             "upstreams %lld resets, %lld EOFs, %lld timeouts, %lld other (errno %d)",
             mode, pc->what, t->end[0][END_RESET], t->end[0][END_EOF], t->end[0][END_TIMEOUT],
             t->end[0][END_OTHER], t->first_err[0], t->end[1][END_RESET], t->end[1][END_EOF],
             t->end[1][END_TIMEOUT], t->end[1][END_OTHER], t->first_err[1]);
    tap_diag("[%s] %s: proxy counted passive %lld, active %lld, passive_reset %lld, "
             "active_reset %lld, error %lld, timeout %lld, shutdown %lld", mode, pc->what, d[0],
             d[1], d[2], d[3], d[4], d[5], d[6]);
    if (pc->client_end != END_NONE)
        is_int(t->end[0][pc->client_end], total, "[%s] %s: every one of %lld clients sees %s",
               mode, pc->what, total, pc->client_end == END_RESET ? "a reset" : "an EOF");
    if (pc->upstream_end != END_NONE)
        is_int(t->end[1][pc->upstream_end], total, "[%s] %s: every one of %lld upstreams sees %s",
               mode, pc->what, total, pc->upstream_end == END_RESET ? "a reset" : "an EOF");
    if (pc->half_close)
        is_int(t->bad_bytes, 0, "[%s] %s: every byte arrives both ways", mode, pc->what);
    is_int(d[2], want, "[%s] %s: the proxy counts %lld resets by a peer", mode, pc->what, want);
    is_int(d[3], want, "[%s] %s: and %lld resets it passed on", mode, pc->what, want);
    is_int(d[0] + d[1], pc->half_close ? 2 * total : 0, "[%s] %s: and %s", mode, pc->what,
           pc->half_close ? "every close as a clean close" : "no clean close");
    is_int(d[4] + d[5] + d[6], 0, "[%s] %s: and no error, timeout or shutdown", mode, pc->what);
}

/* Runs `rounds` rounds of one case through a fresh proxy. */
static void run_case(const char *mode, const pcase *pc, int rounds)
{
    char front[64];
    long long before[N_CAUSES], after[N_CAUSES], total = (long long)rounds * PAIRS;
    tally t;
    int lfd, settled = 1;
    hg__host *h = proxy_up(mode, pc->what, &lfd, front, sizeof front);
    if (h == NULL)
        return;
    memset(&t, 0, sizeof t);
    read_causes(h, before);
    for (int r = 0; r < rounds; r++) {
        run_round(pc, front, lfd, &t);
        /* the proxy counts a close once it is done with it, maybe after the peer saw it */
        if (wait_equal(h, "front", "connections_open", 0, 5000) != 0)
            settled = 0;
    }
    ok(settled, "[%s] %s: the proxy closes both sides of every pair", mode, pc->what);
    read_closes(h, before, 2 * total, after);
    for (size_t i = 0; i < N_CAUSES; i++)
        after[i] -= before[i];
    check_case(mode, pc, &t, after, total);
    host_end(h);
    close(lfd);
}

/* --- one pair: an upstream that sends its FIN, then resets --- */

/* 1 while /proc/net/tcp lists a socket from local port `port` to remote port `rport`: the
 * proxy's side of a connection goes from that list once it is closed (a reset it took). */
static int proc_lists(unsigned port, unsigned rport)
{
    char line[512], want[32], rwant[32];
    FILE *f = fopen("/proc/net/tcp", "r");
    int found = 0;
    if (f == NULL)
        return 0;
    snprintf(want, sizeof want, ":%04X ", port);
    snprintf(rwant, sizeof rwant, ":%04X ", rport);
    while (!found && fgets(line, sizeof line, f) != NULL) {
        char *local = strchr(line, ':'); /* after "sl:" */
        char *l = local ? strstr(local + 1, want) : NULL;
        found = l != NULL && strncmp(l + strlen(want) + 8, rwant, strlen(rwant)) == 0;
    }
    fclose(f);
    return found;
}

static unsigned port_of(int fd, int remote)
{
    struct sockaddr_in sa;
    socklen_t len = sizeof sa;
    int rc = remote ? getpeername(fd, (struct sockaddr *)&sa, &len)
                  : getsockname(fd, (struct sockaddr *)&sa, &len);
    return rc == 0 ? ntohs(sa.sin_port) : 0;
}

/* How the upstream of a single pair ends. */
enum {
    UP_FIN_SETTLED, /* "bye", FIN; once the client read them and the proxy took it, a reset */
    UP_FIN_RESET,   /* "bye", FIN and a reset back to back */
    UP_RESET_NOW    /* a reset as soon as it accepts, maybe before the proxy saw it connect */
};

static const char *const up_what[] = {
    "an upstream's FIN, then its reset once the client read all",
    "an upstream's FIN and reset back to back", "an upstream that resets as soon as it accepts"};

/* Waits until the proxy's side of an upstream connection (its port, the upstream's) is gone. */
static void wait_proxy_closed(const unsigned ports[2])
{
    for (int i = 0; i < 300 && proc_lists(ports[0], ports[1]); i++)
        sleep_ms(10);
}

/* Reads to the end; then half-closes and waits for the connection to end. Returns 1 when it
 * ended in a reset (a read's error, or the socket's: a reset after a FIN reads as 0 bytes), 0
 * when it ended cleanly, -1 when it did not end. */
static int client_end(int cfd)
{
    char buf[16];
    struct tcp_info ti;
    socklen_t len;
    ssize_t got;
    int err = 0;
    while ((got = recv(cfd, buf, sizeof buf, 0)) > 0)
        ;
    if (got < 0 && errno != ECONNRESET)
        return -1;
    shutdown(cfd, SHUT_WR);
    for (int i = 0; i < 500; i++) {
        len = sizeof ti;
        if (getsockopt(cfd, IPPROTO_TCP, TCP_INFO, &ti, &len) != 0)
            return -1;
        if (ti.tcpi_state == TCP_CLOSE || ti.tcpi_state == TCP_TIME_WAIT)
            break;
        sleep_ms(10);
    }
    len = sizeof err;
    if ((ti.tcpi_state != TCP_CLOSE && ti.tcpi_state != TCP_TIME_WAIT) ||
        getsockopt(cfd, SOL_SOCKET, SO_ERROR, &err, &len) != 0)
        return -1;
    return got < 0 || err != 0;
}

/* One client through the proxy against an upstream that ends as `how` says. Returns as
 * client_end. */
static int upstream_end_once(const char *front, int lfd, int how)
{
    char buf[4];
    struct linger lg = {1, 0};
    unsigned ports[2];
    int cfd = tcp_connect(front), ufd = accept_one(lfd), rc = -1;
    if (cfd < 0 || ufd < 0)
        goto out;
    ports[0] = port_of(ufd, 1);
    ports[1] = port_of(ufd, 0);
    /* the proxy writes to the upstream once it saw the connect complete */
    if (how != UP_RESET_NOW &&
        (send(cfd, "hi", 2, MSG_NOSIGNAL) != 2 || read_n(ufd, buf, 2) != 2))
        goto out;
    if (how != UP_RESET_NOW) {
        send(ufd, "bye", 3, MSG_NOSIGNAL);
        shutdown(ufd, SHUT_WR);
    }
    if (how == UP_FIN_SETTLED && read_n(cfd, buf, sizeof buf) != 3)
        goto out; /* "bye" then the half-close, passed through */
    setsockopt(ufd, SOL_SOCKET, SO_LINGER, &lg, sizeof lg);
    close(ufd);
    ufd = -1;
    if (how == UP_FIN_SETTLED)
        wait_proxy_closed(ports);
    rc = client_end(cfd);
out:
    if (ufd >= 0)
        close(ufd);
    if (cfd >= 0)
        close(cfd);
    return rc;
}

/* An upstream that resets after its FIN or before the proxy saw it connect. The proxy counts the
 * upstream's reset every time (as a failed connect when it had not seen it connect); the client
 * is reset when the reset reached the proxy before the client was done (never with
 * UP_FIN_SETTLED, always with UP_RESET_NOW), and the proxy's count of resets passed on is the
 * count of clients reset. */
static void test_upstream_ends(const char *mode, int how, int rounds)
{
    char front[64];
    const char *what = up_what[how];
    long long before[N_CAUSES], d[N_CAUSES], failed;
    int lfd, resets = 0, failures = 0, settled = 1;
    hg__host *h = proxy_up(mode, what, &lfd, front, sizeof front);
    if (h == NULL)
        return;
    read_causes(h, before);
    for (int r = 0; r < rounds; r++) {
        int rc = upstream_end_once(front, lfd, how);
        resets += rc == 1;
        failures += rc < 0;
        if (wait_equal(h, "front", "connections_open", 0, 5000) != 0)
            settled = 0;
    }
    failed = counter(h, "front", "upstream_failed"); /* a failed connect is no close */
    read_closes(h, before, 2LL * rounds - failed, d);
    for (size_t i = 0; i < N_CAUSES; i++)
        d[i] -= before[i];
    tap_diag("[%s] %s: %d of %d clients reset; proxy counted passive %lld, active %lld, "
             "passive_reset %lld, active_reset %lld, upstream_failed %lld", mode, what, resets,
             rounds, d[0], d[1], d[2], d[3], failed);
    is_int(failures, 0, "[%s] %s: every client reaches its end", mode, what);
    ok(settled, "[%s] %s: the proxy closes both sides", mode, what);
    is_int(d[2] + failed, rounds, "[%s] %s: the proxy counts every upstream's reset%s", mode,
           what, how == UP_RESET_NOW ? " (or failed connect)" : "");
    is_int(d[3], resets, "[%s] %s: and a reset passed on for each client reset", mode, what);
    if (how != UP_FIN_RESET)
        is_int(resets, how == UP_FIN_SETTLED ? 0 : rounds, "[%s] %s: %s", mode, what,
               how == UP_FIN_SETTLED ? "the client, done first, ends cleanly"
                                     : "every client is reset");
    is_int(d[0] + d[1], rounds - resets, "[%s] %s: the other clients' sides close cleanly", mode,
           what);
    is_int(d[4] + d[5] + d[6], 0, "[%s] %s: and nothing else", mode, what);
    host_end(h);
    close(lfd);
}

static const pcase upstream_resets = {"an upstream resets mid-transfer", ROLE_STREAMER,
                                      ROLE_RESETTER, 0, END_RESET, END_NONE};
static const pcase client_resets = {"a client resets mid-transfer", ROLE_RESETTER,
                                    ROLE_STREAMER, 0, END_NONE, END_RESET};
static const pcase half_close = {"a client half-closes", ROLE_STREAMER, ROLE_FINISHER, 1,
                                 END_EOF, END_EOF};

int main(int argc, char **argv)
{
    static const char *const modes[] = {"uv", "blocking", "uring"};
    int rounds = argc > 1 ? atoi(argv[1]) : 10;
    split_dirs();
    if (rounds < 1 || rounds > 100000) {
        fprintf(stderr, "test-tcp-reset: ROUNDS must be between 1 and 100000, got '%s'\n",
                argv[1]);
        return 2;
    }
    tap_diag("%d rounds of %d pairs per case and mode", rounds, PAIRS);
    for (unsigned i = 0; i < sizeof modes / sizeof modes[0]; i++) {
        run_case(modes[i], &upstream_resets, rounds);
        run_case(modes[i], &client_resets, rounds);
        run_case(modes[i], &half_close, (rounds + 4) / 5);
        for (int how = UP_FIN_SETTLED; how <= UP_RESET_NOW; how++)
            test_upstream_ends(modes[i], how, rounds);
    }
    return tap_done();
}
