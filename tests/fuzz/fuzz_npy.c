/*
 * fuzz_npy.c — libFuzzer target: .npy bytes into targets and predictions.
 *
 * Each input is decoded as a target and as a prediction, with and without
 * logits. Besides the mask invariants (fg in {0, 1}, labels non-zero
 * exactly where fg is set, p in [0, 1]) the roles must agree with the
 * dtype: no input is both a valid target (bool or integer) and a valid
 * prediction (float). A prediction read without logits must also read
 * with them, as the sigmoid of the same values; and encoded again with
 * npy_encode_f32 it must decode to the very same floats.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "codec/buf.h"
#include "codec/npy.h"
#include "fuzzutil.h"

#define INPUT_CAP (1u << 20)

/* Encodes p as float32 .npy and checks that it decodes to identical values. */
static void round_trip(const seg_pred *p)
{
	size_t n = (size_t)p->width * (size_t)p->height;
	buf npy;
	seg_pred back;
	seg_target t;
	seg_error e;
	seg_status st;

	buf_init(&npy, 0);
	seg_error_clear(&e);
	st = npy_encode_f32(p->p, p->width, p->height, &npy, &e);
	fz_check_error(st, &e);
	FZ_ASSERT(st == SEG_OK);
	st = npy_decode_pred(npy.data, npy.len, FZ_MAX_PIXELS, 0, &back, &e);
	fz_check_error(st, &e);
	FZ_ASSERT(st == SEG_OK && back.width == p->width && back.height == p->height);
	FZ_ASSERT(memcmp(back.p, p->p, n * sizeof(float)) == 0);
	seg_pred_release(&back);
	/* float32 is no target dtype. */
	st = npy_decode_target(npy.data, npy.len, FZ_MAX_PIXELS, &t, &e);
	fz_check_error(st, &e);
	FZ_ASSERT(st == SEG_EINVAL);
	buf_release(&npy);
}

/* Label values: exact where the target reading succeeds; refused for floats, as the target is. */
static void check_values(const uint8_t *data, size_t size, seg_status st_t)
{
	uint32_t *v = NULL;
	int w = 0, h = 0;
	seg_error e;
	seg_status st;

	seg_error_clear(&e);
	st = npy_decode_values(data, size, FZ_MAX_PIXELS, "target", &v, &w, &h, &e);
	fz_check_error(st, &e);
	if (st == SEG_OK) {
		FZ_ASSERT(w >= 1 && h >= 1 && (uint64_t)w * (uint64_t)h <= FZ_MAX_PIXELS);
		FZ_ASSERT(st_t == SEG_OK); /* every readable label map is a readable target */
	} else {
		FZ_ASSERT(v == NULL);
	}
	free(v);
}

/* Per-class scores with the class count read from the shape, both readings: probabilities obey their checks. */
static void check_scores(const uint8_t *data, size_t size)
{
	npy_info info;
	seg_error e;

	seg_error_clear(&e);
	if (npy_probe(data, size, &info, &e) != SEG_OK || info.ndim != 3 || info.shape[0] == 0 || info.shape[0] > 64)
		return;
	for (int logits = 0; logits <= 1; logits++) {
		seg_scores sc;
		seg_status st;
		seg_error_clear(&e);
		st = npy_decode_scores(data, size, FZ_MAX_PIXELS, (int)info.shape[0], NPY_AXIS_AUTO, logits, &sc, &e);
		fz_check_error(st, &e);
		if (st != SEG_OK) {
			FZ_ASSERT(sc.v == NULL);
			continue;
		}
		size_t n = (size_t)sc.width * (size_t)sc.height;
		FZ_ASSERT(sc.classes == (int)info.shape[0] && n >= 1 && n <= FZ_MAX_PIXELS);
		for (size_t i = 0; i < n; i++) {
			double sum = 0.0;
			for (int c = 0; c < sc.classes; c++) {
				float x = sc.v[(size_t)c * n + i];
				FZ_ASSERT(isfinite(x));
				FZ_ASSERT(logits || (x >= 0.0f && x <= 1.0f));
				sum += x;
			}
			FZ_ASSERT(logits || fabs(sum - 1.0) <= 1e-3 + 1e-5 * sc.classes);
		}
		seg_scores_release(&sc);
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	seg_target t;
	seg_pred p;
	seg_pred q;
	seg_error e;
	seg_status st_t;
	seg_status st_p;
	seg_status st_q;

	if (size > INPUT_CAP)
		return 0;

	seg_error_clear(&e);
	st_t = npy_decode_target(data, size, FZ_MAX_PIXELS, &t, &e);
	fz_check_error(st_t, &e);
	if (st_t == SEG_OK)
		fz_check_target(&t, FZ_MAX_PIXELS);
	else
		FZ_ASSERT(t.fg == NULL && t.labels == NULL);

	seg_error_clear(&e);
	st_p = npy_decode_pred(data, size, FZ_MAX_PIXELS, 0, &p, &e);
	fz_check_error(st_p, &e);
	if (st_p == SEG_OK)
		fz_check_pred(&p, FZ_MAX_PIXELS);
	else
		FZ_ASSERT(p.p == NULL);

	seg_error_clear(&e);
	st_q = npy_decode_pred(data, size, FZ_MAX_PIXELS, 1, &q, &e);
	fz_check_error(st_q, &e);
	if (st_q == SEG_OK)
		fz_check_pred(&q, FZ_MAX_PIXELS);
	else
		FZ_ASSERT(q.p == NULL);

	FZ_ASSERT(st_t != SEG_OK || (st_p != SEG_OK && st_q != SEG_OK));
	if (st_t == SEG_OK)
		FZ_ASSERT(npy_is_npy(data, size));
	if (st_p == SEG_OK) {
		size_t n = (size_t)p.width * (size_t)p.height;

		/* Values in [0, 1] are finite, so the logits reading succeeds too. */
		FZ_ASSERT(st_q == SEG_OK && q.width == p.width && q.height == p.height);
		for (size_t i = 0; i < n; i++)
			FZ_ASSERT(fabs((double)q.p[i] - 1.0 / (1.0 + exp(-(double)p.p[i]))) <= 1e-6);
		round_trip(&p);
	}
	seg_target_release(&t);
	seg_pred_release(&p);
	seg_pred_release(&q);
	check_values(data, size, st_t);
	check_scores(data, size);
	return 0;
}
