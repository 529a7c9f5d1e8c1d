/*
 * pngfast.h — the PNG fast path, internal to src/codec: pngio.c calls it
 * before libpng. It decodes non-interlaced greyscale (1/2/4/8/16-bit, with
 * or without alpha) and palette (1/2/4/8-bit, targets only) files whose
 * chunk layout libpng reads without complaint, inflating the IDAT data in
 * one libdeflate call and undoing the row filters itself, and declines
 * everything else. It never fails a request: a declined file goes to
 * libpng, which decodes it or gives its own error.
 */
#ifndef PNGFAST_H
#define PNGFAST_H

#include <stddef.h>
#include <stdint.h>

#include "core/seg.h"

/*
 * Decodes data[0..len) as a target (t non-NULL, p NULL) or a prediction
 * (p non-NULL, t NULL), by the rules of pngio.h. data is borrowed and must
 * already have passed pngio's chunk walk (signature, every chunk complete,
 * critical CRCs intact, size within the cap). Returns 1 with *t or *p
 * owning new arrays (the caller releases them), or 0 with nothing
 * allocated and the reason it declined in why (SEG_ERRMSG_MAX bytes,
 * caller-owned).
 */
int pngfast_decode(const uint8_t *data, size_t len, seg_target *t, seg_pred *p, char *why);

/* p for each raw value of a sample of depth <= 8: v / (2^depth - 1) in double, rounded once. */
void pngfast_fill_scale(float scale[256], int depth);

/* p for a 16-bit sample; the one expression both decoders use. */
static inline float pngfast_pred16(uint32_t v)
{
	return (float)((double)v / 65535.0);
}

#endif
