/*
 * mclass.c — counting on class maps.
 *
 * The confusion matrix is one pass with one increment per valid pixel
 * into a classes² table, small enough to stay in cache (four of them
 * for up to 32 classes, see mc_confusion). Per-class surface distances
 * reuse the binary machinery (metric.c) on the box of the class in
 * either map widened by one pixel: a class that covers a corner of a
 * Cityscapes frame costs that corner, not the frame.
 */
#include "core/mclass.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

/*
 * Small class counts: four tables of 32-bit counts, pixel i counted in
 * table i % 4, so that a run of pixels of one class (most of a label
 * map) does not wait on the increment before it: each table's increment
 * depends on the one four pixels back. An ignored pixel is counted in a
 * spare cell past the table, so the loop has no branch. Counts are whole
 * numbers: the totals do not depend on the order they are made in.
 */
#define CONF_LANES 4
#define CONF_SMALL 32                /* classes up to this use the tables: 4 × 1,025 counts, 16 KiB on the stack */
#define CONF_CHUNK ((size_t)1 << 31) /* pixels per flush, so a 32-bit count cannot overflow */

/* Pixels [0, n) of t and p added into m. */
static void confusion_add(const uint16_t *t, const uint16_t *p, size_t n, int classes, int64_t *m)
{
	size_t cc = (size_t)classes * (size_t)classes;

	if (classes > CONF_SMALL) {
		for (size_t i = 0; i < n; i++) {
			uint16_t a = t[i];
			if (a != SEG_IGNORE)
				m[(size_t)a * (size_t)classes + p[i]]++;
		}
		return;
	}
	uint32_t h[CONF_LANES][CONF_SMALL * CONF_SMALL + 1];
	for (size_t i0 = 0; i0 < n; i0 += CONF_CHUNK) {
		size_t end = n - i0 < CONF_CHUNK ? n : i0 + CONF_CHUNK, i = i0;
		memset(h, 0, sizeof(h));
#define CONF_CELL(k) (t[k] == SEG_IGNORE ? cc : (size_t)t[k] * (size_t)classes + p[k])
		for (; i + CONF_LANES <= end; i += CONF_LANES) {
			h[0][CONF_CELL(i)]++;
			h[1][CONF_CELL(i + 1)]++;
			h[2][CONF_CELL(i + 2)]++;
			h[3][CONF_CELL(i + 3)]++;
		}
		for (; i < end; i++)
			h[0][CONF_CELL(i)]++;
#undef CONF_CELL
		for (size_t k = 0; k < cc; k++)
			m[k] += (int64_t)h[0][k] + h[1][k] + h[2][k] + h[3][k];
	}
}

/*
 * With a seg_par, stripes of pixels are counted in tables of their own
 * (CONF_PAR_PIXELS at least each, and only for classes² up to
 * CONF_PAR_CELLS, so the tables stay small) and the tables added: the
 * counts are whole numbers, the same in any order.
 */
#define CONF_PAR_PIXELS ((size_t)1 << 16)
#define CONF_PAR_CELLS ((size_t)1 << 16)

typedef struct conf_job {
	const uint16_t *t, *p;
	size_t n, tasks, cc;
	int classes;
	int64_t *part; /* tasks tables of cc counts */
} conf_job;

static void conf_task(void *arg, size_t k)
{
	conf_job *j = arg;
	size_t a = j->n * k / j->tasks, e = j->n * (k + 1) / j->tasks;

	confusion_add(j->t + a, j->p + a, e - a, j->classes, j->part + k * j->cc);
}

void mc_confusion(const uint16_t *t, const uint16_t *p, size_t n, int classes, const seg_par *par, int64_t *m)
{
	conf_job j = {t, p, n, seg_par_tasks(par, n / CONF_PAR_PIXELS), (size_t)classes * (size_t)classes, classes,
		      NULL};

	memset(m, 0, j.cc * sizeof(*m));
	if (j.tasks > 1 && j.cc <= CONF_PAR_CELLS)
		j.part = calloc(j.tasks * j.cc, sizeof(*j.part));
	if (j.part == NULL) { /* one task, or no memory for the tables: count here */
		confusion_add(t, p, n, classes, m);
		return;
	}
	seg_par_for(par, j.tasks, conf_task, &j);
	for (size_t k = 0; k < j.tasks; k++)
		for (size_t c = 0; c < j.cc; c++)
			m[c] += j.part[k * j.cc + c];
	free(j.part);
}

void mc_class_counts(const int64_t *m, int classes, int c, metric_counts *out)
{
	int64_t tp = m[(size_t)c * classes + c], row = 0, col = 0, all = 0;

	for (int k = 0; k < classes; k++) {
		row += m[(size_t)c * classes + k];
		col += m[(size_t)k * classes + c];
	}
	for (size_t k = 0; k < (size_t)classes * (size_t)classes; k++)
		all += m[k];
	out->tp = (double)tp;
	out->fp = (double)(col - tp);
	out->fn = (double)(row - tp);
	out->tn = (double)(all - row - col + tp);
}

#define ARGMAX_BLOCK 1024

/* Blocks [b0, b1) of ARGMAX_BLOCK pixels. */
static void argmax_blocks(const seg_scores *s, size_t b0, size_t b1, uint16_t *out)
{
	size_t n = (size_t)s->width * (size_t)s->height;
	float best[ARGMAX_BLOCK];
	int32_t idx[ARGMAX_BLOCK];

	/* Class by class over a block of pixels: each plane is read in order, and the compare vectorises. */
	for (size_t i0 = b0 * ARGMAX_BLOCK; i0 < n && i0 < b1 * ARGMAX_BLOCK; i0 += ARGMAX_BLOCK) {
		size_t m = n - i0 < ARGMAX_BLOCK ? n - i0 : ARGMAX_BLOCK;
		memcpy(best, s->v + i0, m * sizeof(float));
		memset(idx, 0, m * sizeof(int32_t));
		for (int c = 1; c < s->classes; c++) {
			const float *v = s->v + (size_t)c * n + i0;
			int32_t cc = c;
			for (size_t k = 0; k < m; k++) {
				/* Strictly greater: the lowest index wins a tie. Arithmetic blends, so the loop vectorises. */
				float x = v[k], b = best[k];
				int32_t gt = x > b;
				idx[k] += gt * (cc - idx[k]);
				best[k] = x > b ? x : b;
			}
		}
		for (size_t k = 0; k < m; k++)
			out[i0 + k] = (uint16_t)idx[k];
	}
}

typedef struct argmax_job {
	const seg_scores *s;
	uint16_t *out;
	size_t blocks, tasks;
} argmax_job;

static void argmax_task(void *arg, size_t k)
{
	argmax_job *j = arg;

	argmax_blocks(j->s, j->blocks * k / j->tasks, j->blocks * (k + 1) / j->tasks, j->out);
}

void mc_argmax(const seg_scores *s, const seg_par *par, uint16_t *out)
{
	size_t n = (size_t)s->width * (size_t)s->height;
	argmax_job j = {s, out, (n + ARGMAX_BLOCK - 1) / ARGMAX_BLOCK, 1};

	/* Each pixel's class is its own: any split writes the same map. */
	j.tasks = seg_par_tasks(par, j.blocks / 16);
	seg_par_for(par, j.tasks, argmax_task, &j);
}

void mc_tie_counts(const seg_scores *s, const uint16_t *t, metric_counts *out)
{
	size_t n = (size_t)s->width * (size_t)s->height;
	double nv = 0.0;

	memset(out, 0, (size_t)s->classes * sizeof(*out));
	for (size_t i = 0; i < n; i++) {
		float best = s->v[i];
		if (t[i] == SEG_IGNORE)
			continue;
		nv += 1.0;
		for (int c = 1; c < s->classes; c++)
			best = s->v[(size_t)c * n + i] > best ? s->v[(size_t)c * n + i] : best;
		for (int c = 0; c < s->classes; c++) {
			float v = s->v[(size_t)c * n + i];
			int pred = v >= best && (s->logits || fabs((double)v) > 1e-9), fg = t[i] == c;
			out[c].tp += pred && fg;
			out[c].fp += pred && !fg;
			out[c].fn += !pred && fg;
		}
	}
	for (int c = 0; c < s->classes; c++)
		out[c].tn = nv - out[c].tp - out[c].fp - out[c].fn;
}

static void grow(mc_box *b, int x, int y)
{
	if (b->x0 >= b->x1) {
		b->x0 = x;
		b->x1 = x + 1;
		b->y0 = y;
		b->y1 = y + 1;
		return;
	}
	if (x < b->x0)
		b->x0 = x;
	if (x >= b->x1)
		b->x1 = x + 1;
	if (y >= b->y1)
		b->y1 = y + 1; /* rows come in order: y0 is set by the first pixel */
}

void mc_boxes(const uint16_t *t, const uint16_t *p, int w, int h, int classes, mc_box *box)
{
	memset(box, 0, (size_t)classes * sizeof(*box));
	for (int y = 0; y < h; y++) {
		const uint16_t *tr = t + (size_t)y * w, *pr = p + (size_t)y * w;
		for (int x = 0; x < w; x++) {
			if (tr[x] == SEG_IGNORE)
				continue;
			grow(&box[tr[x]], x, y);
			if (pr[x] != tr[x])
				grow(&box[pr[x]], x, y);
		}
	}
}

seg_status mc_surface(const uint16_t *t, const uint16_t *p, int w, int h, int c, const mc_box *box,
		      const double spacing[2], uint8_t *scratch, metric_surface *s, const seg_par *par,
		      seg_error *err)
{
	int x0 = box->x0 > 0 ? box->x0 - 1 : 0, y0 = box->y0 > 0 ? box->y0 - 1 : 0;
	int x1 = box->x1 < w ? box->x1 + 1 : w, y1 = box->y1 < h ? box->y1 + 1 : h;
	int cw = x1 - x0, ch = y1 - y0;
	uint8_t *a, *b;

	memset(s, 0, sizeof(*s));
	if (box->x0 >= box->x1) /* absent from both: two empty masks */
		return SEG_OK;
	a = scratch;
	b = scratch + (size_t)cw * (size_t)ch;
	for (int y = 0; y < ch; y++) {
		const uint16_t *tr = t + (size_t)(y + y0) * w + x0, *pr = p + (size_t)(y + y0) * w + x0;
		uint8_t *ar = a + (size_t)y * cw, *br = b + (size_t)y * cw;
		for (int x = 0; x < cw; x++) {
			int valid = tr[x] != SEG_IGNORE;
			ar[x] = (uint8_t)(valid & (pr[x] == c));
			br[x] = (uint8_t)(tr[x] == c);
		}
	}
	return metric_surface_compute(a, b, cw, ch, spacing, s, par, err);
}

void mc_errors(const uint16_t *t, const uint16_t *p, size_t n, int bg, uint8_t *out)
{
	for (size_t i = 0; i < n; i++) {
		uint16_t a = p[i], b = t[i];
		if (b == SEG_IGNORE)
			out[i] = 4;
		else if (a == b)
			out[i] = (int)b == bg ? 0 : 1;
		else
			out[i] = (int)b == bg ? 2 : 3;
	}
}
