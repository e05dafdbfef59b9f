/* hist.h - a log-linear latency histogram (HDR-style): exact below 128 ns, then 64 sub-buckets
 * per power of two (under 1.6% error). One per worker, filled without locks, merged for reports. */
#ifndef HG_TCP_HIST_H
#define HG_TCP_HIST_H

#include <stdint.h>

#define TCP_HIST_SUB 128u /* values below this are exact */
#define TCP_HIST_HALF 64u
#define TCP_HIST_MAX_EXP 47u /* 2^48 ns, about 78 hours: larger values land in the last bucket */
#define TCP_HIST_N (TCP_HIST_SUB + (TCP_HIST_MAX_EXP - 6u) * TCP_HIST_HALF)

typedef struct tcp_hist {
    uint64_t total;
    uint64_t sum;
    uint64_t max;
    uint32_t lo, hi; /* the range of buckets in use: [lo, hi) */
    uint64_t counts[TCP_HIST_N];
} tcp_hist;

static inline uint32_t hg__tcp_hist_index(uint64_t v)
{
    uint32_t e;
    if (v < TCP_HIST_SUB)
        return (uint32_t)v;
    e = 63u - (uint32_t)__builtin_clzll(v);
    if (e > TCP_HIST_MAX_EXP)
        return TCP_HIST_N - 1u;
    return TCP_HIST_SUB + (e - 7u) * TCP_HIST_HALF + (uint32_t)(v >> (e - 6u)) - TCP_HIST_HALF;
}

static inline void hg__tcp_hist_add(tcp_hist *h, uint64_t v)
{
    uint32_t i = hg__tcp_hist_index(v);
    h->counts[i]++;
    h->total++;
    h->sum += v;
    if (v > h->max)
        h->max = v;
    if (i < h->lo)
        h->lo = i;
    if (i >= h->hi)
        h->hi = i + 1;
}

/* Empties h. */
void hg__tcp_hist_clear(tcp_hist *h);
/* Adds src's counts into dst. */
void hg__tcp_hist_merge(tcp_hist *dst, const tcp_hist *src);
/* The value at percentile pct (0..100): the highest value of its bucket, at most max; 0 when
 * empty. */
uint64_t hg__tcp_hist_pct(const tcp_hist *h, double pct);
/* The highest value that lands in bucket i. */
uint64_t hg__tcp_hist_bucket_top(uint32_t i);

#endif
