/*
 * mcmetric.c — per-class overlap values and averages, each library's way.
 *
 * Every function here is arithmetic on one-vs-rest counts (TP, FP, FN,
 * TN of each class) and on per-class values: no pixels. The rules are
 * the libraries' own, read from their sources (docs/profiles.md names
 * file and function for each); the order of the floating-point
 * operations follows theirs where it can change the last bits (MONAI
 * averages the counts before dividing, NumPy's weighted sums divide each
 * weight first), so fixtures computed by their NumPy ports agree to the
 * last bit or close to it.
 */
#include "core/mcmetric.h"

#include <math.h>
#include <stddef.h>

#define KERAS_EPS 1e-7

static mcm_value number(double v)
{
	mcm_value r = {v, 0, MCM_WHY_NONE};
	return r;
}

/*
 * The value of a 0/0 ratio: zero_division zd when it is set (explicitly, or
 * as the profile's default), else what rule `zero` (mce_undef) says.
 */
static mcm_value undefined(int zero, double zd, mcm_why why)
{
	mcm_value r = {NAN, 0, (uint8_t)why};

	if (!isnan(zd))
		return number(zd);
	if (zero == MCE_UNDEF_INF)
		r.v = INFINITY;
	else if (zero == MCE_UNDEF_NULL)
		r.null = 1;
	return r;
}

mcm_value mcm_overlap(const mce_mconv *mc, metric_overlap mo, const metric_counts *m, double zd)
{
	double num = 0.0, den = 0.0;
	int absent = m->tp + m->fp + m->fn == 0.0;
	mcm_value r = {NAN, 0, MCM_WHY_NONE};

	if (absent && !mc->scored) {
		r.null = 1;
		r.why = MCM_WHY_ABSENT;
		return r;
	}
	if (mc->empty_target && (mo == METRIC_DICE || mo == METRIC_IOU) && m->tp + m->fn == 0.0) {
		r.why = MCM_WHY_NO_TARGET;
		return r;
	}
	switch (mc->ratio) {
	case MCE_RATIO_F1_TIES: {
		double p = m->tp / (m->tp + m->fp + KERAS_EPS), q = m->tp / (m->tp + m->fn + KERAS_EPS);
		return number(2 * p * q / (p + q + KERAS_EPS));
	}
	case MCE_RATIO_EPS_IOU:
		num = m->tp;
		den = m->tp + m->fp + m->fn;
		if (den > 0.0)
			return number(num / (den + KERAS_EPS));
		break;
	case MCE_RATIO_RECALL:
		num = m->tp;
		den = m->tp + m->fn;
		break;
	default:
		metric_ratio(m, mo, &num, &den);
		break;
	}
	if (den > 0.0)
		return number(num / den);
	return undefined(mc->zero, zd, absent ? MCM_WHY_ABSENT : MCM_WHY_ZERO);
}

static int inc(const uint8_t *include, int k)
{
	return include == NULL || include[k];
}

static int defined(const mcm_value *v)
{
	return !v->null && !isnan(v->v);
}

/* The counts summed over the included classes (all of them, or those not absent from both). */
static int pooled(const metric_counts *counts, const uint8_t *include, int classes, int skip_absent, metric_counts *out)
{
	int n = 0;

	out->tp = out->fp = out->fn = out->tn = 0.0;
	for (int k = 0; k < classes; k++) {
		const metric_counts *m = &counts[k];
		if (!inc(include, k) || (skip_absent && m->tp + m->fp + m->fn == 0.0))
			continue;
		out->tp += m->tp;
		out->fp += m->fp;
		out->fn += m->fn;
		out->tn += m->tn;
		n++;
	}
	return n;
}

/* Mean of the included values that are defined; inf is kept. NAN when none. */
static double mean_defined(const mcm_value *v, const uint8_t *include, int classes, int *count)
{
	double sum = 0.0;
	int n = 0;

	for (int k = 0; k < classes; k++) {
		if (!inc(include, k) || !defined(&v[k]))
			continue;
		sum += v[k].v;
		n++;
	}
	*count = n;
	return n ? sum / n : NAN;
}

/* segloss: macro (and every surface average), micro over classes present somewhere, weighted by support. */
static double avg_segloss(int is_surface, metric_overlap mo, mce_average avg, const mcm_value *v,
			  const metric_counts *counts, const uint8_t *include, int classes, double zd, int *null)
{
	int n;
	double r;

	if (avg == MCE_MICRO && !is_surface) {
		metric_counts p;
		double num, den;
		n = pooled(counts, include, classes, 1, &p);
		if (n == 0) {
			*null = 1;
			return NAN;
		}
		if (mo == METRIC_ACCURACY) {
			num = p.tp + p.tn;
			den = n * (counts[0].tp + counts[0].fp + counts[0].fn + counts[0].tn);
		} else {
			metric_ratio(&p, mo, &num, &den);
		}
		if (den > 0.0)
			return num / den;
		*null = isnan(zd);
		return zd;
	}
	if (avg == MCE_WEIGHTED && !is_surface) {
		double num = 0.0, den = 0.0;
		for (int k = 0; k < classes; k++) {
			if (!inc(include, k) || !defined(&v[k]))
				continue;
			double s = counts[k].tp + counts[k].fn;
			num += s * v[k].v;
			den += s;
		}
		if (den > 0.0)
			return num / den;
		*null = 1;
		return NAN;
	}
	r = mean_defined(v, include, classes, &n);
	*null = n == 0;
	return r;
}

/* MONAI do_metric_reduction('mean'): NaN dropped, inf kept, 0 when nothing is left. */
static double avg_monai_mean(const mcm_value *v, const uint8_t *include, int classes)
{
	int n;
	double r = mean_defined(v, include, classes, &n);

	return n ? r : 0.0;
}

/*
 * MONAI ConfusionMatrixMetric (compute_sample=False): the counts are
 * averaged over the included classes, then the metric is computed once;
 * a zero denominator is NaN.
 */
static double avg_monai_micro(metric_overlap mo, const metric_counts *counts, const uint8_t *include, int classes)
{
	metric_counts p;
	int n = pooled(counts, include, classes, 0, &p);
	double tp, fp, fn, tn, num, den;

	if (n == 0)
		return NAN;
	tp = p.tp / n;
	fp = p.fp / n;
	fn = p.fn / n;
	tn = p.tn / n;
	switch (mo) {
	case METRIC_PRECISION:
		num = tp, den = tp + fp;
		break;
	case METRIC_RECALL:
		num = tp, den = tp + fn;
		break;
	case METRIC_SPECIFICITY:
		num = tn, den = fp + tn;
		break;
	default:
		num = tp + tn, den = (tp + fn) + (fp + tn);
		break;
	}
	return den != 0.0 ? num / den : NAN;
}

/* smp _compute_metric: a ratio of summed counts (0/0 NaN), one per metric. */
static double smp_ratio(metric_overlap mo, const metric_counts *p)
{
	double num, den;

	if (mo == METRIC_ACCURACY) {
		num = p->tp + p->tn;
		den = p->tp + p->fp + p->fn + p->tn;
	} else {
		metric_ratio(p, mo, &num, &den);
	}
	return den > 0.0 ? num / den : NAN;
}

static double avg_smp(metric_overlap mo, mce_average avg, const mcm_value *v, const metric_counts *counts,
		      const uint8_t *include, int classes)
{
	if (avg == MCE_MICRO) {
		metric_counts p;
		pooled(counts, include, classes, 0, &p);
		return smp_ratio(mo, &p);
	}
	if (avg == MCE_WEIGHTED) {
		double total = 0.0, sum = 0.0;
		for (int k = 0; k < classes; k++)
			if (inc(include, k))
				total += counts[k].tp + counts[k].fn;
		if (total == 0.0)
			return NAN;
		for (int k = 0; k < classes; k++)
			if (inc(include, k) && defined(&v[k]))
				sum += (counts[k].tp + counts[k].fn) / total * v[k].v;
		return sum;
	}
	int n;
	return mean_defined(v, include, classes, &n);
}

/* torchmetrics _adjust_weights_safe_divide, and micro: summed counts; every 0/0 is 0. */
static double avg_tm_class(const mce_mconv *mc, metric_overlap mo, mce_average avg, const mcm_value *v,
			   const metric_counts *counts, const uint8_t *include, int classes)
{
	double wsum = 0.0, sum = 0.0;

	if (avg == MCE_MICRO) {
		metric_counts p;
		double num, den;
		pooled(counts, include, classes, 0, &p);
		if (mc->ratio == MCE_RATIO_RECALL) {
			num = p.tp;
			den = p.tp + p.fn;
		} else {
			metric_ratio(&p, mo, &num, &den);
		}
		return den > 0.0 ? num / den : 0.0;
	}
	for (int k = 0; k < classes; k++) {
		const metric_counts *m = &counts[k];
		if (!inc(include, k))
			continue;
		double w = avg == MCE_WEIGHTED ? m->tp + m->fn : (m->tp + m->fp + m->fn > 0.0 ? 1.0 : 0.0);
		wsum += w;
		if (defined(&v[k]))
			sum += w * v[k].v;
	}
	return wsum > 0.0 ? sum / wsum : 0.0;
}

/* torchmetrics DiceScore and MeanIoU. */
static double avg_tm_seg(metric_overlap mo, mce_average avg, const mcm_value *v, const metric_counts *counts,
			 const uint8_t *include, int classes)
{
	int n;

	if (mo == METRIC_DICE && avg == MCE_MICRO) {
		double num = 0.0, den = 0.0;
		for (int k = 0; k < classes; k++) {
			if (!inc(include, k))
				continue;
			num += 2 * counts[k].tp;
			den += 2 * counts[k].tp + counts[k].fp + counts[k].fn;
		}
		return den > 0.0 ? num / den : NAN;
	}
	if (mo == METRIC_DICE && avg == MCE_WEIGHTED) {
		double total = 0.0, sum = 0.0;
		int any = 0;
		for (int k = 0; k < classes; k++)
			if (inc(include, k)) {
				total += counts[k].tp + counts[k].fn;
				any |= defined(&v[k]);
			}
		if (total == 0.0 || !any)
			return NAN;
		for (int k = 0; k < classes; k++)
			if (inc(include, k) && defined(&v[k]))
				sum += v[k].v * (counts[k].tp + counts[k].fn) / total;
		return sum;
	}
	return mean_defined(v, include, classes, &n);
}

/* Keras FBetaScore.result on the (tie-marking) counts. */
static double avg_keras_f1(mce_average avg, const mcm_value *v, const metric_counts *counts, const uint8_t *include,
			   int classes)
{
	int n;

	if (avg == MCE_MICRO) {
		metric_counts p;
		pooled(counts, include, classes, 0, &p);
		double pr = p.tp / (p.tp + p.fp + KERAS_EPS), rc = p.tp / (p.tp + p.fn + KERAS_EPS);
		return 2 * pr * rc / (pr + rc + KERAS_EPS);
	}
	if (avg == MCE_WEIGHTED) {
		double total = 0.0, sum = 0.0;
		for (int k = 0; k < classes; k++)
			if (inc(include, k))
				total += counts[k].tp + counts[k].fn;
		for (int k = 0; k < classes; k++)
			if (inc(include, k) && defined(&v[k]))
				sum += v[k].v * (counts[k].tp + counts[k].fn) / (total + KERAS_EPS);
		return sum;
	}
	return mean_defined(v, include, classes, &n);
}

double mcm_average(const mce_mconv *mc, int is_surface, metric_overlap mo, mce_average avg, const mcm_value *v,
		   const metric_counts *counts, const uint8_t *include, int classes, double zd, int *null)
{
	int n;
	double r;

	*null = 0;
	if (avg == MCE_NONE) {
		*null = 1;
		return NAN;
	}
	switch (mc->avg) {
	case MCE_AVG_MONAI:
		if (avg == MCE_MACRO || is_surface)
			return avg_monai_mean(v, include, classes);
		if (avg == MCE_MICRO && mo >= METRIC_PRECISION)
			return avg_monai_micro(mo, counts, include, classes);
		break;
	case MCE_AVG_SMP:
		if (!is_surface)
			return avg_smp(mo, avg, v, counts, include, classes);
		break;
	case MCE_AVG_TM_CLASS:
		return avg_tm_class(mc, mo, avg, v, counts, include, classes);
	case MCE_AVG_TM_SEG:
		return avg_tm_seg(mo, avg, v, counts, include, classes);
	case MCE_AVG_TM_SUM:
		r = mean_defined(v, include, classes, &n);
		*null = n == 0;
		return r;
	case MCE_AVG_NANMEAN:
		if (avg == MCE_MACRO)
			return mean_defined(v, include, classes, &n);
		break;
	case MCE_AVG_KERAS_IOU:
		if (avg == MCE_MACRO) {
			double sum = 0.0;
			n = 0;
			for (int k = 0; k < classes; k++)
				if (inc(include, k) && defined(&v[k])) {
					sum += v[k].v;
					n++;
				}
			return n ? sum / (n + KERAS_EPS) : 0.0;
		}
		break;
	case MCE_AVG_KERAS_F1:
		return avg_keras_f1(avg, v, counts, include, classes);
	default:
		break;
	}
	return avg_segloss(is_surface, mo, avg, v, counts, include, classes, zd, null);
}
