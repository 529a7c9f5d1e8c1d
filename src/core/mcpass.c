/*
 * mcpass.c — per-pixel loss passes for libraries whose definitions the
 * fused sums cannot express (mcpass.h says which and why).
 *
 * The scores are class-major planes. The softmax pass walks blocks of
 * pixels: the per-pixel normaliser (log-sum-exp of the kept logits, or
 * the sum of the kept probabilities) is made class by class over the
 * block, then each class's plane is read once more for its
 * log-probabilities, so every plane is read in order. The sigmoid passes
 * need nothing across classes and walk one plane at a time. Sums are in
 * double, per block then per class in class order: the result depends
 * on the input alone. These passes run only for the profiles that need
 * them; segloss's own losses use the fused pass of mcloss.c.
 */
#include "core/mcpass.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#define BLK 256

static double clip(double p, double eps)
{
	return p < eps ? eps : (p > 1.0 - eps ? 1.0 - eps : p);
}

/* Score of class c at pixel i: the float, or the one-hot of the label map. */
static double score(const mcp_src *src, size_t n, int c, size_t i)
{
	if (src->s)
		return src->s->v[(size_t)c * n + i];
	return src->hard[i] == c ? 1.0 : 0.0;
}

static int is_logits(const mcp_src *src)
{
	return src->s && src->s->logits;
}

void mcp_soft_sums_release(mcp_soft_sums *s)
{
	if (s == NULL)
		return;
	free(s->g);
	memset(s, 0, sizeof(*s));
}

seg_status mcp_softmax(const mcp_src *src, const uint16_t *t, const mcp_soft_opts *o, mcp_soft_sums *out,
		       seg_error *err)
{
	size_t n = (size_t)src->width * (size_t)src->height;
	int C = src->classes, logits = is_logits(src);
	double norm[BLK], mx[BLK], tl[BLK], ly[BLK];
	double *mem = calloc((size_t)C * 4, sizeof(double));

	memset(out, 0, sizeof(*out));
	if (mem == NULL)
		return seg_fail(err, SEG_ENOMEM, "out of memory for %d classes' sums", C);
	out->classes = C;
	out->g = mem;
	out->nll = mem + C;
	out->foc = mem + 2 * (size_t)C;
	out->tl = mem + 3 * (size_t)C;
	for (size_t i0 = 0; i0 < n; i0 += BLK) {
		size_t m = n - i0 < BLK ? n - i0 : BLK;
		const uint16_t *tb = t + i0;
		/* The normaliser of each pixel over the kept classes. */
		for (size_t k = 0; k < m; k++) {
			mx[k] = -INFINITY;
			norm[k] = 0.0;
			tl[k] = 0.0;
			ly[k] = 0.0;
		}
		if (logits) {
			for (int c = 0; c < C; c++)
				if (o->keep == NULL || o->keep[c])
					for (size_t k = 0; k < m; k++)
						mx[k] = fmax(mx[k], score(src, n, c, i0 + k));
			for (int c = 0; c < C; c++)
				if (o->keep == NULL || o->keep[c])
					for (size_t k = 0; k < m; k++)
						norm[k] += exp(score(src, n, c, i0 + k) - mx[k]);
			for (size_t k = 0; k < m; k++)
				norm[k] = mx[k] + log(norm[k]); /* log-sum-exp */
		} else if (o->renorm) {
			for (int c = 0; c < C; c++)
				if (o->keep == NULL || o->keep[c])
					for (size_t k = 0; k < m; k++)
						norm[k] += score(src, n, c, i0 + k);
		} else {
			for (size_t k = 0; k < m; k++)
				norm[k] = 1.0;
		}
		/* Each kept class's log-probability: summed over classes, and kept for the target class. */
		for (int c = 0; c < C; c++) {
			if (o->keep && !o->keep[c])
				continue;
			for (size_t k = 0; k < m; k++) {
				if (tb[k] == SEG_IGNORE)
					continue;
				double x = score(src, n, c, i0 + k), lp;
				if (logits) {
					lp = x - norm[k];
					if (o->clip_logits)
						lp = log(clip(exp(lp), o->eps));
				} else {
					lp = log(clip(x / norm[k], o->eps));
				}
				tl[k] -= lp;
				if (tb[k] == c)
					ly[k] = lp;
			}
		}
		for (size_t k = 0; k < m; k++) {
			uint16_t y = tb[k];
			if (y == SEG_IGNORE)
				continue;
			out->n += 1.0;
			if (o->keep && !o->keep[y])
				continue;
			double p = exp(ly[k]), f = o->gamma == 2.0 ? (1.0 - p) * (1.0 - p) : pow(1.0 - p, o->gamma);
			out->g[y] += 1.0;
			out->nll[y] -= ly[k];
			out->foc[y] += f * -ly[k];
			out->tl[y] += tl[k];
		}
	}
	return SEG_OK;
}

void mcp_sigmoid_focal(const mcp_src *src, const uint16_t *t, mcp_sigmoid_kind kind, double gamma, double alpha,
		       double eps, double *sum)
{
	size_t n = (size_t)src->width * (size_t)src->height;
	int logits = is_logits(src);

	for (int c = 0; c < src->classes; c++) {
		double acc = 0.0;
		for (size_t i = 0; i < n; i++) {
			if (t[i] == SEG_IGNORE)
				continue;
			double tt = t[i] == c, x = score(src, n, c, i), q, bce;
			if (logits) {
				bce = fmax(x, 0.0) - x * tt + log1p(exp(-fabs(x)));
				q = 1.0 / (1.0 + exp(-x));
			} else {
				q = clip(x, eps);
				bce = -(tt * log(q) + (1.0 - tt) * log(1.0 - q));
			}
			if (kind == MCP_SIGMOID_SMP)
				acc += pow(1.0 - exp(-bce), gamma) * bce;
			else
				acc += bce * (alpha * tt + (1.0 - alpha) * (1.0 - tt)) *
				       pow((1.0 - q) * tt + q * (1.0 - tt), gamma);
		}
		sum[c] = acc;
	}
}

double mcp_sigmoid_dice(const mcp_src *src, const uint16_t *t, const uint8_t *include, double eps)
{
	size_t n = (size_t)src->width * (size_t)src->height;
	int logits = is_logits(src);
	double pg = 0.0, pp = 0.0, gg = 0.0;

	for (int c = 0; c < src->classes; c++) {
		if (include && !include[c])
			continue;
		double a = 0.0, b = 0.0, g = 0.0;
		for (size_t i = 0; i < n; i++) {
			double x = score(src, n, c, i), p = logits ? 1.0 / (1.0 + exp(-x)) : x;
			b += p * p;
			if (t[i] == c) {
				a += p;
				g += 1.0;
			}
		}
		pg += a;
		pp += b;
		gg += g;
	}
	return 1.0 - 2.0 * pg / ((pp + eps) + (gg + eps));
}
