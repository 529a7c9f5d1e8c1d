/*
 * check_mcruns.c — multi-class runs in process, on a real store: an
 * in-memory SQLite one, and a database of its own on the PostgreSQL
 * server of SEGLOSS_TEST_PG (left out when it is not set; make check-pg
 * runs it): items posted as JSON through svc_evaluate with "run",
 * one replaced; GET /v1/runs/{run} (svc_run_get) must give each metric
 * per class as the mean over items, and the dataset-pooled scores equal
 * to a recomputation from each item's confusion matrix (answered by the
 * same service with "confusion": true and recomputed here by hand);
 * order_by=per_class.iou.CLASS finds the worst items for one class; a
 * comparison shows per-class differences.
 */
#include <check.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cJSON.h>

#include "codec/b64.h"
#include "codec/buf.h"
#include "codec/pngio.h"
#include "service/service.h"
#include "store/store.h"
#include "testpg.h"
#include "testutil.h"

#define W 24
#define H 16
#define C 4
#define ITEMS 6

static const char *const names[C] = {"bg", "road", "car", "sky"};

/* Label map k (0..ITEMS) as an 8-bit PNG in base64; prediction maps differ from targets. */
static char *label_png_b64(int k, int pred)
{
	uint8_t px[W * H];
	buf png;
	seg_error err;
	uint64_t rng = (uint64_t)(k * 7919 + pred * 104729 + 1);

	for (int y = 0; y < H; y++)
		for (int x = 0; x < W; x++) {
			int c = y < 4 ? 3 : y > 11 ? 1 : (x > 6 + k && x < 14 + k ? 2 : 0);
			if (pred && tu_uniform(&rng) < 0.2)
				c = (int)(tu_uniform(&rng) * C);
			if (!pred && y == 0 && x < 3)
				c = 255; /* ignored */
			px[y * W + x] = (uint8_t)c;
		}
	/* Item 2 has no car at all, in either map: that class is absent there. */
	if (k == 2)
		for (int i = 0; i < W * H; i++)
			if (px[i] == 2)
				px[i] = 0;
	buf_init(&png, 0);
	ck_assert_int_eq(pngio_encode_gray(px, W, H, 8, &png, &err), SEG_OK);
	char *text = malloc(b64_encoded_len(png.len) + 1);
	b64_encode(png.data, png.len, text);
	buf_release(&png);
	return text;
}

static svc_ctx ctx;
static char dsn[1024]; /* the PostgreSQL case's database, "" for SQLite */

static void open_store(const char *where)
{
	seg_error err = {0};
	memset(&ctx, 0, sizeof(ctx));
	ctx.lim.max_pixels = 1u << 20;
	ctx.lim.max_classes = 1024;
	ctx.store = store_open(where, &err);
	ck_assert_msg(ctx.store != NULL, "%s", err.msg);
}

static void setup(void)
{
	dsn[0] = '\0';
	open_store(":memory:");
}

static void setup_pg(void)
{
	ck_assert_int_eq(tpg_create(dsn, sizeof(dsn)), 0);
	open_store(dsn);
}

static void teardown(void)
{
	store_close(ctx.store);
	if (dsn[0])
		tpg_drop(dsn);
}

/* POSTs a JSON body to a handler; returns the parsed answer (caller deletes). */
static cJSON *call(svc_handler h, const char *body, const char *p0, const char *p1, const char *order_by)
{
	svc_request rq = {.param = {p0, p1},
			  .content_type = "application/json",
			  .request_id = "test",
			  .order_by = order_by,
			  .order = order_by ? "asc" : NULL,
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

static cJSON *post_item(const char *run, int k, int variant)
{
	char *t = label_png_b64(k, 0), *p = label_png_b64(k + 100 * variant, 1);
	size_t n = strlen(t) + strlen(p) + 512;
	char *body = malloc(n);
	snprintf(body, n,
		 "{\"target\": \"%s\", \"prediction\": \"%s\", \"classes\": [\"bg\", \"road\", \"car\", \"sky\"], "
		 "\"ignore_index\": 255, \"metrics\": [\"iou\", \"dice\"], \"losses\": [\"cross_entropy\"], "
		 "\"confusion\": true, \"run\": \"%s\", \"item\": \"img%d\"}",
		 t, p, run, k);
	cJSON *o = call(svc_evaluate, body, NULL, NULL, NULL);
	free(t);
	free(p);
	free(body);
	return o;
}

static double num(const cJSON *o)
{
	ck_assert_msg(cJSON_IsNumber(o), "not a number");
	return o->valuedouble;
}

START_TEST(test_per_class_and_pooled)
{
	double tp[C] = {0}, fp[C] = {0}, fn[C] = {0}, valid = 0;
	double iou_sum[C] = {0};
	int iou_count[C] = {0};
	cJSON *items[ITEMS];

	for (int k = 0; k < ITEMS; k++)
		cJSON_Delete(post_item("mc", k, 0));
	/* Item 3 posted again with another prediction: the run must hold only the latest. */
	for (int k = 0; k < ITEMS; k++)
		items[k] = post_item("mc", k, k == 3);
	for (int k = 0; k < ITEMS; k++) {
		const cJSON *m = cJSON_GetObjectItem(cJSON_GetObjectItem(items[k], "confusion"), "matrix");
		for (int i = 0; i < C; i++) {
			for (int j = 0; j < C; j++) {
				double v = num(cJSON_GetArrayItem(cJSON_GetArrayItem(m, i), j));
				valid += v;
				if (i == j)
					tp[i] += v;
				else {
					fn[i] += v;
					fp[j] += v;
				}
			}
			const cJSON *iou = cJSON_GetObjectItem(cJSON_GetObjectItem(cJSON_GetObjectItem(items[k], "per_class"), "iou"),
							       names[i]);
			if (cJSON_IsNumber(iou)) {
				iou_sum[i] += iou->valuedouble;
				iou_count[i]++;
			}
		}
		cJSON_Delete(items[k]);
	}
	ck_assert_int_eq(iou_count[2], ITEMS - 1); /* car is absent from item 2: null, not counted */

	cJSON *run = call(svc_run_get, NULL, "mc", NULL, NULL);
	const cJSON *pooled = cJSON_GetObjectItem(run, "pooled");
	double miou = 0, mdice = 0;
	for (int i = 0; i < C; i++) {
		const cJSON *pc = cJSON_GetObjectItem(cJSON_GetObjectItem(pooled, "classes"), names[i]);
		ck_assert_double_eq(num(cJSON_GetObjectItem(pc, "tp")), tp[i]);
		ck_assert_double_eq(num(cJSON_GetObjectItem(pc, "fp")), fp[i]);
		ck_assert_double_eq(num(cJSON_GetObjectItem(pc, "fn")), fn[i]);
		double iou = tp[i] / (tp[i] + fp[i] + fn[i]), dice = 2 * tp[i] / (2 * tp[i] + fp[i] + fn[i]);
		ck_assert(tu_close(num(cJSON_GetObjectItem(pc, "iou")), iou, 1e-15, 0));
		miou += iou / C;
		mdice += dice / C;
		/* Mean over items, per class. */
		const cJSON *a = cJSON_GetObjectItem(cJSON_GetObjectItem(cJSON_GetObjectItem(run, "per_class"), "iou"), names[i]);
		ck_assert_int_eq((int)num(cJSON_GetObjectItem(a, "count")), iou_count[i]);
		ck_assert(tu_close(num(cJSON_GetObjectItem(a, "mean")), iou_sum[i] / iou_count[i], 1e-12, 0));
	}
	ck_assert(tu_close(num(cJSON_GetObjectItem(pooled, "iou")), miou, 1e-12, 0));
	ck_assert(tu_close(num(cJSON_GetObjectItem(pooled, "dice")), mdice, 1e-12, 0));
	double all_tp = tp[0] + tp[1] + tp[2] + tp[3];
	ck_assert(tu_close(num(cJSON_GetObjectItem(pooled, "pixel_accuracy")), all_tp / valid, 1e-15, 0));
	ck_assert_int_eq((int)num(cJSON_GetObjectItem(run, "count")), ITEMS);
	cJSON_Delete(run);

	/* The worst items for car first: the item without car is null, so last. */
	cJSON *worst = call(svc_run_items, NULL, "mc", NULL, "per_class.iou.car");
	const cJSON *list = cJSON_GetObjectItem(worst, "items"), *it;
	double prev = -1;
	int n = 0;
	cJSON_ArrayForEach(it, list)
	{
		const cJSON *v = cJSON_GetObjectItem(cJSON_GetObjectItem(cJSON_GetObjectItem(it, "per_class"), "iou"), "car");
		if (n < ITEMS - 1) {
			ck_assert(num(v) >= prev);
			prev = num(v);
		} else {
			ck_assert_str_eq(cJSON_GetObjectItem(it, "item")->valuestring, "img2");
		}
		n++;
	}
	ck_assert_int_eq(n, ITEMS);
	cJSON_Delete(worst);
}
END_TEST

START_TEST(test_compare_per_class)
{
	for (int k = 0; k < 3; k++) {
		cJSON_Delete(post_item("a", k, 0));
		cJSON_Delete(post_item("b", k, 1));
	}
	cJSON *cmp = call(svc_run_compare, NULL, "a", "b", NULL);
	const cJSON *road = cJSON_GetObjectItem(cJSON_GetObjectItem(cJSON_GetObjectItem(cmp, "per_class"), "iou"), "road");
	ck_assert_ptr_nonnull(road);
	double d = num(cJSON_GetObjectItem(road, "difference"));
	ck_assert(tu_close(d, num(cJSON_GetObjectItem(road, "b_mean")) - num(cJSON_GetObjectItem(road, "a_mean")), 1e-15, 0));
	ck_assert_int_eq((int)num(cJSON_GetObjectItem(cJSON_GetObjectItem(road, "paired"), "count")), 3);
	cJSON_Delete(cmp);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("mcruns");
	TCase *tc = tcase_create("sqlite"), *pg;
	SRunner *sr;
	int failed;

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, test_per_class_and_pooled);
	tcase_add_test(tc, test_compare_per_class);
	tcase_set_timeout(tc, 60);
	suite_add_tcase(s, tc);
	if (tpg_server()) {
		pg = tcase_create("postgres"); /* only when it runs: a TCase left out of the suite is never freed */
		tcase_add_checked_fixture(pg, setup_pg, teardown);
		tcase_add_test(pg, test_per_class_and_pooled);
		tcase_add_test(pg, test_compare_per_class);
		tcase_set_timeout(pg, 60);
		suite_add_tcase(s, pg);
	}
	sr = srunner_create(s);
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? 1 : 0;
}
