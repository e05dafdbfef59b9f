/* test-ctl-format.c - the human units of `hangar ctl` and `hangar run -i` (ctl_table.c): sizes
 * in binary units, bit rates and event rates in decimal ones, durations, and aligned tables. */
#include <stdlib.h>
#include <string.h>

#include "ctl.h"
#include "tap.h"

static void test_ctl_format_sizes(void)
{
    char b[32];
    is_str(hg__fmt_size(0, b, sizeof b), "0 B", "zero bytes read 0 B");
    is_str(hg__fmt_size(512, b, sizeof b), "512 B", "512 bytes stay bytes");
    is_str(hg__fmt_size(12.4 * 1048576, b, sizeof b), "12.4 MiB", "12.4 MiB reads 12.4 MiB");
    is_str(hg__fmt_size(1536, b, sizeof b), "1.5 KiB", "1536 bytes read 1.5 KiB");
    is_str(hg__fmt_size(300.0 * 1073741824, b, sizeof b), "300 GiB",
           "three digits lose the decimal (300 GiB)");
}

static void test_ctl_format_rates(void)
{
    char b[32];
    is_str(hg__fmt_bitrate(150e6, b, sizeof b), "1.2 Gbit/s", "150 MB/s is 1.2 Gbit/s");
    is_str(hg__fmt_bitrate(0, b, sizeof b), "0 bit/s", "no traffic is 0 bit/s");
    is_str(hg__fmt_bitrate(125, b, sizeof b), "1.0 kbit/s", "125 B/s is 1.0 kbit/s");
    is_str(hg__fmt_rate(12, b, sizeof b), "12/s", "a plain rate hugs its unit (12/s)");
    is_str(hg__fmt_rate(1234, b, sizeof b), "1.2 k/s", "thousands read k/s");
}

static void test_ctl_format_durations(void)
{
    char b[32];
    is_str(hg__fmt_duration(3.2e6, b, sizeof b), "3.2 ms", "3.2 ms reads 3.2 ms");
    is_str(hg__fmt_duration(850, b, sizeof b), "850 ns", "under a microsecond in ns");
    is_str(hg__fmt_duration(12.3e3, b, sizeof b), "12.3 \u00b5s", "microseconds as \u00b5s");
    is_str(hg__fmt_duration(4.5e9, b, sizeof b), "4.5 s", "seconds with one decimal");
    is_str(hg__fmt_duration(245e9, b, sizeof b), "4m05s", "minutes and seconds");
    is_str(hg__fmt_duration(3 * 86400e9 + 4 * 3600e9, b, sizeof b), "3d04h", "days and hours");
}

static void test_ctl_format_table(void)
{
    static const char *const head[] = {"NAME", "RATE"};
    static const char *const r1[] = {"echo", "12.3 \u00b5s"};
    static const char *const r2[] = {"a-long-name", "3.2 ms"};
    hg__table t;
    char *text = NULL;
    size_t len = 0;
    FILE *m = open_memstream(&text, &len);
    hg__table_init(&t, 2);
    hg__table_row(&t, head);
    hg__table_row(&t, r1);
    hg__table_row(&t, r2);
    hg__table_print(&t, m, 0);
    fclose(m);
    is_str(text, "NAME            RATE\necho         12.3 \u00b5s\na-long-name   3.2 ms\n",
           "columns align by display width (\u00b5 is one column), numbers to the right");
    free(text);
    text = NULL;
    m = open_memstream(&text, &len);
    hg__table_print(&t, m, 8);
    fclose(m);
    is_str(text, "NAME\necho\na-long-n\n", "a width cuts every line (trailing blanks dropped)");
    free(text);
    hg__table_free(&t);
}

int main(void)
{
    test_ctl_format_sizes();
    test_ctl_format_rates();
    test_ctl_format_durations();
    test_ctl_format_table();
    return tap_done();
}
