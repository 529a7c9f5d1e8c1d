/*
 * testpng.c — test PNGs written with libpng, for the suites that decode
 * them: any colour type, bit depth, interlacing, palette and zlib level.
 */
#include "testpng.h"

#include <png.h>
#include <setjmp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void *tp_xmalloc(size_t n)
{
	void *p = malloc(n ? n : 1);

	if (p == NULL)
		abort();
	return p;
}


static void PNGCBAPI t_png_error(png_structp png, png_const_charp msg)
{
	fprintf(stderr, "test libpng error: %s\n", msg);
	png_longjmp(png, 1);
}

static void PNGCBAPI t_png_warning(png_structp png, png_const_charp msg)
{
	(void)png;
	(void)msg;
}

static void PNGCBAPI t_png_write(png_structp png, png_bytep data, size_t n)
{
	buf *b = png_get_io_ptr(png);

	if (buf_append(b, data, n) != SEG_OK)
		png_error(png, "test buffer full");
}

static void PNGCBAPI t_png_flush(png_structp png)
{
	(void)png;
}

int tp_channels(int color)
{
	switch (color) {
	case PNG_COLOR_TYPE_GRAY_ALPHA:
		return 2;
	case PNG_COLOR_TYPE_RGB:
		return 3;
	case PNG_COLOR_TYPE_RGB_ALPHA:
		return 4;
	default:
		return 1;
	}
}


/* Packs row y of s into the file's byte layout (MSB-first bits, big-endian 16-bit). */
void tp_pack_row(const struct png_spec *s, int y, uint8_t *row, size_t rowbytes)
{
	int ch = tp_channels(s->color);
	size_t n = (size_t)s->w * (size_t)ch;

	memset(row, 0, rowbytes);
	if (s->zero_rows)
		return;
	for (size_t k = 0; k < n; k++) {
		uint16_t v = s->samples[(size_t)y * n + k];

		if (s->depth == 16) {
			row[2 * k] = (uint8_t)(v >> 8);
			row[2 * k + 1] = (uint8_t)v;
		} else if (s->depth == 8) {
			row[k] = (uint8_t)v;
		} else {
			size_t per = (size_t)(8 / s->depth);
			int shift = 8 - s->depth * (int)(k % per + 1);

			row[k / per] |= (uint8_t)(v << shift);
		}
	}
}

/* Encodes s with libpng into out (appended). */
void tp_make_png(const struct png_spec *s, buf *out)
{
	png_structp png;
	png_infop info;
	size_t rowbytes = ((size_t)s->w * (size_t)tp_channels(s->color) * (size_t)s->depth + 7) / 8;
	uint8_t *rows = tp_xmalloc(rowbytes * (size_t)s->h);
	png_bytep *ptrs = tp_xmalloc(sizeof(png_bytep) * (size_t)s->h);
	png_color palette[256];

	for (int y = 0; y < s->h; y++) {
		ptrs[y] = rows + (size_t)y * rowbytes;
		tp_pack_row(s, y, ptrs[y], rowbytes);
	}
	for (int k = 0; k < 256; k++) {
		uint32_t c = s->palette ? s->palette[k] : 0;
		palette[k].red = (png_byte)(s->palette ? c >> 16 : (uint32_t)k);
		palette[k].green = (png_byte)(s->palette ? c >> 8 : (uint32_t)(255 - k));
		palette[k].blue = (png_byte)(s->palette ? c : (uint32_t)(k * 7));
	}
	png = png_create_write_struct(PNG_LIBPNG_VER_STRING, NULL, t_png_error, t_png_warning);
	if (png == NULL)
		abort();
	info = png_create_info_struct(png);
	if (info == NULL)
		abort();
	if (setjmp(png_jmpbuf(png)))
		{
		fprintf(stderr, "libpng failed to write a test image\n");
		abort();
	}
	png_set_user_limits(png, 0x7fffffff, 0x7fffffff);
	png_set_write_fn(png, out, t_png_write, t_png_flush);
	png_set_IHDR(png, info, (png_uint_32)s->w, (png_uint_32)s->h, s->depth, s->color,
		     s->interlace ? PNG_INTERLACE_ADAM7 : PNG_INTERLACE_NONE, PNG_COMPRESSION_TYPE_DEFAULT,
		     PNG_FILTER_TYPE_DEFAULT);
	if (s->color == PNG_COLOR_TYPE_PALETTE)
		png_set_PLTE(png, info, palette, 1 << s->depth);
	if (s->level >= 0)
		png_set_compression_level(png, s->level);
	png_write_info(png, info);
	png_write_image(png, ptrs);
	png_write_end(png, NULL);
	png_destroy_write_struct(&png, &info);
	free(rows);
	free(ptrs);
}

