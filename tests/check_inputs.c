/*
 * check_inputs.c — what a mask holds: the rule for masks sent without a
 * kind, explicit kinds, and multi-class label maps in every encoding, each
 * through the whole evaluation (svc_eval_one, the path the CLI and the
 * daemon share).
 */
#include <check.h>
#include <math.h>
#include <png.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cJSON.h>

#include "codec/buf.h"
#include "codec/b64.h"
#include "codec/coco.h"
#include "codec/npy.h"
#include "codec/pngio.h"
#include "service/request.h"
#include "service/service.h"
#include "testpng.h"
#include "testutil.h"

#define W 48
#define H 40

/* Two blobs: the mask every encoding below holds. */
static int in_mask(int x, int y)
{
	return (x - 14) * (x - 14) + (y - 15) * (y - 15) < 81 || (x >= 28 && x < 44 && y >= 20 && y < 36);
}

/* A grey or palette PNG whose samples are fg where the mask is set and bg elsewhere. */
static void mask_png(buf *out, int color, int depth, uint16_t fg, uint16_t bg, const uint32_t *palette)
{
	int ch = tp_channels(color);
	uint16_t *s = malloc((size_t)W * H * ch * sizeof(*s));
	for (int y = 0; y < H; y++)
		for (int x = 0; x < W; x++)
			for (int c = 0; c < ch; c++)
				s[((size_t)y * W + x) * ch + c] = in_mask(x, y) ? fg : bg;
	struct png_spec ps = {W, H, color, depth, 0, s, 0, -1, palette};
	buf_init(out, 0);
	tp_make_png(&ps, out);
	free(s);
}

/* A .npy of the mask with the given descr and element size, values fg/bg (little-endian). */
static void mask_npy(buf *out, const char *descr, int size, double fg, double bg)
{
	char dict[128];
	int n = snprintf(dict, sizeof(dict), "{'descr': '%s', 'fortran_order': False, 'shape': (%d, %d), }", descr, H, W);
	size_t pad = (64 - (10 + (size_t)n + 1) % 64) % 64, hlen = (size_t)n + pad + 1;
	uint8_t pre[10] = {0x93, 'N', 'U', 'M', 'P', 'Y', 1, 0, (uint8_t)(hlen & 0xff), (uint8_t)(hlen >> 8)};
	buf_init(out, 0);
	buf_append(out, pre, 10);
	buf_append(out, dict, (size_t)n);
	for (size_t k = 0; k < pad; k++)
		buf_append(out, " ", 1);
	buf_append(out, "\n", 1);
	for (int y = 0; y < H; y++) {
		for (int x = 0; x < W; x++) {
			double v = in_mask(x, y) ? fg : bg;
			uint8_t b[8] = {0};
			if (descr[1] == 'f' && size == 4) {
				float f = (float)v;
				memcpy(b, &f, 4);
			} else if (descr[1] == 'f') {
				memcpy(b, &v, 8);
			} else {
				int64_t iv = (int64_t)v;
				memcpy(b, &iv, (size_t)size); /* little-endian host */
			}
			buf_append(out, b, (size_t)size);
		}
	}
}

/* One evaluation: target and prediction bytes, kinds, optional multi-class fields, specs. */
typedef struct run_spec {
	const buf *target, *pred;
	inp_kind tkind, pkind;
	int logits;
	const char *classes, *ignore; /* text as the CLI takes it, or NULL */
	const char *specs[8];         /* "l:NAME" or "m:NAME" */
	const char *maps[4];          /* map specs, or NULL */
	int map_format;               /* req_map_format */
} run_spec;

static seg_status evaluate(const run_spec *rs, cJSON **out, seg_error *err)
{
	req_eval r;
	req_case c;
	svc_ctx ctx = {{.max_pixels = 64u << 20, .max_classes = 1024}, NULL, NULL, NULL, NULL};
	seg_status st = SEG_OK;

	memset(&r, 0, sizeof(r));
	memset(&c, 0, sizeof(c));
	mco_init(&r.mc, 1024);
	c.target = (req_mask){rs->target->data, rs->target->len, rs->tkind, NPY_AXIS_AUTO, NULL};
	c.prediction = (req_mask){rs->pred->data, rs->pred->len, rs->pkind, NPY_AXIS_AUTO, NULL};
	r.cases = &c;
	r.ncases = 1;
	r.logits = rs->logits;
	for (int i = 0; i < 8 && rs->specs[i] && st == SEG_OK; i++)
		st = spec_parse(rs->specs[i] + 2, rs->specs[i][0] == 'l' ? SPEC_LOSS : SPEC_METRIC, &r.specs[r.nspecs++],
				err);
	for (int i = 0; i < 4 && rs->maps[i] && st == SEG_OK; i++)
		st = spec_parse(rs->maps[i], SPEC_MAP, &r.maps[r.nmaps++], err);
	r.map_format = (req_map_format)rs->map_format;
	if (st == SEG_OK && rs->classes)
		st = mco_set_text(&r.mc, "classes", rs->classes, err);
	if (st == SEG_OK && rs->ignore)
		st = mco_set_text(&r.mc, "ignore_index", rs->ignore, err);
	if (st == SEG_OK && rs->logits) {
		if (c.prediction.kind == INP_AUTO)
			c.prediction.kind = INP_LOGITS;
		else if (c.prediction.kind != INP_LOGITS)
			st = seg_fail(err, SEG_EINVAL, "logits and kind disagree");
	}
	if (st == SEG_OK)
		st = req_eval_finish(&r, err);
	if (st == SEG_OK)
		st = svc_eval_one(&ctx, &r, out, err);
	r.cases = NULL;
	req_eval_release(&r);
	return st;
}

static double metric(const cJSON *o, const char *key)
{
	const cJSON *v = cJSON_GetObjectItem(cJSON_GetObjectItem(o, "metrics"), key);
	ck_assert_msg(cJSON_IsNumber(v), "metric %s is not a number", key);
	return v->valuedouble;
}

static int warnings_with(const cJSON *o, const char *text)
{
	const cJSON *w;
	int n = 0;
	cJSON_ArrayForEach(w, cJSON_GetObjectItem(o, "warnings")) n += strstr(w->valuestring, text) != NULL;
	return n;
}

/* The identical mask in every encoding scores perfectly. */
START_TEST(test_identical_masks_every_encoding)
{
	static const uint32_t pal[256] = {0x000000, 0xff8000};
	buf target, p[10];
	const char *what[10] = {"grey 8-bit 0/1", "grey 8-bit 0/255", "grey 1-bit", "grey 16-bit 0/1", "palette 0/1",
				"RGB black/white", "bool .npy",	     "uint8 .npy 0/1", "int64 .npy 0/1", "float32 .npy 0/1"};
	int warn_01[10] = {1, 0, 0, 1, 0, 0, 0, 0, 0, 0};

	mask_png(&target, PNG_COLOR_TYPE_GRAY, 8, 255, 0, NULL);
	mask_png(&p[0], PNG_COLOR_TYPE_GRAY, 8, 1, 0, NULL);
	mask_png(&p[1], PNG_COLOR_TYPE_GRAY, 8, 255, 0, NULL);
	mask_png(&p[2], PNG_COLOR_TYPE_GRAY, 1, 1, 0, NULL);
	mask_png(&p[3], PNG_COLOR_TYPE_GRAY, 16, 1, 0, NULL);
	mask_png(&p[4], PNG_COLOR_TYPE_PALETTE, 8, 1, 0, pal);
	mask_png(&p[5], PNG_COLOR_TYPE_RGB, 8, 255, 0, NULL);
	mask_npy(&p[6], "|b1", 1, 1, 0);
	mask_npy(&p[7], "|u1", 1, 1, 0);
	mask_npy(&p[8], "<i8", 8, 1, 0);
	mask_npy(&p[9], "<f4", 4, 1, 0);
	for (int i = 0; i < 10; i++) {
		run_spec rs = {&target, &p[i], INP_AUTO, INP_AUTO, 0, NULL, NULL,
			       {"m:iou", "m:dice", "m:hausdorff", "m:hausdorff95", "l:dice:gamma=1"}, {NULL}, 0};
		cJSON *o = NULL;
		seg_error err = {0};
		ck_assert_msg(evaluate(&rs, &o, &err) == SEG_OK, "%s: %s", what[i], err.msg);
		ck_assert_msg(metric(o, "iou") == 1.0, "%s: iou %g", what[i], metric(o, "iou"));
		ck_assert_msg(metric(o, "dice") == 1.0, "%s", what[i]);
		ck_assert_msg(metric(o, "hausdorff") == 0.0, "%s", what[i]);
		ck_assert_msg(metric(o, "hausdorff95") == 0.0, "%s", what[i]);
		ck_assert_msg(warnings_with(o, "read as a hard mask") == warn_01[i], "%s: hard-mask warning", what[i]);
		cJSON_Delete(o);
		buf_release(&p[i]);
	}
	buf_release(&target);
}
END_TEST

/* Asked for explicitly, a 0/1 PNG is read the old way: p = value/255, with no warning. */
START_TEST(test_explicit_probability_keeps_old_reading)
{
	buf target, pred;
	cJSON *o = NULL;
	seg_error err = {0};

	mask_png(&target, PNG_COLOR_TYPE_GRAY, 8, 255, 0, NULL);
	mask_png(&pred, PNG_COLOR_TYPE_GRAY, 8, 1, 0, NULL);
	run_spec rs = {&target, &pred, INP_AUTO, INP_PROBABILITY, 0, NULL, NULL, {"m:iou", "l:bce"}, {NULL}, 0};
	ck_assert_int_eq(evaluate(&rs, &o, &err), SEG_OK);
	ck_assert(cJSON_IsNull(cJSON_GetObjectItem(cJSON_GetObjectItem(o, "metrics"), "iou")) ||
		  metric(o, "iou") == 0.0);
	ck_assert_int_eq(warnings_with(o, "hard mask"), 0);
	/* bce of p = 1/255 on the foreground: -ln(1/255) there, ~0 elsewhere. */
	double bce = cJSON_GetObjectItem(cJSON_GetObjectItem(o, "losses"), "bce")->valuedouble;
	ck_assert(bce > 0.5);
	cJSON_Delete(o);
	buf_release(&target);
	buf_release(&pred);
}
END_TEST

/* Values all below 32 are still probabilities, with a warning pointing at classes. */
START_TEST(test_small_values_warn)
{
	buf target, pred;
	cJSON *o = NULL;
	seg_error err = {0};

	mask_png(&target, PNG_COLOR_TYPE_GRAY, 8, 2, 0, NULL);
	mask_png(&pred, PNG_COLOR_TYPE_GRAY, 8, 2, 0, NULL);
	run_spec rs = {&target, &pred, INP_AUTO, INP_AUTO, 0, NULL, NULL, {"m:iou"}, {NULL}, 0};
	ck_assert_int_eq(evaluate(&rs, &o, &err), SEG_OK);
	ck_assert_int_eq(warnings_with(o, "below 32"), 1);
	cJSON_Delete(o);
	buf_release(&target);
	buf_release(&pred);
}
END_TEST

static void expect_refusal(const run_spec *rs, const char *text)
{
	cJSON *o = NULL;
	seg_error err = {0};
	ck_assert_int_eq(evaluate(rs, &o, &err), SEG_EINVAL);
	ck_assert_msg(strstr(err.msg, text) != NULL, "message '%s' lacks '%s'", err.msg, text);
	ck_assert_ptr_null(o);
}

START_TEST(test_refusals_say_how_to_be_explicit)
{
	buf target, labels, scores;

	mask_png(&target, PNG_COLOR_TYPE_GRAY, 8, 255, 0, NULL);
	mask_npy(&labels, "<i4", 4, 2, 1); /* values 1 and 2 */
	/* An integer map with two non-zero values and no classes. */
	run_spec a = {&target, &labels, INP_AUTO, INP_AUTO, 0, NULL, NULL, {"m:iou"}, {NULL}, 0};
	expect_refusal(&a, "holding the values 1, 2");
	expect_refusal(&a, "give \"classes\"");
	/* kind labels without classes. */
	run_spec b = {&target, &labels, INP_AUTO, INP_LABELS, 0, NULL, NULL, {"m:iou"}, {NULL}, 0};
	expect_refusal(&b, "needs \"classes\"");
	/* logits: true and kind mask disagree. */
	run_spec c = {&target, &labels, INP_AUTO, INP_MASK, 1, NULL, NULL, {"m:iou"}, {NULL}, 0};
	expect_refusal(&c, "disagree");
	/* Per-class scores need classes. */
	float v[2 * 3 * 4] = {0};
	buf_init(&scores, 0);
	{
		seg_error e;
		const char *dict = "{'descr': '<f4', 'fortran_order': False, 'shape': (2, 3, 4), }";
		size_t n = strlen(dict), pad = (64 - (10 + n + 1) % 64) % 64, hlen = n + pad + 1;
		uint8_t pre[10] = {0x93, 'N', 'U', 'M', 'P', 'Y', 1, 0, (uint8_t)hlen, 0};
		(void)e;
		buf_append(&scores, pre, 10);
		buf_append(&scores, dict, n);
		for (size_t k = 0; k < pad; k++)
			buf_append(&scores, " ", 1);
		buf_append(&scores, "\n", 1);
		buf_append(&scores, v, sizeof(v));
	}
	run_spec d = {&target, &scores, INP_AUTO, INP_AUTO, 0, NULL, NULL, {"m:iou"}, {NULL}, 0};
	expect_refusal(&d, "need \"classes\"");
	/* A multi-class loss in a binary request. */
	run_spec e = {&target, &target, INP_AUTO, INP_AUTO, 0, NULL, NULL, {"l:cross_entropy"}, {NULL}, 0};
	expect_refusal(&e, "give \"classes\"");
	buf_release(&target);
	buf_release(&labels);
	buf_release(&scores);
}
END_TEST

/* A 3-class label map in every encoding, as target and prediction, scores 1 for every class. */
START_TEST(test_label_maps_every_encoding)
{
	enum { N = W * H };
	uint16_t s[N];
	static const uint32_t colour[3] = {0x000000, 0xff0000, 0x00ff00};
	uint32_t pal[256] = {0};
	buf enc[5];
	const char *classes[5] = {"3", "3", "[{\"id\":0,\"color\":\"#000000\"},{\"id\":1,\"color\":\"#ff0000\"},"
				  "{\"id\":2,\"color\":\"#00ff00\"}]",
				  "[{\"id\":0,\"color\":\"#000000\"},{\"id\":1,\"color\":\"#ff0000\"},"
				  "{\"id\":2,\"color\":\"#00ff00\"}]", "3"};
	/* Class 1 the disc, class 2 the box, 0 elsewhere. */
	for (int y = 0; y < H; y++)
		for (int x = 0; x < W; x++) {
			int k = in_mask(x, y) ? (x < 28 ? 1 : 2) : 0;
			s[y * W + x] = (uint16_t)k;
		}
	/* Palette: indexes 5, 9, 7 coloured as the classes, so the colour and not the index is read. */
	pal[5] = colour[0];
	pal[9] = colour[1];
	pal[7] = colour[2];
	uint16_t idx[N], rgb[3 * N];
	for (int i = 0; i < N; i++) {
		static const uint16_t map[3] = {5, 9, 7};
		idx[i] = map[s[i]];
		for (int c = 0; c < 3; c++)
			rgb[3 * i + c] = (uint16_t)((colour[s[i]] >> (16 - 8 * c)) & 0xff);
	}
	struct png_spec g8 = {W, H, PNG_COLOR_TYPE_GRAY, 8, 0, s, 0, -1, NULL};
	struct png_spec g16 = {W, H, PNG_COLOR_TYPE_GRAY, 16, 1, s, 0, -1, NULL};
	struct png_spec pl = {W, H, PNG_COLOR_TYPE_PALETTE, 8, 0, idx, 0, -1, pal};
	struct png_spec rg = {W, H, PNG_COLOR_TYPE_RGB, 8, 0, rgb, 0, -1, NULL};
	for (int i = 0; i < 4; i++)
		buf_init(&enc[i], 0);
	tp_make_png(&g8, &enc[0]);
	tp_make_png(&g16, &enc[1]);
	tp_make_png(&pl, &enc[2]);
	tp_make_png(&rg, &enc[3]);
	{
		/* int64 .npy */
		const char *dict = "{'descr': '<i8', 'fortran_order': False, 'shape': (40, 48), }";
		size_t n = strlen(dict), pad = (64 - (10 + n + 1) % 64) % 64, hlen = n + pad + 1;
		uint8_t pre[10] = {0x93, 'N', 'U', 'M', 'P', 'Y', 1, 0, (uint8_t)hlen, 0};
		buf_init(&enc[4], 0);
		buf_append(&enc[4], pre, 10);
		buf_append(&enc[4], dict, n);
		for (size_t k = 0; k < pad; k++)
			buf_append(&enc[4], " ", 1);
		buf_append(&enc[4], "\n", 1);
		for (int i = 0; i < N; i++) {
			int64_t v = s[i];
			buf_append(&enc[4], &v, 8);
		}
	}
	for (int i = 0; i < 5; i++) {
		run_spec rs = {&enc[i], &enc[i], INP_AUTO, INP_AUTO, 0, classes[i], NULL,
			       {"m:iou", "m:hausdorff95", "m:pixel_accuracy", "l:cross_entropy"}, {NULL}, 0};
		cJSON *o = NULL, *v;
		seg_error err = {0};
		ck_assert_msg(evaluate(&rs, &o, &err) == SEG_OK, "encoding %d: %s", i, err.msg);
		ck_assert_double_eq(metric(o, "iou"), 1.0);
		ck_assert_double_eq(metric(o, "hausdorff95"), 0.0);
		ck_assert_double_eq(metric(o, "pixel_accuracy"), 1.0);
		cJSON_ArrayForEach(v, cJSON_GetObjectItem(cJSON_GetObjectItem(o, "per_class"), "iou"))
			ck_assert_double_eq(v->valuedouble, 1.0);
		ck_assert_int_eq(cJSON_GetArraySize(cJSON_GetObjectItem(cJSON_GetObjectItem(o, "per_class"), "iou")), 3);
		cJSON_Delete(o);
	}
	/* An unknown value is refused naming it and a pixel; the ignore label is not. */
	run_spec bad = {&enc[0], &enc[0], INP_AUTO, INP_AUTO, 0, "2", NULL, {"m:iou"}, {NULL}, 0};
	expect_refusal(&bad, "target has value 2 at row 20, column 28");
	run_spec colours = {&enc[3], &enc[3], INP_AUTO, INP_AUTO, 0, "3", NULL, {"m:iou"}, {NULL}, 0};
	expect_refusal(&colours, "give each class a \"color\"");
	for (int i = 0; i < 5; i++)
		buf_release(&enc[i]);
}
END_TEST

/* A deterministic probability image of w x h as a float32 .npy. */
static void prob_npy(buf *out, int w, int h)
{
	char dict[128];
	int n = snprintf(dict, sizeof(dict), "{'descr': '<f4', 'fortran_order': False, 'shape': (%d, %d), }", h, w);
	size_t pad = (64 - (10 + (size_t)n + 1) % 64) % 64, hlen = (size_t)n + pad + 1;
	uint8_t pre[10] = {0x93, 'N', 'U', 'M', 'P', 'Y', 1, 0, (uint8_t)(hlen & 0xff), (uint8_t)(hlen >> 8)};
	buf_init(out, 0);
	buf_append(out, pre, 10);
	buf_append(out, dict, (size_t)n);
	for (size_t k = 0; k < pad; k++)
		buf_append(out, " ", 1);
	buf_append(out, "\n", 1);
	for (int y = 0; y < h; y++)
		for (int x = 0; x < w; x++) {
			float v = (float)(0.5 + 0.45 * sin(x * 0.05) * cos(y * 0.07));
			buf_append(out, &v, 4);
		}
}

static buf file_buf(const char *path)
{
	size_t len = 0;
	uint8_t *d = tu_read_file(path, &len);
	buf b;
	ck_assert_msg(d != NULL, "cannot read %s", path);
	buf_init(&b, 0);
	buf_append(&b, d, len);
	free(d);
	return b;
}

/* The weight map of a /v1/weight-map JSON body (borrowed), as svc_weight_map computes it; caller frees. */
static float *weight_map_of(const char *body, int *w, int *h, uint32_t *instances)
{
	req_wmap r;
	svc_ctx ctx = {{.max_pixels = 64u << 20, .max_classes = 1024}, NULL, NULL, NULL, NULL};
	svc_timing t = {0};
	wmap_info info;
	seg_error err = {0};
	float *out = NULL;

	ck_assert_msg(req_parse_wmap_capped("application/json", (const uint8_t *)body, strlen(body), 1024, &r, &err) ==
			      SEG_OK,
		      "%s", err.msg);
	ck_assert_msg(svc_wmap_compute(&ctx, &r, &out, w, h, &info, &t, &err) == SEG_OK, "%s", err.msg);
	req_wmap_release(&r);
	*instances = info.instances;
	return out;
}

/* {"target": MASK} with the export's JSON text, or with the PNG in base64. */
static char *wmap_body(const buf *mask, int is_png)
{
	size_t n = is_png ? b64_encoded_len(mask->len) : mask->len;
	char *body = malloc(n + 32);
	size_t at = (size_t)sprintf(body, is_png ? "{\"target\": \"" : "{\"target\": ");

	ck_assert_ptr_nonnull(body);
	if (is_png) {
		at += b64_encode(mask->data, mask->len, body + at);
		body[at++] = '"';
	} else {
		memcpy(body + at, mask->data, mask->len);
		at += mask->len;
	}
	strcpy(body + at, "}");
	return body;
}

/*
 * Every export in tests/fixtures/formats (COCO RLE and polygons, COCO
 * annotations and results, Label Studio, CVAT JSON and XML attributes, on
 * scikit-image's coins and horse) evaluates exactly as the same mask sent
 * as a PNG, weight-map loss included, and gives the same weight map: the
 * `weight` map of the evaluation and the map of /v1/weight-map, byte for
 * byte, with the same number of instances.
 */
START_TEST(test_annotation_exports_equal_png)
{
	size_t len;
	uint8_t *text = tu_read_file("tests/fixtures/formats/cases.json", &len);
	cJSON *all = cJSON_Parse((const char *)text), *c;
	int n = 0;

	free(text);
	ck_assert_ptr_nonnull(all);
	cJSON_ArrayForEach(c, cJSON_GetObjectItem(all, "cases"))
	{
		const char *name = cJSON_GetObjectItem(c, "name")->valuestring;
		if (cJSON_GetArraySize(cJSON_GetObjectItem(c, "opts")) > 0)
			continue; /* an option the MASK object does not carry (the brush threshold): tested in check_formats */
		buf a = file_buf(cJSON_GetObjectItem(c, "mask")->valuestring);
		buf png = file_buf(cJSON_GetObjectItem(c, "expect")->valuestring);
		cJSON *oa = NULL, *ob = NULL;
		seg_error err = {0};
		/* The prediction: any probability image of the same size, read from the PNG's header. */
		int w = (int)((uint32_t)png.data[16] << 24 | (uint32_t)png.data[17] << 16 | (uint32_t)png.data[18] << 8 | png.data[19]);
		int h = (int)((uint32_t)png.data[20] << 24 | (uint32_t)png.data[21] << 16 | (uint32_t)png.data[22] << 8 | png.data[23]);
		buf prob;
		prob_npy(&prob, w, h);
		run_spec ra = {&a, &prob, INP_AUTO, INP_AUTO, 0, NULL, NULL,
			       {"l:bce", "l:shape_aware", "m:iou", "m:hausdorff95", "m:assd"}, {"weight"}, 0};
		run_spec rb = ra;
		rb.target = &png;
		ck_assert_msg(evaluate(&ra, &oa, &err) == SEG_OK, "%s: %s", name, err.msg);
		ck_assert_msg(evaluate(&rb, &ob, &err) == SEG_OK, "%s (png): %s", name, err.msg);
		const char *sec[2] = {"losses", "metrics"};
		for (int k = 0; k < 2; k++) {
			cJSON *va, *vb = cJSON_GetObjectItem(ob, sec[k])->child;
			cJSON_ArrayForEach(va, cJSON_GetObjectItem(oa, sec[k]))
			{
				ck_assert_msg(va->valuedouble == vb->valuedouble, "%s: %s %s %.17g vs %.17g", name, sec[k],
					      va->string, va->valuedouble, vb->valuedouble);
				vb = vb->next;
			}
		}
		/* The evaluation's weight map: the same .npy bytes (their base64 text). */
		const char *wa = cJSON_GetStringValue(cJSON_GetObjectItem(cJSON_GetObjectItem(cJSON_GetObjectItem(oa, "maps"), "weight"), "data"));
		const char *wb = cJSON_GetStringValue(cJSON_GetObjectItem(cJSON_GetObjectItem(cJSON_GetObjectItem(ob, "maps"), "weight"), "data"));
		ck_assert_msg(wa != NULL && wb != NULL, "%s: no weight map", name);
		ck_assert_uint_gt(strlen(wa), 128);
		ck_assert_msg(strcmp(wa, wb) == 0, "%s: the weight maps differ", name);
		/* /v1/weight-map: the same floats and instances. */
		{
			char *ba = wmap_body(&a, 0), *bb = wmap_body(&png, 1);
			int w1, h1, w2, h2;
			uint32_t k1, k2;
			float *m1 = weight_map_of(ba, &w1, &h1, &k1), *m2 = weight_map_of(bb, &w2, &h2, &k2);
			ck_assert_int_eq(w1, w);
			ck_assert_int_eq(h1, h);
			ck_assert_int_eq(w2, w);
			ck_assert_int_eq(h2, h);
			ck_assert_msg(k1 == k2, "%s: %u instances, the PNG %u", name, k1, k2);
			ck_assert_msg(memcmp(m1, m2, (size_t)w * h * sizeof(*m1)) == 0, "%s: /v1/weight-map maps differ", name);
			free(m1);
			free(m2);
			free(ba);
			free(bb);
		}
		cJSON_Delete(oa);
		cJSON_Delete(ob);
		buf_release(&a);
		buf_release(&png);
		buf_release(&prob);
		n++;
	}
	ck_assert_int_ge(n, 15);
	cJSON_Delete(all);
}
END_TEST

/* A CVAT export with two labels, scored per class by name against the same shapes drawn as a label map. */
START_TEST(test_annotation_classes_by_name)
{
	/* 3x4 image: rows 0110/0100/0000 is "car" (box 1,0-2,1), pixel (3,2) is "road". */
	const char *cvat = "{\"cvat\": {\"width\": 4, \"height\": 3, \"shapes\": ["
			   "{\"type\": \"mask\", \"label\": \"car\", \"points\": [0, 3, 1, 1, 0, 2, 1]},"
			   "{\"type\": \"mask\", \"label\": \"road\", \"points\": [0, 1, 3, 2, 3, 2]}]}}";
	buf a, labels;
	uint16_t px[12] = {0, 2, 2, 0, 0, 2, 0, 0, 0, 0, 0, 1};
	struct png_spec ps = {4, 3, PNG_COLOR_TYPE_GRAY, 8, 0, px, 0, -1, NULL};
	cJSON *o = NULL;
	seg_error err = {0};

	buf_init(&a, 0);
	buf_append(&a, cvat, strlen(cvat));
	buf_init(&labels, 0);
	tp_make_png(&ps, &labels);
	run_spec rs = {&labels, &a, INP_AUTO, INP_AUTO, 0, "[\"background\", \"road\", \"car\"]", NULL,
		       {"m:iou", "m:pixel_accuracy"}, {NULL}, 0};
	ck_assert_msg(evaluate(&rs, &o, &err) == SEG_OK, "%s", err.msg);
	ck_assert_double_eq(metric(o, "iou"), 1.0);
	ck_assert_double_eq(metric(o, "pixel_accuracy"), 1.0);
	cJSON_Delete(o);
	/* A label no class has is refused naming it. */
	buf road;
	uint16_t px2[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1};
	struct png_spec ps2 = {4, 3, PNG_COLOR_TYPE_GRAY, 8, 0, px2, 0, -1, NULL};
	buf_init(&road, 0);
	tp_make_png(&ps2, &road);
	run_spec bad = rs;
	bad.target = &road;
	bad.classes = "[\"background\", \"road\"]";
	expect_refusal(&bad, "car");
	buf_release(&road);
	buf_release(&a);
	buf_release(&labels);
}
END_TEST

/* The base64 "data" (or an RLE's counts) of map key, decoded into a new buffer. */
static buf map_bytes(const cJSON *o, const char *key)
{
	const cJSON *m = cJSON_GetObjectItem(cJSON_GetObjectItem(o, "maps"), key);
	const char *text = cJSON_GetStringValue(cJSON_GetObjectItem(m, "data"));
	buf b;
	size_t n = 0;
	seg_error e;
	ck_assert_ptr_nonnull(text);
	buf_init(&b, 0);
	buf_reserve(&b, strlen(text));
	ck_assert_int_eq(b64_decode(text, strlen(text), b.data, &n, &e), SEG_OK);
	b.len = n;
	return b;
}

/* The errors and mask maps of a binary pair: palette PNG values, COCO RLE that decodes to them, .npy. */
START_TEST(test_maps_mask_and_errors)
{
	buf target, pred;
	/* Target the mask; prediction the mask moved 3 pixels right: TP, FP and FN all present. */
	mask_png(&target, PNG_COLOR_TYPE_GRAY, 8, 255, 0, NULL);
	{
		uint16_t px[W * H];
		for (int y = 0; y < H; y++)
			for (int x = 0; x < W; x++)
				px[y * W + x] = x >= 3 && in_mask(x - 3, y) ? 255 : 0;
		struct png_spec ps = {W, H, PNG_COLOR_TYPE_GRAY, 8, 0, px, 0, -1, NULL};
		buf_init(&pred, 0);
		tp_make_png(&ps, &pred);
	}
	uint8_t want[W * H];
	for (int y = 0; y < H; y++)
		for (int x = 0; x < W; x++) {
			int a = x >= 3 && in_mask(x - 3, y), b = in_mask(x, y);
			want[y * W + x] = (uint8_t)(a && b ? 1 : a ? 2 : b ? 3 : 0);
		}
	/* PNG: a palette image whose indexes are the error classes. */
	run_spec rs = {&target, &pred, INP_AUTO, INP_AUTO, 0, NULL, NULL, {"m:iou"}, {"errors", "mask"}, REQ_MAP_PNG};
	cJSON *o = NULL;
	seg_error err = {0};
	ck_assert_msg(evaluate(&rs, &o, &err) == SEG_OK, "%s", err.msg);
	buf png = map_bytes(o, "errors");
	seg_target t = {0};
	ck_assert_int_eq(pngio_decode_target(png.data, png.len, 1u << 20, &t, &err), SEG_OK);
	for (int i = 0; i < W * H; i++)
		ck_assert_uint_eq(t.labels ? t.labels[i] : (t.fg[i] ? t.fg_value : 0), want[i]);
	ck_assert_int_eq(cJSON_GetArraySize(cJSON_GetObjectItem(cJSON_GetObjectItem(cJSON_GetObjectItem(o, "maps"), "errors"),
							       "legend")), 4);
	seg_target_release(&t);
	buf_release(&png);
	/* The mask as PNG reads back as the same prediction: 0/255. */
	png = map_bytes(o, "mask");
	ck_assert_int_eq(pngio_decode_target(png.data, png.len, 1u << 20, &t, &err), SEG_OK);
	for (int i = 0; i < W * H; i++)
		ck_assert_uint_eq(t.fg[i], want[i] == 1 || want[i] == 2);
	ck_assert_uint_eq(t.fg_value, 255);
	seg_target_release(&t);
	buf_release(&png);
	cJSON_Delete(o);

	/* COCO RLE: each class of errors decodes to its pixels. */
	rs.map_format = REQ_MAP_COCO_RLE;
	ck_assert_msg(evaluate(&rs, &o, &err) == SEG_OK, "%s", err.msg);
	const cJSON *rle = cJSON_GetObjectItem(cJSON_GetObjectItem(cJSON_GetObjectItem(o, "maps"), "errors"), "rle");
	const char *names[4] = {NULL, "true_positive", "false_positive", "false_negative"};
	for (int k = 1; k < 4; k++) {
		const cJSON *r = cJSON_GetObjectItem(rle, names[k]);
		const char *counts = cJSON_GetStringValue(cJSON_GetObjectItem(r, "counts"));
		uint32_t *cts = NULL;
		size_t nc = 0;
		uint8_t m[W * H];
		ck_assert_ptr_nonnull(counts);
		ck_assert_int_eq(coco_from_string(counts, strlen(counts), &cts, &nc, &err), SEG_OK);
		ck_assert_int_eq(coco_decode(cts, nc, H, W, m, &err), SEG_OK);
		for (int i = 0; i < W * H; i++)
			ck_assert_uint_eq(m[i], want[i] == k);
		free(cts);
	}
	cJSON_Delete(o);
	/* A two-class request's mask map holds class ids 0 and 1 (not a binary 0/255 mask): it can be sent back as labels. */
	buf t01, p01;
	mask_png(&t01, PNG_COLOR_TYPE_GRAY, 8, 1, 0, NULL);
	{
		uint16_t px[W * H];
		for (int y = 0; y < H; y++)
			for (int x = 0; x < W; x++)
				px[y * W + x] = x >= 3 && in_mask(x - 3, y) ? 1 : 0;
		struct png_spec ps = {W, H, PNG_COLOR_TYPE_GRAY, 8, 0, px, 0, -1, NULL};
		buf_init(&p01, 0);
		tp_make_png(&ps, &p01);
	}
	run_spec two = {&t01, &p01, INP_AUTO, INP_AUTO, 0, "2", NULL, {"m:iou"}, {"mask"}, REQ_MAP_PNG};
	ck_assert_msg(evaluate(&two, &o, &err) == SEG_OK, "%s", err.msg);
	buf_release(&t01);
	buf_release(&p01);
	png = map_bytes(o, "mask");
	ck_assert_int_eq(pngio_decode_target(png.data, png.len, 1u << 20, &t, &err), SEG_OK);
	ck_assert_uint_eq(t.fg_value, 1);
	for (int i = 0; i < W * H; i++)
		ck_assert_uint_eq(t.fg[i], want[i] == 1 || want[i] == 2);
	seg_target_release(&t);
	buf_release(&png);
	cJSON_Delete(o);
	/* A float map has no RLE form. */
	run_spec bad = rs;
	bad.maps[0] = "weight";
	bad.maps[1] = NULL;
	expect_refusal(&bad, "no COCO RLE form");
	buf_release(&target);
	buf_release(&pred);
}
END_TEST

/*
 * The weight map of a two-class label map (background and one class) is
 * the binary weight map of its foreground with connected components as
 * instances: the same instances, the same balanced w_c over two classes.
 */
START_TEST(test_label_map_weight_map_two_classes)
{
	buf t01;
	req_wmap a, b;
	seg_error err = {0};
	float *wa = NULL, *wb = NULL;
	int w1, h1, w2, h2;
	wmap_info ia, ib;
	svc_timing tm = {0};
	svc_ctx ctx = {.lim = {64u << 20, 1024}};

	mask_png(&t01, PNG_COLOR_TYPE_GRAY, 8, 1, 0, NULL);
	memset(&a, 0, sizeof(a));
	memset(&b, 0, sizeof(b));
	mco_init(&a.mc, 1024);
	mco_init(&b.mc, 1024);
	ck_assert_int_eq(spec_parse("weight", SPEC_MAP, &a.params, &err), SEG_OK);
	ck_assert_int_eq(spec_parse("weight:instances=components", SPEC_MAP, &b.params, &err), SEG_OK);
	a.target = (req_mask){t01.data, t01.len, INP_AUTO, NPY_AXIS_AUTO, NULL};
	b.target = a.target;
	ck_assert_int_eq(mco_set_text(&a.mc, "classes", "background,cell", &err), SEG_OK);
	ck_assert_int_eq(mco_finish(&a.mc, NULL, 0, &err), SEG_OK);
	ck_assert_int_eq(mco_finish(&b.mc, NULL, 0, &err), SEG_OK);
	ck_assert_msg(svc_wmap_compute(&ctx, &a, &wa, &w1, &h1, &ia, &tm, &err) == SEG_OK, "%s", err.msg);
	ck_assert_msg(svc_wmap_compute(&ctx, &b, &wb, &w2, &h2, &ib, &tm, &err) == SEG_OK, "%s", err.msg);
	ck_assert_int_eq(ia.instances, ib.instances);
	ck_assert_int_ge(ia.instances, 2);
	for (int i = 0; i < W * H; i++)
		ck_assert_msg(fabsf(wa[i] - wb[i]) <= 1e-6f, "pixel %d: %g vs %g", i, (double)wa[i], (double)wb[i]);
	free(wa);
	free(wb);
	mco_release(&a.mc);
	mco_release(&b.mc);
	buf_release(&t01);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("inputs");
	TCase *tc = tcase_create("inputs");
	SRunner *sr;
	int failed;

	tcase_add_test(tc, test_identical_masks_every_encoding);
	tcase_add_test(tc, test_explicit_probability_keeps_old_reading);
	tcase_add_test(tc, test_small_values_warn);
	tcase_add_test(tc, test_refusals_say_how_to_be_explicit);
	tcase_add_test(tc, test_label_maps_every_encoding);
	tcase_add_test(tc, test_annotation_exports_equal_png);
	tcase_add_test(tc, test_annotation_classes_by_name);
	tcase_add_test(tc, test_maps_mask_and_errors);
	tcase_add_test(tc, test_label_map_weight_map_two_classes);
	tcase_set_timeout(tc, 60);
	suite_add_tcase(s, tc);
	sr = srunner_create(s);
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? 1 : 0;
}
