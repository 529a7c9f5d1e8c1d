/*
 * coco.c — COCO run-length counts, their string form and polygons, after
 * cocoapi's common/maskApi.c (rleEncode, rleDecode, rleToString,
 * rleFrString, rleFrPoly).
 *
 * The arithmetic is the reference's, step for step, so that the same
 * input gives the same counts; only the checks are new. Counts are
 * validated in full (sum, characters, lengths, signs) before any pixel is
 * written, and a decoded count is kept in 64 bits until it is known to
 * fit the uint32 the format uses. The string decoder makes two passes:
 * the first checks every character and counts the counts, so the array
 * is allocated at its exact size.
 *
 * rleFrPoly is ported as a streaming walk: the reference stores every
 * boundary point of every edge before it looks at consecutive pairs; here
 * each point is compared with the one before as it is produced, so memory
 * is only the kept crossings. Two things the reference leaves undefined
 * are pinned down: an edge whose ends coincide divides 0 by 0 and
 * converts NaN to int (the point it makes shares its column with both
 * neighbours, so its row is never read; it gets the edge's own row), and
 * coordinates are bounded before they are scaled so no conversion
 * overflows. Floating-point steps are written as separate statements in
 * the reference's order, so no compiler may fuse a multiply and an add
 * into an FMA that would round differently. The walk's length is known
 * from the vertices alone and is charged against a budget before it
 * starts.
 *
 * Decoding hands vertical spans (one per column a run of 1s touches) to
 * the caller, so a painter can write an instance map without a
 * temporary mask; coco_decode is the painter for a plain mask.
 */
#include "codec/coco.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

seg_status coco_check_size(int64_t h, int64_t w, uint64_t max_pixels, seg_error *err)
{
	if (h < 1 || w < 1)
		return seg_fail(err, SEG_EINVAL, "size [%lld, %lld] is empty: height and width must be at least 1",
				(long long)h, (long long)w);
	if (h > SEG_MAX_SIDE || w > SEG_MAX_SIDE || (uint64_t)h * (uint64_t)w > max_pixels ||
	    (uint64_t)h * (uint64_t)w > UINT32_MAX)
		return seg_fail(err, SEG_ETOOBIG, "size [%lld, %lld] is over the limit of %llu pixels",
				(long long)h, (long long)w,
				(unsigned long long)(max_pixels < UINT32_MAX ? max_pixels : UINT32_MAX));
	return SEG_OK;
}

seg_status coco_count_from_double(double v, size_t i, uint32_t *out, seg_error *err)
{
	*out = 0;
	if (isnan(v))
		return seg_fail(err, SEG_EINVAL, "counts[%zu] is not a number", i);
	if (v < 0)
		return seg_fail(err, SEG_EINVAL, "counts[%zu] is %.17g: a count is a non-negative integer", i, v);
	if (v != floor(v))
		return seg_fail(err, SEG_EINVAL, "counts[%zu] is %.17g: a count is a whole number", i, v);
	if (v > (double)UINT32_MAX)
		return seg_fail(err, SEG_EINVAL, "counts[%zu] is %.17g: over 4294967295, the largest count", i, v);
	*out = (uint32_t)v;
	return SEG_OK;
}

seg_status coco_counts_check(const uint32_t *counts, size_t n, int h, int w, seg_error *err)
{
	uint64_t total = (uint64_t)h * (uint64_t)w;
	uint64_t sum = 0;

	/* Below 2^32 counts of at most 2^32 - 1 each, the sum cannot wrap. */
	if (n >= ((size_t)1 << 31))
		return seg_fail(err, SEG_ETOOBIG, "counts has %zu runs, more than any image has pixels", n);
	for (size_t i = 0; i < n; i++)
		sum += counts[i];
	if (sum != total)
		return seg_fail(err, SEG_EINVAL, "counts sum to %llu but size [%d, %d] has %llu pixels",
				(unsigned long long)sum, h, w, (unsigned long long)total);
	return SEG_OK;
}

/*
 * Hands the 1s of checked counts to fn as horizontal spans. Painting the
 * vertical runs straight into a row-major image touches one cache line
 * per pixel, and with a power-of-two width all those lines fall into a
 * few cache sets (1024 columns ran 3.5 times slower than 1000). So the
 * columns are taken STRIP at a time: a strip's runs set bits in one
 * 64-bit word per row, then each touched row's word is cut into runs of
 * set bits, emitted left to right, and cleared.
 */
#define STRIP 64

struct strips {
	uint64_t *bits; /* h words */
	int w;
	int x0;   /* first column of the strip being gathered, -1 before the first */
	int ymin; /* rows touched in it */
	int ymax;
	coco_span_fn fn;
	void *ctx;
};

static void flush_strip(struct strips *s)
{
	for (int y = s->ymin; y <= s->ymax; y++) {
		uint64_t b = s->bits[y];

		s->bits[y] = 0;
		while (b) {
			int start = __builtin_ctzll(b);
			uint64_t t = b + (b & (~b + 1)); /* the lowest run of ones carried away */
			int end = t == 0 ? 64 : __builtin_ctzll(t);

			s->fn(s->ctx, (size_t)y * (size_t)s->w + (size_t)s->x0 + (size_t)start, 1, (size_t)(end - start));
			b &= t;
		}
	}
	s->ymin = INT32_MAX;
	s->ymax = -1;
}

static seg_status emit_rows(const uint32_t *counts, size_t n, int h, int w, coco_span_fn fn, void *ctx,
			    seg_error *err)
{
	struct strips s = {NULL, w, -1, INT32_MAX, -1, fn, ctx};
	uint64_t pos = 0;

	s.bits = calloc((size_t)h, sizeof(*s.bits));
	if (s.bits == NULL)
		return seg_fail(err, SEG_ENOMEM, "out of memory for a %d-row strip", h);
	for (size_t i = 0; i < n; i++) {
		uint64_t len = counts[i];

		if ((i & 1) == 0) {
			pos += len;
			continue;
		}
		while (len > 0) {
			int x = (int)(pos / (uint64_t)h), y = (int)(pos % (uint64_t)h);
			int take = (uint64_t)(h - y) < len ? h - y : (int)len;
			uint64_t bit;

			if (x - x % STRIP != s.x0) {
				if (s.x0 >= 0)
					flush_strip(&s);
				s.x0 = x - x % STRIP;
			}
			bit = UINT64_C(1) << (x - s.x0);
			for (int k = 0; k < take; k++)
				s.bits[y + k] |= bit;
			if (y < s.ymin)
				s.ymin = y;
			if (y + take - 1 > s.ymax)
				s.ymax = y + take - 1;
			pos += (uint64_t)take;
			len -= (uint64_t)take;
		}
	}
	if (s.x0 >= 0)
		flush_strip(&s);
	free(s.bits);
	return SEG_OK;
}

seg_status coco_spans(const uint32_t *counts, size_t n, int h, int w, coco_span_fn fn, void *ctx,
		      seg_error *err)
{
	seg_status st = coco_counts_check(counts, n, h, w, err);

	if (st != SEG_OK)
		return st;
	return emit_rows(counts, n, h, w, fn, ctx, err);
}

static void mask_span(void *ctx, size_t start, size_t step, size_t len)
{
	(void)step;
	memset((uint8_t *)ctx + start, 1, len);
}

seg_status coco_decode(const uint32_t *counts, size_t n, int h, int w, uint8_t *mask, seg_error *err)
{
	seg_status st = coco_counts_check(counts, n, h, w, err);

	if (st != SEG_OK)
		return st;
	memset(mask, 0, (size_t)h * (size_t)w);
	return emit_rows(counts, n, h, w, mask_span, mask, err);
}

seg_status coco_encode(const uint8_t *mask, int h, int w, uint32_t **counts, size_t *n, seg_error *err)
{
	size_t runs = 1;
	uint8_t prev = 0;
	uint32_t *out;
	size_t k = 0;
	uint32_t c = 0;

	*counts = NULL;
	*n = 0;
	/* First pass: how many counts (rleEncode allocates h*w+1; we allocate what is needed). */
	for (int x = 0; x < w; x++)
		for (int y = 0; y < h; y++) {
			uint8_t v = mask[(size_t)y * (size_t)w + (size_t)x] != 0;
			if (v != prev) {
				runs++;
				prev = v;
			}
		}
	out = malloc(runs * sizeof(*out));
	if (out == NULL)
		return seg_fail(err, SEG_ENOMEM, "out of memory for %zu counts", runs);
	prev = 0;
	for (int x = 0; x < w; x++)
		for (int y = 0; y < h; y++) {
			uint8_t v = mask[(size_t)y * (size_t)w + (size_t)x] != 0;
			if (v != prev) {
				out[k++] = c;
				c = 0;
				prev = v;
			}
			c++;
		}
	out[k++] = c;
	*counts = out;
	*n = k;
	return SEG_OK;
}

/* Characters rleToString writes for one delta x. */
static size_t string_chars(int64_t x)
{
	size_t chars = 0;
	int more = 1;

	while (more) {
		int64_t c = x & 0x1f;
		x >>= 5; /* arithmetic on every compiler we build with, as the reference assumes */
		more = (c & 0x10) ? x != -1 : x != 0;
		chars++;
	}
	return chars;
}

static int64_t delta_of(const uint32_t *counts, size_t i)
{
	int64_t x = counts[i];

	if (i > 2)
		x -= counts[i - 2];
	return x;
}

seg_status coco_to_string(const uint32_t *counts, size_t n, char **out, size_t *len, seg_error *err)
{
	size_t total = 0, p = 0;
	char *s;

	*out = NULL;
	if (len)
		*len = 0;
	for (size_t i = 0; i < n; i++)
		total += string_chars(delta_of(counts, i));
	s = malloc(total + 1);
	if (s == NULL)
		return seg_fail(err, SEG_ENOMEM, "out of memory for a %zu-character counts string", total);
	for (size_t i = 0; i < n; i++) {
		int64_t x = delta_of(counts, i);
		int more = 1;

		while (more) {
			int64_t c = x & 0x1f;
			x >>= 5;
			more = (c & 0x10) ? x != -1 : x != 0;
			if (more)
				c |= 0x20;
			s[p++] = (char)(c + 48);
		}
	}
	s[p] = '\0';
	*out = s;
	if (len)
		*len = p;
	return SEG_OK;
}

/* Describes byte c for a message: "'~' (0x7e)" or "0x05". */
static void describe_char(unsigned char c, char *buf, size_t size)
{
	if (c >= 0x20 && c < 0x7f && c != '\'')
		snprintf(buf, size, "'%c' (0x%02x)", c, c);
	else
		snprintf(buf, size, "0x%02x", c);
}

seg_status coco_from_string(const char *s, size_t len, uint32_t **counts, size_t *n, seg_error *err)
{
	size_t ends = 0, chars = 0, m = 0;
	uint32_t *out;
	char what[24];

	*counts = NULL;
	*n = 0;
	/* Pass 1: every character in range, no count too long, none left open. */
	for (size_t p = 0; p < len; p++) {
		unsigned char c = (unsigned char)s[p];

		if (c < '0' || c > 'o') {
			describe_char(c, what, sizeof(what));
			return seg_fail(err, SEG_EINVAL,
					"counts has character %s at offset %zu, outside '0'..'o' (compressed RLE "
					"uses 64 characters from '0')",
					what, p);
		}
		chars++;
		if (((c - 48) & 0x20) == 0) {
			ends++;
			chars = 0;
		} else if (chars >= COCO_COUNT_CHARS_MAX) {
			return seg_fail(err, SEG_EINVAL,
					"counts has a count running past %d characters at offset %zu (no 32-bit "
					"count needs more)",
					COCO_COUNT_CHARS_MAX, p);
		}
	}
	if (chars > 0)
		return seg_fail(err, SEG_EINVAL,
				"counts ends in the middle of a count: the last character (offset %zu) says "
				"another follows",
				len - 1);
	if (ends == 0)
		return SEG_OK;
	out = malloc(ends * sizeof(*out));
	if (out == NULL)
		return seg_fail(err, SEG_ENOMEM, "out of memory for %zu counts", ends);
	/* Pass 2: rleFrString, with the shifts done in 64 bits. */
	for (size_t p = 0; p < len;) {
		int64_t x = 0;
		int k = 0, more = 1;
		size_t start = p;

		while (more) {
			int c = (unsigned char)s[p] - 48;
			x |= (int64_t)(c & 0x1f) << (5 * k);
			more = c & 0x20;
			p++;
			k++;
			if (!more && (c & 0x10))
				x |= -((int64_t)1 << (5 * k));
		}
		if (m > 2)
			x += out[m - 2];
		if (x < 0 || x > (int64_t)UINT32_MAX) {
			free(out);
			return seg_fail(err, SEG_EINVAL, "counts[%zu] (characters %zu..%zu of counts) decodes to %lld",
					m, start, p - 1, (long long)x);
		}
		out[m++] = (uint32_t)x;
	}
	*counts = out;
	*n = m;
	return SEG_OK;
}

/* ---- polygons (rleFrPoly) ------------------------------------------------ */

uint64_t coco_poly_budget(int h, int w)
{
	uint64_t px = (uint64_t)h * (uint64_t)w;
	uint64_t b = px * COCO_WALK_PER_PIXEL;

	return b < ((uint64_t)1 << 20) ? (uint64_t)1 << 20 : b;
}

/* (int)(5 * v + .5), as the reference scales a vertex. */
static int scaled(double v)
{
	double p = 5.0 * v;

	p = p + 0.5;
	return (int)p;
}

/* (int)(a + s * t + .5): the reference's rounding of a point on an edge. */
static int on_edge(int a, double s, int t)
{
	double q = s * (double)t;

	q = (double)a + q;
	q = q + 0.5;
	return (int)q;
}

struct crossings {
	uint32_t *a;
	size_t n;
	size_t cap;
	int h;
	int w;
	int have_prev;
	int pu;
	int pv;
};

static int push_crossing(struct crossings *c, uint32_t v)
{
	if (c->n == c->cap) {
		size_t cap = c->cap ? c->cap * 2 : 64;
		uint32_t *a = realloc(c->a, cap * sizeof(*a));
		if (a == NULL)
			return -1;
		c->a = a;
		c->cap = cap;
	}
	c->a[c->n++] = v;
	return 0;
}

/*
 * The reference's downsampling step for one pair of consecutive boundary
 * points whose columns differ by one: mu and mv are the smaller of their
 * two u and two v (what the reference picks with its ternaries). Keeps
 * the crossing when the pixel column it stands for is inside the image.
 */
static int cross(struct crossings *c, int mu, int mv)
{
	double xd = (double)mu, yd = (double)mv;
	uint32_t r = (uint32_t)mu - 2u;

	/* (mu + .5) / 5 - .5 is a whole number in [0, w - 1] exactly when mu - 2 is 5c, 0 <= c < w:
	   four in five calls end here without floating point */
	if (r % 5u != 0 || r / 5u > (uint32_t)(c->w - 1))
		return 0;
	xd = (xd + 0.5) / 5.0;
	xd = xd - 0.5;
	if (floor(xd) != xd || xd < 0 || xd > (double)(c->w - 1))
		return 0;
	yd = (yd + 0.5) / 5.0;
	yd = yd - 0.5;
	if (yd < 0)
		yd = 0;
	else if (yd > c->h)
		yd = c->h;
	yd = ceil(yd);
	return push_crossing(c, (uint32_t)(int)xd * (uint32_t)c->h + (uint32_t)(int)yd);
}

/* A boundary point (u, v) after the previous one (the first point of an edge after the last of the one before). */
static int visit(struct crossings *c, int u, int v)
{
	int pu = c->pu, pv = c->pv, had = c->have_prev;

	c->pu = u;
	c->pv = v;
	c->have_prev = 1;
	if (!had || u == pu)
		return 0;
	/* consecutive points are at most one column apart, except across an edge's end with
	   negative coordinates, where the reference's (u < pu ? u : u - 1) is what counts */
	return cross(c, u < pu ? u : u - 1, v < pv ? v : pv);
}

static void last_point(struct crossings *c, int u, int v)
{
	c->pu = u;
	c->pv = v;
	c->have_prev = 1;
}

/*
 * Walks edge (xs, ys) -> (xe, ye) as rleFrPoly does. Within an edge the
 * pairs of consecutive points are independent of the order they are
 * walked in, so they are taken in increasing t. Along a shallow edge
 * (dx >= dy) u steps by one at every point and only a pair whose smaller
 * u is 5c + 2 can stand for pixel column c, so only those pairs are
 * computed; along a steep edge the step where u passes 5c + 2 is found
 * directly. Either way the work is about a fifth of the edge's width in
 * scaled units, not its length. The edge's first point is paired with the previous
 * edge's last one, as the reference's single list of points does.
 */
static int walk_edge(struct crossings *c, int xs, int ys, int xe, int ye)
{
	int dx = abs(xe - xs), dy = abs(ys - ye);
	int flip = (dx >= dy && xs > xe) || (dx < dy && ys > ye);
	double s;

	if (flip) {
		int t = xs;
		xs = xe;
		xe = t;
		t = ys;
		ys = ye;
		ye = t;
	}
	if (dx >= dy) {
		int lo, hi, m;

		if (dx == 0) /* the reference divides 0 by 0 here; the row is never read */
			return visit(c, xs, ys);
		s = (double)(ye - ys) / dx;
		if (visit(c, xs + (flip ? dx : 0), on_edge(ys, s, flip ? dx : 0)) != 0)
			return -1;
		/* pairs (t, t + 1), t = 0 .. dx - 1: the smaller u is xs + t; keep u = 5c + 2, 0 <= c < w */
		lo = xs;
		hi = xs + dx - 1;
		if (lo < 2)
			lo = 2;
		if (hi > 5 * (c->w - 1) + 2)
			hi = 5 * (c->w - 1) + 2;
		m = lo + (((2 - lo) % 5) + 5) % 5;
		for (; m <= hi; m += 5) {
			int t = m - xs;
			int va = on_edge(ys, s, t), vb = on_edge(ys, s, t + 1);
			if (cross(c, m, va < vb ? va : vb) != 0)
				return -1;
		}
		last_point(c, xs + (flip ? 0 : dx), on_edge(ys, s, flip ? 0 : dx));
	} else {
		int u0, u1, inc, lo, hi, m;

		s = (double)(xe - xs) / dy;
		if (visit(c, on_edge(xs, s, flip ? dy : 0), ys + (flip ? dy : 0)) != 0)
			return -1;
		/*
		 * u(t) is monotone in t (every rounding step is) and moves at most one column a
		 * step, so it goes from m to m + 1 (or back) at exactly one t for each m between
		 * u(0) and u(dy). Only m = 5c + 2 can be kept: that t is estimated from the line
		 * and settled by evaluating u(t) itself, so it is the reference's t exactly.
		 */
		u0 = on_edge(xs, s, 0);
		u1 = on_edge(xs, s, dy);
		inc = u1 > u0;
		lo = inc ? u0 : u1;
		hi = (inc ? u1 : u0) - 1;
		if (lo < 2)
			lo = 2;
		if (hi > 5 * (c->w - 1) + 2)
			hi = 5 * (c->w - 1) + 2;
		m = lo + (((2 - lo) % 5) + 5) % 5;
		for (; m <= hi; m += 5) {
			double est = ((double)m + 0.5 - xs) / s;
			int t;

			est = inc ? ceil(est) : floor(est) + 1;
			t = est < 1 ? 1 : est > dy ? dy : (int)est;
			/* the first t whose u has left m's side: u(t) >= m + 1 rising, u(t) <= m falling */
			while (t > 1 && (inc ? on_edge(xs, s, t - 1) >= m + 1 : on_edge(xs, s, t - 1) <= m))
				t--;
			while (inc ? on_edge(xs, s, t) < m + 1 : on_edge(xs, s, t) > m)
				t++;
			if (cross(c, m, ys + t - 1) != 0)
				return -1;
		}
		last_point(c, on_edge(xs, s, flip ? 0 : dy), ys + (flip ? 0 : dy));
	}
	return 0;
}

/*
 * Sorts a[0..n) with a least-significant-digit radix sort (8-bit digits;
 * a digit every key shares is skipped), using tmp (n) as scratch. Linear
 * in n: a polygon's crossings number about twice its width in pixels.
 */
static void radix_sort(uint32_t *a, uint32_t *tmp, size_t n)
{
	uint32_t *src = a, *dst = tmp;

	for (int shift = 0; shift < 32; shift += 8) {
		size_t count[256] = {0}, pos = 0;

		for (size_t i = 0; i < n; i++)
			count[(src[i] >> shift) & 0xff]++;
		if (count[(src[0] >> shift) & 0xff] == n)
			continue;
		for (int d = 0; d < 256; d++) {
			size_t k = count[d];
			count[d] = pos;
			pos += k;
		}
		for (size_t i = 0; i < n; i++)
			dst[count[(src[i] >> shift) & 0xff]++] = src[i];
		src = dst;
		dst = src == a ? tmp : a;
	}
	if (src != a)
		memcpy(a, src, n * sizeof(*a));
}

seg_status coco_poly_to_counts(const double *xy, size_t n_coords, int h, int w, size_t max_vertices,
			       uint64_t *budget, uint32_t **counts, size_t *n, seg_error *err)
{
	struct crossings c = {0};
	size_t k = n_coords / 2, m = 1, j = 1;
	double slack = h > w ? h : w;
	uint64_t steps = 0;
	uint32_t *a, *tmp, prev = 0;
	seg_status st = SEG_OK;

	*counts = NULL;
	*n = 0;
	if (slack < COCO_POLY_SLACK_MIN)
		slack = COCO_POLY_SLACK_MIN;
	if (n_coords % 2 != 0)
		return seg_fail(err, SEG_EINVAL, "polygon has %zu numbers, an odd count: points are x, y pairs",
				n_coords);
	if (n_coords == 4)
		return seg_fail(err, SEG_EINVAL,
				"polygon has 4 numbers, which pycocotools reads as a box [x, y, width, height], "
				"not as 2 points; send a box as its 4 corners");
	if (k < 3)
		return seg_fail(err, SEG_EINVAL, "polygon has %zu point%s; at least 3 are needed", k,
				k == 1 ? "" : "s");
	if (k > max_vertices)
		return seg_fail(err, SEG_ETOOBIG, "polygon has %zu points, over the limit of %zu", k, max_vertices);
	if ((uint64_t)h * (uint64_t)w > UINT32_MAX)
		return seg_fail(err, SEG_ETOOBIG, "size [%d, %d] is too large for 32-bit counts", h, w);
	for (size_t i = 0; i < k; i++) {
		double x = xy[2 * i], y = xy[2 * i + 1];

		if (!isfinite(x) || !isfinite(y))
			return seg_fail(err, SEG_EINVAL, "polygon point %zu (x %g, y %g) is not finite", i, x, y);
		if (x < -slack || x > w + slack || y < -slack || y > h + slack)
			return seg_fail(err, SEG_EINVAL,
					"polygon point %zu (x %g, y %g) is more than %g pixels outside the %dx%d image",
					i, x, y, slack, w, h);
	}
	for (size_t i = 0; i < k; i++) {
		size_t e = i + 1 == k ? 0 : i + 1;
		int dx = abs(scaled(xy[2 * e]) - scaled(xy[2 * i]));
		int dy = abs(scaled(xy[2 * e + 1]) - scaled(xy[2 * i + 1]));
		steps += (uint64_t)(dx > dy ? dx : dy) + 1;
	}
	if (steps > *budget)
		return seg_fail(err, SEG_ETOOBIG,
				"polygon boundary takes %llu steps to trace, over the %llu left for this image "
				"(%d per pixel)",
				(unsigned long long)steps, (unsigned long long)*budget, COCO_WALK_PER_PIXEL);
	*budget -= steps;

	c.h = h;
	c.w = w;
	for (size_t i = 0; i < k; i++) {
		size_t e = i + 1 == k ? 0 : i + 1;
		if (walk_edge(&c, scaled(xy[2 * i]), scaled(xy[2 * i + 1]), scaled(xy[2 * e]),
			      scaled(xy[2 * e + 1])) != 0) {
			st = seg_fail(err, SEG_ENOMEM, "out of memory for polygon crossings");
			goto out;
		}
	}
	if (push_crossing(&c, (uint32_t)((uint64_t)h * (uint64_t)w)) != 0) {
		st = seg_fail(err, SEG_ENOMEM, "out of memory for polygon crossings");
		goto out;
	}
	a = c.a;
	tmp = malloc(c.n * sizeof(*tmp));
	if (tmp == NULL) {
		st = seg_fail(err, SEG_ENOMEM, "out of memory for polygon crossings");
		goto out;
	}
	radix_sort(a, tmp, c.n);
	free(tmp);
	for (size_t i = 0; i < c.n; i++) {
		uint32_t t = a[i];
		a[i] -= prev;
		prev = t;
	}
	/* Zero-length runs are merged away, as the reference does (in place: m <= j throughout). */
	while (j < c.n) {
		if (a[j] > 0) {
			a[m++] = a[j++];
		} else {
			j++;
			if (j < c.n)
				a[m - 1] += a[j++];
		}
	}
	*counts = a;
	*n = m;
	c.a = NULL;
out:
	free(c.a);
	return st;
}
