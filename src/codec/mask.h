/*
 * mask.h — turn uploaded bytes into masks, whatever their format.
 *
 * The format is told by content (PNG signature or .npy magic), never by a
 * file name or a declared type. The role ("target" or "prediction") is
 * named in every error message so a client knows which upload was wrong:
 * decoder errors get it as a prefix ("target: png: CRC error in IDAT"),
 * errors about the role's own values already start with it ("prediction
 * has value 1.5 outside [0, 1] at row 3, column 7"). Other bytes are
 * SEG_EUNSUPPORTED: "target is a JPEG image, not a PNG or a .npy file
 * (...)" for a JPEG, GIF, TIFF or WebP file (told by its signature),
 * else "target is neither a PNG nor a .npy file"; empty input is
 * SEG_EDECODE ("target is empty"). max_pixels caps width*height
 * (SEG_ETOOBIG); it has no "unlimited" value.
 */
#ifndef MASK_H
#define MASK_H

#include <stddef.h>
#include <stdint.h>

#include "codec/npy.h"
#include "core/seg.h"

/* Decodes a target from PNG or .npy bytes (borrowed). *out owns its arrays on success. */
seg_status mask_decode_target(const uint8_t *data, size_t len, uint64_t max_pixels,
			      seg_target *out, seg_error *err);

/*
 * Decodes a prediction from PNG or .npy bytes (borrowed). logits applies a
 * sigmoid to float .npy input; it is an error with a PNG.
 */
seg_status mask_decode_pred(const uint8_t *data, size_t len, uint64_t max_pixels, int logits,
			    seg_pred *out, seg_error *err);

/* What an upload is, from its first bytes and headers, before decoding it. */
typedef struct mask_probe {
	int format;             /* MASK_FMT_PNG or MASK_FMT_NPY */
	int bit_depth;          /* PNG: 1, 2, 4, 8 or 16 (0 when the IHDR is unreadable: decoding will say why) */
	int color_type;         /* PNG: 0 grey, 2 RGB, 3 palette, 4 grey+alpha, 6 RGBA */
	int palette_len;        /* PNG: PLTE entries (0: none) */
	uint32_t palette[256];  /* PNG: 0xRRGGBB per palette index */
	npy_info npy;           /* .npy: dtype and shape */
} mask_probe;

#define MASK_FMT_PNG 1
#define MASK_FMT_NPY 2

/*
 * Tells the format of data (borrowed) and reads its header: the same
 * errors as decoding for bytes that are neither PNG nor .npy (role names
 * the upload), or a malformed .npy header.
 */
seg_status mask_probe_bytes(const uint8_t *data, size_t len, const char *role, mask_probe *out, seg_error *err);

/*
 * Decodes a label map's values: grey levels, palette indexes (or, with
 * by_palette_colour, the palette entry 0xRRGGBB), packed 0xRRGGBB colours,
 * or .npy integers (npy_decode_values). *values (caller frees with
 * free()) holds width*height values.
 */
seg_status mask_decode_values(const uint8_t *data, size_t len, uint64_t max_pixels, const char *role,
			      const mask_probe *probe, int by_palette_colour, uint32_t **values, int *width,
			      int *height, seg_error *err);

/* SEG_EINVAL "prediction is WxH but target is WxH" unless the sizes agree. */
seg_status mask_check_sizes(const seg_target *t, const seg_pred *p, seg_error *err);

#endif
