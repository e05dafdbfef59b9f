/* hist.c - merging and percentiles of the log-linear latency histogram (hist.h). */
#include <math.h>
#include <string.h>

#include "hist.h"

void hg__tcp_hist_clear(tcp_hist *h)
{
    if (h->hi > h->lo)
        memset(&h->counts[h->lo], 0, (h->hi - h->lo) * sizeof h->counts[0]);
    h->total = h->sum = h->max = 0;
    h->lo = TCP_HIST_N;
    h->hi = 0;
}

void hg__tcp_hist_merge(tcp_hist *dst, const tcp_hist *src)
{
    uint32_t i;
    for (i = src->lo; i < src->hi; i++)
        dst->counts[i] += src->counts[i];
    dst->total += src->total;
    dst->sum += src->sum;
    if (src->max > dst->max)
        dst->max = src->max;
    if (src->lo < dst->lo)
        dst->lo = src->lo;
    if (src->hi > dst->hi)
        dst->hi = src->hi;
}

uint64_t hg__tcp_hist_bucket_top(uint32_t i)
{
    uint32_t k, e, sub;
    if (i < TCP_HIST_SUB)
        return i;
    k = (i - TCP_HIST_SUB) / TCP_HIST_HALF;
    e = k + 7u;
    sub = TCP_HIST_HALF + (i - TCP_HIST_SUB) % TCP_HIST_HALF;
    return (((uint64_t)sub + 1u) << (e - 6u)) - 1u;
}

uint64_t hg__tcp_hist_pct(const tcp_hist *h, double pct)
{
    uint64_t rank, seen = 0, top;
    uint32_t i;
    if (h->total == 0)
        return 0;
    rank = (uint64_t)ceil(pct / 100.0 * (double)h->total);
    if (rank < 1)
        rank = 1;
    if (rank > h->total)
        rank = h->total;
    for (i = h->lo; i < h->hi; i++) {
        seen += h->counts[i];
        if (seen >= rank)
            break;
    }
    top = hg__tcp_hist_bucket_top(i < h->hi ? i : h->hi - 1);
    return top < h->max ? top : h->max;
}
