/* rt_addr.c - addresses for the runtime modes: parse "HOST:PORT", format a sockaddr, map errno
 * to HG_E* codes and open a SO_REUSEPORT group of listening sockets. */
#define _GNU_SOURCE
#include "rt.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

uint64_t rt_now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

/* Splits text into host and port; the host of "[::1]:80" is "::1". */
static int split_host_port(const char *text, char *host, size_t cap, long *port)
{
    const char *colon, *hs = text, *he;
    char *end;

    if (text[0] == '[') {
        he = strchr(text, ']');
        if (!he || he[1] != ':')
            return HG_EINVAL;
        hs = text + 1;
        colon = he + 1;
    } else {
        colon = strrchr(text, ':');
        if (!colon || memchr(text, ':', (size_t)(colon - text)))
            return HG_EINVAL; /* bare IPv6 needs brackets */
        he = colon;
    }
    if (he == hs || (size_t)(he - hs) >= cap || colon[1] == '\0')
        return HG_EINVAL;
    memcpy(host, hs, (size_t)(he - hs));
    host[he - hs] = '\0';
    errno = 0;
    *port = strtol(colon + 1, &end, 10);
    if (errno || *end != '\0' || *port < 0 || *port > 65535)
        return HG_EINVAL;
    return 0;
}

static int resolve(const char *host, long port, struct sockaddr_storage *ss, socklen_t *len)
{
    struct addrinfo hints, *res = NULL, *ai;
    int rc = HG_EINVAL;

    memset(&hints, 0, sizeof hints);
    hints.ai_family = AF_UNSPEC;
    hints.ai_socktype = SOCK_STREAM;
    if (getaddrinfo(host, NULL, &hints, &res) != 0)
        return HG_EINVAL;
    for (ai = res; ai; ai = ai->ai_next) {
        if (ai->ai_family != AF_INET && ai->ai_family != AF_INET6)
            continue;
        if (rc == 0 && ai->ai_family == AF_INET6)
            continue; /* keep the IPv4 one already found */
        memcpy(ss, ai->ai_addr, ai->ai_addrlen);
        *len = ai->ai_addrlen;
        rc = 0;
        if (ai->ai_family == AF_INET)
            break;
    }
    freeaddrinfo(res);
    if (rc == 0 && ss->ss_family == AF_INET)
        ((struct sockaddr_in *)ss)->sin_port = htons((uint16_t)port);
    else if (rc == 0)
        ((struct sockaddr_in6 *)ss)->sin6_port = htons((uint16_t)port);
    return rc;
}

int rt_addr_parse(const char *text, struct sockaddr_storage *ss, socklen_t *len)
{
    char host[256];
    long port;
    struct sockaddr_in *s4 = (struct sockaddr_in *)ss;
    struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)ss;

    if (!text || split_host_port(text, host, sizeof host, &port) != 0)
        return HG_EINVAL;
    memset(ss, 0, sizeof *ss);
    if (inet_pton(AF_INET, host, &s4->sin_addr) == 1) {
        s4->sin_family = AF_INET;
        s4->sin_port = htons((uint16_t)port);
        *len = sizeof *s4;
        return 0;
    }
    if (inet_pton(AF_INET6, host, &s6->sin6_addr) == 1) {
        s6->sin6_family = AF_INET6;
        s6->sin6_port = htons((uint16_t)port);
        *len = sizeof *s6;
        return 0;
    }
    if (text[0] == '[')
        return HG_EINVAL; /* brackets hold a literal IPv6 address only */
    return resolve(host, port, ss, len);
}

/* Writes v in decimal at p; returns the end. */
static char *put_uint(char *p, unsigned v)
{
    char tmp[10];
    int n = 0;

    do {
        tmp[n++] = (char)('0' + v % 10);
        v /= 10;
    } while (v);
    while (n)
        *p++ = tmp[--n];
    return p;
}

/* "a.b.c.d:port" without snprintf: every connection's record formats two addresses. */
static void format_v4(const struct sockaddr_in *s4, char *buf, size_t cap)
{
    char tmp[sizeof "255.255.255.255:65535"], *p = tmp;
    const uint8_t *a = (const uint8_t *)&s4->sin_addr;
    size_t n;

    for (int i = 0; i < 4; i++) {
        p = put_uint(p, a[i]);
        *p++ = i < 3 ? '.' : ':';
    }
    p = put_uint(p, ntohs(s4->sin_port));
    n = (size_t)(p - tmp);
    if (cap == 0)
        return;
    if (n >= cap)
        n = cap - 1;
    memcpy(buf, tmp, n);
    buf[n] = '\0';
}

void rt_addr_format(const struct sockaddr_storage *ss, char *buf, size_t cap)
{
    char ip[INET6_ADDRSTRLEN];
    const struct sockaddr_in6 *s6 = (const struct sockaddr_in6 *)ss;

    if (ss->ss_family == AF_INET)
        format_v4((const struct sockaddr_in *)ss, buf, cap);
    else if (ss->ss_family == AF_INET6 && inet_ntop(AF_INET6, &s6->sin6_addr, ip, sizeof ip))
        snprintf(buf, cap, "[%s]:%u", ip, ntohs(s6->sin6_port));
    else if (cap > 0)
        buf[0] = '\0';
}

int rt_addr_is_wildcard(const struct sockaddr_storage *ss)
{
    const struct sockaddr_in *s4 = (const struct sockaddr_in *)ss;
    const struct sockaddr_in6 *s6 = (const struct sockaddr_in6 *)ss;

    if (ss->ss_family == AF_INET)
        return s4->sin_addr.s_addr == htonl(INADDR_ANY);
    if (ss->ss_family == AF_INET6)
        return IN6_IS_ADDR_UNSPECIFIED(&s6->sin6_addr);
    return 1;
}

int rt_status_from_errno(int err)
{
    switch (err) {
    case 0: return 0;
    case ECONNREFUSED: return HG_ECONNREFUSED;
    case ECONNRESET: return HG_ECONNRESET;
    case EPIPE: return HG_EPIPE;
    case ETIMEDOUT: return HG_ETIMEDOUT;
    case EADDRINUSE: return HG_EADDRINUSE;
    case EADDRNOTAVAIL: return HG_EADDRNOTAVAIL;
    case ENETUNREACH: case ENETDOWN: return HG_ENETUNREACH;
    case EHOSTUNREACH: case EHOSTDOWN: return HG_EHOSTUNREACH;
    case EACCES: case EPERM: return HG_EPERM;
    case ENOMEM: case ENOBUFS: return HG_ENOMEM;
    case EINVAL: case EAFNOSUPPORT: return HG_EINVAL;
    case EAGAIN: return HG_EAGAIN;
    case ECANCELED: return HG_ECANCELED;
    case EMFILE: case ENFILE: return HG_EMFILE;
    default: return HG_EIO;
    }
}

void rt_set_linger0(int fd)
{
    struct linger lg = { 1, 0 };
    setsockopt(fd, SOL_SOCKET, SO_LINGER, &lg, sizeof lg);
}

int rt_abort_error(int fd, int fin_sent)
{
    struct tcp_info ti;
    socklen_t len = sizeof ti;
    int err = 0;

    /* a FIN leaves the socket in CLOSE_WAIT (or on its way out of FIN_WAIT); a reset or a
     * retransmission timeout moves it straight to CLOSE */
    if (getsockopt(fd, IPPROTO_TCP, TCP_INFO, &ti, &len) != 0 || ti.tcpi_state != TCP_CLOSE)
        return 0;
    len = sizeof err;
    if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &len) == 0 && err != 0)
        return err;
    /* no error pending: both FINs were exchanged (CLOSE after LAST_ACK or FIN_WAIT2), or a write
     * took the reset's error first, which is the only way to CLOSE without our FIN */
    return fin_sent ? 0 : ECONNRESET;
}

/* Opens one socket bound to ss; with `group`, SO_REUSEPORT and listening. */
static int open_one(const struct sockaddr_storage *ss, socklen_t len, int group,
                    uint32_t backlog, int *out)
{
    int one = 1, fd, err;

    fd = socket(ss->ss_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0)
        return rt_status_from_errno(errno);
    if (setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one) != 0)
        goto fail;
    if (group && setsockopt(fd, SOL_SOCKET, SO_REUSEPORT, &one, sizeof one) != 0)
        goto fail;
    if (ss->ss_family == AF_INET6)
        setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof one);
    if (bind(fd, (const struct sockaddr *)ss, len) != 0)
        goto fail;
    if (group && listen(fd, (int)backlog) != 0)
        goto fail;
    *out = fd;
    return 0;
fail:
    err = errno;
    close(fd);
    return err == EADDRINUSE || err == EADDRNOTAVAIL ? rt_status_from_errno(err) : HG_EIO;
}

/* SO_REUSEPORT would let the group join another listener of this user on the same port (and a
 * port-0 bind could land on one), so a plain socket is bound first: it fails with EADDRINUSE
 * when anything listens there, and for port 0 it picks a port nobody uses. */
int rt_listen_group(const struct sockaddr_storage *ss, socklen_t len, uint32_t n,
                    uint32_t backlog, int *fds, struct sockaddr_storage *bound)
{
    socklen_t blen = sizeof *bound;
    uint32_t i = 0;
    int probe, rc;

    rc = open_one(ss, len, 0, 0, &probe);
    if (rc != 0)
        return rc;
    rc = getsockname(probe, (struct sockaddr *)bound, &blen) == 0 ? 0 : HG_EIO;
    close(probe);
    if (rc != 0)
        return rc;
    for (i = 0; i < n; i++) {
        rc = open_one(bound, len, 1, backlog, &fds[i]);
        if (rc != 0)
            goto fail;
    }
    return 0;
fail:
    while (i > 0)
        close(fds[--i]);
    return rc;
}

int rt_accept_nonblock(int lfd)
{
    int fd = accept4(lfd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
    return fd >= 0 ? fd : -errno;
}
