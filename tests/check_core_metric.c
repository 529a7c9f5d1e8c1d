/*
 * check_core_metric.c — confusion counts, overlap ratios, percentiles and
 * surface distances against hand values and brute force.
 */
#include <check.h>
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "core/metric.h"

static uint64_t rng = 1234;

static double urand(void)
{
	rng ^= rng << 13;
	rng ^= rng >> 7;
	rng ^= rng << 17;
	return (double)(rng >> 11) * 0x1.0p-53;
}

static int cmp(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;
	return (x > y) - (x < y);
}

/* NumPy's linear percentile on a sorted copy. */
static double ref_percentile(const double *v, size_t n, double q)
{
	double *s = malloc(n * sizeof(double));
	memcpy(s, v, n * sizeof(double));
	qsort(s, n, sizeof(double), cmp);
	double pos = q / 100.0 * (double)(n - 1);
	size_t lo = (size_t)floor(pos);
	size_t hi = lo + 1 < n ? lo + 1 : n - 1;
	double t = pos - lo;
	double r = t >= 0.5 ? s[hi] - (s[hi] - s[lo]) * (1 - t) : s[lo] + (s[hi] - s[lo]) * t;
	free(s);
	return r;
}

START_TEST(test_confusion_and_ratios)
{
	uint8_t y[6] = {1, 1, 0, 0, 1, 0};
	float p[6] = {0.9f, 0.4f, 0.5f, 0.1f, 0.5f, 0.49f};
	metric_counts c;
	double num, den;

	metric_confusion(y, p, 6, 0.5, &c);
	/* A = [1 0 1 0 1 0]: TP 2, FP 1, FN 1, TN 2. */
	ck_assert_double_eq(c.tp, 2);
	ck_assert_double_eq(c.fp, 1);
	ck_assert_double_eq(c.fn, 1);
	ck_assert_double_eq(c.tn, 2);
	metric_ratio(&c, METRIC_DICE, &num, &den);
	ck_assert_double_eq(num / den, 4.0 / 6.0);
	metric_ratio(&c, METRIC_IOU, &num, &den);
	ck_assert_double_eq(num / den, 2.0 / 4.0);
	metric_ratio(&c, METRIC_SPECIFICITY, &num, &den);
	ck_assert_double_eq(num / den, 2.0 / 3.0);
	metric_ratio(&c, METRIC_ACCURACY, &num, &den);
	ck_assert_double_eq(num / den, 4.0 / 6.0);
	/* Threshold exactly at a value: p >= t counts, compared in float32 (0.9f < 0.9 in double). */
	metric_confusion(y, p, 6, 0.9, &c);
	ck_assert_double_eq(c.tp, 1);
	metric_confusion(y, p, 6, 0.49, &c);
	ck_assert_double_eq(c.fp, 2);
	metric_confusion(y, p, 6, 0.4900001, &c);
	ck_assert_double_eq(c.fp, 1);
}
END_TEST

START_TEST(test_percentile_by_hand)
{
	double v[4] = {4, 1, 3, 2};

	ck_assert_double_eq_tol(metric_percentile(v, 4, 95), 3.85, 1e-12);
	ck_assert_double_eq_tol(metric_percentile(v, 4, 50), 2.5, 1e-12);
	ck_assert_double_eq(metric_percentile(v, 4, 0), 1);
	ck_assert_double_eq(metric_percentile(v, 4, 100), 4);
	double one[1] = {7};
	ck_assert_double_eq(metric_percentile(one, 1, 95), 7);
}
END_TEST

START_TEST(test_percentile_random)
{
	for (int trial = 0; trial < 200; trial++) {
		size_t n = 1 + (size_t)(urand() * 300);
		double *v = malloc(n * sizeof(double)), *copy = malloc(n * sizeof(double));
		for (size_t i = 0; i < n; i++)
			v[i] = floor(urand() * 20) * (trial % 2 ? 1.0 : 0.5); /* many ties */
		double q = trial % 5 == 0 ? 95 : urand() * 100;
		memcpy(copy, v, n * sizeof(double));
		ck_assert_double_eq_tol(metric_percentile(copy, n, q), ref_percentile(v, n, q), 1e-12);
		free(v);
		free(copy);
	}
}
END_TEST

/* Brute-force boundary: foreground with a 4-neighbour outside or on the image border. */
static int is_edge(const uint8_t *m, int w, int h, int x, int y)
{
	if (!m[y * w + x])
		return 0;
	if (x == 0 || y == 0 || x == w - 1 || y == h - 1)
		return 1;
	return !m[y * w + x - 1] || !m[y * w + x + 1] || !m[(y - 1) * w + x] || !m[(y + 1) * w + x];
}

static size_t brute_dirs(const uint8_t *a, const uint8_t *b, int w, int h, const double sp[2], double *out)
{
	size_t k = 0;
	for (int y = 0; y < h; y++)
		for (int x = 0; x < w; x++) {
			if (!is_edge(a, w, h, x, y))
				continue;
			double best = INFINITY;
			for (int v = 0; v < h; v++)
				for (int u = 0; u < w; u++) {
					if (!is_edge(b, w, h, u, v))
						continue;
					double dy = (y - v) * sp[0], dx = (x - u) * sp[1];
					double d = sqrt(dx * dx + dy * dy);
					best = d < best ? d : best;
				}
			out[k++] = best;
		}
	return k;
}

START_TEST(test_boundary_by_hand)
{
	/* A full 3x3 block inside a 5x5 image: boundary is its 8 outer pixels. */
	uint8_t m[25] = {0};
	for (int y = 1; y <= 3; y++)
		for (int x = 1; x <= 3; x++)
			m[y * 5 + x] = 1;
	metric_surface s;
	double sp[2] = {1, 1};
	ck_assert_int_eq(metric_surface_compute(m, m, 5, 5, sp, &s, NULL, NULL), SEG_OK);
	ck_assert_uint_eq(s.na, 8);
	ck_assert_double_eq(metric_hausdorff(&s), 0.0);
	ck_assert_double_eq(metric_surface_dice(&s, 0.0), 1.0);
	metric_surface_release(&s);
	/* A full image: every border pixel is boundary (the border counts as outside). */
	uint8_t full[12];
	memset(full, 1, sizeof(full));
	ck_assert_int_eq(metric_surface_compute(full, full, 4, 3, sp, &s, NULL, NULL), SEG_OK);
	ck_assert_uint_eq(s.na, 10);
	metric_surface_release(&s);
	/* Empty mask: no boundary, nothing allocated. */
	uint8_t empty[12] = {0};
	ck_assert_int_eq(metric_surface_compute(empty, full, 4, 3, sp, &s, NULL, NULL), SEG_OK);
	ck_assert_uint_eq(s.na, 0);
	ck_assert_uint_eq(s.nb, 10);
	ck_assert_double_eq(metric_surface_dice(&s, 1.0), 0.0);
	metric_surface_release(&s);
}
END_TEST

START_TEST(test_surface_random_against_brute_force)
{
	int w = 37, h = 29;
	size_t n = (size_t)w * h;
	uint8_t *a = malloc(n), *b = malloc(n);
	double *ab = malloc(n * sizeof(double)), *ba = malloc(n * sizeof(double));
	static const double spacings[][2] = {{1, 1}, {2, 0.5}};

	for (int trial = 0; trial < 10; trial++) {
		for (size_t i = 0; i < n; i++) {
			a[i] = urand() < 0.35;
			b[i] = urand() < 0.2 + 0.05 * trial;
		}
		const double *sp = spacings[trial % 2];
		metric_surface s;
		ck_assert_int_eq(metric_surface_compute(a, b, w, h, sp, &s, NULL, NULL), SEG_OK);
		size_t na = brute_dirs(a, b, w, h, sp, ab);
		size_t nb = brute_dirs(b, a, w, h, sp, ba);
		ck_assert_uint_eq(s.na, na);
		ck_assert_uint_eq(s.nb, nb);
		double hd = 0, sum = 0;
		size_t hit = 0;
		for (size_t i = 0; i < na; i++) {
			hd = ab[i] > hd ? ab[i] : hd;
			sum += ab[i];
			hit += ab[i] <= 1.5;
		}
		for (size_t i = 0; i < nb; i++) {
			hd = ba[i] > hd ? ba[i] : hd;
			sum += ba[i];
			hit += ba[i] <= 1.5;
		}
		ck_assert_double_eq_tol(metric_hausdorff(&s), hd, 1e-6);
		ck_assert_double_eq_tol(metric_assd(&s), sum / (na + nb), 1e-6);
		ck_assert_double_eq_tol(metric_surface_dice(&s, 1.5), (double)hit / (na + nb), 1e-12);
		double p1 = ref_percentile(ab, na, 95), p2 = ref_percentile(ba, nb, 95);
		ck_assert_double_eq_tol(metric_hausdorff_pct(&s, 95), p1 > p2 ? p1 : p2, 1e-6);
		metric_surface_release(&s);
	}
	free(a);
	free(b);
	free(ab);
	free(ba);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("core_metric");
	TCase *tc = tcase_create("metric");
	SRunner *sr;
	int failed;

	tcase_add_test(tc, test_confusion_and_ratios);
	tcase_add_test(tc, test_percentile_by_hand);
	tcase_add_test(tc, test_percentile_random);
	tcase_add_test(tc, test_boundary_by_hand);
	tcase_add_test(tc, test_surface_random_against_brute_force);
	tcase_set_timeout(tc, 60);
	suite_add_tcase(s, tc);
	sr = srunner_create(s);
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
