/*
 * mceval.c — the multi-class evaluation plan.
 *
 * One confusion matrix serves every overlap metric; one fused pass over
 * the per-class scores (mcloss.c) serves every loss whose needs it can
 * gather at once (the eps of the log terms, the focal γ, one extra
 * power γ, the label-smoothing sums), and a second pass is made only for
 * a spec whose needs conflict; one set of per-class surface distances
 * serves every surface metric of a spacing. Classes are boxed first
 * (mclass.c) so each class's distances cost its own area.
 *
 * Null values are explained by one warning per spec and reason, naming
 * the classes.
 */
#include "core/mceval.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/mclass.h"
#include "core/mcloss.h"

#define PLAN_MAX 8
#define SURF_MAX 8

seg_status mce_result_init(mce_result *r, size_t nspecs, int classes, seg_error *err)
{
	memset(r, 0, sizeof(*r));
	r->classes = classes;
	r->nspecs = nspecs;
	r->value = malloc((nspecs ? nspecs : 1) * sizeof(double));
	r->per_class = malloc((nspecs ? nspecs : 1) * (size_t)classes * sizeof(double));
	r->confusion = calloc((size_t)classes * (size_t)classes, sizeof(int64_t));
	if (r->value == NULL || r->per_class == NULL || r->confusion == NULL) {
		mce_result_release(r);
		return seg_fail(err, SEG_ENOMEM, "out of memory for %d classes' results", classes);
	}
	return SEG_OK;
}

void mce_result_release(mce_result *r)
{
	if (r == NULL)
		return;
	free(r->value);
	free(r->per_class);
	free(r->confusion);
	memset(r, 0, sizeof(*r));
}

/* What one fused pass gathers; NAN where a spec does not care. */
typedef struct plan {
	mcl_opts o;
	int used;
	mcl_sums sums;
} plan;

typedef struct surf_entry {
	double spacing[2];
	metric_surface *s; /* classes */
} surf_entry;

typedef struct ctx {
	const seg_labels *t;
	const uint16_t *hard;
	const seg_scores *soft;
	const mce_opts *o;
	const mce_conv *conv;
	mce_result *r;
	const seg_par *par;
	seg_error *err;
	size_t n;
	int C;
	plan plans[PLAN_MAX];
	int nplans;
	surf_entry surf[SURF_MAX];
	int nsurf;
	mc_box *box;
	uint8_t *scratch;
	metric_counts *counts; /* classes */
	uint8_t *absent;       /* classes: absent from target and prediction */
} ctx;

static const mce_conv segloss_conv = {0, 0, 0, MCE_HD_DIRECTED, MCE_ASSD_POOLED, 0};

/* ---- warnings: the classes a spec's value is null for, by reason ---- */

typedef struct nulls {
	char list[EVAL_WARN_LEN];
	int count;
} nulls;

static void nulls_add(nulls *z, const ctx *c, int k)
{
	size_t used = strlen(z->list);

	z->count++;
	if (z->count <= 6)
		snprintf(z->list + used, sizeof(z->list) - used, "%s'%s'", used ? ", " : "", c->o->names[k]);
	else if (z->count == 7)
		snprintf(z->list + used, sizeof(z->list) - used, ", ...");
}

static void nulls_warn(const nulls *z, ctx *c, const spec *sp, const char *why)
{
	if (z->count == 0)
		return;
	eval_warn(&c->r->warn, "metric '%s' is null for %d class%s (%s): %s", sp->key, z->count,
		  z->count == 1 ? "" : "es", z->list, why);
}

/* ---- losses ---- */

static int uses_log(spec_fn fn)
{
	return fn == FN_CROSS_ENTROPY || fn == FN_FOCAL;
}

static double pow_of(const spec *sp)
{
	if (sp->fn != FN_DICE_LOSS && sp->fn != FN_LOG_COSH_DICE)
		return NAN;
	return sp->par.gamma == 1.0 || sp->par.gamma == 2.0 ? NAN : sp->par.gamma;
}

static int same_or_nan(double a, double b)
{
	return isnan(a) || isnan(b) || a == b;
}

/* The plan a loss spec reads, merged into an existing one when their needs agree. */
static plan *plan_for(ctx *c, const spec *sp)
{
	mcl_opts want = {uses_log(sp->fn) ? sp->par.eps : NAN, sp->fn == FN_FOCAL ? sp->par.gamma : NAN, pow_of(sp),
			 sp->fn == FN_CROSS_ENTROPY && sp->par.label_smoothing > 0.0};

	for (int i = 0; i < c->nplans; i++) {
		mcl_opts *o = &c->plans[i].o;
		if (same_or_nan(o->eps, want.eps) && same_or_nan(o->focal_gamma, want.focal_gamma) &&
		    same_or_nan(o->pow_gamma, want.pow_gamma)) {
			o->eps = isnan(o->eps) ? want.eps : o->eps;
			o->focal_gamma = isnan(o->focal_gamma) ? want.focal_gamma : o->focal_gamma;
			o->pow_gamma = isnan(o->pow_gamma) ? want.pow_gamma : o->pow_gamma;
			o->want_lsum |= want.want_lsum;
			return &c->plans[i];
		}
	}
	if (c->nplans == PLAN_MAX)
		return NULL;
	c->plans[c->nplans].o = want;
	return &c->plans[c->nplans++];
}

static seg_status run_plans(ctx *c)
{
	for (int i = 0; i < c->nplans; i++) {
		plan *p = &c->plans[i];
		seg_status st;
		if (isnan(p->o.eps))
			p->o.eps = 1e-7; /* no log term reads it */
		st = c->soft ? mcl_sums_compute(c->soft, c->t->cls, &p->o, &p->sums, c->err)
			     : mcl_sums_from_confusion(c->r->confusion, c->C, &p->o, &p->sums, c->err);
		if (st != SEG_OK)
			return st;
		p->used = 1;
	}
	return SEG_OK;
}

static seg_status region_loss(ctx *c, const spec *sp, const mcl_sums *s, double *v)
{
	double *per = malloc((size_t)c->C * sizeof(*per));
	const spec_params *par = &sp->par;
	mcl_pow pw = MCL_POW1;

	if (per == NULL)
		return seg_fail(c->err, SEG_ENOMEM, "out of memory");
	switch (sp->fn) {
	case FN_DICE_LOSS:
	case FN_LOG_COSH_DICE:
		pw = par->gamma == 1.0 ? MCL_POW1 : par->gamma == 2.0 ? MCL_POW2 : MCL_POWG;
		mcl_region_per_class(s, MCL_DICE, pw, par->smooth, par->smooth, 0, 0, per);
		break;
	case FN_JACCARD:
		mcl_region_per_class(s, MCL_JACCARD, pw, par->smooth, par->smooth, 0, 0, per);
		break;
	default: /* tversky, focal_tversky */
		mcl_region_per_class(s, MCL_TVERSKY, pw, par->smooth, par->smooth, par->alpha, par->beta, per);
		break;
	}
	for (int k = 0; k < c->C; k++) {
		if (c->conv->region_absent_zero && s->g[k] == 0.0)
			per[k] = 0.0;
		if (sp->fn == FN_FOCAL_TVERSKY)
			per[k] = pow(per[k] > 0.0 ? per[k] : 0.0, par->gamma);
	}
	*v = mcl_class_mean(per, c->o->include, c->o->class_weights, c->C);
	if (sp->fn == FN_LOG_COSH_DICE)
		*v = log(cosh(*v));
	free(per);
	return SEG_OK;
}

/* Lovász-softmax of a hard prediction: the errors are 0 or 1, so each present class scores 1 − IoU. */
static double lovasz_hard(ctx *c)
{
	double sum = 0.0;
	int present = 0;

	for (int k = 0; k < c->C; k++) {
		const metric_counts *m = &c->counts[k];
		if ((c->o->include && !c->o->include[k]) || m->tp + m->fn == 0.0)
			continue;
		sum += 1.0 - m->tp / (m->tp + m->fp + m->fn);
		present++;
	}
	return present ? sum / present : NAN;
}

static seg_status eval_loss(ctx *c, const spec *sp, plan *p, double *v)
{
	const mcl_sums *s = &p->sums;

	switch (sp->fn) {
	case FN_CROSS_ENTROPY:
		*v = mcl_cross_entropy(s, c->o->class_weights, sp->par.label_smoothing);
		return SEG_OK;
	case FN_FOCAL:
		*v = mcl_focal(s, c->o->class_weights);
		return SEG_OK;
	case FN_GENERALIZED_DICE:
		*v = mcl_generalized_dice(s, c->o->include, sp->par.smooth);
		return SEG_OK;
	case FN_LOVASZ_SOFTMAX:
		if (c->soft == NULL) {
			*v = lovasz_hard(c);
			return SEG_OK;
		}
		return mcl_lovasz(c->soft, c->t->cls, c->o->include, v, c->err);
	case FN_DICE_LOSS:
	case FN_LOG_COSH_DICE:
	case FN_JACCARD:
	case FN_TVERSKY:
	case FN_FOCAL_TVERSKY:
		return region_loss(c, sp, s, v);
	default:
		return seg_fail(c->err, SEG_EINVAL, "loss '%s' is for binary requests: it has no multi-class form",
				spec_info_of(sp->fn)->name);
	}
}

/* ---- overlap metrics ---- */

static int included(const ctx *c, int k)
{
	return c->o->include == NULL || c->o->include[k];
}

static int included_surface(const ctx *c, int k)
{
	const uint8_t *inc = c->o->include_surface ? c->o->include_surface : c->o->include;

	return inc == NULL || inc[k];
}

static void eval_overlap(ctx *c, const spec *sp, double *v, double *per)
{
	metric_overlap mo = (metric_overlap)(sp->fn - FN_M_DICE);
	double zd = sp->par.zero_division;
	metric_counts pooled = {0, 0, 0, 0};
	double wsum = 0.0, wden = 0.0, msum = 0.0;
	int mcount = 0;
	nulls absent = {{0}, 0}, empty = {{0}, 0}, zero = {{0}, 0};

	for (int k = 0; k < c->C; k++) {
		const metric_counts *m = &c->counts[k];
		double num, den;
		per[k] = NAN;
		if (!included(c, k))
			continue;
		if (c->absent[k] && !c->conv->absent_scored) {
			nulls_add(&absent, c, k);
			continue;
		}
		if (c->conv->empty_target_null && (mo == METRIC_DICE || mo == METRIC_IOU) && m->tp + m->fn == 0.0) {
			nulls_add(&empty, c, k);
			continue;
		}
		pooled.tp += m->tp;
		pooled.fp += m->fp;
		pooled.fn += m->fn;
		pooled.tn += m->tn;
		metric_ratio(m, mo, &num, &den);
		if (den > 0.0) {
			per[k] = num / den;
		} else {
			per[k] = zd;
			if (isnan(zd))
				nulls_add(&zero, c, k);
		}
		if (!isnan(per[k])) {
			msum += per[k];
			mcount++;
			wsum += (m->tp + m->fn) * per[k];
			wden += m->tp + m->fn;
		}
	}
	nulls_warn(&absent, c, sp, "absent from both target and prediction");
	nulls_warn(&empty, c, sp, "absent from the target");
	nulls_warn(&zero, c, sp, "0/0; set zero_division to choose a value");
	switch (c->o->average) {
	case MCE_MICRO: {
		double num, den;
		metric_ratio(&pooled, mo, &num, &den);
		*v = den > 0.0 ? num / den : zd;
		break;
	}
	case MCE_WEIGHTED:
		*v = wden > 0.0 ? wsum / wden : NAN;
		break;
	case MCE_NONE:
		*v = NAN;
		break;
	default:
		*v = mcount ? msum / mcount : NAN;
		break;
	}
}

/* ---- surface metrics ---- */

static seg_status get_surface(ctx *c, const double spacing[2], metric_surface **out)
{
	seg_status st = SEG_OK;
	int w = c->t->width, h = c->t->height;

	for (int i = 0; i < c->nsurf; i++) {
		if (memcmp(c->surf[i].spacing, spacing, sizeof(c->surf[i].spacing)) == 0) {
			*out = c->surf[i].s;
			return SEG_OK;
		}
	}
	if (c->nsurf == SURF_MAX)
		return seg_fail(c->err, SEG_EINVAL, "too many distinct spacings in one request (max %d)", SURF_MAX);
	if (c->box == NULL) {
		size_t most = 0;
		c->box = malloc((size_t)c->C * sizeof(*c->box));
		if (c->box == NULL)
			return seg_fail(c->err, SEG_ENOMEM, "out of memory");
		mc_boxes(c->t->cls, c->hard, w, h, c->C, c->box);
		for (int k = 0; k < c->C; k++) {
			size_t bw = (size_t)(c->box[k].x1 - c->box[k].x0) + 2, bh = (size_t)(c->box[k].y1 - c->box[k].y0) + 2;
			if (c->box[k].x0 < c->box[k].x1 && bw * bh > most)
				most = bw * bh;
		}
		c->scratch = malloc(2 * (most ? most : 1));
		if (c->scratch == NULL)
			return seg_fail(c->err, SEG_ENOMEM, "out of memory");
	}
	surf_entry *e = &c->surf[c->nsurf];
	e->s = calloc((size_t)c->C, sizeof(*e->s));
	if (e->s == NULL)
		return seg_fail(c->err, SEG_ENOMEM, "out of memory");
	memcpy(e->spacing, spacing, sizeof(e->spacing));
	c->nsurf++;
	for (int k = 0; k < c->C && st == SEG_OK; k++) {
		if (!included_surface(c, k))
			continue;
		st = mc_surface(c->t->cls, c->hard, w, h, k, &c->box[k], spacing, c->scratch, &e->s[k], c->par, c->err);
	}
	*out = e->s;
	return st;
}

static double sum_of(const double *v, size_t n)
{
	double s = 0.0;

	for (size_t i = 0; i < n; i++)
		s += v[i];
	return s;
}

/* One class's surface value from its distance lists (both non-empty). */
static double surface_value(const ctx *c, const spec *sp, metric_surface *s)
{
	switch (sp->fn) {
	case FN_M_HAUSDORFF:
		return metric_hausdorff(s);
	case FN_M_HAUSDORFF95:
		if (c->conv->hd == MCE_HD_POOLED) {
			double *all = malloc((s->na + s->nb) * sizeof(*all));
			double v;
			if (all == NULL)
				return NAN;
			memcpy(all, s->ab, s->na * sizeof(*all));
			memcpy(all + s->na, s->ba, s->nb * sizeof(*all));
			v = metric_percentile(all, s->na + s->nb, sp->par.percentile);
			free(all);
			return v;
		}
		return metric_hausdorff_pct(s, sp->par.percentile);
	case FN_M_ASSD:
		switch (c->conv->assd) {
		case MCE_ASSD_PRED_TO_TARGET:
			return sum_of(s->ab, s->na) / (double)s->na;
		case MCE_ASSD_MEAN_OF_MEANS:
			return 0.5 * (sum_of(s->ab, s->na) / (double)s->na + sum_of(s->ba, s->nb) / (double)s->nb);
		default:
			return metric_assd(s);
		}
	default:
		return metric_surface_dice(s, sp->par.tolerance);
	}
}

static seg_status eval_surface(ctx *c, const spec *sp, double *v, double *per)
{
	metric_surface *all = NULL;
	double msum = 0.0, wsum = 0.0, wden = 0.0;
	int mcount = 0;
	nulls both = {{0}, 0}, one = {{0}, 0};
	seg_status st = get_surface(c, sp->par.spacing, &all);

	if (st != SEG_OK)
		return st;
	for (int k = 0; k < c->C; k++) {
		metric_surface *s = &all[k];
		per[k] = NAN;
		if (!included_surface(c, k))
			continue;
		if (s->na == 0 && s->nb == 0) {
			if (c->conv->surface_empty_zero && sp->fn != FN_M_SURFACE_DICE)
				per[k] = 0.0;
			else
				nulls_add(&both, c, k);
		} else if (s->na == 0 || s->nb == 0) {
			if (sp->fn == FN_M_SURFACE_DICE)
				per[k] = 0.0;
			else
				nulls_add(&one, c, k);
		} else {
			per[k] = surface_value(c, sp, s);
		}
		if (!isnan(per[k])) {
			double sup = c->counts[k].tp + c->counts[k].fn;
			msum += per[k];
			mcount++;
			wsum += sup * per[k];
			wden += sup;
		}
	}
	nulls_warn(&both, c, sp, "absent from both target and prediction");
	nulls_warn(&one, c, sp, "absent from the target or from the prediction");
	if (c->o->average == MCE_NONE)
		*v = NAN;
	else if (c->o->average == MCE_WEIGHTED)
		*v = wden > 0.0 ? wsum / wden : NAN;
	else
		*v = mcount ? msum / mcount : NAN;
	if (c->o->average == MCE_MICRO)
		eval_warn(&c->r->warn, "metric '%s' is the macro average: surface distances have no pooled (micro) form",
			  sp->key);
	return SEG_OK;
}

static void ctx_release(ctx *c)
{
	for (int i = 0; i < c->nplans; i++)
		mcl_sums_release(&c->plans[i].sums);
	for (int i = 0; i < c->nsurf; i++) {
		for (int k = 0; k < c->C; k++)
			metric_surface_release(&c->surf[i].s[k]);
		free(c->surf[i].s);
	}
	free(c->box);
	free(c->scratch);
	free(c->counts);
	free(c->absent);
}

seg_status mce_run(const seg_labels *t, const uint16_t *hard, const seg_scores *soft, const spec *specs, size_t n,
		   const mce_opts *o, mce_result *r, const seg_par *par, seg_error *err)
{
	ctx c;
	seg_status st = SEG_OK;
	plan **which = NULL;
	double valid = 0.0, correct = 0.0;

	memset(&r->warn, 0, sizeof(r->warn));
	memset(&c, 0, sizeof(c));
	c.t = t;
	c.hard = hard;
	c.soft = soft;
	c.o = o;
	c.conv = o->conv ? o->conv : &segloss_conv;
	c.r = r;
	c.par = par;
	c.err = err;
	c.n = (size_t)t->width * (size_t)t->height;
	c.C = o->classes;
	if (soft && (soft->width != t->width || soft->height != t->height || soft->classes != o->classes))
		return seg_fail(err, SEG_EINVAL, "prediction is %dx%d with %d classes but target is %dx%d with %d",
				soft->width, soft->height, soft->classes, t->width, t->height, o->classes);
	c.counts = malloc((size_t)c.C * sizeof(*c.counts));
	c.absent = malloc((size_t)c.C);
	which = calloc(n ? n : 1, sizeof(*which));
	if (c.counts == NULL || c.absent == NULL || which == NULL) {
		st = seg_fail(err, SEG_ENOMEM, "out of memory");
		goto out;
	}
	mc_confusion(t->cls, hard, c.n, c.C, r->confusion);
	for (int k = 0; k < c.C; k++) {
		mc_class_counts(r->confusion, c.C, k, &c.counts[k]);
		c.absent[k] = c.counts[k].tp + c.counts[k].fn == 0.0 && c.counts[k].tp + c.counts[k].fp == 0.0;
		valid += c.counts[k].tp + c.counts[k].fn;
		correct += c.counts[k].tp;
	}
	/* Plan the loss passes first, so that one pass serves as many losses as it can. */
	for (size_t i = 0; i < n; i++) {
		const spec_info *info = spec_info_of(specs[i].fn);
		if (!(info->modes & SPEC_MULTI)) {
			st = seg_fail(err, SEG_EINVAL, "%s '%s' is for binary requests: it has no multi-class form%s",
				      spec_kind_name(info->kind), info->name,
				      info->kind == SPEC_LOSS ? " (use cross_entropy, dice, focal, ...)" : "");
			goto out;
		}
		if (info->kind == SPEC_LOSS && specs[i].fn != FN_LOVASZ_SOFTMAX) {
			which[i] = plan_for(&c, &specs[i]);
			if (which[i] == NULL) {
				st = seg_fail(err, SEG_EINVAL, "too many distinct loss settings in one request (max %d)",
					      PLAN_MAX);
				goto out;
			}
		}
	}
	st = run_plans(&c);
	for (size_t i = 0; i < n && st == SEG_OK; i++) {
		const spec *sp = &specs[i];
		double *per = r->per_class + i * (size_t)c.C;
		spec_kind kind = spec_info_of(sp->fn)->kind;
		r->value[i] = NAN;
		for (int k = 0; k < c.C; k++)
			per[k] = NAN;
		if (kind == SPEC_LOSS) {
			st = eval_loss(&c, sp, which[i], &r->value[i]);
			if (st == SEG_OK && !isfinite(r->value[i])) {
				r->value[i] = NAN;
				eval_warn(&r->warn, "loss '%s' is null: it is undefined for this input (no valid pixel or no class present)",
					  sp->key);
			}
		} else if (sp->fn == FN_M_PIXEL_ACCURACY) {
			r->value[i] = valid > 0.0 ? correct / valid : NAN;
			if (valid == 0.0)
				eval_warn(&r->warn, "metric '%s' is null: every pixel is ignored", sp->key);
		} else if (sp->fn >= FN_M_DICE && sp->fn <= FN_M_ACCURACY) {
			eval_overlap(&c, sp, &r->value[i], per);
		} else {
			st = eval_surface(&c, sp, &r->value[i], per);
		}
	}
out:
	free(which);
	ctx_release(&c);
	return st;
}
