/* test-units.c - the unit parsers: sizes, durations, integers and booleans, their units,
 * overflow and the inputs they must refuse. */
#include <stdint.h>

#include <hangar/status.h>

#include "tap.h"
#include "units.h"

static void size_is(const char *s, uint64_t want)
{
    uint64_t got = 0;
    int rc = hg__parse_size(s, &got);

    ok(rc == 0 && got == want, "size \"%s\" is %llu bytes", s, (unsigned long long)want);
    if (rc != 0 || got != want)
        tap_diag("rc %d, got %llu", rc, (unsigned long long)got);
}

static void size_fails(const char *s, int want_rc)
{
    uint64_t got = 7;
    int rc = hg__parse_size(s, &got);

    ok(rc == want_rc && got == 7, "size \"%s\" is refused with %s", s, hg_err_name(want_rc));
    if (rc != want_rc)
        tap_diag("rc %s", hg_err_name(rc));
}

static void dur_is(const char *s, uint64_t want)
{
    uint64_t got = 0;
    int rc = hg__parse_duration(s, &got);

    ok(rc == 0 && got == want, "duration \"%s\" is %llu ns", s, (unsigned long long)want);
    if (rc != 0 || got != want)
        tap_diag("rc %d, got %llu", rc, (unsigned long long)got);
}

static void dur_fails(const char *s, int want_rc)
{
    uint64_t got = 7;
    int rc = hg__parse_duration(s, &got);

    ok(rc == want_rc && got == 7, "duration \"%s\" is refused with %s", s, hg_err_name(want_rc));
    if (rc != want_rc)
        tap_diag("rc %s", hg_err_name(rc));
}

static void test_units_sizes(void)
{
    size_is("64B", 64);
    size_is("4KiB", 4096);
    size_is("1MiB", 1048576);
    size_is("2GiB", 2147483648ull);
    size_is("1kB", 1000);
    size_is("1KB", 1000);
    size_is("1MB", 1000000);
    size_is("3GB", 3000000000ull);
    size_is("1.5KiB", 1536);
    size_is("0", 0);
    size_is("12345", 12345);
    size_is("16 KiB", 16384);
    size_is("16777215TiB", 16777215ull << 40);
    size_is("18446744073709551615", UINT64_MAX);
    size_fails("18446744073709551616", HG_EOVERFLOW);
    size_fails("16777216TiB", HG_EOVERFLOW);
    size_fails("", HG_EINVAL);
    size_fails("-1B", HG_EINVAL);
    size_fails("64XB", HG_EINVAL);
    size_fails("64b", HG_EINVAL);
    size_fails("64B ", HG_EINVAL);
    size_fails("64Bx", HG_EINVAL);
    size_fails("KiB", HG_EINVAL);
    size_fails("1.3B", HG_EINVAL);
    size_fails("1.B", HG_EINVAL);
}

static void test_units_durations(void)
{
    dur_is("100ns", 100);
    dur_is("250us", 250000);
    dur_is("10ms", 10000000);
    dur_is("5s", 5000000000ull);
    dur_is("2m", 120000000000ull);
    dur_is("1h", 3600000000000ull);
    dur_is("1.5s", 1500000000ull);
    dur_is("0.25ms", 250000);
    dur_is("3", 3000000000ull);
    dur_is("0.5", 500000000ull);
    dur_is("1.0000000001s", 1000000000);
    dur_is("5124095h", 5124095ull * 3600000000000ull);
    dur_fails("5124096h", HG_EOVERFLOW);
    dur_fails("99999999999999999999ns", HG_EOVERFLOW);
    dur_fails("", HG_EINVAL);
    dur_fails("-1s", HG_EINVAL);
    dur_fails("5 sec", HG_EINVAL);
    dur_fails("5S", HG_EINVAL);
    dur_fails("5s5", HG_EINVAL);
    dur_fails("s", HG_EINVAL);
    dur_fails(".5s", HG_EINVAL);
}

static void test_units_ints_and_bools(void)
{
    int64_t i = 0;
    uint8_t b = 9;

    is_int(hg__parse_int("42", &i), 0, "int 42 parses");
    is_int(i, 42, "int 42 has its value");
    is_int(hg__parse_int("-9223372036854775808", &i), 0, "the smallest int64 parses");
    ok(i == INT64_MIN, "the smallest int64 has its value");
    is_int(hg__parse_int("9223372036854775808", &i), HG_EOVERFLOW, "int64 max + 1 overflows");
    is_int(hg__parse_int("-9223372036854775809", &i), HG_EOVERFLOW, "int64 min - 1 overflows");
    is_int(hg__parse_int("+7", &i), 0, "a plus sign is accepted");
    is_int(hg__parse_int("4x", &i), HG_EINVAL, "trailing junk after an int is refused");
    is_int(hg__parse_int("", &i), HG_EINVAL, "an empty int is refused");
    is_int(hg__parse_int("-", &i), HG_EINVAL, "a lone sign is refused");
    is_int(hg__parse_bool("yes", &b), 0, "yes is a bool");
    is_int(b, 1, "yes is true");
    is_int(hg__parse_bool("off", &b), 0, "off is a bool");
    is_int(b, 0, "off is false");
    is_int(hg__parse_bool("True", &b), 0, "True is a bool");
    is_int(hg__parse_bool("maybe", &b), HG_EINVAL, "maybe is not a bool");
    is_int(hg__parse_bool("1", &b), HG_EINVAL, "1 is not a bool");
}

int main(void)
{
    test_units_sizes();
    test_units_durations();
    test_units_ints_and_bools();
    return tap_done();
}
