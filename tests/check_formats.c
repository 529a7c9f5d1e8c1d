/*
 * check_formats.c — the annotation-tool mask decoders (src/codec/coco.c,
 * lsbrush.c, cvat.c) and their JSON forms (src/wire/annot*.c).
 *
 * Three kinds of checks. Vectors: small masks with their encodings
 * worked out by hand or taken from the formats' own sources (the COCO
 * and Label Studio examples, rle-pack's test streams), asserted in both
 * directions wherever we encode. Refusals: every bad input the decoders
 * promise to refuse, each checked for its status and the part of the
 * message that says why. Fixtures: masks from scikit-image's sample
 * images encoded in every format by an independent Python port of the
 * reference encoders (tests/ref/formats_ref.py, written by
 * tests/ref/gen_formats.py into tests/fixtures/formats/), decoded here
 * and compared pixel for pixel with the same masks stored as PNG; and
 * random polygons rasterised by the port, compared count for count.
 */
#include <check.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cJSON.h>

#include "codec/buf.h"
#include "codec/coco.h"
#include "codec/cvat.h"
#include "codec/lsbrush.h"
#include "codec/mask.h"
#include "core/wmap.h"
#include "testutil.h"
#include "wire/annot.h"

#define FIX "tests/fixtures/formats/"

/* ==== helpers ============================================================ */

/* A mask from rows of '0'/'1' characters (h rows of w); caller frees. */
static uint8_t *rows_mask(const char *const *rows, int h, int w)
{
	uint8_t *m = malloc((size_t)h * (size_t)w);

	ck_assert_ptr_nonnull(m);
	for (int y = 0; y < h; y++) {
		ck_assert_int_eq((int)strlen(rows[y]), w);
		for (int x = 0; x < w; x++)
			m[y * w + x] = rows[y][x] == '1';
	}
	return m;
}

/* Asserts a failure with status want whose message contains part. */
#define ck_refused(st, e, want, part)                                                              \
	do {                                                                                       \
		ck_assert_msg((st) == (want), "status %d, want %d (%s)", (int)(st), (int)(want),   \
			      (e).msg);                                                            \
		ck_assert_msg(strstr((e).msg, (part)) != NULL, "message \"%s\" lacks \"%s\"",      \
			      (e).msg, (part));                                                    \
		ck_assert_msg((e).status == (want), "err.status %d", (int)(e).status);             \
	} while (0)

static void ck_counts_eq(const uint32_t *got, size_t n, const uint32_t *want, size_t m)
{
	ck_assert_msg(n == m, "%zu counts, want %zu", n, m);
	for (size_t i = 0; i < n; i++)
		ck_assert_msg(got[i] == want[i], "counts[%zu] is %u, want %u", i, got[i], want[i]);
}

/* ==== COCO vectors ======================================================= */

struct coco_vec {
	int h, w;
	const char *rows[4];
	uint32_t counts[8];
	size_t n;
	const char *str;
};

static const struct coco_vec coco_vecs[] = {
	{3, 4, {"0110", "0110", "0000"}, {3, 2, 1, 2, 4}, 5, "32103"},
	{3, 4, {"1100", "1000", "0001"}, {0, 2, 1, 1, 7, 1}, 6, "021O60"},
	{3, 4, {"0000", "0000", "0000"}, {12}, 1, "<"},
	{3, 4, {"1111", "1111", "1111"}, {0, 12}, 2, "0<"},
};

START_TEST(coco_vectors_both_ways)
{
	const struct coco_vec *v = &coco_vecs[_i];
	uint8_t *m = rows_mask(v->rows, v->h, v->w), *back = malloc((size_t)v->h * v->w);
	uint32_t *counts = NULL, *parsed = NULL;
	size_t n = 0, pn = 0, len = 0;
	char *s = NULL;
	seg_error e = {0};

	ck_assert_int_eq(coco_encode(m, v->h, v->w, &counts, &n, &e), SEG_OK);
	ck_counts_eq(counts, n, v->counts, v->n);
	ck_assert_int_eq(coco_to_string(counts, n, &s, &len, &e), SEG_OK);
	ck_assert_str_eq(s, v->str);
	ck_assert_uint_eq(len, strlen(v->str));
	ck_assert_int_eq(coco_from_string(v->str, strlen(v->str), &parsed, &pn, &e), SEG_OK);
	ck_counts_eq(parsed, pn, v->counts, v->n);
	ck_assert_int_eq(coco_decode(parsed, pn, v->h, v->w, back, &e), SEG_OK);
	ck_assert_mem_eq(back, m, (size_t)v->h * v->w);
	free(m);
	free(back);
	free(counts);
	free(parsed);
	free(s);
}
END_TEST

/* A 1x407 strip: counts past the first three are written as deltas, with sign extension. */
START_TEST(coco_long_counts_string)
{
	static const uint32_t want[] = {100, 3, 4, 100, 200};
	uint32_t *counts = NULL;
	size_t n = 0;
	char *s = NULL;
	uint8_t *m = malloc(407), *back = malloc(407);
	seg_error e = {0};

	ck_assert_int_eq(coco_to_string(want, 5, &s, NULL, &e), SEG_OK);
	ck_assert_str_eq(s, "T334Q3T6");
	ck_assert_int_eq(coco_from_string("T334Q3T6", 8, &counts, &n, &e), SEG_OK);
	ck_counts_eq(counts, n, want, 5);
	/* and through a mask: 1 row, 407 columns, column-major = row order here */
	memset(m, 0, 407);
	memset(m + 100, 1, 3);
	memset(m + 107, 1, 100);
	ck_assert_int_eq(coco_decode(counts, n, 1, 407, back, &e), SEG_OK);
	ck_assert_mem_eq(back, m, 407);
	free(counts);
	counts = NULL;
	ck_assert_int_eq(coco_encode(m, 1, 407, &counts, &n, &e), SEG_OK);
	ck_counts_eq(counts, n, want, 5);
	free(counts);
	free(s);
	free(m);
	free(back);
}
END_TEST

/* Counts near 2^32 and big negative deltas survive the string form (7 characters, sign extension). */
START_TEST(coco_string_extremes)
{
	static const uint32_t want[] = {0, 4294967295u, 1, 0, 4294967295u, 7, 4294967290u, 3};
	uint32_t *counts = NULL;
	size_t n = 0;
	char *s = NULL;
	seg_error e = {0};

	ck_assert_int_eq(coco_to_string(want, 8, &s, NULL, &e), SEG_OK);
	ck_assert_int_eq(coco_from_string(s, strlen(s), &counts, &n, &e), SEG_OK);
	ck_counts_eq(counts, n, want, 8);
	free(counts);
	free(s);
}
END_TEST

START_TEST(coco_polygon_vectors)
{
	static const double square[] = {0.5, 0.5, 2.5, 0.5, 2.5, 1.5, 0.5, 1.5};
	static const uint32_t want_sq[] = {4, 1, 2, 1, 4};
	static const double box9[] = {0, 0, 0, 9, 9, 9, 9, 0};
	uint32_t *counts = NULL;
	size_t n = 0;
	uint64_t budget = coco_poly_budget(3, 4), area = 0;
	uint8_t *m = malloc(100 * 100);
	seg_error e = {0};

	ck_assert_int_eq(coco_poly_to_counts(square, 8, 3, 4, 1000, &budget, &counts, &n, &e), SEG_OK);
	ck_counts_eq(counts, n, want_sq, 5);
	free(counts);
	budget = coco_poly_budget(100, 100);
	ck_assert_int_eq(coco_poly_to_counts(box9, 8, 100, 100, 1000, &budget, &counts, &n, &e), SEG_OK);
	ck_assert_int_eq(coco_decode(counts, n, 100, 100, m, &e), SEG_OK);
	for (int i = 0; i < 100 * 100; i++)
		area += m[i];
	ck_assert_uint_eq(area, 81);
	for (int y = 0; y < 100; y++)
		for (int x = 0; x < 100; x++)
			ck_assert_int_eq(m[y * 100 + x], x < 9 && y < 9);
	free(counts);
	free(m);
}
END_TEST

/* Repeated vertices (0/0 in the reference), vertices outside the image, a self-crossing bow tie. */
START_TEST(coco_polygon_degenerate)
{
	static const double repeated[] = {1, 1, 1, 1, 6, 1, 6, 1, 6, 5, 1, 5, 1, 5};
	static const double plain[] = {1, 1, 6, 1, 6, 5, 1, 5};
	static const double outside[] = {-3, -3, 12, -3, 12, 12, -3, 12};
	uint32_t *a = NULL, *b = NULL;
	size_t na = 0, nb = 0;
	uint64_t budget = coco_poly_budget(8, 8);
	uint8_t m[64];
	seg_error e = {0};

	ck_assert_int_eq(coco_poly_to_counts(repeated, 14, 8, 8, 100, &budget, &a, &na, &e), SEG_OK);
	ck_assert_int_eq(coco_poly_to_counts(plain, 8, 8, 8, 100, &budget, &b, &nb, &e), SEG_OK);
	ck_counts_eq(a, na, b, nb);
	free(a);
	free(b);
	ck_assert_int_eq(coco_poly_to_counts(outside, 8, 8, 8, 100, &budget, &a, &na, &e), SEG_OK);
	ck_assert_int_eq(coco_decode(a, na, 8, 8, m, &e), SEG_OK);
	for (int i = 0; i < 64; i++)
		ck_assert_int_eq(m[i], 1);
	free(a);
}
END_TEST

/* ==== COCO refusals ====================================================== */

START_TEST(coco_refuses_bad_counts)
{
	static const uint32_t over[] = {3, 2, 1, 2, 5};
	static const uint32_t under[] = {3, 2, 1, 2, 3};
	uint8_t m[12];
	uint32_t c;
	seg_error e = {0};

	ck_refused(coco_decode(over, 5, 3, 4, m, &e), e, SEG_EINVAL, "counts sum to 13 but size [3, 4] has 12 pixels");
	ck_refused(coco_decode(under, 5, 3, 4, m, &e), e, SEG_EINVAL, "counts sum to 11 but");
	ck_refused(coco_decode(NULL, 0, 3, 4, m, &e), e, SEG_EINVAL, "counts sum to 0");
	ck_refused(coco_count_from_double(-2, 4, &c, &e), e, SEG_EINVAL, "counts[4] is -2: a count is a non-negative");
	ck_refused(coco_count_from_double(2.5, 1, &c, &e), e, SEG_EINVAL, "counts[1] is 2.5: a count is a whole number");
	ck_refused(coco_count_from_double(NAN, 0, &c, &e), e, SEG_EINVAL, "counts[0] is not a number");
	ck_refused(coco_count_from_double(4294967296.0, 2, &c, &e), e, SEG_EINVAL, "over 4294967295");
	ck_assert_int_eq(coco_count_from_double(4294967295.0, 2, &c, &e), SEG_OK);
	ck_assert_uint_eq(c, 4294967295u);
}
END_TEST

START_TEST(coco_refuses_bad_strings)
{
	uint32_t *c = NULL;
	size_t n = 0;
	seg_error e = {0};

	ck_refused(coco_from_string("32p03", 5, &c, &n, &e), e, SEG_EINVAL, "character 'p' (0x70) at offset 2");
	ck_refused(coco_from_string("32/03", 5, &c, &n, &e), e, SEG_EINVAL, "outside '0'..'o'");
	ck_refused(coco_from_string("32\x01", 3, &c, &n, &e), e, SEG_EINVAL, "character 0x01 at offset 2");
	/* 'P' = 0x50 - 48 = 0x20: the continuation bit set on the last character */
	ck_refused(coco_from_string("321P", 4, &c, &n, &e), e, SEG_EINVAL, "ends in the middle of a count");
	ck_refused(coco_from_string("PPPPPPPP1", 9, &c, &n, &e), e, SEG_EINVAL, "past 7 characters");
	/* a first count of -1: '?' = 15 with the sign bit 0x10... no: 'O' = 0x1f = -1 */
	ck_refused(coco_from_string("O", 1, &c, &n, &e), e, SEG_EINVAL, "counts[0] (characters 0..0 of counts) decodes to -1");
	/* a delta taking count 3 below zero: 1, 1, 1, then -2 from counts[1] = 1 */
	ck_refused(coco_from_string("111N", 4, &c, &n, &e), e, SEG_EINVAL, "counts[3] (characters 3..3 of counts) decodes to -1");
	ck_assert_ptr_null(c);
	ck_assert_int_eq(coco_from_string("", 0, &c, &n, &e), SEG_OK);
	ck_assert_uint_eq(n, 0);
}
END_TEST

START_TEST(coco_refuses_bad_polygons)
{
	double big[20] = {0, 0, 5, 0, 5, 5};
	double *million;
	uint32_t *c = NULL;
	size_t n = 0;
	uint64_t budget = coco_poly_budget(10, 10);
	seg_error e = {0};

	ck_refused(coco_poly_to_counts(big, 4, 10, 10, 100, &budget, &c, &n, &e), e, SEG_EINVAL,
		   "pycocotools reads as a box [x, y, width, height]");
	ck_refused(coco_poly_to_counts(big, 2, 10, 10, 100, &budget, &c, &n, &e), e, SEG_EINVAL,
		   "polygon has 1 point; at least 3 are needed");
	ck_refused(coco_poly_to_counts(big, 0, 10, 10, 100, &budget, &c, &n, &e), e, SEG_EINVAL,
		   "polygon has 0 points; at least 3");
	ck_refused(coco_poly_to_counts(big, 7, 10, 10, 100, &budget, &c, &n, &e), e, SEG_EINVAL, "an odd count");
	big[3] = NAN;
	ck_refused(coco_poly_to_counts(big, 6, 10, 10, 100, &budget, &c, &n, &e), e, SEG_EINVAL, "is not finite");
	big[3] = INFINITY;
	ck_refused(coco_poly_to_counts(big, 6, 10, 10, 100, &budget, &c, &n, &e), e, SEG_EINVAL, "is not finite");
	big[3] = 1e12;
	ck_refused(coco_poly_to_counts(big, 6, 10, 10, 100, &budget, &c, &n, &e), e, SEG_EINVAL,
		   "polygon point 1 (x 5, y 1e+12) is more than 1024 pixels outside the 10x10 image");
	big[3] = -1015; /* 1024 beyond the top edge is still taken */
	ck_assert_int_eq(coco_poly_to_counts(big, 6, 10, 10, 100, &budget, &c, &n, &e), SEG_OK);
	free(c);
	c = NULL;
	big[3] = -1025;
	ck_refused(coco_poly_to_counts(big, 6, 10, 10, 100, &budget, &c, &n, &e), e, SEG_EINVAL, "outside");
	big[3] = 0;
	ck_refused(coco_poly_to_counts(big, 6, 10, 10, 2, &budget, &c, &n, &e), e, SEG_ETOOBIG,
		   "polygon has 3 points, over the limit of 2");
	million = calloc(2000000, sizeof(double));
	ck_assert_ptr_nonnull(million);
	ck_refused(coco_poly_to_counts(million, 2000000, 10, 10, 262144, &budget, &c, &n, &e), e, SEG_ETOOBIG,
		   "polygon has 1000000 points, over the limit of 262144");
	free(million);
	ck_assert_ptr_null(c);
}
END_TEST

/* A zigzag inside the image whose walk is over the budget: refused before it is walked. */
START_TEST(coco_polygon_walk_budget)
{
	enum { K = 4000 };
	double *xy = malloc(2 * K * sizeof(double));
	uint32_t *c = NULL;
	size_t n = 0;
	uint64_t budget = coco_poly_budget(64, 64), before;
	seg_error e = {0};

	for (int i = 0; i < K; i++) {
		xy[2 * i] = i % 2 ? 63.0 : 0.0;
		xy[2 * i + 1] = 63.0 * i / K;
	}
	before = budget;
	ck_refused(coco_poly_to_counts(xy, 2 * K, 64, 64, K, &budget, &c, &n, &e), e, SEG_ETOOBIG,
		   "steps to trace, over the");
	ck_assert_uint_eq(budget, before);
	/* the first half fits: it takes its steps from the budget, and the second half then does not */
	ck_assert_int_eq(coco_poly_to_counts(xy, K, 64, 64, K, &budget, &c, &n, &e), SEG_OK);
	ck_assert_uint_lt(budget, before);
	free(c);
	c = NULL;
	ck_refused(coco_poly_to_counts(xy + K, K, 64, 64, K, &budget, &c, &n, &e), e, SEG_ETOOBIG, "left for this image");
	free(xy);
}
END_TEST

START_TEST(coco_refuses_sizes)
{
	seg_error e = {0};

	ck_refused(coco_check_size(0, 4, 100, &e), e, SEG_EINVAL, "size [0, 4] is empty");
	ck_refused(coco_check_size(11, 10, 100, &e), e, SEG_ETOOBIG, "size [11, 10] is over the limit of 100 pixels");
	ck_refused(coco_check_size((int64_t)SEG_MAX_SIDE + 1, 1, UINT64_MAX, &e), e, SEG_ETOOBIG, "over the limit");
	ck_assert_int_eq(coco_check_size(10, 10, 100, &e), SEG_OK);
}
END_TEST

/* ==== Label Studio ======================================================= */

static const uint8_t ls_example[] = {0, 0, 0, 18, 57, 27, 252, 96, 32, 1, 0, 6, 0, 40, 0, 192, 3, 128, 17, 56, 32};
static const uint8_t ls_example_words[] = {1, 1, 1, 1, 2, 3, 5, 6, 7, 8, 4, 4, 4, 4, 4, 4, 4, 4};

/* 2x3, alpha rows [0, 255, 255], [0, 0, 255], as label-studio-converter's mask2rle writes it */
static const uint8_t ls_2x3[] = {0, 0, 0, 24, 57, 27, 252, 96, 19, 255, 206, 1, 31, 248};

START_TEST(ls_example_stream)
{
	uint8_t out[18];
	lsb_header hdr;
	seg_error e = {0};

	ck_assert_int_eq(lsb_read_header(ls_example, sizeof(ls_example), &hdr, &e), SEG_OK);
	ck_assert_uint_eq(hdr.count, 18);
	ck_assert_int_eq(hdr.word_bits, 8);
	ck_assert_int_eq(hdr.run_bits[0], 3);
	ck_assert_int_eq(hdr.run_bits[1], 4);
	ck_assert_int_eq(hdr.run_bits[2], 8);
	ck_assert_int_eq(hdr.run_bits[3], 16);
	ck_assert_int_eq(lsb_unpack(ls_example, sizeof(ls_example), 18, out, &e), SEG_OK);
	ck_assert_mem_eq(out, ls_example_words, 18);
}
END_TEST

START_TEST(ls_mask_both_ways)
{
	static const uint8_t alpha[6] = {0, 255, 255, 0, 0, 255};
	uint8_t rgba[24], mask[6];
	lsb_stats stats;
	buf b;
	seg_error e = {0};

	buf_init(&b, 0);
	ck_assert_int_eq(lsb_encode_alpha(alpha, 6, &b, &e), SEG_OK);
	ck_assert_uint_eq(b.len, sizeof(ls_2x3));
	ck_assert_mem_eq(b.data, ls_2x3, sizeof(ls_2x3));
	ck_assert_int_eq(lsb_decode_rgba(ls_2x3, sizeof(ls_2x3), 3, 2, rgba, &e), SEG_OK);
	for (int i = 0; i < 24; i++)
		ck_assert_int_eq(rgba[i], alpha[i / 4]);
	ck_assert_int_eq(lsb_alpha_mask(rgba, 6, LSB_DEFAULT_THRESHOLD, mask, &e), SEG_OK);
	for (int i = 0; i < 6; i++)
		ck_assert_int_eq(mask[i], alpha[i] != 0);
	memset(mask, 7, sizeof(mask));
	ck_assert_int_eq(lsb_decode_mask(ls_2x3, sizeof(ls_2x3), 3, 2, 128, mask, &stats, &e), SEG_OK);
	for (int i = 0; i < 6; i++)
		ck_assert_int_eq(mask[i], alpha[i] != 0);
	ck_assert_uint_eq(stats.nonzero, 3);
	ck_assert_uint_eq(stats.kept, 3);
	/* the general encoder on the RGBA words gives the same stream */
	buf_release(&b);
	ck_assert_int_eq(lsb_encode(rgba, 24, &b, &e), SEG_OK);
	ck_assert_mem_eq(b.data, ls_2x3, sizeof(ls_2x3));
	buf_release(&b);
}
END_TEST

/* rle-pack's own test streams: 3-bit words, and run sizes [1, 2, 4, 9] instead of [3, 4, 8, 16]. */
START_TEST(ls_header_driven_sizes)
{
	static const uint8_t w3[] = {0, 0, 4, 0, 17, 27, 255, 1, 255, 18, 24, 212, 78, 24, 5, 134, 68, 227, 82, 30, 3, 196, 0};
	static const uint8_t w3s[] = {0, 0, 4, 0, 16, 9, 199, 255, 140, 134, 234, 206, 96, 89, 150, 119, 89, 15, 241, 0};
	static const uint8_t mid[] = {1, 1, 1, 1, 1, 2, 2, 2, 2, 3, 3, 3, 4, 4, 5, 4, 4, 3, 3, 3, 2, 2, 2, 2, 1, 1, 1, 1, 1};
	uint8_t want[1024] = {0}, out[1024], mask[256];
	lsb_header hdr;
	seg_error e = {0};

	memcpy(want + 512, mid, sizeof(mid));
	ck_assert_int_eq(lsb_read_header(w3s, sizeof(w3s), &hdr, &e), SEG_OK);
	ck_assert_int_eq(hdr.word_bits, 3);
	ck_assert_int_eq(hdr.run_bits[0], 1);
	ck_assert_int_eq(hdr.run_bits[3], 9);
	ck_assert_int_eq(lsb_unpack(w3, sizeof(w3), 1024, out, &e), SEG_OK);
	ck_assert_mem_eq(out, want, 1024);
	memset(out, 0xee, sizeof(out));
	ck_assert_int_eq(lsb_unpack(w3s, sizeof(w3s), 1024, out, &e), SEG_OK);
	ck_assert_mem_eq(out, want, 1024);
	/* as a 16x16 canvas: the alpha bytes are words 3, 7, 11, ... */
	ck_assert_int_eq(lsb_decode_mask(w3s, sizeof(w3s), 16, 16, 3, mask, NULL, &e), SEG_OK);
	for (int p = 0; p < 256; p++)
		ck_assert_int_eq(mask[p], want[4 * p + 3] >= 3);
}
END_TEST

/* Runs over 65536 are split as encode_rle does; a literal single word is a 3-bit zero-length record. */
START_TEST(ls_long_runs_round_trip)
{
	enum { N = 300000 };
	uint8_t *alpha = calloc(N, 1), *mask = malloc(N);
	buf b;
	seg_error e = {0};

	for (int i = 0; i < N; i += 7919)
		alpha[i] = (uint8_t)(i % 255 + 1);
	buf_init(&b, 0);
	ck_assert_int_eq(lsb_encode_alpha(alpha, N, &b, &e), SEG_OK);
	ck_assert_int_eq(lsb_decode_mask(b.data, b.len, 1000, 300, 1, mask, NULL, &e), SEG_OK);
	for (int i = 0; i < N; i++)
		ck_assert_int_eq(mask[i], alpha[i] != 0);
	buf_release(&b);
	free(alpha);
	free(mask);
}
END_TEST

START_TEST(ls_refusals)
{
	uint8_t out[64], s[64];
	buf b;
	seg_error e = {0};

	/* a 2x3 canvas has the same 24 bytes as a 3x2 one: only the count is in the stream */
	ck_assert_int_eq(lsb_decode_mask(ls_2x3, sizeof(ls_2x3), 2, 3, 128, out, NULL, &e), SEG_OK);
	ck_refused(lsb_decode_mask(ls_2x3, sizeof(ls_2x3), 4, 2, 128, out, NULL, &e), e, SEG_EINVAL,
		   "rle header counts 24 values but the 4x2 canvas has 32 RGBA bytes");
	/* a stream of one value per pixel: header count W*H */
	buf_init(&b, 0);
	ck_assert_int_eq(lsb_encode((const uint8_t *)"\0\xff\xff\0\0\xff", 6, &b, &e), SEG_OK);
	ck_refused(lsb_decode_mask(b.data, b.len, 3, 2, 128, out, NULL, &e), e, SEG_EINVAL,
		   "one per pixel, but a brush stream holds the 3x2 canvas as RGBA");
	buf_release(&b);
	/* word size 17: 5-bit field 16 */
	memcpy(s, ls_2x3, sizeof(ls_2x3));
	s[4] = (uint8_t)((s[4] & 0x07) | (16 << 3));
	ck_refused(lsb_decode_rgba(s, sizeof(ls_2x3), 3, 2, out, &e), e, SEG_EINVAL, "17-bit words; at most 16");
	/* truncated anywhere: the header, or a record */
	ck_refused(lsb_decode_rgba(ls_2x3, 6, 3, 2, out, &e), e, SEG_EDECODE, "its header alone takes 53 bits");
	ck_refused(lsb_decode_rgba(ls_2x3, 10, 3, 2, out, &e), e, SEG_EDECODE, "inside a record, with 4 of 24");
	ck_refused(lsb_decode_rgba(ls_2x3, 11, 3, 2, out, &e), e, SEG_EDECODE, "inside a record, with 12 of 24");
	ck_refused(lsb_unpack(ls_example, 12, 18, out, &e), e, SEG_EDECODE, "inside a record");
	ck_refused(lsb_unpack(ls_example, sizeof(ls_example), 20, out, &e), e, SEG_EINVAL,
		   "counts 18 values but 20 were expected");
	/* a run past the count: the last run of 4 (n = 3) made a run of 8 (n = 7); n is bits 2..4 of byte 12 */
	memcpy(s, ls_2x3, sizeof(ls_2x3));
	s[12] |= 0x20;
	ck_refused(lsb_decode_rgba(s, sizeof(ls_2x3), 3, 2, out, &e), e, SEG_EDECODE, "goes past the 24 values");
	/* trailing bytes */
	memcpy(s, ls_2x3, sizeof(ls_2x3));
	memset(s + sizeof(ls_2x3), 0, 3);
	ck_assert_int_eq(lsb_decode_rgba(s, sizeof(ls_2x3) + 1, 3, 2, out, &e), SEG_OK);
	ck_refused(lsb_decode_rgba(s, sizeof(ls_2x3) + 2, 3, 2, out, &e), e, SEG_EDECODE, "bits after its last record");
	ck_refused(lsb_decode_mask(ls_2x3, sizeof(ls_2x3), 3, 2, 0, out, NULL, &e), e, SEG_EINVAL, "threshold 0 is outside 1..255");
	ck_refused(lsb_alpha_mask(out, 1, 256, out, &e), e, SEG_EINVAL, "threshold 256");
}
END_TEST

/* 9-bit words holding a value over 255 cannot be canvas bytes. */
START_TEST(ls_refuses_wide_values)
{
	/* header: count 4, word 9 (field 8), sizes [3, 4, 8, 16]; one repeat record n=3 of value 300 */
	uint8_t s[16] = {0};
	uint64_t bits = 0;
	int nb = 0;
	uint8_t out[4];
	seg_error e = {0};
#define PUT(v, n)                                                      \
	do {                                                           \
		for (int k_ = (n)-1; k_ >= 0; k_--) {                  \
			if (((uint64_t)(v) >> k_) & 1)                 \
				s[nb / 8] |= (uint8_t)(0x80 >> (nb % 8)); \
			nb++;                                          \
		}                                                      \
	} while (0)
	PUT(4, 32);
	PUT(8, 5);
	PUT(2, 4);
	PUT(3, 4);
	PUT(7, 4);
	PUT(15, 4);
	PUT(1, 1);
	PUT(0, 2);
	PUT(3, 3);
	PUT(300, 9);
#undef PUT
	(void)bits;
	ck_refused(lsb_unpack(s, (size_t)(nb + 7) / 8, 4, out, &e), e, SEG_EDECODE,
		   "value 300 at index 0 does not fit in a byte");
}
END_TEST

/* ==== CVAT =============================================================== */

START_TEST(cvat_vector_both_ways)
{
	static const char *const rows[] = {"0110", "0100", "0000"};
	static const double want[] = {0, 3, 1, 1, 0, 2, 1};
	uint8_t *m = rows_mask(rows, 3, 4), back[12];
	cvat_box box;
	double *pts = NULL;
	size_t n = 0;
	seg_error e = {0};

	ck_assert_int_eq(cvat_box_of(m, 4, 3, &box, &e), SEG_OK);
	ck_assert_int_eq(box.left, 1);
	ck_assert_int_eq(box.top, 0);
	ck_assert_int_eq(box.right, 2);
	ck_assert_int_eq(box.bottom, 1);
	ck_assert_int_eq(cvat_encode(m, 4, 3, &box, &pts, &n, &e), SEG_OK);
	ck_assert_uint_eq(n, 7);
	for (size_t i = 0; i < n; i++)
		ck_assert_msg(pts[i] == want[i], "points[%zu] is %g, want %g", i, pts[i], want[i]);
	ck_assert_int_eq(cvat_decode(want, 7, 4, 3, back, &e), SEG_OK);
	ck_assert_mem_eq(back, m, 12);
	free(pts);
	/* the XML attributes of the same shape */
	ck_assert_int_eq(cvat_points_from_xml("0, 3, 1", 7, 1, 0, 2, 2, &pts, &n, &e), SEG_OK);
	ck_assert_uint_eq(n, 7);
	for (size_t i = 0; i < n; i++)
		ck_assert(pts[i] == want[i]);
	free(pts);
	free(m);
}
END_TEST

/* Box coordinates are truncated toward zero, as CVAT does; a larger box around the same mask. */
START_TEST(cvat_float_box_and_margins)
{
	static const double pts[] = {6, 2, 1, 2, 1, 0.9, 0.2, 3.7, 2.99};
	static const char *const rows[] = {"0000", "0011", "0110"};
	uint8_t *want = rows_mask(rows, 3, 4), got[12];
	seg_error e = {0};

	/* box left 0, top 0, right 3, bottom 2: 12 pixels; 6 zeros, 2 ones, 1 zero, 2 ones, 1 zero */
	ck_assert_int_eq(cvat_decode(pts, 9, 4, 3, got, &e), SEG_OK);
	ck_assert_mem_eq(got, want, 12);
	free(want);
}
END_TEST

START_TEST(cvat_refusals)
{
	double p[8] = {0, 3, 1, 1, 0, 2, 1};
	double *out = NULL;
	size_t n = 0;
	uint8_t m[12];
	seg_error e = {0};

	p[5] = 4; /* right past the last column */
	ck_refused(cvat_decode(p, 7, 4, 3, m, &e), e, SEG_EINVAL,
		   "box left 1, top 0, right 4, bottom 1 (inclusive) is not inside the 4x3 image");
	p[5] = 2;
	p[3] = -1;
	ck_refused(cvat_decode(p, 7, 4, 3, m, &e), e, SEG_EINVAL, "is not inside");
	p[3] = 3; /* right < left */
	ck_refused(cvat_decode(p, 7, 4, 3, m, &e), e, SEG_EINVAL, "is not inside");
	p[3] = 1;
	p[6] = NAN;
	ck_refused(cvat_decode(p, 7, 4, 3, m, &e), e, SEG_EINVAL, "points[6] (the box's bottom) is not finite");
	p[6] = 1;
	p[2] = 2; /* 6 pixels of counts for a 4-pixel box */
	ck_refused(cvat_decode(p, 7, 4, 3, m, &e), e, SEG_EINVAL, "counts are longer than the box");
	p[2] = 0;
	ck_refused(cvat_decode(p, 7, 4, 3, m, &e), e, SEG_EINVAL, "counts cover 3 pixels but the 2x2 box has 4");
	p[2] = 1;
	p[1] = -3;
	ck_refused(cvat_decode(p, 7, 4, 3, m, &e), e, SEG_EINVAL, "points[1] is -3: a count is a non-negative whole");
	p[1] = 2.5;
	ck_refused(cvat_decode(p, 7, 4, 3, m, &e), e, SEG_EINVAL, "points[1] is 2.5");
	ck_refused(cvat_decode(p + 3, 4, 4, 3, m, &e), e, SEG_EINVAL, "points has 4 numbers");
	ck_refused(cvat_points_from_xml("1, x", 4, 0, 0, 1, 1, &out, &n, &e), e, SEG_EINVAL, "expected a count at offset 3");
	ck_refused(cvat_points_from_xml("1; 2", 4, 0, 0, 1, 1, &out, &n, &e), e, SEG_EINVAL, "unexpected character at offset 1");
	ck_refused(cvat_points_from_xml("1,", 2, 0, 0, 1, 1, &out, &n, &e), e, SEG_EINVAL, "expected a count at offset 2");
	ck_refused(cvat_points_from_xml("1", 1, 0.5, 0, 1, 1, &out, &n, &e), e, SEG_EINVAL, "left is 0.5");
	ck_refused(cvat_points_from_xml("1", 1, 0, 0, 0, 1, &out, &n, &e), e, SEG_EINVAL, "width is 0");
	ck_assert_ptr_null(out);
}
END_TEST

/* ==== the JSON forms ===================================================== */

static annot_image parse_ok(const char *json, const annot_opts *o)
{
	annot_image a;
	seg_error e = {0};
	seg_status st = annot_parse_json(json, strlen(json), o, &a, &e);

	ck_assert_msg(st == SEG_OK, "%s: %s", json, e.msg);
	return a;
}

static void parse_refused(const char *json, seg_status want, const char *part)
{
	annot_image a;
	seg_error e = {0};
	seg_status st = annot_parse_json(json, strlen(json), NULL, &a, &e);

	ck_assert_msg(st == want, "%s: status %d, want %d (%s)", json, (int)st, (int)want, e.msg);
	ck_assert_msg(strstr(e.msg, part) != NULL, "%s: message \"%s\" lacks \"%s\"", json, e.msg, part);
	ck_assert_ptr_null(a.map);
	ck_assert_ptr_null(a.inst);
}

/* The map as rows of instance numbers, for comparing small images. */
static void ck_map(const annot_image *a, const char *const *rows)
{
	for (int y = 0; y < a->height; y++)
		for (int x = 0; x < a->width; x++)
			ck_assert_msg(a->map[y * a->width + x] == (uint32_t)(rows[y][x] - '0'),
				      "pixel (%d, %d) is %u, want %c", x, y, a->map[y * a->width + x], rows[y][x]);
}

static int has_warning(const annot_image *a, const char *part)
{
	for (int i = 0; i < a->warnings.count; i++)
		if (strstr(a->warnings.msg[i], part))
			return 1;
	return 0;
}

START_TEST(json_coco_rle_forms)
{
	static const char *const one[] = {"0110", "0110", "0000"};
	static const char *const two[] = {"2210", "2110", "0002"};
	annot_image a = parse_ok("{\"coco_rle\": {\"size\": [3, 4], \"counts\": \"32103\"}}", NULL);

	ck_assert_int_eq(a.width, 4);
	ck_assert_int_eq(a.height, 3);
	ck_assert_uint_eq(a.count, 1);
	ck_map(&a, one);
	ck_assert_uint_eq(a.inst[0].pixels, 4);
	ck_assert(a.inst[0].category_id == ANNOT_NO_ID);
	ck_assert_ptr_null(a.inst[0].category);
	annot_image_release(&a);
	/* a list: one instance each, the later one on top */
	a = parse_ok("{\"coco_rle\": [{\"size\": [3, 4], \"counts\": [3, 2, 1, 2, 4]},"
		     " {\"size\": [3, 4], \"counts\": \"021O60\"}], \"width\": 4, \"height\": 3}",
		     NULL);
	ck_assert_uint_eq(a.count, 2);
	ck_map(&a, two);
	ck_assert(has_warning(&a, "1 pixels are covered by more than one object"));
	annot_image_release(&a);
}
END_TEST

START_TEST(json_coco_polygons)
{
	static const char *const rows[] = {"0000", "0110", "0000"};
	annot_image a = parse_ok("{\"coco_polygons\": [[0.5, 0.5, 2.5, 0.5, 2.5, 1.5, 0.5, 1.5]],"
				 " \"width\": 4, \"height\": 3}",
				 NULL);

	ck_assert_uint_eq(a.count, 1);
	ck_map(&a, rows);
	annot_image_release(&a);
	/* two parts of one object: one instance, their union, no overlap warning */
	a = parse_ok("{\"coco_polygons\": [[0, 0, 2, 0, 2, 2, 0, 2], [1, 1, 3, 1, 3, 3, 1, 3]],"
		     " \"width\": 4, \"height\": 4}",
		     NULL);
	ck_assert_uint_eq(a.count, 1);
	ck_assert_uint_eq(a.inst[0].pixels, 7);
	ck_assert_int_eq(a.warnings.count, 0);
	annot_image_release(&a);
}
END_TEST

START_TEST(json_coco_annotations)
{
	static const char *const rows[] = {"2210", "2110", "0002"};
	annot_opts o;
	annot_image a;
	const char *json =
		"{\"coco\": {\"width\": 4, \"height\": 3, \"categories\": [{\"id\": 7, \"name\": \"cat\"}],"
		" \"annotations\": ["
		"{\"image_id\": 5, \"category_id\": 7, \"iscrowd\": 0, \"segmentation\": {\"size\": [3, 4], \"counts\": \"32103\"}},"
		"{\"image_id\": 5, \"category_id\": 2, \"score\": 0.3, \"segmentation\": [[0, 0, 1, 0, 1, 1]]},"
		"{\"image_id\": 5, \"category_id\": 9, \"iscrowd\": 1, \"score\": 0.9,"
		" \"segmentation\": {\"size\": [3, 4], \"counts\": [0, 2, 1, 1, 7, 1]}}]}}";

	a = parse_ok(json, NULL);
	ck_assert_uint_eq(a.count, 2); /* the 0.3 result is dropped */
	ck_map(&a, rows);
	ck_assert(a.inst[0].category_id == 7);
	ck_assert_str_eq(a.inst[0].category, "cat");
	ck_assert_int_eq(a.inst[0].crowd, 0);
	ck_assert(isnan(a.inst[0].score));
	ck_assert(a.inst[1].category_id == 9);
	ck_assert_ptr_null(a.inst[1].category);
	ck_assert_int_eq(a.inst[1].crowd, 1);
	ck_assert(a.inst[1].score == 0.9);
	ck_assert(has_warning(&a, "1 annotations with a score below min_score were dropped"));
	ck_assert(has_warning(&a, "1 pixels are covered by more than one object; each goes to the later annotation"));
	annot_image_release(&a);
	/* with min_score 0.2 the triangle is kept: instance 2, and the crowd region becomes 3 */
	annot_opts_init(&o);
	o.min_score = 0.2;
	a = parse_ok(json, &o);
	ck_assert_uint_eq(a.count, 3);
	ck_assert(a.inst[1].category_id == 2);
	ck_assert_int_eq(a.inst[2].crowd, 1);
	annot_image_release(&a);
}
END_TEST

START_TEST(json_cvat_shapes)
{
	/* shape 0 (z 1) is painted after shape 1 (z 0) although it comes first */
	static const char *const rows[] = {"0110", "0120", "0220"};
	annot_image a = parse_ok(
		"{\"cvat\": {\"width\": 4, \"height\": 3, \"shapes\": ["
		"{\"type\": \"mask\", \"label\": \"car\", \"label_id\": 3, \"z_order\": 1, \"points\": [0, 3, 1, 1, 0, 2, 1]},"
		"{\"label\": \"road\", \"z_order\": 0, \"rle\": \"0, 4\", \"left\": \"1\", \"top\": 1, \"width\": 2, \"height\": 2}]}}",
		NULL);

	ck_assert_uint_eq(a.count, 2);
	ck_assert(a.inst[0].category_id == 3);
	ck_assert_str_eq(a.inst[0].category, "car");
	ck_assert_str_eq(a.inst[1].category, "road");
	ck_assert(a.inst[1].category_id == ANNOT_NO_ID);
	ck_map(&a, rows);
	ck_assert(has_warning(&a, "1 pixels are covered by more than one object; each goes to the shape with the higher z_order"));
	annot_image_release(&a);
}
END_TEST

START_TEST(json_labelstudio)
{
	char json[1024];
	annot_image a;
	int n = 0;

	n += snprintf(json + n, sizeof(json) - (size_t)n,
		      "{\"labelstudio\": [{\"type\": \"brushlabels\", \"original_width\": 3, \"original_height\": 2,"
		      " \"value\": {\"format\": \"rle\", \"brushlabels\": [\"Car\"], \"rle\": [");
	for (size_t i = 0; i < sizeof(ls_2x3); i++)
		n += snprintf(json + n, sizeof(json) - (size_t)n, "%s%u", i ? ", " : "", ls_2x3[i]);
	n += snprintf(json + n, sizeof(json) - (size_t)n, "]}}]}");
	a = parse_ok(json, NULL);
	ck_assert_uint_eq(a.count, 1);
	{
		static const char *const rows[] = {"011", "001"};
		ck_map(&a, rows);
	}
	ck_assert_str_eq(a.inst[0].category, "Car");
	annot_image_release(&a);
}
END_TEST

/* An anti-aliased stroke: alpha 255 inside, 100 on its edge. The threshold decides the edge. */
START_TEST(json_labelstudio_threshold)
{
	static const uint8_t alpha[6] = {0, 100, 255, 0, 100, 255};
	char json[2048];
	buf b;
	annot_image a;
	annot_opts o;
	seg_error e = {0};
	int n = 0;

	buf_init(&b, 0);
	ck_assert_int_eq(lsb_encode_alpha(alpha, 6, &b, &e), SEG_OK);
	n += snprintf(json + n, sizeof(json) - (size_t)n,
		      "{\"labelstudio\": {\"original_width\": 3, \"original_height\": 2, \"value\": {\"rle\": [");
	for (size_t i = 0; i < b.len; i++)
		n += snprintf(json + n, sizeof(json) - (size_t)n, "%s%u", i ? ", " : "", b.data[i]);
	snprintf(json + n, sizeof(json) - (size_t)n, "]}}%s}", "");
	a = parse_ok(json, NULL);
	ck_assert_uint_eq(a.inst[0].pixels, 2);
	annot_image_release(&a);
	annot_opts_init(&o);
	o.ls_threshold = 1;
	a = parse_ok(json, &o);
	ck_assert_uint_eq(a.inst[0].pixels, 4);
	annot_image_release(&a);
	/* the object's own threshold wins over the option */
	snprintf(json + n, sizeof(json) - (size_t)n, "]}}, \"threshold\": 101}");
	a = parse_ok(json, &o);
	ck_assert_uint_eq(a.inst[0].pixels, 2);
	annot_image_release(&a);
	/* everything under the threshold: empty, with a warning saying why */
	buf_release(&b);
	{
		static const uint8_t soft[6] = {0, 100, 200, 0, 100, 200};
		buf_init(&b, 0);
		ck_assert_int_eq(lsb_encode_alpha(soft, 6, &b, &e), SEG_OK);
		n = snprintf(json, sizeof(json),
			     "{\"threshold\": 255, \"labelstudio\": {\"original_width\": 3, \"original_height\": 2, \"value\": {\"rle\": [");
		for (size_t i = 0; i < b.len; i++)
			n += snprintf(json + n, sizeof(json) - (size_t)n, "%s%u", i ? ", " : "", b.data[i]);
		snprintf(json + n, sizeof(json) - (size_t)n, "]}}}");
		a = parse_ok(json, NULL);
		ck_assert_uint_eq(a.inst[0].pixels, 0);
		ck_assert(has_warning(&a, "all 4 pixels with alpha above 0 are below threshold 255"));
		ck_assert(has_warning(&a, "1 object covers no pixel of the image (instance 1)"));
		annot_image_release(&a);
	}
	buf_release(&b);
}
END_TEST

START_TEST(json_refusals)
{
	parse_refused("[1]", SEG_EINVAL, "a MASK must be a JSON object");
	parse_refused("{\"coco\": 1, \"cvat\": 2}", SEG_EINVAL, "has both \"coco\" and \"cvat\"");
	parse_refused("{\"png\": 1}", SEG_EINVAL, "a MASK needs one of");
	parse_refused("{\"coco_rle\": {\"size\": [3, 4], \"counts\": \"32103\"}, \"colour\": 1}", SEG_EINVAL,
		      "unknown key \"colour\" beside \"coco_rle\"");
	parse_refused("{\"coco_rle\": {\"size\": [3, 4], \"counts\": \"32104\"}}", SEG_EINVAL,
		      "coco_rle: counts sum to 13 but size [3, 4] has 12 pixels");
	parse_refused("{\"coco_rle\": {\"size\": [3, 4], \"counts\": [3, 2, -1, 2, 4]}}", SEG_EINVAL,
		      "coco_rle: counts[2] is -1: a count is a non-negative integer");
	parse_refused("{\"coco_rle\": {\"size\": [3, 4], \"counts\": [3, 2, 1.5, 2, 4]}}", SEG_EINVAL,
		      "counts[2] is 1.5: a count is a whole number");
	parse_refused("{\"coco_rle\": {\"size\": [3, 4], \"counts\": \"32~03\"}}", SEG_EINVAL,
		      "coco_rle: counts has character '~' (0x7e) at offset 2");
	parse_refused("{\"coco_rle\": {\"size\": [3, 4], \"counts\": \"3210P\"}}", SEG_EINVAL,
		      "ends in the middle of a count");
	parse_refused("{\"coco_rle\": {\"size\": [3, 4], \"counts\": \"32103\"}, \"width\": 3, \"height\": 4}",
		      SEG_EINVAL, "coco_rle.size is [3, 4] but width and height say 3x4 (size is [height, width])");
	parse_refused("{\"coco_rle\": {\"size\": [3], \"counts\": \"3\"}}", SEG_EINVAL, "coco_rle.size must be [height, width]");
	parse_refused("{\"coco_rle\": {\"size\": [30000, 30000], \"counts\": \"3\"}}", SEG_ETOOBIG,
		      "the 30000x30000 image is over the limit of 67108864 pixels");
	parse_refused("{\"coco_rle\": []}", SEG_EINVAL, "coco_rle is an empty list");
	parse_refused("{\"coco_rle\": [{\"size\": [3, 4], \"counts\": \"32103\"}, {\"size\": [3, 5], \"counts\": \"?\"}]}",
		      SEG_EINVAL, "coco_rle[1].size is [3, 5] but the image is 4x3");
	parse_refused("{\"coco_polygons\": [[0, 0, 5, 5]], \"width\": 8, \"height\": 8}", SEG_EINVAL,
		      "coco_polygons[0]: polygon has 4 numbers, which pycocotools reads as a box [x, y, width, height]");
	parse_refused("{\"coco_polygons\": [0, 0, 5, 0, 5, 5], \"width\": 8, \"height\": 8}", SEG_EINVAL,
		      "put a single polygon [x1, y1, ...] inside another list");
	parse_refused("{\"coco_polygons\": [[0, 0, 5, 0]], \"width\": 8}", SEG_EINVAL, "needs \"width\" and \"height\"");
	parse_refused("{\"coco_polygons\": [[0, 0, 5, 0, \"a\", 1]], \"width\": 8, \"height\": 8}", SEG_EINVAL,
		      "coco_polygons[0][4] is not a number");
	parse_refused("{\"coco_polygons\": [[0, 0, 5, 0, 5, 1e300]], \"width\": 8, \"height\": 8}", SEG_EINVAL,
		      "is more than 1024 pixels outside the 8x8 image");
	parse_refused("{\"coco\": {\"width\": 4, \"height\": 3, \"annotations\": [{\"segmentation\": {\"size\": [4, 3],"
		      " \"counts\": \"<\"}}]}}",
		      SEG_EINVAL, "coco.annotations[0].segmentation.size is [4, 3] but the image is 4x3: size is "
				  "[height, width], so it should be [3, 4]");
	parse_refused("{\"coco\": {\"width\": 4, \"height\": 3, \"annotations\": [{\"bbox\": [0, 0, 1, 1]}]}}",
		      SEG_EINVAL, "coco.annotations[0] has no \"segmentation\"");
	parse_refused("{\"coco\": {\"width\": 4, \"height\": 3, \"annotations\": [{\"image_id\": 1, \"segmentation\":"
		      " [[0, 0, 1, 0, 1, 1]]}, {\"image_id\": 2, \"segmentation\": [[0, 0, 1, 0, 1, 1]]}]}}",
		      SEG_EINVAL, "coco.annotations[1].image_id differs from the first annotation's");
	parse_refused("{\"coco\": {\"width\": 4, \"height\": 3, \"annotations\": [{\"iscrowd\": 2, \"segmentation\":"
		      " [[0, 0, 1, 0, 1, 1]]}]}}",
		      SEG_EINVAL, "coco.annotations[0].iscrowd is 2");
	parse_refused("{\"coco\": {\"width\": 4.5, \"height\": 3, \"annotations\": []}}", SEG_EINVAL, "coco.width is 4.5");
	parse_refused("{\"cvat\": {\"width\": 4, \"height\": 3, \"shapes\": [{\"type\": \"polygon\", \"points\": [1, 2]}]}}",
		      SEG_EINVAL, "cvat.shapes[0].type is \"polygon\": only \"mask\" shapes are read");
	parse_refused("{\"cvat\": {\"width\": 4, \"height\": 3, \"shapes\": [{\"points\": [0, 3, 1, 1, 0, 4, 1]}]}}",
		      SEG_EINVAL, "cvat.shapes[0]: box left 1, top 0, right 4, bottom 1 (inclusive) is not inside the 4x3 image");
	parse_refused("{\"cvat\": {\"width\": 4, \"height\": 3, \"shapes\": [{\"points\": [0, 9, 1, 1, 0, 2, 1]}]}}",
		      SEG_EINVAL, "cvat.shapes[0]: counts are longer than the box");
	parse_refused("{\"cvat\": {\"width\": 4, \"height\": 3, \"shapes\": [{\"label_id\": \"car\", \"points\": [4, 0, 0, 1, 1]}]}}",
		      SEG_EINVAL, "cvat.shapes[0].label_id must be a number (a name goes in \"label\")");
	parse_refused("{\"cvat\": {\"width\": 4, \"height\": 3, \"shapes\": [{\"rle\": \"4\", \"left\": 0, \"top\": 0, \"width\": 2}]}}",
		      SEG_EINVAL, "cvat.shapes[0].height must be a number");
	parse_refused("{\"labelstudio\": {\"type\": \"rectanglelabels\", \"value\": {}}}", SEG_EINVAL,
		      "labelstudio.type is \"rectanglelabels\": only \"brushlabels\" results hold masks");
	parse_refused("{\"labelstudio\": {\"result\": []}}", SEG_EINVAL, "is an annotation, not a result");
	parse_refused("{\"labelstudio\": {\"original_width\": 3, \"original_height\": 2, \"value\": {\"rle\": [0, 256]}}}",
		      SEG_EINVAL, "labelstudio.value.rle[1] is not a byte");
	parse_refused("{\"labelstudio\": {\"original_width\": 4, \"original_height\": 2, \"value\": {\"rle\": "
		      "[0, 0, 0, 24, 57, 27, 252, 96, 19, 255, 206, 1, 31, 248]}}}",
		      SEG_EINVAL, "labelstudio.value.rle header counts 24 values but the 4x2 canvas has 32 RGBA bytes");
	parse_refused("{\"labelstudio\": {\"original_width\": 3, \"value\": {\"rle\": []}}}", SEG_EINVAL,
		      "labelstudio.original_height must be a number");
	parse_refused("{\"labelstudio\": [], \"threshold\": 1}", SEG_EINVAL, "labelstudio is an empty list");
	parse_refused("{\"labelstudio\": [{}], \"threshold\": 0}", SEG_EINVAL, "threshold is 0");
	parse_refused("{\"coco_rle\": ", SEG_EDECODE, "MASK is not valid JSON");
}
END_TEST

/* Caps: objects and polygon points per MASK object. */
START_TEST(json_caps)
{
	annot_opts o;
	annot_image a;
	seg_error e = {0};
	const char *three = "{\"coco_rle\": [{\"size\": [1, 1], \"counts\": [1]}, {\"size\": [1, 1], \"counts\": [1]},"
			    " {\"size\": [1, 1], \"counts\": [1]}]}";
	const char *polys = "{\"coco_polygons\": [[0, 0, 2, 0, 2, 2], [0, 0, 2, 0, 2, 2]], \"width\": 4, \"height\": 4}";

	annot_opts_init(&o);
	o.max_objects = 2;
	ck_refused(annot_parse_json(three, strlen(three), &o, &a, &e), e, SEG_ETOOBIG, "coco_rle: 3 objects, over the limit of 2");
	annot_opts_init(&o);
	o.max_vertices = 5;
	ck_refused(annot_parse_json(polys, strlen(polys), &o, &a, &e), e, SEG_ETOOBIG,
		   "coco_polygons[1]: 3 points, 6 with the polygons before, over the limit of 5 polygon points per mask");
	ck_assert_str_eq(e.msg,
			 "coco_polygons[1]: 3 points, 6 with the polygons before, over the limit of 5 polygon points per mask");
	o.max_vertices = 2;
	ck_refused(annot_parse_json(polys, strlen(polys), &o, &a, &e), e, SEG_ETOOBIG,
		   "coco_polygons[0]: 3 points, over the limit of 2 polygon points per mask");
	ck_assert_str_eq(e.msg, "coco_polygons[0]: 3 points, over the limit of 2 polygon points per mask");
	o.max_vertices = 6;
	ck_assert_int_eq(annot_parse_json(polys, strlen(polys), &o, &a, &e), SEG_OK);
	annot_image_release(&a);
	/* 70 objects covering a whole 1024x1024 image: more than 64 writes per pixel */
	{
		buf b;
		buf_init(&b, 0);
		ck_assert_int_eq(buf_puts(&b, "{\"coco_rle\": ["), SEG_OK);
		for (int i = 0; i < 70; i++)
			ck_assert_int_eq(buf_printf(&b, "%s{\"size\": [1024, 1024], \"counts\": [0, 1048576]}", i ? ", " : ""),
					 SEG_OK);
		ck_assert_int_eq(buf_puts(&b, "]}"), SEG_OK);
		annot_opts_init(&o);
		ck_refused(annot_parse_json((const char *)b.data, b.len, &o, &a, &e), e, SEG_ETOOBIG,
			   "the image more than 64 times over in total");
		ck_assert_msg(strncmp(e.msg, "coco_rle[63]", 12) == 0 || strncmp(e.msg, "coco_rle[64]", 12) == 0, "%s", e.msg);
		buf_release(&b);
	}
	annot_opts_init(&o);
	o.max_pixels = 11;
	ck_refused(annot_parse_json(polys, strlen(polys), &o, &a, &e), e, SEG_ETOOBIG, "over the limit of 11 pixels");
}
END_TEST

/* ==== conversions ========================================================= */

static seg_status cls_by_name_length(void *ctx, const annot_instance *inst, uint32_t *cls, seg_error *err)
{
	(void)ctx;
	if (inst->category == NULL)
		return seg_fail(err, SEG_EINVAL, "nameless");
	*cls = (uint32_t)strlen(inst->category);
	return SEG_OK;
}

START_TEST(conversions)
{
	annot_image a = parse_ok(
		"{\"cvat\": {\"width\": 4, \"height\": 3, \"shapes\": ["
		"{\"label\": \"car\", \"label_id\": 3, \"points\": [0, 3, 1, 1, 0, 2, 1]},"
		"{\"label\": \"tree\", \"points\": [0, 1, 3, 2, 3, 2]}]}}",
		NULL);
	static const annot_class entries[] = {{3, "bus", 1}, {ANNOT_NO_ID, "tree", 2}, {4, NULL, 5}};
	annot_class_table table = {entries, 3};
	annot_class_table short_table = {entries, 1};
	seg_target t;
	uint32_t cls[12];
	seg_error e = {0};

	ck_assert_int_eq(annot_to_target(&a, &t, &e), SEG_OK);
	ck_assert_int_eq(t.width, 4);
	ck_assert_int_eq(t.height, 3);
	ck_assert_ptr_nonnull(t.labels);
	for (int i = 0; i < 12; i++) {
		ck_assert_int_eq(t.fg[i], a.map[i] != 0);
		ck_assert_uint_eq(t.labels[i], a.map[i]);
	}
	ck_assert_uint_eq(t.labels[2 * 4 + 3], 2);
	seg_target_release(&t);
	/* by id first (car has id 3 -> class 1 although its name is not in the table), then by name */
	ck_assert_int_eq(annot_to_classes(&a, annot_class_lookup, &table, 0, cls, &e), SEG_OK);
	for (int i = 0; i < 12; i++)
		ck_assert_uint_eq(cls[i], a.map[i] == 0 ? 0 : a.map[i] == 1 ? 1 : 2);
	ck_refused(annot_to_classes(&a, annot_class_lookup, &short_table, 0, cls, &e), e, SEG_EINVAL,
		   "no class for category \"tree\"");
	ck_assert_int_eq(annot_to_classes(&a, cls_by_name_length, NULL, 9, cls, &e), SEG_OK);
	ck_assert_uint_eq(cls[0], 9);
	ck_assert_uint_eq(cls[1], 3);
	ck_assert_uint_eq(cls[11], 4);
	annot_image_release(&a);
	/* one instance: the labels are kept, so the object stays one instance */
	a = parse_ok("{\"coco_rle\": {\"size\": [3, 4], \"counts\": \"32103\"}}", NULL);
	ck_assert_int_eq(annot_to_target(&a, &t, &e), SEG_OK);
	ck_assert_ptr_nonnull(t.labels);
	for (int i = 0; i < 12; i++)
		ck_assert_uint_eq(t.labels[i], a.map[i]);
	seg_target_release(&t);
	annot_image_release(&a);
}
END_TEST

/* The instances the weight map finds in a MASK under `instances: auto`, and the connected components. */
static void ck_wmap_instances(const char *json, uint32_t want, uint32_t parts)
{
	annot_image a = parse_ok(json, NULL);
	seg_target t;
	wmap_params p;
	wmap_info info;
	seg_error e = {0};
	float *w = malloc((size_t)a.width * (size_t)a.height * sizeof(*w));

	ck_assert_ptr_nonnull(w);
	ck_assert_int_eq(annot_to_target(&a, &t, &e), SEG_OK);
	wmap_params_default(&p);
	ck_assert_int_eq(wmap_compute(&t, &p, w, &info, &e), SEG_OK);
	ck_assert_msg(info.instances == want, "%s: %u instances, want %u", json, info.instances, want);
	p.instances = WMAP_INST_COMPONENTS;
	ck_assert_int_eq(wmap_compute(&t, &p, w, &info, &e), SEG_OK);
	ck_assert_msg(info.instances == parts, "%s: %u components, want %u", json, info.instances, parts);
	free(w);
	seg_target_release(&t);
	annot_image_release(&a);
}

/*
 * An object is one instance however many separate parts it has: a crowd
 * region, a polygon list, an RLE, a CVAT mask or a brush stroke in two
 * places is never split into connected components, also when it is the
 * only object; two objects stay two.
 */
START_TEST(lone_object_is_one_instance)
{
	/* pixels (2, 0) and (4, 2) of a 6x3 image: two parts, not 8-connected */
	ck_wmap_instances("{\"coco\": {\"width\": 6, \"height\": 3, \"annotations\": [{\"iscrowd\": 1,"
			  " \"segmentation\": {\"size\": [3, 6], \"counts\": [6, 1, 7, 1, 3]}}]}}",
			  1, 2);
	ck_wmap_instances("{\"coco_rle\": {\"size\": [3, 6], \"counts\": [6, 1, 7, 1, 3]}}", 1, 2);
	ck_wmap_instances("{\"coco_polygons\": [[0, 0, 2, 0, 2, 2, 0, 2], [4, 0, 6, 0, 6, 2, 4, 2]],"
			  " \"width\": 8, \"height\": 3}",
			  1, 2);
	ck_wmap_instances("{\"coco\": {\"width\": 8, \"height\": 3, \"annotations\": [{\"segmentation\":"
			  " [[0, 0, 2, 0, 2, 2, 0, 2], [4, 0, 6, 0, 6, 2, 4, 2]]}]}}",
			  1, 2);
	/* a CVAT mask of pixels (0, 0) and (4, 0) in the box 0,0-4,0 */
	ck_wmap_instances("{\"cvat\": {\"width\": 6, \"height\": 3, \"shapes\": [{\"type\": \"mask\","
			  " \"points\": [0, 1, 3, 1, 0, 0, 4, 0]}]}}",
			  1, 2);
	ck_wmap_instances("{\"cvat\": {\"width\": 6, \"height\": 3, \"shapes\": [{\"rle\": \"0, 1, 3, 1\","
			  " \"left\": 0, \"top\": 0, \"width\": 5, \"height\": 1}]}}",
			  1, 2);
	/* a Label Studio stroke in two places */
	{
		static const uint8_t alpha[18] = {255, 255, 0, 0, 0, 255, 0, 0, 0, 0, 0, 255, 0, 0, 0, 0, 0, 0};
		char json[2048];
		buf b;
		seg_error e = {0};
		int n;

		buf_init(&b, 0);
		ck_assert_int_eq(lsb_encode_alpha(alpha, 18, &b, &e), SEG_OK);
		n = snprintf(json, sizeof(json),
			     "{\"labelstudio\": {\"type\": \"brushlabels\", \"original_width\": 6, \"original_height\": 3,"
			     " \"value\": {\"format\": \"rle\", \"brushlabels\": [\"Car\"], \"rle\": [");
		for (size_t i = 0; i < b.len; i++)
			n += snprintf(json + n, sizeof(json) - (size_t)n, "%s%u", i ? ", " : "", b.data[i]);
		snprintf(json + n, sizeof(json) - (size_t)n, "]}}}");
		ck_wmap_instances(json, 1, 2);
		buf_release(&b);
	}
	/* two objects are two instances, also when they touch */
	ck_wmap_instances("{\"coco_rle\": [{\"size\": [3, 6], \"counts\": [6, 1, 11]},"
			  " {\"size\": [3, 6], \"counts\": [7, 1, 10]}]}",
			  2, 1);
}
END_TEST

/* ==== fixtures from the Python port ======================================= */

static cJSON *fixtures;

/* Runs in main, outside any test: plain checks, not ck_assert. */
static void load_fixtures(void)
{
	size_t len;
	uint8_t *text = tu_read_file(FIX "cases.json", &len);

	if (text == NULL) {
		fprintf(stderr, "cannot read %scases.json (run from the project root)\n", FIX);
		exit(EXIT_FAILURE);
	}
	fixtures = cJSON_ParseWithLength((const char *)text, len);
	free(text);
	if (fixtures == NULL) {
		fprintf(stderr, "%scases.json is not valid JSON\n", FIX);
		exit(EXIT_FAILURE);
	}
}

static cJSON *read_json(const char *path)
{
	size_t len;
	uint8_t *text = tu_read_file(path, &len);
	cJSON *j;

	ck_assert_msg(text != NULL, "cannot read %s", path);
	j = cJSON_ParseWithLength((const char *)text, len);
	free(text);
	ck_assert_msg(j != NULL, "%s is not JSON", path);
	return j;
}

/* Object k's pixels (1-based) of an expected target: labels == k, or fg when there is one object. */
static void object_mask(const seg_target *t, uint32_t k, uint8_t *m)
{
	size_t n = (size_t)t->width * (size_t)t->height;

	for (size_t i = 0; i < n; i++)
		m[i] = t->labels ? t->labels[i] == k : t->fg[i];
}

/* The k-th object of a MASK form (0-based): the object itself or its list's item. */
static const cJSON *nth(const cJSON *v, int k)
{
	return cJSON_IsArray(v) ? cJSON_GetArrayItem(v, k) : v;
}

/* Encodes every object of the expected target with our encoders and compares with the port's output. */
static void check_encoders(const char *form, const cJSON *mask, const seg_target *t, size_t objects)
{
	int w = t->width, h = t->height;
	uint8_t *m = malloc((size_t)w * h), *back = malloc((size_t)w * h), *rgba = malloc((size_t)w * h * 4);
	seg_error e = {0};

	for (size_t k = 0; k < objects; k++) {
		object_mask(t, (uint32_t)k + 1, m);
		if (strcmp(form, "coco_rle") == 0) {
			const cJSON *rle = nth(cJSON_GetObjectItem(mask, "coco_rle"), (int)k);
			const char *want = cJSON_GetObjectItem(rle, "counts")->valuestring;
			uint32_t *counts = NULL, *parsed = NULL;
			size_t n = 0, pn = 0;
			char *str = NULL;

			ck_assert_int_eq(coco_encode(m, h, w, &counts, &n, &e), SEG_OK);
			ck_assert_int_eq(coco_to_string(counts, n, &str, NULL, &e), SEG_OK);
			ck_assert_msg(strcmp(str, want) == 0, "object %zu: counts string differs from pycocotools'", k);
			ck_assert_int_eq(coco_from_string(want, strlen(want), &parsed, &pn, &e), SEG_OK);
			ck_assert_int_eq(coco_decode(parsed, pn, h, w, back, &e), SEG_OK);
			ck_assert_mem_eq(back, m, (size_t)w * h);
			free(counts);
			free(parsed);
			free(str);
		} else if (strcmp(form, "labelstudio") == 0) {
			const cJSON *r = nth(cJSON_GetObjectItem(mask, "labelstudio"), (int)k);
			const cJSON *rle = cJSON_GetObjectItem(cJSON_GetObjectItem(r, "value"), "rle");
			size_t n = (size_t)cJSON_GetArraySize(rle);
			uint8_t *want = malloc(n);
			buf b;

			for (size_t i = 0; i < n; i++)
				want[i] = (uint8_t)cJSON_GetArrayItem(rle, (int)i)->valueint;
			for (size_t i = 0; i < (size_t)w * h; i++)
				back[i] = m[i] ? 255 : 0;
			buf_init(&b, 0);
			ck_assert_int_eq(lsb_encode_alpha(back, (size_t)w * h, &b, &e), SEG_OK);
			ck_assert_msg(b.len == n && memcmp(b.data, want, n) == 0,
				      "object %zu: brush stream differs from label-studio-converter's", k);
			ck_assert_int_eq(lsb_decode_rgba(want, n, w, h, rgba, &e), SEG_OK);
			ck_assert_int_eq(lsb_alpha_mask(rgba, (size_t)w * h, 128, back, &e), SEG_OK);
			ck_assert_mem_eq(back, m, (size_t)w * h);
			buf_release(&b);
			free(want);
		} else if (strcmp(form, "cvat") == 0) {
			const cJSON *pts = cJSON_GetObjectItem(
				cJSON_GetArrayItem(cJSON_GetObjectItem(cJSON_GetObjectItem(mask, "cvat"), "shapes"), (int)k),
				"points");
			cvat_box box;
			double *got = NULL, *want;
			size_t n = 0, wn = (size_t)cJSON_GetArraySize(pts);

			ck_assert_int_eq(cvat_box_of(m, w, h, &box, &e), SEG_OK);
			ck_assert_int_eq(cvat_encode(m, w, h, &box, &got, &n, &e), SEG_OK);
			ck_assert_uint_eq(n, wn);
			want = malloc(wn * sizeof(double));
			for (size_t i = 0; i < n; i++) {
				want[i] = cJSON_GetArrayItem(pts, (int)i)->valuedouble;
				ck_assert_msg(got[i] == want[i], "object %zu: points[%zu] %g, cvat-sdk wrote %g", k, i,
					      got[i], want[i]);
			}
			ck_assert_int_eq(cvat_decode(want, wn, w, h, back, &e), SEG_OK);
			ck_assert_mem_eq(back, m, (size_t)w * h);
			free(got);
			free(want);
		}
	}
	free(m);
	free(back);
	free(rgba);
}

START_TEST(fixture_case)
{
	const cJSON *c = cJSON_GetArrayItem(cJSON_GetObjectItem(fixtures, "cases"), _i);
	const char *name = cJSON_GetObjectItem(c, "name")->valuestring;
	const cJSON *opts = cJSON_GetObjectItem(c, "opts"), *encoded = cJSON_GetObjectItem(c, "encoded");
	const cJSON *kept = cJSON_GetObjectItem(c, "kept"), *o;
	cJSON *mask = read_json(cJSON_GetObjectItem(c, "mask")->valuestring);
	const char *png = cJSON_GetObjectItem(c, "expect")->valuestring;
	size_t len, n, objects = 0;
	uint8_t *bytes = tu_read_file(png, &len);
	annot_opts ao;
	annot_image a;
	seg_target t;
	seg_error e = {0};

	ck_assert_msg(bytes != NULL, "cannot read %s", png);
	ck_assert_msg(mask_decode_target(bytes, len, 1u << 26, &t, &e) == SEG_OK, "%s: %s", png, e.msg);
	free(bytes);
	annot_opts_init(&ao);
	o = cJSON_GetObjectItem(opts, "ls_threshold");
	if (o)
		ao.ls_threshold = o->valueint;
	o = cJSON_GetObjectItem(opts, "min_score");
	if (o)
		ao.min_score = o->valuedouble;
	ck_assert_msg(annot_parse(mask, &ao, &a, &e) == SEG_OK, "%s: %s", name, e.msg);
	ck_assert_int_eq(a.width, t.width);
	ck_assert_int_eq(a.height, t.height);
	n = (size_t)t.width * (size_t)t.height;
	for (size_t i = 0; i < n; i++) {
		uint32_t want = t.labels ? t.labels[i] : t.fg[i];
		if (a.map[i] != want)
			ck_abort_msg("%s: pixel (%zu, %zu) is instance %u, %s has %u", name, i % (size_t)t.width,
				     i / (size_t)t.width, a.map[i], png, want);
	}
	if (kept)
		ck_assert_uint_eq(a.count, (size_t)kept->valueint);
	for (size_t i = 0; i < n; i++)
		if (t.labels && t.labels[i] > objects)
			objects = t.labels[i];
	if (objects == 0)
		objects = 1;
	if (cJSON_IsString(encoded))
		check_encoders(encoded->valuestring, mask, &t, objects);
	annot_image_release(&a);
	seg_target_release(&t);
	cJSON_Delete(mask);
}
END_TEST

/* Every random polygon rasterised here gives the counts the port of rleFrPoly gave. */
START_TEST(fixture_random_polygons)
{
	cJSON *polys = read_json(cJSON_GetObjectItem(fixtures, "polygons")->valuestring);
	const cJSON *p;
	int i = 0;

	ck_assert_int_gt(cJSON_GetArraySize(polys), 100);
	cJSON_ArrayForEach(p, polys)
	{
		int h = cJSON_GetObjectItem(p, "h")->valueint, w = cJSON_GetObjectItem(p, "w")->valueint;
		const cJSON *xyj = cJSON_GetObjectItem(p, "xy"), *cj = cJSON_GetObjectItem(p, "counts");
		size_t nxy = (size_t)cJSON_GetArraySize(xyj), nc = (size_t)cJSON_GetArraySize(cj), n = 0;
		double *xy = malloc(nxy * sizeof(double));
		uint32_t *want = malloc(nc * sizeof(uint32_t)), *got = NULL;
		uint64_t budget = coco_poly_budget(h, w);
		seg_error e = {0};

		for (size_t k = 0; k < nxy; k++)
			xy[k] = cJSON_GetArrayItem(xyj, (int)k)->valuedouble;
		for (size_t k = 0; k < nc; k++)
			want[k] = (uint32_t)cJSON_GetArrayItem(cj, (int)k)->valuedouble;
		ck_assert_msg(coco_poly_to_counts(xy, nxy, h, w, 1000, &budget, &got, &n, &e) == SEG_OK,
			      "polygon %d: %s", i, e.msg);
		if (n != nc || memcmp(got, want, n * sizeof(uint32_t)) != 0)
			ck_abort_msg("polygon %d (%dx%d, %zu points): counts differ from rleFrPoly's", i, w, h, nxy / 2);
		free(xy);
		free(want);
		free(got);
		i++;
	}
	cJSON_Delete(polys);
}
END_TEST

/* ==== suite =============================================================== */

static Suite *formats_suite(void)
{
	Suite *s = suite_create("formats");
	TCase *tc;

	tc = tcase_create("coco");
	tcase_add_loop_test(tc, coco_vectors_both_ways, 0, (int)(sizeof(coco_vecs) / sizeof(coco_vecs[0])));
	tcase_add_test(tc, coco_long_counts_string);
	tcase_add_test(tc, coco_string_extremes);
	tcase_add_test(tc, coco_polygon_vectors);
	tcase_add_test(tc, coco_polygon_degenerate);
	tcase_add_test(tc, coco_refuses_bad_counts);
	tcase_add_test(tc, coco_refuses_bad_strings);
	tcase_add_test(tc, coco_refuses_bad_polygons);
	tcase_add_test(tc, coco_polygon_walk_budget);
	tcase_add_test(tc, coco_refuses_sizes);
	suite_add_tcase(s, tc);

	tc = tcase_create("labelstudio");
	tcase_add_test(tc, ls_example_stream);
	tcase_add_test(tc, ls_mask_both_ways);
	tcase_add_test(tc, ls_header_driven_sizes);
	tcase_add_test(tc, ls_long_runs_round_trip);
	tcase_add_test(tc, ls_refusals);
	tcase_add_test(tc, ls_refuses_wide_values);
	suite_add_tcase(s, tc);

	tc = tcase_create("cvat");
	tcase_add_test(tc, cvat_vector_both_ways);
	tcase_add_test(tc, cvat_float_box_and_margins);
	tcase_add_test(tc, cvat_refusals);
	suite_add_tcase(s, tc);

	tc = tcase_create("json");
	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, json_coco_rle_forms);
	tcase_add_test(tc, json_coco_polygons);
	tcase_add_test(tc, json_coco_annotations);
	tcase_add_test(tc, json_cvat_shapes);
	tcase_add_test(tc, json_labelstudio);
	tcase_add_test(tc, json_labelstudio_threshold);
	tcase_add_test(tc, json_refusals);
	tcase_add_test(tc, json_caps);
	tcase_add_test(tc, conversions);
	tcase_add_test(tc, lone_object_is_one_instance);
	suite_add_tcase(s, tc);

	tc = tcase_create("fixtures");
	tcase_set_timeout(tc, 120);
	tcase_add_loop_test(tc, fixture_case, 0, cJSON_GetArraySize(cJSON_GetObjectItem(fixtures, "cases")));
	tcase_add_test(tc, fixture_random_polygons);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	SRunner *sr;
	int failed;

	load_fixtures();
	sr = srunner_create(formats_suite());
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	cJSON_Delete(fixtures);
	return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
