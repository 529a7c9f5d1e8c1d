/*
 * pngio.c — PNG bytes to masks and maps to PNG bytes, with libpng 1.6.
 *
 * Decoding first walks the chunk list itself (check_chunks): every chunk
 * through IEND must be complete and every critical chunk's CRC right, so
 * a truncated or corrupted file is refused with "png: truncated file" or
 * "png: CRC error in IDAT" before libpng allocates anything, and libpng is
 * told not to check those CRCs again. libpng then runs as a push reader
 * (png_process_data over the whole buffer, through IEND): on_info checks
 * the size and allocates the outputs, on_row converts each row straight
 * into them, on_end marks the end. Its errors reach on_error, which copies
 * the message (reworded: "IDAT: CRC error" becomes "CRC error in IDAT",
 * first letter lowercased) and longjmps back to the one setjmp, in
 * decode_run; our own errors inside callbacks write the caller's
 * seg_error and jump the same way. Warnings are dropped. Functions that
 * call setjmp keep their state in a struct owned by their caller, so no
 * automatic variable of the setjmp frame changes between setjmp and
 * longjmp (C11 7.13.2.1); the caller frees what the struct holds on every
 * path.
 *
 * The fast path comes first. For the files masks usually are (greyscale
 * at any depth, with or without alpha, or palette; not interlaced)
 * libpng's work per row (an inflate call, the unfilter, the transforms,
 * a callback) costs several times the inflating itself, so pngfast.c
 * does without it: fast_scan accepts only a chunk layout libpng reads
 * without complaint (IHDR first and valid; a palette image's one PLTE,
 * before the data and within its bit depth; the IDAT chunks consecutive
 * and none empty; IEND empty; no other critical chunk), libdeflate
 * inflates the IDAT data in one call into a buffer of exactly height x
 * (1 + rowbytes) bytes, unfilter undoes the row filters in place (PNG
 * spec, section 9), and the rows go straight into the outputs by the
 * rules of the libpng path (pngfast_fill_scale and pngfast_pred16 are
 * shared). Anything else goes to libpng as before: another format, a zlib stream that is
 * short, long (a zlib bomb stops as soon as the buffer is full), corrupt
 * or followed by more bytes, a filter byte over 4, a zlib window smaller
 * than the image (zlib enforces the window, libdeflate does not). The
 * fast path never fails a request, it decodes or declines, so every error
 * and warning is still libpng's. The one difference left: libdeflate
 * decodes a few deflate streams zlib refuses (length symbols 286-287,
 * distance symbols 30-31, an incomplete Huffman code whose missing
 * codeword is used, more than 286 or 30 code lengths), files no encoder
 * writes, which decode here where libpng calls the data corrupt. The
 * tests and tests/fuzz/fuzz_png_diff.c compare both paths byte for byte.
 *
 * Why push, not png_read_row: the pull reader, after the last row,
 * inflates whatever is left of the IDAT stream to check for extra data,
 * so a 16x16 header over a gigabyte of zeros costs seconds. The push
 * reader stops inflating once the last row is out ("extra compressed
 * data" is a warning) and skips the rest unread.
 *
 * Bounded work and memory: ancillary chunks other than tRNS are discarded
 * unread (PNG_HANDLE_CHUNK_NEVER), chunk buffers are capped, and
 * width*height is checked against the caller's cap and SEG_MAX_SIDE in
 * on_info, before any pixel memory exists. The libpng path has no
 * image-sized buffer besides the outputs: interlaced images are not
 * expanded by libpng; each pass's sub-image rows are scattered into place
 * with the Adam7 macros. Rows are counted, so an image whose data stops
 * early (libpng treats some of those cases as benign) is an error. The
 * fast path adds one buffer, the inflated image (at most four bytes a
 * pixel plus one a row), and allocates labels only once a second label
 * turns up.
 *
 * Transforms are few, so the values are the file's values: png_set_packing
 * spreads 1/2/4-bit samples to one byte each without scaling,
 * png_set_strip_alpha drops alpha (ignored by both roles), palettes are
 * not expanded (a target's label is the index), and 16-bit samples are
 * assembled from their big-endian bytes here, so no byte swapping depends
 * on the host.
 *
 * Encoding writes into a buf through png_set_write_fn at zlib level
 * Z_BEST_SPEED without row filters (measured on a 4096x4096 heatmap: 0.26 s
 * and 4.5 MB unfiltered against 0.68 s and 6.9 MB with libpng's adaptive
 * filtering). Heatmaps use matplotlib's viridis table as 8-bit RGB, and
 * carry the ends of their scale as tEXt chunks (map_min, map_max, with
 * colormap = viridis), so a saved heatmap can still be read as numbers.
 */
#include "codec/pngio.h"
#include "codec/pngfast.h"
#include "codec/pngio_internal.h"

#include <libdeflate.h>
#include <math.h>
#include <png.h>
#include <setjmp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

#define PNGIO_CHUNK_MALLOC_MAX (8u << 20) /* largest chunk libpng may buffer */
#define PNGIO_CHUNK_CACHE_MAX 256u        /* ancillary chunks before libpng gives up */

static const uint8_t png_signature[8] = {0x89, 'P', 'N', 'G', '\r', '\n', 0x1a, '\n'};

int pngio_is_png(const uint8_t *data, size_t len)
{
	return len >= sizeof(png_signature) && memcmp(data, png_signature, sizeof(png_signature)) == 0;
}

/* ---- errors ------------------------------------------------------------ */

/*
 * Copies libpng's message into msg (SEG_ERRMSG_MAX bytes) in our style:
 * "IDAT: CRC error" -> "CRC error in IDAT"; "Not a PNG file" -> "not a PNG file".
 */
static void describe(char *msg, const char *in)
{
	const char *chunk = NULL;
	size_t n;

	if (strlen(in) > 6 && in[4] == ':' && in[5] == ' ') {
		int letters = 1;

		for (int k = 0; k < 4; k++) {
			char c = in[k];

			if (!((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z')))
				letters = 0;
		}
		if (letters) {
			chunk = in;
			in += 6;
		}
	}
	if (chunk != NULL)
		snprintf(msg, SEG_ERRMSG_MAX, "%s in %.4s", in, chunk);
	else
		snprintf(msg, SEG_ERRMSG_MAX, "%s", in);
	n = strlen(msg);
	if (n >= 2 && msg[0] >= 'A' && msg[0] <= 'Z' && msg[1] >= 'a' && msg[1] <= 'z')
		msg[0] = (char)(msg[0] - 'A' + 'a');
}

/* libpng error handler: the error pointer is a SEG_ERRMSG_MAX message buffer. */
static void PNGCBAPI on_error(png_structp png, png_const_charp text)
{
	char *msg = png_get_error_ptr(png);

	describe(msg, text != NULL ? text : "unknown libpng error");
	png_longjmp(png, 1);
}

static void PNGCBAPI on_warning(png_structp png, png_const_charp text)
{
	(void)png;
	(void)text;
}

/* libpng says "Out of memory" when its own allocations fail. */
static seg_status status_of(const char *msg)
{
	return strstr(msg, "ut of memory") != NULL ? SEG_ENOMEM : SEG_EDECODE;
}

/* malloc(n * size) unless that overflows size_t. */
static void *alloc_array(uint64_t n, size_t size)
{
	if (size != 0 && n > SIZE_MAX / size)
		return NULL;
	return malloc(n * size != 0 ? (size_t)(n * size) : 1);
}

/* ---- decoding ---------------------------------------------------------- */

static uint32_t be32(const uint8_t *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

static int is_letter(uint8_t c)
{
	return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z');
}

/*
 * Walks the chunks of data[0..len) after the signature through IEND: each
 * one complete, its type four letters, its length in range, and the CRC
 * of every critical chunk right. *end is the offset just past IEND; bytes
 * after it are ignored, as libpng ignores them. The size in IHDR is held
 * against the caps here too, so a header that promises too many pixels is
 * refused as too large whatever follows it (libpng reports its size only
 * once image data arrives).
 */
static seg_status check_size(uint32_t w, uint32_t h, uint64_t max_pixels, seg_error *err)
{
	uint64_t npix = (uint64_t)w * h;

	if (w > SEG_MAX_SIDE || h > SEG_MAX_SIDE)
		return seg_fail(err, SEG_ETOOBIG, "png: image is %lux%lu, over the limit of %d pixels a side",
				(unsigned long)w, (unsigned long)h, SEG_MAX_SIDE);
	if (npix > max_pixels)
		return seg_fail(err, SEG_ETOOBIG, "png: image is %lux%lu (%llu pixels), over the limit of %llu",
				(unsigned long)w, (unsigned long)h, (unsigned long long)npix,
				(unsigned long long)max_pixels);
	return SEG_OK;
}

static seg_status check_chunks(const uint8_t *data, size_t len, uint64_t max_pixels, size_t *end, seg_error *err)
{
	size_t pos = sizeof(png_signature);

	for (;;) {
		const uint8_t *type;
		uint32_t n;

		if (len - pos < 12)
			return seg_fail(err, SEG_EDECODE, "png: truncated file");
		n = be32(data + pos);
		type = data + pos + 4;
		if (!is_letter(type[0]) || !is_letter(type[1]) || !is_letter(type[2]) || !is_letter(type[3]))
			return seg_fail(err, SEG_EDECODE, "png: invalid chunk type at offset %zu", pos + 4);
		if (n > PNG_UINT_31_MAX)
			return seg_fail(err, SEG_EDECODE, "png: chunk length %lu out of range in %.4s",
					(unsigned long)n, (const char *)type);
		if (n > len - pos - 12)
			return seg_fail(err, SEG_EDECODE, "png: truncated file");
		/*
		 * Critical chunks (upper-case first letter): the CRC-32 PNG specifies
		 * (zlib's), from libdeflate, whose carry-less-multiply version is
		 * several times faster on the large IDAT chunks.
		 */
		if ((type[0] & 0x20) == 0 && libdeflate_crc32(0, type, 4 + (size_t)n) != be32(type + 4 + n))
			return seg_fail(err, SEG_EDECODE, "png: CRC error in %.4s", (const char *)type);
		if (memcmp(type, "IHDR", 4) == 0 && n == 13) {
			seg_status st = check_size(be32(type + 4), be32(type + 8), max_pixels, err);
			if (st != SEG_OK)
				return st;
		}
		pos += 12 + (size_t)n;
		if (memcmp(type, "IEND", 4) == 0) {
			*end = pos;
			return SEG_OK;
		}
	}
}

enum role { ROLE_TARGET, ROLE_PRED };

struct pngdec {
	char msg[SEG_ERRMSG_MAX]; /* libpng's last error, reworded; first member (see on_error) */
	const uint8_t *data;      /* borrowed input, through IEND */
	size_t len;
	enum role role;
	uint64_t max_pixels;
	seg_error *err;           /* the caller's, for errors found in our callbacks */
	seg_status status;        /* set with err by our callbacks before they jump out */
	png_structp png;
	png_infop info;

	/* The image as the rows come out after our transforms. */
	uint32_t width;
	uint32_t height;
	int depth;                /* 1..16; samples of depth < 8 come one per byte */
	int channels;             /* 1 (grey, palette) or 3 (RGB) */
	int interlaced;
	uint64_t rows_expected;   /* rows libpng will deliver, over all passes */
	uint64_t rows_seen;
	int ended;                /* IEND reached */

	/* Results, moved to the caller on success. */
	seg_target t;
	seg_pred p;
	uint32_t first_label;     /* first non-zero label seen */
	int many_labels;          /* a second distinct non-zero label was seen */
	float scale[256];         /* p for each raw value when depth <= 8 */
};

static inline uint32_t sample16(const uint8_t *p)
{
	return (uint32_t)p[0] << 8 | p[1];
}

/*
 * Converts n pixels of a delivered row into the target: pixel k goes to
 * index at + k * step of the output (step > 1 for an interlace pass).
 */
static void target_row(struct pngdec *d, const uint8_t *row, size_t at, size_t step, uint32_t n)
{
	uint8_t *fg = d->t.fg;
	uint32_t *labels = d->t.labels;
	uint32_t first = d->first_label;
	int many = d->many_labels;

	for (uint32_t k = 0; k < n; k++, at += step) {
		uint32_t v;

		if (d->channels == 1) {
			v = d->depth == 16 ? sample16(row + 2 * (size_t)k) : row[k];
		} else if (d->depth == 8) {
			const uint8_t *px = row + 3 * (size_t)k;

			v = (uint32_t)px[0] << 16 | (uint32_t)px[1] << 8 | px[2];
		} else {
			const uint8_t *px = row + 6 * (size_t)k;
			int any = (px[0] | px[1] | px[2] | px[3] | px[4] | px[5]) != 0;

			/* Pack the high bytes; a colour only in the low bytes is label 1. */
			v = (uint32_t)px[0] << 16 | (uint32_t)px[2] << 8 | px[4];
			if (v == 0 && any)
				v = 1;
		}
		fg[at] = v != 0;
		labels[at] = v;
		if (v != 0 && v != first) {
			if (first == 0)
				first = v;
			else
				many = 1;
		}
	}
	d->first_label = first;
	d->many_labels = many;
}

static void pred_row(struct pngdec *d, const uint8_t *row, size_t at, size_t step, uint32_t n)
{
	float *p = d->p.p;

	if (d->depth == 16) {
		for (uint32_t k = 0; k < n; k++, at += step)
			p[at] = pngfast_pred16(sample16(row + 2 * (size_t)k));
	} else {
		for (uint32_t k = 0; k < n; k++, at += step)
			p[at] = d->scale[row[k]];
	}
}

static const char *colour_name(int color)
{
	switch (color) {
	case PNG_COLOR_TYPE_PALETTE:
		return "a palette";
	case PNG_COLOR_TYPE_RGB:
		return "an RGB";
	case PNG_COLOR_TYPE_RGB_ALPHA:
		return "an RGBA";
	case PNG_COLOR_TYPE_GRAY_ALPHA:
		return "a grey+alpha";
	default:
		return "a greyscale";
	}
}

/* Our own failure inside a libpng callback: err is already written. */
static void fail_in_callback(struct pngdec *d, seg_status st)
{
	d->status = st;
	png_longjmp(d->png, 1);
}

/* After IHDR (and PLTE): check the size, choose transforms, allocate the outputs. */
static void PNGCBAPI on_info(png_structp png, png_infop info)
{
	struct pngdec *d = png_get_progressive_ptr(png);
	png_uint_32 w;
	png_uint_32 h;
	int depth;
	int color;
	int interlace;
	uint64_t npix;
	size_t rowbytes;

	png_get_IHDR(png, info, &w, &h, &depth, &color, &interlace, NULL, NULL);
	if (d->role == ROLE_PRED && (color & PNG_COLOR_MASK_COLOR) != 0)
		fail_in_callback(d, seg_fail(d->err, SEG_EINVAL, "prediction must be greyscale, got %s PNG",
					     colour_name(color)));
	npix = (uint64_t)w * h;
	if (w > SEG_MAX_SIDE || h > SEG_MAX_SIDE)
		fail_in_callback(d, seg_fail(d->err, SEG_ETOOBIG,
					     "png: image is %lux%lu, over the limit of %d pixels a side",
					     (unsigned long)w, (unsigned long)h, SEG_MAX_SIDE));
	if (npix > d->max_pixels)
		fail_in_callback(d, seg_fail(d->err, SEG_ETOOBIG,
					     "png: image is %lux%lu (%llu pixels), over the limit of %llu",
					     (unsigned long)w, (unsigned long)h, (unsigned long long)npix,
					     (unsigned long long)d->max_pixels));

	if (depth < 8)
		png_set_packing(png);
	if ((color & PNG_COLOR_MASK_ALPHA) != 0)
		png_set_strip_alpha(png);
	png_read_update_info(png, info);

	d->width = w;
	d->height = h;
	d->depth = depth;
	d->channels = png_get_channels(png, info);
	d->interlaced = interlace != PNG_INTERLACE_NONE;
	rowbytes = png_get_rowbytes(png, info);
	if (d->channels != ((color & PNG_COLOR_MASK_COLOR) != 0 && color != PNG_COLOR_TYPE_PALETTE ? 3 : 1) ||
	    rowbytes != (size_t)w * (size_t)d->channels * (depth == 16 ? 2u : 1u))
		fail_in_callback(d, seg_fail(d->err, SEG_EINTERNAL,
					     "png: unexpected row layout (%d channels, %zu bytes)", d->channels,
					     rowbytes));
	if (!d->interlaced) {
		d->rows_expected = h;
	} else {
		/* libpng skips the passes that hold no pixel (small images). */
		for (int pass = 0; pass < 7; pass++)
			if (PNG_PASS_COLS(w, pass) != 0)
				d->rows_expected += PNG_PASS_ROWS(h, pass);
	}

	if (d->role == ROLE_TARGET) {
		d->t.fg = alloc_array(npix, 1);
		d->t.labels = alloc_array(npix, sizeof(uint32_t));
		if (d->t.fg == NULL || d->t.labels == NULL)
			fail_in_callback(d, seg_fail(d->err, SEG_ENOMEM, "png: out of memory for a %lux%lu target",
						     (unsigned long)w, (unsigned long)h));
	} else {
		pngfast_fill_scale(d->scale, depth);
		d->p.p = alloc_array(npix, sizeof(float));
		if (d->p.p == NULL)
			fail_in_callback(d, seg_fail(d->err, SEG_ENOMEM,
						     "png: out of memory for a %lux%lu prediction",
						     (unsigned long)w, (unsigned long)h));
	}
}

/* One row of the image, or of an interlace pass's sub-image. */
static void PNGCBAPI on_row(png_structp png, png_bytep row, png_uint_32 y, int pass)
{
	struct pngdec *d = png_get_progressive_ptr(png);
	uint32_t n = d->width;
	uint32_t x0 = 0;
	uint32_t step = 1;

	if (row == NULL)
		return;
	if (d->interlaced) {
		if (pass < 0 || pass > 6 || y >= PNG_PASS_ROWS(d->height, pass))
			fail_in_callback(d, seg_fail(d->err, SEG_EINTERNAL, "png: row %lu of pass %d is outside the image",
						     (unsigned long)y, pass));
		n = PNG_PASS_COLS(d->width, pass);
		x0 = PNG_PASS_START_COL(pass);
		step = PNG_PASS_COL_OFFSET(pass);
		y = PNG_ROW_FROM_PASS_ROW(y, pass);
	}
	if (y >= d->height || d->rows_seen >= d->rows_expected)
		fail_in_callback(d, seg_fail(d->err, SEG_EINTERNAL, "png: row %lu is outside the image",
					     (unsigned long)y));
	if (d->role == ROLE_TARGET)
		target_row(d, row, (size_t)y * d->width + x0, step, n);
	else
		pred_row(d, row, (size_t)y * d->width + x0, step, n);
	d->rows_seen++;
}

static void PNGCBAPI on_end(png_structp png, png_infop info)
{
	struct pngdec *d = png_get_progressive_ptr(png);

	(void)info;
	d->ended = 1;
}

/* The only setjmp of the decoder; d is owned by the caller and outlives the jump. */
static seg_status decode_run(struct pngdec *d, seg_error *err)
{
	d->png = png_create_read_struct(PNG_LIBPNG_VER_STRING, d->msg, on_error, on_warning);
	if (d->png == NULL)
		return seg_fail(err, SEG_ENOMEM, "png: out of memory");
	d->info = png_create_info_struct(d->png);
	if (d->info == NULL)
		return seg_fail(err, SEG_ENOMEM, "png: out of memory");
	if (setjmp(png_jmpbuf(d->png))) {
		if (d->status != SEG_OK)
			return d->status;
		return seg_fail(err, status_of(d->msg), "png: %s", d->msg);
	}

	/* Our own size check in on_info gives a clearer error than libpng's limits. */
	png_set_user_limits(d->png, PNG_UINT_31_MAX, PNG_UINT_31_MAX);
	png_set_chunk_malloc_max(d->png, PNGIO_CHUNK_MALLOC_MAX);
	png_set_chunk_cache_max(d->png, PNGIO_CHUNK_CACHE_MAX);
	/* Skip every chunk but IHDR, PLTE, tRNS, IDAT and IEND unread. */
	png_set_keep_unknown_chunks(d->png, PNG_HANDLE_CHUNK_NEVER, NULL, -1);
	/* check_chunks verified the critical CRCs already. */
	png_set_crc_action(d->png, PNG_CRC_QUIET_USE, PNG_CRC_DEFAULT);
	png_set_progressive_read_fn(d->png, d, on_info, on_row, on_end);
	/* libpng reads the buffer and never writes it; the cast only drops const. */
	png_process_data(d->png, d->info, (png_bytep)(uintptr_t)d->data, d->len);

	if (d->rows_seen != d->rows_expected || d->rows_expected == 0 || !d->ended)
		return seg_fail(err, SEG_EDECODE, "png: not enough image data (%llu of %llu rows)",
				(unsigned long long)d->rows_seen, (unsigned long long)d->rows_expected);
	return SEG_OK;
}

static seg_status decode(const uint8_t *data, size_t len, uint64_t max_pixels, enum role role,
			 enum pngio_path path, seg_target *t, seg_pred *p, seg_error *err)
{
	struct pngdec d;
	char why[SEG_ERRMSG_MAX];
	size_t end = 0;
	seg_status st;

	memset(&d, 0, sizeof(d));
	if (!pngio_is_png(data, len)) {
		if (len < sizeof(png_signature) && (len == 0 || memcmp(data, png_signature, len) == 0))
			st = seg_fail(err, SEG_EDECODE, "png: truncated file");
		else
			st = seg_fail(err, SEG_EDECODE, "png: not a PNG file (bad signature)");
		goto out;
	}
	st = check_chunks(data, len, max_pixels, &end, err);
	if (st != SEG_OK)
		goto out;
	if (path != PNGIO_PATH_LIBPNG) {
		if (pngfast_decode(data, end, t, p, why))
			goto out; /* st is SEG_OK */
		if (path == PNGIO_PATH_FAST) {
			st = seg_fail(err, SEG_EUNSUPPORTED, "png: fast path: %s", why);
			goto out;
		}
	}
	d.data = data;
	d.len = end;
	d.role = role;
	d.max_pixels = max_pixels;
	d.err = err;
	st = decode_run(&d, err);
	if (st != SEG_OK)
		goto out;
	if (role == ROLE_TARGET) {
		d.t.width = (int)d.width;
		d.t.height = (int)d.height;
		if (!d.many_labels) {
			free(d.t.labels);
			d.t.labels = NULL;
			d.t.fg_value = d.first_label;
		}
		*t = d.t;
		memset(&d.t, 0, sizeof(d.t));
	} else {
		d.p.width = (int)d.width;
		d.p.height = (int)d.height;
		*p = d.p;
		memset(&d.p, 0, sizeof(d.p));
	}
out:
	if (d.png != NULL)
		png_destroy_read_struct(&d.png, d.info != NULL ? &d.info : NULL, NULL);
	seg_target_release(&d.t);
	seg_pred_release(&d.p);
	return st;
}

seg_status pngio_decode_target(const uint8_t *data, size_t len, uint64_t max_pixels,
			       seg_target *out, seg_error *err)
{
	return pngio_decode_target_path(data, len, max_pixels, PNGIO_PATH_AUTO, out, err);
}

seg_status pngio_decode_pred(const uint8_t *data, size_t len, uint64_t max_pixels,
			     seg_pred *out, seg_error *err)
{
	return pngio_decode_pred_path(data, len, max_pixels, PNGIO_PATH_AUTO, out, err);
}

seg_status pngio_decode_target_path(const uint8_t *data, size_t len, uint64_t max_pixels,
				    enum pngio_path path, seg_target *out, seg_error *err)
{
	memset(out, 0, sizeof(*out));
	return decode(data, len, max_pixels, ROLE_TARGET, path, out, NULL, err);
}

seg_status pngio_decode_pred_path(const uint8_t *data, size_t len, uint64_t max_pixels,
				  enum pngio_path path, seg_pred *out, seg_error *err)
{
	memset(out, 0, sizeof(*out));
	return decode(data, len, max_pixels, ROLE_PRED, path, NULL, out, err);
}

/* ---- encoding ---------------------------------------------------------- */

/* matplotlib's viridis as 8-bit RGB: colormaps['viridis'](range(256), bytes=True). */
static const uint8_t viridis[256][3] = {
	{68, 1, 84}, {68, 2, 85}, {68, 3, 87}, {69, 5, 88}, {69, 6, 90}, {69, 8, 91},
	{70, 9, 92}, {70, 11, 94}, {70, 12, 95}, {70, 14, 97}, {71, 15, 98}, {71, 17, 99},
	{71, 18, 101}, {71, 20, 102}, {71, 21, 103}, {71, 22, 105}, {71, 24, 106}, {72, 25, 107},
	{72, 26, 108}, {72, 28, 110}, {72, 29, 111}, {72, 30, 112}, {72, 32, 113}, {72, 33, 114},
	{72, 34, 115}, {72, 35, 116}, {71, 37, 117}, {71, 38, 118}, {71, 39, 119}, {71, 40, 120},
	{71, 42, 121}, {71, 43, 122}, {71, 44, 123}, {70, 45, 124}, {70, 47, 124}, {70, 48, 125},
	{70, 49, 126}, {69, 50, 127}, {69, 52, 127}, {69, 53, 128}, {69, 54, 129}, {68, 55, 129},
	{68, 57, 130}, {67, 58, 131}, {67, 59, 131}, {67, 60, 132}, {66, 61, 132}, {66, 62, 133},
	{66, 64, 133}, {65, 65, 134}, {65, 66, 134}, {64, 67, 135}, {64, 68, 135}, {63, 69, 135},
	{63, 71, 136}, {62, 72, 136}, {62, 73, 137}, {61, 74, 137}, {61, 75, 137}, {61, 76, 137},
	{60, 77, 138}, {60, 78, 138}, {59, 80, 138}, {59, 81, 138}, {58, 82, 139}, {58, 83, 139},
	{57, 84, 139}, {57, 85, 139}, {56, 86, 139}, {56, 87, 140}, {55, 88, 140}, {55, 89, 140},
	{54, 90, 140}, {54, 91, 140}, {53, 92, 140}, {53, 93, 140}, {52, 94, 141}, {52, 95, 141},
	{51, 96, 141}, {51, 97, 141}, {50, 98, 141}, {50, 99, 141}, {49, 100, 141}, {49, 101, 141},
	{49, 102, 141}, {48, 103, 141}, {48, 104, 141}, {47, 105, 141}, {47, 106, 141}, {46, 107, 142},
	{46, 108, 142}, {46, 109, 142}, {45, 110, 142}, {45, 111, 142}, {44, 112, 142}, {44, 113, 142},
	{44, 114, 142}, {43, 115, 142}, {43, 116, 142}, {42, 117, 142}, {42, 118, 142}, {42, 119, 142},
	{41, 120, 142}, {41, 121, 142}, {40, 122, 142}, {40, 122, 142}, {40, 123, 142}, {39, 124, 142},
	{39, 125, 142}, {39, 126, 142}, {38, 127, 142}, {38, 128, 142}, {38, 129, 142}, {37, 130, 142},
	{37, 131, 141}, {36, 132, 141}, {36, 133, 141}, {36, 134, 141}, {35, 135, 141}, {35, 136, 141},
	{35, 137, 141}, {34, 137, 141}, {34, 138, 141}, {34, 139, 141}, {33, 140, 141}, {33, 141, 140},
	{33, 142, 140}, {32, 143, 140}, {32, 144, 140}, {32, 145, 140}, {31, 146, 140}, {31, 147, 139},
	{31, 148, 139}, {31, 149, 139}, {31, 150, 139}, {30, 151, 138}, {30, 152, 138}, {30, 153, 138},
	{30, 153, 138}, {30, 154, 137}, {30, 155, 137}, {30, 156, 137}, {30, 157, 136}, {30, 158, 136},
	{30, 159, 136}, {30, 160, 135}, {31, 161, 135}, {31, 162, 134}, {31, 163, 134}, {32, 164, 133},
	{32, 165, 133}, {33, 166, 133}, {33, 167, 132}, {34, 167, 132}, {35, 168, 131}, {35, 169, 130},
	{36, 170, 130}, {37, 171, 129}, {38, 172, 129}, {39, 173, 128}, {40, 174, 127}, {41, 175, 127},
	{42, 176, 126}, {43, 177, 125}, {44, 177, 125}, {46, 178, 124}, {47, 179, 123}, {48, 180, 122},
	{50, 181, 122}, {51, 182, 121}, {53, 183, 120}, {54, 184, 119}, {56, 185, 118}, {57, 185, 118},
	{59, 186, 117}, {61, 187, 116}, {62, 188, 115}, {64, 189, 114}, {66, 190, 113}, {68, 190, 112},
	{69, 191, 111}, {71, 192, 110}, {73, 193, 109}, {75, 194, 108}, {77, 194, 107}, {79, 195, 105},
	{81, 196, 104}, {83, 197, 103}, {85, 198, 102}, {87, 198, 101}, {89, 199, 100}, {91, 200, 98},
	{94, 201, 97}, {96, 201, 96}, {98, 202, 95}, {100, 203, 93}, {103, 204, 92}, {105, 204, 91},
	{107, 205, 89}, {109, 206, 88}, {112, 206, 86}, {114, 207, 85}, {116, 208, 84}, {119, 208, 82},
	{121, 209, 81}, {124, 210, 79}, {126, 210, 78}, {129, 211, 76}, {131, 211, 75}, {134, 212, 73},
	{136, 213, 71}, {139, 213, 70}, {141, 214, 68}, {144, 214, 67}, {146, 215, 65}, {149, 215, 63},
	{151, 216, 62}, {154, 216, 60}, {157, 217, 58}, {159, 217, 56}, {162, 218, 55}, {165, 218, 53},
	{167, 219, 51}, {170, 219, 50}, {173, 220, 48}, {175, 220, 46}, {178, 221, 44}, {181, 221, 43},
	{183, 221, 41}, {186, 222, 39}, {189, 222, 38}, {191, 223, 36}, {194, 223, 34}, {197, 223, 33},
	{199, 224, 31}, {202, 224, 30}, {205, 224, 29}, {207, 225, 28}, {210, 225, 27}, {212, 225, 26},
	{215, 226, 25}, {218, 226, 24}, {220, 226, 24}, {223, 227, 24}, {225, 227, 24}, {228, 227, 24},
	{231, 228, 25}, {233, 228, 25}, {236, 228, 26}, {238, 229, 27}, {241, 229, 28}, {243, 229, 30},
	{246, 230, 31}, {248, 230, 33}, {250, 230, 34}, {253, 231, 36},
};

enum enc_kind { ENC_GRAY8, ENC_GRAY16, ENC_HEATMAP, ENC_PALETTE };

struct pngenc {
	char msg[SEG_ERRMSG_MAX];
	enum enc_kind kind;
	const void *px; /* borrowed: uint8_t, uint16_t or float, w*h */
	int w;
	int h;
	buf *out;
	seg_status write_status; /* why write_mem failed, if it did */
	uint8_t *row;            /* owned: one output row */
	double lo;               /* heatmap scale: viridis[0] at lo, viridis[255] at hi */
	double hi;
	char text[2][32];        /* heatmap: lo and hi as tEXt map_min, map_max */
	const uint32_t *palette; /* ENC_PALETTE: npal colours 0xRRGGBBAA */
	int npal;
	png_structp png;
	png_infop info;
};

static void PNGCBAPI write_mem(png_structp png, png_bytep data, size_t n)
{
	struct pngenc *e = png_get_io_ptr(png);
	seg_status st = buf_append(e->out, data, n);

	if (st != SEG_OK) {
		e->write_status = st;
		png_error(png, st == SEG_ETOOBIG ? "output is over the buffer limit" : "Out of memory");
	}
}

static void PNGCBAPI flush_mem(png_structp png)
{
	(void)png;
}

/* Viridis index of v: matplotlib's rule, floor(x * 256) clipped to [0, 255], x = (v - lo) / (hi - lo). */
static int heat_index(float v, double lo, double hi)
{
	double x;

	if (isnan(v) || !(hi > lo))
		return 0;
	x = ((double)v - lo) / (hi - lo) * 256.0;
	if (x < 0.0)
		return 0;
	if (x >= 255.0)
		return 255;
	return (int)x;
}

static const uint8_t *encode_row(struct pngenc *e, int y)
{
	size_t base = (size_t)y * (size_t)e->w;

	switch (e->kind) {
	case ENC_GRAY8:
	case ENC_PALETTE:
		return (const uint8_t *)e->px + base;
	case ENC_GRAY16: {
		const uint16_t *src = (const uint16_t *)e->px + base;

		for (int x = 0; x < e->w; x++) {
			e->row[2 * x] = (uint8_t)(src[x] >> 8);
			e->row[2 * x + 1] = (uint8_t)src[x];
		}
		return e->row;
	}
	case ENC_HEATMAP: {
		const float *src = (const float *)e->px + base;

		for (int x = 0; x < e->w; x++)
			memcpy(e->row + 3 * (size_t)x, viridis[heat_index(src[x], e->lo, e->hi)], 3);
		return e->row;
	}
	}
	return e->row;
}

/* The only setjmp of the encoder; e is owned by the caller and outlives the jump. */
static seg_status encode_run(struct pngenc *e, seg_error *err)
{
	int bits = e->kind == ENC_GRAY16 ? 16 : 8;
	int color = e->kind == ENC_HEATMAP ? PNG_COLOR_TYPE_RGB
		    : e->kind == ENC_PALETTE ? PNG_COLOR_TYPE_PALETTE
					     : PNG_COLOR_TYPE_GRAY;

	e->png = png_create_write_struct(PNG_LIBPNG_VER_STRING, e->msg, on_error, on_warning);
	if (e->png == NULL)
		return seg_fail(err, SEG_ENOMEM, "png: out of memory");
	e->info = png_create_info_struct(e->png);
	if (e->info == NULL)
		return seg_fail(err, SEG_ENOMEM, "png: out of memory");
	if (setjmp(png_jmpbuf(e->png))) {
		if (e->write_status != SEG_OK)
			return seg_fail(err, e->write_status, "png: %s", e->msg);
		return seg_fail(err, status_of(e->msg), "png: %s", e->msg);
	}
	png_set_user_limits(e->png, SEG_MAX_SIDE, SEG_MAX_SIDE);
	png_set_write_fn(e->png, e, write_mem, flush_mem);
	png_set_IHDR(e->png, e->info, (png_uint_32)e->w, (png_uint_32)e->h, bits, color,
		     PNG_INTERLACE_NONE, PNG_COMPRESSION_TYPE_DEFAULT, PNG_FILTER_TYPE_DEFAULT);
	png_set_compression_level(e->png, Z_BEST_SPEED);
	/* Masks and LUT colours repeat exactly: unfiltered rows deflate smaller and 2-3x faster. */
	png_set_filter(e->png, 0, PNG_FILTER_NONE);
	if (e->kind == ENC_PALETTE) {
		png_color plte[256];
		png_byte trns[256];
		for (int i = 0; i < e->npal; i++) {
			plte[i].red = (png_byte)(e->palette[i] >> 24);
			plte[i].green = (png_byte)(e->palette[i] >> 16);
			plte[i].blue = (png_byte)(e->palette[i] >> 8);
			trns[i] = (png_byte)e->palette[i];
		}
		png_set_PLTE(e->png, e->info, plte, e->npal); /* copied by libpng */
		png_set_tRNS(e->png, e->info, trns, e->npal, NULL);
	}
	if (e->kind == ENC_HEATMAP) {
		/* The scale travels with the image: a colour bar can be drawn from the file alone. */
		char k_min[] = "map_min", k_max[] = "map_max", k_cmap[] = "colormap", cmap[] = "viridis";
		png_charp keys[3] = {k_min, k_max, k_cmap}, values[3] = {e->text[0], e->text[1], cmap};
		png_text text[3];
		memset(text, 0, sizeof(text));
		for (int i = 0; i < 3; i++) {
			text[i].compression = PNG_TEXT_COMPRESSION_NONE;
			text[i].key = keys[i];
			text[i].text = values[i];
			text[i].text_length = strlen(values[i]);
		}
		png_set_text(e->png, e->info, text, 3); /* copied by libpng */
	}
	png_write_info(e->png, e->info);
	for (int y = 0; y < e->h; y++)
		png_write_row(e->png, encode_row(e, y));
	png_write_end(e->png, NULL);
	return SEG_OK;
}

static seg_status encode(struct pngenc *e, seg_error *err)
{
	size_t start = e->out->len;
	size_t rowbytes;
	seg_status st;

	if (e->px == NULL || e->w < 1 || e->h < 1 || e->w > SEG_MAX_SIDE || e->h > SEG_MAX_SIDE) {
		st = seg_fail(err, SEG_EINVAL, "png: cannot encode a %dx%d image", e->w, e->h);
		goto out;
	}
	rowbytes = (size_t)e->w * (e->kind == ENC_HEATMAP ? 3 : e->kind == ENC_GRAY16 ? 2 : 1);
	if (e->kind != ENC_GRAY8) {
		e->row = malloc(rowbytes);
		if (e->row == NULL) {
			st = seg_fail(err, SEG_ENOMEM, "png: out of memory for a row of %zu bytes", rowbytes);
			goto out;
		}
	}
	st = encode_run(e, err);
out:
	if (e->png != NULL)
		png_destroy_write_struct(&e->png, e->info != NULL ? &e->info : NULL);
	free(e->row);
	e->row = NULL;
	if (st != SEG_OK && e->out->data != NULL) {
		e->out->len = start; /* drop a partial image */
		e->out->data[start] = '\0';
	}
	return st;
}

seg_status pngio_encode_gray(const void *px, int w, int h, int bits, buf *out, seg_error *err)
{
	struct pngenc e;

	if (bits != 8 && bits != 16)
		return seg_fail(err, SEG_EINVAL, "png: cannot encode %d-bit greyscale (8 or 16)", bits);
	memset(&e, 0, sizeof(e));
	e.kind = bits == 16 ? ENC_GRAY16 : ENC_GRAY8;
	e.px = px;
	e.w = w;
	e.h = h;
	e.out = out;
	return encode(&e, err);
}

void pngio_format_number(double v, char out[32])
{
	snprintf(out, 32, "%.15g", v);
	if (strtod(out, NULL) != v)
		snprintf(out, 32, "%.17g", v);
}

seg_status pngio_encode_heatmap(const float *v, int w, int h, buf *out, seg_error *err)
{
	return pngio_encode_heatmap_range(v, w, h, NULL, out, NULL, err);
}

seg_status pngio_encode_heatmap_range(const float *v, int w, int h, const double *range, buf *out, double *scale,
				      seg_error *err)
{
	struct pngenc e;
	int seen = 0;
	seg_status st;

	memset(&e, 0, sizeof(e));
	e.kind = ENC_HEATMAP;
	e.px = v;
	e.w = w;
	e.h = h;
	e.out = out;
	if (range != NULL) {
		if (!isfinite(range[0]) || !isfinite(range[1]) || !(range[0] < range[1]))
			return seg_fail(err, SEG_EINVAL, "png: a heatmap range must be two finite numbers, low < high");
		e.lo = range[0];
		e.hi = range[1];
	} else if (v != NULL && w > 0 && h > 0 && w <= SEG_MAX_SIDE && h <= SEG_MAX_SIDE) {
		size_t n = (size_t)w * (size_t)h;

		for (size_t i = 0; i < n; i++) {
			if (!isfinite(v[i]))
				continue;
			if (!seen) {
				e.lo = v[i];
				e.hi = v[i];
				seen = 1;
			} else if (v[i] < e.lo) {
				e.lo = v[i];
			} else if (v[i] > e.hi) {
				e.hi = v[i];
			}
		}
	}
	pngio_format_number(e.lo, e.text[0]);
	pngio_format_number(e.hi, e.text[1]);
	st = encode(&e, err);
	if (st == SEG_OK && scale) {
		scale[0] = e.lo;
		scale[1] = e.hi;
	}
	return st;
}

seg_status pngio_encode_palette(const uint8_t *idx, int w, int h, const uint32_t *palette, int npal, buf *out,
				seg_error *err)
{
	struct pngenc e;

	if (npal < 1 || npal > 256)
		return seg_fail(err, SEG_EINVAL, "png: a palette holds 1 to 256 colours, got %d", npal);
	if (idx != NULL && w > 0 && h > 0 && w <= SEG_MAX_SIDE && h <= SEG_MAX_SIDE) {
		size_t n = (size_t)w * (size_t)h;
		for (size_t i = 0; i < n; i++)
			if (idx[i] >= npal)
				return seg_fail(err, SEG_EINVAL, "png: index %u at pixel %zu is past the palette's %d colours",
						idx[i], i, npal);
	}
	memset(&e, 0, sizeof(e));
	e.kind = ENC_PALETTE;
	e.px = idx;
	e.w = w;
	e.h = h;
	e.out = out;
	e.palette = palette;
	e.npal = npal;
	return encode(&e, err);
}
