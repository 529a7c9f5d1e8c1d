/*
 * check_fixtures.c — every loss, metric and weight map against the
 * independent NumPy/SciPy/scikit-image reference (tests/ref/), whose
 * expected values are committed in tests/fixtures/cases.json.
 *
 * Inputs go through the real codecs (PNG and .npy of every kind the
 * reference wrote), so this suite checks decoding conventions and
 * numbers together. Tolerances: 1e-9 relative for losses and metrics
 * (the reference and the core differ only in summation order and the
 * last bits of log/exp/pow); 1e-6 relative for shape_aware, whose weight
 * map is float32 and band-limited to 1e-6; 1e-5 absolute for weight maps
 * (see wmap.h).
 */
#include <check.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cJSON.h>

#include "codec/mask.h"
#include "core/eval.h"
#include "core/spec.h"
#include "core/wmap.h"
#include "testutil.h"

#define CASES "tests/fixtures/cases.json"
#define MAX_PX (64u * 1024 * 1024)

static cJSON *cases;

/* Runs in main, outside any test: plain checks, not ck_assert. */
static void load_cases(void)
{
	size_t len;
	uint8_t *text = tu_read_file(CASES, &len);

	if (text == NULL) {
		fprintf(stderr, "cannot read %s (run from the project root)\n", CASES);
		exit(EXIT_FAILURE);
	}
	cases = cJSON_ParseWithLength((const char *)text, len);
	free(text);
	if (cases == NULL) {
		fprintf(stderr, "%s is not valid JSON\n", CASES);
		exit(EXIT_FAILURE);
	}
}

static void free_cases(void)
{
	cJSON_Delete(cases);
}

static void decode_case(const cJSON *c, seg_target *t, seg_pred *p)
{
	const char *tp = cJSON_GetObjectItem(c, "target")->valuestring;
	const char *pp = cJSON_GetObjectItem(c, "prediction")->valuestring;
	int logits = cJSON_IsTrue(cJSON_GetObjectItem(c, "logits"));
	size_t tl, pl;
	uint8_t *tb = tu_read_file(tp, &tl), *pb = tu_read_file(pp, &pl);
	seg_error err = {0};

	ck_assert_msg(tb && pb, "cannot read %s or %s", tp, pp);
	ck_assert_msg(mask_decode_target(tb, tl, MAX_PX, t, &err) == SEG_OK, "%s: %s", tp, err.msg);
	ck_assert_msg(mask_decode_pred(pb, pl, MAX_PX, logits, p, &err) == SEG_OK, "%s: %s", pp, err.msg);
	ck_assert_msg(mask_check_sizes(t, p, &err) == SEG_OK, "%s", err.msg);
	free(tb);
	free(pb);
}

/* Checks every key of section ("losses" or "metrics") of case c. */
static int check_section(const cJSON *c, const seg_target *t, const seg_pred *p, const char *section,
			 spec_kind kind)
{
	const char *name = cJSON_GetObjectItem(c, "name")->valuestring;
	const cJSON *sec = cJSON_GetObjectItem(c, section), *item;
	const cJSON *warned = cJSON_GetObjectItem(c, "warnings_expected");
	int n = cJSON_GetArraySize(sec), k = 0, checked = 0;
	spec *specs = calloc((size_t)n, sizeof(*specs));
	double *values = calloc((size_t)n, sizeof(*values));
	eval_warnings *warn = calloc(1, sizeof(*warn));
	seg_error err = {0};

	cJSON_ArrayForEach(item, sec)
	{
		ck_assert_msg(spec_parse(item->string, kind, &specs[k], &err) == SEG_OK, "%s: %s", name, err.msg);
		/* Keys with parameters become their own alias, so they are unique. */
		snprintf(specs[k].key, sizeof(specs[k].key), "k%d", k);
		k++;
	}
	/* Evaluate in chunks so the warning list never overflows. */
	for (int base = 0; base < n; base += 16) {
		int m = n - base < 16 ? n - base : 16;
		ck_assert_msg(eval_run(t, p, specs + base, (size_t)m, values + base, warn, NULL, &err) == SEG_OK,
			      "%s: %s", name, err.msg);
	}
	k = 0;
	cJSON_ArrayForEach(item, sec)
	{
		double got = values[k];
		if (cJSON_IsNull(item)) {
			ck_assert_msg(isnan(got), "%s %s '%s': got %.17g, expected null", name, section, item->string,
				      got);
			int listed = 0;
			const cJSON *wv;
			cJSON_ArrayForEach(wv, warned) listed |= strcmp(wv->valuestring, item->string) == 0;
			ck_assert_msg(listed || kind == SPEC_LOSS, "%s: null '%s' not in warnings_expected", name,
				      item->string);
		} else {
			double want = item->valuedouble;
			double rel = specs[k].fn == FN_SHAPE_AWARE ? 1e-6 : 1e-9;
			ck_assert_msg(tu_close(got, want, rel, 1e-12), "%s %s '%s': got %.17g, want %.17g (diff %.3g)",
				      name, section, item->string, got, want, got - want);
		}
		checked++;
		k++;
	}
	free(specs);
	free(values);
	free(warn);
	return checked;
}

static int check_weight_maps(const cJSON *c, const seg_target *t)
{
	const char *name = cJSON_GetObjectItem(c, "name")->valuestring;
	const cJSON *maps = cJSON_GetObjectItem(c, "weight_maps"), *item;
	size_t n = (size_t)t->width * (size_t)t->height;
	float *w = malloc(n * sizeof(*w));
	int checked = 0;

	cJSON_ArrayForEach(item, maps)
	{
		char text[256];
		spec s;
		seg_error err = {0};
		int rw, rh;
		snprintf(text, sizeof(text), "weight%s%s", item->string[0] ? ":" : "", item->string);
		ck_assert_msg(spec_parse(text, SPEC_MAP, &s, &err) == SEG_OK, "%s: %s", name, err.msg);
		ck_assert_msg(wmap_compute(t, &s.par.wm, w, NULL, &err) == SEG_OK, "%s: %s", name, err.msg);
		double *ref = tu_read_npy_f64(item->valuestring, &rw, &rh);
		ck_assert_msg(ref != NULL, "cannot read %s", item->valuestring);
		ck_assert_int_eq(rw, t->width);
		ck_assert_int_eq(rh, t->height);
		double worst = 0;
		size_t at = 0;
		for (size_t i = 0; i < n; i++) {
			double d = fabs(w[i] - ref[i]);
			if (d > worst) {
				worst = d;
				at = i;
			}
		}
		ck_assert_msg(worst <= 1e-5, "%s weight map '%s': off by %.3g at row %zu col %zu (%.9g vs %.9g)", name,
			      item->string, worst, at / t->width, at % t->width, w[at], ref[at]);
		free(ref);
		checked++;
	}
	free(w);
	return checked;
}

START_TEST(test_case)
{
	const cJSON *c = cJSON_GetArrayItem(cJSON_GetObjectItem(cases, "cases"), _i);
	seg_target t = {0};
	seg_pred p = {0};

	ck_assert_ptr_nonnull(c);
	decode_case(c, &t, &p);
	int n = check_section(c, &t, &p, "losses", SPEC_LOSS);
	n += check_section(c, &t, &p, "metrics", SPEC_METRIC);
	n += check_weight_maps(c, &t);
	ck_assert_int_gt(n, 0);
	seg_target_release(&t);
	seg_pred_release(&p);
}
END_TEST

START_TEST(test_every_function_is_covered)
{
	/* Each catalogue loss and metric of binary requests appears in the fixtures with its defaults. */
	const cJSON *c = cJSON_GetArrayItem(cJSON_GetObjectItem(cases, "cases"), 0);

	for (int fn = 0; fn < FN_COUNT; fn++) {
		const spec_info *info = spec_info_of((spec_fn)fn);
		const char *section = info->kind == SPEC_LOSS ? "losses" : info->kind == SPEC_METRIC ? "metrics" : NULL;
		/* Multi-class only functions are covered by the multi-class fixtures. */
		if (section == NULL || !(info->modes & SPEC_BINARY))
			continue;
		ck_assert_msg(cJSON_GetObjectItem(cJSON_GetObjectItem(c, section), info->name) != NULL,
			      "%s '%s' has no fixture", section, info->name);
	}
}
END_TEST

int main(void)
{
	Suite *s = suite_create("fixtures");
	TCase *tc = tcase_create("reference");
	SRunner *sr;
	int failed, ncases;

	load_cases();
	ncases = cJSON_GetArraySize(cJSON_GetObjectItem(cases, "cases"));
	tcase_add_unchecked_fixture(tc, NULL, free_cases);
	tcase_add_loop_test(tc, test_case, 0, ncases);
	tcase_add_test(tc, test_every_function_is_covered);
	tcase_set_timeout(tc, 120);
	suite_add_tcase(s, tc);
	sr = srunner_create(s);
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
