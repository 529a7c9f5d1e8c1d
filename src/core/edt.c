/*
 * edt.c — exact Euclidean distance transform in two linear passes.
 *
 * Column pass (Meijster et al. 2000, phase 1): a forward and a backward
 * sweep over whole rows give g, the row distance to the nearest feature
 * pixel in the same column. Sweeping rows rather than columns keeps the
 * access sequential and lets the compiler vectorise the min/+1 updates.
 *
 * Row pass (Felzenszwalb & Huttenlocher 2012, "Distance Transforms of
 * Sampled Functions"): each row is the lower envelope of parabolas
 * f_i(x) = (sx (x - i))^2 + (sy g_i)^2. Columns without a feature are
 * skipped (their parabola is at infinity). All arithmetic on the
 * envelope is in double; for unit spacing every squared distance is an
 * integer below 2^53 and so exact.
 */
#include "core/edt.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

seg_status edt_scratch_init(edt_scratch *s, int cap)
{
	s->cap = 0;
	s->v = NULL;
	s->z = NULL;
	s->h = NULL;
	s->f = NULL;
	s->recip = NULL;
	if (cap < 1)
		cap = 1;
	s->v = malloc((size_t)cap * sizeof(*s->v));
	s->z = malloc(((size_t)cap + 1) * sizeof(*s->z));
	s->h = malloc((size_t)cap * sizeof(*s->h));
	s->f = malloc((size_t)cap * sizeof(*s->f));
	s->recip = malloc((size_t)cap * sizeof(*s->recip));
	if (s->v == NULL || s->z == NULL || s->h == NULL || s->f == NULL || s->recip == NULL) {
		edt_scratch_release(s);
		return SEG_ENOMEM;
	}
	s->recip[0] = 0.0;
	for (int d = 1; d < cap; d++)
		s->recip[d] = 1.0 / (double)d;
	s->cap = cap;
	return SEG_OK;
}

void edt_scratch_release(edt_scratch *s)
{
	if (s == NULL)
		return;
	free(s->v);
	free(s->z);
	free(s->h);
	free(s->f);
	free(s->recip);
	s->v = NULL;
	s->z = NULL;
	s->h = NULL;
	s->f = NULL;
	s->recip = NULL;
	s->cap = 0;
}

/*
 * The intersection of the parabolas from v and q is
 *   x = (h(q) - h(v)) / (2 sx^2 (q - v)),  h(i) = f(i) + (sx i)^2,
 * computed with a table of reciprocals instead of a division. The product
 * is within two ulps of the quotient; that can never move an integer
 * sample across an intersection, because for integer squared distances
 * an intersection that is not itself an integer lies at least 1/(2n)
 * away from every integer, and one that is an integer is where both
 * parabolas agree.
 */
void edt_row(const int32_t *g, int n, double sy, double sx, double *d2, edt_scratch *s)
{
	int *v = s->v;
	double *z = s->z, *h = s->h, *f = s->f;
	const double *recip = s->recip;
	double sx2 = sx * sx, sy2 = sy * sy;
	double inv = 1.0 / (2.0 * sx2);
	int k = -1;

	for (int q = 0; q < n; q++) {
		if (g[q] >= EDT_FAR)
			continue;
		double gq = (double)g[q];
		double fq = gq * gq * sy2;
		double hq = fq + sx2 * (double)q * (double)q;
		double x = -INFINITY;
		/* Pop parabolas hidden by the new one; the first stays (its z is -inf). */
		while (k >= 0) {
			x = (hq - h[k]) * inv * recip[q - v[k]];
			if (x > z[k])
				break;
			k--;
		}
		if (k < 0)
			x = -INFINITY;
		k++;
		v[k] = q;
		h[k] = hq;
		f[k] = fq;
		z[k] = x;
	}
	if (k < 0) {
		for (int x = 0; x < n; x++)
			d2[x] = INFINITY;
		return;
	}
	z[k + 1] = INFINITY;
	int j = 0;
	for (int x = 0; x < n; x++) {
		while (z[j + 1] < (double)x)
			j++;
		double dx = sx * (double)(x - v[j]);
		d2[x] = dx * dx + f[j];
	}
}

/* g[i] = rows from i to the nearest feature pixel of its column, EDT_FAR when none. */
static void column_pass(const uint8_t *mask, int w, int h, int want, int32_t *g)
{
	uint8_t hit = want ? 1 : 0;

	for (int x = 0; x < w; x++)
		g[x] = ((mask[x] != 0) == hit) ? 0 : EDT_FAR;
	for (int y = 1; y < h; y++) {
		const uint8_t *m = mask + (size_t)y * w;
		const int32_t *up = g + (size_t)(y - 1) * w;
		int32_t *row = g + (size_t)y * w;
		for (int x = 0; x < w; x++) {
			int32_t next = up[x] + 1;
			if (next > EDT_FAR)
				next = EDT_FAR;
			row[x] = ((m[x] != 0) == hit) ? 0 : next;
		}
	}
	for (int y = h - 2; y >= 0; y--) {
		const int32_t *down = g + (size_t)(y + 1) * w;
		int32_t *row = g + (size_t)y * w;
		for (int x = 0; x < w; x++) {
			int32_t next = down[x] + 1;
			if (next < row[x])
				row[x] = next;
		}
	}
}

/* The common part of edt_dist and edt_sample: arguments, the column pass, scratch. */
static seg_status edt_begin(const uint8_t *mask, int w, int h, int want, const double *spacing,
			    int32_t **g, edt_scratch *s, seg_error *err)
{
	double sy = spacing ? spacing[0] : 1.0;
	double sx = spacing ? spacing[1] : 1.0;

	*g = NULL;
	if (w <= 0 || h <= 0 || w > SEG_MAX_SIDE || h > SEG_MAX_SIDE)
		return seg_fail(err, SEG_EINVAL, "edt: bad size %dx%d", w, h);
	if (!(sy > 0) || !(sx > 0) || isinf(sy) || isinf(sx))
		return seg_fail(err, SEG_EINVAL, "edt: spacing must be positive and finite");
	*g = malloc((size_t)w * (size_t)h * sizeof(**g));
	if (*g == NULL || edt_scratch_init(s, w) != SEG_OK) {
		free(*g);
		*g = NULL;
		return seg_fail(err, SEG_ENOMEM, "edt: out of memory for %dx%d", w, h);
	}
	column_pass(mask, w, h, want, *g);
	return SEG_OK;
}

seg_status edt_dist(const uint8_t *mask, int w, int h, int want, const double *spacing,
		    double *out, seg_error *err)
{
	int32_t *g = NULL;
	edt_scratch s = {0};
	seg_status st = edt_begin(mask, w, h, want, spacing, &g, &s, err);

	if (st != SEG_OK)
		return st;
	double sy = spacing ? spacing[0] : 1.0, sx = spacing ? spacing[1] : 1.0;
	for (int y = 0; y < h; y++) {
		double *o = out + (size_t)y * w;
		edt_row(g + (size_t)y * w, w, sy, sx, o, &s);
		for (int x = 0; x < w; x++)
			o[x] = sqrt(o[x]);
	}
	edt_scratch_release(&s);
	free(g);
	return SEG_OK;
}

seg_status edt_sample(const uint8_t *mask, int w, int h, int want, const double *spacing,
		      const uint8_t *at, double *out, seg_error *err)
{
	int32_t *g = NULL;
	double *row = NULL;
	edt_scratch s = {0};
	size_t k = 0;
	seg_status st = edt_begin(mask, w, h, want, spacing, &g, &s, err);

	if (st != SEG_OK)
		return st;
	row = malloc((size_t)w * sizeof(*row));
	if (row == NULL) {
		st = seg_fail(err, SEG_ENOMEM, "edt: out of memory");
		goto out;
	}
	double sy = spacing ? spacing[0] : 1.0, sx = spacing ? spacing[1] : 1.0;
	for (int y = 0; y < h; y++) {
		const uint8_t *a = at + (size_t)y * w;
		if (memchr(a, 1, (size_t)w) == NULL)
			continue;
		edt_row(g + (size_t)y * w, w, sy, sx, row, &s);
		for (int x = 0; x < w; x++)
			if (a[x])
				out[k++] = sqrt(row[x]);
	}
out:
	free(row);
	edt_scratch_release(&s);
	free(g);
	return st;
}
