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

/* SEG_EINVAL "prediction is WxH but target is WxH" unless the sizes agree. */
seg_status mask_check_sizes(const seg_target *t, const seg_pred *p, seg_error *err);

#endif
