/*
 * check_codec.c — the codec module: buf, base64, PNG, .npy and the mask
 * dispatcher.
 *
 * Inputs are made here rather than stored: PNGs are written with libpng
 * (every colour type and bit depth, interlaced or not) or assembled chunk
 * by chunk with a local CRC-32 when the test needs a file libpng would not
 * write (a huge IHDR, a zlib bomb, corrupted data with valid CRCs); .npy
 * files are assembled from header strings. Values are checked pixel by
 * pixel against the samples the test chose, and every malformed input is
 * checked for its status and, where the message is part of the contract,
 * its text. Run it under -fsanitize=address,undefined: the truncation,
 * bit-flip and mutation loops are there to find crashes and leaks.
 */
#include <check.h>
#include <dirent.h>
#include <math.h>
#include <png.h>
#include <setjmp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <zlib.h>

#include "codec/b64.h"
#include "codec/buf.h"
#include "codec/mask.h"
#include "codec/npy.h"
#include "codec/pngfast.h"
#include "codec/pngio.h"
#include "codec/pngio_internal.h"
#include "testpng.h"
#include "testutil.h"

#define MAXPIX ((uint64_t)1 << 26) /* 67108864 */

/* ==== helpers ============================================================ */

/* CRC-32 as PNG uses it (ISO 3309, reflected 0xEDB88320). */
static uint32_t crc32_update(uint32_t crc, const uint8_t *p, size_t n)
{
	static uint32_t table[256];
	static int ready;

	if (!ready) {
		for (uint32_t k = 0; k < 256; k++) {
			uint32_t c = k;

			for (int j = 0; j < 8; j++)
				c = (c & 1) != 0 ? 0xEDB88320u ^ (c >> 1) : c >> 1;
			table[k] = c;
		}
		ready = 1;
	}
	crc = ~crc;
	for (size_t i = 0; i < n; i++)
		crc = table[(crc ^ p[i]) & 0xff] ^ (crc >> 8);
	return ~crc;
}

static void put_be32(uint8_t *p, uint32_t v)
{
	p[0] = (uint8_t)(v >> 24);
	p[1] = (uint8_t)(v >> 16);
	p[2] = (uint8_t)(v >> 8);
	p[3] = (uint8_t)v;
}

static uint32_t get_be32(const uint8_t *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

/*
 * Hot helpers fail with ck_abort_msg only when something is wrong: every
 * ck_assert also records a progress mark (a write to Check's pipe), which
 * adds up over millions of calls.
 */
#define REQUIRE(cond)                                                                  \
	do {                                                                           \
		if (!(cond))                                                           \
			ck_abort_msg("%s:%d: failed: %s", __FILE__, __LINE__, #cond);  \
	} while (0)

static void append(buf *b, const void *p, size_t n)
{
	REQUIRE(buf_append(b, p, n) == SEG_OK);
}

/* Appends one PNG chunk with its CRC. */
static void put_chunk(buf *b, const char *type, const uint8_t *data, size_t n)
{
	uint8_t hdr[8];
	uint8_t crc[4];
	uint32_t c;

	put_be32(hdr, (uint32_t)n);
	memcpy(hdr + 4, type, 4);
	c = crc32_update(0, (const uint8_t *)type, 4);
	c = crc32_update(c, data, n);
	put_be32(crc, c);
	append(b, hdr, 8);
	if (n > 0)
		append(b, data, n);
	append(b, crc, 4);
}

static const uint8_t png_sig[8] = {0x89, 'P', 'N', 'G', '\r', '\n', 0x1a, '\n'};

static void put_ihdr(buf *b, uint32_t w, uint32_t h, int depth, int color, int interlace)
{
	uint8_t ihdr[13];

	put_be32(ihdr, w);
	put_be32(ihdr + 4, h);
	ihdr[8] = (uint8_t)depth;
	ihdr[9] = (uint8_t)color;
	ihdr[10] = 0;
	ihdr[11] = 0;
	ihdr[12] = (uint8_t)interlace;
	put_chunk(b, "IHDR", ihdr, sizeof(ihdr));
}

/* Recomputes every chunk CRC of a PNG in place (after deliberate corruption). */
static void fix_crcs(uint8_t *p, size_t len)
{
	size_t pos = 8;

	while (len - pos >= 12) {
		uint32_t n = get_be32(p + pos);

		if (n > len - pos - 12)
			break;
		put_be32(p + pos + 8 + n, crc32_update(0, p + pos + 4, 4 + (size_t)n));
		pos += 12 + (size_t)n;
	}
}

static void *xmalloc(size_t n)
{
	void *p = malloc(n != 0 ? n : 1);

	REQUIRE(p != NULL);
	return p;
}

/* ---- test PNGs: tests/testpng.c ----------------------------------------- */

/* Random samples of the given depth, about a third of them zero. */
static uint16_t *random_samples(size_t n, int depth, uint64_t *rng)
{
	uint16_t *s = xmalloc(n * sizeof(*s));
	uint32_t maxv = (1u << depth) - 1;

	for (size_t k = 0; k < n; k++) {
		uint64_t r = tu_rand(rng);

		if (r % 3 == 0)
			s[k] = 0;
		else if (depth == 16 && r % 7 == 1)
			s[k] = (uint16_t)((r >> 8) % 256); /* only the low byte set */
		else
			s[k] = (uint16_t)((r >> 16) % (maxv + 1));
	}
	return s;
}

/* A small grey image as a ready PNG. */
static void small_gray_png(buf *out, int w, int h, int interlace)
{
	uint64_t rng = 42;
	uint16_t *s = random_samples((size_t)w * (size_t)h, 8, &rng);
	struct png_spec spec = {w, h, PNG_COLOR_TYPE_GRAY, 8, interlace, s, 0, -1, NULL};

	tp_make_png(&spec, out);
	free(s);
}

/* ---- building .npy files ------------------------------------------------- */

/* Appends a .npy with the given header dict text, version and data. */
static void make_npy_raw(buf *out, int major, const char *dict, const void *data, size_t n)
{
	size_t pre = major == 1 ? 10 : 12;
	size_t dlen = strlen(dict);
	size_t pad = (64 - (pre + dlen + 1) % 64) % 64;
	size_t hlen = dlen + pad + 1;
	uint8_t p[12] = {0x93, 'N', 'U', 'M', 'P', 'Y', (uint8_t)major, 0};

	p[8] = (uint8_t)hlen;
	p[9] = (uint8_t)(hlen >> 8);
	p[10] = (uint8_t)(hlen >> 16);
	p[11] = (uint8_t)(hlen >> 24);
	append(out, p, pre);
	append(out, dict, dlen);
	for (size_t k = 0; k < pad; k++)
		append(out, " ", 1);
	append(out, "\n", 1);
	if (n > 0)
		append(out, data, n);
}

static void make_npy(buf *out, const char *descr, int fortran, const char *shape, const void *data,
		     size_t n)
{
	char dict[256];

	snprintf(dict, sizeof(dict), "{'descr': '%s', 'fortran_order': %s, 'shape': %s, }", descr,
		 fortran ? "True" : "False", shape);
	make_npy_raw(out, 1, dict, data, n);
}

/* Stores v as size bytes, big- or little-endian. */
static void put_elem(uint8_t *p, uint64_t v, int size, int big)
{
	for (int k = 0; k < size; k++) {
		int shift = big ? 8 * (size - 1 - k) : 8 * k;

		p[k] = (uint8_t)(v >> shift);
	}
}

static int host_big_endian(void)
{
	const uint16_t probe = 1;
	uint8_t first;

	memcpy(&first, &probe, 1);
	return first == 0;
}

/* ==== buf ================================================================ */

/* The invariant every buffer keeps. */
static void buf_check(const buf *b)
{
	ck_assert(b->len <= b->cap || (b->data == NULL && b->len == 0 && b->cap == 0));
	if (b->data != NULL) {
		ck_assert(b->len < b->cap);
		ck_assert_int_eq(b->data[b->len], 0);
	}
	if (b->max != 0)
		ck_assert(b->len <= b->max);
}

START_TEST(buf_append_and_detach)
{
	buf b;
	uint8_t *d;
	size_t n;

	buf_init(&b, 0);
	buf_check(&b);
	ck_assert_int_eq(buf_append(&b, "abc", 3), SEG_OK);
	buf_check(&b);
	ck_assert_int_eq(buf_puts(&b, "def"), SEG_OK);
	ck_assert_int_eq(buf_printf(&b, "-%d-%s", 42, "x"), SEG_OK);
	buf_check(&b);
	ck_assert_str_eq((char *)b.data, "abcdef-42-x");
	ck_assert_uint_eq(b.len, 11);
	for (int k = 0; k < 1000; k++)
		ck_assert_int_eq(buf_printf(&b, "%04d", k), SEG_OK);
	buf_check(&b);
	ck_assert_uint_eq(b.len, 11 + 4000);
	ck_assert(memcmp(b.data + 11 + 4 * 999, "0999", 4) == 0);
	ck_assert_int_eq(buf_append(&b, NULL, 0), SEG_OK);
	d = buf_detach(&b, &n);
	ck_assert_uint_eq(n, 4011);
	ck_assert_int_eq(d[n], 0);
	buf_check(&b);
	ck_assert_ptr_null(b.data);
	ck_assert_uint_eq(b.len, 0);
	free(d);
	ck_assert_ptr_null(buf_detach(&b, &n));
	ck_assert_uint_eq(n, 0);
	buf_release(&b);
	buf_release(&b);
	buf_release(NULL);
}
END_TEST

START_TEST(buf_cap)
{
	buf b;
	char big[100];

	memset(big, 'x', sizeof(big));
	buf_init(&b, 10);
	ck_assert_int_eq(buf_append(&b, big, 10), SEG_OK);
	buf_check(&b);
	ck_assert_uint_le(b.cap, 11);
	ck_assert_int_eq(buf_append(&b, big, 1), SEG_ETOOBIG);
	ck_assert_uint_eq(b.len, 10);
	buf_check(&b);
	buf_release(&b);

	buf_init(&b, 10);
	ck_assert_int_eq(buf_append(&b, big, 4), SEG_OK);
	ck_assert_int_eq(buf_printf(&b, "%s", "1234567"), SEG_ETOOBIG);
	ck_assert_uint_eq(b.len, 4);
	ck_assert_int_eq(buf_printf(&b, "%s", "123456"), SEG_OK);
	ck_assert_uint_eq(b.len, 10);
	ck_assert_int_eq(buf_reserve(&b, SIZE_MAX), SEG_ETOOBIG);
	buf_check(&b);
	buf_release(&b);

	/* Unlimited, but a size that would wrap is refused before any allocation. */
	buf_init(&b, 0);
	ck_assert_int_eq(buf_append(&b, "a", 1), SEG_OK);
	ck_assert_int_eq(buf_reserve(&b, SIZE_MAX), SEG_ETOOBIG);
	ck_assert_int_eq(buf_reserve(&b, SIZE_MAX - 1), SEG_ETOOBIG);
	ck_assert_uint_eq(b.len, 1);
	buf_check(&b);
	buf_release(&b);
}
END_TEST

/* ==== base64 ============================================================= */

/* RFC 4648 §10. */
static const struct {
	const char *plain;
	const char *coded;
} rfc4648[] = {
	{"", ""},         {"f", "Zg=="},         {"fo", "Zm8="},         {"foo", "Zm9v"},
	{"foob", "Zm9vYg=="}, {"fooba", "Zm9vYmE="}, {"foobar", "Zm9vYmFy"},
};

START_TEST(b64_rfc_vectors)
{
	const char *plain = rfc4648[_i].plain;
	const char *coded = rfc4648[_i].coded;
	size_t n = strlen(plain);
	char enc[32];
	uint8_t dec[32];
	size_t outlen = 99;
	seg_error err;

	ck_assert_uint_eq(b64_encoded_len(n), strlen(coded));
	ck_assert_uint_eq(b64_encode((const uint8_t *)plain, n, enc), strlen(coded));
	ck_assert_str_eq(enc, coded);
	ck_assert_uint_ge(b64_decoded_max(strlen(coded)), n);
	ck_assert_int_eq(b64_decode(coded, strlen(coded), dec, &outlen, &err), SEG_OK);
	ck_assert_uint_eq(outlen, n);
	ck_assert(memcmp(dec, plain, n) == 0);
}
END_TEST

static const struct {
	const char *in;
	const char *out;
} b64_accepted[] = {
	{"Zg", "f"},
	{"Zm8", "fo"},
	{"Zm9vYg", "foob"},
	{"Zm9vYmE", "fooba"},
	{" Zm9v\nYmFy\r\n", "foobar"},
	{"Z m 9 v Y g = =", "foob"},
	{"Zg=\n=", "f"},
	{"\t\v\f\r\n ", ""},
	{"data:text/plain;base64,Zm9vYmFy", "foobar"},
	{"data:;base64,Zg==", "f"},
	{"data:image/png;charset=x;base64,\nZm9v\n", "foo"},
	{"data:;base64,", ""},
	{"Zm9vYmFyZm9vYmFyZm9vYmFy", "foobarfoobarfoobar"},
	{"Zm9vYmFyZm9v\nYmFyZm9vYmFy", "foobarfoobarfoobar"},
	{"Zm9vYmFyZm9vYmFyZm9vYmE=", "foobarfoobarfooba"},
	{"Zm9vYmFyZm9vYmFyZm9vYg", "foobarfoobarfoob"},
	{"++//", "\xfb\xef\xff"},
};

START_TEST(b64_accepts)
{
	const char *in = b64_accepted[_i].in;
	const char *want = b64_accepted[_i].out;
	uint8_t out[64];
	char copy[128];
	size_t outlen = 99;
	seg_error err;

	seg_error_clear(&err);
	ck_assert_uint_le(b64_decoded_max(strlen(in)), sizeof(out));
	ck_assert_msg(b64_decode(in, strlen(in), out, &outlen, &err) == SEG_OK, "%s: %s", in, err.msg);
	ck_assert_uint_eq(outlen, strlen(want));
	ck_assert(memcmp(out, want, outlen) == 0);

	/* The same in place. */
	strcpy(copy, in);
	ck_assert_int_eq(b64_decode(copy, strlen(copy), (uint8_t *)copy, &outlen, &err), SEG_OK);
	ck_assert_uint_eq(outlen, strlen(want));
	ck_assert(memcmp(copy, want, outlen) == 0);
}
END_TEST

static const struct {
	const char *in;
	size_t offset;
	size_t len; /* 0: strlen(in) */
} b64_rejected[] = {
	{"Z", 0, 0}, /* one dangling sextet */
	{"Zm9vY", 4, 0},
	{"Zm9v Y\n", 5, 0},
	{"Zg=", 2, 0}, /* half the padding */
	{"Zh==", 1, 0}, /* bits set that the padding drops */
	{"Zh", 1, 0},
	{"Zm9=", 2, 0},
	{"Zm9", 2, 0},
	{"Zm9v=", 4, 0}, /* '=' where a sextet belongs */
	{"=Zg", 0, 0},
	{"Z=g=", 1, 0},
	{"Zg==Zg==", 4, 0}, /* data after the padding */
	{"Zg===", 4, 0},
	{"Zg=x=", 3, 0},
	{"Zg== x", 5, 0},
	{"Zm9v!", 4, 0},
	{"Zm9v-_", 4, 0}, /* the URL-safe alphabet is not accepted */
	{"Zm9v\x80", 4, 0},
	{"Zm9v\0Zm9v", 4, 9},
	{"data:text/plain,Zm9v", 4, 0}, /* no ";base64," marker */
	{"data:image/png;base64,Zm9v*", 26, 0},
	{" data:;base64,Zg==", 5, 0}, /* the prefix must come first */
	{"Zm9vYmFyZm9vYmFyZm9vYmFy.", 24, 0},
	{"Zm9vYmFyZm9vYm.yZm9vYmFy", 14, 0},
};

START_TEST(b64_rejects)
{
	const char *in = b64_rejected[_i].in;
	size_t len = b64_rejected[_i].len != 0 ? b64_rejected[_i].len : strlen(in);
	uint8_t out[64];
	size_t outlen = 99;
	seg_error err;
	char want[64];

	seg_error_clear(&err);
	ck_assert_int_eq(b64_decode(in, len, out, &outlen, &err), SEG_EDECODE);
	ck_assert_uint_eq(outlen, 0);
	snprintf(want, sizeof(want), "invalid base64 at offset %zu", b64_rejected[_i].offset);
	ck_assert_str_eq(err.msg, want);
	ck_assert_int_eq(err.status, SEG_EDECODE);
}
END_TEST

/* An error deep in a long input is reported at its offset in the original input. */
START_TEST(b64_offset_in_long_input)
{
	size_t n = 1024;
	char *in = xmalloc(n + 8);
	uint8_t *out = xmalloc(b64_decoded_max(n + 8));
	size_t outlen;
	seg_error err;
	const char *prefix = "data:application/octet-stream;base64,";
	size_t plen = strlen(prefix);
	char *in2 = xmalloc(plen + n + 8);

	for (size_t k = 0; k < n; k++)
		in[k] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"[k % 64];
	memcpy(in + n, "!AAA", 4);
	ck_assert_int_eq(b64_decode(in, n + 4, out, &outlen, &err), SEG_EDECODE);
	ck_assert_str_eq(err.msg, "invalid base64 at offset 1024");

	memcpy(in2, prefix, plen);
	memcpy(in2 + plen, in, n + 4);
	in2[plen + 700] = '\n'; /* whitespace is fine, the '!' still is not */
	ck_assert_int_eq(b64_decode(in2, plen + n + 4, out, &outlen, &err), SEG_EDECODE);
	snprintf(in, n, "invalid base64 at offset %zu", plen + n);
	ck_assert_str_eq(err.msg, in);
	free(in);
	free(in2);
	free(out);
}
END_TEST

/* Random bytes at many lengths: encode, decode (plain, wrapped, in place) and compare. */
START_TEST(b64_round_trip)
{
	uint64_t rng = 7;

	for (size_t n = 0; n < 700; n += (n < 100 ? 1 : 37)) {
		uint8_t *raw = xmalloc(n);
		size_t elen = b64_encoded_len(n);
		char *enc = xmalloc(elen + 1);
		char *wrapped = xmalloc(2 * elen + 1);
		uint8_t *dec = xmalloc(b64_decoded_max(2 * elen + 1));
		size_t outlen;
		size_t m = 0;
		seg_error err;

		for (size_t k = 0; k < n; k++)
			raw[k] = (uint8_t)tu_rand(&rng);
		ck_assert_uint_eq(b64_encode(raw, n, enc), elen);
		ck_assert_uint_eq(strlen(enc), elen);
		ck_assert_uint_eq(elen % 4, 0);

		ck_assert_int_eq(b64_decode(enc, elen, dec, &outlen, &err), SEG_OK);
		ck_assert_uint_eq(outlen, n);
		ck_assert(memcmp(dec, raw, n) == 0);

		/* Unpadded. */
		{
			size_t un = elen;

			while (un > 0 && enc[un - 1] == '=')
				un--;
			ck_assert_int_eq(b64_decode(enc, un, dec, &outlen, &err), SEG_OK);
			ck_assert_uint_eq(outlen, n);
			ck_assert(memcmp(dec, raw, n) == 0);
		}

		/* Whitespace at random places (about one in ten characters). */
		for (size_t k = 0; k < elen; k++) {
			wrapped[m++] = enc[k];
			if (tu_rand(&rng) % 10 == 0)
				wrapped[m++] = " \n\r\t"[tu_rand(&rng) % 4];
		}
		ck_assert_int_eq(b64_decode(wrapped, m, dec, &outlen, &err), SEG_OK);
		ck_assert_uint_eq(outlen, n);
		ck_assert(memcmp(dec, raw, n) == 0);

		/* In place, with and without whitespace. */
		ck_assert_int_eq(b64_decode(wrapped, m, (uint8_t *)wrapped, &outlen, &err), SEG_OK);
		ck_assert_uint_eq(outlen, n);
		ck_assert(memcmp(wrapped, raw, n) == 0);
		ck_assert_int_eq(b64_decode(enc, elen, (uint8_t *)enc, &outlen, &err), SEG_OK);
		ck_assert_uint_eq(outlen, n);
		ck_assert(memcmp(enc, raw, n) == 0);

		free(raw);
		free(enc);
		free(wrapped);
		free(dec);
	}
}
END_TEST

START_TEST(b64_sizes)
{
	ck_assert_uint_eq(b64_decoded_max(0), 0);
	ck_assert_uint_eq(b64_decoded_max(1), 0);
	ck_assert_uint_eq(b64_decoded_max(2), 1);
	ck_assert_uint_eq(b64_decoded_max(3), 2);
	ck_assert_uint_eq(b64_decoded_max(4), 3);
	ck_assert_uint_eq(b64_decoded_max(SIZE_MAX), SIZE_MAX / 4 * 3 + 2);
	ck_assert_uint_eq(b64_encoded_len(0), 0);
	ck_assert_uint_eq(b64_encoded_len(1), 4);
	ck_assert_uint_eq(b64_encoded_len(3), 4);
	ck_assert_uint_eq(b64_encoded_len(4), 8);
	/* Saturates so that "+ 1" for the NUL cannot wrap around. */
	ck_assert_uint_eq(b64_encoded_len(SIZE_MAX) + 1, SIZE_MAX);
}
END_TEST

/* ==== PNG decoding ======================================================= */

static const struct {
	int color;
	int depth;
} png_formats[] = {
	{PNG_COLOR_TYPE_GRAY, 1},       {PNG_COLOR_TYPE_GRAY, 2},       {PNG_COLOR_TYPE_GRAY, 4},
	{PNG_COLOR_TYPE_GRAY, 8},       {PNG_COLOR_TYPE_GRAY, 16},      {PNG_COLOR_TYPE_GRAY_ALPHA, 8},
	{PNG_COLOR_TYPE_GRAY_ALPHA, 16}, {PNG_COLOR_TYPE_RGB, 8},       {PNG_COLOR_TYPE_RGB, 16},
	{PNG_COLOR_TYPE_RGB_ALPHA, 8},  {PNG_COLOR_TYPE_RGB_ALPHA, 16}, {PNG_COLOR_TYPE_PALETTE, 1},
	{PNG_COLOR_TYPE_PALETTE, 2},    {PNG_COLOR_TYPE_PALETTE, 4},    {PNG_COLOR_TYPE_PALETTE, 8},
};
#define N_PNG_FORMATS ((int)(sizeof(png_formats) / sizeof(png_formats[0])))

/* The label the contract gives pixel k of samples s (see pngio.h). */
static uint32_t expected_label(const uint16_t *s, size_t k, int color, int depth)
{
	int ch = tp_channels(color);
	const uint16_t *px = s + k * (size_t)ch;

	if (ch <= 2)
		return px[0];
	if (depth == 8)
		return (uint32_t)px[0] << 16 | (uint32_t)px[1] << 8 | px[2];
	{
		uint32_t v = (uint32_t)(px[0] >> 8) << 16 | (uint32_t)(px[1] >> 8) << 8 | (px[2] >> 8);

		if (v == 0 && (px[0] | px[1] | px[2]) != 0)
			v = 1;
		return v;
	}
}

/* Loop index: format (i / 4), interlaced (i % 2), size (i / 2 % 2: 13x7 or 1x1). */
START_TEST(png_target_every_format)
{
	int color = png_formats[_i / 4].color;
	int depth = png_formats[_i / 4].depth;
	int interlace = _i % 2;
	int w = (_i / 2) % 2 == 0 ? 13 : 1;
	int h = (_i / 2) % 2 == 0 ? 7 : 1;
	size_t npix = (size_t)w * (size_t)h;
	uint64_t rng = 1000 + (uint64_t)_i;
	uint16_t *s = random_samples(npix * (size_t)tp_channels(color), depth, &rng);
	struct png_spec spec = {w, h, color, depth, interlace, s, 0, -1, NULL};
	buf png;
	seg_target t;
	seg_error err;
	uint32_t first = 0;
	int many = 0;

	buf_init(&png, 0);
	tp_make_png(&spec, &png);
	seg_error_clear(&err);
	ck_assert_msg(pngio_decode_target(png.data, png.len, MAXPIX, &t, &err) == SEG_OK, "%s", err.msg);
	ck_assert_int_eq(t.width, w);
	ck_assert_int_eq(t.height, h);
	for (size_t k = 0; k < npix; k++) {
		uint32_t want = expected_label(s, k, color, depth);

		ck_assert_msg(t.fg[k] == (want != 0), "fg at pixel %zu", k);
		if (want != 0 && want != first) {
			if (first == 0)
				first = want;
			else
				many = 1;
		}
		if (t.labels != NULL)
			ck_assert_msg(t.labels[k] == want, "pixel %zu: label %u, want %u", k, t.labels[k], want);
	}
	ck_assert_int_eq(t.labels != NULL, many);
	seg_target_release(&t);
	buf_release(&png);
	free(s);
}
END_TEST

/* A two-valued mask (0 and one value) comes out without labels, whatever that value is. */
START_TEST(png_target_binary_has_no_labels)
{
	static const int depths[] = {1, 8, 16};

	for (size_t d = 0; d < 3; d++) {
		int depth = depths[d];
		uint16_t s[12 * 5];
		struct png_spec spec = {12, 5, PNG_COLOR_TYPE_GRAY, depth, 0, s, 0, -1, NULL};
		buf png;
		seg_target t;
		seg_error err;

		for (size_t k = 0; k < 60; k++)
			s[k] = k % 3 == 0 ? (uint16_t)((1u << depth) - 1) : 0;
		buf_init(&png, 0);
		tp_make_png(&spec, &png);
		ck_assert_int_eq(pngio_decode_target(png.data, png.len, MAXPIX, &t, &err), SEG_OK);
		ck_assert_ptr_null(t.labels);
		for (size_t k = 0; k < 60; k++)
			ck_assert_int_eq(t.fg[k], k % 3 == 0);
		seg_target_release(&t);
		buf_release(&png);
	}
}
END_TEST

/* A palette target: labels are indices, whatever the palette colours. */
START_TEST(png_target_palette_index)
{
	uint16_t s[4] = {0, 3, 2, 3};
	struct png_spec spec = {2, 2, PNG_COLOR_TYPE_PALETTE, 2, 0, s, 0, -1, NULL};
	buf png;
	seg_target t;
	seg_error err;

	buf_init(&png, 0);
	tp_make_png(&spec, &png);
	ck_assert_int_eq(pngio_decode_target(png.data, png.len, MAXPIX, &t, &err), SEG_OK);
	ck_assert_ptr_nonnull(t.labels);
	ck_assert_uint_eq(t.labels[0], 0);
	ck_assert_uint_eq(t.labels[1], 3);
	ck_assert_uint_eq(t.labels[2], 2);
	ck_assert_uint_eq(t.labels[3], 3);
	ck_assert_int_eq(t.fg[0], 0);
	ck_assert_int_eq(t.fg[1], 1);
	seg_target_release(&t);
	buf_release(&png);
}
END_TEST

/* Grey predictions at every depth: p = v / (2^depth - 1), computed in double. */
START_TEST(png_pred_scaling)
{
	static const struct {
		int color;
		int depth;
	} fmts[] = {
		{PNG_COLOR_TYPE_GRAY, 1}, {PNG_COLOR_TYPE_GRAY, 2}, {PNG_COLOR_TYPE_GRAY, 4},
		{PNG_COLOR_TYPE_GRAY, 8}, {PNG_COLOR_TYPE_GRAY, 16}, {PNG_COLOR_TYPE_GRAY_ALPHA, 8},
		{PNG_COLOR_TYPE_GRAY_ALPHA, 16},
	};
	int color = fmts[_i / 2].color;
	int depth = fmts[_i / 2].depth;
	int ch = tp_channels(color);
	int w = 9;
	int h = 11;
	size_t npix = (size_t)w * (size_t)h;
	uint64_t rng = 99 + (uint64_t)_i;
	uint16_t *s = random_samples(npix * (size_t)ch, depth, &rng);
	struct png_spec spec = {w, h, color, depth, _i % 2, s, 0, -1, NULL};
	double maxv = (double)((1u << depth) - 1);
	buf png;
	seg_pred p;
	seg_error err;

	s[0] = 0;
	s[(size_t)ch] = (uint16_t)maxv;
	buf_init(&png, 0);
	tp_make_png(&spec, &png);
	ck_assert_msg(pngio_decode_pred(png.data, png.len, MAXPIX, &p, &err) == SEG_OK, "%s", err.msg);
	ck_assert_int_eq(p.width, w);
	ck_assert_int_eq(p.height, h);
	ck_assert(p.p[0] == 0.0f);
	ck_assert(p.p[1] == 1.0f);
	for (size_t k = 0; k < npix; k++) {
		float want = (float)((double)s[k * (size_t)ch] / maxv);

		ck_assert_msg(p.p[k] == want, "pixel %zu: %.9g, want %.9g", k, p.p[k], want);
	}
	seg_pred_release(&p);
	buf_release(&png);
	free(s);
}
END_TEST

/* The fast path divides in float: the same value as the decoder's table for every level of 1-8 bits. */
START_TEST(png_level_division_exact)
{
	for (int depth = 1; depth <= 8; depth *= 2) {
		float scale[256];
		float fmax = (float)((1u << depth) - 1);

		pngfast_fill_scale(scale, depth);
		for (uint32_t k = 0; k < (1u << depth); k++)
			ck_assert_msg((float)k / fmax == scale[k], "depth %d level %u", depth, k);
	}
}
END_TEST

START_TEST(png_pred_16bit_exact)
{
	uint16_t s[4] = {0, 1, 32768, 65535};
	struct png_spec spec = {4, 1, PNG_COLOR_TYPE_GRAY, 16, 0, s, 0, -1, NULL};
	buf png;
	seg_pred p;
	seg_error err;

	buf_init(&png, 0);
	tp_make_png(&spec, &png);
	ck_assert_int_eq(pngio_decode_pred(png.data, png.len, MAXPIX, &p, &err), SEG_OK);
	ck_assert(p.p[0] == 0.0f);
	ck_assert(p.p[1] == (float)(1.0 / 65535.0));
	ck_assert(p.p[2] == (float)(32768.0 / 65535.0));
	ck_assert(p.p[3] == 1.0f);
	seg_pred_release(&p);
	buf_release(&png);
}
END_TEST

START_TEST(png_pred_rejects_colour)
{
	static const struct {
		int color;
		int depth;
		const char *msg;
	} cases[] = {
		{PNG_COLOR_TYPE_RGB, 8, "prediction must be greyscale, got an RGB PNG"},
		{PNG_COLOR_TYPE_RGB, 16, "prediction must be greyscale, got an RGB PNG"},
		{PNG_COLOR_TYPE_RGB_ALPHA, 8, "prediction must be greyscale, got an RGBA PNG"},
		{PNG_COLOR_TYPE_PALETTE, 8, "prediction must be greyscale, got a palette PNG"},
	};

	for (size_t c = 0; c < sizeof(cases) / sizeof(cases[0]); c++) {
		uint16_t s[2 * 2 * 4] = {0};
		struct png_spec spec = {2, 2, cases[c].color, cases[c].depth, 0, s, 0, -1, NULL};
		buf png;
		seg_pred p;
		seg_error err;

		buf_init(&png, 0);
		tp_make_png(&spec, &png);
		ck_assert_int_eq(pngio_decode_pred(png.data, png.len, MAXPIX, &p, &err), SEG_EINVAL);
		ck_assert_str_eq(err.msg, cases[c].msg);
		ck_assert_ptr_null(p.p);
		ck_assert_int_eq(mask_decode_pred(png.data, png.len, MAXPIX, 0, &p, &err), SEG_EINVAL);
		ck_assert_str_eq(err.msg, cases[c].msg);
		buf_release(&png);
	}
}
END_TEST

/* Every proper prefix of a PNG fails cleanly, as target and as prediction. */
START_TEST(png_truncated_everywhere)
{
	buf png;

	buf_init(&png, 0);
	small_gray_png(&png, 7, 5, _i);
	for (size_t len = 0; len < png.len; len++) {
		uint8_t *copy = xmalloc(len); /* exact size, so ASan sees any over-read */
		seg_target t;
		seg_pred p;
		seg_error err;

		memcpy(copy, png.data, len);
		ck_assert_int_eq(pngio_decode_target(copy, len, MAXPIX, &t, &err), SEG_EDECODE);
		ck_assert_msg(strcmp(err.msg, "png: truncated file") == 0, "at %zu: %s", len, err.msg);
		ck_assert_ptr_null(t.fg);
		ck_assert_int_eq(pngio_decode_pred(copy, len, MAXPIX, &p, &err), SEG_EDECODE);
		ck_assert_ptr_null(p.p);
		ck_assert_int_ne(mask_decode_target(copy, len, MAXPIX, &t, &err), SEG_OK);
		free(copy);
	}
	buf_release(&png);
}
END_TEST

/* Flipped bits anywhere: a CRC, signature or structure error, never a crash. */
START_TEST(png_bit_flips)
{
	static const uint8_t masks[] = {0x01, 0x10, 0x80, 0xff};
	buf png;

	buf_init(&png, 0);
	small_gray_png(&png, 6, 4, _i);
	for (size_t pos = 0; pos < png.len; pos++) {
		for (size_t m = 0; m < sizeof(masks); m++) {
			uint8_t *copy = xmalloc(png.len);
			seg_target t;
			seg_pred p;
			seg_error err;
			seg_status st;

			memcpy(copy, png.data, png.len);
			copy[pos] ^= masks[m];
			st = pngio_decode_target(copy, png.len, MAXPIX, &t, &err);
			ck_assert_msg(st != SEG_OK, "flip %02x at %zu decoded", masks[m], pos);
			ck_assert_ptr_null(t.fg);
			ck_assert_ptr_null(t.labels);
			st = pngio_decode_pred(copy, png.len, MAXPIX, &p, &err);
			ck_assert(st != SEG_OK);
			ck_assert_ptr_null(p.p);

			/* With CRCs repaired the damage reaches the header and zlib. */
			fix_crcs(copy, png.len);
			st = pngio_decode_target(copy, png.len, MAXPIX, &t, &err);
			if (st == SEG_OK) {
				ck_assert(t.width > 0 && t.height > 0);
				ck_assert_ptr_nonnull(t.fg);
			}
			seg_target_release(&t);
			st = pngio_decode_pred(copy, png.len, MAXPIX, &p, &err);
			if (st == SEG_OK) {
				for (size_t k = 0; k < (size_t)p.width * (size_t)p.height; k++)
					ck_assert(p.p[k] >= 0.0f && p.p[k] <= 1.0f);
			}
			seg_pred_release(&p);
			free(copy);
		}
	}
	buf_release(&png);
}
END_TEST

START_TEST(png_crc_error_message)
{
	buf png;
	seg_target t;
	seg_error err;
	size_t idat;

	buf_init(&png, 0);
	small_gray_png(&png, 6, 4, 0);
	idat = 8 + 25; /* signature, IHDR */
	ck_assert(memcmp(png.data + idat + 4, "IDAT", 4) == 0);
	png.data[idat + 8 + 2] ^= 0x40;
	ck_assert_int_eq(pngio_decode_target(png.data, png.len, MAXPIX, &t, &err), SEG_EDECODE);
	ck_assert_str_eq(err.msg, "png: CRC error in IDAT");
	ck_assert_int_eq(mask_decode_target(png.data, png.len, MAXPIX, &t, &err), SEG_EDECODE);
	ck_assert_str_eq(err.msg, "target: png: CRC error in IDAT");
	buf_release(&png);
}
END_TEST

START_TEST(png_bad_signature)
{
	static const uint8_t junk[] = "GIF89a.........";
	static const uint8_t short_sig[] = {0x89, 'P', 'N'};
	seg_target t;
	seg_error err;

	ck_assert_int_eq(pngio_decode_target(junk, sizeof(junk), MAXPIX, &t, &err), SEG_EDECODE);
	ck_assert_str_eq(err.msg, "png: not a PNG file (bad signature)");
	ck_assert_int_eq(pngio_decode_target(short_sig, sizeof(short_sig), MAXPIX, &t, &err), SEG_EDECODE);
	ck_assert_str_eq(err.msg, "png: truncated file");
	ck_assert(!pngio_is_png(short_sig, sizeof(short_sig)));
	ck_assert(pngio_is_png(png_sig, 8));
}
END_TEST

/* A header promising 100000x100000 is refused from the IHDR, before any pixel memory. */
START_TEST(png_huge_dimensions)
{
	static const uint8_t idat[] = {0x78, 0x01, 0x01, 0x00, 0x00, 0xff, 0xff, 0, 0, 0, 1};
	buf png;
	seg_target t;
	seg_pred p;
	seg_error err;

	buf_init(&png, 0);
	append(&png, png_sig, 8);
	put_ihdr(&png, 100000, 100000, 8, PNG_COLOR_TYPE_GRAY, 0);
	put_chunk(&png, "IDAT", idat, sizeof(idat));
	put_chunk(&png, "IEND", NULL, 0);
	ck_assert_int_eq(pngio_decode_target(png.data, png.len, MAXPIX, &t, &err), SEG_ETOOBIG);
	ck_assert_str_eq(err.msg,
			 "png: image is 100000x100000 (10000000000 pixels), over the limit of 67108864");
	ck_assert_int_eq(pngio_decode_pred(png.data, png.len, MAXPIX, &p, &err), SEG_ETOOBIG);
	ck_assert_int_eq(mask_decode_target(png.data, png.len, MAXPIX, &t, &err), SEG_ETOOBIG);
	ck_assert_str_eq(err.msg,
			 "target: png: image is 100000x100000 (10000000000 pixels), over the limit of 67108864");
	/* Even without a pixel cap, a side over SEG_MAX_SIDE is refused. */
	buf_release(&png);
	buf_init(&png, 0);
	append(&png, png_sig, 8);
	put_ihdr(&png, 0x7fffffff, 1, 16, PNG_COLOR_TYPE_RGB_ALPHA, 1);
	put_chunk(&png, "IDAT", idat, sizeof(idat));
	put_chunk(&png, "IEND", NULL, 0);
	ck_assert_int_eq(pngio_decode_target(png.data, png.len, UINT64_MAX, &t, &err), SEG_ETOOBIG);
	ck_assert_ptr_null(t.fg);
	buf_release(&png);
	/* A small cap. */
	buf_init(&png, 0);
	small_gray_png(&png, 6, 4, 0);
	ck_assert_int_eq(pngio_decode_target(png.data, png.len, 23, &t, &err), SEG_ETOOBIG);
	ck_assert_str_eq(err.msg, "png: image is 6x4 (24 pixels), over the limit of 23");
	ck_assert_int_eq(pngio_decode_target(png.data, png.len, 24, &t, &err), SEG_OK);
	seg_target_release(&t);
	buf_release(&png);
}
END_TEST

START_TEST(png_zero_size_and_bad_ihdr)
{
	static const uint8_t idat[] = {0x78, 0x01, 0x01, 0x00, 0x00, 0xff, 0xff, 0, 0, 0, 1};
	static const struct {
		uint32_t w, h;
		int depth, color;
	} bad[] = {
		{0, 4, 8, 0}, {4, 0, 8, 0}, {0, 0, 8, 0}, {4, 4, 3, 0}, {4, 4, 8, 1}, {4, 4, 16, 3}, {4, 4, 4, 2},
	};

	for (size_t c = 0; c < sizeof(bad) / sizeof(bad[0]); c++) {
		buf png;
		seg_target t;
		seg_error err;

		buf_init(&png, 0);
		append(&png, png_sig, 8);
		put_ihdr(&png, bad[c].w, bad[c].h, bad[c].depth, bad[c].color, 0);
		put_chunk(&png, "IDAT", idat, sizeof(idat));
		put_chunk(&png, "IEND", NULL, 0);
		ck_assert_int_eq(pngio_decode_target(png.data, png.len, MAXPIX, &t, &err), SEG_EDECODE);
		ck_assert_msg(strncmp(err.msg, "png: ", 5) == 0, "%s", err.msg);
		ck_assert_ptr_null(t.fg);
		buf_release(&png);
	}
}
END_TEST

/* Bits of a fixed-Huffman deflate stream, LSB first. */
struct bitw {
	buf *b;
	uint32_t acc;
	int n;
};

static void bits_put(struct bitw *w, uint32_t v, int n)
{
	for (int k = 0; k < n; k++) {
		w->acc |= ((v >> k) & 1u) << w->n;
		if (++w->n == 8) {
			uint8_t byte = (uint8_t)w->acc;

			append(w->b, &byte, 1);
			w->acc = 0;
			w->n = 0;
		}
	}
}

/* Huffman codes go most significant bit first. */
static void bits_code(struct bitw *w, uint32_t code, int n)
{
	for (int k = n - 1; k >= 0; k--)
		bits_put(w, (code >> k) & 1u, 1);
}

/*
 * A PNG of w x h 8-bit grey (interlaced or not) whose IDAT inflates to
 * `copies` * 258 + 1 zero bytes: a zlib stream of one literal 0 and then
 * <length 258, distance 1> repeated, 13 bits for every 258 bytes.
 */
static void make_zlib_bomb(buf *png, uint32_t w, uint32_t h, int interlace, size_t copies)
{
	buf z;
	struct bitw bw;
	uint64_t total = (uint64_t)copies * 258 + 1;
	uint32_t adler = (uint32_t)(total % 65521) << 16 | 1; /* of all zeros */
	uint8_t tail[4];

	buf_init(&z, 0);
	bw.b = &z;
	bw.acc = 0;
	bw.n = 0;
	append(&z, "\x78\x01", 2);
	bits_put(&bw, 1, 1);           /* BFINAL */
	bits_put(&bw, 1, 2);           /* BTYPE 01: fixed Huffman */
	bits_code(&bw, 0x30, 8);       /* literal 0 */
	for (size_t k = 0; k < copies; k++) {
		bits_code(&bw, 0xC5, 8); /* length symbol 285: 258 */
		bits_code(&bw, 0, 5);    /* distance code 0: 1 */
	}
	bits_code(&bw, 0, 7);          /* end of block */
	if (bw.n > 0)
		bits_put(&bw, 0, 8 - bw.n);
	put_be32(tail, adler);
	append(&z, tail, 4);

	append(png, png_sig, 8);
	put_ihdr(png, w, h, 8, PNG_COLOR_TYPE_GRAY, interlace);
	for (size_t off = 0; off < z.len; off += 1u << 20) {
		size_t n = z.len - off < (1u << 20) ? z.len - off : (1u << 20);

		put_chunk(png, "IDAT", z.data + off, n);
	}
	put_chunk(png, "IEND", NULL, 0);
	buf_release(&z);
}

/*
 * An IDAT that inflates to 1 GB for a 16x16 image: the rows the header
 * promises are read, the rest is never inflated, memory stays small.
 */
START_TEST(png_zlib_bomb)
{
	buf png;
	seg_target t;
	seg_pred p;
	seg_error err;
	seg_status st;

	/* How long this takes is measured by make bench (png bomb), not asserted here. */
	buf_init(&png, 0);
	make_zlib_bomb(&png, 16, 16, _i, (size_t)4 << 20); /* 4M copies: 1 GiB of zeros */
	st = pngio_decode_target(png.data, png.len, MAXPIX, &t, &err);
	ck_assert_msg(st == SEG_OK, "%s", err.msg);
	ck_assert_int_eq(t.width, 16);
	for (size_t k = 0; k < 256; k++)
		ck_assert_int_eq(t.fg[k], 0);
	seg_target_release(&t);
	ck_assert_int_eq(pngio_decode_pred(png.data, png.len, MAXPIX, &p, &err), SEG_OK);
	seg_pred_release(&p);
	buf_release(&png);

	/* The same stream under a larger image: all rows read, still bounded. */
	buf_init(&png, 0);
	make_zlib_bomb(&png, 1000, 1000, _i, 40000); /* 10 MB of zeros for a 1 MB image */
	ck_assert_int_eq(pngio_decode_target(png.data, png.len, MAXPIX, &t, &err), SEG_OK);
	seg_target_release(&t);
	buf_release(&png);
}
END_TEST

/* Chunks we skip (text, compressed text, unknown) and tRNS do not change the result. */
START_TEST(png_ancillary_chunks_ignored)
{
	buf ref;
	buf png;
	seg_target a;
	seg_target b;
	seg_error err;
	static const uint8_t text[] = "Comment\0hello";
	static const uint8_t trns[] = {0, 7};
	size_t ihdr_end = 8 + 25;

	buf_init(&ref, 0);
	small_gray_png(&ref, 6, 4, 0);
	buf_init(&png, 0);
	append(&png, ref.data, ihdr_end);
	put_chunk(&png, "tEXt", text, sizeof(text) - 1);
	put_chunk(&png, "tRNS", trns, sizeof(trns));
	put_chunk(&png, "prVt", text, 4);
	append(&png, ref.data + ihdr_end, ref.len - ihdr_end);
	ck_assert_int_eq(pngio_decode_target(ref.data, ref.len, MAXPIX, &a, &err), SEG_OK);
	ck_assert_msg(pngio_decode_target(png.data, png.len, MAXPIX, &b, &err) == SEG_OK, "%s", err.msg);
	ck_assert(memcmp(a.fg, b.fg, 24) == 0);
	ck_assert(memcmp(a.labels, b.labels, 24 * sizeof(uint32_t)) == 0);
	seg_target_release(&a);
	seg_target_release(&b);

	/* An unknown critical chunk is an error. */
	buf_release(&png);
	buf_init(&png, 0);
	append(&png, ref.data, ihdr_end);
	put_chunk(&png, "CRIT", text, 4);
	append(&png, ref.data + ihdr_end, ref.len - ihdr_end);
	ck_assert_int_eq(pngio_decode_target(png.data, png.len, MAXPIX, &b, &err), SEG_EDECODE);
	buf_release(&png);
	buf_release(&ref);
}
END_TEST

/* Random mutations of valid PNGs (CRCs repaired) through the mask layer. */
START_TEST(png_mutations)
{
	uint64_t rng = 2024;
	buf base[3];

	buf_init(&base[0], 0);
	buf_init(&base[1], 0);
	buf_init(&base[2], 0);
	small_gray_png(&base[0], 9, 6, 0);
	small_gray_png(&base[1], 9, 6, 1);
	{
		uint16_t *s = random_samples(5 * 4 * 3, 16, &rng);
		struct png_spec spec = {5, 4, PNG_COLOR_TYPE_RGB, 16, 1, s, 0, -1, NULL};

		tp_make_png(&spec, &base[2]);
		free(s);
	}
	for (int iter = 0; iter < 3000; iter++) {
		const buf *src = &base[iter % 3];
		uint8_t *copy = xmalloc(src->len);
		int flips = 1 + (int)(tu_rand(&rng) % 4);
		seg_target t;
		seg_pred p;
		seg_error err;

		memcpy(copy, src->data, src->len);
		for (int f = 0; f < flips; f++) {
			size_t pos = 8 + tu_rand(&rng) % (src->len - 8);

			copy[pos] = (uint8_t)tu_rand(&rng);
		}
		fix_crcs(copy, src->len);
		if (mask_decode_target(copy, src->len, 4096, &t, &err) == SEG_OK)
			ck_assert((uint64_t)t.width * (uint64_t)t.height <= 4096);
		seg_target_release(&t);
		if (mask_decode_pred(copy, src->len, 4096, 0, &p, &err) == SEG_OK)
			ck_assert((uint64_t)p.width * (uint64_t)p.height <= 4096);
		seg_pred_release(&p);
		free(copy);
	}
	buf_release(&base[0]);
	buf_release(&base[1]);
	buf_release(&base[2]);
}
END_TEST

/* ==== PNG: the fast path against libpng ================================== */

/*
 * Every decode below runs three ways: libpng only, the fast path only
 * (pngio_internal.h), and the public function. The public result must be
 * libpng's in every case (status, message, and every byte of fg, labels
 * and p); the fast path either gives those same bytes or declines with
 * SEG_EUNSUPPORTED. PNGs for the fast path are written here with zlib and
 * our own row filters, so every filter type, colour type, bit depth and
 * chunk layout is forced rather than left to libpng's choices.
 */

static void same_target(const seg_target *a, const seg_target *b, const char *what)
{
	size_t n = (size_t)a->width * (size_t)a->height;

	REQUIRE(a->width == b->width && a->height == b->height);
	if (memcmp(a->fg, b->fg, n) != 0)
		ck_abort_msg("%s: fg differs", what);
	if ((a->labels == NULL) != (b->labels == NULL))
		ck_abort_msg("%s: labels %s on one path only", what, a->labels != NULL ? "set" : "NULL");
	if (a->labels != NULL && memcmp(a->labels, b->labels, n * sizeof(uint32_t)) != 0)
		ck_abort_msg("%s: labels differ", what);
}

static void same_pred(const seg_pred *a, const seg_pred *b, const char *what)
{
	REQUIRE(a->width == b->width && a->height == b->height);
	if (memcmp(a->p, b->p, (size_t)a->width * (size_t)a->height * sizeof(float)) != 0)
		ck_abort_msg("%s: p differs", what);
}

/* How compare_paths expects the fast path to treat a file. */
enum fast_expect { FAST_ANY, FAST_TAKES, FAST_DECLINES };

/*
 * Decodes png both ways in both roles and checks the contract above;
 * what names the input in failure messages. Returns how many of the two
 * roles the fast path took.
 */
static int compare_paths(const uint8_t *png, size_t len, uint64_t max_pixels, enum fast_expect expect,
			 const char *what)
{
	int taken = 0;
	seg_target tl, tf, ta;
	seg_pred pl, pf, pa;
	seg_error el, ef, ea;
	seg_status sl, sf, sa;

	seg_error_clear(&el);
	seg_error_clear(&ef);
	seg_error_clear(&ea);
	sl = pngio_decode_target_path(png, len, max_pixels, PNGIO_PATH_LIBPNG, &tl, &el);
	sf = pngio_decode_target_path(png, len, max_pixels, PNGIO_PATH_FAST, &tf, &ef);
	sa = pngio_decode_target_path(png, len, max_pixels, PNGIO_PATH_AUTO, &ta, &ea);
	if (sa != sl || (sl != SEG_OK && strcmp(ea.msg, el.msg) != 0))
		ck_abort_msg("%s: target: public path gave %d \"%s\", libpng %d \"%s\"", what, sa, ea.msg, sl,
			     el.msg);
	if (sl == SEG_OK)
		same_target(&ta, &tl, what);
	if (sf == SEG_OK) {
		if (sl != SEG_OK)
			ck_abort_msg("%s: target: fast path decoded what libpng refuses: %s", what, el.msg);
		same_target(&tf, &tl, what);
		taken++;
	} else if (sf != SEG_EUNSUPPORTED) {
		/* The chunk walk both paths share refused it. */
		if (sf != sl || strcmp(ef.msg, el.msg) != 0)
			ck_abort_msg("%s: target: fast path gave %d \"%s\", libpng %d \"%s\"", what, sf, ef.msg, sl,
				     el.msg);
	}
	if (expect == FAST_TAKES && sf != SEG_OK)
		ck_abort_msg("%s: target: fast path declined: %s", what, ef.msg);
	if (expect == FAST_DECLINES && sf != SEG_EUNSUPPORTED)
		ck_abort_msg("%s: target: fast path did not decline (%d, %s)", what, sf, ef.msg);
	seg_target_release(&tl);
	seg_target_release(&tf);
	seg_target_release(&ta);

	seg_error_clear(&el);
	seg_error_clear(&ef);
	seg_error_clear(&ea);
	sl = pngio_decode_pred_path(png, len, max_pixels, PNGIO_PATH_LIBPNG, &pl, &el);
	sf = pngio_decode_pred_path(png, len, max_pixels, PNGIO_PATH_FAST, &pf, &ef);
	sa = pngio_decode_pred_path(png, len, max_pixels, PNGIO_PATH_AUTO, &pa, &ea);
	if (sa != sl || (sl != SEG_OK && strcmp(ea.msg, el.msg) != 0))
		ck_abort_msg("%s: prediction: public path gave %d \"%s\", libpng %d \"%s\"", what, sa, ea.msg,
			     sl, el.msg);
	if (sl == SEG_OK)
		same_pred(&pa, &pl, what);
	if (sf == SEG_OK) {
		if (sl != SEG_OK)
			ck_abort_msg("%s: prediction: fast path decoded what libpng refuses: %s", what, el.msg);
		same_pred(&pf, &pl, what);
		taken++;
	} else if (sf != SEG_EUNSUPPORTED) {
		if (sf != sl || strcmp(ef.msg, el.msg) != 0)
			ck_abort_msg("%s: prediction: fast path gave %d \"%s\", libpng %d \"%s\"", what, sf, ef.msg,
				     sl, el.msg);
	}
	if (expect == FAST_DECLINES && sf != SEG_EUNSUPPORTED)
		ck_abort_msg("%s: prediction: fast path did not decline (%d, %s)", what, sf, ef.msg);
	seg_pred_release(&pl);
	seg_pred_release(&pf);
	seg_pred_release(&pa);
	return taken;
}

/* The status and message the fast path gives for png as a target (err written). */
static seg_status fast_target_status(const uint8_t *png, size_t len, seg_error *err)
{
	seg_target t;
	seg_status st;

	seg_error_clear(err);
	st = pngio_decode_target_path(png, len, MAXPIX, PNGIO_PATH_FAST, &t, err);
	seg_target_release(&t);
	return st;
}

/* Every PNG under tests/fixtures/ (the suites run from the project root). */
START_TEST(png_fast_fixtures)
{
	const char *root = "tests/fixtures";
	DIR *dir = opendir(root);
	struct dirent *e;
	int files = 0;
	int taken = 0;

	ck_assert_msg(dir != NULL, "cannot open %s", root);
	while ((e = readdir(dir)) != NULL) {
		static const char *names[] = {"target.png", "prediction.png"};

		if (e->d_name[0] == '.')
			continue;
		for (size_t k = 0; k < 2; k++) {
			char path[512];
			FILE *fp;
			buf png;
			uint8_t chunk[4096];
			size_t n;

			snprintf(path, sizeof(path), "%s/%s/%s", root, e->d_name, names[k]);
			fp = fopen(path, "rb");
			if (fp == NULL)
				continue;
			buf_init(&png, 0);
			while ((n = fread(chunk, 1, sizeof(chunk), fp)) > 0)
				append(&png, chunk, n);
			fclose(fp);
			taken += compare_paths(png.data, png.len, MAXPIX, FAST_ANY, path);
			files++;
			buf_release(&png);
		}
	}
	closedir(dir);
	ck_assert_int_ge(files, 30);
	/* Interlaced, RGB and RGBA files go to libpng, palette predictions are refused: most of the rest is fast. */
	ck_assert_int_ge(taken, 2 * files - 12);
}
END_TEST

/* The Paeth predictor as the PNG spec writes it. */
static int spec_paeth(int a, int b, int c)
{
	int p = a + b - c;
	int pa = abs(p - a);
	int pb = abs(p - b);
	int pc = abs(p - c);

	if (pa <= pb && pa <= pc)
		return a;
	if (pb <= pc)
		return b;
	return c;
}

/* Filters row x (rowbytes bytes, prev the unfiltered row above or NULL) with filter type ft into out[0..rowbytes]. */
static void filter_row(const uint8_t *x, const uint8_t *prev, size_t rowbytes, size_t bpp, int ft, uint8_t *out)
{
	out[0] = (uint8_t)ft;
	for (size_t i = 0; i < rowbytes; i++) {
		int a = i >= bpp ? x[i - bpp] : 0;
		int b = prev != NULL ? prev[i] : 0;
		int c = prev != NULL && i >= bpp ? prev[i - bpp] : 0;
		int pred = 0;

		switch (ft) {
		case 1:
			pred = a;
			break;
		case 2:
			pred = b;
			break;
		case 3:
			pred = (a + b) / 2;
			break;
		case 4:
			pred = spec_paeth(a, b, c);
			break;
		default:
			break;
		}
		out[1 + i] = (uint8_t)(x[i] - pred);
	}
}

/* How write_png lays out a file. */
struct png_layout {
	int filter;       /* 0-4: every row, 5: a random type per row, 6: row y gets y % 5 */
	int level;        /* zlib level 0-9 */
	int strategy;     /* Z_DEFAULT_STRATEGY, Z_FILTERED, Z_HUFFMAN_ONLY, Z_RLE, Z_FIXED */
	int window_bits;  /* 9..15 */
	size_t idat_max;  /* largest IDAT chunk (0: one chunk) */
	int extras;       /* tRNS, tEXt and an unknown chunk before IDAT, tEXt after */
	int bad_filter_row; /* >= 0: write filter type 5 on that row */
	size_t extra_bytes; /* bytes appended to the zlib stream, after its end */
	size_t cut_bytes;   /* bytes cut off the end of the zlib stream */
};

/* zlib-compresses n bytes with the layout's level, strategy and window into z. */
static void deflate_into(const uint8_t *raw, size_t n, const struct png_layout *lay, buf *z)
{
	z_stream s;
	uint8_t out[65536];
	int rc;

	memset(&s, 0, sizeof(s));
	REQUIRE(deflateInit2(&s, lay->level, Z_DEFLATED, lay->window_bits, 8, lay->strategy) == Z_OK);
	s.next_in = (Bytef *)(uintptr_t)raw;
	s.avail_in = (uInt)n;
	do {
		s.next_out = out;
		s.avail_out = sizeof(out);
		rc = deflate(&s, Z_FINISH);
		REQUIRE(rc == Z_OK || rc == Z_STREAM_END || rc == Z_BUF_ERROR);
		append(z, out, sizeof(out) - s.avail_out);
	} while (rc != Z_STREAM_END);
	deflateEnd(&s);
}

/*
 * Writes a non-interlaced PNG of w x h whose unfiltered rows are rows
 * (h * rowbytes bytes, rowbytes as the format needs), laid out as lay says.
 */
static void write_png(buf *out, int w, int h, int color, int depth, const uint8_t *rows,
		      const struct png_layout *lay, uint64_t *rng)
{
	size_t ch = (size_t)tp_channels(color);
	size_t rowbytes = ((size_t)w * ch * (size_t)depth + 7) / 8;
	size_t bpp = ch * (size_t)depth / 8 > 0 ? ch * (size_t)depth / 8 : 1;
	uint8_t *raw = xmalloc((size_t)h * (rowbytes + 1));
	buf z;

	for (int y = 0; y < h; y++) {
		int ft = lay->filter <= 4 ? lay->filter : lay->filter == 5 ? (int)(tu_rand(rng) % 5) : y % 5;

		filter_row(rows + (size_t)y * rowbytes, y > 0 ? rows + (size_t)(y - 1) * rowbytes : NULL, rowbytes,
			   bpp, ft, raw + (size_t)y * (rowbytes + 1));
		if (y == lay->bad_filter_row)
			raw[(size_t)y * (rowbytes + 1)] = 5;
	}
	buf_init(&z, 0);
	deflate_into(raw, (size_t)h * (rowbytes + 1), lay, &z);
	for (size_t k = 0; k < lay->extra_bytes; k++) {
		uint8_t junk = (uint8_t)(k * 37 + 1);

		append(&z, &junk, 1);
	}
	REQUIRE(lay->cut_bytes < z.len);
	z.len -= lay->cut_bytes;

	append(out, png_sig, 8);
	put_ihdr(out, (uint32_t)w, (uint32_t)h, depth, color, 0);
	if (lay->extras) {
		static const uint8_t text[] = "Comment\0fast path";
		static const uint8_t trns_grey[2] = {0, 1};

		if (color == PNG_COLOR_TYPE_GRAY)
			put_chunk(out, "tRNS", trns_grey, 2);
		put_chunk(out, "tEXt", text, sizeof(text) - 1);
		put_chunk(out, "prVt", text, 7);
	}
	if (color == PNG_COLOR_TYPE_PALETTE) {
		uint8_t plte[3 * 256];
		size_t entries = (size_t)1 << depth;

		for (size_t k = 0; k < 3 * entries; k++)
			plte[k] = (uint8_t)(k * 11);
		put_chunk(out, "PLTE", plte, 3 * entries);
		if (lay->extras) {
			static const uint8_t trns[3] = {0, 128, 255};

			put_chunk(out, "tRNS", trns, entries < 3 ? entries : 3);
		}
	}
	if (lay->idat_max == 0) {
		put_chunk(out, "IDAT", z.data, z.len);
	} else {
		for (size_t off = 0; off < z.len; off += lay->idat_max)
			put_chunk(out, "IDAT", z.data + off, z.len - off < lay->idat_max ? z.len - off : lay->idat_max);
	}
	if (lay->extras) {
		static const uint8_t text[] = "Title\0after the image";

		put_chunk(out, "tEXt", text, sizeof(text) - 1);
	}
	put_chunk(out, "IEND", NULL, 0);
	buf_release(&z);
	free(raw);
}

/* Random unfiltered rows for a format; kind 0: random samples, 1: two values (0 and the maximum), 2: all zero, 3: smooth. */
static uint8_t *random_rows(int w, int h, int color, int depth, int kind, uint64_t *rng)
{
	size_t ch = (size_t)tp_channels(color);
	size_t rowbytes = ((size_t)w * ch * (size_t)depth + 7) / 8;
	size_t n = (size_t)w * ch;
	uint8_t *rows = xmalloc((size_t)h * rowbytes);
	uint32_t maxv = depth == 16 ? 65535u : (1u << depth) - 1;
	uint16_t *s = xmalloc(n * sizeof(uint16_t));
	struct png_spec spec = {w, 1, color, depth, 0, s, 0, -1, NULL};

	for (int y = 0; y < h; y++) {
		for (size_t k = 0; k < n; k++) {
			uint32_t v;

			switch (kind) {
			case 1:
				v = (tu_rand(rng) % 3 == 0) ? maxv : 0;
				break;
			case 2:
				v = 0;
				break;
			case 3:
				v = (uint32_t)(((k / ch) * 7 + (size_t)y * 3) % (maxv + 1));
				break;
			default:
				v = (uint32_t)(tu_rand(rng) % (maxv + 1));
				if (tu_rand(rng) % 4 == 0)
					v = 0;
				break;
			}
			s[k] = (uint16_t)v;
		}
		tp_pack_row(&spec, 0, rows + (size_t)y * rowbytes, rowbytes);
	}
	free(s);
	return rows;
}

static const struct {
	int color;
	int depth;
} fast_formats[] = {
	{PNG_COLOR_TYPE_GRAY, 1},       {PNG_COLOR_TYPE_GRAY, 2},        {PNG_COLOR_TYPE_GRAY, 4},
	{PNG_COLOR_TYPE_GRAY, 8},       {PNG_COLOR_TYPE_GRAY, 16},       {PNG_COLOR_TYPE_GRAY_ALPHA, 8},
	{PNG_COLOR_TYPE_GRAY_ALPHA, 16}, {PNG_COLOR_TYPE_PALETTE, 1},    {PNG_COLOR_TYPE_PALETTE, 2},
	{PNG_COLOR_TYPE_PALETTE, 4},    {PNG_COLOR_TYPE_PALETTE, 8},
};
#define N_FAST_FORMATS ((int)(sizeof(fast_formats) / sizeof(fast_formats[0])))

/*
 * Loop index: the format. Every filter type on every row (and mixed), odd
 * widths, all content kinds, several zlib settings and IDAT splits: the
 * fast path takes every file and gives libpng's bytes.
 */
START_TEST(png_fast_every_format_and_filter)
{
	static const int widths[] = {1, 3, 7, 8, 9, 33, 100};
	static const int heights[] = {1, 2, 17};
	int color = fast_formats[_i].color;
	int depth = fast_formats[_i].depth;
	uint64_t rng = 500 + (uint64_t)_i;
	int cases = 0;

	for (size_t wi = 0; wi < sizeof(widths) / sizeof(widths[0]); wi++) {
		for (size_t hi = 0; hi < sizeof(heights) / sizeof(heights[0]); hi++) {
			for (int filter = 0; filter <= 6; filter++) {
				int w = widths[wi];
				int h = heights[hi];
				int kind = (int)((wi + hi + (size_t)filter) % 4);
				uint8_t *rows = random_rows(w, h, color, depth, kind, &rng);
				struct png_layout lay = {filter, (int)(tu_rand(&rng) % 10), Z_DEFAULT_STRATEGY, 15, 0, 0,
							 -1, 0, 0};
				char what[128];
				buf png;

				if (filter % 3 == 1)
					lay.idat_max = 1 + tu_rand(&rng) % 40;
				lay.extras = filter % 2;
				lay.strategy = (int[]){Z_DEFAULT_STRATEGY, Z_FILTERED, Z_HUFFMAN_ONLY, Z_RLE,
						       Z_FIXED}[tu_rand(&rng) % 5];
				buf_init(&png, 0);
				write_png(&png, w, h, color, depth, rows, &lay, &rng);
				snprintf(what, sizeof(what), "colour %d depth %d %dx%d filter %d kind %d", color,
					 depth, w, h, filter, kind);
				compare_paths(png.data, png.len, MAXPIX, FAST_TAKES, what);
				cases++;
				buf_release(&png);
				free(rows);
			}
		}
	}
	ck_assert_int_eq(cases, 7 * 3 * 7);
}
END_TEST

/* Larger images: 1024x1024 8-bit with random filters, a wide strip, a tall one, 16-bit with alpha. */
START_TEST(png_fast_large)
{
	static const struct {
		int w, h, color, depth, filter, kind;
	} cases[] = {
		{1024, 1024, PNG_COLOR_TYPE_GRAY, 8, 5, 0},
		{1024, 1024, PNG_COLOR_TYPE_GRAY, 8, 0, 1},
		{1023, 517, PNG_COLOR_TYPE_GRAY, 1, 6, 1},
		{4099, 3, PNG_COLOR_TYPE_GRAY_ALPHA, 16, 4, 0},
		{5, 4001, PNG_COLOR_TYPE_PALETTE, 4, 5, 0},
		{777, 333, PNG_COLOR_TYPE_GRAY, 16, 3, 3},
	};
	uint64_t rng = 77;

	for (size_t c = 0; c < sizeof(cases) / sizeof(cases[0]); c++) {
		uint8_t *rows = random_rows(cases[c].w, cases[c].h, cases[c].color, cases[c].depth, cases[c].kind, &rng);
		struct png_layout lay = {cases[c].filter, 6, Z_DEFAULT_STRATEGY, 15, c % 2 ? 8192 : 0, 0, -1, 0, 0};
		char what[64];
		buf png;

		buf_init(&png, 0);
		write_png(&png, cases[c].w, cases[c].h, cases[c].color, cases[c].depth, rows, &lay, &rng);
		snprintf(what, sizeof(what), "large case %zu", c);
		compare_paths(png.data, png.len, MAXPIX, FAST_TAKES, what);
		buf_release(&png);
		free(rows);
	}
}
END_TEST

/* Files libpng writes (every format, interlaced or not): the same bytes, and interlaced or colour files go to libpng. */
START_TEST(png_fast_libpng_written)
{
	int color = png_formats[_i / 2].color;
	int depth = png_formats[_i / 2].depth;
	int interlace = _i % 2;
	uint64_t rng = 900 + (uint64_t)_i;
	int fast_format = !interlace && (color == PNG_COLOR_TYPE_GRAY || color == PNG_COLOR_TYPE_GRAY_ALPHA ||
					 color == PNG_COLOR_TYPE_PALETTE);
	static const int sizes[][2] = {{1, 1}, {13, 7}, {64, 33}, {300, 2}};

	for (size_t k = 0; k < sizeof(sizes) / sizeof(sizes[0]); k++) {
		int w = sizes[k][0];
		int h = sizes[k][1];
		uint16_t *s = random_samples((size_t)w * (size_t)h * (size_t)tp_channels(color), depth, &rng);
		struct png_spec spec = {w, h, color, depth, interlace, s, 0, (int)(k * 3), NULL};
		buf png;
		char what[96];

		buf_init(&png, 0);
		tp_make_png(&spec, &png);
		snprintf(what, sizeof(what), "libpng-written colour %d depth %d interlace %d %dx%d", color, depth,
			 interlace, w, h);
		/* libpng narrows the zlib window of small images, but always to more than the image. */
		compare_paths(png.data, png.len, MAXPIX, fast_format ? FAST_TAKES : FAST_DECLINES, what);
		buf_release(&png);
		free(s);
	}
}
END_TEST

/* What the fast path leaves to libpng, and why: the public result stays libpng's in every case. */
START_TEST(png_fast_declines)
{
	static const struct {
		const char *name;
		struct png_layout lay;
		int color;
		int depth;
		const char *why; /* part of the fast path's reason */
	} cases[] = {
		{"bad filter byte", {0, 6, Z_DEFAULT_STRATEGY, 15, 0, 0, 3, 0, 0}, 0, 8, "filter type 5 in row 3"},
		{"bad filter byte in row 0", {4, 6, Z_DEFAULT_STRATEGY, 15, 0, 0, 0, 0, 0}, 3, 2, "filter type 5 in row 0"},
		{"bytes after the zlib stream", {1, 6, Z_DEFAULT_STRATEGY, 15, 0, 0, -1, 5, 0}, 0, 8, "after the zlib stream"},
		{"stream cut short", {1, 6, Z_DEFAULT_STRATEGY, 15, 0, 0, -1, 0, 9}, 0, 16, "does not inflate"},
		{"stream cut in the checksum", {2, 6, Z_DEFAULT_STRATEGY, 15, 0, 0, -1, 0, 2}, 4, 8, "does not inflate"},
		{"small window", {0, 6, Z_DEFAULT_STRATEGY, 9, 0, 0, -1, 0, 0}, 0, 8, "zlib window"},
	};
	uint64_t rng = 31;

	for (size_t c = 0; c < sizeof(cases) / sizeof(cases[0]); c++) {
		int w = 40;
		int h = 30;
		uint8_t *rows = random_rows(w, h, cases[c].color, cases[c].depth, 0, &rng);
		buf png;
		seg_error err;

		buf_init(&png, 0);
		write_png(&png, w, h, cases[c].color, cases[c].depth, rows, &cases[c].lay, &rng);
		compare_paths(png.data, png.len, MAXPIX, FAST_DECLINES, cases[c].name);
		ck_assert_int_eq(fast_target_status(png.data, png.len, &err), SEG_EUNSUPPORTED);
		ck_assert_msg(strstr(err.msg, cases[c].why) != NULL, "%s: %s", cases[c].name, err.msg);
		ck_assert_msg(strncmp(err.msg, "png: fast path: ", 16) == 0, "%s", err.msg);
		buf_release(&png);
		free(rows);
	}
}
END_TEST

/* A copy of png with the chunk at chunk index `at` (0 = IHDR) replaced by `with` (n bytes, a whole chunk). */
static void splice_chunk(const buf *png, size_t at, const uint8_t *with, size_t n, int drop, buf *out)
{
	size_t pos = 8;

	append(out, png->data, 8);
	for (size_t k = 0; pos + 12 <= png->len; k++) {
		size_t len = get_be32(png->data + pos);

		if (k == at && n > 0)
			append(out, with, n);
		if (!(k == at && drop))
			append(out, png->data + pos, 12 + len);
		pos += 12 + len;
	}
}

/* Chunk layouts the fast path leaves to libpng: the public result is libpng's, error or not. */
START_TEST(png_fast_chunk_layouts)
{
	static const uint8_t text[] = "Comment\0between";
	uint64_t rng = 5;
	uint8_t *rows = random_rows(20, 10, PNG_COLOR_TYPE_GRAY, 8, 0, &rng);
	uint8_t *prows = random_rows(20, 10, PNG_COLOR_TYPE_PALETTE, 4, 0, &rng);
	struct png_layout split = {5, 9, Z_DEFAULT_STRATEGY, 15, 16, 0, -1, 0, 0};
	buf grey, pal, chunk, out;
	seg_error err;

	buf_init(&grey, 0);
	buf_init(&pal, 0);
	write_png(&grey, 20, 10, PNG_COLOR_TYPE_GRAY, 8, rows, &split, &rng);
	write_png(&pal, 20, 10, PNG_COLOR_TYPE_PALETTE, 4, prows, &split, &rng);
	ck_assert_int_eq(compare_paths(grey.data, grey.len, MAXPIX, FAST_TAKES, "split grey"), 2);
	ck_assert_int_eq(compare_paths(pal.data, pal.len, MAXPIX, FAST_TAKES, "split palette"), 1);

	/* An ancillary chunk between two IDATs. Chunk 0 is IHDR, 1 the first IDAT. */
	buf_init(&chunk, 0);
	put_chunk(&chunk, "tEXt", text, sizeof(text) - 1);
	buf_init(&out, 0);
	splice_chunk(&grey, 2, chunk.data, chunk.len, 0, &out);
	compare_paths(out.data, out.len, MAXPIX, FAST_DECLINES, "tEXt between IDATs");
	ck_assert_int_eq(fast_target_status(out.data, out.len, &err), SEG_EUNSUPPORTED);
	ck_assert_str_eq(err.msg, "png: fast path: IDAT chunks are not consecutive");
	buf_release(&out);

	/* An empty IDAT among the others. */
	buf_release(&chunk);
	buf_init(&chunk, 0);
	put_chunk(&chunk, "IDAT", NULL, 0);
	buf_init(&out, 0);
	splice_chunk(&grey, 2, chunk.data, chunk.len, 0, &out);
	compare_paths(out.data, out.len, MAXPIX, FAST_DECLINES, "empty IDAT");
	buf_release(&out);

	/* A PLTE in a greyscale image, and a second PLTE in a palette one. */
	buf_release(&chunk);
	buf_init(&chunk, 0);
	put_chunk(&chunk, "PLTE", (const uint8_t *)"\1\2\3\4\5\6", 6);
	buf_init(&out, 0);
	splice_chunk(&grey, 1, chunk.data, chunk.len, 0, &out);
	compare_paths(out.data, out.len, MAXPIX, FAST_DECLINES, "PLTE in grey");
	buf_release(&out);
	buf_init(&out, 0);
	splice_chunk(&pal, 2, chunk.data, chunk.len, 0, &out);
	compare_paths(out.data, out.len, MAXPIX, FAST_DECLINES, "two PLTEs");
	buf_release(&out);

	/* A palette image without its PLTE (chunk 1), and with one longer than its depth allows. */
	buf_init(&out, 0);
	splice_chunk(&pal, 1, NULL, 0, 1, &out);
	compare_paths(out.data, out.len, MAXPIX, FAST_DECLINES, "no PLTE");
	buf_release(&out);
	{
		uint8_t plte[3 * 17];

		memset(plte, 9, sizeof(plte));
		buf_release(&chunk);
		buf_init(&chunk, 0);
		put_chunk(&chunk, "PLTE", plte, sizeof(plte));
		buf_init(&out, 0);
		splice_chunk(&pal, 1, chunk.data, chunk.len, 1, &out);
		compare_paths(out.data, out.len, MAXPIX, FAST_DECLINES, "PLTE of 17 entries at depth 4");
		buf_release(&out);
	}

	/* An unknown critical chunk, and a non-empty IEND. */
	buf_release(&chunk);
	buf_init(&chunk, 0);
	put_chunk(&chunk, "CRIT", text, 4);
	buf_init(&out, 0);
	splice_chunk(&grey, 1, chunk.data, chunk.len, 0, &out);
	compare_paths(out.data, out.len, MAXPIX, FAST_DECLINES, "unknown critical chunk");
	buf_release(&out);
	{
		buf body;

		buf_init(&body, 0);
		buf_init(&out, 0);
		/* Everything up to IEND, then an IEND with four bytes of data. */
		append(&body, grey.data, grey.len - 12);
		put_chunk(&body, "IEND", text, 4);
		compare_paths(body.data, body.len, MAXPIX, FAST_DECLINES, "IEND with data");
		buf_release(&body);
		buf_release(&out);
	}
	/* Compressed data too short for a zlib header and checksum. */
	buf_init(&out, 0);
	append(&out, png_sig, 8);
	put_ihdr(&out, 4, 4, 8, PNG_COLOR_TYPE_GRAY, 0);
	put_chunk(&out, "IDAT", (const uint8_t *)"\x78\x01", 2);
	put_chunk(&out, "IEND", NULL, 0);
	compare_paths(out.data, out.len, MAXPIX, FAST_DECLINES, "two bytes of IDAT");
	buf_release(&out);

	buf_release(&chunk);
	buf_release(&grey);
	buf_release(&pal);
	free(rows);
	free(prows);
}
END_TEST

/* The zlib bomb of png_zlib_bomb: the fast path stops when its buffer is full and libpng reads the image. */
START_TEST(png_fast_bomb_falls_back)
{
	buf png;
	seg_error err;

	buf_init(&png, 0);
	make_zlib_bomb(&png, 16, 16, 0, (size_t)1 << 20);
	ck_assert_int_eq(fast_target_status(png.data, png.len, &err), SEG_EUNSUPPORTED);
	ck_assert_msg(strstr(err.msg, "too many") != NULL, "%s", err.msg);
	compare_paths(png.data, png.len, MAXPIX, FAST_DECLINES, "zlib bomb");
	buf_release(&png);
}
END_TEST

/*
 * The one known difference, pinned: libdeflate decodes length symbol 286
 * (as 258, like 285) where zlib, and so libpng, call the stream corrupt.
 * Here a fixed-Huffman stream of a literal 0 and one <length, distance 1>
 * fills a 258x1 image; with symbol 285 both paths agree.
 */
START_TEST(png_fast_deflate_beyond_zlib)
{
	for (int sym = 285; sym <= 286; sym++) {
		buf z;
		buf png;
		struct bitw bw;
		uint8_t tail[4];
		seg_target t;
		seg_error err;

		buf_init(&z, 0);
		bw.b = &z;
		bw.acc = 0;
		bw.n = 0;
		append(&z, "\x78\x01", 2);
		bits_put(&bw, 1, 1);                             /* BFINAL */
		bits_put(&bw, 1, 2);                             /* fixed Huffman */
		bits_code(&bw, 0x30, 8);                         /* literal 0: the filter byte */
		bits_code(&bw, 0xC0 + (uint32_t)(sym - 280), 8); /* length symbol */
		bits_code(&bw, 0, 5);                            /* distance 1 */
		bits_code(&bw, 0, 7);                            /* end of block */
		if (bw.n > 0)
			bits_put(&bw, 0, 8 - bw.n);
		put_be32(tail, 259u << 16 | 1); /* Adler-32 of 259 zeros */
		append(&z, tail, 4);
		buf_init(&png, 0);
		append(&png, png_sig, 8);
		put_ihdr(&png, 258, 1, 8, PNG_COLOR_TYPE_GRAY, 0);
		put_chunk(&png, "IDAT", z.data, z.len);
		put_chunk(&png, "IEND", NULL, 0);
		if (sym == 285) {
			ck_assert_int_eq(compare_paths(png.data, png.len, MAXPIX, FAST_TAKES, "symbol 285"), 2);
		} else {
			ck_assert_int_eq(pngio_decode_target_path(png.data, png.len, MAXPIX, PNGIO_PATH_LIBPNG, &t, &err),
					 SEG_EDECODE);
			ck_assert_int_eq(pngio_decode_target_path(png.data, png.len, MAXPIX, PNGIO_PATH_FAST, &t, &err),
					 SEG_OK);
			for (size_t k = 0; k < 258; k++)
				ck_assert_int_eq(t.fg[k], 0);
			seg_target_release(&t);
		}
		buf_release(&png);
		buf_release(&z);
	}
}
END_TEST

/* Random mutations of fast-path files, CRCs repaired: wherever the fast path decodes, libpng agrees byte for byte. */
START_TEST(png_fast_mutations)
{
	uint64_t rng = 4242;

	for (int iter = 0; iter < 1500; iter++) {
		int f = (int)(tu_rand(&rng) % N_FAST_FORMATS);
		int w = 1 + (int)(tu_rand(&rng) % 20);
		int h = 1 + (int)(tu_rand(&rng) % 8);
		uint8_t *rows = random_rows(w, h, fast_formats[f].color, fast_formats[f].depth, iter % 4, &rng);
		struct png_layout lay = {5, (int)(tu_rand(&rng) % 10), Z_DEFAULT_STRATEGY, 15, 0, iter % 2, -1, 0, 0};
		int flips = 1 + (int)(tu_rand(&rng) % 3);
		buf png;
		char what[64];

		buf_init(&png, 0);
		write_png(&png, w, h, fast_formats[f].color, fast_formats[f].depth, rows, &lay, &rng);
		for (int k = 0; k < flips; k++) {
			size_t pos = 8 + tu_rand(&rng) % (png.len - 8);

			png.data[pos] = tu_rand(&rng) % 2 ? (uint8_t)tu_rand(&rng)
							  : (uint8_t)(png.data[pos] ^ (1u << (tu_rand(&rng) % 8)));
		}
		fix_crcs(png.data, png.len);
		snprintf(what, sizeof(what), "mutation %d", iter);
		compare_paths(png.data, png.len, 4096, FAST_ANY, what);
		buf_release(&png);
		free(rows);
	}
}
END_TEST

/* ==== PNG encoding ======================================================= */

START_TEST(png_encode_gray_round_trip)
{
	int w = 17;
	int h = 9;
	size_t n = (size_t)w * (size_t)h;
	uint8_t *px8 = xmalloc(n);
	uint16_t *px16 = xmalloc(n * 2);
	uint64_t rng = 5;
	buf out;
	seg_target t;
	seg_pred p;
	seg_error err;

	for (size_t k = 0; k < n; k++) {
		px8[k] = (uint8_t)tu_rand(&rng);
		px16[k] = (uint16_t)tu_rand(&rng);
	}
	px8[0] = 0;
	px8[1] = 1;
	buf_init(&out, 0);
	append(&out, "xy", 2); /* encoders append */
	ck_assert_int_eq(pngio_encode_gray(px8, w, h, 8, &out, &err), SEG_OK);
	ck_assert(memcmp(out.data, "xy", 2) == 0);
	ck_assert_int_eq(pngio_decode_target(out.data + 2, out.len - 2, MAXPIX, &t, &err), SEG_OK);
	ck_assert_int_eq(t.width, w);
	ck_assert_int_eq(t.height, h);
	ck_assert_ptr_nonnull(t.labels);
	for (size_t k = 0; k < n; k++)
		ck_assert_uint_eq(t.labels[k], px8[k]);
	seg_target_release(&t);
	buf_release(&out);

	buf_init(&out, 0);
	ck_assert_int_eq(pngio_encode_gray(px16, w, h, 16, &out, &err), SEG_OK);
	ck_assert_int_eq(pngio_decode_pred(out.data, out.len, MAXPIX, &p, &err), SEG_OK);
	for (size_t k = 0; k < n; k++)
		ck_assert(p.p[k] == (float)((double)px16[k] / 65535.0));
	seg_pred_release(&p);
	ck_assert_int_eq(pngio_decode_target(out.data, out.len, MAXPIX, &t, &err), SEG_OK);
	for (size_t k = 0; k < n; k++)
		ck_assert_uint_eq(t.labels[k], px16[k]);
	seg_target_release(&t);
	buf_release(&out);

	/* Wider than libpng's default limit of 1000000 columns. */
	{
		size_t wide = 1u << 20;
		uint8_t *row = xmalloc(wide);

		memset(row, 0, wide);
		row[wide - 1] = 9;
		buf_init(&out, 0);
		ck_assert_int_eq(pngio_encode_gray(row, (int)wide, 1, 8, &out, &err), SEG_OK);
		ck_assert_int_eq(pngio_decode_target(out.data, out.len, MAXPIX, &t, &err), SEG_OK);
		ck_assert_int_eq(t.width, (int)wide);
		ck_assert_int_eq(t.fg[wide - 1], 1);
		ck_assert_int_eq(t.fg[wide - 2], 0);
		seg_target_release(&t);
		buf_release(&out);
		free(row);
	}

	/* Bad arguments, and a buffer cap: out is left as it was. */
	buf_init(&out, 40);
	append(&out, "keep", 4);
	ck_assert_int_eq(pngio_encode_gray(px8, w, h, 12, &out, &err), SEG_EINVAL);
	ck_assert_int_eq(pngio_encode_gray(px8, 0, h, 8, &out, &err), SEG_EINVAL);
	ck_assert_int_eq(pngio_encode_gray(px8, w, h, 8, &out, &err), SEG_ETOOBIG);
	ck_assert_uint_eq(out.len, 4);
	ck_assert_str_eq((char *)out.data, "keep");
	buf_release(&out);
	free(px8);
	free(px16);
}
END_TEST

/* Reads an 8-bit RGB PNG with libpng's simplified API; caller frees. */
static uint8_t *read_rgb(const buf *png, int *w, int *h)
{
	png_image img;
	uint8_t *rgb;

	memset(&img, 0, sizeof(img));
	img.version = PNG_IMAGE_VERSION;
	ck_assert(png_image_begin_read_from_memory(&img, png->data, png->len));
	ck_assert_uint_eq(img.format, PNG_FORMAT_RGB);
	rgb = xmalloc(PNG_IMAGE_SIZE(img));
	ck_assert(png_image_finish_read(&img, NULL, rgb, 0, NULL));
	*w = (int)img.width;
	*h = (int)img.height;
	return rgb;
}

typedef struct mem_reader {
	const uint8_t *data;
	size_t len, at;
} mem_reader;

static void read_mem(png_structp png, png_bytep out, size_t n)
{
	mem_reader *m = png_get_io_ptr(png);
	if (m->at + n > m->len)
		png_error(png, "read past the end");
	memcpy(out, m->data + m->at, n);
	m->at += n;
}

/* The tEXt value of key in a PNG (libpng's reader), copied into out; 0 when found. */
static int png_text_of(const buf *png_buf, const char *key, char *out, size_t cap)
{
	png_structp png = png_create_read_struct(PNG_LIBPNG_VER_STRING, NULL, NULL, NULL);
	png_infop info = png_create_info_struct(png);
	mem_reader m = {png_buf->data, png_buf->len, 0};
	png_textp text = NULL;
	int n = 0, found = -1;

	ck_assert(png != NULL && info != NULL);
	png_set_read_fn(png, &m, read_mem);
	png_read_info(png, info);
	png_get_text(png, info, &text, &n);
	for (int i = 0; i < n; i++) {
		if (strcmp(text[i].key, key) == 0) {
			snprintf(out, cap, "%s", text[i].text);
			found = 0;
		}
	}
	png_destroy_read_struct(&png, &info, NULL);
	return found;
}

START_TEST(png_encode_heatmap)
{
	float v[3 * 4] = {-1.0f, 0.0f, 1.0f, 3.0f, NAN, INFINITY, 2.0f, 0.5f, -INFINITY, 1.0f, 1.0f, 1.0f};
	float flat[6] = {0.25f, 0.25f, 0.25f, 0.25f, 0.25f, 0.25f};
	buf out;
	seg_error err;
	uint8_t *rgb;
	int w;
	int h;

	buf_init(&out, 0);
	ck_assert_int_eq(pngio_encode_heatmap(v, 4, 3, &out, &err), SEG_OK);
	rgb = read_rgb(&out, &w, &h);
	ck_assert_int_eq(w, 4);
	ck_assert_int_eq(h, 3);
	/* min -1 is viridis[0], max 3 is viridis[255]; (1 - -1) / 4 * 256 = 128. */
	ck_assert(memcmp(rgb + 0, "\x44\x01\x54", 3) == 0);
	ck_assert(memcmp(rgb + 3 * 3, "\xfd\xe7\x24", 3) == 0);
	ck_assert(memcmp(rgb + 3 * 2, "\x20\x90\x8c", 3) == 0);
	ck_assert(memcmp(rgb + 3 * 4, "\x44\x01\x54", 3) == 0);  /* NaN: lowest colour */
	ck_assert(memcmp(rgb + 3 * 5, "\xfd\xe7\x24", 3) == 0);  /* +inf: highest */
	ck_assert(memcmp(rgb + 3 * 8, "\x44\x01\x54", 3) == 0);  /* -inf: lowest */
	free(rgb);
	buf_release(&out);

	buf_init(&out, 0);
	ck_assert_int_eq(pngio_encode_heatmap(flat, 3, 2, &out, &err), SEG_OK);
	rgb = read_rgb(&out, &w, &h);
	ck_assert_int_eq(w, 3);
	ck_assert_int_eq(h, 2);
	for (int k = 0; k < 6; k++)
		ck_assert(memcmp(rgb + 3 * k, "\x44\x01\x54", 3) == 0);
	free(rgb);
	ck_assert_int_eq(pngio_encode_heatmap(flat, -1, 2, &out, &err), SEG_EINVAL);
	buf_release(&out);
}
END_TEST

/* A heatmap carries its scale (tEXt map_min, map_max, colormap), and takes a fixed one. */
START_TEST(png_heatmap_scale)
{
	float v[3 * 4] = {-1.0f, 0.0f, 1.0f, 3.0f, NAN, INFINITY, 2.0f, 0.5f, -INFINITY, 1.0f, 1.0f, 0.1f};
	double range[2] = {0.0, 2.0}, scale[2] = {NAN, NAN};
	char text[64];
	buf out;
	seg_error err;
	uint8_t *rgb;
	int w, h;

	/* The data's finite extremes. */
	buf_init(&out, 0);
	ck_assert_int_eq(pngio_encode_heatmap_range(v, 4, 3, NULL, &out, scale, &err), SEG_OK);
	ck_assert(scale[0] == -1.0 && scale[1] == 3.0);
	ck_assert_int_eq(png_text_of(&out, "map_min", text, sizeof(text)), 0);
	ck_assert_str_eq(text, "-1");
	ck_assert_int_eq(png_text_of(&out, "map_max", text, sizeof(text)), 0);
	ck_assert_str_eq(text, "3");
	ck_assert_int_eq(png_text_of(&out, "colormap", text, sizeof(text)), 0);
	ck_assert_str_eq(text, "viridis");
	/* pngio_encode_heatmap is the same image, byte for byte. */
	buf same;
	buf_init(&same, 0);
	ck_assert_int_eq(pngio_encode_heatmap(v, 4, 3, &same, &err), SEG_OK);
	ck_assert(same.len == out.len && memcmp(same.data, out.data, out.len) == 0);
	buf_release(&same);
	buf_release(&out);

	/* A fixed range: [0, 2]; below is the lowest colour, above the highest, 1 is halfway (index 128). */
	buf_init(&out, 0);
	ck_assert_int_eq(pngio_encode_heatmap_range(v, 4, 3, range, &out, scale, &err), SEG_OK);
	ck_assert(scale[0] == 0.0 && scale[1] == 2.0);
	rgb = read_rgb(&out, &w, &h);
	ck_assert(memcmp(rgb + 3 * 0, "\x44\x01\x54", 3) == 0);  /* -1: clipped to viridis[0] */
	ck_assert(memcmp(rgb + 3 * 1, "\x44\x01\x54", 3) == 0);  /* 0 */
	ck_assert(memcmp(rgb + 3 * 2, "\x20\x90\x8c", 3) == 0);  /* 1: viridis[128] */
	ck_assert(memcmp(rgb + 3 * 3, "\xfd\xe7\x24", 3) == 0);  /* 3: clipped to viridis[255] */
	ck_assert(memcmp(rgb + 3 * 6, "\xfd\xe7\x24", 3) == 0);  /* 2 */
	free(rgb);
	ck_assert_int_eq(png_text_of(&out, "map_min", text, sizeof(text)), 0);
	ck_assert_str_eq(text, "0");
	ck_assert_int_eq(png_text_of(&out, "map_max", text, sizeof(text)), 0);
	ck_assert_str_eq(text, "2");
	buf_release(&out);

	/* Ends that are not plain decimals are written to round-trip: 0.1f as a double needs 17 digits. */
	double tenth = 0.1f;
	char num[32];
	pngio_format_number(tenth, num);
	ck_assert(strtod(num, NULL) == tenth);
	ck_assert_str_eq(num, "0.10000000149011612");
	pngio_format_number(0.1, num);
	ck_assert_str_eq(num, "0.1");

	/* A range must be two finite numbers, low < high. */
	double bad[3][2] = {{1, 1}, {2, 1}, {0, INFINITY}};
	buf_init(&out, 0);
	for (int i = 0; i < 3; i++)
		ck_assert_int_eq(pngio_encode_heatmap_range(v, 4, 3, bad[i], &out, scale, &err), SEG_EINVAL);
	ck_assert_uint_eq(out.len, 0);
	buf_release(&out);
}
END_TEST

/* ==== .npy =============================================================== */

static const struct {
	const char *descr;
	char kind;
	int size;
	int big; /* -1: native */
} npy_int_types[] = {
	{"|b1", 'b', 1, 0},  {"<b1", 'b', 1, 0},  {"|u1", 'u', 1, 0},  {"<u1", 'u', 1, 0},
	{"|i1", 'i', 1, 0},  {"<i1", 'i', 1, 0},  {"<u2", 'u', 2, 0},  {">u2", 'u', 2, 1},
	{"<i2", 'i', 2, 0},  {">i2", 'i', 2, 1},  {"<u4", 'u', 4, 0},  {">u4", 'u', 4, 1},
	{"<i4", 'i', 4, 0},  {">i4", 'i', 4, 1},  {"<u8", 'u', 8, 0},  {">u8", 'u', 8, 1},
	{"<i8", 'i', 8, 0},  {">i8", 'i', 8, 1},  {"=u2", 'u', 2, -1}, {"=i4", 'i', 4, -1},
	{"=u8", 'u', 8, -1}, {"=u1", 'u', 1, -1},
};

/* Value of element k for an integer dtype: big enough to use the upper bytes. */
static uint64_t int_value(char kind, int size, size_t k)
{
	if (kind == 'b')
		return k % 3 == 1;
	if (k % 4 == 0)
		return 0;
	if (size == 1)
		return (k * 37) % (kind == 'i' ? 128 : 256);
	if (size == 2)
		return (k * 4099) % (kind == 'i' ? 32768 : 65536);
	return 0xF0000000u + k; /* > 2^31 but < 2^32 for 4- and 8-byte types */
}

/* Every integer dtype, both byte orders, C and Fortran order, the three shapes. */
START_TEST(npy_target_dtypes)
{
	static const char *shapes[] = {"(3, 4)", "(1, 3, 4)", "(3, 4, 1)", "(3, 4,)"};
	const char *descr = npy_int_types[_i].descr;
	char kind = npy_int_types[_i].kind;
	int size = npy_int_types[_i].size;
	int big = npy_int_types[_i].big < 0 ? host_big_endian() : npy_int_types[_i].big;

	for (int fortran = 0; fortran < 2; fortran++) {
		for (size_t sh = 0; sh < 4; sh++) {
			uint8_t data[12 * 8];
			buf npy;
			seg_target t;
			seg_error err;
			uint32_t first = 0;
			int many = 0;

			for (size_t r = 0; r < 3; r++) {
				for (size_t c = 0; c < 4; c++) {
					size_t k = r * 4 + c;
					size_t at = fortran ? c * 3 + r : k;
					uint64_t v = int_value(kind, size, k);

					if (kind == 'i' && size >= 4)
						v &= 0x7fffffff;
					put_elem(data + at * (size_t)size, v, size, big);
				}
			}
			buf_init(&npy, 0);
			make_npy(&npy, descr, fortran, shapes[sh], data, 12 * (size_t)size);
			seg_error_clear(&err);
			ck_assert_msg(npy_decode_target(npy.data, npy.len, MAXPIX, &t, &err) == SEG_OK,
				      "%s %s: %s", descr, shapes[sh], err.msg);
			ck_assert_int_eq(t.width, 4);
			ck_assert_int_eq(t.height, 3);
			for (size_t k = 0; k < 12; k++) {
				uint64_t v = int_value(kind, size, k);

				if (kind == 'i' && size >= 4)
					v &= 0x7fffffff;
				ck_assert_int_eq(t.fg[k], v != 0);
				if (t.labels != NULL && size < 8)
					ck_assert_uint_eq(t.labels[k], v);
				/* 64-bit values are renumbered: labels agree exactly where values agree. */
				for (size_t j = 0; t.labels != NULL && size == 8 && j < 12; j++) {
					uint64_t u = int_value(kind, size, j);
					if (kind == 'i')
						u &= 0x7fffffff;
					ck_assert_int_eq(t.labels[k] == t.labels[j], v == u);
				}
				if (v != 0 && v != first) {
					if (first == 0)
						first = (uint32_t)v;
					else
						many = 1;
				}
			}
			ck_assert_int_eq(t.labels != NULL, many);
			seg_target_release(&t);

			/* Integer and bool predictions are refused. */
			{
				seg_pred p;
				char want[96];

				ck_assert_int_eq(npy_decode_pred(npy.data, npy.len, MAXPIX, 0, &p, &err), SEG_EINVAL);
				snprintf(want, sizeof(want), "prediction .npy must be float32 or float64, got %s",
					 kind == 'b' ? "bool" : "");
				if (kind == 'b')
					ck_assert_str_eq(err.msg, want);
				ck_assert_ptr_null(p.p);
			}
			buf_release(&npy);
		}
	}
}
END_TEST

static const struct {
	const char *descr;
	int size;
	int big;
} npy_float_types[] = {
	{"<f4", 4, 0}, {">f4", 4, 1}, {"<f8", 8, 0}, {">f8", 8, 1}, {"=f4", 4, -1}, {"=f8", 8, -1},
};

static void put_float(uint8_t *p, double x, int size, int big)
{
	uint64_t bits;

	if (size == 4) {
		float f = (float)x;
		uint32_t b32;

		memcpy(&b32, &f, 4);
		bits = b32;
	} else {
		memcpy(&bits, &x, 8);
	}
	put_elem(p, bits, size, big);
}

/* Float predictions: both byte orders, both layouts, the three shapes, versions 1 to 3. */
START_TEST(npy_pred_dtypes)
{
	static const char *shapes[] = {"(3, 5)", "(1, 3, 5)", "(3, 5, 1)"};
	int size = npy_float_types[_i].size;
	int big = npy_float_types[_i].big < 0 ? host_big_endian() : npy_float_types[_i].big;

	for (int version = 1; version <= 3; version++) {
		for (int fortran = 0; fortran < 2; fortran++) {
			for (size_t sh = 0; sh < 3; sh++) {
				uint8_t data[15 * 8];
				char dict[160];
				buf npy;
				seg_pred p;
				seg_error err;

				for (size_t r = 0; r < 3; r++)
					for (size_t c = 0; c < 5; c++)
						put_float(data + (fortran ? c * 3 + r : r * 5 + c) * (size_t)size,
							  (double)(r * 5 + c) / 14.0, size, big);
				snprintf(dict, sizeof(dict), "{'descr': '%s', 'fortran_order': %s, 'shape': %s, }",
					 npy_float_types[_i].descr, fortran ? "True" : "False", shapes[sh]);
				buf_init(&npy, 0);
				make_npy_raw(&npy, version, dict, data, 15 * (size_t)size);
				ck_assert_msg(npy_decode_pred(npy.data, npy.len, MAXPIX, 0, &p, &err) == SEG_OK,
					      "%s", err.msg);
				ck_assert_int_eq(p.width, 5);
				ck_assert_int_eq(p.height, 3);
				for (size_t k = 0; k < 15; k++) {
					float want = size == 4 ? (float)((double)k / 14.0) : (float)((double)k / 14.0);

					ck_assert_msg(p.p[k] == want, "%zu: %.9g want %.9g", k, p.p[k], want);
				}
				seg_pred_release(&p);
				{
					seg_target t;
					char want[80];

					snprintf(want, sizeof(want), "target .npy must be bool or integer, got %s",
						 size == 4 ? "float32" : "float64");
					ck_assert_int_eq(npy_decode_target(npy.data, npy.len, MAXPIX, &t, &err),
							 SEG_EINVAL);
					ck_assert_str_eq(err.msg, want);
					ck_assert_ptr_null(t.fg);
				}
				buf_release(&npy);
			}
		}
	}
}
END_TEST

START_TEST(npy_fortran_order_mapping)
{
	/* A 2x3 uint8 array [[1, 2, 3], [4, 5, 6]] stored column by column. */
	static const uint8_t f[6] = {1, 4, 2, 5, 3, 6};
	buf npy;
	seg_target t;
	seg_error err;

	buf_init(&npy, 0);
	make_npy(&npy, "|u1", 1, "(2, 3)", f, 6);
	ck_assert_int_eq(npy_decode_target(npy.data, npy.len, MAXPIX, &t, &err), SEG_OK);
	for (uint32_t k = 0; k < 6; k++)
		ck_assert_uint_eq(t.labels[k], k + 1);
	seg_target_release(&t);
	buf_release(&npy);
}
END_TEST

/* Header spellings NumPy or other writers may produce. */
static const char *npy_good_headers[] = {
	"{'descr': '<f4', 'fortran_order': False, 'shape': (2, 3), }",
	"{\"descr\": \"<f4\", \"fortran_order\": False, \"shape\": (2, 3)}",
	"{ 'shape' : ( 2 , 3 , ) , 'fortran_order' : False , 'descr' : '<f4' , }",
	"{'descr':'<f4','fortran_order':False,'shape':(2L, 3L)}",
	"{'descr': '<f4',\n 'fortran_order': False,\n 'shape': (1, 2, 3)}\t",
	"{'descr': '<f4', 'fortran_order': False, 'shape': (2, 3, 1), }",
};

START_TEST(npy_header_spellings)
{
	float v[6] = {0.0f, 0.2f, 0.4f, 0.6f, 0.8f, 1.0f};
	buf npy;
	seg_pred p;
	seg_error err;

	buf_init(&npy, 0);
	make_npy_raw(&npy, 1, npy_good_headers[_i], v, sizeof(v));
	if (host_big_endian())
		return;
	ck_assert_msg(npy_decode_pred(npy.data, npy.len, MAXPIX, 0, &p, &err) == SEG_OK, "%s: %s",
		      npy_good_headers[_i], err.msg);
	ck_assert_int_eq(p.width, 3);
	ck_assert_int_eq(p.height, 2);
	ck_assert(memcmp(p.p, v, sizeof(v)) == 0);
	seg_pred_release(&p);
	buf_release(&npy);
}
END_TEST

static const struct {
	const char *dict;
	seg_status st;
	const char *msg; /* a prefix of the expected message */
} npy_bad_headers[] = {
	{"['descr', '<f4']", SEG_EDECODE, "npy: header is not a dict"},
	{"", SEG_EDECODE, "npy: header is not a dict"},
	{"{'descr': '<f4', 'fortran_order': False}", SEG_EDECODE, "npy: header has no 'shape'"},
	{"{'fortran_order': False, 'shape': (2, 3)}", SEG_EDECODE, "npy: header has no 'descr'"},
	{"{'descr': '<f4', 'shape': (2, 3)}", SEG_EDECODE, "npy: header has no 'fortran_order'"},
	{"{'descr': '<f4', 'fortran_order': False, 'shape': (2, 3), 'x': 1}", SEG_EDECODE,
	 "npy: unknown key 'x' in header"},
	{"{'descr': '<f4', 'descr': '<f4', 'fortran_order': False, 'shape': (2, 3)}", SEG_EDECODE,
	 "npy: duplicate key 'descr'"},
	{"{'descr': '<f4', 'fortran_order': 0, 'shape': (2, 3)}", SEG_EDECODE, "npy: malformed header"},
	{"{'descr': '<f4', 'fortran_order': false, 'shape': (2, 3)}", SEG_EDECODE, "npy: malformed header"},
	{"{'descr': '<f4', 'fortran_order': False, 'shape': (2 3)}", SEG_EDECODE, "npy: malformed header"},
	{"{'descr': '<f4', 'fortran_order': False, 'shape': (-2, 3)}", SEG_EDECODE, "npy: malformed header"},
	{"{'descr': '<f4', 'fortran_order': False, 'shape': (2, 3)", SEG_EDECODE, "npy: malformed header"},
	{"{'descr': '<f4', 'fortran_order': False, 'shape': (2, 3}", SEG_EDECODE, "npy: malformed header"},
	{"{'descr': '<f4', 'fortran_order': False, 'shape': [2, 3]}", SEG_EDECODE, "npy: malformed header"},
	{"{'descr': '<f4", SEG_EDECODE, "npy: malformed header at byte "},
	{"{'descr': '<f4, 'fortran_order': False, 'shape': (2, 3)}", SEG_EINVAL,
	 "npy: unsupported dtype '<f4, '"},
	{"{'descr': '<f4', 'fortran_order': False 'shape': (2, 3)}", SEG_EDECODE, "npy: malformed header"},
	{"{'descr': '<f4', 'fortran_order': False, 'shape': (2, 3)} x", SEG_EDECODE,
	 "npy: unexpected bytes after the header dict"},
	{"{'descr': '<f4', 'fortran_order': False, 'shape': (2, 3)},", SEG_EDECODE,
	 "npy: unexpected bytes after the header dict"},
	{"{'descr': '<f4', 'fortran_order': False, 'shape': (6)}", SEG_EDECODE, "npy: shape is not a tuple"},
	{"{'descr': '<c8', 'fortran_order': False, 'shape': (2, 3)}", SEG_EINVAL,
	 "npy: unsupported dtype '<c8'"},
	{"{'descr': '<f1', 'fortran_order': False, 'shape': (2, 3)}", SEG_EINVAL,
	 "npy: unsupported dtype '<f1'"},
	{"{'descr': '|f4', 'fortran_order': False, 'shape': (2, 3)}", SEG_EINVAL, "npy: unsupported dtype"},
	{"{'descr': '<f16', 'fortran_order': False, 'shape': (2, 3)}", SEG_EINVAL, "npy: unsupported dtype"},
	{"{'descr': 'f4', 'fortran_order': False, 'shape': (2, 3)}", SEG_EINVAL, "npy: unsupported dtype"},
	{"{'descr': '<U10', 'fortran_order': False, 'shape': (2, 3)}", SEG_EINVAL, "npy: unsupported dtype"},
	{"{'descr': '|O', 'fortran_order': False, 'shape': (2, 3)}", SEG_EINVAL, "npy: unsupported dtype"},
	{"{'descr': [('a', '<f4')], 'fortran_order': False, 'shape': (2, 3)}", SEG_EINVAL,
	 "npy: structured dtypes are not supported"},
	{"{'descr': '<f4', 'fortran_order': False, 'shape': (2, 3, 4)}", SEG_EINVAL,
	 "npy: shape (2, 3, 4) is not a mask; expected (H, W), (1, H, W) or (H, W, 1)"},
	{"{'descr': '<f4', 'fortran_order': False, 'shape': (6,)}", SEG_EINVAL, "npy: shape (6,) is not a mask"},
	{"{'descr': '<f4', 'fortran_order': False, 'shape': ()}", SEG_EINVAL, "npy: shape () is not a mask"},
	{"{'descr': '<f4', 'fortran_order': False, 'shape': (1, 1, 2, 3)}", SEG_EINVAL,
	 "npy: shape (1, 1, 2, 3) is not a mask"},
	{"{'descr': '<f4', 'fortran_order': False, 'shape': (0, 3)}", SEG_EINVAL,
	 "npy: shape (0, 3) has no pixels"},
	{"{'descr': '<f4', 'fortran_order': False, 'shape': (100000, 100000)}", SEG_ETOOBIG,
	 "npy: shape (100000, 100000) has 10000000000 pixels, over the limit of 67108864"},
	{"{'descr': '<f4', 'fortran_order': False, 'shape': (2000000, 1)}", SEG_ETOOBIG,
	 "npy: shape (2000000, 1) is over the limit of 1048576 pixels a side"},
	{"{'descr': '<f4', 'fortran_order': False, 'shape': (99999999999999999999999, 1)}", SEG_ETOOBIG,
	 "npy: shape dimension"},
};

/* float16 predictions decode exactly (every half is a float), subnormals and both byte orders included. */
START_TEST(npy_float16)
{
	/* 0, 0.25, 1, 0x3555 (0.333251953125), the smallest subnormal 2^-24, 0.5 big-endian below. */
	uint16_t h[6] = {0x0000, 0x3400, 0x3c00, 0x3555, 0x0001, 0x3800};
	double want[6] = {0, 0.25, 1, 0.333251953125, 0x1p-24, 0.5};
	buf npy;
	seg_pred p;
	seg_error err;

	buf_init(&npy, 0);
	make_npy(&npy, "<f2", 0, "(2, 3)", h, sizeof(h));
	ck_assert_int_eq(npy_decode_pred(npy.data, npy.len, 1u << 20, 0, &p, &err), SEG_OK);
	for (int i = 0; i < 6; i++)
		ck_assert_float_eq(p.p[i], (float)want[i]);
	seg_pred_release(&p);
	buf_release(&npy);
	for (int i = 0; i < 6; i++)
		h[i] = (uint16_t)(h[i] >> 8 | h[i] << 8);
	buf_init(&npy, 0);
	make_npy(&npy, ">f2", 0, "(2, 3)", h, sizeof(h));
	ck_assert_int_eq(npy_decode_pred(npy.data, npy.len, 1u << 20, 0, &p, &err), SEG_OK);
	for (int i = 0; i < 6; i++)
		ck_assert_float_eq(p.p[i], (float)want[i]);
	seg_pred_release(&p);
	buf_release(&npy);
}
END_TEST

/* uint8 per-class probabilities: v/255 renormalised per pixel; a sum off by more than C/2 is refused naming the pixel. */
START_TEST(npy_quantised_scores)
{
	/* 3 classes, 1x2 pixels, (C, H, W): pixel 0 sums to 254 (within 1.5), pixel 1 to 255. */
	uint8_t v[6] = {100, 0, 100, 255, 54, 0};
	buf npy;
	seg_scores sc;
	seg_error err;

	buf_init(&npy, 0);
	make_npy(&npy, "|u1", 0, "(3, 1, 2)", v, sizeof(v));
	ck_assert_int_eq(npy_decode_scores(npy.data, npy.len, 1u << 20, 3, NPY_AXIS_AUTO, 0, &sc, &err), SEG_OK);
	ck_assert_float_eq_tol(sc.v[0], 100.0f / 254.0f, 1e-7);
	ck_assert_float_eq_tol(sc.v[2], 100.0f / 254.0f, 1e-7);
	ck_assert_float_eq_tol(sc.v[4], 54.0f / 254.0f, 1e-7);
	ck_assert_float_eq_tol(sc.v[3], 1.0f, 1e-7);
	seg_scores_release(&sc);
	buf_release(&npy);
	v[4] = 50; /* pixel 0 now sums to 250: 5 off, over 3/2 */
	buf_init(&npy, 0);
	make_npy(&npy, "|u1", 0, "(3, 1, 2)", v, sizeof(v));
	ck_assert_int_eq(npy_decode_scores(npy.data, npy.len, 1u << 20, 3, NPY_AXIS_AUTO, 0, &sc, &err), SEG_EINVAL);
	ck_assert_ptr_nonnull(strstr(err.msg, "sum to 250/255 at row 0, column 0"));
	ck_assert_int_eq(npy_decode_scores(npy.data, npy.len, 1u << 20, 3, NPY_AXIS_AUTO, 1, &sc, &err), SEG_EINVAL);
	ck_assert_ptr_nonnull(strstr(err.msg, "quantised probabilities, not logits"));
	buf_release(&npy);
}
END_TEST

/*
 * (C, H, W) float16 and uint8 scores take a conversion loop of their own;
 * (H, W, C) and Fortran order the general path. Both give the same
 * floats bit for bit, and float16 gives exactly the float32 of the same
 * values (every half is a float), subnormal halves included.
 */
START_TEST(npy_scores_fast_paths_agree)
{
	enum { C = 3, H = 5, W = 7, N = H * W };
	uint16_t half_chw[C * N], half_hwc[C * N];
	float f32_chw[C * N];
	uint8_t u8_chw[C * N], u8_hwc[C * N];
	uint64_t r = 5;

	for (int i = 0; i < N; i++) {
		/* Class 0 a multiple of 2^-10 or a subnormal half; class 1 a multiple of 1/8; class 2 the rest. */
		r = r * 6364136223846793005ULL + 1442695040888963407ULL;
		uint16_t h0 = i % 4 == 0 ? (uint16_t)(1 + (r >> 60)) /* subnormal: k * 2^-24 */
					 : (uint16_t)(0x1400 + ((r >> 40) & 0x3ff)); /* [2^-10, 2^-9) */
		uint16_t h1 = (uint16_t)(0x3000 + (((r >> 20) & 7) << 7)); /* 1/8 .. 1/4 */
		float f0, f1;
		{
			/* the halves' values, by the rule of the format */
			int e0 = (h0 >> 10) & 0x1f, m0 = h0 & 0x3ff, e1 = (h1 >> 10) & 0x1f, m1 = h1 & 0x3ff;
			f0 = e0 == 0 ? ldexpf((float)m0, -24) : ldexpf((float)(m0 | 0x400), e0 - 25);
			f1 = ldexpf((float)(m1 | 0x400), e1 - 25);
		}
		float f2 = 1.0f - f0 - f1;
		/* f2 as a half: round to 11 significant bits; the sum stays within 1e-3 of 1. */
		int ex;
		float fr = frexpf(f2, &ex);
		float q = ldexpf(roundf(ldexpf(fr, 11)), ex - 11);
		uint16_t h2 = (uint16_t)(((ex - 1 + 15) << 10) | ((uint32_t)ldexpf(q, 11 - ex) & 0x3ff));
		uint16_t hv[C] = {h0, h1, h2};
		float fv[C] = {f0, f1, q};
		for (int c = 0; c < C; c++) {
			half_chw[c * N + i] = hv[c];
			half_hwc[i * C + c] = hv[c];
			f32_chw[c * N + i] = fv[c];
			u8_chw[c * N + i] = (uint8_t)(c == 2 ? 255 - (int)(i % 50) - 40 : c == 0 ? (int)(i % 50) : 40);
			u8_hwc[i * C + c] = u8_chw[c * N + i];
		}
	}
	struct {
		const char *descr, *shape;
		const void *a;
		size_t na;
		const char *shape_b;
		const void *b;
		size_t nb;
	} cases[] = {
		{"<f2", "(3, 5, 7)", half_chw, sizeof(half_chw), "(5, 7, 3)", half_hwc, sizeof(half_hwc)},
		{"|u1", "(3, 5, 7)", u8_chw, sizeof(u8_chw), "(5, 7, 3)", u8_hwc, sizeof(u8_hwc)},
	};
	for (size_t k = 0; k < 2; k++) {
		buf a, b, f;
		seg_scores sa, sb, sf;
		seg_error err;
		buf_init(&a, 0);
		buf_init(&b, 0);
		make_npy(&a, cases[k].descr, 0, cases[k].shape, cases[k].a, cases[k].na);
		make_npy(&b, cases[k].descr, 0, cases[k].shape_b, cases[k].b, cases[k].nb);
		ck_assert_int_eq(npy_decode_scores(a.data, a.len, 1u << 20, C, NPY_AXIS_AUTO, 0, &sa, &err), SEG_OK);
		ck_assert_int_eq(npy_decode_scores(b.data, b.len, 1u << 20, C, NPY_AXIS_AUTO, 0, &sb, &err), SEG_OK);
		ck_assert(memcmp(sa.v, sb.v, sizeof(float) * C * N) == 0);
		if (k == 0) {
			buf_init(&f, 0);
			make_npy(&f, "<f4", 0, "(3, 5, 7)", f32_chw, sizeof(f32_chw));
			ck_assert_int_eq(npy_decode_scores(f.data, f.len, 1u << 20, C, NPY_AXIS_AUTO, 0, &sf, &err), SEG_OK);
			ck_assert(memcmp(sa.v, sf.v, sizeof(float) * C * N) == 0);
			seg_scores_release(&sf);
			buf_release(&f);
		}
		seg_scores_release(&sa);
		seg_scores_release(&sb);
		buf_release(&a);
		buf_release(&b);
	}
}
END_TEST

START_TEST(npy_bad_header)
{
	float v[6] = {0};
	buf npy;
	seg_pred p;
	seg_error err;

	buf_init(&npy, 0);
	make_npy_raw(&npy, 1, npy_bad_headers[_i].dict, v, sizeof(v));
	ck_assert_int_eq(npy_decode_pred(npy.data, npy.len, MAXPIX, 0, &p, &err), npy_bad_headers[_i].st);
	ck_assert_msg(strncmp(err.msg, npy_bad_headers[_i].msg, strlen(npy_bad_headers[_i].msg)) == 0,
		      "%s -> %s", npy_bad_headers[_i].dict, err.msg);
	ck_assert_ptr_null(p.p);
	buf_release(&npy);
}
END_TEST

START_TEST(npy_preamble_errors)
{
	static const char dict[] = "{'descr': '|u1', 'fortran_order': False, 'shape': (1, 1), }\n";
	uint8_t f[128];
	seg_target t;
	seg_error err;
	size_t n = strlen(dict);

	/* Version 4.0 and 1.1 are unknown. */
	memcpy(f, "\x93NUMPY\x04\x00", 8);
	f[8] = (uint8_t)n;
	f[9] = 0;
	memcpy(f + 10, dict, n);
	f[10 + n] = 1;
	ck_assert_int_eq(npy_decode_target(f, 11 + n, MAXPIX, &t, &err), SEG_EDECODE);
	ck_assert_str_eq(err.msg, "npy: unsupported format version 4.0");
	f[6] = 1;
	f[7] = 1;
	ck_assert_int_eq(npy_decode_target(f, 11 + n, MAXPIX, &t, &err), SEG_EDECODE);
	f[7] = 0;
	ck_assert_int_eq(npy_decode_target(f, 11 + n, MAXPIX, &t, &err), SEG_OK);
	ck_assert_uint_eq(t.fg[0], 1);
	seg_target_release(&t);

	/* Header length past the end of the file. */
	f[8] = 200;
	ck_assert_int_eq(npy_decode_target(f, 11 + n, MAXPIX, &t, &err), SEG_EDECODE);
	ck_assert_str_eq(err.msg, "npy: truncated header (61 of 200 bytes)");

	/* Absurd header length in version 2. */
	memcpy(f, "\x93NUMPY\x02\x00\xff\xff\xff\xff", 12);
	ck_assert_int_eq(npy_decode_target(f, 64, MAXPIX, &t, &err), SEG_EDECODE);
	ck_assert_str_eq(err.msg, "npy: header length 4294967295 is over the limit of 65536");

	/* Bad magic. */
	ck_assert_int_eq(npy_decode_target((const uint8_t *)"\x93NUMPX\x01\x00", 8, MAXPIX, &t, &err),
			 SEG_EDECODE);
	ck_assert_str_eq(err.msg, "npy: not a .npy file (bad magic)");
	ck_assert(!npy_is_npy((const uint8_t *)"\x93NUMP", 5));
	ck_assert(npy_is_npy((const uint8_t *)"\x93NUMPY", 6));
}
END_TEST

START_TEST(npy_data_length)
{
	uint8_t data[804];
	buf npy;
	seg_pred p;
	seg_error err;

	memset(data, 0, sizeof(data));
	buf_init(&npy, 0);
	make_npy(&npy, "<f4", 0, "(10, 20)", data, 100);
	ck_assert_int_eq(npy_decode_pred(npy.data, npy.len, MAXPIX, 0, &p, &err), SEG_EDECODE);
	ck_assert_str_eq(err.msg, "npy: data is 100 bytes but shape (10, 20) of float32 needs 800");
	buf_release(&npy);

	buf_init(&npy, 0);
	make_npy(&npy, "<f4", 0, "(10, 20)", data, 804);
	ck_assert_int_eq(npy_decode_pred(npy.data, npy.len, MAXPIX, 0, &p, &err), SEG_EDECODE);
	ck_assert_str_eq(err.msg, "npy: data is 804 bytes but shape (10, 20) of float32 needs 800");
	buf_release(&npy);

	buf_init(&npy, 0);
	make_npy(&npy, "<f4", 0, "(10, 20)", data, 800);
	ck_assert_int_eq(npy_decode_pred(npy.data, npy.len, MAXPIX, 0, &p, &err), SEG_OK);
	seg_pred_release(&p);
	ck_assert_int_eq(npy_decode_pred(npy.data, npy.len, 199, 0, &p, &err), SEG_ETOOBIG);
	ck_assert_str_eq(err.msg, "npy: shape (10, 20) has 200 pixels, over the limit of 199");
	buf_release(&npy);
}
END_TEST

/* Every proper prefix of a small .npy fails cleanly. */
START_TEST(npy_truncated_everywhere)
{
	uint8_t data[4 * 3 * 2];
	buf npy;

	for (size_t k = 0; k < sizeof(data); k++)
		data[k] = (uint8_t)(k % 5);
	buf_init(&npy, 0);
	make_npy_raw(&npy, _i + 1, "{'descr': '<u2', 'fortran_order': False, 'shape': (4, 3), }", data,
		     sizeof(data));
	for (size_t len = 0; len < npy.len; len++) {
		uint8_t *copy = xmalloc(len);
		seg_target t;
		seg_error err;

		memcpy(copy, npy.data, len);
		ck_assert_int_eq(npy_decode_target(copy, len, MAXPIX, &t, &err), SEG_EDECODE);
		ck_assert_ptr_null(t.fg);
		ck_assert_int_ne(mask_decode_target(copy, len, MAXPIX, &t, &err), SEG_OK);
		free(copy);
	}
	buf_release(&npy);
}
END_TEST

/* Random byte changes in header and data: never a crash or a leak. */
START_TEST(npy_mutations)
{
	uint64_t rng = 77;
	float v[6] = {0.0f, 0.5f, 1.0f, 0.25f, 0.75f, 0.125f};
	buf npy;

	buf_init(&npy, 0);
	make_npy(&npy, "<f4", 0, "(2, 3)", v, sizeof(v));
	for (int iter = 0; iter < 20000; iter++) {
		uint8_t *copy = xmalloc(npy.len);
		int flips = 1 + (int)(tu_rand(&rng) % 3);
		seg_target t;
		seg_pred p;
		seg_error err;

		memcpy(copy, npy.data, npy.len);
		for (int f = 0; f < flips; f++) {
			size_t pos = tu_rand(&rng) % npy.len;
			static const char tokens[] = "{}()[],:'\" 0123456789TrueFalse<>|=fiub\n";

			copy[pos] = tu_rand(&rng) % 2 == 0 ? (uint8_t)tu_rand(&rng)
							   : (uint8_t)tokens[tu_rand(&rng) % (sizeof(tokens) - 1)];
		}
		if (mask_decode_target(copy, npy.len, 4096, &t, &err) == SEG_OK)
			ck_assert((uint64_t)t.width * (uint64_t)t.height <= 4096);
		seg_target_release(&t);
		if (mask_decode_pred(copy, npy.len, 4096, (int)(iter & 1), &p, &err) == SEG_OK) {
			for (size_t k = 0; k < (size_t)p.width * (size_t)p.height; k++)
				ck_assert(p.p[k] >= 0.0f && p.p[k] <= 1.0f);
		}
		seg_pred_release(&p);
		free(copy);
	}
	buf_release(&npy);
}
END_TEST

/* Negative and 64-bit labels are foreground, and distinct values stay distinct instances. */
START_TEST(npy_target_wide_labels)
{
	uint8_t data[6 * 8];
	buf npy;
	seg_target t;
	seg_error err;

	/* int16: -3 at row 1, column 2 and 3 at row 0, column 0. */
	memset(data, 0, sizeof(data));
	put_elem(data + (1 * 3 + 2) * 2, (uint64_t)(uint16_t)-3, 2, 0);
	put_elem(data, 3, 2, 0);
	buf_init(&npy, 0);
	make_npy(&npy, "<i2", 0, "(2, 3)", data, 12);
	ck_assert_int_eq(npy_decode_target(npy.data, npy.len, MAXPIX, &t, &err), SEG_OK);
	ck_assert_int_eq(t.fg[5], 1);
	ck_assert_ptr_nonnull(t.labels);
	ck_assert_uint_eq(t.labels[5], 0xfffd);
	ck_assert_uint_eq(t.labels[0], 3);
	seg_target_release(&t);
	buf_release(&npy);

	/* The same in Fortran order: still row 1, column 2. */
	memset(data, 0, sizeof(data));
	put_elem(data + (2 * 2 + 1) * 2, (uint64_t)(uint16_t)-3, 2, 1);
	buf_init(&npy, 0);
	make_npy(&npy, ">i2", 1, "(2, 3)", data, 12);
	ck_assert_int_eq(npy_decode_target(npy.data, npy.len, MAXPIX, &t, &err), SEG_OK);
	ck_assert_int_eq(t.fg[5], 1);
	ck_assert_int_eq(t.fg[4], 0);
	ck_assert_ptr_null(t.labels); /* one distinct value */
	seg_target_release(&t);
	buf_release(&npy);

	/* int64: the minimum, 2^32 + 7 and 7 are three instances, numbered by first appearance. */
	memset(data, 0, sizeof(data));
	put_elem(data, (uint64_t)1 << 63, 8, 0);
	put_elem(data + 8, ((uint64_t)1 << 32) + 7, 8, 0);
	put_elem(data + 16, 7, 8, 0);
	put_elem(data + 40, ((uint64_t)1 << 32) + 7, 8, 0);
	buf_init(&npy, 0);
	make_npy(&npy, "<i8", 0, "(2, 3)", data, 48);
	ck_assert_int_eq(npy_decode_target(npy.data, npy.len, MAXPIX, &t, &err), SEG_OK);
	ck_assert_uint_eq(t.labels[0], 1);
	ck_assert_uint_eq(t.labels[1], 2);
	ck_assert_uint_eq(t.labels[2], 3);
	ck_assert_uint_eq(t.labels[3], 0);
	ck_assert_uint_eq(t.labels[5], 2);
	ck_assert_int_eq(t.fg[0] + t.fg[1] + t.fg[2] + t.fg[3] + t.fg[4] + t.fg[5], 4);
	seg_target_release(&t);
	buf_release(&npy);
}
END_TEST

START_TEST(npy_pred_value_errors)
{
	float v[5 * 10];
	buf npy;
	seg_pred p;
	seg_error err;

	if (host_big_endian())
		return; /* the arrays below are written in host order as '<f4' */
	for (size_t k = 0; k < 50; k++)
		v[k] = 0.5f;
	v[3 * 10 + 7] = 1.5f;
	v[4 * 10 + 9] = NAN;
	buf_init(&npy, 0);
	make_npy(&npy, "<f4", 0, "(5, 10)", v, sizeof(v));
	ck_assert_int_eq(npy_decode_pred(npy.data, npy.len, MAXPIX, 0, &p, &err), SEG_EINVAL);
	ck_assert_str_eq(err.msg, "prediction has value 1.5 outside [0, 1] at row 3, column 7");
	ck_assert_ptr_null(p.p);
	ck_assert_int_eq(mask_decode_pred(npy.data, npy.len, MAXPIX, 0, &p, &err), SEG_EINVAL);
	ck_assert_str_eq(err.msg, "prediction has value 1.5 outside [0, 1] at row 3, column 7");
	buf_release(&npy);

	v[3 * 10 + 7] = -0.25f;
	buf_init(&npy, 0);
	make_npy(&npy, "<f4", 0, "(5, 10)", v, sizeof(v));
	ck_assert_int_eq(npy_decode_pred(npy.data, npy.len, MAXPIX, 0, &p, &err), SEG_EINVAL);
	ck_assert_str_eq(err.msg, "prediction has value -0.25 outside [0, 1] at row 3, column 7");
	/* As logits -0.25 is fine, but NaN is not. */
	ck_assert_int_eq(npy_decode_pred(npy.data, npy.len, MAXPIX, 1, &p, &err), SEG_EINVAL);
	ck_assert_str_eq(err.msg, "prediction has value nan at row 4, column 9");
	buf_release(&npy);

	v[4 * 10 + 9] = INFINITY;
	buf_init(&npy, 0);
	make_npy(&npy, "<f4", 0, "(5, 10)", v, sizeof(v));
	ck_assert_int_eq(npy_decode_pred(npy.data, npy.len, MAXPIX, 1, &p, &err), SEG_EINVAL);
	ck_assert_str_eq(err.msg, "prediction has value inf at row 4, column 9");
	buf_release(&npy);

	/* -0.0, 0 and 1 are in range. */
	v[3 * 10 + 7] = -0.0f;
	v[4 * 10 + 9] = 1.0f;
	v[0] = 0.0f;
	buf_init(&npy, 0);
	make_npy(&npy, "<f4", 0, "(5, 10)", v, sizeof(v));
	ck_assert_int_eq(npy_decode_pred(npy.data, npy.len, MAXPIX, 0, &p, &err), SEG_OK);
	seg_pred_release(&p);
	buf_release(&npy);
}
END_TEST

START_TEST(npy_logits)
{
	static const double x[6] = {0.0, 2.0, -2.0, 40.0, -800.0, 1e-3};
	uint8_t data[6 * 8];
	buf npy;
	seg_pred p;
	seg_error err;

	for (int k = 0; k < 6; k++)
		put_float(data + 8 * k, x[k], 8, 1);
	buf_init(&npy, 0);
	make_npy(&npy, ">f8", 0, "(2, 3)", data, sizeof(data));
	ck_assert_int_eq(npy_decode_pred(npy.data, npy.len, MAXPIX, 0, &p, &err), SEG_EINVAL);
	ck_assert_str_eq(err.msg, "prediction has value 2 outside [0, 1] at row 0, column 1");
	ck_assert_int_eq(mask_decode_pred(npy.data, npy.len, MAXPIX, 1, &p, &err), SEG_OK);
	for (int k = 0; k < 6; k++)
		ck_assert_msg(p.p[k] == (float)(1.0 / (1.0 + exp(-x[k]))), "%d: %.9g", k, p.p[k]);
	ck_assert(p.p[0] == 0.5f);
	ck_assert(p.p[4] == 0.0f);
	seg_pred_release(&p);
	buf_release(&npy);
}
END_TEST

/* NumPy's own bytes for np.save(f, np.zeros((3, 5), np.float32)). */
static const char numpy_3x5_header[] =
	"\x93NUMPY\x01\x00v\x00{'descr': '<f4', 'fortran_order': False, 'shape': (3, 5), }"
	"                                                          \n";

START_TEST(npy_encode_round_trip)
{
	static const int sizes[][2] = {{5, 3}, {1, 1}, {1000, 1}, {7, 123}, {1048576, 1}};

	for (size_t s = 0; s < sizeof(sizes) / sizeof(sizes[0]); s++) {
		int w = sizes[s][0];
		int h = sizes[s][1];
		size_t n = (size_t)w * (size_t)h;
		float *v = xmalloc(n * sizeof(float));
		uint64_t rng = 3;
		buf out;
		seg_pred p;
		seg_error err;
		size_t hlen;

		for (size_t k = 0; k < n; k++)
			v[k] = (float)tu_uniform(&rng);
		buf_init(&out, 0);
		ck_assert_int_eq(npy_encode_f32(v, w, h, &out, &err), SEG_OK);
		ck_assert(memcmp(out.data, "\x93NUMPY\x01\x00", 8) == 0);
		hlen = (size_t)out.data[8] | (size_t)out.data[9] << 8;
		ck_assert_uint_eq((10 + hlen) % 64, 0);
		ck_assert_int_eq(out.data[10 + hlen - 1], '\n');
		ck_assert_uint_eq(out.len, 10 + hlen + 4 * n);
		if (w == 5 && h == 3)
			ck_assert(memcmp(out.data, numpy_3x5_header, sizeof(numpy_3x5_header) - 1) == 0);
		ck_assert_int_eq(npy_decode_pred(out.data, out.len, (uint64_t)n, 0, &p, &err), SEG_OK);
		ck_assert_int_eq(p.width, w);
		ck_assert_int_eq(p.height, h);
		ck_assert(memcmp(p.p, v, n * sizeof(float)) == 0);
		seg_pred_release(&p);
		buf_release(&out);
		free(v);
	}
	{
		float v[4] = {0};
		buf out;
		seg_error err;

		buf_init(&out, 100);
		append(&out, "ab", 2);
		ck_assert_int_eq(npy_encode_f32(v, 0, 4, &out, &err), SEG_EINVAL);
		ck_assert_int_eq(npy_encode_f32(v, 2, 2, &out, &err), SEG_ETOOBIG);
		ck_assert_uint_eq(out.len, 2);
		ck_assert_str_eq((char *)out.data, "ab");
		buf_release(&out);
	}
}
END_TEST

/* ==== mask =============================================================== */

START_TEST(mask_dispatch)
{
	uint8_t u[6] = {0, 1, 0, 2, 2, 0};
	float f[6] = {0.0f, 1.0f, 0.5f, 0.5f, 0.25f, 0.0f};
	buf npy;
	buf png;
	seg_target t;
	seg_pred p;
	seg_error err;

	buf_init(&npy, 0);
	make_npy(&npy, "|u1", 0, "(2, 3)", u, sizeof(u));
	ck_assert_int_eq(mask_decode_target(npy.data, npy.len, MAXPIX, &t, &err), SEG_OK);
	ck_assert_int_eq(t.width, 3);
	ck_assert_uint_eq(t.labels[3], 2);
	buf_release(&npy);

	buf_init(&png, 0);
	{
		uint16_t s[6] = {0, 10, 20, 30, 40, 50};
		struct png_spec spec = {3, 2, PNG_COLOR_TYPE_GRAY, 8, 0, s, 0, -1, NULL};

		tp_make_png(&spec, &png);
	}
	ck_assert_int_eq(mask_decode_pred(png.data, png.len, MAXPIX, 0, &p, &err), SEG_OK);
	ck_assert_int_eq(mask_check_sizes(&t, &p, &err), SEG_OK);
	ck_assert(p.p[5] == (float)(50.0 / 255.0));
	seg_pred_release(&p);
	ck_assert_int_eq(mask_decode_pred(png.data, png.len, MAXPIX, 1, &p, &err), SEG_EINVAL);
	ck_assert_str_eq(err.msg, "prediction: logits apply to float .npy input, not to a PNG");
	buf_release(&png);

	if (!host_big_endian()) {
		buf_init(&npy, 0);
		make_npy(&npy, "<f4", 0, "(3, 2)", f, sizeof(f));
		ck_assert_int_eq(mask_decode_pred(npy.data, npy.len, MAXPIX, 0, &p, &err), SEG_OK);
		ck_assert_int_eq(mask_check_sizes(&t, &p, &err), SEG_EINVAL);
		ck_assert_str_eq(err.msg, "prediction is 2x3 but target is 3x2");
		seg_pred_release(&p);
		buf_release(&npy);
	}
	seg_target_release(&t);

	/* Image files that are not masks are named by their signatures. */
	static const struct {
		const char *bytes;
		size_t len;
		const char *msg;
	} others[] = {
		{"\xff\xd8\xff\xe0\0\x10JFIF", 10,
		 "target is a JPEG image, not a PNG or a .npy file (JPEG's lossy compression changes a mask's values: "
		 "save masks as PNG)"},
		{"GIF87a\x01\0", 8, "target is a GIF image, not a PNG or a .npy file"},
		{"GIF89a", 6, "target is a GIF image, not a PNG or a .npy file"},
		{"II*\0\x08\0\0\0", 8, "target is a TIFF image, not a PNG or a .npy file"},
		{"MM\0*\0\0\0\x08", 8, "target is a TIFF image, not a PNG or a .npy file"},
		{"II+\0\x08\0\0\0", 8, "target is a TIFF image, not a PNG or a .npy file"},
		{"RIFF\x24\0\0\0WEBPVP8L", 16, "target is a WebP image, not a PNG or a .npy file"},
		/* Prefixes and look-alikes are not those formats. */
		{"\xff\xd8", 2, "target is neither a PNG nor a .npy file"},
		{"GIF90a", 6, "target is neither a PNG nor a .npy file"},
		{"RIFF\x24\0\0\0WAVEfmt ", 16, "target is neither a PNG nor a .npy file"},
		{"hello", 5, "target is neither a PNG nor a .npy file"},
	};
	for (size_t i = 0; i < sizeof(others) / sizeof(others[0]); i++) {
		ck_assert_int_eq(mask_decode_target((const uint8_t *)others[i].bytes, others[i].len, MAXPIX, &t, &err),
				 SEG_EUNSUPPORTED);
		ck_assert_str_eq(err.msg, others[i].msg);
	}
	ck_assert_int_eq(mask_decode_pred((const uint8_t *)"GIF89a", 6, MAXPIX, 0, &p, &err), SEG_EUNSUPPORTED);
	ck_assert_str_eq(err.msg, "prediction is a GIF image, not a PNG or a .npy file");
	ck_assert_int_eq(mask_decode_pred((const uint8_t *)"{\"a\":1}", 7, MAXPIX, 0, &p, &err),
			 SEG_EUNSUPPORTED);
	ck_assert_str_eq(err.msg, "prediction is neither a PNG nor a .npy file");
	ck_assert_int_eq(mask_decode_target((const uint8_t *)"", 0, MAXPIX, &t, &err), SEG_EDECODE);
	ck_assert_str_eq(err.msg, "target is empty");
	ck_assert_int_eq(mask_decode_target((const uint8_t *)"\x89PN", 3, MAXPIX, &t, &err), SEG_EDECODE);
	ck_assert_str_eq(err.msg, "target: png: truncated file");
	ck_assert_int_eq(mask_decode_pred((const uint8_t *)"\x93NUM", 4, MAXPIX, 0, &p, &err), SEG_EDECODE);
	ck_assert_str_eq(err.msg, "prediction: npy: truncated file (4 bytes)");

	/* A float target through the mask layer keeps its role-first message. */
	buf_init(&npy, 0);
	make_npy(&npy, "<f8", 0, "(1, 1)", "\0\0\0\0\0\0\0\0", 8);
	ck_assert_int_eq(mask_decode_target(npy.data, npy.len, MAXPIX, &t, &err), SEG_EINVAL);
	ck_assert_str_eq(err.msg, "target .npy must be bool or integer, got float64");
	buf_release(&npy);
}
END_TEST

/* ==== suite ============================================================== */

static Suite *codec_suite(void)
{
	Suite *s = suite_create("codec");
	TCase *tc;

	tc = tcase_create("buf");
	tcase_add_test(tc, buf_append_and_detach);
	tcase_add_test(tc, buf_cap);
	suite_add_tcase(s, tc);

	tc = tcase_create("b64");
	tcase_add_loop_test(tc, b64_rfc_vectors, 0, (int)(sizeof(rfc4648) / sizeof(rfc4648[0])));
	tcase_add_loop_test(tc, b64_accepts, 0, (int)(sizeof(b64_accepted) / sizeof(b64_accepted[0])));
	tcase_add_loop_test(tc, b64_rejects, 0, (int)(sizeof(b64_rejected) / sizeof(b64_rejected[0])));
	tcase_add_test(tc, b64_offset_in_long_input);
	tcase_add_test(tc, b64_round_trip);
	tcase_add_test(tc, b64_sizes);
	suite_add_tcase(s, tc);

	tc = tcase_create("png");
	tcase_set_timeout(tc, 120);
	tcase_add_loop_test(tc, png_target_every_format, 0, 4 * N_PNG_FORMATS);
	tcase_add_test(tc, png_target_binary_has_no_labels);
	tcase_add_test(tc, png_target_palette_index);
	tcase_add_loop_test(tc, png_pred_scaling, 0, 14);
	tcase_add_test(tc, png_level_division_exact);
	tcase_add_test(tc, png_pred_16bit_exact);
	tcase_add_test(tc, png_pred_rejects_colour);
	tcase_add_loop_test(tc, png_truncated_everywhere, 0, 2);
	tcase_add_loop_test(tc, png_bit_flips, 0, 2);
	tcase_add_test(tc, png_crc_error_message);
	tcase_add_test(tc, png_bad_signature);
	tcase_add_test(tc, png_huge_dimensions);
	tcase_add_test(tc, png_zero_size_and_bad_ihdr);
	tcase_add_loop_test(tc, png_zlib_bomb, 0, 2);
	tcase_add_test(tc, png_ancillary_chunks_ignored);
	tcase_add_test(tc, png_mutations);
	tcase_add_test(tc, png_encode_gray_round_trip);
	tcase_add_test(tc, png_encode_heatmap);
	tcase_add_test(tc, png_heatmap_scale);
	suite_add_tcase(s, tc);

	tc = tcase_create("png-fast");
	tcase_set_timeout(tc, 300);
	tcase_add_test(tc, png_fast_fixtures);
	tcase_add_loop_test(tc, png_fast_every_format_and_filter, 0, N_FAST_FORMATS);
	tcase_add_test(tc, png_fast_large);
	tcase_add_loop_test(tc, png_fast_libpng_written, 0, 2 * N_PNG_FORMATS);
	tcase_add_test(tc, png_fast_declines);
	tcase_add_test(tc, png_fast_chunk_layouts);
	tcase_add_test(tc, png_fast_bomb_falls_back);
	tcase_add_test(tc, png_fast_deflate_beyond_zlib);
	tcase_add_test(tc, png_fast_mutations);
	suite_add_tcase(s, tc);

	tc = tcase_create("npy");
	tcase_set_timeout(tc, 120);
	tcase_add_loop_test(tc, npy_target_dtypes, 0, (int)(sizeof(npy_int_types) / sizeof(npy_int_types[0])));
	tcase_add_loop_test(tc, npy_pred_dtypes, 0, (int)(sizeof(npy_float_types) / sizeof(npy_float_types[0])));
	tcase_add_test(tc, npy_fortran_order_mapping);
	tcase_add_loop_test(tc, npy_header_spellings, 0,
			    (int)(sizeof(npy_good_headers) / sizeof(npy_good_headers[0])));
	tcase_add_loop_test(tc, npy_bad_header, 0, (int)(sizeof(npy_bad_headers) / sizeof(npy_bad_headers[0])));
	tcase_add_test(tc, npy_float16);
	tcase_add_test(tc, npy_scores_fast_paths_agree);
	tcase_add_test(tc, npy_quantised_scores);
	tcase_add_test(tc, npy_preamble_errors);
	tcase_add_test(tc, npy_data_length);
	tcase_add_loop_test(tc, npy_truncated_everywhere, 0, 3);
	tcase_add_test(tc, npy_mutations);
	tcase_add_test(tc, npy_target_wide_labels);
	tcase_add_test(tc, npy_pred_value_errors);
	tcase_add_test(tc, npy_logits);
	tcase_add_test(tc, npy_encode_round_trip);
	suite_add_tcase(s, tc);

	tc = tcase_create("mask");
	tcase_add_test(tc, mask_dispatch);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	SRunner *sr = srunner_create(codec_suite());
	int failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
