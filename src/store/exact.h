/*
 * exact.h — exact sums of doubles and of their squares, for aggregates
 * kept incrementally (the SQLite backend; PostgreSQL does the same with
 * numeric).
 *
 * An exact_sum is a two's complement fixed-point integer in units of
 * 2^-2148, wide enough for any finite double, its exact square, and
 * 2^63 of them: adding x and later subtracting the same x leaves it
 * exactly as it was, so a run's sums depend only on the items it holds,
 * never on the order they came or were replaced in. Values are rounded
 * once, when read.
 */
#ifndef EXACT_H
#define EXACT_H

#include <stddef.h>
#include <stdint.h>

#define EXACT_WORDS 68 /* 4352 bits */
#define EXACT_BLOB_MAX (4 + 8 * EXACT_WORDS)

typedef struct exact_sum {
	uint64_t w[EXACT_WORDS];
} exact_sum;

/* Sets s to zero. */
void exact_clear(exact_sum *s);

/* s += sign * x (sign +1 or -1); a non-finite x is ignored. s borrowed. */
void exact_add(exact_sum *s, double x, int sign);

/* s += sign * x*x, the square taken exactly. s borrowed. */
void exact_add_square(exact_sum *s, double x, int sign);

/* s rounded to the nearest double (±inf past the range). s borrowed. */
double exact_value(const exact_sum *s);

/* s / n rounded once (n > 0); NAN when n <= 0. s borrowed. */
double exact_mean(const exact_sum *s, int64_t n);

/*
 * The population standard deviation of n values whose sum is s1 and sum
 * of squares s2: the square root of (n*s2 - s1^2) / n^2, the numerator
 * exact (so also for variances below the smallest double). NAN when
 * n <= 0. Borrowed.
 */
double exact_std(const exact_sum *s1, const exact_sum *s2, int64_t n);

/* Writes s compactly into out (EXACT_BLOB_MAX bytes at most); returns the length. Borrowed. */
size_t exact_encode(const exact_sum *s, uint8_t *out);

/* Reads what exact_encode wrote; len 0 is zero. 0 on success, -1 when malformed. Borrowed. */
int exact_decode(exact_sum *s, const void *data, size_t len);

#endif
