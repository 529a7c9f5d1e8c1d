/*
 * check_mcfixtures.c — every multi-class fixture case (tests/fixtures/
 * multiclass/cases.json), posted as a client would post it.
 *
 * Each case's files are read and base64-encoded into a JSON body whose
 * fields are the case's `request` mapped onto the API: the prediction
 * with its kind and channel axis; classes, ignore_index,
 * include_background, class_weights, average and profile as request
 * fields; zero_division and spacing as parameters of the metrics that
 * take them; label_smoothing as a parameter of cross_entropy; every
 * metric and loss the case expects. The body goes through
 * req_parse_eval and svc_eval_one (the daemon's path without a socket)
 * and every expected value is compared: the confusion matrix, pixel
 * accuracy, averaged metrics, per-class values, losses (README
 * tolerances). Nulls must be nulls, and each value the library gives as
 * inf or NaN (`nonfinite`) must be explained by a warning naming it.
 * Losses a profile's library cannot take a parameter for
 * (`refused_losses`) must be refused with a 422 naming the profile, the
 * loss and the parameter.
 *
 * The run fixture posts its seven items into a run on an in-memory store
 * and checks GET /v1/runs/{run}: per-class means over items, the means
 * of the averaged metrics, and the dataset-pooled scores.
 */
#include <check.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cJSON.h>

#include "codec/b64.h"
#include "codec/buf.h"
#include "service/request.h"
#include "service/service.h"
#include "store/store.h"
#include "testutil.h"
#include "wire/problem.h"

#define CASES_JSON "tests/fixtures/multiclass/cases.json"
#define TORCH_JSON "tests/fixtures/multiclass/torch.json"

static const char *const confusion_metrics[] = {"dice", "iou", "precision", "recall", "specificity", "accuracy", NULL};
static const char *const surface_metrics[] = {"hausdorff", "hausdorff95", "assd", "surface_dice", NULL};

static int in_list(const char *const *list, const char *name)
{
	for (int i = 0; list[i]; i++)
		if (strcmp(list[i], name) == 0)
			return 1;
	return 0;
}

static cJSON *fixtures;
static cJSON *torch_values;

/* The fixture document, parsed once for the whole suite. */
static const cJSON *doc(void)
{
	if (fixtures == NULL) {
		size_t len = 0;
		uint8_t *text = tu_read_file(CASES_JSON, &len);
		ck_assert_msg(text != NULL, "cannot read %s", CASES_JSON);
		fixtures = cJSON_ParseWithLength((const char *)text, len);
		free(text);
		ck_assert_msg(fixtures != NULL, "%s is not valid JSON", CASES_JSON);
	}
	return fixtures;
}

static const cJSON *get(const cJSON *o, const char *key)
{
	return cJSON_GetObjectItemCaseSensitive(o, key);
}

/* PyTorch's own values (tests/ref/torch_ref.py), by case name. */
static const cJSON *torch_doc(void)
{
	if (torch_values == NULL) {
		size_t len = 0;
		uint8_t *text = tu_read_file(TORCH_JSON, &len);
		ck_assert_msg(text != NULL, "cannot read %s", TORCH_JSON);
		torch_values = cJSON_ParseWithLength((const char *)text, len);
		free(text);
		ck_assert_msg(torch_values != NULL, "%s is not valid JSON", TORCH_JSON);
	}
	return torch_values;
}

/* {"png": b64} or {"npy": b64} of a fixture file, with the fields a client adds. */
static cJSON *mask_field(const char *path, const char *kind, const cJSON *axis)
{
	size_t len = 0;
	uint8_t *bytes = tu_read_file(path, &len);
	ck_assert_msg(bytes != NULL, "cannot read %s", path);
	char *text = malloc(b64_encoded_len(len) + 1);
	b64_encode(bytes, len, text);
	free(bytes);
	const char *dot = strrchr(path, '.');
	cJSON *m = cJSON_CreateObject();
	cJSON_AddStringToObject(m, dot && strcmp(dot, ".png") == 0 ? "png" : "npy", text);
	free(text);
	if (kind)
		cJSON_AddStringToObject(m, "kind", kind);
	if (cJSON_IsNumber(axis))
		cJSON_AddNumberToObject(m, "channel_axis", axis->valuedouble);
	return m;
}

/* The fixture's classes as the API takes them: colours [r, g, b] become "#rrggbb". */
static cJSON *classes_field(const cJSON *classes)
{
	const cJSON *e;
	cJSON *out;

	if (!cJSON_IsArray(classes) || !cJSON_IsObject(cJSON_GetArrayItem(classes, 0)))
		return cJSON_Duplicate(classes, 1);
	out = cJSON_CreateArray();
	cJSON_ArrayForEach(e, classes)
	{
		cJSON *o = cJSON_CreateObject();
		const cJSON *col = get(e, "color");
		cJSON_AddNumberToObject(o, "id", get(e, "id")->valuedouble);
		if (get(e, "name"))
			cJSON_AddStringToObject(o, "name", get(e, "name")->valuestring);
		if (col) {
			char hex[8];
			snprintf(hex, sizeof(hex), "#%02x%02x%02x", cJSON_GetArrayItem(col, 0)->valueint,
				 cJSON_GetArrayItem(col, 1)->valueint, cJSON_GetArrayItem(col, 2)->valueint);
			cJSON_AddStringToObject(o, "color", hex);
		}
		cJSON_AddItemToArray(out, o);
	}
	return out;
}

/*
 * The request body for a fixture request (borrowed) on target/prediction
 * files, asking for the metrics and losses named in the lists (NULL-
 * terminated; NULL: none). label_smoothing goes to cross_entropy, or to
 * every loss when smoothing_everywhere.
 */
static char *build_body(const cJSON *req, const char *target, const char *prediction, const char *const *metrics,
			const char *const *losses, int smoothing_everywhere, const char *run, const char *item)
{
	static const char *const copied[] = {"ignore_index", "include_background", "class_weights", "average", "profile",
					     NULL};
	cJSON *b = cJSON_CreateObject();
	const cJSON *zd = get(req, "zero_division"), *sp = get(req, "spacing"), *ls = get(req, "label_smoothing");

	cJSON_AddItemToObject(b, "target", mask_field(target, NULL, NULL));
	cJSON_AddItemToObject(b, "prediction",
			      mask_field(prediction, get(req, "prediction_kind")->valuestring, get(req, "channel_axis")));
	cJSON_AddItemToObject(b, "classes", classes_field(get(req, "classes")));
	for (int i = 0; copied[i]; i++)
		if (get(req, copied[i]))
			cJSON_AddItemToObject(b, copied[i], cJSON_Duplicate(get(req, copied[i]), 1));
	cJSON_AddTrueToObject(b, "confusion");
	cJSON *ml = cJSON_AddArrayToObject(b, "metrics"), *ll = cJSON_AddArrayToObject(b, "losses");
	for (int i = 0; metrics && metrics[i]; i++) {
		cJSON *m = cJSON_CreateObject();
		cJSON_AddStringToObject(m, "name", metrics[i]);
		if (zd && in_list(confusion_metrics, metrics[i]))
			cJSON_AddItemToObject(m, "zero_division", cJSON_Duplicate(zd, 1));
		if (sp && in_list(surface_metrics, metrics[i]))
			cJSON_AddItemToObject(m, "spacing", cJSON_Duplicate(sp, 1));
		cJSON_AddItemToArray(ml, m);
	}
	for (int i = 0; losses && losses[i]; i++) {
		cJSON *l = cJSON_CreateObject();
		cJSON_AddStringToObject(l, "name", losses[i]);
		if (ls && (smoothing_everywhere || strcmp(losses[i], "cross_entropy") == 0))
			cJSON_AddItemToObject(l, "label_smoothing", cJSON_Duplicate(ls, 1));
		cJSON_AddItemToArray(ll, l);
	}
	if (run)
		cJSON_AddStringToObject(b, "run", run);
	if (item)
		cJSON_AddStringToObject(b, "item", item);
	char *text = cJSON_PrintUnformatted(b);
	cJSON_Delete(b);
	return text;
}

static svc_ctx ctx;

/* Parses and evaluates a body; on success *out is the answer (caller deletes). */
static seg_status evaluate(const char *body, cJSON **out, seg_error *err)
{
	req_eval r;
	seg_status st = req_parse_eval("application/json", (const uint8_t *)body, strlen(body), &r, err);

	*out = NULL;
	if (st == SEG_OK)
		st = svc_eval_one(&ctx, &r, out, err);
	req_eval_release(&r);
	return st;
}

/* The keys of an object, as a NULL-terminated array of borrowed strings (caller frees the array). */
static const char **keys_of(const cJSON *o)
{
	int n = cJSON_GetArraySize(o), k = 0;
	const char **keys = calloc((size_t)n + 1, sizeof(*keys));
	const cJSON *e;
	cJSON_ArrayForEach(e, o) keys[k++] = e->string;
	return keys;
}

/* How many values a case compared: the suite checks that none was skipped. */
static long compared;

static void expect_value(const char *where, const char *what, const cJSON *got, const cJSON *want, double rel,
			 double abs_tol)
{
	ck_assert_msg(got != NULL, "%s: %s is missing from the answer", where, what);
	if (cJSON_IsNull(want)) {
		ck_assert_msg(cJSON_IsNull(got), "%s: %s should be null, got %.17g", where, what, got->valuedouble);
	} else {
		ck_assert_msg(cJSON_IsNumber(got), "%s: %s should be %.17g, got null", where, what, want->valuedouble);
		ck_assert_msg(tu_close(got->valuedouble, want->valuedouble, rel, abs_tol), "%s: %s is %.17g, want %.17g",
			      where, what, got->valuedouble, want->valuedouble);
	}
	compared++;
}

/* 1 when some warning contains every one of the (up to three) texts. */
static int warned(const cJSON *answer, const char *a, const char *b, const char *c)
{
	const cJSON *w;
	cJSON_ArrayForEach(w, get(answer, "warnings"))
	{
		const char *s = w->valuestring;
		if (strstr(s, a) && (b == NULL || strstr(s, b)) && (c == NULL || strstr(s, c)))
			return 1;
	}
	return 0;
}

static void dump_warnings(const cJSON *answer, char *out, size_t cap)
{
	const cJSON *w;
	size_t used = 0;
	out[0] = '\0';
	cJSON_ArrayForEach(w, get(answer, "warnings"))
	{
		if (used < cap)
			used += (size_t)snprintf(out + used, cap - used, "\n  %s", w->valuestring);
	}
}

/* Every `nonfinite` entry of expected must be explained by a warning naming the value and its tag. */
static void check_nonfinite(const char *where, const cJSON *answer, const cJSON *nonfinite)
{
	const cJSON *m, *c, *e;
	char text[64], all[4096];

	dump_warnings(answer, all, sizeof(all));
	cJSON_ArrayForEach(m, get(nonfinite, "per_class"))
	{
		cJSON_ArrayForEach(c, m)
		{
			char cls[80];
			snprintf(text, sizeof(text), "metric '%s' is %s", m->string, c->valuestring);
			snprintf(cls, sizeof(cls), "'%s'", c->string);
			ck_assert_msg(warned(answer, text, cls, NULL), "%s: no warning says %s for class %s; warnings:%s", where,
				      text, cls, all);
			compared++;
		}
	}
	cJSON_ArrayForEach(e, get(nonfinite, "metrics"))
	{
		snprintf(text, sizeof(text), "metric '%s' averages to %s", e->string, e->valuestring);
		ck_assert_msg(warned(answer, text, NULL, NULL), "%s: no warning says %s; warnings:%s", where, text, all);
		compared++;
	}
	cJSON_ArrayForEach(e, get(nonfinite, "losses"))
	{
		snprintf(text, sizeof(text), "loss '%s' is %s", e->string, e->valuestring);
		ck_assert_msg(warned(answer, text, NULL, NULL), "%s: no warning says %s; warnings:%s", where, text, all);
		compared++;
	}
}

/* The single-request answer against an `expected` block (items of the run fixture have no losses). */
static void check_answer(const char *where, const cJSON *answer, const cJSON *expected)
{
	const cJSON *names = get(expected, "class_names"), *e, *row;
	const cJSON *classes = get(answer, "classes"), *metrics = get(answer, "metrics");
	int C = cJSON_GetArraySize(names), i = 0;

	/* Classes, in order. */
	ck_assert_int_eq(cJSON_GetArraySize(classes), C);
	cJSON_ArrayForEach(e, names)
	{
		const cJSON *got = get(cJSON_GetArrayItem(classes, i++), "name");
		ck_assert_msg(cJSON_IsString(got) && strcmp(got->valuestring, e->valuestring) == 0,
			      "%s: class %d is '%s', want '%s'", where, i - 1, cJSON_IsString(got) ? got->valuestring : "?",
			      e->valuestring);
	}
	/* Confusion matrix, and the valid pixels it counts. */
	const cJSON *m = get(get(answer, "confusion"), "matrix");
	double valid = 0;
	ck_assert_int_eq(cJSON_GetArraySize(m), C);
	i = 0;
	cJSON_ArrayForEach(row, get(expected, "confusion"))
	{
		const cJSON *grow = cJSON_GetArrayItem(m, i), *v;
		int j = 0;
		ck_assert_int_eq(cJSON_GetArraySize(grow), C);
		cJSON_ArrayForEach(v, row)
		{
			double g = cJSON_GetArrayItem(grow, j)->valuedouble;
			ck_assert_msg(g == v->valuedouble, "%s: confusion[%d][%d] is %g, want %g", where, i, j, g, v->valuedouble);
			valid += g;
			j++;
			compared++;
		}
		i++;
	}
	ck_assert_msg(valid == get(expected, "n_valid")->valuedouble, "%s: %g valid pixels, want %g", where, valid,
		      get(expected, "n_valid")->valuedouble);
	expect_value(where, "pixel_accuracy", get(metrics, "pixel_accuracy"), get(expected, "pixel_accuracy"), 1e-12, 0);

	/* Averaged metrics: absent when the average is none. */
	const cJSON *per = get(expected, "per_class"), *pm;
	cJSON_ArrayForEach(pm, per)
	{
		char what[128];
		const cJSON *want = get(get(expected, "metrics"), pm->string);
		if (want == NULL) {
			ck_assert_msg(get(metrics, pm->string) == NULL, "%s: metric %s has an average under average none",
				      where, pm->string);
			compared++;
		} else {
			snprintf(what, sizeof(what), "metric %s", pm->string);
			expect_value(where, what, get(metrics, pm->string), want, 1e-12, 1e-15);
		}
		/* Every class is listed. */
		const cJSON *gpc = get(get(answer, "per_class"), pm->string), *v;
		ck_assert_msg(cJSON_GetArraySize(gpc) == C, "%s: per_class %s lists %d classes, want %d", where, pm->string,
			      cJSON_GetArraySize(gpc), C);
		cJSON_ArrayForEach(v, pm)
		{
			snprintf(what, sizeof(what), "per_class %s of '%s'", pm->string, v->string);
			expect_value(where, what, get(gpc, v->string), v, 1e-12, 1e-15);
		}
	}
	const cJSON *losses = get(expected, "losses");
	cJSON_ArrayForEach(e, losses)
	{
		char what[96];
		snprintf(what, sizeof(what), "loss %s", e->string);
		expect_value(where, what, get(get(answer, "losses"), e->string), e, 1e-9, 1e-12);
	}
	if (losses)
		ck_assert_int_eq(cJSON_GetArraySize(get(answer, "losses")), cJSON_GetArraySize(losses));
	check_nonfinite(where, answer, get(expected, "nonfinite"));
}

/* A refused loss: the same request with that loss alone is a 422 naming profile, loss and parameter. */
static void check_refused(const cJSON *cs, const char *loss, const char *reason)
{
	const cJSON *req = get(cs, "request");
	const char *profile = get(req, "profile")->valuestring;
	const char *param = strstr(reason, "class_weights") ? "class_weights" : "label_smoothing";
	const char *one[2] = {loss, NULL};
	const char *pixel[2] = {"pixel_accuracy", NULL};
	char *body = build_body(req, get(req, "target")->valuestring, get(req, "prediction")->valuestring, pixel, one,
				strcmp(param, "label_smoothing") == 0, NULL, NULL);
	cJSON *answer = NULL;
	seg_error err = {0};
	char want_profile[64], want_loss[64];
	seg_status st = evaluate(body, &answer, &err);

	free(body);
	cJSON_Delete(answer);
	ck_assert_msg(st != SEG_OK, "%s: loss %s with %s was not refused", get(cs, "name")->valuestring, loss, param);
	ck_assert_msg(problem_status_of(st) == 422, "%s: loss %s refused with status %d (%s)", get(cs, "name")->valuestring,
		      loss, problem_status_of(st), err.msg);
	snprintf(want_profile, sizeof(want_profile), "profile '%s'", profile);
	snprintf(want_loss, sizeof(want_loss), "loss '%s'", loss);
	ck_assert_msg(strstr(err.msg, want_profile) && strstr(err.msg, want_loss) && strstr(err.msg, param),
		      "%s: the refusal of %s should name %s, %s and %s: \"%s\"", get(cs, "name")->valuestring, loss,
		      want_profile, want_loss, param, err.msg);
	compared++;
}

static void run_case(const cJSON *cs)
{
	const char *name = get(cs, "name")->valuestring;
	const cJSON *req = get(cs, "request"), *exp = get(cs, "expected"), *e;
	const char **metrics = keys_of(get(exp, "per_class"));
	const char **losses = keys_of(get(exp, "losses"));
	int nm = cJSON_GetArraySize(get(exp, "per_class"));
	const char **all = calloc((size_t)nm + 2, sizeof(*all));
	cJSON *answer = NULL;
	seg_error err = {0};
	long before = compared;

	for (int i = 0; i < nm; i++)
		all[i] = metrics[i];
	all[nm] = "pixel_accuracy";
	char *body = build_body(req, get(req, "target")->valuestring, get(req, "prediction")->valuestring, all, losses, 0,
				NULL, NULL);
	seg_status st = evaluate(body, &answer, &err);
	free(body);
	ck_assert_msg(st == SEG_OK, "%s: evaluation failed: %s", name, err.msg);
	check_answer(name, answer, exp);
	/* cross_entropy against torch itself (float64), not only against the NumPy port. */
	const cJSON *tv = get(get(get(torch_doc(), "cases"), name), "cross_entropy");
	const cJSON *ce = get(get(answer, "losses"), "cross_entropy");
	if (tv && ce) {
		expect_value(name, "cross_entropy against torch", ce, tv, 1e-9, 1e-12);
	}
	cJSON_Delete(answer);
	cJSON_ArrayForEach(e, get(exp, "refused_losses")) check_refused(cs, e->string, e->valuestring);
	ck_assert_msg(compared > before, "%s: nothing compared", name);
	free(metrics);
	free(losses);
	free(all);
}

static void setup(void)
{
	seg_error err;
	memset(&ctx, 0, sizeof(ctx));
	ctx.lim.max_pixels = 1u << 24;
	ctx.lim.max_classes = 1024;
	ctx.store = store_open(":memory:", &err);
	ck_assert_ptr_nonnull(ctx.store);
}

static void teardown(void)
{
	store_close(ctx.store);
}

/* Case _i of the fixture (one Check test per case, so a failure names it and the others still run). */
START_TEST(test_case)
{
	const cJSON *cases = get(doc(), "cases");
	ck_assert_int_lt(_i, cJSON_GetArraySize(cases));
	run_case(cJSON_GetArrayItem(cases, _i));
}
END_TEST

/* The suite covers every case: the loop range below equals the fixture's case count. */
#define NCASES 105

START_TEST(test_case_count)
{
	ck_assert_int_eq(cJSON_GetArraySize(get(doc(), "cases")), NCASES);
	ck_assert_int_eq(cJSON_GetArraySize(get(doc(), "runs")), 1);
}
END_TEST

/*
 * Every cross_entropy value torch gave is compared by run_case: its case
 * exists and expects cross_entropy (so the answer has one). Among them a
 * logits case with class weights, an ignore index and label smoothing,
 * which only torch's CrossEntropyLoss itself computes.
 */
START_TEST(test_torch_cases_covered)
{
	const cJSON *tc, *cs;
	int n = 0, all_options = 0;

	cJSON_ArrayForEach(tc, get(torch_doc(), "cases"))
	{
		if (get(tc, "cross_entropy") == NULL)
			continue;
		const cJSON *found = NULL;
		cJSON_ArrayForEach(cs, get(doc(), "cases")) if (strcmp(get(cs, "name")->valuestring, tc->string) == 0) found = cs;
		ck_assert_msg(found != NULL, "torch.json case %s is no fixture case", tc->string);
		ck_assert_msg(get(get(get(found, "expected"), "losses"), "cross_entropy") != NULL,
			      "%s: torch gave cross_entropy but the case does not ask for it", tc->string);
		const cJSON *req = get(found, "request");
		if (get(req, "class_weights") && get(req, "ignore_index") && get(req, "label_smoothing") &&
		    strstr(get(req, "prediction")->valuestring, "logits"))
			all_options++;
		n++;
	}
	ck_assert_int_ge(n, 38);
	ck_assert_int_ge(all_options, 1);
}
END_TEST

static double num(const cJSON *o, const char *what)
{
	ck_assert_msg(cJSON_IsNumber(o), "%s is not a number", what);
	return o->valuedouble;
}

/* POSTs a JSON body to a handler; returns the parsed answer (caller deletes). */
static cJSON *call(svc_handler h, const char *body, const char *p0)
{
	svc_request rq = {.param = {p0, NULL},
			  .content_type = "application/json",
			  .request_id = "test",
			  .body = (const uint8_t *)body,
			  .body_len = body ? strlen(body) : 0};
	svc_reply out;
	svc_timing t = {0};
	seg_error err = {0};

	ck_assert_msg(h(&ctx, &rq, &out, &t, &err) == SEG_OK, "handler failed: %s", err.msg);
	cJSON *o = cJSON_ParseWithLength((const char *)out.body.data, out.body.len);
	buf_release(&out.body);
	ck_assert_ptr_nonnull(o);
	return o;
}

START_TEST(test_run)
{
	const cJSON *rc = cJSON_GetArrayItem(get(doc(), "runs"), 0);
	const cJSON *req = get(rc, "request"), *exp = get(rc, "expected"), *it, *pm, *v;
	const cJSON *mean = get(exp, "mean"), *pooled = get(exp, "pooled");
	const char **metrics = keys_of(get(mean, "per_class"));
	int nm = cJSON_GetArraySize(get(mean, "per_class")), k = 0;
	const char **all = calloc((size_t)nm + 2, sizeof(*all));
	char where[64];

	for (int i = 0; i < nm; i++)
		all[i] = metrics[i];
	all[nm] = "pixel_accuracy";
	cJSON_ArrayForEach(it, get(rc, "items"))
	{
		char item[16];
		snprintf(item, sizeof(item), "item%d", k);
		char *body = build_body(req, get(it, "target")->valuestring, get(it, "prediction")->valuestring, all, NULL, 0,
					"run7", item);
		cJSON *answer = call(svc_evaluate, body, NULL);
		free(body);
		snprintf(where, sizeof(where), "run7 item %d", k);
		check_answer(where, answer, cJSON_GetArrayItem(get(exp, "items"), k));
		cJSON_Delete(answer);
		k++;
	}
	ck_assert_int_eq(k, 7);

	cJSON *run = call(svc_run_get, NULL, "run7");
	ck_assert_int_eq((int)num(get(run, "count"), "count"), 7);
	/* Per class: the mean over items, nulls skipped; and each averaged metric's mean. */
	cJSON_ArrayForEach(pm, get(mean, "per_class"))
	{
		cJSON_ArrayForEach(v, pm)
		{
			char what[96];
			snprintf(what, sizeof(what), "mean per_class %s of '%s'", pm->string, v->string);
			expect_value("run7", what, get(get(get(get(run, "per_class"), pm->string), v->string), "mean"), v, 1e-12,
				     1e-15);
		}
	}
	cJSON_ArrayForEach(v, get(mean, "metrics"))
	{
		char what[96];
		snprintf(what, sizeof(what), "mean metric %s", v->string);
		expect_value("run7", what, get(get(get(run, "metrics"), v->string), "mean"), v, 1e-12, 1e-15);
	}
	/* Dataset-pooled (mmseg IoUMetric, Cityscapes): summed confusion, per class, then nanmean. */
	const cJSON *gp = get(run, "pooled"), *names = get(req, "classes");
	int c = 0;
	cJSON_ArrayForEach(v, names)
	{
		const cJSON *gc = get(get(gp, "classes"), v->valuestring);
		const cJSON *row = cJSON_GetArrayItem(get(pooled, "confusion"), c);
		double tp = cJSON_GetArrayItem(row, c)->valuedouble, rowsum = 0, colsum = 0;
		const cJSON *x;
		cJSON_ArrayForEach(x, row) rowsum += x->valuedouble;
		cJSON_ArrayForEach(x, get(pooled, "confusion")) colsum += cJSON_GetArrayItem(x, c)->valuedouble;
		ck_assert_double_eq(num(get(gc, "tp"), "pooled tp"), tp);
		ck_assert_double_eq(num(get(gc, "fn"), "pooled fn"), rowsum - tp);
		ck_assert_double_eq(num(get(gc, "fp"), "pooled fp"), colsum - tp);
		expect_value("run7", "pooled iou", get(gc, "iou"), get(get(pooled, "iou"), v->valuestring), 1e-12, 0);
		expect_value("run7", "pooled dice", get(gc, "dice"), get(get(pooled, "dice"), v->valuestring), 1e-12, 0);
		expect_value("run7", "pooled acc", get(gc, "recall"), get(get(pooled, "acc"), v->valuestring), 1e-12, 0);
		c++;
	}
	expect_value("run7", "mIoU", get(gp, "iou"), get(pooled, "mIoU"), 1e-12, 0);
	expect_value("run7", "mDice", get(gp, "dice"), get(pooled, "mDice"), 1e-12, 0);
	expect_value("run7", "mAcc", get(gp, "recall"), get(pooled, "mAcc"), 1e-12, 0);
	expect_value("run7", "aAcc", get(gp, "pixel_accuracy"), get(pooled, "aAcc"), 1e-12, 0);
	cJSON_Delete(run);
	free(metrics);
	free(all);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("mcfixtures");
	TCase *tc = tcase_create("mcfixtures");
	SRunner *sr;
	int failed;

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, test_case_count);
	tcase_add_test(tc, test_torch_cases_covered);
	tcase_add_loop_test(tc, test_case, 0, NCASES);
	tcase_add_test(tc, test_run);
	tcase_set_timeout(tc, 120);
	suite_add_tcase(s, tc);
	sr = srunner_create(s);
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	cJSON_Delete(fixtures);
	return failed ? 1 : 0;
}
