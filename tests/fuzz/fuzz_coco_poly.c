/*
 * fuzz_coco_poly.c — libFuzzer target: polygon rasterisation, against a
 * plain transcription of pycocotools' rleFrPoly.
 *
 * Bytes 0 and 1 choose the image (h, w in 1..64), byte 2 the grid of the
 * coordinates (1/32 px, or 1/10 px where (int)(5v + .5) meets ties); the
 * rest are points, two 16-bit integers each, folded to within three
 * image sizes of the origin (either side). coco_poly_to_counts walks
 * only the steps that can cross a pixel column; ref_frpoly below stores
 * every boundary point and every pair exactly as maskApi.c does (with the
 * same answer for a zero-length edge, which the reference leaves
 * undefined). Whenever segloss accepts a polygon the two must give the
 * same counts, summing to h*w; a refusal must be one the header promises.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "codec/coco.h"
#include "fuzzutil.h"

#define MAX_POINTS 512

static int cmp_u32(const void *a, const void *b)
{
	uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;
	return (x > y) - (x < y);
}

/* rleFrPoly, transcribed with its arrays; returns counts (caller frees) and their number. */
static uint32_t *ref_frpoly(const double *xy, size_t k, int h, int w, size_t *nout)
{
	double scale = 5;
	int *x = malloc((k + 1) * sizeof(int)), *y = malloc((k + 1) * sizeof(int)), *u, *v;
	size_t m = 0, j;
	uint32_t *a, *b, p = 0;

	for (j = 0; j < k; j++)
		x[j] = (int)(scale * xy[j * 2 + 0] + .5);
	x[k] = x[0];
	for (j = 0; j < k; j++)
		y[j] = (int)(scale * xy[j * 2 + 1] + .5);
	y[k] = y[0];
	for (j = 0; j < k; j++) {
		int ax = abs(x[j] - x[j + 1]), ay = abs(y[j] - y[j + 1]);
		m += (size_t)(ax > ay ? ax : ay) + 1;
	}
	u = malloc(m * sizeof(int));
	v = malloc(m * sizeof(int));
	m = 0;
	for (j = 0; j < k; j++) {
		int xs = x[j], xe = x[j + 1], ys = y[j], ye = y[j + 1], dx, dy, t, d;
		int flip;
		double s;
		dx = abs(xe - xs);
		dy = abs(ys - ye);
		flip = (dx >= dy && xs > xe) || (dx < dy && ys > ye);
		if (flip) {
			t = xs;
			xs = xe;
			xe = t;
			t = ys;
			ys = ye;
			ye = t;
		}
		if (dx == 0 && dy == 0) { /* 0/0 in the reference; the row is never used */
			u[m] = xs;
			v[m] = ys;
			m++;
			continue;
		}
		s = dx >= dy ? (double)(ye - ys) / dx : (double)(xe - xs) / dy;
		if (dx >= dy)
			for (d = 0; d <= dx; d++) {
				t = flip ? dx - d : d;
				u[m] = t + xs;
				v[m] = (int)(ys + s * t + .5);
				m++;
			}
		else
			for (d = 0; d <= dy; d++) {
				t = flip ? dy - d : d;
				v[m] = t + ys;
				u[m] = (int)(xs + s * t + .5);
				m++;
			}
	}
	free(x);
	free(y);
	k = m;
	m = 0;
	x = malloc((k ? k : 1) * sizeof(int));
	y = malloc((k ? k : 1) * sizeof(int));
	for (j = 1; j < k; j++)
		if (u[j] != u[j - 1]) {
			double xd = (double)(u[j] < u[j - 1] ? u[j] : u[j] - 1), yd;
			xd = (xd + .5) / scale - .5;
			if (floor(xd) != xd || xd < 0 || xd > w - 1)
				continue;
			yd = (double)(v[j] < v[j - 1] ? v[j] : v[j - 1]);
			yd = (yd + .5) / scale - .5;
			if (yd < 0)
				yd = 0;
			else if (yd > h)
				yd = h;
			yd = ceil(yd);
			x[m] = (int)xd;
			y[m] = (int)yd;
			m++;
		}
	k = m;
	a = malloc((k + 1) * sizeof(uint32_t));
	for (j = 0; j < k; j++)
		a[j] = (uint32_t)(x[j] * h + y[j]);
	a[k++] = (uint32_t)(h * w);
	free(u);
	free(v);
	free(x);
	free(y);
	qsort(a, k, sizeof(uint32_t), cmp_u32);
	for (j = 0; j < k; j++) {
		uint32_t t = a[j];
		a[j] -= p;
		p = t;
	}
	b = malloc(k * sizeof(uint32_t));
	j = m = 0;
	b[m++] = a[j++];
	while (j < k)
		if (a[j] > 0)
			b[m++] = a[j++];
		else {
			j++;
			if (j < k)
				b[m - 1] += a[j++];
		}
	free(a);
	*nout = m;
	return b;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	double xy[2 * MAX_POINTS];
	size_t k, n = 0, rn = 0;
	uint32_t *counts = NULL, *ref;
	uint64_t budget, sum = 0;
	double grid;
	int h, w;
	seg_error e;
	seg_status st;

	if (size < 3)
		return 0;
	h = data[0] % 64 + 1;
	w = data[1] % 64 + 1;
	grid = data[2] & 1 ? 10.0 : 32.0;
	data += 3;
	size -= 3;
	k = size / 4 < MAX_POINTS ? size / 4 : MAX_POINTS;
	/* within three image sizes of the origin, so walks stay short and runs many */
	for (size_t i = 0; i < 2 * k; i++)
		xy[i] = fmod((int16_t)((uint16_t)data[2 * i] | (uint16_t)data[2 * i + 1] << 8) / grid,
			     3.0 * (i % 2 ? h : w));
	budget = coco_poly_budget(h, w);
	seg_error_clear(&e);
	st = coco_poly_to_counts(xy, 2 * k, h, w, MAX_POINTS, &budget, &counts, &n, &e);
	fz_check_error(st, &e);
	if (st != SEG_OK) {
		FZ_ASSERT(counts == NULL && n == 0);
		FZ_ASSERT(st == SEG_EINVAL || st == SEG_ETOOBIG);
		FZ_ASSERT(k < 3 || st == SEG_ETOOBIG || strstr(e.msg, "outside") != NULL);
		return 0;
	}
	for (size_t i = 0; i < n; i++)
		sum += counts[i];
	FZ_ASSERT(sum == (uint64_t)h * (uint64_t)w);
	for (size_t i = 1; i < n; i++)
		FZ_ASSERT(counts[i] > 0);
	ref = ref_frpoly(xy, k, h, w, &rn);
	if (rn != n || memcmp(ref, counts, n * sizeof(*counts)) != 0)
		fz_fail("polygon of %zu points on %dx%d: counts differ from rleFrPoly's (%zu vs %zu counts)", k, w, h, n,
			rn);
	free(ref);
	free(counts);
	return 0;
}
