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
 * skipped (their parabola is at infinity), and columns with g = 0 cut
 * the row into stretches solved apart (see edt_row). All arithmetic on
 * the envelope is in double; for unit spacing every squared distance is
 * an integer below 2^53 and so exact.
 *
 * Sampled transforms (edt_sample, for surface distances) first search
 * outward from each wanted pixel along its row, and take the envelope
 * only for rows where that would cost more (see edt_row_at).
 */
#include "core/edt.h"
#include "core/vmath.h"

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
 *   x = (h(q) - h(v)) / (2 sx^2 (q - v)),  h(i) = f(i) + (sx i)^2.
 * The new parabola hides the top one when x <= z[k]; that test is done
 * multiplied out, (h(q) - h(v)) / (2 sx^2) <= z[k] (q - v), so the loop
 * that pops needs only loads indexed by k (no reciprocal looked up by a
 * loaded index). For unit spacing every h is an integer below 2^53 and
 * 1/2 is exact, so both sides are correctly rounded products of exact
 * values; distinct intersections are rationals with denominators at most
 * 2n and so differ by at least 1/(4n^2), far more than the rounding.
 * The pushed x itself uses a table of reciprocals instead of a division:
 * within two ulps of the quotient, which can never move an integer
 * sample across an intersection, because for integer squared distances
 * an intersection that is not itself an integer lies at least 1/(2n)
 * away from every integer, and one that is an integer is where both
 * parabolas agree.
 */
static int envelope(const int32_t *g, int n, double sy, double sx, edt_scratch *s)
{
	double *v = s->v;
	double *z = s->z, *h = s->h, *f = s->f;
	const double *recip = s->recip;
	double sx2 = sx * sx, sy2 = sy * sy;
	double inv = 1.0 / (2.0 * sx2);
	int k = -1;

	for (int q = 0; q < n; q++) {
		if (g[q] >= EDT_FAR)
			continue;
		double gq = (double)g[q], qd = (double)q;
		double fq = gq * gq * sy2;
		double hq = fq + sx2 * qd * qd;
		double x = -INFINITY;
		if (k >= 0) {
			/* z[0] is -inf, so the bottom parabola is never popped. */
			while ((hq - h[k]) * inv <= z[k] * (qd - v[k]))
				k--;
			x = (hq - h[k]) * inv * recip[q - (int)v[k]];
		}
		k++;
		v[k] = qd;
		h[k] = hq;
		f[k] = fq;
		z[k] = x;
	}
	if (k >= 0)
		z[k + 1] = INFINITY;
	return k;
}

/*
 * The squared distances of columns [x0, x1) from the envelope of the
 * columns [lo, hi) (lo <= x0, x1 <= hi), written to d2[x0..x1).
 */
static void segment(const int32_t *g, int lo, int hi, int x0, int x1, double sy, double sx, double *d2,
		    edt_scratch *s)
{
	if (envelope(g + lo, hi - lo, sy, sx, s) < 0) {
		for (int x = x0; x < x1; x++)
			d2[x] = INFINITY;
		return;
	}
	const double *v = s->v;
	const double *z = s->z, *f = s->f;
	double *out = d2 + lo;
	double xd = (double)(x0 - lo); /* x as a double, counted rather than converted */
	int j = 0;
	for (int x = x0 - lo; x < x1 - lo; x++, xd += 1.0) {
		while (z[j + 1] < xd)
			j++;
		double dx = sx * (xd - v[j]);
		out[x] = dx * dx + f[j];
	}
}

/*
 * A column with g = 0 is a feature pixel of this row: its distance is 0,
 * and every parabola beyond it is farther than it from every pixel on
 * the near side. So the zeros cut the row into stretches that are solved
 * apart, each from its own columns and the zero on either side, and the
 * zeros themselves cost nothing. Where most of a row is feature (the
 * background of edt(fg)), that skips most of the envelope's work.
 */
void edt_row(const int32_t *g, int n, double sy, double sx, double *d2, edt_scratch *s)
{
	int x = 0;

	while (x < n) {
		if (g[x] == 0) {
			d2[x++] = 0.0;
			continue;
		}
		int e = x + 1;
		while (e < n && g[e] != 0)
			e++;
		segment(g, x > 0 ? x - 1 : 0, e < n ? e + 1 : n, x, e, sy, sx, d2, s);
		x = e;
	}
}

/*
 * The squared distance from x to the nearest feature of the row, searching
 * outward until the next column pair is farther than the best found: the
 * same value edt_row gives at x (the same products of the same operands).
 * Each step costs one from *budget; 0 when the budget runs out first.
 */
static int search_at(const int32_t *g, int n, int x, double sy2, double sx, long *budget, double *d2)
{
	double best = INFINITY;

	for (int t = 0; t <= x || x + t < n; t++) {
		double dx = sx * (double)t, dd = dx * dx;
		if (dd >= best)
			break;
		if (--*budget < 0)
			return 0;
		if (t <= x && g[x - t] < EDT_FAR) {
			double gq = (double)g[x - t], c = dd + gq * gq * sy2;
			best = c < best ? c : best;
		}
		if (t > 0 && x + t < n && g[x + t] < EDT_FAR) {
			double gq = (double)g[x + t], c = dd + gq * gq * sy2;
			best = c < best ? c : best;
		}
	}
	*d2 = best;
	return 1;
}

/*
 * edt_row's distances (not squared) only where at[x] == 1, written in
 * order to out. A border is a few pixels per row, and its nearest
 * feature is often a few columns away: an outward search from each
 * wanted pixel then costs far less than the row's whole envelope. The
 * searches share a budget of steps (the caller gives n, or n/8 after a
 * row whose searches ran out, as rows far from every feature come in
 * runs); past it the row falls back to the envelope, evaluated only at
 * the wanted pixels. Both give the values edt_row would. Returns 1 when
 * the searches sufficed.
 */
static int edt_row_at(const int32_t *g, int n, double sy, double sx, const uint8_t *at, double *out,
		      long budget, edt_scratch *s)
{
	const uint8_t *p = at, *end = at + n;
	double sy2 = sy * sy;
	size_t k = 0;

	while ((p = memchr(p, 1, (size_t)(end - p))) != NULL) {
		double d2;
		if (!search_at(g, n, (int)(p - at), sy2, sx, &budget, &d2))
			break;
		out[k++] = sqrt(d2);
		p++;
	}
	if (p == NULL)
		return 1;

	int empty = envelope(g, n, sy, sx, s) < 0;
	const double *v = s->v;
	const double *z = s->z, *f = s->f;
	int j = 0;

	p = at;
	k = 0;
	while ((p = memchr(p, 1, (size_t)(end - p))) != NULL) {
		int x = (int)(p - at);
		p++;
		if (empty) {
			out[k++] = INFINITY;
			continue;
		}
		while (z[j + 1] < (double)x)
			j++;
		double dx = sx * ((double)x - v[j]);
		out[k++] = sqrt(dx * dx + f[j]);
	}
	return 0;
}

/*
 * g[i] = rows from i to the nearest feature pixel of its column, EDT_FAR
 * when none, for the columns [x0, x1). Columns are independent, so
 * stripes of them can run in parallel; within a stripe the sweeps go row
 * by row, which keeps memory access sequential and vectorisable. Both
 * sweeps are branch-free (a select, never a conditional store), so each
 * compiles to vector min/compare instructions.
 */
SEG_CLONES static void column_pass(const uint8_t *mask, int w, int h, int want, int32_t *g, int x0, int x1)
{
	uint8_t hit = want ? 1 : 0;

	for (int x = x0; x < x1; x++)
		g[x] = ((mask[x] != 0) == hit) ? 0 : EDT_FAR;
	for (int y = 1; y < h; y++) {
		const uint8_t *m = mask + (size_t)y * w;
		const int32_t *up = g + (size_t)(y - 1) * w;
		int32_t *row = g + (size_t)y * w;
		for (int x = x0; x < x1; x++) {
			int32_t next = up[x] + 1;
			next = next > EDT_FAR ? EDT_FAR : next;
			row[x] = ((m[x] != 0) == hit) ? 0 : next;
		}
	}
	for (int y = h - 2; y >= 0; y--) {
		const int32_t *down = g + (size_t)(y + 1) * w;
		int32_t *row = g + (size_t)y * w;
		for (int x = x0; x < x1; x++) {
			int32_t next = down[x] + 1, cur = row[x];
			row[x] = next < cur ? next : cur;
		}
	}
}

/* One transform in progress: inputs, the column distances, and what the row tasks write. */
typedef struct job {
	const uint8_t *mask;
	int w, h, want;
	double sy, sx;
	int32_t *g;
	size_t tasks;
	double *out;          /* edt_dist: w*h distances */
	const uint8_t *at;    /* edt_sample: where distances are wanted */
	const size_t *offset; /* edt_sample: out index of each row's first wanted pixel (h + 1) */
	int failed;           /* a row task could not allocate its scratch */
} job;

/*
 * Columns of one stripe that keep its g (h rows of them) within about
 * 256 KiB, so the backward sweep reads what the forward sweep left in
 * the core's cache rather than main memory; never fewer than 16 (one
 * 64-byte line of int32 per row).
 */
static int cache_cols(int h)
{
	int c = (int)((256 * 1024 / sizeof(int32_t)) / (size_t)h);

	c = c / 16 * 16;
	return c < 16 ? 16 : c;
}

static void column_task(void *arg, size_t t)
{
	job *j = arg;
	int x0 = (int)((size_t)j->w * t / j->tasks), x1 = (int)((size_t)j->w * (t + 1) / j->tasks);
	int step = cache_cols(j->h);

	for (int c = x0; c < x1; c += step)
		column_pass(j->mask, j->w, j->h, j->want, j->g, c, x1 - c < step ? x1 : c + step);
}

/* Rows [y0, y1) of task t, with scratch of its own. */
static void row_task(void *arg, size_t t)
{
	job *j = arg;
	int y0 = (int)((size_t)j->h * t / j->tasks), y1 = (int)((size_t)j->h * (t + 1) / j->tasks);
	edt_scratch s;
	int searched = 1; /* the last sampled row's searches all ended within budget */

	if (edt_scratch_init(&s, j->w) != SEG_OK) {
		j->failed = 1;
		return;
	}
	for (int y = y0; y < y1; y++) {
		const int32_t *g = j->g + (size_t)y * j->w;
		if (j->at == NULL) {
			double *o = j->out + (size_t)y * j->w;
			edt_row(g, j->w, j->sy, j->sx, o, &s);
			for (int x = 0; x < j->w; x++)
				o[x] = sqrt(o[x]);
			continue;
		}
		const uint8_t *a = j->at + (size_t)y * j->w;
		if (j->offset[y + 1] > j->offset[y])
			searched = edt_row_at(g, j->w, j->sy, j->sx, a, j->out + j->offset[y],
					      searched ? j->w : j->w / 8 + 1, &s);
	}
	edt_scratch_release(&s);
}

/* Checks arguments, allocates g and runs the column pass. */
static seg_status edt_begin(job *j, const double *spacing, const seg_par *par, seg_error *err)
{
	j->sy = spacing ? spacing[0] : 1.0;
	j->sx = spacing ? spacing[1] : 1.0;
	j->g = NULL;
	if (j->w <= 0 || j->h <= 0 || j->w > SEG_MAX_SIDE || j->h > SEG_MAX_SIDE)
		return seg_fail(err, SEG_EINVAL, "edt: bad size %dx%d", j->w, j->h);
	if (!(j->sy > 0) || !(j->sx > 0) || isinf(j->sy) || isinf(j->sx))
		return seg_fail(err, SEG_EINVAL, "edt: spacing must be positive and finite");
	j->g = malloc((size_t)j->w * (size_t)j->h * sizeof(*j->g));
	if (j->g == NULL)
		return seg_fail(err, SEG_ENOMEM, "edt: out of memory for %dx%d", j->w, j->h);
	/* Stripes at least 64 columns wide keep the sweeps vectorised. */
	j->tasks = seg_par_tasks(par, (size_t)(j->w + 63) / 64);
	seg_par_for(par, j->tasks, column_task, j);
	j->tasks = seg_par_tasks(par, (size_t)j->h);
	return SEG_OK;
}

seg_status edt_dist(const uint8_t *mask, int w, int h, int want, const double *spacing, double *out,
		    const seg_par *par, seg_error *err)
{
	job j = {.mask = mask, .w = w, .h = h, .want = want, .out = out};
	seg_status st = edt_begin(&j, spacing, par, err);

	if (st != SEG_OK)
		return st;
	seg_par_for(par, j.tasks, row_task, &j);
	free(j.g);
	return j.failed ? seg_fail(err, SEG_ENOMEM, "edt: out of memory") : SEG_OK;
}

seg_status edt_sample(const uint8_t *mask, int w, int h, int want, const double *spacing, const uint8_t *at,
		      double *out, const seg_par *par, seg_error *err)
{
	job j = {.mask = mask, .w = w, .h = h, .want = want, .out = out, .at = at};
	size_t *offset = NULL;
	seg_status st;

	if (w <= 0 || h <= 0 || w > SEG_MAX_SIDE || h > SEG_MAX_SIDE)
		return seg_fail(err, SEG_EINVAL, "edt: bad size %dx%d", w, h);
	/* Each row's results go to a known place, so rows can be done in any order. */
	offset = malloc(((size_t)h + 1) * sizeof(*offset));
	if (offset == NULL)
		return seg_fail(err, SEG_ENOMEM, "edt: out of memory");
	size_t k = 0;
	for (int y = 0; y < h; y++) {
		offset[y] = k;
		const uint8_t *a = at + (size_t)y * w;
		for (int x = 0; x < w; x++)
			k += a[x] == 1;
	}
	offset[h] = k;
	j.offset = offset;
	st = edt_begin(&j, spacing, par, err);
	if (st == SEG_OK) {
		seg_par_for(par, j.tasks, row_task, &j);
		if (j.failed)
			st = seg_fail(err, SEG_ENOMEM, "edt: out of memory");
	}
	free(j.g);
	free(offset);
	return st;
}
