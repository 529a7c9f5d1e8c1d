/*
 * wmap.c — band-limited exact U-Net weight map.
 *
 * The textbook implementation labels the instances, runs one full
 * distance transform per instance and sorts K distances per pixel:
 * O(K N) time and often O(K N) memory. Here each instance's distance
 * field is computed only inside its bounding box widened by the reach D
 * (the distance past which w0 exp(-D^2 / 2 sigma^2) < WMAP_TOL): a pixel
 * outside that band is farther than D from the instance, and a pair with
 * d1 + d2 > D contributes less than WMAP_TOL. Inside the band the
 * transform is exact, because the band holds every pixel of the
 * instance. The two smallest distances of each background pixel are kept
 * as the bands are visited (d1 in the output buffer, d2 in one float
 * array), so time is O(N + sum of band areas) and memory O(N) plus the
 * largest band.
 */
#include "core/wmap.h"

#include <math.h>
#include <stdlib.h>

#include "core/edt.h"
#include "core/label.h"

void wmap_params_default(wmap_params *p)
{
	p->w0 = 10.0;
	p->sigma = 5.0;
	p->class_mode = WMAP_CLASS_BALANCED;
	p->class_w[0] = 1.0;
	p->class_w[1] = 1.0;
	p->instances = WMAP_INST_AUTO;
	p->connectivity = 8;
}

seg_status wmap_params_check(const wmap_params *p, seg_error *err)
{
	if (!(p->w0 >= 0) || !isfinite(p->w0))
		return seg_fail(err, SEG_EINVAL, "w0 must be a finite number >= 0");
	if (!(p->sigma > 0) || !isfinite(p->sigma))
		return seg_fail(err, SEG_EINVAL, "sigma must be a finite number > 0");
	if (p->class_mode == WMAP_CLASS_FIXED) {
		for (int c = 0; c < 2; c++)
			if (!(p->class_w[c] >= 0) || !isfinite(p->class_w[c]))
				return seg_fail(err, SEG_EINVAL,
						"class_weights must be finite numbers >= 0");
	} else if (p->class_mode != WMAP_CLASS_BALANCED && p->class_mode != WMAP_CLASS_NONE) {
		return seg_fail(err, SEG_EINVAL, "class_weights must be balanced, none or [bg, fg]");
	}
	if (p->instances != WMAP_INST_AUTO && p->instances != WMAP_INST_LABELS &&
	    p->instances != WMAP_INST_COMPONENTS)
		return seg_fail(err, SEG_EINVAL, "instances must be auto, labels or components");
	if (p->connectivity != 4 && p->connectivity != 8)
		return seg_fail(err, SEG_EINVAL, "connectivity must be 4 or 8");
	return SEG_OK;
}

static void class_weights(const wmap_params *p, size_t n_fg, size_t n, double cw[2])
{
	size_t n_bg = n - n_fg;

	if (p->class_mode == WMAP_CLASS_FIXED) {
		cw[0] = p->class_w[0];
		cw[1] = p->class_w[1];
	} else if (p->class_mode == WMAP_CLASS_BALANCED && n_fg > 0 && n_bg > 0) {
		double lo = (double)(n_fg < n_bg ? n_fg : n_bg);
		cw[0] = lo / (double)n_bg;
		cw[1] = lo / (double)n_fg;
	} else {
		cw[0] = 1.0;
		cw[1] = 1.0;
	}
}

typedef struct box {
	int x0, y0, x1, y1; /* inclusive */
} box;

/*
 * Visits instance k's band: column distances to its pixels, the row
 * envelope, then folds every background distance <= reach into (d1, d2).
 */
static void visit_band(const uint32_t *inst, const uint8_t *fg, int w, uint32_t k, box b,
		       double reach2, int32_t *g, double *d2row, edt_scratch *s, float *d1,
		       float *d2)
{
	int bw = b.x1 - b.x0 + 1;
	int bh = b.y1 - b.y0 + 1;

	for (int y = 0; y < bh; y++) {
		const uint32_t *src = inst + (size_t)(b.y0 + y) * w + b.x0;
		int32_t *row = g + (size_t)y * bw;
		const int32_t *up = y > 0 ? row - bw : NULL;
		for (int x = 0; x < bw; x++) {
			int32_t next = up ? up[x] + 1 : EDT_FAR;
			if (next > EDT_FAR)
				next = EDT_FAR;
			row[x] = src[x] == k ? 0 : next;
		}
	}
	for (int y = bh - 2; y >= 0; y--) {
		int32_t *row = g + (size_t)y * bw;
		const int32_t *down = row + bw;
		for (int x = 0; x < bw; x++)
			if (down[x] + 1 < row[x])
				row[x] = down[x] + 1;
	}
	for (int y = 0; y < bh; y++) {
		size_t base = (size_t)(b.y0 + y) * w + b.x0;
		edt_row(g + (size_t)y * bw, bw, 1.0, 1.0, d2row, s);
		for (int x = 0; x < bw; x++) {
			if (d2row[x] > reach2 || fg[base + x])
				continue;
			float d = (float)sqrt(d2row[x]);
			float *a = d1 + base + x, *c = d2 + base + x;
			if (d < *a) {
				*c = *a;
				*a = d;
			} else if (d < *c) {
				*c = d;
			}
		}
	}
}

/* The map, with w_c from p or, when cwp is not NULL, w_c(x) = cwp[x]. */
static seg_status compute(const seg_target *t, const wmap_params *p, const float *cwp, float *w, wmap_info *info,
			  seg_error *err)
{
	int W = t->width, H = t->height;
	size_t n = (size_t)W * (size_t)H;
	size_t n_fg = 0, band_total = 0, band_max = 0;
	uint32_t *inst = NULL;
	uint32_t k_count = 0;
	box *boxes = NULL;
	float *d2 = NULL;
	int32_t *g = NULL;
	double *d2row = NULL;
	edt_scratch s = {0};
	double cw[2];
	double reach = 0.0;
	seg_status st;

	st = wmap_params_check(p, err);
	if (st != SEG_OK)
		return st;
	for (size_t i = 0; i < n; i++)
		n_fg += t->fg[i] != 0;
	class_weights(p, n_fg, n, cw);

	/* Instances: compact label image 1..K. */
	inst = malloc(n * sizeof(*inst));
	if (inst == NULL) {
		st = seg_fail(err, SEG_ENOMEM, "weight map: out of memory");
		goto out;
	}
	int use_labels = p->instances == WMAP_INST_LABELS ||
			 (p->instances == WMAP_INST_AUTO && t->labels != NULL);
	if (use_labels && t->labels != NULL) {
		st = label_compact(t->labels, n, inst, &k_count, err);
	} else if (use_labels) {
		/* A single distinct value: the whole foreground is one instance. */
		for (size_t i = 0; i < n; i++)
			inst[i] = t->fg[i] ? 1 : 0;
		k_count = n_fg > 0;
	} else {
		st = label_components(t->fg, W, H, p->connectivity, inst, &k_count, err);
	}
	if (st != SEG_OK)
		goto out;

	if (p->w0 > WMAP_TOL)
		reach = p->sigma * sqrt(2.0 * log(p->w0 / WMAP_TOL));
	if (k_count < 2 || reach <= 0.0) {
		for (size_t i = 0; i < n; i++)
			w[i] = cwp ? cwp[i] : (float)cw[t->fg[i] != 0];
		goto done;
	}

	/* Bounding boxes, widened by the reach and clipped. */
	boxes = malloc(((size_t)k_count + 1) * sizeof(*boxes));
	if (boxes == NULL) {
		st = seg_fail(err, SEG_ENOMEM, "weight map: out of memory");
		goto out;
	}
	for (uint32_t k = 1; k <= k_count; k++)
		boxes[k] = (box){W, H, -1, -1};
	for (int y = 0; y < H; y++) {
		const uint32_t *row = inst + (size_t)y * W;
		for (int x = 0; x < W; x++) {
			uint32_t k = row[x];
			if (k == 0)
				continue;
			box *b = &boxes[k];
			if (x < b->x0)
				b->x0 = x;
			if (x > b->x1)
				b->x1 = x;
			if (y < b->y0)
				b->y0 = y;
			b->y1 = y;
		}
	}
	int r = (int)ceil(reach);
	for (uint32_t k = 1; k <= k_count; k++) {
		box *b = &boxes[k];
		b->x0 = b->x0 - r < 0 ? 0 : b->x0 - r;
		b->y0 = b->y0 - r < 0 ? 0 : b->y0 - r;
		b->x1 = b->x1 + r >= W ? W - 1 : b->x1 + r;
		b->y1 = b->y1 + r >= H ? H - 1 : b->y1 + r;
		size_t area = (size_t)(b->x1 - b->x0 + 1) * (size_t)(b->y1 - b->y0 + 1);
		band_total += area;
		if (area > band_max)
			band_max = area;
	}

	d2 = malloc(n * sizeof(*d2));
	g = malloc(band_max * sizeof(*g));
	d2row = malloc((size_t)W * sizeof(*d2row));
	if (d2 == NULL || g == NULL || d2row == NULL || edt_scratch_init(&s, W) != SEG_OK) {
		st = seg_fail(err, SEG_ENOMEM, "weight map: out of memory");
		goto out;
	}
	for (size_t i = 0; i < n; i++) {
		w[i] = INFINITY;
		d2[i] = INFINITY;
	}
	for (uint32_t k = 1; k <= k_count; k++)
		visit_band(inst, t->fg, W, k, boxes[k], reach * reach, g, d2row, &s, w, d2);

	/* w currently holds d1; turn it into the weight. */
	double inv = 1.0 / (2.0 * p->sigma * p->sigma);
	for (size_t i = 0; i < n; i++) {
		if (t->fg[i]) {
			w[i] = cwp ? cwp[i] : (float)cw[1];
			continue;
		}
		double border = 0.0;
		if (isfinite(d2[i])) {
			double sum = (double)w[i] + (double)d2[i];
			border = p->w0 * exp(-sum * sum * inv);
		}
		w[i] = (float)((cwp ? (double)cwp[i] : cw[0]) + border);
	}
done:
	if (info) {
		info->instances = k_count;
		info->class_w[0] = cw[0];
		info->class_w[1] = cw[1];
		info->reach = reach;
		info->band_pixels = band_total;
	}
out:
	edt_scratch_release(&s);
	free(d2row);
	free(g);
	free(d2);
	free(boxes);
	free(inst);
	return st;
}

seg_status wmap_compute(const seg_target *t, const wmap_params *p, float *w, wmap_info *info, seg_error *err)
{
	return compute(t, p, NULL, w, info, err);
}

seg_status wmap_compute_weighted(const seg_target *t, const wmap_params *p, const float *cw, float *w,
				 wmap_info *info, seg_error *err)
{
	return compute(t, p, cw, w, info, err);
}
