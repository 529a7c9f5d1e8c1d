/*
 * fuzz_cvat.c — libFuzzer target: CVAT mask points and the XML form.
 *
 * Bytes 0 and 1 choose the image (w, h in 1..64). The rest is read twice:
 * as points (16-bit values, the last four made box coordinates with a
 * quarter-pixel fraction so truncation is exercised), and as the text of
 * an XML rle attribute with a box from bytes 0 and 1. A decoded mask
 * must lie inside the box, cvat_spans must paint the same pixels as
 * cvat_decode, and cvat_encode with that box must give points that
 * decode to the same mask.
 */
#include <stdlib.h>
#include <string.h>

#include "codec/cvat.h"
#include "fuzzutil.h"

#define MAX_POINTS 4096

static void span_ones(void *ctx, size_t start, size_t step, size_t len)
{
	uint8_t *m = (uint8_t *)ctx + start;

	FZ_ASSERT(step == 1);
	memset(m, 1, len);
}

static void check_points(const double *pts, size_t n, int w, int h)
{
	size_t px = (size_t)w * (size_t)h, n2 = 0;
	uint8_t *m = malloc(px), *m2 = calloc(px, 1);
	double *p2 = NULL;
	cvat_box box;
	seg_error e;
	seg_status st;

	FZ_ASSERT(m && m2);
	seg_error_clear(&e);
	st = cvat_check(pts, n, w, h, &box, &e);
	fz_check_error(st, &e);
	FZ_ASSERT(cvat_decode(pts, n, w, h, m, &e) == st);
	if (st != SEG_OK) {
		FZ_ASSERT(st == SEG_EINVAL);
		goto out;
	}
	FZ_ASSERT(box.left >= 0 && box.left <= box.right && box.right < w);
	FZ_ASSERT(box.top >= 0 && box.top <= box.bottom && box.bottom < h);
	FZ_ASSERT(cvat_spans(pts, n, w, h, span_ones, m2, &e) == SEG_OK);
	FZ_ASSERT(memcmp(m, m2, px) == 0);
	for (int y = 0; y < h; y++)
		for (int x = 0; x < w; x++)
			if (m[(size_t)y * w + x])
				FZ_ASSERT(x >= box.left && x <= box.right && y >= box.top && y <= box.bottom);
	FZ_ASSERT(cvat_encode(m, w, h, &box, &p2, &n2, &e) == SEG_OK);
	FZ_ASSERT(cvat_decode(p2, n2, w, h, m2, &e) == SEG_OK);
	FZ_ASSERT(memcmp(m, m2, px) == 0);
out:
	free(m);
	free(m2);
	free(p2);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	double pts[MAX_POINTS], *xml = NULL;
	size_t n, nx = 0;
	int w, h;
	seg_error e;
	seg_status st;

	if (size < 2 || size > 2 * MAX_POINTS + 2)
		return 0;
	w = data[0] % 64 + 1;
	h = data[1] % 64 + 1;
	n = (size - 2) / 2;
	for (size_t i = 0; i < n; i++) {
		unsigned v = (unsigned)data[2 + 2 * i] | (unsigned)data[3 + 2 * i] << 8;
		pts[i] = i + 4 >= n ? (double)(int)(v % 280) / 4.0 - 2.0 : (double)(v % 1200);
	}
	check_points(pts, n, w, h);

	seg_error_clear(&e);
	st = cvat_points_from_xml((const char *)data + 2, size - 2, data[0] % 8, data[1] % 8, w, h, &xml, &nx, &e);
	fz_check_error(st, &e);
	if (st == SEG_OK) {
		FZ_ASSERT(nx >= 5);
		check_points(xml, nx, 8 + 64, 8 + 64);
	} else {
		FZ_ASSERT(st == SEG_EINVAL && xml == NULL);
	}
	free(xml);
	return 0;
}
