/*
 * spec.c — the catalogue table and the parameter setters.
 *
 * Each function's parameters are a small static array of descriptors
 * (name, type, field offset, default, range). Parameters shared by many
 * functions (eps, smooth, threshold...) are written once as macros, but
 * the defaults that differ by function (alpha is 0.25 for focal, 0.3 for
 * tversky, 0.5 for combo, 2 for hausdorff_dt) are stated where the
 * function is. Setting a parameter looks its descriptor up by name,
 * checks type and range, and stores into spec_params at the offset; so
 * the command line, JSON and the catalogue all go through one table.
 */
#include "core/spec.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define OFF(field) offsetof(spec_params, field)
#define NUM(nm, field, d, lo, hi, fl, doc) \
	{ nm, SPEC_P_NUMBER, OFF(field), d, lo, hi, fl, NULL, doc }
#define BIG 1e6

static const char *const class_choices[] = {"balanced", "none", NULL};
static const char *const inst_choices[] = {"auto", "labels", "components", NULL};
static const char *const conn_choices[] = {"8", "4", NULL};

#define P_EPS NUM("eps", eps, 1e-7, 0, 0.5, SPEC_MIN_OPEN | SPEC_MAX_OPEN, \
		  "log terms use p^ = clip(p, eps, 1 - eps)")
#define P_SMOOTH NUM("smooth", smooth, 1e-6, 0, BIG, 0, "added to numerator and denominator")
#define P_DICE_GAMMA NUM("gamma", gamma, 2, 0, 16, SPEC_MIN_OPEN, \
			 "exponent of p and y in the denominator (2: squared/V-Net form, 1: Sorensen)")
#define P_TV_ALPHA NUM("alpha", alpha, 0.3, 0, BIG, 0, "weight of false positives")
#define P_TV_BETA NUM("beta", beta, 0.7, 0, BIG, 0, "weight of false negatives")
#define P_THRESHOLD NUM("threshold", threshold, 0.5, 0, 1, 0, "prediction is foreground where p >= threshold")
#define P_ZERO_DIV { "zero_division", SPEC_P_NULLABLE, OFF(zero_division), NAN, 0, 1, 0, NULL, \
		     "value returned for 0/0 (default null, with a warning)" }
#define P_SPACING { "spacing", SPEC_P_PAIR, OFF(spacing), 1, 0, BIG, SPEC_MIN_OPEN, NULL, \
		    "pixel size [rows, columns] scaling distances" }
#define P_W0 NUM("w0", wm.w0, 10, 0, BIG, 0, "border term amplitude")
#define P_SIGMA NUM("sigma", wm.sigma, 5, 0, BIG, SPEC_MIN_OPEN, "border term width in pixels")
#define P_CLASSW { "class_weights", SPEC_P_CLASSW, OFF(wm.class_mode), 0, 0, BIG, 0, class_choices, \
		   "balanced (rarer class 1, other n_rare/n_c), none (1), or [bg, fg]" }
#define P_INST { "instances", SPEC_P_CHOICE, OFF(wm.instances), 0, 0, 0, 0, inst_choices, \
		 "labels: each distinct non-zero value; components: connected components; " \
		 "auto: labels when the target has them (more than one distinct non-zero value, or an " \
		 "annotation export's objects), else components" }
#define P_CONN { "connectivity", SPEC_P_INT, OFF(wm.connectivity), 8, 0, 0, 0, conn_choices, \
		 "neighbourhood for connected components" }
#define P_END { NULL, 0, 0, 0, 0, 0, 0, NULL, NULL }

static const spec_param p_eps_only[] = {P_EPS, P_END};
static const spec_param p_wbce[] = {
	NUM("beta", beta, 1, 0, BIG, 0, "weight of the foreground term (>1 penalises false negatives)"),
	P_EPS, P_END};
static const spec_param p_focal[] = {
	NUM("alpha", alpha, 0.25, 0, 1, 0, "weight of the foreground term"),
	NUM("gamma", gamma, 2, 0, 16, 0, "focusing exponent"), P_EPS, P_END};
static const spec_param p_dice[] = {P_SMOOTH, P_DICE_GAMMA, P_END};
static const spec_param p_smooth_only[] = {P_SMOOTH, P_END};
static const spec_param p_tversky[] = {P_TV_ALPHA, P_TV_BETA, P_SMOOTH, P_END};
static const spec_param p_ftversky[] = {
	P_TV_ALPHA, P_TV_BETA, P_SMOOTH,
	NUM("gamma", gamma, 0.75, 0, 16, SPEC_MIN_OPEN, "exponent applied to the Tversky loss"), P_END};
static const spec_param p_senspec[] = {
	NUM("w", w, 0.05, 0, 1, 0, "weight of the sensitivity term"), P_SMOOTH, P_END};
static const spec_param p_combo[] = {
	NUM("alpha", alpha, 0.5, 0, 1, 0, "weight of the cross-entropy term"),
	NUM("beta", beta, 0.5, 0, 1, 0, "cross-entropy class balance"), P_SMOOTH, P_EPS, P_END};
static const spec_param p_explog[] = {
	NUM("w_dice", w_dice, 0.8, 0, BIG, 0, "weight of the Dice term"),
	NUM("w_cross", w_cross, 0.2, 0, BIG, 0, "weight of the cross-entropy term"),
	NUM("gamma_dice", gamma_dice, 0.3, 0, 16, SPEC_MIN_OPEN, "exponent of -ln Dice"),
	NUM("gamma_cross", gamma_cross, 0.3, 0, 16, SPEC_MIN_OPEN, "exponent of -ln p"),
	P_SMOOTH, P_EPS, P_END};
static const spec_param p_hdt[] = {
	NUM("alpha", alpha, 2, 0, 16, SPEC_MIN_OPEN, "exponent of the distance fields"), P_END};
static const spec_param p_none[] = {P_END};
static const spec_param p_shape[] = {P_W0, P_SIGMA, P_CLASSW, P_INST, P_CONN, P_EPS, P_END};
static const spec_param p_overlap[] = {P_THRESHOLD, P_ZERO_DIV, P_END};
static const spec_param p_ce[] = {
	P_EPS, NUM("label_smoothing", label_smoothing, 0, 0, 1, 0,
		   "share of the target spread evenly over the classes (PyTorch's label_smoothing)"),
	P_END};
static const spec_param p_surface[] = {P_THRESHOLD, P_SPACING, P_END};
static const spec_param p_hd95[] = {
	P_THRESHOLD, P_SPACING,
	NUM("percentile", percentile, 95, 0, 100, 0, "percentile of each directed distance list"), P_END};
static const spec_param p_sdice[] = {
	P_THRESHOLD, P_SPACING,
	NUM("tolerance", tolerance, 1, 0, BIG, 0, "distance within which a boundary pixel counts as matched"),
	P_END};
static const spec_param p_map_threshold[] = {P_THRESHOLD, P_END};
static const spec_param p_wmap[] = {P_W0, P_SIGMA, P_CLASSW, P_INST, P_CONN, P_END};

#define CLIP "log terms clip p to [eps, 1-eps]"
#define PER_CLASS "per class, one-vs-rest on the hard prediction; averaged as the request's average says"
#define SURF_EDGE "both masks empty: null with a warning; one empty: null with a warning"

static const spec_info catalogue[FN_COUNT] = {
	[FN_BCE] = {"bce", SPEC_LOSS, "mean -[y ln p + (1-y) ln(1-p)]", CLIP, p_eps_only, SPEC_BINARY, NULL},
	[FN_WEIGHTED_BCE] = {"weighted_bce", SPEC_LOSS, "mean -[beta y ln p + (1-y) ln(1-p)]", CLIP, p_wbce, SPEC_BINARY, NULL},
	[FN_BALANCED_BCE] = {"balanced_bce", SPEC_LOSS,
			     "beta = fraction of negative target pixels; mean -[beta y ln p + (1-beta)(1-y) ln(1-p)]",
			     CLIP, p_eps_only, SPEC_BINARY, NULL},
	[FN_FOCAL] = {"focal", SPEC_LOSS,
		      "mean -[alpha y (1-p)^gamma ln p + (1-alpha)(1-y) p^gamma ln(1-p)]", CLIP, p_focal, SPEC_BOTH, "mean -w_y (1-p_y)^gamma ln p_y, softmax form (class_weights give w; alpha only under the keras and mmseg profiles, whose focal losses have one)"},
	[FN_DICE_LOSS] = {"dice", SPEC_LOSS, "1 - (2 sum(p y) + s) / (sum(p^gamma) + sum(y^gamma) + s)",
			  "both masks empty: 0 (smooth makes it s/s); p is not clipped", p_dice, SPEC_BOTH, "mean_c 1 - (2 sum(P_c G_c) + s) / (sum(P_c^gamma) + sum(G_c) + s)"},
	[FN_JACCARD] = {"jaccard", SPEC_LOSS, "1 - (sum(p y) + s) / (sum(p) + sum(y) - sum(p y) + s)",
			"both masks empty: 0", p_smooth_only, SPEC_BOTH, "mean_c 1 - (sum(P_c G_c) + s) / (sum(P_c) + sum(G_c) - sum(P_c G_c) + s)"},
	[FN_TVERSKY] = {"tversky", SPEC_LOSS, "1 - (TP + s) / (TP + alpha FP + beta FN + s), soft counts",
			"both masks empty: 0", p_tversky, SPEC_BOTH, "mean_c 1 - (TP_c + s) / (TP_c + alpha FP_c + beta FN_c + s), soft counts"},
	[FN_FOCAL_TVERSKY] = {"focal_tversky", SPEC_LOSS, "(tversky loss)^gamma", "both masks empty: 0",
			      p_ftversky, SPEC_BOTH, "mean_c (tversky_c)^gamma"},
	[FN_LOG_COSH_DICE] = {"log_cosh_dice", SPEC_LOSS, "ln cosh(dice loss)", "both masks empty: 0", p_dice, SPEC_BOTH, "ln cosh(multi-class dice loss)"},
	[FN_SENS_SPEC] = {"sensitivity_specificity", SPEC_LOSS,
			  "w sum((y-p)^2 y)/(sum(y) + s) + (1-w) sum((y-p)^2 (1-y))/(sum(1-y) + s)",
			  "an absent class contributes 0 (its sum is 0)", p_senspec, SPEC_BINARY, NULL},
	[FN_COMBO] = {"combo", SPEC_LOSS,
		      "alpha mean(-beta [y ln p + (1-beta)(1-y) ln(1-p)]) - (1-alpha) (2 sum(p y) + s)/(sum(p) + sum(y) + s)",
		      CLIP "; can be negative", p_combo, SPEC_BINARY, NULL},
	[FN_EXP_LOG] = {"exp_log", SPEC_LOSS,
			"w_dice mean_c (-ln Dice_c)^gamma_dice + w_cross mean_x w_l (-ln p_l)^gamma_cross, w_l = (N/n_l)^0.5",
			CLIP "; an absent class adds nothing to the cross term", p_explog, SPEC_BINARY, NULL},
	[FN_GENERALIZED_DICE] = {"generalized_dice", SPEC_LOSS,
				 "1 - (2 sum_c w_c sum(p_c y_c) + s) / (sum_c w_c sum(p_c + y_c) + s), w_c = 1/sum(y_c)^2",
				 "an absent class takes the other class's weight", p_smooth_only, SPEC_BOTH, "1 - (2 sum_c w_c sum(P_c G_c) + s) / (sum_c w_c sum(P_c + G_c) + s), w_c = 1/sum(G_c)^2 (absent: the largest finite weight)"},
	[FN_HAUSDORFF_DT] = {"hausdorff_dt", SPEC_LOSS,
			     "mean (p - y)^2 (d_P^alpha + d_y^alpha), P = (p >= 0.5), d_M = EDT(M) + EDT(not M)",
			     "d_M = 0 when M is empty or full", p_hdt, SPEC_BINARY, NULL},
	[FN_BOUNDARY] = {"boundary", SPEC_LOSS,
			 "mean phi p, phi = EDT(not G)[not G] - (EDT(G) - 1)[G]",
			 "phi = 0 when the target is empty or full", p_none, SPEC_BINARY, NULL},
	[FN_SHAPE_AWARE] = {"shape_aware", SPEC_LOSS,
			    "mean w(x) (-[y ln p + (1-y) ln(1-p)]), w the U-Net weight map of the target",
			    CLIP "; fewer than two instances: no border term", p_shape, SPEC_BINARY, NULL},
	[FN_CROSS_ENTROPY] = {"cross_entropy", SPEC_LOSS,
			      "PyTorch's CrossEntropyLoss: sum_i [(1-ls) w_y (-ln p_y) + ls/C sum_c w_c (-ln p_c)] / sum_i w_y",
			      "multi-class only; logits use the exact log-softmax, probabilities " CLIP "; every pixel ignored: null",
			      p_ce, SPEC_MULTI, NULL},
	[FN_LOVASZ_SOFTMAX] = {"lovasz_softmax", SPEC_LOSS,
			       "mean over classes present in the target of <sort(|G_c - P_c|, desc), Lovasz gradient of the Jaccard loss>",
			       "multi-class only (Berman et al. 2018, classes 'present'); no class present: null", p_none,
			       SPEC_MULTI, NULL},
	[FN_M_DICE] = {"dice", SPEC_METRIC, "2TP / (2TP + FP + FN)", "0/0 gives zero_division (default null, warned)",
		       p_overlap, SPEC_BOTH, PER_CLASS},
	[FN_M_IOU] = {"iou", SPEC_METRIC, "TP / (TP + FP + FN)", "0/0 gives zero_division (default null, warned)",
		      p_overlap, SPEC_BOTH, PER_CLASS},
	[FN_M_PRECISION] = {"precision", SPEC_METRIC, "TP / (TP + FP)",
			    "0/0 gives zero_division (default null, warned)", p_overlap, SPEC_BOTH, PER_CLASS},
	[FN_M_RECALL] = {"recall", SPEC_METRIC, "TP / (TP + FN)", "0/0 gives zero_division (default null, warned)",
			 p_overlap, SPEC_BOTH, PER_CLASS},
	[FN_M_SPECIFICITY] = {"specificity", SPEC_METRIC, "TN / (TN + FP)",
			      "0/0 gives zero_division (default null, warned)", p_overlap, SPEC_BOTH, PER_CLASS},
	[FN_M_ACCURACY] = {"accuracy", SPEC_METRIC, "(TP + TN) / N", "never 0/0", p_overlap, SPEC_BOTH, PER_CLASS},
	[FN_M_HAUSDORFF] = {"hausdorff", SPEC_METRIC, "max(max_a d(a, B), max_b d(b, A)) over boundary pixels",
			    SURF_EDGE, p_surface, SPEC_BOTH, PER_CLASS},
	[FN_M_HAUSDORFF95] = {"hausdorff95", SPEC_METRIC,
			      "max(percentile_q d(A -> B), percentile_q d(B -> A)), linear interpolation",
			      SURF_EDGE, p_hd95, SPEC_BOTH, PER_CLASS},
	[FN_M_ASSD] = {"assd", SPEC_METRIC, "(sum_a d(a, B) + sum_b d(b, A)) / (|A| + |B|)", SURF_EDGE, p_surface, SPEC_BOTH, PER_CLASS},
	[FN_M_SURFACE_DICE] = {"surface_dice", SPEC_METRIC,
			       "(#{a: d(a, B) <= tol} + #{b: d(b, A) <= tol}) / (|A| + |B|)",
			       "both masks empty: null with a warning; one empty: 0", p_sdice, SPEC_BOTH, PER_CLASS},
	[FN_M_PIXEL_ACCURACY] = {"pixel_accuracy", SPEC_METRIC, "sum_c TP_c / N over valid pixels (mmsegmentation's aAcc)",
				 "multi-class only (binary requests: accuracy); every pixel ignored: null", p_none, SPEC_MULTI,
				 NULL},
	[FN_MAP_WEIGHT] = {"weight", SPEC_MAP,
			   "w(x) = w_c(x) + w0 exp(-(d1 + d2)^2 / (2 sigma^2)), border term on background only",
			   "fewer than two instances: w = w_c", p_wmap, SPEC_BOTH, NULL},
	[FN_MAP_BCE] = {"bce", SPEC_MAP, "-[y ln p + (1-y) ln(1-p)] per pixel", CLIP, p_eps_only, SPEC_BINARY, NULL},
	[FN_MAP_MASK] = {"mask", SPEC_MAP, "the hard prediction: 1 where p >= threshold, else 0",
			 "multi-class: each pixel's class id (the label map, or the argmax of the scores)", p_map_threshold,
			 SPEC_BOTH, "each pixel's predicted class id"},
	[FN_MAP_ERRORS] = {"errors", SPEC_MAP,
			   "0 true negative, 1 true positive, 2 false positive, 3 false negative (p >= threshold)",
			   "multi-class: 0 background right, 1 another class right, 2 a class where the target is "
			   "background, 3 a wrong class elsewhere, 4 ignored",
			   p_map_threshold, SPEC_BOTH,
			   "0 background right, 1 class right, 2 predicted on background, 3 wrong class, 4 ignored"},
};

const spec_info *spec_info_of(spec_fn fn)
{
	return (unsigned)fn < FN_COUNT ? &catalogue[fn] : NULL;
}

const char *spec_kind_name(spec_kind kind)
{
	switch (kind) {
	case SPEC_LOSS:
		return "loss";
	case SPEC_METRIC:
		return "metric";
	default:
		return "map";
	}
}

const char *spec_choice_name(const spec_param *p, int index)
{
	if (p->choices == NULL || index < 0)
		return "";
	for (int i = 0; p->choices[i]; i++)
		if (i == index)
			return p->choices[i];
	return "";
}

int spec_edit_distance(const char *a, const char *b)
{
	/* Optimal string alignment: Levenshtein plus adjacent transpositions ("dcie" -> "dice" is 1). */
	enum { CAP = 8, LEN = 64 };
	size_t la = strlen(a), lb = strlen(b);
	int rows[3][LEN + 1];
	int *pp = rows[0], *prev = rows[1], *cur = rows[2];

	if (la > LEN || lb > LEN)
		return CAP;
	for (size_t j = 0; j <= lb; j++)
		prev[j] = (int)j;
	for (size_t i = 1; i <= la; i++) {
		cur[0] = (int)i;
		for (size_t j = 1; j <= lb; j++) {
			int sub = prev[j - 1] + (a[i - 1] != b[j - 1]);
			int del = prev[j] + 1;
			int ins = cur[j - 1] + 1;
			int m = sub < del ? sub : del;
			m = m < ins ? m : ins;
			if (i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1] && pp[j - 2] + 1 < m)
				m = pp[j - 2] + 1;
			cur[j] = m;
		}
		int *t = pp;
		pp = prev;
		prev = cur;
		cur = t;
	}
	return prev[lb] < CAP ? prev[lb] : CAP;
}

static void set_defaults(spec *s)
{
	const spec_param *p;

	memset(&s->par, 0, sizeof(s->par));
	s->set = 0;
	wmap_params_default(&s->par.wm);
	s->par.zero_division = NAN;
	s->par.spacing[0] = s->par.spacing[1] = 1.0;
	for (p = spec_info_of(s->fn)->params; p->name; p++) {
		char *field = (char *)&s->par + p->offset;
		switch (p->type) {
		case SPEC_P_NUMBER:
		case SPEC_P_NULLABLE:
			memcpy(field, &p->def, sizeof(double));
			break;
		case SPEC_P_PAIR: {
			double pair[2] = {p->def, p->def};
			memcpy(field, pair, sizeof(pair));
			break;
		}
		default:
			break; /* choices: wmap_params_default above holds their defaults */
		}
	}
}

seg_status spec_init(spec *s, spec_kind kind, const char *name, seg_error *err)
{
	const char *best = NULL;
	int best_d = 3;

	for (int fn = 0; fn < FN_COUNT; fn++) {
		const spec_info *info = &catalogue[fn];
		if (info->kind != kind)
			continue;
		if (strcmp(info->name, name) == 0) {
			s->fn = (spec_fn)fn;
			snprintf(s->key, sizeof(s->key), "%s", info->name);
			set_defaults(s);
			return SEG_OK;
		}
		int d = spec_edit_distance(name, info->name);
		if (d < best_d) {
			best_d = d;
			best = info->name;
		}
	}
	if (best)
		return seg_fail(err, SEG_EINVAL, "unknown %s '%.64s' (did you mean '%s'?)",
				spec_kind_name(kind), name, best);
	for (int fn = 0; fn < FN_COUNT; fn++)
		if (catalogue[fn].kind != kind && strcmp(catalogue[fn].name, name) == 0)
			return seg_fail(err, SEG_EINVAL, "unknown %s '%.64s': it is a %s", spec_kind_name(kind),
					name, spec_kind_name(catalogue[fn].kind));
	return seg_fail(err, SEG_EINVAL, "unknown %s '%.64s'", spec_kind_name(kind), name);
}

seg_status spec_set_alias(spec *s, const char *alias, seg_error *err)
{
	size_t n = strlen(alias);

	if (n == 0 || n >= SPEC_KEY_MAX)
		return seg_fail(err, SEG_EINVAL, "alias must be 1 to %d characters, got %zu",
				SPEC_KEY_MAX - 1, n);
	for (size_t i = 0; i < n; i++) {
		char c = alias[i];
		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
		      c == '_' || c == '.' || c == '-'))
			return seg_fail(err, SEG_EINVAL,
					"alias '%.64s' may hold only letters, digits, '_', '.' and '-'", alias);
	}
	memcpy(s->key, alias, n + 1);
	return SEG_OK;
}

static const spec_param *find_param(const spec *s, const char *name, seg_error *err)
{
	const spec_info *info = spec_info_of(s->fn);
	const char *best = NULL;
	int best_d = 3;

	for (const spec_param *p = info->params; p->name; p++) {
		if (strcmp(p->name, name) == 0)
			return p;
		int d = spec_edit_distance(name, p->name);
		if (d < best_d) {
			best_d = d;
			best = p->name;
		}
	}
	const char *owner = spec_param_elsewhere(s, name);
	if (owner)
		seg_fail(err, SEG_EINVAL, "%s '%s' takes no parameter '%.64s' (it is %s's)", spec_kind_name(info->kind),
			 info->name, name, owner);
	else if (best)
		seg_fail(err, SEG_EINVAL, "unknown parameter '%.64s' for %s '%s' (did you mean '%s'?)", name,
			 spec_kind_name(info->kind), info->name, best);
	else if (info->params[0].name == NULL)
		seg_fail(err, SEG_EINVAL, "unknown parameter '%.64s': %s '%s' takes no parameters", name,
			 spec_kind_name(info->kind), info->name);
	else
		seg_fail(err, SEG_EINVAL, "unknown parameter '%.64s' for %s '%s'", name,
			 spec_kind_name(info->kind), info->name);
	return NULL;
}

static int in_range(const spec_param *p, double v)
{
	if (!isfinite(v))
		return 0;
	if ((p->flags & SPEC_MIN_OPEN) ? !(v > p->min) : !(v >= p->min))
		return 0;
	if ((p->flags & SPEC_MAX_OPEN) ? !(v < p->max) : !(v <= p->max))
		return 0;
	return 1;
}

static seg_status range_error(const spec *s, const spec_param *p, double v, seg_error *err)
{
	const spec_info *info = spec_info_of(s->fn);

	return seg_fail(err, SEG_EINVAL, "parameter '%s' of %s '%s' must be in %c%g, %g%c, got %g", p->name,
			spec_kind_name(info->kind), info->name, (p->flags & SPEC_MIN_OPEN) ? '(' : '[',
			p->min, p->max, (p->flags & SPEC_MAX_OPEN) ? ')' : ']', v);
}

static seg_status type_error(const spec *s, const spec_param *p, const char *what, seg_error *err)
{
	const spec_info *info = spec_info_of(s->fn);
	const char *want = "a number";

	switch (p->type) {
	case SPEC_P_NULLABLE:
		want = "a number or null";
		break;
	case SPEC_P_CHOICE:
		want = p->offset == OFF(wm.instances) ? "one of auto, labels, components" : "a choice";
		break;
	case SPEC_P_INT:
		want = "4 or 8";
		break;
	case SPEC_P_PAIR:
		want = "a list of two numbers [rows, columns]";
		break;
	case SPEC_P_CLASSW:
		want = "balanced, none or a list [background, foreground]";
		break;
	default:
		break;
	}
	return seg_fail(err, SEG_EINVAL, "parameter '%s' of %s '%s' must be %s, got %s", p->name,
			spec_kind_name(info->kind), info->name, want, what);
}

/* Records that parameter p of s was given explicitly. */
static void mark(spec *s, const spec_param *p)
{
	s->set |= 1u << (unsigned)(p - spec_info_of(s->fn)->params);
}

static void store_double(spec *s, const spec_param *p, double v)
{
	memcpy((char *)&s->par + p->offset, &v, sizeof(v));
	mark(s, p);
}

seg_status spec_set_number(spec *s, const char *name, double v, seg_error *err)
{
	const spec_param *p = find_param(s, name, err);
	char what[64];

	if (p == NULL)
		return SEG_EINVAL;
	switch (p->type) {
	case SPEC_P_NUMBER:
	case SPEC_P_NULLABLE:
		if (!in_range(p, v))
			return range_error(s, p, v, err);
		store_double(s, p, v);
		return SEG_OK;
	case SPEC_P_INT:
		for (int i = 0; p->choices[i]; i++) {
			if (v == atof(p->choices[i])) {
				int iv = (int)v;
				memcpy((char *)&s->par + p->offset, &iv, sizeof(iv));
				mark(s, p);
				return SEG_OK;
			}
		}
		break;
	case SPEC_P_PAIR:
		/* One number for a pair means the same spacing along both axes. */
		return spec_set_pair(s, name, v, v, err);
	default:
		break;
	}
	snprintf(what, sizeof(what), "%g", v);
	return type_error(s, p, what, err);
}

seg_status spec_set_string(spec *s, const char *name, const char *v, seg_error *err)
{
	const spec_param *p = find_param(s, name, err);
	char what[80];

	if (p == NULL)
		return SEG_EINVAL;
	if (p->type == SPEC_P_CHOICE || p->type == SPEC_P_CLASSW) {
		for (int i = 0; p->choices[i]; i++) {
			if (strcmp(p->choices[i], v) == 0) {
				/* CLASSW: index 0 balanced, 1 none match wmap_class_mode. */
				memcpy((char *)&s->par + p->offset, &i, sizeof(i));
				mark(s, p);
				return SEG_OK;
			}
		}
	}
	snprintf(what, sizeof(what), "'%.60s'", v);
	return type_error(s, p, what, err);
}

seg_status spec_set_pair(spec *s, const char *name, double a, double b, seg_error *err)
{
	const spec_param *p = find_param(s, name, err);

	if (p == NULL)
		return SEG_EINVAL;
	if (p->type == SPEC_P_PAIR) {
		if (!in_range(p, a))
			return range_error(s, p, a, err);
		if (!in_range(p, b))
			return range_error(s, p, b, err);
		double pair[2] = {a, b};
		memcpy((char *)&s->par + p->offset, pair, sizeof(pair));
		mark(s, p);
		return SEG_OK;
	}
	if (p->type == SPEC_P_CLASSW) {
		if (!in_range(p, a))
			return range_error(s, p, a, err);
		if (!in_range(p, b))
			return range_error(s, p, b, err);
		s->par.wm.class_mode = WMAP_CLASS_FIXED;
		s->par.wm.class_w[0] = a;
		s->par.wm.class_w[1] = b;
		mark(s, p);
		return SEG_OK;
	}
	return type_error(s, p, "a list", err);
}

seg_status spec_set_null(spec *s, const char *name, seg_error *err)
{
	const spec_param *p = find_param(s, name, err);

	if (p == NULL)
		return SEG_EINVAL;
	if (p->type != SPEC_P_NULLABLE)
		return type_error(s, p, "null", err);
	store_double(s, p, NAN);
	return SEG_OK;
}

/* Parses a whole string as a finite number. */
static int parse_number(const char *text, double *v)
{
	char *end = NULL;

	if (*text == '\0')
		return 0;
	*v = strtod(text, &end);
	return end != text && *end == '\0' && isfinite(*v);
}

seg_status spec_set_text(spec *s, const char *name, const char *text, seg_error *err)
{
	double v, a, b;

	if (strcmp(text, "null") == 0)
		return spec_set_null(s, name, err);
	if (text[0] == '[') {
		char buf[128];
		size_t n = strlen(text);
		char *comma, *end;
		if (n < 2 || n >= sizeof(buf) || text[n - 1] != ']')
			goto bad_list;
		memcpy(buf, text + 1, n - 2);
		buf[n - 2] = '\0';
		comma = strchr(buf, ',');
		if (comma == NULL)
			goto bad_list;
		*comma = '\0';
		a = strtod(buf, &end);
		if (end == buf || *end != '\0')
			goto bad_list;
		b = strtod(comma + 1, &end);
		if (end == comma + 1 || *end != '\0')
			goto bad_list;
		return spec_set_pair(s, name, a, b, err);
bad_list:
		return seg_fail(err, SEG_EINVAL, "parameter '%.64s': '%.64s' is not a list of two numbers [a,b]",
				name, text);
	}
	if (parse_number(text, &v))
		return spec_set_number(s, name, v, err);
	return spec_set_string(s, name, text, err);
}

seg_status spec_parse(const char *text, spec_kind kind, spec *s, seg_error *err)
{
	char buf[512];
	char *colon, *cur;
	size_t n = strlen(text);
	seg_status st;

	if (n == 0)
		return seg_fail(err, SEG_EINVAL, "empty %s name", spec_kind_name(kind));
	if (n >= sizeof(buf))
		return seg_fail(err, SEG_EINVAL, "%s spec is longer than %zu characters", spec_kind_name(kind),
				sizeof(buf) - 1);
	memcpy(buf, text, n + 1);
	colon = strchr(buf, ':');
	if (colon)
		*colon = '\0';
	st = spec_init(s, kind, buf, err);
	if (st != SEG_OK || colon == NULL)
		return st;
	cur = colon + 1;
	while (*cur) {
		/* A parameter runs to the next comma outside brackets. */
		char *end = cur;
		int depth = 0;
		while (*end && (depth > 0 || *end != ',')) {
			if (*end == '[')
				depth++;
			else if (*end == ']')
				depth--;
			end++;
		}
		int last = *end == '\0';
		*end = '\0';
		char *eq = strchr(cur, '=');
		if (eq == NULL || eq == cur)
			return seg_fail(err, SEG_EINVAL, "'%.64s' in %s spec '%.64s' is not key=value", cur,
					spec_kind_name(kind), text);
		*eq = '\0';
		if (strcmp(cur, "as") == 0)
			st = spec_set_alias(s, eq + 1, err);
		else
			st = spec_set_text(s, cur, eq + 1, err);
		if (st != SEG_OK)
			return st;
		if (last)
			break;
		cur = end + 1;
	}
	return SEG_OK;
}

seg_status spec_check_unique(const spec *specs, size_t n, seg_error *err)
{
	for (size_t i = 0; i < n; i++) {
		spec_kind ki = spec_info_of(specs[i].fn)->kind;
		for (size_t j = i + 1; j < n; j++) {
			if (spec_info_of(specs[j].fn)->kind == ki && strcmp(specs[i].key, specs[j].key) == 0)
				return seg_fail(err, SEG_EINVAL,
						"duplicate %s key '%s': give one of them another name with \"as\"",
						spec_kind_name(ki), specs[i].key);
		}
	}
	return SEG_OK;
}

static const spec_param *param_named(const spec *s, const char *name)
{
	for (const spec_param *p = spec_info_of(s->fn)->params; p->name; p++)
		if (strcmp(p->name, name) == 0)
			return p;
	return NULL;
}

int spec_is_set(const spec *s, const char *name)
{
	const spec_param *p = param_named(s, name);

	return p != NULL && (s->set & (1u << (unsigned)(p - spec_info_of(s->fn)->params))) != 0;
}

const char *spec_param_elsewhere(const spec *s, const char *name)
{
	spec_kind kind = spec_info_of(s->fn)->kind;

	if (param_named(s, name))
		return NULL;
	for (int fn = 0; fn < FN_COUNT; fn++) {
		if (catalogue[fn].kind != kind)
			continue;
		for (const spec_param *p = catalogue[fn].params; p->name; p++)
			if (strcmp(p->name, name) == 0)
				return catalogue[fn].name;
	}
	return NULL;
}

int spec_default_number(spec *s, const char *name, double v)
{
	const spec_param *p = param_named(s, name);

	if (p == NULL || spec_is_set(s, name) || (p->type != SPEC_P_NUMBER && p->type != SPEC_P_NULLABLE))
		return 0;
	memcpy((char *)&s->par + p->offset, &v, sizeof(v));
	return 1;
}

size_t spec_defaults(spec *out, size_t cap)
{
	static const struct {
		spec_kind kind;
		const char *name;
	} defaults[] = {
		{SPEC_LOSS, "bce"}, {SPEC_LOSS, "weighted_bce"}, {SPEC_LOSS, "dice"},
		{SPEC_LOSS, "shape_aware"}, {SPEC_METRIC, "dice"}, {SPEC_METRIC, "iou"},
	};
	size_t k = 0;

	for (size_t i = 0; i < sizeof(defaults) / sizeof(defaults[0]) && k < cap; i++)
		if (spec_init(&out[k], defaults[i].kind, defaults[i].name, NULL) == SEG_OK)
			k++;
	return k;
}

size_t spec_defaults_multi(spec *out, size_t cap)
{
	static const struct {
		spec_kind kind;
		const char *name;
	} defaults[] = {
		{SPEC_LOSS, "cross_entropy"}, {SPEC_LOSS, "dice"}, {SPEC_METRIC, "dice"}, {SPEC_METRIC, "iou"},
	};
	size_t k = 0;

	for (size_t i = 0; i < sizeof(defaults) / sizeof(defaults[0]) && k < cap; i++)
		if (spec_init(&out[k], defaults[i].kind, defaults[i].name, NULL) == SEG_OK)
			k++;
	return k;
}
