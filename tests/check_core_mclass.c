/*
 * check_core_mclass.c — multi-class counting, losses and the evaluation
 * plan against hand values, straightforward per-pixel loops written here
 * independently, and the binary core on two-class inputs.
 */
#include <check.h>
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "core/eval.h"
#include "core/mclass.h"
#include "core/mceval.h"
#include "core/mcloss.h"
#include "core/metric.h"
#include "core/profile.h"
#include "core/spec.h"

static uint64_t rng = 98765;

static double urand(void)
{
	rng ^= rng << 13;
	rng ^= rng >> 7;
	rng ^= rng << 17;
	return (double)(rng >> 11) * 0x1.0p-53;
}

static void close_rel(double got, double want, double tol)
{
	double scale = fabs(want) > 1.0 ? fabs(want) : 1.0;
	ck_assert_msg(fabs(got - want) <= tol * scale, "got %.17g, want %.17g", got, want);
}

/*
 * A 3x3 map, classes 0..2, one ignored pixel:
 *   target      prediction
 *   0 0 1       0 1 1
 *   2 1 1       2 1 0
 *   2 I 0       2 2 0
 * Valid pixels 8. Matrix (target row, prediction column):
 *   t0: p0 at (0,0), (2,2); p1 at (0,1)          -> [2, 1, 0]
 *   t1: p1 at (0,2), (1,1); p0 at (1,2)          -> [1, 2, 0]
 *   t2: p2 at (1,0), (2,0)                        -> [0, 0, 2]
 * The ignored pixel's prediction (2) counts nowhere.
 */
static const uint16_t hand_t[9] = {0, 0, 1, 2, 1, 1, 2, SEG_IGNORE, 0};
static const uint16_t hand_p[9] = {0, 1, 1, 2, 1, 0, 2, 2, 0};

START_TEST(test_confusion_by_hand)
{
	int64_t m[9];
	int64_t want[9] = {2, 1, 0, 1, 2, 0, 0, 0, 2};
	metric_counts c;

	mc_confusion(hand_t, hand_p, 9, 3, NULL, m);
	for (int i = 0; i < 9; i++)
		ck_assert_int_eq(m[i], want[i]);
	mc_class_counts(m, 3, 1, &c);
	ck_assert_double_eq(c.tp, 2);
	ck_assert_double_eq(c.fp, 1);
	ck_assert_double_eq(c.fn, 1);
	ck_assert_double_eq(c.tn, 4);
}
END_TEST

static spec make(spec_kind kind, const char *text)
{
	spec s;
	seg_error err;
	ck_assert_int_eq(spec_parse(text, kind, &s, &err), SEG_OK);
	return s;
}

static const char *const names3[3] = {"bg", "a", "b"};

START_TEST(test_metrics_by_hand)
{
	seg_labels t = {3, 3, (uint16_t *)hand_t};
	spec specs[4] = {make(SPEC_METRIC, "iou"), make(SPEC_METRIC, "dice"), make(SPEC_METRIC, "pixel_accuracy"),
			 make(SPEC_METRIC, "recall")};
	mce_opts o = {3, -1, -1, NULL, MCE_MACRO, NULL, names3};
	mce_result r;
	seg_error err;

	ck_assert_int_eq(mce_result_init(&r, 4, 3, &err), SEG_OK);
	ck_assert_int_eq(mce_run(&t, hand_p, NULL, specs, 4, &o, &r, NULL, &err), SEG_OK);
	/* IoU: class 0 2/(2+1+1) = 1/2, class 1 2/4 = 1/2, class 2 2/2 = 1. */
	close_rel(r.per_class[0], 0.5, 1e-15);
	close_rel(r.per_class[1], 0.5, 1e-15);
	close_rel(r.per_class[2], 1.0, 1e-15);
	close_rel(r.value[0], 2.0 / 3.0, 1e-15);
	/* Dice 2/3, 2/3, 1. */
	close_rel(r.value[1], (2.0 / 3 + 2.0 / 3 + 1.0) / 3.0, 1e-15);
	/* Pixel accuracy 6/8. */
	close_rel(r.value[2], 0.75, 1e-15);
	/* Recall 2/3, 2/3, 1. */
	close_rel(r.per_class[3 * 3 + 0], 2.0 / 3.0, 1e-15);
	ck_assert_int_eq(r.warn.count, 0);

	/* micro IoU: ΣTP 6 / (6 + ΣFP 2 + ΣFN 2); weighted by support 3, 3, 2. */
	o.average = MCE_MICRO;
	ck_assert_int_eq(mce_run(&t, hand_p, NULL, specs, 1, &o, &r, NULL, &err), SEG_OK);
	close_rel(r.value[0], 0.6, 1e-15);
	o.average = MCE_WEIGHTED;
	ck_assert_int_eq(mce_run(&t, hand_p, NULL, specs, 1, &o, &r, NULL, &err), SEG_OK);
	close_rel(r.value[0], (3 * 0.5 + 3 * 0.5 + 2 * 1.0) / 8.0, 1e-15);

	/* Without the background class in averages; per class every class is still listed. */
	o.average = MCE_MACRO;
	o.background = 0;
	o.include_background = 0;
	ck_assert_int_eq(mce_run(&t, hand_p, NULL, specs, 1, &o, &r, NULL, &err), SEG_OK);
	close_rel(r.value[0], 0.75, 1e-15);
	close_rel(r.per_class[0], 0.5, 1e-15);
	mce_result_release(&r);
}
END_TEST

/* A class absent from both maps is null with a warning and left out of the mean; scored under a convention. */
START_TEST(test_absent_class)
{
	seg_labels t = {3, 3, (uint16_t *)hand_t};
	static const char *const names4[4] = {"bg", "a", "b", "car"};
	spec s = make(SPEC_METRIC, "iou");
	mce_opts o = {4, -1, -1, NULL, MCE_MACRO, NULL, names4};
	mce_result r;
	seg_error err;

	ck_assert_int_eq(mce_result_init(&r, 1, 4, &err), SEG_OK);
	ck_assert_int_eq(mce_run(&t, hand_p, NULL, &s, 1, &o, &r, NULL, &err), SEG_OK);
	ck_assert(isnan(r.per_class[3]));
	close_rel(r.value[0], 2.0 / 3.0, 1e-15);
	ck_assert_int_eq(r.warn.count, 1);
	ck_assert_ptr_nonnull(strstr(r.warn.msg[0], "'car'"));
	ck_assert_ptr_nonnull(strstr(r.warn.msg[0], "absent from both"));

	/* Scored (smp): 0/0 gives zero_division = 1, counted in the mean. */
	o.conv = prof_get(PROF_SMP)->conv;
	ck_assert_int_eq(spec_parse("iou:zero_division=1", SPEC_METRIC, &s, &err), SEG_OK);
	ck_assert_int_eq(mce_run(&t, hand_p, NULL, &s, 1, &o, &r, NULL, &err), SEG_OK);
	close_rel(r.per_class[3], 1.0, 1e-15);
	close_rel(r.value[0], (0.5 + 0.5 + 1 + 1) / 4.0, 1e-15);
	mce_result_release(&r);
}
END_TEST

/* The hand map under several profiles' rules, with a fourth class in neither map. */
START_TEST(test_profile_rules_by_hand)
{
	seg_labels t = {3, 3, (uint16_t *)hand_t};
	static const char *const names4[4] = {"bg", "a", "b", "car"};
	spec specs[3] = {make(SPEC_METRIC, "iou"), make(SPEC_METRIC, "precision"), make(SPEC_METRIC, "accuracy")};
	mce_opts o = {4, -1, -1, NULL, -1, prof_get(PROF_MONAI)->conv, names4};
	mce_result r;
	seg_error err;
	double e = 1e-7;

	ck_assert_int_eq(mce_result_init(&r, 3, 4, &err), SEG_OK);
	/* MONAI: iou NaN for the class absent from the target, skipped; precision micro by default: the counts
	 * averaged over the four classes, 6/4 / (6/4 + 2/4). */
	ck_assert_int_eq(mce_run(&t, hand_p, NULL, specs, 3, &o, &r, NULL, &err), SEG_OK);
	ck_assert(isnan(r.per_class[3]));
	close_rel(r.value[0], 2.0 / 3.0, 1e-15);
	close_rel(r.value[1], 0.75, 1e-15);
	ck_assert_ptr_nonnull(strstr(r.warn.msg[0], "metric 'iou' is nan for 1 class ('car')"));

	/* torchmetrics: accuracy per class is recall, 0/0 is 0 (its zero_division), the macro weight of a class
	 * in neither map is 0. */
	spec tm[1] = {make(SPEC_METRIC, "accuracy")};
	prof_apply(prof_get(PROF_TORCHMETRICS), tm, 1);
	o.conv = prof_get(PROF_TORCHMETRICS)->conv;
	ck_assert_int_eq(mce_run(&t, hand_p, NULL, tm, 1, &o, &r, NULL, &err), SEG_OK);
	close_rel(r.per_class[0], 2.0 / 3.0, 1e-15);
	close_rel(r.per_class[3], 0.0, 0);
	close_rel(r.value[0], (2.0 / 3.0 + 2.0 / 3.0 + 1.0) / 3.0, 1e-15);

	/* Keras MeanIoU: TP/(U + 1e-7), the mean divided by n + 1e-7; mmseg: NaN over nothing. */
	o.conv = prof_get(PROF_KERAS)->conv;
	ck_assert_int_eq(mce_run(&t, hand_p, NULL, specs, 1, &o, &r, NULL, &err), SEG_OK);
	close_rel(r.per_class[2], 2.0 / (2.0 + e), 1e-15);
	close_rel(r.value[0], (2.0 / (4.0 + e) + 2.0 / (4.0 + e) + 2.0 / (2.0 + e)) / (3.0 + e), 1e-15);
	o.conv = prof_get(PROF_MMSEG)->conv;
	o.average = MCE_MACRO;
	static const uint16_t only_ignored[9] = {SEG_IGNORE, SEG_IGNORE, SEG_IGNORE, SEG_IGNORE, SEG_IGNORE,
						 SEG_IGNORE, SEG_IGNORE, SEG_IGNORE, SEG_IGNORE};
	seg_labels ti = {3, 3, (uint16_t *)only_ignored};
	ck_assert_int_eq(mce_run(&ti, hand_p, NULL, specs, 1, &o, &r, NULL, &err), SEG_OK);
	ck_assert(isnan(r.value[0]));
	ck_assert_ptr_nonnull(strstr(r.warn.msg[r.warn.count - 1], "metric 'iou' averages to nan"));
	mce_result_release(&r);
}
END_TEST

/* Random scores: probabilities (softmax of random logits) or the logits themselves. */
static void random_case(int w, int h, int C, double ignore_share, uint16_t *t, float *logits, float *probs)
{
	size_t n = (size_t)w * h;
	for (size_t i = 0; i < n; i++) {
		t[i] = urand() < ignore_share ? SEG_IGNORE : (uint16_t)(urand() * C);
		double mx = -1e30, sum = 0.0;
		for (int c = 0; c < C; c++) {
			/* Favour the target class so the scores look like a model's. */
			float x = (float)(4.0 * urand() - 2.0 + (t[i] == c ? 2.0 : 0.0));
			logits[(size_t)c * n + i] = x;
			mx = x > mx ? x : mx;
		}
		for (int c = 0; c < C; c++)
			sum += exp(logits[(size_t)c * n + i] - mx);
		for (int c = 0; c < C; c++)
			probs[(size_t)c * n + i] = (float)(exp(logits[(size_t)c * n + i] - mx) / sum);
	}
}

/* log P_c(i), straight from the definition, for the reference loops. */
static double ref_logp(const float *v, int logits, size_t n, int C, size_t i, int c, double eps)
{
	if (!logits) {
		double p = v[(size_t)c * n + i];
		p = p < eps ? eps : p > 1 - eps ? 1 - eps : p;
		return log(p);
	}
	double mx = -1e300, s = 0.0;
	for (int k = 0; k < C; k++)
		mx = fmax(mx, v[(size_t)k * n + i]);
	for (int k = 0; k < C; k++)
		s += exp(v[(size_t)k * n + i] - mx);
	return v[(size_t)c * n + i] - mx - log(s);
}

START_TEST(test_losses_against_loops)
{
	int w = 37, h = 23, C = 5;
	size_t n = (size_t)w * h;
	uint16_t *t = malloc(n * sizeof(*t));
	float *lg = malloc(n * C * sizeof(float)), *pr = malloc(n * C * sizeof(float));
	double wts[5] = {0.5, 1, 2, 1.5, 3};
	random_case(w, h, C, 0.1, t, lg, pr);

	for (int logits = 0; logits <= 1; logits++) {
		seg_scores s = {w, h, C, logits, logits ? lg : pr};
		mcl_opts o = {1e-7, 2.0, 3.0, 1};
		mcl_sums sums;
		seg_error err;
		ck_assert_int_eq(mcl_sums_compute(&s, t, &o, NULL, &sums, &err), SEG_OK);

		double ce_num = 0, ce_den = 0, ls = 0, foc = 0, nv = 0;
		double I[5] = {0}, P1[5] = {0}, P2[5] = {0}, PG[5] = {0}, G[5] = {0};
		for (size_t i = 0; i < n; i++) {
			if (t[i] == SEG_IGNORE)
				continue;
			int y = t[i];
			nv++;
			double lp = ref_logp(s.v, logits, n, C, i, y, 1e-7);
			ce_num += wts[y] * -lp;
			ce_den += wts[y];
			double p = exp(lp);
			foc += wts[y] * (1 - p) * (1 - p) * -lp;
			for (int c = 0; c < C; c++) {
				double pc = logits ? exp(ref_logp(lg, 1, n, C, i, c, 0)) : pr[(size_t)c * n + i];
				ls += wts[c] * -ref_logp(s.v, logits, n, C, i, c, 1e-7);
				P1[c] += pc;
				P2[c] += pc * pc;
				PG[c] += pow(pc, 3.0);
				if (c == y) {
					I[c] += pc;
					G[c] += 1;
				}
			}
		}
		close_rel(sums.n, nv, 0);
		for (int c = 0; c < C; c++) {
			close_rel(sums.i[c], I[c], 1e-12);
			close_rel(sums.p1[c], P1[c], 1e-12);
			close_rel(sums.p2[c], P2[c], 1e-12);
			close_rel(sums.pg[c], PG[c], 1e-12);
			close_rel(sums.g[c], G[c], 0);
		}
		close_rel(mcl_cross_entropy(&sums, wts, 0.0), ce_num / ce_den, 1e-12);
		close_rel(mcl_cross_entropy(&sums, wts, 0.1), (0.9 * ce_num + 0.1 / C * ls) / ce_den, 1e-12);
		close_rel(mcl_focal(&sums, wts), foc / nv, 1e-12);

		/* Dice with gamma 2, per class, then the plain mean. */
		double per[5], want = 0;
		mcl_region_per_class(&sums, MCL_DICE, MCL_POW2, 1e-6, 1e-6, 0, 0, per);
		for (int c = 0; c < C; c++) {
			double d = 1 - (2 * I[c] + 1e-6) / (P2[c] + G[c] + 1e-6);
			close_rel(per[c], d, 1e-12);
			want += d / C;
		}
		close_rel(mcl_class_mean(per, NULL, NULL, C), want, 1e-12);
		mcl_sums_release(&sums);
	}
	free(t);
	free(lg);
	free(pr);
}
END_TEST

static int cmp_desc(const void *a, const void *b)
{
	double x = ((const double *)a)[0], y = ((const double *)b)[0];
	return (x < y) - (x > y);
}

/* Lovász-softmax from the paper's algorithm with a comparison sort, in double (errors too, as the float64 reference). */
static double ref_lovasz(const uint16_t *t, const float *pr, size_t n, int C)
{
	double total = 0;
	int present = 0;
	double *pairs = malloc(2 * n * sizeof(double));
	for (int c = 0; c < C; c++) {
		size_t m = 0;
		double gts = 0;
		for (size_t i = 0; i < n; i++) {
			if (t[i] == SEG_IGNORE)
				continue;
			double fg = t[i] == c;
			pairs[2 * m] = fabs(fg - pr[(size_t)c * n + i]);
			pairs[2 * m + 1] = fg;
			gts += fg;
			m++;
		}
		if (gts == 0)
			continue;
		qsort(pairs, m, 2 * sizeof(double), cmp_desc);
		double cf = 0, cb = 0, prev = 0, loss = 0;
		for (size_t k = 0; k < m; k++) {
			cf += pairs[2 * k + 1];
			cb += 1 - pairs[2 * k + 1];
			double jac = 1 - (gts - cf) / (gts + cb);
			loss += pairs[2 * k] * (jac - prev);
			prev = jac;
		}
		total += loss;
		present++;
	}
	free(pairs);
	return total / present;
}

/* The plain mean of the classes mcl_lovasz scored (present ones). */
static double lovasz_mean(const seg_scores *s, const uint16_t *t)
{
	double per[8], sum = 0;
	int n = 0;
	seg_error err;
	ck_assert_int_le(s->classes, 8);
	ck_assert_int_eq(mcl_lovasz(s, t, NULL, per, &err), SEG_OK);
	for (int c = 0; c < s->classes; c++)
		if (!isnan(per[c])) {
			sum += per[c];
			n++;
		}
	return sum / n;
}

START_TEST(test_lovasz)
{
	int w = 41, h = 29, C = 4;
	size_t n = (size_t)w * h;
	uint16_t *t = malloc(n * sizeof(*t));
	float *lg = malloc(n * C * sizeof(float)), *pr = malloc(n * C * sizeof(float));
	random_case(w, h, C, 0.05, t, lg, pr);
	seg_scores s = {w, h, C, 0, pr};

	close_rel(lovasz_mean(&s, t), ref_lovasz(t, pr, n, C), 1e-12);
	/* From logits: the softmax gives the same probabilities to float precision. */
	s.v = lg;
	s.logits = 1;
	close_rel(lovasz_mean(&s, t), ref_lovasz(t, pr, n, C), 1e-6);
	free(t);
	free(lg);
	free(pr);
}
END_TEST

/*
 * Probabilities on a grid of eighths: many pixels of the class and of the
 * background share an error (a foreground 0.75 and a background 0.25 both
 * miss by 0.25), so the merge of the two sorted sides meets ties across
 * them. A value outside [0, 1] (never from the decoders) takes the sort of
 * the double errors instead; both agree with the comparison sort.
 */
START_TEST(test_lovasz_ties_and_fallback)
{
	int w = 37, h = 23, C = 3;
	size_t n = (size_t)w * h;
	uint16_t *t = malloc(n * sizeof(*t));
	float *lg = malloc(n * C * sizeof(float)), *pr = malloc(n * C * sizeof(float));
	random_case(w, h, C, 0.1, t, lg, pr);
	for (size_t i = 0; i < n * C; i++)
		pr[i] = (float)(floor(pr[i] * 8.0) / 8.0);
	seg_scores s = {w, h, C, 0, pr};
	double want = ref_lovasz(t, pr, n, C);

	ck_assert(want > 0.0);
	close_rel(lovasz_mean(&s, t), want, 1e-12);
	pr[(size_t)1 * n + 5] = 1.5f;
	close_rel(lovasz_mean(&s, t), ref_lovasz(t, pr, n, C), 1e-12);
	free(t);
	free(lg);
	free(pr);
}
END_TEST

/* A seg_par that runs the tasks in this thread, last first. */
static void run_backwards(void *ctx, size_t n, void (*fn)(void *arg, size_t i), void *arg)
{
	(void)ctx;
	for (size_t i = n; i-- > 0;)
		fn(arg, i);
}

/*
 * The argmax is the class of the largest score, the lowest on a tie
 * (scores on a grid of quarters tie often), in one thread and through a
 * seg_par (300x250: 74 blocks in four tasks, the last one short).
 */
START_TEST(test_argmax_lowest_on_ties)
{
	int w = 300, h = 250, C = 5;
	size_t n = (size_t)w * h;
	float *v = malloc(n * C * sizeof(float));
	uint16_t *want = malloc(n * sizeof(*want)), *got = malloc(n * sizeof(*got));
	seg_par par = {run_backwards, NULL, 2};
	size_t ties = 0;

	for (size_t i = 0; i < n * C; i++)
		v[i] = (float)(floor(urand() * 4.0) / 4.0);
	for (size_t i = 0; i < n; i++) {
		int b = 0, tied = 0;
		for (int c = 1; c < C; c++) {
			tied |= v[(size_t)c * n + i] == v[(size_t)b * n + i];
			if (v[(size_t)c * n + i] > v[(size_t)b * n + i])
				b = c;
		}
		want[i] = (uint16_t)b;
		ties += tied;
	}
	ck_assert(ties > n / 4);
	seg_scores s = {w, h, C, 0, v};
	for (int split = 0; split < 2; split++) {
		memset(got, 0xff, n * sizeof(*got));
		mc_argmax(&s, split ? &par : NULL, got);
		for (size_t i = 0; i < n; i++)
			ck_assert_msg(got[i] == want[i], "split=%d pixel %zu: class %d, want %d", split, i, got[i], want[i]);
	}
	free(v);
	free(want);
	free(got);
}
END_TEST

/*
 * The confusion matrix equals a count made pixel by pixel, for class
 * counts on both sides of the four-table path (32), with runs of one
 * class (as label maps have), ignored pixels, and sizes that are not a
 * multiple of four.
 */
START_TEST(test_confusion_equals_naive_count)
{
	static const int classes[] = {1, 2, 19, 32, 33, 300};
	static const size_t sizes[] = {0, 1, 3, 4, 7, 4099, 200003};
	seg_par par = {run_backwards, NULL, 2};

	for (size_t a = 0; a < sizeof(classes) / sizeof(*classes); a++) {
		int C = classes[a];
		for (size_t b = 0; b < sizeof(sizes) / sizeof(*sizes); b++) {
			size_t n = sizes[b], cc = (size_t)C * C;
			uint16_t *t = malloc((n ? n : 1) * sizeof(*t)), *p = malloc((n ? n : 1) * sizeof(*p));
			int64_t *m = malloc(cc * sizeof(*m)), *want = calloc(cc, sizeof(*want));
			uint16_t run = 0;
			for (size_t i = 0; i < n; i++) {
				if (urand() < 0.2)
					run = (uint16_t)(urand() * C);
				t[i] = urand() < 0.07 ? SEG_IGNORE : run;
				p[i] = urand() < 0.8 ? run : (uint16_t)(urand() * C);
				if (t[i] != SEG_IGNORE)
					want[(size_t)t[i] * C + p[i]]++;
			}
			for (int split = 0; split < 2; split++) { /* then in stripes, through a seg_par */
				for (size_t k = 0; k < cc; k++)
					m[k] = -1;
				mc_confusion(t, p, n, C, split ? &par : NULL, m);
				for (size_t k = 0; k < cc; k++)
					ck_assert_msg(m[k] == want[k], "C=%d n=%zu split=%d: cell (%zu, %zu) is %lld, counted %lld",
						      C, n, split, k / C, k % C, (long long)m[k], (long long)want[k]);
			}
			free(t);
			free(p);
			free(m);
			free(want);
		}
	}
}
END_TEST

/*
 * The pass split into tasks (run here in reverse order) gives the very
 * sums of the pass in one thread: the chunks follow from the input, not
 * from the tasks. 300x250 pixels make three chunks of 32768; logits, an
 * ignored share, focal, power and label-smoothing terms all on.
 */
START_TEST(test_sums_same_with_par)
{
	int w = 300, h = 250, C = 5;
	size_t n = (size_t)w * h;
	uint16_t *t = malloc(n * sizeof(*t));
	float *lg = malloc(n * C * sizeof(float)), *pr = malloc(n * C * sizeof(float));
	seg_par par = {run_backwards, NULL, 2};
	mcl_opts o = {1e-4, 2.0, 1.5, 1};
	seg_error err;

	random_case(w, h, C, 0.05, t, lg, pr);
	for (int logits = 0; logits < 2; logits++) {
		seg_scores s = {w, h, C, logits, logits ? lg : pr};
		mcl_sums a, b;
		ck_assert_int_eq(mcl_sums_compute(&s, t, &o, NULL, &a, &err), SEG_OK);
		ck_assert_int_eq(mcl_sums_compute(&s, t, &o, &par, &b, &err), SEG_OK);
		ck_assert(a.n > 0.9 * (double)n && a.n == b.n);
		for (int c = 0; c < C; c++) {
			ck_assert(a.p1[c] > 0.0 && a.nll[c] > 0.0);
			ck_assert(memcmp(&a.g[c], &b.g[c], sizeof(double)) == 0);
			ck_assert(memcmp(&a.i[c], &b.i[c], sizeof(double)) == 0);
			ck_assert(memcmp(&a.p1[c], &b.p1[c], sizeof(double)) == 0);
			ck_assert(memcmp(&a.p2[c], &b.p2[c], sizeof(double)) == 0);
			ck_assert(memcmp(&a.pg[c], &b.pg[c], sizeof(double)) == 0);
			ck_assert(memcmp(&a.nll[c], &b.nll[c], sizeof(double)) == 0);
			ck_assert(memcmp(&a.foc[c], &b.foc[c], sizeof(double)) == 0);
			ck_assert(memcmp(&a.lsum[c], &b.lsum[c], sizeof(double)) == 0);
		}
		mcl_sums_release(&a);
		mcl_sums_release(&b);
	}
	free(t);
	free(lg);
	free(pr);
}
END_TEST

/* Sums of a hard prediction read off its confusion matrix equal the pass over its one-hot. */
START_TEST(test_hard_sums_equal_one_hot)
{
	int w = 19, h = 17, C = 4;
	size_t n = (size_t)w * h;
	uint16_t *t = malloc(n * sizeof(*t)), *p = malloc(n * sizeof(*p));
	float *oh = calloc(n * C, sizeof(float));
	int64_t m[16];
	for (size_t i = 0; i < n; i++) {
		t[i] = urand() < 0.1 ? SEG_IGNORE : (uint16_t)(urand() * C);
		p[i] = (uint16_t)(urand() * C);
		oh[(size_t)p[i] * n + i] = 1.0f;
	}
	mc_confusion(t, p, n, C, NULL, m);
	seg_scores s = {w, h, C, 0, oh};
	mcl_opts o = {1e-4, 2.0, 1.5, 1};
	mcl_sums a, b;
	seg_error err;
	ck_assert_int_eq(mcl_sums_compute(&s, t, &o, NULL, &a, &err), SEG_OK);
	ck_assert_int_eq(mcl_sums_from_confusion(m, C, &o, &b, &err), SEG_OK);
	for (int c = 0; c < C; c++) {
		close_rel(b.g[c], a.g[c], 0);
		close_rel(b.i[c], a.i[c], 0);
		close_rel(b.p1[c], a.p1[c], 0);
		close_rel(b.p2[c], a.p2[c], 0);
		close_rel(b.pg[c], a.pg[c], 1e-12);
		close_rel(b.nll[c], a.nll[c], 1e-12);
		close_rel(b.foc[c], a.foc[c], 1e-12);
		close_rel(b.lsum[c], a.lsum[c], 1e-12);
	}
	/* Lovász on the one-hot is 1 - IoU per present class. */
	spec lv = make(SPEC_LOSS, "lovasz_softmax");
	static const char *const nm[4] = {"0", "1", "2", "3"};
	mce_opts mo = {C, -1, -1, NULL, MCE_MACRO, NULL, nm};
	mce_result r;
	seg_labels tl = {w, h, t};
	ck_assert_int_eq(mce_result_init(&r, 1, C, &err), SEG_OK);
	ck_assert_int_eq(mce_run(&tl, p, NULL, &lv, 1, &mo, &r, NULL, &err), SEG_OK);
	close_rel(r.value[0], lovasz_mean(&s, t), 1e-12);
	mce_result_release(&r);
	mcl_sums_release(&a);
	mcl_sums_release(&b);
	free(t);
	free(p);
	free(oh);
}
END_TEST

/*
 * Two classes are the binary case: with probabilities [1 − p, p] (p never
 * exactly 0.5), class 1's metrics, surface distances, dice term and the
 * cross-entropy equal the binary core's on (y, p).
 */
START_TEST(test_two_classes_are_binary)
{
	int w = 64, h = 48;
	size_t n = (size_t)w * h;
	uint16_t *t = malloc(n * sizeof(*t)), *hard = malloc(n * sizeof(*hard));
	uint8_t *y = malloc(n);
	float *p = malloc(n * sizeof(float)), *pp = malloc(2 * n * sizeof(float));
	for (int r = 0; r < h; r++) {
		for (int x = 0; x < w; x++) {
			size_t i = (size_t)r * w + x;
			double d1 = hypot(x - 20, r - 20), d2 = hypot(x - 44, r - 30);
			y[i] = d1 < 12 || d2 < 9;
			t[i] = y[i];
			double q = (d1 < 13 || d2 < 8) ? 0.55 + 0.44 * urand() : 0.45 * urand();
			p[i] = (float)q;
			pp[i] = 1.0f - p[i];
			pp[n + i] = p[i];
		}
	}
	seg_scores s = {w, h, 2, 0, pp};
	seg_target bt = {w, h, y, NULL, 0};
	seg_pred bp = {w, h, p};
	seg_labels tl = {w, h, t};
	mc_argmax(&s, NULL, hard);
	const char *texts[] = {"dice", "iou", "precision", "recall", "specificity", "accuracy",
			       "hausdorff", "hausdorff95", "assd", "surface_dice:tolerance=2"};
	enum { NM = 10 };
	spec specs[NM];
	double bin[NM];
	eval_warnings ew;
	seg_error err;
	for (int i = 0; i < NM; i++)
		specs[i] = make(SPEC_METRIC, texts[i]);
	ck_assert_int_eq(eval_run(&bt, &bp, specs, NM, bin, &ew, NULL, &err), SEG_OK);
	static const char *const nm[2] = {"background", "foreground"};
	mce_opts o = {2, -1, -1, NULL, MCE_MACRO, NULL, nm};
	mce_result r;
	ck_assert_int_eq(mce_result_init(&r, NM, 2, &err), SEG_OK);
	ck_assert_int_eq(mce_run(&tl, hard, &s, specs, NM, &o, &r, NULL, &err), SEG_OK);
	for (int i = 0; i < NM; i++)
		close_rel(r.per_class[i * 2 + 1], bin[i], 1e-12);

	/* Cross-entropy = BCE (class 0's probability is 1 − p rounded to float). */
	spec ce = make(SPEC_LOSS, "cross_entropy"), bce = make(SPEC_LOSS, "bce");
	double vb;
	ck_assert_int_eq(eval_run(&bt, &bp, &bce, 1, &vb, &ew, NULL, &err), SEG_OK);
	ck_assert_int_eq(mce_run(&tl, hard, &s, &ce, 1, &o, &r, NULL, &err), SEG_OK);
	close_rel(r.value[0], vb, 1e-6);

	/* The foreground term of the multi-class dice loss is the binary dice loss. */
	mcl_opts mo = {1e-7, NAN, NAN, 0};
	mcl_sums sums;
	double per[2];
	spec dl = make(SPEC_LOSS, "dice");
	ck_assert_int_eq(mcl_sums_compute(&s, t, &mo, NULL, &sums, &err), SEG_OK);
	mcl_region_per_class(&sums, MCL_DICE, MCL_POW2, 1e-6, 1e-6, 0, 0, per);
	ck_assert_int_eq(eval_run(&bt, &bp, &dl, 1, &vb, &ew, NULL, &err), SEG_OK);
	close_rel(per[1], vb, 1e-9);
	mcl_sums_release(&sums);
	mce_result_release(&r);
	free(t);
	free(hard);
	free(y);
	free(p);
	free(pp);
}
END_TEST

/* Per-class surface distances on the class's box equal those on the whole image. */
START_TEST(test_surface_box_equals_full)
{
	int w = 50, h = 40, C = 4;
	size_t n = (size_t)w * h;
	uint16_t *t = malloc(n * sizeof(*t)), *p = malloc(n * sizeof(*p));
	uint8_t *a = malloc(n), *b = malloc(n), *scratch = malloc(2 * n + 4 * (w + h) + 16);
	double sp[2] = {1.5, 0.5};
	for (int y = 0; y < h; y++)
		for (int x = 0; x < w; x++) {
			size_t i = (size_t)y * w + x;
			int c = (x / 13 + y / 11) % C;
			t[i] = urand() < 0.03 ? SEG_IGNORE : (uint16_t)c;
			p[i] = urand() < 0.1 ? (uint16_t)(urand() * C) : (uint16_t)c;
		}
	mc_box box[4];
	mc_boxes(t, p, w, h, C, box);
	for (int c = 0; c < C; c++) {
		metric_surface s1, s2;
		seg_error err;
		for (size_t i = 0; i < n; i++) {
			a[i] = t[i] != SEG_IGNORE && p[i] == c;
			b[i] = t[i] == c;
		}
		ck_assert_int_eq(mc_surface(t, p, w, h, c, &box[c], sp, scratch, &s1, NULL, &err), SEG_OK);
		ck_assert_int_eq(metric_surface_compute(a, b, w, h, sp, &s2, NULL, &err), SEG_OK);
		ck_assert_uint_eq(s1.na, s2.na);
		ck_assert_uint_eq(s1.nb, s2.nb);
		close_rel(metric_hausdorff(&s1), metric_hausdorff(&s2), 1e-15);
		close_rel(metric_assd(&s1), metric_assd(&s2), 1e-12);
		close_rel(metric_hausdorff_pct(&s1, 95), metric_hausdorff_pct(&s2, 95), 1e-15);
		metric_surface_release(&s1);
		metric_surface_release(&s2);
	}
	free(t);
	free(p);
	free(a);
	free(b);
	free(scratch);
}
END_TEST

START_TEST(test_binary_only_refused)
{
	seg_labels t = {3, 3, (uint16_t *)hand_t};
	spec s = make(SPEC_LOSS, "bce");
	mce_opts o = {3, -1, -1, NULL, MCE_MACRO, NULL, names3};
	mce_result r;
	seg_error err;

	ck_assert_int_eq(mce_result_init(&r, 1, 3, &err), SEG_OK);
	ck_assert_int_eq(mce_run(&t, hand_p, NULL, &s, 1, &o, &r, NULL, &err), SEG_EINVAL);
	ck_assert_ptr_nonnull(strstr(err.msg, "loss 'bce' is for binary requests"));
	mce_result_release(&r);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("core_mclass");
	TCase *tc = tcase_create("mclass");
	SRunner *sr;
	int failed;

	tcase_add_test(tc, test_confusion_by_hand);
	tcase_add_test(tc, test_metrics_by_hand);
	tcase_add_test(tc, test_absent_class);
	tcase_add_test(tc, test_profile_rules_by_hand);
	tcase_add_test(tc, test_losses_against_loops);
	tcase_add_test(tc, test_lovasz);
	tcase_add_test(tc, test_argmax_lowest_on_ties);
	tcase_add_test(tc, test_sums_same_with_par);
	tcase_add_test(tc, test_lovasz_ties_and_fallback);
	tcase_add_test(tc, test_confusion_equals_naive_count);
	tcase_add_test(tc, test_hard_sums_equal_one_hot);
	tcase_add_test(tc, test_two_classes_are_binary);
	tcase_add_test(tc, test_surface_box_equals_full);
	tcase_add_test(tc, test_binary_only_refused);
	tcase_set_timeout(tc, 60);
	suite_add_tcase(s, tc);
	sr = srunner_create(s);
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? 1 : 0;
}
