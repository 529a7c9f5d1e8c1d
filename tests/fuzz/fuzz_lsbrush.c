/*
 * fuzz_lsbrush.c — libFuzzer target: Label Studio brush streams.
 *
 * The input is the stream itself; the canvas is taken from its header
 * (count / 4 pixels in one row) so that mutations reach the records. The
 * three decoders must agree: lsb_unpack's words, lsb_decode_rgba's bytes
 * and lsb_decode_mask's pixels (alpha >= threshold, the threshold from
 * the last byte), with the same status, and the mask's statistics must
 * count what the words say. Decoded words re-encoded with lsb_encode, and
 * the alpha channel re-encoded with lsb_encode_alpha, decode to the same
 * values.
 */
#include <stdlib.h>
#include <string.h>

#include "codec/buf.h"
#include "codec/lsbrush.h"
#include "fuzzutil.h"

#define MAX_COUNT (1u << 16)

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	lsb_header hdr;
	uint8_t *words = NULL, *rgba = NULL, *mask = NULL, *alpha = NULL, *back = NULL;
	lsb_stats stats;
	seg_error e;
	seg_status st, st2, st3;
	buf b;
	int threshold;

	if (size == 0 || size > (1u << 16))
		return 0;
	seg_error_clear(&e);
	st = lsb_read_header(data, size, &hdr, &e);
	fz_check_error(st, &e);
	if (st != SEG_OK) {
		FZ_ASSERT(size < 7);
		return 0;
	}
	FZ_ASSERT(hdr.word_bits >= 1 && hdr.word_bits <= 32);
	for (int i = 0; i < 4; i++)
		FZ_ASSERT(hdr.run_bits[i] >= 1 && hdr.run_bits[i] <= 16);
	if (hdr.count == 0 || hdr.count > MAX_COUNT)
		return 0;
	threshold = data[size - 1] % 255 + 1;
	words = malloc(hdr.count);
	back = malloc(hdr.count);
	FZ_ASSERT(words && back);
	st = lsb_unpack(data, size, hdr.count, words, &e);
	fz_check_error(st, &e);
	if (st == SEG_OK) {
		/* the words, re-encoded, decode to themselves */
		buf_init(&b, 0);
		FZ_ASSERT(lsb_encode(words, hdr.count, &b, &e) == SEG_OK);
		FZ_ASSERT(lsb_unpack(b.data, b.len, hdr.count, back, &e) == SEG_OK);
		FZ_ASSERT(memcmp(words, back, hdr.count) == 0);
		buf_release(&b);
	} else {
		FZ_ASSERT(st == SEG_EINVAL || st == SEG_EDECODE);
	}
	if (hdr.count % 4 == 0) {
		int w = (int)(hdr.count / 4);
		uint64_t nonzero = 0, kept = 0;

		rgba = malloc(hdr.count);
		mask = malloc((size_t)w);
		alpha = malloc((size_t)w);
		FZ_ASSERT(rgba && mask && alpha);
		st2 = lsb_decode_rgba(data, size, w, 1, rgba, &e);
		fz_check_error(st2, &e);
		st3 = lsb_decode_mask(data, size, w, 1, threshold, mask, &stats, &e);
		fz_check_error(st3, &e);
		FZ_ASSERT(st2 == st && st3 == st);
		if (st == SEG_OK) {
			FZ_ASSERT(memcmp(rgba, words, hdr.count) == 0);
			for (int p = 0; p < w; p++) {
				alpha[p] = words[4 * p + 3];
				FZ_ASSERT(mask[p] == (alpha[p] >= threshold));
				nonzero += alpha[p] != 0;
				kept += mask[p];
			}
			FZ_ASSERT(stats.nonzero == nonzero && stats.kept == kept);
			FZ_ASSERT(lsb_alpha_mask(rgba, (size_t)w, threshold, back, &e) == SEG_OK);
			FZ_ASSERT(memcmp(back, mask, (size_t)w) == 0);
			buf_init(&b, 0);
			FZ_ASSERT(lsb_encode_alpha(alpha, (size_t)w, &b, &e) == SEG_OK);
			FZ_ASSERT(lsb_decode_mask(b.data, b.len, w, 1, threshold, back, NULL, &e) == SEG_OK);
			FZ_ASSERT(memcmp(back, mask, (size_t)w) == 0);
			buf_release(&b);
		}
	}
	free(words);
	free(back);
	free(rgba);
	free(mask);
	free(alpha);
	return 0;
}
