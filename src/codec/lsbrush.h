/*
 * lsbrush.h — Label Studio brush masks: the bit-packed run-length stream
 * its editor writes with @thi.ng/rle-pack (binary.ts) and
 * label-studio-converter reads and writes (brush.py).
 *
 * The stream, bits most significant first: a 32-bit count of words, 5
 * bits of word size - 1, four 4-bit fields of run-length size - 1 (the
 * editor writes word size 8 and sizes [3, 4, 8, 16], but a stream may say
 * otherwise and is read as it says); then records of one flag bit, a
 * 2-bit index t into the run sizes and a run_bits[t]-bit n (a run of
 * n + 1 words), followed by one word repeated n + 1 times (flag 1) or
 * n + 1 literal words (flag 0). A brush stream holds the W x H x 4 RGBA
 * bytes of the editor's canvas, row-major; the mask is the alpha channel
 * (the editor copies alpha into R, G and B as well).
 *
 * Refused, before anything is written: a header count that is not
 * W*H*4 (with a hint when it is W*H: one value per pixel is not the
 * editor's format), a word size over 16 bits, a word value over 255 (the
 * canvas holds bytes), a run going past the count, a stream ending inside
 * a record, and more than 15 bits after the last record (the converter
 * pads with at most 8 zero bits, rle-pack with at most 7).
 */
#ifndef LSBRUSH_H
#define LSBRUSH_H

#include <stddef.h>
#include <stdint.h>

#include "codec/buf.h"
#include "core/seg.h"

#define LSB_MAX_WORD_BITS 16
#define LSB_HEADER_BITS 53

/*
 * Alpha at or above this is foreground by default: at least half
 * covered. The editor draws strokes with anti-aliased edges, so a stroke's
 * border pixels carry partial alpha; taking every non-zero alpha (as
 * label-studio-converter's COCO export does, threshold 1) grows each
 * stroke by up to a pixel all round, while 128 keeps the pixels the
 * stroke covers at least half of. Masks imported as 0/255 (mask2rle,
 * image2rle) give the same result for any threshold from 1 to 255.
 */
#define LSB_DEFAULT_THRESHOLD 128

typedef struct lsb_header {
	uint32_t count;  /* words in the stream */
	int word_bits;   /* 1..32 as read; over 16 is refused by the decoders */
	int run_bits[4]; /* 1..16 */
} lsb_header;

/* What a mask decode saw: pixels with alpha > 0, and pixels kept (alpha >= threshold). */
typedef struct lsb_stats {
	uint64_t nonzero;
	uint64_t kept;
} lsb_stats;

/* Reads the header of data[0..len) (borrowed). SEG_EDECODE when shorter than the header's 53 bits. */
seg_status lsb_read_header(const uint8_t *data, size_t len, lsb_header *hdr, seg_error *err);

/*
 * Decodes a stream of any word size up to 16 whose header count must be
 * count, into out (caller-owned, count bytes). data borrowed.
 */
seg_status lsb_unpack(const uint8_t *data, size_t len, uint64_t count, uint8_t *out, seg_error *err);

/* Decodes a w x h brush stream (borrowed) to its RGBA bytes: rgba is caller-owned, w*h*4. */
seg_status lsb_decode_rgba(const uint8_t *data, size_t len, int w, int h, uint8_t *rgba, seg_error *err);

/*
 * mask[i] = rgba[4i + 3] >= threshold for npix pixels; rgba borrowed,
 * mask caller-owned. SEG_EINVAL unless threshold is 1..255.
 */
seg_status lsb_alpha_mask(const uint8_t *rgba, size_t npix, int threshold, uint8_t *mask, seg_error *err);

/*
 * The two steps above in one pass without the RGBA buffer: data
 * borrowed; mask (caller-owned, w*h) gets 1 where alpha >= threshold;
 * stats (caller-owned, may be NULL) gets what was seen.
 * The same checks as lsb_decode_rgba; mask is unspecified on error.
 */
seg_status lsb_decode_mask(const uint8_t *data, size_t len, int w, int h, int threshold, uint8_t *mask,
			   lsb_stats *stats, seg_error *err);

/*
 * Appends the stream of words[0..count) (borrowed) to out exactly as
 * label-studio-converter's encode_rle writes it: word size 8, run sizes
 * [3, 4, 8, 16], a single word as a literal record, runs of more than
 * 65536 split, padded with 8 - (bits % 8) zero bits. SEG_ETOOBIG when
 * count needs more than 32 bits or out's limit is reached, SEG_ENOMEM.
 */
seg_status lsb_encode(const uint8_t *words, size_t count, buf *out, seg_error *err);

/*
 * The same for an alpha image alpha[0..npix) (borrowed): every value is
 * written as R, G, B and A (mask2rle), so a 0/1 mask is passed as 0/255.
 */
seg_status lsb_encode_alpha(const uint8_t *alpha, size_t npix, buf *out, seg_error *err);

#endif
