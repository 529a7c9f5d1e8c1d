/*
 * testpng.h — test PNGs written with libpng (tests only).
 */
#ifndef TESTPNG_H
#define TESTPNG_H

#include <stddef.h>
#include <stdint.h>

#include "codec/buf.h"

struct png_spec {
	int w;
	int h;
	int color;               /* PNG_COLOR_TYPE_* */
	int depth;
	int interlace;
	const uint16_t *samples; /* w*h*channels, row-major, raw sample values */
	int zero_rows;           /* ignore samples: every sample is 0 */
	int level;               /* zlib level, -1 for libpng's default */
	const uint32_t *palette; /* palette images: 256 colours 0xRRGGBB; NULL: a fixed test palette */
};

/* Samples per pixel of a PNG colour type. */
int tp_channels(int color);

/* Packs row y of s into the file's byte layout (MSB-first bits, big-endian 16-bit); row holds rowbytes. */
void tp_pack_row(const struct png_spec *s, int y, uint8_t *row, size_t rowbytes);

/* Encodes s with libpng into out (appended); aborts when libpng fails. */
void tp_make_png(const struct png_spec *s, buf *out);

#endif
