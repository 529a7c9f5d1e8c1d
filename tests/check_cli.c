/*
 * check_cli.c — the segloss command as a user runs it: the JSON it prints,
 * the files it writes, and its errors (non-zero exit, one line on stderr,
 * nothing on stdout). The binary comes from $SEGLOSS_BIN (set by make).
 */
#include <check.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cJSON.h>

#include "codec/mask.h"
#include "codec/pngio.h"
#include "testutil.h"

#define FIX "tests/fixtures/"

static const char *bin(void)
{
	const char *b = getenv("SEGLOSS_BIN");
	return b ? b : "build/release/segloss";
}

/* Runs segloss with the arguments up to a NULL; returns the exit status. */
static int run(char **out, char **err, ...)
{
	const char *argv[24] = {bin()};
	int n = 1;
	va_list ap;

	va_start(ap, err);
	while (n < 23 && (argv[n] = va_arg(ap, const char *)) != NULL)
		n++;
	va_end(ap);
	argv[n] = NULL;
	return tu_run((char *const *)argv, out, err);
}
#define RUN(out, err, ...) run(out, err, __VA_ARGS__, (const char *)NULL)

static cJSON *expected_case(const char *name)
{
	size_t len;
	uint8_t *text = tu_read_file(FIX "cases.json", &len);
	cJSON *all = cJSON_Parse((const char *)text), *c, *found = NULL;
	free(text);
	cJSON_ArrayForEach(c, cJSON_GetObjectItem(all, "cases")) if (strcmp(cJSON_GetObjectItem(c, "name")->valuestring,
									      name) == 0) found =
		cJSON_Duplicate(c, 1);
	cJSON_Delete(all);
	ck_assert_ptr_nonnull(found);
	return found;
}

/* An error: status, empty stdout, exactly one line on stderr equal to msg. */
static void expect_error(int status, int want_status, char *out, char *err, const char *msg)
{
	ck_assert_int_eq(status, want_status);
	ck_assert_str_eq(out, "");
	ck_assert_msg(strncmp(err, msg, strlen(msg)) == 0, "stderr was: %s\nwanted prefix: %s", err, msg);
	if (want_status == 1) {
		ck_assert_msg(strchr(err, '\n') == err + strlen(err) - 1, "stderr is not one line: %s", err);
	}
	free(out);
	free(err);
}

START_TEST(test_list_is_the_catalogue)
{
	char *out, *err;
	ck_assert_int_eq(RUN(&out, &err, "list"), 0);
	cJSON *cat = cJSON_Parse(out);
	ck_assert_ptr_nonnull(cat);
	ck_assert_int_eq(cJSON_GetArraySize(cJSON_GetObjectItem(cat, "losses")), 18);
	ck_assert_int_eq(cJSON_GetArraySize(cJSON_GetObjectItem(cat, "metrics")), 11);
	cJSON *focal = cJSON_GetArrayItem(cJSON_GetObjectItem(cat, "losses"), 3);
	ck_assert_str_eq(cJSON_GetObjectItem(focal, "name")->valuestring, "focal");
	cJSON *alpha = cJSON_GetArrayItem(cJSON_GetObjectItem(focal, "parameters"), 0);
	ck_assert_str_eq(cJSON_GetObjectItem(alpha, "name")->valuestring, "alpha");
	ck_assert_double_eq(cJSON_GetObjectItem(alpha, "default")->valuedouble, 0.25);
	ck_assert_ptr_nonnull(cJSON_GetObjectItem(cat, "conventions"));
	cJSON_Delete(cat);
	free(out);
	free(err);
}
END_TEST

START_TEST(test_eval_defaults_match_reference)
{
	char *out, *err;
	cJSON *want = expected_case("blobs_soft8");
	ck_assert_int_eq(RUN(&out, &err, "eval", "--target", FIX "blobs_soft8/target.png", "--prediction",
			     FIX "blobs_soft8/prediction.png"),
			 0);
	ck_assert_str_eq(err, "");
	cJSON *got = cJSON_Parse(out);
	ck_assert_ptr_nonnull(got);
	ck_assert_int_eq(cJSON_GetObjectItem(got, "width")->valueint, 64);
	const char *losses[] = {"bce", "weighted_bce", "dice", "shape_aware"};
	for (int i = 0; i < 4; i++) {
		double g = cJSON_GetObjectItem(cJSON_GetObjectItem(got, "losses"), losses[i])->valuedouble;
		double w = cJSON_GetObjectItem(cJSON_GetObjectItem(want, "losses"), losses[i])->valuedouble;
		/* shape_aware: the weight map is float32 and band-limited to 1e-6 (docs/losses.md). */
		double rel = strcmp(losses[i], "shape_aware") == 0 ? 1e-6 : 1e-9;
		ck_assert_msg(tu_close(g, w, rel, 1e-12), "%s: %.17g vs %.17g", losses[i], g, w);
	}
	ck_assert_int_eq(cJSON_GetArraySize(cJSON_GetObjectItem(got, "losses")), 4);
	ck_assert_int_eq(cJSON_GetArraySize(cJSON_GetObjectItem(got, "metrics")), 2);
	ck_assert_int_eq(cJSON_GetArraySize(cJSON_GetObjectItem(got, "warnings")), 0);
	cJSON_Delete(got);
	cJSON_Delete(want);
	free(out);
	free(err);
}
END_TEST

START_TEST(test_eval_specs_aliases_and_nulls)
{
	char *out, *err;
	ck_assert_int_eq(RUN(&out, &err, "eval", "--target", FIX "both_empty/target.npy", "--prediction",
			     FIX "both_empty/prediction.npy", "--loss", "focal:alpha=0.5,gamma=3,as=f", "--metric",
			     "iou"),
			 0);
	cJSON *got = cJSON_Parse(out);
	ck_assert_ptr_nonnull(cJSON_GetObjectItem(cJSON_GetObjectItem(got, "losses"), "f"));
	ck_assert(cJSON_IsNull(cJSON_GetObjectItem(cJSON_GetObjectItem(got, "metrics"), "iou")));
	cJSON *w = cJSON_GetObjectItem(got, "warnings");
	ck_assert_int_eq(cJSON_GetArraySize(w), 1);
	ck_assert_ptr_nonnull(strstr(cJSON_GetArrayItem(w, 0)->valuestring, "'iou' is null"));
	cJSON_Delete(got);
	free(out);
	free(err);
}
END_TEST

START_TEST(test_eval_errors)
{
	char *out, *err;
	int st;

	st = RUN(&out, &err, "eval", "--target", "/nonexistent.png", "--prediction", FIX "perfect/prediction.png");
	expect_error(st, 1, out, err, "segloss: cannot open '/nonexistent.png': No such file or directory");
	st = RUN(&out, &err, "eval", "--target", FIX "perfect/target.png", "--prediction",
		 FIX "perfect/prediction.png", "--loss", "dcie");
	expect_error(st, 1, out, err, "segloss: unknown loss 'dcie' (did you mean 'dice'?)");
	st = RUN(&out, &err, "eval", "--target", FIX "blobs_soft8/target.png", "--prediction",
		 FIX "bin01_nonsquare/prediction.png");
	expect_error(st, 1, out, err, "segloss: prediction is 80x48 but target is 64x64");
	st = RUN(&out, &err, "eval", "--target", "README.md", "--prediction", FIX "perfect/prediction.png");
	expect_error(st, 1, out, err, "segloss: target is neither a PNG nor a .npy file");
	/* A JSON file is read as an annotation tool's export: one that is none is refused naming the forms. */
	st = RUN(&out, &err, "eval", "--target", FIX "cases.json", "--prediction", FIX "perfect/prediction.png");
	expect_error(st, 1, out, err, "segloss: target: a MASK needs one of \"coco_rle\"");
	st = RUN(&out, &err, "eval", "--target", FIX "blobs_soft8/target.png", "--prediction",
		 FIX "rgb_instances/target.png");
	/* A colour PNG of many colours is a label map, not a hard mask: refused with the colours it holds. */
	expect_error(st, 1, out, err, "segloss: prediction is a colour PNG holding the colours #");
	st = RUN(&out, &err, "eval", "--target", FIX "perfect/target.png", "--prediction",
		 FIX "perfect/prediction.png", "--loss", "dice", "--loss", "dice:gamma=1");
	expect_error(st, 1, out, err, "segloss: duplicate loss key 'dice'");
	st = RUN(&out, &err, "eval", "--target", FIX "perfect/target.png");
	expect_error(st, 2, out, err, "segloss: eval needs --target and --prediction");
	st = RUN(&out, &err, "frobnicate");
	expect_error(st, 2, out, err, "segloss: unknown command 'frobnicate'");
}
END_TEST

START_TEST(test_truncated_png_is_an_error)
{
	char *out, *err;
	size_t len;
	uint8_t *png = tu_read_file(FIX "blobs_soft8/target.png", &len);
	char path[] = "/tmp/segloss_truncXXXXXX";
	int fd = mkstemp(path);

	ck_assert_int_ge(fd, 0);
	close(fd);
	ck_assert_int_eq(tu_write_file(path, png, len / 2), 0);
	int st = RUN(&out, &err, "eval", "--target", path, "--prediction", FIX "blobs_soft8/prediction.png");
	expect_error(st, 1, out, err, "segloss: target: png: ");
	unlink(path);
	free(png);
}
END_TEST

START_TEST(test_weight_map_files)
{
	char *out, *err;
	char npy[] = "/tmp/segloss_wmXXXXXX.npy", png[] = "/tmp/segloss_wmXXXXXX.png";
	int fd = mkstemps(npy, 4);
	close(fd);
	fd = mkstemps(png, 4);
	close(fd);

	ck_assert_int_eq(RUN(&out, &err, "weight-map", "--target", FIX "inst16_touching/target.png", "-o", npy), 0);
	cJSON *info = cJSON_Parse(out);
	ck_assert_int_gt(cJSON_GetObjectItem(info, "instances")->valueint, 1);
	ck_assert_double_gt(cJSON_GetObjectItem(info, "max")->valuedouble, 1.0);
	cJSON_Delete(info);
	free(out);
	free(err);
	int w, h;
	double *got = tu_read_npy_f64(npy, &w, &h);
	double *ref = tu_read_npy_f64(FIX "inst16_touching/wmap.npy", &w, &h);
	ck_assert_ptr_nonnull(got);
	ck_assert_ptr_nonnull(ref);
	for (int i = 0; i < w * h; i++)
		ck_assert_double_le(fabs(got[i] - ref[i]), 1e-5);
	free(got);
	free(ref);

	ck_assert_int_eq(RUN(&out, &err, "weight-map", "--target", FIX "inst16_touching/target.png", "--w0", "5",
			     "--class-weights", "1,3", "-o", png),
			 0);
	free(out);
	free(err);
	size_t len;
	uint8_t *data = tu_read_file(png, &len);
	ck_assert(pngio_is_png(data, len));
	free(data);

	int st = RUN(&out, &err, "weight-map", "--target", FIX "inst16_touching/target.png", "-o", "/tmp/x.tiff");
	expect_error(st, 2, out, err, "segloss: output '/tmp/x.tiff' must end in .npy or .png");
	st = RUN(&out, &err, "weight-map", "--target", FIX "inst16_touching/target.png", "--sigma", "0", "-o", npy);
	expect_error(st, 1, out, err, "segloss: parameter 'sigma' of map 'weight' must be in (0, 1e+06], got 0");
	unlink(npy);
	unlink(png);
}
END_TEST

#define FMT FIX "formats/"

/* The printed value of key in the JSON object text out (borrowed), as compact JSON; caller frees. */
static char *printed(const char *out, const char *key)
{
	cJSON *o = cJSON_Parse(out);
	char *text;

	ck_assert_msg(o != NULL, "not JSON: %s", out);
	ck_assert_msg(cJSON_GetObjectItem(o, key) != NULL, "no \"%s\" in %s", key, out);
	text = cJSON_PrintUnformatted(cJSON_GetObjectItem(o, key));
	cJSON_Delete(o);
	return text;
}

/* Runs eval on target and the coins prediction (a CVAT export); the losses and metrics as JSON text. */
static void eval_coins(const char *target, char **losses, char **metrics)
{
	char *out, *err;
	int st = RUN(&out, &err, "eval", "--target", target, "--prediction", FMT "coins.cvat.json", "--loss", "bce",
		     "--loss", "shape_aware", "--metric", "iou", "--metric", "hausdorff95");

	ck_assert_msg(st == 0, "%s: exit %d, %s", target, st, err);
	ck_assert_str_eq(err, "");
	*losses = printed(out, "losses");
	*metrics = printed(out, "metrics");
	free(out);
	free(err);
}

/* Runs weight-map on target into npy; the printed instances, and the file's bytes. */
static uint8_t *weight_map_coins(const char *target, const char *npy, int *instances, size_t *len)
{
	char *out, *err;
	int st = RUN(&out, &err, "weight-map", "--target", target, "-o", npy);
	cJSON *o;

	ck_assert_msg(st == 0, "%s: exit %d, %s", target, st, err);
	ck_assert_str_eq(err, "");
	o = cJSON_Parse(out);
	ck_assert_ptr_nonnull(o);
	*instances = cJSON_GetObjectItem(o, "instances")->valueint;
	cJSON_Delete(o);
	free(out);
	free(err);
	return tu_read_file(npy, len);
}

/*
 * Annotation tools' exports as files: every coins fixture (COCO RLE,
 * compressed or as counts, a COCO file, a results file, COCO polygon
 * annotations, Label Studio, CVAT points and XML attributes) evaluates
 * and gives the weight map exactly as the same mask as a PNG, against a
 * prediction that is itself an export.
 */
START_TEST(test_exports_as_files)
{
	static const struct {
		const char *mask, *png;
		int objects;
	} forms[] = {
		{FMT "coins.coco_rle.json", FMT "coins.png", 23},
		{FMT "coins.coco_counts.json", FMT "coins.png", 23},
		{FMT "coins.coco.json", FMT "coins.png", 23},
		{FMT "coins.labelstudio.json", FMT "coins.png", 23},
		{FMT "coins.cvat.json", FMT "coins.png", 23},
		{FMT "coins.cvat_xml.json", FMT "coins.png", 23},
		{FMT "coins.coco_poly_anns.json", FMT "coins.polygons.png", 23},
		{FMT "coins.results.json", FMT "coins.results.png", 14},
	};
	char npy_a[] = "/tmp/segloss_exXXXXXX.npy", npy_b[] = "/tmp/segloss_exXXXXXX.npy";
	int fd = mkstemps(npy_a, 4);

	close(fd);
	fd = mkstemps(npy_b, 4);
	close(fd);
	for (size_t i = 0; i < sizeof(forms) / sizeof(forms[0]); i++) {
		char *la, *ma, *lb, *mb;
		uint8_t *wa, *wb;
		size_t na, nb;
		int ka, kb;

		eval_coins(forms[i].mask, &la, &ma);
		eval_coins(forms[i].png, &lb, &mb);
		ck_assert_msg(strcmp(la, lb) == 0, "%s: losses %s, the PNG's %s", forms[i].mask, la, lb);
		ck_assert_msg(strcmp(ma, mb) == 0, "%s: metrics %s, the PNG's %s", forms[i].mask, ma, mb);
		if (strcmp(forms[i].png, FMT "coins.png") == 0)
			ck_assert_msg(strstr(ma, "\"iou\":1,") != NULL, "%s: %s", forms[i].mask, ma);
		wa = weight_map_coins(forms[i].mask, npy_a, &ka, &na);
		wb = weight_map_coins(forms[i].png, npy_b, &kb, &nb);
		ck_assert_int_eq(ka, forms[i].objects);
		ck_assert_int_eq(kb, forms[i].objects);
		ck_assert_ptr_nonnull(wa);
		ck_assert_ptr_nonnull(wb);
		ck_assert_msg(na == nb && memcmp(wa, wb, na) == 0, "%s: the weight map differs from the PNG's",
			      forms[i].mask);
		free(la);
		free(ma);
		free(lb);
		free(mb);
		free(wa);
		free(wb);
	}
	unlink(npy_a);
	unlink(npy_b);
}
END_TEST

/*
 * A Label Studio threshold on the command line is the file's "threshold"
 * beside "labelstudio": the anti-aliased horse at threshold 1 is the
 * 1-threshold PNG, not the default 128 one.
 */
START_TEST(test_labelstudio_threshold_in_the_file)
{
	size_t len;
	char *text = (char *)tu_read_file(FMT "horse_soft.labelstudio.json", &len);
	char path[] = "/tmp/segloss_lsXXXXXX.json";
	int fd = mkstemps(path, 5);
	char *out, *err, *got, *dflt;
	cJSON *o;

	ck_assert_ptr_nonnull(text);
	close(fd);
	o = cJSON_ParseWithLength(text, len);
	ck_assert_ptr_nonnull(o);
	cJSON_AddNumberToObject(o, "threshold", 1);
	free(text);
	text = cJSON_PrintUnformatted(o);
	cJSON_Delete(o);
	ck_assert_int_eq(tu_write_file(path, text, strlen(text)), 0);
	free(text);

	ck_assert_int_eq(RUN(&out, &err, "eval", "--target", path, "--prediction", FMT "horse_soft.t1.png",
			     "--prediction-kind", "mask", "--metric", "iou", "--loss", "dice"),
			 0);
	got = printed(out, "metrics");
	free(out);
	free(err);
	ck_assert_str_eq(got, "{\"iou\":1}");
	ck_assert_int_eq(RUN(&out, &err, "eval", "--target", FMT "horse_soft.labelstudio.json", "--prediction",
			     FMT "horse_soft.t1.png", "--prediction-kind", "mask", "--metric", "iou", "--loss", "dice"),
			 0);
	dflt = printed(out, "metrics");
	free(out);
	free(err);
	ck_assert_msg(strcmp(dflt, "{\"iou\":1}") != 0, "the default threshold gives the t1 mask too: %s", dflt);
	free(got);
	free(dflt);
	unlink(path);
}
END_TEST

/* Every name `segloss list` prints is documented in docs/losses.md. */
START_TEST(test_catalogue_is_documented)
{
	char *out, *err;
	size_t len;
	char *doc = (char *)tu_read_file("docs/losses.md", &len);
	const char *sections[] = {"losses", "metrics"};

	ck_assert_ptr_nonnull(doc);
	ck_assert_int_eq(RUN(&out, &err, "list"), 0);
	cJSON *cat = cJSON_Parse(out), *item;
	for (int s = 0; s < 2; s++) {
		cJSON_ArrayForEach(item, cJSON_GetObjectItem(cat, sections[s]))
		{
			char want[96];
			const char *name = cJSON_GetObjectItem(item, "name")->valuestring;
			if (s == 0)
				snprintf(want, sizeof(want), "\n### %s\n", name);
			else
				snprintf(want, sizeof(want), "| `%s` |", name);
			ck_assert_msg(strstr(doc, want) != NULL, "docs/losses.md does not document %s '%s'", sections[s],
				      name);
		}
	}
	cJSON_Delete(cat);
	free(doc);
	free(out);
	free(err);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("cli");
	TCase *tc = tcase_create("cli");
	SRunner *sr;
	int failed;

	tcase_add_test(tc, test_list_is_the_catalogue);
	tcase_add_test(tc, test_eval_defaults_match_reference);
	tcase_add_test(tc, test_eval_specs_aliases_and_nulls);
	tcase_add_test(tc, test_eval_errors);
	tcase_add_test(tc, test_truncated_png_is_an_error);
	tcase_add_test(tc, test_weight_map_files);
	tcase_add_test(tc, test_exports_as_files);
	tcase_add_test(tc, test_labelstudio_threshold_in_the_file);
	tcase_add_test(tc, test_catalogue_is_documented);
	tcase_set_timeout(tc, 60);
	suite_add_tcase(s, tc);
	sr = srunner_create(s);
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
