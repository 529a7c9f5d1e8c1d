/*
 * check_request.c — request bodies parsed in place against the same
 * bodies parsed by copy.
 *
 * req_parse_eval_inplace and req_parse_wmap_inplace lift long strings
 * out of a JSON body before cJSON sees it and decode masks where their
 * base64 text was. A table of bodies — masks as strings, data: URLs and
 * {"png"} objects, batches, long strings that are not masks (a loss spec,
 * an item, an annotation's counts, a key), escapes, broken JSON after and
 * inside long strings — must give exactly what req_parse_eval_capped and
 * req_parse_wmap_capped give on a copy: the same status and message, the
 * same masks byte for byte, the same specs and names.
 */
#include <check.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "codec/b64.h"
#include "codec/buf.h"
#include "service/request.h"
#include "testpng.h"

static char *png_b64; /* a 40x40 grey PNG of noise, base64: longer than any lifting threshold */
static char *small_b64; /* a 2x2 PNG: shorter */

static char *b64_of_png(int side, uint64_t seed)
{
	uint16_t *s = malloc(sizeof(uint16_t) * (size_t)side * side);
	for (int i = 0; i < side * side; i++) {
		seed = seed * 6364136223846793005ULL + 1442695040888963407ULL;
		s[i] = (uint16_t)(seed >> 56);
	}
	struct png_spec ps = {side, side, 0 /* grey */, 8, 0, s, 0, 0, NULL};
	buf png;
	buf_init(&png, 0);
	tp_make_png(&ps, &png);
	char *out = malloc(b64_encoded_len(png.len) + 1);
	b64_encode(png.data, png.len, out);
	buf_release(&png);
	free(s);
	return out;
}

static char *fmt(const char *f, ...) __attribute__((format(printf, 1, 2)));
static char *fmt(const char *f, ...)
{
	va_list ap;
	va_start(ap, f);
	int n = vsnprintf(NULL, 0, f, ap);
	va_end(ap);
	char *s = malloc((size_t)n + 1);
	va_start(ap, f);
	vsnprintf(s, (size_t)n + 1, f, ap);
	va_end(ap);
	return s;
}

static void same_mask(const req_mask *a, const req_mask *b, const char *body)
{
	ck_assert_msg(a->len == b->len, "mask length %zu vs %zu in %.120s", a->len, b->len, body);
	ck_assert(a->len == 0 || memcmp(a->data, b->data, a->len) == 0);
	ck_assert_int_eq(a->kind, b->kind);
	ck_assert_int_eq(a->channel_axis, b->channel_axis);
	ck_assert((a->annot == NULL) == (b->annot == NULL));
}

/* Both parsers on body: same outcome; returns the status. */
static int in_body; /* predictions decoded in the body itself, over the table */

static seg_status both_eval_n(const char *body, size_t n)
{
	uint8_t *copy = malloc(n + 1);
	req_eval a, b;
	seg_error ea = {0}, eb = {0};

	memcpy(copy, body, n + 1);
	seg_status sa = req_parse_eval_capped("application/json", (const uint8_t *)body, n, 64, &a, &ea);
	seg_status sb = req_parse_eval_inplace("application/json", copy, n, 64, &b, &eb);
	ck_assert_msg(sa == sb, "status %d vs %d for %.160s", sa, sb, body);
	if (sa != SEG_OK) {
		ck_assert_str_eq(ea.msg, eb.msg);
	} else {
		ck_assert_uint_eq(a.ncases, b.ncases);
		ck_assert_int_eq(a.batch, b.batch);
		ck_assert_str_eq(a.run, b.run);
		for (size_t i = 0; i < a.ncases; i++) {
			same_mask(&a.cases[i].target, &b.cases[i].target, body);
			same_mask(&a.cases[i].prediction, &b.cases[i].prediction, body);
			ck_assert_str_eq(a.cases[i].item, b.cases[i].item);
			ck_assert_int_eq(a.cases[i].logits, b.cases[i].logits);
		}
		ck_assert_uint_eq(a.nspecs, b.nspecs);
		for (size_t i = 0; i < a.nspecs; i++)
			ck_assert_str_eq(a.specs[i].key, b.specs[i].key);
		ck_assert_uint_eq(a.nmaps, b.nmaps);
		/* Annotations are read later from the tree: their strings must be whole again. */
		if (a.cases[0].target.annot) {
			char *ta = cJSON_PrintUnformatted(a.cases[0].target.annot);
			char *tb = cJSON_PrintUnformatted(b.cases[0].target.annot);
			ck_assert_str_eq(ta, tb);
			cJSON_free(ta);
			cJSON_free(tb);
		}
		/* A long mask was decoded where its text was, in the body. */
		for (size_t i = 0; i < b.ncases; i++) {
			const req_mask *m = &b.cases[i].prediction;
			if (m->data && m->data >= copy && m->data < copy + n)
				in_body++;
		}
	}
	req_eval_release(&a);
	req_eval_release(&b);
	free(copy);
	return sa;
}

static seg_status both_eval(const char *body)
{
	return both_eval_n(body, strlen(body));
}

static seg_status both_wmap(const char *body)
{
	size_t n = strlen(body);
	uint8_t *copy = malloc(n + 1);
	req_wmap a, b;
	seg_error ea = {0}, eb = {0};

	memcpy(copy, body, n + 1);
	seg_status sa = req_parse_wmap_capped("application/json", (const uint8_t *)body, n, 64, &a, &ea);
	seg_status sb = req_parse_wmap_inplace("application/json", copy, n, 64, &b, &eb);
	ck_assert_msg(sa == sb, "status %d vs %d for %.160s", sa, sb, body);
	if (sa != SEG_OK)
		ck_assert_str_eq(ea.msg, eb.msg);
	else
		same_mask(&a.target, &b.target, body);
	req_wmap_release(&a);
	req_wmap_release(&b);
	free(copy);
	return sa;
}

static void setup(void)
{
	png_b64 = b64_of_png(40, 7);
	small_b64 = b64_of_png(2, 9);
	ck_assert(strlen(png_b64) > 1024);
	ck_assert(strlen(small_b64) < 256);
}

static void teardown(void)
{
	free(png_b64);
	free(small_b64);
}

START_TEST(test_masks_agree)
{
	const char *P = png_b64, *S = small_b64;
	char *bodies[] = {
		fmt("{\"target\": \"%s\", \"prediction\": \"%s\", \"losses\": [\"bce\", \"dice\"]}", P, P),
		fmt("{\"target\":\"%s\",\"prediction\":\"%s\"}", S, P),
		fmt("{\"target\": \"data:image/png;base64,%s\", \"prediction\": {\"png\": \"%s\", \"kind\": \"probability\"}}", P, P),
		fmt("{\"target\": {\"png\": \"%s\"}, \"prediction\": {\"npy\": \"%s\"}}", P, P),
		fmt("{\"items\": [{\"target\": \"%s\", \"prediction\": \"%s\", \"item\": \"a\"}, {\"target\": \"%s\", "
		    "\"prediction\": {\"png\": \"%s\"}, \"item\": \"b\"}], \"losses\": [\"bce\"]}", P, P, S, P),
		fmt("{\"prediction\": \"%s\", \"target\": \"%s\", \"metrics\": [\"iou\"], \"run\": \"r1\", \"item\": \"x\"}", P, P),
		/* not base64: the error names the offset, as it always did */
		fmt("{\"target\": \"%s!%s\", \"prediction\": \"%s\"}", P, P, P),
		fmt("{\"target\": \"%s\", \"prediction\": \"%.300s\"}", P, P),
		/* escapes in a long string: parsed by cJSON as ever */
		fmt("{\"target\": \"%.600s\\/%s\", \"prediction\": \"%s\"}", P, P + 600, P),
		/* a mask where no mask goes, and long strings that are not masks */
		fmt("{\"target\": \"%s\", \"prediction\": \"%s\", \"losses\": [\"%s\"]}", P, P, P),
		fmt("{\"target\": \"%s\", \"prediction\": \"%s\", \"item\": \"%.400s\"}", P, P, P),
		fmt("{\"target\": \"%s\", \"prediction\": \"%s\", \"run\": \"%s\"}", P, P, P),
		fmt("{\"target\": \"%s\", \"prediction\": \"%s\", \"%s\": 1}", P, P, P),
		fmt("{\"target\": \"%s\", \"prediction\": \"%s\", \"extra\": \"%s\"}", P, P, P),
		fmt("{\"target\": {\"png\": \"%s\", \"kind\": \"%s\"}, \"prediction\": \"%s\"}", P, P, P),
		fmt("{\"items\": [\"%s\", {\"target\": \"%s\", \"prediction\": \"%s\"}]}", P, P, P),
		fmt("{\"items\": [{\"target\": \"%s\", \"prediction\": \"%s\", \"extra\": [\"%s\"]}]}", P, P, P),
		/* annotations: their long strings are read later, from the tree */
		fmt("{\"target\": {\"coco_rle\": {\"size\": [40, 40], \"counts\": \"%s\"}}, \"prediction\": \"%s\"}", P, P),
		/* broken JSON before, after and around long strings: the same byte offset */
		fmt("{\"target\": \"%s\", \"prediction\": \"%s\", }", P, P),
		fmt("{\"target\": \"%s\" \"prediction\": \"%s\"}", P, P),
		fmt("{\"target\": \"%s\", \"prediction\": \"%s\"", P, P),
		fmt("{\"target\": \"%s, \"prediction\": \"%s\"}", P, P),
		fmt("{\"target\": \"%s\", \"prediction\": \"%s", P, P),
		fmt("[\"%s\", \"%s\"]", P, P),
		fmt("{\"target\": \"%s\", \"prediction\": \"%s\", \"x\": \"\\u0000\"}", P, P),
		fmt("{\"target\": \"%s\", \"prediction\": \"%s\", \"losses\": [\"bce\", \"bce\"]}", P, P),
		fmt("{\"target\": \"\", \"prediction\": \"%s\"}", P),
		fmt("  {\"target\" :\t\"%s\"\n, \"prediction\"\r\n:\"%s\" }  ", P, P),
		/* cJSON skips any byte up to the space between tokens: a key is still a key */
		fmt("{\"target\"\x19: \"%s\", \"prediction\"\x01\x02: {\"png\"\x1f:\"%s\"}}", P, P),
	};
	int ok = 0;

	for (size_t i = 0; i < sizeof(bodies) / sizeof(bodies[0]); i++) {
		ok += both_eval(bodies[i]) == SEG_OK;
		free(bodies[i]);
	}
	ck_assert_int_ge(ok, 6); /* the table holds requests that parse, not only errors */
	ck_assert_int_ge(in_body, 6); /* and their long masks were lifted */
}
END_TEST

/* A raw NUL inside a long string ends its text, as it ends the C string cJSON makes of it. */
START_TEST(test_raw_nul_in_a_long_string)
{
	char *body = fmt("{\"target\": \"%sAAAA\", \"prediction\": \"%s\"}", png_b64, png_b64);
	size_t n = strlen(body);
	char *at = strstr(body, "AAAA\"");

	at[1] = '\0';
	both_eval_n(body, n); /* the two parsers agree, whatever they say */
	at[1] = 'A';
	at = body + 12 + strlen(png_b64) / 2;
	*at = '\0';
	both_eval_n(body, n); /* half the text: parses (the PNG is only read later), alike */
	free(body);
}
END_TEST

START_TEST(test_weight_map_agrees)
{
	const char *P = png_b64;
	char *bodies[] = {
		fmt("{\"target\": \"%s\", \"w0\": 5}", P),
		fmt("{\"target\": {\"png\": \"%s\"}, \"sigma\": 3}", P),
		fmt("{\"target\": \"%s\", \"prediction\": \"%s\"}", P, P),
		fmt("{\"target\": \"%s\", \"instances\": \"%s\"}", P, P),
		fmt("{\"target\": \"%s\", \"w0\": }", P),
	};
	int ok = 0;

	for (size_t i = 0; i < sizeof(bodies) / sizeof(bodies[0]); i++) {
		ok += both_wmap(bodies[i]) == SEG_OK;
		free(bodies[i]);
	}
	ck_assert_int_ge(ok, 2);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("request");
	TCase *tc = tcase_create("inplace");
	SRunner *sr;
	int failed;

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, test_masks_agree);
	tcase_add_test(tc, test_raw_nul_in_a_long_string);
	tcase_add_test(tc, test_weight_map_agrees);
	suite_add_tcase(s, tc);
	sr = srunner_create(s);
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
