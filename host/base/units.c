/* units.c - parses the numbers a person writes in a config: sizes (64B, 4KiB, 1kB), durations
 * (250us, 1.5s, 2m), integers and booleans. Everything is exact integer arithmetic with overflow
 * checks; a decimal fraction is allowed where it makes sense (1.5s, 1.5KiB). */
#include "units.h"

#include <string.h>

#include <hangar/status.h>

typedef struct unit {
    const char *name;
    uint64_t mult;
} unit;

static const unit size_units[] = {
    { "B", 1 },
    { "KiB", 1ull << 10 }, { "MiB", 1ull << 20 }, { "GiB", 1ull << 30 }, { "TiB", 1ull << 40 },
    { "kB", 1000ull }, { "KB", 1000ull }, { "MB", 1000000ull }, { "GB", 1000000000ull },
    { "TB", 1000000000000ull },
    { NULL, 0 },
};

static const unit duration_units[] = {
    { "ns", 1 }, { "us", 1000ull }, { "ms", 1000000ull }, { "s", 1000000000ull },
    { "m", 60ull * 1000000000ull }, { "h", 3600ull * 1000000000ull },
    { NULL, 0 },
};

/* A decimal number "123" or "1.25": the integer part, and the fraction as frac / scale. */
typedef struct decimal {
    uint64_t whole;
    uint64_t frac;
    uint64_t scale; /* 10^digits kept; 1 without a fraction */
    uint8_t overflow;
} decimal;

static int is_digit(char c)
{
    return c >= '0' && c <= '9';
}

/* Reads digits[.digits] from *p and advances it. Returns 0 or HG_EINVAL (no digits). */
static int read_decimal(const char **p, decimal *out)
{
    const char *s = *p;

    memset(out, 0, sizeof(*out));
    out->scale = 1;
    if (!is_digit(*s))
        return HG_EINVAL;
    for (; is_digit(*s); s++) {
        uint64_t d = (uint64_t)(*s - '0');
        if (__builtin_mul_overflow(out->whole, 10, &out->whole) ||
            __builtin_add_overflow(out->whole, d, &out->whole))
            out->overflow = 1;
    }
    if (*s == '.') {
        s++;
        if (!is_digit(*s))
            return HG_EINVAL;
        for (; is_digit(*s); s++) {
            /* digits past 10^18 are below any unit's precision: checked, then ignored */
            if (out->scale < 1000000000000000000ull) {
                out->frac = out->frac * 10 + (uint64_t)(*s - '0');
                out->scale *= 10;
            }
        }
    }
    *p = s;
    return 0;
}

static const unit *find_unit(const unit *table, const char *name)
{
    for (const unit *u = table; u->name; u++)
        if (strcmp(u->name, name) == 0)
            return u;
    return NULL;
}

/* Parses NUMBER[ ]UNIT with the given default unit multiplier for a bare number.
 * exact: the fraction must give a whole number of base units (sizes). */
static int parse_with_units(const char *s, const unit *table, uint64_t bare_mult, int exact,
                            uint64_t *out)
{
    decimal dec;
    uint64_t mult = bare_mult, whole;
    unsigned __int128 part;

    if (!s || read_decimal(&s, &dec) != 0)
        return HG_EINVAL;
    if (*s == ' ')
        s++;
    if (*s) {
        const unit *u = find_unit(table, s);
        if (!u)
            return HG_EINVAL;
        mult = u->mult;
    }
    if (dec.overflow)
        return HG_EOVERFLOW;
    part = (unsigned __int128)dec.frac * mult;
    if (exact && part % dec.scale != 0)
        return HG_EINVAL;
    part /= dec.scale;
    if (__builtin_mul_overflow(dec.whole, mult, &whole) ||
        __builtin_add_overflow(whole, (uint64_t)part, &whole))
        return HG_EOVERFLOW;
    *out = whole;
    return 0;
}

int hg__parse_size(const char *s, uint64_t *out)
{
    return parse_with_units(s, size_units, 1, 1, out);
}

int hg__parse_duration(const char *s, uint64_t *out_ns)
{
    return parse_with_units(s, duration_units, 1000000000ull, 0, out_ns);
}

int hg__parse_int(const char *s, int64_t *out)
{
    uint64_t mag = 0;
    int neg = 0;

    if (!s)
        return HG_EINVAL;
    if (*s == '-' || *s == '+') {
        neg = *s == '-';
        s++;
    }
    if (!is_digit(*s))
        return HG_EINVAL;
    for (; is_digit(*s); s++) {
        if (__builtin_mul_overflow(mag, 10, &mag) ||
            __builtin_add_overflow(mag, (uint64_t)(*s - '0'), &mag))
            return HG_EOVERFLOW;
    }
    if (*s)
        return HG_EINVAL;
    if (neg) {
        if (mag > (uint64_t)INT64_MAX + 1)
            return HG_EOVERFLOW;
        *out = mag == (uint64_t)INT64_MAX + 1 ? INT64_MIN : -(int64_t)mag;
    } else {
        if (mag > (uint64_t)INT64_MAX)
            return HG_EOVERFLOW;
        *out = (int64_t)mag;
    }
    return 0;
}

int hg__parse_bool(const char *s, uint8_t *out)
{
    static const char *const yes[] = { "true", "yes", "on", "True", "Yes", "On", "TRUE", "YES",
                                       "ON", NULL };
    static const char *const no[] = { "false", "no", "off", "False", "No", "Off", "FALSE", "NO",
                                      "OFF", NULL };

    if (!s)
        return HG_EINVAL;
    for (int i = 0; yes[i]; i++) {
        if (strcmp(s, yes[i]) == 0) {
            *out = 1;
            return 0;
        }
        if (strcmp(s, no[i]) == 0) {
            *out = 0;
            return 0;
        }
    }
    return HG_EINVAL;
}
