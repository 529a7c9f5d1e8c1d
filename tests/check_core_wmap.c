/*
 * check_core_wmap.c — instance labelling and the U-Net weight map:
 * hand-computed cases, and the band-limited map against a brute-force
 * per-instance computation (flood-fill labels, full distance to every
 * instance, sort) on random instance images.
 */
#include <check.h>
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "core/label.h"
#include "core/wmap.h"

static uint64_t rng = 7;

static double urand(void)
{
	rng ^= rng << 13;
	rng ^= rng >> 7;
	rng ^= rng << 17;
	return (double)(rng >> 11) * 0x1.0p-53;
}

/* Reference labelling by iterative flood fill in raster order. */
static uint32_t flood_label(const uint8_t *fg, int w, int h, int conn, uint32_t *lab)
{
	int *stack = malloc(sizeof(int) * (size_t)w * h);
	uint32_t k = 0;

	memset(lab, 0, sizeof(uint32_t) * (size_t)w * h);
	for (int i = 0; i < w * h; i++) {
		if (!fg[i] || lab[i])
			continue;
		int top = 0;
		lab[i] = ++k;
		stack[top++] = i;
		while (top) {
			int j = stack[--top], y = j / w, x = j % w;
			for (int dy = -1; dy <= 1; dy++) {
				for (int dx = -1; dx <= 1; dx++) {
					if ((dx == 0 && dy == 0) || (conn == 4 && dx && dy))
						continue;
					int v = y + dy, u = x + dx;
					if (v < 0 || v >= h || u < 0 || u >= w)
						continue;
					int q = v * w + u;
					if (fg[q] && !lab[q]) {
						lab[q] = k;
						stack[top++] = q;
					}
				}
			}
		}
	}
	free(stack);
	return k;
}

/* Reference weight map: full distance to every instance, two smallest, no band. */
static void brute_wmap(const uint8_t *fg, const uint32_t *inst, uint32_t K, int w, int h, double w0,
		       double sigma, const double cw[2], double *out)
{
	double *d = malloc(sizeof(double) * (K + 1));

	for (int y = 0; y < h; y++) {
		for (int x = 0; x < w; x++) {
			int i = y * w + x;
			out[i] = cw[fg[i] != 0];
			if (fg[i] || K < 2)
				continue;
			for (uint32_t k = 1; k <= K; k++)
				d[k] = INFINITY;
			for (int q = 0; q < w * h; q++) {
				if (!inst[q])
					continue;
				double dy = y - q / w, dx = x - q % w;
				double dd = sqrt(dx * dx + dy * dy);
				if (dd < d[inst[q]])
					d[inst[q]] = dd;
			}
			double d1 = INFINITY, d2 = INFINITY;
			for (uint32_t k = 1; k <= K; k++) {
				if (d[k] < d1) {
					d2 = d1;
					d1 = d[k];
				} else if (d[k] < d2) {
					d2 = d[k];
				}
			}
			out[i] += w0 * exp(-(d1 + d2) * (d1 + d2) / (2 * sigma * sigma));
		}
	}
	free(d);
}

START_TEST(test_components_connectivity)
{
	/* Two diagonal pixels: one component with 8-connectivity, two with 4. */
	uint8_t fg[9] = {1, 0, 0, 0, 1, 0, 0, 0, 0};
	uint32_t lab[9];
	uint32_t k;

	ck_assert_int_eq(label_components(fg, 3, 3, 8, lab, &k, NULL), SEG_OK);
	ck_assert_uint_eq(k, 1);
	ck_assert_int_eq(label_components(fg, 3, 3, 4, lab, &k, NULL), SEG_OK);
	ck_assert_uint_eq(k, 2);
	ck_assert_uint_eq(lab[0], 1);
	ck_assert_uint_eq(lab[4], 2);
	ck_assert_int_eq(label_components(fg, 3, 3, 6, lab, &k, NULL), SEG_EINVAL);
}
END_TEST

START_TEST(test_components_match_flood_fill)
{
	int w = 61, h = 37;
	uint8_t *fg = malloc((size_t)w * h);
	uint32_t *a = malloc(sizeof(uint32_t) * w * h), *b = malloc(sizeof(uint32_t) * w * h);

	for (int trial = 0; trial < 20; trial++) {
		double density = 0.2 + 0.03 * trial;
		for (int i = 0; i < w * h; i++)
			fg[i] = urand() < density;
		for (int conn = 4; conn <= 8; conn += 4) {
			uint32_t ka, kb;
			ck_assert_int_eq(label_components(fg, w, h, conn, a, &ka, NULL), SEG_OK);
			kb = flood_label(fg, w, h, conn, b);
			ck_assert_uint_eq(ka, kb);
			/* Same numbering: raster order of first pixel. */
			ck_assert_mem_eq(a, b, sizeof(uint32_t) * w * h);
		}
	}
	free(fg);
	free(a);
	free(b);
}
END_TEST

/*
 * Labelling by runs: widths around the eight-byte steps, one row, one
 * column, any non-zero byte as foreground, full and empty rows, long
 * runs that touch several runs above: the flood fill's labels and order.
 */
START_TEST(test_components_runs_edges)
{
	static const int sizes[][2] = {{1, 1}, {1, 40}, {40, 1}, {7, 9}, {8, 8}, {9, 13}, {15, 6}, {16, 16},
				       {17, 11}, {64, 5}, {100, 30}};

	for (size_t s = 0; s < sizeof(sizes) / sizeof(sizes[0]); s++) {
		int w = sizes[s][0], h = sizes[s][1];
		size_t n = (size_t)w * h;
		uint8_t *fg = malloc(n);
		uint32_t *a = malloc(n * sizeof(uint32_t)), *b = malloc(n * sizeof(uint32_t));
		for (int trial = 0; trial < 12; trial++) {
			for (size_t i = 0; i < n; i++) {
				int y = (int)(i / (size_t)w);
				double density = trial < 4 ? 0.1 * (trial + 1) : trial < 8 ? 0.9 : 0.5;
				fg[i] = urand() < density ? (uint8_t)(1 + (int)(urand() * 255)) : 0;
				if (trial == 8 && y % 3 == 0)
					fg[i] = 1; /* full rows join everything around them */
				if (trial == 9 && y % 2 == 0)
					fg[i] = 0;
			}
			for (int conn = 4; conn <= 8; conn += 4) {
				uint32_t ka, kb;
				ck_assert_int_eq(label_components(fg, w, h, conn, a, &ka, NULL), SEG_OK);
				kb = flood_label(fg, w, h, conn, b);
				ck_assert_uint_eq(ka, kb);
				ck_assert_mem_eq(a, b, sizeof(uint32_t) * n);
			}
		}
		free(fg);
		free(a);
		free(b);
	}
}
END_TEST

START_TEST(test_compact_order)
{
	uint32_t raw[8] = {0, 70000, 5, 0, 5, 0xffffff, 70000, 0};
	uint32_t out[8], k;
	const uint32_t want[8] = {0, 1, 2, 0, 2, 3, 1, 0};

	ck_assert_int_eq(label_compact(raw, 8, out, &k, NULL), SEG_OK);
	ck_assert_uint_eq(k, 3);
	ck_assert_mem_eq(out, want, sizeof(want));
	/* Many distinct values force the map to grow. */
	uint32_t *many = malloc(sizeof(uint32_t) * 5000);
	for (uint32_t i = 0; i < 5000; i++)
		many[i] = (i * 2654435761u) | 1u;
	ck_assert_int_eq(label_compact(many, 5000, many, &k, NULL), SEG_OK);
	ck_assert_uint_eq(k, 5000);
	ck_assert_uint_eq(many[4999], 5000);
	free(many);
}
END_TEST

START_TEST(test_two_pixels_by_hand)
{
	/* Row [1 0 0 0 1]: two instances; background pixels have d1 + d2 = 4. */
	uint8_t fg[5] = {1, 0, 0, 0, 1};
	seg_target t = {5, 1, fg, NULL, 0};
	wmap_params p;
	wmap_info info;
	float w[5];

	wmap_params_default(&p);
	ck_assert_int_eq(wmap_compute(&t, &p, w, &info, NULL), SEG_OK);
	ck_assert_uint_eq(info.instances, 2);
	/* balanced: n_fg = 2 is rarer -> 1; background 2/3. Border: 10 exp(-16/50) = 7.2614903707. */
	ck_assert_double_eq_tol(w[0], 1.0, 1e-7);
	ck_assert_double_eq_tol(w[4], 1.0, 1e-7);
	for (int i = 1; i < 4; i++)
		ck_assert_double_eq_tol(w[i], 2.0 / 3.0 + 7.2614903707, 1e-5);
	/* class_weights none, w0 = 1, sigma = 2: 1 + exp(-16/8). */
	p.class_mode = WMAP_CLASS_NONE;
	p.w0 = 1;
	p.sigma = 2;
	ck_assert_int_eq(wmap_compute(&t, &p, w, NULL, NULL), SEG_OK);
	ck_assert_double_eq_tol(w[2], 1.0 + exp(-2.0), 1e-6);
	ck_assert_double_eq_tol(w[0], 1.0, 1e-7);
}
END_TEST

START_TEST(test_one_instance_has_no_border_term)
{
	uint8_t fg[12] = {0, 1, 1, 0, 0, 1, 1, 0, 0, 0, 0, 0};
	seg_target t = {4, 3, fg, NULL, 0};
	wmap_params p;
	float w[12];

	wmap_params_default(&p);
	p.class_mode = WMAP_CLASS_FIXED;
	p.class_w[0] = 0.5;
	p.class_w[1] = 3;
	ck_assert_int_eq(wmap_compute(&t, &p, w, NULL, NULL), SEG_OK);
	for (int i = 0; i < 12; i++)
		ck_assert_double_eq(w[i], fg[i] ? 3.0 : 0.5);
}
END_TEST

START_TEST(test_labels_mode_touching_instances)
{
	/* Two touching instances with distinct labels: 'auto' uses labels (2), 'components' sees 1. */
	uint8_t fg[8] = {1, 1, 1, 1, 0, 0, 0, 0};
	uint32_t lab[8] = {7, 7, 9, 9, 0, 0, 0, 0};
	seg_target t = {4, 2, fg, lab, 0};
	wmap_params p;
	wmap_info info;
	float w[8];

	wmap_params_default(&p);
	ck_assert_int_eq(wmap_compute(&t, &p, w, &info, NULL), SEG_OK);
	ck_assert_uint_eq(info.instances, 2);
	/* Pixel (row 1, col 1): d1 = 1 (to label 7 at col 1), d2 = sqrt(2) (to label 9 at col 2). */
	double s = 1.0 + sqrt(2.0);
	ck_assert_double_eq_tol(w[5], 1.0 + 10.0 * exp(-s * s / 50.0), 1e-5);
	p.instances = WMAP_INST_COMPONENTS;
	ck_assert_int_eq(wmap_compute(&t, &p, w, &info, NULL), SEG_OK);
	ck_assert_uint_eq(info.instances, 1);
	ck_assert_double_eq(w[5], 1.0);
}
END_TEST

START_TEST(test_random_against_brute_force)
{
	int w = 72, h = 56;
	size_t n = (size_t)w * h;
	uint8_t *fg = malloc(n);
	uint32_t *inst = malloc(n * sizeof(uint32_t));
	float *got = malloc(n * sizeof(float));
	double *ref = malloc(n * sizeof(double));

	for (int trial = 0; trial < 12; trial++) {
		/* Random discs; some overlap and merge. */
		memset(fg, 0, n);
		int discs = 2 + trial * 2;
		for (int d = 0; d < discs; d++) {
			double cx = urand() * w, cy = urand() * h, r = 1 + urand() * 5;
			for (int y = 0; y < h; y++)
				for (int x = 0; x < w; x++)
					if ((x - cx) * (x - cx) + (y - cy) * (y - cy) <= r * r)
						fg[y * w + x] = 1;
		}
		wmap_params p;
		wmap_params_default(&p);
		p.connectivity = trial % 2 ? 4 : 8;
		p.sigma = trial % 3 ? 5.0 : 2.5;
		p.w0 = trial % 4 ? 10.0 : 25.0;
		seg_target t = {w, h, fg, NULL, 0};
		wmap_info info;
		ck_assert_int_eq(wmap_compute(&t, &p, got, &info, NULL), SEG_OK);
		uint32_t K = flood_label(fg, w, h, p.connectivity, inst);
		ck_assert_uint_eq(info.instances, K);
		brute_wmap(fg, inst, K, w, h, p.w0, p.sigma, info.class_w, ref);
		for (size_t i = 0; i < n; i++)
			ck_assert_msg(fabs(got[i] - ref[i]) <= 1e-5, "trial %d pixel %zu: %.9g vs %.9g", trial, i,
				      got[i], ref[i]);
	}
	free(fg);
	free(inst);
	free(got);
	free(ref);
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
 * Shared among lanes, rows of the map go to tasks that each visit the
 * bands reaching them: the same map bit for bit as one task, for
 * components and labels, class weights per pixel, and bands cut by
 * several task boundaries.
 */
START_TEST(test_row_tasks_same_map)
{
	int w = 90, h = 333;
	size_t n = (size_t)w * h;
	uint8_t *fg = malloc(n);
	uint32_t *labels = malloc(n * sizeof(uint32_t));
	float *one = malloc(n * sizeof(float)), *got = malloc(n * sizeof(float)), *cw = malloc(n * sizeof(float));
	seg_par par = {run_reversed, NULL, 4};

	for (int trial = 0; trial < 6; trial++) {
		memset(fg, 0, n);
		memset(labels, 0, n * sizeof(uint32_t));
		int discs = 3 + trial * 7;
		for (int d = 0; d < discs; d++) {
			double cx = urand() * w, cy = urand() * h, r = 2 + urand() * (trial == 0 ? 60 : 9);
			for (int y = 0; y < h; y++)
				for (int x = 0; x < w; x++)
					if ((x - cx) * (x - cx) + (y - cy) * (y - cy) <= r * r) {
						fg[y * w + x] = 1;
						labels[y * w + x] = (uint32_t)(d + 1);
					}
		}
		for (size_t i = 0; i < n; i++)
			cw[i] = (float)(0.5 + urand());
		wmap_params p;
		wmap_params_default(&p);
		seg_target t = {w, h, fg, trial % 2 ? labels : NULL, 0};
		wmap_info a, b;
		ck_assert_int_eq(wmap_compute(&t, &p, one, &a, NULL), SEG_OK);
		ck_assert_int_eq(wmap_run(&t, &p, NULL, &par, got, &b, NULL), SEG_OK);
		ck_assert_uint_eq(a.instances, b.instances);
		ck_assert(trial == 0 || a.instances >= 2); /* large merging discs may make one */
		ck_assert(memcmp(one, got, n * sizeof(float)) == 0);
		ck_assert_int_eq(wmap_compute_weighted(&t, &p, cw, one, NULL, NULL), SEG_OK);
		ck_assert_int_eq(wmap_run(&t, &p, cw, &par, got, NULL, NULL), SEG_OK);
		ck_assert(memcmp(one, got, n * sizeof(float)) == 0);
	}
	free(fg);
	free(labels);
	free(one);
	free(got);
	free(cw);
}
END_TEST

START_TEST(test_bad_parameters)
{
	wmap_params p;
	seg_error err = {0};

	wmap_params_default(&p);
	p.sigma = 0;
	ck_assert_int_eq(wmap_params_check(&p, &err), SEG_EINVAL);
	ck_assert_str_eq(err.msg, "sigma must be a finite number > 0");
	wmap_params_default(&p);
	p.connectivity = 6;
	ck_assert_int_eq(wmap_params_check(&p, &err), SEG_EINVAL);
	wmap_params_default(&p);
	p.w0 = -1;
	ck_assert_int_eq(wmap_params_check(&p, &err), SEG_EINVAL);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("core_wmap");
	TCase *tc = tcase_create("wmap");
	SRunner *sr;
	int failed;

	tcase_add_test(tc, test_components_connectivity);
	tcase_add_test(tc, test_components_match_flood_fill);
	tcase_add_test(tc, test_components_runs_edges);
	tcase_add_test(tc, test_compact_order);
	tcase_add_test(tc, test_two_pixels_by_hand);
	tcase_add_test(tc, test_one_instance_has_no_border_term);
	tcase_add_test(tc, test_labels_mode_touching_instances);
	tcase_add_test(tc, test_random_against_brute_force);
	tcase_add_test(tc, test_row_tasks_same_map);
	tcase_add_test(tc, test_bad_parameters);
	tcase_set_timeout(tc, 120);
	suite_add_tcase(s, tc);
	sr = srunner_create(s);
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
