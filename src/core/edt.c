/*
 * edt.c — exact Euclidean distance transform in two linear passes.
 *
 * Column pass (Meijster et al. 2000, phase 1): a forward and a backward
 * sweep over whole rows give g, the row distance to the nearest feature
 * pixel in the same column. Sweeping rows rather than columns keeps the
 * access sequential and lets the compiler vectorise the min/+1 updates.
 * The image is cut into strips of rows whose g fits in the core's cache:
 * a cheap first pass finds each strip's nearest feature rows above and
 * below, and each strip then runs its sweeps and its row pass on its own
 * (in parallel when a seg_par is given), so g never goes to memory.
 *
 * Row pass (Felzenszwalb & Huttenlocher 2012, "Distance Transforms of
 * Sampled Functions"): each row is the lower envelope of parabolas
 * f_i(x) = (sx (x - i))^2 + (sy g_i)^2. Columns without a feature are
 * skipped (their parabola is at infinity), and columns with g = 0 cut
 * the row into stretches solved apart (see edt_row). With unit spacing
 * the envelope is built in 64-bit integers (segment_unit: squared
 * distances and intersections compared by cross multiplication, no
 * division and no table of reciprocals), about 10 % faster than the same
 * work in double and exact by construction; other spacings take double
 * arithmetic (envelope).
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
	s->f = malloc(((size_t)cap + 1) * sizeof(*s->f));
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
 * segment_at for unit spacing, in integers: h = g^2 + q^2, and every
 * intersection z = zn / zd (zd = 2 (q - v) > 0; the bottom's -inf is
 * -1/0, the top's +inf 1/0) is compared by cross multiplication, so each
 * test is exact and decides as the double one does, and the output is
 * the same to the bit. No side exceeds SEG_MAX_SIDE = 2^20, so q, v and
 * every finite g are below 2^20, h below 2^41 and no product reaches
 * 2^63. The scratch arrays are reused as int64_t (same size as double);
 * every element read here was written here as int64_t first.
 */
_Static_assert(SEG_MAX_SIDE <= (1 << 20), "segment_unit's products need sides of at most 2^20");

static void segment_unit(const int32_t *gp, int cnt, int pos, int x0, int x1, double *d2, edt_scratch *s)
{
	int64_t *v = (int64_t *)(void *)s->v, *h = (int64_t *)(void *)s->h, *zn = (int64_t *)(void *)s->z,
		*zd = (int64_t *)(void *)s->f;
	int k = -1;

	for (int64_t q = 0; q < cnt; q++) {
		int64_t g = gp[q];
		if (g >= EDT_FAR)
			continue;
		int64_t hq = g * g + q * q;
		if (k < 0) {
			k = 0;
			v[0] = q;
			h[0] = hq;
			zn[0] = -1;
			zd[0] = 0;
			continue;
		}
		while ((hq - h[k]) * zd[k] <= zn[k] * 2 * (q - v[k]))
			k--;
		int64_t n = hq - h[k], d = 2 * (q - v[k]);
		k++;
		v[k] = q;
		h[k] = hq;
		zn[k] = n;
		zd[k] = d;
	}
	if (k < 0) {
		for (int x = x0; x < x1; x++)
			d2[x] = INFINITY;
		return;
	}
	zn[k + 1] = 1;
	zd[k + 1] = 0;
	double *out = d2 + pos;
	int j = 0;
	for (int64_t x = x0 - pos; x < x1 - pos; x++) {
		while (zn[j + 1] < x * zd[j + 1])
			j++;
		int64_t dx = x - v[j];
		out[x] = (double)(dx * dx + (h[j] - v[j] * v[j]));
	}
}

/*
 * The squared distances of columns [x0, x1) of a row from the envelope of
 * cnt columns starting at column pos, whose column distances are gp[0..cnt)
 * (the row's other columns take no part), written to d2[x0..x1).
 */
static void segment_at(const int32_t *gp, int cnt, int pos, int x0, int x1, double sy, double sx, double *d2,
		       edt_scratch *s)
{
	if (sx == 1.0 && sy == 1.0) {
		segment_unit(gp, cnt, pos, x0, x1, d2, s);
		return;
	}
	if (envelope(gp, cnt, sy, sx, s) < 0) {
		for (int x = x0; x < x1; x++)
			d2[x] = INFINITY;
		return;
	}
	const double *v = s->v;
	const double *z = s->z, *f = s->f;
	double *out = d2 + pos;
	double xd = (double)(x0 - pos); /* x as a double, counted rather than converted */
	int j = 0;
	for (int x = x0 - pos; x < x1 - pos; x++, xd += 1.0) {
		while (z[j + 1] < xd)
			j++;
		double dx = sx * (xd - v[j]);
		out[x] = dx * dx + f[j];
	}
}

/*
 * The squared distances of columns [x0, x1) from the envelope of the
 * columns [lo, hi) (lo <= x0, x1 <= hi), written to d2[x0..x1).
 */
static void segment(const int32_t *g, int lo, int hi, int x0, int x1, double sy, double sx, double *d2,
		    edt_scratch *s)
{
	segment_at(g + lo, hi - lo, lo, x0, x1, sy, sx, d2, s);
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

void edt_row_span(const int32_t *g, int m, int off, int n, double sy, double sx, double *d2, edt_scratch *s)
{
	int prev = -1; /* the last zero column seen, relative to off; -1: none yet */

	/* As edt_row, with the row's ends (no feature there) joining the first and the last stretch. */
	for (int q = 0; q <= m; q++) {
		if (q < m && g[q] != 0)
			continue;
		int e0 = prev < 0 ? 0 : off + prev + 1, e1 = q == m ? n : off + q;
		int lo = prev < 0 ? 0 : prev, hi = q == m ? m : q + 1;
		if (e0 < e1)
			segment_at(g + lo, hi - lo, off + lo, e0, e1, sy, sx, d2, s);
		if (q < m)
			d2[off + q] = 0.0;
		prev = q;
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
 * The column pass, by strips of rows. g[y][x], the rows from (x, y) to
 * the nearest feature pixel of column x, needs what lies above and below
 * the strip only through two numbers per column: the last feature row
 * above the strip and the first one below it. A first pass over the mask
 * finds, per strip and column, the first and last feature rows inside
 * the strip (bounds_task); running prefixes over the strips turn those
 * into the nearest feature rows above and below each strip. Each strip's
 * g is then swept in a buffer of its own that stays in the core's cache,
 * and its rows go straight through the row pass (strip_task): no
 * width x height array of column distances is written to memory and read
 * back, and strips are independent, so they run in parallel.
 */
#define NO_ABOVE (-EDT_FAR)             /* no feature above: y - NO_ABOVE >= EDT_FAR */
#define NO_BELOW (EDT_FAR + SEG_MAX_SIDE) /* no feature below: NO_BELOW - y >= EDT_FAR */

/* One transform in progress: inputs, the strip bounds, and what the strip tasks write. */
typedef struct job {
	const uint8_t *mask;
	int w, h, want;
	double sy, sx;
	int rows;             /* rows per strip */
	size_t strips;
	int32_t *above;       /* strips * w: the last feature row above strip s (NO_ABOVE: none) */
	int32_t *below;       /* strips * w: the first feature row below strip s (NO_BELOW: none) */
	size_t tasks;         /* strip tasks: each takes a run of strips and one scratch buffer */
	size_t col_tasks;     /* bounds tasks: stripes of columns */
	double *out;          /* edt_dist: w*h distances */
	const uint8_t *at;    /* edt_sample: where distances are wanted */
	const size_t *offset; /* edt_sample: out index of each row's first wanted pixel (h + 1) */
	int failed;           /* a strip task could not allocate its scratch */
} job;

/*
 * For strip s and columns [x0, x1): the last feature row inside the
 * strip into above[s] and the first into below[s] (NO_ABOVE, NO_BELOW
 * when none). Branch-free selects, so the loops vectorise.
 */
SEG_CLONES static void strip_bounds(const uint8_t *mask, int w, int y0, int y1, int want, int32_t *last,
				    int32_t *first, int x0, int x1)
{
	uint8_t hit = want ? 1 : 0;

	for (int x = x0; x < x1; x++) {
		last[x] = NO_ABOVE;
		first[x] = NO_BELOW;
	}
	for (int y = y0; y < y1; y++) {
		const uint8_t *m = mask + (size_t)y * w;
		for (int x = x0; x < x1; x++)
			last[x] = ((m[x] != 0) == hit) ? y : last[x];
	}
	for (int y = y1 - 1; y >= y0; y--) {
		const uint8_t *m = mask + (size_t)y * w;
		for (int x = x0; x < x1; x++)
			first[x] = ((m[x] != 0) == hit) ? y : first[x];
	}
}

/* Columns [x0, x1) of every strip: bounds inside each strip, then the prefixes over strips. */
static void bounds_task(void *arg, size_t t)
{
	job *j = arg;
	int x0 = (int)((size_t)j->w * t / j->col_tasks), x1 = (int)((size_t)j->w * (t + 1) / j->col_tasks);
	size_t w = (size_t)j->w;

	for (size_t s = 0; s < j->strips; s++) {
		int y0 = (int)s * j->rows, y1 = y0 + j->rows < j->h ? y0 + j->rows : j->h;
		strip_bounds(j->mask, j->w, y0, y1, j->want, j->above + s * w, j->below + s * w, x0, x1);
	}
	/* above[s] <- the last feature row of strips before s; below[s] <- the first of strips after s. */
	for (int x = x0; x < x1; x++) {
		int32_t run = NO_ABOVE;
		for (size_t s = 0; s < j->strips; s++) {
			int32_t v = j->above[s * w + x];
			j->above[s * w + x] = run;
			run = v != NO_ABOVE ? v : run;
		}
		run = NO_BELOW;
		for (size_t s = j->strips; s-- > 0;) {
			int32_t v = j->below[s * w + x];
			j->below[s * w + x] = run;
			run = v != NO_BELOW ? v : run;
		}
	}
}

/*
 * g for rows [y0, y1) (g holds (y1 - y0) rows of w): the forward sweep
 * starts from the distance to the last feature row above, the backward
 * sweep from the first one below; both clamp at EDT_FAR, as the distance
 * to "no feature" is.
 */
SEG_CLONES static void strip_columns(const uint8_t *mask, int w, int y0, int y1, int want, const int32_t *above,
				     const int32_t *below, int32_t *g)
{
	uint8_t hit = want ? 1 : 0;
	int n = y1 - y0;

	for (int x = 0; x < w; x++) {
		int32_t d = y0 - above[x];
		d = d > EDT_FAR ? EDT_FAR : d;
		g[x] = ((mask[(size_t)y0 * w + x] != 0) == hit) ? 0 : d;
	}
	for (int y = 1; y < n; y++) {
		const uint8_t *m = mask + (size_t)(y0 + y) * w;
		const int32_t *up = g + (size_t)(y - 1) * w;
		int32_t *row = g + (size_t)y * w;
		for (int x = 0; x < w; x++) {
			int32_t next = up[x] + 1;
			next = next > EDT_FAR ? EDT_FAR : next;
			row[x] = ((m[x] != 0) == hit) ? 0 : next;
		}
	}
	{
		int32_t *row = g + (size_t)(n - 1) * w;
		for (int x = 0; x < w; x++) {
			int32_t d = below[x] - (y1 - 1), cur = row[x];
			row[x] = d < cur ? d : cur;
		}
	}
	for (int y = n - 2; y >= 0; y--) {
		const int32_t *down = g + (size_t)(y + 1) * w;
		int32_t *row = g + (size_t)y * w;
		for (int x = 0; x < w; x++) {
			int32_t next = down[x] + 1, cur = row[x];
			row[x] = next < cur ? next : cur;
		}
	}
}

/* Strips [s0, s1) of task t: column distances in a scratch strip, then the row pass of each row. */
static void strip_task(void *arg, size_t t)
{
	job *j = arg;
	size_t s0 = j->strips * t / j->tasks, s1 = j->strips * (t + 1) / j->tasks;
	size_t w = (size_t)j->w;
	int32_t *g = NULL;
	edt_scratch s;
	int searched = 1; /* the last sampled row's searches all ended within budget */

	if (s0 == s1)
		return;
	g = malloc((size_t)j->rows * w * sizeof(*g));
	if (g == NULL || edt_scratch_init(&s, j->w) != SEG_OK) {
		free(g);
		j->failed = 1;
		return;
	}
	for (size_t k = s0; k < s1; k++) {
		int y0 = (int)k * j->rows, y1 = y0 + j->rows < j->h ? y0 + j->rows : j->h;
		strip_columns(j->mask, j->w, y0, y1, j->want, j->above + k * w, j->below + k * w, g);
		for (int y = y0; y < y1; y++) {
			const int32_t *gr = g + (size_t)(y - y0) * w;
			if (j->at == NULL) {
				double *o = j->out + (size_t)y * w;
				edt_row(gr, j->w, j->sy, j->sx, o, &s);
				for (size_t x = 0; x < w; x++)
					o[x] = sqrt(o[x]);
				continue;
			}
			const uint8_t *a = j->at + (size_t)y * w;
			if (j->offset[y + 1] > j->offset[y])
				searched = edt_row_at(gr, j->w, j->sy, j->sx, a, j->out + j->offset[y],
						      searched ? j->w : j->w / 8 + 1, &s);
		}
	}
	edt_scratch_release(&s);
	free(g);
}

/*
 * Rows per strip: a strip's g within about 256 KiB, so its sweeps and
 * its row pass read what is in the core's cache; fewer rows when that
 * leaves too few strips to share among the lanes; never fewer than 8.
 */
static int strip_rows(int w, int h, size_t lanes_tasks)
{
	int rows = (int)((256 * 1024 / sizeof(int32_t)) / (size_t)w);
	int share = (int)(((size_t)h + lanes_tasks - 1) / lanes_tasks);

	if (lanes_tasks > 1 && share < rows)
		rows = share;
	if (rows < 8)
		rows = 8;
	return rows > h ? h : rows;
}

/* Checks arguments, finds the strip bounds and runs every strip. */
static seg_status edt_run(job *j, const double *spacing, const seg_par *par, seg_error *err)
{
	size_t w = (size_t)j->w;

	j->sy = spacing ? spacing[0] : 1.0;
	j->sx = spacing ? spacing[1] : 1.0;
	if (j->w <= 0 || j->h <= 0 || j->w > SEG_MAX_SIDE || j->h > SEG_MAX_SIDE)
		return seg_fail(err, SEG_EINVAL, "edt: bad size %dx%d", j->w, j->h);
	if (!(j->sy > 0) || !(j->sx > 0) || isinf(j->sy) || isinf(j->sx))
		return seg_fail(err, SEG_EINVAL, "edt: spacing must be positive and finite");
	j->rows = strip_rows(j->w, j->h, seg_par_tasks(par, (size_t)j->h));
	j->strips = ((size_t)j->h + (size_t)j->rows - 1) / (size_t)j->rows;
	j->above = malloc(j->strips * w * sizeof(*j->above));
	j->below = malloc(j->strips * w * sizeof(*j->below));
	if (j->above == NULL || j->below == NULL) {
		free(j->above);
		free(j->below);
		return seg_fail(err, SEG_ENOMEM, "edt: out of memory for %dx%d", j->w, j->h);
	}
	/* Stripes at least 64 columns wide keep the bounds loops vectorised. */
	j->col_tasks = seg_par_tasks(par, (w + 63) / 64);
	seg_par_for(par, j->col_tasks, bounds_task, j);
	j->tasks = seg_par_tasks(par, j->strips);
	seg_par_for(par, j->tasks, strip_task, j);
	free(j->above);
	free(j->below);
	return j->failed ? seg_fail(err, SEG_ENOMEM, "edt: out of memory") : SEG_OK;
}

seg_status edt_dist(const uint8_t *mask, int w, int h, int want, const double *spacing, double *out,
		    const seg_par *par, seg_error *err)
{
	job j = {.mask = mask, .w = w, .h = h, .want = want, .out = out};

	return edt_run(&j, spacing, par, err);
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
	st = edt_run(&j, spacing, par, err);
	free(offset);
	return st;
}
