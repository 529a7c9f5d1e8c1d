/*
 * check_core_loss.c — every region and cross-entropy loss, by hand on a
 * four-pixel case and against naive per-pixel formulas (written here
 * straight from docs/losses.md, independent of the fused pass) on random
 * inputs, including exact 0 and 1 probabilities that exercise clipping.
 */
#include <check.h>
#include <math.h>
#include <stdint.h>
#include <stdlib.h>

#include "core/distloss.h"
#include "core/loss.h"
#include "core/pixstats.h"

#define EPS 1e-7

static uint64_t rng = 99;

static double urand(void)
{
	rng ^= rng << 13;
	rng ^= rng >> 7;
	rng ^= rng << 17;
	return (double)(rng >> 11) * 0x1.0p-53;
}

static double clip(double p)
{
	return p < EPS ? EPS : p > 1 - EPS ? 1 - EPS : p;
}

static void close_rel(double got, double want, const char *what)
{
	ck_assert_msg(fabs(got - want) <= 1e-10 * fabs(want) + 1e-12, "%s: got %.17g want %.17g", what, got, want);
}

/* Hand case: y = [1 0 1 0], p = [0.9 0.2 0.6 0]. */
static const uint8_t hy[4] = {1, 0, 1, 0};
static const float hp[4] = {0.9f, 0.2f, 0.6f, 0.0f};

START_TEST(test_bce_by_hand)
{
	pix_stats s;

	pix_stats_compute(hy, hp, 4, NULL, EPS, &s);
	/* -(ln .9 + ln .8 + ln .6 + ln(1 - 1e-7)) / 4, computed on paper with p as float32. */
	double want = -(log((double)0.9f) + log(1.0 - (double)0.2f) + log((double)0.6f) + log(1.0 - 1e-7)) / 4;
	ck_assert_double_eq_tol(want, 0.2098325, 1e-6); /* (0.1053605 + 0.2231436 + 0.5108256 + 1e-7) / 4 */
	close_rel(loss_bce(&s), want, "bce");
	ck_assert_double_eq(s.n_pos, 2.0);
	/* Dice gamma 2: 1 - 2(0.9+0.6)/(0.81+0.04+0.36 + 2) = 1 - 3/3.21. */
	ck_assert_double_eq_tol(loss_dice(&s, s.sp2, 0.0), 1.0 - 3.0 / 3.21, 1e-7);
	/* Jaccard: TP 1.5, FP 0.2, FN 0.5: 1 - 1.5/2.2. */
	ck_assert_double_eq_tol(loss_jaccard(&s, 0.0), 1.0 - 1.5 / 2.2, 1e-7);
	/* Tversky 0.3/0.7: 1 - 1.5/(1.5 + 0.06 + 0.35). */
	ck_assert_double_eq_tol(loss_tversky(&s, 0.3, 0.7, 0.0), 1.0 - 1.5 / 1.91, 1e-7);
	/* Sensitivity-specificity w=0.05: 0.05*(0.01+0.16)/2 + 0.95*(0.04+0)/2. */
	ck_assert_double_eq_tol(loss_sens_spec(&s, 0.05, 0.0), 0.05 * 0.17 / 2 + 0.95 * 0.04 / 2, 1e-7);
}
END_TEST

/* Naive per-pixel references. */
typedef struct naive {
	double bce, wbce, bbce, focal, dice, jac, tv, sens, combo, explog, gdice, dice1;
} naive;

static void naive_losses(const uint8_t *y, const float *pf, size_t n, naive *r)
{
	double sy = 0, sp = 0, spy = 0, sp2 = 0;
	for (size_t i = 0; i < n; i++) {
		sy += y[i];
		sp += pf[i];
		spy += pf[i] * (double)y[i];
		sp2 += (double)pf[i] * pf[i];
	}
	double beta_bal = (n - sy) / n;
	double bce = 0, wbce = 0, bbce = 0, focal = 0, combo_ce = 0, se1 = 0, se0 = 0, xl1 = 0, xl0 = 0;
	double fp = 0, fn = 0;
	for (size_t i = 0; i < n; i++) {
		double p = pf[i], ph = clip(p), t = y[i];
		bce += -(t * log(ph) + (1 - t) * log(1 - ph));
		wbce += -(2.5 * t * log(ph) + (1 - t) * log(1 - ph));
		bbce += -(beta_bal * t * log(ph) + (1 - beta_bal) * (1 - t) * log(1 - ph));
		focal += -(0.25 * t * pow(1 - ph, 2) * log(ph) + 0.75 * (1 - t) * pow(ph, 2) * log(1 - ph));
		combo_ce += -0.5 * (t * log(ph) + 0.5 * (1 - t) * log(1 - ph));
		se1 += (t - p) * (t - p) * t;
		se0 += (t - p) * (t - p) * (1 - t);
		if (t)
			xl1 += pow(-log(ph), 0.3);
		else
			xl0 += pow(-log(1 - ph), 0.3);
		fp += p * (1 - t);
		fn += (1 - p) * t;
	}
	double s = 1e-6;
	r->bce = bce / n;
	r->wbce = wbce / n;
	r->bbce = bbce / n;
	r->focal = focal / n;
	r->dice = 1 - (2 * spy + s) / (sp2 + sy + s);
	r->dice1 = 1 - (2 * spy + s) / (sp + sy + s);
	r->jac = 1 - (spy + s) / (sp + sy - spy + s);
	r->tv = 1 - (spy + s) / (spy + 0.3 * fp + 0.7 * fn + s);
	r->sens = 0.05 * se1 / (sy + s) + 0.95 * se0 / ((n - sy) + s);
	r->combo = 0.5 * combo_ce / n - 0.5 * (2 * spy + s) / (sp + sy + s);
	double n0 = n - sy;
	double dfg = (2 * spy + s) / (sp + sy + s);
	double dbg = (2 * (n - sp - sy + spy) + s) / ((n - sp) + n0 + s);
	double ld = 0.5 * (pow(-log(dfg), 0.3) + pow(-log(dbg), 0.3));
	double lc = ((sy > 0 ? sqrt(n / sy) * xl1 : 0) + (n0 > 0 ? sqrt(n / n0) * xl0 : 0)) / n;
	r->explog = 0.8 * ld + 0.2 * lc;
	double wf = 1 / (sy * sy), wb = 1 / (n0 * n0);
	r->gdice = 1 - (2 * (wf * spy + wb * (n - sp - sy + spy)) + s) /
			       (wf * (sp + sy) + wb * ((n - sp) + n0) + s);
}

START_TEST(test_random_against_naive)
{
	size_t sizes[] = {1, 3, 100, 4097, 20000};

	for (size_t k = 0; k < sizeof(sizes) / sizeof(sizes[0]); k++) {
		size_t n = sizes[k];
		uint8_t *y = malloc(n);
		float *p = malloc(n * sizeof(float));
		for (int trial = 0; trial < 4; trial++) {
			int pos = 0;
			for (size_t i = 0; i < n; i++) {
				y[i] = urand() < 0.3;
				pos += y[i];
				double u = urand();
				p[i] = (float)(u < 0.05 ? 0.0 : u > 0.95 ? 1.0 : u);
			}
			if (pos == 0 || pos == (int)n)
				continue; /* generalized dice / exp_log reference needs both classes */
			naive r;
			pix_stats s;
			naive_losses(y, p, n, &r);
			pix_stats_compute(y, p, n, NULL, EPS, &s);
			close_rel(loss_bce(&s), r.bce, "bce");
			close_rel(loss_weighted_bce(&s, 2.5), r.wbce, "weighted_bce");
			close_rel(loss_balanced_bce(&s), r.bbce, "balanced_bce");
			double foc[2] = {s.foc_pos, s.foc_neg};
			close_rel(loss_focal(s.n, 0.25, foc), r.focal, "focal");
			pix_focal_sums(y, p, n, NULL, EPS, 2.0, foc);
			close_rel(loss_focal(s.n, 0.25, foc), r.focal, "focal (generic gamma pass)");
			close_rel(loss_dice(&s, s.sp2, 1e-6), r.dice, "dice");
			close_rel(loss_dice(&s, pix_pow_sum(p, n, NULL, 1.0), 1e-6), r.dice1, "dice gamma 1");
			close_rel(loss_jaccard(&s, 1e-6), r.jac, "jaccard");
			close_rel(loss_tversky(&s, 0.3, 0.7, 1e-6), r.tv, "tversky");
			close_rel(loss_sens_spec(&s, 0.05, 1e-6), r.sens, "sensitivity_specificity");
			close_rel(loss_combo(&s, 0.5, 0.5, 1e-6), r.combo, "combo");
			double xl[2];
			pix_explog_sums(y, p, n, NULL, EPS, 0.3, xl);
			ck_assert_double_eq_tol(loss_exp_log(&s, xl, 0.8, 0.2, 0.3, 1e-6), r.explog,
						1e-9 * fabs(r.explog));
			ck_assert_double_eq_tol(loss_generalized_dice(&s, 1e-6), r.gdice, 1e-9);
		}
		free(y);
		free(p);
	}
}
END_TEST

START_TEST(test_clipping_keeps_logs_finite)
{
	/* p exactly 0 on foreground and 1 on background: every log term is -ln(1e-7). */
	uint8_t y[2] = {1, 0};
	float p[2] = {0.0f, 1.0f};
	pix_stats s;

	pix_stats_compute(y, p, 2, NULL, EPS, &s);
	ck_assert_double_eq_tol(loss_bce(&s), -log(1e-7), 1e-9);
	ck_assert(isfinite(loss_bce(&s)));
	/* A larger eps clips harder. */
	pix_stats_compute(y, p, 2, NULL, 1e-3, &s);
	ck_assert_double_eq_tol(loss_bce(&s), -log(1e-3), 1e-9);
}
END_TEST

START_TEST(test_empty_masks)
{
	uint8_t y[4] = {0};
	float p[4] = {0};
	pix_stats s;

	pix_stats_compute(y, p, 4, NULL, EPS, &s);
	/* Both empty: smooth makes dice s/s = 1, loss 0. */
	ck_assert_double_eq(loss_dice(&s, s.sp2, 1e-6), 0.0);
	ck_assert_double_eq(loss_jaccard(&s, 1e-6), 0.0);
	ck_assert(isnan(loss_dice(&s, s.sp2, 0.0)));
	/* Generalized dice with a missing foreground uses the background weight. */
	double g = loss_generalized_dice(&s, 1e-6);
	ck_assert(isfinite(g));
	ck_assert_double_eq_tol(g, 0.0, 1e-9);
}
END_TEST

START_TEST(test_boundary_and_hausdorff_dt_by_hand)
{
	/* Row [0 0 1 1 0]: phi = [2 1 0 0 1] (inside: -(1 - 1) = 0). */
	uint8_t y[5] = {0, 0, 1, 1, 0};
	float p[5] = {0.5f, 0.5f, 0.5f, 0.5f, 0.5f};
	double phi[5];
	double loss;

	ck_assert_int_eq(dist_signed_map(y, 5, 1, phi, NULL, NULL), SEG_OK);
	const double want[5] = {2, 1, 0, 0, 1};
	for (int i = 0; i < 5; i++)
		ck_assert_double_eq(phi[i], want[i]);
	ck_assert_int_eq(dist_boundary(y, p, 5, 1, &loss, NULL, NULL), SEG_OK);
	ck_assert_double_eq_tol(loss, 0.5 * 4 / 5, 1e-12);
	/* Wider object: inside pixels two away from the edge get -(2 - 1) = -1. */
	uint8_t y2[7] = {0, 1, 1, 1, 1, 1, 0};
	double phi2[7];
	ck_assert_int_eq(dist_signed_map(y2, 7, 1, phi2, NULL, NULL), SEG_OK);
	ck_assert_double_eq(phi2[3], -2.0);
	ck_assert_double_eq(phi2[2], -1.0);
	ck_assert_double_eq(phi2[1], 0.0);

	/* hausdorff_dt: P = [0 0 1 1 0] (p >= .5), y = [0 1 1 0 0]. */
	float p2[5] = {0.0f, 0.25f, 1.0f, 0.5f, 0.0f};
	uint8_t y3[5] = {0, 1, 1, 0, 0};
	/* d_P = [2 1 1 1 1], d_y = [1 1 1 1 2]; (p - y)^2 = [0 .5625 0 .25 0]. alpha 2:
	 * pixel 1: .5625 (1 + 1) = 1.125; pixel 3: .25 (1 + 1) = .5 -> mean 1.625 / 5. */
	ck_assert_int_eq(dist_hausdorff_dt(y3, p2, 5, 1, 2.0, &loss, NULL, NULL), SEG_OK);
	ck_assert_double_eq_tol(loss, 1.625 / 5, 1e-12);
	/* Empty target and prediction: all fields 0, loss 0. */
	uint8_t z[5] = {0};
	float pz[5] = {0};
	ck_assert_int_eq(dist_hausdorff_dt(z, pz, 5, 1, 2.0, &loss, NULL, NULL), SEG_OK);
	ck_assert_double_eq(loss, 0.0);
	ck_assert_int_eq(dist_boundary(z, pz, 5, 1, &loss, NULL, NULL), SEG_OK);
	ck_assert_double_eq(loss, 0.0);
}
END_TEST

/*
 * The histogram's level check divides in float: (float)k / qmax must be
 * the decoder's (float)((double)k / qmax) for every 8- and 16-bit level.
 */
START_TEST(test_level_values_exact_in_float)
{
	const uint32_t qmax[2] = {255, 65535};

	for (int b = 0; b < 2; b++)
		for (uint32_t k = 0; k <= qmax[b]; k++) {
			float f = (float)(int32_t)k / (float)qmax[b];
			float d = (float)((double)k / (double)qmax[b]);
			ck_assert_msg(f == d, "level %u/%u: %.9g vs %.9g", k, qmax[b], f, d);
		}
}
END_TEST

/* The level path (quantized predictions) gives the per-pixel path's sums, for 8- and 16-bit levels. */
START_TEST(test_histogram_path_agrees)
{
	size_t n = 50000;
	uint8_t *y = malloc(n);
	float *p = malloc(n * sizeof(float)), *w = malloc(n * sizeof(float));
	float *m1 = malloc(n * sizeof(float)), *m2 = malloc(n * sizeof(float));
	const double qmax[2] = {255.0, 65535.0};

	for (int b = 0; b < 2; b++) {
		for (size_t i = 0; i < n; i++) {
			y[i] = urand() < 0.4;
			p[i] = (float)(floor(urand() * (qmax[b] + 1)) / qmax[b]);
			w[i] = (float)(1 + urand() * 9);
		}
		p[0] = 0.0f;
		p[1] = 1.0f;
		pix_hist h;
		ck_assert_int_eq(pix_hist_build(y, p, n, &h), 1);
		ck_assert_uint_eq(h.levels, b ? 65536 : 256);
		pix_stats a, c;
		pix_stats_compute(y, p, n, NULL, EPS, &a);
		pix_stats_compute(y, p, n, &h, EPS, &c);
		const double *va = &a.n, *vc = &c.n;
		for (size_t k = 0; k < sizeof(a) / sizeof(double); k++)
			ck_assert_msg(fabs(va[k] - vc[k]) <= 1e-11 * fabs(va[k]) + 1e-12, "field %zu: %.17g vs %.17g", k, va[k],
				      vc[k]);
		double f1[2], f2[2];
		pix_focal_sums(y, p, n, NULL, EPS, 1.5, f1);
		pix_focal_sums(y, p, n, &h, EPS, 1.5, f2);
		close_rel(f2[0], f1[0], "focal pos");
		close_rel(f2[1], f1[1], "focal neg");
		pix_explog_sums(y, p, n, NULL, EPS, 0.3, f1);
		pix_explog_sums(y, p, n, &h, EPS, 0.3, f2);
		ck_assert_double_eq_tol(f2[0], f1[0], 1e-9 * f1[0]);
		ck_assert_double_eq_tol(f2[1], f1[1], 1e-9 * f1[1]);
		ck_assert_double_eq_tol(pix_pow_sum(p, n, &h, 2.5), pix_pow_sum(p, n, NULL, 2.5), 1e-9 * n);
		close_rel(pix_weighted_ce(y, p, w, n, &h, EPS), pix_weighted_ce(y, p, w, n, NULL, EPS), "weighted ce");
		pix_bce_map(y, p, n, NULL, EPS, m1);
		pix_bce_map(y, p, n, &h, EPS, m2);
		for (size_t i = 0; i < n; i++)
			ck_assert_float_eq_tol(m1[i], m2[i], 1e-6f * (1 + m1[i]));
		pix_hist_release(&h);
	}
	/* Not a level anywhere (first block, last partial block, one ulp off, NaN, < 0, > 1): no histogram. */
	const size_t at[3] = {77, n / 2, n - 1};
	const float bad[6] = {0.123456789f, nextafterf(100.0f / 255.0f, 1.0f), nextafterf(1.0f, 0.0f), NAN, -1.0f / 255.0f,
			      256.0f / 255.0f};
	for (int a = 0; a < 3; a++)
		for (int v = 0; v < 6; v++) {
			float keep = p[at[a]];
			pix_hist h;
			p[at[a]] = bad[v];
			ck_assert_msg(pix_hist_build(y, p, n, &h) == 0, "value %d at %zu taken for a level", v, at[a]);
			ck_assert_uint_eq(h.levels, 0);
			pix_hist_release(&h);
			p[at[a]] = keep;
		}
	free(y);
	free(p);
	free(w);
	free(m1);
	free(m2);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("core_loss");
	TCase *tc = tcase_create("loss");
	SRunner *sr;
	int failed;

	tcase_add_test(tc, test_bce_by_hand);
	tcase_add_test(tc, test_random_against_naive);
	tcase_add_test(tc, test_clipping_keeps_logs_finite);
	tcase_add_test(tc, test_level_values_exact_in_float);
	tcase_add_test(tc, test_histogram_path_agrees);
	tcase_add_test(tc, test_empty_masks);
	tcase_add_test(tc, test_boundary_and_hausdorff_dt_by_hand);
	suite_add_tcase(s, tc);
	sr = srunner_create(s);
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
