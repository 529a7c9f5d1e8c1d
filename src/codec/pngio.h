/*
 * pngio.h — PNG decoding into masks and encoding of maps, via libpng,
 * with a faster decoder of its own (libdeflate and row filters undone in
 * one pass) for non-interlaced greyscale and palette files.
 *
 * Decoding reads every colour type and bit depth, interlaced or not, from
 * a memory buffer. The pixel cap is checked from the IHDR before any pixel
 * memory is allocated. Both decoders give the same values; files the fast
 * one does not take, malformed ones included, go to libpng. libpng errors (truncation, CRC, bad signature,
 * zlib) become SEG_EDECODE with a message naming the problem, prefixed
 * "png: " (e.g. "png: CRC error in IDAT").
 *
 * Target conventions: a pixel is foreground when its value is non-zero:
 * grey value (1/2/4/8/16-bit), palette index, or any of R, G, B (alpha is
 * ignored). labels keeps the grey value, the palette index, or the packed
 * colour 0xRRGGBB (16-bit colour channels are reduced to their high byte
 * for packing, but any non-zero 16-bit channel still makes foreground).
 *
 * Prediction conventions: greyscale (with or without alpha, alpha ignored)
 * only; p = value / (2^bitdepth - 1). Colour and palette PNGs are
 * rejected with SEG_EINVAL.
 */
#ifndef PNGIO_H
#define PNGIO_H

#include <stddef.h>
#include <stdint.h>

#include "codec/buf.h"
#include "core/seg.h"

/* True when buf starts with the 8-byte PNG signature. */
int pngio_is_png(const uint8_t *data, size_t len);

/*
 * Decodes a target mask. data is borrowed. On success *out owns new
 * arrays (release with seg_target_release); on error *out is zeroed.
 * SEG_ETOOBIG when width*height > max_pixels (checked before allocation).
 */
seg_status pngio_decode_target(const uint8_t *data, size_t len, uint64_t max_pixels,
			       seg_target *out, seg_error *err);

/* Decodes a prediction; same ownership and caps as pngio_decode_target. */
seg_status pngio_decode_pred(const uint8_t *data, size_t len, uint64_t max_pixels,
			     seg_pred *out, seg_error *err);

/*
 * Appends a greyscale PNG of w x h pixels to out. px is borrowed and holds
 * uint8_t (bits = 8) or uint16_t in host order (bits = 16), row-major.
 */
seg_status pngio_encode_gray(const void *px, int w, int h, int bits, buf *out, seg_error *err);

/*
 * Appends an 8-bit RGB heatmap PNG of the float map v (borrowed, w*h) to
 * out: values are scaled linearly from [min, max] of the map's finite
 * values onto the viridis colour map (a constant map is drawn in its
 * lowest colour). The file carries its scale as tEXt chunks: map_min and
 * map_max (pngio_format_number of the ends) and colormap "viridis".
 */
seg_status pngio_encode_heatmap(const float *v, int w, int h, buf *out, seg_error *err);

/*
 * pngio_encode_heatmap with a fixed scale: range (borrowed, two finite
 * numbers, range[0] < range[1], else SEG_EINVAL) instead of the map's
 * extremes, so maps drawn on one range share one scale; values outside
 * are drawn in the end colours. NULL: the map's extremes. scale (may be
 * NULL) receives the ends used.
 */
seg_status pngio_encode_heatmap_range(const float *v, int w, int h, const double *range, buf *out, double *scale,
				      seg_error *err);

/* v as the shortest of %.15g and %.17g that reads back as v (as cJSON writes numbers), into out. */
void pngio_format_number(double v, char out[32]);

/*
 * Appends an 8-bit palette PNG of indexes idx (borrowed, w*h, each below
 * npal) to out, with the npal colours of palette (borrowed, 0xRRGGBBAA:
 * alpha in a tRNS chunk, so an overlay can leave pixels transparent).
 */
seg_status pngio_encode_palette(const uint8_t *idx, int w, int h, const uint32_t *palette, int npal, buf *out,
				seg_error *err);

#endif
