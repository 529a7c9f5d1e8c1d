/*
 * mcloss.c — the fused pass over per-class scores, and the multi-class
 * loss formulas.
 *
 * The scores are class-major (one plane per class), so the pass walks a
 * block of pixels class by class: each plane is read in order, the block's
 * per-pixel state (validity, the target class's probability, the
 * log-sum-exp of logits) stays in L1, and the inner loops vectorise
 * (vmath.h). With logits the probabilities are exp(x_c − lse) and the
 * log-probabilities x_c − lse, computed in double: no clipping, as
 * PyTorch's log_softmax. Sums are per block in double, then added into
 * the per-class totals in class order, so results do not depend on
 * anything but the input.
 *
 * The pass runs in chunks of pixels fixed by the input, each summed from
 * zero and added in order at the end, so that a seg_par can share the
 * chunks among threads without changing a bit of the result.
 *
 * The Lovász-softmax sorts each present class's errors. From
 * probabilities (float32 in [0, 1]) the errors are p at background pixels
 * and 1 − p at the class's own: each side is sorted on the float's bits
 * (one pass into buckets by the top 11 bits, then each bucket in cache)
 * and the two merged. From logits the errors are non-negative doubles,
 * whose bit patterns sort as unsigned integers: an LSD radix sort (six
 * passes of 11 bits) replaces a comparison sort.
 */
#include "core/mcloss.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "core/vmath.h"

#define BLK 512

void mcl_sums_release(mcl_sums *s)
{
	if (s == NULL)
		return;
	free(s->g);
	memset(s, 0, sizeof(*s));
}

static double clip(double p, double eps)
{
	return p < eps ? eps : (p > 1.0 - eps ? 1.0 - eps : p);
}

/* Per-pixel state of one block. */
typedef struct block {
	size_t m;          /* pixels in the block */
	double vm[BLK];    /* 1 valid, 0 ignored */
	double lse[BLK];   /* logits: log Σ_c exp(x_c) */
	double pc[BLK];    /* the current class's probability */
	double pt[BLK];    /* the target class's probability */
	double lpt[BLK];   /* logits: the target class's log-probability */
} block;

/* lse over classes for a block of logits; x points at pixel i0 of plane 0. */
SEG_CLONES static void block_lse(block *b, const float *x, size_t plane, int classes)
{
	double mx[BLK];
	size_t m = b->m;

	for (size_t k = 0; k < m; k++)
		mx[k] = x[k];
	for (int c = 1; c < classes; c++) {
		const float *v = x + (size_t)c * plane;
		for (size_t k = 0; k < m; k++)
			mx[k] = v[k] > mx[k] ? v[k] : mx[k];
	}
	for (size_t k = 0; k < m; k++)
		b->lse[k] = 0.0;
	for (int c = 0; c < classes; c++) {
		const float *v = x + (size_t)c * plane;
		VM_SIMD
		for (size_t k = 0; k < m; k++)
			b->lse[k] += vm_exp((double)v[k] - mx[k]);
	}
	VM_SIMD
	for (size_t k = 0; k < m; k++)
		b->lse[k] = mx[k] + vm_log(b->lse[k]);
}

/*
 * One class over one block: the class's sums (the target terms are
 * gathered afterwards). Probabilities are read straight from the plane;
 * logits become probabilities in pc first.
 */
SEG_CLONES static void block_class(block *b, const float *v, int logits, int masked, const mcl_opts *o,
				   double acc[4])
{
	size_t m = b->m;
	double a1 = 0.0, a2 = 0.0, ag = 0.0, al = 0.0;
	const double *vm = b->vm;

	if (logits) {
		VM_SIMD
		for (size_t k = 0; k < m; k++)
			b->pc[k] = vm_exp((double)v[k] - b->lse[k]);
	}
	if (logits && masked) {
		VM_SIMD_REDUCE(a1, a2)
		for (size_t k = 0; k < m; k++) {
			double q = b->pc[k] * vm[k];
			a1 += q;
			a2 += q * b->pc[k];
		}
	} else if (logits) {
		VM_SIMD_REDUCE(a1, a2)
		for (size_t k = 0; k < m; k++) {
			a1 += b->pc[k];
			a2 += b->pc[k] * b->pc[k];
		}
	} else if (masked) {
		VM_SIMD_REDUCE(a1, a2)
		for (size_t k = 0; k < m; k++) {
			double p = v[k], q = p * vm[k];
			a1 += q;
			a2 += q * p;
		}
	} else {
		VM_SIMD_REDUCE(a1, a2)
		for (size_t k = 0; k < m; k++) {
			double p = v[k];
			a1 += p;
			a2 += p * p;
		}
	}
	if (!isnan(o->pow_gamma)) {
		double g = o->pow_gamma;
		VM_SIMD_REDUCE(ag)
		for (size_t k = 0; k < m; k++)
			ag += vm[k] * vm_pow(logits ? b->pc[k] : (double)v[k], g);
	}
	if (o->want_lsum) {
		if (logits) {
			VM_SIMD_REDUCE(al)
			for (size_t k = 0; k < m; k++)
				al += vm[k] * (b->lse[k] - (double)v[k]);
		} else {
			double eps = o->eps;
			VM_SIMD_REDUCE(al)
			for (size_t k = 0; k < m; k++) {
				double p = v[k] < eps ? eps : (v[k] > 1.0 - eps ? 1.0 - eps : (double)v[k]);
				al -= vm[k] * vm_log(p);
			}
		}
	}
	acc[0] = a1;
	acc[1] = a2;
	acc[2] = ag;
	acc[3] = al;
}

/*
 * The target class's probability (and, for logits, log-probability) at
 * each pixel of the block: one gather from the planes just read.
 */
static void block_gather(block *b, const float *x, size_t plane, const uint16_t *t, int logits)
{
	for (size_t k = 0; k < b->m; k++) {
		if (t[k] == SEG_IGNORE) {
			b->pt[k] = 1.0;
			b->lpt[k] = 0.0;
			continue;
		}
		double xv = x[(size_t)t[k] * plane + k];
		if (logits) {
			b->lpt[k] = xv - b->lse[k];
			b->pt[k] = exp(b->lpt[k]);
		} else {
			b->pt[k] = xv;
		}
	}
}

/*
 * Adds one run of pixels of class c (n pixels, their Σ P_c, Σ −ln P_c
 * and focal terms) to the class's totals.
 */
static void add_run(mcl_sums *s, int c, double n, double ai, double an, double af)
{
	s->g[c] += n; /* a whole number: exact in any order */
	s->i[c] += ai;
	s->nll[c] += an;
	s->foc[c] += af;
}

/*
 * The runs of one block's valid pixels into the totals; fl (NULL: no
 * focal terms) the per-pixel focal terms. Inlined with fl known, so the
 * loop without focal terms carries none.
 */
static inline __attribute__((always_inline)) void add_runs(const uint16_t *t, size_t m, const double *pt,
							  const double *lp, const double *fl, mcl_sums *s)
{
	int cur = -1;
	double n = 0.0, ai = 0.0, an = 0.0, af = 0.0;

	for (size_t k = 0; k < m; k++) {
		int y = t[k];
		if (y == SEG_IGNORE)
			continue;
		if (y != cur) {
			if (cur >= 0)
				add_run(s, cur, n, ai, an, af);
			cur = y;
			n = ai = an = af = 0.0;
		}
		n += 1.0;
		ai += pt[k];
		an -= lp[k];
		if (fl)
			af += fl[k];
	}
	if (cur >= 0)
		add_run(s, cur, n, ai, an, af);
}

/*
 * The target class's terms of one block: counts, Σ P_y, nll and focal
 * per class. Neighbouring pixels mostly share a class, and adding each
 * pixel into its class's totals would make every add wait on the one
 * before it through memory; a run of one class is summed in registers
 * and added to the totals when the class changes (add_runs). The order
 * of the additions depends on the input alone.
 */
SEG_CLONES static void block_target(block *b, const uint16_t *t, int logits, const mcl_opts *o, mcl_sums *s)
{
	size_t m = b->m;
	double lp[BLK], fl[BLK];

	/* Ignored pixels have pt = 1 and lpt = 0 (block_gather), and are skipped below. */
	if (logits) {
		memcpy(lp, b->lpt, m * sizeof(double));
	} else {
		double eps = o->eps;
		VM_SIMD
		for (size_t k = 0; k < m; k++) {
			double p = b->pt[k] < eps ? eps : (b->pt[k] > 1.0 - eps ? 1.0 - eps : b->pt[k]);
			lp[k] = vm_log(p);
		}
	}
	if (isnan(o->focal_gamma)) {
		add_runs(t, m, b->pt, lp, NULL, s);
		return;
	}
	for (size_t k = 0; k < m; k++) {
		double p = logits ? b->pt[k] : clip(b->pt[k], o->eps), g = o->focal_gamma;
		fl[k] = (g == 2.0 ? (1.0 - p) * (1.0 - p) : pow(1.0 - p, g)) * -lp[k];
	}
	add_runs(t, m, b->pt, lp, fl, s);
}

/* out's per-class arrays as views of mem (8 C doubles); out->n is left as it is. */
static void sums_view(double *mem, int C, mcl_sums *out)
{
	out->classes = C;
	out->g = mem;
	out->i = mem + C;
	out->p1 = mem + 2 * (size_t)C;
	out->p2 = mem + 3 * (size_t)C;
	out->pg = mem + 4 * (size_t)C;
	out->nll = mem + 5 * (size_t)C;
	out->foc = mem + 6 * (size_t)C;
	out->lsum = mem + 7 * (size_t)C;
}

/* Zeroed per-class arrays for C classes, in one allocation. */
static seg_status sums_alloc(mcl_sums *out, int C, seg_error *err)
{
	double *mem = calloc((size_t)C * 8, sizeof(double));

	memset(out, 0, sizeof(*out));
	if (mem == NULL)
		return seg_fail(err, SEG_ENOMEM, "out of memory for %d classes' sums", C);
	sums_view(mem, C, out);
	return SEG_OK;
}

seg_status mcl_sums_from_confusion(const int64_t *m, int classes, const mcl_opts *o, mcl_sums *out,
				   seg_error *err)
{
	seg_status st = sums_alloc(out, classes, err);
	double eps = o->eps, l_hit = -log(1.0 - eps), l_miss = -log(eps);

	if (st != SEG_OK)
		return st;
	for (int c = 0; c < classes; c++) {
		double row = 0.0, col = 0.0;
		for (int k = 0; k < classes; k++) {
			row += (double)m[(size_t)c * classes + k];
			col += (double)m[(size_t)k * classes + c];
		}
		out->n += row;
		double tp = (double)m[(size_t)c * classes + c], fn = row - tp;
		out->g[c] = row;
		out->i[c] = tp;
		out->p1[c] = out->p2[c] = out->pg[c] = col;
		out->nll[c] = tp * l_hit + fn * l_miss;
		if (!isnan(o->focal_gamma))
			out->foc[c] = tp * pow(eps, o->focal_gamma) * l_hit + fn * pow(1.0 - eps, o->focal_gamma) * l_miss;
	}
	for (int c = 0; c < classes; c++) {
		double col = out->p1[c];
		out->lsum[c] = o->want_lsum ? col * l_hit + (out->n - col) * l_miss : 0.0;
	}
	return SEG_OK;
}

/* Pixels [a, e) into out, block by block; b is the caller's scratch. */
static void sums_range(block *b, const seg_scores *s, const uint16_t *t, const mcl_opts *o, size_t a, size_t e,
		       mcl_sums *out)
{
	int C = s->classes;
	size_t n = (size_t)s->width * (size_t)s->height;

	for (size_t i0 = a; i0 < e; i0 += BLK) {
		const uint16_t *tb = t + i0;
		int masked = 0;
		uint32_t valid = 0;
		b->m = e - i0 < BLK ? e - i0 : BLK;
		for (size_t k = 0; k < b->m; k++) {
			b->vm[k] = tb[k] != SEG_IGNORE;
			masked |= tb[k] == SEG_IGNORE;
			valid += tb[k] != SEG_IGNORE;
		}
		out->n += (double)valid; /* a whole number: the same total as adding each pixel's 1 */
		if (s->logits)
			block_lse(b, s->v + i0, n, C);
		for (int c = 0; c < C; c++) {
			double acc[4];
			block_class(b, s->v + (size_t)c * n + i0, s->logits, masked, o, acc);
			out->p1[c] += acc[0];
			out->p2[c] += acc[1];
			out->pg[c] += acc[2];
			out->lsum[c] += acc[3];
		}
		block_gather(b, s->v + i0, n, tb, s->logits);
		block_target(b, tb, s->logits, o, out);
	}
}

/*
 * The pass in chunks: each chunk's sums start from zero in a row of part
 * (8 C + 1 doubles, the last one its count of valid pixels), and the rows
 * are added in chunk order at the end. The chunks follow from the input
 * alone (CHUNK pixels, more when the rows would pass PART_MAX doubles),
 * never from the threads, so the sums are the same with or without a
 * seg_par; tasks take runs of chunks.
 */
#define CHUNK (64 * BLK)
#define PART_MAX ((size_t)1 << 20)

typedef struct sums_job {
	const seg_scores *s;
	const uint16_t *t;
	const mcl_opts *o;
	size_t n, chunk, chunks, tasks, row;
	double *part;
	int failed;
} sums_job;

static void sums_task(void *arg, size_t k)
{
	sums_job *j = arg;
	size_t c0 = j->chunks * k / j->tasks, c1 = j->chunks * (k + 1) / j->tasks;
	block *b;

	if (c0 == c1)
		return;
	b = malloc(sizeof(*b));
	if (b == NULL) {
		j->failed = 1;
		return;
	}
	for (size_t ch = c0; ch < c1; ch++) {
		double *row = j->part + ch * j->row;
		size_t a = ch * j->chunk, e = a + j->chunk < j->n ? a + j->chunk : j->n;
		mcl_sums v;
		sums_view(row, j->s->classes, &v);
		v.n = 0.0;
		sums_range(b, j->s, j->t, j->o, a, e, &v);
		row[j->row - 1] = v.n;
	}
	free(b);
}

seg_status mcl_sums_compute(const seg_scores *s, const uint16_t *t, const mcl_opts *o, const seg_par *par,
			    mcl_sums *out, seg_error *err)
{
	int C = s->classes;
	sums_job j = {.s = s, .t = t, .o = o, .row = (size_t)C * 8 + 1};
	seg_status st;

	j.n = (size_t)s->width * (size_t)s->height;
	j.chunk = CHUNK;
	if ((j.n + j.chunk - 1) / j.chunk * j.row > PART_MAX) {
		size_t most = PART_MAX / j.row > 0 ? PART_MAX / j.row : 1; /* chunks that fit */
		j.chunk = ((j.n + most - 1) / most + BLK - 1) / BLK * BLK;
	}
	j.chunks = j.n ? (j.n + j.chunk - 1) / j.chunk : 0;
	st = sums_alloc(out, C, err);
	if (st != SEG_OK)
		return st;
	j.part = calloc(j.chunks ? j.chunks * j.row : 1, sizeof(double));
	if (j.part == NULL) {
		mcl_sums_release(out);
		return seg_fail(err, SEG_ENOMEM, "out of memory for the sums of %zu chunks", j.chunks);
	}
	j.tasks = seg_par_tasks(par, j.chunks);
	seg_par_for(par, j.chunks ? j.tasks : 0, sums_task, &j);
	if (j.failed) {
		free(j.part);
		mcl_sums_release(out);
		return seg_fail(err, SEG_ENOMEM, "out of memory");
	}
	for (size_t ch = 0; ch < j.chunks; ch++) {
		const double *row = j.part + ch * j.row;
		/* out's 8 C doubles are one array from out->g on (sums_alloc). */
		for (size_t k = 0; k + 1 < j.row; k++)
			out->g[k] += row[k];
		out->n += row[j.row - 1];
	}
	free(j.part);
	return SEG_OK;
}

double mcl_cross_entropy(const mcl_sums *s, const double *w, double smoothing)
{
	double nll = 0.0, ls = 0.0, den = 0.0;

	for (int c = 0; c < s->classes; c++) {
		double wc = w ? w[c] : 1.0;
		nll += wc * s->nll[c];
		ls += wc * s->lsum[c];
		den += wc * s->g[c];
	}
	if (den == 0.0)
		return NAN;
	if (smoothing == 0.0)
		return nll / den;
	return ((1.0 - smoothing) * nll + smoothing / (double)s->classes * ls) / den;
}

double mcl_focal(const mcl_sums *s, const double *w)
{
	double sum = 0.0;

	if (s->n == 0.0)
		return NAN;
	for (int c = 0; c < s->classes; c++)
		sum += (w ? w[c] : 1.0) * s->foc[c];
	return sum / s->n;
}

/* 1 − num/den, with 0/0 read as a perfect score. */
static double one_minus(double num, double den)
{
	if (den == 0.0)
		return num == 0.0 ? 0.0 : NAN;
	return 1.0 - num / den;
}

double mcl_region_score(double in, double g, double p, double pp, const mcl_region_opts *o)
{
	double num, den;

	switch (o->kind) {
	case MCL_DICE:
		num = 2.0 * in + o->s_nr;
		den = pp + g + o->s_dr;
		break;
	case MCL_JACCARD:
		num = in + o->s_nr;
		den = p + g - in + o->s_dr;
		break;
	case MCL_TVERSKY:
	default:
		num = in + o->s_nr;
		den = in + o->alpha * (p - in) + o->beta * (g - in) + o->s_dr;
		break;
	}
	den += o->den_eps;
	if (den < o->den_floor)
		den = o->den_floor;
	return one_minus(num, den);
}

void mcl_region_per_class(const mcl_sums *s, mcl_region kind, mcl_pow pw, double s_nr, double s_dr, double alpha,
			  double beta, double *out)
{
	mcl_region_opts o = {kind, s_nr, s_dr, alpha, beta, 0.0, 0.0};

	for (int c = 0; c < s->classes; c++) {
		double pp = pw == MCL_POW1 ? s->p1[c] : pw == MCL_POW2 ? s->p2[c] : s->pg[c];
		out[c] = mcl_region_score(s->i[c], s->g[c], s->p1[c], pp, &o);
	}
}

double mcl_class_mean(const double *v, const uint8_t *include, const double *w, int classes)
{
	double num = 0.0, den = 0.0;

	for (int c = 0; c < classes; c++) {
		if ((include && !include[c]) || !isfinite(v[c]))
			continue;
		double wc = w ? w[c] : 1.0;
		num += wc * v[c];
		den += wc;
	}
	return den > 0.0 ? num / den : NAN;
}

double mcl_generalized_dice(const mcl_sums *s, const uint8_t *include, double smooth)
{
	double wmax = 0.0, num = 0.0, den = 0.0;

	for (int c = 0; c < s->classes; c++) {
		if ((include == NULL || include[c]) && s->g[c] > 0.0) {
			double wc = 1.0 / (s->g[c] * s->g[c]);
			wmax = wc > wmax ? wc : wmax;
		}
	}
	for (int c = 0; c < s->classes; c++) {
		if (include && !include[c])
			continue;
		double wc = s->g[c] > 0.0 ? 1.0 / (s->g[c] * s->g[c]) : wmax;
		num += wc * s->i[c];
		den += wc * (s->p1[c] + s->g[c]);
	}
	return one_minus(2.0 * num + smooth, den + smooth);
}

/* Sorts a[0..m) ascending on the bits below bit 21, through tmp: two LSD passes of 11 and 10 bits. */
static void sort_low21(uint32_t *a, uint32_t *tmp, size_t m)
{
	size_t lo[2048], hi[1024], sum;

	if (m <= 32) {
		for (size_t i = 1; i < m; i++) {
			uint32_t k = a[i];
			size_t j = i;
			for (; j > 0 && a[j - 1] > k; j--)
				a[j] = a[j - 1];
			a[j] = k;
		}
		return;
	}
	memset(lo, 0, sizeof(lo));
	memset(hi, 0, sizeof(hi));
	for (size_t i = 0; i < m; i++) {
		lo[a[i] & 2047]++;
		hi[(a[i] >> 11) & 1023]++;
	}
	sum = 0;
	for (size_t d = 0; d < 2048; d++) {
		size_t c = lo[d];
		lo[d] = sum;
		sum += c;
	}
	for (size_t i = 0; i < m; i++)
		tmp[lo[a[i] & 2047]++] = a[i];
	sum = 0;
	for (size_t d = 0; d < 1024; d++) {
		size_t c = hi[d];
		hi[d] = sum;
		sum += c;
	}
	for (size_t i = 0; i < m; i++)
		a[hi[(tmp[i] >> 11) & 1023]++] = tmp[i];
}

/*
 * Sorts n 32-bit keys ascending; returns the buffer (key or k2) that holds
 * them. One pass spreads the keys into 2048 buckets by their top 11 bits
 * (for a float: sign, exponent and two bits of mantissa), then each
 * bucket, small enough to stay in the core's cache, is sorted on its own
 * on the low 21 bits: one pass over memory rather than three.
 */
static uint32_t *radix_sort32(uint32_t *key, uint32_t *k2, size_t n)
{
	size_t start[2049], at[2048], sum = 0;

	memset(at, 0, sizeof(at));
	for (size_t i = 0; i < n; i++)
		at[key[i] >> 21]++;
	for (size_t d = 0; d < 2048; d++) {
		start[d] = sum;
		sum += at[d];
		at[d] = start[d];
	}
	start[2048] = n;
	for (size_t i = 0; i < n; i++)
		k2[at[key[i] >> 21]++] = key[i];
	for (size_t d = 0; d < 2048; d++)
		if (start[d + 1] - start[d] > 1)
			sort_low21(k2 + start[d], key + start[d], start[d + 1] - start[d]);
	return k2;
}

/*
 * One class's Lovász hinge from probabilities in [0, 1] (float32): the
 * errors are p at background pixels and 1 − p at the class's own, so the
 * descending order of errors is the background's p descending merged with
 * the foreground's p ascending. Each side is sorted on the float's bit
 * pattern (non-negative floats order as their bits, −0 made +0 first):
 * half the passes over half the bytes of a sort of the double errors.
 * The merge compares the errors in double, where 1 − p is exact. Pixels
 * of equal error may come in another order than a sort of the errors
 * would give; the loss is the same sum (the Jaccard steps across a tie
 * telescope), up to rounding. Returns 0 when a value is outside [0, 1]
 * (the caller then sorts the double errors).
 */
static int lovasz_class_prob(const float *v, const uint16_t *t, size_t n, int c, double gts, uint32_t *fk,
			     uint32_t *bk, uint32_t *tmp, double *loss_out)
{
	size_t nf = 0, nb = 0;

	for (size_t i = 0; i < n; i++) {
		if (t[i] == SEG_IGNORE)
			continue;
		float p = v[i] + 0.0f; /* + 0.0f: no negative zero */
		uint32_t bits;
		if (!(p >= 0.0f && p <= 1.0f))
			return 0;
		memcpy(&bits, &p, sizeof(bits));
		if (t[i] == c)
			fk[nf++] = bits;
		else
			bk[nb++] = bits;
	}
	const uint32_t *f = radix_sort32(fk, tmp, nf);
	const uint32_t *b = radix_sort32(bk, f == fk ? tmp : fk, nb);
	size_t i = 0, j = nb;
	double cum_fg = 0.0, cum_bg = 0.0, prev = 0.0, loss = 0.0;

	while (i < nf || j > 0) {
		float pf, pb;
		double ef = -1.0, eb = -1.0, e; /* −1: that side is exhausted */
		if (i < nf) {
			memcpy(&pf, &f[i], sizeof(pf));
			ef = 1.0 - (double)pf;
		}
		if (j > 0) {
			memcpy(&pb, &b[j - 1], sizeof(pb));
			eb = (double)pb;
		}
		if (ef >= eb) {
			e = ef;
			cum_fg += 1.0;
			i++;
		} else {
			e = eb;
			cum_bg += 1.0;
			j--;
		}
		double jac = 1.0 - (gts - cum_fg) / (gts + cum_bg);
		loss += e * (jac - prev);
		prev = jac;
	}
	*loss_out = loss;
	return 1;
}

/* Stable LSD radix sort of n keys (and their flags) ascending: six passes of 11 bits. */
static void radix_sort(uint64_t *key, uint8_t *flag, uint64_t *k2, uint8_t *f2, size_t n)
{
	size_t count[2048];

	for (int pass = 0; pass < 6; pass++) {
		int shift = pass * 11;
		size_t sum = 0;
		memset(count, 0, sizeof(count));
		for (size_t i = 0; i < n; i++)
			count[(key[i] >> shift) & 2047]++;
		for (size_t d = 0; d < 2048; d++) {
			size_t c = count[d];
			count[d] = sum;
			sum += c;
		}
		for (size_t i = 0; i < n; i++) {
			size_t at = count[(key[i] >> shift) & 2047]++;
			k2[at] = key[i];
			f2[at] = flag[i];
		}
		uint64_t *tk = key;
		uint8_t *tf = flag;
		key = k2;
		flag = f2;
		k2 = tk;
		f2 = tf;
	}
	/* An even number of passes: the sorted data is back in the caller's first buffers. */
}

/* One class's Lovász hinge from the double errors (logits, or a value outside [0, 1]). */
static double lovasz_class_sorted(const seg_scores *s, const uint16_t *t, const double *lse, int c, double gts,
				  uint64_t *key, uint8_t *flag, uint64_t *k2, uint8_t *f2, size_t nv)
{
	size_t n = (size_t)s->width * (size_t)s->height, j = 0;
	const float *v = s->v + (size_t)c * n;

	for (size_t i = 0; i < n; i++) {
		if (t[i] == SEG_IGNORE)
			continue;
		double p = s->logits ? exp((double)v[i] - lse[i]) : (double)v[i];
		uint8_t fg = t[i] == c;
		double e = fabs((double)fg - p) + 0.0; /* + 0.0: no negative zero among the keys */
		memcpy(&key[j], &e, sizeof(e));
		flag[j++] = fg;
	}
	/* Non-negative doubles order as their bit patterns do. */
	radix_sort(key, flag, k2, f2, nv);
	/* Descending errors: walk the ascending order backwards. */
	double cum_fg = 0.0, cum_bg = 0.0, prev = 0.0, loss = 0.0;
	for (size_t r = nv; r-- > 0;) {
		double e;
		memcpy(&e, &key[r], sizeof(e));
		cum_fg += flag[r];
		cum_bg += 1 - flag[r];
		double jac = 1.0 - (gts - cum_fg) / (gts + cum_bg);
		loss += e * (jac - prev);
		prev = jac;
	}
	return loss;
}

seg_status mcl_lovasz(const seg_scores *s, const uint16_t *t, const uint8_t *include, double *per, seg_error *err)
{
	size_t n = (size_t)s->width * (size_t)s->height, nv = 0, cap;
	int C = s->classes;
	uint64_t *key = NULL, *k2 = NULL;
	uint8_t *flag = NULL, *f2 = NULL;
	uint32_t *fk = NULL, *bk = NULL, *tmp = NULL;
	double *lse = NULL, *gsum = NULL;
	seg_status st = SEG_OK;

	for (int c = 0; c < C; c++)
		per[c] = NAN;
	for (size_t i = 0; i < n; i++)
		nv += t[i] != SEG_IGNORE;
	cap = nv ? nv : 1;
	gsum = calloc((size_t)C, sizeof(*gsum));
	if (s->logits) {
		lse = malloc(n * sizeof(*lse));
	} else {
		fk = malloc(cap * sizeof(*fk));
		bk = malloc(cap * sizeof(*bk));
		tmp = malloc(cap * sizeof(*tmp));
	}
	if (gsum == NULL || (s->logits && lse == NULL) || (!s->logits && (fk == NULL || bk == NULL || tmp == NULL))) {
		st = seg_fail(err, SEG_ENOMEM, "lovasz_softmax: out of memory");
		goto out;
	}
	for (size_t i = 0; i < n; i++)
		if (t[i] != SEG_IGNORE)
			gsum[t[i]] += 1.0;
	if (s->logits) {
		block b;
		for (size_t i0 = 0; i0 < n; i0 += BLK) {
			b.m = n - i0 < BLK ? n - i0 : BLK;
			block_lse(&b, s->v + i0, n, C);
			memcpy(lse + i0, b.lse, b.m * sizeof(double));
		}
	}
	for (int c = 0; c < C; c++) {
		if ((include && !include[c]) || gsum[c] == 0.0)
			continue;
		if (!s->logits &&
		    lovasz_class_prob(s->v + (size_t)c * n, t, n, c, gsum[c], fk, bk, tmp, &per[c]))
			continue;
		if (key == NULL) {
			key = malloc(cap * sizeof(*key));
			k2 = malloc(cap * sizeof(*k2));
			flag = malloc(cap);
			f2 = malloc(cap);
			if (key == NULL || k2 == NULL || flag == NULL || f2 == NULL) {
				st = seg_fail(err, SEG_ENOMEM, "lovasz_softmax: out of memory");
				goto out;
			}
		}
		per[c] = lovasz_class_sorted(s, t, lse, c, gsum[c], key, flag, k2, f2, nv);
	}
out:
	free(gsum);
	free(key);
	free(k2);
	free(flag);
	free(f2);
	free(fk);
	free(bk);
	free(tmp);
	free(lse);
	return st;
}
