/* units.h - parses the units a person writes in a config: sizes (64B, 4KiB, 1MiB, 1kB) and
 * durations (250us, 10ms, 5s, 2m, 1h). */
#ifndef HG_UNITS_H
#define HG_UNITS_H

#include <stdint.h>

/* Parses a size; a bare number is bytes. Returns 0, HG_EINVAL (not a size), HG_EOVERFLOW. */
int hg__parse_size(const char *s, uint64_t *out);
/* Parses a duration into ns; a bare number (integer or decimal) is seconds.
 * Returns 0, HG_EINVAL, HG_EOVERFLOW. */
int hg__parse_duration(const char *s, uint64_t *out_ns);
/* Parses an int64 (decimal, optional sign). Returns 0, HG_EINVAL, HG_EOVERFLOW. */
int hg__parse_int(const char *s, int64_t *out);
/* Parses true/false/yes/no/on/off. Returns 0 or HG_EINVAL. */
int hg__parse_bool(const char *s, uint8_t *out);

#endif
