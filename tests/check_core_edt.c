/*
 * check_core_edt.c — the distance transform, against hand values and a
 * brute-force transform on random masks (with anisotropic spacing).
 */
#include <check.h>
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "core/edt.h"

static uint64_t rng = 42;

static double urand(void)
{
	rng ^= rng << 13;
	rng ^= rng >> 7;
	rng ^= rng << 17;
	return (double)(rng >> 11) * 0x1.0p-53;
}

/* Brute force: distance to the nearest pixel with (mask != 0) == want. */
static void brute(const uint8_t *m, int w, int h, int want, double sy, double sx, double *out)
{
	for (int y = 0; y < h; y++) {
		for (int x = 0; x < w; x++) {
			double best = INFINITY;
			for (int v = 0; v < h; v++) {
				for (int u = 0; u < w; u++) {
					if ((m[v * w + u] != 0) != (want != 0))
						continue;
					double dy = (y - v) * sy, dx = (x - u) * sx;
					double d = sqrt(dy * dy + dx * dx);
					if (d < best)
						best = d;
				}
			}
			out[y * w + x] = best;
		}
	}
}

START_TEST(test_row_by_hand)
{
	uint8_t m[5] = {0, 0, 1, 0, 0};
	double out[5];
	const double want[5] = {2, 1, 0, 1, 2};

	ck_assert_int_eq(edt_dist(m, 5, 1, 1, NULL, out, NULL, NULL), SEG_OK);
	for (int i = 0; i < 5; i++)
		ck_assert_double_eq(out[i], want[i]);
	/* want = 0: the scipy convention, distance of each foreground pixel to background. */
	uint8_t m2[5] = {1, 1, 1, 1, 0};
	const double want2[5] = {4, 3, 2, 1, 0};
	ck_assert_int_eq(edt_dist(m2, 5, 1, 0, NULL, out, NULL, NULL), SEG_OK);
	for (int i = 0; i < 5; i++)
		ck_assert_double_eq(out[i], want2[i]);
}
END_TEST

START_TEST(test_diagonal_by_hand)
{
	/* 3x3 with the feature in a corner: distances sqrt(dy^2 + dx^2). */
	uint8_t m[9] = {1, 0, 0, 0, 0, 0, 0, 0, 0};
	double out[9];

	ck_assert_int_eq(edt_dist(m, 3, 3, 1, NULL, out, NULL, NULL), SEG_OK);
	ck_assert_double_eq(out[8], sqrt(8.0));
	ck_assert_double_eq(out[5], sqrt(5.0));
	ck_assert_double_eq(out[4], sqrt(2.0));
	/* Spacing [2, 1]: rows are 2 apart. */
	double sp[2] = {2.0, 1.0};
	ck_assert_int_eq(edt_dist(m, 3, 3, 1, sp, out, NULL, NULL), SEG_OK);
	ck_assert_double_eq(out[3], 2.0);
	ck_assert_double_eq(out[8], sqrt(16.0 + 4.0));
}
END_TEST

START_TEST(test_no_feature_is_infinite)
{
	uint8_t m[6] = {1, 1, 1, 1, 1, 1};
	double out[6];

	ck_assert_int_eq(edt_dist(m, 3, 2, 0, NULL, out, NULL, NULL), SEG_OK);
	for (int i = 0; i < 6; i++)
		ck_assert(isinf(out[i]));
}
END_TEST

START_TEST(test_random_against_brute_force)
{
	static const double spacings[][2] = {{1, 1}, {2, 1}, {0.5, 1.75}};
	int sizes[][2] = {{1, 1}, {7, 1}, {1, 9}, {13, 11}, {32, 17}, {40, 40}};

	for (size_t s = 0; s < sizeof(sizes) / sizeof(sizes[0]); s++) {
		int w = sizes[s][0], h = sizes[s][1];
		uint8_t *m = malloc((size_t)w * h);
		double *got = malloc((size_t)w * h * sizeof(double));
		double *ref = malloc((size_t)w * h * sizeof(double));
		for (int density = 0; density < 3; density++) {
			double pfg = density == 0 ? 0.02 : density == 1 ? 0.3 : 0.9;
			for (int i = 0; i < w * h; i++)
				m[i] = urand() < pfg;
			for (size_t k = 0; k < 3; k++) {
				for (int want = 0; want < 2; want++) {
					ck_assert_int_eq(edt_dist(m, w, h, want, spacings[k], got, NULL, NULL), SEG_OK);
					brute(m, w, h, want, spacings[k][0], spacings[k][1], ref);
					for (int i = 0; i < w * h; i++) {
						if (isinf(ref[i])) {
							ck_assert(isinf(got[i]));
							continue;
						}
						ck_assert_msg(fabs(got[i] - ref[i]) <= 1e-12 * (1 + ref[i]),
							      "size %dx%d pixel %d: %g vs %g", w, h, i, got[i], ref[i]);
					}
				}
			}
		}
		free(m);
		free(got);
		free(ref);
	}
}
END_TEST

/*
 * Unit spacing builds the row envelope in 64-bit integers, whose products
 * grow with the square of a side: at the largest sides allowed
 * (SEG_MAX_SIDE, 2^20) the distances to a single feature at the corner
 * are still exact.
 */
START_TEST(test_integer_envelope_at_the_largest_sides)
{
	int shapes[2][2] = {{3, SEG_MAX_SIDE}, {SEG_MAX_SIDE, 2}};

	for (int k = 0; k < 2; k++) {
		int w = shapes[k][0], h = shapes[k][1];
		uint8_t *m = calloc((size_t)w * h, 1);
		double *out = malloc((size_t)w * h * sizeof(double));
		ck_assert_ptr_nonnull(m);
		ck_assert_ptr_nonnull(out);
		m[0] = 1;
		ck_assert_int_eq(edt_dist(m, w, h, 1, NULL, out, NULL, NULL), SEG_OK);
		for (int64_t y = 0; y < h; y++)
			for (int64_t x = 0; x < w; x++) {
				double want = sqrt((double)(y * y + x * x));
				if (out[y * w + x] != want)
					ck_abort_msg("%dx%d: pixel (%lld, %lld) is %.17g, want %.17g", w, h, (long long)y,
						     (long long)x, out[y * w + x], want);
			}
		free(m);
		free(out);
	}
}
END_TEST

/*
 * edt_sample gives edt_dist's values at the wanted pixels and in
 * row-major order: sparse and dense samples, rows with none, an image
 * without features (infinite), and anisotropic spacing. Bit for bit when
 * the spacings are dyadic (every candidate distance is exact); with
 * 0.3 x 0.7 two features at the same true distance may round apart, and
 * the outward search and the envelope may pick different ones, so there
 * the values agree to 1e-14 relative.
 */
START_TEST(test_sample_equals_full)
{
	static const double spacings[][2] = {{1, 1}, {0.5, 1.75}, {0.3, 0.7}};
	int w = 61, h = 37;
	size_t n = (size_t)w * h;
	uint8_t *m = malloc(n), *at = malloc(n);
	double *full = malloc(n * sizeof(double)), *got = malloc(n * sizeof(double));

	for (int density = 0; density < 4; density++) {
		double pfg = density == 0 ? 0.0 : density == 1 ? 0.01 : density == 2 ? 0.3 : 0.95;
		for (size_t i = 0; i < n; i++)
			m[i] = urand() < pfg;
		for (int sparse = 0; sparse < 2; sparse++) {
			for (size_t i = 0; i < n; i++) {
				int row = (int)(i / (size_t)w);
				at[i] = row % 5 != 2 && urand() < (sparse ? 0.05 : 0.7); /* every fifth row: none */
			}
			at[0] = 1; /* the first and last pixels */
			at[n - 1] = 1;
			for (int sp = 0; sp < 3; sp++)
				for (int want = 0; want < 2; want++) {
					ck_assert_int_eq(edt_dist(m, w, h, want, spacings[sp], full, NULL, NULL), SEG_OK);
					for (size_t i = 0; i < n; i++)
						got[i] = -1.0;
					ck_assert_int_eq(edt_sample(m, w, h, want, spacings[sp], at, got, NULL, NULL), SEG_OK);
					size_t j = 0;
					for (size_t i = 0; i < n; i++) {
						if (!at[i])
							continue;
						double tol = sp == 2 ? 1e-14 * full[i] : 0.0;
						ck_assert_msg(fabs(got[j] - full[i]) <= tol || (isinf(got[j]) && isinf(full[i])),
							      "pixel %zu (sample %zu): %.17g vs %.17g", i, j, got[j], full[i]);
						j++;
					}
					ck_assert(j == n || got[j] == -1.0); /* nothing written past the samples */
				}
		}
	}
	free(m);
	free(at);
	free(full);
	free(got);
}
END_TEST

/* A seg_par that runs its tasks in reverse order in this thread, and claims four lanes. */
static void run_reversed(void *ctx, size_t n, void (*fn)(void *arg, size_t i), void *arg)
{
	(void)ctx;
	for (size_t i = n; i-- > 0;)
		fn(arg, i);
}

/*
 * With lanes to share, the transform works in strips of a few rows, each
 * started from the nearest feature rows above and below it: the same
 * values as one strip and as brute force, whatever order the strips run
 * in, with strips and columns that hold no feature, features only at the
 * top or the bottom, and anisotropic spacing.
 */
START_TEST(test_strips_in_any_order)
{
	static const double spacings[][2] = {{1, 1}, {0.5, 1.75}};
	int sizes[][2] = {{23, 100}, {9, 64}, {70, 33}, {1, 90}};
	seg_par par = {run_reversed, NULL, 4};

	for (size_t s = 0; s < sizeof(sizes) / sizeof(sizes[0]); s++) {
		int w = sizes[s][0], h = sizes[s][1];
		size_t n = (size_t)w * h;
		uint8_t *m = malloc(n);
		double *one = malloc(n * sizeof(double)), *got = malloc(n * sizeof(double));
		double *ref = malloc(n * sizeof(double));
		for (int layout = 0; layout < 5; layout++) {
			for (size_t i = 0; i < n; i++) {
				int y = (int)(i / (size_t)w);
				double pfg = layout == 0 ? 0.01 : layout == 1 ? 0.3 : layout == 2 ? 0.97 : 0.2;
				int keep = layout == 3 ? y < 3 : layout == 4 ? y >= h - 2 : 1;
				m[i] = keep && urand() < pfg;
			}
			for (size_t k = 0; k < 2; k++)
				for (int want = 0; want < 2; want++) {
					ck_assert_int_eq(edt_dist(m, w, h, want, spacings[k], one, NULL, NULL), SEG_OK);
					ck_assert_int_eq(edt_dist(m, w, h, want, spacings[k], got, &par, NULL), SEG_OK);
					brute(m, w, h, want, spacings[k][0], spacings[k][1], ref);
					/* edt_sample through strips: the full transform's values at every other pixel. */
					uint8_t *at = malloc(n);
					double *smp = malloc(n * sizeof(double));
					for (size_t i = 0; i < n; i++)
						at[i] = i % 2 == 0;
					ck_assert_int_eq(edt_sample(m, w, h, want, spacings[k], at, smp, &par, NULL), SEG_OK);
					for (size_t i = 0; i < n; i += 2)
						ck_assert(memcmp(&smp[i / 2], &one[i], sizeof(double)) == 0);
					free(at);
					free(smp);
					for (size_t i = 0; i < n; i++) {
						ck_assert_msg(memcmp(&got[i], &one[i], sizeof(double)) == 0,
							      "%dx%d layout %d pixel %zu: strips %.17g, one strip %.17g", w, h,
							      layout, i, got[i], one[i]);
						if (isinf(ref[i]))
							ck_assert(isinf(got[i]));
						else
							ck_assert_msg(fabs(got[i] - ref[i]) <= 1e-12 * (1 + ref[i]),
								      "%dx%d pixel %zu: %g vs %g", w, h, i, got[i], ref[i]);
					}
				}
		}
		free(m);
		free(one);
		free(got);
		free(ref);
	}
}
END_TEST

START_TEST(test_bad_arguments)
{
	uint8_t m[1] = {0};
	double out[1];
	double bad[2] = {0.0, 1.0};
	seg_error err = {0};

	ck_assert_int_eq(edt_dist(m, 0, 1, 1, NULL, out, NULL, &err), SEG_EINVAL);
	ck_assert_int_eq(edt_dist(m, 1, 1, 1, bad, out, NULL, &err), SEG_EINVAL);
	ck_assert_str_eq(err.msg, "edt: spacing must be positive and finite");
}
END_TEST

int main(void)
{
	Suite *s = suite_create("core_edt");
	TCase *tc = tcase_create("edt");
	SRunner *sr;
	int failed;

	tcase_add_test(tc, test_row_by_hand);
	tcase_add_test(tc, test_diagonal_by_hand);
	tcase_add_test(tc, test_no_feature_is_infinite);
	tcase_add_test(tc, test_random_against_brute_force);
	tcase_add_test(tc, test_integer_envelope_at_the_largest_sides);
	tcase_add_test(tc, test_sample_equals_full);
	tcase_add_test(tc, test_strips_in_any_order);
	tcase_add_test(tc, test_bad_arguments);
	tcase_set_timeout(tc, 60);
	suite_add_tcase(s, tc);
	sr = srunner_create(s);
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
