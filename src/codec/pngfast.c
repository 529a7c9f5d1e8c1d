/*
 * pngfast.c — the PNG fast path: non-interlaced greyscale (with or
 * without alpha) and palette files, inflated in one libdeflate call and
 * unfiltered here. pngio.c tries it first and gives libpng every file it
 * declines; see pngfast.h for the contract and pngio.c's opening comment
 * for why.
 */
#include "codec/pngfast.h"
#include "core/vmath.h"

#include <libdeflate.h>
#include <png.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

#define PNG_SIG_BYTES 8u

/* malloc(n * size) unless that overflows size_t. */
static void *alloc_array(uint64_t n, size_t size)
{
	if (size != 0 && n > SIZE_MAX / size)
		return NULL;
	return malloc(n * size != 0 ? (size_t)(n * size) : 1);
}

static inline uint32_t sample16(const uint8_t *p)
{
	return (uint32_t)p[0] << 8 | p[1];
}

static uint32_t be32(const uint8_t *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

void pngfast_fill_scale(float scale[256], int depth)
{
	double maxv = (double)((1u << (depth < 16 ? depth : 8)) - 1);

	for (int k = 0; k < 256; k++)
		scale[k] = (float)((double)k / maxv);
}

/*
 * What the fast path learnt from the chunks: the header, and where the
 * compressed data is. why says, for the tests, why it declined a file.
 */
struct fastpng {
	uint32_t width;
	uint32_t height;
	int depth;
	int color;
	int channels;           /* samples per pixel in the file: 1, or 2 with alpha */
	size_t rowbytes;        /* bytes of one row, without its filter byte */
	size_t bpp;             /* the filters' distance: bytes per pixel, at least 1 */
	size_t zlen;            /* compressed bytes over all IDAT chunks */
	size_t nidat;           /* IDAT chunks, all consecutive */
	size_t first_idat;      /* offset of the first IDAT chunk */
	char why[SEG_ERRMSG_MAX];
};

/* Records why the fast path leaves a file to libpng; returns 0. */
static int decline(struct fastpng *f, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static int decline(struct fastpng *f, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(f->why, sizeof(f->why), fmt, ap);
	va_end(ap);
	return 0;
}

/*
 * Walks the chunks check_chunks has already found complete, named and
 * (when critical) intact, and returns 1 when the file is one the fast
 * path decodes exactly as libpng does: IHDR first and valid, greyscale
 * (with or without alpha) or palette, not interlaced; a palette image's
 * one PLTE before the image data, within its size; the IDAT chunks
 * consecutive and none empty; IEND empty; no other critical chunk.
 * Anything else, well-formed or not, is left to libpng, which either
 * reads it or gives its own error.
 */
static int fast_scan(const uint8_t *data, size_t len, struct fastpng *f)
{
	const uint8_t *ihdr = data + PNG_SIG_BYTES + 8;
	size_t pos = PNG_SIG_BYTES;
	int state = 0; /* 0 before the IDAT chunks, 1 in them, 2 after them */
	int have_plte = 0;
	int ok_depth;

	if (be32(data + pos) != 13 || memcmp(data + pos + 4, "IHDR", 4) != 0)
		return decline(f, "the first chunk is not a 13-byte IHDR");
	f->width = be32(ihdr);
	f->height = be32(ihdr + 4);
	f->depth = ihdr[8];
	f->color = ihdr[9];
	if (f->width == 0 || f->height == 0 || f->width > SEG_MAX_SIDE || f->height > SEG_MAX_SIDE)
		return decline(f, "image is %lux%lu", (unsigned long)f->width, (unsigned long)f->height);
	if (ihdr[10] != 0 || ihdr[11] != 0)
		return decline(f, "compression method %d, filter method %d", ihdr[10], ihdr[11]);
	if (ihdr[12] != 0)
		return decline(f, "interlace method %d", ihdr[12]);
	switch (f->color) {
	case PNG_COLOR_TYPE_GRAY:
		ok_depth = f->depth == 1 || f->depth == 2 || f->depth == 4 || f->depth == 8 || f->depth == 16;
		f->channels = 1;
		break;
	case PNG_COLOR_TYPE_PALETTE:
		ok_depth = f->depth == 1 || f->depth == 2 || f->depth == 4 || f->depth == 8;
		f->channels = 1;
		break;
	case PNG_COLOR_TYPE_GRAY_ALPHA:
		ok_depth = f->depth == 8 || f->depth == 16;
		f->channels = 2;
		break;
	default:
		return decline(f, "colour type %d", f->color);
	}
	if (!ok_depth)
		return decline(f, "colour type %d at bit depth %d", f->color, f->depth);
	f->rowbytes = ((size_t)f->width * (size_t)f->channels * (size_t)f->depth + 7) / 8;
	f->bpp = (size_t)f->channels * (size_t)f->depth / 8;
	if (f->bpp == 0)
		f->bpp = 1;

	pos += 12 + 13;
	for (;;) {
		uint32_t n;
		const uint8_t *type;

		if (pos > len - 12) /* not reached: check_chunks ended the data at IEND */
			return decline(f, "no IEND");
		n = be32(data + pos);
		type = data + pos + 4;
		if (memcmp(type, "IEND", 4) == 0) {
			if (state == 0)
				return decline(f, "no IDAT");
			if (n != 0)
				return decline(f, "IEND is not empty");
			break;
		}
		if (memcmp(type, "IDAT", 4) == 0) {
			if (state == 2)
				return decline(f, "IDAT chunks are not consecutive");
			if (n == 0)
				return decline(f, "empty IDAT");
			if (f->color == PNG_COLOR_TYPE_PALETTE && !have_plte)
				return decline(f, "no PLTE before IDAT");
			if (state == 0)
				f->first_idat = pos;
			state = 1;
			f->nidat++;
			f->zlen += n;
		} else {
			if (state == 1)
				state = 2;
			if (memcmp(type, "PLTE", 4) == 0) {
				if (f->color != PNG_COLOR_TYPE_PALETTE || have_plte || state != 0 || n == 0 ||
				    n % 3 != 0 || n / 3 > (1u << f->depth))
					return decline(f, "PLTE of %lu bytes", (unsigned long)n);
				have_plte = 1;
			} else if ((type[0] & 0x20) == 0) {
				return decline(f, "critical chunk %.4s", (const char *)type);
			}
		}
		pos += 12 + (size_t)n;
	}
	return 1;
}

/*
 * Inflates the IDAT data in one call into *img, exactly height * (1 +
 * rowbytes) bytes (the filter byte and the row, for every row). Returns
 * 1, or 0 without an image when the stream is not exactly that: too
 * short, too long (a zlib bomb stops when the buffer is full), corrupt,
 * followed by more bytes, or using a window smaller than the image with
 * zlib's window limit then in question (libdeflate has none). libpng
 * handles those cases as it always did.
 */
static int fast_inflate(const uint8_t *data, struct fastpng *f, uint8_t **img)
{
	uint64_t total = (uint64_t)f->height * (1 + (uint64_t)f->rowbytes);
	const uint8_t *z = data + f->first_idat + 8;
	uint8_t *joined = NULL;
	struct libdeflate_decompressor *dec = NULL;
	enum libdeflate_result r;
	size_t used = 0;
	int cinfo;
	int ok = 0;

	*img = NULL;
	if (total > SIZE_MAX)
		return decline(f, "image of %llu bytes", (unsigned long long)total);
	if (f->nidat > 1) {
		size_t pos = f->first_idat;
		size_t at = 0;

		joined = malloc(f->zlen);
		if (joined == NULL)
			return decline(f, "out of memory for %zu compressed bytes", f->zlen);
		for (size_t k = 0; k < f->nidat; k++) {
			uint32_t n = be32(data + pos);

			memcpy(joined + at, data + pos + 8, n);
			at += n;
			pos += 12 + (size_t)n;
		}
		z = joined;
	}
	/* The zlib header; a window under 32 KiB must hold the whole image (see above). */
	if (f->zlen < 6) {
		decline(f, "%zu bytes of compressed data", f->zlen);
		goto out;
	}
	cinfo = z[0] >> 4;
	if ((z[0] & 0x0f) != 8 || cinfo > 7 || (z[0] * 256u + z[1]) % 31 != 0 || (z[1] & 0x20) != 0) {
		decline(f, "zlib header %02x %02x", z[0], z[1]);
		goto out;
	}
	if (cinfo < 7 && total > (1u << (cinfo + 8))) {
		decline(f, "zlib window of %u bytes for %llu bytes of image", 1u << (cinfo + 8),
			(unsigned long long)total);
		goto out;
	}
	*img = malloc(total != 0 ? (size_t)total : 1);
	dec = libdeflate_alloc_decompressor();
	if (*img == NULL || dec == NULL) {
		decline(f, "out of memory for %llu bytes of image", (unsigned long long)total);
		goto out;
	}
	r = libdeflate_zlib_decompress_ex(dec, z, f->zlen, *img, (size_t)total, &used, NULL);
	if (r != LIBDEFLATE_SUCCESS) {
		decline(f, "IDAT does not inflate to exactly %llu bytes (%s)", (unsigned long long)total,
			r == LIBDEFLATE_SHORT_OUTPUT		? "too few"
			: r == LIBDEFLATE_INSUFFICIENT_SPACE	? "too many"
								: "bad data");
		goto out;
	}
	if (used != f->zlen) {
		decline(f, "%zu bytes after the zlib stream", f->zlen - used);
		goto out;
	}
	ok = 1;
out:
	if (dec != NULL)
		libdeflate_free_decompressor(dec);
	free(joined);
	if (!ok) {
		free(*img);
		*img = NULL;
	}
	return ok;
}

/*
 * The Paeth predictor (PNG spec, section 9.4), in the spec's order of
 * ties, written without branches: with lo/hi the smaller/larger of a and
 * b and t = 3c − (a + b), the spec's choice is hi when t ≤ lo, else lo
 * when hi ≤ t, else c (the form stb_image uses). Its chain through a is
 * short, which is what bounds a row with one byte per pixel. The
 * PNG corpus and fuzz_png_diff hold it to libpng's.
 */
static inline uint8_t paeth(int a, int b, int c)
{
	int t = 3 * c - (a + b);
	int lo = a < b ? a : b;
	int hi = a < b ? b : a;
	int t0 = hi <= t ? lo : c;

	return (uint8_t)(t <= lo ? hi : t0);
}

/*
 * Undoes filter ft (1-4) on row x of n bytes with one byte per pixel,
 * prev the row above (unfiltered) or NULL for the first row. The byte to
 * the left is carried in a register: reading it back from x costs a
 * store-to-load round trip per byte, and these loops are serial anyway.
 */
static void unfilter_bpp1(uint8_t *x, const uint8_t *prev, size_t n, int ft)
{
	unsigned a = 0; /* x[i - 1], unfiltered */
	unsigned c = 0; /* prev[i - 1] */

	switch (ft) {
	case 1:
		for (size_t i = 0; i < n; i++)
			x[i] = (uint8_t)(a = (x[i] + a) & 0xff);
		break;
	case 2:
		for (size_t i = 0; i < n; i++)
			x[i] = (uint8_t)(x[i] + prev[i]);
		break;
	case 3:
		for (size_t i = 0; i < n; i++)
			x[i] = (uint8_t)(a = (x[i] + ((a + prev[i]) >> 1)) & 0xff);
		break;
	default:
		for (size_t i = 0; i < n; i++) {
			unsigned b = prev[i];

			x[i] = (uint8_t)(a = (x[i] + paeth((int)a, (int)b, (int)c)) & 0xff);
			c = b;
		}
		break;
	}
}

/*
 * The same for two bytes per pixel (16-bit grey: label maps): the two
 * byte lanes are independent chains, each carried in registers as in
 * unfilter_bpp1, so neither waits on a store-to-load round trip.
 */
static void unfilter_bpp2(uint8_t *x, const uint8_t *prev, size_t n, int ft)
{
	unsigned a0 = 0, a1 = 0; /* x[i - 2], x[i - 1] of the pixel to the left, unfiltered */
	unsigned c0 = 0, c1 = 0; /* prev[i - 2], prev[i - 1] */
	size_t i;

	switch (ft) {
	case 1:
		for (i = 0; i + 1 < n; i += 2) {
			x[i] = (uint8_t)(a0 = (x[i] + a0) & 0xff);
			x[i + 1] = (uint8_t)(a1 = (x[i + 1] + a1) & 0xff);
		}
		break;
	case 2:
		for (i = 0; i < n; i++)
			x[i] = (uint8_t)(x[i] + prev[i]);
		break;
	case 3:
		for (i = 0; i + 1 < n; i += 2) {
			x[i] = (uint8_t)(a0 = (x[i] + ((a0 + prev[i]) >> 1)) & 0xff);
			x[i + 1] = (uint8_t)(a1 = (x[i + 1] + ((a1 + prev[i + 1]) >> 1)) & 0xff);
		}
		break;
	default:
		for (i = 0; i + 1 < n; i += 2) {
			unsigned b0 = prev[i], b1 = prev[i + 1];
			x[i] = (uint8_t)(a0 = (x[i] + paeth((int)a0, (int)b0, (int)c0)) & 0xff);
			x[i + 1] = (uint8_t)(a1 = (x[i + 1] + paeth((int)a1, (int)b1, (int)c1)) & 0xff);
			c0 = b0;
			c1 = b1;
		}
		break;
	}
}

/* The same for bpp bytes per pixel (2 or 4), reading the left pixel back from x. */
static void unfilter_bytes(uint8_t *x, const uint8_t *prev, size_t n, size_t bpp, int ft)
{
	size_t i;

	switch (ft) {
	case 1:
		for (i = bpp; i < n; i++)
			x[i] = (uint8_t)(x[i] + x[i - bpp]);
		break;
	case 2:
		for (i = 0; i < n; i++)
			x[i] = (uint8_t)(x[i] + prev[i]);
		break;
	case 3:
		for (i = 0; i < bpp; i++)
			x[i] = (uint8_t)(x[i] + (prev[i] >> 1));
		for (; i < n; i++)
			x[i] = (uint8_t)(x[i] + ((x[i - bpp] + prev[i]) >> 1));
		break;
	default: /* at the left edge a = c = 0, and Paeth gives b */
		for (i = 0; i < bpp; i++)
			x[i] = (uint8_t)(x[i] + prev[i]);
		for (; i < n; i++)
			x[i] = (uint8_t)(x[i] + paeth(x[i - bpp], prev[i], prev[i - bpp]));
		break;
	}
}

/*
 * Undoes the row filters in place (PNG spec, section 9): every row is a
 * filter byte and rowbytes bytes; the row above the first is zeros.
 * Returns -1 at a filter byte over 4 (libpng: "bad adaptive filter
 * value"), with *bad_row set, else 0.
 */
static int unfilter(uint8_t *img, uint32_t height, size_t rowbytes, size_t bpp, uint32_t *bad_row)
{
	uint8_t *zeros = NULL;
	const uint8_t *prev = NULL;
	int st = 0;

	for (uint32_t y = 0; y < height; y++) {
		uint8_t *row = img + (size_t)y * (rowbytes + 1);
		int ft = row[0];

		if (ft > 4) {
			*bad_row = y;
			st = -1;
			break;
		}
		if (ft != 0) {
			if (prev == NULL && ft != 1) {
				/* The first row: Up is None, Average and Paeth see zeros above. */
				if (ft == 2)
					goto next;
				zeros = calloc(rowbytes, 1);
				if (zeros == NULL) {
					st = -2;
					break;
				}
				prev = zeros;
			}
			if (bpp == 1)
				unfilter_bpp1(row + 1, prev, rowbytes, ft);
			else if (bpp == 2 && rowbytes % 2 == 0)
				unfilter_bpp2(row + 1, prev, rowbytes, ft);
			else
				unfilter_bytes(row + 1, prev, rowbytes, bpp, ft);
		}
next:
		prev = row + 1;
	}
	free(zeros);
	return st;
}

/* For depth 1, 2 or 4: the 8/depth samples each byte value holds, most significant first. */
static void fill_unpack(uint8_t tab[256][8], int depth)
{
	int per = 8 / depth;
	unsigned mask = (1u << depth) - 1;

	for (unsigned v = 0; v < 256; v++)
		for (int k = 0; k < per; k++)
			tab[v][k] = (uint8_t)((v >> (8 - depth * (k + 1))) & mask);
}

/* The w samples of row x at depth 1, 2 or 4 (a constant after inlining), one per byte, through tab. */
static inline void unpack_bits(const uint8_t *x, uint32_t w, uint8_t *out, const uint8_t tab[256][8], int depth)
{
	const uint32_t per = 8u / (uint32_t)depth;
	uint32_t k = 0;

	for (; k + per <= w; k += per)
		memcpy(out + k, tab[*x++], per);
	for (uint32_t j = 0; k < w; k++, j++)
		out[k] = tab[*x][j];
}

/*
 * Row x (unfiltered) as one 8-bit sample per pixel, the values libpng
 * delivers after png_set_packing and png_set_strip_alpha: x itself for
 * 8-bit grey or palette, else unpacked into tmp (width bytes); tab is
 * fill_unpack's table for depths under 8.
 */
static const uint8_t *samples8(const struct fastpng *f, const uint8_t *x, uint8_t *tmp, const uint8_t tab[256][8])
{
	uint32_t w = f->width;

	switch (f->depth) {
	case 1:
		unpack_bits(x, w, tmp, tab, 1);
		return tmp;
	case 2:
		unpack_bits(x, w, tmp, tab, 2);
		return tmp;
	case 4:
		unpack_bits(x, w, tmp, tab, 4);
		return tmp;
	default:
		if (f->channels == 1)
			return x;
		for (uint32_t k = 0; k < w; k++)
			tmp[k] = x[2 * (size_t)k];
		return tmp;
	}
}

/*
 * Row x (unfiltered) of a 16-bit image as one sample per pixel (alpha
 * dropped), into tmp. Grey alone, the common case (label maps), has its
 * own loop with a constant stride, which the compiler turns into byte
 * shuffles.
 */
SEG_CLONES static void samples16(const struct fastpng *f, const uint8_t *restrict x, uint16_t *restrict tmp)
{
	uint32_t w = f->width;

	if (f->channels == 1) {
		for (uint32_t k = 0; k < w; k++)
			tmp[k] = (uint16_t)((unsigned)x[2 * (size_t)k] << 8 | x[2 * (size_t)k + 1]);
		return;
	}
	for (uint32_t k = 0; k < w; k++)
		tmp[k] = (uint16_t)sample16(x + 4 * (size_t)k);
}

#define BYTES_LOW7 UINT64_C(0x7f7f7f7f7f7f7f7f)
#define BYTES_ONES UINT64_C(0x0101010101010101)

/* 0x80 in each byte of v that is not zero, 0 in the others (no carry crosses a byte). */
static inline uint64_t nonzero_bytes(uint64_t v)
{
	return (((v & BYTES_LOW7) + BYTES_LOW7) | v) & ~BYTES_LOW7;
}

/*
 * n 8-bit samples into fg (1 where non-zero), while tracking the distinct
 * non-zero values as target_row does: *first is the first non-zero value
 * seen (0: none yet), and *many becomes 1 once another one turns up.
 * Eight samples at a time in a 64-bit word.
 */
static void target_row8(const uint8_t *s, uint32_t n, uint8_t *fg, uint32_t *first, int *many)
{
	uint64_t rep = *first * BYTES_ONES;
	uint32_t k = 0;

	for (; k + 8 <= n; k += 8) {
		uint64_t v;
		uint64_t nz;

		memcpy(&v, s + k, 8);
		nz = nonzero_bytes(v);
		v = nz >> 7;
		memcpy(fg + k, &v, 8);
		if (nz != 0 && !*many) {
			if (*first == 0) {
				uint32_t j = k;

				while (s[j] == 0)
					j++;
				*first = s[j];
				rep = *first * BYTES_ONES;
			}
			memcpy(&v, s + k, 8);
			if ((nz & nonzero_bytes(v ^ rep)) != 0)
				*many = 1;
		}
	}
	for (; k < n; k++) {
		uint32_t v = s[k];

		fg[k] = v != 0;
		if (v != 0 && v != *first) {
			if (*first == 0)
				*first = v;
			else
				*many = 1;
		}
	}
}

/*
 * The same for 16-bit samples: fg in one loop, then, until a second
 * value has turned up, the first non-zero value (when none yet) and a
 * count of non-zero samples that differ from it; loops without branches,
 * so they vectorise.
 */
SEG_CLONES static void target_row16(const uint16_t *restrict s, uint32_t n, uint8_t *restrict fg, uint32_t *first,
				    int *many)
{
	uint32_t other = 0;

	for (uint32_t k = 0; k < n; k++)
		fg[k] = s[k] != 0;
	if (*many)
		return;
	if (*first == 0) {
		uint32_t k = 0;
		while (k < n && s[k] == 0)
			k++;
		if (k == n)
			return;
		*first = s[k];
	}
	uint16_t f = (uint16_t)*first;
	for (uint32_t k = 0; k < n; k++)
		other += (s[k] != 0) & (s[k] != f);
	*many = other != 0;
}

/*
 * The unfiltered image into a target: fg first, while looking for a
 * second distinct label; labels only when there is one (the libpng path
 * fills them for every image and drops them at the end: same result).
 * Returns 0 when out of memory, with nothing allocated.
 */
static int fast_target(const struct fastpng *f, const uint8_t *img, seg_target *t)
{
	uint32_t w = f->width;
	size_t stride = f->rowbytes + 1;
	uint8_t *fg = alloc_array((uint64_t)w * f->height, 1);
	uint32_t *labels = NULL;
	void *tmp = alloc_array(w, sizeof(uint16_t));
	uint8_t tab[256][8];
	uint32_t first = 0;
	int many = 0;

	if (fg == NULL || tmp == NULL)
		goto fail;
	if (f->depth < 8)
		fill_unpack(tab, f->depth);
	for (uint32_t y = 0; y < f->height; y++) {
		const uint8_t *x = img + (size_t)y * stride + 1;
		uint8_t *out = fg + (size_t)y * w;

		if (f->depth == 16) {
			uint16_t *s = tmp;

			samples16(f, x, s);
			target_row16(s, w, out, &first, &many);
		} else {
			target_row8(samples8(f, x, tmp, tab), w, out, &first, &many);
		}
	}
	if (many) {
		labels = alloc_array((uint64_t)w * f->height, sizeof(uint32_t));
		if (labels == NULL)
			goto fail;
		for (uint32_t y = 0; y < f->height; y++) {
			const uint8_t *x = img + (size_t)y * stride + 1;
			uint32_t *out = labels + (size_t)y * w;

			if (f->depth == 16) {
				uint16_t *s = tmp;

				samples16(f, x, s);
				for (uint32_t k = 0; k < w; k++)
					out[k] = s[k];
			} else {
				const uint8_t *s = samples8(f, x, tmp, tab);

				for (uint32_t k = 0; k < w; k++)
					out[k] = s[k];
			}
		}
	}
	free(tmp);
	t->width = (int)w;
	t->height = (int)f->height;
	t->fg = fg;
	t->labels = labels;
	t->fg_value = many ? 0 : first;
	return 1;
fail:
	free(fg);
	free(labels);
	free(tmp);
	return 0;
}

/* The unfiltered greyscale image into a prediction, with pred_row's arithmetic. Returns 0 when out of memory. */
static int fast_pred(const struct fastpng *f, const uint8_t *img, seg_pred *p)
{
	uint32_t w = f->width;
	size_t stride = f->rowbytes + 1;
	float *out = alloc_array((uint64_t)w * f->height, sizeof(float));
	void *tmp = alloc_array(w, sizeof(uint16_t));
	uint8_t tab[256][8];
	/* 2^depth − 1: sample / fmax is pngfast_fill_scale's value for every level (check_codec). */
	float fmax = f->depth == 16 ? 65535.0f : (float)((1u << f->depth) - 1);

	if (out == NULL || tmp == NULL) {
		free(out);
		free(tmp);
		return 0;
	}
	if (f->depth < 8)
		fill_unpack(tab, f->depth);
	for (uint32_t y = 0; y < f->height; y++) {
		const uint8_t *x = img + (size_t)y * stride + 1;
		float *o = out + (size_t)y * w;

		if (f->depth == 16) {
			uint16_t *s = tmp;

			samples16(f, x, s);
			for (uint32_t k = 0; k < w; k++)
				o[k] = pngfast_pred16(s[k]);
		} else {
			const uint8_t *s = samples8(f, x, tmp, tab);

			for (uint32_t k = 0; k < w; k++)
				o[k] = (float)s[k] / fmax;
		}
	}
	free(tmp);
	p->width = (int)w;
	p->height = (int)f->height;
	p->p = out;
	return 1;
}

/*
 * The fast path over data[0..len), which check_chunks has accepted.
 * Returns 1 with the result in *t or *p, or 0 with why in f->why and
 * nothing allocated, when libpng is to decode the file instead.
 */
static int fast_decode(const uint8_t *data, size_t len, seg_target *t, seg_pred *p, struct fastpng *f)
{
	uint8_t *img = NULL;
	uint32_t bad_row = 0;
	int ok = 0;

	memset(f, 0, sizeof(*f));
	if (!fast_scan(data, len, f))
		return 0;
	if (p != NULL && f->color == PNG_COLOR_TYPE_PALETTE)
		return decline(f, "palette prediction");
	if (!fast_inflate(data, f, &img))
		return 0;
	switch (unfilter(img, f->height, f->rowbytes, f->bpp, &bad_row)) {
	case 0:
		break;
	case -1:
		decline(f, "filter type %d in row %lu", img[(size_t)bad_row * (f->rowbytes + 1)],
			(unsigned long)bad_row);
		goto out;
	default:
		decline(f, "out of memory for a row of %zu bytes", f->rowbytes);
		goto out;
	}
	ok = t != NULL ? fast_target(f, img, t) : fast_pred(f, img, p);
	if (!ok)
		decline(f, "out of memory for a %lux%lu image", (unsigned long)f->width, (unsigned long)f->height);
out:
	free(img);
	return ok;
}

int pngfast_decode(const uint8_t *data, size_t len, seg_target *t, seg_pred *p, char *why)
{
	struct fastpng f;
	int ok = fast_decode(data, len, t, p, &f);

	if (!ok)
		snprintf(why, SEG_ERRMSG_MAX, "%s", f.why);
	return ok;
}
