/*
 * fuzz_png_diff.c — libFuzzer target: the PNG fast path against libpng.
 *
 * Every input is decoded in both roles three ways (pngio_internal.h):
 * libpng only, the fast path only, and the public function. The public
 * result must be libpng's: the same status and message on failure, the
 * same bytes of fg, labels and p on success. Where the fast path decodes
 * a file, libpng must decode it to the very same bytes; where it declines
 * (SEG_EUNSUPPORTED), the public function is libpng by construction.
 *
 * One difference is known and checked rather than forbidden: libdeflate
 * accepts a few deflate streams that zlib refuses (length symbols 286-287
 * and distance symbols 30-31, an incomplete Huffman code whose unused
 * codeword appears, more than 286 or 30 code lengths, a code-length run
 * past the end). When the fast path decodes a file libpng refuses, zlib
 * itself must refuse that IDAT stream before the last row; anything else
 * is a bug. With FUZZ_PNG_DIFF_STRICT=1 in the environment such a file
 * aborts too, to find examples.
 *
 * Inputs come in two shapes. One whose first byte has its high bit set
 * (a PNG starts with 0x89) is decoded as it is, then repaired as
 * fuzz_png does (signature put in front, every complete chunk's CRC made
 * right). Any other input describes a file to build: format, size, zlib
 * settings, row filters, IDAT split and extra chunks come from the first
 * bytes, pixel bytes from the rest; the file is written with zlib and our
 * own filters, so most runs reach the fast path's inner loops instead of
 * a CRC or Adler-32 error. A built file without deliberate damage must be
 * taken by the fast path.
 */
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

#include "codec/buf.h"
#include "codec/pngio.h"
#include "codec/pngio_internal.h"
#include "fuzzutil.h"

#define INPUT_CAP (1u << 20)

static const uint8_t signature[8] = {0x89, 'P', 'N', 'G', '\r', '\n', 0x1a, '\n'};

static uint32_t be32(const uint8_t *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

static void put_be32(uint8_t *p, uint32_t v)
{
	p[0] = (uint8_t)(v >> 24);
	p[1] = (uint8_t)(v >> 16);
	p[2] = (uint8_t)(v >> 8);
	p[3] = (uint8_t)v;
}

static int strict_mode(void)
{
	static int mode = -1;

	if (mode < 0) {
		const char *v = getenv("FUZZ_PNG_DIFF_STRICT");

		mode = v != NULL && strcmp(v, "1") == 0;
	}
	return mode;
}

/*
 * 1 when zlib refuses the IDAT stream of png before it has produced the
 * whole image (height rows of 1 + rowbytes bytes, from the IHDR), which
 * is when libpng refuses the file for its data.
 */
static int zlib_refuses(const uint8_t *png, size_t len)
{
	size_t pos = sizeof(signature);
	uint8_t *z = NULL;
	uint8_t *out = NULL;
	size_t zlen = 0;
	uint64_t total = 0;
	z_stream s;
	int rc;
	int refused = 0;

	while (len - pos >= 12) {
		uint32_t n = be32(png + pos);
		const uint8_t *type = png + pos + 4;

		if (n > len - pos - 12)
			break;
		if (memcmp(type, "IHDR", 4) == 0 && n == 13 && total == 0) {
			uint64_t ch = png[pos + 17] == 4 ? 2 : 1; /* grey+alpha; grey and palette have one */
			uint64_t rowbytes = ((uint64_t)be32(png + pos + 8) * ch * png[pos + 16] + 7) / 8;

			total = (uint64_t)be32(png + pos + 12) * (1 + rowbytes);
		} else if (memcmp(type, "IDAT", 4) == 0) {
			uint8_t *grown = realloc(z, zlen + n + 1);

			FZ_ASSERT(grown != NULL);
			z = grown;
			memcpy(z + zlen, png + pos + 8, n);
			zlen += n;
		} else if (memcmp(type, "IEND", 4) == 0) {
			break;
		}
		pos += 12 + (size_t)n;
	}
	FZ_ASSERT(total > 0 && total <= (uint64_t)FZ_MAX_PIXELS * 8);
	out = malloc((size_t)total);
	FZ_ASSERT(out != NULL);
	memset(&s, 0, sizeof(s));
	FZ_ASSERT(inflateInit2(&s, 0) == Z_OK); /* the window the zlib header names, as libpng asks */
	s.next_in = z;
	s.avail_in = (uInt)zlen;
	s.next_out = out;
	s.avail_out = (uInt)total;
	rc = inflate(&s, Z_SYNC_FLUSH);
	if (rc != Z_OK && rc != Z_STREAM_END && rc != Z_BUF_ERROR && s.total_out < total)
		refused = 1;
	inflateEnd(&s);
	free(out);
	free(z);
	return refused;
}

static void check_targets(const seg_target *a, const seg_target *b)
{
	size_t n = (size_t)a->width * (size_t)a->height;

	FZ_ASSERT(a->width == b->width && a->height == b->height);
	FZ_ASSERT(memcmp(a->fg, b->fg, n) == 0);
	FZ_ASSERT((a->labels == NULL) == (b->labels == NULL));
	FZ_ASSERT(a->labels == NULL || memcmp(a->labels, b->labels, n * sizeof(uint32_t)) == 0);
}

static void check_preds(const seg_pred *a, const seg_pred *b)
{
	FZ_ASSERT(a->width == b->width && a->height == b->height);
	FZ_ASSERT(memcmp(a->p, b->p, (size_t)a->width * (size_t)a->height * sizeof(float)) == 0);
}

/* What the three decodes of one role gave. */
struct outcome {
	seg_status st[3]; /* libpng, fast, public */
	seg_error err[3];
};

/* The rules of the header comment on one role's outcome; returns 1 when the fast path decoded. */
static int judge(const uint8_t *png, size_t len, const struct outcome *o)
{
	seg_status lib = o->st[0];
	seg_status fast = o->st[1];
	seg_status pub = o->st[2];

	for (int k = 0; k < 3; k++)
		fz_check_error(o->st[k], &o->err[k]);
	if (fast == SEG_OK && lib != SEG_OK) {
		if (strict_mode() || !zlib_refuses(png, len))
			fz_fail("fast path decoded a file libpng refuses with \"%s\"", o->err[0].msg);
		FZ_ASSERT(pub == SEG_OK);
		return 1;
	}
	FZ_ASSERT(pub == lib);
	if (lib != SEG_OK)
		FZ_ASSERT(strcmp(o->err[2].msg, o->err[0].msg) == 0);
	if (fast != SEG_OK && fast != SEG_EUNSUPPORTED) {
		/* The chunk walk both paths share refused the file. */
		FZ_ASSERT(fast == lib);
		FZ_ASSERT(strcmp(o->err[1].msg, o->err[0].msg) == 0);
	}
	if (fast == SEG_EUNSUPPORTED)
		FZ_ASSERT(strncmp(o->err[1].msg, "png: fast path: ", 16) == 0);
	return fast == SEG_OK;
}

static const enum pngio_path paths[3] = {PNGIO_PATH_LIBPNG, PNGIO_PATH_FAST, PNGIO_PATH_AUTO};

/* Decodes png in both roles all three ways and judges; returns how many roles the fast path decoded. */
static int compare(const uint8_t *png, size_t len)
{
	struct outcome o;
	seg_target t[3];
	seg_pred p[3];
	int taken = 0;

	for (int k = 0; k < 3; k++) {
		seg_error_clear(&o.err[k]);
		o.st[k] = pngio_decode_target_path(png, len, FZ_MAX_PIXELS, paths[k], &t[k], &o.err[k]);
		if (o.st[k] == SEG_OK)
			fz_check_target(&t[k], FZ_MAX_PIXELS);
		else
			FZ_ASSERT(t[k].fg == NULL && t[k].labels == NULL);
	}
	taken += judge(png, len, &o);
	if (o.st[0] == SEG_OK && o.st[1] == SEG_OK)
		check_targets(&t[1], &t[0]);
	if (o.st[0] == SEG_OK)
		check_targets(&t[2], &t[0]);
	for (int k = 0; k < 3; k++)
		seg_target_release(&t[k]);

	for (int k = 0; k < 3; k++) {
		seg_error_clear(&o.err[k]);
		o.st[k] = pngio_decode_pred_path(png, len, FZ_MAX_PIXELS, paths[k], &p[k], &o.err[k]);
		if (o.st[k] == SEG_OK)
			fz_check_pred(&p[k], FZ_MAX_PIXELS);
		else
			FZ_ASSERT(p[k].p == NULL);
	}
	taken += judge(png, len, &o);
	if (o.st[0] == SEG_OK && o.st[1] == SEG_OK)
		check_preds(&p[1], &p[0]);
	if (o.st[0] == SEG_OK)
		check_preds(&p[2], &p[0]);
	for (int k = 0; k < 3; k++)
		seg_pred_release(&p[k]);
	return taken;
}

/* ---- built files ---------------------------------------------------------- */

static void put_chunk(buf *b, const char *type, const uint8_t *data, size_t n)
{
	uint8_t hdr[8];
	uint8_t crc[4];
	uLong c = crc32(0L, (const Bytef *)type, 4);

	put_be32(hdr, (uint32_t)n);
	memcpy(hdr + 4, type, 4);
	if (n > 0)
		c = crc32(c, data, (uInt)n);
	put_be32(crc, (uint32_t)c);
	FZ_ASSERT(buf_append(b, hdr, 8) == SEG_OK);
	if (n > 0)
		FZ_ASSERT(buf_append(b, data, n) == SEG_OK);
	FZ_ASSERT(buf_append(b, crc, 4) == SEG_OK);
}

static int paeth(int a, int b, int c)
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

static const struct {
	int color;
	int depth;
} formats[] = {
	{0, 1}, {0, 2}, {0, 4}, {0, 8}, {0, 16}, {4, 8}, {4, 16}, {3, 1}, {3, 2}, {3, 4}, {3, 8},
};

/*
 * Builds a PNG from the description in data (see the header comment):
 *   [0] format   [1] width - 1   [2] height - 1 (mod 64)   [3] zlib level and strategy
 *   [4] filters: mod 8 = 0-4 that type, 5 one type per row from the pixel bytes, 6 y % 5;
 *       bit 7 set: row 0 gets filter byte [5]
 *   [5] see [4]   [6] IDAT chunk size (0: one chunk)
 *   [7] bits 0-3 bytes of junk after the zlib stream, bit 4 extra chunks, bits 5-6 bytes cut off its end,
 *       bit 7 an odd layout, from [5] (when [4] bit 7 is clear): bits 0-2 a zlib window of 2^(9 + n % 7),
 *       bits 3-5 a PLTE of fewer entries, bit 6 an empty IDAT in front, bit 7 a tEXt after the first IDAT
 *   [8...] pixel bytes, repeated to fill the rows.
 * *clean is 1 when nothing in the file was damaged or laid out oddly on purpose.
 */
static int build(const uint8_t *data, size_t size, buf *png, int *clean)
{
	static const int strategies[5] = {Z_DEFAULT_STRATEGY, Z_FILTERED, Z_HUFFMAN_ONLY, Z_RLE, Z_FIXED};
	const uint8_t *px = data + 8;
	size_t npx = size - 8;
	int color, depth, w, h, ch;
	size_t rowbytes, bpp, rawlen;
	uint8_t *rows = NULL;
	uint8_t *raw = NULL;
	uint8_t *z = NULL;
	uLongf zlen;
	size_t junk, cut, idat;
	unsigned odd;
	z_stream s;

	if (size < 9)
		return 0;
	color = formats[data[0] % (sizeof(formats) / sizeof(formats[0]))].color;
	depth = formats[data[0] % (sizeof(formats) / sizeof(formats[0]))].depth;
	ch = color == 4 ? 2 : 1;
	w = data[1] + 1;
	h = data[2] % 64 + 1;
	rowbytes = ((size_t)w * (size_t)ch * (size_t)depth + 7) / 8;
	bpp = (size_t)ch * (size_t)depth / 8 > 0 ? (size_t)ch * (size_t)depth / 8 : 1;
	rawlen = (size_t)h * (rowbytes + 1);
	junk = data[7] & 0x0f;
	cut = (data[7] >> 5) & 3;
	idat = data[6];
	odd = (data[7] & 0x80) != 0 && (data[4] & 0x80) == 0 ? data[5] : 0;
	*clean = junk == 0 && cut == 0 && (data[4] & 0x80) == 0 && odd == 0;

	rows = malloc((size_t)h * rowbytes);
	raw = malloc(rawlen);
	FZ_ASSERT(rows != NULL && raw != NULL);
	for (size_t i = 0; i < (size_t)h * rowbytes; i++)
		rows[i] = px[i % npx];
	for (int y = 0; y < h; y++) {
		const uint8_t *x = rows + (size_t)y * rowbytes;
		const uint8_t *prev = y > 0 ? x - rowbytes : NULL;
		uint8_t *out = raw + (size_t)y * (rowbytes + 1);
		int mode = data[4] & 7;
		int ft = mode <= 4 ? mode : mode == 5 ? px[(size_t)y % npx] % 5 : y % 5;

		out[0] = (uint8_t)ft;
		for (size_t i = 0; i < rowbytes; i++) {
			int a = i >= bpp ? x[i - bpp] : 0;
			int b = prev != NULL ? prev[i] : 0;
			int c = prev != NULL && i >= bpp ? prev[i - bpp] : 0;
			int pred = ft == 1 ? a : ft == 2 ? b : ft == 3 ? (a + b) / 2 : ft == 4 ? paeth(a, b, c) : 0;

			out[1 + i] = (uint8_t)(x[i] - pred);
		}
	}
	if (data[4] & 0x80)
		raw[0] = data[5];

	memset(&s, 0, sizeof(s));
	FZ_ASSERT(deflateInit2(&s, data[3] % 10, Z_DEFLATED, odd != 0 ? 9 + (int)(odd % 8 % 7) : 15, 8,
			       strategies[data[3] / 10 % 5]) == Z_OK);
	/* Grown as needed: zlib 1.2.13's deflateBound can be short for level 0 with a small window. */
	zlen = deflateBound(&s, (uLong)rawlen) + junk;
	z = malloc(zlen);
	FZ_ASSERT(z != NULL);
	s.next_in = raw;
	s.avail_in = (uInt)rawlen;
	for (;;) {
		int rc;

		s.next_out = z + s.total_out;
		s.avail_out = (uInt)(zlen - junk - s.total_out);
		rc = deflate(&s, Z_FINISH);
		FZ_ASSERT(rc == Z_OK || rc == Z_STREAM_END || rc == Z_BUF_ERROR);
		if (rc == Z_STREAM_END)
			break;
		zlen *= 2;
		z = realloc(z, zlen);
		FZ_ASSERT(z != NULL);
	}
	zlen = s.total_out;
	deflateEnd(&s);
	for (size_t k = 0; k < junk; k++)
		z[zlen++] = (uint8_t)(0xa5 ^ k);
	zlen -= cut;

	FZ_ASSERT(buf_append(png, signature, 8) == SEG_OK);
	{
		uint8_t ihdr[13] = {0};

		put_be32(ihdr, (uint32_t)w);
		put_be32(ihdr + 4, (uint32_t)h);
		ihdr[8] = (uint8_t)depth;
		ihdr[9] = (uint8_t)color;
		put_chunk(png, "IHDR", ihdr, 13);
	}
	if (data[7] & 0x10)
		put_chunk(png, "tEXt", (const uint8_t *)"Comment\0x", 9);
	if (color == 3) {
		uint8_t plte[3 * 256];
		size_t entries = (size_t)1 << depth;

		if ((odd >> 3) & 7)
			entries = 1 + ((odd >> 3) & 7) % entries;
		for (size_t k = 0; k < 3 * entries; k++)
			plte[k] = (uint8_t)k;
		put_chunk(png, "PLTE", plte, 3 * entries);
	}
	if (data[7] & 0x10)
		put_chunk(png, "tRNS", (const uint8_t *)"\0\1", 2);
	if (odd & 0x40)
		put_chunk(png, "IDAT", NULL, 0);
	for (size_t off = 0; off < zlen || off == 0;) {
		size_t n = idat == 0 || zlen - off < idat ? zlen - off : idat;

		put_chunk(png, "IDAT", z + off, n);
		if (off == 0 && (odd & 0x80))
			put_chunk(png, "tEXt", (const uint8_t *)"Comment\0y", 9);
		off += n;
		if (n == 0)
			break;
	}
	if (data[7] & 0x10)
		put_chunk(png, "zzZz", (const uint8_t *)"after", 5);
	put_chunk(png, "IEND", NULL, 0);
	free(rows);
	free(raw);
	free(z);
	return 1;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size > INPUT_CAP || size == 0)
		return 0;
	if (data[0] & 0x80) {
		uint8_t *fixed;
		size_t len = 0;

		compare(data, size);
		fixed = fz_png_repair(data, size, &len);
		if (fixed != NULL) {
			compare(fixed, len);
			free(fixed);
		}
	} else {
		buf png;
		int clean = 0;

		buf_init(&png, 0);
		if (build(data, size, &png, &clean)) {
			int taken = compare(png.data, png.len);

			/* Palette predictions are refused, so a clean palette file is fast once, any other twice. */
			if (clean)
				FZ_ASSERT(taken == (data[0] % 11 >= 7 ? 1 : 2));
		}
		buf_release(&png);
	}
	return 0;
}
