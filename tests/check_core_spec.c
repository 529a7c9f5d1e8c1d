/*
 * check_core_spec.c — the catalogue, spec parsing and validation, and the
 * evaluation plan (shared passes, nulls with warnings).
 */
#include <check.h>
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "core/eval.h"
#include "core/spec.h"

START_TEST(test_catalogue_is_complete)
{
	for (int fn = 0; fn < FN_COUNT; fn++) {
		const spec_info *info = spec_info_of((spec_fn)fn);
		ck_assert_ptr_nonnull(info->name);
		ck_assert_ptr_nonnull(info->formula);
		ck_assert_ptr_nonnull(info->edge);
		/* Every name resolves to itself, and defaults are within range. */
		spec s;
		ck_assert_int_eq(spec_init(&s, info->kind, info->name, NULL), SEG_OK);
		ck_assert_int_eq(s.fn, fn);
		for (const spec_param *p = info->params; p->name; p++) {
			ck_assert_ptr_nonnull(p->doc);
			if (p->type == SPEC_P_NUMBER) {
				double v;
				memcpy(&v, (char *)&s.par + p->offset, sizeof(v));
				ck_assert_double_eq(v, p->def);
				ck_assert(v >= p->min && v <= p->max);
			}
		}
	}
	ck_assert_ptr_null(spec_info_of(FN_COUNT));
}
END_TEST

START_TEST(test_defaults_from_the_issue)
{
	spec s;

	ck_assert_int_eq(spec_parse("focal", SPEC_LOSS, &s, NULL), SEG_OK);
	ck_assert_double_eq(s.par.alpha, 0.25);
	ck_assert_double_eq(s.par.gamma, 2);
	ck_assert_double_eq(s.par.eps, 1e-7);
	ck_assert_int_eq(spec_parse("tversky", SPEC_LOSS, &s, NULL), SEG_OK);
	ck_assert_double_eq(s.par.alpha, 0.3);
	ck_assert_double_eq(s.par.beta, 0.7);
	ck_assert_int_eq(spec_parse("focal_tversky", SPEC_LOSS, &s, NULL), SEG_OK);
	ck_assert_double_eq(s.par.gamma, 0.75);
	ck_assert_int_eq(spec_parse("dice", SPEC_LOSS, &s, NULL), SEG_OK);
	ck_assert_double_eq(s.par.gamma, 2);
	ck_assert_double_eq(s.par.smooth, 1e-6);
	ck_assert_int_eq(spec_parse("exp_log", SPEC_LOSS, &s, NULL), SEG_OK);
	ck_assert_double_eq(s.par.w_dice, 0.8);
	ck_assert_double_eq(s.par.gamma_cross, 0.3);
	ck_assert_int_eq(spec_parse("shape_aware", SPEC_LOSS, &s, NULL), SEG_OK);
	ck_assert_double_eq(s.par.wm.w0, 10);
	ck_assert_double_eq(s.par.wm.sigma, 5);
	ck_assert_int_eq(s.par.wm.connectivity, 8);
	ck_assert_int_eq(spec_parse("hausdorff95", SPEC_METRIC, &s, NULL), SEG_OK);
	ck_assert_double_eq(s.par.percentile, 95);
	ck_assert_double_eq(s.par.spacing[0], 1);
	ck_assert(isnan(spec_info_of(FN_M_DICE)->params[1].def));
	ck_assert_int_eq(spec_parse("dice", SPEC_METRIC, &s, NULL), SEG_OK);
	ck_assert(isnan(s.par.zero_division));
	ck_assert_double_eq(s.par.threshold, 0.5);
}
END_TEST

START_TEST(test_parse_parameters)
{
	spec s;
	seg_error err = {0};

	ck_assert_int_eq(spec_parse("focal:alpha=0.5,gamma=3,as=f2", SPEC_LOSS, &s, &err), SEG_OK);
	ck_assert_double_eq(s.par.alpha, 0.5);
	ck_assert_double_eq(s.par.gamma, 3);
	ck_assert_str_eq(s.key, "f2");
	ck_assert_int_eq(spec_parse("hausdorff95:spacing=[2,0.5],percentile=90", SPEC_METRIC, &s, &err), SEG_OK);
	ck_assert_double_eq(s.par.spacing[0], 2);
	ck_assert_double_eq(s.par.spacing[1], 0.5);
	ck_assert_double_eq(s.par.percentile, 90);
	ck_assert_int_eq(spec_parse("shape_aware:class_weights=[1,5],instances=components,connectivity=4",
				    SPEC_LOSS, &s, &err),
			 SEG_OK);
	ck_assert_int_eq(s.par.wm.class_mode, WMAP_CLASS_FIXED);
	ck_assert_double_eq(s.par.wm.class_w[1], 5);
	ck_assert_int_eq(s.par.wm.instances, WMAP_INST_COMPONENTS);
	ck_assert_int_eq(s.par.wm.connectivity, 4);
	ck_assert_int_eq(spec_parse("shape_aware:class_weights=none", SPEC_LOSS, &s, &err), SEG_OK);
	ck_assert_int_eq(s.par.wm.class_mode, WMAP_CLASS_NONE);
	ck_assert_int_eq(spec_parse("iou:zero_division=1", SPEC_METRIC, &s, &err), SEG_OK);
	ck_assert_double_eq(s.par.zero_division, 1);
	ck_assert_int_eq(spec_parse("iou:zero_division=null", SPEC_METRIC, &s, &err), SEG_OK);
	ck_assert(isnan(s.par.zero_division));
}
END_TEST

static void expect_error(const char *text, spec_kind kind, const char *msg)
{
	spec s;
	seg_error err = {0};

	ck_assert_int_eq(spec_parse(text, kind, &s, &err), SEG_EINVAL);
	ck_assert_int_eq(err.status, SEG_EINVAL);
	ck_assert_msg(strcmp(err.msg, msg) == 0, "'%s': got \"%s\"\nwanted \"%s\"", text, err.msg, msg);
}

START_TEST(test_parse_errors)
{
	expect_error("dcie", SPEC_LOSS, "unknown loss 'dcie' (did you mean 'dice'?)");
	expect_error("zzzzzzzz", SPEC_METRIC, "unknown metric 'zzzzzzzz'");
	expect_error("hausdorff95", SPEC_LOSS, "unknown loss 'hausdorff95': it is a metric");
	expect_error("dice:gama=2", SPEC_LOSS, "unknown parameter 'gama' for loss 'dice' (did you mean 'gamma'?)");
	expect_error("boundary:x=1", SPEC_LOSS, "unknown parameter 'x': loss 'boundary' takes no parameters");
	expect_error("dice:label_smoothing=0.1", SPEC_LOSS,
		     "loss 'dice' takes no parameter 'label_smoothing' (it is cross_entropy's)");
	expect_error("focal:alpha=2", SPEC_LOSS, "parameter 'alpha' of loss 'focal' must be in [0, 1], got 2");
	expect_error("bce:eps=0", SPEC_LOSS, "parameter 'eps' of loss 'bce' must be in (0, 0.5), got 0");
	expect_error("focal:alpha", SPEC_LOSS, "'alpha' in loss spec 'focal:alpha' is not key=value");
	expect_error("focal:alpha=abc", SPEC_LOSS,
		     "parameter 'alpha' of loss 'focal' must be a number, got 'abc'");
	expect_error("focal:alpha=nan", SPEC_LOSS,
		     "parameter 'alpha' of loss 'focal' must be a number, got 'nan'");
	expect_error("shape_aware:connectivity=6", SPEC_LOSS,
		     "parameter 'connectivity' of loss 'shape_aware' must be 4 or 8, got 6");
	expect_error("shape_aware:instances=all", SPEC_LOSS,
		     "parameter 'instances' of loss 'shape_aware' must be one of auto, labels, components, got 'all'");
	expect_error("hausdorff:spacing=[1,0]", SPEC_METRIC,
		     "parameter 'spacing' of metric 'hausdorff' must be in (0, 1e+06], got 0");
	expect_error("hausdorff:spacing=[1]", SPEC_METRIC,
		     "parameter 'spacing': '[1]' is not a list of two numbers [a,b]");
	expect_error("dice:threshold=null", SPEC_METRIC,
		     "parameter 'threshold' of metric 'dice' must be a number, got null");
	expect_error("dice:as=a b", SPEC_METRIC, "alias 'a b' may hold only letters, digits, '_', '.' and '-'");
	expect_error("", SPEC_LOSS, "empty loss name");
}
END_TEST

START_TEST(test_unique_keys)
{
	spec s[3];
	seg_error err = {0};

	spec_parse("dice", SPEC_LOSS, &s[0], NULL);
	spec_parse("dice", SPEC_METRIC, &s[1], NULL);
	ck_assert_int_eq(spec_check_unique(s, 2, &err), SEG_OK); /* different kinds */
	spec_parse("dice:gamma=1", SPEC_LOSS, &s[2], NULL);
	ck_assert_int_eq(spec_check_unique(s, 3, &err), SEG_EINVAL);
	ck_assert_str_eq(err.msg, "duplicate loss key 'dice': give one of them another name with \"as\"");
	spec_parse("dice:gamma=1,as=dice1", SPEC_LOSS, &s[2], NULL);
	ck_assert_int_eq(spec_check_unique(s, 3, &err), SEG_OK);
}
END_TEST

START_TEST(test_eval_plan_and_nulls)
{
	/* Empty target and empty prediction. */
	uint8_t fg[16] = {0};
	float p[16] = {0};
	seg_target t = {4, 4, fg, NULL, 0};
	seg_pred pr = {4, 4, p};
	const char *names[] = {"dice", "iou", "precision", "accuracy", "hausdorff95", "surface_dice",
			       "iou:zero_division=1,as=iou1"};
	spec s[8];
	double v[8];
	eval_warnings warn;
	seg_error err = {0};

	for (int i = 0; i < 7; i++)
		ck_assert_int_eq(spec_parse(names[i], SPEC_METRIC, &s[i], NULL), SEG_OK);
	ck_assert_int_eq(spec_parse("dice", SPEC_LOSS, &s[7], NULL), SEG_OK);
	ck_assert_int_eq(eval_run(&t, &pr, s, 8, v, &warn, NULL, &err), SEG_OK);
	ck_assert(isnan(v[0]) && isnan(v[1]) && isnan(v[2]));
	ck_assert_double_eq(v[3], 1.0);
	ck_assert(isnan(v[4]) && isnan(v[5]));
	ck_assert_double_eq(v[6], 1.0);
	ck_assert_double_eq(v[7], 0.0);
	ck_assert_int_eq(warn.count, 5);
	ck_assert_str_eq(warn.msg[0], "metric 'dice' is null: 0/0 because the prediction and the target are "
				      "both empty (threshold 0.5); set zero_division to choose a value");
	ck_assert_str_eq(warn.msg[3], "metric 'hausdorff95' is null: the prediction and the target are both "
				      "empty (threshold 0.5)");

	/* One side empty: distances null, surface_dice 0. */
	fg[5] = 1;
	ck_assert_int_eq(eval_run(&t, &pr, s, 8, v, &warn, NULL, &err), SEG_OK);
	ck_assert(isnan(v[4]));
	ck_assert_double_eq(v[5], 0.0);
	ck_assert_str_eq(warn.msg[warn.count - 1],
			 "metric 'hausdorff95' is null: the prediction is empty (threshold 0.5)");
	/* A 0/0 loss (smooth 0, both empty) is null with a warning. */
	fg[5] = 0;
	spec_parse("dice:smooth=0", SPEC_LOSS, &s[0], NULL);
	ck_assert_int_eq(eval_run(&t, &pr, s, 1, v, &warn, NULL, &err), SEG_OK);
	ck_assert(isnan(v[0]));
	ck_assert_str_eq(warn.msg[0], "loss 'dice' is null: it is undefined for this input (0/0)");
}
END_TEST

START_TEST(test_eval_size_mismatch)
{
	uint8_t fg[6] = {0};
	float p[6] = {0};
	seg_target t = {3, 2, fg, NULL, 0};
	seg_pred pr = {2, 3, p};
	spec s;
	double v;
	eval_warnings warn;
	seg_error err = {0};

	spec_parse("bce", SPEC_LOSS, &s, NULL);
	ck_assert_int_eq(eval_run(&t, &pr, &s, 1, &v, &warn, NULL, &err), SEG_EINVAL);
	ck_assert_str_eq(err.msg, "prediction is 2x3 but target is 3x2");
}
END_TEST

START_TEST(test_defaults_list)
{
	spec d[8];
	size_t n = spec_defaults(d, 8);

	ck_assert_uint_eq(n, 6);
	ck_assert_str_eq(d[0].key, "bce");
	ck_assert_str_eq(d[3].key, "shape_aware");
	ck_assert_int_eq(d[4].fn, FN_M_DICE);
	ck_assert_int_eq(d[5].fn, FN_M_IOU);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("core_spec");
	TCase *tc = tcase_create("spec");
	SRunner *sr;
	int failed;

	tcase_add_test(tc, test_catalogue_is_complete);
	tcase_add_test(tc, test_defaults_from_the_issue);
	tcase_add_test(tc, test_parse_parameters);
	tcase_add_test(tc, test_parse_errors);
	tcase_add_test(tc, test_unique_keys);
	tcase_add_test(tc, test_eval_plan_and_nulls);
	tcase_add_test(tc, test_eval_size_mismatch);
	tcase_add_test(tc, test_defaults_list);
	suite_add_tcase(s, tc);
	sr = srunner_create(s);
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
