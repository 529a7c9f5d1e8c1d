/*
 * distloss.c — distance-map losses: Hausdorff-DT and the boundary loss.
 *
 * Both need, for each side of a mask's edge, the distance to the other
 * side: two exact transforms (edt.c) per mask, one towards the background
 * and one towards the foreground. Masks that are empty or full have no
 * edge; by the convention stated in docs/losses.md their maps are zero
 * (MONAI's HausdorffDTLoss and Kervadec's reference code do the same for
 * empty masks).
 */
#include "core/distloss.h"

#include <math.h>
#include <stdlib.h>

#include "core/edt.h"

#define BLOCK 4096

/* 1 when mask has both foreground and background pixels. */
static int has_edge(const uint8_t *mask, size_t n)
{
	int fg = 0, bg = 0;

	for (size_t i = 0; i < n && !(fg && bg); i++) {
		if (mask[i])
			fg = 1;
		else
			bg = 1;
	}
	return fg && bg;
}

seg_status dist_field(const uint8_t *mask, int w, int h, double *out, const seg_par *par, seg_error *err)
{
	size_t n = (size_t)w * (size_t)h;
	double *tmp = NULL;
	seg_status st;

	if (!has_edge(mask, n)) {
		for (size_t i = 0; i < n; i++)
			out[i] = 0.0;
		return SEG_OK;
	}
	tmp = malloc(n * sizeof(*tmp));
	if (tmp == NULL)
		return seg_fail(err, SEG_ENOMEM, "distance field: out of memory");
	/* Inside M: distance to the nearest background pixel; outside: 0. */
	st = edt_dist(mask, w, h, 0, NULL, out, par, err);
	if (st != SEG_OK)
		goto out;
	/* Outside M: distance to the nearest foreground pixel; inside: 0. */
	st = edt_dist(mask, w, h, 1, NULL, tmp, par, err);
	if (st != SEG_OK)
		goto out;
	for (size_t i = 0; i < n; i++)
		out[i] += tmp[i];
out:
	free(tmp);
	return st;
}

seg_status dist_hausdorff_dt(const uint8_t *y, const float *p, int w, int h, double alpha, double *loss,
			     const seg_par *par, seg_error *err)
{
	size_t n = (size_t)w * (size_t)h;
	uint8_t *pm = NULL;
	double *dp = NULL, *dy = NULL;
	double total = 0.0;
	seg_status st = SEG_OK;

	*loss = NAN;
	pm = malloc(n);
	dp = malloc(n * sizeof(*dp));
	dy = malloc(n * sizeof(*dy));
	if (pm == NULL || dp == NULL || dy == NULL) {
		st = seg_fail(err, SEG_ENOMEM, "hausdorff_dt: out of memory");
		goto out;
	}
	for (size_t i = 0; i < n; i++)
		pm[i] = p[i] >= 0.5f;
	st = dist_field(pm, w, h, dp, par, err);
	if (st == SEG_OK)
		st = dist_field(y, w, h, dy, par, err);
	if (st != SEG_OK)
		goto out;
	for (size_t b = 0; b < n; b += BLOCK) {
		size_t e = b + BLOCK < n ? b + BLOCK : n;
		double acc = 0.0;
		for (size_t i = b; i < e; i++) {
			double d = (double)p[i] - (double)y[i];
			double f = pow(dp[i], alpha) + pow(dy[i], alpha);
			acc += d * d * f;
		}
		total += acc;
	}
	*loss = total / (double)n;
out:
	free(dy);
	free(dp);
	free(pm);
	return st;
}

seg_status dist_signed_map(const uint8_t *y, int w, int h, double *phi, const seg_par *par, seg_error *err)
{
	size_t n = (size_t)w * (size_t)h;
	double *inside = NULL;
	seg_status st;

	if (!has_edge(y, n)) {
		for (size_t i = 0; i < n; i++)
			phi[i] = 0.0;
		return SEG_OK;
	}
	inside = malloc(n * sizeof(*inside));
	if (inside == NULL)
		return seg_fail(err, SEG_ENOMEM, "boundary: out of memory");
	st = edt_dist(y, w, h, 1, NULL, phi, par, err); /* outside G: distance to G */
	if (st == SEG_OK)
		st = edt_dist(y, w, h, 0, NULL, inside, par, err); /* inside G: distance to ¬G */
	if (st != SEG_OK)
		goto out;
	for (size_t i = 0; i < n; i++)
		if (y[i])
			phi[i] = -(inside[i] - 1.0);
out:
	free(inside);
	return st;
}

seg_status dist_boundary(const uint8_t *y, const float *p, int w, int h, double *loss, const seg_par *par,
			 seg_error *err)
{
	size_t n = (size_t)w * (size_t)h;
	double *phi = NULL;
	double total = 0.0;
	seg_status st;

	*loss = NAN;
	phi = malloc(n * sizeof(*phi));
	if (phi == NULL)
		return seg_fail(err, SEG_ENOMEM, "boundary: out of memory");
	st = dist_signed_map(y, w, h, phi, par, err);
	if (st != SEG_OK)
		goto out;
	for (size_t b = 0; b < n; b += BLOCK) {
		size_t e = b + BLOCK < n ? b + BLOCK : n;
		double acc = 0.0;
		for (size_t i = b; i < e; i++)
			acc += phi[i] * (double)p[i];
		total += acc;
	}
	*loss = total / (double)n;
out:
	free(phi);
	return st;
}
