/*
 * fuzz_coco.c — libFuzzer target: COCO counts strings and counts lists.
 *
 * The first two bytes choose the size (h, w in 1..64); the rest is read
 * twice: as a compressed counts string (coco_from_string) and as
 * little-endian 16-bit counts. Whatever decodes must survive the round
 * trip: mask -> coco_encode -> coco_to_string -> coco_from_string ->
 * coco_decode gives the same mask, and from_string(to_string(c)) is c
 * for any counts. Decoding through coco_spans paints the same pixels as
 * coco_decode. Every error carries a message.
 */
#include <stdlib.h>
#include <string.h>

#include "codec/coco.h"
#include "fuzzutil.h"

#define INPUT_CAP (1u << 16)

static void span_ones(void *ctx, size_t start, size_t step, size_t len)
{
	uint8_t *m = (uint8_t *)ctx + start;

	FZ_ASSERT(step == 1);
	for (size_t k = 0; k < len; k++)
		m[k] = 1;
}

/* counts decode to a mask, which must round-trip through every COCO form. */
static void check_counts(const uint32_t *counts, size_t n, int h, int w)
{
	size_t px = (size_t)h * (size_t)w, n2 = 0, n3 = 0, slen = 0;
	uint8_t *m = malloc(px), *m2 = calloc(px, 1);
	uint32_t *c2 = NULL, *c3 = NULL;
	char *str = NULL;
	seg_error e;
	seg_status st;

	FZ_ASSERT(m && m2);
	seg_error_clear(&e);
	st = coco_decode(counts, n, h, w, m, &e);
	fz_check_error(st, &e);
	if (st != SEG_OK) {
		FZ_ASSERT(st == SEG_EINVAL || st == SEG_ETOOBIG);
		goto out;
	}
	FZ_ASSERT(coco_spans(counts, n, h, w, span_ones, m2, &e) == SEG_OK);
	FZ_ASSERT(memcmp(m, m2, px) == 0);
	FZ_ASSERT(coco_encode(m, h, w, &c2, &n2, &e) == SEG_OK);
	FZ_ASSERT(coco_to_string(c2, n2, &str, &slen, &e) == SEG_OK);
	FZ_ASSERT(strlen(str) == slen);
	FZ_ASSERT(coco_from_string(str, slen, &c3, &n3, &e) == SEG_OK);
	FZ_ASSERT(n3 == n2 && memcmp(c2, c3, n2 * sizeof(*c2)) == 0);
	FZ_ASSERT(coco_decode(c3, n3, h, w, m2, &e) == SEG_OK);
	FZ_ASSERT(memcmp(m, m2, px) == 0);
	/* canonical counts: no zero run except possibly the first */
	for (size_t i = 1; i < n2; i++)
		FZ_ASSERT(c2[i] > 0);
out:
	free(m);
	free(m2);
	free(c2);
	free(c3);
	free(str);
}

/* Any counts, valid or not, survive the string form. */
static void check_string_form(const uint32_t *counts, size_t n)
{
	uint32_t *back = NULL;
	size_t nb = 0, slen = 0;
	char *str = NULL;
	seg_error e;

	seg_error_clear(&e);
	FZ_ASSERT(coco_to_string(counts, n, &str, &slen, &e) == SEG_OK);
	for (size_t i = 0; i < slen; i++)
		FZ_ASSERT(str[i] >= '0' && str[i] <= 'o');
	FZ_ASSERT(coco_from_string(str, slen, &back, &nb, &e) == SEG_OK);
	FZ_ASSERT(nb == n && (n == 0 || memcmp(back, counts, n * sizeof(*counts)) == 0));
	free(back);
	free(str);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	uint32_t *counts = NULL, *list;
	size_t n = 0, nl;
	int h, w;
	seg_error e;
	seg_status st;

	if (size < 2 || size > INPUT_CAP)
		return 0;
	h = data[0] % 64 + 1;
	w = data[1] % 64 + 1;
	data += 2;
	size -= 2;

	seg_error_clear(&e);
	st = coco_from_string((const char *)data, size, &counts, &n, &e);
	fz_check_error(st, &e);
	if (st == SEG_OK) {
		FZ_ASSERT(n <= size);
		check_string_form(counts, n);
		check_counts(counts, n, h, w);
	} else {
		FZ_ASSERT(st == SEG_EINVAL && counts == NULL && n == 0);
	}
	free(counts);

	nl = size / 2;
	list = malloc((nl ? nl : 1) * sizeof(*list));
	FZ_ASSERT(list);
	for (size_t i = 0; i < nl; i++)
		list[i] = (uint32_t)data[2 * i] | (uint32_t)data[2 * i + 1] << 8;
	check_string_form(list, nl);
	check_counts(list, nl, h, w);
	free(list);
	return 0;
}
