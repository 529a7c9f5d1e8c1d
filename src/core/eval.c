/*
 * eval.c — the evaluation plan: which passes a list of specs needs, and
 * the formulas applied to their results.
 *
 * Specs are computed in order, each through a small cache keyed by the
 * parameters its pass depends on, so "bce, dice, focal, jaccard" costs
 * one pass over the pixels, and several surface metrics at one threshold
 * cost one pair of distance transforms. Caches hold at most one entry per
 * distinct key in the request, and are freed before returning.
 */
#include "core/eval.h"

#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/distloss.h"
#include "core/loss.h"
#include "core/metric.h"
#include "core/pixstats.h"
#include "core/wmap.h"

void eval_warn(eval_warnings *w, const char *fmt, ...)
{
	va_list ap;

	if (w->count >= EVAL_WARN_MAX) {
		w->dropped++;
		return;
	}
	va_start(ap, fmt);
	vsnprintf(w->msg[w->count], EVAL_WARN_LEN, fmt, ap);
	va_end(ap);
	w->count++;
}

#define CACHE_MAX 16

typedef struct ctx {
	const seg_target *t;
	const seg_pred *p;
	size_t n;
	const seg_par *par;
	seg_error *err;
	int nstats;
	double stats_eps[CACHE_MAX];
	pix_stats stats[CACHE_MAX];
	int nconf;
	double conf_thr[CACHE_MAX];
	metric_counts conf[CACHE_MAX];
	int nsurf;
	double surf_key[CACHE_MAX][3];
	metric_surface surf[CACHE_MAX];
	int nwmap;
	wmap_params wmap_key[CACHE_MAX];
	float *wmap[CACHE_MAX];
	uint8_t *pred_mask; /* scratch for thresholded predictions */
	int hist_tried;
	pix_hist hist;      /* of a quantized prediction, when it is one */
} ctx;

/* The prediction's histogram, built on first use; NULL when p is not quantized. */
static const pix_hist *get_hist(ctx *c)
{
	if (!c->hist_tried) {
		c->hist_tried = 1;
		pix_hist_build(c->t->fg, c->p->p, c->n, &c->hist);
	}
	return c->hist.levels ? &c->hist : NULL;
}

static seg_status get_stats(ctx *c, double eps, const pix_stats **out)
{
	for (int i = 0; i < c->nstats; i++) {
		if (c->stats_eps[i] == eps) {
			*out = &c->stats[i];
			return SEG_OK;
		}
	}
	if (c->nstats == CACHE_MAX)
		return seg_fail(c->err, SEG_EINVAL, "too many distinct eps values in one request (max %d)",
				CACHE_MAX);
	int i = c->nstats++;
	c->stats_eps[i] = eps;
	pix_stats_compute(c->t->fg, c->p->p, c->n, get_hist(c), eps, &c->stats[i]);
	*out = &c->stats[i];
	return SEG_OK;
}

static seg_status get_conf(ctx *c, double thr, const metric_counts **out)
{
	for (int i = 0; i < c->nconf; i++) {
		if (c->conf_thr[i] == thr) {
			*out = &c->conf[i];
			return SEG_OK;
		}
	}
	if (c->nconf == CACHE_MAX)
		return seg_fail(c->err, SEG_EINVAL, "too many distinct thresholds in one request (max %d)",
				CACHE_MAX);
	int i = c->nconf++;
	c->conf_thr[i] = thr;
	metric_confusion(c->t->fg, c->p->p, c->n, thr, &c->conf[i]);
	*out = &c->conf[i];
	return SEG_OK;
}

static seg_status threshold_mask(ctx *c, double thr)
{
	if (c->pred_mask == NULL) {
		c->pred_mask = malloc(c->n);
		if (c->pred_mask == NULL)
			return seg_fail(c->err, SEG_ENOMEM, "out of memory");
	}
	float t = (float)thr; /* as metric_confusion */
	for (size_t i = 0; i < c->n; i++)
		c->pred_mask[i] = c->p->p[i] >= t;
	return SEG_OK;
}

static seg_status get_surface(ctx *c, const spec_params *par, metric_surface **out)
{
	double key[3] = {par->threshold, par->spacing[0], par->spacing[1]};
	seg_status st;

	for (int i = 0; i < c->nsurf; i++) {
		if (memcmp(c->surf_key[i], key, sizeof(key)) == 0) {
			*out = &c->surf[i];
			return SEG_OK;
		}
	}
	if (c->nsurf == CACHE_MAX)
		return seg_fail(c->err, SEG_EINVAL,
				"too many distinct threshold/spacing pairs in one request (max %d)", CACHE_MAX);
	st = threshold_mask(c, par->threshold);
	if (st != SEG_OK)
		return st;
	int i = c->nsurf;
	st = metric_surface_compute(c->pred_mask, c->t->fg, c->t->width, c->t->height, par->spacing, &c->surf[i],
				    c->par, c->err);
	if (st != SEG_OK)
		return st;
	memcpy(c->surf_key[i], key, sizeof(key));
	c->nsurf++;
	*out = &c->surf[i];
	return SEG_OK;
}

static seg_status get_wmap(ctx *c, const wmap_params *wp, const float **out)
{
	seg_status st;

	for (int i = 0; i < c->nwmap; i++) {
		if (memcmp(&c->wmap_key[i], wp, sizeof(*wp)) == 0) {
			*out = c->wmap[i];
			return SEG_OK;
		}
	}
	if (c->nwmap == CACHE_MAX)
		return seg_fail(c->err, SEG_EINVAL, "too many distinct weight maps in one request (max %d)",
				CACHE_MAX);
	float *w = malloc(c->n * sizeof(*w));
	if (w == NULL)
		return seg_fail(c->err, SEG_ENOMEM, "weight map: out of memory");
	st = wmap_run(c->t, wp, NULL, c->par, w, NULL, c->err);
	if (st != SEG_OK) {
		free(w);
		return st;
	}
	c->wmap_key[c->nwmap] = *wp;
	c->wmap[c->nwmap++] = w;
	*out = w;
	return SEG_OK;
}

static void ctx_release(ctx *c)
{
	for (int i = 0; i < c->nsurf; i++)
		metric_surface_release(&c->surf[i]);
	for (int i = 0; i < c->nwmap; i++)
		free(c->wmap[i]);
	free(c->pred_mask);
	pix_hist_release(&c->hist);
}

/* Σ p^γ: from the fused sums for γ = 1 and 2, else its own pass. */
static double sum_p_gamma(ctx *c, const pix_stats *s, double gamma)
{
	if (gamma == 1.0)
		return s->tp + s->fp;
	if (gamma == 2.0)
		return s->sp2;
	return pix_pow_sum(c->p->p, c->n, get_hist(c), gamma);
}

static seg_status eval_loss(ctx *c, const spec *sp, double *v)
{
	const spec_params *par = &sp->par;
	const pix_stats *s = NULL;
	seg_status st = SEG_OK;
	double t;

	switch (sp->fn) {
	case FN_HAUSDORFF_DT:
		return dist_hausdorff_dt(c->t->fg, c->p->p, c->t->width, c->t->height, par->alpha, v, c->par, c->err);
	case FN_BOUNDARY:
		return dist_boundary(c->t->fg, c->p->p, c->t->width, c->t->height, v, c->par, c->err);
	case FN_SHAPE_AWARE: {
		const float *w = NULL;
		st = get_wmap(c, &par->wm, &w);
		if (st == SEG_OK)
			*v = pix_weighted_ce(c->t->fg, c->p->p, w, c->n, get_hist(c), par->eps) / (double)c->n;
		return st;
	}
	default:
		break;
	}
	/* Every other loss reads the fused sums; region losses do not clip, so any eps will do. */
	st = get_stats(c, par->eps, &s);
	if (st != SEG_OK)
		return st;
	switch (sp->fn) {
	case FN_BCE:
		*v = loss_bce(s);
		break;
	case FN_WEIGHTED_BCE:
		*v = loss_weighted_bce(s, par->beta);
		break;
	case FN_BALANCED_BCE:
		*v = loss_balanced_bce(s);
		break;
	case FN_FOCAL: {
		double foc[2] = {s->foc_pos, s->foc_neg};
		if (par->gamma != 2.0)
			pix_focal_sums(c->t->fg, c->p->p, c->n, get_hist(c), par->eps, par->gamma, foc);
		*v = loss_focal(s->n, par->alpha, foc);
		break;
	}
	case FN_DICE_LOSS:
		*v = loss_dice(s, sum_p_gamma(c, s, par->gamma), par->smooth);
		break;
	case FN_JACCARD:
		*v = loss_jaccard(s, par->smooth);
		break;
	case FN_TVERSKY:
		*v = loss_tversky(s, par->alpha, par->beta, par->smooth);
		break;
	case FN_FOCAL_TVERSKY:
		t = loss_tversky(s, par->alpha, par->beta, par->smooth);
		*v = pow(t > 0.0 ? t : 0.0, par->gamma);
		break;
	case FN_LOG_COSH_DICE:
		*v = log(cosh(loss_dice(s, sum_p_gamma(c, s, par->gamma), par->smooth)));
		break;
	case FN_SENS_SPEC:
		*v = loss_sens_spec(s, par->w, par->smooth);
		break;
	case FN_COMBO:
		*v = loss_combo(s, par->alpha, par->beta, par->smooth);
		break;
	case FN_EXP_LOG: {
		double xl[2];
		pix_explog_sums(c->t->fg, c->p->p, c->n, get_hist(c), par->eps, par->gamma_cross, xl);
		*v = loss_exp_log(s, xl, par->w_dice, par->w_cross, par->gamma_dice, par->smooth);
		break;
	}
	case FN_GENERALIZED_DICE:
		*v = loss_generalized_dice(s, par->smooth);
		break;
	default:
		return seg_fail(c->err, SEG_EINTERNAL, "'%s' is not a loss", sp->key);
	}
	return SEG_OK;
}

static const char *overlap_cause(spec_fn fn)
{
	switch (fn) {
	case FN_M_PRECISION:
		return "the prediction is empty";
	case FN_M_RECALL:
		return "the target is empty";
	case FN_M_SPECIFICITY:
		return "the target has no background pixels";
	default:
		return "the prediction and the target are both empty";
	}
}

static seg_status eval_metric(ctx *c, const spec *sp, double *v, eval_warnings *warn)
{
	const spec_params *par = &sp->par;
	seg_status st;

	if (sp->fn >= FN_M_DICE && sp->fn <= FN_M_ACCURACY) {
		const metric_counts *cnt = NULL;
		double num, den;
		st = get_conf(c, par->threshold, &cnt);
		if (st != SEG_OK)
			return st;
		metric_ratio(cnt, (metric_overlap)(sp->fn - FN_M_DICE), &num, &den);
		if (den > 0) {
			*v = num / den;
		} else {
			*v = par->zero_division;
			if (isnan(*v))
				eval_warn(warn,
					  "metric '%s' is null: 0/0 because %s (threshold %g); "
					  "set zero_division to choose a value",
					  sp->key, overlap_cause(sp->fn), par->threshold);
		}
		return SEG_OK;
	}

	metric_surface *s = NULL;
	st = get_surface(c, par, &s);
	if (st != SEG_OK)
		return st;
	if (s->na == 0 || s->nb == 0) {
		const char *why = s->na == 0 && s->nb == 0 ? "the prediction and the target are both empty"
			       : s->na == 0	       ? "the prediction is empty"
						       : "the target is empty";
		if (sp->fn == FN_M_SURFACE_DICE && !(s->na == 0 && s->nb == 0)) {
			*v = 0.0;
			return SEG_OK;
		}
		*v = NAN;
		eval_warn(warn, "metric '%s' is null: %s (threshold %g)", sp->key, why, par->threshold);
		return SEG_OK;
	}
	switch (sp->fn) {
	case FN_M_HAUSDORFF:
		*v = metric_hausdorff(s);
		break;
	case FN_M_HAUSDORFF95:
		*v = metric_hausdorff_pct(s, par->percentile);
		break;
	case FN_M_ASSD:
		*v = metric_assd(s);
		break;
	case FN_M_SURFACE_DICE:
		*v = metric_surface_dice(s, par->tolerance);
		break;
	default:
		return seg_fail(c->err, SEG_EINTERNAL, "'%s' is not a metric", sp->key);
	}
	return SEG_OK;
}

static seg_status check_pair(const seg_target *t, const seg_pred *p, seg_error *err)
{
	if (t->width <= 0 || t->height <= 0)
		return seg_fail(err, SEG_EINVAL, "target is empty (%dx%d)", t->width, t->height);
	if (p && (p->width != t->width || p->height != t->height))
		return seg_fail(err, SEG_EINVAL, "prediction is %dx%d but target is %dx%d", p->width, p->height,
				t->width, t->height);
	return SEG_OK;
}

seg_status eval_run(const seg_target *t, const seg_pred *p, const spec *specs, size_t n, double *values,
		    eval_warnings *warn, const seg_par *par, seg_error *err)
{
	ctx c;
	seg_status st;

	memset(warn, 0, sizeof(*warn));
	st = check_pair(t, p, err);
	if (st != SEG_OK)
		return st;
	memset(&c, 0, sizeof(c));
	c.t = t;
	c.p = p;
	c.n = (size_t)t->width * (size_t)t->height;
	c.par = par;
	c.err = err;
	for (size_t i = 0; i < n && st == SEG_OK; i++) {
		const spec *sp = &specs[i];
		const spec_info *info = spec_info_of(sp->fn);
		spec_kind kind = info->kind;
		values[i] = NAN;
		if (!(info->modes & SPEC_BINARY)) {
			st = seg_fail(err, SEG_EINVAL, "%s '%s' is for multi-class requests: give \"classes\"",
				      spec_kind_name(kind), info->name);
		} else if (kind == SPEC_LOSS) {
			st = eval_loss(&c, sp, &values[i]);
			if (st == SEG_OK && !isfinite(values[i])) {
				values[i] = NAN;
				eval_warn(warn, "loss '%s' is null: it is undefined for this input (0/0)", sp->key);
			}
		} else if (kind == SPEC_METRIC) {
			st = eval_metric(&c, sp, &values[i], warn);
		} else {
			st = seg_fail(err, SEG_EINVAL, "'%s' is a map, not a loss or metric", sp->key);
		}
	}
	ctx_release(&c);
	return st;
}

seg_status eval_map(const seg_target *t, const seg_pred *p, const spec *s, float *out,
		    seg_error *err)
{
	size_t n = (size_t)t->width * (size_t)t->height;
	seg_status st = check_pair(t, p, err);

	if (st != SEG_OK)
		return st;
	switch (s->fn) {
	case FN_MAP_WEIGHT:
		return wmap_compute(t, &s->par.wm, out, NULL, err);
	case FN_MAP_BCE:
		if (p == NULL)
			return seg_fail(err, SEG_EINVAL, "map 'bce' needs a prediction");
		pix_bce_map(t->fg, p->p, n, NULL, s->par.eps, out);
		return SEG_OK;
	default:
		return seg_fail(err, SEG_EINVAL, "'%s' is not a map", s->key);
	}
}

seg_status eval_map_classes(const seg_target *t, const seg_pred *p, const spec *s, uint8_t *out, seg_error *err)
{
	size_t n = (size_t)t->width * (size_t)t->height;
	float thr = (float)s->par.threshold; /* compared in float32, as metric_confusion */
	seg_status st = check_pair(t, p, err);

	if (st != SEG_OK)
		return st;
	if (p == NULL)
		return seg_fail(err, SEG_EINVAL, "map '%s' needs a prediction", s->key);
	switch (s->fn) {
	case FN_MAP_MASK:
		for (size_t i = 0; i < n; i++)
			out[i] = p->p[i] >= thr;
		return SEG_OK;
	case FN_MAP_ERRORS:
		/* Predicted a, target b: TN 0, TP 1, FP 2, FN 3. */
		for (size_t i = 0; i < n; i++) {
			uint8_t a = p->p[i] >= thr, b = t->fg[i] != 0;
			out[i] = (uint8_t)(a & b ? 1 : a ? 2 : b ? 3 : 0);
		}
		return SEG_OK;
	default:
		return seg_fail(err, SEG_EINVAL, "'%s' is not a categorical map", s->key);
	}
}
