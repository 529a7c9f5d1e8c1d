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
 * What a profile changes is read from its conventions (mcconv.h), one
 * entry per function: the per-class values and averages of metrics
 * (mcmetric.c), the form of each loss. A loss whose library definition
 * the fused sums cannot express (Keras' renormalised probabilities,
 * sigmoid focal losses, mmseg's Dice over every pixel) gets its own pass
 * (mcpass.c). Every class gets a per-class value; the include_background
 * convention of each function decides which classes its average and its
 * class mean read.
 *
 * A value that is null, or the library's NaN or inf (null in JSON), is
 * explained by one warning per spec, kind and reason, naming the classes.
 */
#include "core/mceval.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/mclass.h"
#include "core/mcloss.h"
#include "core/mcmetric.h"
#include "core/mcpass.h"

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
	double valid; /* valid pixels */
	plan plans[PLAN_MAX];
	int nplans;
	surf_entry surf[SURF_MAX];
	int nsurf;
	mc_box *box;
	uint8_t *scratch;
	metric_counts *counts; /* classes: one-vs-rest counts of the hard prediction */
	metric_counts *ties;   /* classes: counts with every tied maximum predicted (Keras F1), made when needed */
	uint8_t *inc;          /* classes: the classes the current spec averages over */
	double *per;           /* classes: a loss's per-class values */
	mcm_value *vals;       /* classes: a metric's per-class values */
} ctx;

/* ---- warnings: the classes a spec's value is null for, by kind and reason ---- */

typedef struct nulls {
	char list[EVAL_WARN_LEN];
	int count;
} nulls;

enum { KIND_NULL, KIND_NAN, KIND_INF, KIND_COUNT };

static const char *const kind_name[KIND_COUNT] = {"null", "nan", "inf"};

static const char *const why_text[MCM_WHY_COUNT] = {
	"undefined", "absent from both target and prediction", "absent from the target", "absent from the prediction",
	"0/0",
};

static void nulls_add(nulls *z, const ctx *c, int k)
{
	size_t used = strlen(z->list);

	z->count++;
	if (z->count <= 6)
		snprintf(z->list + used, sizeof(z->list) - used, "%s'%s'", used ? ", " : "", c->o->names[k]);
	else if (z->count == 7)
		snprintf(z->list + used, sizeof(z->list) - used, ", ...");
}

static const char *profile_name(const ctx *c)
{
	return c->conv->name ? c->conv->name : "segloss";
}

static void nulls_warn(const nulls *z, ctx *c, const spec *sp, int kind, int why)
{
	if (z->count == 0)
		return;
	if (kind == KIND_NULL)
		eval_warn(&c->r->warn, "metric '%s' is null for %d class%s (%s): %s%s", sp->key, z->count,
			  z->count == 1 ? "" : "es", z->list, why_text[why],
			  why == MCM_WHY_ZERO ? "; set zero_division to choose a value" : "");
	else
		eval_warn(&c->r->warn, "metric '%s' is %s for %d class%s (%s), reported as null: %s (profile '%s')", sp->key,
			  kind_name[kind], z->count, z->count == 1 ? "" : "es", z->list, why_text[why], profile_name(c));
}

/* The classes a function averages over: all but the background unless it is included. */
static void resolve_include(ctx *c, int no_background, uint8_t *inc)
{
	int want = c->o->include_background >= 0 ? c->o->include_background : !no_background;

	for (int k = 0; k < c->C; k++)
		inc[k] = (uint8_t)(k != c->o->background || want);
}

/* ---- losses ---- */

/* 1 when the loss reads the fused sums (the others have passes of their own). */
static int reads_sums(const mce_lconv *lc, spec_fn fn)
{
	switch (fn) {
	case FN_LOVASZ_SOFTMAX:
		return 0;
	case FN_CROSS_ENTROPY:
		return lc->form != MCE_LF_CE_KERAS;
	case FN_FOCAL:
		return lc->form == MCE_LF_SEGLOSS;
	case FN_DICE_LOSS:
		return lc->form != MCE_LF_DICE_SIGMOID_POOLED;
	default:
		return 1;
	}
}

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
		st = c->soft ? mcl_sums_compute(c->soft, c->t->cls, &p->o, c->par, &p->sums, c->err)
			     : mcl_sums_from_confusion(c->r->confusion, c->C, &p->o, &p->sums, c->err);
		if (st != SEG_OK)
			return st;
		p->used = 1;
	}
	return SEG_OK;
}

static mcp_src source(const ctx *c)
{
	mcp_src s = {c->soft, c->hard, c->t->width, c->t->height, c->C};
	return s;
}

static double weight(const ctx *c, int k)
{
	return c->o->class_weights ? c->o->class_weights[k] : 1.0;
}

/* The class mean of a loss: Σ w v / Σ w (segloss), or Σ w v / n (MONAI, mmseg), over included finite values. */
static double class_mean(const ctx *c, const mce_lconv *lc, const double *per, const uint8_t *inc)
{
	double sum = 0.0;
	int n = 0;

	if (!(lc->flags & MCE_LC_MEAN_OVER_N))
		return mcl_class_mean(per, inc, c->o->class_weights, c->C);
	for (int k = 0; k < c->C; k++) {
		if (!inc[k] || !isfinite(per[k]))
			continue;
		sum += weight(c, k) * per[k];
		n++;
	}
	return n ? sum / n : NAN;
}

static int included_count(const ctx *c)
{
	int n = 0;

	for (int k = 0; k < c->C; k++)
		n += c->inc[k];
	return n;
}

/* dice, jaccard, tversky, focal_tversky, log_cosh_dice from the sums, as the profile's form says. */
static double region_loss(ctx *c, const spec *sp, const mce_lconv *lc, const mcl_sums *s)
{
	const spec_params *par = &sp->par;
	mcl_region_opts ro = {MCL_TVERSKY, par->smooth, par->smooth, par->alpha, par->beta, lc->den_eps, lc->den_floor};
	mcl_pow pw = MCL_POW1;
	int ft = sp->fn == FN_FOCAL_TVERSKY;
	double v;

	if (sp->fn == FN_DICE_LOSS || sp->fn == FN_LOG_COSH_DICE) {
		ro.kind = MCL_DICE;
		pw = par->gamma == 1.0 ? MCL_POW1 : par->gamma == 2.0 ? MCL_POW2 : MCL_POWG;
	} else if (sp->fn == FN_JACCARD) {
		ro.kind = MCL_JACCARD;
	}
	if (lc->flags & MCE_LC_HALF_SMOOTH)
		ro.s_nr = ro.s_dr = par->smooth / 2.0; /* (2I + s)/(2U + s) = (I + s/2)/(U + s/2), exactly */
	if (lc->flags & MCE_LC_ALPHA_ON_FN) {
		ro.alpha = par->beta;
		ro.beta = par->alpha;
	}
	if (lc->flags & MCE_LC_POOLED) {
		double in = 0.0, g = 0.0, p = 0.0, pp = 0.0;
		for (int k = 0; k < c->C; k++) {
			if (!c->inc[k])
				continue;
			in += s->i[k];
			g += s->g[k];
			p += s->p1[k];
			pp += pw == MCL_POW1 ? s->p1[k] : pw == MCL_POW2 ? s->p2[k] : s->pg[k];
		}
		v = mcl_region_score(in, g, p, pp, &ro);
		if (ft)
			v = pow(v > 0.0 ? v : 0.0, par->gamma);
	} else {
		for (int k = 0; k < c->C; k++) {
			double pp = pw == MCL_POW1 ? s->p1[k] : pw == MCL_POW2 ? s->p2[k] : s->pg[k];
			c->per[k] = mcl_region_score(s->i[k], s->g[k], s->p1[k], pp, &ro);
			if ((lc->flags & MCE_LC_ZERO_ABSENT) && s->g[k] == 0.0)
				c->per[k] = 0.0;
			if (ft && !(lc->flags & MCE_LC_POW_AFTER_MEAN))
				c->per[k] = pow(c->per[k] > 0.0 ? c->per[k] : 0.0, par->gamma);
		}
		v = class_mean(c, lc, c->per, c->inc);
		if (ft && (lc->flags & MCE_LC_POW_AFTER_MEAN))
			v = pow(v > 0.0 ? v : 0.0, par->gamma);
	}
	return sp->fn == FN_LOG_COSH_DICE ? log(cosh(v)) : v;
}

static seg_status loss_cross_entropy(ctx *c, const spec *sp, const mce_lconv *lc, const plan *p, double *v)
{
	double eps = sp->par.label_smoothing;

	if (lc->form == MCE_LF_CE_ALL_PIXELS) {
		double nll = 0.0, ls = 0.0;
		for (int k = 0; k < c->C; k++) {
			nll += weight(c, k) * p->sums.nll[k];
			ls += weight(c, k) * p->sums.lsum[k];
		}
		*v = (eps > 0.0 ? (1.0 - eps) * nll + eps / c->C * ls : nll) / (double)c->n;
		return SEG_OK;
	}
	if (lc->form == MCE_LF_CE_KERAS) {
		mcp_src src = source(c);
		mcp_soft_opts so = {NULL, 1, 0, sp->par.eps, 2.0};
		mcp_soft_sums ss;
		double sum = 0.0;
		seg_status st = mcp_softmax(&src, c->t->cls, &so, &ss, c->err);
		if (st != SEG_OK)
			return st;
		for (int k = 0; k < c->C; k++)
			sum += weight(c, k) * ((1.0 - eps) * ss.nll[k] + eps / c->C * ss.tl[k]);
		*v = sum / ss.n;
		mcp_soft_sums_release(&ss);
		return SEG_OK;
	}
	*v = mcl_cross_entropy(&p->sums, c->o->class_weights, eps);
	return SEG_OK;
}

static seg_status loss_focal(ctx *c, const spec *sp, const mce_lconv *lc, const plan *p, double *v)
{
	mcp_src src = source(c);
	const spec_params *par = &sp->par;

	switch (lc->form) {
	case MCE_LF_FOCAL_MONAI:
	case MCE_LF_FOCAL_KERAS: {
		int monai = lc->form == MCE_LF_FOCAL_MONAI;
		mcp_soft_opts so = {monai ? c->inc : NULL, 1, !monai, par->eps, par->gamma};
		mcp_soft_sums ss;
		double sum = 0.0;
		seg_status st = mcp_softmax(&src, c->t->cls, &so, &ss, c->err);
		if (st != SEG_OK)
			return st;
		for (int k = 0; k < c->C; k++)
			sum += weight(c, k) * ss.foc[k];
		*v = monai ? sum / ((double)included_count(c) * ss.n) : par->alpha * sum / ss.n;
		mcp_soft_sums_release(&ss);
		return SEG_OK;
	}
	case MCE_LF_FOCAL_SIGMOID_SUM:
	case MCE_LF_FOCAL_SIGMOID_MEAN: {
		int smp = lc->form == MCE_LF_FOCAL_SIGMOID_SUM;
		double sum = 0.0;
		mcp_sigmoid_focal(&src, c->t->cls, smp ? MCP_SIGMOID_SMP : MCP_SIGMOID_MMSEG, par->gamma, par->alpha, par->eps,
				  c->per);
		for (int k = 0; k < c->C; k++)
			if (c->inc[k])
				sum += (smp ? 1.0 : weight(c, k)) * c->per[k];
		*v = smp ? sum / c->valid : sum / ((double)c->n * included_count(c));
		return SEG_OK;
	}
	default:
		*v = mcl_focal(&p->sums, c->o->class_weights);
		return SEG_OK;
	}
}

/* Lovász-softmax of a hard prediction: the errors are 0 or 1, so each present class scores 1 − IoU. */
static void lovasz_hard(ctx *c, double *per)
{
	for (int k = 0; k < c->C; k++) {
		const metric_counts *m = &c->counts[k];
		per[k] = !c->inc[k] || m->tp + m->fn == 0.0 ? NAN : 1.0 - m->tp / (m->tp + m->fp + m->fn);
	}
}

static seg_status loss_lovasz(ctx *c, const mce_lconv *lc, double *v)
{
	if (c->soft) {
		seg_status st = mcl_lovasz(c->soft, c->t->cls, c->inc, c->per, c->err);
		if (st != SEG_OK)
			return st;
	} else {
		lovasz_hard(c, c->per);
	}
	*v = class_mean(c, lc, c->per, c->inc);
	if (isnan(*v) && (lc->flags & MCE_LC_NONE_ZERO))
		*v = 0.0;
	return SEG_OK;
}

/* A loss's value; *library_nan is set when a NaN is the library's own answer (not segloss's null). */
static seg_status eval_loss(ctx *c, const spec *sp, plan *p, double *v, int *library_nan)
{
	const mce_lconv *lc = mce_loss_conv(c->conv, sp->fn);

	*library_nan = 0;
	resolve_include(c, 0, c->inc);
	if (c->valid == 0.0) {
		/* Every pixel ignored: a mean over nothing. Libraries that divide by every pixel give 0. */
		int ce = sp->fn == FN_CROSS_ENTROPY;
		*v = ce && (lc->form == MCE_LF_CE_ALL_PIXELS || lc->form == MCE_LF_CE_KERAS) ? 0.0 : NAN;
		*library_nan = ce && (lc->flags & MCE_LC_NAN_EMPTY);
		return SEG_OK;
	}
	switch (sp->fn) {
	case FN_CROSS_ENTROPY:
		return loss_cross_entropy(c, sp, lc, p, v);
	case FN_FOCAL:
		return loss_focal(c, sp, lc, p, v);
	case FN_GENERALIZED_DICE:
		*v = mcl_generalized_dice(&p->sums, c->inc, sp->par.smooth);
		return SEG_OK;
	case FN_LOVASZ_SOFTMAX:
		return loss_lovasz(c, lc, v);
	case FN_DICE_LOSS:
		if (lc->form == MCE_LF_DICE_SIGMOID_POOLED) {
			mcp_src src = source(c);
			*v = mcp_sigmoid_dice(&src, c->t->cls, c->inc, lc->den_eps);
			return SEG_OK;
		}
		*v = region_loss(c, sp, lc, &p->sums);
		return SEG_OK;
	case FN_LOG_COSH_DICE:
	case FN_JACCARD:
	case FN_TVERSKY:
	case FN_FOCAL_TVERSKY:
		*v = region_loss(c, sp, lc, &p->sums);
		return SEG_OK;
	default:
		return seg_fail(c->err, SEG_EINVAL, "loss '%s' is for binary requests: it has no multi-class form",
				spec_info_of(sp->fn)->name);
	}
}

/* ---- metrics ---- */

/* Per-class values into per (NAN where null), warnings, and the average into *v. */
static void finish_metric(ctx *c, const spec *sp, const mce_mconv *mc, int is_surface, const metric_counts *counts,
			  double *v, double *per)
{
	mce_average avg = c->o->average >= 0 ? (mce_average)c->o->average : (mce_average)mc->average;
	metric_overlap mo = is_surface ? METRIC_DICE : (metric_overlap)(sp->fn - FN_M_DICE);
	double zd = is_surface ? NAN : sp->par.zero_division;
	nulls groups[KIND_COUNT][MCM_WHY_COUNT];
	int null;

	memset(groups, 0, sizeof(groups));
	for (int k = 0; k < c->C; k++) {
		const mcm_value *x = &c->vals[k];
		per[k] = isfinite(x->v) && !x->null ? x->v : NAN;
		if (isfinite(x->v) && !x->null)
			continue;
		int kind = x->null ? KIND_NULL : isnan(x->v) ? KIND_NAN : KIND_INF;
		nulls_add(&groups[kind][x->why], c, k);
	}
	for (int kind = 0; kind < KIND_COUNT; kind++)
		for (int why = 0; why < MCM_WHY_COUNT; why++)
			nulls_warn(&groups[kind][why], c, sp, kind, why);
	*v = mcm_average(mc, is_surface, mo, avg, c->vals, counts, c->inc, c->C, zd, &null);
	if (avg == MCE_NONE) {
		*v = NAN;
		return;
	}
	if (!isfinite(*v) && !null)
		eval_warn(&c->r->warn, "metric '%s' averages to %s, reported as null (profile '%s')", sp->key,
			  isnan(*v) ? "nan" : "inf", profile_name(c));
	if (!isfinite(*v))
		*v = NAN;
	if (is_surface && (avg == MCE_MICRO || avg == MCE_WEIGHTED))
		eval_warn(&c->r->warn, "metric '%s' is the macro average: surface distances have no pooled or weighted form",
			  sp->key);
}

static void eval_overlap(ctx *c, const spec *sp, double *v, double *per)
{
	const mce_mconv *mc = mce_metric_conv(c->conv, sp->fn);
	metric_overlap mo = (metric_overlap)(sp->fn - FN_M_DICE);
	const metric_counts *counts = c->counts;

	if (mc->ratio == MCE_RATIO_F1_TIES && c->soft)
		counts = c->ties;
	resolve_include(c, mc->no_background, c->inc);
	for (int k = 0; k < c->C; k++)
		c->vals[k] = mcm_overlap(mc, mo, &counts[k], sp->par.zero_division);
	finish_metric(c, sp, mc, 0, counts, v, per);
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
	for (int k = 0; k < c->C && st == SEG_OK; k++)
		st = mc_surface(c->t->cls, c->hard, w, h, k, &c->box[k], spacing, c->scratch, &e->s[k], c->par, c->err);
	*out = e->s;
	return st;
}

/* One class's surface value from its distance lists (both non-empty). */
static seg_status surface_value(const ctx *c, const spec *sp, const mce_mconv *mc, metric_surface *s, double *v)
{
	switch (sp->fn) {
	case FN_M_HAUSDORFF:
		*v = metric_hausdorff(s);
		return SEG_OK;
	case FN_M_HAUSDORFF95:
		if (mc->hd_pooled) {
			double *all = malloc((s->na + s->nb) * sizeof(*all));
			if (all == NULL)
				return seg_fail(c->err, SEG_ENOMEM, "out of memory");
			memcpy(all, s->ab, s->na * sizeof(*all));
			memcpy(all + s->na, s->ba, s->nb * sizeof(*all));
			*v = metric_percentile(all, s->na + s->nb, sp->par.percentile);
			free(all);
			return SEG_OK;
		}
		*v = metric_hausdorff_pct(s, sp->par.percentile);
		return SEG_OK;
	case FN_M_ASSD:
		*v = metric_assd(s);
		return SEG_OK;
	default:
		*v = metric_surface_dice(s, sp->par.tolerance);
		return SEG_OK;
	}
}

/* An empty-mask surface value under rule (mce_undef). */
static mcm_value surface_undefined(int rule, mcm_why why)
{
	mcm_value r = {NAN, 0, (uint8_t)why};

	if (rule == MCE_UNDEF_INF)
		r.v = INFINITY;
	else if (rule == MCE_UNDEF_NULL)
		r.null = 1;
	return r;
}

static seg_status eval_surface(ctx *c, const spec *sp, double *v, double *per)
{
	const mce_mconv *mc = mce_metric_conv(c->conv, sp->fn);
	metric_surface *all = NULL;
	seg_status st = get_surface(c, sp->par.spacing, &all);

	if (st != SEG_OK)
		return st;
	resolve_include(c, mc->no_background, c->inc);
	for (int k = 0; k < c->C && st == SEG_OK; k++) {
		metric_surface *s = &all[k];
		mcm_value x = {0.0, 0, MCM_WHY_NONE};
		if (s->na == 0 && s->nb == 0)
			x = surface_undefined(mc->both_empty, MCM_WHY_ABSENT);
		else if ((s->na == 0 || s->nb == 0) && sp->fn != FN_M_SURFACE_DICE)
			x = surface_undefined(mc->one_empty, s->nb == 0 ? MCM_WHY_NO_TARGET : MCM_WHY_NO_PRED);
		else if (s->na == 0 || s->nb == 0)
			x.v = 0.0; /* surface_dice: nothing of one boundary is near the other */
		else
			st = surface_value(c, sp, mc, s, &x.v);
		c->vals[k] = x;
	}
	if (st == SEG_OK)
		finish_metric(c, sp, mc, 1, c->counts, v, per);
	return st;
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
	free(c->ties);
	free(c->inc);
	free(c->per);
	free(c->vals);
}

/* 1 when some spec's metric counts every class tied at the maximum (Keras' F1). */
static int needs_ties(const ctx *c, const spec *specs, size_t n)
{
	for (size_t i = 0; c->soft && i < n; i++)
		if (specs[i].fn >= FN_M_DICE && specs[i].fn <= FN_M_ACCURACY &&
		    mce_metric_conv(c->conv, specs[i].fn)->ratio == MCE_RATIO_F1_TIES)
			return 1;
	return 0;
}

static void loss_warning(ctx *c, const spec *sp, double v, int library_nan)
{
	const char *why = c->valid == 0.0		   ? "every pixel is ignored"
			  : sp->fn == FN_LOVASZ_SOFTMAX ? "no included class is present in the target"
							: "undefined for this input";

	if (library_nan || isinf(v))
		eval_warn(&c->r->warn, "loss '%s' is %s, reported as null: %s (profile '%s')", sp->key,
			  isinf(v) ? "inf" : "nan", why, profile_name(c));
	else
		eval_warn(&c->r->warn, "loss '%s' is null: %s", sp->key, why);
}

seg_status mce_run(const seg_labels *t, const uint16_t *hard, const seg_scores *soft, const spec *specs, size_t n,
		   const mce_opts *o, mce_result *r, const seg_par *par, seg_error *err)
{
	ctx c;
	seg_status st = SEG_OK;
	plan **which = NULL;
	double correct = 0.0;

	memset(&r->warn, 0, sizeof(r->warn));
	memset(&c, 0, sizeof(c));
	c.t = t;
	c.hard = hard;
	c.soft = soft;
	c.o = o;
	c.conv = mce_conv_of(o->conv);
	c.r = r;
	c.par = par;
	c.err = err;
	c.n = (size_t)t->width * (size_t)t->height;
	c.C = o->classes;
	if (soft && (soft->width != t->width || soft->height != t->height || soft->classes != o->classes))
		return seg_fail(err, SEG_EINVAL, "prediction is %dx%d with %d classes but target is %dx%d with %d",
				soft->width, soft->height, soft->classes, t->width, t->height, o->classes);
	c.counts = malloc((size_t)c.C * sizeof(*c.counts));
	c.inc = malloc((size_t)c.C);
	c.per = malloc((size_t)c.C * sizeof(*c.per));
	c.vals = malloc((size_t)c.C * sizeof(*c.vals));
	which = calloc(n ? n : 1, sizeof(*which));
	if (c.counts == NULL || c.inc == NULL || c.per == NULL || c.vals == NULL || which == NULL) {
		st = seg_fail(err, SEG_ENOMEM, "out of memory");
		goto out;
	}
	mc_confusion(t->cls, hard, c.n, c.C, c.par, r->confusion);
	for (int k = 0; k < c.C; k++) {
		mc_class_counts(r->confusion, c.C, k, &c.counts[k]);
		c.valid += c.counts[k].tp + c.counts[k].fn;
		correct += c.counts[k].tp;
	}
	if (needs_ties(&c, specs, n)) {
		c.ties = malloc((size_t)c.C * sizeof(*c.ties));
		if (c.ties == NULL) {
			st = seg_fail(err, SEG_ENOMEM, "out of memory");
			goto out;
		}
		mc_tie_counts(soft, t->cls, c.ties);
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
		if (info->kind == SPEC_LOSS && reads_sums(mce_loss_conv(c.conv, specs[i].fn), specs[i].fn)) {
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
			int library_nan;
			st = eval_loss(&c, sp, which[i], &r->value[i], &library_nan);
			if (st == SEG_OK && !isfinite(r->value[i])) {
				loss_warning(&c, sp, r->value[i], library_nan);
				r->value[i] = NAN;
			}
		} else if (sp->fn == FN_M_PIXEL_ACCURACY) {
			r->value[i] = c.valid > 0.0 ? correct / c.valid : NAN;
			if (c.valid == 0.0)
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
