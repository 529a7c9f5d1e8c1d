/*
 * exact.c — exact sums of doubles and squares in fixed point.
 *
 * A finite double is m * 2^e with m < 2^53 odd (after stripping trailing
 * zero bits) and -1074 <= e <= 971, so x lies on the grid 2^-1074 and x*x
 * (m*m < 2^106, exactly, in 128-bit arithmetic) on 2^-2148. One grid,
 * 2^-2148, holds both: x at bit e + 2148, x*x at bit 2e + 2148, the
 * largest square's top bit at 4196, and 2^63 of them below bit 4260, so
 * 68 words of two's complement never overflow. Adding is an integer add
 * with carry, which is what makes the sums exact and order-free (the
 * superaccumulator idea of Kulisch; Neal, "Fast exact summation using
 * small and large superaccumulators", 2015, for the practical form).
 *
 * Reading rounds once to nearest-even from the top 64 bits and a sticky
 * bit. The variance's numerator n*s2 - s1^2 is computed exactly, in 136
 * words, then rounded: no cancellation can lose digits, unlike the
 * textbook one-pass formula in doubles.
 */
#include "store/exact.h"

#include <math.h>
#include <string.h>

#define UNIT 2148 /* the grid: bit 0 is worth 2^-UNIT */
#define WIDE (2 * EXACT_WORDS)

typedef unsigned __int128 u128;

/* w (n words) += sign * v * 2^pos. */
static void add_at(uint64_t *w, int n, u128 v, int pos, int sign)
{
	int i = pos / 64, sh = pos % 64;
	uint64_t lo = (uint64_t)v, hi = (uint64_t)(v >> 64), part[3];

	part[0] = lo << sh;
	part[1] = sh ? (lo >> (64 - sh)) | (hi << sh) : hi;
	part[2] = sh ? hi >> (64 - sh) : 0;
	if (sign > 0) {
		uint64_t carry = 0;
		for (int k = i; k < n; k++) {
			uint64_t add = k - i < 3 ? part[k - i] : 0;
			if (k - i >= 3 && carry == 0)
				break;
			u128 t = (u128)w[k] + add + carry;
			w[k] = (uint64_t)t;
			carry = (uint64_t)(t >> 64);
		}
	} else {
		uint64_t borrow = 0;
		for (int k = i; k < n; k++) {
			uint64_t sub = k - i < 3 ? part[k - i] : 0;
			if (k - i >= 3 && borrow == 0)
				break;
			uint64_t a = w[k];
			uint64_t r = a - sub - borrow;
			borrow = (a < sub) || (a - sub < borrow);
			w[k] = r;
		}
	}
}

/* |x| = m * 2^e with m odd; 0 for zero and non-finite x. */
static int split(double x, uint64_t *m, int *e)
{
	int q;

	if (x == 0 || !isfinite(x))
		return 0;
	double f = frexp(fabs(x), &q);
	*m = (uint64_t)ldexp(f, 53);
	*e = q - 53;
	int tz = __builtin_ctzll(*m);
	*m >>= tz;
	*e += tz;
	return 1;
}

void exact_clear(exact_sum *s)
{
	memset(s, 0, sizeof(*s));
}

void exact_add(exact_sum *s, double x, int sign)
{
	uint64_t m;
	int e;

	if (split(x, &m, &e))
		add_at(s->w, EXACT_WORDS, m, e + UNIT, x < 0 ? -sign : sign);
}

void exact_add_square(exact_sum *s, double x, int sign)
{
	uint64_t m;
	int e;

	if (split(x, &m, &e))
		add_at(s->w, EXACT_WORDS, (u128)m * m, 2 * e + UNIT, sign);
}

static int negative(const uint64_t *w, int n)
{
	return (int)(w[n - 1] >> 63);
}

static void negate(uint64_t *w, int n)
{
	uint64_t carry = 1;

	for (int k = 0; k < n; k++) {
		u128 t = (u128)(~w[k]) + carry;
		w[k] = (uint64_t)t;
		carry = (uint64_t)(t >> 64);
	}
}

/* The 64 bits of w starting at bit lo (bits below 0 read as zero). */
static uint64_t bits_at(const uint64_t *w, int n, int lo)
{
	uint64_t r = 0;

	for (int b = 0; b < 64; b += 0) {
		int pos = lo + b;
		if (pos < 0) {
			int skip = -pos < 64 - b ? -pos : 64 - b;
			b += skip;
			continue;
		}
		int k = pos / 64, sh = pos % 64;
		if (k >= n)
			break;
		int take = 64 - sh < 64 - b ? 64 - sh : 64 - b;
		uint64_t chunk = w[k] >> sh;
		if (take < 64)
			chunk &= ((uint64_t)1 << take) - 1;
		r |= chunk << b;
		b += take;
	}
	return r;
}

/* Whether any bit of w below bit lo is set. */
static int any_below(const uint64_t *w, int lo)
{
	if (lo <= 0)
		return 0;
	for (int k = 0; k < lo / 64; k++)
		if (w[k])
			return 1;
	return lo % 64 && (w[lo / 64] & (((uint64_t)1 << (lo % 64)) - 1)) != 0;
}

/*
 * The non-negative magnitude mag (n words) times 2^-unit as frac * 2^exp,
 * frac in [0.5, 1) rounded to 53 bits, nearest-even; frac 0 for zero.
 */
static double to_parts(const uint64_t *mag, int n, int unit, int *exp)
{
	int t = n - 1;

	while (t >= 0 && mag[t] == 0)
		t--;
	*exp = 0;
	if (t < 0)
		return 0;
	int top = 64 * t + 63 - __builtin_clzll(mag[t]);
	uint64_t win = bits_at(mag, n, top - 63);
	int sticky = any_below(mag, top - 63);
	uint64_t m = win >> 11, rem = win & 0x7ff;
	if (rem > 0x400 || (rem == 0x400 && (sticky || (m & 1))))
		m++;
	if (m == (uint64_t)1 << 53) {
		m >>= 1;
		top++;
	}
	*exp = top + 1 - unit;
	return ldexp((double)m, -53);
}

/* w (n words, two's complement) as a signed frac * 2^exp. */
static double signed_parts(const uint64_t *w, int n, int unit, int *exp)
{
	uint64_t mag[WIDE];
	int neg = negative(w, n);

	memcpy(mag, w, (size_t)n * sizeof(*w));
	if (neg)
		negate(mag, n);
	double f = to_parts(mag, n, unit, exp);
	return neg ? -f : f;
}

double exact_value(const exact_sum *s)
{
	int e;
	double f = signed_parts(s->w, EXACT_WORDS, UNIT, &e);

	return ldexp(f, e);
}

double exact_mean(const exact_sum *s, int64_t n)
{
	int e;

	if (n <= 0)
		return NAN;
	double f = signed_parts(s->w, EXACT_WORDS, UNIT, &e);
	return ldexp(f / (double)n, e);
}

double exact_std(const exact_sum *s1, const exact_sum *s2, int64_t n)
{
	uint64_t a[EXACT_WORDS], d[WIDE], sq[WIDE];
	int lo = 0, hi = EXACT_WORDS - 1, e;

	if (n <= 0)
		return NAN;
	memcpy(a, s1->w, sizeof(a));
	if (negative(a, EXACT_WORDS))
		negate(a, EXACT_WORDS);
	/* sq = s1^2, schoolbook over the words that are not zero. */
	memset(sq, 0, sizeof(sq));
	while (lo < EXACT_WORDS && a[lo] == 0)
		lo++;
	while (hi >= 0 && a[hi] == 0)
		hi--;
	for (int i = lo; i <= hi; i++) {
		uint64_t carry = 0;
		for (int j = lo; j <= hi; j++) {
			u128 t = (u128)a[i] * a[j] + sq[i + j] + carry;
			sq[i + j] = (uint64_t)t;
			carry = (uint64_t)(t >> 64);
		}
		sq[i + hi + 1] = carry;
	}
	/* d = n * s2 * 2^UNIT, on the grid of s1^2 (2^-2 UNIT). */
	memset(d, 0, sizeof(d));
	{
		uint64_t carry = 0, ns2[EXACT_WORDS + 1];
		for (int k = 0; k < EXACT_WORDS; k++) {
			u128 t = (u128)s2->w[k] * (uint64_t)n + carry;
			ns2[k] = (uint64_t)t;
			carry = (uint64_t)(t >> 64);
		}
		ns2[EXACT_WORDS] = carry;
		int wsh = UNIT / 64, bsh = UNIT % 64;
		for (int k = 0; k <= EXACT_WORDS; k++) {
			if (k + wsh < WIDE)
				d[k + wsh] |= ns2[k] << bsh;
			if (bsh && k + wsh + 1 < WIDE)
				d[k + wsh + 1] |= ns2[k] >> (64 - bsh);
		}
	}
	/* d -= sq */
	uint64_t borrow = 0;
	for (int k = 0; k < WIDE; k++) {
		uint64_t x = d[k], y = sq[k];
		d[k] = x - y - borrow;
		borrow = (x < y) || (x - y < borrow);
	}
	if (borrow) /* n*s2 < s1^2 cannot happen for sums of real values */
		return 0;
	/* var = v 2^e with v in [0.5, 1); the root halves an even exponent, so no underflow on the way. */
	double f = to_parts(d, WIDE, 2 * UNIT, &e), v;
	int k;
	if (f == 0)
		return 0;
	v = frexp(f / (double)n / (double)n, &k);
	e += k;
	if (e % 2 != 0) {
		v *= 2;
		e--;
	}
	return ldexp(sqrt(v), e / 2);
}

size_t exact_encode(const exact_sum *s, uint8_t *out)
{
	uint64_t mag[EXACT_WORDS];
	int neg = negative(s->w, EXACT_WORDS), lo = 0, hi = EXACT_WORDS - 1;
	size_t n = 4;

	memcpy(mag, s->w, sizeof(mag));
	if (neg)
		negate(mag, EXACT_WORDS);
	while (lo < EXACT_WORDS && mag[lo] == 0)
		lo++;
	if (lo == EXACT_WORDS)
		return 0;
	while (mag[hi] == 0)
		hi--;
	out[0] = (uint8_t)neg;
	out[1] = (uint8_t)lo;
	out[2] = (uint8_t)(hi - lo + 1);
	out[3] = 1; /* format version */
	for (int k = lo; k <= hi; k++)
		for (int b = 0; b < 8; b++)
			out[n++] = (uint8_t)(mag[k] >> (8 * b));
	return n;
}

int exact_decode(exact_sum *s, const void *data, size_t len)
{
	const uint8_t *p = data;

	exact_clear(s);
	if (len == 0)
		return 0;
	if (len < 4 || p[0] > 1 || p[3] != 1 || p[2] == 0 || (size_t)p[1] + p[2] > EXACT_WORDS ||
	    len != 4 + 8 * (size_t)p[2])
		return -1;
	for (int k = 0; k < p[2]; k++) {
		uint64_t v = 0;
		for (int b = 0; b < 8; b++)
			v |= (uint64_t)p[4 + 8 * k + b] << (8 * b);
		s->w[p[1] + k] = v;
	}
	if (negative(s->w, EXACT_WORDS))
		return -1; /* a magnitude past the top bit */
	if (p[0])
		negate(s->w, EXACT_WORDS);
	return 0;
}
