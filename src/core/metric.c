/*
 * metric.c — overlap metrics from confusion counts, and surface-distance
 * metrics from boundary distance lists.
 *
 * Surface distances: the boundary of each mask is marked, and one exact
 * distance transform towards each boundary (with pixel spacing) is
 * evaluated at the other mask's boundary pixels only (edt_sample). Percentiles use quickselect (expected O(n)), not a sort.
 */
#include "core/metric.h"

#include <math.h>
#include <stdlib.h>

#include "core/edt.h"

void metric_confusion(const uint8_t *y, const float *p, size_t n, double threshold,
		      metric_counts *c)
{
	size_t tp = 0, fp = 0, fn = 0;
	float t = (float)threshold; /* compared in float32, as NumPy compares a float32 array */

	for (size_t i = 0; i < n; i++) {
		size_t a = p[i] >= t;
		size_t b = y[i] != 0;
		tp += a & b;
		fp += a & (size_t)!b;
		fn += (size_t)!a & b;
	}
	c->tp = (double)tp;
	c->fp = (double)fp;
	c->fn = (double)fn;
	c->tn = (double)(n - tp - fp - fn);
}

void metric_ratio(const metric_counts *c, metric_overlap m, double *num, double *den)
{
	switch (m) {
	case METRIC_DICE:
		*num = 2.0 * c->tp;
		*den = 2.0 * c->tp + c->fp + c->fn;
		break;
	case METRIC_IOU:
		*num = c->tp;
		*den = c->tp + c->fp + c->fn;
		break;
	case METRIC_PRECISION:
		*num = c->tp;
		*den = c->tp + c->fp;
		break;
	case METRIC_RECALL:
		*num = c->tp;
		*den = c->tp + c->fn;
		break;
	case METRIC_SPECIFICITY:
		*num = c->tn;
		*den = c->tn + c->fp;
		break;
	case METRIC_ACCURACY:
	default:
		*num = c->tp + c->tn;
		*den = c->tp + c->tn + c->fp + c->fn;
		break;
	}
}

/*
 * Marks boundary pixels of mask into bd (1: a foreground pixel on the
 * image's edge or with a background 4-neighbour); returns their count.
 * Interior pixels are done without branches, so that the loop vectorises.
 */
static size_t mark_boundary(const uint8_t *mask, int w, int h, uint8_t *bd)
{
	size_t count = 0;

	for (int y = 0; y < h; y++) {
		const uint8_t *m = mask + (size_t)y * w;
		uint8_t *o = bd + (size_t)y * w;
		unsigned rc = 0;

		if (y == 0 || y + 1 == h || w < 3) {
			for (int x = 0; x < w; x++)
				rc += o[x] = m[x] != 0;
			count += rc;
			continue;
		}
		const uint8_t *up = m - w, *down = m + w;
		rc += o[0] = m[0] != 0;
		rc += o[w - 1] = m[w - 1] != 0;
		for (int x = 1; x < w - 1; x++) {
			unsigned inner = (m[x - 1] != 0) & (m[x + 1] != 0) & (up[x] != 0) & (down[x] != 0);
			unsigned e = (m[x] != 0) & (inner ^ 1u);
			o[x] = (uint8_t)e;
			rc += e;
		}
		count += rc;
	}
	return count;
}

seg_status metric_surface_compute(const uint8_t *a, const uint8_t *b, int w, int h, const double spacing[2],
				  metric_surface *s, const seg_par *par, seg_error *err)
{
	size_t n = (size_t)w * (size_t)h;
	uint8_t *ba_mask = NULL, *bb_mask = NULL;
	seg_status st = SEG_OK;

	s->na = s->nb = 0;
	s->ab = s->ba = NULL;
	ba_mask = malloc(n);
	bb_mask = malloc(n);
	if (ba_mask == NULL || bb_mask == NULL) {
		st = seg_fail(err, SEG_ENOMEM, "surface metrics: out of memory");
		goto out;
	}
	size_t na = mark_boundary(a, w, h, ba_mask);
	size_t nb = mark_boundary(b, w, h, bb_mask);
	if (na == 0 || nb == 0) {
		s->na = na;
		s->nb = nb;
		goto out;
	}
	s->ab = malloc(na * sizeof(*s->ab));
	s->ba = malloc(nb * sizeof(*s->ba));
	if (s->ab == NULL || s->ba == NULL) {
		st = seg_fail(err, SEG_ENOMEM, "surface metrics: out of memory");
		goto out;
	}
	/* From A's boundary pixels to B's boundary, and back. */
	st = edt_sample(bb_mask, w, h, 1, spacing, ba_mask, s->ab, par, err);
	if (st == SEG_OK)
		st = edt_sample(ba_mask, w, h, 1, spacing, bb_mask, s->ba, par, err);
	if (st != SEG_OK)
		goto out;
	s->na = na;
	s->nb = nb;
out:
	if (st != SEG_OK)
		metric_surface_release(s);
	free(bb_mask);
	free(ba_mask);
	return st;
}

void metric_surface_release(metric_surface *s)
{
	if (s == NULL)
		return;
	free(s->ab);
	free(s->ba);
	s->ab = s->ba = NULL;
	s->na = s->nb = 0;
}

static double max_of(const double *v, size_t n)
{
	double m = -INFINITY;

	for (size_t i = 0; i < n; i++)
		if (v[i] > m)
			m = v[i];
	return m;
}

double metric_hausdorff(const metric_surface *s)
{
	double a = max_of(s->ab, s->na);
	double b = max_of(s->ba, s->nb);

	return a > b ? a : b;
}

static void swap_d(double *v, size_t i, size_t j)
{
	double t = v[i];

	v[i] = v[j];
	v[j] = t;
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return (x > y) - (x < y);
}

/*
 * Moves the k-th smallest of v[0..n) to v[k], with nothing larger before
 * it and nothing smaller after it. Three-way partitioning copes with the
 * many equal distances of pixel grids; the pivot comes from a small
 * linear congruential sequence, and after 64 rounds the remaining range
 * is sorted outright, which bounds the worst case at O(n log n).
 */
static void select_kth(double *v, size_t n, size_t k)
{
	size_t lo = 0, hi = n;
	uint32_t seed = 2463534242u;

	for (int round = 0; hi - lo > 1; round++) {
		if (round == 64) {
			qsort(v + lo, hi - lo, sizeof(*v), cmp_double);
			return;
		}
		seed = seed * 1664525u + 1013904223u;
		double pivot = v[lo + (size_t)(seed >> 8) % (hi - lo)];
		size_t lt = lo, i = lo, gt = hi;
		while (i < gt) {
			if (v[i] < pivot)
				swap_d(v, lt++, i++);
			else if (v[i] > pivot)
				swap_d(v, i, --gt);
			else
				i++;
		}
		if (k < lt)
			hi = lt;
		else if (k >= gt)
			lo = gt;
		else
			return;
	}
}

double metric_percentile(double *v, size_t n, double q)
{
	double pos = (q / 100.0) * (double)(n - 1);
	size_t lo = (size_t)floor(pos);
	double frac = pos - (double)lo;

	if (lo >= n - 1)
		return max_of(v, n);
	select_kth(v, n, lo);
	double a = v[lo];
	/* The next order statistic is the minimum of the part above lo. */
	double b = v[lo + 1];
	for (size_t i = lo + 2; i < n; i++)
		if (v[i] < b)
			b = v[i];
	/* NumPy's lerp: a + (b − a) t, taken from the upper end when t >= 0.5. */
	if (frac >= 0.5)
		return b - (b - a) * (1.0 - frac);
	return a + (b - a) * frac;
}

double metric_hausdorff_pct(metric_surface *s, double q)
{
	double a = metric_percentile(s->ab, s->na, q);
	double b = metric_percentile(s->ba, s->nb, q);

	return a > b ? a : b;
}

double metric_assd(const metric_surface *s)
{
	double sum = 0.0;

	for (size_t i = 0; i < s->na; i++)
		sum += s->ab[i];
	for (size_t i = 0; i < s->nb; i++)
		sum += s->ba[i];
	return sum / (double)(s->na + s->nb);
}

double metric_surface_dice(const metric_surface *s, double tol)
{
	size_t hit = 0;

	if (s->na == 0 || s->nb == 0)
		return 0.0;
	for (size_t i = 0; i < s->na; i++)
		hit += s->ab[i] <= tol;
	for (size_t i = 0; i < s->nb; i++)
		hit += s->ba[i] <= tol;
	return (double)hit / (double)(s->na + s->nb);
}
