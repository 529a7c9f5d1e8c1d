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
 *
 * Threads (seg_par): the rows of the map are cut among tasks; each task
 * sweeps the columns of every band reaching its rows (a band cut by a
 * task boundary has its column pass done by both tasks, the row pass and
 * the folding only where each owns the rows), then turns its rows into
 * weights. No pixel is written by two tasks, and the two smallest
 * distances do not depend on the order they come in, so the map is the
 * same bit for bit with any number of lanes.
 */
#include "core/wmap.h"

#include <math.h>
#include <stdlib.h>

#include "core/edt.h"
#include "core/label.h"
#include "core/vmath.h"

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
	int x0, y0, x1, y1; /* the band, inclusive */
	int ix0, ix1;       /* the instance's own columns, inclusive: the band's others hold none of it */
} box;

/*
 * One map in progress. Row tasks own rows [H t / tasks, H (t+1) / tasks)
 * of the output: each visits every band that reaches its rows and writes
 * only there, so tasks never touch the same pixel and need no lock, and
 * (d1, d2), the two smallest of a set of distances, do not depend on the
 * order the bands come in: the same map with any number of tasks.
 */
typedef struct wjob {
	const seg_target *t;
	const wmap_params *p;
	const float *cwp;     /* per-pixel class weights, or NULL */
	const uint32_t *inst; /* compact labels 1..K, 0 off the instances */
	const box *boxes;     /* 1..K: each band, clipped to the image */
	uint32_t k_count;
	int W, H;
	double reach2;
	double cw[2];
	float *w;  /* d1 while the bands are visited, then the weight */
	float *d2; /* second-nearest distances */
	size_t tasks;
	int failed;
} wjob;

/*
 * Rows [a, e) of instance k's column distances inside band b, into g
 * ((e - a) rows of the instance's own columns, b.ix0..b.ix1; the band's
 * other columns hold no pixel of k): the rows from each pixel to the
 * nearest pixel of k in its column within the band, EDT_FAR when none.
 * The forward sweep starts at the band's top (rows above a only carry
 * the running distance, in g's first row), the backward one at its
 * bottom (its running distance in dn, band width). Branch-free selects,
 * so both vectorise.
 */
SEG_CLONES static void band_columns(const uint32_t *inst, int W, uint32_t k, box b, int a, int e, int32_t *g,
				    int32_t *dn)
{
	int bw = b.ix1 - b.ix0 + 1;

	for (int x = 0; x < bw; x++)
		g[x] = EDT_FAR;
	for (int y = b.y0; y < e; y++) {
		const uint32_t *src = inst + (size_t)y * W + b.ix0;
		const int32_t *up = g + (size_t)(y > a ? y - 1 - a : 0) * bw;
		int32_t *row = g + (size_t)(y > a ? y - a : 0) * bw;
		for (int x = 0; x < bw; x++) {
			int32_t next = up[x] + 1;
			next = next > EDT_FAR ? EDT_FAR : next;
			row[x] = src[x] == k ? 0 : next;
		}
	}
	for (int x = 0; x < bw; x++)
		dn[x] = EDT_FAR;
	for (int y = b.y1; y >= a; y--) {
		const uint32_t *src = inst + (size_t)y * W + b.ix0;
		for (int x = 0; x < bw; x++) {
			int32_t next = dn[x] + 1;
			next = next > EDT_FAR ? EDT_FAR : next;
			dn[x] = src[x] == k ? 0 : next;
		}
		if (y >= e)
			continue;
		int32_t *row = g + (size_t)(y - a) * bw;
		for (int x = 0; x < bw; x++)
			row[x] = dn[x] < row[x] ? dn[x] : row[x];
	}
}

/*
 * Folds one band row of squared distances into (d1, d2): a pixel within
 * reach takes the distance as its nearest or second-nearest when it is
 * smaller; out of reach it folds infinity, which changes nothing.
 * Foreground pixels fold too: their (d1, d2) are never read. Selects
 * rather than branches, so the loop vectorises. The squared distances are
 * integers; at most 2^24 they are floats exactly, and then sqrtf gives
 * what (float)sqrt would (rounding a square root to double and then to
 * float is the same as rounding it to float once, since 53 >= 2 * 24 + 2),
 * at twice the lanes.
 */
SEG_CLONES static void fold_row(const double *restrict d2row, int n, double reach2, float *restrict d1,
				float *restrict d2)
{
	if (reach2 <= 16777216.0) {
		for (int x = 0; x < n; x++) {
			double q = d2row[x];
			float d = q > reach2 ? INFINITY : sqrtf((float)q);
			float a = d1[x], c = d2[x];
			float second = d < a ? a : d; /* d becomes the nearest (a the second) or a candidate second */
			d2[x] = second < c ? second : c;
			d1[x] = d < a ? d : a;
		}
		return;
	}
	for (int x = 0; x < n; x++) {
		double q = d2row[x];
		float d = q > reach2 ? INFINITY : (float)sqrt(q);
		float a = d1[x], c = d2[x];
		float second = d < a ? a : d;
		d2[x] = second < c ? second : c;
		d1[x] = d < a ? d : a;
	}
}

/* Rows [y0, y1): every band that reaches them, then the weights. */
static void rows_task(void *arg, size_t t)
{
	wjob *j = arg;
	const wmap_params *p = j->p;
	int W = j->W;
	int y0 = (int)((size_t)j->H * t / j->tasks), y1 = (int)((size_t)j->H * (t + 1) / j->tasks);
	size_t need = 0;
	int32_t *g = NULL, *dn = NULL;
	double *d2row = NULL;
	edt_scratch s = {0};

	if (y0 == y1)
		return;
	for (size_t i = (size_t)y0 * W; i < (size_t)y1 * W; i++) {
		j->w[i] = INFINITY;
		j->d2[i] = INFINITY;
	}
	for (uint32_t k = 1; k <= j->k_count; k++) {
		box b = j->boxes[k];
		int a = b.y0 > y0 ? b.y0 : y0, e = b.y1 + 1 < y1 ? b.y1 + 1 : y1;
		size_t area = a < e ? (size_t)(b.ix1 - b.ix0 + 1) * (size_t)(e - a) : 0;
		need = area > need ? area : need;
	}
	if (need == 0)
		goto weights;
	g = malloc(need * sizeof(*g));
	dn = malloc((size_t)W * sizeof(*dn));
	d2row = malloc((size_t)W * sizeof(*d2row));
	if (g == NULL || dn == NULL || d2row == NULL || edt_scratch_init(&s, W) != SEG_OK) {
		j->failed = 1;
		goto out;
	}
	for (uint32_t k = 1; k <= j->k_count; k++) {
		box b = j->boxes[k];
		int a = b.y0 > y0 ? b.y0 : y0, e = b.y1 + 1 < y1 ? b.y1 + 1 : y1;
		int bw = b.x1 - b.x0 + 1, iw = b.ix1 - b.ix0 + 1;
		if (a >= e)
			continue;
		band_columns(j->inst, W, k, b, a, e, g, dn);
		for (int y = a; y < e; y++) {
			size_t base = (size_t)y * W + (size_t)b.x0;
			edt_row_span(g + (size_t)(y - a) * iw, iw, b.ix0 - b.x0, bw, 1.0, 1.0, d2row, &s);
			fold_row(d2row, bw, j->reach2, j->w + base, j->d2 + base);
		}
	}
weights:
	{
		/* w holds d1; turn it into the weight. */
		double inv = 1.0 / (2.0 * p->sigma * p->sigma);
		const uint8_t *fg = j->t->fg;
		for (size_t i = (size_t)y0 * W; i < (size_t)y1 * W; i++) {
			if (fg[i]) {
				j->w[i] = j->cwp ? j->cwp[i] : (float)j->cw[1];
				continue;
			}
			double border = 0.0;
			if (isfinite(j->d2[i])) {
				double sum = (double)j->w[i] + (double)j->d2[i];
				border = p->w0 * exp(-sum * sum * inv);
			}
			j->w[i] = (float)((j->cwp ? (double)j->cwp[i] : j->cw[0]) + border);
		}
	}
out:
	edt_scratch_release(&s);
	free(d2row);
	free(dn);
	free(g);
}

/* The map, with w_c from p or, when cwp is not NULL, w_c(x) = cwp[x]. */
static seg_status compute(const seg_target *t, const wmap_params *p, const float *cwp, const seg_par *par, float *w,
			  wmap_info *info, seg_error *err)
{
	int W = t->width, H = t->height;
	size_t n = (size_t)W * (size_t)H;
	size_t n_fg = 0, band_total = 0;
	uint32_t *inst = NULL;
	uint32_t k_count = 0;
	box *boxes = NULL;
	float *d2 = NULL;
	double cw[2];
	double reach = 0.0;
	seg_status st;

	st = wmap_params_check(p, err);
	if (st != SEG_OK)
		return st;
	/* Counted in blocks with a 32-bit counter, which vectorises. */
	for (size_t i = 0; i < n; i += 1 << 20) {
		size_t e = n - i < ((size_t)1 << 20) ? n : i + ((size_t)1 << 20);
		uint32_t c = 0;
		for (size_t k = i; k < e; k++)
			c += t->fg[k] != 0;
		n_fg += c;
	}
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
		boxes[k] = (box){W, H, -1, -1, 0, 0};
	/* A run of one label at a time; background four pixels a step. */
	for (int y = 0; y < H; y++) {
		const uint32_t *row = inst + (size_t)y * W;
		int x = 0;
		while (x < W) {
			if (x + 4 <= W && (row[x] | row[x + 1] | row[x + 2] | row[x + 3]) == 0) {
				x += 4;
				continue;
			}
			uint32_t k = row[x];
			if (k == 0) {
				x++;
				continue;
			}
			int e = x + 1;
			while (e < W && row[e] == k)
				e++;
			box *b = &boxes[k];
			if (x < b->x0)
				b->x0 = x;
			if (e - 1 > b->x1)
				b->x1 = e - 1;
			if (y < b->y0)
				b->y0 = y;
			b->y1 = y;
			x = e;
		}
	}
	int r = (int)ceil(reach);
	for (uint32_t k = 1; k <= k_count; k++) {
		box *b = &boxes[k];
		b->ix0 = b->x0;
		b->ix1 = b->x1;
		b->x0 = b->x0 - r < 0 ? 0 : b->x0 - r;
		b->y0 = b->y0 - r < 0 ? 0 : b->y0 - r;
		b->x1 = b->x1 + r >= W ? W - 1 : b->x1 + r;
		b->y1 = b->y1 + r >= H ? H - 1 : b->y1 + r;
		band_total += (size_t)(b->x1 - b->x0 + 1) * (size_t)(b->y1 - b->y0 + 1);
	}

	d2 = malloc(n * sizeof(*d2));
	if (d2 == NULL) {
		st = seg_fail(err, SEG_ENOMEM, "weight map: out of memory");
		goto out;
	}
	wjob j = {.t = t, .p = p, .cwp = cwp, .inst = inst, .boxes = boxes, .k_count = k_count, .W = W, .H = H,
		  .reach2 = reach * reach, .cw = {cw[0], cw[1]}, .w = w, .d2 = d2};
	/* Tasks of at least 64 rows, so a band is rarely split among many. */
	j.tasks = seg_par_tasks(par, ((size_t)H + 63) / 64);
	seg_par_for(par, j.tasks, rows_task, &j);
	if (j.failed) {
		st = seg_fail(err, SEG_ENOMEM, "weight map: out of memory");
		goto out;
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
	free(d2);
	free(boxes);
	free(inst);
	return st;
}

seg_status wmap_run(const seg_target *t, const wmap_params *p, const float *cw, const seg_par *par, float *w,
		    wmap_info *info, seg_error *err)
{
	return compute(t, p, cw, par, w, info, err);
}

seg_status wmap_compute(const seg_target *t, const wmap_params *p, float *w, wmap_info *info, seg_error *err)
{
	return compute(t, p, NULL, NULL, w, info, err);
}

seg_status wmap_compute_weighted(const seg_target *t, const wmap_params *p, const float *cw, float *w,
				 wmap_info *info, seg_error *err)
{
	return compute(t, p, cw, NULL, w, info, err);
}
