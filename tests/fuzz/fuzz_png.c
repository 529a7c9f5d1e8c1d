/*
 * fuzz_png.c — libFuzzer target: PNG bytes into targets and predictions.
 *
 * Each input is decoded in both roles twice. First as it is, which
 * exercises the signature test, the chunk walk and its CRC checks. Then
 * repaired: the PNG signature is put in front when it is missing and the
 * CRC of every complete chunk is recomputed, so that mutated lengths,
 * headers and compressed data get past "CRC error" into libpng and the
 * row callbacks. Corpus files may therefore be whole PNGs or bare chunk
 * sequences.
 *
 * A decoded target must have fg in {0, 1} and labels non-zero exactly
 * where fg is set; a prediction every p in [0, 1]. Small predictions also
 * go through the encoders: written as a 16-bit greyscale PNG they must
 * decode to the same values to within half a 16-bit step (and as a target
 * to foreground exactly where the sample is non-zero), and as a heatmap
 * they must decode to an all-foreground RGB target.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "codec/buf.h"
#include "codec/pngio.h"
#include "fuzzutil.h"

#define INPUT_CAP (1u << 20)
#define MAX_ROUND_TRIP_PIXELS 4096

/* Encodes p as 16-bit grey and as a heatmap, decodes both back and compares. */
static void round_trip(const seg_pred *p)
{
	size_t n = (size_t)p->width * (size_t)p->height;
	uint16_t *px = malloc(n * sizeof(*px));
	buf png;
	seg_pred back;
	seg_target t;
	seg_error e;
	seg_status st;

	FZ_ASSERT(px != NULL);
	for (size_t i = 0; i < n; i++)
		px[i] = (uint16_t)lrint(p->p[i] * 65535.0);

	buf_init(&png, 0);
	seg_error_clear(&e);
	st = pngio_encode_gray(px, p->width, p->height, 16, &png, &e);
	fz_check_error(st, &e);
	FZ_ASSERT(st == SEG_OK);
	st = pngio_decode_pred(png.data, png.len, FZ_MAX_PIXELS, &back, &e);
	fz_check_error(st, &e);
	FZ_ASSERT(st == SEG_OK && back.width == p->width && back.height == p->height);
	for (size_t i = 0; i < n; i++)
		FZ_ASSERT(fabs((double)back.p[i] - (double)p->p[i]) <= 0.5 / 65535.0 + 1e-6);
	seg_pred_release(&back);
	st = pngio_decode_target(png.data, png.len, FZ_MAX_PIXELS, &t, &e);
	fz_check_error(st, &e);
	FZ_ASSERT(st == SEG_OK);
	fz_check_target(&t, FZ_MAX_PIXELS);
	for (size_t i = 0; i < n; i++)
		FZ_ASSERT(t.fg[i] == (px[i] != 0));
	seg_target_release(&t);
	buf_release(&png);

	buf_init(&png, 0);
	st = pngio_encode_heatmap(p->p, p->width, p->height, &png, &e);
	fz_check_error(st, &e);
	FZ_ASSERT(st == SEG_OK);
	st = pngio_decode_target(png.data, png.len, FZ_MAX_PIXELS, &t, &e);
	fz_check_error(st, &e);
	FZ_ASSERT(st == SEG_OK && t.width == p->width && t.height == p->height);
	fz_check_target(&t, FZ_MAX_PIXELS);
	for (size_t i = 0; i < n; i++)
		FZ_ASSERT(t.fg[i] == 1);
	seg_target_release(&t);
	buf_release(&png);
	free(px);
}

static void decode_both(const uint8_t *data, size_t size)
{
	seg_target t;
	seg_pred p;
	seg_error e;
	seg_status st;

	seg_error_clear(&e);
	st = pngio_decode_target(data, size, FZ_MAX_PIXELS, &t, &e);
	fz_check_error(st, &e);
	if (st == SEG_OK)
		fz_check_target(&t, FZ_MAX_PIXELS);
	else
		FZ_ASSERT(t.fg == NULL && t.labels == NULL);
	seg_target_release(&t);

	seg_error_clear(&e);
	st = pngio_decode_pred(data, size, FZ_MAX_PIXELS, &p, &e);
	fz_check_error(st, &e);
	if (st == SEG_OK) {
		fz_check_pred(&p, FZ_MAX_PIXELS);
		if ((size_t)p.width * (size_t)p.height <= MAX_ROUND_TRIP_PIXELS)
			round_trip(&p);
	} else {
		FZ_ASSERT(p.p == NULL);
	}
	seg_pred_release(&p);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	uint8_t *fixed;
	size_t len = 0;

	if (size > INPUT_CAP)
		return 0;
	decode_both(data, size);
	fixed = fz_png_repair(data, size, &len);
	if (fixed != NULL) {
		decode_both(fixed, len);
		free(fixed);
	}
	return 0;
}
